"""moto fixes for the demo: :func:`patch_moto` (applied in this process only).

moto quirks the demo handles:

* ``DisableKey``/``ScheduleKeyDeletion``/``ReplicateKey`` fail with key ARNs: bare key ids are sent.
* ``DescribeKey`` omits ``KeyUsage``/``MultiRegion`` unless given at creation: always given.
* ``GetBucketEncryption`` is 404 on a new bucket: every bucket gets explicit default encryption.
* ``ReplicateKey`` makes a *shallow* copy of the primary key, so primary and replica share their
  ``MultiRegionConfiguration``, alias and grant dictionaries. Describing the replica then flips the
  primary's ``MultiRegionKeyType`` to ``REPLICA``, and an alias created for the replica shows up on
  the primary (or is refused as a duplicate). When moto runs in this process
  (:class:`~trailkit.demo.server.DemoServer`),
  :func:`patch_moto` fixes ``ReplicateKey`` so the replica gets its own copies. Against a moto
  server in another process the fix cannot be applied: readers should then tell primary from
  replica by comparing the key ARN with ``MultiRegionConfiguration.PrimaryKey.Arn`` (always right),
  and the replica's alias is reported as already existing (the seeding tolerates that).
* Multi-Region key ids and the per-key RSA private keys: see :func:`patch_moto`.
* moto has no CloudTrail ``LookupEvents``: :mod:`trailkit.demo.history` adds one (installed by
  :func:`patch_moto`) that serves a seeded history and the changes made through the demo.
* moto lets every account read every other account's buckets (``MOTO_S3_ALLOW_CROSSACCOUNT_ACCESS``
  defaults to true, and turning it off also hides them from CloudTrail's ``CreateTrail``). AWS
  refuses a cross-account read unless the bucket policy allows it, and no demo bucket policy
  allows one: after :func:`patch_moto`, a bucket request from another account answers 403
  ``AccessDenied`` (see :func:`patch_moto` for the one deliberate difference from AWS).
* moto's ``ListTrails`` answers like ``DescribeTrails`` (the region's trails and the multi-Region
  ones); an organization trail is only a flag, invisible in the member accounts; ``AssumeRole``
  succeeds into any role ARN, existing or not; and a moto reset forgets organizations but not
  which account belongs to which. :func:`patch_moto` makes the four behave as in AWS (see there).
  An organization trail's own status in one member account (e.g. a delivery error that only that
  member shows) comes from a :data:`MEMBER_STATUS_TAG` tag of the trail, or
  :func:`set_member_trail_status` (moto in this process); ``CreateAccount`` takes the account id
  given as :data:`ACCOUNT_ID_TAG` (the demo's accounts have fixed ids).
* moto never delivers a log file and reports "now" as every logging trail's
  ``LatestDeliveryTime``: :mod:`trailkit.demo.delivery` (installed by :func:`patch_moto`)
  simulates CloudTrail's deliveries, and ``GetTrailStatus`` reports the simulated status of a
  trail from its first simulated delivery on (see :func:`patch_moto`).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import uuid
from collections.abc import Callable
from typing import Any

__all__ = [
    "ACCOUNT_ID_TAG",
    "MEMBER_STATUS_TAG",
    "name_organization_account",
    "patch_moto",
    "set_member_trail_status",
]

#: Prefix of an organization trail's tag whose value (a JSON object of ``GetTrailStatus``
#: fields) is the trail's status in the member account that ends the key, e.g.
#: ``trailkit:demo:member-status:555566667777`` = ``{"LatestDeliveryError": "AccessDenied"}``
#: (after :func:`patch_moto`; works with moto in another process, unlike
#: :func:`set_member_trail_status`).
MEMBER_STATUS_TAG = "trailkit:demo:member-status:"
#: A ``CreateAccount`` tag that, after :func:`patch_moto`, gives the new account this id instead
#: of a random one (the tag itself is not kept). The demo's accounts have fixed ids.
ACCOUNT_ID_TAG = "trailkit:demo:account-id"

_log = logging.getLogger(__name__)


class _LazyPrivateKey:
    """Stands in for moto's per-key private key and makes it on first use (Sign/Verify/...)."""

    def __init__(self, factory: Callable[[str], Any], key_spec: str) -> None:
        self._factory = factory
        self._key_spec = key_spec
        self._key: Any = None
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # copy/pickle probes, and our own fields before __init__
            raise AttributeError(name)
        with self._lock:
            if self._key is None:
                self._key = self._factory(self._key_spec)
        return getattr(self._key, name)


