"""The world map of the map view: data in, ``go.Figure`` (or its traces) out. Pure Plotly: no Dash,
no I/O, no globals mutated.

The map has a **named, fixed trace order** (:data:`MAP_TRACES`), whatever the data: a trace
with nothing to show is present and empty. Callbacks, clientside animation code (failover) and
tests can therefore address a layer by index (:func:`map_trace_index`) and Plotly keeps legend
state across updates. Coordinates are numpy float arrays (Plotly >= 6 ships them to the browser as
typed arrays); the paths of all clients share one trace per leg type, segments separated by NaN,
so 1 000 clients cost two traces, not 2 000.

Geometry: paths follow the WGS84 geodesic (``geodesy.great_circle_path``); plotly draws straight
segments between waypoints in the chosen projection, so we sample a waypoint every ~250 km.
"""

from __future__ import annotations

import math
import threading
import weakref
from collections import OrderedDict
from typing import Any, Callable, Collection, Iterable, NamedTuple, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.domain.frames import colvals
from dashboard.catalog import AREAS
from dashboard.domain.geodesy import geodesic_km, great_circle_path
from dashboard.domain.paths import row_codes
from dashboard.domain.policy import flag_phrase
from dashboard.services.map import (  # noqa: F401 (re-used here)
    AGGREGATE_FROM, COMPACT_FROM, MAX_DRAWN_CLIENTS)
from dashboard.figures.common import (BACKBONE_COLOR, DOWN_COLOR, INTERNET_COLOR, ORIGIN_COLOR,
                                      hover_text, typed_array)

#: Colour of each access area (colour-blind-safe Tableau 10 hues, distinct on light land).
AREA_COLORS = {
    "Asia Pacific": "#F28E2B",
    "North America": "#4E79A7",
    "South America": "#59A14F",
    "Europe": "#B07AA1",
    "Australia": "#17BECF",
}
CLIENT_COLOR = "#1E3A8A"
UNROUTED_COLOR = "#DC2626"

#: Trace names in drawing order (later traces are drawn on top).
LEG_BACKBONE = "Backbone leg (PoP → origin)"
LEG_INTERNET = "Internet leg (client → PoP)"
ORIGINS_OTHER = "Other origin regions"
ORIGIN_SELECTED = "Origin (endpoint region)"
POPS_DOWN = "Access points down"
CLIENTS = "Clients"
UNROUTED = "Clients with no route"
ENDPOINTS_DOWN = "Endpoints down"
UNSERVED = "Clients unserved (endpoint down)"
#: The failover animation draws the paths of the clients that move in these two traces (the
#: browser steps them with Plotly.restyle); they are empty whenever nothing is animating.
MOVING_BACKBONE = "Moving backbone legs"
MOVING_INTERNET = "Moving internet legs"
#: Planned (hypothetical) access points (docs/planning.md): hollow, dashed-looking markers
#: labelled "planned", drawn apart from the catalog's area layers.
PLANNED = "Planned access points (what-if)"
#: Support (issue 17): the path of a client whose entry point was observed (a traceroute, or set by
#: hand), client -> observed PoP -> that PoP's origin, beside the modelled one.
OBSERVED = "Observed entry (support)"
OBSERVED_COLOR = "#B91C1C"
PLANNED_COLOR = "#0F766E"
MAP_TRACES: tuple[str, ...] = (
    LEG_BACKBONE,
    LEG_INTERNET,
    # clients under the access points and origins (issue 17: PoPs always on top)
    CLIENTS,
    UNROUTED,
    UNSERVED,
    ORIGINS_OTHER,
    *(f"Access points · {a}" for a in AREAS),
    POPS_DOWN,
    ORIGIN_SELECTED,
    ENDPOINTS_DOWN,
    MOVING_BACKBONE,
    MOVING_INTERNET,
    # added for planned PoPs (appended: the earlier indices stay put)
    PLANNED,
    OBSERVED,
)
MOVING_COLOR = "#7C3AED"
#: Opacity of the moving layers once shown (assets/failover.js REVEAL_OPACITY, kept in step).
MOVING_OPACITY = 0.95

#: Most client -> PoP paths drawn; beyond this the map shows markers only (the table has all).
MAX_DRAWN_PATHS = 2_000
#: Target spacing of path waypoints, km, and the most waypoints per path (antipodal paths get
#: ~310 km steps, still smooth at world scale).
WAYPOINT_KM = 250.0
MAX_WAYPOINTS = 64

#: From this many clients on, the map uses its compact encoding (see :func:`map_figure`), and
#: at most MAX_DRAWN_CLIENTS markers are drawn (scattergeo is SVG: tens of thousands of nodes
#: make panning sluggish). Defined by the map service, which keys the patchable base on them.

UIREVISION = "world-map"


