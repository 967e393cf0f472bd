"""A record's page with three related panels, through the Flask test client, against a
hand-written Flask + Jinja2 page showing the same: the room's form (name, site, access mode,
capacity) and, under it, its bookings, the bookings naming it as backup room and its incidents,
each panel with its count, its first 10 rows (newest first) and the linked rooms' names.

The pack is bench/packs/rooms (the room form declares the three panels): 200 sites, 2,000 rooms,
100,000 bookings (one in seven with a backup room) and 20,000 incidents, seeded straight into
the tables (not timed), on SQLite, and PostgreSQL when bench/common.py's POSTGRES_URL says so.
The hand-written page runs what a developer would: the room and its site's name, the site
options, then per panel a count and a page, and the backup rooms' names in one query.
Each side serves the same rooms in turn; the best of RUNS interleaved runs is kept.
"""

from __future__ import annotations

import datetime as dt
import random
import tempfile
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask, render_template
from jinja2 import DictLoader

from _big import CITIES, SEED_CHUNK, analyze, databases, progress
from common import ROOT, alternating_best, emit

PACK = ROOT / "bench" / "packs" / "rooms"
SITES, ROOMS, BOOKINGS, INCIDENTS = 200, 2_000, 100_000, 20_000
REQUESTS = 200
RUNS = 5
SIZE = 10
EPOCH = dt.datetime(2024, 1, 1)
FIRST_DAY = dt.date(2024, 1, 1)