_MRK_ID = re.compile(r"mrk-[0-9a-fA-F]{32}")
_patch_lock = threading.Lock()
_patched = False


def patch_moto() -> None:
    """Fix three moto KMS behaviours and one S3 behaviour in this process (idempotent; moto
    running elsewhere is not affected).

    * ``ReplicateKey`` copies the primary key shallowly, so both keys share one
      ``multi_region_configuration`` (describing the replica then reports the *primary* as
      ``REPLICA`` too) and one alias and grant dictionary. After the patch the replica has its own
      configuration (``MultiRegionKeyType`` ``REPLICA``; the list of replicas stays shared, as in
      AWS), and starts without aliases or grants.
    * Multi-Region key ids are ``mrk-`` and a hyphenated UUID in moto, but ``mrk-`` and 32 hex
      digits in AWS (which :mod:`trailkit.rules.keyids` insists on). After the patch they are
      AWS-shaped and moto accepts them as bare key ids. (This also keeps them at 36 characters,
      the length moto's ciphertext header has room for.)
    * Every key gets an RSA private key at creation (~30 ms each, even symmetric keys); after the
      patch it is made the first time Sign, Verify or GetPublicKey needs it.
    * Bucket requests (``HeadBucket``, ``GetBucketLocation``, ``GetBucketEncryption``,
      ``GetBucketPolicy``, ...) from an account other than the bucket's answer 403
      ``AccessDenied``, as AWS does when the bucket policy does not allow the caller (none of the
      demo's does). ``CreateBucket`` of a taken name still answers ``BucketAlreadyExists``, and
      moto's own cross-account lookups (CloudTrail's check that a trail's bucket exists) are
      unchanged. The 403 of ``HeadBucket`` carries no ``x-amz-bucket-region`` header, although
      AWS sends it "regardless of the permissions on the bucket" (S3 API reference,
      ``HeadBucket``): so the demo shows the case where a bucket's region cannot be learned at
      all (when the header is missing, e.g. stripped on the way, and ``GetBucketLocation`` is
      refused too). Object requests are not changed.
    * ``ListTrails`` lists every trail of the calling account, whatever their home region, each
      with its ``HomeRegion`` ("Lists trails that are in the current account", CloudTrail API
      reference), plus the organization trails the account sees as a member.
    * An organization trail (``IsOrganizationTrail``) of the management account is visible in
      every member account of that organization, as in AWS: ``DescribeTrails`` with
      ``includeShadowTrails`` (the default) lists it in its home region, and in every region
      when it is multi-Region (without ``includeShadowTrails``, "organization trails in a member
      account ... will not be returned"); ``ListTrails`` lists it; ``GetTrail`` and
      ``GetTrailStatus`` answer for it by ARN (not by name) where it is listed, the status being
      the one in that member (its :data:`MEMBER_STATUS_TAG` tag for that member, or
      :func:`set_member_trail_status`, laid over moto's status). A member cannot change it:
      ``UpdateTrail``, ``StartLogging``, ... still answer ``TrailNotFoundException`` there.
    * ``AssumeRole`` into a role that does not exist in the role's account answers 403
      ``AccessDenied`` "User: CALLER is not authorized to perform: sts:AssumeRole on resource:
      ROLE", as AWS does (it does not say whether the role is missing, its trust policy does not
      name the caller, or an SCP refuses). Roles that exist are assumed as before: their trust
      policy is not evaluated (moto's, unchanged), so any caller may assume them, except that a
      trust policy whose every statement allowing ``sts:AssumeRole`` asks for an
      ``sts:ExternalId`` (``StringEquals``) refuses a request without one of those ids, with the
      same ``AccessDenied``. An account
      created with Organizations' ``CreateAccount`` has the role it was created with
      (``OrganizationAccountAccessRole`` unless ``RoleName`` says otherwise).
    * ``CreateAccount`` with the tag :data:`ACCOUNT_ID_TAG` (12 digits, not yet an account of
      the organization) gives the account that id, and the role it creates is made in that
      account (moto draws a random id); the tag is dropped.
    * A moto reset (``POST /moto-api/reset``) also forgets which account belongs to which
      organization (moto keeps that map across resets, so an account of a previous organization
      could not join a new one and its organization calls fail).
    * Simulated delivery (:mod:`trailkit.demo.delivery`): ``CreateTrail``, ``UpdateTrail``,
      ``StartLogging``, ``DisableKey`` and ``ScheduleKeyDeletion`` trigger deliveries, and
      ``GetTrailStatus`` of a trail lays the simulated status (``LatestDeliveryTime``,
      ``LatestDeliveryError``, ``LatestDigestDeliveryTime``, ...) over moto's once the trail has
      had a delivery attempted or scheduled; before that, moto's status is unchanged.
    """
    global _patched
    with _patch_lock:
        if _patched:
            return
        from moto.kms import models as _kms_models
        from moto.kms import responses as _kms_responses

        kms_models: Any = _kms_models
        kms_responses: Any = _kms_responses

        needed = (
            hasattr(kms_models.KmsBackend, "replicate_key"),
            hasattr(kms_models, "generate_key_id"),
            hasattr(kms_models, "generate_private_key"),
            hasattr(kms_responses.KmsResponse, "_validate_cmk_id"),
        )
        _patch_s3_cross_account()
        _patch_organizations_reset()
        _patch_organizations_account_ids()
        _patch_cloudtrail_organization()
        _patch_sts_assume_role()
        from trailkit.demo.history import install as install_history

        install_history()  # LookupEvents, and the changes made through the demo recorded
        from trailkit.demo.delivery import install as install_delivery

        install_delivery()  # simulated CloudTrail delivery (trailkit.demo.delivery)
        if not all(needed):  # pragma: no cover - a moto this module does not know
            _log.warning("moto's KMS internals changed; the demo runs without its fixes")
            _patched = True
            return

        backend_cls: Any = kms_models.KmsBackend
        original_replicate: Callable[..., Any] = backend_cls.replicate_key

        def replicate_key(self: Any, key_id: str, replica_region: str) -> Any:
            replica = original_replicate(self, key_id, replica_region)
            shared = replica.multi_region_configuration
            replica.multi_region_configuration = {
                "MultiRegionKeyType": "REPLICA",
                "PrimaryKey": dict(shared["PrimaryKey"]),
                "ReplicaKeys": shared["ReplicaKeys"],
            }
            shared["MultiRegionKeyType"] = "PRIMARY"
            replica.aliases = {}
            replica.grants = {}
            return replica

        backend_cls.replicate_key = replicate_key

        original_key_id: Callable[..., str] = kms_models.generate_key_id

        def generate_key_id(multi_region: bool = False) -> str:
            if multi_region:
                return "mrk-" + uuid.uuid4().hex
            return original_key_id(multi_region)

        kms_models.generate_key_id = generate_key_id

        # moto's own check of bare key ids only knows its hyphenated form: hand it such an id as
        # a key ARN, which it accepts and reduces to the bare id again.
        response_cls: Any = kms_responses.KmsResponse
        original_validate: Callable[..., None] = response_cls._validate_cmk_id

        def _validate_cmk_id(self: Any, key_id: str) -> None:
            if _MRK_ID.fullmatch(key_id):
                key_id = f"arn:aws:kms:{self.region}:{self.current_account}:key/{key_id}"
            original_validate(self, key_id)

        response_cls._validate_cmk_id = _validate_cmk_id

        make_private_key: Callable[[str], Any] = kms_models.generate_private_key

        def generate_private_key(key_spec: str) -> Any:
            return _LazyPrivateKey(make_private_key, key_spec)

        kms_models.generate_private_key = generate_private_key
        _patched = True


