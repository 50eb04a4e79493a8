"""Issue 17: the demo backend simulates CloudTrail delivery (trailkit.demo.delivery).

Pinned with boto3 against the session's moto server (in this process): what a delivery writes
(object names, gzip JSON, encryption read back with ``HeadObject``), what it refuses and the
error it leaves in ``GetTrailStatus``, each trigger (``UpdateTrail``, ``CreateTrail``,
``StartLogging``, ``DisableKey``, ``ScheduleKeyDeletion``, the periodic round), the delay (0:
before the response returns; more: later, cancellable) and the seeded estate's first delivery.
Every test runs with the delay 0 unless it sets another (and restores it).
"""

from __future__ import annotations

import gzip
import json
import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.english import assert_japanese
from tests.test_demo_org import _client
from trailkit import i18n
from trailkit.aws.session import Connection
from trailkit.demo import delivery, reset, seed_demo, start_demo
from trailkit.demo.lab import delivery_line
from trailkit.demo.patches import set_member_trail_status
from trailkit.demo.server import with_header

MGMT = "123456789012"
PROD = "333344445555"
DEV = "555566667777"
LOG_NAME = re.compile(
    r"(?P<base>.*)AWSLogs/(?:(?P<org>o-[a-z0-9]+)/)?(?P<account>\d{12})/CloudTrail/"
    r"(?P<region>[a-z0-9-]+)/(?P<day>\d{4}/\d{2}/\d{2})/(?P=account)_CloudTrail_(?P=region)_"
    r"(?P<stamp>\d{8}T\d{4}Z)_[A-Za-z0-9]{16}\.json\.gz"
)
DIGEST_NAME = re.compile(
    r"(?P<base>.*)AWSLogs/(?:(?P<org>o-[a-z0-9]+)/)?(?P<account>\d{12})/CloudTrail-Digest/"
    r"(?P<region>[a-z0-9-]+)/(?P<day>\d{4}/\d{2}/\d{2})/(?P=account)_CloudTrail-Digest_"
    r"(?P=region)_(?P<trail>[A-Za-z0-9._-]+)_(?P=region)_(?P<stamp>\d{8}T\d{6}Z)\.json\.gz"
)


@pytest.fixture(autouse=True)
def _synchronous() -> Iterator[None]:
    delivery.set_delivery_delay(0)
    yield
    delivery.cancel_pending()
    delivery.set_delivery_delay(None)


def _objects(endpoint: str, bucket: str, account: str = MGMT) -> list[dict[str, Any]]:
    s3 = _client(endpoint, "s3", account=account)
    found: list[dict[str, Any]] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        found += page.get("Contents", [])
    return sorted(found, key=lambda o: (o["LastModified"], o["Key"]))


def _logs(endpoint: str, bucket: str, account: str = MGMT) -> list[str]:
    return [o["Key"] for o in _objects(endpoint, bucket, account) if "/CloudTrail/" in o["Key"]]


def _new_log(endpoint: str, bucket: str, before: list[str], account: str = MGMT) -> str:
    """The one log file written since ``before`` was listed. (Files stored in the same second
    list in no particular order: S3's ``LastModified`` here is whole seconds, and CloudTrail's
    file names carry only the minute and a random part.)"""
    (new,) = set(_logs(endpoint, bucket, account)) - set(before)
    return new


def _digests(endpoint: str, bucket: str, account: str = MGMT) -> list[str]:
    return [
        o["Key"] for o in _objects(endpoint, bucket, account) if "CloudTrail-Digest" in o["Key"]
    ]


def _head(endpoint: str, bucket: str, key: str, account: str = MGMT) -> dict[str, Any]:
    answer: dict[str, Any] = _client(endpoint, "s3", account=account).head_object(
        Bucket=bucket, Key=key
    )
    return answer


def _status(endpoint: str, arn: str, account: str = MGMT) -> dict[str, Any]:
    region = arn.split(":")[3]
    answer: dict[str, Any] = _client(endpoint, "cloudtrail", region, account).get_trail_status(
        Name=arn
    )
    return answer


def _key_arn(endpoint: str, alias: str, region: str, account: str = MGMT) -> str:
    kms = _client(endpoint, "kms", region, account)
    return str(kms.describe_key(KeyId=alias)["KeyMetadata"]["Arn"])


