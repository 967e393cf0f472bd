"""Mass update of 100,000 leads through the job system: one characteristic (`team`, a choice
that is not historized) given to every lead, with one audit row each.

Engine: `submit_mass_update` (the values and the actor's rights checked, then
`engine.jobs.submit("mass_update", ...)`) and `engine.jobs.wait`, as a manager; the job runs
on the in-process dispatcher, chunk by chunk, each chunk committed with its progress.
Baseline: the raw set-based SQL doing the same in one transaction, one INSERT ... SELECT
for the audit rows and one UPDATE. Naive: the same update with the ORM, one object per row
(a declarative class mapped over the same table, pages of 1,000 records loaded, the field
set, an audit row object added each, flushed per page, committed at the end): `naive_s` and
`naive_ratio` (naive over baseline) show the distance. Every run starts from a freshly seeded
database (seeding is not timed). SQLite, and PostgreSQL when configured.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Callable

import sqlalchemy as sa
from sqlalchemy import orm

from _big import databases, make_manager, progress, seed_leads, seed_users
from common import alternating_best, emit, shipped_plugins

LEADS = 100_000
RUNS = 3
TEAM = "key_accounts"
ORM_PAGE = 1_000

AUDIT_JSON = {
    "sqlite": "json_object('team', json_array(team, :team))",
    "postgresql": "json_build_object('team', json_build_array(team, CAST(:team AS VARCHAR)))",
}
DISTINCT = {"sqlite": "team IS NOT :team", "postgresql": "team IS DISTINCT FROM CAST(:team AS VARCHAR)"}


def run(new_url: Callable[[], str], label: str, files: Path) -> None:
    import metamodel
    from engine import Engine
    from engine.jobs.mass_update_job import submit_mass_update

    model = metamodel.load_model([metamodel.BASE_PACK])

    def seeded() -> tuple[Engine, Any]:
        engine = Engine(model, new_url(), plugins=shipped_plugins(), files_dir=files)
        engine.migrate()
        users = seed_users(engine.db, engine.tables, 10)
        manager = make_manager(engine, users[0])
        seed_leads(engine.db, engine.tables, LEADS, users, trashed=0)
        return engine, manager

    def through_jobs(state: tuple[Engine, Any]) -> None:
        engine, manager = state
        everything = engine.records.list_request("lead", {"tab": ["all"]})
        job_id = submit_mass_update(engine, "lead", everything, {"team": TEAM}, manager)
        job = engine.jobs.wait(job_id, timeout=3600, poll=0.02)
        assert job["state"] == "done", job
        assert job["counts"]["changed"] == LEADS, job["counts"]

    def raw_sql(state: tuple[Engine, Any]) -> None:
        engine, manager = state
        dialect = engine.db.dialect.name
        audit = sa.text(
            "INSERT INTO sys_audit (entity, record_id, action, version, changed_at, actor_id, changes) "
            f"SELECT 'lead', id, 'update', version + 1, :now, :actor, {AUDIT_JSON[dialect]} "
            f"FROM ent_lead WHERE deleted_at IS NULL AND {DISTINCT[dialect]}"
        ).bindparams(sa.bindparam("now", type_=sa.DateTime))
        update = sa.text(
            "UPDATE ent_lead SET team = :team, version = version + 1, updated_at = :now, updated_by = :actor "
            f"WHERE deleted_at IS NULL AND {DISTINCT[dialect]}"
        ).bindparams(sa.bindparam("now", type_=sa.DateTime))
        values = {"team": TEAM, "now": engine.records.clock(), "actor": manager.user_id}
        with engine.db.begin() as conn:
            conn.execute(audit, values)
            assert conn.execute(update, values).rowcount == LEADS

    def naive_orm(state: tuple[Engine, Any]) -> None:
        engine, manager = state

        class Base(orm.DeclarativeBase):
            pass

        class Lead(Base):
            __table__ = engine.tables.of("lead")

        class Audit(Base):
            __table__ = engine.tables.audit

        now = engine.records.clock()
        changed = last = 0
        with orm.Session(engine.db) as session:
            while True:
                page = session.scalars(
                    sa.select(Lead).where(Lead.deleted_at.is_(None), Lead.id > last).order_by(Lead.id).limit(ORM_PAGE)
                ).all()
                if not page:
                    break
                for lead in page:
                    if lead.team == TEAM:
                        continue
                    session.add(Audit(entity="lead", record_id=lead.id, action="update", version=lead.version + 1,
                                      changed_at=now, actor_id=manager.user_id, changes={"team": [lead.team, TEAM]}))
                    lead.team, lead.version = TEAM, lead.version + 1
                    lead.updated_at, lead.updated_by = now, manager.user_id
                    changed += 1
                session.flush()
                session.expunge_all()
                last = page[-1].id
            session.commit()
        assert changed == LEADS

    def prepared(name: str) -> Callable[[], tuple[Engine, Any]]:
        def prepare() -> tuple[Engine, Any]:
            progress(f"mass update job ({label}): seeding {LEADS:,} leads for {name}")
            return seeded()
        return prepare

    def finish(state: tuple[Engine, Any]) -> None:
        engine = state[0]
        lead, audit = engine.tables.of("lead"), engine.tables.audit
        with engine.db.connect() as conn:
            moved = conn.execute(sa.select(sa.func.count()).select_from(lead).where(lead.c.team == TEAM)).scalar_one()
            audited = conn.execute(
                sa.select(sa.func.count()).select_from(audit).where(audit.c.entity == "lead", audit.c.action == "update")
            ).scalar_one()
        assert moved == audited == LEADS, (moved, audited)
        engine.dispose()

    best = alternating_best(RUNS, {
        "baseline": (prepared("raw SQL"), raw_sql, finish),
        "engine": (prepared("the job"), through_jobs, finish),
        "naive": (prepared("ORM objects"), naive_orm, finish),
    })
    engine_s, baseline_s, naive_s = best["engine"], best["baseline"], best["naive"]
    emit(f"mass_update_job_100k_leads_{label}", engine_s, baseline_s, target=2, rows=LEADS,
         naive_s=round(naive_s, 4), naive_ratio=round(naive_s / baseline_s, 2))


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for label, new_url in databases(Path(tmp)):
            run(new_url, label, Path(tmp) / "files")


if __name__ == "__main__":
    main()
