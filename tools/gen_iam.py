"""Write the IAM policy documents in ``iam/`` from the permissions the code declares.

Every function that calls AWS declares its IAM actions with ``@trailkit.permissions.requires``;
this script imports every trailkit module (so that every declaration is registered) and writes

* ``iam/trailkit-read-only.json``: inventory, check, keys, journal --reconcile (role ``read``);
* ``iam/trailkit-operator.json``: the above plus update, disable, rollback and key-policy repair
  (role ``operate``);
* ``iam/trailkit-member-read-only.json`` and ``iam/trailkit-member-operator.json``: the same for
  the role trailkit assumes in each member account (``--role-name``), without
  ``organizations:ListAccounts`` and ``sts:AssumeRole``, which only the caller needs;
* ``iam/trailkit-member-trust.json``: that role's trust policy, a template naming
  ``arn:aws:iam::MANAGEMENT_ACCOUNT_ID:root`` with an ``sts:ExternalId`` condition
  (``EXTERNAL_ID``; delete the ``Condition`` when no ``--external-id`` is used).

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

#: file name -> (role, member) of :func:`trailkit.permissions.policy_document`
FILES = {
    "trailkit-read-only.json": ("read", False),
    "trailkit-operator.json": ("operate", False),
    "trailkit-member-read-only.json": ("read", True),
    "trailkit-member-operator.json": ("operate", True),
}
#: The member role's trust policy (:func:`trailkit.permissions.member_trust_document`).
TRUST_FILE = "trailkit-member-trust.json"


def load_declarations() -> None:
    """Import every trailkit module so that every ``@requires`` is in the registry."""
    import trailkit

    for module in pkgutil.walk_packages(trailkit.__path__, "trailkit."):
        importlib.import_module(module.name)


def documents() -> dict[str, str]:
    """File name -> the exact text the file must have."""
    load_declarations()
    from trailkit.permissions import member_trust_document, policy_document

    texts = {
        name: json.dumps(policy_document(role, member=member), indent=2) + "\n"
        for name, (role, member) in FILES.items()
    }
    texts[TRUST_FILE] = json.dumps(member_trust_document(), indent=2) + "\n"
    return texts


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
