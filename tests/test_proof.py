"""Issue 17 item 1: the delivery proof's pure judgement (:mod:`trailkit.rules.proof`).

Table-driven over hand-made records: every status, the encryption expected after a disable
(the bucket's default), a wrong key, a delivery error after the change, a digest expected but
missing or with the wrong key, an object after the change still carrying the old encryption,
the folders and ``StartAfter`` names, and ``parse_wait``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from trailkit.errors import InputError
from trailkit.records import BucketInfo, DeliveredObject, Proof, ProofStatus, Trail, TrailStatus
from trailkit.rules.proof import (
    MAX_WAIT,
    day_folders,
    digest_prefix,
    expected_encryption,
    judge,
    log_prefix,
    log_start_after,
    parse_wait,
)

ACCOUNT = "111111111111"
TRAIL_ARN = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/t"
BUCKET = "logs"
OLD = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/11111111-1111-1111-1111-111111111111"
NEW = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/22222222-2222-2222-2222-222222222222"
THIRD = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/33333333-3333-3333-3333-333333333333"
BUCKET_KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/44444444-4444-4444-4444-444444444444"
SINCE = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
AFTER = SINCE + timedelta(minutes=5)


def trail(
    key: str | None = NEW,
    *,
    validation: bool = False,
    default: str | None = None,
    default_key: str | None = None,
) -> Trail:
    return Trail(
        name="t",
        arn=TRAIL_ARN,
        home_region="us-east-1",
        account=ACCOUNT,
        multi_region=False,
        organization=False,
        bucket_name=BUCKET,
        s3_prefix=None,
        kms_key_id=key,
        log_file_validation=validation,
        bucket=BucketInfo(
            name=BUCKET,
            region="us-east-1",
            default_encryption=default,
            default_kms_key=default_key,
        ),
    )


def obj(encryption: str | None, key: str | None = None, *, digest: bool = False) -> DeliveredObject:
    folder = "CloudTrail-Digest" if digest else "CloudTrail"
    return DeliveredObject(
        bucket=BUCKET,
        key=f"AWSLogs/{ACCOUNT}/{folder}/us-east-1/2026/12/05/{ACCOUNT}_x.json.gz",
        last_modified=AFTER,
        encryption=encryption,
        kms_key_id=key,
    )


OK_STATUS = TrailStatus(is_logging=True, latest_delivery_time=AFTER)
KMS_NEW = obj("aws:kms", NEW)


def run(t: Trail, **kw: object) -> Proof:
    args: dict[str, object] = {
        "expected": expected_encryption(t, t.kms_key_id),
        "since": SINCE,
        "status": OK_STATUS,
        "log": None,
        "digest": None,
    }
    args.update(kw)
    return judge(t, **args)  # type: ignore[arg-type]


# -- expected encryption -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("key", "default", "default_key", "want"),
    [
        (NEW, None, None, ("aws:kms", NEW)),
        (NEW, "aws:kms", BUCKET_KEY, ("aws:kms", NEW)),  # the trail's key wins over the default
        (None, None, None, ("AES256", None)),  # after a disable, no bucket default
        (None, "AES256", None, ("AES256", None)),
        (None, "aws:kms", BUCKET_KEY, ("aws:kms", BUCKET_KEY)),  # the bucket's SSE-KMS default
        (None, "aws:kms", None, ("aws:kms", None)),  # the AWS managed key aws/s3: any key
        (None, "aws:kms:dsse", BUCKET_KEY, ("aws:kms:dsse", BUCKET_KEY)),
    ],
)
def test_expected_encryption(
    key: str | None, default: str | None, default_key: str | None, want: tuple[str, str | None]
) -> None:
    assert expected_encryption(trail(key, default=default, default_key=default_key), key) == want


def test_expected_encryption_without_bucket_read_is_aes256() -> None:
    t = replace(trail(None), bucket=None)
    assert expected_encryption(t, None) == ("AES256", None)


# -- statuses --------------------------------------------------------------------------------
CASES = [
    # (name, trail kwargs, judge kwargs, status, words in reason)
    ("proven log only", {}, {"log": KMS_NEW}, ProofStatus.PROVEN, [NEW]),
    (
        "proven with digest",
        {"validation": True},
        {"log": KMS_NEW, "digest": obj("aws:kms", NEW, digest=True)},
        ProofStatus.PROVEN,
        ["digest file"],
    ),
    ("nothing yet", {}, {}, ProofStatus.PENDING, ["No log file was delivered since the change"]),
    (
        "digest expected but missing",
        {"validation": True},
        {"log": KMS_NEW},
        ProofStatus.PENDING,
        ["about once an hour"],
    ),
    ("wrong key", {}, {"log": obj("aws:kms", THIRD)}, ProofStatus.FAILED, [THIRD, NEW]),
    (
        "digest with the wrong key",
        {"validation": True},
        {"log": KMS_NEW, "digest": obj("aws:kms", THIRD, digest=True)},
        ProofStatus.FAILED,
        ["digest file", THIRD],
    ),
    ("third encryption", {}, {"log": obj("aws:kms:dsse", NEW)}, ProofStatus.FAILED, ["dsse"]),
    ("no header", {}, {"log": obj(None)}, ProofStatus.FAILED, ["no encryption header"]),
    (
        "old encryption while waiting",
        {},
        {"log": obj("AES256"), "previous": ("AES256", None), "final": False},
        ProofStatus.PENDING,
        ["from before the change"],
    ),
    (
        "old encryption at the end",
        {},
        {"log": obj("AES256"), "previous": ("AES256", None), "final": True},
        ProofStatus.FAILED,
        ["from before the change", "AES256"],
    ),
    (
        "old key while waiting",
        {},
        {"log": obj("aws:kms", OLD), "previous": ("aws:kms", OLD), "final": False},
        ProofStatus.PENDING,
        [OLD],
    ),
    (
        "unreadable objects",
        {},
        {"unreadable": "Access denied to ListObjectsV2.", "permission": "s3:ListBucket"},
        ProofStatus.UNVERIFIABLE,
        ["Access denied"],
    ),
    (
        "status unreadable and nothing found",
        {},
        {"status": TrailStatus(error="denied")},
        ProofStatus.UNVERIFIABLE,
        ["could not be read"],
    ),
    (
        "status unreadable but proven by the objects",
        {},
        {"status": TrailStatus(error="denied"), "log": KMS_NEW},
        ProofStatus.PROVEN,
        [NEW],
    ),
]


@pytest.mark.parametrize(
    ("trail_kw", "judge_kw", "status", "words"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_status(
    trail_kw: dict[str, object],
    judge_kw: dict[str, object],
    status: ProofStatus,
    words: list[str],
) -> None:
    proof = run(trail(**trail_kw), **judge_kw)  # type: ignore[arg-type]
    assert proof.status is status
    for word in words:
        assert word in proof.reason
    if status is ProofStatus.PROVEN:
        assert proof.fix == ""
    else:
        assert proof.fix


def test_unverifiable_names_the_permission_in_the_fix() -> None:
    proof = run(trail(), unreadable="no", permission="s3:ListBucket")
    assert proof.status is ProofStatus.UNVERIFIABLE
    assert "s3:ListBucket" in proof.fix


@pytest.mark.parametrize(
    ("default", "default_key", "seen", "status"),
    [
        (None, None, obj("AES256"), ProofStatus.PROVEN),
        (None, None, obj("aws:kms", NEW), ProofStatus.FAILED),  # still the old key, at the end
        ("aws:kms", BUCKET_KEY, obj("aws:kms", BUCKET_KEY), ProofStatus.PROVEN),
        ("aws:kms", BUCKET_KEY, obj("AES256"), ProofStatus.FAILED),
        ("aws:kms", None, obj("aws:kms", THIRD), ProofStatus.PROVEN),  # aws/s3: any key
    ],
)
def test_after_a_disable(
    default: str | None, default_key: str | None, seen: DeliveredObject, status: ProofStatus
) -> None:
    t = trail(None, default=default, default_key=default_key)
    proof = judge(
        t,
        expected=expected_encryption(t, None),
        since=SINCE,
        status=OK_STATUS,
        log=seen,
        digest=None,
        previous=("aws:kms", NEW),
    )
    assert proof.status is status


def test_delivery_error_after_the_change_fails_naming_cause_and_key() -> None:
    status = TrailStatus(
        latest_delivery_error="KMS.DisabledException",
        latest_delivery_time=SINCE - timedelta(minutes=10),  # no success since the change
    )
    proof = run(trail(), status=status, log=None)
    assert proof.status is ProofStatus.FAILED
    assert NEW in proof.reason and "disabled" in proof.reason
    assert "enable-key" in proof.fix


def test_delivery_error_attempt_after_the_change_fails_even_after_a_success() -> None:
    status = TrailStatus(
        latest_delivery_error="AccessDenied",
        latest_delivery_time=AFTER,
        latest_delivery_attempt_time=AFTER + timedelta(minutes=5),
    )
    proof = run(trail(), status=status, log=KMS_NEW)
    assert proof.status is ProofStatus.FAILED
    assert BUCKET in proof.reason


def test_old_delivery_error_attempted_before_the_change_is_ignored() -> None:
    status = TrailStatus(
        latest_delivery_error="AccessDenied",
        latest_delivery_time=AFTER,
        latest_delivery_attempt_time=SINCE - timedelta(minutes=5),
    )
    assert run(trail(), status=status, log=KMS_NEW).status is ProofStatus.PROVEN


def test_an_error_of_unknown_time_is_never_proven_over() -> None:
    """A file delivered with the new key after the change, then the key disabled: CloudTrail
    reports the error and nothing says when it happened; the proof must not say proven."""
    status = TrailStatus(latest_delivery_error="KMS.DisabledException", latest_delivery_time=AFTER)
    proof = run(trail(), status=status, log=KMS_NEW)
    assert proof.status is ProofStatus.FAILED
    assert NEW in proof.reason and "disabled" in proof.reason


def test_digest_delivery_error_counts_only_with_validation() -> None:
    status = TrailStatus(latest_delivery_time=AFTER, latest_digest_delivery_error="AccessDenied")
    assert run(trail(), status=status, log=KMS_NEW).status is ProofStatus.PROVEN
    proof = run(trail(validation=True), status=status, log=KMS_NEW)
    assert proof.status is ProofStatus.FAILED
    assert "digest" in proof.reason


def test_no_recorded_change_judges_the_newest_object() -> None:
    proof = run(trail(), since=None, log=KMS_NEW)
    assert proof.status is ProofStatus.PROVEN
    assert proof.since is None
    assert run(trail(), since=None).status is ProofStatus.PENDING


def test_key_id_and_arn_are_the_same_key() -> None:
    t = trail("22222222-2222-2222-2222-222222222222")
    assert run(t, log=KMS_NEW).status is ProofStatus.PROVEN


def test_as_dict_is_json_shaped() -> None:
    proof = run(trail(), log=KMS_NEW, change_id="chg-1", checked_at=AFTER)
    data = proof.as_dict()
    assert data["status"] == "proven"
    assert data["since"] == "2026-12-05T09:00:00Z"
    assert data["log"]["kms_key_id"] == NEW
    assert data["digest"] is None and data["change_id"] == "chg-1"


# -- where the objects are ---------------------------------------------------------------------
def test_prefixes() -> None:
    day = date(2026, 12, 5)
    t = replace(trail(), s3_prefix="/team/")
    assert log_prefix(t, ACCOUNT, "us-east-1", day) == (
        f"team/AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/2026/12/05/"
    )
    assert digest_prefix(trail(), ACCOUNT, "eu-west-1", day, "o-abc1234567") == (
        f"AWSLogs/o-abc1234567/{ACCOUNT}/CloudTrail-Digest/eu-west-1/2026/12/05/"
    )


def test_start_after_is_an_hour_before_the_change_on_its_day() -> None:
    prefix = log_prefix(trail(), ACCOUNT, "us-east-1", date(2026, 12, 5))
    assert log_start_after(prefix, ACCOUNT, "us-east-1", SINCE) == (
        f"{prefix}{ACCOUNT}_CloudTrail_us-east-1_20261205T0800"
    )
    early = datetime(2026, 12, 5, 0, 30, tzinfo=UTC)  # an hour before is yesterday
    assert log_start_after(prefix, ACCOUNT, "us-east-1", early) == prefix
    later = log_prefix(trail(), ACCOUNT, "us-east-1", date(2026, 12, 6))
    assert log_start_after(later, ACCOUNT, "us-east-1", SINCE) == later


def test_day_folders_newest_first() -> None:
    now = datetime(2026, 12, 7, 1, tzinfo=UTC)
    assert day_folders(SINCE, now) == [date(2026, 12, 7), date(2026, 12, 6), date(2026, 12, 5)]
    assert day_folders(None, now) == [date(2026, 12, 7), date(2026, 12, 6)]
    assert len(day_folders(SINCE - timedelta(days=400), now)) == 31


# -- parse_wait ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0", 0.0),
        ("90", 90.0),
        ("90s", 90.0),
        ("15m", 900.0),
        ("1h", 3600.0),
        ("1h30m", 5400.0),
        (" 2M ", 120.0),
        ("24h", MAX_WAIT),
        (60, 60.0),
    ],
)
def test_parse_wait(text: str, seconds: float) -> None:
    assert parse_wait(text) == seconds


@pytest.mark.parametrize(
    "text",
    ["", " ", "-5", "-1m", "15x", "m", "1.5h", "25h", "24h1s", "abc", -1, "٣s", "１０m", "1٠"],
)
def test_parse_wait_refuses_naming_the_option(text: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_wait(text)
    assert "--wait" in str(caught.value)


@pytest.mark.parametrize(
    ("owner", "error"),
    [
        ("999988887777", None),
        (
            None,
            "HeadBucket: 403 (the bucket belongs to another account, which does not let "
            "this caller read it)",
        ),
    ],
)
def test_a_bucket_of_another_account_is_blamed_not_the_callers_iam(
    owner: str | None, error: str | None
) -> None:
    t = trail()
    assert t.bucket is not None
    t = replace(t, bucket=replace(t.bucket, owner_account=owner, error=error))
    proof = run(t, unreadable="ListObjectsV2 was denied.", permission="s3:ListBucket")
    assert proof.status is ProofStatus.UNVERIFIABLE
    assert "another account" in proof.reason and "Fix:" not in proof.reason
    assert (owner or "another account") in proof.reason
    assert "bucket policy" in proof.fix and "trailkit verify" in proof.fix


def test_a_bucket_of_the_trails_own_account_names_the_callers_permission() -> None:
    t = trail()
    assert t.bucket is not None
    t = replace(t, bucket=replace(t.bucket, owner_account=ACCOUNT))
    proof = run(t, unreadable="ListObjectsV2 was denied.", permission="s3:ListBucket")
    assert "another account" not in proof.reason
    assert "grant s3:ListBucket" in proof.fix


def test_unknown_bucket_default_after_a_disable_is_unverifiable_not_failed() -> None:
    t = trail(None)
    assert t.bucket is not None
    t = replace(t, bucket=replace(t.bucket, encryption_error="AccessDenied"))
    proof = judge(
        t,
        expected=expected_encryption(t, None),
        since=SINCE,
        status=OK_STATUS,
        log=obj("aws:kms", BUCKET_KEY),
        digest=None,
    )
    assert proof.status is ProofStatus.UNVERIFIABLE
    assert "s3:GetEncryptionConfiguration" in proof.fix
    assert (
        judge(
            t,
            expected=expected_encryption(t, None),
            since=SINCE,
            status=OK_STATUS,
            log=obj("AES256"),
            digest=None,
        ).status
        is ProofStatus.PROVEN
    )


# -- a trail that is not logging -------------------------------------------------------------
STOPPED = TrailStatus(is_logging=False, latest_delivery_time=SINCE - timedelta(days=3))


@pytest.mark.parametrize(
    ("trail_kw", "judge_kw"),
    [
        ({}, {}),  # nothing delivered since the change
        ({}, {"since": None}),  # no recorded change: nothing in the last two days
        ({"validation": True}, {"log": KMS_NEW}),  # the log came, the digest never will
        ({}, {"log": obj("AES256"), "previous": ("AES256", None), "final": False}),
    ],
    ids=["nothing", "no change", "no digest", "old encryption"],
)
def test_a_stopped_trail_is_pending_because_it_is_not_logging_not_to_wait_again(
    trail_kw: dict[str, object], judge_kw: dict[str, object]
) -> None:
    proof = run(trail(**trail_kw), status=STOPPED, **judge_kw)  # type: ignore[arg-type]
    assert proof.status is ProofStatus.PENDING  # nothing failed: the trail is just stopped
    assert "not logging" in proof.reason and "IsLogging" in proof.reason
    assert f"aws cloudtrail start-logging --name {TRAIL_ARN}" in proof.fix
    assert "again" not in proof.fix and "CloudTrail console" in proof.fix


def test_a_stopped_trail_is_still_proven_or_failed_by_what_it_delivered() -> None:
    assert run(trail(), status=STOPPED, log=KMS_NEW).status is ProofStatus.PROVEN
    failed = run(trail(), status=STOPPED, log=obj("aws:kms", THIRD))
    assert failed.status is ProofStatus.FAILED and "not logging" not in failed.reason
    unknown = run(trail(), status=TrailStatus(is_logging=None))  # not said: wait as usual
    assert unknown.status is ProofStatus.PENDING and "again" in unknown.fix


def test_a_stopped_trail_speaks_japanese() -> None:
    from english import assert_japanese

    from trailkit import i18n

    i18n.set_language("ja")
    try:
        proof = run(trail(), status=STOPPED)
    finally:
        i18n.set_language("en")
    # IsLogging false: the API field and value stay as AWS writes them
    assert_japanese(
        proof.reason + "\n" + proof.fix, [TRAIL_ARN, "IsLogging", "false", "GetTrailStatus"]
    )
