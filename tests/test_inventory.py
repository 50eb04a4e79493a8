"""Read layer against moto (state) and Stubber (pagination and errors moto cannot produce)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.stub import Stubber

from tests.conftest import fail_call
from trailkit.aws.reader import Reader, scan
from trailkit.aws.session import Connection

ACCOUNT = "123456789012"
BUCKET_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "AWSCloudTrailWrite",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": "arn:aws:s3:::*",
        }
    ],
}


def _bucket(conn: Connection, name: str, region: str) -> None:
    s3 = conn.client("s3", region)
    if region == "us-east-1":
        s3.create_bucket(Bucket=name)
    else:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
    s3.put_bucket_policy(Bucket=name, Policy=json.dumps(BUCKET_POLICY))


def _trail(conn: Connection, name: str, region: str, bucket: str, **kw: Any) -> str:
    arn = conn.client("cloudtrail", region).create_trail(Name=name, S3BucketName=bucket, **kw)
    return str(arn["TrailARN"])


REGIONS = ["us-east-1", "eu-west-1", "ap-northeast-1"]


def test_multi_region_trail_is_listed_once_with_every_region_that_shows_it(
    conn: Connection,
) -> None:
    _bucket(conn, "logs-a", "us-east-1")
    arn = _trail(conn, "everywhere", "us-east-1", "logs-a", IsMultiRegionTrail=True)
    _bucket(conn, "logs-b", "eu-west-1")
    _trail(conn, "local", "eu-west-1", "logs-b")

    inv = scan(conn, REGIONS)

    assert sorted(t.name for t in inv.trails) == ["everywhere", "local"]
    everywhere = inv.trail(arn)
    assert everywhere is not None
    assert sorted(everywhere.seen_in) == sorted(REGIONS)
    assert everywhere.home_region == "us-east-1"
    assert everywhere.multi_region is True
    assert not inv.partial


def test_bucket_region_is_read_from_the_bucket_not_the_trail(conn: Connection) -> None:
    _bucket(conn, "tokyo-logs", "us-west-2")
    _trail(conn, "tokyo", "ap-northeast-1", "tokyo-logs")

    inv = scan(conn, ["ap-northeast-1"])

    (trail,) = inv.trails
    assert trail.home_region == "ap-northeast-1"
    assert trail.bucket_region == "us-west-2"
    assert trail.encryption == "SSE-S3"


def test_bucket_key_and_trail_key_are_reported(conn: Connection) -> None:
    kms = conn.client("kms", "us-east-1")
    key = kms.create_key(KeySpec="SYMMETRIC_DEFAULT", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]
    kms.create_alias(AliasName="alias/logs", TargetKeyId=key["KeyId"])
    _bucket(conn, "bk-logs", "us-east-1")
    conn.client("s3").put_bucket_encryption(
        Bucket="bk-logs",
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {
                        "SSEAlgorithm": "aws:kms",
                        "KMSMasterKeyID": key["Arn"],
                    },
                    "BucketKeyEnabled": True,
                }
            ]
        },
    )
    _trail(conn, "kms-trail", "us-east-1", "bk-logs", KmsKeyId=key["Arn"])

    inv = scan(conn, ["us-east-1"])

    (trail,) = inv.trails
    assert trail.encryption == "SSE-KMS"
    assert trail.bucket is not None and trail.bucket.bucket_key is True
    used = inv.key_for(trail)
    assert used is not None
    assert used.aliases == ("alias/logs",)
    assert used.state == "Enabled"
    assert used.policy is not None and "kms:*" in used.policy


def test_access_denied_region_becomes_an_error_and_other_regions_stay_complete(
    conn: Connection,
) -> None:
    _bucket(conn, "logs-a", "us-east-1")
    _trail(conn, "east", "us-east-1", "logs-a")
    _bucket(conn, "logs-b", "eu-west-1")
    _trail(conn, "west", "eu-west-1", "logs-b")
    fail_call(conn, "cloudtrail", "DescribeTrails", regions=("eu-west-1",))

    inv = scan(conn, ["us-east-1", "eu-west-1"])

    assert [t.name for t in inv.trails] == ["east"]
    assert inv.partial
    (error,) = inv.errors
    assert error.region == "eu-west-1"
    assert error.permission == "cloudtrail:DescribeTrails"
    assert "cloudtrail:DescribeTrails" in error.message


def test_regions_are_discovered_when_not_given(conn: Connection) -> None:
    inv = scan(conn)
    assert "ap-northeast-1" in inv.regions
    assert "us-east-1" in inv.regions
    assert inv.calls["cloudtrail:DescribeTrails"] == len(inv.regions)


def test_sequential_and_concurrent_reads_agree(conn: Connection) -> None:
    for i, region in enumerate(REGIONS):
        _bucket(conn, f"logs-{i}", region)
        _trail(conn, f"trail-{i}", region, f"logs-{i}", IsMultiRegionTrail=(i == 0))
    one = Reader(conn, workers=1).scan(REGIONS)
    many = Reader(conn, workers=8).scan(REGIONS)
    assert one.trails == many.trails
    assert dict(one.keys) == dict(many.keys)


def _stubbed(conn: Connection, service: str, region: str) -> Stubber:
    return Stubber(conn.client(service, region))


def test_every_list_call_is_paginated() -> None:
    """moto never paginates, so pages come from Stubber: ListKeys and ListAliases."""
    conn = Connection(endpoint_url="http://127.0.0.1:9", region="us-east-1", workers=1)
    conn._info = _info()
    region = "us-east-1"
    kms = conn.client("kms", region)
    ids = ["1111aaaa-0000-0000-0000-000000000001", "2222bbbb-0000-0000-0000-000000000002"]
    arns = [f"arn:aws:kms:{region}:{ACCOUNT}:key/{i}" for i in ids]
    with Stubber(kms) as stub:
        stub.add_response(
            "list_keys",
            {"Keys": [{"KeyId": ids[0], "KeyArn": arns[0]}], "NextMarker": "m1", "Truncated": True},
            {},
        )
        stub.add_response(
            "list_keys",
            {"Keys": [{"KeyId": ids[1], "KeyArn": arns[1]}], "Truncated": False},
            {"Marker": "m1"},
        )
        stub.add_response(
            "list_aliases",
            {
                "Aliases": [{"AliasName": "alias/one", "TargetKeyId": ids[0]}],
                "NextMarker": "a1",
                "Truncated": True,
            },
            {},
        )
        stub.add_response(
            "list_aliases",
            {"Aliases": [{"AliasName": "alias/two", "TargetKeyId": ids[1]}], "Truncated": False},
            {"Marker": "a1"},
        )
        for key_id, arn in zip(ids, arns, strict=True):
            stub.add_response("describe_key", {"KeyMetadata": _meta(key_id, arn)}, {"KeyId": arn})
            stub.add_response(
                "get_key_policy", {"Policy": "{}"}, {"KeyId": arn, "PolicyName": "default"}
            )
        keys = Reader(conn, workers=1).candidate_keys(region)
        stub.assert_no_pending_responses()
    assert [k.aliases for k in keys] == [("alias/one",), ("alias/two",)]


def test_candidate_keys_skip_the_policy_of_unusable_keys() -> None:
    conn = Connection(endpoint_url="http://127.0.0.1:9", region="us-east-1", workers=1)
    conn._info = _info()
    region = "us-east-1"
    kms = conn.client("kms", region)
    key_id = "3333cccc-0000-0000-0000-000000000003"
    arn = f"arn:aws:kms:{region}:{ACCOUNT}:key/{key_id}"
    with Stubber(kms) as stub:
        stub.add_response("list_keys", {"Keys": [{"KeyId": key_id, "KeyArn": arn}]}, {})
        stub.add_response("list_aliases", {"Aliases": []}, {})
        stub.add_response(
            "describe_key",
            {"KeyMetadata": {**_meta(key_id, arn), "KeyState": "Disabled", "Enabled": False}},
            {"KeyId": arn},
        )
        (key,) = Reader(conn, workers=1).candidate_keys(region)
        stub.assert_no_pending_responses()
    assert key.state == "Disabled"
    assert key.policy is None


def _meta(key_id: str, arn: str) -> dict[str, Any]:
    return {
        "KeyId": key_id,
        "Arn": arn,
        "AWSAccountId": ACCOUNT,
        "KeyState": "Enabled",
        "Enabled": True,
        "KeySpec": "SYMMETRIC_DEFAULT",
        "KeyUsage": "ENCRYPT_DECRYPT",
        "KeyManager": "CUSTOMER",
        "MultiRegion": False,
    }


def _info() -> Any:
    from trailkit.aws.session import ConnectionInfo

    return ConnectionInfo(
        account=ACCOUNT,
        caller_arn=f"arn:aws:iam::{ACCOUNT}:user/test",
        endpoint="stub",
        region="us-east-1",
        demo=True,
    )


@pytest.mark.parametrize(
    "code, expected",
    [
        ("AccessDeniedException", "AccessDenied"),
        ("ExpiredTokenException", "ConnectionFailed"),
        ("TrailNotFoundException", "NotFound"),
    ],
)
def test_find_trail_translates_errors(conn: Connection, code: str, expected: str) -> None:
    fail_call(conn, "cloudtrail", "GetTrail", code=code)
    fail_call(conn, "cloudtrail", "DescribeTrails", code=code)
    with pytest.raises(Exception) as info:
        Reader(conn).find_trail("arn:aws:cloudtrail:us-east-1:123456789012:trail/x")
    assert type(info.value).__name__ == expected


@pytest.mark.parametrize("workers", [1, 4])
def test_scan_reports_progress_as_calls_done_of_calls_started(
    conn: Connection, workers: int
) -> None:
    _bucket(conn, "logs-p", "eu-west-1")
    _trail(conn, "progress", "eu-west-1", "logs-p", IsMultiRegionTrail=True)
    seen: list[tuple[int, int]] = []
    inv = Reader(conn, workers=workers).scan(
        REGIONS, progress=lambda done, total: seen.append((done, total))
    )
    assert [t.name for t in inv.trails] == ["progress"]
    # once per call, in order, never more done than started; all done when the scan returns
    assert [done for done, _ in seen] == list(range(1, len(seen) + 1))
    assert all(done <= total for done, total in seen)
    assert seen[-1][0] == seen[-1][1]
    # DescribeTrails x3, GetTrailStatus, GetBucketLocation/Encryption/Policy (+ GetCallerIdentity)
    assert len(seen) >= 7


def test_a_broken_progress_callback_does_not_fail_the_scan(conn: Connection) -> None:
    _bucket(conn, "logs-q", "us-east-1")
    _trail(conn, "quiet", "us-east-1", "logs-q")

    def broken(done: int, total: int) -> None:
        raise RuntimeError("display gone")

    inv = Reader(conn, workers=2).scan(REGIONS, progress=broken)
    assert [t.name for t in inv.trails] == ["quiet"]
    assert not inv.partial
    with pytest.raises(TypeError, match=r"trailkit\.ui\.progress"):
        Reader(conn).scan(REGIONS, progress=True)  # type: ignore[arg-type]


class _FakeBar:
    def __init__(self) -> None:
        self.n = 0
        self.closed = False

    def update(self, step: int) -> None:
        self.n += step

    def close(self) -> None:
        self.closed = True


def test_the_ui_draws_the_progress_as_a_bar_of_calls(
    conn: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    from trailkit.ui import progress

    bars: list[tuple[bool | str, _FakeBar]] = []

    def fake(kind: bool | str) -> _FakeBar:
        bars.append((kind, _FakeBar()))
        return bars[-1][1]

    monkeypatch.setattr(progress, "_bar", fake)
    with progress.progress_bar(False) as report:
        assert report is None
    assert bars == []
    with progress.progress_bar("notebook") as report:
        assert report is not None
        report(1, 3)
        report(3, 4)
        report(2, 4)  # late and out of order: the bar never goes back
    kind, bar = bars[-1]
    assert (kind, bar.n, bar.closed) == ("notebook", 3, True)

    _bucket(conn, "logs-r", "us-east-1")
    _trail(conn, "drawn", "us-east-1", "logs-r")
    inv = progress.scan(conn, REGIONS, progress=True)
    kind, bar = bars[-1]
    assert [t.name for t in inv.trails] == ["drawn"]
    assert kind is True and bar.closed
    assert bar.n >= 6  # DescribeTrails x3, GetTrailStatus, the bucket's three reads
