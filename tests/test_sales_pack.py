"""examples/packs/sales: the proof pack of relations, in YAML only, on top of the base pack.

Products and price lists (lines), quotes with lines walking draft -> sent -> accepted/refused,
a revision copied from a quote with its lines and orders and invoices copied from an accepted
quote (the built-in `copy` action, no plugin), the opportunity's panel of quotes, and the pack's
demo records loaded by `ossature seed-demo` (ossature/pack_demo.py)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from engine import SYSTEM_ACTOR, Actor, Engine, PermissionDenied, TransitionError
from engine.records.related import related_list
from metamodel import BASE_PACK, load_model
from metamodel.model import Model, Text
from ossature.main import cli
from ossature.pack_demo import DemoError, demo_files, seed_pack_demo

REPO = Path(__file__).resolve().parent.parent
SALES_PACK = REPO / "examples" / "packs" / "sales"
SALES = Actor(user_id=1, username="claire", roles=frozenset({"sales"}), lang="en")
"""Claire is the fixture's first user: sales see the quotes assigned to them."""
SUPPORT = Actor(user_id=1, username="claire", roles=frozenset({"support"}), lang="en")
LINE = ("product", "description", "quantity", "unit_price", "discount", "position")


@pytest.fixture(autouse=True)
def _in_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)


@pytest.fixture(scope="module")
def model() -> Model:
    return load_model([BASE_PACK, SALES_PACK])


# -- the definitions -----------------------------------------------------------------------------
def test_the_pack_validates_with_the_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OSSATURE_PACKS", str(SALES_PACK))

    result = CliRunner().invoke(cli, ["validate"])

    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok:") and "warning" not in result.output


def test_sales_layers_on_the_base_pack(model: Model) -> None:
    assert [(p.name, p.version) for p in model.packs] == [("base", "1.0.0"), ("sales", "1.0.0")]
    for name in ("product", "price_list", "quote", "sales_order", "invoice"):
        assert model.entity(name).label.en and model.entity(name).label.fr
    for owner, owned in (("price_list", "price_list_item"), ("quote", "quote_line"),
                         ("sales_order", "sales_order_line"), ("invoice", "invoice_line")):
        assert model.entity(owned).owned_by == owner


def test_quote_statuses_and_copy_actions(model: Model) -> None:
    workflow = model.workflow("quote")
    actions = {t.name: [(a.kind, a.params["entity"], a.params["link"]) for a in t.actions] for t in workflow.transitions}

    assert [s.code for s in workflow.statuses] == ["draft", "sent", "accepted", "refused"]
    assert workflow.initial.code == "draft"
    assert actions["revise"] == [("copy", None, "next_revision")]
    assert actions["create_order"] == [("copy", "sales_order", "sales_order")]
    assert actions["create_invoice"] == [("copy", "invoice", "invoice")]


def test_the_opportunity_shows_its_quotes_first_and_keeps_the_base_panels(model: Model) -> None:
    form = model.entity("opportunity").view("form")

    assert [p.relation for p in form.related] == ["quotes", "orders", "invoices", "event_opportunity",
                                                   "task_opportunity", "activity_report_opportunity"]
    assert model.relation("opportunity", "quotes").label == Text("Quotes", "Devis")
    assert form.sections[0].fields[:2] == ("name", "account")   # the base sections stay


def test_sales_layers_with_spanco_too() -> None:
    form = load_model([BASE_PACK, REPO / "examples" / "packs" / "spanco", SALES_PACK]).entity("opportunity").view("form")

    assert [s.title.en for s in form.sections][2] == "Order"       # spanco's section
    assert form.related[0].relation == "quotes"                     # sales' panels


def test_every_document_has_a_modeline() -> None:
    for path in sorted(SALES_PACK.rglob("*.yaml")):
        if path.parent.name != "demo":
            assert path.read_text(encoding="utf-8").startswith("# yaml-language-server: $schema="), path


# -- quotes run ----------------------------------------------------------------------------------
@pytest.fixture
def engine(make_engine, model) -> Engine:
    engine = make_engine(model)
    claire = engine.records.create("user", {"username": "claire", "display_name": "Claire"},
                                   SYSTEM_ACTOR)
    assert claire["id"] == SALES.user_id
    return engine


