"""``trailkit snippet``: the change as code, checked by the tools that read it.

Pure tests build plans and repairs from records (no AWS) and read each format back with its own
parser: the CloudFormation fragment, wrapped in a minimal template, passes cfn-lint (its Python
API); the Terraform fragment parses with python-hcl2 and its ``statement`` blocks are the
repair's statements; the CDK Python parses with :mod:`ast` and the ``PolicyStatement`` arguments
are the repair's statements. The command-line tests run on the demo estate and compare with
``trailkit policy --format json``.
"""

from __future__ import annotations

import ast
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import hcl2
import pytest
from cfnlint.api import ManualArgs, lint
from english import assert_japanese
from hcl2 import SerializationOptions

from trailkit import i18n
from trailkit.errors import InputError
from trailkit.records import BucketInfo, KeyInfo, Trail, TrailStatus
from trailkit.rules.checks import KeyLookup, preflight
from trailkit.rules.keyids import parse_key_id
from trailkit.rules.plan import Plan, plan_change
from trailkit.rules.repair import Repair, plan_repair
from trailkit.rules.snippet import FORMATS, LANGUAGES, blocking, snippet
from trailkit.ui.cli import SNIPPET_FORMATS, main

ACCOUNT = "111122223333"
TRAIL_ARN = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/audit-trail"
KEY_ARN = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ROOT = {
    "Sid": "Enable IAM User Permissions",
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
    "Action": "kms:*",
    "Resource": "*",
}
# Text that HCL and Python must not read as code: a policy variable (an HCL template
# sequence), a directive, quotes, a backslash, a control character and non-ASCII text.
AWKWARD = {
    "Sid": 'Users "own" \\ keys\tおのおの',
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
    "Action": ["kms:Decrypt"],
    "Resource": "*",
    "Condition": {"StringEquals": {"aws:username": ["${aws:username}", "%{ if x }\x01"]}},
}


def _trail(**kw: Any) -> Trail:
    base = Trail(
        name="audit-trail",
        arn=TRAIL_ARN,
        home_region="us-east-1",
        account=ACCOUNT,
        multi_region=True,
        organization=False,
        bucket_name="audit-logs-111122223333",
        s3_prefix="audit",
        kms_key_id=None,
        log_file_validation=True,
        status=TrailStatus(is_logging=True),
        bucket=BucketInfo(name="audit-logs-111122223333", region="us-east-1", bucket_key=False),
    )
    return replace(base, **kw)


def _key(statements: list[dict[str, Any]], **kw: Any) -> KeyInfo:
    base = KeyInfo(
        arn=KEY_ARN,
        key_id=KEY_ARN.rsplit("/", 1)[1],
        account=ACCOUNT,
        region="us-east-1",
        aliases=("alias/audit-logs",),
        state="Enabled",
        key_spec="SYMMETRIC_DEFAULT",
        key_usage="ENCRYPT_DECRYPT",
        manager="CUSTOMER",
        policy=json.dumps({"Version": "2012-10-17", "Statement": statements}),
    )
    return replace(base, **kw)


def _plan(trail: Trail, key: KeyInfo) -> Plan:
    report = preflight(
        trail=trail,
        trail_input=trail.arn,
        key_input=key.arn,
        lookup=KeyLookup(ref=parse_key_id(key.arn), key=key),
        caller_account=ACCOUNT,
    )
    return plan_change(report)


def _case(name: str) -> tuple[Plan, Repair]:
    """Named cases: what the repair adds differs in each."""
    trail, readers = _trail(), ()
    statements = [ROOT]
    if name == "bucket-key":  # GenerateDataKey*, DescribeKey and Decrypt for an S3 Bucket Key
        trail = _trail(bucket=BucketInfo(name="b", region="us-east-1", bucket_key=True))
    elif name == "readers":  # a list of AWS principals
        readers = (f"arn:aws:iam::{ACCOUNT}:role/Auditor", "444455556666")
    elif name == "awkward":
        statements = [ROOT, AWKWARD]
    key = _key(statements)
    return _plan(trail, key), plan_repair(key, [trail], readers=readers)


CASES = ["root-only", "bucket-key", "readers", "awkward"]


