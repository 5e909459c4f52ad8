"""The map view service: every client's route, the key numbers, the assignment table's rows and
the failover transition, for one cleaned scenario.

One call (:func:`map_view`) gives everything the map tab shows; the Dash layer only draws it.
Units: km (WGS84 geodesic), ms (modelled RTT medians); percentiles weighted by client weight.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from dashboard.domain.frames import colvals
from dashboard.catalog import Catalog
from dashboard.domain.paths import row_codes
from dashboard.domain.scenario import Client, Scenario
from dashboard.domain.stats import (SortedSample, sample_quantiles, sorted_sample,
                                    weighted_quantile)
from dashboard.gazetteer import DemandSet, demand_set, load_gazetteer
from dashboard.services import failover
from dashboard.services.failover import FailoverCard, FailoverView
from dashboard.services.landing import hover_lines
from dashboard.domain.access import DEFAULT_ACCESS
from dashboard.domain.access import SHOWN as ACCESS_SHOWN
from dashboard.domain.access import DATACENTER, END_USER
from dashboard.domain.policy import FLAG_GAP_MS
from dashboard.services.text import Kpi
from dashboard.services.routing import bias_km, route_table, scenario_route_table

#: The clients KPI's label: it says who the clients are, so the RTTs beside it are read right.
ACCESS_CLIENTS = {END_USER: "end-user clients", DATACENTER: "data-centre clients"}
from dashboard.services.scenario import Loaded

#: Most rows sent to the assignment table. A 25,000-client set would otherwise ship ~10 MB of
#: rows on every what-if; the key numbers, the map and the CDF cover every client.
MAX_TABLE_ROWS = 300
#: From this many clients the map draws clients in one compact layer that a what-if patches
#: (positions and names stay in the browser); the figure builder imports it from here.
COMPACT_FROM = 1_000
#: Most client markers drawn (the figure builder imports it from here).
MAX_DRAWN_CLIENTS = 10_000
#: From this many clients the map draws them aggregated: one marker per ~330 km grid cell, sized
#: by its number of clients (issue 17: 25,000 diamonds were a carpet that hid the access points,
#: and every redraw of 10,000 SVG markers cost ~0.5 s in the browser). Every client counts, not
#: only the first MAX_DRAWN_CLIENTS. The figure builder imports it from here.
AGGREGATE_FROM = 5_000
#: The map hover shows each client's landing probabilities below this many clients (the full
#: clients layer). Not in the compact layer: ~30 bytes per drawn client would add ~0.3 MB to
#: the 25,000-client what-if patch (already ~0.94 MB of its 1 MB budget); the explain panel
#: shows them for any client.
HOVER_PROBABILITIES_BELOW = COMPACT_FROM


def client_set_for(scenario: Scenario) -> DemandSet | None:
    """The scenario's client set, or None (also for a key this version does not know)."""
    if not scenario.client_set:
        return None
    try:
        return demand_set(load_gazetteer(), scenario.client_set)
    except KeyError:
        return None


def scenario_routes(loaded: Loaded, catalog: Catalog
                    ) -> tuple[pd.DataFrame | None, Sequence[str], np.ndarray]:
    """(routes in client order or None, client names, weights): the scenario's own clients
    first, then those of its client set (cached ranking: a what-if is cheap)."""
    scenario = loaded.scenario
    cset = client_set_for(scenario)
    routes = scenario_route_table(
        catalog, tuple((c.lat, c.lon) for c in scenario.clients),
        cset.key if cset is not None else None, loaded.origin_id, loaded.down,
        scenario.mappings, scenario.endpoints_down, scenario.model, scenario.policy,
        scenario.access, scenario.bias)
    names: Sequence[str] = [c.label for c in scenario.clients]
    weights = [np.asarray([c.weight for c in scenario.clients], dtype=float)]
    if cset is not None:
        # the set's own names tuple when the scenario has no clients of its own: a list of
        # 25,000 names cost ~0.07 ms to copy and more in the garbage collector's young-object
        # passes on every what-if (issue 16); a copy only when the own clients come first
        names = cset.names if not scenario.clients else [*names, *cset.names]
        weights.append(np.asarray(cset.weights, dtype=float))
    return routes, names, np.concatenate(weights)


