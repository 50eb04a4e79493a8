"""A failure to print (stdout closed early: ``trailkit update ... | true``) never changes what is
sent; the exit code and the journal say what happened."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from trailkit.aws.reader import Reader
from trailkit.aws.session import Connection
from trailkit.change.journal import Journal
from trailkit.ui.cli import main

GOOD = "alias/cloudtrail-good"


def _key_of(endpoint: str, trail: str) -> str | None:
    conn = Connection(endpoint_url=endpoint, region="us-east-1", workers=4)
    return Reader(conn).find_trail(trail).kms_key_id


@pytest.mark.parametrize("buffered", [True, False], ids=["buffered", "unbuffered"])
@pytest.mark.parametrize(
    ("key", "code", "applied"),
    [(GOOD, 0, True), ("alias/explicit-deny", 1, False)],
    ids=["applies", "blocked"],
)
def test_a_closed_stdout_changes_nothing_but_the_output(
    demo_rw: Any, tmp_path: Path, buffered: bool, key: str, code: int, applied: bool
) -> None:
    endpoint, _ = demo_rw
    journal = tmp_path / "j.jsonl"
    env = {k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"}
    env.pop("PYTHONUNBUFFERED", None)
    if not buffered:
        env["PYTHONUNBUFFERED"] = "1"  # every print reaches the closed pipe at once
    read_end, write_end = os.pipe()
    os.close(read_end)  # `| true`: the reader is gone before trailkit prints anything
    try:
        update = [
            "update",
            "--yes",
            "--trail",
            "org-trail",
            "--key",
            key,
            "--journal",
            str(journal),
        ]
        done = subprocess.run(
            [sys.executable, "-m", "trailkit", "--endpoint-url", endpoint, *update],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr
    assert done.returncode == code, done.stderr
    if applied:
        assert _key_of(endpoint, "org-trail") is not None
        assert [c.status for c in Journal(journal).changes()] == ["done"]
    else:
        assert _key_of(endpoint, "org-trail") is None
        assert not journal.exists()


def test_a_stream_that_fails_is_dropped_not_fatal(demo: Any) -> None:
    class Closed(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    endpoint, _ = demo
    err = io.StringIO()
    code = main(
        ["--endpoint-url", endpoint, "check", "--trail", "org-trail", "--key", "alias/rsa-signing"],
        out=Closed(),
        err=err,
    )
    assert code == 1  # the answer (key-not-symmetric), not 0 because printing failed
    assert err.getvalue() == ""


@pytest.mark.parametrize("encoding", ["ascii", "cp1252"])
def test_a_stream_that_cannot_encode_the_output_still_gets_it(demo: Any, encoding: str) -> None:
    """A fresh user found `PYTHONIOENCODING=ascii trailkit check ...` printed nothing: the first
    '→' raised UnicodeEncodeError, which was taken for a closed pipe."""
    endpoint, _ = demo
    env = {**os.environ, "PYTHONIOENCODING": encoding, "AWS_ENDPOINT_URL": endpoint}
    proc = subprocess.run(
        [sys.executable, "-m", "trailkit", "check", "--trail", "org-trail", "--key",
         "alias/explicit-deny"],
        capture_output=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    out = proc.stdout.decode(encoding)
    assert "BLOCKED" in out and "policy-deny" in out
    assert b"Traceback" not in proc.stderr


def test_several_trails_one_unplannable_the_others_shown_nothing_sent(demo: Any) -> None:
    """Found by a review: with one unknown trail among several, the run stopped with one line
    and no plan; with one blocked, nothing said the others were not sent either."""
    endpoint, _ = demo
    out, err = io.StringIO(), io.StringIO()
    code = main(
        ["--endpoint-url", endpoint, "update", "--trail", "org-trail", "--trail", "nope",
         "--key", "alias/cloudtrail-good", "--dry-run"],
        out=out, err=err,
    )  # fmt: skip
    assert code == 2
    assert "org-trail" in out.getvalue()  # the plan that could be made is shown
    assert "trailkit: nope: cannot be planned:" in err.getvalue()
    assert "Nothing was sent, to org-trail either" in err.getvalue()
    out, err = io.StringIO(), io.StringIO()
    code = main(
        ["--endpoint-url", endpoint, "update", "--trail", "org-trail", "--trail",
         "deleted-bucket-trail", "--key", "alias/cloudtrail-good", "--yes", "--dry-run"],
        out=out, err=err,
    )  # fmt: skip
    assert code == 1
    assert "refused: deleted-bucket-trail" in err.getvalue()
    assert "Nothing was sent to org-trail either" in err.getvalue()
