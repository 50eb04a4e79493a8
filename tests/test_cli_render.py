"""Issue 13, the terminal: ``check``, ``keys``, ``inventory``, ``journal`` and the ``update`` plan
fit 80 and 120 columns, colour verdicts and states on a terminal, and print no escape code at all
without one or with ``NO_COLOR``. JSON keeps every value whole."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len

from trailkit.change.journal import Journal, Kind, Phase
from trailkit.ui.cli import JOURNAL_ROWS, main
from trailkit.ui.terminal import DEFAULT_WIDTH, console_for, terminal_width, use_colour

ROOT = Path(__file__).resolve().parent.parent
ANSI = re.compile(r"\x1b\[[0-9;]*m")
RED, GREEN, YELLOW = "31", "32", "33"
DEMO_REGIONS = "us-east-1,eu-west-1,ap-northeast-1,us-west-2"

ACCOUNT = "111122223333"
TRAIL = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/organization-wide-management-events"
KEY_A = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
KEY_B = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/mrk-2234abcd12ab34cd56ef1234567890ab"
CALLER = f"arn:aws:sts::{ACCOUNT}:assumed-role/AWSReservedSSO_AdministratorAccess_0123/alice"
AWS_ENDPOINT = "https://*.us-east-1.amazonaws.com (AWS default)"


class _Terminal(io.StringIO):
    """An output stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture(params=[80, 120])
