"""The GeoIP database reader: a MaxMind-format ``.mmdb`` opened once per process.

The file is the one ``ANYCAST_GEOIP_MMDB`` names (:class:`dashboard.settings.Settings`
``geoip_mmdb``): GeoLite2-City, DB-IP lite city, an IPinfo-style database or any other
MaxMind-format file with coordinates (the record layouts: :mod:`dashboard.domain.ipgeo`).
Nothing is downloaded: without the setting, :func:`reader_for` returns None and every entry
point says how to configure it (:data:`NO_DATABASE_HINT`).

Reader mode: the ``maxminddb`` C extension over a memory map (``MODE_MMAP_EXT``) when it is
installed -- the fastest (``benchmarks/geoip_lookup.py`` compares the modes) and shared between
forked gunicorn workers by the page cache -- else the pure-Python memory map. The reader is
thread-safe for lookups. A column of addresses (the batch engine) is located by one vectorised
walk of the database's search tree (:class:`SearchTree`, :meth:`GeoIp.locate_column`).

Privacy: addresses are personal data. Nothing here logs an address or a record; errors name the
database file, never a looked-up address.
"""

from __future__ import annotations

import functools
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import maxminddb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from dashboard.domain import ipgeo
from dashboard.settings import Settings

#: What the page, the API and the CLI say when an IP address is given and no database is set.
NO_DATABASE_HINT = (
    "IP addresses need a GeoIP database, and none is configured: download a "
    "MaxMind-format city database (GeoLite2-City.mmdb with a free MaxMind account, or DB-IP's "
    "dbip-city-lite .mmdb, CC BY 4.0) and set ANYCAST_GEOIP_MMDB to its path (docs/geoip.md)")


_lock = threading.Lock()


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


