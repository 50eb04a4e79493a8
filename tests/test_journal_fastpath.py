"""The journal's fast line decoder (msgspec) agrees with ``Record.from_json`` on every line.

``record_from_line`` is what makes a 100,000-record journal list within its goal (issue "Every
command does exactly what it says", class 13). Its contract: for a line ``Record.from_json``
accepts it returns an equal record (or None, leaving the line to ``from_json``); for a line
``from_json`` rejects it returns None, so the operator still reads ``from_json``'s message.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trailkit.change.journal import Journal, Kind, Phase
from trailkit.errors import JournalError
from trailkit.records.journal import Record, record_from_line

VALID: dict[str, Any] = {
    "change_id": "chg-20261129T051200Z-3f9a1c",
    "phase": "intent",
    "kind": "trail-key",
    "time": "2026-11-29T05:12:00Z",
    "caller_arn": "arn:aws:sts::111122223333:assumed-role/Admin/alice",
    "account": "111122223333",
    "endpoint": "",
    "backend": "aws",
    "target_arn": "arn:aws:cloudtrail:us-east-1:111122223333:trail/app-trail",
    "region": "us-east-1",
    "before": None,
    "after": "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "request_id": "6f1c1b2e",
    "host": "ops-1",
    "pid": 4242,
}


def _slow(line: str) -> Record | JournalError:
    try:
        return Record.from_json(line)
    except JournalError as exc:
        return exc


def _agrees(line: str) -> Record | None:
    """Assert the contract for one line; the fast record (or None)."""
    slow = _slow(line)
    fast = record_from_line(line.encode("utf-8", "surrogatepass"))
    if isinstance(slow, JournalError):
        assert fast is None, (line, fast)
    else:
        assert fast is None or fast == slow, (line, fast, slow)
        assert fast is None or (type(fast.phase) is Phase and type(fast.kind) is Kind)
    return fast


def _line(**changes: Any) -> str:
    values = {**VALID, **changes}
    return json.dumps({k: v for k, v in values.items() if v is not _DROP})


_DROP = object()


@pytest.mark.parametrize(
    ("line", "fast_accepts"),
    [
        pytest.param(_line(), True, id="a full record"),
        pytest.param(_line(host=_DROP, pid=_DROP, request_id=_DROP), True, id="an older record"),
        pytest.param(_line(extra={"x": [1]}), True, id="an unknown extra key"),
        pytest.param("  " + _line() + "  ", True, id="surrounding spaces"),
        pytest.param(_line(phase="done", before="k", after=None), True, id="an outcome"),
        pytest.param(_line(pid=2**70), True, id="a pid beyond 64 bits"),
        pytest.param(_line(pid=True), False, id="a boolean pid"),
        pytest.param(_line(pid=1.0), False, id="a float pid"),
        pytest.param(_line(account=1), False, id="a number for a string"),
        pytest.param(_line(before=_DROP), False, id="before missing"),
        pytest.param(_line(region=None), False, id="a required string null"),
        pytest.param(_line(phase="begun"), False, id="an unknown phase"),
        pytest.param(_line(kind="trail"), False, id="an unknown kind"),
        pytest.param(_line(change_id="  "), False, id="a blank change id"),
        pytest.param(_line(time="yesterday"), False, id="a time that is not ISO 8601"),
        pytest.param(_line(time=""), False, id="an empty time"),
        pytest.param(_line()[:-9], False, id="truncated"),
        pytest.param("[1, 2]", False, id="an array"),
        pytest.param('{"a": NaN}', False, id="NaN"),
        pytest.param("", False, id="an empty line"),
        pytest.param(_line()[:-1] + ', "account": "444455556666"}', True, id="a repeated key"),
        pytest.param(_line(note="caf\u00e9 \u2603"), True, id="non-ASCII text"),
        pytest.param(_line(note="\ud800"), False, id="a lone surrogate escape"),
    ],
)
def test_the_fast_path_agrees_with_from_json(line: str, fast_accepts: bool) -> None:
    fast = _agrees(line)
    assert (fast is not None) is fast_accepts


def test_invalid_utf8_is_left_to_the_slow_path() -> None:
    assert record_from_line(_line(note="x").encode().replace(b'"x"', b'"\xff"')) is None


def test_repeated_strings_are_shared() -> None:
    shared: dict[str, str] = {}
    first = record_from_line(_line().encode(), shared)
    second = record_from_line(_line(change_id="chg-2").encode(), shared)
    assert first is not None and second is not None
    assert first.target_arn is second.target_arn and first.after is second.after


_text = st.text(max_size=12)
_value = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), _text, st.lists(_text)
)


@settings(max_examples=300, deadline=None)
@given(
    changes=st.dictionaries(st.sampled_from(sorted(VALID)), _value, max_size=3),
    drop=st.sets(st.sampled_from(sorted(VALID)), max_size=2),
)
def test_any_mutation_of_a_record_is_decided_alike(changes: dict[str, Any], drop: set[str]) -> None:
    values = {**VALID, **changes}
    _agrees(json.dumps({k: v for k, v in values.items() if k not in drop}))


@settings(max_examples=200, deadline=None)
@given(phase=st.sampled_from(list(Phase)), kind=st.sampled_from(list(Kind)), time=_text)
def test_every_phase_kind_and_time_text_is_decided_alike(
    phase: Phase, kind: Kind, time: str
) -> None:
    _agrees(_line(phase=phase.value, kind=kind.value, time=time))


def test_a_journal_reads_the_same_with_and_without_the_fast_path(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import trailkit.change.journal as journal_mod

    path = tmp_path / "j.jsonl"
    lines = [_line(change_id=f"chg-{i}") for i in range(20)]
    lines[5] = _line(change_id="chg-5", pid=True)  # a damaged line in the middle
    lines[9] = lines[9][:-20]
    path.write_text("\n".join(lines) + "\n")
    fast = Journal(path).read()
    monkeypatch.setattr(journal_mod, "record_from_line", lambda *a: None)
    slow = Journal(path).read()
    assert fast == slow
    assert len(fast.records) == 18 and len(fast.problems) == 2


def test_an_overlong_torn_line_is_skipped_without_holding_it(tmp_path: Any) -> None:
    """A crash-zeroed tail of many megabytes (no newline) was read whole into memory: it is
    skipped in bounded pieces and reported with its size; the records before it stay."""
    import tracemalloc

    from trailkit.change.journal import MAX_LINE_BYTES

    path = tmp_path / "j.jsonl"
    size = 24 * MAX_LINE_BYTES
    with path.open("wb") as fp:
        fp.write((_line(change_id="chg-0") + "\n").encode())
        fp.write(b"\0" * size)
    tracemalloc.start()
    try:
        result = Journal(path).read()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [r.change_id for r in result.records] == ["chg-0"]
    assert result.problems == (
        f"line 2: {size} bytes, longer than the {MAX_LINE_BYTES}-byte limit for a record; skipped",
    )
    assert peak < size // 3, peak  # pieces of about a megabyte, never the line


def test_an_overlong_line_in_the_middle_is_skipped_and_the_rest_is_read(tmp_path: Any) -> None:
    from trailkit.change.journal import MAX_LINE_BYTES

    path = tmp_path / "j.jsonl"
    long = '{"note": "' + "x" * (3 * MAX_LINE_BYTES) + '"}'
    path.write_text("\n".join([_line(change_id="chg-0"), long, _line(change_id="chg-2")]) + "\n")
    result = Journal(path).read()
    assert [r.change_id for r in result.records] == ["chg-0", "chg-2"]
    assert result.problems == (
        f"line 2: {len(long)} bytes, longer than the {MAX_LINE_BYTES}-byte limit for a record; "
        "skipped",
    )


@pytest.mark.parametrize(
    ("pid", "says"), [(1.5, "not 1.5"), (True, "not boolean"), ("7", "not string")]
)
def test_a_pid_that_is_not_a_whole_number_is_said_so(pid: Any, says: str) -> None:
    """It read "must be a number or null, not number" for 1.5."""
    with pytest.raises(JournalError, match=f"'pid' must be a whole number or null, {says}"):
        Record.from_json(_line(pid=pid))
