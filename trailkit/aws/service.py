"""One AWS service as a reader sees it: its connection, the call helper, and where errors go.

A service module (:mod:`~trailkit.aws.cloudtrail`, :mod:`~trailkit.aws.s3`,
:mod:`~trailkit.aws.kms`) subclasses :class:`ServiceReader` and names its service once
(``service = "kms"``); a call site is then one line, ``self.call("DescribeKey", region,
KeyId=key)``, beside the ``@requires`` that declares its IAM action (``tests/test_iam.py`` reads
both). A failed call raises the :class:`~trailkit.errors.TrailkitError` of
:func:`~trailkit.errors.translate`; a method that turns a failure into an answer (a bucket that
could not be read, ...) reports it through :meth:`ServiceReader.noted` to the callback given.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, cast

import botocore.exceptions
from botocore import xform_name

from trailkit.aws.session import Connection
from trailkit.errors import AwsError, TrailkitError, translate
from trailkit.records import ScanError

__all__ = ["Note", "ServiceReader", "error_order", "scan_error"]

_BOTO_ERRORS = (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError)

#: Where a service reports a failure it turned into an answer: ``note(error, candidate)``;
#: ``candidate`` is True for reads of candidate keys (reported apart from the inventory's).
Note = Callable[[ScanError, bool], None]


def scan_error(err: TrailkitError, *, region: str | None, resource: str | None = None) -> ScanError:
    """The :class:`~trailkit.records.ScanError` that shows ``err`` in an inventory.

    Parameters
    ----------
    err : TrailkitError
        What a call raised.
    region : str or None
        Where the call went.
    resource : str or None
        What it was about (an ARN, ``s3://bucket``).

    Returns
    -------
    ScanError
    """
    if isinstance(err, AwsError):
        return ScanError(
            operation=err.operation,
            code=err.code,
            message=str(err),
            region=region,
            permission=getattr(err, "permission", ""),
            resource=resource,
        )
    # No AWS error code: the kind of failure in words ("Invalid input"), never a class name.
    return ScanError(operation="", code=err.title, message=str(err), region=region)


def error_order(err: ScanError) -> tuple[str, str, str, str, str]:
    """Sort key of errors: region, operation, resource, code, message."""
    return (err.region or "", err.operation, err.resource or "", err.code, err.message)


def _ignore(error: ScanError, candidate: bool) -> None:
    """The default :data:`Note`: nobody is listening."""


class ServiceReader:
    """Calls of one AWS service (``service``) through one connection.

    Parameters
    ----------
    conn : Connection
        Clients come from ``conn.client(service, region)`` (cached, counted by the connection).
    note : Note, optional
        Receives the failures that a method turns into an answer instead of raising.
    """

    #: The botocore service name (``"cloudtrail"``, ``"s3"``, ``"kms"``, ``"ec2"``).
    service: ClassVar[str]

    def __init__(self, conn: Connection, note: Note | None = None) -> None:
        self.conn = conn
        self._note = note or _ignore

    def call(
        self, operation: str, region: str | None, *, permission: str | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """Call ``operation`` (e.g. ``"DescribeKey"``) in ``region`` with ``kwargs``.

        Parameters
        ----------
        operation : str
            The API operation name, as in the IAM action.
        region : str or None
            Where to send it (None: the connection's default).
        permission : str, optional
            The IAM action that authorises the call, when it is not ``service:operation``
            (``GetBucketEncryption`` needs ``s3:GetEncryptionConfiguration``).
        **kwargs
            The operation's parameters.

        Returns
        -------
        dict
            The response.

        Raises
        ------
        TrailkitError
            The translated failure (:class:`~trailkit.errors.AccessDenied`,
            :class:`~trailkit.errors.NotFound`, ...) naming ``permission``.
        """
        try:
            client = self.conn.client(self.service, region)
            return cast("dict[str, Any]", getattr(client, xform_name(operation))(**kwargs))
        except _BOTO_ERRORS as exc:
            raise translate(
                exc,
                operation,
                permission=permission or f"{self.service}:{operation}",
                region=region,
            ) from None

    def pages(
        self,
        operation: str,
        region: str,
        result_key: str,
        *,
        permission: str | None = None,
        **kwargs: Any,
    ) -> list[dict[str, Any]]:
        """Every item of a paginated list operation (the ``result_key`` lists of all pages).

        Parameters
        ----------
        operation, region, permission, kwargs
            As for :meth:`call`.
        result_key : str
            The list in each page (``"Keys"``, ``"Aliases"``).

        Returns
        -------
        list of dict

        Raises
        ------
        TrailkitError
            As for :meth:`call`; the items of earlier pages are lost.
        """
        items: list[dict[str, Any]] = []
        try:
            paginator = self.conn.client(self.service, region).get_paginator(xform_name(operation))
            for page in paginator.paginate(**kwargs):
                items.extend(page.get(result_key) or [])
        except _BOTO_ERRORS as exc:
            raise translate(
                exc,
                operation,
                permission=permission or f"{self.service}:{operation}",
                region=region,
            ) from None
        return items

    def noted(
        self,
        err: TrailkitError,
        *,
        region: str | None,
        resource: str | None = None,
        candidate: bool = False,
    ) -> str:
        """Report ``err`` (as a :class:`~trailkit.records.ScanError`) and return its message.

        Parameters
        ----------
        err : TrailkitError
            The failure turned into an answer.
        region, resource
            As for :func:`scan_error`.
        candidate : bool
            A read of a candidate key (reported apart from the inventory's failures).

        Returns
        -------
        str
            ``str(err)``, for the answer's ``error`` field.
        """
        self._note(scan_error(err, region=region, resource=resource), candidate)
        return str(err)
