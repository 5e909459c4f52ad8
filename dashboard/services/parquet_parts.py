"""One Parquet file from parts encoded elsewhere (the batch engine's worker processes, issue 16).

Why: a Parquet file is ``PAR1``, its row groups' column chunks, then one footer (the Thrift
``FileMetaData``: schema, row groups with the *absolute* file offsets of their pages, key-value
metadata), its length and ``PAR1``. Encoding and compressing a chunk (~30 ms per 50,000 output
rows, zstd) is the costly part, and the page bytes do not depend on where they land in the
file: only the footer's offsets do. So each worker writes its chunk as a complete one-row-group
Parquet file (a *part*, pyarrow's own writer), and the command appends the parts' page bytes to
the output in order and writes one footer: the first part's, with every part's row groups, their
offsets shifted by where their bytes went (:class:`Splicer`). The command then neither
compresses nor receives the ~10 MB Arrow table of every chunk through a pipe (~2.4 MB of
compressed part instead, by a spool file and ``os.sendfile``).

The footer is read and written with a small reader/writer of Thrift's compact protocol (the
encoding of the Parquet footer, apache/parquet-format ``parquet.thrift``): a value is kept as
read, so an untouched footer is written back byte for byte (checked by the tests on pyarrow's
footers); only the offset fields of ``RowGroup``, ``ColumnChunk`` and ``ColumnMetaData`` are
changed. Parts come from this program's own writer, never from a user, but a malformed footer
still raises :class:`PartError`, never an ``IndexError``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

#: A Parquet file's first and last four bytes.
MAGIC = b"PAR1"

# Thrift compact protocol type ids (thrift/doc/specs/thrift-compact-protocol.md)
_STOP, _TRUE, _FALSE, _BYTE, _I16, _I32, _I64, _DOUBLE = 0, 1, 2, 3, 4, 5, 6, 7
_BINARY, _LIST, _SET, _MAP, _STRUCT, _UUID = 8, 9, 10, 11, 12, 13
_INTS = (_I16, _I32, _I64)

# Field ids (parquet.thrift) of what the splice reads or changes
_FMD_SCHEMA, _FMD_NUM_ROWS, _FMD_ROW_GROUPS, _FMD_KV = 2, 3, 4, 5
_FMD_ENCRYPTION = 8
_RG_COLUMNS, _RG_NUM_ROWS, _RG_FILE_OFFSET, _RG_ORDINAL = 1, 3, 5, 7
_CC_FILE_PATH, _CC_FILE_OFFSET, _CC_META = 1, 2, 3
#: ColumnChunk's page-index offsets (offset_index_offset, column_index_offset).
_CC_OFFSETS = (2, 4, 6)
#: ColumnMetaData's offsets: data_page_offset, index_page_offset, dictionary_page_offset,
#: bloom_filter_offset.
_CMD_OFFSETS = (9, 10, 11, 14)
#: Thrift nesting this reader accepts (the footer nests ~6 deep).
_MAX_DEPTH = 32


class PartError(ValueError):
    """Bytes that are not a Parquet part this module can splice."""


# --------------------------------------------------------------------------------------------
# Thrift compact protocol: a struct is a list of ``[field_id, type, value]``; a list or set is
# ``(element_type, [values])``; a map ``(key_type, value_type, [(k, v), ...])``.


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise PartError("truncated Thrift varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def _zigzag(n: int) -> int:
    return (n >> 1) ^ -(n & 1)


def _read_value(buf: bytes, pos: int, ttype: int, depth: int) -> tuple[Any, int]:
    if depth > _MAX_DEPTH:
        raise PartError("Thrift nesting too deep")
    if ttype in (_TRUE, _FALSE, _BYTE):  # a bool outside a field header is one byte
        if pos >= len(buf):
            raise PartError("truncated Thrift value")
        return buf[pos], pos + 1
    if ttype in _INTS:
        n, pos = _varint(buf, pos)
        return _zigzag(n), pos
    if ttype == _DOUBLE:
        if pos + 8 > len(buf):
            raise PartError("truncated Thrift double")
        return buf[pos:pos + 8], pos + 8  # kept as its bytes
    if ttype == _UUID:
        if pos + 16 > len(buf):
            raise PartError("truncated Thrift uuid")
        return buf[pos:pos + 16], pos + 16
    if ttype == _BINARY:
        n, pos = _varint(buf, pos)
        if pos + n > len(buf):
            raise PartError("truncated Thrift binary")
        return buf[pos:pos + n], pos + n
    if ttype in (_LIST, _SET):
        if pos >= len(buf):
            raise PartError("truncated Thrift list")
        head = buf[pos]
        pos += 1
        size, etype = head >> 4, head & 0x0F
        if size == 15:
            size, pos = _varint(buf, pos)
        if size > len(buf) - pos:  # every element takes at least one byte
            raise PartError("Thrift list longer than its data")
        items = []
        for _ in range(size):
            v, pos = _read_value(buf, pos, etype, depth + 1)
            items.append(v)
        return (etype, items), pos
    if ttype == _MAP:
        size, pos = _varint(buf, pos)
        if size == 0:
            return (0, 0, []), pos
        if pos >= len(buf) or size > len(buf) - pos:
            raise PartError("truncated Thrift map")
        kv = buf[pos]
        pos += 1
        ktype, vtype = kv >> 4, kv & 0x0F
        pairs = []
        for _ in range(size):
            k, pos = _read_value(buf, pos, ktype, depth + 1)
            v, pos = _read_value(buf, pos, vtype, depth + 1)
            pairs.append((k, v))
        return (ktype, vtype, pairs), pos
    if ttype == _STRUCT:
        return _read_struct(buf, pos, depth + 1)
    raise PartError(f"unknown Thrift type {ttype}")


def _read_struct(buf: bytes, pos: int, depth: int = 0) -> tuple[list[list[Any]], int]:
    fields: list[list[Any]] = []
    last = 0
    while True:
        if pos >= len(buf):
            raise PartError("truncated Thrift struct")
        head = buf[pos]
        pos += 1
        if head == _STOP:
            return fields, pos
        delta, ttype = head >> 4, head & 0x0F
        if delta:
            fid = last + delta
        else:
            n, pos = _varint(buf, pos)
            fid = _zigzag(n)
        if ttype in (_TRUE, _FALSE):  # a bool field: its value is its type
            fields.append([fid, _TRUE, ttype == _TRUE])
        else:
            value, pos = _read_value(buf, pos, ttype, depth)
            fields.append([fid, ttype, value])
        last = fid


def _put_varint(out: bytearray, n: int) -> None:
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return


def _put_int(out: bytearray, v: int) -> None:
    _put_varint(out, (v << 1) ^ (v >> 63))  # zigzag (64-bit)


def _write_value(out: bytearray, ttype: int, value: Any) -> None:
    if ttype in (_TRUE, _FALSE, _BYTE):
        out.append(value & 0xFF)
    elif ttype in _INTS:
        _put_int(out, value)
    elif ttype in (_DOUBLE, _UUID):
        out += value
    elif ttype == _BINARY:
        _put_varint(out, len(value))
        out += value
    elif ttype in (_LIST, _SET):
        etype, items = value
        if len(items) < 15:
            out.append(len(items) << 4 | etype)
        else:
            out.append(0xF0 | etype)
            _put_varint(out, len(items))
        for v in items:
            _write_value(out, etype, v)
    elif ttype == _MAP:
        ktype, vtype, pairs = value
        _put_varint(out, len(pairs))
        if pairs:
            out.append(ktype << 4 | vtype)
            for k, v in pairs:
                _write_value(out, ktype, k)
                _write_value(out, vtype, v)
    elif ttype == _STRUCT:
        if isinstance(value, bytes):  # a struct already written (Splicer's row groups)
            out += value
        else:
            _write_struct(out, value)
    else:  # pragma: no cover - only types the reader accepted get here
        raise PartError(f"unknown Thrift type {ttype}")


def _write_struct(out: bytearray, fields: list[list[Any]]) -> None:
    last = 0
    for fid, ttype, value in fields:
        wire = (_TRUE if value else _FALSE) if ttype == _TRUE else ttype
        delta = fid - last
        if 0 < delta <= 15:
            out.append(delta << 4 | wire)
        else:
            out.append(wire)
            _put_int(out, fid)
        if ttype != _TRUE:
            _write_value(out, ttype, value)
        last = fid
    out.append(_STOP)


def read_struct(buf: bytes) -> list[list[Any]]:
    """A Thrift compact struct (the whole of ``buf``) as ``[field_id, type, value]`` lists."""
    fields, pos = _read_struct(bytes(buf), 0)
    if pos != len(buf):
        raise PartError("bytes after the Thrift struct")
    return fields


def write_struct(fields: list[list[Any]]) -> bytes:
    """:func:`read_struct`'s inverse (the same bytes for a struct read and left as it was)."""
    out = bytearray()
    _write_struct(out, fields)
    return bytes(out)


