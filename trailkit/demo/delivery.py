"""Simulated CloudTrail delivery for the demo backend (moto in this process only).

moto stores trails but never delivers a log file: its ``GetTrailStatus`` reports "now" as
``LatestDeliveryTime`` for every logging trail, and the buckets stay empty. This module writes
what CloudTrail would write, so that trailkit's delivery proof (``trailkit verify``) runs end to
end offline:

* :func:`deliver` writes one log file (and, with log file validation on, one digest file) into the
  trail's bucket, under the trail's real prefix (``docs/cloudtrail-kms.md`` section 3a; CloudTrail
  user guide, "Finding your CloudTrail log files", "CloudTrail digest file structure")::

      [PREFIX/]AWSLogs/[o-ORG/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/
          ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHMMZ_<16 letters or digits>.json.gz
      [PREFIX/]AWSLogs/[o-ORG/]ACCOUNT/CloudTrail-Digest/REGION/YYYY/MM/DD/
          ACCOUNT_CloudTrail-Digest_REGION_TRAIL_REGION_YYYYMMDDTHHMMSSZ.json.gz

  encrypted as CloudTrail's upload is: SSE-KMS with the trail's key (``ServerSideEncryption``
  ``aws:kms``, ``SSEKMSKeyId`` the key ARN; digest files too since November 2025, section 5),
  else the bucket's default encryption (AES256 when it has none).
* Before writing, it decides as CloudTrail would whether the delivery succeeds: the bucket exists
  (``NoSuchBucket``); the key exists in the bucket's region (``KMS.NotFoundException``), is
  ``Enabled`` (``KMS.DisabledException``, other states ``KMS.KMSInvalidStateException``), is a
  symmetric ``ENCRYPT_DECRYPT`` key (``KMS.InvalidKeyUsageException``); the key policy lets
  ``cloudtrail.amazonaws.com`` call ``kms:GenerateDataKey`` with the trail's encryption context
  (and ``kms:Decrypt`` with an S3 Bucket Key), evaluated with trailkit's own rules
  (:func:`trailkit.rules.checks.cloudtrail_answers`; refused: ``KMS.AccessDeniedException``);
  the bucket policy accepts CloudTrail's ``s3:PutObject`` of each file
  (:func:`trailkit.rules.requests.delivery_requests`; refused: ``AccessDenied``). Those are the
  names :mod:`trailkit.rules.delivery` maps to a cause and a fix. A policy the evaluator cannot
  answer for is given the benefit of the doubt (the demo's own policies are all answerable).
* The outcome is the trail's status: on success ``LatestDeliveryTime`` (and
  ``LatestDigestDeliveryTime``) become the delivery's time and the error is cleared; on failure
  nothing is written and ``LatestDeliveryError`` (``LatestDigestDeliveryError``) is set, the
  last successful time kept. :func:`status_overlay` is what
  :func:`~trailkit.demo.patches.patch_moto` lays over moto's ``GetTrailStatus`` (from the first
  delivery attempt, or the first one scheduled, on; a trail never simulated keeps moto's status).
  A delivery for a member account of an organization trail sets that member's status instead
  (as :func:`~trailkit.demo.patches.set_member_trail_status` does).

When deliveries happen (:func:`install`, called by :func:`~trailkit.demo.patches.patch_moto`):
after ``CreateTrail``, ``UpdateTrail`` and ``StartLogging`` of a logging trail, after
:func:`delivery_delay` seconds (2 s by default, the environment variable
``TRAILKIT_DEMO_DELIVERY_DELAY`` or :func:`set_delivery_delay`; 0 delivers before the response
returns, which tests use); after ``DisableKey`` and ``ScheduleKeyDeletion``, an attempt for every
logging trail that uses the key (it fails: the key was changed after the trail), and after
``EnableKey``, ``CancelKeyDeletion`` and ``PutKeyPolicy`` too (so a repair shows in the next
delivery, as on AWS, instead of the old error staying until the periodic round); and every
``interval`` seconds for every logging trail while a :class:`PeriodicDelivery` runs (started by
:func:`~trailkit.demo.lab.start_demo` for ``trailkit demo``, ``lab`` and ``app``; not by the test
fixture). Inside :func:`paused` (the estate's seeding in this process) nothing is scheduled, nor
for a request that carries :data:`SEEDING_HEADER` (the estate's seeding, wherever moto runs); a
timer whose trail was deleted or forgotten by a moto reset does nothing.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import logging
import os
import secrets
import string
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from trailkit.arn import arn_account, arn_region, resource_id
from trailkit.records import BucketInfo, Trail
from trailkit.rules import policy as pol
from trailkit.rules.checks import cloudtrail_answers
from trailkit.rules.requests import delivery_requests

__all__ = [
    "DEFAULT_DELAY",
    "DEFAULT_INTERVAL",
    "DELAY_ENV",
    "INTERVAL_ENV",
    "SEEDING_HEADER",
    "Delivery",
    "PeriodicDelivery",
    "cancel_pending",
    "default_interval",
    "deliver",
    "deliver_logging_trails",
    "deliver_trails",
    "delivery_delay",
    "install",
    "local_trails",
    "paused",
    "pending",
    "schedule",
    "set_delivery_delay",
    "status_overlay",
    "would_deliver",
]

#: Seconds between a change and the delivery it triggers, unless set otherwise.
DEFAULT_DELAY = 2.0
#: Seconds between two periodic deliveries of the demo server.
DEFAULT_INTERVAL = 60.0
#: Environment variables that override :data:`DEFAULT_DELAY` / :data:`DEFAULT_INTERVAL`.
DELAY_ENV = "TRAILKIT_DEMO_DELIVERY_DELAY"
INTERVAL_ENV = "TRAILKIT_DEMO_DELIVERY_INTERVAL"

#: A request header that tells the triggers to leave the request alone: the estate's seeding
#: sends it, so that seeding a moto server in another process (patched, with its own delay)
#: schedules no delivery either.
SEEDING_HEADER = "x-trailkit-demo-seeding"

_STATUS_ATTR = "_trailkit_delivery_status"
_MEMBER_ATTR = "_trailkit_member_status"  # shared with trailkit.demo.patches
_ALNUM = string.ascii_letters + string.digits
_log = logging.getLogger(__name__)

_lock = threading.RLock()
_delay: float | None = None
_paused = 0
_timers: set[threading.Timer] = set()
_installed = False


# -- settings ----------------------------------------------------------------------------------


def _env_seconds(name: str, default: float) -> float:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        _log.warning("%s=%r is not a number of seconds; using %s", name, text, default)
        return default
    return max(value, 0.0)


def delivery_delay() -> float:
    """Seconds between a change (``UpdateTrail``, ...) and the delivery it triggers: what
    :func:`set_delivery_delay` set, else ``TRAILKIT_DEMO_DELIVERY_DELAY``, else
    :data:`DEFAULT_DELAY`."""
    return _delay if _delay is not None else _env_seconds(DELAY_ENV, DEFAULT_DELAY)


def set_delivery_delay(seconds: float | None) -> None:
    """Set :func:`delivery_delay` for this process (``None``: back to the default).

    Parameters
    ----------
    seconds
        0 delivers synchronously, before the triggering request's response returns.

    Raises
    ------
    ValueError
        ``seconds`` is negative.
    """
    global _delay
    if seconds is not None and seconds < 0:
        raise ValueError("the delivery delay cannot be negative")
    _delay = seconds


def default_interval() -> float:
    """Seconds between periodic deliveries: ``TRAILKIT_DEMO_DELIVERY_INTERVAL`` or
    :data:`DEFAULT_INTERVAL` (0: no periodic delivery)."""
    return _env_seconds(INTERVAL_ENV, DEFAULT_INTERVAL)


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """While inside, changes schedule no delivery and periodic delivery skips its turns (the
    estate's seeding runs inside, so it leaves no timer behind)."""
    global _paused
    with _lock:
        _paused += 1
    try:
        yield
    finally:
        with _lock:
            _paused -= 1


def pending() -> int:
    """How many scheduled deliveries have not run yet."""
    with _lock:
        return len(_timers)


def cancel_pending() -> int:
    """Cancel every scheduled delivery that has not run yet; returns how many."""
    with _lock:
        timers = list(_timers)
        _timers.clear()
    for timer in timers:
        timer.cancel()
    return len(timers)


# -- moto lookups ------------------------------------------------------------------------------


def _moto_trail(trail_arn: str) -> Any | None:
    """The moto trail object of ``trail_arn`` (in its account and home region), or None."""
    from moto.cloudtrail.models import cloudtrail_backends

    account, region = arn_account(trail_arn), arn_region(trail_arn)
    if not account or not region:
        return None
    backend = cloudtrail_backends[account][region]
    trail = backend.trails.get(resource_id(trail_arn))
    return trail if trail is not None and trail.arn == trail_arn else None


def _current(trail: Any) -> bool:
    """Whether ``trail`` (a moto object) is still the one moto knows by its ARN (not deleted,
    not forgotten by a reset)."""
    try:
        return _moto_trail(trail.arn) is trail
    except Exception:  # pragma: no cover - moto's registry changed shape
        return False


def _all_trails() -> list[Any]:
    from moto.cloudtrail.models import cloudtrail_backends

    found = []
    for account in list(cloudtrail_backends.keys()):
        for region in list(cloudtrail_backends[account].keys()):
            found += list(cloudtrail_backends[account][region].trails.values())
    return found


def _bucket(name: str) -> Any | None:
    from moto.s3.models import s3_backends

    owner = s3_backends.bucket_accounts.get(name)
    if owner is None:
        return None
    partition, account = owner
    return s3_backends[account][partition].buckets.get(name)


def _key(trail: Any) -> Any | None:
    """The moto key the trail's ``KmsKeyId`` names (key ARN, alias ARN, key id or alias name;
    the last two in the trail's own account and home region), or None."""
    from moto.kms.models import kms_backends

    text = str(trail.kms_key_id or "")
    if text.startswith("arn:"):
        account, region = arn_account(text), arn_region(text)
    else:
        account, region = trail.account_id, trail.region_name
    if not account or not region:
        return None
    backend = kms_backends[account][region]
    try:
        key_id = backend.any_id_to_key_id(text)
    except Exception:
        return None
    return backend.keys.get(key_id) if key_id else None


def _organization_id(trail: Any) -> str | None:
    from moto.organizations.models import organizations_backends

    try:
        org = organizations_backends[trail.account_id][trail.partition].org
    except Exception:  # pragma: no cover - moto's registry changed shape
        return None
    return str(org.id) if org is not None else None


def _bucket_default(bucket: Any) -> tuple[str, str | None, bool]:
    """(SSEAlgorithm, KMSMasterKeyID, BucketKeyEnabled) of the bucket's default encryption;
    AES256 when it has none."""
    rule = (bucket.encryption or {}).get("Rule") or {}
    default = rule.get("ApplyServerSideEncryptionByDefault") or {}
    algorithm = str(default.get("SSEAlgorithm") or "AES256")
    key = default.get("KMSMasterKeyID")
    enabled = str(rule.get("BucketKeyEnabled", False)).lower() == "true"
    return algorithm, (str(key) if key else None), enabled


def _policy_text(bucket: Any) -> str | None:
    raw = bucket.policy
    if raw is None:
        return None
    return raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)


