"""Japanese and English: the catalogue is complete, placeholders agree, the language is chosen
as documented (``--lang``, ``TRAILKIT_LANG``, the locale), and a Japanese check speaks Japanese
while its JSON keeps its keys and codes (issue "日本語")."""

from __future__ import annotations

import io
import json
import re
import shutil
import string
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from trailkit import i18n
from trailkit.ui.cli import main

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import messages  # noqa: E402


@pytest.fixture(autouse=True)
def _english_afterwards() -> Iterator[None]:
    yield
    i18n.set_language("en")


def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(list(argv), out=out, err=err), out.getvalue(), err.getvalue()


# -- the catalogue ---------------------------------------------------------------------------


def test_every_message_the_code_has_is_translated() -> None:
    """Fails for any ``_()`` text (or check catalogue text) without a Japanese translation:
    run ``python tools/messages.py`` and translate what it adds to the .po."""
    assert messages.missing("ja") == []


def _fields(text: str) -> list[str]:
    names = [f for _, f, _, _ in string.Formatter().parse(text) if f is not None]
    return sorted(names + re.findall(r"%\(\w+\)[sdr]", text))


def _code_spans(text: str) -> list[str]:
    return sorted(re.findall(r"`[^`]+`", text))


def test_translations_keep_every_placeholder_and_command() -> None:
    """A translation has the same ``{name}`` placeholders as its id, and every command in
    backticks verbatim (an operator copies them)."""
    wrong = []
    for message in messages.read("ja"):
        if not message.id or not message.string:
            continue
        pairs = (
            zip(message.id, message.string, strict=False)
            if isinstance(message.id, tuple)
            else [(message.id, message.string)]
        )
        for source, text in pairs:
            if _fields(source) != _fields(text) or _code_spans(source) != _code_spans(text):
                wrong.append((source, text))
    assert wrong == []