HAND_WRITTEN = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ r.name }}</title>
<link rel="stylesheet" href="/static/ossature.css"></head>
<body><main class="content">
<h1>{{ r.name }}</h1>
<form method="post" action="/room/{{ r.id }}">
<input type="hidden" name="_version" value="{{ r.version }}">
<fieldset><legend>Room</legend>
<label for="f-name">Name *</label><input type="text" id="f-name" name="name" value="{{ r.name }}" required maxlength="80">
<label for="f-site">Site</label><select id="f-site" name="site"><option value="">—</option>{% for id, name in sites %}<option value="{{ id }}"{% if id == r.site %} selected{% endif %}>{{ name }}</option>{% endfor %}</select>
<label for="f-access_mode">Access</label><select id="f-access_mode" name="access_mode"><option value="">—</option><option value="open"{% if r.access_mode == 'open' %} selected{% endif %}>Open</option><option value="controlled"{% if r.access_mode == 'controlled' %} selected{% endif %}>Controlled</option></select>
<label for="f-capacity">Capacity</label><input type="number" id="f-capacity" name="capacity" value="{{ r.capacity if r.capacity is not none else '' }}" min="1" step="1">
</fieldset>
<button type="submit">Save</button>
</form>
<section class="related-panels">
{% for panel in panels %}
<section class="related-panel" id="related-{{ panel.name }}">
  <header class="related-head"><h2>{{ panel.label }} <span class="related-count">{{ panel.total }}</span></h2>
  <a class="button button-secondary" href="/{{ panel.entity }}/new?prefill.{{ panel.link }}={{ r.id }}">New</a></header>
  {% if panel.rows %}<table class="related-table"><thead><tr>{% for label in panel.headers %}<th scope="col">{{ label }}</th>{% endfor %}</tr></thead>
  <tbody>{% for row in panel.rows %}<tr><td><a href="/{{ panel.entity }}/{{ row.id }}">{{ row.subject }}</a></td>
  <td>{% set day = row[panel.date] %}{% if day %}{{ day.day }} {{ months[day.month - 1] }} {{ day.year }}{% endif %}</td>
  {% if panel.name == 'bookings' %}<td class="number">{{ row.seats if row.seats is not none else '' }}</td><td>{% if row.backup_room %}<a href="/room/{{ row.backup_room }}">{{ rooms[row.backup_room] }}</a>{% endif %}</td>{% endif %}
  {% if panel.name == 'backup_bookings' %}<td>{% if row.room %}<a href="/room/{{ row.room }}">{{ rooms[row.room] }}</a>{% endif %}</td>{% endif %}
  </tr>{% endfor %}</tbody></table>{% else %}<p>None yet</p>{% endif %}
  {% if panel.total > 10 %}<nav><span>Page 1 of {{ (panel.total + 9) // 10 }}</span> <a href="?p_{{ panel.name }}=2" rel="next">Next</a></nav>{% endif %}
</section>
{% endfor %}
</section>
</main></body></html>
"""
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
PANELS = (  # name, label, entity, link, date column, columns read, headers
    ("bookings", "Bookings", "booking", "room", "starts_on", ("subject", "starts_on", "seats", "backup_room"),
     ("Subject", "Starts on", "Seats", "Backup room")),
    ("backup_bookings", "Bookings as backup", "booking", "backup_room", "starts_on", ("subject", "starts_on", "room"),
     ("Subject", "Starts on", "Room")),
    ("incidents", "Incidents", "incident", "room", "reported_on", ("subject", "reported_on"),
     ("Subject", "Reported on")),
)


def seed(db: sa.Engine, tables: Any, *, seed: int = 3) -> list[int]:
    """Sites, rooms, bookings and incidents; the ids of the rooms."""
    rnd = random.Random(seed)
    site, room, booking, incident = (tables.of(name) for name in ("site", "room", "booking", "incident"))
    system = {"created_at": EPOCH, "updated_at": EPOCH, "version": 1}
    with db.begin() as conn:
        conn.execute(site.insert(), [{**system, "name": f"Site {i}", "city": CITIES[i % len(CITIES)]}
                                     for i in range(SITES)])
        sites = list(conn.execute(sa.select(site.c.id)).scalars())
        conn.execute(room.insert(), [{**system, "name": f"Room {i}", "site": sites[i % SITES], "capacity": 4 + i % 40,
                                      "access_mode": "controlled" if i % 9 == 0 else "open"} for i in range(ROOMS)])
        rooms = list(conn.execute(sa.select(room.c.id).order_by(room.c.id)).scalars())
        for start in range(0, BOOKINGS, SEED_CHUNK):
            conn.execute(booking.insert(), [
                {**system, "subject": f"Booking {i}", "starts_on": FIRST_DAY + dt.timedelta(days=rnd.randrange(730)),
                 "room": rnd.choice(rooms), "backup_room": rnd.choice(rooms) if i % 7 == 0 else None,
                 "seats": 1 + rnd.randrange(20), "deleted_at": EPOCH if i % 100 == 3 else None}
                for i in range(start, min(BOOKINGS, start + SEED_CHUNK))])
        for start in range(0, INCIDENTS, SEED_CHUNK):
            conn.execute(incident.insert(), [
                {**system, "subject": f"Incident {i}", "room": rnd.choice(rooms),
                 "reported_on": FIRST_DAY + dt.timedelta(days=rnd.randrange(730))}
                for i in range(start, min(INCIDENTS, start + SEED_CHUNK))])
    analyze(db)
    return rooms


def hand_written_app(engine: Any) -> Flask:
    """What a developer would write for this one page: a query for the room, one for the site
    options, a count and a page per panel, the linked rooms' names in one query."""
    tables = {name: engine.records.table(name) for name in ("site", "room", "booking", "incident")}
    room, site = tables["room"], tables["site"]
    app = Flask(__name__)
    app.jinja_loader = DictLoader({"room.html": HAND_WRITTEN})

    @app.get("/room/<int:record_id>")
    def edit(record_id: int) -> str:
        panels = []
        with engine.db.connect() as conn:
            r = conn.execute(sa.select(room).where(room.c.id == record_id, room.c.deleted_at.is_(None))).mappings().one()
            sites = conn.execute(sa.select(site.c.id, site.c.name).where(site.c.deleted_at.is_(None))
                                 .order_by(site.c.name)).all()
            linked: set[int] = set()
            for name, label, entity, link, date, columns, headers in PANELS:
                table = tables[entity]
                where = (table.c[link] == record_id, table.c.deleted_at.is_(None))
                total = conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one()
                rows = conn.execute(sa.select(table.c.id, *(table.c[c] for c in columns)).where(*where)
                                    .order_by(table.c[date].desc(), table.c.id.desc()).limit(SIZE)).mappings().all()
                linked.update(row[c] for row in rows for c in ("room", "backup_room") if c in columns and row[c])
                panels.append({"name": name, "label": label, "entity": entity, "link": link, "date": date,
                               "total": total, "rows": rows, "headers": headers})
            rooms = dict(conn.execute(sa.select(room.c.id, room.c.name).where(room.c.id.in_(linked))).all()) if linked else {}
        return render_template("room.html", r=r, sites=sites, panels=panels, rooms=rooms, months=MONTHS)

    return app


def run(url: str, label: str) -> None:
    import metamodel
    from ui_renderer import create_app
    from ui_renderer.testing import PAGES_WITHOUT_LOGIN

    app = create_app({"DATABASE_URL": url, "PACKS": [str(PACK)], **PAGES_WITHOUT_LOGIN})
    engine = app.extensions["ossature"]
    engine.migrate()
    progress(f"related panels ({label}): seeding {BOOKINGS:,} bookings, {INCIDENTS:,} incidents")
    rooms = seed(engine.db, engine.tables)
    generated, baseline = app.test_client(), hand_written_app(engine).test_client()
    headers = {"Accept-Language": "en"}
    page = generated.get(f"/room/{rooms[0]}", headers=headers).get_data(as_text=True)
    for name, *_ in PANELS:  # the generated page does show the three panels
        assert f'id="related-{name}"' in page, f"the generated room page has no {name} panel"

    def serve(client: Any) -> None:
        for i in range(REQUESTS):
            response = client.get(f"/room/{rooms[i % len(rooms)]}", headers=headers)
            assert response.status_code == 200, response.status_code

    serve(generated)  # first use builds the cached form layout
    serve(baseline)
    best = alternating_best(RUNS, {"baseline": (lambda: baseline, serve, None),
                                   "engine": (lambda: generated, serve, None)})
    engine_s, baseline_s = best["engine"], best["baseline"]
    emit(f"form_page_three_panels_{label}", engine_s, baseline_s, target=1.5, requests=REQUESTS,
         engine_rps=round(REQUESTS / engine_s), baseline_rps=round(REQUESTS / baseline_s),
         bookings=BOOKINGS, incidents=INCIDENTS)
    engine.dispose()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for label, new_url in databases(Path(tmp)):
            run(new_url(), label)


if __name__ == "__main__":
    main()
