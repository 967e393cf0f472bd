"""OSSATURE_TRUSTED_PROXIES: the client address from X-Forwarded-For only behind that many proxies."""

from __future__ import annotations

import pytest
from flask import request

import metamodel
from engine.installation import settings
from ui_renderer import create_app
from ui_renderer.testing import PAGES_WITHOUT_LOGIN


def client_address(database_url, tmp_path, **config) -> str:
    app = create_app({"DATABASE_URL": database_url, "PACKS": [metamodel.BASE_PACK], "FILES_DIR": str(tmp_path),
                      **PAGES_WITHOUT_LOGIN, **config})

    @app.get("/_address")
    def address() -> str:
        return request.remote_addr or ""

    headers = {"X-Forwarded-For": "203.0.113.7, 198.51.100.2"}
    return app.test_client().get("/_address", headers=headers, environ_base={"REMOTE_ADDR": "10.9.9.9"}).text


@pytest.mark.parametrize(("proxies", "expected"), [(0, "10.9.9.9"), (1, "198.51.100.2"), (2, "203.0.113.7")])
def test_the_client_address_comes_from_as_many_forwarded_entries_as_proxies(database_url, tmp_path, proxies, expected):
    assert client_address(database_url, tmp_path, TRUSTED_PROXIES=proxies) == expected


@pytest.mark.parametrize(("raw", "expected"), [("", 0), ("0", 0), ("1", 1), ("10", 10)])
def test_the_setting_reads_whole_numbers_from_0_to_10(monkeypatch, raw, expected):
    monkeypatch.setenv("OSSATURE_TRUSTED_PROXIES", raw)
    assert settings.trusted_proxies() == expected


@pytest.mark.parametrize("raw", ["-1", "11", "many"])
def test_the_setting_refuses_anything_else(monkeypatch, raw):
    monkeypatch.setenv("OSSATURE_TRUSTED_PROXIES", raw)
    with pytest.raises(ValueError):
        settings.trusted_proxies()
