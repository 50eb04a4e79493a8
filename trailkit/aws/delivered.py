"""Reads of the objects CloudTrail delivered: the newest one in a folder, and its encryption.

What the delivery proof (:mod:`trailkit.rules.proof`) reads in the trail's bucket:

* ``ListObjectsV2`` (``s3:ListBucket``), every page, from ``StartAfter``: the newest object of a
  day folder stored after a time (Amazon S3 API reference, ``ListObjectsV2``: keys are listed in
  UTF-8 binary order, ``StartAfter`` "is where you want Amazon S3 to start listing from ... after
  this specified key"; ``LastModified`` is when the object was stored).
* ``ListObjectsV2`` with ``Delimiter="/"`` under ``[PREFIX/]AWSLogs/``, once: the ``o-`` folder
  of an organization trail (CloudTrail user guide, "Creating a trail for an organization":
  ``bucket/[prefix]/AWSLogs/o-exampleorgid/111111111111/``). trailkit does not call
  ``organizations:DescribeOrganization`` for it.
* ``HeadObject`` (``s3:GetObject``): ``ServerSideEncryption``, ``SSEKMSKeyId``,
  ``BucketKeyEnabled``. Amazon S3 API reference, ``HeadObject``, "Permissions": "To use HEAD,
  you must have the ``s3:GetObject`` permission"; the page asks for key material only for SSE-C
  objects (the ``x-amz-server-side-encryption-customer-*`` headers) and says encryption request
  headers are not to be sent for SSE-KMS or SSE-S3 objects. No KMS permission is named for a
  HEAD of an SSE-KMS object: ``HeadObject`` returns metadata, nothing is decrypted, so
  ``kms:Decrypt`` (which ``GetObject`` of the body needs) is not required.

Each read raises the translated :class:`~trailkit.errors.TrailkitError` of
:func:`~trailkit.errors.translate` (an :class:`~trailkit.errors.AccessDenied` names the
permission); the runbook turns it into an ``unverifiable`` proof.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import botocore.exceptions

from trailkit.aws.session import Connection
from trailkit.errors import translate
from trailkit.permissions import requires
from trailkit.records import DeliveredObject

__all__ = ["head_object", "newest_object", "organization_folder"]

_BOTO_ERRORS = (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError)


def _utc(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value)).astimezone(UTC)


@requires("s3:ListBucket")
def newest_object(
    conn: Connection,
    bucket: str,
    region: str,
    prefix: str,
    *,
    start_after: str | None = None,
    after: datetime | None = None,
) -> tuple[str, datetime] | None:
    """The newest object under ``prefix`` stored after ``after``.

    Parameters
    ----------
    conn : Connection
        The connection.
    bucket : str
        The bucket.
    region : str
        The bucket's region (where the request is sent).
    prefix : str
        A day folder (``.../CloudTrail/REGION/YYYY/MM/DD/``).
    start_after : str or None
        ``StartAfter``: list only the keys after this one (a file name built from a time).
    after : datetime or None
        Only objects whose ``LastModified`` is later (UTC); None: any. ``LastModified`` is
        whole seconds, as are the journal's times: an object stored in the change's own
        second is not counted, as it may precede the change.

    Returns
    -------
    tuple of (str, datetime) or None
        The key and its ``LastModified`` (UTC) of the newest such object (the last key on a
        tie); None when there is none.

    Raises
    ------
    TrailkitError
        ``ListObjectsV2`` failed (translated; ``AccessDenied`` names ``s3:ListBucket``).
    """
    client = conn.client("s3", region)
    params: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
    if start_after:
        params["StartAfter"] = start_after
    best: tuple[datetime, str] | None = None
    try:
        while True:
            page = client.list_objects_v2(**params)
            for item in page.get("Contents") or ():
                when = _utc(item["LastModified"])
                if after is not None and when <= after:
                    continue
                if best is None or (when, item["Key"]) > best:
                    best = (when, str(item["Key"]))
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                break
            params["ContinuationToken"] = token
    except _BOTO_ERRORS as exc:
        raise translate(exc, "ListObjectsV2", permission="s3:ListBucket", region=region) from None
    return (best[1], best[0]) if best else None


@requires("s3:ListBucket")
def organization_folder(
    conn: Connection, bucket: str, region: str, prefix: str | None
) -> str | None:
    """The ``o-`` folder an organization trail writes under: one ``ListObjectsV2`` with
    ``Delimiter="/"`` under ``[PREFIX/]AWSLogs/``.

    Parameters
    ----------
    conn : Connection
        The connection.
    bucket, region : str
        The bucket and its region.
    prefix : str or None
        The trail's ``S3KeyPrefix``.

    Returns
    -------
    str or None
        The organization id (``o-...``), the first in key order when there are several; None
        when there is no such folder (nothing delivered yet).

    Raises
    ------
    TrailkitError
        ``ListObjectsV2`` failed (translated).
    """
    head = (prefix or "").strip("/")
    folder = f"{head}/AWSLogs/" if head else "AWSLogs/"
    try:
        page = conn.client("s3", region).list_objects_v2(
            Bucket=bucket, Prefix=folder, Delimiter="/"
        )
    except _BOTO_ERRORS as exc:
        raise translate(exc, "ListObjectsV2", permission="s3:ListBucket", region=region) from None
    names = sorted(
        str(p.get("Prefix", ""))[len(folder) :].rstrip("/")
        for p in page.get("CommonPrefixes") or ()
    )
    return next((n for n in names if n.startswith("o-")), None)


@requires("s3:GetObject")
def head_object(
    conn: Connection, bucket: str, region: str, key: str, last_modified: datetime
) -> DeliveredObject:
    """The encryption of one delivered object (``HeadObject``; no ``kms:Decrypt`` needed, see
    the module's sources).

    Parameters
    ----------
    conn : Connection
        The connection.
    bucket, region : str
        The bucket and its region.
    key : str
        The object.
    last_modified : datetime
        Its ``LastModified`` from the listing (kept when HEAD has none).

    Returns
    -------
    DeliveredObject

    Raises
    ------
    TrailkitError
        ``HeadObject`` failed (translated; a 403 names ``s3:GetObject``).
    """
    try:
        data = conn.client("s3", region).head_object(Bucket=bucket, Key=key)
    except _BOTO_ERRORS as exc:
        raise translate(exc, "HeadObject", permission="s3:GetObject", region=region) from None
    modified = data.get("LastModified")
    return DeliveredObject(
        bucket=bucket,
        key=key,
        last_modified=_utc(modified) if modified is not None else last_modified,
        encryption=data.get("ServerSideEncryption") or None,
        kms_key_id=data.get("SSEKMSKeyId") or None,
        bucket_key=data.get("BucketKeyEnabled"),
    )