def _wait_until(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Poll ``check`` (a state, not a duration, is asserted)."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def _update(endpoint: str, estate: Any, trail: str, key: str, account: str = MGMT) -> None:
    arn = estate.trails[trail]
    _client(endpoint, "cloudtrail", arn.split(":")[3], account).update_trail(Name=arn, KmsKeyId=key)


# -- what the seeded estate starts with -----------------------------------------------------


def test_seeding_delivers_once_for_the_trails_whose_delivery_would_succeed(demo: Any) -> None:
    """One log file per logging trail that CloudTrail could deliver for; the trails whose
    delivery would fail keep moto's status (no error: the estate's documented health) and an
    empty bucket; no delivery is left pending."""
    endpoint, estate = demo
    assert delivery.pending() == 0
    pinned = _logs(endpoint, "tk-pinned-logs-use1")
    assert len(pinned) == 1 and LOG_NAME.fullmatch(pinned[0])
    head = _head(endpoint, "tk-pinned-logs-use1", pinned[0])
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"] == estate.keys["alias/cloudtrail-good"]
    prod_bucket = "tk-prod-logs-333344445555"
    assert len(_logs(endpoint, prod_bucket, PROD)) == 1
    assert len(_digests(endpoint, prod_bucket, PROD)) == 1  # log file validation on
    for trail, bucket, account in (
        ("stripped-policy-trail", "tk-stripped-logs-use1", MGMT),
        ("retiring-key-trail", "tk-retiring-logs-use1", MGMT),
        ("dev-trail", "tk-dev-logs-555566667777", DEV),
        ("stale-key-trail", "tk-stale-logs-use1", MGMT),  # not logging
    ):
        assert _objects(endpoint, bucket, account) == [], trail
        assert "LatestDeliveryError" not in _status(endpoint, estate.trails[trail], account)
    status = _status(endpoint, estate.trails["pinned-key-trail"])
    assert "LatestDeliveryError" not in status and status["LatestDeliveryTime"]


def test_objects_are_named_and_filled_as_cloudtrail_writes_them(demo: Any) -> None:
    """prod-trail: log file validation on, so a log file and a digest file in its home region's
    folders, both gzip JSON, named with the account, region, trail and time."""
    endpoint, estate = demo
    bucket = "tk-prod-logs-333344445555"
    (log,) = _logs(endpoint, bucket, PROD)
    (digest,) = _digests(endpoint, bucket, PROD)
    named = LOG_NAME.fullmatch(log)
    assert named and named["base"] == "" and named["org"] is None
    assert (named["account"], named["region"]) == (PROD, "us-east-1")
    assert named["day"] == datetime.strptime(named["stamp"], "%Y%m%dT%H%MZ").strftime("%Y/%m/%d")
    dnamed = DIGEST_NAME.fullmatch(digest)
    assert dnamed and (dnamed["account"], dnamed["trail"]) == (PROD, "prod-trail")
    s3 = _client(endpoint, "s3", account=PROD)
    body = json.loads(gzip.decompress(s3.get_object(Bucket=bucket, Key=log)["Body"].read()))
    assert body == {"Records": []}
    summary = json.loads(gzip.decompress(s3.get_object(Bucket=bucket, Key=digest)["Body"].read()))
    assert summary["awsAccountId"] == PROD and summary["logFiles"][0]["s3Object"] == log
    for key in (log, digest):  # digest files use the trail's key too (since November 2025)
        head = _head(endpoint, bucket, key, PROD)
        assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == (
            "aws:kms",
            estate.keys["alias/prod-logs"],
        )


# -- triggers ------------------------------------------------------------------------------


def test_update_trail_delivers_with_the_new_key_before_the_response_returns(
    demo_rw: Any,
) -> None:
    endpoint, estate = demo_rw
    bucket = "tk-tokyo-logs-usw2"
    before = _logs(endpoint, bucket)
    assert len(before) == 1 and _head(endpoint, bucket, before[0])["ServerSideEncryption"] == (
        "AES256"
    )
    key = _key_arn(endpoint, "alias/cloudtrail-good-usw2", "us-west-2")
    changed = datetime.now(UTC)
    _update(endpoint, estate, "tokyo-trail", key)
    new = _new_log(endpoint, bucket, before)
    assert len(_logs(endpoint, bucket)) == 2
    head = _head(endpoint, bucket, new)
    assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", key)
    assert LOG_NAME.fullmatch(new)["region"] == "ap-northeast-1"  # type: ignore[index]
    status = _status(endpoint, estate.trails["tokyo-trail"])
    assert "LatestDeliveryError" not in status
    assert status["LatestDeliveryTime"] >= changed - timedelta(milliseconds=1)


def test_a_disable_delivers_with_the_bucket_default_encryption(demo_rw: Any) -> None:
    """``KmsKeyId=""``: SSE-S3 from now on (the bucket's default, AES256 here); the pinned-key
    bucket policy denies only other KMS keys, so the upload passes."""
    endpoint, estate = demo_rw
    before = _logs(endpoint, "tk-pinned-logs-use1")
    _update(endpoint, estate, "pinned-key-trail", "")
    newest = _new_log(endpoint, "tk-pinned-logs-use1", before)
    head = _head(endpoint, "tk-pinned-logs-use1", newest)
    assert head["ServerSideEncryption"] == "AES256" and "SSEKMSKeyId" not in head
    assert "LatestDeliveryError" not in _status(endpoint, estate.trails["pinned-key-trail"])


def test_an_sse_s3_trail_gets_its_buckets_default_kms_key_and_bucket_key(demo: Any) -> None:
    endpoint, estate = demo
    (log,) = _logs(endpoint, "tk-bucketkey-logs-usw2")
    head = _head(endpoint, "tk-bucketkey-logs-usw2", log)
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"] == estate.keys["alias/bucket-default-usw2"]
    assert head["BucketKeyEnabled"] is True


def test_a_bucket_policy_that_names_another_trail_refuses_it(demo_rw: Any) -> None:
    """CreateTrail does not start logging (as in AWS): nothing is delivered until StartLogging;
    then the bucket policy, which names archive-trail only, refuses the new trail."""
    endpoint, _estate = demo_rw
    ct = _client(endpoint, "cloudtrail")
    arn = ct.create_trail(Name="fresh-trail", S3BucketName="tk-stale-logs-use1")["TrailARN"]
    assert "LatestDeliveryError" not in _status(endpoint, arn)
    ct.start_logging(Name=arn)
    assert _status(endpoint, arn)["LatestDeliveryError"] == "AccessDenied"
    assert _objects(endpoint, "tk-stale-logs-use1") == []


def test_create_trail_of_a_logging_trail_delivers_through_start_logging(demo_rw: Any) -> None:
    """A trail made with a CloudTrail bucket policy for it: CreateTrail does not deliver (not
    logging yet), StartLogging does, under the trail's S3 key prefix."""
    endpoint, estate = demo_rw
    s3 = _client(endpoint, "s3")
    s3.create_bucket(Bucket="tk-fresh-logs-use1")
    arn = f"arn:aws:cloudtrail:us-east-1:{MGMT}:trail/fresh-trail"
    from trailkit.demo.estate import cloudtrail_bucket_policy

    policy = cloudtrail_bucket_policy("tk-fresh-logs-use1", MGMT, arn)
    for statement in policy["Statement"]:  # the write statement under the trail's prefix
        if statement["Sid"] == "AWSCloudTrailWrite":
            statement["Resource"] = statement["Resource"].replace("/AWSLogs/", "/corp/AWSLogs/")
    s3.put_bucket_policy(Bucket="tk-fresh-logs-use1", Policy=json.dumps(policy))
    ct = _client(endpoint, "cloudtrail")
    ct.create_trail(Name="fresh-trail", S3BucketName="tk-fresh-logs-use1", S3KeyPrefix="corp")
    assert _objects(endpoint, "tk-fresh-logs-use1") == []
    ct.start_logging(Name="fresh-trail")
    (log,) = _logs(endpoint, "tk-fresh-logs-use1")
    # The prefix leads; the bucket has no default encryption: AES256.
    assert log.startswith(f"corp/AWSLogs/{MGMT}/CloudTrail/us-east-1/")
    assert _head(endpoint, "tk-fresh-logs-use1", log)["ServerSideEncryption"] == "AES256"
    ct.stop_logging(Name="fresh-trail")
    ct.update_trail(Name="fresh-trail", KmsKeyId=estate.keys["alias/cloudtrail-good"])
    assert len(_logs(endpoint, "tk-fresh-logs-use1")) == 1  # not logging: no delivery


def test_start_logging_a_trail_whose_key_is_disabled_records_the_error(demo_rw: Any) -> None:
    endpoint, estate = demo_rw
    arn = estate.trails["stale-key-trail"]
    _client(endpoint, "cloudtrail").start_logging(Name=arn)
    status = _status(endpoint, arn)
    assert status["LatestDeliveryError"] == "KMS.DisabledException"
    assert _objects(endpoint, "tk-stale-logs-use1") == []


@pytest.mark.parametrize(
    ("action", "error"),
    [("disable", "KMS.DisabledException"), ("schedule", "KMS.KMSInvalidStateException")],
)
def test_a_key_disabled_after_the_change_makes_the_next_delivery_fail(
    demo_rw: Any, action: str, error: str
) -> None:
    """DisableKey / ScheduleKeyDeletion: an attempt for every logging trail on that key; it
    fails, writes nothing, and keeps the last successful delivery time."""
    endpoint, estate = demo_rw
    key = _key_arn(endpoint, "alias/cloudtrail-good-usw2", "us-west-2")
    _update(endpoint, estate, "tokyo-trail", key)
    arn = estate.trails["tokyo-trail"]
    delivered = _status(endpoint, arn)["LatestDeliveryTime"]
    written = _logs(endpoint, "tk-tokyo-logs-usw2")
    kms = _client(endpoint, "kms", "us-west-2")
    key_id = key.rsplit("/", 1)[1]
    if action == "disable":
        kms.disable_key(KeyId=key_id)
    else:
        kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    status = _status(endpoint, arn)
    assert status["LatestDeliveryError"] == error
    assert status["LatestDeliveryTime"] == delivered
    assert _logs(endpoint, "tk-tokyo-logs-usw2") == written
    # The periodic round fails the same way; turning the key back on heals the next one.
    assert delivery.deliver(MGMT, arn).log_error == error
    if action == "disable":
        kms.enable_key(KeyId=key_id)
        made = delivery.deliver(MGMT, arn)
        assert made.ok and made.log_key is not None
        assert "LatestDeliveryError" not in _status(endpoint, arn)


# -- every failure cause -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("trail", "alias", "region", "error"),
    [
        # the key is not in the bucket's region (tokyo-trail's bucket is in us-west-2)
        ("tokyo-trail", "alias/cloudtrail-good", "us-east-1", "KMS.NotFoundException"),
        # the key policy has an explicit Deny for CloudTrail's GenerateDataKey
        ("no-readers-trail", "alias/explicit-deny", "us-east-1", "KMS.AccessDeniedException"),
        # the key policy only admits the account root
        ("no-readers-trail", "alias/no-cloudtrail", "us-east-1", "KMS.AccessDeniedException"),
        # the key policy admits another account's trails only
        (
            "no-readers-trail",
            "alias/other-account-context",
            "us-east-1",
            "KMS.AccessDeniedException",
        ),
        # an asymmetric signing key cannot GenerateDataKey
        ("no-readers-trail", "alias/rsa-signing", "us-east-1", "KMS.InvalidKeyUsageException"),
        # the bucket policy denies uploads that name another KMS key than the pinned one
        ("pinned-key-trail", "alias/encrypt-no-describe", "us-east-1", "AccessDenied"),
    ],
)
def test_a_delivery_that_cloudtrail_could_not_make_writes_nothing(
    demo_rw: Any, trail: str, alias: str, region: str, error: str
) -> None:
    endpoint, estate = demo_rw
    bucket = estate.trail_buckets[trail]
    written = _logs(endpoint, bucket)
    _update(endpoint, estate, trail, _key_arn(endpoint, alias, region))
    assert _status(endpoint, estate.trails[trail])["LatestDeliveryError"] == error
    assert _logs(endpoint, bucket) == written


