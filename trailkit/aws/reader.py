"""The read layer's facade: the only place that lists and describes AWS resources.

:class:`Reader` composes one reader per service (:class:`~trailkit.aws.cloudtrail.CloudTrail`,
:class:`~trailkit.aws.s3.S3`, :class:`~trailkit.aws.kms.Kms`, each declaring the IAM actions of
its calls with :func:`trailkit.permissions.requires`) behind one object that caches what it
read and schedules the calls on a :class:`~trailkit.aws.scheduler.Pool`. Which keys are worth
reading and where an identifier resolves are decided in :mod:`trailkit.rules.keys`; trail names
and the merge of regions in :mod:`trailkit.rules.trails`. A region or call that fails becomes a
:class:`~trailkit.records.ScanError` that is shown, never a crash and never a silently smaller
table.

How the reads are scheduled
---------------------------
A :class:`Reader` asks AWS only what the answer needs, and as early as it can:

* **Once per thing.** ``DescribeTrails`` once per region, bucket facts once per bucket
  (``GetBucketLocation`` only when ``HeadBucket`` gave no region), ``ListBuckets`` once per
  reader, ``ListAliases``/``ListKeys`` once per region, ``DescribeKey`` and ``GetKeyPolicy``
  once per key; ``GetKeyRotationStatus`` once per customer managed key a trail uses (not for
  candidate keys, nor a key pending deletion). Ownership (:mod:`trailkit.rules.ownership`):
  ``ListTags`` once per home region and 20 trails of the account (another account's trail
  alone), ``ListResourceTags`` once per customer managed key of the account that a trail uses
  (or a check names). Change history (:meth:`Reader.history`, only
  when asked for, never by :meth:`Reader.scan`): ``LookupEvents`` once per Region and event name
  for a window (a later request inside a window already read is answered from it).
  Every read is *single-flight*: a second request for something already being read waits for the
  first instead of asking again. Results are cached for the life of the reader (a notebook
  session); :meth:`Reader.refresh` forgets them. A call that fails is reported (a
  :class:`~trailkit.records.ScanError`); a listing or description that failed is asked again next
  time, a bucket or key policy that could not be read stays cached as such until ``refresh``.
* **Cheap filters first.** A candidate key whose alias is ``alias/aws/...`` (AWS managed) is not
  described at all; ``GetKeyPolicy`` is read only for candidate keys that pass the cheap filters of
  ``DescribeKey`` (:func:`trailkit.rules.keys.usable`) and for the keys trails use.
* **Short dependent chains.** The reads form a graph, not phases: a bucket is read as soon as one
  region's ``DescribeTrails`` names it (not after every region answered), a trail's key as soon as
  its trail is seen, and with ``scan(..., candidates=True)`` the candidate keys of a bucket's
  region as soon as the bucket was read. The longest chain is ``DescribeTrails`` ->
  ``HeadBucket`` (-> ``GetBucketLocation``) -> ``ListKeys`` -> ``DescribeKey`` ->
  ``GetKeyPolicy``.
* **One bounded pool.** Every call runs on the reader's pool of ``workers`` threads, so at most
  ``workers`` calls are in flight whatever is being read. Tasks never wait for other tasks (a
  finished read schedules the reads that depend on it), so the pool cannot deadlock. When the pool
  is the bottleneck its queue decides: first the calls that start long chains (``DescribeTrails``,
  ``HeadBucket``/``GetBucketLocation``/``ListBuckets``, ``ListKeys``/``ListAliases``), then the
  rest of the inventory, then candidate keys, a key's policy before the next key's description so
  that bucket regions complete one after another. ``workers=1`` runs every call in the calling
  thread, one at a time.
* **Several accounts, one pool.** A scan of several accounts
  (:func:`trailkit.aws.org.scan_accounts`) gives every account's reader the same pool (the
  ``pool`` argument), so ``workers`` bounds the calls of all accounts together; each account
  is read without blocking (:meth:`Reader.listed_scan_f`: ``ListTrails``, then
  ``DescribeTrails`` only in the home regions of its own trails), and a key of another account
  of the scan is read by that account's reader (:attr:`Reader.key_owner`).
* **Throttling slows, never fails.** Retries are botocore's (``standard`` or ``adaptive`` mode,
  see :class:`trailkit.aws.session.Connection`); ``Connection.calls`` counts each API call once by
  ``"service:Operation"``, retries excluded.
* **Progress is a callback.** The blocking methods take ``progress(done, total)``, called after
  every call they started (``total``: the calls started so far); the UI draws it
  (:mod:`trailkit.ui.progress`).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import replace
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, TypeVar, cast

from trailkit.arn import arn_account, arn_region, resource_id
from trailkit.aws.cloudtrail import LIST_TAGS_MAX, CloudTrail, list_regions
from trailkit.aws.history import EventHistory
from trailkit.aws.kms import Kms
from trailkit.aws.s3 import S3, Located, bucket_info, missing_bucket, unlocated_bucket
from trailkit.aws.scheduler import (
    Pool,
    forward,
    gather,
    on_pool_thread,
    resolved,
    run_now,
    settled,
    then,
    then_done,
)
from trailkit.aws.service import error_order, scan_error
from trailkit.aws.session import Connection, ConnectionInfo, check_workers
from trailkit.errors import ConnectionFailed, NotFound, TrailkitError
from trailkit.i18n import _, language
from trailkit.permissions import requires
from trailkit.records import (
    BucketInfo,
    History,
    Inventory,
    KeyInfo,
    ScanError,
    Trail,
    TrailStatus,
)
from trailkit.rules import history as history_rules
from trailkit.rules import keys as key_rules
from trailkit.rules.checks import KeyLookup
from trailkit.rules.keyfacts import rotation_readable
from trailkit.rules.keyids import KeyRef
from trailkit.rules.trails import merge_trails, parse_trail_ref, the_one_trail

__all__ = ["CallCounter", "Progress", "Reader", "list_regions", "scan"]

T = TypeVar("T")
_log = logging.getLogger(__name__)

#: ``progress(done, total)``: calls finished and calls started so far by a blocking method.
Progress = Callable[[int, int], None]
#: What one ``LookupEvents`` lookup found: its events, and why they are incomplete (or None).
_Found = tuple[list[dict[str, Any]], ScanError | None]
#: Tags read (key, value pairs), or None and why they could not be read.
_Tags = tuple[tuple[tuple[str, str], ...] | None, str | None]
#: A lookup made (or under way): its window, whether it was "until now", and its answer.
_Looked = tuple[datetime, datetime, bool, Future[_Found]]

# Queue priorities, most urgent first. The calls that start chains come first (the longest chain
# is DescribeTrails -> HeadBucket -> ListKeys -> DescribeKey -> GetKeyPolicy), then what
# completes the inventory, then candidate keys: a key's policy before the next key's
# description, so that regions complete one after another rather than all at the very end.
_P_TRAILS = 6  # GetCallerIdentity, DescribeTrails
_P_LOCATION = 5  # HeadBucket, GetBucketLocation, ListBuckets
_P_LIST = 4  # ListKeys, ListAliases
_P_INVENTORY = 3  # GetTrailStatus, GetBucketEncryption/Policy, keys in use, keys asked for
_P_CANDIDATE_POLICY = 2  # GetKeyPolicy of a candidate key
_P_CANDIDATE = 1  # DescribeKey of a candidate key


class _Counter:
    """The calls one blocking method started and finished, reported to its ``progress``."""

    def __init__(self, report: Progress) -> None:
        self._report = report
        self._lock = threading.Lock()
        self.done = 0
        self.total = 0

    def started(self) -> None:
        with self._lock:
            self.total += 1

    def finished(self) -> None:
        with self._lock:  # reports in order, from whichever thread finished
            self.done += 1
            try:
                self._report(self.done, self.total)
            except Exception:  # a broken progress display must not fail the read
                _log.exception("trailkit progress callback failed")


#: Counts the calls of one or several readers for one ``progress`` callback.
CallCounter = _Counter


class Reader:
    """Reads trails, buckets and keys through one connection, caching what it has read.

    Parameters
    ----------
    conn : Connection
        The connection (from :func:`trailkit.aws.session.connect`).
    workers : int, optional
        Concurrent calls, 1 to :data:`~trailkit.aws.session.MAX_WORKERS`; defaults to
        ``conn.workers`` (``pool.size`` when a pool is given). ``1`` reads strictly one call at a
        time, in the calling thread.
    pool : Pool, optional
        Run the calls on this pool instead of the reader's own: the readers of several accounts
        share one bound on the calls in flight (:func:`trailkit.aws.org.scan_accounts`).

    Raises
    ------
    InputError
        ``workers`` is not a whole number from 1 to
        :data:`~trailkit.aws.session.MAX_WORKERS`.

    Notes
    -----
    The blocking methods (everything public) may be called from any thread except the reader's
    own pool threads. Results of ``workers=1`` and ``workers=N`` are identical.
    """

    def __init__(
        self, conn: Connection, *, workers: int | None = None, pool: Pool | None = None
    ) -> None:
        self.conn = conn
        # ``workers=0`` is an error, not "the connection's default".
        self.workers = check_workers(
            (pool.size if pool is not None else conn.workers) if workers is None else workers
        )
        self._lock = threading.Lock()
        #: Shared by the readers of a scan of several accounts (:mod:`trailkit.aws.org`).
        self._pool_: Pool | None = pool
        self._progress: _Counter | None = None
        self._cloudtrail = CloudTrail(conn, self._note)
        self._s3 = S3(conn, self._note)
        self._kms = Kms(conn, self._note)
        # Single-flight caches: key -> future of the read (a done future is the cached value).
        self._info: dict[tuple[str, str], Future[ConnectionInfo]] = {}
        self._aliases: dict[tuple[str, str], Future[dict[str, tuple[str, ...]]]] = {}
        self._described: dict[tuple[str, str], Future[KeyInfo]] = {}
        self._policies: dict[tuple[str, str], Future[tuple[str | None, str | None]]] = {}
        self._rotations: dict[tuple[str, str], Future[tuple[bool | None, str | None]]] = {}
        self._buckets: dict[tuple[str, str], Future[BucketInfo]] = {}
        self._owned: dict[tuple[str, str], Future[frozenset[str] | None]] = {}
        self._candidates: dict[tuple[str, str], Future[tuple[KeyInfo, ...]]] = {}
        #: Trail ARN / key ARN -> (tags, error) (``ListTags``, ``ListResourceTags``).
        self._trail_tags: dict[tuple[str, str], Future[_Tags]] = {}
        self._key_tags: dict[tuple[str, str], Future[_Tags]] = {}
        self._events = EventHistory(conn)
        #: (language, region, event name) -> the lookups made or under way.
        self._lookups: dict[tuple[str, str, str], list[_Looked]] = {}
        #: What failed while reading for the inventory (trails, buckets, keys in use, keys asked
        #: for by name); :meth:`scan` reports these.
        self.errors: list[ScanError] = []
        #: On a scan of several accounts: account id -> the future of the reader of that
        #: account in the same scan (None: not read), so that a key of another account that a
        #: trail uses is read by its owner (:meth:`_key_in_use_f`).
        self.key_owner: Callable[[str], Future[Reader] | None] | None = None
        #: For :meth:`lookup_key` (``trailkit check``): account id -> a reader acting in that
        #: account, or None when it cannot be reached (its role cannot be assumed). A key ARN of
        #: another account is then described, and its policy read, by its owner (set by
        #: :class:`~trailkit.runbook.Runbook`); None: every key is read from here.
        self.key_reader: Callable[[str], Reader | None] | None = None
        #: Raise ``ConnectionFailed`` instead of making it a region's error row (a scan of
        #: several accounts stops once rather than showing one row per account and region).
        self.stop_on_connection = False
        #: What failed while reading candidate keys (a key that could not be described is left
        #: out of the candidates; a policy that could not be read makes the key unverifiable).
        self.candidate_errors: list[ScanError] = []
        #: The options that reach another account (`` --role-name NAME``), added to the
        #: ``trailkit inventory --accounts`` command a "no such trail" error prints.
        self.reach = ""

    def refresh(self) -> None:
        """Forget everything read so far (the next call reads AWS again)."""
        with self._lock:
            self._info.clear()
            self._aliases.clear()
            self._described.clear()
            self._policies.clear()
            self._rotations.clear()
            self._buckets.clear()
            self._owned.clear()
            self._candidates.clear()
            self._trail_tags.clear()
            self._key_tags.clear()
            self._lookups.clear()
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
        counter = self._progress
        if counter is not None:
            counter.started()
            func = self._counted(counter, func)
        if self.workers == 1:
            return run_now(func, *args)
        return self._pool().run(priority, func, *args)

    def _counted(self, counter: _Counter, func: Callable[..., T]) -> Callable[..., T]:
        """``func`` that tells ``counter`` when it ended, while ``counter`` is still listening."""

        def call(*args: Any) -> T:
            try:
                return func(*args)
            finally:
                if self._progress is counter:
                    counter.finished()

        return call

    def _once(
        self,
        table: dict[Any, Future[T]],
        key: Hashable,
        start: Callable[[], Future[T]],
    ) -> Future[T]:
        """The read of ``key`` in ``table``: the cached or in-flight one, else ``start()``.

        Kept per language spoken (:func:`trailkit.i18n.language`): what could not be read is
        kept as text (``BucketInfo.error``, a key's ``policy_error``) in the language of the
        read, so a notebook that changes its language reads again rather than showing the
        other language's text."""
        key = (language(), key)
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

    @contextlib.contextmanager
    def _reporting(self, progress: Progress | None) -> Iterator[None]:
        """Report the calls started while inside to ``progress`` (if given)."""
        if progress is None:
            yield
            return
        if not callable(progress):
            raise TypeError(
                "progress must be a callable progress(done, total); "
                "for a tqdm bar use trailkit.ui.progress"
            )
        previous, self._progress = self._progress, _Counter(progress)
        try:
            yield
        finally:
            self._progress = previous

    def _note(self, error: ScanError, candidate: bool = False) -> None:
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
        """Every trail visible in ``region``, shadow copies included (``DescribeTrails``).

        Parameters
        ----------
        region : str
            The region asked.

        Returns
        -------
        list of Trail

        Raises
        ------
        TrailkitError
            The call failed.
        """
        return self._cloudtrail.describe_trails(region)

    @requires("cloudtrail:GetTrailStatus")
    def status(self, trail: Trail) -> TrailStatus:
        """Logging state and the latest delivery errors, read in the trail's home region.

        Parameters
        ----------
        trail : Trail

        Returns
        -------
        TrailStatus
            With ``error`` set (and noted in :attr:`errors`) when it could not be read.
        """
        return self._cloudtrail.trail_status(trail)

    @requires("cloudtrail:GetTrail", "cloudtrail:DescribeTrails")
    def find_trail(self, name_or_arn: str, regions: Sequence[str] | None = None) -> Trail:
        """The one trail with that ARN or name, with its status and bucket facts.

        A name is looked up in the connection's region first, then in every region.

        Parameters
        ----------
        name_or_arn : str
            A trail name or ARN.
        regions : sequence of str, optional
            Where to look for a name the connection's region does not know (default: every
            enabled region).

        Returns
        -------
        Trail

        Raises
        ------
        InputError
            The text cannot be a trail name or ARN, or several trails share the name.
        NotFound
            No visible trail has that name or ARN.
        """
        ref = parse_trail_ref(name_or_arn)
        found = self._cloudtrail.get_trail(ref.text, ref.region or self.conn.region)
        if not ref.is_arn and not any(ref.matches(t) for t in found):
            found = self.scan_trails(regions)[0]
        return self.enrich([the_one_trail(ref, found, self.reach)])[0]

    def _trails_f(self, region: str) -> Future[list[Trail] | ScanError]:
        """``DescribeTrails`` of one region; a failure becomes the region's ScanError."""

        def outcome(done: Future[list[Trail]]) -> list[Trail] | ScanError:
            exc = done.exception()
            if isinstance(exc, TrailkitError) and not self._stops(exc):
                return scan_error(exc, region=region)
            return done.result()

        return then_done(self._submit(_P_TRAILS, self.trails_in, region), outcome)

    def _stops(self, exc: BaseException) -> bool:
        """Whether ``exc`` ends the whole scan instead of making a row: on a scan of several
        accounts (:attr:`stop_on_connection`), the caller's credentials expired or were refused
        (``ConnectionFailed``: ``ExpiredToken``, ``InvalidClientTokenId``, ...), which every
        later call in every account would meet again."""
        return self.stop_on_connection and isinstance(exc, ConnectionFailed)

    def scan_trails(
        self, regions: Sequence[str] | None = None, progress: Progress | None = None
    ) -> tuple[list[Trail], list[ScanError], list[str]]:
        """Trails of every region, deduplicated by ARN; failed regions become errors.

        Parameters
        ----------
        regions : sequence of str, optional
            Default: every enabled region (:func:`list_regions`).
        progress : Progress, optional
            Called with (done, total) after every call.

        Returns
        -------
        tuple
            (trails, errors of failed regions, the regions read).

        Raises
        ------
        TrailkitError
            The regions cannot be listed.
        """
        with self._reporting(progress):
            if regions is None:
                regions = list_regions(self.conn)
            regions = list(dict.fromkeys(regions))
            results = self._wait(gather([self._trails_f(r) for r in regions]))
        trails, errors = merge_trails(regions, results)
        return trails, errors, regions

    def _enrich_f(self, trail: Trail, tags: Future[_Tags] | None = None) -> Future[Trail]:
        """The trail with its status, bucket facts and tags (read concurrently; ``tags``: the
        read of its tags when the caller batches them)."""
        status = self._submit(_P_INVENTORY, self.status, trail)
        bucket: Future[BucketInfo | None] = (
            cast("Future[BucketInfo | None]", self._bucket_f(trail.bucket_name))
            if trail.bucket_name
            else resolved(None)
        )
        if tags is None:
            tags = self._trail_tags_f(trail)
        return then(
            gather([status, bucket, tags]),
            lambda facts: replace(
                trail,
                status=facts[0],
                bucket=facts[1],
                tags=facts[2][0],
                tags_error=facts[2][1],
            ),
        )

    @requires("cloudtrail:ListTags")
    def _start_tags(self, trails: Iterable[Trail]) -> dict[str, Future[_Tags]]:
        """Start reading the tags of ``trails`` not read yet (:meth:`_launch_tags`).

        Returns the read (cached, under way or started) of each trail, by ARN.
        """
        mine, todo = self._tag_slots(trails)
        self._launch_tags(todo)
        return mine

    def _tag_slots(
        self, trails: Iterable[Trail]
    ) -> tuple[dict[str, Future[_Tags]], list[tuple[Trail, Future[_Tags]]]]:
        """The cached read of each trail's tags, by ARN, and the new ones (to launch)."""
        lang = language()
        todo: list[tuple[Trail, Future[_Tags]]] = []
        mine: dict[str, Future[_Tags]] = {}
        with self._lock:
            for trail in trails:
                slot = (lang, trail.arn)
                existing = self._trail_tags.get(slot)
                if existing is None:
                    existing = Future()
                    self._trail_tags[slot] = existing
                    todo.append((trail, existing))
                mine[trail.arn] = existing
        return mine, todo

    def _launch_tags(self, todo: list[tuple[Trail, Future[_Tags]]]) -> None:
        """Ask the tags of ``todo``: one ``ListTags`` per home region and 20 trails of the
        caller's account; another account's trail (an organization trail seen from a member)
        alone, and a refusal there is its ``tags_error``, not a scan error."""
        if not todo:
            return
        lang = language()

        def launch(done: Future[str]) -> None:
            exc = done.exception()
            if exc is not None:  # who is asking could not be read: asked again next time
                with self._lock:
                    for trail, fut in todo:
                        if self._trail_tags.get((lang, trail.arn)) is fut:
                            del self._trail_tags[(lang, trail.arn)]
                for _trail, fut in todo:
                    fut.set_result((None, str(exc)))
                return
            caller = done.result()
            batches: dict[str, list[tuple[Trail, Future[_Tags]]]] = {}
            for trail, fut in todo:
                if trail.account and trail.account != caller:
                    self._tags_batch([(trail, fut)], trail.home_region, own=False)
                else:
                    batches.setdefault(trail.home_region, []).append((trail, fut))
            for region, items in batches.items():
                for at in range(0, len(items), LIST_TAGS_MAX):
                    self._tags_batch(items[at : at + LIST_TAGS_MAX], region, own=True)

        self._account_f().add_done_callback(launch)

    def _tags_batch(
        self, items: list[tuple[Trail, Future[_Tags]]], region: str, *, own: bool
    ) -> None:
        """One ``ListTags`` for ``items`` (trails of home region ``region``); ``own``: trails
        of the caller's account, whose refusal is a scan error."""
        arns = [t.arn for t, _fut in items]

        def ask() -> dict[str, _Tags]:
            return self._cloudtrail.list_tags(arns, region, note=own)

        asked = self._submit(_P_INVENTORY, ask)

        def split(done: Future[dict[str, _Tags]]) -> None:
            exc = done.exception()
            for trail, fut in items:
                if exc is not None:
                    fut.set_result((None, str(exc)))
                else:
                    fut.set_result(done.result().get(trail.arn, (None, None)))

        asked.add_done_callback(split)

    def _trail_tags_f(self, trail: Trail) -> Future[_Tags]:
        """The tags of ``trail`` (read with others of its region when started together)."""
        return self._start_tags([trail])[trail.arn]

    @requires("kms:ListResourceTags")
    def _with_key_tags(self, key: KeyInfo) -> KeyInfo | Future[KeyInfo]:
        """``key`` with its tags (``ListResourceTags``, once per key): only a customer managed
        key of the caller's account that could be described (KMS answers only for those)."""
        if key.tags is not None or key.tags_error is not None or key.error:
            return key
        if key.manager == "AWS":
            return key

        def read(caller: str) -> KeyInfo | Future[KeyInfo]:
            if key.account != caller:
                return key
            tags = self._once(
                self._key_tags,
                key.arn,
                lambda: self._submit(_P_INVENTORY, self._kms.resource_tags, key.arn, key.region),
            )
            return then(tags, lambda t: replace(key, tags=t[0], tags_error=t[1]))

        return then(self._account_f(), read)

    @requires("kms:ListResourceTags")
    def key_tags(self, key: KeyInfo) -> KeyInfo:
        """``key`` with its tags (see :meth:`_with_key_tags`); cached.

        Parameters
        ----------
        key : KeyInfo

        Returns
        -------
        KeyInfo
            With ``tags`` (or ``tags_error``); unchanged for another account's key, an AWS
            managed key or a key that could not be described.
        """
        return self._wait(then(resolved(key), self._with_key_tags))

    @requires("cloudtrail:ListTags")
    def trail_tags(self, trail: Trail) -> Trail:
        """``trail`` with its tags (``ListTags``, cached); a refusal is its ``tags_error``."""
        if trail.tags is not None or trail.tags_error is not None:
            return trail
        tags, error = self._wait(self._trail_tags_f(trail))
        return replace(trail, tags=tags, tags_error=error)

    def enrich(self, trails: Sequence[Trail], progress: Progress | None = None) -> list[Trail]:
        """Add status, bucket facts (each bucket read once) and tags (one ``ListTags`` per home
        region and 20 trails) to each trail.

        Parameters
        ----------
        trails : sequence of Trail
        progress : Progress, optional
            Called with (done, total) after every call.

        Returns
        -------
        list of Trail
            In the order given; a status or bucket that could not be read has ``error``, tags
            that could not be read ``tags_error``.
        """
        with self._reporting(progress):
            self._start_tags(trails)
            return self._wait(gather([self._enrich_f(t) for t in trails]))

    # -- buckets -------------------------------------------------------------------------
    @requires(
        "s3:ListBucket",
        "s3:GetBucketLocation",
        "s3:ListAllMyBuckets",
        "s3:GetEncryptionConfiguration",
        "s3:GetBucketPolicy",
    )
    def bucket(self, name: str) -> BucketInfo:
        """Region, owner, default encryption (Bucket Key) and policy of a bucket; read once.

        The region comes from ``HeadBucket`` (its ``x-amz-bucket-region`` header, sent even
        with a 403), else ``GetBucketLocation``; a bucket S3 says does not exist is ``missing``.
        The owner is the caller's account when ``ListBuckets`` (read once per reader) lists the
        bucket, else unknown.

        Parameters
        ----------
        name : str

        Returns
        -------
        BucketInfo
            What could not be read is None (region, Bucket Key, owner) and says why
            (``encryption_error``, ``policy_error``, ``error``); never raises for AWS failures.
        """
        return self._wait(self._bucket_f(name))

    def _bucket_f(self, name: str) -> Future[BucketInfo]:
        # A bucket that could not be read is an answer (BucketInfo.error), cached like any other.
        return self._once(self._buckets, name, lambda: self._read_bucket_f(name))

    def _owned_f(self) -> Future[frozenset[str] | None]:
        """The caller's own buckets (``ListBuckets``, once per reader); None: unknown."""
        return self._once(self._owned, "", lambda: self._submit(_P_LOCATION, self._s3.owned))

    def _owner_f(self, name: str) -> Future[tuple[str | None, bool]]:
        """Who owns bucket ``name``: (the caller's account when its ``ListBuckets`` lists the
        bucket, else None; whether it is known to be another account's).

        ``ListBuckets`` returns "all buckets owned by the authenticated sender of the request"
        (S3 API reference), so a bucket it does not list belongs to another account, which S3
        does not name. When ``ListBuckets`` was denied, both are unknown: (None, False).
        """

        def owner(parts: list[Any]) -> tuple[str | None, bool]:
            owned = cast("frozenset[str] | None", parts[0])
            info = cast("Future[ConnectionInfo]", parts[1])
            if owned is None:
                return None, False
            if name not in owned:
                return None, True
            return (info.result().account if info.exception() is None else None), False

        return then(gather([self._owned_f(), settled(self._info_f())]), owner)

    def _locate_f(self, name: str) -> Future[tuple[Located, ...]]:
        """``HeadBucket``, then ``GetBucketLocation`` only when that gave no region."""
        s3 = self._s3

        def fallback(head: Located) -> tuple[Located, ...] | Future[tuple[Located, ...]]:
            if head.region or head.missing:
                return (head,)
            located = self._submit(_P_LOCATION, s3.location, name)
            return then(located, lambda loc: (head, loc))

        return then(self._submit(_P_LOCATION, s3.head, name), fallback)

    def _read_bucket_f(self, name: str) -> Future[BucketInfo]:
        s3 = self._s3

        def located(parts: list[Any]) -> BucketInfo | Future[BucketInfo]:
            answers = cast("tuple[Located, ...]", parts[0])
            owner, foreign = cast("tuple[str | None, bool]", parts[1])
            gone = next((a for a in answers if a.missing), None)
            if gone is not None:
                operation = "HeadBucket" if gone is answers[0] else "GetBucketLocation"
                return missing_bucket(name, gone.missing_code, operation)
            where = next((a.region for a in answers if a.region), None)
            if where is None:
                # Only now are the failures worth reporting: either call would have done.
                failures = [
                    s3.failed(a.failure, name=name, region=None, foreign=foreign)
                    for a in answers
                    if a.failure is not None
                ]
                return unlocated_bucket(name, failures, owner_account=owner)
            encryption = self._submit(_P_INVENTORY, s3.encryption, name, where, foreign)
            policy = self._submit(_P_INVENTORY, s3.policy, name, where, foreign)
            return then(
                gather([encryption, policy]),
                lambda reads: bucket_info(name, where, reads[0], reads[1], owner_account=owner),
            )

        return then(gather([self._locate_f(name), self._owner_f(name)]), located)

    # -- keys ----------------------------------------------------------------------------
    @requires("kms:ListAliases")
    def aliases(self, region: str) -> dict[str, tuple[str, ...]]:
        """Key id -> alias names in ``region`` of the caller's account; read once per region.

        Parameters
        ----------
        region : str

        Returns
        -------
        dict

        Raises
        ------
        TrailkitError
            ``ListAliases`` failed (asked again next time).
        """
        return self._wait(self._aliases_f(region))

    def _aliases_f(self, region: str) -> Future[dict[str, tuple[str, ...]]]:
        return self._once(
            self._aliases, region, lambda: self._submit(_P_LIST, self._kms.aliases, region)
        )

    @requires("kms:ListAliases")
    def alias_target(self, alias: str, region: str) -> str | None:
        """The key id an alias name points to in ``region`` (None when there is no such alias).

        Parameters
        ----------
        alias, region : str

        Returns
        -------
        str or None

        Raises
        ------
        TrailkitError
            ``ListAliases`` failed.
        """
        for key_id, names in self.aliases(region).items():
            if alias in names:
                return key_id
        return None

    @requires("kms:DescribeKey", "kms:GetKeyPolicy", "kms:ListAliases")
    def key(self, key: str, region: str | None = None, *, with_policy: bool = True) -> KeyInfo:
        """Describe one key (ARN, or id/alias in ``region``) with its aliases and policy.

        A key of another account is described by ARN; its policy and aliases cannot be read
        from here and ``policy_error`` says so.

        Parameters
        ----------
        key : str
            Key ARN, key id, alias name or alias ARN.
        region : str, optional
            Where a bare id or alias is looked up (default: the connection's region).
        with_policy : bool
            Also read the key policy.

        Returns
        -------
        KeyInfo

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
            lang = language()  # the callback may run on a pool thread

            def by_arn(done: Future[KeyInfo]) -> None:
                if done.exception() is None:
                    with self._lock:
                        self._described.setdefault((lang, done.result().arn), done)

            fut.add_done_callback(by_arn)
        return fut

    def _read_key_f(self, key: str, where: str, candidate: bool) -> Future[KeyInfo]:
        account = self._account_f()
        priority = _P_CANDIDATE if candidate else _P_INVENTORY
        meta = self._submit(priority, self._kms.describe_key, key, where)
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
                    self._note(scan_error(exc, region=region), candidate)
                    return KeyInfo.from_api(data)
                return KeyInfo.from_api(data, aliases=done.result().get(str(data["KeyId"]), ()))

            return then_done(self._aliases_f(region), with_aliases)

        return then(gather([meta, account]), build)

    def _with_policy(self, key: KeyInfo, *, candidate: bool = False) -> KeyInfo | Future[KeyInfo]:
        """``key`` with its policy (read once per key); other accounts' keys are returned as is."""
        if key.policy is not None or key.policy_error is not None:
            return key
        priority = _P_CANDIDATE_POLICY if candidate else _P_INVENTORY
        policy = self._once(
            self._policies,
            key.arn,
            lambda: self._submit(priority, self._kms.key_policy, key.arn, key.region, candidate),
        )
        return then(policy, lambda p: replace(key, policy=p[0], policy_error=p[1]))

    def _latest(self, key: KeyInfo) -> KeyInfo:
        """``key`` with its policy if that was read meanwhile (e.g. because a trail uses it)."""
        if key.policy is not None or key.policy_error is not None:
            return key
        with self._lock:
            policy = self._policies.get((language(), key.arn))
        if policy is None or not policy.done() or policy.exception() is not None:
            return key
        text, error = policy.result()
        return replace(key, policy=text, policy_error=error)

    def _used_key_f(self, ident: str) -> Future[KeyInfo]:
        """A key a trail names, with its policy; a key that cannot be described has ``error``.

        A key KMS says does not exist is ``missing``: a fact read completely (the trail's health
        says it is broken), not a failed read, so it is not noted as a scan error (as a trail's
        deleted bucket is not); any other failure is."""

        def outcome(done: Future[KeyInfo]) -> KeyInfo:
            exc = done.exception()
            if not isinstance(exc, TrailkitError):
                return done.result()  # (re-raises anything unexpected)
            if not isinstance(exc, NotFound):
                self._note(scan_error(exc, region=arn_region(ident), resource=ident))
            return KeyInfo(
                arn=ident,
                key_id=resource_id(ident),
                account=arn_account(ident),
                region=arn_region(ident),
                error=str(exc),
                policy_error=str(exc),
                missing=isinstance(exc, NotFound),
            )

        described = then(self._key_f(ident, None, with_policy=True), self._with_rotation)
        return then_done(then(described, self._with_key_tags), outcome)

    def _key_in_use_f(self, ident: str, account: str | None) -> Future[KeyInfo]:
        """A key a trail of ``account`` uses: read by its owner's reader when the scan of several
        accounts reads that account too (:attr:`key_owner`), so that a key shared by many
        accounts (the log-archive account's) is described, and its policy read, once and with
        its owner's rights; else read here (:meth:`_used_key_f`)."""
        owner = arn_account(ident) if ident.startswith("arn:") else None
        route = self.key_owner
        if route is None or account is None or not owner or owner == account:
            return self._used_key_f(ident)
        theirs = route(owner)
        if theirs is None:
            return self._used_key_f(ident)

        def read(done: Future[Reader]) -> Future[KeyInfo]:
            if done.exception() is not None:  # its role could not be assumed: read from here
                return self._used_key_f(ident)
            other = done.result()

            def noted(key: KeyInfo) -> KeyInfo:
                if key.error and not key.missing:
                    # noted here too: the owner's inventory may be complete already
                    self._note(
                        ScanError(
                            operation="DescribeKey",
                            code="",
                            message=key.error,
                            region=key.region,
                            permission="kms:DescribeKey",
                            resource=ident,
                        )
                    )
                return key

            return then(other._used_key_f(ident), noted)

        return then_done(theirs, read)

    def _with_rotation(self, key: KeyInfo) -> KeyInfo | Future[KeyInfo]:
        """A key in use by a trail with its rotation status (``GetKeyRotationStatus``), read
        once per key, only for customer managed keys not pending deletion (AWS rotates its own
        keys; for a key pending deletion KMS answers false whatever the setting: see
        :func:`trailkit.rules.keyfacts.rotation_readable`)."""

        def read(caller: str) -> KeyInfo | Future[KeyInfo]:
            if not rotation_readable(key, caller):
                return key
            status = self._once(
                self._rotations,
                key.arn,
                lambda: self._submit(_P_INVENTORY, self._kms.rotation_status, key.arn, key.region),
            )
            return then(status, lambda r: replace(key, rotation=r[0], rotation_error=r[1]))

        return then(self._account_f(), read)

    def keys(self, key_arns: Iterable[str], progress: Progress | None = None) -> dict[str, KeyInfo]:
        """Describe several keys concurrently; a key that fails is returned with ``error``.

        Parameters
        ----------
        key_arns : iterable of str
        progress : Progress, optional
            Called with (done, total) after every call.

        Returns
        -------
        dict
            ARN -> KeyInfo, sorted by ARN.
        """
        arns = sorted(set(key_arns))
        with self._reporting(progress):
            found = self._wait(gather([self._used_key_f(a) for a in arns]))
        return dict(zip(arns, found, strict=True))

    @requires("kms:ListKeys", "kms:ListAliases", "kms:DescribeKey", "kms:GetKeyPolicy")
    def candidate_keys(
        self, region: str, *, progress: Progress | None = None
    ) -> tuple[KeyInfo, ...]:
        """Every customer key of ``region`` with aliases and metadata (cached per region).

        Policies are read only for keys that pass the cheap filters
        (:func:`trailkit.rules.keys.usable`): the others are blocked whatever their policy says.
        Keys with an ``alias/aws/...`` alias (AWS managed) are not even described. A second call
        for the same region makes no API call until :meth:`refresh`.

        Parameters
        ----------
        region : str
        progress : Progress, optional
            Called with (done, total) after every call.

        Returns
        -------
        tuple of KeyInfo
            In :func:`trailkit.rules.keys.ranked` order; a key that could not be described is
            left out (noted in :attr:`candidate_errors`).

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
        listed = self._submit(_P_LIST, self._kms.list_keys, region)
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
                    self._note(scan_error(exc, region=region, resource=arn), True)
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

    @requires("kms:DescribeKey", "kms:GetKeyPolicy", "kms:ListAliases")
    def lookup_key(self, ref: KeyRef, trail: Trail) -> KeyLookup:
        """Resolve a parsed identifier the way CloudTrail would for ``trail``.

        Bare ids and alias names resolve in the caller's account and the trail's home region
        (where ``UpdateTrail`` is sent); ARNs in their own account and region
        (:func:`trailkit.rules.keys.resolve_place`). A key of another account is described by
        its owner when :attr:`key_reader` reaches it (the caller's connection for a key of the
        caller's account, else the role assumed in the key's account), so its policy is known;
        when it does not, the key is described by ARN from here and its policy is reported as
        unreadable.

        Parameters
        ----------
        ref : KeyRef
            The parsed identifier.
        trail : Trail
            The trail it is meant for (with its bucket region).

        Returns
        -------
        KeyLookup
            The key, or why there is none (:func:`trailkit.rules.keys.lookup_problem`), and the
            same bare identifier in the bucket's region when that is elsewhere.

        Raises
        ------
        TrailkitError
            A failure that is the answer (e.g. ``KMSInvalidStateException``).
        """
        if ref.is_disable:
            return KeyLookup(ref=ref)
        caller = self.conn.account
        account, region, ident = key_rules.resolve_place(ref, trail, caller)
        owner = self._key_owner_reader(account, caller)
        try:
            key = owner.key(ident, region)
        except TrailkitError as err:
            # read by its owner, "no such key" means deleted (or never was), as in one account
            problem = key_rules.lookup_problem(err, account=account, caller=owner.conn.account)
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

    def _key_owner_reader(self, account: str, caller: str) -> Reader:
        """The reader that describes a key of ``account``: this one for the caller's keys or
        without :attr:`key_reader`, else the owner's when it can be reached."""
        if account == caller or self.key_reader is None:
            return self
        return self.key_reader(account) or self

    def _elsewhere(self, ref: KeyRef, trail: Trail, found_in: str | None = None) -> KeyInfo | None:
        """The same bare identifier in the bucket's region, to suggest its ARN."""
        region = key_rules.elsewhere_region(ref, trail, found_in)
        if region is None:
            return None
        try:
            return self.key(ref.canonical, region)
        except TrailkitError:
            return None

    # -- change history ------------------------------------------------------------------
    @requires("cloudtrail:LookupEvents")
    def history(
        self,
        trail: Trail,
        key: KeyInfo | None,
        *,
        since: datetime,
        until: datetime | None = None,
    ) -> History:
        """Who changed ``trail`` and its key, when and from where (CloudTrail's event history).

        Looks up, with ``LookupEvents``, each event of
        :data:`~trailkit.rules.history.TRAIL_EVENTS` in the trail's home Region and of
        :data:`~trailkit.rules.history.KEY_EVENTS` in the key's Region, and keeps those about
        this trail and key (see :mod:`trailkit.rules.history` for why by event name). Never part
        of :meth:`scan`: history is read only when asked for.

        Like every read of a reader, a lookup is made once: another trail or key of the same
        Region, or a window inside one already read, is answered from what was read (until
        :meth:`refresh`). The lookups run concurrently on the pool, paced to the two requests a
        second per Region that AWS accepts (:class:`~trailkit.aws.history.Pacer`).

        Parameters
        ----------
        trail : Trail
        key : KeyInfo or None
            The trail's key (None: the trail's ``KmsKeyId`` when it is a key ARN, else no key
            lookups).
        since : datetime
            The start of the window (e.g. :func:`~trailkit.rules.history.parse_since`); not
            earlier than 90 days ago (``LookupEvents`` keeps 90 days). A naive time is UTC.
        until : datetime, optional
            The end of the window (default: now).

        Returns
        -------
        History
            The events, newest first, each once; ``errors`` says what could not be read (a
            lookup denied, naming ``cloudtrail:LookupEvents``; throttled on every attempt; more
            events than :data:`~trailkit.rules.history.MAX_PAGES` pages; a trail or key of
            another account, whose changes are in that account's event history). Never raises
            for an AWS failure.

        Raises
        ------
        InputError
            ``since`` is after ``until``.
        """
        start, end = history_rules.window(since, until, datetime.now(UTC))
        try:
            caller: str | None = self._wait(self._account_f())
        except TrailkitError:
            caller = None  # unknown: every lookup is made; failures show in their own errors
        errors: list[ScanError] = []
        followed = history_rules.followed_key(trail, key)
        trail_region: str | None = trail.home_region
        if caller is not None and trail.account and trail.account != caller:
            errors.append(self._elsewhere_note(trail.arn, trail.account, caller, trail.home_region))
            trail_region = None
        key_region: str | None = None
        if followed is not None:
            key_region = followed[2]
            if caller is not None and followed[3] and followed[3] != caller:
                errors.append(self._elsewhere_note(followed[0], followed[3], caller, key_region))
                key_region = None
        planned = history_rules.lookups(trail_region or "", key_region)
        if trail_region is None:
            planned = tuple(p for p in planned if p.for_key)
        looked = [self._lookup_f(p, start, end, open_ended=until is None) for p in planned]
        found = self._wait(gather([answer for answer, _until in looked]))
        covered = min([end, *(upto for _answer, upto in looked)])
        batches = []
        for lookup, (events, error) in zip(planned, found, strict=True):
            if error is not None:
                errors.append(error)
            batches.append(
                history_rules.select(
                    events,
                    lookup,
                    trail,
                    followed[:2] if followed is not None else None,
                    since=start,
                    until=covered,
                )
            )
        return History(
            events=history_rules.merge_events(batches),
            since=start,
            until=covered,
            regions=tuple(dict.fromkeys(p.region for p in planned)),
            errors=tuple(sorted(dict.fromkeys(errors), key=error_order)),
        )

    @staticmethod
    def _elsewhere_note(arn: str, account: str, caller: str, region: str) -> ScanError:
        """The history of another account's trail or key is not in the caller's."""
        return ScanError(
            operation="LookupEvents",
            code=history_rules.OTHER_ACCOUNT,
            message=_(
                "The changes to {arn} are in the event history of account {account}, not of "
                "account {caller}: connect with that account to see them."
            ).format(arn=arn, account=account, caller=caller),
            region=region,
            resource=arn,
        )

    def _lookup_f(
        self, lookup: history_rules.Lookup, start: datetime, end: datetime, *, open_ended: bool
    ) -> tuple[Future[_Found], datetime]:
        """The lookup's answer (single-flight) and the time up to which it covers the window.

        A lookup made before serves a window inside its own, and a request "until now" is
        served by an earlier one "until now" (up to when that one was made). A lookup that
        failed or was cut short is not kept."""
        table_key = (language(), lookup.region, lookup.event_name)
        with self._lock:
            entries = self._lookups.setdefault(table_key, [])
            for s, e, o, existing in entries:
                if s <= start and (end <= e or (open_ended and o)):
                    return existing, min(e, end)
            mine: Future[_Found] = Future()
            entry: _Looked = (start, end, open_ended, mine)
            entries.append(entry)

        def forget_incomplete(done: Future[_Found]) -> None:
            if done.exception() is not None or done.result()[1] is not None:
                with self._lock:
                    kept = self._lookups.get(table_key, [])
                    if entry in kept:
                        kept.remove(entry)

        mine.add_done_callback(forget_incomplete)
        forward(self._submit(_P_INVENTORY, self._events.lookup, lookup, start, end), mine)
        return mine, end

    # -- whole account -------------------------------------------------------------------
    def scan(
        self,
        regions: Sequence[str] | None = None,
        *,
        progress: Progress | None = None,
        candidates: bool = False,
    ) -> Inventory:
        """Trails of every region with status, bucket facts and the keys they use.

        Parameters
        ----------
        regions : sequence of str, optional
            Limit the scan to these regions (default: every enabled region).
        progress : Progress, optional
            Called with (done, total) after every API call the scan started.
        candidates : bool
            Also read the candidate keys of every bucket region (as :meth:`candidate_keys`
            would, into the same cache), each starting as soon as a bucket's region is known.
            The scan returns when the inventory is complete; the candidate keys go on being read
            in the background (after the inventory's own calls), and :meth:`candidate_keys` (so
            ``runbook.candidates``) waits only for its region's. Ranking keys for the trails
            then makes no further API call. (With ``workers=1`` everything is read before the
            scan returns.)

        Returns
        -------
        Inventory
            Trails (each once), keys, and the errors of the regions or calls that failed.

        Raises
        ------
        TrailkitError
            The regions cannot be listed (only when ``regions`` is not given).
        """
        with self._lock:
            self.errors.clear()
        with self._reporting(progress):
            self._info_f()  # asked while the regions are listed
            if regions is None:
                regions = list_regions(self.conn)
            regions = list(dict.fromkeys(regions))
            region_results = [self._trails_f(region) for region in regions]
            return self._wait(self._inventory_f(regions, region_results, candidates=candidates))

    def _inventory_f(
        self,
        regions: list[str],
        region_results: list[Future[list[Trail] | ScanError]],
        *,
        candidates: bool = False,
        account: str | None = None,
        seen: Sequence[Trail] = (),
    ) -> Future[Inventory]:
        """The inventory of what ``region_results`` (``DescribeTrails`` of ``regions``) list.

        Never blocks: each region's trails start their reads as soon as the region answered.
        ``account``: the account read (a scan of several accounts); a trail of another account
        that it sees (an organization trail, seen from a member) is not read again here: only
        its status in ``account`` (``GetTrailStatus`` by ARN), kept as the trail's ``status``,
        its bucket and key are its owner's to read. ``seen``: such trails known from
        ``ListTrails`` alone (not described here), kept in the inventory's trails with their
        status.
        """
        info = self._info_f()
        started: set[str] = set()
        enriched: dict[str, Trail] = {}
        used: dict[str, Future[KeyInfo]] = {}
        # Tags: a trail's are asked with the other trails of its home region once that region
        # answered (one ListTags per home region and 20 trails); a shadow copy seen first in
        # another region waits for it, unless its home region is not read.
        waiting: dict[str, list[tuple[Trail, Future[_Tags]]]] = {}
        answered: set[str] = set()

        def tags_of(trail: Trail) -> Future[_Tags]:
            mine, todo = self._tag_slots([trail])
            with self._lock:
                hold = trail.home_region in regions and trail.home_region not in answered
                if hold:
                    waiting.setdefault(trail.home_region, []).extend(todo)
            if not hold:
                self._launch_tags(todo)
            return mine[trail.arn]

        def found(
            region: str | None, result: list[Trail] | ScanError
        ) -> list[Any] | Future[list[Any]]:
            """Start the reads a region's trails need, each trail once."""
            home = [] if isinstance(result, ScanError) or region is None else result
            _mine, todo = self._tag_slots(
                t
                for t in home
                if t.home_region == region
                and (account is None or not t.account or t.account == account)
            )
            with self._lock:
                if region is not None:
                    answered.add(region)
                    todo += waiting.pop(region, [])
            self._launch_tags(todo)
            if isinstance(result, ScanError):
                return []
            waits: list[Future[Any]] = []
            for trail in result:
                with self._lock:
                    if trail.arn in started:
                        continue
                    started.add(trail.arn)
                if account is not None and trail.account and trail.account != account:
                    status = self._submit(_P_INVENTORY, self.status, trail)
                    waits.append(then(status, self._keep_status(enriched, trail)))
                    continue
                waits.append(then(self._enrich_f(trail, tags_of(trail)), self._keep(enriched)))
                if trail.kms_key_id:
                    with self._lock:
                        fresh = trail.kms_key_id not in used
                        if fresh:
                            used[trail.kms_key_id] = Future()
                    if fresh:
                        forward(
                            self._key_in_use_f(trail.kms_key_id, account), used[trail.kms_key_id]
                        )
                        waits.append(used[trail.kms_key_id])
                if candidates and trail.bucket_name:
                    # Not waited for: the inventory does not need them.
                    then(self._bucket_f(trail.bucket_name), self._prefetch_candidates)
            return gather(waits)

        def flush(region: str, done: Future[list[Trail] | ScanError]) -> None:
            if done.exception() is not None:  # the scan stops: ask what waited for it
                with self._lock:
                    answered.add(region)
                    todo = waiting.pop(region, [])
                self._launch_tags(todo)

        for region, result in zip(regions, region_results, strict=True):
            result.add_done_callback(functools.partial(flush, region))
        waits: list[Future[Any]] = [
            then(r, functools.partial(found, region))
            for region, r in zip(regions, region_results, strict=True)
        ]
        if seen:
            waits.append(cast("Future[Any]", found(None, list(seen))))

        def build(parts: list[Any]) -> Inventory:
            ident = cast("ConnectionInfo", parts[-1])
            results = [r.result() for r in region_results]
            trails, errors = merge_trails(regions, results)
            listed = {t.arn for t in trails}
            trails += [enriched.get(t.arn, t) for t in seen if t.arn not in listed]
            trails = [
                replace(enriched[t.arn], seen_in=t.seen_in) if t.arn in enriched else t
                for t in trails
            ]
            keys = {k: used[k].result() for k in sorted(used)}
            with self._lock:
                noted = sorted(dict.fromkeys(self.errors), key=error_order)
            return Inventory(
                connection=ident,
                regions=tuple(regions),
                trails=tuple(trails),
                keys=MappingProxyType(keys),
                errors=tuple(errors) + tuple(noted),
                calls=MappingProxyType(dict(self.conn.calls)),
            )

        return then(gather([*waits, info]), build)

    def count_into(self, counter: _Counter | None) -> None:
        """Report the calls started from now on to ``counter`` (shared by several readers: the
        progress of a scan of several accounts), or to nobody (None)."""
        self._progress = counter

    def regions_scan_f(
        self, regions: Sequence[str], *, account: str | None = None
    ) -> Future[Inventory]:
        """The inventory of ``regions`` (``DescribeTrails`` in each, as :meth:`scan`), never
        blocking: for a scan of several accounts on a shared pool (``account`` as for
        :meth:`listed_scan_f`)."""
        with self._lock:
            self.errors.clear()
        wanted = list(dict.fromkeys(regions))
        results = [self._trails_f(region) for region in wanted]
        return self._inventory_f(wanted, results, account=account)

    @requires("cloudtrail:ListTrails", "cloudtrail:DescribeTrails")
    def listed_scan_f(
        self,
        fallback: Sequence[str] = (),
        *,
        account: str | None = None,
        owners_read: Iterable[str] = (),
    ) -> Future[Inventory]:
        """The inventory of the account from ``ListTrails``: never blocks (for the pool).

        ``ListTrails`` (one call, in the connection's region) names every trail of the account
        with its home region; ``DescribeTrails`` is then asked only in those home regions
        (usually one or two) instead of in every region. When ``ListTrails`` fails (e.g. a role
        without ``cloudtrail:ListTrails``) and ``fallback`` regions are given, ``DescribeTrails``
        is asked in each of them, as :meth:`scan` does.

        Parameters
        ----------
        fallback : sequence of str
            The regions to ask when ``ListTrails`` fails.
        account : str, optional
            As for a scan of several accounts: another account's trail seen here (an
            organization trail in a member) gets only its status in this account.
        owners_read : iterable of str
            Accounts whose own trails the same scan reads (the management account): a trail of
            theirs that ``ListTrails`` shows here is not described again (no ``DescribeTrails``
            in its home region for it): only its status here is read, by ARN.

        Returns
        -------
        Future of Inventory
            Its ``regions``: the regions asked. Fails with the ``TrailkitError`` of
            ``ListTrails`` when there is no fallback, or when the caller's own credentials
            expired.
        """
        with self._lock:
            self.errors.clear()
        self._info_f()
        listed = self._submit(_P_TRAILS, self._cloudtrail.list_trails, self.conn.region)
        owners = frozenset(owners_read)

        def plan(done: Future[list[tuple[str, str]]]) -> Future[Inventory]:
            exc = done.exception()
            if exc is not None:
                if not isinstance(exc, TrailkitError) or not fallback or self._stops(exc):
                    raise exc
                regions = list(dict.fromkeys(fallback))
                seen: list[Trail] = []
            else:
                listed_here = done.result()
                seen = [
                    _seen_trail(arn, home)
                    for arn, home in listed_here
                    if arn_account(arn) in owners and arn_account(arn) != account
                ]
                skipped = {t.arn for t in seen}
                regions = sorted({home for arn, home in listed_here if arn not in skipped})
            results = [self._trails_f(region) for region in regions]
            return self._inventory_f(regions, results, account=account, seen=seen)

        return then_done(listed, plan)

    @staticmethod
    def _keep(table: dict[str, Trail]) -> Callable[[Trail], Trail]:
        def keep(trail: Trail) -> Trail:
            table[trail.arn] = trail
            return trail

        return keep

    @staticmethod
    def _keep_status(table: dict[str, Trail], trail: Trail) -> Callable[[TrailStatus], Trail]:
        def keep(status: TrailStatus) -> Trail:
            table[trail.arn] = replace(trail, status=status)
            return table[trail.arn]

        return keep

    def _prefetch_candidates(self, bucket: BucketInfo) -> Future[Any] | None:
        """Read the candidate keys of the bucket's region into the cache (failures are left for
        :meth:`candidate_keys` to report)."""
        if not bucket.region:
            return None
        return settled(self._candidates_f(bucket.region))


def _seen_trail(arn: str, home: str) -> Trail:
    """Another account's trail as ``ListTrails`` names it (ARN and home region only): an
    organization trail seen from a member, whose description its owner reads."""
    return Trail(
        name=resource_id(arn),
        arn=arn,
        home_region=home,
        account=arn_account(arn),
        multi_region=False,
        organization=True,
        bucket_name="",
        s3_prefix=None,
        kms_key_id=None,
        log_file_validation=False,
    )


def scan(
    conn: Connection,
    regions: Sequence[str] | None = None,
    *,
    workers: int | None = None,
    progress: Progress | None = None,
) -> Inventory:
    """Inventory every trail of the account and the keys they use.

    Parameters
    ----------
    conn : Connection
        The connection.
    regions : sequence of str, optional
        Limit the scan to these regions (default: every enabled region).
    workers : int, optional
        Concurrent calls (default: the connection's).
    progress : Progress, optional
        Called with (done, total) after every API call; a tqdm bar is drawn by
        :func:`trailkit.ui.progress.scan`.

    Returns
    -------
    Inventory
        Trails (each once), keys, and the errors of the regions or calls that failed.

    Raises
    ------
    TrailkitError
        The regions cannot be listed (only when ``regions`` is not given).
    """
    return Reader(conn, workers=workers).scan(regions, progress=progress)
