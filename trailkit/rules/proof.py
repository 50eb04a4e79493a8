"""The delivery proof of a change, judged from what CloudTrail delivered after it (pure).

After ``UpdateTrail`` the only proof that the change works is what CloudTrail writes from then
on: the newest log file (and digest file, when log file validation is on) delivered after the
change must carry the expected encryption, and ``GetTrailStatus`` must show no delivery error
since. :func:`judge` turns what was read into a :class:`~trailkit.records.Proof`; the reads are
:mod:`trailkit.aws.delivered` and ``GetTrailStatus``. No AWS call.

Sources:

* Where CloudTrail writes (CloudTrail user guide, "Finding your CloudTrail log files" and
  "CloudTrail digest file structure"; ``docs/cloudtrail-kms.md`` section 3a): log files under
  ``BUCKET/[PREFIX/]AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/`` named
  ``ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHmmZ_UNIQUE.json.gz``, digest files under
  ``.../CloudTrail-Digest/REGION/YYYY/MM/DD/``; an organization trail under
  ``AWSLogs/o-ORGID/ACCOUNT/`` ("Creating a trail for an organization"). Day folders are UTC.
* What encrypts them: ``HeadObject`` returns ``ServerSideEncryption`` (``aws:kms``,
  ``AES256``, ``aws:kms:dsse``) and ``SSEKMSKeyId`` (Amazon S3 API reference, ``HeadObject``).
  A trail without a key writes with SSE-S3 unless the bucket's default encryption says
  otherwise (S3 applies the default to uploads that name no encryption: Amazon S3 user guide,
  "Setting default server-side encryption behavior for Amazon S3 buckets").
* Digest files: since November 2025 CloudTrail encrypts digest files with the trail's key too
  (``docs/cloudtrail-kms.md`` section 5). CloudTrail delivers a digest file about once an hour
  (CloudTrail user guide, "CloudTrail digest file structure": "every hour"), so a proof that
  needs one may wait up to an hour.
* A stopped trail: ``GetTrailStatus`` ``IsLogging`` false means CloudTrail records and delivers
  nothing until ``StartLogging`` (CloudTrail API reference, ``GetTrailStatus`` and
  ``StopLogging``), so a proof that still needs a file is ``pending`` at once: waiting cannot
  help, starting logging does.
* Delivery errors: ``GetTrailStatus`` ``LatestDeliveryError`` / ``LatestDigestDeliveryError``
  carry no time; an error counts against the change when the latest delivery attempt is after
  the change, or when no delivery succeeded since the change (:func:`trailkit.rules.delivery.
  delivery_cause` names the cause and fix).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from trailkit.arn import arn_account, resource_id
from trailkit.errors import InputError
from trailkit.i18n import N_, _, local_time
from trailkit.records import DeliveredObject, Proof, ProofStatus, Trail, TrailStatus
from trailkit.rules.delivery import delivery_cause

__all__ = [
    "MAX_WAIT",
    "START_AFTER_SLACK",
    "day_folders",
    "digest_prefix",
    "expected_encryption",
    "judge",
    "log_prefix",
    "log_start_after",
    "parse_wait",
]

#: The longest ``--wait`` (seconds): a day.
MAX_WAIT = 24 * 3600.0
#: How far before the change the ``StartAfter`` file name is put: the name's time is CloudTrail's
#: own (to the minute) and files of a few minutes before the change are stored after it.
START_AFTER_SLACK = timedelta(hours=1)

#: What ``--wait`` takes (the fix of its errors).
_WAIT_FIX = N_("give seconds or a duration such as `90s`, `15m`, `1h` or `1h30m` (0: look once)")
#: ASCII digits only: ``\d`` (and ``int()``) would take any Unicode digit (``٣``, ``１０``).
_WAIT = re.compile(r"(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s?)?", re.ASCII)
_KMS = ("aws:kms", "aws:kms:dsse")


def parse_wait(value: str | float | int) -> float:
    """Seconds of ``--wait VALUE``.

    Parameters
    ----------
    value : str or float or int
        ``90`` or ``90s`` (seconds), ``15m``, ``1h``, ``1h30m``; ``0``: look once. A number is
        taken as seconds.

    Returns
    -------
    float
        Seconds, 0 to :data:`MAX_WAIT` (24 hours).

    Raises
    ------
    InputError
        Empty, negative, more than 24 hours, or text of none of these forms; the message names
        ``--wait``.
    """
    if isinstance(value, bool):
        value = str(value)
    if isinstance(value, int | float):
        seconds = float(value)
        text = str(value)
    else:
        text = value.strip().lower() if isinstance(value, str) else ""
        found = _WAIT.fullmatch(text) if text else None
        if found is None or not any(found.groups()):
            raise InputError(
                _("--wait {value} is not a duration.").format(value=repr(value)),
                _(_WAIT_FIX),
            )
        hours, minutes, secs = (int(g) if g else 0 for g in found.groups())
        seconds = float(hours * 3600 + minutes * 60 + secs)
    if seconds != seconds or seconds < 0 or seconds > MAX_WAIT:  # NaN, negative, too long
        raise InputError(
            _("--wait {value} is outside 0 to 24 hours.").format(value=text),
            _(_WAIT_FIX),
        )
    return seconds


def expected_encryption(trail: Trail, key_arn: str | None) -> tuple[str, str | None]:
    """The encryption CloudTrail's objects must carry with ``key_arn`` in the trail.

    Parameters
    ----------
    trail : Trail
        The trail, with its bucket as read (``trail.bucket``).
    key_arn : str or None
        The key the trail uses (after the change); None: SSE-S3 (after a disable).

    Returns
    -------
    tuple of (str, str or None)
        ``("aws:kms", key_arn)`` with a key. Without one, the bucket's default encryption
        (``default_encryption``, ``default_kms_key``: S3 applies it to an upload that names no
        encryption), ``("AES256", None)`` when it has none or it is not known. A default
        ``aws:kms`` without a key (the AWS managed key ``aws/s3``) is ``("aws:kms", None)``:
        any key is accepted.
    """
    if key_arn:
        return "aws:kms", key_arn
    bucket = trail.bucket
    if bucket is not None and bucket.default_encryption:
        if bucket.default_encryption in _KMS:
            return bucket.default_encryption, bucket.default_kms_key or None
        return bucket.default_encryption, None
    return "AES256", None


def _base(trail: Trail, account: str, organization_id: str | None) -> str:
    prefix = (trail.s3_prefix or "").strip("/")
    head = f"{prefix}/AWSLogs/" if prefix else "AWSLogs/"
    return f"{head}{organization_id}/{account}/" if organization_id else f"{head}{account}/"


def log_prefix(
    trail: Trail, account: str, region: str, day: date, organization_id: str | None = None
) -> str:
    """The folder of one UTC day's log files:
    ``[PREFIX/]AWSLogs/[o-ORGID/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/``.

    Parameters
    ----------
    trail : Trail
        Its ``s3_prefix`` (leading and trailing ``/`` dropped).
    account : str
        The account whose files these are.
    region : str
        The region the events are from (the trail's home region for the proof).
    day : date
        The UTC day.
    organization_id : str or None
        For an organization trail, its ``o-`` id.
    """
    return f"{_base(trail, account, organization_id)}CloudTrail/{region}/{day:%Y/%m/%d}/"


def digest_prefix(
    trail: Trail, account: str, region: str, day: date, organization_id: str | None = None
) -> str:
    """The folder of one UTC day's digest files: as :func:`log_prefix` with
    ``CloudTrail-Digest``."""
    return f"{_base(trail, account, organization_id)}CloudTrail-Digest/{region}/{day:%Y/%m/%d}/"


def log_start_after(prefix: str, account: str, region: str, since: datetime) -> str:
    """The ``StartAfter`` of a day folder's listing: the name a log file written
    :data:`START_AFTER_SLACK` before ``since`` would have
    (``ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHmm``), or the bare ``prefix`` when that is on an
    earlier day. Names sort by their time, so every file written after it is listed."""
    start = since.astimezone(UTC) - START_AFTER_SLACK
    if f"{start:%Y/%m/%d}/" not in prefix:
        return prefix
    return f"{prefix}{account}_CloudTrail_{region}_{start:%Y%m%dT%H%M}"


def day_folders(since: datetime | None, now: datetime, *, most: int = 31) -> list[date]:
    """The UTC days to look in, newest first: from ``now``'s day back to ``since``'s (at most
    ``most`` days); today and yesterday when ``since`` is None."""
    today = now.astimezone(UTC).date()
    first = since.astimezone(UTC).date() if since is not None else today - timedelta(days=1)
    first = max(first, today - timedelta(days=most - 1))
    days = (today - first).days
    return [today - timedelta(days=n) for n in range(max(days, 0) + 1)]


def _key_matches(expected: str | None, seen: str | None) -> bool:
    """Whether ``SSEKMSKeyId`` ``seen`` is the key ``expected`` (ARN, or key id); an expected
    None (the bucket's AWS managed key) accepts any; an alias cannot be compared here and is
    taken as matching."""
    if expected is None:
        return True
    if seen is None:
        return False
    if expected == seen:
        return True
    if expected.startswith("alias/") or ":alias/" in expected:
        return True
    return resource_id(expected).removeprefix("key/") == resource_id(seen).removeprefix("key/")


def _carries(obj: DeliveredObject, encryption: str, key: str | None) -> bool:
    if obj.encryption != encryption:
        return False
    return encryption not in _KMS or _key_matches(key, obj.kms_key_id)


def _describe(encryption: str | None, key: str | None) -> str:
    if encryption in _KMS:
        return f"{encryption} ({key})" if key else str(encryption)
    return encryption or _("no encryption header")


def _error_counts(
    error: str | None,
    delivered: datetime | None,
    attempt: datetime | None,
    since: datetime | None,
) -> bool:
    """Whether a reported delivery error counts against the change.

    ``GetTrailStatus`` does not say when the error happened: only the deprecated
    ``LatestDeliveryAttemptTime`` (when CloudTrail still sends it) orders it against the change.
    With it, an error counts when that attempt came after the change, or when nothing was
    delivered since. Without it, a reported error always counts: a file delivered after the
    change does not show that the latest attempt worked (the key may have been disabled since),
    and a proof must never say "proven" while CloudTrail reports an error."""
    if not error:
        return False
    if since is None or attempt is None:
        return True
    return attempt > since or delivered is None or delivered <= since


#: What the reader says of a bucket of another account that refuses this caller (the text of
#: ``trailkit.aws.s3.FOREIGN_REFUSAL``, found in ``BucketInfo.error``).
_FOREIGN_REFUSAL = N_(
    "the bucket belongs to another account, which does not let this caller read it"
)


def _foreign(trail: Trail) -> bool:
    """Whether the trail's bucket belongs to another account: its owner is known and is not
    the trail's account, or the bucket's reads said so (``BucketInfo.error``)."""
    bucket = trail.bucket
    if bucket is None:
        return False
    account = arn_account(trail.arn) or trail.account
    if bucket.owner_account:
        return bucket.owner_account != account
    error = bucket.error or ""
    return _FOREIGN_REFUSAL in error or _(_FOREIGN_REFUSAL) in error


def judge(
    trail: Trail,
    *,
    expected: tuple[str, str | None],
    since: datetime | None,
    status: TrailStatus | None,
    log: DeliveredObject | None,
    digest: DeliveredObject | None,
    previous: tuple[str, str | None] | None = None,
    unreadable: str | None = None,
    permission: str = "",
    final: bool = True,
    change_id: str | None = None,
    checked_at: datetime | None = None,
    organization_id: str | None = None,
) -> Proof:
    """The proof of ``trail``'s change from what was read.

    Parameters
    ----------
    trail : Trail
        The trail (its bucket, key and validation setting; causes name them).
    expected : tuple of (str, str or None)
        :func:`expected_encryption` after the change.
    since : datetime or None
        The change's time (UTC); None: no recorded change, the newest objects are judged.
    status : TrailStatus or None
        ``GetTrailStatus`` read now (None: not read).
    log, digest : DeliveredObject or None
        The newest log and digest object delivered after ``since`` in the home region's
        folders (None: none found).
    previous : tuple of (str, str or None) or None
        The encryption before the change: an object after the change that still carries it
        was begun before the change; it keeps the proof ``pending`` until ``final``.
    unreadable : str or None
        Why the objects could not be listed or read (a translated sentence, no fix of its
        own); ``permission`` the IAM action that was refused, if that was the reason. A refusal
        by a bucket of another account (owner known to differ, or ``BucketInfo.error`` says so)
        is said as such, with the bucket's account's fix, not the caller's IAM.
    final : bool
        The last look (the wait is over, or it was cancelled): an object after the change
        that still carries the old encryption is then ``failed``.
    change_id, checked_at, organization_id
        Copied into the proof; ``organization_id`` names an organization trail's path in a
        delivery error's cause.

    Returns
    -------
    Proof
        ``failed`` for a delivery error after the change (its cause and fix) or an object after
        the change with another encryption; ``unverifiable`` when the objects or the status
        could not be read; ``pending`` while nothing (or no digest) arrived since the change
        (when ``status`` says the trail is not logging, ``IsLogging`` false, the reason says
        so and the fix is to start logging: no file will come however long one waits); else
        ``proven``. Never raises.
    """
    encryption, key = expected
    wants_digest = trail.log_file_validation

    def proof(state: ProofStatus, reason: str, fix: str = "") -> Proof:
        return Proof(
            status=state,
            trail_arn=trail.arn,
            expected_encryption=encryption,
            expected_key=key,
            since=since,
            log=log,
            digest=digest,
            digest_expected=wants_digest,
            reason=reason,
            fix=fix,
            change_id=change_id,
            checked_at=checked_at,
        )

    if status is not None:
        errors = [
            (
                status.latest_delivery_error,
                status.latest_delivery_time,
                status.latest_delivery_attempt_time,
                False,
            )
        ]
        if wants_digest:
            errors.append(
                (
                    status.latest_digest_delivery_error,
                    status.latest_digest_delivery_time,
                    None,
                    True,
                )
            )
        for error, delivered, attempt, is_digest in errors:
            if error and _error_counts(error, delivered, attempt, since):
                cause = delivery_cause(
                    trail, error, digest=is_digest, organization_id=organization_id
                )
                return proof(ProofStatus.FAILED, cause.cause, cause.fix)
    if status is not None and status.is_logging is False:
        stopped: Proof | None = proof(
            ProofStatus.PENDING,
            _(
                "The trail is not logging (GetTrailStatus IsLogging is false): CloudTrail "
                "delivers nothing until logging is started, so no file will come."
            ),
            _(
                "start logging with `aws cloudtrail start-logging --name {trail}` (or Start "
                "logging on the trail's page in the CloudTrail console), then run `trailkit "
                "verify --trail {trail} --wait 15m`"
            ).format(trail=trail.arn),
        )
    else:
        stopped = None
    if unreadable is not None and permission and _foreign(trail):
        # The caller may hold the permission: the bucket's owner (another account) refuses it.
        bucket = trail.bucket
        owner = bucket.owner_account if bucket is not None else None
        return proof(
            ProofStatus.UNVERIFIABLE,
            (
                _(
                    "The objects in bucket {bucket} could not be read ({permission} was denied): "
                    "the bucket belongs to another account, {owner}, which does not let this "
                    "caller read it."
                ).format(bucket=trail.bucket_name, permission=permission, owner=owner)
                if owner
                else _(
                    "The objects in bucket {bucket} could not be read ({permission} was denied): "
                    "the bucket belongs to another account, which does not let this caller "
                    "read it."
                ).format(bucket=trail.bucket_name, permission=permission)
            ),
            _(
                "the bucket's account must allow this caller s3:ListBucket and s3:GetObject in "
                "its bucket policy; or run `trailkit verify` as an identity of the bucket's "
                "account"
            ),
        )
    if unreadable is not None:
        fix = (
            _("grant {permission} on bucket {bucket}, then run `trailkit verify` again").format(
                permission=permission, bucket=trail.bucket_name
            )
            if permission
            else _("see the error and run `trailkit verify` again")
        )
        return proof(ProofStatus.UNVERIFIABLE, unreadable, fix)
    wanted = _describe(encryption, key)
    explain = _("check the trail's key and who changed it: `trailkit explain --trail {trail}`")
    again = _("run `trailkit verify --trail {trail} --wait 15m` again").format(trail=trail.arn)
    waiting: list[str] = []
    for obj, label in ((log, _("log file")), (digest if wants_digest else None, _("digest file"))):
        if obj is None:
            continue
        if _carries(obj, encryption, key):
            continue
        seen = _describe(obj.encryption, obj.kms_key_id)
        old = previous is not None and _carries(obj, *previous)
        if old and not final:
            waiting.append(
                _(
                    "The newest {file} {object} (stored {time}) still carries the encryption "
                    "from before the change, {seen}: CloudTrail may have begun it before the "
                    "change."
                ).format(file=label, object=obj.key, time=local_time(obj.last_modified), seen=seen)
            )
            continue
        if old:
            return proof(
                ProofStatus.FAILED,
                _(
                    "The newest {file} {object} (stored {time}, after the change) still carries "
                    "the encryption from before the change, {seen}, not {wanted}."
                ).format(
                    file=label,
                    object=obj.key,
                    time=local_time(obj.last_modified),
                    seen=seen,
                    wanted=wanted,
                ),
                _(
                    "run `trailkit verify --trail {trail} --wait 15m` again; if newer files still "
                    "carry it, check the trail's key and who changed it: `trailkit explain "
                    "--trail {trail}`"
                ).format(trail=trail.arn),
            )
        bucket = trail.bucket
        if key is None and trail.kms_key_id is None and bucket and bucket.encryption_error:
            # SSE-S3 expected from a default that could not be read: it may be the default.
            return proof(
                ProofStatus.UNVERIFIABLE,
                _(
                    "The newest {file} {object} carries {seen}; the default encryption of "
                    "bucket {bucket} could not be read ({error}), so trailkit cannot tell "
                    "whether that is the bucket's default."
                ).format(
                    file=label,
                    object=obj.key,
                    seen=seen,
                    bucket=bucket.name,
                    error=bucket.encryption_error,
                ),
                _("grant {permission}, then run `trailkit verify` again").format(
                    permission="s3:GetEncryptionConfiguration"
                ),
            )
        return proof(
            ProofStatus.FAILED,
            _("The newest {file} {object} (stored {time}) carries {seen}, not {wanted}.").format(
                file=label,
                object=obj.key,
                time=local_time(obj.last_modified),
                seen=seen,
                wanted=wanted,
            ),
            explain.format(trail=trail.arn),
        )
    if waiting:
        return stopped or proof(ProofStatus.PENDING, " ".join(waiting), again)
    if log is None:
        if status is not None and status.error:
            return proof(
                ProofStatus.UNVERIFIABLE,
                _(
                    "No log file was found since the change, and the trail's status could not "
                    "be read: {error}"
                ).format(error=status.error),
                _("grant {permission}, then run `trailkit verify` again").format(
                    permission="cloudtrail:GetTrailStatus"
                ),
            )
        if stopped is not None:
            return stopped
        if since is None:
            reason = _("No log file of the trail was found in the last two days.")
        else:
            reason = _(
                "No log file was delivered since the change ({time}) yet; CloudTrail delivers "
                "about every 5 minutes."
            ).format(time=local_time(since))
        return proof(ProofStatus.PENDING, reason, again)
    if wants_digest and digest is None:
        return stopped or proof(
            ProofStatus.PENDING,
            _(
                "The newest log file {object} carries {wanted}; log file validation is on, and no "
                "digest file was delivered since the change yet: CloudTrail delivers digest files "
                "about once an hour."
            ).format(object=log.key, wanted=wanted),
            _("run `trailkit verify --trail {trail} --wait 1h` again").format(trail=trail.arn),
        )
    if since is None:
        reason = _("The trail's newest log file {log} carries {wanted}.").format(
            log=log.key, wanted=wanted
        )
    elif wants_digest and digest is not None:
        reason = _(
            "The newest log file {log} and digest file {digest} delivered after the change carry "
            "{wanted}."
        ).format(log=log.key, digest=digest.key, wanted=wanted)
    else:
        reason = _("The newest log file {log} delivered after the change carries {wanted}.").format(
            log=log.key, wanted=wanted
        )
    return proof(ProofStatus.PROVEN, reason)
