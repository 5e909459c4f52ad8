"""The capacity story's rules (issue 17): the PoP × N-1 utilisation matrix, the demand scale that
gives a meaningful picture, and the top risks. Pure: arrays in, arrays and dataclasses out.

Units: load and capacity in the same unit (Gbps in the app), utilisation as a fraction (1 = 100 %).
The rule for where demand goes is the capacity view's (docs/capacity.md, "an overloaded PoP
throttles, it does not spill"): every demand point at its first healthy PoP of the ranking;
utilisation = that *nominal* load / capacity, as in the N-1 table's "Its util. %" column.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dashboard.domain.capacity import first_healthy, load_per_pop

#: Below this peak utilisation (fraction) the picture is "~0 % everywhere" and a demand scale is
#: offered (docs/capacity.md, "Demand that means something").
LOW_PEAK = 0.10
#: The peak utilisation the offered scale aims at (fraction): well loaded, not over.
TARGET_PEAK = 0.65
#: A PoP at or above this utilisation (fraction) is "near capacity" (the table's amber starts
#: at 70 %; 80 % leaves the usual planning headroom of 20 %).
NEAR = 0.80


def n1_nominal(ranked: np.ndarray, weights: np.ndarray, down: np.ndarray) -> np.ndarray:
    """Nominal load at every PoP once each PoP in turn is lost, shape (m, m): row ``i`` = PoP
    ``i`` lost (its demand moved to each point's next healthy PoP of ``ranked``), column ``j`` =
    load at PoP ``j``. Rows of PoPs already ``down`` are NaN (nothing to lose). ``ranked`` (n, m)
    PoP indices nearest first; ``weights`` (n,) demand per point. Cost: one ``first_healthy`` over
    the points of the lost PoP per row (~35 ms for 25,000 points × 19 PoPs, measured)."""
    down = np.asarray(down, dtype=bool)
    m = len(down)
    w = np.asarray(weights, dtype=float)
    out = np.full((m, m), np.nan)
    if len(w) == 0:
        out[~down] = 0.0
        return out
    base = first_healthy(ranked, down)
    for i in np.flatnonzero(~down):
        d = down.copy()
        d[i] = True
        pop = base.copy()
        moved = base == i
        if moved.any():
            pop[moved] = first_healthy(ranked[moved], d)
        out[i] = load_per_pop(pop, w, m)
    return out


def fitted_scale(scale: float, peak: float, target: float = TARGET_PEAK) -> float | None:
    """The demand scale that brings the peak utilisation ``peak`` (fraction, at ``scale``) to
    about ``target``, rounded to two significant digits (so it reads well in the link and the
    input; the peak then lands within ±5 % of the target); None when ``peak`` is not a positive
    finite number. Load is linear in the scale (every weight is multiplied by it)."""
    if not (math.isfinite(peak) and peak > 0 and math.isfinite(scale) and scale > 0):
        return None
    raw = scale * target / peak
    digits = 1 - int(math.floor(math.log10(raw)))
    return float(round(raw, digits))


@dataclass(frozen=True)
class N1Overflow:
    """What losing ``lost`` does at its worst receiver: ``pop`` then carries ``load`` against
    ``capacity`` (same unit), ``overflow`` above it that was not there before (>= 0)."""

    lost: str
    pop: str
    load: float
    capacity: float
    overflow: float


def n1_overflows(nominal: np.ndarray, base: np.ndarray, capacity: np.ndarray,
                 pop_ids: tuple[str, ...] | list[str]) -> list[N1Overflow]:
    """For every PoP whose loss pushes another PoP over its capacity: the receiver with the
    largest *new* overflow (load above capacity minus the overflow it had before), largest
    first. ``nominal``: :func:`n1_nominal`; ``base``: the nominal load with nothing more lost."""
    cap = np.asarray(capacity, dtype=float)
    before = np.maximum(np.asarray(base, dtype=float) - cap, 0.0)
    out = []
    for i, row in enumerate(nominal):
        if not np.isfinite(row).all():
            continue
        new = np.maximum(row - cap, 0.0) - before
        new[i] = 0.0
        j = int(np.argmax(new))
        if new[j] > 1e-12 * max(1.0, float(np.nansum(base))):
            out.append(N1Overflow(pop_ids[i], pop_ids[j], float(row[j]), float(cap[j]),
                                  float(new[j])))
    return sorted(out, key=lambda o: -o.overflow)