# -- the decision ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """What one delivery attempt did.

    Attributes
    ----------
    trail_arn, account
        The trail, and the account whose files were delivered (``AWSLogs/ACCOUNT/``).
    when
        The attempt's time (UTC).
    bucket
        The trail's bucket.
    log_key, digest_key
        The objects written (None: not written, or no digest expected).
    log_error, digest_error
        The delivery errors (``KMS.DisabledException``, ``AccessDenied``, ...), None on success.
    encryption, kms_key_id
        The encryption of what was (or would have been) written: ``aws:kms`` with the key ARN,
        or the bucket default.
    digest_expected
        Log file validation is on.
    """

    trail_arn: str
    account: str
    when: datetime
    bucket: str
    log_key: str | None = None
    digest_key: str | None = None
    log_error: str | None = None
    digest_error: str | None = None
    encryption: str | None = None
    kms_key_id: str | None = None
    digest_expected: bool = False

    @property
    def ok(self) -> bool:
        """Every expected file was written."""
        return self.log_error is None and self.digest_error is None


def _record(trail: Any, bucket: Any, key_arn: str | None) -> Trail:
    """trailkit's record of the moto trail, with the bucket facts the rules read."""
    algorithm, default_key, bucket_key = (
        _bucket_default(bucket) if bucket is not None else ("AES256", None, False)
    )
    info = BucketInfo(
        name=trail.bucket_name,
        region=bucket.region_name if bucket is not None else None,
        default_encryption=algorithm,
        default_kms_key=default_key,
        bucket_key=bucket_key,
        policy=_policy_text(bucket) if bucket is not None else None,
        missing=bucket is None,
    )
    return Trail(
        name=trail.trail_name,
        arn=trail.arn,
        home_region=trail.region_name,
        account=trail.account_id,
        multi_region=bool(trail.is_multi_region),
        organization=bool(trail.is_org_trail),
        bucket_name=trail.bucket_name,
        s3_prefix=trail.s3_key_prefix or None,
        kms_key_id=key_arn,
        log_file_validation=bool(trail.log_validation),
        bucket=info,
    )


