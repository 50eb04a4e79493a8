"""The demo's event history: ``LookupEvents`` for moto, which has none (issue 15, item 4).

:func:`install` (applied by :func:`~trailkit.demo.patches.patch_moto`, in this process) gives
moto's CloudTrail a ``LookupEvents`` action that answers as AWS does (CloudTrail API reference,
``LookupEvents``): ``Events`` with ``EventId``, ``EventName``, ``ReadOnly``, ``AccessKeyId``,
``EventTime``, ``EventSource``, ``Username``, ``Resources`` and the record as ``CloudTrailEvent``
JSON text, newest first, at most ``MaxResults`` (1 to 50, default 50) a page behind an opaque
``NextToken``; one ``LookupAttributes`` item (``EventId``, ``EventName``, ``ReadOnly``,
``Username``, ``ResourceType``, ``ResourceName``, ``EventSource``, ``AccessKeyId``);
``StartTime`` and ``EndTime`` (default: the last 90 days); AWS's error codes for what it refuses
(``InvalidLookupAttributesException``, ``InvalidMaxResultsException``,
``InvalidNextTokenException``, ``InvalidTimeRangeException``).

What it serves, per account and Region as AWS keeps event history:

* **the changes made through the demo**: moto's CloudTrail ``CreateTrail``, ``UpdateTrail``,
  ``StartLogging``, ``StopLogging``, ``DeleteTrail`` and KMS ``DisableKey``, ``EnableKey``,
  ``ScheduleKeyDeletion``, ``CancelKeyDeletion``, ``PutKeyPolicy`` are wrapped to record an event
  in the Region of the call: the caller's identity as moto's ``GetCallerIdentity`` names it,
  ``sourceIPAddress`` ``127.0.0.1``, the request's ``User-Agent``, its parameters, the trail or key
  ARN as resource, and ``errorCode``/``errorMessage`` when the call failed;
* **a seeded history** (:func:`seed_history`, called at the end of
  :func:`~trailkit.demo.estate.seed_demo`): ``trailkit/demo/resources/history.json``, events a
  number of days before the seeding, by named people and automation, that tell how the estate
  came to be as it is (the key disabled under ``stale-key-trail``, the key policy replaced under
  ``stripped-policy-trail``, ...). The seeding's own calls (``CreateTrail``, ``DisableKey``,
  ``PutKeyPolicy``, ... all made in the same second) are dropped when the seeded history is stored:
  next to the backdated story they would only be noise, and they did happen at seeding time, not
  weeks ago.

The events live on moto's CloudTrail backend of their account and Region, so that moto's reset
(:func:`trailkit.demo.server.reset`) forgets them with everything else. The seeded history is
sent to the server over HTTP (a request with the ``x-trailkit-demo-history`` header), so that a
demo server in another process that applied :func:`~trailkit.demo.patches.patch_moto` is seeded
too; a moto without the patch answers it with an error, and the demo then runs without history
(logged, not raised).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from trailkit.arn import arn_account, arn_region, resource_id

if TYPE_CHECKING:
    from trailkit.aws.session import Connection
    from trailkit.demo.estate import DemoEstate

__all__ = ["install", "load_history_spec", "seed_history"]

_log = logging.getLogger(__name__)
_RESOURCES = "trailkit.demo.resources"
_SEED_HEADER = "x-trailkit-demo-history"
_LOCK = threading.Lock()
_ATTRIBUTE = "trailkit_events"
_KEEPS = timedelta(days=90)
_ATTRIBUTE_KEYS = (
    "EventId",
    "EventName",
    "ReadOnly",
    "Username",
    "ResourceType",
    "ResourceName",
    "EventSource",
    "AccessKeyId",
)
_TRAIL_TYPE = "AWS::CloudTrail::Trail"
_KEY_TYPE = "AWS::KMS::Key"
#: The calls recorded: (moto response method, event name).
_TRAIL_CALLS = ("create_trail", "update_trail", "start_logging", "stop_logging", "delete_trail")
_KEY_CALLS = (
    "disable_key",
    "enable_key",
    "schedule_key_deletion",
    "cancel_key_deletion",
    "put_key_policy",
)


# -- the store: moto's CloudTrail backend of each account and Region ----------------------------


def _backends() -> Any:
    from moto.cloudtrail.models import cloudtrail_backends

    return cloudtrail_backends


def _events(account: str, region: str) -> list[dict[str, Any]]:
    """The events of ``account`` in ``region`` (call with :data:`_LOCK` held)."""
    backend = _backends()[account][region]
    found = getattr(backend, _ATTRIBUTE, None)
    if found is None:
        found = []
        setattr(backend, _ATTRIBUTE, found)
    return found


def _store(record: dict[str, Any]) -> None:
    when = _parse_time(record["eventTime"])
    with _LOCK:
        _events(record["recipientAccountId"], record["awsRegion"]).append(
            {"time": when, "record": record}
        )


def _clear(accounts: list[str]) -> None:
    with _LOCK:
        for account in accounts:
            for backend in list(_backends()[account].values()):
                setattr(backend, _ATTRIBUTE, [])


def _parse_time(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    text = str(value)
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- records -----------------------------------------------------------------------------------


def _identity(arn: str, account: str, access_key: str, *, invoked_by: str = "") -> dict[str, Any]:
    """``userIdentity`` of a record for the principal ``arn`` (CloudTrail user guide,
    "CloudTrail userIdentity element")."""
    principal = hashlib.sha256(arn.encode()).hexdigest()[:17].upper()
    identity: dict[str, Any] = {"arn": arn, "accountId": account, "accessKeyId": access_key}
    if ":assumed-role/" in arn:
        role, _session = arn.split(":assumed-role/", 1)[1].split("/", 1)
        identity.update(
            type="AssumedRole",
            principalId=f"AROA{principal}:{_session}",
            sessionContext={
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": f"AROA{principal}",
                    "arn": f"arn:aws:iam::{account}:role/{role}",
                    "accountId": account,
                    "userName": role,
                },
                "attributes": {"mfaAuthenticated": "false"},
            },
        )
    elif arn.endswith(":root"):
        identity.update(type="Root", principalId=account)
    else:
        identity.update(
            type="IAMUser", principalId=f"AIDA{principal}", userName=arn.rsplit("/")[-1]
        )
    if invoked_by:
        identity["invokedBy"] = invoked_by
    return identity


def _username(identity: Mapping[str, Any]) -> str:
    """``Username`` of a ``LookupEvents`` event: the user name, or the role session name."""
    if identity.get("userName"):
        return str(identity["userName"])
    return str(identity.get("arn") or "").rsplit("/", 1)[-1]


def _record(
    *,
    name: str,
    source: str,
    account: str,
    region: str,
    when: datetime,
    identity: dict[str, Any],
    source_ip: str,
    user_agent: str,
    parameters: Mapping[str, Any] | None,
    response: Mapping[str, Any] | None,
    resource: tuple[str, str],
    error: tuple[str, str] | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """One management event record (CloudTrail user guide, "CloudTrail record contents")."""
    record: dict[str, Any] = {
        "eventVersion": "1.09",
        "userIdentity": identity,
        "eventTime": _iso(when),
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": source_ip,
        "userAgent": user_agent,
        "requestParameters": dict(parameters) if parameters is not None else None,
        "responseElements": dict(response) if response is not None and error is None else None,
        "requestID": str(uuid.uuid4()),
        "eventID": event_id or str(uuid.uuid4()),
        "readOnly": False,
        "resources": [{"accountId": account, "type": resource[0], "ARN": resource[1]}],
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account,
        "eventCategory": "Management",
    }
    if error is not None:
        record["errorCode"], record["errorMessage"] = error
    return record


def _lower_first(data: Mapping[str, Any]) -> dict[str, Any]:
    """``{"KmsKeyId": ...}`` as a record names it: ``{"kmsKeyId": ...}``."""
    return {k[:1].lower() + k[1:]: v for k, v in data.items()}


# -- the calls made through the demo -----------------------------------------------------------


def _json_object(text: Any) -> dict[str, Any]:
    """``text`` as a JSON object ({} when it is not one)."""
    try:
        loaded = json.loads(text or "{}")
    except (TypeError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _trail_arn(response: Any, name: str) -> str:
    try:
        return str(response.cloudtrail_backend.get_trail(name).arn)
    except Exception:  # any moto refusal: the name as the caller gave it
        if name.startswith("arn:"):
            return name
        return f"arn:aws:cloudtrail:{response.region}:{response.current_account}:trail/{name}"


def _key_arn(response: Any, key_id: str) -> str:
    backend = response.kms_backend
    try:
        return str(backend.keys[backend.any_id_to_key_id(key_id)].arn)
    except Exception:  # any moto refusal: the id as the caller gave it
        if key_id.startswith("arn:"):
            return key_id
        return f"arn:aws:kms:{response.region}:{response.current_account}:key/{key_id}"


def _caller(response: Any) -> str:
    from moto.sts.models import sts_backends

    try:
        backend = sts_backends[response.current_account][response.partition]
        return str(backend.get_caller_identity(response.get_access_key(), response.region)[1])
    except Exception:  # moto's default identity, as GetCallerIdentity says
        return f"arn:aws:sts::{response.current_account}:user/moto"


def _error_of(exc: BaseException) -> tuple[str, str]:
    code = getattr(exc, "error_type", None) or getattr(exc, "code", None) or type(exc).__name__
    message = getattr(exc, "message", None) or str(exc)
    return str(code).split("#")[-1], str(message)


def _recorded(
    original: Callable[[Any], Any], event: str, source: str, kind: str
) -> Callable[[Any], Any]:
    """``original`` (a moto response method) that records its call as ``event``."""

    def handler(self: Any) -> Any:
        params = _json_object(self.body)
        ident = str(params.get("Name" if kind == "trail" else "KeyId") or "")
        resolve = _trail_arn if kind == "trail" else _key_arn
        before = resolve(self, ident) if ident else ""
        try:
            result = original(self)
        except Exception as exc:
            _safely(self, event, source, kind, params, before, None, _error_of(exc))
            raise
        answer = _json_object(result) if isinstance(result, str) else {}
        after = resolve(self, ident) if ident and event != "DeleteTrail" else before
        _safely(self, event, source, kind, params, after or before, answer, None)
        return result

    handler.__name__ = original.__name__
    handler.__doc__ = original.__doc__
    return handler


def _safely(
    response: Any,
    event: str,
    source: str,
    kind: str,
    params: dict[str, Any],
    resource: str,
    answer: dict[str, Any] | None,
    error: tuple[str, str] | None,
) -> None:
    """Record one call (a failure to record is logged: it must never fail the call)."""
    try:
        account, region = response.current_account, response.region
        if kind == "trail":
            reply = _lower_first(answer or {}) if event in ("CreateTrail", "UpdateTrail") else None
            typed = (_TRAIL_TYPE, resource)
        else:
            reply = {"keyId": resource}
            typed = (_KEY_TYPE, resource)
        access_key = response.get_access_key()
        _store(
            _record(
                name=event,
                source=source,
                account=account,
                region=region,
                when=datetime.now(UTC),
                identity=_identity(_caller(response), account, access_key),
                source_ip="127.0.0.1",
                user_agent=str(response.headers.get("User-Agent") or ""),
                parameters=_lower_first(params),
                response=reply,
                resource=typed,
                error=error,
            )
        )
    except Exception:  # pragma: no cover - defensive: the demo's change must still happen
        _log.exception("the demo could not record %s in its event history", event)


# -- LookupEvents ------------------------------------------------------------------------------


def _fail(code: str, message: str) -> Exception:
    from moto.core.exceptions import JsonRESTError

    return JsonRESTError(code, message)


def _matches(entry: Mapping[str, Any], key: str, value: str) -> bool:
    record = entry["record"]
    identity = record.get("userIdentity") or {}
    resources_ = record.get("resources") or []
    if key == "EventId":
        return bool(record.get("eventID") == value)
    if key == "EventName":
        return bool(record.get("eventName") == value)
    if key == "ReadOnly":
        return str(bool(record.get("readOnly"))).lower() == value.lower()
    if key == "Username":
        return _username(identity) == value
    if key == "ResourceType":
        return any(r.get("type") == value for r in resources_)
    if key == "ResourceName":
        return any(r.get("ARN") == value for r in resources_)
    if key == "EventSource":
        return bool(record.get("eventSource") == value)
    return bool(identity.get("accessKeyId") == value)  # AccessKeyId


def _as_event(entry: Mapping[str, Any]) -> dict[str, Any]:
    """One ``Events`` item of a ``LookupEvents`` response."""
    record = entry["record"]
    identity = record.get("userIdentity") or {}
    event: dict[str, Any] = {
        "EventId": record["eventID"],
        "EventName": record["eventName"],
        "ReadOnly": str(bool(record.get("readOnly"))).lower(),
        "EventTime": entry["time"],
        "EventSource": record["eventSource"],
        "Username": _username(identity),
        "Resources": [
            {"ResourceType": r.get("type"), "ResourceName": r.get("ARN")}
            for r in record.get("resources") or []
        ],
        "CloudTrailEvent": json.dumps(record),
    }
    if identity.get("accessKeyId"):
        event["AccessKeyId"] = identity["accessKeyId"]
    return event


def _token(query: str, offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([query, offset]).encode()).decode()


def _offset(token: str, query: str) -> int:
    try:
        seen, offset = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, TypeError):
        seen, offset = None, 0
    if seen != query or not isinstance(offset, int) or offset < 0:
        raise _fail("InvalidNextTokenException", "A token that is not valid was specified.")
    return offset


def lookup_events(self: Any) -> str:
    """moto's ``LookupEvents`` (see the module docstring)."""
    attributes = self._get_param("LookupAttributes") or []
    if not isinstance(attributes, list) or len(attributes) > 1:
        raise _fail(
            "InvalidLookupAttributesException",
            "You can specify only one lookup attribute.",
        )
    wanted: tuple[str, str] | None = None
    if attributes:
        first = attributes[0] if isinstance(attributes[0], dict) else {}
        key, value = first.get("AttributeKey"), first.get("AttributeValue")
        if key not in _ATTRIBUTE_KEYS or not isinstance(value, str):
            raise _fail("InvalidLookupAttributesException", f"{key} is not a lookup attribute.")
        wanted = (key, value)
    limit = self._get_param("MaxResults")
    limit = 50 if limit is None else int(limit)
    if not 1 <= limit <= 50:
        raise _fail("InvalidMaxResultsException", "MaxResults must be between 1 and 50.")
    now = datetime.now(UTC).timestamp()
    start_param, end_param = self._get_param("StartTime"), self._get_param("EndTime")
    start = _parse_time(start_param) if start_param is not None else now - _KEEPS.total_seconds()
    end = _parse_time(end_param) if end_param is not None else now
    if start > end:
        raise _fail("InvalidTimeRangeException", "StartTime must be before EndTime.")
    query = json.dumps([wanted, start_param, end_param, self._get_param("EventCategory")])
    token = self._get_param("NextToken")
    offset = _offset(token, query) if token else 0
    with _LOCK:
        entries = list(_events(self.current_account, self.region))
    if self._get_param("EventCategory") == "insight":
        entries = []
    found = [
        e for e in entries if start <= e["time"] <= end and (wanted is None or _matches(e, *wanted))
    ]
    found.sort(key=lambda e: (e["time"], e["record"]["eventID"]), reverse=True)
    page = found[offset : offset + limit]
    answer: dict[str, Any] = {"Events": [_as_event(e) for e in page]}
    if offset + limit < len(found):
        answer["NextToken"] = _token(query, offset + limit)
    return json.dumps(answer)


