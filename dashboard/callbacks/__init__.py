"""Callback registration: each concern has a ``register(app, ...)`` that uses ``app.callback``.

``@dash.callback`` would register into a process-global list consumed by the first app created,
so a second app (every test builds its own) would silently have no callbacks.

- :mod:`scene`: the one server round trip of a user action on the scenario, and the tab callback;
- :mod:`widgets`: widgets -> edit requests, in the browser (plus city search options, share link);
- :mod:`capacity`: the view switch and the N-1 background job;
- :mod:`siting`: where to add a PoP (a background job) and its "add it" buttons;
- :mod:`support`: the downloads;
- :mod:`provider`: the Provider panel (the operator's live Anycast EIPs; never the scenario);
- :mod:`capacity_story`: the capacity story's buttons (clientside).
"""

from __future__ import annotations

from dash import Dash

from dashboard.callbacks import (capacity, capacity_story, provider, scene, siting, support,
                                 widgets)
from dashboard.catalog import Catalog
from dashboard.settings import Settings


def register(app: Dash, catalog: Catalog, settings: Settings) -> None:
    """Attach every callback of the dashboard to ``app``."""
    scene.register(app, catalog, settings)
    widgets.register(app, catalog, settings)
    capacity.register(app, catalog, settings)
    siting.register(app, catalog, settings)
    support.register(app, catalog, settings)
    provider.register(app, catalog, settings)
    capacity_story.register(app, catalog, settings)
