"""Capacity planning services: bind the catalog, the gazetteer and the latency model to
the pure cores (:mod:`dashboard.domain.capacity`).

Units in everything returned here: demand, load and capacity in **Gbps**; RTT in ms; distances in
WGS84 geodesic km. Demand comes from one of two sources (``Scenario.demand_source``):

* ``clients`` -- the scenario's clients; a client's ``weight`` is read as **Mbps** times
  ``Scenario.demand_scale`` (default 1, i.e. weight = Mbps; a user whose weights are requests/s
  sets the Mbps one request/s needs).
* ``population`` -- every city of the offline gazetteer (34 000 cities of >= 15 000 inhabitants)
  weighted by its population, scaled so that the world total is ``demand_scale`` Gbps (default
  :data:`~dashboard.domain.scenario.DEFAULT_POPULATION_GBPS`). No per-country internet-user share
  is applied: no package kept offline here offers one (the World Bank/ITU series need a web
  service), so population stands for demand as is; the UI says so.

Capacity per access point -- a *provider-side planning assumption*: Alibaba publishes no per-PoP
capacity -- is the scenario's value, else the catalog's ``capacity_gbps``, else the scenario's
default, else :data:`~dashboard.domain.scenario.DEFAULT_CAPACITY_GBPS`. What *is* documented is the
instance bandwidth (``Scenario.instance_mbps``, default 1,000 Mbps, up to 5,000 Mbps, summed over
all PoPs, a reference upper limit that may be lower during contention): the view compares it with
the total demand. A PoP over its capacity throttles the excess (congestion); spill-over to the
next PoP is only the user's explicit what-if (``Scenario.spill_whatif``).

An announcement bias (``Scenario.bias``, :mod:`dashboard.domain.bias`) enters the one full
ranking (:func:`full_ranking`, :func:`dashboard.domain.policy.rank_all`), so the load per PoP,
throttling, spill-over, N-1 and the catchments all follow it; the expected load shifts with the
landing probabilities; the table also shows each PoP's nominal load without the bias and the
difference (how load moves).

Results are cached per process with small LRU caches keyed on a digest of the inputs: the ranking
of 34 000 cities costs ~0.4 s and the capacity view is recomputed on every scenario edit made
while the capacity tab is shown (and when it is opened).
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

import numpy as np
import pandas as pd

from dashboard.catalog import Catalog
from dashboard.domain import capacity as cap_core
from dashboard.domain import cost as cost_core
from dashboard.domain import latency as lat_core
from dashboard.domain import policy as pol
from dashboard.domain.access import DATACENTER
from dashboard.domain.policy import DEFAULT_POLICY, NETWORK, check_policy
from dashboard.domain.routing import NO_ROUTE, assign
from dashboard.domain.scenario import (
    DEFAULT_CAPACITY_GBPS,
    DEFAULT_INSTANCE_MBPS,
    DEFAULT_POPULATION_GBPS,
    DEMAND_SOURCES,
    Scenario,
)
from dashboard.services.landing import probability_matrix
from dashboard.services.text import Kpi, json_number
from dashboard.services.routing import catalog_fingerprint, pop_origin_arrays
from dashboard.services.scenario import Loaded

#: Catchment grid step, degrees (90 x 180 cells; one marker trace of 16 200 points).
CATCHMENT_STEP_DEG = 2.0
#: Above this many demand points the map aggregates them into grid cells of this step.
MAX_DEMAND_MARKERS = 1500
DEMAND_CELL_DEG = 2.0

ProgressFn = Callable[[float, str], None]


@dataclass(frozen=True)
class Demand:
    """Demand points: degrees, Gbps per point, a label each, and where they came from."""

    lats: np.ndarray
    lons: np.ndarray
    gbps: np.ndarray
    labels: tuple[str, ...]
    source: str
    note: str

    @property
    def total_gbps(self) -> float:
        return float(self.gbps.sum())

    @property
    def key(self) -> str:
        """Digest of the points and weights (cache key)."""
        h = hashlib.sha1()
        for a in (self.lats, self.lons, self.gbps):
            h.update(np.ascontiguousarray(a, dtype=float).tobytes())
        return h.hexdigest()


@functools.lru_cache(maxsize=1)
def _population_table() -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[str, ...]]:
    from dashboard.gazetteer import load_gazetteer

    df = load_gazetteer()._df  # read-only use of the loaded, immutable table
    share = df["population"].to_numpy(float)
    share = share / share.sum()
    labels = tuple(f"{n}, {c}" for n, c in zip(df["name"], df["country_code"]))
    arrays = (df["lat"].to_numpy(float), df["lon"].to_numpy(float), share)
    for a in arrays:
        a.flags.writeable = False
    return (*arrays, labels)


def population_demand(total_gbps: float = DEFAULT_POPULATION_GBPS) -> Demand:
    """Every gazetteer city, demand proportional to its population, summing to ``total_gbps``."""
    lats, lons, share, labels = _population_table()
    return Demand(lats, lons, share * float(total_gbps), labels, "population",
                  f"{len(lats):,} cities of ≥ 15 000 inhabitants weighted by population "
                  f"(GeoNames), {total_gbps:g} Gbps in total; no internet-user share applied")


@functools.lru_cache(maxsize=1)
def mbps_per_inhabitant() -> float:
    """Mbps one inhabitant of a client set weighs at demand scale 1: the population source's
    default rate, :data:`DEFAULT_POPULATION_GBPS` spread over every gazetteer inhabitant
    (~2.5e-6 Mbps). A client set's weights are inhabitants, not Mbps (issue 17: the
    25,000-city set counts as demand), so it is read at the rate the population demand uses;
    the set then weighs ~9.6 Gbps, 96 % of the world population demand it is drawn from."""
    from dashboard.gazetteer import load_gazetteer

    total = float(load_gazetteer()._df["population"].sum())  # read-only use
    return DEFAULT_POPULATION_GBPS * 1000.0 / total if total > 0 else 0.0


def scenario_demand(scenario: Scenario) -> Demand:
    """The demand of the capacity view for ``scenario`` (see the module docstring).

    Source ``clients``: the scenario's own clients (weight × scale = Mbps) followed by the rows
    of its client set (``Scenario.client_set``, resolved as the map does:
    :func:`dashboard.services.map.client_set_for`; inhabitants × :func:`mbps_per_inhabitant`
    × scale), in the order of the map's rows."""
    if scenario.demand_source == "population":
        return population_demand(scenario.demand_scale or DEFAULT_POPULATION_GBPS)
    from dashboard.services.map import client_set_for

    mbps_per_unit = scenario.demand_scale or 1.0
    cs = scenario.clients
    lats = np.array([c.lat for c in cs], dtype=float)
    lons = np.array([c.lon for c in cs], dtype=float)
    gbps = np.array([c.weight for c in cs], dtype=float) * mbps_per_unit / 1000.0
    labels = tuple(c.label for c in cs)
    note = f"{len(cs):,} scenario clients, weight × {mbps_per_unit:g} Mbps"
    cset = client_set_for(scenario)
    if cset is not None and len(cset):
        rate = mbps_per_inhabitant()
        lats = np.concatenate([lats, np.asarray(cset.lats, dtype=float)])
        lons = np.concatenate([lons, np.asarray(cset.lons, dtype=float)])
        gbps = np.concatenate([gbps, np.asarray(cset.weights, dtype=float)
                               * rate * mbps_per_unit / 1000.0])
        labels = labels + tuple(cset.names)
        note = (f"{len(cs):,} scenario clients (weight × {mbps_per_unit:g} Mbps) + "
                f"{len(cset):,} cities of the client set “{cset.label}” (inhabitants × "
                f"{rate * mbps_per_unit:.3g} Mbps: the world population demand's default rate"
                f"{'' if mbps_per_unit == 1 else f' × {mbps_per_unit:g}'})"
                if cs else
                f"{len(cset):,} cities of the client set “{cset.label}”, inhabitants × "
                f"{rate * mbps_per_unit:.3g} Mbps (the world population demand's default rate"
                f"{'' if mbps_per_unit == 1 else f' × {mbps_per_unit:g}'})")
    return Demand(lats, lons, gbps, labels, "clients", note)


