"""The editors of `links` and `lines` characteristics on the record form.

A `links` characteristic is a multi-record picker: its members are chips (a checked checkbox
each, named after the characteristic, so unticking one removes it without JavaScript), and a
search input adds one (the lookup endpoint suggests records as the user types; without
JavaScript, the words typed are resolved as a link input's are, by "Add" or on save).

A `lines` characteristic is a table whose columns are the owned entity's form columns. Each
row posts under a row key of its own (`meals-<row>-dish`), and the rows' order is the order
of the repeated `meals=<row>` inputs, so moving or removing a row in the page (JavaScript,
no reload) needs no renumbering. A kept line posts its id (`meals-<row>-id`). Without
JavaScript, "Add a line", the arrows and "Remove" are submit buttons: the server applies them
to the posted rows and shows the form again, keeping everything typed.

Each editor posts an empty `<name>=` first: present, it says the editor was on the page, so an
editor left with no member or no row means "none", not "not posted".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Mapping, Sequence

from markupsafe import Markup, escape
from werkzeug.datastructures import MultiDict

from .common import access_of, form_cache, links, record_allows
from .form_state import FormState, read_values
from ui_renderer.core.titles_apart import told_apart
from ui_renderer.core.i18n import words
from ui_renderer.core.widgets import FieldRenderer, FormLayout, Section, Widget, display, form_text

FIND = "_find"
"""Suffix of a picker's search input (`attendees-_find`)."""
TEMPLATE_ROW = "__row__"
"""Row key of a lines editor's <template> row, replaced by a fresh key when the row is added."""
ROW_RE = re.compile(r"^[a-z0-9]{1,12}$")
ERROR_KEY_RE = re.compile(r"^(\w+)\.(\d{1,6})(?:\.(\w+))?$")
KINDS = ("links", "lines")


@dataclass(frozen=True)
class Editor:
    """One editable `links` or `lines` characteristic of a form; `columns`: a lines editor's
    columns (the owned entity's form fields, in order), `pickers` those of them that are `links`."""

    widget: Widget
    columns: tuple[Widget, ...] = ()

    @property
    def name(self) -> str:
        return self.widget.name

    @property
    def inputs(self) -> list[Widget]:
        """The columns a row posts: the editable ones, pickers included (a `links` widget is
        read-only in its layout, which shows members but does not edit them)."""
        return [c for c in self.columns if not c.readonly or c.kind == "links" and not c.field.readonly]

    @property
    def pickers(self) -> list[Widget]:
        return [c for c in self.columns if c.kind == "links" and not c.field.readonly]


def row_prefix(name: str, row: str) -> str:
    return f"{name}-{row}-"


def editors(layout: FormLayout, operation: str, record_id: int | None = None) -> dict[str, Editor]:
    """The `links` and `lines` characteristics of the form the actor may set (`operation` on
    the record `record_id`): on the form, not read-only by definition nor for the actor's roles.

    Their widgets are read-only in the layout (its builder shows them, it does not edit them),
    so the actor's restriction is asked here again."""
    entity = layout.entity.name
    wanted = [layout.widgets[n] for n in layout.on_form if layout.widgets[n].kind in KINDS]
    wanted = [w for w in wanted if not w.field.readonly]
    if not wanted:
        return {}
    access = access_of(entity)
    if access is not None and not getattr(access, "unrestricted", False):
        if not access.allows(operation) or (record_id is not None and not record_allows(entity, record_id, operation)):
            return {}
        locked = set(access.readonly_for(operation)) | set(access.hidden)
        wanted = [w for w in wanted if w.name not in locked]
    found: dict[str, Editor] = {}
    for w in wanted:
        found[w.name] = Editor(w, line_columns(w.target or "", layout.lang) if w.kind == "lines" else ())
    return found


def line_columns(owned: str, lang: str) -> tuple[Widget, ...]:
    """The owned entity's form columns: the fields of its form sections, in order (without the
    on-demand extras a form adds under "More"), as its widgets."""
    layout = form_cache().layout(owned, lang)
    sections = [*layout.sections, *(s for tab in layout.tabs for s in tab.sections)]
    return tuple(w for s in sections if s.key != "section-more" for w in s.widgets)


