"""Ossature: a metadata-driven XRM engine. This package holds the `ossature` command line and the demo data."""

__version__ = "0.1.0"