def test_a_bucket_policy_that_requires_kms_refuses_the_disable_and_its_digests(
    demo_rw: Any,
) -> None:
    """app-trail's bucket denies uploads that are not aws:kms: after a disable, both the log
    file and the digest file are refused (AccessDenied)."""
    endpoint, estate = demo_rw
    written = _objects(endpoint, "tk-app-logs-euw1")
    assert len(written) == 2  # seeded: a log and a digest, aws:kms
    _update(endpoint, estate, "app-trail", "")
    status = _status(endpoint, estate.trails["app-trail"])
    assert status["LatestDeliveryError"] == status["LatestDigestDeliveryError"] == "AccessDenied"
    assert status["LatestDigestDeliveryTime"] <= status["LatestDeliveryTime"]
    assert _objects(endpoint, "tk-app-logs-euw1") == written


def test_a_deleted_bucket_is_no_such_bucket(demo: Any) -> None:
    endpoint, estate = demo
    made = delivery.would_deliver(estate.trails["deleted-bucket-trail"])
    assert made.log_error == "NoSuchBucket" and made.log_key is None
    # would_deliver changes nothing
    assert "LatestDeliveryError" not in _status(endpoint, estate.trails["deleted-bucket-trail"])


def test_the_delivery_errors_are_the_names_trailkit_maps(demo_rw: Any) -> None:
    """Each error the simulation sets is one trailkit.rules.delivery knows."""
    from trailkit.rules.delivery import CAUSES, error_name

    endpoint, estate = demo_rw
    known = {name.lower() for names in CAUSES.values() for name in names}
    arn = estate.trails["deleted-bucket-trail"]
    errors = {delivery.deliver(MGMT, arn).log_error}
    _client(endpoint, "cloudtrail").start_logging(Name=estate.trails["stale-key-trail"])
    errors.add(_status(endpoint, estate.trails["stale-key-trail"])["LatestDeliveryError"])
    errors.add(delivery.deliver(MGMT, estate.trails["retiring-key-trail"]).log_error)
    errors.add(delivery.deliver(MGMT, estate.trails["stripped-policy-trail"]).log_error)
    assert errors == {
        "NoSuchBucket",
        "KMS.DisabledException",
        "KMS.KMSInvalidStateException",
        "KMS.AccessDeniedException",
    }
    assert all(error_name(str(e)).lower() in known for e in errors)