def _norm(statement: dict[str, Any]) -> dict[str, Any]:
    """A statement with every single value as a one-item list (IAM reads both the same)."""

    def listed(v: Any) -> list[Any]:
        return v if isinstance(v, list) else [v]

    out: dict[str, Any] = {}
    for field, value in statement.items():
        if field in ("Principal", "NotPrincipal"):
            out[field] = value if value == "*" else {k: listed(v) for k, v in value.items()}
        elif field == "Condition":
            out[field] = {
                test: {var: listed(v) for var, v in by.items()} for test, by in value.items()
            }
        elif field in ("Action", "NotAction", "Resource", "NotResource"):
            out[field] = listed(value)
        else:
            out[field] = value
    return out


# -- CloudFormation ----------------------------------------------------------------------------
#: cfn-lint runs every rule, informational ones included (``include_checks=["I"]``): none is
#: left out. I3011 (a stateful resource without DeletionPolicy / UpdateReplacePolicy) is why the
#: key is written with ``Retain``: the key holds the logs' data keys.


def _cfn_lint(fragment: dict[str, Any], region: str) -> list[str]:
    template = {"AWSTemplateFormatVersion": "2010-09-09", "Resources": fragment}
    config = ManualArgs(regions=[region], include_checks=["I"])
    return [f"{m.rule.id}: {m.message}" for m in lint(json.dumps(template), config=config)]


@pytest.mark.parametrize("name", CASES)
def test_cloudformation_fragment_passes_cfn_lint_and_carries_the_plan_and_repair(
    name: str,
) -> None:
    plan, repair = _case(name)
    made = snippet(plan, repair, fmt="cloudformation")
    fragment = json.loads(made.text)
    assert _cfn_lint(fragment, "us-east-1") == []
    trail = fragment["AuditTrail"]
    assert trail["Type"] == "AWS::CloudTrail::Trail"
    assert trail["Properties"] == {
        "TrailName": "audit-trail",
        "S3BucketName": "audit-logs-111122223333",
        "S3KeyPrefix": "audit",
        "IsLogging": True,
        "IsMultiRegionTrail": True,
        "IsOrganizationTrail": False,
        "EnableLogFileValidation": True,
        "KMSKeyId": plan.request["KmsKeyId"],
    }
    key = fragment["AuditLogsKey"]
    assert key["Type"] == "AWS::KMS::Key"
    # KeyPolicy replaces the whole policy: the current one with the added statements, exactly.
    assert key["Properties"]["KeyPolicy"] == repair.repaired
    assert key["Properties"]["KeyPolicy"]["Statement"][-len(repair.added) :] == list(repair.added)
    assert key["Metadata"]["trailkit"]["key_arn"] == KEY_ARN
    assert made.statements == repair.added and made.key_arn == KEY_ARN == plan.after_key
    assert any("`KeyPolicy` replaces the whole key policy" in n for n in made.notes)


def test_cfn_lint_catches_a_broken_fragment() -> None:
    """The validation can fail: a trail without its required IsLogging is an error, a key
    without DeletionPolicy an informational finding (so those rules do run)."""
    plan, repair = _case("root-only")
    fragment = json.loads(snippet(plan, repair, fmt="cloudformation").text)
    del fragment["AuditTrail"]["Properties"]["IsLogging"]
    del fragment["AuditLogsKey"]["DeletionPolicy"]
    found = {line.split(":")[0] for line in _cfn_lint(fragment, "us-east-1")}
    assert {"E3003", "I3011"} <= found


def test_a_trail_that_is_not_logging_stays_off_and_an_unknown_status_is_said() -> None:
    plan, repair = _case("root-only")
    stopped = replace(plan, trail=replace(plan.trail, status=TrailStatus(is_logging=False)))
    props = json.loads(snippet(stopped, repair, fmt="cloudformation").text)["AuditTrail"]
    assert props["Properties"]["IsLogging"] is False
    unknown = replace(plan, trail=replace(plan.trail, status=None))
    made = snippet(unknown, repair, fmt="terraform")
    assert "enable_logging             = true" in made.text
    assert any("could not be read" in n for n in made.notes)


