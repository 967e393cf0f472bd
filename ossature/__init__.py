"""Ossature: a metadata-driven XRM engine. This package holds the command line and its configuration."""

__version__ = "0.1.0"
