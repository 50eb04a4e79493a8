"""The tolerant ARN field readers of trailkit.arn (the strict parser is tested in test_keyids)."""

from __future__ import annotations

import pytest

from trailkit.arn import (
    arn_account,
    arn_partition,
    arn_region,
    arn_resource,
    arn_service,
    is_region,
    resource_id,
    short_arn,
    short_key_id,
)

KEY = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
TRAIL = "arn:aws-cn:cloudtrail:cn-north-1:111122223333:trail/org:trail"
BUCKET = "arn:aws:s3:::my-logs/AWSLogs/111122223333/*"


@pytest.mark.parametrize(
    ("arn", "fields"),
    [
        (
            KEY,
            ("aws", "kms", "us-east-1", "111122223333", "key/1234abcd-12ab-34cd-56ef-1234567890ab"),
        ),
        # a ':' inside the resource stays in the resource
        (TRAIL, ("aws-cn", "cloudtrail", "cn-north-1", "111122223333", "trail/org:trail")),
        # S3 ARNs have no region and no account
        (BUCKET, ("aws", "s3", "", "", "my-logs/AWSLogs/111122223333/*")),
        # not an ARN at all: every field is empty, nothing raises
        ("alias/cloudtrail-good", ("", "", "", "", "")),
        ("arn:aws:kms:us-east-1", ("", "", "", "", "")),
        ("ARN:aws:kms:us-east-1:111122223333:key/x", ("", "", "", "", "")),
        ("", ("", "", "", "", "")),
    ],
)
def test_field_readers(arn: str, fields: tuple[str, str, str, str, str]) -> None:
    got = (
        arn_partition(arn),
        arn_service(arn),
        arn_region(arn),
        arn_account(arn),
        arn_resource(arn),
    )
    assert got == fields


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (KEY, "1234abcd-12ab-34cd-56ef-1234567890ab"),
        (TRAIL, "org:trail"),
        ("alias/cloudtrail-good", "cloudtrail-good"),
        ("plain", "plain"),
    ],
)
def test_resource_id(text: str, expected: str) -> None:
    assert resource_id(text) == expected


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("us-east-1", True),
        ("eu-central-2", True),
        ("us-gov-west-1", True),
        ("cn-north-1", True),
        ("us-isob-east-1", True),
        ("eusc-de-east-1", True),
        ("US-EAST-1", False),
        ("us-east", False),
        ("a/b", False),
        ("", False),
    ],
)
def test_is_region(text: str, ok: bool) -> None:
    assert is_region(text) is ok


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (KEY, "key/1234abcd…"),
        ("arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd5678ef", "key/mrk-1234abcd…"),
        ("arn:aws:kms:us-east-1:111122223333:key/short", "key/short"),
        ("arn:aws:kms:us-east-1:111122223333:alias/cloudtrail", "alias/cloudtrail"),
        (TRAIL, "org:trail"),
        (BUCKET, "my-logs/AWSLogs/111122223333/*"),
        ("alias/cloudtrail", "alias/cloudtrail"),
        ("", ""),
    ],
)
def test_short_arn_keeps_what_identifies_the_resource(text: str, expected: str) -> None:
    assert short_arn(text) == expected


def test_short_key_id_is_the_one_keyinfo_uses() -> None:
    from trailkit.records import KeyInfo

    key = KeyInfo(arn=KEY, key_id=resource_id(KEY), account="111122223333", region="us-east-1")
    assert key.short_id == short_key_id(key.key_id) == "1234abcd"
    assert short_arn(KEY) == f"key/{key.short_id}…"