# -- organization trails ---------------------------------------------------------------------


def test_an_organization_trail_writes_under_the_organization_id(demo_rw: Any) -> None:
    endpoint, estate = demo_rw
    arn = estate.trails["org-trail"]
    bucket = estate.trail_buckets["org-trail"]
    (log,) = _logs(endpoint, bucket)  # seeded: the management account's files
    named = LOG_NAME.fullmatch(log)
    assert named and (named["org"], named["account"]) == (estate.organization, MGMT)
    (digest,) = _digests(endpoint, bucket)
    assert digest.startswith(f"AWSLogs/{estate.organization}/{MGMT}/CloudTrail-Digest/us-east-1/")
    # A member's files, and that member's own status (the management account's is unchanged).
    before = _status(endpoint, arn)
    made = delivery.deliver(PROD, arn)
    assert made.ok and made.log_key is not None
    assert made.log_key.startswith(f"AWSLogs/{estate.organization}/{PROD}/CloudTrail/us-east-1/")
    assert _head(endpoint, bucket, made.log_key)["ServerSideEncryption"] == "AES256"
    member = _status(endpoint, arn, PROD)
    assert "LatestDeliveryError" not in member and member["LatestDeliveryTime"]
    assert _status(endpoint, arn)["LatestDeliveryTime"] == before["LatestDeliveryTime"]
    # workload-dev keeps its seeded AccessDenied (a tag); set_member_trail_status still wins.
    assert _status(endpoint, arn, DEV)["LatestDeliveryError"] == "AccessDenied"
    set_member_trail_status(arn, PROD, LatestDeliveryError="NoSuchBucket")
    assert _status(endpoint, arn, PROD)["LatestDeliveryError"] == "NoSuchBucket"