def _key_error(trail: Any, bucket: Any, record: Trail, org: str | None) -> tuple[str | None, Any]:
    """The KMS error CloudTrail would meet with the trail's key (None: usable), and the key."""
    key = _key(trail)
    if key is None or key.region != bucket.region_name:
        return "KMS.NotFoundException", key  # missing, or not in the bucket's region
    if key.key_state == "Disabled":
        return "KMS.DisabledException", key
    if key.key_state != "Enabled":
        return "KMS.KMSInvalidStateException", key
    # moto keeps KeySpec/KeyUsage unset unless given at creation; AWS's defaults are
    # SYMMETRIC_DEFAULT and ENCRYPT_DECRYPT (KMS API reference, CreateKey).
    spec = key.key_spec or "SYMMETRIC_DEFAULT"
    usage = key.key_usage or "ENCRYPT_DECRYPT"
    if spec != "SYMMETRIC_DEFAULT" or usage != "ENCRYPT_DECRYPT":
        return "KMS.InvalidKeyUsageException", key
    parsed = pol.parse_policy(key.policy)
    if isinstance(parsed, str):  # unreadable: KMS would not have stored it; not judged
        return None, key
    _bucket_key, answers = cloudtrail_answers(record, key.arn, key.policy, parsed, org)
    for name in ("encrypt", "decrypt"):
        answer = answers.get(name)
        if answer is not None and answer.decision is pol.Decision.DENIED:
            return "KMS.AccessDeniedException", key
    return None, key


