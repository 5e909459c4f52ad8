"""The client -> PoP -> origin path of every client, and the direct path for comparison.

Units: degrees in; km and ms (round trip) out. Distances are WGS84 geodesics; RTTs come from
:mod:`dashboard.domain.latency`. This is the one place that combines routing and latency, so the
dashboard table, the explain panel, the API and the CLI report the same numbers.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from typing import NamedTuple, Sequence

import numpy as np
import pandas as pd

from dashboard.domain.frames import colvals, columns_frame
from dashboard.domain import latency
from dashboard.domain import policy as pol
from dashboard.domain.bias import PopBias
from dashboard.domain.geodesy import geodesic_km, validate_coords
from dashboard.domain.routing import NO_ROUTE



PATH_COLUMNS = (
    "lat", "lon", "pop_id", "pop_km", "runner_up_id", "runner_up_km", "backbone_km",
    "internet_ms", "backbone_ms", "anycast_ms", "direct_km", "direct_ms", "saving_ms", "routed",
    "origin_id", "served", "network_pop_id", "bgp_gap_ms", "bgp_flag",
)


def per_pop(values: object, n_pops: int, what: str) -> np.ndarray:
    """A scalar (one origin for every PoP) or an array of one value per PoP, as a float array.

    Per-PoP origins come from multi-endpoint mappings (:mod:`dashboard.domain.endpoints`); NaN
    marks a PoP whose endpoint is down.
    """
    arr = np.asarray(values, dtype=float)
    if arr.ndim == 0:
        return np.full(n_pops, float(arr))
    if arr.shape != (n_pops,):
        raise ValueError(f"{what} must be a scalar or have one value per access point "
                         f"({n_pops}), got shape {arr.shape}")
    return arr


def pop_legs(pop_lats: np.ndarray, pop_lons: np.ndarray, origin_lat: object, origin_lon: object,
             params: latency.LatencyParams) -> tuple[np.ndarray, np.ndarray]:
    """``(backbone_ms, backbone_km)`` of every PoP to its origin (m values each): the reported
    backbone leg (:func:`latency.backbone_leg_ms`, PoP ingress overhead included) and the WGS84
    km. Origins as in :func:`client_paths` (scalars or per-PoP arrays); NaN where the PoP's
    endpoint is down. Per PoP, not per client: every client of a PoP shares its leg."""
    pla, plo = np.asarray(pop_lats, dtype=float), np.asarray(pop_lons, dtype=float)
    olat = per_pop(origin_lat, len(pla), "origin_lat")
    olon = per_pop(origin_lon, len(pla), "origin_lon")
    ok = np.isfinite(olat)
    backbone = np.full(len(pla), np.nan)
    backbone_km = np.full(len(pla), np.nan)
    if ok.any():
        backbone[ok] = latency.backbone_leg_ms(pla[ok], plo[ok], olat[ok], olon[ok], params)
        backbone_km[ok] = geodesic_km(pla[ok], plo[ok], olat[ok], olon[ok])
    return backbone, backbone_km


def table_from_ranking(lats: np.ndarray, lons: np.ndarray, terms: latency.Location,
                       pop_ids: Sequence[str], pop_lats: np.ndarray, pop_lons: np.ndarray,
                       pop_terms: latency.Location, pop: np.ndarray, pop_km: np.ndarray,
                       runner: np.ndarray, runner_km: np.ndarray, origin_lat: object,
                       origin_lon: object, pop_origin_ids: Sequence[str] | str = "", *,
                       params: latency.LatencyParams,
                       direct_origin: tuple[float, float] | None = None,
                       network: tuple[np.ndarray, np.ndarray] | None = None,
                       policy: str = pol.GEOGRAPHIC,
                       bias: PopBias | None = None,
                       direct_legs_given: tuple[np.ndarray, np.ndarray] | None = None,
                       internet_given: np.ndarray | None = None,
                       pop_legs_given: tuple[np.ndarray, np.ndarray] | None = None
                       ) -> pd.DataFrame:
    """The route table (columns :data:`PATH_COLUMNS`, client order) of clients whose nearest
    and second-nearest healthy PoPs are already chosen -- the one place that turns a ranking into
    RTTs, used by :func:`client_paths` (a fresh ranking, :func:`policy.best_pops`) and
    :func:`dashboard.domain.whatif.paths_for` (a cached full ranking), so the two cannot drift.

    ``lats``/``lons``: clients (degrees, validated); ``terms``/``pop_terms``: their and the
    PoPs' latency location terms (:func:`latency.locate`); ``pop``/``runner``: PoP indices per
    client (:data:`NO_ROUTE` where none), ``pop_km``/``runner_km`` their WGS84 km (NaN where
    none). Origins and ``direct_origin`` as in :func:`client_paths`.

    ``network``: ``(net_pop, net_internet_ms)`` per client, the network-nearest healthy PoP
    (:mod:`dashboard.domain.policy`) and its internet leg; gives ``network_pop_id``,
    ``bgp_gap_ms`` (internet leg of the chosen PoP minus that of the network-nearest one, ms,
    >= 0) and ``bgp_flag`` (``policy`` geographic and gap > :data:`policy.FLAG_GAP_MS`).
    Without it those columns are "" / NaN / False. ``bias`` (:mod:`dashboard.domain.bias`):
    the network-nearest PoP is the one BGP prefers *with* the bias, and the gap is in
    preference ms (internet leg + ``bias.leg_ms``, :func:`network_pick` likewise), so it stays
    >= 0; the RTT columns are the real modelled legs, never biased.
    ``direct_legs_given``: ``(direct_km, direct_ms)`` per client to ``direct_origin``, as
    :func:`direct_legs` gives them, when the caller keeps them (they do not depend on which
    PoPs are down: the cached what-if path reuses them). ``internet_given``: each client's
    internet leg to its PoP (ms, NaN where not routed) when the caller has modelled it already
    with :func:`latency.internet_rtt_ms_km` under ``params`` (the what-if path's matrix).
    ``pop_legs_given``: :func:`pop_legs` of these PoPs and origins under ``params`` when the
    caller keeps them (a PoP going down never changes them; ~0.8 ms of a what-if).
    """
    ids = np.asarray(list(pop_ids), dtype=object)
    n_pops = len(ids)
    if n_pops != len(pop_lats):
        raise ValueError(f"{n_pops} PoP ids for {len(pop_lats)} access points")
    n = len(lats)
    olat_p = per_pop(origin_lat, n_pops, "origin_lat")
    olon_p = per_pop(origin_lon, n_pops, "origin_lon")
    oid_p = (np.full(n_pops, pop_origin_ids, dtype=object) if isinstance(pop_origin_ids, str)
             else np.asarray(list(pop_origin_ids), dtype=object))
    routed = pop != NO_ROUTE
    safe = np.where(routed, pop, 0)
    # Id columns by one gather from the ids plus a trailing "" (the "none" value): np.where on
    # object arrays costs ~0.3 ms per 25,000 rows, a gather ~0.05 ms (issue 16).
    ids_or_none = np.append(ids, "")
    # Per-PoP legs (m values), then indexed by each client's PoP.
    bb_pop, bbkm_pop = (pop_legs_given if pop_legs_given is not None
                        else pop_legs(pop_lats, pop_lons, olat_p, olon_p, params))
    ok = np.isfinite(olat_p)
    served = routed & ok[safe]
    internet = np.full(n, np.nan)
    r = np.flatnonzero(routed)
    if internet_given is not None:
        internet = np.where(routed, np.asarray(internet_given, dtype=float), np.nan)
    elif len(r):
        internet[r] = latency.internet_rtt_ms_at(pop_km[r], terms, r, pop_terms, safe[r],
                                                 params)
    backbone = np.where(served, bb_pop[safe], np.nan)
    backbone_km = np.where(served, bbkm_pop[safe], np.nan)
    finite = np.flatnonzero(ok)
    if n and direct_origin is not None and direct_legs_given is not None:
        direct_km, direct = direct_legs_given
    elif n and (direct_origin is not None or len(finite)):
        direct_km, direct = direct_legs(
            lats, lons, terms, direct_origin if direct_origin is not None
            else (float(olat_p[finite[0]]), float(olon_p[finite[0]])), params)
    else:
        direct_km = np.full(n, np.nan)
        direct = np.full(n, np.nan)
    anycast = np.where(served, internet + backbone, np.nan)
    has_runner = runner != NO_ROUTE
    if network is not None:
        net_pop, net_ms = network
        has_net = routed & (net_pop != NO_ROUTE)
        net_code = np.where(has_net, net_pop, n_pops)
        net_id = ids_or_none[net_code]
        pref = internet if bias is None else internet + bias.leg_ms[safe]
        gap = np.where(has_net, pref - net_ms, np.nan)
    else:
        net_id, gap = np.full(n, "", dtype=object), np.full(n, np.nan)
    # Text columns stay numpy object arrays (:func:`columns_frame`: pandas would otherwise
    # convert each to an Arrow string array, ~2 ms per 25,000 rows, and back on every
    # ``to_numpy`` the views do).
    # The columns are taken as they are (copy=False: copying and stacking them into blocks cost
    # ~1 ms for 25,000 rows, issue 16): every array below is this call's own, except the inputs
    # (client positions, PoP km, direct legs: the caller's or cached), copied here (~0.05 ms)
    # so that the frame never shares memory with them, as a copying constructor guaranteed.
    own = lambda a: np.array(a, dtype=float)  # noqa: E731
    pop_code = np.where(routed, pop, n_pops)
    origin_code = np.where(served, safe, n_pops)
    pop_col = ids_or_none[pop_code]
    origin_col = np.append(oid_p, "")[origin_code]
    runner_code = np.where(has_runner, runner, n_pops)
    runner_col = ids_or_none[runner_code]
    more = {"runner_up_id": (runner_col, runner_code)}
    if network is not None:
        more["network_pop_id"] = (net_id, net_code)
    _register_codes(pop_col, origin_col, pop_code, ids_or_none, origin_code,
                    np.append(oid_p, ""), more)
    return columns_frame({
        "lat": own(lats), "lon": own(lons),
        "pop_id": pop_col,
        "pop_km": own(pop_km),
        "runner_up_id": runner_col,
        "runner_up_km": own(runner_km),
        "backbone_km": backbone_km,
        "internet_ms": internet, "backbone_ms": backbone, "anycast_ms": anycast,
        "direct_km": own(direct_km), "direct_ms": own(direct),
        "saving_ms": direct - anycast,
        "routed": routed,
        "origin_id": origin_col,
        "served": served,
        "network_pop_id": net_id, "bgp_gap_ms": gap, "bgp_flag": pol.flagged(policy, gap),
    })


class RowCodes(NamedTuple):
    """A route table's ``pop_id`` and ``origin_id`` columns as integer codes: ``pop[i]`` indexes
    ``pop_ids`` and ``origin[i]`` indexes ``origin_ids`` (each of those distinct; "" is one of
    them: no route / not served). What the views compare, count and group by (the failover
    transition, the PoPs in use, the map's path and clients layers) instead of hashing or
    comparing 25,000 Python strings per column (~2 ms of a what-if, issue 16). Read-only."""

    pop: np.ndarray
    pop_ids: np.ndarray
    origin: np.ndarray
    origin_ids: np.ndarray


#: Route tables whose codes :func:`row_codes` knows (the last few built in this process: the
#: kept what-if tables and the ones a request is using).
CODES_KEPT = 32
_codes: "OrderedDict[int, tuple[weakref.ref, weakref.ref, RowCodes, dict]]" = OrderedDict()
_codes_lock = threading.Lock()


def _register_codes(pop_col: np.ndarray, origin_col: np.ndarray, pop_code: np.ndarray,
                    pop_ids: np.ndarray, origin_code: np.ndarray, origin_ids: np.ndarray,
                    more: dict[str, tuple[np.ndarray, np.ndarray]] | None = None) -> None:
    """Keep the codes :func:`table_from_ranking` had anyway (its gathers' indices) for the two
    text columns it builds (``pop_col = pop_ids[pop_code]``, likewise the origins), keyed by
    those very arrays: a frame holding them (also a shallow copy, or a copy with a new index)
    gets the codes from :func:`row_codes`; any other frame (a slice, a concat, a replaced
    column) does not. Origin ids repeat per PoP: they are made distinct here (~20 values).
    ``more``: other columns of PoP ids, ``name -> (column, codes into pop_ids)``, read back by
    :func:`id_column_codes` (kept as int16: 0.1 MB per 50,000 rows). Entries whose table is
    gone are dropped here (a batch worker builds a table per chunk: 32 dead entries were
    ~25 MB per process)."""
    if len(set(pop_ids.tolist())) != len(pop_ids):  # not expected (catalog ids are unique)
        return
    first: dict[str, int] = {}
    canon = np.array([first.setdefault(o, len(first)) for o in origin_ids.tolist()],
                     dtype=np.int64)
    uniq = np.array(list(first), dtype=object)
    codes = RowCodes(_frozen(pop_code.astype(np.int64, copy=False)), _frozen(pop_ids.copy()),
                     _frozen(canon[origin_code]), _frozen(uniq))
    small = np.int16 if len(pop_ids) < 2 ** 15 else np.int64
    extra = {name: (weakref.ref(col), _frozen(code.astype(small)))
             for name, (col, code) in (more or {}).items()}
    with _codes_lock:
        for key in [k for k, hit in _codes.items() if hit[0]() is None]:
            del _codes[key]
        _codes[id(pop_col)] = (weakref.ref(pop_col), weakref.ref(origin_col), codes, extra)
        while len(_codes) > CODES_KEPT:
            _codes.popitem(last=False)


def _frozen(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


def _root(a: np.ndarray) -> np.ndarray:
    """The array ``a`` views, when ``a`` views all of it unchanged (pandas hands out read-only
    views of its columns), else ``a``."""
    b = a
    while isinstance(b.base, np.ndarray):
        b = b.base
    if b is not a and (b.shape != a.shape or b.strides != a.strides or b.dtype != a.dtype
                       or b.ctypes.data != a.ctypes.data):
        return a
    return b


def row_codes(routes: pd.DataFrame) -> RowCodes | None:
    """:class:`RowCodes` of a route table built by :func:`table_from_ranking` (in this process,
    among the last :data:`CODES_KEPT`) whose ``pop_id`` and ``origin_id`` columns are still
    the ones it built, whole; None otherwise (callers then read the columns). Route tables are
    never written in place (pandas copy-on-write: writing a column replaces it)."""
    if "pop_id" not in routes or "origin_id" not in routes:
        return None
    pop_col = _root(colvals(routes, "pop_id", object))
    origin_col = _root(colvals(routes, "origin_id", object))
    with _codes_lock:
        hit = _codes.get(id(pop_col))
    if hit is None or hit[0]() is not pop_col or hit[1]() is not origin_col:
        return None
    return hit[2]


def id_column_codes(routes: pd.DataFrame, name: str) -> tuple[np.ndarray, np.ndarray] | None:
    """``(codes, pop_ids)`` of a route table's other PoP-id column ``name`` (``runner_up_id``,
    ``network_pop_id``: ``column[i] == pop_ids[codes[i]]``) when the table was built by
    :func:`table_from_ranking` (among the last :data:`CODES_KEPT`) and both its ``pop_id`` and
    that column are still the ones it built, whole; None otherwise."""
    if "pop_id" not in routes or name not in routes:
        return None
    pop_col = _root(colvals(routes, "pop_id", object))
    col = _root(colvals(routes, name, object))
    with _codes_lock:
        hit = _codes.get(id(pop_col))
    if hit is None or hit[0]() is not pop_col:
        return None
    got = hit[3].get(name)
    if got is None or got[0]() is not col:
        return None
    return got[1], hit[2].pop_ids


def direct_legs(lats: np.ndarray, lons: np.ndarray, terms: latency.Location,
                direct_origin: tuple[float, float], params: latency.LatencyParams
                ) -> tuple[np.ndarray, np.ndarray]:
    """``(direct_km, direct_ms)`` of every client straight to ``direct_origin`` (lat, lon in
    degrees): the WGS84 geodesic km and the modelled internet RTT (ms) of that path, the
    ``direct_*`` columns of :func:`table_from_ranking`."""
    d_lat, d_lon = float(direct_origin[0]), float(direct_origin[1])
    km = geodesic_km(lats, lons, d_lat, d_lon)
    ms = latency.internet_rtt_ms_at(  # = internet_rtt_ms_km(km, terms, origin's terms)
        km, terms, slice(None), latency.locate(np.array([d_lat]), np.array([d_lon]), params),
        0, params)
    return km, ms


def client_paths(client_lats: object, client_lons: object, pop_ids: Sequence[str],
                 pop_lats: np.ndarray, pop_lons: np.ndarray, origin_lat: object, origin_lon: object,
                 down: np.ndarray | None = None,
                 pop_origin_ids: Sequence[str] | str = "", *,
                 params: latency.LatencyParams,
                 direct_origin: tuple[float, float] | None = None,
                 policy: str = pol.GEOGRAPHIC, bias: PopBias | None = None) -> pd.DataFrame:
    """One row per client (client order) with columns :data:`PATH_COLUMNS`.

    ``origin_lat``/``origin_lon`` are the origin of every PoP (scalars) or per-PoP arrays (NaN =
    that PoP's endpoint is down); ``pop_origin_ids`` labels them the same way.
    ``anycast_ms`` = ``internet_ms`` (client -> nearest healthy PoP) + ``backbone_ms``, where the
    reported backbone leg includes the PoP's ingress overhead (``params.pop_overhead_ms``) so that
    the two legs shown add up to the total (``params``: the latency model, passed explicitly);
    ``direct_ms`` = internet leg straight to the origin of the default endpoint (the first finite
    origin when per-PoP arrays are given -- callers pass the default endpoint's origin as scalar
    when they want a specific one, or give ``direct_origin`` = (lat, lon) of the default
    endpoint's region, which also covers that endpoint being down); ``saving_ms`` = direct -
    anycast.
    Clients with no healthy PoP have ``routed`` False; clients whose PoP's endpoint is down have
    ``served`` False (the provider does not fail over between endpoints); both get NaN RTTs.

    ``policy`` (:mod:`dashboard.domain.policy`): ``geographic`` sends each client to its
    nearest healthy PoP, ``network`` to the one with the lowest internet leg (runner-up
    likewise); either way the network-nearest PoP and the flag columns are filled in.
    ``bias`` (:mod:`dashboard.domain.bias`; None = none): both rankings see it
    (:func:`policy.network_ranking`, :func:`policy.geographic_ranking`); the RTTs are those
    of the PoP each client lands on.

    How: the clients and PoPs are located once in the latency model; one pass of
    :func:`policy.best_pops` gives the two best healthy PoPs under the network policy and the
    two nearest (exact WGS84), from bounds on the auxiliary sphere with exact distances and legs
    only for the PoPs that can win -- the same answer to the bit as :func:`routing.assign` and
    as modelling every client-PoP leg with :func:`policy.pop_matrix`; and
    :func:`table_from_ranking` -- shared with the cached what-if path -- computes the legs.
    """
    policy = pol.check_policy(policy)
    cla, clo = validate_coords(client_lats, client_lons, "client")
    pla, plo = validate_coords(pop_lats, pop_lons, "access point")
    down_mask = np.zeros(len(pla), dtype=bool) if down is None else np.asarray(down, dtype=bool)
    terms, pop_terms = latency.locate(cla, clo, params), latency.locate(pla, plo, params)
    if down_mask.shape != pla.shape:
        raise ValueError(f"down mask has shape {down_mask.shape}, expected {pla.shape}")
    if bias is None:  # one pruned pass (policy.best_pops): both rankings, exact to the bit
        geographic = policy == pol.GEOGRAPHIC
        best = pol.best_pops(cla, clo, pla, plo, terms, pop_terms, params, down_mask, k=2,
                             geographic=geographic, net_k=1 if geographic else 2)
        if policy == pol.NETWORK:
            ranked, ranked_km = best.net, best.net_km
        else:  # = routing.assign(..., alternatives=2), from the same pass
            ranked, ranked_km = best.geo, best.geo_km
        return table_from_ranking(
            cla, clo, terms, pop_ids, pla, plo, pop_terms, ranked[:, 0], ranked_km[:, 0],
            ranked[:, 1], ranked_km[:, 1], origin_lat, origin_lon, pop_origin_ids,
            params=params, direct_origin=direct_origin,
            network=(best.net[:, 0], best.net_ms[:, 0]), policy=policy)
    # With a bias (a what-if of a few PoPs): the full client x PoP matrix, both rankings biased.
    matrix = pol.pop_matrix(cla, clo, pla, plo, terms, pop_terms, params)
    net_rank, net_km = pol.network_ranking(matrix, bias)
    net = pol.first_two(net_rank, net_km, down_mask)
    if policy == pol.NETWORK:
        pop, pop_km, runner, runner_km = net
    else:
        pop, pop_km, runner, runner_km = pol.first_two(*pol.geographic_ranking(matrix, bias),
                                                       down_mask)
    return table_from_ranking(
        cla, clo, terms, pop_ids, pla, plo, pop_terms, pop, pop_km, runner, runner_km,
        origin_lat, origin_lon, pop_origin_ids, params=params, direct_origin=direct_origin,
        network=network_pick(matrix, net[0], bias), policy=policy, bias=bias)


def network_pick(matrix: "pol.PopMatrix", net_pop: np.ndarray, bias: PopBias | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """``(net_pop, its internet ms)`` for :func:`table_from_ranking`'s ``network`` (with a
    bias: its preference ms, internet leg + ``bias.leg_ms``)."""
    ok = net_pop != NO_ROUTE
    ms = np.full(len(net_pop), np.nan)
    r = np.flatnonzero(ok)
    if len(r):
        ms[r] = matrix.internet_ms[r, net_pop[r]]
        if bias is not None:
            ms[r] += bias.leg_ms[net_pop[r]]
    return net_pop, ms


def rank_order(distance_km: np.ndarray, up: np.ndarray,
               internet_ms: np.ndarray | None = None, bias: PopBias | None = None
               ) -> np.ndarray:
    """Indices of PoPs in ranking order for one client: healthy ones nearest first, then the
    down ones nearest first; ties keep catalog order (stable). With ``internet_ms`` (the network
    policy) by internet leg instead, ties nearer first. ``bias``: + ``bias.leg_ms`` on the
    internet leg, or + ``bias.km`` on the distance (:mod:`dashboard.domain.policy`). Shared by
    :func:`rank_pops` and the API's one-point answer (``services.routing``), so both list the
    same order."""
    km = np.asarray(distance_km, dtype=float)
    down = ~np.asarray(up, dtype=bool)
    if internet_ms is None:
        if bias is None:
            return np.lexsort((km, down))
        return np.lexsort((km, km + bias.km, down))
    score = np.asarray(internet_ms, dtype=float)
    if bias is not None:
        score = score + bias.leg_ms
    return np.lexsort((km, score, down))


def rank_pops(lat: float, lon: float, pop_ids: Sequence[str], pop_lats: np.ndarray,
              pop_lons: np.ndarray, origin_lat: object, origin_lon: object,
              down: np.ndarray | None = None, *,
              params: latency.LatencyParams, policy: str = pol.GEOGRAPHIC,
              bias: PopBias | None = None) -> pd.DataFrame:
    """Every PoP for one client, ranked by geodesic distance (``policy`` geographic) or by
    internet leg (``network``), each + the ``bias`` (:func:`rank_order`), down ones included,
    flagged. The RTT columns are never biased; ``bias_ms`` and ``bias_km`` (only with a bias)
    are each PoP's bias and its equivalent distance (``bias.km``).

    Columns: rank (1 = nearest healthy), pop_id, up, distance_km, internet_ms, backbone_ms,
    anycast_ms (NaN backbone/anycast where the PoP's endpoint is down; origins as in
    :func:`client_paths`). Down PoPs are listed after the healthy ones with rank 0, because support engineers
    need to see them ("would have landed on X, but X is down").
    """
    la, lo = validate_coords([lat], [lon], "client")
    pla, plo = np.asarray(pop_lats, dtype=float), np.asarray(pop_lons, dtype=float)
    down_mask = np.zeros(len(pla), dtype=bool) if down is None else np.asarray(down, dtype=bool)
    km = geodesic_km(la[0], lo[0], pla, plo)
    internet = latency.internet_rtt_ms(la[0], lo[0], pla, plo, params)
    backbone, _ = pop_legs(pla, plo, origin_lat, origin_lon, params)
    df = pd.DataFrame({
        "pop_id": list(pop_ids), "up": ~down_mask, "distance_km": km,
        "internet_ms": internet, "backbone_ms": backbone,
        "anycast_ms": internet + backbone,
    })
    policy = pol.check_policy(policy)
    if bias is not None:
        df["bias_ms"] = bias.ms
        df["bias_km"] = bias.km
    df = df.iloc[rank_order(km, ~down_mask, internet if policy == pol.NETWORK else None, bias)]
    df.insert(0, "rank", np.where(df["up"], np.cumsum(colvals(df, "up")), 0))
    return df.reset_index(drop=True)