def _patch_s3_cross_account() -> None:
    """Make bucket requests from another account answer 403 (see :func:`patch_moto`)."""
    from moto.s3 import exceptions as _s3_exceptions
    from moto.s3 import models as _s3_models
    from moto.s3 import responses as _s3_responses

    s3_models: Any = _s3_models
    response_cls: Any = _s3_responses.S3Response
    denied: Any = getattr(_s3_exceptions, "AccessDeniedByLock", None)
    needed = (
        hasattr(s3_models, "s3_backends"),
        hasattr(response_cls, "_bucket_response"),
        hasattr(response_cls, "_get_querystring"),
        denied is not None,
    )
    if not all(needed):  # pragma: no cover - a moto this module does not know
        _log.warning("moto's S3 internals changed; other accounts' buckets stay readable")
        return
    original: Callable[..., Any] = response_cls._bucket_response

    def _bucket_response(self: Any, request: Any, full_url: str) -> Any:
        name = self.parse_bucket_name_from_url(request, full_url)
        owner = s3_models.s3_backends.bucket_accounts.get(name) if name else None
        method = request.method
        creating = method == "PUT" and not self._get_querystring(request, full_url)
        if owner is not None and owner[1] != self.current_account:
            if method == "HEAD":
                return 403, {}, ""  # no body (a HEAD answer), no x-amz-bucket-region
            if not creating and method != "OPTIONS":
                raise denied()  # moto's 403 AccessDenied (S3ClientError: turned into XML)
        return original(self, request, full_url)

    response_cls._bucket_response = _bucket_response


