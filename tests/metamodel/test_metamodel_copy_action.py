"""The workflow `copy` action in the Model, and every load error about it with file, line and words:
an unknown or owned target entity, `values`/`except`/`link` naming what does not exist or does not
fit, and a copy that would leave a mandatory characteristic of the new record (or of its lines) empty."""

from __future__ import annotations

from pathlib import Path

import pytest

from metamodel.checking.copying import Slot, copy_plan, entity_slots, fits

from mm_relations import QUOTE_LINE as BASE_QUOTE_LINE, load, messages

QUOTE = """\
entity: quote
label: {en: Quote, fr: Devis}
plural: {en: Quotes, fr: Devis}
workflow: q
characteristics:
  number: {type: string, label: {en: Number, fr: Numéro}, unique: true}
  title: {type: string, label: {en: Title, fr: Titre}, mandatory: true}
  revision: {type: integer, label: {en: Revision, fr: Révision}, default: 1}
  previous: {type: link, entity: quote, label: {en: Previous, fr: Précédent}}
  purchase: {type: link, entity: purchase, label: {en: Order, fr: Commande}}
  sent_on: {type: date, label: {en: Sent on, fr: Envoyé le}, readonly: true}
  lines: {type: lines, entity: quote_line, label: {en: Lines, fr: Lignes}}
"""
QUOTE_LINE = BASE_QUOTE_LINE + "  note: {type: text, label: {en: Note, fr: Note}}\n"
ORDER = """\
entity: purchase
label: {en: Order, fr: Commande}
plural: {en: Orders, fr: Commandes}
characteristics:
  title: {type: text, label: {en: Title, fr: Titre}, mandatory: true}
  quote: {type: link, entity: quote, label: {en: Quote, fr: Devis}}
  revision: {type: decimal, label: {en: Revision, fr: Révision}}
  items: {type: lines, entity: purchase_line, label: {en: Items, fr: Articles}}
"""
ORDER_LINE = """\
entity: purchase_line
label: {en: Order line, fr: Ligne de commande}
plural: {en: Order lines, fr: Lignes de commande}
owned_by: purchase
characteristics:
  product: {type: string, label: {en: Product, fr: Produit}, mandatory: true}
  quantity: {type: decimal, label: {en: Quantity, fr: Quantité}}
  note: {type: integer, label: {en: Note, fr: Note}}
"""
FLOW = """\
workflow: q
label: {en: Q, fr: Q}
statuses:
  - {code: draft, label: {en: Draft, fr: Brouillon}}
  - {code: sent, label: {en: Sent, fr: Envoyé}}
transitions:
  - name: go
    label: {en: Go, fr: Aller}
    from: [draft]
    to: sent
    actions:
      - copy: %s
"""


def files(action: str, **extra: str) -> dict[str, str]:
    return {"entities/quote.yaml": QUOTE, "entities/quote_line.yaml": QUOTE_LINE, "entities/purchase.yaml": ORDER,
            "entities/purchase_line.yaml": ORDER_LINE, "workflows/q.yaml": FLOW % action, **extra}


def test_copy_action_in_the_model(tmp_path: Path) -> None:
    model = load(tmp_path, files('{entity: purchase, values: {quote: "id"}, except: [revision], link: purchase}'))
    (action,) = model.workflow("q").transitions[0].actions

    assert action.kind == "copy"
    assert action.params["entity"] == "purchase"
    assert dict(action.params["values"]) == {"quote": "id"}
    assert action.params["except"] == ("revision",)
    assert action.params["link"] == "purchase"


def test_copy_into_the_same_entity_by_default(tmp_path: Path) -> None:
    model = load(tmp_path, files('{values: {revision: "revision + 1", previous: "id"}}'))
    (action,) = model.workflow("q").transitions[0].actions

    assert action.params["entity"] is None
    assert dict(action.params["values"]) == {"revision": "revision + 1", "previous": "id"}


def test_the_plan_copies_same_names_of_fitting_types_and_pairs_the_only_lines(tmp_path: Path) -> None:
    model = load(tmp_path, files('{entity: purchase}'))
    owned = lambda name: entity_slots(model.entity(name))  # noqa: E731

    itself = copy_plan(entity_slots(model.entity("quote")), entity_slots(model.entity("quote")), (), owned)
    into_order = copy_plan(entity_slots(model.entity("quote")), entity_slots(model.entity("purchase")), (), owned)

    # unique number, read-only sent_on, status and system columns are not copied
    assert itself.fields == ("title", "revision", "previous", "purchase")
    assert [(p.source, p.target, p.fields) for p in itself.lines] == [("lines", "lines", ("product", "quantity", "note"))]
    # string -> text and integer -> decimal widen; text -> integer does not fit
    assert into_order.fields == ("title", "revision")
    assert [(p.source, p.target, p.fields) for p in into_order.lines] == [("lines", "items", ("product", "quantity"))]


