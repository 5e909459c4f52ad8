"""Client lists from CSV text: pure parsing and validation, no I/O.

The dashboard upload, the API and ``anycast-dashboard assign`` all read clients through
:func:`parse_clients`, so a file is accepted or rejected the same way everywhere, with a message
naming the file line and the column that is wrong.

Accepted format (UTF-8, with or without a byte-order mark; blank lines and lines starting with
``#`` are ignored -- except after a header whose first column is ``name``, where ``#`` may begin
a name and such lines are data):

* **with a header row**: columns named, in any order and any case, ``lat`` (or ``latitude``),
  ``lon`` (or ``lng``, ``long``, ``longitude``), and optionally ``name`` and ``weight``;
* **without a header**: ``lat,lon[,x][,y]`` where, of the optional fields, the numeric one is the
  weight and the other the name. Both orders in use (``lat,lon,weight,name`` and
  ``lat,lon,name,weight``) are therefore understood; when both are numbers the first is the weight.

Units: latitude and longitude in decimal degrees (WGS84), latitude in [-90, 90], longitude in
[-180, 180]; ``weight`` is a non-negative relative demand (default 1.0), ``name`` is plain text
(default ``""``) that is never interpreted. Fields may be separated by commas, or by tabs or
semicolons when the first line holds no comma.
"""

from __future__ import annotations

import csv
import io
import math
import re

import pandas as pd

CLIENT_COLUMNS = ("lat", "lon", "name", "weight")

#: Header names (lower-cased) -> canonical column.
HEADER_ALIASES = {
    "lat": "lat", "latitude": "lat",
    "lon": "lon", "lng": "lon", "long": "lon", "longitude": "lon",
    "name": "name",
    "weight": "weight",
}

# Plain decimal numbers only: float() would also take "1_000", "nan", "infinity" and non-ASCII
# digits, none of which belongs in a coordinate file.
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_SPECIAL = re.compile(r"[+-]?(?:nan|inf|infinity)", re.IGNORECASE)
_MAX_FIELD = 10_000  # characters; a name longer than this is not a name


class ClientsError(ValueError):
    """A client file cannot be used. ``line`` (1-based line of the file, ``None`` for the whole
    file) and ``column`` (``lat``, ``lon``, ``name``, ``weight`` or ``None``) say where; ``str()``
    says both and what is wrong."""

    def __init__(self, message: str, line: int | None = None, column: str | None = None) -> None:
        where = []
        if line is not None:
            where.append(f"line {line}")
        if column is not None:
            where.append(f"column '{column}'")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)
        self.reason = message
        self.line = line
        self.column = column


def parse_clients(data: str | bytes, max_rows: int | None = None,
                  max_bytes: int | None = None) -> pd.DataFrame:
    """Clients from CSV text or bytes -> DataFrame with columns ``lat, lon, name, weight``.

    Rows keep file order (degrees; weight >= 0, default 1.0; name default ``""``). ``max_bytes``
    and ``max_rows`` cap the input size (``None`` = no cap); the web app passes its limits so
    one upload cannot exhaust a worker. Raises :class:`ClientsError` for anything it cannot use.
    """
    text = _decode(data, max_bytes)
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise ClientsError("binary data (a NUL byte): expected a CSV text file", line=line)
    lines = _Lines(text)
    reader = csv.reader(lines, delimiter=_delimiter(text), strict=True)
    lats: list[float] = []
    lons: list[float] = []
    names: list[str] = []
    weights: list[float] = []
    header: list[str] | None = None
    seen_first = False
    while True:
        lines.at_record_start = True
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise ClientsError(f"malformed CSV ({exc})", line=lines.record_line) from None
        start = lines.record_line
        fields = [f.strip() for f in row]
        if not any(fields):  # a line of empty fields, e.g. ",,"
            continue
        if any(len(f) > _MAX_FIELD for f in fields):
            raise ClientsError(f"a field is longer than {_MAX_FIELD} characters", line=start)
        if not seen_first:
            seen_first = True
            if _looks_like_header(fields):
                header = _header(fields, start)
                # Elsewhere a data row starts with a number, so "#" can only open a comment;
                # with names first it may open a name, and dropping that row would lose data.
                lines.comments = header[0] != "name"
                continue
        if max_rows is not None and len(lats) >= max_rows:
            raise ClientsError(f"more than {max_rows} clients (the limit)", line=start)
        if header is None:
            lat, lon, name, weight = _positional(fields, start)
        else:
            lat, lon, name, weight = _named(fields, header, start)
        lats.append(lat)
        lons.append(lon)
        names.append(name)
        weights.append(weight)
    if not lats:
        raise ClientsError("no client rows (expected lines like: 48.86,2.35,Paris,1)"
                           if header is None else "a header but no client rows")
    return pd.DataFrame({"lat": pd.Series(lats, dtype="float64"),
                         "lon": pd.Series(lons, dtype="float64"),
                         "name": pd.Series(names, dtype=object),
                         "weight": pd.Series(weights, dtype="float64")})


class _Lines:
    """The file's lines for ``csv.reader``, minus blank and ``#`` comment lines, counting lines.

    Comments are dropped only where a record starts (the parse loop sets ``at_record_start``
    before each record), so a quoted multi-line name may contain a line starting with ``#``, and
    a quote inside a comment can never swallow the lines after it.
    """

    def __init__(self, text: str) -> None:
        self._it = iter(io.StringIO(text, newline=""))
        self.line = 0  # physical line number of the last line handed out
        self.record_line = 0  # first line of the current record
        self.at_record_start = True
        self.comments = True  # whether "#" lines are comments (see parse_clients)

    def __iter__(self) -> "_Lines":
        return self

    def __next__(self) -> str:
        while True:
            raw = next(self._it)
            self.line += 1
            if self.at_record_start:
                stripped = raw.strip()
                if not stripped or (self.comments and stripped.startswith("#")):
                    continue
                self.at_record_start = False
                self.record_line = self.line
            return raw


