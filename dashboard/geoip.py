"""The GeoIP database reader: a MaxMind-format ``.mmdb`` opened once per process.

The file is the one ``ANYCAST_GEOIP_MMDB`` names (:class:`dashboard.settings.Settings`
``geoip_mmdb``): GeoLite2-City, DB-IP lite city, an IPinfo-style database or any other
MaxMind-format file with coordinates (the record layouts: :mod:`dashboard.domain.ipgeo`).
Nothing is downloaded: without the setting, :func:`reader_for` returns None and every entry
point says how to configure it (:data:`NO_DATABASE_HINT`).

Reader mode: the ``maxminddb`` C extension over a memory map (``MODE_MMAP_EXT``) when it is
installed -- the fastest (``benchmarks/geoip_lookup.py`` compares the modes) and shared between
forked gunicorn workers by the page cache -- else the pure-Python memory map. The reader is
thread-safe for lookups.

Privacy: addresses are personal data. Nothing here logs an address or a record; errors name the
database file, never a looked-up address.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import maxminddb
import numpy as np
import pandas as pd

from dashboard.domain import ipgeo
from dashboard.settings import Settings

#: What the page, the API and the CLI say when an IP address is given and no database is set.
NO_DATABASE_HINT = (
    "IP addresses need a GeoIP database on this server, and none is configured: download a "
    "MaxMind-format city database (GeoLite2-City.mmdb with a free MaxMind account, or DB-IP's "
    "dbip-city-lite .mmdb, CC BY 4.0) and set ANYCAST_GEOIP_MMDB to its path (docs/geoip.md)")


class GeoIpError(RuntimeError):
    """The configured database cannot be used (missing, not a MaxMind DB); the message names
    the file and the setting."""


@dataclass(frozen=True)
class DbInfo:
    """What the page shows about the database: its type, build date and the attribution its
    licence asks for ("" when none)."""

    path: str
    database_type: str
    built: str
    ip_version: int
    attribution: str


def _attribution(database_type: str, description: Any) -> str:
    """DB-IP lite is CC BY 4.0: its attribution must be shown where the data is used;
    GeoLite2's licence asks for none on screen (docs/geoip.md, "Licences")."""
    text = f"{database_type} {description}".lower()
    if "db-ip" in text or "dbip" in text:
        return "IP geolocation by DB-IP (https://db-ip.com), CC BY 4.0"
    if "ipinfo" in text:
        return "IP address data powered by IPinfo (https://ipinfo.io)"
    if "geolite" in text:
        return "This product includes GeoLite2 data created by MaxMind (https://www.maxmind.com)"
    return ""


class GeoIp:
    """One open database. :meth:`locate` for one address, :meth:`locate_many` for a column
    (each distinct address looked up once)."""

    def __init__(self, path: str | Path, mode: int | None = None) -> None:
        self.path = str(path)
        if mode is None:
            mode = maxminddb.MODE_MMAP_EXT if _has_extension() else maxminddb.MODE_MMAP
        try:
            self._reader = maxminddb.open_database(self.path, mode)
        except FileNotFoundError:
            raise GeoIpError(f"ANYCAST_GEOIP_MMDB: no file {self.path!r}") from None
        except (maxminddb.InvalidDatabaseError, OSError, ValueError) as exc:
            raise GeoIpError(f"ANYCAST_GEOIP_MMDB: {self.path!r} is not a readable MaxMind DB "
                             f"file ({str(exc)[:120]})") from None
        meta = self._reader.metadata()
        self.ip_version = int(meta.ip_version)
        built = np.datetime64(int(meta.build_epoch), "s").astype("datetime64[D]")
        desc = getattr(meta, "description", {}) or {}
        self.info = DbInfo(path=self.path, database_type=str(meta.database_type)[:80],
                           built=str(built), ip_version=self.ip_version,
                           attribution=_attribution(str(meta.database_type), desc))

    def record(self, addr: ipgeo.IPAddress) -> Any:
        """The raw record of a parsed address (None: not in the database). An IPv6 address in
        an IPv4-only database is simply not in it."""
        if addr.version == 6 and self.ip_version == 4:
            return None
        try:
            return self._reader.get(addr)
        except ValueError:  # e.g. IPv6 in an IPv4 tree: not covered
            return None

    def locate(self, text: Any) -> ipgeo.IpResult:
        """One address (text) -> its :class:`~dashboard.domain.ipgeo.IpResult`."""
        checked = ipgeo.check_ip(text)
        if isinstance(checked, ipgeo.IpResult):
            return checked
        return ipgeo.result_from_record(str(checked), self.record(checked))

    def locate_many(self, texts: Iterable[Any]) -> list[ipgeo.IpResult]:
        """Each address located; repeated ones (logs repeat) looked up once."""
        memo: dict[Any, ipgeo.IpResult] = {}
        out = []
        for t in texts:
            r = memo.get(t)
            if r is None:
                r = memo[t] = self.locate(t)
            out.append(r)
        return out

    def locate_column(self, texts: Sequence[Any] | np.ndarray | pd.Series) -> "LocatedColumn":
        """A column of addresses located (the batch engine's stage): distinct values found with
        ``pandas.factorize`` (C speed), each looked up once, then broadcast back as arrays.

        Fast path (same answers as :meth:`locate`; measured in benchmarks/geoip_lookup.py): a
        canonical public IPv4 address (:func:`~dashboard.domain.ipgeo.plain_public_v4`) goes
        straight to the C reader, and the record of a network is turned into a location once
        for all the addresses of that network (``get_with_prefix_len``: logs hold many
        addresses of one /24)."""
        codes, uniques = pd.factorize(pd.Series(texts, dtype=object).fillna(""), sort=False)
        get = self._reader.get_with_prefix_len
        fast = ipgeo.plain_public_v4
        by_net: dict[tuple[int, int], int] = {}
        ips: list[str] = []
        results: list[ipgeo.IpResult] = []  # distinct outcomes (one per network seen)
        which: list[int] = []  # per distinct address: its outcome in ``results``
        for u in uniques.tolist():
            value = fast(u) if isinstance(u, str) else -1
            if value < 0:
                r = self.locate(u)
                ips.append(r.ip)
                which.append(len(results))
                results.append(r)
                continue
            record, plen = get(u)
            key = (value >> (32 - plen) if plen < 32 else value, plen)
            j = by_net.get(key)
            if j is None:
                j = by_net[key] = len(results)
                results.append(ipgeo.result_from_record(u, record))
            ips.append(u)
            which.append(j)
        rows = np.asarray(which, dtype=np.int64)[codes] if len(which) else codes
        return LocatedColumn.from_results(results, rows, np.asarray(ips, dtype=object)[codes]
                                          if len(ips) else np.empty(0, dtype=object))

    def close(self) -> None:
        self._reader.close()


