"""The capacity story's buttons (issue 17), all clientside (``assets/capacity_story.js``): the
demand prompt's "Scale demand" writes one ``demand_fit`` edit request (one server round trip: the
scene callback resolves and applies it, :mod:`dashboard.callbacks.scene`), "Download PNG" and
"Print summary" run in the browser only (no request)."""

from __future__ import annotations

from dash import ALL, ClientsideFunction, Dash, Input, Output

from dashboard import ids
from dashboard.catalog import Catalog
from dashboard.settings import Settings


def _js(name: str) -> ClientsideFunction:
    return ClientsideFunction(namespace="anycastStory", function_name=name)


def register(app: Dash, catalog: Catalog, settings: Settings) -> None:
    """Attach the story's three clientside callbacks to ``app``."""
    app.clientside_callback(_js("demandFit"),
                            Output(ids.SCENARIO_EDIT, "data", allow_duplicate=True),
                            Input(ids.demand_fit(ALL), "n_clicks"),  # type: ignore[arg-type]
                            prevent_initial_call=True)
    app.clientside_callback(_js("png"), Output(ids.STORY_STATUS, "children"),
                            Input(ids.STORY_PNG, "n_clicks"), prevent_initial_call=True)
    app.clientside_callback(_js("print"),
                            Output(ids.STORY_STATUS, "children", allow_duplicate=True),
                            Input(ids.STORY_PRINT, "n_clicks"), prevent_initial_call=True)
