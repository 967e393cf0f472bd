"""Several roles at once, through the engine: every pair of roles of the base pack (and every
single role) x every entity x every operation, on records of the actor's own, of their team
and of another team, compared with what the role files say.

The expected answer is computed from the Model's role definitions (definitions/roles/*.yaml)
and workflow definitions, never by asking the code under test: for each operation, the
grants that allow it and the widest of their scopes. One database for the module; every
change runs in a transaction rolled back at once, so each case sees the same records.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa

import metamodel
from engine import (
    SYSTEM_ACTOR,
    Actor,
    Engine,
    NotFoundError,
    PermissionDenied,
    TransitionError,
)
from engine.exchange.exporter import Export
from engine.records.mass_update import MassUpdate
from engine.records.merging import merge_records
from engine.records.transaction import Transaction
from metamodel.model import SCOPES, Model, TransitionDef
from ossature.demo import seed_demo

MODEL: Model = metamodel.load_model([metamodel.BASE_PACK])
ROLES = sorted(MODEL.roles)
COMBINATIONS = [tuple(sorted(set(pair))) for pair in itertools.combinations_with_replacement(ROLES, 2)]
ENTITIES = sorted(MODEL.entities)
CLASSES = ("own", "team", "other")
REACH = {"own": "own", "team": "team", "other": "all"}
"""The narrowest scope that reaches a record of each class."""
TEAM, OTHER_TEAM = "marketing", "customer_support"
OPERATIONS = ("read", "history", "export", "create", "import", "update", "mass_update", "delete", "transition", "merge")


# -- what the role files say ------------------------------------------------------------------


def granted(roles: tuple[str, ...], entity: str) -> dict[str, str]:
    """Operation -> the widest scope of the grants of `roles` that allow it, from the role definitions."""
    definitions = [MODEL.roles[name] for name in roles]
    if any(d.admin for d in definitions):
        return {op: "all" for op in metamodel.model.ENTITY_OPERATIONS}
    scopes: dict[str, str] = {}
    for definition in definitions:
        permission = definition.entities.get(entity)
        for op in permission.operations if permission else ():
            scopes[op] = max(scopes.get(op, SCOPES[0]), permission.scope, key=SCOPES.index)
    return scopes


def reaches(scope: str, record_class: str) -> bool:
    return SCOPES.index(scope) >= SCOPES.index(REACH[record_class])


def admin_roles() -> frozenset[str]:
    return frozenset(name for name, role in MODEL.roles.items() if role.admin)


def chosen_transition(entity: str) -> TransitionDef | None:
    """A transition out of the initial status that nothing but permissions can refuse (no guard,
    no required value, no action); one restricted to some roles first."""
    flow = MODEL.workflows.get(entity)
    if flow is None:
        return None
    candidates = [t for t in flow.transitions if flow.initial.code in t.from_statuses
                  and not t.guard and not t.required and not t.actions]
    candidates.sort(key=lambda t: not t.roles)
    return candidates[0] if candidates else None


def expected(roles: tuple[str, ...], entity: str, operation: str, record_class: str) -> str:
    scopes = granted(roles, entity)

    def on_record(needed: str) -> str:
        if needed not in scopes:
            return "denied"
        if reaches(scopes[needed], record_class):
            return "ok"
        if "read" in scopes and reaches(scopes["read"], record_class):
            return "denied"  # a record they may read: refused, not hidden
        return "not_found"

    if operation in ("read", "history"):
        return on_record("read")
    if operation in ("create", "import"):
        return "ok" if operation in scopes else "denied"
    if operation in ("export", "mass_update"):
        if operation not in scopes:
            return "denied"
        return "ok" if reaches(scopes[operation], record_class) else "left_out"
    if operation in ("update", "delete"):
        return on_record(operation)
    if operation == "transition":
        outcome = on_record("update")
        transition = chosen_transition(entity)
        if outcome == "ok" and transition.roles and not set(roles) & (set(transition.roles) | admin_roles()):
            return "refused"
        return outcome
    if operation == "merge":
        if "update" not in scopes or "delete" not in scopes:
            return "denied"
        for needed in ("update", "delete", "read"):
            outcome = on_record(needed)
            if outcome != "ok":
                return outcome
        return "ok"
    raise AssertionError(operation)


def protected_anywhere(entity: str) -> set[str]:
    """Characteristics some role hides or makes read-only, or the entity makes read-only."""
    names = {f.name for f in MODEL.entity(entity).fields if f.readonly or f.type == "status"}
    for role in MODEL.roles.values():
        permission = role.entities.get(entity)
        if permission:
            names |= permission.hidden | permission.readonly
    return names


def free_text_field(entity: str) -> str:
    """A text characteristic no role protects and no rule constrains: what the matrix changes."""
    protected = protected_anywhere(entity)
    for f in MODEL.entity(entity).fields:
        if f.type in ("string", "text") and not f.unique and not f.pattern and f.name not in protected:
            return f.name
    raise AssertionError(f"no free text characteristic on {entity}")


def test_the_matrix_covers_the_base_pack() -> None:
    assert len(ROLES) >= 5 and len(COMBINATIONS) == len(ROLES) * (len(ROLES) + 1) // 2
    for entity in ENTITIES:
        free_text_field(entity)
        if entity in MODEL.workflows:
            assert chosen_transition(entity) is not None, entity
    # the README's example: sales + support may read every account but change only their team's
    assert granted(("sales", "support"), "account") == {
        "read": "all", "create": "team", "update": "team", "export": "team", "mass_update": "team"}


# -- the database: one per module ---------------------------------------------------------------


class World:
    """The engine, the acting user's id, and per entity two records of each class."""

    def __init__(self, engine: Engine, user_id: int, records: dict[tuple[str, str], tuple[int, int]]):
        self.engine, self.user_id, self.records = engine, user_id, records

    def actor(self, roles: tuple[str, ...]) -> Actor:
        return Actor(user_id=self.user_id, username="ann", roles=frozenset(roles), team=TEAM)


