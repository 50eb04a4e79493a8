"""Add-only key policy repair: pure planning, the write path, and the add-only property."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trailkit.aws.reader import Reader
from trailkit.aws.session import Connection
from trailkit.aws.writes import read_key_policy
from trailkit.change.journal import Journal
from trailkit.change.update import put_key_policy, restore_policy
from trailkit.errors import RefusedError
from trailkit.records import BucketInfo, KeyInfo, Outcome, Trail
from trailkit.rules.repair import MAX_POLICY_BYTES, plan_repair
from trailkit.runbook import check, plan_policy_repair
from trailkit.ui.cli import main

# trail, key that fails a policy check, the codes it fails
BROKEN = [
    ("org-trail", "alias/no-cloudtrail", {"policy-encrypt", "policy-describe"}),
    ("org-trail", "alias/encrypt-no-describe", {"policy-describe"}),
    ("org-trail", "alias/other-account-context", {"policy-encrypt"}),
    ("bucketkey-trail", "alias/cloudtrail-good-usw2", {"policy-bucket-key-decrypt"}),
    (
        "bucketkey-trail",
        "alias/bucket-default-usw2",
        {"policy-encrypt", "policy-describe", "policy-bucket-key-decrypt"},
    ),
]


@pytest.mark.parametrize("trail, key, codes", BROKEN, ids=[f"{t}:{k}" for t, k, _ in BROKEN])
def test_repair_then_preflight_passes(
    demo_rw: Any, demo_conn: Connection, tmp_path: Path, trail: str, key: str, codes: set[str]
) -> None:
    reader = Reader(demo_conn)
    before = check(reader, trail, key)
    # What the repair fixes is reported: as errors, or (DescribeKey on a bucket without an S3
    # Bucket Key) as a best-practice warning.
    assert codes <= {f.code for f in before.findings}
    repair = plan_policy_repair(reader, [trail], key)
    assert set(repair.fixes) == codes
    original = json.loads(read_key_policy(demo_conn, repair.key.arn, repair.key.region))

    result = put_key_policy(
        demo_conn,
        repair.key.arn,
        repair.original_text,
        repair.policy_text,
        Journal(tmp_path / "j.jsonl"),
        confirmed=True,
    )
    assert result.outcome is Outcome.DONE

    after = check(Reader(demo_conn), trail, key)
    assert not after.errors, after.findings
    assert not codes & {f.code for f in after.findings}, after.findings
    stored = json.loads(read_key_policy(demo_conn, repair.key.arn, repair.key.region))
    assert stored["Statement"][: len(original["Statement"])] == original["Statement"]
    assert "BypassPolicyLockoutSafetyCheck" not in json.dumps(stored)


def test_repair_refuses_to_work_around_an_explicit_deny(demo: Any, demo_conn: Connection) -> None:
    with pytest.raises(RefusedError, match="will not edit the Deny"):
        plan_policy_repair(Reader(demo_conn), ["org-trail"], "alias/explicit-deny")


def test_repair_of_a_good_key_adds_nothing(demo: Any, demo_conn: Connection) -> None:
    repair = plan_policy_repair(Reader(demo_conn), ["org-trail"], "alias/cloudtrail-good")
    assert not repair.needed and repair.added == ()


def test_policy_restore_puts_back_the_recorded_policy(
    demo_rw: Any, demo_conn: Connection, tmp_path: Path
) -> None:
    journal = Journal(tmp_path / "j.jsonl")
    repair = plan_policy_repair(Reader(demo_conn), ["org-trail"], "alias/no-cloudtrail")
    put_key_policy(
        demo_conn, repair.key.arn, repair.original_text, repair.policy_text, journal, confirmed=True
    )
    result = restore_policy(demo_conn, journal, confirmed=True)
    assert result.outcome is Outcome.DONE
    stored = read_key_policy(demo_conn, repair.key.arn, repair.key.region)
    assert json.loads(stored) == json.loads(repair.original_text)
    kinds = [c.status for c in journal.changes()]
    assert kinds == ["done", "done"]


def test_a_policy_changed_since_it_was_read_is_not_overwritten(
    demo_rw: Any, demo_conn: Connection, tmp_path: Path
) -> None:
    repair = plan_policy_repair(Reader(demo_conn), ["org-trail"], "alias/no-cloudtrail")
    other = json.loads(repair.original_text)
    other["Statement"].append(
        {
            "Sid": "Someone",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": "kms:Decrypt",
            "Resource": "*",
        }
    )
    demo_conn.client("kms", "us-east-1").put_key_policy(
        KeyId=repair.key.arn, PolicyName="default", Policy=json.dumps(other)
    )
    with pytest.raises(RefusedError, match="changed since it was read"):
        put_key_policy(
            demo_conn,
            repair.key.arn,
            repair.original_text,
            repair.policy_text,
            Journal(tmp_path / "j.jsonl"),
            confirmed=True,
        )
    stored = json.loads(read_key_policy(demo_conn, repair.key.arn, "us-east-1"))
    assert stored == other


def test_cli_policy_shows_the_diff_and_applies_with_yes(demo_rw: Any, tmp_path: Path) -> None:
    endpoint, _ = demo_rw
    base = [
        "--endpoint-url",
        endpoint,
        "policy",
        "--trail",
        "org-trail",
        "--key",
        "alias/encrypt-no-describe",
        "--journal",
        str(tmp_path / "j.jsonl"),
    ]
    out, err = io.StringIO(), io.StringIO()
    assert main(base, out=out, err=err) == 0, err.getvalue()
    assert '+      "Action": "kms:DescribeKey"' in out.getvalue()
    assert "Nothing sent" in out.getvalue()
    out, err = io.StringIO(), io.StringIO()
    assert main([*base, "--apply", "--yes"], out=out, err=err) == 0, err.getvalue()
    assert "pre-flight org-trail: ready" in out.getvalue()


# -- pure: the add-only property ------------------------------------------------------------

ACCOUNT = "123456789012"
KEY_ARN = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ROOT = {
    "Sid": "Root",
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
    "Action": "kms:*",
    "Resource": "*",
}


def _trail(name: str = "t1", bucket_key: bool = False) -> Trail:
    return Trail(
        name=name,
        arn=f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/{name}",
        home_region="us-east-1",
        account=ACCOUNT,
        multi_region=False,
        organization=False,
        bucket_name="b",
        s3_prefix=None,
        kms_key_id=None,
        log_file_validation=False,
        bucket=BucketInfo(name="b", region="us-east-1", bucket_key=bucket_key),
    )


def _key(policy: dict[str, Any]) -> KeyInfo:
    return KeyInfo(
        arn=KEY_ARN,
        key_id=KEY_ARN.rsplit("/", 1)[1],
        account=ACCOUNT,
        region="us-east-1",
        state="Enabled",
        key_spec="SYMMETRIC_DEFAULT",
        key_usage="ENCRYPT_DECRYPT",
        manager="CUSTOMER",
        policy=json.dumps(policy),
    )


_text = st.text(alphabet="abcdefghijklmnopqrstuvwxyz:*/-", min_size=1, max_size=20)
_statement = st.fixed_dictionaries(
    {
        "Effect": st.just("Allow"),
        "Principal": st.one_of(
            st.just("*"),
            st.fixed_dictionaries({"AWS": _text}),
            st.fixed_dictionaries({"Service": _text}),
        ),
        "Action": st.one_of(_text.map(lambda t: f"kms:{t}"), st.lists(_text, max_size=3)),
        "Resource": st.just("*"),
    },
    optional={
        "Sid": st.from_regex(r"[A-Za-z0-9]{1,12}", fullmatch=True),
        "Condition": st.fixed_dictionaries(
            {"StringEquals": st.dictionaries(_text, _text, max_size=2)}
        ),
    },
)


@settings(max_examples=80, deadline=None)
@given(
    extra=st.lists(_statement, max_size=6),
    bucket_key=st.booleans(),
    readers=st.lists(st.just(f"arn:aws:iam::{ACCOUNT}:role/Reader"), max_size=1),
)
def test_repaired_policy_keeps_every_original_statement_unchanged(
    extra: list[dict[str, Any]], bucket_key: bool, readers: list[str]
) -> None:
    policy = {"Version": "2012-10-17", "Statement": [ROOT, *extra]}
    repair = plan_repair(_key(policy), [_trail(bucket_key=bucket_key)], readers=readers)
    repaired = repair.repaired
    assert repaired["Statement"][: len(policy["Statement"])] == policy["Statement"]
    assert {k: v for k, v in repaired.items() if k != "Statement"} == {"Version": "2012-10-17"}
    sids = [s.get("Sid") for s in repaired["Statement"] if s.get("Sid")]
    added_sids = [s["Sid"] for s in repair.added]
    assert not set(added_sids) & set(sids[: len(sids) - len(added_sids)])
    assert repair.size <= MAX_POLICY_BYTES


def test_repair_refuses_a_policy_without_an_admin_statement() -> None:
    policy = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "x.amazonaws.com"},
                "Action": "kms:Encrypt",
                "Resource": "*",
            }
        ]
    }
    with pytest.raises(RefusedError, match="administer"):
        plan_repair(_key(policy), [_trail()])


def _filler(i: int) -> dict[str, Any]:
    return {
        "Sid": f"F{i}",
        "Effect": "Allow",
        "Principal": {"AWS": "*"},
        "Action": "kms:Decrypt",
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:PrincipalTag/x": "y" * 100}},
    }


def _padded(compact_bytes: int) -> dict[str, Any]:
    """A policy whose compact JSON is just under ``compact_bytes``."""
    policy: dict[str, Any] = {"Version": "2012-10-17", "Statement": [ROOT]}
    while len(_compact(policy)) < compact_bytes - 300:
        policy["Statement"].append(_filler(len(policy["Statement"])))
    return policy


def _compact(doc: Any) -> str:
    return json.dumps(doc, separators=(",", ":"))


# compact size of the original policy -> form sent ("indented"/"compact") or refused (None)
SIZES = [
    (2_000, "indented"),
    (20_000, "indented"),  # indented about 25 KB: still fits
    (28_000, "compact"),  # the case: indented it would be about 36 KB
    (MAX_POLICY_BYTES - 300, None),  # no room for the added statements even compact
]


@pytest.mark.parametrize(("compact_bytes", "form"), SIZES)
def test_the_size_limit_is_measured_on_the_text_sent(compact_bytes: int, form: str | None) -> None:
    policy = _padded(compact_bytes)
    key = dataclasses.replace(_key(policy), policy=_compact(policy))  # stored compact
    assert key.policy is not None and len(key.policy.encode()) < MAX_POLICY_BYTES
    if form is None:
        with pytest.raises(RefusedError, match="even without whitespace, over KMS's limit") as e:
            plan_repair(key, [_trail()])
        size = int(e.value.message.split(" would be ")[1].split(" bytes")[0])
        assert size > MAX_POLICY_BYTES
        return
    repair = plan_repair(key, [_trail()])
    sent = repair.policy_text
    assert repair.size == len(sent.encode()) <= MAX_POLICY_BYTES
    assert json.loads(sent) == repair.repaired
    assert ("\n" in sent) is (form == "indented")
    if form == "compact":
        assert len(json.dumps(repair.repaired, indent=2).encode()) > MAX_POLICY_BYTES
        assert sent == _compact(repair.repaired)


def test_a_28_kb_compact_policy_is_repaired_on_the_demo(
    demo_rw: Any, demo_conn: Connection, tmp_path: Path
) -> None:
    """The issue's case end to end: 28 KB of compact JSON was refused as over 43 KB."""
    _, estate = demo_rw
    key = estate.keys["alias/no-cloudtrail"]
    policy = _padded(28_000)
    demo_conn.client("kms", "us-east-1").put_key_policy(
        KeyId=key, PolicyName="default", Policy=_compact(policy)
    )
    out, err = io.StringIO(), io.StringIO()
    argv = ["--endpoint-url", demo_rw[0], "policy", "--trail", "org-trail", "--key", key]
    argv += ["--apply", "--yes", "--journal", str(tmp_path / "j.jsonl")]
    assert main(argv, out=out, err=err) == 0, err.getvalue()
    stored = read_key_policy(demo_conn, key, "us-east-1")
    assert stored is not None and len(stored.encode()) <= MAX_POLICY_BYTES
    assert f"→ {len(stored.encode())} bytes" in out.getvalue()
    assert json.loads(stored)["Statement"][: len(policy["Statement"])] == policy["Statement"]
    assert "pre-flight org-trail: ready" in out.getvalue()


def test_repaired_statements_scope_cloudtrail_to_the_trail() -> None:
    repair = plan_repair(_key({"Statement": [ROOT]}), [_trail(bucket_key=True)])
    encrypt = next(s for s in repair.added if s["Action"] == "kms:GenerateDataKey*")
    assert encrypt["Condition"]["StringEquals"]["aws:SourceArn"] == _trail().arn
    assert encrypt["Condition"]["StringLike"]["kms:EncryptionContext:aws:cloudtrail:arn"] == (
        f"arn:aws:cloudtrail:*:{ACCOUNT}:trail/*"
    )
    assert {s["Action"] for s in repair.added} == {
        "kms:GenerateDataKey*",
        "kms:DescribeKey",
        "kms:Decrypt",
    }
