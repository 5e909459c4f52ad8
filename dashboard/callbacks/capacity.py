"""Capacity planning view: demand/capacity controls -> scenario edits; scenario -> load, spill-over,
utilisation, catchments; the N-1 analysis as a background callback with progress and cancel.

Handlers are plain functions of plain values (tests call them without a browser); the callbacks
registered in :func:`register` only adapt them.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from datetime import datetime, timezone
from typing import Any, Callable

import pandas as pd
from dash import Dash, Input, Output, State, ctx, html, no_update, set_props
from dash.exceptions import PreventUpdate

from dashboard import ids
from dashboard.figures import capacity as capacity_figures
from dashboard.services import capacity as svc
from dashboard.callbacks.scenario import (edit, file_stamp, json_number, resolve_origin,
                                         scenario_from_store)
from dashboard.catalog import Catalog
from dashboard.domain.clients import MAX_CLIENTS
from dashboard.domain.exports import safe_csv
from dashboard.domain.scenario import DEFAULT_POPULATION_GBPS, DEMAND_SOURCES, Scenario
from dashboard.layout.capacity import capacity_controls
from dashboard.settings import Settings



def _kpi(label: str, value: str, hint: str = "", level: str = "") -> html.Div:
    return html.Div(className=f"kpi {level}".strip(), title=hint,
                    children=[html.Div(value, className="kpi-value"),
                              html.Div(label, className="kpi-label")])


def _gbps(v: float) -> str:
    return f"{v:,.2f} Gbps" if v < 100 else f"{v:,.0f} Gbps"


# -- the view ---------------------------------------------------------------------------------------

def capacity_rows(table: pd.DataFrame) -> list[dict]:
    """Rows of the utilisation table (``id`` = PoP id; Gbps, utilisation in %)."""
    rows = []
    for r in table.itertuples(index=False):
        rows.append({
            "id": r.pop_id, "pop_id": r.pop_id + ("" if r.up else " (down)"), "city": r.city,
            "up": bool(r.up), "capacity_gbps": json_number(r.capacity_gbps, 6),
            "capacity_source": r.capacity_source, "clients": int(r.clients),
            "nominal_gbps": json_number(r.nominal_gbps, 6),
            "served_gbps": json_number(r.served_gbps, 6),
            "utilisation_pct": json_number(100 * r.utilisation, 1),
            "spilled_out_gbps": json_number(max(r.spilled_out_gbps, 0.0), 6),
            "spilled_in_gbps": json_number(max(r.spilled_in_gbps, 0.0), 6),
        })
    return rows


def capacity_kpis(view: svc.CapacityView) -> list:
    t = view.totals
    if not t["points"]:
        return [html.Div("No demand yet: add clients (their weight × scale = Mbps) in the "
                         "sidebar, or choose World population as the demand.",
                         className="empty-hint")]
    over = t["over_capacity"]
    return [
        _kpi("demand", _gbps(t["demand_gbps"]), view.demand.note),
        _kpi("capacity (healthy PoPs)", _gbps(t["capacity_gbps"])),
        _kpi("served", _gbps(t["served_gbps"]), "after spill-over"),
        _kpi("spilled over", _gbps(t["spilled_gbps"]),
             "demand served by another than its nearest healthy access point",
             "kpi-warn" if t["spilled_gbps"] > 1e-9 else ""),
        _kpi("unserved", _gbps(t["unserved_gbps"]), "every access point is full or down",
             "kpi-bad" if t["unserved_gbps"] > 1e-9 else ""),
        _kpi("over capacity", f"{len(over)}", ", ".join(over) or "none",
             "kpi-bad" if over else ""),
    ]


def compute_capacity(current: dict | None, catalog: Catalog, show_catchments: bool,
                     max_clients: int = MAX_CLIENTS) -> tuple:
    """(KPI children, capacity map, load bar chart, utilisation rows) for the scenario (a store
    over ``max_clients``, ``Settings.max_clients``, is refused before any work)."""
    scenario = scenario_from_store(current, catalog, max_clients)
    view = svc.capacity_view(catalog, scenario)
    down = frozenset(d for d in scenario.down if d in catalog.pop_ids)
    catch = svc.catchments(catalog, down) if show_catchments else None
    markers = svc.demand_markers(view.demand, view.spill.served_at)
    fig = capacity_figures.capacity_map_figure(catalog.pops, view.table, view.flows, markers,
                                               catch)
    return (capacity_kpis(view), fig, capacity_figures.load_bar_figure(view.table),
            capacity_rows(view.table))


def controls_for(current: dict | None, source: str | None, scale: Any, default: Any) -> Any:
    """Re-rendered controls when the scenario's values differ from the widgets', else no_update
    (so typing is never interrupted by the round trip of its own edit)."""
    s = scenario_from_store(current)
    want_scale = s.demand_scale if s.demand_scale is not None else (
        DEFAULT_POPULATION_GBPS if s.demand_source == "population" else 1.0)
    want_default = s.default_capacity_gbps if s.default_capacity_gbps is not None else 1.0
    same = (source == s.demand_source and json_number(scale, 6) == json_number(want_scale, 6)
            and json_number(default, 6) == json_number(want_default, 6))
    if same:
        return no_update
    return capacity_controls(s.demand_source, s.demand_scale, s.default_capacity_gbps)


def control_edit(trigger: str | None, source: str | None, scale: Any, default: Any,
                 current: dict | None) -> Any:
    """An edit for a changed control, or no_update if the scenario already says so."""
    s = scenario_from_store(current)
    if trigger == ids.DEMAND_SOURCE and source in DEMAND_SOURCES and source != s.demand_source:
        # A new source starts from its own default scale (Gbps total vs Mbps per unit).
        return edit("capacity", demand_source=source, demand_scale=None)
    if trigger == ids.DEMAND_SCALE and scale is not None:
        if json_number(scale, 6) is None or float(scale) <= 0:
            return edit("notice", notices=[{"level": "error",
                                            "text": "Demand scale must be a number > 0"}])
        if json_number(scale, 6) != json_number(s.demand_scale, 6):
            return edit("capacity", demand_scale=float(scale))
    if trigger == ids.DEFAULT_CAPACITY and default is not None:
        if json_number(default, 6) is None or float(default) <= 0:
            return edit("notice", notices=[{"level": "error",
                                            "text": "Default capacity must be a number > 0 Gbps"}])
        if json_number(default, 6) != json_number(s.default_capacity_gbps, 6):
            return edit("capacity", default_gbps=float(default))
    return no_update


def table_edit(rows: list[dict] | None, current: dict | None, catalog: Catalog) -> Any:
    """Capacity cells edited in the utilisation table -> a ``capacity`` edit (only values that
    differ from what the access point has now become scenario overrides).

    ``rows`` is what the DataTable sends back: a list of row objects; anything else (only a
    hand-crafted request sends it) is no update."""
    if not rows or not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        return no_update
    s = scenario_from_store(current, catalog)
    caps, _ = svc.capacities_gbps(catalog, s)
    have = dict(zip(catalog.pop_ids, caps))
    own = dict(s.capacity)
    bad = []
    for r in rows:
        pid = r.get("id")
        if not isinstance(pid, str) or pid not in have:
            continue
        v = r.get("capacity_gbps")
        try:
            g = float(v)
            if not math.isfinite(g) or g <= 0:
                raise ValueError
        except (TypeError, ValueError, OverflowError):
            bad.append(pid)
            continue
        if abs(g - have[pid]) > 1e-9 * max(1.0, g):
            own[pid] = g
    if bad:
        return edit("notice", notices=[{"level": "error", "text":
                                        f"Capacity of {', '.join(bad)}: type a number of Gbps "
                                        "greater than 0"}])
    if own == dict(s.capacity):
        return no_update
    return edit("capacity", capacity=own)


# -- N-1 ------------------------------------------------------------------------------------------

def n1_key(scenario: Scenario, origin_id: str) -> str:
    """Digest of what the N-1 result depends on (demand, capacities, down PoPs, origin, endpoint
    mappings, latency model overrides)."""
    d = scenario.to_dict()
    parts = {k: d[k] for k in ("capacity_gbps", "default_capacity_gbps", "demand_source",
                               "demand_scale", "down", "mappings", "endpoints_down")}
    parts["origin"] = origin_id
    if scenario.demand_source == "clients":
        parts["clients"] = [(c.lat, c.lon, c.weight) for c in scenario.clients]
    if scenario.model:  # RTTs under other latency parameters (absent: the key is unchanged)
        parts["model"] = d["model"]
    return hashlib.sha1(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def run_n1(current: dict | None, catalog: Catalog, settings: Settings,
           report: Callable[[float, str], None] | None = None) -> dict:
    """Compute the N-1 table; returns the JSON-able result stored in ``ids.N1_RESULT``."""
    scenario = scenario_from_store(current, catalog, settings.max_clients)
    origin_id = resolve_origin(scenario, catalog, settings)
    t0 = time.perf_counter()
    table = svc.n_minus_one_analysis(catalog, scenario, origin_id, progress=report)
    records = json.loads(table.to_json(orient="records"))  # NaN -> null
    return {"key": n1_key(scenario, origin_id), "origin": origin_id, "rows": records,
            "points": len(svc.scenario_demand(scenario).lats),
            "seconds": round(time.perf_counter() - t0, 2),
            "computed": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


#: Text fields of a stored N-1 row; the other :data:`svc.N1_COLUMNS` are numbers or null.
N1_TEXT = ("pop_id", "moved_to", "worst_pop")


def _number_or_null(v: Any) -> bool:
    """None or a finite number a float holds (JSON integers can have any number of digits)."""
    if isinstance(v, float):
        return math.isfinite(v)
    return v is None or (isinstance(v, int) and not isinstance(v, bool) and abs(v) <= 2**53)


def n1_result(result: Any) -> dict | None:
    """The N-1 result store if it is shaped like :func:`run_n1`'s (None if there is none yet).

    The store lives in the browser (and a job's result outlives a deploy), so anything else --
    a row without a column, text where a number goes -- raises ``PreventUpdate``: the N-1 panel
    stays as it is.
    """
    if result is None:
        return None
    ok = (isinstance(result, dict) and isinstance(result.get("rows"), list)
          and all(isinstance(result.get(k, ""), str) for k in ("key", "origin", "computed"))
          and _number_or_null(result.get("points", 0))
          and _number_or_null(result.get("seconds", 0))
          and all(isinstance(r, dict) and isinstance(r.get("name", ""), str)
                  and all(k in r for k in svc.N1_COLUMNS)
                  and all(isinstance(r[k], str) if k in N1_TEXT else _number_or_null(r[k])
                          for k in svc.N1_COLUMNS)
                  for r in result["rows"]))
    if not ok:
        raise PreventUpdate
    return result


def n1_rows(result: dict | None) -> list[dict]:
    """Rows of the N-1 table (the columns of :func:`run_n1`, utilisation also in %)."""
    rows = []
    for r in (n1_result(result) or {}).get("rows") or ():
        wu = r["worst_utilisation"]
        rows.append({**{k: r[k] for k in (*svc.N1_COLUMNS, "name") if k in r},
                     "worst_utilisation_pct": None if wu is None else round(100 * wu, 1)})
    return rows


def n1_outputs(result: dict | None, current: dict | None, catalog: Catalog,
               settings: Settings) -> tuple:
    """(table rows, chart, note) for a stored N-1 result; the note flags a stale result."""
    result = n1_result(result)
    if not result or not result.get("rows"):
        note = ("" if not result else "Nothing to analyse: the demand is empty.")
        return [], capacity_figures.n1_figure(pd.DataFrame()), note
    s = scenario_from_store(current, catalog, settings.max_clients)
    stale = result.get("key") != n1_key(s, resolve_origin(s, catalog, settings))
    points = json_number(result.get("points"))  # the store may hold null (shape-checked only)
    note = (f"Computed {result.get('computed')} for "
            f"{'?' if points is None else f'{int(points):,}'} demand points "
            f"via origin {result.get('origin')} in {result.get('seconds')} s.")
    if stale:
        note = html.Span(["The scenario changed since this analysis: ", html.B("run it again"),
                          f" to update it. ({note})"], className="hint-warning")
    table = pd.DataFrame(result["rows"])
    return n1_rows(result), capacity_figures.n1_figure(table), note



#: Last progress text of a finished N-1 job: its result is on the way to the table.
DRAWING = "Drawing the results…"


def n1_done_status(result: Any) -> Any:
    """The status line once a new N-1 result is drawn: written by the callback that fills the
    table, in the same update, so the page never says "Done" over an empty table (the job's own
    last progress reaches the page one round trip before the table)."""
    result = n1_result(result)
    if not result:
        return no_update
    seconds = json_number(result.get("seconds"))
    took = "" if seconds is None else f" in {seconds} s"
    return f"Done: {len(result['rows'])} access points analysed{took}."


def n1_failed(exc: Exception) -> None:
    """``on_error`` of the N-1 job: an exception in the job (stored by Dash as the job's
    result) is said in the status line, instead of a 500 that leaves "Runs in the background"
    on screen. The full traceback goes to the server log."""
    import logging

    logging.getLogger(__name__).error("N-1 job failed: %s", exc)
    first = str(exc).strip().splitlines()
    why = first[0] if first else type(exc).__name__
    why = why.removeprefix("An error occurred inside a background callback: ")[:200]
    set_props(ids.N1_STATUS, {"children": f"The analysis failed: {why}. Run it again; if it "
                                          "fails again, see the server log."})


def n1_download(result: dict | None) -> Any:
    """``dcc.Download`` data of the N-1 table as CSV (formula-safe), or no_update."""
    result = n1_result(result)
    if not result or not result.get("rows"):
        return no_update
    df = pd.DataFrame(result["rows"])
    return {"content": safe_csv(df), "filename": f"anycast-eip-n-minus-1-{file_stamp()}.csv",
            "type": "text/csv"}


def register(app: Dash, catalog: Catalog, settings: Settings) -> None:
    """Attach the capacity view's callbacks (view switching included) to ``app``."""
    app.clientside_callback(
        """function (view) {
            return [view !== 'map', view !== 'capacity', view !== 'support'];
        }""",
        Output(ids.PANEL_MAP, "hidden"), Output(ids.PANEL_CAPACITY, "hidden"),
        Output(ids.PANEL_SUPPORT, "hidden"), Input(ids.VIEW_TABS, "value"))

    @app.callback(
        Output(ids.CAPACITY_KPIS, "children"), Output(ids.CAPACITY_MAP, "figure"),
        Output(ids.LOAD_BARS, "figure"), Output(ids.POP_TABLE, "data"),
        Input(ids.SCENARIO, "data"), Input(ids.VIEW_TABS, "value"),
        Input(ids.SHOW_CATCHMENTS, "value"))
    def _capacity(current, view, catch):
        if view != "capacity":  # computed when shown: the map view stays fast
            return (no_update,) * 4
        return compute_capacity(current, catalog, bool(catch), settings.max_clients)

    @app.callback(Output(ids.CAPACITY_CONTROLS, "children"), Input(ids.SCENARIO, "data"),
                  State(ids.DEMAND_SOURCE, "value"), State(ids.DEMAND_SCALE, "value"),
                  State(ids.DEFAULT_CAPACITY, "value"))
    def _controls(current, source, scale, default):
        return controls_for(current, source, scale, default)

    @app.callback(Output(ids.SCENARIO_EDIT, "data", allow_duplicate=True),
                  Input(ids.DEMAND_SOURCE, "value"), Input(ids.DEMAND_SCALE, "value"),
                  Input(ids.DEFAULT_CAPACITY, "value"), State(ids.SCENARIO, "data"),
                  prevent_initial_call=True)
    def _control_edit(source, scale, default, current):
        return control_edit(ctx.triggered_id, source, scale, default, current)

    @app.callback(Output(ids.SCENARIO_EDIT, "data", allow_duplicate=True),
                  Input(ids.POP_TABLE, "data_timestamp"), State(ids.POP_TABLE, "data"),
                  State(ids.SCENARIO, "data"), prevent_initial_call=True)
    def _table_edit(_ts, rows, current):
        return table_edit(rows, current, catalog)

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
        last = [0.0]

        def report(fraction: float, text: str) -> None:
            now = time.monotonic()
            if now - last[0] > 0.25 or fraction >= 1:  # a few writes per second at most
                last[0] = now
                set_progress((str(round(100 * fraction)), text))

        result = run_n1(current, catalog, settings, report)
        # Not "Done" yet: the result reaches the page with this poll, and the table is drawn
        # one round trip later by _n1_view, which then says "Done" (n1_done_status).
        set_progress(("100", DRAWING))
        return result

    # The status line is also a progress output of _n1, but progress outputs are side updates
    # of the background callback's polls (not registered outputs), so this callback may write it.
    @app.callback(Output(ids.N1_TABLE, "data"), Output(ids.N1_CHART, "figure"),
                  Output(ids.N1_NOTE, "children"), Output(ids.N1_STATUS, "children"),
                  Input(ids.N1_RESULT, "data"), Input(ids.SCENARIO, "data"))
    def _n1_view(result, current):
        status = n1_done_status(result) if ctx.triggered_id == ids.N1_RESULT else no_update
        return (*n1_outputs(result, current, catalog, settings), status)

    @app.callback(Output(ids.N1_DOWNLOAD, "data"), Input(ids.N1_EXPORT, "n_clicks"),
                  State(ids.N1_RESULT, "data"), prevent_initial_call=True)
    def _n1_csv(_n, result):
        return n1_download(result)
