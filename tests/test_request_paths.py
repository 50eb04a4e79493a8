"""The object paths and encryption context in the requests trailkit simulates, and the rules
that evaluate policies against them (pure).

Three gaps a review found, each pinned both ways (a policy that only admits one path is ready
for a trail that writes there and not for one that does not):

1. the trail's S3 key prefix is part of ``aws:s3:arn`` in CloudTrail's ``GenerateDataKey``
   (CloudTrail user guide, "How AWS CloudTrail uses AWS KMS": "the ARN of the S3 bucket and path
   where the CloudTrail log files are delivered");
2. a reader's ``kms:Decrypt`` through S3 carries ``aws:s3:arn`` = the log object's ARN, or the
   bucket's ARN with an S3 Bucket Key (same page, "You get an encrypted log file from your S3
   bucket"; S3 user guide, "Reducing the cost of SSE-KMS with Amazon S3 Bucket Keys");
3. an organization trail writes under ``AWSLogs/ORG-ID/ACCOUNT/`` (CloudTrail user guide,
   "Creating a trail for an organization"); without the organization id, a policy whose answer
   depends on it is "cannot verify", never ready.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from trailkit.records import BucketInfo, KeyInfo, Trail
from trailkit.rules import policy as pol
from trailkit.rules.checks import (
    CATALOGUE,
    KeyLookup,
    Report,
    check_delivery,
    check_policy,
    check_readers,
    preflight,
)
from trailkit.rules.keyids import parse_key_id
from trailkit.rules.requests import (
    CLOUDTRAIL_SERVICE,
    ORGANIZATION_ID,
    cloudtrail_requests,
    delivery_requests,
    log_object_arn,
    reader_request,
)

ACCOUNT = "111111111111"
READER = "222222222222"
TRAIL_ARN = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/t"
BUCKET = "logs"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/22222222-2222-2222-2222-222222222222"
OLD = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/11111111-1111-1111-1111-111111111111"
ORG = "o-abcd123456"
EC_S3 = "kms:EncryptionContext:aws:s3:arn"
EC_CT = "kms:EncryptionContext:aws:cloudtrail:arn"
OBJECTS = f"arn:aws:s3:::{BUCKET}/AWSLogs/{ACCOUNT}/*"
PREFIXED = f"arn:aws:s3:::{BUCKET}/team/a/AWSLogs/{ACCOUNT}/*"
ORG_OBJECTS = f"arn:aws:s3:::{BUCKET}/AWSLogs/{ORG}/*"
BUCKET_ARN = f"arn:aws:s3:::{BUCKET}"


def _doc(*statements: Any) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


ADMIN = {
    "Sid": "Root",
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
    "Action": "kms:*",
    "Resource": "*",
}
DESCRIBE = {
    "Sid": "Describe",
    "Effect": "Allow",
    "Principal": {"Service": CLOUDTRAIL_SERVICE},
    "Action": "kms:DescribeKey",
    "Resource": "*",
}


def _encrypt(*s3_patterns: str) -> dict[str, Any]:
    """CloudTrail's encrypt statement, narrowed to the objects ``s3_patterns`` (none: any)."""
    condition: dict[str, Any] = {"StringLike": {EC_CT: f"arn:aws:cloudtrail:*:{ACCOUNT}:trail/*"}}
    if s3_patterns:
        condition["StringLike"][EC_S3] = list(s3_patterns)
    return {
        "Sid": "Encrypt",
        "Effect": "Allow",
        "Principal": {"Service": CLOUDTRAIL_SERVICE},
        "Action": "kms:GenerateDataKey*",
        "Resource": "*",
        "Condition": condition,
    }


DENY_OUTSIDE_PREFIX = {
    "Sid": "OnlyUnderTeamA",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "kms:GenerateDataKey*",
    "Resource": "*",
    "Condition": {"StringNotLike": {EC_S3: f"arn:aws:s3:::{BUCKET}/team/a/*"}},
}


def _trail(**kw: Any) -> Trail:
    base = Trail(
        name="t",
        arn=TRAIL_ARN,
        home_region="us-east-1",
        account=ACCOUNT,
        multi_region=True,
        organization=False,
        bucket_name=BUCKET,
        s3_prefix=None,
        kms_key_id=None,
        log_file_validation=False,
        bucket=BucketInfo(name=BUCKET, region="us-east-1", bucket_key=False),
    )
    return replace(base, **kw)


