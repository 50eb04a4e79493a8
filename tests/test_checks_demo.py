"""Pre-flight against the demo estate: every demo key and trail gives the right codes."""

from __future__ import annotations

import dataclasses
import io
import json
import re
from typing import Any

import pytest

from trailkit.aws.reader import Reader
from trailkit.aws.session import Connection
from trailkit.rules.checks import VerdictKind
from trailkit.runbook import Runbook, candidates, check
from trailkit.ui.cli import main


def _key(estate: Any, text: str) -> str:
    """``{arn:alias/x}`` -> the key ARN of alias/x; ``{replica:alias/x}`` -> its replica."""

    def sub(m: re.Match[str]) -> str:
        kind, alias = m.group(1), m.group(2)
        return str(estate.keys[alias] if kind == "arn" else estate.replica_keys[alias])

    return re.sub(r"\{(arn|replica):([^}]+)\}", sub, text)


# trail, key, verdict, codes that must be present, codes that must be absent
CASES: list[tuple[str, str, str, set[str], set[str]]] = [
    # The organization trail's bucket admits AWSLogs/o-*/ too: no delivery warning, whatever
    # the organization id (trailkit does not read it).
    (
        "org-trail",
        "alias/cloudtrail-good",
        "ready",
        {"digest-files"},
        {"policy-readers", "bucket-policy-already-denies-delivery", "bucket-policy-unverified"},
    ),
    ("org-trail", "{arn:alias/cloudtrail-good}", "ready", {"digest-files"}, set()),
    ("org-trail", "alias/no-cloudtrail", "blocked", {"policy-encrypt", "policy-describe"}, set()),
    # No DescribeKey grant: AWS accepts it for a bucket without an S3 Bucket Key (a warning).
    ("org-trail", "alias/encrypt-no-describe", "ready", {"policy-describe"}, {"policy-encrypt"}),
    ("org-trail", "alias/explicit-deny", "blocked", {"policy-deny"}, {"policy-encrypt"}),
    ("org-trail", "alias/other-account-context", "blocked", {"policy-encrypt"}, set()),
    ("org-trail", "alias/cloudtrail-disabled", "blocked", {"key-state"}, set()),
    ("org-trail", "alias/pending-deletion", "blocked", {"key-state"}, set()),
    ("org-trail", "alias/rsa-signing", "blocked", {"key-not-symmetric"}, set()),
    ("org-trail", "alias/multi-region-good", "ready", set(), set()),
    ("org-trail", "alias/no-readers", "ready", {"policy-readers"}, set()),
    ("org-trail", "alias/aws/s3", "blocked", {"key-aws-managed"}, set()),
    ("org-trail", "not a key id", "blocked", {"key-id-format"}, set()),
    ("org-trail", "alias/does-not-exist", "blocked", {"key-not-found"}, set()),
    ("org-trail", "{arn:alias/cloudtrail-good-euw1}", "blocked", {"key-region-mismatch"}, set()),
    (
        "org-trail",
        "{arn:alias/shared-logs-key}",
        "unverifiable",
        {"policy-unverifiable"},
        {"key-not-found"},
    ),
    ("org-trail", "", "ready", {"already-using-key"}, {"disable-encryption"}),
    (
        "tokyo-trail",
        "alias/cloudtrail-good-apne1",
        "blocked",
        {"key-id-needs-arn", "key-region-mismatch"},
        set(),
    ),
    ("tokyo-trail", "{arn:alias/cloudtrail-good-apne1}", "blocked", {"key-region-mismatch"}, set()),
    ("tokyo-trail", "{arn:alias/multi-region-good}", "blocked", {"key-region-mismatch"}, set()),
    ("tokyo-trail", "{replica:alias/multi-region-good}", "ready", set(), {"digest-files"}),
    ("tokyo-trail", "{arn:alias/cloudtrail-good-usw2}", "ready", set(), set()),
    (
        "bucketkey-trail",
        "alias/cloudtrail-good-usw2",
        "blocked",
        {"policy-bucket-key-decrypt"},
        {"policy-encrypt"},
    ),
    ("bucketkey-trail", "alias/cloudtrail-bucketkey-usw2", "ready", set(), set()),
    (
        "app-trail",
        "alias/cloudtrail-good-euw1",
        "ready",
        {"already-using-key", "bucket-policy-aes256", "digest-files"},
        set(),
    ),
    # issue 12 item 4: the bucket only accepts aws:kms, so SSE-S3 deliveries would be refused
    (
        "app-trail",
        "",
        "blocked",
        {"disable-encryption", "bucket-policy-denies-delivery"},
        {"bucket-policy-aes256"},
    ),
    # the bucket refuses uploads with any KMS key but the trail's own
    (
        "pinned-key-trail",
        "alias/multi-region-good",
        "blocked",
        {"bucket-policy-denies-delivery"},
        {"policy-encrypt"},
    ),
    ("pinned-key-trail", "alias/cloudtrail-good", "ready", {"already-using-key"}, set()),
    ("pinned-key-trail", "", "ready", {"disable-encryption"}, {"bucket-policy-denies-delivery"}),
    ("stale-key-trail", "alias/cloudtrail-good", "ready", set(), {"digest-files"}),
    ("stale-key-trail", "", "ready", {"disable-encryption"}, set()),
    ("no-such-trail", "alias/cloudtrail-good", "blocked", {"trail-not-found"}, set()),
]


