"""Which KMS keys are worth reading, how they are ordered, and where an identifier resolves.

The read layer (:class:`trailkit.aws.reader.Reader`) asks AWS; the decisions it needs about
keys are here, pure (no AWS, no boto3, no pandas) and table-tested in ``tests/test_keys.py``:

* :func:`usable`: the cheap filters of ``DescribeKey`` metadata that a key must pass before its
  policy is worth reading;
* :func:`aws_managed_alias`: an ``alias/aws/...`` alias marks an AWS managed key, which is not
  even described;
* :func:`ranked`: the order of candidate keys;
* :func:`resolve_place`, :func:`lookup_problem`, :func:`elsewhere_region`: where CloudTrail
  resolves a key identifier for a trail, what a failed lookup means, and where else to look;
* :func:`foreign_policy_error`: why the policy of another account's key cannot be read.
"""

from __future__ import annotations

from collections.abc import Iterable

from trailkit.arn import arn_account
from trailkit.errors import AccessDenied, AwsError, NotFound, TrailkitError
from trailkit.i18n import _
from trailkit.records import KeyInfo, Trail
from trailkit.rules.keyids import KeyRef

__all__ = [
    "AWS_MANAGED_ALIAS_PREFIX",
    "aws_managed_alias",
    "elsewhere_region",
    "foreign_policy_error",
    "lookup_problem",
    "ranked",
    "resolve_place",
    "usable",
]

#: Aliases of AWS managed keys (``alias/aws/s3``, ...); customers cannot create such aliases.
AWS_MANAGED_ALIAS_PREFIX = "alias/aws/"


def usable(key: KeyInfo) -> bool:
    """Whether ``key`` passes the cheap filters: only such keys can encrypt CloudTrail logs.

    CloudTrail needs a customer managed (``KeyManager`` ``CUSTOMER``), ``Enabled``, symmetric
    (``KeySpec`` ``SYMMETRIC_DEFAULT``, ``KeyUsage`` ``ENCRYPT_DECRYPT``) key (AWS CloudTrail
    User Guide, "Encrypting CloudTrail log files with AWS KMS keys"; the fields are those of KMS
    ``DescribeKey``). A field ``DescribeKey`` did not return is not held against the key.

    Parameters
    ----------
    key : KeyInfo
        A described key.

    Returns
    -------
    bool
        True when its policy is worth reading.
    """
    return (
        (key.manager or "CUSTOMER") == "CUSTOMER"
        and key.state == "Enabled"
        and (key.key_spec or "SYMMETRIC_DEFAULT") == "SYMMETRIC_DEFAULT"
        and (key.key_usage or "ENCRYPT_DECRYPT") == "ENCRYPT_DECRYPT"
    )


def aws_managed_alias(aliases: Iterable[str]) -> bool:
    """Whether one of a key's alias names marks it as AWS managed (``alias/aws/...``).

    KMS reserves the ``alias/aws/`` prefix for AWS managed keys (KMS ``CreateAlias``: "The alias
    name cannot begin with alias/aws/"), so such a key need not be described to be left out.

    Parameters
    ----------
    aliases : iterable of str
        Alias names (``ListAliases`` ``AliasName``) of one key.

    Returns
    -------
    bool
    """
    return any(a.startswith(AWS_MANAGED_ALIAS_PREFIX) for a in aliases)


def ranked(found: Iterable[KeyInfo | None]) -> tuple[KeyInfo, ...]:
    """Candidate keys in display order: by label (case-insensitive), then ARN; Nones dropped.

    Parameters
    ----------
    found : iterable of KeyInfo or None
        Keys read for a region; None for a key that was left out.

    Returns
    -------
    tuple of KeyInfo
    """
    keys = [k for k in found if k is not None]
    return tuple(sorted(keys, key=lambda k: (k.label.lower(), k.arn)))


def foreign_policy_error(arn: str, caller: str) -> str | None:
    """Why the policy of the key ``arn`` cannot be read by ``caller`` (None when it can).

    ``GetKeyPolicy`` does not work across accounts (KMS Developer Guide, "Allowing users in
    other accounts to use a KMS key": ``GetKeyPolicy`` is not among the cross-account
    operations), nor does ``ListAliases``.

    Parameters
    ----------
    arn : str
        The key ARN (``DescribeKey`` ``Arn``).
    caller : str
        The caller's account.

    Returns
    -------
    str or None
    """
    owner = arn_account(arn)
    if owner == caller:
        return None
    return _(
        "the key belongs to account {account}; its key policy can only be read from that account"
    ).format(account=owner)


def resolve_place(ref: KeyRef, trail: Trail, caller: str) -> tuple[str, str, str]:
    """Where CloudTrail resolves ``ref`` for ``trail``: (account, region, identifier to describe).

    An ARN names its own account and region; a bare key id or alias name resolves in the
    caller's account and the trail's home region, where ``UpdateTrail`` is sent (CloudTrail API
    reference, ``UpdateTrail`` ``KmsKeyId``).

    Parameters
    ----------
    ref : KeyRef
        A parsed identifier other than the empty one (``ref.is_disable`` is False).
    trail : Trail
        The trail the key is meant for.
    caller : str
        The caller's account.

    Returns
    -------
    tuple of str
    """
    if ref.is_arn:
        return str(ref.account), str(ref.region), str(ref.arn())
    return caller, trail.home_region, ref.canonical


def lookup_problem(err: TrailkitError, *, account: str, caller: str) -> str | None:
    """What a failed ``DescribeKey`` of a key in ``account`` means for a key lookup.

    Parameters
    ----------
    err : TrailkitError
        What describing the key raised.
    account : str
        The account the identifier resolved in (:func:`resolve_place`).
    caller : str
        The caller's account.

    Returns
    -------
    str or None
        ``"not-found"`` (no such key in the caller's account), ``"unreadable"`` (the key of
        another account is missing or may not be described from here; a key of another account
        that is denied), or None when the error is the answer and must be raised: a key that
        exists but is in a bad state (``KMSInvalidStateException``), a ``NotFoundException``
        that is not a missing key, or any other failure in the caller's own account.
    """
    if isinstance(err, NotFound):
        return "not-found" if account == caller else "unreadable"
    if not isinstance(err, AwsError):
        return None
    if err.code in ("NotFoundException", "KMSInvalidStateException"):
        return None
    if account == caller and not isinstance(err, AccessDenied):
        return None
    return "unreadable"


def elsewhere_region(ref: KeyRef, trail: Trail, found_in: str | None = None) -> str | None:
    """The region where the same bare identifier is worth looking up, to suggest its ARN.

    A bare identifier resolves in the trail's home region (:func:`resolve_place`), but the key
    must be in the bucket's region (CloudTrail: "the KMS key and the S3 bucket must be in the
    same AWS Region").

    Parameters
    ----------
    ref : KeyRef
        The identifier given.
    trail : Trail
        The trail (``bucket_region`` read from S3).
    found_in : str or None
        The region of the key the identifier resolved to (None when it resolved to nothing).

    Returns
    -------
    str or None
        The bucket's region, or None: for an ARN, for an unknown bucket region, when the bucket
        is in the home region, or when the key found is already in the bucket's region.
    """
    bucket_region = trail.bucket_region
    if ref.is_arn or not bucket_region or bucket_region == trail.home_region:
        return None
    if found_in == bucket_region:
        return None
    return bucket_region
