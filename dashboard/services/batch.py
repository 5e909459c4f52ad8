"""The batch engine: millions of clients from a file to their access points, streaming.

``anycast-dashboard assign`` (and its Dask path, :mod:`dashboard.services.batch_dask`) read
clients in chunks of ``chunk_rows`` rows, route each chunk with the same domain functions as the
page and the API (:func:`dashboard.domain.paths.client_paths`), write it out and drop it, so
memory is bounded by the chunk size, not the input size (issue 16).

Input: CSV (the rules of :func:`dashboard.domain.clients.parse_clients`: a block of plainly
valid rows is accepted column by column by :func:`~dashboard.domain.clients.accept_fields`, any
other block is read row by row by :func:`~dashboard.domain.clients.parse_block`, which names the
file line and column of an error exactly as before) or Parquet (columns named like a CSV
header: ``lat``/``latitude``, ``lon``/``lng``/``long``/``longitude``, optional ``name``,
``weight``; numbers or text; the same checks, errors name the row).

Output: CSV byte for byte as the old ``assign`` wrote it (formula-safe cells:
:func:`dashboard.domain.exports.safe_cells`; floats as Python writes them) or Parquet (typed
columns, names as cleaned; no spreadsheet escaping: Parquet is not opened as a formula sheet).

With ``workers`` > 1 (the CLI: the CPUs, at most 4) chunks are read, routed and encoded on
forked worker processes (:func:`run_processes`; the parent cuts the input and writes the chunks
in input order); with one, in this process (:func:`run`, also the Dask path's). A
:class:`Summary` (clients per PoP, anycast RTT percentiles from a 0.01 ms histogram, mergeable
across partitions) comes back at the end; progress goes to a callback.

Units: degrees in; km and round-trip ms out, rounded to 0.001 like the old ``assign``.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import errno
import functools
import io
import itertools
import os
import shutil
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Callable, Iterator, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from dashboard import latency
from dashboard.catalog import Catalog
from dashboard.domain import clients as cl
from dashboard.domain import ipgeo, paths
from dashboard.domain.exports import FORMULA_PREFIXES, safe_cell, safe_cells
from dashboard.domain.access import DEFAULT_ACCESS, check_access
from dashboard.domain.policy import DEFAULT_POLICY, check_policy, pop_bias
from dashboard.services.routing import down_mask, origin_spec


def _pq() -> Any:
    """``pyarrow.parquet``, imported on first use: a CSV run never needs it (~5-9 ms of the
    command's serial start, with the GeoIP reader's ~8-15 ms: :func:`locate_chunk`)."""
    import pyarrow.parquet as pq

    return pq

#: Bytes the Parquet reader reads at a time (:func:`open_parquet`).
PARQUET_READ_BYTES = 1 << 20


def open_parquet(path: str | Path) -> Any:
    """A ``pq.ParquetFile`` that streams each column chunk in :data:`PARQUET_READ_BYTES`
    reads instead of reading it whole (pyarrow's default, ``pre_buffer``): a file of one huge
    row group would otherwise be held compressed in memory while its batches are decoded
    (10,000,000 clients in one row group, read in 50,000-row batches: peak RSS 350 -> 191 MB;
    ~0.3 ms more per batch)."""
    return _pq().ParquetFile(path, pre_buffer=False, buffer_size=PARQUET_READ_BYTES)


#: Rows per chunk by default (the CLI's ``--chunk-rows``): ~1.5 kB of working memory per row of
#: a chunk in flight (the latency model's per-neighbour terms, the route table, the output
#: text). Measured on 2,000,000 rows, 2 worker processes: 50,000 -> 323 MB for the process
#: tree (summed PSS; 551 MB summed RSS, the shared pages counted per process), 75,000 -> 410
#: MB for ~5 % less CPU.
DEFAULT_CHUNK_ROWS = 50_000
#: Bytes read from the input at a time while cutting it into chunks of whole lines.
READ_BYTES = 1 << 22
#: Histogram of anycast RTTs for the percentiles: 0.01 ms bins up to 10 s (the model's paths
#: are < 1 s; longer ones land in the last bin).
HIST_STEP_MS = 0.01
HIST_BINS = 1_000_000
PERCENTILES = (50, 90, 95, 99)


class BatchError(ValueError):
    """An input the engine cannot use (not a known format, unreadable); the CLI's exit code 2."""


def output_columns(route_columns: Sequence[str]) -> list[str]:
    """Columns of ``assign`` output: the client as read, then the route table's, then the
    policy and the client access type."""
    return (["name", "lat", "lon", "weight"]
            + [c for c in route_columns if c not in ("lat", "lon")] + ["policy", "access"])


@dataclass
class Summary:
    """What a run did: clients, routed ones, clients per PoP and a histogram of anycast RTTs
    (ms) for the percentiles. ``merge`` adds another (a Dask partition's)."""

    clients: int = 0
    routed: int = 0
    chunks: int = 0
    per_pop: dict[str, int] = field(default_factory=dict)
    hist: np.ndarray = field(default_factory=lambda: np.zeros(HIST_BINS + 1, dtype=np.int64))
    #: Files of IP addresses: rows per ``geoip_status`` (``ok``, ``unknown``, ``special``...).
    geoip: dict[str, int] = field(default_factory=dict)

    def add(self, out: pd.DataFrame) -> None:
        if "geoip_status" in out.columns:
            st, cnt = np.unique(out["geoip_status"].to_numpy(dtype=object).astype(str),
                                return_counts=True)
            for k, v in zip(st.tolist(), cnt.tolist()):
                self.geoip[k] = self.geoip.get(k, 0) + int(v)
        self.clients += len(out)
        self.chunks += 1
        routed = out["routed"].to_numpy(dtype=bool)
        self.routed += int(routed.sum())
        codes = paths.row_codes(out)
        if codes is not None:  # a route table's own codes: a count of small integers
            by_code = np.bincount(codes.pop[routed], minlength=len(codes.pop_ids))
            counts: Any = {str(codes.pop_ids[i]): by_code[i]
                           for i in np.flatnonzero(by_code).tolist()}.items()
        else:  # a hash count of the few distinct ids (pandas), not a sort of every id string
            counts = pd.Series(out["pop_id"].to_numpy(dtype=object)[routed]).value_counts(
                sort=False).items()
        for i, c in counts:
            self.per_pop[str(i)] = self.per_pop.get(str(i), 0) + int(c)
        ms = out["anycast_ms"].to_numpy(dtype=float)
        ms = ms[np.isfinite(ms)]
        b = np.minimum((ms / HIST_STEP_MS).astype(np.int64), HIST_BINS)
        if len(b):
            part = np.bincount(b)  # up to the largest bin only: a chunk's count stays small
            self._add_hist(part)

    @classmethod
    def chunk(cls) -> "Summary":
        """An empty summary for one chunk: its histogram starts empty and grows to the chunk's
        largest bin (~0.1 MB), instead of 8 MB allocated, zeroed and scanned by
        :meth:`trimmed` per chunk (~3 % of a worker's time in a 2M-row run)."""
        return cls(hist=np.zeros(0, dtype=np.int64))

    def _add_hist(self, part: np.ndarray) -> None:
        if len(part) > len(self.hist):
            grown = np.zeros(len(part), dtype=np.int64)
            grown[:len(self.hist)] = self.hist
            self.hist = grown
        self.hist[:len(part)] += part

    def merge(self, other: "Summary") -> "Summary":
        self.clients += other.clients
        self.routed += other.routed
        self.chunks += other.chunks
        for k, v in other.per_pop.items():
            self.per_pop[k] = self.per_pop.get(k, 0) + v
        self._add_hist(other.hist)  # a worker's may be trimmed (trimmed(), chunk())
        for k, v in other.geoip.items():
            self.geoip[k] = self.geoip.get(k, 0) + v
        return self

    def trimmed(self) -> "Summary":
        """This summary with the histogram cut after its last non-empty bin (the model's RTTs
        are < 1 s: ~0.4 MB instead of 8 MB to send from a worker process)."""
        nz = np.flatnonzero(self.hist)
        self.hist = self.hist[:int(nz[-1]) + 1 if len(nz) else 0].copy()
        return self

    def percentiles(self) -> dict[int, float]:
        """Anycast RTT percentiles (ms, upper edge of the 0.01 ms bin; NaN with no route)."""
        total = int(self.hist.sum())
        if total == 0:
            return {p: float("nan") for p in PERCENTILES}
        cum = np.cumsum(self.hist)
        return {p: round(float(np.searchsorted(cum, p / 100 * total) + 1) * HIST_STEP_MS, 2)
                for p in PERCENTILES}

    def text(self) -> str:
        """The summary for stderr: clients per PoP (most first) and the percentiles."""
        lines = []
        if self.geoip:
            bad = {k: v for k, v in self.geoip.items() if k != "ok"}
            lines.append(f"IP addresses located: {self.geoip.get('ok', 0):,} of {self.clients:,}"
                         + (" (not located: " + ", ".join(f"{k} {v:,}" for k, v in
                                                          sorted(bad.items())) + "; see the "
                            "geoip_status and geoip_message columns)" if bad else ""))
        lines.append(f"clients per access point ({self.routed:,} routed of {self.clients:,}):")
        for pid, c in sorted(self.per_pop.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"  {pid:<6} {c:>12,}  {100 * c / max(self.clients, 1):5.1f} %")
        pct = self.percentiles()
        lines.append("anycast RTT (modelled, ms): " + ", ".join(
            f"p{p} {v:.2f}" for p, v in pct.items()))
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Reading


def _line_ends(buf: bytes | memoryview) -> np.ndarray:
    return np.flatnonzero(np.frombuffer(buf, dtype=np.uint8) == 10)


def csv_blocks(stream: IO[bytes], rows: int) -> Iterator[tuple[bytes, int]]:
    """``(block, offset)``: the stream cut into blocks of about ``rows`` lines, each ending at a
    line end outside double quotes (an even number of ``"`` before it), ``offset`` = bytes
    before the block. Memory: one block plus :data:`READ_BYTES`."""
    buf = b""
    offset = 0
    eof = False
    while True:
        while not eof and buf.count(b"\n") < rows:
            more = stream.read(READ_BYTES)
            if not more:
                eof = True
            buf += more
        if not buf:
            return
        ends = _line_ends(buf)
        cut = int(ends[rows - 1]) + 1 if len(ends) >= rows else (len(buf) if eof else 0)
        if cut == 0:
            continue
        # a quoted field may span lines: extend to a line end with even quote parity
        while buf.count(b'"', 0, cut) % 2 and cut < len(buf):
            nxt = buf.find(b"\n", cut)
            if nxt < 0:
                if not eof:
                    more = stream.read(READ_BYTES)
                    if more:
                        buf += more
                        continue
                    eof = True
                cut = len(buf)
            else:
                cut = nxt + 1
        yield buf[:cut], offset
        offset += cut
        buf = buf[cut:]


def _fast_ok(block: bytes, state: cl.ParseState) -> bool:
    """Whether the column-wise reader may take the block: nothing it could read differently
    from Python's csv module and the row rules (quotes, comments, lone CRs, NULs)."""
    if b'"' in block or b"\x00" in block:
        return False
    if state.comments and b"#" in block:
        return False
    if b"\r" in block and block.count(b"\r") != block.count(b"\r\n"):
        return False
    return True


def _split_fields(block: bytes, state: cl.ParseState) -> list[pd.Series] | None:
    """The block's fields as text columns (pyarrow's C++ CSV reader), or None when it cannot
    split them as one table (ragged rows, invalid UTF-8...)."""
    try:
        table = pacsv.read_csv(
            io.BytesIO(block),
            read_options=pacsv.ReadOptions(autogenerate_column_names=True, use_threads=False,
                                           block_size=max(1 << 20, len(block) + 1)),
            parse_options=pacsv.ParseOptions(delimiter=state.delimiter, quote_char=False,
                                              ignore_empty_lines=True),
            convert_options=pacsv.ConvertOptions(
                column_types={f"f{i}": pa.string() for i in range(64)},
                strings_can_be_null=False, quoted_strings_can_be_null=False))
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeDecodeError):
        return None
    return [col.to_pandas().astype("str") for col in table.columns]


