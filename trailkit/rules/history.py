"""Change history of a trail and its key (issue 15, item 4): what to look up, and what it says.

Pure: no AWS call. :mod:`trailkit.aws.history` makes the ``LookupEvents`` calls this module
plans (:func:`lookups`), and :func:`select` and :func:`merge_events` turn the answers into the
events of a :class:`~trailkit.records.History`, newest first. :func:`parse_since` reads the
``--since`` of the command line.

What AWS documents (sources, read for this module):

* CloudTrail API reference, ``LookupEvents``: management events "that occurred in a Region
  within the last 90 days" (:data:`MAX_LOOKBACK`), looked up *per Region*; "The default number of
  results returned is 50, with a maximum of 50 possible" (:data:`PAGE_SIZE`), more behind
  ``NextToken``; ``LookupAttributes`` "can contain only one item"; "The rate of lookup requests is
  limited to two per second, per account, per Region. If this limit is exceeded, a throttling
  error occurs" (:data:`LOOKUP_RATE`). Event history is the caller's *account's*: the changes to
  another account's trail or key are in that account's history.
* CloudTrail user guide, "Working with CloudTrail event history": the event history records
  events "in the AWS Region where the event happened": a trail's changes (``UpdateTrail``,
  ``StartLogging``, ... must be called in its home Region) are in the trail's home Region, a
  key's (``DisableKey``, ``PutKeyPolicy``, ...) in the key's Region.
* The events: CloudTrail API reference (``CreateTrail``, ``UpdateTrail``, ``StartLogging``,
  ``StopLogging``, ``DeleteTrail``: each records ``requestParameters.name``, the trail's name or
  ARN as the caller gave it); AWS KMS developer guide, "Logging AWS KMS API calls with AWS
  CloudTrail" (``ct-disablekey``, ``ct-enablekey``, ``ct-schedule-key-deletion``,
  ``ct-cancel-key-deletion``, ``ct-put-key-policy``: ``requestParameters.keyId`` as given, key
  id or ARN; ``resources[].ARN`` the key ARN; since December 2022 also
  ``responseElements.keyId``, the key ARN).

Which lookups, and why by event name
------------------------------------
``LookupEvents`` takes one attribute. Looking up ``ResourceName`` = the key ARN would return
every event that names the key, and that is mostly cryptographic operations: CloudTrail itself
calls ``GenerateDataKey`` for every log file it delivers, in every Region of a multi-Region
trail, so a month is thousands of events (hundreds of pages at two requests a second) for the
handful of changes that matter. For a trail, AWS does not document whether ``ResourceName``
matches its ARN or its name (the event history fills it from the request, where either may be
given), so that would take two lookups, each with every read (``GetTrailStatus`` by monitors)
of the trail. trailkit therefore looks up ``EventName`` = each event of :data:`TRAIL_EVENTS` in
the trail's home Region and of :data:`KEY_EVENTS` in the key's Region (ten lookups, usually one
page each, the same for every trail and key of a Region so that a reader asks once per Region),
and keeps the events about this trail (:func:`about_trail`: its ARN or name in the request, the
response or the resources) and this key (:func:`about_key`: its ARN or id).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from trailkit.errors import InputError
from trailkit.i18n import _, local_time, ngettext
from trailkit.records import HistoryEvent, KeyInfo, Trail

__all__ = [
    "DEFAULT_SINCE",
    "KEY_EVENTS",
    "KEY_SOURCE",
    "LOOKUP_RATE",
    "MAX_LOOKBACK",
    "MAX_PAGES",
    "NOTE_CODES",
    "OTHER_ACCOUNT",
    "PAGE_SIZE",
    "TOO_MANY_EVENTS",
    "TRAIL_EVENTS",
    "TRAIL_SOURCE",
    "Lookup",
    "about_key",
    "about_trail",
    "change_detail",
    "followed_key",
    "lookups",
    "merge_events",
    "parse_since",
    "select",
    "window",
]

#: The events that change a trail: who created it, changed its settings (``UpdateTrail``: the
#: key, the bucket), stopped or started its logging, deleted it. CloudTrail API reference.
TRAIL_EVENTS = ("CreateTrail", "UpdateTrail", "StopLogging", "StartLogging", "DeleteTrail")
#: The events that change whether a key can still encrypt a trail's logs: disabled, enabled,
#: scheduled for deletion (or the deletion cancelled), its key policy replaced. AWS KMS developer
#: guide, "Logging AWS KMS API calls with AWS CloudTrail".
KEY_EVENTS = ("DisableKey", "ScheduleKeyDeletion", "CancelKeyDeletion", "PutKeyPolicy", "EnableKey")
#: ``EventSource`` of each kind of event.
TRAIL_SOURCE = "cloudtrail.amazonaws.com"
KEY_SOURCE = "kms.amazonaws.com"

#: How far back the history is looked up when nothing else is asked (``--since 30d``).
DEFAULT_SINCE = timedelta(days=30)
#: How far back ``LookupEvents`` can look: "the last 90 days" (CloudTrail API reference).
MAX_LOOKBACK = timedelta(days=90)
#: Events per ``LookupEvents`` page: "a maximum of 50 possible".
PAGE_SIZE = 50
#: Pages read per lookup at most (1,000 events of one name in one Region): beyond, the newest
#: are kept and the history says it is incomplete.
MAX_PAGES = 20
#: Codes of a history's errors that are trailkit's notes, not AWS errors, and no failed call:
#: a trail or key of another account is not looked up (its history is in that account), and
#: more events than :data:`MAX_PAGES` pages were found (the newest are kept).
OTHER_ACCOUNT = "OtherAccount"
TOO_MANY_EVENTS = "TooManyEvents"
NOTE_CODES = frozenset({OTHER_ACCOUNT, TOO_MANY_EVENTS})
#: ``LookupEvents`` requests per second, per account and Region, that AWS accepts.
LOOKUP_RATE = 2.0

_RELATIVE = re.compile(r"(\d+)\s*([hdw])", re.IGNORECASE)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


def _what_to_type() -> str:
    return _(
        "use a number of hours, days or weeks (12h, 30d, 2w), a date (2026-11-01, midnight UTC) "
        "or a time with its zone (2026-11-01T09:00+09:00)"
    )


def parse_since(value: str, now: datetime) -> datetime:
    """The start of the history window that ``--since VALUE`` asks for.

    Parameters
    ----------
    value : str
        ``12h``, ``30d``, ``2w`` (hours, days or weeks before ``now``), an ISO date
        (``2026-11-01``: midnight UTC) or an ISO time with its zone (``2026-11-01T09:00+09:00``,
        ``...Z``).
    now : datetime
        The current time (timezone-aware).

    Returns
    -------
    datetime
        Timezone-aware UTC, not after ``now`` and not more than :data:`MAX_LOOKBACK` before it.

    Raises
    ------
    InputError
        Empty text, text of none of these forms, a time without its zone, zero, a time in the
        future, or one more than 90 days ago (``LookupEvents`` keeps 90 days: CloudTrail API
        reference).
    """
    text = value.strip() if isinstance(value, str) else ""
    now = now.astimezone(UTC)
    if not text:
        raise InputError(_("--since needs a value."), _what_to_type())
    relative = _RELATIVE.fullmatch(text)
    if relative is not None:
        digits = relative.group(1)
        count = int(digits) if len(digits) <= 9 else 10**9  # past 90 days either way
        if count == 0:
            raise InputError(
                _("--since {value} is an empty window.").format(value=text), _what_to_type()
            )
        try:
            since = now - count * _UNITS[relative.group(2).lower()]
        except OverflowError:
            since = datetime.min.replace(tzinfo=UTC)
    elif _DATE.fullmatch(text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise InputError(
                _("--since {value} is not a date.").format(value=repr(text[:40])), _what_to_type()
            ) from None
        since = datetime(day.year, day.month, day.day, tzinfo=UTC)
    else:
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            raise InputError(
                _("--since {value} is not a duration, a date or a time.").format(
                    value=repr(text[:40])
                ),
                _what_to_type(),
            ) from None
        if when.tzinfo is None:
            raise InputError(
                _("--since {value} has no time zone.").format(value=repr(text[:40])),
                _("add the zone, e.g. {example} or Z for UTC").format(example=f"{text[:40]}+09:00"),
            )
        since = when.astimezone(UTC)
    if since > now:
        raise InputError(
            _("--since {value} is in the future.").format(value=text[:40]), _what_to_type()
        )
    if since < now - MAX_LOOKBACK:
        raise InputError(
            _(
                "--since {value} is more than 90 days ago: CloudTrail's event history keeps "
                "90 days."
            ).format(value=text[:40]),
            _("use 90d or less, or a time after {earliest}").format(
                earliest=local_time(now - MAX_LOOKBACK)
            ),
        )
    return since


def window(since: datetime, until: datetime | None, now: datetime) -> tuple[datetime, datetime]:
    """The window ``[since, until]`` a history lookup covers, in UTC.

    A naive time is taken as UTC; ``until`` defaults to ``now`` and is not later than it;
    ``since`` is not earlier than :data:`MAX_LOOKBACK` before ``now`` (older events are gone).

    Raises
    ------
    InputError
        ``since`` is after ``until``.
    """

    def utc(when: datetime) -> datetime:
        return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)

    now = utc(now)
    end = min(utc(until), now) if until is not None else now
    start = max(utc(since), now - MAX_LOOKBACK)
    if start > end:
        raise InputError(
            _("The history window starts ({since}) after it ends ({until}).").format(
                since=local_time(start), until=local_time(end)
            ),
            _what_to_type(),
        )
    return start, end


@dataclass(frozen=True)
class Lookup:
    """One ``LookupEvents`` lookup: the events named ``event_name`` in ``region``.

    Attributes
    ----------
    region : str
    event_name : str
        A name of :data:`TRAIL_EVENTS` or :data:`KEY_EVENTS`.
    """

    region: str
    event_name: str

    @property
    def for_key(self) -> bool:
        """A key event (else a trail event)."""
        return self.event_name in KEY_EVENTS

    @property
    def attributes(self) -> list[dict[str, str]]:
        """The request's ``LookupAttributes`` (one item, as AWS allows)."""
        return [{"AttributeKey": "EventName", "AttributeValue": self.event_name}]


