"""Issue "日本語", the terminal: the views of ``trailkit/ui/terminal.py`` (inventory, check of a
blocked and a ready key, keys, plan, results, rollback, policy and restore, journal) speak
Japanese with ``ja`` (verdicts as the glossary's words, codes kept), keep their columns in line
with double-width text, show times in the operator's timezone, and say the same English as
before with ``en``. The notebook tables keep English field names for CSV and JSON and show
translated headings only."""

from __future__ import annotations

import io
import os
import re
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from english import assert_japanese
from rich.cells import cell_len

from trailkit import i18n
from trailkit.arn import short_arn
from trailkit.aws.session import Connection
from trailkit.change.journal import Journal
from trailkit.records.journal import changes_frame
from trailkit.runbook import Runbook
from trailkit.ui import progress, tables
from trailkit.ui.progress import scan
from trailkit.ui.terminal import (
    CANDIDATE_TABLE,
    JOURNAL_TABLE,
    KEY_TABLE,
    TRAIL_TABLE,
    candidate_rows,
    check_view,
    console_for,
    delivery_summary,
    emit,
    header_text,
    journal_rows,
    key_rows,
    local_time,
    plan_view,
    policy_view,
    records_table,
    restore_view,
    results_view,
    trail_rows,
)

REGIONS = ["us-east-1", "eu-west-1", "ap-northeast-1", "us-west-2"]
_REMARK = re.compile(r"\(([^()]{24,})\)")


@pytest.fixture
def ja() -> Iterator[None]:
    i18n.set_language("ja")
    yield
    i18n.set_language("en")