def instance_gbps(scenario: Scenario) -> float:
    """The instance bandwidth in Gbps (the scenario's, else the documented default)."""
    mbps = scenario.instance_mbps if scenario.instance_mbps is not None else DEFAULT_INSTANCE_MBPS
    return mbps / 1000.0


def capacities_gbps(catalog: Catalog, scenario: Scenario) -> tuple[np.ndarray, list[str]]:
    """Capacity per PoP (Gbps, catalog order) and where each value came from."""
    own = dict(scenario.capacity)
    default = scenario.default_capacity_gbps or DEFAULT_CAPACITY_GBPS
    out, source = [], []
    for pid, cat in zip(catalog.pop_ids, catalog.pops["capacity_gbps"].to_numpy(float)):
        if pid in own:
            out.append(own[pid]), source.append("scenario")
        elif np.isfinite(cat):
            out.append(float(cat)), source.append("catalog")
        else:
            out.append(default), source.append("default")
    return np.array(out, dtype=float), source


class _LRU:
    """A tiny thread-safe LRU for numpy results (per process)."""

    def __init__(self, size: int) -> None:
        self.size, self.data, self.lock = size, OrderedDict(), threading.Lock()

    def get(self, key: object, make: Callable[[], object]) -> object:
        with self.lock:
            if key in self.data:
                self.data.move_to_end(key)
                return self.data[key]
        value = make()
        with self.lock:
            self.data[key] = value
            while len(self.data) > self.size:
                self.data.popitem(last=False)
        return value


_rankings = _LRU(6)
_catchments = _LRU(32)


