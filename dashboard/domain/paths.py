"""The client -> PoP -> origin path of every client, and the direct path for comparison.

Units: degrees in; km and ms (round trip) out. Distances are WGS84 geodesics; RTTs come from
:mod:`dashboard.domain.latency`. This is the one place that combines routing and latency, so the
dashboard table, the explain panel, the API and the CLI report the same numbers.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from dashboard.domain import latency
from dashboard.domain.geodesy import geodesic_km, validate_coords
from dashboard.domain.routing import NO_ROUTE, assign

PATH_COLUMNS = (
    "lat", "lon", "pop_id", "pop_km", "runner_up_id", "runner_up_km", "backbone_km",
    "internet_ms", "backbone_ms", "anycast_ms", "direct_km", "direct_ms", "saving_ms", "routed",
)


def client_paths(client_lats: object, client_lons: object, pop_ids: Sequence[str],
                 pop_lats: np.ndarray, pop_lons: np.ndarray, origin_lat: float, origin_lon: float,
                 down: np.ndarray | None = None) -> pd.DataFrame:
    """One row per client (client order) with columns :data:`PATH_COLUMNS`.

    ``anycast_ms`` = internet leg to the nearest healthy PoP + backbone leg PoP -> origin;
    ``direct_ms`` = internet leg straight to the origin; ``saving_ms`` = direct - anycast.
    Clients with no healthy PoP have ``routed`` False, empty ids and NaN numbers.
    """
    cla, clo = validate_coords(client_lats, client_lons, "client")
    ids = np.asarray(list(pop_ids), dtype=object)
    a = assign(cla, clo, pop_lats, pop_lons, down=down, alternatives=2)
    routed = a.routed
    pop = np.where(routed, a.pop, 0)
    plat = np.where(routed, np.asarray(pop_lats)[pop], np.nan)
    plon = np.where(routed, np.asarray(pop_lons)[pop], np.nan)
    internet = np.full(len(cla), np.nan)
    backbone = np.full(len(cla), np.nan)
    backbone_km = np.full(len(cla), np.nan)
    if routed.any():
        r = routed
        internet[r] = latency.internet_rtt_ms(cla[r], clo[r], plat[r], plon[r])
        backbone[r] = latency.backbone_rtt_ms(plat[r], plon[r], origin_lat, origin_lon)
        backbone_km[r] = geodesic_km(plat[r], plon[r], origin_lat, origin_lon)
    direct_km = geodesic_km(cla, clo, origin_lat, origin_lon) if len(cla) else np.empty(0)
    direct = latency.internet_rtt_ms(cla, clo, origin_lat, origin_lon) if len(cla) else np.empty(0)
    anycast = internet + backbone
    runner = a.runner_up
    return pd.DataFrame({
        "lat": cla, "lon": clo,
        "pop_id": np.where(routed, ids[pop], ""),
        "pop_km": a.pop_km,
        "runner_up_id": np.where(runner != NO_ROUTE, ids[np.where(runner != NO_ROUTE, runner, 0)], ""),
        "runner_up_km": a.runner_up_km,
        "backbone_km": backbone_km,
        "internet_ms": internet, "backbone_ms": backbone, "anycast_ms": anycast,
        "direct_km": direct_km, "direct_ms": direct, "saving_ms": direct - anycast,
        "routed": routed,
    })


def rank_pops(lat: float, lon: float, pop_ids: Sequence[str], pop_lats: np.ndarray,
              pop_lons: np.ndarray, origin_lat: float, origin_lon: float,
              down: np.ndarray | None = None) -> pd.DataFrame:
    """Every PoP for one client, ranked by geodesic distance (down ones included, flagged).

    Columns: rank (1 = nearest healthy), pop_id, up, distance_km, internet_ms, backbone_ms,
    anycast_ms. Down PoPs are listed after the healthy ones with rank 0, because support engineers
    need to see them ("would have landed on X, but X is down").
    """
    la, lo = validate_coords([lat], [lon], "client")
    pla, plo = np.asarray(pop_lats, dtype=float), np.asarray(pop_lons, dtype=float)
    down_mask = np.zeros(len(pla), dtype=bool) if down is None else np.asarray(down, dtype=bool)
    km = geodesic_km(la[0], lo[0], pla, plo)
    internet = latency.internet_rtt_ms(np.full_like(pla, la[0]), np.full_like(plo, lo[0]), pla, plo)
    backbone = latency.backbone_rtt_ms(pla, plo, origin_lat, origin_lon)
    df = pd.DataFrame({
        "pop_id": list(pop_ids), "up": ~down_mask, "distance_km": km,
        "internet_ms": internet, "backbone_ms": backbone, "anycast_ms": internet + backbone,
    })
    df = df.sort_values(["up", "distance_km"], ascending=[False, True], kind="stable")
    df.insert(0, "rank", np.where(df["up"], np.cumsum(df["up"].to_numpy()), 0))
    return df.reset_index(drop=True)
