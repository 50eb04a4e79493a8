"""The demo: a local AWS (moto) with a seeded CloudTrail/KMS estate, and JupyterLab on top of it.

* :mod:`trailkit.demo.patches`: :func:`patch_moto`, moto fixes applied in this process
  (among them: organization trails seen in member accounts, ``ListTrails`` account-wide,
  ``AssumeRole`` refused for a role that does not exist), and :func:`set_member_trail_status`.
* :mod:`trailkit.demo.server`: :class:`DemoServer` (moto's HTTP server on ``127.0.0.1``),
  :func:`reset`, and :func:`demo_connection`/:func:`as_account`, connections that sign with the
  placeholder credentials and may act as another account of the server.
* :mod:`trailkit.demo.estate`: :func:`seed_demo` builds the estate described by the data files in
  ``trailkit/demo/resources/`` from the policy templates (:func:`cloudtrail_key_policy`, ...):
  an organization of five accounts (:data:`MEMBER_ACCOUNTS`) and two accounts outside it.
* :mod:`trailkit.demo.delivery`: simulated CloudTrail delivery (log and digest files written
  into the trail's bucket with its current encryption, the trail's status updated), triggered by
  changes and periodically by the demo server; :func:`set_delivery_delay` (0 in tests: at once).
* :mod:`trailkit.demo.lab`: :func:`run_demo` and :func:`run_lab`, what ``trailkit demo`` and
  ``trailkit lab`` run; :mod:`trailkit.demo.app` is ``trailkit app`` (Voila).

This module only re-exports the names used elsewhere.
"""

from __future__ import annotations

from trailkit.demo.delivery import deliver, set_delivery_delay
from trailkit.demo.estate import (
    DEMO_ACCOUNT,
    DEMO_REGIONS,
    MEMBER_ACCOUNTS,
    OTHER_ACCOUNT,
    SECOND_ACCOUNT,
    DemoEstate,
    cloudtrail_bucket_policy,
    cloudtrail_key_policy,
    load_estate_spec,
    no_readers_key_policy,
    root_key_policy,
    seed_demo,
)
from trailkit.demo.lab import (
    lab_environment,
    run_demo,
    run_lab,
    start_demo,
    supervise,
)
from trailkit.demo.patches import patch_moto, set_member_trail_status
from trailkit.demo.server import (
    PLACEHOLDER_CREDENTIAL,
    DemoServer,
    as_account,
    demo_connection,
    reset,
)

__all__ = [
    "DEMO_ACCOUNT",
    "DEMO_REGIONS",
    "MEMBER_ACCOUNTS",
    "OTHER_ACCOUNT",
    "PLACEHOLDER_CREDENTIAL",
    "SECOND_ACCOUNT",
    "DemoEstate",
    "DemoServer",
    "as_account",
    "cloudtrail_bucket_policy",
    "cloudtrail_key_policy",
    "deliver",
    "demo_connection",
    "lab_environment",
    "load_estate_spec",
    "no_readers_key_policy",
    "patch_moto",
    "reset",
    "root_key_policy",
    "run_demo",
    "run_lab",
    "seed_demo",
    "set_delivery_delay",
    "set_member_trail_status",
    "start_demo",
    "supervise",
]
