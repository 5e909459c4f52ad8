"""The only reader of the catalog files (``data/pops.csv`` and ``data/origins.csv``).

The provider updates its access-point list without notice, so the catalog is data, not code, and a
user may bring their own files. Everything downstream trusts what this module returns, which is
why loading is strict: a bad file fails at start-up with a message naming the file, the line and
the column, instead of drawing a PoP in the sea or routing to a region that does not exist.
"""

from __future__ import annotations

import csv
import functools
import math
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

AREAS = ("Asia Pacific", "North America", "South America", "Europe", "Australia")
ENDPOINT_TYPES = ("CLB", "ENI", "ALB", "NLB")
ENDPOINT_TYPE_LABELS = {
    "CLB": "Classic Load Balancer (CLB) instance, internal-facing, deployed in a VPC",
    "ENI": "Elastic network interface (ENI), optionally a secondary private IP",
    "ALB": "Application Load Balancer (ALB) instance: one region only",
    "NLB": "Network Load Balancer (NLB) instance: one region only",
}

POP_COLUMNS = ("id", "name", "city", "country_code", "area", "lat", "lon")
POP_OPTIONAL = ("region_id", "capacity_gbps", "source")
ORIGIN_COLUMNS = ("id", "name", "city", "country_code", "lat", "lon", "endpoint_types")
ORIGIN_OPTIONAL = ("source", "documented")

#: Short, URL-safe and stable: ids travel in URLs (``down=CDG``) and API calls.
POP_ID_RE = re.compile(r"^[A-Z0-9]{2,8}$")
#: Alibaba Cloud region ids, e.g. ``eu-central-1``, ``cn-hongkong``.
REGION_ID_RE = re.compile(r"^[a-z]{2,4}-[a-z]+(-[0-9]+)?$")
#: Region ids outside the Chinese mainland that start with ``cn-``.
NON_MAINLAND_CN_REGIONS = frozenset({"cn-hongkong"})
#: ISO 3166-1 alpha-2 of the Chinese mainland; HK, MO and TW are separate codes.
MAINLAND_COUNTRY_CODE = "CN"

# A deliberately conservative outline of the Chinese mainland (lon, lat): every vertex lies inside
# the mainland, so the polygon never reaches Hong Kong, Macau, Taiwan or a neighbour; it exists to
# catch a row whose coordinates were typed for a mainland city (e.g. Beijing, Shenzhen's north).
_MAINLAND_OUTLINE = (
    (80.0, 42.0), (87.0, 48.0), (96.0, 42.5), (105.0, 41.5), (111.0, 43.5), (117.5, 47.5),
    (120.0, 52.0), (126.0, 52.0), (131.0, 47.5), (130.0, 43.0), (124.5, 40.3), (121.5, 39.2),
    (120.0, 37.5), (122.0, 37.0), (120.5, 34.5), (122.0, 31.0), (121.0, 28.0), (119.0, 25.5),
    (117.0, 23.7), (114.5, 22.75), (113.7, 22.75), (112.0, 21.9), (109.6, 21.6), (108.0, 21.7),
    (106.6, 22.5), (103.0, 22.8), (101.0, 21.6), (98.5, 24.2), (97.8, 28.0), (92.0, 28.2),
    (86.0, 28.5), (81.0, 30.5), (79.0, 32.5), (78.6, 35.5), (75.0, 37.5), (74.5, 39.5),
)


class CatalogError(ValueError):
    """A catalog file is missing or invalid. ``str()`` names the file, line and column."""

    def __init__(self, path: Path | str, message: str, line: int | None = None,
                 column: str | None = None) -> None:
        where = str(path)
        if line is not None:
            where += f", line {line}"
        if column is not None:
            where += f", column '{column}'"
        super().__init__(f"{where}: {message}")
        self.path = str(path)
        self.line = line
        self.column = column


