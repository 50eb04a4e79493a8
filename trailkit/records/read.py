"""Frozen records of what the read layer saw: the connection, trails, buckets, keys, scan errors.

Raw AWS responses are converted once, here (``from_api``); everything downstream works on these
records. Bottom layer: no boto3, nothing from the layers above.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from trailkit.arn import arn_account, arn_partition, arn_region, resource_id, short_key_id
from trailkit.i18n import _
from trailkit.records.org import Account

__all__ = [
    "BucketInfo",
    "ConnectionInfo",
    "Inventory",
    "KeyInfo",
    "ScanError",
    "Trail",
    "TrailStatus",
]


@dataclass(frozen=True)
class ConnectionInfo:
    """Who and where: shown at the top of every view before anything is changed."""

    account: str
    caller_arn: str
    endpoint: str
    region: str
    demo: bool
    profile: str | None = None
    #: The role assumed to act in ``account`` (``arn:aws:iam::ACCOUNT:role/NAME``) when the
    #: connection is another account's, reached through a role (issue 16); None for the
    #: caller's own credentials.
    role_arn: str | None = None
    #: With ``role_arn``: the caller's own account, the one that assumed the role (recorded
    #: in the journal so that ``rollback --last`` offers only what was made from there).
    via_account: str | None = None

    @property
    def backend(self) -> str:
        """``"demo"`` for the local demo AWS, ``"aws"`` for real AWS."""
        return "demo" if self.demo else "aws"

    def header_parts(self) -> tuple[str, ...]:
        """The parts of :meth:`header`, most important first: backend, account, endpoint,
        region, caller (a narrow terminal starts a new line between two parts)."""
        kind = _("DEMO (local moto server)") if self.demo else _("REAL AWS")
        return (
            kind,
            _("account {account}").format(account=self.account),
            _("endpoint {endpoint}").format(endpoint=self.endpoint),
            _("region {region}").format(region=self.region),
            _("caller {caller}").format(caller=self.caller_arn),
        )

    def header(self) -> str:
        """One line for the top of a table or log."""
        return " · ".join(self.header_parts())

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (never contains credentials)."""
        return {
            "account": self.account,
            "caller_arn": self.caller_arn,
            "endpoint": self.endpoint,
            "region": self.region,
            "backend": self.backend,
            "profile": self.profile,
            "role_arn": self.role_arn,
        }


@dataclass(frozen=True)
class ScanError:
    """A region or call that failed during a scan: shown, never silently dropped."""

    operation: str
    code: str
    message: str
    region: str | None = None
    permission: str = ""
    resource: str | None = None
    #: The account the failed call was made in, on a scan of several accounts (``--org``,
    #: ``--accounts``); None on a scan of the caller's own account only.
    account: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "account": self.account,
            "region": self.region,
            "operation": self.operation,
            "code": self.code,
            "permission": self.permission,
            "resource": self.resource,
            "message": self.message,
        }


@dataclass(frozen=True)
class BucketInfo:
    """What matters about a trail's S3 bucket, and what could not be read.

    Parameters
    ----------
    name
        The bucket.
    region
        Its region (``HeadBucket``'s ``x-amz-bucket-region``, answered even with a 403, or
        ``GetBucketLocation``); None: unknown.
    default_encryption, default_kms_key
        The default encryption (``"AES256"``, ``"aws:kms"``, ``"aws:kms:dsse"``) and its key.
    bucket_key
        Whether the default encryption uses an S3 Bucket Key; None: unknown
        (``GetBucketEncryption`` could not be read).
    policy
        The bucket policy JSON; None with ``policy_error`` None: the bucket has no policy.
    error
        Every read failure, joined (for display).
    missing
        S3 answered that the bucket does not exist (``NoSuchBucket``).
    encryption_error, policy_error
        Why the default encryption or the bucket policy could not be read (None: read).
    owner_account
        The account that owns the bucket, when known (the caller's account lists it with
        ``ListBuckets``); None: unknown.
    """

    name: str
    region: str | None
    default_encryption: str | None = None
    default_kms_key: str | None = None
    bucket_key: bool | None = False
    policy: str | None = None
    error: str | None = None
    missing: bool = False
    encryption_error: str | None = None
    policy_error: str | None = None
    owner_account: str | None = None


@dataclass(frozen=True)
class TrailStatus:
    """The part of ``GetTrailStatus`` an operator needs after a change."""

    is_logging: bool | None = None
    latest_delivery_error: str | None = None
    latest_digest_delivery_error: str | None = None
    latest_delivery_time: datetime | None = None
    latest_digest_delivery_time: datetime | None = None
    error: str | None = None
    latest_delivery_attempt_time: datetime | None = None
    latest_delivery_attempt_succeeded: datetime | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> TrailStatus:
        """From a ``GetTrailStatus`` response.

        ``LatestDeliveryAttemptTime`` and ``LatestDeliveryAttemptSucceeded`` are ISO text that
        the API model says is "no longer in use"; CloudTrail may still send them (then an attempt
        later than the last success is when the latest error happened), so they are read when
        they parse as times and ignored otherwise.
        """
        return cls(
            is_logging=data.get("IsLogging"),
            latest_delivery_error=data.get("LatestDeliveryError") or None,
            latest_digest_delivery_error=data.get("LatestDigestDeliveryError") or None,
            latest_delivery_time=data.get("LatestDeliveryTime"),
            latest_digest_delivery_time=data.get("LatestDigestDeliveryTime"),
            latest_delivery_attempt_time=_iso_time(data.get("LatestDeliveryAttemptTime")),
            latest_delivery_attempt_succeeded=_iso_time(data.get("LatestDeliveryAttemptSucceeded")),
        )


