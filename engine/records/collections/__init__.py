"""Collection values of records: the members of `links` characteristics and the `lines` of owned
entities, as writes give them (`values`: loading, completing, checking) and as the database holds
them (`store`: set-based reads and writes of join tables and owned tables)."""

from .store import delete_collections, insert_collections, read_collections, replace_member, write_collection_changes
from .values import EntityCollections, changed_collections
from .words import CollectionError

__all__ = [
    "CollectionError", "EntityCollections", "changed_collections", "delete_collections", "insert_collections",
    "read_collections", "replace_member", "write_collection_changes",
]
