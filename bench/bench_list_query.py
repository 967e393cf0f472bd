"""List queries over 1,000,000 leads, as users meet them: common, rare and empty filter values,
two filters, search, another sort (indexed or not), a group, a deep page.

Engine: what the list page and the API do, `RecordService.list_request` (query-string
arguments checked against the `Model`) then `RecordService.list` for a manager (every record
in scope): the total, one page of 50, the counts per group when grouped.

Baseline, per combination: the same statements written by hand in SQL (count, page, group),
rows returned as dicts, the page in each plan a person would try (the sort's index walked,
the filter's index read then sorted, the database's own choice) and the fastest kept. The quick
search is written with LIKE alone and, where the database has it, through the search index the
engine keeps (SQLite: the FTS5 trigram table's candidates checked by LIKE; PostgreSQL's
trigram indexes serve ILIKE as written): the fastest count, page and groups are kept. The two
sides must agree on every combination (same total, same ids in the same order, same groups).

Each combination runs RUNS times, the sides taking turns; one JSON line per combination and
database gives p50, p99 and max of each side and the ratio of each (target: every ratio
<= 1.5, no p50 over 0.1 s). SQLite, and PostgreSQL when bench/common.py's POSTGRES_URL says
so. Seeding (set-based, bench/_big.py) is not timed.

`python bench/bench_list_query.py search_rare search_and_filter` runs only the combinations
named (seeding a million rows takes minutes; a combination, seconds).
"""

from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import sqlalchemy as sa

from _big import databases, progress, seed_leads, seed_rare_values, seed_users
from common import alternating_timings, emit_distribution, shipped_plugins

LEADS = 1_000_000
PAGE = 50
RUNS = 30
TRIALS = 3
"""Runs per hand-written plan when choosing the fastest."""
DEEP = 10_000
"""Rows before the deep page (the `after=` cursor of row DEEP)."""
OPEN = "deleted_at IS NULL AND status IN ('new', 'qualification_call', 'commercial_qualification')"
TARGET_RATIO = 1.5
TARGET_SECONDS = 0.1


@dataclass(frozen=True)
class Combination:
    name: str
    args: dict[str, list[str]]
    """The query string of the list (the engine's side)."""
    where: str
    """The hand-written WHERE (bound parameters :name)."""
    params: dict[str, Any] = field(default_factory=dict)
    sort: tuple[tuple[str, bool], ...] = (("created_at", True), ("id", True))
    """(column, descending) of the hand-written ORDER BY."""
    group: str | None = None
    deep: bool = False
    """Start the page after row DEEP (keyset: the `after=` cursor, by hand `(key) < (row DEEP's key)`)."""


