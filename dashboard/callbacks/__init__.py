"""Callback registration: each concern has a ``register(app, ...)`` that uses ``app.callback``.

``@dash.callback`` would register into a process-global list consumed by the first app created,
so a second app (every test builds its own) would silently have no callbacks.
"""

from __future__ import annotations

from dash import Dash

from dashboard.callbacks import capacity, failover, model, results, scenario, support
from dashboard.catalog import Catalog
from dashboard.settings import Settings


def register(app: Dash, catalog: Catalog, settings: Settings) -> None:
    """Attach every callback of the dashboard to ``app``."""
    # Concern modules: scenario (URL <-> state, input widgets), results (map, table, charts).
    # Later concerns (failover, capacity, support) add a module and a line here.
    scenario.register(app, catalog, settings)
    results.register(app, catalog, settings)
    failover.register(app, catalog, settings)
    capacity.register(app, catalog, settings)
    support.register(app, catalog, settings)
    model.register(app, catalog, settings)