def test_only_an_organization_trail_delivers_for_another_account(demo: Any) -> None:
    _endpoint, estate = demo
    with pytest.raises(LookupError):
        delivery.deliver(PROD, estate.trails["pinned-key-trail"])
    with pytest.raises(LookupError):
        delivery.deliver(MGMT, f"arn:aws:cloudtrail:us-east-1:{MGMT}:trail/no-such-trail")


# -- the delay, pausing, and the periodic round ------------------------------------------------


def test_with_a_delay_the_delivery_comes_later_and_can_be_cancelled(demo_rw: Any) -> None:
    """Delay > 0: nothing is written before the response returns, and GetTrailStatus no longer
    reports moto's ever-fresh "now" (the last delivery stays the one before the change)."""
    endpoint, estate = demo_rw
    arn = estate.trails["tokyo-trail"]
    bucket = "tk-tokyo-logs-usw2"
    written = _logs(endpoint, bucket)
    delivered = _status(endpoint, arn)["LatestDeliveryTime"]
    delivery.set_delivery_delay(3600)
    _update(
        endpoint,
        estate,
        "tokyo-trail",
        _key_arn(endpoint, "alias/cloudtrail-good-usw2", "us-west-2"),
    )
    assert delivery.pending() == 1
    assert _logs(endpoint, bucket) == written
    assert _status(endpoint, arn)["LatestDeliveryTime"] == delivered
    assert delivery.cancel_pending() == 1 and delivery.pending() == 0
    delivery.set_delivery_delay(0.2)
    _update(endpoint, estate, "tokyo-trail", "")
    _wait_until(lambda: len(_logs(endpoint, bucket)) == len(written) + 1, "the delayed delivery")
    assert delivery.pending() == 0
    assert _head(endpoint, bucket, _new_log(endpoint, bucket, written))["ServerSideEncryption"] == (
        "AES256"
    )