# -- record -> form state ----------------------------------------------------------------------


def record_values(found: Mapping[str, Editor], record: Mapping[str, Any], values: dict[str, Any]) -> None:
    """The record's members and lines into the form `values`: member ids as strings; row keys
    "0".."n-1" in order, with each line's id and column values as form strings."""
    for editor in found.values():
        value = record.get(editor.name) or []
        if editor.widget.kind == "links":
            values[editor.name] = [str(member) for member in value]
            continue
        rows = []
        for index, line in enumerate(value):
            row = str(index)
            rows.append(row)
            prefix = row_prefix(editor.name, row)
            values[prefix + "id"] = str(line.get("id", ""))
            for column in editor.columns:
                cell = line.get(column.name)
                if column.kind == "links":
                    values[prefix + column.name] = [str(member) for member in cell or []]
                else:
                    values[prefix + column.name] = (
                        list(cell or []) if column.kind == "multi_choice" else form_text(column.field, cell)
                    )
        values[editor.name] = rows


# -- posted form -> engine input -----------------------------------------------------------------


def posted_rows(form: MultiDict, name: str) -> list[str]:
    """The row keys a lines editor posted, in order, each once (others are ignored)."""
    rows: list[str] = []
    for row in form.getlist(name):
        if ROW_RE.match(row) and row not in rows:
            rows.append(row)
    return rows


def read_members(
    target: str, form: MultiDict, key: str, lang: str, state: FormState, label: str, limit: int
) -> list[int]:
    """A picker's members as posted: the ticked ids, and the record the search input names (its
    words, "Title #12" or a number), added at the end; a search naming none or several is an
    error at the field, the words kept."""
    members: list[int] = []
    for text in form.getlist(key):
        text = text.strip()
        if text.isdigit() and 0 < len(text) <= 18 and int(text) not in members:
            members.append(int(text))
    find = form.get(f"{key}-{FIND}", "").strip()
    state.values[f"{key}-{FIND}"] = ""
    if find:
        record_id, problem = links().resolve(target, find, lang)
        if problem:
            state.values[f"{key}-{FIND}"] = find
            state.errors.setdefault(key, []).append(problem)
            state.labels[key] = label
        elif record_id is not None and record_id not in members:
            members.append(record_id)
    state.values[key] = [str(m) for m in members[:limit + 1]]
    return members


def read_collections(found: Mapping[str, Editor], form: MultiDict, lang: str, state: FormState) -> dict[str, Any]:
    """The posted members and lines of the editors on the page, as the engine takes them: ids
    for `links`; for `lines`, one object per row in the posted order, `id` for a kept line (a
    new line leaves out its blank cells, so that the owned entity's defaults apply)."""
    inputs: dict[str, Any] = {}
    for editor in found.values():
        if editor.name not in form:
            continue
        w = editor.widget
        if w.kind == "links":
            inputs[w.name] = read_members(w.target or "", form, w.name, lang, state, w.label, w.field.max or 10_000)
            continue
        # one row past `max` is enough for the engine to refuse the count: no more are read
        rows = posted_rows(form, w.name)[:(w.field.max or 1000) + 1]
        state.values[w.name] = rows
        lines = []
        for row in rows:
            prefix = row_prefix(w.name, row)
            line_id = form.get(prefix + "id", "").strip()
            state.values[prefix + "id"] = line_id if line_id.isdigit() else ""
            line = read_values([c for c in editor.inputs if c.kind != "links"], form, lang, state, prefix)
            for picker in editor.pickers:
                key = prefix + picker.name
                label = cell_label(editor, rows.index(row), picker, lang)
                line[picker.name] = read_members(
                    picker.target or "", form, key, lang, state, label, picker.field.max or 10_000
                )
            if state.values[prefix + "id"]:
                line["id"] = state.values[prefix + "id"]
            else:
                line = {k: v for k, v in line.items() if v not in ("", [], None)}
            lines.append(line)
        inputs[w.name] = lines
    return inputs


