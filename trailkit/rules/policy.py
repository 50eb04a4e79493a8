"""A pure evaluator for AWS KMS key policies (and bucket policies) against one request.

It answers "would this policy let this principal do this action on this resource with this
request context?" with one of three answers: ``allowed``, ``denied`` or ``cannot-verify``. It never
calls AWS and never raises: a document it cannot read, or a part of a policy it does not
implement, gives ``cannot-verify`` with the reason, and is never counted as a grant.

Semantics (IAM/KMS, see ``docs/cloudtrail-kms.md`` section 3):

* an explicit ``Deny`` that matches wins; otherwise some ``Allow`` must match; otherwise the
  request is denied by default;
* a statement matches when ``Principal``/``NotPrincipal``, ``Action``/``NotAction``,
  ``Resource``/``NotResource`` and every condition match;
* several values for one condition key are ORed; keys and operators are ANDed.

Every element is evaluated in three-valued logic (true, false, unknown). A statement whose
outcome is unknown (an operator trailkit does not implement, a policy variable, a malformed
element, an ``Effect`` that is neither ``Allow`` nor ``Deny``) matters only when the rest of the
statement might match: an unknown ``Allow`` cannot grant, and an unknown ``Deny`` (or unknown
effect) that might match turns a grant into ``cannot-verify``. When nothing could allow the
request it is denied, whatever an unknown ``Deny`` says.
"""

from __future__ import annotations

import enum
import functools
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from trailkit.arn import arn_account, arn_partition
from trailkit.i18n import _, language

__all__ = [
    "ConditionClause",
    "ConditionFailure",
    "ContextValue",
    "Decision",
    "Evaluation",
    "Policy",
    "PolicyStatement",
    "Principal",
    "Request",
    "StatementRef",
    "evaluate",
    "evaluate_variants",
    "parse_policy",
]

ContextValue = str | bool | Sequence[str]
"""A request context value: a string, a boolean, or a list of strings (multivalued key)."""


_Tri = bool | None  # three-valued logic: True, False, None (unknown)

_VERSIONS = ("2012-10-17", "2008-10-17")
_TOP_LEVEL = frozenset({"Version", "Id", "Statement"})
_STATEMENT_ELEMENTS = frozenset(
    {
        "Sid",
        "Effect",
        "Principal",
        "NotPrincipal",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
    }
)
_PRINCIPAL_KINDS = ("AWS", "Service", "Federated", "CanonicalUser")

_STRING_OPS = frozenset(
    {
        "StringEquals",
        "StringNotEquals",
        "StringEqualsIgnoreCase",
        "StringNotEqualsIgnoreCase",
        "StringLike",
        "StringNotLike",
        "ArnEquals",
        "ArnLike",
        "ArnNotEquals",
        "ArnNotLike",
    }
)
_NEGATED_OPS = frozenset(
    {
        "StringNotEquals",
        "StringNotEqualsIgnoreCase",
        "StringNotLike",
        "ArnNotEquals",
        "ArnNotLike",
    }
)
_KNOWN_OPS = _STRING_OPS | {"Null", "Bool"}
# Real IAM operators that trailkit does not evaluate (they make a statement unknown).
_UNIMPLEMENTED_OPS = frozenset(
    {
        "NumericEquals",
        "NumericNotEquals",
        "NumericLessThan",
        "NumericLessThanEquals",
        "NumericGreaterThan",
        "NumericGreaterThanEquals",
        "DateEquals",
        "DateNotEquals",
        "DateLessThan",
        "DateLessThanEquals",
        "DateGreaterThan",
        "DateGreaterThanEquals",
        "IpAddress",
        "NotIpAddress",
        "BinaryEquals",
    }
)
_QUALIFIERS = ("ForAnyValue", "ForAllValues")
_ACCOUNT_RE = re.compile(r"\d{12}")
_ROOT_RE = re.compile(r"arn:([^:]+):iam::(\d{12}):root")


# --------------------------------------------------------------------------------------------
# Public data types


class Decision(str, enum.Enum):
    """The answer of :func:`evaluate`."""

    ALLOWED = "allowed"
    DENIED = "denied"
    UNVERIFIABLE = "cannot-verify"


@dataclass(frozen=True)
class Principal:
    """Who makes a request.

    ``kind`` is ``"Service"`` or ``"AWS"``; ``account`` is the account of an AWS principal (taken
    from the ARN when not given).
    """

    kind: str
    value: str
    account: str | None = None


class _FrozenContext(Mapping[str, ContextValue]):
    """A read-only, hashable copy of a request context (lists become tuples)."""

    __slots__ = ("_data",)

    def __init__(self, source: Mapping[str, ContextValue]) -> None:
        data: dict[str, ContextValue] = {}
        for key, value in source.items():
            if isinstance(value, str | bool):
                data[key] = value
            else:
                try:
                    data[key] = tuple(value)
                except TypeError:  # not a list: kept as given (evaluate reads it as one value)
                    data[key] = value
        self._data = data

    def __getitem__(self, key: str) -> ContextValue:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        return hash(frozenset(self._data.items()))

    def __repr__(self) -> str:
        return f"{self._data!r}"


