"""What a mass update form sends: the selection and the new values.

The list page posts its check boxes (`id` = "id:version", the version seen on the page,
so the engine can refuse records changed since), the "select all on this page" box
(`select_page`, with the page's `page_ids`), or `all_matching` with the list's own
arguments (view, q, sort, tab, f_*, ...): the filter itself travels, not the ids.
The chosen fields are `set` (repeated) and their values `value_<field>`.
Everything travels again as hidden inputs from the preview to the apply step: no
JavaScript and no server-side session are needed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from werkzeug.datastructures import MultiDict

from engine.records.queries import ListRequest

from ui_renderer.core.i18n import register_words

from .layout import InputSpec, ViewLayout

LIST_KEYS = frozenset({"view", "q", "sort", "tab", "group", "page", "size"})

LINKS_MODES = ("add", "remove", "replace")
"""What a mass update does to the members of a `links` characteristic (`mode_<field>`): adds the
chosen records to each record's, removes them, or makes them the whole set. A form posting no
mode replaces, as the engine's plain list of ids does; the page offers "add" first."""

register_words({
    "en": {"links_mode": "Change", "links_mode_add": "Add these", "links_mode_remove": "Remove these",
           "links_mode_replace": "Replace all with these"},
    "fr": {"links_mode": "Modification", "links_mode_add": "Ajouter ceux-ci", "links_mode_remove": "Retirer ceux-ci",
           "links_mode_replace": "Remplacer tout par ceux-ci"},
})


@dataclass(frozen=True)
class Selection:
    request: ListRequest
    """The list the selection was made on (the filter itself when `all_matching`)."""
    versions: Mapping[int, int | None]
    """Chosen record ids -> the version the list page showed (None if not sent)."""
    all_matching: bool

    @property
    def target(self) -> list[int] | ListRequest:
        """What `records.mass_update` takes: ids, or the ListRequest for "all matching"."""
        return self.request if self.all_matching else sorted(self.versions)

    @property
    def expected_versions(self) -> dict[int, int] | None:
        if self.all_matching:
            return None
        known = {i: v for i, v in self.versions.items() if v is not None}
        return known or None

    @property
    def empty(self) -> bool:
        return not self.all_matching and not self.versions

    def hidden(self) -> list[tuple[str, str]]:
        """The selection as hidden inputs for the next step."""
        pairs = [(key, value) for key, values in self.request.to_args().items() for value in values]
        if self.all_matching:
            return pairs + [("all_matching", "1")]
        return pairs + [("id", f"{i}:{v}" if v is not None else str(i)) for i, v in sorted(self.versions.items())]


def list_args(form: MultiDict) -> dict[str, list[str]]:
    """The list page's own arguments among the posted fields."""
    return {key: form.getlist(key) for key in form if key in LIST_KEYS or key.startswith("f_")}


def read_selection(form: MultiDict, request: ListRequest) -> Selection:
    """`request` is the list's state parsed from `list_args(form)` (which may raise QueryError)."""
    all_matching = form.get("all_matching") == "1"
    keys: list[str] = form.getlist("id")
    if form.get("select_page") == "1":
        keys += [key for key in form.get("page_ids", "").split(",") if key]
    versions: dict[int, int | None] = {}
    for key in keys:
        record_id, version = _id_and_version(key)
        if record_id is not None and (record_id not in versions or versions[record_id] is None):
            versions[record_id] = version
    return Selection(request, versions, all_matching)


def _id_and_version(key: str) -> tuple[int | None, int | None]:
    record, _, version = key.strip().partition(":")
    if not record.isdigit():
        return None, None
    return int(record), int(version) if version.isdigit() else None


@dataclass(frozen=True)
class EnteredValues:
    chosen: tuple[str, ...]
    """The fields to change, in the view's order."""
    raw: Mapping[str, list[str]]
    """What was typed or picked, per field (to fill the form again)."""
    modes: Mapping[str, str] = field(default_factory=dict)
    """Per `links` field, one of LINKS_MODES (absent: replace)."""

    def values(self, specs: Sequence[InputSpec]) -> dict[str, Any]:
        """The values for the engine ("" clears a field; multi_choice gets its list of codes, links
        its list of record ids: none empties it)."""
        by_name = {spec.name: spec for spec in specs}
        values: dict[str, Any] = {}
        for name in self.chosen:
            entered = self.raw.get(name, [])
            if by_name[name].type == "multi_choice":
                values[name] = [code for code in entered if code]
            elif by_name[name].type == "links":
                mode = self.modes.get(name, "replace")
                values[name] = _record_ids(entered) if mode == "replace" else {mode: _record_ids(entered)}
            else:
                values[name] = entered[0] if entered else ""
        return values


def _record_ids(entered: Sequence[str]) -> list[int | str]:
    """A links' new members: the picked ids, or numbers typed apart by commas or spaces (`#12`
    too). Anything else is handed on as typed, for the engine to refuse by the field's name."""
    ids: list[int | str] = []
    for piece in entered:
        for token in piece.replace(",", " ").split():
            number = token.lstrip("#")
            ids.append(int(number) if number.isdigit() else token)
    return ids


def read_values(form: MultiDict, layout: ViewLayout) -> EnteredValues:
    """Only the view's `mass_update` fields are read: anything else posted is ignored."""
    wanted = set(form.getlist("set"))
    chosen = tuple(spec.name for spec in layout.mass_update if spec.name in wanted)
    raw = {spec.name: form.getlist(f"value_{spec.name}") for spec in layout.mass_update}
    modes = {spec.name: form.get(f"mode_{spec.name}", "") for spec in layout.mass_update if spec.type == "links"}
    return EnteredValues(chosen, raw, {name: mode for name, mode in modes.items() if mode in LINKS_MODES})
