"""The administration pages (`/admin/...`, administrators only): definitions changed without code.

Browse the definitions and change them: characteristics, value lists, workflow statuses and
transitions, list views, role permissions. Each change is shown as a plan before it is
applied (ui_renderer/admin/review.py), then kept as a new revision of the admin overlay in
the database (engine/definitions.py), which every process picks up without restart.

An app serves them with `use_live_engine(app, LiveEngine(installation))` and
`register_admin(app)`.
"""

from flask import Flask

from . import entity_pages, list_pages, review, revision_pages, role_pages, workflow_pages  # noqa: F401 (routes)
from .context import admin, admin_home, is_admin
from .live_app import live_engine, use_live_engine

__all__ = ["admin", "admin_home", "is_admin", "live_engine", "register_admin", "use_live_engine"]


def register_admin(app: Flask) -> None:
    """The pages, and `admin_home()` for templates (the pages' address, for administrators only)."""
    app.register_blueprint(admin)
    app.jinja_env.globals["admin_home"] = admin_home
