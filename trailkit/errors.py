"""The one exception tree of trailkit.

Every failure an operator can expect is one of these; none of them should reach the operator as
a traceback. The command line prints ``str(error)`` (one line plus the fix); a notebook renders
``_repr_html_``.

::

    TrailkitError            base: what failed, why, and what to do
    ├── InputError           text that cannot be a trail, key, policy or option
    │   └── KeyIdError       a key identifier that CloudTrail would reject
    ├── RefusedError         a change that must not be made (blocking findings, concurrency guard)
    ├── UnverifiableError    an answer that depends on what could not be read (exit 3)
    ├── JournalError         the change journal cannot be read or written
    │   └── NothingToUndo    ``--last``: every change made here is undone already
    └── AwsError             a translated AWS error (``.operation``, ``.code``)
        ├── AccessDenied     names the missing permission
        ├── NotFound         the named resource does not exist where it was looked for
        ├── ConnectionFailed no credentials, expired credentials, or the endpoint cannot be reached
        └── AssumeRoleFailed the role in another account cannot be assumed (``.account``)

AWS errors are translated in exactly one place, :func:`translate`, which works on the shape of
botocore's exceptions (``.response``) so that this module does not import botocore. Two calls
that reach other accounts say more than it can: :func:`assume_role_error` (``AssumeRole``: which
account, and the reasons AWS does not tell apart) and :func:`list_accounts_error`
(``ListAccounts``: not in an organization, or not its management account). A scan of several
accounts or regions asks :func:`caller_expired` whether a failure is the caller's own
credentials, which stops the whole scan with one message instead of a row per account.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

from trailkit.i18n import N_, _, language, speaking

__all__ = [
    "AccessDenied",
    "AssumeRoleFailed",
    "AwsError",
    "ConnectionFailed",
    "InputError",
    "JournalError",
    "KeyIdError",
    "NotFound",
    "NothingToUndo",
    "RefusedError",
    "TrailkitError",
    "UnverifiableError",
    "assume_role_error",
    "caller_expired",
    "credentials_refused",
    "list_accounts_error",
    "option_text",
    "sentence",
    "translate",
]


def sentence(text: str) -> str:
    """``text`` ending as a sentence does (a full stop added when it has none), so that what
    follows it ("Fix: ...", another sentence) does not run on."""
    stripped = text.rstrip()
    if not stripped or stripped.endswith((".", "!", "?", "。", "！", "？")):
        return text
    return stripped + "."


def option_text(option: str, value: str | None = None) -> str:
    """``option`` given ``value`` as the front end that names it writes it: a command-line
    option (``--accounts``) as ``--accounts 111122223333``, a notebook parameter
    (``accounts``) as ``accounts="111122223333"``; without a value, the flag (``--org`` or
    ``org=True``). Messages that name an option take the name from their caller, so the one
    message says the notebook's parameter in a notebook and the option on the command line."""
    if option.startswith("-"):
        return option if value is None else f"{option} {value}"
    return f"{option}=True" if value is None else f'{option}="{value}"'


_BACKTICKED = re.compile(r"`([^`]+)`")


def _code_html(text: str) -> str:
    """Text as HTML: escaped, `backticked` commands as code."""
    return _BACKTICKED.sub(r"<code>\1</code>", html.escape(text))


