"""Related records through the API (blueprint `api_related`, under /api/v1).

`GET /<entity>/<id>/related/<relation>`: the records of a reverse relation of one record (the
bookings of a room through `booking_room`, `Model.relation(entity, name)`), as a page of the
relation's source entity with the same list parameters, paging and totals as `GET /<source>`;
only the records the caller may read. 404 for an unknown relation (naming the known ones) or a
record the caller may not read. The engine reads them (engine/records/related.py `related_list`).
"""

from __future__ import annotations

from flask import Blueprint, Response, g

from engine.records.related import related_list
from metamodel.model import RelationDef, UnknownRelation

from .errors import ApiError
from .payload import list_request, query_args
from .routes import API_PREFIX, engine, handle_error, known_entity, known_id, lang, language_headers, prepare
from .serialize import page_response

api_related = Blueprint("api_related", __name__, url_prefix=API_PREFIX)
api_related.before_request(prepare)
api_related.after_request(language_headers)
api_related.register_error_handler(Exception, handle_error)


@api_related.get("/<entity>/<int:record_id>/related/<relation>")
def related_records(entity: str, record_id: int, relation: str) -> Response:
    known_id(known_entity(entity), record_id)
    found = known_relation(entity, relation)
    parsed = list_request(engine(), found.source_entity, query_args(), page=True)
    # whole records, as `GET /<source>` gives them (`fields=None`), not the panel's columns
    result = related_list(engine().records, entity, record_id, relation, parsed, g.api_actor, fields=None)
    return page_response(result)


def known_relation(entity: str, relation: str) -> RelationDef:
    """The reverse relation `relation` of `entity`; 404 naming the known ones."""
    definition = engine().model.entity(entity)
    try:
        return definition.relation(relation)
    except UnknownRelation:
        raise ApiError(404, "unknown_relation", entity=definition.label.get(lang()), relation=relation,
                       known=", ".join(r.name for r in definition.relations) or "-") from None