def width(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    """The terminal's width, as ``$COLUMNS`` tells it; colour settings from the test."""
    columns = int(request.param)
    monkeypatch.setenv("COLUMNS", str(columns))
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    return columns


def _run(*argv: str, tty: bool = False) -> tuple[int, str, str]:
    out: io.StringIO = _Terminal() if tty else io.StringIO()
    err = io.StringIO()
    return main(list(argv), out=out, err=err), out.getvalue(), err.getvalue()


def _fits(text: str, width: int) -> None:
    """No line wider than the terminal (escape codes take no room on screen)."""
    wide = [line for line in ANSI.sub("", text).splitlines() if cell_len(line) > width]
    assert not wide, f"{len(wide)} line(s) wider than {width}:\n" + "\n".join(wide)


def _whole(text: str, *values: str) -> None:
    """Each value (a name, an alias, a short ARN) whole on some line: never folded mid-word."""
    lines = text.splitlines()
    broken = [v for v in values if not any(v in line for line in lines)]
    assert not broken, f"not whole on any line: {broken}\n{text}"


def _coloured(text: str, word: str, colour: str) -> bool:
    """Whether ``word`` is printed in ``colour`` (an SGR code such as 31, maybe with bold)."""
    return re.search(rf"\x1b\[(?:[0-9]+;)*{colour}m{re.escape(word)}", text) is not None


def _both_ways(argv: list[str], width: int, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """The output without a terminal and on one; both must fit, the first has no escape codes,
    and with ``NO_COLOR`` the terminal's is the plain one."""
    code, plain, err = _run(*argv)
    assert code in (0, 1, 3), err
    assert "\x1b" not in plain
    _fits(plain, width)
    code_tty, coloured, _ = _run(*argv, tty=True)
    assert code_tty == code
    _fits(coloured, width)
    assert ANSI.sub("", coloured) == plain  # the same text, only coloured
    monkeypatch.setenv("NO_COLOR", "1")
    _, no_color, _ = _run(*argv, tty=True)
    monkeypatch.delenv("NO_COLOR")
    assert no_color == plain
    return plain, coloured


# -- the commands against the demo -------------------------------------------------------------


def test_check_blocked(demo: Any, width: int, monkeypatch: pytest.MonkeyPatch) -> None:
    argv = ["--endpoint-url", demo[0], "check", "--trail", "org-trail"]
    plain, coloured = _both_ways([*argv, "--key", "alias/cloudtrail-disabled"], width, monkeypatch)
    assert "verdict: BLOCKED" in plain
    assert _coloured(coloured, "BLOCKED", RED) and _coloured(coloured, "Disabled", RED)
    assert _coloured(coloured, "error", RED)  # the blocking finding's severity
    assert "key-state" in plain and "→ enable the key" in " ".join(plain.split())


def test_check_ready_and_unverifiable(
    demo: Any, width: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint, estate = demo
    argv = ["--endpoint-url", endpoint, "check", "--trail", "org-trail", "--key"]
    plain, coloured = _both_ways([*argv, "alias/cloudtrail-good"], width, monkeypatch)
    assert "verdict: READY" in plain and _coloured(coloured, "READY", GREEN)
    # the log-archive account's key, its owner out of reach (no such role there): unverifiable
    # (through the default role its owner reads it, policy and all)
    shared = estate.keys["alias/shared-logs-key"]
    plain, coloured = _both_ways([*argv, shared, "--role-name", "NoSuchRole"], width, monkeypatch)
    assert "verdict: UNVERIFIABLE" in plain and _coloured(coloured, "UNVERIFIABLE", YELLOW)


def test_keys(demo: Any, width: int, monkeypatch: pytest.MonkeyPatch) -> None:
    endpoint, estate = demo
    argv = ["--endpoint-url", endpoint, "keys", "--trail", "org-trail"]
    plain, coloured = _both_ways(argv, width, monkeypatch)
    assert _coloured(coloured, "READY", GREEN) and _coloured(coloured, "BLOCKED", RED)
    assert "alias/cloudtrail-good" in plain
    good = estate.keys["alias/cloudtrail-good"]
    assert good not in plain  # the table names keys by alias; the JSON has the ARN
    code, out, _ = _run(*argv, "--format", "json")
    rows = json.loads(out)
    assert code == 0 and good in {row["key_arn"] for row in rows}
    _whole(plain, "org-trail", *(r["alias"] for r in rows), *(r["code"] for r in rows if r["code"]))
    _whole(plain, "kms:EncryptionContext:aws:cloudtrail:arn")  # free text wraps between words


def test_inventory(demo: Any, width: int, monkeypatch: pytest.MonkeyPatch) -> None:
    argv = ["--endpoint-url", demo[0], "inventory", "--regions", DEMO_REGIONS]
    plain, coloured = _both_ways(argv, width, monkeypatch)
    assert plain.startswith("DEMO (local moto server) · account 123456789012")
    for name in ("org-trail", "app-trail", "tokyo-trail", "stale-key-trail", "bucketkey-trail"):
        assert name in plain
    assert "Keys in use:" in plain
    assert _coloured(coloured, "Disabled", RED) and _coloured(coloured, "Enabled", GREEN)
    assert "not logging" in plain
    code, out, _ = _run(*argv, "--format", "json")
    rows = json.loads(out)
    assert code == 0 and all(r["trail_arn"].startswith("arn:aws:cloudtrail:") for r in rows)
    names = [r["name"] for r in rows] + [r["bucket"] for r in rows]
    aliases = [r["key_alias"] for r in rows if r["key_alias"]]
    assert aliases and all(r["trail_arn"] not in plain for r in rows)
    _whole(plain, *names, *aliases)
    # a reason that several problems share is said once, as a footnote
    assert plain.count("the bucket belongs to another account") == 1
    assert re.search(r"HeadBucket: 403 \[1\]", plain) and "\n[1] the bucket belongs" in plain
    assert "the bucket belongs to another account" in out  # JSON keeps every message whole


def test_update_plan_reads_top_to_bottom(
    demo: Any, width: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint, estate = demo
    argv = ["--endpoint-url", endpoint, "update", "--trail", "org-trail", "--dry-run", "--key"]
    plain, coloured = _both_ways([*argv, "alias/cloudtrail-good"], width, monkeypatch)
    assert plain.rstrip().endswith("Dry run: nothing was sent.")
    labels = [re.search(rf"^{label}\b", plain, re.M) for label in PLAN_ORDER]
    assert all(labels), plain
    starts = [m.start() for m in labels if m is not None]
    assert starts == sorted(starts), "trail, before → after, where, verdict, findings, request"
    flat = " ".join(plain.split())
    assert "SSE-S3 → SSE-KMS alias/cloudtrail-good (key/" in flat
    assert "UpdateTrail in us-east-1 (account 123456789012)" in flat
    request = plain[labels[-1].start() :]  # type: ignore[union-attr]
    key = estate.keys["alias/cloudtrail-good"]
    lines = request.splitlines()
    assert any(line.strip() == key for line in lines) or any(
        line.split() == ["KmsKeyId", key] for line in lines
    ), request  # whole on one line: it can be copied
    assert any({"Name", estate.trails["org-trail"]} <= set(line.split()) for line in lines)
    _whole(plain, "org-trail", "alias/cloudtrail-good", "digest-files", "UpdateTrail")
    short = re.search(r"\(key/[0-9a-f]{8}…\)", plain)
    assert short is not None and key.split("/")[-1].startswith(short.group()[5:13])
    if width >= len(key) + 4:
        _fits(plain, width)  # the key ARN fits (indented on its own line at 80 columns)
    assert _coloured(coloured, "READY", GREEN)

    plain, coloured = _both_ways([*argv, "alias/cloudtrail-disabled"], width, monkeypatch)
    assert "BLOCKED" in plain and _coloured(coloured, "BLOCKED", RED)
    assert "Dry run" not in plain  # a blocked plan is refused, not dry-run


PLAN_ORDER = ("trail", "encryption", "sent to", "verdict", "findings", "request")


# -- the journal -------------------------------------------------------------------------------


def _journal(path: Path, changes: int = 3) -> Journal:
    """A journal with a done change, a failed one, a rollback and a pending one, on real AWS's
    long endpoint and a long caller (more changes repeat the pattern)."""
    journal = Journal(path)
    common: dict[str, Any] = {
        "kind": Kind.TRAIL_KEY,
        "target_arn": TRAIL,
        "region": "us-east-1",
        "caller_arn": CALLER,
        "account": ACCOUNT,
        "endpoint": AWS_ENDPOINT,
        "backend": "aws",
    }
    first = None
    for n in range(changes):
        intent = journal.record_intent(**common, before=KEY_A, after=KEY_B)
        if n == 0:
            journal.record_outcome(intent, Phase.DONE, after=KEY_B)
            first = intent
        elif n % 3 == 1:
            journal.record_outcome(intent, Phase.FAILED, after=KEY_A, error="AccessDenied")
        elif n % 3 == 2 and n != changes - 1:
            journal.record_outcome(intent, Phase.DONE, after=KEY_B)
    assert first is not None
    undo = journal.record_intent(**common, before=KEY_B, after=KEY_A, rollback_of=first.change_id)
    journal.record_outcome(undo, Phase.DONE, after=KEY_A)
    return journal


def test_journal(tmp_path: Path, width: int, monkeypatch: pytest.MonkeyPatch) -> None:
    journal = _journal(tmp_path / "j.jsonl")
    plain, coloured = _both_ways(["journal", "--journal", str(journal.path)], width, monkeypatch)
    changes = journal.changes()
    for change in changes:
        assert change.change_id in plain  # whole: `rollback --change ID` needs it
    assert _coloured(coloured, "done", GREEN) and _coloured(coloured, "failed", RED)
    assert _coloured(coloured, "pending", YELLOW)
    flat = " ".join(plain.split())
    assert "key/1234abcd… → key/mrk-2234abcd…" in flat and KEY_A not in plain
    assert f"rollback of {changes[0].change_id}" in flat
    assert f"aws · account {ACCOUNT} · {AWS_ENDPOINT}" in flat
    assert "organization-wide-management-events" in flat
    _whole(plain, "organization-wide-management-events:", "key/1234abcd…", "key/mrk-2234abcd…")
    _whole(plain, "https://*.us-east-1.amazonaws.com", *(c.change_id for c in changes))
    code, out, _ = _run("journal", "--journal", str(journal.path), "--format", "json")
    rows = json.loads(out)
    assert code == 0 and {r["target_arn"] for r in rows} == {TRAIL} and rows[0]["before"] == KEY_A


def test_a_long_journal_shows_the_newest_and_says_what_it_left_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    journal = _journal(tmp_path / "j.jsonl", changes=JOURNAL_ROWS + 11)
    changes = journal.changes()
    hidden = changes[: len(changes) - JOURNAL_ROWS]
    unsettled = sum(1 for c in hidden if not c.settled)
    assert unsettled  # the left-out part holds changes without an outcome
    code, plain, err = _run("journal", "--journal", str(journal.path))
    assert code == 0
    _fits(plain, 80)
    shown = re.findall(r"^(chg-\S+)", plain, re.M)  # the first cell of each row
    assert shown == [c.change_id for c in changes[-JOURNAL_ROWS:]]
    flat = " ".join(plain.split())
    assert (
        f"Showing the newest {JOURNAL_ROWS} of {len(changes)} changes: {len(hidden)} older ones "
        f"are not shown ({unsettled} of them without an outcome)"
    ) in flat
    assert "`trailkit journal --all`" in flat and "`--format json`" in flat
    pending = sum(1 for c in changes if not c.settled)
    assert f"{pending} changes have no outcome" in err  # the plural written right

    code, every, _ = _run("journal", "--journal", str(journal.path), "--all")
    assert code == 0
    lines = every.splitlines()
    assert lines[1].split()[:4] == ["change_id", "time", "kind", "status"]
    assert len(lines) == 2 + len(changes)  # path, header, one line per change
    assert all(c.change_id in every for c in changes) and KEY_A in every  # values whole


# -- width and colour rules --------------------------------------------------------------------


def test_width_and_colour_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("COLUMNS", "NO_COLOR", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert terminal_width(io.StringIO()) == DEFAULT_WIDTH == 120
    monkeypatch.setenv("COLUMNS", "97")
    assert terminal_width(io.StringIO()) == terminal_width(_Terminal()) == 97
    assert use_colour(_Terminal()) and not use_colour(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "")  # empty: not set (no-color.org)
    assert use_colour(_Terminal())
    monkeypatch.setenv("NO_COLOR", "0")  # any other value: no colour
    assert not use_colour(_Terminal())
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("TERM", "dumb")
    assert not use_colour(_Terminal())
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert not use_colour(io.StringIO())  # a file or a pipe never gets escape codes
    console = console_for(io.StringIO(), colour=False)
    assert console.width == 97 and console.color_system is None


def test_text_from_aws_is_printed_as_it_is() -> None:
    """No rich markup, emoji codes or highlighting in values that come from AWS."""
    from trailkit.ui.terminal import Col, emit, records_table

    out = _Terminal()
    row = {"message": "[bold]not markup[/bold] :smile: 123 arn:aws:x"}
    emit(console_for(out, width=80, colour=True), records_table([row], [Col("message")]))
    assert "[bold]not markup[/bold] :smile: 123 arn:aws:x" in out.getvalue()
    assert "\x1b[" not in out.getvalue().split("\n", 2)[-1]  # the row itself: no styles


def _draw(renderable: Any, width: int) -> str:
    from trailkit.ui.terminal import emit

    out = io.StringIO()
    emit(console_for(out, width=width, colour=False), renderable)
    return out.getvalue()


def test_a_table_keeps_ids_whole_and_moves_free_text_under_its_row() -> None:
    from trailkit.ui.terminal import Col, records_table

    columns = [Col("name"), Col("key", short=True), Col("used_by", "used by", free=True)]
    columns += [Col("reason", free=True), Col("empty", free=True)]
    row = {
        "name": "a-rather-long-trail-name-of-forty-chars",
        "key": KEY_A,
        "used_by": "one-trail, another-trail",
        "reason": f"The key policy does not let CloudTrail use {KEY_B} for this trail at all.",
        "empty": None,
    }
    wide = _draw(records_table([row], columns), 200)
    assert wide.splitlines()[0].split() == ["name", "key", "used", "by", "reason"]  # no "empty"
    assert KEY_B in wide and "key/1234abcd…" in wide
    narrow = _draw(records_table([row], columns), 60)
    _fits(narrow, 60)
    _whole(narrow, row["name"], "key/1234abcd…", "used by: one-trail, another-trail")
    assert "  reason: The key policy" in narrow  # under the row, named (two free columns)
    tight = _draw(records_table([row], columns), 40)
    _whole(tight, row["name"], "key/1234abcd…")  # too narrow for a table: blocks
    assert "  key: key/1234abcd…" in tight and "key/mrk-2234abcd…" in tight  # ARN shortened


def test_a_repeated_reason_is_a_footnote_only_where_the_column_asks() -> None:
    from trailkit.ui.terminal import Col, records_table

    why = "the bucket belongs to another account, which does not let this caller read it"
    rows = [
        {"name": "a", "problems": f"HeadBucket: 403 ({why}); GetBucketLocation: Denied ({why})"},
        {"name": "b", "problems": f"HeadBucket: 403 ({why})"},
        {"name": "c", "problems": "The bucket does not exist (S3 answered 404 to HeadBucket)."},
    ]
    text = _draw(records_table(rows, [Col("name"), Col("problems", free=True, notes=True)]), 80)
    flat = " ".join(text.split())
    assert flat.count(why) == 1 and f"[1] {why}" in flat and "\n    it" in text  # hanging
    assert "HeadBucket: 403 [1]; GetBucketLocation: Denied [1]" in text
    assert "(S3 answered 404 to HeadBucket)" in text  # said once: stays in its row
    plain = _draw(records_table(rows, [Col("name"), Col("problems", free=True)]), 80)
    assert " ".join(plain.split()).count(why) == 3 and "[1]" not in plain


# -- the README's picture ----------------------------------------------------------------------


def test_the_terminal_plan_picture_can_be_drawn_again(tmp_path: Path) -> None:
    svg = tmp_path / "plan.svg"
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "gen_terminal_plan.py"), "--port", "0", "--out", svg],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    text = svg.read_text(encoding="utf-8")
    assert text.startswith("<svg") and text.rstrip().endswith("</svg>")
    for word in ("org-trail", "UpdateTrail", "READY", "Dry&#160;run:"):
        assert word in text, word
    committed = (ROOT / "docs" / "terminal-plan.svg").read_text(encoding="utf-8")
    assert committed.startswith("<svg") and "READY" in committed


def test_a_real_terminal_sets_the_width_and_gets_colour(tmp_path: Path) -> None:
    """`trailkit journal` on a pseudo-terminal 70 columns wide, with no $COLUMNS: the width is
    the terminal's and the statuses are coloured."""
    import fcntl
    import os
    import pty
    import struct
    import termios

    journal = _journal(tmp_path / "j.jsonl")
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 70, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "NO_COLOR", "LINES")}
    env.update({"TERM": "xterm-256color", "PYTHONPATH": str(ROOT)})
    proc = subprocess.Popen(
        [sys.executable, "-m", "trailkit", "journal", "--journal", str(journal.path)],
        stdout=follower,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        env=env,
        cwd=tmp_path,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert proc.wait(timeout=60) == 0
    text = b"".join(chunks).decode("utf-8").replace("\r\n", "\n")
    _fits(text, 70)
    assert max(cell_len(line) for line in ANSI.sub("", text).splitlines()) > 60  # not 120, not 40
    assert _coloured(text, "done", GREEN) and _coloured(text, "failed", RED)


# -- a fresh user's review of the terminal views -----------------------------------------------


@pytest.fixture
def at80(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("NO_COLOR", raising=False)
    return 80


def test_turning_encryption_off_is_amber_not_a_green_ready(demo: Any, at80: int) -> None:
    """As notebook 02's headline: ENCRYPTION OFF in amber; both sides name the key by alias."""
    argv = ["--endpoint-url", demo[0], "disable", "--trail", "pinned-key-trail", "--dry-run"]
    code, plain, _ = _run(*argv)
    _, coloured, _ = _run(*argv, tty=True)
    assert code == 0 and "READY" not in plain
    flat = " ".join(plain.split())
    assert "verdict ENCRYPTION OFF (AWS will accept it: new log files will be encrypted" in flat
    assert _coloured(coloured, "ENCRYPTION OFF", YELLOW)
    # the key the trail uses now is known by its alias: the before side shows it too
    assert re.search(r"SSE-KMS alias/cloudtrail-good \(key/[0-9a-f]{8}…\) → SSE-S3", flat), flat


def test_an_unverifiable_plan_says_what_its_verdict_means(demo: Any, at80: int) -> None:
    endpoint, estate = demo
    shared = estate.keys["alias/shared-logs-key"]
    argv = ["--endpoint-url", endpoint, "update", "--trail", "org-trail", "--key", shared]
    code, plain, _ = _run(*argv, "--dry-run", "--role-name", "NoSuchRole")  # owner out of reach
    assert code == 3
    assert (
        "UNVERIFIABLE (checks that could not be verified: sent only with --accept-unverifiable)"
        in " ".join(plain.split())
    )


def test_check_echoes_the_key_as_typed_whole_and_quoted(demo: Any, at80: int) -> None:
    endpoint, estate = demo
    good = estate.keys["alias/cloudtrail-good"]
    other = "arn:aws:kms:us-east-1:999988887777:key/11111111-2222-3333-4444-555555555555"
    for key in (good, other):
        code, plain, _ = _run(
            "--endpoint-url", endpoint, "check", "--trail", "org-trail", "--key", key
        )
        assert code in (0, 1, 3)
        _fits(plain, 80)
        assert any(line.strip() == repr(key) for line in plain.splitlines()), plain
    assert "999988887777" in plain  # another account's key keeps its account


def test_the_journal_says_why_a_change_failed(tmp_path: Path, at80: int) -> None:
    journal = Journal(tmp_path / "j.jsonl")
    intent = journal.record_intent(
        kind=Kind.TRAIL_KEY,
        target_arn=TRAIL,
        region="us-east-1",
        caller_arn=CALLER,
        account=ACCOUNT,
        endpoint=AWS_ENDPOINT,
        backend="aws",
        before=None,
        after=KEY_A,
    )
    why = (
        "AccessDeniedException: User: alice is not authorized to perform: "
        "cloudtrail:UpdateTrail on resource organization-wide-management-events because no "
        "identity-based policy allows the cloudtrail:UpdateTrail action"
    )
    journal.record_outcome(intent, Phase.FAILED, after=None, error=why)
    code, plain, _ = _run("journal", "--journal", str(journal.path))
    assert code == 0
    _fits(plain, 80)
    assert f"failed: {why}" in " ".join(plain.split())
    _whole(plain, "cloudtrail:UpdateTrail", "identity-based", "AccessDeniedException:")


def test_stacked_records_indent_their_further_lines_and_leave_empty_fields_out() -> None:
    from trailkit.ui.terminal import TRAIL_TABLE, records_table, trail_rows

    rows = trail_rows(
        [
            {
                "name": "app-trail",
                "home_region": "eu-west-1",
                "encryption": "SSE-KMS",
                "key_alias": "alias/cloudtrail-good-euw1",
                "key_region": "eu-west-1",
                "key_state": "Enabled",
                "bucket": "tk-app-logs-euw1",
                "bucket_region": "eu-west-1",
                "logging": True,
            },
            {
                "name": "deleted-bucket-trail",
                "home_region": "us-east-1",
                "encryption": "SSE-S3",
                "bucket": "tk-deleted-logs-use1",
                "logging": True,
                "error": "The bucket tk-deleted-logs-use1 does not exist (S3 answered 404 to "
                "HeadBucket).",
            },
        ]
    )
    text = _draw(records_table(rows, TRAIL_TABLE), 60)
    _fits(text, 60)
    starts = [line for line in text.splitlines() if line and not line.startswith(" ")]
    assert starts == ["app-trail · eu-west-1", "deleted-bucket-trail · us-east-1"], text
    assert "  bucket: tk-app-logs-euw1\n          eu-west-1\n" in text  # under its label
    assert "problems: -" not in text and text.count("problems:") == 1
    assert re.search(r"problems: The bucket .*\n {12}\S", text), text


def test_keys_separate_the_deciding_code_from_warnings(demo: Any, at80: int) -> None:
    argv = ["--endpoint-url", demo[0], "keys", "--trail", "org-trail"]
    _, plain, _ = _run(*argv)
    _, coloured, _ = _run(*argv, tty=True)
    lines = plain.splitlines()
    ready = next(line for line in lines if "alias/encrypt-no-describe" in line)
    assert ready.split()[-2:] == ["warning:", "policy-describe"]  # no "-" above a warning
    blocked = lines.index(next(line for line in lines if "alias/no-cloudtrail" in line))
    assert lines[blocked].split()[-1] == "policy-encrypt"
    assert lines[blocked + 1].split() == ["warning:", "policy-describe"]
    assert not any(line.split() == ["policy-describe"] for line in lines)
    assert _coloured(coloured, "warning: policy-describe", YELLOW)
    assert _coloured(coloured, "policy-encrypt", RED)


def test_policy_is_fitted_to_the_terminal(demo: Any, at80: int) -> None:
    argv = ["--endpoint-url", demo[0], "policy", "--trail", "org-trail", "--key"]
    code, plain, _ = _run(*argv, "alias/no-cloudtrail")
    assert code == 0
    wide = [line for line in plain.splitlines() if cell_len(line) > 80]
    assert all(
        len(line.split()) == 1 or (line[:1] in "+-" and len(line[1:].split()) == 1) for line in wide
    ), wide
    flat = " ".join(plain.split())
    assert re.search(r"^key: +alias/no-cloudtrail \(key/[0-9a-f]{8}…\)", plain, re.M), plain
    assert "fixes: policy-describe, policy-encrypt" in flat
    assert "change: 2 statements added, none changed or removed" in flat
    assert "statement(s)" not in plain
    _, coloured, _ = _run(*argv, "alias/no-cloudtrail", tty=True)
    assert re.search(r"\x1b\[32m\+ +\"Sid\": \"TrailkitCloudTrailEncrypt", coloured), coloured
    assert ANSI.sub("", coloured) == plain


def test_sentences_end_before_the_next_one_starts() -> None:
    from trailkit.errors import InputError
    from trailkit.rules.checks import KeyLookup, check_key
    from trailkit.rules.keyids import parse_key_id

    assert str(InputError("no such thing", "look again")) == "no such thing. Fix: look again"
    assert str(InputError("done.", "x")) == "done. Fix: x"
    ref = parse_key_id(
        "arn:aws:kms:us-east-1:999988887777:key/11111111-2222-3333-4444-555555555555"
    )
    findings = check_key(KeyLookup(ref, problem="unreadable", message="AccessDenied"), None)  # type: ignore[arg-type]
    assert "AccessDenied. Its state" in findings[0].message
