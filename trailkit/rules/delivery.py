"""What a delivery error of ``GetTrailStatus`` means: its cause and its fix (pure).

``GetTrailStatus`` returns ``LatestDeliveryError`` and ``LatestDigestDeliveryError`` as bare
text. :func:`delivery_cause` turns that text into a cause that names the trail's bucket, key and
the statement that is missing, and the fix. No AWS call.

What AWS documents, and what it does not (sources, read for this module):

* CloudTrail API reference, ``GetTrailStatus`` (and the botocore model): each field "displays
  any Amazon S3 error that CloudTrail encountered when attempting to deliver" log (digest) files,
  with a link to "Error Responses" in the Amazon S3 API reference; the error "occurs only when
  there is a problem with the destination S3 bucket, and does not occur for requests that time
  out"; the fix it gives is the bucket policy "so that CloudTrail can write to the bucket", or a
  new bucket named with ``UpdateTrail``. The CloudTrail user guide ("Troubleshooting issues with
  an organization trail") says the same. The fields carry *no* time of the error;
  ``LatestDeliveryAttemptTime`` / ``LatestDeliveryAttemptSucceeded`` are "no longer in use".
* Amazon S3 API reference, "Error responses", list of error codes: ``AccessDenied`` (403,
  "Access Denied") and ``NoSuchBucket`` (404, "The specified bucket does not exist").
* AWS KMS API reference: ``DisabledException`` ("the specified KMS key is not enabled"),
  ``KMSInvalidStateException`` (the key's state does not allow the operation, e.g. pending
  deletion), ``NotFoundException`` (the key cannot be found), ``AccessDeniedException``. AWS does
  *not* document the ``KMS.`` prefix (``KMS.DisabledException``) in which S3 passes them on; the
  match accepts the name with or without it.
* CloudTrail API reference, ``InsufficientEncryptionPolicyException``: "the policy on the S3
  bucket or KMS key does not have sufficient permissions". AWS documents it as an error of
  ``CreateTrail`` / ``UpdateTrail``, not as a value of these fields; it is mapped because it names
  the key policy.
* Where an organization trail writes: CloudTrail user guide, "Creating a trail for an
  organization with the AWS CLI", section "Create or update an Amazon S3 bucket to use to store
  the log files for an organization trail"
  (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-create-and-update-an-organizational-trail-by-using-the-aws-cli.html#org-trail-bucket-policy):
  the bucket policy's ``s3:PutObject`` statement for the organization covers
  ``BUCKET/[PREFIX/]AWSLogs/o-organizationID/*``, and each account's files are under
  ``AWSLogs/o-organizationID/ACCOUNT/`` ("Creating a trail for an organization":
  ``bucket/[prefix]/AWSLogs/o-exampleorgid/111111111111/``). A member account's delivery error
  of an organization trail is therefore about that path, not ``AWSLogs/MANAGEMENT-ACCOUNT/``.
  trailkit does not read the organization id (``organizations:DescribeOrganization``): when it
  is not given, :data:`ORGANIZATION_ID_PLACEHOLDER` stands in for it.
* The statements CloudTrail needs: ``docs/cloudtrail-kms.md`` sections 3 and 3a (CloudTrail user
  guide, "Configure AWS KMS key policies for CloudTrail" and "Amazon S3 bucket policy for
  CloudTrail"); the key statement is the one :func:`trailkit.rules.repair.plan_repair` adds
  (``TrailkitCloudTrailEncrypt``).

Any other text is not documented as a value of these fields: :data:`UNKNOWN` says so, names the
raw error and gives the generic fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from trailkit.arn import arn_account, arn_region
from trailkit.i18n import _
from trailkit.records import Trail
from trailkit.rules.requests import CLOUDTRAIL_SERVICE, log_object_arn

__all__ = [
    "CAUSES",
    "ORGANIZATION_ID_PLACEHOLDER",
    "UNKNOWN",
    "DeliveryCause",
    "delivery_cause",
    "error_name",
]

#: The cause codes, each with the error names (case-insensitive, ``KMS.`` prefix optional) that
#: map to it. The first match in this order wins.
CAUSES: dict[str, tuple[str, ...]] = {
    "kms-disabled": ("DisabledException", "KmsKeyDisabledException"),
    "kms-invalid-state": ("KMSInvalidStateException", "InvalidStateException"),
    "kms-not-found": ("NotFoundException", "KmsKeyNotFoundException"),
    "kms-access-denied": ("AccessDeniedException", "InsufficientEncryptionPolicyException"),
    "s3-access-denied": ("AccessDenied",),
    "s3-no-such-bucket": ("NoSuchBucket",),
}
#: The cause of an error AWS does not document as a value of these fields.
UNKNOWN = "undocumented"
#: Stands for the organization id (``o-`` and 10 to 32 characters) in an organization trail's
#: log path when it is not known: trailkit does not read it.
ORGANIZATION_ID_PLACEHOLDER = "o-ORGANIZATION_ID"

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9.]*")


@dataclass(frozen=True)
class DeliveryCause:
    """What one delivery error means.

    Parameters
    ----------
    code
        A key of :data:`CAUSES`, or :data:`UNKNOWN`.
    error
        The raw text ``GetTrailStatus`` returned (kept for JSON and for anyone who searches it).
    cause, fix
        What went wrong and what to do, in the operator's language, naming the bucket, the key
        and the missing statement.
    """

    code: str
    error: str
    cause: str
    fix: str

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape (codes and raw text are not translated)."""
        return {"error": self.error, "cause": self.code, "message": self.cause, "fix": self.fix}


