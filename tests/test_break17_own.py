"""Defects found by trying issue 17's ownership findings (`managed-by`, `controltower-key`) and
`trailkit snippet` as a new operator would, on the demo estate. Each test fails until its defect
is fixed; its docstring says what was done, what happened and what should happen."""

from __future__ import annotations

import argparse
import io
import json
import re
from typing import Any

import pytest

from trailkit.aws.session import Connection
from trailkit.change.journal import Journal
from trailkit.demo.estate import cloudtrail_key_policy
from trailkit.runbook import Runbook
from trailkit.ui import cli
from trailkit.ui.cli import main

CT_TRAIL = "arn:aws:cloudtrail:us-east-1:666677778888:trail/aws-controltower-BaselineCloudTrail"
CT_ROLE = ("--role-name", "AWSControlTowerExecution")
PROD_TRAIL = "arn:aws:cloudtrail:us-east-1:333344445555:trail/prod-trail"


def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


# -- snippet -----------------------------------------------------------------------------------
def test_snippet_cloudformation_declares_a_replica_key_as_a_replica_key(demo: Any) -> None:
    """Did: `trailkit snippet --trail bucketkey-trail --key <alias/multi-region-good's us-west-2
    replica ARN> --format cloudformation` (the replica's policy needs the Bucket Key Decrypt
    statement, so the fragment carries the key resource with its `KeyPolicy`).
    Happened: the key resource is `"Type": "AWS::KMS::Key"` with no `MultiRegion`, i.e. a new
    single-Region key; an operator pasting it over the stack's replica (an
    `AWS::KMS::ReplicaKey`) changes the resource type, which CloudFormation can only do by
    replacing the key (the trail's key would be a different key). cfn-lint cannot see this.
    Expected: a replica is written as `AWS::KMS::ReplicaKey` (with `PrimaryKeyArn`); a
    multi-Region primary as `AWS::KMS::Key` with `"MultiRegion": true`."""
    endpoint, estate = demo
    replica = estate.replica_keys["alias/multi-region-good"]
    assert ":us-west-2:" in replica
    code, out, err = _cli(
        "--endpoint-url", endpoint, "snippet", "--trail", "bucketkey-trail", "--key", replica,
        "--format", "cloudformation",
    )  # fmt: skip
    assert code == 0, err
    kms = [r for r in json.loads(out).values() if r["Type"].startswith("AWS::KMS::")]
    assert kms, out  # the statement to add is there, so the key resource is there
    (key,) = kms
    assert key["Type"] == "AWS::KMS::ReplicaKey", key["Type"]
    assert key["Properties"].get("PrimaryKeyArn") == estate.keys["alias/multi-region-good"]


def test_snippet_refuses_a_disabled_key_that_the_trail_already_uses(demo: Any) -> None:
    """Did: `trailkit snippet --trail stale-key-trail --key alias/cloudtrail-disabled --format
    cloudformation` (the trail's own key, Disabled).
    Happened: exit 0 and a fragment putting the Disabled key in `KMSKeyId`, with only the note
    "already lets CloudTrail use the key: nothing to add" -- while `trailkit check` on the same
    trail and key answers BLOCKED (`key-state` error) and `snippet` for the same key on another
    trail (pinned-key-trail) refuses with `key-state`.
    Expected: the same refusal (exit 1, nothing on stdout, `key-state` named on stderr), as the
    help says: "1 the change is blocked"."""
    endpoint, _estate = demo
    argv = ("--trail", "stale-key-trail", "--key", "alias/cloudtrail-disabled")
    code, out, _err = _cli("--endpoint-url", endpoint, "check", *argv, "--format", "json")
    assert "key-state" in [f["code"] for f in json.loads(out)["findings"]]  # check blocks it
    code, out, err = _cli("--endpoint-url", endpoint, "snippet", *argv, "--format", "terraform")
    assert (code, out) == (1, ""), (code, out)
    assert "key-state" in err


