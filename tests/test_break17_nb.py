"""Issue 17, tried as a new operator would: the delivery proof in notebooks 02 and 04, the guided
widget used headless, and the DeliveryProof widget. Each test is one defect found; it fails
until the defect is fixed.

Headless widget tests use the fakes of tests/test_proof_widgets.py (no AWS); the others run on
the demo estate (conftest's ``demo_rw``), in process or through papermill.
"""

from __future__ import annotations

import html
import re
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import fail_call
from tests.test_proof_widgets import (
    PENDING,
    FakeEstate,
    ProvingRunbook,
    Verifier,
)
from trailkit import i18n
from trailkit.aws.session import Connection
from trailkit.errors import AccessDenied, InputError
from trailkit.ui import notebook
from trailkit.ui.widgets import DeliveryProof, GuidedUpdate

GOOD = "alias/cloudtrail-good"
DEMO_REGIONS = ["us-east-1", "us-west-2", "ap-northeast-1"]


def _text(value: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", value))


# -- the DeliveryProof widget's own wait -------------------------------------------------------


@pytest.mark.parametrize("bad", [-5, True, 10**9, "abc", "", "25h", float("nan")])
def test_delivery_proof_widget_accepts_or_crashes_on_a_bad_wait(bad: object) -> None:
    """What I did: ``DeliveryProof(verify).prove(wait)`` (and ``start(wait)``, the same path
    through ``set_wait``) with the bad waits of the brief, as an operator calling the exported
    widget from a notebook cell would.

    What happened: -5, True and 10**9 are accepted and passed on to ``verify`` as -5.0, 1.0
    and 1e9 seconds (a "-5 seconds" / "1000000000 seconds" choice appears in the dropdown);
    "abc", "", "25h" and NaN raise a bare ``ValueError`` (a traceback in the notebook, since
    only TrailkitError is shown as one line).

    What should happen: like ``notebook.wait_seconds`` and ``GuidedUpdate.prove_delivery``,
    an ``InputError`` naming the wait, and ``verify`` is never called.
    """
    verify = Verifier()
    view = DeliveryProof(verify, demo=True, target="org-trail")
    with pytest.raises(InputError):
        view.prove(bad)  # type: ignore[arg-type]
    assert verify.calls == []
    labels = [label for label, __ in view._w_wait.options]
    assert labels == ["1 minute", "5 minutes", "15 minutes", "1 hour"]  # nothing odd offered


# -- switching trail while a proof runs --------------------------------------------------------


def test_switching_trail_while_a_proof_runs_that_then_errors_leaves_the_old_trail_targeted() -> (
    None
):
    """What I did: guided update headless, org-trail chosen, a proof started in the background
    (the Prove button); while it waited I chose tokyo-trail; the running proof then ended in an
    error (AccessDenied: s3:ListBucket), not a proof.

    What happened: ``_proof_done`` (which re-targets after a trail switch) is only called for
    a proof, never for an error, so the retarget flag stays set and the Prove delivery section
    still says and proves org-trail while tokyo-trail is the chosen trail.

    What should happen: once the cancelled run ends (proof or error), the section targets the
    trail now chosen (tokyo-trail), as it does when the cancelled run returns a proof.
    """
    guided = GuidedUpdate(ProvingRunbook(FakeEstate()))
    guided.choose("org-trail", GOOD)
    assert guided.proof is not None
    started = threading.Event()

    def erroring(**kwargs: Any) -> Any:
        started.set()
        kwargs["cancel"].wait(30)
        raise AccessDenied("s3:ListBucket was denied on trail-bucket.", "grant s3:ListBucket")

    guided.proof.set_target(erroring, "org-trail")
    thread = guided.proof.start()
    assert thread is not None and started.wait(10)
    guided.choose("tokyo-trail")
    thread.join(30)
    assert not thread.is_alive() and not guided.proof.running
    target = _text(guided.proof._w_target.value)
    assert "tokyo-trail" in target and "org-trail" not in target


# -- a proof after a change that failed --------------------------------------------------------


def test_prove_delivery_after_a_failed_apply_answers_proven_for_the_unchanged_trail(
    demo_rw: Any, tmp_path: Path
) -> None:
    """What I did: on the demo, the guided update for org-trail (SSE-S3) to
    alias/cloudtrail-good; UpdateTrail failed (injected InsufficientEncryptionPolicyException,
    journaled as failed); then I pressed Prove delivery (``guided.proof.prove(0)``), as an
    operator does right after the Apply step.

    What happened: a green PROVEN: "The trail's newest log file ... carries AES256", judged
    against the trail's unchanged setting (since=None, no change), under the hint "Reads the
    log and digest files delivered after the change of org-trail". The change failed; nothing
    was proved about it.

    What should happen: after a failed change nothing is PROVEN: the step says there is no
    applied change to prove (the last one failed), or at least does not answer proven.
    """
    endpoint, _estate = demo_rw
    conn = Connection(endpoint_url=endpoint, region="us-east-1")
    fail_call(
        conn,
        "cloudtrail",
        "UpdateTrail",
        code="InsufficientEncryptionPolicyException",
        message="injected",
    )
    journal = notebook.open_journal(str(tmp_path / "journal.jsonl"))
    guided = notebook.guided_update(conn, journal, regions=DEMO_REGIONS)
    guided.choose("org-trail", GOOD)
    with pytest.raises(Exception, match="InsufficientEncryptionPolicyException"):
        guided.apply(True)
    assert [c.status for c in journal.changes()] == ["failed"]
    assert guided.proof is not None
    try:
        proof = guided.proof.prove(0)
    except InputError:  # "nothing to prove" is a fine answer too
        return
    assert str(getattr(proof.status, "value", proof.status)) != "proven", proof.reason


# -- a trail that is not logging ---------------------------------------------------------------


def test_proof_of_a_stopped_trail_waits_and_says_run_again_instead_of_not_logging(
    demo_rw: Any, tmp_path: Path
) -> None:
    """What I did: notebook 04's default trails with apply=True, verify_wait 60s (also in
    process: guided update of stale-key-trail, which the demo has stopped, to
    alias/cloudtrail-good, then the proof).

    What happened: the proof waited the whole minute (15 minutes on AWS) and answered
    PENDING "No log file has been delivered since the change yet; CloudTrail delivers about
    every 5 minutes", fix "run trailkit verify ... --wait 15m again". The trail is not
    logging (IsLogging false): no log file will ever come, and running it again cannot help.

    What should happen: the proof reads that the trail is not logging and says so (reason
    naming logging, fix: start logging, e.g. StartLogging), without advising to wait again.
    """
    endpoint, _estate = demo_rw
    conn = Connection(endpoint_url=endpoint, region="us-east-1")
    journal = notebook.open_journal(str(tmp_path / "journal.jsonl"))
    guided = notebook.guided_update(conn, journal, regions=DEMO_REGIONS)
    guided.choose("stale-key-trail", GOOD)
    trail = guided.trail
    assert trail is not None and trail.status is not None
    assert trail.status.is_logging is False  # the demo's stale-key-trail is stopped
    applied = guided.apply(True)
    assert applied is not None and applied.ok
    step = guided.prove_delivery(0)
    assert step is not None
    said = (step.value.reason + " " + step.value.fix).lower()
    assert "logging" in said, said
    assert "again" not in said, said


# -- Japanese ----------------------------------------------------------------------------------


def test_japanese_pending_proof_badge_says_result_not_recorded() -> None:
    """What I did: notebook 04 with lang="ja", apply=True: stale-key-trail's proof was pending
    (nothing delivered); the same card headless: ``DeliveryProof`` with a pending proof in
    Japanese.

    What happened: the badge reads 結果未記録 ("result not recorded"): the proof reuses the
    msgid "PENDING" of the journal's pending intent (trailkit.po, _common.py:250 and
    proof.py:57 share it). A pending proof *is* recorded in the journal, and it means
    "nothing delivered yet".

    What should happen: a Japanese badge meaning "not delivered yet" / "waiting" (e.g. 未配信
    or 確認待ち), a msgid of its own (pgettext or a distinct text), not 結果未記録.
    """
    i18n.set_language("ja")
    try:
        view = DeliveryProof(Verifier(PENDING), demo=True, target="org-trail")
        view.prove()
        shown = _text(view._w_result.value)
    finally:
        i18n.set_language("en")
    assert "結果未記録" not in shown, shown


# -- a key the operator made -------------------------------------------------------------------


def test_demo_delivery_fails_a_key_created_without_an_explicit_key_usage(
    demo_rw: Any, tmp_path: Path
) -> None:
    """What I did: notebook 04 with org=True (and notebook 02 with the trail's ARN) changed
    workload-prod's prod-trail, through its role, to a new key created there the ordinary way
    (``kms.create_key(Policy=CloudTrail's policy)``: no KeyUsage, as tests/test_notebooks.py's
    ``_prod_trail_and_new_key`` does); then the proof. Reproduced here in the management
    account with org-trail.

    What happened: the pre-flight said READY, the change was sent and read back, then the
    proof answered FAILED "CloudTrail reports KMS.InvalidKeyUsageException ... AWS does not
    document this value, but it says such an error is always a problem with the destination
    bucket". The demo's simulated delivery (trailkit/demo/delivery.py ``_key_error``) takes
    moto's ``key_usage`` None (moto keeps it unset when CreateKey had no KeyUsage) as not
    ENCRYPT_DECRYPT, where AWS defaults KeyUsage to ENCRYPT_DECRYPT.

    What should happen: a symmetric key created without KeyUsage is an ENCRYPT_DECRYPT key:
    delivery succeeds and the proof answers proven with that key.
    """
    import json

    from trailkit.demo.estate import cloudtrail_key_policy

    endpoint, _estate = demo_rw
    conn = Connection(endpoint_url=endpoint, region="us-east-1")
    policy = json.dumps(cloudtrail_key_policy("123456789012", region="us-east-1"))
    key = conn.client("kms").create_key(Policy=policy)["KeyMetadata"]["Arn"]
    journal = notebook.open_journal(str(tmp_path / "journal.jsonl"))
    guided = notebook.guided_update(conn, journal, regions=DEMO_REGIONS)
    guided.choose("org-trail", key)
    applied = guided.apply(True)
    assert applied is not None and applied.ok
    step = guided.prove_delivery(60)  # ends as soon as proven or failed
    assert step is not None
    assert str(getattr(step.value.status, "value", step.value.status)) == "proven", (
        step.value.reason
    )
    assert step.value.log is not None and step.value.log.kms_key_id == key


# -- notebook 04's proof -----------------------------------------------------------------------


def test_notebook_04_proof_can_be_neither_cancelled_nor_followed(
    demo_rw: Any, tmp_path: Path
) -> None:
    """What I did: notebook 04's cells in process (runbook, inventory, bulk_update, choose,
    apply) for org-trail, then ``notebook.prove_applied(book, bulk,
    "60s")``, watching what the proofs are given.

    What happened: ``prove_applied`` calls ``book.verify_change(trail, change_id=, wait=)``
    one trail after the other in the kernel's thread, with no ``cancel`` event and no
    ``progress`` callback, and returns a static Step: no progress indicator and no Cancel for
    a wait that is 15 minutes on AWS (in the papermill run of notebook 04's defaults,
    stale-key-trail, which is stopped, used the whole minute on the demo). The only way out
    is interrupting the kernel: a KeyboardInterrupt traceback, and no pending proof recorded.

    What should happen (issue 17: the proof is "bounded by --wait, cancellable, with a
    progress indicator", also in the notebooks): notebook 04's proof can be cancelled and
    shows its progress, as notebook 02's DeliveryProof does; each verify_change is given a
    cancel event and a progress callback.
    """
    endpoint, _estate = demo_rw
    conn = Connection(endpoint_url=endpoint, region="us-east-1")
    journal = notebook.open_journal(str(tmp_path / "journal.jsonl"))
    book = notebook.runbook(conn, journal)
    inventory = notebook.org_inventory(book, DEMO_REGIONS)
    bulk = notebook.bulk_update(book, inventory=inventory)
    bulk.choose(["org-trail"], {"us-east-1": GOOD})
    bulk.apply(True)
    calls: list[dict[str, Any]] = []
    real = book.verify_change

    def spy(trail: Any, **kwargs: Any) -> Any:
        calls.append(kwargs)
        return real(trail, **kwargs)

    book.verify_change = spy  # type: ignore[method-assign]
    step = notebook.prove_applied(book, bulk, "60s")
    assert step is not None and calls
    for kwargs in calls:
        assert isinstance(kwargs.get("cancel"), threading.Event), kwargs
        assert callable(kwargs.get("progress")), kwargs


def test_prove_delivery_cell_while_the_button_proof_runs_cancels_it_and_then_refuses() -> None:
    """What I did: guided update headless, org-trail applied; I pressed Prove delivery (the
    proof runs in its background thread, waiting) and then ran notebook 02's cell
    ``guided.prove_delivery(...)``.

    What happened: ``prove_delivery`` calls ``_set_proof_target``, which sees the running
    proof, cancels it (it is recorded as pending) and defers the retarget; then
    ``proof.prove`` raises InputError "A delivery proof is still running. Fix: press Cancel
    first". The cell both stopped the operator's proof and refused to make its own.

    What should happen: one or the other: either the cell waits for / takes over the running
    proof and returns a proof, or it refuses without cancelling the running one.
    """
    book = ProvingRunbook(FakeEstate())
    guided = GuidedUpdate(book)
    guided.choose("org-trail", GOOD)
    guided.apply(True)
    assert guided.proof is not None
    started, release = threading.Event(), threading.Event()
    events: list[threading.Event] = []

    def waiting(**kwargs: Any) -> Any:  # the button's proof, waiting for a delivery
        events.append(kwargs["cancel"])
        started.set()
        kwargs["cancel"].wait(30)
        release.wait(30)  # still winding down when the cell runs on (no race either way)
        return PENDING

    guided.proof.set_target(waiting, "org-trail")
    thread = guided.proof.start()
    assert thread is not None and started.wait(10)
    try:
        step = guided.prove_delivery(0)
    except InputError:
        cancelled = events[0].is_set()
        events[0].set()
        release.set()
        thread.join(30)
        assert not cancelled, "the running proof was cancelled, and the cell refused"
    else:
        release.set()
        thread.join(30)
        assert step is not None and step.value is not None
