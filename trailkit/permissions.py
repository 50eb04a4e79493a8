"""IAM permissions declared next to the code that needs them (Cloud Custodian's habit).

``@requires("cloudtrail:DescribeTrails", ...)`` records the actions on the function and in a
registry grouped by *role* (``read`` for inventory and checks, ``operate`` for changes). The IAM
policy documents shipped in ``iam/`` are generated from this registry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

__all__ = ["REGISTRY", "permissions_for", "policy_document", "requires"]

F = TypeVar("F", bound=Callable[..., object])

#: role -> function qualified name -> actions
REGISTRY: dict[str, dict[str, tuple[str, ...]]] = {"read": {}, "operate": {}}


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


def permissions_for(role: str) -> list[str]:
    """Every action a role needs; ``operate`` includes everything ``read`` needs.

    Parameters
    ----------
    role
        ``"read"`` or ``"operate"``.
    """
    roles = ["read"] if role == "read" else ["read", "operate"]
    actions = {a for r in roles for acts in REGISTRY[r].values() for a in acts}
    return sorted(actions, key=str.lower)


def policy_document(role: str) -> dict[str, object]:
    """An IAM policy document granting exactly :func:`permissions_for` ``role``."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": f"Trailkit{role.capitalize()}",
                "Effect": "Allow",
                "Action": permissions_for(role),
                "Resource": "*",
            }
        ],
    }
