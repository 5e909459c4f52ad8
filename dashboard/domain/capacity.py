"""Capacity planning: load per access point, throttling (or the spill-over what-if),
catchments and N-1 analysis.

Units: demand in the user's unit (requests/s, Mbps, people: whatever the weights are), capacity in
the same unit, RTT in ms, coordinates in degrees. Routing is geographic: every client's PoPs are
ranked once by WGS84 geodesic distance, and every what-if (a PoP down, an overload) walks that
ranking, so 19 N-1 scenarios cost one ranking plus array indexing.

Default rule, *throttle* (:func:`throttle`; stated in the UI too): demand goes to the nearest
healthy PoP and stays there. BGP anycast does not move traffic away from a PoP because it is
loaded, so a PoP whose demand exceeds its capacity serves up to its capacity and the excess is
*throttled* (dropped or congested: packet loss and queueing for every client of that PoP, shed
proportionally here). Demand with no healthy PoP is unserved (no route). Moving load away is a
what-if the user chooses: mark the PoP down (withdraw it) or remap endpoints.

What-if rule, *spill-over* (:func:`spill_over`, only when the user asks for "what if the provider
re-routed overload"; not documented product behaviour): demand goes to the nearest healthy PoP. A
PoP whose
incoming demand exceeds its remaining capacity accepts the same fraction of every client's demand
(proportional shedding) and the excess moves on to each client's next-ranked healthy PoP, which
accepts it only as far as it has headroom; this repeats down the ranking. Demand left when a
client's ranking is exhausted is *unserved*. Total demand = served + unserved, always.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from dashboard.domain.routing import NO_ROUTE
from dashboard.domain.stats import weighted_quantile


def first_healthy(ranked: np.ndarray, down: np.ndarray) -> np.ndarray:
    """For each client, the first PoP of its ranking that is not down (``NO_ROUTE`` if none).

    ``ranked`` is (n, m) PoP indices nearest first (m = every PoP); ``down`` a mask over PoPs.
    """
    ranked = np.asarray(ranked)
    if ranked.size == 0:
        return np.full(len(ranked), NO_ROUTE, dtype=np.int64)
    ok = ~np.asarray(down, dtype=bool)[ranked]
    col = np.argmax(ok, axis=1)
    pick = ranked[np.arange(len(ranked)), col]
    return np.where(ok.any(axis=1), pick, NO_ROUTE).astype(np.int64)


def load_per_pop(pop: np.ndarray, weights: np.ndarray, n_pops: int) -> np.ndarray:
    """Total demand attracted by each PoP (clients with ``NO_ROUTE`` count nowhere)."""
    pop = np.asarray(pop)
    ok = pop != NO_ROUTE
    return np.bincount(pop[ok], weights=np.asarray(weights, dtype=float)[ok], minlength=n_pops)


@dataclass(frozen=True)
class SpillResult:
    """Outcome of a serving rule (:func:`throttle` or :func:`spill_over`).

    ``load`` is demand accepted per PoP (never above its capacity), ``nominal`` the demand each PoP
    would attract with unlimited capacity, ``unserved`` per client (throttled or no route),
    ``throttled`` per PoP (demand that reached it above its capacity and was not served: the
    throttle rule; zeros under spill-over, where the excess moves on), and ``spilled`` the demand of
    each client served somewhere other than its nearest healthy PoP. ``flows[i, j]`` is demand
    whose nearest healthy PoP is ``i`` and which is served at ``j`` (the diagonal is demand served
    where it arrived; ``flows.sum(axis=0) == load``); ``served_at`` (per client) the PoP that
    served most of its demand (``NO_ROUTE`` if none).
    """

    load: np.ndarray
    nominal: np.ndarray
    unserved: np.ndarray
    spilled: np.ndarray
    flows: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    served_at: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    throttled: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def total_unserved(self) -> float:
        return float(self.unserved.sum())

    @property
    def total_throttled(self) -> float:
        return float(self.throttled.sum())


def _check(w: np.ndarray, cap: np.ndarray) -> None:
    if np.any(w < 0) or not np.all(np.isfinite(w)):
        raise ValueError("weights must be finite and >= 0")
    if np.any(cap < 0) or np.any(np.isnan(cap)):
        raise ValueError("capacities must be >= 0 (use inf for unlimited)")


def throttle(ranked: np.ndarray, weights: np.ndarray, capacity: np.ndarray,
             down: np.ndarray | None = None) -> SpillResult:
    """The default rule (module docstring): every client stays at its nearest healthy PoP; a PoP
    serves ``min(demand, capacity)`` and throttles the rest, the same fraction of each of its
    clients' demand. ``capacity`` per PoP (``inf`` = unlimited); nothing is ever spilled.
    Total demand = served + throttled + no route."""
    ranked = np.asarray(ranked)
    w = np.asarray(weights, dtype=float)
    cap = np.asarray(capacity, dtype=float)
    _check(w, cap)
    n_pops = len(cap)
    down_mask = np.zeros(n_pops, dtype=bool) if down is None else np.asarray(down, dtype=bool)
    pop = first_healthy(ranked, down_mask) if ranked.size else np.full(len(w), NO_ROUTE)
    nominal = load_per_pop(pop, w, n_pops)
    load = np.minimum(nominal, cap)
    frac = np.divide(load, nominal, out=np.ones(n_pops), where=nominal > 0)
    routed = pop != NO_ROUTE
    safe = np.where(routed, pop, 0)
    unserved = np.where(routed, w * (1.0 - frac[safe]), w)
    flows = np.diag(load)
    served_at = np.where(routed & (frac[safe] > 0), pop, NO_ROUTE).astype(np.int64)
    return SpillResult(load=load, nominal=nominal, unserved=unserved, spilled=np.zeros(len(w)),
                       flows=flows, served_at=served_at, throttled=nominal - load)


def serve(ranked: np.ndarray, weights: np.ndarray, capacity: np.ndarray,
          down: np.ndarray | None = None, spill: bool = False) -> SpillResult:
    """:func:`throttle` (default, what BGP anycast does) or, when the user asks for the what-if,
    :func:`spill_over`."""
    return (spill_over if spill else throttle)(ranked, weights, capacity, down)


def spill_over(ranked: np.ndarray, weights: np.ndarray, capacity: np.ndarray,
               down: np.ndarray | None = None) -> SpillResult:
    """The spill-over *what-if* (module docstring; not what BGP anycast does).
    ``capacity`` per PoP (``inf`` = unlimited)."""
    ranked = np.asarray(ranked)
    w = np.asarray(weights, dtype=float)
    cap = np.asarray(capacity, dtype=float)
    n_pops = len(cap)
    _check(w, cap)
    down_mask = np.zeros(n_pops, dtype=bool) if down is None else np.asarray(down, dtype=bool)
    # Each client's healthy PoPs, nearest first, packed to the left.
    healthy = ~down_mask[ranked] if ranked.size else np.zeros(ranked.shape, dtype=bool)
    order = np.argsort(~healthy, axis=1, kind="stable")
    packed = np.take_along_axis(ranked, order, axis=1) if ranked.size else ranked
    n_healthy = healthy.sum(axis=1) if ranked.size else np.zeros(len(w), dtype=int)
    headroom = cap.copy()
    load = np.zeros(n_pops)
    remaining = w.copy()
    at_nearest = np.zeros(len(w))
    nominal = load_per_pop(first_healthy(ranked, down_mask), w, n_pops)
    flows = np.zeros((n_pops, n_pops))
    best = np.zeros(len(w))
    served_at = np.full(len(w), NO_ROUTE, dtype=np.int64)
    nearest = packed[:, 0] if packed.ndim == 2 and packed.shape[1] else np.zeros(0, dtype=int)
    for r in range(packed.shape[1] if packed.ndim == 2 else 0):
        active = (r < n_healthy) & (remaining > 0)
        if not active.any():
            break
        pops = packed[active, r]
        incoming = np.bincount(pops, weights=remaining[active], minlength=n_pops)
        accepted = np.minimum(incoming, headroom)
        frac = np.divide(accepted, incoming, out=np.ones(n_pops), where=incoming > 0)
        got = remaining[active] * frac[pops]
        if r == 0:
            at_nearest[active] = got
        np.add.at(flows, (nearest[active], pops), got)
        better = got > best[active]
        idx = np.flatnonzero(active)[better]
        best[idx], served_at[idx] = got[better], pops[better]
        remaining[active] = remaining[active] * (1.0 - frac[pops])
        load += accepted
        headroom -= accepted
    spilled = np.clip(w - remaining - at_nearest, 0, None)
    return SpillResult(load=load, nominal=nominal, unserved=remaining, spilled=spilled,
                       flows=flows, served_at=served_at, throttled=np.zeros(n_pops))


def catchment_grid(step_deg: float, pop_lats: np.ndarray, pop_lons: np.ndarray,
                   down: np.ndarray | None = None, policy: str = "geographic",
                   params: object = None, bias: object = None
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cell centres of a ``step_deg`` lat/lon grid and the nearest healthy PoP of each.

    Idealised catchments (geography only, WGS84 geodesic); ``NO_ROUTE`` where every PoP is down.
    ``policy`` ``network`` (:mod:`dashboard.domain.policy`): the healthy PoP with the lowest
    modelled internet leg instead, under latency parameters ``params`` (required then).
    ``bias``: a :class:`dashboard.domain.bias.PopBias` both policies rank with
    (:func:`dashboard.domain.policy.rank_all`); None = none.
    """
    from dashboard.domain import latency
    from dashboard.domain import policy as pol
    from dashboard.domain.routing import assign

    if not 0.25 <= step_deg <= 30:
        raise ValueError(f"grid step {step_deg} deg is outside [0.25, 30]")
    lats = np.arange(-90 + step_deg / 2, 90, step_deg)
    lons = np.arange(-180 + step_deg / 2, 180, step_deg)
    glat, glon = (a.ravel() for a in np.meshgrid(lats, lons, indexing="ij"))
    if bias is not None:
        pla, plo = np.asarray(pop_lats, dtype=float), np.asarray(pop_lons, dtype=float)
        mask = np.zeros(len(pla), dtype=bool) if down is None else np.asarray(down, dtype=bool)
        ranked = pol.rank_all(glat, glon, pla, plo, policy,
                              params if isinstance(params, latency.LatencyParams) else None,
                              bias)  # type: ignore[arg-type]
        return glat, glon, first_healthy(ranked, mask)
    if pol.check_policy(policy) == pol.NETWORK:
        if not isinstance(params, latency.LatencyParams):
            raise ValueError("the network policy needs the latency parameters")
        pla, plo = np.asarray(pop_lats, dtype=float), np.asarray(pop_lons, dtype=float)
        mask = np.zeros(len(pla), dtype=bool) if down is None else np.asarray(down, dtype=bool)
        matrix = pol.pop_matrix(glat, glon, pla, plo, latency.locate(glat, glon, params),
                                latency.locate(pla, plo, params), params)
        ranked, ranked_km = pol.network_ranking(matrix)
        return glat, glon, pol.first_two(ranked, ranked_km, mask)[0]
    a = assign(glat, glon, pop_lats, pop_lons, down=down, alternatives=1)
    return glat, glon, a.pop


