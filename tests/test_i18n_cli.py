"""The command line in Japanese (issue "日本語"): the help of every command and option, argparse's
own texts and usage errors, the confirmations and the messages around a write are Japanese with
``--lang ja``; English stays exactly as it was, and argparse outside trailkit is left as it was.

The judge of "no English left" is ``tests/english.py``. What stays English in a help text by
design is passed to it as names: option strings, metavars (``PROFILE``, ``COMMAND``), the values
of choices, command names, and the names of products and folders (``botocore``, ``notebooks/``).
"""

from __future__ import annotations

import argparse
import io
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.english import assert_japanese
from trailkit import i18n
from trailkit.errors import InputError
from trailkit.ui import cli
from trailkit.ui.cli import build_parser, main

GOOD = "alias/cloudtrail-good"
COMMANDS = ("inventory", "demo", "lab", "check", "keys", "explain", "update", "disable", "rollback")
COMMANDS += ("verify",)
COMMANDS += ("journal",)
COMMANDS += ("policy", "snippet", "app")


@pytest.fixture(autouse=True)
def _english_afterwards() -> Iterator[None]:
    yield
    i18n.set_language("en")


def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(list(argv), out=out, err=err), out.getvalue(), err.getvalue()


def _parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _parsers(sub)


def _kept(parser: argparse.ArgumentParser) -> set[str]:
    """What a help text keeps in English: option strings, metavars, choices, command names."""
    from trailkit.rules.health import HealthKind

    # the health codes --health takes (codes, like choices)
    names = {"trailkit", "COMMAND", "botocore", "notebooks/", *map(str, HealthKind)}
    for each in _parsers(parser):
        for action in each._actions:
            names.update(action.option_strings)
            if isinstance(action.metavar, str):
                names.add(action.metavar)
            if action.option_strings and action.nargs != 0:
                names.add(action.dest.upper())
            if action.choices is not None:
                names.update(map(str, action.choices))
                names.update(repr(str(c)) for c in action.choices)
    return names


def _names() -> set[str]:
    i18n.set_language("en")
    return _kept(build_parser())


def _assert_help_japanese(text: str, what: str, more: Iterable[str] = ()) -> None:
    """:func:`assert_japanese`, with metavars removed as whole words first (the judge replaces
    names inside words: ``TRAIL`` would cut ``$TRAILKIT_LANG``)."""
    names = {*_names(), *more}
    metavars = {n for n in names if re.fullmatch(r"[A-Z][A-Z_]*", n)}
    words = "|".join(sorted(metavars, key=len, reverse=True))
    assert_japanese(re.sub(rf"(?<![\w$])(?:{words})(?!\w)", " ", text), names - metavars, what=what)


# -- help ----------------------------------------------------------------------------------------


def test_the_help_is_japanese() -> None:
    code, out, err = _cli("--lang", "ja", "--help")
    assert code == 0 and err == ""
    assert out.startswith("使い方: trailkit")
    for heading in ("位置引数:", "オプション:", "接続:", "このヘルプを表示して終了します"):
        assert heading in out
    _assert_help_japanese(out, "trailkit --help")


@pytest.mark.parametrize("command", COMMANDS)
def test_the_help_of_every_command_is_japanese(command: str) -> None:
    code, out, err = _cli("--lang", "ja", command, "--help")
    assert code == 0 and err == ""
    assert out.startswith(f"使い方: trailkit {command}")
    _assert_help_japanese(out, f"trailkit {command} --help")


def test_every_command_is_listed_and_tested() -> None:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert tuple(action.choices) == COMMANDS


def test_japanese_help_lines_fit_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """argparse counts characters; a Japanese character takes two columns: lines are wrapped by
    the columns they take."""
    monkeypatch.setenv("COLUMNS", "80")
    for command in COMMANDS:
        out = _cli("--lang", "ja", command, "--help")[1]
        for line in out.splitlines():
            if not line.startswith(("使い方", " " * 8 + "[")):  # usage lines: argparse's layout
                assert cli._columns(line) <= 80, line