class TrailkitError(Exception):
    """Base class: a failure explained as what failed, why, and what to do.

    Parameters
    ----------
    message
        What failed, in one sentence.
    fix
        What the operator can do about it (may be empty).
    """

    #: What kind of failure, in words (never a Python class name): shown before the message.
    label = N_("Error")

    def __init__(self, message: str, fix: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    @property
    def title(self) -> str:
        """:attr:`label` in the operator's language, e.g. "Invalid input"."""
        return _(self.label)

    #: What :func:`translate` was given, so that the same error can be said in English.
    source: tuple[BaseException, str, str, str | None] | None = None

    #: Makes the same error again (in the language spoken then), for :meth:`english`, when it
    #: was made by a translator other than :func:`translate`.
    remake: Callable[[], TrailkitError] | None = None

    def english(self) -> str:
        """``str(self)`` in English, whatever the operator's language: what the journal keeps
        (journal records stay English). Errors made by :func:`translate` (or another translator
        of this module) are translated again; others were made in one language and are returned
        as they are."""
        if self.remake is not None:
            with speaking("en"):
                return str(self.remake())
        if self.source is None:
            return str(self)
        exc, operation, permission, region = self.source
        with speaking("en"):
            return str(translate(exc, operation, permission=permission, region=region))

    def __str__(self) -> str:
        if not self.fix:
            return self.message
        return _("{message} Fix: {fix}").format(message=sentence(self.message), fix=self.fix)

    def _render_traceback_(self) -> list[str]:
        """What IPython shows when this error ends a cell: the message and fix, no stack.

        An expected failure in a notebook (e.g. ``-p apply maybe`` in papermill) still stops
        the run, with one line instead of a traceback.
        """
        return [f"{self.title}: {self}"]

    def _repr_html_(self) -> str:
        what = html.escape(_("What to do:"))
        fix = f"<div><b>{what}</b> {_code_html(self.fix)}</div>" if self.fix else ""
        return (
            '<div class="tk-error" style="border-left:4px solid #c62828;padding:6px 10px;'
            'background:#fdecea">'
            f"<b>{html.escape(self.title)}:</b> {_code_html(self.message)}{fix}</div>"
        )


class InputError(TrailkitError):
    """Text given by the operator that cannot be what it should be."""

    label = N_("Invalid input")


class KeyIdError(InputError):
    """Text that is not one of the key identifier forms CloudTrail accepts."""

    label = N_("Invalid key identifier")


class RefusedError(TrailkitError):
    """A change that trailkit refuses to make (blocking findings, concurrency guard)."""

    label = N_("Refused")


class UnverifiableError(TrailkitError):
    """No answer can be given because something it depends on could not be read (e.g. the
    region of another account's bucket), or a plan that depends on it was not accepted as such:
    never "ready", never "no". The command line exits 3, as for an unverifiable verdict.

    Parameters
    ----------
    message, fix
        As for :class:`TrailkitError`.
    unverified
        The codes of the checks that could not be verified, when a plan was refused for them.
    """

    label = N_("Cannot be verified")

    def __init__(self, message: str, fix: str = "", *, unverified: tuple[str, ...] = ()) -> None:
        super().__init__(message, fix)
        self.unverified = unverified


class JournalError(TrailkitError):
    """The change journal cannot be read or written."""

    label = N_("Journal problem")


class NothingToUndo(JournalError):
    """``rollback --last`` (``policy --restore``): the journal holds changes made on this account
    and endpoint, and every applied one is undone already. Not a failure: the command line exits
    0, as for any other request that finds nothing to do."""

    label = N_("Nothing to undo")


class AwsError(TrailkitError):
    """An AWS call failed; ``operation`` and ``code`` say which and how.

    ``bucket_region`` is S3's ``x-amz-bucket-region`` response header when the failed answer
    carried one: ``HeadBucket`` sends it with a 403 too ("regardless of the permissions on the
    bucket, you will receive a response header with the correct bucket location", S3 API
    reference, ``HeadBucket``).
    """

    label = N_("AWS error")

    def __init__(
        self,
        message: str,
        fix: str = "",
        *,
        operation: str = "",
        code: str = "",
        region: str | None = None,
        request_id: str | None = None,
        bucket_region: str | None = None,
    ) -> None:
        super().__init__(message, fix)
        self.operation = operation
        self.code = code
        self.region = region
        self.request_id = request_id
        self.bucket_region = bucket_region


class AccessDenied(AwsError):
    """The caller lacks a permission; ``permission`` names it when known."""

    label = N_("Access denied")

    def __init__(self, message: str, fix: str = "", *, permission: str = "", **kw: Any) -> None:
        super().__init__(message, fix, **kw)
        self.permission = permission


class NotFound(AwsError):
    """The named resource does not exist where it was looked for."""

    label = N_("Not found")


class ConnectionFailed(AwsError):
    """No usable credentials, or the endpoint cannot be reached."""

    label = N_("Cannot connect")


class AssumeRoleFailed(AwsError):
    """The role in another account cannot be assumed (``sts:AssumeRole``).

    Raised for one account: a scan of several accounts shows it as that account's error row
    and goes on with the others. The caller's own credentials being expired or invalid is not
    this error but :class:`ConnectionFailed` (see :func:`caller_expired`).

    Parameters
    ----------
    message, fix
        As for :class:`TrailkitError`.
    account
        The 12-digit id of the account the role is in.
    role_arn
        The role that could not be assumed.
    **kw
        As for :class:`AwsError` (``operation`` is ``AssumeRole``, ``code`` AWS's error code).
    """

    label = N_("Cannot reach the account")

    def __init__(
        self, message: str, fix: str = "", *, account: str, role_arn: str, **kw: Any
    ) -> None:
        super().__init__(message, fix, **kw)
        self.account = account
        self.role_arn = role_arn

    #: Makes the same refusal again with other names for the options its fix names
    #: (``named(role_option, exclude_option)``); set by :func:`assume_role_error`.
    rename: Callable[[str, str], AssumeRoleFailed] | None = None

    def named(self, role_option: str, exclude_option: str) -> AssumeRoleFailed:
        """The same refusal, its fix naming ``role_option`` and ``exclude_option`` (a
        notebook's ``role_name`` and ``exclude_accounts``) instead of the command line's
        ``--role-name`` and ``--exclude-accounts``; itself when it names no option."""
        return self if self.rename is None else self.rename(role_option, exclude_option)


_ACCESS_CODES = {
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "AuthorizationError",
    "403",
    "Forbidden",
}
_CREDENTIAL_CODES = {
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "AuthFailure",
    "RequestExpired",
}
_NOT_FOUND_CODES = {
    "TrailNotFoundException",
    "NotFoundException",
    "NoSuchBucket",
    "404",
    "NotFound",
}

# What the UpdateTrail/KMS errors of the domain reference mean and how to fix them.
# (Marked with N_ and translated where they are used.)
_KNOWN: dict[str, tuple[str, str]] = {
    "InsufficientEncryptionPolicyException": (
        N_("the key policy (or the bucket policy) does not let CloudTrail use the key"),
        N_(
            "run `trailkit check` for the exact statement that is missing, then "
            "`trailkit policy --apply` to add it"
        ),
    ),
    "KmsKeyNotFoundException": (
        N_("the key does not exist, or it is not in the same region as the trail's S3 bucket"),
        N_("use a key (or the multi-Region replica) in the bucket's region, given as a key ARN"),
    ),
    "KmsException": (
        N_("KMS refused the key, for example because it is disabled or pending deletion"),
        N_("enable the key or choose another one; `trailkit check` names the problem"),
    ),
    "InvalidKmsKeyIdException": (
        N_("the key identifier is not valid"),
        N_("give an alias name, alias ARN, key ARN or key id"),
    ),
    "KmsKeyDisabledException": (
        N_("the key is disabled"),
        N_("enable the key or choose another one"),
    ),
    "InvalidHomeRegionException": (
        N_("the call was made outside the trail's home region"),
        N_("trailkit sends updates to the home region; report this as a bug"),
    ),
    "TrailNotFoundException": (
        N_("no trail by that name exists in this account and region"),
        N_("list trails with `trailkit inventory` and use the trail ARN"),
    ),
    "NotOrganizationMasterAccountException": (
        N_("an organization trail can only be changed from the management account"),
        N_("connect with the organization's management (or delegated administrator) account"),
    ),
    "ConflictException": (
        N_("another change to this trail is in progress"),
        N_("wait a moment and try again"),
    ),
    "ThrottlingException": (
        N_("AWS is throttling requests"),
        N_("wait and try again, or lower --workers"),
    ),
}


#: Why a call could not reach AWS, in words (the exception's name stays in ``.code``).
_UNREACHABLE = {
    "EndpointConnectionError": N_("nothing answered at the endpoint (refused or no route)"),
    "ConnectTimeoutError": N_("the connection timed out"),
    "ReadTimeoutError": N_("the endpoint did not answer in time"),
    "ConnectionClosedError": N_("the connection was closed before the answer"),
    "ProxyConnectionError": N_("the proxy could not be reached"),
    "SSLError": N_("the TLS (HTTPS) connection failed"),
}

#: What botocore (and urllib, below it) raise for an endpoint URL that cannot be used: plain
#: ``ValueError``s with these messages, when the client is made or the first request built.
_ENDPOINT_VALUE_ERRORS = (
    "Invalid endpoint",
    "Port out of range",
    "Port could not be cast",
    "Invalid IPv6 URL",
    "Invalid IPv4 URL",
)
_ENDPOINT_ERROR_NAMES = {"InvalidEndpointConfigurationError", "InvalidHostLabelError"}


def _endpoint_error(exc: BaseException) -> str | None:
    """What is wrong with the endpoint URL, when ``exc`` is botocore refusing it; else None."""
    text = str(exc).strip()
    if type(exc) is ValueError and text.startswith(_ENDPOINT_VALUE_ERRORS):
        return text[:200]
    if type(exc).__name__ in _ENDPOINT_ERROR_NAMES:
        return text[:200]
    if type(exc).__name__ == "HTTPClientError" and "URL scheme" in text:
        return _("it does not start with http:// or https://")
    return None


def translate(
    exc: BaseException,
    operation: str,
    *,
    permission: str = "",
    region: str | None = None,
) -> TrailkitError:
    """Turn a botocore exception into a :class:`TrailkitError` that says what to do.

    Parameters
    ----------
    exc
        The exception raised by a boto3 call (``ClientError`` or a botocore transport error).
    operation
        The AWS operation that was called, e.g. ``"DescribeTrails"``.
    permission
        The IAM action the call needs, named in access-denied messages.
    region
        The region the call went to, if any.

    Returns
    -------
    TrailkitError
        Already a ``TrailkitError``: returned unchanged.
    """
    if isinstance(exc, TrailkitError):
        return exc
    error = _translate(exc, operation, permission, region)
    error.source = (exc, operation, permission, region)
    return error


def _translate(
    exc: BaseException, operation: str, permission: str, region: str | None
) -> TrailkitError:
    # The call, with the region it went to: one phrase, so that a translation orders it.
    call = _("{operation} in {region}").format(operation=operation, region=region)
    if not region:
        call = operation
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error") or {}
        code = str(error.get("Code") or "")
        text = str(error.get("Message") or "").strip()
        meta = response.get("ResponseMetadata") or {}
        request_id = meta.get("RequestId")
        status = meta.get("HTTPStatusCode")
        # botocore lower-cases the header names of HTTPHeaders.
        headers = meta.get("HTTPHeaders") or {}
        kw: dict[str, Any] = {
            "operation": operation,
            "code": code,
            "region": region,
            "request_id": request_id,
            "bucket_region": headers.get("x-amz-bucket-region") or None,
        }
        if code in _CREDENTIAL_CODES:
            refused = credentials_refused(operation, code, region=region, request_id=request_id)
            refused.bucket_region = kw["bucket_region"]
            return refused
        if code in _ACCESS_CODES or (status == 403 and code not in _KNOWN):
            needed = permission or _("the permission for {operation}").format(operation=operation)
            return AccessDenied(
                _("{call} was denied: the caller lacks {permission}.").format(
                    call=call, permission=needed
                ),
                _("grant {permission} to the caller (see the read-only policy in iam/)").format(
                    permission=needed
                ),
                permission=permission,
                **kw,
            )
        if code in _KNOWN:
            why, fix = _KNOWN[code]
            said = _(" AWS said: {text}").format(text=text) if text else ""
            cls: type[AwsError] = NotFound if code == "TrailNotFoundException" else AwsError
            message = _("{call} failed ({code}): {why}.").format(call=call, code=code, why=_(why))
            return cls(message + said, _(fix), **kw)
        if code in _NOT_FOUND_CODES:
            message = _("{call} found nothing ({code}).").format(call=call, code=code)
            # AWS's own words repeat the code in English ("Alias ... is not found."): shown to
            # an operator who reads English, left out in another language (the code says it).
            if text and language() == "en":
                message = f"{message} {text}"
            return NotFound(message, "", **kw)
        return AwsError(
            _("{call} failed ({code}): {text}.").format(
                call=call, code=code or status, text=text or _("no message")
            ),
            _("check the message above; retry if the error is transient"),
            **kw,
        )
    name = type(exc).__name__
    endpoint = _endpoint_error(exc)
    if endpoint is not None:
        return InputError(
            _(
                "{operation}: the endpoint URL (--endpoint-url or AWS_ENDPOINT_URL) is not "
                "usable: {why}."
            ).format(operation=operation, why=endpoint),
            _(
                "give http(s)://HOST[:PORT], e.g. http://127.0.0.1:5000 for the demo, or leave "
                "it out for AWS"
            ),
        )
    if name in {"NoCredentialsError", "PartialCredentialsError", "CredentialRetrievalError"}:
        return ConnectionFailed(
            _("No AWS credentials were found for {operation}.").format(operation=operation),
            _(
                "set a --profile, run `aws configure`/`aws sso login`, or use the demo backend "
                "(`trailkit demo`)"
            ),
            operation=operation,
            code=name,
            region=region,
        )
    if name in {"TokenRetrievalError", "SSOTokenLoadError", "UnauthorizedSSOTokenError"}:
        return ConnectionFailed(
            _("The SSO session for {operation} has expired.").format(operation=operation),
            _("run `aws sso login` and try again"),
            operation=operation,
            code=name,
            region=region,
        )
    if name in _UNREACHABLE:
        return ConnectionFailed(
            _("{call} could not reach AWS: {why}.").format(call=call, why=_(_UNREACHABLE[name])),
            _("check the endpoint URL and your network; for the demo, is `trailkit demo` running?"),
            operation=operation,
            code=name,
            region=region,
        )
    if name == "ResponseParserError":
        # e.g. an HTML error page (a proxy, or moto's internal errors) on an XML service: botocore
        # cannot parse it and does not retry it.
        return AwsError(
            _(
                "{call} got an answer that is not an AWS response (for example an HTML error "
                "page from a proxy or the endpoint)."
            ).format(call=call),
            _("retry; if it persists, check --endpoint-url and any proxy between you and AWS"),
            operation=operation,
            code=name,
            region=region,
        )
    if name == "ParamValidationError":
        return InputError(
            _("{operation}: invalid request parameters: {error}").format(
                operation=operation, error=exc
            ),
            "",
        )
    return AwsError(
        _("{call} failed unexpectedly: {error}: {detail}").format(
            call=call, error=name, detail=exc
        ),
        _("retry; if it persists, report it with this message"),
        operation=operation,
        code=name,
        region=region,
    )


#: Failures that are the caller's own credentials (botocore's exception names): no account or
#: region can be read with them.
_CREDENTIAL_NAMES = {
    "NoCredentialsError",
    "PartialCredentialsError",
    "CredentialRetrievalError",
    "TokenRetrievalError",
    "SSOTokenLoadError",
    "UnauthorizedSSOTokenError",
}


def _code_of(exc: object) -> str:
    """AWS's error code of ``exc``: a code as text, an :class:`AwsError` (or a record with
    ``.code``, e.g. a ``ScanError``), or a botocore exception (``.response``, else its name)."""
    if isinstance(exc, str):
        return exc
    code = getattr(exc, "code", None)
    if isinstance(code, str) and code:
        return code
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str((response.get("Error") or {}).get("Code") or "")
    return type(exc).__name__ if isinstance(exc, BaseException) else ""


def credentials_refused(
    operation: str, code: str, *, region: str | None = None, request_id: str | None = None
) -> ConnectionFailed:
    """The caller's credentials refused (expired, invalid): one error for a whole scan.

    What :func:`translate` makes of such a failure; a scan that holds only a
    :class:`~trailkit.records.ScanError` row (``operation``, ``code``, ``region``) and finds
    :func:`caller_expired` true raises this instead of showing the row.

    Parameters
    ----------
    operation
        The AWS operation that was refused, e.g. ``DescribeTrails``.
    code
        AWS's error code, e.g. ``ExpiredToken``.
    region
        The region the call went to, if any.
    request_id
        AWS's request id, if known.
    """
    call = _("{operation} in {region}").format(operation=operation, region=region)
    if not region:
        call = operation
    return ConnectionFailed(
        _("{call} was refused because the credentials are invalid or expired ({code}).").format(
            call=call, code=code
        ),
        _("refresh your credentials (e.g. `aws sso login`) or choose another --profile"),
        operation=operation,
        code=code,
        region=region,
        request_id=request_id,
    )


def caller_expired(exc: object) -> bool:
    """Whether a failure is the caller's own credentials: expired, invalid or missing.

    A scan of several accounts or regions stops at the first such failure and shows one
    :class:`ConnectionFailed` (what :func:`translate` makes of it) instead of an error row per
    account or region: every other call would fail the same way. ``AssumeRole`` refused for a
    role (``AccessDenied``) is not one: that is one account's error row.

    Parameters
    ----------
    exc : str, TrailkitError, ScanError or botocore exception
        An error code (``ExpiredToken``), a translated error, a scan's error row, or what a
        boto3 call raised.

    Returns
    -------
    bool
        True for ``ExpiredToken``, ``ExpiredTokenException``, ``InvalidClientTokenId``,
        ``UnrecognizedClientException``, ``InvalidAccessKeyId``, ``SignatureDoesNotMatch``,
        ``AuthFailure``, ``RequestExpired`` (AWS's codes for credentials that are expired, unknown
        or mis-signed; STS API reference, "Common Errors") and botocore's missing-credentials
        and expired-SSO-token exceptions.
    """
    code = _code_of(exc)
    return code in _CREDENTIAL_CODES or code in _CREDENTIAL_NAMES


def assume_role_error(
    exc: BaseException,
    role_arn: str,
    *,
    external_id: bool = False,
    region: str | None = None,
    role_option: str = "--role-name",
    exclude_option: str = "--exclude-accounts",
) -> TrailkitError:
    """Translate a failed ``AssumeRole`` of ``role_arn``: what failed, why, what to do.

    Parameters
    ----------
    exc
        What the ``AssumeRole`` call raised.
    role_arn
        ``arn:PARTITION:iam::ACCOUNT:role/NAME``.
    external_id
        Whether an ``ExternalId`` was sent (``--external-id``): a wrong one is refused as
        ``AccessDenied`` too.
    region
        The region of the STS endpoint called.
    role_option, exclude_option
        The options the fix names (a notebook's ``role_name`` and ``exclude_accounts``):
        :meth:`AssumeRoleFailed.named` makes the same error with others. An empty
        ``exclude_option`` (a command about one trail, which has no list of accounts to leave
        one out of) leaves that advice out.

    Returns
    -------
    TrailkitError
        :class:`ConnectionFailed` when the caller's own credentials are expired or invalid, or
        the endpoint cannot be reached (the whole scan stops: :func:`caller_expired`);
        :class:`AssumeRoleFailed` otherwise: ``AccessDenied`` (the caller lacks
        ``sts:AssumeRole``, the role's trust policy does not name the caller, an SCP refuses
        it, the role does not exist there, or the account is suspended: AWS gives the same
        answer for each, STS API reference, ``AssumeRole``), ``RegionDisabledException`` (STS
        is not activated in that region for the role's account: "Activating and deactivating
        AWS STS in an AWS Region", IAM user guide) or any other code, with AWS's words.
    """
    general = translate(exc, "AssumeRole", permission="sts:AssumeRole", region=region)
    if isinstance(general, ConnectionFailed | InputError) or not isinstance(general, AwsError):
        return general
    parts = role_arn.split(":")
    account = parts[4] if len(parts) > 5 else ""
    kw: dict[str, Any] = {
        "operation": "AssumeRole",
        "code": general.code,
        "region": region,
        "request_id": general.request_id,
        "account": account,
        "role_arn": role_arn,
    }
    if general.code in _ACCESS_CODES:
        if external_id:
            why = _(
                "the caller lacks sts:AssumeRole, the role's trust policy does not name the "
                "caller or expects another external id, a service control policy (SCP) refuses "
                "it, the role does not exist there, or the account is suspended; AWS does not "
                "say which"
            )
        else:
            why = _(
                "the caller lacks sts:AssumeRole, the role's trust policy does not name the "
                "caller (or asks for an external id), a service control policy (SCP) refuses "
                "it, the role does not exist there, or the account is suspended; AWS does not "
                "say which"
            )
        error: AwsError = AssumeRoleFailed(
            _(
                "The role {role} in account {account} cannot be assumed (AssumeRole, {code}): "
                "{why}."
            ).format(role=role_arn, account=account, code=general.code, why=why),
            (
                _(
                    "check that the role exists in account {account} and trusts the caller "
                    "(see `iam/trailkit-member-trust.json`), and that the caller may call "
                    "sts:AssumeRole on "
                    "it; name another role with {role_option}, or leave the account out with "
                    "{exclude}"
                ).format(
                    account=account,
                    role_option=role_option,
                    exclude=option_text(exclude_option, account),
                )
                if exclude_option
                else _(
                    "check that the role exists in account {account} and trusts the caller "
                    "(see `iam/trailkit-member-trust.json`), and that the caller may call "
                    "sts:AssumeRole on it; or name another role with {role_option}"
                ).format(account=account, role_option=role_option)
            ),
            **kw,
        )
    elif general.code == "RegionDisabledException":
        error = AssumeRoleFailed(
            _(
                "The role {role} in account {account} cannot be assumed (AssumeRole, {code}): "
                "STS is not activated in {region} for that account."
            ).format(role=role_arn, account=account, code=general.code, region=region or "-"),
            _(
                "an administrator of account {account} can activate STS in {region} (IAM "
                "console, Account settings); or run trailkit with --region set to a region where "
                "STS is active, e.g. us-east-1"
            ).format(account=account, region=region or "-"),
            **kw,
        )
    else:
        error = AssumeRoleFailed(
            _("The role {role} in account {account} cannot be assumed: {reason}").format(
                role=role_arn, account=account, reason=sentence(general.message)
            ),
            general.fix,
            **kw,
        )

    def again(role: str = role_option, exclude: str = exclude_option) -> AssumeRoleFailed:
        made = assume_role_error(
            exc,
            role_arn,
            external_id=external_id,
            region=region,
            role_option=role,
            exclude_option=exclude,
        )
        assert isinstance(made, AssumeRoleFailed)  # the same answer makes the same error
        return made

    error.remake = again
    if isinstance(error, AssumeRoleFailed):
        error.rename = again
    return error


def list_accounts_error(
    exc: BaseException,
    *,
    region: str | None = None,
    org_option: str = "--org",
    accounts_option: str = "--accounts",
) -> TrailkitError:
    """Translate a failed ``ListAccounts`` (``--org``): what failed, why, what to do.

    Parameters
    ----------
    exc
        What the ``ListAccounts`` call raised.
    region
        The region the call went to.
    org_option, accounts_option
        The options the message and fix name (a notebook's ``org`` and ``accounts``).

    Returns
    -------
    TrailkitError
        ``AWSOrganizationsNotInUseException``: an :class:`AwsError` saying the caller's
        account is in no organization; ``AccessDeniedException``: :class:`AccessDenied` saying
        that only the management account or a delegated administrator can list the accounts
        (Organizations API reference, ``ListAccounts``); both with ``--accounts`` as the fix.
        Anything else as :func:`translate` says it.
    """
    general = translate(exc, "ListAccounts", permission="organizations:ListAccounts", region=region)
    if not isinstance(general, AwsError) or isinstance(general, ConnectionFailed):
        return general
    kw: dict[str, Any] = {
        "operation": "ListAccounts",
        "code": general.code,
        "region": region,
        "request_id": general.request_id,
    }
    error: AwsError
    if general.code == "AWSOrganizationsNotInUseException":
        error = AwsError(
            _(
                "{org} cannot list the organization's accounts: the caller's account is not a "
                "member of an organization (ListAccounts, {code})."
            ).format(org=option_text(org_option), code=general.code),
            _(
                "name the accounts to look at with {accounts} (or {file}), or connect with an "
                "account of the organization"
            ).format(
                accounts=option_text(accounts_option, "111122223333,444455556666"),
                file=option_text(accounts_option, "@FILE"),
            ),
            **kw,
        )
    elif general.code in _ACCESS_CODES:
        error = AccessDenied(
            _(
                "{org} cannot list the organization's accounts (ListAccounts, {code}): only the "
                "management account or a delegated administrator may, with "
                "organizations:ListAccounts."
            ).format(org=option_text(org_option), code=general.code),
            _(
                "connect with the management account (or a delegated administrator) and grant "
                "it organizations:ListAccounts, or name the accounts with {accounts}"
            ).format(accounts=option_text(accounts_option, "111122223333,444455556666")),
            permission="organizations:ListAccounts",
            **kw,
        )
    else:
        return general
    error.remake = lambda: list_accounts_error(
        exc, region=region, org_option=org_option, accounts_option=accounts_option
    )
    return error