def error_name(error: str) -> str:
    """The error's name: its first word without a ``KMS.`` prefix (``KMS.DisabledException:
    ...`` is ``DisabledException``); empty when the text has none."""
    found = _NAME.search(error or "")
    name = found.group(0) if found else ""
    if name.upper().startswith("KMS."):
        name = name[4:]
    return name.rstrip(".")


def _code_of(error: str) -> str:
    name = error_name(error).lower()
    for code, names in CAUSES.items():
        if name in (n.lower() for n in names):
            return code
    return UNKNOWN


def _object(
    trail: Trail, digest: bool, member: str | None = None, organization_id: str | None = None
) -> str:
    """The objects the bucket policy must let CloudTrail write: ``arn:...:s3:::BUCKET/[PREFIX/]
    AWSLogs/ACCOUNT/*`` (log and digest files alike). For an organization trail, the account's
    files under ``AWSLogs/ORG-ID/ACCOUNT/*``: ``member`` is the account whose delivery failed
    (default: the trail's own), ``organization_id`` the organization's id
    (:data:`ORGANIZATION_ID_PLACEHOLDER` when not known)."""
    account = member or arn_account(trail.arn) or trail.account
    org = (organization_id or ORGANIZATION_ID_PLACEHOLDER) if trail.organization else None
    one = log_object_arn(
        trail_arn=trail.arn,
        bucket_name=trail.bucket_name,
        source_account=account,
        prefix=trail.s3_prefix,
        organization_id=org,
        digest=digest,
    )
    marker = f"/AWSLogs/{org}/{account}/" if org else f"/AWSLogs/{account}/"
    return one[: one.index(marker) + len(marker)] + "*" if marker in one else one


def _key_statement(trail: Trail) -> str:
    """The key policy statement CloudTrail needs, as ``plan_repair`` adds it, in one line."""
    account = arn_account(trail.arn) or trail.account
    return (
        f'Allow {{"Service": "{CLOUDTRAIL_SERVICE}"}} kms:GenerateDataKey* '
        f"StringLike kms:EncryptionContext:aws:cloudtrail:arn = "
        f"arn:{trail.partition}:cloudtrail:*:{account}:trail/*, "
        f"StringEquals aws:SourceArn = {trail.arn}"
    )


def _kms_command(verb: str, key: str) -> str:
    """``aws kms VERB --key-id KEY``, with ``--region`` of a key ARN: KMS is regional, and the
    shell's default region does not know a key of another region."""
    region = arn_region(key)
    return f"aws kms {verb} --key-id {key}" + (f" --region {region}" if region else "")


