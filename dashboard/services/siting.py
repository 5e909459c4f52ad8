"""Where to add an access point (issue 20, part 2): bind the catalog, the gazetteer, the demand
and the latency model to :mod:`dashboard.domain.siting`.

One answer for the page (a background job), the API (``/api/v1/candidates``) and the CLI
(``anycast-dashboard candidates``): the candidate sites ranked by the demand-weighted mean RTT
gain of adding each one to the current scenario, the top rows with everything the table shows
and the ``add-planned`` edit each "add it" button sends, and the greedy best 1-3 added together.

* Demand: the capacity view's (:func:`dashboard.services.capacity.scenario_demand`): the
  34,006 gazetteer cities weighted by population (default) or the scenario's own clients with
  their weights; demand figures are Gbps like the capacity view's.
* Current routing: the scenario's PoP set as explicit arrays (:func:`pop_set`: the catalog's
  PoPs, plus the scenario's planned PoPs when it has any), PoPs down, endpoints (each PoP's
  backbone goes to its endpoint's region), latency overrides, client access type and routing
  policy -- through the normal routing (:func:`dashboard.domain.paths.client_paths`) -- and
  the scenario's announcement bias (``Scenario.bias``, docs/bias.md), bound to that PoP set and
  the latency model as the routing binds it (:func:`dashboard.domain.policy.pop_bias`). A
  candidate is new, so it has no bias: it takes a client when its selection metric beats the
  current PoP's *biased* one (:mod:`dashboard.domain.siting`; docs/planning.md).
* Candidates: the gazetteer's largest cities outside the Chinese mainland (the product has no
  access point there: ``catalog.in_mainland_china``, and GeoNames country ``CN``), or a user
  list of coordinates (:func:`parse_sites`, capped). A candidate's traffic goes to the Default
  endpoint's region (a new PoP is in no Normal endpoint's mapping).

No Dash, Flask or Plotly import. Results are cached per process (small LRU keyed on a digest of
every input): the API and a second click on an unchanged scenario answer at once.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Sequence

import numpy as np

from dashboard.catalog import MAINLAND_COUNTRY_CODE, POP_ID_RE, Catalog, in_mainland_china
from dashboard.domain import latency as lat_core
from dashboard.domain import bias as bias_core
from dashboard.domain import paths, siting
from dashboard.domain import policy as pol
from dashboard.domain.access import DEFAULT_ACCESS, check_access
from dashboard.domain.policy import DEFAULT_POLICY, check_policy
from dashboard.services.capacity import Demand, population_demand, scenario_demand
from dashboard.services.routing import pop_origin_arrays
from dashboard.services.planned import effective_catalog
from dashboard.services.scenario import Loaded

ProgressFn = Callable[[float, str], None]

#: Candidate metros ranked by default: the gazetteer's 1,000 most populous cities outside the
#: Chinese mainland (issue 20's benchmark size).
DEFAULT_METROS = 1000
#: Most candidate sites one ranking takes (metros or a user list): ~20 s on 2 cores at the
#: 34,000-city demand, the time the background job and the API may take.
MAX_CANDIDATES = 2000
#: Rows of the table / the API answer (at most :data:`MAX_TOP`).
DEFAULT_TOP = 10
MAX_TOP = 50
#: Candidates added together greedily (at most 3: each step is another full ranking).
DEFAULT_GREEDY = 3
#: Longest user list accepted as text (characters): ~2,000 lines of "lat,lon,name".
MAX_SITES_CHARS = 100_000
#: Longest name kept for a user site (characters).
MAX_SITE_NAME = 60
#: Above this many demand points x candidates the page runs the ranking as a background job
#: with progress (below, it is well under a second).
BACKGROUND_PAIRS = 2_000_000


@dataclass(frozen=True)
class Candidates:
    """Candidate sites: degrees, a name and an ISO country code each ("" when unknown), and
    what they are (shown with the result)."""

    lats: np.ndarray
    lons: np.ndarray
    names: tuple[str, ...]
    countries: tuple[str, ...]
    source: str

    def __len__(self) -> int:
        return len(self.lats)

    @property
    def key(self) -> str:
        h = hashlib.sha1()
        for a in (self.lats, self.lons):
            h.update(np.ascontiguousarray(a, dtype=float).tobytes())
        h.update("\x00".join(self.names).encode())
        return h.hexdigest()[:16]


@functools.lru_cache(maxsize=4)
def metro_candidates(n: int = DEFAULT_METROS) -> Candidates:
    """The ``n`` most populous gazetteer cities outside the Chinese mainland (GeoNames country
    ``CN`` or inside the catalog's mainland outline: the product cannot have a PoP there;
    Hong Kong, Macau and Taiwan are other codes and stay). ``ValueError`` when ``n`` is
    outside [1, :data:`MAX_CANDIDATES`]."""
    from dashboard.gazetteer import load_gazetteer

    if not 1 <= int(n) <= MAX_CANDIDATES:
        raise ValueError(f"number of candidate metros: {n} is outside [1, {MAX_CANDIDATES}]")
    df = load_gazetteer()._df  # sorted by population, largest first (read-only use)
    keep = []
    for i, (cc, la, lo) in enumerate(zip(df["country_code"], df["lat"], df["lon"])):
        if cc != MAINLAND_COUNTRY_CODE and not in_mainland_china(float(la), float(lo)):
            keep.append(i)
            if len(keep) == n:
                break
    sel = df.iloc[keep]
    lats, lons = sel["lat"].to_numpy(float), sel["lon"].to_numpy(float)
    lats.flags.writeable = lons.flags.writeable = False  # cached: shared by every caller
    return Candidates(lats, lons,
                      tuple(sel["name"].astype(str)), tuple(sel["country_code"].astype(str)),
                      f"the {len(sel):,} largest cities outside the Chinese mainland "
                      "(GeoNames)")


_SPLIT = re.compile(r"[,;\t ]+")


def parse_sites(text: str, limit: int = MAX_CANDIDATES) -> Candidates:
    """A user list of candidate sites: one per line, ``lat,lon[,name]`` (degrees; commas,
    semicolons, tabs or spaces between; a header line ``lat,lon...`` and ``#`` comments are
    skipped). At most ``limit`` sites and :data:`MAX_SITES_CHARS` characters. Sites inside the
    Chinese mainland are refused (the product has no access point there). ``ValueError`` names
    the first bad line."""
    if not isinstance(text, str):
        raise ValueError("candidate sites: expected text, one 'lat,lon[,name]' per line")
    if len(text) > MAX_SITES_CHARS:
        raise ValueError(f"candidate sites: longer than {MAX_SITES_CHARS:,} characters")
    lats, lons, names = [], [], []
    for no, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = [p for p in _SPLIT.split(line, maxsplit=2) if p != ""]
        if no == 1 and parts and parts[0].lower() in ("lat", "latitude"):
            continue
        try:
            la, lo = float(parts[0]), float(parts[1])
        except (IndexError, ValueError):
            raise ValueError(f"candidate sites, line {no}: {line[:40]!r} is not "
                             "'lat,lon[,name]'") from None
        if not (math.isfinite(la) and -90 <= la <= 90 and math.isfinite(lo)
                and -180 <= lo <= 180):
            raise ValueError(f"candidate sites, line {no}: ({parts[0][:12]}, {parts[1][:12]}) "
                             "is not a latitude in [-90, 90] and a longitude in [-180, 180]")
        if in_mainland_china(la, lo):
            raise ValueError(f"candidate sites, line {no}: ({la:g}, {lo:g}) is in the Chinese "
                             "mainland, where Anycast EIP has no access point")
        if len(lats) >= limit:
            raise ValueError(f"candidate sites: more than {limit:,}; rank at most {limit:,} "
                             "at a time")
        name = parts[2].strip(" ,;\t\"'")[:MAX_SITE_NAME] if len(parts) > 2 else ""
        lats.append(la), lons.append(lo), names.append(name or f"{la:.4f}, {lo:.4f}")
    if not lats:
        raise ValueError("candidate sites: none given; one 'lat,lon[,name]' per line")
    return Candidates(np.array(lats), np.array(lons), tuple(names), ("",) * len(lats),
                      f"{len(lats):,} sites from your list")


@dataclass(frozen=True)
class PopSet:
    """The scenario's access points as explicit arrays (catalog order, then planned ones):
    ids, degrees, the down mask and each PoP's origin (NaN: its endpoint is down)."""

    ids: tuple[str, ...]
    lats: np.ndarray
    lons: np.ndarray
    down: np.ndarray
    origin_lats: np.ndarray
    origin_lons: np.ndarray


