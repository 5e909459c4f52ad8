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

**One validator, one set of limits.** Every way a client enters the app (the map, typed
coordinates, a CSV upload, a scenario JSON import, a link, the page's store, ``/api/v1/assign``,
``anycast-dashboard assign``) goes through :func:`clean_coord`, :func:`clean_name` and
:func:`clean_weight` with the limits below, and every count of clients through
:func:`check_client_count` / :func:`client_room`, so a client is the same (and refused for the
same reason) whichever way it came in. The module stays pure: the configured cap
(``Settings.max_clients``) is passed in by the caller; :data:`MAX_CLIENTS` is its ceiling.
"""

from __future__ import annotations

import csv
import io
import math
import numbers
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import numpy as np
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
#: Longest field read from a file or an API body (characters): a name longer than this is not a
#: name, and refusing it bounds the work of cleaning it.
MAX_FIELD_CHARS = 10_000
_MAX_FIELD = MAX_FIELD_CHARS

#: Decimal places kept for coordinates (1e-4 degree is ~11 m on the ground, far below what the
#: latency model resolves); also what keeps links short. The one rounding of a client's position:
#: the page, links, /api/v1/assign, the CLI and /api/v1/nearest (its cache key and echo) use it,
#: so the same point gets the same answer everywhere.
COORD_DECIMALS = 4
#: Longest client name kept (characters, after cleaning): a label for the table and the map.
MAX_NAME_CHARS = 80
#: Largest client weight accepted (relative demand: users, requests/s, Mbps per unit...). A typo
#: guard far above any real demand (the world's population is 8e9), chosen so that sums and
#: weighted averages over :data:`MAX_CLIENTS` clients stay finite: 5e4 clients x 1e12 x 1e3 ms
#: is 5e19, while 1e308 weights made the API's weighted means ``null``.
MAX_WEIGHT = 1e12
#: Ceiling of the client cap (``ANYCAST_MAX_CLIENTS`` may lower it, not raise it): the most
#: clients one scenario or request holds, counting those of a server-side client set. Bounds the
#: heaviest request (routing 50,000 clients takes seconds on one core).
MAX_CLIENTS = 50_000


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


class ClientCountError(ValueError):
    """More clients than the cap; ``str()`` names the count and the cap (and the client set that
    uses part of it)."""

    def __init__(self, count: int, limit: int, set_size: int = 0, set_key: str | None = None
                 ) -> None:
        self.count, self.limit, self.set_size = count, limit, set_size
        text = f"{count:,} clients is more than the limit of {limit:,}"
        if set_size:
            text = (f"{count:,} clients plus the {set_size:,} of the client set "
                    f"{set_key or ''} is more than the limit of {limit:,} clients per scenario")
        super().__init__(text.replace("  ", " "))


def client_room(max_clients: int, have: int = 0, set_size: int = 0) -> int:
    """How many more clients fit: the cap counts a scenario's own clients *and* those of its
    server-side client set (25,000 for ``cities25k``), since both are routed by every request."""
    return max(0, int(max_clients) - int(have) - int(set_size))


def check_client_count(count: int, max_clients: int, set_size: int = 0,
                       set_key: str | None = None) -> None:
    """``ClientCountError`` when ``count`` own clients plus ``set_size`` exceed ``max_clients``.

    Callers count *before* building anything per client (``len()`` of the parsed list), so an
    over-cap input costs no more than reading it."""
    if count + set_size > max_clients:
        raise ClientCountError(count, max_clients, set_size, set_key)


# Replaced by a space: C0/C1 controls, line and paragraph separators and every other space.
# Removed: format characters (category Cf: right-to-left override U+202E and the other bidi
# controls, zero-width space/joiners U+200B-U+200D, soft hyphen, BOM...) and lone surrogates
# (which cannot be written as UTF-8). Private-use and unassigned code points are kept (a newer
# emoji is unassigned to an older Python).
_SPACE_CATEGORIES = frozenset(("Cc", "Zl", "Zp", "Zs"))
_DROP_CATEGORIES = frozenset(("Cf", "Cs"))


def clean_name(name: object, max_chars: int = MAX_NAME_CHARS) -> str:
    """A display name: NFC, controls and other spaces -> one space, format characters (bidi
    overrides, zero-width characters) removed, trimmed, cut to ``max_chars`` characters.

    Why: a name is shown in the table, the map's hover label and exports, and must read the same
    everywhere; an RTL override would make ``exe.txt`` of ``txt.exe`` and a zero-width space makes
    two names look equal that are not. ``None`` -> ``""``; other values are ``str()``-ed.
    """
    text = "" if name is None else str(name)
    text = text[: 4 * max_chars + 64]  # bounded work whatever the input; the cut is below
    if not text.isprintable():  # the fast path for plain names (printable: no C*, Z* but " ")
        out = []
        for ch in text:
            cat = unicodedata.category(ch)
            if cat in _DROP_CATEGORIES:
                continue
            out.append(" " if cat in _SPACE_CATEGORIES else ch)
        text = "".join(out)
    if not text.isascii():  # ASCII is NFC already
        text = unicodedata.normalize("NFC", text)
    if "  " in text or text[:1] == " " or text[-1:] == " ":  # printable: " " is the only space
        text = " ".join(text.split())
    return text[:max_chars].strip()


def round_coord(value: float) -> float:
    """Degrees rounded to :data:`COORD_DECIMALS` places, never ``-0.0`` (which would be echoed
    back as ``-0`` in links and ``-0.0`` in JSON)."""
    out = round(float(value), COORD_DECIMALS)
    return out + 0.0  # -0.0 + 0.0 == +0.0


def _clip(value: object, n: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= n else text[: n - 1] + "…"


def as_number(value: object, what: str) -> object:
    """``value`` as a float when it is text (``Client("48.1", ...)``, a planned PoP from a
    form); numbers as they are, so :func:`clean_coord` / :func:`clean_weight` name anything
    else. ``ValueError`` naming ``what`` for text that is not a number."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            raise ValueError(f"{what} {_clip(value)} is not a number") from None
    return value


