"""Operator-facing text in English or Japanese: the one ``_()`` every layer shares.

Standard machinery, no hand-rolled dictionaries: the texts are gettext messages, extracted with
Babel (``make messages``) into ``trailkit/locale/trailkit.pot``; the Japanese catalogue is
``trailkit/locale/ja/LC_MESSAGES/trailkit.po``, compiled to ``trailkit.mo`` by Babel when the
package is installed (``make``). A checkout whose ``.mo`` is missing or older than its ``.po``
compiles the catalogue in memory on first use, so a translation never lags the file it comes
from. English is the source language: its texts are the message ids.

What is translated: human text only (messages, remedies, labels, help). Finding codes, JSON
field names, journal records, ARNs and names stay as they are.

The language is chosen once per process by :func:`set_language` (threads that did not choose
one speak it too; :func:`speaking` overrides it for one context): ``--lang`` on the CLI or the
``lang`` parameter of a notebook, else ``TRAILKIT_LANG``, else the locale (``LC_ALL``,
``LC_MESSAGES``, ``LANG``, the first one set, as POSIX orders them), else English.

This module is the bottom of the package: it imports nothing from trailkit, so every layer
(errors included) may use it. It raises nothing for a bad language name; callers that read one
from the operator turn ``None`` from :func:`normalise_language` into an ``InputError``.
"""

from __future__ import annotations

import gettext
import io
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

__all__ = [
    "DOMAIN",
    "LANGUAGES",
    "LOCALE_DIR",
    "N_",
    "_",
    "catalogue",
    "language",
    "language_from_environment",
    "local_time",
    "ngettext",
    "normalise_language",
    "set_language",
    "speaking",
]

DOMAIN = "trailkit"
#: The languages trailkit speaks; the first is the source language (the message ids).
LANGUAGES = ("en", "ja")
LOCALE_DIR = Path(__file__).with_name("locale")

_current: ContextVar[str | None] = ContextVar("trailkit_language", default=None)
#: The language chosen for the process (``set_language``): what threads that did not choose one
#: speak (a context variable is not inherited by a thread pool's workers, which read AWS and
#: translate its errors).
_process: list[str] = []


def normalise_language(value: str) -> str | None:
    """The language a name asks for, or None if trailkit does not speak it.

    Parameters
    ----------
    value : str
        ``"ja"``, ``"en"``, any case, or a POSIX locale name such as ``"ja_JP.UTF-8"`` or a
        tag such as ``"en-GB"``; surrounding blanks are ignored.

    Returns
    -------
    str or None
        ``"ja"`` or ``"en"``; None for an empty, unknown or malformed name (the caller says
        what is wrong: an empty value never means a default).
    """
    text = value.strip().lower()
    base = text.split(".", 1)[0].split("@", 1)[0].replace("-", "_").split("_", 1)[0]
    return base if base in LANGUAGES else None


def language_from_environment(environ: Mapping[str, str] | None = None) -> str:
    """The language the environment asks for: ``TRAILKIT_LANG``, else the locale, else English.

    Parameters
    ----------
    environ : mapping of str to str, optional
        Default ``os.environ``.

    Returns
    -------
    str
        ``"ja"`` or ``"en"``. A locale trailkit does not speak (``C``, ``POSIX``, ``de_DE``)
        means English. ``TRAILKIT_LANG`` is checked by the caller (``ui.cli``), which refuses
        a value trailkit does not speak; here such a value falls through to the locale.
    """
    env = os.environ if environ is None else environ
    chosen = env.get("TRAILKIT_LANG", "")
    if chosen.strip() and (lang := normalise_language(chosen)):
        return lang
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name, "")
        if value.strip():
            return normalise_language(value) or LANGUAGES[0]
    return LANGUAGES[0]