def _key(policy: str) -> KeyInfo:
    return KeyInfo(
        arn=KEY,
        key_id=KEY.rsplit("/", 1)[1],
        account=ACCOUNT,
        region="us-east-1",
        aliases=("alias/logs",),
        state="Enabled",
        key_spec="SYMMETRIC_DEFAULT",
        key_usage="ENCRYPT_DECRYPT",
        manager="CUSTOMER",
        policy=policy,
    )


def _report(trail: Trail, key: KeyInfo, organization_id: str | None = None) -> Report:
    return preflight(
        trail=trail,
        trail_input=trail.name,
        key_input=key.arn,
        lookup=KeyLookup(ref=parse_key_id(key.arn), key=key),
        caller_account=ACCOUNT,
        organization_id=organization_id,
    )


# -- the requests ----------------------------------------------------------------------------


def test_the_object_arn_is_the_documented_path() -> None:
    assert log_object_arn(
        trail_arn=TRAIL_ARN, bucket_name=BUCKET, source_account=ACCOUNT
    ).startswith(f"arn:aws:s3:::{BUCKET}/AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/")
    arn = log_object_arn(
        trail_arn=TRAIL_ARN,
        bucket_name=BUCKET,
        source_account=ACCOUNT,
        prefix="/team/a/",
        organization_id=ORG,
        digest=True,
    )
    assert arn.startswith(
        f"arn:aws:s3:::{BUCKET}/team/a/AWSLogs/{ORG}/{ACCOUNT}/CloudTrail-Digest/"
    )


@pytest.mark.parametrize(
    ("prefix", "organization_id", "path"),
    [
        (None, None, f"AWSLogs/{ACCOUNT}/CloudTrail/"),
        ("team/a", None, f"team/a/AWSLogs/{ACCOUNT}/CloudTrail/"),
        ("/team/a/", None, f"team/a/AWSLogs/{ACCOUNT}/CloudTrail/"),
        (None, ORG, f"AWSLogs/{ORG}/{ACCOUNT}/CloudTrail/"),
        ("team/a", ORG, f"team/a/AWSLogs/{ORG}/{ACCOUNT}/CloudTrail/"),
    ],
)
def test_cloudtrail_and_delivery_requests_name_the_same_object_path(
    prefix: str | None, organization_id: str | None, path: str
) -> None:
    requests = cloudtrail_requests(
        trail_arn=TRAIL_ARN,
        bucket_name=BUCKET,
        key_arn=KEY,
        source_account=ACCOUNT,
        bucket_key=True,
        prefix=prefix,
        organization_id=organization_id,
    )
    (log,) = delivery_requests(
        trail_arn=TRAIL_ARN,
        bucket_name=BUCKET,
        source_account=ACCOUNT,
        key_arn=KEY,
        prefix=prefix,
        organization_id=organization_id,
    ).values()
    for name in ("encrypt", "decrypt"):
        arn = requests[name].context[EC_S3]
        assert arn == log.resource
        assert isinstance(arn, str) and arn.startswith(f"arn:aws:s3:::{BUCKET}/{path}")


def test_a_reader_request_carries_what_s3_sends() -> None:
    plain = reader_request(account=READER, key_arn=KEY, trail_arn=TRAIL_ARN)
    assert EC_S3 not in plain.context  # the bucket is not known: nothing is invented
    obj = log_object_arn(trail_arn=TRAIL_ARN, bucket_name=BUCKET, source_account=ACCOUNT)
    with_object = reader_request(account=READER, key_arn=KEY, trail_arn=TRAIL_ARN, s3_arn=obj)
    assert with_object.context[EC_S3] == obj
    assert with_object.context[EC_CT] == TRAIL_ARN
    assert with_object.context["kms:EncryptionContextKeys"] == ("aws:cloudtrail:arn", "aws:s3:arn")
    assert with_object.context["kms:ViaService"] == "s3.us-east-1.amazonaws.com"


# -- 1. the prefix in the key policy ----------------------------------------------------------

