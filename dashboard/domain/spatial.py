"""A grid index for "the k nearest of a few hundred fixed sites" on the unit sphere.

Why: the latency model locates every point through its ``interp_neighbours`` nearest measured
cities (:func:`dashboard.domain.latency.locate`). A scan computes the dot product with all 241
cities and partitions 241 values per point; a batch of millions of clients spent most of its
time there (issue 16). The index does the same arithmetic on a short candidate list per point.

How (exact, not approximate): the sphere is cut into ``step`` x ``step`` degree cells. For a cell
with centre ``c`` and circumradius ``r`` (the largest angle from ``c`` to a point of the cell,
plus a margin), any point ``q`` of the cell has its k-th nearest site within ``d_k(c) + r``, and a
site can only be that near to ``q`` if it is within ``d_k(c) + 2 r`` of ``c`` (triangle
inequality for angles). Those sites are the cell's candidates; every other site is farther from
``q`` than k candidates, so the k nearest of ``q`` are among them.

Equality with the scan, to the bit: the dot products of a cell's points with its candidates come
from the same matrix product as the scan's (``points @ sites.T`` with at least two rows and two
columns, which OpenBLAS computes element by element in the same order whatever the shape -- a
single row would be a matrix-vector product, rounded differently, so it is doubled; a test
checks it on random points, the poles and the antimeridian), so cosines, distances and the chosen
sites are identical. Sites at exactly equal distance (two cities on one parallel, seen from a
pole) are taken lower index first by both.

Pure: numpy only. Units: degrees in, cosines of central angles out.
"""

from __future__ import annotations

import math

import numpy as np

#: Cell size (degrees). 5 degrees: ~2,600 cells, ~15-40 candidates per cell for the 241 cities;
#: finer cells mean fewer candidates but more (Python-level) per-cell products per batch.
DEFAULT_STEP_DEG = 5.0
# Angle slack (radians) on the candidate test: covers the rounding of arccos of the dot
# products (~1e-8 rad near 0). Only adds candidates, never drops one.
_SLACK_RAD = 1e-6
#: Boundary samples per cell edge when measuring a cell's circumradius (the gap between two
#: samples is added to it, so the radius is an upper bound).
_EDGE_SAMPLES = 16
#: Width classes (candidates per group) of :meth:`SiteGrid.nearest_cos`'s padded buffers; the
#: largest group's size closes the list.
_WIDTHS = (6, 8, 12, 16, 24, 32, 48)


def unit_vectors(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """``(n, 3)`` unit vectors of points in degrees (the latency model's own formula)."""
    la, lo = np.radians(lat), np.radians(lon)
    return np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)], axis=-1)


