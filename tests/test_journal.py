"""The change journal: durability, permissions, tolerance of damage, concurrency, reconcile."""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import platformdirs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import trailkit.change.journal as journal_mod
from trailkit.change.journal import (
    JOURNAL_ENV,
    MAX_LINE_BYTES,
    Change,
    Journal,
    Kind,
    Phase,
    Record,
    default_path,
    reconcile,
)
from trailkit.errors import InputError, JournalError, NotFound, TrailkitError
from trailkit.records.journal import changes_frame

ACCOUNT = "111122223333"
TRAIL = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/main"
KEY_A = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
KEY_B = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/mrk-0123456789abcdef0123456789abcdef"
CALLER = f"arn:aws:sts::{ACCOUNT}:assumed-role/Admin/alice"
POLICY_BEFORE = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:*"}
        ],
    }
)
POLICY_AFTER = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:*"},
            {
                "Sid": "CloudTrailEncrypt",
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": "kms:GenerateDataKey*",
            },
        ],
    }
)


def intent_fields(**over: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "kind": Kind.TRAIL_KEY,
        "target_arn": TRAIL,
        "region": "us-east-1",
        "before": None,
        "after": KEY_A,
        "caller_arn": CALLER,
        "account": ACCOUNT,
        "endpoint": "",
        "backend": "demo",
    }
    fields.update(over)
    return fields


def make_record(**over: Any) -> Record:
    fields: dict[str, Any] = {
        "change_id": "chg-20261129T051200Z-3f9a1c",
        "phase": Phase.INTENT,
        "time": "2026-11-29T05:12:00Z",
        **intent_fields(),
    }
    fields.update(over)
    return Record(**fields)


@pytest.fixture
def jpath(tmp_path: Path) -> Path:
    return tmp_path / "state" / "journal.jsonl"


@pytest.fixture
def journal(jpath: Path) -> Journal:
    return Journal(jpath)


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------


def test_round_trip_all_fields() -> None:
    rec = make_record(
        phase=Phase.FAILED,
        kind=Kind.KEY_POLICY,
        target_arn=KEY_A,
        before=POLICY_BEFORE,
        after=POLICY_AFTER,
        request_id="req-1",
        error="PutKeyPolicy failed (MalformedPolicyDocumentException): non ascii é ✓",
        rollback_of="chg-20261128T000000Z-aaaaaa",
        trail_arn=TRAIL,
        note="line\nbreak",
    )
    line = rec.as_json()
    assert "\n" not in line
    assert line.isascii()
    assert list(json.loads(line)) == sorted(json.loads(line))
    back = Record.from_json(line)
    assert back == rec
    assert back.phase is Phase.FAILED and back.kind is Kind.KEY_POLICY


def test_record_coerces_enum_strings_and_rejects_unknown() -> None:
    rec = make_record(phase="done", kind="trail-key")
    assert rec.phase is Phase.DONE and rec.kind is Kind.TRAIL_KEY
    with pytest.raises(JournalError, match="unknown phase 'oops'"):
        make_record(phase="oops")
    with pytest.raises(JournalError, match="unknown kind"):
        make_record(kind="bucket")
    with pytest.raises(JournalError, match="'change_id' must not be empty"):
        make_record(change_id=" ")


_text = st.text(max_size=60)
_opt = st.none() | _text


@given(
    change_id=st.text(min_size=1, max_size=40).filter(str.strip),
    phase=st.sampled_from(Phase),
    kind=st.sampled_from(Kind),
    strings=st.lists(_text, min_size=6, max_size=6),
    optional=st.lists(_opt, min_size=7, max_size=7),
)
def test_round_trip_property(
    change_id: str, phase: Phase, kind: Kind, strings: list[str], optional: list[str | None]
) -> None:
    rec = Record(
        change_id,
        phase,
        kind,
        "2026-11-29T05:12:00Z",
        *strings,
        *optional,
    )
    line = rec.as_json()
    assert "\n" not in line and "\r" not in line
    assert Record.from_json(line) == rec


# --------------------------------------------------------------------------------------------
# Files and permissions
# --------------------------------------------------------------------------------------------


def test_missing_file_is_empty(journal: Journal) -> None:
    result = journal.read()
    assert result.records == () and result.problems == () and result.ok
    assert journal.changes() == [] and journal.pending() == []
    assert not journal.path.exists()