def cell_label(editor: Editor, index: int, column: Widget | None, lang: str) -> str:
    """"Meals, line 3 › Dish": where an error is, for the error summary."""
    ui = words(lang)
    if column is None:
        return ui["f_lines_line"].format(field=editor.widget.label, number=index + 1)
    return ui["f_lines_cell"].format(field=editor.widget.label, number=index + 1, column=column.label)


def apply_row_action(action: str, found: Mapping[str, Editor], state: FormState) -> bool:
    """A lines editor's button posted without JavaScript (`line:<name>:add`,
    `line:<name>:up|down|remove:<row>`): the rows changed in `state`, the form to be shown
    again. False when `action` is not one."""
    parts = action.split(":")
    if len(parts) < 3 or parts[0] != "line" or parts[1] not in found or found[parts[1]].widget.kind != "lines":
        return False
    editor = found[parts[1]]
    rows: list[str] = list(state.values.get(editor.name) or [])
    verb = parts[2]
    if verb == "add":
        if len(rows) < (editor.widget.field.max or 1000):
            rows.append(fresh_row(rows))
            new = row_prefix(editor.name, rows[-1])
            state.values[new + "id"] = ""
            state.values.update({new + k: v for k, v in line_defaults(editor).items()})
    elif len(parts) == 4 and parts[3] in rows:
        index = rows.index(parts[3])
        if verb == "remove":
            rows.pop(index)
        elif verb == "up" and index > 0:
            rows[index - 1], rows[index] = rows[index], rows[index - 1]
        elif verb == "down" and index + 1 < len(rows):
            rows[index + 1], rows[index] = rows[index], rows[index + 1]
    state.values[editor.name] = rows
    return True


def fresh_row(rows: Sequence[str]) -> str:
    """A row key not in `rows` ("n1", "n2"... as the page's script makes them too)."""
    taken = set(rows)
    number = len(rows) + 1
    while f"n{number}" in taken:
        number += 1
    return f"n{number}"


def line_defaults(editor: Editor) -> dict[str, Any]:
    """The cells of a new row: literal defaults, unticked booleans, no members."""
    cells: dict[str, Any] = {}
    for c in editor.columns:
        f = c.field
        if c.kind == "links":
            cells[c.name] = []
        elif c.kind == "multi_choice":
            cells[c.name] = list(f.default or [])
        elif c.kind == "boolean":
            cells[c.name] = form_text(f, f.default) if f.default is not None else "false"
        else:
            cells[c.name] = form_text(f, f.default) if f.default is not None else ""
    return cells


def prefill_members(found: Mapping[str, Editor], asked: Mapping[str, str], lang: str, state: FormState) -> None:
    """`?prefill.<links>=12,15` on a new form (a related panel's "New"): those members, each a
    record number; anything else is an error under the field."""
    for name, text in asked.items():
        editor = found.get(name)
        if editor is None or editor.widget.kind != "links":
            continue
        members: list[str] = []
        for part in text.split(","):
            part = part.strip()
            if part.isdigit() and 0 < len(part) <= 18:
                members.append(str(int(part)))
            elif part:
                state.errors.setdefault(name, []).append(words(lang)["f_links_bad_prefill"].format(value=part))
                state.labels[name] = editor.widget.label
        state.values[name] = list(dict.fromkeys(members))


# -- comparing, and the engine's errors ---------------------------------------------------------


def changed(found: Mapping[str, Editor], inputs: Mapping[str, Any], record: Mapping[str, Any]) -> dict[str, Any]:
    """The collections the user changed: a set of members that differs, lines whose order,
    number or cells differ from the record's (the whole list is given then, as the engine
    takes it)."""
    changes: dict[str, Any] = {}
    for name, value in inputs.items():
        editor = found[name]
        current = record.get(name) or []
        if editor.widget.kind == "links":
            if sorted(set(value)) != sorted(current):
                changes[name] = value
            continue
        if len(value) != len(current) or any(not same_line(editor, given, line) for given, line in zip(value, current)):
            changes[name] = value
    return changes


