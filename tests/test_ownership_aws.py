"""Who owns a trail and its key, read from AWS (issue 17): ``ListTags`` and
``ListResourceTags`` through the reader (moto for state, Stubber for the exact requests and
refusals), and what the commands show: check, explain, inventory, the real AWS confirmation."""

from __future__ import annotations

import argparse
import io
import json
from dataclasses import replace
from typing import Any

import pytest
from botocore.stub import Stubber
from conftest import fail_call
from english import assert_japanese

from trailkit import i18n
from trailkit.aws.reader import Reader
from trailkit.aws.session import Connection, ConnectionInfo
from trailkit.change.journal import Journal
from trailkit.demo.estate import cloudtrail_bucket_policy, cloudtrail_key_policy
from trailkit.records import KeyInfo, Trail
from trailkit.rules.ownership import CONTROL_TOWER_TRAIL
from trailkit.runbook import Runbook
from trailkit.ui import cli
from trailkit.ui.cli import main

ACCOUNT = "123456789012"
REGION = "us-east-1"
STACK = "workload-prod-logging"
STACK_ID = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{STACK}/6c3e0a10"
CFN_TRAIL_TAGS = [
    {"Key": "aws:cloudformation:stack-name", "Value": STACK},
    {"Key": "aws:cloudformation:stack-id", "Value": STACK_ID},
    {"Key": "aws:cloudformation:logical-id", "Value": "Trail"},
]


def _key(conn: Connection, alias: str, *, multi_region: bool = False, tags: Any = ()) -> str:
    kms = conn.client("kms", REGION)
    policy = cloudtrail_key_policy(ACCOUNT, region=REGION)
    meta = kms.create_key(
        Policy=json.dumps(policy),
        MultiRegion=multi_region,
        Tags=[{"TagKey": k, "TagValue": v} for k, v in tags],
    )["KeyMetadata"]
    kms.create_alias(AliasName=alias, TargetKeyId=meta["KeyId"])
    return str(meta["Arn"])


def _trail(
    conn: Connection, name: str, key: str | None, tags: list[dict[str, str]] | None = None
) -> str:
    bucket = f"{name.lower()}-logs"
    arn = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/{name}"
    s3 = conn.client("s3", REGION)
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_policy(
        Bucket=bucket, Policy=json.dumps(cloudtrail_bucket_policy(bucket, ACCOUNT, arn))
    )
    ct = conn.client("cloudtrail", REGION)
    kwargs: dict[str, Any] = {"Name": name, "S3BucketName": bucket, "TagsList": tags or []}
    if key:
        kwargs["KmsKeyId"] = key
    ct.create_trail(**kwargs)
    ct.start_logging(Name=name)
    return arn


@pytest.fixture
def owned(conn: Connection) -> dict[str, str]:
    """A CloudFormation trail on a Terraform key, a Control Tower trail, and new keys."""
    old = _key(conn, "alias/old", tags=[("ManagedBy", "terraform")])
    new = _key(conn, "alias/new")
    mrk = _key(conn, "alias/mrk", multi_region=True)
    cfn = _trail(conn, "cfn-trail", old, CFN_TRAIL_TAGS)
    ct = _trail(conn, CONTROL_TOWER_TRAIL, old)
    plain = _trail(conn, "plain-trail", None)
    return {"old": old, "new": new, "mrk": mrk, "cfn": cfn, "ct": ct, "plain": plain}