@pytest.mark.parametrize(
    "trail, key, verdict, present, absent", CASES, ids=[f"{c[0]}:{c[1] or '(off)'}" for c in CASES]
)
def test_demo_preflight(
    demo: Any,
    demo_conn: Connection,
    trail: str,
    key: str,
    verdict: str,
    present: set[str],
    absent: set[str],
) -> None:
    _, estate = demo
    report = check(Reader(demo_conn), trail, _key(estate, key))
    codes = {f.code for f in report.findings}
    assert present <= codes, report.findings
    assert not (absent & codes), report.findings
    assert str(report.verdict) == verdict, report.findings
    assert report.ready is (verdict == "ready")


def test_region_mismatch_suggests_the_replica_in_the_bucket_region(
    demo: Any, demo_conn: Connection
) -> None:
    _, estate = demo
    report = check(Reader(demo_conn), "tokyo-trail", estate.keys["alias/multi-region-good"])
    (finding,) = [f for f in report.findings if f.code == "key-region-mismatch"]
    assert estate.replica_keys["alias/multi-region-good"] in finding.message


def test_bare_alias_for_a_trail_whose_bucket_is_elsewhere_suggests_the_arn(
    demo: Any, demo_conn: Connection
) -> None:
    _, estate = demo
    report = check(Reader(demo_conn), "tokyo-trail", "alias/cloudtrail-good-usw2")
    (finding,) = [f for f in report.findings if f.code == "key-id-needs-arn"]
    assert estate.keys["alias/cloudtrail-good-usw2"] in finding.message


def test_policy_encrypt_says_which_condition_fails(demo: Any, demo_conn: Connection) -> None:
    report = check(Reader(demo_conn), "org-trail", "alias/other-account-context")
    (finding,) = [f for f in report.findings if f.code == "policy-encrypt"]
    assert "999988887777" in finding.message


def test_policy_deny_names_the_statement(demo: Any, demo_conn: Connection) -> None:
    report = check(Reader(demo_conn), "org-trail", "alias/explicit-deny")
    (finding,) = [f for f in report.findings if f.code == "policy-deny"]
    assert "DenyCloudTrailEncrypt" in finding.message


def test_ready_is_given_only_to_keys_aws_would_accept(demo: Any, demo_conn: Connection) -> None:
    """Every candidate in us-east-1 for the org trail; exactly the good ones are ready."""
    _, estate = demo
    _, verdicts = candidates(Reader(demo_conn), "org-trail")
    ready = {v.key.arn for v in verdicts if str(v.kind) == "ready"}
    assert ready == {
        estate.keys["alias/cloudtrail-good"],
        estate.keys["alias/multi-region-good"],
        # No DescribeKey grant: AWS accepts it, the org trail's bucket has no S3 Bucket Key.
        estate.keys["alias/encrypt-no-describe"],
    } | {estate.keys[a] for a in ("alias/no-readers",) if a in estate.keys}
    kinds = [str(v.kind) for v in verdicts]
    assert kinds == sorted(kinds, key=["ready", "unverifiable", "blocked"].index)
    blocked = {v.key.aliases[0]: v.code for v in verdicts if str(v.kind) == "blocked"}
    assert blocked["alias/rsa-signing"] == "key-not-symmetric"
    assert blocked["alias/cloudtrail-disabled"] == "key-state"
    assert blocked["alias/explicit-deny"] == "policy-deny"
    assert all(v.label.startswith(v.key.aliases[0]) for v in verdicts if v.key.aliases)


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_cli_check_json_and_exit_codes(demo: Any) -> None:
    endpoint, estate = demo
    code, out, err = _run(
        [
            "--endpoint-url",
            endpoint,
            "check",
            "--trail",
            "org-trail",
            "--key",
            "alias/cloudtrail-good",
            "--format",
            "json",
        ]
    )
    assert code == 0, err
    data = json.loads(out)
    assert set(data) == {
        "trail_arn",
        "key_input",
        "key_arn",
        "bucket_region",
        "ready",
        "verdict",
        "findings",
    }
    assert data["ready"] is True
    assert data["key_arn"] == estate.keys["alias/cloudtrail-good"]
    assert data["bucket_region"] == "us-east-1"
    for finding in data["findings"]:
        assert set(finding) == {"code", "severity", "message", "remedy", "aws_error"}

    code, out, _ = _run(
        [
            "--endpoint-url",
            endpoint,
            "check",
            "--trail",
            "org-trail",
            "--key",
            "alias/rsa-signing",
            "--format",
            "json",
        ]
    )
    assert code == 1
    data = json.loads(out)
    assert data["ready"] is False
    assert "key-not-symmetric" in {f["code"] for f in data["findings"]}
    assert next(f for f in data["findings"] if f["code"] == "key-not-symmetric")["aws_error"]


