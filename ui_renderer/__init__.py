"""The web front end: Flask blueprints and Jinja2 templates rendered from the `Model`."""

from .app import create_app

__all__ = ["create_app"]
