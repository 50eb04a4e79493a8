"""Add-only key policy repair (pure): the statements CloudTrail needs, and nothing else.

:func:`plan_repair` takes a key (with its policy) and the trails that should use it, works out
which of the CloudTrail rules fail, and returns a :class:`Repair`: the original policy with new
statements *appended*. It never removes or edits a statement (a property test checks this),
refuses when the policy has no statement that lets the account administer the key (KMS would
refuse or lock the account out), refuses when an explicit Deny is the problem (only its owner
may narrow it), and stays under KMS's policy size limit, measured on the exact text sent
(indented when that fits, else compact JSON: :attr:`Repair.policy_text`). Sending it is the
write layer's job
(:func:`trailkit.change.update.put_key_policy`), which never sets
``BypassPolicyLockoutSafetyCheck``.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from trailkit.errors import InputError, RefusedError
from trailkit.i18n import _
from trailkit.records import Change, KeyInfo, Kind, Trail
from trailkit.rules import policy as pol
from trailkit.rules.checks import Report, check_policy
from trailkit.rules.principals import parse_principals
from trailkit.rules.requests import CLOUDTRAIL_SERVICE

__all__ = [
    "MAX_POLICY_BYTES",
    "REPAIRABLE_CODES",
    "Repair",
    "Restore",
    "plan_repair",
    "plan_restore",
    "policy_diff",
    "repairable",
    "same_policy",
]

#: KMS key policies are limited to 32 KB: the bytes of the ``Policy`` text sent with
#: ``PutKeyPolicy`` (:attr:`Repair.size` measures exactly that text).
MAX_POLICY_BYTES = 32768
#: Blocking findings that call for the add-only repair (or, for an explicit Deny, for its
#: refusal, which says why only the Deny's owner may narrow it).
REPAIRABLE_CODES = frozenset(
    {"policy-encrypt", "policy-describe", "policy-bucket-key-decrypt", "policy-deny"}
)
_FIXABLE = {"policy-encrypt", "policy-describe", "policy-bucket-key-decrypt", "policy-readers"}


@dataclass(frozen=True)
class Repair:
    """The add-only change to one key policy."""

    key: KeyInfo
    trails: tuple[Trail, ...]
    original_text: str
    original: dict[str, Any]
    added: tuple[dict[str, Any], ...]
    fixes: tuple[str, ...]

    @property
    def repaired(self) -> dict[str, Any]:
        """The original document with the new statements appended."""
        doc = copy.deepcopy(self.original)
        statements = doc.get("Statement")
        if isinstance(statements, dict):
            statements = [statements]
        doc["Statement"] = [*(statements or []), *copy.deepcopy(list(self.added))]
        return doc

    @property
    def policy_text(self) -> str:
        """The repaired policy exactly as sent to ``PutKeyPolicy`` (and journaled).

        Indented (2 spaces, readable in the console) when that fits in
        :data:`MAX_POLICY_BYTES`; otherwise compact (no whitespace between tokens), since KMS
        counts every byte of the text sent and re-indenting a large compact policy can add half
        its size again. Both forms are the same JSON document.
        """
        indented = _dump(self.repaired, compact=False)
        if _bytes(indented) <= MAX_POLICY_BYTES:
            return indented
        return _dump(self.repaired, compact=True)

    @property
    def needed(self) -> bool:
        """False when the policy already passes every fixable check."""
        return bool(self.added)

    @property
    def size(self) -> int:
        """Size in bytes of :attr:`policy_text`, the text sent (what KMS's limit applies to)."""
        return _bytes(self.policy_text)

    def diff(self) -> str:
        """A unified diff of the policy, before and after (additions only)."""
        return policy_diff(self.original, self.repaired, _("current policy"), _("repaired policy"))


def _policy_lines(policy: str | dict[str, Any]) -> list[str]:
    """A policy as lines to diff: JSON laid out the same way whatever its spacing, else as is."""
    doc: Any = policy
    if isinstance(policy, str):
        try:
            doc = json.loads(policy)
        except (ValueError, RecursionError):
            return policy.splitlines()
    return json.dumps(doc, indent=2).splitlines()


def policy_diff(
    before: str | dict[str, Any],
    after: str | dict[str, Any],
    before_label: str = "",
    after_label: str = "",
) -> str:
    """The unified diff between two key policies (the one diff every preview shows).

    Parameters
    ----------
    before, after
        Policy documents, as text (JSON is laid out with 2-space indents first, so spacing
        differences do not show) or parsed.
    before_label, after_label
        The file names in the diff's header (default "current policy", "new policy", in the
        operator's language).

    Returns
    -------
    str
        Empty when the policies are laid out the same.
    """
    before_label = before_label or _("current policy")
    after_label = after_label or _("new policy")
    return "\n".join(
        difflib.unified_diff(
            _policy_lines(before), _policy_lines(after), before_label, after_label, lineterm=""
        )
    )


def same_policy(a: str | None, b: str | None) -> bool:
    """Whether two key policies are the same: equal as JSON, else as text.

    Parameters
    ----------
    a, b
        Policy documents (None never equals a document).

    Returns
    -------
    bool
    """
    if a is None or b is None:
        return a is b
    try:
        return bool(json.loads(a) == json.loads(b))
    except (ValueError, RecursionError):
        return a == b


@dataclass(frozen=True)
class Restore:
    """Putting back the key policy recorded before a policy change: what a restore will send.

    Attributes
    ----------
    change_id
        The policy change being undone.
    key_arn
        The key whose ``default`` policy is put back.
    trail_arn
        The trail the change was for (journaled), if one.
    expected
        The policy that change put; the concurrency guard refuses the restore unless the key
        still has it.
    restored
        The policy recorded before that change: what ``PutKeyPolicy`` will send.
    current
        The policy read from AWS for the preview (None: not read).
    """

    change_id: str
    key_arn: str
    trail_arn: str | None
    expected: str
    restored: str
    current: str | None = None

    @property
    def changed_since(self) -> bool:
        """True when the key's policy is no longer the one the change put (restore is refused)."""
        return self.current is not None and not same_policy(self.current, self.expected)

    @property
    def needed(self) -> bool:
        """False when the key already has the policy that would be put back."""
        return not same_policy(
            self.expected if self.current is None else self.current, self.restored
        )

    def diff(self) -> str:
        """The unified diff from the current policy (else the expected one) to the restored one."""
        now = self.expected if self.current is None else self.current
        return policy_diff(now, self.restored, _("current policy"), _("restored policy"))

    def as_dict(self) -> dict[str, Any]:
        """The preview as plain data (``--format json``)."""
        return {
            "change_id": self.change_id,
            "key_arn": self.key_arn,
            "trail_arn": self.trail_arn,
            "changed_since": self.changed_since,
            "needed": self.needed,
            "diff": self.diff(),
        }


def plan_restore(change: Change, current: str | None = None) -> Restore:
    """The restore of the policy recorded before ``change`` (pure: ``current`` is given).

    Parameters
    ----------
    change
        A key policy change from the journal.
    current
        The key's policy as read now, for the preview (None: not read).

    Returns
    -------
    Restore

    Raises
    ------
    RefusedError
        ``change`` is a trail change, or it did not take effect, so there is nothing to restore.
    """
    if change.intent.kind is not Kind.KEY_POLICY:
        raise RefusedError(
            _("Change {change_id} is a trail change; undo it with `trailkit rollback`.").format(
                change_id=change.change_id
            ),
            "",
        )
    if not change.applied or change.outcome is None or change.intent.before is None:
        raise RefusedError(
            _("Change {change_id} is {status}; nothing to restore.").format(
                change_id=change.change_id, status=change.status
            ),
            "",
        )
    return Restore(
        change_id=change.change_id,
        key_arn=change.intent.target_arn,
        trail_arn=change.intent.trail_arn,
        expected=change.outcome.after or "",
        restored=change.intent.before,
        current=current,
    )


def _dump(doc: dict[str, Any], *, compact: bool) -> str:
    if compact:
        return json.dumps(doc, separators=(",", ":"))
    return json.dumps(doc, indent=2)


def _bytes(text: str) -> int:
    return len(text.encode("utf-8"))


def _sid(base: str, trails: Sequence[Trail], taken: set[str]) -> str:
    digest = hashlib.sha256("|".join(sorted(t.arn for t in trails)).encode()).hexdigest()[:8]
    sid = f"{base}{digest}"
    n = 2
    while sid in taken:
        sid = f"{base}{digest}x{n}"
        n += 1
    taken.add(sid)
    return sid


def _context_patterns(trails: Sequence[Trail]) -> list[str]:
    return sorted({f"arn:{t.partition}:cloudtrail:*:{t.account}:trail/*" for t in trails})


def _source_arns(trails: Sequence[Trail]) -> list[str]:
    return sorted({t.arn for t in trails})


def _one(values: list[str]) -> str | list[str]:
    return values[0] if len(values) == 1 else values


def repairable(report: Report) -> bool:
    """Whether a pre-flight report calls for a key policy repair (see :data:`REPAIRABLE_CODES`).

    Parameters
    ----------
    report
        From :func:`trailkit.rules.checks.preflight`.

    Returns
    -------
    bool
        True when the key was described and a blocking finding is about its policy.
    """
    return report.key is not None and bool({f.code for f in report.errors} & REPAIRABLE_CODES)


def plan_repair(
    key: KeyInfo,
    trails: Sequence[Trail],
    *,
    readers: Sequence[str] = (),
) -> Repair:
    """The statements to append so that ``trails`` can use ``key``.

    Parameters
    ----------
    key
        The key, with its current policy (``key.policy``).
    trails
        The trails that should be able to use the key (each with bucket facts).
    readers
        Principals that should be able to decrypt the logs (optional): IAM role, user or root
        ARNs, or 12-digit account ids, checked by
        :func:`trailkit.rules.principals.parse_principals` before anything else.

    Returns
    -------
    Repair
        ``added`` is empty when nothing needs fixing.

    Raises
    ------
    InputError
        No trail, or a reader is not a principal KMS would accept.
    RefusedError
        The policy is unreadable or unparseable, a Deny is the problem, the account could not
        administer the key afterwards, or the result would exceed the size limit.
    """
    if not trails:
        raise InputError(_("Name at least one trail the key should serve."), _("pass --trail"))
    principals = parse_principals(readers, trails[0].partition)
    if key.policy is None:
        raise RefusedError(
            _(
                "The policy of {key} cannot be read ({why}); trailkit only repairs policies it "
                "can read."
            ).format(key=key.arn, why=key.policy_error),
            _("repair it from the key's own account"),
        )
    try:
        original = json.loads(key.policy)
    except ValueError as exc:
        raise RefusedError(
            _("The policy of {key} is not valid JSON: {error}.").format(key=key.arn, error=exc), ""
        ) from None
    parsed = pol.parse_policy(original)
    if isinstance(parsed, str) or not isinstance(original, dict):
        raise RefusedError(
            _("The policy of {key} cannot be parsed: {why}.").format(key=key.arn, why=parsed), ""
        )
    account = key.account
    admin = pol.evaluate(
        parsed,
        pol.Request(
            principal=pol.Principal(
                kind="AWS", value=f"arn:{trails[0].partition}:iam::{account}:root", account=account
            ),
            action="kms:PutKeyPolicy",
            resource=key.arn,
            context={"kms:CallerAccount": account},
        ),
    )
    if admin.decision is not pol.Decision.ALLOWED:
        raise RefusedError(
            _(
                "The policy of {key} has no statement that lets account {account} administer the "
                "key (kms:PutKeyPolicy for the account root); changing it could lock the account "
                "out."
            ).format(key=key.arn, account=account),
            _("fix the key's administration statement by hand first"),
        )
    failing: dict[str, list[Trail]] = {}
    for trail in trails:
        for finding in check_policy(key, trail):
            if finding.code == "policy-deny":
                raise RefusedError(
                    _("{finding} trailkit only adds statements; it will not edit the Deny.").format(
                        finding=finding.message
                    ),
                    finding.remedy,
                )
            if finding.code in _FIXABLE:
                failing.setdefault(finding.code, []).append(trail)
            elif finding.code == "bucket-key-unverified" and "kms:Decrypt" in finding.detail:
                # The Bucket Key setting is unknown: add what a Bucket Key needs, so the
                # verdict no longer depends on it (DescribeKey comes as policy-describe).
                failing.setdefault("policy-bucket-key-decrypt", []).append(trail)
    statements = original.get("Statement")
    existing = statements if isinstance(statements, list) else [statements]
    taken = {str(s.get("Sid")) for s in existing if isinstance(s, dict) and s.get("Sid")}
    added: list[dict[str, Any]] = []
    if "policy-encrypt" in failing:
        group = failing["policy-encrypt"]
        added.append(
            {
                "Sid": _sid("TrailkitCloudTrailEncrypt", group, taken),
                "Effect": "Allow",
                "Principal": {"Service": CLOUDTRAIL_SERVICE},
                "Action": "kms:GenerateDataKey*",
                "Resource": "*",
                "Condition": {
                    "StringLike": {
                        "kms:EncryptionContext:aws:cloudtrail:arn": _one(_context_patterns(group))
                    },
                    "StringEquals": {"aws:SourceArn": _one(_source_arns(group))},
                },
            }
        )
    if "policy-describe" in failing:
        group = failing["policy-describe"]
        added.append(
            {
                "Sid": _sid("TrailkitCloudTrailDescribeKey", group, taken),
                "Effect": "Allow",
                "Principal": {"Service": CLOUDTRAIL_SERVICE},
                "Action": "kms:DescribeKey",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceArn": _one(_source_arns(group))}},
            }
        )
    if "policy-bucket-key-decrypt" in failing:
        group = failing["policy-bucket-key-decrypt"]
        added.append(
            {
                "Sid": _sid("TrailkitCloudTrailBucketKeyDecrypt", group, taken),
                "Effect": "Allow",
                "Principal": {"Service": CLOUDTRAIL_SERVICE},
                "Action": "kms:Decrypt",
                "Resource": "*",
                "Condition": {
                    "StringLike": {
                        "kms:EncryptionContext:aws:cloudtrail:arn": _one(_context_patterns(group))
                    },
                    "StringEquals": {"aws:SourceArn": _one(_source_arns(group))},
                },
            }
        )
    if principals:
        added.append(
            {
                "Sid": _sid("TrailkitLogReaders", trails, taken),
                "Effect": "Allow",
                "Principal": {"AWS": _one(list(principals))},
                "Action": ["kms:Decrypt", "kms:ReEncryptFrom"],
                "Resource": "*",
                "Condition": {"Null": {"kms:EncryptionContext:aws:cloudtrail:arn": "false"}},
            }
        )
    repair = Repair(
        key=key,
        trails=tuple(trails),
        original_text=key.policy,
        original=original,
        added=tuple(added),
        fixes=tuple(sorted(failing)),
    )
    if repair.size > MAX_POLICY_BYTES:
        raise RefusedError(
            _(
                "The repaired policy would be {size} bytes even without whitespace, over KMS's "
                "limit of {limit}."
            ).format(size=repair.size, limit=MAX_POLICY_BYTES),
            _("remove unused statements from the key policy first"),
        )
    return repair
