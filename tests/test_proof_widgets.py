"""The delivery proof widget (:class:`~trailkit.ui.widgets.DeliveryProof`) and its place in the
guided update, headless and without AWS.

The proofs are small stand-in dataclasses with the fields of
:class:`trailkit.records.proof.Proof` and :class:`~trailkit.records.proof.DeliveredObject`
(the widget reads them by attribute); the runbook is :class:`widget_fakes.FakeRunbook` with the
two issue-17 methods added (``verify_change``, ``snippet``).
"""

from __future__ import annotations

import dataclasses
import html
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from english import assert_japanese
from widget_fakes import GOOD, FakeEstate, FakeRunbook

from trailkit import i18n
from trailkit.errors import AccessDenied, InputError
from trailkit.records import Kind, Phase
from trailkit.ui.notebook import wait_seconds
from trailkit.ui.widgets import DeliveryProof, GuidedUpdate
from trailkit.ui.widgets.proof import proof_html, wait_label

TRAIL = "arn:aws:cloudtrail:us-east-1:123456789012:trail/org-trail"
KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SINCE = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
LOG_KEY = (
    "AWSLogs/123456789012/CloudTrail/us-east-1/2026/12/05/"
    "123456789012_CloudTrail_us-east-1_20261205T0905Z_abc.json.gz"
)
DIGEST_KEY = (
    "AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2026/12/05/"
    "123456789012_CloudTrail-Digest_us-east-1_org-trail_us-east-1_20261205T0905Z.json.gz"
)


@dataclasses.dataclass(frozen=True)
class Delivered:
    """Stand-in for ``trailkit.records.proof.DeliveredObject``."""

    bucket: str
    key: str
    last_modified: datetime
    encryption: str | None
    kms_key_id: str | None
    bucket_key: bool | None = None


@dataclasses.dataclass(frozen=True)
class FakeProof:
    """Stand-in for ``trailkit.records.proof.Proof`` (its ``status`` is the enum's value)."""

    status: str
    trail_arn: str
    expected_encryption: str
    expected_key: str | None
    since: datetime | None
    log: Delivered | None
    digest: Delivered | None
    digest_expected: bool
    reason: str
    fix: str = ""
    change_id: str | None = None
    checked_at: datetime | None = None


def _obj(key: str, encryption: str | None = "aws:kms", kms: str | None = KEY) -> Delivered:
    return Delivered("trail-bucket", key, SINCE.replace(minute=5), encryption, kms)


PROVEN = FakeProof(
    "proven",
    TRAIL,
    "aws:kms",
    KEY,
    SINCE,
    _obj(LOG_KEY),
    _obj(DIGEST_KEY),
    True,
    "The newest log and digest files carry the new key.",
    change_id="c-1",
    checked_at=SINCE.replace(minute=6),
)
PENDING = dataclasses.replace(
    PROVEN, status="pending", log=None, digest=None, reason="Nothing delivered since the change."
)
FAILED = dataclasses.replace(
    PROVEN,
    status="failed",
    log=_obj(LOG_KEY, "AES256", None),
    digest=None,
    reason="The newest log file is encrypted with AES256, not the new key.",
    fix="check the trail's KMS key setting",
)
UNVERIFIABLE = dataclasses.replace(
    PROVEN,
    status="unverifiable",
    log=None,
    digest=None,
    digest_expected=False,
    reason="The bucket could not be listed (s3:ListBucket).",
    fix="grant s3:ListBucket on trail-bucket",
)


