"""The read layer: the only place that lists and describes AWS resources.

Every function declares the IAM actions it needs (:func:`trailkit.permissions.requires`) and turns
raw responses into the records of :mod:`trailkit.models`. Calls that do not depend on each other
run concurrently on a bounded thread pool; a region or call that fails becomes a
:class:`~trailkit.models.ScanError` that is shown, never a crash and never a silently smaller
table.

A :class:`Reader` keeps what it has read (aliases per region, keys, buckets, candidate keys per
region) for the life of a notebook session; :meth:`Reader.refresh` forgets it.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from types import MappingProxyType
from typing import Any, TypeVar

import botocore.exceptions

from trailkit.checks import KeyLookup
from trailkit.errors import AccessDenied, AwsError, InputError, NotFound, TrailkitError, translate
from trailkit.keyids import KeyRef
from trailkit.models import (
    BucketInfo,
    Inventory,
    KeyInfo,
    ScanError,
    Trail,
    TrailStatus,
    arn_account,
    arn_region,
)
from trailkit.permissions import requires
from trailkit.session import Connection

__all__ = ["Reader", "list_regions", "scan"]

T = TypeVar("T")
_BOTO_ERRORS = (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError)


def _aws(
    conn: Connection,
    service: str,
    region: str | None,
    method: str,
    operation: str,
    permission: str,
    **kwargs: Any,
) -> Any:
    """Call one AWS operation and translate its failure."""
    try:
        return getattr(conn.client(service, region), method)(**kwargs)
    except _BOTO_ERRORS as exc:
        raise translate(exc, operation, permission=permission, region=region) from None


def _paginate(
    conn: Connection,
    service: str,
    region: str,
    method: str,
    operation: str,
    permission: str,
    result_key: str,
    **kwargs: Any,
) -> list[dict[str, Any]]:
    """Every item of a paginated list call."""
    items: list[dict[str, Any]] = []
    try:
        paginator = conn.client(service, region).get_paginator(method)
        for page in paginator.paginate(**kwargs):
            items.extend(page.get(result_key) or [])
    except _BOTO_ERRORS as exc:
        raise translate(exc, operation, permission=permission, region=region) from None
    return items


def _scan_error(
    err: TrailkitError, *, region: str | None, resource: str | None = None
) -> ScanError:
    if isinstance(err, AwsError):
        return ScanError(
            operation=err.operation,
            code=err.code,
            message=str(err),
            region=region,
            permission=getattr(err, "permission", ""),
            resource=resource,
        )
    return ScanError(operation="", code=type(err).__name__, message=str(err), region=region)


@requires("ec2:DescribeRegions")
def list_regions(conn: Connection) -> list[str]:
    """The regions enabled for the account (``ec2:DescribeRegions``).

    Raises
    ------
    TrailkitError
        When the regions cannot be listed; the message suggests ``--regions``.
    """
    try:
        data = _aws(
            conn, "ec2", conn.region, "describe_regions", "DescribeRegions", "ec2:DescribeRegions"
        )
    except AccessDenied as err:
        err.fix = "grant ec2:DescribeRegions or name the regions with --regions"
        raise
    regions = [
        str(r["RegionName"])
        for r in data.get("Regions") or []
        if r.get("OptInStatus", "opt-in-not-required") in ("opt-in-not-required", "opted-in")
    ]
    return sorted(regions)


class Reader:
    """Reads trails, buckets and keys through one connection, caching what it has read.

    Parameters
    ----------
    conn
        The connection (from :func:`trailkit.session.connect`).
    workers
        Concurrent calls; defaults to ``conn.workers``. ``1`` reads strictly one call at a time.
    """

    def __init__(self, conn: Connection, *, workers: int | None = None) -> None:
        self.conn = conn
        self.workers = workers or conn.workers
        self._lock = threading.Lock()
        self._aliases: dict[str, dict[str, tuple[str, ...]]] = {}
        self._keys: dict[str, KeyInfo] = {}
        self._buckets: dict[str, BucketInfo] = {}
        self._candidates: dict[str, tuple[KeyInfo, ...]] = {}
        self.errors: list[ScanError] = []

    def refresh(self) -> None:
        """Forget everything read so far (the next call reads AWS again)."""
        with self._lock:
            self._aliases.clear()
            self._keys.clear()
            self._buckets.clear()
            self._candidates.clear()
            self.errors.clear()

    # -- helpers -------------------------------------------------------------------------
    def _map(self, func: Callable[[T], Any], items: Sequence[T], progress: Any = None) -> list[Any]:
        """``func`` over ``items`` on the bounded pool, results in input order."""
        if not items:
            return []
        if self.workers == 1 or len(items) == 1:
            out = []
            for item in items:
                out.append(func(item))
                if progress is not None:
                    progress.update(1)
            return out
        with ThreadPoolExecutor(max_workers=min(self.workers, len(items))) as pool:
            futures = [pool.submit(func, item) for item in items]
            results = []
            for fut in futures:
                results.append(fut.result())
                if progress is not None:
                    progress.update(1)
            return results

    # -- trails --------------------------------------------------------------------------
    @requires("cloudtrail:DescribeTrails")
    def trails_in(self, region: str) -> list[Trail]:
        """Every trail visible in ``region``, shadow copies included (``DescribeTrails``)."""
        data = _aws(
            self.conn,
            "cloudtrail",
            region,
            "describe_trails",
            "DescribeTrails",
            "cloudtrail:DescribeTrails",
            includeShadowTrails=True,
        )
        return [Trail.from_api(t, seen_in=region) for t in data.get("trailList") or []]

    @requires("cloudtrail:GetTrailStatus")
    def status(self, trail: Trail) -> TrailStatus:
        """Logging state and the latest delivery errors, read in the trail's home region."""
        try:
            data = _aws(
                self.conn,
                "cloudtrail",
                trail.home_region,
                "get_trail_status",
                "GetTrailStatus",
                "cloudtrail:GetTrailStatus",
                Name=trail.arn,
            )
        except TrailkitError as err:
            self._note(_scan_error(err, region=trail.home_region, resource=trail.arn))
            return TrailStatus(error=str(err))
        return TrailStatus.from_api(data)

    @requires("cloudtrail:GetTrail", "cloudtrail:DescribeTrails")
    def find_trail(self, name_or_arn: str, regions: Sequence[str] | None = None) -> Trail:
        """The one trail with that ARN or name, with its status and bucket facts.

        A name is looked up in the connection's region first, then in every region.

        Raises
        ------
        InputError
            The text cannot be a trail name or ARN, or several trails share the name.
        NotFound
            No visible trail has that name or ARN.
        """
        text = name_or_arn.strip()
        if not text or len(text) > 2048 or any(c.isspace() for c in text):
            raise InputError(
                f"{text[:60]!r} is not a trail name or ARN.",
                "give a trail name (e.g. org-trail) or trail ARN "
                "(arn:aws:cloudtrail:REGION:ACCOUNT:trail/NAME)",
            )
        if text.startswith("arn:"):
            parts = text.split(":", 5)
            if len(parts) != 6 or parts[2] != "cloudtrail" or not parts[5].startswith("trail/"):
                raise InputError(
                    f"{text[:80]!r} is not a trail ARN.",
                    "a trail ARN looks like arn:aws:cloudtrail:REGION:ACCOUNT:trail/NAME",
                )
            candidates = self._lookup(text, parts[3])
            found = [t for t in candidates if t.arn == text]
        else:
            found = [t for t in self._lookup(text, self.conn.region) if t.name == text]
            if not found:
                everywhere = self.scan_trails(regions)[0]
                found = [t for t in everywhere if t.name == text]
        if not found:
            raise NotFound(
                f"No trail named {text!r} is visible to this caller.",
                "list trails with `trailkit inventory`; use the trail ARN for trails of "
                "other regions or accounts",
                code="TrailNotFound",
            )
        unique = {t.arn: t for t in found}
        if len(unique) > 1:
            arns = ", ".join(sorted(unique))
            raise InputError(
                f"Several trails are named {text!r}: {arns}.", "give the trail ARN instead"
            )
        return self.enrich([next(iter(unique.values()))])[0]

    def _lookup(self, name: str, region: str) -> list[Trail]:
        try:
            data = _aws(
                self.conn,
                "cloudtrail",
                region,
                "get_trail",
                "GetTrail",
                "cloudtrail:GetTrail",
                Name=name,
            )
        except NotFound:
            return []
        except AwsError as err:
            if err.code in ("TrailNotFoundException", "InvalidTrailNameException"):
                return []
            raise
        trail = data.get("Trail")
        return [Trail.from_api(trail, seen_in=region)] if trail else []

    def scan_trails(
        self, regions: Sequence[str] | None = None, progress: Any = None
    ) -> tuple[list[Trail], list[ScanError], list[str]]:
        """Trails of every region, deduplicated by ARN; failed regions become errors."""
        errors: list[ScanError] = []
        if regions is None:
            regions = list_regions(self.conn)
        regions = list(dict.fromkeys(regions))

        def one(region: str) -> list[Trail] | ScanError:
            try:
                return self.trails_in(region)
            except TrailkitError as err:
                return _scan_error(err, region=region)

        by_arn: dict[str, Trail] = {}
        for region, result in zip(regions, self._map(one, regions, progress), strict=True):
            if isinstance(result, ScanError):
                errors.append(result)
                continue
            for trail in result:
                seen = by_arn.get(trail.arn)
                if seen is None:
                    by_arn[trail.arn] = trail
                else:
                    by_arn[trail.arn] = replace(seen, seen_in=(*seen.seen_in, region))
        trails = sorted(by_arn.values(), key=lambda t: (t.account, t.home_region, t.name))
        return trails, errors, regions

    def enrich(self, trails: Sequence[Trail], progress: Any = None) -> list[Trail]:
        """Add status and bucket facts (each bucket read once) to each trail."""
        buckets = sorted({t.bucket_name for t in trails if t.bucket_name})
        tasks: list[tuple[str, Any]] = [("bucket", b) for b in buckets]
        tasks += [("status", t) for t in trails]

        def run(task: tuple[str, Any]) -> Any:
            kind, item = task
            return self.bucket(item) if kind == "bucket" else self.status(item)

        results = self._map(run, tasks, progress)
        facts = {b: r for (k, b), r in zip(tasks, results, strict=True) if k == "bucket"}
        statuses = [r for (k, _), r in zip(tasks, results, strict=True) if k == "status"]
        return [
            replace(t, status=s, bucket=facts.get(t.bucket_name))
            for t, s in zip(trails, statuses, strict=True)
        ]

    # -- buckets -------------------------------------------------------------------------
    @requires("s3:GetBucketLocation", "s3:GetEncryptionConfiguration", "s3:GetBucketPolicy")
    def bucket(self, name: str) -> BucketInfo:
        """Region, default encryption (Bucket Key) and policy of a bucket; read once."""
        with self._lock:
            cached = self._buckets.get(name)
        if cached is not None:
            return cached
        info = self._read_bucket(name)
        with self._lock:
            self._buckets[name] = info
        return info

    def _read_bucket(self, name: str) -> BucketInfo:
        try:
            loc = _aws(
                self.conn,
                "s3",
                "us-east-1",
                "get_bucket_location",
                "GetBucketLocation",
                "s3:GetBucketLocation",
                Bucket=name,
            )
        except TrailkitError as err:
            self._note(_scan_error(err, region=None, resource=f"s3://{name}"))
            return BucketInfo(name=name, region=None, error=str(err))
        constraint = loc.get("LocationConstraint")
        region = {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(constraint, constraint)
        encryption: str | None = None
        kms_key: str | None = None
        bucket_key = False
        errors: list[str] = []
        try:
            enc = _aws(
                self.conn,
                "s3",
                region,
                "get_bucket_encryption",
                "GetBucketEncryption",
                "s3:GetEncryptionConfiguration",
                Bucket=name,
            )
            rules = (enc.get("ServerSideEncryptionConfiguration") or {}).get("Rules") or []
            for rule in rules:
                default = rule.get("ApplyServerSideEncryptionByDefault") or {}
                encryption = default.get("SSEAlgorithm") or encryption
                kms_key = default.get("KMSMasterKeyID") or kms_key
                bucket_key = bucket_key or bool(rule.get("BucketKeyEnabled"))
        except AwsError as err:
            if err.code == "ServerSideEncryptionConfigurationNotFoundError":
                encryption = "AES256"  # S3's default since 2023 (moto answers 404 instead)
            else:
                errors.append(str(err))
                self._note(_scan_error(err, region=region, resource=f"s3://{name}"))
        policy: str | None = None
        try:
            pol = _aws(
                self.conn,
                "s3",
                region,
                "get_bucket_policy",
                "GetBucketPolicy",
                "s3:GetBucketPolicy",
                Bucket=name,
            )
            policy = pol.get("Policy")
        except AwsError as err:
            if err.code != "NoSuchBucketPolicy":
                errors.append(str(err))
                self._note(_scan_error(err, region=region, resource=f"s3://{name}"))
        return BucketInfo(
            name=name,
            region=region,
            default_encryption=encryption,
            default_kms_key=kms_key,
            bucket_key=bucket_key,
            policy=policy,
            error="; ".join(errors) or None,
        )

    # -- keys ----------------------------------------------------------------------------
    @requires("kms:ListAliases")
    def aliases(self, region: str) -> dict[str, tuple[str, ...]]:
        """Key id -> alias names in ``region`` of the caller's account; read once per region."""
        with self._lock:
            cached = self._aliases.get(region)
        if cached is not None:
            return cached
        items = _paginate(
            self.conn,
            "kms",
            region,
            "list_aliases",
            "ListAliases",
            "kms:ListAliases",
            "Aliases",
        )
        by_key: dict[str, list[str]] = {}
        for item in items:
            target = item.get("TargetKeyId")
            if target:
                by_key.setdefault(str(target), []).append(str(item["AliasName"]))
        result = {k: tuple(sorted(v)) for k, v in by_key.items()}
        with self._lock:
            self._aliases[region] = result
        return result

    @requires("kms:ListAliases")
    def alias_target(self, alias: str, region: str) -> str | None:
        """The key id an alias name points to in ``region`` (None when there is no such alias)."""
        for key_id, names in self.aliases(region).items():
            if alias in names:
                return key_id
        return None

    @requires("kms:DescribeKey", "kms:GetKeyPolicy", "kms:ListAliases")
    def key(self, key: str, region: str | None = None, *, with_policy: bool = True) -> KeyInfo:
        """Describe one key (ARN, or id/alias in ``region``) with its aliases and policy.

        A key of another account is described by ARN; its policy and aliases cannot be read
        from here and ``policy_error`` says so.

        Raises
        ------
        NotFound
            No such key (``KmsKeyNotFound``-like).
        TrailkitError
            Any other failure of ``DescribeKey``.
        """
        where = arn_region(key) if key.startswith("arn:") else (region or self.conn.region)
        cache_key = key if key.startswith("arn:") else f"{where}|{key}"
        with self._lock:
            cached = self._keys.get(cache_key)
        if cached is not None and (
            cached.policy is not None or cached.policy_error is not None or not with_policy
        ):
            return cached
        data = _aws(
            self.conn, "kms", where, "describe_key", "DescribeKey", "kms:DescribeKey", KeyId=key
        )
        info = self._complete(data["KeyMetadata"], with_policy=with_policy)
        with self._lock:
            self._keys[cache_key] = info
        return info

    def _complete(self, meta: dict[str, Any], *, with_policy: bool) -> KeyInfo:
        arn = str(meta["Arn"])
        region = arn_region(arn)
        own = arn_account(arn) == self.conn.account
        aliases: tuple[str, ...] = ()
        policy: str | None = None
        policy_error: str | None = None
        if own:
            try:
                aliases = self.aliases(region).get(str(meta["KeyId"]), ())
            except TrailkitError as err:
                self._note(_scan_error(err, region=region, resource=arn))
            if with_policy:
                policy, policy_error = self._policy(arn, region)
        else:
            policy_error = (
                f"the key belongs to account {arn_account(arn)}; its key policy can only be "
                "read from that account"
            )
        info = KeyInfo.from_api(meta, aliases=aliases, policy=policy, policy_error=policy_error)
        with self._lock:
            self._keys[arn] = info
        return info

    @requires("kms:GetKeyPolicy")
    def _policy(self, arn: str, region: str) -> tuple[str | None, str | None]:
        try:
            data = _aws(
                self.conn,
                "kms",
                region,
                "get_key_policy",
                "GetKeyPolicy",
                "kms:GetKeyPolicy",
                KeyId=arn,
                PolicyName="default",
            )
        except TrailkitError as err:
            self._note(_scan_error(err, region=region, resource=arn))
            return None, str(err)
        return data.get("Policy"), None

    def keys(self, key_arns: Iterable[str], progress: Any = None) -> dict[str, KeyInfo]:
        """Describe several keys concurrently; a key that fails is returned with ``error``."""
        arns = sorted(set(key_arns))

        def one(arn: str) -> KeyInfo:
            try:
                return self.key(arn)
            except TrailkitError as err:
                self._note(_scan_error(err, region=arn_region(arn), resource=arn))
                key_id = arn.rsplit("/", 1)[-1]
                return KeyInfo(
                    arn=arn,
                    key_id=key_id,
                    account=arn_account(arn),
                    region=arn_region(arn),
                    error=str(err),
                    policy_error=str(err),
                )

        return dict(zip(arns, self._map(one, arns, progress), strict=True))

    @requires("kms:ListKeys", "kms:ListAliases", "kms:DescribeKey", "kms:GetKeyPolicy")
    def candidate_keys(self, region: str, *, progress: Any = None) -> tuple[KeyInfo, ...]:
        """Every customer key of ``region`` with aliases and metadata (cached per region).

        Policies are read only for keys that pass the cheap filters (customer managed,
        Enabled, symmetric encryption): the others are blocked whatever their policy says.
        """
        with self._lock:
            cached = self._candidates.get(region)
        if cached is not None:
            return cached
        listed = _paginate(
            self.conn, "kms", region, "list_keys", "ListKeys", "kms:ListKeys", "Keys"
        )
        self.aliases(region)

        def describe(item: dict[str, Any]) -> KeyInfo | None:
            arn = str(item.get("KeyArn") or item["KeyId"])
            try:
                data = _aws(
                    self.conn,
                    "kms",
                    region,
                    "describe_key",
                    "DescribeKey",
                    "kms:DescribeKey",
                    KeyId=arn,
                )
            except TrailkitError as err:
                self._note(_scan_error(err, region=region, resource=arn))
                return None
            meta = data["KeyMetadata"]
            usable = (
                meta.get("KeyManager", "CUSTOMER") == "CUSTOMER"
                and meta.get("KeyState") == "Enabled"
                and (meta.get("KeySpec") or "SYMMETRIC_DEFAULT") == "SYMMETRIC_DEFAULT"
                and meta.get("KeyUsage", "ENCRYPT_DECRYPT") == "ENCRYPT_DECRYPT"
            )
            if meta.get("KeyManager") == "AWS":
                return None
            return self._complete(meta, with_policy=usable)

        found = [k for k in self._map(describe, listed, progress) if k is not None]
        result = tuple(sorted(found, key=lambda k: (k.label.lower(), k.arn)))
        with self._lock:
            self._candidates[region] = result
        return result

    @requires("kms:DescribeKey", "kms:GetKeyPolicy", "kms:ListAliases")
    def lookup_key(self, ref: KeyRef, trail: Trail) -> KeyLookup:
        """Resolve a parsed identifier the way CloudTrail would for ``trail``.

        Bare ids and alias names resolve in the caller's account and the trail's home region
        (where ``UpdateTrail`` is sent); ARNs in their own account and region. A key of another
        account is described by ARN, and its policy is reported as unreadable.
        """
        if ref.is_disable:
            return KeyLookup(ref=ref)
        caller = self.conn.account
        if ref.is_arn:
            account, region = str(ref.account), str(ref.region)
            ident = str(ref.arn())
        else:
            account, region = caller, trail.home_region
            ident = ref.canonical
        try:
            key = self.key(ident, region)
        except NotFound as err:
            problem = "not-found" if account == caller else "unreadable"
            elsewhere = self._elsewhere(ref, trail)
            return KeyLookup(
                ref=ref,
                problem=problem,
                message=err.message,
                resolved_in=(account, region),
                elsewhere=elsewhere,
            )
        except AwsError as err:
            if err.code in ("NotFoundException", "KMSInvalidStateException") or (
                account == caller and not isinstance(err, AccessDenied)
            ):
                raise
            return KeyLookup(
                ref=ref, problem="unreadable", message=err.message, resolved_in=(account, region)
            )
        elsewhere = None
        if not ref.is_arn and key.region != trail.bucket_region:
            elsewhere = self._elsewhere(ref, trail)
        return KeyLookup(ref=ref, key=key, resolved_in=(account, region), elsewhere=elsewhere)

    def _elsewhere(self, ref: KeyRef, trail: Trail) -> KeyInfo | None:
        """The same bare identifier in the bucket's region, to suggest its ARN."""
        bucket_region = trail.bucket_region
        if ref.is_arn or not bucket_region or bucket_region == trail.home_region:
            return None
        try:
            return self.key(ref.canonical, bucket_region)
        except TrailkitError:
            return None

    def _note(self, error: ScanError) -> None:
        with self._lock:
            self.errors.append(error)

    # -- whole account -------------------------------------------------------------------
    def scan(self, regions: Sequence[str] | None = None, *, progress: Any = None) -> Inventory:
        """Trails of every region with status, bucket facts and the keys they use."""
        info = self.conn.info()
        self.errors.clear()
        trails, errors, scanned = self.scan_trails(regions, progress)
        trails = self.enrich(trails, progress)
        keys = self.keys((t.kms_key_id for t in trails if t.kms_key_id), progress)
        all_errors = tuple(errors) + tuple(self.errors)
        return Inventory(
            connection=info,
            regions=tuple(scanned),
            trails=tuple(trails),
            keys=MappingProxyType(keys),
            errors=all_errors,
            calls=MappingProxyType(dict(self.conn.calls)),
        )


def scan(
    conn: Connection,
    regions: Sequence[str] | None = None,
    *,
    workers: int | None = None,
    progress: bool | str = False,
) -> Inventory:
    """Inventory every trail of the account and the keys they use.

    Parameters
    ----------
    conn
        The connection.
    regions
        Limit the scan to these regions (default: every enabled region).
    workers
        Concurrent calls (default: the connection's).
    progress
        ``True``/``"cli"`` draws a tqdm bar on stderr, ``"notebook"`` a notebook bar.

    Returns
    -------
    Inventory
        Trails (each once), keys, and the errors of the regions or calls that failed.
    """
    bar = _progress_bar(progress)
    try:
        return Reader(conn, workers=workers).scan(regions, progress=bar)
    finally:
        if bar is not None:
            bar.close()


def _progress_bar(progress: bool | str) -> Any:
    if not progress:
        return None
    if progress == "notebook":
        from tqdm.notebook import tqdm as nb_tqdm

        return nb_tqdm(desc="reading AWS", unit="call")
    from tqdm import tqdm

    return tqdm(desc="reading AWS", unit="call", file=sys.stderr, leave=False)


def policy_json(policy: str | None) -> Any:
    """The parsed policy document, or None when absent or not JSON."""
    if not policy:
        return None
    try:
        return json.loads(policy)
    except ValueError:
        return None
