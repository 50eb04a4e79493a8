"""The read layer: the only place that lists and describes AWS resources.

Every function declares the IAM actions it needs (:func:`trailkit.permissions.requires`) and turns
raw responses into the records of :mod:`trailkit.records`. A region or call that fails becomes a
:class:`~trailkit.records.ScanError` that is shown, never a crash and never a silently smaller
table.

How the reads are scheduled
---------------------------
A :class:`Reader` asks AWS only what the answer needs, and as early as it can:

* **Once per thing.** ``DescribeTrails`` once per region, bucket facts once per bucket,
  ``ListAliases``/``ListKeys`` once per region, ``DescribeKey`` and ``GetKeyPolicy`` once per key.
  Every read is *single-flight*: a second request for something already being read waits for the
  first instead of asking again. Results are cached for the life of the reader (a notebook
  session); :meth:`Reader.refresh` forgets them. A call that fails is reported (a
  :class:`~trailkit.records.ScanError`); a listing or description that failed is asked again next
  time, a bucket or key policy that could not be read stays cached as such until ``refresh``.
* **Cheap filters first.** A candidate key whose alias is ``alias/aws/...`` (AWS managed) is not
  described at all; ``GetKeyPolicy`` is read only for candidate keys that pass the cheap filters of
  ``DescribeKey`` (customer managed, ``Enabled``, symmetric ``ENCRYPT_DECRYPT``) and for the keys
  trails use.
* **Short dependent chains.** The reads form a graph, not phases: a bucket is read as soon as one
  region's ``DescribeTrails`` names it (not after every region answered), a trail's key as soon as
  its trail is seen, and with ``scan(..., candidates=True)`` the candidate keys of a bucket's
  region as soon as ``GetBucketLocation`` answered. The longest chain is ``DescribeTrails`` ->
  ``GetBucketLocation`` -> ``ListKeys`` -> ``DescribeKey`` -> ``GetKeyPolicy``.
* **One bounded pool.** Every call runs on the reader's pool of ``workers`` threads, so at most
  ``workers`` calls are in flight whatever is being read. Tasks never wait for other tasks (a
  finished read schedules the reads that depend on it), so the pool cannot deadlock. When the pool
  is the bottleneck its queue decides: first the calls that start long chains (``DescribeTrails``,
  ``GetBucketLocation``, ``ListKeys``/``ListAliases``), then the rest of the inventory, then
  candidate keys, a key's policy before the next key's description so that bucket regions
  complete one after another. ``workers=1`` runs every call in the calling thread, one at a time.
* **Throttling slows, never fails.** Retries are botocore's (``standard`` or ``adaptive`` mode,
  see :class:`trailkit.aws.session.Connection`); ``Connection.calls`` counts each API call once by
  ``"service:Operation"``, retries excluded.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import replace
from types import MappingProxyType
from typing import Any, TypeVar, cast

import botocore.exceptions

from trailkit.aws.scheduler import (
    Pool,
    forward,
    gather,
    on_pool_thread,
    resolved,
    settled,
    then,
    then_done,
)
from trailkit.aws.session import Connection, ConnectionInfo
from trailkit.errors import AccessDenied, AwsError, InputError, NotFound, TrailkitError, translate
from trailkit.permissions import requires
from trailkit.records import (
    BucketInfo,
    Inventory,
    KeyInfo,
    ScanError,
    Trail,
    TrailStatus,
    arn_account,
    arn_region,
)
from trailkit.rules import keys as key_rules
from trailkit.rules.checks import KeyLookup
from trailkit.rules.keyids import KeyRef
from trailkit.rules.trails import merge_trails, parse_trail_ref, the_one_trail

__all__ = ["Reader", "list_regions", "scan"]

T = TypeVar("T")
_BOTO_ERRORS = (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError)
_log = logging.getLogger(__name__)

# Queue priorities, most urgent first. The calls that start chains come first (the longest chain
# is DescribeTrails -> GetBucketLocation -> ListKeys -> DescribeKey -> GetKeyPolicy), then what
# completes the inventory, then candidate keys: a key's policy before the next key's
# description, so that regions complete one after another rather than all at the very end.
_P_TRAILS = 6  # GetCallerIdentity, DescribeTrails
_P_LOCATION = 5  # GetBucketLocation
_P_LIST = 4  # ListKeys, ListAliases
_P_INVENTORY = 3  # GetTrailStatus, GetBucketEncryption/Policy, keys in use, keys asked for
_P_CANDIDATE_POLICY = 2  # GetKeyPolicy of a candidate key
_P_CANDIDATE = 1  # DescribeKey of a candidate key


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


def _error_order(err: ScanError) -> tuple[str, str, str, str, str]:
    return (err.region or "", err.operation, err.resource or "", err.code, err.message)


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
        The connection (from :func:`trailkit.aws.session.connect`).
    workers
        Concurrent calls; defaults to ``conn.workers``. ``1`` reads strictly one call at a time,
        in the calling thread.

    Notes
    -----
    The blocking methods (everything public) may be called from any thread except the reader's
    own pool threads. Results of ``workers=1`` and ``workers=N`` are identical.
    """

    def __init__(self, conn: Connection, *, workers: int | None = None) -> None:
        self.conn = conn
        self.workers = workers or conn.workers
        if self.workers < 1:
            raise InputError(f"workers must be at least 1, not {self.workers}.", "use --workers 8")
        self._lock = threading.Lock()
        self._pool_: Pool | None = None
        self._progress: Any = None
        # Single-flight caches: key -> future of the read (a done future is the cached value).
        self._info: dict[str, Future[ConnectionInfo]] = {}
        self._aliases: dict[str, Future[dict[str, tuple[str, ...]]]] = {}
        self._described: dict[str, Future[KeyInfo]] = {}
        self._policies: dict[str, Future[tuple[str | None, str | None]]] = {}
        self._buckets: dict[str, Future[BucketInfo]] = {}
        self._candidates: dict[str, Future[tuple[KeyInfo, ...]]] = {}
        #: What failed while reading for the inventory (trails, buckets, keys in use, keys asked
        #: for by name); :meth:`scan` reports these.
        self.errors: list[ScanError] = []
        #: What failed while reading candidate keys (a key that could not be described is left
        #: out of the candidates; a policy that could not be read makes the key unverifiable).
        self.candidate_errors: list[ScanError] = []

    def refresh(self) -> None:
        """Forget everything read so far (the next call reads AWS again)."""
        with self._lock:
            self._info.clear()
            self._aliases.clear()
            self._described.clear()
            self._policies.clear()
            self._buckets.clear()
            self._candidates.clear()
            self.errors.clear()
            self.candidate_errors.clear()

    # -- scheduling ----------------------------------------------------------------------
    def _pool(self) -> Pool:
        with self._lock:
            if self._pool_ is None:
                self._pool_ = Pool(self.workers, f"trailkit-read-{id(self):x}")
            return self._pool_

    def _submit(self, priority: int, func: Callable[..., T], *args: Any) -> Future[T]:
        """Run ``func(*args)`` (one AWS call) on the pool; inline when ``workers == 1``."""
        fut: Future[T] = Future()

        def job() -> None:
            try:
                fut.set_result(func(*args))
            except BaseException as exc:  # handed to whoever waits for ``fut``
                fut.set_exception(exc)

        if self.workers == 1:
            job()
        else:
            self._pool().submit(priority, job)
        return fut

    def _once(
        self,
        table: dict[Any, Future[T]],
        key: Hashable,
        start: Callable[[], Future[T]],
    ) -> Future[T]:
        """The read of ``key`` in ``table``: the cached or in-flight one, else ``start()``."""
        with self._lock:
            existing = table.get(key)
            if existing is not None:
                return existing
            mine: Future[T] = Future()
            table[key] = mine

        def forget_failure(done: Future[T]) -> None:
            if done.exception() is not None:
                with self._lock:
                    if table.get(key) is mine:
                        del table[key]

        mine.add_done_callback(forget_failure)
        try:
            started = start()
        except BaseException as exc:
            mine.set_exception(exc)
        else:
            forward(started, mine)
        return mine

    def _wait(self, fut: Future[T]) -> T:
        if not fut.done() and on_pool_thread():
            raise RuntimeError("a Reader's blocking methods cannot be called from its pool")
        return fut.result()

    def _tick(self) -> None:
        progress = self._progress
        if progress is not None:
            progress.update(1)

    @contextlib.contextmanager
    def _reporting(self, progress: Any) -> Iterator[None]:
        """Count calls on ``progress`` (a tqdm bar) while inside."""
        if progress is None:
            yield
            return
        previous, self._progress = self._progress, progress
        try:
            yield
        finally:
            self._progress = previous

    def _note(self, error: ScanError, *, candidate: bool = False) -> None:
        with self._lock:
            (self.candidate_errors if candidate else self.errors).append(error)

    def _info_f(self) -> Future[ConnectionInfo]:
        """Who is asking (``GetCallerIdentity``, cached by the connection)."""
        return self._once(self._info, "", lambda: self._submit(_P_TRAILS, self.conn.info))

    def _account_f(self) -> Future[str]:
        """The caller's account."""
        return then(self._info_f(), lambda info: info.account)

    # -- trails --------------------------------------------------------------------------
    @requires("cloudtrail:DescribeTrails")
    def trails_in(self, region: str) -> list[Trail]:
        """Every trail visible in ``region``, shadow copies included (``DescribeTrails``)."""
        try:
            data = _aws(
                self.conn,
                "cloudtrail",
                region,
                "describe_trails",
                "DescribeTrails",
                "cloudtrail:DescribeTrails",
                includeShadowTrails=True,
            )
        finally:
            self._tick()
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
        finally:
            self._tick()
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
        ref = parse_trail_ref(name_or_arn)
        found = self._lookup(ref.text, ref.region or self.conn.region)
        if not ref.is_arn and not any(ref.matches(t) for t in found):
            found = self.scan_trails(regions)[0]
        return self.enrich([the_one_trail(ref, found)])[0]

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

    def _trails_f(self, region: str) -> Future[list[Trail] | ScanError]:
        """``DescribeTrails`` of one region; a failure becomes the region's ScanError."""

        def outcome(done: Future[list[Trail]]) -> list[Trail] | ScanError:
            exc = done.exception()
            if isinstance(exc, TrailkitError):
                return _scan_error(exc, region=region)
            return done.result()

        return then_done(self._submit(_P_TRAILS, self.trails_in, region), outcome)

    def scan_trails(
        self, regions: Sequence[str] | None = None, progress: Any = None
    ) -> tuple[list[Trail], list[ScanError], list[str]]:
        """Trails of every region, deduplicated by ARN; failed regions become errors."""
        with self._reporting(progress):
            if regions is None:
                regions = list_regions(self.conn)
            regions = list(dict.fromkeys(regions))
            results = self._wait(gather([self._trails_f(r) for r in regions]))
        trails, errors = merge_trails(regions, results)
        return trails, errors, regions

    def _enrich_f(self, trail: Trail) -> Future[Trail]:
        """The trail with its status and bucket facts (both read concurrently)."""
        status = self._submit(_P_INVENTORY, self.status, trail)
        bucket: Future[BucketInfo | None] = (
            cast("Future[BucketInfo | None]", self._bucket_f(trail.bucket_name))
            if trail.bucket_name
            else resolved(None)
        )
        return then(
            gather([status, bucket]),
            lambda facts: replace(trail, status=facts[0], bucket=facts[1]),
        )

    def enrich(self, trails: Sequence[Trail], progress: Any = None) -> list[Trail]:
        """Add status and bucket facts (each bucket read once) to each trail."""
        with self._reporting(progress):
            return self._wait(gather([self._enrich_f(t) for t in trails]))

    # -- buckets -------------------------------------------------------------------------
    @requires("s3:GetBucketLocation", "s3:GetEncryptionConfiguration", "s3:GetBucketPolicy")
    def bucket(self, name: str) -> BucketInfo:
        """Region, default encryption (Bucket Key) and policy of a bucket; read once."""
        return self._wait(self._bucket_f(name))

    def _bucket_f(self, name: str) -> Future[BucketInfo]:
        # A bucket that could not be read is an answer (BucketInfo.error), cached like any other.
        return self._once(self._buckets, name, lambda: self._read_bucket_f(name))

    def _read_bucket_f(self, name: str) -> Future[BucketInfo]:
        def located(where: str | BucketInfo) -> BucketInfo | Future[BucketInfo]:
            if isinstance(where, BucketInfo):
                return where  # the location could not be read
            encryption = self._submit(_P_INVENTORY, self._bucket_encryption, name, where)
            policy = self._submit(_P_INVENTORY, self._bucket_policy, name, where)
            return then(
                gather([encryption, policy]), lambda parts: _bucket_info(name, where, parts)
            )

        return then(self._submit(_P_LOCATION, self._bucket_location, name), located)

    @requires("s3:GetBucketLocation")
    def _bucket_location(self, name: str) -> str | BucketInfo:
        """The bucket's region, or a BucketInfo that says why it cannot be read."""
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
        finally:
            self._tick()
        constraint = loc.get("LocationConstraint")
        return str(
            {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(constraint, constraint)
        )

    @requires("s3:GetEncryptionConfiguration")
    def _bucket_encryption(
        self, name: str, region: str
    ) -> tuple[str | None, str | None, bool, str | None]:
        """(default algorithm, default KMS key, Bucket Key enabled, error)."""
        encryption: str | None = None
        kms_key: str | None = None
        bucket_key = False
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
        except AwsError as err:
            if err.code == "ServerSideEncryptionConfigurationNotFoundError":
                return "AES256", None, False, None  # S3's default since 2023 (moto answers 404)
            self._note(_scan_error(err, region=region, resource=f"s3://{name}"))
            return None, None, False, str(err)
        finally:
            self._tick()
        rules = (enc.get("ServerSideEncryptionConfiguration") or {}).get("Rules") or []
        for rule in rules:
            default = rule.get("ApplyServerSideEncryptionByDefault") or {}
            encryption = default.get("SSEAlgorithm") or encryption
            kms_key = default.get("KMSMasterKeyID") or kms_key
            bucket_key = bucket_key or bool(rule.get("BucketKeyEnabled"))
        return encryption, kms_key, bucket_key, None

    @requires("s3:GetBucketPolicy")
    def _bucket_policy(self, name: str, region: str) -> tuple[str | None, str | None]:
        """(policy, error)."""
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
        except AwsError as err:
            if err.code == "NoSuchBucketPolicy":
                return None, None
            self._note(_scan_error(err, region=region, resource=f"s3://{name}"))
            return None, str(err)
        finally:
            self._tick()
        return pol.get("Policy"), None

    # -- keys ----------------------------------------------------------------------------
    @requires("kms:ListAliases")
    def aliases(self, region: str) -> dict[str, tuple[str, ...]]:
        """Key id -> alias names in ``region`` of the caller's account; read once per region."""
        return self._wait(self._aliases_f(region))

    def _aliases_f(self, region: str) -> Future[dict[str, tuple[str, ...]]]:
        return self._once(
            self._aliases, region, lambda: self._submit(_P_LIST, self._list_aliases, region)
        )

    @requires("kms:ListAliases")
    def _list_aliases(self, region: str) -> dict[str, tuple[str, ...]]:
        try:
            items = _paginate(
                self.conn,
                "kms",
                region,
                "list_aliases",
                "ListAliases",
                "kms:ListAliases",
                "Aliases",
            )
        finally:
            self._tick()
        by_key: dict[str, list[str]] = {}
        for item in items:
            target = item.get("TargetKeyId")
            if target:
                by_key.setdefault(str(target), []).append(str(item["AliasName"]))
        return {k: tuple(sorted(v)) for k, v in by_key.items()}

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
        return self._wait(self._key_f(key, region, with_policy=with_policy))

    def _key_f(self, key: str, region: str | None, *, with_policy: bool) -> Future[KeyInfo]:
        described = self._describe_f(key, region)
        return then(described, self._with_policy) if with_policy else described

    def _describe_f(
        self, key: str, region: str | None, *, candidate: bool = False
    ) -> Future[KeyInfo]:
        """``DescribeKey`` plus the key's aliases: the key without its policy (single-flight)."""
        where = arn_region(key) if key.startswith("arn:") else (region or self.conn.region)
        cache_key = key if key.startswith("arn:") else f"{where}|{key}"
        fut = self._once(
            self._described, cache_key, lambda: self._read_key_f(key, where, candidate)
        )
        if not key.startswith("arn:"):

            def by_arn(done: Future[KeyInfo]) -> None:
                if done.exception() is None:
                    with self._lock:
                        self._described.setdefault(done.result().arn, done)

            fut.add_done_callback(by_arn)
        return fut

    def _read_key_f(self, key: str, where: str, candidate: bool) -> Future[KeyInfo]:
        account = self._account_f()
        priority = _P_CANDIDATE if candidate else _P_INVENTORY
        meta = self._submit(priority, self._describe_key, key, where)
        # The region's aliases are listed meanwhile, unless the ARN names another account.
        if key.startswith("arn:"):

            def own_aliases(caller: str) -> None:
                if arn_account(key) == caller:
                    self._aliases_f(where)

            then(account, own_aliases)
        else:
            self._aliases_f(where)

        def build(parts: list[Any]) -> KeyInfo | Future[KeyInfo]:
            data, caller = cast("dict[str, Any]", parts[0]), cast("str", parts[1])
            arn = str(data["Arn"])
            region = arn_region(arn)
            foreign = key_rules.foreign_policy_error(arn, caller)
            if foreign is not None:
                return KeyInfo.from_api(data, policy_error=foreign)

            def with_aliases(done: Future[dict[str, tuple[str, ...]]]) -> KeyInfo:
                exc = done.exception()
                if isinstance(exc, TrailkitError):
                    self._note(_scan_error(exc, region=region), candidate=candidate)
                    return KeyInfo.from_api(data)
                return KeyInfo.from_api(data, aliases=done.result().get(str(data["KeyId"]), ()))

            return then_done(self._aliases_f(region), with_aliases)

        return then(gather([meta, account]), build)

    @requires("kms:DescribeKey")
    def _describe_key(self, key: str, region: str) -> dict[str, Any]:
        try:
            data = _aws(
                self.conn,
                "kms",
                region,
                "describe_key",
                "DescribeKey",
                "kms:DescribeKey",
                KeyId=key,
            )
        finally:
            self._tick()
        return cast("dict[str, Any]", data["KeyMetadata"])

    def _with_policy(self, key: KeyInfo, *, candidate: bool = False) -> KeyInfo | Future[KeyInfo]:
        """``key`` with its policy (read once per key); other accounts' keys are returned as is."""
        if key.policy is not None or key.policy_error is not None:
            return key
        priority = _P_CANDIDATE_POLICY if candidate else _P_INVENTORY
        policy = self._once(
            self._policies,
            key.arn,
            lambda: self._submit(priority, self._policy, key.arn, key.region, candidate),
        )
        return then(policy, lambda p: replace(key, policy=p[0], policy_error=p[1]))

    @requires("kms:GetKeyPolicy")
    def _policy(
        self, arn: str, region: str, candidate: bool = False
    ) -> tuple[str | None, str | None]:
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
            self._note(_scan_error(err, region=region, resource=arn), candidate=candidate)
            return None, str(err)
        finally:
            self._tick()
        return data.get("Policy"), None

    def _latest(self, key: KeyInfo) -> KeyInfo:
        """``key`` with its policy if that was read meanwhile (e.g. because a trail uses it)."""
        if key.policy is not None or key.policy_error is not None:
            return key
        with self._lock:
            policy = self._policies.get(key.arn)
        if policy is None or not policy.done() or policy.exception() is not None:
            return key
        text, error = policy.result()
        return replace(key, policy=text, policy_error=error)

    def _used_key_f(self, ident: str) -> Future[KeyInfo]:
        """A key a trail names, with its policy; a key that cannot be described has ``error``."""

        def outcome(done: Future[KeyInfo]) -> KeyInfo:
            exc = done.exception()
            if not isinstance(exc, TrailkitError):
                return done.result()  # (re-raises anything unexpected)
            self._note(_scan_error(exc, region=arn_region(ident), resource=ident))
            return KeyInfo(
                arn=ident,
                key_id=ident.rsplit("/", 1)[-1],
                account=arn_account(ident),
                region=arn_region(ident),
                error=str(exc),
                policy_error=str(exc),
            )

        return then_done(self._key_f(ident, None, with_policy=True), outcome)

    def keys(self, key_arns: Iterable[str], progress: Any = None) -> dict[str, KeyInfo]:
        """Describe several keys concurrently; a key that fails is returned with ``error``."""
        arns = sorted(set(key_arns))
        with self._reporting(progress):
            found = self._wait(gather([self._used_key_f(a) for a in arns]))
        return dict(zip(arns, found, strict=True))

    @requires("kms:ListKeys", "kms:ListAliases", "kms:DescribeKey", "kms:GetKeyPolicy")
    def candidate_keys(self, region: str, *, progress: Any = None) -> tuple[KeyInfo, ...]:
        """Every customer key of ``region`` with aliases and metadata (cached per region).

        Policies are read only for keys that pass the cheap filters (customer managed,
        Enabled, symmetric encryption): the others are blocked whatever their policy says.
        Keys with an ``alias/aws/...`` alias (AWS managed) are not even described. A second call
        for the same region makes no API call until :meth:`refresh`.

        Raises
        ------
        TrailkitError
            The keys of the region cannot be listed (``ListKeys``).
        """
        with self._reporting(progress):
            keys = self._wait(self._candidates_f(region))
        return tuple(self._latest(k) for k in keys)

    def _candidates_f(self, region: str) -> Future[tuple[KeyInfo, ...]]:
        return self._once(self._candidates, region, lambda: self._read_candidates_f(region))

    def _read_candidates_f(self, region: str) -> Future[tuple[KeyInfo, ...]]:
        listed = self._submit(_P_LIST, self._list_keys, region)
        aliases = settled(self._aliases_f(region))

        def one(item: dict[str, Any]) -> Future[KeyInfo | None]:
            arn = str(item.get("KeyArn") or item["KeyId"])

            def usable_only(key: KeyInfo) -> KeyInfo | Future[KeyInfo] | None:
                if key.manager == "AWS":
                    return None
                return self._with_policy(key, candidate=True) if key_rules.usable(key) else key

            def outcome(done: Future[KeyInfo | None]) -> KeyInfo | None:
                exc = done.exception()
                if isinstance(exc, TrailkitError):
                    self._note(_scan_error(exc, region=region, resource=arn), candidate=True)
                    return None
                return done.result()

            described = self._describe_f(arn, region, candidate=True)
            filtered = cast("Future[KeyInfo | None]", then(described, usable_only))
            return then_done(filtered, outcome)

        def describe_all(parts: list[Any]) -> Future[tuple[KeyInfo, ...]]:
            items = cast("list[dict[str, Any]]", parts[0])
            names = cast("Future[dict[str, tuple[str, ...]]]", parts[1])
            by_key = names.result() if names.exception() is None else {}
            wanted = [
                item
                for item in items
                if not key_rules.aws_managed_alias(by_key.get(item["KeyId"], ()))
            ]
            return then(gather([one(item) for item in wanted]), key_rules.ranked)

        return then(gather([listed, aliases]), describe_all)

    @requires("kms:ListKeys")
    def _list_keys(self, region: str) -> list[dict[str, Any]]:
        try:
            return _paginate(
                self.conn, "kms", region, "list_keys", "ListKeys", "kms:ListKeys", "Keys"
            )
        finally:
            self._tick()

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
        account, region, ident = key_rules.resolve_place(ref, trail, caller)
        try:
            key = self.key(ident, region)
        except TrailkitError as err:
            problem = key_rules.lookup_problem(err, account=account, caller=caller)
            if problem is None:
                raise
            elsewhere = self._elsewhere(ref, trail) if isinstance(err, NotFound) else None
            return KeyLookup(
                ref=ref,
                problem=problem,
                message=err.message,
                resolved_in=(account, region),
                elsewhere=elsewhere,
            )
        elsewhere = self._elsewhere(ref, trail, found_in=key.region)
        return KeyLookup(ref=ref, key=key, resolved_in=(account, region), elsewhere=elsewhere)

    def _elsewhere(self, ref: KeyRef, trail: Trail, found_in: str | None = None) -> KeyInfo | None:
        """The same bare identifier in the bucket's region, to suggest its ARN."""
        region = key_rules.elsewhere_region(ref, trail, found_in)
        if region is None:
            return None
        try:
            return self.key(ref.canonical, region)
        except TrailkitError:
            return None

    # -- whole account -------------------------------------------------------------------
    def scan(
        self,
        regions: Sequence[str] | None = None,
        *,
        progress: Any = None,
        candidates: bool = False,
    ) -> Inventory:
        """Trails of every region with status, bucket facts and the keys they use.

        Parameters
        ----------
        regions
            Limit the scan to these regions (default: every enabled region).
        progress
            A tqdm-like bar; ``update(1)`` is called after every API call.
        candidates
            Also read the candidate keys of every bucket region (as :meth:`candidate_keys`
            would, into the same cache), each starting as soon as a bucket's region is known.
            The scan returns when the inventory is complete; the candidate keys go on being read
            in the background (after the inventory's own calls), and :meth:`candidate_keys` (so
            ``runbook.candidates``) waits only for its region's. Ranking keys for the trails
            then makes no further API call. (With ``workers=1`` everything is read before the
            scan returns.)
        """
        with self._lock:
            self.errors.clear()
        with self._reporting(progress):
            info = self._info_f()
            if regions is None:
                regions = list_regions(self.conn)
            regions = list(dict.fromkeys(regions))
            started: set[str] = set()
            enriched: dict[str, Trail] = {}
            used: dict[str, Future[KeyInfo]] = {}

            def found(result: list[Trail] | ScanError) -> list[Any] | Future[list[Any]]:
                """Start the reads a region's trails need, each trail once."""
                if isinstance(result, ScanError):
                    return []
                waits: list[Future[Any]] = []
                for trail in result:
                    with self._lock:
                        if trail.arn in started:
                            continue
                        started.add(trail.arn)
                    waits.append(then(self._enrich_f(trail), self._keep(enriched)))
                    if trail.kms_key_id:
                        with self._lock:
                            fresh = trail.kms_key_id not in used
                            if fresh:
                                used[trail.kms_key_id] = Future()
                        if fresh:
                            forward(self._used_key_f(trail.kms_key_id), used[trail.kms_key_id])
                            waits.append(used[trail.kms_key_id])
                    if candidates and trail.bucket_name:
                        # Not waited for: the inventory does not need them.
                        then(self._bucket_f(trail.bucket_name), self._prefetch_candidates)
                return gather(waits)

            region_results = [self._trails_f(region) for region in regions]
            waits: list[Future[list[Any]]] = [then(r, found) for r in region_results]
            self._wait(gather(waits))
            results = [r.result() for r in region_results]
            ident = self._wait(info)
        trails, errors = merge_trails(regions, results)
        trails = [
            replace(enriched[t.arn], seen_in=t.seen_in) if t.arn in enriched else t for t in trails
        ]
        keys = {k: used[k].result() for k in sorted(used)}
        with self._lock:
            noted = sorted(dict.fromkeys(self.errors), key=_error_order)
        return Inventory(
            connection=ident,
            regions=tuple(regions),
            trails=tuple(trails),
            keys=MappingProxyType(keys),
            errors=tuple(errors) + tuple(noted),
            calls=MappingProxyType(dict(self.conn.calls)),
        )

    @staticmethod
    def _keep(table: dict[str, Trail]) -> Callable[[Trail], Trail]:
        def keep(trail: Trail) -> Trail:
            table[trail.arn] = trail
            return trail

        return keep

    def _prefetch_candidates(self, bucket: BucketInfo) -> Future[Any] | None:
        """Read the candidate keys of the bucket's region into the cache (failures are left for
        :meth:`candidate_keys` to report)."""
        if not bucket.region:
            return None
        return settled(self._candidates_f(bucket.region))


def _bucket_info(name: str, region: str, parts: list[Any]) -> BucketInfo:
    encryption, kms_key, bucket_key, enc_error = parts[0]
    policy, policy_error = parts[1]
    errors = [e for e in (enc_error, policy_error) if e]
    return BucketInfo(
        name=name,
        region=region,
        default_encryption=encryption,
        default_kms_key=kms_key,
        bucket_key=bucket_key,
        policy=policy,
        error="; ".join(errors) or None,
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
