"""The connection banner: which account, caller and endpoint a view is looking at."""

from __future__ import annotations

import html

import ipywidgets as widgets

from trailkit.i18n import _, ngettext
from trailkit.records import ConnectionInfo, Inventory
from trailkit.ui.widgets._common import show

__all__ = ["ConnectionBanner", "partial_sentence"]

_DEMO_STYLE = "background:#e3f2fd;border-left:6px solid #1565c0;color:#0d47a1"
_AWS_STYLE = "background:#b71c1c;border-left:6px solid #ff1744;color:#ffffff"


class ConnectionBanner:
    """Account, caller, endpoint and backend; red and unmissable on real AWS.

    Parameters
    ----------
    info
        The connection's identity (``conn.info()``).
    inventory
        A scan result, to say whether it is partial (some regions could not be read).
    """

    def __init__(self, info: ConnectionInfo, inventory: Inventory | None = None) -> None:
        self._info = info
        self._inventory = inventory
        self._w_html = widgets.HTML(self._render())
        self._w_html.add_class("tk-banner")
        self._w_html.add_class("tk-banner-demo" if info.demo else "tk-banner-aws")

    @property
    def value(self) -> ConnectionInfo:
        """The connection shown."""
        return self._info

    @property
    def partial(self) -> bool:
        """True when the inventory shown is incomplete."""
        return bool(self._inventory and self._inventory.partial)

    def _render(self) -> str:
        info = self._info
        kind = html.escape(_("DEMO backend (local moto server)") if info.demo else _("REAL AWS"))
        style = _DEMO_STYLE if info.demo else _AWS_STYLE
        rows = [
            (_("Account:"), info.account),
            (_("Caller:"), info.caller_arn),
            (_("Endpoint:"), info.endpoint),
            (_("Region:"), info.region),
        ]
        cells = "".join(
            f"<div><b>{html.escape(k)}</b> <code>{html.escape(v)}</code></div>" for k, v in rows
        )
        partial = ""
        said = partial_sentence(self._inventory) if self._inventory is not None else None
        if said is not None:
            partial = (
                # amber on its own background, not the connection's blue: a warning
                '<div class="tk-banner-partial tk-note-warn" role="alert" style="margin-top:6px;'
                "font-weight:bold;padding:4px 8px;border-radius:3px;background:#fff8e1;"
                'color:#8a5300;border-left:5px solid #f9a825">' + html.escape(said) + "</div>"
            )
        return (
            f'<div style="{style};padding:8px 12px;border-radius:4px;font-family:sans-serif">'
            f'<div style="font-size:1.1em;font-weight:bold">{kind}</div>{cells}{partial}</div>'
        )

    def html(self) -> str:
        """The banner as HTML."""
        return self._render()

    def _ipython_display_(self) -> None:
        show(self._w_html, self._render(), self._info.header())


def partial_sentence(inventory: Inventory) -> str | None:
    """The PARTIAL RESULT sentence for ``inventory`` (plain text), or None when it is complete.

    On a scan of several accounts it names the accounts the failed calls were made in (by name
    when the scan knows it, ``name (id)``) and the regions only when some failed call had one:
    an account whose role could not be assumed has no region, and no ``?`` is ever shown. The
    connection banner and ``notebook.partial_banner`` both say this sentence.

    Parameters
    ----------
    inventory : Inventory
        A scan result.

    Returns
    -------
    str or None
        The translated sentence, or None when ``inventory.errors`` is empty.
    """
    if not inventory.partial:
        return None
    n = len(inventory.errors)
    where = ", ".join(sorted({e.region for e in inventory.errors if e.region}))
    accounts = sorted({e.account for e in inventory.errors if e.account})
    if accounts:  # a scan of several accounts: which accounts, by name when known
        named = ", ".join(
            f"{inventory.account_name(a)} ({a})" if inventory.account_name(a) else a
            for a in accounts
        )
        if where:
            return ngettext(
                "PARTIAL RESULT: {n} call failed (accounts: {accounts}; regions: {regions}); "
                "see the errors table.",
                "PARTIAL RESULT: {n} calls failed (accounts: {accounts}; regions: {regions}); "
                "see the errors table.",
                n,
            ).format(n=n, accounts=named, regions=where)
        # an account's role refused: no region to name
        return ngettext(
            "PARTIAL RESULT: {n} call failed (accounts: {accounts}); see the errors table.",
            "PARTIAL RESULT: {n} calls failed (accounts: {accounts}); see the errors table.",
            n,
        ).format(n=n, accounts=named)
    if not where:  # a failed call with neither account nor region: say neither
        return ngettext(
            "PARTIAL RESULT: {n} call failed; see the errors table.",
            "PARTIAL RESULT: {n} calls failed; see the errors table.",
            n,
        ).format(n=n)
    return ngettext(
        "PARTIAL RESULT: {n} call failed (regions: {regions}); see the errors table.",
        "PARTIAL RESULT: {n} calls failed (regions: {regions}); see the errors table.",
        n,
    ).format(n=n, regions=where)
