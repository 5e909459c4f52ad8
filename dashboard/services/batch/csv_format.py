"""The batch engine's CSV text: a routed chunk as the bytes the old ``assign`` wrote, built
column-wise in Arrow (:func:`csv_text`).

Byte for byte ``safe_csv(out, float_format=None)``: formula-safe cells
(:func:`dashboard.domain.exports.safe_cells`), minimal quoting, floats as Python writes them
(``repr``), ``\n`` line ends, UTF-8."""

from __future__ import annotations

import functools
import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from dashboard.domain import paths
from dashboard.domain.exports import FORMULA_PREFIXES, safe_cell, safe_cells


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
