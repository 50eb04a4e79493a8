"""IAM permissions declared next to the code that needs them (Cloud Custodian's habit).

``@requires("cloudtrail:DescribeTrails", ...)`` records the actions on the function and in a
registry grouped by *role* (``read`` for inventory and checks, ``operate`` for changes). The IAM
policy documents shipped in ``iam/`` are generated from this registry: the caller's policies,
the policies of the role trailkit assumes in each member account (:data:`CALLER_ONLY` left out:
inside a member trailkit neither lists the organization nor assumes another role), and the trust
policy that lets the management account assume that role (:func:`member_trust_document`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

__all__ = [
    "CALLER_ONLY",
    "EXTERNAL_ID_PLACEHOLDER",
    "MANAGEMENT_ACCOUNT_PLACEHOLDER",
    "REGISTRY",
    "member_trust_document",
    "permissions_for",
    "policy_document",
    "requires",
]

F = TypeVar("F", bound=Callable[..., object])

#: role -> function qualified name -> actions
REGISTRY: dict[str, dict[str, tuple[str, ...]]] = {"read": {}, "operate": {}}

#: Actions only the caller (the management or delegated administrator account) makes: listing
#: the organization and assuming the role in each member. The member role needs neither.
CALLER_ONLY = frozenset({"organizations:ListAccounts", "sts:AssumeRole"})

#: What to replace in ``iam/trailkit-member-trust.json``.
MANAGEMENT_ACCOUNT_PLACEHOLDER = "MANAGEMENT_ACCOUNT_ID"
EXTERNAL_ID_PLACEHOLDER = "EXTERNAL_ID"


def requires(*actions: str, role: str = "read") -> Callable[[F], F]:
    """Declare the IAM actions a function needs.

    Parameters
    ----------
    *actions
        IAM actions such as ``"kms:DescribeKey"``.
    role
        ``"read"`` (inventory, checks) or ``"operate"`` (changes).
    """
    if role not in REGISTRY:
        raise ValueError(f"unknown role {role!r}")

    def mark(func: F) -> F:
        func.__trailkit_permissions__ = tuple(actions)  # type: ignore[attr-defined]
        REGISTRY[role][f"{func.__module__}.{func.__qualname__}"] = tuple(actions)
        return func

    return mark


def permissions_for(role: str, *, member: bool = False) -> list[str]:
    """Every action a role needs; ``operate`` includes everything ``read`` needs.

    Parameters
    ----------
    role
        ``"read"`` or ``"operate"``.
    member
        For the role assumed in a member account: without :data:`CALLER_ONLY`.
    """
    roles = ["read"] if role == "read" else ["read", "operate"]
    actions = {a for r in roles for acts in REGISTRY[r].values() for a in acts}
    if member:
        actions -= CALLER_ONLY
    return sorted(actions, key=str.lower)


def policy_document(role: str, *, member: bool = False) -> dict[str, object]:
    """An IAM policy document granting exactly :func:`permissions_for` ``role``.

    Parameters
    ----------
    role
        ``"read"`` or ``"operate"``.
    member
        The policy of the role trailkit assumes in a member account (``--role-name``).
    """
    sid = f"Trailkit{'Member' if member else ''}{role.capitalize()}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": sid,
                "Effect": "Allow",
                "Action": permissions_for(role, member=member),
                "Resource": "*",
            }
        ],
    }


def member_trust_document() -> dict[str, object]:
    """The trust policy of the role trailkit assumes in a member account (a template).

    It lets the management account (replace ``MANAGEMENT_ACCOUNT_ID``; or a delegated
    administrator's account) call ``sts:AssumeRole`` on the role when the ``ExternalId`` is
    ``EXTERNAL_ID`` (``--external-id``; delete the ``Condition`` when no external id is used).
    Naming the account's root delegates to it: its IAM policies then decide which of its
    principals may assume the role (the operator's needs ``sts:AssumeRole``, in
    ``iam/trailkit-read-only.json``). Sources: IAM user guide, "Creating a role to delegate
    permissions to an IAM user" and "How to use an external ID when granting access to your AWS
    resources to a third party"; the condition key ``sts:ExternalId``.
    """
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "TrailkitFromTheManagementAccount",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{MANAGEMENT_ACCOUNT_PLACEHOLDER}:root"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": EXTERNAL_ID_PLACEHOLDER}},
            }
        ],
    }