def _text(value: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", value))


class Verifier:
    """A fake ``verify(wait=, cancel=, progress=)``: reports progress, then returns ``proof``."""

    def __init__(self, proof: Any = PROVEN, *, block: bool = False) -> None:
        self.proof = proof
        self.block = block
        self.calls: list[dict[str, Any]] = []
        self.started = threading.Event()

    def __call__(self, **kwargs: Any) -> Any:
        self.calls.append(kwargs)
        kwargs["progress"](PENDING, kwargs["wait"] - 20)
        self.started.set()
        if self.block:
            assert kwargs["cancel"].wait(30), "the Cancel button never set the event"
            return dataclasses.replace(PENDING, reason="Cancelled before a log file arrived.")
        return self.proof


# -- the card ----------------------------------------------------------------------------------


def test_a_proven_card_names_the_objects_read_and_their_encryption() -> None:
    card = proof_html(PROVEN)
    assert "tk-note-ok" in card and "tk-proof-proven" in card and ">PROVEN<" in card
    text = _text(card)
    assert f"trail-bucket/{LOG_KEY}" in text and f"trail-bucket/{DIGEST_KEY}" in text
    assert text.count("aws:kms") >= 3  # expected, log, digest
    assert KEY in card  # the key ARN in full on hover
    assert "c-1" in text and "What to do" not in text


@pytest.mark.parametrize(
    ("proof", "note", "badge", "says"),
    [
        (PENDING, "tk-note-warn", "PENDING DELIVERY", "none delivered since the change"),
        (FAILED, "tk-note-bad", "FAILED", "AES256"),
        (UNVERIFIABLE, "tk-note-warn", "UNVERIFIABLE", "not expected: log file validation is off"),
    ],
)
def test_a_card_that_is_not_proven_says_why_and_what_to_do(
    proof: FakeProof, note: str, badge: str, says: str
) -> None:
    card = proof_html(proof)
    text = _text(card)
    assert note in card and f">{badge}<" in card
    assert proof.reason in text and says in text
    if proof.fix:
        assert f"What to do: {proof.fix}" in " ".join(text.split())


def test_the_card_escapes_what_aws_returned() -> None:
    card = proof_html(dataclasses.replace(PROVEN, log=_obj("AWSLogs/<b>x</b>&y")))
    assert "<b>x</b>" not in card and "&lt;b&gt;x&lt;/b&gt;&amp;y" in card


# -- the widget --------------------------------------------------------------------------------


def test_prove_runs_verify_with_the_wait_a_cancel_event_and_progress() -> None:
    verify = Verifier()
    view = DeliveryProof(verify, demo=True, target="org-trail")
    assert view.wait == 60.0  # the demo's first choice
    assert view.prove() is PROVEN and view.value is PROVEN
    (call,) = verify.calls
    assert call["wait"] == 60.0 and isinstance(call["cancel"], threading.Event)
    assert view._w_bar.max == 60 and view._w_bar.value == 60 and view._w_bar.bar_style == "success"
    assert "tk-proof-proven" in view._w_result.value and view.html() == proof_html(PROVEN)
    assert not view._w_prove.disabled and view._w_cancel.disabled


def test_progress_moves_the_bar_and_says_the_reason_so_far() -> None:
    view = DeliveryProof(Verifier(), target="org-trail")
    assert view.wait == 900.0  # real AWS: 15 minutes first
    view._begin()
    view._progress(PENDING, 600.0)
    assert view._w_bar.max == 900 and view._w_bar.value == 300
    assert "10 minutes left" in _text(view._w_status.value)
    assert PENDING.reason in _text(view._w_status.value)


def test_the_wait_choice_offers_minutes_and_takes_any_wait() -> None:
    view = DeliveryProof(Verifier(), demo=True)
    assert [label for label, __ in view._w_wait.options] == [
        "1 minute",
        "5 minutes",
        "15 minutes",
        "1 hour",
    ]
    view.set_wait(90)
    assert view.wait == 90.0 and "90 seconds" in [label for label, __ in view._w_wait.options]
    assert wait_label(7200) == "2 hours"


def test_the_button_runs_in_the_background_and_cancel_stops_the_wait() -> None:
    verify = Verifier(block=True)
    view = DeliveryProof(verify, demo=True, target="org-trail")
    assert view._w_cancel.disabled  # nothing to cancel yet
    thread = view.start()
    assert thread is not None and thread.daemon
    assert verify.started.wait(10)
    assert view.running and view._w_prove.disabled and not view._w_cancel.disabled
    assert view.start() is None  # one proof at a time
    view._w_cancel.click()
    thread.join(30)
    assert not thread.is_alive() and not view.running
    assert view.value.status == "pending" and "Cancelled" in _text(view._w_result.value)
    assert not view._w_prove.disabled and view._w_cancel.disabled


def test_the_prove_button_starts_the_proof() -> None:
    done: list[Any] = []
    verify = Verifier()
    view = DeliveryProof(verify, demo=True, on_done=done.append)
    view._w_prove.click()
    assert verify.started.wait(10)
    for thread in [t for t in threading.enumerate() if t.name == "trailkit-proof"]:
        thread.join(30)
    assert done == [PROVEN] and view.value is PROVEN


def test_an_expected_error_is_the_error_card_without_a_traceback() -> None:
    def denied(**kwargs: Any) -> Any:
        raise AccessDenied("s3:ListBucket was denied on trail-bucket.", "grant s3:ListBucket")

    view = DeliveryProof(denied, demo=True)
    with pytest.raises(AccessDenied):
        view.prove()
    shown = view._w_result.value
    assert "tk-error" in shown and "Access denied" in shown and "grant s3:ListBucket" in shown
    assert "Traceback" not in shown and view.value is None
    thread = view.start()  # the same from the button, in its thread
    assert thread is not None
    thread.join(30)
    assert "tk-error" in view._w_result.value and isinstance(view.error, AccessDenied)


def test_nothing_to_prove_until_a_target_is_set() -> None:
    view = DeliveryProof(demo=True)
    assert view._w_prove.disabled and view.start() is None
    with pytest.raises(InputError):
        view.prove()
    verify = Verifier()
    view.set_target(verify, "org-trail")
    assert not view._w_prove.disabled and "org-trail" in view._w_target.value
    assert view.prove(5) is PROVEN and verify.calls[0]["wait"] == 5.0
    view.set_target(None)
    assert view.value is None and view._w_result.value == "" and view._w_prove.disabled


# -- the notebook's wait ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "seconds"),
    [(None, None), ("60s", 60.0), ("15m", 900.0), ("1h30m", 5400.0), ("90", 90.0), (0, 0.0)],
)
def test_wait_seconds_reads_durations(given: object, seconds: float | None) -> None:
    assert wait_seconds(given) == seconds