# -- organizations -------------------------------------------------------------------------------


def _patch_organizations_reset() -> None:
    """Forget the member -> management account map when moto is reset (see :func:`patch_moto`)."""
    from moto.organizations import models as _org_models

    org_models: Any = _org_models
    dict_cls: Any = getattr(org_models, "OrganizationsBackendDict", None)
    if dict_cls is None or not hasattr(org_models.organizations_backends, "master_accounts"):
        _log.warning("moto's Organizations internals changed; a reset keeps old memberships")
        return
    original_clear: Callable[..., None] = dict_cls.clear

    def clear(self: Any) -> None:
        original_clear(self)
        self.master_accounts.clear()

    dict_cls.clear = clear


_chosen_id = threading.local()
_ACCOUNT_ID = re.compile(r"\d{12}")


def _patch_organizations_account_ids() -> None:
    """``CreateAccount`` takes its id from :data:`ACCOUNT_ID_TAG` (see :func:`patch_moto`)."""
    from moto.organizations import models as _org_models
    from moto.organizations import utils as _org_utils

    org_models: Any = _org_models
    org_utils: Any = _org_utils
    backend_cls: Any = org_models.OrganizationsBackend
    if not hasattr(org_utils, "make_random_account_id") or not hasattr(
        backend_cls, "create_account"
    ):  # pragma: no cover - a moto this module does not know
        _log.warning("moto's Organizations internals changed; demo account ids are random")
        return
    make_random: Callable[[], str] = org_utils.make_random_account_id

    def make_random_account_id() -> str:
        chosen: str | None = getattr(_chosen_id, "value", None)
        if chosen is not None:
            _chosen_id.value = None
            return chosen
        return make_random()

    org_utils.make_random_account_id = make_random_account_id
    original: Callable[..., Any] = backend_cls.create_account

    def create_account(self: Any, **kwargs: Any) -> Any:
        tags = list(kwargs.get("Tags") or [])
        wanted = [t.get("Value") for t in tags if t.get("Key") == ACCOUNT_ID_TAG]
        taken = {a.id for a in self.accounts}
        chosen = wanted[-1] if wanted else None
        if chosen is not None and _ACCOUNT_ID.fullmatch(str(chosen)) and chosen not in taken:
            kwargs["Tags"] = [t for t in tags if t.get("Key") != ACCOUNT_ID_TAG]
            _chosen_id.value = chosen
        try:
            return original(self, **kwargs)
        finally:
            _chosen_id.value = None

    backend_cls.create_account = create_account


def name_organization_account(management: str, account: str, name: str) -> bool:
    """Rename ``account`` in the organization of ``management`` (moto in this process only;
    moto names the management account ``master``).

    Returns
    -------
    bool
        Whether it was renamed (False: no such organization or account in this process).
    """
    if "moto" not in sys.modules:
        return False
    from moto.organizations.models import organizations_backends

    backend = organizations_backends[management]["aws"]
    for found in backend.accounts if backend.org is not None else []:
        if found.id == account:
            found.name = name
            return True
    return False