@pytest.mark.parametrize(
    ("role", "kind", "extra"),
    [
        # a stack declares a replica as AWS::KMS::ReplicaKey: written as AWS::KMS::Key,
        # CloudFormation would replace it with a new single-Region key
        ("REPLICA", "AWS::KMS::ReplicaKey", {"PrimaryKeyArn": "PRIMARY"}),
        ("PRIMARY", "AWS::KMS::Key", {"MultiRegion": True}),
    ],
)
def test_cloudformation_declares_a_multi_region_key_as_its_own_kind(
    role: str, kind: str, extra: dict[str, Any]
) -> None:
    plan, repair = _case("root-only")
    primary = f"arn:aws:kms:us-west-2:{ACCOUNT}:key/mrk-1"
    key = replace(repair.key, multi_region=True, multi_region_role=role, primary_arn=primary)
    made = snippet(plan, replace(repair, key=key), fmt="cloudformation")
    fragment = json.loads(made.text)
    (resource,) = [r for r in fragment.values() if r["Type"].startswith("AWS::KMS::")]
    assert resource["Type"] == kind
    want = {k: primary if v == "PRIMARY" else v for k, v in extra.items()}
    assert resource["Properties"] == {**want, "KeyPolicy": repair.repaired}
    assert _cfn_lint(fragment, "us-east-1") == []


# -- Terraform ---------------------------------------------------------------------------------
def _hcl(text: str) -> dict[str, Any]:
    options = SerializationOptions(
        strip_string_quotes=True, with_comments=False, explicit_blocks=False
    )
    return hcl2.loads(text, serialization_options=options)


def _unhcl(text: str) -> str:
    """An HCL quoted string's content as the value Terraform reads (escapes, ``$${``)."""
    return str(json.loads(f'"{text}"')).replace("$${", "${").replace("%%{", "%{")


def _hcl_statement(block: dict[str, Any]) -> dict[str, Any]:
    """One ``statement`` block as IAM JSON (every value a list, as :func:`_norm` makes it)."""
    out: dict[str, Any] = {"Sid": _unhcl(block["sid"]), "Effect": _unhcl(block["effect"])}
    out["Principal"] = {
        _unhcl(p["type"]): [_unhcl(i) for i in p["identifiers"]] for p in block["principals"]
    }
    out["Action"] = [_unhcl(a) for a in block["actions"]]
    out["Resource"] = [_unhcl(r) for r in block["resources"]]
    if "condition" in block:
        condition: dict[str, dict[str, list[str]]] = {}
        for c in block["condition"]:
            values = [_unhcl(v) for v in c["values"]]
            condition.setdefault(_unhcl(c["test"]), {})[_unhcl(c["variable"])] = values
        out["Condition"] = condition
    return out


@pytest.mark.parametrize("name", CASES)
def test_terraform_parses_and_its_statements_are_the_repairs(name: str) -> None:
    plan, repair = _case(name)
    made = snippet(plan, repair, fmt="terraform")
    parsed = _hcl(made.text)
    trail = parsed["resource"][0]["aws_cloudtrail"]["audit_trail"]
    assert _unhcl(trail["kms_key_id"]) == plan.request["KmsKeyId"]
    assert (trail["is_multi_region_trail"], trail["enable_log_file_validation"]) == (True, True)
    assert _unhcl(trail["s3_key_prefix"]) == "audit"
    document = parsed["data"][0]["aws_iam_policy_document"]["audit_logs_key"]
    statements = document["statement"]
    statements = statements if isinstance(statements, list) else [statements]
    assert [_hcl_statement(b) for b in statements] == [_norm(s) for s in repair.added]
    policy = parsed["resource"][1]["aws_kms_key_policy"]["audit_logs_key"]
    assert _unhcl(policy["key_id"]) == KEY_ARN
    assert policy["policy"] == "${data.aws_iam_policy_document.audit_logs_key.json}"
    # source_policy_documents holds the current policy: python-hcl2 gives jsonencode(...) back
    # as an expression, so its argument is read from the text (written as JSON, HCL-escaped)
    # and parsed checks it is that expression.
    assert document["source_policy_documents"][0].startswith("${jsonencode(")
    argument = re.search(r"jsonencode\((\{.*?\n  \})\)\]", made.text, re.S)
    assert argument is not None
    source = argument.group(1).replace("$${", "${").replace("%%{", "%{")
    assert json.loads(source) == repair.original


def test_terraform_escapes_template_sequences() -> None:
    """A policy variable in the current policy is not an HCL interpolation."""
    plan, repair = _case("awkward")
    text = snippet(plan, repair, fmt="terraform").text
    assert "$${aws:username}" in text and "%%{ if x }" in text
    assert "\\u0001" in text


# -- CDK Python --------------------------------------------------------------------------------
def _literal(node: ast.expr) -> Any:
    return ast.literal_eval(node)


def _cdk_principals(node: ast.expr) -> Any:
    assert isinstance(node, ast.List)
    kinds = {"ServicePrincipal": "Service", "ArnPrincipal": "AWS"}
    out: dict[str, list[str]] = {}
    for call in node.elts:
        assert isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
        if call.func.attr == "AnyPrincipal":
            return "*"
        out.setdefault(kinds[call.func.attr], []).append(_literal(call.args[0]))
    return out


