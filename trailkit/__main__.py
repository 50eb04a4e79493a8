"""``python -m trailkit``."""

from __future__ import annotations

import sys

from trailkit.ui.cli import main

if __name__ == "__main__":
    sys.exit(main())