def same_line(editor: Editor, given: Mapping[str, Any], line: Mapping[str, Any]) -> bool:
    if str(given.get("id", "")) != str(line.get("id")):
        return False
    for c in editor.inputs:
        value = given.get(c.name)
        if c.kind == "links":
            if sorted(set(value or [])) != sorted(line.get(c.name) or []):
                return False
        elif c.kind == "multi_choice":
            if sorted(value or []) != sorted(line.get(c.name) or []):
                return False
        elif value != form_text(c.field, line.get(c.name)):
            return False
    return True


def place_errors(
    found: Mapping[str, Editor], messages: Mapping[str, list[str]], state: FormState, lang: str
) -> tuple[dict[str, list[str]], set[str]]:
    """The engine's errors with those of lines moved to their cell (`meals.2.dish` ->
    `meals-<row>-dish`) or their row (`meals.2`, `meals.2.id`, a value not in the columns:
    `meals-<row>`), and the keys now shown on the page."""
    placed: dict[str, list[str]] = {}
    shown: set[str] = set()
    for key, texts in messages.items():
        match = ERROR_KEY_RE.match(key)
        editor = found.get(match.group(1)) if match else None
        if match is None or editor is None:
            placed.setdefault(key, []).extend(texts)
            if key in found:
                shown.add(key)
            continue
        rows = state.values.get(editor.name) or []
        index = int(match.group(2))
        if editor.widget.kind != "lines" or index >= len(rows):
            placed.setdefault(editor.name, []).extend(texts)
            shown.add(editor.name)
            continue
        column = next((c for c in editor.inputs if c.name == match.group(3)), None)
        if column is not None:
            where = row_prefix(editor.name, rows[index]) + column.name
            state.labels[where] = cell_label(editor, index, column, lang)
        else:
            where = f"{editor.name}-{rows[index]}"
            state.labels[where] = cell_label(editor, index, None, lang)
            if match.group(3) and match.group(3) != "id":
                named = form_cache().layout(editor.widget.target or "", lang).widgets.get(match.group(3))
                texts = [f"{named.label if named else match.group(3)}: {t}" for t in texts]
        placed.setdefault(where, []).extend(texts)
        shown.add(where)
    for name in found:
        if name in placed:
            state.labels[name] = found[name].widget.label
    return placed, shown


# -- rendering ----------------------------------------------------------------------------------