def test_controltower_trail_on_its_multi_region_key_gets_controltower_key_in_check_and_snippet(
    demo: Any,
) -> None:
    """Did: on the demo, the sandbox's `aws-controltower-BaselineCloudTrail` is on the
    multi-Region key alias/aws-controltower-mrk. `trailkit explain --trail <CT trail> --role-name
    AWSControlTowerExecution` reports `controltower-key` (error) for it; then `trailkit check
    --trail <CT trail> --key alias/aws-controltower-mrk --role-name AWSControlTowerExecution`
    and `trailkit snippet ... --format cloudformation`.
    Happened: check answers READY with only `digest-files` and `already-using-key` (no
    `controltower-key`, not even `managed-by`); snippet exits 0 and writes an
    `AWS::CloudTrail::Trail` with the multi-Region key in `KMSKeyId`.
    Expected: check says what explain says (`controltower-key` error, verdict blocked, exit 1),
    and snippet refuses (exit 1, nothing on stdout) as it does for another multi-Region key."""
    endpoint, _estate = demo
    code, out, _err = _cli(
        "--endpoint-url", endpoint, "explain", "--trail", CT_TRAIL, *CT_ROLE, "--format", "json"
    )
    explained = [f["code"] for f in json.loads(out)["ownership"]["findings"]]
    assert "controltower-key" in explained  # explain sees it
    argv = ("--trail", CT_TRAIL, "--key", "alias/aws-controltower-mrk", *CT_ROLE)
    code, out, _err = _cli("--endpoint-url", endpoint, "check", *argv, "--format", "json")
    checked = [f["code"] for f in json.loads(out)["findings"]]
    assert "controltower-key" in checked, checked
    assert code == 1
    code, out, err = _cli(
        "--endpoint-url", endpoint, "snippet", *argv, "--format", "cloudformation"
    )
    assert (code, out) == (1, ""), (code, out)
    assert "controltower-key" in err


def test_snippet_notes_name_the_owner_by_its_label_not_the_internal_tool_id(demo: Any) -> None:
    """Did: `trailkit snippet --trail <prod-trail ARN> --key alias/prod-logs --format
    cloudformation` (prod-trail and its key are tagged as CloudFormation stack
    workload-prod-logging), and the same for the Control Tower trail with a single-Region key.
    Happened: the notes (stderr and the fragment's Metadata/comments) say "The trail is deployed
    by cloudformation (workload-prod-logging)" and "deployed by controltower (StackSet-...)":
    the internal tool id, also untranslated in `--lang ja` ("cloudformation (...) がデプロイ"),
    while check/explain/inventory say "CloudFormation stack workload-prod-logging" and
    "AWS Control Tower (...)" (`Owner.label`).
    Expected: the notes name the owner by its label, as every other view does."""
    endpoint, _estate = demo
    code, out, err = _cli(
        "--endpoint-url", endpoint, "snippet", "--trail", PROD_TRAIL, "--key", "alias/prod-logs",
        "--format", "cloudformation",
    )  # fmt: skip
    assert code == 0, err
    assert "CloudFormation stack workload-prod-logging" in err, err
    assert "by cloudformation" not in err and "by cloudformation" not in out


def test_snippet_refusal_has_no_doubled_full_stops(demo: Any) -> None:
    """Did: `trailkit snippet --trail pinned-key-trail --key alias/pending-deletion --format
    cloudformation` (blocked by `key-state` and `bucket-policy-denies-delivery`).
    Happened: the refusal glues whole finding messages with "; " and ". ", giving "...an Enabled
    key.; bucket-policy-denies-delivery: ..." and "...LatestDeliveryError).. No code was
    written." (same with the Control Tower trail: "it is a multi-Region key.. No code").
    Expected: one sentence end each time (no ".." and no ".;")."""
    endpoint, _estate = demo
    code, out, err = _cli(
        "--endpoint-url", endpoint, "snippet", "--trail", "pinned-key-trail", "--key",
        "alias/pending-deletion", "--format", "cloudformation",
    )  # fmt: skip
    assert code == 1 and out == ""
    refusal = err.split("refused:", 1)[1]
    assert not re.search(r"\.\.(?!\.)|\.;", refusal), refusal


# -- managed-by --------------------------------------------------------------------------------
def test_managed_by_on_the_controltower_trail_says_the_key_owner_and_consequence_once(
    demo: Any,
) -> None:
    """Did: `trailkit explain --trail <CT trail> --role-name AWSControlTowerExecution` (and
    `check` with alias/ct-single-like keys shows the same `managed-by` text).
    Happened: the `managed-by` message names the Control Tower key twice and says the same
    consequence twice: "... is managed by AWS Control Tower (StackSet-...), AWS Control Tower
    (alias/aws-controltower-mrk). The key alias/aws-controltower-mrk is managed by AWS Control
    Tower (alias/aws-controltower-mrk). AWS Control Tower (StackSet-...): Control Tower reports
    drift, and repairing or updating the landing zone puts its own setting back. AWS Control
    Tower (alias/aws-controltower-mrk): Control Tower reports drift, and repairing ...".
    Expected: each owner named once, and Control Tower's consequence said once."""
    endpoint, _estate = demo
    _code, out, _err = _cli(
        "--endpoint-url", endpoint, "explain", "--trail", CT_TRAIL, *CT_ROLE, "--format", "json"
    )
    found = {f["code"]: f for f in json.loads(out)["ownership"]["findings"]}
    message = found["managed-by"]["message"]
    assert message.count("Control Tower reports drift") == 1, message
    assert message.count("AWS Control Tower (alias/aws-controltower-mrk)") <= 1, message


