"""The `ossature` command group. Each module of `ossature/commands/` registers its commands on
`cli`; this module imports none of them (`ossature/main.py` brings them all together).

Every command reports definition problems as `file:line: path: message` lines on stderr and
exits with status 1; a traceback is never the answer to a mistake in a YAML file.
"""

from __future__ import annotations

import click

from ossature import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ossature")
def cli() -> None:
    """Ossature: a metadata-driven XRM engine.

    The database comes from OSSATURE_DATABASE_URL (default: SQLite in ./instance/);
    customer packs from OSSATURE_PACKS, separated by the OS path separator.
    """
