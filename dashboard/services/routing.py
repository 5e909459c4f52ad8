"""Service functions: what callbacks, the API and the CLI call. They bind the catalog to the pure
domain and take primitive, hashable arguments (tuples of coordinates, frozensets of ids) so that
they can be memoized in the shared cache (in-process, or Redis across workers and hosts).

Memoization (see :mod:`dashboard.memo`) keys on primitive arguments only. A :class:`Catalog` is
not primitive (``repr()`` of its DataFrames is neither unique nor stable), so each public function
turns it into its *fingerprint* -- a SHA-256 of its contents -- and calls a memoized inner function
that looks the catalog up again by fingerprint. Two workers (or hosts) that loaded the same files
therefore share cache entries, and a changed file can never be served a stale answer.

Outside a Flask app (CLI, notebooks) nothing is cached and nothing web-related is imported.
Coordinates are used exactly as given; callers that want more cache hits round them first with
:func:`dashboard.domain.clients.round_coord` (``COORD_DECIMALS`` = 4 decimals ~ 11 m, far below
the model's resolution; the same rounding every client gets).

Latency model overrides (``Scenario.model``: the user's "advanced" parameters) travel as the
canonical tuple ``((name, value), ...)`` of :func:`dashboard.latency.canonical_overrides` in the
``model`` argument. With none (the default) every function makes exactly the calls, and the memo
keys, it makes without the argument; with some, the tuple is appended to the memoized call's
arguments, so answers under different parameters never share a cache entry.

The routing policy (``policy``: :mod:`dashboard.domain.policy`) works the same way: the default
(``geographic``) makes exactly the calls and memo keys it made before policies existed; another
policy is appended to the memoized call's arguments (after the model, which is then always given).

Who the clients are (``access``: :mod:`dashboard.domain.access`; ``"end-user"``, the default, or
``"datacenter"``) enters every route table through the latency parameters
(:func:`dashboard.latency.params_with`: the access term on every internet leg, client -> PoP and
the direct path, never the backbone). The default makes the calls and memo keys described
above; ``"datacenter"`` is appended after the model and the policy (which are then given).
The memo keys' code version (:data:`dashboard.memo.CODE_VERSION`) changed with the default, so
no end-user answer is ever served from a data-centre entry written before.

The announcement bias (``bias``: ``Scenario.bias``, :mod:`dashboard.domain.bias`; the canonical
``((pop id, ms), ...)``) changes route selection only: it is bound to the catalog and the latency
model in use (:func:`bound_bias`) and every ranking (:mod:`dashboard.domain.policy`) reads it.
None (``()``, the default) makes exactly the calls and memo keys described above; a bias is
appended after the model, the policy and the access type (which are then all given). An id the
catalog lacks raises ``KeyError`` naming it.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import math
import threading
import weakref
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd

from dashboard.catalog import Catalog
from dashboard import latency
from dashboard.domain import endpoints, geodesy, paths
from dashboard.domain import latency as _latency
from dashboard.domain import whatif
from dashboard.domain import bias as bias_core
from dashboard.domain import policy as pol
from dashboard.domain.access import DEFAULT_ACCESS, check_access
from dashboard.domain.policy import DEFAULT_POLICY, NETWORK, check_policy, flagged
from dashboard.gazetteer import demand_set, load_gazetteer
from dashboard.memo import BYPASS, lookup_key, memoize
from dashboard.settings import latency_params_file

_lock = threading.Lock()
#: fingerprint -> catalog (weak: a catalog nobody holds any more drops out).
_by_fingerprint: "weakref.WeakValueDictionary[str, Catalog]" = weakref.WeakValueDictionary()
#: id(catalog) -> (weak reference, fingerprint); the weak reference guards against id() reuse.
_fingerprints: dict[int, tuple["weakref.ref[Catalog]", str]] = {}


def catalog_fingerprint(catalog: Catalog) -> str:
    """SHA-256 (hex, 24 chars) of the catalog's contents; computed once per catalog object.

    Also registers the catalog so memoized functions can find it from the fingerprint.
    """
    key = id(catalog)
    entry = _fingerprints.get(key)
    if entry is not None and entry[0]() is catalog:
        fp = entry[1]
    else:
        digest = hashlib.sha256()
        digest.update(catalog.pops.to_csv(index=False).encode())
        digest.update(b"\x00")
        digest.update(catalog.origins.to_csv(index=False).encode())
        fp = digest.hexdigest()[:24]
        with _lock:
            _fingerprints[key] = (weakref.ref(catalog, lambda _r, k=key: _fingerprints.pop(k, None)),
                                  fp)
    # (Re-)register on every call: the caller holds ``catalog``, so the lookup below cannot fail
    # while the memoized function runs, even if an older catalog with these contents was dropped.
    # (Reading first: a WeakValueDictionary's set costs ~1.5 us, a read ~0.3 us; the API's
    # direct route calls this on every request.)
    if _by_fingerprint.get(fp) is not catalog:
        _by_fingerprint[fp] = catalog
    return fp


def _catalog(fp: str) -> Catalog:
    try:
        return _by_fingerprint[fp]
    except KeyError:  # pragma: no cover - only if called without catalog_fingerprint first
        raise LookupError(f"no catalog registered with fingerprint {fp}") from None


Model = tuple[tuple[str, float], ...]


def _model_key(model: Any) -> Model:
    """Canonical overrides (validated: ``ValueError`` names a bad one); () for none."""
    return latency.canonical_overrides(model) if model else ()


def _extra(model: Model) -> tuple:
    """Extra positional arguments of a memoized call: none for the fitted model, so its cache
    keys stay what they were before overrides existed."""
    return (model,) if model else ()


def _with_policy(args: tuple, model: Model, policy: str, access: str = DEFAULT_ACCESS) -> tuple:
    """Memoized-call arguments ``args`` + the model, policy and access extras: none for the
    fitted model, the default policy and end users; ``(model, policy)`` for another policy;
    ``(model, policy, access)`` for data-centre clients."""
    policy, access = check_policy(policy), check_access(access)
    if access != DEFAULT_ACCESS:
        return args + (model, policy, access)
    if policy == DEFAULT_POLICY:
        return args + _extra(model)
    return args + (model, policy)


Bias = tuple[tuple[str, float], ...]


def _bias_key(catalog: Catalog, bias: Any) -> Bias:
    """The canonical bias (``ValueError`` names a bad value, ``KeyError`` an access point the
    catalog lacks); () for none."""
    if not bias:
        return ()
    key = bias_core.canonical(bias)
    missing = bias_core.unknown(key, catalog.pop_ids)
    if missing:
        raise KeyError(f"unknown access point {', '.join(missing[:5])} in the bias")
    return key


def _with_bias(args: tuple, model: Model, policy: str, access: str, bias: Bias) -> tuple:
    """:func:`_with_policy`, then the bias when there is one (after model, policy, access)."""
    if not bias:
        return _with_policy(args, model, policy, access)
    return args + (model, check_policy(policy), check_access(access), bias)


def bound_bias(catalog: Catalog, bias: Bias, model: Model = (),
               access: str = DEFAULT_ACCESS) -> "bias_core.PopBias | None":
    """``bias`` bound to the catalog's PoPs and the latency model in use (its slope, its client
    type: :func:`dashboard.domain.policy.pop_bias`); None for none."""
    if not bias:
        return None
    return pol.pop_bias(_bias_key(catalog, bias), catalog.pop_ids,
                        latency.params_with(_model_key(model), access))


def bias_km(catalog: Catalog, bias: Bias, model: Model = (),
            access: str = DEFAULT_ACCESS) -> np.ndarray | None:
    """Equivalent km per PoP (catalog order) of ``bias`` under the model: what the landing
    model adds to each PoP's distances (:mod:`dashboard.domain.catchment`); None for none."""
    pb = bound_bias(catalog, bias, model, access)
    return None if pb is None else pb.km