def pop_set(catalog: Catalog, origin_id: str, down: frozenset[str] = frozenset(),
            mappings: tuple = (), endpoints_down: frozenset[str] = frozenset(),
            planned: Sequence[Any] = ()) -> PopSet:
    """The PoPs the current routing uses: the catalog's, then ``planned`` ones (objects with
    ``id``, ``lat``, ``lon``: ``Scenario.planned`` once it exists; a planned PoP's traffic goes
    to the Default endpoint's region, like a candidate's). Unknown down ids are ignored."""
    olat, olon, _ids = pop_origin_arrays(catalog, origin_id, mappings, endpoints_down)
    ids = list(catalog.pop_ids)
    lats, lons = list(catalog.pop_lats), list(catalog.pop_lons)
    default = catalog.origin(origin_id)
    up = origin_id not in endpoints_down
    extra_o = (float(default["lat"]), float(default["lon"])) if up else (math.nan, math.nan)
    olat, olon = list(olat), list(olon)
    for p in planned or ():
        ids.append(str(p.id)), lats.append(float(p.lat)), lons.append(float(p.lon))
        olat.append(extra_o[0]), olon.append(extra_o[1])
    mask = np.array([i in down for i in ids], dtype=bool)
    return PopSet(tuple(ids), np.array(lats, float), np.array(lons, float), mask,
                  np.array(olat, float), np.array(olon, float))