def _iso_time(value: Any) -> datetime | None:
    """A time from the ISO text of a deprecated ``GetTrailStatus`` field (``...Z`` is UTC); None
    when absent, empty or not a time."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        when = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Trail:
    """One trail, counted once however many regions show a shadow copy of it."""

    name: str
    arn: str
    home_region: str
    account: str
    multi_region: bool
    organization: bool
    bucket_name: str
    s3_prefix: str | None
    kms_key_id: str | None
    log_file_validation: bool
    seen_in: tuple[str, ...] = ()
    status: TrailStatus | None = None
    bucket: BucketInfo | None = None
    #: The trail's tags (``cloudtrail:ListTags``) as (key, value) pairs in AWS's order; None:
    #: not read (then ``tags_error`` says why when a read was refused).
    tags: tuple[tuple[str, str], ...] | None = None
    tags_error: str | None = None

    @property
    def tag_map(self) -> dict[str, str]:
        """The tags as a dict (empty when they were not read)."""
        return dict(self.tags or ())

    @property
    def encryption(self) -> str:
        """``"SSE-KMS"`` when the trail names a key, else ``"SSE-S3"``."""
        return "SSE-KMS" if self.kms_key_id else "SSE-S3"

    @property
    def partition(self) -> str:
        """The ARN partition (``aws``, ``aws-cn``, ...)."""
        return arn_partition(self.arn) or "aws"

    @property
    def bucket_region(self) -> str | None:
        """Region of the log bucket, when it could be read."""
        return self.bucket.region if self.bucket else None

    @classmethod
    def from_api(cls, data: Mapping[str, Any], seen_in: str = "") -> Trail:
        """From one ``DescribeTrails`` entry."""
        arn = str(data["TrailARN"])
        return cls(
            name=str(data.get("Name") or resource_id(arn)),
            arn=arn,
            home_region=str(data.get("HomeRegion") or arn_region(arn)),
            account=arn_account(arn),
            multi_region=bool(data.get("IsMultiRegionTrail", False)),
            organization=bool(data.get("IsOrganizationTrail", False)),
            bucket_name=str(data.get("S3BucketName") or ""),
            s3_prefix=data.get("S3KeyPrefix") or None,
            # moto returns "" after a disable; real AWS leaves the field out.
            kms_key_id=data.get("KmsKeyId") or None,
            log_file_validation=bool(data.get("LogFileValidationEnabled", False)),
            seen_in=(seen_in,) if seen_in else (),
        )


@dataclass(frozen=True)
class KeyInfo:
    """A KMS key with what the checks need; ``error`` set when it could not be described."""

    arn: str
    key_id: str
    account: str
    region: str
    aliases: tuple[str, ...] = ()
    state: str | None = None
    key_spec: str | None = None
    key_usage: str | None = None
    manager: str | None = None
    multi_region: bool = False
    multi_region_role: str | None = None  # "PRIMARY" or "REPLICA"
    primary_arn: str | None = None
    replica_arns: tuple[str, ...] = ()
    description: str = ""
    policy: str | None = None
    policy_error: str | None = None
    error: str | None = None
    #: ``Origin`` (``AWS_KMS``, ``EXTERNAL``, ``AWS_CLOUDHSM``, ``EXTERNAL_KEY_STORE``).
    origin: str | None = None
    #: ``CreationDate`` and ``DeletionDate`` (the latter only for a key pending deletion), UTC.
    created: datetime | None = None
    deletion_date: datetime | None = None
    #: Automatic rotation (``GetKeyRotationStatus``): True/False; None when not read (keys not
    #: in use by a trail, AWS managed keys, keys pending deletion) or when it could not be read
    #: (then ``rotation_error`` says why and names the permission).
    rotation: bool | None = None
    rotation_error: str | None = None
    #: ``DescribeKey`` answered that the key does not exist (deleted, or never was): set only
    #: with ``error``.
    missing: bool = False
    #: The key's tags (``kms:ListResourceTags``) as (key, value) pairs; None: not read (read
    #: only for keys of the account being read that a trail uses or a check names), then
    #: ``tags_error`` says why when the read failed.
    tags: tuple[tuple[str, str], ...] | None = None
    tags_error: str | None = None

    @property
    def tag_map(self) -> dict[str, str]:
        """The tags as a dict (empty when they were not read)."""
        return dict(self.tags or ())

    # A key's names, computed here once for every view.
    @property
    def alias(self) -> str | None:
        """The key's first alias name (``alias/...``), or None when it has none."""
        return self.aliases[0] if self.aliases else None

    @property
    def short_id(self) -> str:
        """The first 8 characters of the key id (``mrk-`` ids keep their prefix)."""
        return short_key_id(self.key_id)

    @property
    def label(self) -> str:
        """Alias, else the short id: for sorting and compact lists."""
        return self.alias or self.short_id

    @property
    def display_name(self) -> str:
        """``alias (short id)``, or ``(no alias) (short id)``: for dropdowns and plans."""
        if self.alias is None:
            return _("(no alias) ({short_id})").format(short_id=self.short_id)
        return f"{self.alias} ({self.short_id})"

    @property
    def confirm_name(self) -> str:
        """What an operator types to confirm a change of this key: its alias, else its id."""
        return self.alias or self.key_id

    @classmethod
    def from_api(
        cls,
        meta: Mapping[str, Any],
        aliases: tuple[str, ...] = (),
        policy: str | None = None,
        policy_error: str | None = None,
    ) -> KeyInfo:
        """From ``DescribeKey``'s ``KeyMetadata``."""
        arn = str(meta["Arn"])
        mrc = meta.get("MultiRegionConfiguration") or {}
        primary = (mrc.get("PrimaryKey") or {}).get("Arn")
        replicas = tuple(str(r.get("Arn")) for r in mrc.get("ReplicaKeys") or [] if r.get("Arn"))
        spec = meta.get("KeySpec") or meta.get("CustomerMasterKeySpec")
        return cls(
            arn=arn,
            key_id=str(meta.get("KeyId") or resource_id(arn)),
            account=str(meta.get("AWSAccountId") or arn_account(arn)),
            region=arn_region(arn),
            aliases=aliases,
            state=meta.get("KeyState"),
            key_spec=spec,
            # moto leaves KeyUsage out when it was not given at creation; AWS always sends it.
            key_usage=meta.get("KeyUsage"),
            manager=meta.get("KeyManager"),
            multi_region=bool(meta.get("MultiRegion", False)),
            multi_region_role=mrc.get("MultiRegionKeyType"),
            primary_arn=primary,
            replica_arns=replicas,
            description=str(meta.get("Description") or ""),
            policy=policy,
            policy_error=policy_error,
            origin=meta.get("Origin"),
            created=_utc(meta.get("CreationDate")),
            deletion_date=_utc(meta.get("DeletionDate")),
        )


