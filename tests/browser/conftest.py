"""Browser fixtures: the app on a real server thread over a seeded database, and Chromium pages.

`live_url` is the base URL (no trailing slash) of one app per test session, served by a
werkzeug server on 127.0.0.1 (port chosen by the OS) over a SQLite file seeded with the
demo data (`ossature.demo.seed_demo`). Tests share that database: a test that changes
records must not assume another test's changes are absent.

`page` is a fresh Playwright page (its own browser context: no cookies carried over) in
Debian's Chromium (/usr/bin/chromium; `apt-get install -y chromium`). `shot(page, name)`
saves a full-page screenshot to tests/artifacts/<name>.png (git-ignored) for people to look at.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterator

import pytest
from flask import Flask
from live_server import serving

import metamodel
from ossature.demo import seed_demo
from ui_renderer import create_app
from ui_renderer.testing import PAGES_WITHOUT_LOGIN, FormClient

CHROMIUM = os.environ.get("OSSATURE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
VIEWPORT = {"width": 1360, "height": 900}
TIMEOUT_MS = 10_000


@pytest.fixture(scope="session")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """The served app (for tests that check the database behind the pages)."""
    database = tmp_path_factory.mktemp("live") / "live.db"
    app = create_app({"DATABASE_URL": f"sqlite:///{database}", "PACKS": [metamodel.BASE_PACK], **PAGES_WITHOUT_LOGIN})
    app.test_client_class = FormClient
    engine = app.extensions["ossature"]
    engine.migrate()
    seed_demo(engine, seed=0)
    yield app
    engine.dispose()


@pytest.fixture(scope="session")
def live_url(live_app: Flask) -> Iterator[str]:
    with serving(live_app) as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    # On a developer's machine without a browser these tests are skipped with the reason;
    # in CI (`.ci/run` installs both) a missing browser is a failure, never a silent skip.
    missing = pytest.fail if os.environ.get("CI") else pytest.skip
    try:
        from playwright import sync_api
    except ImportError:
        missing("playwright is not installed: pip install -e '.[test]'")
    if not Path(CHROMIUM).exists():
        missing(f"{CHROMIUM} is missing: apt-get install -y chromium")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: object, live_url: str) -> Iterator[object]:
    context = browser.new_context(viewport=VIEWPORT, locale="en-GB")
    context.set_default_timeout(TIMEOUT_MS)
    fresh = context.new_page()
    try:
        yield fresh
    finally:
        context.close()


def save_screenshot(page: object, name: str) -> Path:
    """A full-page PNG of what the page shows now, in tests/artifacts/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def shot() -> Callable[[object, str], Path]:
    """`shot(page, name)` saves tests/artifacts/<name>.png."""
    return save_screenshot
