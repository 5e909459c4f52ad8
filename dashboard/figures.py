"""Pure Plotly figure builders: data in, ``go.Figure`` out. No Dash, no I/O, no globals mutated.

The world map has a **named, fixed trace order** (:data:`MAP_TRACES`), whatever the data: a trace
with nothing to show is present and empty. Callbacks, clientside animation code (failover) and
tests can therefore address a layer by index (:func:`map_trace_index`) and Plotly keeps legend
state across updates. Coordinates are numpy float arrays (Plotly >= 6 ships them to the browser as
typed arrays); the paths of all clients share one trace per leg type, segments separated by NaN,
so 1 000 clients cost two traces, not 2 000.

Geometry: paths follow the WGS84 geodesic (``geodesy.great_circle_path``); plotly draws straight
segments between waypoints in the chosen projection, so we sample a waypoint every ~250 km.
"""

from __future__ import annotations

import html
import math
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.catalog import AREAS
from dashboard.domain.geodesy import geodesic_km, great_circle_path

#: Colour of each access area (colour-blind-safe Tableau 10 hues, distinct on light land).
AREA_COLORS = {
    "Asia Pacific": "#F28E2B",
    "North America": "#4E79A7",
    "South America": "#59A14F",
    "Europe": "#B07AA1",
    "Australia": "#17BECF",
}
INTERNET_COLOR = "#5B6472"
BACKBONE_COLOR = "#FF6A00"
ORIGIN_COLOR = "#1F2937"
CLIENT_COLOR = "#1E3A8A"
DOWN_COLOR = "#9CA3AF"
UNROUTED_COLOR = "#DC2626"

#: Trace names in drawing order (later traces are drawn on top).
LEG_BACKBONE = "Backbone leg (PoP → origin)"
LEG_INTERNET = "Internet leg (client → PoP)"
ORIGINS_OTHER = "Other origin regions"
ORIGIN_SELECTED = "Origin (endpoint region)"
POPS_DOWN = "Access points down"
CLIENTS = "Clients"
UNROUTED = "Clients with no route"
MAP_TRACES: tuple[str, ...] = (
    LEG_BACKBONE,
    LEG_INTERNET,
    ORIGINS_OTHER,
    *(f"Access points · {a}" for a in AREAS),
    POPS_DOWN,
    ORIGIN_SELECTED,
    CLIENTS,
    UNROUTED,
)

#: Most client -> PoP paths drawn; beyond this the map shows markers only (the table has all).
MAX_DRAWN_PATHS = 2_000
#: Most client markers drawn (scattergeo is SVG: tens of thousands of nodes make panning sluggish).
MAX_DRAWN_CLIENTS = 10_000
#: Target spacing of path waypoints, km, and the most waypoints per path (antipodal paths get
#: ~310 km steps, still smooth at world scale).
WAYPOINT_KM = 250.0
MAX_WAYPOINTS = 64

UIREVISION = "world-map"


def map_trace_index(name: str) -> int:
    """Index of a named layer in every map figure (``ValueError`` for an unknown name)."""
    return MAP_TRACES.index(name)


def pop_trace_name(area: str) -> str:
    return f"Access points · {area}"