@pytest.fixture
def deal(engine) -> dict[str, Any]:
    """An opportunity of Claire's, with its account and contact."""
    account = engine.records.create("account", {"name": "Fromagerie Dubois", "assigned_to": SALES.user_id}, SYSTEM_ACTOR)
    contact = engine.records.create("contact", {"last_name": "Dubois", "account": account["id"], "assigned_to": SALES.user_id}, SYSTEM_ACTOR)
    return engine.records.create("opportunity", {"name": "Cellar", "account": account["id"], "contact": contact["id"],
                                                 "assigned_to": SALES.user_id}, SYSTEM_ACTOR)


@pytest.fixture
def products(engine) -> dict[str, int]:
    rows = [{"code": "AUDIT", "name": "Audit", "price": "1200", "unit": "day"},
            {"code": "BOILER", "name": "Boiler", "price": "4800.50"}]
    return dict(zip(("AUDIT", "BOILER"), engine.records.create_many("product", rows, SYSTEM_ACTOR)))


def new_quote(engine: Engine, deal: dict[str, Any], products: dict[str, int]) -> dict[str, Any]:
    return engine.records.create("quote", {
        "number": "Q-1", "title": "Cellar heating", "opportunity": deal["id"],
        "lines": [{"product": products["AUDIT"], "quantity": "2"},
                  {"product": products["BOILER"], "quantity": "1", "discount": "7.5", "description": "Installed"}],
    }, SALES)


def test_a_quote_takes_its_account_contact_owner_and_prices_from_what_it_names(engine, deal, products) -> None:
    quote = new_quote(engine, deal, products)

    assert quote["status"] == "draft" and quote["revision"] == 1
    assert (quote["account"], quote["contact"], quote["assigned_to"]) == (deal["account"], deal["contact"], SALES.user_id)
    assert [(line["unit_price"], line["discount"]) for line in quote["lines"]] == [
        (Decimal("1200.00"), Decimal("0.00")), (Decimal("4800.50"), Decimal("7.50"))]


@pytest.mark.parametrize("discount, accepted", [("0", True), ("100", True), ("-0.01", False), ("100.01", False)])
def test_a_discount_is_a_percentage(engine, deal, products, discount: str, accepted: bool) -> None:
    quote = new_quote(engine, deal, products)
    lines = [{**line, "discount": discount} for line in quote["lines"]]

    if accepted:
        assert engine.records.update("quote", quote["id"], {"lines": lines}, SALES)["lines"][0]["discount"] == Decimal(discount)
    else:
        with pytest.raises(Exception) as refused:
            engine.records.update("quote", quote["id"], {"lines": lines}, SALES)
        assert "lines.0.discount" in refused.value.errors


def test_a_quote_is_sent_then_accepted_or_refused(engine, deal, products) -> None:
    first, second = new_quote(engine, deal, products), new_quote(engine, deal, products)

    assert engine.records.transition("quote", first["id"], "send", SALES)["status"] == "sent"
    assert engine.records.transition("quote", first["id"], "accept", SALES)["status"] == "accepted"
    engine.records.transition("quote", second["id"], "send", SALES)
    assert engine.records.transition("quote", second["id"], "refuse", SALES)["status"] == "refused"
    with pytest.raises(TransitionError) as refused:
        engine.records.transition("quote", second["id"], "accept", SALES)
    assert refused.value.reason == "not_from"


def test_an_expired_quote_cannot_be_sent(engine, deal, products) -> None:
    quote = new_quote(engine, deal, products)
    engine.records.update("quote", quote["id"], {"valid_until": "2020-01-01"}, SYSTEM_ACTOR)

    with pytest.raises(TransitionError) as refused:
        engine.records.transition("quote", quote["id"], "send", SALES)

    assert refused.value.message("fr") == "Le devis n'est plus valable"