#: Layout of the world map (static: data updates keep the user's view through ``uirevision``).
MAP_LAYOUT: dict = dict(
        uirevision=UIREVISION,  # keep the user's zoom/pan/legend state across data updates
        margin=dict(l=0, r=0, t=0, b=0),
        paper_bgcolor="rgba(0,0,0,0)",
        hovermode="closest",
        hoverdistance=12,
        hoverlabel=dict(bgcolor="white", font=dict(size=12)),
        # Outside the plot, in rows under the map (issue 17: inside, it covered ~40 % of an
        # 800 px map); the page's "Legend" button hides it (assets/map_view.js).
        legend=dict(orientation="h", yanchor="top", y=-0.005, xanchor="left", x=0.0,
                    bgcolor="rgba(255,255,255,0)", borderwidth=0,
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


def map_trace_index(name: str) -> int:
    """Index of a named layer in every map figure (``ValueError`` for an unknown name)."""
    return MAP_TRACES.index(name)


def pop_trace_name(area: str) -> str:
    return f"Access points · {area}"


#: Label of each access point on the main map: its 3-letter id above the marker (issue 17).
POP_LABEL_FONT = dict(size=10, color="#1F2937", family="Arial, sans-serif")


def pop_labels(ids: Sequence[str]) -> dict:
    """Scattergeo attributes that label access point markers with their ids (``mode``,
    ``text``, ``textposition``, ``textfont``): spread into a PoP layer's constructor."""
    return dict(mode="markers+text", text=[hover_text(i) for i in ids],
                textposition="top center", textfont=POP_LABEL_FONT)


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


def bgp_line(network_pop: str, gap_ms: float) -> str:
    """Hover line of a flagged client (issue 14): the PoP BGP would likely pick and how much
    shorter its internet leg is."""
    return f"{flag_phrase(hover_text(network_pop))}: −{gap_ms:.0f} ms"


def _fmt_ms(v: float) -> str:
    return "–" if not np.isfinite(v) else f"{v:.0f} ms"


def _fmt_km(v: float) -> str:
    return "–" if not np.isfinite(v) else f"{v:,.0f} km"


def straight_legs(lat1: Sequence[float], lon1: Sequence[float], lat2: Sequence[float],
                  lon2: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """All segments point 1 -> point 2 as one float32 polyline of their end points, NaN between
    segments, degrees -- the compact form of :func:`geodesic_polyline` for thousands of paths.

    plotly.js draws each segment of a scattergeo line as a great-circle arc (d3-geo resamples
    it in the projection), and at world scale the WGS84 geodesic and the great circle differ by
    less than a line width; one waypoint per leg end costs 3 numbers per path instead of up to
    64 and no per-path geodesic calls (the what-if redraw budget is 100 ms for 25,000 clients).
    """
    a1, o1, a2, o2 = (np.asarray(x, dtype=np.float32).ravel() for x in (lat1, lon1, lat2, lon2))
    n = len(a1)
    if n == 0:
        return np.empty(0, np.float32), np.empty(0, np.float32)
    lat = np.full((n, 3), np.nan, dtype=np.float32)
    lon = np.full((n, 3), np.nan, dtype=np.float32)
    lat[:, 0], lat[:, 1], lon[:, 0], lon[:, 1] = a1, a2, o1, o2
    return lat.ravel()[:-1], lon.ravel()[:-1]


#: Columns of the compact clients layer's ``customdata`` (float32), in order.
COMPACT_CUSTOMDATA = ("pop_km", "internet_ms", "backbone_km", "backbone_ms",
                      "anycast_ms", "direct_ms")


def _compact_clients(routes: pd.DataFrame, pops: pd.DataFrame, origin_id: str,
                     client_names: Sequence[str], patch: bool = False
                     ) -> tuple[dict, dict, dict]:
    """Clients, unrouted and unserved layers (trace attributes) for large client sets, from
    numpy arrays only. ``patch``: the clients layer without its names (``text``): a patch keeps
    the browser's (the names are escaped for the unrouted and unserved clients only).

    Instead of one preformatted hover string per client (~170 bytes each, a Python loop), the
    numbers travel as one float32 ``customdata`` matrix (:data:`COMPACT_CUSTOMDATA`; plotly
    sends it as a base64 typed array) formatted in the browser by a ``hovertemplate``; the name
    is ``text`` and the PoP id ``hovertext``. The outline colour (area of the client's PoP) is a
    number on a stepped colour scale instead of a colour string per client. 10,000 drawn
    clients: ~0.5 MB instead of ~2.5 MB, ~10 ms instead of ~1 s.
    """
    shown = routes.iloc[:MAX_DRAWN_CLIENTS]
    n = len(shown)
    routed = colvals(shown, "routed", bool)
    served = colvals(shown, "served", bool) if "served" in shown else routed
    ok = routed & served
    idx = np.flatnonzero(ok)
    name_of = _NameOf(client_names)  # user text: escaped like every hover label (hover_text)

    def names(rows: np.ndarray) -> np.ndarray:
        return np.array([name_of[int(i)] for i in rows], dtype=object)
    areas = list(AREA_COLORS)
    area_ix = {a: i for i, a in enumerate(areas)}
    # kept per catalog table, read only here (building it from the Arrow columns on every
    # what-if cost ~0.04 ms, issue 16)
    pop_area = _kept(pops, ("pop_area",), lambda: dict(zip(pops["id"].tolist(),
                                                             pops["area"].tolist())))
    pop_ids = colvals(shown, "pop_id", object)[idx]
    uniq, inv = np.unique(pop_ids.astype(str), return_inverse=True)
    # Value i + 0.5 sits in the middle of step i of the stepped scale below.
    code = (np.array([area_ix.get(pop_area.get(p, ""), len(areas)) for p in uniq],
                     dtype=np.float32)[inv] + np.float32(0.5)) if len(uniq) \
        else np.empty(0, np.float32)
    colors = [*AREA_COLORS.values(), "#888888"]
    k = len(colors)
    scale = []
    for i, c in enumerate(colors):  # stepped: value i -> colour i
        scale += [[i / k, c], [(i + 1) / k, c]]
    cd = np.empty((len(idx), len(COMPACT_CUSTOMDATA)), dtype=np.float32)
    for j, col in enumerate(COMPACT_CUSTOMDATA):
        cd[:, j] = shown[col].to_numpy(float)[idx] if col in shown else np.nan
    oids = (colvals(shown, "origin_id", object)[idx] if "origin_id" in shown
            else np.full(len(idx), origin_id, dtype=object))
    oids = np.where(oids == "", origin_id, oids)
    if len(idx) and (oids != origin_id).any():  # Normal endpoints: name each client's origin
        hover = pop_ids.astype(str).astype(object) + " → " + oids.astype(str).astype(object)
        bb = "backbone"
    else:  # one origin for all: the shorter payload
        hover, bb = pop_ids, f"→ {origin_id}"
    if "bgp_flag" in shown and len(idx):  # the few flagged clients name BGP's likely PoP
        flag = np.flatnonzero(colvals(shown, "bgp_flag", bool)[idx])
        if len(flag):
            hover = np.array(hover, dtype=object)
            net = colvals(shown, "network_pop_id", object)[idx]
            gap = colvals(shown, "bgp_gap_ms", float)[idx]
            for j in flag:
                hover[j] = f"{hover[j]} ({bgp_line(net[j], gap[j])})"
    template = ("<b>%{text}</b> (%{lat:.4f}, %{lon:.4f})<br>"
                "→ %{hovertext} %{customdata[0]:,.0f} km, %{customdata[1]:.0f} ms internet<br>"
                f"{bb} %{{customdata[2]:,.0f}} km, %{{customdata[3]:.0f}} ms backbone<br>"
                "<b>%{customdata[4]:.0f} ms</b> modelled RTT (direct %{customdata[5]:.0f} ms)"
                "<extra></extra>")
    lat = colvals(shown, "lat", np.float32)
    lon = colvals(shown, "lon", np.float32)
    clients = dict(
        name=CLIENTS, lat=lat[idx], lon=lon[idx], mode="markers", customdata=cd,
        text=None if patch else names(idx), hovertext=hover, hovertemplate=template,
        marker=dict(symbol="diamond", size=6, color=CLIENT_COLOR,
                    line=dict(color=code, colorscale=scale, cmin=0, cmax=k,
                              width=1.2)),
        legendrank=5)
    if patch:
        del clients["text"]
    bad = np.flatnonzero(~routed)
    unrouted = dict(
        name=UNROUTED, lat=lat[bad], lon=lon[bad], mode="markers", text=names(bad),
        hovertemplate="<b>%{text}</b><br>no route: every access point is down<extra></extra>",
        showlegend=bool(len(bad)),
        marker=dict(symbol="x", size=9, color=UNROUTED_COLOR), legendrank=6)
    lost = np.flatnonzero(routed & ~served)
    unserved = dict(
        name=UNSERVED, lat=lat[lost], lon=lon[lost], mode="markers", text=names(lost),
        hovertext=colvals(shown, "pop_id", object)[lost], customdata=lost,
        hovertemplate="<b>%{text}</b><br>enters at %{hovertext}, whose endpoint is down: "
                      "<b>unserved</b> (no automatic failover between endpoints)<extra></extra>",
        showlegend=bool(len(lost)),
        marker=dict(symbol="diamond-open", size=9, color=UNROUTED_COLOR, line=dict(width=2)),
        legendrank=7)
    return clients, unrouted, unserved


#: Grid cell of the aggregated clients layer, degrees of latitude and longitude (~330 km at the
#: equator: ~1,400 markers for the 25,000 largest cities instead of 10,000 diamonds).
BIN_DEG = 3.0
#: Columns of the aggregated clients layer's ``customdata`` (float32), in order: the cell's
#: mean modelled RTT first (a float: a click handler never mistakes it for a client index).
BIN_CUSTOMDATA = ("anycast_ms", "clients", "main_share", "internet_ms", "saving_ms")


def client_bins(lat: np.ndarray, lon: np.ndarray, cell_deg: float = BIN_DEG
                ) -> tuple[np.ndarray, np.ndarray]:
    """Grid cells of points (degrees): (cell of each point, 0..m-1; first member of each cell).

    Cells are numbered in the order of their first member, so a client list sorted by
    importance (a demand set: most populous first) gives the largest city's cell first.
    """
    lat = np.asarray(lat, dtype=float)
    lon = np.asarray(lon, dtype=float)
    if not len(lat):
        return np.empty(0, np.int64), np.empty(0, np.int64)
    row = np.floor((np.clip(lat, -90, 90) + 90) / cell_deg).astype(np.int64)
    col = np.floor((np.mod(lon + 180, 360)) / cell_deg).astype(np.int64)
    key = row * 1_000 + col
    _, first, inv = np.unique(key, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")      # cells by first member
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return rank[inv.ravel()], first[order]


def bin_marker_size(count: np.ndarray) -> np.ndarray:
    """Marker diameter, px, of a cell with ``count`` clients: area grows with the count
    (5 px for one client, 24 px from ~300)."""
    return np.clip(4.0 + 1.15 * np.sqrt(np.asarray(count, dtype=float)), 5.0, 24.0
                   ).astype(np.float32)


class _NameOf:
    """Hover-safe name of client ``i`` ("client i+1" when it has none), computed on demand: an
    aggregated layer names one client per cell, not 25,000."""

    def __init__(self, client_names: Sequence[str]) -> None:
        self.names = client_names

    def __getitem__(self, i: int) -> str:
        name = self.names[i] if i < len(self.names) else ""
        return hover_text(name) if name else f"client {i + 1}"


def _bin_layer(name: str, lat: np.ndarray, lon: np.ndarray, names: _NameOf, sel: np.ndarray,
               hover: str, marker: dict, legendrank: int) -> dict:
    """One marker per grid cell of the clients ``sel`` (row positions), at their mean position,
    named after the cell's first client, ``hover`` = "<N> clients ..." text."""
    cell, first = client_bins(lat[sel], lon[sel])
    count = np.bincount(cell, minlength=len(first)).astype(float)
    clat = (np.bincount(cell, lat[sel], len(first)) / np.maximum(count, 1)).astype(np.float32)
    clon = (np.bincount(cell, lon[sel], len(first)) / np.maximum(count, 1)).astype(np.float32)
    text = [f"{names[int(sel[f])]}{f' and {int(c) - 1:,} more' if c > 1 else ''}"
            for f, c in zip(first, count)]
    return dict(
        name=name, lat=clat, lon=clon, mode="markers", text=text, customdata=count,
        hovertemplate=f"<b>%{{text}}</b><br>%{{customdata:,}} {hover}<extra></extra>",
        showlegend=bool(len(first)),
        marker=dict(marker, size=bin_marker_size(count)), legendrank=legendrank)


class RouteCodes(NamedTuple):
    """Every route row's PoP and origin as integer codes into ``pop_ids`` / ``origin_ids``
    (each distinct; -1 where there is none): hashing 25,000 ids costs ~0.5 ms per column, so
    the path and clients layers of one map share one set of codes (issue 16). The numbering is
    arbitrary: the layers renumber in order of first occurrence where order matters."""

    pop: np.ndarray        # code of each row's PoP id
    pop_ids: np.ndarray    # the ids, by code
    origin: np.ndarray     # code of each row's origin region ("" counted as ``origin_id``)
    origin_ids: np.ndarray


def route_codes(routes: pd.DataFrame, origin_id: str) -> RouteCodes:
    """:class:`RouteCodes` of ``routes`` (the ``origin_id`` argument for tables without the
    column or rows with ""): the codes the route table was built with
    (:func:`~dashboard.domain.paths.row_codes`, ~0.1 ms) when it has them, else by
    ``pd.factorize`` of the two columns (~1.2 ms for 25,000 rows)."""
    rc = row_codes(routes)
    if rc is not None:
        # "" (not served) counts as ``origin_id``: ids that become equal share one code
        first: dict[str, int] = {}
        remap = np.array([first.setdefault(o or origin_id, len(first))
                          for o in rc.origin_ids.tolist()], dtype=np.int64)
        return RouteCodes(rc.pop, rc.pop_ids, remap[rc.origin],
                          np.array(list(first), dtype=object))
    oids = (colvals(routes, "origin_id", object) if "origin_id" in routes
            else np.full(len(routes), origin_id, dtype=object))
    oids = np.where(oids == "", origin_id, oids)
    p_code, p_uniq = pd.factorize(colvals(routes, "pop_id", object))
    o_code, o_uniq = pd.factorize(oids)
    return RouteCodes(p_code, np.asarray(p_uniq, dtype=object), o_code,
                      np.asarray(o_uniq, dtype=object))


def _unique_small(codes: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(codes, return_inverse=True)`` for integer codes in ``0..size-1`` (a few
    hundred (PoP, origin) pairs): a presence table instead of a sort of every row."""
    present = np.zeros(max(size, 1), dtype=bool)
    present[codes] = True
    lookup = np.cumsum(present) - 1
    return np.flatnonzero(present), lookup[codes]


def _first_seen(codes: np.ndarray, uniq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize(uniq[codes])`` for codes >= 0: the codes renumbered in the order of their
    first occurrence in ``codes``, and the values in that order."""
    first = np.full(len(uniq), len(codes), dtype=np.int64)
    np.minimum.at(first, codes, np.arange(len(codes)))
    present = np.flatnonzero(first < len(codes))
    order = present[np.argsort(first[present], kind="stable")]
    label = np.full(len(uniq), -1, dtype=np.int64)
    label[order] = np.arange(len(order))
    return label[codes], uniq[order]


class ClientCells(NamedTuple):
    """The grid cells of the aggregated clients layer (:func:`client_cells`): what depends only
    on the clients and on which are routed and served (``services.map.map_base_key``)."""

    ok: np.ndarray      # row positions of the routed and served clients
    cell: np.ndarray    # cell of each of them, 0..m-1
    first: np.ndarray   # first member (position in ``ok``) of each cell
    count: np.ndarray   # clients per cell (float)


def client_cells(routes: pd.DataFrame) -> ClientCells:
    """:class:`ClientCells` of ``routes`` (rows in client order; routed, served, lat, lon)."""
    routed = colvals(routes, "routed", bool)
    served = colvals(routes, "served", bool) if "served" in routes else routed
    ok = np.flatnonzero(routed & served)
    cell, first = client_bins(colvals(routes, "lat", float)[ok],
                              colvals(routes, "lon", float)[ok])
    return ClientCells(ok, cell, first, np.bincount(cell, minlength=len(first)).astype(float))


def _binned_clients(routes: pd.DataFrame, pops: pd.DataFrame, origin_id: str,
                    client_names: Sequence[str], patch: bool = False,
                    cells: ClientCells | None = None, codes: RouteCodes | None = None
                    ) -> tuple[dict, dict | None, dict | None]:
    """Clients, unrouted and unserved layers (trace attributes) for very large client sets (from
    :data:`AGGREGATE_FROM`): every client counts, in one marker per :data:`BIN_DEG` grid cell at
    the mean position of its clients, its area proportional to their number. The outline is the
    colour of the area of the PoP most of them enter at; the hover gives the count, that PoP and
    its share, and the cell's mean RTTs (not weighted: a cell's clients are places).

    The cells' positions, sizes and names depend only on the clients and on which are routed and
    served (``services.map.map_base_key``), so a what-if patches the routing numbers only, like
    the compact layer. ~1,400 markers for the 25,000 largest cities: the browser redraws the map
    in a fraction of the time of 10,000 diamonds, and the access points stay visible.

    ``patch``: only what a what-if changes -- the clients layer's ``customdata``, ``hovertext``,
    ``hovertemplate`` and ``marker`` -- and None for the unrouted and unserved layers (same base
    key, same layers); no name is escaped. ``cells``: :func:`client_cells` of ``routes`` when
    the caller has them (they are the same for every what-if on one base).
    """
    ok, cell, first, count = cells if cells is not None else client_cells(routes)
    m = len(first)
    safe = np.maximum(count, 1)
    # the PoP (and origin) most clients of a cell enter at, and its share
    rc = codes if codes is not None else route_codes(routes, origin_id)
    pc, oc = rc.pop[ok], rc.origin[ok]
    if len(ok) and (pc.min() < 0 or oc.min() < 0):  # not expected: a served row has both ids
        oids = np.where(oc < 0, None, rc.origin_ids[np.maximum(oc, 0)])
        p_code, p_uniq = pd.factorize(colvals(routes, "pop_id", object)[ok])
        o_code, o_uniq = pd.factorize(oids)
    else:  # numbered in first-seen order among these rows, as pd.factorize of them would
        p_code, p_uniq = _first_seen(pc, rc.pop_ids)
        o_code, o_uniq = _first_seen(oc, rc.origin_ids)
    combo = p_code * max(1, len(o_uniq)) + o_code
    pairs, vi = (np.unique(combo, return_inverse=True) if len(combo) and combo.min() < 0
                 else _unique_small(combo, len(p_uniq) * max(1, len(o_uniq))))
    uniq = np.array([f"{p_uniq[c // max(1, len(o_uniq))]} → {o_uniq[c % max(1, len(o_uniq))]}"
                     for c in pairs], dtype=object)
    votes = np.bincount(cell * len(uniq) + vi.ravel(), minlength=m * len(uniq)).reshape(
        m, len(uniq)) if m else np.zeros((0, max(1, len(uniq))))
    main = votes.argmax(axis=1) if m else np.empty(0, np.int64)
    share = (votes[np.arange(m), main] / safe) if m else np.empty(0)
    cd = np.empty((m, len(BIN_CUSTOMDATA)), dtype=np.float32)
    for j, col in enumerate(BIN_CUSTOMDATA):
        if col == "clients":
            cd[:, j] = count
        elif col == "main_share":
            cd[:, j] = share
        else:
            v = colvals(routes, col, float)[ok] if col in routes else np.full(len(ok), np.nan)
            fin = np.isfinite(v)
            if fin.all():  # every value: the cells' own counts (the same division, ~0.04 ms less)
                cd[:, j] = np.bincount(cell, v, m) / safe
            else:
                cd[:, j] = (np.bincount(cell[fin], v[fin], m)
                            / np.maximum(np.bincount(cell[fin], minlength=m), 1))
    areas = list(AREA_COLORS)
    area_ix = {a: i for i, a in enumerate(areas)}
    # kept per catalog table, read only here (building it from the Arrow columns on every
    # what-if cost ~0.04 ms, issue 16)
    pop_area = _kept(pops, ("pop_area",), lambda: dict(zip(pops["id"].tolist(),
                                                             pops["area"].tolist())))
    # per distinct (PoP, origin) pair, then per cell: ~20 strings split, not one per cell
    pop_of = [v.split(" → ")[0] for v in uniq]
    code = (np.array([area_ix.get(pop_area.get(p, ""), len(areas)) for p in pop_of],
                     dtype=np.float32)[main] if m else np.empty(0, np.float32)) + np.float32(0.5)
    colors = [*AREA_COLORS.values(), "#888888"]
    scale = []
    for i, c in enumerate(colors):  # stepped: value i -> colour i
        scale += [[i / len(colors), c], [(i + 1) / len(colors), c]]
    if not m:
        hover = np.empty(0, dtype=object)
    elif len(o_uniq) > 1:
        hover = uniq[main]
    else:
        hover = np.array(pop_of, dtype=object)[main]
    template = ("<b>%{text}</b><br>%{customdata[1]:,.0f} clients in this area "
                f"({BIN_DEG:g}° cell)<br>%{{customdata[2]:.0%}} enter at %{{hovertext}}"
                + ("" if len(o_uniq) > 1 else f" → {origin_id}")
                + "<br><b>%{customdata[0]:.0f} ms</b> mean modelled RTT "
                "(internet leg %{customdata[3]:.0f} ms)<br>"
                "mean saving vs direct %{customdata[4]:.0f} ms<extra></extra>")
    marker = dict(symbol="circle", size=bin_marker_size(count), color=CLIENT_COLOR,
                  opacity=0.55, line=dict(color=code, colorscale=scale, cmin=0,
                                          cmax=len(colors), width=1.4))
    if patch:
        return dict(customdata=cd, hovertext=hover, hovertemplate=template,
                    marker=marker), None, None
    routed = colvals(routes, "routed", bool)
    served = colvals(routes, "served", bool) if "served" in routes else routed
    lat = colvals(routes, "lat", float)
    lon = colvals(routes, "lon", float)
    names = _NameOf(client_names)
    clat = (np.bincount(cell, lat[ok], m) / safe).astype(np.float32)
    clon = (np.bincount(cell, lon[ok], m) / safe).astype(np.float32)
    text = [f"{names[int(ok[f])]}{f' and {int(c) - 1:,} more' if c > 1 else ''}"
            for f, c in zip(first, count)]
    clients = dict(
        name=CLIENTS, lat=clat, lon=clon, mode="markers", customdata=cd, text=text,
        hovertext=hover, hovertemplate=template, marker=marker, legendrank=5)
    bad = np.flatnonzero(~routed)
    unrouted = _bin_layer(UNROUTED, lat, lon, names, bad,
                          "clients with no route: every access point is down",
                          dict(symbol="x", color=UNROUTED_COLOR), 6)
    lost = np.flatnonzero(routed & ~served)
    unserved = _bin_layer(UNSERVED, lat, lon, names, lost,
                          "clients unserved: their access point's endpoint is down (no "
                          "automatic failover between endpoints)",
                          dict(symbol="diamond-open", color=UNROUTED_COLOR, line=dict(width=2)),
                          7)
    return clients, unrouted, unserved


def leg_arrays(routes: pd.DataFrame | None, pops: pd.DataFrame, origins: pd.DataFrame,
               origin_id: str, exclude: Iterable[int] = (), compact: bool = False,
               codes: RouteCodes | None = None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(internet lats, lons, backbone lats, lons) of the static path layers, degrees, NaN gaps.

    Internet legs: one per routed client (its own PoP). Backbone legs: one per distinct
    (PoP, origin) pair used by a served client, to that PoP's mapped origin (``origin_id``
    column of ``routes``; ``origin_id`` argument for tables without it). Clients in ``exclude``
    (row positions) are left out: the failover animation draws them in the moving layers.
    ``compact``: legs by their end points only (:func:`straight_legs`), for large client sets.
    """
    empty = np.empty(0)
    if routes is None or not len(routes):
        return empty, empty, empty, empty
    # numpy columns, no row objects or DataFrame filters: ~1 ms for 25,000 clients (issue 16)
    pop_pos = _positions(pops)
    org_pos = _positions(origins)
    keep = colvals(routes, "routed", bool).copy()
    ex = _int_rows(exclude)
    keep[ex[(ex >= 0) & (ex < len(keep))]] = False
    rows = np.flatnonzero(keep)
    net_lat = net_lon = bb_lat = bb_lon = empty
    if len(rows):
        drawn = rows[:MAX_DRAWN_PATHS]
        legs = straight_legs if compact else geodesic_polyline
        rc = codes if codes is not None else route_codes(routes, origin_id)
        d_code = rc.pop[drawn]
        if len(d_code) and d_code.min() >= 0:  # one lookup per PoP in use, then a gather
            # (the PoPs in use, ascending, by a count per code: np.unique sorted every drawn
            # row, ~0.1 ms of each what-if for 25,000, issue 16)
            used = np.flatnonzero(np.bincount(d_code, minlength=len(rc.pop_ids)))
            table = np.zeros((len(rc.pop_ids), 2))
            table[used] = [pop_pos[p] for p in rc.pop_ids[used]]  # KeyError as before
            at_pop = table[d_code]
        else:
            pop_id = colvals(routes, "pop_id", object)
            at_pop = np.array([pop_pos[p] for p in pop_id[drawn]], dtype=float).reshape(-1, 2)
        p_lat, p_lon = at_pop[:, 0], at_pop[:, 1]
        net_lat, net_lon = legs(colvals(routes, "lat", float)[drawn],
                                colvals(routes, "lon", float)[drawn], p_lat, p_lon)
        if "served" in routes:
            rows = rows[colvals(routes, "served", bool)[rows]]
        # distinct (PoP, origin) pairs in first-seen order (a served client has both ids)
        p_code, o_code = rc.pop[rows], rc.origin[rows]
        pair = p_code * max(1, len(rc.origin_ids)) + o_code
        valid = np.flatnonzero((p_code >= 0) & (o_code >= 0))
        # first row of each pair: a scatter-min over the few hundred possible pair codes, not
        # np.unique's sort of ~25,000 rows (~1.3 ms, issue 16)
        first = np.full(len(rc.pop_ids) * max(1, len(rc.origin_ids)), len(pair), np.int64)
        np.minimum.at(first, pair[valid], valid)
        at = np.sort(first[first < len(pair)])
        pairs = [(p, o) for p, o in zip(rc.pop_ids[p_code[at]], rc.origin_ids[o_code[at]])
                 if o in org_pos and pop_pos[p] != org_pos[o]]
        if pairs:
            a = np.array([pop_pos[p] for p, _ in pairs])
            b = np.array([org_pos[o] for _, o in pairs])
            bb_lat, bb_lon = legs(a[:, 0], a[:, 1], b[:, 0], b[:, 1])
    return net_lat, net_lon, bb_lat, bb_lon


def _int_rows(values: Iterable[int]) -> np.ndarray:
    """``int(v)`` of each of ``values`` as an int64 array. A list or array numpy reads as
    integers (the failover plan's moving rows) is converted at once: a generator of ``int``
    calls cost ~0.15 ms for 1,000 rows of every what-if (issue 16); anything else (floats,
    text, a generator) takes that path."""
    if isinstance(values, (list, tuple, np.ndarray)):
        arr = np.asarray(values)
        if arr.ndim == 1 and arr.dtype.kind in "iu":
            return arr.astype(np.int64)
    return np.fromiter((int(i) for i in values), dtype=np.int64)


#: Catalog tables' records and positions kept by :func:`_kept` (a few catalogs: the app's and
#: those with planned PoPs).
TABLES_KEPT = 16
_tables_kept: "OrderedDict[tuple, tuple[weakref.ref, Any]]" = OrderedDict()
_tables_lock = threading.Lock()


def _kept(table: pd.DataFrame, what: tuple, build: Callable[[], Any]) -> Any:
    """``build()`` of a catalog table, kept while that table object lives: catalog tables are
    read-only (:class:`dashboard.catalog.Catalog`), and reading their columns again on every
    what-if cost ~0.4 ms (issue 16). Callers copy what they may change."""
    key = (id(table), what)
    with _tables_lock:
        hit = _tables_kept.get(key)
        if hit is not None and hit[0]() is table:
            _tables_kept.move_to_end(key)
            return hit[1]
    value = build()
    with _tables_lock:
        _tables_kept[key] = (weakref.ref(table), value)
        while len(_tables_kept) > TABLES_KEPT:
            _tables_kept.popitem(last=False)
    return value


def _records(table: pd.DataFrame, columns: Sequence[str]) -> list[dict]:
    """The rows of a catalog table as dicts of plain values (the ``columns`` it has): what
    ``to_dict("records")`` gives, in ~⅓ of the time; new dicts on every call (kept values)."""
    def build() -> list[dict]:
        cols = [c for c in columns if c in table.columns]
        return [dict(zip(cols, values)) for values in zip(*(table[c].tolist() for c in cols))]
    return [dict(r) for r in _kept(table, ("records", tuple(columns)), build)]


def _positions(table: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """``id`` -> (lat, lon) of a catalog table, degrees (a new dict on every call)."""
    return dict(_kept(table, ("positions",), lambda: dict(zip(
        table["id"], zip(colvals(table, "lat", float).tolist(),
                         colvals(table, "lon", float).tolist())))))


def map_figure(pops: pd.DataFrame, origins: pd.DataFrame, origin_id: str,
               routes: pd.DataFrame | None = None, client_names: Sequence[str] = (),
               down: Iterable[str] = (), *, endpoints: Sequence[str] = (),
               endpoints_down: Iterable[str] = (), moving: Sequence[int] = (),
               moving_start: Sequence[Sequence[float | None]] | None = None,
               animation_id: str | None = None, landing: Sequence[str] = (),
               observed: Sequence[tuple[int, str]] = (),
               mappings: Sequence[tuple[str, Sequence[str]]] = ()) -> go.Figure:
    """The world map: access points, origins, clients and their paths (see :func:`map_traces`
    for the arguments); ``animation_id`` goes to ``layout.meta.failover`` so the browser knows
    the figure of which animation it shows."""
    fig = go.Figure(data=map_traces(
        pops, origins, origin_id, routes, client_names, down, endpoints=endpoints,
        endpoints_down=endpoints_down, moving=moving, moving_start=moving_start,
        landing=landing, observed=observed, mappings=mappings))
    fig.update_layout(meta={"failover": animation_id or ""}, **MAP_LAYOUT)
    return fig


def map_traces(pops: pd.DataFrame, origins: pd.DataFrame, origin_id: str,
               routes: pd.DataFrame | None = None, client_names: Sequence[str] = (),
               down: Iterable[str] = (), *, endpoints: Sequence[str] = (),
               endpoints_down: Iterable[str] = (), moving: Sequence[int] = (),
               moving_start: Sequence[Sequence[float | None]] | None = None,
               landing: Sequence[str] = (), observed: Sequence[tuple[int, str]] = (),
               mappings: Sequence[tuple[str, Sequence[str]]] = ()) -> list[go.Scattergeo]:
    """The layers of :func:`map_figure`, in :data:`MAP_TRACES` order, without the layout:
    :func:`map_layers` validated by plotly (see there for the arguments)."""
    layers = map_layers(pops, origins, origin_id, routes, client_names, down,
                        endpoints=endpoints, endpoints_down=endpoints_down, moving=moving,
                        moving_start=moving_start, landing=landing, observed=observed,
                        mappings=mappings)
    return [go.Scattergeo(**layers[name]) for name in MAP_TRACES]


def map_layers(pops: pd.DataFrame, origins: pd.DataFrame, origin_id: str,
               routes: pd.DataFrame | None = None, client_names: Sequence[str] = (),
               down: Iterable[str] = (), *, endpoints: Sequence[str] = (),
               endpoints_down: Iterable[str] = (), moving: Sequence[int] = (),
               moving_start: Sequence[Sequence[float | None]] | None = None,
               landing: Sequence[str] = (), observed: Sequence[tuple[int, str]] = (),
               mappings: Sequence[tuple[str, Sequence[str]]] = (), for_patch: bool = False,
               cells: ClientCells | None = None) -> dict[str, dict]:
    """The map's layers as scattergeo attributes (plain dicts of numbers, strings and numpy
    arrays, not validated: a ``Patch`` sends them as they are, and plotly's validation of 16
    ``Scattergeo`` costs ~15 ms), by name (:data:`MAP_TRACES`).

    ``for_patch`` (a map of at least :data:`COMPACT_FROM` clients whose page shows the same base,
    ``services.map.map_base_key``): the clients layer holds only what a what-if changes
    (``customdata``, ``hovertext``, ``hovertemplate``, ``marker``: no positions, no names
    escaped) and, when aggregated, the unrouted and unserved layers are left out (the same base
    draws the same ones). ``cells``: :func:`client_cells` of ``routes``, when the caller keeps them.

    ``pops`` / ``origins``: catalog tables (id, name, city, lat, lon; pops also area).
    ``routes``: ``paths.client_paths`` output in client order (columns lat, lon, pop_id, pop_km,
    backbone_km, internet_ms, backbone_ms, anycast_ms, routed; optionally origin_id, served), or
    None for no clients.
    ``client_names``: one label per route row (may be shorter; missing ones get "client i").
    ``down``: access point ids marked down (greyed, crossed, excluded from routing upstream).
    ``origin_id``: region of the Default endpoint; ``endpoints``: regions of the Normal endpoints;
    ``endpoints_down``: associated regions whose endpoint is down (grey crossed squares).
    ``moving``: row positions of clients whose paths the failover animation draws instead of the
    static layers; ``moving_start`` = [internet lats, internet lons, backbone lats, backbone lons]
    of its LAST frame (the final paths), drawn with opacity 0 until ``assets/failover.js`` has
    swept the frames on its overlay and reveals them (one full map redraw per click).
    ``landing``: one line per route row, the client's most likely PoPs by landing probability
    ("LHR 55%, FRA 20%"; may be shorter or empty); shown in the hover of the full clients layer
    only (the compact layer's payload budget has no room: ``services.map.HOVER_PROBABILITIES_BELOW``).
    ``observed``: ``(client row, access point id)`` of the clients whose entry point was observed
    (``Scenario.observed``); each gets its observed path, client -> that PoP -> the PoP's
    origin (its Normal endpoint's region in ``mappings``, else ``origin_id``), dashed
    (:func:`observed_legs`).
    From :data:`COMPACT_FROM` clients on, the clients layer uses the compact encoding of
    :func:`_compact_clients` and paths are drawn by their end points (:func:`straight_legs`).
    """
    down_set = set(down)
    compact = routes is not None and len(routes) >= COMPACT_FROM
    ep_down = set(endpoints_down)
    associated = list(dict.fromkeys([origin_id, *endpoints]))
    layers: dict[str, dict] = {}

    # -- paths -----------------------------------------------------------------------------------
    codes = route_codes(routes, origin_id) if routes is not None and len(routes) else None
    net_lat, net_lon, bb_lat, bb_lon = leg_arrays(routes, pops, origins, origin_id, moving,
                                                  compact, codes)
    layers[LEG_BACKBONE] = dict(
        name=LEG_BACKBONE, lat=bb_lat, lon=bb_lon, mode="lines", hoverinfo="skip",
        line=dict(color=BACKBONE_COLOR, width=3), opacity=0.9, legendrank=2)
    layers[LEG_INTERNET] = dict(
        name=LEG_INTERNET, lat=net_lat, lon=net_lon, mode="lines", hoverinfo="skip",
        line=dict(color=INTERNET_COLOR, width=1.3, dash="dot"), opacity=0.85, legendrank=3)
    # float32 (~1 m at world scale): plotly ships it as a typed array, half the bytes of float64
    # (None, JSON's NaN, becomes NaN: numpy converts it for a float dtype)
    start = [np.array(arr, dtype=np.float32) for arr in (moving_start or ([], [], [], []))]
    # Hidden while they hold an animation's paths: the browser sweeps the frames on its overlay
    # and then reveals these (the final frame) with MOVING_OPACITY, without a plotly redraw.
    hidden = 0.0 if len(start[0]) else MOVING_OPACITY
    layers[MOVING_BACKBONE] = dict(
        name=MOVING_BACKBONE, lat=start[2], lon=start[3], mode="lines", hoverinfo="skip",
        line=dict(color=BACKBONE_COLOR, width=3.5), opacity=hidden, showlegend=False)
    layers[MOVING_INTERNET] = dict(
        name=MOVING_INTERNET, lat=start[0], lon=start[1], mode="lines", hoverinfo="skip",
        line=dict(color=MOVING_COLOR, width=2.2), opacity=hidden, showlegend=False)

    # -- origins -----------------------------------------------------------------------------------
    # The catalog tables as rows of plain values (19 PoPs, ~30 regions): filtering and formatting
    # them in Python costs ~1 ms, DataFrame filters and itertuples ~10 ms (issue 16).
    org_rows = _records(origins, ("id", "name", "endpoint_types", "lat", "lon"))
    org_by_id = {r["id"]: r for r in org_rows}

    def origin_text(rows: list[dict]) -> list[str]:
        return [f"<b>{hover_text(r['name'])}</b> ({hover_text(r['id'])})<br>origin region · "
                f"endpoints: {hover_text(', '.join(r['endpoint_types']))}<br>"
                f"{r['lat']:.4f}, {r['lon']:.4f}" for r in rows]

    def col(rows: list[dict], key: str, dtype: Any = object) -> np.ndarray:
        return np.array([r[key] for r in rows], dtype=dtype)

    assoc = set(associated)
    others = [r for r in org_rows if r["id"] not in assoc]
    live = [o for o in associated if o not in ep_down]
    origin_row = [org_by_id[o] for o in live if o in org_by_id]
    dead = [org_by_id[o] for o in associated if o in ep_down and o in org_by_id]

    def role(oid: str) -> str:
        return "Default endpoint" if oid == origin_id else "Normal endpoint"

    layers[ORIGINS_OTHER] = dict(
        name=ORIGINS_OTHER, lat=col(others, "lat", float), lon=col(others, "lon", float),
        mode="markers", customdata=col(others, "id"),
        hovertext=origin_text(others), hoverinfo="text",
        marker=dict(symbol="square-open", size=11, color=ORIGIN_COLOR, line=dict(width=1.5)),
        opacity=0.55, legendrank=9)
    layers[ORIGIN_SELECTED] = dict(
        name=ORIGIN_SELECTED, lat=col(origin_row, "lat", float),
        lon=col(origin_row, "lon", float), mode="markers+text",
        text=[r["id"] if len(associated) == 1 else
              f"{hover_text(r['id'])} · {'default' if r['id'] == origin_id else 'normal'}"
              for r in origin_row], textposition="bottom center",
        textfont=dict(size=11, color=ORIGIN_COLOR), customdata=col(origin_row, "id"),
        hovertext=[f"{t}<br>{role(r['id'])} of the Anycast EIP"
                   for t, r in zip(origin_text(origin_row), origin_row)],
        hoverinfo="text",
        marker=dict(symbol="square", size=14, color=ORIGIN_COLOR,
                    line=dict(color=BACKBONE_COLOR, width=2.5)), legendrank=1)
    layers[ENDPOINTS_DOWN] = dict(
        name=ENDPOINTS_DOWN, lat=col(dead, "lat", float), lon=col(dead, "lon", float),
        mode="markers+text", text=[f"{hover_text(r['id'])} DOWN" for r in dead],
        textposition="bottom center", textfont=dict(size=11, color=UNROUTED_COLOR),
        customdata=col(dead, "id"),
        hovertext=[f"{t}<br><b>{role(r['id'])} DOWN</b>: no failover to another endpoint; the "
                   "clients of its access points are unserved"
                   for t, r in zip(origin_text(dead), dead)],
        hoverinfo="text", showlegend=bool(len(dead)),
        marker=dict(symbol="square-x-open", size=15, color=UNROUTED_COLOR, line=dict(width=2)),
        legendrank=8)

    # -- access points, one trace per area (legend = colour key) -----------------------------------
    pop_rows = _records(pops, ("id", "name", "area", "lat", "lon", "planned"))
    for r in pop_rows:
        r["planned"] = bool(r.get("planned", False))
    for area in AREAS:
        sel = [r for r in pop_rows
               if r["area"] == area and r["id"] not in down_set and not r["planned"]]
        layers[pop_trace_name(area)] = dict(
            name=pop_trace_name(area), lat=col(sel, "lat", float),
            lon=col(sel, "lon", float), **pop_labels([r["id"] for r in sel]),
            customdata=col(sel, "id"),
            hovertext=[f"<b>{hover_text(r['name'])}</b> · {hover_text(r['id'])}<br>"
                       f"{r['area']} access point"
                       f"<br>{r['lat']:.4f}, {r['lon']:.4f}<br><i>click to mark down</i>"
                       for r in sel],
            hoverinfo="text",
            marker=dict(symbol="circle", size=12, color=AREA_COLORS.get(area, "#888"),
                        line=dict(color="white", width=1.5)),
            legendrank=10 + AREAS.index(area), visible=True if len(sel) else "legendonly")
    pl = [r for r in pop_rows if r["planned"] and r["id"] not in down_set]
    layers[PLANNED] = dict(
        name=PLANNED, lat=col(pl, "lat", float), lon=col(pl, "lon", float),
        mode="markers+text", text=[f"{hover_text(r['id'])} (planned)" for r in pl],
        textposition="bottom center", textfont=dict(size=10.5, color=PLANNED_COLOR),
        customdata=col(pl, "id"),
        hovertext=[f"<b>{hover_text(r['name'])}</b> · {hover_text(r['id'])}<br>"
                   "<b>planned</b> access point: a what-if of the operator's network, not a "
                   f"product offer<br>{r['lat']:.4f}, {r['lon']:.4f}<br><i>click to mark down</i>"
                   for r in pl],
        hoverinfo="text", showlegend=bool(len(pl)),
        # hollow circle with a dotted centre: reads as "not built" next to the filled catalog PoPs
        marker=dict(symbol="circle-open-dot", size=16, color=PLANNED_COLOR,
                    line=dict(width=2.5)),
        legendrank=9)
    dn = [r for r in pop_rows if r["id"] in down_set]
    layers[POPS_DOWN] = dict(
        name=POPS_DOWN, lat=col(dn, "lat", float), lon=col(dn, "lon", float),
        # labelled: a down PoP often sits under a client or an origin marker in the same city
        mode="markers+text", text=[f"{hover_text(r['id'])} down" for r in dn],
        textposition="top center", textfont=dict(size=10.5, color="#4B5563"),
        customdata=col(dn, "id"),
        hovertext=[f"<b>{hover_text(r['name'])}</b> · {hover_text(r['id'])}<br>"
                   "DOWN: excluded from routing"
                   f"<br>{r['lat']:.4f}, {r['lon']:.4f}<br><i>click to bring back up</i>"
                   for r in dn],
        hoverinfo="text", showlegend=bool(len(dn)),
        marker=dict(symbol="x-thin-open", size=15, color=DOWN_COLOR, line=dict(width=3.5)),
        legendrank=20)

    # -- clients ------------------------------------------------------------------------------------
    c_lat = c_lon = np.empty(0)
    c_text: list[str] = []
    c_color: list[str] = []
    c_idx = np.empty(0, dtype=int)
    u_lat = u_lon = np.empty(0)
    u_text: list[str] = []
    s_lat = s_lon = np.empty(0)
    s_text: list[str] = []
    s_idx = np.empty(0, dtype=int)
    if compact and len(routes) >= AGGREGATE_FROM:
        layers[CLIENTS], unrouted, unserved = _binned_clients(
            routes, pops, origin_id, client_names, for_patch, cells, codes)
        if unrouted is not None and unserved is not None:
            layers[UNROUTED], layers[UNSERVED] = unrouted, unserved
    elif compact:
        layers[CLIENTS], layers[UNROUTED], layers[UNSERVED] = _compact_clients(
            routes, pops, origin_id, client_names, for_patch)
    elif routes is not None and len(routes):
        shown = routes.iloc[:MAX_DRAWN_CLIENTS]
        names = [hover_text(client_names[i]) if i < len(client_names) and client_names[i]
                 else f"client {i + 1}" for i in range(len(shown))]
        routed = colvals(shown, "routed", bool)
        served = colvals(shown, "served", bool) if "served" in shown else routed
        ok = routed & served
        lost = routed & ~served
        area_of = dict(zip(pops["id"], pops["area"]))
        idx = np.arange(len(shown))
        c_idx = idx[ok]
        c_lat = colvals(shown, "lat", float)[ok]
        c_lon = colvals(shown, "lon", float)[ok]
        col = {k: shown[k].to_numpy() for k in ("lat", "lon", "pop_id", "pop_km", "internet_ms",
                                                   "backbone_km", "backbone_ms", "anycast_ms")}
        oid = (colvals(shown, "origin_id", object) if "origin_id" in shown
               else np.full(len(shown), origin_id, dtype=object))
        direct = colvals(shown, "direct_ms", float) if "direct_ms" in shown else None
        flagged = (colvals(shown, "bgp_flag", bool) if "bgp_flag" in shown
                   else np.zeros(len(shown), bool))
        for i in c_idx:
            c_color.append(AREA_COLORS.get(area_of.get(col["pop_id"][i], ""), "#888"))
            c_text.append(
                f"<b>{names[i]}</b> ({col['lat'][i]:.4f}, {col['lon'][i]:.4f})<br>"
                f"→ {col['pop_id'][i]} {_fmt_km(col['pop_km'][i])}, "
                f"{_fmt_ms(col['internet_ms'][i])} internet<br>"
                f"→ {oid[i] or origin_id} {_fmt_km(col['backbone_km'][i])}, "
                f"{_fmt_ms(col['backbone_ms'][i])} backbone<br>"
                f"<b>{_fmt_ms(col['anycast_ms'][i])}</b> modelled RTT"
                + (f" (direct {_fmt_ms(direct[i])})" if direct is not None else "")
                + (f"<br>{bgp_line(shown['network_pop_id'].iat[i], shown['bgp_gap_ms'].iat[i])}"
                   if flagged[i] else "")
                + (f"<br>BGP likely: {hover_text(landing[i])}"
                   if i < len(landing) and landing[i] else ""))
        u_lat = colvals(shown, "lat", float)[~routed]
        u_lon = colvals(shown, "lon", float)[~routed]
        u_text = [f"<b>{names[i]}</b><br>no route: every access point is down"
                  for i in idx[~routed]]
        s_idx = idx[lost]
        s_lat = colvals(shown, "lat", float)[lost]
        s_lon = colvals(shown, "lon", float)[lost]
        s_text = [f"<b>{names[i]}</b><br>enters at {col['pop_id'][i]}, whose endpoint is down: "
                  "<b>unserved</b> (no automatic failover between endpoints)" for i in s_idx]
    if not compact:
        layers[CLIENTS] = dict(
            name=CLIENTS, lat=c_lat, lon=c_lon, mode="markers", customdata=c_idx,
            hovertext=c_text, hoverinfo="text",
            marker=dict(symbol="diamond", size=8, color=CLIENT_COLOR,
                        line=dict(color=c_color or "white", width=1.5)), legendrank=5)
        layers[UNROUTED] = dict(
            name=UNROUTED, lat=u_lat, lon=u_lon, mode="markers", hovertext=u_text,
            hoverinfo="text", showlegend=bool(len(u_lat)),
            marker=dict(symbol="x", size=9, color=UNROUTED_COLOR), legendrank=6)
        layers[UNSERVED] = dict(
            name=UNSERVED, lat=s_lat, lon=s_lon, mode="markers", customdata=s_idx,
            hovertext=s_text, hoverinfo="text", showlegend=bool(len(s_lat)),
            marker=dict(symbol="diamond-open", size=9, color=UNROUTED_COLOR, line=dict(width=2)),
            legendrank=7)
    o_lat, o_lon, o_text = observed_legs(routes, pops, origins, origin_id, observed, mappings,
                                         client_names)
    layers[OBSERVED] = dict(
        name=OBSERVED, lat=o_lat, lon=o_lon, mode="lines", hovertext=o_text, hoverinfo="text",
        line=dict(color=OBSERVED_COLOR, width=2.2, dash="dash"), opacity=0.9,
        showlegend=bool(len(o_lat)), legendrank=4)
    return {name: layers[name] for name in MAP_TRACES if name in layers}


def observed_legs(routes: pd.DataFrame | None, pops: pd.DataFrame, origins: pd.DataFrame,
                  origin_id: str, observed: Sequence[tuple[int, str]],
                  mappings: Sequence[tuple[str, Sequence[str]]] = (),
                  client_names: Sequence[str] = ()
                  ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(lats, lons, hover text per vertex) of the observed paths: for each ``(row, pop)`` in
    ``observed`` whose row and PoP exist, the geodesic client -> PoP then PoP -> its origin
    (the Normal endpoint's region mapping that PoP, else ``origin_id``), degrees, NaN between
    paths. What support compares with the modelled path (the clients layer's hover)."""
    empty: tuple[np.ndarray, np.ndarray, list[str]] = (np.empty(0), np.empty(0), [])
    if routes is None or not len(routes) or not observed:
        return empty
    pop_pos = {r.id: (float(r.lat), float(r.lon)) for r in pops.itertuples()}
    org_pos = {r.id: (float(r.lat), float(r.lon)) for r in origins.itertuples()}
    region_of = {p: region for region, ps in mappings for p in ps}
    lats: list[np.ndarray] = []
    lons: list[np.ndarray] = []
    text: list[str] = []
    for row, pop in observed:
        if not 0 <= row < len(routes) or pop not in pop_pos:
            continue
        c_lat, c_lon = float(routes["lat"].iat[row]), float(routes["lon"].iat[row])
        p_lat, p_lon = pop_pos[pop]
        region = region_of.get(pop, origin_id)
        o_lat, o_lon = org_pos.get(region, (p_lat, p_lon))
        la, lo = geodesic_polyline([c_lat, p_lat], [c_lon, p_lon], [p_lat, o_lat],
                                   [p_lon, o_lon])
        name = (client_names[row] if row < len(client_names) and client_names[row]
                else f"client {row + 1}")
        modelled = str(routes["pop_id"].iat[row]) if "pop_id" in routes else ""
        label = (f"<b>{hover_text(name)}</b>: observed entry at {hover_text(pop)} → "
                 f"{hover_text(region)}" + (f" (the model expects {hover_text(modelled)})"
                                           if modelled and modelled != pop else ""))
        lats.append(np.append(la, np.nan))
        lons.append(np.append(lo, np.nan))
        text += [label] * (len(la) + 1)
    if not lats:
        return empty
    return np.concatenate(lats), np.concatenate(lons), text


def animation_traces() -> dict[str, int]:
    """Indices of the layers the browser's failover animation steps and folds into
    (``assets/failover.js`` reads them from the animation plan)."""
    return {name: map_trace_index(trace) for name, trace in (
        ("internet", LEG_INTERNET), ("backbone", LEG_BACKBONE),
        ("moving_internet", MOVING_INTERNET), ("moving_backbone", MOVING_BACKBONE))}


def plain(obj: Any) -> Any:
    """A trace attribute ready for a Patch: numeric numpy arrays as plotly.js typed arrays,
    other arrays as lists, dicts walked."""
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind in "fiu" and obj.dtype.name not in ("int64", "uint64"):
            return typed_array(obj)
        return obj.tolist()
    return obj
