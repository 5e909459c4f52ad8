"""Dash layout, one module per view: component factories only (no callbacks, no computation).

- :mod:`~dashboard.layout.shell`: the page (header, stores, sidebar, view tabs, panels)
- :mod:`~dashboard.layout.map`: the map view (sidebar controls, map card, assignment table)
- :mod:`~dashboard.layout.capacity`: the capacity view
- :mod:`~dashboard.layout.support`: the support view (explanations, share and export)
- :mod:`~dashboard.layout.model`: the sidebar's latency model panel
- :mod:`~dashboard.layout.components`: shared pieces (``kpi``, the table style, sections)
"""

from dashboard.layout.shell import build_layout

__all__ = ["build_layout"]