def test_the_english_help_is_argparse_s_own() -> None:
    code, out, _ = _cli("--lang", "en", "--help")
    assert code == 0
    assert out.startswith("usage: trailkit")
    assert "options:" in out and "show this help message and exit" in out
    assert "See, check and safely change the KMS encryption of CloudTrail trails." in out
    out = _cli("--lang", "en", "journal", "--help")[1]
    assert "the newest 50 in a table that fits the terminal" in " ".join(out.split())


def test_argparse_outside_trailkit_is_left_as_it_was() -> None:
    """trailkit's catalogue speaks for argparse only inside trailkit's own parsers."""
    assert _cli("--lang", "ja", "check")[0] == 2
    i18n.set_language("ja")
    plain = argparse.ArgumentParser(prog="other")
    assert plain.format_help().startswith("usage: other")
    assert "show this help message and exit" in plain.format_help()


# -- argparse's errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["check"], "次の引数が必要です: --trail, --key"),
        (["check", "--trail", "t"], "次の引数が必要です: --key"),
        (["inventory", "--format", "xml"], "'xml' は選択できません"),
        (["nonsense"], "'nonsense' は選択できません"),
        (["inventory", "--bogus"], "認識できない引数です: --bogus"),
        (["inventory", "--regions"], "値を 1 つ指定してください"),
        (["rollback"], "のいずれかが必要です"),
        (["rollback", "--change", "c", "--last"], "と同時には指定できません"),
        (["--workers", "0", "inventory"], "1 から 64 の範囲で指定してください"),
        (["inventory", "--regions", "US-EAST-1"], "us-east-1 のことですか?"),
        (["demo", "--port", "x"], "はポート番号ではありません"),
        ([], "次の引数が必要です: COMMAND"),
    ],
)
def test_usage_errors_are_japanese_and_exit_2(argv: list[str], said: str) -> None:
    code, out, err = _cli("--lang", "ja", *argv)
    assert code == 2 and out == ""
    assert err.startswith("使い方: trailkit") and "エラー: " in err and said in err
    assert "Traceback" not in err
    _assert_help_japanese(err, "usage error", {*argv, "'xml'", "'nonsense'", "'x'"})


def test_usage_errors_stay_english_in_english() -> None:
    code, _, err = _cli("--lang", "en", "check")
    assert code == 2
    assert err.startswith("usage: trailkit check")
    assert "trailkit check: error: the following arguments are required: --trail, --key" in err
    code, _, err = _cli("--lang", "en", "inventory", "--format", "xml")
    assert "invalid choice: 'xml' (choose from 'table', 'json', 'csv')" in err


