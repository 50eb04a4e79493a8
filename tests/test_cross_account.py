"""Changes across accounts (issue 16): a trail of a member account, given by ARN, is read and
changed through the member's role; the plan shows the account and the role, the journal records
them, and a rollback undoes the change through the role it recorded.

The organization is moto's own (``organizations.create_organization`` / ``create_account``,
which creates ``OrganizationAccountAccessRole`` in the member); the member's trail, bucket and
key are made with the member role's credentials, so they live in the member account.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from english import assert_japanese

from trailkit.aws.session import Connection
from trailkit.change.journal import Journal, Kind, Phase, Record
from trailkit.demo.estate import cloudtrail_bucket_policy, cloudtrail_key_policy
from trailkit.i18n import speaking
from trailkit.records.journal import changes_frame, record_from_line, undoable
from trailkit.runbook import Runbook
from trailkit.ui.cli import main
from trailkit.ui.terminal import plan_view

REGION = "us-east-1"
MANAGEMENT = "123456789012"
ROLE = "OrganizationAccountAccessRole"


@dataclass(frozen=True)
class Org:
    endpoint: str
    management: Connection
    member: str
    role_arn: str
    trail_arn: str
    key_arn: str
    other_key_arn: str

    def member_conn(self) -> Connection:
        """The member's own view, for the test's checks (not trailkit's way in)."""
        return self.management.assumed(self.role_arn)

    def member_key(self) -> str | None:
        answer = self.member_conn().client("cloudtrail", REGION).get_trail(Name=self.trail_arn)
        return answer["Trail"].get("KmsKeyId") or None  # moto keeps "" after SSE-S3


@pytest.fixture
def org(clean_moto: str) -> Org:
    management = Connection(endpoint_url=clean_moto, region=REGION, workers=4)
    orgs = management.client("organizations", REGION)
    orgs.create_organization(FeatureSet="ALL")
    status = orgs.create_account(Email="workload@example.com", AccountName="workload-prod")
    member = status["CreateAccountStatus"]["AccountId"]
    role_arn = f"arn:aws:iam::{member}:role/{ROLE}"
    conn = management.assumed(role_arn)
    assert conn.info().account == member
    bucket = f"workload-trail-logs-{member}"
    name = "workload-trail"
    trail_arn = f"arn:aws:cloudtrail:{REGION}:{member}:trail/{name}"
    s3 = conn.client("s3", REGION)
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_policy(
        Bucket=bucket, Policy=json.dumps(cloudtrail_bucket_policy(bucket, member, trail_arn))
    )
    kms = conn.client("kms", REGION)
    keys = []
    for alias in ("alias/workload-trail", "alias/workload-other"):
        meta = kms.create_key(Policy=json.dumps(cloudtrail_key_policy(member, region=REGION)))
        kms.create_alias(AliasName=alias, TargetKeyId=meta["KeyMetadata"]["KeyId"])
        keys.append(meta["KeyMetadata"]["Arn"])
    trail = conn.client("cloudtrail", REGION).create_trail(Name=name, S3BucketName=bucket)
    assert trail["TrailARN"] == trail_arn
    return Org(clean_moto, management, member, role_arn, trail_arn, keys[0], keys[1])


def _cli(org: Org, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["--endpoint-url", org.endpoint, *argv], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_update_and_rollback_last_act_through_the_members_role(org: Org, tmp_path: Path) -> None:
    """The issue's acceptance: update a member's trail by ARN with its key, then
    ``rollback --last`` undoes it; every record names the member account and the role."""
    journal = tmp_path / "journal.jsonl"
    assert org.member_key() is None
    code, out, err = _cli(
        org, "update", "--trail", org.trail_arn, "--key", org.key_arn, "--yes",
        "--journal", str(journal),
    )  # fmt: skip
    assert code == 0, err + out
    assert org.member_key() == org.key_arn
    assert org.role_arn in out  # the plan said through which role, before sending
    records = _lines(journal)
    assert [r["phase"] for r in records] == ["intent", "done"]
    for record in records:
        assert record["account"] == org.member
        assert record["role_arn"] == org.role_arn
        assert record["caller_arn"] == f"arn:aws:sts::{org.member}:assumed-role/{ROLE}/trailkit"
        assert record["target_arn"] == org.trail_arn
    assert records[0]["before"] is None and records[1]["after"] == org.key_arn
    code, out, err = _cli(org, "journal", "--all", "--journal", str(journal))
    assert code == 0, err
    (line,) = [row for row in out.splitlines() if row.startswith("chg-")]
    # ... account, role_arn, via_account, delivery (no proof yet: "-")
    assert line.split()[-4:-2] == [org.member, org.role_arn] and line.split()[-1] == "-"

    code, out, err = _cli(org, "rollback", "--last", "--yes", "--journal", str(journal))
    assert code == 0, err + out
    assert org.member_key() is None
    records = _lines(journal)
    assert [r["phase"] for r in records] == ["intent", "done", "intent", "done"]
    undo = records[2:]
    assert all(r["rollback_of"] == records[0]["change_id"] for r in undo)
    assert all(r["role_arn"] == org.role_arn and r["account"] == org.member for r in undo)
    assert undo[1]["after"] is None

    # An undo never redoes: the rollback itself is not what --last offers next.
    code, out, err = _cli(org, "rollback", "--last", "--yes", "--journal", str(journal))
    assert code == 0, err + out
    assert "Nothing to undo" in out
    assert len(_lines(journal)) == 4
    assert org.member_key() is None


def test_a_rollback_assumes_the_role_the_change_recorded(org: Org, tmp_path: Path) -> None:
    """A different ``--role-name`` today does not change which role undoes a recorded change
    (moto would let any role be assumed, so the caller ARN shows which one was)."""
    journal = tmp_path / "journal.jsonl"
    code, _out, err = _cli(
        org, "update", "--trail", org.trail_arn, "--key", org.key_arn, "--yes",
        "--journal", str(journal),
    )  # fmt: skip
    assert code == 0, err
    code, _out, err = _cli(
        org, "rollback", "--last", "--yes", "--role-name", "AWSControlTowerExecution",
        "--journal", str(journal),
    )  # fmt: skip
    assert code == 0, err
    undo = _lines(journal)[2:]
    assert {r["role_arn"] for r in undo} == {org.role_arn}
    assert {r["caller_arn"] for r in undo} == {
        f"arn:aws:sts::{org.member}:assumed-role/{ROLE}/trailkit"
    }
    assert org.member_key() is None


def test_the_plan_shows_the_account_and_the_role_and_a_dry_run_sends_nothing(
    org: Org, tmp_path: Path
) -> None:
    journal = tmp_path / "journal.jsonl"
    argv = ("update", "--trail", org.trail_arn, "--key", org.key_arn, "--dry-run")
    code, out, err = _cli(org, *argv, "--journal", str(journal))
    assert code == 0, err
    assert f"(account {org.member})" in out
    assert org.role_arn in out
    assert not journal.exists() and org.member_key() is None
    code, out, err = _cli(org, *argv, "--format", "json", "--journal", str(journal))
    assert code == 0, err
    (plan,) = json.loads(out)["plans"]
    assert (plan["account"], plan["role_arn"], plan["trail_arn"]) == (
        org.member,
        org.role_arn,
        org.trail_arn,
    )
    assert plan["verdict"] == "ready"
    assert org.member_key() is None


def test_check_keys_and_disable_read_the_member_trail_through_its_role(
    org: Org, tmp_path: Path
) -> None:
    code, out, err = _cli(org, "check", "--trail", org.trail_arn, "--key", org.key_arn)
    assert code == 0, err + out
    code, out, err = _cli(
        org, "explain", "--trail", org.trail_arn, "--no-history", "--format", "json"
    )
    assert code == 0, err + out
    assert org.trail_arn in out and f"assumed-role/{ROLE}" not in err
    code, out, err = _cli(org, "keys", "--trail", org.trail_arn, "--format", "json")
    assert code == 0, err
    ranked = {row["key_arn"] for row in json.loads(out)} if out.strip() else set()
    assert {org.key_arn, org.other_key_arn} <= ranked
    journal = tmp_path / "journal.jsonl"
    code, _out, err = _cli(
        org, "update", "--trail", org.trail_arn, "--key", org.key_arn, "--yes",
        "--journal", str(journal),
    )  # fmt: skip
    assert code == 0, err
    code, _out, err = _cli(
        org, "disable", "--trail", org.trail_arn, "--yes", "--journal", str(journal)
    )
    assert code == 0, err
    assert org.member_key() is None
    assert [r["role_arn"] for r in _lines(journal)] == [org.role_arn] * 4


def test_the_runbook_routes_by_the_trail_arns_account(org: Org, tmp_path: Path) -> None:
    book = Runbook(org.management, Journal(tmp_path / "j.jsonl"))
    assert book.in_account(MANAGEMENT) is book
    assert book.for_trail("workload-trail") is book  # a name is the connection's own
    member = book.for_trail(org.trail_arn)
    assert member is book.in_account(org.member)  # assumed once
    assert member.info().account == org.member and member.info().role_arn == org.role_arn
    assert member.journal is book.journal and member.access is book.access
    trail = book.find_trail(org.trail_arn)
    assert trail.arn == org.trail_arn
    plan = book.plan_for(trail, org.key_arn)
    assert plan.account == org.member and not plan.blocked
    (result,) = book.apply_many([plan], confirmed=True)
    assert result.outcome.value == "done", result.message
    assert org.member_key() == org.key_arn
    # the bulk notebook's plan_many: the member trail planned in its account
    ((_trail, other),) = book.plan_many([trail], {REGION: org.other_key_arn})
    assert not isinstance(other, Exception), other
    assert other.after_key == org.other_key_arn and other.before_key == org.key_arn
    offered = book.undoable()
    assert [c.intent.target_arn for c in offered] == [org.trail_arn]
    done = book.undo(offered[0].change_id, confirmed=True)
    assert done.outcome.value == "done", done.message
    assert org.member_key() is None


def test_a_dry_run_member_runbook_refuses_before_anything_is_journaled(
    org: Org, tmp_path: Path
) -> None:
    from trailkit.errors import RefusedError

    path = tmp_path / "j.jsonl"
    book = Runbook(org.management, Journal(path), dry_run=True)
    plan = book.plan_for(org.trail_arn, org.key_arn)
    with pytest.raises(RefusedError):
        book.apply(plan, confirmed=True)
    assert book.for_trail(org.trail_arn).dry_run is True
    assert not path.exists() and org.member_key() is None


def test_reconcile_settles_a_member_intent_through_its_role(org: Org, tmp_path: Path) -> None:
    """A crash between the intent and the outcome of a member change: ``journal --reconcile``
    from the management account reads the member trail through the recorded role."""
    journal = Journal(tmp_path / "j.jsonl")
    org.member_conn().client("cloudtrail", REGION).update_trail(
        Name=org.trail_arn, KmsKeyId=org.key_arn
    )
    intent = journal.record_intent(
        kind=Kind.TRAIL_KEY,
        target_arn=org.trail_arn,
        region=REGION,
        before=None,
        after=org.key_arn,
        caller_arn=f"arn:aws:sts::{org.member}:assumed-role/{ROLE}/trailkit",
        account=org.member,
        endpoint=org.endpoint,
        backend="demo",
        role_arn=org.role_arn,
        change_id="chg-crashed",
    )
    # written by this process and no longer in flight: the writer is known to be gone
    assert intent.role_arn == org.role_arn
    skipped: list[str] = []
    settled = Runbook(org.management, journal).reconcile(
        on_skip=lambda change, why: skipped.append(why)
    )
    assert skipped == []
    ((change, record),) = settled
    assert change.change_id == "chg-crashed" and change.status == "reconciled-done"
    assert record.role_arn == org.role_arn and record.after == org.key_arn


def test_role_arn_is_journaled_only_when_a_role_was_used_and_old_lines_still_read() -> None:
    base = {
        "change_id": "chg-1",
        "phase": "intent",
        "kind": "trail-key",
        "time": "2026-12-05T06:00:00Z",
        "caller_arn": "arn:aws:iam::123456789012:user/ops",
        "account": "123456789012",
        "endpoint": "",
        "backend": "aws",
        "target_arn": "arn:aws:cloudtrail:us-east-1:123456789012:trail/t",
        "region": "us-east-1",
        "before": None,
        "after": None,
    }
    old = json.dumps(base)  # a line written before role_arn existed
    for parsed in (Record.from_json(old), record_from_line(old)):
        assert parsed is not None and parsed.role_arn is None
        assert "role_arn" not in parsed.as_dict()  # written back as older versions wrote it
    role = "arn:aws:iam::210987654321:role/OrganizationAccountAccessRole"
    new = json.dumps({**base, "account": "210987654321", "role_arn": role})
    fast, slow = record_from_line(new), Record.from_json(new)
    assert fast == slow and slow.role_arn == role
    assert json.loads(slow.as_json())["role_arn"] == role
    with pytest.raises(Exception, match="role_arn"):
        Record.from_json(json.dumps({**base, "role_arn": 7}))
    # changes_frame carries it; --last offers another account's change only when it was made
    # through a role (so it can be reached again through that role)
    done = Record.from_json(json.dumps({**json.loads(new), "phase": "done"}))
    from trailkit.records.journal import Change

    made = Change("chg-1", slow, done)
    assert changes_frame([made])[0]["role_arn"] == role
    assert undoable([made], account="123456789012", endpoint="") == []
    # a role change recorded without the account that assumed the role (written before
    # via_account existed) is undone by its id only: whose it is cannot be told
    assert undoable([made], account="123456789012", endpoint="", roles=True) == []
    via = {"via_account": "123456789012"}
    mine = Change(
        "chg-1",
        Record.from_json(json.dumps({**json.loads(new), **via})),
        Record.from_json(json.dumps({**json.loads(done.as_json()), **via})),
    )
    assert undoable([mine], account="123456789012", endpoint="", roles=True) == [mine]
    assert undoable([mine], account="999988887777", endpoint="", roles=True) == []
    direct = Record.from_json(json.dumps({**base, "account": "210987654321"}))
    direct_done = Record.from_json(json.dumps({**json.loads(direct.as_json()), "phase": "done"}))
    plain = Change("chg-1", direct, direct_done)
    assert undoable([plain], account="123456789012", endpoint="", roles=True) == []
    assert Phase.DONE.value == "done" and Kind.TRAIL_KEY.value == "trail-key"


def test_the_plan_names_the_role_in_japanese(org: Org, tmp_path: Path) -> None:
    from rich.console import Console

    book = Runbook(org.management, Journal(tmp_path / "j.jsonl"))
    plan = book.plan_for(org.trail_arn, org.key_arn)
    with speaking("ja"):
        console = Console(file=io.StringIO(), width=120, color_system=None)
        console.print(plan_view(plan, role_arn=org.role_arn, account_name="workload-prod"))
        text = console.file.getvalue()  # type: ignore[attr-defined]
    assert org.role_arn in text and "workload-prod" in text
    assert_japanese(text, names=("workload-trail", "workload-prod"), what="plan")


def test_a_member_whose_role_cannot_be_assumed_is_refused_before_anything_is_read(
    org: Org, tmp_path: Path
) -> None:
    """A member account created with another role name: AssumeRole is refused (AccessDenied),
    the command says which account and role, and nothing is journaled or sent; the bulk
    update's rows name the error per trail."""
    orgs = org.management.client("organizations", REGION)
    status = orgs.create_account(
        Email="sandbox@example.com", AccountName="sandbox", RoleName="SandboxAdmin"
    )
    sandbox = status["CreateAccountStatus"]["AccountId"]
    arn = f"arn:aws:cloudtrail:{REGION}:{sandbox}:trail/sandbox-trail"
    journal = tmp_path / "journal.jsonl"
    code, out, err = _cli(
        org, "update", "--trail", arn, "--key", org.key_arn, "--yes", "--journal", str(journal)
    )
    assert code == 2, err + out
    assert sandbox in err and f"role/{ROLE}" in err
    assert "Traceback" not in err
    assert not journal.exists()
    book = Runbook(org.management, Journal(journal))
    member_trail = book.find_trail(org.trail_arn)
    from trailkit.records import Trail

    ghost = Trail.from_api(
        {"Name": "sandbox-trail", "TrailARN": arn, "HomeRegion": REGION, "S3BucketName": "b"}
    )
    rows = book.plan_many([member_trail, ghost], {REGION: org.key_arn})
    assert [t.arn for t, _p in rows] == [org.trail_arn, arn]
    assert not isinstance(rows[0][1], Exception)
    assert isinstance(rows[1][1], Exception) and sandbox in str(rows[1][1])


# -- on the demo organization (trailkit/demo/estate.py) -----------------------------------------

PROD = "333344445555"  # workload-prod: a member with its own trail, bucket and key
PROD_TRAIL = f"arn:aws:cloudtrail:{REGION}:{PROD}:trail/prod-trail"


def test_on_the_demo_a_member_trail_is_updated_and_rolled_back_through_its_role(
    demo_rw: tuple[str, object], tmp_path: Path
) -> None:
    """The issue's acceptance on the demo: ``update --trail <member trail ARN> --key <key ARN
    in that account> --yes`` changes workload-prod's trail through its role, and
    ``rollback --last --yes`` puts its key back."""
    endpoint = demo_rw[0]
    management = Connection(endpoint_url=endpoint, region=REGION, workers=4)
    role_arn = f"arn:aws:iam::{PROD}:role/{ROLE}"
    prod = management.assumed(role_arn)  # the test's own view of the member
    cloudtrail = prod.client("cloudtrail", REGION)
    before = cloudtrail.get_trail(Name=PROD_TRAIL)["Trail"]["KmsKeyId"]
    assert before.split(":")[4] == PROD
    policy = json.dumps(cloudtrail_key_policy(PROD, region=REGION))
    new_key = prod.client("kms", REGION).create_key(Policy=policy)["KeyMetadata"]["Arn"]
    journal = tmp_path / "journal.jsonl"

    def cli(*argv: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        code = main(["--endpoint-url", endpoint, *argv, "--journal", str(journal)], out, err)
        return code, out.getvalue(), err.getvalue()

    code, out, err = cli("update", "--trail", PROD_TRAIL, "--key", new_key, "--yes")
    assert code == 0, err + out
    assert cloudtrail.get_trail(Name=PROD_TRAIL)["Trail"]["KmsKeyId"] == new_key
    assert role_arn in out and f"(account {PROD})" in out
    intent, done = _lines(journal)
    assert (intent["account"], intent["role_arn"], done["role_arn"]) == (PROD, role_arn, role_arn)
    assert (intent["before"], done["after"]) == (before, new_key)

    code, out, err = cli("rollback", "--last", "--yes")
    assert code == 0, err + out
    assert cloudtrail.get_trail(Name=PROD_TRAIL)["Trail"]["KmsKeyId"] == before
    undo = _lines(journal)[2:]
    assert [r["phase"] for r in undo] == ["intent", "done"]
    assert all(r["rollback_of"] == intent["change_id"] for r in undo)
    assert all((r["account"], r["role_arn"]) == (PROD, role_arn) for r in undo)