# -- the real AWS confirmation ------------------------------------------------------------------
ACCOUNT = "123456789012"
REGION = "us-east-1"


def _journal(tmp_path: Any) -> Journal:
    return Journal(tmp_path / "journal.jsonl")


def _key(conn: Connection, alias: str, tags: Any = (), policy: Any = None) -> str:
    kms = conn.client("kms", REGION)
    meta = kms.create_key(
        Policy=json.dumps(policy or cloudtrail_key_policy(ACCOUNT, region=REGION)),
        Tags=[{"TagKey": k, "TagValue": v} for k, v in tags],
    )["KeyMetadata"]
    kms.create_alias(AliasName=alias, TargetKeyId=meta["KeyId"])
    return str(meta["Arn"])


def _plain_trail(conn: Connection, name: str) -> str:
    from trailkit.demo.estate import cloudtrail_bucket_policy

    bucket = f"{name}-logs"
    arn = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/{name}"
    s3 = conn.client("s3", REGION)
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_policy(
        Bucket=bucket, Policy=json.dumps(cloudtrail_bucket_policy(bucket, ACCOUNT, arn))
    )
    ct = conn.client("cloudtrail", REGION)
    ct.create_trail(Name=name, S3BucketName=bucket)
    ct.start_logging(Name=name)
    return arn


def test_confirmation_note_does_not_say_the_trail_is_managed_when_only_the_key_is(
    conn: Connection, tmp_path: Any
) -> None:
    """Did: a plain, untagged trail and a key tagged `ManagedBy=terraform`; planned the switch
    (`Runbook.plan_for`) and built the real AWS confirmation's notes (`cli._owner_notes`, what
    `_confirm` prints before "type the trail name").
    Happened: the note reads "plain-trail is managed by Terraform (...); the next deployment may
    put it back." -- the *target key's* owner is put on the trail (`owners(trail, plan.report.key)`
    mixes the key's owners in), while `check` rightly says "The key ... is managed by ...".
    Expected: the note names the trail only for the trail's owners, and says that the key is the
    one managed by Terraform."""
    _plain_trail(conn, "plain-trail")
    _key(conn, "alias/tf", tags=[("ManagedBy", "terraform")])
    plan = Runbook(conn, _journal(tmp_path)).plan_for("plain-trail", "alias/tf")
    notes = cli._owner_notes([plan], argparse.Namespace(yes=False, owner_tags=[]))
    assert notes, "the key's owner should be named before the question"
    assert not any(n.startswith("plain-trail is managed by") for n in notes), notes