def full_ranking(catalog: Catalog, demand: Demand, policy: str = DEFAULT_POLICY,
                 model: tuple[tuple[str, float], ...] = (),
                 bias: tuple[tuple[str, float], ...] = ()) -> np.ndarray:
    """Every PoP for every demand point, nearest first by WGS84 geodesic km (down PoPs
    included: the what-ifs walk this one ranking); with ``policy`` network, lowest modelled
    internet leg first (under the latency overrides ``model``), so spill-over, N-1 and the
    load per PoP follow the routing policy. The clients' access type is not an argument: it
    never reorders a client's internet legs (:mod:`dashboard.domain.access`); with a ``bias``
    it never does either (the bias counts in data-centre ms, :mod:`dashboard.domain.bias`).
    ``bias``: both policies rank with it (under the overrides ``model``: its km slope)."""
    m = len(catalog.pop_ids)
    network = check_policy(policy) == NETWORK

    def make() -> np.ndarray:
        if len(demand.lats) == 0:
            return np.zeros((0, m), dtype=np.int64)
        if bias:
            from dashboard.latency import params_with

            params = params_with(model)
            r = pol.rank_all(np.asarray(demand.lats, dtype=float),
                             np.asarray(demand.lons, dtype=float), catalog.pop_lats,
                             catalog.pop_lons, policy, params,
                             pol.pop_bias(bias, catalog.pop_ids, params))
        elif network:
            from dashboard.latency import params_with

            params = params_with(model)
            lats = np.asarray(demand.lats, dtype=float)
            lons = np.asarray(demand.lons, dtype=float)
            matrix = pol.pop_matrix(lats, lons, catalog.pop_lats, catalog.pop_lons,
                                    lat_core.locate(lats, lons, params),
                                    lat_core.locate(catalog.pop_lats, catalog.pop_lons, params),
                                    params)
            r = np.array(pol.network_ranking(matrix)[0], dtype=np.int64)
        else:
            r = assign(demand.lats, demand.lons, catalog.pop_lats, catalog.pop_lons,
                       alternatives=m).ranked
        r.flags.writeable = False
        return r

    key: tuple = (catalog_fingerprint(catalog), hashlib.sha1(
        np.ascontiguousarray(np.c_[demand.lats, demand.lons]).tobytes()).hexdigest())
    if network:
        key += (NETWORK, tuple(model))
    if bias:
        key += ("bias", check_policy(policy), tuple(model), tuple(bias))
    return _rankings.get(key, make)  # type: ignore[return-value]


