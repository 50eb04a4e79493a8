"""trailkit: see, check and safely change the KMS encryption of AWS CloudTrail trails.

The public API is small: connect, read, check (and, from the change engine, plan/apply).
"""

from __future__ import annotations

from trailkit import tables
from trailkit.checks import Finding, Report, Verdict
from trailkit.errors import TrailkitError
from trailkit.inventory import Reader, scan
from trailkit.runbook import candidates, check
from trailkit.session import Connection, connect

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    # ipywidgets is only imported when a notebook asks for the widgets.
    if name == "widgets":
        import importlib

        return importlib.import_module("trailkit.widgets")
    raise AttributeError(f"module 'trailkit' has no attribute {name!r}")


__all__ = [
    "Connection",
    "Finding",
    "Reader",
    "Report",
    "TrailkitError",
    "Verdict",
    "__version__",
    "candidates",
    "check",
    "connect",
    "scan",
    "tables",
    "widgets",
]
