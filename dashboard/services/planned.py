"""Planned (hypothetical) access points bound to the catalog and the data (docs/planning.md).

- :func:`effective_catalog`: the catalog every view of a scenario uses, the catalog's PoPs plus
  the scenario's planned ones (:meth:`dashboard.catalog.Catalog.with_planned`, memoised), so
  routing (both policies), latency, failover, capacity, catchments, N-1, landing probabilities
  and explanations include them with no code of their own;
- :func:`planned_problems` / :func:`parse_planned_strict`: the checks the domain cannot make
  (a clash with a catalog id, a site in the Chinese mainland, where Anycast EIPs are not
  available), shared by the page's edits, the API and the CLI;
- :func:`gain_card`: the view-model of the "planned PoP gain" card;
- :func:`nearest_city`: the gazetteer city a planned PoP is named after when it has no name.

No Dash, Flask or Plotly import.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, replace
from typing import Iterable, Sequence

import numpy as np

from dashboard.catalog import Catalog, in_mainland_china
from dashboard.domain.planned import MAX_PLANNED, PlannedPop, planned_count_message
from dashboard.domain.scenario import Scenario
from dashboard.domain.scenario_url import parse_planned
from dashboard.domain.stats import weighted_quantile
from dashboard.services.scenario import Loaded
from dashboard.services.text import Kpi, ms_text, signed_ms

#: Where the rules and the model's assumptions are documented (cited by every message).
DOC_REF = "docs/planning.md"
#: The demand set the "population within X ms" lines count (key of ``gazetteer.DEMAND_SETS``).
POPULATION_SET = "cities25k"
#: RTT thresholds of the population lines (ms).
THRESHOLDS_MS = (50.0, 100.0)
#: A planned PoP is named after the nearest of the gazetteer's largest cities within this
#: distance (km); farther: no name ("P1").
NAME_WITHIN_KM = 150.0
#: Radius of a metro area (km) for naming: the largest city this close wins over a nearer suburb.
METRO_KM = 50.0


def effective_catalog(catalog: Catalog, scenario: Scenario) -> Catalog:
    """``catalog`` plus ``scenario``'s planned PoPs (the same object for the same planned
    tuple: fingerprints and caches are shared); ``catalog`` itself without planned PoPs."""
    return catalog.with_planned(scenario.planned) if scenario.planned else catalog


def without_planned(scenario: Scenario) -> Scenario:
    """``scenario`` with every planned PoP (and every mention of one) removed: the "before" of
    the gain card."""
    for pid in scenario.planned_ids:
        scenario = scenario.remove_planned(pid)
    return scenario


def planned_problems(planned: Iterable[PlannedPop], catalog: Catalog) -> list[str]:
    """What is wrong with ``planned`` beyond the domain's own rules, one message per PoP: an id
    that is a catalog id, a site in the Chinese mainland ([] when nothing)."""
    base = set(catalog.base_pop_ids)
    out = []
    for p in planned:
        if p.id in base:
            out.append(f"{p.id} is an access point of the catalog; a planned access point needs "
                       f"another id ({DOC_REF})")
        elif in_mainland_china(p.lat, p.lon):
            out.append(f"planned access point {p.id} at {p.lat:g}, {p.lon:g} lies in the Chinese "
                       f"mainland, where Anycast EIPs are not available ({DOC_REF})")
    return out


def drop_bad_planned(scenario: Scenario, catalog: Catalog) -> tuple[Scenario, list[str]]:
    """``scenario`` without the planned PoPs :func:`planned_problems` refuses, and why (a link
    is lenient: the rest of it is kept)."""
    bad = [p for p in scenario.planned if planned_problems((p,), catalog)]
    if not bad:
        return scenario, []
    base = set(catalog.base_pop_ids)
    for p in bad:
        if p.id in base:  # a catalog id: drop only the planned entry, not the catalog PoP's state
            scenario = replace(scenario, planned=tuple(q for q in scenario.planned if q != p))
        else:
            scenario = scenario.remove_planned(p.id)
    return scenario, planned_problems(bad, catalog)


def parse_planned_strict(values: Sequence[str], catalog: Catalog) -> tuple[PlannedPop, ...]:
    """The API's ``planned=`` values / the CLI's ``--add-pop`` arguments (each
    ``ID:LAT,LON[,name[,gbps]]``, several ``;``-separated in one value) -> planned PoPs;
    ``ValueError`` with one message for the first problem (strict, unlike a link: a request
    that names a bad PoP gets an error, not a silently different answer)."""
    raw = [v for v in values if isinstance(v, str)]
    n_items = sum(len([i for i in v.split(";") if i.strip()]) for v in raw)
    if n_items > MAX_PLANNED:
        raise ValueError(planned_count_message(n_items))
    warnings: list[str] = []
    out: list[PlannedPop] = []
    for value in raw:
        out += parse_planned(value, catalog.base_pop_ids, warnings)
    if warnings:
        raise ValueError(warnings[0].replace("ignored", "invalid") + f" (use ID:LAT,LON, e.g. "
                         f"JNB:-26.2041,28.0473; {DOC_REF})")
    ids = [p.id for p in out]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise ValueError(f"planned access point id {dup[0]} is used twice")
    problems = planned_problems(out, catalog)
    if problems:
        raise ValueError(problems[0])
    return tuple(out)


# -- naming --------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def _large_cities() -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    from dashboard.gazetteer import demand_set, load_gazetteer

    ds = demand_set(load_gazetteer(), POPULATION_SET)
    names = tuple(n.rsplit(", ", 1)[0] for n in ds.names)
    return np.radians(ds.lats), np.radians(ds.lons), names


def nearest_city(lat: float, lon: float, within_km: float = NAME_WITHIN_KM) -> str:
    """The name a planned PoP at (lat, lon) gets: the most populous of the gazetteer's 25,000
    largest cities within :data:`METRO_KM` (a click in a suburb names the metro: Johannesburg,
    not Alberton), else the nearest within ``within_km`` (great circle, km), else "" (a PoP in
    the sea gets "P1")."""
    la, lo, names = _large_cities()
    if not len(la):
        return ""
    p, q = math.radians(lat), math.radians(lon)
    h = np.sin((la - p) / 2) ** 2 + math.cos(p) * np.cos(la) * np.sin((lo - q) / 2) ** 2
    km = 2 * 6371.0088 * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    metro = np.flatnonzero(km <= METRO_KM)  # rows are sorted by population, largest first
    if len(metro):
        return names[int(metro[0])]
    i = int(np.argmin(km))
    return names[i] if km[i] <= within_km else ""


# -- the gain card -------------------------------------------------------------------------------

@dataclass(frozen=True)
class GainCard:
    """The "planned PoP gain" card: ``title``; ``kpis`` (moved clients, their demand, their
    median / p95 RTT change, the overall median / p95 change, population within 50 / 100 ms
    before -> after); ``per_pop`` one line per planned PoP ("JNB: 2 clients"); ``numbers`` the
    same values as numbers (tests, API); ``note`` what it means (not a product offer)."""

    title: str
    kpis: tuple[Kpi, ...]
    per_pop: tuple[str, ...]
    numbers: dict
    note: str


GAIN_NOTE = ("Planned access points are a what-if of the provider's network (the operator "
             "adding a PoP), not something a customer can buy; modelled RTTs, same latency "
             f"model and routing policy as the rest of the page ({DOC_REF}).")


def _wq(values: np.ndarray, weights: np.ndarray, q: float) -> float | None:
    ok = np.isfinite(values) & (weights > 0)
    return weighted_quantile(values[ok], weights[ok], q) if ok.any() else None


def _delta(after: float | None, before: float | None) -> float | None:
    return None if after is None or before is None else after - before


def _population_within(catalog: Catalog, loaded: Loaded) -> dict[float, float]:
    """Population (people) of :data:`POPULATION_SET` whose modelled RTT is at most each of
    :data:`THRESHOLDS_MS`, for ``loaded``'s origin, endpoints, down set, model, policy and
    access; routed on ``catalog``. Cached per process on those (a client added or removed
    does not change it, so most round trips with planned PoPs cost a dictionary lookup)."""
    from dashboard.services.routing import catalog_fingerprint

    s = loaded.scenario
    return dict(_population_cached(
        catalog_fingerprint(catalog), loaded.origin_id, tuple(sorted(loaded.down)),
        tuple((str(r), tuple(sorted(p))) for r, p in s.mappings),
        tuple(sorted(s.endpoints_down)), tuple(s.model), s.policy, s.access))


@functools.lru_cache(maxsize=64)
def _population_cached(fp: str, origin_id: str, down: tuple[str, ...],
                       mappings: tuple[tuple[str, tuple[str, ...]], ...],
                       endpoints_down: tuple[str, ...], model: tuple[tuple[str, float], ...],
                       policy: str, access: str) -> tuple[tuple[float, float], ...]:
    from dashboard.gazetteer import demand_set, load_gazetteer
    from dashboard.services.routing import _catalog, demand_route_table

    routes = demand_route_table(_catalog(fp), POPULATION_SET, origin_id, frozenset(down),
                                mappings, frozenset(endpoints_down), model, policy, access)
    pop = np.asarray(demand_set(load_gazetteer(), POPULATION_SET).weights, dtype=float)
    ms = routes["anycast_ms"].to_numpy(float)
    return tuple((t, float(pop[np.isfinite(ms) & (ms <= t)].sum())) for t in THRESHOLDS_MS)


def gain_numbers(loaded: Loaded, catalog: Catalog, population: bool = True) -> dict | None:
    """The gain of ``loaded``'s planned PoPs over the same scenario without them (``catalog``:
    the app's catalog, without planned rows). Keys: ``clients``, ``moved``, ``moved_weight``,
    ``total_weight``, ``moved_p50_before/after``, ``moved_p95_before/after``, ``p50_before/after``,
    ``p95_before/after`` (ms, weighted by client weight), ``per_pop`` {id: moved clients},
    ``population_before/after`` {threshold ms: people} when ``population``. None without planned
    PoPs. Units: ms, client weights, people."""
    from dashboard.services.map import scenario_routes

    s = loaded.scenario
    if not s.planned:
        return None
    after_cat = effective_catalog(catalog, s)
    before = Loaded(without_planned(s), loaded.origin_id)
    r_after, _names, w = scenario_routes(loaded, after_cat)
    r_before, _n, _w = scenario_routes(before, catalog)
    out: dict = {"planned": list(s.planned_ids), "clients": 0, "moved": 0, "moved_weight": 0.0,
                 "total_weight": 0.0, "per_pop": {p: 0 for p in s.planned_ids}}
    if r_after is not None and r_before is not None and len(r_after):
        w = np.asarray(w, dtype=float)
        a = r_after["anycast_ms"].to_numpy(float)
        b = r_before["anycast_ms"].to_numpy(float)
        pop_after = r_after["pop_id"].astype(object).to_numpy()
        moved = np.isin(pop_after, list(s.planned_ids)) & r_after["routed"].to_numpy(bool)
        out.update(clients=int(len(w)), moved=int(moved.sum()),
                   moved_weight=float(w[moved].sum()), total_weight=float(w.sum()),
                   moved_p50_before=_wq(b[moved], w[moved], 0.5),
                   moved_p50_after=_wq(a[moved], w[moved], 0.5),
                   moved_p95_before=_wq(b[moved], w[moved], 0.95),
                   moved_p95_after=_wq(a[moved], w[moved], 0.95),
                   p50_before=_wq(b, w, 0.5), p50_after=_wq(a, w, 0.5),
                   p95_before=_wq(b, w, 0.95), p95_after=_wq(a, w, 0.95))
        for pid in s.planned_ids:
            out["per_pop"][pid] = int((pop_after[moved] == pid).sum())
    if population:
        out["population_before"] = _population_within(catalog, before)
        out["population_after"] = _population_within(after_cat, loaded)
    return out


def _change(before: float | None, after: float | None) -> str:
    """``"407 → 167 ms"`` ("–" for a missing side)."""
    if before is None or after is None or not (math.isfinite(before) and math.isfinite(after)):
        return f"{ms_text(before)} → {ms_text(after)}"
    return f"{before:.0f} → {after:.0f} ms"


def _people(n: float) -> str:
    return f"{n / 1e9:.2f} bn" if n >= 1e9 else f"{n / 1e6:.0f} M" if n >= 1e6 else f"{n:,.0f}"


def gain_card(loaded: Loaded, catalog: Catalog) -> GainCard | None:
    """The gain card of ``loaded`` (None without planned PoPs); ``catalog``: the app's own."""
    g = gain_numbers(loaded, catalog)
    if g is None:
        return None
    s = loaded.scenario
    names = ", ".join(p.label for p in s.planned)
    kpis: list[Kpi] = []
    if g["clients"]:
        share = g["moved_weight"] / g["total_weight"] if g["total_weight"] > 0 else 0.0
        mbps = s.demand_scale if s.demand_source == "clients" and s.demand_scale else 1.0
        kpis += [
            Kpi("clients moving to planned PoPs", f"{g['moved']:,} of {g['clients']:,}",
                "clients whose access point becomes a planned one"),
            Kpi("their demand", f"{share:.0%}",
                f"{g['moved_weight']:,.6g} of {g['total_weight']:,.6g} (client weights), i.e. "
                f"{g['moved_weight'] * mbps:,.6g} of {g['total_weight'] * mbps:,.6g} Mbps at "
                f"{mbps:g} Mbps per weight unit (the capacity view's demand scale)"),
        ]
        if g["moved"]:
            kpis += [
                Kpi("their median RTT", _change(g["moved_p50_before"], g["moved_p50_after"]),
                    f"change {signed_ms(_delta(g['moved_p50_after'], g['moved_p50_before']))}"),
                Kpi("their p95 RTT", _change(g["moved_p95_before"], g["moved_p95_after"]),
                    f"change {signed_ms(_delta(g['moved_p95_after'], g['moved_p95_before']))}"),
            ]
        kpis += [
            Kpi("overall median RTT", _change(g["p50_before"], g["p50_after"]),
                f"change {signed_ms(_delta(g['p50_after'], g['p50_before']))}, every client"),
            Kpi("overall p95 RTT", _change(g["p95_before"], g["p95_after"]),
                f"change {signed_ms(_delta(g['p95_after'], g['p95_before']))}, every client"),
        ]
    for t in THRESHOLDS_MS:
        before, after = g["population_before"][t], g["population_after"][t]
        kpis.append(Kpi(f"population within {t:.0f} ms", f"{_people(before)} → {_people(after)}",
                        f"people in the 25,000 largest cities (GeoNames) whose modelled RTT to "
                        f"the origin is at most {t:.0f} ms, without → with the planned PoPs "
                        f"({after - before:+,.0f})"))
    per_pop = tuple(f"{pid}: {n:,} client(s)" for pid, n in g["per_pop"].items())
    return GainCard(f"Gain of the planned PoPs ({names})", tuple(kpis), per_pop, g, GAIN_NOTE)