def followed_key(trail: Trail, key: KeyInfo | None) -> tuple[str, str, str, str] | None:
    """The key whose changes are looked up: ``(key ARN, key id, region, account)``.

    ``key`` when given (it may be a key that could not be described: its ARN is enough); else
    the trail's ``KmsKeyId`` when that is a key ARN; None for a trail without a key.
    """
    if key is not None and key.arn.startswith("arn:") and ":key/" in key.arn:
        return key.arn, key.key_id, key.region, key.account
    ident = trail.kms_key_id or ""
    parts = ident.split(":", 5)
    if len(parts) == 6 and parts[2] == "kms" and parts[5].startswith("key/"):
        return ident, parts[5][4:], parts[3], parts[4]
    return None


def lookups(trail_region: str, key_region: str | None) -> tuple[Lookup, ...]:
    """The lookups for a trail (home Region ``trail_region``) and its key (``key_region``;
    None: no key, or one that is not looked up). See the module docstring for why by name."""
    planned = [Lookup(trail_region, name) for name in TRAIL_EVENTS]
    if key_region is not None:
        planned += [Lookup(key_region, name) for name in KEY_EVENTS]
    return tuple(planned)


def _record(data: Mapping[str, Any]) -> dict[str, Any]:
    """The ``CloudTrailEvent`` JSON of a ``LookupEvents`` event ({} when absent or not JSON)."""
    text = data.get("CloudTrailEvent")
    if not isinstance(text, str) or not text:
        return {}
    try:
        loaded = json.loads(text)
    except ValueError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _named(data: Mapping[str, Any], record: Mapping[str, Any], field: str) -> set[str]:
    """Every name the event gives its resource: ``Resources[].ResourceName``, the record's
    ``resources[].ARN``, and ``field`` of its request parameters and response elements."""
    names: set[str] = set()
    for item in data.get("Resources") or []:
        if isinstance(item, Mapping) and item.get("ResourceName"):
            names.add(str(item["ResourceName"]))
    for item in record.get("resources") or []:
        if isinstance(item, Mapping) and item.get("ARN"):
            names.add(str(item["ARN"]))
    for part in ("requestParameters", "responseElements"):
        values = record.get(part)
        if isinstance(values, Mapping):
            for name in (field, "trailARN" if field == "name" else field):
                if isinstance(values.get(name), str):
                    names.add(values[name])
    return names


