"""(c) Serving the generated lead edit form through the Flask test client, against a
hand-written Flask + Jinja2 page with the same fields: the same inputs with the same
attributes and options, the record read with one query and the user options with another.

Both apps run over the same seeded SQLite database; each serves the same leads in turn.
The generated page also carries its workflow bar and transition buttons (guards evaluated),
which the hand-written one leaves out: the ratio is the price of generating from the `Model`.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import sqlalchemy as sa
from flask import Flask, render_template
from jinja2 import DictLoader

from common import best_of, emit

REQUESTS = 400
RUNS = 5

HAND_WRITTEN = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<link rel="stylesheet" href="/static/ossature.css"></head>
<body><main class="content">
<h1>{{ title }}</h1>
<form method="post" action="/lead/{{ r.id }}">
<input type="hidden" name="_version" value="{{ r.version }}">
<fieldset><legend>Person</legend>
<label for="f-first_name">First name</label><input type="text" id="f-first_name" name="first_name" value="{{ r.first_name or '' }}" maxlength="80">
<label for="f-last_name">Last name *</label><input type="text" id="f-last_name" name="last_name" value="{{ r.last_name or '' }}" required maxlength="80">
<label for="f-function">Function</label><select id="f-function" name="function"><option value="">—</option>{% for code, label in lists.functions %}<option value="{{ code }}"{% if code == r.function %} selected{% endif %}>{{ label }}</option>{% endfor %}</select>
<label for="f-department">Department</label><select id="f-department" name="department"><option value="">—</option>{% for code, label in lists.departments %}<option value="{{ code }}"{% if code == r.department %} selected{% endif %}>{{ label }}</option>{% endfor %}</select>
<label for="f-phone">Phone</label><input type="tel" id="f-phone" name="phone" value="{{ r.phone or '' }}">{% if r.phone %}<a href="tel:{{ r.phone|replace(' ', '') }}">Call</a>{% endif %}
<label for="f-mobile">Mobile</label><input type="tel" id="f-mobile" name="mobile" value="{{ r.mobile or '' }}">{% if r.mobile %}<a href="tel:{{ r.mobile|replace(' ', '') }}">Call</a>{% endif %}
{% if r.fax %}<label for="f-fax">Fax</label><input type="tel" id="f-fax" name="fax" value="{{ r.fax }}">{% endif %}
<label for="f-email">Email</label><input type="email" id="f-email" name="email" value="{{ r.email or '' }}">{% if r.email %}<a href="mailto:{{ r.email }}">Write</a>{% endif %}
<p class="help">Needed when the lead has no phone number and accepts emails</p>
<label><input type="checkbox" name="do_not_call" value="true"{% if r.do_not_call %} checked{% endif %}> Do not call</label>
<label><input type="checkbox" name="do_not_email" value="true"{% if r.do_not_email %} checked{% endif %}> Do not email</label>
</fieldset>
<fieldset><legend>Company</legend>
<label for="f-company">Company</label><input type="text" id="f-company" name="company" value="{{ r.company or '' }}" maxlength="160">
<label for="f-sector">Sector</label><select id="f-sector" name="sector"><option value="">—</option>{% for code, label in lists.sectors %}<option value="{{ code }}"{% if code == r.sector %} selected{% endif %}>{{ label }}</option>{% endfor %}</select>
<label for="f-company_size">Company size</label><select id="f-company_size" name="company_size"><option value="">—</option>{% for code, label in lists.company_sizes %}<option value="{{ code }}"{% if code == r.company_size %} selected{% endif %}>{{ label }}</option>{% endfor %}</select>
<label for="f-website">Website</label><input type="url" id="f-website" name="website" value="{{ r.website or '' }}">{% if r.website %}<a href="{{ r.website }}">Visit</a>{% endif %}
<label for="f-street">Street</label><input type="text" id="f-street" name="street" value="{{ r.street or '' }}" maxlength="200">
<label for="f-postal_code">Postal code</label><input type="text" id="f-postal_code" name="postal_code" value="{{ r.postal_code or '' }}" maxlength="20">
<label for="f-city">City</label><input type="text" id="f-city" name="city" value="{{ r.city or '' }}" maxlength="80">
<label for="f-country">Country</label><input type="text" id="f-country" name="country" value="{{ r.country or '' }}" maxlength="80">
</fieldset>
<fieldset><legend>Qualification</legend>
<label for="f-source">Source</label><select id="f-source" name="source"><option value="">—</option>{% for code, label in lists.lead_sources %}<option value="{{ code }}"{% if code == r.source %} selected{% endif %}>{{ label }}</option>{% endfor %}</select>
<label for="f-category">Category</label><select id="f-category" name="category"><option value="">—</option>{% for code, label in lists.lead_categories %}<option value="{{ code }}"{% if code == r.category %} selected{% endif %}>{{ label }}</option>{% endfor %}</select>
<fieldset><legend>Score</legend>{% for n in [5, 4, 3, 2, 1] %}<input type="radio" id="f-score-{{ n }}" name="score" value="{{ n }}"{% if r.score == n %} checked{% endif %}><label for="f-score-{{ n }}">{{ n }} out of 5</label>{% endfor %}
<label><input type="radio" name="score" value="0"{% if r.score == 0 %} checked{% endif %}> 0</label><label><input type="radio" name="score" value=""{% if r.score is none %} checked{% endif %}> Not rated</label></fieldset>
<label for="f-budget">Budget</label><input type="number" id="f-budget" name="budget" value="{{ r.budget if r.budget is not none else '' }}" min="0" step="0.01" inputmode="decimal">
<label><input type="checkbox" name="key_account" value="true"{% if r.key_account %} checked{% endif %}> Key account</label>
<label><input type="checkbox" name="nurturing" value="true"{% if r.nurturing %} checked{% endif %}> In nurturing</label>
<fieldset><legend>Tags</legend>{% for code, label in lists.tags %}<label><input type="checkbox" name="tags" value="{{ code }}"{% if code in (r.tags or []) %} checked{% endif %}> {{ label }}</label>{% endfor %}</fieldset>
<label>Qualified on</label><div>{{ r.qualified_on or '—' }}</div>
<label>Converted on</label><div>{{ r.converted_on or '—' }}</div>
</fieldset>
<fieldset><legend>Follow-up</legend>
<label for="f-assigned_to">Assigned to</label><select id="f-assigned_to" name="assigned_to"><option value="">—</option>{% for id, name in users %}<option value="{{ id }}"{% if id == r.assigned_to %} selected{% endif %}>{{ name }}</option>{% endfor %}</select>
<label for="f-team">Team</label><select id="f-team" name="team"><option value="">—</option>{% for code, label in lists.teams %}<option value="{{ code }}"{% if code == r.team %} selected{% endif %}>{{ label }}</option>{% endfor %}</select>
<label for="f-description">Description</label><textarea id="f-description" name="description" rows="6">
{{ r.description or '' }}</textarea>{% if r.description %}<div>{{ r.description|safe }}</div>{% endif %}
<label for="f-lost_reason">Reason for losing</label><select id="f-lost_reason" name="lost_reason"><option value="">—</option>{% for code, label in lists.lost_reasons %}<option value="{{ code }}"{% if code == r.lost_reason %} selected{% endif %}>{{ label }}</option>{% endfor %}</select>
<label>Converted to account</label><div>{% if r.converted_account %}<a href="/account/{{ r.converted_account }}">{{ linked.account }}</a>{% else %}—{% endif %}</div>
<label>Converted to contact</label><div>{% if r.converted_contact %}<a href="/contact/{{ r.converted_contact }}">{{ linked.contact }}</a>{% else %}—{% endif %}</div>
<label>Converted to opportunity</label><div>{% if r.converted_opportunity %}<a href="/opportunity/{{ r.converted_opportunity }}">{{ linked.opportunity }}</a>{% else %}—{% endif %}</div>
</fieldset>
<button type="submit">Save</button>
</form>
</main></body></html>
"""


