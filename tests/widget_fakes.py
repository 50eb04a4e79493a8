"""Fakes for the widget tests: records built by hand, an in-memory journal and runbook.

Nothing here talks to AWS or to a moto server. The estate mirrors a part of the demo estate
(``trailkit/demo/resources``): the same trail and alias names, the same key and bucket policies
(built with the demo's pure policy templates), so a widget shows the same verdicts as on the
demo. Reports and plans come from the pure rules (:func:`~trailkit.rules.checks.preflight`,
:func:`~trailkit.rules.checks.rank_candidates`, :func:`~trailkit.rules.plan.plan_change`,
:func:`~trailkit.rules.repair.plan_repair`).

* :class:`FakeEstate`: trails, buckets and keys as records, mutable through the fake writes;
* :class:`FakeJournal`: a :class:`~trailkit.ui.widgets._ports.JournalSource` in memory;
* :class:`FakeRunbook`: a :class:`~trailkit.ui.widgets._ports.GuidedRunbook` that records every
  call in :attr:`FakeRunbook.calls` and changes the fake estate when a confirmed write is sent.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

from trailkit.demo.estate import (
    DEMO_ACCOUNT,
    DEMO_REGIONS,
    SECOND_ACCOUNT,
    cloudtrail_bucket_policy,
    cloudtrail_key_policy,
    root_key_policy,
)
from trailkit.errors import JournalError, KeyIdError, NotFound, TrailkitError
from trailkit.i18n import _
from trailkit.records import (
    ApplyResult,
    BucketInfo,
    Change,
    ConnectionInfo,
    Delivery,
    Inventory,
    KeyInfo,
    Kind,
    Outcome,
    Phase,
    PolicyResult,
    ReadResult,
    Record,
    Trail,
    TrailStatus,
)
from trailkit.records.journal import undoable
from trailkit.rules.checks import KeyLookup, Report, Verdict, preflight, rank_candidates
from trailkit.rules.keyids import parse_key_id
from trailkit.rules.plan import Plan, bucket_region_key, plan_change
from trailkit.rules.repair import Repair, plan_repair, repairable

__all__ = [
    "ACCOUNT",
    "BUCKETKEY_KEY",
    "DENY",
    "GOOD",
    "GOOD_USW2",
    "INFO",
    "NO_CLOUDTRAIL",
    "SHARED",
    "UNREADABLE",
    "FakeEstate",
    "FakeJournal",
    "FakeRunbook",
]

ACCOUNT = DEMO_ACCOUNT
GOOD = "alias/cloudtrail-good"
DENY = "alias/explicit-deny"
NO_CLOUDTRAIL = "alias/no-cloudtrail"
GOOD_USW2 = "alias/cloudtrail-good-usw2"
BUCKETKEY_KEY = "alias/cloudtrail-bucketkey-usw2"
#: A key whose policy cannot be read (its verdict is UNVERIFIABLE).
UNREADABLE = "alias/policy-unreadable"
#: The log-archive account's key: not describable from the management account.
SHARED = "alias/shared-logs-key"

INFO = ConnectionInfo(
    account=ACCOUNT,
    caller_arn=f"arn:aws:iam::{ACCOUNT}:user/operator",
    endpoint="http://127.0.0.1:5999",
    region="us-east-1",
    demo=True,
)

_CLOUDTRAIL = "cloudtrail.amazonaws.com"
_DENY_ENCRYPT = {
    "Sid": "DenyCloudTrailEncrypt",
    "Effect": "Deny",
    "Principal": {"Service": _CLOUDTRAIL},
    "Action": "kms:GenerateDataKey*",
    "Resource": "*",
}
_BUCKET_KEY_DECRYPT = {
    "Sid": "Allow CloudTrail to decrypt for the S3 Bucket Key",
    "Effect": "Allow",
    "Principal": {"Service": _CLOUDTRAIL},
    "Action": "kms:Decrypt",
    "Resource": "*",
    "Condition": {
        "StringLike": {
            "kms:EncryptionContext:aws:cloudtrail:arn": f"arn:aws:cloudtrail:*:{ACCOUNT}:trail/*"
        }
    },
}


def _key_id(alias: str, account: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{account}/{alias}"))


def make_key(
    alias: str,
    region: str = "us-east-1",
    *,
    policy: Mapping[str, Any] | None = None,
    account: str = ACCOUNT,
    state: str = "Enabled",
    key_spec: str = "SYMMETRIC_DEFAULT",
    key_usage: str = "ENCRYPT_DECRYPT",
    policy_error: str | None = None,
) -> KeyInfo:
    """A customer managed key as ``Reader`` describes it."""
    key_id = _key_id(alias, account)
    return KeyInfo(
        arn=f"arn:aws:kms:{region}:{account}:key/{key_id}",
        key_id=key_id,
        account=account,
        region=region,
        aliases=(alias,),
        state=state,
        key_spec=key_spec,
        key_usage=key_usage,
        manager="CUSTOMER",
        description=f"fake: {alias}",
        policy=json.dumps(policy) if policy is not None else None,
        policy_error=policy_error,
    )


def make_trail(
    name: str,
    home: str,
    bucket: str,
    bucket_region: str,
    *,
    key: str | None = None,
    multi_region: bool = False,
    organization: bool = False,
    validation: bool = False,
    logging: bool = True,
    require_kms: bool = False,
    bucket_default_key: str | None = None,
    bucket_key: bool = False,
) -> Trail:
    """A trail with its status and bucket facts, as ``Reader.scan`` returns it."""
    arn = f"arn:aws:cloudtrail:{home}:{ACCOUNT}:trail/{name}"
    policy = cloudtrail_bucket_policy(
        bucket, ACCOUNT, arn, require_kms=require_kms, organization=organization
    )
    return Trail(
        name=name,
        arn=arn,
        home_region=home,
        account=ACCOUNT,
        multi_region=multi_region,
        organization=organization,
        bucket_name=bucket,
        s3_prefix=None,
        kms_key_id=key,
        log_file_validation=validation,
        seen_in=tuple(DEMO_REGIONS) if multi_region else (home,),
        status=TrailStatus(is_logging=logging),
        bucket=BucketInfo(
            name=bucket,
            region=bucket_region,
            default_encryption="aws:kms" if bucket_default_key else "AES256",
            default_kms_key=bucket_default_key,
            bucket_key=bucket_key,
            policy=json.dumps(policy),
        ),
    )


class FakeEstate:
    """Part of the demo estate as records; the fake writes change it in place."""

    def __init__(self) -> None:
        def ct(region: str, **kw: Any) -> dict[str, Any]:
            return cloudtrail_key_policy(ACCOUNT, region=region, **kw)

        keys = [
            make_key(GOOD, policy=ct("us-east-1")),
            make_key(NO_CLOUDTRAIL, policy=root_key_policy(ACCOUNT)),
            make_key("alias/encrypt-no-describe", policy=ct("us-east-1", describe=False)),
            make_key(DENY, policy=ct("us-east-1", extra=(_DENY_ENCRYPT,))),
            make_key("alias/cloudtrail-disabled", policy=ct("us-east-1"), state="Disabled"),
            make_key(
                "alias/rsa-signing",
                policy=ct("us-east-1"),
                key_spec="RSA_2048",
                key_usage="SIGN_VERIFY",
            ),
            make_key(UNREADABLE, policy_error="AccessDeniedException: kms:GetKeyPolicy"),
            make_key("alias/cloudtrail-good-euw1", "eu-west-1", policy=ct("eu-west-1")),
            make_key(GOOD_USW2, "us-west-2", policy=ct("us-west-2")),
            make_key(
                BUCKETKEY_KEY, "us-west-2", policy=ct("us-west-2", extra=(_BUCKET_KEY_DECRYPT,))
            ),
            make_key("alias/bucket-default-usw2", "us-west-2", policy=root_key_policy(ACCOUNT)),
            make_key(
                SHARED,
                account=SECOND_ACCOUNT,
                policy=cloudtrail_key_policy(
                    SECOND_ACCOUNT, region="us-east-1", trail_account=ACCOUNT
                ),
            ),
        ]
        self.keys: dict[str, KeyInfo] = {k.aliases[0]: k for k in keys}
        arn = self.arn
        trails = [
            make_trail(
                "org-trail",
                "us-east-1",
                f"tk-org-logs-{ACCOUNT}",
                "us-east-1",
                multi_region=True,
                organization=True,
                validation=True,
            ),
            make_trail(
                "app-trail",
                "eu-west-1",
                "tk-app-logs-euw1",
                "eu-west-1",
                key=arn("alias/cloudtrail-good-euw1"),
                validation=True,
                require_kms=True,
                bucket_default_key=arn("alias/cloudtrail-good-euw1"),
            ),
            make_trail("tokyo-trail", "ap-northeast-1", "tk-tokyo-logs-usw2", "us-west-2"),
            make_trail(
                "bucketkey-trail",
                "us-west-2",
                "tk-bucketkey-logs-usw2",
                "us-west-2",
                bucket_default_key=arn("alias/bucket-default-usw2"),
                bucket_key=True,
            ),
            make_trail(
                "stale-key-trail",
                "us-east-1",
                "tk-stale-logs-use1",
                "us-east-1",
                key=arn("alias/cloudtrail-disabled"),
                logging=False,
            ),
        ]
        self.trails: dict[str, Trail] = {t.arn: t for t in trails}

    # -- lookups -----------------------------------------------------------------------------
    def arn(self, alias: str) -> str:
        """The key ARN of ``alias``."""
        return self.keys[alias].arn

    def key_id(self, alias: str) -> str:
        """The key id of ``alias``."""
        return self.keys[alias].key_id

    def trail(self, name_or_arn: str) -> Trail:
        """The trail with that name or ARN (NotFound otherwise)."""
        for t in self.trails.values():
            if name_or_arn in (t.arn, t.name):
                return t
        raise NotFound(f"No trail {name_or_arn!r} (fake estate).", "")

    def candidates(self, region: str) -> tuple[KeyInfo, ...]:
        """The caller's keys of ``region`` (what ``Reader.candidate_keys`` lists)."""
        return tuple(k for k in self.keys.values() if k.region == region and k.account == ACCOUNT)

    def inventory(self) -> Inventory:
        """A scan of the estate."""
        keys = {k.arn: k for k in self.keys.values()}
        used = {t.kms_key_id: keys[t.kms_key_id] for t in self.trails.values() if t.kms_key_id}
        return Inventory(
            connection=INFO,
            regions=tuple(DEMO_REGIONS),
            trails=tuple(self.trails.values()),
            keys=MappingProxyType(used),
        )

    def lookup(self, text: str, trail: Trail) -> KeyLookup:
        """Resolve an identifier like ``Reader.lookup_key`` (other accounts: unreadable)."""
        ref = parse_key_id(text)
        if ref.is_disable:
            return KeyLookup(ref=ref)
        if ref.is_arn:
            account, region = str(ref.account), str(ref.region)
        else:
            account, region = ACCOUNT, trail.home_region
        for key in self.keys.values():
            if key.account != account or key.region != region:
                continue
            if text.strip() in (key.arn, key.key_id, *key.aliases) or (
                ref.alias is not None and ref.alias in key.aliases
            ):
                if account != ACCOUNT:
                    break
                return KeyLookup(ref=ref, key=key, resolved_in=(account, region))
        problem = "not-found" if account == ACCOUNT else "unreadable"
        return KeyLookup(
            ref=ref,
            problem=problem,
            message="AccessDeniedException: not authorized (fake)."
            if problem == "unreadable"
            else "NotFoundException (fake).",
            resolved_in=(account, region),
        )

    # -- pure rules on the estate ----------------------------------------------------------
    def check(self, trail: str | Trail, key: str) -> Report:
        """Pre-flight, as ``trailkit.runbook.check`` does it, on the fake records."""
        found = trail if isinstance(trail, Trail) else self.trail(trail)
        try:
            lookup = self.lookup(key, found)
        except KeyIdError as err:
            return preflight(
                trail=found,
                trail_input=found.arn,
                key_input=key,
                lookup=None,
                caller_account=ACCOUNT,
                key_error=str(err),
            )
        return preflight(
            trail=found,
            trail_input=found.arn,
            key_input=key,
            lookup=lookup,
            caller_account=ACCOUNT,
        )

    def plan(self, trail: str, key: str) -> Plan:
        """Pre-flight and plan."""
        return plan_change(self.check(trail, key))

    def rank(self, trail: Trail) -> list[Verdict]:
        """The caller's keys of the bucket region, ranked."""
        return rank_candidates(trail, self.candidates(str(trail.bucket_region)), ACCOUNT)

    def repair(self, trails: Sequence[str], alias: str) -> Repair:
        """The add-only repair of ``alias``'s policy for ``trails``."""
        return plan_repair(self.keys[alias], [self.trail(t) for t in trails])