def catchments(catalog: Catalog, down: frozenset[str],
               step_deg: float = CATCHMENT_STEP_DEG, policy: str = DEFAULT_POLICY,
               model: tuple[tuple[str, float], ...] = (),
               bias: tuple[tuple[str, float], ...] = ()
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Idealised catchment cells (centre lat, lon in degrees; the healthy PoP index the routing
    ``policy`` picks: nearest, or lowest internet leg under the overrides ``model``), cells
    with no route dropped; ``bias``: the announcement bias both policies rank with. Cached per
    (catalog, down set, step[, policy, model][, bias])."""
    network = check_policy(policy) == NETWORK

    def make():
        from dashboard.latency import params_with

        mask = catalog.pop_mask(sorted(d for d in down if d in catalog.pop_ids))
        params = params_with(model) if (network or bias) else None
        lats, lons, pop = cap_core.catchment_grid(
            step_deg, catalog.pop_lats, catalog.pop_lons, mask, policy, params,
            pol.pop_bias(bias, catalog.pop_ids, params) if bias else None)
        ok = pop != NO_ROUTE
        return lats[ok], lons[ok], pop[ok]

    key: tuple = (catalog_fingerprint(catalog), tuple(sorted(down)), step_deg)
    if network:
        key += (NETWORK, tuple(model))
    if bias:
        key += ("bias", check_policy(policy), tuple(model), tuple(bias))
    return _catchments.get(key, make)  # type: ignore[return-value]


def demand_markers(demand: Demand, served_at: np.ndarray | None = None,
                   max_points: int = MAX_DEMAND_MARKERS,
                   cell_deg: float = DEMAND_CELL_DEG) -> pd.DataFrame:
    """Points to draw for the demand: the points themselves, or (more than ``max_points``)
    one per ``cell_deg`` grid cell at the demand-weighted centroid, summing the demand.

    Columns: lat, lon, gbps, label, pop (index of the PoP serving most of it, or NO_ROUTE).
    """
    n = len(demand.lats)
    pop = np.full(n, NO_ROUTE, dtype=np.int64) if served_at is None else np.asarray(served_at)
    if n <= max_points:
        return pd.DataFrame({"lat": demand.lats, "lon": demand.lons, "gbps": demand.gbps,
                             "label": list(demand.labels), "pop": pop})
    row = np.floor((demand.lats + 90) / cell_deg).astype(np.int64)
    col = np.floor((np.mod(demand.lons + 180, 360)) / cell_deg).astype(np.int64)
    cell = row * 1000 + col
    df = pd.DataFrame({"cell": cell, "w": demand.gbps, "wlat": demand.lats * demand.gbps,
                       "wlon": demand.lons * demand.gbps, "lat": demand.lats,
                       "lon": demand.lons, "pop": pop, "label": list(demand.labels)})
    # The largest point of each cell names it and decides its PoP.
    top = df.sort_values("w", ascending=False, kind="stable").drop_duplicates("cell")
    g = df.groupby("cell").agg(w=("w", "sum"), wlat=("wlat", "sum"), wlon=("wlon", "sum"),
                               n=("w", "size"), lat=("lat", "mean"), lon=("lon", "mean"))
    top = top.set_index("cell").loc[g.index]
    pos = g["w"] > 0
    lat = np.where(pos, g["wlat"] / g["w"].where(pos, 1), g["lat"])
    lon = np.where(pos, g["wlon"] / g["w"].where(pos, 1), g["lon"])
    label = [f"{t} and {k - 1:,} more" if k > 1 else t for t, k in zip(top["label"], g["n"])]
    return pd.DataFrame({"lat": lat, "lon": lon, "gbps": g["w"].to_numpy(), "label": label,
                         "pop": top["pop"].to_numpy()}).reset_index(drop=True)


def expected_load(catalog: Catalog, demand: Demand, down: frozenset[str],
                  bias_km: np.ndarray | None = None) -> np.ndarray:
    """Expected load per PoP (Gbps, catalog order): every demand point's Gbps spread over the
    healthy PoPs by its landing probability (:mod:`dashboard.services.landing`; learned from
    root-DNS catchments), ``demand.gbps @ P``. Down PoPs get 0; with 19 PoPs every row of ``P``
    sums to 1, so the total is the demand (0 when every PoP is down). Before spill-over and
    independent of the routing policy: what BGP would likely bring each PoP, beside the
    deterministic ``nominal_gbps``. Cost: ~50 ms for the 34,000 gazetteer cities the first time
    per down set (the probabilities are cached), ~15 ms after. ``bias_km``: the announcement
    bias as km per PoP (:mod:`dashboard.services.landing`), None = none."""
    if len(demand.lats) == 0:
        return np.zeros(len(catalog.pop_ids))
    p = probability_matrix(catalog, demand.lats, demand.lons, down, bias_km)
    return np.asarray(demand.gbps, dtype=float) @ p


@dataclass(frozen=True)
class CapacityView:
    """Everything the capacity tab shows (Gbps). ``table`` also holds ``expected_gbps`` and
    ``expected_utilisation``: load spread by landing probability (:func:`expected_load`), and
    the announcement bias's effect: ``bias_ms`` per PoP, ``unbiased_gbps`` (the nominal load
    without any bias) and ``bias_delta_gbps`` (nominal minus it; all 0 without a bias)."""

    demand: Demand
    table: pd.DataFrame
    flows: pd.DataFrame
    totals: dict
    spill: cap_core.SpillResult


def capacity_view(catalog: Catalog, scenario: Scenario) -> CapacityView:
    """Load per PoP, throttling (or the spill-over what-if) and utilisation for the scenario's
    demand and capacities, and the total demand against the instance bandwidth."""
    demand = scenario_demand(scenario)
    ranked = full_ranking(catalog, demand, scenario.policy, scenario.model, scenario.bias)
    caps, source = capacities_gbps(catalog, scenario)
    ids = list(catalog.pop_ids)
    down = np.array([p in scenario.down for p in ids])
    spill = cap_core.serve(ranked, demand.gbps, np.where(down, 0.0, caps), down,
                           scenario.spill_whatif)
    nearest = cap_core.first_healthy(ranked, down) if len(ranked) else np.zeros(0, np.int64)
    counts = np.bincount(nearest[nearest != NO_ROUTE], minlength=len(ids))
    diag = np.diag(spill.flows)
    util = np.divide(spill.nominal, caps, out=np.zeros(len(ids)), where=caps > 0)
    from dashboard.services.routing import bias_km

    expected = expected_load(catalog, demand, frozenset(p for p in scenario.down if p in ids),
                             bias_km(catalog, scenario.bias, scenario.model, scenario.access))
    exp_util = np.divide(expected, caps, out=np.zeros(len(ids)), where=caps > 0)
    bias_ms = np.array([dict(scenario.bias).get(p, 0.0) for p in ids], dtype=float)
    if scenario.bias and len(ranked):
        plain = full_ranking(catalog, demand, scenario.policy, scenario.model)
        unbiased = cap_core.load_per_pop(cap_core.first_healthy(plain, down), demand.gbps,
                                         len(ids))
    else:
        unbiased = np.asarray(spill.nominal, dtype=float)
    table = pd.DataFrame({
        "pop_id": ids, "name": list(catalog.pops["name"]), "city": list(catalog.pops["city"]),
        "up": ~down, "capacity_gbps": caps, "capacity_source": source,
        "clients": counts, "nominal_gbps": spill.nominal, "served_gbps": spill.load,
        "utilisation": np.where(down, np.nan, util),
        "throttled_gbps": spill.throttled,
        "spilled_out_gbps": spill.nominal - diag - spill.throttled,
        "spilled_in_gbps": spill.load - diag,
        "expected_gbps": expected, "expected_utilisation": np.where(down, np.nan, exp_util),
        "bias_ms": bias_ms, "unbiased_gbps": unbiased,
        "bias_delta_gbps": np.asarray(spill.nominal, dtype=float) - unbiased,
    })
    f = spill.flows
    i, j = np.nonzero((f > 0) & ~np.eye(len(ids), dtype=bool))
    flows = pd.DataFrame({"from_pop": [ids[k] for k in i], "to_pop": [ids[k] for k in j],
                          "gbps": f[i, j]}).sort_values("gbps", ascending=False,
                                                       ignore_index=True)
    totals = {
        "demand_gbps": demand.total_gbps,
        "capacity_gbps": float(caps[~down].sum()),
        "served_gbps": float(spill.load.sum()),
        "unserved_gbps": spill.total_unserved,
        "spilled_gbps": float(spill.spilled.sum()),
        "throttled_gbps": spill.total_throttled,
        "no_route_gbps": max(spill.total_unserved - spill.total_throttled, 0.0),
        "spill_whatif": scenario.spill_whatif,
        "instance_gbps": instance_gbps(scenario),
        "over_capacity": [ids[k] for k in np.flatnonzero((spill.nominal > caps + 1e-12) & ~down)],
        "expected_over_capacity": [ids[k] for k in np.flatnonzero((expected > caps + 1e-12)
                                                                   & ~down)],
        "points": len(demand.lats),
    }
    return CapacityView(demand, table, flows, totals, spill)


def rtt_matrix_ms(catalog: Catalog, lats: np.ndarray, lons: np.ndarray, origin_lat: object,
                  origin_lon: object, params: lat_core.LatencyParams | None = None,
                  progress: ProgressFn | None = None, chunk: int = 8000) -> np.ndarray:
    """Modelled anycast RTT (ms) of every client via every PoP, shape (n clients, m PoPs):
    internet leg client -> PoP + ``pop_overhead_ms`` + backbone leg PoP -> its origin
    (:func:`dashboard.domain.latency.backbone_leg_ms` per PoP, added to every client's row).

    ``origin_lat``/``origin_lon``: one origin for all PoPs (scalars) or per-PoP arrays (NaN = that
    PoP's endpoint is down: its column is NaN, i.e. unusable). Computed in chunks of ``chunk``
    clients so that ``progress(fraction, text)`` can report; same formulas as
    :func:`dashboard.domain.paths.client_paths`.
    """
    from dashboard.domain.paths import per_pop
    from dashboard.latency import default_params

    params = params or default_params()
    pla, plo = catalog.pop_lats, catalog.pop_lons
    m = len(pla)
    olat, olon = per_pop(origin_lat, m, "origin_lat"), per_pop(origin_lon, m, "origin_lon")
    backbone = np.full(m, np.nan)
    ok = np.isfinite(olat)
    backbone[ok] = lat_core.backbone_leg_ms(pla[ok], plo[ok], olat[ok], olon[ok], params)
    out = np.empty((len(lats), m))
    for start in range(0, len(lats), chunk):
        sl = slice(start, start + chunk)
        out[sl] = lat_core.internet_rtt_ms(np.asarray(lats[sl])[:, None],
                                           np.asarray(lons[sl])[:, None], pla[None, :],
                                           plo[None, :], params)
        if progress is not None:
            progress(min(start + chunk, len(lats)) / max(len(lats), 1),
                     f"latency model: {min(start + chunk, len(lats)):,} of {len(lats):,} clients")
    return out + backbone[None, :]


N1_COLUMNS = ("pop_id", "clients_moved", "demand_moved", "moved_to", "p50_before_ms",
              "p50_after_ms", "p50_change_ms", "p95_before_ms", "p95_after_ms", "p95_change_ms",
              "unserved", "worst_pop", "worst_utilisation", "worst_load")


def n_minus_one_analysis(catalog: Catalog, scenario: Scenario, origin_id: str,
                         progress: ProgressFn | None = None) -> pd.DataFrame:
    """For every healthy PoP in turn: what losing it does to the scenario's demand.

    Columns as :func:`dashboard.domain.capacity.n_minus_one` (demand in Gbps, RTT in ms, RTT
    percentiles weighted by demand) plus ``name``. RTTs use the scenario's latency model
    overrides (``Scenario.model``) and its clients' access type (``Scenario.access``). ``progress(fraction, text)`` is called as the
    RTT matrix (first 40 %) and then each PoP (the rest) complete.
    """
    demand = scenario_demand(scenario)
    if len(demand.lats) == 0:
        return pd.DataFrame(columns=list(N1_COLUMNS) + ["name"])
    ranked = full_ranking(catalog, demand, scenario.policy, scenario.model, scenario.bias)
    # Each PoP's backbone leg goes to the origin of the endpoint it is mapped to (NaN: that
    # endpoint is down, its clients are unserved), as on the map.
    from dashboard.latency import params_with

    scenario, _ = scenario.sanitized(origin_id)
    olat, olon, _ids = pop_origin_arrays(catalog, origin_id, scenario.mappings,
                                         scenario.endpoints_down)
    rtt = rtt_matrix_ms(catalog, demand.lats, demand.lons, olat, olon,
                        params=params_with(scenario.model, scenario.access),
                        progress=(lambda f, t: progress(0.4 * f, t)) if progress else None)
    caps, _ = capacities_gbps(catalog, scenario)
    down = np.array([p in scenario.down for p in catalog.pop_ids])

    def step(done: int, total: int) -> None:
        if progress:
            progress(0.4 + 0.6 * done / total, f"N-1: {done} of {total} access points")

    table = cap_core.n_minus_one(ranked, demand.gbps, rtt, caps, list(catalog.pop_ids), down,
                                 progress=step, spill=scenario.spill_whatif)
    if table.empty:
        return pd.DataFrame(columns=list(N1_COLUMNS) + ["name"])
    names = dict(zip(catalog.pop_ids, catalog.pops["name"]))
    table.insert(1, "name", [names[p] for p in table["pop_id"]])
    return table


# -- the capacity tab as one view-model -----------------------------------------------------------

#: The documentation's own caveat about the instance bandwidth (shown with it).
INSTANCE_CAVEAT = (
    "Documented per Anycast EIP instance, summed over all PoPs: 1,000 Mbps peak by default, "
    "raisable to 5,000 Mbps; a reference upper limit that may be lower during contention.")


def gbps_text(v: float) -> str:
    """``"1.25 Gbps"`` (two decimals below 100 Gbps, none above)."""
    return f"{v:,.2f} Gbps" if v < 100 else f"{v:,.0f} Gbps"


@dataclass(frozen=True)
class CapacityPage:
    """The capacity tab: key numbers (empty: no demand yet), the utilisation table's rows, and
    the data the capacity map and load chart draw (``view``; ``markers``: demand points or grid
    cells; ``catchments``: idealised catchment cells, or None when not asked for; ``cost``:
    the cost estimate panel)."""

    kpis: tuple[Kpi, ...]
    rows: list[dict]
    view: CapacityView
    markers: pd.DataFrame
    catchments: tuple[np.ndarray, np.ndarray, np.ndarray] | None
    cost: "CostPanel | None" = None


def capacity_kpis(view: CapacityView) -> tuple[Kpi, ...]:
    """The capacity tab's key numbers (() when there is no demand)."""
    t = view.totals
    if not t["points"]:
        return ()
    over = t["over_capacity"]
    exp_over = t.get("expected_over_capacity", [])
    inst = t["instance_gbps"]
    share = t["demand_gbps"] / inst if inst > 0 else math.inf
    spill = t.get("spill_whatif", False)
    kpis = [
        Kpi("demand", gbps_text(t["demand_gbps"]), view.demand.note),
        Kpi("instance bandwidth", f"{share:.0%} of {inst * 1000:,.0f} Mbps",
            INSTANCE_CAVEAT + (f" Demand exceeds it by {gbps_text(t['demand_gbps'] - inst)}."
                               if share > 1 else ""),
            "bad" if share > 1 else ("warn" if share > 0.8 else "")),
        Kpi("PoP capacity (healthy)", gbps_text(t["capacity_gbps"]),
            "sum of the per-PoP capacities: a provider-side planning assumption (no per-PoP "
            "capacity is published)"),
        Kpi("served", gbps_text(t["served_gbps"]),
            "after the spill-over what-if" if spill else "at each client's nearest healthy PoP"),
    ]
    if spill:
        kpis.append(Kpi("spilled over (what-if)", gbps_text(t["spilled_gbps"]),
                        "demand the what-if re-routes to another than its nearest healthy PoP; "
                        "BGP anycast does not do this", "warn" if t["spilled_gbps"] > 1e-9 else ""))
    else:
        kpis.append(Kpi("throttled / congested", gbps_text(t["throttled_gbps"]),
                        "demand above a PoP's capacity: BGP does not move it elsewhere, so it "
                        "is dropped or congested at that PoP",
                        "bad" if t["throttled_gbps"] > 1e-9 else ""))
    no_route = t.get("no_route_gbps", 0.0)
    kpis += [
        Kpi("unserved", gbps_text(t["unserved_gbps"]),
            ("every access point is full or down" if spill else
             f"throttled + no route ({gbps_text(no_route)} has no healthy PoP)"),
            "bad" if t["unserved_gbps"] > 1e-9 else ""),
        Kpi("over capacity", f"{len(over)}", ", ".join(over) or "none", "bad" if over else ""),
        Kpi("over capacity (expected)", f"{len(exp_over)}",
            (", ".join(exp_over) or "none") + ": access points whose expected load (demand "
            "spread by landing probability, learned from root-DNS catchments; an estimate, not "
            "a promise) exceeds their capacity", "warn" if exp_over else ""),
    ]
    return tuple(kpis)


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
            "throttled_gbps": json_number(max(r.throttled_gbps, 0.0), 6),
            "spilled_out_gbps": json_number(max(r.spilled_out_gbps, 0.0), 6),
            "spilled_in_gbps": json_number(max(r.spilled_in_gbps, 0.0), 6),
            "expected_gbps": json_number(getattr(r, "expected_gbps", math.nan), 6),
            "expected_pct": json_number(100 * getattr(r, "expected_utilisation", math.nan), 1),
            # blank where there is no bias / nothing moved, so the moves stand out
            "bias_ms": json_number(getattr(r, "bias_ms", 0.0), 1) or None,
            "unbiased_gbps": json_number(getattr(r, "unbiased_gbps", r.nominal_gbps), 6),
            "bias_delta_gbps": (json_number(r.bias_delta_gbps, 6) or None
                                if abs(getattr(r, "bias_delta_gbps", 0.0)) > 1e-12 else None),
        })
    return rows