def test_a_delayed_delivery_of_a_deleted_trail_does_nothing(demo_rw: Any) -> None:
    endpoint, estate = demo_rw
    arn = estate.trails["tokyo-trail"]
    written = _logs(endpoint, "tk-tokyo-logs-usw2")
    delivery.set_delivery_delay(0.2)
    ct = _client(endpoint, "cloudtrail", "ap-northeast-1")
    ct.update_trail(Name=arn, KmsKeyId="")
    ct.delete_trail(Name="tokyo-trail")  # moto deletes by name only
    assert arn not in {t["TrailARN"] for t in ct.list_trails()["Trails"]}
    _wait_until(lambda: delivery.pending() == 0, "the timer to run")
    assert _logs(endpoint, "tk-tokyo-logs-usw2") == written


def test_nothing_is_scheduled_while_paused(demo_rw: Any) -> None:
    endpoint, estate = demo_rw
    written = _logs(endpoint, "tk-pinned-logs-use1")
    with delivery.paused():
        _update(endpoint, estate, "pinned-key-trail", "")
    assert _logs(endpoint, "tk-pinned-logs-use1") == written and delivery.pending() == 0


def test_requests_with_the_seeding_header_trigger_nothing(demo_rw: Any) -> None:
    """The seeding's requests carry SEEDING_HEADER, so a patched moto in another process (whose
    pause this process cannot set) schedules nothing for them either."""
    endpoint, estate = demo_rw
    written = _logs(endpoint, "tk-pinned-logs-use1")
    conn = with_header(
        Connection(endpoint_url=endpoint, region="us-east-1"), delivery.SEEDING_HEADER, "1"
    )
    conn.client("cloudtrail").update_trail(Name=estate.trails["pinned-key-trail"], KmsKeyId="")
    assert _logs(endpoint, "tk-pinned-logs-use1") == written and delivery.pending() == 0
    # Without the header, the same request delivers.
    _update(endpoint, estate, "pinned-key-trail", "")
    assert len(_logs(endpoint, "tk-pinned-logs-use1")) == len(written) + 1


def test_the_delay_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    delivery.set_delivery_delay(None)
    monkeypatch.delenv(delivery.DELAY_ENV, raising=False)
    assert delivery.delivery_delay() == delivery.DEFAULT_DELAY == 2.0
    monkeypatch.setenv(delivery.DELAY_ENV, "0")
    assert delivery.delivery_delay() == 0.0
    monkeypatch.setenv(delivery.DELAY_ENV, "soon")
    assert delivery.delivery_delay() == delivery.DEFAULT_DELAY
    delivery.set_delivery_delay(5)
    assert delivery.delivery_delay() == 5
    with pytest.raises(ValueError):
        delivery.set_delivery_delay(-1)
    monkeypatch.setenv(delivery.INTERVAL_ENV, "0")
    assert delivery.default_interval() == 0.0
    monkeypatch.delenv(delivery.INTERVAL_ENV)
    assert delivery.default_interval() == delivery.DEFAULT_INTERVAL == 60.0


