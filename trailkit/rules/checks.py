"""Pre-flight checks: will this key work for this trail? (pure: no AWS calls)

Each rule is one small function that returns :class:`Finding` objects with a stable kebab-case
``code``. :func:`preflight` runs them in order over what the read layer found
(:class:`KeyLookup`); :func:`rank_candidates` gives a verdict for every candidate key of a region.

Severities: ``error`` blocks the change, ``warning`` is shown but does not block, ``info`` is
context. A key is *ready* only when nothing is an error and nothing could not be verified: a
false "ready" is the worst answer this module could give.
"""

from __future__ import annotations

import enum
import functools
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from trailkit.arn import arn_account, arn_region
from trailkit.errors import sentence
from trailkit.i18n import N_, _, language
from trailkit.records import BucketInfo, KeyInfo, Trail
from trailkit.rules import policy as pol
from trailkit.rules import readers
from trailkit.rules.keyids import KeyIdKind, KeyRef
from trailkit.rules.requests import (
    CLOUDTRAIL_SERVICE,
    ORGANIZATION_ID,
    cloudtrail_requests,
    delivery_requests,
    log_object_arn,
)
from trailkit.rules.trails import list_trails_fix

__all__ = [
    "CATALOGUE",
    "HEALTH_CODES",
    "HEALTH_VALUES",
    "UNVERIFIED_CODES",
    "Check",
    "Finding",
    "HealthCode",
    "KeyLookup",
    "Report",
    "Severity",
    "Verdict",
    "VerdictKind",
    "cloudtrail_answers",
    "load_catalogue",
    "load_health_codes",
    "preflight",
    "rank_candidates",
    "reader_s3_arns",
    "trail_bucket_key",
]


class Severity(enum.StrEnum):
    """How much a finding matters."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class Check:
    """One entry of the catalogue: what a code means, the AWS error it prevents, the fix, and
    what it means for a trail's current encryption (``health``: ``broken``, ``at-risk``,
    ``unverifiable``, or None when it is not a health matter; :mod:`trailkit.rules.health`)."""

    code: str
    severity: Severity
    meaning: str
    remedy: str
    aws_error: str | None = None
    health: str | None = None


@dataclass(frozen=True)
class HealthCode:
    """A reason of a trail's health that is not a pre-flight finding (``health_codes`` of the
    catalogue): its code, the health it gives, what it means, the AWS field it comes from and
    the fix."""

    code: str
    health: str
    meaning: str
    source: str
    remedy: str


#: The values of a catalogue entry's ``health`` (the non-healthy kinds of
#: :class:`trailkit.rules.health.HealthKind`).
HEALTH_VALUES = ("broken", "at-risk", "unverifiable")


_CATALOGUE_FILE = "catalogue.json"
_KEBAB = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*\Z")


def load_catalogue(text: str | None = None) -> dict[str, Check]:
    """Read the check catalogue (``trailkit/rules/catalogue.json``) into :class:`Check` records.

    Parameters
    ----------
    text
        The JSON document to read instead of the packaged file (for tests and tools).

    Returns
    -------
    dict[str, Check]
        Code -> check, in the file's order.

    Raises
    ------
    ValueError
        A malformed entry: a code that is not kebab-case or appears twice, an unknown severity,
        unknown or missing fields.
    """
    if text is None:
        text = resources.files("trailkit.rules").joinpath(_CATALOGUE_FILE).read_text("utf-8")
    fields = {"code", "severity", "health", "meaning", "aws_error", "fix"}
    catalogue: dict[str, Check] = {}
    for entry in json.loads(text)["checks"]:
        if set(entry) != fields:
            raise ValueError(
                f"{_CATALOGUE_FILE}: fields {sorted(entry)} instead of {sorted(fields)}"
            )
        code = entry["code"]
        if not isinstance(code, str) or not _KEBAB.match(code) or code in catalogue:
            raise ValueError(f"{_CATALOGUE_FILE}: bad or repeated code {code!r}")
        if entry["health"] is not None and entry["health"] not in HEALTH_VALUES:
            raise ValueError(f"{_CATALOGUE_FILE}: {code}: unknown health {entry['health']!r}")
        catalogue[code] = Check(
            code=code,
            severity=Severity(entry["severity"]),
            meaning=str(entry["meaning"]),
            remedy=str(entry["fix"]),
            aws_error=None if entry["aws_error"] is None else str(entry["aws_error"]),
            health=entry["health"],
        )
    return catalogue


def load_health_codes(text: str | None = None) -> dict[str, HealthCode]:
    """Read the catalogue's ``health_codes``: the health reasons that are not pre-flight findings
    (``delivery-error``, ``digest-delivery-error``, ``delivery-stale``, ``status-unreadable``).

    Parameters
    ----------
    text
        The JSON document to read instead of the packaged file.

    Returns
    -------
    dict[str, HealthCode]
        Code -> entry, in the file's order.

    Raises
    ------
    ValueError
        A malformed entry, a code that is not kebab-case, repeats one of ``checks`` or itself, or
        an unknown health.
    """
    if text is None:
        text = resources.files("trailkit.rules").joinpath(_CATALOGUE_FILE).read_text("utf-8")
    document = json.loads(text)
    fields = {"code", "health", "meaning", "source", "fix"}
    taken = {entry.get("code") for entry in document["checks"]}
    codes: dict[str, HealthCode] = {}
    for entry in document.get("health_codes", []):
        if set(entry) != fields:
            raise ValueError(
                f"{_CATALOGUE_FILE}: health_codes fields {sorted(entry)}, not {sorted(fields)}"
            )
        code = entry["code"]
        if not isinstance(code, str) or not _KEBAB.match(code) or code in codes or code in taken:
            raise ValueError(f"{_CATALOGUE_FILE}: bad or repeated health code {code!r}")
        if entry["health"] not in HEALTH_VALUES:
            raise ValueError(f"{_CATALOGUE_FILE}: {code}: unknown health {entry['health']!r}")
        codes[code] = HealthCode(
            code,
            str(entry["health"]),
            str(entry["meaning"]),
            str(entry["source"]),
            str(entry["fix"]),
        )
    return codes


#: Every finding code: what it means, its severity, the AWS error it prevents and the fix.
CATALOGUE: dict[str, Check] = load_catalogue()
#: The health reasons that are not findings (issue 15), from the same file.
HEALTH_CODES: dict[str, HealthCode] = load_health_codes()

#: The codes that say a rule could not be checked: a report with one of them is
#: ``unverifiable``, never ``ready`` (a false "ready" is the worst answer).
UNVERIFIED_CODES = frozenset(
    {
        "policy-unverifiable",
        "key-unreadable",
        "key-region-unverified",
        "bucket-key-unverified",
        "bucket-policy-unverified",
    }
)


@dataclass(frozen=True)
class Finding:
    """One result of one rule."""

    code: str
    severity: Severity
    message: str
    remedy: str
    aws_error: str | None = None
    detail: tuple[str, ...] = ()

    @property
    def blocking(self) -> bool:
        """True for errors: the change must not be made."""
        return self.severity is Severity.ERROR

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of ``trailkit check``."""
        return {
            "code": self.code,
            "severity": str(self.severity),
            "message": self.message,
            "remedy": self.remedy,
            "aws_error": self.aws_error,
        }


