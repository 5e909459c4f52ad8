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
    "origin_id", "served",
)


def per_pop(values: object, n_pops: int, what: str) -> np.ndarray:
    """A scalar (one origin for every PoP) or an array of one value per PoP, as a float array.

    Per-PoP origins come from multi-endpoint mappings (:mod:`dashboard.domain.endpoints`); NaN
    marks a PoP whose endpoint is down.
    """
    arr = np.asarray(values, dtype=float)
    if arr.ndim == 0:
        return np.full(n_pops, float(arr))
    if arr.shape != (n_pops,):
        raise ValueError(f"{what} must be a scalar or have one value per access point "
                         f"({n_pops}), got shape {arr.shape}")
    return arr


def client_paths(client_lats: object, client_lons: object, pop_ids: Sequence[str],
                 pop_lats: np.ndarray, pop_lons: np.ndarray, origin_lat: object, origin_lon: object,
                 down: np.ndarray | None = None,
                 pop_origin_ids: Sequence[str] | str = "", *,
                 params: latency.LatencyParams,
                 direct_origin: tuple[float, float] | None = None) -> pd.DataFrame:
    """One row per client (client order) with columns :data:`PATH_COLUMNS`.

    ``origin_lat``/``origin_lon`` are the origin of every PoP (scalars) or per-PoP arrays (NaN =
    that PoP's endpoint is down); ``pop_origin_ids`` labels them the same way.
    ``anycast_ms`` = ``internet_ms`` (client -> nearest healthy PoP) + ``backbone_ms``, where the
    reported backbone leg includes the PoP's ingress overhead (``params.pop_overhead_ms``) so that
    the two legs shown add up to the total (``params``: the latency model, passed explicitly);
    ``direct_ms`` = internet leg straight to the origin of the default endpoint (the first finite
    origin when per-PoP arrays are given -- callers pass the default endpoint's origin as scalar
    when they want a specific one, or give ``direct_origin`` = (lat, lon) of the default
    endpoint's region, which also covers that endpoint being down); ``saving_ms`` = direct -
    anycast.
    Clients with no healthy PoP have ``routed`` False; clients whose PoP's endpoint is down have
    ``served`` False (the provider does not fail over between endpoints); both get NaN RTTs.
    """
    cla, clo = validate_coords(client_lats, client_lons, "client")
    ids = np.asarray(list(pop_ids), dtype=object)
    n_pops = len(ids)
    olat_p = per_pop(origin_lat, n_pops, "origin_lat")
    olon_p = per_pop(origin_lon, n_pops, "origin_lon")
    oid_p = (np.full(n_pops, pop_origin_ids, dtype=object) if isinstance(pop_origin_ids, str)
             else np.asarray(list(pop_origin_ids), dtype=object))
    a = assign(cla, clo, pop_lats, pop_lons, down=down, alternatives=2)
    routed = a.routed
    pop = np.where(routed, a.pop, 0)
    plat = np.where(routed, np.asarray(pop_lats)[pop], np.nan)
    plon = np.where(routed, np.asarray(pop_lons)[pop], np.nan)
    olat = np.where(routed, olat_p[pop], np.nan)
    olon = np.where(routed, olon_p[pop], np.nan)
    served = routed & np.isfinite(olat)
    internet = np.full(len(cla), np.nan)
    backbone = np.full(len(cla), np.nan)
    backbone_km = np.full(len(cla), np.nan)
    if routed.any():
        r = routed
        internet[r] = latency.internet_rtt_ms(cla[r], clo[r], plat[r], plon[r], params)
    if served.any():
        s = served
        backbone[s] = latency.backbone_leg_ms(plat[s], plon[s], olat[s], olon[s], params)
        backbone_km[s] = geodesic_km(plat[s], plon[s], olat[s], olon[s])
    finite = np.flatnonzero(np.isfinite(olat_p))
    if len(cla) and (direct_origin is not None or len(finite)):
        d_lat, d_lon = ((float(direct_origin[0]), float(direct_origin[1]))
                        if direct_origin is not None else (olat_p[finite[0]], olon_p[finite[0]]))
        direct_km = geodesic_km(cla, clo, d_lat, d_lon)
        direct = latency.internet_rtt_ms(cla, clo, d_lat, d_lon, params)
    else:
        direct_km = np.full(len(cla), np.nan)
        direct = np.full(len(cla), np.nan)
    anycast = np.where(served, internet + backbone, np.nan)
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
        "origin_id": np.where(served, oid_p[pop], ""),
        "served": served,
    })


def rank_pops(lat: float, lon: float, pop_ids: Sequence[str], pop_lats: np.ndarray,
              pop_lons: np.ndarray, origin_lat: object, origin_lon: object,
              down: np.ndarray | None = None, *,
              params: latency.LatencyParams) -> pd.DataFrame:
    """Every PoP for one client, ranked by geodesic distance (down ones included, flagged).

    Columns: rank (1 = nearest healthy), pop_id, up, distance_km, internet_ms, backbone_ms,
    anycast_ms (NaN backbone/anycast where the PoP's endpoint is down; origins as in
    :func:`client_paths`). Down PoPs are listed after the healthy ones with rank 0, because support engineers
    need to see them ("would have landed on X, but X is down").
    """
    la, lo = validate_coords([lat], [lon], "client")
    pla, plo = np.asarray(pop_lats, dtype=float), np.asarray(pop_lons, dtype=float)
    down_mask = np.zeros(len(pla), dtype=bool) if down is None else np.asarray(down, dtype=bool)
    km = geodesic_km(la[0], lo[0], pla, plo)
    internet = latency.internet_rtt_ms(la[0], lo[0], pla, plo, params)
    olat = per_pop(origin_lat, len(pla), "origin_lat")
    olon = per_pop(origin_lon, len(pla), "origin_lon")
    backbone = np.full(len(pla), np.nan)
    ok = np.isfinite(olat)
    backbone[ok] = latency.backbone_leg_ms(pla[ok], plo[ok], olat[ok], olon[ok], params)
    df = pd.DataFrame({
        "pop_id": list(pop_ids), "up": ~down_mask, "distance_km": km,
        "internet_ms": internet, "backbone_ms": backbone,
        "anycast_ms": internet + backbone,
    })
    df = df.sort_values(["up", "distance_km"], ascending=[False, True], kind="stable")
    df.insert(0, "rank", np.where(df["up"], np.cumsum(df["up"].to_numpy()), 0))
    return df.reset_index(drop=True)