def about_trail(data: Mapping[str, Any], trail: Trail) -> bool:
    """Whether a ``LookupEvents`` event (looked up in the trail's home Region) is about
    ``trail``: its ARN or name is the event's resource, ``requestParameters.name`` or
    ``responseElements.trailARN``. (Event history is per account and Region, so the name is
    this trail's, or that of an earlier trail of the same name.)"""
    return bool(_named(data, _record(data), "name") & {trail.arn, trail.name})


def about_key(data: Mapping[str, Any], key_arn: str, key_id: str) -> bool:
    """Whether a ``LookupEvents`` event (looked up in the key's Region) is about the key: its
    ARN is the event's resource or ``responseElements.keyId``, or its ARN or id is
    ``requestParameters.keyId``."""
    return bool(_named(data, _record(data), "keyId") & {key_arn, key_id})


def select(
    events: Iterable[Mapping[str, Any]],
    lookup: Lookup,
    trail: Trail,
    key: tuple[str, str] | None,
    *,
    since: datetime,
    until: datetime,
) -> list[HistoryEvent]:
    """The events of one lookup that are about the trail (or, for a key lookup, the key
    ``(ARN, id)``), in the window, as :class:`~trailkit.records.HistoryEvent` (``resource`` is
    the trail ARN or the key ARN)."""
    kept: list[HistoryEvent] = []
    for data in events:
        if str(data.get("EventName") or "") != lookup.event_name:
            continue
        if lookup.for_key:
            if key is None or not about_key(data, key[0], key[1]):
                continue
            resource = key[0]
        else:
            if not about_trail(data, trail):
                continue
            resource = trail.arn
        event = HistoryEvent.from_api(data, resource=resource, region=lookup.region)
        if since <= event.time <= until:
            kept.append(event)
    return kept


