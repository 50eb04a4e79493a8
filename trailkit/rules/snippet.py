"""The change as code (pure): the same change for the owner's tool, CloudFormation, Terraform, CDK.

:func:`snippet` writes what ``trailkit update`` would send (``UpdateTrail`` with the plan's
``KmsKeyId``) and what ``trailkit policy`` would add to the key policy (the statements of
:func:`trailkit.rules.repair.plan_repair`, taken from its :class:`~trailkit.rules.repair.Repair`,
never written a second time here) in the form the trail's owner deploys:

- ``cloudformation``: a JSON fragment of a template's ``Resources``: the trail
  (``AWS::CloudTrail::Trail``, ``KMSKeyId``) and, when statements are added, the key
  (``AWS::KMS::Key``; ``AWS::KMS::ReplicaKey`` with ``PrimaryKeyArn`` for a multi-Region
  replica, ``MultiRegion: true`` for a multi-Region primary) whose ``KeyPolicy`` is the key's
  current policy plus the added statements (``KeyPolicy`` replaces the whole policy; the
  resource's ``Metadata`` says so);
- ``terraform``: ``aws_cloudtrail`` (``kms_key_id``), a ``data "aws_iam_policy_document"`` with
  one ``statement`` block per added statement and the current policy in
  ``source_policy_documents``, and an ``aws_kms_key_policy`` using it;
- ``cdk``: CDK v2 Python: ``key.add_to_resource_policy(iam.PolicyStatement(...))`` calls (CDK's
  ``addToResourcePolicy``, which does nothing on a key imported with ``Key.from_key_arn``: they
  go on the stack's own ``kms.Key``) and the ``aws_cloudtrail.Trail`` with ``encryption_key``
  (CDK's ``encryptionKey``).

AWS sources: AWS CloudFormation User Guide, ``AWS::CloudTrail::Trail``, ``AWS::KMS::Key``
(``KeyPolicy``, ``MultiRegion``) and ``AWS::KMS::ReplicaKey`` (``PrimaryKeyArn``,
``KeyPolicy``); Terraform AWS provider, ``aws_cloudtrail``, ``aws_iam_policy_document``,
``aws_kms_key_policy``; AWS CDK v2 API reference, ``aws_cloudtrail.Trail``,
``aws_kms.Key.add_to_resource_policy``.

Resource names come from the owner's CloudFormation logical id (the
``aws:cloudformation:logical-id`` tag) when an owner is known, else from the trail's name and
the key's alias. Owners are any objects with ``tool``, ``name``, ``logical_id`` and
``resource`` (``"trail"`` or ``"key"``) attributes (:class:`trailkit.rules.ownership.Owner`).
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from trailkit.errors import InputError
from trailkit.i18n import _
from trailkit.records import KeyInfo, Trail
from trailkit.rules.checks import UNVERIFIED_CODES, Finding
from trailkit.rules.plan import Plan
from trailkit.rules.repair import Repair

__all__ = ["FORMATS", "LANGUAGES", "Snippet", "blocking", "snippet"]

#: The formats ``trailkit snippet --format`` takes.
FORMATS = ("cloudformation", "terraform", "cdk")
#: The language of each format's text (for syntax highlighting and file names).
LANGUAGES = {"cloudformation": "json", "terraform": "hcl", "cdk": "python"}


@dataclass(frozen=True)
class Snippet:
    """One change written for the owner's tool.

    Attributes
    ----------
    format
        One of :data:`FORMATS`.
    language
        ``json``, ``hcl`` or ``python``.
    text
        The code (what ``trailkit snippet`` prints on stdout).
    key_arn
        The value put in ``KMSKeyId`` / ``kms_key_id`` / ``encryption_key``: the plan's
        ``KmsKeyId``.
    statements
        The key policy statements added (what ``trailkit policy`` would add; empty when the
        policy already has them or could not be read).
    notes
        Translated sentences that explain the code (also inside it, as comments or
        ``Metadata``); the command line prints them on stderr.
    """

    format: str
    language: str
    text: str
    key_arn: str
    statements: tuple[dict[str, Any], ...]
    notes: tuple[str, ...] = ()


def blocking(plan: Plan, repair: Repair | None) -> tuple[Finding, ...]:
    """The plan's blocking findings that the added key policy statements do not fix.

    Parameters
    ----------
    plan
        The trail's plan (``trailkit update``'s).
    repair
        The key policy repair (``trailkit policy``'s), or None.

    Returns
    -------
    tuple of Finding
        Empty when the change can be written as code: nothing blocks it, or only what the
        repair's statements fix (:attr:`Repair.fixes`). A trail that already uses the key is
        judged the same way (code that deploys a Disabled key, or a multi-Region key on
        Control Tower's trail, is refused as ``trailkit check`` blocks it), although
        :attr:`Plan.blocked` is False for it (``update`` would send nothing).
    """
    if not plan.report.errors:
        return ()
    fixed = set(repair.fixes) if repair is not None and repair.needed else set()
    return tuple(f for f in plan.report.errors if f.code not in fixed)


def snippet(plan: Plan, repair: Repair | None, owners: Sequence[Any] = (), *, fmt: str) -> Snippet:
    """The change of ``plan`` (and the statements of ``repair``) as code for ``fmt``.

    Parameters
    ----------
    plan
        The plan of ``trailkit update --trail T --key K`` (not one that disables SSE-KMS).
    repair
        ``trailkit policy``'s repair for the same trail and key; None when the key policy could
        not be read (the code then has no key policy part, and a note says why).
    owners
        Who deploys the trail and the key (objects with ``tool``, ``name``, ``logical_id``,
        ``resource``): their logical ids name the resources.
    fmt
        ``cloudformation``, ``terraform`` or ``cdk``.

    Returns
    -------
    Snippet

    Raises
    ------
    InputError
        ``fmt`` is not one of :data:`FORMATS`, or the plan turns SSE-KMS off.
    """
    if fmt not in FORMATS:
        raise InputError(
            _("{format} is not a snippet format.").format(format=repr(fmt)),
            _("choose one of: {formats}").format(formats=", ".join(FORMATS)),
        )
    key_arn = plan.request.get("KmsKeyId", "")
    if not key_arn:
        raise InputError(
            _("A snippet writes a switch to a key; this plan turns SSE-KMS off."),
            _("remove the trail's KMSKeyId / kms_key_id / encryption_key in its code"),
        )
    added = tuple(repair.added) if repair is not None else ()
    names = _Names.of(plan, owners)
    notes = _notes(plan, repair, owners, fmt)
    if fmt == "cloudformation":
        text = _cloudformation(plan, repair, names, key_arn, notes)
    elif fmt == "terraform":
        text = _terraform(plan, repair, names, key_arn, notes)
    else:
        text = _cdk(plan, added, names, key_arn, notes)
    return Snippet(fmt, LANGUAGES[fmt], text, key_arn, added, notes)


# -- names -----------------------------------------------------------------------------------
def _camel(text: str, suffix: str) -> str:
    """A CloudFormation logical id (letters, digits): ``app-trail`` -> ``AppTrail``."""
    parts = [p for p in re.split(r"[^A-Za-z0-9]+", text) if p]
    name = "".join(p[:1].upper() + p[1:] for p in parts)
    if not name.endswith(suffix):
        name += suffix
    return name if name[:1].isalpha() else f"R{name}"


def _snake(text: str) -> str:
    """A Terraform resource name / Python identifier: ``AppTrail`` -> ``app_trail``."""
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", text)
    name = re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()
    return name if name[:1].isalpha() else f"r_{name}"


def _owner(owners: Sequence[Any], resource: str) -> Any:
    for owner in owners:
        if getattr(owner, "resource", resource) == resource and getattr(owner, "logical_id", None):
            return owner
    return None


@dataclass(frozen=True)
class _Names:
    trail: str  # CloudFormation logical id / CDK construct id of the trail
    key: str  # CloudFormation logical id of the key

    @classmethod
    def of(cls, plan: Plan, owners: Sequence[Any]) -> _Names:
        trail_owner, key_owner = _owner(owners, "trail"), _owner(owners, "key")
        trail = trail_owner.logical_id if trail_owner else _camel(plan.trail.name, "Trail")
        key_info = plan.report.key
        alias = key_info.alias if key_info is not None else None
        default_key = _camel(alias.removeprefix("alias/"), "Key") if alias else "TrailKey"
        key = key_owner.logical_id if key_owner else default_key
        if key == trail:
            key = f"{key}Key"
        return cls(str(trail), str(key))


def _label(owner: Any) -> str:
    """The owner as every view names it (:attr:`trailkit.rules.ownership.Owner.label`,
    translated), e.g. "CloudFormation stack workload-prod-logging"; ``tool (name)`` for an
    object without a label."""
    label = getattr(owner, "label", None)
    if isinstance(label, str) and label:
        return label
    return "{tool} ({name})".format(
        tool=getattr(owner, "tool", ""), name=getattr(owner, "name", "")
    )


# -- notes -----------------------------------------------------------------------------------
def _notes(plan: Plan, repair: Repair | None, owners: Sequence[Any], fmt: str) -> tuple[str, ...]:
    trail, key_arn = plan.trail, plan.request["KmsKeyId"]
    notes: list[str] = []
    for label, resource in dict.fromkeys(
        (_label(owner), getattr(owner, "resource", "trail")) for owner in owners
    ):
        said = (
            _(
                "The key is deployed by {owner}: change it there, or its next deployment "
                "reverts the key policy."
            )
            if resource == "key"
            else _(
                "The trail is deployed by {owner}: change it there, or its next deployment "
                "reverts the trail's key."
            )
        )
        notes.append(said.format(owner=label))
    if repair is None:
        notes.append(
            _(
                "No key policy statements are included: trailkit could not work out a repair of "
                "the policy of {key} from here (it could not be read, or trailkit will not change "
                "it). Run `trailkit policy --trail {trail} --key {key}` in the key's account to "
                "see why."
            ).format(key=key_arn, trail=trail.arn)
        )
    elif not repair.needed:
        notes.append(
            _("The policy of {key} already lets CloudTrail use the key: nothing to add.").format(
                key=key_arn
            )
        )
    else:
        sids = ", ".join(str(s.get("Sid", "")) for s in repair.added)
        notes.append(
            {
                "cloudformation": _(
                    "`KeyPolicy` replaces the whole key policy: this one is the current policy of "
                    "{key} with the statements CloudTrail needs appended ({sids}), as `trailkit "
                    "policy` would put it."
                ),
                "terraform": _(
                    "`aws_kms_key_policy` replaces the whole key policy: "
                    "`source_policy_documents` holds the current policy of {key}, the "
                    "`statement` blocks are the ones CloudTrail needs ({sids}). If the key's "
                    "`aws_kms_key` resource sets `policy`, use this document there instead (two "
                    "resources would fight)."
                ),
                "cdk": _(
                    "`add_to_resource_policy` (`addToResourcePolicy`) does nothing on a key "
                    "imported with `kms.Key.from_key_arn`: call it on the stack's own `kms.Key` "
                    "({key}). The statements are the ones CloudTrail needs ({sids})."
                ),
            }[fmt].format(key=key_arn, sids=sids)
        )
        if repair.key.account != trail.account:
            notes.append(
                _(
                    "The key is in account {account}: its policy is changed by that account's code."
                ).format(account=repair.key.account)
            )
    unverified = [f.code for f in plan.report.findings if f.code in UNVERIFIED_CODES]
    if unverified:
        notes.append(
            _(
                "trailkit could not check everything AWS will ({codes}): deploy this only after "
                "the key's and the bucket's owners confirmed it."
            ).format(codes=", ".join(unverified))
        )
    logging = trail.status.is_logging if trail.status is not None else None
    if logging is None:
        notes.append(
            _(
                "Whether {trail} is logging could not be read: the code says it is; check it "
                "before deploying."
            ).format(trail=trail.name)
        )
    elif fmt == "cdk" and not logging:
        notes.append(
            _(
                "{trail} is not logging now, but `aws_cloudtrail.Trail` always turns logging on "
                "when deployed."
            ).format(trail=trail.name)
        )
    return tuple(notes)


def _logging(trail: Trail) -> bool:
    status = trail.status
    return True if status is None or status.is_logging is None else bool(status.is_logging)


# -- CloudFormation --------------------------------------------------------------------------
def _cloudformation(
    plan: Plan, repair: Repair | None, names: _Names, key_arn: str, notes: tuple[str, ...]
) -> str:
    trail = plan.trail
    props: dict[str, Any] = {"TrailName": trail.name, "S3BucketName": trail.bucket_name}
    if trail.s3_prefix:
        props["S3KeyPrefix"] = trail.s3_prefix
    props |= {
        "IsLogging": _logging(trail),
        "IsMultiRegionTrail": trail.multi_region,
        "IsOrganizationTrail": trail.organization,
        "EnableLogFileValidation": trail.log_file_validation,
        "KMSKeyId": key_arn,
    }
    resources: dict[str, Any] = {
        names.trail: {
            "Type": "AWS::CloudTrail::Trail",
            "Metadata": {"trailkit": {"trail_arn": trail.arn, "notes": list(notes)}},
            "Properties": props,
        }
    }
    if repair is not None and repair.needed:
        resources[names.key] = {
            "Type": _key_type(repair.key),
            # The key holds the logs' data keys: never delete it with the stack.
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Metadata": {
                "trailkit": {
                    "key_arn": repair.key.arn,
                    "added_sids": [s.get("Sid") for s in repair.added],
                }
            },
            "Properties": _key_properties(repair),
        }
    return json.dumps(resources, indent=2, ensure_ascii=False) + "\n"


def _replica(key: KeyInfo) -> bool:
    return key.multi_region and key.multi_region_role == "REPLICA" and bool(key.primary_arn)


def _key_type(key: KeyInfo) -> str:
    """``AWS::KMS::ReplicaKey`` for a multi-Region replica (a stack declares a replica as its
    own resource type: writing it as ``AWS::KMS::Key`` would make CloudFormation replace it with
    a new key), else ``AWS::KMS::Key``."""
    return "AWS::KMS::ReplicaKey" if _replica(key) else "AWS::KMS::Key"


def _key_properties(repair: Repair) -> dict[str, Any]:
    """The key resource's properties: ``KeyPolicy``, plus ``PrimaryKeyArn`` for a replica
    (``AWS::KMS::ReplicaKey``) or ``MultiRegion: true`` for a multi-Region primary (without it,
    ``AWS::KMS::Key`` declares a single-Region key)."""
    key = repair.key
    if _replica(key):
        return {"PrimaryKeyArn": key.primary_arn, "KeyPolicy": repair.repaired}
    if key.multi_region:
        return {"MultiRegion": True, "KeyPolicy": repair.repaired}
    return {"KeyPolicy": repair.repaired}


# -- Terraform -------------------------------------------------------------------------------
def _hcl_str(text: str) -> str:
    """A quoted HCL string: JSON's escapes that HCL has, ``\\uNNNN`` for other control
    characters, and ``$${`` / ``%%{`` so that no template sequence is read."""
    out = ['"']
    for ch in text:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out).replace("${", "$${").replace("%{", "%%{")


def _hcl_json(value: Any, indent: str) -> str:
    """A JSON document written as an HCL expression (object items with ``:``), for jsonencode."""
    inner = indent + "  "
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{inner}{_hcl_str(str(k))}: {_hcl_json(v, inner)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{indent}}}"
    if isinstance(value, list):
        if not value:
            return "[]"
        items = [f"{inner}{_hcl_json(v, inner)}" for v in value]
        return "[\n" + ",\n".join(items) + f"\n{indent}]"
    if isinstance(value, str):
        return _hcl_str(value)
    return json.dumps(value)


def _listed(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _hcl_list(values: Any) -> str:
    return "[" + ", ".join(_hcl_str(str(v)) for v in _listed(values)) + "]"


def _attrs(pairs: Sequence[tuple[str, str]], indent: str) -> list[str]:
    width = max(len(k) for k, _v in pairs)
    return [f"{indent}{k.ljust(width)} = {v}" for k, v in pairs]


def _statement_block(statement: dict[str, Any]) -> list[str]:
    pairs: list[tuple[str, str]] = []
    if "Sid" in statement:
        pairs.append(("sid", _hcl_str(str(statement["Sid"]))))
    pairs.append(("effect", _hcl_str(str(statement.get("Effect", "Allow")))))
    for field, attr in (
        ("Action", "actions"),
        ("NotAction", "not_actions"),
        ("Resource", "resources"),
        ("NotResource", "not_resources"),
    ):
        if field in statement:
            pairs.append((attr, _hcl_list(statement[field])))
    lines = ["  statement {", *_attrs(pairs, "    ")]
    for field, block in (("Principal", "principals"), ("NotPrincipal", "not_principals")):
        principal = statement.get(field)
        if principal is None:
            continue
        kinds = {"*": "*"} if principal == "*" else principal
        for kind, ids in kinds.items():
            lines += [
                f"    {block} {{",
                *_attrs([("type", _hcl_str(kind)), ("identifiers", _hcl_list(ids))], "      "),
                "    }",
            ]
    for test, by_key in (statement.get("Condition") or {}).items():
        for variable, values in by_key.items():
            lines += [
                "    condition {",
                *_attrs(
                    [
                        ("test", _hcl_str(test)),
                        ("variable", _hcl_str(variable)),
                        ("values", _hcl_list(values)),
                    ],
                    "      ",
                ),
                "    }",
            ]
    return [*lines, "  }"]


def _comments(notes: Sequence[str], mark: str) -> list[str]:
    """Each note as comment lines of at most 100 characters where the text has spaces (an ARN
    or a name is never cut)."""
    lines = [
        f"{mark} {line}"
        for note in notes
        for line in textwrap.wrap(note, 98, break_long_words=False, break_on_hyphens=False)
    ]
    return [*lines, ""] if lines else []


def _terraform(
    plan: Plan, repair: Repair | None, names: _Names, key_arn: str, notes: tuple[str, ...]
) -> str:
    trail = plan.trail
    pairs = [("name", _hcl_str(trail.name)), ("s3_bucket_name", _hcl_str(trail.bucket_name))]
    if trail.s3_prefix:
        pairs.append(("s3_key_prefix", _hcl_str(trail.s3_prefix)))
    pairs += [
        ("is_multi_region_trail", _bool(trail.multi_region)),
        ("is_organization_trail", _bool(trail.organization)),
        ("enable_log_file_validation", _bool(trail.log_file_validation)),
        ("enable_logging", _bool(_logging(trail))),
        ("kms_key_id", _hcl_str(key_arn)),
    ]
    trail_name, key_name = _snake(names.trail), _snake(names.key)
    lines = [
        *_comments(notes, "#"),
        f'resource "aws_cloudtrail" "{trail_name}" {{',
        *_attrs(pairs, "  "),
        "}",
    ]
    if repair is not None and repair.needed:
        lines += [
            "",
            f'data "aws_iam_policy_document" "{key_name}" {{',
            f"  # {repair.key.arn}",
            f"  source_policy_documents = [jsonencode({_hcl_json(repair.original, '  ')})]",
            "",
        ]
        for statement in repair.added:
            lines += [*_statement_block(statement), ""]
        lines[-1] = "}"
        lines += [
            "",
            f'resource "aws_kms_key_policy" "{key_name}" {{',
            *_attrs(
                [
                    ("key_id", _hcl_str(repair.key.arn)),
                    ("policy", f"data.aws_iam_policy_document.{key_name}.json"),
                ],
                "  ",
            ),
            "}",
        ]
    return "\n".join(lines) + "\n"


def _bool(flag: bool) -> str:
    return "true" if flag else "false"


# -- CDK (Python) ----------------------------------------------------------------------------
def _py(value: Any, indent: str) -> str:
    """A Python literal of JSON data (strings as JSON strings, which Python reads the same)."""
    inner = indent + "    "
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{inner}{json.dumps(str(k))}: {_py(v, inner)}," for k, v in value.items()]
        return "{\n" + "\n".join(items) + f"\n{indent}}}"
    if isinstance(value, list):
        return "[" + ", ".join(_py(v, inner) for v in value) + "]"
    if isinstance(value, bool) or value is None:
        return repr(value)
    return json.dumps(value, ensure_ascii=False)


_CDK_PRINCIPALS = {"Service": "iam.ServicePrincipal", "AWS": "iam.ArnPrincipal"}


def _principals(principal: Any) -> str:
    if principal == "*":
        return "[iam.AnyPrincipal()]"
    calls = []
    for kind, ids in principal.items():
        factory = _CDK_PRINCIPALS.get(kind, "iam.ArnPrincipal")
        calls += [f"{factory}({json.dumps(str(i))})" for i in _listed(ids)]
    return "[" + ", ".join(calls) + "]"


def _policy_statement(statement: dict[str, Any]) -> list[str]:
    args: list[tuple[str, str]] = []
    if "Sid" in statement:
        args.append(("sid", json.dumps(str(statement["Sid"]))))
    effect = "DENY" if statement.get("Effect") == "Deny" else "ALLOW"
    args.append(("effect", f"iam.Effect.{effect}"))
    if "Principal" in statement:
        args.append(("principals", _principals(statement["Principal"])))
    if "NotPrincipal" in statement:
        args.append(("not_principals", _principals(statement["NotPrincipal"])))
    for field, name in (
        ("Action", "actions"),
        ("NotAction", "not_actions"),
        ("Resource", "resources"),
        ("NotResource", "not_resources"),
    ):
        if field in statement:
            args.append((name, _py(_listed(statement[field]), "            ")))
    if "Condition" in statement:
        args.append(("conditions", _py(statement["Condition"], "            ")))
    return [
        "    key.add_to_resource_policy(",
        "        iam.PolicyStatement(",
        *(f"            {name}={value}," for name, value in args),
        "        )",
        "    )",
    ]


def _cdk(
    plan: Plan,
    added: tuple[dict[str, Any], ...],
    names: _Names,
    key_arn: str,
    notes: tuple[str, ...],
) -> str:
    trail = plan.trail
    function = _snake(names.trail)
    lines = [
        *_comments(notes, "#"),
        "from aws_cdk import aws_cloudtrail as cloudtrail",
        "from aws_cdk import aws_iam as iam",
        "from aws_cdk import aws_kms as kms",
        "from aws_cdk import aws_s3 as s3",
        "from constructs import Construct",
        "",
        f"KEY_ARN = {json.dumps(key_arn)}",
        "",
    ]
    if added:
        lines += ["", "def add_cloudtrail_key_policy(key: kms.Key) -> None:"]
        for statement in added:
            lines += _policy_statement(statement)
        lines += ["", ""]
    kwargs = [("trail_name", json.dumps(trail.name))]
    bucket_id = json.dumps(f"{names.trail}Bucket")
    kwargs.append(
        (
            "bucket",
            f"s3.Bucket.from_bucket_name(scope, {bucket_id}, {json.dumps(trail.bucket_name)})",
        )
    )
    if trail.s3_prefix:
        kwargs.append(("s3_key_prefix", json.dumps(trail.s3_prefix)))
    kwargs += [
        ("is_multi_region_trail", repr(trail.multi_region)),
        ("is_organization_trail", repr(trail.organization)),
        ("enable_file_validation", repr(trail.log_file_validation)),
        (
            "encryption_key",
            f"key or kms.Key.from_key_arn(scope, {json.dumps(names.trail + 'Key')}, KEY_ARN)",
        ),
    ]
    lines += [
        f"def {function}(scope: Construct, key: kms.IKey | None = None) -> cloudtrail.Trail:",
        "    return cloudtrail.Trail(",
        "        scope,",
        f"        {json.dumps(names.trail)},",
        *(f"        {name}={value}," for name, value in kwargs),
        "    )",
    ]
    return "\n".join(lines) + "\n"
