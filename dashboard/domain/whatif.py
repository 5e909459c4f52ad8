"""Fast "what if" recomputation for a fixed, large client set: rank once, re-route many times.

Marking an access point down, or picking another origin, does not move any client and does not
change any client -> PoP distance: only *which* PoP is the nearest healthy one changes. So for a
client set that stays fixed (a 25,000-city demand preset) we compute once, per process:

* the full ranking of every PoP for every client (exact WGS84 geodesic km, nearest first), and
* the latency model's location terms of every client (:func:`latency.locate`, the expensive part
  of the internet-leg model),

and a what-if is then a few vectorised array operations (first healthy PoP in each row, the
formula on known km and terms): ~10-20 ms for 25,000 clients instead of ~600 ms for
:func:`paths.client_paths` from coordinates. :func:`paths_for` returns exactly the table of
:func:`paths.client_paths` (same columns, same values; a property test checks it).

Pure: numpy/pandas only. Units: degrees in, km and round-trip ms out; WGS84 geodesics.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np
import pandas as pd

from dashboard.domain import latency
from dashboard.domain import policy as pol
from dashboard.domain.bias import PopBias
from dashboard.domain.geodesy import nearest, validate_coords
from dashboard.domain.paths import network_pick, table_from_ranking
from dashboard.domain.routing import NO_ROUTE


@dataclass(frozen=True)
class RankedClients:
    """A client set with every PoP ranked per client. Arrays are read-only.

    ``ranked`` (n, m): PoP indices nearest first; ``ranked_km`` (n, m): their WGS84 km;
    ``terms``: latency location terms of the clients; ``pop_terms``: of the PoPs.
    ``matrix``: every client-PoP km and internet leg (:class:`policy.PopMatrix`, under the
    parameters it was built with); ``net_ranked``/``net_ranked_km``: the network policy's
    ranking (:func:`policy.network_ranking`). None until :func:`with_network`.
    """

    lats: np.ndarray
    lons: np.ndarray
    pop_lats: np.ndarray
    pop_lons: np.ndarray
    ranked: np.ndarray
    ranked_km: np.ndarray
    terms: latency.Location
    pop_terms: latency.Location
    matrix: pol.PopMatrix | None = None
    net_ranked: np.ndarray | None = None
    net_ranked_km: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.lats)


def _ro(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.flags.writeable = False
    return a


def with_network(rc: RankedClients, params: latency.LatencyParams) -> RankedClients:
    """``rc`` with every client-PoP internet leg under ``params`` and the network ranking
    (what the network policy and the flags read); the km come from the existing ranking."""
    km = pol.km_by_pop(rc.ranked, rc.ranked_km)
    matrix = pol.PopMatrix(_ro(km), _ro(pol.internet_matrix_ms(km, rc.terms, rc.pop_terms,
                                                              params)))
    net, net_km = pol.network_ranking(matrix)
    return replace(rc, matrix=matrix, net_ranked=_ro(net.astype(rc.ranked.dtype)),
                   net_ranked_km=net_km)


def rank_clients(client_lats: object, client_lons: object, pop_lats: object, pop_lons: object,
                 params: latency.LatencyParams, network: bool = True) -> RankedClients:
    """Rank every PoP for every client (exact; ~0.5 us per client-PoP pair) and locate the
    clients in the latency model, and (``network``) model every client-PoP internet leg for
    the network policy and the flags (:func:`with_network`). Degrees in; ``ValueError`` names a
    bad coordinate."""
    cla, clo = validate_coords(client_lats, client_lons, "client")
    pla, plo = validate_coords(pop_lats, pop_lons, "access point")
    m = len(pla)
    if len(cla) and m:
        idx, km = nearest(cla, clo, pla, plo, k=m)
    else:
        idx, km = np.empty((len(cla), m), dtype=np.int64), np.empty((len(cla), m))
    rc = RankedClients(
        lats=_ro(cla.copy()), lons=_ro(clo.copy()), pop_lats=_ro(pla.copy()),
        pop_lons=_ro(plo.copy()), ranked=_ro(idx.astype(np.int16 if m < 32_000 else np.int64)),
        ranked_km=_ro(km), terms=latency.locate(cla, clo, params),
        pop_terms=latency.locate(pla, plo, params))
    return with_network(rc, params) if network else rc


def first_healthy(rc: RankedClients, down: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(pop, pop_km, runner_up, runner_up_km)`` per client: the nearest and second-nearest
    healthy PoPs (indices; :data:`NO_ROUTE` and NaN where there is none), as
    :func:`routing.assign` with ``alternatives=2`` returns them."""
    down_mask = np.zeros(len(rc.pop_lats), dtype=bool) if down is None else np.asarray(down, bool)
    if down_mask.shape != rc.pop_lats.shape:
        raise ValueError(f"down mask has shape {down_mask.shape}, expected {rc.pop_lats.shape}")
    return first_two(rc.ranked, rc.ranked_km, down_mask)


