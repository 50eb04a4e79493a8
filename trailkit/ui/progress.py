"""The progress bar of a scan: tqdm on the terminal, tqdm's widget in a notebook.

The read layer only calls ``progress(done, total)`` (:data:`trailkit.aws.reader.Progress`);
drawing is done here. :func:`scan` is what ``trailkit inventory`` and the notebooks
(``tk.scan(conn, regions, progress="notebook")``) call.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator, Sequence
from typing import Any

from trailkit.aws.reader import Progress, Reader
from trailkit.aws.session import Connection
from trailkit.errors import InputError
from trailkit.i18n import N_, _
from trailkit.records import Inventory
from trailkit.rules.flags import parse_names

__all__ = ["progress_bar", "scan"]


#: What the bar says: the calls answered so far and the time taken, never tqdm's default
#: ``0call [00:00, ?call/s]`` (no total is known, so there is no rate or estimate to give).
#: Translated when a bar is drawn (tqdm fills in the placeholders).
BAR_FORMAT = N_("{desc}, API calls answered: {n_fmt} [{elapsed}]")
#: What the bar is doing.
BAR_DESC = N_("reading AWS")


def _bar(kind: bool | str) -> Any:
    desc, bar_format = _(BAR_DESC), _(BAR_FORMAT)
    if kind == "notebook":
        from tqdm.notebook import tqdm as nb_tqdm

        return nb_tqdm(desc=desc, bar_format=bar_format)
    from tqdm import tqdm

    return tqdm(desc=desc, bar_format=bar_format, file=sys.stderr, leave=False)


@contextlib.contextmanager
def progress_bar(kind: bool | str) -> Iterator[Progress | None]:
    """A tqdm bar counting API calls while inside, as a ``progress(done, total)`` callback.

    The bar counts calls as they finish (``done``); it shows no total, since a scan learns what
    it must read as it reads. The bar is closed on exit.

    Parameters
    ----------
    kind : bool or str
        ``False``: no bar (yields None); ``True`` or ``"cli"``: tqdm on stderr, removed when
        done; ``"notebook"``: the notebook widget of ``tqdm.notebook``.

    Yields
    ------
    Progress or None
        The callback to pass to :meth:`trailkit.aws.reader.Reader.scan` and friends.
    """
    if not kind:
        yield None
        return
    bar = _bar(kind)

    def report(done: int, total: int) -> None:
        if done > bar.n:
            bar.update(done - bar.n)

    try:
        yield report
    finally:
        bar.close()


def scan(
    conn: Connection,
    regions: Sequence[str] | None = None,
    *,
    workers: int | None = None,
    progress: bool | str | Progress = False,
) -> Inventory:
    """Inventory every trail of the account and the keys they use, with a progress bar.

    Parameters
    ----------
    conn : Connection
        The connection.
    regions : sequence of str, optional
        Limit the scan to these regions (default: every enabled region).
    workers : int, optional
        Concurrent calls (default: the connection's).
    progress : bool, str or Progress
        ``True``/``"cli"`` draws a tqdm bar on stderr, ``"notebook"`` a notebook bar (see
        :func:`progress_bar`); a callable is called with (done, total) as by
        :meth:`~trailkit.aws.reader.Reader.scan`.

    Returns
    -------
    Inventory
        Trails (each once), keys, and the errors of the regions or calls that failed.

    Raises
    ------
    InputError
        ``conn`` is not a :class:`Connection`, or ``regions`` is not a list of region names
        (one name alone is taken as a list of one).
    TrailkitError
        The regions cannot be listed (only when ``regions`` is not given).
    """
    if not isinstance(conn, Connection):
        raise InputError(
            _("conn must be a Connection, not {type}.").format(type=type(conn).__name__),
            _("pass tk.connect(...)"),
        )
    regions = parse_names(regions, "regions")
    reader = Reader(conn, workers=workers)
    if callable(progress):
        return reader.scan(regions, progress=progress)
    with progress_bar(progress) as report:
        return reader.scan(regions, progress=report)