# name, key policy statements, trail prefix, policy codes expected, verdict
PREFIX_CASES: list[tuple[str, tuple[Any, ...], str | None, set[str], str]] = [
    ("prefixed path allowed, prefixed trail", (_encrypt(PREFIXED),), "team/a", set(), "ready"),
    ("prefixed path allowed, slashes around the prefix", (_encrypt(PREFIXED),), "/team/a/",
     set(), "ready"),
    ("prefixed path allowed, trail without prefix", (_encrypt(PREFIXED),), None,
     {"policy-encrypt"}, "blocked"),
    ("prefixed path allowed, other prefix", (_encrypt(PREFIXED),), "team/b",
     {"policy-encrypt"}, "blocked"),
    ("unprefixed path allowed, trail without prefix", (_encrypt(OBJECTS),), None, set(),
     "ready"),
    ("unprefixed path allowed, prefixed trail", (_encrypt(OBJECTS),), "team/a",
     {"policy-encrypt"}, "blocked"),
    ("any object of the bucket, prefixed trail", (_encrypt(f"{BUCKET_ARN}/*"),), "team/a",
     set(), "ready"),
    ("deny outside the prefix, prefixed trail", (_encrypt(), DENY_OUTSIDE_PREFIX), "team/a",
     set(), "ready"),
    ("deny outside the prefix, trail without prefix", (_encrypt(), DENY_OUTSIDE_PREFIX), None,
     {"policy-deny"}, "blocked"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "statements", "prefix", "codes", "verdict"),
    PREFIX_CASES,
    ids=[c[0] for c in PREFIX_CASES],
)
def test_a_key_policy_that_pins_the_path_answers_for_the_trails_prefix(
    name: str, statements: tuple[Any, ...], prefix: str | None, codes: set[str], verdict: str
) -> None:
    trail = _trail(s3_prefix=prefix)
    key = _key(_doc(ADMIN, DESCRIBE, *statements))
    assert {f.code for f in check_policy(key, trail)} == codes
    report = _report(trail, key)
    assert str(report.verdict) == verdict, report.findings


# -- 3. the organization path in the key policy and the bucket policy -------------------------

# name, key policy statements, organization trail, organization id given, codes, verdict
ORG_KEY_CASES: list[tuple[str, tuple[Any, ...], bool, str | None, set[str], str]] = [
    ("no path condition, id unknown", (_encrypt(),), True, None, set(), "ready"),
    ("org path allowed, id given", (_encrypt(ORG_OBJECTS),), True, ORG, set(), "ready"),
    ("org path allowed, other id given", (_encrypt(ORG_OBJECTS),), True, "o-zyxw987654",
     {"policy-encrypt"}, "blocked"),
    ("org path allowed, id unknown", (_encrypt(ORG_OBJECTS),), True, None,
     {"policy-unverifiable"}, "unverifiable"),
    ("org path allowed, not an organization trail", (_encrypt(ORG_OBJECTS),), False, None,
     {"policy-encrypt"}, "blocked"),
    ("account path only, organization trail, id unknown", (_encrypt(OBJECTS),), True, None,
     {"policy-encrypt"}, "blocked"),
    ("any organization, id unknown", (_encrypt(f"{BUCKET_ARN}/AWSLogs/o-*"),), True, None,
     set(), "ready"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "statements", "organization", "organization_id", "codes", "verdict"),
    ORG_KEY_CASES,
    ids=[c[0] for c in ORG_KEY_CASES],
)
def test_a_key_policy_that_pins_the_organization_path(
    name: str,
    statements: tuple[Any, ...],
    organization: bool,
    organization_id: str | None,
    codes: set[str],
    verdict: str,
) -> None:
    trail = _trail(organization=organization)
    key = _key(_doc(ADMIN, DESCRIBE, *statements))
    findings = check_policy(key, trail, organization_id)
    assert {f.code for f in findings} == codes
    if "policy-unverifiable" in codes:
        assert "organization id" in findings[0].message
    assert str(_report(trail, key, organization_id).verdict) == verdict


ACL_CHECK = {
    "Sid": "AclCheck",
    "Effect": "Allow",
    "Principal": {"Service": CLOUDTRAIL_SERVICE},
    "Action": "s3:GetBucketAcl",
    "Resource": BUCKET_ARN,
}


def _write(resource: str, sid: str = "Write") -> dict[str, Any]:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"Service": CLOUDTRAIL_SERVICE},
        "Action": "s3:PutObject",
        "Resource": resource,
        "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}},
    }