def delivery_cause(
    trail: Trail,
    error: str,
    *,
    digest: bool = False,
    member: str | None = None,
    organization_id: str | None = None,
) -> DeliveryCause:
    """The cause and fix of ``trail``'s ``LatestDeliveryError`` (``digest``:
    ``LatestDigestDeliveryError``).

    Parameters
    ----------
    trail
        The trail (its bucket, prefix and key name the cause).
    error
        The raw text of the field.
    digest
        The error is about digest files.
    member
        The member account whose ``GetTrailStatus`` reported ``error``, for an organization
        trail's status read in a member: the bucket path named is that member's,
        ``AWSLogs/ORG-ID/MEMBER/`` (CloudTrail user guide, "Creating a trail for an organization
        with the AWS CLI"; see the module's sources). None: the trail's own account.
    organization_id
        The organization's id (``o-...``) for an organization trail's path; None:
        :data:`ORGANIZATION_ID_PLACEHOLDER`, as trailkit does not read it.

    Returns
    -------
    DeliveryCause
        Never raises: text that is no documented value is :data:`UNKNOWN`, with the raw error.
    """
    code = _code_of(error)
    bucket = trail.bucket_name
    key = trail.kms_key_id or _("(no key)")
    files = _("digest files") if digest else _("log files")
    if code == "kms-disabled":
        cause = _(
            "The KMS key {key} is disabled, so CloudTrail cannot encrypt the {files} it writes to "
            "bucket {bucket}."
        ).format(key=key, files=files, bucket=bucket)
        fix = _(
            "enable the key (`{command}`) or point the trail at an enabled key in the bucket's "
            "region"
        ).format(command=_kms_command("enable-key", key))
    elif code == "kms-invalid-state":
        cause = _(
            "The KMS key {key} is in a state that cannot encrypt (for example pending deletion), "
            "so CloudTrail cannot write {files} to bucket {bucket}."
        ).format(key=key, files=files, bucket=bucket)
        fix = _(
            "cancel the key's deletion and enable it (`{cancel}`, then `{enable}`), or point the "
            "trail at another key"
        ).format(
            cancel=_kms_command("cancel-key-deletion", key),
            enable=_kms_command("enable-key", key),
        )
    elif code == "kms-not-found":
        cause = _(
            "The KMS key {key} cannot be found (deleted, or not in the region of bucket "
            "{bucket}), so CloudTrail cannot encrypt its {files}."
        ).format(key=key, files=files, bucket=bucket)
        fix = _(
            "point the trail at an existing key in the bucket's region (`trailkit update --trail "
            "{trail} --key KEY`)"
        ).format(trail=trail.name)
    elif code == "kms-access-denied":
        cause = _(
            "KMS refused CloudTrail the use of key {key} for the {files} of {trail}: the key "
            "policy must have the statement {statement}, and no Deny that matches it."
        ).format(key=key, files=files, trail=trail.name, statement=_key_statement(trail))
        fix = _("add the CloudTrail encrypt statement (`trailkit policy --apply`)")
    elif code == "s3-access-denied":
        obj = _object(trail, digest, member, organization_id)
        if trail.kms_key_id:
            cause = _(
                "Amazon S3 refused CloudTrail's upload of {files} to bucket {bucket}: the bucket "
                "policy must let {service} call s3:PutObject on {object} (with s3:x-amz-acl = "
                "bucket-owner-full-control) and s3:GetBucketAcl on the bucket, and the policy of "
                "KMS key {key} must let it call kms:GenerateDataKey*."
            ).format(files=files, bucket=bucket, service=CLOUDTRAIL_SERVICE, object=obj, key=key)
            fix = _(
                "add CloudTrail's statements to the bucket policy (CloudTrail user guide, "
                '"Amazon S3 bucket policy for CloudTrail"); if they are there, add the '
                "CloudTrail encrypt statement to the key policy (`trailkit policy --apply`)"
            )
        else:
            cause = _(
                "Amazon S3 refused CloudTrail's upload of {files} to bucket {bucket}: the bucket "
                "policy must let {service} call s3:PutObject on {object} (with s3:x-amz-acl = "
                "bucket-owner-full-control) and s3:GetBucketAcl on the bucket."
            ).format(files=files, bucket=bucket, service=CLOUDTRAIL_SERVICE, object=obj)
            fix = _(
                "add CloudTrail's statements to the bucket policy (CloudTrail user guide, "
                '"Amazon S3 bucket policy for CloudTrail")'
            )
    elif code == "s3-no-such-bucket":
        cause = _("The bucket {bucket} that {trail} writes its {files} to does not exist.").format(
            bucket=bucket, trail=trail.name, files=files
        )
        fix = _(
            "create bucket {bucket} with CloudTrail's bucket policy, or point the trail at an "
            "existing bucket (`aws cloudtrail update-trail --name {trail} --s3-bucket-name "
            "BUCKET`)"
        ).format(bucket=bucket, trail=trail.name)
    else:
        cause = _(
            "CloudTrail reports {error} for the {files} of bucket {bucket}; AWS does not document "
            "this value, but it says such an error is always a problem with the destination "
            "bucket."
        ).format(error=error, files=files, bucket=bucket)
        fix = _(
            "fix what the error names (the key policy, the key's state, the bucket "
            "policy), then check that the next delivery succeeds"
        )
    return DeliveryCause(code, error, cause, fix)
