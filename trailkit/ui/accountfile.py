"""``@FILE`` for the account options: one reader for the command line and the notebooks.

``--accounts @accounts.txt`` (and a notebook's ``accounts="@accounts.txt"``) names a text file
of account ids, read here; the ids in it are read by
:func:`trailkit.rules.accounts.parse_account_text`, as those given directly are.
"""

from __future__ import annotations

from pathlib import Path

from trailkit.errors import InputError
from trailkit.i18n import _

__all__ = ["account_text"]


def account_text(value: str, option: str, fix: str | None = None) -> str:
    """``value`` itself, or the text of the file it names as ``@PATH``.

    Parameters
    ----------
    value : str
        Account ids, or ``@PATH`` (surrounding blanks ignored; ``~`` expanded).
    option : str
        The option or parameter named in a message (``--accounts``, ``exclude_accounts``).
    fix : str, optional
        What to do, as that front end says it (default: the command line's).

    Returns
    -------
    str
        The text to read ids from. A file is read as UTF-8 with or without a BOM (a file saved
        by Notepad or exported from Excel starts with one).

    Raises
    ------
    InputError
        ``@`` names no file, or the file cannot be read (missing, a directory, not UTF-8).
    """
    fix = fix or _("give @PATH of a text file of account ids, or the ids themselves")
    stripped = value.strip()
    if not stripped.startswith("@"):
        return value
    if not stripped[1:].strip():
        raise InputError(_("{option}: @ names no file.").format(option=option), fix)
    path = Path(stripped[1:].strip()).expanduser()
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(
            _("{option}: the file {path} cannot be read ({error}).").format(
                option=option, path=str(path), error=exc.__class__.__name__
            ),
            fix,
        ) from None