def capacity_page(loaded: Loaded, catalog: Catalog, show_catchments: bool) -> CapacityPage:
    """The capacity tab of ``loaded``."""
    view = capacity_view(catalog, loaded.scenario)
    catch = (catchments(catalog, loaded.down, policy=loaded.scenario.policy,
                        model=loaded.scenario.model, bias=loaded.scenario.bias)
             if show_catchments else None)
    return CapacityPage(capacity_kpis(view), capacity_rows(view.table), view,
                        demand_markers(view.demand, view.spill.served_at), catch,
                        cost_panel(catalog, loaded.scenario, view))


def control_values(scenario: Scenario) -> tuple[str, float, float]:
    """(demand source, scale, default capacity in Gbps) the capacity controls show."""
    scale = scenario.demand_scale if scenario.demand_scale is not None else (
        DEFAULT_POPULATION_GBPS if scenario.demand_source == "population" else 1.0)
    default = (scenario.default_capacity_gbps if scenario.default_capacity_gbps is not None
               else DEFAULT_CAPACITY_GBPS)
    return scenario.demand_source, scale, default


def controls_stale(scenario: Scenario, source: Any, scale: Any, default: Any) -> bool:
    """Whether the controls on the page show other values than the scenario's (rebuild them
    then; otherwise leave them, so typing is never interrupted by its own edit's round trip)."""
    want_source, want_scale, want_default = control_values(scenario)
    return not (source == want_source and json_number(scale, 6) == json_number(want_scale, 6)
                and json_number(default, 6) == json_number(want_default, 6))