def _seed_call_action(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """moto's ``call_action`` of CloudTrail, which also takes the seeded history."""

    def call_action(self: Any) -> Any:
        if str(self.headers.get(_SEED_HEADER) or "") != "seed":
            return original(self)
        body = _json_object(self.body)
        accounts = [str(a) for a in body.get("Clear") or []]
        records = [r for r in body.get("Records") or [] if isinstance(r, dict)]
        _clear(accounts)
        for record in records:
            _store(record)
        headers = dict(self.response_headers)
        return 200, headers, json.dumps({"Stored": len(records)})

    return call_action


_installed = False


def install() -> None:
    """Add ``LookupEvents`` to moto's CloudTrail and record the changes made through the demo
    (idempotent; called by :func:`~trailkit.demo.patches.patch_moto`)."""
    global _installed
    with _LOCK:
        if _installed:
            return
        from moto.cloudtrail import responses as cloudtrail_responses
        from moto.kms import responses as kms_responses

        trail_cls: Any = cloudtrail_responses.CloudTrailResponse
        key_cls: Any = kms_responses.KmsResponse
        names = [(trail_cls, n, "trail") for n in _TRAIL_CALLS]
        names += [(key_cls, n, "key") for n in _KEY_CALLS]
        if not all(hasattr(cls, n) for cls, n, _kind in names):  # pragma: no cover
            _log.warning("moto's CloudTrail/KMS responses changed; the demo has no history")
            _installed = True
            return
        for cls, method, kind in names:
            event = "".join(part.title() for part in method.split("_"))
            source = "cloudtrail.amazonaws.com" if kind == "trail" else "kms.amazonaws.com"
            setattr(cls, method, _recorded(getattr(cls, method), event, source, kind))
        trail_cls.lookup_events = lookup_events
        trail_cls.call_action = _seed_call_action(trail_cls.call_action)
        _installed = True


# -- the seeded history ------------------------------------------------------------------------


@cache
def load_history_spec() -> dict[str, Any]:
    """``trailkit/demo/resources/history.json``: the actors and the events of the story."""
    text = resources.files(_RESOURCES).joinpath("history.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _key_policy(conn: Connection, key_arn: str) -> str | None:
    """The key's policy now (what a ``PutKeyPolicy`` of the story put there), or None."""
    from trailkit.demo.server import as_account

    try:
        account = arn_account(key_arn)
        acting = conn if account == conn.account else as_account(conn, account)
        kms = acting.client("kms", arn_region(key_arn))
        return str(kms.get_key_policy(KeyId=resource_id(key_arn), PolicyName="default")["Policy"])
    except Exception:  # the event is told without the policy text
        return None


def history_records(
    conn: Connection, estate: DemoEstate, now: datetime
) -> tuple[list[dict[str, Any]], list[str]]:
    """The seeded records for ``estate`` (the events whose trail, key and ``when_trail`` are in
    the estate) and every account of the estate."""
    spec = load_history_spec()
    actors: Mapping[str, Mapping[str, Any]] = spec["actors"]
    records: list[dict[str, Any]] = []
    for index, item in enumerate(spec["events"]):
        trail = item.get("trail")
        key = item.get("key")
        if (trail and trail not in estate.trails) or (key and key not in estate.keys):
            continue
        if item.get("when_trail") and item["when_trail"] not in estate.trails:
            continue
        name = str(item["event"])
        actor = actors[item["actor"]]
        if name in (
            "DisableKey",
            "EnableKey",
            "ScheduleKeyDeletion",
            "CancelKeyDeletion",
            "PutKeyPolicy",
        ):
            resource = estate.keys[key]
            source, typed = "kms.amazonaws.com", _KEY_TYPE
            params: dict[str, Any] = {"keyId": resource_id(resource)}
            if name == "PutKeyPolicy":
                params["policyName"] = "default"
                policy = _key_policy(conn, resource)
                if policy is not None:
                    params["policy"] = policy
            reply: dict[str, Any] | None = {"keyId": resource}
        else:
            resource = estate.trails[trail]
            source, typed = "cloudtrail.amazonaws.com", _TRAIL_TYPE
            params = {"name": trail}
            reply = None
            if name in ("CreateTrail", "UpdateTrail"):
                if name == "CreateTrail" and trail in estate.trail_buckets:
                    params["s3BucketName"] = estate.trail_buckets[trail]
                if key:
                    params["kmsKeyId"] = estate.keys[key]
                reply = {"name": trail, "trailARN": resource, **params}
                reply.pop("kmsKeyId", None)
                if key:
                    reply["kmsKeyId"] = estate.keys[key]
        params.update(item.get("parameters") or {})
        account, region = arn_account(resource), arn_region(resource)
        principal = str(actor["arn"]).format(account=account)
        error = [str(part).format(account=account) for part in item.get("error") or []]
        records.append(
            _record(
                name=name,
                source=source,
                account=account,
                region=region,
                when=now - timedelta(days=float(item["days_ago"])),
                identity=_identity(
                    principal,
                    account,
                    str(actor["access_key"]),
                    invoked_by=str(actor.get("invoked_by") or ""),
                ),
                source_ip=str(actor["source_ip"]),
                user_agent=str(actor["user_agent"]),
                parameters=params,
                response=reply,
                resource=(typed, resource),
                error=(error[0], error[1]) if len(error) == 2 else None,
                event_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"trailkit-demo/{index}/{resource}")),
            )
        )
    return records, sorted(estate.accounts)