def combinations(user: int) -> list[Combination]:
    return [
        Combination("open_all", {}, OPEN),
        Combination("common_sector", {"f_sector": ["it"]}, f"{OPEN} AND sector = :sector", {"sector": "it"}),
        Combination("empty_lost_reason", {"f_lost_reason": ["no_budget"]}, f"{OPEN} AND lost_reason = :reason",
                    {"reason": "no_budget"}),
        Combination("rare_category", {"f_category": ["hot"]}, f"{OPEN} AND category = :category",
                    {"category": "hot"}),
        Combination("medium_key_account", {"f_key_account": ["true"]}, f"{OPEN} AND key_account = :flag",
                    {"flag": True}),
        Combination("two_common", {"f_sector": ["it"], "f_source": ["referral"]},
                    f"{OPEN} AND sector = :sector AND source = :source", {"sector": "it", "source": "referral"}),
        Combination("common_and_rare", {"f_sector": ["banking"], "f_category": ["warm"]},
                    f"{OPEN} AND sector = :sector AND category = :category", {"sector": "banking", "category": "warm"}),
        Combination("two_values_and_user", {"f_source": ["partner", "website"], "f_assigned_to": [str(user)]},
                    f"{OPEN} AND source IN ('partner', 'website') AND assigned_to = :user", {"user": user}),
        Combination("history_tab_status", {"tab": ["history"], "f_status": ["lost"]},
                    "deleted_at IS NULL AND status NOT IN ('new', 'qualification_call', 'commercial_qualification')"
                    " AND status = :status", {"status": "lost"}),
        Combination("search_rare", {"q": ["lead4242@"]}, f"{OPEN} AND {SEARCH}", {"q": "%lead4242@%"}),
        Combination("search_and_filter", {"q": ["Paris"], "f_team": ["key_accounts"]},
                    f"{OPEN} AND team = :team AND {SEARCH}", {"q": "%paris%", "team": "key_accounts"}),
        Combination("sort_indexed", {"f_source": ["partner"], "sort": ["last_name"]},
                    f"{OPEN} AND source = :source", {"source": "partner"}, sort=(("last_name", False), ("id", False))),
        Combination("sort_unindexed", {"f_category": ["warm"], "sort": ["first_name"]},
                    f"{OPEN} AND category = :category", {"category": "warm"},
                    sort=(("first_name", False), ("id", False))),
        Combination("group_by_sector", {"f_source": ["website"], "group": ["sector"]},
                    f"{OPEN} AND source = :source", {"source": "website"}, group="sector"),
        Combination("deep_page", {}, OPEN, deep=True),
        Combination("deep_page_common", {"f_sector": ["it"]}, f"{OPEN} AND sector = :sector", {"sector": "it"},
                    deep=True),
    ]


SEARCH = "(SEARCH)"
"""Where a combination's WHERE has the quick search, written for the database by `_search`."""


def _fts_query(text: str) -> str:
    """The FTS5 query of the records holding the trigrams starting at every third character of
    `text`, and its last one (the table keeps no positions: LIKE checks the candidates)."""
    starts = [*range(0, len(text) - 2, 3), len(text) - 3]
    trigrams = dict.fromkeys(text[i:i + 3] for i in starts)
    return " AND ".join('"' + trigram.replace('"', '""') + '"' for trigram in trigrams)


def _search(dialect: str) -> str:
    """The quick search as a person writes it: any searchable characteristic contains the text
    whatever its case (SQLite's LIKE already ignores the case of ASCII letters, as its lower() does)."""
    names = ("first_name", "last_name", "company", "phone", "email", "city")
    like = "LIKE" if dialect == "sqlite" else "ILIKE"
    return " OR ".join(f"{name} {like} :q ESCAPE '\\'" for name in names)


