"""The records of a reverse relation of one record: a related panel's list.

`event.account` makes `event_account` on account; the panel of an account shows the events
naming it. A `link` relation keeps the source records whose `source_field` is the record's id;
a `links` one, those holding it among their members (a row of the join table). The list is a
list of the source entity read by `listing.list_records`, so it has the same checks, scope,
paths through links, plans, paging and cursors; the panel (`RelatedPanelDef`) gives its
columns, sort and size.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Literal

import sqlalchemy as sa

from metamodel.model import RelatedPanelDef, RelationDef, UnknownRelation

from engine.access.permissions import PermissionDenied
from engine.core.context import Actor
from engine.core.errors import NotFoundError
from .listing import list_records
from .queries import ListRequest, ListResult

if TYPE_CHECKING:
    from .service import RecordService


def related_list(
    service: RecordService, entity: str, record_id: int, relation: str, request: ListRequest | None,
    actor: Actor | None, *, form: str = "form", fields: Iterable[str] | Literal["panel"] | None = "panel",
    record_read: bool = False,
) -> ListResult:
    """A page of the records of `relation` of record `record_id` of `entity`, as `actor` may read
    them (the record itself must be theirs to read: NotFoundError or PermissionDenied otherwise).

    `request`: the page, sort and filters asked (by default the panel's sort and size, every
    status); its rows hold the panel's columns (paths and `links` included). `form`: the form
    view whose panel gives the columns and defaults (the entity's form unless told). `fields`:
    what the rows hold: the panel's columns ("panel"), the whole records as a list of the source
    entity gives them (None, see `listing.list_records`), or these characteristics and paths. A
    relation through a characteristic the actor may not see is refused: it would tell its values.
    `record_read`: the caller has just read the record as `actor` (its page), so it is not read
    again. A first page is counted only when full: a panel's records mostly fit on it."""
    try:
        definition = service.model.relation(entity, relation)
    except UnknownRelation:
        raise NotFoundError(f"{entity} relation", relation) from None
    if not record_read:
        service.get(entity, record_id, actor=actor)  # the record is the actor's to read
    hidden = service.permissions.access(actor, definition.source_entity, "read").hidden
    if definition.source_field in hidden:
        raise PermissionDenied(definition.source_entity, "read", f"no access to {definition.source_field}")
    panel = related_panel(service, entity, definition, form)
    request = request or ListRequest(sort=panel.sort, page_size=panel.size, tab="all")
    table = service.table(definition.source_entity)
    return list_records(service, definition.source_entity, request, actor=actor,
                        fields=panel.columns if fields == "panel" else fields,
                        where=[relation_condition(service, definition, table, record_id)], count_after=True)


def related_panel(service: RecordService, entity: str, relation: RelationDef, form: str = "form") -> RelatedPanelDef:
    """The panel of `relation` on the form `form` of `entity`; when the form shows none, one with
    the defaults the metamodel gives panels (the source entity's list columns without the
    relation's own link, its list sort, ten rows)."""
    views = [v for v in service.model.entity(entity).views if v.kind == "form" and v.name == form]
    for panel in views[0].related if views else ():
        if panel.relation == relation.name:
            return panel
    listing = service.model.entity(relation.source_entity).view("list")
    columns = tuple(name for name in listing.columns if name != relation.source_field)
    return RelatedPanelDef(relation.name, columns, listing.sort, 10)


def relation_condition(
    service: RecordService, relation: RelationDef, table: sa.Table, record_id: int
) -> sa.ColumnElement[bool]:
    """The source records naming `record_id`: their link is it, or their links hold it."""
    if relation.kind == "links":
        join = service.tables.join_table(relation.source_entity, relation.source_field)
        return sa.exists().where(join.c.source_id == table.c.id, join.c.target_id == record_id)
    return table.c[relation.source_field] == record_id
