"""One page of a list of records as an actor may read it, paths through links included.

`list_records` is what `RecordService.list` does: the actor's access checked (a filter, sort or
group naming a characteristic they may not see is refused, on the way of a path as at its
end), the conditions built with the joins of the paths the view and the request name, the
actor's row scope added, the page read by `query_plan.read_list`. Rows carry a path's value
under its text (`"room.site.name": "Lyon"`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Mapping, Sequence

import sqlalchemy as sa

from metamodel.field_paths import is_path

from engine.access.permissions import Access, PermissionDenied
from engine.core.context import Actor
from .collections import read_collections
from .paths import PathJoins, path_reader
from .queries import ListRequest, ListResult, build_conditions, parse_list_request, request_fields
from .query_plan import read_list

if TYPE_CHECKING:
    from .service import RecordService
    from .transaction import Transaction


def list_records(
    service: RecordService, entity: str, request: ListRequest | None = None, *, actor: Actor | None = None,
    fields: Iterable[str] | None = None, where: Iterable[sa.ColumnElement[bool]] = (), walk: bool | None = None,
    count_after: bool = False,
) -> ListResult:
    """One page of `entity`'s list view `request.view`: rows, the total, counts per group.

    `fields`: only these characteristics and paths (and `id`, `version`) in the rows; by
    default every column characteristic and the view's path and `links` columns (a `links`
    value is its sorted member ids, read for the whole page by one query). A path the actor
    may not read in full is left out of the rows. `where`: more conditions on the entity's table (a
    related panel's link to its record); `walk`: impose a plan (tests compare them);
    `count_after`: count a first page only when it is full (see `query_plan.read_list`)."""
    request = request or ListRequest()
    table = service.table(entity)
    definition = service.model.entity(entity)
    view = definition.view(request.view)
    with service.reading(actor) as tx:
        access = tx.access(entity, "read")
        conditions, joins = list_conditions(service, tx, entity, request, access)
        conditions += list(where)
        if fields is None:
            fields = [c.name for c in table.c] + [
                name for name in view.columns
                if is_path(name) or getattr(definition.fields_by_name.get(name), "type", None) == "links"]
        shown = [name for name in fields if not is_path(name) or not joins.reader.is_hidden(joins.path(name))]
        result = read_list(tx.conn, table, request, conditions, fields=shown, hidden=access.hidden, joins=joins,
                           walk=walk, count_after=count_after)
        links = [name for name in dict.fromkeys(shown) if not is_path(name) and name not in access.hidden
                 and name in definition.fields_by_name and definition.field(name).type == "links"]
        if links and result.rows:
            members = read_collections(tx, service.collections(entity), [row["id"] for row in result.rows], links)
            for row in result.rows:
                row.update(members[row["id"]])
        return result


def list_conditions(
    service: RecordService, tx: Transaction, entity: str, request: ListRequest, access: Access,
) -> tuple[list[sa.ColumnElement[bool]], PathJoins]:
    """The WHERE of a list of `entity` as `tx.actor` may read it with `access` (a list, an export,
    a mass update), and the joins of the paths it reads: a statement reads from
    `joins.select_from(*conditions, *what it selects)`. Naming a characteristic the actor may not
    see, on the way of a path or at its end, is refused (PermissionDenied)."""
    table = service.table(entity)
    definition = service.model.entity(entity)
    flow = service.workflows.get(entity)
    joins = PathJoins(path_reader(service.model, service.tables, service.permissions, tx.actor), entity, table)
    named = request_fields(request)
    service.permissions.check_fields(access, [name for name in named if not is_path(name)], access.operation)
    unreadable = sorted(name for name in named if is_path(name) and joins.reader.is_hidden(joins.path(name)))
    if unreadable:
        raise PermissionDenied(entity, access.operation, f"no access to {', '.join(unreadable)}")
    conditions = build_conditions(
        table, definition, definition.view(request.view), request, flow.definition if flow else None,
        hidden=access.hidden, joins=joins,
    )
    scope = service.permissions.scope_condition(access, tx.actor, table)
    if scope is not None:
        conditions.append(scope)
    return conditions, joins


def list_request(service: RecordService, entity: str, args: Mapping[str, Sequence[str]]) -> ListRequest:
    """Query-string arguments read into a checked ListRequest, paths through links included."""
    validator = service.validator(entity)
    return parse_list_request(validator.entity, args, validator.rules, model=service.model)