@dataclass(frozen=True)
class Request:
    """One request to evaluate: who, what, on which resource, with which condition keys.

    ``context`` is copied into a read-only mapping (lists become tuples), so a ``Request`` is
    immutable and hashable.
    """

    principal: Principal
    action: str
    resource: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.context, _FrozenContext):
            object.__setattr__(self, "context", _FrozenContext(self.context))


@dataclass(frozen=True)
class StatementRef:
    """Which statement of a policy: its position (0-based), ``Sid`` and ``Effect`` as written."""

    index: int
    sid: str | None
    effect: str

    def label(self) -> str:
        """Name the statement for people: ``statement "Sid"`` or ``statement #3`` (1-based).

        Returns
        -------
        str
            The label.
        """
        if self.sid:
            return _('statement "{sid}"').format(sid=self.sid)
        return _("statement #{number}").format(number=self.index + 1)


@dataclass(frozen=True)
class ConditionFailure:
    """One condition of a statement that the request does not satisfy.

    ``actual`` is None when the key is absent from the request.
    """

    statement: StatementRef
    operator: str
    key: str
    expected: tuple[str, ...]
    actual: tuple[str, ...] | None

    def describe(self) -> str:
        """Say in plain English what the condition wants and what the request has.

        Returns
        -------
        str
            For example ``StringLike kms:EncryptionContext:aws:cloudtrail:arn expects
            arn:aws:cloudtrail:*:111122223333:trail/* but the request has
            arn:aws:cloudtrail:us-east-1:444455556666:trail/t``.
        """
        # Whole sentences per case (a translation orders them): what the request has, then
        # what the condition wants.
        has = "none" if self.actual is None else ("values" if self.actual else "empty")
        actual = ", ".join(self.actual or ())
        base = _split_operator(self.operator)
        base_name = base[1] if base else self.operator
        if base_name == "Null":
            wants_absent = any(v.lower() == "true" for v in self.expected)
            null = {
                (True, "none"): _(
                    "Null {key} expects the key to be absent but the request has no {key}"
                ),
                (True, "values"): _(
                    "Null {key} expects the key to be absent but the request has {actual}"
                ),
                (True, "empty"): _(
                    "Null {key} expects the key to be absent but the request has an empty list "
                    "of values"
                ),
                (False, "none"): _(
                    "Null {key} expects the key to be present but the request has no {key}"
                ),
                (False, "values"): _(
                    "Null {key} expects the key to be present but the request has {actual}"
                ),
                (False, "empty"): _(
                    "Null {key} expects the key to be present but the request has an empty list "
                    "of values"
                ),
            }[(wants_absent, has)]
            return null.format(key=self.key, actual=actual)
        if len(self.expected) == 1:
            values = self.expected[0]
        else:
            values = _("one of {values}").format(values=", ".join(self.expected))
        if base_name in _NEGATED_OPS:
            values = _("anything but {values}").format(values=values)
        text = {
            "none": _("{operator} {key} expects {values} but the request has no {key}"),
            "values": _("{operator} {key} expects {values} but the request has {actual}"),
            "empty": _(
                "{operator} {key} expects {values} but the request has an empty list of values"
            ),
        }[has]
        return text.format(operator=self.operator, key=self.key, values=values, actual=actual)


@dataclass(frozen=True)
class Evaluation:
    """The result of :func:`evaluate`.

    ``deciding`` holds the Deny that matched, or the Allow(s) that matched (empty otherwise);
    ``near_misses`` (for a default deny) the conditions that fail in Allow statements whose
    principal, action and resource match; ``unverifiable`` why no answer could be given.
    """

    decision: Decision
    reason: str
    deciding: tuple[StatementRef, ...] = ()
    near_misses: tuple[ConditionFailure, ...] = ()
    unverifiable: tuple[str, ...] = ()


@dataclass(frozen=True)
class ConditionClause:
    """One ``operator -> key -> values`` entry of a statement's ``Condition``.

    ``problem`` says why the clause cannot be evaluated (then it is unknown).
    """

    operator: str
    key: str
    values: tuple[str, ...]
    problem: str | None = None


@dataclass(frozen=True)
class PolicyStatement:
    """A parsed statement.

    Each element keeps the strings it could read and the problems it found; ``principals`` holds
    ``(kind, value)`` pairs (``("*", "*")`` for ``"Principal": "*"``); ``resources`` is None when
    the statement has neither ``Resource`` nor ``NotResource`` (then it matches any resource).
    """

    ref: StatementRef
    effect: str | None
    principals: tuple[tuple[str, str], ...]
    principal_negated: bool
    principal_problems: tuple[str, ...]
    actions: tuple[str, ...]
    action_negated: bool
    action_problems: tuple[str, ...]
    resources: tuple[str, ...] | None
    resource_negated: bool
    resource_problems: tuple[str, ...]
    conditions: tuple[ConditionClause, ...]
    problems: tuple[str, ...]