def _down_key(down: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set(down)))


def down_mask(catalog: Catalog, down: Iterable[str]) -> np.ndarray:
    """Boolean mask over PoPs from ids (``KeyError`` naming an unknown id)."""
    return catalog.pop_mask(sorted(set(down)))


# --------------------------------------------------------------------------------------------
# Many clients


def route_table(catalog: Catalog, clients: tuple[tuple[float, float], ...], origin_id: str,
                down: frozenset[str] = frozenset(),
                mappings: tuple[tuple[str, tuple[str, ...]], ...] = (),
                endpoints_down: frozenset[str] = frozenset(), model: Model = (),
                policy: str = DEFAULT_POLICY, access: str = DEFAULT_ACCESS,
                bias: Bias = ()) -> pd.DataFrame:
    """Path of every client (lat, lon in degrees); see ``paths.client_paths``.

    ``origin_id`` is the region of the Default endpoint; ``mappings`` the Normal endpoints
    ``((region, (pop ids...)), ...)`` whose access points send traffic there instead;
    ``endpoints_down`` regions whose endpoint is down (their access points' clients are unserved:
    the provider does not fail over between endpoints). ``direct_ms`` is always to the Default
    region. Raises ``ValueError`` / ``KeyError`` for an invalid endpoint set or unknown id.
    ``model``: latency model overrides, ``policy``: the routing policy, ``access``: who the
    clients are (module docstring), ``bias``: the announcement bias. Memoized on (catalog
    contents, clients, origin, down ids, mappings, down endpoints, model, policy, access, bias).
    """
    return _route_table(*_with_bias(
        (catalog_fingerprint(catalog), tuple(clients), origin_id, _down_key(down),
         tuple((str(r), tuple(sorted(p))) for r, p in mappings), _down_key(endpoints_down)),
        _model_key(model), policy, access, _bias_key(catalog, bias)))


