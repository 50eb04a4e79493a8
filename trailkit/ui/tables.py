"""pandas views of the records: fixed column order, formatting only (no AWS calls)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from trailkit.records import Inventory, KeyInfo, Trail
from trailkit.rules.plan import Plan

__all__ = [
    "ERROR_COLUMNS",
    "KEY_COLUMNS",
    "TRAIL_COLUMNS",
    "encryption_by_region",
    "errors_frame",
    "inventory_records",
    "keys_frame",
    "style_trails",
    "trail_record",
    "trails_frame",
]

TRAIL_COLUMNS = [
    "name",
    "encryption",
    "key_alias",
    "key_state",
    "home_region",
    "bucket",
    "bucket_region",
    "key_region",
    "bucket_key",
    "log_file_validation",
    "logging",
    "multi_region",
    "organization",
    "account",
    "latest_delivery_error",
    "latest_digest_delivery_error",
    "key_arn",
    "trail_arn",
    "error",
]

KEY_COLUMNS = [
    "alias",
    "region",
    "account",
    "state",
    "key_spec",
    "key_usage",
    "manager",
    "multi_region",
    "in_bucket_region",
    "used_by",
    "key_arn",
    "error",
]

ERROR_COLUMNS = ["region", "operation", "code", "permission", "resource", "message"]


def trail_record(trail: Trail, key: KeyInfo | None = None) -> dict[str, Any]:
    """One trail as a flat, JSON-ready dict with the :data:`TRAIL_COLUMNS` fields."""
    status = trail.status
    bucket = trail.bucket
    errors = [e for e in (bucket.error if bucket else None, status.error if status else None) if e]
    if key is not None and key.error:
        errors.append(key.error)
    return {
        "name": trail.name,
        "encryption": trail.encryption,
        "key_alias": key.alias if key else None,
        "key_state": key.state if key else None,
        "home_region": trail.home_region,
        "bucket": trail.bucket_name,
        "bucket_region": trail.bucket_region,
        "key_region": key.region if key else None,
        "bucket_key": bucket.bucket_key if bucket else None,
        "log_file_validation": trail.log_file_validation,
        "logging": status.is_logging if status else None,
        "multi_region": trail.multi_region,
        "organization": trail.organization,
        "account": trail.account,
        "latest_delivery_error": status.latest_delivery_error if status else None,
        "latest_digest_delivery_error": status.latest_digest_delivery_error if status else None,
        "key_arn": trail.kms_key_id,
        "trail_arn": trail.arn,
        "error": "; ".join(errors) or None,
    }


def _error_row(region: str | None, message: str) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(TRAIL_COLUMNS)
    row.update(
        {
            "name": f"(region {region} could not be read)" if region else "(read failed)",
            "home_region": region,
            "error": message,
        }
    )
    return row


def inventory_records(inv: Inventory) -> list[dict[str, Any]]:
    """Trails as records, then one record per region that could not be listed."""
    rows = [trail_record(t, inv.key_for(t)) for t in inv.trails]
    rows += [_error_row(e.region, e.message) for e in inv.errors if e.operation == "DescribeTrails"]
    return rows


def trails_frame(inv: Inventory) -> pd.DataFrame:
    """The trails table (one row per trail, plus an error row per unreadable region)."""
    return pd.DataFrame(inventory_records(inv), columns=TRAIL_COLUMNS)


def keys_frame(inv: Inventory) -> pd.DataFrame:
    """The keys in use: one row per key, with the trails that use it."""
    rows = []
    for arn, key in sorted(inv.keys.items()):
        users = [t for t in inv.trails if t.kms_key_id == arn]
        rows.append(
            {
                "alias": ", ".join(key.aliases) or None,
                "region": key.region,
                "account": key.account,
                "state": key.state,
                "key_spec": key.key_spec,
                "key_usage": key.key_usage,
                "manager": key.manager,
                "multi_region": key.multi_region,
                "in_bucket_region": _in_bucket_region(key, users),
                "used_by": ", ".join(t.name for t in users),
                "key_arn": arn,
                "error": key.error,
            }
        )
    return pd.DataFrame(rows, columns=KEY_COLUMNS)


def _in_bucket_region(key: KeyInfo, users: list[Trail]) -> bool | None:
    """Whether the key is in the region of every bucket its trails write to; None when a
    bucket's region is unknown (or the bucket does not exist) and no known one differs."""
    regions = [t.bucket_region for t in users]
    if any(r is not None and r != key.region for r in regions):
        return False
    return None if None in regions else True


def errors_frame(inv: Inventory) -> pd.DataFrame:
    """Every region or call that failed during the scan."""
    return pd.DataFrame([e.as_dict() for e in inv.errors], columns=ERROR_COLUMNS)


def encryption_by_region(inv: Inventory) -> pd.DataFrame:
    """Count of trails per home region and encryption (SSE-KMS / SSE-S3), for a bar chart."""
    frame = pd.DataFrame(
        [{"home_region": t.home_region, "encryption": t.encryption} for t in inv.trails],
        columns=["home_region", "encryption"],
    )
    table = pd.crosstab(frame["home_region"], frame["encryption"])
    for col in ("SSE-KMS", "SSE-S3"):
        if col not in table.columns:
            table[col] = 0
    return table[["SSE-KMS", "SSE-S3"]]


_GOOD = "background-color:#e8f5e9;color:#1b5e20;font-weight:bold"
_WARN = "background-color:#fff8e1;color:#8d6e00;font-weight:bold"
_BAD = "background-color:#fdecea;color:#b71c1c;font-weight:bold"


def style_trails(frame: pd.DataFrame) -> Any:
    """A pandas Styler that highlights encryption state, unusable keys and errors."""

    def encryption(value: Any) -> str:
        return _GOOD if value == "SSE-KMS" else _WARN if value == "SSE-S3" else ""

    def key_state(value: Any) -> str:
        return "" if value in (None, "Enabled") or pd.isna(value) else _BAD

    def error(value: Any) -> str:
        return _BAD if isinstance(value, str) and value else ""

    styler = frame.style.map(encryption, subset=["encryption"])
    styler = styler.map(key_state, subset=["key_state"])
    styler = styler.map(
        error, subset=["error", "latest_delivery_error", "latest_digest_delivery_error"]
    )
    return styler.set_table_attributes('class="tk-trails-table"')


def plan_frame(plan: Plan) -> pd.DataFrame:
    """The before/after table of a plan (:meth:`Plan.rows`), indexed by what each row is."""
    return pd.DataFrame(list(plan.rows()), columns=["", "before", "after"]).set_index("")