def _decide(trail: Any, account: str, when: datetime) -> tuple[Delivery, dict[str, str]]:
    """What a delivery now would do, without writing: the :class:`Delivery` and the object keys
    it would write (kind -> key)."""
    org = _organization_id(trail) if trail.is_org_trail else None
    bucket = _bucket(trail.bucket_name)
    base = Delivery(
        trail_arn=trail.arn,
        account=account,
        when=when,
        bucket=trail.bucket_name,
        digest_expected=bool(trail.log_validation),
    )
    if bucket is None:
        return _failed(base, "NoSuchBucket"), {}
    key_arn: str | None = None
    encryption, kms_key_id, _bucket_key = _bucket_default(bucket)
    if encryption == "AES256":
        kms_key_id = None
    if trail.kms_key_id:
        record = _record(trail, bucket, str(trail.kms_key_id))
        error, key = _key_error(trail, bucket, record, org)
        if key is not None:
            key_arn = str(key.arn)
        if error is not None:
            return _failed(base, error, "aws:kms", key_arn), {}
        encryption, kms_key_id = "aws:kms", key_arn
    record = _record(trail, bucket, key_arn)
    names = _object_keys(trail, account, org, when)
    policy = _policy_text(bucket)
    requests = delivery_requests(
        trail_arn=trail.arn,
        bucket_name=trail.bucket_name,
        source_account=account,
        key_arn=key_arn,
        prefix=record.s3_prefix,
        organization_id=org,
        digests=record.log_file_validation,
    )
    errors: dict[str, str] = {}
    for kind, request in requests.items():
        if policy is None:
            errors[kind] = "AccessDenied"  # no bucket policy: CloudTrail may write nothing
            continue
        answer = pol.evaluate(policy, request)
        if answer.decision is pol.Decision.DENIED:
            errors[kind] = "AccessDenied"
    made = replace(
        base,
        log_error=errors.get("log"),
        digest_error=errors.get("digest"),
        encryption=encryption,
        kms_key_id=kms_key_id,
    )
    return made, {kind: key for kind, key in names.items() if kind not in errors}


