"""Principals a key policy may name, checked the way KMS checks them (pure).

``trailkit policy --readers`` writes principals into a key policy's ``Principal`` element. KMS
accepts there, for an AWS principal, a 12-digit account id or the ARN of an IAM role, an IAM user
or an account root (KMS developer guide, "Key policies": "Specifying principals"; IAM user
guide, "AWS JSON policy elements: Principal"). It refuses wildcards inside an ARN, IAM groups and
anything that is not an IAM ARN; an ``"AWS": "*"`` principal would admit everyone. trailkit
admits only those forms, and says exactly what is wrong with anything else:

* ``123456789012``, written to the policy as ``arn:PARTITION:iam::123456789012:root`` (the form
  KMS stores it in), in the partition of the trails the repair is for;
* ``arn:PARTITION:iam::ACCOUNT:root``;
* ``arn:PARTITION:iam::ACCOUNT:role/NAME`` and ``arn:PARTITION:iam::ACCOUNT:user/NAME``, with an
  optional path (``role/path/to/NAME``).

The ARN fields are split and checked by :func:`trailkit.arn.parse_arn`; the partition must be one
AWS publishes (:data:`trailkit.arn.KNOWN_PARTITIONS`) and the account exactly 12 digits.

Reader *accounts* (``--reader-account``, the notebooks' ``reader_accounts``: accounts whose
principals must be able to decrypt the logs) are read by :func:`parse_account` and
:func:`parse_accounts`: an AWS account id is exactly 12 digits (IAM user guide, "Your AWS
account ID and its alias"), and may start with 0, so it is given as text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from trailkit.arn import KNOWN_PARTITIONS, describe_char, parse_arn, show
from trailkit.errors import InputError
from trailkit.i18n import N_, _

__all__ = [
    "ACCOUNT_FORM",
    "PRINCIPAL_FORMS",
    "parse_account",
    "parse_accounts",
    "parse_principal",
    "parse_principals",
]

#: The forms accepted, for messages (marked for translation; shown with ``_()``).
PRINCIPAL_FORMS = N_(
    "a 12-digit account id, or arn:aws:iam::ACCOUNT:root, arn:aws:iam::ACCOUNT:role/NAME or "
    "arn:aws:iam::ACCOUNT:user/NAME"
)
#: The form of a reader account, for messages (marked for translation; shown with ``_()``).
ACCOUNT_FORM = N_("a 12-digit AWS account id, e.g. 444455556666")

_ACCOUNT = re.compile(r"[0-9]{12}")
# IAM user and role names: up to 64 of these characters; paths: segments of the same, up to 512.
_NAME = re.compile(r"[A-Za-z0-9+=,.@_-]{1,64}")
_PATH_SEGMENT = re.compile(r"[A-Za-z0-9+=,.@_-]+")
_MAX_PATH = 512


def _refuse(text: str, problem: str) -> InputError:
    return InputError(
        _("{text} is not a principal a key policy can name: {why}.").format(
            text=show(text), why=problem
        ),
        _("give {forms}").format(forms=_(PRINCIPAL_FORMS)),
    )


def parse_principal(text: str, partition: str = "aws") -> str:
    """One reader principal, checked; returns the form written to the key policy.

    Parameters
    ----------
    text
        What the operator gave (surrounding whitespace is ignored).
    partition
        The partition a bare account id is written in (the trails' partition).

    Returns
    -------
    str
        The principal ARN (a bare account id becomes ``arn:PARTITION:iam::ACCOUNT:root``).

    Raises
    ------
    InputError
        The text is not a principal KMS would accept; the message says which part is wrong.
    """
    value = text.strip()
    if not value:
        raise _refuse(text, _("it is empty"))
    blank = next((c for c in value if c.isspace()), None)
    if blank is not None:
        raise _refuse(text, _("it contains whitespace ({char})").format(char=describe_char(blank)))
    if "*" in value or "?" in value:
        raise _refuse(
            text,
            _(
                "the account contains a wildcard; KMS does not accept wildcards in a principal, "
                "and a wildcard account would admit every AWS account"
            )
            if _wild_account(value)
            else _(
                "it contains a wildcard; KMS does not accept wildcards in a principal, and a "
                "wildcard account would admit every AWS account"
            ),
        )
    if value.isascii() and value.isdigit():
        if not _ACCOUNT.fullmatch(value):
            raise _refuse(
                text,
                _("an account id is exactly 12 digits; this one has {count}").format(
                    count=len(value)
                ),
            )
        return f"arn:{partition}:iam::{value}:root"
    if value[:4].lower() != "arn:":
        raise _refuse(text, _("it is neither a 12-digit account id nor an ARN"))
    try:
        arn = parse_arn(value)
    except InputError as err:  # says which of the fields every ARN shares is wrong
        raise InputError(err.message, _("give {forms}").format(forms=_(PRINCIPAL_FORMS))) from None
    if arn.partition not in KNOWN_PARTITIONS:
        raise _refuse(
            text,
            _("unknown partition {partition} (known partitions: {known})").format(
                partition=repr(arn.partition), known=", ".join(KNOWN_PARTITIONS)
            ),
        )
    if arn.service != "iam":
        raise _refuse(
            text,
            _(
                "it is an ARN of {service}, not of IAM; name the role, not its session "
                "(arn:aws:iam::ACCOUNT:role/NAME)"
            ).format(service=arn.service)
            if arn.service == "sts"
            else _("it is an ARN of {service}, not of IAM").format(service=arn.service),
        )
    if arn.region:
        raise _refuse(
            text,
            _("IAM ARNs have no region, but this one names {region}").format(
                region=repr(arn.region)
            ),
        )
    if not _ACCOUNT.fullmatch(arn.account):
        raise _refuse(
            text, _("the account field is empty; it must be the principal's 12-digit account id")
        )
    _check_resource(text, arn.resource)
    return value


def _wild_account(value: str) -> bool:
    parts = value.split(":")
    return len(parts) >= 5 and ("*" in parts[4] or "?" in parts[4])


def _check_resource(text: str, resource: str) -> None:
    if resource == "root":
        return
    kind, _slash, rest = resource.partition("/")
    if kind not in ("role", "user"):
        what = (
            _("an IAM group cannot be a principal in a key policy")
            if kind == "group"
            else _(
                "{kind} is not a principal a key policy can name (root, role/NAME, user/NAME)"
            ).format(kind=repr(kind))
        )
        raise _refuse(text, what)
    if not rest:
        raise _refuse(text, _("the {kind} name after '{kind}/' is missing").format(kind=kind))
    *path, name = rest.split("/")
    if not _NAME.fullmatch(name):
        raise _refuse(
            text,
            _("{name} is not an IAM {kind} name (1-64 letters, digits and +=,.@_-)").format(
                name=repr(name), kind=kind
            ),
        )
    if len(rest) - len(name) > _MAX_PATH or not all(_PATH_SEGMENT.fullmatch(p) for p in path):
        raise _refuse(
            text,
            _("the {kind}'s path {path} is not an IAM path").format(
                kind=kind, path=repr("/".join(path))
            ),
        )


def parse_principals(texts: Iterable[str], partition: str = "aws") -> tuple[str, ...]:
    """Several reader principals, checked (see :func:`parse_principal`), sorted, each once.

    Parameters
    ----------
    texts
        What the operator gave.
    partition
        The partition bare account ids are written in.

    Returns
    -------
    tuple of str
        The principals as written to the key policy.

    Raises
    ------
    InputError
        The first principal KMS would not accept, and why.
    """
    return tuple(sorted({parse_principal(t, partition) for t in texts}))


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def parse_account(value: object, name: str) -> str:
    """One AWS account id, checked.

    Parameters
    ----------
    value
        A text of exactly 12 digits (surrounding whitespace is ignored), or a whole number of
        12 digits (papermill reads ``-p reader_accounts 444455556666`` as a number).
    name
        The parameter or option the value came from, for the message (``--reader-account``).

    Returns
    -------
    str
        The 12 digits.

    Raises
    ------
    InputError
        Anything else, naming ``name`` and saying what is wrong.
    """
    return _account(value, name, N_("must be a 12-digit AWS account id"))


def _account(value: object, name: str, must: str) -> str:
    """``must`` is a predicate marked with ``N_`` (translated here)."""
    must = _(must)
    fix = _("give {name} as {form}").format(name=name, form=_(ACCOUNT_FORM))
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        text = str(value)
        if _ACCOUNT.fullmatch(text):
            return text
        raise InputError(
            _("{name} {must}; the number {value} is not one: it has {count} digits.").format(
                name=name, must=must, value=value, count=len(text)
            ),
            _(
                "{fix}, as text (quoted): written as a number, an id that starts with 0 loses "
                "its leading zeros"
            ).format(fix=fix),
        )
    if not isinstance(value, str):
        raise InputError(
            _("{name} {must}; {value} is not a text.").format(
                name=name, must=must, value=_shown(value)
            ),
            fix,
        )
    text = value.strip()
    if text == "0" * 12:
        raise InputError(
            _("{name} {must}; 000000000000 is not one: no AWS account has that id.").format(
                name=name, must=must
            ),
            fix,
        )
    if _ACCOUNT.fullmatch(text):
        return text
    if text.lower().startswith("arn:"):
        fields = text.split(":")
        in_arn = fields[4] if len(fields) > 4 else ""
        raise InputError(
            _("{name} {must}, not an ARN; {value} is an ARN.").format(
                name=name, must=must, value=show(value, 60)
            ),
            _("give the 12-digit account id from the ARN: {name} {account}").format(
                name=name, account=in_arn
            )
            if _ACCOUNT.fullmatch(in_arn) and in_arn != "0" * 12
            else fix,
        )
    if not text:
        problem = _("it is empty")
    elif text.isascii() and text.isdigit():
        problem = _("it has {count} digits").format(count=len(text))
    else:
        bad = next(c for c in text if not ("0" <= c <= "9"))
        problem = _("it contains {char}").format(char=describe_char(bad))
    raise InputError(
        _("{name} {must}; {value} is not one: {why}.").format(
            name=name, must=must, value=show(value, 60), why=problem
        ),
        fix,
    )


def parse_accounts(value: object, name: str) -> tuple[str, ...]:
    """Several AWS account ids: a list of them, or one text of ids separated by commas.

    Parameters
    ----------
    value
        None (no account); a text, ``"444455556666"`` or ``"444455556666,777788889999"``
        (blank pieces are ignored); a list, tuple or set of account ids (each as
        :func:`parse_account` reads it); or one account id as a whole number.
    name
        The parameter or option, for the message (``reader_accounts``).

    Returns
    -------
    tuple of str
        The accounts in the order given, each once.

    Raises
    ------
    InputError
        A value that is not an account id, or a value of another kind (a mapping, bytes ...),
        naming ``name``.
    """
    if value is None:
        return ()
    items: list[object]
    if isinstance(value, str):
        items = [piece for piece in value.split(",") if piece.strip()]
    elif isinstance(value, int) and not isinstance(value, bool):
        items = [value]
    elif isinstance(value, list | tuple | set | frozenset):
        items = list(value)
    else:
        raise InputError(
            _(
                "{name} must be a list of 12-digit AWS account ids or a text of ids separated "
                "by commas, not {kind}."
            ).format(name=name, kind=type(value).__name__),
            _('pass {name} as ["444455556666"] or "444455556666,777788889999"').format(name=name),
        )
    must = N_("must hold 12-digit AWS account ids")
    return tuple(dict.fromkeys(_account(item, name, must) for item in items))