@dataclass(frozen=True)
class Policy:
    """A parsed policy document: its ``Version``, ``Id``, statements and remarks."""

    version: str | None
    id: str | None
    statements: tuple[PolicyStatement, ...]
    notes: tuple[str, ...] = ()


# --------------------------------------------------------------------------------------------
# Parsing


class _Malformed(ValueError):
    """Raised inside the parser; turned into the string that :func:`parse_policy` returns."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Malformed(
                _('the element "{key}" appears twice in one JSON object').format(key=key)
            )
        out[key] = value
    return out


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return _("a boolean")
    if isinstance(value, int | float):
        return _("a number")
    if isinstance(value, str):
        return _("a string")
    if isinstance(value, Mapping):
        return _("an object")
    if isinstance(value, list | tuple):
        return _("a list")
    return type(value).__name__


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def parse_policy(document: str | Mapping[str, Any]) -> Policy | str:
    """Parse a policy document.

    Parameters
    ----------
    document
        The policy as JSON text (as ``GetKeyPolicy`` returns it) or as a mapping.

    Returns
    -------
    Policy or str
        The parsed policy, or a short explanation (no trailing period) of why the document is not
        a policy. Problems inside one statement do not make the document malformed: they are kept
        on the statement and make it "cannot verify". Never raises.
    """
    if isinstance(document, str):
        return _parse_text(document, language())
    return _parse_or_reason(document)


@functools.lru_cache(maxsize=1024)
def _parse_text(document: str, lang: str) -> Policy | str:
    """Parsed policy texts are kept: ranking keys for many trails evaluates each key's policy
    once per trail (a :class:`Policy` is immutable, so sharing it is safe). The problems and
    notes it holds are text in ``lang``, the language spoken when it was parsed: part of the
    key, so that another language gets its own."""
    return _parse_or_reason(document)


def _parse_or_reason(document: object) -> Policy | str:
    try:
        return _parse(document)
    except _Malformed as exc:
        return str(exc)
    except RecursionError:
        return _("the document is nested too deeply to read")
    except MemoryError:
        return _("the document is too large to read")
    except Exception as exc:  # parse_policy must never raise
        return _("the document could not be read ({error})").format(error=type(exc).__name__)


def _parse(document: object) -> Policy:
    if isinstance(document, bytes | bytearray):
        try:
            document = bytes(document).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _Malformed(_("the document is not UTF-8 text")) from exc
    if isinstance(document, str):
        if not document.strip():
            raise _Malformed(_("the document is empty"))
        try:
            data: object = json.loads(document, object_pairs_hook=_no_duplicates)
        except json.JSONDecodeError as exc:
            raise _Malformed(
                _("it is not valid JSON ({error} at line {line} column {column})").format(
                    error=exc.msg, line=exc.lineno, column=exc.colno
                )
            ) from exc
        except ValueError as exc:
            if isinstance(exc, _Malformed):
                raise
            raise _Malformed(
                _("it is not valid JSON ({error})").format(error=_short(str(exc)))
            ) from exc
    else:
        data = document
    if not isinstance(data, Mapping):
        raise _Malformed(
            _("the document must be a JSON object, not {kind}").format(kind=_kind(data))
        )
    unknown = [k for k in data if k not in _TOP_LEVEL]
    if unknown:
        raise _Malformed(
            _('unknown top-level element "{element}"').format(element=_short(str(unknown[0])))
        )
    version = data.get("Version")
    if version is not None and version not in _VERSIONS:
        shown = _short(version) if isinstance(version, str) else _kind(version)
        raise _Malformed(
            _('unsupported Version "{version}" (expected 2012-10-17)').format(version=shown)
        )
    policy_id = data.get("Id")
    if policy_id is not None and not isinstance(policy_id, str):
        raise _Malformed(_("Id must be a string, not {kind}").format(kind=_kind(policy_id)))
    if "Statement" not in data:
        raise _Malformed(_("the document has no Statement"))
    raw = data["Statement"]
    if isinstance(raw, Mapping):
        raw_statements: list[object] = [raw]
    elif isinstance(raw, list | tuple):
        raw_statements = list(raw)
    else:
        raise _Malformed(
            _("Statement must be an object or a list of objects, not {kind}").format(
                kind=_kind(raw)
            )
        )
    statements: list[PolicyStatement] = []
    notes: list[str] = []
    for index, item in enumerate(raw_statements):
        if not isinstance(item, Mapping):
            raise _Malformed(
                _("statement #{number} must be an object, not {kind}").format(
                    number=index + 1, kind=_kind(item)
                )
            )
        statement = _parse_statement(index, item)
        if statement.resources is None:
            notes.append(
                _("{statement} has no Resource; it is treated as matching any resource").format(
                    statement=statement.ref.label()
                )
            )
        statements.append(statement)
    return Policy(
        version=version,
        id=policy_id,
        statements=tuple(statements),
        notes=tuple(notes),
    )


def _parse_statement(index: int, raw: Mapping[Any, Any]) -> PolicyStatement:
    problems: list[str] = []
    sid_raw = raw.get("Sid")
    sid = sid_raw if isinstance(sid_raw, str) else None
    effect_raw = raw.get("Effect")
    effect_text = effect_raw if isinstance(effect_raw, str) else ("" if effect_raw is None else "?")
    ref = StatementRef(index=index, sid=sid, effect=effect_text)
    label = ref.label()
    if sid_raw is not None and not isinstance(sid_raw, str):
        problems.append(
            _("{statement} has a Sid that is {kind}, not a string").format(
                statement=label, kind=_kind(sid_raw)
            )
        )
    for key in raw:
        if key not in _STATEMENT_ELEMENTS:
            problems.append(
                _('{statement} has an unknown element "{element}"').format(
                    statement=label, element=_short(str(key))
                )
            )
    effect: str | None = None
    if effect_raw is None:
        problems.append(_("{statement} has no Effect").format(statement=label))
    elif effect_raw in ("Allow", "Deny"):
        effect = effect_raw
    elif isinstance(effect_raw, str):
        problems.append(
            _('{statement} has Effect "{effect}" (expected Allow or Deny)').format(
                statement=label, effect=_short(effect_raw)
            )
        )
    else:
        problems.append(
            _("{statement} has an Effect that is {kind}, not Allow or Deny").format(
                statement=label, kind=_kind(effect_raw)
            )
        )

    principals, p_neg, p_problems = _parse_principal(label, raw)
    actions, a_neg, a_problems = _parse_pair(label, raw, "Action", "NotAction", required=True)
    resources: tuple[str, ...] | None
    r_neg: bool
    r_problems: tuple[str, ...]
    if "Resource" not in raw and "NotResource" not in raw:
        resources, r_neg, r_problems = None, False, ()
    else:
        resources, r_neg, r_problems = _parse_pair(
            label, raw, "Resource", "NotResource", required=True
        )
    conditions = _parse_conditions(label, raw.get("Condition"), "Condition" in raw)
    return PolicyStatement(
        ref=ref,
        effect=effect,
        principals=principals,
        principal_negated=p_neg,
        principal_problems=p_problems,
        actions=actions,
        action_negated=a_neg,
        action_problems=a_problems,
        resources=resources,
        resource_negated=r_neg,
        resource_problems=r_problems,
        conditions=conditions,
        problems=tuple(problems),
    )


def _strings(label: str, element: str, value: object) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Read a string-or-list-of-strings element: (the strings, the problems)."""
    if isinstance(value, str):
        return (value,), ()
    if isinstance(value, list | tuple):
        if not value:
            return (), (
                _("{statement} has an empty {element} list").format(
                    statement=label, element=element
                ),
            )
        good: list[str] = []
        problems: list[str] = []
        for item in value:
            if isinstance(item, str):
                good.append(item)
            else:
                problems.append(
                    _("{statement} has a value in {element} that is {kind}").format(
                        statement=label, element=element, kind=_kind(item)
                    )
                )
        return tuple(good), tuple(problems)
    return (), (
        _("{statement} has a {element} that is {kind}, not a string or list").format(
            statement=label, element=element, kind=_kind(value)
        ),
    )


