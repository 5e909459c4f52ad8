"""Routing one chunk of the batch engine: the :class:`Job` every chunk is routed with,
:func:`route_chunk` (the same domain functions as the page and the API:
:func:`dashboard.domain.paths.client_paths`) and, for files of IP addresses, the locate stage
before it (:func:`locate_chunk`, :func:`route_ip_chunk`).

Units: degrees in; km and round-trip ms out, rounded to 0.001 like the old ``assign``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from dashboard import latency
from dashboard.catalog import Catalog
from dashboard.domain import clients as cl
from dashboard.domain import ipgeo, paths
from dashboard.domain.access import DEFAULT_ACCESS, check_access
from dashboard.domain.policy import DEFAULT_POLICY, check_policy, pop_bias
from dashboard.services.batch.base import BatchError
from dashboard.services.routing import down_mask, origin_spec


def output_columns(route_columns: Sequence[str]) -> list[str]:
    """Columns of ``assign`` output: the client as read, then the route table's, then the
    policy and the client access type."""
    return (["name", "lat", "lon", "weight"]
            + [c for c in route_columns if c not in ("lat", "lon")] + ["policy", "access"])


@dataclass(frozen=True)
class Job:
    """What every chunk is routed with (picklable: Dask ships it to the workers)."""

    origin: str
    down: frozenset[str] = frozenset()
    policy: str = DEFAULT_POLICY
    #: Who the clients are (``domain.access``): end users by default, as everywhere.
    access: str = DEFAULT_ACCESS
    #: Announcement bias (``domain.bias``, canonical ``((pop, ms), ...)``): selection only.
    bias: tuple[tuple[str, float], ...] = ()
    #: The GeoIP database for files of IP addresses (``Settings.geoip_mmdb``; each process
    #: opens it once: :func:`dashboard.geoip.open_geoip`). None: such a file gets every row's
    #: ``geoip_status`` = ``no_database`` and the hint (nothing else changes).
    geoip_mmdb: str | None = None


def route_chunk(catalog: Catalog, clients: pd.DataFrame, job: Job) -> pd.DataFrame:
    """The ``assign`` rows of a chunk of clients: the client as read, its path (the columns of
    :data:`dashboard.domain.paths.PATH_COLUMNS` but lat/lon), ``policy``; km/ms rounded to
    0.001. The same computation as ``services.routing.route_table`` (without its memo, which
    would key on millions of coordinates)."""
    params = latency.params_with((), check_access(job.access))
    olat, olon, oids, direct = origin_spec(catalog, job.origin)
    table = paths.client_paths(
        clients["lat"].to_numpy(dtype=float), clients["lon"].to_numpy(dtype=float),
        catalog.pop_ids, catalog.pop_lats, catalog.pop_lons, olat, olon,
        down=down_mask(catalog, job.down), pop_origin_ids=oids, direct_origin=direct,
        params=params, policy=check_policy(job.policy),
        bias=pop_bias(job.bias, catalog.pop_ids, params))
    # one frame built from the columns (pandas' insert and per-column assignment cost ~1.5 ms
    # per 50,000 rows each); km/ms rounded with numpy's round, as Series.round does it
    cols: dict[str, Any] = {"name": clients["name"].array,  # text as read: no copy
                            "lat": clients["lat"].to_numpy(dtype=float),
                            "lon": clients["lon"].to_numpy(dtype=float),
                            "weight": clients["weight"].to_numpy(dtype=float)}
    for col in table.columns:
        if col in ("lat", "lon"):
            continue
        v = table[col]
        cols[col] = (np.round(v.to_numpy(dtype=float), 3) if col.endswith(("_km", "_ms"))
                     else v)  # a Series: object text stays objects (no inference)
    n = len(table)
    cols["policy"] = constant_text(job.policy, n)
    cols["access"] = constant_text(job.access, n)
    return pd.DataFrame(cols, copy=False)


def constant_text(value: str, n: int) -> pd.Series:
    """``n`` copies of ``value`` as a pandas ``str`` Series (Arrow text), built from its
    buffers: the same Series as ``pd.Series(np.full(n, value, dtype=object), dtype="str")``
    without a Python object per row (~0.07 instead of ~2.8 ms per 50,000 rows, issue 16)."""
    data = value.encode("utf-8")
    offsets = np.arange(n + 1, dtype=np.int64) * len(data)
    arr = pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data * n))
    return pd.Series(pd.array(arr, dtype="str"))


#: Columns an IP file's output has before the route table's (the address as given, where the
#: GeoIP database put it, and why not).
IP_COLUMNS = ["ip", "geoip_status", "geoip_message", "geoip_place", "geoip_radius_km"]


def locate_chunk(chunk: pd.DataFrame, geoip_mmdb: str | None) -> pd.DataFrame:
    """The locate stage: a chunk of addresses (:func:`_ip_frame`) -> the clients' ``lat``,
    ``lon`` (NaN when not located) and the :data:`IP_COLUMNS`. Each distinct address is looked
    up once (``GeoIp.locate_column``); a row that cannot be located keeps its message."""
    from dashboard.geoip import NO_DATABASE_HINT, GeoIpError, LocatedColumn, open_geoip

    ips = chunk["ip"].to_numpy(dtype=object)
    if geoip_mmdb is None:
        got = LocatedColumn.unlocated(ips, ipgeo.NO_DATABASE, NO_DATABASE_HINT)
    else:
        try:
            got = open_geoip(geoip_mmdb).locate_column(ips)
        except GeoIpError as exc:
            raise BatchError(str(exc)) from None
    status = got.status.copy()
    message = got.message.copy()
    bad_w = ~chunk["weight_ok"].to_numpy(dtype=bool)
    if bad_w.any():
        status[bad_w] = ipgeo.MALFORMED
        message[bad_w] = f"the weight is not a number in [0, {cl.MAX_WEIGHT:g}]"
    ok = status == ipgeo.OK
    return pd.DataFrame({
        "ip": ips, "geoip_status": status, "geoip_message": message,
        "geoip_place": got.place, "geoip_radius_km": got.radius_km,
        "name": chunk["name"].to_numpy(dtype=object),
        # the one rounding of a client's position (domain.clients.COORD_DECIMALS, ~11 m)
        "lat": np.round(np.where(ok, got.lat, np.nan), cl.COORD_DECIMALS) + 0.0,
        "lon": np.round(np.where(ok, got.lon, np.nan), cl.COORD_DECIMALS) + 0.0,
        "weight": chunk["weight"].to_numpy(dtype=float)})


def route_ip_chunk(catalog: Catalog, chunk: pd.DataFrame, job: Job) -> pd.DataFrame:
    """A chunk of addresses located (:func:`locate_chunk`) and the located rows routed
    (:func:`route_chunk`); the other rows stay, in place, with ``routed`` False and empty path
    columns: every input row is an output row."""
    located = locate_chunk(chunk, job.geoip_mmdb)
    ok = (located["geoip_status"] == ipgeo.OK).to_numpy()
    routed = route_chunk(catalog, located.loc[ok, ["lat", "lon", "name", "weight"]]
                         .reset_index(drop=True), job)
    routed.index = np.flatnonzero(ok)
    full = routed.reindex(range(len(located)))
    for col in routed.columns:
        kind = routed[col].dtype
        if pd.api.types.is_bool_dtype(kind):
            full[col] = full[col].fillna(False).astype(bool)
        elif not pd.api.types.is_float_dtype(kind):
            full[col] = full[col].fillna("")
    for col in ("name", "lat", "lon", "weight"):
        full[col] = located[col].to_numpy()
    full["policy"] = job.policy
    full["access"] = job.access
    for i, col in enumerate(IP_COLUMNS):
        full.insert(i, col, located[col].to_numpy())
    return full
