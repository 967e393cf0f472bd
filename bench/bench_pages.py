"""(d) Generated pages against hand-written Flask + Jinja2 pages, through the Flask test client.

List part: the generated lead list (`/lead/`: open leads, newest first, 50 a page, over the
demo data) against a hand-written page for leads showing the same fields of the same rows:
the same query (count + one page of open leads + the assigned users' names in one query),
the same page size, a template written by hand. Prints one JSON line per page.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask

from common import best_of, emit

REQUESTS = 200
RUNS = 5

LEAD_LIST_BY_HAND = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Leads · Ossature</title><link rel="stylesheet" href="/static/ossature.css"></head>
<body>
<header class="topbar"><a class="brand" href="/">Ossature</a></header>
<main class="content">
  <h1>Leads <span class="list-count">{{ total }} records</span></h1>
  <a class="button" href="/lead/new">+ New</a>
  <table class="records">
    <thead><tr>
      <th>Last name</th><th>First name</th><th>Company</th><th>City</th><th>Status</th>
      <th>Score</th><th>Assigned to</th><th>Created</th>
    </tr></thead>
    <tbody>
    {% for lead in leads %}
      <tr>
        <td><a href="/lead/{{ lead.id }}">{{ lead.last_name }}</a></td>
        <td>{{ lead.first_name or "" }}</td>
        <td>{{ lead.company or "" }}</td>
        <td>{{ lead.city or "" }}</td>
        <td>{% set status = statuses[lead.status] %}<span class="badge" style="--badge: {{ status.color }}">{{ status.label }}</span></td>
        <td class="number">{% if lead.score is not none %}{{ "★" * lead.score }}{{ "☆" * (5 - lead.score) }}{% endif %}</td>
        <td>{% if lead.assigned_to %}<a href="/user/{{ lead.assigned_to }}">{{ users[lead.assigned_to] }}</a>{% endif %}</td>
        <td>{{ lead.created_at.day }} {{ months[lead.created_at.month - 1] }} {{ lead.created_at.year }} {{ lead.created_at.strftime("%H:%M") }}</td>
      </tr>
    {% endfor %}
    </tbody>
  </table>
  <p>1–{{ leads | length }} of {{ total }}</p>
</main>
</body>
</html>
"""
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def lead_list_by_hand(engine: Any) -> Flask:
    """The lead list as one would write it without Ossature: the query and the template by hand."""
    app = Flask("lead_list_by_hand")
    leads = engine.tables.of("lead")
    users = engine.tables.of("user")
    flow = engine.model.workflow("lead")
    statuses = {s.code: {"label": s.label.en, "color": s.color} for s in flow.statuses}
    open_codes = sorted(flow.open_codes)
    template = app.jinja_env.from_string(LEAD_LIST_BY_HAND)  # compiled once, as Flask caches templates

    @app.get("/lead/")
    def lead_list() -> str:
        where = (leads.c.deleted_at.is_(None), leads.c.status.in_(open_codes))
        with engine.db.connect() as conn:
            total = conn.execute(sa.select(sa.func.count()).select_from(leads).where(*where)).scalar_one()
            rows = conn.execute(
                sa.select(leads).where(*where).order_by(leads.c.created_at.desc(), leads.c.id.desc()).limit(50)
            ).mappings().all()
            owner_ids = {row["assigned_to"] for row in rows if row["assigned_to"] is not None}
            names = dict(conn.execute(sa.select(users.c.id, users.c.display_name).where(users.c.id.in_(owner_ids))).all())
        return template.render(leads=rows, total=total, statuses=statuses, users=names, months=MONTHS)

    return app


def interleaved_best(generated: Any, by_hand: Any, url: str) -> tuple[float, float]:
    """Best time of REQUESTS requests for each client; the runs alternate, so a machine
    busy with something else slows both sides alike."""
    def requests(client: Any) -> None:
        for _ in range(REQUESTS):
            response = client.get(url)
            assert response.status_code == 200

    engine_s = baseline_s = float("inf")
    for _ in range(RUNS):
        baseline_s = min(baseline_s, best_of(1, lambda: by_hand, requests))
        engine_s = min(engine_s, best_of(1, lambda: generated, requests))
    return engine_s, baseline_s


def bench_list_page(database_url: str) -> None:
    import metamodel
    from ossature.demo import seed_demo
    from ui_renderer import create_app
    from ui_renderer.testing import PAGES_WITHOUT_LOGIN

    app = create_app({"DATABASE_URL": database_url, "PACKS": [metamodel.BASE_PACK], **PAGES_WITHOUT_LOGIN})
    engine = app.extensions["ossature"]
    engine.migrate()
    seed_demo(engine, seed=0, today=dt.date(2026, 1, 15))
    generated = app.test_client()
    by_hand = lead_list_by_hand(engine).test_client()

    generated_page = generated.get("/lead/").text
    hand_page = by_hand.get("/lead/").text
    rows = generated_page.count('class="record-link"')
    assert rows == hand_page.count('<td><a href="/lead/') == 50, (rows, hand_page.count('<td><a href="/lead/'))

    engine_s, baseline_s = interleaved_best(generated, by_hand, "/lead/")
    emit("list_page_leads", engine_s, baseline_s, target=1.5, requests=REQUESTS, rows=rows,
         engine_rps=round(REQUESTS / engine_s), baseline_rps=round(REQUESTS / baseline_s))
    engine.dispose()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        bench_list_page(f"sqlite:///{Path(tmp) / 'pages.db'}")


if __name__ == "__main__":
    main()
