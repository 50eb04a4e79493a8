"""pandas views of the records: fixed column order, formatting only (no AWS calls).

The frames keep the raw values (``None`` where a value is absent; the CSV export writes them as
they are) and English column names: the fields of the JSON and CSV exports, whatever the
language. Shown in a notebook they render as a trailkit table (:class:`TableFrame`): no ``NaN``
(a missing key of an SSE-S3 trail says SSE-S3, elsewhere ``-`` or ``unknown``), names and ids
never wrapped, ARNs and request ids shortened with the full value on hover, and a wrapper that
scrolls sideways when the table is wider than the page. Only what a person reads there is
translated: the headings (:data:`COLUMN_TITLES`), the texts for absent values, the notes under
a table.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from trailkit.arn import short_arn
from trailkit.i18n import N_, _
from trailkit.i18n import local_time as i18n_local_time
from trailkit.records import Inventory, KeyInfo, Trail, utc_iso
from trailkit.records.journal import DELIVERY_WORDS, STATUS_WORDS, proof_reason
from trailkit.rules.health import HEALTH_WORDS, Health
from trailkit.rules.keyfacts import FACT_FIELDS, ROTATION_WORDS, key_facts, pending_deletion
from trailkit.rules.ownership import DEFAULT_OWNER_TAG_KEYS, managed_by
from trailkit.rules.plan import Plan

__all__ = [
    "ACCOUNT_OPERATIONS",
    "COLUMN_TITLES",
    "ERROR_COLUMNS",
    "FREE_TEXT",
    "HEALTH_CELL_STYLES",
    "HEALTH_WORDS",
    "INVENTORY_COLUMNS",
    "KEY_COLUMNS",
    "NO_KEY",
    "ONE_LINE",
    "ORG_INVENTORY_COLUMNS",
    "ORG_TRAIL_COLUMNS",
    "TRAIL_COLUMNS",
    "WRAPPER_STYLE",
    "TableFrame",
    "cell_html",
    "column_title",
    "display_frame",
    "encryption_by_region",
    "errors_frame",
    "health_word",
    "inventory_records",
    "keys_frame",
    "missing_text",
    "proof_html",
    "style_frame",
    "style_trails",
    "table_html",
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

#: ``trailkit inventory --format json|csv``: every trail field, the times of the last log and
#: digest file deliveries (``GetTrailStatus``, UTC ISO text), its health (the reasons as a list
#: in JSON, as JSON text in CSV) and the facts of its key
#: (:class:`trailkit.rules.keyfacts.KeyFacts`; None for a trail without a key).
INVENTORY_COLUMNS = [
    *TRAIL_COLUMNS,
    "latest_delivery_time",
    "latest_digest_delivery_time",
    "health",
    "health_reasons",
    *FACT_FIELDS,
    "managed_by",
]

#: ``trailkit inventory --org|--accounts --format json|csv``: the same, each row also with the
#: ``account_name`` of its ``account`` (Organizations' name, when listed), and an error row per
#: account that could not be read (``AssumeRole`` refused, ``ListTrails`` failed).
ORG_INVENTORY_COLUMNS = [
    *INVENTORY_COLUMNS[: INVENTORY_COLUMNS.index("account") + 1],
    "account_name",
    *INVENTORY_COLUMNS[INVENTORY_COLUMNS.index("account") + 1 :],
]
#: The trails table of a scan of several accounts (:func:`trails_frame`): ``account_name``
#: after ``account``, as in :data:`ORG_INVENTORY_COLUMNS`.
ORG_TRAIL_COLUMNS = [
    *TRAIL_COLUMNS[: TRAIL_COLUMNS.index("account") + 1],
    "account_name",
    *TRAIL_COLUMNS[TRAIL_COLUMNS.index("account") + 1 :],
]
#: The operations whose failure leaves a whole account unread (one error row for the account).
ACCOUNT_OPERATIONS = ("AssumeRole", "ListTrails")

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
    "deletion_date",
    "days_left",
    "rotation",
    "origin",
    "created",
    "multi_region_role",
    "key_arn",
    "error",
]

ERROR_COLUMNS = ["region", "operation", "code", "permission", "resource", "message"]

#: The heading a notebook table shows for a column (the frame keeps the field name, which is
#: also the English heading): marked here, translated where shown (:func:`column_title`).
COLUMN_TITLES: dict[str, str] = {
    "name": N_("name"),
    "encryption": N_("encryption"),
    "key_alias": N_("key_alias"),
    "key_state": N_("key_state"),
    "home_region": N_("home_region"),
    "bucket": N_("bucket"),
    "bucket_region": N_("bucket_region"),
    "key_region": N_("key_region"),
    "bucket_key": N_("bucket_key"),
    "log_file_validation": N_("log_file_validation"),
    "logging": N_("logging"),
    "multi_region": N_("multi_region"),
    "organization": N_("organization"),
    "account": N_("account"),
    "account_name": N_("account_name"),
    "latest_delivery_error": N_("latest_delivery_error"),
    "latest_digest_delivery_error": N_("latest_digest_delivery_error"),
    "key_arn": N_("key_arn"),
    "trail_arn": N_("trail_arn"),
    "error": N_("error"),
    "health": N_("health"),
    "health_reasons": N_("health_reasons"),
    "managed_by": N_("managed_by"),
    "alias": N_("alias"),
    "region": N_("region"),
    "state": N_("state"),
    "key_spec": N_("key_spec"),
    "key_usage": N_("key_usage"),
    "manager": N_("manager"),
    "in_bucket_region": N_("in_bucket_region"),
    "used_by": N_("used_by"),
    "deletion_date": N_("deletion_date"),
    "days_left": N_("days_left"),
    "rotation": N_("rotation"),
    "origin": N_("origin"),
    "created": N_("created"),
    "multi_region_role": N_("multi_region_role"),
    "operation": N_("operation"),
    "code": N_("code"),
    "permission": N_("permission"),
    "resource": N_("resource"),
    "message": N_("message"),
    "before": N_("before"),
    "after": N_("after"),
    # the journal's rows (changes_frame: notebook 05's table of every change)
    "change_id": N_("change_id"),
    "time": N_("time"),
    "kind": N_("kind"),
    "status": N_("status"),
    "target_arn": N_("target_arn"),
    "rollback_of": N_("rollback_of"),
    "undone_by": N_("undone_by"),
    "caller_arn": N_("caller_arn"),
    "endpoint": N_("endpoint"),
    "backend": N_("backend"),
    "request_id": N_("request_id"),
    "delivery": N_("delivery"),  # the newest delivery proof's status (issue 17)
    "proof": N_("delivery proof"),
}
#: A yes/no cell (logging, multi_region, ...) as a person reads it; the frame keeps the bool.
BOOL_TITLES = {True: N_("True"), False: N_("False")}


def column_title(column: Any) -> str:
    """The heading shown for ``column``: its title in the language spoken now when it is one
    of :data:`COLUMN_TITLES`, else the column's name as it is."""
    title = COLUMN_TITLES.get(str(column))
    return _(title) if title else str(column)


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


