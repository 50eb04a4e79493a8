"""Bugs found by trying issue 15's work as a new operator would (health, explain, history)."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path
from typing import Any

import pytest

from tests.english import assert_japanese
from trailkit.aws.session import Connection
from trailkit.demo.server import as_account
from trailkit.errors import InputError
from trailkit.rules.history import parse_since
from trailkit.ui.cli import main

NOW = datetime(2026, 12, 5, 4, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("value", ["123456d", "99999999999999d", "1000000h", "9" * 5000 + "w"])
def test_a_huge_since_is_too_far_back_not_unparseable(value: str) -> None:
    # `--since 123456d` is a duration; it is refused because it reaches past the 90 days that
    # LookupEvents keeps, and the operator is told so (not "is not a duration").
    with pytest.raises(InputError) as raised:
        parse_since(value, NOW)
    assert "more than 90 days ago" in str(raised.value)


def test_the_notebook_export_does_not_dirty_git() -> None:
    # Notebook 01's last cell writes trails.csv in the working directory (papermill run from the
    # repository root, as the README shows): it must not show up in `git status`.
    for path in ("trails.csv", "notebooks/trails.csv"):
        done = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT, check=False)
        assert done.returncode == 0, path


def _cross_region_trail(endpoint: str, estate: Any) -> None:
    conn = Connection(endpoint_url=endpoint, region="us-east-1")
    ct = conn.client("cloudtrail", "us-east-1")
    ct.create_trail(
        Name="xregion-trail",
        S3BucketName="tk-pinned-logs-use1",
        KmsKeyId=estate.keys["alias/cloudtrail-good-euw1"],
    )


def test_health_of_a_refusing_bucket_does_not_speak_of_a_change(demo_rw: Any) -> None:
    # A trail whose bucket policy refuses its uploads as it is: the health reason says so, and
    # says nothing of "the change" (there is none: a health judges the trail as it is).
    endpoint, estate = demo_rw
    _cross_region_trail(endpoint, estate)
    out = StringIO()
    code = main(
        ["inventory", "--endpoint-url", endpoint, "--region", "us-east-1", "--format", "json"],
        out=out,
        err=StringIO(),
    )
    assert code in (0, 1)
    (trail,) = [t for t in json.loads(out.getvalue()) if t["name"] == "xregion-trail"]
    assert trail["health"] == "broken"
    refused = [
        r for r in trail["health_reasons"] if r["code"] == "bucket-policy-already-denies-delivery"
    ]
    assert refused, trail["health_reasons"]
    message = refused[0]["message"]
    assert "DenyOtherKmsKeys" in message
    assert "after the change" not in message
    assert "not the cause" not in message
    out = StringIO()
    argv = ["--lang", "ja", "explain", "--trail", "xregion-trail", "--no-history"]
    main(
        [*argv, "--endpoint-url", endpoint],
        out=out,
        err=StringIO(),
    )
    text = out.getvalue()
    assert "変更後" not in text
    assert_japanese(
        text,
        [
            "xregion-trail",
            "tk-pinned-logs-use1",
            "DenyOtherKmsKeys",
            "Allow CloudTrail to encrypt logs",
            "Allow CloudTrail to describe key",
        ],
    )


def test_health_of_another_accounts_key_does_not_speak_of_a_change(demo_rw: Any) -> None:
    # A trail on a key of another account: the key cannot be described from here. The health
    # reason says so, not that "its state is checked by AWS only when the change is sent"
    # (there is no change in a health).
    endpoint, _estate = demo_rw
    conn = Connection(endpoint_url=endpoint, region="us-east-1")
    # Act as 444455556666 (outside the demo organization: no role there to assume).
    other = as_account(conn, "444455556666").client("kms", "us-east-1")
    key = other.create_key()["KeyMetadata"]["Arn"]
    conn.client("cloudtrail", "us-east-1").create_trail(
        Name="xaccount-trail", S3BucketName="tk-no-readers-logs-use1", KmsKeyId=key
    )
    out = StringIO()
    main(
        ["inventory", "--endpoint-url", endpoint, "--region", "us-east-1", "--format", "json"],
        out=out,
        err=StringIO(),
    )
    (trail,) = [t for t in json.loads(out.getvalue()) if t["name"] == "xaccount-trail"]
    (unreadable,) = [r for r in trail["health_reasons"] if r["code"] == "key-unreadable"]
    assert key in unreadable["message"]
    assert "change" not in unreadable["message"]
