"""trailkit: see, check and safely change the KMS encryption of AWS CloudTrail trails.

The public API is small: connect, read, check (and, from the runbook, plan/apply/roll back).
It is lazy (PEP 562 module ``__getattr__``): ``import trailkit`` loads neither boto3 nor pandas;
each name is imported from its layer the first time it is used. See ``docs/architecture.md``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: public name -> (module, attribute); attribute ``None`` means the module itself.
_LAZY: dict[str, tuple[str, str | None]] = {
    "Connection": ("trailkit.aws.session", "Connection"),
    "connect": ("trailkit.aws.session", "connect"),
    "Reader": ("trailkit.aws.reader", "Reader"),
    "scan": ("trailkit.ui.progress", "scan"),
    "Finding": ("trailkit.rules.checks", "Finding"),
    "Report": ("trailkit.rules.checks", "Report"),
    "Verdict": ("trailkit.rules.checks", "Verdict"),
    "TrailkitError": ("trailkit.errors", "TrailkitError"),
    "candidates": ("trailkit.runbook", "candidates"),
    "check": ("trailkit.runbook", "check"),
    "tables": ("trailkit.ui.tables", None),
    "notebook": ("trailkit.ui.notebook", None),
    "widgets": ("trailkit.ui.widgets", None),
}

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from trailkit.aws.reader import Reader
    from trailkit.aws.session import Connection, connect
    from trailkit.errors import TrailkitError
    from trailkit.rules.checks import Finding, Report, Verdict
    from trailkit.runbook import candidates, check
    from trailkit.ui import notebook, tables, widgets
    from trailkit.ui.progress import scan


def __getattr__(name: str) -> Any:
    try:
        module, attribute = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'trailkit' has no attribute {name!r}") from None
    loaded = importlib.import_module(module)
    value = loaded if attribute is None else getattr(loaded, attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


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
    "notebook",
    "scan",
    "tables",
    "widgets",
]
