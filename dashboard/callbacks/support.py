"""Support view callbacks that are not scenario edits: the downloads (the assignment table as CSV,
the scenario as JSON). The explanation itself is rendered by the one round trip and the tab
callback (:mod:`dashboard.callbacks.scene`); picking a client and importing a scenario write
requests in the browser (:mod:`dashboard.callbacks.widgets`).
"""

from __future__ import annotations

from typing import Any

from dash import Dash, Input, Output, State, no_update
from dash.exceptions import PreventUpdate

from dashboard import ids
from dashboard.catalog import Catalog
from dashboard.services.planned import effective_catalog
from dashboard.domain.exports import safe_csv, scenario_to_json
from dashboard.services.map import assignment_frame
from dashboard.services.scenario import StoreRefused, file_stamp, load_scenario, load_store
from dashboard.settings import Settings


def assignment_download(current: Any, catalog: Catalog, settings: Settings) -> Any:
    """``dcc.Download`` data of the assignment table as CSV (formula-safe), or no_update when the
    scenario has no clients of its own."""
    try:
        loaded = load_scenario(current, catalog, settings)
    except StoreRefused:
        raise PreventUpdate from None
    if not loaded.scenario.clients:
        return no_update
    return {"content": safe_csv(assignment_frame(
                loaded, effective_catalog(catalog, loaded.scenario))),
            "filename": f"anycast-eip-assignment-{file_stamp()}.csv", "type": "text/csv"}


def scenario_download(current: Any, settings: Settings) -> dict:
    """``dcc.Download`` data of the scenario as JSON (as the page holds it)."""
    try:
        scenario = load_store(current, settings.max_clients)
    except StoreRefused:
        raise PreventUpdate from None
    return {"content": scenario_to_json(scenario),
            "filename": f"anycast-eip-scenario-{file_stamp()}.json", "type": "application/json"}


def register(app: Dash, catalog: Catalog, settings: Settings) -> None:
    """Attach the support view's download callbacks to ``app``."""

    @app.callback(Output(ids.TABLE_DOWNLOAD, "data"), Input(ids.EXPORT_TABLE, "n_clicks"),
                  State(ids.SCENARIO, "data"), prevent_initial_call=True)
    def _export_table(_n, current):
        return assignment_download(current, catalog, settings)

    @app.callback(Output(ids.JSON_DOWNLOAD, "data"), Input(ids.EXPORT_JSON, "n_clicks"),
                  State(ids.SCENARIO, "data"), prevent_initial_call=True)
    def _export_json(_n, current):
        return scenario_download(current, settings)