def seed_history(conn: Connection, estate: DemoEstate) -> int:
    """Store the seeded history of ``estate`` on the demo server, replacing the events its
    seeding recorded (see the module docstring).

    Parameters
    ----------
    conn : Connection
        The connection the estate was seeded through (its endpoint is the demo server).
    estate : DemoEstate
        What :func:`~trailkit.demo.estate.seed_demo` made; events of trails or keys it does not
        have are left out.

    Returns
    -------
    int
        How many events were stored (0 when the server does not take them: a moto without
        :func:`~trailkit.demo.patches.patch_moto`, which is logged).
    """
    from trailkit.demo.server import LOCAL_OPENER

    if not conn.endpoint_url:
        return 0
    records, accounts = history_records(conn, estate, datetime.now(UTC))
    day = datetime.now(UTC).strftime("%Y%m%d")
    request = urllib.request.Request(  # noqa: S310 - the demo's own http endpoint
        conn.endpoint_url.rstrip("/") + "/",
        data=json.dumps({"Clear": accounts, "Records": records}).encode(),
        method="POST",
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "CloudTrail_20131101.LookupEvents",
            "Authorization": (
                f"AWS4-HMAC-SHA256 Credential=trailkit-demo/{day}/{conn.region}/cloudtrail/"
                "aws4_request, SignedHeaders=host, Signature=0"
            ),
            _SEED_HEADER: "seed",
        },
    )
    try:
        with LOCAL_OPENER.open(request, timeout=30) as answer:
            stored = json.loads(answer.read() or b"{}").get("Stored")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        _log.warning("the demo server took no event history (%s): patch_moto() not applied?", exc)
        return 0
    if not isinstance(stored, int):
        _log.warning("the demo server took no event history: patch_moto() not applied?")
        return 0
    return stored