def _failed(
    base: Delivery, error: str, encryption: str | None = None, key: str | None = None
) -> Delivery:
    return replace(
        base,
        log_error=error,
        digest_error=error if base.digest_expected else None,
        encryption=encryption,
        kms_key_id=key,
    )


def _object_keys(trail: Any, account: str, org: str | None, when: datetime) -> dict[str, str]:
    region = trail.region_name
    prefix = str(trail.s3_key_prefix or "").strip("/")
    base = "/".join(p for p in (prefix, "AWSLogs", org or "", account) if p)
    day = when.strftime("%Y/%m/%d")
    suffix = "".join(secrets.choice(_ALNUM) for _i in range(16))
    names = {
        "log": (
            f"{base}/CloudTrail/{region}/{day}/"
            f"{account}_CloudTrail_{region}_{when.strftime('%Y%m%dT%H%MZ')}_{suffix}.json.gz"
        )
    }
    if trail.log_validation:
        names["digest"] = (
            f"{base}/CloudTrail-Digest/{region}/{day}/{account}_CloudTrail-Digest_{region}_"
            f"{trail.trail_name}_{region}_{when.strftime('%Y%m%dT%H%M%SZ')}.json.gz"
        )
    return names


def _body(trail: Any, account: str, kind: str, when: datetime, log_key: str | None) -> bytes:
    if kind == "log":
        document: dict[str, Any] = {"Records": []}
    else:
        document = {
            "awsAccountId": account,
            "digestStartTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "digestEndTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "digestS3Bucket": trail.bucket_name,
            "logFiles": [{"s3Bucket": trail.bucket_name, "s3Object": log_key}] if log_key else [],
        }
    return gzip.compress(json.dumps(document).encode("utf-8"), mtime=0)


# -- the status --------------------------------------------------------------------------------


def _epoch(when: datetime) -> float:
    return round(when.timestamp(), 3)


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _status_of(trail: Any, account: str) -> dict[str, Any]:
    """The status dictionary a delivery for ``account`` updates (created when missing)."""
    if account == trail.account_id:
        status: dict[str, Any] | None = trail.__dict__.get(_STATUS_ATTR)
        if status is None:
            previous = getattr(trail.status, "latest_delivery_time", None)
            status = {"LatestDeliveryTime": previous or None}
            trail.__dict__[_STATUS_ATTR] = status
        return status
    members: dict[str, dict[str, Any]] = trail.__dict__.setdefault(_MEMBER_ATTR, {})
    return members.setdefault(account, {})


def _update_status(trail: Any, made: Delivery) -> None:
    status = _status_of(trail, made.account)
    status["LatestDeliveryAttemptTime"] = _iso(made.when)
    if made.log_error is None:
        status["LatestDeliveryTime"] = _epoch(made.when)
        status["LatestDeliveryAttemptSucceeded"] = _iso(made.when)
        status["LatestDeliveryError"] = None
    else:
        status["LatestDeliveryError"] = made.log_error
    if made.digest_expected:
        if made.digest_error is None:
            status["LatestDigestDeliveryTime"] = _epoch(made.when)
            status["LatestDigestDeliveryError"] = None
        else:
            status["LatestDigestDeliveryError"] = made.digest_error


def status_overlay(trail: Any) -> dict[str, Any] | None:
    """The ``GetTrailStatus`` fields the simulation lays over moto's for the trail's own account
    (a field set to None is left out), or None before its first delivery (attempted or
    scheduled)."""
    status: dict[str, Any] | None = trail.__dict__.get(_STATUS_ATTR)
    return dict(status) if status is not None else None


# -- delivering --------------------------------------------------------------------------------


def _deliver_moto(trail: Any, account: str, when: datetime, *, write: bool = True) -> Delivery:
    from moto.s3.models import s3_backends

    with _lock:
        made, names = _decide(trail, account, when)
        if not write:
            return made
        written: dict[str, str] = {}
        bucket = _bucket(trail.bucket_name)
        if bucket is not None and names:
            partition, owner = s3_backends.bucket_accounts[trail.bucket_name]
            backend = s3_backends[owner][partition]
            for kind in ("log", "digest"):
                if kind not in names:
                    continue
                backend.put_object(
                    trail.bucket_name,
                    names[kind],
                    _body(trail, account, kind, when, written.get("log")),
                    encryption=made.encryption,
                    kms_key_id=made.kms_key_id,
                    disable_notification=True,
                )
                written[kind] = names[kind]
        made = replace(made, log_key=written.get("log"), digest_key=written.get("digest"))
        _update_status(trail, made)
        return made