@pytest.fixture
def tokyo() -> Iterator[None]:
    """The operator's timezone is Asia/Tokyo (UTC+9) for this test."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Tokyo"
    time.tzset()
    yield
    if before is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = before
    time.tzset()


def _book(demo: Any, tmp_path: Path) -> Runbook:
    conn = Connection(endpoint_url=demo[0], region="us-east-1", workers=4)
    return Runbook(conn, Journal(tmp_path / "j.jsonl"))


def _names(demo: Any) -> list[str]:
    """What stays as it is in Japanese besides what the judge knows (ARNs, aliases, kebab-case
    names, regions, accounts, URLs): keys by their short id (``key/1234abcd…``), and ``Name``,
    the parameter of ``UpdateTrail`` a plan shows. (Names found inside ARNs are left to the
    judge's patterns: replaced first, they would break the ARN apart.)"""
    __, estate = demo
    arns = [*estate.keys.values(), *estate.replica_keys.values()]
    return ["Name", *(short_arn(arn) for arn in arns)]


def _draw(*renderables: Any, width: int = 120) -> str:
    out = io.StringIO()
    emit(console_for(out, width=width, colour=False), *renderables)
    return out.getvalue()


def _starts(line: str) -> list[int]:
    """The cell offsets where the cells of a table line start (cells are 2+ spaces apart)."""
    return [cell_len(line[: m.start()]) for m in re.finditer(r"(?:^|(?<=  ))\S", line)]


def _columns_line_up(table: str) -> None:
    """Every row's cells start at the cell offsets of the header's columns: double-width text
    (Japanese headings and words) is padded by its width on screen, not its length."""
    lines = table.splitlines()
    rule = next(i for i, line in enumerate(lines) if line.startswith("───"))
    header = _starts(lines[rule - 1])
    assert len(header) > 1, table
    rows = [line for line in lines[rule + 1 :] if line and not line.startswith(" ")]
    assert rows, table
    for line in rows:
        assert set(_starts(line)) <= set(header), f"{line!r} is out of line with\n{table}"
    assert any(_starts(line) == header for line in rows), table


def _values_line_up(text: str, labels: Iterable[str]) -> None:
    """The value after each label starts at the same cell offset (a label column)."""
    offsets = set()
    for label in labels:
        line = next((li for li in text.splitlines() if li.startswith(label)), None)
        assert line is not None, f"no {label!r} in\n{text}"
        rest = line[len(label) :]
        offsets.add(cell_len(label) + len(rest) - len(rest.lstrip(" ")))
    assert len(offsets) == 1, f"values of {list(labels)} start at {offsets}:\n{text}"


def _aws_texts(records: Iterable[dict[str, Any]]) -> list[str]:
    """What the scan read from AWS or said in its own layer (``error`` of a record and the
    remarks in its brackets): translated by that layer, judged by its own tests."""
    out: list[str] = []
    for r in records:
        for text in (r.get("error"), r.get("problems")):
            if isinstance(text, str):
                out += [text, *text.split("; "), *_REMARK.findall(text)]
    return out


# -- Japanese ----------------------------------------------------------------------------------


def test_inventory_in_japanese(demo: Any, ja: None) -> None:
    conn = Connection(endpoint_url=demo[0], region="us-east-1", workers=4)
    inv = scan(conn, REGIONS)
    trails = trail_rows(tables.inventory_records(inv))
    keys = key_rows(tables.keys_frame(inv).to_dict("records"))
    head = _draw(header_text(inv.connection, 120))
    trail_table = _draw(records_table(trails, TRAIL_TABLE))
    key_table = _draw(records_table(keys, KEY_TABLE))
    text = "\n".join((head, trail_table, key_table))
    caller = inv.connection.caller_arn
    assert_japanese(text, [*_names(demo), caller, *_aws_texts(trails)], what="inventory")
    assert head.startswith("デモ (ローカルの moto サーバー) · アカウント 123456789012")
    assert f"呼び出し元 {caller}" in " ".join(head.split())
    for heading in ("証跡", "暗号化", "キーの状態", "S3 バケット"):
        assert heading in trail_table.splitlines()[0]
    assert "ログ記録が停止しています" in trail_table and "not logging" not in trail_table
    assert "使用している証跡" in key_table and "Disabled" in key_table  # key states stay
    _columns_line_up(trail_table)
    _columns_line_up(key_table)
    narrow = _draw(records_table(trails, TRAIL_TABLE), width=80)  # the narrow layout
    assert "暗号化 / キー" in narrow
    _columns_line_up(narrow)


def test_check_of_a_blocked_and_a_ready_key_in_japanese(
    demo: Any, ja: None, tmp_path: Path
) -> None:
    book = _book(demo, tmp_path)
    labels = [i18n._(label) for label in ("trail:", "key:", "bucket:", "verdict:")]
    for key, word, code in (
        ("alias/cloudtrail-disabled", "変更不可", "BLOCKED"),
        ("alias/cloudtrail-good", "適用可能", "READY"),
    ):
        report = book.check("org-trail", key)
        text = _draw(check_view(report), width=100)
        assert_japanese(text, _names(demo), what=f"check of {key}")
        assert re.search(rf"^判定: +{word}$", text, re.M), text
        assert code not in text  # the word a person reads, not the code
        assert "S3 バケット: tk-org-logs-123456789012 (us-east-1)" in text
        assert report.as_dict()["verdict"] == code.lower()  # JSON keeps the code
        _values_line_up(text, labels)
        table = text[text.index("重大度") :]
        _columns_line_up(table)


def test_keys_in_japanese_line_up(demo: Any, ja: None, tmp_path: Path) -> None:
    book = _book(demo, tmp_path)
    rows = candidate_rows(book.rank(book.find_trail("org-trail")))
    text = _draw(records_table(rows, CANDIDATE_TABLE), width=160)
    reasons = [str(r["reason"]) for r in rows]  # the rules layer's text, judged in its tests
    flat = " ".join(text.split())
    assert_japanese(flat, [*_names(demo), *reasons], what="keys")
    assert {"適用可能", "変更不可"} <= set(text.split())
    _columns_line_up(text)


def test_plan_apply_rollback_policy_and_journal_in_japanese(
    demo_rw: Any, ja: None, tokyo: None, tmp_path: Path
) -> None:
    names = _names(demo_rw)
    book = _book(demo_rw, tmp_path)
    plan = book.plan_for("org-trail", "alias/cloudtrail-good")
    shown = _draw(plan_view(plan, number=1, of=2), width=100)
    assert_japanese(shown, names, what="plan")
    assert shown.startswith("計画 1/2: org-trail")
    labels = ["証跡", "暗号化", "送信先", "判定", "検出結果", "リクエスト"]
    _values_line_up(shown, labels)
    assert "us-east-1 の UpdateTrail (アカウント 123456789012)" in shown

    applied = book.apply_many([plan], confirmed=True)
    undone = book.rollback(confirmed=True)
    results = _draw(results_view([*applied, undone], book.journal.path), width=100)
    ids = [r.change_id for r in [*applied, undone]]
    assert_japanese(results, [*names, *ids, str(book.journal.path)], what="results")
    assert results.count("完了 ") == 2 and "配信エラーはありません" in results
    assert "JST" in results  # the latest delivery, in the operator's timezone

    repair = book.plan_repair(["org-trail"], "alias/no-cloudtrail")
    policy = _draw(policy_view(repair), width=100)
    labels_part, diff = policy.split("\n\n", 1)  # the diff's body is the policy's JSON, kept
    assert_japanese(labels_part + "\n" + "\n".join(diff.splitlines()[:2]), names, what="policy")
    assert "ステートメントを 2 個追加" in policy and "--- 現在のキーポリシー" in policy
    _values_line_up(policy, ["キー:", "証跡:", "修正対象:", "変更:", "サイズ:"])
    book.apply_repair(repair, confirmed=True)
    names += [c.change_id for c in book.journal.changes()]  # ids (chg-<UTC time>-<hex>)
    restore = _draw(restore_view(book.plan_restore()), width=100)
    labels_part, diff = restore.split("\n\n", 1)
    assert_japanese(labels_part + "\n" + "\n".join(diff.splitlines()[:2]), names, what="restore")
    assert "+++ 復元後のキーポリシー" in restore

    changes = book.journal.changes()
    journal = _draw(records_table(journal_rows(changes_frame(changes)), JOURNAL_TABLE), width=100)
    assert_japanese(journal, names, what="journal")
    assert "のロールバック" in journal and "で元に戻されました" in journal
    shown = " ".join(
        str(value) for row in journal_rows(changes_frame(changes)) for value in row.values()
    )
    assert re.search(r"ポリシー \(\d+ バイト、ステートメント 3 個\)", shown), shown
    for change in changes:  # the intent's UTC time, shown in Tokyo's (UTC+9)
        assert local_time(change.intent.time).endswith(" JST")
        assert local_time(change.intent.time) in journal
    assert changes_frame(changes)[0]["time"].endswith("Z")  # JSON keeps UTC
    _columns_line_up(journal)


def test_a_disable_plan_and_delivery_errors_in_japanese(
    demo: Any, ja: None, tmp_path: Path
) -> None:
    book = _book(demo, tmp_path)
    plan = book.plan_disable("pinned-key-trail")
    text = _draw(plan_view(plan), width=100)
    assert_japanese(text, _names(demo), what="disable plan")
    assert "KMS 暗号化の解除 (AWS はこれを受け入れます" in " ".join(text.split())

    class Status:
        latest_delivery_error = "AccessDenied"
        latest_digest_delivery_error = None
        error = None
        latest_delivery_time = None

    class Delivery:
        status = Status()
        ok = False

    summary = delivery_summary(Delivery())
    assert (
        summary == "配信エラー: ログファイルの配信: AccessDenied — ロールバックを検討してください。"
    )


def test_notebook_tables_translate_headings_only(demo: Any, ja: None) -> None:
    """The frames keep English field names (CSV and JSON exports); a notebook shows the
    headings, the absent values and the notes under a table in Japanese."""
    conn = Connection(endpoint_url=demo[0], region="us-east-1", workers=4)
    frame = tables.trails_frame(scan(conn, REGIONS))
    assert list(frame.columns) == tables.TRAIL_COLUMNS
    assert frame.to_csv(index=False).startswith("name,encryption,key_alias,")
    page = frame._repr_html_()
    assert "キーのエイリアス</th>" in page and "key_alias</th>" not in page
    assert "なし (SSE-S3)" in page
    many = tables.table_html(tables.TableFrame({"name": [f"t{i}" for i in range(20)]}), max_rows=5)
    assert "20 行のうち最初の 5 行です。" in many


def test_the_progress_bar_speaks_japanese(ja: None) -> None:
    bar = progress._bar(True)
    try:
        assert bar.desc == "AWS を読み取り中"
        assert "応答済みの API 呼び出し" in bar.bar_format
    finally:
        bar.close()


# -- English, as before ------------------------------------------------------------------------


def test_english_is_unchanged(demo: Any, tmp_path: Path) -> None:
    book = _book(demo, tmp_path)
    text = _draw(check_view(book.check("org-trail", "alias/cloudtrail-disabled")), width=100)
    assert re.search(r"^verdict: +BLOCKED$", text, re.M)
    assert "bucket:  tk-org-logs-123456789012 in us-east-1" in text
    assert re.search(r"^error +key-state", text, re.M)
    plan = _draw(plan_view(book.plan_for("org-trail", "alias/cloudtrail-good")), width=100)
    assert plan.startswith("Plan: org-trail")
    assert "UpdateTrail in us-east-1 (account 123456789012)" in plan
    assert re.search(r"^verdict +READY$", plan, re.M)
    conn = Connection(endpoint_url=demo[0], region="us-east-1", workers=4)
    frame = tables.trails_frame(scan(conn, REGIONS))
    assert "key_alias</th>" in frame._repr_html_()


def test_times_are_the_operators_with_the_zone(tokyo: None) -> None:
    assert local_time("2026-11-29T05:12:00Z") == "2026-11-29 14:12:00 JST"
    assert local_time(None) == "-" and local_time("not a time") == "not a time"
    os.environ["TZ"] = "UTC"
    time.tzset()
    assert local_time("2026-11-29T05:12:00Z") == "2026-11-29 05:12:00 UTC"
