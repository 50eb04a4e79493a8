"""The one ARN, region and partition parser; every layer splits ARNs here and nowhere else.

An ARN is ``arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`` (AWS General Reference, "Amazon
Resource Names"). :func:`parse_arn` checks the fields every ARN shares and says exactly which one
is wrong; :func:`arn_region`, :func:`arn_account`, :func:`arn_partition` and
:func:`resource_id` read one field of an ARN that AWS itself returned (tolerant: ``""`` when the
text is not an ARN). Partitions and region prefixes come from botocore's ``endpoints.json``.

Bottom layer: imports only :mod:`trailkit.errors`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import NoReturn

from trailkit.errors import InputError
from trailkit.i18n import N_, _

__all__ = [
    "KNOWN_PARTITIONS",
    "REGION_RE",
    "Arn",
    "Problem",
    "arn_account",
    "arn_partition",
    "arn_region",
    "arn_resource",
    "arn_service",
    "check_account",
    "check_characters",
    "check_place",
    "describe_char",
    "fail",
    "is_region",
    "parse_arn",
    "partition_for_region",
    "resource_id",
    "short_arn",
    "short_key_id",
    "show",
    "split_arn",
]

#: Longest text looked at (the KMS ``KeyIdType`` maximum); longer input is refused at once.
MAX_LEN = 2048

#: The partitions AWS publishes (botocore ``endpoints.json``).
KNOWN_PARTITIONS: tuple[str, ...] = (
    "aws",
    "aws-cn",
    "aws-us-gov",
    "aws-iso",
    "aws-iso-b",
    "aws-iso-e",
    "aws-iso-f",
    "aws-eusc",
)


_ARN_SHAPE = "arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE"

_PARTITION_RE = re.compile(r"aws(?:-[a-z]+)*")
REGION_RE = re.compile(r"[a-z]{2,4}(?:-[a-z]+){1,2}-[0-9]{1,2}")
_SERVICE_RE = re.compile(r"[a-z0-9][a-z0-9-]*")
_ACCOUNT_RE = re.compile(r"[0-9]{12}")
_AWS_REGION_RE = re.compile(r"(?:us|eu|ap|sa|ca|me|af|il|mx)-[a-z]+-[0-9]{1,2}")

#: Region prefixes of the non-``aws`` partitions, most specific first.
_REGION_PREFIXES: tuple[tuple[str, str], ...] = (
    ("us-gov-", "aws-us-gov"),
    ("us-isob-", "aws-iso-b"),
    ("us-isof-", "aws-iso-f"),
    ("us-iso-", "aws-iso"),
    ("eu-isoe-", "aws-iso-e"),
    ("eusc-", "aws-eusc"),
    ("cn-", "aws-cn"),
)


_CHAR_NAMES = {
    " ": N_("a space"),
    "\t": N_("a tab"),
    "\n": N_("a newline"),
    "\r": N_("a carriage return"),
    "\x00": N_("a NUL character"),
    "\u00a0": N_("a non-breaking space"),
}


@dataclass(frozen=True)
class Arn:
    """The six fields of an Amazon Resource Name.

    Parameters
    ----------
    partition
        ``aws``, ``aws-cn``, ``aws-us-gov``, ...
    service
        ``kms``, ``cloudtrail``, ``s3``, ...
    region
        The region, or ``""`` for global resources (S3 buckets, IAM).
    account
        The 12-digit account id, ``""`` (S3 buckets) or ``"aws"`` (AWS managed IAM policies).
    resource
        Everything after the fifth ``:``, e.g. ``key/1234abcd-...`` or ``trail/MyTrail``.
    """

    partition: str
    service: str
    region: str
    account: str
    resource: str

    def __str__(self) -> str:
        return ":".join(
            ("arn", self.partition, self.service, self.region, self.account, self.resource)
        )


class Problem(Exception):
    """Internal: what is wrong with a piece of text; converted to a public error at the edge."""

    def __init__(self, problem: str, hint: str = "") -> None:
        super().__init__(problem)
        self.problem = problem
        self.hint = hint


def fail(problem: str, hint: str = "") -> NoReturn:
    raise Problem(problem, hint)


def show(text: str, limit: int = 80) -> str:
    """``repr(text)`` cut to about ``limit`` characters, so junk is never echoed in full.

    80 shows a typical key ARN whole; anything longer is cut and its length given instead.
    """
    shown = repr(text)
    if len(shown) <= limit:
        return shown
    return _("{start}...{quote} ({count} characters)").format(
        start=shown[: limit - 10], quote=shown[0], count=len(text)
    )


def describe_char(char: str) -> str:
    if char in _CHAR_NAMES:
        return _(_CHAR_NAMES[char])
    name = unicodedata.name(char, "")
    label = f" {name}" if name else ""
    return f"{char!r} (U+{ord(char):04X}{label})"


def partition_for_region(region: str) -> str:
    """The partition a region belongs to.

    Parameters
    ----------
    region
        A region name such as ``cn-north-1``.

    Returns
    -------
    str
        ``aws-cn`` for ``cn-*``, ``aws-us-gov`` for ``us-gov-*``, ``aws-iso`` for ``us-iso-*``,
        ``aws-iso-b`` for ``us-isob-*``, ``aws-iso-e`` for ``eu-isoe-*``, ``aws-iso-f`` for
        ``us-isof-*``, ``aws-eusc`` for ``eusc-*``, else ``aws``.
    """
    for prefix, partition in _REGION_PREFIXES:
        if region.startswith(prefix):
            return partition
    return "aws"


def _expected_partition(region: str) -> str | None:
    """The partition of ``region`` when it is known for sure, else ``None``."""
    for prefix, partition in _REGION_PREFIXES:
        if region.startswith(prefix):
            return partition
    return "aws" if _AWS_REGION_RE.fullmatch(region) else None


def check_partition(partition: str) -> None:
    if not partition:
        fail(
            _("the partition field is empty (it is one of {known})").format(
                known=", ".join(KNOWN_PARTITIONS)
            )
        )
    if not _PARTITION_RE.fullmatch(partition):
        said = (
            _(
                "unknown partition {partition}; partitions are lower case (known partitions: "
                "{known})"
            )
            if _PARTITION_RE.fullmatch(partition.lower())
            else _("unknown partition {partition} (known partitions: {known})")
        )
        fail(said.format(partition=show(partition, 30), known=", ".join(KNOWN_PARTITIONS)))


def check_region(region: str, partition: str) -> None:
    if not REGION_RE.fullmatch(region):
        said = (
            _("{region} is not a region name like us-east-1; region names are lower case")
            if REGION_RE.fullmatch(region.lower())
            else _("{region} is not a region name like us-east-1")
        )
        fail(said.format(region=show(region, 30)))
    expected = _expected_partition(region)
    if expected is not None and expected != partition:
        fail(
            _("region {region} belongs to partition {expected}, not {partition}").format(
                region=region, expected=expected, partition=partition
            ),
            _("write arn:{expected}:... for a key in {region}").format(
                expected=expected, region=region
            ),
        )


def check_account(account: str) -> None:
    if _ACCOUNT_RE.fullmatch(account):
        return
    if not account:
        fail(_("the account field is empty; it must be the 12-digit id of the key's owner"))
    if account.isascii() and account.isdigit():
        fail(
            _("an account id is exactly 12 digits; this one has {count}").format(count=len(account))
        )
    bad = next(c for c in account if not ("0" <= c <= "9"))
    fail(
        _("an account id is exactly 12 digits; {account} contains {char}").format(
            account=show(account, 30), char=describe_char(bad)
        )
    )


def check_place(partition: str, region: str, account: str) -> None:
    """Validate where an identifier is used (for :func:`key_arn` and :meth:`KeyRef.qualified`)."""
    try:
        check_partition(partition)
        if not region:
            fail(_("the region is empty"))
        check_region(region, partition)
        check_account(account)
    except Problem as exc:
        raise InputError(
            _("Cannot build a KMS ARN for {partition}/{region}/{account}: {why}.").format(
                partition=show(partition, 20),
                region=show(region, 30),
                account=show(account, 30),
                why=exc.problem,
            ),
            exc.hint
            or _("give a partition like aws, a region like us-east-1 and a 12-digit account"),
        ) from None


def split_arn(text: str) -> Arn:
    """Split and check the fields every ARN shares; raises :class:`Problem`."""
    if not text.startswith("arn:"):
        if text[:4].lower() == "arn:":
            fail(
                _("ARNs are case-sensitive and start with lower-case 'arn:', not {start}").format(
                    start=repr(text[:4])
                )
            )
        fail(_("an ARN starts with 'arn:' ({shape})").format(shape=_ARN_SHAPE))
    parts = text.split(":", 5)
    if len(parts) < 6:
        fail(
            _(
                "too few fields: an ARN has 6 fields separated by ':' ({shape}); this one has "
                "{count}"
            ).format(shape=_ARN_SHAPE, count=len(parts))
        )
    _arn, partition, service, region, account, resource = parts
    check_partition(partition)
    if not service:
        fail(_("the service field is empty"))
    if not _SERVICE_RE.fullmatch(service):
        fail(_("{service} is not a service name like kms or s3").format(service=show(service, 30)))
    if region:
        check_region(region, partition)
    if account and account != "aws":
        check_account(account)
    if not resource:
        fail(_("the resource part (after the fifth ':') is empty"))
    return Arn(partition, service, region, account, resource)


def parse_arn(text: str) -> Arn:
    """Split an ARN into its fields, checking the parts every ARN shares.

    Parameters
    ----------
    text
        An ARN such as ``arn:aws:cloudtrail:us-east-1:111122223333:trail/Main``.

    Returns
    -------
    Arn
        The fields. Region and account may be empty (S3 buckets, IAM).

    Raises
    ------
    InputError
        The text is not an ARN; the message says which field is wrong.
    """
    stripped = text.strip()
    if len(stripped) > MAX_LEN:
        raise InputError(
            _("{text} is not a valid ARN: it is {count} characters long.").format(
                text=show(stripped), count=len(stripped)
            ),
            _("an ARN looks like {shape}").format(shape=_ARN_SHAPE),
        )
    try:
        check_characters(stripped)
        return split_arn(stripped)
    except Problem as exc:
        raise InputError(
            _("{text} is not a valid ARN: {why}.").format(text=show(stripped), why=exc.problem),
            exc.hint or _("an ARN looks like {shape}").format(shape=_ARN_SHAPE),
        ) from None


def check_characters(text: str) -> None:
    """Refuse whitespace, control characters and non-ASCII anywhere in (stripped) text."""
    for i, c in enumerate(text, start=1):
        if c.isspace():
            fail(
                _(
                    "it contains whitespace ({char} at position {position}); a key identifier "
                    "never contains spaces or line breaks"
                ).format(char=describe_char(c), position=i),
                _("give exactly one identifier, with nothing around it"),
            )
        if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn"):
            fail(
                _("it contains a control character ({char} at position {position})").format(
                    char=describe_char(c), position=i
                )
            )
        if not c.isascii():
            fail(
                _(
                    "it contains the non-ASCII character {char} at position {position}; key "
                    "identifiers are plain ASCII (text copied from a document may carry "
                    "typographic dashes or quotes)"
                ).format(char=describe_char(c), position=i)
            )


def is_region(text: str) -> bool:
    """Whether ``text`` is shaped like a region name (``us-east-1``, ``cn-north-1``, ...)."""
    return bool(REGION_RE.fullmatch(text))


def _field(arn: str, index: int) -> str:
    parts = arn.split(":", 5)
    return parts[index] if len(parts) == 6 and parts[0] == "arn" else ""


def arn_partition(arn: str) -> str:
    """The partition field of an ARN AWS returned (``""`` when ``arn`` is not an ARN)."""
    return _field(arn, 1)


def arn_service(arn: str) -> str:
    """The service field of an ARN (``""`` when ``arn`` is not an ARN)."""
    return _field(arn, 2)


def arn_region(arn: str) -> str:
    """The region field of an ARN AWS returned (``""`` when absent or not an ARN)."""
    return _field(arn, 3)


def arn_account(arn: str) -> str:
    """The account field of an ARN AWS returned (``""`` when absent or not an ARN)."""
    return _field(arn, 4)


def arn_resource(arn: str) -> str:
    """Everything after an ARN's fifth ``:`` (``""`` when ``arn`` is not an ARN)."""
    return _field(arn, 5)