def deliver(account: str, trail_arn: str, when: datetime | None = None) -> Delivery:
    """Deliver one log file (and digest file) of ``trail_arn`` for ``account`` now, as CloudTrail
    would, and update the trail's status (see the module docstring).

    Parameters
    ----------
    account
        The account whose files these are: the trail's own account, or (an organization trail)
        a member account of its organization (that member's status is updated).
    trail_arn
        The trail (moto in this process).
    when
        The delivery's time (UTC; default now): names the objects and sets
        ``LatestDeliveryTime``.

    Returns
    -------
    Delivery
        What was written, or the errors.

    Raises
    ------
    LookupError
        No such trail in this process's moto, or ``account`` is not the trail's and the trail
        is no organization trail.
    """
    trail = _moto_trail(trail_arn)
    if trail is None:
        raise LookupError(f"no trail {trail_arn} in this process's moto")
    if account != trail.account_id and not trail.is_org_trail:
        raise LookupError(f"{trail_arn} delivers only for its own account {trail.account_id}")
    return _deliver_moto(trail, account, when or datetime.now(UTC))


def would_deliver(trail_arn: str) -> Delivery:
    """What :func:`deliver` would do now for the trail's own account, without writing or
    changing its status.

    Raises
    ------
    LookupError
        No such trail in this process's moto.
    """
    trail = _moto_trail(trail_arn)
    if trail is None:
        raise LookupError(f"no trail {trail_arn} in this process's moto")
    return _deliver_moto(trail, trail.account_id, datetime.now(UTC), write=False)


def _attempt(trail: Any) -> None:
    """A scheduled delivery: only for a trail moto still knows that is still logging."""
    if not _current(trail) or not trail.status.is_logging:
        return
    try:
        _deliver_moto(trail, trail.account_id, datetime.now(UTC))
    except Exception:  # a simulation must never break the server's thread
        _log.exception("simulated delivery of %s failed", trail.arn)


def schedule(trail: Any, delay: float | None = None) -> None:
    """Deliver for a logging moto ``trail`` after ``delay`` seconds (default
    :func:`delivery_delay`; 0: now, synchronously). Nothing while :func:`paused`."""
    if _paused or not trail.status.is_logging:
        return
    seconds = delivery_delay() if delay is None else delay
    if seconds <= 0:
        _attempt(trail)
        return
    with _lock:
        _status_of(trail, trail.account_id)  # from now on GetTrailStatus tells the truth

        def run() -> None:
            with _lock:
                _timers.discard(timer)
            _attempt(trail)

        timer = threading.Timer(seconds, run)
        timer.daemon = True
        _timers.add(timer)
    timer.start()


def local_trails() -> list[Any]:
    """Every trail of this process's moto (moto objects; none when moto is not loaded)."""
    return _all_trails() if "moto" in sys.modules else []


def _deliver_all(trails: Iterable[Any], *, only_successful: bool) -> list[Delivery]:
    made = []
    for trail in trails:
        if not trail.status.is_logging:
            continue
        now = datetime.now(UTC)
        try:
            if only_successful and not _deliver_moto(trail, trail.account_id, now, write=False).ok:
                continue
            made.append(_deliver_moto(trail, trail.account_id, now))
        except Exception:  # pragma: no cover - one trail must not stop the others
            _log.exception("simulated delivery of %s failed", trail.arn)
    return made


def deliver_logging_trails(*, only_successful: bool = False) -> list[Delivery]:
    """Deliver now for every logging trail of this process's moto (its own account's files).

    Parameters
    ----------
    only_successful
        Deliver only where every file would be written (a trail whose delivery would fail keeps
        its status untouched).

    Returns
    -------
    list of Delivery
        One per trail delivered.
    """
    return _deliver_all(local_trails(), only_successful=only_successful)