def first_two(ranked: np.ndarray, ranked_km: np.ndarray, down: np.ndarray,
              keep: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(pop, pop_km, runner_up, runner_up_km)``: the first and second healthy PoPs of each
    row of a full ranking (n, m; ``down``: one flag per PoP); :data:`NO_ROUTE` / NaN where
    there are none. The same answer as :func:`policy.first_two`, faster for a what-if: rows
    whose two first PoPs are both up keep them, and only the others (~10 % of clients with one
    PoP of 19 down) are searched (~2 ms instead of ~8 ms for 25,000 clients). ``keep``: a
    read-only ranking's first two columns are kept (:func:`_heads`) for the next call; False
    for a ranking made for this call only (under a bias)."""
    n, m = ranked.shape
    n_healthy = int((~down).sum())
    heads = _heads(ranked, ranked_km) if keep and n and m > 1 and n_healthy else None
    if heads is not None:
        pop, pop_km, runner, runner_km = (a.copy() for a in heads[:4])
    else:
        pop = np.full(n, NO_ROUTE, dtype=np.int64)
        runner = np.full(n, NO_ROUTE, dtype=np.int64)
        pop_km = np.full(n, np.nan)
        runner_km = np.full(n, np.nan)
    if n == 0 or m == 0 or n_healthy == 0:
        return pop, pop_km, runner, runner_km
    if heads is None:
        pop[:], pop_km[:] = ranked[:, 0], ranked_km[:, 0]
        if m > 1:
            runner[:], runner_km[:] = ranked[:, 1], ranked_km[:, 1]
    if not down.any():
        return pop, pop_km, runner, runner_km
    if heads is not None:  # the rows whose first or second PoP is down, from the index
        by_pop = heads[4]
        hit = [by_pop[p] for p in np.flatnonzero(down)]
        if len(hit) == 1:
            # One PoP p down (the common what-if): a row listed under p has p first or second,
            # so its first healthy PoP is the other one of the two and its runner-up the third
            # -- what the search below finds, from the kept columns by 1-D gathers (~0.13 ms
            # instead of ~0.45 ms for the ~5,600 rows of a busy PoP of 25,000 clients, issue 16).
            rows = hit[0]
            p = int(np.flatnonzero(down)[0])
            head = heads[0].take(rows)
            head_is_p = head == p
            pop[rows] = np.where(head_is_p, heads[2].take(rows), head)
            pop_km[rows] = np.where(head_is_p, heads[3].take(rows), heads[1].take(rows))
            runner[rows] = heads[5].take(rows)
            runner_km[rows] = heads[6].take(rows)
            return pop, pop_km, runner, runner_km
        # several down: the union of their rows, ascending (a mask: np.unique sorted them)
        mark = np.zeros(n, dtype=bool)
        for h in hit:
            mark[h] = True
        rows = np.flatnonzero(mark)
    else:
        bad = down[ranked[:, 0]]
        if m > 1:
            bad |= down[ranked[:, 1]]
        rows = np.flatnonzero(bad)
    if not len(rows):
        return pop, pop_km, runner, runner_km
    # With d PoPs down, a row's first two healthy PoPs are among its first d + 2: only those
    # columns are gathered and searched (~3 of 19 with one PoP down: ~0.15 ms instead of
    # ~0.5 ms per call for 25,000 clients, issue 16).
    width = min(m, m - n_healthy + 2)
    sub, sub_km = ranked[rows, :width], ranked_km[rows, :width]
    at = np.arange(len(rows))
    healthy = ~down[sub]
    first = healthy.argmax(axis=1)
    pop[rows], pop_km[rows] = sub[at, first], sub_km[at, first]
    runner[rows], runner_km[rows] = NO_ROUTE, np.nan
    if n_healthy > 1:
        healthy[at, first] = False
        second = healthy.argmax(axis=1)
        runner[rows], runner_km[rows] = sub[at, second], sub_km[at, second]
    return pop, pop_km, runner, runner_km


#: Read-only rankings whose first three columns :func:`_heads` keeps (a client set's geographic
#: and network rankings, per model: a few).
HEADS_KEPT = 8
_Heads = tuple  # (first, first_km, second, second_km, rows by PoP, third, third_km)
_heads_kept: "OrderedDict[tuple[int, int], tuple[weakref.ref, weakref.ref, _Heads]]" = (
    OrderedDict())
_heads_lock = threading.Lock()


def _heads(ranked: np.ndarray, ranked_km: np.ndarray) -> _Heads | None:
    """For a read-only (cached, never changing) ranking: its first three columns as contiguous
    int64 / float arrays (the third: :data:`NO_ROUTE` / NaN with two PoPs) and, per PoP, the
    rows whose first or second PoP it is (ascending) --
    what :func:`first_two` reads on every what-if: strided copies and a gather of every row
    cost ~0.35 ms per call for 25,000 clients, the kept arrays ~0.05 ms (issue 16). None for a
    writeable ranking (made for one call, e.g. under a bias): nothing to keep."""
    if ranked.flags.writeable or ranked_km.flags.writeable:
        return None
    key = (id(ranked), id(ranked_km))
    with _heads_lock:
        hit = _heads_kept.get(key)
        if hit is not None and hit[0]() is ranked and hit[1]() is ranked_km:
            _heads_kept.move_to_end(key)
            return hit[2]
    first = ranked[:, 0].astype(np.int64)
    second = ranked[:, 1].astype(np.int64)
    m = ranked.shape[1]
    # rows by PoP: each row listed under its first and its second PoP (never the same PoP)
    owner = np.concatenate([first, second])
    row = np.concatenate([np.arange(len(first)), np.arange(len(first))])
    order = np.lexsort((row, owner))
    bounds = np.searchsorted(owner[order], np.arange(m + 1))
    rows_sorted = row[order]
    by_pop = tuple(_ro(rows_sorted[bounds[p]:bounds[p + 1]]) for p in range(m))
    if m > 2:
        third, third_km = ranked[:, 2].astype(np.int64), ranked_km[:, 2].astype(float)
    else:  # no third PoP: a row that loses one of its two has no runner-up
        third, third_km = np.full(len(first), NO_ROUTE, dtype=np.int64), np.full(len(first), np.nan)
    heads = (_ro(first), _ro(ranked_km[:, 0].astype(float)), _ro(second),
             _ro(ranked_km[:, 1].astype(float)), by_pop, _ro(third), _ro(third_km))
    with _heads_lock:
        _heads_kept[key] = (weakref.ref(ranked), weakref.ref(ranked_km), heads)
        while len(_heads_kept) > HEADS_KEPT:
            _heads_kept.popitem(last=False)
    return heads


_first_legs_kept: "OrderedDict[tuple[int, int], tuple[weakref.ref, weakref.ref, np.ndarray]]" = (
    OrderedDict())


def legs_at(legs: np.ndarray, ranked: np.ndarray, ranked_km: np.ndarray,
            pop: np.ndarray) -> np.ndarray:
    """``legs[i, pop[i]]`` for every row ``i`` (NaN where ``pop`` is :data:`NO_ROUTE`): a
    client's value for its chosen PoP from a client x PoP matrix (columns in catalog order,
    e.g. :attr:`policy.PopMatrix.internet_ms`), ``pop`` picked from the ranking
    ``ranked``/``ranked_km`` (:func:`first_two`). For a read-only matrix and ranking, the values
    at each row's first-ranked PoP are kept, and only the rows whose pick is another PoP (a
    what-if: those of the PoPs down) are gathered: a gather of all 25,000 rows from the matrix
    cost ~0.15 ms (cache misses), the kept copy and the few rows ~0.05 ms (issue 16). The same
    values either way."""
    pop = np.asarray(pop)
    heads = (_heads(ranked, ranked_km) if not legs.flags.writeable and ranked.ndim == 2
             and ranked.shape[1] > 1 and len(pop) == len(ranked) == len(legs) else None)
    if heads is None:
        out = np.full(len(pop), np.nan)
        r = np.flatnonzero(pop != NO_ROUTE)
        out[r] = legs[r, pop[r]]
        return out
    first = heads[0]
    key = (id(legs), id(first))
    with _heads_lock:
        hit = _first_legs_kept.get(key)
        if hit is not None and hit[0]() is legs and hit[1]() is first:
            _first_legs_kept.move_to_end(key)
            kept = hit[2]
        else:
            kept = None
    if kept is None:
        kept = _ro(legs[np.arange(len(first)), first])
        with _heads_lock:
            _first_legs_kept[key] = (weakref.ref(legs), weakref.ref(first), kept)
            while len(_first_legs_kept) > HEADS_KEPT:
                _first_legs_kept.popitem(last=False)
    out = kept.copy()
    rows = np.flatnonzero(pop != first)
    if len(rows):
        picked = pop[rows]
        routed = picked != NO_ROUTE
        out[rows[~routed]] = np.nan
        out[rows[routed]] = legs[rows[routed], picked[routed]]
    return out


def keep_heads(rc: RankedClients) -> RankedClients:
    """``rc``, with :func:`_heads` of its geographic and (when built) network rankings kept now:
    for callers that cache ``rc``, so that the first what-if does not pay them (~1 ms)."""
    for ranked, km in ((rc.ranked, rc.ranked_km), (rc.net_ranked, rc.net_ranked_km)):
        if ranked is not None and km is not None and ranked.ndim == 2 and ranked.shape[1] > 1:
            _heads(ranked, km)
    return rc


def paths_for(rc: RankedClients, pop_ids: Sequence[str], origin_lat: object, origin_lon: object,
              down: np.ndarray | None = None, pop_origin_ids: Sequence[str] | str = "", *,
              params: latency.LatencyParams,
              direct_origin: tuple[float, float] | None = None,
              policy: str = pol.GEOGRAPHIC, bias: PopBias | None = None,
              direct: tuple[np.ndarray, np.ndarray] | None = None,
              pop_legs: tuple[np.ndarray, np.ndarray] | None = None) -> pd.DataFrame:
    """The :func:`paths.client_paths` table of ``rc``'s clients (same columns and semantics:
    per-PoP origin arrays with NaN = endpoint down, the backbone leg including the PoP ingress
    overhead, ``direct_ms`` to ``direct_origin``, else to the first finite origin) from the
    cached ranking and terms: :func:`first_healthy` picks the PoPs, and
    :func:`paths.table_from_ranking`, the builder :func:`paths.client_paths` uses too, computes
    the legs. ``policy`` as in :func:`paths.client_paths`; the network ranking and the internet
    legs come from ``rc`` (:func:`with_network`, computed here under ``params`` when missing:
    callers that cache ``rc`` build them once under the same ``params``). ``bias``
    (:mod:`dashboard.domain.bias`): both rankings are made again from ``rc.matrix`` with it
    (:func:`policy.network_ranking`, :func:`policy.geographic_ranking`; a few ms for 25,000
    clients), as :func:`paths.client_paths` does. ``direct``: the clients' ``(direct_km,
    direct_ms)`` to ``direct_origin`` (:func:`paths.direct_legs`) when the caller keeps them;
    ``pop_legs``: :func:`paths.pop_legs` of ``rc``'s PoPs to these origins under ``params``,
    likewise."""
    policy = pol.check_policy(policy)
    if rc.matrix is None or rc.net_ranked is None or rc.net_ranked_km is None:
        rc = with_network(rc, params)
    assert rc.net_ranked is not None and rc.net_ranked_km is not None and rc.matrix is not None
    down_mask = np.zeros(len(rc.pop_lats), dtype=bool) if down is None else np.asarray(down, bool)
    if down_mask.shape != rc.pop_lats.shape:
        raise ValueError(f"down mask has shape {down_mask.shape}, expected {rc.pop_lats.shape}")
    if bias is None:
        net = first_two(rc.net_ranked, rc.net_ranked_km, down_mask)
    else:
        net = first_two(*pol.network_ranking(rc.matrix, bias), down_mask, keep=False)
    if policy == pol.NETWORK:
        pop, pop_km, runner, runner_km = net
    elif bias is not None:
        pop, pop_km, runner, runner_km = first_two(
            *pol.geographic_ranking(rc.matrix, bias), down_mask, keep=False)
    else:
        pop, pop_km, runner, runner_km = first_healthy(rc, down_mask)
    # The chosen PoP's internet leg is in the matrix already (modelled under ``params`` by the
    # same function table_from_ranking would call): a gather instead of ~10 ms of formula.
    # (from the rows' first-ranked PoPs' legs kept per ranking when the ranking is the cached
    # one: :func:`legs_at`)
    internet = legs_at(rc.matrix.internet_ms, *((rc.net_ranked, rc.net_ranked_km)
                                                if policy == pol.NETWORK else
                                                (rc.ranked, rc.ranked_km)), pop)
    if bias is None:  # the network pick's leg likewise (network_pick without a bias)
        network = (net[0], internet if policy == pol.NETWORK else
                   legs_at(rc.matrix.internet_ms, rc.net_ranked, rc.net_ranked_km, net[0]))
    else:
        network = network_pick(rc.matrix, net[0], bias)
    return table_from_ranking(rc.lats, rc.lons, rc.terms, pop_ids, rc.pop_lats, rc.pop_lons,
                              rc.pop_terms, pop, pop_km, runner, runner_km, origin_lat,
                              origin_lon, pop_origin_ids, params=params,
                              direct_origin=direct_origin,
                              network=network, policy=policy,
                              bias=bias, internet_given=internet,
                              direct_legs_given=direct if direct_origin is not None else None,
                              pop_legs_given=pop_legs)
