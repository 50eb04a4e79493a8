"""What the runbook notebooks call: each function is about one cell's worth of work.

The widgets never call AWS; this module wires them to the change engine
(:mod:`trailkit.change.update`) with one connection and one journal, so a notebook stays a list of
single calls (no loops, no function definitions) and a papermill run takes the same path as a
click.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from trailkit.aws.reader import Reader
from trailkit.aws.session import Connection
from trailkit.change import update
from trailkit.change.journal import Journal, Kind
from trailkit.errors import InputError, TrailkitError
from trailkit.records import ApplyResult, Delivery, Inventory, KeyInfo, PolicyResult, Trail
from trailkit.records.journal import changes_frame
from trailkit.rules.checks import Report
from trailkit.rules.plan import Plan, plan_change
from trailkit.rules.repair import Repair
from trailkit.runbook import check, plan_policy_repair, plan_rollback
from trailkit.ui.widgets import BulkUpdate, GuidedUpdate, JournalView, PolicyPanel, Step
from trailkit.ui.widgets.bulk import PlanRow
from trailkit.ui.widgets.checklist import checklist_html

__all__ = [
    "Actions",
    "bulk_update",
    "changes_table",
    "check_trails",
    "guided_update",
    "journal_view",
    "key_policy",
    "open_journal",
]


def open_journal(path: str | Path | None = None) -> Journal:
    """The change journal at ``path`` (None: ``$TRAILKIT_JOURNAL`` or the user data dir)."""
    return Journal(path)


@dataclass
class Actions:
    """The change engine bound to one connection and journal: what the widgets are given.

    Every action is confirmed by the widget that calls it (its checkbox, and on real AWS the
    typed name), so here ``confirmed=True``.
    """

    conn: Connection
    journal: Journal

    def reader(self) -> Reader:
        """A fresh reader (nothing cached)."""
        return Reader(self.conn)

    def apply(self, plan: Plan) -> ApplyResult:
        """Send one plan (``trailkit.change.update.apply``)."""
        return update.apply(self.conn, plan, self.journal, confirmed=True)

    def apply_many(self, plans: list[Plan]) -> list[ApplyResult]:
        """Send several plans, one result per trail (``trailkit.change.update.apply_many``)."""
        return update.apply_many(self.conn, plans, self.journal, confirmed=True)

    def rollback(self, change_id: str) -> ApplyResult:
        """Plan the rollback of a recorded trail change from the live state, and send it."""
        plan = plan_rollback(self.reader(), self.journal, change_id)
        return update.apply(self.conn, plan, self.journal, confirmed=True)

    def apply_policy(self, repair: Repair) -> PolicyResult:
        """Send an add-only key policy repair (``trailkit.change.update.put_key_policy``)."""
        trail_arn = repair.trails[0].arn if len(repair.trails) == 1 else None
        return update.put_key_policy(
            self.conn,
            repair.key.arn,
            repair.original_text,
            repair.policy_text,
            self.journal,
            confirmed=True,
            trail_arn=trail_arn,
        )

    def undo(self, change_id: str) -> ApplyResult | PolicyResult:
        """Roll back a trail change, or restore the policy recorded before a policy change."""
        change = self.journal.get(change_id)
        if change.intent.kind is Kind.KEY_POLICY:
            return update.restore_policy(self.conn, self.journal, change_id, confirmed=True)
        return self.rollback(change_id)

    def verify(self, trail: Trail) -> Delivery:
        """Delivery status of a trail (``GetTrailStatus``)."""
        return update.verify_delivery(self.conn, trail)


def guided_update(
    conn: Connection, journal: Journal, *, regions: Sequence[str] | None = None
) -> GuidedUpdate:
    """The guided update view of notebook 02 and the Voila app, wired to the change engine.

    Nothing is read until it is displayed (or a headless step runs), so progress is visible.
    """
    actions = Actions(conn, journal)
    return GuidedUpdate(
        Reader(conn),
        journal,
        apply=actions.apply,
        rollback=actions.rollback,
        apply_policy=actions.apply_policy,
        verify=actions.verify,
        regions=regions,
    )


def key_policy(
    conn: Connection, journal: Journal, key: str | None, trails: Sequence[str] | None
) -> PolicyPanel:
    """Notebook 03: the add-only repair of ``key``'s policy for ``trails``, ready to apply."""
    actions = Actions(conn, journal)
    panel = PolicyPanel(actions.apply_policy, demo=conn.demo)
    if not key or not trails:
        panel.show(
            None,
            '<div class="tk-hint">Set <code>key</code> and <code>trails</code> in the '
            "parameters cell.</div>",
        )
        return panel
    try:
        panel.show(plan_policy_repair(Reader(conn), list(trails), key))
    except TrailkitError as err:
        panel.show_error(err)
    return panel


def check_trails(conn: Connection, trails: Sequence[str] | None, key: str | None) -> Step | None:
    """Pre-flight of ``key`` for each trail (read fresh), as one step of checklists."""
    if not trails or key is None:
        return None
    reader = Reader(conn)
    reports: list[Report] = [check(reader, name, key) for name in trails]
    ok = all(r.ready for r in reports)
    html = "".join(checklist_html(r) for r in reports)
    return Step(f"Pre-flight of {key}", ok, html, reports)


def _plan_rows(
    reader: Reader, trails: list[Trail], keys_by_region: Mapping[str, str]
) -> list[PlanRow]:
    rows: list[PlanRow] = []
    for trail in trails:
        region = trail.bucket_region
        key = keys_by_region.get(region) if region else None
        if key is None:
            rows.append(
                (
                    trail,
                    InputError(
                        f"No key was chosen for {region or 'the bucket region (unknown)'}.",
                        "choose a key for every bucket region",
                    ),
                )
            )
            continue
        try:
            rows.append((trail, plan_change(check(reader, trail, key))))
        except TrailkitError as err:
            rows.append((trail, err))
    return rows


def bulk_update(conn: Connection, journal: Journal, inventory: Inventory) -> BulkUpdate:
    """Notebook 04: several trails of ``inventory``, one key per bucket region, apply all."""
    actions = Actions(conn, journal)
    reader = Reader(conn)

    def keys(region: str) -> Sequence[KeyInfo]:
        return reader.candidate_keys(region)

    def plan(trails: list[Trail], keys_by_region: dict[str, str]) -> list[PlanRow]:
        reader.refresh()
        fresh = [reader.find_trail(t.arn) for t in trails]
        return _plan_rows(reader, fresh, keys_by_region)

    return BulkUpdate(
        inventory.trails, keys=keys, plan=plan, apply=actions.apply_many, demo=conn.demo
    )


def journal_view(conn: Connection, journal: Journal) -> JournalView:
    """Notebook 05: the recorded changes, with rollback (policy changes: restore)."""
    return JournalView(journal, Actions(conn, journal).undo, demo=conn.demo)


def changes_table(journal: Journal) -> pd.DataFrame:
    """The journal as a DataFrame (one row per change)."""
    return pd.DataFrame(changes_frame(journal.changes()))
