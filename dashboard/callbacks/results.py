"""Results: the scenario store -> one routing service call -> map, table, key numbers, RTT CDF.

Presentation helpers (:func:`assignment_rows`, :func:`summary_numbers`) are plain functions of
plain data so tests call them without Dash.
"""

from __future__ import annotations

import hashlib
from typing import Any, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from dash import Dash, Input, Output, Patch, State, html

from dashboard import ids
from dashboard.figures import cdf as cdf_figures
from dashboard.figures import common as common_figures
from dashboard.figures import map as map_figures
from dashboard.services import routing
from dashboard.callbacks import failover
from dashboard.callbacks.scenario import (client_label, json_number, resolve_origin,
                                         scenario_from_store)
from dashboard.catalog import Catalog
from dashboard.domain.scenario import Client, Scenario
from dashboard.gazetteer import DemandSet, demand_set, load_gazetteer
from dashboard.settings import Settings



def assignment_rows(routes: pd.DataFrame, clients: Sequence[Client], catalog: Catalog,
                    origin_id: str, before: pd.DataFrame | None = None,
                    moved: np.ndarray | None = None) -> list[dict]:
    """One table row per client (``id`` = client index, used by the ✕ remove column).

    ``before`` / ``moved``: the routing table before the last failover change and which clients
    moved; moved rows get ``before`` ("CDG · 32 ms"), ``change_ms`` and ``moved`` = 1 (the table
    highlights them); clients with no route or unserved get ``cut_off`` = 1.
    """
    city = dict(zip(catalog.pops["id"], catalog.pops["city"]))
    rows = []
    for i, r in enumerate(routes.itertuples(index=False)):
        c = clients[i]
        routed = bool(r.routed)
        served = bool(getattr(r, "served", routed))
        pop = (f"{r.pop_id} · {city.get(r.pop_id, '')}" if routed
               else "no route (all down)")
        was = ""
        change = None
        is_moved = moved is not None and before is not None and bool(moved[i])
        if is_moved:
            b = before.iloc[i]
            b_ms = json_number(b["anycast_ms"])
            was = ("no route" if not b["routed"] else
                   f"{b['pop_id']} · {'unserved' if b_ms is None else f'{b_ms:.0f} ms'}")
            a_ms = json_number(r.anycast_ms)
            change = None if a_ms is None or b_ms is None else a_ms - b_ms
        runner = (f"{r.runner_up_id} · {r.runner_up_km:,.0f} km" if r.runner_up_id else "–")
        rows.append({
            "id": i,
            "client": client_label(c),
            "pop": pop,
            "pop_km": json_number(r.pop_km),
            "internet_ms": json_number(r.internet_ms),
            "origin": ((getattr(r, "origin_id", "") or origin_id) if served
                       else "unserved (endpoint down)" if routed else "–"),
            "backbone_km": json_number(r.backbone_km),
            "backbone_ms": json_number(r.backbone_ms),
            "anycast_ms": json_number(r.anycast_ms),
            "direct_ms": json_number(r.direct_ms),
            "saving_ms": json_number(r.saving_ms),
            "runner_up": runner,
            "before": was,
            "change_ms": change,
            "moved": 1 if is_moved else 0,
            "cut_off": 0 if served else 1,
            "remove": "✕",
        })
    return rows


