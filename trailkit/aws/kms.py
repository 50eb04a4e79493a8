"""KMS reads: ``ListKeys``, ``ListAliases``, ``DescribeKey``, ``GetKeyPolicy``,
``GetKeyRotationStatus``, ``ListResourceTags``.

Each method makes one call (or one paginated listing); which keys are worth reading and how a
described key becomes a :class:`~trailkit.records.KeyInfo` is decided in
:mod:`trailkit.rules.keys` and :class:`trailkit.aws.reader.Reader`.
"""

from __future__ import annotations

from typing import Any, cast

from trailkit.aws.service import ServiceReader
from trailkit.errors import TrailkitError
from trailkit.permissions import requires

__all__ = ["Kms"]


class Kms(ServiceReader):
    """The KMS calls of a reader (see :class:`~trailkit.aws.service.ServiceReader`)."""

    service = "kms"

    @requires("kms:ListKeys")
    def list_keys(self, region: str) -> list[dict[str, Any]]:
        """Every key of ``region`` (``ListKeys``, all pages).

        Parameters
        ----------
        region : str

        Returns
        -------
        list of dict
            ``{"KeyId": ..., "KeyArn": ...}`` items.

        Raises
        ------
        TrailkitError
            The keys cannot be listed.
        """
        return self.pages("ListKeys", region, "Keys")

    @requires("kms:ListAliases")
    def aliases(self, region: str) -> dict[str, tuple[str, ...]]:
        """Key id -> its alias names in ``region`` (``ListAliases``, all pages).

        Parameters
        ----------
        region : str

        Returns
        -------
        dict
            Key id to sorted alias names; aliases without a target key are left out.

        Raises
        ------
        TrailkitError
            The aliases cannot be listed.
        """
        by_key: dict[str, list[str]] = {}
        for item in self.pages("ListAliases", region, "Aliases"):
            target = item.get("TargetKeyId")
            if target:
                by_key.setdefault(str(target), []).append(str(item["AliasName"]))
        return {k: tuple(sorted(v)) for k, v in by_key.items()}

    @requires("kms:DescribeKey")
    def describe_key(self, key: str, region: str) -> dict[str, Any]:
        """The ``KeyMetadata`` of ``key`` (ARN, id, alias name or alias ARN) in ``region``.

        Parameters
        ----------
        key, region : str

        Returns
        -------
        dict

        Raises
        ------
        NotFound
            No such key.
        TrailkitError
            Any other failure.
        """
        return cast("dict[str, Any]", self.call("DescribeKey", region, KeyId=key)["KeyMetadata"])

    @requires("kms:GetKeyPolicy")
    def key_policy(
        self, arn: str, region: str, candidate: bool = False
    ) -> tuple[str | None, str | None]:
        """The ``default`` key policy of ``arn``.

        Parameters
        ----------
        arn, region : str
            The key and its region.
        candidate : bool
            Note a failure as a candidate key's (apart from the inventory's).

        Returns
        -------
        tuple
            (policy, error): a failure is noted and returned as the error.
        """
        try:
            data = self.call("GetKeyPolicy", region, KeyId=arn, PolicyName="default")
        except TrailkitError as err:
            return None, self.noted(err, region=region, resource=arn, candidate=candidate)
        return data.get("Policy"), None

    @requires("kms:GetKeyRotationStatus")
    def rotation_status(self, arn: str, region: str) -> tuple[bool | None, str | None]:
        """Whether automatic rotation is on for ``arn`` (``GetKeyRotationStatus``).

        Parameters
        ----------
        arn, region : str
            The key and its region.

        Returns
        -------
        tuple
            (enabled, error): a failure (e.g. AccessDenied, naming ``kms:GetKeyRotationStatus``)
            is noted and returned as the error, with ``enabled`` None: the fact is unknown, the
            rest of the key is not affected.
        """
        try:
            data = self.call("GetKeyRotationStatus", region, KeyId=arn)
        except TrailkitError as err:
            return None, self.noted(err, region=region, resource=arn)
        return bool(data.get("KeyRotationEnabled")), None

    @requires("kms:ListResourceTags")
    def resource_tags(
        self, arn: str, region: str
    ) -> tuple[tuple[tuple[str, str], ...] | None, str | None]:
        """The tags of the key ``arn`` (``ListResourceTags``, all pages).

        AWS: only the keys of the caller's account can be asked ("You cannot perform this
        operation on a KMS key in a different Amazon Web Services account", KMS API reference).

        Parameters
        ----------
        arn, region : str
            The key and its region.

        Returns
        -------
        tuple
            (tags, error): the (key, value) pairs, or None and why (the failure is noted).
        """
        try:
            items = self.pages("ListResourceTags", region, "Tags", KeyId=arn)
        except TrailkitError as err:
            return None, self.noted(err, region=region, resource=arn)
        return tuple(
            (str(t.get("TagKey")), str(t.get("TagValue") or ""))
            for t in items
            if t.get("TagKey") is not None
        ), None
