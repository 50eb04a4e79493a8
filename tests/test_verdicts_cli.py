"""Issue 12 through the command line on the demo estate: the issue's two key policies, and the
exit codes of ``trailkit check`` (0 ready, 1 blocked, 3 unverifiable, 2 usage)."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from test_verdicts import CDK_GRANT_ENCRYPT, CONTROL_TOWER, CT_TRAIL, KEY_ID

from trailkit.aws.reader import Reader
from trailkit.aws.session import Connection
from trailkit.demo.estate import DEMO_ACCOUNT
from trailkit.ui.cli import main


def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(list(argv), out=out, err=err), out.getvalue(), err.getvalue()


def _key_with(endpoint: str, region: str, policy: str, trail_arn: str) -> str:
    """A new key in the demo with the issue's policy, rewritten for the demo's account/trail."""
    kms = Connection(endpoint_url=endpoint, region=region, workers=2).client("kms", region)
    arn: str = kms.create_key(Description="issue 12")["KeyMetadata"]["Arn"]
    key_id = arn.rsplit("/", 1)[1]
    text = (
        policy.replace(CT_TRAIL, trail_arn)
        .replace("111122223333", DEMO_ACCOUNT)
        .replace("arn:aws:kms:us-east-1:", f"arn:aws:kms:{region}:")
        .replace(KEY_ID, key_id)
    )
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=text)
    return arn


def _check_json(endpoint: str, trail: str, key: str) -> tuple[int, dict[str, Any]]:
    code, out, _ = _cli(
        "--endpoint-url", endpoint, "check", "--trail", trail, "--key", key, "--format", "json"
    )
    return code, json.loads(out)


@pytest.mark.parametrize("policy", [CONTROL_TOWER, CDK_GRANT_ENCRYPT], ids=["control-tower", "cdk"])
def test_the_issues_policies_are_ready_on_a_plain_bucket_and_blocked_with_a_bucket_key(
    demo_rw: Any, policy: str
) -> None:
    endpoint, _ = demo_rw
    reader = Reader(Connection(endpoint_url=endpoint, region="us-east-1", workers=4))
    org, bucketkey = reader.find_trail("org-trail"), reader.find_trail("bucketkey-trail")

    code, report = _check_json(
        endpoint, "org-trail", _key_with(endpoint, "us-east-1", policy, org.arn)
    )
    assert (code, report["verdict"]) == (0, "ready"), report["findings"]
    describe = [f["severity"] for f in report["findings"] if f["code"] == "policy-describe"]
    assert describe == ["warning"]

    key = _key_with(endpoint, "us-west-2", policy, bucketkey.arn)
    code, report = _check_json(endpoint, "bucketkey-trail", key)
    assert (code, report["verdict"]) == (1, "blocked"), report["findings"]
    errors = {f["code"] for f in report["findings"] if f["severity"] == "error"}
    assert "policy-describe" in errors


def test_check_exit_codes(demo: Any) -> None:
    endpoint, estate = demo
    base = ("--endpoint-url", endpoint, "check", "--trail", "org-trail", "--key")
    assert _cli(*base, "alias/cloudtrail-good")[0] == 0
    assert _cli(*base, "alias/no-cloudtrail")[0] == 1
    shared = estate.keys["alias/shared-logs-key"]
    # its owner (log-archive) out of reach: unverifiable; through the role, read by its owner
    code, out, _ = _cli(*base, shared, "--role-name", "NoSuchRole")
    assert code == 3 and "verdict: UNVERIFIABLE" in out
    code, out, _ = _cli(*base, shared)
    assert code == 0 and "verdict: READY" in out
    code, _, err = _cli(*base)  # --key without a value: a usage error
    assert code == 2 and "Traceback" not in err


def test_the_issues_unreadable_bucket_is_unverifiable_through_the_cli(demo: Any) -> None:
    """partner-bucket-trail logs to account 444455556666's bucket in us-east-1, which the
    management account cannot read (the demo's 403 names no region); the key, with a complete
    CloudTrail policy, is in us-west-2. Before issue 12 this was `ready`."""
    endpoint, estate = demo
    key = estate.keys["alias/cloudtrail-good-usw2"]
    code, report = _check_json(endpoint, "partner-bucket-trail", key)
    assert (code, report["verdict"], report["ready"]) == (3, "unverifiable", False)
    codes = {f["code"] for f in report["findings"]}
    assert {"bucket-unreadable", "key-region-unverified"} <= codes
    assert report["bucket_region"] is None


def test_a_deleted_bucket_is_blocked_through_the_cli(demo: Any) -> None:
    endpoint, _ = demo
    code, report = _check_json(endpoint, "deleted-bucket-trail", "alias/cloudtrail-good")
    assert (code, report["verdict"]) == (1, "blocked")
    (finding,) = [f for f in report["findings"] if f["severity"] == "error"]
    assert finding["code"] == "bucket-not-found"
    assert finding["aws_error"] == "S3BucketDoesNotExistException"
    code, out, _ = _cli(
        "--endpoint-url", endpoint, "check", "--trail", "deleted-bucket-trail", "--key",
        "alias/cloudtrail-good",
    )  # fmt: skip
    assert code == 1 and "(does not exist)" in out and "in None" not in out


def _trail_key(endpoint: str, trail: str) -> str | None:
    conn = Connection(endpoint_url=endpoint, region="us-east-1", workers=4)
    return Reader(conn).find_trail(trail).kms_key_id


def test_an_unverifiable_plan_is_sent_only_with_accept_unverifiable(
    demo_rw: Any, tmp_path: Any
) -> None:
    """A fresh user sent `update --trail partner-bucket-trail --key ... --yes` (verdict
    UNVERIFIABLE) with exit 0 and nothing said. Now it is refused (exit 3) unless the operator
    opts in with --accept-unverifiable; --yes alone is not that yes."""
    endpoint, estate = demo_rw
    key = estate.keys["alias/cloudtrail-good-usw2"]
    journal = tmp_path / "j.jsonl"
    base = ("--endpoint-url", endpoint, "update", "--trail", "partner-bucket-trail", "--key", key)
    base += ("--journal", str(journal))

    code, out, err = _cli(*base, "--dry-run", "--format", "json")
    assert code == 3
    assert [p["verdict"] for p in json.loads(out)["plans"]] == ["unverifiable"]

    code, out, err = _cli(*base, "--yes")
    assert code == 3, err
    assert "UNVERIFIABLE" in err and "--accept-unverifiable" in err
    assert _trail_key(endpoint, "partner-bucket-trail") is None and not journal.exists()

    code, out, err = _cli(*base, "--yes", "--accept-unverifiable")
    assert code == 0, err
    assert "sending anyway" in err
    assert _trail_key(endpoint, "partner-bucket-trail") == key


def test_accept_unverifiable_is_not_an_option_of_policy_or_check(demo: Any) -> None:
    endpoint, _ = demo
    for command in ("check", "policy"):
        code, _, err = _cli(
            "--endpoint-url", endpoint, command, "--trail", "org-trail", "--key",
            "alias/cloudtrail-good", "--accept-unverifiable",
        )  # fmt: skip
        assert code == 2 and "unrecognized arguments" in err


def test_nothing_to_do_is_not_blocked(demo: Any) -> None:
    """`disable` of an SSE-S3 trail whose bucket is gone: nothing to send, exit 0 (it said
    "BLOCKED (nothing to do)" and exited 1)."""
    endpoint, _ = demo
    code, out, err = _cli(
        "--endpoint-url", endpoint, "disable", "--trail", "deleted-bucket-trail", "--dry-run",
        "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    (plan,) = json.loads(out)["plans"]
    assert plan["nothing_to_do"] and not plan["blocked"]


def test_a_deleted_bucket_is_one_sentence_in_the_inventory_and_the_check(demo: Any) -> None:
    """One fact, one wording: the finding repeats what the reader recorded (which call S3
    answered, and how), not a second, different account of it."""
    endpoint, estate = demo
    conn = Connection(endpoint_url=endpoint, region="us-east-1", workers=4)
    said = Reader(conn).find_trail("deleted-bucket-trail").bucket
    assert said is not None and said.error == (
        "The bucket tk-deleted-logs-use1 does not exist (S3 answered 404 to HeadBucket)."
    )
    key = str(estate.keys["alias/cloudtrail-good"])
    _, report = _check_json(endpoint, "deleted-bucket-trail", key)
    (finding,) = [f for f in report["findings"] if f["code"] == "bucket-not-found"]
    assert finding["message"].startswith(said.error + " CloudTrail would answer ")
    assert "NoSuchBucket" not in finding["message"]


def test_an_unknown_bucket_region_says_to_read_the_region_before_the_policy(demo: Any) -> None:
    """partner-bucket-trail: the bucket policy was never asked for (it is read in the bucket's
    region, which is unknown), so s3:GetBucketPolicy alone would not help: the fix names the
    region read first, and the other account's bucket policy."""
    endpoint, estate = demo
    key = str(estate.keys["alias/cloudtrail-good"])
    code, report = _check_json(endpoint, "partner-bucket-trail", key)
    assert (code, report["verdict"]) == (3, "unverifiable")
    (finding,) = [f for f in report["findings"] if f["code"] == "bucket-policy-unverified"]
    assert "not read: the bucket's region is unknown" in finding["message"]
    fix = finding["remedy"]
    assert fix.startswith(
        "let this caller read the bucket's region (s3:ListBucket for HeadBucket, or "
        "s3:GetBucketLocation) and then its policy (s3:GetBucketPolicy) on "
        "arn:aws:s3:::tk-partner-logs-use1 (a bucket of another account must allow both in its "
        "bucket policy), or have the bucket's owner confirm"
    )