def _prologue_end(block: bytes) -> int:
    """Bytes of the block up to the end of its first record line (the first line that is not
    blank or a comment), or 0 when that line has a quote (the whole block is read row by row)."""
    pos = 0
    while pos < len(block):
        nl = block.find(b"\n", pos)
        end = len(block) if nl < 0 else nl + 1
        line = block[pos:end].strip()
        if line and not line.startswith(b"#"):
            return 0 if b'"' in line or b"\r" in block[pos:end].rstrip(b"\r\n") else end
        pos = end
    return len(block)


def read_csv_chunks(stream: IO[bytes], rows: int = DEFAULT_CHUNK_ROWS,
                    max_rows: int | None = None) -> Iterator[pd.DataFrame]:
    """Clients (columns ``lat, lon, name, weight``) of a CSV stream, chunk by chunk; raises
    :class:`~dashboard.domain.clients.ClientsError` (file line and column) like
    :func:`~dashboard.domain.clients.parse_clients` on the whole file."""
    state = cl.ParseState()
    first = True
    for block, offset in csv_blocks(stream, rows):
        yield read_block(block, offset, state, max_rows, first)
        first = False
    cl.check_not_empty(state)


def read_block(block: bytes, offset: int, state: cl.ParseState, max_rows: int | None,
               first: bool) -> pd.DataFrame:
    """The clients of one block of :func:`csv_blocks` read where ``state`` stands (updated):
    the first block's prologue (BOM, header) row by row, then the column-wise reader when it
    can take the block (:func:`fast_block`), else the row-by-row one."""
    parts = []
    if first:
        if block.startswith(b"\xef\xbb\xbf"):
            block, offset = block[3:], 3
        head = _prologue_end(block) or len(block)
        text = cl.decode_block(block[:head], state, offset)
        state.delimiter = cl._delimiter(text)
        parts.append(cl.parse_block(text, state, max_rows))
        block, offset = block[head:], offset + head
        if not block:
            return parts[0]
    got = fast_block(block, state, max_rows)
    if got is None:
        text = cl.decode_block(block, state, offset)
        got = cl.parse_block(text, state, max_rows)
    else:
        state.lines += count_lines(block)
    parts.append(got)
    return parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)


def fast_block(block: bytes, state: cl.ParseState,
               max_rows: int | None = None) -> pd.DataFrame | None:
    """The clients of a block by the column-wise reader (Arrow splits the fields,
    :func:`~dashboard.domain.clients.accept_fields` checks them), or None when it cannot
    take the block (the row-by-row reader then names the error). Updates ``state.rows`` only
    (the caller counts lines: :func:`count_lines`)."""
    if not _fast_ok(block, state):
        return None
    fields = _split_fields(block, state)
    return None if fields is None else cl.accept_fields(fields, state, max_rows)


def count_lines(block: bytes) -> int:
    """:func:`dashboard.domain.clients.count_lines` of the block's text, on its bytes (line
    ends are ASCII in UTF-8: the same counts without decoding)."""
    n = block.count(b"\n") + block.count(b"\r") - block.count(b"\r\n")
    return n + (1 if block and not block.endswith((b"\n", b"\r")) else 0)


def _parquet_column(table_cols: dict[str, str], want: str) -> str | None:
    return next((c for c, canon in table_cols.items() if canon == want), None)


def read_parquet_chunks(path: str | Path, rows: int = DEFAULT_CHUNK_ROWS,
                        max_rows: int | None = None) -> Iterator[pd.DataFrame]:
    """Clients of a Parquet file chunk by chunk: the CSV rules on its columns (text columns
    are checked as CSV fields are; numeric ones for range and finiteness); errors name the row
    (1-based) and column."""
    for batch, canon, done in parquet_batches(path, rows, max_rows):
        yield parquet_frame(batch, canon, done)


