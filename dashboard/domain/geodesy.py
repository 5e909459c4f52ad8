"""Distances and nearest sites on the WGS84 ellipsoid, with ``geopy.distance.geodesic`` semantics.

Units: degrees in, kilometres out. Model: WGS84 ellipsoid, Karney's geodesic algorithm
(geographiclib, which geopy uses).

NOTE: this is the reference implementation (exact, one geographiclib call per pair). The fast
vectorised version replaces the body of :func:`nearest` and keeps this exact signature.
"""

from __future__ import annotations

import numpy as np
from geographiclib.geodesic import Geodesic

_WGS84 = Geodesic.WGS84


def validate_coords(lats: object, lons: object, what: str = "point") -> tuple[np.ndarray, np.ndarray]:
    """Float arrays of equal 1-D shape, finite, lat in [-90, 90], lon in [-180, 180] degrees.

    geopy silently wraps longitudes beyond +-180 and raises an opaque error on |lat| > 90, so we
    check ourselves and raise ``ValueError`` naming the first bad index and value.
    """
    la = np.atleast_1d(np.asarray(lats, dtype=float))
    lo = np.atleast_1d(np.asarray(lons, dtype=float))
    if la.ndim != 1 or lo.ndim != 1 or la.shape != lo.shape:
        raise ValueError(f"{what} latitudes and longitudes must be 1-D arrays of one length, "
                         f"got shapes {la.shape} and {lo.shape}")
    for name, arr, limit in (("latitude", la, 90.0), ("longitude", lo, 180.0)):
        bad = ~np.isfinite(arr) | (np.abs(arr) > limit)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"{what} {i}: {name} {arr[i]!r} is not a number in "
                             f"[-{limit:g}, {limit:g}] degrees")
    return la, lo


def geodesic_km(lat1: object, lon1: object, lat2: object, lon2: object) -> np.ndarray:
    """Element-wise WGS84 geodesic distance in km (broadcasting like numpy)."""
    a, b, c, d = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (lat1, lon1, lat2, lon2)))
    out = np.empty(a.shape, dtype=float)
    flat = out.reshape(-1)
    for i, (p, q, r, s) in enumerate(zip(a.ravel(), b.ravel(), c.ravel(), d.ravel())):
        flat[i] = _WGS84.Inverse(p, q, r, s, Geodesic.DISTANCE)["s12"] / 1000.0
    return out


def nearest(client_lats: object, client_lons: object, site_lats: object, site_lons: object,
            k: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest sites of every client, nearest first.

    Returns ``(indices, distances_km)``, both of shape ``(n_clients, k)``; indices are rows of the
    site arrays, distances are WGS84 geodesic km. ``k`` is clipped to the number of sites.
    """
    cla, clo = validate_coords(client_lats, client_lons, "client")
    sla, slo = validate_coords(site_lats, site_lons, "site")
    if len(sla) == 0:
        raise ValueError("no sites to choose from")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    k = min(k, len(sla))
    dist = geodesic_km(cla[:, None], clo[:, None], sla[None, :], slo[None, :]).reshape(len(cla), len(sla))
    order = np.argsort(dist, axis=1, kind="stable")[:, :k]
    return order.astype(np.int64), np.take_along_axis(dist, order, axis=1)


def great_circle_path(lat1: float, lon1: float, lat2: float, lon2: float,
                      n: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points along the WGS84 geodesic from point 1 to point 2 (inclusive), degrees.

    Used to draw paths and to interpolate animation frames (plotly does not tween scattergeo).
    Longitudes are kept continuous across the antimeridian (they may leave [-180, 180]) so the
    line does not jump; plotly geo draws such longitudes correctly.
    """
    line = _WGS84.InverseLine(lat1, lon1, lat2, lon2)
    s = np.linspace(0.0, line.s13, max(int(n), 2))
    lats = np.empty_like(s)
    lons = np.empty_like(s)
    for i, si in enumerate(s):
        p = line.Position(si, Geodesic.LATITUDE | Geodesic.LONGITUDE | Geodesic.LONG_UNROLL)
        lats[i] = p["lat2"]
        lons[i] = p["lon2"]
    return lats, lons