def _parse_pair(
    label: str, raw: Mapping[Any, Any], positive: str, negative: str, *, required: bool
) -> tuple[tuple[str, ...], bool, tuple[str, ...]]:
    if positive in raw and negative in raw:
        return (
            (),
            False,
            (
                _("{statement} has both {positive} and {negative}").format(
                    statement=label, positive=positive, negative=negative
                ),
            ),
        )
    if positive in raw:
        values, problems = _strings(label, positive, raw[positive])
        return values, False, problems
    if negative in raw:
        values, problems = _strings(label, negative, raw[negative])
        return values, True, problems
    if required:
        return (
            (),
            False,
            (
                _("{statement} has neither {positive} nor {negative}").format(
                    statement=label, positive=positive, negative=negative
                ),
            ),
        )
    return (), False, ()


def _parse_principal(
    label: str, raw: Mapping[Any, Any]
) -> tuple[tuple[tuple[str, str], ...], bool, tuple[str, ...]]:
    if "Principal" in raw and "NotPrincipal" in raw:
        return (
            (),
            False,
            (_("{statement} has both Principal and NotPrincipal").format(statement=label),),
        )
    if "Principal" in raw:
        element, negated = "Principal", False
    elif "NotPrincipal" in raw:
        element, negated = "NotPrincipal", True
    else:
        return (), False, (_("{statement} has no Principal").format(statement=label),)
    value = raw[element]
    if value == "*":
        return (("*", "*"),), negated, ()
    if not isinstance(value, Mapping):
        return (
            (),
            negated,
            (
                _('{statement} has a {element} that is {kind}, not "*" or an object').format(
                    statement=label, element=element, kind=_kind(value)
                ),
            ),
        )
    if not value:
        return (
            (),
            negated,
            (_("{statement} has an empty {element}").format(statement=label, element=element),),
        )
    pairs: list[tuple[str, str]] = []
    problems: list[str] = []
    for kind, values in value.items():
        if kind not in _PRINCIPAL_KINDS:
            problems.append(
                _('{statement} has an unknown principal type "{kind}"').format(
                    statement=label, kind=_short(str(kind))
                )
            )
            continue
        strings, bad = _strings(label, f"{element} {kind}", values)
        problems.extend(bad)
        pairs.extend((kind, s) for s in strings)
    return tuple(pairs), negated, tuple(problems)


