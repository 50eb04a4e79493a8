"""The runbook notebooks' prose, in the language of their ``lang`` parameter.

One set of notebooks, whose texts follow ``lang`` (papermill ``-p lang ja``): the prose the
notebooks show lives here as gettext messages (``N_()``, translated in the shared catalogue),
keyed by notebook and section (``"guided-update.intro"``), and each notebook shows a section
with one call, ``prose.show("guided-update.intro")``, after it chose its language with
``prose.use_language(lang)`` (right after the imports, before any widget builds its labels).

Only each notebook's title stays a Markdown cell (so a notebook opened without running it still
says what it is): ``tools/make_notebooks.py`` writes it in both languages from the title's
message and its Japanese translation (:func:`bilingual_title`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from trailkit.errors import InputError
from trailkit.i18n import LANGUAGES, N_, _, set_language, speaking

__all__ = [
    "SECTIONS",
    "TITLES",
    "Section",
    "bilingual_title",
    "markdown",
    "show",
    "use_language",
]

#: The environment variable that chooses the language when ``lang`` is None.
LANG_ENV = "TRAILKIT_LANG"


@dataclass(frozen=True)
class Section:
    """One piece of a notebook's prose: a heading, a paragraph, or both (untranslated ids)."""

    heading: str | None = None
    body: str | None = None


#: Each notebook's title (its key is the notebook's name without number and extension).
TITLES: dict[str, str] = {
    "encryption-inventory": N_("Encryption inventory"),
    "guided-update": N_("Guided update"),
    "key-policy": N_("Key policy: inspect and repair"),
    "bulk-update": N_("Bulk update"),
    "change-journal": N_("Change journal"),
}

#: Every section a notebook shows, keyed ``"<notebook>.<section>"``.
SECTIONS: dict[str, Section] = {
    # 01_encryption_inventory
    "encryption-inventory.intro": Section(
        body=N_(
            "Which trails are encrypted, with which key, and is that key healthy? Every "
            "region of the account, each trail once.\n\nRuns on the demo backend unless the "
            "kernel was started with real AWS credentials (`trailkit lab --aws`)."
        )
    ),
    "encryption-inventory.where": Section(heading=N_("Where am I?")),
    "encryption-inventory.accounts": Section(
        heading=N_("Accounts"),
        body=N_(
            "One row per account read: its trails and how many of them have each health. "
            "With `org=True` (every active account of the organization) or `accounts`, each "
            "other account is read through the role `role_name`; an account whose role could "
            "not be assumed says why, and nothing of it is counted: its row is no sign of "
            "health. An organization trail is counted in its management account, and its "
            "delivery errors in a member account are noted on that member's row."
        ),
    ),
    "encryption-inventory.health": Section(
        heading=N_("Is what is in place still working?"),
        body=N_(
            "Each trail's encryption is checked as it is now, with the rules of a change: "
            "broken (CloudTrail cannot deliver its logs with it), at risk (it works, with a "
            "documented risk), unverifiable (something could not be read, and which "
            "permission would let trailkit read it), healthy, or SSE-S3 (no KMS key). The "
            "broken and at-risk trails come first, each with why and what to do."
        ),
    ),
    "encryption-inventory.trails": Section(
        heading=N_("Trails"),
        body=N_(
            "Each row coloured by its health, which is also in words: broken in red, at risk "
            "in amber, unverifiable in blue-grey, healthy in green, SSE-S3 uncoloured (its "
            "encryption cell in amber); an unusable key or an error in red. Filter by home "
            "region, encryption and health."
        ),
    ),
    "encryption-inventory.explore": Section(
        heading=N_("One trail, in detail"),
        body=N_(
            "Pick a trail (broken and at-risk first) to see what `trailkit explain` prints: "
            "the trail and its bucket, the key card, the health, the key policy statements "
            "that decide CloudTrail's access, who may decrypt the logs, the delivery status and "
            "who changed the trail or its key in the last 30 days (read when you pick it)."
        ),
    ),
    "encryption-inventory.keys": Section(heading=N_("Keys in use")),
    "encryption-inventory.chart": Section(heading=N_("Encrypted or not, by home region")),
    "encryption-inventory.errors": Section(
        heading=N_("Regions or calls that failed (empty when the result is complete)")
    ),
    "encryption-inventory.export": Section(heading=N_("Export (every column)")),
    # 02_guided_update
    "guided-update.intro": Section(
        body=N_(
            "Switch a CloudTrail trail to a KMS key (or back to SSE-S3): every pre-flight check "
            "first, nothing sent until you confirm, each change verified, recorded in the "
            "change journal and reversible."
        )
    ),
    # 03_key_policy
    "key-policy.intro": Section(
        body=N_(
            "Does this key's policy let CloudTrail use it for these trails? If not, trailkit "
            "appends the missing statements (it never edits or removes one) and, once you "
            "confirm, updates the policy and records the change."
        )
    ),
    "key-policy.choose": Section(
        heading=N_("Choose the trail and the key"),
        body=N_(
            "The pre-flight of the key (the one place its findings are listed), the current "
            "policy and the statements to append; after a policy change, the pre-flight again."
        ),
    ),
    "key-policy.apply": Section(heading=N_("Apply (headless: `apply=True`)")),
    "key-policy.after": Section(
        heading=N_("After: the pre-flight again (empty until the key policy was changed)")
    ),
    # 04_bulk_update
    "bulk-update.intro": Section(
        body=N_(
            "Several trails at once: one target key per bucket region (a key must be in the "
            "region of the trail's S3 bucket; with several accounts, one per account and bucket "
            "region, a member's keys listed in that account through its role), one plan table "
            "for all, then apply the ready plans. Blocked plans are never sent; every trail gets "
            "a result."
        )
    ),
    "bulk-update.choose": Section(
        heading=N_("Choose trails and keys, plan"),
        body=N_(
            "Each bucket region's key list is ranked for the trails chosen there: ready keys "
            "first, then unverifiable, then blocked (with the code, and for which trails when "
            "they differ)."
        ),
    ),
    "bulk-update.apply": Section(
        heading=N_("Apply (headless: `apply=True`): one result per trail"),
        body=N_(
            "Every chosen trail is listed: changed, unchanged, blocked or not sent (with the "
            "reason; nothing was sent), failed (sent, not made) or unknown."
        ),
    ),
    # 05_change_journal
    "change-journal.intro": Section(
        body=N_(
            "Every change trailkit sent: an intent written before the call, the outcome after "
            "it. Roll a trail change back (or restore a key policy) from here."
        )
    ),
    "change-journal.rollback": Section(
        heading=N_('Roll back (headless: `rollback_change="chg-..."`)')
    ),
    "change-journal.table": Section(heading=N_("Every change, as a table")),
}


