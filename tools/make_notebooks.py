"""Write the runbook notebooks from their cell lists (no outputs), so they stay thin and reviewable.

Run: ``python tools/make_notebooks.py``; ``--check`` exits 1 when a committed notebook differs
from what would be written (a test runs it).

Rules for every notebook: the first code cell is tagged ``parameters`` (papermill), then about
one package call per cell; no boto3, no loops, no function definitions, no lambdas. Whatever
orchestration a notebook needs lives in ``trailkit.ui.notebook`` and ``trailkit.ui.widgets``.

Language: every notebook has a ``lang`` parameter (``-p lang ja``); the cell after the imports
chooses it (``prose.use_language(lang)``), and the notebook's prose is shown by one call per
section (``prose.show("guided-update.intro")``), whose texts are gettext messages in
``trailkit/ui/prose.py``. The one Markdown cell, the title at the top, is written here in both
languages from the title's message and its translation in the catalogue (so a notebook opened
without running it still says what it is): a changed translation makes ``--check`` fail until
the notebooks are written again.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
# This checkout's trailkit (its prose and catalogue), whatever is installed.
sys.path.insert(0, str(ROOT))

from trailkit.ui.prose import SECTIONS, bilingual_title  # noqa: E402

Cell = tuple[str, str] | tuple[str, str, list[str]]
NOTEBOOKS: dict[str, list[Cell]] = {}

_IMPORTS = "import trailkit as tk\nfrom trailkit.ui import notebook, prose"
# Right after the imports, before any widget labels itself: the language of every text below.
_LANG = (
    "# the language of every text below: lang, else $TRAILKIT_LANG, else the locale\n"
    "prose.use_language(lang)"
)
_LANG_PARAM = "lang = None  # ja or en; None: $TRAILKIT_LANG, else the locale"


def _show(key: str) -> Cell:
    """The cell that shows the prose section ``key`` in the notebook's language."""
    if key not in SECTIONS:
        raise KeyError(f"no section {key!r} in trailkit/ui/prose.py")
    return ("code", f'prose.show("{key}")')


def _title(notebook: str) -> Cell:
    """The title cell: the one Markdown cell, in every language (from the catalogue)."""
    return ("markdown", bilingual_title(notebook))


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
# How a trail of another account (given by ARN) is reached (issue 16): `--role-name` and
# `--external-id` on the command line.
_ROLES = (
    "role_name = None  # the role assumed in another account's trail (by ARN); None: "
    "OrganizationAccountAccessRole\n"
    "external_id = None  # the external id that role's trust policy asks for; None: none"
)
_ROLE_ARGS = "role_name=role_name, external_id=external_id"
# The delivery proof after apply (issue 17): how long it waits for CloudTrail's first log file
# after the change (`trailkit verify --wait`); read strictly before anything is sent.
_VERIFY_WAIT = (
    'verify_wait = None  # how long the delivery proof waits for a log file after apply: "90s", '
    '"15m", "1h"; "0" looks once; None: 1m on the demo, 15m on AWS'
)
_WAIT = (
    "# the delivery proof's wait, read strictly before anything is sent\n"
    "verify_seconds = notebook.wait_seconds(verify_wait)"
)
_WHERE = (
    "journal_path = None  # None: $TRAILKIT_JOURNAL, else the user data directory "
    "(the demo: its own demo-journal.jsonl)\n"
    "endpoint_url = None  # None: $AWS_ENDPOINT_URL (set by `trailkit lab` for the demo)\n"
    "profile = None  # AWS profile; None: environment / demo"
)

# Which accounts notebook 01 reads, and how it reaches them (issue 16): the options of
# `trailkit inventory` of the same names. None is "not given"; an empty value is refused
# (never "every account" nor "none"); see trailkit.ui.notebook.account_choice.
_ACCOUNT_PARAMS = (
    "org = False  # True: every active account of the organization (organizations:ListAccounts,"
    " from the management or a delegated administrator account)\n"
    'accounts = None  # these accounts: ["111122223333", "444455556666"], '
    '"111122223333,444455556666" or "@accounts.txt"; None: only yours (unless org)\n'
    "exclude_accounts = None  # leave these accounts out (the same forms); None: none\n"
    "role_name = None  # the role assumed in every other account; None: "
    "OrganizationAccountAccessRole (AWS Control Tower: AWSControlTowerExecution)\n"
    "external_id = None  # the external id the role's trust policy asks for; None: none"
)
_ORG_RUNBOOK = (
    "# reads your account directly, every other one through role_name (nothing is written)\n"
    "book = notebook.org_runbook(conn, role_name=role_name, external_id=external_id)"
)