class HandWritten:
    """The hand-written statements of one combination, in every plan worth trying."""

    def __init__(self, conn: sa.Connection, lead: sa.Table, combination: Combination, dialect: str):
        self.c, self.dialect = combination, dialect
        self.params = dict(combination.params)
        variants = self._search_variants(conn, combination)
        if "q" in combination.args:
            self.params["fts"] = _fts_query(combination.args["q"][0])
        self.c = combination = replace(combination, where=variants[""])
        deep = f" AND {self._deep_condition(conn)}" if combination.deep else ""
        self.counts = {f"count{suffix}": sa.text(f"SELECT count(*) FROM ent_lead WHERE {where}")
                       for suffix, where in variants.items()}
        self.plans = {f"{name}{suffix}": sa.text(sql).columns(*lead.c)
                      for suffix, where in variants.items() for name, sql in self._pages(where + deep).items()}
        self.groups = {} if combination.group is None else {f"{name}{suffix}": sa.text(
            f"SELECT {column}, count(*) FROM ent_lead WHERE {where} "
            f"GROUP BY {column} ORDER BY count(*) DESC, {column}")
            for suffix, where in variants.items() for name, column in self._group_columns(combination.group).items()}
        self.count = next(iter(self.counts.values()))
        self.group = next(iter(self.groups.values()), None)
        self.page = next(iter(self.plans.values()))

    def _search_variants(self, conn: sa.Connection, combination: Combination) -> dict[str, str]:
        """The WHERE with the quick search written with LIKE alone (""), and through the FTS5 table
        where SQLite has one (" + fts": its candidates, checked by LIKE)."""
        like = combination.where.replace(SEARCH, f"({_search(self.dialect)})")
        variants = {"": like}
        if SEARCH in combination.where and self.dialect == "sqlite" and conn.exec_driver_sql(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'fts_ent_lead'").first():
            variants[" + fts"] = combination.where.replace(SEARCH, (
                "id IN (SELECT rowid FROM fts_ent_lead WHERE fts_ent_lead MATCH :fts) "
                f"AND ({_search(self.dialect)})"))
        return variants

    def _group_columns(self, column: str) -> dict[str, str]:
        """The grouped column as written in each plan: walking its index, or not (`+column` on SQLite)."""
        return {"planner": column, **({"filter_index": f"+{column}"} if self.dialect == "sqlite" else {})}

    def _order(self, wrap: Callable[[str], str] = lambda name: name) -> str:
        nulls = {"postgresql": (" NULLS LAST", " NULLS FIRST")}.get(self.dialect, ("", ""))
        return ", ".join(f"{wrap(name)} {'DESC' if desc else 'ASC'}{nulls[1] if desc else nulls[0]}"
                         for name, desc in self.c.sort)

    def _pages(self, where: str) -> dict[str, str]:
        limit = f"LIMIT {PAGE}"
        pages = {"planner": f"SELECT * FROM ent_lead WHERE {where} ORDER BY {self._order()} {limit}"}
        first = self.c.sort[0][0]
        if self.dialect == "sqlite":
            index = {"created_at": "ix_ent_lead_created_at", "last_name": "ix_ent_lead_last_name"}.get(first)
            if index:
                pages["sort_index"] = (f"SELECT * FROM ent_lead INDEXED BY {index} WHERE {where} "
                                       f"ORDER BY {self._order()} {limit}")
            pages["filter_index"] = (f"SELECT * FROM ent_lead WHERE {where} "
                                     f"ORDER BY {self._order(lambda name: '+' + name)} {limit}")
        else:
            no_index = {"created_at": "created_at + interval '0 s'", "last_name": "(last_name || '')",
                        "first_name": "(first_name || '')", "id": "id + 0"}
            pages["filter_index"] = (f"SELECT * FROM ent_lead WHERE {where} "
                                     f"ORDER BY {self._order(lambda name: no_index[name])} {limit}")
        return pages

    def _deep_condition(self, conn: sa.Connection) -> str:
        """Rows after row DEEP of the list, as a person writes keyset paging by hand."""
        (first, desc), (_, _) = self.c.sort
        row = conn.execute(sa.text(
            f"SELECT {first}, id FROM ent_lead WHERE {self.c.where} ORDER BY {self._order()} LIMIT 1 OFFSET {DEEP - 1}"
        ), self.c.params).one()
        self.params.update(deep_key=row[0], deep_id=row[1])
        op = "<" if desc else ">"
        return f"({first} {op}= :deep_key AND ({first} {op} :deep_key OR id {op} :deep_id))"

    def run(self, conn: sa.Connection) -> tuple[int, list[int], list[Any]]:
        total = conn.execute(self.count, self.params).scalar_one()
        rows = [dict(row) for row in conn.execute(self.page, self.params).mappings()]
        groups = [] if self.group is None else [tuple(row) for row in conn.execute(self.group, self.params)]
        return total, [row["id"] for row in rows], groups


def run(new_url: Callable[[], str], label: str, only: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    """Seed, then time every combination (those named in `only`, when given)."""
    import metamodel
    from engine import Actor, Engine

    model = metamodel.load_model([metamodel.BASE_PACK])
    engine = Engine(model, new_url(), plugins=shipped_plugins())
    engine.migrate()
    progress(f"list query ({label}): seeding {LEADS:,} leads")
    users = seed_users(engine.db, engine.tables, 20)
    seed_leads(engine.db, engine.tables, LEADS, users)
    seed_rare_values(engine.db, engine.tables)
    manager = Actor(user_id=users[0], username="bench0", roles=frozenset({"manager"}))
    lead = engine.tables.of("lead")
    dialect = engine.db.dialect.name
    lines = []
    with engine.db.connect() as conn:
        for combination in combinations(users[3]):
            if only and combination.name not in only:
                continue
            hand = HandWritten(conn, lead, combination, dialect)
            args = {**combination.args, "size": [str(PAGE)]}
            if combination.deep:
                args["after"] = [_cursor(engine, manager, args)]

            def through_engine(args: dict[str, list[str]] = args) -> tuple[int, list[int], list[Any]]:
                result = engine.records.list("lead", engine.records.list_request("lead", args), actor=manager)
                groups = [(g.value, g.count) for g in result.groups or []]
                return result.total, [row["id"] for row in result.rows], groups

            best_plan = _fastest_by_hand(conn, hand)
            expected = hand.run(conn)
            assert through_engine() == expected, f"{combination.name}: the engine and the hand-written SQL disagree"
            progress(f"list query ({label}): {combination.name} (total {expected[0]:,}, hand-written: {best_plan})")
            timings = alternating_timings(RUNS, {"engine": through_engine,
                                                 "baseline": lambda hand=hand: hand.run(conn)})
            lines.append(emit_distribution(
                f"list_query_1m_leads_{label}_{combination.name}", timings["engine"], timings["baseline"],
                target=TARGET_RATIO, rows=LEADS, total=expected[0], page_size=PAGE, baseline_plan=best_plan,
                runs=RUNS, target_s=TARGET_SECONDS,
            ))
            conn.rollback()
    engine.dispose()
    return lines


def _fastest(conn: sa.Connection, plans: dict[str, sa.TextClause], params: dict[str, Any]) -> str:
    """The plan of `plans` whose statement alone runs fastest (best of TRIALS); every plan must
    give the same rows."""
    answers = {name: [tuple(row) for row in conn.execute(statement, params)] for name, statement in plans.items()}
    assert len({repr(answer) for answer in answers.values()}) == 1, f"hand-written plans disagree: {list(answers)}"
    spent = {name: min(_timed(lambda statement=statement: conn.execute(statement, params).all())
                       for _ in range(TRIALS)) for name, statement in plans.items()}
    return min(spent, key=spent.__getitem__)


def _fastest_by_hand(conn: sa.Connection, hand: HandWritten) -> str:
    """Keep in `hand` the fastest hand-written count, page (and groups) plans; says which."""
    page = _fastest(conn, hand.plans, hand.params)
    hand.page = hand.plans[page]
    chosen = page
    if len(hand.counts) > 1:
        count = _fastest(conn, hand.counts, hand.params)
        hand.count = hand.counts[count]
        chosen = f"{count}, page: {page}"
    if not hand.groups:
        return chosen
    groups = _fastest(conn, hand.groups, hand.params)
    hand.group = hand.groups[groups]
    return f"{chosen}, groups: {groups}"


def _cursor(engine: Any, actor: Any, args: dict[str, list[str]]) -> str:
    """The `after=` cursor of row DEEP of the list, as a client paging through it would hold."""
    from engine.records.queries import next_cursor

    request = engine.records.list_request("lead", {**args, "size": ["1"], "page": [str(DEEP)]})
    (row,) = engine.records.list("lead", request, actor=actor).rows
    return next_cursor(request, row)


def _timed(measure: Callable[[], object]) -> float:
    start = time.perf_counter()
    measure()
    return time.perf_counter() - start


def main(names: list[str]) -> None:
    known = {c.name for c in combinations(0)}
    unknown = sorted(set(names) - known)
    if unknown:
        raise SystemExit(f"no such combination: {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    with tempfile.TemporaryDirectory() as tmp:
        for label, new_url in databases(Path(tmp)):
            lines = run(new_url, label, frozenset(names))
            missed = [line["name"] for line in lines
                      if line["ratio_p50"] > TARGET_RATIO or line["engine_p50_s"] > TARGET_SECONDS]
            if missed:
                progress(f"list query ({label}): over target: {', '.join(missed)}")


if __name__ == "__main__":
    main(sys.argv[1:])
