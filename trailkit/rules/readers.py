"""Who may decrypt a trail's logs with a key: the readers a key policy admits, per account (pure).

A key policy lets an AWS principal call ``kms:Decrypt`` in three ways (KMS developer guide, "Key
policies in AWS KMS": "Specifying principals" and "Allows access to the AWS account and enables
IAM policies"; CloudTrail user guide, "Configure AWS KMS key policies for CloudTrail": "Enable
CloudTrail log decrypt permissions"; ``docs/cloudtrail-kms.md`` section 3, statement 3):

* ``"AWS": "*"`` narrowed by a condition (``kms:CallerAccount``, ``aws:PrincipalAccount``): any
  principal of the accounts the condition names (:attr:`Access.ANY`);
* the account itself (``arn:aws:iam::ACCOUNT:root`` or the bare id): KMS hands the decision to
  IAM, so a principal of that account may decrypt when *its IAM policies* allow it. trailkit
  reads key policies, not IAM policies, and says exactly that: "via IAM policies of account X"
  (:attr:`Access.IAM`);
* roles and users named in ``Principal``, or in an ``aws:PrincipalArn`` condition of a ``*``
  statement: those principals only (:attr:`Access.NAMED`).

:func:`account_readers` finds the principals the Allow statements name for one account and
evaluates a decrypt request as each of them, and as a representative principal of the account
(:func:`trailkit.rules.requests.reader_request`: the log files' encryption context,
``kms:ViaService`` = S3 in the key's region), with :func:`trailkit.rules.policy.evaluate`, so
conditions and Deny statements are honoured. A condition on something trailkit cannot know about
a reader (``aws:PrincipalOrgID``, a principal tag, a source VPC ...) makes the answer "cannot be
told" (:attr:`Access.UNKNOWN`), never "nobody".

The accounts checked (:func:`reader_accounts`): the trail's, the bucket owner's when it is known
and differs, and every account the operator names (``--reader-account``): a log-archive account
that cannot decrypt is the common complaint.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass

from trailkit.arn import arn_account, arn_resource
from trailkit.i18n import N_, _
from trailkit.records import Trail
from trailkit.rules import policy as pol
from trailkit.rules.requests import reader_request

__all__ = [
    "Access",
    "AccountReaders",
    "account_readers",
    "reader_accounts",
    "short_list",
]

#: Why an account is checked (shown in messages, translated there; kept in English in a
#: finding's ``detail``).
TRAIL_ACCOUNT = N_("the trail's account")
BUCKET_OWNER = N_("the bucket owner's account")
GIVEN = N_("given as a reader account")

_ACCOUNT = re.compile(r"[0-9]{12}")
# Positive string and ARN operators: their values name the principals they admit.
_NAMING_OPERATORS = frozenset(
    {"StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike"}
)
# Condition keys that a reader's decrypt request never has (they describe a service principal's
# request): missing from trailkit's request, they really are missing. Any other key missing from
# the request is something trailkit cannot know about a reader.
_KNOWN_ABSENT = frozenset(
    {"aws:sourcearn", "aws:sourceaccount", "aws:sourceorgid", "aws:sourceorgpaths"}
)


class Access(enum.StrEnum):
    """How the principals of one account may decrypt the logs."""

    ANY = "any principal"
    """A ``*`` grant narrowed to the account: every principal of it."""
    IAM = "via IAM policies"
    """The key policy names the account: its principals whose IAM policies allow it."""
    NAMED = "named principals"
    """Only the principals the key policy names."""
    NOBODY = "nobody"
    """No principal of the account."""
    UNKNOWN = "cannot be told"
    """A part of the policy trailkit cannot evaluate, or a fact it cannot know, decides."""


def short_list(items: Sequence[str], few: int = 3) -> str:
    """``a``, ``a and b``, ``a, b and c``, ``a, b, c and 2 more``.

    Parameters
    ----------
    items
        What to list, in order.
    few
        How many to name before "and N more".

    Returns
    -------
    str
        The list in words.
    """
    if len(items) > few:
        return _("{items} and {count} more").format(
            items=_(", ").join(items[:few]), count=len(items) - few
        )
    if len(items) <= 1:
        return "".join(items)
    return _("{first} and {last}").format(first=_(", ").join(items[:-1]), last=items[-1])


@dataclass(frozen=True)
class AccountReaders:
    """Who may decrypt the logs in one account.

    ``principals`` are the roles and users (or ``principals matching PATTERN``) the key policy
    itself lets decrypt; ``unknown`` says what could not be evaluated; ``denied_by`` names the
    Deny statement that refuses the account's principals, if one does.
    """

    account: str
    why: str
    access: Access
    principals: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()
    denied_by: str | None = None

    @property
    def covered(self) -> bool:
        """Every principal of the account may decrypt, by the key policy or by its IAM policies."""
        return self.access in (Access.ANY, Access.IAM)

    def describe(self, few: int = 3) -> str:
        """One sentence: who may decrypt in this account, or that nobody may.

        Parameters
        ----------
        few
            How many principals to name before "and N more".

        Returns
        -------
        str
            For example ``In account 111122223333 (the trail's account) only
            arn:aws:iam::111122223333:role/SecOps may kms:Decrypt with this key; ...``.
        """
        # Whole sentences, the account and why it is checked as values (a translation orders
        # them); ``why`` is kept untranslated (:data:`TRAIL_ACCOUNT`) and translated here.
        where = {"account": self.account, "why": _(self.why)}
        if self.access is Access.ANY:
            return _(
                "Any principal of account {account} ({why}) may kms:Decrypt with this key."
            ).format(**where)
        if self.access is Access.IAM:
            if self.principals:
                return _(
                    "In account {account} ({why}) principals may kms:Decrypt via IAM policies of "
                    "account {account} (the key policy names the account, so a reader needs an "
                    "IAM policy that allows it); the key policy itself also names {principals}."
                ).format(principals=short_list(self.principals, few), **where)
            return _(
                "In account {account} ({why}) principals may kms:Decrypt via IAM policies of "
                "account {account} (the key policy names the account, so a reader needs an IAM "
                "policy that allows it)."
            ).format(**where)
        if self.access is Access.NAMED:
            text = _(
                "In account {account} ({why}) only {principals} may kms:Decrypt with this key; "
                "other principals there cannot read the encrypted logs and digest files."
            ).format(principals=short_list(self.principals, few), **where)
            if self.unknown:
                text += " " + _("Not evaluated: {why}.").format(why=self.unknown[0])
            return text
        if self.access is Access.UNKNOWN:
            why = self.unknown[0] if self.unknown else _("part of the policy cannot be evaluated")
            return _(
                "Whether anyone in account {account} ({why}) may kms:Decrypt with this key cannot "
                "be told: {reason}."
            ).format(reason=why, **where)
        if self.denied_by:
            return _(
                "Nobody in account {account} ({why}) may kms:Decrypt with this key ({statement} "
                "explicitly denies it), so nobody there can read the encrypted logs and digest "
                "files."
            ).format(statement=self.denied_by, **where)
        return _(
            "Nobody in account {account} ({why}) may kms:Decrypt with this key, so nobody there "
            "can read the encrypted logs and digest files."
        ).format(**where)


def reader_accounts(trail: Trail, given: Sequence[str] = ()) -> tuple[tuple[str, str], ...]:
    """The accounts whose principals should be able to decrypt the trail's logs, and why.

    Parameters
    ----------
    trail
        The trail; its account is first, then its bucket owner's
        (:attr:`~trailkit.records.BucketInfo.owner_account`) when known and different.
    given
        Accounts the operator named (``--reader-account``), already checked.

    Returns
    -------
    tuple of (account, why)
        Each account once, in that order.
    """
    accounts: dict[str, str] = {}
    if trail.account:
        accounts[trail.account] = TRAIL_ACCOUNT
    owner = trail.bucket.owner_account if trail.bucket is not None else None
    if owner:
        accounts.setdefault(owner, BUCKET_OWNER)
    for account in given:
        accounts.setdefault(account, GIVEN)
    return tuple(accounts.items())


@dataclass(frozen=True)
class _Candidate:
    shown: str  # what a message names
    arn: str  # the principal the request is made as


def _base_operator(operator: str) -> str:
    base = operator.split(":", 1)[1] if operator.startswith("For") else operator
    return base.removesuffix("IfExists")


def _candidates(policy: pol.Policy, account: str) -> list[_Candidate]:
    """The roles and users of ``account`` that some Allow statement names, in policy order."""
    found: dict[str, _Candidate] = {}
    for statement in policy.statements:
        if statement.effect != "Allow":
            continue
        if not statement.principal_negated:
            for kind, value in statement.principals:
                if kind != "AWS" or _ACCOUNT.fullmatch(value) or arn_resource(value) == "root":
                    continue
                if any(mark in value for mark in ("*", "?", "${")):
                    continue  # KMS accepts no wildcard in a principal; the evaluator says unknown
                if arn_account(value) == account:
                    found.setdefault(value, _Candidate(value, value))
        for clause in statement.conditions:
            if clause.problem is not None or clause.key.lower() != "aws:principalarn":
                continue
            if _base_operator(clause.operator) not in _NAMING_OPERATORS:
                continue
            for value in clause.values:
                if "${" in value:
                    continue
                if "*" in value or "?" in value:
                    # One principal the pattern admits stands for all of them.
                    sample = value.replace("*", "").replace("?", "x")
                    shown = _("principals matching {pattern}").format(pattern=value)
                else:
                    sample, shown = value, value
                if arn_account(sample) == account:
                    found.setdefault(shown, _Candidate(shown, sample))
    return list(found.values())


def _grant(statement: pol.PolicyStatement, account: str) -> Access:
    """What kind of grant a statement that allowed the representative principal is."""
    if statement.principal_negated or any(
        kind == "*" or (kind == "AWS" and value == "*") for kind, value in statement.principals
    ):
        return Access.ANY
    if any(
        kind == "AWS"
        and (value == account or (arn_account(value) == account and arn_resource(value) == "root"))
        for kind, value in statement.principals
    ):
        return Access.IAM
    return Access.NAMED


def _unknowable(evaluation: pol.Evaluation, who: str) -> list[str]:
    """Allow statements that fail only on condition keys trailkit cannot know for a reader."""
    if evaluation.decision is not pol.Decision.DENIED or evaluation.deciding:
        return []
    failing: dict[pol.StatementRef, list[pol.ConditionFailure]] = {}
    for failure in evaluation.near_misses:
        failing.setdefault(failure.statement, []).append(failure)
    out = []
    for ref, failures in failing.items():
        if all(f.actual is None and f.key.lower() not in _KNOWN_ABSENT for f in failures):
            keys = _(", ").join(dict.fromkeys(f.key for f in failures))
            out.append(
                _(
                    "{statement} allows it only under a condition on {keys}, which trailkit "
                    "cannot know for {who}"
                ).format(statement=ref.label(), keys=keys, who=who)
            )
    return out


def account_readers(
    policy: pol.Policy,
    *,
    account: str,
    why: str,
    key_arn: str,
    trail_arn: str,
    s3_arns: Sequence[str] = (),
    unknown_fact: str = "",
) -> AccountReaders:
    """Who in ``account`` may decrypt the trail's log files with the key.

    The decrypt request carries the encryption context S3 sends for a log file
    (:func:`trailkit.rules.requests.reader_request`). When ``aws:s3:arn`` is known only up to
    some values (``s3_arns``: the object's ARN, or the bucket's with an S3 Bucket Key, whose use
    may be unknown; an organization trail's path without its organization id), each principal is
    asked with every value, and an answer that depends on the value is "cannot be told"
    (:attr:`Access.UNKNOWN`; :func:`trailkit.rules.policy.evaluate_variants`).

    Parameters
    ----------
    policy
        The key policy, parsed (:func:`trailkit.rules.policy.parse_policy`).
    account
        The reader account.
    why
        Why it is checked (for the message), e.g. "the trail's account".
    key_arn
        The key (the resource; its region gives ``kms:ViaService``).
    trail_arn
        The trail (the log files' encryption context).
    s3_arns
        The values ``aws:s3:arn`` may have; empty: the request has none.
    unknown_fact
        What decides between ``s3_arns`` (for the reason of an answer that depends on it;
        default "the aws:s3:arn that S3 sends").

    Returns
    -------
    AccountReaders
        :attr:`Access.ANY` or :attr:`Access.IAM` when a principal the key policy does not name
        may decrypt (by a ``*`` grant, or by the account's IAM policies); else the named
        principals that may (:attr:`Access.NAMED`), :attr:`Access.UNKNOWN` when what decides
        cannot be evaluated, or :attr:`Access.NOBODY`.
    """

    unknown_fact = unknown_fact or _("the aws:s3:arn that S3 sends")

    def ask(principal: str | None = None) -> pol.Evaluation:
        variants = [
            reader_request(
                account=account,
                key_arn=key_arn,
                trail_arn=trail_arn,
                principal=principal,
                s3_arn=s3_arn,
            )
            for s3_arn in (s3_arns or (None,))
        ]
        return pol.evaluate_variants(policy, variants, unknown_fact)

    generic = ask()
    if generic.decision is pol.Decision.ALLOWED:
        grants = {_grant(policy.statements[ref.index], account) for ref in generic.deciding}
        broad: Access | None = next((a for a in (Access.ANY, Access.IAM) if a in grants), None)
    else:
        broad = None
    principals: list[str] = []
    unknown: list[str] = []
    if generic.decision is pol.Decision.UNVERIFIABLE:
        unknown.extend(generic.unverifiable or (generic.reason,))
    unknown.extend(
        _unknowable(generic, _("principals of account {account}").format(account=account))
    )
    for candidate in _candidates(policy, account):
        answer = ask(candidate.arn)
        if answer.decision is pol.Decision.ALLOWED:
            principals.append(candidate.shown)
        elif answer.decision is pol.Decision.UNVERIFIABLE:
            reason = answer.unverifiable[0] if answer.unverifiable else answer.reason
            unknown.append(
                _("{principal}: {reason}").format(principal=candidate.shown, reason=reason)
            )
        else:
            unknown.extend(_unknowable(answer, candidate.shown))
    denied_by = None
    if generic.decision is pol.Decision.DENIED and generic.deciding:
        denied_by = _(", ").join(ref.label() for ref in generic.deciding)
    access: Access
    if broad is not None:
        access = broad
    elif principals:
        access = Access.NAMED
    elif unknown:
        access = Access.UNKNOWN
    else:
        access = Access.NOBODY
    return AccountReaders(
        account=account,
        why=why,
        access=access,
        principals=tuple(principals),
        unknown=tuple(dict.fromkeys(unknown)),
        denied_by=denied_by,
    )