NOTEBOOKS["01_encryption_inventory.ipynb"] = [
    _title("encryption-inventory"),
    (
        "code",
        "profile = None  # AWS profile; None: environment / demo\n"
        "endpoint_url = None  # None: $AWS_ENDPOINT_URL (set by `trailkit lab` for the demo)\n"
        'regions = None  # e.g. ["us-east-1", "eu-west-1"]; None: every enabled region\n'
        f"{_ACCOUNT_PARAMS}\n"
        'csv_path = "trails.csv"\n'
        f"{_LANG_PARAM}",
        ["parameters"],
    ),
    ("code", _IMPORTS),
    ("code", _LANG),
    _show("encryption-inventory.intro"),
    ("code", _FLAGS.format("org=org")),
    _show("encryption-inventory.where"),
    ("code", _CONNECT),
    ("code", _ORG_RUNBOOK),
    (
        "code",
        "inventory = notebook.org_inventory(book, regions, org=org, accounts=accounts, "
        "exclude_accounts=exclude_accounts)",
    ),
    ("code", "tk.widgets.ConnectionBanner(conn.info(), inventory)"),
    _show("encryption-inventory.health"),
    ("code", "tk.widgets.HealthSummary(inventory)"),
    _show("encryption-inventory.accounts"),
    ("code", "tk.widgets.AccountSummary(inventory)"),
    _show("encryption-inventory.trails"),
    ("code", "tk.widgets.TrailsTable(inventory)"),
    _show("encryption-inventory.explore"),
    ("code", "notebook.trail_explorer(book, inventory)"),
    _show("encryption-inventory.keys"),
    ("code", "tk.tables.keys_frame(inventory)"),
    _show("encryption-inventory.chart"),
    ("code", "notebook.encryption_chart(inventory)"),
    _show("encryption-inventory.errors"),
    ("code", "tk.tables.errors_frame(inventory)"),
    _show("encryption-inventory.export"),
    ("code", "tk.tables.trails_frame(inventory).to_csv(csv_path, index=False)"),
]

NOTEBOOKS["02_guided_update.ipynb"] = [
    _title("guided-update"),
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
        f"{_VERIFY_WAIT}\n"
        f"{_READERS}\n"
        f"{_ROLES}\n"
        f"{_WHERE}\n"
        "regions = None  # where to look for trails; None: every enabled region\n"
        f"{_LANG_PARAM}",
        ["parameters"],
    ),
    ("code", _IMPORTS),
    ("code", _LANG),
    _show("guided-update.intro"),
    (
        "code",
        _FLAGS.format(
            "apply=apply, rollback=rollback, repair_policy=repair_policy, "
            "accept_unverifiable=accept_unverifiable"
        ),
    ),
    ("code", _WAIT),
    ("code", _CONNECT),
    ("code", _JOURNAL),
    (
        "code",
        "guided = notebook.guided_update(conn, journal, regions=regions, "
        f"reader_accounts=reader_accounts, {_ROLE_ARGS})",
    ),
    ("code", "guided"),
    (
        "code",
        "# headless: choose the trail and the key (shows the checklist and the plan; first a\n"
        "# warning when the trail's current encryption is broken, with why and what to do)\n"
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
        "# headless: after apply=True, prove that the log and digest files CloudTrail delivers\n"
        "# from now on carry the new encryption (waits up to verify_wait; recorded in the journal)\n"
        "guided.prove_delivery(verify_seconds)",
    ),
    (
        "code",
        "# the change as code for the chosen trail and key, for the stack that owns them\n"
        "# (CloudFormation, Terraform, CDK): the same values as the plan and the key policy repair\n"
        "guided.change_as_code()",
    ),
    (
        "code",
        "# headless: roll back when rollback=True\nguided.rollback(rollback, accept_unverifiable)",
    ),
]