def _split_operator(operator: str) -> tuple[str | None, str, bool] | None:
    """``ForAnyValue:StringLikeIfExists`` -> ``("ForAnyValue", "StringLike", True)``."""
    qualifier: str | None = None
    rest = operator
    for q in _QUALIFIERS:
        if operator.startswith(q + ":"):
            qualifier, rest = q, operator[len(q) + 1 :]
            break
    if_exists = rest.endswith("IfExists") and rest != "IfExists"
    base = rest[: -len("IfExists")] if if_exists else rest
    if base not in _KNOWN_OPS and base not in _UNIMPLEMENTED_OPS:
        return None
    return qualifier, base, if_exists


def _condition_values(base: str, value: object) -> tuple[tuple[str, ...], str | None]:
    """The values of one condition key as strings, or a problem."""
    items: list[object] = list(value) if isinstance(value, list | tuple) else [value]
    if not items:
        return (), _("an empty list of values")
    out: list[str] = []
    for item in items:
        if isinstance(item, bool) and base in ("Bool", "Null"):
            out.append("true" if item else "false")
        elif isinstance(item, str):
            out.append(item)
        else:
            return (), _("a value that is {kind}, not a string").format(kind=_kind(item))
    if base in ("Bool", "Null"):
        for v in out:
            if v.lower() not in ("true", "false"):
                return (), _('the value "{value}" (expected true or false)').format(value=_short(v))
    return tuple(out), None


def _parse_conditions(label: str, raw: object, present: bool) -> tuple[ConditionClause, ...]:
    if not present:
        return ()
    if not isinstance(raw, Mapping):
        shape = _("{statement} has a Condition that is {kind}").format(
            statement=label, kind=_kind(raw)
        )
        return (ConditionClause("?", "?", (), shape),)
    clauses: list[ConditionClause] = []
    for operator_raw, block in raw.items():
        operator = str(operator_raw)
        if not isinstance(block, Mapping):
            clauses.append(
                ConditionClause(
                    operator,
                    "?",
                    (),
                    _("{statement} has a {operator} block that is {kind}").format(
                        statement=label, operator=operator, kind=_kind(block)
                    ),
                )
            )
            continue
        parts = _split_operator(operator)
        for key_raw, value in block.items():
            key = str(key_raw)
            problem: str | None = None
            values: tuple[str, ...] = ()
            if parts is None:
                problem = _(
                    '{statement} uses the unknown condition operator "{operator}" (trailkit '
                    "cannot evaluate it)"
                ).format(statement=label, operator=_short(operator))
            elif parts[1] in _UNIMPLEMENTED_OPS:
                problem = _(
                    "{statement} uses the condition operator {operator} on {key}, which "
                    "trailkit does not evaluate"
                ).format(statement=label, operator=_short(operator), key=_short(key))
            elif parts[1] == "Null" and (parts[0] is not None or parts[2]):
                problem = _("{statement} uses {operator}, which is not a valid operator").format(
                    statement=label, operator=_short(operator)
                )
            else:
                values, why = _condition_values(parts[1], value)
                if why is not None:
                    problem = _("{statement} has {problem} in {operator} {key}").format(
                        statement=label, problem=why, operator=_short(operator), key=_short(key)
                    )
                elif "${" in key or any("${" in v for v in values):
                    problem = _(
                        "{statement} uses a policy variable in {operator} {key}, which trailkit "
                        "does not substitute"
                    ).format(statement=label, operator=_short(operator), key=_short(key))
            if problem is None and not isinstance(key_raw, str):
                problem = _("{statement} has a condition key that is not a string").format(
                    statement=label
                )
            clauses.append(ConditionClause(operator, key, values, problem))
    return tuple(clauses)


# --------------------------------------------------------------------------------------------
# Matching


def _and(parts: Iterable[_Tri]) -> _Tri:
    result: _Tri = True
    for part in parts:
        if part is False:
            return False
        if part is None:
            result = None
    return result


def _or(parts: Iterable[_Tri]) -> _Tri:
    result: _Tri = False
    for part in parts:
        if part is True:
            return True
        if part is None:
            result = None
    return result


def _not(value: _Tri) -> _Tri:
    return None if value is None else not value


