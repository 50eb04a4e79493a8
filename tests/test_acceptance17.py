"""Issue 17's acceptance on the demo, nothing faked: the demo's simulated delivery writes the log
and digest files, `trailkit verify` reads them back (`ListObjectsV2`, `HeadObject`), and the
journal records the answer against the change."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from trailkit.aws.session import Connection
from trailkit.change.journal import Journal
from trailkit.demo import delivery
from trailkit.ui.cli import main

REGION = "us-east-1"
ORG_TRAIL = "org-trail"


def _cli(endpoint: str, journal: Path, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["--endpoint-url", endpoint, *argv, "--journal", str(journal)], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def _key_arn(endpoint: str, alias: str) -> str:
    kms = Connection(endpoint_url=endpoint, region=REGION).client("kms", REGION)
    return str(kms.describe_key(KeyId=alias)["KeyMetadata"]["Arn"])


def _update_org_trail(endpoint: str, journal: Path) -> None:
    code, _, err = _cli(
        endpoint, journal, "update", "--trail", ORG_TRAIL, "--key", "alias/cloudtrail-good", "--yes"
    )
    assert code == 0, err


def _verify(endpoint: str, journal: Path) -> tuple[int, dict[str, Any], str]:
    code, out, err = _cli(
        endpoint, journal, "verify", "--trail", ORG_TRAIL, "--wait", "60s", "--format", "json"
    )
    return code, json.loads(out)["proof"], err


def test_update_then_verify_is_proven_with_the_new_key_in_log_and_digest(
    demo_rw: Any, tmp_path: Path
) -> None:
    endpoint, _ = demo_rw
    journal = tmp_path / "j.jsonl"
    key = _key_arn(endpoint, "alias/cloudtrail-good")
    _update_org_trail(endpoint, journal)
    code, proof, err = _verify(endpoint, journal)
    assert code == 0 and proof["status"] == "proven", (proof, err)
    for part in ("log", "digest"):
        assert proof[part]["encryption"] == "aws:kms", part
        assert proof[part]["kms_key_id"] == key, part
    (change,) = Journal(journal).changes()
    assert change.proof == "proven" and change.verification is not None
    assert change.verification.after == key
    assert change.verification.log_object == proof["log"]["key"]
    assert change.verification.digest_object == proof["digest"]["key"]


def test_disable_then_verify_is_proven_with_aes256(demo_rw: Any, tmp_path: Path) -> None:
    endpoint, _ = demo_rw
    journal = tmp_path / "j.jsonl"
    _update_org_trail(endpoint, journal)
    code, _, err = _cli(endpoint, journal, "disable", "--trail", ORG_TRAIL, "--yes")
    assert code == 0, err
    code, proof, err = _verify(endpoint, journal)
    assert code == 0 and proof["status"] == "proven", (proof, err)
    assert proof["expected_encryption"] == "AES256" and proof["expected_key"] is None
    for part in ("log", "digest"):
        assert proof[part]["encryption"] == "AES256" and proof[part]["kms_key_id"] is None
    disabled = Journal(journal).changes()[-1]
    assert disabled.intent.after is None and disabled.proof == "proven"
    assert proof["change_id"] == disabled.change_id


def test_a_key_disabled_after_the_change_fails_the_proof_naming_the_key(
    demo_rw: Any, tmp_path: Path
) -> None:
    endpoint, _ = demo_rw
    journal = tmp_path / "j.jsonl"
    key = _key_arn(endpoint, "alias/cloudtrail-good")
    _update_org_trail(endpoint, journal)
    kms = Connection(endpoint_url=endpoint, region=REGION).client("kms", REGION)
    kms.disable_key(KeyId=key.rsplit("/", 1)[-1])
    code, proof, err = _verify(endpoint, journal)
    assert code == 1 and proof["status"] == "failed", (proof, err)
    assert key in proof["reason"] and "disabled" in proof["reason"]
    assert "enable-key" in proof["fix"]
    (change,) = Journal(journal).changes()
    assert change.proof == "failed" and change.verification is not None
    assert change.verification.error == proof["reason"]
    code, out, _ = _cli(endpoint, journal, "journal", "--format", "json")
    (row,) = json.loads(out)
    assert row["proof"]["status"] == "failed"


def test_enabling_the_key_again_is_proven_by_the_next_delivery(
    demo_rw: Any, tmp_path: Path
) -> None:
    """The demo delivers after a repair (EnableKey) as after a change, so the proof does not stay
    failed on the old error until the periodic round."""
    endpoint, _ = demo_rw
    journal = tmp_path / "j.jsonl"
    key = _key_arn(endpoint, "alias/cloudtrail-good")
    _update_org_trail(endpoint, journal)
    kms = Connection(endpoint_url=endpoint, region=REGION).client("kms", REGION)
    kms.disable_key(KeyId=key.rsplit("/", 1)[-1])
    assert _verify(endpoint, journal)[1]["status"] == "failed"
    # the demo delivers at once after the repair (else 2 s later: a proof looking before that
    # still sees the error and answers failed at once, as it should)
    delivery.set_delivery_delay(0)
    try:
        kms.enable_key(KeyId=key.rsplit("/", 1)[-1])
    finally:
        delivery.set_delivery_delay(None)
    code, proof, err = _verify(endpoint, journal)
    assert code == 0 and proof["status"] == "proven", (proof, err)
    assert proof["log"]["kms_key_id"] == key