def test_revise_copies_the_quote_and_its_lines_into_the_next_revision(engine, deal, products) -> None:
    quote = new_quote(engine, deal, products)
    engine.records.transition("quote", quote["id"], "send", SALES)

    revised = engine.records.transition("quote", quote["id"], "revise", SALES)

    assert revised["status"] == "refused"
    (panel_row,) = related_list(engine.records, "quote", quote["id"], "revisions", None, SALES).rows
    revision = engine.records.get("quote", panel_row["id"])
    assert (revision["number"], revision["revision"], revision["previous"], revision["status"]) == ("Q-1", 2, quote["id"], "draft")
    assert (revision["title"], revision["opportunity"], revision["account"]) == ("Cellar heating", deal["id"], deal["account"])
    assert [[line[k] for k in LINE] for line in revision["lines"]] == [[line[k] for k in LINE] for line in quote["lines"]]
    assert not {line["id"] for line in revision["lines"]} & {line["id"] for line in quote["lines"]}
    assert revised["next_revision"] == revision["id"] and revision["next_revision"] is None
    assert engine.records.transition("quote", revision["id"], "send", SALES)["status"] == "sent"   # and walks on
    with pytest.raises(TransitionError) as refused:
        engine.records.transition("quote", quote["id"], "revise", SALES)     # once: refused -> refused again
    assert refused.value.message("en") == "This quote already has a later revision"


def test_an_accepted_quote_makes_its_order_and_its_invoice_once(engine, deal, products) -> None:
    quote = new_quote(engine, deal, products)
    for name in ("send", "accept"):
        engine.records.transition("quote", quote["id"], name, SALES)

    ordered = engine.records.transition("quote", quote["id"], "create_order", SALES)
    invoiced = engine.records.transition("quote", quote["id"], "create_invoice", SALES)

    order = engine.records.get("sales_order", ordered["sales_order"])
    invoice = engine.records.get("invoice", invoiced["invoice"])
    assert (order["number"], order["quote"], order["status"], order["account"]) == ("SO-Q-1", quote["id"], "confirmed", deal["account"])
    assert (invoice["number"], invoice["quote"], invoice["status"]) == ("INV-Q-1", quote["id"], "draft")
    for made in (order, invoice):
        assert [[line[k] for k in LINE] for line in made["lines"]] == [[line[k] for k in LINE] for line in quote["lines"]]
        assert made["assigned_to"] == SALES.user_id
    for name in ("create_order", "create_invoice"):
        with pytest.raises(TransitionError) as refused:
            engine.records.transition("quote", quote["id"], name, SALES)
        assert refused.value.reason == "guard"
    assert invoiced["status"] == "accepted"


def test_support_may_not_create_orders_from_quotes(engine, deal, products) -> None:
    quote = new_quote(engine, deal, products)

    with pytest.raises(PermissionDenied):
        engine.records.transition("quote", quote["id"], "send", SUPPORT)


def test_the_opportunity_panel_lists_its_quotes(engine, deal, products) -> None:
    first = new_quote(engine, deal, products)
    engine.records.transition("quote", first["id"], "send", SALES)
    engine.records.transition("quote", first["id"], "revise", SALES)

    panel = related_list(engine.records, "opportunity", deal["id"], "quotes", None, SALES)

    assert [(row["number"], row["revision"], row["status"]) for row in panel.rows] == [("Q-1", 2, "draft"), ("Q-1", 1, "refused")]


# -- demo data -----------------------------------------------------------------------------------
def test_the_demo_files_are_found_in_pack_order(model: Model) -> None:
    assert [p.name for p in demo_files(model)] == ["10-products.yaml", "20-price_lists.yaml", "30-quotes.yaml"]


