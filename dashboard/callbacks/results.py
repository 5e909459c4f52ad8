"""Results: the scenario store -> one routing service call -> map, table, key numbers, RTT CDF.

Presentation helpers (:func:`assignment_rows`, :func:`summary_numbers`) are plain functions of
plain data so tests call them without Dash.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import pandas as pd
from dash import Dash, Input, Output, html
from dash.exceptions import PreventUpdate

from dashboard import figures, ids, services
from dashboard.callbacks.scenario import client_label, resolve_origin
from dashboard.catalog import Catalog
from dashboard.domain.scenario import Client, Scenario
from dashboard.settings import Settings


def _num(v: Any) -> float | None:
    """JSON-safe number: NaN/inf -> None (the table shows an empty cell)."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def assignment_rows(routes: pd.DataFrame, clients: Sequence[Client], catalog: Catalog,
                    origin_id: str) -> list[dict]:
    """One table row per client (``id`` = client index, used by the ✕ remove column)."""
    city = dict(zip(catalog.pops["id"], catalog.pops["city"]))
    rows = []
    for i, r in enumerate(routes.itertuples(index=False)):
        c = clients[i]
        routed = bool(r.routed)
        served = bool(getattr(r, "served", routed))
        pop = f"{r.pop_id} · {city.get(r.pop_id, '')}" if routed else "no route (all down)"
        runner = (f"{r.runner_up_id} · {r.runner_up_km:,.0f} km" if r.runner_up_id else "–")
        rows.append({
            "id": i,
            "client": client_label(c),
            "pop": pop,
            "pop_km": _num(r.pop_km),
            "internet_ms": _num(r.internet_ms),
            "origin": (getattr(r, "origin_id", "") or origin_id) if served else "unserved",
            "backbone_km": _num(r.backbone_km),
            "backbone_ms": _num(r.backbone_ms),
            "anycast_ms": _num(r.anycast_ms),
            "direct_ms": _num(r.direct_ms),
            "saving_ms": _num(r.saving_ms),
            "runner_up": runner,
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
    out["unrouted"] = int((~np.isfinite(any_ms)).sum())
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
    def kpi(label: str, value: str, hint: str = "") -> html.Div:
        return html.Div(className="kpi", title=hint,
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
        items.append(kpi("without route", f"{s['unrouted']:,}", "every access point is down"))
    return items


def compute_results(current: dict | None, catalog: Catalog, settings: Settings) -> tuple:
    """(map figure, table rows, summary children, CDF figure, client count text)."""
    try:
        scenario = Scenario.from_dict(current) if current else Scenario()
    except ValueError:  # a store not written by us (hand-crafted request): keep what is shown
        raise PreventUpdate from None
    origin_id = resolve_origin(scenario, catalog, settings)
    clients = scenario.clients
    down = frozenset(d for d in scenario.down if d in catalog.pop_ids)
    routes = None
    if clients:
        routes = services.route_table(catalog, tuple((c.lat, c.lon) for c in clients), origin_id,
                                      down)
    names = [client_label(c) for c in clients]
    fig = figures.map_figure(catalog.pops, catalog.origins, origin_id, routes, names, down)
    if routes is None:
        empty = pd.DataFrame({"anycast_ms": [], "saving_ms": [], "routed": [], "pop_id": []})
        return (fig, [], render_summary(summary_numbers(empty, [], len(catalog.pops)), origin_id),
                figures.rtt_cdf_figure([], []), "No clients yet")
    weights = [c.weight for c in clients]
    rows = assignment_rows(routes, clients, catalog, origin_id)
    summary = render_summary(summary_numbers(routes, weights, len(catalog.pops)), origin_id)
    cdf = figures.rtt_cdf_figure(routes["anycast_ms"], routes["direct_ms"], weights)
    count = f"{len(clients):,} client{'s' if len(clients) != 1 else ''}"
    return fig, rows, summary, cdf, count


def register(app: Dash, catalog: Catalog, settings: Settings) -> None:
    """Attach the results callback to ``app``."""

    @app.callback(
        Output(ids.WORLD_MAP, "figure"),
        Output(ids.ASSIGNMENT_TABLE, "data"),
        Output(ids.SUMMARY, "children"),
        Output(ids.RTT_CDF, "figure"),
        Output(ids.CLIENT_COUNT, "children"),
        Input(ids.SCENARIO, "data"),
    )
    def _results(current):
        return compute_results(current, catalog, settings)