KMS_ONLY = {
    "Sid": "KmsOnly",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:PutObject",
    "Resource": f"{BUCKET_ARN}/*",
    "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}},
}
# The documented organization bucket policy: the account path (for when the trail stops being
# an organization trail) and the organization path (CloudTrail user guide, "Create or update an
# Amazon S3 bucket to use to store the log files for an organization trail").
ORG_POLICY = (ACL_CHECK, _write(OBJECTS, "WriteAccount"), _write(ORG_OBJECTS, "WriteOrg"))

# name, bucket policy statements, organization trail, organization id, target key (None:
# disable), bucket codes expected
ORG_BUCKET_CASES: list[tuple[str, tuple[Any, ...], bool, str | None, str | None, set[str]]] = [
    ("documented org policy, id given", ORG_POLICY, True, ORG, KEY, set()),
    ("documented org policy, id unknown", ORG_POLICY, True, None, KEY,
     {"bucket-policy-unverified"}),
    ("documented org policy, another organization", ORG_POLICY, True, "o-zyxw987654", KEY,
     {"bucket-policy-already-denies-delivery"}),
    ("account path only, organization trail, id given",
     (ACL_CHECK, _write(OBJECTS)), True, ORG, KEY, {"bucket-policy-already-denies-delivery"}),
    ("account path only, organization trail, id unknown",
     (ACL_CHECK, _write(OBJECTS)), True, None, KEY, {"bucket-policy-already-denies-delivery"}),
    ("account path only, trail of one account", (ACL_CHECK, _write(OBJECTS)), False, None, KEY,
     set()),
    ("every AWSLogs path, id unknown", (ACL_CHECK, _write(f"{BUCKET_ARN}/AWSLogs/*")), True,
     None, KEY, set()),
    ("every AWSLogs path, aws:kms only, disable, id unknown",
     (ACL_CHECK, _write(f"{BUCKET_ARN}/AWSLogs/*"), KMS_ONLY), True, None, None,
     {"bucket-policy-denies-delivery"}),
    ("documented org policy, aws:kms only, disable, id given", (*ORG_POLICY, KMS_ONLY), True,
     ORG, None, {"bucket-policy-denies-delivery"}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "statements", "organization", "organization_id", "target", "codes"),
    ORG_BUCKET_CASES,
    ids=[c[0] for c in ORG_BUCKET_CASES],
)
def test_the_bucket_policy_is_asked_about_the_organization_path(
    name: str,
    statements: tuple[Any, ...],
    organization: bool,
    organization_id: str | None,
    target: str | None,
    codes: set[str],
) -> None:
    bucket = BucketInfo(name=BUCKET, region="us-east-1", bucket_key=False, policy=_doc(*statements))
    trail = _trail(organization=organization, bucket=bucket, kms_key_id=OLD)
    findings = check_delivery(trail, target, organization_id)
    assert {f.code for f in findings} == codes, findings
    for f in findings:
        assert f.severity is CATALOGUE[f.code].severity
        if f.code == "bucket-policy-unverified":
            assert "organization id" in f.message and "AWSLogs/ORG-ID/ACCOUNT/" in f.message
    report = _report(trail, _key(_doc(ADMIN, DESCRIBE, _encrypt())), organization_id)
    if target is not None:
        assert {f.code for f in report.findings if f.code.startswith("bucket-policy")} == codes
        expected = "unverifiable" if "bucket-policy-unverified" in codes else "ready"
        assert str(report.verdict) == expected, report.findings


# -- 2. what a reader's decrypt carries --------------------------------------------------------


def _reader(*s3_patterns: str, operator: str = "StringLike") -> dict[str, Any]:
    """Any principal of READER may decrypt the trail's log files under ``s3_patterns``."""
    condition: dict[str, Any] = {"StringEquals": {"kms:CallerAccount": READER}}
    condition.setdefault(operator, {})[EC_S3] = list(s3_patterns)
    return {
        "Sid": "Readers",
        "Effect": "Allow",
        "Principal": {"AWS": "*"},
        "Action": "kms:Decrypt",
        "Resource": "*",
        "Condition": condition,
    }