@dataclass
class CollectionRenderer(FieldRenderer):
    """The form's renderer, with the pickers and line tables of `editors` in place of their
    read-only rows."""

    editors: Mapping[str, Editor] = field(default_factory=dict)
    titles: Mapping[str, Mapping[int, str]] = field(default_factory=dict)
    """Target entity -> id -> title of the members shown."""
    lang: str = "en"
    shown_lines: Mapping[str, Editor] = field(default_factory=dict)
    """Read-only `lines` of the record (not the actor's to change), shown as a table."""

    def section(self, section: Section, shown: Iterable[str]) -> Markup:
        if not any(w.name in self.editors or w.name in self.shown_lines for w in section.widgets):
            return super().section(section, shown)
        shown = set(shown)
        rows = []
        for w in section.widgets:
            if w.name in self.editors:
                rows.append(self.collection(self.editors[w.name]))
            elif w.name in self.shown_lines:
                rows.append(self.lines_table(self.shown_lines[w.name]))
            else:
                rows.append(_inner(super().section(replace(section, widgets=(w,)), shown)))
        return Markup(
            f'<fieldset class="form-section" id="{section.key}"><legend>{escape(section.title)}</legend>'
            f'<div class="field-grid">{"".join(rows)}</div></fieldset>'
        )

    def collection(self, editor: Editor) -> str:
        if editor.widget.kind == "links":
            return self.picker_row(editor.widget, editor.name)
        return self.lines_row(editor)

    # -- the picker

    def picker_row(self, w: Widget, key: str, label: str | None = None) -> str:
        errs = self.errors.get(key)
        ek = escape(key)
        out = [f'<div class="field field-links field-wide{" has-error" if errs else ""}" id="row-{ek}">']
        if label is None:
            out.append(f'<label class="label" for="f-{ek}">{w.label_html}</label>')
        else:
            out.append(f'<label class="visually-hidden" for="f-{ek}">{escape(label)}</label>')
        out.append(self.picker(w, key))
        if w.help and label is None:
            out.append(f'<p class="help">{escape(w.help)}</p>')
        out.append(_errors(key, errs))
        out.append("</div>")
        return "".join(out)

    def picker(self, w: Widget, key: str) -> str:
        ui = self.ui
        ek = escape(key)
        f = w.field
        members = [m for m in self.values.get(key) or [] if str(m).isdigit()]
        names = self.titles.get(w.target or "", {})
        chips = []
        for member in members:
            title = names.get(int(member)) or f"#{member}"
            chips.append(
                f'<li class="chip picked-chip"><label><input type="checkbox" name="{ek}" value="{escape(member)}" '
                f'checked> <span>{escape(title)}</span></label><button type="button" class="chip-remove" hidden '
                f'aria-label="{escape(ui["f_links_remove"].format(title=title))}">×</button></li>'
            )
        limit = f.max or 10_000
        hint = (ui["f_links_count_between"].format(min=f.min, max=limit) if f.min
                else ui["f_links_count_max"].format(max=limit))
        invalid = f' aria-invalid="true" aria-describedby="err-{ek}"' if self.errors.get(key) else ""
        find = escape(self.values.get(f"{key}-{FIND}", ""))
        return (
            f'<div class="control links-picker" data-picker="{ek}" data-max="{limit}" '
            f'data-lookup="{escape(self.lookup_url(w.target))}" data-full="{escape(ui["f_links_full"].format(max=limit))}" '
            f'data-no-match="{escape(ui["f_links_no_match"])}" data-remove="{escape(ui["f_links_remove"])}">'
            f'<input type="hidden" name="{ek}" value="">'
            f'<ul class="picked chips" data-empty="{escape(ui["f_links_none"])}">{"".join(chips)}</ul>'
            f'<div class="picker-search"><input type="search" id="f-{ek}" name="{ek}-{FIND}" value="{find}" '
            f'autocomplete="off" placeholder="{escape(ui["f_links_search"])}" role="combobox" aria-autocomplete="list" '
            f'aria-expanded="false" aria-controls="matches-{ek}"{invalid}>'
            f'<button type="submit" class="button button-secondary picker-add" name="_action" value="pick:{ek}" '
            f'formnovalidate>{escape(ui["f_links_add"])}</button>'
            f'<ul class="picker-matches" id="matches-{ek}" role="listbox" hidden></ul></div>'
            f'<p class="help collection-count">{escape(hint)}</p></div>'
        )

    # -- the lines table

    def lines_row(self, editor: Editor) -> str:
        w = editor.widget
        ui = self.ui
        ek = escape(w.name)
        errs = self.errors.get(w.name)
        f = w.field
        limit = f.max or 1000
        least = f.min or (1 if f.mandatory else 0)
        hint = (ui["f_lines_count_between"].format(min=least, max=limit) if least
                else ui["f_lines_count_max"].format(max=limit))
        rows: list[str] = list(self.values.get(w.name) or [])
        heads = "".join(
            f'<th scope="col" class="line-col line-col-{c.kind}">{c.label_html}</th>' for c in editor.columns
        )
        # cells are rendered without the owner record: its values (a rich text's preview, the
        # link to open) belong to the owner's fields, not to the lines' columns of the same name
        cells = replace(self, record=None)
        body = "".join(cells.line(editor, row, index) for index, row in enumerate(rows))
        # a row added in the page starts with the owned entity's literal defaults, as one added
        # by the no-JavaScript button does (apply_row_action)
        blank = {row_prefix(w.name, TEMPLATE_ROW) + k: v for k, v in line_defaults(editor).items()}
        template = replace(cells, values={**self.values, **blank}).line(editor, TEMPLATE_ROW, None)
        full = " disabled" if len(rows) >= limit else ""
        return (
            f'<div class="field field-lines field-wide{" has-error" if errs else ""}" id="row-{ek}">'
            f'<span class="label" id="label-{ek}">{w.label_html}</span>'
            f'<div class="control lines-editor" id="f-{ek}" data-lines="{ek}" data-max="{limit}" data-min="{least}">'
            f'<input type="hidden" name="{ek}" value="">'
            f'<table class="lines-table" aria-labelledby="label-{ek}"><thead><tr>'
            f'<th scope="col" class="line-handle"><span class="visually-hidden">{escape(ui["f_lines_order"])}</span></th>'
            f'{heads}<th scope="col" class="line-actions"><span class="visually-hidden">{escape(ui["f_lines_actions"])}'
            f'</span></th></tr></thead><tbody>{body}</tbody></table>'
            f'<p class="lines-empty"{" hidden" if rows else ""}>{escape(ui["f_lines_empty"])}</p>'
            f'<template class="line-template">{template}</template>'
            f'<p class="lines-foot"><button type="submit" class="button button-secondary line-add" name="_action" '
            f'value="line:{ek}:add" formnovalidate{full}>{escape(ui["f_lines_add"])}</button> '
            f'<span class="help collection-count">{escape(hint)}</span></p></div>'
            f'{_errors(w.name, errs)}</div>'
        )

    def line(self, editor: Editor, row: str, index: int | None) -> str:
        ui = self.ui
        name = escape(editor.name)
        er = escape(row)
        prefix = row_prefix(editor.name, row)
        cells = []
        for c in editor.columns:
            if c.readonly and c.kind != "links" or c.kind == "links" and c.field.readonly:
                cells.append(f'<td class="line-cell line-readonly">{escape(self.readonly_cell(editor, c, prefix))}</td>')
            elif c.kind == "links":
                label = cell_label(editor, index or 0, c, self.lang)
                cells.append(f'<td class="line-cell">{self.picker_row(c, prefix + c.name, label)}</td>')
            else:
                cells.append(f'<td class="line-cell">{self.row(c, prefix)}</td>')
        row_errors = self.errors.get(f"{editor.name}-{row}")
        line_id = escape(self.values.get(prefix + "id", ""))
        button = (f'<button type="submit" class="line-button line-{{verb}}" name="_action" value="line:{name}:{{verb}}:{er}" '
                  f'formnovalidate title="{{title}}" aria-label="{{title}}">{{icon}}</button>')
        actions = "".join(
            button.format(verb=verb, title=escape(ui[word]), icon=icon)
            for verb, word, icon in (("up", "f_lines_up", "↑"), ("down", "f_lines_down", "↓"), ("remove", "f_lines_remove", "✕"))
        )
        return (
            f'<tr class="line-row{" has-error" if row_errors else ""}" id="f-{name}-{er}" data-row="{er}">'
            f'<td class="line-handle"><span class="drag-handle" title="{escape(ui["f_lines_drag"])}" aria-hidden="true">⠿</span>'
            f'<input type="hidden" name="{name}" value="{er}"><input type="hidden" name="{name}-{er}-id" value="{line_id}"></td>'
            f'{"".join(cells)}<td class="line-actions">{actions}{_errors(f"{editor.name}-{row}", row_errors)}</td></tr>'
        )

    def lines_table(self, editor: Editor) -> str:
        """Lines the actor may read but not change: their values as the list pages show them."""
        w = editor.widget
        ek = escape(w.name)
        heads = "".join(f'<th scope="col" class="line-col line-col-{c.kind}">{escape(c.label)}</th>' for c in editor.columns)
        body = []
        for line in (self.record or {}).get(w.name) or []:
            cells = "".join(
                f'<td class="line-cell">{escape(display(c, line.get(c.name), self.lang, self.titles.get(c.target or "", {})))}</td>'
                for c in editor.columns
            )
            body.append(f"<tr>{cells}</tr>")
        return (
            f'<div class="field field-lines field-wide field-readonly" id="row-{ek}">'
            f'<span class="label" id="label-{ek}">{w.label_html}</span>'
            f'<div class="control lines-readonly" id="f-{ek}">'
            f'<table class="lines-table" aria-labelledby="label-{ek}"><thead><tr>{heads}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div></div>'
        )

    def readonly_cell(self, editor: Editor, c: Widget, prefix: str) -> str:
        value = self.values.get(prefix + c.name)
        if c.kind == "links":
            names = self.titles.get(c.target or "", {})
            return ", ".join(names.get(int(m)) or f"#{m}" for m in value or [] if str(m).isdigit()) or self.ui["f_none"]
        if c.kind == "link":
            return display(c, value or None, self.lang, self.titles.get(c.target or "", {}))
        return str(value) if value not in (None, "") else ""


