"""The change as code: the same change written for the tool that owns the trail and the key.

:class:`ChangeAsCode` shows one tab per format (CloudFormation, Terraform, CDK Python), each
the text of an injected ``make(fmt) -> Snippet`` (in practice
:meth:`trailkit.runbook.Runbook.snippet` bound to a trail and a key: the trail's key setting and
the key policy statements CloudTrail needs, the same values as trailkit's own plan and repair),
as a ``<pre>`` to read and a text area to copy from. An expected failure is the product's
error card, never a traceback.

The snippet is duck-typed (the fields of :class:`trailkit.rules.snippet.Snippet`: ``format``,
``language``, ``text``, ``key_arn``, ``statements``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as widgets

from trailkit.errors import InputError, TrailkitError
from trailkit.i18n import N_, _, ngettext
from trailkit.ui.widgets._common import error_html, esc, id_html, root, show

__all__ = ["FORMATS", "FORMAT_TITLES", "ChangeAsCode", "snippet_html"]

#: The formats, in tab order (``trailkit snippet --format``).
FORMATS: tuple[str, ...] = ("cloudformation", "terraform", "cdk")
#: Each format's tab title (product names: not translated).
FORMAT_TITLES: dict[str, str] = {
    "cloudformation": "CloudFormation",
    "terraform": "Terraform",
    "cdk": "CDK (Python)",
}
_PRE_STYLE = (
    "background:#fbfcfd;border:1px solid #d9e2ec;border-radius:4px;padding:8px;"
    "max-height:420px;overflow:auto;white-space:pre;margin:4px 0"
)
_IDLE = N_("Choose a trail and a key: the change is then written here as code.")


def snippet_html(snippet: Any) -> str:
    """One snippet: what it sets, and its text in an escaped ``<pre>``."""
    n = len(getattr(snippet, "statements", ()) or ())
    if not snippet.key_arn:  # turning SSE-KMS off: no key, no key policy statement
        head = esc(_("Turns SSE-KMS off on the trail: its log files get SSE-S3 (AES256)."))
        lang = esc(getattr(snippet, "language", ""))
        return (
            f'<div class="tk-hint">{head}</div>'
            f'<pre class="tk-snippet tk-snippet-{lang}" style="{_PRE_STYLE}">'
            f"<code>{esc(snippet.text)}</code></pre>"
        )
    if n:
        said = ngettext(
            "Sets the trail's key to {key} and adds {n} key policy statement for CloudTrail.",
            "Sets the trail's key to {key} and adds {n} key policy statements for CloudTrail.",
            n,
        )
    else:  # `trailkit policy` would add nothing: not "adds 0 statements"
        said = _("Sets the trail's key to {key} and adds no key policy statement for CloudTrail.")
    head = esc(said).format(key=id_html(snippet.key_arn), n=n)
    lang = esc(getattr(snippet, "language", ""))
    return (
        f'<div class="tk-hint">{head}</div>'
        f'<pre class="tk-snippet tk-snippet-{lang}" style="{_PRE_STYLE}">'
        f"<code>{esc(snippet.text)}</code></pre>"
    )


class ChangeAsCode:
    """Tabs of the change as code: CloudFormation, Terraform, CDK (Python).

    Parameters
    ----------
    make
        ``make(fmt) -> Snippet`` for ``fmt`` in :data:`FORMATS`; None: nothing chosen yet (see
        :meth:`set_source`).
    eager
        Write every format at once (a notebook cell); otherwise a tab is written when it is
        first shown after :meth:`load` (the guided update: choosing a key stays quick).
    formats
        The formats to offer, in tab order.
    """

    def __init__(
        self,
        make: Callable[[str], Any] | None = None,
        *,
        eager: bool = True,
        formats: Sequence[str] = FORMATS,
    ) -> None:
        if make is not None and not callable(make):
            raise InputError(_("make must be a function or None."), "")
        unknown = [f for f in formats if f not in FORMAT_TITLES]
        if unknown or not formats:
            raise InputError(
                _("formats must be some of {formats}, not {given}.").format(
                    formats=", ".join(FORMATS), given=", ".join(map(str, formats)) or "[]"
                ),
                "",
            )
        self._make = make
        self._formats = tuple(formats)
        self._snippets: dict[str, Any] = {}
        self._errors: dict[str, TrailkitError] = {}
        self._active = False
        self._w_hint = widgets.HTML()
        self._w_hint.add_class("tk-snippet-hint")
        self._w_show = widgets.Button(
            description=_("Write the change as code"),
            icon="code",
            layout=widgets.Layout(width="auto"),
        )
        self._w_show.add_class("tk-snippet-show")
        self._w_show.on_click(lambda _b: self.load())
        self._w_html: dict[str, Any] = {}
        self._w_text: dict[str, Any] = {}
        pages = []
        for fmt in self._formats:
            shown = widgets.HTML()
            shown.add_class(f"tk-snippet-{fmt}")
            copy = widgets.Textarea(
                value="",
                description="",
                layout=widgets.Layout(width="100%", height="160px", display="none"),
            )
            copy.add_class("tk-snippet-copy")
            self._w_html[fmt], self._w_text[fmt] = shown, copy
            pages.append(widgets.VBox([shown, copy]))
        self._w_tabs = widgets.Tab(children=pages)
        for i, fmt in enumerate(self._formats):
            self._w_tabs.set_title(i, FORMAT_TITLES[fmt])
        self._w_tabs.add_class("tk-change-as-code")
        self._w_tabs.observe(self._tab_chosen, names="selected_index")
        self.layout = widgets.VBox([self._w_hint, self._w_show, self._w_tabs])
        self.layout.add_class("tk-snippets")
        self._reset()
        if eager and make is not None:
            self.load_all()

    # -- values ----------------------------------------------------------------------------
    @property
    def value(self) -> Any:
        """The snippet of the tab shown (None until it is written, or when it failed)."""
        return self._snippets.get(self.format)

    @property
    def format(self) -> str:
        """The format of the tab shown."""
        return self._formats[self._w_tabs.selected_index or 0]

    @property
    def snippets(self) -> dict[str, Any]:
        """Every snippet written so far, by format."""
        return dict(self._snippets)

    @property
    def errors(self) -> dict[str, TrailkitError]:
        """Why a format could not be written, by format."""
        return dict(self._errors)

    def text(self, fmt: str) -> str:
        """The text of ``fmt`` as shown in its copy box (empty until written)."""
        return str(self._w_text[fmt].value)

    # -- loading ---------------------------------------------------------------------------
    def set_source(self, make: Callable[[str], Any] | None, title: str = "") -> None:
        """Write something else from now on (None: nothing chosen); what was written goes."""
        self._make = make
        self._reset(title)

    def _reset(self, title: str = "") -> None:
        self._snippets.clear()
        self._errors.clear()
        self._active = False
        for fmt in self._formats:
            self._w_html[fmt].value = ""
            self._w_text[fmt].value = ""
            self._w_text[fmt].layout.display = "none"
        if self._make is None:
            self._w_hint.value = f'<div class="tk-hint">{esc(_(_IDLE))}</div>'
        else:
            said = title or _("The change for the chosen trail and key.")
            self._w_hint.value = f'<div class="tk-hint">{esc(said)}</div>'
        self._w_show.disabled = self._make is None
        self._w_show.layout.display = None

    def load(self, fmt: str | None = None) -> Any:
        """Write ``fmt`` (None: the tab shown), show its tab, and from now on write each tab
        when it is chosen. Returns the snippet, or None when it could not be written (its tab
        shows why; :attr:`errors`)."""
        if fmt is not None and fmt not in self._formats:
            raise InputError(
                _("format must be one of {formats}, not {given}.").format(
                    formats=", ".join(self._formats), given=repr(fmt)
                ),
                _("choose cloudformation, terraform or cdk"),
            )
        self._active = True
        self._w_show.layout.display = "none"
        wanted = fmt or self.format
        index = self._formats.index(wanted)
        if self._w_tabs.selected_index != index:
            self._w_tabs.selected_index = index  # writes it through _tab_chosen
        self._write(wanted)
        return self._snippets.get(wanted)

    def load_all(self) -> dict[str, Any]:
        """Write every format; returns the snippets written (failures: :attr:`errors`)."""
        shown = self.format
        for fmt in self._formats:
            self._write(fmt)
        self._active = True
        self._w_show.layout.display = "none"
        self._w_tabs.selected_index = self._formats.index(shown)
        return self.snippets

    def _tab_chosen(self, change: Any) -> None:
        if self._active and change["new"] is not None:
            self._write(self._formats[change["new"]])

    def _write(self, fmt: str) -> None:
        make = self._make
        if make is None or fmt in self._snippets or fmt in self._errors:
            return
        try:
            snippet = make(fmt)
        except TrailkitError as err:
            self._errors[fmt] = err
            self._w_html[fmt].value = error_html(err)
            return
        self._snippets[fmt] = snippet
        self._w_html[fmt].value = snippet_html(snippet)
        self._w_text[fmt].value = snippet.text
        self._w_text[fmt].layout.display = None

    # -- display ---------------------------------------------------------------------------
    def html(self) -> str:
        """A static summary: every format written so far, under its title."""
        parts = []
        for fmt in self._formats:
            if fmt in self._snippets:
                body = snippet_html(self._snippets[fmt])
            elif fmt in self._errors:
                body = error_html(self._errors[fmt])
            else:
                continue
            parts.append(f"<h4>{esc(FORMAT_TITLES[fmt])}</h4>{body}")
        return "".join(parts) or str(self._w_hint.value)

    def _ipython_display_(self) -> None:
        show(root(self.layout), self.html(), "<ChangeAsCode>")
