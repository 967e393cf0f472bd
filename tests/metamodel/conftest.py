"""Problems name files relative to the working directory: the tests run from the repository."""

from __future__ import annotations

import pytest

from mm_fixture_paths import REPO


@pytest.fixture(autouse=True)
def _in_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
