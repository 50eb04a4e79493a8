"""Issue 16 break-it items 1, 2, 7 and 8 (journal, rollback --last, policy --restore, the
fix command of a member trail), on the demo organization: management 123456789012; members
log-archive 210987654321, workload-prod 333344445555, workload-dev 555566667777."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from english import assert_japanese

from trailkit.aws.session import Connection
from trailkit.demo.estate import cloudtrail_key_policy
from trailkit.errors import JournalError
from trailkit.records import Trail
from trailkit.records.journal import Change, Record, record_from_line, same_place, undoable
from trailkit.rules.checks import trail_option
from trailkit.rules.trails import list_trails_fix
from trailkit.ui.cli import main

REGION = "us-east-1"
MANAGEMENT = "123456789012"
ARCHIVE = "210987654321"
PROD = "333344445555"
DEV = "555566667777"
PROD_TRAIL = f"arn:aws:cloudtrail:{REGION}:{PROD}:trail/prod-trail"
ARCHIVE_TRAIL = f"arn:aws:cloudtrail:{REGION}:{ARCHIVE}:trail/archive-trail"
PROD_ROLE = f"arn:aws:iam::{PROD}:role/OrganizationAccountAccessRole"


def _cli(endpoint: str, *argv: str, lang: str = "en") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["--endpoint-url", endpoint, "--lang", lang, *argv], out, err)
    return code, out.getvalue(), err.getvalue()


def test_rollback_last_does_not_pick_a_role_change_this_caller_never_made(
    demo_rw: tuple[str, Any], tmp_path: Path
) -> None:
    # A journal shared by two operators (TRAILKIT_JOURNAL on a shared path): this caller
    # (management 123456789012) disables pinned-key-trail; someone else's newer change was
    # made in account 999988887777 through a role there. `trailkit rollback --last --dry-run`
    # picks the other operator's change (records.journal.same_place(roles=True) counts every
    # record with a role_arn as "made here", whoever assumed it: the journal does not record
    # the account that assumed the role) and fails with "The role
    # arn:aws:iam::999988887777:role/OrganizationAccountAccessRole ... cannot be assumed"
    # (exit 2); were that role assumable, it would undo someone else's change. README: "--last
    # picks only this account and endpoint". Expected: the plan for pinned-key-trail, exit 0.
    endpoint = demo_rw[0]
    journal = tmp_path / "j.jsonl"
    code, out, err = _cli(
        endpoint, "disable", "--trail", "pinned-key-trail", "--yes", "--journal", str(journal)
    )
    assert code == 0, out + err
    foreign = []
    for line in journal.read_text("utf-8").splitlines():
        record = json.loads(line)
        record.update(
            change_id="chg-20261205T235959Z-ffffff",
            time="2026-12-05T23:59:59Z",
            account="999988887777",
            role_arn="arn:aws:iam::999988887777:role/OrganizationAccountAccessRole",
            caller_arn="arn:aws:sts::999988887777:assumed-role/OrganizationAccountAccessRole/trailkit",
            target_arn="arn:aws:cloudtrail:us-east-1:999988887777:trail/their-trail",
            before="arn:aws:kms:us-east-1:999988887777:key/11111111-2222-3333-4444-555555555555",
        )
        foreign.append(json.dumps(record))
    with journal.open("a", encoding="utf-8") as f:
        f.write("\n".join(foreign) + "\n")
    code, out, err = _cli(endpoint, "rollback", "--last", "--dry-run", "--journal", str(journal))
    assert code == 0, out + err
    assert "pinned-key-trail" in out


def test_a_journal_role_of_another_account_is_an_error_not_a_traceback(
    demo: tuple[str, Any], tmp_path: Path
) -> None:
    # A journal edited or merged by hand (a role ARN of workload-dev on a change of
    # workload-prod's trail). `trailkit rollback --last --dry-run` ends in
    #   ValueError: arn:aws:iam::555566667777:role/... is not a role of account 333344445555
    # raised by AccountAccess.connection (trailkit/aws/accounts.py) through
    # Runbook.for_change/in_account: a traceback, exit 1. Expected: one line saying the
    # journal's change is inconsistent (Record validation, or JournalError), exit 2.
    endpoint = demo[0]
    wrong_role = f"arn:aws:iam::{DEV}:role/OrganizationAccountAccessRole"
    key = f"arn:aws:kms:{REGION}:{PROD}:key/9f2cc1e6-da75-46e2-9c41-13dcd7b951aa"
    common = {
        "account": PROD,
        "after": None,
        "backend": "demo",
        "before": key,
        "caller_arn": f"arn:aws:sts::{PROD}:assumed-role/OrganizationAccountAccessRole/trailkit",
        "change_id": "chg-20261205T071922Z-a54769",
        "endpoint": endpoint,
        "error": None,
        "kind": "trail-key",
        "note": None,
        "region": REGION,
        "role_arn": wrong_role,
        "rollback_of": None,
        "target_arn": PROD_TRAIL,
        "time": "2026-12-05T07:19:22Z",
        "trail_arn": None,
    }
    intent = {**common, "host": "vm", "phase": "intent", "pid": 1, "request_id": None}
    done = {**common, "phase": "done", "request_id": "r-1"}
    journal = tmp_path / "j.jsonl"
    journal.write_text(json.dumps(intent) + "\n" + json.dumps(done) + "\n", encoding="utf-8")
    code, out, err = _cli(endpoint, "rollback", "--last", "--dry-run", "--journal", str(journal))
    assert code == 2, out + err
    assert "Traceback" not in err


def test_policy_restore_last_undoes_a_member_keys_policy_change_made_from_here(
    demo_rw: tuple[str, Any], tmp_path: Path
) -> None:
    # `trailkit policy --trail <archive-trail ARN> --key <log-archive key ARN> --apply --yes`
    # repairs the log-archive key's policy through the member's role (journal: account
    # 210987654321, role_arn set); then `trailkit policy --restore --yes` answers
    #   "No key policy change in J was made on account 123456789012 at ENDPOINT: the journal
    #    holds none made through this connection. Fix: connect to the account ... the change
    #    was made on" (exit 2),
    # while `rollback --last` does find a member trail change made the same way, and
    # `policy --restore <ID>` works. Expected: the last policy change made here, through the
    # role, is restored (exit 0). Suspect: Runbook's last-policy-change lookup filters on
    # the caller's account instead of the changes this caller made (as rollback --last does).
    endpoint = demo_rw[0]
    journal = str(tmp_path / "j.jsonl")
    code, out, err = _cli(
        endpoint, "check", "--trail", ARCHIVE_TRAIL, "--key", "alias/shared-logs-key"
    )
    assert code == 1, out + err
    key = re.search(rf"arn:aws:kms:{REGION}:{ARCHIVE}:key/[0-9a-f-]+", out.replace("\n", ""))
    assert key, out
    code, out, err = _cli(
        endpoint,
        "policy",
        "--trail",
        ARCHIVE_TRAIL,
        "--key",
        key.group(0),
        "--apply",
        "--yes",
        "--journal",
        journal,
    )
    assert code == 0, out + err
    code, out, err = _cli(endpoint, "policy", "--restore", "--yes", "--journal", journal)
    assert code == 0, out + err
    code, out, err = _cli(
        endpoint, "check", "--trail", ARCHIVE_TRAIL, "--key", "alias/shared-logs-key"
    )
    assert code == 1, out + err  # blocked again: the policy is back as it was


def test_checks_fix_command_for_a_member_trail_is_runnable(demo: tuple[str, Any]) -> None:
    # `trailkit check --trail <archive-trail ARN> --key alias/shared-logs-key` (blocked,
    # policy-encrypt) says: "→ add the CloudTrail encrypt statement: `trailkit policy --trail
    # archive-trail --key arn:aws:kms:...:210987654321:key/... --apply`". Run as printed,
    # that command fails: "No trail named 'archive-trail' is visible to this caller" (exit 2),
    # because a bare name is the caller's (management) account. Expected: the fix names the
    # trail by ARN when it is in another account. Suspect: the policy-encrypt fix text in
    # rules.checks / rules.plan uses trail.name.
    endpoint = demo[0]
    code, out, err = _cli(
        endpoint, "check", "--trail", ARCHIVE_TRAIL, "--key", "alias/shared-logs-key"
    )
    assert code == 1, out + err
    found = re.search(r"`(trailkit policy [^`]+)`", out.replace("\n", " "))
    assert found, out
    command = re.sub(r"\s+", " ", found.group(1)).split()[1:]
    command = [a for a in command if a != "--apply"] + ["--dry-run"]
    code, out2, err2 = _cli(endpoint, *command)
    assert code == 0, f"{' '.join(command)}\n{out2}{err2}"


# --- the journal's via_account and role checks (pure) ------------------------------------------

_BASE = {
    "change_id": "chg-1",
    "phase": "intent",
    "kind": "trail-key",
    "time": "2026-12-05T06:00:00Z",
    "caller_arn": f"arn:aws:sts::{PROD}:assumed-role/OrganizationAccountAccessRole/trailkit",
    "account": PROD,
    "endpoint": "",
    "backend": "aws",
    "target_arn": PROD_TRAIL,
    "region": REGION,
    "before": None,
    "after": None,
}


@pytest.mark.parametrize(
    "role",
    [
        f"arn:aws:iam::{DEV}:role/OrganizationAccountAccessRole",  # another account's role
        f"arn:aws:iam::{PROD}:user/ops",  # not a role
        f"arn:aws:sts::{PROD}:assumed-role/OrganizationAccountAccessRole/trailkit",
        "OrganizationAccountAccessRole",
    ],
)
def test_a_line_whose_role_is_not_a_role_of_its_account_is_refused_by_both_readers(
    role: str,
) -> None:
    line = json.dumps({**_BASE, "role_arn": role})
    assert record_from_line(line) is None  # the fast path hands it to from_json, which says why
    with pytest.raises(JournalError, match=r"role_arn.*333344445555"):
        Record.from_json(line)


def test_via_account_is_written_only_with_a_role_and_old_lines_still_read() -> None:
    own = Record.from_json(json.dumps(_BASE | {"account": MANAGEMENT}))
    assert "via_account" not in own.as_dict() and own.via_account is None
    line = json.dumps({**_BASE, "role_arn": PROD_ROLE, "via_account": MANAGEMENT})
    fast, slow = record_from_line(line), Record.from_json(line)
    assert fast == slow and slow.via_account == MANAGEMENT
    assert json.loads(slow.as_json())["via_account"] == MANAGEMENT
    old = Record.from_json(json.dumps({**_BASE, "role_arn": PROD_ROLE}))  # before via_account
    assert old.via_account is None and old.role_arn == PROD_ROLE


@pytest.mark.parametrize(
    ("via", "here", "offered"),
    [
        (MANAGEMENT, MANAGEMENT, True),  # made from this account through the role
        ("999988887777", MANAGEMENT, False),  # another operator's account assumed it
        (None, MANAGEMENT, False),  # who assumed it is not known: undone by id only
        (MANAGEMENT, None, True),  # None: any account
    ],
)
def test_role_changes_count_as_made_here_only_from_the_account_that_assumed_the_role(
    via: str | None, here: str | None, offered: bool
) -> None:
    fields = {**_BASE, "role_arn": PROD_ROLE} | ({"via_account": via} if via else {})
    intent = Record.from_json(json.dumps(fields))
    done = Record.from_json(json.dumps({**fields, "phase": "done"}))
    change = Change("chg-1", intent, done)
    assert same_place(intent, here, "", roles=True) is offered
    assert (undoable([change], account=here, endpoint="", roles=True) == [change]) is offered
    assert not same_place(intent, MANAGEMENT, "", roles=False)


# --- the journal records who assumed the role; the end of undoing says where ------------------


def test_a_change_through_a_role_records_the_account_that_assumed_it_and_says_where_when_undone(
    demo_rw: tuple[str, Any], tmp_path: Path
) -> None:
    endpoint = demo_rw[0]
    prod = Connection(endpoint_url=endpoint, region=REGION, workers=4).assumed(PROD_ROLE)
    policy = json.dumps(cloudtrail_key_policy(PROD, region=REGION))
    new_key = prod.client("kms", REGION).create_key(Policy=policy)["KeyMetadata"]["Arn"]
    journal = tmp_path / "j.jsonl"
    code, out, err = _cli(
        endpoint,
        "update",
        "--trail",
        PROD_TRAIL,
        "--key",
        new_key,
        "--yes",
        "--journal",
        str(journal),
    )
    assert code == 0, out + err
    lines = [json.loads(line) for line in journal.read_text("utf-8").splitlines()]
    assert [(r["phase"], r["account"], r["via_account"]) for r in lines] == [
        ("intent", PROD, MANAGEMENT),
        ("done", PROD, MANAGEMENT),
    ]
    code, out, err = _cli(endpoint, "rollback", "--last", "--yes", "--journal", str(journal))
    assert code == 0, out + err
    code, out, err = _cli(endpoint, "rollback", "--last", "--yes", "--journal", str(journal))
    assert code == 0, out + err  # nothing left to undo is not a failure
    said = " ".join((out + err).split())
    assert f"from account {MANAGEMENT}, in accounts {PROD}" in said, out + err
    assert f"every trail change made on account {MANAGEMENT}" not in said
    code, out, err = _cli(
        endpoint, "rollback", "--last", "--yes", "--journal", str(journal), lang="ja"
    )
    said = out + err
    assert code == 0 and PROD in said and MANAGEMENT in said
    assert_japanese(said, [str(journal), endpoint, "--change", "ID"])


# --- the fix of a "No trail" error for a member ARN names the account to list -------------------


def test_trail_option_names_another_accounts_trail_by_arn() -> None:
    trail = Trail(
        name="archive-trail",
        arn=ARCHIVE_TRAIL,
        home_region=REGION,
        account=ARCHIVE,
        multi_region=True,
        organization=False,
        bucket_name="logs",
        s3_prefix=None,
        kms_key_id=None,
        log_file_validation=True,
    )
    assert trail_option(trail) == "archive-trail"
    assert trail_option(trail, ARCHIVE) == "archive-trail"
    assert trail_option(trail, MANAGEMENT) == ARCHIVE_TRAIL
    assert list_trails_fix("archive-trail") is None
    assert f"`trailkit inventory --accounts {ARCHIVE}`" in (list_trails_fix(ARCHIVE_TRAIL) or "")


@pytest.mark.parametrize(
    "argv",
    [
        ("check", "--key", "alias/x"),
        ("policy", "--key", "alias/x"),
        ("update", "--key", "alias/x", "--dry-run"),
    ],
)
def test_no_trail_for_a_member_arn_suggests_listing_that_account(
    demo: tuple[str, Any], argv: tuple[str, ...]
) -> None:
    missing = f"arn:aws:cloudtrail:{REGION}:{PROD}:trail/nope"
    command, *rest = argv
    code, out, err = _cli(demo[0], command, "--trail", missing, *rest)
    assert code != 0
    said = " ".join((out + err).split())
    assert f"`trailkit inventory --accounts {PROD}`" in said, out + err
    assert "with `trailkit inventory`" not in said and "name with `trailkit inventory`" not in said
    code, out, err = _cli(demo[0], command, "--trail", missing, *rest, lang="ja")
    assert f"`trailkit inventory --accounts {PROD}`" in " ".join((out + err).split())
    assert_japanese(out + err, [missing, demo[0], "alias/x"])


def test_a_damaged_role_line_is_said_in_japanese(demo: tuple[str, Any], tmp_path: Path) -> None:
    line = {
        **_BASE,
        "endpoint": demo[0],
        "backend": "demo",
        "role_arn": f"arn:aws:iam::{DEV}:role/R",
    }
    journal = tmp_path / "j.jsonl"
    journal.write_text(json.dumps(line) + "\n", encoding="utf-8")
    code, _out, err = _cli(
        demo[0], "rollback", "--last", "--dry-run", "--journal", str(journal), lang="ja"
    )
    assert code == 2 and "Traceback" not in err
    assert "role_arn" in err
    assert_japanese(err, [str(journal), demo[0], f"arn:aws:iam::{DEV}:role/R", "--change", "ID"])
