"""Who is acting: passed to every engine call that reads or changes records."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """The acting user, their roles and language.

    A plain value object until users and permissions land; `system` marks the
    engine's own work (seeding, migrations), which may set readonly fields.
    """

    user_id: int | None = None
    username: str = "system"
    roles: frozenset[str] = frozenset()
    lang: str = "en"
    team: str | None = None
    system: bool = False


SYSTEM_ACTOR = Actor(system=True)
