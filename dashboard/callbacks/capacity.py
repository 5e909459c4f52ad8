"""Capacity view callbacks that are not scenario edits: switching views (in the browser), the
N-1 analysis as a background job with progress and cancel, its table and its CSV export.

(The capacity tab itself is rendered by the one round trip, :mod:`dashboard.callbacks.scene`,
and by its tab callback; its controls write edit requests in the browser.)
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import pandas as pd
from dash import ALL, ClientsideFunction, Dash, Input, Output, State, no_update, set_props
from dash.exceptions import PreventUpdate

from dashboard import ids
from dashboard.catalog import Catalog
from dashboard.services.planned import effective_catalog
from dashboard.domain.exports import safe_csv
from dashboard.figures import capacity as capacity_figures
from dashboard.layout import capacity as capacity_layout
from dashboard.services import capacity
from dashboard.jobs import MESSAGES
from dashboard.services.scenario import StoreRefused, file_stamp, load_scenario
from dashboard.settings import Settings

#: Last progress text of a finished N-1 job: its result is on the way to the table.
DRAWING = "Drawing the results…"
#: The status line the moment Run is clicked (in the browser): the previous run's "Done" and
#: full bar must not stay on screen while the new job starts (~1.6 s until its first poll).
STARTING = "Starting the analysis…"
#: The status line the moment Cancel is clicked: the job store says the same at its next poll
#: (:data:`dashboard.jobs.MESSAGES`), when there is one.
CANCELLED = MESSAGES["cancelled"]


def n1_view(result: Any) -> tuple:
    """(table rows, chart, status line) for a new N-1 result: the status says "Done" in the
    same update as the rows, so the page never says "Done" over an empty table (the job's own
    last progress reaches the page one round trip before the table). A stored result of
    another shape (the store lives in the browser) keeps the panel as it is."""
    if result is None:
        return [], capacity_figures.n1_figure(pd.DataFrame()), no_update
    if not capacity.is_n1_result(result):
        raise PreventUpdate
    return (capacity.n1_rows(result), capacity_figures.n1_figure(pd.DataFrame(result["rows"])),
            capacity.n1_done_text(result))


def n1_failed(exc: Exception) -> None:
    """``on_error`` of the N-1 job: an exception in the job (stored by Dash as the job's
    result) is said in the status line, instead of a 500 that leaves "Runs in the background"
    on screen. The full traceback goes to the server log."""
    logging.getLogger(__name__).error("N-1 job failed: %s", exc)
    first = str(exc).strip().splitlines()
    why = first[0] if first else type(exc).__name__
    why = why.removeprefix("An error occurred inside a background callback: ")[:200]
    set_props(ids.N1_STATUS, {"children": f"The analysis failed: {why}. Run it again; if it "
                                          "fails again, see the server log."})


def n1_export_disabled(result: Any) -> bool:
    """The Download CSV button is disabled until a result with rows exists (before, a click
    silently did nothing)."""
    return not (capacity.is_n1_result(result) and bool(result["rows"]))


def n1_download(result: Any) -> Any:
    """``dcc.Download`` data of the N-1 table as CSV (formula-safe), or no_update."""
    if not capacity.is_n1_result(result) or not result["rows"]:
        return no_update
    return {"content": safe_csv(pd.DataFrame(result["rows"])),
            "filename": f"anycast-eip-n-minus-1-{file_stamp()}.csv", "type": "text/csv"}


def register_planning_inputs(app: Dash) -> None:
    """The instance bandwidth, the spill-over what-if and the cost inputs
    (``assets/capacity_plan.js``): each change writes one edit request; the scenario store
    fills them back (links, undo)."""
    edit = Output(ids.SCENARIO_EDIT, "data", allow_duplicate=True)

    def js(name: str) -> ClientsideFunction:
        return ClientsideFunction(namespace="anycastPlan", function_name=name)

    app.clientside_callback(js("show"), Output(ids.INSTANCE_MBPS, "value"),
                            Output(ids.SPILL_WHATIF, "value"), Input(ids.SCENARIO, "data"),
                            State(ids.INSTANCE_MBPS, "value"), State(ids.SPILL_WHATIF, "value"))
    app.clientside_callback(js("instance"), edit, Input(ids.INSTANCE_MBPS, "value"),
                            State(ids.SCENARIO, "data"), prevent_initial_call=True)
    app.clientside_callback(js("spill"), edit, Input(ids.SPILL_WHATIF, "value"),
                            State(ids.SCENARIO, "data"), prevent_initial_call=True)
    cost = ids.cost_input(ALL)  # type: ignore[arg-type]
    app.clientside_callback(js("costShow"), Output(cost, "value"), Input(ids.SCENARIO, "data"),
                            State(cost, "value"), State(cost, "id"))
    app.clientside_callback(js("cost"), edit, Input(cost, "value"), State(cost, "id"),
                            State(ids.SCENARIO, "data"), prevent_initial_call=True)
    # The announcement what-if (issue 20): one slider per PoP -> a ``bias`` edit; the store
    # fills them back (links, undo, the reset).
    bias = ids.bias_slider(ALL)  # type: ignore[arg-type]
    app.clientside_callback(js("biasShow"), Output(bias, "value"), Input(ids.SCENARIO, "data"),
                            State(bias, "value"), State(bias, "id"))
    app.clientside_callback(js("bias"), edit, Input(bias, "value"), State(bias, "id"),
                            State(ids.SCENARIO, "data"), prevent_initial_call=True)
    app.clientside_callback(js("biasReset"), edit, Input(ids.BIAS_RESET, "n_clicks"),
                            prevent_initial_call=True)


def register(app: Dash, catalog: Catalog, settings: Settings) -> None:
    """Attach the view switch, the planning inputs and the N-1 callbacks to ``app``."""
    register_planning_inputs(app)
    app.clientside_callback(
        """function (view) {
            return [view !== 'map', view !== 'capacity', view !== 'support'];
        }""",
        Output(ids.PANEL_MAP, "hidden"), Output(ids.PANEL_CAPACITY, "hidden"),
        Output(ids.PANEL_SUPPORT, "hidden"), Input(ids.VIEW_TABS, "value"))

    # Run / Cancel say so at once, in the browser (the job's first poll comes ~0.5-1.6 s later).
    app.clientside_callback(
        f"""function (n) {{
            if (!n) {{ return [window.dash_clientside.no_update,
                              window.dash_clientside.no_update]; }}
            return ['0', {json.dumps(STARTING)}];
        }}""",
        Output(ids.N1_PROGRESS, "value", allow_duplicate=True),
        Output(ids.N1_STATUS, "children", allow_duplicate=True),
        Input(ids.N1_RUN, "n_clicks"), prevent_initial_call=True)
    app.clientside_callback(
        f"""function (n) {{
            if (!n) {{ return [window.dash_clientside.no_update,
                              window.dash_clientside.no_update]; }}
            return ['0', {json.dumps(CANCELLED)}];
        }}""",
        Output(ids.N1_PROGRESS, "value", allow_duplicate=True),
        Output(ids.N1_STATUS, "children", allow_duplicate=True),
        Input(ids.N1_CANCEL, "n_clicks"), prevent_initial_call=True)

    @app.callback(
        Output(ids.N1_RESULT, "data"),
        Input(ids.N1_RUN, "n_clicks"), State(ids.SCENARIO, "data"),
        background=True,
        progress=[Output(ids.N1_PROGRESS, "value"), Output(ids.N1_STATUS, "children")],
        running=[(Output(ids.N1_RUN, "disabled"), True, False),
                 (Output(ids.N1_CANCEL, "disabled"), False, True)],
        cancel=[Input(ids.N1_CANCEL, "n_clicks")],
        interval=500,
        on_error=n1_failed,
        prevent_initial_call=True)
    def _n1(set_progress, _n, current):
        try:
            loaded = load_scenario(current, catalog, settings)
        except StoreRefused:
            raise PreventUpdate from None
        last = [0.0]

        def report(fraction: float, text: str) -> None:
            now = time.monotonic()
            if now - last[0] > 0.25 or fraction >= 1:  # a few writes per second at most
                last[0] = now
                set_progress((str(round(100 * fraction)), text))

        # N-1 over the effective catalog: planned PoPs fail one at a time like the others
        result = capacity.run_n1(loaded, effective_catalog(catalog, loaded.scenario), report)
        # Not "Done" yet: the result reaches the page with this poll, and the table is drawn
        # one round trip later by _n1_view, which then says "Done".
        set_progress(("100", DRAWING))
        return result

    # The status line is also a progress output of _n1, but progress outputs are side updates
    # of the background callback's polls (not registered outputs), so this callback may write it.
    @app.callback(Output(ids.N1_TABLE, "data"), Output(ids.N1_CHART, "figure"),
                  Output(ids.N1_STATUS, "children"),
                  Output(ids.N1_NOTE, "children", allow_duplicate=True),
                  Output(ids.N1_EXPORT, "disabled"),
                  Input(ids.N1_RESULT, "data"), State(ids.SCENARIO, "data"),
                  prevent_initial_call=True)
    def _n1_view(result, current):
        try:
            note = capacity_layout.render_n1_note(
                capacity.n1_note(result, load_scenario(current, catalog, settings)))
        except StoreRefused:
            note = no_update
        return (*n1_view(result), note, n1_export_disabled(result))

    @app.callback(Output(ids.N1_DOWNLOAD, "data"), Input(ids.N1_EXPORT, "n_clicks"),
                  State(ids.N1_RESULT, "data"), prevent_initial_call=True)
    def _n1_csv(_n, result):
        return n1_download(result)
