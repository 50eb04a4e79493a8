"""The trails: a filterable table of the inventory, and a picker for one trail."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import ipywidgets as widgets
import pandas as pd

from trailkit.errors import InputError
from trailkit.i18n import _
from trailkit.records import Inventory, Trail
from trailkit.rules.health import Health, HealthKind, inventory_health
from trailkit.ui import tables
from trailkit.ui.widgets._common import (
    account_words,
    esc,
    root,
    select_value,
    set_options,
    show,
)

__all__ = ["TrailPicker", "TrailsTable"]

_ALL = "(all)"
#: The columns the table shows (the CSV export keeps all of :data:`tables.TRAIL_COLUMNS`).
SHOWN_COLUMNS = [
    "name",
    "health",
    "encryption",
    "key_alias",
    "key_state",
    "home_region",
    "bucket_region",
    "logging",
    "multi_region",
    "organization",
    "account",
    "error",
]

#: The columns shown for a scan of several accounts: the account's name too.
ORG_SHOWN_COLUMNS = [
    *SHOWN_COLUMNS[: SHOWN_COLUMNS.index("account") + 1],
    "account_name",
    *SHOWN_COLUMNS[SHOWN_COLUMNS.index("account") + 1 :],
]

#: The widget's frame: every trail field, its health second (a table shows columns in order).
_COLUMNS = ["name", "health", *(c for c in tables.TRAIL_COLUMNS if c != "name")]
_ORG_COLUMNS = ["name", "health", *(c for c in tables.ORG_TRAIL_COLUMNS if c != "name")]


class TrailsTable:
    """Every trail once, coloured by its health, filtered by region, encryption and health
    (and by account, with the account's name shown, on a scan of several accounts).

    Each trail's health (:mod:`trailkit.rules.health`) is in its own column, in words, and
    colours the row: broken red, at-risk amber, unverifiable blue-grey, healthy green, SSE-S3
    neutral (:func:`tables.style_trails`); a trail on a Disabled key is never the green of a
    healthy one.

    Parameters
    ----------
    inventory
        A scan result (:func:`trailkit.scan`).
    healths
        The health of each trail by ARN (default:
        :func:`~trailkit.rules.health.inventory_health` of ``inventory``, now).
    """

    def __init__(self, inventory: Inventory, healths: Mapping[str, Health] | None = None) -> None:
        self._inventory = inventory
        self._healths = dict(healths if healths is not None else inventory_health(inventory))
        # several accounts: an account column with its name, and an account filter
        self._accounts = account_words(inventory.accounts, inventory.trails)
        self._frame = tables.TableFrame(
            tables.inventory_records(inventory, self._healths),
            columns=_ORG_COLUMNS if inventory.accounts else _COLUMNS,
        )
        self._shown = ORG_SHOWN_COLUMNS if inventory.accounts else SHOWN_COLUMNS
        listed = dict.fromkeys(str(a) for a in self._frame["account"].dropna())
        named = {a.account_id: a.label for a in inventory.accounts}
        self._w_account = widgets.Dropdown(
            options=[(_("(all)"), _ALL), *((named.get(a, a), a) for a in listed)],
            value=_ALL,
            description=_("Account"),
            style={"description_width": "initial"},
            layout=widgets.Layout(width="320px"),
        )
        self._w_account.add_class("tk-filter-account")
        regions = sorted({str(r) for r in self._frame["home_region"].dropna()})
        self._w_region = widgets.Dropdown(
            options=[(_("(all)"), _ALL), *((r, r) for r in regions)],
            value=_ALL,
            description=_("Home region"),
            style={"description_width": "initial"},
            layout=widgets.Layout(width="260px"),
        )
        self._w_region.add_class("tk-filter-region")
        self._w_encryption = widgets.Dropdown(
            options=[(_("(all)"), _ALL), ("SSE-KMS", "SSE-KMS"), ("SSE-S3", "SSE-S3")],
            value=_ALL,
            description=_("Encryption"),
            style={"description_width": "initial"},
            layout=widgets.Layout(width="220px"),
        )
        self._w_encryption.add_class("tk-filter-encryption")
        self._w_health = widgets.Dropdown(
            options=[
                (_("(all)"), _ALL),
                *((tables.health_word(k), str(k)) for k in HealthKind),
            ],
            value=_ALL,
            description=_("Health"),
            style={"description_width": "initial"},
            layout=widgets.Layout(width="220px"),
        )
        self._w_health.add_class("tk-filter-health")
        self._w_count = widgets.HTML()
        self._w_count.add_class("tk-trails-count")
        self._w_table = widgets.HTML()
        self._w_table.add_class("tk-trails")
        filters = [self._w_region, self._w_encryption, self._w_health]
        if self._accounts is not None:
            filters.insert(0, self._w_account)
        for w in filters:
            w.observe(self._render, names="value")
        self.layout = root(widgets.HBox([*filters, self._w_count]), self._w_table)
        self.layout.add_class("tk-trails-table")
        self._render()

    @property
    def frame(self) -> pd.DataFrame:
        """The rows currently shown (all of :data:`tables.TRAIL_COLUMNS`, and ``health``)."""
        frame = self._frame
        if self._w_account.value != _ALL:
            frame = frame[frame["account"] == self._w_account.value]
        if self._w_region.value != _ALL:
            frame = frame[frame["home_region"] == self._w_region.value]
        if self._w_encryption.value != _ALL:
            frame = frame[frame["encryption"] == self._w_encryption.value]
        if self._w_health.value != _ALL:
            frame = frame[frame["health"] == self._w_health.value]
        return frame

    @property
    def healths(self) -> dict[str, Health]:
        """The health of every trail of the inventory, by trail ARN."""
        return dict(self._healths)

    def filter(
        self,
        *,
        region: str | None = None,
        encryption: str | None = None,
        health: str | None = None,
        account: str | None = None,
    ) -> None:
        """Set the filters like the operator (None: all); e.g. ``health="broken"``;
        ``account`` is an account id of the inventory (a scan of several accounts).

        Raises
        ------
        InputError
            ``account`` is not an account of the table.
        """
        known = [v for _label, v in self._w_account.options if v != _ALL]
        if account is not None and account not in known:
            raise InputError(
                _("No account {account} is in this table.").format(account=account),
                _("give one of: {accounts}").format(accounts=", ".join(known) or "-"),
            )
        self._w_account.value = account or _ALL
        self._w_region.value = region or _ALL
        self._w_encryption.value = encryption or _ALL
        self._w_health.value = health or _ALL

    @property
    def value(self) -> list[Trail]:
        """The trails currently shown."""
        arns = set(self.frame["trail_arn"].dropna())
        return [t for t in self._inventory.trails if t.arn in arns]

    def html(self) -> str:
        """The shown rows as a trailkit table (:func:`tables.table_html`, coloured by
        :func:`tables.style_trails`): no NaN, one-line cells, short ids with the full value on
        hover, a wrapper that scrolls sideways."""
        rows = self.frame.reset_index(drop=True)  # a filter's row numbers mean nothing
        return tables.table_html(rows, max_rows=0, style=tables.style_trails, shown=self._shown)

    def _render(self, _change: Any = None) -> None:
        shown, total = len(self.frame), len(self._frame)
        kms = int((self.frame["encryption"] == "SSE-KMS").sum())
        self._w_count.value = (
            '<div class="tk-hint" style="margin-left:12px">'
            + esc(
                _("{shown} of {total} rows · {kms} SSE-KMS · {other} not").format(
                    shown=shown, total=total, kms=kms, other=shown - kms
                )
            )
            + "</div>"
        )
        self._w_table.value = self.html()

    def _ipython_display_(self) -> None:
        show(self.layout, self.html(), f"<TrailsTable: {len(self.frame)} trails>")


def trail_label(trail: Trail) -> str:
    """``name · home region · encryption`` (and ``organization`` when it is one), in the
    operator's language."""
    parts = [trail.name, trail.home_region, trail.encryption]
    if trail.organization:
        parts.append(_("organization"))
    if trail.account:
        parts.append(_("account {account}").format(account=trail.account))
    return " · ".join(parts)


class TrailPicker:
    """A dropdown of trails; ``value`` is the chosen :class:`Trail` (None until one is chosen).

    Parameters
    ----------
    trails
        The trails to choose from.
    on_change
        Called with the new value whenever the choice changes.
    """

    def __init__(
        self,
        trails: Sequence[Trail],
        on_change: Callable[[Trail | None], None] | None = None,
    ) -> None:
        self._on_change = on_change
        self._quiet = False
        self._trails = list(trails)
        self._w_select = widgets.Dropdown(
            options=self._options(), index=0, layout=widgets.Layout(width="min(640px, 100%)")
        )
        self._w_select.add_class("tk-trail-select")
        self._w_select.observe(self._changed, names="value")
        self._w_info = widgets.HTML()
        self._w_info.add_class("tk-trail-info")
        self.layout = widgets.VBox([self._w_select, self._w_info])
        self.layout.add_class("tk-trail-picker")

    def _options(self) -> list[tuple[str, Trail | None]]:
        first = _("— choose a trail —") if self._trails else _("(no trails found)")
        return [(first, None), *((trail_label(t), t) for t in self._trails)]

    @property
    def trails(self) -> list[Trail]:
        """The trails offered."""
        return list(self._trails)

    @property
    def value(self) -> Trail | None:
        """The chosen trail."""
        value: Trail | None = self._w_select.value
        return value

    def find(self, name_or_arn: str) -> Trail | None:
        """The offered trail with this ARN, or the only one with this name."""
        for t in self._trails:
            if t.arn == name_or_arn:
                return t
        named = [t for t in self._trails if t.name == name_or_arn]
        return named[0] if len(named) == 1 else None

    def select(self, name_or_arn: str | None) -> Trail | None:
        """Choose a trail by name or ARN (None clears); returns it, or None if not offered."""
        trail = self.find(name_or_arn) if name_or_arn else None
        select_value(self._w_select, trail)
        return trail

    def set_trails(self, trails: Sequence[Trail]) -> None:
        """Offer ``trails`` (the choice is cleared)."""
        self._trails = list(trails)
        set_options(self._w_select, self._options(), None)

    def add(self, trail: Trail) -> None:
        """Offer one more trail (e.g. found by ARN outside the regions listed)."""
        if self.find(trail.arn) is None:
            self._trails.append(trail)
            self._quiet = True
            try:
                set_options(self._w_select, self._options(), self.value)
            finally:
                self._quiet = False

    def replace(self, trail: Trail) -> None:
        """Swap in a re-read copy of an offered trail (same ARN) without firing ``on_change``."""
        chosen = self.value
        self._trails = [trail if t.arn == trail.arn else t for t in self._trails]
        self._quiet = True
        try:
            keep = self.find(chosen.arn) if chosen is not None else None
            set_options(self._w_select, self._options(), keep)
        finally:
            self._quiet = False
        self._show_info()

    def _show_info(self) -> None:
        t = self.value
        if t is None:
            self._w_info.value = ""
            return
        key = f"<code>{esc(t.kms_key_id)}</code>" if t.kms_key_id else esc(_("none (SSE-S3)"))
        if t.bucket_region:
            text = _("Now: {encryption} · key {key} · bucket {bucket} in {region}")
        else:
            text = _("Now: {encryption} · key {key} · bucket {bucket}")
        now = esc(text).format(
            encryption=f"<b>{esc(t.encryption)}</b>",
            key=key,
            bucket=esc(t.bucket_name),
            region=esc(t.bucket_region),
        )
        self._w_info.value = f'<div class="tk-current">{now}</div>'

    def _changed(self, _change: Any = None) -> None:
        self._show_info()
        if self._quiet or self._on_change is None:
            return
        self._on_change(self.value)

    def _ipython_display_(self) -> None:
        show(
            root(self.layout),
            "<div>"
            + esc(
                _("Trail: {name}").format(name=self.value.name if self.value else _("none chosen"))
            )
            + "</div>",
            f"<TrailPicker: {self.value.name if self.value else None}>",
        )
