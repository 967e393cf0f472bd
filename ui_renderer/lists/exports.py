"""Downloads of a list view: `/<entity>/export.<format>?<the list page's query arguments>`.

The file holds every record the list shows (its view, tab, filters, search and sort; all
pages), as the logged-in user may see them, streamed as it is written. `delimiter=;` asks for a
CSV with `;` between cells (what spreadsheets set to French expect); `columns=all` for every
characteristic the user may see instead of the view's columns.

Refusals come before the first byte: 403 without the "export" permission (the app's
PermissionDenied page), 404 for an unknown entity or a format that does not fit it, 400
for a bad list argument.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, current_app, render_template, request, stream_with_context, url_for
from flask.typing import ResponseReturnValue
from werkzeug.utils import get_content_type

from engine import Engine
from engine.exchange.exporter import Export, ExportError, export_formats
from engine.records.queries import QueryError

from ui_renderer.core.actor import current_actor
from ui_renderer.core.language import request_language
from ui_renderer.core.i18n import register_words, words

exports = Blueprint("exports", __name__)

OPTION_ARGS = ("delimiter", "columns")
"""Query arguments of the download itself; every other one is the list's."""
NOT_CARRIED = frozenset({"page", "size"})
"""List arguments an export leaves out: it holds every page."""

register_words({
    "en": {"export_menu": "Export", "export_as": "Export as {format}", "export_semicolon": "CSV with semicolons",
           "export_lines": "Lines: {lines} (CSV)"},
    "fr": {"export_menu": "Exporter", "export_as": "Exporter en {format}", "export_semicolon": "CSV avec points-virgules",
           "export_lines": "Lignes : {lines} (CSV)"},
})


def _engine() -> Engine:
    return current_app.extensions["ossature"]


@exports.get("/<entity>/export.<format_name>")
def download(entity: str, format_name: str) -> ResponseReturnValue:
    engine = _engine()
    definition = engine.model.entities.get(entity)
    if definition is None or definition.owned_by is not None:  # lines are exported with their owner
        abort(404)
    args = {k: v for k, v in request.args.to_dict(flat=False).items() if k not in OPTION_ARGS}
    columns = "all" if request.args.get("columns") == "all" else None
    try:
        list_request = engine.records.list_request(entity, args)
        export = Export(engine, entity, list_request, current_actor(), format=format_name, columns=columns,
                        delimiter=request.args.get("delimiter") or ",")
    except QueryError as error:  # an ExportError too
        if isinstance(error, ExportError) and error.parameter == "format":
            abort(404)
        return _bad_request(entity, error.parameter, error.describe(request_language()))
    return Response(
        stream_with_context(export.started_bytes()),
        content_type=content_type(export.media_type),
        headers={
            "Content-Disposition": f'attachment; filename="{export.filename}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


def content_type(media_type: str) -> str:
    """The Content-Type header of a download: the format's media type as it declares it.

    Flask's `mimetype=` appends `; charset=utf-8` to every text type, so a format that names its
    charset already (`text/html; charset=utf-8`) would be sent with two; one without a charset
    gets UTF-8, the encoding every export writes.
    """
    if "charset=" in media_type.lower():
        return media_type
    return get_content_type(media_type, "utf-8")


def _bad_request(entity: str, parameter: str, message: str) -> ResponseReturnValue:
    lang = request_language()
    html = render_template(
        "list_error.html", ui=words(lang), entity=_engine().model.entity(entity), parameter=parameter, message=message,
        default_url=url_for("lists.index", entity=entity),
    )
    return html, 400, {"Content-Language": lang, "Vary": "Accept-Language"}


def export_links(entity: str, args: Mapping[str, Sequence[str]], lang: str) -> list[dict[str, Any]]:
    """The list page's download links, one per format fitting `entity` (CSV, vCard, iCalendar...),
    each carrying the page's list arguments; none when the user may not export.

    `args` are the list page's query arguments (`request.args.to_dict(flat=False)`).
    """
    engine = _engine()
    access = engine.records.permissions.access(current_actor(), entity)
    if not access.allows("export"):
        return []
    carried = [(k, v) for k, values in args.items() if k not in NOT_CARRIED and k not in OPTION_ARGS for v in values]
    ui = words(lang)
    links = []
    for name, found in export_formats(engine, entity).items():
        query = urlencode(carried)
        base = url_for("exports.download", entity=entity, format_name=name)
        links.append({"format": name, "label": ui["export_as"].format(format=found.label.get(lang) or found.label["en"]),
                      "url": f"{base}?{query}" if query else base})
        if name == "csv":
            semicolon = urlencode([*carried, ("delimiter", ";")])
            links.append({"format": "csv", "label": ui["export_semicolon"], "url": f"{base}?{semicolon}"})
    links.extend(lines_links(engine, entity, access.for_operation("export").hidden, carried, lang))
    return links


def lines_links(
    engine: Engine, entity: str, hidden: frozenset[str], carried: Sequence[tuple[str, str]], lang: str
) -> list[dict[str, Any]]:
    """A download of the lines of the listed records per `lines` characteristic the user may see
    (the file the lines import reads back: ui_renderer/exchange's `export_lines`), with the list's
    arguments; none where that page is not served."""
    if "imports.export_lines" not in current_app.view_functions:
        return []
    ui = words(lang)
    query = urlencode(carried)
    found = []
    for f in engine.model.entity(entity).fields:
        if f.type == "lines" and f.name not in hidden:
            base = url_for("imports.export_lines", entity=entity, lines=f.name)
            found.append({"format": "lines", "label": ui["export_lines"].format(lines=f.label.get(lang)),
                          "url": f"{base}?{query}" if query else base})
    return found