def test_the_catalogue_check_fails_on_a_missing_translation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The completeness check can fail: a .po with one translation emptied reports that id."""
    copy = tmp_path / "locale"
    shutil.copytree(messages.LOCALE_DIR, copy)
    monkeypatch.setattr(messages, "LOCALE_DIR", copy)
    catalog = messages.read("ja")
    victim = next(m for m in catalog if m.id and m.string)
    victim.string = ""
    messages.write("ja", catalog)
    assert messages.missing("ja") == [victim.id]


def test_a_missing_mo_is_compiled_from_the_po(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "locale"
    shutil.copytree(i18n.LOCALE_DIR, copy)
    for mo in copy.rglob("*.mo"):
        mo.unlink()
    monkeypatch.setattr(i18n, "LOCALE_DIR", copy)
    i18n.catalogue.cache_clear()
    try:
        i18n.set_language("ja")
        assert i18n._("nothing to do") == "何もする必要はありません"
    finally:
        i18n.catalogue.cache_clear()


# -- choosing the language -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("ja", "ja"),
        ("JA", "ja"),
        (" en ", "en"),
        ("ja_JP.UTF-8", "ja"),
        ("ja-JP", "ja"),
        ("en_GB.utf8@euro", "en"),
        ("de_DE.UTF-8", None),
        ("C", None),
        ("", None),
        ("   ", None),
        ("jap", None),
    ],
)
def test_normalise_language(value: str, expected: str | None) -> None:
    assert i18n.normalise_language(value) == expected


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "en"),
        ({"LANG": "ja_JP.UTF-8"}, "ja"),
        ({"LANG": "ja_JP.UTF-8", "LC_MESSAGES": "en_US.UTF-8"}, "en"),
        ({"LANG": "en_US.UTF-8", "LC_ALL": "ja_JP.UTF-8"}, "ja"),
        ({"LC_ALL": "C", "LANG": "ja_JP.UTF-8"}, "en"),  # the first one set decides
        ({"LC_ALL": "", "LANG": "ja_JP.UTF-8"}, "ja"),  # an empty one is not set
        ({"TRAILKIT_LANG": "ja", "LC_ALL": "en_US.UTF-8"}, "ja"),
        ({"TRAILKIT_LANG": "en", "LANG": "ja_JP.UTF-8"}, "en"),
        ({"LANG": "de_DE.UTF-8"}, "en"),
    ],
)
def test_language_from_environment(environ: dict[str, str], expected: str) -> None:
    assert i18n.language_from_environment(environ) == expected


@pytest.mark.parametrize(
    ("argv", "env", "option"),
    [
        (["--lang", "fr", "inventory"], None, "--lang 'fr'"),
        (["--lang=", "inventory"], None, "--lang ''"),
        (["inventory", "--lang", " "], None, "--lang ' '"),
        (["inventory"], "", "TRAILKIT_LANG ''"),
        (["inventory"], "japanese", "TRAILKIT_LANG 'japanese'"),
    ],
)
def test_an_unknown_or_empty_language_is_refused_in_one_line(
    argv: list[str], env: str | None, option: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if env is None:
        monkeypatch.delenv("TRAILKIT_LANG", raising=False)
    else:
        monkeypatch.setenv("TRAILKIT_LANG", env)
    code, out, err = _cli(*argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and option in err and "give en or ja" in err


# -- a Japanese check --------------------------------------------------------------------------


def _findings(text: str) -> dict[str, dict[str, Any]]:
    return {f["code"]: f for f in json.loads(text)["findings"]}


def test_a_japanese_check_gives_the_remedy_in_japanese_and_keeps_the_json_shape(
    demo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each finding whose remedy is the check catalogue's ``fix`` gives its Japanese
    translation; codes, severities and keys are the same in both languages."""
    from trailkit.rules.checks import CATALOGUE

    endpoint, _ = demo
    base = ("--endpoint-url", endpoint, "check", "--trail", "org-trail")
    key = ("--key", "alias/explicit-deny", "--format", "json")
    monkeypatch.delenv("TRAILKIT_LANG", raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    code_en, out_en, _ = _cli(*base, *key)
    monkeypatch.setenv("TRAILKIT_LANG", "ja")
    code_ja, out_ja, _ = _cli(*base, *key)
    assert code_en == code_ja == 1
    en, ja = _findings(out_en), _findings(out_ja)
    assert set(en) == set(ja) and "policy-deny" in en
    translated = {m.id: m.string for m in messages.read("ja") if m.id}
    from_catalogue = [c for c in en if en[c]["remedy"] == CATALOGUE[c].remedy]
    assert from_catalogue, en
    for code in from_catalogue:
        assert ja[code]["remedy"] == translated[en[code]["remedy"]] != en[code]["remedy"]
    # The example: the explicit Deny's finding and remedy, in Japanese.
    assert "明示的に拒否しています" in ja["policy-deny"]["message"]
    assert "kms:GenerateDataKey" in ja["policy-deny"]["message"]  # names and actions stay
    assert ja["policy-deny"]["remedy"].endswith("を削除するか範囲を狭めてください")
    for code in en:  # only human text changes
        assert set(en[code]) == set(ja[code]) and en[code]["severity"] == ja[code]["severity"]
    # --lang wins over TRAILKIT_LANG.
    code, out, _ = _cli("--lang", "en", *base, *key)
    assert code == 1 and _findings(out) == en


def test_aws_errors_are_translated_with_their_names_and_permissions_kept() -> None:
    from trailkit.errors import translate

    class Denied(Exception):
        response = {  # noqa: RUF012
            "Error": {"Code": "AccessDeniedException", "Message": "no"},
            "ResponseMetadata": {"HTTPStatusCode": 400, "HTTPHeaders": {}},
        }

    english = translate(Denied(), "GetKeyPolicy", permission="kms:GetKeyPolicy", region="eu-west-1")
    assert str(english) == (
        "GetKeyPolicy in eu-west-1 was denied: the caller lacks kms:GetKeyPolicy. Fix: grant "
        "kms:GetKeyPolicy to the caller (see the read-only policy in iam/)"
    )
    i18n.set_language("ja")
    japanese = translate(
        Denied(), "GetKeyPolicy", permission="kms:GetKeyPolicy", region="eu-west-1"
    )
    assert str(japanese) == (
        "eu-west-1 の GetKeyPolicy は拒否されました。呼び出し元に kms:GetKeyPolicy がありません。 "
        "対処: 呼び出し元に kms:GetKeyPolicy を付与してください (iam/ の読み取り専用ポリシーを参照)"
    )
    assert japanese.permission == english.permission and japanese.code == english.code


def test_lang_reaches_the_threads_that_read_aws(demo: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Found by a break-it pass: with ``--lang ja`` (not TRAILKIT_LANG) an AWS error translated in
    a reader's worker thread stayed English: the language did not reach the thread pool."""
    endpoint, _ = demo
    monkeypatch.delenv("TRAILKIT_LANG", raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    argv = ["--lang", "ja", "--endpoint-url", endpoint, "check", "--trail", "org-trail"]
    _code, out, _ = _cli(*argv, "--key", "alias/cloudtrail-good-euw1", "--format", "json")
    messages_ = " ".join(f["message"] for f in json.loads(out)["findings"])
    assert "DescribeKey in us-east-1" not in messages_
    assert (
        "何も見つかりませんでした" in messages_
        or "存在しません" in messages_
        or "ありません" in messages_
    )