# -- the ranking ------------------------------------------------------------------------------

class _LRU:
    def __init__(self, size: int) -> None:
        self.size, self.data, self.lock = size, OrderedDict(), threading.Lock()

    def get(self, key: str) -> Any:
        with self.lock:
            if key in self.data:
                self.data.move_to_end(key)
                return self.data[key]
        return None

    def put(self, key: str, value: Any) -> None:
        with self.lock:
            self.data[key] = value
            while len(self.data) > self.size:
                self.data.popitem(last=False)


_results = _LRU(16)


def suggest_ids(names: Sequence[str], taken: Sequence[str]) -> list[str]:
    """An access point id per name (``[A-Z0-9]{2,8}``, like the catalog's): the first three
    letters of the name (accents dropped), a digit added when it is taken (by the catalog or
    an earlier name)."""
    from dashboard.gazetteer import fold

    used = {t.upper() for t in taken}
    out = []
    for name in names:
        letters = re.sub(r"[^A-Z0-9]", "", fold(name).upper()) or "NEW"
        base = (letters + "XX")[:3]
        pid, k = base, 1
        while pid in used or not POP_ID_RE.match(pid):
            pid, k = f"{base}{k}", k + 1
        used.add(pid)
        out.append(pid)
    return out


def _digest(parts: dict) -> str:
    return hashlib.sha1(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _site_record(c: int, pid: str, cands: Candidates) -> dict[str, Any]:
    return {"id": pid, "name": cands.names[c], "country": cands.countries[c],
            "lat": round(float(cands.lats[c]), 4), "lon": round(float(cands.lons[c]), 4)}


def _num(x: float, nd: int = 2) -> float | None:
    x = float(x)
    return round(x, nd) if math.isfinite(x) else None


def add_planned_edit(site: dict[str, Any]) -> dict[str, Any]:
    """The edit request an "add it" button sends (``add-planned``: planned PoPs, issue 20.1)."""
    return {"op": "add-planned", "id": site["id"], "lat": site["lat"], "lon": site["lon"],
            "name": site["name"]}


def rank(catalog: Catalog, demand: Demand, origin_id: str, candidates: Candidates, *,
         down: frozenset[str] = frozenset(), mappings: tuple = (),
         endpoints_down: frozenset[str] = frozenset(), model: tuple = (),
         policy: str = DEFAULT_POLICY, access: str = DEFAULT_ACCESS, planned: Sequence[Any] = (),
         bias: Any = (), top: int = DEFAULT_TOP, greedy: int = DEFAULT_GREEDY,
         progress: ProgressFn | None = None) -> dict[str, Any]:
    """The JSON-ready ranking (see the module docstring). Keys: ``key`` (digest of the inputs),
    ``origin``, ``policy``, ``access``, ``source`` (what the candidates are), ``candidates``,
    ``points`` (demand points), ``demand_gbps``, ``mean_before_ms``, ``p95_before_ms``,
    ``rows`` (top ``top``, best first: rank, id (suggested), name, country, lat, lon,
    ``gain_ms``, ``mean_after_ms``, ``p95_after_ms``, ``demand_moving_gbps``,
    ``demand_moving_pct``, ``clients_moving``, ``served_change_gbps``, ``edit``: the
    ``add-planned`` request), ``greedy`` (the picks in order, each with the combined
    ``gain_ms`` and ``mean_after_ms`` once it is added), ``greedy_gain_ms``, ``seconds``,
    ``computed``; ``bias`` ({id: ms}) when the ranking used one.

    ``bias``: the announcement bias (``((pop id, ms), ...)`` or ``{id: ms}``;
    :func:`dashboard.domain.bias.canonical`): the current routing is the biased one and a
    candidate (unbiased) wins a client when it beats the current PoP's biased selection metric
    (docs/planning.md, docs/bias.md); ids may be the catalog's or ``planned`` ones.
    ``ValueError`` names a bad argument (a bias id the PoP set lacks included); ``KeyError`` an
    unknown origin."""
    from dashboard.latency import params_with

    policy, access = check_policy(policy), check_access(access)
    top = max(0, min(int(top), MAX_TOP))
    greedy = max(0, min(int(greedy), 3))
    if len(candidates) > MAX_CANDIDATES:
        raise ValueError(f"{len(candidates):,} candidate sites: at most {MAX_CANDIDATES:,}")
    planned_key = [(str(p.id), float(p.lat), float(p.lon)) for p in planned or ()]
    ps = pop_set(catalog, origin_id, down, mappings, endpoints_down, planned)
    bias = bias_core.canonical(bias, ps.ids)  # ValueError names a bad or unknown entry
    key = _digest({"demand": demand.key, "origin": origin_id, "cands": candidates.key,
                   "down": sorted(down), "mappings": [list(m) for m in mappings],
                   "endpoints_down": sorted(endpoints_down), "model": list(model),
                   "policy": policy, "access": access, "planned": planned_key, "top": top,
                   "greedy": greedy, "bias": [list(b) for b in bias],
                   # ids and coordinates: a catalog with planned rows (the CLI's --add-pop,
                   # the API's planned=) may reuse an id at another place
                   "catalog": list(catalog.pop_ids),
                   "coords": [list(map(float, catalog.pop_lats)),
                              list(map(float, catalog.pop_lons))]})
    hit = _results.get(key)
    if hit is not None:
        if progress is not None:
            progress(1.0, "done (cached)")
        return hit
    t0 = time.perf_counter()
    params = params_with(model, access)
    pb = pol.pop_bias(bias, ps.ids, params)  # None without one: the unbiased code path
    if progress is not None:
        progress(0.0, f"routing {len(demand.lats):,} demand points")
    o = catalog.origin(origin_id)
    direct = (float(o["lat"]), float(o["lon"]))
    lats, lons = np.asarray(demand.lats, float), np.asarray(demand.lons, float)
    if len(lats):
        table = paths.client_paths(lats, lons, ps.ids, ps.lats, ps.lons, ps.origin_lats,
                                   ps.origin_lons, down=ps.down, params=params,
                                   direct_origin=direct, policy=policy, bias=pb)
        current = siting.from_table(table, pb, ps.ids)
    else:
        current = siting.Current(np.empty(0), np.empty(0), np.empty(0))
    cand_origin = direct if origin_id not in endpoints_down else (math.nan, math.nan)
    sites = siting.prepare_sites(candidates.lats, candidates.lons, *cand_origin, params)
    terms = lat_core.locate(lats, lons, params)
    r = siting.rank_sites(lats, lons, demand.gbps, current, sites, params, policy, terms=terms,
                          top=top, greedy=greedy,
                          progress=(lambda f, t: progress(0.05 + 0.95 * f, t))
                          if progress else None)
    g = r.gains
    shown = [int(c) for c in r.order[:top]] if len(lats) else []  # no demand: no ranking
    picks = list(r.greedy)
    wanted = shown + [c for c in picks if c not in shown]
    id_of = dict(zip(wanted, suggest_ids([candidates.names[c] for c in wanted], ps.ids)))
    total = float(np.sum(demand.gbps))
    rows = []
    for i, c in enumerate(shown):
        site = _site_record(c, id_of[c], candidates)
        rows.append({"rank": i + 1, **site, "gain_ms": _num(g.gain_ms[c]),
                     "mean_after_ms": _num(g.mean_after_ms[c]),
                     "p95_after_ms": _num(r.p95_after_ms[i]),
                     "demand_moving_gbps": _num(g.demand_moving[c], 6),
                     "demand_moving_pct": _num(100 * g.demand_moving[c] / total, 2)
                     if total > 0 else None,
                     "clients_moving": int(g.clients_moving[c]),
                     "served_change_gbps": _num(g.served_change[c], 6),
                     "edit": add_planned_edit(site)})
    steps = [{**_site_record(c, id_of[c], candidates), "gain_ms": _num(gain),
              "mean_after_ms": _num(mean)}
             for c, gain, mean in zip(picks, r.greedy_gain_ms, r.greedy_mean_ms)]
    result = {
        "key": key, "origin": origin_id, "policy": policy, "access": access,
        "source": candidates.source, "candidates": len(candidates), "points": len(lats),
        "demand_gbps": _num(total, 6), "mean_before_ms": _num(g.mean_before_ms),
        "p95_before_ms": _num(r.p95_before_ms), "rows": rows, "greedy": steps,
        "greedy_gain_ms": steps[-1]["gain_ms"] if steps else None,
        "seconds": round(time.perf_counter() - t0, 2),
        "computed": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        **({"bias": dict(bias)} if bias else {}),
    }
    _results.put(key, result)
    return result


def scenario_key(loaded: Loaded) -> str:
    """Digest of what a scenario's ranking depends on (to say "the scenario changed since")."""
    s = loaded.scenario
    d = s.to_dict()
    parts = {k: d.get(k) for k in ("down", "mappings", "endpoints_down", "demand_source",
                                   "demand_scale", "model", "policy", "access", "planned",
                                   "bias")}
    parts["origin"] = loaded.origin_id
    if s.demand_source == "clients":
        parts["clients"] = [(c.lat, c.lon, c.weight) for c in s.clients]
    return _digest(parts)


def pairs(loaded: Loaded, n_candidates: int = DEFAULT_METROS) -> int:
    """Demand points x candidates of a scenario's ranking (what decides background or not)."""
    s = loaded.scenario
    points = len(s.clients) if s.demand_source == "clients" else len(population_demand().lats)
    return points * n_candidates


def for_scenario(loaded: Loaded, catalog: Catalog, candidates: Candidates | None = None,
                 progress: ProgressFn | None = None, top: int = DEFAULT_TOP,
                 greedy: int = DEFAULT_GREEDY) -> dict[str, Any]:
    """:func:`rank` for a loaded scenario (its demand, PoPs down, endpoints, overrides,
    policy, access type, announcement bias and planned PoPs, when it has them); the result
    also carries
    ``scenario_key`` (:func:`scenario_key`)."""
    s = loaded.scenario
    # The scenario's planned PoPs are rows of its effective catalog (routed, mapped to
    # endpoints and marked down like any PoP), as in every other view.
    result = rank(effective_catalog(catalog, s), scenario_demand(s), loaded.origin_id,
                  candidates or metro_candidates(), down=loaded.down, mappings=s.mappings,
                  endpoints_down=frozenset(s.endpoints_down), model=s.model, policy=s.policy,
                  access=s.access, bias=s.bias, top=top, greedy=greedy, progress=progress)
    return {**result, "scenario_key": scenario_key(loaded)}


# -- the page's view of a stored result -------------------------------------------------------

ROW_TEXT = ("id", "name", "country")
ROW_NUMBERS = ("rank", "lat", "lon", "gain_ms", "mean_after_ms", "p95_after_ms",
               "demand_moving_gbps", "demand_moving_pct", "clients_moving",
               "served_change_gbps")


def _number_or_null(v: Any) -> bool:
    if isinstance(v, float):
        return math.isfinite(v)
    return v is None or (isinstance(v, int) and not isinstance(v, bool) and abs(v) <= 2**53)


def is_result(result: Any) -> bool:
    """Whether ``result`` is shaped like :func:`for_scenario`'s (the store lives in the
    browser: anything else is not drawn)."""
    if not (isinstance(result, dict) and isinstance(result.get("rows"), list)
            and isinstance(result.get("greedy"), list) and len(result["rows"]) <= MAX_TOP
            and len(result["greedy"]) <= 3):
        return False
    for r in result["rows"] + result["greedy"]:
        if not isinstance(r, dict):
            return False
        if not all(isinstance(r.get(k), str) for k in ROW_TEXT):
            return False
        if not all(_number_or_null(r.get(k)) for k in ROW_NUMBERS):
            return False
        if r.get("lat") is None or r.get("lon") is None:
            return False
    return all(_number_or_null(result.get(k)) for k in ("mean_before_ms", "p95_before_ms",
                                                        "greedy_gain_ms", "seconds"))


def _bias_note(value: Any) -> str:
    """", announcement bias FRA +20 ms (selection only, docs/bias.md)" for a stored result's
    ``bias`` ({id: ms}); "" when absent or not a valid bias (the store lives in the browser)."""
    if not isinstance(value, dict) or not value:
        return ""
    try:
        text = bias_core.describe(bias_core.canonical(value))
    except ValueError:
        return ""
    return f", announcement bias {text} (selection only, {bias_core.DOC_REF})" if text else ""


@dataclass(frozen=True)
class SitingView:
    """What the "Where to add a PoP" panel shows: table rows (plain values; ``edit``: the
    request of the row's "add it" button), the greedy line, the note under the table (and
    whether the scenario changed since), and the markers of the top rows on the map."""

    rows: list[dict]
    greedy_text: str
    note: str
    stale: bool
    marker_lats: list[float]
    marker_lons: list[float]
    marker_text: list[str]


def view(result: Any, loaded: Loaded | None = None) -> SitingView | None:
    """The panel's view-model of a stored result (None when there is none or it is not one)."""
    if not is_result(result):
        return None
    rows = [{k: r.get(k) for k in ("rank", "id", "name", "country", "lat", "lon", "gain_ms",
                                   "mean_after_ms", "p95_after_ms", "demand_moving_pct",
                                   "clients_moving")}
            | {"edit": r.get("edit")} for r in result["rows"]]
    g = result["greedy"]
    if g:
        names = " + ".join(f"{s['name']} ({s['id']})" for s in g)
        greedy_text = (f"Best {len(g)} added together (greedy): {names}: mean RTT "
                       f"{result.get('mean_before_ms')} → {g[-1].get('mean_after_ms')} ms, "
                       f"{g[-1].get('gain_ms')} ms better.")
    elif not result["rows"]:
        greedy_text = ("No demand to rank against: choose the population demand or add "
                       "clients in the capacity view.")
    else:
        greedy_text = "No candidate lowers the mean RTT."
    note = (f"Ranked {int(result.get('candidates') or 0):,} candidate sites "
            f"({result.get('source', '')}) against {int(result.get('points') or 0):,} demand "
            f"points, {result.get('policy', '')} policy{_bias_note(result.get('bias'))}, in "
            f"{result.get('seconds')} s "
            f"({result.get('computed', '')}). Mean RTT now {result.get('mean_before_ms')} ms, "
            f"p95 {result.get('p95_before_ms')} ms. Latency only: capacity, cost and whether "
            "the provider can open a PoP there are not part of the ranking.")
    stale = loaded is not None and result.get("scenario_key") != scenario_key(loaded)
    text = [f"#{r['rank']} {r['name']}: −{r['gain_ms']} ms mean" for r in result["rows"]]
    return SitingView(rows, greedy_text, note, stale, [r["lat"] for r in result["rows"]],
                      [r["lon"] for r in result["rows"]], text)
