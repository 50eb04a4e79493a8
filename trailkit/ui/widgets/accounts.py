"""The accounts of a scan of several accounts (issue 16): one row per account.

Notebook 01 with ``org=True`` (or ``accounts=[...]``) reads every account of the organization
(or those given) through a role (:mod:`trailkit.aws.accounts`) into one merged
:class:`~trailkit.records.Inventory`. :class:`AccountSummary` shows it per account: the name and
id, how many trails the account has, how many of them have each health, the organization
trails' delivery status as read in that account (a member's delivery errors show only there),
and, for an account that could not be read (its role could not be assumed: ``AssumeRole``
refused), why, instead of counts that would say "nothing wrong".

Pure presentation: the rows are computed from the inventory and the healths given (no rule
decided here, no AWS call); :func:`account_rows` is the same computation without a widget.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

import ipywidgets as widgets

from trailkit.i18n import N_, _, ngettext
from trailkit.records import Account, Inventory, ScanError, Trail, TrailStatus
from trailkit.rules.health import Health, HealthKind, health_counts, inventory_health
from trailkit.ui import tables
from trailkit.ui.widgets._common import esc, root, show, text_html, wide_table_html
from trailkit.ui.widgets.health import HEALTH_PALETTE

__all__ = ["ASSUME_ROLE", "AccountRow", "AccountSummary", "account_rows"]

#: The operation of the error row of an account whose role could not be assumed.
ASSUME_ROLE = "AssumeRole"

#: How complete an account's row is: every call answered, some failed, or nothing read.
COMPLETE, PARTIAL, UNREADABLE = "complete", "partial", "unreadable"
_STATE_WORDS = {
    COMPLETE: N_("read"),
    PARTIAL: N_("partly read"),
    UNREADABLE: N_("not read"),
}
_STATE_BADGE = {COMPLETE: "healthy", PARTIAL: "at-risk", UNREADABLE: "broken"}
#: The health columns, the most urgent first.
_KINDS = tuple(str(k) for k in HealthKind)


@dataclass(frozen=True)
class AccountRow:
    """One account of a scan of several accounts, as the summary shows it.

    Parameters
    ----------
    account : Account
        The account (id, name when Organizations gave it, the role assumed in it).
    trails : tuple of Trail
        The trails of the account (``Trail.account``); an organization trail is in its
        management account's row only.
    counts : Mapping of str to int
        How many of ``trails`` have each health (every kind, zero included).
    errors : tuple of ScanError
        The calls that failed in this account (``ScanError.account``).
    member_status : Mapping of str to TrailStatus
        Organization trail ARN -> its status read in this account
        (:attr:`Inventory.member_status`); empty in the management account.
    """

    account: Account
    trails: tuple[Trail, ...] = ()
    counts: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    errors: tuple[ScanError, ...] = ()
    member_status: Mapping[str, TrailStatus] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def account_id(self) -> str:
        """The 12-digit account id."""
        return self.account.account_id

    @property
    def assume_role_error(self) -> ScanError | None:
        """The error of ``AssumeRole`` into the account (then nothing of it was read)."""
        return next(
            (
                e
                for e in self.errors
                if e.operation == ASSUME_ROLE or e.permission == f"sts:{ASSUME_ROLE}"
            ),
            None,
        )

    @property
    def unread_error(self) -> ScanError | None:
        """The error that left nothing of the account read: ``AssumeRole`` refused, or
        ``ListTrails`` failed and no trail was read after it
        (:data:`trailkit.ui.tables.ACCOUNT_OPERATIONS`)."""
        assumed = self.assume_role_error
        if assumed is not None or self.trails:
            return assumed
        return next((e for e in self.errors if e.operation in tables.ACCOUNT_OPERATIONS), None)

    @property
    def state(self) -> str:
        """``unreadable`` (its role could not be assumed, or its trails could not be listed),
        ``partial`` (some call failed) or ``complete``."""
        if self.unread_error is not None:
            return UNREADABLE
        return PARTIAL if self.errors else COMPLETE

    @property
    def delivery_errors(self) -> dict[str, str]:
        """Organization trail ARN -> the delivery error CloudTrail reports for it in this
        account (log or digest delivery; ``GetTrailStatus`` read in the member)."""
        found = {}
        for arn, status in self.member_status.items():
            error = status.latest_delivery_error or status.latest_digest_delivery_error
            if error:
                found[arn] = error
        return found

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (field names as in the inventory's JSON)."""
        return {
            **self.account.as_dict(),
            "state": self.state,
            "trails": len(self.trails),
            "health": dict(self.counts),
            "errors": [e.as_dict() for e in self.errors],
            "organization_trail_delivery_errors": self.delivery_errors,
        }


