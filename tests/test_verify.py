"""Issue 17 item 1: ``trailkit verify`` and ``Runbook.verify_change`` against moto.

The delivered objects are written here with ``put_object(ServerSideEncryption=...,
SSEKMSKeyId=...)`` (the demo's simulated delivery is another helper's); statuses moto cannot
produce (``LatestDeliveryError``) are answered by a ``before-call`` hook; the exact
``ListObjectsV2`` / ``HeadObject`` requests are pinned with botocore's ``Stubber``. Waiting
uses an injected clock and sleep: no test sleeps.
"""

from __future__ import annotations

import io
import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber

from tests.conftest import _FakeHttp, fail_call
from tests.english import assert_japanese
from trailkit.aws import delivered
from trailkit.aws.session import Connection
from trailkit.change.journal import Journal
from trailkit.records import Change, Kind, Phase, Proof, ProofStatus
from trailkit.rules.proof import day_folders
from trailkit.runbook import Runbook
from trailkit.ui import cli
from trailkit.ui.cli import main

BUCKET = "tk-proof-logs"
TRAIL = "proof-trail"
REGION = "us-east-1"


class _Clock:
    """A clock that moves only when slept on."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class _Setup:
    def __init__(self, conn: Connection, tmp_path: Path, *, validation: bool = False) -> None:
        self.conn = conn
        self.s3 = conn.client("s3", REGION)
        self.s3.create_bucket(Bucket=BUCKET)
        kms = conn.client("kms", REGION)
        self.old = kms.create_key()["KeyMetadata"]["Arn"]
        self.new = kms.create_key()["KeyMetadata"]["Arn"]
        made = conn.client("cloudtrail", REGION).create_trail(
            Name=TRAIL, S3BucketName=BUCKET, KmsKeyId=self.new, EnableLogFileValidation=validation
        )
        self.arn = made["TrailARN"]
        from trailkit.demo.delivery import paused

        with paused():  # logging, as a trail that delivers is; the test delivers by hand
            conn.client("cloudtrail", REGION).start_logging(Name=TRAIL)
        self.account = conn.info().account
        self.path = tmp_path / "journal.jsonl"
        self.journal = Journal(self.path)

    def change(self, *, before: str | None, after: str | None, ago: float = 60) -> Change:
        info = self.conn.info()
        when = (datetime.now(UTC) - timedelta(seconds=ago)).isoformat().replace("+00:00", "Z")
        intent = self.journal.record_intent(
            kind=Kind.TRAIL_KEY,
            target_arn=self.arn,
            region=REGION,
            before=before,
            after=after,
            caller_arn=info.caller_arn,
            account=info.account,
            endpoint=info.endpoint,
            backend=info.backend,
            time=when,
        )
        self.journal.record_outcome(intent, Phase.DONE, after=after, time=when)
        return self.journal.get(intent.change_id)

    def deliver(
        self, encryption: str = "aws:kms", key: str | None = None, *, digest: bool = False
    ) -> str:
        now = datetime.now(UTC)
        if digest:
            name = (
                f"AWSLogs/{self.account}/CloudTrail-Digest/{REGION}/{now:%Y/%m/%d}/"
                f"{self.account}_CloudTrail-Digest_{REGION}_{TRAIL}_{REGION}_{now:%Y%m%dT%H%M%S}Z"
                ".json.gz"
            )
        else:
            name = (
                f"AWSLogs/{self.account}/CloudTrail/{REGION}/{now:%Y/%m/%d}/"
                f"{self.account}_CloudTrail_{REGION}_{now:%Y%m%dT%H%M}Z_{len(self.listed())}"
                ".json.gz"
            )
        extra: dict[str, Any] = {"ServerSideEncryption": encryption}
        if encryption == "aws:kms":
            extra["SSEKMSKeyId"] = key or self.new
        self.s3.put_object(Bucket=BUCKET, Key=name, Body=b"{}", **extra)
        return name

    def listed(self) -> list[str]:
        page = self.s3.list_objects_v2(Bucket=BUCKET)
        return [o["Key"] for o in page.get("Contents") or ()]

    def book(self, journal: Journal | None = None) -> Runbook:
        return Runbook(self.conn, journal or self.journal)


@pytest.fixture
def setup(conn: Connection, tmp_path: Path) -> _Setup:
    return _Setup(conn, tmp_path)


def _status_hook(conn: Connection, body: dict[str, Any]) -> None:
    """Answer ``GetTrailStatus`` with ``body`` (moto never reports a delivery error)."""

    def handler(**_kw: Any) -> Any:
        return _FakeHttp(200), {**body, "ResponseMetadata": {"HTTPStatusCode": 200}}

    conn.client("cloudtrail", REGION).meta.events.register_first(
        "before-call.cloudtrail.GetTrailStatus", handler
    )


# -- the reads, request by request (Stubber) ---------------------------------------------------
def test_newest_object_lists_every_page_from_start_after(conn: Connection) -> None:
    client = conn.client("s3", REGION)
    since = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
    prefix = "AWSLogs/111111111111/CloudTrail/us-east-1/2026/12/05/"
    start = f"{prefix}111111111111_CloudTrail_us-east-1_20261205T0800"
    with Stubber(client) as stub:
        stub.add_response(
            "list_objects_v2",
            {
                "IsTruncated": True,
                "NextContinuationToken": "page2",
                "Contents": [
                    {"Key": f"{prefix}a", "LastModified": since - timedelta(minutes=1)},
                    {"Key": f"{prefix}b", "LastModified": since + timedelta(minutes=9)},
                ],
            },
            {"Bucket": BUCKET, "Prefix": prefix, "StartAfter": start},
        )
        stub.add_response(
            "list_objects_v2",
            {
                "IsTruncated": False,
                "Contents": [{"Key": f"{prefix}c", "LastModified": since + timedelta(minutes=4)}],
            },
            {"Bucket": BUCKET, "Prefix": prefix, "StartAfter": start, "ContinuationToken": "page2"},
        )
        found = delivered.newest_object(
            conn, BUCKET, REGION, prefix, start_after=start, after=since
        )
        stub.assert_no_pending_responses()
    assert found == (f"{prefix}b", since + timedelta(minutes=9))


def test_newest_object_none_after_the_time(conn: Connection) -> None:
    client = conn.client("s3", REGION)
    since = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
    with Stubber(client) as stub:
        stub.add_response(
            "list_objects_v2",
            {"IsTruncated": False, "Contents": [{"Key": "k", "LastModified": since}]},
            {"Bucket": BUCKET, "Prefix": "p/"},
        )
        assert delivered.newest_object(conn, BUCKET, REGION, "p/", after=since) is None


def test_organization_folder_is_one_delimiter_call(conn: Connection) -> None:
    client = conn.client("s3", REGION)
    with Stubber(client) as stub:
        stub.add_response(
            "list_objects_v2",
            {
                "IsTruncated": False,
                "CommonPrefixes": [
                    {"Prefix": "team/AWSLogs/111111111111/"},
                    {"Prefix": "team/AWSLogs/o-abcdef1234/"},
                ],
            },
            {"Bucket": BUCKET, "Prefix": "team/AWSLogs/", "Delimiter": "/"},
        )
        assert delivered.organization_folder(conn, BUCKET, REGION, "/team/") == "o-abcdef1234"
        stub.assert_no_pending_responses()


def test_head_object_reads_the_encryption(conn: Connection) -> None:
    client = conn.client("s3", REGION)
    when = datetime(2026, 12, 5, 9, 5, tzinfo=UTC)
    key_arn = "arn:aws:kms:us-east-1:111111111111:key/22222222-2222-2222-2222-222222222222"
    with Stubber(client) as stub:
        stub.add_response(
            "head_object",
            {
                "ServerSideEncryption": "aws:kms",
                "SSEKMSKeyId": key_arn,
                "BucketKeyEnabled": True,
                "LastModified": when,
            },
            {"Bucket": BUCKET, "Key": "k"},
        )
        obj = delivered.head_object(conn, BUCKET, REGION, "k", when)
    assert (obj.encryption, obj.kms_key_id, obj.bucket_key, obj.last_modified) == (
        "aws:kms",
        key_arn,
        True,
        when,
    )


def test_head_object_refused_names_get_object(conn: Connection) -> None:
    client = conn.client("s3", REGION)
    with Stubber(client) as stub:
        stub.add_client_error("head_object", "403", "Forbidden", 403)
        with pytest.raises(Exception) as caught:
            delivered.head_object(conn, BUCKET, REGION, "k", datetime.now(UTC))
    assert "s3:GetObject" in str(caught.value)


# -- Runbook.verify_change on moto -----------------------------------------------------------
def test_proven_after_a_change(setup: _Setup) -> None:
    change = setup.change(before=setup.old, after=setup.new)
    name = setup.deliver()
    proof = setup.book().verify_change(TRAIL)
    assert proof.status is ProofStatus.PROVEN, proof.reason
    assert proof.change_id == change.change_id
    assert proof.log is not None and proof.log.key == name
    assert proof.log.kms_key_id == setup.new


def test_wrong_key_fails_at_once(setup: _Setup) -> None:
    setup.change(before=None, after=setup.new)
    setup.deliver(key=setup.old)
    clock = _Clock()
    proof = setup.book().verify_change(TRAIL, wait=600, sleep=clock.sleep, clock=clock)
    assert proof.status is ProofStatus.FAILED
    assert setup.old in proof.reason and clock.slept == []


def test_refused_list_bucket_is_unverifiable_naming_it(setup: _Setup) -> None:
    setup.change(before=None, after=setup.new)
    fail_call(setup.conn, "s3", "ListObjectsV2", code="AccessDenied", status=403)
    proof = setup.book().verify_change(TRAIL)
    assert proof.status is ProofStatus.UNVERIFIABLE
    assert "s3:ListBucket" in proof.reason + proof.fix


def test_delivery_error_after_the_change_fails_naming_the_key(setup: _Setup) -> None:
    setup.change(before=None, after=setup.new)
    _status_hook(
        setup.conn,
        {
            "IsLogging": True,
            "LatestDeliveryError": "KMS.DisabledException",
            "LatestDeliveryTime": datetime.now(UTC) - timedelta(hours=2),
        },
    )
    proof = setup.book().verify_change(TRAIL)
    assert proof.status is ProofStatus.FAILED
    assert setup.new in proof.reason and "enable-key" in proof.fix


def test_polls_pending_then_proven(setup: _Setup) -> None:
    setup.change(before=None, after=setup.new)
    clock = _Clock()
    seen: list[tuple[ProofStatus, float]] = []

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        if len(clock.slept) == 2:
            setup.deliver()

    proof = setup.book().verify_change(
        TRAIL,
        wait=60,
        interval=10,
        sleep=sleep,
        clock=clock,
        progress=lambda p, left: seen.append((p.status, left)),
    )
    assert proof.status is ProofStatus.PROVEN
    assert clock.slept == [10, 10]
    assert seen == [(ProofStatus.PENDING, 60), (ProofStatus.PENDING, 50)]


def test_old_encryption_keeps_polling_then_fails(setup: _Setup) -> None:
    setup.change(before=None, after=setup.new)
    setup.deliver("AES256")
    clock = _Clock()
    proof = setup.book().verify_change(TRAIL, wait=30, interval=10, sleep=clock.sleep, clock=clock)
    assert clock.slept == [10, 10, 10]
    assert proof.status is ProofStatus.FAILED
    assert "from before the change" in proof.reason


def test_wait_zero_looks_once(setup: _Setup) -> None:
    change = setup.change(before=None, after=setup.new)
    assert change.outcome is not None
    since = datetime.fromisoformat(change.outcome.time.replace("Z", "+00:00"))
    calls: list[str] = []
    setup.conn.client("s3", REGION).meta.events.register(
        "before-call.s3.ListObjectsV2", lambda **kw: calls.append("list")
    )
    clock = _Clock()
    proof = setup.book().verify_change(TRAIL, wait=0, sleep=clock.sleep, clock=clock)
    assert proof.status is ProofStatus.PENDING
    # One look: one listing of each day folder since the change (nothing found in any).
    assert clock.slept == [] and len(calls) == len(day_folders(since, datetime.now(UTC)))


def test_cancel_returns_pending_saying_so(setup: _Setup) -> None:
    setup.change(before=None, after=setup.new)
    cancel = threading.Event()
    clock = _Clock()
    proof = setup.book().verify_change(
        TRAIL,
        wait=600,
        interval=10,
        cancel=cancel,
        sleep=clock.sleep,
        clock=clock,
        progress=lambda p, left: cancel.set(),
    )
    assert proof.status is ProofStatus.PENDING
    assert proof.reason.startswith("Cancelled") and clock.slept == [10]


def test_no_change_judges_the_current_setting_and_records_nothing(setup: _Setup) -> None:
    setup.deliver()
    recorded: list[Any] = []

    class Recording(Journal):
        def record_verification(self, change: Change, proof: Proof) -> None:
            recorded.append((change, proof))

    proof = setup.book(Recording(setup.path)).verify_change(TRAIL)
    assert proof.status is ProofStatus.PROVEN and proof.since is None
    assert recorded == []


def test_records_through_the_journal_when_it_can(setup: _Setup) -> None:
    change = setup.change(before=None, after=setup.new)
    recorded: list[Any] = []

    class Recording(Journal):
        def record_verification(self, change: Change, proof: Proof) -> None:
            recorded.append((change.change_id, proof.status))

    setup.book(Recording(setup.path)).verify_change(TRAIL)
    assert recorded == [(change.change_id, ProofStatus.PENDING)]
    recorded.clear()
    setup.book(Recording(setup.path)).verify_change(TRAIL, record=False)
    assert recorded == []


def test_a_named_change_of_another_trail_is_refused(setup: _Setup) -> None:
    setup.change(before=None, after=setup.new)
    other = setup.journal.record_intent(
        kind=Kind.TRAIL_KEY,
        target_arn=setup.arn.replace(TRAIL, "other"),
        region=REGION,
        before=None,
        after=setup.new,
        caller_arn="c",
        account=setup.account,
        endpoint="e",
        backend="demo",
    )
    setup.journal.record_outcome(other, Phase.DONE, after=setup.new)
    with pytest.raises(Exception) as caught:
        setup.book().verify_change(TRAIL, change_id=other.change_id)
    assert "not of" in str(caught.value)


# -- the command line ------------------------------------------------------------------------
def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(list(argv), out=out, err=err), out.getvalue(), err.getvalue()


def _verify(setup: _Setup, *extra: str) -> tuple[int, str, str]:
    return _cli(
        *extra[:2] if extra[:1] == ("--lang",) else (),
        "verify",
        "--trail",
        TRAIL,
        "--endpoint-url",
        setup.conn.endpoint_url or "",
        "--journal",
        str(setup.path),
        *(extra[2:] if extra[:1] == ("--lang",) else extra),
    )


def test_cli_exit_codes_and_header(setup: _Setup) -> None:
    setup.change(before=None, after=setup.new)
    code, out, err = _verify(setup)
    assert code == 3, err
    assert out.index(setup.account) < out.index("PENDING")  # who and where first
    setup.deliver()
    code, out, err = _verify(setup)
    assert code == 0 and "PROVEN" in out, err
    setup.deliver(key=setup.old)
    code, out, err = _verify(setup)
    assert code == 1 and "FAILED" in out and setup.old in out


def test_cli_json(setup: _Setup) -> None:
    change = setup.change(before=None, after=setup.new)
    setup.deliver()
    code, out, err = _verify(setup, "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["connection"]["account"] == setup.account
    assert data["proof"]["status"] == "proven"
    assert data["proof"]["change_id"] == change.change_id
    assert data["proof"]["log"]["kms_key_id"] == setup.new


@pytest.mark.parametrize("wait", ["", "-1m", "2d", "soon"])
def test_cli_bad_wait_is_a_usage_error(setup: _Setup, wait: str) -> None:
    code, _out, err = _verify(setup, "--wait", wait)
    assert code == 2 and "--wait" in err and "Traceback" not in err


def test_cli_ctrl_c_while_waiting_is_pending_without_traceback(
    setup: _Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup.change(before=None, after=setup.new)
    clock = _Clock()

    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_pause", interrupted)
    monkeypatch.setattr(cli, "_clock", clock)
    code, out, err = _verify(setup, "--wait", "15m")
    assert code == 3
    assert "Cancelled" in out and "Traceback" not in err + out


def test_cli_japanese(setup: _Setup, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "400")  # object keys on one line each
    setup.change(before=None, after=setup.new)
    setup.deliver()
    code, out, err = _verify(setup, "--lang", "ja")
    assert code == 0, err
    assert_japanese(out, [TRAIL, BUCKET, *setup.listed()], what="trailkit verify")
    setup.deliver(key=setup.old)
    code, out, err = _verify(setup, "--lang", "ja")
    assert code == 1, err
    assert_japanese(out, [TRAIL, BUCKET, *setup.listed()], what="trailkit verify (failed)")


def test_update_prints_the_verify_command_which_proves_the_org_trail(
    demo_rw: Any, tmp_path: Path
) -> None:
    endpoint, _estate = demo_rw
    j = str(tmp_path / "j.jsonl")
    code, out, err = _cli(
        "--endpoint-url",
        endpoint,
        "update",
        "--trail",
        "org-trail",
        "--key",
        "alias/cloudtrail-good",
        "--yes",
        "--journal",
        j,
    )
    assert code == 0, err
    assert "next: `trailkit verify --trail arn:aws:cloudtrail:" in out
    # run as printed: the journal it was given is named
    assert f"org-trail --journal {j} --wait 15m`" in out
    # The demo delivers 2 s after the change: the organization trail's files are under
    # AWSLogs/o-ORGID/ACCOUNT/, the proof finds the organization's folder itself.
    base = ["--endpoint-url", endpoint, "--journal", j]
    code, out, err = _cli(
        "verify", "--trail", "org-trail", "--wait", "60s", "--format", "json", *base
    )
    assert code == 0, out + err
    proof = json.loads(out)["proof"]
    conn = Connection(endpoint_url=endpoint, region=REGION)
    key = conn.client("kms", REGION).describe_key(KeyId="alias/cloudtrail-good")["KeyMetadata"]
    prefix = "AWSLogs/o-"
    assert (
        proof["log"]["key"].startswith(prefix)
        and "/123456789012/CloudTrail/" in proof["log"]["key"]
    )
    assert "/123456789012/CloudTrail-Digest/" in proof["digest"]["key"]
    assert proof["expected_key"] == key["Arn"]
    assert proof["log"]["kms_key_id"] == proof["digest"]["kms_key_id"] == key["Arn"]


def test_cli_wait_polls_until_proven_without_a_bar_off_a_terminal(
    setup: _Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup.change(before=None, after=setup.new)
    clock = _Clock()

    def pause(seconds: float) -> None:
        clock.sleep(seconds)
        if len(clock.slept) == 2:
            setup.deliver()

    monkeypatch.setattr(cli, "_pause", pause)
    monkeypatch.setattr(cli, "_clock", clock)
    code, out, err = _verify(setup, "--wait", "1m")
    assert code == 0 and "PROVEN" in out, err
    assert clock.slept == [1.0, 1.0]  # the demo's interval
    assert err == ""  # no progress bar into a pipe
