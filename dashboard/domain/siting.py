"""Where to add an access point: rank candidate sites by the demand-weighted RTT gain of adding
each one to the current PoP set (issue 20, part 2).

Question answered: "if one more access point opened at this spot, how much lower would the
demand-weighted mean anycast RTT be?", for a thousand candidate spots against tens of thousands
of demand points, in seconds. The answer is exactly what the normal routing would give if the
candidate were appended to the PoP arrays and every client routed again
(:func:`dashboard.domain.paths.client_paths`; ``tests/unit/test_siting.py`` checks it on a
sample, both policies), without routing every client again per candidate.

Why that is possible: adding a PoP never re-orders the existing ones, so a client either keeps
its current route or moves to the candidate. It moves when the candidate comes first in the
routing policy's order (:mod:`dashboard.domain.policy`):

* ``geographic``: the candidate is nearer (WGS84 km) than the client's current PoP (an exact
  tie keeps the current PoP: the candidate is appended last, and the routing takes the lower
  index on equal distances);
* ``network``: the candidate's internet leg is lower than the current one's (equal legs: the
  nearer one; equal again: the current one).

A mover's RTT is then the candidate's internet leg (:func:`latency.internet_rtt_ms_km`, the
very function the route table uses) plus the candidate's backbone leg to its origin
(:func:`latency.backbone_leg_ms`, PoP ingress overhead included), i.e. the route table's
``anycast_ms``. Access type (``params.access``) enters through the internet legs, as everywhere.

How it stays fast (and exact): most (client, candidate) pairs are far apart and cannot win. A
lower bound on the candidate's distance -- ``b * sigma`` on Bessel's auxiliary sphere, ``sigma``
the central angle from one ``(candidates x 3) @ (3 x clients)`` product
(:mod:`dashboard.domain.geodesy` proves ``b sigma <= s``) -- gives, per client, an angle beyond
which no candidate can win:

* geographic: ``s < pop_km`` needs ``sigma < pop_km / b``;
* network: the internet leg is at least the fibre floor ``2 s / fibre_km_per_ms`` plus
  ``max(0, overhead_ms + e_client + e_candidate)`` (the slope is clamped at the floor's slope),
  and at least ``overhead_ms + e_client + e_candidate + slope_min * s / 1000`` with the
  smallest slope the client could have towards any candidate; both before the access term,
  which is the same increasing map for every leg of one client. The pairs left get the formula
  at the lower-bound distance (non-decreasing in distance) as a second sieve.

Announcement bias (:mod:`dashboard.domain.bias`, docs/bias.md): the current routing is the
scenario's *biased* routing (:func:`dashboard.domain.paths.client_paths` with the scenario's
:class:`~dashboard.domain.bias.PopBias`), and a candidate -- new, so unbiased -- takes a client
when its selection metric beats the current PoP's *biased* one, exactly as the routing compares
them (:mod:`dashboard.domain.policy`): ``network``: internet leg < current internet leg + the
current PoP's ``bias.leg_ms`` (equal: the nearer; equal again: the current one); ``geographic``:
km < current km + the current PoP's ``bias.km`` (equal: the nearer; equal again: the current
one). :class:`Current` carries the per-client offsets (``bias_leg_ms``, ``bias_km``; 0 without a
bias, a mover's is 0 once it sits at a candidate) and the sieves bound with the biased metric.
RTTs stay the real ones: a bias changes selection only.

Only pairs inside that angle (a few per cent) get the exact WGS84 distance and the exact
internet leg. Candidates are processed in chunks so the ``(chunk, clients)`` matrix stays
bounded (:data:`CHUNK_ELEMENTS` float64 values, ~64 MB).

Gain: demand-weighted mean anycast RTT of the clients served now minus the same after adding
the candidate, over the clients served after (with every PoP and endpoint up, the same clients).
A candidate whose clients had no healthy PoP (or whose endpoint is down) changes the served
demand: ``served_change`` (in the unit of the weights) says by how much, and
:func:`best_order` ranks served demand first, then the gain.

Caveats (also in ``docs/planning.md``): the ranking is latency-only (a candidate's capacity,
price and whether the provider could open a PoP there are not part of it); under the network
policy a client moves for a lower internet leg even when the candidate's backbone is longer, so
a candidate's gain can be negative; real BGP catchments are not the model's.

Pure: numpy only. Units: degrees in; km and round-trip ms out; weights in any unit (demand).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from dashboard.domain import latency
from dashboard.domain import policy as pol
from dashboard.domain import geodesy
from dashboard.domain.bias import PopBias
from dashboard.domain.geodesy import WGS84_B_KM, WGS84_F, validate_coords
from dashboard.domain.paths import pop_legs
from dashboard.domain.stats import weighted_quantile

#: float64 values of one ``(candidates, clients)`` block (~64 MB): 34,000 clients -> ~240
#: candidates per chunk. Bounds memory whatever the number of candidates.
CHUNK_ELEMENTS = 8_000_000
#: Slack (radians) on the angle test: covers rounding of the dot products (~1e-8 rad near 0).
#: Only adds pairs to measure exactly, never drops one.
_SIGMA_SLACK = 1e-6
#: Relative and absolute slack (ms) on the network test's RTT bound, for the same reason.
_MS_SLACK = 1e-6

ProgressFn = Callable[[float, str], None]


@dataclass(frozen=True)
class Current:
    """Per-client state of the current routing (arrays of one length, client order).

    ``pop_km``: WGS84 km to the chosen PoP (NaN: no healthy PoP); ``internet_ms``: the chosen
    PoP's internet leg (NaN: no healthy PoP); ``rtt_ms``: the anycast RTT (NaN: not served --
    no route, or the PoP's endpoint is down). Exactly the route table's ``pop_km``,
    ``internet_ms`` and ``anycast_ms`` columns (:func:`from_table`).

    ``bias_leg_ms`` / ``bias_km``: the chosen PoP's announcement bias as the routing adds it to
    the selection metric -- ms of the internet leg (``PopBias.leg_ms``, network policy) and the
    equivalent km (``PopBias.km``, geographic policy); None = no bias (zeros). Selection only:
    never part of an RTT (module docstring)."""

    pop_km: np.ndarray
    internet_ms: np.ndarray
    rtt_ms: np.ndarray
    bias_leg_ms: np.ndarray | None = None
    bias_km: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.pop_km)

    @property
    def biased(self) -> bool:
        """Whether any client's current PoP has a bias."""
        return self.bias_leg_ms is not None or self.bias_km is not None

    def select_ms(self, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
        """The network policy's selection metric of the current PoP (ms): internet leg + its
        bias, computed as :func:`dashboard.domain.policy.network_ranking` does (same floats)."""
        if self.bias_leg_ms is None:
            return self.internet_ms[rows]
        return self.internet_ms[rows] + self.bias_leg_ms[rows]

    def select_km(self, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
        """The geographic policy's selection metric of the current PoP (km): WGS84 km + its
        bias's equivalent km (:func:`dashboard.domain.policy.geographic_ranking`'s floats)."""
        if self.bias_km is None:
            return self.pop_km[rows]
        return self.pop_km[rows] + self.bias_km[rows]

    def take(self, rows: np.ndarray) -> "Current":
        """The clients at ``rows`` (copies)."""
        return Current(self.pop_km[rows], self.internet_ms[rows], self.rtt_ms[rows],
                       None if self.bias_leg_ms is None else self.bias_leg_ms[rows],
                       None if self.bias_km is None else self.bias_km[rows])

    def copy(self) -> "Current":
        """A copy whose arrays can be written."""
        return Current(self.pop_km.copy(), self.internet_ms.copy(), self.rtt_ms.copy(),
                       None if self.bias_leg_ms is None else self.bias_leg_ms.copy(),
                       None if self.bias_km is None else self.bias_km.copy())


def from_table(table, bias: PopBias | None = None,
               pop_ids: Sequence[str] | None = None) -> Current:
    """:class:`Current` from a route table (:func:`dashboard.domain.paths.client_paths`, or
    any table with ``pop_km``, ``internet_ms``, ``anycast_ms``; a DataFrame or a mapping).

    ``bias``: the :class:`~dashboard.domain.bias.PopBias` the table was routed with (over
    ``pop_ids``, the PoP list of the routing, matched against the table's ``pop_id``): each
    client then carries its PoP's bias offsets. None: no bias."""
    cur = Current(np.asarray(table["pop_km"], dtype=float).copy(),
                  np.asarray(table["internet_ms"], dtype=float).copy(),
                  np.asarray(table["anycast_ms"], dtype=float).copy())
    if bias is None:
        return cur
    if pop_ids is None or len(pop_ids) != len(bias.ms):
        raise ValueError("a biased route table needs the PoP ids its bias is bound to")
    index = {str(p): i for i, p in enumerate(pop_ids)}
    ids = np.asarray(table["pop_id"], dtype=object)
    at = np.array([index.get(str(p), -1) for p in ids], dtype=np.int64)
    ok = at >= 0
    safe = np.where(ok, at, 0)
    leg = np.where(ok, bias.leg_ms[safe], 0.0)
    km = np.where(ok, bias.km[safe], 0.0)
    return Current(cur.pop_km, cur.internet_ms, cur.rtt_ms, leg, km)


@dataclass(frozen=True)
class Gains:
    """One value per candidate (candidate order). RTTs in ms; demand in the weights' unit.

    ``mean_before_ms``: demand-weighted mean RTT of the clients served now (one number);
    ``mean_after_ms``: the same over the clients served after adding the candidate;
    ``gain_ms``: ``mean_before_ms - mean_after_ms`` (> 0: better);
    ``clients_moving`` / ``demand_moving``: clients (count) and demand that would enter at the
    candidate; ``served_change``: demand served after minus before (0 unless some clients had
    no route or the candidate's endpoint is down)."""

    mean_before_ms: float
    mean_after_ms: np.ndarray
    gain_ms: np.ndarray
    clients_moving: np.ndarray
    demand_moving: np.ndarray
    served_change: np.ndarray

    def __len__(self) -> int:
        return len(self.gain_ms)


@dataclass(frozen=True)
class Moves:
    """Sparse (client, candidate) pairs where the client would move to the candidate, with the
    pair's WGS84 km, the candidate's internet leg and the mover's new anycast RTT (NaN when the
    candidate's endpoint is down). Candidate indices are global (not per chunk)."""

    client: np.ndarray
    candidate: np.ndarray
    km: np.ndarray
    internet_ms: np.ndarray
    rtt_ms: np.ndarray


@dataclass(frozen=True)
class Sites:
    """Candidate sites prepared once: coordinates (degrees), latency location terms, backbone
    leg to their origin (ms, PoP ingress overhead included; NaN = endpoint down) and their
    auxiliary-sphere unit vectors (m, 3)."""

    lats: np.ndarray
    lons: np.ndarray
    terms: latency.Location
    backbone_ms: np.ndarray
    xyz: np.ndarray

    def __len__(self) -> int:
        return len(self.lats)


def aux_unit_vectors(lat_deg: np.ndarray, lon_deg: np.ndarray) -> np.ndarray:
    """``(n, 3)`` unit vectors on Bessel's auxiliary sphere (reduced latitude ``beta``,
    ``tan beta = (1 - f) tan lat``): the sphere on which ``b * sigma <= s`` holds
    (:mod:`dashboard.domain.geodesy`, module docstring)."""
    phi = np.radians(np.asarray(lat_deg, dtype=float))
    e2 = WGS84_F * (2 - WGS84_F)
    s, c = np.sin(phi), np.cos(phi)
    inv = 1.0 / np.sqrt(1.0 - e2 * s * s)
    sb, cb = (1.0 - WGS84_F) * s * inv, c * inv
    lam = np.radians(np.asarray(lon_deg, dtype=float))
    return np.stack([cb * np.cos(lam), cb * np.sin(lam), sb], axis=-1)


def prepare_sites(lats: object, lons: object, origin_lat: object, origin_lon: object,
                  params: latency.LatencyParams) -> Sites:
    """Candidate sites (degrees) with their location terms and their backbone leg to
    ``origin_lat``/``origin_lon`` (scalars: one origin for every candidate -- the Default
    endpoint's region, where a new PoP's traffic goes unless mapped elsewhere; or one per
    candidate; NaN = endpoint down). ``ValueError`` names a bad coordinate."""
    la, lo = validate_coords(lats, lons, "candidate")
    bb, _km = pop_legs(la, lo, origin_lat, origin_lon, params)
    return Sites(la, lo, latency.locate(la, lo, params), bb, aux_unit_vectors(la, lo))


def _client_limits(current: Current, terms: latency.Location, sites: Sites,
                   params: latency.LatencyParams, policy: str,
                   idx: np.ndarray | None = None) -> np.ndarray:
    """Per client, the largest auxiliary-sphere angle (radians) at which some candidate of
    ``sites`` (those at ``idx``; all by default) could still take the client (module
    docstring); ``pi`` where any can (no route)."""
    if idx is not None:
        sites = Sites(sites.lats[idx], sites.lons[idx], latency.take_location(sites.terms, idx),
                      sites.backbone_ms[idx], sites.xyz[idx])
    lim_km = np.full(len(current), np.inf)
    routed = np.isfinite(current.pop_km)
    if policy == pol.NETWORK:
        # The data-centre leg of the current route's selection metric (its internet leg + its
        # bias's leg ms: a candidate must beat that). Undo the client's own access term: it is
        # the same increasing map on every leg of this client (and the bias's leg ms are the
        # data-centre ms times the same factor), so it cancels in the comparison.
        cur = current.select_ms()
        if params.access == "end-user":
            add = params.access_ms + params._arr["acc_reg"][terms.region]
            cur = (cur - add) / params.access_factor
        cur = _up(cur)
        e_min = float(np.min(sites.terms.effect_ms)) if len(sites) else 0.0
        fixed_raw = params.overhead_ms + terms.effect_ms + e_min
        # (1) the fibre floor plus the fixed part: leg >= floor(d) + max(0, fixed)
        lim_floor = np.maximum(cur - np.maximum(0.0, fixed_raw), 0.0) * params.fibre_km_per_ms / 2
        # (2) the slope: leg >= fixed + max(slope_min, floor slope) * d / 1000, where slope_min
        # is the client's smallest slope towards any candidate's region plus the smallest
        # candidate term towards the client's region (a sum of minima <= the minimum of sums).
        lim_slope = np.full(len(current), np.inf)
        if len(sites):
            a = params._arr
            cand_regions = np.unique(sites.terms.region)
            to_cands = (a["S"][terms.region][:, cand_regions]
                        + terms.slope_ms_per_1000km[:, cand_regions]).min(axis=1)
            from_cands = sites.terms.slope_ms_per_1000km.min(axis=0)[terms.region]
            slope_min = np.maximum(params.inflation_scale * (to_cands + from_cands),
                                   2000.0 / params.fibre_km_per_ms)
            lim_slope = np.maximum(cur - fixed_raw, 0.0) * 1000.0 / slope_min
        lim_km = np.where(routed, np.minimum(lim_floor, lim_slope), np.inf)
    else:
        # km + the current PoP's bias km (a bonus can make it < 0: nothing beats it then but
        # the exact test decides; the clamp keeps the angle meaningful).
        sel = current.select_km()
        lim_km = np.where(routed, np.maximum(sel + _MS_SLACK * (1 + np.abs(sel)), 0.0), np.inf)
    sigma = lim_km / WGS84_B_KM + _SIGMA_SLACK
    return np.minimum(sigma, math.pi)


def _up(x: np.ndarray) -> np.ndarray:
    """``x`` nudged up by the slack (relative and absolute; works for negative values, which a
    bias bonus can give)."""
    return x + _MS_SLACK * (1.0 + np.abs(x))


def _moves_chunk(idx: np.ndarray, dots: np.ndarray, cos_lim: np.ndarray, cla: np.ndarray,
                 clo: np.ndarray, current: Current, terms: latency.Location, sites: Sites,
                 params: latency.LatencyParams, policy: str) -> Moves:
    """The moves of candidates ``idx`` (global indices; ``dots``: their (k, n)
    auxiliary-sphere dot products with every client)."""
    ci, ni = np.nonzero(dots >= cos_lim[None, :])
    no_route = ~np.isfinite(current.pop_km[ni])
    if policy == pol.NETWORK and len(ci):
        # Second sieve, per pair: the internet leg at the lower-bound distance b * sigma (the
        # formula is non-decreasing in distance for fixed terms) must not exceed the current
        # leg; only the pairs left get an exact distance.
        sigma = np.arccos(np.clip(dots[ci, ni], -1.0, 1.0)) - _SIGMA_SLACK
        d_lo = WGS84_B_KM * np.maximum(sigma, 0.0)
        lo = _internet(d_lo, ni, idx[ci], terms, sites, params)
        keep = no_route | (lo <= _up(current.select_ms(ni)))
        ci, ni, no_route = ci[keep], ni[keep], no_route[keep]
    ci = idx[ci]
    km = _exact_km(cla[ni], clo[ni], sites.lats[ci], sites.lons[ci])
    if policy == pol.NETWORK:
        inet = _internet(km, ni, ci, terms, sites, params)
        # the candidate's metric is its bare leg (no bias: it is new); ties nearer, then the
        # current PoP (the candidate comes last in the PoP list)
        cur, cur_km = current.select_ms(ni), current.pop_km[ni]
        win = no_route | (inet < cur) | ((inet == cur) & (km < cur_km))
        ci, ni, km, inet = ci[win], ni[win], km[win], inet[win]
    else:
        cur, cur_km = current.select_km(ni), current.pop_km[ni]
        win = no_route | (km < cur) | ((km == cur) & (km < cur_km))
        ci, ni, km = ci[win], ni[win], km[win]
        inet = _internet(km, ni, ci, terms, sites, params)
    return Moves(ni, ci, km, inet, inet + sites.backbone_ms[ci])


def _exact_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray,
              lon2: np.ndarray) -> np.ndarray:
    """WGS84 km of each pair by the vectorised Vincenty (geographiclib near antipodes) that
    :func:`geodesy.nearest` -- hence the routing -- uses, whatever the number of pairs:
    :func:`geodesy.geodesic_km` hands 64 pairs or fewer to PROJ, whose last bits differ, and
    the answer would then depend on how the candidates were chunked."""
    out = np.empty(len(lat1))
    for s0 in range(0, len(lat1), geodesy._CHUNK):
        e = slice(s0, s0 + geodesy._CHUNK)
        su1, cu1 = geodesy._reduced(lat1[e])
        su2, cu2 = geodesy._reduced(lat2[e])
        out[e] = geodesy._exact_km(su1, cu1, lat1[e], lon1[e], su2, cu2, lat2[e], lon2[e])
    return out


def _internet(km: np.ndarray, ni: np.ndarray, ci: np.ndarray, terms: latency.Location,
              sites: Sites, params: latency.LatencyParams) -> np.ndarray:
    """Internet leg (ms) of client ``ni[j]`` to candidate ``ci[j]`` at ``km[j]``: the terms of
    :func:`latency.internet_rtt_ms_km` (data-centre formula, then the client's access term),
    picked per pair without copying each point's whole per-region slope row (a test checks
    the two agree to the bit)."""
    if len(km) == 0:
        return np.empty(0)
    rc, rp = terms.region[ni], sites.terms.region[ci]
    mid = latency.rtt_formula_ms(km, rc, rp, terms.effect_ms[ni], sites.terms.effect_ms[ci],
                                 terms.slope_ms_per_1000km[ni, rp],
                                 sites.terms.slope_ms_per_1000km[ci, rc], params)
    if params.access == "datacenter":
        return np.asarray(mid, dtype=float)
    return latency.access_rtt_ms(mid, rc, params)


def moves(client_lats: object, client_lons: object, current: Current, sites: Sites,
          params: latency.LatencyParams, policy: str = pol.GEOGRAPHIC, *,
          terms: latency.Location | None = None, chunk_elements: int = CHUNK_ELEMENTS,
          progress: ProgressFn | None = None) -> Moves:
    """Every (client, candidate) pair where the client would enter at the candidate if that
    candidate alone were added (module docstring). ``terms``: the clients' location terms
    (:func:`latency.locate`; computed when not given). Chunked over candidates;
    ``progress(fraction, text)`` after each chunk."""
    policy = pol.check_policy(policy)
    cla, clo = validate_coords(client_lats, client_lons, "client")
    n, m = len(cla), len(sites)
    if len(current) != n:
        raise ValueError(f"current routing has {len(current)} clients, expected {n}")
    if terms is None:
        terms = latency.locate(cla, clo, params)
    parts: list[Moves] = []
    if n and m:
        cxyz = np.ascontiguousarray(aux_unit_vectors(cla, clo).T)       # (3, n)
        step = max(1, int(chunk_elements) // max(n, 1))
        # The network policy's bound depends on the candidates' region (the slope towards it):
        # candidates are taken region by region, each group with its own per-client limit.
        if policy == pol.NETWORK:
            order = np.argsort(sites.terms.region, kind="stable")
            cuts = np.flatnonzero(np.diff(sites.terms.region[order])) + 1
            groups = np.split(order, cuts)
        else:
            groups = [np.arange(m)]
        done = 0
        for group in groups:
            cos_lim = np.cos(_client_limits(current, terms, sites, params, policy,
                                            group if len(groups) > 1 else None)) - 1e-14
            for g0 in range(0, len(group), step):
                idx = group[g0:g0 + step]
                # einsum, not matmul: a 3-deep product gains nothing from BLAS
                # (geodesy.nearest).
                dots = np.einsum("mk,kn->mn", sites.xyz[idx], cxyz)
                parts.append(_moves_chunk(idx, dots, cos_lim, cla, clo, current, terms, sites,
                                          params, policy))
                del dots
                done += len(idx)
                if progress is not None:
                    progress(done / m, f"{done:,} of {m:,} candidate sites")
    if not parts:
        e = np.empty(0)
        return Moves(np.empty(0, np.int64), np.empty(0, np.int64), e, e, e)
    return Moves(*(np.concatenate([getattr(p, f) for p in parts])
                   for f in ("client", "candidate", "km", "internet_ms", "rtt_ms")))


def gains(current: Current, weights: object, mv: Moves, n_candidates: int) -> Gains:
    """Per-candidate gains (:class:`Gains`) from the moves ``mv`` (:func:`moves`)."""
    w = np.asarray(weights, dtype=float)
    if w.shape != current.rtt_ms.shape:
        raise ValueError(f"weights have shape {w.shape}, expected {current.rtt_ms.shape}")
    served0 = np.isfinite(current.rtt_ms)
    w0 = float(w[served0].sum())
    s0 = float((w[served0] * current.rtt_ms[served0]).sum())
    mean0 = s0 / w0 if w0 > 0 else math.nan
    wc = w[mv.client]
    was = served0[mv.client]
    now = np.isfinite(mv.rtt_ms)
    k = int(n_candidates)

    def per(values: np.ndarray) -> np.ndarray:
        return np.bincount(mv.candidate, weights=values, minlength=k)[:k]

    d_w = per(np.where(now, wc, 0.0)) - per(np.where(was, wc, 0.0))
    d_s = (per(np.where(now, wc * np.nan_to_num(mv.rtt_ms), 0.0))
           - per(np.where(was, wc * np.nan_to_num(current.rtt_ms[mv.client]), 0.0)))
    with np.errstate(invalid="ignore", divide="ignore"):
        after = np.where(w0 + d_w > 0, (s0 + d_s) / (w0 + d_w), np.nan)
    return Gains(mean0, after, mean0 - after,
                 np.bincount(mv.candidate, minlength=k)[:k].astype(np.int64),
                 per(wc), d_w)


def best_order(g: Gains) -> np.ndarray:
    """Candidate indices best first: more demand served first, then the larger gain, then the
    more demand moving, then candidate order (stable). NaN gains last."""
    gain = np.nan_to_num(g.gain_ms, nan=-np.inf)
    served = np.round(g.served_change, 9)
    return np.lexsort((-g.demand_moving, -gain, -served))


def apply_moves(current: Current, mv: Moves, candidate: int) -> Current:
    """The routing after adding ``candidate``: its movers take its km, internet leg and RTT."""
    sel = mv.candidate == candidate
    rows = mv.client[sel]
    out = current.copy()
    out.pop_km[rows] = mv.km[sel]
    out.internet_ms[rows] = mv.internet_ms[sel]
    out.rtt_ms[rows] = mv.rtt_ms[sel]
    for offset in (out.bias_leg_ms, out.bias_km):  # a candidate has no bias
        if offset is not None:
            offset[rows] = 0.0
    return out


def _remeasure(cla: np.ndarray, clo: np.ndarray, cur: Current, mv: Moves, pick: int,
               sites: Sites, params: latency.LatencyParams, policy: str,
               terms: latency.Location, chunk_elements: int) -> Moves:
    """The moves against ``cur`` (the routing with ``pick`` just added) from those against the
    routing before (``mv``): pairs of clients that did not move to ``pick`` are unchanged;
    the clients that did are measured again against their new route."""
    changed = np.zeros(len(cla), dtype=bool)
    changed[mv.client[mv.candidate == pick]] = True
    keep = ~changed[mv.client]
    sub = np.flatnonzero(changed)
    part = moves(cla[sub], clo[sub], cur.take(sub), sites, params, policy,
                 terms=latency.take_location(terms, sub), chunk_elements=chunk_elements)
    return Moves(np.concatenate([mv.client[keep], sub[part.client]]),
                 *(np.concatenate([getattr(mv, f)[keep], getattr(part, f)])
                   for f in ("candidate", "km", "internet_ms", "rtt_ms")))


@dataclass(frozen=True)
class Ranking:
    """What :func:`rank_sites` answers: the per-candidate :class:`Gains`, the candidate order
    best first, the weighted p95 RTT before and after for the first ``top`` candidates
    (``p95_after_ms[i]`` belongs to ``order[i]``; ms), and the greedy set: candidate indices
    added one after the other (each the best given the ones before), the mean RTT after each
    step and the combined gain (ms) after each step."""

    gains: Gains
    order: np.ndarray
    p95_before_ms: float
    p95_after_ms: np.ndarray
    greedy: tuple[int, ...]
    greedy_mean_ms: tuple[float, ...]
    greedy_gain_ms: tuple[float, ...]


def rank_sites(client_lats: object, client_lons: object, weights: object, current: Current,
               sites: Sites, params: latency.LatencyParams, policy: str = pol.GEOGRAPHIC, *,
               terms: latency.Location | None = None, top: int = 10, greedy: int = 3,
               chunk_elements: int = CHUNK_ELEMENTS,
               progress: ProgressFn | None = None) -> Ranking:
    """Rank candidate ``sites`` by the gain of adding each alone to the routing ``current``
    of clients (degrees) weighted by ``weights`` (demand), and pick ``greedy`` (0-3) of them
    greedily: the best, then the best given it, and so on (each step routes the candidates
    against the routing with the previous picks added; a step that gains nothing stops).

    The weighted p95 (:func:`stats.weighted_quantile`) is computed for the first ``top``
    candidates only (it needs every client's RTT after). ``progress(fraction, text)``: the
    first ranking is 0-70 %, the greedy steps the rest.
    """
    policy = pol.check_policy(policy)
    cla, clo = validate_coords(client_lats, client_lons, "client")
    w = np.asarray(weights, dtype=float)
    if terms is None:
        terms = latency.locate(cla, clo, params)
    steps = max(0, min(int(greedy), 3))

    def stage(lo: float, hi: float, what: str) -> ProgressFn | None:
        if progress is None:
            return None
        return lambda f, t: progress(lo + (hi - lo) * f, f"{what}: {t}")

    mv = moves(cla, clo, current, sites, params, policy, terms=terms,
               chunk_elements=chunk_elements, progress=stage(0.0, 0.7, "ranking"))
    g = gains(current, w, mv, len(sites))
    order = best_order(g)
    p95_0 = weighted_quantile(current.rtt_ms, w, 0.95)
    first = order[: max(0, int(top))]
    p95 = np.array([weighted_quantile(apply_moves(current, mv, int(c)).rtt_ms, w, 0.95)
                    for c in first])
    picks: list[int] = []
    means: list[float] = []
    cur, cur_mv, cur_g = current, mv, g
    for k in range(steps):
        best = next((int(c) for c in best_order(cur_g) if int(c) not in picks), None)
        if best is None or not (cur_g.gain_ms[best] > 0 or cur_g.served_change[best] > 0):
            break
        picks.append(best)
        means.append(float(cur_g.mean_after_ms[best]))
        if k + 1 < steps:
            # Only the clients that moved to the pick have a new routing: every other
            # (client, candidate) move stands as it was; re-measure the movers' ones alone.
            cur = apply_moves(cur, cur_mv, best)
            cur_mv = _remeasure(cla, clo, cur, cur_mv, best, sites, params, policy, terms,
                                chunk_elements)
            cur_g = gains(cur, w, cur_mv, len(sites))
            if progress is not None:
                progress(0.7 + 0.3 * (k + 1) / max(steps - 1, 1), f"greedy step {k + 2}")
    if progress is not None:
        progress(1.0, "done")
    return Ranking(g, order, p95_0, p95, tuple(picks), tuple(means),
                   tuple(g.mean_before_ms - m for m in means))
