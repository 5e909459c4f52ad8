"""Few-pair calls of geodesic_km (PROJ's Karney when pyproj is installed) agree with the
vectorised Vincenty path and with geographiclib, including near-antipodal and polar pairs."""

from __future__ import annotations

import numpy as np
import pytest
from geographiclib.geodesic import Geodesic

from dashboard.domain import geodesy


def _pairs(n: int, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    lat1 = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    lon1 = rng.uniform(-180, 180, n)
    lat2 = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    lon2 = rng.uniform(-180, 180, n)
    # Hard cases: nearly antipodal, poles, coincident, equatorial, beyond +-180 longitudes.
    lat1[:6] = [10.0, 90.0, -90.0, 0.0, 45.0, 0.0]
    lon1[:6] = [20.0, 0.0, 33.0, 0.0, 190.0, 0.0]
    lat2[:6] = [-10.0001, -90.0, 10.0, 0.0, 45.0, 0.5]
    lon2[:6] = [-159.9, 50.0, -147.0, 179.7, -170.0, 179.8]
    return lat1, lon1, lat2, lon2


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_small_calls_match_the_vectorised_path_and_geographiclib(seed):
    lat1, lon1, lat2, lon2 = _pairs(geodesy._SMALL_N, seed)
    small = geodesy.geodesic_km(lat1, lon1, lat2, lon2)          # <= _SMALL_N: PROJ if present
    pad = geodesy._SMALL_N + 1                                      # > _SMALL_N: numpy Vincenty
    big = geodesy.geodesic_km(np.r_[lat1, 0.0], np.r_[lon1, 0.0], np.r_[lat2, 1.0],
                              np.r_[lon2, 1.0])[: pad - 1]
    ref = np.array([Geodesic.WGS84.Inverse(*map(float, p))["s12"] / 1000.0
                    for p in zip(lat1, lon1, lat2, lon2)])
    np.testing.assert_allclose(small, ref, rtol=0, atol=1e-7)     # 0.1 mm
    np.testing.assert_allclose(big, ref, rtol=0, atol=1e-7)


def test_small_calls_keep_nan_and_shape():
    out = geodesy.geodesic_km([[1.0, np.nan]], [[2.0, 3.0]], 4.0, 5.0)
    assert out.shape == (1, 2) and np.isnan(out[0, 1]) and out[0, 0] > 0
    assert geodesy.geodesic_km(0.0, 0.0, 0.0, 0.0).shape == ()
