"""Support view callbacks that are not scenario edits: the downloads (the assignment table as CSV,
the scenario as JSON) and the observations that only show evidence (a pasted traceroute's
evidence panel, measured RTTs beside the model; "Use as observed PoP" is an edit request written
in the browser, ``observeTrace`` in ``assets/edits.js``). The explanation itself is rendered by the one round trip and the tab
callback (:mod:`dashboard.callbacks.scene`); picking a client and importing a scenario write
requests in the browser (:mod:`dashboard.callbacks.widgets`).
"""

from __future__ import annotations

from typing import Any

from dash import Dash, Input, Output, State, ctx, html, no_update
from dash.exceptions import PreventUpdate

from dashboard import ids
from dashboard.catalog import Catalog
from dashboard.services.planned import effective_catalog
from dashboard.domain.exports import safe_csv, scenario_to_json
from dashboard.services.map import assignment_frame
from dashboard.layout.support import render_measured, render_trace
from dashboard.services.observe import measured_view, trace_view, upload_text
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


def trace_panel(text: Any, index: Any, current: Any, catalog: Catalog,
                settings: Settings) -> list:
    """The evidence panel of a pasted traceroute for the picked client (a refused store: a
    message, nothing else)."""
    try:
        loaded = load_scenario(current, catalog, settings)
    except StoreRefused as exc:
        return [html.P(f"The scenario could not be read: {exc}", className="hint")]
    return render_trace(trace_view(text, index, loaded, catalog))


def measured_panel(text: Any, upload: Any, from_upload: bool, current: Any, catalog: Catalog,
                   settings: Settings) -> list:
    """Measured vs modelled for a pasted or uploaded CSV (the upload's size is checked before
    it is decoded)."""
    if from_upload:
        try:
            text = upload_text(upload)
        except ValueError as exc:
            return [html.P(f"Measured RTTs: the upload is {exc}; nothing was read.",
                           className="hint")]
    try:
        loaded = load_scenario(current, catalog, settings)
    except StoreRefused as exc:
        return [html.P(f"The scenario could not be read: {exc}", className="hint")]
    return render_measured(measured_view(text, loaded, catalog))


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

    @app.callback(Output(ids.TRACE_RESULT, "children"), Input(ids.TRACE_ANALYSE, "n_clicks"),
                  State(ids.TRACE_TEXT, "value"), State(ids.EXPLAIN_CLIENT, "value"),
                  State(ids.SCENARIO, "data"), prevent_initial_call=True)
    def _analyse_trace(_n, text, index, current):
        return trace_panel(text, index, current, catalog, settings)

    @app.callback(Output(ids.MEASURED_RESULT, "children"),
                  Output(ids.MEASURED_UPLOAD, "contents"),
                  Input(ids.MEASURED_COMPARE, "n_clicks"), Input(ids.MEASURED_UPLOAD, "contents"),
                  State(ids.MEASURED_TEXT, "value"), State(ids.SCENARIO, "data"),
                  prevent_initial_call=True)
    def _compare_measured(_n, upload, text, current):
        from_upload = ctx.triggered_id == ids.MEASURED_UPLOAD
        if from_upload and not upload:
            raise PreventUpdate
        return measured_panel(text, upload, from_upload, current, catalog, settings), None
