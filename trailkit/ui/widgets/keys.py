"""The key picker: the candidate keys of the bucket region, ranked, or a typed identifier."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from trailkit.errors import KeyIdError, TrailkitError
from trailkit.i18n import N_, _, ngettext
from trailkit.records import Trail
from trailkit.rules.checks import Verdict, VerdictKind
from trailkit.rules.keyids import parse_key_id
from trailkit.ui.widgets._common import (
    badge,
    error_html,
    esc,
    note_html,
    root,
    select_value,
    set_options,
    show,
    spinner_html,
    text_html,
)

__all__ = ["DISABLE", "KeyChoice", "KeyPicker"]

#: The choice that turns SSE-KMS off (``KmsKeyId=""``).
DISABLE = ""
_DISABLE_LABEL = N_("SSE-S3 — turn SSE-KMS off (no key)")
_NOTE_KIND = {
    VerdictKind.READY: "ok",
    VerdictKind.BLOCKED: "bad",
    VerdictKind.UNVERIFIABLE: "warn",
}

#: What :attr:`KeyPicker.value` returns: a ranked candidate, a typed identifier (``str``;
#: ``""`` turns SSE-KMS off), or None.
KeyChoice = Verdict | str | None


def choice_text(choice: KeyChoice) -> str | None:
    """The identifier to check for a choice: the key ARN of a verdict, or the typed text."""
    if isinstance(choice, Verdict):
        return choice.key.arn
    return choice


class KeyPicker:
    """Candidate keys of the trail's bucket region (ready first), or a typed key ARN/alias.

    Parameters
    ----------
    rank
        ``rank(trail) -> list[Verdict]``: the ranked candidates (``trailkit.candidates``).
    on_change
        Called with the new :attr:`value` whenever the choice changes.
    allow_disable
        Offer "turn SSE-KMS off" as the last choice.
    explain
        Say why under the choice (the first finding and its remedy). False where a checklist
        next to it says it already: the verdict and its code only (one voice).
    """

    def __init__(
        self,
        rank: Callable[[Trail], list[Verdict]],
        on_change: Callable[[KeyChoice], None] | None = None,
        *,
        allow_disable: bool = True,
        explain: bool = True,
    ) -> None:
        self._rank = rank
        self._explain = explain
        self._on_change = on_change
        self._allow_disable = allow_disable
        self._trail: Trail | None = None
        self._verdicts: list[Verdict] = []
        self._typed: str | None = None
        self._quiet = False
        self._w_status = widgets.HTML()
        self._w_status.add_class("tk-key-status")
        self._w_select = widgets.Dropdown(
            options=self._options(), index=0, layout=widgets.Layout(width="min(640px, 100%)")
        )
        self._w_select.add_class("tk-key-select")
        self._w_select.observe(self._selected, names="value")
        self._w_reason = widgets.HTML()
        self._w_reason.add_class("tk-key-reason")
        self._w_text = widgets.Text(
            value="",
            placeholder=_("or type a key ARN / alias ARN (e.g. a key of another account)"),
            continuous_update=True,
            layout=widgets.Layout(width="min(640px, 100%)"),
        )
        self._w_text.add_class("tk-key-text")
        self._w_text.observe(self._typing, names="value")
        self._w_use = widgets.Button(
            description=_("Check this key"),
            disabled=True,
            icon="search",
            button_style="info",
            layout=widgets.Layout(width="auto", min_width="140px"),
        )
        self._w_use.add_class("tk-key-use")
        self._w_use.on_click(self._use_typed)
        self._w_error = widgets.HTML()
        self._w_error.add_class("tk-key-error")
        self.layout = widgets.VBox(
            [
                self._w_status,
                self._w_select,
                self._w_reason,
                widgets.HBox([self._w_text, self._w_use]),
                self._w_error,
            ]
        )
        self.layout.add_class("tk-key-picker")

    # -- state ---------------------------------------------------------------------------
    def _options(self) -> list[tuple[str, Verdict | str | None]]:
        if self._trail is None:
            first = _("— choose a trail first —")
        elif not self._verdicts:
            first = _("— no customer key in the bucket's region —")
        else:
            first = _("— choose a key —")
        options: list[tuple[str, Verdict | str | None]] = [(first, None)]
        options += [(self._label(v), v) for v in self._verdicts]
        if self._allow_disable and self._trail is not None and self._trail.kms_key_id:
            options.append((_(_DISABLE_LABEL), DISABLE))
        return options

    @property
    def trail(self) -> Trail | None:
        """The trail the candidates were ranked for."""
        return self._trail

    @property
    def verdicts(self) -> list[Verdict]:
        """The ranked candidates, in the order shown (ready, unverifiable, blocked)."""
        return list(self._verdicts)

    def _label(self, verdict: Verdict) -> str:
        """A key's dropdown label; where a checklist lists the findings (``explain`` False) a
        blocked key says so without its code (one voice)."""
        if self._explain or verdict.kind is not VerdictKind.BLOCKED:
            return verdict.label
        return _("{key} - blocked").format(key=verdict.key.display_name)

    @property
    def labels(self) -> list[str]:
        """The dropdown's key labels, in order (without the placeholder)."""
        return [label for label, value in self._w_select.options if value is not None]

    @property
    def value(self) -> KeyChoice:
        """The chosen candidate (a :class:`Verdict`), a typed identifier (text), or None."""
        if self._typed is not None:
            return self._typed
        value: KeyChoice = self._w_select.value
        return value

    @property
    def key_text(self) -> str | None:
        """The identifier to check: a candidate's key ARN or the typed text (None: no choice)."""
        return choice_text(self.value)

    @property
    def typed_error(self) -> str | None:
        """Why the typed text is not a key identifier (None when it is, or when empty)."""
        text = self._w_text.value
        if not text.strip():
            return None
        try:
            parse_key_id(text)
        except KeyIdError as err:
            return err.message
        return None

    # -- actions -------------------------------------------------------------------------
    def set_trail(self, trail: Trail | None) -> None:
        """Rank the candidates for ``trail`` (None clears); the choice is reset."""
        self._trail = trail
        self._verdicts = []
        self._typed = None
        self._w_reason.value = ""
        if trail is not None:
            self._w_status.value = spinner_html(
                _("Reading the candidate keys of {region}…").format(region=trail.bucket_region)
                if trail.bucket_region
                else _("Reading the candidate keys of the bucket region…")
            )
            try:
                self._verdicts = list(self._rank(trail))
            except TrailkitError as err:
                self._w_status.value = error_html(err)
            else:
                ready = sum(v.kind is VerdictKind.READY for v in self._verdicts)
                n = len(self._verdicts)
                text = ngettext(
                    "{n} customer key in {region} (the region of bucket {bucket}); {ready} "
                    "ready. Ready keys come first.",
                    "{n} customer keys in {region} (the region of bucket {bucket}); {ready} "
                    "ready. Ready keys come first.",
                    n,
                ).format(
                    n=n, region=trail.bucket_region or "?", bucket=trail.bucket_name, ready=ready
                )
                self._w_status.value = f'<div class="tk-hint">{esc(text)}</div>'
        else:
            self._w_status.value = ""
        self._quiet = True
        try:
            set_options(self._w_select, self._options(), None)
            self._w_text.value = ""
        finally:
            self._quiet = False
        self._notify()

    def select(self, key: str | None) -> KeyChoice:
        """Choose like the operator: a candidate whose ARN, key id or alias is ``key``, else
        type ``key`` into the text box and check it. Returns the new :attr:`value`."""
        if key is None:
            select_value(self._w_select, None)
            return self.value
        text = key.strip()
        for v in self._verdicts:
            if text in (v.key.arn, v.key.key_id, *v.key.aliases):
                self._w_select.value = v
                return self.value
        if text == DISABLE and any(value == DISABLE for __, value in self._w_select.options):
            self._w_select.value = DISABLE
            return self.value
        self._w_text.value = key
        self._w_use.click()
        return self.value

    # -- events --------------------------------------------------------------------------
    def _selected(self, _change: Any = None) -> None:
        if self._quiet:
            return
        if self._w_select.value is not None:
            self._typed = None
            self._quiet = True
            try:
                self._w_text.value = ""
            finally:
                self._quiet = False
            self._w_error.value = ""
        self._show_reason()
        self._notify()

    def _typing(self, _change: Any = None) -> None:
        problem = self.typed_error
        text = self._w_text.value
        self._w_use.disabled = bool(problem) or not text.strip()
        self._w_error.value = (
            note_html("bad", "<b>" + esc(_("Not a key identifier:")) + f"</b> {esc(problem)}")
            if problem
            else ""
        )
        if self._quiet:
            return
        if self._typed is not None and text.strip() != self._typed:
            self._typed = None  # the checked text was edited: the old choice no longer holds
            self._show_reason()
            self._notify()

    def _use_typed(self, _button: Any = None) -> None:
        text = self._w_text.value.strip()
        if not text or self.typed_error is not None:
            return
        self._typed = text
        self._quiet = True
        try:
            select_value(self._w_select, None)
        finally:
            self._quiet = False
        self._show_reason()
        self._notify()

    def _show_reason(self) -> None:
        value = self.value
        if isinstance(value, Verdict):
            kind = _NOTE_KIND[value.kind]
            tail = f" <code>{esc(value.code)}</code>" if value.code else ""
            remedy = ""
            if not self._explain and value.kind is not VerdictKind.READY:
                why = esc(_("see the checklist below."))
                self._w_reason.value = note_html(kind, f"{badge(str(value.kind))} {why}")
                return
            if value.kind is not VerdictKind.READY and value.report.findings:
                first = next(
                    (f for f in value.report.findings if f.code == value.code),
                    value.report.findings[0],
                )
                remedy = (
                    '<div class="tk-hint">'
                    + esc(_("What to do:"))
                    + f" {text_html(first.remedy)}</div>"
                )
            self._w_reason.value = note_html(
                kind,
                f"{badge(str(value.kind))} {text_html(value.reason)}{tail}{remedy}",
            )
        elif value == DISABLE and self._typed is None:
            self._w_reason.value = note_html(
                "warn", esc(_("The trail will go back to SSE-S3 (S3 managed encryption)."))
            )
        elif isinstance(value, str):
            self._w_reason.value = note_html(
                "info",
                esc(
                    _(
                        "Typed identifier {key}: the pre-flight checks below say whether it will "
                        "work."
                    )
                ).format(key=f"<code>{esc(value)}</code>"),
            )
        else:
            self._w_reason.value = ""

    def _notify(self) -> None:
        if self._on_change is not None:
            self._on_change(self.value)

    def _ipython_display_(self) -> None:
        labels = "".join(f"<li>{esc(label)}</li>" for label in self.labels)
        show(root(self.layout), f"<ul>{labels}</ul>", f"<KeyPicker: {len(self._verdicts)} keys>")
