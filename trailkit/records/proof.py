"""The delivery proof of a change: what CloudTrail delivered after it, and the verdict.

``trailkit verify`` reads the newest log (and digest) object CloudTrail wrote after a change
(``ListObjectsV2``, ``HeadObject``) and the trail's ``GetTrailStatus``; the pure judgement is
:func:`trailkit.rules.proof.judge`. Bottom layer: no boto3, nothing from the layers above.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from trailkit.records.read import utc_iso

__all__ = ["DeliveredObject", "Proof", "ProofStatus"]


class ProofStatus(enum.StrEnum):
    """The answer of a delivery proof (the values stay English in JSON and the journal)."""

    #: The newest log (and digest, when log file validation is on) delivered after the change
    #: carry the expected encryption.
    PROVEN = "proven"
    #: Nothing delivered since the change yet (or no digest yet), and no error: wait longer.
    PENDING = "pending"
    #: A delivery error after the change, or an object delivered after it with other encryption.
    FAILED = "failed"
    #: The bucket, the objects or the status could not be read (the reason names the
    #: permission). Never "failed" for trailkit's own missing read.
    UNVERIFIABLE = "unverifiable"


@dataclass(frozen=True)
class DeliveredObject:
    """One object CloudTrail wrote, as ``HeadObject`` describes it.

    Parameters
    ----------
    bucket, key
        Where it is.
    last_modified : datetime
        When S3 stored it (UTC; ``ListObjectsV2`` ``LastModified``).
    encryption : str or None
        ``ServerSideEncryption``: ``"aws:kms"``, ``"AES256"``, ``"aws:kms:dsse"``; None: S3
        did not say.
    kms_key_id : str or None
        ``SSEKMSKeyId`` (a key ARN) for SSE-KMS.
    bucket_key : bool or None
        ``BucketKeyEnabled``; None: not said.
    """

    bucket: str
    key: str
    last_modified: datetime
    encryption: str | None
    kms_key_id: str | None
    bucket_key: bool | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (times as UTC ISO text)."""
        return {
            "bucket": self.bucket,
            "key": self.key,
            "last_modified": utc_iso(self.last_modified),
            "encryption": self.encryption,
            "kms_key_id": self.kms_key_id,
            "bucket_key": self.bucket_key,
        }


@dataclass(frozen=True)
class Proof:
    """Whether what CloudTrail delivered after a change carries the expected encryption.

    Parameters
    ----------
    status : ProofStatus
        The answer.
    trail_arn : str
        The trail.
    expected_encryption : str
        ``"aws:kms"`` or ``"AES256"`` (or the bucket's default, ``"aws:kms:dsse"``).
    expected_key : str or None
        The key ARN expected in ``SSEKMSKeyId``; None for AES256.
    since : datetime or None
        The change's time (UTC); None: no recorded change, the newest objects were judged.
    log, digest : DeliveredObject or None
        The newest log and digest object delivered after ``since``.
    digest_expected : bool
        The trail has log file validation on (a digest is part of the proof).
    reason : str
        One translated sentence: what was seen.
    fix : str
        Translated; empty when proven or when there is nothing to do but wait.
    change_id : str or None
        The journal change this proves.
    checked_at : datetime or None
        When the proof was read (UTC).
    """

    status: ProofStatus
    trail_arn: str
    expected_encryption: str
    expected_key: str | None
    since: datetime | None
    log: DeliveredObject | None
    digest: DeliveredObject | None
    digest_expected: bool
    reason: str
    fix: str = ""
    change_id: str | None = None
    checked_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        """The JSON of ``trailkit verify --format json`` (codes and times untranslated)."""
        return {
            "status": self.status.value,
            "trail_arn": self.trail_arn,
            "change_id": self.change_id,
            "since": utc_iso(self.since),
            "checked_at": utc_iso(self.checked_at),
            "expected_encryption": self.expected_encryption,
            "expected_key": self.expected_key,
            "digest_expected": self.digest_expected,
            "log": self.log.as_dict() if self.log else None,
            "digest": self.digest.as_dict() if self.digest else None,
            "reason": self.reason,
            "fix": self.fix,
        }
