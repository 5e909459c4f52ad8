"""Support view: explain any client's access point, record an observed entry point, export the
assignment table (CSV) and the scenario (JSON), import a scenario JSON.

Handlers are plain functions of plain values; :func:`register` adapts them to Dash.
"""

from __future__ import annotations

import base64
import binascii
import math
from typing import Any

import numpy as np
import pandas as pd
from dash import ALL, Dash, Input, Output, State, ctx, dash_table, dcc, html, no_update

from dashboard import ids
from dashboard.figures import map as map_figures
from dashboard.figures import support as support_figures
from dashboard.services import routing
from dashboard.services import capacity as svc
from dashboard.services import support as support_svc
from dashboard.callbacks.scenario import (edit, file_stamp, json_number, resolve_origin,
                                         scenario_from_store)
from dashboard.catalog import Catalog
from dashboard.domain.exports import (
    ScenarioImportError,
    safe_csv,
    scenario_from_json,
    scenario_to_json,
)
from dashboard.domain.explain import BGP_NOTE
from dashboard.domain.scenario import clean_name
from dashboard.gazetteer import CLIENT_SET_SIZES, DEMAND_SETS
from dashboard.layout.support import EXPLAIN_COLUMNS
from dashboard.settings import Settings




# -- selecting a client -------------------------------------------------------------------------

def client_options(current: dict | None) -> list[dict]:
    s = scenario_from_store(current)
    observed = dict(s.observed)
    return [{"label": f"#{i + 1} {svc.client_label(c)}"
                      + (f"  · observed at {observed[i]}" if i in observed else ""), "value": i}
            for i, c in enumerate(s.clients)]


def selected_client(trigger: str | None, click: dict | None, cell: dict | None,
                    current: dict | None = None) -> int | None:
    """The client index picked on the map (a client marker) or in the assignment table (any
    cell but the ✕ column); None if the event picked no client.

    Map clicks carry the marker's ``customdata`` (client index) when plotly reports it; Dash
    drops ``customdata`` sent as a typed array, so the clicked coordinates are matched against
    the scenario's clients otherwise: the nearest one within 1e-4 degrees (from 1,000 clients
    the map sends positions as float32, which is off by up to ~1e-5 degrees from the stored 4
    decimals). Values of another shape (only a hand-crafted request sends them) pick no client.
    """
    if trigger == ids.WORLD_MAP and isinstance(click, dict):
        points = click.get("points")
        for p in points if isinstance(points, list) else ():
            if not isinstance(p, dict) or \
                    p.get("curveNumber") != map_figures.map_trace_index(map_figures.CLIENTS):
                continue
            if _is_number(p.get("customdata")):
                return _index(p["customdata"])
            s = scenario_from_store(current)
            lat, lon = p.get("lat"), p.get("lon")
            if _is_number(lat) and _is_number(lon) and s.clients:
                gap = [max(abs(c.lat - lat), abs(c.lon - lon)) for c in s.clients]
                best = min(range(len(gap)), key=gap.__getitem__)
                if gap[best] < 1e-4:
                    return best
        return None
    if trigger == ids.ASSIGNMENT_TABLE and isinstance(cell, dict) \
            and cell.get("column_id") != "remove":
        row = cell.get("row_id")
        return _index(row) if _is_number(row) else None
    return None


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _index(v: int | float) -> int | None:
    """A row or marker index from the browser: a whole number >= 0, else None."""
    if isinstance(v, float) and not (math.isfinite(v) and v.is_integer()):
        return None
    return int(v) if v >= 0 else None


# -- the explain panel --------------------------------------------------------------------------

def explain_rows(ranking: pd.DataFrame, names: dict[str, str]) -> list[dict]:
    up = ranking[ranking["up"]]
    chosen_ms = float(up["anycast_ms"].iloc[0]) if len(up) else math.nan
    rows = []
    for r in ranking.itertuples(index=False):
        rows.append({
            "rank": int(r.rank) if r.rank else None, "pop": f"{r.pop_id} · {names.get(r.pop_id, '')}",
            "pop_id": r.pop_id,
            "state": "up" if r.up else "down",
            "distance_km": json_number(r.distance_km, 0),
            "internet_ms": json_number(r.internet_ms, 1),
            "backbone_ms": json_number(r.backbone_ms, 1),
            "anycast_ms": json_number(r.anycast_ms, 1),
            "delta_ms": json_number(r.anycast_ms - chosen_ms, 1) if r.up else None,
        })
    return rows


