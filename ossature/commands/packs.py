"""`ossature pack ...` and `ossature overlay ...`: packs as a product, and the admin overlay.

- `pack validate DIR`: the pack on the directory packs (base + OSSATURE_PACKS), no database;
- `pack diff DIR`: what installing it on the configured database would change, as a plan;
- `pack install DIR`: the same checks and plan, then the schema migration and the install;
- `pack list`: the installed packs;
- `pack export --overlay [-o DIR]`: the admin overlay as a pack directory;
- `overlay list`, `overlay show [REVISION]`, `overlay revert REVISION`.

A pack that does not fit (older than the installed one, or requiring what this installation
does not have) is refused with one line per reason, and the command exits with status 1.
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import click

import metamodel
from engine.installation import settings
from ossature.cli import cli
from ossature.commands.common import fail, load_model, opened_installation, when

if TYPE_CHECKING:
    from engine import Actor
    from engine.installation.definitions import Plan
    from engine.schema.archive import ArchiveEntry

DEFAULT_LIST_LIMIT = 20


def command_line_actor() -> "Actor":
    from engine import Actor

    try:
        who = getpass.getuser()
    except Exception:  # no login name in some containers
        who = "unknown"
    return Actor(username=f"{who} (command line)", system=True)


def echo_plan(headline: str, plan: "Plan") -> None:
    click.echo(headline)
    if plan.empty:
        click.echo("  nothing changes")
        return
    if plan.changes:
        click.echo("definitions:")
        for line in plan.change_lines("en"):
            click.echo(f"  {line}")
    click.echo("database:" if plan.steps else "database: nothing to change")
    for line in plan.schema_lines("en"):
        click.echo(f"  {line}")
    if plan.blocked:
        click.echo("refused: nothing will be changed until the refused steps are resolved")


@cli.command()
@click.argument("packs", nargs=-1, type=click.Path(file_okay=False, path_type=Path))
@click.option("--no-base", is_flag=True, help="Do not layer the given packs on the base pack.")
def validate(packs: tuple[Path, ...], no_base: bool) -> None:
    """Check definition packs and report every problem.

    Without PACKS, checks the configured packs (base pack + OSSATURE_PACKS).
    """
    chosen = list(packs) if packs else settings.customer_pack_dirs()
    pack_dirs = chosen if no_base else [Path(metamodel.BASE_PACK), *chosen]
    if not pack_dirs:
        fail(["error: no pack to validate"])
    model = load_model(pack_dirs)
    echo_warnings(model)
    click.echo(
        f"ok: {len(model.entities)} entities, {len(model.lists)} lists, {len(model.workflows)} workflows"
        + (f", {len(model.warnings)} warning(s)" if model.warnings else "")
    )


def echo_warnings(model: "metamodel.Model") -> None:
    """What loads but may fail on some records, one `warning: file:line: path: message` each."""
    for warning in model.warnings:
        click.echo(f"warning: {warning}")


pack_directory = click.argument("directory", type=click.Path(file_okay=False, path_type=Path))


# -- packs ----------------------------------------------------------------------------


@cli.group("pack")
def pack() -> None:
    """Definition packs: validate, compare with the installation, install, export the overlay."""


@pack.command("validate")
@pack_directory
def pack_validate(directory: Path) -> None:
    """Check the pack in DIRECTORY on the base pack and OSSATURE_PACKS (no database needed).

    Checks every document, the manifest (name, version) and what it requires.
    """
    from engine.installation.pack_install import plan_pack

    with opened_installation(url="sqlite://") as installation:  # an empty database: nothing installed
        change = plan_pack(installation, directory, with_plan=False)
        model = installation.check_plugins(change.plan.model)
    echo_warnings(model)
    required = ", ".join(f"{name} {spec}" for name, spec in change.requires.items()) or "nothing"
    click.echo(f"ok: pack {change.name} {change.version} (requires {required}): {len(model.entities)} entities, "
               f"{len(model.lists)} lists, {len(model.workflows)} workflows")


@pack.command("diff")
@pack_directory
def pack_diff(directory: Path) -> None:
    """What installing the pack in DIRECTORY would change, as a plan (nothing is written)."""
    from engine.installation.pack_install import plan_pack

    with opened_installation() as installation:
        change = plan_pack(installation, directory)
    if change.action == "unchanged":
        click.echo(change.headline())
        return
    echo_plan(change.headline(), change.plan)


@pack.command("install")
@pack_directory
def pack_install(directory: Path) -> None:
    """Install the pack in DIRECTORY (or upgrade it to a newer version) on the configured database.

    Shows the plan, migrates the schema, then records the pack: every app server and worker
    loads it within a second, without restarting.
    """
    from engine.installation.pack_install import install_pack

    with opened_installation() as installation:
        change, done = install_pack(installation, directory, command_line_actor())
    if change.action == "unchanged":
        click.echo(change.headline())
        return
    echo_plan(change.headline(), change.plan)
    verb = "upgraded" if change.action == "upgrade" else "installed"
    click.echo(f"{verb}: pack {change.name} {change.version} ({len(done)} database step(s))")


@pack.command("list")
def pack_list() -> None:
    """The packs installed on the configured database, in layering order."""
    with opened_installation() as installation:
        installed = installation.installed()
    for found in installed:
        upgraded = f" (from {found.previous_version})" if found.previous_version else ""
        click.echo(f"{found.name:<24} {found.version:<12} installed {when(found.installed_at)} "
                   f"by {found.actor_name}{upgraded}")
    click.echo(f"{len(installed)} pack(s) installed")


@pack.command("export")
@click.option("--overlay", "overlay", is_flag=True, help="Export the administration overlay (required).")
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Directory to write (default: ./NAME-VERSION).")
@click.option("--name", default="admin_overlay", show_default=True, help="The pack's name.")
@click.option("--version", "version", default=None, help="The pack's version (default: 1.0.REVISION).")
@click.option("--force", is_flag=True, help="Write into a directory that is not empty.")
def pack_export(overlay: bool, output: Path | None, name: str, version: str | None, force: bool) -> None:
    """Write the administration overlay as a pack directory (pack.yaml and its documents),
    to keep under version control and install on another database."""
    from engine.installation.pack_install import overlay_as_pack
    from metamodel.reading.overlay import write_pack

    if not overlay:
        fail(["error: say what to export: --overlay (the administration overlay)"])
    with opened_installation() as installation:
        try:
            exported = overlay_as_pack(installation, name, version)
        except ValueError as error:
            fail([f"error: {error}"])
    target = output or Path(f"{exported.name}-{exported.version}")
    if target.exists() and any(target.iterdir()) and not force:
        fail([f"error: {target} is not empty: choose another directory with -o, or --force"])
    written = write_pack(target, exported.documents)
    click.echo(f"exported pack {exported.name} {exported.version} (overlay revision {exported.revision}) "
               f"to {target}: {len(written) - 1} document(s)")


# -- the overlay ----------------------------------------------------------------------


@cli.group("overlay")
def overlay() -> None:
    """The administration overlay: its revisions (who, when, what), and reverting one."""


@overlay.command("list")
@click.option("--limit", default=DEFAULT_LIST_LIMIT, show_default=True, type=click.IntRange(1, None))
def overlay_list(limit: int) -> None:
    """The latest revisions, newest first."""
    with opened_installation() as installation:
        revisions = installation.revisions(limit)
    for index, found in enumerate(revisions):
        reverts = f" (reverts {found.reverts})" if found.reverts else ""
        current = "  current" if index == 0 else ""
        click.echo(f"{found.id:>5}  {when(found.created_at)}  {found.actor_name:<28} {found.summary}{reverts}{current}")
    if not revisions:
        click.echo("the overlay has no revision")


@overlay.command("show")
@click.argument("revision_id", metavar="[REVISION]", type=int, required=False)
def overlay_show(revision_id: int | None) -> None:
    """The documents of a revision (default: the current one)."""
    with opened_installation() as installation:
        found = installation.revision(revision_id) if revision_id is not None else installation.overlay()
    if found is None:
        click.echo("the overlay has no revision")
        return
    click.echo(f"# revision {found.id}, {when(found.created_at)}, {found.actor_name}: {found.summary}")
    for name, text in sorted(found.documents.items()):
        click.echo(f"# --- {name}")
        click.echo(text.rstrip("\n"))


@overlay.command("revert")
@click.argument("revision_id", metavar="REVISION", type=click.IntRange(1, None))
@click.option("--summary", default=None, help="Why (default: revert revision REVISION).")
def overlay_revert(revision_id: int, summary: str | None) -> None:
    """Bring back the overlay as it was before REVISION, as a new revision (history is kept)."""
    with opened_installation() as installation:
        applied = installation.revert_overlay(revision_id, command_line_actor(), summary)
    echo_plan(f"revert revision {revision_id}", applied.plan)
    click.echo(f"revision {applied.revision.id}: the overlay as before revision {revision_id}")
    echo_restorable(applied.restorable)


def echo_restorable(entries: Sequence["ArchiveEntry"]) -> None:
    """Archived data the new definitions declare again: restoring it is a separate, explicit step."""
    if not entries:
        return
    click.echo("archived data is declared again; bring it back with `ossature archive restore TARGET`:")
    for entry in entries:
        click.echo(f"  {entry.target} ({entry.count} {'record' if entry.count == 1 else 'records'})")
