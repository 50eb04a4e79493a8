"""Issue 16, second break-it pass: defects found on the demo organization (management
123456789012; members log-archive 210987654321, workload-prod 333344445555, workload-dev
555566667777, sandbox 666677778888 with only AWSControlTowerExecution)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.test_notebooks import kernel_env, run
from trailkit.ui.cli import main

__all__ = ["kernel_env"]  # the fixture, re-used

REGION = "us-east-1"
MANAGEMENT = "123456789012"
PROD = "333344445555"
SANDBOX = "666677778888"
PROD_TRAIL = f"arn:aws:cloudtrail:{REGION}:{PROD}:trail/prod-trail"
SANDBOX_TRAIL = f"arn:aws:cloudtrail:us-west-2:{SANDBOX}:trail/sandbox-trail"


def _cli(endpoint: str, *argv: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["--endpoint-url", endpoint, *argv], out=out, err=err)
    return code, out.getvalue() + err.getvalue()


def _management_key(
    endpoint: str, alias: str = "alias/cloudtrail-good", region: str = REGION
) -> str:
    kms = boto3.client("kms", endpoint_url=endpoint, region_name=region)
    return str(kms.describe_key(KeyId=alias)["KeyMetadata"]["Arn"])


# -- 1. the policy command `check` prints for a member trail and a key of the caller's account


def test_the_policy_fix_check_prints_for_a_member_trail_and_an_own_key_runs(
    demo: tuple[str, Any],
) -> None:
    """`check --trail <prod-trail ARN> --key <management key ARN>` is BLOCKED (policy-encrypt)
    and advises `trailkit policy --trail <prod-trail ARN> --key <that key> --apply`. Run as
    printed (preview, without --apply) it must show the repair, not "No trail named ... is
    visible to this caller" (exit 2): Runbook.plan_repair reads the member's trail in the key's
    account when the key is the caller's own."""
    key = _management_key(demo[0])
    code, text = _cli(demo[0], "check", "--trail", PROD_TRAIL, "--key", key)
    assert code == 1, text
    assert "policy-encrypt" in text
    flat = re.sub(r"\s+", " ", text)
    assert f"trailkit policy --trail {PROD_TRAIL} --key {key} --apply" in flat, flat
    code, text = _cli(demo[0], "policy", "--trail", PROD_TRAIL, "--key", key)
    assert "is visible to this caller" not in text, text
    assert code == 0, text
    assert f"arn:aws:cloudtrail:us-east-1:{PROD}:trail/prod-trail" in text


def test_the_policy_fix_check_prints_through_another_role_runs(demo: tuple[str, Any]) -> None:
    """The same for sandbox's trail read through AWSControlTowerExecution."""
    key = _management_key(demo[0], "alias/cloudtrail-good-usw2", "us-west-2")
    role = ["--role-name", "AWSControlTowerExecution"]
    code, text = _cli(demo[0], "check", "--trail", SANDBOX_TRAIL, "--key", key, *role)
    assert code == 1 and "policy-encrypt" in text, text
    code, text = _cli(demo[0], "policy", "--trail", SANDBOX_TRAIL, "--key", key, *role)
    assert "is visible to this caller" not in text, text
    assert code == 0, text


# -- 2. journal --all --format json drops via_account ------------------------------------------


def test_journal_json_says_which_account_assumed_the_role(
    demo_rw: tuple[str, Any], tmp_path: Path
) -> None:
    """The journal line of a change in workload-prod records via_account 123456789012; the
    README says `journal --format json` prints every field, and rollback --last picks changes
    by it, yet records.journal.changes_frame leaves it out."""
    journal = str(tmp_path / "j.jsonl")
    code, text = _cli(demo_rw[0], "disable", "--trail", PROD_TRAIL, "--yes", "--journal", journal)
    assert code == 0, text
    raw = [json.loads(line) for line in Path(journal).read_text().splitlines()]
    assert all(r.get("via_account") == MANAGEMENT for r in raw)  # what was recorded
    code, text = _cli(demo_rw[0], "journal", "--all", "--format", "json", "--journal", journal)
    assert code == 0, text
    (row,) = json.loads(text)
    assert row["account"] == PROD
    assert row["role_arn"] == f"arn:aws:iam::{PROD}:role/OrganizationAccountAccessRole"
    assert row.get("via_account") == MANAGEMENT, row


