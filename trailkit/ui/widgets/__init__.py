"""Notebook components: small plain classes around private ipywidgets (msticpy's pattern).

Each component builds its ipywidgets as ``_w_...`` attributes, exposes a ``value`` property that
returns domain objects, displays itself through ``_ipython_display_``, receives its actions as
injected callables, and carries stable ``tk-...`` CSS classes for browser tests. None of them
calls AWS itself.

=================  ==========================================================================
ConnectionBanner   account, caller, endpoint; blue on the demo, red on real AWS
TrailsTable        the inventory's trails coloured by health, filterable by region, encryption
                   and health
TrailPicker        one trail (``value`` -> Trail)
KeyPicker          ranked candidate keys (ready first) or a typed key ARN/alias
Checklist          READY / BLOCKED / UNVERIFIABLE and every finding with its remedy
ChangePanel        plan, confirmation, Apply, verified result, Rollback
PolicyPanel        current key policy, the add-only diff, confirmation, apply
JournalView        the recorded changes, rollback of a chosen one
BulkUpdate         several trails, one key per bucket region, one plan table, apply all
GuidedUpdate       the whole runbook for one trail, wired (notebook 02 and the Voila app)
HealthSummary      counts per health; broken and at-risk trails first, with reasons and fixes
KeyPolicyView      trail and key pickers, the key's pre-flight and the add-only repair (03)
TrailExplorer      a trail picker (broken, at-risk first) and its drill-down (``explain``)
DeliveryProof      after a change: do the delivered log and digest files carry the new
                   encryption? (wait, progress, Cancel, the proof)
ChangeAsCode       the change as CloudFormation, Terraform and CDK (Python) code, one tab each
AccountSummary     one row per account of a scan of several accounts: trails, health counts,
                   or why the account could not be read (01 with ``org=True``)
=================  ==========================================================================
"""

from __future__ import annotations

from trailkit.ui.widgets._common import Step
from trailkit.ui.widgets.accounts import AccountSummary
from trailkit.ui.widgets.banner import ConnectionBanner
from trailkit.ui.widgets.bulk import BulkUpdate
from trailkit.ui.widgets.change import ChangePanel
from trailkit.ui.widgets.checklist import Checklist
from trailkit.ui.widgets.explore import TrailExplorer
from trailkit.ui.widgets.guided import GuidedUpdate
from trailkit.ui.widgets.health import HealthSummary
from trailkit.ui.widgets.journal import JournalView
from trailkit.ui.widgets.keys import KeyPicker
from trailkit.ui.widgets.policy import PolicyPanel
from trailkit.ui.widgets.policy_picker import KeyPolicyView
from trailkit.ui.widgets.proof import DeliveryProof
from trailkit.ui.widgets.snippet import ChangeAsCode
from trailkit.ui.widgets.trails import TrailPicker, TrailsTable

__all__ = [
    "AccountSummary",
    "BulkUpdate",
    "ChangeAsCode",
    "ChangePanel",
    "Checklist",
    "ConnectionBanner",
    "DeliveryProof",
    "GuidedUpdate",
    "HealthSummary",
    "JournalView",
    "KeyPicker",
    "KeyPolicyView",
    "PolicyPanel",
    "Step",
    "TrailExplorer",
    "TrailPicker",
    "TrailsTable",
]