def _glob(pattern: str, text: str) -> bool:
    """Match ``text`` against ``pattern``: ``*`` is any run of characters, ``?`` exactly one.

    Linear in practice and O(len(pattern) * len(text)) at worst (no regular expressions, so no
    catastrophic backtracking on hostile patterns).
    """
    if "?" not in pattern:  # the usual case: only "*", matched with str.find (same answers)
        parts = pattern.split("*")
        if len(parts) == 1:
            return pattern == text
        first, last = parts[0], parts[-1]
        if len(text) < len(first) + len(last):
            return False
        if not text.startswith(first) or not text.endswith(last):
            return False
        pos, end = len(first), len(text) - len(last)
        for part in parts[1:-1]:  # leftmost match of each middle part is always safe
            found = text.find(part, pos, end)
            if found < 0:
                return False
            pos = found + len(part)
        return True
    p = t = 0
    star = -1
    mark = 0
    np, nt = len(pattern), len(text)
    while t < nt:
        if p < np and (pattern[p] == "?" or pattern[p] == text[t]):
            p += 1
            t += 1
        elif p < np and pattern[p] == "*":
            star, mark = p, t
            p += 1
        elif star != -1:
            p = star + 1
            mark += 1
            t = mark
        else:
            return False
    while p < np and pattern[p] == "*":
        p += 1
    return p == np


def _arn_match(pattern: str, value: str) -> bool:
    if pattern == "*":
        return True
    p_parts = pattern.split(":", 5)
    v_parts = value.split(":", 5)
    if len(p_parts) != 6 or len(v_parts) != 6:
        return False
    return all(_glob(pp, vp) for pp, vp in zip(p_parts, v_parts, strict=True))


def _principal_account(principal: Principal) -> str | None:
    if principal.account:
        return principal.account
    value = principal.value
    if _ACCOUNT_RE.fullmatch(value):
        return value
    account = arn_account(value)
    return account if _ACCOUNT_RE.fullmatch(account) else None


def _principal_partition(principal: Principal) -> str | None:
    return arn_partition(principal.value) or None


def _principal_value_matches(kind: str, value: str, principal: Principal) -> _Tri:
    if kind == "*":
        return True
    if kind == "AWS" and value == "*":
        return True
    if principal.kind != kind:
        return False  # e.g. an account or role never names a service principal
    if "${" in value or "*" in value or "?" in value:
        return None  # partial wildcards and variables in principals are not evaluated
    if kind == "AWS":
        if value == principal.value:
            return True
        account = _principal_account(principal)
        if account is None:
            return False
        if value == account:
            return True
        root = _ROOT_RE.fullmatch(value)
        if root is not None and root.group(2) == account:
            partition = _principal_partition(principal)
            return partition is None or partition == root.group(1)
        return False
    if kind == "Service":
        return value.lower() == principal.value.lower()
    return value == principal.value


@dataclass
class _Outcome:
    """How one statement relates to one request."""

    statement: PolicyStatement
    state: _Tri
    core: _Tri
    reasons: list[str]
    failures: list[ConditionFailure]


def _describe_principal(principal: Principal) -> str:
    return principal.value or principal.kind


def _match_list(
    values: Sequence[str],
    problems: Sequence[str],
    negated: bool,
    test: Callable[[str], bool],
    reasons: list[str],
    label: str,
    element: str,
) -> _Tri:
    results: list[_Tri] = []
    local: list[str] = []
    for value in values:
        if "${" in value:
            local.append(
                _(
                    "{statement} uses a policy variable in {element}, which trailkit does not "
                    "substitute"
                ).format(statement=label, element=element)
            )
            results.append(None)
        else:
            results.append(test(value))
    if problems:
        local.extend(problems)
        results.append(None)
    hit = _or(results)
    if hit is None:
        reasons.extend(local)
    return _not(hit) if negated else hit


def _lookup(context: Mapping[str, ContextValue], key: str) -> tuple[str, ...] | None:
    wanted = key.lower()
    for name, value in context.items():
        if isinstance(name, str) and name.lower() == wanted:
            return _as_values(value)
    return None


def _scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def _as_values(value: object) -> tuple[str, ...]:
    if isinstance(value, str | bool):
        return (_scalar(value),)
    if isinstance(value, Iterable):
        return tuple(_scalar(v) for v in value)
    return (_scalar(value),)


def _compare(base: str, actual: str, expected: str) -> bool:
    """The positive form of ``base``: does ``actual`` match ``expected``?"""
    if base in ("StringEquals", "StringNotEquals"):
        return actual == expected
    if base in ("StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"):
        return actual.casefold() == expected.casefold()
    if base in ("StringLike", "StringNotLike"):
        return _glob(expected, actual)
    if base in ("ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike"):
        return _arn_match(expected, actual)
    if base == "Bool":
        return actual.lower() == expected.lower()
    raise AssertionError(base)  # pragma: no cover - _parse_conditions only lets known ops in