@pytest.mark.parametrize("given", ["", "  ", "soon", "-5m", "25h", True, ["1m"], -1, 90000])
def test_wait_seconds_refuses_anything_else_naming_the_parameter(given: object) -> None:
    with pytest.raises(InputError) as caught:
        wait_seconds(given)
    assert "verify_wait" in str(caught.value)


# -- in the guided update --------------------------------------------------------------------


class ProvingRunbook(FakeRunbook):
    """The fake runbook with issue 17's ``verify_change`` and ``snippet``."""

    def __init__(self, estate: FakeEstate, proof: Any = PROVEN) -> None:
        super().__init__(estate)
        self.proof = proof

    def verify_change(self, trail: Any, **kwargs: Any) -> Any:
        self._call("verify_change", trail, kwargs)
        kwargs["progress"](PENDING, kwargs["wait"] / 2)
        return self.proof

    def snippet(self, trail: Any, key: str, fmt: str) -> Any:
        self._call("snippet", trail, key, fmt)
        return SnippetStandIn(fmt, "json", f"{fmt}: {key}", key, ({"Sid": "x"},))


@dataclasses.dataclass(frozen=True)
class SnippetStandIn:
    format: str
    language: str
    text: str
    key_arn: str
    statements: tuple[dict[str, Any], ...]


def test_the_guided_update_proves_the_change_applied_here() -> None:
    estate = FakeEstate()
    book = ProvingRunbook(estate)
    guided = GuidedUpdate(book)
    assert guided.proof is not None and guided.code is not None
    guided.choose("org-trail", GOOD)
    assert guided.prove_delivery(5) is None  # nothing applied here: nothing to prove
    assert book.called("verify_change") == []
    guided.apply(True)
    (applied,) = book.journal.changes()
    step = guided.prove_delivery(5)
    assert step is not None and step.ok and step.value is PROVEN
    ((trail, kwargs),) = book.called("verify_change")
    assert trail.name == "org-trail" and kwargs["change_id"] == applied.change_id
    assert kwargs["wait"] == 5.0 and isinstance(kwargs["cancel"], threading.Event)
    assert "tk-proof-proven" in step.html and "tk-proof-proven" in guided.html()


def test_the_guided_update_has_the_proof_and_code_sections_only_when_the_runbook_does() -> None:
    estate = FakeEstate()
    with_them = GuidedUpdate(ProvingRunbook(estate))
    without = GuidedUpdate(FakeRunbook(estate))
    sections = [
        _text(c.value)
        for c in with_them.layout.children
        if isinstance(getattr(c, "value", None), str) and "tk-section-title" in c.value
    ]
    assert any("Prove delivery" in s for s in sections)
    assert any("Change as code" in s for s in sections)
    assert without.proof is None and without.code is None
    assert without.prove_delivery(5) is None and without.change_as_code() is None


def test_choosing_another_trail_cancels_the_running_proof_and_proves_that_one() -> None:
    estate = FakeEstate()
    book = ProvingRunbook(estate)
    tokyo = next(t for t in estate.trails.values() if t.name == "tokyo-trail")
    tokyo_change = book.journal.record(Kind.TRAIL_KEY, tokyo.arn, None, KEY)  # an earlier change
    verify = Verifier(block=True)
    guided = GuidedUpdate(book)
    guided.choose("org-trail", GOOD)
    assert guided.proof is not None
    guided.proof.set_target(verify, "org-trail")
    thread = guided.proof.start()
    assert thread is not None and verify.started.wait(10)
    guided.choose("tokyo-trail")
    thread.join(30)
    assert not guided.proof.running and verify.calls[0]["cancel"].is_set()
    assert "tokyo-trail" in guided.proof._w_target.value and guided.proof.value is None
    assert guided.proof.prove(0) is PROVEN
    ((trail, kwargs),) = book.called("verify_change")
    assert trail.name == "tokyo-trail" and kwargs["change_id"] == tokyo_change