def give_records(engine: Engine, owners: dict[str, int]) -> dict[tuple[str, str], tuple[int, int]]:
    """Two live records per entity and class, created by and assigned to that class's owner,
    in their workflow's initial status; ids ascending within a pair."""
    taken: dict[tuple[str, str], tuple[int, int]] = {}
    with engine.db.begin() as conn:
        for entity in ENTITIES:
            table = engine.tables.of(entity)
            definition = MODEL.entity(entity)
            ids = list(conn.execute(
                sa.select(table.c.id).where(table.c.deleted_at.is_(None), table.c.id.not_in(
                    list(owners.values()) if entity == "user" else [])).order_by(table.c.id).limit(2 * len(CLASSES))
            ).scalars())
            assert len(ids) == 2 * len(CLASSES), entity
            for index, record_class in enumerate(CLASSES):
                pair = (ids[2 * index], ids[2 * index + 1])
                owner = owners[record_class]
                values: dict[str, Any] = {"created_by": owner}
                values.update({f.name: owner for f in definition.fields if f.type == "link" and f.entity == "user"})
                if entity in MODEL.workflows:
                    values["status"] = MODEL.workflows[entity].initial.code
                conn.execute(table.update().where(table.c.id.in_(pair)).values(**values))
                taken[entity, record_class] = pair
    return taken


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, scratch_databases) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("matrix")
    with scratch_databases(folder) as url:
        engine = Engine(MODEL, url, files_dir=folder / "files")
        engine.migrate()
        seed_demo(engine)
        ann, bob, cid = engine.records.create_many("user", [
            {"username": "matrix.ann", "display_name": "Ann", "team": TEAM},
            {"username": "matrix.bob", "display_name": "Bob", "team": TEAM},
            {"username": "matrix.cid", "display_name": "Cid", "team": OTHER_TEAM},
        ], SYSTEM_ACTOR)
        try:
            yield World(engine, ann, give_records(engine, {"own": ann, "team": bob, "other": cid}))
        finally:
            engine.dispose()


# -- what the engine does ------------------------------------------------------------------------


