"""List query over 1,000,000 leads: open leads of one sector (`sector` is an indexed choice
characteristic), newest first, the first page of 50 with the total count.

Engine: what the list page does, `RecordService.list_request` (query-string arguments parsed
and checked against the `Model`) then `RecordService.list` for a manager (every record in
scope). Baseline: the same two statements written by hand in SQL (count, then the page),
rows returned as dicts. Each measurement runs the query for five sectors in turn; the two
sides alternate, best of RUNS. SQLite, and PostgreSQL when configured. Seeding is not timed.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from _big import SECTORS, databases, progress, seed_leads, seed_users
from common import alternating_best, emit, shipped_plugins

LEADS = 1_000_000
PAGE = 50
RUNS = 7
QUERIED = SECTORS[:5]

HAND_WRITTEN_WHERE = (
    "deleted_at IS NULL AND status IN ('new', 'qualification_call', 'commercial_qualification') AND sector = :sector"
)
HAND_WRITTEN_COUNT = f"SELECT count(*) FROM ent_lead WHERE {HAND_WRITTEN_WHERE}"
HAND_WRITTEN_PAGE = f"SELECT * FROM ent_lead WHERE {HAND_WRITTEN_WHERE} ORDER BY created_at DESC, id DESC LIMIT {PAGE}"


def run(new_url: Any, label: str) -> None:
    import metamodel
    from engine import Actor, Engine

    model = metamodel.load_model([metamodel.BASE_PACK])
    engine = Engine(model, new_url(), plugins=shipped_plugins())
    engine.migrate()
    progress(f"list query ({label}): seeding {LEADS:,} leads")
    users = seed_users(engine.db, engine.tables, 20)
    seed_leads(engine.db, engine.tables, LEADS, users)
    manager = Actor(user_id=users[0], username="bench0", roles=frozenset({"manager"}))
    assert set(model.workflow("lead").open_codes) == {"new", "qualification_call", "commercial_qualification"}
    lead = engine.tables.of("lead")
    count_sql = sa.text(HAND_WRITTEN_COUNT)
    page_sql = sa.text(HAND_WRITTEN_PAGE).columns(*lead.c)

    def through_engine(_: object) -> list[tuple[int, list[int]]]:
        seen = []
        for sector in QUERIED:
            request = engine.records.list_request("lead", {"f_sector": [sector], "size": [str(PAGE)]})
            result = engine.records.list("lead", request, actor=manager)
            seen.append((result.total, [row["id"] for row in result.rows]))
        return seen

    def by_hand(_: object) -> list[tuple[int, list[int]]]:
        seen = []
        with engine.db.connect() as conn:
            for sector in QUERIED:
                total = conn.execute(count_sql, {"sector": sector}).scalar_one()
                rows = [dict(row) for row in conn.execute(page_sql, {"sector": sector}).mappings()]
                seen.append((total, [row["id"] for row in rows]))
        return seen

    expected = by_hand(None)
    assert through_engine(None) == expected, "the engine and the hand-written SQL disagree"
    assert all(len(ids) == PAGE and total > 40_000 for total, ids in expected), expected
    progress(f"list query ({label}): measuring")
    best = alternating_best(RUNS, {
        "baseline": (lambda: None, by_hand, None),
        "engine": (lambda: None, through_engine, None),
    })
    engine_s, baseline_s = best["engine"], best["baseline"]
    emit(f"list_query_1m_leads_{label}", engine_s, baseline_s, target=1.5, rows=LEADS, queries=len(QUERIED),
         page_size=PAGE, total_per_query=expected[0][0])
    engine.dispose()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for label, new_url in databases(Path(tmp)):
            run(new_url, label)


if __name__ == "__main__":
    main()