def test_an_unknown_language_is_refused_in_the_locale_s_language(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TRAILKIT_LANG", raising=False)
    monkeypatch.setenv("LC_ALL", "ja_JP.UTF-8")
    code, out, err = _cli("--lang", "fr", "inventory")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "--lang 'fr'" in err and "en または ja" in err
    assert_japanese(err, {"--lang", "'fr'"}, what="language error")


# -- what cli.py says around a write -------------------------------------------------------------

ENGLISH_CLI_LINES = (
    "Dry run: nothing was sent.",
    "Nothing to do:",
    "Not confirmed",
    "refused:",
    "warning:",
    "API calls:",
    "Nothing was sent",
)


def _demo_names(estate: Any) -> set[str]:
    return {
        *estate.trails,
        *estate.trails.values(),
        *estate.trail_buckets.values(),
        *estate.keys,
        *estate.accounts,
        *estate.regions,
        estate.endpoint or "",
    }


def test_a_japanese_dry_run_of_update_says_so_in_japanese(demo: Any, tmp_path: Path) -> None:
    endpoint, estate = demo
    journal = str(tmp_path / "j.jsonl")
    code, out, err = _cli(
        "--lang", "ja", "--endpoint-url", endpoint, "-v", "update", "--trail", "org-trail",
        "--key", GOOD, "--dry-run", "--journal", journal,
    )  # fmt: skip
    assert code == 0, err
    assert out.rstrip().endswith("ドライラン: 何も送信していません。")
    for english in ENGLISH_CLI_LINES:
        assert english not in out and english not in err
    assert "API 呼び出し: " in err
    assert_japanese(err, _demo_names(estate), what="update --dry-run -v (stderr)")
    assert not Path(journal).exists()


def test_a_japanese_dry_run_of_disable_says_so_in_japanese(demo: Any, tmp_path: Path) -> None:
    endpoint, estate = demo
    journal = str(tmp_path / "j.jsonl")
    code, out, err = _cli(
        "--lang", "ja", "--endpoint-url", endpoint, "disable", "--trail", "org-trail",
        "--dry-run", "--journal", journal,
    )  # fmt: skip
    assert code == 0, err
    last = out.rstrip().splitlines()[-1]
    assert last in (
        "ドライラン: 何も送信していません。",
        "何もする必要はありません。すべての証跡がすでに指定された状態です。",
    )
    for english in ENGLISH_CLI_LINES:
        assert english not in out and english not in err
    assert_japanese(err, _demo_names(estate), what="disable --dry-run (stderr)")


def test_a_japanese_several_trail_update_with_an_unknown_trail(demo: Any, tmp_path: Path) -> None:
    endpoint, estate = demo
    code, _out, err = _cli(
        "--lang", "ja", "--endpoint-url", endpoint, "update", "--trail", "org-trail",
        "--trail", "no-such-trail", "--key", GOOD, "--dry-run",
        "--journal", str(tmp_path / "j.jsonl"),
    )  # fmt: skip
    assert code == 2
    assert "no-such-trail: 計画を作成できません: " in err
    assert "org-trail にも何も送信していません。" in err
    lines = [line for line in err.splitlines() if not line.startswith("trailkit: no-such-trail")]
    assert_japanese("\n".join(lines), _demo_names(estate), what="several-trail refusal")


def test_a_missing_journal_is_said_in_japanese(tmp_path: Path) -> None:
    path = tmp_path / "none.jsonl"
    code, out, err = _cli("--lang", "ja", "journal", "--journal", str(path))
    assert code == 2 and out == ""
    assert "にジャーナルがありません" in err and "対処: " in err
    assert_japanese(err, {str(path)}, what="journal error")


def test_an_empty_journal_in_japanese(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    path.write_text("")
    code, out, err = _cli("--lang", "ja", "journal", "--journal", str(path), "--all")
    assert code == 0, err
    assert out.splitlines()[0] == f"ジャーナル: {path}"
    assert out.splitlines()[1] == "(なし)"


@pytest.mark.parametrize(
    "action", ["apply", "apply-unverifiable", "replace-policy", "restore-policy"]
)
def test_the_confirmations_are_japanese_and_the_answer_to_type_is_not_translated(
    action: str,
) -> None:
    i18n.set_language("ja")
    refusal, demo_question, aws_question = cli._confirm_texts(action)
    assert "'yes'" in demo_question  # what the operator types, in every language
    asked = aws_question.format(account="123456789012", names="org-trail")
    assert "(org-trail)" in asked
    for text in (refusal, demo_question, asked):
        assert_japanese(text, {"org-trail"}, what=f"confirmation of {action}")
    i18n.set_language("en")
    english = cli._confirm_texts(action)
    assert "Type 'yes' to confirm: " in english[1]
    asked = english[2].format(account="1", names="org-trail")
    if action.endswith("-policy"):  # the key is typed (cli._confirm gets the key's name)
        assert "type the key" in asked and "trail name" not in asked
    else:
        assert "type the trail name (org-trail)" in asked


@pytest.mark.parametrize(
    ("action", "what", "said"),
    [
        ("replace-policy", "alias/no-cloudtrail", "キー (alias/no-cloudtrail)"),
        ("restore-policy", "arn:aws:kms:us-east-1:1:key/k", "キー ARN (arn:aws:kms:"),
    ],
)
@pytest.mark.parametrize("lang", ["en", "ja"])
def test_a_key_policy_question_on_real_aws_asks_for_the_key_it_takes(
    monkeypatch: pytest.MonkeyPatch, action: str, what: str, said: str, lang: str
) -> None:
    """The English question asked for "the trail name" while the answer taken is the key's
    name (replace) or ARN (restore): an operator typing the trail name was always refused."""
    i18n.set_language(lang)
    conn = SimpleNamespace(info=lambda: SimpleNamespace(demo=False, account="123456789012"))
    args = argparse.Namespace(yes=False)
    err = io.StringIO()
    _terminal(monkeypatch, what)
    assert cli._confirm(args, conn, action, [what], err)
    question = err.getvalue()
    assert ("trail name" not in question) if lang == "en" else ("証跡" not in question)
    assert (f"({what})" in question) if lang == "en" else (said in question)
    _terminal(monkeypatch, "org-trail")
    assert not cli._confirm(args, conn, action, [what], io.StringIO())


def _terminal(monkeypatch: pytest.MonkeyPatch, answer: str) -> None:
    stdin = SimpleNamespace(isatty=lambda: True, readline=lambda: answer + "\n")
    monkeypatch.setattr(cli.sys, "stdin", stdin)


@pytest.mark.parametrize(("demo_backend", "answer"), [(True, "yes"), (False, "org-trail")])
def test_a_japanese_confirmation_takes_the_same_answer(
    monkeypatch: pytest.MonkeyPatch, demo_backend: bool, answer: str
) -> None:
    i18n.set_language("ja")
    conn = SimpleNamespace(info=lambda: SimpleNamespace(demo=demo_backend, account="123456789012"))
    args = argparse.Namespace(yes=False)
    err = io.StringIO()
    _terminal(monkeypatch, answer)
    assert cli._confirm(args, conn, "apply", ["org-trail"], err)
    assert_japanese(err.getvalue(), {"org-trail"}, what="question")
    _terminal(monkeypatch, "はい")  # a translated "yes" is not an answer
    assert not cli._confirm(args, conn, "apply", ["org-trail"], io.StringIO())


def test_no_terminal_to_confirm_on_is_said_in_japanese(monkeypatch: pytest.MonkeyPatch) -> None:
    i18n.set_language("ja")
    monkeypatch.setattr(cli.sys, "stdin", SimpleNamespace(isatty=lambda: False))
    with pytest.raises(InputError) as caught:
        cli._confirm(argparse.Namespace(yes=False), None, "apply", ["t"], io.StringIO())
    assert_japanese(str(caught.value), what="no terminal")


def test_an_interrupt_and_a_partial_inventory_are_said_in_japanese() -> None:
    i18n.set_language("ja")
    assert cli._interrupted(cli._write_marks()) == "trailkit: 中断しました"
    errors = [SimpleNamespace(region="us-east-1"), SimpleNamespace(region=None)]
    assert cli._failed_calls(errors) == "1 リージョンで 2 件の呼び出し"
    i18n.set_language("en")
    assert cli._interrupted(cli._write_marks()) == "trailkit: interrupted"
    assert cli._failed_calls(errors) == "2 calls in 1 region"
    assert cli._failed_calls(errors[:1]) == "1 call in 1 region"


def test_a_japanese_policy_repair_says_what_it_did_in_japanese(
    demo_rw: Any, tmp_path: Path
) -> None:
    endpoint, _estate = demo_rw
    base = ["--lang", "ja", "--endpoint-url", endpoint, "policy", "--trail", "org-trail"]
    base += ["--key", "alias/encrypt-no-describe", "--journal", str(tmp_path / "j.jsonl")]
    code, out, err = _cli(*base)
    assert code == 0, err
    assert "何も送信していません (送信するには --apply を付けてください)。" in out
    code, out, err = _cli(*base, "--apply", "--yes")
    assert code == 0, err
    lines = out.splitlines()
    assert "事前チェック org-trail: 適用可能" in lines
    result = next(line for line in lines if line.startswith("完了: "))
    assert "(変更 " in result
    assert "Nothing sent" not in out and "pre-flight" not in out


def test_codes_are_read_as_words_in_japanese_and_stay_codes_in_english() -> None:
    from trailkit.records.journal import STATUS_WORDS

    i18n.set_language("ja")
    assert cli._word("done", cli.OUTCOME_WORDS, upper=True) == "完了"
    assert cli._word("ready", cli.VERDICT_WORDS) == "適用可能"
    assert cli._word("pending", STATUS_WORDS) == "結果未記録"
    assert cli._word("something-new", STATUS_WORDS) == "something-new"
    i18n.set_language("en")
    assert cli._word("done", cli.OUTCOME_WORDS, upper=True) == "DONE"
    assert cli._word("ready", cli.VERDICT_WORDS) == "ready"
    assert cli._word("reconciled-done", STATUS_WORDS) == "reconciled-done"


@pytest.mark.parametrize("words", [["--lan", "ja"], ["--la=ja"], ["--lang=ja"], ["--lan=JA"]])
def test_an_abbreviated_lang_option_is_spoken(words: list[str]) -> None:
    """argparse takes ``--lan ja``; it was parsed and ignored (English output, or Japanese for
    ``TRAILKIT_LANG=ja --lan en``)."""
    code, out, err = _cli(*words, "check", "--help")
    assert code == 0, err
    assert out.startswith("使い方: trailkit check")
    code, out, err = _cli("check", *words, "--help")
    assert code == 0 and out.startswith("使い方: trailkit check"), err


def test_an_abbreviated_lang_option_wins_over_trailkit_lang(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TRAILKIT_LANG", "ja")
    code, out, err = _cli("--lan", "en", "check", "--help")
    assert code == 0 and out.startswith("usage: trailkit check"), err
    code, out, err = _cli("--la", "xx", "check", "--help")
    assert code == 2 and "'xx'" in err and out == ""


def _json_differences(a: Any, b: Any, path: str = "") -> set[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        assert set(a) == set(b), path  # field names never change with the language
        return set().union(*(_json_differences(a[k], b[k], f"{path}.{k}") for k in a), set())
    if isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), path
        pairs = zip(a, b, strict=True)
        return set().union(*(_json_differences(x, y, f"{path}[]") for x, y in pairs), set())
    return set() if a == b else {path}


@pytest.mark.parametrize(
    ("argv", "translated"),
    [
        (["inventory"], {"[].error", "[].health_reasons[].message", "[].health_reasons[].fix"}),
        (["keys", "--trail", "org-trail"], {"[].reason"}),
        (
            ["check", "--trail", "org-trail", "--key", "alias/explicit-deny"],
            {".findings[].message", ".findings[].remedy"},
        ),
    ],
)
def test_json_in_japanese_differs_only_in_its_human_text(
    demo: Any, argv: list[str], translated: set[str]
) -> None:
    """What README(.ja).md says differs between the languages in ``--format json``: the
    human text (a finding's message and remedy, a key's reason, a trail's error), nothing else
    (README said message/remedy only)."""
    endpoint, _estate = demo
    said = {}
    for lang in ("en", "ja"):
        base = ["--lang", lang, "--endpoint-url", endpoint]
        _code, out, _err = _cli(*base, *argv, "--format", "json")
        said[lang] = json.loads(out)
    # moto reports "now" as the latest delivery on every read: time, not language
    now = {"[].latest_delivery_time", "[].latest_digest_delivery_time"}
    assert _json_differences(said["en"], said["ja"]) - now == translated
