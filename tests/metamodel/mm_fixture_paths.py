"""Paths of the definition-language fixtures (a uniquely named helper module, imported by the tests)."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
BASE = FIXTURES / "packs" / "base"
ACME = FIXTURES / "packs" / "acme"
BROKEN = FIXTURES / "broken"
ROLES = FIXTURES / "roles"
ROLES_BASE = ROLES / "base"
ROLES_ACME = ROLES / "acme"
ROLES_BROKEN = ROLES / "broken"