def geodesic_polyline(lat1: Sequence[float], lon1: Sequence[float], lat2: Sequence[float],
                      lon2: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """All segments point 1 -> point 2 as one polyline, NaN between segments, degrees.

    Waypoints follow the WGS84 geodesic, one every ~:data:`WAYPOINT_KM` (at least the two ends,
    at most :data:`MAX_WAYPOINTS`),
    with longitudes unrolled so that a path crossing the antimeridian does not jump.
    """
    a1, o1, a2, o2 = (np.asarray(x, dtype=float).ravel() for x in (lat1, lon1, lat2, lon2))
    if len(a1) == 0:
        return np.empty(0), np.empty(0)
    km = geodesic_km(a1, o1, a2, o2)
    lats: list[np.ndarray] = []
    lons: list[np.ndarray] = []
    gap = np.array([np.nan])
    for i in range(len(a1)):
        n = int(min(MAX_WAYPOINTS, max(2, math.ceil(km[i] / WAYPOINT_KM) + 1)))
        la, lo = great_circle_path(a1[i], o1[i], a2[i], o2[i], n=n)
        lats += [la, gap]
        lons += [lo, gap]
    return np.concatenate(lats[:-1]), np.concatenate(lons[:-1])


def hover_text(value: object) -> str:
    """``value`` as literal text inside Plotly hover/label text.

    Plotly renders a subset of HTML in ``text``/``hovertext`` (``<b>``, ``<br>``, ``<a href>``,
    ``<span style>`` ...) and decodes ``&lt;``/``&gt;``/``&amp;``. Client names come from users
    (links, uploads, the API) and catalog names from operators' files, so every such label is
    escaped: ``<img src=x onerror=...>`` shows as those characters, never as markup.
    """
    return html.escape(str(value), quote=False)


def _fmt_ms(v: float) -> str:
    return "–" if not np.isfinite(v) else f"{v:.0f} ms"


def _fmt_km(v: float) -> str:
    return "–" if not np.isfinite(v) else f"{v:,.0f} km"


def _empty_geo(name: str, mode: str = "markers", **kw: object) -> go.Scattergeo:
    return go.Scattergeo(name=name, lat=np.empty(0), lon=np.empty(0), mode=mode, **kw)


def map_figure(pops: pd.DataFrame, origins: pd.DataFrame, origin_id: str,
               routes: pd.DataFrame | None = None, client_names: Sequence[str] = (),
               down: Iterable[str] = ()) -> go.Figure:
    """The world map: access points, origins, clients and their paths.

    ``pops`` / ``origins``: catalog tables (id, name, city, lat, lon; pops also area).
    ``routes``: ``paths.client_paths`` output in client order (columns lat, lon, pop_id, pop_km,
    backbone_km, internet_ms, backbone_ms, anycast_ms, routed), or None for no clients.
    ``client_names``: one label per route row (may be shorter; missing ones get "client i").
    ``down``: access point ids marked down (greyed, crossed, excluded from routing upstream).
    """
    down_set = set(down)
    traces: dict[str, go.Scattergeo] = {}
    origin_row = origins[origins["id"] == origin_id]
    o_lat = float(origin_row["lat"].iloc[0]) if len(origin_row) else math.nan
    o_lon = float(origin_row["lon"].iloc[0]) if len(origin_row) else math.nan
    pop_pos = {r.id: (float(r.lat), float(r.lon)) for r in pops.itertuples()}

    # -- paths -----------------------------------------------------------------------------------
    routed = routes[routes["routed"].astype(bool)] if routes is not None and len(routes) else None
    net_lat = net_lon = bb_lat = bb_lon = np.empty(0)
    if routed is not None and len(routed):
        drawn = routed.iloc[:MAX_DRAWN_PATHS]
        p_lat = np.array([pop_pos[p][0] for p in drawn["pop_id"]])
        p_lon = np.array([pop_pos[p][1] for p in drawn["pop_id"]])
        net_lat, net_lon = geodesic_polyline(drawn["lat"], drawn["lon"], p_lat, p_lon)
        if np.isfinite(o_lat):
            used = [p for p in dict.fromkeys(routed["pop_id"]) if pop_pos[p] != (o_lat, o_lon)]
            if used:
                ul = np.array([pop_pos[p] for p in used])
                bb_lat, bb_lon = geodesic_polyline(ul[:, 0], ul[:, 1], np.full(len(used), o_lat),
                                                   np.full(len(used), o_lon))
    traces[LEG_BACKBONE] = go.Scattergeo(
        name=LEG_BACKBONE, lat=bb_lat, lon=bb_lon, mode="lines", hoverinfo="skip",
        line=dict(color=BACKBONE_COLOR, width=3), opacity=0.9, legendrank=2)
    traces[LEG_INTERNET] = go.Scattergeo(
        name=LEG_INTERNET, lat=net_lat, lon=net_lon, mode="lines", hoverinfo="skip",
        line=dict(color=INTERNET_COLOR, width=1.3, dash="dot"), opacity=0.85, legendrank=3)

    # -- origins -----------------------------------------------------------------------------------
    def origin_text(df: pd.DataFrame) -> list[str]:
        return [f"<b>{hover_text(r.name)}</b> ({hover_text(r.id)})<br>origin region · endpoints: "
                f"{hover_text(', '.join(r.endpoint_types))}<br>{r.lat:.4f}, {r.lon:.4f}"
                for r in df.itertuples()]

    others = origins[origins["id"] != origin_id]
    traces[ORIGINS_OTHER] = go.Scattergeo(
        name=ORIGINS_OTHER, lat=others["lat"].to_numpy(float), lon=others["lon"].to_numpy(float),
        mode="markers", customdata=others["id"].to_numpy(object),
        hovertext=origin_text(others), hoverinfo="text",
        marker=dict(symbol="square-open", size=11, color=ORIGIN_COLOR, line=dict(width=1.5)),
        opacity=0.55, legendrank=9)
    traces[ORIGIN_SELECTED] = go.Scattergeo(
        name=ORIGIN_SELECTED, lat=origin_row["lat"].to_numpy(float),
        lon=origin_row["lon"].to_numpy(float), mode="markers+text",
        text=origin_row["id"].to_numpy(object), textposition="bottom center",
        textfont=dict(size=11, color=ORIGIN_COLOR), customdata=origin_row["id"].to_numpy(object),
        hovertext=origin_text(origin_row), hoverinfo="text",
        marker=dict(symbol="square", size=14, color=ORIGIN_COLOR,
                    line=dict(color=BACKBONE_COLOR, width=2.5)), legendrank=1)

    # -- access points, one trace per area (legend = colour key) -----------------------------------
    for area in AREAS:
        sel = pops[(pops["area"] == area) & ~pops["id"].isin(down_set)]
        traces[pop_trace_name(area)] = go.Scattergeo(
            name=pop_trace_name(area), lat=sel["lat"].to_numpy(float),
            lon=sel["lon"].to_numpy(float), mode="markers",
            customdata=sel["id"].to_numpy(object),
            hovertext=[f"<b>{hover_text(r.name)}</b> · {hover_text(r.id)}<br>"
                       f"{r.area} access point"
                       f"<br>{r.lat:.4f}, {r.lon:.4f}" for r in sel.itertuples()],
            hoverinfo="text",
            marker=dict(symbol="circle", size=12, color=AREA_COLORS.get(area, "#888"),
                        line=dict(color="white", width=1.5)),
            legendrank=10 + AREAS.index(area), visible=True if len(sel) else "legendonly")
    dn = pops[pops["id"].isin(down_set)]
    traces[POPS_DOWN] = go.Scattergeo(
        name=POPS_DOWN, lat=dn["lat"].to_numpy(float), lon=dn["lon"].to_numpy(float),
        mode="markers", customdata=dn["id"].to_numpy(object),
        hovertext=[f"<b>{hover_text(r.name)}</b> · {hover_text(r.id)}<br>"
                   "DOWN: excluded from routing"
                   f"<br>{r.lat:.4f}, {r.lon:.4f}" for r in dn.itertuples()],
        hoverinfo="text", showlegend=bool(len(dn)),
        marker=dict(symbol="x-thin-open", size=13, color=DOWN_COLOR, line=dict(width=3)),
        legendrank=20)

    # -- clients ------------------------------------------------------------------------------------
    c_lat = c_lon = np.empty(0)
    c_text: list[str] = []
    c_color: list[str] = []
    c_idx = np.empty(0, dtype=int)
    u_lat = u_lon = np.empty(0)
    u_text: list[str] = []
    if routes is not None and len(routes):
        shown = routes.iloc[:MAX_DRAWN_CLIENTS]
        names = [hover_text(client_names[i]) if i < len(client_names) and client_names[i]
                 else f"client {i + 1}" for i in range(len(shown))]
        ok = shown["routed"].to_numpy(bool)
        area_of = dict(zip(pops["id"], pops["area"]))
        idx = np.arange(len(shown))
        c_idx = idx[ok]
        c_lat = shown["lat"].to_numpy(float)[ok]
        c_lon = shown["lon"].to_numpy(float)[ok]
        col = {k: shown[k].to_numpy() for k in ("lat", "lon", "pop_id", "pop_km", "internet_ms",
                                                   "backbone_km", "backbone_ms", "anycast_ms")}
        direct = shown["direct_ms"].to_numpy(float) if "direct_ms" in shown else None
        for i in c_idx:
            c_color.append(AREA_COLORS.get(area_of.get(col["pop_id"][i], ""), "#888"))
            c_text.append(
                f"<b>{names[i]}</b> ({col['lat'][i]:.4f}, {col['lon'][i]:.4f})<br>"
                f"→ {col['pop_id'][i]} {_fmt_km(col['pop_km'][i])}, "
                f"{_fmt_ms(col['internet_ms'][i])} internet<br>"
                f"→ {origin_id} {_fmt_km(col['backbone_km'][i])}, "
                f"{_fmt_ms(col['backbone_ms'][i])} backbone<br>"
                f"<b>{_fmt_ms(col['anycast_ms'][i])}</b> modelled RTT"
                + (f" (direct {_fmt_ms(direct[i])})" if direct is not None else ""))
        u_lat = shown["lat"].to_numpy(float)[~ok]
        u_lon = shown["lon"].to_numpy(float)[~ok]
        u_text = [f"<b>{names[i]}</b><br>no route: every access point is down"
                  for i in idx[~ok]]
    traces[CLIENTS] = go.Scattergeo(
        name=CLIENTS, lat=c_lat, lon=c_lon, mode="markers", customdata=c_idx,
        hovertext=c_text, hoverinfo="text",
        marker=dict(symbol="diamond", size=8, color=CLIENT_COLOR,
                    line=dict(color=c_color or "white", width=1.5)), legendrank=5)
    traces[UNROUTED] = go.Scattergeo(
        name=UNROUTED, lat=u_lat, lon=u_lon, mode="markers", hovertext=u_text, hoverinfo="text",
        showlegend=bool(len(u_lat)),
        marker=dict(symbol="x", size=9, color=UNROUTED_COLOR), legendrank=6)

    fig = go.Figure(data=[traces[name] for name in MAP_TRACES])
    fig.update_layout(
        uirevision=UIREVISION,  # keep the user's zoom/pan/legend state across data updates
        margin=dict(l=0, r=0, t=0, b=0),
        paper_bgcolor="rgba(0,0,0,0)",
        hovermode="closest",
        hoverdistance=12,
        hoverlabel=dict(bgcolor="white", font=dict(size=12)),
        # Vertical, in the empty lower-left corner of the natural-earth outline (South Pacific).
        legend=dict(orientation="v", yanchor="bottom", y=0.01, xanchor="left", x=0.005,
                    bgcolor="rgba(255,255,255,0.82)", bordercolor="#E5E7EB", borderwidth=1,
                    font=dict(size=10.5), itemsizing="constant", tracegroupgap=2,
                    itemclick="toggle", itemdoubleclick="toggleothers"),
        geo=dict(
            projection=dict(type="natural earth"),
            resolution=110,
            showland=True, landcolor="#E9ECEF",
            showocean=True, oceancolor="#D6E6F5",
            showcountries=True, countrycolor="#C2C8D0", countrywidth=0.5,
            showcoastlines=True, coastlinecolor="#AEB6C1", coastlinewidth=0.6,
            showlakes=False, showframe=False,
            bgcolor="rgba(0,0,0,0)",
            # Antarctica off (no clients there); the Arctic stays, because geodesics between
            # Asia and North America (SIN -> IAD) pass close to the pole.
            lataxis=dict(range=[-58, 90]),
        ),
    )
    return fig


def rtt_cdf_figure(anycast_ms: Sequence[float], direct_ms: Sequence[float],
                   weights: Sequence[float] | None = None) -> go.Figure:
    """Empirical CDF over clients of the modelled RTT, anycast path vs direct to the origin.

    Weighted by client weight (share of demand) when ``weights`` is given. NaN RTTs (clients
    with no route) are left out of the anycast curve. Traces: ``Anycast EIP``, ``Direct``.
    """
    fig = go.Figure()
    for name, values, color, dash in (("Anycast EIP", anycast_ms, BACKBONE_COLOR, "solid"),
                                      ("Direct to origin", direct_ms, INTERNET_COLOR, "dot")):
        v = np.asarray(values, dtype=float)
        w = np.ones_like(v) if weights is None else np.asarray(weights, dtype=float)
        ok = np.isfinite(v) & (w > 0) if len(v) else np.zeros(0, dtype=bool)
        v, w = v[ok], w[ok]
        order = np.argsort(v, kind="stable")
        x = v[order]
        y = np.cumsum(w[order]) / w.sum() if len(w) and w.sum() > 0 else np.empty(0)
        if len(x):  # start the step at 0 % so the curve reads as a distribution
            x, y = np.concatenate([[x[0]], x]), np.concatenate([[0.0], y])
        fig.add_trace(go.Scatter(name=name, x=x, y=y, mode="lines", line_shape="hv",
                                 line=dict(color=color, width=2.5, dash=dash),
                                 hovertemplate="%{x:.0f} ms: %{y:.0%} of clients"
                                               f"<extra>{name}</extra>"))
    fig.update_layout(
        uirevision="cdf", margin=dict(l=48, r=12, t=8, b=40), height=220,
        paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="#FAFBFC",
        xaxis=dict(title="modelled RTT (ms)", rangemode="tozero", gridcolor="#E5E7EB"),
        yaxis=dict(title="share of clients", tickformat=".0%", range=[0, 1.02],
                   gridcolor="#E5E7EB"),
        legend=dict(orientation="h", y=1.0, x=0.0, yanchor="bottom", font=dict(size=11)),
        hovermode="x unified",
    )
    return fig
