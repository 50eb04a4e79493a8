"""Every frozen record the layers exchange, and the outcome enums: the bottom layer.

* :mod:`trailkit.records.read`: what the read layer saw (connection, trails, buckets, keys);
* :mod:`trailkit.records.results`: what a change did (:class:`Outcome` and the results);
* :mod:`trailkit.records.journal`: the change journal's records (:class:`Record`,
  :class:`Change`);
* :mod:`trailkit.records.org`: the accounts of a scan of several accounts (:class:`Account`);
* :mod:`trailkit.records.proof`: the delivery proof of a change (:class:`Proof`).

Import from here (``from trailkit.records import Trail``); nothing in this package imports a
layer above it.
"""

from __future__ import annotations

from trailkit.records.history import History, HistoryEvent
from trailkit.records.journal import (
    NOTE_APPLIED,
    NOTE_CHANGED,
    NOTE_NOT_APPLIED,
    Change,
    Kind,
    Phase,
    ReadResult,
    Record,
)
from trailkit.records.org import Account
from trailkit.records.proof import DeliveredObject, Proof, ProofStatus
from trailkit.records.read import (
    BucketInfo,
    ConnectionInfo,
    Inventory,
    KeyInfo,
    ScanError,
    Trail,
    TrailStatus,
    utc_iso,
)
from trailkit.records.results import (
    ApplyResult,
    Delivery,
    Outcome,
    PlanView,
    PolicyResult,
    WriteResult,
)

__all__ = [
    "NOTE_APPLIED",
    "NOTE_CHANGED",
    "NOTE_NOT_APPLIED",
    "Account",
    "ApplyResult",
    "BucketInfo",
    "Change",
    "ConnectionInfo",
    "DeliveredObject",
    "Delivery",
    "History",
    "HistoryEvent",
    "Inventory",
    "KeyInfo",
    "Kind",
    "Outcome",
    "Phase",
    "PlanView",
    "PolicyResult",
    "Proof",
    "ProofStatus",
    "ReadResult",
    "Record",
    "ScanError",
    "Trail",
    "TrailStatus",
    "WriteResult",
    "utc_iso",
]