def _decode(data: str | bytes, max_bytes: int | None) -> str:
    if isinstance(data, (bytes, bytearray, memoryview)):
        raw = bytes(data)
        if max_bytes is not None and len(raw) > max_bytes:
            raise ClientsError(f"the file is {len(raw):,} bytes, more than the limit of "
                               f"{max_bytes:,} bytes")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = raw.count(b"\n", 0, exc.start) + 1
            raise ClientsError(f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset "
                               f"{exc.start}); save the file as UTF-8 CSV", line=line) from None
    elif isinstance(data, str):
        text = data
        if max_bytes is not None and len(text) > max_bytes // 4:  # cheap bound, then exact
            size = len(text.encode("utf-8", "surrogatepass"))
            if size > max_bytes:
                raise ClientsError(f"the file is {size:,} bytes, more than the limit of "
                                   f"{max_bytes:,} bytes")
        text = text.removeprefix("\ufeff")
    else:
        raise TypeError(f"expected str or bytes, got {type(data).__name__}")
    return text


def _delimiter(text: str) -> str:
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            if "," in line:
                return ","
            return "\t" if "\t" in line else ";" if ";" in line else ","
    return ","


def _is_number(field: str) -> bool:
    return bool(_NUMBER.fullmatch(field))


def _numeric_like(field: str) -> bool:
    """A number, or NaN/infinity (which are then rejected as values, not taken for names)."""
    return _is_number(field) or bool(_SPECIAL.fullmatch(field))


def _looks_like_header(fields: list[str]) -> bool:
    """A first row is a header when its first field is text, not a (bad) number or a gap:
    ``48.86°`` or ``nan`` is a data row with a bad latitude, ``Latitude`` is a header."""
    first = fields[0]
    return first != "" and first[0] not in "+-.0123456789" and not _SPECIAL.fullmatch(first)


def _header(fields: list[str], line: int) -> list[str]:
    cols: list[str] = []
    for f in fields:
        col = HEADER_ALIASES.get(f.lower())
        if col is None:
            what = "an empty column name" if f == "" else f"{f!r} is not a known column name"
            raise ClientsError(
                f"{what}: a header row names the columns lat, lon and optionally name, weight "
                "(aliases: latitude, longitude, lng, long); without a header, rows start with "
                "the latitude", line=line)
        if col in cols:
            raise ClientsError(f"column {col!r} appears twice in the header", line=line,
                               column=col)
        cols.append(col)
    for need in ("lat", "lon"):
        if need not in cols:
            raise ClientsError(f"the header has no {need!r} column", line=line, column=need)
    return cols


def _coord(field: str, col: str, limit: float, line: int) -> float:
    if field == "":
        raise ClientsError("empty value", line=line, column=col)
    if _SPECIAL.fullmatch(field):
        raise ClientsError(f"{field!r} is not a finite number", line=line, column=col)
    if not _is_number(field):
        raise ClientsError(f"{field!r} is not a number (decimal degrees, e.g. 48.86)",
                           line=line, column=col)
    value = float(field)
    if not -limit <= value <= limit:
        kind = "latitude" if col == "lat" else "longitude"
        raise ClientsError(f"{kind} {field} is outside [-{limit:g}, {limit:g}] degrees",
                           line=line, column=col)
    return value


def _weight(field: str, line: int) -> float:
    if field == "":
        return 1.0
    if not _is_number(field) and not _SPECIAL.fullmatch(field):
        raise ClientsError(f"{field!r} is not a number", line=line, column="weight")
    value = float(field)
    if not math.isfinite(value) or value < 0:
        raise ClientsError(f"weight {field} must be a finite number >= 0", line=line,
                           column="weight")
    return value


def _count(fields: list[str]) -> str:
    return "1 field" if len(fields) == 1 else f"{len(fields)} fields"


def _positional(fields: list[str], line: int) -> tuple[float, float, str, float]:
    if not 2 <= len(fields) <= 4:
        raise ClientsError(f"{_count(fields)}; expected lat,lon[,weight][,name] "
                           "(or add a header row)", line=line)
    lat = _coord(fields[0], "lat", 90.0, line)
    lon = _coord(fields[1], "lon", 180.0, line)
    if len(fields) == 2:
        return lat, lon, "", 1.0
    if len(fields) == 3:
        x = fields[2]
        if _numeric_like(x):
            return lat, lon, "", _weight(x, line)
        return lat, lon, x, 1.0
    x, y = fields[2], fields[3]
    if _numeric_like(x):  # lat,lon,weight,name (also when both are numbers)
        return lat, lon, y, _weight(x, line)
    if _numeric_like(y) or y == "":  # lat,lon,name,weight
        return lat, lon, x, _weight(y, line)
    if x == "":  # lat,lon,,name
        return lat, lon, y, 1.0
    raise ClientsError(f"neither {x!r} nor {y!r} is a number: with four fields one of them is "
                       "the weight (lat,lon,name,weight or lat,lon,weight,name)", line=line,
                       column="weight")


def _named(fields: list[str], header: list[str], line: int) -> tuple[float, float, str, float]:
    if len(fields) != len(header):
        raise ClientsError(f"{_count(fields)}, but the header has {len(header)} "
                           f"({','.join(header)})", line=line)
    row = dict(zip(header, fields))
    return (_coord(row["lat"], "lat", 90.0, line), _coord(row["lon"], "lon", 180.0, line),
            row.get("name", ""), _weight(row.get("weight", ""), line))