def test_policy_replace_confirmation_names_the_key_owner(
    conn: Connection, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Did: a key tagged as CloudFormation stack `keys-stack` whose policy lacks CloudTrail's
    statements, and `trailkit policy --trail plain-trail --key alias/cfn-key --apply`; captured
    what `_confirm` is given (the real AWS question prints its `notes` first).
    Happened: `policy --apply` calls `_confirm(args, conn, "replace-policy", [key], err)` without
    notes: on real AWS the typed confirmation to *replace a key policy* does not name the stack
    that owns the key -- the very case of the issue ("a Customizations-for-Control-Tower run
    overwrote a key policy and all CloudTrail logs stopped arriving").
    Expected: the confirmation names the key's owner (CloudFormation stack keys-stack), as
    `update`'s does for the trail's."""
    _plain_trail(conn, "plain-trail")
    root = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Root",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    }
    _key(conn, "alias/cfn-key", tags=[("aws:cloudformation:stack-name", "keys-stack")], policy=root)
    seen: list[dict[str, Any]] = []

    def confirm(args: Any, conn_: Any, action: str, names: Any, err: Any, **kw: Any) -> bool:
        seen.append({"action": action, "names": names, **kw})
        return False

    monkeypatch.setattr(cli, "_confirm", confirm)
    monkeypatch.setenv("TRAILKIT_JOURNAL", str(tmp_path / "j.jsonl"))
    code, _out, err = _cli(
        "--endpoint-url", conn.endpoint_url or "", "policy", "--trail", "plain-trail", "--key",
        "alias/cfn-key", "--apply",
    )  # fmt: skip
    assert seen, (code, err)
    (asked,) = seen
    assert asked["action"] == "replace-policy"
    assert any("keys-stack" in n for n in asked.get("notes", ())), asked


def test_managed_by_remedy_does_not_send_a_pulumi_trail_to_cloudformation(
    conn: Connection,
) -> None:
    """Did: a trail tagged `ManagedBy=pulumi` (named "managed by pulumi (ManagedBy=pulumi)"), and
    `trailkit check --trail pulumi-trail --key alias/new --format json`.
    Happened: the `managed-by` remedy says "change the template or code instead: `trailkit
    snippet ... --format cloudformation` writes the change for it" -- `snippet_format` falls back
    to CloudFormation for any tool that is not Terraform or CDK, so a Pulumi (or Ansible, ...)
    operator is told to write a CloudFormation template for a trail no stack owns.
    Expected: for a tool trailkit writes no code for, the remedy says to change that tool's code
    (the statements and key ARN from `trailkit policy` / the plan), without pointing at a
    CloudFormation snippet."""
    _key(conn, "alias/new")
    bucket = "pulumi-trail-logs"
    arn = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/pulumi-trail"
    from trailkit.demo.estate import cloudtrail_bucket_policy

    s3 = conn.client("s3", REGION)
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_policy(
        Bucket=bucket, Policy=json.dumps(cloudtrail_bucket_policy(bucket, ACCOUNT, arn))
    )
    conn.client("cloudtrail", REGION).create_trail(
        Name="pulumi-trail", S3BucketName=bucket, TagsList=[{"Key": "ManagedBy", "Value": "pulumi"}]
    )
    _code, out, err = _cli(
        "--endpoint-url", conn.endpoint_url or "", "check", "--trail", "pulumi-trail", "--key",
        "alias/new", "--format", "json",
    )  # fmt: skip
    found = {f["code"]: f for f in json.loads(out)["findings"]}
    assert "managed-by" in found, (out, err)
    assert "pulumi" in found["managed-by"]["message"].lower()
    assert "--format cloudformation" not in found["managed-by"]["remedy"], found["managed-by"]


# -- Japanese ------------------------------------------------------------------------------------
def test_japanese_snippet_owner_notes(demo: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The snippet's owner notes name the owner by its label, in Japanese in ``--lang ja``."""
    from english import assert_japanese

    from trailkit import i18n

    monkeypatch.setenv("COLUMNS", "400")
    endpoint, _estate = demo
    try:
        code, _out, err = _cli(
            "--lang", "ja", "--endpoint-url", endpoint, "snippet", "--trail", PROD_TRAIL,
            "--key", "alias/prod-logs", "--format", "terraform",
        )  # fmt: skip
        assert code == 0, err
        notes = err.split("\n", 2)[2]  # after the connection header's two lines
        assert "CloudFormation スタック workload-prod-logging" in notes
        assert_japanese(notes, ["workload-prod-logging", "alias/prod-logs", PROD_TRAIL])
    finally:
        i18n.set_language("en")


def test_japanese_key_owner_note_and_remedy(conn: Connection, tmp_path: Any) -> None:
    """The key's owner before the real AWS question, and the remedy for a tool trailkit writes
    no code for, are Japanese in ``--lang ja``."""
    from dataclasses import replace

    from english import assert_japanese

    from trailkit import i18n
    from trailkit.rules.ownership import ownership_findings

    _plain_trail(conn, "plain-trail")
    _key(conn, "alias/tf", tags=[("ManagedBy", "terraform")])
    plan = Runbook(conn, _journal(tmp_path)).plan_for("plain-trail", "alias/tf")
    try:
        i18n.set_language("ja")
        (note,) = cli._owner_notes([plan], argparse.Namespace(yes=False, owner_tags=[]))
        assert note.startswith("KMS キー alias/tf"), note
        assert_japanese(
            note, ["alias/tf", "ManagedBy", "terraform", "Terraform"], what="confirmation"
        )
        pulumi = replace(plan.trail, tags=(("ManagedBy", "pulumi"),))
        (finding,) = ownership_findings(pulumi, None, None)
        assert "pulumi" in finding.remedy and "--format" not in finding.remedy
        assert_japanese(
            finding.remedy,
            ["pulumi", "cloudformation", "terraform", "cdk", plan.trail.arn, "KEY"],
            what="remedy",
        )
    finally:
        i18n.set_language("en")
