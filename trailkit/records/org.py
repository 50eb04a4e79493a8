"""The accounts of a scan of several accounts (``--org``, ``--accounts``): issue 16.

An :class:`Account` is one AWS account trailkit looks at: its id, its name and status when
AWS Organizations gave them (``ListAccounts``), and the role trailkit assumes in it (None for
the caller's own account, which is used directly).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Account"]


@dataclass(frozen=True)
class Account:
    """One AWS account of a scan of several accounts.

    Parameters
    ----------
    account_id : str
        The 12-digit account id.
    name : str or None
        Its name in AWS Organizations (``ListAccounts``' ``Name``); None when the accounts were
        given with ``--accounts`` and not listed.
    status : str or None
        Organizations' status of the account (``ACTIVE``, ``SUSPENDED``, ``PENDING_CLOSURE``);
        None when not listed.
    role_arn : str or None
        The role trailkit assumes in the account (``arn:PARTITION:iam::ACCOUNT:role/NAME``);
        None for the caller's own account, which is read with the caller's credentials.
    """

    account_id: str
    name: str | None = None
    status: str | None = None
    role_arn: str | None = None

    @property
    def label(self) -> str:
        """``name (id)`` when the name is known, else the id: how a person is shown it."""
        return f"{self.name} ({self.account_id})" if self.name else self.account_id

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "account": self.account_id,
            "account_name": self.name,
            "status": self.status,
            "role_arn": self.role_arn,
        }
