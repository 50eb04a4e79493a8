"""Write the runbook notebooks from their cell lists (no outputs), so they stay thin and reviewable.

Run: ``python tools/make_notebooks.py``; a test checks the committed notebooks match.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS: dict[str, list[tuple[str, str] | tuple[str, str, list[str]]]] = {}

NOTEBOOKS["01_encryption_inventory.ipynb"] = [
    ("markdown", "# Encryption inventory\n\nWhich trails are encrypted, with which key, and is "
     "that key healthy? Every region of the account, each trail once.\n\n"
     "Runs on the demo backend unless the kernel was started with real AWS credentials "
     "(`trailkit lab --aws`)."),
    ("code", "profile = None  # AWS profile; None = environment / demo\n"
     "endpoint_url = None  # None = $AWS_ENDPOINT_URL (set by `trailkit lab` for the demo)\n"
     "regions = None  # e.g. [\"us-east-1\", \"eu-west-1\"]; None = every enabled region\n"
     "csv_path = \"trails.csv\"", ["parameters"]),
    ("code", "import trailkit as tk"),
    ("markdown", "## Where am I?"),
    ("code", "conn = tk.connect(profile=profile, endpoint_url=endpoint_url)"),
    ("code", "inventory = tk.scan(conn, regions, progress=\"notebook\")"),
    ("code", "tk.widgets.ConnectionBanner(conn.info(), inventory)"),
    ("markdown", "## Trails\n\nSSE-KMS in green, SSE-S3 in amber; an unusable key or an "
     "error in red."),
    ("code", "trails = tk.tables.trails_frame(inventory)"),
    ("code", "tk.tables.style_trails(trails)"),
    ("markdown", "## Keys in use"),
    ("code", "tk.tables.keys_frame(inventory)"),
    ("markdown", "## Encrypted or not, by home region"),
    ("code", "tk.tables.encryption_by_region(inventory).plot.bar(stacked=True, "
     "color=[\"#2e7d32\", \"#f9a825\"], title=\"Trails by encryption\");"),
    ("markdown", "## Regions or calls that failed (empty when the result is complete)"),
    ("code", "tk.tables.errors_frame(inventory)"),
    ("markdown", "## Export"),
    ("code", "trails.to_csv(csv_path, index=False)"),
]


def build(name: str) -> nbformat.NotebookNode:
    """The notebook ``name`` as an nbformat node without outputs."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                 "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for i, spec in enumerate(NOTEBOOKS[name]):
        kind, source = spec[0], spec[1]
        cell = (nbformat.v4.new_code_cell(source) if kind == "code"
                else nbformat.v4.new_markdown_cell(source))
        cell["id"] = f"{Path(name).stem[:2]}-{i:02d}"
        if len(spec) == 3:
            cell.metadata["tags"] = spec[2]
        nb.cells.append(cell)
    return nb


def main() -> int:
    check = "--check" in sys.argv
    stale = []
    for name in NOTEBOOKS:
        path = ROOT / "notebooks" / name
        text = nbformat.writes(build(name)) + "\n"
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
