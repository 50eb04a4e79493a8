"""The AWS calls of a change, and nothing else: the only place they are made.

Reads (``GetTrail``, ``GetKeyPolicy``, ``GetTrailStatus``) raise a translated
:class:`~trailkit.errors.TrailkitError`, except :func:`trail_status`, which reports an unreadable
status in the record. The two writes (``UpdateTrail``, ``PutKeyPolicy``) never raise for an AWS
failure: they return a :class:`Sent` that carries the translated error and whether AWS
*certainly* rejected the request (:func:`certainly_rejected`), which is all the journaled write
(:mod:`trailkit.change.protocol`) needs to know to decide what happened.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import botocore.exceptions
import botocore.validate

from trailkit.aws.session import Connection
from trailkit.errors import InputError, TrailkitError, translate
from trailkit.i18n import _
from trailkit.permissions import requires
from trailkit.records import TrailStatus

__all__ = [
    "Sent",
    "certainly_rejected",
    "put_key_policy",
    "read_key_policy",
    "read_trail_key",
    "trail_status",
    "update_trail",
    "validate_request",
]

_BOTO_ERRORS = (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError)
_SERVICE = {"UpdateTrail": "cloudtrail", "PutKeyPolicy": "kms"}


@dataclass(frozen=True)
class Sent:
    """What a write call returned.

    Parameters
    ----------
    request_id
        The AWS request id (of the response, or of the error when AWS sent one).
    error
        The translated error; None when AWS accepted the request.
    rejected
        With ``error``: AWS certainly did not apply the request (see :func:`certainly_rejected`).
        False means the outcome is open until the state is read back.
    """

    request_id: str | None = None
    error: TrailkitError | None = None
    rejected: bool = False


def certainly_rejected(exc: BaseException) -> bool:
    """True when AWS answered the first and only attempt with a 4xx error: nothing was applied.

    Anything else (a 5xx, a transport error, or a failure after retries, whose earlier attempts
    may have reached the server) leaves the outcome open until the state is read back.

    Parameters
    ----------
    exc
        The exception a boto3 write call raised.

    Returns
    -------
    bool
        True only for a 4xx response with no retry attempts before it.
    """
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return False
    meta = response.get("ResponseMetadata") or {}
    status = meta.get("HTTPStatusCode")
    return isinstance(status, int) and 400 <= status < 500 and not meta.get("RetryAttempts")


def _sent(exc: BaseException, operation: str, permission: str, region: str) -> Sent:
    err = translate(exc, operation, permission=permission, region=region)
    return Sent(getattr(err, "request_id", None), err, certainly_rejected(exc))


def _accepted(response: Mapping[str, Any]) -> Sent:
    return Sent((response.get("ResponseMetadata") or {}).get("RequestId"))


def validate_request(
    conn: Connection, region: str, operation: str, params: Mapping[str, Any]
) -> None:
    """Validate request parameters against botocore's service model before sending.

    Parameters
    ----------
    conn
        The connection (its client carries the service model).
    region
        Where the request would be sent.
    operation
        ``"UpdateTrail"`` or ``"PutKeyPolicy"``.
    params
        The request parameters.

    Raises
    ------
    InputError
        A parameter is missing, unknown or of the wrong type.
    """
    service = _SERVICE[operation]
    model = conn.client(service, region).meta.service_model.operation_model(operation)
    report = botocore.validate.ParamValidator().validate(dict(params), model.input_shape)
    if report.has_errors():
        raise InputError(
            _("The {operation} request is not valid: {report}").format(
                operation=operation, report=report.generate_report()
            ),
            _("report this as a bug in trailkit: the plan produced an invalid request"),
        )


@requires("cloudtrail:GetTrail")
def read_trail_key(conn: Connection, trail_arn: str, region: str) -> str | None:
    """The key ARN a trail uses now, read in its home region.

    Parameters
    ----------
    conn
        The connection.
    trail_arn
        The trail.
    region
        The trail's home region.

    Returns
    -------
    str or None
        The key ARN; None for SSE-S3.

    Raises
    ------
    AwsError
        ``GetTrail`` failed (translated).
    """
    try:
        data = conn.client("cloudtrail", region).get_trail(Name=trail_arn)
    except _BOTO_ERRORS as exc:
        raise translate(exc, "GetTrail", permission="cloudtrail:GetTrail", region=region) from None
    return (data.get("Trail") or {}).get("KmsKeyId") or None


@requires("kms:GetKeyPolicy")
def read_key_policy(conn: Connection, key_arn: str, region: str) -> str:
    """The current (``default``) key policy text.

    Parameters
    ----------
    conn
        The connection.
    key_arn
        The key.
    region
        The key's region.

    Returns
    -------
    str
        The policy JSON as AWS returns it.

    Raises
    ------
    AwsError
        ``GetKeyPolicy`` failed (translated).
    """
    try:
        data = conn.client("kms", region).get_key_policy(KeyId=key_arn, PolicyName="default")
    except _BOTO_ERRORS as exc:
        raise translate(exc, "GetKeyPolicy", permission="kms:GetKeyPolicy", region=region) from None
    return str(data.get("Policy") or "")


@requires("cloudtrail:GetTrailStatus")
def trail_status(conn: Connection, trail_arn: str, region: str) -> TrailStatus:
    """``GetTrailStatus`` of a trail, read in its home region.

    Parameters
    ----------
    conn
        The connection.
    trail_arn
        The trail.
    region
        The trail's home region.

    Returns
    -------
    TrailStatus
        With ``error`` set (and nothing else) when the status could not be read; never raises
        for an AWS failure.
    """
    try:
        data = conn.client("cloudtrail", region).get_trail_status(Name=trail_arn)
    except _BOTO_ERRORS as exc:
        err = translate(
            exc, "GetTrailStatus", permission="cloudtrail:GetTrailStatus", region=region
        )
        return TrailStatus(error=str(err))
    return TrailStatus.from_api(data)


@requires("cloudtrail:UpdateTrail", role="operate")
def update_trail(conn: Connection, region: str, params: Mapping[str, Any]) -> Sent:
    """Send ``UpdateTrail`` (validate ``params`` first with :func:`validate_request`).

    Parameters
    ----------
    conn
        The connection.
    region
        The trail's home region.
    params
        The request (``Name``, ``KmsKeyId``).

    Returns
    -------
    Sent
        The request id, or the translated error and whether AWS certainly rejected it.
    """
    try:
        response = conn.client("cloudtrail", region).update_trail(**params)
    except _BOTO_ERRORS as exc:
        return _sent(exc, "UpdateTrail", "cloudtrail:UpdateTrail", region)
    return _accepted(response)


@requires("kms:PutKeyPolicy", role="operate")
def put_key_policy(conn: Connection, region: str, params: Mapping[str, Any]) -> Sent:
    """Send ``PutKeyPolicy`` (validate ``params`` first with :func:`validate_request`).

    ``BypassPolicyLockoutSafetyCheck`` is never set by trailkit; this sends ``params`` as given.

    Parameters
    ----------
    conn
        The connection.
    region
        The key's region.
    params
        The request (``KeyId``, ``PolicyName``, ``Policy``).

    Returns
    -------
    Sent
        The request id, or the translated error and whether AWS certainly rejected it.
    """
    try:
        response = conn.client("kms", region).put_key_policy(**params)
    except _BOTO_ERRORS as exc:
        return _sent(exc, "PutKeyPolicy", "kms:PutKeyPolicy", region)
    return _accepted(response)