@dataclass(frozen=True)
class LocatedColumn:
    """A located column, one entry per input row: ``lat``/``lon`` (NaN when not located),
    ``radius_km`` (NaN when none), ``ip`` (canonical text; "" when malformed), ``place``,
    ``status``, ``message`` (object arrays)."""

    lat: np.ndarray
    lon: np.ndarray
    radius_km: np.ndarray
    ip: np.ndarray
    place: np.ndarray
    status: np.ndarray
    message: np.ndarray

    @property
    def ok(self) -> np.ndarray:
        return self.status == ipgeo.OK

    @classmethod
    def from_results(cls, results: list[ipgeo.IpResult], rows: np.ndarray,
                     ips: np.ndarray | None = None) -> "LocatedColumn":
        """Row ``k`` is ``results[rows[k]]``; ``ips``: each row's address (default: the
        result's own, when results are not shared by the addresses of a network)."""
        n = len(results)
        lat = np.full(n, np.nan)
        lon = np.full(n, np.nan)
        rad = np.full(n, np.nan)
        place = np.empty(n, dtype=object)
        status = np.empty(n, dtype=object)
        message = np.empty(n, dtype=object)
        for i, r in enumerate(results):
            status[i], message[i] = r.status, r.message
            loc = r.location
            if loc is not None:
                lat[i], lon[i] = loc.lat, loc.lon
                rad[i] = np.nan if loc.radius_km is None else loc.radius_km
                place[i] = loc.place
            else:
                place[i] = ""
        if ips is None:
            ips = np.array([r.ip for r in results], dtype=object)[rows]
        return cls(lat=lat[rows], lon=lon[rows], radius_km=rad[rows], ip=ips,
                   place=place[rows], status=status[rows], message=message[rows])

    @classmethod
    def unlocated(cls, texts: Sequence[Any], status: str, message: str) -> "LocatedColumn":
        """Every row with the same failure (no database configured)."""
        n = len(texts)
        ip = np.array([t if isinstance(t, str) else "" for t in texts], dtype=object)
        return cls(lat=np.full(n, np.nan), lon=np.full(n, np.nan), radius_km=np.full(n, np.nan),
                   ip=ip, place=np.full(n, "", dtype=object),
                   status=np.full(n, status, dtype=object),
                   message=np.full(n, message, dtype=object))


def _has_extension() -> bool:
    try:
        from maxminddb import extension  # noqa: F401
    except ImportError:  # pragma: no cover - wheels ship it
        return False
    return hasattr(extension, "Reader")


_lock = threading.Lock()


@functools.lru_cache(maxsize=4)
def _open(path: str, mtime_ns: int) -> GeoIp:
    return GeoIp(path)


def open_geoip(path: str | Path) -> GeoIp:
    """The database at ``path``, opened once per process (a replaced file, with a new
    modification time, is opened again). Raises :class:`GeoIpError`."""
    p = Path(path)
    try:
        mtime = p.stat().st_mtime_ns
    except OSError:
        raise GeoIpError(f"ANYCAST_GEOIP_MMDB: no file {str(p)!r}") from None
    with _lock:
        return _open(str(p), mtime)


def reader_for(settings: Settings) -> GeoIp | None:
    """The configured database, or None when ``ANYCAST_GEOIP_MMDB`` is not set. Raises
    :class:`GeoIpError` when it is set to something unusable."""
    if settings.geoip_mmdb is None:
        return None
    return open_geoip(settings.geoip_mmdb)
