"""Tests for trailkit.rules.policy: the KMS key policy evaluator.

The good policies are the ones the CloudTrail user guide publishes ("Default KMS key policy
created in CloudTrail console", "Configure AWS KMS key policies for CloudTrail"); each broken
variant asserts the decision *and* the reason (the deny Sid, the failing condition key, or the
text of the unverifiable reason).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trailkit.rules import policy as pol
from trailkit.rules.policy import (
    ConditionFailure,
    Decision,
    Evaluation,
    Policy,
    Principal,
    Request,
    StatementRef,
    evaluate,
    parse_policy,
)
from trailkit.rules.requests import cloudtrail_requests, reader_request

ACCOUNT = "111122223333"
OTHER = "444455556666"
TRAIL = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/management-events"
OTHER_TRAIL = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/data-events"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
OTHER_KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/0987dcba-09fe-87dc-65ba-ab0987654321"
BUCKET = "trail-logs-bucket"
CT = "cloudtrail.amazonaws.com"
EC_ARN = "kms:EncryptionContext:aws:cloudtrail:arn"

REQUESTS = cloudtrail_requests(
    trail_arn=TRAIL, bucket_name=BUCKET, key_arn=KEY, source_account=ACCOUNT, bucket_key=True
)
READER = reader_request(account=ACCOUNT, key_arn=KEY, trail_arn=TRAIL)


def req(name: str) -> Request:
    return READER if name == "reader" else REQUESTS[name]


# -- the published policies ----------------------------------------------------------------


def default_console_policy(account: str = ACCOUNT, trail: str = TRAIL) -> dict[str, Any]:
    """The CloudTrail console's default key policy for a trail (user guide), for ``account``."""
    pattern = f"arn:aws:cloudtrail:*:{account}:trail/*"
    return {
        "Version": "2012-10-17",
        "Id": "Key policy created by CloudTrail",
        "Statement": [
            {
                "Sid": "Enable IAM User Permissions",
                "Effect": "Allow",
                "Principal": {
                    "AWS": [f"arn:aws:iam::{account}:root", f"arn:aws:iam::{account}:user/admin"]
                },
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Sid": "Allow CloudTrail to encrypt logs",
                "Effect": "Allow",
                "Principal": {"Service": CT},
                "Action": "kms:GenerateDataKey*",
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"aws:SourceArn": trail},
                    "StringLike": {EC_ARN: pattern},
                },
            },
            {
                "Sid": "Allow CloudTrail to describe key",
                "Effect": "Allow",
                "Principal": {"Service": CT},
                "Action": "kms:DescribeKey",
                "Resource": "*",
            },
            {
                "Sid": "Allow principals in the account to decrypt log files",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": ["kms:Decrypt", "kms:ReEncryptFrom"],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"kms:CallerAccount": account},
                    "StringLike": {EC_ARN: pattern},
                },
            },
            {
                "Sid": "Allow alias creation during setup",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": "kms:CreateAlias",
                "Resource": "*",
                "Condition": {
                    "StringEquals": {
                        "kms:ViaService": "ec2.us-east-1.amazonaws.com",
                        "kms:CallerAccount": account,
                    }
                },
            },
            {
                "Sid": "Enable cross account log decryption",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": ["kms:Decrypt", "kms:ReEncryptFrom"],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"kms:CallerAccount": account},
                    "StringLike": {EC_ARN: pattern},
                },
            },
        ],
    }


ENCRYPT_MULTI_ACCOUNT = {
    "Sid": "Enable CloudTrail Encrypt Permissions",
    "Effect": "Allow",
    "Principal": {"Service": CT},
    "Action": "kms:GenerateDataKey*",
    "Resource": "*",
    "Condition": {
        "StringLike": {
            EC_ARN: [
                f"arn:aws:cloudtrail:*:{OTHER}:trail/*",
                f"arn:aws:cloudtrail:*:{ACCOUNT}:trail/*",
            ]
        }
    },
}
DESCRIBE = {
    "Sid": "Allow CloudTrail access",
    "Effect": "Allow",
    "Principal": {"Service": CT},
    "Action": "kms:DescribeKey",
    "Resource": KEY,
}
DESCRIBE_WITH_SOURCE = {
    "Sid": "Allow CloudTrail to describe key",
    "Effect": "Allow",
    "Principal": {"Service": ["cloudtrail.amazonaws.com"]},
    "Action": "kms:DescribeKey",
    "Resource": "*",
    "Condition": {"StringEquals": {"aws:SourceArn": [TRAIL, OTHER_TRAIL]}},
}
ENCRYPT_SOURCE_ARN = {
    "Sid": "Allow CloudTrail to encrypt logs",
    "Effect": "Allow",
    "Principal": {"Service": CT},
    "Action": "kms:GenerateDataKey*",
    "Resource": "*",
    "Condition": {
        "StringEquals": {"aws:SourceArn": TRAIL},
        "StringLike": {EC_ARN: f"arn:aws:cloudtrail:*:{ACCOUNT}:trail/*"},
    },
}
DECRYPT_NAMED_READER = {
    "Sid": "Enable CloudTrail log decrypt permissions",
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/trailkit-log-reader"},
    "Action": "kms:Decrypt",
    "Resource": "*",
    "Condition": {"Null": {EC_ARN: "false"}},
}
BUCKET_KEY_DECRYPT = {
    "Sid": "Allow CloudTrail to decrypt with the S3 Bucket Key",
    "Effect": "Allow",
    "Principal": {"Service": CT},
    "Action": "kms:Decrypt",
    "Resource": "*",
    "Condition": {"StringEquals": {"aws:SourceArn": TRAIL}},
}


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [copy.deepcopy(s) for s in statements]}


