"""The batch engine's readers: clients from a file, chunk by chunk.

Input: CSV (the rules of :func:`dashboard.domain.clients.parse_clients`: a block of plainly
valid rows is accepted column by column by :func:`~dashboard.domain.clients.accept_fields`, any
other block is read row by row by :func:`~dashboard.domain.clients.parse_block`, which names the
file line and column of an error exactly as before) or Parquet (columns named like a CSV
header: ``lat``/``latitude``, ``lon``/``lng``/``long``/``longitude``, optional ``name``,
``weight``; numbers or text; the same checks, errors name the row). Files of IP addresses (issue
18; CSV or Parquet with an ``ip`` column) are read here too, as ``ip, name, weight`` chunks
that :func:`dashboard.services.batch.route.locate_chunk` locates before routing.

Units: degrees."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from dashboard.domain import clients as cl
from dashboard.domain import ipgeo
from dashboard.services.batch.base import DEFAULT_CHUNK_ROWS, READ_BYTES, BatchError, _pq


#: Bytes the Parquet reader reads at a time (:func:`open_parquet`).
PARQUET_READ_BYTES = 1 << 20


def open_parquet(path: str | Path) -> Any:
    """A ``pq.ParquetFile`` that streams each column chunk in :data:`PARQUET_READ_BYTES`
    reads instead of reading it whole (pyarrow's default, ``pre_buffer``): a file of one huge
    row group would otherwise be held compressed in memory while its batches are decoded
    (10,000,000 clients in one row group, read in 50,000-row batches: peak RSS 350 -> 191 MB;
    ~0.3 ms more per batch)."""
    return _pq().ParquetFile(path, pre_buffer=False, buffer_size=PARQUET_READ_BYTES)


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
# Files of IP addresses (issue 18): read here, located before routing (route.locate_chunk)

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