def explain_body(current: dict | None, index: Any, catalog: Catalog,
                 settings: Settings) -> list:
    """Children of the explain panel for client ``index`` of the scenario."""
    s = scenario_from_store(current, catalog, settings.max_clients)
    if not s.clients:
        return [html.P("Add clients (sidebar) to explain where they land.", className="hint")]
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(s.clients):
        return [html.P("Pick a client above, click a client (◆) on the map, or click a row of "
                       "the assignment table.", className="hint")]
    origin_id = resolve_origin(s, catalog, settings)
    ce = support_svc.explain_client(catalog, s, index, origin_id)
    ex = ce.explanation
    names = dict(zip(catalog.pop_ids, catalog.pops["name"]))
    cities = dict(zip(catalog.pop_ids, catalog.pops["city"]))
    c = s.clients[index]
    # the observed detour gets its own highlighted line below
    facts = [html.Li(t) for t in ex.sentences
             if t != BGP_NOTE and not t.startswith("Observed entry at")]
    margin = (f"{ex.margin_km:,.0f} km ({ex.margin_pct:.0f} %)" if ex.runner_up and
              math.isfinite(ex.margin_km) else "–")
    summary = html.Div(className="explain-kpis", children=[
        html.Div([html.B(ex.chosen or "no route"), html.Span(" chosen")]),
        html.Div([html.B(ex.runner_up or "–"), html.Span(f" runner-up, {margin} farther")]),
        html.Div([html.B(f"{c.lat:.4f}, {c.lon:.4f}"), html.Span(f" weight {c.weight:g}")]),
    ])
    observed = s.observed_for(index)
    detour = []
    if ex.observed and ex.observed != ex.chosen and math.isfinite(ex.detour_km):
        detour = [html.Div(className="detour", children=[
            html.B(f"Observed detour via {ex.observed}: "),
            f"{ex.detour_km:+,.0f} km and {ex.detour_ms:+.0f} ms of modelled RTT versus "
            f"{ex.chosen}." if math.isfinite(ex.detour_ms) else
            f"{ex.detour_km:+,.0f} km versus {ex.chosen} (its endpoint is down: no RTT)."])]
    obs_options = [{"label": "not recorded (the model's choice)", "value": ""}] + [
        {"label": f"{p} · {names[p]}", "value": p} for p in catalog.pop_ids]
    table = dash_table.DataTable(
        id=ids.EXPLAIN_TABLE, data=explain_rows(ce.ranking, cities),
        columns=[{"id": cid, "name": n, "type": t,
                  **({"format": {"specifier": ",.0f" if cid in ("rank", "distance_km")
                                 else ("+,.0f" if cid == "delta_ms" else ",.0f")}}
                     if t == "numeric" else {})}
                 for cid, n, t in EXPLAIN_COLUMNS],
        sort_action="native", page_action="none", style_as_list_view=True,
        style_table={"overflowX": "auto", "maxHeight": "360px", "overflowY": "auto"},
        style_header={"fontWeight": "600", "backgroundColor": "#F3F4F6", "whiteSpace": "normal",
                      "height": "auto"},
        style_cell={"fontFamily": "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, "
                                  "sans-serif", "fontSize": "13px", "padding": "3px 6px",
                    "textAlign": "right", "minWidth": "40px"},
        style_cell_conditional=[{"if": {"column_id": k}, "textAlign": "left"}
                                for k in ("pop", "state")]
        + [{"if": {"column_id": "rank"}, "width": "28px", "minWidth": "28px"}]
        + [{"if": {"column_id": k}, "width": "66px", "maxWidth": "80px"}
           for k in ("distance_km", "internet_ms", "backbone_ms", "anycast_ms", "delta_ms")],
        style_data_conditional=[
            {"if": {"filter_query": f'{{pop_id}} = "{ex.chosen}"'},
             "backgroundColor": "#FFF1E6", "fontWeight": "600"},
            {"if": {"filter_query": f'{{pop_id}} = "{observed or "-"}"'},
             "backgroundColor": "#EDE9FE"},
            {"if": {"filter_query": '{state} = "down"'}, "color": "#9CA3AF"},
        ])
    return [
        html.H3(f"#{index + 1} {ce.label}", className="explain-title"),
        summary,
        html.Ul(facts, className="explain-facts"),
        *detour,
        html.Div(className="inline-form observed-row", children=[
            html.Label("Observed entry point (e.g. from a traceroute)",
                       htmlFor=ids.OBSERVED_POP, className="field-label"),
            dcc.Dropdown(id={"type": ids.OBSERVED_POP, "client": index},
                         options=obs_options, value=observed or "", clearable=False,
                         searchable=True, className="observed-select"),
        ]),
        html.P(BGP_NOTE, className="bgp-note"),
        dcc.Graph(id=ids.EXPLAIN_CHART, config={"displayModeBar": False},
                  figure=support_figures.explain_figure(ce.ranking, ex.chosen, observed)),
        html.H4("Every access point, nearest healthy first", className="subhead"),
        table,
    ]