def _cdk_statements(tree: ast.Module) -> list[dict[str, Any]]:
    """Every ``iam.PolicyStatement(...)`` passed to ``key.add_to_resource_policy``, as IAM JSON."""
    found = []
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "add_to_resource_policy"
        ):
            continue
        (statement,) = node.args
        assert isinstance(statement, ast.Call) and isinstance(statement.func, ast.Attribute)
        assert statement.func.attr == "PolicyStatement"
        kw = {k.arg: k.value for k in statement.keywords}
        effect = kw["effect"]
        assert isinstance(effect, ast.Attribute)
        out: dict[str, Any] = {
            "Sid": _literal(kw["sid"]),
            "Effect": effect.attr.capitalize(),
            "Principal": _cdk_principals(kw["principals"]),
            "Action": _literal(kw["actions"]),
            "Resource": _literal(kw["resources"]),
        }
        if "conditions" in kw:
            out["Condition"] = _literal(kw["conditions"])
        found.append(_norm(out))
    return found


def _trail_call(tree: ast.Module) -> dict[str, ast.expr]:
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "Trail"
        ):
            return {str(k.arg): k.value for k in node.keywords}
    raise AssertionError("no cloudtrail.Trail(...) call")


@pytest.mark.parametrize("name", CASES)
def test_cdk_python_parses_and_its_statements_are_the_repairs(name: str) -> None:
    plan, repair = _case(name)
    made = snippet(plan, repair, fmt="cdk")
    tree = ast.parse(made.text)
    assert _cdk_statements(tree) == [_norm(s) for s in repair.added]
    constants = {
        t.id: _literal(n.value)
        for n in tree.body
        if isinstance(n, ast.Assign)
        for t in n.targets
        if isinstance(t, ast.Name)
    }
    assert constants["KEY_ARN"] == plan.request["KmsKeyId"]
    trail = _trail_call(tree)
    assert _literal(trail["trail_name"]) == "audit-trail"
    assert _literal(trail["enable_file_validation"]) is True
    assert "KEY_ARN" in ast.unparse(trail["encryption_key"])
    assert "from_key_arn" in made.text and any("does nothing on a key" in n for n in made.notes)


# -- every format ------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", FORMATS)
def test_nothing_to_add_writes_only_the_trail(fmt: str) -> None:
    trail = _trail()
    good = _key(
        [
            ROOT,
            {
                "Sid": "CloudTrail",
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": ["kms:GenerateDataKey*", "kms:DescribeKey"],
                "Resource": "*",
            },
        ]
    )
    plan, repair = _plan(trail, good), plan_repair(good, [trail])
    assert not repair.needed
    made = snippet(plan, repair, fmt=fmt)
    assert made.statements == () and made.language == LANGUAGES[fmt]
    assert "aws_kms_key_policy" not in made.text and "add_to_resource_policy" not in made.text
    assert "AWS::KMS::" not in made.text
    assert any("nothing to add" in n for n in made.notes)
    unread = snippet(plan, None, fmt=fmt)
    assert any("could not work out" in n for n in unread.notes)


@dataclass(frozen=True)
class _Owner:
    """Stand-in for helper "own"'s trailkit.rules.ownership.Owner (the attributes used)."""

    tool: str
    name: str
    resource: str
    logical_id: str | None = None


def test_owner_logical_ids_name_the_resources() -> None:
    plan, repair = _case("root-only")
    owners = [
        _Owner("cloudformation", "logging-stack", "trail", "OrgAuditTrail"),
        _Owner("cloudformation", "logging-stack", "key", "LogsKey"),
    ]
    fragment = json.loads(snippet(plan, repair, owners, fmt="cloudformation").text)
    assert set(fragment) == {"OrgAuditTrail", "LogsKey"}
    assert _cfn_lint(fragment, "us-east-1") == []
    made = snippet(plan, repair, owners, fmt="terraform")
    assert 'resource "aws_cloudtrail" "org_audit_trail"' in made.text
    assert 'resource "aws_kms_key_policy" "logs_key"' in made.text
    assert any("logging-stack" in n for n in made.notes)
    assert '"OrgAuditTrail"' in snippet(plan, repair, owners, fmt="cdk").text