GUIDE_POLICIES = {
    "multi-account-encrypt": doc(ENCRYPT_MULTI_ACCOUNT, DESCRIBE, DECRYPT_NAMED_READER),
    "source-arn-encrypt": doc(ENCRYPT_SOURCE_ARN, DESCRIBE_WITH_SOURCE, DECRYPT_NAMED_READER),
    "bucket-key": doc(ENCRYPT_SOURCE_ARN, DESCRIBE, BUCKET_KEY_DECRYPT, DECRYPT_NAMED_READER),
}


@pytest.mark.parametrize("name", ["encrypt", "describe", "reader"])
@pytest.mark.parametrize("as_text", [False, True])
def test_console_default_policy_allows_cloudtrail_and_readers(name: str, as_text: bool) -> None:
    document: Any = default_console_policy()
    if as_text:
        document = json.dumps(document, indent=4)
    ev = evaluate(document, req(name))
    assert ev.decision is Decision.ALLOWED, ev
    assert ev.deciding
    assert not ev.unverifiable


def test_console_default_policy_names_the_deciding_statements() -> None:
    ev = evaluate(default_console_policy(), req("encrypt"))
    assert [r.sid for r in ev.deciding] == ["Allow CloudTrail to encrypt logs"]
    ev = evaluate(default_console_policy(), req("describe"))
    assert [r.sid for r in ev.deciding] == ["Allow CloudTrail to describe key"]
    assert ev.reason.startswith('Statement "Allow CloudTrail to describe key" allows')


def test_console_default_policy_lacks_decrypt_for_bucket_keys() -> None:
    ev = evaluate(default_console_policy(), req("decrypt"))
    assert ev.decision is Decision.DENIED
    assert ev.deciding == ()


def test_console_default_policy_for_another_trail_fails_on_source_arn() -> None:
    ev = evaluate(default_console_policy(trail=OTHER_TRAIL), req("encrypt"))
    assert ev.decision is Decision.DENIED
    assert [m.key for m in ev.near_misses] == ["aws:SourceArn"]


@pytest.mark.parametrize("policy_name", sorted(GUIDE_POLICIES))
@pytest.mark.parametrize("name", ["encrypt", "describe", "reader"])
def test_user_guide_examples_allow(policy_name: str, name: str) -> None:
    ev = evaluate(GUIDE_POLICIES[policy_name], req(name))
    assert ev.decision is Decision.ALLOWED, ev


def test_bucket_key_policy_allows_decrypt() -> None:
    assert evaluate(GUIDE_POLICIES["bucket-key"], req("decrypt")).decision is Decision.ALLOWED


# -- broken variants -----------------------------------------------------------------------

Mutate = Callable[[dict[str, Any]], Any]


def base_policy() -> dict[str, Any]:
    return default_console_policy()


def stmt(document: dict[str, Any], sid: str) -> dict[str, Any]:
    for s in document["Statement"]:
        if s.get("Sid") == sid:
            return s  # type: ignore[no-any-return]
    raise KeyError(sid)


ENC = "Allow CloudTrail to encrypt logs"
DESC = "Allow CloudTrail to describe key"
DEC = "Allow principals in the account to decrypt log files"
XDEC = "Enable cross account log decryption"
ADMIN = "Enable IAM User Permissions"


def set_condition(sid: str, condition: dict[str, Any]) -> Mutate:
    def mutate(d: dict[str, Any]) -> None:
        stmt(d, sid)["Condition"] = condition

    return mutate


def add(statement: dict[str, Any]) -> Mutate:
    def mutate(d: dict[str, Any]) -> None:
        d["Statement"].append(statement)

    return mutate


def remove(sid: str) -> Mutate:
    def mutate(d: dict[str, Any]) -> None:
        d["Statement"].remove(stmt(d, sid))

    return mutate


def edit(sid: str, **changes: Any) -> Mutate:
    def mutate(d: dict[str, Any]) -> None:
        s = stmt(d, sid)
        for k, v in changes.items():
            if v is None:
                s.pop(k, None)
            else:
                s[k] = v

    return mutate


def deny(sid: str, **elements: Any) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Deny", **elements}


def replace(new: Any) -> Mutate:
    def mutate(d: dict[str, Any]) -> Any:
        return new

    return mutate


# An expectation: ("deny", sid) | ("miss", key) | ("miss-op", operator) | ("why", text) |
# ("none", "") (denied by default with no near miss) | ("allowed", sid)
Expect = tuple[str, str]

