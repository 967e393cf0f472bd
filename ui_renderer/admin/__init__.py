"""The administration pages (`/admin/...`, administrators only): definitions changed without code.

Browse the definitions and change them: characteristics, value lists, workflow statuses and
transitions, list views, related panels of forms, role permissions. Each change is shown as a plan before it is
applied (ui_renderer/admin/review.py), then kept as a new revision of the admin overlay in
the database (engine/installation/definitions.py), which every process picks up without restart.

An app serves them with `register_admin(app)`, on an app that follows the definitions
(`ui_renderer.core.live_app.use_live_engine`).
"""

from flask import Flask

from . import (  # noqa: F401 (routes)
    entity_pages, list_pages, related_pages, review, revision_pages, role_pages, workflow_pages,
)
from .context import admin, admin_home, is_admin

__all__ = ["admin", "admin_home", "is_admin", "register_admin"]


def register_admin(app: Flask) -> None:
    """The pages, and `admin_home()` for templates (the pages' address, for administrators only)."""
    app.register_blueprint(admin)
    app.jinja_env.globals["admin_home"] = admin_home