def test_periodic_delivery_delivers_for_every_logging_trail_until_stopped(demo_rw: Any) -> None:
    endpoint, estate = demo_rw
    counts = {
        "tk-tokyo-logs-usw2": len(_logs(endpoint, "tk-tokyo-logs-usw2")),
        "tk-pinned-logs-use1": len(_logs(endpoint, "tk-pinned-logs-use1")),
    }
    periodic = delivery.PeriodicDelivery(interval=0.2).start()
    try:
        assert periodic.running
        _wait_until(lambda: periodic.rounds >= 1, "a periodic round")
    finally:
        periodic.stop()
    assert not periodic.running
    for bucket, count in counts.items():
        assert len(_logs(endpoint, bucket)) > count, bucket
    stopped = {bucket: len(_logs(endpoint, bucket)) for bucket in counts}
    # A failing trail gets its error from the round; a stopped trail is not delivered for.
    assert _status(endpoint, estate.trails["dev-trail"], DEV)["LatestDeliveryError"] == (
        "KMS.DisabledException"
    )
    assert "LatestDeliveryError" not in _status(endpoint, estate.trails["stale-key-trail"])
    assert {bucket: len(_logs(endpoint, bucket)) for bucket in counts} == stopped
    with pytest.raises(ValueError):
        delivery.PeriodicDelivery(interval=0)


def test_the_demo_says_how_it_delivers() -> None:
    """``trailkit demo`` / ``lab`` / ``app`` print one sentence on the simulated delivery, in
    English and in Japanese."""
    server, _estate = start_demo(seed=False, delivery_interval=90)
    try:
        assert delivery_line(server) == (
            "Simulated CloudTrail delivery: 0 s after each change, and every 90 s for every "
            "logging trail."
        )
        i18n.set_language("ja")
        try:
            text = delivery_line(server)
            server.stop_delivery()
            alone = delivery_line(server)
        finally:
            i18n.set_language("en")
        assert "90" in text and "0 秒後" in text
        assert_japanese(text, what="delivery line")
        assert_japanese(alone, what="delivery line without periodic delivery")
        assert delivery_line(server) == "Simulated CloudTrail delivery: 0 s after each change."
    finally:
        server.stop()


def test_the_demo_server_starts_and_stops_periodic_delivery() -> None:
    """start_demo (trailkit demo, lab, app) starts it; 0 does not; stop() stops it. (Not
    seeded: moto's state is this process's, the session's estate.)"""
    server, _estate = start_demo(seed=False, delivery_interval=3600)
    try:
        assert server.delivering
    finally:
        server.stop()
    assert not server.delivering
    server, _estate = start_demo(seed=False, delivery_interval=0)
    try:
        assert not server.delivering
        server.start_delivery(3600)
        assert server.delivering
        server.stop_delivery()
        assert not server.delivering
    finally:
        server.stop()


def test_seeding_leaves_no_delivery_pending(demo_rw: Any) -> None:
    """Even with a delay, the seeding (CreateTrail, StartLogging, DisableKey, ...) schedules
    nothing; its one delivery per trail is made before it returns."""
    endpoint, _estate = demo_rw
    delivery.set_delivery_delay(3600)
    reset(endpoint)
    estate = seed_demo(Connection(endpoint_url=endpoint, region="us-east-1"))
    assert delivery.pending() == 0
    assert len(_logs(endpoint, "tk-pinned-logs-use1")) == 1
    reset(endpoint)
    seed_demo(Connection(endpoint_url=endpoint, region="us-east-1"), initial_delivery=False)
    assert _objects(endpoint, "tk-pinned-logs-use1") == [] and delivery.pending() == 0
    assert estate.trails  # reseeded afterwards by demo_rw


# -- what trailkit reads of it ---------------------------------------------------------------


def test_the_inventory_reads_a_simulated_delivery_error_with_its_cause(demo_rw: Any) -> None:
    """A key disabled after the trail switched to it: trailkit's inventory shows the delivery
    error the simulation set, with the cause trailkit.rules.delivery gives it."""
    from io import StringIO

    from trailkit.ui.cli import main

    endpoint, estate = demo_rw
    key = _key_arn(endpoint, "alias/cloudtrail-good-usw2", "us-west-2")
    _update(endpoint, estate, "tokyo-trail", key)
    _client(endpoint, "kms", "us-west-2").disable_key(KeyId=key.rsplit("/", 1)[1])
    out, err = StringIO(), StringIO()
    code = main(["inventory", "--format", "json", "--endpoint-url", endpoint], out=out, err=err)
    assert code == 0, err.getvalue()
    row = next(r for r in json.loads(out.getvalue()) if r["name"] == "tokyo-trail")
    assert row["latest_delivery_error"] == "KMS.DisabledException"
    reasons = {r["code"]: r for r in row["health_reasons"]}
    assert row["health"] == "broken" and {"key-state", "delivery-error"} <= set(reasons)
    assert reasons["delivery-error"]["delivery"]["cause"] == "kms-disabled"
