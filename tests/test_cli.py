"""The command line as an operator runs it: `trailkit demo` in one process, commands in another."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from trailkit.ui.cli import main

EXPECTED = {
    # name: (encryption, key alias, key state, bucket region, home region)
    "org-trail": ("SSE-S3", None, None, "us-east-1", "us-east-1"),
    "app-trail": ("SSE-KMS", "alias/cloudtrail-good-euw1", "Enabled", "eu-west-1", "eu-west-1"),
    "tokyo-trail": ("SSE-S3", None, None, "us-west-2", "ap-northeast-1"),
    "bucketkey-trail": ("SSE-S3", None, None, "us-west-2", "us-west-2"),
    "stale-key-trail": (
        "SSE-KMS",
        "alias/cloudtrail-disabled",
        "Disabled",
        "us-east-1",
        "us-east-1",
    ),
    "pinned-key-trail": ("SSE-KMS", "alias/cloudtrail-good", "Enabled", "us-east-1", "us-east-1"),
    # The management account cannot read this bucket (account 444455556666's): region unknown.
    "partner-bucket-trail": ("SSE-S3", None, None, None, "us-west-2"),
    "deleted-bucket-trail": ("SSE-S3", None, None, None, "us-east-1"),  # its bucket is gone
    "stripped-policy-trail": (
        "SSE-KMS",
        "alias/no-cloudtrail",
        "Enabled",
        "us-east-1",
        "us-east-1",
    ),
    "retiring-key-trail": (
        "SSE-KMS",
        "alias/pending-deletion",
        "PendingDeletion",
        "us-east-1",
        "us-east-1",
    ),
    "no-readers-trail": ("SSE-KMS", "alias/no-readers", "Enabled", "us-east-1", "us-east-1"),
}
#: What the error column says for the trails whose bucket cannot be read.
BUCKET_ERRORS = {
    "partner-bucket-trail": "belongs to another account, which does not let this caller read it",
    "deleted-bucket-trail": "does not exist (S3 answered 404 to HeadBucket)",
}


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture(scope="module")
def demo_process() -> Iterator[str]:
    """`python -m trailkit demo` in its own process; yields its endpoint."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "trailkit", "demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_env(),
    )
    assert proc.stdout is not None
    endpoint = None
    deadline = time.monotonic() + 60
    lines = []
    while endpoint is None and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
        lines.append(line)
        m = re.search(r"export AWS_ENDPOINT_URL=(\S+)", line)
        if m:
            endpoint = m.group(1)
    assert endpoint, "".join(lines)
    while "Press Ctrl-C" not in lines[-1]:
        lines.append(proc.stdout.readline())
    yield endpoint
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0


def _cli(*args: str, endpoint: str) -> subprocess.CompletedProcess[str]:
    env = _env()
    env["AWS_ACCESS_KEY_ID"] = env["AWS_SECRET_ACCESS_KEY"] = "trailkit-demo"
    return subprocess.run(
        [sys.executable, "-m", "trailkit", "--endpoint-url", endpoint, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_inventory_json_lists_every_demo_trail_once(demo_process: str) -> None:
    done = _cli("inventory", "--format", "json", endpoint=demo_process)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    names = [r["name"] for r in rows]
    assert sorted(names) == sorted(EXPECTED)  # each exactly once; archive-trail is another account
    for row in rows:
        enc, alias, state, bucket_region, home = EXPECTED[row["name"]]
        assert row["encryption"] == enc
        assert row["key_alias"] == alias
        assert row["key_state"] == state
        assert row["bucket_region"] == bucket_region
        assert row["home_region"] == home
        if row["name"] in BUCKET_ERRORS:
            assert BUCKET_ERRORS[row["name"]] in row["error"]
            assert row["bucket_key"] is None  # unknown, not False
        else:
            assert row["error"] is None
    org = next(r for r in rows if r["name"] == "org-trail")
    assert org["organization"] is True and org["multi_region"] is True
    assert set(rows[0]) == {
        "name",
        "encryption",
        "key_alias",
        "key_state",
        "home_region",
        "bucket",
        "bucket_region",
        "key_region",
        "bucket_key",
        "log_file_validation",
        "logging",
        "multi_region",
        "organization",
        "account",
        "latest_delivery_error",
        "latest_digest_delivery_error",
        "key_arn",
        "trail_arn",
        "error",
        "latest_delivery_time",  # issue 15: the last deliveries, UTC ISO
        "latest_digest_delivery_time",
        "health",  # issue 15: the health of the trail's current encryption
        "health_reasons",
        # issue 15: the facts of the trail's key
        "key_deletion_date",
        "key_days_left",
        "key_rotation",
        "key_rotation_error",
        "key_manager",
        "key_origin",
        "key_created",
        "key_multi_region",
        "key_primary_arn",
        "key_replica_arns",
        "managed_by",  # issue 17: who manages the trail or its key
    }


def test_inventory_table_shows_the_account_and_endpoint_header(demo_process: str) -> None:
    done = _cli("inventory", "--regions", "us-east-1,eu-west-1", endpoint=demo_process)
    assert done.returncode == 0, done.stderr
    first = done.stdout.splitlines()[0]
    assert first.startswith("DEMO (local moto server)")
    assert "account 123456789012" in first and demo_process in first
    assert "org-trail" in done.stdout and "Keys in use:" in done.stdout


def test_inventory_csv_and_verbose_call_counts(demo_process: str) -> None:
    done = _cli("--verbose", "inventory", "--format", "csv", endpoint=demo_process)
    assert done.returncode == 0, done.stderr
    header = done.stdout.splitlines()[0].split(",")
    assert header[:2] == ["name", "encryption"]
    assert len(done.stdout.splitlines()) == 1 + len(EXPECTED)
    counts = dict(re.findall(r"^\s+(\S+:\S+)\s+(\d+)$", done.stderr, re.M))
    total = int(re.search(r"API calls: (\d+)", done.stderr).group(1))  # type: ignore[union-attr]
    assert total == sum(int(v) for v in counts.values())
    assert "cloudtrail:DescribeTrails" in counts


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["inventory", "--format", "yaml"],
        ["nonsense"],
        ["check", "--trail", "x"],
        ["--workers", "0", "inventory"],
        ["--workers", "many", "inventory"],
        ["demo", "--port", "99999"],
        ["rollback"],
        ["rollback", "--last", "--change", "x"],
        ["inventory", "--regions", ","],
    ],
)
def test_nonsense_arguments_print_usage_and_exit_2(argv: list[str]) -> None:
    out, err = io.StringIO(), io.StringIO()
    stderr = sys.stderr
    sys.stderr = err
    try:
        code = main(argv, out=out, err=err)
    finally:
        sys.stderr = stderr
    assert code == 2
    assert "usage:" in err.getvalue()
    assert "Traceback" not in err.getvalue()


