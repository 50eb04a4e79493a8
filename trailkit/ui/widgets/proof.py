"""The delivery proof: after a change, do the log files CloudTrail writes carry the new encryption?

:class:`DeliveryProof` is the last step of the guided update (notebook 02 and the app) and of
notebook 04. It calls an injected ``verify(wait=, cancel=, progress=)`` (in practice
:meth:`trailkit.runbook.Runbook.verify_change` bound to a trail and a change) in a background
thread, so the kernel stays responsive while it waits; a progress bar counts the wait down from
the ``progress(proof, seconds_left)`` callback and a Cancel button sets the
:class:`threading.Event` passed as ``cancel``. The result card says the status (proven,
pending, failed, unverifiable), why, what to do, and the log and digest objects read with
their encryption (``HeadObject``'s ``ServerSideEncryption`` and ``SSEKMSKeyId``).

The proof is duck-typed (the fields of :class:`trailkit.records.proof.Proof`): the widget
renders what it is given and decides nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as widgets

from trailkit.errors import InputError
from trailkit.i18n import N_, _, local_time, ngettext
from trailkit.rules.proof import parse_wait
from trailkit.ui.widgets._common import (
    badge,
    error_html,
    esc,
    id_html,
    note_html,
    root,
    rows_html,
    show,
    text_html,
)

__all__ = [
    "AWS_WAIT",
    "DEMO_WAIT",
    "WAITS",
    "DeliveryProof",
    "proof_html",
    "wait_label",
]

#: The waits offered, in seconds (CloudTrail delivers a log file about every 5 minutes).
WAITS: tuple[float, ...] = (60.0, 300.0, 900.0, 3600.0)
#: The wait chosen at first on the demo backend (its delivery is simulated within seconds).
DEMO_WAIT = 60.0
#: The wait chosen at first on real AWS.
AWS_WAIT = 900.0

#: Badge kind and word of each proof status (``ProofStatus`` values).
_STATUS: dict[str, tuple[str, str, str]] = {
    "proven": ("pass", N_("PROVEN"), "ok"),
    "pending": ("pending", N_("PENDING DELIVERY"), "warn"),
    "failed": ("failed", N_("FAILED"), "bad"),
    "unverifiable": ("unverifiable", N_("UNVERIFIABLE"), "warn"),
}


def wait_label(seconds: float) -> str:
    """A wait as a person says it: ``1 minute``, ``15 minutes``, ``1 hour``, ``90 seconds``."""
    whole = int(seconds)
    if whole and whole % 3600 == 0:
        n = whole // 3600
        return ngettext("{n} hour", "{n} hours", n).format(n=n)
    if whole and whole % 60 == 0:
        n = whole // 60
        return ngettext("{n} minute", "{n} minutes", n).format(n=n)
    return ngettext("{n} second", "{n} seconds", whole).format(n=whole)


def _status(proof: Any) -> str:
    status = getattr(proof, "status", None)
    return str(getattr(status, "value", status))


def _object_html(obj: Any) -> str:
    """One delivered object: its key (bucket/key), when, and its encryption."""
    where = f"<code>{esc(obj.bucket)}/{esc(obj.key)}</code>"
    when = esc(local_time(obj.last_modified))
    enc = f"<b>{esc(obj.encryption or _('none'))}</b>"
    if obj.kms_key_id:
        enc += " " + id_html(obj.kms_key_id)
    if obj.bucket_key:
        enc += " " + esc(_("(S3 Bucket Key)"))
    said = esc(_("delivered {when}, encryption {encryption}")).format(when=when, encryption=enc)
    return f"{where}<br>{said}"


def proof_html(proof: Any) -> str:
    """The result card of a proof: status with the reason, what to do, the objects read.

    Parameters
    ----------
    proof : Proof
        What :meth:`trailkit.runbook.Runbook.verify_change` returned (read by attribute).
    """
    status = _status(proof)
    kind, word, tone = _STATUS.get(status, ("unknown", status.upper(), "warn"))
    head = badge(kind, _(word)) + " " + text_html(proof.reason)
    if proof.fix:
        head += f"<div><b>{esc(_('What to do:'))}</b> {text_html(proof.fix)}</div>"
    expected = esc(proof.expected_encryption)
    if proof.expected_key:
        expected = f"<b>{expected}</b> {id_html(proof.expected_key)}"
    rows: list[tuple[str, str]] = [
        (_("trail"), id_html(proof.trail_arn)),
        (_("expected encryption"), expected),
        (
            _("since"),
            esc(local_time(proof.since)) if proof.since else esc(_("no recorded change")),
        ),
    ]
    if proof.change_id:
        rows.append((_("change"), f"<code>{esc(proof.change_id)}</code>"))
    rows.append(
        (
            _("log file"),
            _object_html(proof.log)
            if proof.log is not None
            else esc(_("none delivered since the change")),
        )
    )
    if proof.digest is not None:
        digest = _object_html(proof.digest)
    elif proof.digest_expected:
        digest = esc(_("none delivered since the change"))
    else:
        digest = esc(_("not expected: log file validation is off"))
    rows.append((_("digest file"), digest))
    if proof.checked_at is not None:
        rows.append((_("checked"), esc(local_time(proof.checked_at))))
    return note_html(tone, head, f"tk-proof tk-proof-{esc(status)}") + rows_html(rows)


class DeliveryProof:
    """Prove delivery: a wait choice, Prove and Cancel buttons, a progress bar, the result.

    Parameters
    ----------
    verify
        ``verify(wait=seconds, cancel=threading.Event, progress=callback) -> Proof``: the
        proof of one change (:meth:`trailkit.runbook.Runbook.verify_change` with its trail and
        change bound); ``progress(proof_so_far, seconds_left)`` is called while it waits. None:
        nothing to prove yet (see :meth:`set_target`).
    demo
        The demo backend: the first wait is :data:`DEMO_WAIT`, else :data:`AWS_WAIT`.
    target
        What is proved, as shown above the button (e.g. the trail's name).
    waits
        The waits offered, in seconds.
    on_done
        Called once each run has ended, with its proof once it is shown, or with the error
        that stopped it (also shown).
    card
        How a result is shown (default :func:`proof_html`). A result with an ``ok``
        attribute (notebook 04's :class:`~trailkit.ui.widgets._common.Step` of several
        proofs) colors the bar by it, else the proof's ``status`` does.
    """

    def __init__(
        self,
        verify: Callable[..., Any] | None = None,
        *,
        demo: bool = False,
        target: str = "",
        waits: Sequence[float] = WAITS,
        on_done: Callable[[Any], None] | None = None,
        card: Callable[[Any], str] | None = None,
    ) -> None:
        if verify is not None and not callable(verify):
            raise InputError(_("verify must be a function or None."), "")
        first = DEMO_WAIT if demo else AWS_WAIT
        offered = sorted({float(w) for w in waits} | {first})
        self._verify = verify
        self._target = target
        self._on_done = on_done
        self._card = card or proof_html
        self._proof: Any = None
        self._error: BaseException | None = None
        self._cancel: threading.Event | None = None
        self._busy = False
        self._lock = threading.Lock()

        self._w_target = widgets.HTML()
        self._w_target.add_class("tk-proof-target")
        self._w_wait = widgets.Dropdown(
            options=[(wait_label(w), w) for w in offered],
            value=first,
            description=_("Wait up to"),
            style={"description_width": "initial"},
            layout=widgets.Layout(width="auto"),
        )
        self._w_wait.add_class("tk-proof-wait")
        self._w_prove = widgets.Button(
            description=_("Prove delivery"),
            button_style="primary",
            icon="check",
            layout=widgets.Layout(width="auto"),
        )
        self._w_prove.add_class("tk-prove")
        self._w_prove.on_click(lambda _b: self.start())
        self._w_cancel = widgets.Button(
            description=_("Cancel"), disabled=True, layout=widgets.Layout(width="auto")
        )
        self._w_cancel.add_class("tk-proof-cancel")
        self._w_cancel.on_click(lambda _b: self.cancel())
        self._w_bar = widgets.IntProgress(
            value=0, min=0, max=1, bar_style="info", layout=widgets.Layout(display="none")
        )
        self._w_bar.add_class("tk-proof-progress")
        self._w_status = widgets.HTML()
        self._w_status.add_class("tk-proof-status")
        self._w_result = widgets.HTML()
        self._w_result.add_class("tk-proof-result")
        self.layout = widgets.VBox(
            [
                self._w_target,
                widgets.HBox([self._w_wait, self._w_prove, self._w_cancel]),
                self._w_bar,
                self._w_status,
                self._w_result,
            ]
        )
        self.layout.add_class("tk-delivery-proof")
        self._render_target()

    # -- values ----------------------------------------------------------------------------
    @property
    def value(self) -> Any:
        """The last proof shown (None before the first, or after :meth:`set_target`)."""
        return self._proof

    @property
    def error(self) -> BaseException | None:
        """The error of the last run, if it failed before a proof came back."""
        return self._error

    @property
    def running(self) -> bool:
        """True while a proof runs (in the background, or headless)."""
        return self._busy

    @property
    def target(self) -> str:
        """What is proved, as shown (e.g. the trail's name; "" when not said)."""
        return self._target

    @property
    def wait(self) -> float:
        """The chosen wait, in seconds."""
        return float(self._w_wait.value)

    def set_wait(self, seconds: float | str) -> None:
        """Choose the wait (offered if it was not).

        Parameters
        ----------
        seconds : float or str
            Seconds (0: look once), or a duration as ``trailkit verify --wait`` reads it
            (``90s``, ``15m``, ``1h30m``); at most 24 hours
            (:func:`trailkit.rules.proof.parse_wait`).

        Raises
        ------
        InputError
            Not a duration from 0 to 24 hours (negative, NaN, ``True``, ``"abc"``, ``""``,
            ``"25h"``); naming the wait. Nothing is changed.
        """
        seconds = self._read_wait(seconds)
        values = [v for __, v in self._w_wait.options]
        if seconds not in values:
            values = sorted({*values, seconds})
            self._w_wait.options = [(wait_label(w), w) for w in values]
        self._w_wait.value = seconds

    @staticmethod
    def _read_wait(value: object) -> float:
        """``value`` as seconds, read strictly (see :meth:`set_wait`)."""
        fix = _("give seconds from 0 to 86400, or a duration such as 90s, 15m or 1h")
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise InputError(
                _("The wait must be a duration such as 15m, not {kind}.").format(
                    kind=type(value).__name__
                ),
                fix,
            )
        try:
            return parse_wait(value)
        except InputError as err:
            raise InputError(
                _("The wait {value} is not a duration from 0 to 24 hours.").format(
                    value=repr(value)[:40]
                ),
                fix,
            ) from err

    def set_target(self, verify: Callable[..., Any] | None, target: str = "") -> None:
        """Prove something else from now on (None: nothing to prove); the last result goes.

        Refused while a proof runs (press Cancel first).
        """
        if self.running:
            raise InputError(
                _("A delivery proof is still running."), _("press Cancel, then choose again")
            )
        self._verify = verify
        self._target = target
        self._proof = None
        self._error = None
        self._w_result.value = ""
        self._w_status.value = ""
        self._w_bar.layout.display = "none"
        self._render_target()

    def _render_target(self) -> None:
        if self._verify is None:
            self._w_target.value = (
                '<div class="tk-hint">'
                + esc(_("Shown once a trail is chosen: apply a change, then prove it."))
                + "</div>"
            )
        elif self._target:
            said = esc(_("Reads the log and digest files delivered after the change of {what}."))
            self._w_target.value = '<div class="tk-hint">{}</div>'.format(
                said.format(what=f"<b>{esc(self._target)}</b>")
            )
        else:
            self._w_target.value = ""
        self._set_buttons()

    def _set_buttons(self) -> None:
        busy = self.running
        self._w_prove.disabled = busy or self._verify is None
        self._w_wait.disabled = busy or self._verify is None
        self._w_cancel.disabled = not busy

    # -- running ---------------------------------------------------------------------------
    def start(self, wait: float | str | None = None) -> threading.Thread | None:
        """Start the proof in a background thread (what the button does); returns the thread,
        or None when there is nothing to prove or a proof already runs.

        Raises
        ------
        InputError
            ``wait`` is not a duration from 0 to 24 hours (see :meth:`set_wait`).
        """
        if wait is not None:
            wait = self._read_wait(wait)
        with self._lock:
            if self._verify is None or self.running:
                return None
            if wait is not None:
                self.set_wait(wait)
            self._begin()
            thread = threading.Thread(target=self._run, name="trailkit-proof", daemon=True)
            thread.start()
            return thread

    def prove(self, wait: float | str | None = None) -> Any:
        """Run the proof here and now (headless; the kernel waits) and return it.

        Raises
        ------
        InputError
            ``wait`` is not a duration from 0 to 24 hours (see :meth:`set_wait`), there is
            nothing to prove, or a proof runs already.
        TrailkitError
            The proof could not be made (it is shown as well).
        """
        if wait is not None:
            wait = self._read_wait(wait)
        if self._verify is None:
            raise InputError(
                _("There is nothing to prove: choose a trail first."),
                _("pass the trail parameter (name or ARN)"),
            )
        with self._lock:
            if self.running:
                raise InputError(
                    _("A delivery proof is still running."),
                    _("wait for it to end, or press Cancel, then prove again"),
                )
            if wait is not None:
                self.set_wait(wait)
            self._begin()
        self._run()
        if self._error is not None:
            raise self._error
        return self._proof

    def cancel(self) -> None:
        """Stop waiting (the proof so far is shown, pending)."""
        event = self._cancel
        if event is not None and self.running:
            event.set()
            self._w_status.value = '<div class="tk-hint">{}</div>'.format(
                esc(_("Cancelling: the proof so far is shown in a moment…"))
            )

    def _begin(self) -> None:
        self._busy = True
        self._set_buttons()
        self._cancel = threading.Event()
        self._proof = None
        self._error = None
        wait = self.wait
        self._w_bar.max = max(1, int(wait))
        self._w_bar.value = 0
        self._w_bar.bar_style = "info"
        self._w_bar.layout.display = None
        self._w_result.value = ""
        self._w_status.value = '<div class="tk-hint">{}</div>'.format(
            esc(
                _("Waiting up to {wait} for CloudTrail to deliver a log file…").format(
                    wait=wait_label(wait)
                )
            )
        )

    def _progress(self, proof: Any, seconds_left: float) -> None:
        wait = self.wait
        left = max(0.0, min(float(seconds_left), wait))
        self._w_bar.value = min(self._w_bar.max, round(wait - left))
        said = _("{left} left: {reason}").format(
            left=wait_label(round(left)), reason=getattr(proof, "reason", "")
        )
        self._w_status.value = f'<div class="tk-hint">{text_html(said)}</div>'

    def _run(self) -> None:
        verify, cancel = self._verify, self._cancel
        assert verify is not None and cancel is not None
        try:
            proof = verify(wait=self.wait, cancel=cancel, progress=self._progress)
        except Exception as err:  # a background thread shows what stopped it (error card)
            self._error = err
            self._w_result.value = error_html(err)
            self._w_bar.bar_style = "danger"
        else:
            self._proof = proof
            ok = getattr(proof, "ok", None)
            status = ("proven" if ok else "") if isinstance(ok, bool) else _status(proof)
            self._w_bar.value = self._w_bar.max
            self._w_bar.bar_style = {"proven": "success", "failed": "danger"}.get(status, "warning")
            self._w_result.value = self._card(proof)
        finally:
            self._w_status.value = ""
            self._busy = False
            self._set_buttons()
        if self._on_done is not None:  # after a proof or an error: the run is over either way
            self._on_done(self._proof if self._proof is not None else self._error)

    # -- display ---------------------------------------------------------------------------
    def html(self) -> str:
        """A static summary (for notebooks saved without widget state)."""
        if self._proof is not None:
            return self._card(self._proof)
        if self._error is not None:
            return error_html(self._error)
        return str(self._w_target.value)

    def _ipython_display_(self) -> None:
        show(root(self.layout), self.html(), "<DeliveryProof>")