def _language_error(name: str, value: object, example: str) -> InputError:
    return InputError(
        _("{name} {value} is not a language trailkit speaks.").format(name=name, value=repr(value)),
        _("give ja or en (e.g. `{example}`), or None for $TRAILKIT_LANG, else the locale").format(
            example=example
        ),
    )


def use_language(lang: object = None) -> None:
    """Speak the notebook's ``lang`` from now on (every text shown after this call follows it).

    The one call right after a notebook's imports: widgets built later label themselves in the
    language chosen here.

    Parameters
    ----------
    lang : str or None
        ``"ja"`` or ``"en"`` (any case, blanks around ignored). None: ``$TRAILKIT_LANG`` (set by
        ``trailkit lab`` and ``trailkit app`` to the language of the command line), else the
        locale (``LC_ALL``, ``LC_MESSAGES``, ``LANG``), else English.

    Returns nothing (a notebook cell stays quiet); :func:`trailkit.i18n.language` says which
    language was chosen.

    Raises
    ------
    InputError
        ``lang`` is empty, unknown or not a text (never a default), naming ``lang``; or ``lang``
        is None and ``$TRAILKIT_LANG`` is set to something other than ja or en.
    """
    if lang is None:
        chosen = os.environ.get(LANG_ENV)
        if chosen is not None and chosen.strip().lower() not in LANGUAGES:
            raise _language_error(LANG_ENV, chosen, f"{LANG_ENV}=ja")
        set_language(None)
        return
    if not isinstance(lang, str) or lang.strip().lower() not in LANGUAGES:
        raise _language_error("lang", lang, "-p lang ja")
    set_language(lang.strip().lower())


def markdown(key: str) -> str:
    """Section ``key`` as Markdown in the language spoken now (a level-2 heading, then text).

    Raises
    ------
    InputError
        ``key`` is not a section of :data:`SECTIONS`.
    """
    section = SECTIONS.get(key) if isinstance(key, str) else None
    if section is None:
        raise InputError(
            _("No notebook section {key}.").format(key=repr(key)),
            _("use one of the keys of trailkit.ui.prose.SECTIONS"),
        )
    parts = []
    if section.heading:
        parts.append(f"## {_(section.heading)}")
    if section.body:
        parts.append(_(section.body))
    return "\n\n".join(parts)


def show(key: str) -> None:
    """Display section ``key`` as Markdown in the language spoken now (one notebook cell's
    prose). Its plain-text form is the same Markdown, so every front end shows the words."""
    from IPython.display import display

    text = markdown(key)
    display({"text/markdown": text, "text/plain": text}, raw=True)  # type: ignore[no-untyped-call]


def bilingual_title(notebook: str) -> str:
    """A notebook's title cell in every language, English first.

    For example ``# Guided update / ガイド付き更新``: what ``tools/make_notebooks.py``
    writes as the one Markdown cell of a notebook.

    Raises
    ------
    LookupError
        The title has no translation in a language's catalogue (the catalogue is incomplete).
    """
    message = TITLES[notebook]
    titles = []
    for lang in LANGUAGES:
        with speaking(lang):
            text = _(message)
        if lang != LANGUAGES[0] and text == message:
            raise LookupError(f"the title {message!r} has no {lang} translation")
        titles.append(text)
    return "# " + " / ".join(titles)