def hand_written_app(engine) -> Flask:
    """What a developer would write for this one page: two or three queries and a template."""
    model = engine.model
    lists = {
        name: [(v.code, v.label.en) for v in model.value_list(name).values if not v.retired]
        for name in ("functions", "departments", "sectors", "company_sizes", "lead_sources", "lead_categories",
                     "tags", "teams", "lost_reasons")
    }
    lead, user = engine.records.table("lead"), engine.records.table("user")
    linked_names = {"account": engine.records.table("account").c.name,
                    "opportunity": engine.records.table("opportunity").c.name}
    contact = engine.records.table("contact")
    app = Flask(__name__)
    app.jinja_loader = DictLoader({"lead_form.html": HAND_WRITTEN})

    @app.get("/lead/<int:record_id>")
    def edit(record_id: int) -> str:
        with engine.db.connect() as conn:
            r = conn.execute(sa.select(lead).where(lead.c.id == record_id, lead.c.deleted_at.is_(None))).mappings().one()
            users = conn.execute(
                sa.select(user.c.id, user.c.display_name).where(user.c.deleted_at.is_(None)).order_by(user.c.display_name)
            ).all()
            linked = {}
            for name, column in linked_names.items():
                if r[f"converted_{name}"]:
                    linked[name] = conn.execute(sa.select(column).where(column.table.c.id == r[f"converted_{name}"])).scalar()
            if r["converted_contact"]:
                first, last = conn.execute(
                    sa.select(contact.c.first_name, contact.c.last_name).where(contact.c.id == r["converted_contact"])
                ).one()
                linked["contact"] = f"{first or ''} {last}".strip()
        title = " ".join(p for p in (r["first_name"], r["last_name"]) if p) + (f" ({r['company']})" if r["company"] else "")
        return render_template("lead_form.html", r=r, title=title, lists=lists, users=users, linked=linked)

    return app


def main() -> None:
    import metamodel
    from ossature.demo import seed_demo
    from ui_renderer import create_app
    from ui_renderer.testing import PAGES_WITHOUT_LOGIN

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        app = create_app({"DATABASE_URL": url, "PACKS": [metamodel.BASE_PACK], **PAGES_WITHOUT_LOGIN})
        engine = app.extensions["ossature"]
        engine.migrate()
        seed_demo(engine, seed=0)
        ids = [row["id"] for row in engine.records.list("lead", engine.records.list_request("lead", {"tab": ["all"], "size": ["50"]})).rows]
        generated, baseline = app.test_client(), hand_written_app(engine).test_client()
        headers = {"Accept-Language": "en"}

        def serve(client) -> None:
            for i in range(REQUESTS):
                response = client.get(f"/lead/{ids[i % len(ids)]}", headers=headers)
                assert response.status_code == 200, response.status_code

        serve(generated)  # first use builds the cached form layout
        serve(baseline)
        baseline_s = engine_s = float("inf")
        for _ in range(RUNS):  # interleaved, so that a busy machine slows both sides alike
            baseline_s = min(baseline_s, best_of(1, lambda: baseline, serve))
            engine_s = min(engine_s, best_of(1, lambda: generated, serve))
        emit("form_page_lead", engine_s, baseline_s, target=1.5, requests=REQUESTS,
             engine_rps=round(REQUESTS / engine_s), baseline_rps=round(REQUESTS / baseline_s))
        engine.dispose()


if __name__ == "__main__":
    main()
