"""Who owns a trail and its key: CloudFormation, AWS Control Tower, Terraform, CDK, others (pure).

A trail or key that infrastructure as code created is changed back by that code: a change made
by hand shows as drift, and the next deployment that touches the property puts the code's value
back. The owner is told by the resource's tags (``cloudtrail:ListTags``,
``kms:ListResourceTags``, read by :class:`trailkit.aws.reader.Reader` into ``Trail.tags`` and
``KeyInfo.tags``) and, for AWS Control Tower, by the name of its trail:

* **CloudFormation** tags every resource of a stack with ``aws:cloudformation:stack-name``,
  ``aws:cloudformation:stack-id`` and ``aws:cloudformation:logical-id`` (CloudFormation user
  guide, "Resource tag"). A CDK app deploys through CloudFormation, so its resources carry the
  same tags.
* **AWS Control Tower** creates the trail ``aws-controltower-BaselineCloudTrail`` through the
  StackSet ``AWSControlTowerBP-BASELINE-CLOUDTRAIL`` (its stack instances are named
  ``StackSet-AWSControlTowerBP-...``). Its key is chosen in the landing zone settings, and
  Control Tower does not support multi-Region or asymmetric keys (AWS Control Tower user guide,
  "KMS key guidance", https://docs.aws.amazon.com/controltower/latest/userguide/kms-guidance.html).
* **Terraform, CDK and other tools** by convention tags: a tag key of
  :data:`DEFAULT_OWNER_TAG_KEYS` (or the operator's ``--owner-tag``) whose value names the tool
  (``ManagedBy = terraform``), or a tag key named after the tool (``terraform = true``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from trailkit.i18n import _
from trailkit.records import KeyInfo, Trail
from trailkit.rules.checks import CATALOGUE, Finding

__all__ = [
    "CFN_LOGICAL_ID",
    "CFN_STACK_ID",
    "CFN_STACK_NAME",
    "CONTROL_TOWER_STACK_PREFIX",
    "CONTROL_TOWER_TRAIL",
    "DEFAULT_OWNER_TAG_KEYS",
    "SNIPPET_TOOLS",
    "Owner",
    "Ownership",
    "controltower_trail",
    "managed_by",
    "owner_tag_keys",
    "owners",
    "ownership",
    "ownership_findings",
    "snippet_format",
]

#: The tags CloudFormation puts on every resource of a stack.
CFN_STACK_NAME = "aws:cloudformation:stack-name"
CFN_STACK_ID = "aws:cloudformation:stack-id"
CFN_LOGICAL_ID = "aws:cloudformation:logical-id"
#: AWS Control Tower's own trail (in every enrolled account; the organization trail of newer
#: landing zones is ``aws-controltower-BaselineCloudTrail`` too).
CONTROL_TOWER_TRAIL = "aws-controltower-BaselineCloudTrail"
#: The stack instances of Control Tower's StackSets.
CONTROL_TOWER_STACK_PREFIX = "StackSet-AWSControlTowerBP-"
#: Tag keys whose value names the tool that manages a resource (``ManagedBy = terraform``), and
#: tag keys named after a tool (``terraform = true``). ``--owner-tag KEY`` adds to these.
DEFAULT_OWNER_TAG_KEYS: tuple[str, ...] = (
    "ManagedBy",
    "managed-by",
    "managed_by",
    "managedBy",
    "Managed-By",
    "managed:by",
    "CreatedBy",
    "created-by",
    "created_by",
    "IaC",
    "iac",
    "terraform",
    "Terraform",
    "pulumi",
    "cdk",
    "CDK",
)
#: A tag key named after a tool: the tool it names.
_TOOL_KEYS = {"terraform": "terraform", "pulumi": "pulumi", "cdk": "cdk"}
#: Words in a tag value that name a tool (lower case, without spaces, dashes, underscores).
_TOOL_WORDS = (
    ("controltower", "controltower"),
    ("cloudformation", "cloudformation"),
    ("terraform", "terraform"),
    ("opentofu", "terraform"),
    ("cdk", "cdk"),
    ("pulumi", "pulumi"),
)


@dataclass(frozen=True)
class Owner:
    """Who manages a trail or a key, and how that was told.

    Parameters
    ----------
    tool : str
        ``"cloudformation"``, ``"controltower"``, ``"terraform"``, ``"cdk"``, or another
        tool's name taken from a tag value (lower case).
    name : str
        The stack name (CloudFormation, a Control Tower StackSet instance), the trail name (Control
        Tower's trail), or the tag value.
    resource : str
        ``"trail"`` or ``"key"``.
    arn : str
        The trail or key ARN.
    tag : str
        The tag key that told; ``""`` when the trail's name told (Control Tower).
    stack_id, logical_id : str, optional
        CloudFormation's ``stack-id`` and ``logical-id`` tags.
    """

    tool: str
    name: str
    resource: str
    arn: str
    tag: str
    stack_id: str | None = None
    logical_id: str | None = None

    @property
    def label(self) -> str:
        """The owner in a few words, e.g. "CloudFormation stack workload-prod-logging"."""
        if self.tool == "cloudformation":
            return _("CloudFormation stack {stack}").format(stack=self.name)
        if self.tool == "controltower":
            if not self.tag and self.resource == "trail":  # its trail, told by its name
                return _("AWS Control Tower")
            return _("AWS Control Tower ({name})").format(name=self.name)
        if self.tool == "terraform":
            return _("Terraform ({tag}={value})").format(tag=self.tag, value=self.name)
        if self.tool == "cdk":
            return _("AWS CDK ({tag}={value})").format(tag=self.tag, value=self.name)
        return _("{tool} ({tag}={value})").format(tool=self.tool, tag=self.tag, value=self.name)

    def as_dict(self) -> dict[str, str | None]:
        """JSON-ready form (``ownership.owners`` of ``trailkit explain --format json``)."""
        return {
            "tool": self.tool,
            "name": self.name,
            "resource": self.resource,
            "arn": self.arn,
            "tag": self.tag,
            "stack_id": self.stack_id,
            "logical_id": self.logical_id,
            "label": self.label,
        }


def owner_tag_keys(extra: Iterable[str] = ()) -> tuple[str, ...]:
    """The defaults plus ``extra`` (``--owner-tag``), each once, in that order."""
    return tuple(dict.fromkeys([*DEFAULT_OWNER_TAG_KEYS, *(k for k in extra if k)]))


def _tool_of(key: str, value: str) -> str:
    """The tool a convention tag names: by its key (``terraform = true``) or by its value."""
    named = _TOOL_KEYS.get(key.lower())
    if named is not None:
        return named
    word = value.lower().replace(" ", "").replace("-", "").replace("_", "")
    for needle, tool in _TOOL_WORDS:
        if needle in word:
            return tool
    return value.strip().lower()


def _tagged(
    tags: Sequence[tuple[str, str]], resource: str, arn: str, tag_keys: Sequence[str]
) -> list[Owner]:
    found: list[Owner] = []
    tags_by_key = dict(tags)
    stack = tags_by_key.get(CFN_STACK_NAME)
    stack_id = tags_by_key.get(CFN_STACK_ID)
    if stack or stack_id:
        name = stack or (stack_id or "").split("/")[1 if "/" in (stack_id or "") else 0]
        found.append(
            Owner(
                tool="controltower"
                if name.startswith(CONTROL_TOWER_STACK_PREFIX)
                else "cloudformation",
                name=name,
                resource=resource,
                arn=arn,
                tag=CFN_STACK_NAME if stack else CFN_STACK_ID,
                stack_id=stack_id,
                logical_id=tags_by_key.get(CFN_LOGICAL_ID),
            )
        )
    wanted = set(tag_keys)
    for key, value in tags:
        if key not in wanted or not value.strip():
            continue
        tool = _tool_of(key, value)
        if any(o.tool == tool for o in found):
            continue  # CloudFormation's own tags already told (a CDK app's stack too)
        found.append(Owner(tool=tool, name=value, resource=resource, arn=arn, tag=key))
    return found


def owners(
    trail: Trail, key: KeyInfo | None, tag_keys: Sequence[str] = DEFAULT_OWNER_TAG_KEYS
) -> tuple[Owner, ...]:
    """Who manages ``trail`` and ``key``, as their tags (and Control Tower's trail name) tell.

    Parameters
    ----------
    trail : Trail
        With ``tags`` read (None: only its name can tell).
    key : KeyInfo, optional
        A key (the trail's, or the one a change would use) with ``tags`` and ``aliases``.
    tag_keys : sequence of str
        The convention tag keys (:func:`owner_tag_keys`).

    Returns
    -------
    tuple of Owner
        The trail's owners first, then the key's; empty when nothing tells.
    """
    found = _tagged(trail.tags or (), "trail", trail.arn, tag_keys)
    if trail.name == CONTROL_TOWER_TRAIL and not any(o.tool == "controltower" for o in found):
        found.append(
            Owner(tool="controltower", name=trail.name, resource="trail", arn=trail.arn, tag="")
        )
    if key is not None:
        found += _tagged(key.tags or (), "key", key.arn, tag_keys)
        if any("controltower" in a.lower() for a in key.aliases) and not any(
            o.tool == "controltower" and o.resource == "key" for o in found
        ):
            found.append(
                Owner(
                    tool="controltower",
                    name=key.alias or key.key_id,
                    resource="key",
                    arn=key.arn,
                    tag="",
                )
            )
    return tuple(found)


def controltower_trail(trail: Trail, current_key: KeyInfo | None, tag_keys: Sequence[str]) -> bool:
    """Whether ``trail`` is AWS Control Tower's: its name, its stack, or its key says so."""
    return any(o.tool == "controltower" for o in owners(trail, current_key, tag_keys))


#: The tools ``trailkit snippet`` writes code for (its ``--format`` values).
SNIPPET_TOOLS = ("cloudformation", "terraform", "cdk")


def snippet_format(found: Sequence[Owner]) -> str | None:
    """The ``trailkit snippet --format`` for these owners.

    Terraform or CDK when one of them tells (a CDK app's resources carry CloudFormation's tags
    too), else ``cloudformation`` for a CloudFormation stack; None when no owner is a tool
    trailkit writes code for (Pulumi, Ansible, ...: writing a CloudFormation template for a
    trail no stack owns would mislead).
    """
    for owner in found:
        if owner.tool in ("terraform", "cdk"):
            return owner.tool
    if any(owner.tool == "cloudformation" for owner in found):
        return "cloudformation"
    return None


def _consequence(owner: Owner) -> str:
    """What happens to a change made by hand to a resource this owner manages."""
    if owner.tool == "cloudformation":
        return _(
            "{owner}: CloudFormation drift detection reports the change, and the next stack "
            "update that touches the property puts the template's value back."
        ).format(owner=owner.label)
    if owner.tool == "controltower":
        return _(
            "{owner}: Control Tower reports drift, and repairing or updating the landing zone "
            "puts its own setting back."
        ).format(owner=owner.label)
    if owner.tool == "terraform":
        return _(
            "{owner}: the next `terraform plan` shows a diff, and the next `terraform apply` "
            "reverts the change."
        ).format(owner=owner.label)
    if owner.tool == "cdk":
        return _(
            "{owner}: the next `cdk deploy` that touches the property puts the app's value back."
        ).format(owner=owner.label)
    return _("{owner}: the next run of that tool may put its own value back.").format(
        owner=owner.label
    )


def _finding(code: str, message: str, remedy: str, detail: Sequence[str] = ()) -> Finding:
    check = CATALOGUE[code]
    return Finding(
        code=code,
        severity=check.severity,
        message=message,
        remedy=remedy,
        aws_error=check.aws_error,
        detail=tuple(detail),
    )


def _key_problems(key: KeyInfo) -> list[str]:
    problems = []
    if key.multi_region:
        problems.append(_("it is a multi-Region key"))
    spec = key.key_spec or "SYMMETRIC_DEFAULT"
    if spec != "SYMMETRIC_DEFAULT":
        problems.append(_("it is asymmetric ({spec})").format(spec=spec))
    return problems


def ownership_findings(
    trail: Trail,
    current_key: KeyInfo | None,
    target_key: KeyInfo | None,
    tag_keys: Sequence[str] = DEFAULT_OWNER_TAG_KEYS,
    *,
    key_input: str = "",
) -> list[Finding]:
    """``managed-by`` and ``controltower-key`` for a change of ``trail`` to ``target_key``.

    Parameters
    ----------
    trail : Trail
        The trail, with its tags.
    current_key : KeyInfo, optional
        The key the trail uses now (its tags and aliases can tell Control Tower's trail).
    target_key : KeyInfo, optional
        The key of the change (None: a disable, or a key that could not be described).
    tag_keys : sequence of str
        The convention tag keys (:func:`owner_tag_keys`).
    key_input : str
        The key as the operator gave it, for the ``trailkit snippet`` command of the fix.

    Returns
    -------
    list of Finding
        ``controltower-key`` (error) when Control Tower's trail would get a multi-Region or
        asymmetric key (AWS Control Tower user guide, "KMS key guidance"); ``managed-by``
        (warning) when the trail or the target key is managed by a tool.
    """
    found: list[Finding] = []
    trail_owners = [o for o in owners(trail, current_key, tag_keys) if o.resource == "trail"]
    key_owners = (
        [o for o in owners(trail, target_key, tag_keys) if o.resource == "key"]
        if target_key is not None
        else []
    )
    if current_key is not None and not any(o.tool == "controltower" for o in trail_owners):
        # the trail's current key can tell Control Tower's trail (its alias); named once, on
        # the key's sentence when the change keeps that key
        key_labels = {o.label for o in key_owners}
        trail_owners += [
            o
            for o in owners(trail, current_key, tag_keys)
            if o.resource == "key" and o.tool == "controltower" and o.label not in key_labels
        ]
    controltower = any(o.tool == "controltower" for o in trail_owners) or (
        current_key is not None
        and any(
            o.tool == "controltower" and o.resource == "key"
            for o in owners(trail, current_key, tag_keys)
        )
    )
    if controltower and target_key is not None:
        problems = _key_problems(target_key)
        if problems:
            found.append(
                _finding(
                    "controltower-key",
                    _(
                        "{trail} is AWS Control Tower's trail, and Control Tower does not "
                        "support the key {key}: {problems}."
                    ).format(trail=trail.name, key=target_key.label, problems="; ".join(problems)),
                    _(
                        "choose a single-Region symmetric encryption key in the landing zone "
                        "settings of AWS Control Tower, not with UpdateTrail"
                    ),
                )
            )
    every = [*trail_owners, *key_owners]
    if every:
        if controltower:
            remedy = _(
                "change the key in the landing zone settings of AWS Control Tower (it updates "
                "its trail), not the trail itself"
            )
        else:
            fmt = snippet_format(trail_owners or key_owners)
            key_arg = key_input or (target_key.arn if target_key is not None else "")
            if fmt is not None:
                remedy = _(
                    "change the template or code instead: `trailkit snippet --trail {trail} "
                    "--key {key} --format {format}` writes the change for it"
                ).format(trail=trail.arn, key=key_arg or "KEY", format=fmt)
            else:
                remedy = _(
                    "change it in the code of {owners} instead: trailkit writes code only for "
                    "{formats}; take the key ARN and the key policy statements from `trailkit "
                    "policy --trail {trail} --key {key}`"
                ).format(
                    owners=", ".join(dict.fromkeys(o.tool for o in trail_owners or key_owners)),
                    trail=trail.arn,
                    key=key_arg or "KEY",
                    formats=", ".join(SNIPPET_TOOLS),
                )
        said = []
        if trail_owners:
            said.append(
                _("{trail} is managed by {owners}.").format(
                    trail=trail.name, owners=", ".join(dict.fromkeys(o.label for o in trail_owners))
                )
            )
        if key_owners and target_key is not None:
            said.append(
                _("The key {key} is managed by {owners}.").format(
                    key=target_key.label,
                    owners=", ".join(dict.fromkeys(o.label for o in key_owners)),
                )
            )
        what = " ".join(said)
        # one consequence per tool (Control Tower's trail and key say the same thing), named
        # by that tool's first owner
        first = {o.tool: o for o in reversed(every)}
        consequences = list(dict.fromkeys(_consequence(first[o.tool]) for o in every))
        # whole sentences, each translated on its own
        found.append(_finding("managed-by", " ".join([what, *consequences]), remedy, consequences))
    return found


@dataclass(frozen=True)
class Ownership:
    """Who manages a trail and its current key, and what that means for a change of them
    (``ownership`` of ``trailkit explain``).

    Parameters
    ----------
    owners : tuple of Owner
        The trail's owners, then its key's.
    findings : tuple of Finding
        ``managed-by`` / ``controltower-key`` for the trail as it is.
    trail_tags_error, key_tags_error : str, optional
        Why the trail's or the key's tags could not be read (the owners may then be incomplete).
    read : bool
        False when the trail's tags were not read at all (another account's trail).
    """

    owners: tuple[Owner, ...]
    findings: tuple[Finding, ...]
    trail_tags_error: str | None = None
    key_tags_error: str | None = None
    read: bool = True

    @property
    def labels(self) -> tuple[str, ...]:
        """Each owner's label, once."""
        return tuple(dict.fromkeys(o.label for o in self.owners))

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "owners": [o.as_dict() for o in self.owners],
            "findings": [f.as_dict() for f in self.findings],
            "trail_tags_error": self.trail_tags_error,
            "key_tags_error": self.key_tags_error,
            "tags_read": self.read,
        }


def ownership(
    trail: Trail, key: KeyInfo | None, tag_keys: Sequence[str] = DEFAULT_OWNER_TAG_KEYS
) -> Ownership:
    """The :class:`Ownership` of ``trail`` and its current ``key`` (pure).

    Parameters
    ----------
    trail : Trail
        With its tags as read.
    key : KeyInfo, optional
        The key it uses now, with its tags.
    tag_keys : sequence of str
        The convention tag keys (:func:`owner_tag_keys`).

    Returns
    -------
    Ownership
    """
    return Ownership(
        owners=owners(trail, key, tag_keys),
        findings=tuple(ownership_findings(trail, key, key, tag_keys)),
        trail_tags_error=trail.tags_error,
        key_tags_error=key.tags_error if key is not None else None,
        read=trail.tags is not None or trail.tags_error is not None,
    )


def _distinct_labels(found: Sequence[Owner]) -> tuple[str, ...]:
    """Each owner's label once, and AWS Control Tower once (its trail's StackSet and its key's
    alias are the same owner: the inventory showed "AWS Control Tower (StackSet-...), AWS
    Control Tower (alias/aws-controltower-mrk)")."""
    labels: dict[str, None] = {}
    controltower = False
    for owner in found:
        if owner.tool == "controltower":
            if controltower:
                continue
            controltower = True
        labels[owner.label] = None
    return tuple(labels)


def managed_by(
    trail: Trail, key: KeyInfo | None, tag_keys: Sequence[str] = DEFAULT_OWNER_TAG_KEYS
) -> str | None:
    """The owners in one short text (the inventory's "Managed by" column).

    Parameters
    ----------
    trail : Trail
        With its tags as read.
    key : KeyInfo, optional
        The key it uses now, with its tags.
    tag_keys : sequence of str
        The convention tag keys (:func:`owner_tag_keys`).

    Returns
    -------
    str or None
        The owners' labels (each once, AWS Control Tower once), comma separated; ``""`` when
        the trail's tags were read and nothing tells an owner; None when the trail's tags were
        not read (another account's trail, or ``ListTags`` refused: ``Trail.tags_error``) and
        nothing else tells (Control Tower's trail is told by its name, a key by its tags).
    """
    found = owners(trail, key, tag_keys)
    if not found and trail.tags is None:
        return None
    return ", ".join(_distinct_labels(found))