def _inner(section: str) -> str:
    """The rows of a rendered section, without its fieldset."""
    start = section.index('<div class="field-grid">') + len('<div class="field-grid">')
    return section[start:-len("</div></fieldset>")]


def _errors(key: str, errs: Sequence[str] | None) -> str:
    if not errs:
        return ""
    items = "".join(f"<li>{escape(message)}</li>" for message in errs)
    return f'<ul class="field-errors" id="err-{escape(key)}" role="alert">{items}</ul>'


def readonly_lines(layout: FormLayout, found: Mapping[str, Editor], record: Mapping[str, Any] | None) -> dict[str, Editor]:
    """The record's `lines` on the form that the actor may not change, when it has some."""
    if not record:
        return {}
    return {
        name: Editor(w, line_columns(w.target or "", layout.lang))
        for name in layout.on_form
        if (w := layout.widgets[name]).kind == "lines" and name not in found and record.get(name)
    }


def member_titles(
    found: Mapping[str, Editor], values: Mapping[str, Any], shown: Mapping[str, Editor] | None = None,
    record: Mapping[str, Any] | None = None,
) -> dict[str, dict[int, str]]:
    """Titles of every member on the page (and of a read-only link cell), one read per target."""
    wanted: dict[str, set[int]] = {}

    def add(target: str | None, ids: Iterable[Any]) -> None:
        wanted.setdefault(target or "", set()).update(int(i) for i in ids if str(i).isdigit())

    for editor in (shown or {}).values():
        for line in (record or {}).get(editor.name) or []:
            for c in editor.columns:
                if c.kind in ("link", "links"):
                    value = line.get(c.name)
                    add(c.target, value if isinstance(value, list) else [value])

    for editor in found.values():
        if editor.widget.kind == "links":
            add(editor.widget.target, values.get(editor.name) or [])
            continue
        for row in values.get(editor.name) or []:
            prefix = row_prefix(editor.name, row)
            for c in editor.columns:
                if c.kind == "links":
                    add(c.target, values.get(prefix + c.name) or [])
                elif c.kind == "link" and c.readonly:
                    add(c.target, [values.get(prefix + c.name)])
    reader = links()
    # two members named alike (two Margaux Martin) are told apart by their numbers, as the picker's suggestions are
    return {target: dict(told_apart(reader.titles(target, ids).items())) for target, ids in wanted.items() if ids}


