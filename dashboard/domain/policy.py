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
from dashboard.domain.geodesy import nearest
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
    gap = np.asarray(gap_ms, dtype=float)
    if policy != GEOGRAPHIC:
        return np.zeros(gap.shape, dtype=bool)
    return np.nan_to_num(gap, nan=0.0) > FLAG_GAP_MS