def summary_numbers(routes: pd.DataFrame, weights: Sequence[float], n_pops: int) -> dict:
    """Key numbers over clients (RTT percentiles are weighted by client weight), in ms."""
    out: dict[str, Any] = {"clients": int(len(routes)), "pops_used": 0, "pops": n_pops}
    if len(routes) == 0:
        return out
    w = np.asarray(weights, dtype=float)
    any_ms = routes["anycast_ms"].to_numpy(float)
    ok = np.isfinite(any_ms) & (w > 0)
    out["pops_used"] = int(routes.loc[routes["routed"].astype(bool), "pop_id"].nunique())
    routed = routes["routed"].to_numpy(bool)
    served = routes["served"].to_numpy(bool) if "served" in routes else routed
    out["unrouted"] = int((~routed).sum())
    out["unserved"] = int((routed & ~served).sum())
    if ok.any():
        out["p50_ms"] = _wquantile(any_ms[ok], w[ok], 0.5)
        out["p95_ms"] = _wquantile(any_ms[ok], w[ok], 0.95)
        saving = routes["saving_ms"].to_numpy(float)[ok]
        out["median_saving_ms"] = _wquantile(saving, w[ok], 0.5)
        out["faster_share"] = float(w[ok][saving > 0].sum() / w[ok].sum())
    return out


def _wquantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """Weighted quantile (inverted CDF, no interpolation): what share ``q`` of demand sees."""
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(weights[order])
    i = int(np.searchsorted(cum, q * cum[-1], side="left"))
    return float(values[order][min(i, len(values) - 1)])


def render_summary(s: dict, origin_id: str) -> list:
    def kpi(label: str, value: str, hint: str = "", alert: bool = False) -> html.Div:
        return html.Div(className="kpi kpi-alert" if alert else "kpi", title=hint,
                        children=[html.Div(value, className="kpi-value"),
                                  html.Div(label, className="kpi-label")])

    if not s.get("clients"):
        return [html.Div("Add clients to see which access point each one lands on: search a "
                         "city, type coordinates, pick a preset, upload a CSV or click the map.",
                         className="empty-hint")]
    fmt = lambda v: "–" if v is None else f"{v:.0f} ms"  # noqa: E731
    items = [
        kpi("clients", f"{s['clients']:,}"),
        kpi("access points in use", f"{s['pops_used']} of {s['pops']}"),
        kpi("median RTT", fmt(s.get("p50_ms")), f"modelled, client → PoP → {origin_id}"),
        kpi("p95 RTT", fmt(s.get("p95_ms")), "95 % of clients (by weight) are at or below"),
        kpi("median saving vs direct", fmt(s.get("median_saving_ms")),
            "direct internet path to the origin minus the anycast path"),
        kpi("faster via anycast", "–" if s.get("faster_share") is None
            else f"{s['faster_share']:.0%}", "share of clients whose modelled RTT improves"),
    ]
    if s.get("unrouted"):
        items.append(kpi("without route", f"{s['unrouted']:,}", "every access point is down",
                         alert=True))
    if s.get("unserved"):
        items.append(kpi("unserved (endpoint down)", f"{s['unserved']:,}",
                         "their access point's endpoint is down; no failover between endpoints",
                         alert=True))
    return items


#: Most rows sent to the assignment table. A 25,000-client set would otherwise ship ~10 MB of
#: rows on every what-if; the key numbers, the map and the CDF cover every client.
MAX_TABLE_ROWS = 300


def client_set_for(scenario: Scenario) -> DemandSet | None:
    """The scenario's client set, or None (also for a key this version does not know)."""
    if not scenario.client_set:
        return None
    try:
        return demand_set(load_gazetteer(), scenario.client_set)
    except KeyError:
        return None


def scenario_routes(scenario: Scenario, catalog: Catalog, origin_id: str
                    ) -> tuple[pd.DataFrame | None, list[str], np.ndarray]:
    """(routes in client order or None, client names, weights) of a sanitized scenario: its own
    clients first, then those of its client set (cached ranking: a what-if is cheap)."""
    down = frozenset(d for d in scenario.down if d in catalog.pop_ids)
    cset = client_set_for(scenario)
    routes = routing.scenario_route_table(
        catalog, tuple((c.lat, c.lon) for c in scenario.clients),
        cset.key if cset is not None else None, origin_id, down, scenario.mappings,
        scenario.endpoints_down, scenario.model)
    names = [client_label(c) for c in scenario.clients]
    weights = [np.asarray([c.weight for c in scenario.clients], dtype=float)]
    if cset is not None:
        names += list(cset.names)
        weights.append(np.asarray(cset.weights, dtype=float))
    return routes, names, np.concatenate(weights)


