"""Reader principals are checked the way KMS checks a key policy's principals (pure), and a bad
``--readers`` never reaches a policy."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from trailkit.aws.session import Connection
from trailkit.aws.writes import read_key_policy
from trailkit.errors import InputError
from trailkit.records import BucketInfo, KeyInfo, Trail
from trailkit.rules.principals import parse_principal, parse_principals
from trailkit.rules.repair import plan_repair
from trailkit.ui.cli import main

ACCOUNT = "123456789012"

ACCEPTED = [
    (f"arn:aws:iam::{ACCOUNT}:root", "aws", f"arn:aws:iam::{ACCOUNT}:root"),
    (f"arn:aws:iam::{ACCOUNT}:role/LogReader", "aws", f"arn:aws:iam::{ACCOUNT}:role/LogReader"),
    (f"arn:aws:iam::{ACCOUNT}:user/alice", "aws", f"arn:aws:iam::{ACCOUNT}:user/alice"),
    (
        f"arn:aws:iam::{ACCOUNT}:role/service-role/audit/Reader+1=a,b.c@d_e-f",
        "aws",
        f"arn:aws:iam::{ACCOUNT}:role/service-role/audit/Reader+1=a,b.c@d_e-f",
    ),
    ("arn:aws-cn:iam::210987654321:role/Reader", "aws", "arn:aws-cn:iam::210987654321:role/Reader"),
    (
        "arn:aws-us-gov:iam::210987654321:root",
        "aws",
        "arn:aws-us-gov:iam::210987654321:root",
    ),
    (ACCOUNT, "aws", f"arn:aws:iam::{ACCOUNT}:root"),
    (ACCOUNT, "aws-cn", f"arn:aws-cn:iam::{ACCOUNT}:root"),
    (f"  arn:aws:iam::{ACCOUNT}:role/R  ", "aws", f"arn:aws:iam::{ACCOUNT}:role/R"),
]

REFUSED = [
    ("arn:aws:iam::*:root", "the account contains a wildcard"),  # the example
    ("arn:aws:iam::12345678901*:root", "the account contains a wildcard"),
    (f"arn:aws:iam::{ACCOUNT}:role/*", "contains a wildcard"),
    (f"arn:aws:iam::{ACCOUNT}:role/Log?", "contains a wildcard"),
    ("*", "contains a wildcard"),
    ("", "it is empty"),
    ("   ", "it is empty"),
    ("12345678901", "exactly 12 digits; this one has 11"),
    ("1234567890123", "exactly 12 digits; this one has 13"),
    ("LogReader", "neither a 12-digit account id nor an ARN"),
    ("arn:aws:iam::12345:root", "exactly 12 digits; this one has 5"),
    ("arn:aws:iam::abcdefghijkl:root", "contains 'a'"),
    ("arn:aws:iam:::root", "the account field is empty"),
    ("arn:aws:iam::aws:root", "the account field is empty"),
    ("arn:aws-moon:iam::123456789012:root", "unknown partition 'aws-moon'"),
    ("arn:amazon:iam::123456789012:root", "unknown partition"),
    (
        "arn:aws:sts::123456789012:assumed-role/R/session",
        "an ARN of sts, not of IAM; name the role",
    ),
    ("arn:aws:kms:us-east-1:123456789012:key/abc", "an ARN of kms, not of IAM"),
    ("arn:aws:iam:us-east-1:123456789012:root", "IAM ARNs have no region"),
    (f"arn:aws:iam::{ACCOUNT}:group/Admins", "an IAM group cannot be a principal"),
    (f"arn:aws:iam::{ACCOUNT}:policy/P", "'policy' is not a principal"),
    (f"arn:aws:iam::{ACCOUNT}:role/", "the role name after 'role/' is missing"),
    (f"arn:aws:iam::{ACCOUNT}:user/" + "a" * 65, "is not an IAM user name"),
    (f"arn:aws:iam::{ACCOUNT}:role/bad!name", "is not an IAM role name"),
    (f"arn:aws:iam::{ACCOUNT}:role//R", "is not an IAM path"),
    (f"arn:aws:iam::{ACCOUNT}:role/My Role", "contains whitespace (a space)"),
    ("ARN:aws:iam::123456789012:root", "case-sensitive"),
    ("arn:aws:iam", "too few fields"),
]


@pytest.mark.parametrize(("text", "partition", "written"), ACCEPTED)
def test_principals_kms_accepts(text: str, partition: str, written: str) -> None:
    assert parse_principal(text, partition) == written


@pytest.mark.parametrize(("text", "why"), REFUSED, ids=[t or "<empty>" for t, _ in REFUSED])
def test_principals_kms_refuses_say_what_is_wrong(text: str, why: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_principal(text)
    assert why in caught.value.message
    assert "12-digit account id" in caught.value.fix


def test_several_principals_are_sorted_and_given_once() -> None:
    role = f"arn:aws:iam::{ACCOUNT}:role/R"
    assert parse_principals([role, ACCOUNT, role]) == (role, f"arn:aws:iam::{ACCOUNT}:root")
    with pytest.raises(InputError, match="wildcard"):
        parse_principals([role, "arn:aws:iam::*:root"])


def _trail() -> Trail:
    arn = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/t"
    return Trail(
        name="t",
        arn=arn,
        home_region="us-east-1",
        account=ACCOUNT,
        multi_region=False,
        organization=False,
        bucket_name="b",
        s3_prefix=None,
        kms_key_id=None,
        log_file_validation=False,
        bucket=BucketInfo(name="b", region="us-east-1"),
    )


def _key() -> KeyInfo:
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Enable IAM User Permissions",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    }
    arn = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555"
    return KeyInfo(
        arn=arn,
        key_id=arn.rsplit("/", 1)[-1],
        account=ACCOUNT,
        region="us-east-1",
        state="Enabled",
        policy=json.dumps(policy),
    )


def test_plan_repair_writes_checked_principals_and_refuses_a_wildcard_account() -> None:
    role = f"arn:aws:iam::{ACCOUNT}:role/LogReader"
    repair = plan_repair(_key(), [_trail()], readers=[role, "210987654321"])
    readers = next(s for s in repair.added if s["Sid"].startswith("TrailkitLogReaders"))
    assert readers["Principal"] == {"AWS": [role, "arn:aws:iam::210987654321:root"]}
    with pytest.raises(InputError, match="the account contains a wildcard"):
        plan_repair(_key(), [_trail()], readers=["arn:aws:iam::*:root"])


def test_cli_refuses_a_wildcard_reader_and_the_policy_stays_as_it_was(
    demo_rw: Any, tmp_path: Path
) -> None:
    endpoint, estate = demo_rw
    conn = Connection(endpoint_url=endpoint, region="us-east-1")
    key = estate.keys["alias/no-cloudtrail"]
    before = read_key_policy(conn, key, "us-east-1")
    out, err = io.StringIO(), io.StringIO()
    argv = ["--endpoint-url", endpoint, "policy", "--trail", "org-trail", "--key", key]
    argv += ["--readers", "arn:aws:iam::*:root", "--apply", "--yes"]
    argv += ["--journal", str(tmp_path / "j.jsonl")]
    conn.calls.clear()
    assert main(argv, out=out, err=err) == 2
    assert "the account contains a wildcard" in err.getvalue()
    assert "Traceback" not in err.getvalue()
    assert read_key_policy(conn, key, "us-east-1") == before
    assert "*:root" not in before
    assert not (tmp_path / "j.jsonl").exists()
