"""Mass update of 100,000 leads (assigned user, with audit rows) through the engine, against
the raw set-based SQL doing the same: one UPDATE plus one INSERT ... SELECT for the audit.
The engine also writes the history periods of `assigned_to` (historized in the base pack)
and checks the new value; the baseline does neither. SQLite, on copies of one database file."""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
import uuid
from pathlib import Path

import sqlalchemy as sa

from common import best_of, emit, shipped_plugins

LEADS = 100_000


def main() -> None:
    import metamodel
    from engine import SYSTEM_ACTOR, Actor, Engine

    model = metamodel.load_model([metamodel.BASE_PACK])
    with tempfile.TemporaryDirectory() as tmp:
        template = Path(tmp) / "template.db"
        engine = Engine(model, f"sqlite:///{template}", plugins=shipped_plugins())
        engine.migrate()
        users = engine.records.create_many("user", [{"username": f"u{i}", "display_name": f"User {i}"} for i in range(2)], SYSTEM_ACTOR)
        for start in range(0, LEADS, 10_000):
            engine.records.create_many(
                "lead",
                [{"last_name": f"Lead {i}", "phone": "0102030405", "assigned_to": users[0]} for i in range(start, start + 10_000)],
                SYSTEM_ACTOR,
            )
        engine.dispose()
        target = users[1]

        def fresh_copy() -> Engine:
            path = Path(tmp) / f"{uuid.uuid4().hex}.db"
            shutil.copyfile(template, path)
            return Engine(model, f"sqlite:///{path}", plugins=shipped_plugins())

        def through_engine(engine: Engine) -> None:
            everything = engine.records.list_request("lead", {"tab": ["all"]})
            result = engine.records.mass_update("lead", everything, {"assigned_to": target}, Actor(user_id=target, roles=frozenset({"manager"})))
            assert result.changed == LEADS, result
            engine.dispose()

        def raw_sql(engine: Engine) -> None:
            lead, audit = engine.tables.of("lead"), engine.tables.audit
            now = dt.datetime.now()
            with engine.db.begin() as conn:
                conn.execute(audit.insert().from_select(
                    ["entity", "record_id", "action", "version", "changed_at", "actor_id", "changes"],
                    sa.select(
                        sa.literal("lead"), lead.c.id, sa.literal("update"), lead.c.version + 1, sa.literal(now, sa.DateTime),
                        sa.literal(target), sa.func.json_object("assigned_to", sa.func.json_array(lead.c.assigned_to, target)),
                    ).where(lead.c.deleted_at.is_(None)),
                ))
                conn.execute(
                    lead.update().where(lead.c.deleted_at.is_(None))
                    .values(assigned_to=target, version=lead.c.version + 1, updated_at=now, updated_by=target)
                )
            engine.dispose()

        baseline_s = best_of(3, fresh_copy, raw_sql)
        engine_s = best_of(3, fresh_copy, through_engine)
    emit("mass_update_100k_leads_sqlite", engine_s, baseline_s, target=2, rows=LEADS)


if __name__ == "__main__":
    main()