def clean_coord(value: object, axis: str) -> float:
    """A latitude (``axis`` ``"lat"``, [-90, 90]) or longitude (``"lon"``, [-180, 180]) in
    decimal degrees, rounded (:func:`round_coord`); ``ValueError`` names the problem. Booleans
    and text are refused (``True`` is not a coordinate)."""
    limit = 90.0 if axis == "lat" else 180.0
    word = "latitude" if axis == "lat" else "longitude"
    if isinstance(value, bool) or not isinstance(value, (int, float, numbers.Real)):
        raise ValueError(f"{word} {_clip(value)} is not a number")
    try:
        v = float(value)
    except OverflowError:  # a JSON integer with more digits than a float holds
        raise ValueError(f"{word} {str(value)[:40]} is not a number a float can hold "
                         f"(degrees in [-{limit:g}, {limit:g}])") from None
    if not math.isfinite(v):
        raise ValueError(f"{word} {v} is not a finite number")
    if not -limit <= v <= limit:
        raise ValueError(f"{word} {v:g} is outside [-{limit:g}, {limit:g}] degrees")
    return round_coord(v)


def clean_weight(value: object) -> float:
    """A weight in [0, :data:`MAX_WEIGHT`] (as given; a ``Client`` keeps 6 significant digits
    so that it equals itself after a trip through a link); ``None`` -> 1.0; ``ValueError``
    names the problem."""
    if value is None:
        return 1.0
    if isinstance(value, bool) or not isinstance(value, (int, float, numbers.Real)):
        raise ValueError(f"weight {_clip(value)} is not a number")
    try:
        w = float(value)
    except OverflowError:
        raise ValueError(f"weight {str(value)[:40]} is not a number a float can hold (the "
                         f"maximum is {MAX_WEIGHT:g})") from None
    if not math.isfinite(w) or w < 0:
        raise ValueError(f"weight {w:g} must be a finite number >= 0")
    if w > MAX_WEIGHT:
        raise ValueError(f"weight {w:g} is more than the maximum of {MAX_WEIGHT:g}")
    return w + 0.0


def parse_clients(data: str | bytes, max_rows: int | None = None,
                  max_bytes: int | None = None) -> pd.DataFrame:
    """Clients from CSV text or bytes -> DataFrame with columns ``lat, lon, name, weight``.

    Rows keep file order (degrees; weight >= 0, default 1.0; name default ``""``). ``max_bytes``
    and ``max_rows`` cap the input size (``None`` = no cap); the web app passes its limits so
    one upload cannot exhaust a worker. Raises :class:`ClientsError` for anything it cannot use
    (strict: the first bad row rejects the file; the API and the CLI read files this way).
    """
    text = _decode(data, max_bytes)
    state = ParseState(delimiter=_delimiter(text))
    out = parse_block(text, state, max_rows)
    check_not_empty(state)
    return out


@dataclass
class RejectedRows:
    """The rows a lenient read skipped: the first :attr:`limit` errors (each with its line and
    reason) and how many there were in all (a file of 50,000 bad lines keeps 20 messages)."""

    limit: int = 20
    errors: list[ClientsError] = field(default_factory=list)
    count: int = 0

    def add(self, exc: ClientsError) -> None:
        self.count += 1
        if len(self.errors) < self.limit:
            self.errors.append(exc)