def account_rows(inventory: Inventory, healths: Mapping[str, Health]) -> list[AccountRow]:
    """One row per account of ``inventory``, in the order the accounts were asked for.

    A scan of the caller's own account only (``inventory.accounts`` empty) gives one row, the
    caller's. An error without an account (``ScanError.account`` None) is the caller's; an
    account that holds trails or errors without being asked for gets a row after the others
    (nothing is silently dropped).
    """
    caller = inventory.connection.account
    accounts: list[Account] = list(inventory.accounts) or [Account(caller)]
    known = {a.account_id for a in accounts}
    extra = [t.account for t in inventory.trails] + [e.account or caller for e in inventory.errors]
    for account_id in extra:
        if account_id not in known:
            known.add(account_id)
            accounts.append(Account(account_id))
    rows = []
    for account in accounts:
        own = tuple(t for t in inventory.trails if t.account == account.account_id)
        counts = health_counts({t.arn: healths[t.arn] for t in own if t.arn in healths})
        errors = tuple(e for e in inventory.errors if (e.account or caller) == account.account_id)
        member = {
            arn: by_member[account.account_id]
            for arn, by_member in inventory.member_status.items()
            if account.account_id in by_member
        }
        rows.append(
            AccountRow(
                account,
                own,
                MappingProxyType(counts),
                errors,
                MappingProxyType(member),
            )
        )
    return rows


def _count_cell(kind: str, n: int) -> str:
    if not n:
        return '<span style="opacity:.45">0</span>'
    bg, fg, border = HEALTH_PALETTE[kind]
    return (
        f'<span class="tk-account-count tk-health-count-{esc(kind)}" style="display:inline-block;'
        f"min-width:1.6em;text-align:center;padding:0 6px;border-radius:10px;background:{bg};"
        f'color:{fg};border:1px solid {border};font-weight:700">{n}</span>'
    )


def _name_cell(account: Account) -> str:
    name = f"<b>{esc(account.name)}</b> " if account.name else ""
    role = f' title="{esc(account.role_arn)}"' if account.role_arn else ""
    return f"{name}<code{role}>{esc(account.account_id)}</code>"


def _state_badge(state: str) -> str:
    """Read, partly read or not read, coloured as healthy, at risk or broken."""
    bg, fg, border = HEALTH_PALETTE[_STATE_BADGE[state]]
    return (
        f'<span class="tk-account-state tk-account-state-{esc(state)}" style="display:inline-block;'
        f"padding:1px 8px;border-radius:10px;font-size:12px;font-weight:700;white-space:nowrap;"
        f'background:{bg};color:{fg};border:1px solid {border}">'
        f"{esc(_(_STATE_WORDS[state]))}</span>"
    )