def observe_edit(values: list, id_list: list[dict], current: dict | None) -> Any:
    """The observed-PoP dropdown changed -> an ``observe`` edit (no edit when it already
    matches the scenario, e.g. when the panel is re-rendered).

    ``values`` / ``id_list``: the values and ids of the observed-PoP dropdowns on the page (one,
    in the explain panel); ids of another shape or a value that is not an access point id (only
    a hand-crafted request sends them) are no edit.
    """
    if not isinstance(values, list) or not isinstance(id_list, list) or not values \
            or len(values) != len(id_list) or not isinstance(id_list[0], dict):
        return no_update
    index = id_list[0].get("client")
    value = values[0] or None
    if not isinstance(index, int) or isinstance(index, bool) or \
            not (value is None or isinstance(value, str)):
        return no_update
    s = scenario_from_store(current)
    if not 0 <= index < len(s.clients) or value == s.observed_for(index):
        return no_update
    return edit("observe", index=index, pop=value)


# -- exports and import -----------------------------------------------------------------------

def assignment_frame(current: dict | None, catalog: Catalog, settings: Settings) -> pd.DataFrame:
    """The assignment table as exported: one row per client, km and ms."""
    s = scenario_from_store(current, catalog, settings.max_clients)
    origin_id = resolve_origin(s, catalog, settings)
    s, _ = s.sanitized(origin_id)  # the endpoint set the map and the table route with
    down = frozenset(d for d in s.down if d in catalog.pop_ids)
    routes = routing.route_table(catalog, tuple((c.lat, c.lon) for c in s.clients), origin_id,
                                  down, s.mappings, s.endpoints_down, model=s.model)
    observed = dict(s.observed)
    df = pd.DataFrame({
        "client": [c.name for c in s.clients], "lat": [c.lat for c in s.clients],
        "lon": [c.lon for c in s.clients], "weight": [c.weight for c in s.clients]})
    cols = ["pop_id", "pop_km", "internet_ms", "origin_id", "backbone_km", "backbone_ms",
            "anycast_ms", "direct_km", "direct_ms", "saving_ms", "runner_up_id", "runner_up_km",
            "routed", "served"]
    for col in cols:
        df[col] = routes[col].to_numpy() if col in routes else np.nan
    # origin_id is "" where the client's endpoint is down (unserved) or it has no route
    df["origin_id"] = routes["origin_id"].to_numpy() if "origin_id" in routes else origin_id
    df["observed_pop"] = [observed.get(i, "") for i in range(len(s.clients))]
    return df


def assignment_download(current: dict | None, catalog: Catalog, settings: Settings) -> Any:
    s = scenario_from_store(current, catalog, settings.max_clients)
    if not s.clients:
        return no_update
    df = assignment_frame(current, catalog, settings)
    return {"content": safe_csv(df), "filename": f"anycast-eip-assignment-{file_stamp()}.csv",
            "type": "text/csv"}