def _f(
    code: str,
    message: str,
    remedy: str | None = None,
    detail: Iterable[str] = (),
    severity: Severity | None = None,
) -> Finding:
    check = CATALOGUE[code]
    return Finding(
        code=code,
        severity=severity or check.severity,
        message=message,
        remedy=remedy or _(check.remedy),
        aws_error=check.aws_error,
        detail=tuple(detail),
    )


@dataclass(frozen=True)
class KeyLookup:
    """What the read layer found for a key identifier (see ``Reader.lookup_key``).

    ``key`` is None when the key could not be described; ``problem`` then says why
    (``"not-found"``, ``"unreadable"``) and ``message`` gives AWS's words. ``resolved_in`` is
    the (account, region) a bare id or alias name was resolved in. ``elsewhere`` is the same
    identifier found in the bucket's region, when a bare identifier missed.
    """

    ref: KeyRef
    key: KeyInfo | None = None
    problem: str | None = None
    message: str = ""
    resolved_in: tuple[str, str] | None = None
    elsewhere: KeyInfo | None = None


@dataclass(frozen=True)
class Report:
    """The answer of :func:`preflight`."""

    trail_input: str
    key_input: str
    trail: Trail | None
    key: KeyInfo | None
    findings: tuple[Finding, ...]
    disable: bool = False

    @property
    def errors(self) -> tuple[Finding, ...]:
        """The blocking findings."""
        return tuple(f for f in self.findings if f.blocking)

    @property
    def unverifiable(self) -> bool:
        """True when some rule could not be checked (a finding whose code is in
        :data:`UNVERIFIED_CODES`)."""
        return any(f.code in UNVERIFIED_CODES for f in self.findings)

    @property
    def ready(self) -> bool:
        """No error and nothing unverified: AWS will accept the change."""
        return not self.errors and not self.unverifiable

    @property
    def verdict(self) -> VerdictKind:
        """ready / blocked / unverifiable."""
        if self.errors:
            return VerdictKind.BLOCKED
        return VerdictKind.UNVERIFIABLE if self.unverifiable else VerdictKind.READY

    @property
    def key_arn(self) -> str | None:
        """The resolved key ARN (None when unresolved or disabling)."""
        return self.key.arn if self.key else None

    @property
    def nothing_to_do(self) -> bool:
        """The trail already is in the requested state."""
        return any(f.code == "already-using-key" for f in self.findings)

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of ``trailkit check``."""
        return {
            "trail_arn": self.trail.arn if self.trail else None,
            "key_input": self.key_input,
            "key_arn": self.key_arn,
            "bucket_region": self.trail.bucket_region if self.trail else None,
            "ready": self.ready,
            "verdict": str(self.verdict),
            "findings": [f.as_dict() for f in self.findings],
        }


class VerdictKind(enum.StrEnum):
    """The one-word answer for a key."""

    READY = "ready"
    UNVERIFIABLE = "unverifiable"
    BLOCKED = "blocked"


# -- the rules ---------------------------------------------------------------------------


def trail_option(trail: Trail, home_account: str | None = None) -> str:
    """How a command trailkit prints names ``trail`` (``--trail``): by name, or by ARN when
    the trail is in another account than ``home_account`` (the account the operator's
    commands run from; None: the trail's own), since a bare name is looked up in the caller's
    account only."""
    if home_account and trail.account and trail.account != home_account:
        return trail.arn
    return trail.name


def check_trail(trail: Trail | None, trail_input: str, caller_account: str) -> list[Finding]:
    """trail-not-found, trail-not-owned, bucket-not-found, bucket-unreadable.

    A bucket S3 says does not exist is an error: CloudTrail answers
    ``S3BucketDoesNotExistException`` (CloudTrail API reference, ``UpdateTrail``). A bucket that
    could not be read is a warning here; the rules that need its facts say they could not be
    checked (``key-region-unverified``, ``bucket-key-unverified``).
    """
    if trail is None:
        return [
            _f(
                "trail-not-found",
                _("No trail {trail} is visible to this caller.").format(trail=repr(trail_input)),
                remedy=list_trails_fix(trail_input),
            )
        ]
    out: list[Finding] = []
    if trail.account and trail.account != caller_account:
        owned = (
            _(
                "{trail} is an organization trail of account {account}; you are connected as "
                "account {caller}, which cannot change it."
            )
            if trail.organization
            else _(
                "{trail} is a trail of account {account}; you are connected as account "
                "{caller}, which cannot change it."
            )
        )
        out.append(
            _f(
                "trail-not-owned",
                owned.format(trail=trail.name, account=trail.account, caller=caller_account),
            )
        )
    bucket = trail.bucket
    if bucket is not None and bucket.missing:
        # The reader's sentence (what S3 answered, to which call: "The bucket B does not exist
        # (S3 answered 404 to HeadBucket)."), so the inventory and the check say it alike.
        gone = _("The bucket {bucket} does not exist").format(bucket=trail.bucket_name)
        said = (
            bucket.error
            if bucket.error and bucket.error.startswith(gone)
            else _("The bucket {bucket} does not exist.").format(bucket=trail.bucket_name)
        )
        out.append(
            _f(
                "bucket-not-found",
                said
                + " "
                + _(
                    "CloudTrail would answer S3BucketDoesNotExistException, and the trail "
                    "delivers no logs now."
                ),
            )
        )
    elif bucket is None or bucket.region is None:
        why = bucket.error if bucket and bucket.error else _("not read")
        out.append(
            _f(
                "bucket-unreadable",
                _(
                    "The bucket {bucket} could not be read ({why}); its region and S3 Bucket Key "
                    "setting are unknown."
                ).format(bucket=trail.bucket_name, why=why),
            )
        )
    return out


def check_key_form(lookup: KeyLookup, trail: Trail, caller_account: str) -> list[Finding]:
    """key-aws-managed, key-id-needs-arn."""
    ref = lookup.ref
    out: list[Finding] = []
    if ref.aws_managed or (lookup.key is not None and lookup.key.manager == "AWS"):
        out.append(
            _f(
                "key-aws-managed",
                _(
                    "{key} is an AWS managed key; its key policy cannot be edited, so CloudTrail "
                    "can never be allowed to use it."
                ).format(key=ref.text),
            )
        )
    if ref.kind in (KeyIdKind.KEY_ID, KeyIdKind.ALIAS_NAME):
        bucket_region = trail.bucket_region
        reasons = []
        if trail.account and trail.account != caller_account:
            reasons.append(
                _("the trail belongs to account {account}").format(account=trail.account)
            )
        if bucket_region and bucket_region != trail.home_region:
            reasons.append(
                _(
                    "the update is sent to {home} (the trail's home region) but the key must be "
                    "in {region} (the bucket's region)"
                ).format(home=trail.home_region, region=bucket_region)
            )
        if reasons:
            hint = (
                " " + _("Did you mean {arn}?").format(arn=lookup.elsewhere.arn)
                if lookup.elsewhere is not None
                else ""
            )
            bare = (
                _(
                    "{key} is a bare key id, which only means a key inside one account and "
                    "region, and {reasons}."
                )
                if ref.kind is KeyIdKind.KEY_ID
                else _(
                    "{key} is a bare alias name, which only means a key inside one account and "
                    "region, and {reasons}."
                )
            )
            out.append(
                _f(
                    "key-id-needs-arn",
                    bare.format(key=ref.text, reasons="; ".join(reasons)) + hint,
                    remedy=_("give the key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)"),
                )
            )
    return out


def check_key(lookup: KeyLookup, trail: Trail) -> list[Finding]:
    """key-not-found, key-unreadable, key-region-mismatch, key-state, key-not-symmetric."""
    key = lookup.key
    ref = lookup.ref
    if key is None:
        if lookup.problem == "not-found":
            if lookup.resolved_in:
                missing_key = _("No key or alias {key} in account {account}, region {region}.")
                said = missing_key.format(
                    key=ref.text, account=lookup.resolved_in[0], region=lookup.resolved_in[1]
                )
            else:
                said = _("No key or alias {key}.").format(key=ref.text)
            return [_f("key-not-found", f"{said} {sentence(lookup.message)}".rstrip())]
        return [
            _f(
                "key-unreadable",
                _(
                    "{key} could not be described from this account: {why} Its state, type and "
                    "region are checked by AWS only when the change is sent."
                ).format(key=ref.text, why=sentence(lookup.message)),
            ),
            _f(
                "policy-unverifiable",
                _(
                    "The key policy of {key} cannot be read from this account, so whether it "
                    "admits CloudTrail is unknown (not assumed)."
                ).format(key=ref.text),
            ),
        ]
    out: list[Finding] = []
    bucket_region = trail.bucket_region
    missing = trail.bucket is not None and trail.bucket.missing
    if not bucket_region and not missing:
        out.append(
            _f(
                "key-region-unverified",
                _(
                    "The region of bucket {bucket} is unknown, so whether the key (in {region}) "
                    "is in the bucket's region could not be checked; if it is not, CloudTrail "
                    "answers KmsKeyNotFoundException."
                ).format(bucket=trail.bucket_name, region=key.region),
            )
        )
    if bucket_region and key.region != bucket_region:
        replicas = [a for a in (key.primary_arn, *key.replica_arns) if a]
        same = [a for a in replicas if arn_region(a) == bucket_region and a != key.arn]
        hint = (
            " " + _("Use its multi-Region replica there: {arn}.").format(arn=same[0])
            if same
            else ""
        )
        out.append(
            _f(
                "key-region-mismatch",
                _(
                    "The key is in {region} but the trail's bucket {bucket} is in {bucket_region}; "
                    "CloudTrail would answer KmsKeyNotFoundException."
                ).format(region=key.region, bucket=trail.bucket_name, bucket_region=bucket_region)
                + hint,
                remedy=(_("use {arn}").format(arn=same[0]) if same else None),
            )
        )
    if key.state != "Enabled":
        out.append(
            _f(
                "key-state",
                (
                    _("The key is {state}; CloudTrail can only use an Enabled key.").format(
                        state=key.state
                    )
                    if key.state
                    else _(
                        "The key is in an unknown state; CloudTrail can only use an Enabled key."
                    )
                ),
                remedy=(
                    _("cancel the key deletion and enable the key, or choose another key")
                    if key.state == "PendingDeletion"
                    else None
                ),
            )
        )
    spec = key.key_spec or "SYMMETRIC_DEFAULT"
    usage = key.key_usage or "ENCRYPT_DECRYPT"
    if spec != "SYMMETRIC_DEFAULT" or usage != "ENCRYPT_DECRYPT":
        out.append(
            _f(
                "key-not-symmetric",
                _(
                    "The key is {spec} for {usage}; CloudTrail needs a SYMMETRIC_DEFAULT key for "
                    "ENCRYPT_DECRYPT."
                ).format(spec=spec, usage=usage),
            )
        )
    return out


#: Stand-ins for an organization id trailkit does not know: the shortest and the longest
#: (``o-`` then 10 to 32 letters or digits), digits against letters, so that a pattern that tells
#: some ids from others (``o-a*``, ``o-??????????``) answers differently for them.
_ORG_STAND_INS = ("o-0000000000", "o-" + "z" * 32)
#: What is unknown when an organization trail's organization id is not given.
_ORG_UNKNOWN = N_(
    "the organization id of this organization trail (its files go to AWSLogs/ORG-ID/ACCOUNT/)"
)


def _organization_ids(
    trail: Trail, policy: str, organization_id: str | None
) -> tuple[str | None, ...]:
    """The organization ids to evaluate ``policy`` with for ``trail``'s object paths.

    A trail of one account writes to ``AWSLogs/ACCOUNT/`` (None). An organization trail writes
    to ``AWSLogs/ORG-ID/ACCOUNT/`` (CloudTrail user guide, "Creating a trail for an
    organization"; ``docs/cloudtrail-kms.md`` section 3a), and the trail record does not carry the
    organization id. When it is given, that id. Otherwise the answer is only trusted when it does
    not depend on the id (:func:`trailkit.rules.policy.evaluate_variants`): the policy is
    evaluated with two stand-ins and with every organization id the policy names, since the real
    one is either one of those or behaves like a stand-in (no pattern in the policy names it).
    """
    if not trail.organization:
        return (None,)
    if organization_id:
        return (organization_id,)
    return tuple(dict.fromkeys((*_ORG_STAND_INS, *ORGANIZATION_ID.findall(policy))))


def _statement_label(ev: pol.Evaluation) -> str:
    return _(", ").join(s.label() for s in ev.deciding) or _("a statement")


def _statement_remedy(request: str) -> str:
    """The fix of a missing CloudTrail statement, with the command that adds it (the add-only
    repair of :mod:`trailkit.rules.repair`); ``{command}`` is filled in by the caller."""
    if request == "encrypt":
        return _("add the CloudTrail encrypt statement: `{command}`")
    if request == "describe":
        return _("add the CloudTrail describe statement: `{command}`")
    return _("add the CloudTrail decrypt statement: `{command}`")


def trail_bucket_key(trail: Trail) -> bool | None:
    """Whether ``trail``'s bucket uses an S3 Bucket Key, as far as it is known: None when it
    could not be read, or the bucket is missing or its region unknown (then what was read of it
    is not trusted to say "no")."""
    bucket = trail.bucket or BucketInfo(name=trail.bucket_name, region=None, bucket_key=None)
    bucket_key = bucket.bucket_key
    if bucket.missing or bucket.region is None:
        bucket_key = None if bucket_key is False else bucket_key
    return bucket_key


def cloudtrail_answers(
    trail: Trail,
    key_arn: str,
    policy: str,
    parsed: pol.Policy,
    organization_id: str | None = None,
) -> tuple[bool | None, dict[str, pol.Evaluation]]:
    """The key policy's answer to each request CloudTrail makes of KMS for ``trail``: the one
    evaluation behind ``check_policy`` and ``trailkit explain``.

    Parameters
    ----------
    trail : Trail
        The trail, with its bucket facts (the S3 Bucket Key decides whether Decrypt is asked).
    key_arn : str
        The key.
    policy, parsed : str, Policy
        The key policy's text (for the organization ids it names) and its parsed form.
    organization_id : str, optional
        An organization trail's organization id; unknown: every id the policy names is asked
        (:func:`evaluate_variants`: an answer that depends on it cannot be verified).

    Returns
    -------
    tuple
        :func:`trail_bucket_key`, and request name (``encrypt``, ``describe``, ``decrypt``) ->
        evaluation, in :func:`~trailkit.rules.requests.cloudtrail_requests`'s order.
    """
    bucket_key = trail_bucket_key(trail)
    variants = [
        cloudtrail_requests(
            trail_arn=trail.arn,
            bucket_name=trail.bucket_name,
            key_arn=key_arn,
            source_account=trail.account,
            bucket_key=bucket_key is not False,  # unknown: ask about Decrypt too
            prefix=trail.s3_prefix,
            organization_id=org,
        )
        for org in _organization_ids(trail, policy, organization_id)
    ]
    answers = {
        name: pol.evaluate_variants(parsed, [v[name] for v in variants], _(_ORG_UNKNOWN))
        for name in variants[0]
    }
    return bucket_key, answers


def check_policy(
    key: KeyInfo,
    trail: Trail,
    organization_id: str | None = None,
    *,
    home_account: str | None = None,
) -> list[Finding]:
    """policy-encrypt, policy-describe, policy-deny, policy-bucket-key-decrypt,
    bucket-key-unverified, policy-unverifiable.

    ``home_account``: the account the operator's commands run from, when the trail is read
    through a role in another account (issue 16); the ``trailkit policy`` command a remedy
    prints then names the trail by its ARN (see :func:`trail_option`).

    The requests carry the encryption context CloudTrail sends, ``aws:s3:arn`` included, built
    from the trail's S3 key prefix and, for an organization trail, the organization path
    (:func:`~trailkit.rules.requests.cloudtrail_requests`). For an organization trail whose
    organization id is not given (``organization_id``), a policy whose answer depends on the id
    makes the verdict unverifiable (``policy-unverifiable``), never ready.

    CloudTrail must be allowed ``kms:GenerateDataKey*`` for the trail in every case. With an
    S3 Bucket Key on the bucket it must also be allowed ``kms:DescribeKey`` and ``kms:Decrypt``,
    "otherwise you cannot create or update a trail" (CloudTrail user guide, "Configure AWS KMS
    key policies for CloudTrail"; the seed page). Without a Bucket Key AWS accepts a policy
    that lacks DescribeKey (AWS Control Tower's "minimum required" key policy has none), so a
    missing DescribeKey is then a best-practice warning. When whether the bucket uses a Bucket
    Key is unknown, a missing DescribeKey or Decrypt makes the verdict unverifiable
    (``bucket-key-unverified``), never ready.
    """
    if key.policy is None:
        why = key.policy_error or _("it was not read")
        return [
            _f("policy-unverifiable", _("The key policy cannot be read: {why}.").format(why=why))
        ]
    parsed = pol.parse_policy(key.policy)
    if isinstance(parsed, str):
        return [
            _f(
                "policy-unverifiable",
                _("The key policy is not a valid policy: {why}.").format(why=parsed),
            )
        ]
    bucket = trail.bucket or BucketInfo(name=trail.bucket_name, region=None, bucket_key=None)
    bucket_key, answers = cloudtrail_answers(trail, key.arn, key.policy, parsed, organization_id)
    # Which requests AWS requires: True (required), None (required if the bucket has a Bucket
    # Key, which is unknown), False (best practice only).
    required: dict[str, bool | None] = {
        "encrypt": True,
        "describe": bucket_key,
        "decrypt": bucket_key,
    }
    codes = {
        "encrypt": "policy-encrypt",
        "describe": "policy-describe",
        "decrypt": "policy-bucket-key-decrypt",
    }
    actions = {
        "encrypt": "kms:GenerateDataKey",
        "describe": "kms:DescribeKey",
        "decrypt": "kms:Decrypt",
    }
    out: list[Finding] = []
    unverifiable: list[str] = []
    not_known: list[str] = []  # actions needed only with a Bucket Key, which is unknown
    for name, ev in answers.items():
        if ev.decision is pol.Decision.ALLOWED:
            continue
        need = required[name]
        if ev.decision is pol.Decision.UNVERIFIABLE:
            if need is not False:
                unverifiable.extend(ev.unverifiable or (ev.reason,))
            continue
        if need is None:
            not_known.append(actions[name])
        if name == "decrypt" and need is not True:
            continue  # Decrypt matters to CloudTrail only with a Bucket Key
        severity = Severity.ERROR if need is True else Severity.WARNING
        advice = (
            ""
            if need is True
            else " "
            + _(
                "AWS requires it only when the bucket uses an S3 Bucket Key; it is best practice "
                "(the console's default policy has it)."
            )
        )
        if ev.deciding:  # explicit Deny
            code = "policy-deny" if need is True else codes[name]
            label = _statement_label(ev)
            out.append(
                _f(
                    code,
                    _(
                        "{statement} of the key policy explicitly denies CloudTrail {action} for "
                        "this trail."
                    ).format(statement=label, action=actions[name])
                    + advice,
                    remedy=_("remove or narrow {statement}").format(statement=label),
                    detail=[ev.reason],
                    severity=severity,
                )
            )
            continue
        misses = [m.describe() for m in ev.near_misses]
        why = " " + (
            _("The closest statement fails: {why}.").format(why=misses[0])
            if misses
            else _("No statement allows it.")
        )
        command = (
            f"trailkit policy --trail {trail_option(trail, home_account)} --key {key.arn} --apply"
        )
        out.append(
            _f(
                codes[name],
                _("The key policy does not let CloudTrail call {action} for {trail}.").format(
                    action=actions[name], trail=trail.name
                )
                + why
                + advice,
                remedy=_statement_remedy(name).format(command=command),
                detail=misses,
                severity=severity,
            )
        )
    if not_known and not bucket.missing:  # a missing bucket blocks already (bucket-not-found)
        why = bucket.encryption_error or bucket.error or _("the bucket could not be read")
        remedy = None
        if bucket.region is None:
            remedy = _(
                "add the CloudTrail describe and decrypt statements (`trailkit policy --apply`), "
                "or let this caller read the bucket: s3:ListBucket or s3:GetBucketLocation (its "
                "region) and s3:GetEncryptionConfiguration (for another account's bucket, its "
                "bucket policy must allow them)"
            )
        out.append(
            _f(
                "bucket-key-unverified",
                _(
                    "Whether bucket {bucket} uses an S3 Bucket Key is unknown ({why}), and the "
                    "key policy does not let CloudTrail call {actions}, which AWS requires when "
                    "it does."
                ).format(bucket=trail.bucket_name, why=why, actions=_(" and ").join(not_known)),
                remedy=remedy,
                detail=not_known,  # the actions; the repair adds their statements
            )
        )
    if unverifiable:
        out.append(
            _f(
                "policy-unverifiable",
                _("Part of the key policy cannot be evaluated by trailkit: {why}.").format(
                    why="; ".join(dict.fromkeys(unverifiable))
                ),
                detail=unverifiable,
            )
        )
    return out


def check_readers(
    key: KeyInfo,
    trail: Trail,
    reader_accounts: Sequence[str] = (),
    organization_id: str | None = None,
    *,
    home_account: str | None = None,
) -> list[Finding]:
    """policy-readers: who can decrypt the logs, in each account that needs to read them.

    ``home_account``: as for :func:`check_policy` (the trail in the printed command).

    The accounts are the trail's, the bucket owner's when known and different, and
    ``reader_accounts`` (:func:`trailkit.rules.readers.reader_accounts`). For each, the key
    policy's Allow statements are searched for the principals they name and a decrypt request is
    evaluated as each (:func:`trailkit.rules.readers.account_readers`; KMS developer guide, "Key
    policies in AWS KMS"; CloudTrail user guide, "Configure AWS KMS key policies for
    CloudTrail", ``docs/cloudtrail-kms.md`` section 3, statement 3).

    The decrypt request carries what S3 sends (CloudTrail user guide, "How AWS CloudTrail uses
    AWS KMS"): ``aws:s3:arn`` is a log file's ARN (with the trail's prefix and, for an
    organization trail, its organization path), or the bucket's ARN when the bucket uses an S3
    Bucket Key (S3 user guide, "Reducing the cost of SSE-KMS with Amazon S3 Bucket Keys"). Each
    value that fact can have is asked (:func:`reader_s3_arns`); an answer that depends on an
    unknown fact is "cannot be told".

    Returns
    -------
    list of Finding
        One ``policy-readers`` warning when in some account not every principal may decrypt
        (only named principals, nobody, or it cannot be told); its message says, account by
        account, who may (the principals found, a few then "and N more"; "via IAM policies of
        account X" when the key policy names the account) or that nobody may. Nothing when every
        account is covered or the policy cannot be read (``check_policy`` reports that).
    """
    if key.policy is None:
        return []
    accounts = readers.reader_accounts(trail, reader_accounts)
    s3_arns, unknown = reader_s3_arns(trail, key.policy, organization_id)
    return list(
        _readers_finding(
            key.policy,
            key.arn,
            trail.arn,
            trail_option(trail, home_account),
            accounts,
            s3_arns,
            unknown,
            language(),
        )
    )


def reader_s3_arns(
    trail: Trail, policy: str, organization_id: str | None
) -> tuple[tuple[str, ...], str]:
    """The values ``aws:s3:arn`` may have when a reader decrypts ``trail``'s log files, and what
    decides between them (for the reason of an answer that depends on it).

    Without an S3 Bucket Key, S3 sends the log object's ARN; with one, the bucket's ARN ("S3
    Bucket Keys use the bucket ARN as encryption context": S3 user guide, "Reducing the cost of
    SSE-KMS with Amazon S3 Bucket Keys"). Whether the bucket uses one may be unknown (both are
    asked), and so may an organization trail's organization id (:func:`_organization_ids`).
    """
    bucket_key = trail.bucket.bucket_key if trail.bucket else None
    unknowns = []
    arns: list[str] = []
    if bucket_key is not True:
        orgs = _organization_ids(trail, policy, organization_id)
        if len(orgs) > 1:
            unknowns.append(_(_ORG_UNKNOWN))
        arns += [
            log_object_arn(
                trail_arn=trail.arn,
                bucket_name=trail.bucket_name,
                source_account=trail.account,
                prefix=trail.s3_prefix,
                organization_id=org,
            )
            for org in orgs
        ]
    if bucket_key is not False:
        arns.append(f"arn:{trail.partition}:s3:::{trail.bucket_name}")
        if bucket_key is None:
            unknowns.append(_("whether the bucket uses an S3 Bucket Key (S3 then sends its ARN)"))
    return tuple(arns), _(" and ").join(unknowns) or _("the aws:s3:arn that S3 sends")


@functools.lru_cache(maxsize=1024)
def _readers_finding(
    policy: str,
    key_arn: str,
    trail_arn: str,
    trail_name: str,  # as the printed command names it (see trail_option)
    accounts: tuple[tuple[str, str], ...],
    s3_arns: tuple[str, ...] = (),
    unknown: str = "",
    lang: str = "en",
) -> tuple[Finding, ...]:
    """The readers rule, kept per policy, key, trail and accounts (ranking a region's keys for
    many trails asks the same question many times), and per language: the finding is text in
    ``lang``, the language spoken (:func:`trailkit.i18n.language`, passed by the caller)."""
    parsed = pol.parse_policy(policy)
    if isinstance(parsed, str):
        return ()
    found = [
        readers.account_readers(
            parsed,
            account=a,
            why=why,
            key_arn=key_arn,
            trail_arn=trail_arn,
            s3_arns=s3_arns,
            unknown_fact=unknown,
        )
        for a, why in accounts
    ]
    if all(r.covered for r in found):
        return ()
    # The accounts with a problem first, then the others, in the order they were given.
    ordered = [r for r in found if not r.covered] + [r for r in found if r.covered]
    nobody = [r.account for r in found if r.access is readers.Access.NOBODY]
    remedy = None
    if nobody:
        remedy = _(
            "let them decrypt: `{command}` (an account id lets its principals decrypt via their "
            "IAM policies; a role ARN lets that role)"
        ).format(
            command=f"trailkit policy --trail {trail_name} --key {key_arn} "
            + " ".join(f"--readers {a}" for a in nobody)
        )
    # Kept in English (not shown; the repair reads findings' codes and details).
    detail = [
        f"account {r.account} ({r.why}): {r.access}"
        + (f": {', '.join(r.principals)}" if r.principals else "")
        + "".join(f"; not evaluated: {u}" for u in r.unknown)
        for r in found
    ]
    return (
        _f(
            "policy-readers",
            " ".join(r.describe() for r in ordered),
            remedy=remedy,
            detail=detail,
        ),
    )


def check_bucket_policy(
    trail: Trail, key_arn: str | None, organization_id: str | None = None
) -> list[Finding]:
    """The bucket policy rules: :func:`check_delivery` and, for a change to a key,
    :func:`check_aes256`.

    Parameters
    ----------
    trail
        The trail (with bucket facts) as it is now.
    key_arn
        The key the trail will use after the change; None: SSE-S3 (a disable).
    organization_id
        For an organization trail, its organization id when known (see :func:`check_delivery`).

    Returns
    -------
    list of Finding
        ``bucket-policy-denies-delivery``, ``bucket-policy-already-denies-delivery``,
        ``bucket-policy-unverified``, ``bucket-policy-aes256``.
    """
    out = check_delivery(trail, key_arn, organization_id)
    if key_arn is not None:
        out += check_aes256(trail)
    return out


def check_aes256(trail: Trail) -> list[Finding]:
    """bucket-policy-aes256: a bucket policy that refuses AES256 uploads (digest files).

    The AWS security best-practices page warns that such a policy can block CloudTrail's digest
    files when log file validation is on (``docs/cloudtrail-kms.md`` section 5). Since November
    2025 digest files are encrypted with the trail's key, which :func:`check_delivery` models;
    this warning is kept for a change *to a key*, where it still says something that rule does
    not (the older behaviour, digests written with SSE-S3). For a disable every upload is AES256
    and :func:`check_delivery` decides exactly, so :func:`check_bucket_policy` does not run it.
    """
    bucket = trail.bucket
    if not trail.log_file_validation or bucket is None or not bucket.policy:
        return []
    return list(
        _digest_upload_denied(bucket.policy, bucket.name, trail.arn, trail.s3_prefix, language())
    )


@functools.lru_cache(maxsize=256)
def _digest_upload_denied(
    policy: str, bucket: str, trail_arn: str, prefix: str | None, lang: str
) -> tuple[Finding, ...]:
    """The AES256 digest rule, kept per bucket: it does not depend on the key, and ranking a
    region's keys runs it once per key. The digest object is under the trail's prefix (an
    organization trail's path is not modelled here: this warning needs only a Deny's shape).
    Kept per language too: the finding is text in ``lang``, the language spoken."""
    request = pol.Request(
        principal=pol.Principal(kind="Service", value=CLOUDTRAIL_SERVICE),
        action="s3:PutObject",
        resource=log_object_arn(
            trail_arn=trail_arn,
            bucket_name=bucket,
            source_account=arn_account(trail_arn),
            prefix=prefix,
            digest=True,
        ),
        context={"s3:x-amz-server-side-encryption": "AES256"},
    )
    ev = pol.evaluate(policy, request)
    if ev.decision is pol.Decision.DENIED and ev.deciding:
        return (
            _f(
                "bucket-policy-aes256",
                _(
                    "{statement} of the policy of bucket {bucket} refuses uploads encrypted with "
                    "AES256 while log file validation is on; AWS warns this can block "
                    "CloudTrail's digest files."
                ).format(statement=_statement_label(ev), bucket=bucket),
            ),
        )
    return ()


_FILES = {"log": N_("log files"), "digest": N_("digest files")}


@functools.lru_cache(maxsize=4096)
def _evaluate_in(policy: str, request: pol.Request, lang: str) -> pol.Evaluation:
    """A bucket policy evaluated for one delivery, kept: ranking a region's keys evaluates the
    trail's current delivery once per key, and the same policy text for every trail. Kept per
    language: the evaluation's reasons are text in ``lang``, the language spoken."""
    return pol.evaluate(policy, request)


def _evaluate_bucket_policy(policy: str, request: pol.Request) -> pol.Evaluation:
    """:func:`_evaluate_in` for the language spoken now."""
    return _evaluate_in(policy, request, language())


def _deliveries(
    trail: Trail, policy: str, key_arn: str | None, organization_id: str | None = None
) -> dict[str, pol.Evaluation]:
    """How ``policy`` answers CloudTrail's uploads for ``trail`` encrypted with ``key_arn``
    (for an organization trail without its id, the answer every candidate id gives, or
    ``cannot-verify``: :func:`_organization_ids`)."""
    variants = [
        delivery_requests(
            trail_arn=trail.arn,
            bucket_name=trail.bucket_name,
            source_account=trail.account,
            key_arn=key_arn,
            prefix=trail.s3_prefix,
            organization_id=org,
            digests=trail.log_file_validation,
        )
        for org in _organization_ids(trail, policy, organization_id)
    ]
    return {
        name: pol.evaluate_variants(
            policy, [v[name] for v in variants], _(_ORG_UNKNOWN), _evaluate_bucket_policy
        )
        for name in variants[0]
    }


def _encryption(key_arn: str | None) -> str:
    return "AES256" if key_arn is None else _("aws:kms, key {arn}").format(arn=key_arn)


def _files(names: Iterable[str]) -> str:
    return _(" and ").join(_(_FILES[n]) for n in names)


def _refusals(denied: dict[str, pol.Evaluation]) -> tuple[list[str], list[str]]:
    """Why the denied uploads are denied, one sentence per cause: (sentences, statement labels)."""
    groups: dict[tuple[str, str], list[str]] = {}
    for name, ev in denied.items():
        if ev.deciding:  # an explicit Deny
            key = (_statement_label(ev), "")
        elif ev.near_misses:
            closest = ev.near_misses[0]
            key = (closest.statement.label(), closest.describe())
        else:
            key = ("", "")
        groups.setdefault(key, []).append(name)
    sentences = []
    for (label, miss), names in groups.items():
        files = _files(names)
        if label and not miss:
            sentences.append(
                _("{statement} explicitly denies the {files}").format(statement=label, files=files)
            )
        elif label:
            sentences.append(
                _(
                    "no statement allows the {files} (the closest, {statement}, fails: {why})"
                ).format(files=files, statement=label, why=miss)
            )
        else:
            sentences.append(_("no statement allows the {files}").format(files=files))
    return sentences, [label for label, _miss in groups if label]


def check_delivery(
    trail: Trail, key_arn: str | None, organization_id: str | None = None
) -> list[Finding]:
    """bucket-policy-denies-delivery, bucket-policy-already-denies-delivery,
    bucket-policy-unverified: will the bucket policy still accept CloudTrail's deliveries?

    The bucket policy is evaluated for CloudTrail's ``s3:PutObject`` of a log file (and of a
    digest file when log file validation is on) as it will be after the change
    (:func:`~trailkit.rules.requests.delivery_requests`; ``docs/cloudtrail-kms.md`` section 3a:
    CloudTrail user guide, "Amazon S3 bucket policy for CloudTrail").

    * Refused after the change (an explicit Deny, or no Allow) but accepted now: an error,
      naming the statement: logs would stop arriving (CloudTrail keeps retrying and
      ``GetTrailStatus`` shows ``LatestDeliveryError``; section 3a).
    * Refused after the change and already now: a warning that the trail is already broken, not
      blamed on the change.
    * The policy could not be read, or uses something the evaluator does not implement:
      ``bucket-policy-unverified`` (never ``ready``).
    * No bucket policy at all: no finding. CloudTrail's service principal can then write
      nothing, before or after the change; the trail's delivery status says so, and this rule
      only answers for what the change alters.
    * The bucket does not exist (``BucketInfo.missing``): no finding; the bucket rules say it.

    The objects are where CloudTrail writes them: under the trail's S3 key prefix, and for an
    organization trail under ``AWSLogs/ORG-ID/ACCOUNT/`` (the management account's files
    included; CloudTrail user guide, "Creating a trail for an organization"). The trail record
    does not carry the organization id: without ``organization_id`` the policy is evaluated for
    every id that could matter (:func:`_organization_ids`), and when the answer depends on the
    id, ``bucket-policy-unverified`` says so (never ``ready``). Member accounts' files
    (``AWSLogs/ORG-ID/MEMBER/``) are not modelled: their account ids are not known here.

    Parameters
    ----------
    trail
        The trail (with bucket facts) as it is now.
    key_arn
        The key the trail will use after the change; None: SSE-S3.
    organization_id
        For an organization trail, its organization id (``o-...``) when known.

    Returns
    -------
    list of Finding
        At most one finding.
    """
    bucket = trail.bucket
    if bucket is not None and bucket.missing:
        return []
    arn = f"arn:{trail.partition}:s3:::{trail.bucket_name}"
    if bucket is None or bucket.policy is None:
        if bucket is not None and bucket.policy_error is None and bucket.region is not None:
            return []  # no bucket policy (see the docstring)
        unread = _("not read")
        why = (bucket.policy_error or bucket.error or unread) if bucket else unread
        return [
            _f(
                "bucket-policy-unverified",
                _(
                    "The policy of bucket {bucket} could not be read ({why}), so whether it still "
                    "accepts CloudTrail's deliveries after the change is unknown (not assumed)."
                ).format(bucket=trail.bucket_name, why=why),
                remedy=_(
                    "{fix}, or have the bucket's owner confirm that it accepts CloudTrail's "
                    "uploads ({encryption})"
                ).format(fix=_policy_read_fix(bucket, arn), encryption=_encryption(key_arn)),
            )
        ]
    after = _deliveries(trail, bucket.policy, key_arn, organization_id)
    denied = {n: ev for n, ev in after.items() if ev.decision is pol.Decision.DENIED}
    if not denied:
        unknown = [r for ev in after.values() for r in ev.unverifiable]
        if not unknown:
            return []
        reasons = list(dict.fromkeys(unknown))
        return [
            _f(
                "bucket-policy-unverified",
                _(
                    "Part of the policy of bucket {bucket} cannot be evaluated by trailkit for "
                    "CloudTrail's uploads after the change ({encryption}): {why}."
                ).format(
                    bucket=trail.bucket_name,
                    encryption=_encryption(key_arn),
                    why="; ".join(reasons),
                ),
                remedy=_(
                    "have the bucket's owner confirm that the policy accepts CloudTrail's "
                    "s3:PutObject ({encryption})"
                ).format(encryption=_encryption(key_arn)),
                detail=reasons,
            )
        ]
    before = _deliveries(trail, bucket.policy, trail.kms_key_id, organization_id)
    new = {n: ev for n, ev in denied.items() if before[n].decision is not pol.Decision.DENIED}
    if new:
        causes, labels = _refusals(new)
        named = _(" and ").join(labels) or _("the bucket policy")
        return [
            _f(
                "bucket-policy-denies-delivery",
                _(
                    "The policy of bucket {bucket} would refuse CloudTrail's uploads as they will "
                    "be after the change ({encryption}): {why}. {trail}'s logs would stop "
                    "arriving (CloudTrail keeps retrying and GetTrailStatus shows "
                    "LatestDeliveryError)."
                ).format(
                    bucket=trail.bucket_name,
                    encryption=_encryption(key_arn),
                    why="; ".join(causes),
                    trail=trail.name,
                ),
                remedy=_(
                    "change {statements} to accept CloudTrail's uploads ({encryption}) before the "
                    "change, or keep {trail} on {current}"
                ).format(
                    statements=named,
                    encryption=_encryption(key_arn),
                    trail=trail.name,
                    current=_encryption(trail.kms_key_id),
                ),
                detail=causes,
            )
        ]
    causes, _labels = _refusals(denied)
    status = trail.status.latest_delivery_error if trail.status else None
    seen = (
        " " + _("GetTrailStatus reports LatestDeliveryError {error}.").format(error=status)
        if status
        else ""
    )
    return [
        _f(
            "bucket-policy-already-denies-delivery",
            _(
                "The policy of bucket {bucket} already refuses CloudTrail's uploads as {trail} "
                "is now ({encryption}): {why}. They stay refused after the change, which is not "
                "the cause."
            ).format(
                bucket=trail.bucket_name,
                trail=trail.name,
                encryption=_encryption(trail.kms_key_id),
                why="; ".join(causes),
            )
            + seen,
            detail=causes,
        )
    ]


def preflight(
    *,
    trail: Trail | None,
    trail_input: str,
    key_input: str,
    lookup: KeyLookup | None,
    caller_account: str,
    key_error: str | None = None,
    reader_accounts: Sequence[str] = (),
    organization_id: str | None = None,
    home_account: str | None = None,
    current_key: KeyInfo | None = None,
    owner_tags: Sequence[str] | None = None,
) -> Report:
    """Run every rule for one trail and one key identifier.

    Parameters
    ----------
    trail
        The trail (with bucket facts), or None when it was not found.
    trail_input, key_input
        The text the operator gave.
    lookup
        What the read layer found for the key (None when the text did not parse).
    caller_account
        The account the change would be sent from.
    key_error
        The parser's message when ``key_input`` is not a key identifier.
    reader_accounts
        Accounts, besides the trail's and the bucket owner's, whose principals must be able to
        decrypt the logs (``--reader-account``, checked 12-digit ids).
    organization_id
        For an organization trail, its organization id (``o-...``) when the caller knows it
        (``organizations:DescribeOrganization``); without it, a policy whose answer depends on
        the organization path is "cannot verify".
    home_account
        The account the operator's commands run from when it is not ``caller_account`` (the
        trail is read through a role, issue 16): commands in remedies name the trail by ARN.
    current_key
        The key the trail uses now (with its tags and aliases), for the ownership rules.
    owner_tags
        The convention tag keys of the ownership rules
        (:func:`trailkit.rules.ownership.owner_tag_keys`); None: the ownership rules are not
        run (``managed-by``, ``controltower-key``: they need the tags read).

    Returns
    -------
    Report
        Findings in rule order; ``ready`` only when AWS would accept the change.
    """
    findings = check_trail(trail, trail_input, caller_account)
    if key_error is not None or lookup is None:
        findings.append(
            _f(
                "key-id-format",
                key_error or _("{key} is not a key identifier.").format(key=repr(key_input)),
            )
        )
        return Report(trail_input, key_input, trail, None, tuple(findings))
    if trail is None:
        return Report(trail_input, key_input, None, lookup.key, tuple(findings))
    if lookup.ref.is_disable:
        if trail.kms_key_id is None:
            findings.append(
                _f(
                    "already-using-key",
                    _("{trail} already uses SSE-S3; nothing to change.").format(trail=trail.name),
                )
            )
        else:
            findings.append(
                _f(
                    "disable-encryption",
                    _("{trail} will stop using {key} and go back to SSE-S3.").format(
                        trail=trail.name, key=trail.kms_key_id
                    ),
                )
            )
            findings += check_bucket_policy(trail, None, organization_id)
        findings += _ownership(trail, current_key, None, owner_tags, key_input)
        return Report(trail_input, key_input, trail, None, tuple(findings), disable=True)
    findings += check_key_form(lookup, trail, caller_account)
    findings += check_key(lookup, trail)
    key = lookup.key
    if key is not None and not any(f.code == "key-aws-managed" for f in findings):
        findings += check_policy(key, trail, organization_id, home_account=home_account)
        findings += check_readers(
            key, trail, reader_accounts, organization_id, home_account=home_account
        )
    target = key.arn if key is not None else _given_key_arn(lookup)
    # a key that could not be resolved is not a disable: without its ARN only the AES256 rule
    findings += (
        check_bucket_policy(trail, target, organization_id) if target else check_aes256(trail)
    )
    if key is not None and trail.log_file_validation:
        findings.append(
            _f(
                "digest-files",
                _(
                    "Log file validation is on: since November 2025 digest files are encrypted "
                    "with this key too (older guides say they stay SSE-S3), so whoever validates "
                    "them (aws cloudtrail validate-logs) needs kms:Decrypt on it."
                ),
            )
        )
    if key is not None and trail.kms_key_id == key.arn:
        findings.append(
            _f(
                "already-using-key",
                _("{trail} already uses {key}; nothing to change.").format(
                    trail=trail.name, key=key.label
                ),
            )
        )
    # also when the trail already uses the key: Control Tower's trail on a multi-Region key is
    # as wrong now as after a change, and the owner still reverts a hand-made repair
    findings += _ownership(trail, current_key, key, owner_tags, key_input)
    return Report(trail_input, key_input, trail, key, tuple(_without_moot_unknowns(findings)))


def _ownership(
    trail: Trail,
    current_key: KeyInfo | None,
    key: KeyInfo | None,
    owner_tags: Sequence[str] | None,
    key_input: str,
) -> list[Finding]:
    """``managed-by`` / ``controltower-key`` (:mod:`trailkit.rules.ownership`) when asked."""
    if owner_tags is None:
        return []
    from trailkit.rules.ownership import ownership_findings  # it builds on this module

    return ownership_findings(trail, current_key, key, owner_tags, key_input=key_input)


#: A key CloudTrail cannot use at all, whatever its policy says (its state or its type).
_KEY_UNUSABLE = frozenset({"key-state", "key-not-symmetric"})
#: What could not be learned about the key policy (candidate keys that are not Enabled are
#: ranked without reading their policy).
_POLICY_UNKNOWNS = frozenset({"policy-unverifiable", "bucket-key-unverified"})


def _without_moot_unknowns(findings: list[Finding]) -> list[Finding]:
    """``findings`` without "the key policy could not be checked" when the key is blocked by its
    state or type: the policy cannot change that answer, so only the blocking finding is shown
    (``trailkit keys`` listed a disabled key as ``key-state`` with ``policy-unverifiable``)."""
    if not any(f.code in _KEY_UNUSABLE for f in findings):
        return findings
    return [f for f in findings if f.code not in _POLICY_UNKNOWNS]


def _policy_read_fix(bucket: BucketInfo | None, arn: str) -> str:
    """What lets trailkit read a bucket's policy: the policy is read (in the bucket's region)
    only once the region is known, so an unknown region needs a region read first."""
    if bucket is not None and bucket.region is None:
        return _(
            "let this caller read the bucket's region (s3:ListBucket for HeadBucket, or "
            "s3:GetBucketLocation) and then its policy (s3:GetBucketPolicy) on {arn} (a bucket "
            "of another account must allow both in its bucket policy)"
        ).format(arn=arn)
    return _("grant s3:GetBucketPolicy on {arn} to check it").format(arn=arn)


def _given_key_arn(lookup: KeyLookup) -> str | None:
    """The key ARN the operator gave, for a key that could not be described (else None)."""
    return lookup.ref.text if lookup.ref.kind is KeyIdKind.KEY_ARN else None


@dataclass(frozen=True)
class Verdict:
    """One candidate key ranked for one trail."""

    key: KeyInfo
    kind: VerdictKind
    code: str | None
    reason: str
    report: Report = field(compare=False)

    @property
    def label(self) -> str:
        """``alias (short id) - ready`` / ``- blocked: code`` / ``- unverifiable``."""
        if self.kind is VerdictKind.BLOCKED:
            return _("{key} - blocked: {code}").format(key=self.key.display_name, code=self.code)
        if self.kind is VerdictKind.UNVERIFIABLE:
            return _("{key} - unverifiable").format(key=self.key.display_name)
        return _("{key} - ready").format(key=self.key.display_name)

    @property
    def warnings(self) -> tuple[str, ...]:
        """The codes of the warnings of the key's pre-flight (e.g. ``policy-readers``), each once:
        a ready key may still have them."""
        return tuple(
            dict.fromkeys(f.code for f in self.report.findings if f.severity is Severity.WARNING)
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON shape of ``trailkit keys``."""
        return {
            "key_arn": self.key.arn,
            "alias": self.key.alias,
            "verdict": str(self.kind),
            "code": self.code,
            "reason": self.reason,
            "warnings": list(self.warnings),
        }


_ORDER = {VerdictKind.READY: 0, VerdictKind.UNVERIFIABLE: 1, VerdictKind.BLOCKED: 2}


def rank_candidates(
    trail: Trail,
    keys: Sequence[KeyInfo],
    caller_account: str,
    ref_for: Callable[[KeyInfo], KeyRef] | None = None,
    reader_accounts: Sequence[str] = (),
    organization_id: str | None = None,
) -> list[Verdict]:
    """A verdict for every candidate key: ready first, then unverifiable, then blocked.

    Parameters
    ----------
    trail
        The trail (with bucket facts).
    keys
        Candidate keys, usually every customer key of the bucket's region.
    caller_account
        The account the change would be sent from.
    ref_for
        How a key is referred to (default: by its key ARN, as trailkit sends it).
    reader_accounts, organization_id
        As for :func:`preflight`.
    """
    verdicts = []
    for key in keys:
        ref = ref_for(key) if ref_for else _arn_ref(key.arn)
        report = preflight(
            trail=trail,
            trail_input=trail.arn,
            key_input=key.arn,
            lookup=KeyLookup(ref=ref, key=key),
            caller_account=caller_account,
            reader_accounts=reader_accounts,
            organization_id=organization_id,
        )
        first = report.errors[0] if report.errors else None
        if first is not None:
            reason = first.message
        elif report.unverifiable:
            reason = next(f.message for f in report.findings if f.code in UNVERIFIED_CODES)
        else:
            reason = _("AWS will accept this key for this trail.")
        verdicts.append(
            Verdict(
                key=key,
                kind=report.verdict,
                code=first.code if first else None,
                reason=reason,
                report=report,
            )
        )
    verdicts.sort(key=lambda v: (_ORDER[v.kind], v.key.label.lower(), v.key.arn))
    return verdicts


@functools.lru_cache(maxsize=4096)
def _arn_ref(arn: str) -> KeyRef:
    """A key ARN parsed (kept: ranking parses each candidate's ARN once per trail)."""
    from trailkit.rules.keyids import parse_key_id

    return parse_key_id(arn)


def policy_document(text: str | None) -> Any:
    """The parsed JSON of a policy, or None."""
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None
