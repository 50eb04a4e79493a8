"""Change history records: who changed a trail or its key, when and from where (issue 15).

What CloudTrail's own event history (``cloudtrail:LookupEvents``) says about the management
events that matter to a trail's encryption. :meth:`HistoryEvent.from_api` converts one event of a
``LookupEvents`` response once; :class:`History` is what a lookup found, with what could not be
read (never silently dropped).

Source: CloudTrail API reference, ``LookupEvents`` (the ``Event`` shape: ``EventId``,
``EventName``, ``ReadOnly``, ``AccessKeyId``, ``EventTime``, ``EventSource``, ``Username``,
``Resources``, ``CloudTrailEvent``); CloudTrail user guide, "CloudTrail record contents for
management, data, and network activity events" (``userIdentity``, ``sourceIPAddress``,
``userAgent``, ``awsRegion``, ``errorCode``, ``requestParameters`` inside ``CloudTrailEvent``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from trailkit.records.read import ScanError, _iso_time, utc_iso
from trailkit.records.read import _utc as _api_time

__all__ = ["History", "HistoryEvent"]


def _utc(value: Any) -> datetime | None:
    """A time of a ``LookupEvents`` answer (a datetime from botocore, epoch seconds, or the ISO
    text of a record's ``eventTime``) in UTC, as :mod:`trailkit.records.read` reads times."""
    return _api_time(value) or _iso_time(value)


@dataclass(frozen=True)
class HistoryEvent:
    """One management event about a trail or a key, as ``LookupEvents`` returned it.

    Parameters
    ----------
    time : datetime
        ``EventTime``, timezone-aware UTC.
    name : str
        ``EventName`` (``UpdateTrail``, ``PutKeyPolicy``, ...): an API operation, never translated.
    source : str
        ``EventSource`` (``cloudtrail.amazonaws.com``, ``kms.amazonaws.com``).
    region : str
        Where the event was recorded (``awsRegion`` of the record, else the region looked up).
    resource : str
        The ARN (or name, as recorded) of the trail or key the event was looked up for.
    actor : str
        Who: ``userIdentity.arn`` of the record, else ``Username``; ``""`` when neither is given.
    source_ip : str
        From where: ``sourceIPAddress`` (an IP address, or an AWS service name such as
        ``cloudformation.amazonaws.com`` when a service acted for the caller); ``""`` unknown.
    user_agent : str
        ``userAgent`` of the record (the tool or console used); ``""`` unknown.
    event_id : str
        ``EventId``.
    error_code : str
        ``errorCode`` of the record: the call was refused (the change did not happen); ``""``
        when it succeeded.
    detail : Mapping[str, Any]
        The request parameters that matter to encryption (e.g. ``kmsKeyId`` of an
        ``UpdateTrail``, ``pendingWindowInDays`` of a ``ScheduleKeyDeletion``); may be empty.
    """

    time: datetime
    name: str
    source: str
    region: str
    resource: str
    actor: str = ""
    source_ip: str = ""
    user_agent: str = ""
    event_id: str = ""
    error_code: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        """True when the record carries no ``errorCode``."""
        return not self.error_code

    @classmethod
    def from_api(cls, data: Mapping[str, Any], *, resource: str, region: str) -> HistoryEvent:
        """From one ``Events`` item of a ``LookupEvents`` response.

        Parameters
        ----------
        data : Mapping
            The event (``EventTime`` a datetime from botocore, or epoch seconds / ISO text).
        resource : str
            The trail or key ARN the lookup was made for.
        region : str
            The region the lookup was made in (used when the record has no ``awsRegion``).

        Returns
        -------
        HistoryEvent
            ``CloudTrailEvent`` text that is not JSON is ignored (the event keeps what the
            response's own fields say).
        """
        record: dict[str, Any] = {}
        text = data.get("CloudTrailEvent")
        if isinstance(text, str) and text:
            try:
                loaded = json.loads(text)
            except ValueError:
                loaded = None
            if isinstance(loaded, dict):
                record = loaded
        identity = record.get("userIdentity")
        actor = ""
        if isinstance(identity, dict):
            actor = str(identity.get("arn") or identity.get("invokedBy") or "")
        params = record.get("requestParameters")
        return cls(
            time=_utc(data.get("EventTime"))
            or _utc(record.get("eventTime"))
            or datetime.min.replace(tzinfo=UTC),
            name=str(data.get("EventName") or record.get("eventName") or ""),
            source=str(data.get("EventSource") or record.get("eventSource") or ""),
            region=str(record.get("awsRegion") or region),
            resource=resource,
            actor=actor or str(data.get("Username") or ""),
            source_ip=str(record.get("sourceIPAddress") or ""),
            user_agent=str(record.get("userAgent") or ""),
            event_id=str(data.get("EventId") or record.get("eventID") or ""),
            error_code=str(record.get("errorCode") or ""),
            detail=dict(params) if isinstance(params, dict) else {},
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (times as UTC ISO text)."""
        return {
            "time": utc_iso(self.time),
            "event": self.name,
            "source": self.source,
            "region": self.region,
            "resource": self.resource,
            "actor": self.actor,
            "source_ip": self.source_ip,
            "user_agent": self.user_agent,
            "event_id": self.event_id,
            "error_code": self.error_code or None,
            "detail": dict(self.detail),
        }


@dataclass(frozen=True)
class History:
    """What the event history says about one trail and its key, newest event first.

    Parameters
    ----------
    events : tuple of HistoryEvent
        Newest first; one event once even when two lookups (the trail's home region and the
        key's region) both returned it.
    since, until : datetime
        The window looked up (UTC); ``LookupEvents`` keeps 90 days.
    regions : tuple of str
        The regions looked up.
    errors : tuple of ScanError
        Lookups that failed (with the permission that would let them); the events are then
        incomplete.
    """

    events: tuple[HistoryEvent, ...]
    since: datetime
    until: datetime
    regions: tuple[str, ...] = ()
    errors: tuple[ScanError, ...] = ()

    @property
    def complete(self) -> bool:
        """True when every lookup succeeded."""
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "since": utc_iso(self.since),
            "until": utc_iso(self.until),
            "regions": list(self.regions),
            "events": [e.as_dict() for e in self.events],
            "errors": [e.as_dict() for e in self.errors],
        }
