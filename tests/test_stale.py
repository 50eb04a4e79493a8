"""Plans go stale: what the verdict depended on changes between the plan and the apply.

Each case changes the demo state with plain boto3 calls on the moto server after the plan was
shown, then applies through :class:`trailkit.runbook.Runbook` (the one place every front end
sends through). The runbook must refuse with "changed since the plan ... Nothing was sent", and
``UpdateTrail`` must not have been sent: the trail keeps its key and the journal has no intent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from trailkit.aws.session import Connection
from trailkit.aws.writes import read_trail_key
from trailkit.change.journal import Journal
from trailkit.errors import RefusedError
from trailkit.records import Outcome
from trailkit.rules.plan import plan_drift
from trailkit.runbook import Runbook

ACCOUNT = "123456789012"
ORG_BUCKET = f"tk-org-logs-{ACCOUNT}"


@pytest.fixture
def book(demo_rw: Any, tmp_path: Path) -> Runbook:
    conn = Connection(endpoint_url=demo_rw[0], region="us-east-1", workers=8)
    return Runbook(conn, Journal(tmp_path / "journal.jsonl"), regions=["us-east-1"])


def _key_id(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]  # moto's DisableKey wants the id


def _admin_only(key_arn: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "Enable IAM User Permissions",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                }
            ],
        }
    )


def _disable_key(conn: Connection, estate: Any) -> None:
    conn.client("kms", "us-east-1").disable_key(KeyId=_key_id(estate.keys["alias/cloudtrail-good"]))


def _strip_policy(conn: Connection, estate: Any) -> None:
    key = estate.keys["alias/cloudtrail-good"]
    conn.client("kms", "us-east-1").put_key_policy(
        KeyId=key, PolicyName="default", Policy=_admin_only(key)
    )


def _move_bucket(conn: Connection, estate: Any) -> None:
    # the trail now writes to a bucket in us-west-2: a us-east-1 key no longer fits
    conn.client("cloudtrail", "us-east-1").update_trail(
        Name=estate.trails["org-trail"], S3BucketName="tk-tokyo-logs-usw2"
    )


def _bucket_key_on(conn: Connection, estate: Any) -> None:
    conn.client("s3", "us-east-1").put_bucket_encryption(
        Bucket=ORG_BUCKET,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {
                        "SSEAlgorithm": "aws:kms",
                        "KMSMasterKeyID": estate.keys["alias/cloudtrail-good"],
                    },
                    "BucketKeyEnabled": True,
                }
            ]
        },
    )


def _bucket_policy_refuses_aes256(conn: Connection, estate: Any) -> None:
    s3 = conn.client("s3", "us-east-1")
    policy = json.loads(s3.get_bucket_policy(Bucket=ORG_BUCKET)["Policy"])
    policy["Statement"].append(
        {
            "Sid": "DenyUnlessKms",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{ORG_BUCKET}/*",
            "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}},
        }
    )
    s3.put_bucket_policy(Bucket=ORG_BUCKET, Policy=json.dumps(policy))


STALE_CASES: list[tuple[str, Callable[[Connection, Any], None], str]] = [
    ("key disabled", _disable_key, r"the key is now Disabled.*new error key-state"),
    ("policy stripped", _strip_policy, r"the key policy changed.*new error policy-encrypt"),
    (
        "bucket moved",
        _move_bucket,
        r"bucket is now tk-tokyo-logs-usw2.*region is now us-west-2.*key-region-mismatch",
    ),
    ("Bucket Key on", _bucket_key_on, r"Bucket Key is now on.*policy-bucket-key-decrypt"),
    (
        "bucket policy changed",
        _bucket_policy_refuses_aes256,
        r"the bucket policy changed.*new warning bucket-policy-aes256",
    ),
]


@pytest.mark.parametrize(
    ("change", "expected"),
    [(c[1], c[2]) for c in STALE_CASES],
    ids=[c[0] for c in STALE_CASES],
)
def test_a_plan_whose_verdict_changed_before_apply_is_refused_and_nothing_is_sent(
    book: Runbook, demo_rw: Any, change: Callable[[Connection, Any], None], expected: str
) -> None:
    _, estate = demo_rw
    plan = book.plan_for("org-trail", "alias/cloudtrail-good")
    assert plan.report.ready and not plan.blocked  # the plan the operator saw was fine

    change(book.conn, estate)  # ... while the confirmation prompt waited

    sent_before = book.conn.calls["cloudtrail:UpdateTrail"]
    with pytest.raises(RefusedError, match="changed since the plan") as caught:
        book.apply(plan, confirmed=True)
    assert "Nothing was sent" in caught.value.message
    assert re.search(expected, caught.value.message, re.S), caught.value.message
    assert book.conn.calls["cloudtrail:UpdateTrail"] == sent_before
    assert read_trail_key(book.conn, estate.trails["org-trail"], "us-east-1") is None
    assert book.journal.changes() == []


def test_bulk_apply_refuses_the_stale_plan_and_sends_the_others(
    book: Runbook, demo_rw: Any
) -> None:
    _, estate = demo_rw
    good = estate.keys["alias/cloudtrail-good"]
    plans = [book.plan_for("org-trail", good), book.plan_for("stale-key-trail", good)]
    _bucket_key_on(book.conn, estate)  # org-trail's bucket only
    results = book.apply_many(plans, confirmed=True)
    assert [r.outcome for r in results] == [Outcome.REFUSED, Outcome.DONE]
    assert "changed since the plan" in results[0].message
    assert read_trail_key(book.conn, estate.trails["org-trail"], "us-east-1") is None
    assert read_trail_key(book.conn, estate.trails["stale-key-trail"], "us-east-1") == good
    assert [c.intent.target_arn for c in book.journal.changes()] == [
        estate.trails["stale-key-trail"]
    ]


def test_a_rollback_plan_goes_stale_too(book: Runbook, demo_rw: Any) -> None:
    _, estate = demo_rw
    good = estate.keys["alias/cloudtrail-good"]
    # pinned-key-trail: its bucket accepts AES256 uploads (app-trail's refuses them, so its
    # disable is blocked by bucket-policy-denies-delivery)
    off = book.apply(book.plan_disable("pinned-key-trail"), confirmed=True)
    assert off.outcome is Outcome.DONE
    back = book.plan_rollback()
    assert back.rollback_of == off.change_id and back.after_key == good and not back.blocked

    book.conn.client("kms", "us-east-1").disable_key(KeyId=_key_id(good))

    with pytest.raises(RefusedError, match=r"changed since the plan.*key-state"):
        book.apply(back, confirmed=True)
    assert read_trail_key(book.conn, estate.trails["pinned-key-trail"], "us-east-1") is None
    assert len(book.journal.changes()) == 1


def test_a_disable_plan_for_a_trail_deleted_meanwhile_is_refused(
    book: Runbook, demo_rw: Any
) -> None:
    plan = book.plan_disable("stale-key-trail")
    # moto's DeleteTrail only knows names
    book.conn.client("cloudtrail", "us-east-1").delete_trail(Name="stale-key-trail")
    with pytest.raises(RefusedError, match=r"changed since the plan.*no longer visible"):
        book.apply(plan, confirmed=True)
    assert book.journal.changes() == []


def test_a_change_that_leaves_the_verdict_alone_does_not_block_the_plan(
    book: Runbook, demo_rw: Any
) -> None:
    _, estate = demo_rw
    good = estate.keys["alias/cloudtrail-good"]
    plan = book.plan_for("org-trail", "alias/cloudtrail-good")
    kms = book.conn.client("kms", "us-east-1")
    policy = json.loads(kms.get_key_policy(KeyId=good, PolicyName="default")["Policy"])
    policy["Statement"].append(
        {
            "Sid": "Unrelated",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/Auditor"},
            "Action": "kms:DescribeKey",
            "Resource": "*",
        }
    )
    kms.put_key_policy(KeyId=good, PolicyName="default", Policy=json.dumps(policy))
    assert plan_drift(plan.report, book.check(plan.trail.arn, plan.target_input)) == ()

    result = book.apply(plan, confirmed=True)
    assert result.outcome is Outcome.DONE and result.verified
    assert read_trail_key(book.conn, estate.trails["org-trail"], "us-east-1") == good


def test_the_concurrency_guard_still_reports_a_changed_trail_key(
    book: Runbook, demo_rw: Any
) -> None:
    _, estate = demo_rw
    plan = book.plan_for("org-trail", "alias/cloudtrail-good")
    other = estate.keys["alias/multi-region-good"]
    book.conn.client("cloudtrail", "us-east-1").update_trail(
        Name=estate.trails["org-trail"], KmsKeyId=other
    )
    with pytest.raises(RefusedError, match=f"now uses SSE-KMS.*{other}.*Nothing was sent"):
        book.apply(plan, confirmed=True)
    assert book.journal.changes() == []


def test_an_unconfirmed_plan_is_refused_before_anything_is_read(
    book: Runbook, demo_rw: Any
) -> None:
    plan = book.plan_for("org-trail", "alias/cloudtrail-good")
    book.conn.calls.clear()
    with pytest.raises(RefusedError, match="not confirmed"):
        book.apply(plan, confirmed=False)
    assert sum(book.conn.calls.values()) == 0