def _error_name(region: Any) -> str:
    """The name a table shows for a region whose trails could not be listed, translated (the
    record keeps the English text, for JSON and CSV)."""
    if region:
        return _("(region {region} could not be read)").format(region=region)
    return _("(read failed)")


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


def _account_row(account: str, message: str) -> dict[str, Any]:
    """The row of an account that could not be read at all (its role, its ``ListTrails``)."""
    row: dict[str, Any] = dict.fromkeys(TRAIL_COLUMNS)
    row.update(
        {"name": f"(account {account} could not be read)", "account": account, "error": message}
    )
    return row


def inventory_records(
    inv: Inventory,
    healths: Mapping[str, Health] | None = None,
    now: datetime | None = None,
    owner_tags: Sequence[str] = DEFAULT_OWNER_TAG_KEYS,
) -> list[dict[str, Any]]:
    """Trails as records, then one record per region that could not be listed.

    On a scan of several accounts (``inv.accounts``) every record also has ``account_name``,
    a region's error record its ``account``, and an account that could not be read at all (its
    role could not be assumed, its ``ListTrails`` failed: :data:`ACCOUNT_OPERATIONS`) is one
    error record named ``(account ID could not be read)``.

    With ``healths`` (:func:`trailkit.rules.health.inventory_health`), each trail record also
    has ``health`` (its kind), ``health_reasons`` (a list of reason dicts) and the times of the
    last log and digest file deliveries (UTC ISO text, None when ``GetTrailStatus`` gives none);
    a region's error record has ``health`` None, no reasons and no times. With ``now``, each
    record also has the facts of its key (:data:`~trailkit.rules.keyfacts.FACT_FIELDS`, days
    left counted from ``now``; None for a trail without a described key).

    Each trail record has ``managed_by``: who manages the trail or its key, as their tags (and
    Control Tower's trail name) tell (:func:`trailkit.rules.ownership.managed_by` with
    ``owner_tags``): the owners' labels; "" when the trail's tags were read and name nobody;
    None when they were not read (another account's trail, or ``ListTags`` refused: its
    ``tags_error``) and nothing else tells (an error row's is None too).
    """
    rows = [trail_record(t, inv.key_for(t)) for t in inv.trails]
    for row, trail in zip(rows, inv.trails, strict=True):
        row["managed_by"] = managed_by(trail, inv.key_for(trail), owner_tags)
    if healths is not None:
        for row, trail in zip(rows, inv.trails, strict=True):
            found = healths.get(trail.arn)
            status = trail.status
            row["latest_delivery_time"] = utc_iso(status.latest_delivery_time if status else None)
            row["latest_digest_delivery_time"] = utc_iso(
                status.latest_digest_delivery_time if status else None
            )
            row["health"] = str(found.kind) if found else None
            row["health_reasons"] = [r.as_dict() for r in found.reasons] if found else []
    if now is not None:
        for row, trail in zip(rows, inv.trails, strict=True):
            key = inv.key_for(trail)
            if key is not None and key.error is None:
                row.update(key_facts(key, now).as_dict())
            else:
                row.update(dict.fromkeys(FACT_FIELDS))
    listed = [e for e in inv.errors if e.operation == "DescribeTrails"]
    errors = [{**_error_row(e.region, e.message), "account": e.account} for e in listed]
    if inv.accounts:
        unread = [e for e in inv.errors if e.account and e.operation in ACCOUNT_OPERATIONS]
        errors += [_account_row(str(e.account), e.message) for e in unread]
        for row in rows + errors:
            row["account_name"] = inv.account_name(row["account"]) if row["account"] else None
    for row in errors:
        row["managed_by"] = None
        if healths is not None:
            row["health"], row["health_reasons"] = None, []
            row["latest_delivery_time"] = row["latest_digest_delivery_time"] = None
        if now is not None:
            row.update(dict.fromkeys(FACT_FIELDS))
    return rows + errors