def summary_numbers(routes: pd.DataFrame, weights: Sequence[float], n_pops: int,
                    anycast: SortedSample | None = None) -> dict:
    """Key numbers over clients (RTT percentiles are weighted by client weight), in ms.
    ``anycast``: :func:`~dashboard.domain.stats.sorted_sample` of the ``anycast_ms`` column and
    ``weights`` when the caller has it (the RTT CDF draws the same sorted sample)."""
    out: dict[str, Any] = {"clients": int(len(routes)), "pops_used": 0, "pops": n_pops}
    if len(routes) == 0:
        return out
    w = np.asarray(weights, dtype=float)
    any_ms = colvals(routes, "anycast_ms", float)
    ok = np.isfinite(any_ms) & (w > 0)
    routed = colvals(routes, "routed", bool)
    # distinct ids: by the table's PoP codes when it has them (~0.05 ms), else by pandas' hash
    # table (a Python set of 25,000 ids cost ~0.4 ms more; pd.unique ~0.4 ms, issue 16)
    codes = row_codes(routes)
    out["pops_used"] = (int(np.count_nonzero(np.bincount(codes.pop[routed],
                                                         minlength=len(codes.pop_ids))))
                        if codes is not None else
                        len(pd.unique(colvals(routes, "pop_id", object)[routed])))
    served = colvals(routes, "served", bool) if "served" in routes else routed
    # bool masks counted (np.sum casts each of 25,000 flags to an integer first, issue 16)
    out["unrouted"] = len(routed) - int(np.count_nonzero(routed))
    out["unserved"] = int(np.count_nonzero(routed & ~served))
    if ok.any():
        if anycast is None:
            anycast = sorted_sample(any_ms, w)
        out["p50_ms"], out["p95_ms"] = sample_quantiles(anycast, (0.5, 0.95))
        saving = colvals(routes, "saving_ms", float)[ok]
        w_ok = w[ok]
        out["median_saving_ms"] = weighted_quantile(saving, w_ok, 0.5)
        out["faster_share"] = float(w_ok[saving > 0].sum() / w_ok.sum())
    if "bgp_flag" in routes:
        flag = colvals(routes, "bgp_flag", bool)
        out["flagged"] = int(np.count_nonzero(flag))
        w_sum = w.sum()
        out["flagged_share"] = float(w[flag].sum() / w_sum) if w_sum > 0 else 0.0
    return out


def summary_kpis(s: dict, origin_id: str, access: str = DEFAULT_ACCESS) -> list[Kpi]:
    """The key numbers as labelled values ([] when there are no clients); the RTT hints say
    which clients the RTTs are for (``access``: end users or data-centre servers)."""
    if not s.get("clients"):
        return []
    fmt = lambda v: "–" if v is None else f"{v:.0f} ms"  # noqa: E731
    items = [
        Kpi(ACCESS_CLIENTS[access], f"{s['clients']:,}", ACCESS_SHOWN[access]),
        Kpi("access points in use", f"{s['pops_used']} of {s['pops']}"),
        Kpi("median RTT", fmt(s.get("p50_ms")),
            f"modelled, client → PoP → {origin_id}; {ACCESS_SHOWN[access]}"),
        Kpi("p95 RTT", fmt(s.get("p95_ms")),
            f"95 % of clients (by weight) are at or below; {ACCESS_SHOWN[access]}"),
        Kpi("median saving vs direct", fmt(s.get("median_saving_ms")),
            "direct internet path to the origin minus the anycast path"),
        # a share of clients, not a speed-up: "clients faster via anycast: 17 %" (issue 17)
        Kpi("clients faster via anycast", "–" if s.get("faster_share") is None
            else f"{s['faster_share']:.0%}",
            "share of clients (by weight) whose modelled RTT is lower via the Anycast EIP than "
            "over the direct internet path"),
    ]
    if s.get("flagged"):
        items.append(Kpi("BGP would likely differ", f"{s['flagged']:,}",
                         f"{s['flagged_share']:.0%} by weight: clients whose network-nearest "
                         f"access point's internet leg is > {FLAG_GAP_MS:.0f} ms shorter than "
                         "their geographic one's (⚑ in the table)", "alert"))
    if s.get("unrouted"):
        items.append(Kpi("without route", f"{s['unrouted']:,}", "every access point is down",
                         "alert"))
    if s.get("unserved"):
        items.append(Kpi("unserved (endpoint down)", f"{s['unserved']:,}",
                         "their access point's endpoint is down; no failover between endpoints",
                         "alert"))
    return items


def bgp_text(r: Any) -> str:
    """The table's "BGP likely" cell of a flagged route row ("⚑ LHR −116 ms": the
    network-nearest access point and how much shorter its internet leg is), else ""."""
    if not bool(getattr(r, "bgp_flag", False)):
        return ""
    return f"⚑ {r.network_pop_id} −{float(r.bgp_gap_ms):.0f} ms"


