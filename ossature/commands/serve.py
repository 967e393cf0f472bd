"""`ossature serve`: the web application on this machine."""

from __future__ import annotations

import click
from sqlalchemy.exc import SQLAlchemyError

import metamodel
from engine.installation import settings
from ossature.cli import cli
from ossature.commands.common import check_pack_dirs, fail, printable_url


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--debug", is_flag=True, help="Reload on code changes and show the debugger.")
def serve(host: str, port: int, debug: bool) -> None:
    """Run the web application (development server)."""
    from ui_renderer import create_app

    pack_dirs = settings.pack_dirs()
    url = settings.database_url()
    check_pack_dirs(pack_dirs)
    try:
        app = create_app({"DATABASE_URL": url, "PACKS": pack_dirs})
    except metamodel.DefinitionError as error:
        fail(str(problem) for problem in error.problems)
    engine = app.extensions["ossature"]
    try:
        pending = engine.pending_migrations()
    except SQLAlchemyError as error:
        click.echo(f"warning: database {printable_url(url)} unreachable: {error}", err=True)
    else:
        if pending:
            click.echo(f"warning: {len(pending)} pending migration step(s); run `ossature migrate`", err=True)
    app.run(host=host, port=port, debug=debug)