def parse_clients_lenient(data: str | bytes, max_rows: int | None = None,
                          max_bytes: int | None = None, max_errors: int = 20
                          ) -> tuple[pd.DataFrame, RejectedRows]:
    """:func:`parse_clients` with the same rules, but a bad *row* (a value out of range, a
    missing field, a malformed CSV record...) is skipped and listed instead of rejecting the
    file: (the good rows, the rejected ones). What concerns the whole file still raises
    :class:`ClientsError`: not UTF-8, binary, too large, a bad header, more than ``max_rows``
    clients, and no good row at all (then the first rejected row's error, with the count).
    The page's CSV upload reads files this way (one typo no longer drops the other rows)."""
    text = _decode(data, max_bytes)
    state = ParseState(delimiter=_delimiter(text))
    rejected = RejectedRows(limit=max_errors)
    out = parse_block(text, state, max_rows, rejected)
    if state.rows == 0 and rejected.count:
        first = rejected.errors[0]
        more = (f" (and {rejected.count - 1:,} more bad line"
                f"{'s' if rejected.count > 2 else ''})" if rejected.count > 1 else "")
        raise ClientsError(first.reason + more, line=first.line, column=first.column)
    check_not_empty(state)
    return out, rejected


@dataclass
class ParseState:
    """Where a file being read in blocks stands: what the first rows said (delimiter, header,
    whether ``#`` lines are comments), physical lines and client rows before the next block.

    :func:`parse_clients` reads a whole file as one block; the batch engine
    (``dashboard.services.batch``) reads big files block by block (each block whole lines, cut
    outside quotes) through :func:`parse_block` or :func:`accept_fields`, with the same rules and
    line numbers counted from the start of the file."""

    delimiter: str = ","
    header: list[str] | None = None
    seen_first: bool = False
    comments: bool = True
    lines: int = 0
    rows: int = 0


def check_not_empty(state: ParseState) -> None:
    """The end-of-file check: ``ClientsError`` when the file held no client row."""
    if state.rows == 0:
        raise ClientsError("no client rows (expected lines like: 48.86,2.35,Paris,1)"
                           if state.header is None else "a header but no client rows")


def decode_block(raw: bytes, state: ParseState, offset: int = 0) -> str:
    """One block of a file's bytes as text (``offset``: bytes before it in the file; a BOM is
    dropped at offset 0), with the messages of :func:`parse_clients` for non-UTF-8 or binary
    data, lines counted from the start of the file."""
    try:
        text = raw.decode("utf-8-sig" if offset == 0 else "utf-8")
    except UnicodeDecodeError as exc:
        line = state.lines + raw.count(b"\n", 0, exc.start) + 1
        raise ClientsError(f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset "
                           f"{offset + exc.start}); save the file as UTF-8 CSV",
                           line=line) from None
    return text


def parse_block(text: str, state: ParseState, max_rows: int | None = None,
                rejected: RejectedRows | None = None) -> pd.DataFrame:
    """The clients of ``text``, whole lines of a file continuing where ``state`` stands (see
    :class:`ParseState`); updates ``state``. The rules and messages of :func:`parse_clients`
    (which is this on a whole file), row by row. ``rejected``: collect the errors of single
    rows there and go on (:func:`parse_clients_lenient`); None raises at the first."""
    if "\x00" in text:
        line = state.lines + text.count("\n", 0, text.index("\x00")) + 1
        raise ClientsError("binary data (a NUL byte): expected a CSV text file", line=line)
    lines = _Lines(text, state.lines)
    lines.comments = state.comments
    reader = csv.reader(lines, delimiter=state.delimiter, strict=True)
    lats: list[float] = []
    lons: list[float] = []
    names: list[str] = []
    weights: list[float] = []
    header = state.header
    while True:
        lines.at_record_start = True
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            err = ClientsError(f"malformed CSV ({exc})", line=lines.record_line)
            if rejected is None:
                raise err from None
            rejected.add(err)
            continue
        start = lines.record_line
        fields = [f.strip() for f in row]
        if not any(fields):  # a line of empty fields, e.g. ",,"
            continue
        if any(len(f) > _MAX_FIELD for f in fields):
            err = ClientsError(f"a field is longer than {_MAX_FIELD} characters", line=start)
            if rejected is None or not state.seen_first:
                raise err
            rejected.add(err)
            continue
        if not state.seen_first:
            state.seen_first = True
            if _looks_like_header(fields):
                header = state.header = _header(fields, start)
                # Elsewhere a data row starts with a number, so "#" can only open a comment;
                # with names first it may open a name, and dropping that row would lose data.
                lines.comments = state.comments = header[0] != "name"
                continue
        if max_rows is not None and state.rows + len(lats) >= max_rows:
            raise ClientsError(f"more than {max_rows} clients (the limit)", line=start)
        try:
            if header is None:
                lat, lon, name, weight = _positional(fields, start)
            else:
                lat, lon, name, weight = _named(fields, header, start)
        except ClientsError as err:
            if rejected is None:
                raise
            rejected.add(err)
            continue
        lats.append(lat)
        lons.append(lon)
        names.append(clean_name(name))
        weights.append(weight)
    state.lines = lines.line
    state.rows += len(lats)
    return pd.DataFrame({"lat": pd.Series(lats, dtype="float64"),
                         "lon": pd.Series(lons, dtype="float64"),
                         "name": pd.Series(names, dtype=object),
                         "weight": pd.Series(weights, dtype="float64")})