def n_minus_one(ranked: np.ndarray, weights: np.ndarray, rtt: np.ndarray, capacity: np.ndarray,
                pop_ids: list[str] | tuple[str, ...],
                down: np.ndarray | None = None,
                progress: Callable[[int, int], None] | None = None,
                spill: bool = False) -> pd.DataFrame:
    """What losing each healthy PoP in turn does, one row per PoP.

    ``ranked`` (n, m): every client's PoPs nearest first; ``rtt`` (n, m'): the modelled anycast RTT
    (ms) of each client via each PoP *indexed by PoP* (NaN = unusable); ``capacity`` per PoP.
    Columns: pop_id, clients_moved, demand_moved, moved_to (top destinations), p50/p95 before and
    after and their change (weighted, ms), unserved (demand not served once the PoP is lost:
    throttled at full PoPs plus no route; under the ``spill`` what-if, after spill-over),
    worst_pop and worst_utilisation (highest nominal load / capacity among the PoPs that receive
    moved demand; "" and NaN when nothing moves), worst_load (that PoP's nominal load, demand
    units).
    ``progress(done, total)``, if given, is called after each PoP (for a progress bar).
    """
    w = np.asarray(weights, dtype=float)
    cap = np.asarray(capacity, dtype=float)
    n_pops = len(pop_ids)
    base_down = np.zeros(n_pops, dtype=bool) if down is None else np.asarray(down, dtype=bool)
    rows_idx = np.arange(len(w))
    base_pop = first_healthy(ranked, base_down)
    base_rtt = np.where(base_pop != NO_ROUTE, rtt[rows_idx, np.maximum(base_pop, 0)], np.nan)
    base_nominal = load_per_pop(base_pop, w, n_pops)
    p50_before = weighted_quantile(base_rtt, w, 0.5)
    p95_before = weighted_quantile(base_rtt, w, 0.95)
    rows = []
    todo = [i for i in range(n_pops) if not base_down[i]]
    for done, i in enumerate(todo, start=1):
        d = base_down.copy()
        d[i] = True
        moved = base_pop == i
        new_pop = base_pop.copy()
        if moved.any():
            new_pop[moved] = first_healthy(ranked[moved], d)
        new_rtt = np.where(new_pop != NO_ROUTE, rtt[rows_idx, np.maximum(new_pop, 0)], np.nan)
        nominal = load_per_pop(new_pop, w, n_pops)
        util = np.divide(nominal, cap, out=np.zeros(n_pops), where=cap > 0)
        # "Caused elsewhere": only PoPs that receive some of the moved demand count, so an
        # overload that exists anyway does not mask what losing this PoP does.
        util[nominal <= base_nominal + 1e-12 * max(1.0, float(w.sum()))] = -np.inf
        util[i] = -np.inf
        worst = int(np.argmax(util)) if n_pops > 1 else i
        dest = pd.Series(w[moved], index=[pop_ids[p] if p != NO_ROUTE else "no route"
                                          for p in new_pop[moved]]).groupby(level=0).sum()
        dest = dest.sort_values(ascending=False)
        dest = dest[dest >= 1e-3 * dest.sum()]  # name destinations that take >= 0.1 %
        outcome = serve(ranked, w, cap, d, spill)
        p50_after = weighted_quantile(new_rtt, w, 0.5)
        p95_after = weighted_quantile(new_rtt, w, 0.95)
        rows.append({
            "pop_id": pop_ids[i],
            "clients_moved": int(moved.sum()),
            "demand_moved": float(w[moved].sum()),
            "moved_to": ", ".join(f"{k} ({v:.3g})" for k, v in dest.head(3).items()),
            "p50_before_ms": p50_before, "p50_after_ms": p50_after,
            "p50_change_ms": p50_after - p50_before,
            "p95_before_ms": p95_before, "p95_after_ms": p95_after,
            "p95_change_ms": p95_after - p95_before,
            "unserved": outcome.total_unserved,
            "worst_pop": pop_ids[worst] if util[worst] > -np.inf else "",
            "worst_utilisation": float(util[worst]) if util[worst] > -np.inf else float("nan"),
            "worst_load": float(nominal[worst]) if util[worst] > -np.inf else float("nan"),
        })
        if progress is not None:
            progress(done, len(todo))
    return pd.DataFrame(rows)