def _get(fields: list[list[Any]], fid: int) -> list[Any] | None:
    return next((f for f in fields if f[0] == fid), None)


# --------------------------------------------------------------------------------------------
# Parts and the splice


@dataclass(frozen=True)
class Part:
    """A Parquet part's layout: its page bytes are ``[4, body_end)`` of the part, its footer
    (``FileMetaData``) follows them."""

    body_end: int
    footer: bytes


def footer_of(tail: bytes, size: int) -> Part:
    """The :class:`Part` of a Parquet file of ``size`` bytes from its last bytes ``tail`` (at
    least the footer and its 8-byte trailer; :func:`part_of` on a whole file)."""
    if size < 12 or len(tail) < 8 or tail[-4:] != MAGIC:
        raise PartError("not a Parquet file (no PAR1 at its end)")
    (n,) = struct.unpack("<I", tail[-8:-4])
    if n + 8 > len(tail) or n + 12 > size:
        raise PartError("Parquet footer longer than the file")
    return Part(size - 8 - n, bytes(tail[-8 - n:-8]))


def part_of(data: bytes) -> Part:
    """The :class:`Part` of a whole Parquet file in memory."""
    if data[:4] != MAGIC:
        raise PartError("not a Parquet file (no PAR1 at its start)")
    return footer_of(data, len(data))