def parquet_batches(path: str | Path, rows: int = DEFAULT_CHUNK_ROWS,
                    max_rows: int | None = None
                    ) -> Iterator[tuple[pa.RecordBatch, dict[str, str], int]]:
    """``(batch, canon, done)``: a Parquet file's client columns in record batches of ``rows``
    (``canon``: file column -> lat/lon/name/weight; ``done``: rows before the batch), not yet
    checked (:func:`parquet_frame` does it: in the worker processes, see :func:`run_processes`).
    The columns and the row limit are checked here."""
    try:
        pf = open_parquet(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise BatchError(f"not a Parquet file ({str(exc)[:120]})") from None
    canon: dict[str, str] = {}
    for name in pf.schema_arrow.names:
        c = cl.HEADER_ALIASES.get(name.strip().lower())
        if c is not None:
            if c in canon.values():
                raise cl.ClientsError(f"column {c!r} appears twice", column=c)
            canon[name] = c
    for need in ("lat", "lon"):
        if need not in canon.values():
            raise cl.ClientsError(f"no {need!r} column (columns: "
                                  f"{', '.join(pf.schema_arrow.names)[:200]})", column=need)
    done = 0
    for batch in pf.iter_batches(batch_size=rows, columns=list(canon)):
        n = batch.num_rows
        if max_rows is not None and done + n > max_rows:
            raise cl.ClientsError(f"row {max_rows + 1}: more than {max_rows} clients (the limit)")
        yield batch, canon, done
        done += n
    if done == 0:
        raise cl.ClientsError("no client rows")


def parquet_frame(batch: pa.RecordBatch, canon: dict[str, str], done: int) -> pd.DataFrame:
    """The clients (``lat, lon, name, weight``) of one batch of :func:`parquet_batches`, each
    column checked with the CSV rules (``ClientsError`` naming the row and column)."""
    df = batch.to_pandas()
    n = len(df)
    out = {}
    for col in ("lat", "lon", "weight", "name"):
        src = _parquet_column(canon, col)
        if src is None:
            out[col] = np.ones(n) if col == "weight" else np.full(n, "", dtype=object)
            continue
        out[col] = _parquet_values(df[src], col, done)
    return pd.DataFrame(out, columns=["lat", "lon", "name", "weight"])


def _parquet_values(s: pd.Series, col: str, done: int) -> np.ndarray:
    """One Parquet column checked with the CSV rules: ``ClientsError`` naming row and column."""
    if col == "name":
        if isinstance(s.dtype, pd.StringDtype) and len(s) and _plain_names(s):
            return s.array  # no cell clean_name would change, no missing one
        if isinstance(s.dtype, pd.StringDtype) and len(s):
            # plain printable ASCII names, no double, leading or trailing space, not too long:
            # clean_name leaves them as they are, so only the others go through it
            t = s.fillna("")
            plain = (t.str.fullmatch(r"[ -~]{0,%d}" % cl.MAX_NAME_CHARS)
                     .to_numpy(dtype=bool, na_value=False)
                     & ~t.str.contains("  ", regex=False).to_numpy(dtype=bool, na_value=True)
                     & ~t.str.startswith(" ").to_numpy(dtype=bool, na_value=True)
                     & ~t.str.endswith(" ").to_numpy(dtype=bool, na_value=True))
            if plain.all():
                return t.array
            vals = t.to_numpy(dtype=object)
            for i in np.flatnonzero(~plain).tolist():
                vals[i] = cl.clean_name(vals[i])
            return vals
        vals = s.astype(object).where(s.notna(), "").to_numpy(dtype=object)
        return np.array([cl.clean_name(v) for v in vals], dtype=object) if len(vals) else vals
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        v = s.to_numpy(dtype=float, na_value=np.nan)
        bad = ~np.isfinite(v)
        if col == "weight":
            v = np.where(np.isnan(v), 1.0, v)  # a missing weight is the default, as in a CSV
            bad = ~np.isfinite(v) | (v < 0) | (v > cl.MAX_WEIGHT)
        else:
            limit = 90.0 if col == "lat" else 180.0
            bad |= ~(np.abs(v) <= limit)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            _raise_value(s.iloc[i], col, done + i + 1)
        return v + 0.0
    # text: the CSV field rules, row by row for the first bad one
    text = s.astype(object).where(s.notna(), "").astype(str)
    vals, ok = ((cl._weights(text.astype("str").str.strip(cl._ASCII_SPACE)))
                if col == "weight" else
                cl._numbers(text.astype("str").str.strip(cl._ASCII_SPACE),
                            -90.0 if col == "lat" else -180.0, 90.0 if col == "lat" else 180.0))
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        _raise_value(text.iloc[i].strip(), col, done + i + 1)
    return vals


def _plain_names(s: pd.Series) -> bool:
    """Whether every cell of a text Series is there (no missing one) and plain: printable
    ASCII, at most ``MAX_NAME_CHARS``, no double, leading or trailing space -- the names
    ``clean_name`` leaves as they are. One numpy pass over the column's Arrow bytes (~0.3 ms
    per 50,000 names instead of ~4 ms for four pandas string kernels). A space pair across two
    cells means one of them ends or starts with a space: not plain either way. False also
    when it cannot tell (not Arrow text): the caller then checks cell by cell."""
    try:
        arr = pa.array(s, from_pandas=True)
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        return False
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if arr.null_count or not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        return False
    n = len(arr)
    width = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    offs = np.frombuffer(arr.buffers()[1], dtype=width)[arr.offset:arr.offset + n + 1]
    buf = arr.buffers()[2]
    if buf is None or offs[-1] == offs[0]:
        return True  # every name empty
    data = np.frombuffer(buf, dtype=np.uint8)[offs[0]:offs[-1]]
    offs = offs - offs[0]
    lengths = np.diff(offs)
    if int(lengths.max()) > cl.MAX_NAME_CHARS or not ((data >= 0x20) & (data <= 0x7E)).all():
        return False
    space = data == 0x20
    if not space.any():
        return True
    if (space[1:] & space[:-1]).any():
        return False
    full = lengths > 0
    return not (space[offs[:-1][full]].any() or space[offs[1:][full] - 1].any())


def _raise_value(value: object, col: str, row: int) -> None:
    try:
        if col == "weight":
            if isinstance(value, str):
                cl._weight(value, row)
            cl.clean_weight(None if value is None or value != value else value)
        elif isinstance(value, str):
            cl._coord(value, col, 90.0 if col == "lat" else 180.0, row)
        else:
            cl.clean_coord(value, col)
    except cl.ClientsError as exc:
        raise cl.ClientsError(f"row {row}, column '{col}': {exc.reason}") from None
    except ValueError as exc:
        raise cl.ClientsError(f"row {row}, column '{col}': {exc}") from None
    raise cl.ClientsError(f"row {row}, column '{col}': {value!r} is not usable")


# --------------------------------------------------------------------------------------------
# Routing one chunk


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


# --------------------------------------------------------------------------------------------
# Files of IP addresses (issue 18): read, then locate -- a stage of its own before routing

#: Columns an IP file's output has before the route table's (the address as given, where the
#: GeoIP database put it, and why not).
IP_COLUMNS = ["ip", "geoip_status", "geoip_message", "geoip_place", "geoip_radius_km"]
#: Bytes of a CSV's start read to find its header line.
_SNIFF_BYTES = 1 << 16


class _Prefixed(io.RawIOBase):
    """A stream with bytes already read put back in front (stdin cannot seek)."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self.head, self.rest = head, rest

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        if self.head:
            n = min(len(b), len(self.head))
            b[:n], self.head = self.head[:n], self.head[n:]
            return n
        data = self.rest.read(len(b))
        b[:len(data)] = data
        return len(data)


@dataclass(frozen=True)
class IpHeader:
    """The header of an address CSV: its fields, delimiter and the lines before it (blank or
    ``#`` comment lines, skipped)."""

    fields: list[str]
    delimiter: str
    skip_lines: int


def _has_record_line(head: bytes) -> bool:
    """Whether ``head`` holds a whole line that is neither blank nor a ``#`` comment."""
    for line in head.split(b"\n")[:-1]:
        if line.strip() and not line.lstrip().startswith(b"#"):
            return True
    return False


def _seekable(fh: IO[bytes]) -> bool:
    try:
        return bool(fh.seekable())
    except (AttributeError, OSError, ValueError):
        return False


def sniff_ip_csv(fh: IO[bytes]) -> tuple[IO[bytes], IpHeader | None]:
    """``(stream, header)``: the stream unchanged to the reader, and the header when the first
    record line names an address column (``ip``; domain.ipgeo.IP_HEADERS), else None."""
    seekable = _seekable(fh)
    start = fh.tell() if seekable else 0
    head = b""
    while len(head) < _SNIFF_BYTES and not _has_record_line(head):  # pipes give short reads
        more = fh.read(_SNIFF_BYTES - len(head))
        if not more:
            break
        head += more
    if seekable:  # a file: back to where it was, the coordinate reader gets it untouched
        fh.seek(start)
        stream: IO[bytes] = fh
    else:  # stdin: the bytes read are put back in front
        stream = io.BufferedReader(_Prefixed(head, fh), READ_BYTES)  # type: ignore[arg-type]
    text = head.decode("utf-8-sig", "replace")
    for skip, line in enumerate(text.split("\n")):
        if line.strip() and not line.lstrip().startswith("#"):
            if ipgeo.is_ip_header(line):
                delim = cl._delimiter(line)
                return stream, IpHeader([f.strip().strip('"') for f in
                                         line.rstrip("\r").split(delim)], delim, skip)
            break
    return stream, None


def _ip_frame(ips: pd.Series, names: pd.Series | None, weights: pd.Series | None
              ) -> pd.DataFrame:
    """A chunk of an address file as ``ip, name, weight, weight_ok`` (a bad weight becomes the
    row's ``malformed`` status later, not an abort)."""
    n = len(ips)
    ip = ips.astype(object).where(ips.notna(), "").astype(str).str.strip().to_numpy(dtype=object)
    name = (np.array([cl.clean_name(v) for v in names.astype(object).where(names.notna(), "")
                      .tolist()], dtype=object) if names is not None
            else np.full(n, "", dtype=object))
    if weights is None:
        w, ok = np.ones(n), np.ones(n, dtype=bool)
    elif pd.api.types.is_numeric_dtype(weights.dtype):
        w = weights.to_numpy(dtype=float, na_value=np.nan)
        w = np.where(np.isnan(w), 1.0, w)
        ok = np.isfinite(w) & (w >= 0) & (w <= cl.MAX_WEIGHT)
    else:
        text = weights.astype(object).where(weights.notna(), "").astype(str).str.strip()
        w, ok = cl._weights(text.astype("str"))
        w = np.asarray(w, dtype=float)
    return pd.DataFrame({"ip": ip, "name": name, "weight": np.where(ok, w, 1.0),
                         "weight_ok": ok})


def read_ip_csv_chunks(stream: IO[bytes], header: IpHeader, rows: int = DEFAULT_CHUNK_ROWS,
                       max_rows: int | None = None) -> Iterator[pd.DataFrame]:
    """Chunks of an address CSV (``ip`` and optional ``name``, ``weight`` columns; other columns
    ignored) as :func:`_ip_frame` rows, read with Arrow's streaming CSV reader. A row with the
    wrong number of fields stops the run with its line (it is never skipped silently)."""
    fields = header.fields
    lower = [h.lower() for h in fields]
    ip_i = ipgeo.ip_column(fields)
    assert ip_i is not None
    # columns by position (Arrow's generated names f0, f1...): the header line is skipped, so
    # names with spaces or quotes need no matching
    want = {"ip": f"f{ip_i}"}
    for col in ("name", "weight"):
        if col in lower:
            want[col] = f"f{lower.index(col)}"
    try:
        reader = pacsv.open_csv(
            stream,
            read_options=pacsv.ReadOptions(block_size=READ_BYTES, use_threads=False,
                                           skip_rows=header.skip_lines + 1,
                                           autogenerate_column_names=True),
            parse_options=pacsv.ParseOptions(delimiter=header.delimiter, ignore_empty_lines=True),
            convert_options=pacsv.ConvertOptions(
                include_columns=list(want.values()),
                column_types={c: pa.string() for c in want.values()},
                strings_can_be_null=False))
    except (pa.ArrowInvalid, pa.ArrowKeyError, UnicodeDecodeError) as exc:
        if "Empty CSV" in str(exc):
            raise cl.ClientsError("no client rows") from None
        raise cl.ClientsError(f"not a readable CSV of IP addresses ({str(exc)[:160]})") from None
    done = 0
    buf: list[pd.DataFrame] = []
    have = 0

    def frame(batch: pa.RecordBatch) -> pd.DataFrame:
        cols = {k: batch.column(v).to_pandas() for k, v in want.items()}
        return _ip_frame(cols["ip"], cols.get("name"), cols.get("weight"))

    try:
        for batch in reader:
            if max_rows is not None and done + batch.num_rows > max_rows:
                raise cl.ClientsError(f"row {max_rows + 1}: more than {max_rows} clients "
                                      "(the limit)")
            df = frame(batch)
            done += len(df)
            buf.append(df)
            have += len(df)
            while have >= rows:
                whole = pd.concat(buf, ignore_index=True) if len(buf) > 1 else buf[0]
                yield whole.iloc[:rows].reset_index(drop=True)
                rest = whole.iloc[rows:].reset_index(drop=True)
                buf, have = ([rest] if len(rest) else []), len(rest)
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise cl.ClientsError(f"not a readable CSV of IP addresses ({str(exc)[:160]})") from None
    if buf:
        yield pd.concat(buf, ignore_index=True) if len(buf) > 1 else buf[0]
    if done == 0:
        raise cl.ClientsError("no client rows")


def parquet_ip_column(path: str | Path) -> str | None:
    """The address column of a Parquet file (``ip``...), or None (a file of coordinates)."""
    try:
        names = _pq().ParquetFile(path).schema_arrow.names
    except (pa.ArrowInvalid, OSError) as exc:
        raise BatchError(f"not a Parquet file ({str(exc)[:120]})") from None
    i = ipgeo.ip_column(list(names))
    return None if i is None else names[i]


def read_ip_parquet_chunks(path: str | Path, ip_col: str, rows: int = DEFAULT_CHUNK_ROWS,
                           max_rows: int | None = None) -> Iterator[pd.DataFrame]:
    """Chunks of an address Parquet file (as :func:`read_ip_csv_chunks`)."""
    pf = open_parquet(path)
    names = pf.schema_arrow.names
    lower = {n.strip().lower(): n for n in names}
    cols = [ip_col] + [lower[c] for c in ("name", "weight") if c in lower]
    done = 0
    for batch in pf.iter_batches(batch_size=rows, columns=cols):
        if max_rows is not None and done + batch.num_rows > max_rows:
            raise cl.ClientsError(f"row {max_rows + 1}: more than {max_rows} clients (the limit)")
        df = batch.to_pandas()
        done += len(df)
        yield _ip_frame(df[ip_col], df[lower["name"]] if "name" in lower else None,
                        df[lower["weight"]] if "weight" in lower else None)
    if done == 0:
        raise cl.ClientsError("no client rows")


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


# --------------------------------------------------------------------------------------------
# Writing


#: Decimals of the fast float path: the output's coordinates (``clients.COORD_DECIMALS`` = 4)
#: and its km/ms (rounded to 3) all have at most 4.
_FAST_DECIMALS = 4
_FAST_SCALE = 10.0 ** _FAST_DECIMALS
#: ".0", ".0001", ..., ".9999": the fraction of ``y / 10**4`` for ``y % 10**4``, as repr ends it.
_FRACTIONS = pa.array([".0"] + ["." + f"{i:0{_FAST_DECIMALS}d}".rstrip("0")
                                for i in range(1, 10 ** _FAST_DECIMALS)], type=pa.string())
_SIGNS = pa.array(["", "-"], type=pa.string())
_BOOLS = pa.array(["False", "True"], type=pa.string())


#: Whole parts written from :func:`_wholes` (sign included) below this bound; larger ones
#: (none of the engine's coordinates, km or ms) through Arrow's integer-to-text cast.
_WHOLE_TABLE = 100_000


@functools.cache
def _wholes() -> pa.Array:
    """``"0"`` ... ``"99999"`` then ``"-0"`` ... ``"-99999"``: a value's sign and whole part
    as one table entry (index ``whole + sign * 100000``), then :data:`_FRACTIONS` (index
    ``200000 + fraction``, so that :func:`_pieces_cells` takes both pieces at once). Why: one ``take`` (~0.2 ms per
    50,000 cells) instead of an integer-to-text cast, a sign ``take`` and a three-way join
    (~2 ms); built once per process (~2 ms by Arrow's integer-to-text cast, which writes
    ``str(i)``; :func:`warm` builds it before the workers fork)."""
    whole = pc.cast(pa.array(np.arange(_WHOLE_TABLE, dtype=np.int64)), pa.string())
    return pa.concat_arrays([whole, pc.binary_join_element_wise("-", whole, ""), _FRACTIONS])


def _pieces_cells(first: np.ndarray, second: np.ndarray, valid: np.ndarray | None) -> pa.Array:
    """Cells of two pieces each, ``table[first[i]] + table[second[i]]`` (``table`` =
    :func:`_wholes`), null where ``valid`` is False. Why: one ``take`` of the ``2n`` pieces in
    row order already lays out every cell's bytes one after the other; the cells are that data
    with every other offset (~0.7 ms per 50,000 cells instead of ~1.75 ms for two takes and
    Arrow's element-wise join)."""
    n = len(first)
    idx = np.empty(2 * n, dtype=np.int64)
    idx[0::2], idx[1::2] = first, second
    pieces = _wholes().take(pa.array(idx))
    offs = np.frombuffer(pieces.buffers()[1], dtype=np.int32)[
        pieces.offset:pieces.offset + 2 * n + 1:2]
    validity, nulls = None, 0
    if valid is not None:
        nulls = n - int(np.count_nonzero(valid))
        if nulls:
            validity = pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.StringArray.from_buffers(n, pa.py_buffer(np.ascontiguousarray(offs)),
                                       pieces.buffers()[2], validity, nulls)


def _float_cells(values: np.ndarray) -> pa.Array:
    """Floats as pandas' ``to_csv`` writes them (Python's ``repr``), NaN as null (the line join
    writes it as an empty cell), vectorised in Arrow.

    Fast path, exact: a value ``v`` with ``v == y / 10**4`` for an integer ``|y| < 10**15`` is
    the double nearest to the decimal ``q = y / 10**4`` (IEEE division is correctly rounded and
    ``y`` is exact). ``q`` has at most 15 significant digits, and two different such decimals
    never round to one double, so the shortest string that reads back as ``v`` -- what ``repr``
    writes -- is ``q`` itself without trailing zeros; ``|q|`` is 0 or in ``[1e-4, 1e11)``, where
    ``repr`` uses plain notation. So ``repr(v)`` = sign + ``y // 10**4`` + a fraction from a
    table (sign and whole part from one table when every whole part is below 100,000). Every
    other value (more decimals, huge, infinite) goes through ``repr`` itself."""
    v = np.asarray(values, dtype=float)
    nan = np.isnan(v)
    with np.errstate(over="ignore", invalid="ignore"):  # huge values overflow: slow path
        y = np.rint(v * _FAST_SCALE)
        fast = (np.abs(y) < 1e15) & (y / _FAST_SCALE == v)  # False for NaN and infinities
    ya = np.abs(np.where(fast, y, 0.0)).astype(np.int64)
    whole, frac = np.divmod(ya, 10 ** _FAST_DECIMALS)
    neg = np.signbit(v)
    if len(whole) and int(whole.max()) < _WHOLE_TABLE:
        cells = _pieces_cells(whole + neg * _WHOLE_TABLE, frac + 2 * _WHOLE_TABLE,
                              ~nan if nan.any() else None)
    else:
        fraction = _FRACTIONS.take(pa.array(frac))
        parts = [pc.cast(pa.array(whole, mask=nan), pa.string()), fraction]
        if neg.any():  # most columns (km, ms) have no sign to write
            parts.insert(0, _SIGNS.take(pa.array(neg.astype(np.int8))))
        cells = pc.binary_join_element_wise(*parts, "")
    slow = ~fast & ~nan
    if slow.any():
        cells = pc.replace_with_mask(cells, pa.array(slow), pa.array(
            [repr(float(x)) for x in v[slow].tolist()], type=pa.string()))
    return cells


def _float_column(values: np.ndarray) -> pa.Array:
    """:func:`_float_cells` of a column; a column of few distinct values (the weights, the
    per-PoP backbone legs: judged on its first 256 cells) is factorised on its bits and only
    the distinct values are written (~0.5 instead of ~2 ms per 50,000 cells). On the bits, so
    ``-0.0`` and ``0.0`` stay apart and every NaN is a NaN (an empty cell)."""
    v = np.ascontiguousarray(values, dtype=float)
    if len(v) > 1024 and len(np.unique(v[:256].view(np.int64))) <= 32:
        codes, uniques = pd.factorize(v.view(np.int64))
        if len(uniques) * 4 < len(v):
            return _float_cells(np.asarray(uniques, dtype=np.int64).view(np.float64)).take(
                pa.array(codes))
    return _float_cells(v)


def format_floats(values: np.ndarray) -> pa.Array:
    """Floats as pandas' ``to_csv`` writes them (Python's ``repr``; NaN -> empty)."""
    return pc.fill_null(_float_cells(values), "")


def _text_bytes(s: pa.Array) -> tuple[np.ndarray, np.ndarray] | None:
    """(offsets, data) of a string array without nulls as numpy views (``offsets[i]`` to
    ``offsets[i + 1]`` are cell ``i``'s UTF-8 bytes in ``data``), or None (nulls, large
    strings): one numpy pass over the bytes answers what two or three Arrow string kernels
    would."""
    if s.null_count or not pa.types.is_string(s.type) or len(s) == 0:
        return None
    offs = np.frombuffer(s.buffers()[1], dtype=np.int32)[s.offset:s.offset + len(s) + 1]
    buf = s.buffers()[2]
    data = (np.frombuffer(buf, dtype=np.uint8)[offs[0]:offs[-1]] if buf is not None
            else np.zeros(0, dtype=np.uint8))
    return offs - offs[0], data


_QUOTE_BYTES = np.frombuffer(b',"', dtype=np.uint8)
_RISKY_BYTES = np.frombuffer("".join(FORMULA_PREFIXES).encode("ascii"), dtype=np.uint8)


def _quote(s: pa.Array) -> pa.Array:
    """RFC 4180 minimal quoting as Python's csv module does it for these cells (clean names
    hold no line breaks): quoted, with doubled quotes, when a cell holds ``,`` or ``"``."""
    got = _text_bytes(s)
    if got is not None and not np.isin(got[1], _QUOTE_BYTES).any():
        return s  # no cell holds either byte (the usual case: one pass over the bytes)
    need = pc.or_(pc.match_substring(s, ","), pc.match_substring(s, '"'))
    if not pc.any(need).as_py():
        return s
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(s, '"', '""'), '"', "")
    return pc.if_else(need, quoted, s)


#: Text a spreadsheet would read as a formula starts with one of
#: :data:`dashboard.domain.exports.FORMULA_PREFIXES` (one character each); RE2 syntax.
_RISKY_START = "^[" + "".join("\\" + c if c in "-]\\^" else c for c in FORMULA_PREFIXES) + "]"


def _text_cells(values: pd.Series) -> pa.Array:
    """Text cells, formula-safe and quoted: :func:`safe_cells` then :func:`_quote`, in Arrow.
    Only cells that start with a formula character (1 % of real names, none of the ids) go
    through :func:`~dashboard.domain.exports.safe_cell` itself, so the rule stays its. A
    column of few distinct values (PoP and region ids, the policy: judged on its first 256
    cells) is dictionary-encoded and only its distinct values are transformed. An object
    column of few distinct strings (the route table's PoP ids) is factorised in pandas first
    (~0.6 ms per 50,000 cells instead of ~1.9 ms to make Arrow text of every cell and encode
    it)."""
    if values.dtype == object and len(values) > 1024:
        codes, uniques = pd.factorize(values.to_numpy())
        if len(uniques) * 4 < len(values) and all(type(u) is str for u in uniques):
            dictionary = pa.array(list(uniques) + [""], type=pa.string())  # "" for missing
            codes[codes < 0] = len(uniques)
            return _cells(dictionary).take(pa.array(codes))
    arr = _arrow_text(values)
    if len(arr) > 1024 and pc.count_distinct(arr.slice(0, 256)).as_py() <= 32:
        if _constant(arr):  # the policy and access columns: one cell, repeated
            cell = _cells(arr.slice(0, 1))
            return arr if cell.equals(arr.slice(0, 1)) else cell.take(
                pa.array(np.zeros(len(arr), dtype=np.int64)))
        enc = pc.dictionary_encode(arr)
        if len(enc.dictionary) * 4 < len(arr):
            return _cells(enc.dictionary).take(enc.indices)
    return _cells(arr)


def _constant(arr: pa.Array) -> bool:
    """Whether every cell of a string array (no nulls) is its first cell: equal lengths and
    the bytes one cell repeated (~0.1 ms per 50,000 cells of 10 bytes, instead of hashing
    every cell to dictionary-encode the column, ~0.5 ms)."""
    got = _text_bytes(arr)
    if got is None:
        return False
    offs, data = got
    width = int(offs[1])
    if len(data) != width * len(arr) or not (np.diff(offs) == width).all():
        return False
    return data.tobytes() == data[:width].tobytes() * len(arr)  # memcmp


def _arrow_text(values: pd.Series) -> pa.Array:
    """A text column as an Arrow string array, missing values as "". Pandas' ``str`` columns
    are Arrow data already: taken as they are (~0.1 ms per 100,000 cells, not the ~5 ms of a
    round trip through Python objects)."""
    try:
        arr = pa.array(values, type=pa.string(), from_pandas=True)
    except (pa.ArrowTypeError, pa.ArrowInvalid):  # not all str: as pandas writes them
        arr = pa.array(values.astype(object).where(values.notna(), "").astype("str")
                       .to_numpy(dtype=object), type=pa.string())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return pc.fill_null(arr, "")


def _cells(arr: pa.Array) -> pa.Array:
    """Formula-safe (:func:`safe_cell` on cells starting with a formula character) and quoted.
    The formula characters are ASCII, so a cell starts with one iff its first UTF-8 byte is
    one: read from the offsets (~0.2 ms per 50,000 cells; the regex ~0.9 ms)."""
    got = _text_bytes(arr)
    if got is not None:
        offs, data = got
        nonempty = offs[1:] > offs[:-1]
        first = data[np.minimum(offs[:-1], max(len(data) - 1, 0))] if len(data) else offs[:-1]
        risky = pa.array(nonempty & np.isin(first, _RISKY_BYTES))
    else:
        risky = pc.match_substring_regex(arr, _RISKY_START)
    if pc.any(risky).as_py():
        at = np.flatnonzero(risky.to_numpy(zero_copy_only=False))
        arr = pc.replace_with_mask(arr, risky, pa.array(
            [safe_cell(t) for t in arr.take(pa.array(at)).to_pylist()], type=pa.string()))
    return _quote(arr)


#: Rows per batch of Arrow's CSV writer in :func:`_join_lines` (measured on 50,000 rows of 23
#: columns: 1,024 -> 7.8 ms, 8,192 -> 6.9 ms, 65,536 -> 12 ms).
_WRITE_BATCH = 8192


def _join_lines(cols: list[pa.Array]) -> bytes:
    """Cells already written as text (quoted where needed, nulls for empty cells) joined with
    ``,`` into ``\n``-ended lines. Arrow's CSV writer without quoting does it in one pass
    (~2.5x faster than a string join); it refuses a cell with a quote, comma or line break --
    a quoted name -- and then the chunk is joined with Arrow's string join instead (the same
    bytes)."""
    table = pa.table(cols, names=[f"c{i}" for i in range(len(cols))])
    sink = io.BytesIO()
    try:
        pacsv.write_csv(table, sink, pacsv.WriteOptions(
            include_header=False, quoting_style="none", batch_size=_WRITE_BATCH))
        return sink.getvalue()
    except pa.ArrowInvalid:
        pass
    lines = pc.binary_join_element_wise(
        pc.binary_join_element_wise(*cols, ",", null_handling="replace", null_replacement=""),
        pa.scalar("\n"), "")
    offs = np.frombuffer(lines.buffers()[1], dtype=np.int32)
    start, end = int(offs[lines.offset]), int(offs[lines.offset + len(lines)])
    return bytes(memoryview(lines.buffers()[2])[start:end])


def csv_text(out: pd.DataFrame, header: bool) -> bytes:
    """``out`` as the bytes ``safe_csv(out, float_format=None)`` would give (UTF-8, ``\\n``
    line ends, formula-safe text cells), built column-wise in Arrow: numbers by
    :func:`_float_cells`, booleans and text from small tables, every line in one join."""
    cols = []
    # The route table's PoP and origin ids as the integer codes it was built from
    # (paths.row_codes): only their ~20 distinct values made into cells, no hashing of 50,000
    # strings per column (~1 ms each per 50,000 rows). None for any other frame.
    codes = paths.row_codes(out)
    by_code = {} if codes is None else {"pop_id": (codes.pop_ids, codes.pop),
                                        "origin_id": (codes.origin_ids, codes.origin)}
    for name in ("runner_up_id", "network_pop_id") if codes is not None else ():
        got = paths.id_column_codes(out, name)  # ~0.85 ms per 50,000 rows each
        if got is not None:
            by_code[name] = (got[1], got[0])
    for name in out.columns:
        s = out[name]
        if name in by_code:
            values, index = by_code[name]
            arr = _cells(pa.array(values.tolist(), type=pa.string())).take(pa.array(index))
        elif pd.api.types.is_bool_dtype(s.dtype):
            arr = _BOOLS.take(pa.array(s.to_numpy(dtype=bool).astype(np.int8)))
        elif pd.api.types.is_float_dtype(s.dtype):
            arr = _float_column(s.to_numpy(dtype=float))
        else:
            arr = _text_cells(s)
        cols.append(arr)
    body = _join_lines(cols) if len(out) else b""
    if header:
        head = ",".join(_quote(pa.array(safe_cells(pd.Series(list(out.columns), dtype="str"))
                                        .to_numpy(dtype=object), type=pa.string()))
                        .to_pylist()) + "\n"
        return head.encode("utf-8") + body
    return body


class CsvSink:
    """Writes chunks as CSV to a binary stream (header once). ``encode`` (any thread) turns a
    chunk into bytes, ``put`` (one thread, in order) writes them."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream, self.first = stream, True

    def encode(self, out: pd.DataFrame) -> bytes:
        return csv_text(out, header=False)

    def put(self, payload: bytes, columns: Sequence[str]) -> None:
        if self.first:
            self.stream.write(csv_text(pd.DataFrame(columns=list(columns)), header=True))
            self.first = False
        self.stream.write(payload)

    def write(self, out: pd.DataFrame) -> None:
        self.put(self.encode(out), out.columns)

    def put_spooled(self, spooled: "_Spooled", columns: Sequence[str]) -> None:
        """Write a chunk a worker process left in a spool file (:func:`_spool`), then remove
        the file. The kernel copies it to the output (``os.sendfile``: the text never passes
        through this process's memory); where the output takes no ``sendfile`` (an in-memory
        stream, a terminal) it is read and written in 1 MiB pieces."""
        if self.first:
            self.put(b"", columns)
        try:
            with open(spooled.path, "rb", buffering=0) as src:
                sent = 0
                try:
                    fd = self.stream.fileno()
                    self.stream.flush()
                    while sent < spooled.size:
                        n = os.sendfile(fd, src.fileno(), sent, spooled.size - sent)
                        if n == 0:
                            raise BatchError(f"spool file {spooled.path} ended early")
                        sent += n
                except (AttributeError, io.UnsupportedOperation):
                    pass
                except OSError as exc:
                    if sent or exc.errno not in _NO_SENDFILE:
                        raise
                src.seek(sent)
                while piece := src.read(1 << 20):
                    self.stream.write(piece)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(spooled.path)

    def close(self) -> None:
        self.stream.flush()


#: Text columns of ``assign`` output written as Arrow large strings (pandas' ``str``): the
#: client's name, the PoP and origin ids, the policy and the access type.
PARQUET_TEXT = ("name", "pop_id", "runner_up_id", "origin_id", "network_pop_id", "policy",
                "access")


@functools.lru_cache(maxsize=8)
def _parquet_reference(columns: tuple[tuple[str, str], ...]) -> pa.Schema:
    """The schema (with its pandas metadata) ``pa.Table.from_pandas`` gives a frame of these
    ``(column, dtype)`` with the :data:`PARQUET_TEXT` columns as ``str``, from an empty frame
    of them (the metadata names columns and dtypes, never rows). Once per process."""
    frame = pd.DataFrame({c: pd.Series([], dtype=d) for c, d in columns})
    frame = frame.astype({c: "str" for c, _ in columns if c in PARQUET_TEXT})
    return pa.Table.from_pandas(frame, preserve_index=False).schema


def _parquet_text(values: pd.Series) -> pa.Array:
    """A text column as ``astype("str")`` then Arrow make it (large strings, missing -> null)."""
    try:
        arr = pa.array(values, type=pa.large_string(), from_pandas=True)
    except (pa.ArrowTypeError, pa.ArrowInvalid):  # not all str: pandas' own conversion
        arr = pa.array(values.astype("str"), type=pa.large_string(), from_pandas=True)
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def parquet_table(out: pd.DataFrame) -> pa.Table:
    """``out`` as the Arrow table of its Parquet output: the table ``pa.Table.from_pandas(
    out.astype({text columns: "str"}), preserve_index=False)`` gives -- same types, values and
    pandas metadata -- built from the columns' arrays (~2 instead of ~12 ms per 50,000 rows:
    no ``astype`` copy of the text columns, no per-column inference). The PoP and origin ids
    are taken from the ~20 strings they were gathered from (``paths.row_codes``: no Python
    string per row). A frame with other columns (IP addresses) is converted by
    ``from_pandas`` itself."""
    ref = _parquet_reference(tuple((c, str(out[c].dtype)) for c in out.columns))
    codes = paths.row_codes(out)
    by_code = {} if codes is None else {"pop_id": (codes.pop_ids, codes.pop),
                                        "origin_id": (codes.origin_ids, codes.origin)}
    for name in ("runner_up_id", "network_pop_id") if codes is not None else ():
        got = paths.id_column_codes(out, name)
        if got is not None:
            by_code[name] = (got[1], got[0])
    arrays = []
    for name in out.columns:
        s = out[name]
        if name in by_code:
            values, index = by_code[name]
            arr: pa.Array = pa.array(values.tolist(), type=pa.large_string()).take(
                pa.array(np.asarray(index, dtype=np.int32)))
        elif name in PARQUET_TEXT:
            arr = _parquet_text(s)
        elif pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_float_dtype(s.dtype):
            arr = pa.array(s.to_numpy(), from_pandas=True)  # NaN -> null, as from_pandas
        else:
            arr = None  # another kind of column: from_pandas decides its type
        if arr is None or arr.type != ref.field(name).type:
            return pa.Table.from_pandas(
                out.astype({c: "str" for c in out.columns if c in PARQUET_TEXT}),
                preserve_index=False)
        arrays.append(arr)
    return pa.Table.from_arrays(arrays, schema=ref)


def parquet_part(table: pa.Table) -> bytes:
    """``table`` as a whole Parquet file (a *part*, :mod:`~dashboard.services.parquet_parts`):
    zstd, dictionary pages for the few-valued text columns only (ids, policy, access: on every
    column Arrow tries and drops them for the floats and names, ~2x the CPU -- 57 -> 30 ms per
    50,000 rows -- and a bigger file), row groups of pyarrow's default size."""
    ids = [f.name for f in table.schema
           if f.name not in ("name", "ip", "geoip_message", "geoip_place")
           and (pa.types.is_string(f.type) or pa.types.is_large_string(f.type))]
    sink = pa.BufferOutputStream()
    with _pq().ParquetWriter(sink, table.schema, compression="zstd",
                             use_dictionary=ids) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