def _error(text: str) -> dict:
    return {"op": "notice", "notices": [{"level": "error", "text": text}]}


def control_edit(changed: Any, source: Any, scale: Any, default: Any, scenario: Scenario
                 ) -> dict | None:
    """The edit for a changed capacity control (``changed``: "source", "scale" or "default"),
    or None when the scenario already says so."""
    if changed == "source" and source in DEMAND_SOURCES and source != scenario.demand_source:
        # A new source starts from its own default scale (Gbps total vs Mbps per unit).
        return {"op": "capacity", "demand_source": source, "demand_scale": None}
    if changed == "scale" and scale is not None:
        if json_number(scale, 6) is None or float(scale) <= 0:
            return _error("Demand scale must be a number > 0")
        if json_number(scale, 6) != json_number(scenario.demand_scale, 6):
            return {"op": "capacity", "demand_scale": float(scale)}
    if changed == "default" and default is not None:
        if json_number(default, 6) is None or float(default) <= 0:
            return _error("Default capacity must be a number > 0 Gbps")
        if json_number(default, 6) != json_number(scenario.default_capacity_gbps, 6):
            return {"op": "capacity", "default_gbps": float(default)}
    return None


def table_edit(rows: Any, scenario: Scenario, catalog: Catalog) -> dict | None:
    """Capacity cells edited in the utilisation table -> a ``capacity`` edit (only values that
    differ from what the access point has now become overrides); None when nothing changed.
    ``rows``: what the table sends back (a list of row objects; anything else is no edit)."""
    if not rows or not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        return None
    caps, _ = capacities_gbps(catalog, scenario)
    have = dict(zip(catalog.pop_ids, caps))
    own = dict(scenario.capacity)
    bad = []
    for r in rows[:len(have)]:
        pid = r.get("id")
        if not isinstance(pid, str) or pid not in have:
            continue
        try:
            g = float(r.get("capacity_gbps"))  # type: ignore[arg-type]
            if not math.isfinite(g) or g <= 0:
                raise ValueError
        except (TypeError, ValueError, OverflowError):
            bad.append(pid)
            continue
        if abs(g - have[pid]) > 1e-9 * max(1.0, g):
            own[pid] = g
    if bad:
        return _error(f"Capacity of {', '.join(bad)}: type a number of Gbps greater than 0")
    return None if own == dict(scenario.capacity) else {"op": "capacity", "capacity": own}