class SearchTree:
    """The database's binary search tree as a numpy array, walked for many addresses at once:
    the batch engine's lookup (one numpy gather per address bit for the whole column, instead
    of one C call per address that also decodes the record; benchmarks/geoip_lookup.py).

    MaxMind DB format 2.0 (https://maxmind.github.io/MaxMind-DB/): ``node_count`` nodes of two
    records of ``record_size`` bits (24, 28 or 32); a record < ``node_count`` is the next node,
    ``== node_count`` means "not in the database", larger is a pointer to the data section
    (the same pointer = the same record). IPv4 addresses in an IPv6 tree start at the node
    reached by 96 zero bits. Memory: 8 bytes per node (GeoLite2-City: ~30 MB), built once per
    process on first use."""

    def __init__(self, path: str, node_count: int, record_size: int, ip_version: int) -> None:
        n = int(node_count)
        width = record_size * 2 // 8
        with open(path, "rb") as fh:
            raw = np.frombuffer(fh.read(n * width), dtype=np.uint8)
        if len(raw) != n * width:
            raise GeoIpError(f"ANYCAST_GEOIP_MMDB: {path!r} is truncated (search tree)")
        b = raw.reshape(n, width).astype(np.uint32)
        if record_size == 24:
            left = (b[:, 0] << 16) | (b[:, 1] << 8) | b[:, 2]
            right = (b[:, 3] << 16) | (b[:, 4] << 8) | b[:, 5]
        elif record_size == 28:
            left = ((b[:, 3] & 0xF0) << 20) | (b[:, 0] << 16) | (b[:, 1] << 8) | b[:, 2]
            right = ((b[:, 3] & 0x0F) << 24) | (b[:, 4] << 16) | (b[:, 5] << 8) | b[:, 6]
        elif record_size == 32:
            left = (b[:, 0] << 24) | (b[:, 1] << 16) | (b[:, 2] << 8) | b[:, 3]
            right = (b[:, 4] << 24) | (b[:, 5] << 16) | (b[:, 6] << 8) | b[:, 7]
        else:
            raise GeoIpError(f"ANYCAST_GEOIP_MMDB: record size {record_size} is not 24, 28 "
                             "or 32 bits")
        #: children[node, bit] (int64: node ids and pointers up to 2**32)
        self.children = np.stack([left, right], axis=1).astype(np.int64)
        self.node_count = n
        self.ip_version = ip_version
        node, depth = 0, 0
        if ip_version == 6:
            while depth < 96 and node < n:
                node, depth = int(self.children[node, 0]), depth + 1
        self.ipv4_start = node

    def walk(self, hi: np.ndarray, lo: np.ndarray, bits: int, start: int) -> np.ndarray:
        """Terminal record of each address: ``bits`` bits (32 for IPv4, 128 for IPv6), given as
        two unsigned 64-bit halves (IPv4: ``hi`` unused, the address in ``lo``)."""
        n = self.node_count
        node = np.full(len(lo), start, dtype=np.int64)
        idx = np.flatnonzero(node < n)
        for i in range(bits):
            if not len(idx):
                break
            pos = bits - 1 - i
            half, shift = (hi, pos - 64) if pos >= 64 else (lo, pos)
            bit = ((half[idx] >> np.uint64(shift)) & np.uint64(1)).astype(np.int64)
            node[idx] = self.children[node[idx], bit]
            idx = idx[node[idx] < n]
        node[node < n] = n  # a malformed tree deeper than the address: not found
        return node


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
        self._tree: SearchTree | None = None
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
        """A column of addresses located (the batch engine's stage): each distinct value once
        (``pandas.factorize``), the answers broadcast back as arrays -- the same answers as
        :meth:`locate` (tested), faster:

        * canonical dotted quads are parsed and checked for special ranges in Arrow and numpy
          (:data:`~dashboard.domain.ipgeo.DOTTED_QUAD`,
          :data:`~dashboard.domain.ipgeo.SPECIAL_FIRST_OCTETS`); IPv6 addresses in canonical
          form (RFC 5952, as ``str(IPv6Address)`` writes them) by the C library
          (:func:`_canonical_v6`); other text goes through
          :func:`~dashboard.domain.ipgeo.check_ip` one by one (odd forms, errors);
        * every public address walks the search tree at once (:class:`SearchTree`);
        * each distinct database record is decoded once, by the C reader, for one of its
          addresses."""
        codes, uniques = pd.factorize(pd.Series(texts, dtype=object).fillna(""), sort=False)
        uniq = np.asarray(uniques, dtype=object)
        m = len(uniq)
        # only ASCII text can be a dotted quad (and Arrow refuses lone surrogates)
        text = pa.array([u if isinstance(u, str) and u.isascii() else "" for u in uniq.tolist()],
                        type=pa.string())
        quad = pc.match_substring_regex(text, f"^{ipgeo.DOTTED_QUAD}$").to_numpy(
            zero_copy_only=False)
        ip = np.empty(m, dtype=object)
        done: dict[int, ipgeo.IpResult] = {}  # slow-path outcomes that need no lookup
        v4_rows: list[np.ndarray] = []
        v4_vals: list[np.ndarray] = []
        v6_rows: list[int] = []
        q = np.flatnonzero(quad)
        fast = np.zeros(m, dtype=bool)
        if len(q):
            parts = pc.list_flatten(pc.split_pattern(text.take(pa.array(q)), "."))
            octets = np.asarray(pc.cast(parts, pa.int64())).reshape(-1, 4)
            public = ~np.isin(octets[:, 0], list(ipgeo.SPECIAL_FIRST_OCTETS))
            rows = q[public]
            o = octets[public]
            v4_rows.append(rows)
            v4_vals.append((o[:, 0] << 24) | (o[:, 1] << 16) | (o[:, 2] << 8) | o[:, 3])
            ip[rows] = uniq[rows]
            fast[rows] = True
        v6_packed: list[bytes] = []
        for i in np.flatnonzero(~fast).tolist():
            u = uniq[i]
            packed = _canonical_v6(u)
            if packed is not None and ipgeo.special_range_int(
                    int.from_bytes(packed, "big"), 6) is None:
                v6_rows.append(i)  # a public IPv6 address already in canonical form
                v6_packed.append(packed)
                ip[i] = u
                continue
            checked = ipgeo.check_ip(u)
            if isinstance(checked, ipgeo.IpResult):
                done[i] = checked
                ip[i] = checked.ip
            elif checked.version == 4:
                v4_rows.append(np.array([i]))
                v4_vals.append(np.array([int(checked)], dtype=np.int64))
                ip[i] = str(checked)
            else:
                v6_rows.append(i)
                v6_packed.append(checked.packed)
                ip[i] = str(checked)
        terminal = np.full(m, -1, dtype=np.int64)  # -1: decided without the tree
        tree = self.tree()
        if v4_rows:
            rows = np.concatenate(v4_rows)
            vals = np.concatenate(v4_vals).astype(np.uint64)
            terminal[rows] = tree.walk(np.zeros_like(vals), vals, 32, tree.ipv4_start)
        if v6_rows:
            rows6 = np.asarray(v6_rows, dtype=np.int64)
            if tree.ip_version == 4:
                terminal[rows6] = tree.node_count
            else:
                halves = np.frombuffer(b"".join(v6_packed), dtype=">u8").reshape(-1, 2)
                terminal[rows6] = tree.walk(halves[:, 0].astype(np.uint64),
                                            halves[:, 1].astype(np.uint64), 128, 0)
        # one outcome per distinct record: decoded by the C reader for its first address
        looked = np.flatnonzero(terminal >= 0)
        keys, first, which = np.unique(terminal[looked], return_index=True,
                                       return_inverse=True)
        results: list[ipgeo.IpResult] = []
        for key, j in zip(keys.tolist(), first.tolist()):
            rep = ip[looked[j]]
            record = None if key == tree.node_count else self._reader.get(rep)
            results.append(ipgeo.result_from_record(rep, record))
        slot = np.empty(m, dtype=np.int64)
        slot[looked] = np.asarray(which, dtype=np.int64).reshape(-1)
        for i, r in done.items():
            slot[i] = len(results)
            results.append(r)
        rows_out = slot[codes] if m else codes
        return LocatedColumn.from_results(results, rows_out, ip[codes] if m else
                                          np.empty(0, dtype=object))

    def tree(self) -> SearchTree:
        """The search tree as arrays (built on first use, then kept)."""
        if self._tree is None:
            with _lock:
                if self._tree is None:
                    meta = self._reader.metadata()
                    self._tree = SearchTree(self.path, meta.node_count, meta.record_size,
                                            meta.ip_version)
        return self._tree

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


def _canonical_v6(text: Any) -> bytes | None:
    """The 16 bytes of an IPv6 address written in canonical form (lower case, the longest run
    of zero groups compressed: what ``str(IPv6Address)`` writes), else None (then
    :func:`~dashboard.domain.ipgeo.check_ip` reads it). ``inet_pton``/``inet_ntop`` are the C
    library's: ~20x faster than the ``ipaddress`` parser."""
    if not isinstance(text, str) or ":" not in text or len(text) > 45:
        return None
    try:
        packed = socket.inet_pton(socket.AF_INET6, text)
    except (OSError, ValueError):
        return None
    return packed if socket.inet_ntop(socket.AF_INET6, packed) == text else None


def _has_extension() -> bool:
    try:
        from maxminddb import extension  # noqa: F401
    except ImportError:  # pragma: no cover - wheels ship it
        return False
    return hasattr(extension, "Reader")


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