class FakeJournal:
    """A change journal in memory (a :class:`~trailkit.ui.widgets._ports.JournalSource`)."""

    def __init__(self, path: str = "/fake/journal.jsonl") -> None:
        self._path = Path(path)
        self.records: list[Record] = []
        self.problems: list[str] = []
        self._ids = itertools.count(1)

    @property
    def path(self) -> Path:
        return self._path

    def record(
        self,
        kind: Kind,
        target_arn: str,
        before: str | None,
        after: str | None,
        *,
        region: str = "us-east-1",
        rollback_of: str | None = None,
        outcome: Phase | None = Phase.DONE,
        error: str | None = None,
    ) -> str:
        """Append an intent (and its outcome, unless ``outcome`` is None); returns the id."""
        change_id = f"chg-fake-{next(self._ids):03d}"
        base = Record(
            change_id=change_id,
            phase=Phase.INTENT,
            kind=kind,
            time="2026-11-29T12:00:00Z",
            caller_arn=INFO.caller_arn,
            account=ACCOUNT,
            endpoint=INFO.endpoint,
            backend=INFO.backend,
            target_arn=target_arn,
            region=region,
            before=before,
            after=after,
            rollback_of=rollback_of,
        )
        self.records.append(base)
        if outcome is not None:
            self.records.append(
                dataclasses.replace(
                    base,
                    phase=outcome,
                    error=error if outcome is Phase.FAILED else None,
                    after=before if outcome is Phase.FAILED else after,
                )
            )
        return change_id

    def read(self) -> ReadResult:
        return ReadResult(tuple(self.records), tuple(self.problems))

    def changes(self) -> list[Change]:
        intents: dict[str, Record] = {}
        outcomes: dict[str, Record] = {}
        for r in self.records:
            (intents if r.phase is Phase.INTENT else outcomes)[r.change_id] = r
        return [Change(cid, intent, outcomes.get(cid)) for cid, intent in intents.items()]

    def get(self, change_id: str) -> Change:
        for change in self.changes():
            if change.change_id == change_id:
                return change
        raise JournalError(f"No change {change_id!r} in {self._path}.", "")