# -- cost estimate (issue 15) -------------------------------------------------------------------------

#: Said wherever prices are entered or shown.
PRICE_NOTE = ("No public price table could be found offline, so no price is shipped: enter "
              "your own (instance fee per month, internet traffic per GB per access area, data "
              "transfer to the origin per GB; any currency, the same for all). Billing is on "
              "the dominant direction; the demand is read as the peak rate on it.")


@dataclass(frozen=True)
class CostPanel:
    """The cost estimate panel: one row per line (label, GB/month, price, cost as text), the
    total as text, whether it is complete (every needed price entered), what is missing, the
    inputs the controls show (key -> value or None) and the note on prices."""

    rows: tuple[dict, ...]
    total: str
    complete: bool
    missing: tuple[str, ...]
    inputs: dict
    note: str = PRICE_NOTE


def served_by_area(catalog: Catalog, view: CapacityView) -> dict[str, float]:
    """Served demand (Gbps, after throttling or the spill-over what-if) per access area."""
    areas = catalog.pop_map("area")
    out: dict[str, float] = {}
    for pid, served in zip(view.table["pop_id"], view.table["served_gbps"]):
        out[areas[pid]] = out.get(areas[pid], 0.0) + float(served)
    return out


def _money(v: float | None) -> str:
    return "—" if v is None else f"{v:,.2f}"


def cost_panel(catalog: Catalog, scenario: Scenario, view: CapacityView) -> CostPanel:
    """The cost panel for the scenario's served demand (``view``) and cost inputs."""
    prices = dict(scenario.cost)
    est = cost_core.estimate(served_by_area(catalog, view), prices)
    rows = tuple({"item": ln.label,
                  "gb": "" if ln.gb is None else f"{ln.gb:,.0f}",
                  "price": "not entered" if ln.price is None else f"{ln.price:,.6g}",
                  "cost": _money(ln.cost)} for ln in est.lines)
    total = (f"{est.total:,.2f} per month" if est.complete else
             f"{est.total:,.2f} per month so far (incomplete: enter "
             f"{', '.join(est.missing)})")
    inputs = {k: prices.get(k) for k in cost_core.COST_KEYS}
    return CostPanel(rows, total, est.complete, est.missing, inputs)


