"""Issue 17: the delivery proof of a trail that is not logging answers at once.

``GetTrailStatus`` ``IsLogging`` false: CloudTrail delivers nothing until ``StartLogging``, so
:meth:`trailkit.runbook.Runbook.verify_change` does not wait out ``wait``: the proof is
``pending`` (nothing failed), says the trail is not logging and how to start it, and is
recorded against the change. moto (a trail created and not started, as ``CreateTrail`` leaves
it); waiting uses an injected clock and sleep that fail if called.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from trailkit.aws.session import Connection
from trailkit.change.journal import Journal
from trailkit.records import Kind, Phase, ProofStatus
from trailkit.runbook import Runbook

REGION = "us-east-1"


def _never(seconds: float) -> None:
    raise AssertionError(f"a stopped trail's proof slept {seconds} s")


def test_a_stopped_trails_proof_is_pending_at_once_saying_to_start_logging(
    conn: Connection, tmp_path: Path
) -> None:
    conn.client("s3", REGION).create_bucket(Bucket="tk-stopped-logs")
    key = conn.client("kms", REGION).create_key()["KeyMetadata"]["Arn"]
    arn = conn.client("cloudtrail", REGION).create_trail(
        Name="stopped-trail", S3BucketName="tk-stopped-logs", KmsKeyId=key
    )["TrailARN"]
    assert conn.client("cloudtrail", REGION).get_trail_status(Name=arn)["IsLogging"] is False
    journal = Journal(tmp_path / "journal.jsonl")
    info = conn.info()
    when = (datetime.now(UTC) - timedelta(seconds=60)).isoformat().replace("+00:00", "Z")
    intent = journal.record_intent(
        kind=Kind.TRAIL_KEY,
        target_arn=arn,
        region=REGION,
        before=None,
        after=key,
        caller_arn=info.caller_arn,
        account=info.account,
        endpoint=info.endpoint,
        backend=info.backend,
        time=when,
    )
    journal.record_outcome(intent, Phase.DONE, after=key, time=when)
    progress: list[float] = []
    proof = Runbook(conn, journal).verify_change(
        arn,
        wait=900,
        interval=10,
        sleep=_never,
        clock=lambda: 0.0,
        progress=lambda p, left: progress.append(left),
    )
    assert proof.status is ProofStatus.PENDING and progress == []
    assert "not logging" in proof.reason and "IsLogging" in proof.reason
    assert f"aws cloudtrail start-logging --name {arn}" in proof.fix
    assert "again" not in proof.fix
    assert journal.get(intent.change_id).proof == "pending"  # recorded, as any proof