def test_comments_never_cut_an_arn() -> None:
    plan, repair = _case("root-only")
    for fmt in ("terraform", "cdk"):
        text = snippet(plan, repair, fmt=fmt).text
        comments = [line for line in text.splitlines() if line.startswith("#")]
        assert any(KEY_ARN in line for line in comments), comments


def test_another_accounts_key_and_an_unverifiable_plan_are_said() -> None:
    other = "444455556666"
    arn = KEY_ARN.replace(ACCOUNT, other)
    key = _key(
        [{**ROOT, "Principal": {"AWS": f"arn:aws:iam::{other}:root"}}], arn=arn, account=other
    )
    trail = _trail()
    plan = _plan(trail, key)
    made = snippet(plan, plan_repair(key, [trail]), fmt="cloudformation")
    assert made.key_arn == arn
    assert any(f"account {other}" in n for n in made.notes), made.notes
    # Its policy unread: the plan is UNVERIFIABLE and no statement can be worked out.
    unread = _plan(trail, replace(key, policy=None, policy_error="AccessDeniedException"))
    assert unread.report.unverifiable and not unread.blocked
    made = snippet(unread, None, fmt="terraform")
    assert made.statements == () and "aws_kms_key_policy" not in made.text
    assert any("could not check everything" in n for n in made.notes), made.notes
    assert any("could not work out" in n for n in made.notes), made.notes


def test_blocking_leaves_out_only_what_the_statements_fix() -> None:
    plan, repair = _case("root-only")
    assert {f.code for f in plan.report.errors} >= {"policy-encrypt"}
    assert blocking(plan, repair) == ()
    assert {f.code for f in blocking(plan, None)} == {f.code for f in plan.report.errors}
    elsewhere = _plan(_trail(), _key([ROOT], region="eu-west-1"))
    assert "key-region-mismatch" in {f.code for f in blocking(elsewhere, repair)}


def test_a_bad_format_is_an_input_error() -> None:
    plan, repair = _case("root-only")
    with pytest.raises(InputError, match="yaml"):
        snippet(plan, repair, fmt="yaml")


def test_the_cli_offers_the_formats_of_the_rules() -> None:
    assert SNIPPET_FORMATS == FORMATS


# -- the command line on the demo --------------------------------------------------------------
def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def _added(endpoint: str, trail: str, key: str) -> list[dict[str, Any]]:
    """What ``trailkit policy --format json`` would add."""
    code, out, err = _cli(
        "--endpoint-url", endpoint, "policy", "--trail", trail, "--key", key, "--format", "json"
    )
    assert code == 0, err
    return list(json.loads(out)["added"])


def _statements(fmt: str, text: str) -> list[dict[str, Any]]:
    if fmt == "cloudformation":
        kinds = ("AWS::KMS::Key", "AWS::KMS::ReplicaKey")  # a multi-Region replica is its own type
        keys = [r for r in json.loads(text).values() if r["Type"] in kinds]
        if not keys:
            return []
        (key,) = keys
        added = set(key["Metadata"]["trailkit"]["added_sids"])
        return [
            _norm(s) for s in key["Properties"]["KeyPolicy"]["Statement"] if s.get("Sid") in added
        ]
    if fmt == "terraform":
        data = _hcl(text).get("data", [])
        if not data:
            return []
        (document,) = data[0]["aws_iam_policy_document"].values()
        blocks = document["statement"]
        return [_hcl_statement(b) for b in (blocks if isinstance(blocks, list) else [blocks])]
    return _cdk_statements(ast.parse(text))


