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
"""

from __future__ import annotations

import logging
import re
import threading
import uuid
from collections.abc import Callable
from typing import Any

__all__ = ["patch_moto"]

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
        from trailkit.demo.history import install as install_history

        install_history()  # LookupEvents, and the changes made through the demo recorded
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