def test_cli_check_unreachable_endpoint_is_exit_2_without_traceback() -> None:
    code, _out, err = _run(
        ["--endpoint-url", "http://127.0.0.1:9", "check", "--trail", "x", "--key", "alias/y"]
    )
    assert code == 2
    assert "Traceback" not in err and err.startswith("trailkit: ")


def test_cli_keys_ranks_ready_first(demo: Any) -> None:
    endpoint, _ = demo
    code, out, err = _run(
        ["--endpoint-url", endpoint, "keys", "--trail", "org-trail", "--format", "json"]
    )
    assert code == 0, err
    rows = json.loads(out)
    assert rows[0]["verdict"] == "ready"
    assert rows[-1]["verdict"] == "blocked"


def test_cli_keys_exit_codes_follow_check(demo: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """``keys`` answers as ``check`` does, for its best key: 0 a ready key exists, 1 none (a
    deleted bucket, every key blocked), 3 none ready but something unverifiable (an unknown
    bucket region: the list of keys itself is unknown); 2 only for trailkit's own errors."""
    endpoint, _ = demo
    base = ["--endpoint-url", endpoint, "keys", "--trail"]
    code, out, err = _run([*base, "deleted-bucket-trail"])
    assert code == 1 and out == ""
    assert err.startswith("trailkit: blocked: The bucket tk-deleted-logs-use1 of ")
    assert err.count("\n") == 1 and "Traceback" not in err
    code, out, err = _run([*base, "partner-bucket-trail"])
    assert code == 3 and out == ""
    assert err.startswith("trailkit: unverifiable: The region of bucket tk-partner-logs-use1")
    assert err.count("\n") == 1

    ranked = Runbook.rank

    def only(kinds: set[VerdictKind]) -> Any:
        def rank(self: Runbook, trail: Any) -> list[Any]:
            verdicts = ranked(self, trail)
            blocked = [v for v in verdicts if v.kind is VerdictKind.BLOCKED]
            other = [
                dataclasses.replace(v, kind=VerdictKind.UNVERIFIABLE)
                for v in verdicts
                if v.kind is not VerdictKind.BLOCKED
            ]
            return (other if VerdictKind.UNVERIFIABLE in kinds else []) + blocked

        return rank

    monkeypatch.setattr(Runbook, "rank", only({VerdictKind.BLOCKED}))
    code, out, err = _run([*base, "org-trail", "--format", "json"])
    assert code == 1, err
    assert {row["verdict"] for row in json.loads(out)} == {"blocked"}
    monkeypatch.setattr(Runbook, "rank", only({VerdictKind.BLOCKED, VerdictKind.UNVERIFIABLE}))
    code, out, err = _run([*base, "org-trail", "--format", "json"])
    assert code == 3, err
    assert {row["verdict"] for row in json.loads(out)} == {"blocked", "unverifiable"}


def test_a_key_blocked_by_its_state_or_type_shows_only_that(demo_conn: Connection) -> None:
    """The policy of a disabled, deleted-soon or asymmetric key does not matter: ``keys`` shows
    its blocking finding only, not ``policy-unverifiable`` as well (its policy is not read)."""
    _, verdicts = candidates(Reader(demo_conn), "org-trail")
    by_alias = {v.key.alias: v for v in verdicts}
    for alias, code in (
        ("alias/cloudtrail-disabled", "key-state"),
        ("alias/pending-deletion", "key-state"),
        ("alias/rsa-signing", "key-not-symmetric"),
    ):
        verdict = by_alias[alias]
        assert (verdict.kind, verdict.code) == (VerdictKind.BLOCKED, code)
        assert verdict.warnings == ()
        codes = {f.code for f in verdict.report.findings}
        assert code in codes and not codes & {"policy-unverifiable", "bucket-key-unverified"}
    # a key whose policy is the problem keeps its policy findings
    assert by_alias["alias/no-cloudtrail"].warnings == ("policy-describe",)
