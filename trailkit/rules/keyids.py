"""KMS key identifiers as CloudTrail's ``CreateTrail``/``UpdateTrail`` accept them.

CloudTrail takes four forms of ``KmsKeyId`` (see ``docs/cloudtrail-kms.md`` section 1)::

    alias/ExampleAlias                                               alias name
    arn:aws:kms:us-east-2:111122223333:alias/ExampleAlias            alias ARN
    arn:aws:kms:us-east-2:111122223333:key/1234abcd-12ab-34cd-...    key ARN
    1234abcd-12ab-34cd-56ef-1234567890ab                             key id

Multi-Region keys have ids ``mrk-`` + 32 hex digits, in ids and ARNs alike. In the API an empty
value turns SSE-KMS off (``UpdateTrail(KmsKeyId="")``); trailkit asks for that by name only
(``trailkit disable``), never from an empty key.

The CloudTrail API model puts no pattern on ``KmsKeyId``; a malformed value comes back from the
service as a bare ``InvalidKmsKeyIdException``. :func:`parse_key_id` checks the form locally and
says exactly what is wrong. This module is pure: it never talks to AWS.

Decisions that AWS does not state outright (pinned by ``tests/test_keyids.py``):

* Key ids are accepted in any letter case and normalised to lower case, as AWS returns them.
* Alias names follow the KMS pattern ``^alias/[a-zA-Z0-9/_-]+$`` exactly, so a trailing ``/`` is
  accepted; the ``alias/`` prefix itself must be lower case.
* A partition shaped like ``aws(-[a-z]+)*`` but not in :data:`KNOWN_PARTITIONS` is accepted
  unless the region is known to belong to another partition.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field

from trailkit.arn import MAX_LEN as _MAX_LEN
from trailkit.arn import Problem as _Problem
from trailkit.arn import check_account as _check_account
from trailkit.arn import check_characters as _check_characters
from trailkit.arn import check_place as _check_place
from trailkit.arn import describe_char as _describe
from trailkit.arn import fail as _fail
from trailkit.arn import show as _show
from trailkit.arn import split_arn as _split_arn
from trailkit.errors import KeyIdError
from trailkit.i18n import N_, _

__all__ = [
    "ACCEPTED_FORMS",
    "KeyIdKind",
    "KeyRef",
    "key_arn",
    "parse_key_id",
]

#: One line naming every form CloudTrail accepts; used in the ``fix`` of every :class:`KeyIdError`
#: (marked for translation; shown with ``_()``).
ACCEPTED_FORMS = N_(
    "Accepted forms are an alias name (alias/ExampleAlias), an alias ARN "
    "(arn:aws:kms:us-east-2:111122223333:alias/ExampleAlias), a key ARN "
    "(arn:aws:kms:us-east-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab), a key id "
    "(1234abcd-12ab-34cd-56ef-1234567890ab, or mrk- and 32 hex digits for a multi-Region key). "
    "To turn SSE-KMS off, use `trailkit disable`, never an empty key."
)

_EXAMPLE_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
_EXAMPLE_MRK = "mrk-1234abcd12ab34cd56ef1234567890ab"
_KMS_ARN_SHAPE = N_("arn:PARTITION:kms:REGION:ACCOUNT:key/KEY-ID or ...:alias/NAME")

_ALIAS_PREFIX = "alias/"
_ALIAS_MAX = 256
_MANAGED_PREFIX = "alias/aws/"

_HEX = frozenset("0123456789abcdef")
_ALIAS_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/_-")
_UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_GROUPED_RE = re.compile(r"[0-9A-Za-z]+(?:-[0-9A-Za-z]+){4}")
_HEXDASH_RE = re.compile(r"[0-9A-Fa-f-]+")
_UUID_START_RE = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Za-z-]*")


class KeyIdKind(enum.StrEnum):
    """Which of CloudTrail's key identifier forms a text is.

    A ``StrEnum`` (a ``str`` and an ``Enum``): ``str(kind)`` and ``f"{kind}"`` give the value.
    """

    ALIAS_NAME = "alias-name"
    ALIAS_ARN = "alias-arn"
    KEY_ARN = "key-arn"
    KEY_ID = "key-id"
    DISABLE = "disable"


@dataclass(frozen=True)
class KeyRef:
    """A parsed key identifier; build it with :func:`parse_key_id`.

    Parameters
    ----------
    kind
        Which form the identifier has.
    text
        The input as given, with leading and trailing whitespace removed.
    partition, region, account
        The ARN fields, for :attr:`KeyIdKind.KEY_ARN` and :attr:`KeyIdKind.ALIAS_ARN`;
        ``None`` otherwise.
    key_id
        The key id (a UUID or ``mrk-`` id, lower case) for ``KEY_ID`` and ``KEY_ARN``.
    alias
        ``alias/Name`` (case preserved) for ``ALIAS_NAME`` and ``ALIAS_ARN``.
    notes
        Remarks about the input that did not make it invalid (e.g. whitespace was stripped).
        Not part of equality.
    """

    kind: KeyIdKind
    text: str
    partition: str | None = None
    region: str | None = None
    account: str | None = None
    key_id: str | None = None
    alias: str | None = None
    notes: tuple[str, ...] = field(default=(), compare=False)

    @property
    def is_arn(self) -> bool:
        """True for key ARNs and alias ARNs."""
        return self.kind in (KeyIdKind.KEY_ARN, KeyIdKind.ALIAS_ARN)

    @property
    def multi_region(self) -> bool:
        """True when the key id is a multi-Region id (``mrk-...``).

        An alias may also point at a multi-Region key; that is only known after resolving it.
        """
        return self.key_id is not None and self.key_id.startswith("mrk-")

    @property
    def aws_managed(self) -> bool:
        """True for aliases under the reserved ``alias/aws/`` (AWS managed keys)."""
        return self.alias is not None and self.alias.startswith(_MANAGED_PREFIX)

    @property
    def is_disable(self) -> bool:
        """True for the empty identifier, which turns SSE-KMS off."""
        return self.kind is KeyIdKind.DISABLE

    @property
    def short(self) -> str:
        """A short label for dropdowns: the alias, or the first 8 characters of the key id."""
        if self.alias is not None:
            return self.alias
        if self.key_id is not None:
            return self.key_id[:8]
        return "(no key)"

    @property
    def canonical(self) -> str:
        """The normalised identifier to send as ``KmsKeyId`` (``""`` turns SSE-KMS off)."""
        if self.is_arn:
            return self.arn() or ""
        if self.kind is KeyIdKind.KEY_ID:
            return self.key_id or ""
        if self.kind is KeyIdKind.ALIAS_NAME:
            return self.alias or ""
        return ""

    def arn(self) -> str | None:
        """The ARN (key id in lower case) if the identifier is one, else ``None``."""
        if not self.is_arn:
            return None
        resource = f"key/{self.key_id}" if self.kind is KeyIdKind.KEY_ARN else str(self.alias)
        return f"arn:{self.partition}:kms:{self.region}:{self.account}:{resource}"

    def qualified(self, *, partition: str, region: str, account: str) -> str:
        """The ARN this identifier means when used from ``account`` in ``region``.

        Key ids and alias names only mean something inside one account and region; an ARN
        means itself wherever it is used.

        Parameters
        ----------
        partition, region, account
            Where the identifier would be used (the caller's account, the call's region).

        Returns
        -------
        str
            A key ARN or alias ARN; ``""`` for :attr:`KeyIdKind.DISABLE`.

        Raises
        ------
        InputError
            ``partition``, ``region`` or ``account`` is malformed (only checked when used).
        """
        if self.kind is KeyIdKind.DISABLE:
            return ""
        if self.is_arn:
            return self.arn() or ""
        if self.kind is KeyIdKind.KEY_ID:
            return key_arn(partition, region, account, str(self.key_id))
        _check_place(partition, region, account)
        return f"arn:{partition}:kms:{region}:{account}:{self.alias}"


def _key_error(text: str, exc: _Problem) -> KeyIdError:
    forms = _(ACCEPTED_FORMS)
    fix = _("{hint}. {forms}").format(hint=exc.hint, forms=forms) if exc.hint else forms
    return KeyIdError(
        _("{text} is not a usable KMS key identifier: {why}.").format(
            text=_show(text), why=exc.problem
        ),
        fix,
    )


def _looks_like_key_id(text: str) -> bool:
    """Whether ``text`` was probably meant as a key id (so key-id errors fit best)."""
    if text[:4].lower() == "mrk-" or _GROUPED_RE.fullmatch(text) or _UUID_START_RE.fullmatch(text):
        return True
    if _HEXDASH_RE.fullmatch(text):
        return len(text) >= 20 or any(c.isdigit() for c in text)
    return False


def _check_key_id(text: str) -> str:
    """The normalised (lower-case) key id, or :class:`_Problem` saying what is wrong."""
    low = text.lower()
    if low.startswith("mrk-"):
        rest = low[4:]
        bad = next((c for c in rest if c not in _HEX), None)
        if bad is not None:
            _fail(
                _(
                    "a multi-Region key id is 'mrk-' and 32 hex digits (0-9, a-f) like "
                    "{example}; this one contains {char} after 'mrk-'"
                ).format(example=_EXAMPLE_MRK, char=_describe(bad))
            )
        if len(rest) != 32:
            _fail(
                _(
                    "a multi-Region key id is 'mrk-' and 32 hex digits like {example}; this one "
                    "has {count} after 'mrk-'"
                ).format(example=_EXAMPLE_MRK, count=len(rest))
            )
        return low
    if _UUID_RE.fullmatch(low):
        return low
    if len(low) == 32 and all(c in _HEX for c in low):
        dashed = f"{low[:8]}-{low[8:12]}-{low[12:16]}-{low[16:20]}-{low[20:]}"
        _fail(
            _("this is a key id without its dashes (a key id is grouped 8-4-4-4-12)"),
            _("write it as {key_id}").format(key_id=dashed),
        )
    bad_at = next((i for i, c in enumerate(low) if c not in _HEX and c != "-"), None)
    if len(low) != 36:
        if bad_at is not None:
            _fail(
                _(
                    "a key id is 36 characters like {example}; this one has {count}, and {char} "
                    "is not a hex digit"
                ).format(example=_EXAMPLE_ID, count=len(low), char=_describe(text[bad_at]))
            )
        _fail(
            _("a key id is 36 characters like {example}; this one has {count}").format(
                example=_EXAMPLE_ID, count=len(low)
            )
        )
    if bad_at is not None:
        _fail(
            _(
                "a key id has only hex digits (0-9, a-f) and dashes; this one has {char} at "
                "position {position}"
            ).format(char=_describe(text[bad_at]), position=bad_at + 1)
        )
    groups = "-".join(str(len(g)) for g in low.split("-"))
    _fail(
        _("a key id is grouped 8-4-4-4-12 like {example}; this one is grouped {groups}").format(
            example=_EXAMPLE_ID, groups=groups
        )
    )


def _check_alias(text: str) -> str:
    """The alias name ``text`` (unchanged), or :class:`_Problem` saying what is wrong."""
    if not text.startswith(_ALIAS_PREFIX):
        head = text[:6]
        if head.lower() == _ALIAS_PREFIX:
            _fail(
                _("an alias name starts with lower-case 'alias/', not {start}").format(
                    start=repr(head)
                ),
                _("write {text}").format(text=_show("alias/" + text[6:], 60)),
            )
        if head.lower() == "alias:":
            _fail(_("an alias name starts with 'alias/', not 'alias:'"))
        _fail(_("an alias name starts with 'alias/'"))
    name = text[len(_ALIAS_PREFIX) :]
    if not name:
        _fail(_("'alias/' alone names no alias; the alias name must follow it, as in alias/MyKey"))
    if len(text) > _ALIAS_MAX:
        _fail(
            _(
                "an alias name is too long: at most {most} characters including 'alias/'; this "
                "one has {count}"
            ).format(most=_ALIAS_MAX, count=len(text))
        )
    bad: list[str] = []
    for c in name:
        if c not in _ALIAS_CHARS and c not in bad:
            bad.append(c)
    if bad:
        listed = _(", ").join(_describe(c) for c in bad[:5])
        if len(bad) > 5:
            listed = _("{items} and {count} more").format(items=listed, count=len(bad) - 5)
        _fail(
            _(
                "an alias name has only letters, digits, '/', '_' and '-'; this one has bad "
                "characters: {characters}"
            ).format(characters=listed)
        )
    return text


def _check_junk(text: str) -> None:
    """Catch pasted JSON, quoted text and placeholders before anything else."""
    first, last = text[0], text[-1]
    if first in "{[":
        _fail(
            _("it looks like JSON, not a key identifier"),
            _("give only the identifier itself (the value of KmsKeyId, KeyId or KeyArn)"),
        )
    if first in "\"'`":
        inner = text[1:-1] if len(text) > 1 and last == first else text[1:]
        _fail(
            _("it is quoted"),
            _("remove the quotes: {text}").format(text=_show(inner.strip())),
        )
    if first == "<" and last == ">":
        _fail(_("it is a placeholder"), _("replace it with a real key identifier"))


def _parse_kms_arn(text: str, notes: tuple[str, ...]) -> KeyRef:
    arn = _split_arn(text)
    if arn.service != "kms":
        if arn.service == "cloudtrail":
            _fail(
                _("this is a CloudTrail trail ARN, not a KMS key"),
                _("give the key the trail should be encrypted with, not the trail"),
            )
        _fail(
            _("this is an ARN for {service}, not a KMS key ({shape})").format(
                service=arn.service, shape=_(_KMS_ARN_SHAPE)
            )
        )
    if not arn.region:
        _fail(_("the region field is missing; a KMS ARN names the key's region, e.g. us-east-1"))
    if arn.account == "aws":
        _fail(_("a KMS ARN needs the 12-digit account id of the key's owner, not 'aws'"))
    _check_account(arn.account)
    kind, sep, value = arn.resource.partition("/")
    place = f"arn:{arn.partition}:kms:{arn.region}:{arn.account}"
    if not sep:
        if _looks_like_key_id(arn.resource):
            _fail(
                _("the resource type is missing: the resource must be key/KEY-ID or alias/NAME"),
                _("write {text}").format(text=_show(place + ":key/" + arn.resource)),
            )
        _fail(_("the resource type is missing: the resource must be key/KEY-ID or alias/NAME"))
    if kind == "alias":
        try:
            alias = _check_alias(arn.resource)
        except _Problem as exc:
            _fail(_("in the alias ARN, {why}").format(why=exc.problem), exc.hint)
        return KeyRef(
            KeyIdKind.ALIAS_ARN, text, arn.partition, arn.region, arn.account, None, alias, notes
        )
    if kind != "key":
        said = (
            _(
                "the resource type must be 'key' or 'alias'; this one is {kind}; resource types "
                "are lower case"
            )
            if kind.lower() in ("key", "alias")
            else _("the resource type must be 'key' or 'alias'; this one is {kind}")
        )
        _fail(said.format(kind=_show(kind, 30)))
    if not value:
        _fail(_("the key id is missing after 'key/'"))
    if value.startswith(_ALIAS_PREFIX):
        _fail(
            _("an alias goes in an alias ARN (...:alias/NAME), not after 'key/'"),
            _("write {text}").format(text=_show(place + ":" + value)),
        )
    if not _looks_like_key_id(value):
        _fail(
            _("after 'key/' comes a key id, but {text} looks like an alias name").format(
                text=_show(value, 40)
            ),
            _("for an alias write {text}").format(text=_show(place + ":alias/" + value)),
        )
    try:
        key_id = _check_key_id(value)
    except _Problem as exc:
        _fail(_("in the key ARN, {why}").format(why=exc.problem), exc.hint)
    return KeyRef(
        KeyIdKind.KEY_ARN, text, arn.partition, arn.region, arn.account, key_id, None, notes
    )


def _parse(text: str, notes: tuple[str, ...]) -> KeyRef:
    _check_junk(text)
    _check_characters(text)
    head = text[:6].lower()
    if head.startswith("arn:"):
        return _parse_kms_arn(text, notes)
    if head in ("alias/", "alias:"):
        alias = _check_alias(text)
        return KeyRef(KeyIdKind.ALIAS_NAME, text, alias=alias, notes=notes)
    if head.startswith("key/"):
        _fail(
            _("'key/...' is only valid inside a key ARN"),
            _("give the key id alone ({key_id}) or the full key ARN").format(
                key_id=_show(text[4:], 50)
            ),
        )
    if _looks_like_key_id(text):
        return KeyRef(KeyIdKind.KEY_ID, text, key_id=_check_key_id(text), notes=notes)
    if all(c in _ALIAS_CHARS for c in text):
        _fail(
            _("it is not a key id, alias or ARN"),
            _("if it is an alias name, write {text}").format(text=_show("alias/" + text, 60)),
        )
    _fail(_("it is not a key id, alias or ARN"))


def parse_key_id(text: str) -> KeyRef:
    """Parse a ``KmsKeyId`` the way CloudTrail will read it.

    Parameters
    ----------
    text
        An alias name, alias ARN, key ARN or key id. Leading and trailing whitespace is removed
        (and noted in :attr:`KeyRef.notes`); an empty or all-whitespace text means "turn SSE-KMS
        off" (:attr:`KeyIdKind.DISABLE`).

    Returns
    -------
    KeyRef
        The parsed identifier, key ids normalised to lower case.

    Raises
    ------
    KeyIdError
        The text is none of the accepted forms. The message says what is wrong (quoting at most
        about 60 characters of the input); ``fix`` lists the accepted forms.
    """
    if not isinstance(text, str):
        raise KeyIdError(
            _("A key identifier must be text, not {kind}.").format(kind=type(text).__name__),
            _(ACCEPTED_FORMS),
        )
    stripped = text.strip()
    notes: tuple[str, ...] = ()
    if stripped != text:
        notes = (_("leading/trailing whitespace was removed"),)
    if not stripped:
        if text:
            notes = (_("only whitespace was given: treated as empty, which turns SSE-KMS off"),)
        return KeyRef(KeyIdKind.DISABLE, "", notes=notes)
    if len(stripped) > _MAX_LEN:
        raise _key_error(
            stripped,
            _Problem(
                _(
                    "it is {count} characters long, and no key identifier is longer than {most}"
                ).format(count=len(stripped), most=_MAX_LEN)
            ),
        )
    try:
        return _parse(stripped, notes)
    except _Problem as exc:
        raise _key_error(stripped, exc) from None


def key_arn(partition: str, region: str, account: str, key_id: str) -> str:
    """Build a key ARN.

    Parameters
    ----------
    partition, region, account
        Where the key lives (``aws``, ``us-east-1``, ``111122223333``).
    key_id
        A key id (UUID or ``mrk-`` id, any case).

    Returns
    -------
    str
        ``arn:PARTITION:kms:REGION:ACCOUNT:key/KEY-ID`` with the key id in lower case.

    Raises
    ------
    KeyIdError
        ``key_id`` is not a key id.
    InputError
        ``partition``, ``region`` or ``account`` is malformed.
    """
    try:
        normal = _check_key_id(key_id)
    except _Problem as exc:
        raise _key_error(key_id, exc) from None
    _check_place(partition, region, account)
    return f"arn:{partition}:kms:{region}:{account}:key/{normal}"
