"""``--reader-account`` on the command line: the readers rule checks the accounts named, on
``check``, ``keys`` and ``update`` (its plan and the recheck just before sending), and a value
that is not an account id is a usage error (exit 2, no traceback)."""

from __future__ import annotations

import io
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from trailkit.aws.reader import Reader
from trailkit.aws.session import Connection
from trailkit.ui.cli import build_parser, main

GOOD = "alias/cloudtrail-good"
LOG_ARCHIVE = "444455556666"


def _cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    stderr = sys.stderr
    sys.stderr = err  # argparse's usage goes to sys.stderr before main redirects it
    try:
        code = main(argv, out=out, err=err)
    finally:
        sys.stderr = stderr
    return code, out.getvalue(), err.getvalue()


def _readers(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for f in findings if f["code"] == "policy-readers"]


def test_check_with_a_reader_account_names_it(demo: Any) -> None:
    endpoint, _ = demo
    base = ["--endpoint-url", endpoint, "check", "--trail", "org-trail", "--key", GOOD]
    code, out, err = _cli([*base, "--format", "json"])
    assert code == 0, err
    assert _readers(json.loads(out)["findings"]) == []  # the demo account may decrypt
    code, out, err = _cli([*base, "--reader-account", LOG_ARCHIVE, "--format", "json"])
    assert code == 0, err  # a warning: the change itself would work
    report = json.loads(out)
    assert report["verdict"] == "ready"
    (finding,) = _readers(report["findings"])
    assert finding["severity"] == "warning"
    assert f"Nobody in account {LOG_ARCHIVE} (given as a reader account)" in finding["message"]
    assert "Any principal of account 123456789012 (the trail's account)" in finding["message"]
    assert f"--readers {LOG_ARCHIVE}" in finding["remedy"]


def test_check_table_shows_the_reader_accounts_finding(demo: Any) -> None:
    endpoint, _ = demo
    code, out, err = _cli(
        [
            "--endpoint-url",
            endpoint,
            "check",
            "--trail",
            "org-trail",
            "--key",
            GOOD,
            "--reader-account",
            LOG_ARCHIVE,
            "--reader-account",
            "777788889999",
        ]
    )
    assert code == 0, err
    assert "policy-readers" in out
    flat = " ".join(out.split())
    assert LOG_ARCHIVE in flat and "777788889999" in flat


def test_check_no_readers_key_says_nobody_in_the_trail_account(demo: Any) -> None:
    endpoint, _ = demo
    code, out, err = _cli(
        [
            "--endpoint-url",
            endpoint,
            "check",
            "--trail",
            "org-trail",
            "--key",
            "alias/no-readers",
            "--format",
            "json",
        ]
    )
    assert code == 0, err
    (finding,) = _readers(json.loads(out)["findings"])
    assert "Nobody in account 123456789012 (the trail's account)" in finding["message"]


def test_keys_shows_the_warning_for_a_reader_account(demo: Any) -> None:
    endpoint, estate = demo
    base = ["--endpoint-url", endpoint, "keys", "--trail", "org-trail", "--format", "json"]
    code, out, err = _cli(base)
    assert code == 0, err
    good = str(estate.keys[GOOD])
    row = next(r for r in json.loads(out) if r["key_arn"] == good)
    assert row["verdict"] == "ready" and "policy-readers" not in row["warnings"]
    code, out, err = _cli([*base, "--reader-account", LOG_ARCHIVE])
    assert code == 0, err
    row = next(r for r in json.loads(out) if r["key_arn"] == good)
    assert row["verdict"] == "ready" and "policy-readers" in row["warnings"]
    code, out, err = _cli([*base[:-2], "--reader-account", LOG_ARCHIVE])
    assert code == 0, err
    lines = out.splitlines()
    header = next(line for line in lines if "verdict" in line.lower())
    assert "warnings" in header
    # The table shows the key by alias, its warning codes under its code (rich, one row
    # may take two lines).
    at = next(i for i, line in enumerate(lines) if re.search(rf"{GOOD}(?![-\w])", line))
    assert "policy-readers" in " ".join(lines[at : at + 2])


def test_update_dry_run_shows_the_finding(demo: Any) -> None:
    endpoint, _ = demo
    code, out, err = _cli(
        [
            "--endpoint-url",
            endpoint,
            "update",
            "--trail",
            "org-trail",
            "--key",
            GOOD,
            "--reader-account",
            LOG_ARCHIVE,
            "--dry-run",
            "--format",
            "json",
        ]
    )
    assert code == 0, err
    (plan,) = json.loads(out)["plans"]
    (finding,) = _readers(plan["findings"])
    assert LOG_ARCHIVE in finding["message"]


def test_update_with_a_reader_account_is_sent_the_recheck_asks_the_same(
    demo_rw: Any, tmp_path: Path
) -> None:
    """The recheck just before sending includes the reader accounts: the same warning, no drift."""
    endpoint, estate = demo_rw
    code, out, err = _cli(
        [
            "--endpoint-url",
            endpoint,
            "update",
            "--trail",
            "org-trail",
            "--key",
            GOOD,
            "--reader-account",
            LOG_ARCHIVE,
            "--yes",
            "--journal",
            str(tmp_path / "journal.jsonl"),
        ]
    )
    assert code == 0, out + err
    assert "DONE" in out and "policy-readers" in out
    conn = Connection(endpoint_url=endpoint, region="us-east-1", workers=4)
    assert Reader(conn).find_trail("org-trail").kms_key_id == str(estate.keys[GOOD])


@pytest.mark.parametrize("command", ["check", "keys", "update"])
@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("12", "must be a 12-digit AWS account id; '12' is not one: it has 2 digits"),
        ("4444-5555-6666", "it contains '-'"),
        ("", "it is empty"),
        (
            "arn:aws:iam::444455556666:root",
            "must be a 12-digit AWS account id, not an ARN; 'arn:aws:iam::444455556666:root' is "
            "an ARN. Fix: give the 12-digit account id from the ARN: --reader-account "
            "444455556666",
        ),
        ("000000000000", "000000000000 is not one: no AWS account has that id"),
    ],
)
def test_a_bad_reader_account_is_a_usage_error(command: str, value: str, problem: str) -> None:
    """One line naming the option, what is wrong and the fix: not argparse's usage message."""
    argv = [command, "--trail", "org-trail", "--reader-account", value]
    if command != "keys":
        argv += ["--key", GOOD]
    code, out, err = _cli(argv)  # no endpoint: it fails before anything connects
    assert code == 2
    assert err.startswith("trailkit: --reader-account must be a 12-digit AWS account id")
    assert err.count("\n") == 1 and "usage:" not in err and "Traceback" not in err
    assert problem in err and "Fix: " in err
    assert out == ""


@pytest.mark.parametrize("command", ["disable", "rollback", "policy", "inventory"])
def test_only_the_commands_that_run_the_readers_rule_take_it(command: str) -> None:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    sub = action.choices[command]
    assert not any("--reader-account" in a.option_strings for a in sub._actions)
