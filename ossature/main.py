"""The `ossature` console script: the command group with every command module registered on it."""

from __future__ import annotations

from typing import Sequence

from ossature.cli import cli
from ossature.commands import (  # noqa: F401 (each module registers its commands on `cli`)
    duplicates,
    exports,
    imports,
    jobs,
    migrate,
    packs,
    records,
    serve,
    users,
)

__all__ = ["cli", "main"]


def main(argv: Sequence[str] | None = None) -> None:
    cli.main(args=list(argv) if argv is not None else None, prog_name="ossature")


if __name__ == "__main__":
    main()
