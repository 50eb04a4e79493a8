"""The write path against the demo estate (moto) and Stubber (AWS errors moto cannot produce)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber

from trailkit.aws.reader import Reader
from trailkit.aws.session import Connection
from trailkit.aws.writes import read_trail_key
from trailkit.change.journal import Journal, Kind
from trailkit.change.update import apply, apply_many, verify_delivery
from trailkit.errors import RefusedError
from trailkit.records import Outcome
from trailkit.rules.plan import plan_change
from trailkit.runbook import check, plan_disable, plan_rollback
from trailkit.ui.cli import main


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    return Journal(tmp_path / "journal.jsonl")


def _arn(conn: Connection, name: str) -> str:
    return Reader(conn).find_trail(name).arn


def test_update_verify_and_roll_back_the_organization_trail(
    demo_rw: Any, demo_conn: Connection, journal: Journal
) -> None:
    _, estate = demo_rw
    good = estate.keys["alias/cloudtrail-good"]
    plan = plan_change(check(Reader(demo_conn), "org-trail", "alias/cloudtrail-good"))
    assert plan.request == {"Name": estate.trails["org-trail"], "KmsKeyId": good}
    assert plan.region == "us-east-1" and plan.before_key is None

    result = apply(demo_conn, plan, journal, confirmed=True)

    assert result.outcome is Outcome.DONE and result.verified
    assert read_trail_key(demo_conn, estate.trails["org-trail"], "us-east-1") == good
    assert result.delivery is not None and result.delivery.ok

    back = plan_rollback(Reader(demo_conn), journal)
    assert back.after_key is None and back.request["KmsKeyId"] == ""
    assert back.rollback_of == result.change_id
    undo = apply(demo_conn, back, journal, confirmed=True)
    assert undo.outcome is Outcome.DONE and undo.verified
    assert read_trail_key(demo_conn, estate.trails["org-trail"], "us-east-1") is None

    changes = journal.changes()
    assert [c.status for c in changes] == ["done", "done"]
    assert changes[0].intent.before is None and changes[0].intent.after == good
    assert changes[1].intent.rollback_of == changes[0].change_id
    for c in changes:
        assert c.intent.account == "123456789012" and c.intent.endpoint.startswith("http://127.")
        assert c.outcome is not None and c.outcome.request_id


def test_applying_the_same_plan_twice_is_harmless(
    demo_rw: Any, demo_conn: Connection, journal: Journal
) -> None:
    plan = plan_change(check(Reader(demo_conn), "stale-key-trail", "alias/cloudtrail-good"))
    first = apply(demo_conn, plan, journal, confirmed=True)
    assert first.outcome is Outcome.DONE
    with pytest.raises(RefusedError, match="changed since the plan"):
        apply(demo_conn, plan, journal, confirmed=True)
    fresh = plan_change(check(Reader(demo_conn), "stale-key-trail", "alias/cloudtrail-good"))
    assert fresh.nothing_to_do
    again = apply(demo_conn, fresh, journal, confirmed=True)
    assert again.outcome is Outcome.UNCHANGED
    assert len(journal.changes()) == 1


def test_a_blocked_plan_is_never_sent(demo: Any, demo_conn: Connection, journal: Journal) -> None:
    plan = plan_change(check(Reader(demo_conn), "org-trail", "alias/explicit-deny"))
    assert plan.blocked
    client = demo_conn.client("cloudtrail", "us-east-1")
    with Stubber(client) as stub:  # any call at all would fail: no responses are queued
        with pytest.raises(RefusedError, match="policy-deny"):
            apply(demo_conn, plan, journal, confirmed=True)
        stub.assert_no_pending_responses()
    assert journal.changes() == []


def test_unconfirmed_plan_is_refused(demo: Any, demo_conn: Connection, journal: Journal) -> None:
    plan = plan_change(check(Reader(demo_conn), "org-trail", "alias/cloudtrail-good"))
    with pytest.raises(RefusedError, match="not confirmed"):
        apply(demo_conn, plan, journal, confirmed=False)
    assert journal.changes() == []


def test_a_trail_changed_between_plan_and_apply_is_left_as_the_other_writer_set_it(
    demo_rw: Any, demo_conn: Connection, journal: Journal
) -> None:
    _, estate = demo_rw
    plan = plan_change(check(Reader(demo_conn), "org-trail", "alias/cloudtrail-good"))
    other = estate.keys["alias/multi-region-good"]
    demo_conn.client("cloudtrail", "us-east-1").update_trail(
        Name=estate.trails["org-trail"], KmsKeyId=other
    )
    with pytest.raises(RefusedError, match="changed since the plan"):
        apply(demo_conn, plan, journal, confirmed=True)
    assert read_trail_key(demo_conn, estate.trails["org-trail"], "us-east-1") == other
    assert journal.changes() == []


def test_disable_returns_a_trail_to_sse_s3_with_a_warning(
    demo_rw: Any, demo_conn: Connection, journal: Journal
) -> None:
    _, estate = demo_rw
    # pinned-key-trail: its bucket accepts AES256 uploads (app-trail's does not)
    plan = plan_disable(Reader(demo_conn), "pinned-key-trail")
    assert any(f.code == "disable-encryption" for f in plan.report.findings)
    assert plan.request["KmsKeyId"] == ""
    result = apply(demo_conn, plan, journal, confirmed=True)
    assert result.verified and result.key_after is None
    back = apply(demo_conn, plan_rollback(Reader(demo_conn), journal), journal, confirmed=True)
    assert back.key_after == estate.keys["alias/cloudtrail-good"]


def test_disable_is_refused_when_the_bucket_only_accepts_aws_kms(
    demo: Any, demo_conn: Connection, journal: Journal
) -> None:
    plan = plan_disable(Reader(demo_conn), "app-trail")
    assert plan.blocked
    assert [f.code for f in plan.report.errors] == ["bucket-policy-denies-delivery"]
    with pytest.raises(RefusedError, match="bucket-policy-denies-delivery"):
        apply(demo_conn, plan, journal, confirmed=True)
    assert journal.changes() == []


def test_bulk_apply_reports_every_trail(
    demo_rw: Any, demo_conn: Connection, journal: Journal
) -> None:
    reader = Reader(demo_conn)
    good = demo_rw[1].keys["alias/cloudtrail-good"]
    plans = [
        plan_change(check(reader, "org-trail", good)),
        plan_change(check(reader, "stale-key-trail", good)),
        plan_change(check(reader, "tokyo-trail", good)),  # bucket in us-west-2: wrong region
    ]
    results = apply_many(demo_conn, plans, journal, confirmed=True)
    assert [r.outcome for r in results] == [Outcome.DONE, Outcome.DONE, Outcome.REFUSED]
    assert "key-region-mismatch" in results[2].message


# -- AWS errors moto never produces ---------------------------------------------------------

UPDATE_ERRORS = [
    ("InsufficientEncryptionPolicyException", "does not let CloudTrail use the key"),
    ("KmsKeyNotFoundException", "not in the same region"),
    ("KmsException", "disabled or pending deletion"),
    ("InvalidKmsKeyIdException", "not valid"),
    ("KmsKeyDisabledException", "disabled"),
    ("InvalidHomeRegionException", "outside the trail's home region"),
    ("TrailNotFoundException", "no trail by that name"),
    ("NotOrganizationMasterAccountException", "management account"),
    ("ConflictException", "in progress"),
    ("ThrottlingException", "throttling"),
]


@pytest.mark.parametrize("code, phrase", UPDATE_ERRORS)
def test_update_trail_errors_become_clear_messages_and_failed_journal_records(
    demo: Any, demo_conn: Connection, journal: Journal, code: str, phrase: str
) -> None:
    _, estate = demo
    arn = estate.trails["org-trail"]
    plan = plan_change(check(Reader(demo_conn), "org-trail", "alias/cloudtrail-good"))
    conn = Connection(endpoint_url=demo_conn.endpoint_url, region="us-east-1", max_attempts=1)
    client = conn.client("cloudtrail", "us-east-1")
    with Stubber(client) as stub:
        stub.add_response(
            "get_trail", {"Trail": {"Name": "org-trail", "TrailARN": arn}}, {"Name": arn}
        )
        stub.add_client_error(
            "update_trail", service_error_code=code, service_message="nope", http_status_code=400
        )
        result = apply(conn, plan, journal, confirmed=True)
    assert result.outcome is Outcome.FAILED
    assert phrase in result.message and code in result.message
    (change,) = journal.changes()
    assert change.status == "failed" and change.outcome is not None
    assert code in (change.outcome.error or "")


def test_crash_after_sending_leaves_an_intent_that_reconcile_settles(
    demo_rw: Any, tmp_path: Path
) -> None:
    endpoint, _estate = demo_rw
    path = tmp_path / "j.jsonl"
    conn = Connection(endpoint_url=endpoint, region="us-east-1")
    plan = plan_change(check(Reader(conn), "org-trail", "alias/cloudtrail-good"))

    class Crash(BaseException):
        pass

    def crash() -> None:
        raise Crash

    with pytest.raises(Crash):
        apply(conn, plan, Journal(path), confirmed=True, after_send=crash)
    (pending,) = Journal(path).pending()
    assert pending.status == "pending"

    out, err = io.StringIO(), io.StringIO()
    code = main(
        [
            "--endpoint-url",
            endpoint,
            "journal",
            "--reconcile",
            "--journal",
            str(path),
            "--format",
            "json",
        ],
        out=out,
        err=err,
    )
    assert code == 0, err.getvalue()
    rows = json.loads(out.getvalue())
    assert rows[0]["status"] == "reconciled-done"
    assert Journal(path).pending() == []
    assert Journal(path).get(pending.change_id).intent.kind is Kind.TRAIL_KEY


def test_delivery_errors_are_reported_and_offer_rollback(demo: Any) -> None:
    endpoint, _estate = demo
    conn = Connection(endpoint_url=endpoint, region="us-east-1")
    trail = Reader(conn).find_trail("org-trail")
    with Stubber(conn.client("cloudtrail", "us-east-1")) as stub:
        stub.add_response(
            "get_trail_status",
            {
                "IsLogging": True,
                "LatestDeliveryError": "AccessDenied",
                "LatestDigestDeliveryError": "InsufficientEncryptionPolicy",
            },
            {"Name": trail.arn},
        )
        delivery = verify_delivery(conn, trail)
    assert not delivery.ok
    assert "AccessDenied" in delivery.summary() and "rolling back" in delivery.summary()


def _cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(argv, out=out, err=err), out.getvalue(), err.getvalue()


def test_cli_update_dry_run_yes_and_rollback(demo_rw: Any, tmp_path: Path) -> None:
    endpoint, _estate = demo_rw
    j = str(tmp_path / "j.jsonl")
    base = ["--endpoint-url", endpoint]
    code, out, err = _cli(
        [
            *base,
            "update",
            "--trail",
            "org-trail",
            "--key",
            "alias/cloudtrail-good",
            "--dry-run",
            "--journal",
            j,
        ]
    )
    assert code == 0, err
    assert "Dry run: nothing was sent." in out and "SSE-S3" in out
    assert not Path(j).exists()

    code, out, err = _cli(
        [*base, "update", "--trail", "org-trail", "--key", "alias/cloudtrail-good", "--journal", j]
    )
    assert code == 2 and "no terminal" in err  # no --yes and stdin is not a terminal

    code, out, err = _cli(
        [
            *base,
            "update",
            "--trail",
            "org-trail",
            "--key",
            "alias/explicit-deny",
            "--yes",
            "--journal",
            j,
        ]
    )
    assert code == 1 and "policy-deny" in err

    code, out, err = _cli(
        [
            *base,
            "update",
            "--trail",
            "org-trail",
            "--key",
            "alias/cloudtrail-good",
            "--yes",
            "--journal",
            j,
        ]
    )
    assert code == 0, err
    assert "DONE" in out and "verified" in out

    code, out, err = _cli(
        [*base, "rollback", "--last", "--yes", "--journal", j, "--format", "json"]
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["results"][0]["status"] == "done" and data["results"][0]["key_after"] is None

    code, out, err = _cli([*base, "journal", "--journal", j, "--format", "json"])
    rows = json.loads(out)
    assert [r["status"] for r in rows] == ["done", "done"]