def scenario_download(current: dict | None) -> dict:
    return {"content": scenario_to_json(scenario_from_store(current)),
            "filename": f"anycast-eip-scenario-{file_stamp()}.json", "type": "application/json"}


def import_edit(contents: str | None, filename: str | None, catalog: Catalog,
                settings: Settings) -> dict:
    """An uploaded scenario JSON -> a ``replace`` edit, or an error notice naming the problem
    (the current scenario is then left exactly as it was)."""
    name = clean_name(filename) if isinstance(filename, str) and filename else "the file"

    def error(text: str) -> dict:
        return edit("notice", notices=[{"level": "error", "text": f"Import of {name}: {text}. "
                                                                  "Nothing was changed."}])

    if not isinstance(contents, str) or "," not in contents:
        return error("empty upload")
    try:
        data = base64.b64decode(contents.split(",", 1)[1], validate=True)
    except (binascii.Error, ValueError):
        return error("the upload is not readable")
    if len(data) > settings.max_upload_bytes:
        return error(f"the file is {len(data):,} bytes; the limit is "
                     f"{settings.max_upload_bytes:,}")
    try:
        s = scenario_from_json(data, pop_ids=catalog.pop_ids, origin_ids=catalog.origin_ids,
                               client_set_ids=tuple(DEMAND_SETS),
                               max_clients=settings.max_clients,
                               client_set_sizes=CLIENT_SET_SIZES)
    except ScenarioImportError as exc:
        return error(str(exc))
    return edit("replace", scenario=s.to_dict(), source=name)


def register(app: Dash, catalog: Catalog, settings: Settings) -> None:
    """Attach the support view's callbacks to ``app``."""

    @app.callback(Output(ids.EXPLAIN_CLIENT, "options"), Input(ids.SCENARIO, "data"))
    def _options(current):
        return client_options(current)

    @app.callback(Output(ids.EXPLAIN_CLIENT, "value"), Output(ids.VIEW_TABS, "value"),
                  Input(ids.WORLD_MAP, "clickData"), Input(ids.ASSIGNMENT_TABLE, "active_cell"),
                  State(ids.SCENARIO, "data"), prevent_initial_call=True)
    def _select(click, cell, current):
        index = selected_client(ctx.triggered_id, click, cell, current)
        if index is None:
            return no_update, no_update
        return index, "support"

    @app.callback(Output(ids.EXPLAIN_BODY, "children"), Input(ids.EXPLAIN_CLIENT, "value"),
                  Input(ids.SCENARIO, "data"), Input(ids.VIEW_TABS, "value"))
    def _explain(index, current, view):
        if view != "support":  # computed when shown, like the capacity view
            return no_update
        return explain_body(current, index, catalog, settings)

    @app.callback(Output(ids.SCENARIO_EDIT, "data", allow_duplicate=True),
                  Input({"type": ids.OBSERVED_POP, "client": ALL}, "value"),
                  State({"type": ids.OBSERVED_POP, "client": ALL}, "id"),
                  State(ids.SCENARIO, "data"), prevent_initial_call=True)
    def _observe(values, id_list, current):
        return observe_edit(values, id_list, current)

    @app.callback(Output(ids.TABLE_DOWNLOAD, "data"), Input(ids.EXPORT_TABLE, "n_clicks"),
                  State(ids.SCENARIO, "data"), prevent_initial_call=True)
    def _export_table(_n, current):
        return assignment_download(current, catalog, settings)

    @app.callback(Output(ids.JSON_DOWNLOAD, "data"), Input(ids.EXPORT_JSON, "n_clicks"),
                  State(ids.SCENARIO, "data"), prevent_initial_call=True)
    def _export_json(_n, current):
        return scenario_download(current)

    @app.callback(Output(ids.SCENARIO_EDIT, "data", allow_duplicate=True),
                  Output(ids.IMPORT_UPLOAD, "contents"),
                  Input(ids.IMPORT_UPLOAD, "contents"), State(ids.IMPORT_UPLOAD, "filename"),
                  prevent_initial_call=True)
    def _import(contents, filename):
        if contents is None:
            return no_update, no_update
        return import_edit(contents, filename, catalog, settings), None