class FakeRunbook:
    """The use cases a :class:`~trailkit.ui.widgets.GuidedUpdate` calls, on a fake estate.

    Every call is recorded in :attr:`calls` as ``(method, *arguments)``. A method named in
    ``fail`` raises that error instead. Writes happen only with ``confirmed=True``: a trail
    change sets the trail's key, a policy repair replaces the key's policy, and both are
    journaled in :attr:`journal`.
    """

    def __init__(
        self,
        estate: FakeEstate | None = None,
        journal: FakeJournal | None = None,
        *,
        info: ConnectionInfo = INFO,
        regions: Sequence[str] | None = DEMO_REGIONS,
        fail: Mapping[str, TrailkitError] | None = None,
    ) -> None:
        self.estate = estate or FakeEstate()
        self._journal = journal or FakeJournal()
        self._info = info
        self._regions = list(regions) if regions else None
        self.fail = dict(fail or {})
        self.calls: list[tuple[Any, ...]] = []

    def _call(self, name: str, *args: Any) -> None:
        self.calls.append((name, *args))
        if name in self.fail:
            raise self.fail[name]

    def called(self, name: str) -> list[tuple[Any, ...]]:
        """The arguments of every call of ``name``."""
        return [c[1:] for c in self.calls if c[0] == name]

    # -- the GuidedRunbook protocol ----------------------------------------------------------
    @property
    def journal(self) -> FakeJournal:
        return self._journal

    @property
    def regions(self) -> Sequence[str] | None:
        return self._regions

    @property
    def demo(self) -> bool:
        return self._info.demo

    def info(self) -> ConnectionInfo:
        self._call("info")
        return self._info

    def refresh(self) -> None:
        self._call("refresh")

    def list_trails(self) -> list[Trail]:
        self._call("list_trails")
        return list(self.estate.trails.values())

    def find_trail(self, trail: str) -> Trail:
        self._call("find_trail", trail)
        return self.estate.trail(trail)

    def reread(self, trail: Trail) -> Trail:
        self._call("reread", trail.arn)
        return self.estate.trail(trail.arn)

    def rank(self, trail: Trail) -> list[Verdict]:
        self._call("rank", trail.arn)
        return self.estate.rank(trail)

    def check(self, trail: Trail, key: str) -> Report:
        self._call("check", trail.arn, key)
        return self.estate.check(trail, key)

    def plan(self, report: Report) -> Plan:
        self._call("plan", report.key_input)
        return plan_change(report)

    def repair_for(self, report: Report) -> Repair | None:
        self._call("repair_for", report.key_input)
        if report.key is None or report.trail is None or not repairable(report):
            return None
        return plan_repair(report.key, [report.trail])

    def apply(self, plan: Plan, *, confirmed: bool) -> ApplyResult:
        self._call("apply", plan, confirmed)
        if confirmed is not True:
            return ApplyResult(plan, Outcome.REFUSED, "Not confirmed: nothing was sent.")
        plan.require_applicable()
        trail = self.estate.trail(plan.trail.arn)
        if trail.kms_key_id != plan.before_key:
            return ApplyResult(plan, Outcome.REFUSED, f"{trail.name} changed since the plan.")
        change_id = self._journal.record(
            Kind.TRAIL_KEY,
            trail.arn,
            plan.before_key,
            plan.after_key,
            region=plan.region,
            rollback_of=plan.rollback_of,
        )
        self.estate.trails[trail.arn] = dataclasses.replace(trail, kms_key_id=plan.after_key)
        now = plan.describe_state(plan.after_key)
        return ApplyResult(
            plan,
            Outcome.DONE,
            # the real layer's message ids, so that the fake speaks the operator's language too
            _("{name} now uses {now}; read back and verified.").format(name=trail.name, now=now),
            change_id=change_id,
            key_after=plan.after_key,
            verified=True,
            delivery=Delivery(TrailStatus(is_logging=True)),
        )

    def plan_rollback(self, change_id: str | None = None) -> Plan:
        if change_id is None:
            changes = self.undoable()
            if not changes:
                raise JournalError("Nothing to roll back (fake).", "")
            change_id = changes[0].change_id
        change = self._journal.get(change_id)
        report = self.estate.check(change.intent.target_arn, change.intent.before or "")
        return plan_change(report, rollback_of=change_id)

    def rollback(
        self, change_id: str | None = None, *, confirmed: bool, accept_unverifiable: bool = False
    ) -> ApplyResult:
        self._call("rollback", change_id, confirmed)
        plan = self.plan_rollback(change_id)
        plan.require_verified(accept_unverifiable is True)  # as Runbook.rollback
        return self.apply(plan, confirmed=confirmed)

    def apply_repair(self, repair: Repair, *, confirmed: bool) -> PolicyResult:
        self._call("apply_repair", repair, confirmed)
        if confirmed is not True:
            return PolicyResult(repair.key.arn, Outcome.REFUSED, "Not confirmed.")
        alias = next(a for a, k in self.estate.keys.items() if k.arn == repair.key.arn)
        change_id = self._journal.record(
            Kind.KEY_POLICY,
            repair.key.arn,
            repair.original_text,
            repair.policy_text,
            region=repair.key.region,
        )
        self.estate.keys[alias] = dataclasses.replace(repair.key, policy=repair.policy_text)
        return PolicyResult(
            repair.key.arn,
            Outcome.DONE,
            _("Key policy updated and read back."),
            change_id=change_id,
        )

    def verify(self, trail: Trail) -> Delivery:
        self._call("verify", trail.arn)
        return Delivery(TrailStatus(is_logging=True))

    def undoable(self, trail_arn: str | None = None) -> list[Change]:
        self._call("undoable", trail_arn)
        return [
            c
            for c in undoable(self._journal.changes())
            if c.intent.kind is Kind.TRAIL_KEY
            and (trail_arn is None or c.intent.target_arn == trail_arn)
        ]

    # -- what the other views are given (JournalView's undo, BulkUpdate's plan/apply) ------
    def undo(
        self, change_id: str, *, confirmed: bool, accept_unverifiable: bool = False
    ) -> ApplyResult | PolicyResult:
        self._call("undo", change_id, confirmed)
        return self.rollback(
            change_id, confirmed=confirmed, accept_unverifiable=accept_unverifiable
        )

    def candidate_keys(self, region: str) -> tuple[KeyInfo, ...]:
        self._call("candidate_keys", region)
        return self.estate.candidates(region)

    def plan_many(
        self, trails: Sequence[Trail], keys_by_region: Mapping[str, str]
    ) -> list[tuple[Trail, Plan | TrailkitError]]:
        self._call("plan_many", [t.name for t in trails], dict(keys_by_region))
        rows: list[tuple[Trail, Plan | TrailkitError]] = []
        for given in trails:
            trail = self.estate.trail(given.arn)
            try:
                key = bucket_region_key(trail, keys_by_region)
            except TrailkitError as err:
                rows.append((trail, err))
                continue
            rows.append((trail, plan_change(self.estate.check(trail, key))))
        return rows

    def apply_many(self, plans: Sequence[Plan], *, confirmed: bool) -> list[ApplyResult]:
        self._call("apply_many", [p.trail.name for p in plans], confirmed)
        return [self.apply(p, confirmed=confirmed) for p in plans]
