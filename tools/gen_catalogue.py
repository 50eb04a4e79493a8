"""Write the README's check catalogue table from ``trailkit/rules/catalogue.json``.

The table sits between ``<!-- catalogue:start -->`` and ``<!-- catalogue:end -->`` in
``README.md``; everything else in the README is left as it is. Run
``python tools/gen_catalogue.py`` after changing the catalogue; ``--check`` exits 1 when the
README's table is stale (``tests/test_packaging.py`` runs the same comparison).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

from trailkit.rules.checks import Check, HealthCode, load_catalogue, load_health_codes

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
START = "<!-- catalogue:start -->"
END = "<!-- catalogue:end -->"
_HEADER = (
    "| code | severity | health | meaning | AWS error it prevents | fix |\n"
    "| --- | --- | --- | --- | --- | --- |\n"
)
_HEALTH_HEADER = (
    "\nHealth reasons that are not pre-flight findings (`health_reasons` of "
    "`trailkit inventory --format json`; a finding above with a health is a reason too):\n\n"
    "| code | health | meaning | from | fix |\n| --- | --- | --- | --- | --- |\n"
)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_table(
    checks: Iterable[Check] | None = None, health_codes: Iterable[HealthCode] | None = None
) -> str:
    """The Markdown tables of the catalogue: one row per check in the catalogue's order (with
    the health it gives a trail's current encryption), then one per health code.

    Parameters
    ----------
    checks
        :class:`trailkit.rules.checks.Check` records; default: the packaged catalogue.
    health_codes
        :class:`trailkit.rules.checks.HealthCode` records; default: the packaged catalogue's.

    Returns
    -------
    str
        Header, separator and rows, each line ending with a newline.
    """
    if checks is None:
        checks = load_catalogue().values()
    if health_codes is None:
        health_codes = load_health_codes().values()
    rows = []
    for c in checks:
        error = f"`{_cell(c.aws_error)}`" if c.aws_error else "—"
        rows.append(
            f"| `{c.code}` | {c.severity} | {c.health or '—'} | {_cell(c.meaning)} | {error} "
            f"| {_cell(c.remedy)} |\n"
        )
    health_rows = [
        f"| `{h.code}` | {h.health} | {_cell(h.meaning)} | {_cell(h.source)} | {_cell(h.remedy)} |\n"
        for h in health_codes
    ]
    return _HEADER + "".join(rows) + (_HEALTH_HEADER + "".join(health_rows) if health_rows else "")


def update_readme(text: str, table: str | None = None) -> str:
    """``text`` (the README) with the table between the markers replaced.

    Parameters
    ----------
    text
        The README's text.
    table
        The table to put in; default: :func:`render_table`.

    Returns
    -------
    str
        The new README text.

    Raises
    ------
    ValueError
        The markers are missing, repeated or out of order.
    """
    if text.count(START) != 1 or text.count(END) != 1 or text.index(START) > text.index(END):
        raise ValueError(f"README.md needs exactly one {START} ... {END} block")
    before, rest = text.split(START, 1)
    _, after = rest.split(END, 1)
    return f"{before}{START}\n{table or render_table()}{END}{after}"


def readme_table(text: str) -> str:
    """The table currently between the markers of ``text`` (without the markers).

    Parameters
    ----------
    text
        The README's text.
    """
    return text.split(START, 1)[1].split(END, 1)[0].lstrip("\n")


def main(argv: list[str]) -> int:
    """Rewrite the README's table (or, with ``--check``, only say whether it is current).

    Parameters
    ----------
    argv
        Command-line arguments: ``--check`` or nothing.

    Returns
    -------
    int
        0 when the README is (now) current, 1 when ``--check`` found it stale.
    """
    current = README.read_text(encoding="utf-8")
    wanted = update_readme(current)
    if current == wanted:
        return 0
    if "--check" in argv:
        print(
            "README.md's check catalogue is stale; run python tools/gen_catalogue.py",
            file=sys.stderr,
        )
        return 1
    README.write_text(wanted, encoding="utf-8")
    print("wrote README.md")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
