"""Latency model (INTERIM physics model; the calibrated model replaces the parameters and formula
but keeps these signatures).

Units: degrees in, milliseconds (round-trip) out. Distances are WGS84 geodesic km.

Interim formula (documented, not yet fitted on our side):
- fibre floor: ``2 * d / 204`` ms (light in fibre ~204 km/ms one way);
- internet leg: the median-regression line of the WonderProxy 2020 set, ``14.9 + 0.0169 * d``,
  never below the floor; p25/p75 band as x0.8 / x1.25 of it;
- backbone leg: ``1.25 x`` the floor plus 1 ms.
"""

from __future__ import annotations

import numpy as np

from dashboard.domain.geodesy import geodesic_km

FIBRE_KM_PER_MS = 204.0


def floor_rtt_ms(distance_km: object) -> np.ndarray:
    """Physical lower bound of a round trip over fibre, ms: ``2 * d / 204``."""
    return 2.0 * np.asarray(distance_km, dtype=float) / FIBRE_KM_PER_MS


def internet_rtt_ms(src_lat: object, src_lon: object, dst_lat: object, dst_lon: object) -> np.ndarray:
    """Median RTT (ms) expected over the public internet between two points."""
    d = geodesic_km(src_lat, src_lon, dst_lat, dst_lon)
    return np.maximum(14.9 + 0.0169 * d, floor_rtt_ms(d))


def internet_rtt_band_ms(src_lat: object, src_lon: object, dst_lat: object,
                         dst_lon: object) -> tuple[np.ndarray, np.ndarray]:
    """(p25, p75) RTT band in ms over the public internet."""
    mid = internet_rtt_ms(src_lat, src_lon, dst_lat, dst_lon)
    floor = floor_rtt_ms(geodesic_km(src_lat, src_lon, dst_lat, dst_lon))
    return np.maximum(mid * 0.8, floor), mid * 1.25


def backbone_rtt_ms(pop_lat: object, pop_lon: object, origin_lat: object,
                    origin_lon: object) -> np.ndarray:
    """RTT (ms) over the provider's backbone from an access point to an origin region."""
    d = geodesic_km(pop_lat, pop_lon, origin_lat, origin_lon)
    return np.where(d > 0, 1.25 * floor_rtt_ms(d) + 1.0, 0.0)