# -- 3. "list the trails of account X" drops the role it was asked through -----------------------


def test_the_fix_of_an_unknown_member_trail_keeps_the_role_name(demo: tuple[str, Any]) -> None:
    """`explain --trail arn:...:666677778888:trail/nope --role-name AWSControlTowerExecution`
    advises `trailkit inventory --accounts 666677778888`; run as printed, that command assumes
    OrganizationAccountAccessRole in sandbox and fails (AccessDenied row, exit 1). The advice
    must carry `--role-name AWSControlTowerExecution` (rules.trails.list_trails_fix)."""
    nope = f"arn:aws:cloudtrail:us-west-2:{SANDBOX}:trail/nope"
    code, text = _cli(
        demo[0],
        "explain",
        "--trail",
        nope,
        "--role-name",
        "AWSControlTowerExecution",
        "--no-history",
    )
    assert code == 2, text
    assert f"trailkit inventory --accounts {SANDBOX}" in text
    printed = _cli(demo[0], "inventory", "--accounts", SANDBOX)[0]
    assert printed == 1  # the command as printed does not read the account
    assert "--role-name AWSControlTowerExecution" in text, text


# -- 4. notebook 04: one unreadable account's trail stops the whole plan ------------------------


@pytest.mark.slow
def test_04_a_trail_of_an_unassumable_account_is_an_error_row_the_others_are_planned(
    demo: tuple[str, Any], kernel_env: str, tmp_path: Path
) -> None:
    """README (Notebooks): "a trail whose account's role cannot be assumed is an error row and
    nothing is sent for it". With org=True and trails = [prod-trail ARN, sandbox-trail ARN],
    prod-trail must be planned and sandbox-trail be an error row naming its account and role;
    today the plan cell says "Not among the trails offered ... Nothing was planned"."""
    journal = tmp_path / "j.jsonl"
    nb = run(
        "04_bulk_update.ipynb",
        tmp_path,
        kernel_env,
        org=True,
        trails=[PROD_TRAIL, SANDBOX_TRAIL],
        keys_by_region={f"{PROD}/us-east-1": "alias/prod-logs", "us-west-2": "alias/x"},
        journal_path=str(journal),
    )
    html = "".join(
        str(o.get("data", {}).get("text/html", "")) + str(o.get("text", ""))
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
    )
    assert "Nothing was planned" not in html
    assert "prod-trail" in html and SANDBOX in html
    assert not journal.exists()


# -- 5. rollback --change of a key policy change prints a command that restores another one -----


def test_rollback_of_a_policy_change_points_at_that_change(
    demo_rw: tuple[str, Any], tmp_path: Path
) -> None:
    """Two key policy changes: the log-archive key (through its role, for prod-trail), then the
    management key alias/no-cloudtrail (for stripped-policy-trail). `rollback --change <the
    first>` refuses and says "restore it with `trailkit policy --restore`"; run as printed that
    restores the newest policy change (alias/no-cloudtrail), not the one named. The advice must
    name the change (runbook.plan_rollback's RefusedError)."""
    endpoint = demo_rw[0]
    journal = ["--journal", str(tmp_path / "j.jsonl")]
    archive_key = "arn:aws:kms:us-east-1:210987654321:alias/shared-logs-key"
    code, text = _cli(
        endpoint,
        "policy",
        "--trail",
        PROD_TRAIL,
        "--key",
        archive_key,
        "--apply",
        "--yes",
        *journal,
    )
    assert code == 0, text
    code, text = _cli(
        endpoint,
        "policy",
        "--trail",
        "stripped-policy-trail",
        "--key",
        "alias/no-cloudtrail",
        "--apply",
        "--yes",
        *journal,
    )
    assert code in (0, 1), text
    code, text = _cli(endpoint, "journal", "--all", "--format", "json", *journal)
    first, second = json.loads(text)
    assert first["account"] == "210987654321" and second["account"] == MANAGEMENT
    code, text = _cli(endpoint, "rollback", "--change", first["change_id"], "--yes", *journal)
    assert "trailkit policy --restore" in text, text
    # the command as printed (previewed with --dry-run) restores the other key's policy
    code, printed = _cli(endpoint, "policy", "--restore", "--dry-run", *journal)
    named = f"trailkit policy --restore {first['change_id']}" in text
    assert named or "account 210987654321" in printed, text + printed