def trails_frame(inv: Inventory) -> pd.DataFrame:
    """The trails table (one row per trail, plus an error row per unreadable region).

    Its columns are :data:`TRAIL_COLUMNS`; on a scan of several accounts (``inv.accounts``)
    :data:`ORG_TRAIL_COLUMNS` (``account_name`` after ``account``, as in the command line's
    ``inventory --org --format csv``) and an error row per account that could not be read.
    """
    columns = ORG_TRAIL_COLUMNS if inv.accounts else TRAIL_COLUMNS
    return TableFrame(inventory_records(inv), columns=columns)


def keys_frame(inv: Inventory, now: datetime | None = None) -> pd.DataFrame:
    """The keys in use: one row per key, with the trails that use it; keys pending deletion
    first (the soonest deleted first), each with its date (UTC) and the days left at ``now``
    (default: the current time)."""
    now = now or datetime.now(UTC)
    rows = []
    for arn, key in sorted(inv.keys.items(), key=_deletion_first):
        users = [t for t in inv.trails if t.kms_key_id == arn]
        facts = key_facts(key, now)
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
                "deletion_date": facts.deletion_date,
                "days_left": facts.days_left,
                "rotation": facts.rotation if key.error is None else None,
                "origin": key.origin,
                "created": key.created,
                "multi_region_role": facts.multi_region,
                "key_arn": arn,
                "error": key.error,
            }
        )
    frame = TableFrame(rows, columns=KEY_COLUMNS)
    # whole days (None where not pending), not the floats pandas makes of a column with gaps
    frame["days_left"] = pd.Series([r["days_left"] for r in rows], index=frame.index, dtype=object)
    return frame