def set_language(lang: str | None = None) -> str:
    """Speak ``lang`` from now on in this context (None: :func:`language_from_environment`).

    Parameters
    ----------
    lang : str, optional
        ``"ja"`` or ``"en"`` (as :func:`normalise_language` accepts them).

    Returns
    -------
    str
        The language now spoken.

    Raises
    ------
    ValueError
        ``lang`` is not a language trailkit speaks (front ends check first and raise
        ``InputError`` naming their option).
    """
    chosen = language_from_environment() if lang is None else normalise_language(lang)
    if chosen is None:
        raise ValueError(f"unknown language {lang!r}; trailkit speaks {', '.join(LANGUAGES)}")
    _current.set(chosen)
    _process[:] = [chosen]
    return chosen


@contextmanager
def speaking(lang: str) -> Iterator[None]:
    """Speak ``lang`` inside the ``with`` block, then what was spoken before (e.g. English for
    a journal record written while the operator reads Japanese)."""
    chosen = normalise_language(lang)
    if chosen is None:
        raise ValueError(f"unknown language {lang!r}; trailkit speaks {', '.join(LANGUAGES)}")
    token = _current.set(chosen)
    try:
        yield
    finally:
        _current.reset(token)


def language() -> str:
    """The language spoken now (chosen from the environment on first use)."""
    lang = _current.get()
    if lang is None:
        lang = _process[0] if _process else set_language()
    return lang


@cache
def catalogue(lang: str) -> gettext.NullTranslations:
    """The message catalogue of ``lang`` (English: the identity).

    Reads ``LOCALE_DIR/<lang>/LC_MESSAGES/trailkit.mo``; when that is missing or older than
    its ``.po``, compiles the ``.po`` in memory with Babel.

    Raises
    ------
    FileNotFoundError
        ``lang`` is not English and has no catalogue (a broken installation).
    """
    if lang == LANGUAGES[0]:
        return gettext.NullTranslations()
    folder = LOCALE_DIR / lang / "LC_MESSAGES"
    po, mo = folder / f"{DOMAIN}.po", folder / f"{DOMAIN}.mo"
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as fp:
            return gettext.GNUTranslations(fp)
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as fp:
        messages = read_po(fp, locale=lang, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, messages)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def _(message: str) -> str:
    """``message`` in the language spoken now.

    Placeholders use ``str.format`` names (``_("No trail {name}.").format(name=...)``), so a
    translation may put them in another order; a test keeps the two languages' placeholders
    equal.
    """
    return catalogue(language()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for ``n`` in the language spoken now (Japanese has one)."""
    return catalogue(language()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it now (texts kept in tables and
    translated where they are shown, with ``_()``)."""
    return message


def local_time(value: object, *, offset: bool = False, none: str = "-") -> str:
    """A time as a person reads it: in the operator's timezone (``TZ`` respected), with the
    zone shown (issue "日本語": dates in the operator's timezone where shown to a person; JSON
    and the journal keep UTC).

    Parameters
    ----------
    value : datetime, pandas Timestamp, str or None
        A naive datetime is UTC; text is ISO 8601 as the journal keeps it
        (``2026-11-29T05:12:00Z``).
    offset : bool
        Show the zone as its offset from UTC (``UTC+09:00``; ``UTC`` itself), as the notebook
        tables do, instead of its name (``JST``, else ``+0900``), as the terminal does.
    none : str
        What None reads as.

    Returns
    -------
    str
        ``2026-11-29 14:12:00 JST``; text that is not a time is returned as it is.
    """
    if value is None:
        return none
    when = value
    if hasattr(when, "to_pydatetime"):  # a pandas Timestamp (a frame's time column)
        when = when.to_pydatetime()
    if not isinstance(when, datetime):
        text = str(value).strip()
        try:
            when = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
        except ValueError:
            return str(value)
    local = (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone()
    if not offset:
        zone = local.strftime("%Z") or local.strftime("%z")
    else:
        minutes = int((local.utcoffset() or timedelta(0)).total_seconds()) // 60
        sign = "+" if minutes >= 0 else "-"
        zone = f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}" if minutes else "UTC"
    return f"{local:%Y-%m-%d %H:%M:%S} {zone}"