class SiteGrid:
    """Exact k-nearest-sites queries by angle (see the module docstring).

    ``sites``: ``(m, 3)`` unit vectors (the very array the scan multiplies with), ``k`` the
    number of neighbours the queries ask for (``1 <= k < m``).
    """

    def __init__(self, sites: np.ndarray, k: int, step_deg: float = DEFAULT_STEP_DEG) -> None:
        sites = np.ascontiguousarray(sites, dtype=float)
        m = len(sites)
        if not 1 <= k < m:
            raise ValueError(f"k must be in [1, {m - 1}] for {m} sites, got {k}")
        self.sites, self.k, self.step = sites, int(k), float(step_deg)
        self.n_lat = int(math.ceil(180.0 / step_deg))
        self.n_lon = int(math.ceil(360.0 / step_deg))
        # Every cell at once (~10 ms; a loop over the 2,592 cells took ~0.1 s of the batch
        # command's start, before its workers fork). Cells row by row: latitude band i, then
        # longitude j, cell number i * n_lon + j (:meth:`cells`).
        i = np.repeat(np.arange(self.n_lat), self.n_lon)
        j = np.tile(np.arange(self.n_lon), self.n_lat)
        la0 = -90.0 + i * step_deg
        la1 = np.minimum(90.0, la0 + step_deg)
        lo0 = -180.0 + j * step_deg
        lo1 = lo0 + step_deg
        c = unit_vectors((la0 + la1) / 2, (lo0 + lo1) / 2)                    # (cells, 3)
        # each cell's boundary, sampled; the angle between samples bounds what is missed
        t = np.linspace(0.0, 1.0, _EDGE_SAMPLES + 1)[None, :]
        a0, a1, o0, o1 = la0[:, None], la1[:, None], lo0[:, None], lo1[:, None]
        blat = np.concatenate([np.broadcast_to(a0, (len(c), t.shape[1])),
                               np.broadcast_to(a1, (len(c), t.shape[1])),
                               a0 + t * (a1 - a0), a0 + t * (a1 - a0)], axis=1)
        blon = np.concatenate([o0 + t * (o1 - o0), o0 + t * (o1 - o0),
                               np.broadcast_to(o0, (len(c), t.shape[1])),
                               np.broadcast_to(o1, (len(c), t.shape[1]))], axis=1)
        ang = np.arccos(np.clip(np.einsum("csk,ck->cs", unit_vectors(blat, blon), c),
                                -1.0, 1.0))
        r = ang.max(axis=1) + math.radians(step_deg) / _EDGE_SAMPLES + _SLACK_RAD
        d = np.arccos(np.clip(c @ sites.T, -1.0, 1.0))                        # (cells, m)
        dk = np.partition(d, k - 1, axis=1)[:, k - 1]
        within = d <= (dk + 2.0 * r + _SLACK_RAD)[:, None]
        rows, cols = np.nonzero(within)  # cell-major: each cell's candidates in site order
        counts = np.bincount(rows, minlength=len(c))
        ends = np.cumsum(counts).tolist()
        self.candidates: list[np.ndarray] = [cols[a:b] for a, b in zip([0] + ends[:-1], ends)]
        for i in np.flatnonzero(counts < 2).tolist():  # >= 2 columns: the product's order
            self.candidates[i] = np.sort(np.argsort(d[i], kind="stable")[:2])
        # Cells with the same candidates share one product per query (~1,160 distinct lists
        # for the 2,592 cells of 5 degrees over the 241 cities): fewer Python-level steps.
        groups: dict[tuple[int, ...], int] = {}
        self.group_of_cell = np.array([groups.setdefault(tuple(c.tolist()), len(groups))
                                       for c in self.candidates], dtype=np.int64)
        first = {g: i for i, g in reversed(list(enumerate(self.group_of_cell.tolist())))}
        self.group_cand = [self.candidates[first[g]] for g in range(len(groups))]
        self.group_xyz = [np.ascontiguousarray(sites[c]) for c in self.group_cand]
        self.group_xyz_t = [x.T for x in self.group_xyz]  # what ``q @ x.T`` multiplies with
        # Groups by width class (the smallest of _WIDTHS holding their candidates): a query's
        # points are ordered by (class, group), each class's products go into one padded
        # (points, width) buffer, and the top k are picked over the whole buffer at once.
        n_groups = len(self.group_cand)
        lens = np.array([len(c) for c in self.group_cand], dtype=np.int64)
        widths = [w for w in _WIDTHS if w < lens.max()] + [int(lens.max())]
        self.widths = np.array(widths, dtype=np.int64)
        self.group_class = np.searchsorted(self.widths, lens).astype(np.int64)
        key = self.group_class * n_groups + np.arange(n_groups)
        # 16-bit keys when they fit: numpy's stable argsort is then a radix sort (~5x faster)
        self.group_key = key.astype(np.int16 if key.max() < 2**15 else np.int64)
        self.cand_pad = np.zeros((n_groups, int(lens.max())), dtype=np.int64)
        for g, c in enumerate(self.group_cand):
            self.cand_pad[g, :len(c)] = c

    def cells(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        """Cell number of every point (degrees; longitudes taken modulo 360, 180 = -180)."""
        i = np.clip(np.floor((np.asarray(lat, dtype=float) + 90.0) / self.step), 0,
                    self.n_lat - 1).astype(np.int64)
        j = np.clip(np.floor(((np.asarray(lon, dtype=float) + 180.0) % 360.0) / self.step), 0,
                    self.n_lon - 1).astype(np.int64)
        return i * self.n_lon + j

    def nearest_cos(self, lat: np.ndarray, lon: np.ndarray, xyz: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
        """``(idx, cos)``, both ``(n, k)``: the k sites with the largest (clipped) dot product
        with each point and those dot products, largest first, equal ones lower site index
        first. ``xyz`` are the points' unit vectors (:func:`unit_vectors`).

        How: points ordered by (width class, group); one matrix product per group (the only
        Python-level loop: ~1,000 groups per 50,000 random points) written into its class's
        buffer, padded with -inf past the group's candidates; then, per class, the clip and k
        rounds of ``argmax`` over the whole buffer (the first maximum: candidates are in site
        order, so equal ones go lower index first, as a stable sort of ``-dots`` did; padding
        never wins, there are >= k candidates). ~2x cheaper than a sort per group (issue 16).
        """
        n, k = len(xyz), self.k
        idx = np.empty((n, k), dtype=np.int64)
        cos = np.empty((n, k))
        if n == 0:
            return idx, cos
        group = self.group_of_cell[self.cells(lat, lon)]
        order = np.argsort(self.group_key[group], kind="stable")
        sorted_groups = group[order]
        starts = np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]])
        ends = np.r_[starts[1:], n]
        q_all = xyz[order]  # points in group order: each group's rows are one contiguous slice
        cls = self.group_class[sorted_groups[starts]]
        # class boundaries among the groups (classes come in increasing order)
        cstart = np.flatnonzero(np.r_[True, cls[1:] != cls[:-1]])
        cend = np.r_[cstart[1:], len(starts)]
        idx_s = np.empty((n, k), dtype=np.int64)
        cos_s = np.empty((n, k))
        group_xyz_t = self.group_xyz_t
        for ga, gb in zip(cstart.tolist(), cend.tolist()):
            p0, p1 = int(starts[ga]), int(ends[gb - 1])
            width = int(self.widths[cls[ga]])
            buf = np.full((p1 - p0, width), -np.inf)
            for s, e, g in zip(starts[ga:gb].tolist(), ends[ga:gb].tolist(),
                               sorted_groups[starts[ga:gb]].tolist()):
                xt = group_xyz_t[g]
                if e - s == 1:  # one row is a matrix-vector product, rounded differently
                    buf[s - p0, :xt.shape[1]] = (np.repeat(q_all[s:e], 2, axis=0) @ xt)[0]
                else:  # the product written in place (BLAS with the buffer's row stride)
                    np.matmul(q_all[s:e], xt, out=buf[s - p0:e - p0, :xt.shape[1]])
            # the clip to [-1, 1] (padding stays -inf)
            np.minimum(buf, 1.0, out=buf)
            np.maximum(buf, -1.0, out=buf, where=buf > -np.inf)
            rows = np.arange(p1 - p0)
            pos = np.empty((p1 - p0, k), dtype=np.int64)
            for j in range(k):
                p = buf.argmax(axis=1)
                pos[:, j] = p
                cos_s[p0:p1, j] = buf[rows, p]
                if j + 1 < k:
                    buf[rows, p] = -np.inf
            idx_s[p0:p1] = self.cand_pad[sorted_groups[p0:p1, None], pos]
        idx[order] = idx_s
        cos[order] = cos_s
        return idx, cos