def pop_origin_arrays(catalog: Catalog, origin_id: str,
                      mappings: tuple[tuple[str, tuple[str, ...]], ...] = (),
                      endpoints_down: Iterable[str] = ()
                      ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Per-PoP origin (lat, lon) arrays (NaN where the PoP's endpoint is down) and region ids."""
    eps = endpoints.Endpoints(
        (endpoints.Endpoint(origin_id),)
        + tuple(endpoints.Endpoint(r, endpoints.NORMAL, tuple(p)) for r, p in mappings),
        frozenset(endpoints_down))
    idx = endpoints.pop_origins(eps, catalog.pop_ids, catalog.origin_ids)
    ok = idx != endpoints.NO_ENDPOINT
    safe = np.where(ok, idx, 0)
    olat = np.where(ok, catalog.origins["lat"].to_numpy(float)[safe], np.nan)
    olon = np.where(ok, catalog.origins["lon"].to_numpy(float)[safe], np.nan)
    oids = [catalog.origin_ids[i] if i >= 0 else "" for i in idx]
    return olat, olon, oids


def origin_spec(catalog: Catalog, origin_id: str,
                mappings: tuple[tuple[str, tuple[str, ...]], ...] = (),
                endpoints_down: Iterable[str] = ()
                ) -> tuple[Any, Any, Any, tuple[float, float]]:
    """(origin lats, origin lons, origin ids, direct origin) as ``paths.client_paths``,
    ``paths.rank_pops`` and ``whatif.paths_for`` take them: scalars and the region id for the
    common single-endpoint case, per-PoP arrays (NaN where the endpoint is down) with Normal
    endpoints. The direct path always goes to the Default region."""
    origin = catalog.origin_record(origin_id)
    direct = (float(origin["lat"]), float(origin["lon"]))
    if not mappings and not endpoints_down:
        return direct[0], direct[1], origin_id, direct
    olat, olon, oids = pop_origin_arrays(catalog, origin_id, mappings, endpoints_down)
    return olat, olon, oids, direct


@memoize
def _route_table(fp: str, clients: tuple[tuple[float, float], ...], origin_id: str,
                 down: tuple[str, ...], mappings: tuple[tuple[str, tuple[str, ...]], ...] = (),
                 endpoints_down: tuple[str, ...] = (), model: Model = (),
                 policy: str = DEFAULT_POLICY, access: str = DEFAULT_ACCESS,
                 bias: Bias = ()) -> pd.DataFrame:
    catalog = _catalog(fp)
    params = latency.params_with(model, access)
    if clients:
        arr = np.asarray(clients, dtype=float).reshape(len(clients), -1)
        lats, lons = arr[:, 0], arr[:, 1]
    else:
        lats = lons = np.empty(0)
    olat, olon, oids, direct = origin_spec(catalog, origin_id, mappings, endpoints_down)
    return paths.client_paths(lats, lons, catalog.pop_ids, catalog.pop_lats, catalog.pop_lons,
                              olat, olon, down=down_mask(catalog, down), pop_origin_ids=oids,
                              direct_origin=direct, params=params, policy=policy,
                              bias=pol.pop_bias(bias, catalog.pop_ids, params))


# --------------------------------------------------------------------------------------------
# Demand sets (large, fixed client sets named by key): rank once, re-route per what-if


@functools.lru_cache(maxsize=8)
def _ranked_demand(fp: str, key: str) -> whatif.RankedClients:
    """Every PoP ranked for every client of demand set ``key``, and the clients' latency terms;
    the client-PoP internet legs (network policy, flags) are the default clients' (end users).
    Built once per process (~0.3 s for 25,000 clients): deterministic from the catalog and the
    committed gazetteer, so it is never stale and never needs the shared cache."""
    catalog = _catalog(fp)
    ds = demand_set(load_gazetteer(), key)
    return whatif.keep_heads(whatif.rank_clients(ds.lats, ds.lons, catalog.pop_lats,
                                                 catalog.pop_lons,
                                                 latency.params_with((), DEFAULT_ACCESS)))


@functools.lru_cache(maxsize=4)
def _relocated_demand(fp: str, key: str, locate_model: Model) -> whatif.RankedClients:
    """:func:`_ranked_demand` with the clients' and PoPs' latency terms located again under
    overrides of the fields :func:`latency.locate` reads (the ranking is geometry only)."""
    rc = _ranked_demand(fp, key)
    params = latency.params_with(locate_model)
    return dataclasses.replace(rc, terms=_latency.locate(rc.lats, rc.lons, params),
                               pop_terms=_latency.locate(rc.pop_lats, rc.pop_lons, params))


def _ranked_for(fp: str, key: str, model: Model) -> whatif.RankedClients:
    """The cached ranking whose location terms hold under ``model``: the fitted one unless the
    overrides touch :data:`latency.LOCATE_FIELDS` (the other tunables enter afterwards)."""
    locate_model = tuple((k, v) for k, v in model if k in _latency.LOCATE_FIELDS)
    return _relocated_demand(fp, key, locate_model) if locate_model else _ranked_demand(fp, key)


@functools.lru_cache(maxsize=4)
def _network_demand(fp: str, key: str, model: Model,
                    access: str = DEFAULT_ACCESS) -> whatif.RankedClients:
    """:func:`_ranked_for` with every client-PoP internet leg and the network ranking under
    ``model`` for ``access`` clients (overrides and the access type change the legs, so the
    ones cached with the ranking do not hold); the fitted model's for end users come with
    :func:`_ranked_demand` itself."""
    return whatif.keep_heads(whatif.with_network(_ranked_for(fp, key, model),
                                                 latency.params_with(model, access)))


def demand_route_table(catalog: Catalog, key: str, origin_id: str,
                       down: frozenset[str] = frozenset(),
                       mappings: tuple[tuple[str, tuple[str, ...]], ...] = (),
                       endpoints_down: frozenset[str] = frozenset(),
                       model: Model = (), policy: str = DEFAULT_POLICY,
                       access: str = DEFAULT_ACCESS, bias: Bias = ()) -> pd.DataFrame:
    """:func:`route_table` of client set ``key`` (``KeyError`` naming an unknown key, origin or
    PoP; same endpoint semantics). Uses the cached ranking, so a what-if (a PoP down, another
    origin) costs ~20 ms for 25,000 clients.

    The last few tables are kept in the process (:data:`DEMAND_ROUTES_KEPT`, keyed by every
    routing input): a what-if's "before" state is the table the previous answer computed as
    its "after", so the failover transition costs one routing, not two (issue 16). Not put in
    the shared cache: recomputing is cheaper than pickling 25,000 rows in and out. Callers get
    a shallow copy (copy-on-write: adding or replacing a column never reaches the kept table)."""
    fp = catalog_fingerprint(catalog)
    model, access = _model_key(model), check_access(access)
    return _demand_routes(fp, key, origin_id, frozenset(down),
                          tuple((str(r), tuple(p)) for r, p in mappings),
                          frozenset(endpoints_down), model, check_policy(policy), access,
                          _bias_key(catalog, bias)).copy(deep=False)


#: Route tables of client sets kept per process by :func:`demand_route_table` (~3 MB each for
#: 25,000 clients): the page's current and previous routing states, and a few more for
#: back-and-forth what-ifs and other tabs of the same scenario.
DEMAND_ROUTES_KEPT = 6


@functools.lru_cache(maxsize=DEMAND_ROUTES_KEPT)
def _demand_routes(fp: str, key: str, origin_id: str, down: frozenset[str],
                   mappings: tuple[tuple[str, tuple[str, ...]], ...],
                   endpoints_down: frozenset[str], model: Model, policy: str, access: str,
                   bias: Bias) -> pd.DataFrame:
    """:func:`demand_route_table` computed (arguments canonical and hashable)."""
    catalog = _catalog(fp)
    olat, olon, oids, direct = origin_spec(catalog, origin_id, mappings, endpoints_down)
    rc = (_network_demand(fp, key, model, access) if model or access != DEFAULT_ACCESS
          else _ranked_demand(fp, key))
    params = latency.params_with(model, access)
    return whatif.paths_for(rc, catalog.pop_ids, olat, olon, down=down_mask(catalog, down),
                            pop_origin_ids=oids, params=params,
                            direct_origin=direct, policy=policy,
                            bias=pol.pop_bias(bias, catalog.pop_ids, params),
                            direct=_direct_legs(fp, key, model, access, direct),
                            pop_legs=_pop_legs(fp, key, origin_id, mappings, endpoints_down,
                                               model, access))


@functools.lru_cache(maxsize=8)
def _pop_legs(fp: str, key: str, origin_id: str,
              mappings: tuple[tuple[str, tuple[str, ...]], ...],
              endpoints_down: frozenset[str], model: Model, access: str
              ) -> tuple[np.ndarray, np.ndarray]:
    """``paths.pop_legs`` of client set ``key``'s ranking's PoPs to their origins (per-PoP
    backbone ms and km, NaN where the endpoint is down): what :func:`_demand_routes` computes
    for every routing of the same origins, kept because a PoP going down never changes them
    (~0.8 ms of a what-if, issue 16). Read-only."""
    catalog = _catalog(fp)
    olat, olon, _, _ = origin_spec(catalog, origin_id, mappings, endpoints_down)
    rc = (_network_demand(fp, key, model, access) if model or access != DEFAULT_ACCESS
          else _ranked_demand(fp, key))
    ms, km = paths.pop_legs(rc.pop_lats, rc.pop_lons, olat, olon,
                            latency.params_with(model, access))
    ms.flags.writeable = False
    km.flags.writeable = False
    return ms, km


@functools.lru_cache(maxsize=8)
def _direct_legs(fp: str, key: str, model: Model, access: str,
                 direct: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """``(direct_km, direct_ms)`` of every client of set ``key`` to the Default region at
    ``direct`` (degrees): the WGS84 geodesic and the modelled internet RTT, as
    :func:`paths.table_from_ranking` computes them. A PoP going down never changes them, so a
    what-if reuses them (~25 % of a route table's time for 25,000 clients). Read-only."""
    rc = (_network_demand(fp, key, model, access) if model or access != DEFAULT_ACCESS
          else _ranked_demand(fp, key))
    km, ms = paths.direct_legs(rc.lats, rc.lons, rc.terms, direct,
                               latency.params_with(model, access))
    km.flags.writeable = False
    ms.flags.writeable = False
    return km, ms


def scenario_route_table(catalog: Catalog, clients: tuple[tuple[float, float], ...],
                         client_set: str | None, origin_id: str,
                         down: frozenset[str] = frozenset(),
                         mappings: tuple[tuple[str, tuple[str, ...]], ...] = (),
                         endpoints_down: frozenset[str] = frozenset(),
                         model: Model = (), policy: str = DEFAULT_POLICY,
                         access: str = DEFAULT_ACCESS, bias: Bias = ()) -> pd.DataFrame | None:
    """Routes of a scenario's own ``clients`` followed by those of its ``client_set`` (rows in
    that order, so row positions are client indices everywhere), or None when it has neither.
    An unknown client set key raises ``KeyError``; ``model``: latency overrides; ``policy``: the
    routing policy; ``access``: who the clients are (both parts: one type per scenario);
    ``bias``: the announcement bias."""
    parts = []
    if clients:
        parts.append(route_table(catalog, clients, origin_id, down, mappings, endpoints_down,
                                 model, policy, access, bias))
    if client_set:
        parts.append(demand_route_table(catalog, client_set, origin_id, down, mappings,
                                        endpoints_down, model, policy, access, bias))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)


# --------------------------------------------------------------------------------------------
# One client


def rank_for_point(catalog: Catalog, lat: float, lon: float, origin_id: str,
                   down: frozenset[str] = frozenset(), model: Model = (),
                   mappings: tuple[tuple[str, tuple[str, ...]], ...] = (),
                   endpoints_down: frozenset[str] = frozenset(),
                   policy: str = DEFAULT_POLICY, access: str = DEFAULT_ACCESS,
                   bias: Bias = ()) -> pd.DataFrame:
    """Every PoP ranked for one client (degrees); see ``paths.rank_pops``. Memoized.
    ``model``: latency overrides, ``access``: who the client is (module docstring);
    ``mappings`` / ``endpoints_down``: the Normal endpoints and the endpoints down, as in
    :func:`route_table` (each PoP's backbone leg goes to its endpoint's region; NaN where that
    endpoint is down); ``bias``: the announcement bias (a ``bias_ms`` column then)."""
    policy, access = check_policy(policy), check_access(access)
    bias = _bias_key(catalog, bias)
    args: tuple = (catalog_fingerprint(catalog), float(lat), float(lon), origin_id,
                   _down_key(down))
    if bias:
        args += (_model_key(model), tuple((str(r), tuple(sorted(p))) for r, p in mappings),
                 _down_key(endpoints_down), policy, access, bias)
        return _rank_for_point(*args)
    if mappings or endpoints_down:
        args += (_model_key(model), tuple((str(r), tuple(sorted(p))) for r, p in mappings),
                 _down_key(endpoints_down))
    elif policy == DEFAULT_POLICY and access == DEFAULT_ACCESS:
        args += _extra(_model_key(model))  # the single-endpoint case keeps its cache keys
    else:
        args += (_model_key(model), (), ())
    if policy != DEFAULT_POLICY or access != DEFAULT_ACCESS:
        args += (policy,)
    if access != DEFAULT_ACCESS:
        args += (access,)
    return _rank_for_point(*args)


def _rank_uncached(fp: str, lat: float, lon: float, origin_id: str,
                   down: tuple[str, ...], model: Model = (),
                   mappings: tuple[tuple[str, tuple[str, ...]], ...] = (),
                   endpoints_down: tuple[str, ...] = (),
                   policy: str = DEFAULT_POLICY, access: str = DEFAULT_ACCESS,
                   bias: Bias = ()) -> pd.DataFrame:
    catalog = _catalog(fp)
    olat, olon, _ids, _direct = origin_spec(catalog, origin_id, mappings, endpoints_down)
    params = latency.params_with(model, access)
    return paths.rank_pops(lat, lon, catalog.pop_ids, catalog.pop_lats, catalog.pop_lons,
                           olat, olon, down=down_mask(catalog, down),
                           params=params, policy=policy,
                           bias=pol.pop_bias(bias, catalog.pop_ids, params))


_rank_for_point = memoize(_rank_uncached)


def _r(x: float, nd: int = 1) -> float | None:
    """Round for JSON; NaN -> None (JSON has no NaN)."""
    x = float(x)
    return round(x, nd) if math.isfinite(x) else None


def _rounded(values: np.ndarray, nd: int = 1) -> list[float | None]:
    """A float array as a JSON-ready list rounded to ``nd`` places, NaN -> None (vectorised)."""
    out = np.round(np.asarray(values, dtype=float), nd).tolist()
    return [None if v != v else v for v in out]


def nearest_answer(catalog: Catalog, lat: float, lon: float, origin_id: str,
                   down: frozenset[str] = frozenset(), k: int | None = None,
                   model: Model = (), policy: str = DEFAULT_POLICY,
                   access: str = DEFAULT_ACCESS, bias: Bias = ()) -> dict[str, Any]:
    """The JSON-ready answer of "where does a client at (lat, lon) enter, and at what RTT".

    Keys: ``client``, ``origin``, ``down``, ``routed``, ``pop`` (the chosen PoP, or ``None`` when
    every PoP is down), ``runner_up``, ``direct`` (internet path straight to the origin),
    ``saving_ms`` (direct - anycast), ``ranked`` (the first ``k`` rows of
    :func:`paths.rank_pops`: healthy PoPs nearest first, then the down ones with rank 0).
    Distances are WGS84 geodesic km (0.1 km), RTTs modelled medians in ms (0.1 ms); the numbers
    are those of :func:`rank_for_point` and :func:`route_table`, so the API and the UI agree.
    ``model``: latency overrides, ``policy``: the routing policy (module docstring; with
    ``network`` the healthy PoPs are ranked by internet leg). Also ``policy`` and
    ``network_pop``: the id of the healthy PoP with the lowest internet leg, ``bgp_gap_ms``
    (the chosen PoP's internet leg minus its) and ``bgp_flag`` (geographic policy, gap >
    :data:`~dashboard.domain.policy.FLAG_GAP_MS`). ``access``: who the client is (``end-user``,
    the default, or ``datacenter``; echoed as ``access``): the internet legs and the direct path
    carry its access term, the backbone never. ``bias``: the announcement bias
    (:mod:`dashboard.domain.bias`): the ranking and ``network_pop`` see it, the RTTs are the
    real ones, ``bgp_gap_ms`` is in preference ms; the answer then carries ``bias`` ({id: ms})
    and each ranked row its ``bias_ms``.
    ``KeyError`` names an unknown origin or PoP id; ``ValueError`` a bad coordinate, override,
    policy, access type or bias value.
    """
    full = _nearest(*_with_bias((catalog_fingerprint(catalog), float(lat), float(lon),
                                 origin_id, _down_key(down)), _model_key(model), policy,
                                access, _bias_key(catalog, bias)))
    if k is None or k >= len(full["ranked"]):
        return full
    return {**full, "ranked": full["ranked"][: max(int(k), 0)]}


#: What :func:`_with_bias` appends to a memoized call for the defaults (nothing, today).
_DEFAULT_TAIL = _with_bias((), (), DEFAULT_POLICY, DEFAULT_ACCESS, ())


#: Cache-key namespace of :func:`nearest_json_via`'s entries (encoded answers).
_NEAREST_JSON = f"{__name__}.nearest_json"


def nearest_json_via(cache: Any, catalog: Catalog, lat: float, lon: float, origin_id: str,
                     encode: Callable[[dict[str, Any]], bytes]) -> tuple[bytes, str]:
    """The JSON body of :func:`nearest_answer` with every other argument at its default (every
    PoP up, every row), encoded by ``encode``, memoized *as bytes* through an explicit cache
    (``dashboard.memo.bound_cache`` of the app, or None): ``(body, memo.HIT | MISS | BYPASS)``.
    For the API's direct route (``dashboard.fastpath``), which runs outside Flask's request
    machinery.

    Why bytes under its own key: a hit then costs no unpickling of a 19-row dict and no JSON
    encoding, and a miss no pickling of the dict (~6 us) and no SHA-256 memo key (~2 us): the
    key is ``<namespace>:<catalog fingerprint>:<origin>:<lat!r>,<lon!r>`` (injective: the float
    reprs hold no ``:``). The price: these entries are not :func:`nearest_answer`'s, so a point
    asked once through the Flask view (e.g. with ``k=`` or compression) and once plainly is
    computed twice, each a MISS the first time; hits, misses and errors are counted in the same
    ``/healthz`` counters; an entry is ~3.7 KB instead of ~2.3 KB (the pickled dict).
    ``encode`` must give the same bytes for the same answer on every host sharing the cache
    (``fastpath.encode_answer``: the standard compact JSON).

    Only repeated points are cached (``memo.lookup_key``'s ``admit_repeats_only``): a point's
    first request in a worker (since its :class:`~dashboard.memo.Doorkeeper` last forgot) is
    computed without a lookup or a store, its second is looked up and stored, later ones hit.
    Most points are asked once; storing every answer cost ~3 % of the server's throughput
    under random points against this (~8 % against no cache at all: ``memo.Doorkeeper``) and
    evicted the answers that are asked again (issue 16)."""
    fp = catalog_fingerprint(catalog)
    args = (fp, float(lat), float(lon), origin_id, ()) + _DEFAULT_TAIL
    if cache is None:
        return encode(_nearest.uncached(*args)), BYPASS  # type: ignore[attr-defined]
    key = f"{_NEAREST_JSON}:{fp}:{origin_id}:{float(lat)!r},{float(lon)!r}"
    return lookup_key(key, _encoded_nearest, cache, (encode, args), admit_repeats_only=True)


def _encoded_nearest(encode: Callable[[dict[str, Any]], bytes], args: tuple) -> bytes:
    return encode(_nearest.uncached(*args))  # type: ignore[attr-defined]


@dataclass(frozen=True)
class _Sites:
    """Per (catalog, origin) constants of the one-point answer, computed once per process."""

    pop_ids: tuple[str, ...]
    names: tuple[str, ...]
    cities: tuple[str, ...]
    #: PoP coordinates followed by the origin's (one vectorised call covers both legs).
    lats: np.ndarray
    lons: np.ndarray
    backbone_ms: np.ndarray
    #: Latency-model location terms of ``lats``/``lons`` (``domain.latency.locate``).
    terms: _latency.Location
    origin: dict[str, Any]


@functools.lru_cache(maxsize=64)
def _sites(fp: str, origin_id: str, model: Model = ()) -> _Sites:
    catalog = _catalog(fp)
    params = latency.params_with(model)
    origin = catalog.origin(origin_id)
    olat, olon = float(origin["lat"]), float(origin["lon"])
    pla, plo = catalog.pop_lats, catalog.pop_lons
    lats, lons = np.append(pla, olat), np.append(plo, olon)
    lats.flags.writeable = lons.flags.writeable = False
    # As in paths: the reported backbone leg includes the PoP's ingress overhead.
    backbone, _ = paths.pop_legs(pla, plo, olat, olon, params)
    backbone.flags.writeable = False
    return _Sites(
        pop_ids=catalog.pop_ids, names=tuple(catalog.pops["name"]),
        cities=tuple(catalog.pops["city"]), lats=lats, lons=lons, backbone_ms=backbone,
        terms=_latency.locate(lats, lons, params),
        origin={"id": origin_id, "name": str(origin["name"]), "city": str(origin["city"]),
                "lat": olat, "lon": olon})


@dataclass(frozen=True)
class _Plan:
    """Everything of the one-point answer that does not depend on the client, per (catalog,
    origin, model, access type), computed once per process: the sites, the latency
    parameters in effect and the sites' side of the internet-leg formula."""

    sites: _Sites
    params: latency.LatencyParams
    point_sites: _latency.PointSites
    #: Every PoP up (the mask of no ``down`` ids), and as a list.
    all_up: np.ndarray
    all_up_list: tuple[bool, ...]
    #: ``_nearest``'s (4, PoPs + 1) legs with the backbone row filled in (every PoP's backbone
    #: leg, then 0.0 in the origin's column): copied per answer.
    legs_template: np.ndarray
    #: One answer row per PoP with its id, name and city filled in, in the answer's key order
    #: (``_nearest`` copies one and sets the rest: ~1 us less than a dict display per answer).
    row_templates: tuple[dict[str, Any], ...]


@functools.lru_cache(maxsize=64)
def _plan(fp: str, origin_id: str, model: Model, access: str, params_file: str) -> _Plan:
    """``params_file``: the latency parameter file in effect (``settings.latency_params_file``:
    changing ``ANYCAST_LATENCY_PARAMS`` gives a new plan, as it gives new parameters)."""
    st = _sites(fp, origin_id, *_extra(model))
    params = latency.params_with(model, access)
    up = np.ones(len(st.pop_ids), dtype=bool)
    up.flags.writeable = False
    legs = np.zeros((4, len(st.pop_ids) + 1))
    legs[2, :-1] = st.backbone_ms
    legs.flags.writeable = False
    templates = tuple({"rank": 0, "id": i, "name": name, "city": city, "up": True,
                       "distance_km": None, "internet_ms": None, "backbone_ms": None,
                       "anycast_ms": None}
                      for i, name, city in zip(st.pop_ids, st.names, st.cities))
    return _Plan(sites=st, params=params, point_sites=_latency.point_sites(st.terms, params),
                 all_up=up, all_up_list=(True,) * len(up), legs_template=legs,
                 row_templates=templates)


@memoize(admit_repeats_only=True)  # most points are asked once: nearest_json_via
def _nearest(fp: str, lat: float, lon: float, origin_id: str,
             down: tuple[str, ...], model: Model = (),
             policy: str = DEFAULT_POLICY, access: str = DEFAULT_ACCESS,
             bias: Bias = ()) -> dict[str, Any]:
    # The same domain functions and the same ordering as paths.rank_pops (WGS84 geodesic km,
    # latency.internet_rtt_ms / backbone_rtt_ms) without building a DataFrame: this is the hot
    # path of /api/v1/nearest (a test checks it against rank_pops and client_paths point by
    # point). The origin is appended to the PoPs so that one call gives both legs; the
    # distances are measured once and handed to the latency model together with the sites'
    # terms (computed once per process, _plan), so only the client is located per request, by
    # the one-point forms of the domain functions (geodesy.geodesic_km_from,
    # latency.locate_point, latency.internet_rtt_ms_point: the same numbers to the bit, at a
    # third of the numpy calls; issue 16).
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        geodesy.validate_coords([lat], [lon], "client")  # raises, naming the problem
    plan = _plan(fp, origin_id, model, access, latency_params_file())
    st, params = plan.sites, plan.params
    n = len(st.pop_ids)
    # km, internet, backbone, anycast (rows) of every PoP in catalog order, then the origin
    # (columns; the origin's column is the direct path: km and internet only)
    legs = plan.legs_template.copy()
    km_all = geodesy.geodesic_km_from(lat, lon, st.lats, st.lons, out=legs[0])
    client = _latency.locate_point(lat, lon, params)
    _latency.internet_rtt_ms_point(km_all, client, plan.point_sites, params, out=legs[1])
    np.add(legs[1], legs[2], out=legs[3])
    km, internet = legs[0, :n], legs[1, :n]
    up = plan.all_up if not down else ~down_mask(_catalog(fp), down)
    pb = pol.pop_bias(bias, st.pop_ids, params)
    # healthy first, then by distance (or internet leg), each + the bias: rank_pops's order,
    # which with every PoP up and no bias is a stable sort by distance (paths.rank_order)
    plain = not down and pb is None
    if plain and policy != NETWORK:
        order = km.argsort(kind="stable")
    else:
        order = paths.rank_order(km, up, internet if policy == NETWORK else None, pb)
    n_up = n if not down else int(up.sum())
    # (ndarray.take and .round: np.round's values at ~1.4 us instead of ~3.6 for the fancy
    # index and numpy's Python-level dispatch)
    cols = legs.take(order, axis=1).round(1)
    if math.isnan(cols.sum()):  # (a sum is NaN when a value is; NaN -> None for JSON)
        cols = [[None if v != v else v for v in col] for col in cols.tolist()]
    else:
        cols = cols.tolist()
    order_list = order.tolist()
    templates = plan.row_templates
    if not down:
        rows = []
        for pos, i, d_km, i_ms, b_ms, a_ms in zip(range(1, n + 1), order_list, *cols):
            row = templates[i].copy()
            row["rank"] = pos
            row["distance_km"] = d_km
            row["internet_ms"] = i_ms
            row["backbone_ms"] = b_ms
            row["anycast_ms"] = a_ms
            rows.append(row)
    else:
        up_sorted = up[order].tolist()
        ids, names, cities = st.pop_ids, st.names, st.cities
        rows = [
            {"rank": pos + 1 if pos < n_up else 0, "id": ids[i], "name": names[i],
             "city": cities[i], "up": u, "distance_km": d_km, "internet_ms": i_ms,
             "backbone_ms": b_ms, "anycast_ms": a_ms}
            for pos, (i, u, d_km, i_ms, b_ms, a_ms) in enumerate(zip(order_list, up_sorted,
                                                                     *cols))
        ]
    if pb is not None:
        for row, i in zip(rows, order_list):
            row["bias_ms"] = float(pb.ms[i])
    direct_km, direct_ms = float(legs[0, n]), float(legs[1, n])
    chosen = rows[0] if n_up else None
    net = _network_pop(km, up, internet, pb, plain) if n_up else -1
    pref = internet if pb is None else internet + pb.leg_ms
    gap = float(pref[order_list[0]] - pref[net]) if n_up else math.nan
    extra = {"bias": dict(bias)} if bias else {}
    return {
        "client": {"lat": lat, "lon": lon},
        "origin": dict(st.origin),
        "down": list(down),
        "routed": chosen is not None,
        "pop": chosen,
        "runner_up": rows[1] if n_up > 1 else None,
        "direct": {"distance_km": _r(direct_km), "rtt_ms": _r(direct_ms)},
        "saving_ms": _r(direct_ms - float(legs[3, order_list[0]])) if chosen else None,
        "ranked": rows,
        "policy": policy,
        "access": access,
        "network_pop": st.pop_ids[net] if n_up else None,
        "bgp_gap_ms": _r(gap),
        "bgp_flag": bool(flagged(policy, gap)),
        **extra,
    }


def _network_pop(km: np.ndarray, up: np.ndarray, internet: np.ndarray, pb: Any,
                 plain: bool) -> int:
    """The first PoP of ``paths.rank_order(km, up, internet, pb)`` (the network policy's choice).

    ``plain`` (every PoP up, no bias): the PoP with the lowest internet leg, found in Python
    (~1 us instead of a ~2 us lexsort) when it is the only one with that leg (the lexsort's
    tie-break by distance then cannot matter; a NaN leg, which the lexsort puts last, is never
    ``min()``'s answer unless it comes first, and then the answer is NaN and the lexsort
    decides); the lexsort otherwise."""
    if plain:
        legs = internet.tolist()
        low = min(legs)  # (a NaN first gives NaN; a NaN later is never the min, nor lexsort's)
        if low == low and legs.count(low) == 1:
            return legs.index(low)
    return int(paths.rank_order(km, up, internet, pb)[0])