# -- N-1 results ------------------------------------------------------------------------------------

def n1_key(scenario: Scenario, origin_id: str) -> str:
    """Digest of what the N-1 result depends on (demand, capacities, down PoPs, origin, endpoint
    mappings, latency model overrides, who the clients are).

    The access type enters for end users, the default since issue 19, and is absent for
    data-centre clients: the key is unchanged exactly where the RTTs are (results computed
    before the access term were data-centre RTTs, and a stored result outlives a deploy)."""
    d = scenario.to_dict()
    parts = {k: d[k] for k in ("capacity_gbps", "default_capacity_gbps", "demand_source",
                               "demand_scale", "down", "mappings", "endpoints_down")}
    parts["origin"] = origin_id
    if scenario.demand_source == "clients":
        parts["clients"] = [(c.lat, c.lon, c.weight) for c in scenario.clients]
        if scenario.client_set:  # counted as demand (issue 17; absent: the key is unchanged)
            parts["client_set"] = scenario.client_set
    if scenario.model:  # RTTs under other latency parameters (absent: the key is unchanged)
        parts["model"] = d["model"]
    if scenario.policy != DEFAULT_POLICY:  # another ranking (absent: the key is unchanged)
        parts["policy"] = scenario.policy
    if scenario.access != DATACENTER:  # RTTs with the access term (absent: as before it)
        parts["access"] = scenario.access
    if scenario.spill_whatif:  # unserved under the spill-over what-if (absent: throttled)
        parts["spill"] = True
    if scenario.bias:  # another ranking (absent: the key is unchanged)
        parts["bias"] = d["bias"]
    return hashlib.sha1(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def run_n1(loaded: Loaded, catalog: Catalog, report: ProgressFn | None = None) -> dict:
    """Compute the N-1 table; returns the JSON-able result the page stores."""
    t0 = time.perf_counter()
    table = n_minus_one_analysis(catalog, loaded.scenario, loaded.origin_id, progress=report)
    records = json.loads(table.to_json(orient="records"))  # NaN -> null
    return {"key": n1_key(loaded.scenario, loaded.origin_id), "origin": loaded.origin_id,
            "rows": records, "points": len(scenario_demand(loaded.scenario).lats),
            "seconds": round(time.perf_counter() - t0, 2),
            "computed": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


#: Text fields of a stored N-1 row; the other :data:`N1_COLUMNS` are numbers or null.
N1_TEXT = ("pop_id", "moved_to", "worst_pop")


def _number_or_null(v: Any) -> bool:
    """None or a finite number a float holds (JSON integers can have any number of digits)."""
    if isinstance(v, float):
        return math.isfinite(v)
    return v is None or (isinstance(v, int) and not isinstance(v, bool) and abs(v) <= 2**53)


def is_n1_result(result: Any) -> bool:
    """Whether ``result`` is shaped like :func:`run_n1`'s (the store lives in the browser, and
    a job's result outlives a deploy: a row without a column or text where a number goes is
    not one)."""
    return (isinstance(result, dict) and isinstance(result.get("rows"), list)
            and all(isinstance(result.get(k, ""), str) for k in ("key", "origin", "computed"))
            and _number_or_null(result.get("points", 0))
            and _number_or_null(result.get("seconds", 0))
            and all(isinstance(r, dict) and isinstance(r.get("name", ""), str)
                    and all(k in r for k in N1_COLUMNS)
                    and all(isinstance(r[k], str) if k in N1_TEXT else _number_or_null(r[k])
                            for k in N1_COLUMNS)
                    for r in result["rows"]))


def n1_rows(result: dict) -> list[dict]:
    """Rows of the N-1 table (the columns of :func:`run_n1`, utilisation also in %)."""
    rows = []
    for r in result.get("rows") or ():
        wu = r["worst_utilisation"]
        rows.append({**{k: r[k] for k in (*N1_COLUMNS, "name") if k in r},
                     "worst_utilisation_pct": None if wu is None else round(100 * wu, 1)})
    return rows


def n1_note(result: Any, loaded: Loaded) -> tuple[str, bool] | None:
    """The line under the N-1 table as (text, stale): what the stored result is (when, how many
    points, via which origin, how long) and whether the scenario changed since it was computed;
    None when there is no result (or the page's store holds something else)."""
    if not is_n1_result(result):
        return None
    if not result["rows"]:
        return "Nothing to analyse: the demand is empty.", False
    points = json_number(result.get("points"))  # the store may hold null (shape-checked only)
    note = (f"Computed {result.get('computed')} for "
            f"{'?' if points is None else f'{int(points):,}'} demand points "
            f"via origin {result.get('origin')} in {result.get('seconds')} s.")
    return note, result.get("key") != n1_key(loaded.scenario, loaded.origin_id)


def n1_done_text(result: dict) -> str:
    """The status line once a result is drawn ("Done: 19 access points analysed in 1.2 s.")."""
    seconds = json_number(result.get("seconds"))
    took = "" if seconds is None else f" in {seconds} s"
    return f"Done: {len(result['rows'])} access points analysed{took}."