def count_lines(text: str) -> int:
    """Physical lines of ``text`` as :func:`parse_clients` counts them (``\\n``, ``\\r\\n`` and
    a lone ``\\r`` each end one; a last line without an end counts)."""
    n = text.count("\n") + text.count("\r") - text.count("\r\n")
    return n + (1 if text and not text.endswith(("\n", "\r")) else 0)


# ------------------------------------------------------------------------------------------
# Vectorised acceptance (the batch engine): the rules above on whole columns at once. It only
# *accepts*: a block with anything the fast checks do not prove valid (an error, a quoted or
# exotic field, a non-ASCII number...) returns None and is read again row by row by
# parse_block, which gives the exact message and line. One set of rules, two speeds.

_NUMBER_RE = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"  # = _NUMBER
_SPECIAL_RE = r"[+-]?(?:[nN][aA][nN]|[iI][nN][fF]|[iI][nN][fF][iI][nN][iI][tT][yY])"  # = _SPECIAL
#: Characters Python's ``str.strip()`` removes that are ASCII (the fast path strips only these;
#: a field with other leading/trailing space fails the checks and goes row by row).
_ASCII_SPACE = " \t\n\r\x0b\x0c"


def _str(s: pd.Series) -> pd.Series:
    return s if isinstance(s.dtype, pd.StringDtype) else s.astype("str")


def _to_float(s: pd.Series) -> np.ndarray:
    """Fields that match :data:`_NUMBER_RE` as float64: Arrow's string-to-double cast for
    Arrow-backed text (~4x faster than pandas' way through Python objects; both round the
    decimal correctly to the nearest double, so the values are the same bits --
    ``tests/unit/test_clients.py`` checks it on random and edge spellings), ``float()`` else."""
    try:
        return s.astype("double[pyarrow]").to_numpy(dtype="float64")
    except (TypeError, ValueError, ImportError):
        return s.astype("float64").to_numpy()