def table_rows(routes: pd.DataFrame, scenario: Scenario, names: Sequence[str],
               weights: np.ndarray, catalog: Catalog, origin_id: str,
               before: pd.DataFrame | None = None, moved: np.ndarray | None = None
               ) -> list[dict]:
    """The first :data:`MAX_TABLE_ROWS` rows of the assignment table; client-set rows cannot be
    removed one by one (no ✕), "Clear all" drops the set."""
    n_own = len(scenario.clients)
    shown = routes.iloc[:MAX_TABLE_ROWS]
    clients = list(scenario.clients[:MAX_TABLE_ROWS])
    lat, lon = shown["lat"].to_numpy(float), shown["lon"].to_numpy(float)
    clients += [Client(float(lat[i]), float(lon[i]), names[i], float(weights[i]))
                for i in range(len(clients), len(shown))]
    rows = assignment_rows(shown, clients, catalog, origin_id,
                           None if before is None else before.iloc[:MAX_TABLE_ROWS],
                           None if moved is None else moved[:MAX_TABLE_ROWS])
    for row in rows[n_own:]:
        row["remove"] = ""
    return rows


def compute_results(current: dict | None, catalog: Catalog, settings: Settings) -> tuple:
    """(map figure, table rows, summary children, CDF figure, client count text)."""
    return compute_view(current, None, None, catalog, settings)[:5]


def map_base_key(scenario: Scenario, routes: pd.DataFrame | None) -> str | None:
    """Key of what the compact clients layer's positions and names come from (the clients, the
    client set, which drawn clients are routed and served), or None when the map is not in
    compact mode. Equal keys: a what-if may patch the figure instead of resending it."""
    if routes is None or len(routes) < map_figures.COMPACT_FROM:
        return None
    digest = hashlib.sha256()
    digest.update(repr((scenario.client_set, [(c.lat, c.lon, c.name) for c in scenario.clients])
                       ).encode())
    shown = routes.iloc[:map_figures.MAX_DRAWN_CLIENTS]
    digest.update(np.packbits(shown["routed"].to_numpy(bool)).tobytes())
    if "served" in shown:
        digest.update(np.packbits(shown["served"].to_numpy(bool)).tobytes())
    return digest.hexdigest()[:24]


def _plain(obj: Any) -> Any:
    """A trace attribute ready for a Patch: numeric numpy arrays as plotly.js typed arrays,
    other arrays as lists, dicts walked."""
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind in "fiu" and obj.dtype.name not in ("int64", "uint64"):
            return common_figures.typed_array(obj)
        return obj.tolist()
    return obj


def figure_patch(traces: Sequence[go.Scattergeo], animation_id: str = "") -> Patch:
    """A :class:`dash.Patch` turning the map the browser shows (same :func:`map_base_key`) into
    one with ``traces``: every layer except the clients' is replaced whole (they are small), the
    clients layer gets only what a what-if changes -- its numbers, PoP ids, colours and hover
    template -- and keeps its positions and names in the browser; of the layout only the
    failover animation id changes."""
    patch = Patch()
    ci = map_figures.map_trace_index(map_figures.CLIENTS)
    for i, trace in enumerate(traces):
        if i != ci:
            patch["data"][i] = _plain(trace.to_plotly_json())
    clients = traces[ci]
    for key in ("customdata", "hovertext", "hovertemplate"):
        patch["data"][ci][key] = _plain(clients[key])
    patch["data"][ci]["marker"] = _plain(clients.marker.to_plotly_json())
    patch["layout"]["meta"] = {"failover": animation_id}
    return patch