def cell_widgets(found: Mapping[str, Editor], values: Mapping[str, Any]) -> list[tuple[str, Widget]]:
    """(row prefix, column) of every editable link cell of the lines on the page, the
    template row's included: their options or search inputs are prepared with the form's."""
    cells = []
    for editor in found.values():
        if editor.widget.kind != "lines":
            continue
        for row in [*(values.get(editor.name) or []), TEMPLATE_ROW]:
            cells.extend((row_prefix(editor.name, row), c) for c in editor.inputs if c.kind == "link")
    return cells


def titled_link_cells(cells: Sequence[tuple[str, Widget]], values: dict[str, Any]) -> None:
    """Link cells holding a record number shown as "Title #12", one read per target for all rows
    (the form's link preparation would read them one by one)."""
    wanted: dict[str, set[int]] = {}
    for prefix, c in cells:
        value = values.get(prefix + c.name, "")
        if isinstance(value, str) and value.isdigit():
            wanted.setdefault(c.target or "", set()).add(int(value))
    reader = links()
    for target, ids in wanted.items():
        if reader.choices(target) is not None:
            continue  # a select: the option is marked by its id
        names = reader.titles(target, ids)
        for prefix, c in cells:
            value = values.get(prefix + c.name, "")
            if c.target == target and isinstance(value, str) and value.isdigit() and int(value) in names:
                values[prefix + c.name] = f"{names[int(value)]} #{value}"
