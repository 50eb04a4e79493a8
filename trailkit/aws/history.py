"""CloudTrail's event history (``LookupEvents``): the reads behind a trail's change history.

:class:`EventHistory` makes one lookup (every page of it) and returns what it found with what
went wrong, never raising for an expected failure; which lookups to make and what the events
mean is :mod:`trailkit.rules.history`'s; caching and scheduling are
:meth:`trailkit.aws.reader.Reader.history`'s.

Throttling: "The rate of lookup requests is limited to two per second, per account, per Region"
(CloudTrail API reference, ``LookupEvents``). Every request first waits for its turn on a
:class:`Pacer` shared by every reader of the same connection (one account), so that a burst of
lookups (ten per trail, several trails) is spread out instead of refused; a
``ThrottlingException`` that happens anyway is retried by botocore (the connection's
``standard`` or ``adaptive`` retry mode, see :class:`~trailkit.aws.session.Connection`) and
becomes a failure only when every attempt was throttled.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from datetime import datetime
from typing import Any

from trailkit.aws.service import ServiceReader, scan_error
from trailkit.aws.session import Connection
from trailkit.errors import TrailkitError
from trailkit.i18n import _, local_time
from trailkit.permissions import requires
from trailkit.records import ScanError
from trailkit.rules.history import LOOKUP_RATE, MAX_PAGES, PAGE_SIZE, TOO_MANY_EVENTS, Lookup

__all__ = ["EventHistory", "Pacer", "pacer_for"]


class Pacer:
    """At most ``rate`` requests per second per Region, with bursts of ``burst`` (a token
    bucket per Region; a request that finds it empty reserves the next token and sleeps until
    it is due).

    Parameters
    ----------
    rate : float
        Requests per second per Region.
    burst : int
        Requests that may go at once after a quiet period.
    clock, sleep : callable
        ``time.monotonic`` and ``time.sleep`` (replaced in tests).
    """

    def __init__(
        self,
        rate: float = LOOKUP_RATE,
        burst: int = 2,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # region -> (tokens, when)

    def wait(self, region: str) -> float:
        """Wait for a request's turn in ``region``; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            tokens, then = self._buckets.get(region, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - then) * self.rate) - 1.0
            self._buckets[region] = (tokens, now)
            delay = -tokens / self.rate if tokens < 0 else 0.0
        if delay > 0:
            self._sleep(delay)
        return delay


_pacers: weakref.WeakKeyDictionary[Connection, Pacer] = weakref.WeakKeyDictionary()
_pacers_lock = threading.Lock()


def pacer_for(conn: Connection) -> Pacer:
    """The :class:`Pacer` of a connection (one account): shared by every reader that uses it.

    A local endpoint (the demo's moto server, :attr:`Connection.demo`) has no such limit, so its
    lookups are not paced (a drill-down on the demo answers at once); the pacing itself is
    tested with a fake clock, and against AWS it always applies.
    """
    with _pacers_lock:
        pacer = _pacers.get(conn)
        if pacer is None:
            pacer = _pacers[conn] = Pacer(1e6, 1_000_000) if conn.demo else Pacer()
        return pacer


class EventHistory(ServiceReader):
    """``LookupEvents`` of a reader (see :class:`~trailkit.aws.service.ServiceReader`)."""

    service = "cloudtrail"

    @requires("cloudtrail:LookupEvents")
    def lookup(
        self, lookup: Lookup, since: datetime, until: datetime
    ) -> tuple[list[dict[str, Any]], ScanError | None]:
        """Every event named ``lookup.event_name`` in ``lookup.region`` between ``since`` and
        ``until``, newest first, page after page (``NextToken``, :data:`PAGE_SIZE` a page).

        Parameters
        ----------
        lookup : Lookup
            Where and which events.
        since, until : datetime
            ``StartTime`` and ``EndTime`` (UTC).

        Returns
        -------
        tuple
            ``(events, error)``: the ``Events`` items read, and None, or the
            :class:`~trailkit.records.ScanError` that says why they are incomplete: the call
            failed (with the permission, ``cloudtrail:LookupEvents``, when it was denied; the
            events of the pages read before are kept), or there were more than
            :data:`MAX_PAGES` pages (the newest are kept).
        """
        events: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "LookupAttributes": lookup.attributes,
            "StartTime": since,
            "EndTime": until,
            "MaxResults": PAGE_SIZE,
        }
        pacer = pacer_for(self.conn)
        for _page in range(MAX_PAGES):
            pacer.wait(lookup.region)
            try:
                data = self.call("LookupEvents", lookup.region, **kwargs)
            except TrailkitError as err:
                return events, scan_error(err, region=lookup.region, resource=lookup.event_name)
            events.extend(data.get("Events") or [])
            token = data.get("NextToken")
            if not token:
                return events, None
            kwargs["NextToken"] = token
        return events, ScanError(
            operation="LookupEvents",
            code=TOO_MANY_EVENTS,
            message=_(
                "More than {count} {event} events in {region} since {since}: only the newest "
                "{count} were read. Narrow the window with --since."
            ).format(
                count=len(events),
                event=lookup.event_name,
                region=lookup.region,
                since=local_time(since),
            ),
            region=lookup.region,
            resource=lookup.event_name,
        )