def _shift(fields: list[list[Any]], fids: tuple[int, ...], by: int) -> None:
    """Offset fields moved by ``by``; a 0 is left as it is: never an offset (the file's first
    bytes are ``PAR1``) but "not given" (pyarrow writes ``ColumnChunk.file_offset`` as 0, the
    deprecated field's value the format asks for)."""
    for f in fields:
        if f[0] in fids and f[1] in _INTS and f[2]:
            f[2] += by


@dataclass
class Splicer:
    """Row groups of parts appended one after the other, and the footer of them all.

    ``add(footer, at)``: a part's footer, its page bytes written at output offset ``at`` (they
    were at 4 in the part). Every part must have the first one's schema and key-value metadata
    (the Arrow schema): :meth:`same_schema` tells the caller before it writes the part's bytes.
    :meth:`footer` is the first part's ``FileMetaData`` with every row group (offsets shifted,
    ordinals renumbered) and the total row count. Row groups are kept written (bytes), not as
    parsed structs: thousands of small lists per part kept alive made Python's cyclic garbage
    collector walk them again and again in a long run."""

    head: list[list[Any]] | None = None
    schema: bytes = b""
    groups: list[bytes] = field(default_factory=list)
    rows: int = 0

    @staticmethod
    def _key(meta: list[list[Any]]) -> bytes:
        """The schema and key-value metadata of a footer, as bytes (what must match)."""
        keep = [f for f in meta if f[0] in (_FMD_SCHEMA, _FMD_KV)]
        return write_struct(keep)

    def parse(self, footer: bytes) -> list[list[Any]]:
        meta = read_struct(footer)
        if _get(meta, _FMD_ENCRYPTION) is not None:
            raise PartError("encrypted Parquet parts are not spliced")
        return meta

    def same_schema(self, meta: list[list[Any]]) -> bool:
        """Whether ``meta`` (:meth:`parse`) can follow the parts so far (always for the first)."""
        return self.head is None or self._key(meta) == self.schema

    def add(self, meta: list[list[Any]], at: int) -> None:
        """Take the row groups of a part (:meth:`parse`) whose page bytes start at ``at``."""
        if self.head is None:
            self.head = [f for f in meta if f[0] != _FMD_ROW_GROUPS]
            self.schema = self._key(meta)
        elif not self.same_schema(meta):
            raise PartError("a Parquet part with another schema")
        by = at - len(MAGIC)
        got = _get(meta, _FMD_ROW_GROUPS)
        for rg in (got[2][1] if got is not None else []):
            _shift(rg, (_RG_FILE_OFFSET,), by)
            cols = _get(rg, _RG_COLUMNS)
            for cc in (cols[2][1] if cols is not None else []):
                if _get(cc, _CC_FILE_PATH) is not None:
                    raise PartError("a Parquet part with column chunks in other files")
                _shift(cc, _CC_OFFSETS, by)
                md = _get(cc, _CC_META)
                if md is not None:
                    _shift(md[2], _CMD_OFFSETS, by)
            ordinal = _get(rg, _RG_ORDINAL)
            if ordinal is not None:
                if len(self.groups) < 1 << 15:
                    ordinal[2] = len(self.groups)
                else:  # an i16: optional, left out past 32,767 row groups
                    rg.remove(ordinal)
            n = _get(rg, _RG_NUM_ROWS)
            self.rows += n[2] if n is not None else 0
            self.groups.append(write_struct(rg))

    def footer(self) -> bytes:
        """The ``FileMetaData`` of every part added (their first one's, all row groups)."""
        if self.head is None:
            raise PartError("no part")
        meta = [[f[0], f[1], self.rows if f[0] == _FMD_NUM_ROWS else f[2]] for f in self.head]
        meta.append([_FMD_ROW_GROUPS, _LIST, (_STRUCT, self.groups)])
        meta.sort(key=lambda f: f[0])  # fields in id order, as written
        return write_struct(meta)

    def trailer(self) -> bytes:
        """The file's end: the footer, its length and ``PAR1``."""
        foot = self.footer()
        return foot + struct.pack("<I", len(foot)) + MAGIC