def test_a_failed_proof_is_shown_not_raised() -> None:
    estate = FakeEstate()
    guided = GuidedUpdate(ProvingRunbook(estate, FAILED))
    guided.choose("org-trail", GOOD)
    guided.apply(True)
    step = guided.prove_delivery(0)
    assert step is not None and not step.ok and FAILED.fix in _text(step.html)


def test_prove_delivery_refuses_a_wait_that_is_not_seconds() -> None:
    guided = GuidedUpdate(ProvingRunbook(FakeEstate()))
    with pytest.raises(InputError):
        guided.prove_delivery("15m")  # type: ignore[arg-type]


def test_the_wait_is_a_duration_too_and_an_error_ends_the_run_for_on_done() -> None:
    ended: list[Any] = []

    def denied(**kwargs: Any) -> Any:
        raise AccessDenied("s3:ListBucket was denied on trail-bucket.", "grant s3:ListBucket")

    view = DeliveryProof(denied, demo=True, on_done=ended.append)
    with pytest.raises(AccessDenied):
        view.prove("15m")  # as `trailkit verify --wait` reads it
    assert view.wait == 900.0 and isinstance(ended[0], AccessDenied) and not view.running


def _guided_without_a_proved_change(outcome: Phase | None) -> tuple[ProvingRunbook, GuidedUpdate]:
    book = ProvingRunbook(FakeEstate())
    guided = GuidedUpdate(book)
    guided.choose("org-trail", GOOD)
    assert guided.trail is not None
    if outcome is not None:  # an earlier change applied, then the newest one not
        book.journal.record(Kind.TRAIL_KEY, guided.trail.arn, None, KEY)
        book.journal.record(Kind.TRAIL_KEY, guided.trail.arn, None, KEY, outcome=outcome)
    return book, guided


@pytest.mark.parametrize(
    ("outcome", "said"),
    [
        (None, "No change of org-trail is recorded"),
        (Phase.FAILED, "is failed: there is no applied change to prove"),
    ],
)
def test_the_guided_proof_without_an_applied_newest_change_says_so_and_reads_nothing(
    outcome: Phase | None, said: str
) -> None:
    book, guided = _guided_without_a_proved_change(outcome)
    assert guided.proof is not None
    with pytest.raises(InputError) as caught:
        guided.proof.prove(0)
    assert said in str(caught.value) and book.called("verify_change") == []
    assert guided.proof.value is None and said in _text(guided.proof._w_result.value)
    thread = guided.proof.start()  # the button: the same, as its error card
    assert thread is not None
    thread.join(30)
    assert said in _text(guided.proof._w_result.value) and book.called("verify_change") == []


def test_the_guided_proof_refusal_speaks_japanese(japanese: None) -> None:
    __, guided = _guided_without_a_proved_change(Phase.FAILED)
    assert guided.proof is not None
    with pytest.raises(InputError):
        guided.proof.prove(0)
    assert guided.trail is not None
    (change,) = [c for c in guided._runbook.journal.changes() if not c.applied]
    names = ["org-trail", change.change_id, "trailkit journal --reconcile"]
    assert_japanese(_text(guided.proof._w_result.value), names)


# -- Japanese ----------------------------------------------------------------------------------


@pytest.fixture
def japanese() -> Iterator[None]:
    i18n.set_language("ja")
    try:
        yield
    finally:
        i18n.set_language("en")


@pytest.mark.usefixtures("japanese")
@pytest.mark.parametrize("proof", [PROVEN, PENDING, UNVERIFIABLE])
def test_the_card_and_the_view_speak_japanese(proof: FakeProof) -> None:
    # the reason and fix come translated from the rules; here they stand for Japanese text
    shown = dataclasses.replace(proof, reason="理由です。", fix="対処です。" if proof.fix else "")
    view = DeliveryProof(Verifier(shown), demo=True, target="org-trail")
    view.prove()
    names = [TRAIL, KEY, LOG_KEY, DIGEST_KEY, "trail-bucket", "org-trail", "c-1"]
    text = "\n".join(_text(v) for v in (view._w_target.value, view._w_result.value))
    labels = "\n".join(
        [view._w_prove.description, view._w_cancel.description, view._w_wait.description]
        + [label for label, __ in view._w_wait.options]
    )
    assert_japanese(text + "\n" + labels, names)


@pytest.mark.usefixtures("japanese")
def test_a_bad_wait_is_refused_in_japanese() -> None:
    with pytest.raises(InputError) as caught:
        wait_seconds("soon")
    with pytest.raises(InputError) as widget:
        DeliveryProof(Verifier(), demo=True).prove("25h")
    names = ["verify_wait", "soon", "25h", "90s", "15m", "1h", "1h30m", "None", "90s", "86400"]
    assert_japanese(f"{caught.value}\n{widget.value}", names)
