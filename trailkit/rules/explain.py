"""One trail's drill-down (issue 15, item 5): everything an investigator asks about a trail's
encryption, assembled from what was read (pure, no AWS call).

:func:`explain` puts together, for one trail as it is now:

* the trail and its bucket (home region, multi-Region, organization, logging, the bucket's
  region, S3 Bucket Key, prefix);
* the key card: the key's names and state and its facts (:func:`trailkit.rules.keyfacts.
  key_facts`: deletion date and days left first, rotation, manager, origin, multi-Region role,
  creation date);
* its health (:func:`trailkit.rules.health.health`, the same rules as a change);
* the key policy statements that decide CloudTrail's access: each request CloudTrail makes of
  KMS for the trail (:func:`trailkit.rules.requests.cloudtrail_requests`) evaluated by
  :func:`trailkit.rules.policy.evaluate` exactly as ``trailkit check`` evaluates it, with the
  deciding statements (``Sid``, ``Effect`` and why) and the conditions that fail;
* who may decrypt the logs, per account (:func:`trailkit.rules.readers.account_readers`, as the
  ``policy-readers`` rule of ``check`` asks it);
* the delivery status (``GetTrailStatus``) with each delivery error's cause and fix
  (:func:`trailkit.rules.delivery.delivery_cause`);
* the change history (:class:`trailkit.records.history.History`), newest first, when it was
  asked for;
* what could not be read (a :class:`~trailkit.records.ScanError` each, never dropped).

The views (``trailkit explain``, the notebook's trail explorer) render the same
:class:`Explanation`; :meth:`Explanation.as_dict` is the JSON of ``trailkit explain --format
json`` (field names in English, times as UTC ISO text, codes untranslated).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from trailkit.i18n import N_, _
from trailkit.records import KeyInfo, ScanError, Trail, utc_iso
from trailkit.records.history import History, HistoryEvent
from trailkit.rules import policy as pol
from trailkit.rules import readers as rd

# The organization-path variants and the reader's aws:s3:arn values are the ones check uses
# (one rule, one place); they are private to checks today.
from trailkit.rules.checks import cloudtrail_answers, reader_s3_arns
from trailkit.rules.delivery import DeliveryCause, delivery_cause
from trailkit.rules.health import Health, health
from trailkit.rules.keyfacts import KeyFacts, key_facts
from trailkit.rules.ownership import DEFAULT_OWNER_TAG_KEYS, Ownership, ownership

__all__ = [
    "REQUIRED_WORDS",
    "DeliveryProblem",
    "DeliveryView",
    "Explanation",
    "PolicyAccess",
    "RequestDecision",
    "StatementNote",
    "explain",
]

#: The KMS action of each request CloudTrail makes (:func:`cloudtrail_requests`' names).
_ACTIONS = {
    "encrypt": "kms:GenerateDataKey*",
    "describe": "kms:DescribeKey",
    "decrypt": "kms:Decrypt",
}

#: Whether AWS requires a request (``RequestDecision.required``), as a person reads it.
REQUIRED_WORDS = {
    "required": N_("required"),
    "if-bucket-key": N_("required with an S3 Bucket Key"),
    "best-practice": N_("best practice"),
}


@dataclass(frozen=True)
class StatementNote:
    """A key policy statement that decides a request, or the closest one that fails.

    Parameters
    ----------
    index
        Its position in the policy (0-based).
    sid, effect
        ``Sid`` (None when it has none) and ``Effect`` as written.
    label
        How people name it (``statement "Sid"``, ``statement #3``), translated.
    role
        ``deciding`` (the Allow that allows, the Deny that denies) or ``near-miss`` (an Allow whose
        principal, action and resource match but a condition fails).
    why
        Why, in the operator's language: what matched, or each failing condition.
    statement
        The statement as written in the policy (JSON object), or None when it cannot be found.
    """

    index: int
    sid: str | None
    effect: str
    label: str
    role: str
    why: str
    statement: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "index": self.index,
            "sid": self.sid,
            "effect": self.effect,
            "role": self.role,
            "why": self.why,
            "statement": self.statement,
        }


@dataclass(frozen=True)
class RequestDecision:
    """What the key policy answers to one request CloudTrail makes of KMS for the trail.

    Parameters
    ----------
    request
        ``encrypt``, ``describe`` or ``decrypt`` (:func:`cloudtrail_requests`' names).
    action
        The KMS action (``kms:GenerateDataKey*``, ...).
    required
        ``required``, ``if-bucket-key`` (required when the bucket uses an S3 Bucket Key, which
        is unknown) or ``best-practice`` (:data:`REQUIRED_WORDS`).
    decision
        ``allowed``, ``denied`` or ``cannot-verify`` (:class:`trailkit.rules.policy.Decision`).
    reason
        The evaluator's sentence, translated.
    statements
        The deciding statements, else the closest failing ones.
    unverifiable
        Why no answer could be given (``cannot-verify``).
    """

    request: str
    action: str
    required: str
    decision: str
    reason: str
    statements: tuple[StatementNote, ...] = ()
    unverifiable: tuple[str, ...] = ()

    @property
    def problem(self) -> bool:
        """Not allowed, and AWS requires it (or may)."""
        return self.decision != pol.Decision.ALLOWED.value and self.required != "best-practice"

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "request": self.request,
            "action": self.action,
            "required": self.required,
            "decision": self.decision,
            "reason": self.reason,
            "statements": [s.as_dict() for s in self.statements],
            "unverifiable": list(self.unverifiable),
        }


@dataclass(frozen=True)
class PolicyAccess:
    """The key policy's answers to CloudTrail's requests, or why there are none.

    ``unread`` says why the policy was not evaluated (no key, the key or its policy could not be
    read, the policy is not valid), with ``permission``: the IAM action that would let trailkit
    read it (empty when none of the caller's would, e.g. another account's key).
    """

    decisions: tuple[RequestDecision, ...] = ()
    unread: str | None = None
    permission: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "requests": [d.as_dict() for d in self.decisions],
            "unread": self.unread,
            "permission": self.permission or None,
        }


@dataclass(frozen=True)
class DeliveryProblem:
    """One delivery error of ``GetTrailStatus`` with its cause and fix."""

    digest: bool
    cause: DeliveryCause

    def as_dict(self) -> dict[str, Any]:
        """JSON form: ``digest`` and :meth:`DeliveryCause.as_dict`."""
        return {"digest": self.digest, **self.cause.as_dict()}


@dataclass(frozen=True)
class DeliveryView:
    """The delivery status of the trail (``GetTrailStatus``)."""

    logging: bool | None
    latest_delivery: datetime | None
    latest_digest_delivery: datetime | None
    problems: tuple[DeliveryProblem, ...] = ()
    unread: str | None = None
    permission: str = ""
    #: For an organization trail: that its status in the member accounts was not read (a
    #: member's delivery errors show only in that member), and what reads it; None otherwise.
    members_unread: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON form (times UTC ISO)."""
        return {
            "logging": self.logging,
            "latest_delivery_time": utc_iso(self.latest_delivery),
            "latest_digest_delivery_time": utc_iso(self.latest_digest_delivery),
            "errors": [p.as_dict() for p in self.problems],
            "unread": self.unread,
            "permission": self.permission or None,
            "members_unread": self.members_unread,
        }


@dataclass(frozen=True)
class Explanation:
    """One trail's drill-down (see the module docstring); built by :func:`explain`."""

    trail: Trail
    key: KeyInfo | None
    caller: str
    now: datetime
    health: Health
    facts: KeyFacts | None
    policy: PolicyAccess
    readers: tuple[rd.AccountReaders, ...]
    delivery: DeliveryView
    history: History | None
    errors: tuple[ScanError, ...] = ()
    #: Who manages the trail and its key (issue 17, :mod:`trailkit.rules.ownership`).
    ownership: Ownership | None = None

    @property
    def events(self) -> tuple[HistoryEvent, ...]:
        """The history's events, newest first (none when the history was not asked for)."""
        if self.history is None:
            return ()
        return tuple(sorted(self.history.events, key=lambda e: e.time, reverse=True))

    @property
    def partial(self) -> bool:
        """Something could not be read: a read of the trail, bucket or key, or a history
        lookup."""
        return bool(self.errors) or (self.history is not None and not self.history.complete)

    @property
    def all_errors(self) -> tuple[ScanError, ...]:
        """Every read that failed: the trail's, bucket's and key's, then the history's."""
        more = self.history.errors if self.history is not None else ()
        return (*self.errors, *more)

    def as_dict(self) -> dict[str, Any]:
        """The JSON of ``trailkit explain --format json``."""
        trail, bucket = self.trail, self.trail.bucket
        status = trail.status
        key: dict[str, Any] | None = None
        if trail.kms_key_id is not None:
            k = self.key
            key = {
                "arn": k.arn if k is not None else trail.kms_key_id,
                "alias": k.alias if k is not None else None,
                "aliases": list(k.aliases) if k is not None else [],
                "state": k.state if k is not None else None,
                "account": k.account if k is not None else None,
                "region": k.region if k is not None else None,
                "description": (k.description or None) if k is not None else None,
                "error": k.error if k is not None else None,
            }
            facts = self.facts.as_dict() if self.facts is not None else {}
            key.update({name.removeprefix("key_"): value for name, value in facts.items()})
        return {
            "account": self.caller,
            "generated_at": utc_iso(self.now),
            "trail": {
                "name": trail.name,
                "arn": trail.arn,
                "home_region": trail.home_region,
                "account": trail.account,
                "multi_region": trail.multi_region,
                "organization": trail.organization,
                "logging": status.is_logging if status is not None else None,
                "log_file_validation": trail.log_file_validation,
                "encryption": trail.encryption,
                "kms_key_id": trail.kms_key_id,
            },
            "bucket": {
                "name": trail.bucket_name,
                "region": trail.bucket_region,
                "bucket_key": bucket.bucket_key if bucket is not None else None,
                "prefix": trail.s3_prefix,
                "owner_account": bucket.owner_account if bucket is not None else None,
                "missing": bucket.missing if bucket is not None else False,
                "error": bucket.error if bucket is not None else None,
            },
            "key": key,
            "health": str(self.health.kind),
            "health_reasons": [r.as_dict() for r in self.health.reasons],
            "policy": self.policy.as_dict(),
            "readers": [
                {
                    "account": r.account,
                    "why": r.why,
                    "access": str(r.access),
                    "principals": list(r.principals),
                    "unknown": list(r.unknown),
                    "denied_by": r.denied_by,
                    "message": r.describe(),
                }
                for r in self.readers
            ],
            "delivery": self.delivery.as_dict(),
            "history": None
            if self.history is None
            else {**self.history.as_dict(), "events": [e.as_dict() for e in self.events]},
            "ownership": self.ownership.as_dict() if self.ownership is not None else None,
            "errors": [e.as_dict() for e in self.errors],
            "partial": self.partial,
        }


def _statement_document(policy: str, index: int) -> dict[str, Any] | None:
    """The ``index``-th statement of ``policy`` as written, or None."""
    try:
        doc = json.loads(policy)
    except ValueError:
        return None
    statements = doc.get("Statement") if isinstance(doc, dict) else None
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not 0 <= index < len(statements):
        return None
    found = statements[index]
    return found if isinstance(found, dict) else None


def _notes(evaluation: pol.Evaluation, policy: str) -> tuple[StatementNote, ...]:
    """The deciding statements of an evaluation, else the Allow statements whose conditions
    fail, each with why."""
    if evaluation.deciding:
        notes = []
        for ref in evaluation.deciding:
            if ref.effect == "Deny":
                why = _(
                    "it matches the request and explicitly denies it (a Deny overrides any Allow)"
                )
            else:
                why = _("its principal, action, resource and every condition match the request")
            notes.append(
                StatementNote(
                    ref.index,
                    ref.sid,
                    ref.effect,
                    ref.label(),
                    "deciding",
                    why,
                    _statement_document(policy, ref.index),
                )
            )
        return tuple(notes)
    failing: dict[pol.StatementRef, list[str]] = {}
    for failure in evaluation.near_misses:
        failing.setdefault(failure.statement, []).append(failure.describe())
    return tuple(
        StatementNote(
            ref.index,
            ref.sid,
            ref.effect,
            ref.label(),
            "near-miss",
            "; ".join(whys),
            _statement_document(policy, ref.index),
        )
        for ref, whys in failing.items()
    )


def _own(trail: Trail, key: KeyInfo | None, caller: str) -> bool:
    account = key.account if key is not None else ""
    return account == caller or (not account and trail.account == caller)


def _policy_access(
    trail: Trail, key: KeyInfo | None, caller: str, organization_id: str | None
) -> PolicyAccess:
    """CloudTrail's requests evaluated against the key policy, as ``check`` evaluates them
    (:func:`trailkit.rules.checks.check_policy`: the same requests, organization-path variants
    and Bucket Key assumption)."""
    if trail.kms_key_id is None:
        return PolicyAccess(unread=_("The trail has no KMS key (SSE-S3): no key policy applies."))
    own = _own(trail, key, caller)
    if key is None or key.error:
        why = key.error if key is not None and key.error else _("the key was not read")
        return PolicyAccess(
            unread=_("The key could not be described, so its policy is unknown: {why}").format(
                why=why
            ),
            permission="kms:DescribeKey" if own else "",
        )
    if key.policy is None:
        why = key.policy_error or _("it was not read")
        return PolicyAccess(
            unread=_("The key policy cannot be read: {why}.").format(why=why),
            permission="kms:GetKeyPolicy" if own else "",
        )
    parsed = pol.parse_policy(key.policy)
    if isinstance(parsed, str):
        return PolicyAccess(
            unread=_("The key policy is not a valid policy: {why}.").format(why=parsed)
        )
    bucket_key, answers = cloudtrail_answers(trail, key.arn, key.policy, parsed, organization_id)
    need = {
        "encrypt": "required",
        "describe": {True: "required", None: "if-bucket-key", False: "best-practice"}[bucket_key],
        "decrypt": "required" if bucket_key else "if-bucket-key",
    }
    decisions = []
    for name, ev in answers.items():
        decisions.append(
            RequestDecision(
                request=name,
                action=_ACTIONS[name],
                required=need[name],
                decision=ev.decision.value,
                reason=ev.reason,
                statements=_notes(ev, key.policy),
                unverifiable=ev.unverifiable,
            )
        )
    return PolicyAccess(tuple(decisions))


def _readers(
    trail: Trail,
    key: KeyInfo | None,
    reader_accounts: Sequence[str],
    organization_id: str | None,
) -> tuple[rd.AccountReaders, ...]:
    """Who may decrypt the logs, per account, as the ``policy-readers`` rule asks it (every
    account, covered or not)."""
    if key is None or key.error or key.policy is None:
        return ()
    parsed = pol.parse_policy(key.policy)
    if isinstance(parsed, str):
        return ()
    s3_arns, unknown = reader_s3_arns(trail, key.policy, organization_id)
    return tuple(
        rd.account_readers(
            parsed,
            account=account,
            why=why,
            key_arn=key.arn,
            trail_arn=trail.arn,
            s3_arns=s3_arns,
            unknown_fact=unknown,
        )
        for account, why in rd.reader_accounts(trail, reader_accounts)
    )


def _members_unread(trail: Trail) -> str | None:
    """An organization trail's note: a drill-down reads one account's ``GetTrailStatus``; a
    member's delivery errors show only in that member (CloudTrail user guide, "Creating a trail
    for an organization"), so nothing here says the members' logs arrive."""
    if not trail.organization:
        return None
    return _(
        "{trail} is an organization trail: CloudTrail reports a member account's delivery "
        "errors only in that member account, and they are not read here. "
        "`trailkit inventory --org` reads its status in every member account."
    ).format(trail=trail.name)


def _delivery(trail: Trail) -> DeliveryView:
    view = _account_delivery(trail)
    return replace(view, members_unread=_members_unread(trail))


def _account_delivery(trail: Trail) -> DeliveryView:
    status = trail.status
    if status is None:
        return DeliveryView(
            None, None, None, unread=_("not read"), permission="cloudtrail:GetTrailStatus"
        )
    if status.error:
        return DeliveryView(
            None, None, None, unread=status.error, permission="cloudtrail:GetTrailStatus"
        )
    problems = []
    if status.latest_delivery_error:
        problems.append(DeliveryProblem(False, delivery_cause(trail, status.latest_delivery_error)))
    if status.latest_digest_delivery_error:
        problems.append(
            DeliveryProblem(
                True, delivery_cause(trail, status.latest_digest_delivery_error, digest=True)
            )
        )
    return DeliveryView(
        status.is_logging,
        status.latest_delivery_time,
        status.latest_digest_delivery_time,
        tuple(problems),
    )


def explain(
    trail: Trail,
    key: KeyInfo | None,
    caller: str,
    history: History | None,
    now: datetime,
    *,
    reader_accounts: Sequence[str] = (),
    organization_id: str | None = None,
    errors: Sequence[ScanError] = (),
    owner_tags: Sequence[str] = DEFAULT_OWNER_TAG_KEYS,
) -> Explanation:
    """The drill-down of ``trail`` from what was read; no AWS call.

    Parameters
    ----------
    trail
        The trail with its status and bucket facts (``Reader.find_trail``).
    key
        Its key as the inventory reads it (with its policy and rotation status), None for a
        trail without a key; a key that could not be described has ``error``.
    caller
        The account the facts were read from.
    history
        What ``LookupEvents`` said about the trail and its key; None: not asked for.
    now
        The current time (aware): days left before a key's deletion, a stale delivery.
    reader_accounts
        Further accounts whose principals must be able to decrypt the logs
        (``--reader-account``), checked after the trail's and the bucket owner's.
    organization_id
        An organization trail's organization id, when known.
    errors
        The reads that failed (trail status, bucket, key, rotation).
    owner_tags
        The convention tag keys of the ownership rules
        (:func:`trailkit.rules.ownership.owner_tag_keys`).

    Returns
    -------
    Explanation
        Never raises for bad AWS data: what could not be read or evaluated is said so.
    """
    found = health(
        trail,
        key,
        caller,
        now=now,
        reader_accounts=reader_accounts,
        organization_id=organization_id,
    )
    facts = key_facts(key, now) if key is not None and not key.error else None
    return Explanation(
        trail=trail,
        key=key,
        caller=caller,
        now=now,
        health=found,
        facts=facts,
        policy=_policy_access(trail, key, caller, organization_id),
        readers=_readers(trail, key, reader_accounts, organization_id),
        delivery=_delivery(trail),
        history=history,
        errors=tuple(errors),
        ownership=ownership(trail, key, owner_tags),
    )