def _eval_clause(
    clause: ConditionClause,
    ref: StatementRef,
    context: Mapping[str, ContextValue],
    reasons: list[str],
    failures: list[ConditionFailure],
) -> _Tri:
    if clause.problem is not None:
        reasons.append(clause.problem)
        return None
    parts = _split_operator(clause.operator)
    if parts is None:  # pragma: no cover - caught at parse time
        reasons.append(
            _("{statement} uses an unknown condition operator").format(statement=ref.label())
        )
        return None
    qualifier, base, if_exists = parts
    actual = _lookup(context, clause.key)
    result: _Tri
    if base == "Null":
        present = actual is not None
        result = any((v.lower() == "true") != present for v in clause.values)
    elif actual is None:
        if if_exists or qualifier == "ForAllValues":
            result = True
        elif qualifier == "ForAnyValue":
            result = False
        else:
            result = base in _NEGATED_OPS
    else:
        negated = base in _NEGATED_OPS

        def passes(value: str) -> bool:
            hit = any(_compare(base, value, expected) for expected in clause.values)
            return not hit if negated else hit

        if qualifier == "ForAllValues":
            result = all(passes(v) for v in actual)
        elif qualifier == "ForAnyValue":
            result = any(passes(v) for v in actual)
        elif negated:
            # a single-valued negated operator: no value of the request may match
            result = not any(_compare(base, v, e) for v in actual for e in clause.values)
        else:
            result = any(passes(v) for v in actual)
    if result is False:
        failures.append(
            ConditionFailure(
                statement=ref,
                operator=clause.operator,
                key=clause.key,
                expected=clause.values,
                actual=actual,
            )
        )
    return result


def _match_statement(statement: PolicyStatement, request: Request) -> _Outcome:
    reasons: list[str] = []
    label = statement.ref.label()
    principal = request.principal

    principal_results: list[_Tri] = [
        _principal_value_matches(kind, value, principal) for kind, value in statement.principals
    ]
    local: list[str] = []
    if None in principal_results:
        local.append(
            _(
                "{statement} names a principal with a wildcard or policy variable, which "
                "trailkit does not evaluate"
            ).format(statement=label)
        )
    if statement.principal_problems:
        local.extend(statement.principal_problems)
        principal_results.append(None)
    principal_hit = _or(principal_results)
    if principal_hit is None:
        reasons.extend(local)
    principal_ok = _not(principal_hit) if statement.principal_negated else principal_hit

    action = request.action.lower()
    action_ok = _match_list(
        statement.actions,
        statement.action_problems,
        statement.action_negated,
        lambda pattern: _glob(pattern.lower(), action),
        reasons,
        label,
        "NotAction" if statement.action_negated else "Action",
    )
    if statement.resources is None:
        resource_ok: _Tri = True
    else:
        resource_ok = _match_list(
            statement.resources,
            statement.resource_problems,
            statement.resource_negated,
            lambda pattern: _glob(pattern, request.resource),
            reasons,
            label,
            "NotResource" if statement.resource_negated else "Resource",
        )
    general: _Tri = True
    if statement.problems:
        reasons.extend(statement.problems)
        general = None
    core = _and([principal_ok, action_ok, resource_ok, general])
    failures: list[ConditionFailure] = []
    if core is False:
        return _Outcome(statement, False, False, [], [])
    condition_ok = _and(
        [
            _eval_clause(clause, statement.ref, request.context, reasons, failures)
            for clause in statement.conditions
        ]
    )
    state = _and([core, condition_ok])
    return _Outcome(statement, state, core, reasons if state is None else [], failures)


# --------------------------------------------------------------------------------------------
# Evaluation


