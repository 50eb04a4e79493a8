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
        └── ConnectionFailed no credentials, expired credentials, or the endpoint cannot be reached

AWS errors are translated in exactly one place, :func:`translate`, which works on the shape of
botocore's exceptions (``.response``) so that this module does not import botocore.
"""

from __future__ import annotations

import html
from typing import Any

__all__ = [
    "AccessDenied",
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
    "translate",
]


class TrailkitError(Exception):
    """Base class: a failure explained as what failed, why, and what to do.

    Parameters
    ----------
    message
        What failed, in one sentence.
    fix
        What the operator can do about it (may be empty).
    """

    def __init__(self, message: str, fix: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.message} Fix: {self.fix}" if self.fix else self.message

    def _render_traceback_(self) -> list[str]:
        """What IPython shows when this error ends a cell: the message and fix, no stack.

        An expected failure in a notebook (e.g. ``-p apply maybe`` in papermill) still stops
        the run, with one line instead of a traceback.
        """
        return [f"{type(self).__name__}: {self}"]

    def _repr_html_(self) -> str:
        fix = f"<div><b>What to do:</b> {html.escape(self.fix)}</div>" if self.fix else ""
        return (
            '<div class="tk-error" style="border-left:4px solid #c62828;padding:6px 10px;'
            'background:#fdecea">'
            f"<b>{html.escape(type(self).__name__)}:</b> {html.escape(self.message)}{fix}</div>"
        )


class InputError(TrailkitError):
    """Text given by the operator that cannot be what it should be."""


class KeyIdError(InputError):
    """Text that is not one of the key identifier forms CloudTrail accepts."""


class RefusedError(TrailkitError):
    """A change that trailkit refuses to make (blocking findings, concurrency guard)."""


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

    def __init__(self, message: str, fix: str = "", *, unverified: tuple[str, ...] = ()) -> None:
        super().__init__(message, fix)
        self.unverified = unverified


class JournalError(TrailkitError):
    """The change journal cannot be read or written."""


class NothingToUndo(JournalError):
    """``rollback --last`` (``policy --restore``): the journal holds changes made on this account
    and endpoint, and every applied one is undone already. Not a failure: the command line exits
    0, as for any other request that finds nothing to do."""


class AwsError(TrailkitError):
    """An AWS call failed; ``operation`` and ``code`` say which and how.

    ``bucket_region`` is S3's ``x-amz-bucket-region`` response header when the failed answer
    carried one: ``HeadBucket`` sends it with a 403 too ("regardless of the permissions on the
    bucket, you will receive a response header with the correct bucket location", S3 API
    reference, ``HeadBucket``).
    """

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

    def __init__(self, message: str, fix: str = "", *, permission: str = "", **kw: Any) -> None:
        super().__init__(message, fix, **kw)
        self.permission = permission


class NotFound(AwsError):
    """The named resource does not exist where it was looked for."""


class ConnectionFailed(AwsError):
    """No usable credentials, or the endpoint cannot be reached."""


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
_KNOWN: dict[str, tuple[str, str]] = {
    "InsufficientEncryptionPolicyException": (
        "the key policy (or the bucket policy) does not let CloudTrail use the key",
        "run `trailkit check` for the exact statement that is missing, then "
        "`trailkit policy --apply` to add it",
    ),
    "KmsKeyNotFoundException": (
        "the key does not exist, or it is not in the same region as the trail's S3 bucket",
        "use a key (or the multi-Region replica) in the bucket's region, given as a key ARN",
    ),
    "KmsException": (
        "KMS refused the key, for example because it is disabled or pending deletion",
        "enable the key or choose another one; `trailkit check` names the problem",
    ),
    "InvalidKmsKeyIdException": (
        "the key identifier is not valid",
        "give an alias name, alias ARN, key ARN or key id",
    ),
    "KmsKeyDisabledException": (
        "the key is disabled",
        "enable the key or choose another one",
    ),
    "InvalidHomeRegionException": (
        "the call was made outside the trail's home region",
        "trailkit sends updates to the home region; report this as a bug",
    ),
    "TrailNotFoundException": (
        "no trail by that name exists in this account and region",
        "list trails with `trailkit inventory` and use the trail ARN",
    ),
    "NotOrganizationMasterAccountException": (
        "an organization trail can only be changed from the management account",
        "connect with the organization's management (or delegated administrator) account",
    ),
    "ConflictException": (
        "another change to this trail is in progress",
        "wait a moment and try again",
    ),
    "ThrottlingException": (
        "AWS is throttling requests",
        "wait and try again, or lower --workers",
    ),
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
        return "it does not start with http:// or https://"
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
    where = f" in {region}" if region else ""
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
            return ConnectionFailed(
                f"{operation}{where} was refused because the credentials are invalid or "
                f"expired ({code}).",
                "refresh your credentials (e.g. `aws sso login`) or choose another --profile",
                **kw,
            )
        if code in _ACCESS_CODES or (status == 403 and code not in _KNOWN):
            needed = permission or f"the permission for {operation}"
            return AccessDenied(
                f"{operation}{where} was denied: the caller lacks {needed}.",
                f"grant {needed} to the caller (see the read-only policy in iam/)",
                permission=permission,
                **kw,
            )
        if code in _KNOWN:
            why, fix = _KNOWN[code]
            detail = f" AWS said: {text}" if text else ""
            cls: type[AwsError] = NotFound if code == "TrailNotFoundException" else AwsError
            return cls(f"{operation}{where} failed ({code}): {why}.{detail}", fix, **kw)
        if code in _NOT_FOUND_CODES:
            return NotFound(f"{operation}{where} found nothing ({code}). {text}".strip(), "", **kw)
        return AwsError(
            f"{operation}{where} failed ({code or status}): {text or 'no message'}.",
            "check the message above; retry if the error is transient",
            **kw,
        )
    name = type(exc).__name__
    endpoint = _endpoint_error(exc)
    if endpoint is not None:
        return InputError(
            f"{operation}: the endpoint URL (--endpoint-url or AWS_ENDPOINT_URL) is not usable: "
            f"{endpoint}.",
            "give http(s)://HOST[:PORT], e.g. http://127.0.0.1:5000 for the demo, or leave it "
            "out for AWS",
        )
    if name in {"NoCredentialsError", "PartialCredentialsError", "CredentialRetrievalError"}:
        return ConnectionFailed(
            f"No AWS credentials were found for {operation}.",
            "set a --profile, run `aws configure`/`aws sso login`, or use the demo backend "
            "(`trailkit demo`)",
            operation=operation,
            code=name,
            region=region,
        )
    if name in {"TokenRetrievalError", "SSOTokenLoadError", "UnauthorizedSSOTokenError"}:
        return ConnectionFailed(
            f"The SSO session for {operation} has expired.",
            "run `aws sso login` and try again",
            operation=operation,
            code=name,
            region=region,
        )
    if name in {
        "EndpointConnectionError",
        "ConnectTimeoutError",
        "ReadTimeoutError",
        "ConnectionClosedError",
        "ProxyConnectionError",
        "SSLError",
    }:
        return ConnectionFailed(
            f"{operation}{where} could not reach AWS ({name}).",
            "check the endpoint URL and your network; for the demo, is `trailkit demo` running?",
            operation=operation,
            code=name,
            region=region,
        )
    if name == "ResponseParserError":
        # e.g. an HTML error page (a proxy, or moto's internal errors) on an XML service: botocore
        # cannot parse it and does not retry it.
        return AwsError(
            f"{operation}{where} got an answer that is not an AWS response (for example an HTML "
            "error page from a proxy or the endpoint).",
            "retry; if it persists, check --endpoint-url and any proxy between you and AWS",
            operation=operation,
            code=name,
            region=region,
        )
    if name == "ParamValidationError":
        return InputError(f"{operation}: invalid request parameters: {exc}", "")
    return AwsError(
        f"{operation}{where} failed unexpectedly: {name}: {exc}",
        "retry; if it persists, report it with this message",
        operation=operation,
        code=name,
        region=region,
    )
