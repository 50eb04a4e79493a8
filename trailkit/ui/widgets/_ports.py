"""What the widgets are given: the shapes of the runbook and journal they call (ports).

The widgets import nothing from :mod:`trailkit.aws`, :mod:`trailkit.change` or
:mod:`trailkit.runbook` (an import contract checks it): they render records and call these
methods. :class:`trailkit.runbook.Runbook` and :class:`trailkit.change.journal.Journal` satisfy
the protocols; the widget tests pass small fakes instead, with no AWS and no moto.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from trailkit.records import (
    ApplyResult,
    Change,
    ConnectionInfo,
    Delivery,
    PolicyResult,
    ReadResult,
    Trail,
)
from trailkit.rules.checks import Report, Verdict
from trailkit.rules.plan import Plan
from trailkit.rules.repair import Repair

__all__ = ["GuidedRunbook", "JournalSource"]


class JournalSource(Protocol):
    """The change journal as a view reads it (a local file: no AWS call)."""

    @property
    def path(self) -> Path:
        """Where the journal is."""
        ...

    def read(self) -> ReadResult:
        """Every readable record, and the problems of the lines that are not."""
        ...

    def changes(self) -> list[Change]:
        """Every change, oldest first."""
        ...

    def get(self, change_id: str) -> Change:
        """One change; raises :class:`~trailkit.errors.JournalError` when unknown."""
        ...


class GuidedRunbook(Protocol):
    """The use cases the guided update calls (see :class:`trailkit.runbook.Runbook`)."""

    @property
    def journal(self) -> JournalSource:
        """The journal the changes are recorded in."""
        ...

    @property
    def regions(self) -> Sequence[str] | None:
        """Where trails are listed (None: every enabled region)."""
        ...

    def info(self) -> ConnectionInfo:
        """Account, caller and endpoint, shown before anything is changed."""
        ...

    def refresh(self) -> None:
        """Forget what was read."""
        ...

    def list_trails(self) -> list[Trail]:
        """The trails to offer."""
        ...

    def find_trail(self, trail: str) -> Trail:
        """The trail with that name or ARN (NotFound otherwise)."""
        ...

    def reread(self, trail: Trail) -> Trail:
        """``trail`` read again from AWS."""
        ...

    def rank(self, trail: Trail) -> list[Verdict]:
        """The candidate keys of the trail's bucket region, ranked."""
        ...

    def check(self, trail: Trail, key: str) -> Report:
        """Pre-flight of ``key`` for ``trail``."""
        ...

    def plan(self, report: Report) -> Plan:
        """The exact request a report leads to."""
        ...

    def repair_for(self, report: Report) -> Repair | None:
        """The add-only key policy repair a report calls for, or None."""
        ...

    def apply(self, plan: Plan, *, confirmed: bool) -> ApplyResult:
        """Send a plan (only when ``confirmed is True``)."""
        ...

    def plan_rollback(self, change_id: str | None = None) -> Plan:
        """The plan of undoing a trail change, from the live state (nothing sent)."""
        ...

    def rollback(
        self, change_id: str | None = None, *, confirmed: bool, accept_unverifiable: bool = False
    ) -> ApplyResult:
        """Undo a trail change (an UNVERIFIABLE rollback only with ``accept_unverifiable``)."""
        ...

    def apply_repair(self, repair: Repair, *, confirmed: bool) -> PolicyResult:
        """Send a key policy repair."""
        ...

    def verify(self, trail: Trail) -> Delivery:
        """Delivery status after a change."""
        ...

    def undoable(self, trail_arn: str | None = None) -> list[Change]:
        """Applied trail changes not undone yet, newest first."""
        ...