DEMO_CASES = [
    ("app-trail", "alias/cloudtrail-good-euw1", "eu-west-1"),  # nothing to add
    ("org-trail", "alias/no-cloudtrail", "us-east-1"),  # blocked; the repair's statements fix it
    ("stripped-policy-trail", "alias/no-cloudtrail", "us-east-1"),  # its key's policy stripped
    ("bucketkey-trail", "alias/cloudtrail-good-usw2", "us-west-2"),  # Decrypt for a Bucket Key
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("trail, key, region", DEMO_CASES, ids=[c[0] for c in DEMO_CASES])
def test_cli_snippet_on_the_demo_equals_policy_and_update(
    demo: Any, fmt: str, trail: str, key: str, region: str
) -> None:
    endpoint, estate = demo
    code, out, err = _cli(
        "--endpoint-url", endpoint, "snippet", "--trail", trail, "--key", key, "--format", fmt
    )
    assert code == 0, err
    key_arn = estate.keys[key]
    # stdout is the code alone; the connection header and the notes are on stderr.
    assert "DEMO" in err and "DEMO" not in out and "123456789012" in err
    assert key_arn in out
    assert _statements(fmt, out) == [_norm(s) for s in _added(endpoint, trail, key)]
    plan = json.loads(
        _cli(
            "--endpoint-url",
            endpoint,
            "update",
            "--trail",
            trail,
            "--key",
            key,
            "--dry-run",
            "--format",
            "json",
        )[1]
    )["plans"][0]
    assert plan["request"]["KmsKeyId"] == key_arn
    if fmt == "cloudformation":
        assert _cfn_lint(json.loads(out), region) == []
    elif fmt == "terraform":
        assert _hcl(out)["resource"][0]["aws_cloudtrail"]
    else:
        ast.parse(out)


@pytest.mark.parametrize(
    "key, code",
    [("alias/cloudtrail-good-euw1", "key-region-mismatch"), ("alias/explicit-deny", "policy-deny")],
)
def test_cli_refuses_a_change_blocked_by_what_the_statements_do_not_fix(
    demo: Any, key: str, code: str
) -> None:
    endpoint, estate = demo
    argv = ["snippet", "--trail", "org-trail", "--key", estate.keys[key], "--format", "terraform"]
    exit_code, out, err = _cli("--endpoint-url", endpoint, *argv)
    assert exit_code == 1 and out == ""
    assert code in err and "No code was written" in err
    # `trailkit update` refuses the same change for the same finding.
    exit_code, _out, err = _cli("--endpoint-url", endpoint, "update", *argv[1:5], "--dry-run")
    assert exit_code == 1 and code in err


@pytest.mark.parametrize("argv", [["--format", "yaml"], ["--format", "json"], []])
def test_cli_bad_or_missing_format_is_a_usage_error(demo: Any, argv: list[str]) -> None:
    code, out, err = _cli(
        "--endpoint-url", demo[0], "snippet", "--trail", "app-trail", "--key", "alias/x", *argv
    )
    assert code == 2 and out == ""
    assert "--format" in err


@pytest.fixture
def _english_afterwards() -> Iterator[None]:
    """``--lang ja`` sets the process's language: the next tests read English again."""
    yield
    i18n.set_language("en")


@pytest.mark.usefixtures("_english_afterwards")
def test_cli_snippet_explains_in_japanese(demo: Any) -> None:
    endpoint, estate = demo
    code, out, err = _cli(
        "--lang",
        "ja",
        "--endpoint-url",
        endpoint,
        "snippet",
        "--trail",
        "stripped-policy-trail",
        "--key",
        "alias/no-cloudtrail",
        "--format",
        "cdk",
    )
    assert code == 0, err
    ast.parse(out)
    notes = err.split("\n", 2)[2]  # after the connection header's two lines
    assert "add_to_resource_policy" in notes
    assert_japanese(notes, [estate.keys["alias/no-cloudtrail"], "stripped-policy-trail"])
    code, out, err = _cli(
        "--lang",
        "ja",
        "--endpoint-url",
        endpoint,
        "snippet",
        "--trail",
        "org-trail",
        "--key",
        estate.keys["alias/explicit-deny"],
        "--format",
        "cloudformation",
    )
    assert code == 1
    assert_japanese(err, ["org-trail"])


# -- the runbook (what the notebooks and the app call) -----------------------------------------
def test_runbook_snippet_uses_the_plan_and_the_repair(demo: Any, tmp_path: Any) -> None:
    from trailkit.aws.session import Connection
    from trailkit.change.journal import Journal
    from trailkit.runbook import Runbook

    conn = Connection(endpoint_url=demo[0], region="us-east-1", workers=4)
    book = Runbook(conn, Journal(tmp_path / "j.jsonl"))
    with pytest.raises(InputError, match="yaml"):
        book.snippet("org-trail", "alias/no-cloudtrail", "yaml")
    assert sum(conn.calls.values()) == 0  # refused before anything was read
    made = book.snippet("org-trail", "alias/no-cloudtrail", "cloudformation")
    plan = book.plan_for("org-trail", "alias/no-cloudtrail")
    repair = book.plan_repair(["org-trail"], "alias/no-cloudtrail")
    assert made.key_arn == plan.request["KmsKeyId"] and made.statements == repair.added
    assert plan.blocked and repair.needed  # blocked only by what the statements fix
    with pytest.raises(InputError, match="empty"):
        book.snippet("org-trail", " ", "cdk")