# name, reader statement, bucket key (None: unknown), prefix, who may decrypt in READER
READER_CASES: list[tuple[str, dict[str, Any], bool | None, str | None, str]] = [
    ("object path, no bucket key", _reader(OBJECTS), False, None, "any principal"),
    ("object path, bucket key", _reader(OBJECTS), True, None, "nobody"),
    ("object path, bucket key unknown", _reader(OBJECTS), None, None, "cannot be told"),
    ("bucket ARN, bucket key", _reader(BUCKET_ARN, operator="StringEquals"), True, None,
     "any principal"),
    ("bucket ARN, no bucket key", _reader(BUCKET_ARN, operator="StringEquals"), False, None,
     "nobody"),
    ("both, bucket key unknown", _reader(BUCKET_ARN, OBJECTS), None, None, "any principal"),
    ("prefixed path, prefixed trail", _reader(PREFIXED), False, "team/a", "any principal"),
    ("prefixed path, trail without prefix", _reader(PREFIXED), False, None, "nobody"),
    ("unprefixed path, prefixed trail", _reader(OBJECTS), False, "team/a", "nobody"),
]  # fmt: skip


def _reader_line(key: KeyInfo, trail: Trail, organization_id: str | None = None) -> str:
    """What the policy-readers finding says about READER (the trail's own account, which no
    statement names, always makes one)."""
    (finding,) = check_readers(key, trail, (READER,), organization_id)
    (line,) = [d for d in finding.detail if d.startswith(f"account {READER} ")]
    return line


@pytest.mark.parametrize(
    ("name", "statement", "bucket_key", "prefix", "access"),
    READER_CASES,
    ids=[c[0] for c in READER_CASES],
)
def test_a_reader_grant_that_pins_aws_s3_arn_answers_as_s3_sends_it(
    name: str,
    statement: dict[str, Any],
    bucket_key: bool | None,
    prefix: str | None,
    access: str,
) -> None:
    bucket = BucketInfo(name=BUCKET, region="us-east-1", bucket_key=bucket_key)
    trail = _trail(bucket=bucket, s3_prefix=prefix)
    key = _key(_doc(DESCRIBE, _encrypt(), statement))  # no root grant: IAM cannot cover READER
    line = _reader_line(key, trail)
    assert line.startswith(f"account {READER} (given as a reader account): {access}"), line
    if access == "cannot be told":
        assert "S3 Bucket Key" in line


def test_an_organization_trails_reader_grant_on_the_organization_path() -> None:
    key = _key(_doc(DESCRIBE, _encrypt(), _reader(ORG_OBJECTS)))
    trail = _trail(organization=True)
    assert ": any principal" in _reader_line(key, trail, ORG)
    unknown = _reader_line(key, trail)
    assert ": cannot be told" in unknown and "organization id" in unknown
    assert ": nobody" in _reader_line(key, trail, "o-zyxw987654")


def test_variants_that_agree_give_the_common_answer() -> None:
    policy = _doc(_encrypt())
    requests = [
        cloudtrail_requests(
            trail_arn=TRAIL_ARN,
            bucket_name=BUCKET,
            key_arn=KEY,
            source_account=ACCOUNT,
            bucket_key=False,
            organization_id=org,
        )["encrypt"]
        for org in ("o-0000000000", ORG)
    ]
    assert pol.evaluate_variants(policy, requests, "x").decision is pol.Decision.ALLOWED
    pinned = _doc(_encrypt(ORG_OBJECTS))
    ev = pol.evaluate_variants(pinned, requests, "the organization id")
    assert ev.decision is pol.Decision.UNVERIFIABLE
    assert ev.unverifiable == (
        "the answer depends on the organization id, which trailkit does not know",
    )


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        (f"arn:aws:s3:::{BUCKET}/AWSLogs/{ORG}/*", [ORG]),
        ('"aws:PrincipalOrgID": "o-zyxw987654"', ["o-zyxw987654"]),
        ("arn:aws:s3:::demo-logsbucket12/AWSLogs/*", []),  # inside a bucket name: no id
        ("o-short", []),
        ("ou-ab12-cdefghijkl", []),  # an organizational unit id is not an organization id
    ],
)
def test_organization_ids_named_in_a_policy(text: str, ids: list[str]) -> None:
    assert ORGANIZATION_ID.findall(text) == ids