def test_missing_credentials_is_one_clear_line_and_exit_2(tmp_path: Any) -> None:
    env = _env()
    env["AWS_CONFIG_FILE"] = env["AWS_SHARED_CREDENTIALS_FILE"] = str(tmp_path / "none")
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    done = subprocess.run(
        [sys.executable, "-m", "trailkit", "--region", "us-east-1", "inventory"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "No AWS credentials" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "extra",
    [["--trail", "org-trail"], ["--key", "alias/x"], ["--readers", "111122223333"], ["--apply"]],
)
def test_policy_restore_refuses_options_it_would_ignore(extra: list[str], tmp_path: Path) -> None:
    """Found by a break-it pass: ``policy --restore ID --trail X --key Y`` ignored X and Y."""
    out, err = io.StringIO(), io.StringIO()
    journal = tmp_path / "j.jsonl"
    code = main(
        ["policy", "--restore", "chg-1", *extra, "--journal", str(journal)], out=out, err=err
    )
    assert code == 2 and extra[0] in err.getvalue() and "would be ignored" in err.getvalue()
    assert not journal.exists()


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("US-EAST-1", "did you mean us-east-1?"),
        ("us-east-1,EU-west-1", "did you mean eu-west-1?"),
        ("useast1", "'useast1' is not a region name"),
        (" , ", "give at least one region"),
    ],
)
def test_a_region_that_cannot_be_one_is_a_usage_error(value: str, says: str) -> None:
    """Found by a break-it pass: ``--regions US-EAST-1`` scanned nothing, printed PARTIAL and
    exited 1. It is a usage error before any AWS call."""
    out, err = io.StringIO(), io.StringIO()
    code = main(["inventory", "--regions", value], out=out, err=err)
    assert code == 2 and says in err.getvalue() and out.getvalue() == ""


@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_endpoint_url_is_an_error_not_the_default(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    out, err = io.StringIO(), io.StringIO()
    code = main(["--endpoint-url", value, "inventory"], out=out, err=err)
    assert code == 2 and "--endpoint-url" in err.getvalue() and "is empty" in err.getvalue()
    assert err.getvalue().count("\n") == 1 and out.getvalue() == ""


def test_an_error_echoing_a_control_character_escapes_it(tmp_path: Path, demo: Any) -> None:
    """Found by a break-it pass: ``rollback --change $'chg-\\e[31mX'`` echoed the raw escape."""
    journal = tmp_path / "j.jsonl"
    journal.write_text("")
    out, err = io.StringIO(), io.StringIO()
    code = main(
        ["--endpoint-url", demo[0], "rollback", "--change", "chg-\x1b[31mX",
         "--journal", str(journal)],
        out=out, err=err,
    )  # fmt: skip
    assert code == 2 and "\x1b" not in err.getvalue() and "\\x1b[31mX" in err.getvalue()