def _numbers(s: pd.Series, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    """(values, ok): plain decimal numbers within [lo, hi] (``-0.0`` -> ``0.0``)."""
    ok = np.array(s.str.fullmatch(_NUMBER_RE).to_numpy(dtype=bool, na_value=False))
    if ok.all():  # the usual case: every field at once, no filtered copy of the text
        vals = _to_float(s)
    else:
        vals = np.full(len(s), np.nan)
        if ok.any():
            vals[ok] = _to_float(s[ok])
    ok &= (vals >= lo) & (vals <= hi)
    return vals + 0.0, ok


def _weights(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    empty = np.array((s == "").to_numpy(dtype=bool))
    vals, ok = _numbers(s, 0.0, MAX_WEIGHT)
    vals[empty] = 1.0
    return vals, ok | empty


def _names(raw: pd.Series, stripped: pd.Series) -> Any:
    """:func:`clean_name` of every stripped field: plain printable ASCII names of at most
    :data:`MAX_NAME_CHARS` without double spaces are already clean; the others go through it
    one by one (from the field stripped by Python, as :func:`parse_block` does). A column of
    plain names stays text as it is (no Python string per row: the batch writer takes it back
    as it is), else an object array."""
    plain = (stripped.str.fullmatch(r"[ -~]{0,%d}" % MAX_NAME_CHARS).to_numpy(dtype=bool)
             & ~stripped.str.contains("  ", regex=False).to_numpy(dtype=bool))
    if plain.all():
        return stripped.array
    out = stripped.to_numpy(dtype=object)
    for i in np.flatnonzero(~plain).tolist():
        out[i] = clean_name(str(raw.iloc[i]).strip())
    return out


def accept_fields(columns: list[pd.Series], state: ParseState,
                  max_rows: int | None = None) -> pd.DataFrame | None:
    """The clients of a block already split into fields by a CSV reader (one Series of text
    per column, every row with ``len(columns)`` fields; data rows only: the header, if any,
    was read by :func:`parse_block`), or None when any row is not plainly valid -- the caller
    then reads the block with :func:`parse_block` for the exact message. Updates ``state``
    (rows; not lines: the caller counts them) when it accepts."""
    if not columns:
        return None
    raw = [_str(c) for c in columns]
    f = [c.str.strip(_ASCII_SPACE) for c in raw]
    n = len(f[0])
    lengths_ok = all(bool((c.str.len() <= _MAX_FIELD).all()) for c in raw)
    if not lengths_ok:
        return None
    blank = np.logical_and.reduce([(c == "").to_numpy(dtype=bool) for c in f])
    if blank.any():
        keep = np.flatnonzero(~blank)
        raw = [c.iloc[keep].reset_index(drop=True) for c in raw]
        f = [c.iloc[keep].reset_index(drop=True) for c in f]
        n = len(keep)
    if max_rows is not None and state.rows + n > max_rows:
        return None
    if state.header is None:
        k = len(f)
        if not 2 <= k <= 4:
            return None
        lat, ok_lat = _numbers(f[0], -90.0, 90.0)
        lon, ok_lon = _numbers(f[1], -180.0, 180.0)
        ok = ok_lat & ok_lon
        weight = np.ones(n)
        name_raw = name = pd.Series([""] * n, dtype="str")  # no name column (yet)
        if k >= 3:
            x = f[2]
            x_num = (x.str.fullmatch(_NUMBER_RE) | x.str.fullmatch(_SPECIAL_RE)).to_numpy(
                dtype=bool)
            wx, okx = _weights(x)
            if k == 3:
                weight = np.where(x_num, wx, 1.0)
                ok &= ~x_num | okx
                name_pick = ~x_num
                name_raw = raw[2].where(name_pick, "")
                name = x.where(name_pick, "")
            else:
                y = f[3]
                y_num = (y.str.fullmatch(_NUMBER_RE) | y.str.fullmatch(_SPECIAL_RE)).to_numpy(
                    dtype=bool)
                wy, oky = _weights(y)
                y_empty = (y == "").to_numpy(dtype=bool)
                x_empty = (x == "").to_numpy(dtype=bool)
                w_first = x_num                                 # lat,lon,weight,name
                w_second = ~x_num & (y_num | y_empty)           # lat,lon,name,weight
                name_only = ~x_num & ~w_second & x_empty         # lat,lon,,name
                ok &= (w_first & okx) | (w_second & oky) | name_only
                weight = np.where(w_first, wx, np.where(w_second, wy, 1.0))
                take_y = w_first | name_only
                name_raw = raw[3].where(take_y, raw[2])
                name = y.where(take_y, x)
    else:
        if len(f) != len(state.header):
            return None
        col = dict(zip(state.header, range(len(f))))
        lat, ok_lat = _numbers(f[col["lat"]], -90.0, 90.0)
        lon, ok_lon = _numbers(f[col["lon"]], -180.0, 180.0)
        ok = ok_lat & ok_lon
        if "weight" in col:
            weight, ok_w = _weights(f[col["weight"]])
            ok &= ok_w
        else:
            weight = np.ones(n)
        if "name" in col:
            name_raw, name = raw[col["name"]], f[col["name"]]
        else:
            name_raw = name = pd.Series([""] * n, dtype="str")
    if not ok.all():
        return None
    state.rows += n
    return pd.DataFrame({"lat": lat, "lon": lon, "name": _names(name_raw, name),
                         "weight": weight})


class _Lines:
    """The file's lines for ``csv.reader``, minus blank and ``#`` comment lines, counting lines.

    Comments are dropped only where a record starts (the parse loop sets ``at_record_start``
    before each record), so a quoted multi-line name may contain a line starting with ``#``, and
    a quote inside a comment can never swallow the lines after it.
    """

    def __init__(self, text: str, line0: int = 0) -> None:
        self._it = iter(io.StringIO(text, newline=""))
        self.line = line0  # physical line number of the last line handed out
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
    return value + 0.0  # as written (callers round), but never -0.0


def _weight(field: str, line: int) -> float:
    if field == "":
        return 1.0
    if not _is_number(field) and not _SPECIAL.fullmatch(field):
        raise ClientsError(f"{field!r} is not a number", line=line, column="weight")
    try:
        return clean_weight(float(field))
    except ValueError as exc:
        raise ClientsError(str(exc), line=line, column="weight") from None


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