class ParquetSink:
    """Writes chunks as one Parquet file (row groups = chunks).

    ``encode`` (any process: the worker that routed the chunk) writes a chunk as a complete
    Parquet part (:func:`parquet_table`, :func:`parquet_part`: the encoding and zstd, ~25 ms
    per 50,000 rows, happen there); ``put`` / ``put_spooled`` (this process, in order) append
    the part's page bytes to the output and keep its row groups; ``close`` writes the footer of
    them all (:class:`~dashboard.services.parquet_parts.Splicer`). The file reads back as the
    one pyarrow's writer made of the same tables one row group at a time.

    A part whose schema is not the first part's (a chunk of IP addresses whose columns
    pandas typed otherwise) is read back, cast to the first part's Arrow schema and written
    again here, as the writer cast every table to its first one's schema."""

    def __init__(self, path: str | Path) -> None:
        from dashboard.services.parquet_parts import Splicer

        self.path = path
        self.stream: IO[bytes] | None = None
        self.pos = 0
        self.splice = Splicer()
        self.first_footer = b""

    def encode(self, out: pd.DataFrame) -> bytes:
        return parquet_part(parquet_table(out))

    def _open(self) -> IO[bytes]:
        if self.stream is None:
            from dashboard.services.parquet_parts import MAGIC

            self.stream = open(self.path, "wb")
            self.stream.write(MAGIC)
            self.pos = len(MAGIC)
        return self.stream

    def _recast(self, payload: bytes) -> bytes:
        """A part rewritten with the first part's Arrow schema (its types and metadata)."""
        from dashboard.services.parquet_parts import MAGIC

        head = MAGIC + self.first_footer + len(self.first_footer).to_bytes(4, "little") + MAGIC
        schema = _pq().read_schema(pa.BufferReader(head))
        table = _pq().read_table(pa.BufferReader(payload))
        return parquet_part(table.cast(schema).replace_schema_metadata(schema.metadata))

    def _take(self, footer: bytes) -> Any:
        meta = self.splice.parse(footer)
        if self.splice.head is None:
            self.first_footer = footer
        return meta

    def put(self, payload: bytes, columns: Sequence[str]) -> None:
        from dashboard.services.parquet_parts import part_of

        part = part_of(payload)
        meta = self._take(part.footer)
        if not self.splice.same_schema(meta):
            payload = self._recast(payload)
            part = part_of(payload)
            meta = self._take(part.footer)
        stream = self._open()
        at = self.pos
        stream.write(memoryview(payload)[4:part.body_end])
        self.pos += part.body_end - 4
        self.splice.add(meta, at)

    def put_spooled(self, spooled: "_Spooled", columns: Sequence[str]) -> None:
        """A part a worker process left in a spool file (:func:`_spool`): its footer read
        from the file's end, its pages copied by the kernel (``os.sendfile``; read and written
        in 1 MiB pieces where the output takes none); the file removed."""
        from dashboard.services.parquet_parts import footer_of

        try:
            with open(spooled.path, "rb", buffering=0) as src:
                src.seek(max(0, spooled.size - 8))
                n = int.from_bytes(src.read(8)[:4], "little")
                src.seek(max(0, spooled.size - 8 - n))
                part = footer_of(src.read(n + 8), spooled.size)
                meta = self._take(part.footer)
                if not self.splice.same_schema(meta):
                    src.seek(0)
                    self.put(src.read(), columns)
                    return
                stream = self._open()
                at = self.pos
                _copy_range(src, stream, 4, part.body_end)
                self.pos += part.body_end - 4
                self.splice.add(meta, at)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(spooled.path)

    def write(self, out: pd.DataFrame) -> None:
        self.put(self.encode(out), out.columns)

    def close(self) -> None:
        if self.stream is not None:
            stream, self.stream = self.stream, None
            try:
                stream.write(self.splice.trailer())
            finally:
                stream.close()