def in_mainland_china(lat: float, lon: float) -> bool:
    """True when (lat, lon) in degrees falls inside the conservative mainland outline."""
    inside = False
    pts = _MAINLAND_OUTLINE
    j = len(pts) - 1
    for i in range(len(pts)):
        xi, yi = pts[i]
        xj, yj = pts[j]
        if (yi > lat) != (yj > lat) and lon < (xj - xi) * (lat - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


@dataclass(frozen=True)
class Catalog:
    """The validated access points and origin regions.

    ``pops`` and ``origins`` are indexed 0..n-1 in file order, which is the order of every array a
    domain function returns (site index i is ``pops.iloc[i]``). Treat them as read-only: the
    coordinate arrays are flagged non-writeable and pandas copy-on-write protects the frames.
    """

    pops: pd.DataFrame
    origins: pd.DataFrame
    pops_path: str = ""
    origins_path: str = ""

    # Ids kept once read (cached_property: the frozen instance's __dict__, no setattr): the
    # frames are read-only, and tupling an Arrow string column cost ~0.1 ms on each of the ~15
    # reads of a what-if (issue 16).
    @functools.cached_property
    def pop_ids(self) -> tuple[str, ...]:
        return tuple(self.pops["id"])

    @functools.cached_property
    def origin_ids(self) -> tuple[str, ...]:
        return tuple(self.origins["id"])

    @functools.cached_property
    def _id_maps(self) -> dict[tuple[str, str], dict]:
        return {}

    def pop_map(self, column: str) -> dict:
        """``{PoP id: value of column}`` (file order; a later duplicate id wins, as ``dict(zip)``),
        a fresh copy of the one kept per column: building it from the Arrow columns cost
        ~0.03-0.05 ms on each of a what-if's few reads (issue 16)."""
        return self._kept_map("pops", column)

    def origin_map(self, column: str) -> dict:
        """``{origin id: value of column}``, as :meth:`pop_map` for the origin regions."""
        return self._kept_map("origins", column)

    def positions(self, table: str) -> dict[str, tuple[float, float]]:
        """``{id: (lat, lon)}`` (degrees, Python floats) of ``table`` ("pops" or "origins"), a
        fresh copy of the one kept per catalog: the failover plan read it from the columns on
        every what-if (~0.04 ms, issue 16)."""
        key = (table, "(lat, lon)")
        kept = self._id_maps.get(key)
        if kept is None:
            frame = getattr(self, table)
            kept = dict(zip(frame["id"].tolist(), zip(frame["lat"].to_numpy(float).tolist(),
                                                      frame["lon"].to_numpy(float).tolist())))
            self._id_maps[key] = kept
        return dict(kept)

    def _kept_map(self, table: str, column: str) -> dict:
        kept = self._id_maps.get((table, column))
        if kept is None:
            frame = getattr(self, table)
            kept = dict(zip(frame["id"], frame[column]))
            self._id_maps[(table, column)] = kept
        return dict(kept)

    @property
    def pop_lats(self) -> np.ndarray:
        return _readonly(self.pops["lat"].to_numpy(dtype=float))

    @property
    def pop_lons(self) -> np.ndarray:
        return _readonly(self.pops["lon"].to_numpy(dtype=float))

    def pop_index(self, pop_id: str) -> int:
        """Row of a PoP id; ``KeyError`` naming the id and the known ids otherwise."""
        ids = self.pop_ids
        try:
            return ids.index(pop_id)
        except ValueError:
            raise KeyError(f"unknown access point id {pop_id!r}; known: {', '.join(ids)}") from None

    def origin(self, origin_id: str) -> pd.Series:
        """The row of an origin region id; ``KeyError`` naming the id otherwise."""
        # the first row with that id, by a search of the kept id tuple (a boolean filter of the
        # frame costs ~0.25 ms, listing the Arrow id column each call ~0.05 ms, and every routing
        # asks for the Default region's row: issue 16)
        try:
            return self.origins.iloc[self.origin_ids.index(origin_id)]
        except ValueError:
            raise KeyError(f"unknown origin region id {origin_id!r}; known: "
                           f"{', '.join(self.origin_ids)}") from None

    def origin_record(self, origin_id: str) -> dict[str, Any]:
        """``{column: value}`` of :meth:`origin`'s row (the same values), a fresh copy of the one
        kept per catalog and id: the row of a frame of Arrow columns cost ~0.1-0.3 ms to take
        on each of a what-if's two reads (the endpoint info line, the origin's position; issue
        16). ``KeyError`` naming the id, as :meth:`origin`."""
        key = ("origins", "record", origin_id)
        kept = self._id_maps.get(key)
        if kept is None:
            kept = dict(self.origin(origin_id).items())
            self._id_maps[key] = kept
        return dict(kept)

    @property
    def planned_mask(self) -> np.ndarray:
        """True for the planned (hypothetical) rows added by :meth:`with_planned`."""
        if "planned" not in self.pops.columns:
            return np.zeros(len(self.pops), dtype=bool)
        return self.pops["planned"].to_numpy(dtype=bool)

    @property
    def planned_ids(self) -> tuple[str, ...]:
        return tuple(p for p, m in zip(self.pop_ids, self.planned_mask) if m)

    @property
    def base_pop_ids(self) -> tuple[str, ...]:
        """The catalog's own access points (without planned ones)."""
        return tuple(p for p, m in zip(self.pop_ids, self.planned_mask) if not m)

    def with_planned(self, planned: Sequence[Any]) -> "Catalog":
        """This catalog plus the planned PoPs ``planned`` (``dashboard.domain.planned.PlannedPop``
        values), appended after the catalog's rows, with a boolean ``planned`` column; ``self``
        when there are none. Memoised on (this catalog, the planned tuple), so the effective
        catalog of a scenario is one object and its fingerprint is computed once.

        Planned rows (docs/planning.md, "What the model assumes"): ``name`` and ``city`` "<name
        or id> (planned)", ``country_code`` "" (unknown), ``area`` the area of the nearest
        catalog PoP (the cost estimate bills traffic per area), ``region_id`` "",
        ``capacity_gbps`` the planned capacity (NaN: the scenario's default capacity),
        ``source`` "planned". A planned id that is a catalog id is skipped (callers refuse it).
        """
        planned = tuple(planned)
        if not planned:
            return self
        key = (id(self), planned)
        with _planned_lock:
            hit = _planned_cache.get(key)
            if hit is not None and hit[0] is self:
                _planned_cache.move_to_end(key)
                return hit[1]
        out = _with_planned(self, planned)
        with _planned_lock:
            _planned_cache[key] = (self, out)
            while len(_planned_cache) > _PLANNED_CACHE_SIZE:
                _planned_cache.popitem(last=False)
        return out

    def pop_mask(self, pop_ids: Sequence[str]) -> np.ndarray:
        """Boolean mask over PoPs that are in ``pop_ids`` (unknown ids raise ``KeyError``)."""
        mask = np.zeros(len(self.pops), dtype=bool)
        for pid in pop_ids:
            mask[self.pop_index(pid)] = True
        return mask


_planned_lock = threading.Lock()
#: (id(base catalog), planned tuple) -> (base catalog, effective catalog); the base is kept so an
#: id() reused by another object never matches (checked with ``is``).
_planned_cache: "OrderedDict[tuple, tuple[Catalog, Catalog]]" = OrderedDict()
_PLANNED_CACHE_SIZE = 64


def _with_planned(base: Catalog, planned: tuple[Any, ...]) -> Catalog:
    """The effective catalog (see :meth:`Catalog.with_planned`)."""
    pops = base.pops
    if "planned" not in pops.columns:
        pops = pops.assign(planned=False)
    taken = set(base.pop_ids)
    lat0 = np.radians(base.pop_lats)
    lon0 = np.radians(base.pop_lons)
    rows = []
    for p in planned:
        if p.id in taken:
            continue
        taken.add(p.id)
        la, lo = math.radians(p.lat), math.radians(p.lon)
        # nearest catalog PoP (haversine; only its area is used)
        h = (np.sin((lat0 - la) / 2) ** 2
             + np.cos(la) * np.cos(lat0) * np.sin((lon0 - lo) / 2) ** 2)
        area = str(base.pops["area"].iloc[int(np.argmin(h))]) if len(h) else AREAS[0]
        label = p.name or p.id
        rows.append({"id": p.id, "name": f"{label} (planned)", "city": f"{label} (planned)",
                     "country_code": "", "area": area, "lat": float(p.lat),
                     "lon": float(p.lon), "region_id": "",
                     "capacity_gbps": (math.nan if p.capacity_gbps is None
                                       else float(p.capacity_gbps)),
                     "source": "planned", "planned": True})
    if not rows:
        return base
    extra = pd.DataFrame(rows, columns=list(pops.columns))
    merged = pd.concat([pops, extra], ignore_index=True)
    merged["planned"] = merged["planned"].astype(bool)
    return Catalog(pops=merged, origins=base.origins, pops_path=base.pops_path,
                   origins_path=base.origins_path)


def _readonly(a: np.ndarray) -> np.ndarray:
    a = a.copy()
    a.flags.writeable = False
    return a


def _read_rows(path: Path, required: Sequence[str], optional: Sequence[str]) -> list[dict[str, str]]:
    if not path.is_file():
        raise CatalogError(path, "file not found")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CatalogError(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    reader = csv.DictReader(text.splitlines())
    header = [h.strip() for h in (reader.fieldnames or [])]
    if not header:
        raise CatalogError(path, "empty file: expected a header row", line=1)
    missing = [c for c in required if c not in header]
    if missing:
        raise CatalogError(path, f"missing required column(s) {', '.join(missing)}; "
                                 f"header is: {', '.join(header)}", line=1, column=missing[0])
    unknown = [c for c in header if c not in required and c not in optional]
    if unknown:
        raise CatalogError(path, f"unknown column(s) {', '.join(unknown)}; allowed: "
                                 f"{', '.join(list(required) + list(optional))}", line=1,
                           column=unknown[0])
    dupes = {c for c in header if header.count(c) > 1}
    if dupes:
        raise CatalogError(path, f"duplicate column(s) {', '.join(sorted(dupes))}", line=1)
    rows = []
    for raw in reader:
        line = reader.line_num
        if None in raw:  # more fields than the header
            raise CatalogError(path, f"{len(header) + len(raw[None])} fields, header has "
                                     f"{len(header)}", line=line)
        row = {k.strip(): (v or "").strip() for k, v in raw.items()}
        if all(v == "" for v in row.values()):
            continue
        row["__line__"] = str(line)
        rows.append(row)
    if not rows:
        raise CatalogError(path, "no data rows")
    return rows


def _text(path: Path, row: dict[str, str], col: str) -> str:
    value = row.get(col, "")
    if value == "":
        raise CatalogError(path, "empty value", line=int(row["__line__"]), column=col)
    return value


def _coord(path: Path, row: dict[str, str], col: str, limit: float) -> float:
    raw = _text(path, row, col)
    line = int(row["__line__"])
    try:
        value = float(raw)
    except ValueError:
        raise CatalogError(path, f"{raw!r} is not a number", line=line, column=col) from None
    if not math.isfinite(value) or not -limit <= value <= limit:
        raise CatalogError(path, f"{raw} is outside [-{limit:g}, {limit:g}] degrees",
                           line=line, column=col)
    return value


def _country(path: Path, row: dict[str, str], what: str) -> str:
    code = _text(path, row, "country_code")
    line = int(row["__line__"])
    if not re.fullmatch(r"[A-Z]{2}", code):
        raise CatalogError(path, f"{code!r} is not an ISO 3166-1 alpha-2 code (e.g. HK, SG)",
                           line=line, column="country_code")
    if code == MAINLAND_COUNTRY_CODE:
        raise CatalogError(path, f"{what} in the Chinese mainland: Anycast EIPs are not "
                                 "available there", line=line, column="country_code")
    return code


def _check_not_mainland(path: Path, row: dict[str, str], lat: float, lon: float, what: str) -> None:
    if in_mainland_china(lat, lon):
        raise CatalogError(path, f"coordinates {lat}, {lon} lie in the Chinese mainland; "
                                 f"Anycast EIPs are not available there ({what})",
                           line=int(row["__line__"]), column="lat")


def _unique(path: Path, rows: list[dict[str, str]], col: str) -> None:
    seen: dict[str, int] = {}
    for row in rows:
        value = row[col]
        if value in seen:
            raise CatalogError(path, f"duplicate {col} {value!r} (first on line {seen[value]})",
                               line=int(row["__line__"]), column=col)
        seen[value] = int(row["__line__"])


def _id(path: Path, row: dict, pattern: "re.Pattern[str]", rule: str) -> str:
    """The row's ``id``, checked against ``pattern``; ``CatalogError`` says ``rule`` otherwise."""
    value = _text(path, row, "id")
    if not pattern.fullmatch(value):
        raise CatalogError(path, f"id {value!r} {rule}", line=int(row["__line__"]), column="id")
    return value


def _table(path: Path | str, columns: Any, optional: Any,
           parse: Callable[[Path, dict, int], dict]) -> pd.DataFrame:
    """Read ``path``, turn each row into a record with ``parse(path, row, line)`` (which raises
    :class:`CatalogError`), check that ids are unique; one DataFrame row per record."""
    path = Path(path)
    rows = _read_rows(path, columns, optional)
    out = [parse(path, row, int(row["__line__"])) for row in rows]
    _unique(path, rows, "id")
    return pd.DataFrame(out)


def load_pops(path: Path | str) -> pd.DataFrame:
    """Read and validate the access points file; see ``data/README.md`` for the columns."""
    return _table(path, POP_COLUMNS, POP_OPTIONAL, _pop_record)


def _pop_record(path: Path, row: dict, line: int) -> dict:
    """One access point of ``pops.csv``, validated (``line``: its line number, for errors)."""
    pid = _id(path, row, POP_ID_RE, "must be 2-8 upper-case letters or digits (URL-safe, "
                                    "e.g. HKG)")
    area = _text(path, row, "area")
    if area not in AREAS:
        raise CatalogError(path, f"area {area!r} is not one of: {', '.join(AREAS)}",
                           line=line, column="area")
    lat = _coord(path, row, "lat", 90.0)
    lon = _coord(path, row, "lon", 180.0)
    country = _country(path, row, "access point")
    _check_not_mainland(path, row, lat, lon, f"access point {pid}")
    region = row.get("region_id", "")
    if region and not REGION_ID_RE.fullmatch(region):
        raise CatalogError(path, f"region_id {region!r} is not a region id like us-west-1",
                           line=line, column="region_id")
    cap_raw = row.get("capacity_gbps", "")
    capacity = math.nan
    if cap_raw:
        try:
            capacity = float(cap_raw)
        except ValueError:
            raise CatalogError(path, f"{cap_raw!r} is not a number", line=line,
                               column="capacity_gbps") from None
        if not math.isfinite(capacity) or capacity <= 0:
            raise CatalogError(path, f"capacity {cap_raw} must be a positive number of Gbps",
                               line=line, column="capacity_gbps")
    return {
        "id": pid, "name": _text(path, row, "name"), "city": _text(path, row, "city"),
        "country_code": country, "area": area, "lat": lat, "lon": lon,
        "region_id": region, "capacity_gbps": capacity, "source": row.get("source", ""),
    }


def load_origins(path: Path | str) -> pd.DataFrame:
    """Read and validate the origin regions file; see ``data/README.md`` for the columns."""
    return _table(path, ORIGIN_COLUMNS, ORIGIN_OPTIONAL, _origin_record)


def _origin_record(path: Path, row: dict, line: int) -> dict:
    """One origin region of ``origins.csv``, validated (``line``: its line number)."""
    oid = _id(path, row, REGION_ID_RE, "is not a region id like eu-central-1")
    if oid.startswith("cn-") and oid not in NON_MAINLAND_CN_REGIONS:
        raise CatalogError(path, f"region {oid!r} is in the Chinese mainland: Anycast EIPs "
                                 "cannot be associated with endpoints there",
                           line=line, column="id")
    lat = _coord(path, row, "lat", 90.0)
    lon = _coord(path, row, "lon", 180.0)
    country = _country(path, row, "origin region")
    _check_not_mainland(path, row, lat, lon, f"origin {oid}")
    types = [t.strip() for t in _text(path, row, "endpoint_types").split(";") if t.strip()]
    bad = [t for t in types if t not in ENDPOINT_TYPES]
    if bad or not types:
        raise CatalogError(path, f"endpoint_types {row['endpoint_types']!r}: use a ';'-list "
                                 f"of {', '.join(ENDPOINT_TYPES)}", line=line,
                           column="endpoint_types")
    return {
        "id": oid, "name": _text(path, row, "name"), "city": _text(path, row, "city"),
        "country_code": country, "lat": lat, "lon": lon,
        "endpoint_types": tuple(types), "source": row.get("source", ""),
        "documented": row.get("documented", ""),
    }


def load_catalog(pops_path: Path | str, origins_path: Path | str) -> Catalog:
    """Both files, validated; raises :class:`CatalogError` naming file, line and column."""
    return Catalog(pops=load_pops(pops_path), origins=load_origins(origins_path),
                   pops_path=str(pops_path), origins_path=str(origins_path))


@functools.lru_cache(maxsize=1)
def default_catalog() -> Catalog:
    """The catalog shipped in ``data/`` (loaded once per process; it is immutable)."""
    from dashboard.settings import DATA_DIR

    return load_catalog(DATA_DIR / "pops.csv", DATA_DIR / "origins.csv")
