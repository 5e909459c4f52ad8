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

Capacity per access point: the scenario's value, else the catalog's ``capacity_gbps``, else the
scenario's default, else :data:`~dashboard.domain.scenario.DEFAULT_CAPACITY_GBPS` (the product's
per-instance bandwidth, 1 Gbps by default, up to 5 Gbps).

Results are cached per process with small LRU caches keyed on a digest of the inputs: the ranking
of 34 000 cities costs ~0.4 s and the capacity view is recomputed on every scenario edit.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from dashboard.catalog import Catalog
from dashboard.domain import capacity as cap_core
from dashboard.domain import latency as lat_core
from dashboard.domain.routing import NO_ROUTE, assign
from dashboard.domain.scenario import (
    DEFAULT_CAPACITY_GBPS,
    DEFAULT_POPULATION_GBPS,
    Client,
    Scenario,
)
from dashboard.services.routing import catalog_fingerprint, pop_origin_arrays

#: Catchment grid step, degrees (90 x 180 cells; one marker trace of 16 200 points).
CATCHMENT_STEP_DEG = 2.0
#: Above this many demand points the map aggregates them into grid cells of this step.
MAX_DEMAND_MARKERS = 1500
DEMAND_CELL_DEG = 2.0

ProgressFn = Callable[[float, str], None]


def client_label(c: Client) -> str:
    """A client's display name: its name, else its coordinates (as the map tab labels it)."""
    if c.name:
        return c.name
    return (f"{abs(c.lat):.2f}°{'N' if c.lat >= 0 else 'S'} "
            f"{abs(c.lon):.2f}°{'E' if c.lon >= 0 else 'W'}")


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


def scenario_demand(scenario: Scenario) -> Demand:
    """The demand of the capacity view for ``scenario`` (see the module docstring)."""
    if scenario.demand_source == "population":
        return population_demand(scenario.demand_scale or DEFAULT_POPULATION_GBPS)
    mbps_per_unit = scenario.demand_scale or 1.0
    cs = scenario.clients
    return Demand(np.array([c.lat for c in cs], dtype=float),
                  np.array([c.lon for c in cs], dtype=float),
                  np.array([c.weight for c in cs], dtype=float) * mbps_per_unit / 1000.0,
                  tuple(client_label(c) for c in cs), "clients",
                  f"{len(cs):,} scenario clients, weight × {mbps_per_unit:g} Mbps")


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


def full_ranking(catalog: Catalog, demand: Demand) -> np.ndarray:
    """Every PoP for every demand point, nearest first by WGS84 geodesic km (down PoPs
    included: the what-ifs walk this one ranking)."""
    m = len(catalog.pop_ids)

    def make() -> np.ndarray:
        if len(demand.lats) == 0:
            return np.zeros((0, m), dtype=np.int64)
        r = assign(demand.lats, demand.lons, catalog.pop_lats, catalog.pop_lons,
                   alternatives=m).ranked
        r.flags.writeable = False
        return r

    key = (catalog_fingerprint(catalog), hashlib.sha1(
        np.ascontiguousarray(np.c_[demand.lats, demand.lons]).tobytes()).hexdigest())
    return _rankings.get(key, make)  # type: ignore[return-value]


def catchments(catalog: Catalog, down: frozenset[str],
               step_deg: float = CATCHMENT_STEP_DEG) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Idealised catchment cells (centre lat, lon in degrees; nearest healthy PoP index), cells
    with no route dropped. Cached per (catalog, down set, step)."""
    def make():
        mask = catalog.pop_mask(sorted(d for d in down if d in catalog.pop_ids))
        lats, lons, pop = cap_core.catchment_grid(step_deg, catalog.pop_lats, catalog.pop_lons,
                                                  mask)
        ok = pop != NO_ROUTE
        return lats[ok], lons[ok], pop[ok]

    return _catchments.get((catalog_fingerprint(catalog), tuple(sorted(down)), step_deg),
                           make)  # type: ignore[return-value]


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


@dataclass(frozen=True)
class CapacityView:
    """Everything the capacity tab shows (Gbps)."""

    demand: Demand
    table: pd.DataFrame
    flows: pd.DataFrame
    totals: dict
    spill: cap_core.SpillResult


def capacity_view(catalog: Catalog, scenario: Scenario) -> CapacityView:
    """Load per PoP, spill-over and utilisation for the scenario's demand and capacities."""
    demand = scenario_demand(scenario)
    ranked = full_ranking(catalog, demand)
    caps, source = capacities_gbps(catalog, scenario)
    ids = list(catalog.pop_ids)
    down = np.array([p in scenario.down for p in ids])
    spill = cap_core.spill_over(ranked, demand.gbps, np.where(down, 0.0, caps), down)
    nearest = cap_core.first_healthy(ranked, down) if len(ranked) else np.zeros(0, np.int64)
    counts = np.bincount(nearest[nearest != NO_ROUTE], minlength=len(ids))
    diag = np.diag(spill.flows)
    util = np.divide(spill.nominal, caps, out=np.zeros(len(ids)), where=caps > 0)
    table = pd.DataFrame({
        "pop_id": ids, "name": list(catalog.pops["name"]), "city": list(catalog.pops["city"]),
        "up": ~down, "capacity_gbps": caps, "capacity_source": source,
        "clients": counts, "nominal_gbps": spill.nominal, "served_gbps": spill.load,
        "utilisation": np.where(down, np.nan, util),
        "spilled_out_gbps": spill.nominal - diag, "spilled_in_gbps": spill.load - diag,
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
        "over_capacity": [ids[k] for k in np.flatnonzero((spill.nominal > caps + 1e-12) & ~down)],
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
    overrides (``Scenario.model``). ``progress(fraction, text)`` is called as the
    RTT matrix (first 40 %) and then each PoP (the rest) complete.
    """
    demand = scenario_demand(scenario)
    if len(demand.lats) == 0:
        return pd.DataFrame(columns=list(N1_COLUMNS) + ["name"])
    ranked = full_ranking(catalog, demand)
    # Each PoP's backbone leg goes to the origin of the endpoint it is mapped to (NaN: that
    # endpoint is down, its clients are unserved), as on the map.
    from dashboard.latency import params_with

    scenario, _ = scenario.sanitized(origin_id)
    olat, olon, _ids = pop_origin_arrays(catalog, origin_id, scenario.mappings,
                                         scenario.endpoints_down)
    rtt = rtt_matrix_ms(catalog, demand.lats, demand.lons, olat, olon,
                        params=params_with(scenario.model),
                        progress=(lambda f, t: progress(0.4 * f, t)) if progress else None)
    caps, _ = capacities_gbps(catalog, scenario)
    down = np.array([p in scenario.down for p in catalog.pop_ids])

    def step(done: int, total: int) -> None:
        if progress:
            progress(0.4 + 0.6 * done / total, f"N-1: {done} of {total} access points")

    table = cap_core.n_minus_one(ranked, demand.gbps, rtt, caps, list(catalog.pop_ids), down,
                                 progress=step)
    if table.empty:
        return pd.DataFrame(columns=list(N1_COLUMNS) + ["name"])
    names = dict(zip(catalog.pop_ids, catalog.pops["name"]))
    table.insert(1, "name", [names[p] for p in table["pop_id"]])
    return table
