"""Write the IAM policy documents in ``iam/`` from the permissions the code declares.

Every function that calls AWS declares its IAM actions with ``@trailkit.permissions.requires``;
this script imports every trailkit module (so that every declaration is registered) and writes

* ``iam/trailkit-read-only.json``: inventory, check, keys, journal --reconcile (role ``read``);
* ``iam/trailkit-operator.json``: the above plus update, disable, rollback and key-policy repair
  (role ``operate``).

Run ``python tools/gen_iam.py`` after changing a declaration; ``--check`` exits 1 when a file is
missing or stale (``tests/test_iam.py`` runs the same comparison).
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IAM_DIR = ROOT / "iam"

#: file name -> role of :func:`trailkit.permissions.policy_document`
FILES = {
    "trailkit-read-only.json": "read",
    "trailkit-operator.json": "operate",
}


def load_declarations() -> None:
    """Import every trailkit module so that every ``@requires`` is in the registry."""
    import trailkit

    for module in pkgutil.walk_packages(trailkit.__path__, "trailkit."):
        importlib.import_module(module.name)


def documents() -> dict[str, str]:
    """File name -> the exact text the file must have."""
    load_declarations()
    from trailkit.permissions import policy_document

    return {
        name: json.dumps(policy_document(role), indent=2) + "\n" for name, role in FILES.items()
    }


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for name, text in documents().items():
        path = IAM_DIR / name
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        if check:
            stale.append(name)
            continue
        IAM_DIR.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
    if stale:
        print(f"stale: {', '.join(stale)}; run python tools/gen_iam.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