def merge_events(batches: Iterable[Iterable[HistoryEvent]]) -> tuple[HistoryEvent, ...]:
    """The events of several lookups, each once, of the names that matter, newest first.

    Parameters
    ----------
    batches : iterable of iterables of HistoryEvent
        What each lookup found (two lookups may return the same event).

    Returns
    -------
    tuple of HistoryEvent
        One event per ``event_id`` (an event without one: per time, name, resource and actor);
        only :data:`TRAIL_EVENTS` and :data:`KEY_EVENTS`; newest first (ties: by name, then id,
        so that the order is the same however the lookups answered).
    """
    wanted = set(TRAIL_EVENTS) | set(KEY_EVENTS)
    seen: dict[Any, HistoryEvent] = {}
    for batch in batches:
        for event in batch:
            if event.name not in wanted:
                continue
            ident: Any = event.event_id or (event.time, event.name, event.resource, event.actor)
            seen.setdefault(ident, event)
    ordered = sorted(seen.values(), key=lambda e: (e.name, e.event_id))
    return tuple(sorted(ordered, key=lambda e: e.time, reverse=True))


def change_detail(event: HistoryEvent) -> str | None:
    """What an event changed, in a few words, from its request parameters: the key a
    ``CreateTrail`` / ``UpdateTrail`` named (or that it turned SSE-KMS off: an empty
    ``kmsKeyId``; CloudTrail API reference, ``UpdateTrail``: "To remove encryption, specify an
    empty string"), the bucket an ``UpdateTrail`` named, a ``ScheduleKeyDeletion``'s waiting
    period (``pendingWindowInDays``), that a ``PutKeyPolicy`` replaced the key policy (the
    policy text is not shown). None when there is nothing to add (a refused call changed
    nothing: its ``errorCode`` is shown instead).

    Parameters
    ----------
    event : HistoryEvent

    Returns
    -------
    str or None
        In the operator's language.
    """
    if event.error_code:
        return None
    detail = event.detail
    parts: list[str] = []
    if event.name in ("CreateTrail", "UpdateTrail"):
        if "kmsKeyId" in detail:
            key = str(detail.get("kmsKeyId") or "").strip()
            parts.append(
                _("key: {key}").format(key=key) if key else _("SSE-KMS turned off (SSE-S3)")
            )
        elif event.name == "CreateTrail":
            parts.append(_("no KMS key (SSE-S3)"))
        bucket = detail.get("s3BucketName")
        if event.name == "UpdateTrail" and isinstance(bucket, str) and bucket:
            parts.append(_("bucket: {bucket}").format(bucket=bucket))
    elif event.name == "ScheduleKeyDeletion":
        days = detail.get("pendingWindowInDays")
        if isinstance(days, int) and not isinstance(days, bool):
            parts.append(
                ngettext("deleted after {n} day", "deleted after {n} days", days).format(n=days)
            )
    elif event.name == "PutKeyPolicy":
        parts.append(_("key policy replaced"))
    return " · ".join(parts) or None
