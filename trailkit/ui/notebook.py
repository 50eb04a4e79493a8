"""What the runbook notebooks call: each function is about one cell's worth of work.

The widgets never call AWS; this module hands them a :class:`~trailkit.runbook.Runbook` (one
connection, one reader, one journal), the same use cases the command line calls, so a notebook
stays a list of single calls (no loops, no function definitions) and a papermill run takes the
same path as a click.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import pandas as pd

from trailkit.aws.session import Connection, is_local_endpoint
from trailkit.change.journal import Journal, default_path
from trailkit.errors import TrailkitError
from trailkit.records import Inventory
from trailkit.records.journal import changes_frame
from trailkit.rules.checks import Report
from trailkit.runbook import Runbook
from trailkit.ui.widgets import BulkUpdate, GuidedUpdate, JournalView, PolicyPanel, Step
from trailkit.ui.widgets.checklist import checklist_html

__all__ = [
    "bulk_update",
    "changes_table",
    "check_trails",
    "guided_update",
    "journal_view",
    "key_policy",
    "open_journal",
    "runbook",
]


def open_journal(path: str | Path | None = None, *, demo: bool | None = None) -> Journal:
    """The change journal at ``path``.

    None: ``$TRAILKIT_JOURNAL``, else the user data dir's journal, or on the demo backend
    (``demo``; None: ``TRAILKIT_BACKEND=demo`` or a loopback ``AWS_ENDPOINT_URL``) the demo's
    own ``demo-journal.jsonl``, so demo changes never mix with real ones.
    """
    if path is not None:
        return Journal(path)
    if demo is None:
        backend = os.environ.get("TRAILKIT_BACKEND", "")
        demo = backend == "demo" or (
            backend != "aws" and is_local_endpoint(os.environ.get("AWS_ENDPOINT_URL"))
        )
    return Journal(default_path(demo=demo))


def runbook(conn: Connection, journal: Journal, *, regions: Sequence[str] | None = None) -> Runbook:
    """The use cases bound to ``conn`` and ``journal`` (what every view below is given)."""
    return Runbook(conn, journal, regions=regions)


def guided_update(
    conn: Connection, journal: Journal, *, regions: Sequence[str] | None = None
) -> GuidedUpdate:
    """The guided update view of notebook 02 and the Voila app, on the runbook.

    Nothing is read until it is displayed (or a headless step runs), so progress is visible.
    """
    return GuidedUpdate(Runbook(conn, journal, regions=regions))


def key_policy(
    conn: Connection, journal: Journal, key: str | None, trails: Sequence[str] | None
) -> PolicyPanel:
    """Notebook 03: the add-only repair of ``key``'s policy for ``trails``, ready to apply."""
    book = Runbook(conn, journal)
    panel = PolicyPanel(partial(book.apply_repair, confirmed=True), demo=book.demo)
    if not key or not trails:
        panel.show(
            None,
            '<div class="tk-hint">Set <code>key</code> and <code>trails</code> in the '
            "parameters cell.</div>",
        )
        return panel
    try:
        panel.show(book.plan_repair(list(trails), key))
    except TrailkitError as err:
        panel.show_error(err)
    return panel


def check_trails(conn: Connection, trails: Sequence[str] | None, key: str | None) -> Step | None:
    """Pre-flight of ``key`` for each trail (read fresh), as one step of checklists."""
    if not trails or key is None:
        return None
    book = Runbook(conn, Journal())
    reports: list[Report] = [book.check(name, key) for name in trails]
    ok = all(r.ready for r in reports)
    html = "".join(checklist_html(r) for r in reports)
    return Step(f"Pre-flight of {key}", ok, html, reports)


def bulk_update(conn: Connection, journal: Journal, inventory: Inventory) -> BulkUpdate:
    """Notebook 04: several trails of ``inventory``, one key per bucket region, apply all."""
    book = Runbook(conn, journal)
    return BulkUpdate(
        inventory.trails,
        keys=book.candidate_keys,
        plan=book.plan_many,
        apply=partial(book.apply_many, confirmed=True),
        demo=book.demo,
    )


def journal_view(conn: Connection, journal: Journal) -> JournalView:
    """Notebook 05: the recorded changes, with rollback (policy changes: restore)."""
    book = Runbook(conn, journal)
    return JournalView(journal, partial(book.undo, confirmed=True), demo=book.demo)


def changes_table(journal: Journal) -> pd.DataFrame:
    """The journal as a DataFrame (one row per change)."""
    return pd.DataFrame(changes_frame(journal.changes()))