def _deletion_first(item: tuple[str, KeyInfo]) -> tuple[int, datetime, str]:
    """Sort keys pending deletion first, soonest first, then the others by ARN."""
    arn, key = item
    if pending_deletion(key):
        return (0, key.deletion_date or datetime.min.replace(tzinfo=UTC), arn)
    return (1, datetime.min.replace(tzinfo=UTC), arn)


def _in_bucket_region(key: KeyInfo, users: list[Trail]) -> bool | None:
    """Whether the key is in the region of every bucket its trails write to; None when a
    bucket's region is unknown (or the bucket does not exist) and no known one differs."""
    regions = [t.bucket_region for t in users]
    if any(r is not None and r != key.region for r in regions):
        return False
    return None if None in regions else True


def errors_frame(inv: Inventory) -> pd.DataFrame:
    """Every region or call that failed during the scan."""
    return TableFrame([e.as_dict() for e in inv.errors], columns=ERROR_COLUMNS)


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
_UNVERIFIED = "background-color:#eceff1;color:#37474f;font-weight:bold"

#: A trail's health as its cells are coloured (the ``health`` cell, and ``encryption`` for a
#: trail with a KMS key): broken red, at-risk amber, unverifiable blue-grey, healthy green,
#: sse-s3 neutral. The word is in the ``health`` cell too, so the table reads without colour.
HEALTH_CELL_STYLES: Mapping[str, str] = {
    "broken": _BAD,
    "at-risk": _WARN,
    "unverifiable": _UNVERIFIED,
    "healthy": _GOOD,
    "sse-s3": "",
}
#: The left edge of a trail's name: its health at a glance, row by row.
_HEALTH_EDGE: Mapping[str, str] = {
    "broken": "border-left:5px solid #c62828",
    "at-risk": "border-left:5px solid #f9a825",
    "unverifiable": "border-left:5px solid #78909c",
    "healthy": "border-left:5px solid #2e7d32",
    "sse-s3": "border-left:5px solid #bdbdbd",
}


def health_word(kind: Any) -> str:
    """A health (``at-risk``) as a person reads it (``at risk``), in the operator's language;
    anything else as it is."""
    word = HEALTH_WORDS.get(str(kind))
    return _(word) if word else str(kind)


# -- how a frame looks in a notebook ----------------------------------------------------------

#: What a trail's missing key is: it writes with SSE-S3 (the trails frame's key columns).
NO_KEY = N_("none (SSE-S3)")
_NOTHING = "-"
_UNKNOWN = N_("unknown")