def _management_of(account: str) -> tuple[str, str] | None:
    """(management account, partition) of the organization ``account`` is a member of, or None
    (not in an organization, or its management account)."""
    from moto.organizations.models import organizations_backends

    entry = organizations_backends.master_accounts.get(account)
    if entry is None or entry[0] == account:
        return None
    management, partition = entry
    backend = organizations_backends[management][partition]
    if backend.org is None or not any(a.id == account for a in backend.accounts):
        return None  # pragma: no cover - a stale entry (an account removed another way)
    return management, partition


def _organization_trails(account: str) -> list[Any]:
    """The organization trails ``account`` sees as a member (moto ``Trail`` objects)."""
    from moto.cloudtrail.models import cloudtrail_backends

    found = _management_of(account)
    if found is None:
        return []
    management, partition = found
    return [
        trail
        for backend in list(cloudtrail_backends[management].values())
        for trail in list(backend.trails.values())
        if trail.is_org_trail and trail.partition == partition
    ]


def _visible_in(trail: Any, region: str) -> bool:
    return bool(trail.is_multi_region or trail.region_name == region)


def _member_trail(account: str, region: str, arn: str) -> Any | None:
    """The organization trail ``arn`` as member ``account`` sees it in ``region``, or None."""
    for trail in _organization_trails(account):
        if trail.arn == arn and _visible_in(trail, region):
            return trail
    return None


def set_member_trail_status(trail_arn: str, account: str, **fields: Any) -> None:
    """Give organization trail ``trail_arn`` its own ``GetTrailStatus`` fields in member
    ``account`` (moto in this process only; forgotten when moto is reset).

    Parameters
    ----------
    trail_arn
        The organization trail's ARN (in the management account).
    account
        The member account.
    **fields
        ``GetTrailStatus`` fields laid over the trail's own status in that member, e.g.
        ``LatestDeliveryError="AccessDenied"``; a field set to ``None`` is left out.

    Raises
    ------
    LookupError
        No organization trail ``trail_arn`` is visible in ``account``.
    """
    trail = next((t for t in _organization_trails(account) if t.arn == trail_arn), None)
    if trail is None:
        raise LookupError(f"no organization trail {trail_arn} is visible in account {account}")
    statuses = trail.__dict__.setdefault("_trailkit_member_status", {})
    statuses[account] = dict(fields)


def _member_status_tags(trail: Any, account: str) -> dict[str, Any]:
    """The fields of ``trail``'s :data:`MEMBER_STATUS_TAG` tag for ``account`` (or none)."""
    from moto.cloudtrail.models import cloudtrail_backends

    backend = cloudtrail_backends[trail.account_id][trail.region_name]
    tags = backend.tagging_service.list_tags_for_resource(trail.arn).get("TagsList", [])
    fields: dict[str, Any] = {}
    for tag in tags:
        if tag.get("Key") == MEMBER_STATUS_TAG + account:
            try:
                value = json.loads(tag.get("Value") or "{}")
            except ValueError:
                continue
            if isinstance(value, dict):
                fields.update(value)
    return fields