def rolled_back(engine: Engine, actor: Actor, work: Callable[[Transaction], str]) -> str:
    """Run `work` in a transaction that is rolled back: permission refusals become outcomes."""
    with engine.db.connect() as conn:
        trans = conn.begin()
        try:
            return work(Transaction(engine.records, conn, actor))
        except PermissionDenied:
            return "denied"
        except NotFoundError:
            return "not_found"
        except TransitionError as error:
            if error.reason != "role":
                raise
            return "refused"
        finally:
            trans.rollback()


def new_values(engine: Engine, entity: str, record_id: int, serial: int) -> dict[str, Any]:
    """A new record's values: a stored one's, less what any role protects, links (`link` and
    `links`: records the actor may not read) and empties, unique values made new."""
    stored = engine.records.get(entity, record_id)
    protected = protected_anywhere(entity)
    values: dict[str, Any] = {}
    for f in MODEL.entity(entity).fields:
        value = stored.get(f.name)
        if value is None or f.name in protected or f.type in ("link", "links"):
            continue
        if f.unique:
            value = f"m{serial}.{value}" if f.type == "email" else f"{value}-m{serial}"
        values[f.name] = value
    return values


def operations_on(engine: Engine, actor: Actor, entity: str, keep: int, other: int, serial: int
                  ) -> dict[str, Callable[[Transaction], str]]:
    """Each operation on the record `keep` (merged with `other`), answering "ok" when it is done."""
    field = free_text_field(entity)
    transition = chosen_transition(entity)

    def done(call: Callable[[Transaction], Any]) -> Callable[[Transaction], str]:
        return lambda tx: (call(tx), "ok")[1]

    def create(tx: Transaction) -> str:
        tx.create(entity, new_values(engine, entity, keep, serial))
        return "ok"

    def import_rows(tx: Transaction) -> str:
        _, failed = tx.validate_new(entity, [new_values(engine, entity, keep, serial)], operation="import")
        return "ok" if not failed else f"invalid {failed}"

    def mass_update(tx: Transaction) -> str:
        result = MassUpdate(tx, entity, {field: "mass"}).apply([keep], None)
        return {(1, 1): "ok", (0, 0): "left_out"}.get((result.matched, result.changed), repr(result))

    work: dict[str, Callable[[Transaction], str]] = {
        "read": done(lambda tx: tx.get(entity, keep)),
        "history": done(lambda tx: engine.records.audit_log(entity, keep, actor=actor)),
        "create": create,
        "import": import_rows,
        "update": done(lambda tx: tx.update(entity, keep, {field: "changed"})),
        "mass_update": mass_update,
        "delete": done(lambda tx: tx.delete(entity, keep)),
        "merge": done(lambda tx: merge_records(tx, entity, keep, other, [])),
    }
    if transition is not None:
        work["transition"] = done(lambda tx: tx.transition(entity, keep, transition.name))
    return work


def outcomes(world: World, roles: tuple[str, ...], entity: str) -> dict[tuple[str, str], str]:
    engine, actor = world.engine, world.actor(roles)
    found: dict[tuple[str, str], str] = {}
    try:
        export = Export(engine, entity, engine.records.list_request(entity, {"tab": ["all"]}), actor)
        exported: set[int] | None = {row["id"] for chunk in export.records() for row in chunk}
    except PermissionDenied:
        exported = None
    for serial, record_class in enumerate(CLASSES):
        keep, other = world.records[entity, record_class]
        for operation, run in operations_on(engine, actor, entity, keep, other, serial).items():
            found[operation, record_class] = rolled_back(engine, actor, run)
        found["export", record_class] = "denied" if exported is None else ("ok" if keep in exported else "left_out")
    return found


@pytest.mark.parametrize("entity", ENTITIES)
@pytest.mark.parametrize("roles", COMBINATIONS, ids="+".join)
def test_each_operation_gets_the_scope_of_the_grants_allowing_it(world: World, roles: tuple[str, ...], entity: str) -> None:
    applicable = [op for op in OPERATIONS if op != "transition" or chosen_transition(entity) is not None]
    want = {(op, record_class): expected(roles, entity, op, record_class)
            for op in applicable for record_class in CLASSES}
    assert outcomes(world, roles, entity) == want
