"""Write the runbook notebooks from their cell lists (no outputs), so they stay thin and reviewable.

Run: ``python tools/make_notebooks.py``; ``--check`` exits 1 when a committed notebook differs
from what would be written (a test runs it).

Rules for every notebook: the first code cell is tagged ``parameters`` (papermill), then about
one package call per cell; no boto3, no loops, no function definitions, no lambdas. Whatever
orchestration a notebook needs lives in ``trailkit.ui.notebook`` and ``trailkit.ui.widgets``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
Cell = tuple[str, str] | tuple[str, str, list[str]]
NOTEBOOKS: dict[str, list[Cell]] = {}

_IMPORTS = "import trailkit as tk\nfrom trailkit.ui import notebook"
_CONNECT = "conn = tk.connect(profile=profile, endpoint_url=endpoint_url)"
_JOURNAL = "journal = notebook.open_journal(journal_path)"
# Yes/no parameters are read strictly before anything is read or sent: papermill passes
# `-p apply false` as the text "false" (no), and "maybe" stops the run with an InputError.
_FLAGS = (
    "# yes/no parameters: True/False, true/false, yes/no, 1/0; anything else stops here\n"
    "notebook.check_flags({})"
)
# Who must be able to decrypt the logs, besides the trail's account and the bucket owner's
# (`--reader-account` on the command line): checked by every pre-flight (`policy-readers`).
_READERS = (
    "reader_accounts = None  # accounts that must decrypt the logs, e.g. a log archive: "
    '["444455556666"] or "444455556666,777788889999"'
)
_WHERE = (
    "journal_path = None  # None: $TRAILKIT_JOURNAL, else the user data directory "
    "(the demo: its own demo-journal.jsonl)\n"
    "endpoint_url = None  # None: $AWS_ENDPOINT_URL (set by `trailkit lab` for the demo)\n"
    "profile = None  # AWS profile; None: environment / demo"
)

NOTEBOOKS["01_encryption_inventory.ipynb"] = [
    (
        "markdown",
        "# Encryption inventory\n\nWhich trails are encrypted, with which key, and is "
        "that key healthy? Every region of the account, each trail once.\n\n"
        "Runs on the demo backend unless the kernel was started with real AWS credentials "
        "(`trailkit lab --aws`).",
    ),
    (
        "code",
        "profile = None  # AWS profile; None: environment / demo\n"
        "endpoint_url = None  # None: $AWS_ENDPOINT_URL (set by `trailkit lab` for the demo)\n"
        'regions = None  # e.g. ["us-east-1", "eu-west-1"]; None: every enabled region\n'
        'csv_path = "trails.csv"',
        ["parameters"],
    ),
    ("code", _IMPORTS),
    ("markdown", "## Where am I?"),
    ("code", _CONNECT),
    ("code", 'inventory = tk.scan(conn, regions, progress="notebook")'),
    ("code", "tk.widgets.ConnectionBanner(conn.info(), inventory)"),
    (
        "markdown",
        "## Trails\n\nSSE-KMS in green, SSE-S3 in amber; an unusable key or an error in red. "
        "Filter by home region and encryption.",
    ),
    ("code", "tk.widgets.TrailsTable(inventory)"),
    ("markdown", "## Keys in use"),
    ("code", "tk.tables.keys_frame(inventory)"),
    ("markdown", "## Encrypted or not, by home region"),
    ("code", "notebook.encryption_chart(inventory)"),
    ("markdown", "## Regions or calls that failed (empty when the result is complete)"),
    ("code", "tk.tables.errors_frame(inventory)"),
    ("markdown", "## Export (every column)"),
    ("code", "tk.tables.trails_frame(inventory).to_csv(csv_path, index=False)"),
]

NOTEBOOKS["02_guided_update.ipynb"] = [
    (
        "markdown",
        "# Guided update\n\nSwitch a CloudTrail trail to a KMS key (or back to SSE-S3): every "
        "pre-flight check first, nothing sent until you confirm, each change verified, "
        "recorded in the change journal and reversible.",
    ),
    (
        "code",
        "# Interactive: leave these as they are and use the view below.\n"
        "# Headless: papermill 02_guided_update.ipynb out.ipynb -p trail org-trail "
        "-p key alias/cloudtrail-good -p apply True\n"
        "trail = None  # trail name or ARN\n"
        'key = None  # alias, alias ARN, key ARN or key id; "SSE-S3" to turn SSE-KMS off\n'
        "repair_policy = False  # first add the missing CloudTrail statements to the key policy\n"
        "apply = False  # send the change (refused when the plan is blocked)\n"
        "rollback = False  # undo the change applied here (else the trail's last one)\n"
        "accept_unverifiable = False  # also send a plan some of whose checks could not be verified (--accept-unverifiable)\n"
        f"{_READERS}\n"
        f"{_WHERE}\n"
        "regions = None  # where to look for trails; None: every enabled region",
        ["parameters"],
    ),
    ("code", _IMPORTS),
    (
        "code",
        _FLAGS.format(
            "apply=apply, rollback=rollback, repair_policy=repair_policy, "
            "accept_unverifiable=accept_unverifiable"
        ),
    ),
    ("code", _CONNECT),
    ("code", _JOURNAL),
    (
        "code",
        "guided = notebook.guided_update(conn, journal, regions=regions, "
        "reader_accounts=reader_accounts)",
    ),
    ("code", "guided"),
    (
        "code",
        "# headless: choose the trail and the key (shows the checklist and the plan)\n"
        "guided.choose(trail, key)",
    ),
    (
        "code",
        "# headless: the add-only key policy repair, when needed and repair_policy=True\n"
        "guided.repair_policy(repair_policy)",
    ),
    (
        "code",
        "# headless: apply the plan when apply=True (an UNVERIFIABLE plan only with "
        "accept_unverifiable=True)\nguided.apply(apply, accept_unverifiable)",
    ),
    ("code", "# verify: the trail's key and delivery status, read again\nguided.verify()"),
    (
        "code",
        "# headless: roll back when rollback=True\nguided.rollback(rollback, accept_unverifiable)",
    ),
]

NOTEBOOKS["03_key_policy.ipynb"] = [
    (
        "markdown",
        "# Key policy: inspect and repair\n\nDoes this key's policy let CloudTrail use it for "
        "these trails? If not, trailkit appends the missing statements (it never edits or "
        "removes one) and, once you confirm, updates the policy and records the change.",
    ),
    (
        "code",
        "# Interactive: pick the trail and the key in the view below (these are the first choice).\n"
        "# Headless: papermill 03_key_policy.ipynb out.ipynb -p key alias/no-cloudtrail "
        "-p apply True\n"
        'key = "alias/no-cloudtrail"  # the key (demo example)\n'
        'trails = ["org-trail"]  # the trails that should use it (demo example)\n'
        "apply = False  # send the repaired policy\n"
        f"{_READERS}\n"
        f"{_WHERE}\n"
        "regions = None  # where to look for trails; None: every enabled region",
        ["parameters"],
    ),
    ("code", _IMPORTS),
    ("code", _FLAGS.format("apply=apply")),
    ("code", _CONNECT),
    ("code", _JOURNAL),
    (
        "markdown",
        "## Choose the trail and the key\n\nThe pre-flight of the key (the one place its "
        "findings are listed), the current policy and the statements to append; after a policy "
        "change, the pre-flight again.",
    ),
    (
        "code",
        "panel = notebook.key_policy_view(conn, journal, key, trails, regions=regions, "
        "reader_accounts=reader_accounts)",
    ),
    ("code", "panel"),
    ("markdown", "## Apply (headless: `apply=True`)"),
    ("code", "panel.apply(apply)"),
    ("markdown", "## After: the pre-flight again (empty until the key policy was changed)"),
    (
        "code",
        "notebook.check_trails(conn, panel.trail_names, panel.key, "
        "reader_accounts=reader_accounts, after=panel)",
    ),
]

NOTEBOOKS["04_bulk_update.ipynb"] = [
    (
        "markdown",
        "# Bulk update\n\nSeveral trails at once: one target key per bucket region (a key must "
        "be in the region of the trail's S3 bucket), one plan table for all, then apply the "
        "ready plans. Blocked plans are never sent; every trail gets a result.",
    ),
    (
        "code",
        '# trails and keys below are demo examples\ntrails = ["org-trail", "stale-key-trail", '
        '"tokyo-trail"]  # names or ARNs\n'
        'keys_by_region = {"us-east-1": "alias/cloudtrail-good", '
        '"us-west-2": "alias/cloudtrail-good-usw2"}  # bucket region to key\n'
        "apply = False  # send the ready plans\n"
        "accept_unverifiable = False  # also send a plan some of whose checks could not be verified (--accept-unverifiable)\n"
        f"{_READERS}\n"
        f"{_WHERE}\n"
        "regions = None  # where to look for trails; None: every enabled region",
        ["parameters"],
    ),
    ("code", _IMPORTS),
    ("code", _FLAGS.format("apply=apply, accept_unverifiable=accept_unverifiable")),
    ("code", _CONNECT),
    ("code", _JOURNAL),
    ("code", 'inventory = tk.scan(conn, regions, progress="notebook")'),
    ("code", "tk.widgets.ConnectionBanner(conn.info(), inventory)"),
    (
        "markdown",
        "## Choose trails and keys, plan\n\nEach bucket region's key list is ranked for the "
        "trails chosen there: ready keys first, then unverifiable, then blocked (with the code, "
        "and for which trails when they differ).",
    ),
    (
        "code",
        "bulk = notebook.bulk_update(conn, journal, inventory, reader_accounts=reader_accounts)",
    ),
    ("code", "bulk"),
    (
        "code",
        "# headless: select the trails and keys of the parameters and plan\n"
        "bulk.choose(trails, keys_by_region)",
    ),
    (
        "markdown",
        "## Apply (headless: `apply=True`): one result per trail\n\nEvery chosen trail is "
        "listed: changed, unchanged, blocked or not sent (with the reason; nothing was sent), "
        "failed (sent, not made) or unknown.",
    ),
    ("code", "bulk.apply(apply, accept_unverifiable)"),
]

NOTEBOOKS["05_change_journal.ipynb"] = [
    (
        "markdown",
        "# Change journal\n\nEvery change trailkit sent: an intent written before the call, "
        "the outcome after it. Roll a trail change back (or restore a key policy) from here.",
    ),
    (
        "code",
        "rollback_change = None  # a change id from the table, to roll back\n"
        "accept_unverifiable = False  # also send a plan some of whose checks could not be verified (--accept-unverifiable)\n"
        f"{_WHERE}",
        ["parameters"],
    ),
    ("code", _IMPORTS),
    ("code", _CONNECT),
    ("code", _JOURNAL),
    ("code", "view = notebook.journal_view(conn, journal)"),
    ("code", "view"),
    ("markdown", '## Roll back (headless: `rollback_change="chg-..."`)'),
    ("code", "view.rollback(rollback_change, accept_unverifiable)"),
    ("markdown", "## Every change, as a table"),
    ("code", "notebook.changes_table(journal)"),
]


def build(name: str) -> nbformat.NotebookNode:
    """The notebook ``name`` as an nbformat node without outputs."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    for i, spec in enumerate(NOTEBOOKS[name]):
        kind, source = spec[0], spec[1]
        cell = (
            nbformat.v4.new_code_cell(source)
            if kind == "code"
            else nbformat.v4.new_markdown_cell(source)
        )
        cell["id"] = f"{Path(name).stem[:2]}-{i:02d}"
        if len(spec) == 3:
            cell.metadata["tags"] = spec[2]
        nb.cells.append(cell)
    return nb


def render(name: str) -> str:
    """The exact text of notebook ``name`` as committed."""
    return nbformat.writes(build(name)) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    check = "--check" in args
    stale = []
    for name in NOTEBOOKS:
        path = ROOT / "notebooks" / name
        text = render(name)
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
    if stale:
        print("stale notebooks (run python tools/make_notebooks.py):", ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