def _patch_cloudtrail_organization() -> None:
    """``ListTrails`` account-wide, organization trails seen in member accounts (see
    :func:`patch_moto`)."""
    from moto.cloudtrail import exceptions as _ct_exceptions
    from moto.cloudtrail import models as _ct_models
    from moto.cloudtrail import responses as _ct_responses

    ct_models: Any = _ct_models
    response_cls: Any = _ct_responses.CloudTrailResponse
    not_found: Any = getattr(_ct_exceptions, "TrailNotFoundException", None)
    needed = (
        hasattr(ct_models, "cloudtrail_backends"),
        all(
            hasattr(response_cls, name)
            for name in ("list_trails", "describe_trails", "get_trail", "get_trail_status")
        ),
        not_found is not None,
    )
    if not all(needed):  # pragma: no cover - a moto this module does not know
        _log.warning("moto's CloudTrail internals changed; organization trails stay invisible")
        return
    original_describe: Callable[..., str] = response_cls.describe_trails
    original_get: Callable[..., str] = response_cls.get_trail
    original_status: Callable[..., str] = response_cls.get_trail_status
    from trailkit.demo.delivery import status_overlay

    def list_trails(self: Any) -> str:
        own = [
            trail
            for backend in list(ct_models.cloudtrail_backends[self.current_account].values())
            for trail in list(backend.trails.values())
            if trail.partition == self.partition
        ]
        seen = own + _organization_trails(self.current_account)
        return json.dumps({"Trails": [trail.short() for trail in seen]})

    def describe_trails(self: Any) -> str:
        answer = json.loads(original_describe(self))
        if self._get_bool_param("includeShadowTrails", True):
            answer["trailList"] += [
                trail.description(include_region=True)
                for trail in _organization_trails(self.current_account)
                if _visible_in(trail, self.region)
            ]
        return json.dumps(answer)

    def get_trail(self: Any) -> str:
        try:
            return original_get(self)
        except not_found:
            trail = _member_trail(self.current_account, self.region, self._get_param("Name"))
            if trail is None:
                raise
            return json.dumps({"Trail": trail.description()})

    def get_trail_status(self: Any) -> str:
        try:
            answer = original_status(self)
        except not_found:
            trail = _member_trail(self.current_account, self.region, self._get_param("Name"))
            if trail is None:
                raise
            status = trail.status.description()
            mine = _member_status_tags(trail, self.current_account)
            mine.update(
                trail.__dict__.get("_trailkit_member_status", {}).get(self.current_account, {})
            )
            for name, value in mine.items():
                if value is None:
                    status.pop(name, None)
                else:
                    status[name] = value
            return json.dumps(status)
        own = status_overlay(self.cloudtrail_backend.get_trail(self._get_param("Name")))
        if own is None:
            return answer
        status = json.loads(answer)
        for name, value in own.items():
            if value is None:
                status.pop(name, None)
            else:
                status[name] = value
        return json.dumps(status)

    response_cls.list_trails = list_trails
    response_cls.describe_trails = describe_trails
    response_cls.get_trail = get_trail
    response_cls.get_trail_status = get_trail_status


# -- sts -----------------------------------------------------------------------------------------

_ROLE_ARN = re.compile(r"arn:(aws[a-z-]*):iam::(\d{12}):role/.+")


def _external_ids(document: Any) -> set[str] | None:
    """The ``sts:ExternalId`` values a role's trust policy accepts, or None when one of its
    statements allowing ``sts:AssumeRole`` asks for none (or the document cannot be read)."""
    try:
        policy = json.loads(document) if isinstance(document, str) else document
        statements = policy["Statement"]
    except (ValueError, TypeError, KeyError):
        return None
    ids: set[str] = set()
    for statement in statements if isinstance(statements, list) else [statements]:
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if not {"sts:AssumeRole", "sts:*", "*"} & set(actions):
            continue
        condition = statement.get("Condition") or {}
        values = (condition.get("StringEquals") or {}).get("sts:ExternalId")
        if values is None:
            return None
        ids.update([values] if isinstance(values, str) else values)
    return ids or None


def _patch_sts_assume_role() -> None:
    """``AssumeRole`` refused for a role that does not exist (see :func:`patch_moto`)."""
    from moto.core import exceptions as _core_exceptions
    from moto.iam import models as _iam_models
    from moto.sts import responses as _sts_responses

    iam_models: Any = _iam_models
    response_cls: Any = _sts_responses.TokenResponse
    denied: Any = getattr(_core_exceptions, "AccessDeniedError", None)
    needed = (
        hasattr(iam_models, "iam_backends"),
        hasattr(response_cls, "assume_role"),
        denied is not None,
    )
    if not all(needed):  # pragma: no cover - a moto this module does not know
        _log.warning("moto's STS internals changed; AssumeRole accepts any role")
        return
    original: Callable[..., Any] = response_cls.assume_role

    def assume_role(self: Any) -> Any:
        role_arn = self._get_param("RoleArn") or ""
        match = _ROLE_ARN.fullmatch(role_arn)
        if match is not None:
            partition, account = match.groups()
            roles = iam_models.iam_backends[account][partition].get_roles()
            role = next((r for r in roles if r.arn == role_arn), None)
            wanted = None if role is None else _external_ids(role.assume_role_policy_document)
            if role is None or (wanted is not None and self._get_param("ExternalId") not in wanted):
                caller = self.backend.get_caller_identity(self.get_access_key(), self.region)[1]
                raise denied(caller, f"sts:AssumeRole on resource: {role_arn}")
        return original(self)

    response_cls.assume_role = assume_role