@pytest.mark.usefixtures("umask_022")
def test_created_private_with_private_parents(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "journal.jsonl"
    outer = mode(tmp_path)
    Journal(path).record_intent(**intent_fields())
    assert mode(path) == 0o600
    assert mode(tmp_path / "a" / "b") == 0o700
    assert mode(tmp_path / "a") == 0o700
    assert mode(tmp_path) == outer  # an existing directory is left alone


@pytest.mark.usefixtures("umask_022")
def test_existing_loose_file_is_tightened(journal: Journal, jpath: Path) -> None:
    jpath.parent.mkdir()
    old = make_record()
    jpath.write_text(old.as_json() + "\n")
    os.chmod(jpath, 0o644)
    new = journal.record_outcome(old, Phase.DONE, after=KEY_A)
    assert mode(jpath) == 0o600
    assert journal.read().records == (old, new)


def test_journal_path_that_is_a_directory(tmp_path: Path) -> None:
    with pytest.raises(JournalError, match="journal"):
        Journal(tmp_path).record_intent(**intent_fields())
    with pytest.raises(JournalError, match="not a regular file"):
        Journal(tmp_path).read()


def test_intent_is_durable_before_the_outcome(
    journal: Journal, jpath: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[int] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        real_fsync(fd)
        synced.append(fd)

    monkeypatch.setattr(os, "fsync", spy)
    intent = journal.record_intent(**intent_fields())
    assert synced, "append must fsync before returning"
    # What a crash right now would leave: a fresh reader sees the intent, pending.
    fresh = Journal(jpath)
    [change] = fresh.pending()
    assert change.intent == intent and change.status == "pending" and not change.settled
    journal.record_outcome(intent, Phase.DONE, after=KEY_A, request_id="r-1")
    assert Journal(jpath).get(intent.change_id).status == "done"


# --------------------------------------------------------------------------------------------
# Damage
# --------------------------------------------------------------------------------------------


def test_truncated_last_line_then_append(journal: Journal, jpath: Path) -> None:
    kept = [journal.record_intent(**intent_fields()) for _ in range(3)]
    torn = make_record(change_id="chg-torn").as_json()
    with open(jpath, "ab") as fh:
        fh.write(torn[: len(torn) // 2].encode())  # a crash mid-write
    result = journal.read()
    assert result.records == tuple(kept)
    assert result.problems == ("line 4: truncated JSON (the last write may have been interrupted)",)

    new = journal.record_intent(**intent_fields())
    raw = jpath.read_bytes()
    lines = raw.split(b"\n")
    assert raw.endswith(b"\n")
    assert lines[3] == torn[: len(torn) // 2].encode()
    assert Record.from_json(lines[4].decode()) == new
    result = journal.read()
    assert result.records == (*kept, new)
    assert result.problems == ("line 4: truncated JSON (a write may have been interrupted)",)


def test_complete_last_line_without_newline_is_kept(journal: Journal, jpath: Path) -> None:
    jpath.parent.mkdir()
    rec = make_record()
    jpath.write_text(rec.as_json())
    assert journal.read().records == (rec,)
    new = journal.record_outcome(rec, Phase.DONE, after=KEY_A)
    assert journal.read() == journal_mod.ReadResult((rec, new), ())


def _valid(change_id: str) -> str:
    return make_record(change_id=change_id).as_json()


def _with(**over: Any) -> str:
    data = json.loads(_valid("chg-x"))
    data.update(over)
    return json.dumps(data)


def _without(key: str) -> str:
    data = json.loads(_valid("chg-x"))
    del data[key]
    return json.dumps(data)


GARBAGE: list[tuple[bytes, str]] = [
    (b"not json at all", "not valid JSON (Expecting value at column 1)"),
    # json's message ends in "at" here: said once ("starting at at column" before the fix)
    (b'{"change_id": "x", "pha', "not valid JSON (Unterminated string starting at column 20)"),
    (b'{"change_id": "a\tb"}', "not valid JSON (Invalid control character at column 17)"),
    (b"[1, 2, 3]", "not a JSON object (got array)"),
    (b'"a string"', "not a JSON object (got string)"),
    (_with(time=5).encode(), "field 'time' must be a string, not number"),
    (_with(before=["x"]).encode(), "field 'before' must be a string or null, not array"),
    (_with(phase="oops").encode(), "unknown phase 'oops'"),
    (_with(kind=None).encode(), "field 'kind' must be a string, not null"),
    (_without("change_id").encode(), "missing field 'change_id'"),
    (_without("after").encode(), "missing field 'after'"),
    (_with(change_id="").encode(), "field 'change_id' must not be empty"),
    (_with(time="yesterday").encode(), "field 'time' is not an ISO 8601 time"),
    (_with(note=float("nan")).encode(), "not valid JSON (NaN is not allowed)"),
    (b"{" * 100_000, "not valid JSON"),
    (b"x" * 1_000_000, "not valid JSON"),
    (b"x" * (MAX_LINE_BYTES + 1), f"longer than the {MAX_LINE_BYTES}-byte limit"),
    (b'{"change_id": "\xff\xfe"}', "not UTF-8 text"),
    (_valid("chg-x")[:-20].encode(), "truncated JSON"),
]


@pytest.mark.parametrize(("garbage", "expected"), GARBAGE, ids=[e for _, e in GARBAGE])
def test_garbage_lines_are_reported_and_skipped(
    journal: Journal, jpath: Path, garbage: bytes, expected: str
) -> None:
    jpath.parent.mkdir()
    first, last = make_record(change_id="chg-1"), make_record(change_id="chg-2")
    jpath.write_bytes(
        first.as_json().encode() + b"\n" + garbage + b"\n" + last.as_json().encode() + b"\n"
    )
    result = journal.read()
    assert result.records == (first, last)
    assert len(result.problems) == 1
    problem = result.problems[0]
    assert problem.startswith("line 2: ")
    assert expected in problem
    assert len(problem) < 200  # never echoes the line
    assert [c.change_id for c in journal.changes()] == ["chg-1", "chg-2"]


def test_blank_lines_are_ignored(journal: Journal, jpath: Path) -> None:
    jpath.parent.mkdir()
    rec = make_record()
    jpath.write_text(f"\n  \n{rec.as_json()}\r\n\n")
    assert journal.read() == journal_mod.ReadResult((rec,), ())


_chunk = st.binary(max_size=200) | st.text(max_size=200).map(lambda t: t.encode("utf-8", "replace"))


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(count=st.integers(0, 6), garbage=st.lists(st.tuples(st.integers(0, 6), _chunk), max_size=8))
def test_random_garbage_never_raises_or_drops(
    tmp_path: Path, count: int, garbage: list[tuple[int, bytes]]
) -> None:
    valid = [make_record(change_id=f"chg-{i}") for i in range(count)]
    body: list[bytes] = []
    for i in range(count + 1):
        body.extend(chunk + b"\n" for at, chunk in garbage if at == i)
        if i < count:
            body.append(valid[i].as_json().encode() + b"\n")
    path = tmp_path / "fuzz.jsonl"
    path.write_bytes(b"".join(body))
    result = Journal(path).read()
    assert [r for r in result.records if r in valid] == valid
    assert len(result.records) >= count
    assert all(isinstance(p, str) for p in result.problems)


def test_outcome_without_intent_is_a_problem(journal: Journal) -> None:
    orphan = make_record(change_id="chg-orphan", phase=Phase.DONE)
    journal.append(orphan)
    intent = journal.record_intent(**intent_fields())
    result = journal.read()
    assert result.records == (orphan, intent)
    assert result.problems == ("line 1: done record for chg-orphan has no intent record",)
    assert [c.change_id for c in journal.changes()] == [intent.change_id]
    with pytest.raises(JournalError, match="No change chg-orphan"):
        journal.get("chg-orphan")


def test_duplicate_and_mismatched_outcomes_are_problems(journal: Journal) -> None:
    intent = journal.record_intent(**intent_fields())
    first = journal.record_outcome(intent, Phase.DONE, after=KEY_A)
    journal.record_outcome(intent, Phase.FAILED, after=None, error="late")
    journal.append(
        make_record(change_id=intent.change_id, phase=Phase.DONE, target_arn=TRAIL + "-other")
    )
    problems = journal.read().problems
    assert problems == (
        f"line 3: second outcome for {intent.change_id} (the first is on line 2); ignored",
        f"line 4: done record for {intent.change_id} does not match its intent "
        "(kind or target differs); ignored",
    )
    assert journal.get(intent.change_id).outcome == first


# --------------------------------------------------------------------------------------------
# Concurrency
# --------------------------------------------------------------------------------------------


def _append_many(path: str, tag: str, n: int) -> None:
    j = Journal(path)
    for i in range(n):
        j.record_intent(
            **intent_fields(
                change_id=f"chg-{tag}-{i:03d}",
                kind=Kind.KEY_POLICY,
                target_arn=KEY_A,
                before=POLICY_BEFORE,
                after=json.dumps({"Statement": [], "Pad": "p" * 5000, "Tag": tag}),
            )
        )


def _assert_clean(path: Path, expected: set[str]) -> None:
    result = Journal(path).read()
    assert result.problems == ()
    assert {r.change_id for r in result.records} == expected
    assert len(result.records) == len(expected)
    for line in path.read_bytes().split(b"\n")[:-1]:
        Record.from_json(line.decode())  # every physical line is one whole record


def test_concurrent_threads_never_interleave(jpath: Path) -> None:
    shared = Journal(jpath)
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            barrier.wait()
            j = shared if t % 2 else Journal(jpath)  # one shared object and separate ones
            for i in range(50):
                j.record_intent(**intent_fields(change_id=f"chg-t{t}-{i:03d}", note="n" * 3000))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    _assert_clean(jpath, {f"chg-t{t}-{i:03d}" for t in range(8) for i in range(50)})


def test_concurrent_processes_never_interleave(jpath: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_append_many, args=(str(jpath), tag, 60)) for tag in "ab"]
    for p in procs:
        p.start()
    _append_many(str(jpath), "main", 60)
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    _assert_clean(jpath, {f"chg-{tag}-{i:03d}" for tag in ("a", "b", "main") for i in range(60)})


# --------------------------------------------------------------------------------------------
# Credentials
# --------------------------------------------------------------------------------------------

# Credentials are recognised by the shape of the value, never by a name next to it.
_TOKEN = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD" + "a1B2c3D4e5F6" * 20
SECRETS = [
    ("note", "AKIAIOSFODNN7EXAMPLE"),
    ("error", "key ASIAQWERTYUIOPASDFGH was used"),
    (
        "before",
        '{"Condition": {"id": "AKIAIOSFODNN7EXAMPLE", '
        '"k": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}}',
    ),
    ("after", json.dumps({"Statement": [], "x": _TOKEN})),
    ("note", f"token={_TOKEN}"),
    ("endpoint", f"https://example.com/?X-Amz-Security-Token={_TOKEN}"),
    # an unprefixed, varied base64 blob of token length
    ("caller_arn", "".join(chr(c) for c in range(65, 91)) * 3 + "abcdefghij0123456789/+" * 12),
]

#: Names that only *mention* credentials, with harmless values: never refused.
NOT_SECRETS = [
    ("after", json.dumps({"Statement": [{"Sid": "AllowSessionTokenUsers", "Effect": "Allow"}]})),
    ("before", '{"aws_secret_access_key": "wJalrXUtnFEMI"}'),
    ("after", '{"SecretAccessKey": "x"}'),
    ("note", "SessionToken=abc"),
    ("caller_arn", "aws_session_token"),
    ("endpoint", "https://example.com/?X-Amz-Security-Token=abc"),
    ("note", "sha1 " + "da39a3ee5e6b4b0d3255bfef95601890afd80709"),  # 40 chars, no key id
    ("note", "p" * 5000),
]


@pytest.mark.parametrize(("field", "value"), NOT_SECRETS)
def test_names_that_mention_credentials_are_not_refused(
    journal: Journal, field: str, value: str
) -> None:
    journal.append(make_record(**{field: value}))
    assert [getattr(r, field) for r in journal.read().records] == [value]


@pytest.mark.parametrize(("field", "value"), SECRETS)
def test_credentials_are_refused(journal: Journal, jpath: Path, field: str, value: str) -> None:
    with pytest.raises(JournalError, match=f"field '{field}' contains what looks like") as info:
        journal.append(make_record(**{field: value}))
    assert value not in str(info.value)
    assert not jpath.exists()
    # With a journal already there, nothing is added either.
    journal.record_intent(**intent_fields())
    before = jpath.read_bytes()
    with pytest.raises(JournalError):
        journal.append(make_record(**{field: value}))
    assert jpath.read_bytes() == before


def test_ordinary_values_are_not_mistaken_for_credentials(journal: Journal) -> None:
    journal.record_intent(
        **intent_fields(
            kind=Kind.KEY_POLICY,
            target_arn=KEY_B,
            before=POLICY_BEFORE,
            after=POLICY_AFTER,
            caller_arn=f"arn:aws:iam::{ACCOUNT}:user/AKIA-ops",
            note="AIDAJQABLZS4A3QDU576Q XAKIAIOSFODNN7EXAMPLE1",
        )
    )
    assert len(journal.read().records) == 1


def test_oversized_record_is_refused(journal: Journal, jpath: Path) -> None:
    with pytest.raises(JournalError, match="line limit"):
        journal.record_intent(**intent_fields(note="x" * (MAX_LINE_BYTES + 1)))
    assert not jpath.exists()


# --------------------------------------------------------------------------------------------
# Queries
# --------------------------------------------------------------------------------------------


def test_new_change_id_is_sortable_and_unique(journal: Journal) -> None:
    ids = {journal.new_change_id() for _ in range(500)}
    assert len(ids) == 500
    for cid in ids:
        assert re.fullmatch(r"chg-\d{8}T\d{6}Z-[0-9a-f]{6}", cid)


def test_record_intent_and_outcome(journal: Journal) -> None:
    intent = journal.record_intent(**intent_fields(change_id="chg-given", rollback_of="chg-old"))
    assert intent.change_id == "chg-given" and intent.phase is Phase.INTENT
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", intent.time)
    done = journal.record_outcome(intent, Phase.DONE, after=KEY_A, request_id="r-9", note="ok")
    assert (done.change_id, done.before, done.rollback_of) == ("chg-given", None, "chg-old")
    assert (done.request_id, done.note, done.error) == ("r-9", "ok", None)
    with pytest.raises(InputError, match="cannot have phase 'intent'"):
        journal.record_outcome(intent, Phase.INTENT, after=None)
    with pytest.raises(InputError, match="needs the intent record"):
        journal.record_outcome(done, Phase.DONE, after=None)
    assert journal.read().records == (intent, done)


def test_get_last_pending(journal: Journal) -> None:
    with pytest.raises(JournalError, match="no applied change in"):
        journal.last()
    a = journal.record_intent(**intent_fields(change_id="chg-a"))
    b = journal.record_intent(
        **intent_fields(change_id="chg-b", kind=Kind.KEY_POLICY, target_arn=KEY_A)
    )
    c = journal.record_intent(**intent_fields(change_id="chg-c"))
    journal.record_outcome(b, Phase.DONE, after=POLICY_AFTER)
    journal.record_outcome(a, Phase.DONE, after=KEY_A)  # finished after b
    journal.record_outcome(c, Phase.FAILED, after=None, error="denied")
    d = journal.record_intent(**intent_fields(change_id="chg-d"))

    assert [ch.change_id for ch in journal.changes()] == ["chg-a", "chg-b", "chg-c", "chg-d"]
    assert [ch.status for ch in journal.changes()] == ["done", "done", "failed", "pending"]
    assert journal.last().change_id == "chg-a"
    assert journal.last(kind=Kind.KEY_POLICY).change_id == "chg-b"
    assert journal.last(kind=Kind.TRAIL_KEY).change_id == "chg-a"
    assert journal.last(done_only=False).change_id == "chg-d"
    assert [ch.intent for ch in journal.pending()] == [d]
    got = journal.get("chg-c")
    assert got.status == "failed" and got.outcome is not None and got.outcome.error == "denied"
    with pytest.raises(JournalError) as info:
        journal.get("chg-nope")
    # a sentence, then the fix: "No change X in PATH. Fix: ..." (it ran on: "PATH Fix:")
    assert str(info.value).startswith(f"No change chg-nope in {journal.path}. Fix: check")

    empty = Journal(journal.path.with_name("other.jsonl"))
    empty.record_intent(**intent_fields())
    with pytest.raises(JournalError, match="no applied key-policy change"):
        empty.last(kind=Kind.KEY_POLICY)
    assert empty.last(done_only=False).status == "pending"


def test_env_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    target = tmp_path / "env" / "j.jsonl"
    monkeypatch.setenv(JOURNAL_ENV, str(target))
    assert default_path() == target
    j = Journal()
    assert j.path == target
    j.record_intent(**intent_fields())
    assert target.exists()
    monkeypatch.delenv(JOURNAL_ENV)
    expected = platformdirs.user_data_path("trailkit", appauthor=False) / "journal.jsonl"
    assert default_path() == expected
    assert Journal().path == expected
    monkeypatch.setenv(JOURNAL_ENV, "")
    assert default_path() == expected


# --------------------------------------------------------------------------------------------
# Reconcile
# --------------------------------------------------------------------------------------------


def test_reconcile(journal: Journal, jpath: Path) -> None:
    # One trail each: with no later change to the same target, the live state decides.
    applied = journal.record_intent(
        **intent_fields(change_id="chg-1", target_arn=TRAIL + "-1", before=None, after=KEY_A)
    )
    not_applied = journal.record_intent(
        **intent_fields(change_id="chg-2", target_arn=TRAIL + "-2", before=KEY_A, after=None)
    )
    other = journal.record_intent(
        **intent_fields(change_id="chg-3", target_arn=TRAIL + "-3", before=None, after=KEY_A)
    )
    policy = journal.record_intent(
        **intent_fields(
            change_id="chg-4",
            kind=Kind.KEY_POLICY,
            target_arn=KEY_A,
            before=POLICY_BEFORE,
            after=POLICY_AFTER,
            trail_arn=TRAIL,
        )
    )
    unreachable = journal.record_intent(**intent_fields(change_id="chg-5", target_arn=TRAIL + "-5"))
    settled_before = journal.record_intent(
        **intent_fields(change_id="chg-6", target_arn=TRAIL + "-6")
    )
    journal.record_outcome(settled_before, Phase.DONE, after=KEY_A)

    live: dict[str, str | None] = {
        "chg-1": KEY_A,
        "chg-2": KEY_A,
        "chg-3": KEY_B,
        # same policy, different formatting and key order
        "chg-4": json.dumps(json.loads(POLICY_AFTER), indent=4, sort_keys=True),
    }
    asked: list[str] = []

    def read_state(intent: Record) -> str | None:
        asked.append(intent.change_id)
        if intent.change_id == "chg-5":
            raise TrailkitError("Could not reach the endpoint.")
        return live[intent.change_id]

    result = reconcile(journal, read_state, now=lambda: "2026-11-30T00:00:00Z")
    assert asked == ["chg-1", "chg-2", "chg-3", "chg-4", "chg-5"]  # never chg-6
    by_id = {change.change_id: (change, rec) for change, rec in result}
    assert set(by_id) == {"chg-1", "chg-2", "chg-3", "chg-4"}
    assert by_id["chg-1"][0].status == "reconciled-done"
    assert by_id["chg-2"][0].status == "reconciled-not-applied"
    assert by_id["chg-3"][0].status == "reconciled-changed"
    assert by_id["chg-4"][0].status == "reconciled-done"
    assert by_id["chg-1"][0].intent == applied
    assert by_id["chg-2"][0].intent == not_applied and by_id["chg-4"][0].intent == policy
    rec3 = by_id["chg-3"][1]
    assert (rec3.phase, rec3.note, rec3.after, rec3.before) == (
        Phase.RECONCILED,
        "changed-by-someone-else",
        KEY_B,
        None,
    )
    assert by_id["chg-1"][1].note == "applied" and by_id["chg-2"][1].note == "not-applied"
    assert all(rec.time == "2026-11-30T00:00:00Z" for _, rec in result)
    assert by_id["chg-3"][0].intent == other

    # On disk, and readable by a fresh journal; the unreachable change is still pending.
    fresh = Journal(jpath)
    assert [c.intent for c in fresh.pending()] == [unreachable]
    assert fresh.get("chg-3").status == "reconciled-changed"
    assert fresh.get("chg-6").status == "done"
    assert fresh.last().change_id == "chg-4"  # reconciled-done counts as applied

    # Idempotent: settled changes are not touched again.
    snapshot = jpath.read_bytes()
    asked.clear()
    assert reconcile(journal, read_state) == []
    assert asked == ["chg-5"]
    assert jpath.read_bytes() == snapshot
    assert journal.read().problems == ()


def test_reconcile_none_and_non_json_policies(journal: Journal) -> None:
    journal.record_intent(**intent_fields(change_id="chg-sse", before=KEY_A, after=None))
    journal.record_intent(
        **intent_fields(
            change_id="chg-pol", kind=Kind.KEY_POLICY, target_arn=KEY_A, before="{", after="x"
        )
    )
    states = {"chg-sse": None, "chg-pol": "{"}
    result = reconcile(journal, lambda intent: states[intent.change_id])
    assert [(c.change_id, c.status) for c, _ in result] == [
        ("chg-sse", "reconciled-done"),
        ("chg-pol", "reconciled-not-applied"),
    ]


def test_reconcile_keeps_going_after_errors_and_loses_nothing(journal: Journal) -> None:
    for i in range(3):  # three trails: each is settled from its live state
        journal.record_intent(**intent_fields(change_id=f"chg-{i}", target_arn=f"{TRAIL}-{i}"))

    def read_state(intent: Record) -> str | None:
        if intent.change_id == "chg-0":
            raise TrailkitError("cannot reach the endpoint")
        if intent.change_id == "chg-2":
            raise RuntimeError("bug")
        return KEY_A

    with pytest.raises(RuntimeError):
        reconcile(journal, read_state)
    assert [c.status for c in journal.changes()] == ["pending", "reconciled-done", "pending"]


@pytest.mark.parametrize(
    ("next_before", "status"),
    [
        (KEY_B, "reconciled-done"),  # the next change found this change's key in place
        (KEY_A, "reconciled-not-applied"),  # it found the key from before this change
        (None, "reconciled-changed"),  # it found a third state
    ],
)
def test_a_later_change_to_the_same_trail_decides_not_the_live_state(
    journal: Journal, next_before: str | None, status: str
) -> None:
    """The fault found: an update interrupted after sending, three more changes to the trail,
    then reconcile read the live key (moved on since) and journaled "not-applied" for a change
    that had been applied. The next change's ``before`` is what this change left."""
    journal.record_intent(**intent_fields(change_id="chg-cut", before=KEY_A, after=KEY_B))
    later = journal.record_intent(
        **intent_fields(change_id="chg-next", before=next_before, after=KEY_A)
    )
    journal.record_outcome(later, Phase.DONE, after=KEY_A)
    other_account = journal.record_intent(
        **intent_fields(change_id="chg-elsewhere", account="444455556666", before=KEY_B)
    )
    journal.record_outcome(other_account, Phase.DONE, after=KEY_A)
    asked: list[str] = []

    def read_state(intent: Record) -> str | None:
        asked.append(intent.change_id)
        return KEY_A  # the live key, after the later change

    ((change, record),) = reconcile(journal, read_state)
    assert asked == []  # nothing read: the journal knows
    assert change.change_id == "chg-cut" and change.status == status
    assert record.after == next_before


def test_a_later_change_in_another_account_or_to_another_trail_does_not_decide(
    journal: Journal,
) -> None:
    journal.record_intent(**intent_fields(change_id="chg-cut", before=KEY_A, after=KEY_B))
    for change_id, over in [
        ("chg-acct", {"account": "444455556666"}),
        ("chg-endpoint", {"endpoint": "http://127.0.0.1:5000"}),
        ("chg-trail", {"target_arn": TRAIL + "-other"}),
        ("chg-policy", {"kind": Kind.KEY_POLICY, "target_arn": TRAIL}),
    ]:
        rec = journal.record_intent(**intent_fields(change_id=change_id, before=KEY_B, **over))
        journal.record_outcome(rec, Phase.DONE, after=KEY_A)
    ((change, _),) = reconcile(journal, lambda intent: KEY_A)
    assert change.status == "reconciled-not-applied"  # the live state decided


def test_a_pid_beyond_any_process_is_not_running(journal: Journal) -> None:
    """A damaged journal's pid of 2**63 made reconcile crash with OverflowError."""
    import socket

    for i in range(3):
        journal.record_intent(
            **intent_fields(change_id=f"chg-{i}", target_arn=f"{TRAIL}-{i}"),
        )
    lines = journal.path.read_text().splitlines()
    host = socket.gethostname()
    patched = []
    for line, pid in zip(lines, [2**63, 10**30, -1], strict=True):
        data = json.loads(line)
        data.update(host=host, pid=pid)  # written just now, on this host
        patched.append(json.dumps(data))
    journal.path.write_text("\n".join(patched) + "\n")
    settled = reconcile(Journal(journal.path), lambda intent: KEY_A)
    assert [c.status for c, _ in settled] == ["reconciled-done"] * 3


# --------------------------------------------------------------------------------------------
# Presentation
# --------------------------------------------------------------------------------------------


def test_changes_frame(journal: Journal) -> None:
    key = journal.record_intent(**intent_fields(change_id="chg-k", rollback_of="chg-0"))
    journal.record_outcome(key, Phase.DONE, after=KEY_A, request_id="req-k")
    pol = journal.record_intent(
        **intent_fields(
            change_id="chg-p",
            kind=Kind.KEY_POLICY,
            target_arn=KEY_A,
            before=POLICY_BEFORE,
            after=POLICY_AFTER,
        )
    )
    journal.record_outcome(pol, Phase.FAILED, after=POLICY_BEFORE, error="denied")
    journal.record_intent(
        **intent_fields(
            change_id="chg-x", kind=Kind.KEY_POLICY, target_arn=KEY_A, before=None, after="{oops"
        )
    )
    rows = changes_frame(journal.changes())
    assert json.loads(json.dumps(rows)) == rows
    keys = [
        "change_id",
        "time",
        "kind",
        "status",
        "target_arn",
        "region",
        "before",
        "after",
        "rollback_of",
        "undone_by",
        "caller_arn",
        "account",
        "role_arn",
        "via_account",
        "endpoint",
        "backend",
        "request_id",
        "error",
        "delivery",  # issue 17: the newest delivery proof (none here)
        "proof",
    ]
    assert all(list(row) == keys for row in rows)
    assert all(row["delivery"] is None and row["proof"] is None for row in rows)
    # Where each change was made is in every row.
    assert {(r["backend"], r["endpoint"], r["account"]) for r in rows} == {("demo", "", ACCOUNT)}
    k, p, x = rows
    assert (k["status"], k["before"], k["after"], k["rollback_of"], k["request_id"]) == (
        "done",
        None,
        KEY_A,
        "chg-0",
        "req-k",
    )
    assert k["time"] == key.time and k["kind"] == "trail-key"
    assert p["before"] == f"policy ({len(POLICY_BEFORE)} bytes, 1 statement)"
    assert p["after"] == f"policy ({len(POLICY_BEFORE)} bytes, 1 statement)"  # observed
    assert (p["status"], p["error"]) == ("failed", "denied")
    assert x["after"] == "policy (5 bytes, not JSON)" and x["status"] == "pending"
    two = changes_frame([Change("c", pol, None)])[0]
    assert two["after"] == f"policy ({len(POLICY_AFTER)} bytes, 2 statements)"


def test_reconcile_settles_a_change_whose_target_is_gone(journal: Journal, jpath: Path) -> None:
    journal.record_intent(**intent_fields(change_id="chg-gone", target_arn=TRAIL + "-gone"))
    journal.record_intent(**intent_fields(change_id="chg-down", target_arn=TRAIL + "-down"))

    def read_state(intent: Record) -> str | None:
        if intent.change_id == "chg-gone":
            raise NotFound("GetTrail found nothing (TrailNotFoundException).", operation="GetTrail")
        raise TrailkitError("Could not reach the endpoint.")

    skipped: list[tuple[str, str]] = []
    result = reconcile(
        journal, read_state, on_skip=lambda change, why: skipped.append((change.change_id, why))
    )
    ((change, record),) = result
    assert change.change_id == "chg-gone" and change.status == "reconciled-target-gone"
    assert (record.note, record.after) == ("target-gone", None)
    assert skipped == [("chg-down", "Could not reach the endpoint.")]
    fresh = Journal(jpath)
    assert [c.change_id for c in fresh.pending()] == ["chg-down"]
    assert changes_frame(fresh.changes())[0]["status"] == "reconciled-target-gone"


def test_a_change_id_drawn_twice_in_one_second_is_drawn_again(
    journal: Journal, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The random part is 6 hex digits; when it repeats within a second (about once in 130
    runs of 500 ids), the second draw is not issued again."""
    import uuid
    from datetime import UTC, datetime

    draws = iter(["aaaaaa" + "0" * 26, "aaaaaa" + "0" * 26, "bbbbbb" + "0" * 26])
    monkeypatch.setattr(uuid, "uuid4", lambda: uuid.UUID(next(draws)))
    frozen = datetime(2026, 12, 5, 5, 40, 0, tzinfo=UTC)

    class _Clock(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
            return frozen

    monkeypatch.setattr("trailkit.change.journal.datetime", _Clock)
    first, second = journal.new_change_id(), journal.new_change_id()
    assert first == "chg-20261205T054000Z-aaaaaa"
    assert second == "chg-20261205T054000Z-bbbbbb"