def resource_id(arn: str) -> str:
    """The last ``/`` segment of an ARN's resource: a trail's name, a key's id.

    ``arn:aws:kms:us-east-1:111122223333:key/1234abcd-...`` gives ``1234abcd-...``; text that is
    not an ARN is returned from its last ``/`` on (``alias/x`` gives ``x``).
    """
    return arn.rsplit("/", 1)[-1]


def short_key_id(key_id: str) -> str:
    """The first 8 characters of a key id (``mrk-`` ids keep their prefix): how every view
    names a key that has no alias."""
    return key_id[:12] if key_id.startswith("mrk-") else key_id[:8]


def short_arn(text: str) -> str:
    """A short, recognisable form of an ARN for tables: never for requests or JSON.

    A trail ARN gives the trail's name, a key ARN ``key/`` and the short key id followed by
    ``…`` (``key/1234abcd…``), an alias ARN the alias (``alias/name``), any other ARN its
    resource. Text that is not an ARN is returned unchanged.

    Parameters
    ----------
    text
        An ARN as AWS returned it, or any other text.
    """
    resource = arn_resource(text)
    if not resource:
        return text
    service = arn_service(text)
    if service == "cloudtrail" and resource.startswith("trail/"):
        return resource_id(resource)
    if service == "kms" and resource.startswith("key/"):
        key_id = resource[len("key/") :]
        short = short_key_id(key_id)
        return f"key/{short}…" if short != key_id else resource
    return resource