def cdf_patch(anycast_ms: Any, direct_ms: Any, weights: Any) -> Patch:
    """The RTT CDF's new curves as a Patch of the two traces' x and y (its layout is static)."""
    patch = Patch()
    for i, values in enumerate((anycast_ms, direct_ms)):
        x, y = cdf_figures.cdf_curve(values, weights)
        patch["data"][i]["x"] = common_figures.typed_array(x)
        patch["data"][i]["y"] = common_figures.typed_array(y)
    return patch


def compute_view(current: dict | None, prev: dict | None, base: str | None, catalog: Catalog,
                 settings: Settings) -> tuple:
    """Everything the scenario shows: (map figure or Patch, table rows, summary children, CDF
    figure or Patch, client count text, failover frames, failover card children, routing state
    for next time, map base key).

    ``prev``: routing state of the previous scenario (``failover.routing_state``); when only the
    access point / endpoint state changed, the map is sent in the animation's start state and
    the animation plan goes to the browser (see :mod:`dashboard.callbacks.failover`).
    ``base``: the key of the map the browser shows (``ids.MAP_BASE``); when it matches, a large
    map is patched.
    """
    scenario = scenario_from_store(current, catalog, settings.max_clients)
    origin_id = resolve_origin(scenario, catalog, settings)
    scenario, _ = scenario.sanitized(origin_id)
    down = frozenset(d for d in scenario.down if d in catalog.pop_ids)
    routes, names, weights = scenario_routes(scenario, catalog, origin_id)
    view = failover.plan_view(scenario, origin_id, routes, prev, catalog)
    key = map_base_key(scenario, routes)
    patch = key is not None and key == base
    kw = dict(endpoints=[r for r, _ in scenario.mappings], endpoints_down=scenario.endpoints_down,
              moving=view.moving, moving_start=view.moving_start)
    if patch:
        fig = figure_patch(map_figures.map_traces(catalog.pops, catalog.origins, origin_id, routes,
                                              names, down, **kw), view.animation_id or "")
    else:
        fig = map_figures.map_figure(catalog.pops, catalog.origins, origin_id, routes, names, down,
                                 animation_id=view.animation_id, **kw)
    card = failover.render_failover(view, names, len(catalog.pops))
    if routes is None:
        empty = pd.DataFrame({"anycast_ms": [], "saving_ms": [], "routed": [], "pop_id": []})
        return (fig, [], render_summary(summary_numbers(empty, [], len(catalog.pops)), origin_id),
                cdf_figures.rtt_cdf_figure([], []), "No clients yet", view.frames, card, view.state,
                key)
    rows = table_rows(routes, scenario, names, weights, catalog, origin_id, view.before,
                      view.tr.moved if view.tr is not None else None)
    summary = render_summary(summary_numbers(routes, weights, len(catalog.pops)), origin_id)
    cdf = (cdf_patch if patch else cdf_figures.rtt_cdf_figure)(routes["anycast_ms"],
                                                            routes["direct_ms"], weights)
    n = len(routes)
    count = f"{n:,} client{'s' if n != 1 else ''}"
    if n > len(rows):
        count += f" (table: first {len(rows):,})"
    return fig, rows, summary, cdf, count, view.frames, card, view.state, key


def register(app: Dash, catalog: Catalog, settings: Settings) -> None:
    """Attach the results callback to ``app``."""

    @app.callback(
        Output(ids.WORLD_MAP, "figure"),
        Output(ids.ASSIGNMENT_TABLE, "data"),
        Output(ids.SUMMARY, "children"),
        Output(ids.RTT_CDF, "figure"),
        Output(ids.CLIENT_COUNT, "children"),
        Output(ids.FAILOVER_FRAMES, "data"),
        Output(ids.FAILOVER_SUMMARY, "children"),
        Output(ids.FAILOVER_PREV, "data"),
        Output(ids.MAP_BASE, "data"),
        Input(ids.SCENARIO, "data"),
        State(ids.FAILOVER_PREV, "data"),
        State(ids.MAP_BASE, "data"),
    )
    def _results(current, prev, base):
        return compute_view(current, prev, base, catalog, settings)