class AccountSummary:
    """Notebook 01 over several accounts: one row per account, what was read in it.

    Each row: the account (name and id), whether it was read (read, partly read, not read),
    how many trails it has and how many of them are broken, at risk, unverifiable, healthy or
    SSE-S3, and notes: why the account could not be read (the ``AssumeRole`` error, with its
    code and permission), the calls that failed in it, and the organization trails' delivery
    errors as CloudTrail reports them in that account. The healths are the inventory's
    (:func:`~trailkit.rules.health.inventory_health`), so the counts add up to the health
    summary's.

    Parameters
    ----------
    inventory
        A scan result: the merged inventory of ``notebook.org_inventory`` (or of
        :func:`trailkit.scan`, then one row, the caller's account).
    healths
        The health of each trail by ARN (default: ``inventory_health(inventory)`` now).
    now
        The time the healths are judged at when they are computed here (default: now, UTC).
    """

    def __init__(
        self,
        inventory: Inventory,
        healths: Mapping[str, Health] | None = None,
        *,
        now: datetime | None = None,
    ) -> None:
        self._inventory = inventory
        found = (
            healths
            if healths is not None
            else inventory_health(inventory, now=now or datetime.now(UTC))
        )
        self._rows = account_rows(inventory, found)
        self._w_html = widgets.HTML(self.html())
        self._w_html.add_class("tk-account-summary")
        self.layout = root(self._w_html)

    @property
    def value(self) -> list[AccountRow]:
        """One row per account, in the order asked (the caller's account first)."""
        return list(self._rows)

    def row(self, account_id: str) -> AccountRow | None:
        """The row of ``account_id`` (None: no such account in the scan)."""
        return next((r for r in self._rows if r.account_id == account_id), None)

    @property
    def unreadable(self) -> list[AccountRow]:
        """The accounts that could not be read at all (their role could not be assumed, or
        their trails could not be listed)."""
        return [r for r in self._rows if r.state == UNREADABLE]

    def _headline(self) -> str:
        total = len(self._rows)
        unread = len(self.unreadable)
        broken = [r for r in self._rows if r.counts.get("broken")]
        parts = [
            ngettext("{n} account looked at.", "{n} accounts looked at.", total).format(n=total)
        ]
        if unread:
            parts.append(
                ngettext(
                    "{n} of them could not be read: see why below.",
                    "{n} of them could not be read: see why below.",
                    unread,
                ).format(n=unread)
            )
        if broken:
            parts.append(
                ngettext(
                    "{n} account has a broken trail.",
                    "{n} accounts have a broken trail.",
                    len(broken),
                ).format(n=len(broken))
            )
        delivery = [r for r in self._rows if r.delivery_errors]
        if delivery:
            parts.append(
                ngettext(
                    "{n} account reports delivery errors of an organization trail.",
                    "{n} accounts report delivery errors of an organization trail.",
                    len(delivery),
                ).format(n=len(delivery))
            )
        kind = "blocked" if broken or unread else ("warn" if delivery else "ready")
        return (
            f'<div class="tk-headline tk-{kind} tk-account-headline">{esc(" ".join(parts))}</div>'
        )

    def _notes(self, row: AccountRow) -> str:
        notes = []
        failed = row.unread_error
        if failed is not None:
            if failed is row.assume_role_error:
                said = _("Not read: the role could not be assumed ({code}).").format(
                    code=failed.code
                )
            else:
                said = _("Not read: {operation} failed ({code}).").format(
                    operation=failed.operation, code=failed.code
                )
            notes.append(
                f'<div class="tk-account-unreadable" style="color:#b71c1c">'
                f"<b>{esc(said)}</b> {text_html(failed.message)}</div>"
            )
        others = [e for e in row.errors if e is not failed]
        if others:
            regions = ", ".join(sorted({e.region or "-" for e in others}))
            said = ngettext(
                "{n} call failed (regions: {regions}); see the errors table.",
                "{n} calls failed (regions: {regions}); see the errors table.",
                len(others),
            ).format(n=len(others), regions=regions)
            notes.append(f'<div class="tk-account-errors" style="color:#7a5d00">{esc(said)}</div>')
        names = {t.arn: t.name for t in self._inventory.trails}
        for arn, error in sorted(row.delivery_errors.items()):
            said = _("Organization trail {trail}: delivery error in this account: {error}").format(
                trail=names.get(arn, arn), error=error
            )
            notes.append(
                f'<div class="tk-account-delivery" data-trail="{esc(arn)}" style="color:#b71c1c">'
                f"{text_html(said)}</div>"
            )
        return "".join(notes)

    def html(self) -> str:
        """The summary as HTML: the headline, then the table of accounts."""
        head = [_("account"), _("read"), _("trails"), *(tables.health_word(k) for k in _KINDS)]
        head.append(_("notes"))
        body = []
        for row in self._rows:
            state = _state_badge(row.state)
            if row.state == UNREADABLE:
                counts = ["-"] * (len(_KINDS) + 1)
            else:
                counts = [str(len(row.trails))] + [
                    _count_cell(k, row.counts.get(k, 0)) for k in _KINDS
                ]
            body.append(
                [
                    f'<span class="tk-account" data-account="{esc(row.account_id)}" '
                    f'data-state="{esc(row.state)}">{_name_cell(row.account)}</span>',
                    state,
                    *counts,
                    self._notes(row),
                ]
            )
        table = wide_table_html(head, body, "tk-accounts", text=(_("notes"),))
        return f'<div class="tk-accounts-summary">{self._headline()}{table}</div>'

    def _ipython_display_(self) -> None:
        said = ", ".join(f"{r.account_id}={r.state}" for r in self._rows)
        show(self.layout, self.html(), f"<AccountSummary: {said}>")
