"""Extract trailkit's operator-facing messages and keep the Japanese catalogue in step (Babel).

    python tools/messages.py            # extract, then update trailkit/locale/ja/.../trailkit.po
    python tools/messages.py --check    # exit 1 if the .po lacks a message the code has
    python tools/messages.py --compile  # write trailkit.mo next to each .po (make does this)

Messages come from two places: every ``_()``, ``N_()`` and ``ngettext()`` call in ``trailkit/``
(Babel's Python extractor), and the human text of the check catalogue
(``trailkit/rules/catalogue.json``: each check's ``meaning`` and ``fix``), which is data and is
translated where a finding is made. Updating keeps every existing translation, adds new ids
untranslated and drops ids the code no longer has (Babel's ``Catalog.update``, without fuzzy
matching: a guessed translation would read as a checked one). ``tests/test_i18n.py`` fails while
any id lacks a translation or a translation's placeholders differ from its id's.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "trailkit"
LOCALE_DIR = PACKAGE / "locale"
CHECK_CATALOGUE = PACKAGE / "rules" / "catalogue.json"
DOMAIN = "trailkit"
TRANSLATED = ("ja",)
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}
HEADER = "trailkit's operator-facing messages. Glossary: docs/glossary.md"
STARTED = datetime(2026, 12, 4, tzinfo=UTC)


def _catalogue_messages() -> Iterator[tuple[str, int, str, list[str]]]:
    """(file, line, message, comments) for each check's meaning and fix."""
    text = CHECK_CATALOGUE.read_text(encoding="utf-8")
    lines = text.splitlines()
    entries: list[dict[str, Any]] = json.loads(text)["checks"]
    rel = CHECK_CATALOGUE.relative_to(ROOT).as_posix()
    for entry in entries:
        for field in ("meaning", "fix"):
            value = entry[field]
            needle = json.dumps(value, ensure_ascii=False)
            number = next((i for i, line in enumerate(lines, 1) if needle in line), 0)
            yield rel, number, value, [f"check {entry['code']}: {field}"]


def template() -> Catalog:
    """Every message id the code and the check catalogue have, with where each comes from."""
    catalog = Catalog(
        domain=DOMAIN,
        project="trailkit",
        header_comment=f"# {HEADER}",
        creation_date=STARTED,  # fixed: updating the .po changes only what changed
    )
    method_map = [("**.py", "python")]
    for filename, lineno, message, comments, _context in extract_from_dir(
        str(PACKAGE), method_map, keywords=KEYWORDS, comment_tags=("TRANSLATORS:",)
    ):
        where = (f"trailkit/{filename}", lineno)
        catalog.add(message, locations=[where], auto_comments=comments)
    for filename, lineno, message, comments in _catalogue_messages():
        catalog.add(message, locations=[(filename, lineno)], auto_comments=comments)
    return catalog


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def read(lang: str) -> Catalog:
    path = po_path(lang)
    if not path.exists():
        return Catalog(locale=lang, domain=DOMAIN, project="trailkit")
    with path.open("rb") as fp:
        return read_po(fp, locale=lang, domain=DOMAIN)


def update(lang: str, source: Catalog) -> Catalog:
    catalog = read(lang)
    catalog.update(source, no_fuzzy_matching=True)
    catalog.obsolete.clear()
    catalog.header_comment = f"# {HEADER}"
    catalog.revision_date = STARTED
    catalog.last_translator = "trailkit developers"
    catalog.language_team = "trailkit developers"
    catalog.project = "trailkit"
    catalog.version = ""
    catalog.msgid_bugs_address = "the trailkit issue tracker"
    catalog.fuzzy = False
    return catalog


def write(lang: str, catalog: Catalog) -> None:
    path = po_path(lang)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fp:
        write_po(fp, catalog, width=100, omit_header=False, sort_output=False)


def missing(lang: str, source: Catalog | None = None) -> list[str]:
    """Message ids the code has that ``lang``'s .po lacks or leaves untranslated or fuzzy."""
    have = read(lang)
    out = []
    for message in source or template():
        if not message.id:
            continue
        mine = have.get(message.id)
        strings = mine.string if mine is not None else None
        texts = strings if isinstance(strings, tuple | list) else (strings,)
        if mine is None or mine.fuzzy or not all(texts):
            out.append(message.id if isinstance(message.id, str) else message.id[0])
    return out


def compile_all() -> list[Path]:
    written = []
    for lang in TRANSLATED:
        catalog = read(lang)
        mo = po_path(lang).with_suffix(".mo")
        with mo.open("wb") as fp:
            write_mo(fp, catalog)
        written.append(mo)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--check", action="store_true", help="exit 1 if a message is missing")
    group.add_argument("--compile", action="store_true", help="write the .mo files")
    args = parser.parse_args(argv)
    if args.compile:
        for path in compile_all():
            print(f"wrote {path.relative_to(ROOT)}")
        return 0
    source = template()
    if args.check:
        status = 0
        for lang in TRANSLATED:
            gaps = missing(lang, source)
            for gap in gaps:
                print(f"{lang}: no translation for {gap!r}", file=sys.stderr)
            status |= bool(gaps)
        return status
    for lang in TRANSLATED:
        catalog = update(lang, source)
        write(lang, catalog)
        gaps = missing(lang, source)
        print(
            f"{po_path(lang).relative_to(ROOT)}: {len(source)} messages, {len(gaps)} untranslated"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