#: Columns where an absent value means there is none (no error, no alias, not a rollback, no
#: request sent, not undone), not that it could not be read.
_NONE_MEANS_NOTHING = frozenset(
    {
        "error",
        "latest_delivery_error",
        "latest_digest_delivery_error",
        "alias",
        "used_by",
        "region",
        "operation",
        "code",
        "permission",
        "resource",
        "message",
        "rollback_of",
        "undone_by",
        "role_arn",  # a change made with the caller's own credentials: no role
        "via_account",
        "request_id",
        "before",
        "after",
        "delivery",  # a change whose delivery was never proven
        "proof",
    }
)
#: Free text that may wrap, between words only; every other cell stays on one line.
_TEXT_COLUMNS = (
    "error",
    "message",
    "latest_delivery_error",
    "latest_digest_delivery_error",
    "proof",
)
#: One line per cell, left-aligned (JupyterLab right-aligns table cells by default).
ONE_LINE = "white-space:nowrap;word-break:keep-all;overflow-wrap:normal;text-align:left"
_ONE_LINE = ONE_LINE
#: Free text (a reason, a message): wraps between words only.
FREE_TEXT = (
    "white-space:normal;word-break:normal;overflow-wrap:normal;min-width:18em;text-align:left"
)
#: The wrapper of every table: scrolls sideways instead of cutting the table off. ``width:0``
#: with ``min-width:100%`` makes it as wide as its container without the table's width pushing
#: that container wider (a flex item such as a widget's HTML would grow and be clipped).
WRAPPER_STYLE = "overflow-x:auto;max-width:100%;width:0;min-width:100%"


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def missing_text(column: str, row: Mapping[str, Any]) -> str:
    """What a table shows for an absent value of ``column`` in ``row`` (never ``NaN``).

    A trail's absent key is SSE-S3 (:data:`NO_KEY` for its alias and ARN, ``-`` for the key's
    state and region), as is a journal row's absent key of a ``trail-key`` change (``SSE-S3``);
    columns where absence means there is none (:data:`_NONE_MEANS_NOTHING`), and every column of
    a row for a region that could not be read, show ``-``; anything else was not readable and
    shows ``unknown``.
    """
    if (
        "trail_arn" in row
        and _is_missing(row.get("trail_arn"))
        and not _is_missing(row.get("error"))
    ):
        return _NOTHING  # a region that could not be listed: its row has no trail fields
    if row.get("encryption") == "SSE-S3" and column.startswith("key_"):
        return _(NO_KEY) if column in ("key_alias", "key_arn") else _NOTHING
    if row.get("kind") == "trail-key" and column in ("before", "after"):
        return "SSE-S3"
    if column == "key_alias" and not _is_missing(row.get("key_state")):
        return _NOTHING  # the key was read and has no alias
    return _NOTHING if column in _NONE_MEANS_NOTHING else _(_UNKNOWN)


def _abbreviated(text: str, shown: str) -> str:
    if shown == text:
        return html.escape(text)
    return f'<span title="{html.escape(text, quote=True)}">{html.escape(shown)}</span>'


def local_time(value: Any) -> str:
    """A journal time (UTC ISO text) in the operator's timezone with the zone shown as its
    offset from UTC (``2026-12-04 09:15:02 UTC+09:00``, the same in every language; ``UTC`` for
    UTC itself); text that is not a time is returned as it is."""
    return i18n_local_time(value, offset=True, none="")


#: Columns of times: a journal time (UTC ISO text), a key's creation and deletion dates.
_TIME_COLUMNS = frozenset({"time", "created", "deletion_date"})


def cell_html(column: str, value: Any, row: Mapping[str, Any]) -> str:
    """One cell as HTML: absent values as :func:`missing_text`, ARNs shortened
    (:func:`trailkit.arn.short_arn`) and long request ids cut to 8 characters, each with the full
    value as its ``title`` (shown on hover); everything escaped."""
    if _is_missing(value):
        return html.escape(missing_text(column, row))
    if column == "name":  # a region that could not be read: the record's name is English
        region = None if _is_missing(row.get("home_region")) else row.get("home_region")
        if value == _error_row(region, "")["name"]:
            return html.escape(_error_name(region))
        account = row.get("account")
        if account and value == _account_row(str(account), "")["name"]:
            return html.escape(_("(account {account} could not be read)").format(account=account))
    if isinstance(value, bool):  # numpy's bool_ too would be shown as True/False
        return html.escape(_(BOOL_TITLES[value]))
    if type(value).__name__ == "bool_":
        return html.escape(_(BOOL_TITLES[bool(value)]))
    text = str(value)
    if column in _TIME_COLUMNS:  # shown in the operator's timezone
        return html.escape(local_time(text))
    if column == "rotation" and text in ROTATION_WORDS:
        return html.escape(_(ROTATION_WORDS[text]))
    if column == "health" and text in HEALTH_WORDS:  # the frame keeps the code
        return html.escape(health_word(text))
    if column == "status" and text in STATUS_WORDS:  # the frame keeps the status itself
        return html.escape(_(STATUS_WORDS[text]))
    if column == "delivery" and text in DELIVERY_WORDS:
        return html.escape(_(DELIVERY_WORDS[text]))
    if column == "proof" and isinstance(value, Mapping):
        return proof_html(value)
    if text.startswith("arn:"):
        return _abbreviated(text, short_arn(text))
    if column.endswith("request_id") and len(text) > 12:
        return _abbreviated(text, f"{text[:8]}…")
    return html.escape(text)


