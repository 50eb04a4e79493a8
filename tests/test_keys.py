"""The read layer's pure rules (trailkit.rules.keys, trailkit.rules.trails), table-driven."""

from __future__ import annotations

from dataclasses import replace

import pytest

from trailkit.errors import (
    AccessDenied,
    AwsError,
    InputError,
    NotFound,
    TrailkitError,
)
from trailkit.records import BucketInfo, KeyInfo, ScanError, Trail
from trailkit.rules import keys as rules
from trailkit.rules.keyids import parse_key_id
from trailkit.rules.trails import TrailRef, merge_trails, parse_trail_ref, the_one_trail

ME = "111122223333"
OTHER = "444455556666"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"


def _key(**fields: object) -> KeyInfo:
    base = KeyInfo(
        arn=f"arn:aws:kms:us-east-1:{ME}:key/{KEY_ID}",
        key_id=KEY_ID,
        account=ME,
        region="us-east-1",
        state="Enabled",
        key_spec="SYMMETRIC_DEFAULT",
        key_usage="ENCRYPT_DECRYPT",
        manager="CUSTOMER",
    )
    return replace(base, **fields)  # type: ignore[arg-type]


def _trail(
    name: str = "t",
    home: str = "us-east-1",
    bucket_region: str | None = "us-east-1",
    account: str = ME,
    seen_in: tuple[str, ...] = (),
) -> Trail:
    return Trail(
        name=name,
        arn=f"arn:aws:cloudtrail:{home}:{account}:trail/{name}",
        home_region=home,
        account=account,
        multi_region=False,
        organization=False,
        bucket_name="logs",
        s3_prefix=None,
        kms_key_id=None,
        log_file_validation=True,
        seen_in=seen_in,
        bucket=BucketInfo(name="logs", region=bucket_region) if bucket_region else None,
    )


# -- keys --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, True),
        ({"manager": None, "key_spec": None, "key_usage": None}, True),  # missing: not held
        ({"manager": "AWS"}, False),
        ({"state": "Disabled"}, False),
        ({"state": "PendingDeletion"}, False),
        ({"state": None}, False),
        ({"key_spec": "RSA_2048"}, False),
        ({"key_spec": "HMAC_256"}, False),
        ({"key_usage": "SIGN_VERIFY"}, False),
        ({"key_usage": "GENERATE_VERIFY_MAC"}, False),
    ],
)
def test_usable_is_the_cheap_filter(fields: dict[str, object], expected: bool) -> None:
    assert rules.usable(_key(**fields)) is expected


@pytest.mark.parametrize(
    ("aliases", "expected"),
    [
        ((), False),
        (("alias/cloudtrail",), False),
        (("alias/aws/s3",), True),
        (("alias/mine", "alias/aws/cloudtrail"), True),
        (("alias/awsish",), False),
        (("alias/AWS/s3",), False),  # the prefix is case-sensitive
    ],
)
def test_aws_managed_alias(aliases: tuple[str, ...], expected: bool) -> None:
    assert rules.aws_managed_alias(aliases) is expected


def test_ranked_orders_by_label_then_arn_and_drops_nones() -> None:
    a = _key(arn="arn:aws:kms:us-east-1:1:key/b", key_id="bbbbbbbb", aliases=("alias/Zed",))
    b = _key(arn="arn:aws:kms:us-east-1:1:key/a", key_id="aaaaaaaa", aliases=("alias/apple",))
    c = _key(arn="arn:aws:kms:us-east-1:1:key/c", key_id="cccccccc")  # label: short id
    d = _key(arn="arn:aws:kms:us-east-1:1:key/0", key_id="cccccccc")  # same label, ARN decides
    assert rules.ranked([a, None, b, c, None, d]) == (b, a, d, c)
    assert rules.ranked([]) == ()


@pytest.mark.parametrize(
    ("owner", "expected"),
    [
        (ME, None),
        (
            OTHER,
            f"the key belongs to account {OTHER}; its key policy can only be read from that "
            "account",
        ),
    ],
)
def test_foreign_policy_error(owner: str, expected: str | None) -> None:
    assert rules.foreign_policy_error(f"arn:aws:kms:eu-west-1:{owner}:key/x", ME) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (KEY_ID, (ME, "us-east-1", KEY_ID)),
        ("alias/logs", (ME, "us-east-1", "alias/logs")),
        (
            f"arn:aws:kms:eu-west-1:{OTHER}:key/{KEY_ID}",
            (OTHER, "eu-west-1", f"arn:aws:kms:eu-west-1:{OTHER}:key/{KEY_ID}"),
        ),
        (
            f"arn:aws:kms:eu-west-1:{ME}:alias/logs",
            (ME, "eu-west-1", f"arn:aws:kms:eu-west-1:{ME}:alias/logs"),
        ),
    ],
)
def test_resolve_place(text: str, expected: tuple[str, str, str]) -> None:
    trail = _trail(home="us-east-1", bucket_region="eu-west-1")
    assert rules.resolve_place(parse_key_id(text), trail, ME) == expected


