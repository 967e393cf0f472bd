"""The registries: what every plugin registers, by name, checked when the engine starts."""

from __future__ import annotations

import io

import pytest

import ossature_test_plugin
from plugins.api import ExportFormat, FieldFormat, ImportFormat, hookimpl
from plugins.lead_conversion import convert_lead
from plugins.host.manager import PluginError, plugin_manager
from plugins.host.registry import actions, export_formats, field_formats, import_formats

TEXTS = {"en": "Words", "fr": "Mots"}


def manager_with(hook_name: str, returned: object):
    """A plugin manager with the installed plugins plus one whose `hook_name` returns `returned`."""
    plugin = type("Extra", (), {hook_name: hookimpl(lambda self: returned)})()
    return plugin_manager([plugin])


def test_actions_gather_the_built_in_and_the_third_party_ones(pm):
    registered = actions(pm)
    assert registered == {"convert_lead": convert_lead, "stamp_note": ossature_test_plugin.stamp_note}


def test_field_formats_gather_what_is_registered(pm):
    siret = field_formats(pm)["siret"]
    assert siret.base_types == {"string"}
    assert siret.check("73282932000074") and not siret.check("73282932000075")
    assert siret.describe("fr") == "Numéro SIRET invalide (14 chiffres)."


def test_import_and_export_formats_gather_what_is_registered(pm):
    exporter, importer = export_formats(pm)["jsonl"], import_formats(pm)["jsonl"]
    assert (importer.extension, importer.media_type, importer.label["fr"]) == ("jsonl", "application/jsonl", "Lignes JSON")
    stream = io.BytesIO()
    exporter.write(stream, ["name", "city"], iter([{"name": "Acme", "city": "Lyon", "extra": 1}, {"name": "Bolt"}]))
    stream.seek(0)
    assert list(importer.read(stream)) == [{"name": "Acme", "city": "Lyon"}, {"name": "Bolt", "city": None}]


def test_a_plugin_returning_none_registers_nothing(pm):
    assert set(actions(manager_with("ossature_actions", None))) == set(actions(pm))


def test_a_name_registered_twice_is_refused_naming_both_plugins():
    with pytest.raises(PluginError) as caught:
        actions(manager_with("ossature_actions", {"convert_lead": lambda ctx: None}))
    message = str(caught.value)
    assert "action 'convert_lead' is registered by two plugins" in message
    assert "lead_conversion (ossature " in message and "Extra" in message


def test_a_field_format_registered_twice_is_refused():
    siret = FieldFormat("siret", frozenset({"string"}), str.isdigit, TEXTS)
    with pytest.raises(PluginError, match="field format 'siret' is registered by two plugins.*test_plugin"):
        field_formats(manager_with("ossature_field_formats", {"siret": siret}))


def test_export_formats_refuse_duplicates_too():
    jsonl = ExportFormat("jsonl", TEXTS, "jsonl", "application/jsonl", lambda stream, columns, rows: None)
    with pytest.raises(PluginError, match="export format 'jsonl' is registered by two plugins"):
        export_formats(manager_with("ossature_export_formats", {"jsonl": jsonl}))


def test_one_name_may_be_an_import_and_an_export_format(pm):
    assert set(import_formats(pm)) & set(export_formats(pm)) == {"jsonl", "vcard"}


@pytest.mark.parametrize(
    "name, accepted",
    [("a", True), ("a" * 40, True), ("a" * 41, False), ("stamp_2", True), ("Stamp", False), ("2stamp", False),
     ("stamp-note", False), ("", False)],
)
def test_names_are_definition_identifiers(name, accepted):
    registering = manager_with("ossature_actions", {name: lambda ctx: None})
    if accepted:
        assert name in actions(registering)
    else:
        with pytest.raises(PluginError, match="lowercase letters, digits and _"):
            actions(registering)


@pytest.mark.parametrize(
    "hook_name, returned, problem",
    [
        ("ossature_actions", ["convert"], "must return a dict of actions by name, not list"),
        ("ossature_actions", {"shout": "not callable"}, "action 'shout' must be a function"),
        ("ossature_field_formats", {"iban": "not a format"}, "must be a plugins.FieldFormat, not str"),
        ("ossature_field_formats", {"iban": FieldFormat("bic", frozenset({"string"}), bool, TEXTS)},
         "registered under another name than its own ('bic')"),
        ("ossature_field_formats", {"iban": FieldFormat("iban", frozenset({"strin"}), bool, TEXTS)},
         "needs base types among"),
        ("ossature_field_formats", {"iban": FieldFormat("iban", frozenset(), bool, TEXTS)}, "needs base types among"),
        ("ossature_field_formats", {"iban": FieldFormat("iban", frozenset({"status"}), bool, TEXTS)},
         "needs base types among"),
        ("ossature_field_formats", {"iban": FieldFormat("iban", frozenset({"string"}), None, TEXTS)},
         "needs a check function"),
        ("ossature_field_formats", {"iban": FieldFormat("iban", frozenset({"string"}), bool, {"en": "Bad IBAN"})},
         "needs a message in every language (en, fr)"),
        ("ossature_import_formats", {"csv": ImportFormat("csv", TEXTS, ".csv", "text/csv", iter)},
         "needs a file extension without the dot"),
        ("ossature_import_formats", {"csv": ImportFormat("csv", TEXTS, "csv", "text/csv", None)},
         "needs a read function"),
        ("ossature_import_formats", {"csv": ExportFormat("csv", TEXTS, "csv", "text/csv", print)},
         "must be a plugins.ImportFormat, not ExportFormat"),
        ("ossature_export_formats", {"csv": ExportFormat("csv", {"en": "CSV", "fr": ""}, "csv", "text/csv", print)},
         "needs a label in every language"),
    ],
)
def test_what_a_plugin_registers_is_checked(hook_name, returned, problem):
    collect = {
        "ossature_actions": actions,
        "ossature_field_formats": field_formats,
        "ossature_import_formats": import_formats,
        "ossature_export_formats": export_formats,
    }[hook_name]
    with pytest.raises(PluginError) as caught:
        collect(manager_with(hook_name, returned))
    assert problem in str(caught.value)
    assert str(caught.value).startswith("plugin Extra: ")