def assignment_rows(routes: pd.DataFrame, clients: Sequence[Client], catalog: Catalog,
                    origin_id: str, before: pd.DataFrame | None = None,
                    moved: np.ndarray | None = None) -> list[dict]:
    """One table row per client (``id`` = client index, used by the ✕ remove column).

    ``before`` / ``moved``: the routing table before the last failover change and which clients
    moved; moved rows get ``before`` ("CDG · 32 ms"), ``change_ms`` and ``moved`` = 1 (the table
    highlights them); clients with no route or unserved get ``cut_off`` = 1.
    """
    city = catalog.pop_map("city")
    # Columns as plain lists once (no row objects, no per-row .iloc): the table's 300 rows
    # cost ~1 ms instead of ~10 ms (issue 16).
    col = {k: (colvals(routes, k).tolist() if k in routes else None)
           for k in ("routed", "served", "pop_id", "origin_id", "runner_up_id",
                     "runner_up_km", "bgp_flag", "network_pop_id", "bgp_gap_ms")}
    # The number cells as JSON numbers (None where not finite, as json_number gives them) by
    # column: ~2,000 json_number calls per 300 rows cost ~0.5 ms (issue 16).
    col.update({k: _json_column(colvals(routes, k)) for k in (
        "pop_km", "internet_ms", "backbone_km", "backbone_ms", "anycast_ms", "direct_ms",
        "saving_ms")})
    n = len(routes)
    none = [None] * n
    routed_c = col["routed"]
    served_c = col["served"] if col["served"] is not None else routed_c
    origin_c = col["origin_id"] if col["origin_id"] is not None else [""] * n
    flag_c = col["bgp_flag"] if col["bgp_flag"] is not None else [False] * n
    net_c = col["network_pop_id"] or none
    gap_c = col["bgp_gap_ms"] or none
    if moved is not None and before is not None:
        b_routed = colvals(before, "routed").tolist()
        b_pop = colvals(before, "pop_id").tolist()
        b_any = _json_column(colvals(before, "anycast_ms"))
    rows = []
    for i in range(n):
        c = clients[i]
        routed = bool(routed_c[i])
        served = bool(served_c[i])
        pop_id = col["pop_id"][i]
        pop = (f"{pop_id} · {city.get(pop_id, '')}" if routed
               else "no route (all down)")
        was = ""
        change = None
        is_moved = moved is not None and before is not None and bool(moved[i])
        a_ms = col["anycast_ms"][i]
        if is_moved:
            b_ms = b_any[i]
            was = ("no route" if not b_routed[i] else
                   f"{b_pop[i]} · {'unserved' if b_ms is None else f'{b_ms:.0f} ms'}")
            change = None if a_ms is None or b_ms is None else a_ms - b_ms
        runner_id = col["runner_up_id"][i]
        runner = (f"{runner_id} · {col['runner_up_km'][i]:,.0f} km" if runner_id else "–")
        flagged = bool(flag_c[i])
        rows.append({
            "id": i,
            "client": c.label,
            "pop": pop,
            "pop_km": col["pop_km"][i],
            "internet_ms": col["internet_ms"][i],
            "origin": ((origin_c[i] or origin_id) if served
                       else "unserved (endpoint down)" if routed else "–"),
            "backbone_km": col["backbone_km"][i],
            "backbone_ms": col["backbone_ms"][i],
            "anycast_ms": a_ms,
            "direct_ms": col["direct_ms"][i],
            "saving_ms": col["saving_ms"][i],
            "runner_up": runner,
            "before": was,
            "change_ms": change,
            "moved": 1 if is_moved else 0,
            "cut_off": 0 if served else 1,
            "bgp": (f"⚑ {net_c[i]} −{float(gap_c[i]):.0f} ms" if flagged else ""),
            "flagged": 1 if flagged else 0,
            "remove": "✕",
        })
    return rows


def _json_column(values: Any) -> list[float | None]:
    """A number column as :func:`~dashboard.services.text.json_number` gives each value: plain
    floats, None where not finite (NaN, inf)."""
    a = np.asarray(values, dtype=float)
    out: list[float | None] = a.tolist()
    for i in np.flatnonzero(~np.isfinite(a)):
        out[i] = None
    return out