_DENIED = AccessDenied("denied", operation="DescribeKey", code="AccessDeniedException")
_MISSING = NotFound("missing", operation="DescribeKey", code="NotFoundException")
_INVALID_STATE = AwsError("bad state", operation="DescribeKey", code="KMSInvalidStateException")
_NOT_FOUND_CODE = AwsError("odd", operation="DescribeKey", code="NotFoundException")
_THROTTLED = AwsError("slow", operation="DescribeKey", code="ThrottlingException")
_LOCAL = InputError("bad input")


@pytest.mark.parametrize(
    ("err", "account", "expected"),
    [
        (_MISSING, ME, "not-found"),
        (_MISSING, OTHER, "unreadable"),
        (_DENIED, OTHER, "unreadable"),
        (_DENIED, ME, "unreadable"),
        (_THROTTLED, OTHER, "unreadable"),
        (_THROTTLED, ME, None),
        (_INVALID_STATE, OTHER, None),
        (_INVALID_STATE, ME, None),
        (_NOT_FOUND_CODE, OTHER, None),
        (_LOCAL, ME, None),
        (_LOCAL, OTHER, None),
    ],
)
def test_lookup_problem(err: TrailkitError, account: str, expected: str | None) -> None:
    assert rules.lookup_problem(err, account=account, caller=ME) == expected


@pytest.mark.parametrize(
    ("text", "home", "bucket", "found_in", "expected"),
    [
        ("alias/logs", "us-east-1", "eu-west-1", None, "eu-west-1"),
        ("alias/logs", "us-east-1", "eu-west-1", "us-east-1", "eu-west-1"),
        ("alias/logs", "us-east-1", "eu-west-1", "eu-west-1", None),
        ("alias/logs", "us-east-1", "us-east-1", None, None),  # bucket in the home region
        ("alias/logs", "us-east-1", None, None, None),  # bucket region unknown
        (KEY_ID, "us-east-1", "eu-west-1", None, "eu-west-1"),
        (f"arn:aws:kms:us-east-1:{ME}:key/{KEY_ID}", "us-east-1", "eu-west-1", None, None),
    ],
)
def test_elsewhere_region(
    text: str, home: str, bucket: str | None, found_in: str | None, expected: str | None
) -> None:
    trail = _trail(home=home, bucket_region=bucket)
    assert rules.elsewhere_region(parse_key_id(text), trail, found_in) == expected


# -- trails ------------------------------------------------------------------------------------

_ARN = f"arn:aws:cloudtrail:eu-west-1:{ME}:trail/org-trail"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("org-trail", TrailRef("org-trail")),
        ("  org-trail\n", TrailRef("org-trail")),
        (_ARN, TrailRef(_ARN, "eu-west-1")),
    ],
)
def test_parse_trail_ref(text: str, expected: TrailRef) -> None:
    assert parse_trail_ref(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is not a trail name or ARN"),
        ("   ", "is not a trail name or ARN"),
        ("org trail", "is not a trail name or ARN"),
        ("x" * 2049, "is not a trail name or ARN"),
        (f"arn:aws:s3:::{ME}", "is not a trail ARN"),
        (f"arn:aws:cloudtrail:eu-west-1:{ME}:bucket/x", "is not a trail ARN"),
        ("arn:aws:cloudtrail:eu-west-1", "is not a trail ARN"),
    ],
)
def test_parse_trail_ref_refuses(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_trail_ref(text)


def test_the_one_trail() -> None:
    t = _trail("org-trail", home="eu-west-1")
    twin = _trail("org-trail", home="eu-west-1", account=OTHER)
    other = _trail("app-trail")
    assert the_one_trail(TrailRef("org-trail"), [other, t, t]) == t  # shadow copies count once
    assert the_one_trail(TrailRef(_ARN, "eu-west-1"), [twin, t]) == t
    with pytest.raises(NotFound, match="No trail named 'nope'") as missing:
        the_one_trail(TrailRef("nope"), [t, other])
    assert missing.value.code == "TrailNotFound"
    with pytest.raises(InputError, match="Several trails are named 'org-trail'"):
        the_one_trail(TrailRef("org-trail"), [t, twin])


def test_merge_trails_dedupes_by_arn_in_region_order() -> None:
    multi = _trail("multi", home="us-east-1", seen_in=("us-east-1",))
    local = _trail("local", home="eu-west-1", seen_in=("eu-west-1",))
    failed = ScanError(operation="DescribeTrails", code="X", message="no", region="ap-south-1")
    trails, errors = merge_trails(
        ["us-east-1", "ap-south-1", "eu-west-1"],
        [
            [multi],
            failed,
            [replace(multi, seen_in=("eu-west-1",)), local],
        ],
    )
    assert trails == [local, replace(multi, seen_in=("us-east-1", "eu-west-1"))]
    assert errors == [failed]
