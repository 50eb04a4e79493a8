"""Parameters as people pass them: one strict reading of yes/no, names, texts and mappings.

Every entry point that takes a flag (the notebooks' parameters, the widgets' headless methods,
the notebook glue) reads it with :func:`parse_flag`, so ``-p apply false`` (papermill passes the
*string* ``"false"``) means no everywhere, and a value that is not an unambiguous yes or no is an
:class:`~trailkit.errors.InputError` naming the parameter: nothing is ever sent on a guess.

The other readers here check the shape of the non-flag parameters the same way: a name (text),
a list of names (a single text is accepted as a one-item list, never iterated by character), a
mapping of texts. All pure; nothing here imports an SDK.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from trailkit.errors import InputError
from trailkit.i18n import N_, _

__all__ = ["FALSE_WORDS", "TRUE_WORDS", "parse_flag", "parse_mapping", "parse_names", "parse_text"]

#: The texts read as yes (compared after ``strip().lower()``).
TRUE_WORDS = frozenset({"true", "yes", "1"})
#: The texts read as no (compared after ``strip().lower()``).
FALSE_WORDS = frozenset({"false", "no", "0"})

_FIX_FLAG = N_("pass True or False (or one of: true/false, yes/no, 1/0, in any case)")


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def parse_flag(value: object, name: str) -> bool:
    """Read a yes/no parameter strictly.

    Parameters
    ----------
    value
        ``True``/``False``; the integers ``1``/``0``; or a text, case and surrounding
        whitespace ignored: ``true``/``false``, ``yes``/``no``, ``1``/``0``.
    name
        The parameter's name, for the error message.

    Returns
    -------
    bool
        True only for an unambiguous yes.

    Raises
    ------
    InputError
        Anything else (``None``, ``""``, ``2``, ``"maybe"``, ``"flase"``, ``"y"``, ``"on"``,
        a float, a list ...), naming the parameter.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return value == 1
    if isinstance(value, str):
        word = value.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    raise InputError(
        _("{name} must be yes or no; {value} is neither.").format(name=name, value=_shown(value)),
        _(_FIX_FLAG),
    )


def parse_text(value: object, name: str, *, optional: bool = True) -> str | None:
    """A text parameter (a name, a key, an id): returned as given; None only when ``optional``.

    Raises
    ------
    InputError
        Not a text (or None when a text is required), naming the parameter.
    """
    if value is None and optional:
        return None
    if isinstance(value, str):
        return value
    if optional:
        raise InputError(
            _("{name} must be a text or None, not {value}.").format(name=name, value=_shown(value)),
            _("pass {name} as a text or None").format(name=name),
        )
    raise InputError(
        _("{name} must be a text, not {value}.").format(name=name, value=_shown(value)),
        _("pass {name} as a text").format(name=name),
    )


def parse_names(value: object, name: str, *, optional: bool = True) -> list[str] | None:
    """A list of names (trails, regions): a list or tuple of texts, or one text.

    A single text is taken as a one-item list (``-p trails org-trail`` in papermill), never
    iterated by character. Blank entries are refused.

    Returns
    -------
    list of str or None
        None only when ``value`` is None and ``optional``.

    Raises
    ------
    InputError
        Anything else (a number, a mapping, a list with a non-text or blank item), naming the
        parameter.
    """
    fix = _('pass {name} as a list of names, e.g. ["a", "b"] (one name alone is accepted)').format(
        name=name
    )
    if value is None and optional:
        return None
    if isinstance(value, str):
        items: list[object] = [value]
    elif isinstance(value, Sequence | set | frozenset) and not isinstance(value, bytes):
        items = list(value)
    else:
        raise InputError(
            _("{name} must be a list of names, not {value}.").format(
                name=name, value=_shown(value)
            ),
            fix,
        )
    names: list[str] = []
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise InputError(
                _("{name} must hold names; {value} is not one.").format(
                    name=name, value=_shown(item)
                ),
                fix,
            )
        names.append(item.strip())
    return names


def parse_mapping(value: object, name: str, *, optional: bool = True) -> dict[str, str] | None:
    """A mapping of texts to texts (e.g. bucket region to key).

    Raises
    ------
    InputError
        Not a mapping, or a key or value that is not a text, naming the parameter.
    """
    fix = _("pass {name} as a mapping of texts, e.g. {example}").format(
        name=name, example='{"us-east-1": "alias/my-key"}'
    )
    if value is None and optional:
        return None
    if not isinstance(value, Mapping):
        raise InputError(
            _("{name} must be a mapping, not {value}.").format(name=name, value=_shown(value)),
            fix,
        )
    out: dict[str, str] = {}
    item: Any
    for item, text in value.items():
        if not isinstance(item, str) or not isinstance(text, str):
            raise InputError(
                _("{name} must map texts to texts; {value} does not.").format(
                    name=name, value=_shown(item)
                ),
                fix,
            )
        out[item] = text
    return out