def proof_html(proof: Mapping[str, Any]) -> str:
    """A journal row's ``proof`` (:func:`trailkit.records.journal.changes_frame`) as HTML: its
    status in words and its time in the operator's timezone, then why it is not proven (or the
    log and digest objects read), everything escaped."""
    status = str(proof.get("status") or "")
    word = _(DELIVERY_WORDS[status]) if status in DELIVERY_WORDS else status
    head = _("{status} at {time}").format(status=word, time=local_time(proof.get("time")))
    if proof.get("reason"):
        detail = proof_reason(proof)
    else:
        objects = [str(proof[k]) for k in ("log_object", "digest_object") if proof.get(k)]
        detail = ", ".join(objects)
    return html.escape(head) + (f"<br>{html.escape(detail)}" if detail else "")


def display_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every cell as its HTML (:func:`cell_html`): what a table shows."""
    columns = [str(c) for c in frame.columns]
    rows = []
    for values in frame.itertuples(index=False, name=None):
        row = dict(zip(columns, values, strict=True))
        rows.append([cell_html(c, v, row) for c, v in zip(columns, values, strict=True)])
    return pd.DataFrame(rows, index=frame.index, columns=frame.columns, dtype=object)


def style_frame(frame: pd.DataFrame) -> Any:
    """A pandas Styler of :func:`display_frame`: one line per cell except free text (which wraps
    between words), the index hidden unless it means something."""
    styler = display_frame(frame).style.format_index(column_title, axis="columns", escape="html")
    if isinstance(frame.index, pd.RangeIndex):
        styler = styler.hide(axis="index")
    styles: dict[Any, list[dict[str, str]]] = {
        c: [{"selector": "td", "props": FREE_TEXT}] for c in frame.columns if c in _TEXT_COLUMNS
    }
    styler = styler.set_table_styles(
        [{"selector": "td", "props": _ONE_LINE}, {"selector": "th", "props": _ONE_LINE}]
    )
    if styles:
        styler = styler.set_table_styles(styles, overwrite=False)
    if "days_left" in frame.columns:  # a key pending deletion: the most urgent cells, red
        styler = styler.apply(lambda __: _deletion_colours(frame), axis=None)
    return styler.set_table_attributes('class="tk-frame"')


def _deletion_colours(frame: pd.DataFrame) -> pd.DataFrame:
    """Red for the deletion date and days left of a key pending deletion (``frame``: the
    values, not their HTML)."""
    css = pd.DataFrame("", index=frame.index, columns=frame.columns, dtype=object)
    for column in ("deletion_date", "days_left"):
        if column in frame.columns:
            css[column] = ["" if _is_missing(v) else _BAD for v in frame[column]]
    return css


def table_html(
    table: pd.DataFrame | Any,
    *,
    max_rows: int | None = None,
    style: Callable[[pd.DataFrame], Any] | None = None,
    shown: Sequence[str] | None = None,
) -> str:
    """A frame (or a Styler of one) as HTML in a wrapper that scrolls sideways when it is wider
    than the page: the one notebook-table renderer (every ``TableFrame``, the widgets'
    tables). A frame longer than ``max_rows`` (None: pandas' ``display.max_rows``) shows
    its first rows and says how many there are.

    Parameters
    ----------
    table
        A frame, or a Styler of one (shown as it is).
    max_rows
        Rows shown at most.
    style
        Makes the Styler of a frame (default :func:`style_frame`; e.g. :func:`style_trails`).
        It gets the whole frame, so the columns it reads need not be shown.
    shown
        The columns to show, in the frame's order (default: all).
    """
    note = ""
    if isinstance(table, pd.DataFrame):
        limit = max_rows if max_rows is not None else pd.get_option("display.max_rows")
        hidden = [c for c in table.columns if shown is not None and c not in shown]
        if len(hidden) == table.columns.size:
            none = html.escape(_("(no columns)"))
            return f'<div class="tk-table tk-wide"><i>{none}</i></div>'
        if limit and len(table) > limit:
            first = _("First {limit} of {total} rows.").format(limit=limit, total=len(table))
            note = f"<div><i>{html.escape(first)}</i></div>"
            table = table.head(limit)
        elif table.empty:
            empty = _("(no rows)")
            note = f"<div><i>{html.escape(empty)}</i></div>"
        table = (style or style_frame)(table)
        if hidden:
            table = table.hide(axis="columns", subset=hidden)
    return f'<div class="tk-table tk-wide" style="{WRAPPER_STYLE}">{table.to_html()}{note}</div>'


class TableFrame(pd.DataFrame):  # type: ignore[misc]  # pandas has no type stubs here
    """A DataFrame that a notebook shows as a trailkit table (:func:`table_html`).

    Otherwise a DataFrame like any other: the values, ``to_csv`` and text output are unchanged.
    """

    @property
    def _constructor(self) -> type[TableFrame]:
        return TableFrame

    def _repr_html_(self) -> str:
        return table_html(self)


def _trail_colours(frame: pd.DataFrame) -> pd.DataFrame:
    """The colours of the trails table, read from the raw values.

    With a ``health`` column (the trails widget's frame) a trail is coloured by its health
    (:data:`HEALTH_CELL_STYLES`): its health cell, the edge of its name and, for a trail with a
    KMS key, its encryption cell, so a trail on a Disabled key is never the green of a healthy
    one. Without it: SSE-KMS green unless its key is not Enabled (red), SSE-S3 amber. Either
    way an unusable key state and every error are red.
    """
    has_health = "health" in frame.columns

    def encryption(value: Any, row: Mapping[str, Any]) -> str:
        if value == "SSE-S3":
            return _WARN
        if value != "SSE-KMS":
            return ""
        if has_health and not _is_missing(row.get("health")):
            return HEALTH_CELL_STYLES.get(str(row["health"]), "")
        state = row.get("key_state")
        return _GOOD if _is_missing(state) or state == "Enabled" else _BAD

    def key_state(value: Any, row: Mapping[str, Any]) -> str:
        return "" if _is_missing(value) or value == "Enabled" else _BAD

    def error(value: Any, row: Mapping[str, Any]) -> str:
        return _BAD if isinstance(value, str) and value else ""

    def health(value: Any, row: Mapping[str, Any]) -> str:
        return "" if _is_missing(value) else HEALTH_CELL_STYLES.get(str(value), "")

    def name(value: Any, row: Mapping[str, Any]) -> str:
        found = row.get("health")
        return "" if _is_missing(found) else _HEALTH_EDGE.get(str(found), "")

    rules: list[tuple[str, Callable[[Any, Mapping[str, Any]], str]]] = [
        ("encryption", encryption),
        ("key_state", key_state),
        ("error", error),
        ("latest_delivery_error", error),
        ("latest_digest_delivery_error", error),
    ]
    if has_health:
        rules += [("health", health), ("name", name)]
    css = pd.DataFrame("", index=frame.index, columns=frame.columns, dtype=object)
    records = frame.to_dict("records")
    for column, rule in rules:
        if column in frame.columns:
            css[column] = [rule(r[column], r) for r in records]
    return css


def style_trails(frame: pd.DataFrame) -> Any:
    """A pandas Styler of the trails frame (:func:`style_frame`) that colours each trail by its
    health when the frame has a ``health`` column (:func:`_trail_colours`), else by its
    encryption state, and highlights unusable keys and errors; the colours are read from the
    raw values."""
    colours = _trail_colours(frame)
    styler = style_frame(frame).apply(lambda _: colours, axis=None)
    return styler.set_table_attributes('class="tk-frame tk-trails-table"')


def plan_frame(plan: Plan) -> pd.DataFrame:
    """The before/after table of a plan (:meth:`Plan.rows`), indexed by what each row is."""
    return pd.DataFrame(list(plan.rows()), columns=["", "before", "after"]).set_index("")