NOTEBOOKS["03_key_policy.ipynb"] = [
    _title("key-policy"),
    (
        "code",
        "# Interactive: pick the trail and the key in the view below (these are the first choice).\n"
        "# Headless: papermill 03_key_policy.ipynb out.ipynb -p key alias/no-cloudtrail "
        "-p apply True\n"
        'key = "alias/no-cloudtrail"  # the key (demo example)\n'
        'trails = ["org-trail"]  # the trails that should use it (demo example)\n'
        "apply = False  # send the repaired policy\n"
        f"{_READERS}\n"
        f"{_ROLES}\n"
        f"{_WHERE}\n"
        "regions = None  # where to look for trails; None: every enabled region\n"
        f"{_LANG_PARAM}",
        ["parameters"],
    ),
    ("code", _IMPORTS),
    ("code", _LANG),
    _show("key-policy.intro"),
    ("code", _FLAGS.format("apply=apply")),
    ("code", _CONNECT),
    ("code", _JOURNAL),
    _show("key-policy.choose"),
    (
        "code",
        "panel = notebook.key_policy_view(conn, journal, key, trails, regions=regions, "
        f"reader_accounts=reader_accounts, {_ROLE_ARGS})",
    ),
    ("code", "panel"),
    _show("key-policy.apply"),
    ("code", "panel.apply(apply)"),
    _show("key-policy.after"),
    (
        "code",
        "notebook.check_trails(conn, panel.trail_names, panel.key, "
        "reader_accounts=reader_accounts, after=panel)",
    ),
]

NOTEBOOKS["04_bulk_update.ipynb"] = [
    _title("bulk-update"),
    (
        "code",
        '# trails and keys below are demo examples\ntrails = ["org-trail", "stale-key-trail", '
        '"tokyo-trail"]  # names or ARNs (a trail of another account: its ARN)\n'
        'keys_by_region = {"us-east-1": "alias/cloudtrail-good", '
        '"us-west-2": "alias/cloudtrail-good-usw2"}  # bucket region to key; with several '
        'accounts also "ACCOUNT/REGION" (id or name) for one account\'s trails there\n'
        "apply = False  # send the ready plans\n"
        "accept_unverifiable = False  # also send a plan some of whose checks could not be verified (--accept-unverifiable)\n"
        f"{_VERIFY_WAIT}\n"
        f"{_READERS}\n"
        f"{_ACCOUNT_PARAMS}\n"
        f"{_WHERE}\n"
        "regions = None  # where to look for trails; None: every enabled region\n"
        f"{_LANG_PARAM}",
        ["parameters"],
    ),
    ("code", _IMPORTS),
    ("code", _LANG),
    _show("bulk-update.intro"),
    ("code", _FLAGS.format("apply=apply, accept_unverifiable=accept_unverifiable, org=org")),
    ("code", _WAIT),
    ("code", _CONNECT),
    ("code", _JOURNAL),
    (
        "code",
        "# reads and changes your account directly, every other one through role_name\n"
        "book = notebook.runbook(conn, journal, reader_accounts=reader_accounts, "
        f"{_ROLE_ARGS})",
    ),
    (
        "code",
        "inventory = notebook.org_inventory(book, regions, org=org, accounts=accounts, "
        "exclude_accounts=exclude_accounts)",
    ),
    ("code", "tk.widgets.ConnectionBanner(conn.info(), inventory)"),
    _show("bulk-update.choose"),
    ("code", "bulk = notebook.bulk_update(book, inventory=inventory)"),
    ("code", "bulk"),
    (
        "code",
        "# headless: select the trails and keys of the parameters and plan\n"
        "bulk.choose(trails, keys_by_region)",
    ),
    _show("bulk-update.apply"),
    ("code", "bulk.apply(apply, accept_unverifiable)"),
    (
        "code",
        "# the delivery proof of every trail changed above (recorded in the journal); its bar\n"
        "# follows the wait (interrupt the kernel to stop waiting); its Prove delivery button\n"
        "# proves them again in the background, with a Cancel button\n"
        "notebook.prove_applied(book, bulk, verify_seconds)",
    ),
]

NOTEBOOKS["05_change_journal.ipynb"] = [
    _title("change-journal"),
    (
        "code",
        "rollback_change = None  # a change id from the table, to roll back\n"
        "accept_unverifiable = False  # also send a plan some of whose checks could not be verified (--accept-unverifiable)\n"
        f"{_ROLES}\n"
        f"{_WHERE}\n"
        f"{_LANG_PARAM}",
        ["parameters"],
    ),
    ("code", _IMPORTS),
    ("code", _LANG),
    _show("change-journal.intro"),
    ("code", _CONNECT),
    ("code", _JOURNAL),
    ("code", f"view = notebook.journal_view(conn, journal, {_ROLE_ARGS})"),
    ("code", "view"),
    _show("change-journal.rollback"),
    ("code", "view.rollback(rollback_change, accept_unverifiable)"),
    _show("change-journal.table"),
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