def test_the_demo_loads_after_the_base_demo_and_only_once(make_engine, model) -> None:
    from ossature.demo import seed_demo

    engine = make_engine(model)
    seed_demo(engine)

    counts = seed_pack_demo(engine)

    assert counts == {"product": 9, "price_list": 2, "quote": 6, "sales_order": 1, "invoice": 1}
    with engine.records.reading(SYSTEM_ACTOR) as tx:
        (accepted,) = tx.find("quote", number="Q-2026-001")
        (revision,) = tx.find("quote", number="Q-2026-002", revision=2)
        (standard,) = tx.find("price_list", name="Standard")
    accepted = engine.records.get("quote", accepted["id"])
    order = engine.records.get("sales_order", accepted["sales_order"])
    assert accepted["status"] == "accepted" and len(order["lines"]) == len(accepted["lines"]) == 4
    assert revision["status"] == "draft" and revision["previous"] is not None
    assert [item["price"] for item in engine.records.get("price_list", standard["id"])["items"]][:2] == [
        Decimal("1200.00"), Decimal("650.00")]   # the products' prices: the items' default
    assert seed_pack_demo(engine) == {}     # the entities hold records now: nothing again


@pytest.mark.parametrize("records, line, where, message", [
    ("  - name: P\n    items:\n      - {product: NOPE}\n", 5, "records.0.items.0.product",
     "no live 'product' record with code 'NOPE': name exactly one"),
    ("  - name: P\n    items:\n      - {prodct: 1}\n", 5, "records.0.items.0.prodct",
     "'prodct' is not a characteristic of entity 'price_list_item' (did you mean 'product'?)"),
    ("  - {name: P, currency: eur, valid_from: {pick: 0}}\n  - {name: Q, items: [{product: {pick: 2}}]}\n", 4,
     "records.1.items.0.product", "no live 'product' record with record number 2 (there are 0): name exactly one"),
    ("  - {name: P, curency: eur}\n", 3, "records.0.curency",
     "'curency' is not a characteristic of entity 'price_list' (did you mean 'currency'?)"),
])
def test_a_bad_demo_record_names_the_file_line_and_field(
    engine, tmp_path: Path, records: str, line: int, where: str, message: str,
) -> None:
    demo = tmp_path / "q.yaml"
    demo.write_text("entity: price_list\nrecords:\n" + records, encoding="utf-8")

    with pytest.raises(DemoError) as refused:
        seed_pack_demo(engine, files=[demo])

    assert refused.value.problems[-1] == f"{demo}:{line}: {where}: {message}"
    assert engine.records.count("price_list") == 0


def test_a_demo_file_of_an_unknown_or_owned_entity_is_refused(engine, tmp_path: Path) -> None:
    demo = tmp_path / "q.yaml"
    for entity, message in (("quotes", "unknown entity 'quotes' (did you mean 'quote'?)"),
                            ("quote_line", "'quote_line' is owned by 'quote': give its records as the lines of quote records")):
        demo.write_text(f"entity: {entity}\nrecords: []\n", encoding="utf-8")

        with pytest.raises(DemoError) as refused:
            seed_pack_demo(engine, files=[demo])

        assert refused.value.problems == [f"{demo}:1: entity: {message}"]


# -- the command line ----------------------------------------------------------------------------
@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, database_url: str):
    monkeypatch.setenv("OSSATURE_PACKS", str(SALES_PACK))
    monkeypatch.setenv("OSSATURE_DATABASE_URL", database_url)
    runner = CliRunner()
    return lambda *args: runner.invoke(cli, list(args), catch_exceptions=False)


def test_seed_demo_loads_the_pack_demo_after_the_base_demo(make_engine, model, run) -> None:
    make_engine(model)

    result = run("seed-demo")

    assert result.exit_code == 0, result.output
    assert "  quote: 6\n" in result.stdout and "  sales_order: 1\n" in result.stdout and "  opportunity: " in result.stdout
    assert run("seed-demo").stdout == "demo data already present: nothing to do\n"


def test_copy_command_copies_a_record_with_its_lines(engine, deal, products, run) -> None:
    quote = new_quote(engine, deal, products)

    result = run("copy", "quote", str(quote["id"]), "--set", "number=Q-9", "--role", "sales", "--user", "claire")

    assert result.exit_code == 0, result.output
    copy_id = int(result.stdout.rsplit(" ", 1)[1])
    assert result.stdout == f"quote {quote['id']} copied: quote {copy_id}\n"
    copy = engine.records.get("quote", copy_id)
    assert (copy["number"], copy["revision"], len(copy["lines"])) == ("Q-9", 1, 2)


