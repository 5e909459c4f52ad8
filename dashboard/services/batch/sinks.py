"""The batch engine's sinks: routed chunks written out in input order.

Output: CSV byte for byte as the old ``assign`` wrote it (:class:`CsvSink`, text from
:func:`dashboard.services.batch.csv_format.csv_text`) or Parquet (:class:`ParquetSink`: typed
columns, names as cleaned; no spreadsheet escaping: Parquet is not opened as a formula sheet;
parts spliced by :mod:`dashboard.services.parquet_parts`). A chunk encoded by a worker process
comes back in a spool file (:func:`_spool`, :class:`_Spooled`) that the sink copies to the
output with ``os.sendfile``."""

from __future__ import annotations

import contextlib
import errno
import functools
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from dashboard.domain import paths
from dashboard.services.batch.base import BatchError, _pq
from dashboard.services.batch.csv_format import csv_text


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
                _copy_range(src, self.stream, 0, spooled.size)
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


#: ``os.sendfile`` errors meaning "this output takes no sendfile" (a terminal, ``O_APPEND``):
#: the chunk is copied through this process instead.
_NO_SENDFILE = {errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP, errno.ESPIPE}


@dataclass(frozen=True)
class _Spooled:
    """A chunk's CSV text left by a worker process in ``path`` (``size`` bytes)."""

    path: str
    size: int


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