def planned_rows(scenario: Scenario) -> list[dict]:
    """Rows of the planned PoPs table (id, name, lat, lon, capacity_gbps: None = default)."""
    return [{"id": p.id, "name": p.name, "lat": p.lat, "lon": p.lon,
             "capacity_gbps": p.capacity_gbps} for p in scenario.planned]



# -- widget requests (resolved into domain edits; see services/requests.py) ----------------------

#: Widget requests of the planned PoPs panel resolved here (the map click in plan mode sends the
#: domain edit ``add-planned`` itself; it gets a name here when it has none).
PLANNED_REQUESTS = ("planned_input", "planned_city", "planned_table", "add-planned")


def _notice(level: str, text: str) -> dict:
    return {"op": "notice", "notices": [{"level": level, "text": text}]}


def _named(request: dict) -> dict:
    """``add-planned`` with the nearest large city's name when it has neither id nor name."""
    if request.get("id") or request.get("name"):
        return request
    try:
        lat, lon = float(request["lat"]), float(request["lon"])
    except (KeyError, TypeError, ValueError, OverflowError):
        return request  # the reducer names the problem
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return request
    return {**request, "name": nearest_city(lat, lon)}


def resolve_planned_request(request: dict, scenario: Scenario) -> dict | None:
    """The domain edit for one of :data:`PLANNED_REQUESTS` (a ``notice`` for bad input; None
    when nothing changes):

    - ``planned_input`` [text]: ``ID:lat,lon[,name[,gbps]]``, ``lat, lon`` or a city name (the
      gazetteer's best match) -> ``add-planned``;
    - ``planned_city`` [id]: a gazetteer city (GeoNames id) -> ``add-planned`` named after it;
    - ``planned_table`` [rows]: the planned PoPs table after an edit (a row deleted -> remove,
      a name or capacity changed -> update; the first difference);
    - ``add-planned`` without id and name: named after the nearest large city.
    """
    from dashboard.gazetteer import load_gazetteer
    from dashboard.services.requests import parse_coordinates

    op = request.get("op")
    if op == "add-planned":
        return _named(request)
    if op == "planned_city":
        try:
            c = load_gazetteer().by_id(int(request.get("id")))  # type: ignore[arg-type]
        except (KeyError, TypeError, ValueError, OverflowError):
            return _notice("error", "Planned access point: unknown city; search again")
        return {"op": "add-planned", "lat": c.lat, "lon": c.lon, "name": c.name}
    if op == "planned_input":
        text = request.get("text")
        text = text.strip()[:200] if isinstance(text, str) else ""
        if not text:
            return _notice("error", "Planned access point: type ID:lat,lon (e.g. "
                                    "JNB:-26.2041,28.0473), lat, lon or a city name")
        head = text.partition(":")[0].strip()
        if ":" in text and head and head.replace("-", "").isalnum() and "," in text:
            warnings: list[str] = []
            found = parse_planned(text.replace(" ", ""), None, warnings)
            if warnings or len(found) != 1:
                return _notice("error", f"Planned access point: "
                                        f"{(warnings or ['one at a time'])[0]}")
            p = found[0]
            return {"op": "add-planned", **p.to_dict()}
        try:
            lat, lon = parse_coordinates(text)
        except ValueError as exc:
            if not any(ch.isalpha() for ch in text.replace("N", "").replace("S", "")
                       .replace("E", "").replace("W", "")):  # numbers: a coordinate problem
                return _notice("error", f"Planned access point: {exc}")
            cities = load_gazetteer().search(text, limit=1)
            if not cities:
                return _notice("error", f"Planned access point: {text[:40]!r} is neither "
                                        "coordinates nor a city of the gazetteer")
            c = cities[0]
            return {"op": "add-planned", "lat": c.lat, "lon": c.lon, "name": c.name}
        return _named({"op": "add-planned", "lat": lat, "lon": lon})
    if op == "planned_table":
        rows = request.get("rows")
        if not isinstance(rows, list):
            return None
        by_id = {r.get("id"): r for r in rows[:MAX_PLANNED + 1] if isinstance(r, dict)}
        for p in scenario.planned:
            row = by_id.get(p.id)
            if row is None:
                return {"op": "remove-planned", "id": p.id}
            name = row.get("name") or ""
            cap = row.get("capacity_gbps")
            cap = None if cap in (None, "") else cap
            if name != p.name or cap != p.capacity_gbps:
                try:
                    same_cap = cap is not None and p.capacity_gbps is not None \
                        and float(cap) == p.capacity_gbps
                except (TypeError, ValueError):
                    same_cap = False
                if name != p.name or not same_cap and cap != p.capacity_gbps:
                    return {"op": "update-planned", "id": p.id, "name": name,
                            "capacity_gbps": cap}
        return None
    return request