def test_copy_command_says_why_a_copy_is_refused(engine, deal, products, run) -> None:
    quote = new_quote(engine, deal, products)

    result = run("copy", "quote", str(quote["id"]))   # the natural key's number is not copied

    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: quote {quote['id']}: the copy is refused\n  number: ")


# -- the pages -----------------------------------------------------------------------------------
def test_the_opportunity_page_shows_its_quotes_and_the_quote_page_its_lines(database_url: str) -> None:
    from ui_renderer import create_app
    from ui_renderer.testing import PAGES_WITHOUT_LOGIN

    app = create_app({"DATABASE_URL": database_url, "PACKS": [BASE_PACK, SALES_PACK], **PAGES_WITHOUT_LOGIN})
    engine: Engine = app.extensions["ossature"]
    try:
        engine.migrate()
        product = engine.records.create("product", {"code": "AUDIT", "name": "Energy audit", "price": "1200"}, SYSTEM_ACTOR)
        deal = engine.records.create("opportunity", {"name": "Cellar"}, SYSTEM_ACTOR)
        quote = engine.records.create("quote", {"number": "Q-77", "title": "Cellar heating", "opportunity": deal["id"],
                                                "lines": [{"product": product["id"], "quantity": "3"}]}, SYSTEM_ACTOR)
        client = app.test_client()

        opportunity_page = client.get(f"/opportunity/{deal['id']}").get_data(as_text=True)
        quote_page = client.get(f"/quote/{quote['id']}").get_data(as_text=True)
    finally:
        engine.dispose()

    panel = opportunity_page.split("Quotes", 1)[1]
    assert "Q-77" in panel and f"/quote/{quote['id']}" in panel
    assert f"/quote/new?prefill.opportunity={deal['id']}" in opportunity_page
    assert "Energy audit (AUDIT)" in quote_page and "/quote/" in quote_page


def test_the_quote_page_makes_an_invoice_names_it_and_refuses_a_second_order(database_url: str) -> None:
    """Through the pages: the transition's copy names the record it made ("created"); a refused
    transition shows the quote's form again, its lines as rows, with why."""
    from ui_renderer import create_app
    from ui_renderer.testing import PAGES_WITHOUT_LOGIN, FormClient

    app = create_app({"DATABASE_URL": database_url, "PACKS": [BASE_PACK, SALES_PACK], **PAGES_WITHOUT_LOGIN})
    app.test_client_class = FormClient
    engine: Engine = app.extensions["ossature"]
    try:
        engine.migrate()
        product = engine.records.create("product", {"code": "AUDIT", "name": "Energy audit", "price": "1200"},
                                        SYSTEM_ACTOR)
        account = engine.records.create("account", {"name": "Fromagerie Dubois"}, SYSTEM_ACTOR)
        deal = engine.records.create("opportunity", {"name": "Cellar", "account": account["id"]}, SYSTEM_ACTOR)
        quote = engine.records.create("quote", {"number": "Q-9", "title": "Cellar heating", "opportunity": deal["id"],
                                                "lines": [{"product": product["id"], "quantity": "3"}]}, SYSTEM_ACTOR)
        for name in ("send", "accept", "create_order"):
            quote = engine.records.transition("quote", quote["id"], name, SYSTEM_ACTOR)
        client = app.test_client()

        made = client.post(f"/quote/{quote['id']}/transition/create_invoice", data={"_version": str(quote["version"])})
        assert made.status_code == 303 and "created=invoice" in made.headers["Location"]
        invoice = engine.records.get("quote", quote["id"])["invoice"]
        page = client.get(made.headers["Location"]).get_data(as_text=True)
        assert f'href="/invoice/{invoice}' in page

        current = engine.records.get("quote", quote["id"])
        again = client.post(f"/quote/{quote['id']}/transition/create_order", data={"_version": str(current["version"])})
        text = again.get_data(as_text=True)
        assert again.status_code == 409
        assert "Energy audit (AUDIT)" in text and 'name="lines"' in text
    finally:
        engine.dispose()
