"""Notebook components: small plain classes around private ipywidgets (msticpy's pattern).

Each component builds its ipywidgets as ``_w_...`` attributes, exposes a ``value`` property that
returns domain objects, displays itself through ``_ipython_display_``, receives its actions as
injected callables, and carries stable ``tk-...`` CSS classes for browser tests. None of them
calls AWS itself.
"""

from __future__ import annotations

from trailkit.widgets.banner import ConnectionBanner

__all__ = ["ConnectionBanner"]