def deliver_trails(
    arns: Iterable[str], *, only_successful: bool = False, skip: Sequence[Any] = ()
) -> list[Delivery]:
    """:func:`deliver_logging_trails` for the trails ``arns`` only (those this process's moto
    has and that are logging), leaving out the moto objects in ``skip`` (e.g. the trails that
    existed before a seeding: with moto in another process, the same ARNs in this process are
    other trails).

    Returns
    -------
    list of Delivery
        One per trail delivered.
    """
    if "moto" not in sys.modules:
        return []
    found = [_moto_trail(arn) for arn in arns]
    chosen = [t for t in found if t is not None and not any(t is old for old in skip)]
    return _deliver_all(chosen, only_successful=only_successful)


class PeriodicDelivery:
    """Delivers for every logging trail every ``interval`` seconds, in a daemon thread.

    Parameters
    ----------
    interval
        Seconds between two rounds (> 0).
    """

    def __init__(self, interval: float = DEFAULT_INTERVAL) -> None:
        if interval <= 0:
            raise ValueError("the delivery interval must be positive")
        self.interval = interval
        self.rounds = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """Whether the thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> PeriodicDelivery:
        """Start the thread (no-op when running); returns ``self``."""
        if self.running:
            return self
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, name="trailkit-demo-delivery", daemon=True
        )
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            if _paused:
                continue
            try:
                deliver_logging_trails()
            except Exception:  # pragma: no cover - keep delivering
                _log.exception("periodic simulated delivery failed")
            self.rounds += 1

    def stop(self) -> None:
        """Stop the thread and wait for it (no-op when stopped)."""
        thread, self._thread = self._thread, None
        self._stop.set()
        if thread is not None:
            thread.join(timeout=10)


# -- triggers ----------------------------------------------------------------------------------


def _seeding(response: Any) -> bool:
    """Whether the request carries :data:`SEEDING_HEADER` (the estate's seeding)."""
    headers = getattr(response, "headers", None) or {}
    try:
        return bool(headers.get(SEEDING_HEADER))
    except AttributeError:  # pragma: no cover - not a mapping
        return False


def _after(original: Callable[..., Any], then: Callable[[Any], None]) -> Callable[..., Any]:
    def wrapped(self: Any, *args: Any, **kwargs: Any) -> Any:
        answer = original(self, *args, **kwargs)
        if _seeding(self):
            return answer
        try:
            then(self)
        except Exception:  # the request itself succeeded: never fail it
            _log.exception("scheduling a simulated delivery failed")
        return answer

    wrapped.__name__ = getattr(original, "__name__", "wrapped")
    wrapped.__doc__ = getattr(original, "__doc__", None)
    return wrapped


def _trail_changed(response: Any) -> None:
    name = response._get_param("Name")
    trail = response.cloudtrail_backend.get_trail(name)
    schedule(trail)


def _key_changed(response: Any) -> None:
    backend = response.kms_backend
    key = backend.keys.get(backend.any_id_to_key_id(response._get_param("KeyId")))
    if key is None:
        return
    for trail in _all_trails():
        if trail.kms_key_id and trail.status.is_logging:
            used = _key(trail)
            if used is not None and used.arn == key.arn:
                schedule(trail)


def install() -> None:
    """Hook the triggers into moto's responses (idempotent; called by
    :func:`~trailkit.demo.patches.patch_moto`)."""
    global _installed
    with _lock:
        if _installed:
            return
        from moto.cloudtrail import responses as cloudtrail_responses
        from moto.kms import responses as kms_responses

        trail_cls: Any = cloudtrail_responses.CloudTrailResponse
        key_cls: Any = kms_responses.KmsResponse
        hooks = [
            (trail_cls, "create_trail", _trail_changed),
            (trail_cls, "update_trail", _trail_changed),
            (trail_cls, "start_logging", _trail_changed),
            (key_cls, "disable_key", _key_changed),
            (key_cls, "schedule_key_deletion", _key_changed),
            # ... and after what repairs a key: the next delivery shows the repair works.
            (key_cls, "enable_key", _key_changed),
            (key_cls, "cancel_key_deletion", _key_changed),
            (key_cls, "put_key_policy", _key_changed),
        ]
        if not all(hasattr(cls, name) for cls, name, _then in hooks):  # pragma: no cover
            _log.warning("moto's CloudTrail/KMS responses changed; the demo delivers no logs")
            _installed = True
            return
        for cls, name, then in hooks:
            setattr(cls, name, _after(getattr(cls, name), then))
        _installed = True
