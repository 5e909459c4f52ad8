"""Callbacks of "Where to add a PoP" (issue 20.2): the ranking as a background job with progress
and cancel (the N-1 job's machinery: :mod:`dashboard.jobs`, Celery when ``REDIS_URL`` is set),
its table, greedy line, note and map, and the "add it" buttons, which write an ``add-planned``
edit request in the browser (the one round trip, :mod:`dashboard.callbacks.scene`, applies it).
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from dash import ALL, Dash, Input, Output, State, no_update, set_props
from dash.exceptions import PreventUpdate

from dashboard import ids
from dashboard.catalog import Catalog
from dashboard.figures.siting import siting_map_figure
from dashboard.jobs import MESSAGES
from dashboard.layout import siting as siting_layout
from dashboard.services import siting
from dashboard.services.scenario import StoreRefused, load_scenario
from dashboard.settings import Settings

STARTING = "Starting the ranking…"
DRAWING = "Drawing the results…"
CANCELLED = MESSAGES["cancelled"]


def siting_failed(exc: Exception) -> None:
    """``on_error`` of the job: the failure is said in the status line (full traceback in the
    server log), never a 500 that leaves "Runs in the background" on screen."""
    logging.getLogger(__name__).error("where-to-add job failed: %s", exc)
    first = str(exc).strip().splitlines()
    why = first[0] if first else type(exc).__name__
    why = why.removeprefix("An error occurred inside a background callback: ")[:200]
    set_props(ids.SITING_STATUS, {"children": f"The ranking failed: {why}. Run it again; if "
                                              "it fails again, see the server log."})


#: Store fields a ranking depends on (``Scenario.to_dict()`` names; ``planned`` and ``bias`` are
#: issue 20's other parts): the browser compares them with the ones the job ran on.
STALE_KEYS = ("clients", "origin", "down", "mappings", "endpoints_down", "demand_source",
              "demand_scale", "model", "policy", "access", "planned", "bias")
STALE_TEXT = ("The scenario changed since this ranking: run it again to update it "
              "(the table shows the ranking of the scenario as it was).")


def run(current: Any, sites_text: Any, catalog: Catalog, settings: Settings,
        report: siting.ProgressFn | None = None) -> dict:
    """The job's work: the scenario's ranking against the metros, or against the user's list
    when the text box has one. A bad list is answered as a result with ``error`` (said in the
    status line), not an exception."""
    loaded = load_scenario(current, catalog, settings)
    cands = None
    if isinstance(sites_text, str) and sites_text.strip():
        try:
            cands = siting.parse_sites(sites_text)
        except ValueError as exc:
            return {"error": str(exc)[:300]}
    result = siting.for_scenario(loaded, catalog, cands, progress=report)
    parts = {k: current.get(k) for k in STALE_KEYS} if isinstance(current, dict) else {}
    return {**result, "store_parts": parts}


def outputs(result: Any, current: Any, catalog: Catalog, settings: Settings) -> tuple:
    """(table, greedy line, note, map figure, status line) for a stored result."""
    if isinstance(result, dict) and isinstance(result.get("error"), str):
        return "", "", "", no_update, f"Not ranked: {result['error']}"
    try:
        loaded = load_scenario(current, catalog, settings)
    except StoreRefused:
        loaded = None
    view = siting.view(result, loaded)
    if view is None:
        raise PreventUpdate
    ps = (siting.pop_set(catalog, loaded.origin_id, loaded.down,
                         planned=getattr(loaded.scenario, "planned", ()) or ())
          if loaded is not None else None)
    fig = siting_map_figure(ps.ids if ps else catalog.pop_ids,
                            ps.lats if ps else catalog.pop_lats,
                            ps.lons if ps else catalog.pop_lons, view.rows, result["greedy"])
    done = (f"Done: {len(view.rows)} best of {int(result.get('candidates') or 0):,} sites "
            f"in {result.get('seconds')} s." if view.rows else "Done: nothing to rank.")
    return (siting_layout.render_table(view), view.greedy_text,
            siting_layout.render_note(view), fig, done)


#: Clientside: the clicked row's ``add-planned`` request (from the stored result) -> the edit
#: store. Only a real click (n_clicks > 0) of a row that exists writes one.
ADD_IT_JS = """function (clicks, result) {
    var nu = window.dash_clientside.no_update;
    var ctx = window.dash_clientside.callback_context;
    if (!ctx || !ctx.triggered || !ctx.triggered.length || !ctx.triggered[0].value) {
        return nu;
    }
    var t = ctx.triggered_id;
    if (!t || typeof t.index !== 'number' || !result || !Array.isArray(result.rows)) {
        return nu;
    }
    var row = result.rows[t.index];
    if (!row || !row.edit || row.edit.op !== %s) { return nu; }
    return Object.assign({nonce: Date.now() + Math.random()}, row.edit);
}""" % json.dumps("add-planned")


#: Clientside: on every scenario change, whether the stored ranking still describes it (the
#: store fields of :data:`STALE_KEYS`, compared as the browser serialises them; the clients
#: only count when they are the demand). No request.
STALE_JS = """function (store, result) {
    if (!result || !result.store_parts || !Array.isArray(result.rows)) { return ''; }
    var keys = %s, s = store || {}, p = result.store_parts;
    var population = (s.demand_source || 'clients') === 'population';
    for (var i = 0; i < keys.length; i++) {
        var k = keys[i];
        if (k === 'clients' && population) { continue; }
        var a = JSON.stringify(s[k] === undefined ? null : s[k]);
        var b = JSON.stringify(p[k] === undefined ? null : p[k]);
        if (a !== b) { return %s; }
    }
    return '';
}""" % (json.dumps(list(STALE_KEYS)), json.dumps(STALE_TEXT))


def register(app: Dash, catalog: Catalog, settings: Settings) -> None:
    """Attach the job, its view and the "add it" buttons to ``app``."""
    for button, text in ((ids.SITING_RUN, STARTING), (ids.SITING_CANCEL, CANCELLED)):
        app.clientside_callback(
            f"""function (n) {{
                if (!n) {{ return [window.dash_clientside.no_update,
                                  window.dash_clientside.no_update]; }}
                return ['0', {json.dumps(text)}];
            }}""",
            Output(ids.SITING_PROGRESS, "value", allow_duplicate=True),
            Output(ids.SITING_STATUS, "children", allow_duplicate=True),
            Input(button, "n_clicks"), prevent_initial_call=True)

    @app.callback(
        Output(ids.SITING_RESULT, "data"),
        Input(ids.SITING_RUN, "n_clicks"), State(ids.SCENARIO, "data"),
        State(ids.SITING_SITES, "value"),
        background=True,
        progress=[Output(ids.SITING_PROGRESS, "value"), Output(ids.SITING_STATUS, "children")],
        running=[(Output(ids.SITING_RUN, "disabled"), True, False),
                 (Output(ids.SITING_CANCEL, "disabled"), False, True)],
        cancel=[Input(ids.SITING_CANCEL, "n_clicks")],
        interval=500,
        on_error=siting_failed,
        prevent_initial_call=True)
    def _siting(set_progress, _n, current, sites_text):
        last = [0.0]

        def report(fraction: float, text: str) -> None:
            now = time.monotonic()
            if now - last[0] > 0.25 or fraction >= 1:
                last[0] = now
                set_progress((str(round(100 * fraction)), text))

        try:
            result = run(current, sites_text, catalog, settings, report)
        except StoreRefused:
            raise PreventUpdate from None
        set_progress(("100", DRAWING))
        return result

    @app.callback(Output(ids.SITING_TABLE, "children"), Output(ids.SITING_GREEDY, "children"),
                  Output(ids.SITING_NOTE, "children"), Output(ids.SITING_MAP, "figure"),
                  Output(ids.SITING_STATUS, "children"),
                  Input(ids.SITING_RESULT, "data"), State(ids.SCENARIO, "data"),
                  prevent_initial_call=True)
    def _siting_view(result, current):
        return outputs(result, current, catalog, settings)

    app.clientside_callback(STALE_JS, Output(ids.SITING_STALE, "children"),
                            Input(ids.SCENARIO, "data"), Input(ids.SITING_RESULT, "data"))
    app.clientside_callback(ADD_IT_JS,
                            Output(ids.SCENARIO_EDIT, "data", allow_duplicate=True),
                            Input(ids.siting_add(ALL), "n_clicks"),  # type: ignore[arg-type]
                            State(ids.SITING_RESULT, "data"), prevent_initial_call=True)
