"""The cities grid's candidate lists, built for every cell at once (issue 16: ~10x faster
start of the batch command), equal the cell-by-cell construction they replaced, on the shipped
cities and on random sites; both are exact supersets of each cell's k nearest (module
docstring of ``dashboard.domain.spatial``)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dashboard import latency
from dashboard.domain import spatial
from dashboard.domain.spatial import SiteGrid, unit_vectors


def _loop_candidates(sites: np.ndarray, k: int, step: float) -> list[np.ndarray]:
    """The former per-cell loop of ``SiteGrid.__init__``."""
    out = []
    t = np.linspace(0.0, 1.0, spatial._EDGE_SAMPLES + 1)
    for i in range(int(math.ceil(180.0 / step))):
        la0 = -90.0 + i * step
        la1 = min(90.0, la0 + step)
        for j in range(int(math.ceil(360.0 / step))):
            lo0 = -180.0 + j * step
            lo1 = lo0 + step
            c = unit_vectors(np.array([(la0 + la1) / 2]), np.array([(lo0 + lo1) / 2]))[0]
            blat = np.concatenate([np.full_like(t, la0), np.full_like(t, la1),
                                   la0 + t * (la1 - la0), la0 + t * (la1 - la0)])
            blon = np.concatenate([lo0 + t * (lo1 - lo0), lo0 + t * (lo1 - lo0),
                                   np.full_like(t, lo0), np.full_like(t, lo1)])
            ang = np.arccos(np.clip(unit_vectors(blat, blon) @ c, -1.0, 1.0))
            r = float(ang.max()) + math.radians(step) / spatial._EDGE_SAMPLES \
                + spatial._SLACK_RAD
            d = np.arccos(np.clip(sites @ c, -1.0, 1.0))
            dk = float(np.partition(d, k - 1)[k - 1])
            cand = np.flatnonzero(d <= dk + 2.0 * r + spatial._SLACK_RAD)
            if len(cand) < 2:
                cand = np.sort(np.argsort(d, kind="stable")[:2])
            out.append(cand)
    return out


@pytest.mark.parametrize("step,k", [(5.0, 4), (5.0, 1), (7.5, 2), (3.0, 4)])
def test_vectorised_candidates_equal_the_cell_loop_on_the_shipped_cities(step, k):
    xyz = latency.default_params()._arr["xyz"]
    grid = SiteGrid(xyz, k, step)
    ref = _loop_candidates(np.ascontiguousarray(xyz), k, step)
    assert len(grid.candidates) == len(ref)
    assert all(np.array_equal(a, b) for a, b in zip(grid.candidates, ref))


def test_vectorised_candidates_equal_the_cell_loop_on_random_sites():
    rng = np.random.default_rng(2)
    for m in (3, 30, 400):
        sites = unit_vectors(np.degrees(np.arcsin(rng.uniform(-1, 1, m))),
                             rng.uniform(-180, 180, m))
        grid = SiteGrid(sites, 2, 10.0)
        ref = _loop_candidates(sites, 2, 10.0)
        assert all(np.array_equal(a, b) for a, b in zip(grid.candidates, ref))
