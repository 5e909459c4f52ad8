"""Clients -> nearest healthy access point, with ranked alternatives.

Model: "nearest" is the WGS84 geodesic distance (see :mod:`dashboard.domain.geodesy`). Real anycast
follows BGP, so this is the idealised, geography-only entry point; the UI says so.

All PoPs down is a defined result (every client ``NO_ROUTE``), never an exception.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass

import numpy as np

from dashboard.domain.geodesy import nearest, validate_coords

#: Index used where a client has no healthy access point.
NO_ROUTE = -1


@dataclass(frozen=True)
class Assignment:
    """Per-client result; arrays have one row per client, in client order.

    ``ranked``/``ranked_km`` list the healthy PoPs nearest first (``NO_ROUTE``/NaN padding where
    fewer are healthy than columns requested); ``pop``/``pop_km`` are its first column and
    ``runner_up``/``runner_up_km`` its second.
    """

    ranked: np.ndarray
    ranked_km: np.ndarray

    @property
    def pop(self) -> np.ndarray:
        return self.ranked[:, 0]

    @property
    def pop_km(self) -> np.ndarray:
        return self.ranked_km[:, 0]

    @property
    def runner_up(self) -> np.ndarray:
        if self.ranked.shape[1] < 2:
            return np.full(len(self.ranked), NO_ROUTE, dtype=np.int64)
        return self.ranked[:, 1]

    @property
    def runner_up_km(self) -> np.ndarray:
        if self.ranked.shape[1] < 2:
            return np.full(len(self.ranked), np.nan)
        return self.ranked_km[:, 1]

    @property
    def routed(self) -> np.ndarray:
        """Boolean mask of clients that have a healthy PoP."""
        return self.pop != NO_ROUTE


def assign(client_lats: object, client_lons: object, pop_lats: object, pop_lons: object,
           down: object = None, alternatives: int = 2) -> Assignment:
    """Rank the healthy PoPs of every client by WGS84 geodesic distance (km), nearest first.

    Degrees in. ``down`` is a boolean mask over PoPs (True = down) or ``None``. ``alternatives``
    is how many ranked PoPs to keep per client (the chosen one and runners-up); columns beyond
    the number of healthy PoPs hold ``NO_ROUTE`` / NaN, and with every PoP down every client is
    ``NO_ROUTE``. Uses the exact fast :func:`~dashboard.domain.geodesy.nearest` on the healthy
    PoPs only, so a down PoP can never be chosen and the runner-up is the next *healthy* one.
    """
    cla, clo = validate_coords(client_lats, client_lons, "client")
    pla, plo = validate_coords(pop_lats, pop_lons, "access point")
    down_mask = np.zeros(len(pla), dtype=bool) if down is None else np.asarray(down, dtype=bool)
    if down_mask.shape != pla.shape:
        raise ValueError(f"down mask has shape {down_mask.shape}, expected {pla.shape}")
    width = operator.index(alternatives)
    if width < 1:
        raise ValueError(f"alternatives must be >= 1, got {width}")
    ranked = np.full((len(cla), width), NO_ROUTE, dtype=np.int64)
    ranked_km = np.full((len(cla), width), np.nan)
    healthy = np.flatnonzero(~down_mask)
    if len(healthy) and len(cla):
        k = min(width, len(healthy))
        idx, km = nearest(cla, clo, pla[healthy], plo[healthy], k=k)
        ranked[:, :k] = healthy[idx]
        ranked_km[:, :k] = km
    return Assignment(ranked=ranked, ranked_km=ranked_km)