def table_rows(routes: pd.DataFrame, scenario: Scenario, names: Sequence[str],
               weights: np.ndarray, catalog: Catalog, origin_id: str,
               before: pd.DataFrame | None = None, moved: np.ndarray | None = None
               ) -> list[dict]:
    """The first :data:`MAX_TABLE_ROWS` rows of the assignment table; client-set rows cannot be
    removed one by one (no ✕), "Clear all" drops the set."""
    n_own = len(scenario.clients)
    shown = routes.iloc[:MAX_TABLE_ROWS]
    clients = list(scenario.clients[:MAX_TABLE_ROWS])
    if len(shown) > len(clients):  # rows of the client set
        lat, lon = colvals(shown, "lat", float), colvals(shown, "lon", float)
        clients += _set_clients(
            scenario.client_set, len(clients), len(shown),
            lambda: tuple(Client(float(lat[i]), float(lon[i]), names[i], float(weights[i]))
                          for i in range(len(clients), len(shown))))
    rows = assignment_rows(shown, clients, catalog, origin_id,
                           None if before is None else before.iloc[:MAX_TABLE_ROWS],
                           None if moved is None else moved[:MAX_TABLE_ROWS])
    for row in rows[n_own:]:
        row["remove"] = ""
    return rows


#: Client-set rows of the table kept by :func:`_set_clients` (300 small objects each).
SET_CLIENTS_KEPT = 8
_set_rows: "OrderedDict[tuple[str | None, int, int], tuple[Client, ...]]" = OrderedDict()
_set_rows_lock = threading.Lock()


def _set_clients(key: str | None, start: int, stop: int,
                 build: Callable[[], tuple[Client, ...]]) -> tuple[Client, ...]:
    """The :class:`Client` of table rows ``start``..``stop`` that come from client set ``key``
    (after ``start`` clients of the scenario's own): ``build()`` the first time, then kept --
    a client set's rows never change (its positions, names and weights are fixed data), and
    validating 300 clients cost ~2.5 ms of every what-if (issue 16)."""
    if key is None:
        return build()
    k = (key, start, stop)
    with _set_rows_lock:
        hit = _set_rows.get(k)
        if hit is not None:
            _set_rows.move_to_end(k)
            return hit
    rows = build()
    with _set_rows_lock:
        _set_rows[k] = rows
        while len(_set_rows) > SET_CLIENTS_KEPT:
            _set_rows.popitem(last=False)
    return rows


def map_base_key(scenario: Scenario, routes: pd.DataFrame | None) -> str | None:
    """Key of what the compact clients layer's positions and names come from (the clients, the
    client set, which drawn clients -- all of them when aggregated -- are routed and served), or None when the map is not in
    compact mode. Equal keys: a what-if may patch the figure instead of resending it."""
    if routes is None or len(routes) < COMPACT_FROM:
        return None
    digest = hashlib.sha256()
    digest.update(repr((scenario.client_set, [(c.lat, c.lon, c.name) for c in scenario.clients])
                       ).encode())
    shown = routes if len(routes) >= AGGREGATE_FROM else routes.iloc[:MAX_DRAWN_CLIENTS]
    digest.update(repr(len(shown)).encode())
    digest.update(np.packbits(colvals(shown, "routed", bool)).tobytes())
    if "served" in shown:
        digest.update(np.packbits(colvals(shown, "served", bool)).tobytes())
    return digest.hexdigest()[:24]


@dataclass
class MapView:
    """Everything the map tab shows for one scenario.

    ``routes``: one row per client (None: no clients), ``names``/``weights`` in the same order;
    ``failover``: the transition and animation plan; ``card``: the before/after card;
    ``base_key``: :func:`map_base_key`; ``patch``: the page's map has the same base, so the
    figure may be patched; ``summary``/``kpis``: the key numbers; ``rows``: the table's first
    rows; ``count``: "1,234 clients (table: first 300)"; ``landing``: one hover line per
    route row, the 3 most likely healthy PoPs ("LHR 55%, FRA 20%, BOM 10%"), below
    :data:`HOVER_PROBABILITIES_BELOW` clients (else empty)."""

    origin_id: str
    down: frozenset[str]
    endpoints: list[str]
    endpoints_down: frozenset[str]
    routes: pd.DataFrame | None
    names: Sequence[str]
    weights: np.ndarray
    failover: FailoverView
    card: FailoverCard
    base_key: str | None
    patch: bool
    summary: dict = field(default_factory=dict)
    kpis: list[Kpi] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)
    count: str = "No clients yet"
    landing: list[str] = field(default_factory=list)
    #: ``(client row, access point)`` of the clients whose entry point was observed (support),
    #: and the Normal endpoints' ``(region, access points)``: the map draws each observed path
    #: client -> that PoP -> its origin.
    observed: list[tuple[int, str]] = field(default_factory=list)
    mappings: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    #: The anycast RTTs sorted with their weights (:func:`~dashboard.domain.stats.sorted_sample`):
    #: the key numbers' percentiles and the RTT CDF come from this one sort.
    anycast: SortedSample | None = None