@pytest.mark.parametrize("source, target, expected", [
    (Slot("a", "integer"), Slot("a", "decimal"), True),
    (Slot("a", "decimal"), Slot("a", "integer"), False),
    (Slot("a", "string"), Slot("a", "text"), True),
    (Slot("a", "text"), Slot("a", "string"), False),
    (Slot("a", "link", "account"), Slot("a", "link", "account"), True),
    (Slot("a", "link", "account"), Slot("a", "link", "contact"), False),
    (Slot("a", "choice", list="x"), Slot("a", "choice", list="y"), False),
    (Slot("a", "choice", list="x"), Slot("a", "choice", list="x"), True),
])
def test_fits(source: Slot, target: Slot, expected: bool) -> None:
    assert fits(source, target) is expected


def test_except_leaves_a_lines_characteristic_out(tmp_path: Path) -> None:
    model = load(tmp_path, files('{entity: purchase, except: [items]}'))
    owned = lambda name: entity_slots(model.entity(name))  # noqa: E731

    plan = copy_plan(entity_slots(model.entity("quote")), entity_slots(model.entity("purchase")), ("items",), owned)

    assert plan.lines == ()


ERRORS = [
    ('{entity: purchse}', "copy.entity: unknown entity 'purchse' (did you mean 'purchase'?)"),
    ('{entity: quote_line}', "copy.entity: 'quote_line' is owned by 'quote'"),
    ('{entity: purchase, values: {titel: "title"}}',
     "copy.values.titel: 'titel' is not a characteristic of entity 'purchase' (did you mean 'title'?)"),
    ('{entity: purchase, values: {status: "\'x\'"}}', "copy.values.status: 'status' cannot be set by a copy action"),
    ('{entity: purchase, values: {id: "1"}}', "copy.values.id: 'id' cannot be set by a copy action"),
    ('{entity: purchase, values: {items: "1"}}', "copy.values.items: 'items' holds several records: a copy action cannot set it"),
    ('{entity: purchase, values: {quote: "titel"}}', "copy.values.quote: unknown name 'titel'"),
    ('{entity: purchase, values: {revision: "title"}}', "copy.values.revision:"),
    ('{values: {sent_on: "today()"}}',
     "copy.values.sent_on: 'sent_on' of entity 'quote' is read-only: the copy creates the record with the rights"),
    ('{entity: purchase, except: [titel]}', "copy.except.0: 'titel' is not a characteristic of entity 'purchase'"),
    ('{entity: purchase, except: [quote, quote]}', "copy.except.1: 'quote' is listed twice"),
    ('{entity: purchase, link: purchse}', "copy.link: 'purchse' is not a characteristic of entity 'quote' (did you mean 'purchase'?)"),
    ('{entity: purchase, link: previous}', "copy.link: 'previous' of entity 'quote' must be a link to entity 'purchase'"),
    ('{link: purchase}', "copy.link: 'purchase' of entity 'quote' must be a link to entity 'quote'"),
    ('{entity: purchase, except: [title]}',
     "copy: copying a quote record into entity 'purchase' leaves 'title' empty, and it is mandatory"),
]


@pytest.mark.parametrize("action, message", ERRORS)
def test_copy_errors_name_the_file_line_and_what(tmp_path: Path, action: str, message: str) -> None:
    found = messages(tmp_path, files(action))

    assert len(found) == 1, found
    assert found[0].startswith("workflows/q.yaml:12: transitions.0.actions.0." + message.split(":", 1)[0]), found
    assert message.split(": ", 1)[1] in found[0] if ": " in message else True


def test_a_mandatory_line_characteristic_left_empty_is_reported(tmp_path: Path) -> None:
    line = ORDER_LINE.replace("  product: {type: string,", "  article: {type: string,")

    found = messages(tmp_path, files('{entity: purchase}', **{"entities/purchase_line.yaml": line}))

    assert found == ["workflows/q.yaml:12: transitions.0.actions.0.copy: copying a quote record into entity 'purchase' "
                     "leaves 'items.article' empty, and it is mandatory: give it in `values`, a default, or a "
                     "characteristic of the same name and type to 'quote'"]


def test_copy_is_not_a_plugin_call(tmp_path: Path) -> None:
    found = messages(tmp_path, files('{}').__or__({"workflows/q.yaml": (FLOW % "{}").replace("- copy: {}", "- call: copy")}))

    assert found == ["workflows/q.yaml:12: transitions.0.actions.0.call: 'copy' is the built-in copy action: "
                     "write `copy: {...}`, not a call"]


def test_copy_with_another_action_kind_is_refused(tmp_path: Path) -> None:
    flow = (FLOW % "{}").replace("      - copy: {}", "      - {copy: {}, set: {title: \"'x'\"}}")

    found = messages(tmp_path, {**files("{}"), "workflows/q.yaml": flow})

    assert found == ["workflows/q.yaml:12: transitions.0.actions.0: an action has exactly one of set, create, copy "
                     "or call (found set, copy)"]


def test_a_workflow_no_entity_uses_still_checks_the_copy_target(tmp_path: Path) -> None:
    unused = (FLOW % '{entity: purchase, values: {titel: "\'x\'"}}').replace("workflow: q", "workflow: unused")

    found = messages(tmp_path, {**files("{}"), "workflows/unused.yaml": unused})

    assert found == ["workflows/unused.yaml:12: transitions.0.actions.0.copy.values.titel: 'titel' is not a "
                     "characteristic of entity 'purchase' (did you mean 'title'?)"]
