"""Landing probabilities of clients over the catalog's **healthy** access points: the fitted
model of :mod:`dashboard.catchment` (learned from measured root DNS catchments; see
``docs/calibration.md``, "Landing probabilities") bound to the catalog and a down set, for the
explain panel, the map hover, the capacity view's expected load and the API.

Down access points are excluded **before** the model runs: a PoP that is down withdraws its
anycast route, so BGP chooses among the ones left. The model then sees only the healthy sites
(the nearest healthy one is its "nearest", distance ratios are to it), so its probabilities are
renormalised over the healthy PoPs by construction; a down PoP never gets any. With every PoP
down a client gets none (an empty row).

An announcement bias (``Scenario.bias``, :mod:`dashboard.domain.bias`) shifts them: every
function takes ``bias_km`` (km per catalog PoP, :func:`dashboard.services.routing.bias_km`; None
= none), added to that PoP's distances before the model scores it
(:mod:`dashboard.domain.catchment`): a penalty lowers its probabilities, a bonus raises them.

Without a bias the probabilities depend on geometry only: not on the routing policy (which picks the
deterministic PoP) nor on the latency model overrides. Units: degrees in; probabilities in
[0, 1], each client's summing to at most 1 (exactly 1 with the catalog's 19 PoPs: the model
gives every one of its 64 candidates a probability).

Cost: ~50 ms for 25,000 clients x 19 PoPs; results for large point sets (capacity demand) are
cached per (catalog, points, down set) in a small per-process LRU.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Iterable

import numpy as np

from dashboard import catchment
from dashboard.catalog import Catalog

#: Where the model is described and judged (cited wherever probabilities are shown).
DOC_REF = 'docs/calibration.md, "Landing probabilities"'
#: What a reader must know before trusting a probability (the UI and the docs say it).
HONESTY_NOTE = (
    "Learned from measured root-DNS anycast catchments (F- and I-root, 2015, ~13,000 vantage "
    "points): a statistical estimate of where BGP hands a client like this one, not a "
    "promise. In cross-validation the most likely access point was right about a third of the "
    f"time (as often as the geographically nearest) and the top 3 about half the time ({DOC_REF}). "
    "Down access points are excluded: the probabilities are over the healthy ones only.")

#: Points at or above which :func:`healthy_probabilities` caches its answer (smaller sets cost
#: less than hashing them).
CACHE_FROM = 1_000

_lock = threading.Lock()
_cache: "OrderedDict[tuple, tuple[np.ndarray, np.ndarray]]" = OrderedDict()
_CACHE_SIZE = 8


@dataclass(frozen=True)
class Landing:
    """One client's landing probabilities: ``(pop id, probability)`` ranked most likely first,
    healthy PoPs only (probability 0 entries dropped)."""

    pops: tuple[tuple[str, float], ...]

    @property
    def total(self) -> float:
        return float(sum(p for _, p in self.pops))


def _healthy(catalog: Catalog, down: Iterable[str]) -> np.ndarray:
    """Catalog positions of the healthy PoPs (unknown ids in ``down`` ignored)."""
    down_set = set(down)
    return np.array([i for i, p in enumerate(catalog.pop_ids) if p not in down_set],
                    dtype=np.int64)


BiasKm = "tuple[float, ...] | None"


def _bias_tuple(bias_km: object) -> tuple[float, ...] | None:
    """``bias_km`` as a hashable tuple (None when absent or all zero: exactly no bias)."""
    if bias_km is None:
        return None
    t = tuple(float(x) for x in np.asarray(bias_km, dtype=float).ravel())
    return t if any(t) else None


def _compute(catalog: Catalog, lats: np.ndarray, lons: np.ndarray, healthy: np.ndarray,
             k: int, bias_km: tuple[float, ...] | None = None
             ) -> tuple[np.ndarray, np.ndarray]:
    n = len(lats)
    kk = min(k, len(healthy))
    if n == 0 or kk == 0:
        return np.zeros((n, 0), np.int64), np.zeros((n, 0))
    site_bias = None if bias_km is None else np.asarray(bias_km, dtype=float)[healthy]
    idx, prob = catchment.landing_probabilities(lats, lons, catalog.pop_lats[healthy],
                                                catalog.pop_lons[healthy], k=kk,
                                                site_bias_km=site_bias)
    out = np.where(idx >= 0, healthy[np.clip(idx, 0, None)], -1)
    out.flags.writeable = prob.flags.writeable = False
    return out, prob


def healthy_probabilities(catalog: Catalog, lats: object, lons: object,
                          down: Iterable[str] = (), k: int | None = None,
                          bias_km: object = None) -> tuple[np.ndarray, np.ndarray]:
    """``(indices, probabilities)`` of shape (n, min(k, healthy PoPs)): catalog PoP positions
    ranked by probability (-1 = padding) and their probabilities, over the healthy PoPs only
    (module docstring). ``k`` None: every healthy PoP. Degrees in; ``ValueError`` names a bad
    coordinate. Cached from :data:`CACHE_FROM` points on (read-only arrays). ``bias_km``: the
    announcement bias, km per catalog PoP (module docstring)."""
    la = np.asarray(lats, dtype=float).ravel()
    lo = np.asarray(lons, dtype=float).ravel()
    healthy = _healthy(catalog, down)
    k = len(catalog.pop_ids) if k is None else max(int(k), 0)
    bias = _bias_tuple(bias_km)
    if len(la) < CACHE_FROM:
        return _compute(catalog, la, lo, healthy, k, bias)
    from dashboard.services.routing import catalog_fingerprint

    key = (catalog_fingerprint(catalog), hashlib.sha1(np.ascontiguousarray(
        np.c_[la, lo]).tobytes()).hexdigest(), tuple(healthy.tolist()), k) \
        + ((bias,) if bias is not None else ())
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    value = _compute(catalog, la, lo, healthy, k, bias)
    with _lock:
        _cache[key] = value
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return value


def probability_matrix(catalog: Catalog, lats: object, lons: object,
                       down: Iterable[str] = (), bias_km: object = None) -> np.ndarray:
    """Dense (n clients, m catalog PoPs) landing probabilities, 0 for down PoPs (rows sum to
    at most 1; 0 when every PoP is down); ``bias_km`` as in :func:`healthy_probabilities`."""
    idx, prob = healthy_probabilities(catalog, lats, lons, down, bias_km=bias_km)
    n, m = idx.shape[0], len(catalog.pop_ids)
    out = np.zeros((n, m))
    if idx.size:
        rows = np.repeat(np.arange(n), idx.shape[1])
        ok = idx.ravel() >= 0
        out[rows[ok], idx.ravel()[ok]] = prob.ravel()[ok]
    return out


def landing_for_point(catalog: Catalog, lat: float, lon: float,
                      down: Iterable[str] = (), bias_km: object = None) -> Landing:
    """The landing probabilities of one client (every healthy PoP with a probability > 0),
    memoized on (catalog, point, down set[, bias])."""
    from dashboard.services.routing import catalog_fingerprint

    bias = _bias_tuple(bias_km)
    return _landing_point(catalog_fingerprint(catalog), float(lat), float(lon),
                          tuple(sorted(set(down) & set(catalog.pop_ids))),
                          *((bias,) if bias is not None else ()))


@functools.lru_cache(maxsize=1024)
def _landing_point(fp: str, lat: float, lon: float, down: tuple[str, ...],
                   bias_km: tuple[float, ...] | None = None) -> Landing:
    from dashboard.services.routing import _catalog

    catalog = _catalog(fp)
    idx, prob = healthy_probabilities(catalog, [lat], [lon], down, bias_km=bias_km)
    ids = catalog.pop_ids
    return Landing(tuple((ids[int(i)], float(p)) for i, p in zip(idx[0], prob[0])
                         if i >= 0 and p > 0))


def percent_text(p: float) -> str:
    """``"55 %"``; ``"<1 %"`` for a probability that rounds to 0 but is not 0."""
    pct = 100.0 * p
    return "<1 %" if 0 < pct < 0.5 else f"{pct:.0f} %"


def landing_text(landing: Landing, top: int = 3) -> str:
    """``"LHR 55 %, FRA 20 %, BOM 10 %…"``: the ``top`` most likely PoPs ("…" when more have a
    probability); "" when there are none."""
    head = ", ".join(f"{p} {percent_text(q)}" for p, q in landing.pops[:top])
    return head + ("…" if len(landing.pops) > top else "")


def hover_lines(catalog: Catalog, lats: object, lons: object, down: Iterable[str] = (),
                top: int = 3, bias_km: object = None) -> list[str]:
    """One compact line per client for the map hover: ``"LHR 55%, FRA 20%, BOM 10%"`` (the
    ``top`` most likely healthy PoPs; "" with none healthy). Vectorised over the clients (a
    Python join per client: ~5 ms per 1,000)."""
    idx, prob = healthy_probabilities(catalog, lats, lons, down, k=top, bias_km=bias_km)
    ids = np.asarray(catalog.pop_ids + ("",), dtype=object)
    pct = np.rint(100.0 * prob).astype(int)
    out = []
    for row_i, row_p, row_q in zip(idx.tolist(), pct.tolist(), prob.tolist()):
        out.append(", ".join(f"{ids[i]} {p}%" if p else f"{ids[i]} <1%"
                             for i, p, q in zip(row_i, row_p, row_q) if i >= 0 and q > 0))
    return out