CASES: list[tuple[str, list[Mutate], str, Decision, Expect]] = [
    (
        "wrong account in encryption-context pattern",
        [
            set_condition(
                ENC,
                {
                    "StringEquals": {"aws:SourceArn": TRAIL},
                    "StringLike": {EC_ARN: f"arn:aws:cloudtrail:*:{OTHER}:trail/*"},
                },
            )
        ],
        "encrypt",
        Decision.DENIED,
        ("miss", EC_ARN),
    ),
    (
        "SourceArn names another trail",
        [set_condition(ENC, {"StringEquals": {"aws:SourceArn": OTHER_TRAIL}})],
        "encrypt",
        Decision.DENIED,
        ("miss", "aws:SourceArn"),
    ),
    (
        "SourceAccount names another account",
        [set_condition(ENC, {"StringEquals": {"aws:SourceAccount": OTHER}})],
        "encrypt",
        Decision.DENIED,
        ("miss", "aws:SourceAccount"),
    ),
    ("missing DescribeKey statement", [remove(DESC)], "describe", Decision.DENIED, ("none", "")),
    (
        "explicit Deny on kms:GenerateDataKey*",
        [add(deny("NoDataKeys", Principal="*", Action="kms:GenerateDataKey*", Resource="*"))],
        "encrypt",
        Decision.DENIED,
        ("deny", "NoDataKeys"),
    ),
    (
        "Deny with NotPrincipal that leaves CloudTrail out",
        [
            add(
                deny(
                    "DenyAllButAdmins",
                    NotPrincipal={"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                    Action="kms:*",
                    Resource="*",
                )
            )
        ],
        "describe",
        Decision.DENIED,
        ("deny", "DenyAllButAdmins"),
    ),
    (
        "Deny with NotPrincipal that lists CloudTrail",
        [
            add(
                deny(
                    "DenyOthers",
                    NotPrincipal={"Service": CT, "AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                    Action="kms:*",
                    Resource="*",
                )
            )
        ],
        "encrypt",
        Decision.ALLOWED,
        ("allowed", ENC),
    ),
    (
        "Action typo",
        [edit(ENC, Action="kms:GenrateDataKey*")],
        "encrypt",
        Decision.DENIED,
        ("none", ""),
    ),
    (
        "Action without the wildcard does not cover GenerateDataKeyWithoutPlaintext only",
        [edit(ENC, Action="kms:GenerateDataKeyWithoutPlaintext")],
        "encrypt",
        Decision.DENIED,
        ("none", ""),
    ),
    (
        "Principal is a different service",
        [edit(ENC, Principal={"Service": "config.amazonaws.com"})],
        "encrypt",
        Decision.DENIED,
        ("none", ""),
    ),
    (
        "Effect typo 'Allow '",
        [edit(ENC, Effect="Allow ")],
        "encrypt",
        Decision.UNVERIFIABLE,
        ("why", 'Effect "Allow "'),
    ),
    (
        "NumericLessThan on the only Allow",
        [
            set_condition(
                ENC,
                {"StringLike": {EC_ARN: "*"}, "NumericLessThan": {"kms:RecipientAttestation": "3"}},
            )
        ],
        "encrypt",
        Decision.UNVERIFIABLE,
        ("why", "NumericLessThan"),
    ),
    (
        "DateGreaterThan in a Deny that may match",
        [
            add(
                deny(
                    "StopAfterDate",
                    Principal="*",
                    Action="kms:*",
                    Resource="*",
                    Condition={"DateGreaterThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}},
                )
            )
        ],
        "encrypt",
        Decision.UNVERIFIABLE,
        ("why", "DateGreaterThan"),
    ),
    (
        "DateGreaterThan in a Deny for another action does not matter",
        [
            add(
                deny(
                    "NoDeletion",
                    Principal="*",
                    Action="kms:ScheduleKeyDeletion",
                    Resource="*",
                    Condition={"DateGreaterThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}},
                )
            )
        ],
        "encrypt",
        Decision.ALLOWED,
        ("allowed", ENC),
    ),
    (
        "unknown operator in a Deny while no Allow matches: still denied",
        [
            remove(DESC),
            add(
                deny(
                    "Odd",
                    Principal="*",
                    Action="kms:*",
                    Resource="*",
                    Condition={"StringSortOf": {"aws:SourceArn": "x"}},
                )
            ),
        ],
        "describe",
        Decision.DENIED,
        ("none", ""),
    ),
    (
        "policy variable in the Allow",
        [
            set_condition(
                ENC, {"StringLike": {EC_ARN: "arn:aws:cloudtrail:*:${aws:SourceAccount}:trail/*"}}
            )
        ],
        "encrypt",
        Decision.UNVERIFIABLE,
        ("why", "policy variable"),
    ),
    (
        "policy variable in a Deny that may match",
        [
            add(
                deny(
                    "VarDeny",
                    Principal="*",
                    Action="kms:GenerateDataKey*",
                    Resource="*",
                    Condition={"StringNotEquals": {"aws:SourceAccount": "${aws:PrincipalAccount}"}},
                )
            )
        ],
        "encrypt",
        Decision.UNVERIFIABLE,
        ("why", "policy variable"),
    ),
    (
        "StringEquals with a wildcard is literal",
        [set_condition(ENC, {"StringEquals": {EC_ARN: f"arn:aws:cloudtrail:*:{ACCOUNT}:trail/*"}})],
        "encrypt",
        Decision.DENIED,
        ("miss-op", "StringEquals"),
    ),
    (
        "StringEqualsIfExists with a present key that differs",
        [set_condition(ENC, {"StringEqualsIfExists": {"aws:SourceArn": OTHER_TRAIL}})],
        "encrypt",
        Decision.DENIED,
        ("miss", "aws:SourceArn"),
    ),
    (
        "StringEqualsIfExists with an absent key passes",
        [set_condition(ENC, {"StringEqualsIfExists": {"aws:SourceVpc": "vpc-1a2b3c4d"}})],
        "encrypt",
        Decision.ALLOWED,
        ("allowed", ENC),
    ),
    (
        "plain StringEquals with an absent key fails",
        [set_condition(ENC, {"StringEquals": {"aws:SourceVpc": "vpc-1a2b3c4d"}})],
        "encrypt",
        Decision.DENIED,
        ("miss", "aws:SourceVpc"),
    ),
    (
        "Deny StringNotEquals kms:CallerAccount hits the service principal (key absent)",
        [
            add(
                deny(
                    "DenyOutsideAccount",
                    Principal="*",
                    Action="kms:*",
                    Resource="*",
                    Condition={"StringNotEquals": {"kms:CallerAccount": ACCOUNT}},
                )
            )
        ],
        "encrypt",
        Decision.DENIED,
        ("deny", "DenyOutsideAccount"),
    ),
    (
        "the same Deny guarded by Null false spares the service principal",
        [
            add(
                deny(
                    "DenyOutsideAccount",
                    Principal="*",
                    Action="kms:*",
                    Resource="*",
                    Condition={
                        "StringNotEquals": {"kms:CallerAccount": ACCOUNT},
                        "Null": {"kms:CallerAccount": "false"},
                    },
                )
            )
        ],
        "encrypt",
        Decision.ALLOWED,
        ("allowed", ENC),
    ),
    (
        "Deny StringNotEqualsIfExists spares a matching reader",
        [
            add(
                deny(
                    "DenyOutsideAccount",
                    Principal="*",
                    Action="kms:Decrypt",
                    Resource="*",
                    Condition={"StringNotEqualsIfExists": {"kms:CallerAccount": ACCOUNT}},
                )
            )
        ],
        "reader",
        Decision.ALLOWED,
        ("allowed", ADMIN),
    ),
    (
        "ForAllValues with a context key that is not listed",
        [
            set_condition(
                ENC, {"ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["aws:s3:arn"]}}
            )
        ],
        "encrypt",
        Decision.DENIED,
        ("miss", "kms:EncryptionContextKeys"),
    ),
    (
        "ForAllValues listing both context keys",
        [
            set_condition(
                ENC,
                {
                    "ForAllValues:StringEquals": {
                        "kms:EncryptionContextKeys": ["aws:s3:arn", "aws:cloudtrail:arn"]
                    }
                },
            )
        ],
        "encrypt",
        Decision.ALLOWED,
        ("allowed", ENC),
    ),
    (
        "ForAllValues with an absent key passes",
        [set_condition(DESC, {"ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["x"]}})],
        "describe",
        Decision.ALLOWED,
        ("allowed", DESC),
    ),
    (
        "ForAnyValue with an absent key fails",
        [
            set_condition(
                DESC, {"ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": ["aws:s3:arn"]}}
            )
        ],
        "describe",
        Decision.DENIED,
        ("miss", "kms:EncryptionContextKeys"),
    ),
    (
        "ForAnyValue:StringLike with one matching context key",
        [set_condition(ENC, {"ForAnyValue:StringLike": {"kms:EncryptionContextKeys": "aws:s3:*"}})],
        "encrypt",
        Decision.ALLOWED,
        ("allowed", ENC),
    ),
    (
        "Null true on a key the request has",
        [set_condition(ENC, {"Null": {EC_ARN: "true"}})],
        "encrypt",
        Decision.DENIED,
        ("miss-op", "Null"),
    ),
    (
        "Null false on a key the request lacks",
        [set_condition(DESC, {"Null": {EC_ARN: "false"}})],
        "describe",
        Decision.DENIED,
        ("miss", EC_ARN),
    ),
    (
        "Null true on a key the request lacks",
        [set_condition(DESC, {"Null": {EC_ARN: True}})],
        "describe",
        Decision.ALLOWED,
        ("allowed", DESC),
    ),
    (
        "Bool that the service principal fails",
        [set_condition(ENC, {"Bool": {"aws:PrincipalIsAWSService": "false"}})],
        "encrypt",
        Decision.DENIED,
        ("miss-op", "Bool"),
    ),
    (
        "Bool compares case-insensitively",
        [set_condition(ENC, {"Bool": {"aws:PrincipalIsAWSService": "TRUE"}})],
        "encrypt",
        Decision.ALLOWED,
        ("allowed", ENC),
    ),
    (
        "Action matches case-insensitively",
        [edit(ENC, Action="KMS:generatedatakey*")],
        "encrypt",
        Decision.ALLOWED,
        ("allowed", ENC),
    ),
    (
        "NotAction Allow that excludes the action",
        [edit(ENC, Action=None, NotAction=["kms:GenerateDataKey*", "kms:Decrypt"])],
        "encrypt",
        Decision.DENIED,
        ("none", ""),
    ),
    (
        "NotAction Allow that covers the action",
        [remove(DESC), edit(ENC, Action=None, NotAction="kms:ScheduleKeyDeletion", Condition=None)],
        "describe",
        Decision.ALLOWED,
        ("allowed", ENC),
    ),
    (
        "NotResource that excludes the key",
        [edit(DESC, Resource=None, NotResource=KEY)],
        "describe",
        Decision.DENIED,
        ("none", ""),
    ),
    (
        "NotResource naming another key",
        [edit(DESC, Resource=None, NotResource=OTHER_KEY)],
        "describe",
        Decision.ALLOWED,
        ("allowed", DESC),
    ),
    (
        "Resource naming another key",
        [edit(DESC, Resource=OTHER_KEY)],
        "describe",
        Decision.DENIED,
        ("none", ""),
    ),
    (
        "Resource glob over the account's keys",
        [edit(DESC, Resource=f"arn:aws:kms:*:{ACCOUNT}:key/*")],
        "describe",
        Decision.ALLOWED,
        ("allowed", DESC),
    ),
    (
        "malformed JSON",
        [replace('{"Version": "2012-10-17", "Statement": [')],
        "encrypt",
        Decision.UNVERIFIABLE,
        ("why", "not valid JSON"),
    ),
    (
        "Statement is a string",
        [replace({"Version": "2012-10-17", "Statement": "Allow everything"})],
        "encrypt",
        Decision.UNVERIFIABLE,
        ("why", "Statement must be an object or a list"),
    ),
    (
        "document is a list",
        [replace("[]")],
        "encrypt",
        Decision.UNVERIFIABLE,
        ("why", "must be a JSON object"),
    ),
    (
        "duplicate Effect in the JSON text",
        [
            replace(
                '{"Statement": [{"Effect": "Allow", "Effect": "Deny", "Principal": "*", '
                '"Action": "kms:*", "Resource": "*"}]}'
            )
        ],
        "encrypt",
        Decision.UNVERIFIABLE,
        ("why", 'element "Effect" appears twice'),
    ),
    (
        "single statement object is accepted",
        [replace({"Statement": copy.deepcopy(DESCRIBE)})],
        "describe",
        Decision.ALLOWED,
        ("allowed", "Allow CloudTrail access"),
    ),
    (
        "misspelt Condition element",
        [edit(ENC, Condition=None, Conditon={"StringEquals": {"aws:SourceArn": TRAIL}})],
        "encrypt",
        Decision.UNVERIFIABLE,
        ("why", 'unknown element "Conditon"'),
    ),
    (
        "unknown principal type (lower case aws)",
        [edit(DEC, Principal={"aws": "*"}), edit(XDEC, Principal={"aws": "*"}), remove(ADMIN)],
        "reader",
        Decision.UNVERIFIABLE,
        ("why", 'unknown principal type "aws"'),
    ),
    (
        "condition value that is a number",
        [set_condition(ENC, {"StringEquals": {"aws:SourceAccount": 111122223333}})],
        "encrypt",
        Decision.UNVERIFIABLE,
        ("why", "a number"),
    ),
    (
        "ArnLike on SourceArn for another account",
        [
            set_condition(
                ENC, {"ArnLike": {"aws:SourceArn": f"arn:aws:cloudtrail:*:{OTHER}:trail/*"}}
            )
        ],
        "encrypt",
        Decision.DENIED,
        ("miss-op", "ArnLike"),
    ),
    (
        "ArnEquals matches segment-wise with wildcards",
        [set_condition(ENC, {"ArnEquals": {"aws:SourceArn": f"arn:aws:cloudtrail:*:{ACCOUNT}:*"}})],
        "encrypt",
        Decision.ALLOWED,
        ("allowed", ENC),
    ),
    (
        "ArnLike with too few segments never matches",
        [set_condition(ENC, {"ArnLike": {"aws:SourceArn": "arn:aws:cloudtrail:*"}})],
        "encrypt",
        Decision.DENIED,
        ("miss", "aws:SourceArn"),
    ),
    (
        "StringLike treats [ as a literal character",
        [set_condition(ENC, {"StringLike": {EC_ARN: "arn:aws:cloudtrail:*:[0-9]*:trail/*"}})],
        "encrypt",
        Decision.DENIED,
        ("miss", EC_ARN),
    ),
    (
        "StringEquals is case-sensitive",
        [set_condition(ENC, {"StringEquals": {"aws:SourceArn": TRAIL.upper()}})],
        "encrypt",
        Decision.DENIED,
        ("miss", "aws:SourceArn"),
    ),
    (
        "StringEqualsIgnoreCase is not",
        [set_condition(ENC, {"StringEqualsIgnoreCase": {"aws:SourceArn": TRAIL.upper()}})],
        "encrypt",
        Decision.ALLOWED,
        ("allowed", ENC),
    ),
    (
        "condition keys are looked up case-insensitively",
        [set_condition(ENC, {"StringEquals": {"AWS:SOURCEARN": TRAIL}})],
        "encrypt",
        Decision.ALLOWED,
        ("allowed", ENC),
    ),
    (
        "StringNotLike excluding the trail",
        [set_condition(ENC, {"StringNotLike": {"aws:SourceArn": "*:trail/management-*"}})],
        "encrypt",
        Decision.DENIED,
        ("miss-op", "StringNotLike"),
    ),
    (
        "reader in another account than the kms:CallerAccount",
        [
            remove(ADMIN),
            remove(XDEC),
            edit(DEC, Condition={"StringEquals": {"kms:CallerAccount": OTHER}}),
        ],
        "reader",
        Decision.DENIED,
        ("miss", "kms:CallerAccount"),
    ),
    (
        "reader named only by another account's root",
        [
            remove(DEC),
            remove(XDEC),
            edit(ADMIN, Principal={"AWS": f"arn:aws:iam::{OTHER}:root"}),
        ],
        "reader",
        Decision.DENIED,
        ("none", ""),
    ),
    (
        "reader covered by the bare account id",
        [remove(DEC), remove(XDEC), edit(ADMIN, Principal={"AWS": ACCOUNT})],
        "reader",
        Decision.ALLOWED,
        ("allowed", ADMIN),
    ),
    (
        "AWS * matches the service principal too",
        [edit(ENC, Principal={"AWS": "*"})],
        "encrypt",
        Decision.ALLOWED,
        ("allowed", ENC),
    ),
    (
        "a root principal does not match a service principal",
        [edit(DESC, Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:root"})],
        "describe",
        Decision.DENIED,
        ("none", ""),
    ),
    (
        "partial wildcard in a principal cannot be verified",
        [edit(DESC, Principal={"Service": "cloudtrail.*"})],
        "describe",
        Decision.UNVERIFIABLE,
        ("why", "wildcard"),
    ),
    (
        "unknown-effect statement that cannot match does not matter",
        [add({"Sid": "Typo", "Effect": "deny", "Principal": "*", "Action": "s3:*"})],
        "encrypt",
        Decision.ALLOWED,
        ("allowed", ENC),
    ),
    (
        "unknown-effect statement that may match blocks a grant",
        [add({"Sid": "Typo", "Effect": "deny", "Principal": "*", "Action": "kms:*"})],
        "encrypt",
        Decision.UNVERIFIABLE,
        ("why", 'Effect "deny"'),
    ),
    (
        "statement without Principal",
        [edit(DESC, Principal=None)],
        "describe",
        Decision.UNVERIFIABLE,
        ("why", "has no Principal"),
    ),
    (
        "Null with IfExists is not an operator",
        [set_condition(DESC, {"NullIfExists": {EC_ARN: "true"}})],
        "describe",
        Decision.UNVERIFIABLE,
        ("why", "not a valid operator"),
    ),
    (
        "explicit deny wins over a matching allow, naming the deny",
        [
            add(
                deny(
                    "DenyOtherTrails",
                    Principal={"Service": CT},
                    Action="kms:GenerateDataKey*",
                    Resource="*",
                    Condition={"StringNotEquals": {"aws:SourceArn": OTHER_TRAIL}},
                )
            )
        ],
        "encrypt",
        Decision.DENIED,
        ("deny", "DenyOtherTrails"),
    ),
    (
        "bucket key without kms:Decrypt for CloudTrail (the readers' statements miss)",
        [],
        "decrypt",
        Decision.DENIED,
        ("miss", "kms:CallerAccount"),
    ),
]


@pytest.mark.parametrize(
    ("mutations", "name", "decision", "expect"),
    [pytest.param(m, n, d, e, id=i) for i, m, n, d, e in CASES],
)
def test_variants(mutations: list[Mutate], name: str, decision: Decision, expect: Expect) -> None:
    document: Any = base_policy()
    for mutate in mutations:
        result = mutate(document)
        if result is not None:
            document = result
    ev = evaluate(document, req(name))
    assert isinstance(ev, Evaluation)
    assert ev.decision is decision, ev
    kind, what = expect
    if kind == "deny":
        assert what in [r.sid for r in ev.deciding], ev
        assert all(r.effect == "Deny" for r in ev.deciding)
        assert ev.reason.endswith("explicitly denies " + ev.reason.split("denies ")[-1])
    elif kind == "allowed":
        assert what in [r.sid for r in ev.deciding], ev
        assert not ev.near_misses and not ev.unverifiable
    elif kind == "miss":
        assert ev.deciding == ()
        assert what in [m.key for m in ev.near_misses], ev
        assert what in ev.reason
    elif kind == "miss-op":
        assert ev.deciding == ()
        assert what in [m.operator for m in ev.near_misses], ev
    elif kind == "why":
        assert ev.deciding == ()
        assert ev.unverifiable, ev
        assert any(what in u for u in ev.unverifiable), ev.unverifiable
        assert what in ev.reason
    else:
        assert kind == "none"
        assert ev.deciding == () and ev.near_misses == (), ev
        assert ev.reason.startswith("No statement allows")


def test_at_least_twenty_non_allowed_variants() -> None:
    assert sum(1 for c in CASES if c[3] is not Decision.ALLOWED) >= 20


# -- parts ---------------------------------------------------------------------------------


def test_describe_condition_failure() -> None:
    ev = evaluate(
        doc(
            {
                "Sid": "Enc",
                "Effect": "Allow",
                "Principal": {"Service": CT},
                "Action": "kms:GenerateDataKey*",
                "Resource": "*",
                "Condition": {"StringLike": {EC_ARN: f"arn:aws:cloudtrail:*:{ACCOUNT}:trail/*"}},
            }
        ),
        cloudtrail_requests(
            trail_arn=f"arn:aws:cloudtrail:us-east-1:{OTHER}:trail/t",
            bucket_name=BUCKET,
            key_arn=KEY,
            source_account=OTHER,
            bucket_key=False,
        )["encrypt"],
    )
    assert ev.decision is Decision.DENIED
    (miss,) = ev.near_misses
    assert miss.describe() == (
        f"StringLike {EC_ARN} expects arn:aws:cloudtrail:*:{ACCOUNT}:trail/* but the request "
        f"has arn:aws:cloudtrail:us-east-1:{OTHER}:trail/t"
    )
    assert miss.statement.label() == 'statement "Enc"'


@pytest.mark.parametrize(
    ("failure", "text"),
    [
        (
            ConditionFailure(StatementRef(2, None, "Allow"), "StringEquals", "k", ("a", "b"), None),
            "StringEquals k expects one of a, b but the request has no k",
        ),
        (
            ConditionFailure(StatementRef(0, "", "Allow"), "Null", "k", ("true",), ("v",)),
            "Null k expects the key to be absent but the request has v",
        ),
        (
            ConditionFailure(StatementRef(0, "", "Allow"), "StringNotEquals", "k", ("v",), ("v",)),
            "StringNotEquals k expects anything but v but the request has v",
        ),
    ],
)
def test_describe_variants(failure: ConditionFailure, text: str) -> None:
    assert failure.describe() == text


def test_statement_labels() -> None:
    assert StatementRef(2, None, "Allow").label() == "statement #3"
    assert StatementRef(0, "", "Deny").label() == "statement #1"
    assert StatementRef(0, "S1", "Deny").label() == 'statement "S1"'


def test_unsid_statement_is_labelled_by_position() -> None:
    d = doc(
        DESCRIBE,
        {"Effect": "Deny", "Principal": "*", "Action": "kms:DescribeKey", "Resource": "*"},
    )
    ev = evaluate(d, req("describe"))
    assert ev.decision is Decision.DENIED
    assert [r.label() for r in ev.deciding] == ["statement #2"]
    assert ev.reason.startswith("Statement #2 explicitly denies kms:DescribeKey")


def test_cloudtrail_requests_shape() -> None:
    requests = cloudtrail_requests(
        trail_arn="arn:aws-cn:cloudtrail:cn-north-1:111122223333:trail/t",
        bucket_name="b",
        key_arn="arn:aws-cn:kms:cn-north-1:111122223333:key/k",
        source_account=ACCOUNT,
        bucket_key=False,
    )
    assert set(requests) == {"encrypt", "describe"}
    enc = requests["encrypt"]
    assert enc.principal == Principal("Service", CT)
    assert enc.action == "kms:GenerateDataKey"
    assert enc.resource == "arn:aws-cn:kms:cn-north-1:111122223333:key/k"
    assert enc.context["kms:EncryptionContext:aws:s3:arn"].startswith("arn:aws-cn:s3:::b/")  # type: ignore[union-attr]
    assert enc.context["aws:SourceArn"] == enc.context[EC_ARN]
    assert enc.context["aws:SourceAccount"] == ACCOUNT
    assert requests["describe"].action == "kms:DescribeKey"
    assert EC_ARN not in requests["describe"].context
    assert REQUESTS["decrypt"].action == "kms:Decrypt"
    assert REQUESTS["decrypt"].context[EC_ARN] == TRAIL


def test_reader_request_shape() -> None:
    assert READER.principal == Principal(
        "AWS", f"arn:aws:iam::{ACCOUNT}:role/trailkit-log-reader", ACCOUNT
    )
    assert READER.action == "kms:Decrypt"
    assert READER.context["kms:CallerAccount"] == ACCOUNT
    assert READER.context[EC_ARN] == TRAIL


def test_request_is_frozen_and_hashable() -> None:
    r = Request(Principal("AWS", "x"), "kms:Decrypt", KEY, {"k": ["a", "b"], "b": True})
    assert r.context["k"] == ("a", "b")
    assert hash(r) == hash(
        Request(Principal("AWS", "x"), "kms:Decrypt", KEY, {"b": True, "k": ("a", "b")})
    )
    with pytest.raises(TypeError):
        r.context["k"] = "c"  # type: ignore[index]


def test_parse_policy_returns_policy_and_reuses() -> None:
    parsed = parse_policy(json.dumps(default_console_policy()))
    assert isinstance(parsed, Policy)
    assert len(parsed.statements) == 6
    assert parsed.statements[1].ref.sid == ENC
    assert evaluate(parsed, req("encrypt")).decision is Decision.ALLOWED


def test_missing_resource_is_lenient_and_noted() -> None:
    d = doc({"Sid": "D", "Effect": "Allow", "Principal": {"Service": CT}, "Action": "kms:*"})
    parsed = parse_policy(d)
    assert isinstance(parsed, Policy)
    assert any("no Resource" in n for n in parsed.notes)
    assert evaluate(parsed, req("describe")).decision is Decision.ALLOWED


@pytest.mark.parametrize(
    ("document", "text"),
    [
        ("", "empty"),
        ("null", "not null"),
        ('{"Statement": []', "not valid JSON"),
        ('{"Version": "2012-10-17"}', "no Statement"),
        ('{"Version": "2019-01-01", "Statement": []}', "unsupported Version"),
        ('{"Statement": [], "Extra": 1}', 'unknown top-level element "Extra"'),
        ('{"Statement": [1]}', "statement #1 must be an object"),
        ("[" * 100_000 + "]" * 100_000, ""),
        ('{"Statement": [], "Id": ' + "9" * 10_000 + "}", ""),
    ],
)
def test_parse_policy_malformed(document: str, text: str) -> None:
    result = parse_policy(document)
    assert isinstance(result, str)
    assert text in result
    ev = evaluate(document, req("encrypt"))
    assert ev.decision is Decision.UNVERIFIABLE
    assert ev.unverifiable and "not a valid policy document" in ev.unverifiable[0]


def test_empty_statement_list_denies() -> None:
    ev = evaluate({"Statement": []}, req("encrypt"))
    assert ev.decision is Decision.DENIED


def test_huge_policy_does_not_blow_up() -> None:
    filler = [
        {
            "Sid": f"Filler{i}",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/r{i}"},
            "Action": ["kms:Decrypt", "kms:Encrypt"],
            "Resource": "*",
            "Condition": {"StringLike": {EC_ARN: "*" * 20 + "x"}},
        }
        for i in range(5000)
    ]
    d = default_console_policy()
    d["Statement"].extend(filler)
    text = json.dumps(d)
    assert len(text) > 1_000_000
    assert evaluate(text, req("encrypt")).decision is Decision.ALLOWED


def test_hostile_glob_is_fast() -> None:
    pattern = "*a" * 2000 + "b"
    d = doc(
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "kms:*",
            "Resource": "*",
            "Condition": {"StringLike": {"aws:SourceArn": pattern}},
        }
    )
    r = Request(Principal("Service", CT), "kms:Decrypt", KEY, {"aws:SourceArn": "a" * 3000})
    assert evaluate(d, r).decision is Decision.DENIED


@pytest.mark.parametrize("bad", [None, 42, b"\xff", object(), ["Statement"]])
def test_evaluate_other_types(bad: Any) -> None:
    ev = evaluate(bad, req("encrypt"))
    assert ev.decision is Decision.UNVERIFIABLE


def test_evaluate_bad_request_does_not_raise() -> None:
    ev = evaluate(default_console_policy(), "not a request")  # type: ignore[arg-type]
    assert ev.decision is Decision.UNVERIFIABLE


def test_bucket_policy_deny_unencrypted_uploads() -> None:
    """The shape checks.py uses for bucket policies: a Deny on s3:PutObject unless aws:kms."""
    bucket_policy = doc(
        {
            "Sid": "DenyNonKms",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{BUCKET}/*",
            "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}},
        }
    )
    r = Request(
        Principal("Service", CT),
        "s3:PutObject",
        f"arn:aws:s3:::{BUCKET}/AWSLogs/{ACCOUNT}/CloudTrail-Digest/object",
        {"s3:x-amz-server-side-encryption": "AES256"},
    )
    ev = evaluate(bucket_policy, r)
    assert ev.decision is Decision.DENIED
    assert [s.sid for s in ev.deciding] == ["DenyNonKms"]


# -- property-based ------------------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=25,
)
element_names = st.sampled_from(
    [
        "Sid",
        "Effect",
        "Principal",
        "NotPrincipal",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
    ]
)
element_values = (
    json_values
    | st.sampled_from(["Allow", "Deny", "*", "kms:*", "kms:GenerateDataKey*", CT])
    | st.fixed_dictionaries({"Service": st.sampled_from([CT, [CT], "*"])})
    | st.dictionaries(
        st.sampled_from(["StringLike", "StringEquals", "Null", "Bool", "ForAnyValue:StringLike"]),
        st.dictionaries(st.sampled_from([EC_ARN, "aws:SourceArn"]), json_values, max_size=2),
        max_size=2,
    )
)
statements = st.dictionaries(element_names | st.text(max_size=8), element_values, max_size=9)
policies = st.fixed_dictionaries(
    {"Statement": st.lists(statements, max_size=4) | json_values},
    optional={"Version": st.sampled_from(["2012-10-17", "2008-10-17"]) | json_values},
)
FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(document=json_values | policies)
def test_evaluate_never_raises_on_json_values(document: Any) -> None:
    for name in ("encrypt", "reader"):
        ev = evaluate(document, req(name))
        assert isinstance(ev, Evaluation)
        assert isinstance(ev.decision, Decision)
        if ev.decision is Decision.UNVERIFIABLE:
            assert ev.unverifiable
    parsed = parse_policy(document)
    assert isinstance(parsed, Policy | str)


@FAST
@given(text=st.text(max_size=200) | policies.map(json.dumps))
def test_evaluate_never_raises_on_text(text: str) -> None:
    ev = evaluate(text, req("describe"))
    assert isinstance(ev, Evaluation)


context_values = (
    st.text(max_size=20)
    | st.booleans()
    | st.lists(st.text(max_size=10), max_size=3)
    | st.integers()
)


@FAST
@given(
    kind=st.sampled_from(["AWS", "Service", "Federated", ""]) | st.text(max_size=5),
    value=st.text(max_size=40) | st.sampled_from([CT, f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT]),
    account=st.none() | st.text(max_size=12),
    action=st.text(max_size=30) | st.sampled_from(["kms:Decrypt", "kms:GenerateDataKey"]),
    resource=st.text(max_size=30),
    context=st.dictionaries(
        st.text(max_size=20) | st.sampled_from([EC_ARN, "aws:SourceArn", "kms:CallerAccount"]),
        context_values,
        max_size=4,
    ),
)
def test_evaluate_never_raises_on_odd_requests(
    kind: str, value: str, account: str | None, action: str, resource: str, context: Any
) -> None:
    r = Request(Principal(kind, value, account), action, resource, context)
    for document in (default_console_policy(), GUIDE_POLICIES["bucket-key"]):
        ev = evaluate(document, r)
        assert isinstance(ev, Evaluation)


def _is_implemented(operator: str) -> bool:
    parts = pol._split_operator(operator)
    return parts is not None and parts[1] not in pol._UNIMPLEMENTED_OPS


unknown_operators = st.sampled_from(sorted(pol._UNIMPLEMENTED_OPS)) | st.text(
    min_size=1, max_size=30
).filter(lambda op: not _is_implemented(op))


@FAST
@given(
    operators=st.lists(unknown_operators, min_size=1, max_size=3),
    value=st.text(max_size=20) | st.lists(st.text(max_size=10), max_size=3),
    key=st.sampled_from([EC_ARN, "aws:SourceArn", "aws:CurrentTime", "kms:CallerAccount"]),
    also_known=st.booleans(),
    name=st.sampled_from(["encrypt", "describe", "reader", "decrypt"]),
)
def test_unknown_operators_never_allow(
    operators: list[str], value: Any, key: str, also_known: bool, name: str
) -> None:
    condition: dict[str, Any] = {op: {key: value} for op in operators}
    if also_known:
        condition["StringLike"] = {"aws:SourceArn": "*"}
    d = doc(
        {
            "Sid": "OnlyAllow",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "*",
            "Resource": "*",
            "Condition": condition,
        }
    )
    ev = evaluate(d, req(name))
    assert ev.decision is not Decision.ALLOWED
    if ev.decision is Decision.UNVERIFIABLE:
        assert ev.unverifiable


def _regex_glob(pattern: str, text: str) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, text, re.DOTALL) is not None


@FAST
@given(
    pattern=st.text(alphabet="ab*?[]", max_size=10),
    text=st.text(alphabet="ab[]", max_size=10),
)
def test_glob_agrees_with_a_regex(pattern: str, text: str) -> None:
    assert pol._glob(pattern, text) is _regex_glob(pattern, text)
