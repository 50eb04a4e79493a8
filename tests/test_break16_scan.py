"""Bugs found by trying issue 16's work (the whole organization from one place) as a new
operator would, on the demo organization: management 123456789012; members log-archive
210987654321, workload-prod 333344445555, workload-dev 555566667777 and sandbox 666677778888
(only AWSControlTowerExecution there). Each test fails on the code it was written against."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from trailkit.ui.cli import main

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"
MANAGEMENT = "123456789012"
ARCHIVE = "210987654321"
PROD = "333344445555"
DEV = "555566667777"
SANDBOX = "666677778888"
PROD_TRAIL = f"arn:aws:cloudtrail:{REGION}:{PROD}:trail/prod-trail"
ARCHIVE_TRAIL = f"arn:aws:cloudtrail:{REGION}:{ARCHIVE}:trail/archive-trail"
SANDBOX_TRAIL = f"arn:aws:cloudtrail:us-west-2:{SANDBOX}:trail/sandbox-trail"


def _cli(endpoint: str, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["--endpoint-url", endpoint, "--lang", "en", *argv], out, err)
    return code, out.getvalue(), err.getvalue()


def _rows(endpoint: str, *argv: str) -> tuple[int, list[dict[str, Any]], str]:
    code, out, err = _cli(endpoint, "inventory", "--format", "json", *argv)
    return code, json.loads(out), err


def _org_trail(rows: list[dict[str, Any]]) -> dict[str, Any]:
    (row,) = [r for r in rows if r["name"] == "org-trail"]
    return row


def test_members_whose_role_cannot_be_assumed_leave_the_org_trail_unverified(
    demo: tuple[str, Any],
) -> None:
    # `trailkit inventory --org --role-name AWSControlTowerExecution`: log-archive,
    # workload-prod and workload-dev cannot be assumed (error rows, exit 1), so org-trail's
    # status in 3 of its 4 members is unknown; yet org-trail's health is plain "sse-s3" with
    # no reason at all (and with the default role, "Delivery errors in 1 of 3 member
    # accounts" silently counts 3 of 4, sandbox unmentioned). Expected: the org trail's one
    # health line says which members were not read (member-status-unreadable, README's
    # "could not be read in some of its member accounts"), never a clean bill.
    # Suspect: aws.org._merge only fills member_status from members that were read.
    code, rows, _err = _rows(demo[0], "--org", "--role-name", "AWSControlTowerExecution")
    assert code == 1
    codes = [h["code"] for h in _org_trail(rows)["health_reasons"]]
    assert "member-status-unreadable" in codes, _org_trail(rows)


def test_with_the_default_role_the_unread_sandbox_is_named_on_the_org_trail(
    demo: tuple[str, Any],
) -> None:
    code, rows, _err = _rows(demo[0], "--org")
    assert code == 1
    messages = " ".join(h["message"] for h in _org_trail(rows)["health_reasons"])
    assert SANDBOX in messages, messages


def test_a_scan_of_one_member_shows_the_account_column(demo: tuple[str, Any]) -> None:
    # `trailkit inventory --accounts 333344445555` lists prod-trail (workload-prod) AND org-trail
    # (the management account's, seen from the member), but in the single-account table
    # without an account column: nothing says org-trail is not workload-prod's. The JSON has
    # `account` on each row; the table switches on len(inv.accounts) > 1 (ui/cli.py
    # cmd_inventory), not on the accounts of the rows. Expected: the account column.
    code, out, err = _cli(demo[0], "inventory", "--accounts", PROD)
    assert code == 0, err
    assert "org-trail" in out and "prod-trail" in out
    assert re.search(r"^account\s+trail", out, re.M), out


def test_the_managements_name_is_kept_when_it_is_excluded(demo: tuple[str, Any]) -> None:
    # `trailkit inventory --org --exclude-accounts 123456789012 --format json`: org-trail's
    # row has account_name null, though ListAccounts named the account "management" (the
    # issue: every row carries "account name when known"). With the management account in
    # the scan the same row says "management".
    code, rows, _err = _rows(demo[0], "--org", "--exclude-accounts", MANAGEMENT)
    assert code == 1
    row = _org_trail(rows)
    assert row["account"] == MANAGEMENT
    assert row["account_name"] == "management", row


@pytest.mark.parametrize(
    "argv",
    [("--role-name", "AWSControlTowerExecution"), ("--external-id", "abc123")],
)
def test_a_role_option_without_accounts_is_a_usage_error_as_exclude_accounts_is(
    demo: tuple[str, Any], argv: tuple[str, ...]
) -> None:
    # `trailkit inventory --exclude-accounts 1` is refused ("leaves accounts out of a scan of
    # several accounts. Fix: add --org or --accounts", exit 2) but `trailkit inventory
    # --role-name AWSControlTowerExecution` or `--external-id abc123` alone scans the caller's
    # account only and exits 0: the operator who forgot --org gets one account and no word.
    code, _out, err = _cli(demo[0], "inventory", "--format", "json", *argv)
    assert code == 2, err
    assert "--org" in err


def test_an_at_sign_alone_does_not_name_the_current_directory(demo: tuple[str, Any]) -> None:
    # `trailkit inventory --accounts @` says "the file . cannot be read (IsADirectoryError)":
    # the operator gave no file at all. Expected: "@ names no file" (or the like).
    code, _out, err = _cli(demo[0], "inventory", "--accounts", "@")
    assert code == 2
    assert "the file . " not in err, err


def test_accounts_given_twice_are_not_silently_dropped(demo: tuple[str, Any]) -> None:
    # `trailkit inventory --accounts 333344445555 --accounts 555566667777` scans 555566667777
    # only (argparse's last value wins), exit 0: workload-prod is left out without a word,
    # where --trail and --reader-account are repeatable. Expected: both accounts, or a usage
    # error (exit 2) saying to separate the ids with commas.
    code, out, _err = _cli(
        demo[0], "inventory", "--format", "json", "--accounts", PROD, "--accounts", DEV
    )
    if code != 2:
        accounts = {r["account"] for r in json.loads(out)}
        assert PROD in accounts, (code, sorted(accounts))


def test_an_accounts_file_saved_with_a_utf8_bom_is_read(
    demo: tuple[str, Any], tmp_path: Path
) -> None:
    # An ids file saved by Notepad or exported from Excel starts with a UTF-8 BOM:
    # `trailkit inventory --accounts @ids.txt` -> "'\ufeff333344445555' is not one: it
    # contains '\ufeff' (U+FEFF ZERO WIDTH NO-BREAK SPACE)", exit 2. Expected: the BOM is
    # not part of the text (read the file as utf-8-sig; ui/cli.py's @FILE reader).
    ids = tmp_path / "ids.txt"
    ids.write_bytes(b"\xef\xbb\xbf" + f"{PROD}\r\n{DEV}\r\n".encode())
    code, out, err = _cli(demo[0], "inventory", "--format", "json", "--accounts", f"@{ids}")
    assert code == 0, err
    assert {PROD, DEV} <= {r["account"] for r in json.loads(out)}


def test_explain_of_the_org_trail_does_not_say_no_problem_while_a_member_fails(
    demo: tuple[str, Any],
) -> None:
    # `trailkit inventory --org` marks org-trail broken (member-delivery-error: workload-dev
    # 555566667777 refuses the upload). Drilling down, `trailkit explain --trail org-trail
    # --no-history` says "Health: SSE-S3 / No problem found ... delivery errors: none", and
    # explain has no --org/--accounts to look at the members: the operator is told the
    # broken trail is fine. Expected: the members' status (or at least a line that delivery
    # errors of an organization trail show only in the member accounts, with the command that
    # reads them).
    code, out, err = _cli(demo[0], "explain", "--trail", "org-trail", "--no-history")
    assert code in (0, 1), err
    assert DEV in out or "member" in out.lower(), out


def test_check_reads_a_key_of_another_account_of_the_organization_through_its_owner(
    demo: tuple[str, Any],
) -> None:
    # The issue's own estate: member trails writing with the log-archive account's key.
    # `trailkit check --trail arn:aws:cloudtrail:us-east-1:333344445555:trail/prod-trail --key
    # <alias/shared-logs-key's ARN in 210987654321>` -> UNVERIFIABLE (exit 3): key-unreadable
    # "could not be described from this account" + policy-unverifiable "ask the key's owner",
    # and update refuses it without --accept-unverifiable. Yet trailkit reaches
    # 210987654321 through the same role (`inventory --org` reads that key "by its owner ...
    # its policy is then known, where a member could not read it", aws/org.py). Expected: the
    # key described and its policy evaluated through the owner's role: the policy names only
    # 123456789012's trails, so BLOCKED (policy-encrypt, exit 1), not "unknown".
    endpoint = demo[0]
    code, out, err = _cli(
        endpoint, "check", "--trail", ARCHIVE_TRAIL, "--key", "alias/shared-logs-key"
    )
    key = re.search(rf"arn:aws:kms:{REGION}:{ARCHIVE}:key/[0-9a-f-]+", out.replace("\n", ""))
    assert key, out + err
    code, out, err = _cli(endpoint, "check", "--trail", PROD_TRAIL, "--key", key.group(0))
    assert "key-unreadable" not in out, out
    assert code == 1, out + err


# --- tests added with the fixes ------------------------------------------------------------


def _key_of(estate: Any, account: str, region: str = REGION) -> str:
    """A demo key ARN of ``account`` in ``region`` (any, enabled or not)."""
    found = [
        arn for arn in estate.keys.values() if arn.startswith(f"arn:aws:kms:{region}:{account}:")
    ]
    assert found, sorted(estate.keys.values())
    return sorted(found)[0]


def test_a_health_filter_keeps_the_rows_of_accounts_that_could_not_be_read(
    demo: tuple[str, Any],
) -> None:
    # `inventory --org --health broken` dropped sandbox's error row (its health is none):
    # exit 1 with nothing saying which account was not read. The unread account may hide a
    # broken trail: its row stays, whatever the filter.
    code, rows, _err = _rows(demo[0], "--org", "--health", "broken")
    assert code == 1
    unread = [r for r in rows if r["trail_arn"] is None]
    assert [r["account"] for r in unread] == [SANDBOX], rows
    assert unread[0]["account_name"] == "sandbox"
    assert {r["health"] for r in rows if r["trail_arn"] is not None} == {"broken"}
    code, out, _err = _cli(demo[0], "inventory", "--org", "--health", "broken")
    assert code == 1
    assert f"(account {SANDBOX} could not be read)" in " ".join(out.split())


def test_the_unread_members_are_counted_with_the_others(demo: tuple[str, Any]) -> None:
    # sandbox's role cannot be assumed: the delivery errors are "1 of 4", and the one
    # member-status-unreadable reason names sandbox only, with a fix that fits a role refused
    code, rows, _err = _rows(demo[0], "--org")
    assert code == 1
    reasons = {h["code"]: h for h in _org_trail(rows)["health_reasons"]}
    assert "1 of 4 member accounts" in reasons["member-delivery-error"]["message"]
    unread = reasons["member-status-unreadable"]
    assert unread["health"] == "unverifiable"
    assert "1 of 4 member accounts" in unread["message"]
    assert f"sandbox ({SANDBOX})" in unread["message"]
    assert DEV not in unread["message"] and PROD not in unread["message"]
    assert "could not be assumed" in unread["fix"]
    # a scan that reads every member leaves no such reason
    code, rows, _err = _rows(demo[0], "--org", "--exclude-accounts", SANDBOX)
    codes = [h["code"] for h in _org_trail(rows)["health_reasons"]]
    assert "member-status-unreadable" not in codes, codes


def test_an_account_read_in_full_without_the_org_trail_is_no_member() -> None:
    # pure: the accounts whose trails could not be listed get an unknown status; those read
    # (in member_status already) keep theirs, and a trail that is not an organization's none
    from trailkit.aws.org import _unread_members
    from trailkit.records import TrailStatus

    def trail(arn: str, organization: bool) -> Any:
        from types import SimpleNamespace

        return SimpleNamespace(organization=organization, account=MANAGEMENT, arn=arn)

    org = f"arn:aws:cloudtrail:{REGION}:{MANAGEMENT}:trail/org-trail"
    own = f"arn:aws:cloudtrail:{REGION}:{MANAGEMENT}:trail/own"
    members = {org: {PROD: TrailStatus(is_logging=True)}}
    _unread_members(
        {org: trail(org, True), own: trail(own, False)},
        {MANAGEMENT: "denied", PROD: "ListTrails failed", SANDBOX: "role refused"},
        members,
    )
    assert set(members) == {org}
    assert members[org][PROD] == TrailStatus(is_logging=True)
    assert members[org][SANDBOX].error == "role refused"
    assert MANAGEMENT not in members[org]  # the owner is no member of its own trail


def test_explain_of_an_organization_trail_says_its_members_were_not_read(
    demo: tuple[str, Any],
) -> None:
    code, out, err = _cli(demo[0], "explain", "--trail", "org-trail", "--no-history")
    assert code in (0, 1), err
    flat = " ".join(out.split())
    assert "No problem found." not in flat
    assert "`trailkit inventory --org`" in flat
    code, out, err = _cli(
        demo[0], "explain", "--trail", "org-trail", "--no-history", "--format", "json"
    )
    note = json.loads(out)["delivery"]["members_unread"]
    assert note and "trailkit inventory --org" in note
    code, out, err = _cli(
        demo[0], "explain", "--trail", PROD_TRAIL, "--no-history", "--format", "json"
    )
    assert json.loads(out)["delivery"]["members_unread"] is None, out


def test_check_reads_the_callers_own_key_for_a_member_trail(demo: tuple[str, Any]) -> None:
    # a key of the management account (the caller's) for workload-prod's trail: described by
    # the caller (its policy known), not "ask the key's owner"
    key = _key_of(demo[1], MANAGEMENT)
    _code, out, err = _cli(demo[0], "check", "--trail", PROD_TRAIL, "--key", key)
    flat = " ".join(out.split())
    assert "key-unreadable" not in flat and "policy-unverifiable" not in flat, out + err
    assert key in flat


def test_check_with_the_key_of_an_unreachable_account_stays_unverifiable(
    demo: tuple[str, Any],
) -> None:
    # sandbox's role cannot be assumed with the default role: a key ARN there is read from the
    # trail's account as before (key-unreadable, unverifiable: exit 3), no traceback
    key = f"arn:aws:kms:{REGION}:{SANDBOX}:key/0b3f5c1e-2d4a-4b6c-8e9f-1a2b3c4d5e6f"
    code, out, err = _cli(demo[0], "check", "--trail", PROD_TRAIL, "--key", key)
    assert "Traceback" not in err
    assert code == 3, out + err
    assert "key-unreadable" in out, out


def test_exclude_accounts_given_twice_add_up(demo: tuple[str, Any]) -> None:
    code, rows, err = _rows(
        demo[0], "--org", "--exclude-accounts", SANDBOX, "--exclude-accounts", DEV
    )
    assert code == 0, err
    accounts = {r["account"] for r in rows}
    assert SANDBOX not in accounts
    assert DEV not in accounts - {MANAGEMENT}


def test_the_fixed_messages_in_japanese(demo: tuple[str, Any], tmp_path: Path) -> None:
    from tests.english import assert_japanese

    endpoint = demo[0]

    def ja(*argv: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        code = main(["--endpoint-url", endpoint, "--lang", "ja", *argv], out, err)
        return code, out.getvalue(), err.getvalue()

    code, _out, err = ja("inventory", "--accounts", "@")
    assert code == 2
    assert_japanese(err, {"--accounts", "@PATH"}, what="--accounts @")
    code, _out, err = ja("inventory", "--role-name", "AWSControlTowerExecution")
    assert code == 2
    assert_japanese(err, {"--role-name", "--org", "--accounts", "inventory"}, what="--role-name")
    code, out, _err = ja("inventory", "--org", "--format", "json")
    (org_trail,) = [r for r in json.loads(out) if r["name"] == "org-trail"]
    (unread,) = [h for h in org_trail["health_reasons"] if h["code"] == "member-status-unreadable"]
    names = {"org-trail", "sandbox", "cloudtrail:GetTrailStatus", "trailkit"}
    assert_japanese(unread["message"], names, what="member-status-unreadable")
    assert_japanese(unread["fix"], names, what="member-status-unreadable fix")
    code, out, _err = ja("explain", "--trail", "org-trail", "--no-history")
    flat = " ".join(out.split())
    assert "メンバーアカウント" in flat and "`trailkit inventory --org`" in flat
    start = out.index("org-trail は")
    assert_japanese(
        " ".join(out[start:].split("\n\n")[0].split()),
        {"org-trail", "CloudTrail", "trailkit inventory --org"},
        what="explain's member note",
    )