def _copy_range(src: Any, stream: IO[bytes], start: int, end: int) -> None:
    """Bytes ``[start, end)`` of the open file ``src`` appended to ``stream``: by
    ``os.sendfile`` (the kernel copies; the stream flushed first), else read and written in
    1 MiB pieces."""
    sent = 0
    try:
        fd = stream.fileno()
        stream.flush()
        while start + sent < end:
            n = os.sendfile(fd, src.fileno(), start + sent, end - start - sent)
            if n == 0:
                raise BatchError("spool file ended early")
            sent += n
    except (AttributeError, io.UnsupportedOperation):
        pass
    except OSError as exc:
        if sent or exc.errno not in _NO_SENDFILE:
            raise
    src.seek(start + sent)
    left = end - start - sent
    while left > 0:
        piece = src.read(min(left, 1 << 20))
        if not piece:
            raise BatchError("spool file ended early")
        stream.write(piece)
        left -= len(piece)


# --------------------------------------------------------------------------------------------
# The run


def kind_of(path: str | Path | None) -> str:
    """``"parquet"`` for ``*.parquet``/``*.pq``, else ``"csv"``."""
    return "parquet" if path is not None and str(path).lower().endswith((".parquet", ".pq")) \
        else "csv"


def default_workers() -> int:
    """Routing workers (processes; threads where none can be forked): the CPUs this process
    may use, at most 4."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        n = os.cpu_count() or 1
    return max(1, min(4, n))


def run(catalog: Catalog, chunks: Iterator[pd.DataFrame], sink: CsvSink | ParquetSink, job: Job,
        workers: int = 1, progress: Callable[[Summary, float], None] | None = None,
        route: Callable[[Catalog, pd.DataFrame, Job], pd.DataFrame] | None = None) -> Summary:
    """Route every chunk (on ``workers`` threads, at most ``workers + 1`` chunks in memory),
    write them in order, return the :class:`Summary`. ``progress(summary, seconds)`` after each
    chunk written. ``route``: :func:`route_chunk` (clients with coordinates, the default) or
    :func:`route_ip_chunk` (IP addresses: located first).

    Each thread routes a chunk, encodes it for the sink (CSV text, an Arrow table) and counts
    it (a chunk's :class:`Summary`); the calling thread reads the input, writes the encoded
    chunks in input order and merges the counts. Numpy and Arrow release the GIL in their loops,
    so routing and encoding of two chunks overlap on two cores -- but only ~1.6x: the Python
    between the numpy calls holds the GIL. :func:`assign_file` therefore uses
    :func:`run_processes` where it can fork, and this with one worker (the Dask path) or where
    it cannot. Each chunk's route table is dropped as soon as it is encoded (memory)."""
    route_fn = route or route_chunk
    summary = Summary()
    t0 = time.perf_counter()

    def work(c: pd.DataFrame) -> tuple[object, list[str], Summary]:
        out = route_fn(catalog, c, job)
        del c
        part = Summary.chunk()
        part.add(out)
        return sink.encode(out), list(out.columns), part

    def emit(done: tuple[object, list[str], Summary]) -> None:
        payload, columns, part = done
        sink.put(payload, columns)
        summary.merge(part)
        if progress is not None:
            progress(summary, time.perf_counter() - t0)

    try:
        if workers <= 1:
            for c in chunks:
                emit(work(c))
        else:
            with cf.ThreadPoolExecutor(workers) as pool:
                pending: deque[cf.Future] = deque()
                for c in chunks:
                    pending.append(pool.submit(work, c))
                    del c
                    while len(pending) >= workers:
                        emit(pending.popleft().result())
                while pending:
                    emit(pending.popleft().result())
    finally:
        sink.close()
    return summary


# --------------------------------------------------------------------------------------------
# The run on worker processes


#: What the worker processes route with: set in the parent just before the pool forks them, so
#: they inherit it (catalog, job, route function, the sink's encoder and the latency model's
#: cities grid, built once) without pickling; cleared when the run ends.
_WORKER: dict[str, Any] = {}


#: ``os.sendfile`` errors meaning "this output takes no sendfile" (a terminal, ``O_APPEND``):
#: the chunk is copied through this process instead.
_NO_SENDFILE = {errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP, errno.ESPIPE}


@dataclass(frozen=True)
class _Spooled:
    """A chunk's CSV text left by a worker process in ``path`` (``size`` bytes)."""

    path: str
    size: int


def _spool_dir() -> str:
    """A private directory (mode 0700) for the workers' spool files: in ``/dev/shm`` (memory,
    no disk write) where it is writable, else the temporary directory. Holds at most
    ``workers + 1`` chunks (~9 MB per 50,000 rows) at once."""
    base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    try:
        return tempfile.mkdtemp(prefix="anycast-assign-", dir=base)
    except OSError:
        return tempfile.mkdtemp(prefix="anycast-assign-")


def _spool(payload: bytes, path: str) -> "_Spooled | bytes":
    """In a worker: ``payload`` written to ``path`` (new, 0600) for the command to splice into
    the output; the payload itself when that fails (e.g. a full ``/dev/shm``): it then goes
    through the pipe as before."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError:
        return payload
    try:
        view, done = memoryview(payload), 0
        while done < len(view):
            done += os.write(fd, view[done:])
    except OSError:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(path)
        return payload
    os.close(fd)
    return _Spooled(path, len(payload))


@dataclass
class _Task:
    """A chunk of work in input order. ``kind`` ``"block"``: CSV bytes the worker reads with
    the column-wise reader (``snap`` = delimiter, header, comments of the parse state);
    ``"frame"``: clients already read (``counted``: their rows are in the parse state's count;
    otherwise read ahead of order without the row limit, checked when their turn comes);
    ``error``: the read-ahead failed with it (raised, or the row limit's error, in order)."""

    kind: str
    data: Any
    offset: int = 0
    lines: int = 0
    counted: bool = True
    snap: tuple | None = None
    #: The CSV bytes of a task read ahead of order, kept for the in-order re-read.
    block: bytes | None = None
    error: Exception | None = None


def _work_process(kind: str, data: Any, snap: tuple | None, spool: str | None = None
                  ) -> tuple[object, list[str], Summary, int] | None:
    """In a worker process: read (a ``"block"``), route, encode and count one chunk; None when
    the column-wise reader cannot take the block (the parent reads it row by row, in order).
    ``spool``: a path to leave CSV text in (:func:`_spool`) instead of returning it."""
    catalog, job, route_fn, encode = _WORKER["args"]
    if kind == "block":
        assert snap is not None
        state = cl.ParseState(delimiter=snap[0], header=snap[1], seen_first=True,
                              comments=snap[2])
        clients = fast_block(data, state)
        if clients is None:
            return None
    elif kind == "call":  # read here: fn(*args) -> clients (a Parquet batch checked)
        fn, args = data
        clients = fn(*args)
    else:
        clients = data
    del data
    n = len(clients)
    out = route_fn(catalog, clients, job)
    del clients
    part = Summary.chunk()
    part.add(out)
    payload = encode(out)
    if spool is not None and isinstance(payload, bytes):
        payload = _spool(payload, spool)
    return payload, list(out.columns), part.trimmed(), n


class InlinePool:
    """The executor interface :func:`run_processes` uses, in this process: each task runs when
    its result is asked for (in order, after the tasks after it were submitted: the same
    read-ahead as with processes). For one-chunk inputs and tests."""

    class _Later:
        def __init__(self, fn: Callable[..., Any], args: tuple) -> None:
            self.fn, self.args = fn, args

        def result(self) -> Any:
            return self.fn(*self.args)

    def submit(self, fn: Callable[..., Any], *args: Any) -> "InlinePool._Later":
        return InlinePool._Later(fn, args)

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        pass


def _worker_init() -> None:
    """A worker ignores Ctrl-C: the parent gets it, stops submitting and waits for the chunks
    in progress (no traceback from every worker)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


class _CsvFeed:
    """A CSV stream as :class:`_Task` s for the worker processes, and the in-order checks that
    keep the rows, line numbers, messages and row limit of :func:`read_csv_chunks`.

    The parent reads every block where the header is not settled yet (the first, and any while
    the file has shown only blank and comment lines) itself, exactly as :func:`read_csv_chunks`
    (:func:`read_block`). After that a block's reading depends only on the header, delimiter
    and comment rule (fixed from then on) and on the lines and rows before it: lines are counted
    here as blocks are cut (:func:`count_lines`), rows when results come back in order. A
    block the column-wise reader may take goes to a worker as bytes; one it may not (quotes,
    comments, CRs) is read row by row here ahead of order, without the row limit. In order,
    :meth:`resolve` adds the rows; when the limit is passed, or a block failed or fell back, the
    block is read again row by row with the true state, which raises the very error the
    sequential reader raises (or gives its rows)."""

    def __init__(self, stream: IO[bytes], rows: int, max_rows: int | None) -> None:
        self.stream, self.rows, self.max_rows = stream, rows, max_rows
        self.state = cl.ParseState()

    def blocks(self) -> Iterator[tuple[bytes, int, int]]:
        """``(block, offset, newlines)``: the stream in blocks of whole lines cut outside
        quotes, as :func:`csv_blocks` but with fewer passes over the bytes (the parent cuts
        every block while two workers route: its time is the run's floor). The first block
        has ``rows`` lines; later ones are cut at the line end after ~98 % of ``rows`` times
        the bytes per line so far, then counted once (numpy) and cut at the ``rows``-th line
        end if they have more: never more than ``rows`` lines (but for a quoted field's lines),
        the same bound on memory."""
        rows, stream = self.rows, self.stream
        buf = b""
        offset = 0
        eof = False
        per_line = 0.0  # bytes per line of the blocks so far; 0: none yet

        def more() -> bool:
            nonlocal buf, eof
            got = stream.read(READ_BYTES) if not eof else b""
            if not got:
                eof = True
                return False
            buf += got
            return True

        while True:
            if per_line:
                want = max(1, int(rows * per_line * 0.98))
                while len(buf) < want and more():
                    pass
                if not buf:
                    return
                end = buf.find(b"\n", want - 1)
                while end < 0 and more():
                    end = buf.find(b"\n", want - 1)
                cut = end + 1 if end >= 0 else len(buf)
                nl = np.frombuffer(buf, dtype=np.uint8, count=cut) == 10
                n = int(np.count_nonzero(nl))
                if n > rows:
                    cut, n = int(np.flatnonzero(nl)[rows - 1]) + 1, rows
            else:
                while buf.count(b"\n") < rows and more():
                    pass
                if not buf:
                    return
                ends = _line_ends(buf)
                cut = int(ends[rows - 1]) + 1 if len(ends) >= rows else len(buf)
                n = min(rows, len(ends))
            if buf.find(b'"', 0, cut) >= 0:  # a quoted field may span lines (csv_blocks)
                odd = buf.count(b'"', 0, cut) % 2
                while odd:  # extend to a line end with an even number of quotes before it
                    nxt = buf.find(b"\n", cut)
                    if nxt >= 0:
                        odd ^= buf.count(b'"', cut, nxt + 1) % 2
                        cut = nxt + 1
                    elif not more():
                        cut = len(buf)
                        break
                n = buf.count(b"\n", 0, cut)
            yield buf[:cut], offset, n
            per_line = cut / max(n, 1)
            offset += cut
            buf = buf[cut:]

    def tasks(self) -> Iterator[_Task]:
        state = self.state
        lines = 0  # physical lines before the next block
        first = True
        for block, offset, newlines in self.blocks():
            if first or not state.seen_first:
                # in order: every task before this one was read here too (counted)
                yield _Task("frame", read_block(block, offset, state, self.max_rows, first))
                first = False
                lines = state.lines
                continue
            snap = (state.delimiter, state.header, state.comments)
            task = _Task("block", block, offset, lines, counted=False, snap=snap, block=block)
            if not _fast_ok(block, state):  # row by row, here, ahead of order
                try:
                    task.kind, task.data = "frame", self._parse(block, offset, lines, 0, None)
                except cl.ClientsError as exc:
                    task.kind, task.data, task.error = "error", None, exc
            yield task
            lines += (newlines + (not block.endswith(b"\n")) if b"\r" not in block
                      else count_lines(block))

    def _parse(self, block: bytes, offset: int, lines: int, rows: int,
               max_rows: int | None) -> pd.DataFrame:
        s = self.state
        st = cl.ParseState(delimiter=s.delimiter, header=s.header, seen_first=s.seen_first,
                           comments=s.comments, lines=lines, rows=rows)
        return cl.parse_block(cl.decode_block(block, st, offset), st, max_rows)

    def reread(self, task: _Task) -> pd.DataFrame:
        """The task's block read row by row with the true state and the row limit, in order
        (raises the sequential reader's error); its rows are counted."""
        assert task.block is not None
        df = self._parse(task.block, task.offset, task.lines, self.state.rows, self.max_rows)
        self.state.rows += len(df)
        return df

    def check(self, task: _Task, n: int) -> None:
        """In order: count the ``n`` rows of a task read ahead; re-read (and raise) when they
        pass the row limit or the read-ahead failed."""
        if task.error is not None:
            self.reread(task)  # raises the sequential reader's error
            raise task.error   # pragma: no cover - the re-read raises first
        if task.counted:
            return
        if self.max_rows is not None and self.state.rows + n > self.max_rows:
            self.reread(task)
            raise AssertionError("row limit passed without an error")  # pragma: no cover
        self.state.rows += n

    def finish(self) -> None:
        cl.check_not_empty(self.state)


def _frame_tasks(chunks: Iterator[pd.DataFrame]) -> Iterator[_Task]:
    for c in chunks:
        yield _Task("frame", c)


def can_fork() -> bool:
    """Whether worker processes can be forked here (Linux and other POSIX systems)."""
    import multiprocessing as mp

    return "fork" in mp.get_all_start_methods()


def warm(job: Job) -> None:
    """Build what every chunk's routing builds once per process (the latency model's cities
    grid, ~0.15 s) before the workers fork, so they share it instead of each building it."""
    params = latency.params_with((), check_access(job.access))
    from dashboard.domain import latency as lat_mod

    lat_mod._city_grid(params)
    _wholes()


def run_processes(catalog: Catalog, tasks: Iterator[_Task], sink: CsvSink | ParquetSink,
                  job: Job, workers: int, feed: _CsvFeed | None = None,
                  progress: Callable[[Summary, float], None] | None = None,
                  route: Callable[[Catalog, pd.DataFrame, Job], pd.DataFrame] | None = None,
                  pool_factory: Callable[[int], Any] | None = None) -> Summary:
    """:func:`run` on ``workers`` forked processes: each reads (CSV blocks), routes, encodes
    and counts a chunk; this process cuts the input, writes the chunks in input order (CSV
    text handed over in spool files, :func:`_spool`, spliced by ``os.sendfile``) and merges
    the counts. At most ``workers + 1`` chunks are in flight (memory).
    ``pool_factory(workers)``: the pool (tests pass :class:`InlinePool`); default a fork pool.

    Why processes: the routing holds the GIL between numpy calls (the cities grid's per-cell
    loop, pandas), so two threads overlapped only ~1.6x on 2 cores; processes overlap fully.
    The pool forks once the first two chunks are read (a one-chunk input starts none), with
    the latency model's cities grid built (:func:`warm`): the workers share it and inherit
    catalog, job and route function without pickling; they exit with ``os._exit``
    (multiprocessing), never flushing the inherited output. A worker that dies (killed, out of
    memory) ends the run with :class:`BatchError`, never a hang."""
    import multiprocessing as mp
    from concurrent.futures.process import BrokenProcessPool

    route_fn = route or route_chunk
    summary = Summary()
    t0 = time.perf_counter()
    _WORKER["args"] = (catalog, job, route_fn, sink.encode)
    tasks = iter(tasks)
    head = [t for t in (next(tasks, None), next(tasks, None)) if t is not None]
    if len(head) < 2 or workers < 2:  # one chunk (or one worker): no processes to start
        pool: Any = InlinePool()
    elif pool_factory is not None:
        pool = pool_factory(workers)
    else:
        warm(job)
        pool = cf.ProcessPoolExecutor(workers, mp_context=mp.get_context("fork"),
                                      initializer=_worker_init)
    # CSV text and Parquet parts from worker processes go through spool files, not the pipe
    spool_dir = (_spool_dir() if hasattr(sink, "put_spooled")
                 and not isinstance(pool, InlinePool) else None)
    serial = itertools.count()
    try:
        pending: deque[tuple[_Task, Any]] = deque()

        def submit(task: _Task) -> Any:
            if task.kind == "error":
                return None
            spool = (os.path.join(spool_dir, f"{next(serial)}.csv") if spool_dir is not None
                     else None)
            return pool.submit(_work_process, task.kind, task.data,
                               task.snap if task.kind == "block" else None, spool)

        def step() -> None:
            task, res = pending.popleft()
            got = res.result() if res is not None else None
            if feed is not None and task.kind == "block" and got is None:
                # the column-wise reader could not take it: row by row, in order, here
                df = feed.reread(task)
                pending.appendleft((_Task("frame", df), submit(_Task("frame", df))))
                return
            if feed is not None:
                feed.check(task, got[3] if got is not None else 0)
            payload, columns, part, _ = got
            if isinstance(payload, _Spooled):
                sink.put_spooled(payload, columns)
            else:
                sink.put(payload, columns)
            summary.merge(part)
            if progress is not None:
                progress(summary, time.perf_counter() - t0)

        for task in itertools.chain(head, tasks):
            pending.append((task, submit(task)))
            while len(pending) > workers:
                step()
        while pending:
            step()
        if feed is not None:
            feed.finish()
    except BrokenProcessPool:
        raise BatchError("a worker process died (killed, or out of memory: lower "
                         "--chunk-rows)") from None
    finally:
        _WORKER.clear()
        pool.shutdown(wait=True, cancel_futures=True)
        if spool_dir is not None:  # what a dead or cancelled worker left
            shutil.rmtree(spool_dir, ignore_errors=True)
        sink.close()
    return summary


def use_system_memory_pool() -> None:
    """Arrow's buffers from the C library's allocator instead of mimalloc, for this process.

    Why: mimalloc keeps the pages of freed chunk buffers (the CSV text, the Arrow tables) for
    reuse, so a run's peak RSS grew by ~60 MB over the system allocator for the same work
    (2 threads, 50,000-row chunks: 365 vs 308 MB); the batch engine allocates and frees the
    same sizes chunk after chunk and gains nothing from keeping them. Process-wide: the CLI and
    the Dask workers are batch processes."""
    if pa.default_memory_pool().backend_name != "system":
        pa.set_memory_pool(pa.system_memory_pool())


#: ``mallopt`` parameters (glibc's malloc.h) and the values :func:`keep_freed_memory` sets.
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
_KEEP_MALLOC = ((_M_MMAP_THRESHOLD, 32 << 20), (_M_TRIM_THRESHOLD, 256 << 20),
                (_M_TOP_PAD, 64 << 20))


def keep_freed_memory() -> bool:
    """glibc's malloc told to keep freed memory for reuse in this process (and the workers it
    forks): blocks up to 32 MiB (its largest setting) from the heap instead of their own
    ``mmap``, the heap's top given back only past 256 MiB free, grown 64 MiB at a time. False
    where it does not apply (not glibc).

    Why: every chunk allocates and frees the same sizes (numpy columns of 50,000 values,
    ~0.4 MB; Arrow buffers; the ~9 MB of CSV text), and by default glibc maps the large ones
    fresh and gives them back each time, so each is zero-filled by the kernel again: 343,000
    page faults per 2M-row run. Kept, 89,000-93,000: ~0.5 CPU s less (4 %); the run's
    memory did not grow (tree PSS 299 MB with the spool files; docs/performance.md)."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return [mallopt(param, value) for param, value in _KEEP_MALLOC] == [1, 1, 1]


def assign_file(catalog: Catalog, source: str | Path, target: str | Path | None, job: Job,
                rows: int = DEFAULT_CHUNK_ROWS, max_rows: int | None = None,
                workers: int | None = None, stdin: IO[bytes] | None = None,
                stdout: IO[bytes] | None = None,
                progress: Callable[[Summary, float], None] | None = None) -> Summary:
    """``source`` (CSV or Parquet by extension; ``"-"`` = ``stdin``, CSV) -> ``target`` (by
    extension; None or ``"-"`` = ``stdout``, CSV). Raises ``ClientsError`` (bad rows; the
    output written so far is left as is: the caller removes it), ``BatchError`` and
    ``OSError``."""
    workers = default_workers() if workers is None else workers
    use_system_memory_pool()
    keep_freed_memory()
    src_kind = "csv" if str(source) == "-" else kind_of(source)
    route = None
    pq_tasks: Iterator[_Task] | None = None
    if src_kind == "parquet":
        ip_col = parquet_ip_column(source)
        if ip_col is not None:  # a file of IP addresses: located first (issue 18)
            chunks, route = read_ip_parquet_chunks(source, ip_col, rows, max_rows), route_ip_chunk
        else:
            chunks = read_parquet_chunks(source, rows, max_rows)
            pq_tasks = (_Task("call", (parquet_frame, args))
                        for args in parquet_batches(source, rows, max_rows))
        fh = None
    else:
        fh = stdin if str(source) == "-" else open(source, "rb")
        fh, ip_header = sniff_ip_csv(fh)
        if ip_header is not None:
            chunks, route = read_ip_csv_chunks(fh, ip_header, rows, max_rows), route_ip_chunk
        else:
            chunks = read_csv_chunks(fh, rows, max_rows)
    try:
        if target is None or str(target) == "-":
            sink: CsvSink | ParquetSink = CsvSink(stdout)
        elif kind_of(target) == "parquet":
            sink = ParquetSink(target)
        else:
            out_fh = open(target, "wb")
            sink = CsvSink(out_fh)
            sink.close = lambda: (out_fh.flush(), out_fh.close())  # type: ignore[method-assign]
        if workers > 1 and can_fork():
            feed = _CsvFeed(fh, rows, max_rows) if src_kind == "csv" and route is None else None
            tasks = (feed.tasks() if feed is not None else pq_tasks if pq_tasks is not None
                     else _frame_tasks(chunks))
            return run_processes(catalog, tasks, sink, job, workers, feed, progress, route)
        return run(catalog, chunks, sink, job, workers, progress, route)
    finally:
        if fh is not None and fh is not stdin:
            fh.close()