def _cli(conn: Connection, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["--endpoint-url", conn.endpoint_url or "", *argv], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_scan_reads_trail_and_key_tags_with_one_list_tags(
    conn: Connection, owned: dict[str, str]
) -> None:
    inv = Reader(conn).scan([REGION])
    trails = {t.name: t for t in inv.trails}
    assert trails["cfn-trail"].tag_map["aws:cloudformation:stack-name"] == STACK
    assert trails["plain-trail"].tags == () and trails["plain-trail"].tags_error is None
    assert inv.keys[owned["old"]].tags == (("ManagedBy", "terraform"),)
    # three trails of one home region: one ListTags; one key in use: one ListResourceTags
    assert inv.calls["cloudtrail:ListTags"] == 1
    assert inv.calls["kms:ListResourceTags"] == 1
    assert not inv.errors


def test_inventory_has_a_managed_by_column_and_field(
    conn: Connection, owned: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = _cli(conn, "inventory", "--regions", REGION, "--format", "json")
    assert code == 0, err
    rows = {r["name"]: r for r in json.loads(out)}
    assert rows["cfn-trail"]["managed_by"] == (
        f"CloudFormation stack {STACK}, Terraform (ManagedBy=terraform)"
    )
    assert rows[CONTROL_TOWER_TRAIL]["managed_by"].startswith("AWS Control Tower")
    assert rows["plain-trail"]["managed_by"] == ""
    code, out, err = _cli(conn, "inventory", "--regions", REGION, "--format", "csv")
    assert code == 0 and "managed_by" in out.splitlines()[0]
    monkeypatch.setenv("COLUMNS", "400")
    code, out, err = _cli(conn, "--workers", "4", "inventory", "--regions", REGION)
    assert code == 0, err
    assert "managed by" in out and f"CloudFormation stack {STACK}" in out
    monkeypatch.setenv("COLUMNS", "80")  # narrow: under the bucket
    code, out, err = _cli(conn, "inventory", "--regions", REGION)
    assert code == 0 and f"CloudFormation stack {STACK}" in out


def test_extra_owner_tag_is_taken(conn: Connection, owned: dict[str, str]) -> None:
    _trail(conn, "team-trail", None, [{"Key": "team:iac", "Value": "pulumi"}])
    argv = ("inventory", "--regions", REGION, "--format", "json")
    rows = {r["name"]: r for r in json.loads(_cli(conn, *argv)[1])}
    assert rows["team-trail"]["managed_by"] == ""
    rows = {r["name"]: r for r in json.loads(_cli(conn, *argv, "--owner-tag", "team:iac")[1])}
    assert rows["team-trail"]["managed_by"] == "pulumi (team:iac=pulumi)"
    code, _out, err = _cli(conn, *argv, "--owner-tag", " ")
    assert code == 2 and "--owner-tag" in err


def test_check_warns_managed_by_naming_the_stack(conn: Connection, owned: dict[str, str]) -> None:
    code, out, err = _cli(
        conn, "check", "--trail", "cfn-trail", "--key", "alias/new", "--format", "json"
    )
    report = json.loads(out)
    found = {f["code"]: f for f in report["findings"]}
    assert "managed-by" in found, report
    assert found["managed-by"]["severity"] == "warning"
    assert f"cfn-trail is managed by CloudFormation stack {STACK}" in found["managed-by"]["message"]
    assert "--format cloudformation" in found["managed-by"]["remedy"]
    assert code == 0, err  # a warning does not block


def test_control_tower_trail_with_a_multi_region_key_is_blocked(
    conn: Connection, owned: dict[str, str]
) -> None:
    argv = ("check", "--trail", CONTROL_TOWER_TRAIL, "--key", "alias/mrk", "--format", "json")
    code, out, _err = _cli(conn, *argv)
    found = {f["code"]: f for f in json.loads(out)["findings"]}
    assert found["controltower-key"]["severity"] == "error"
    assert "multi-Region" in found["controltower-key"]["message"]
    assert "landing zone" in found["controltower-key"]["remedy"]
    assert code == 1
    # a single-Region symmetric key: only the warning
    code, out, _err = _cli(conn, *argv[:4], "alias/new", "--format", "json")
    codes = [f["code"] for f in json.loads(out)["findings"]]
    assert "controltower-key" not in codes and "managed-by" in codes


def test_update_plan_is_blocked_and_sends_nothing(conn: Connection, owned: dict[str, str]) -> None:
    code, out, _err = _cli(
        conn, "update", "--trail", CONTROL_TOWER_TRAIL, "--key", "alias/mrk", "--yes"
    )
    assert code == 1 and "controltower-key" in out
    ct = conn.client("cloudtrail", REGION)
    trail = ct.get_trail(Name=CONTROL_TOWER_TRAIL)["Trail"]
    assert trail["KmsKeyId"] == owned["old"]  # nothing was sent


def test_explain_json_has_the_ownership(conn: Connection, owned: dict[str, str]) -> None:
    argv = ("explain", "--trail", "cfn-trail", "--no-history", "--format", "json")
    code, out, err = _cli(conn, *argv)
    assert code == 0, err
    own = json.loads(out)["ownership"]
    assert [(o["resource"], o["tool"], o["name"]) for o in own["owners"]] == [
        ("trail", "cloudformation", STACK),
        ("key", "terraform", "terraform"),
    ]
    assert own["owners"][0]["stack_id"] == STACK_ID
    assert own["owners"][0]["logical_id"] == "Trail"
    assert [f["code"] for f in own["findings"]] == ["managed-by"]
    code, out, err = _cli(conn, "explain", "--trail", "cfn-trail", "--no-history")
    assert code == 0, err
    assert "Managed by" in out and f"CloudFormation stack {STACK}" in out
    # the notebook's trail explorer shows the same section
    from trailkit.ui.widgets.explore import explanation_html

    html = explanation_html(Runbook(conn, _journal()).explain("cfn-trail", history=False))
    assert "Managed by" in html and f"CloudFormation stack {STACK}" in html
    assert 'class="tk-note tk-note-warn tk-ownership"' in html and "managed-by" in html


def test_refused_list_tags_is_the_trails_tags_error_not_a_crash(
    conn: Connection, owned: dict[str, str]
) -> None:
    fail_call(conn, "cloudtrail", "ListTags", message="not allowed")
    inv = Reader(conn).scan([REGION])
    for trail in inv.trails:
        assert trail.tags is None and "cloudtrail:ListTags" in (trail.tags_error or "")
    (error,) = [e for e in inv.errors if e.operation == "ListTags"]
    assert error.permission == "cloudtrail:ListTags"
    # explain shows it, and says the tags were not read
    book = Runbook(conn, _journal())
    ex = book.explain("cfn-trail", history=False)
    assert ex.ownership is not None and ex.ownership.trail_tags_error
    assert ex.ownership.as_dict()["trail_tags_error"] == ex.ownership.trail_tags_error
    # the Control Tower trail is still told by its name
    ct = book.explain(CONTROL_TOWER_TRAIL, history=False)
    assert ct.ownership is not None and ct.ownership.owners[0].tool == "controltower"


def _journal() -> Journal:
    import tempfile
    from pathlib import Path

    return Journal(Path(tempfile.mkdtemp()) / "journal.jsonl")


def _stub_connection() -> Connection:
    conn = Connection(endpoint_url="http://127.0.0.1:9", region=REGION, workers=1)
    conn._info = ConnectionInfo(
        account=ACCOUNT,
        caller_arn=f"arn:aws:iam::{ACCOUNT}:user/test",
        endpoint="stub",
        region=REGION,
        demo=False,
    )
    return conn


def _plain_trail(index: int, account: str = ACCOUNT) -> Trail:
    return Trail(
        name=f"t{index:02d}",
        arn=f"arn:aws:cloudtrail:{REGION}:{account}:trail/t{index:02d}",
        home_region=REGION,
        account=account,
        multi_region=False,
        organization=account != ACCOUNT,
        bucket_name="",
        s3_prefix=None,
        kms_key_id=None,
        log_file_validation=False,
    )


def test_list_tags_asks_twenty_arns_a_call_in_the_home_region_stubbed() -> None:
    conn = _stub_connection()
    reader = Reader(conn, workers=1)
    trails = [_plain_trail(i) for i in range(25)]
    client = conn.client("cloudtrail", REGION)
    with Stubber(client) as stub:
        for chunk in (trails[:20], trails[20:]):
            stub.add_response(
                "list_tags",
                {
                    "ResourceTagList": [
                        {"ResourceId": t.arn, "TagsList": [{"Key": "ManagedBy", "Value": t.name}]}
                        for t in chunk
                    ]
                },
                {"ResourceIdList": [t.arn for t in chunk]},
            )
        found = reader._start_tags(trails)
        tags = {arn: fut.result() for arn, fut in found.items()}
        stub.assert_no_pending_responses()
    assert tags[trails[24].arn] == ((("ManagedBy", "t24"),), None)
    # read once: asked again, no call
    assert reader.trail_tags(trails[3]).tags == (("ManagedBy", "t03"),)


def test_another_accounts_trail_is_asked_alone_and_its_refusal_is_not_a_scan_error() -> None:
    conn = _stub_connection()
    reader = Reader(conn, workers=1)
    org_trail = _plain_trail(1, account="999988887777")
    client = conn.client("cloudtrail", REGION)
    with Stubber(client) as stub:
        stub.add_client_error(
            "list_tags",
            service_error_code="CloudTrailARNInvalidException",
            service_message="not of this account",
            expected_params={"ResourceIdList": [org_trail.arn]},
        )
        trail = reader.trail_tags(org_trail)
        stub.assert_no_pending_responses()
    assert trail.tags is None and "not of this account" in (trail.tags_error or "")
    assert reader.errors == []


def test_list_resource_tags_all_pages_only_for_the_accounts_keys_stubbed() -> None:
    conn = _stub_connection()
    reader = Reader(conn, workers=1)
    arn = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/k1"
    key = KeyInfo(arn=arn, key_id="k1", account=ACCOUNT, region=REGION, manager="CUSTOMER")
    client = conn.client("kms", REGION)
    with Stubber(client) as stub:
        stub.add_response(
            "list_resource_tags",
            {"Tags": [{"TagKey": "a", "TagValue": "1"}], "Truncated": True, "NextMarker": "m"},
            {"KeyId": arn},
        )
        stub.add_response(
            "list_resource_tags",
            {"Tags": [{"TagKey": "ManagedBy", "TagValue": "cdk"}], "Truncated": False},
            {"KeyId": arn, "Marker": "m"},
        )
        tagged = reader.key_tags(key)
        # another account's key and an AWS managed key: no call
        other = replace(key, arn=arn.replace(ACCOUNT, "999988887777"), account="999988887777")
        assert reader.key_tags(other).tags is None
        assert reader.key_tags(replace(key, manager="AWS")).tags is None
        stub.assert_no_pending_responses()
    assert tagged.tags == (("a", "1"), ("ManagedBy", "cdk"))


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


class _RealAws:
    """A connection that says it is real AWS (nothing is sent: only its identity is read)."""

    def info(self) -> ConnectionInfo:
        return ConnectionInfo(
            account=ACCOUNT,
            caller_arn=f"arn:aws:iam::{ACCOUNT}:user/ops",
            endpoint="https://cloudtrail.us-east-1.amazonaws.com",
            region=REGION,
            demo=False,
        )


def test_real_aws_confirmation_names_the_owner(
    conn: Connection, owned: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    book = Runbook(conn, _journal())
    plan = book.plan_for("cfn-trail", "alias/new")
    args = argparse.Namespace(yes=False, owner_tags=[])
    notes = cli._owner_notes([plan], args)
    assert notes == [
        f"cfn-trail is managed by CloudFormation stack {STACK}; the next deployment may put it "
        "back."
    ]
    monkeypatch.setattr("sys.stdin", _Tty("cfn-trail\n"))
    err = io.StringIO()
    assert cli._confirm(args, _RealAws(), "apply", ["cfn-trail"], err, notes=notes) is True
    said = err.getvalue()
    assert said.index("is managed by CloudFormation stack") < said.index("type the trail name")
    # in Japanese too (the answer to type is the same)
    try:
        i18n.set_language("ja")
        (note,) = cli._owner_notes([plan], args)
        assert f"CloudFormation スタック {STACK}" in note
        assert_japanese(note, ["cfn-trail", STACK], what="confirmation")
    finally:
        i18n.set_language("en")
    # the answer to type did not change
    monkeypatch.setattr("sys.stdin", _Tty("yes\n"))
    assert cli._confirm(args, _RealAws(), "apply", ["cfn-trail"], io.StringIO(), notes=notes) is (
        False
    )


def test_japanese_check_and_explain(
    conn: Connection, owned: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "400")  # commands in backticks stay on one line
    try:
        code, out, _err = _cli(
            conn, "--lang", "ja", "check", "--trail", CONTROL_TOWER_TRAIL, "--key", "alias/mrk"
        )
        assert code == 1
        assert "controltower-key" in out and "ランディングゾーン" in out
        assert_japanese(
            out,
            [CONTROL_TOWER_TRAIL, "alias/mrk", "alias/old", ACCOUNT, REGION],
            what="check",
        )
        code, out, _err = _cli(
            conn, "--lang", "ja", "explain", "--trail", "cfn-trail", "--no-history"
        )
        assert code == 0
        section = out.split("管理ツール")[1].split("\n\n")[0]
        assert f"CloudFormation スタック {STACK}" in section
        assert_japanese(
            section, [STACK, "cfn-trail", "ManagedBy", "terraform", "Terraform"], what="explain"
        )
    finally:
        i18n.set_language("en")