def map_view(loaded: Loaded, catalog: Catalog, prev: Any = None, base: Any = None) -> MapView:
    """The map view of ``loaded``; ``prev``: the routing state the page showed last (for the
    failover transition); ``base``: the key of the map the page shows (a large map is patched
    when it matches)."""
    scenario, origin_id = loaded.scenario, loaded.origin_id
    routes, names, weights = scenario_routes(loaded, catalog)
    fo = failover.plan_view(scenario, origin_id, routes, prev, catalog)
    key = map_base_key(scenario, routes)
    view = MapView(origin_id=origin_id, down=loaded.down,
                   endpoints=[r for r, _ in scenario.mappings],
                   endpoints_down=scenario.endpoints_down, routes=routes, names=names,
                   weights=weights, failover=fo, card=failover.failover_card(fo, names),
                   base_key=key, patch=key is not None and key == base,
                   observed=[(i, p) for i, p in scenario.observed
                             if routes is not None and 0 <= i < len(routes)],
                   mappings=list(scenario.mappings))
    if routes is None:
        view.summary = summary_numbers(pd.DataFrame({"anycast_ms": [], "saving_ms": [],
                                                     "routed": [], "pop_id": []}), [],
                                       len(catalog.pops))
        return view
    view.rows = table_rows(routes, scenario, names, weights, catalog, origin_id, fo.before,
                           fo.tr.moved if fo.tr is not None else None)
    view.anycast = sorted_sample(colvals(routes, "anycast_ms", float), weights)
    view.summary = summary_numbers(routes, weights, len(catalog.pops), view.anycast)
    view.kpis = summary_kpis(view.summary, origin_id, scenario.access)
    n = len(routes)
    if 0 < n < HOVER_PROBABILITIES_BELOW:
        view.landing = hover_lines(catalog, colvals(routes, "lat", float),
                                   colvals(routes, "lon", float), loaded.down,
                                   bias_km=bias_km(catalog, scenario.bias, scenario.model,
                                                   scenario.access))
    view.count = f"{n:,} client{'s' if n != 1 else ''}"
    if n > len(view.rows):
        view.count += f" (table: first {len(view.rows):,})"
    return view


#: Columns of the assignment export after the client's own (lat, lon in degrees, km, ms).
EXPORT_COLUMNS = ("pop_id", "pop_km", "internet_ms", "origin_id", "backbone_km", "backbone_ms",
                  "anycast_ms", "direct_km", "direct_ms", "saving_ms", "runner_up_id",
                  "runner_up_km", "routed", "served", "network_pop_id", "bgp_gap_ms", "bgp_flag")


def assignment_frame(loaded: Loaded, catalog: Catalog) -> pd.DataFrame:
    """The assignment table as exported: one row per client of the scenario's own, km and ms;
    ``origin_id`` is "" where the client's endpoint is down (unserved) or it has no route."""
    s = loaded.scenario
    routes = route_table(catalog, tuple((c.lat, c.lon) for c in s.clients), loaded.origin_id,
                         loaded.down, s.mappings, s.endpoints_down, model=s.model,
                         policy=s.policy, access=s.access, bias=s.bias)
    observed = dict(s.observed)
    df = pd.DataFrame({
        "client": [c.name for c in s.clients], "lat": [c.lat for c in s.clients],
        "lon": [c.lon for c in s.clients], "weight": [c.weight for c in s.clients]})
    for col in EXPORT_COLUMNS:
        df[col] = routes[col].to_numpy() if col in routes else np.nan
    df["origin_id"] = (routes["origin_id"].to_numpy() if "origin_id" in routes
                       else loaded.origin_id)
    df["observed_pop"] = [observed.get(i, "") for i in range(len(s.clients))]
    df["policy"] = s.policy
    df["access"] = s.access
    # The announcement bias in force (selection only; the RTTs are the real ones): "" for none
    df["bias"] = ",".join(f"{p}:{ms:+g}" for p, ms in s.bias)
    return df
