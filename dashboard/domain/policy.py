"""Routing policies: which healthy access point a client enters at, and where they disagree.

* ``geographic`` (the default, what the product documents): the WGS84-nearest healthy PoP
  (:mod:`dashboard.domain.routing`).
* ``network``: the healthy PoP with the lowest modelled client -> PoP internet RTT (the internet
  leg of :mod:`dashboard.domain.latency`) -- a stand-in for BGP preferring short network paths.
  Ties (equal RTT to the ms bit) go to the nearer PoP, then to catalog order.

Flags (issue 14): under the geographic policy, a client whose network-nearest healthy PoP has an
internet leg more than :data:`FLAG_GAP_MS` shorter than the internet leg of the PoP it is sent to
is flagged: BGP would likely hand it to that other PoP. The gap is the **internet-leg**
difference (what BGP can "see"; the backbone legs behind the two PoPs are not part of it).

Announcement bias (:mod:`dashboard.domain.bias`, issue 20): every ranking here takes an
optional :class:`~dashboard.domain.bias.PopBias`. The network policy ranks by internet leg +
the bias (ms); the geographic policy by distance + the bias's equivalent km (the latency
model's slope, :func:`dashboard.domain.latency.km_per_rtt_ms`). Ties as without one: nearer
first, then catalog order. None (no bias) takes exactly the code path it took before.

Pure: numpy only. Units: degrees in, km and round-trip ms out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dashboard.domain import bias as bias_core
from dashboard.domain import latency
from dashboard.domain.bias import PopBias
from dashboard.domain.geodesy import bounded_pairs, nearest
from dashboard.domain.routing import NO_ROUTE, assign

GEOGRAPHIC = "geographic"
NETWORK = "network"
#: Every policy, the default first.
POLICIES = (GEOGRAPHIC, NETWORK)
DEFAULT_POLICY = GEOGRAPHIC
#: A client is flagged when its network-nearest PoP's internet leg is more than this (ms) shorter.
FLAG_GAP_MS = 30.0
#: One line per policy, for help texts, the API and the CLI.
DESCRIPTIONS = {
    GEOGRAPHIC: "nearest healthy access point on the WGS84 ellipsoid (what the product documents)",
    NETWORK: "healthy access point with the lowest modelled internet RTT (a stand-in for BGP "
             "preferring short network paths)",
}


def check_policy(value: object) -> str:
    """``value`` as a policy name; ``ValueError`` naming the choices otherwise."""
    if isinstance(value, str) and value.strip().lower() in POLICIES:
        return value.strip().lower()
    shown = repr(value)[:40]
    raise ValueError(f"unknown routing policy {shown}: choose "
                     + " or ".join(POLICIES))


@dataclass(frozen=True)
class PopMatrix:
    """Every client against every PoP, columns in catalog order: WGS84 km and the modelled
    internet-leg RTT (ms). Arrays (n, m), read-only."""

    km: np.ndarray
    internet_ms: np.ndarray


def _ro(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.flags.writeable = False
    return a


def km_by_pop(ranked: np.ndarray, ranked_km: np.ndarray) -> np.ndarray:
    """A nearest-first ranking ``(idx, km)`` (n, m) scattered back to catalog order (n, m)."""
    out = np.empty(ranked_km.shape)
    if out.size:
        np.put_along_axis(out, np.asarray(ranked, dtype=np.int64), ranked_km, axis=1)
    return out


def internet_matrix_ms(km: np.ndarray, terms: latency.Location, pop_terms: latency.Location,
                       params: latency.LatencyParams, chunk: int = 4096) -> np.ndarray:
    """Internet-leg RTT (ms) of every client (rows; ``terms``) to every PoP (columns;
    ``pop_terms``) at WGS84 distances ``km`` (n, m). The very function the route table uses for
    the chosen PoP (:func:`latency.internet_rtt_ms_km`), so the two agree to the bit; chunked by
    clients to bound the temporary per-pair terms."""
    km = np.asarray(km, dtype=float)
    n, m = km.shape
    out = np.empty((n, m))
    cols = np.arange(m)
    for s in range(0, n, chunk):
        rows = np.arange(s, min(n, s + chunk))
        src = latency.take_location(terms, np.repeat(rows, m))
        dst = latency.take_location(pop_terms, np.tile(cols, len(rows)))
        out[rows] = latency.internet_rtt_ms_km(km[rows].ravel(), src, dst,
                                               params).reshape(len(rows), m)
    return out


def pop_matrix(cla: np.ndarray, clo: np.ndarray, pla: np.ndarray, plo: np.ndarray,
               terms: latency.Location, pop_terms: latency.Location,
               params: latency.LatencyParams) -> PopMatrix:
    """:class:`PopMatrix` of validated clients and PoPs (degrees) and their location terms."""
    n, m = len(cla), len(pla)
    if n and m:
        idx, km = nearest(cla, clo, pla, plo, k=m)
        by_pop = km_by_pop(idx, km)
    else:
        by_pop = np.empty((n, m))
    return PopMatrix(_ro(by_pop), _ro(internet_matrix_ms(by_pop, terms, pop_terms, params)))


def network_ranking(matrix: PopMatrix, bias: PopBias | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """``(ranked, ranked_km)`` (n, m): every PoP per client, lowest internet RTT first (ties:
    nearer first, then catalog order) and the WGS84 km of each -- the network policy's
    counterpart of the nearest-first ranking. ``bias``: ranked by internet leg + the bias
    (``bias.leg_ms``, module docstring) instead."""
    n, m = matrix.km.shape
    if n == 0 or m == 0:
        return np.empty((n, m), dtype=np.int64), np.empty((n, m))
    score = matrix.internet_ms if bias is None else matrix.internet_ms + bias.leg_ms[None, :]
    ranked = np.lexsort((matrix.km, score), axis=-1)
    return _ro(ranked), _ro(np.take_along_axis(matrix.km, ranked, axis=1))


def geographic_ranking(matrix: PopMatrix, bias: PopBias) -> tuple[np.ndarray, np.ndarray]:
    """``(ranked, ranked_km)`` (n, m) of the geographic policy under a bias: by WGS84 km +
    the bias's equivalent km (``bias.km``), ties nearer first, then catalog order. (Without a
    bias the callers use :func:`dashboard.domain.routing.assign`, the exact nearest search.)"""
    n, m = matrix.km.shape
    if n == 0 or m == 0:
        return np.empty((n, m), dtype=np.int64), np.empty((n, m))
    ranked = np.lexsort((matrix.km, matrix.km + bias.km[None, :]), axis=-1)
    return _ro(ranked), _ro(np.take_along_axis(matrix.km, ranked, axis=1))


def pop_bias(bias: "bias_core.Bias", pop_ids: "tuple[str, ...] | list[str]",
             params: latency.LatencyParams) -> PopBias | None:
    """A scenario's bias bound to the PoP list and the latency model in use (its slope for the
    geographic conversion, its client type for the network one); None for no bias."""
    if not bias:
        return None
    return bias_core.bind(bias, pop_ids, latency.km_per_rtt_ms(params), latency.leg_factor(params))


def rank_all(cla: np.ndarray, clo: np.ndarray, pla: np.ndarray, plo: np.ndarray,
             policy: str, params: latency.LatencyParams | None = None,
             bias: PopBias | None = None) -> np.ndarray:
    """Every PoP for every client (n, m), in the order ``policy`` prefers them under ``bias``
    (down PoPs included: callers walk it with a down mask). Geographic without a bias: the
    exact nearest-first search (:func:`routing.assign`); otherwise from :func:`pop_matrix`
    (``params`` required for the network policy; the geographic one reads only its km)."""
    n, m = len(cla), len(pla)
    if n == 0 or m == 0:
        return np.zeros((n, m), dtype=np.int64)
    network = check_policy(policy) == NETWORK
    if not network and bias is None:
        return assign(cla, clo, pla, plo, alternatives=m).ranked
    if network:
        if not isinstance(params, latency.LatencyParams):
            raise ValueError("the network policy needs the latency parameters")
        matrix = pop_matrix(cla, clo, pla, plo, latency.locate(cla, clo, params),
                            latency.locate(pla, plo, params), params)
        return np.array(network_ranking(matrix, bias)[0], dtype=np.int64)
    assert bias is not None
    idx, km = nearest(cla, clo, pla, plo, k=m)
    matrix = PopMatrix(km_by_pop(idx, km), np.empty((0, 0)))
    return np.array(geographic_ranking(matrix, bias)[0], dtype=np.int64)
#: Relative widening of the internet-leg bounds of :func:`network_top` (and 1e-9 ms absolute).
#: The bounds evaluate the model's formula in another association of the same sums than
#: :func:`latency.rtt_formula_ms` (a few ulps apart, ~1e-15 relative); the widening covers that
#: a million times over and only ever adds candidates.
_BOUND_SLACK = 1e-9


def internet_bounds_ms(km_lo: np.ndarray, km_hi: np.ndarray, terms: latency.Location,
                       pop_terms: latency.Location, params: latency.LatencyParams
                       ) -> tuple[np.ndarray, np.ndarray]:
    """``(lo, hi)`` (m, n), PoP-major: bounds of the internet leg (ms) of every client (columns,
    ``terms``) to every PoP (rows, ``pop_terms``) whose WGS84 distance lies in ``[km_lo,
    km_hi]`` (m, n).

    The internet leg (:mod:`dashboard.domain.latency`'s docstring) is, for fixed location
    terms, ``max(A + B d, floor(d), min_rtt)`` with ``A = overhead + e_c + e_p`` and ``B =
    max(slope, floor_slope) / 1000 > 0``, then for end users ``add_c + access_factor * that``
    (``access_factor >= 1``): non-decreasing in ``d``. So ``f(km_lo) <= f(s) <= f(km_hi)`` for
    the exact distance ``s``. Computed on whole blocks with per-region tables instead of
    per-pair gathers (several times cheaper than :func:`internet_matrix_ms`), then widened by
    :data:`_BOUND_SLACK` for the different rounding. ``tests/unit/test_network_pruned.py``
    checks it against :func:`latency.internet_rtt_ms_km` on random terms and parameters, so a
    change of the formula that is not mirrored here fails there."""
    a = params._arr
    rc = np.asarray(terms.region, dtype=np.int64)
    rp = np.asarray(pop_terms.region, dtype=np.int64)
    # S[R(p), R(c)] + m_p[R(c)]: a (m, regions) table, columns taken per client
    pop_reg = a["S"][rp, :] + np.asarray(pop_terms.slope_ms_per_1000km)
    slope = np.take(pop_reg, rc, axis=1)                                      # (m, n)
    slope += np.ascontiguousarray(np.asarray(terms.slope_ms_per_1000km).T)[rp]  # m_c[R(p)]
    slope *= params.inflation_scale
    np.maximum(slope, 2000.0 / params.fibre_km_per_ms, out=slope)
    slope /= 1000.0                                                           # B, ms per km
    base = np.asarray(pop_terms.effect_ms)[:, None] \
        + (params.overhead_ms + np.asarray(terms.effect_ms))[None, :]          # A
    end_user = params.access != "datacenter"
    add = (params.access_ms + a["acc_reg"][rc])[None, :] if end_user else None
    out = []
    for km in (km_lo, km_hi):
        v = slope * km
        v += base
        np.maximum(v, 2.0 / params.fibre_km_per_ms * km, out=v)
        np.maximum(v, params.min_rtt_ms, out=v)
        if end_user:
            v *= params.access_factor
            v += add
        out.append(v)
    lo, hi = out
    if params.min_rtt_ms >= 0.0 and (add is None or add.min() >= 0.0):
        # every bound is >= 0 (min_rtt >= 0, then an access term >= 0): |x| = x, so
        # x -+ slack (|x| + 1) is x (1 -+ slack) -+ slack (two passes instead of four)
        lo *= 1.0 - _BOUND_SLACK
        lo -= _BOUND_SLACK
        hi *= 1.0 + _BOUND_SLACK
        hi += _BOUND_SLACK
    else:
        lo -= _BOUND_SLACK * (np.abs(lo) + 1.0)
        hi += _BOUND_SLACK * (np.abs(hi) + 1.0)
    return lo, hi


def _kth_smallest(values: np.ndarray, k: int) -> np.ndarray:
    """The k-th smallest (1-based, k <= 2 or any) of each column of (m, n) ``values``."""
    if k == 1:
        return values.min(axis=0)
    if k == 2:
        best = np.full(values.shape[1], np.inf)
        second = np.full(values.shape[1], np.inf)
        for row in values:
            np.minimum(second, np.maximum(best, row), out=second)
            np.minimum(best, row, out=best)
        return second
    return np.partition(values, k - 1, axis=0)[k - 1]


def network_top(cla: np.ndarray, clo: np.ndarray, pla: np.ndarray, plo: np.ndarray,
                terms: latency.Location, pop_terms: latency.Location,
                params: latency.LatencyParams, down: np.ndarray, k: int = 2
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``k`` best healthy PoPs of every client under the network policy: ``(ranked,
    ranked_km, ranked_ms)`` (n, k), lowest internet leg first (ties: nearer, then catalog
    order); :data:`NO_ROUTE` / NaN where fewer are healthy. See :func:`best_pops`."""
    b = best_pops(cla, clo, pla, plo, terms, pop_terms, params, down, k)
    return b.net, b.net_km, b.net_ms


@dataclass(frozen=True)
class BestPops:
    """The ``k`` best healthy PoPs of every client, (n, k) arrays: under the network policy
    (``net``, their km and internet legs in ms) and, when asked, by WGS84 distance (``geo``,
    ``geo_km``: what :func:`dashboard.domain.routing.assign` returns). :data:`NO_ROUTE` / NaN
    where fewer PoPs are healthy."""

    net: np.ndarray
    net_km: np.ndarray
    net_ms: np.ndarray
    geo: np.ndarray | None = None
    geo_km: np.ndarray | None = None


def best_pops(cla: np.ndarray, clo: np.ndarray, pla: np.ndarray, plo: np.ndarray,
              terms: latency.Location, pop_terms: latency.Location,
              params: latency.LatencyParams, down: np.ndarray, k: int = 2,
              geographic: bool = False, net_k: int | None = None) -> BestPops:
    """:class:`BestPops` of validated clients and PoPs (degrees) with their latency terms.

    Network policy: the same answer to the bit as the first ``k`` healthy columns of
    ``network_ranking(pop_matrix(...))`` with their km and ``internet_ms``, without the exact
    distance to every PoP: per client, the internet leg of each healthy PoP is bounded from the
    auxiliary-sphere angle (:func:`geodesy.bounded_pairs`, ``b sigma <= s <= a sigma``) through
    the monotone model (:func:`internet_bounds_ms`); a PoP whose lower bound exceeds the k-th
    smallest upper bound has k PoPs strictly faster and cannot be among the k best. Only the
    others (about 2 of 19 for random clients) get an exact WGS84 distance and leg
    (:func:`latency.internet_rtt_ms_km`, the very function :func:`internet_matrix_ms` uses).

    ``geographic``: also the ``k`` nearest healthy PoPs, from the same angles and the same
    exact distances (a PoP whose lower distance bound exceeds the k-th smallest upper bound
    cannot be among the k nearest), ranked by (km, catalog order) -- the same answer to the bit
    as :func:`routing.assign`, which measures the same pairs with the same arithmetic
    (:func:`geodesy.nearest`), so one pass serves both policies' columns.
    ``net_k``: how many network-best PoPs (default ``k``): the geographic route table needs
    only the first (its ``network_pop_id`` and gap), and asking for one prunes against the
    smallest upper bound instead of the second smallest: fewer exact pairs (~2.3 instead of
    ~2.7 per random client with the 19 PoPs).
    ``tests/unit/test_network_pruned.py`` checks both identities on random and adversarial
    clients.
    """
    n = len(cla)
    down = np.asarray(down, dtype=bool)
    net_k = k if net_k is None else int(net_k)
    if k < 1 or net_k < 1:
        raise ValueError(f"k and net_k must be >= 1, got {k} and {net_k}")
    shape, net_shape = (n, k), (n, net_k)
    out = BestPops(np.full(net_shape, NO_ROUTE, dtype=np.int64), np.full(net_shape, np.nan),
                   np.full(net_shape, np.nan),
                   np.full(shape, NO_ROUTE, dtype=np.int64) if geographic else None,
                   np.full(shape, np.nan) if geographic else None)
    healthy = ~down
    kk = min(k, int(healthy.sum()))
    kk_net = min(net_k, int(healthy.sum()))
    if n == 0 or kk == 0:
        return out
    masks: dict[int, tuple[np.ndarray, np.ndarray | None]] = {}

    def choose(sl: slice, km_lo: np.ndarray, km_hi: np.ndarray) -> np.ndarray:
        block = latency.Location(*(np.asarray(getattr(terms, f))[sl] for f in (
            "region", "effect_ms", "slope_ms_per_1000km", "weight", "nearest_km")))  # views
        lo, hi = internet_bounds_ms(km_lo, km_hi, block, pop_terms, params)
        hi[down] = np.inf
        net = lo <= _kth_smallest(hi, kk_net)[None, :]
        net[down] = False
        geo = None
        if geographic:
            far = km_hi.copy()
            far[down] = np.inf
            geo = km_lo <= _kth_smallest(far, kk)[None, :]
            geo[down] = False
        masks[sl.start] = (net, geo)
        return net if geo is None else net | geo

    def top(sl: slice, rows: np.ndarray, keys: tuple,
            values: list[tuple[np.ndarray, np.ndarray]], kk: int) -> None:
        # client, then the keys (the last first), then catalog order; every client has >= kk
        # candidates. Pairs come ordered by PoP (bounded_pairs), and lexsort is stable, so the
        # catalog order needs no key; a tie on the main key alone is rare: sort on it first,
        # on every key only when two of a client's pairs tie.
        if all(np.isfinite(k).all() for k in keys):
            for j, pick in enumerate(_segment_best(rows, keys, sl.stop - sl.start, kk)):
                for dst, src in values:
                    dst[sl, j] = src[pick]
            return
        order = np.lexsort((keys[-1], rows))
        if len(keys) > 1:
            r, k = rows[order], keys[-1][order]
            if ((r[1:] == r[:-1]) & (k[1:] == k[:-1])).any():
                order = np.lexsort((*keys, rows))
        first = np.searchsorted(rows[order], np.arange(sl.stop - sl.start))
        for j in range(kk):
            pick = order[first + j]
            for dst, src in values:
                dst[sl, j] = src[pick]

    for sl, rows, cols, km in bounded_pairs(cla, clo, pla, plo, choose):
        net_mask, geo_mask = masks.pop(sl.start)
        if geo_mask is not None:
            sel = geo_mask[cols, rows]
            r, c, d = rows[sel], cols[sel], km[sel]
            top(sl, r, (d,), [(out.geo, c), (out.geo_km, d)], kk)
            sel = net_mask[cols, rows]
            rows, cols, km = rows[sel], cols[sel], km[sel]
        ms = latency.internet_rtt_ms_at(km, terms, sl.start + rows, pop_terms, cols, params)
        top(sl, rows, (km, ms), [(out.net, cols), (out.net_km, km), (out.net_ms, ms)], kk_net)
    return out


def _segment_best(rows: np.ndarray, keys: tuple, n: int, kk: int) -> list[np.ndarray]:
    """For clients ``0..n-1`` (each with at least ``kk`` pairs), the pair indices of their
    ``kk`` best pairs, best first: the order of ``np.lexsort((*keys, rows))`` (the last key
    first, then the others, then pair order) without sorting every pair -- per client the
    smallest remaining value of each key in turn (``minimum.reduceat`` over the client's
    pairs), the first such pair taken. Finite keys only (the caller checks)."""
    # pairs by client, each client's in pair order (a stable sort; of 16-bit keys when they
    # fit -- blocks of <= 16,384 clients -- numpy's radix sort, ~4x faster than of int64)
    o = np.argsort(rows.astype(np.int16) if n <= 2**15 else rows, kind="stable")
    seg = rows[o]
    starts = np.searchsorted(seg, np.arange(n))
    ks = [np.asarray(k)[o] for k in reversed(keys)]  # the main key first
    taken = np.zeros(len(o), dtype=bool)
    out = []
    for j in range(kk):
        cand = ~taken
        for i, k in enumerate(ks):
            v = k if j == 0 and i == 0 else np.where(cand, k, np.inf)  # nothing masked yet
            cand &= v == np.minimum.reduceat(v, starts)[seg]
        idx = np.flatnonzero(cand)
        s = seg[idx]
        first = idx[np.r_[True, s[1:] != s[:-1]]]  # one per client, client order
        taken[first] = True
        out.append(o[first])
    return out


def first_two(ranked: np.ndarray, ranked_km: np.ndarray, down: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(pop, pop_km, runner_up, runner_up_km)``: the first and second healthy PoPs of each
    row of a full ranking (n, m); :data:`NO_ROUTE` / NaN where there are none."""
    n, m = ranked.shape
    pop = np.full(n, NO_ROUTE, dtype=np.int64)
    runner = np.full(n, NO_ROUTE, dtype=np.int64)
    pop_km = np.full(n, np.nan)
    runner_km = np.full(n, np.nan)
    n_healthy = int((~down).sum())
    if n == 0 or m == 0 or n_healthy == 0:
        return pop, pop_km, runner, runner_km
    rows = np.arange(n)
    if not down.any():
        pop[:], pop_km[:] = ranked[:, 0], ranked_km[:, 0]
        if m > 1:
            runner[:], runner_km[:] = ranked[:, 1], ranked_km[:, 1]
        return pop, pop_km, runner, runner_km
    healthy = ~down[ranked]
    first = healthy.argmax(axis=1)
    pop[:], pop_km[:] = ranked[rows, first], ranked_km[rows, first]
    if n_healthy > 1:
        healthy[rows, first] = False
        second = healthy.argmax(axis=1)
        runner[:], runner_km[:] = ranked[rows, second], ranked_km[rows, second]
    return pop, pop_km, runner, runner_km


def flag_phrase(pop_label: str) -> str:
    """The words every view uses for a flagged client (explain panel, map hover)."""
    return f"⚑ BGP would likely hand this client to {pop_label}"


def flagged(policy: str, gap_ms: object) -> np.ndarray:
    """Boolean per client: the geographic policy sends it where BGP likely would not (the
    network-nearest PoP's internet leg is more than :data:`FLAG_GAP_MS` shorter). Never under
    the network policy (it already takes that PoP)."""
    if type(gap_ms) is float:  # one value (the API's one-point answer): no array round trip
        return np.bool_(policy == GEOGRAPHIC and gap_ms > FLAG_GAP_MS)  # NaN > x is False
    gap = np.asarray(gap_ms, dtype=float)
    if policy != GEOGRAPHIC:
        return np.zeros(gap.shape, dtype=bool)
    return np.nan_to_num(gap, nan=0.0) > FLAG_GAP_MS