def _dedupe(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _sentence(text: str, lead: str) -> str:
    """``text`` with ``lead`` (statement labels) capitalised when the sentence starts with it
    (English: "Statement #1 allows ..."); a translation that starts otherwise is unchanged (a
    principal or an action is never capitalised)."""
    if lead and text.startswith(lead):
        return lead[:1].upper() + text[1:]
    return text


def _labels(refs: Sequence[StatementRef]) -> str:
    labels = [r.label() for r in refs]
    if len(labels) <= 1:
        return "".join(labels)
    return _("{first} and {last}").format(first=_(", ").join(labels[:-1]), last=labels[-1])


def evaluate(document: str | Mapping[str, Any] | Policy, request: Request) -> Evaluation:
    """Decide whether ``document`` allows ``request``.

    Parameters
    ----------
    document
        The policy: JSON text, a mapping, or the result of :func:`parse_policy`.
    request
        The request to decide.

    Returns
    -------
    Evaluation
        ``ALLOWED`` only when an Allow matches with nothing unknown about it and no Deny could
        match; ``DENIED`` for a matching Deny (``deciding``) or when nothing allows the request
        (``near_misses`` names the failing conditions); ``UNVERIFIABLE`` otherwise, with the
        reasons. Never raises.
    """
    try:
        return _evaluate(document, request)
    except Exception as exc:  # evaluate must never raise
        why = _("trailkit could not evaluate the policy ({error})").format(error=type(exc).__name__)
        said = _("Trailkit could not evaluate the policy ({error}).").format(
            error=type(exc).__name__
        )
        return Evaluation(Decision.UNVERIFIABLE, said, (), (), (why,))


def evaluate_variants(
    document: str | Mapping[str, Any] | Policy,
    requests: Sequence[Request],
    unknown: str,
    evaluator: Callable[[Any, Request], Evaluation] | None = None,
) -> Evaluation:
    """Evaluate a request whose context is only known up to some variants.

    When a fact of the request is not known (the organization id in an organization trail's
    object path, whether the bucket uses an S3 Bucket Key), the caller builds one request per
    value it could have. The answer is the common one when every variant gets the same decision;
    otherwise it is ``cannot-verify``: the policy decides on the unknown fact, and guessing it
    could give a false "allowed".

    Parameters
    ----------
    document
        The policy.
    requests
        The variants (at least one); the first is the one reported when they agree.
    unknown
        What is not known, for the reason (e.g. "the organization id").
    evaluator
        How one request is evaluated (default :func:`evaluate`; a caller may pass a cached one).

    Returns
    -------
    Evaluation
        The first variant's evaluation when all decisions agree; else ``UNVERIFIABLE``.
    """
    answers = [(evaluator or evaluate)(document, r) for r in requests]
    first = answers[0]
    if all(a.decision is first.decision for a in answers[1:]):
        return first
    why = _("the answer depends on {unknown}, which trailkit does not know").format(unknown=unknown)
    return Evaluation(
        Decision.UNVERIFIABLE,
        _("Cannot verify: {why}.").format(why=why),
        unverifiable=(why,),
    )


def _evaluate(document: str | Mapping[str, Any] | Policy, request: Request) -> Evaluation:
    if not isinstance(request, Request):
        why = _("the request is {kind}, not a Request").format(kind=_kind(request))
        return Evaluation(
            Decision.UNVERIFIABLE, _("Cannot verify: {why}.").format(why=why), unverifiable=(why,)
        )
    policy = document if isinstance(document, Policy) else parse_policy(document)
    # What is asked, as separate values: each sentence below is whole, so a translation orders it.
    asked = {"action": request.action, "principal": _describe_principal(request.principal)}
    if isinstance(policy, str):
        why = _("the policy is not a valid policy document: {why}").format(why=policy)
        return Evaluation(
            Decision.UNVERIFIABLE,
            _("Cannot verify {action} by {principal}: {why}.").format(why=why, **asked),
            unverifiable=(why,),
        )

    outcomes = [_match_statement(s, request) for s in policy.statements]
    denies = [o for o in outcomes if o.statement.effect == "Deny"]
    allows = [o for o in outcomes if o.statement.effect == "Allow"]
    unknown_effect = [o for o in outcomes if o.statement.effect is None and o.state is not False]

    matched_denies = [o.statement.ref for o in denies if o.state is True]
    if matched_denies:
        return Evaluation(
            Decision.DENIED,
            _sentence(
                (
                    _("{statements} explicitly denies {action} by {principal}.")
                    if len(matched_denies) == 1
                    else _("{statements} explicitly deny {action} by {principal}.")
                ).format(statements=_labels(matched_denies), **asked),
                _labels(matched_denies),
            ),
            deciding=tuple(matched_denies),
        )
    maybe_denies = [o for o in denies if o.state is None] + unknown_effect
    matched_allows = [o.statement.ref for o in allows if o.state is True]
    maybe_allows = [o for o in allows if o.state is None] + unknown_effect

    if matched_allows and not maybe_denies:
        return Evaluation(
            Decision.ALLOWED,
            _sentence(
                (
                    _("{statements} allows {action} by {principal}.")
                    if len(matched_allows) == 1
                    else _("{statements} allow {action} by {principal}.")
                ).format(statements=_labels(matched_allows), **asked),
                _labels(matched_allows),
            ),
            deciding=tuple(matched_allows),
        )
    if matched_allows or maybe_allows:
        unsure = maybe_denies if matched_allows else maybe_allows + maybe_denies
        reasons = _dedupe(r for o in unsure for r in o.reasons)
        if not reasons:  # pragma: no cover - an unknown outcome always has a reason
            reasons = (_("a statement could not be evaluated"),)
        if matched_allows:
            said = (
                _(
                    "{statements} allows {action} by {principal}, but a Deny that trailkit cannot "
                    "evaluate might override it ({why})."
                )
                if len(matched_allows) == 1
                else _(
                    "{statements} allow {action} by {principal}, but a Deny that trailkit cannot "
                    "evaluate might override it ({why})."
                )
            ).format(statements=_labels(matched_allows), why=reasons[0], **asked)
            said = _sentence(said, _labels(matched_allows))
        else:
            said = _(
                "Cannot verify {action} by {principal}: no statement surely allows it, and one "
                "might ({why})."
            ).format(why=reasons[0], **asked)
        return Evaluation(Decision.UNVERIFIABLE, said, unverifiable=reasons)
    near = tuple(f for o in allows if o.core is True and o.state is False for f in o.failures)
    if near:
        reason = _(
            "No statement allows {action} by {principal}; the closest fails a condition: {why}."
        ).format(why=near[0].describe(), **asked)
    else:
        reason = _("No statement allows {action} by {principal}.").format(**asked)
    return Evaluation(Decision.DENIED, reason, near_misses=near)
