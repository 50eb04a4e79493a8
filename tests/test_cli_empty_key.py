"""An empty or blank ``--key`` is never "turn SSE-KMS off": that is only ``trailkit disable``."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import pytest

from trailkit.aws.reader import Reader
from trailkit.aws.session import Connection
from trailkit.change.journal import Journal
from trailkit.errors import InputError
from trailkit.runbook import Runbook, check
from trailkit.ui.cli import main


def _cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(argv, out=out, err=err), out.getvalue(), err.getvalue()


def _key_of(endpoint: str, trail: str) -> str | None:
    conn = Connection(endpoint_url=endpoint, region="us-east-1", workers=4)
    return Reader(conn).find_trail(trail).kms_key_id


@pytest.mark.parametrize(
    "argv",
    [
        # the example
        ["update", "--trail", "app-trail", "--key", "", "--yes"],
        ["update", "--trail", "app-trail", "--key", "   ", "--yes"],
        ["update", "--trail", "app-trail", "--key", "\t\n", "--yes", "--dry-run"],
        ["check", "--trail", "app-trail", "--key", ""],
        ["check", "--trail", "app-trail", "--key", " "],
        ["policy", "--trail", "app-trail", "--key", "", "--apply", "--yes"],
        ["policy", "--trail", "app-trail", "--key", " "],
    ],
)
def test_an_empty_key_is_a_usage_error_naming_disable(
    demo_rw: Any, tmp_path: Path, argv: list[str]
) -> None:
    endpoint, _ = demo_rw
    journal = tmp_path / "j.jsonl"
    before = _key_of(endpoint, "app-trail")
    assert before is not None
    if argv[0] != "check":
        argv = [*argv, "--journal", str(journal)]
    code, out, err = _cli(["--endpoint-url", endpoint, *argv])
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "--key" in err and "trailkit disable" in err
    assert out == ""
    assert _key_of(endpoint, "app-trail") == before
    assert not journal.exists()


def test_keys_takes_no_key_at_all() -> None:
    code, _, err = _cli(["keys", "--trail", "app-trail", "--key", ""])
    assert code == 2 and "unrecognized arguments: --key" in err and "Traceback" not in err


def test_disable_is_the_way_to_turn_encryption_off(demo_rw: Any, tmp_path: Path) -> None:
    endpoint, _ = demo_rw
    base = ["--endpoint-url", endpoint]
    journal = str(tmp_path / "j.jsonl")
    # pinned-key-trail: its bucket accepts AES256 uploads (app-trail's only accepts aws:kms, so
    # disabling it is refused: bucket-policy-denies-delivery)
    code, out, err = _cli(
        [*base, "disable", "--trail", "pinned-key-trail", "--dry-run", "--format", "json"]
    )
    assert code == 0, err
    plan = json.loads(out)["plans"][0]
    assert plan["request"]["KmsKeyId"] == ""
    assert "disable-encryption" in out
    code, out, err = _cli(
        [*base, "disable", "--trail", "pinned-key-trail", "--yes", "--journal", journal]
    )
    assert code == 0, err
    assert _key_of(endpoint, "pinned-key-trail") is None


def test_the_runbook_refuses_an_empty_key_but_plans_disable(demo_conn: Connection) -> None:
    book = Runbook(demo_conn, Journal(Path(os.devnull)))
    for key in ("", "  "):
        with pytest.raises(InputError, match="trailkit disable"):
            book.plan_for("app-trail", key)
        with pytest.raises(InputError, match="--key"):
            book.plan_repair(["app-trail"], key)
    plan = book.plan_disable("pinned-key-trail")  # app-trail's bucket refuses AES256 uploads
    assert plan.request["KmsKeyId"] == "" and not plan.blocked
    # the internal path stays: check(reader, trail, "") is the pre-flight of turning SSE-KMS off
    assert check(book.reader, "app-trail", "").disable
    # bulk: a region given an empty key gets the error, not a plan that turns encryption off
    trail = book.find_trail("app-trail")
    [(_, row)] = book.plan_many([trail], {"eu-west-1": ""})
    assert isinstance(row, InputError)


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["rollback", "--change", "", "--yes"], "--change"),
        (["rollback", "--change=", "--yes"], "--change"),
        (["rollback", "--change", "  ", "--yes"], "--change"),
        (["policy", "--restore", "", "--yes"], "--restore"),
        (["policy", "--restore", " ", "--dry-run"], "--restore"),
    ],
)
def test_an_empty_change_id_never_means_the_last_change(
    demo_rw: Any, tmp_path: Path, argv: list[str], option: str
) -> None:
    """Found by a break-it pass: ``rollback --change ""`` (an unset "$ID") planned and sent the
    undo of the last change. An empty id is an error naming the option; nothing is sent."""
    endpoint, _ = demo_rw
    journal = tmp_path / "j.jsonl"
    base = ["--endpoint-url", endpoint]
    code, _, err = _cli(
        [*base, "update", "--trail", "org-trail", "--key", "alias/cloudtrail-good", "--yes",
         "--journal", str(journal)]
    )  # fmt: skip
    assert code == 0, err
    after = _key_of(endpoint, "org-trail")
    lines = journal.read_bytes()
    code, _out, err = _cli([*base, *argv, "--journal", str(journal)])
    assert code == 2, err
    assert f"{option} " in err and "is empty" in err and "Traceback" not in err
    assert _key_of(endpoint, "org-trail") == after and journal.read_bytes() == lines