def utc_iso(when: datetime | None) -> str | None:
    """A time as JSON and the journal keep it: UTC ISO text (``2026-12-05T11:55:00Z``); a naive
    time is UTC; None stays None. (A time shown to a person is :func:`trailkit.i18n.local_time`.)
    """
    if when is None:
        return None
    aware = when if when.tzinfo else when.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _utc(value: Any) -> datetime | None:
    """A time of an API response (botocore gives datetimes; a number is epoch seconds) in UTC."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    return None


@dataclass(frozen=True)
class Inventory:
    """The result of a scan: trails, the keys they use, and every error met on the way."""

    connection: ConnectionInfo
    regions: tuple[str, ...]
    trails: tuple[Trail, ...]
    keys: Mapping[str, KeyInfo] = field(default_factory=lambda: MappingProxyType({}))
    errors: tuple[ScanError, ...] = ()
    calls: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    #: The accounts a scan of several accounts looked at (``--org``, ``--accounts``), in the
    #: order asked; empty for a scan of the caller's account only. An account whose role could
    #: not be assumed is here too, and its reason is an error (``ScanError.account``).
    accounts: tuple[Account, ...] = ()
    #: Organization trail ARN -> member account id -> the trail's status read in that member
    #: account (``GetTrailStatus`` there: delivery errors of a member show only in the member,
    #: https://docs.aws.amazon.com/awscloudtrail/latest/userguide/creating-trail-organization.html).
    member_status: Mapping[str, Mapping[str, TrailStatus]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    #: Account id -> name of every account the organization's listing named (``--org``), those
    #: left out of the scan too (``--exclude-accounts``): an organization trail of an excluded
    #: management account is still listed by its members, under its name.
    account_names: Mapping[str, str | None] = field(default_factory=lambda: MappingProxyType({}))

    def account_name(self, account_id: str) -> str | None:
        """The name of ``account_id`` when the scan knows it (Organizations' account name)."""
        for account in self.accounts:
            if account.account_id == account_id and account.name:
                return account.name
        return self.account_names.get(account_id)

    @property
    def partial(self) -> bool:
        """True when some region or call failed, so the result may be incomplete."""
        return bool(self.errors)

    def trail(self, name_or_arn: str) -> Trail | None:
        """The trail with that ARN, or the only trail with that name."""
        for t in self.trails:
            if t.arn == name_or_arn:
                return t
        named = [t for t in self.trails if t.name == name_or_arn]
        return named[0] if len(named) == 1 else None

    def key_for(self, trail: Trail) -> KeyInfo | None:
        """The key a trail uses, when it uses one and it was described."""
        return self.keys.get(trail.kms_key_id) if trail.kms_key_id else None
