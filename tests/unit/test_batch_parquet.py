"""Parquet output of the batch engine (issue 16): each chunk encoded as a Parquet part where it
was routed, the parts' pages spliced into one file with one footer (``services.parquet_parts``).

The file must be the one pyarrow's writer makes of the same tables one row group at a time (the
engine's writer before the splice), byte for byte; its values those of the CSV output; and the
footer reader must refuse what it cannot read with :class:`PartError`, never an IndexError."""

from __future__ import annotations

import io
import os
import struct

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.catalog import default_catalog
from dashboard.cli import main
from dashboard.domain import clients as cl
from dashboard.services import batch
from dashboard.services.batch import engine, readers, sinks
from dashboard.services import parquet_parts as pp

JOB = batch.Job("eu-central-1")


def _clients(n: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    names = [("=x" if i % 37 == 0 else "client ") + str(i) for i in range(n)]
    return pd.DataFrame({"lat": np.round(rng.uniform(-80, 80, n), 4),
                         "lon": np.round(rng.uniform(-180, 180, n), 4),
                         "weight": (np.arange(n) % 7).astype(float),
                         "name": pd.array(names, dtype="str")})


def _old_writer(frames: list[pd.DataFrame], path) -> None:
    """The engine's Parquet writer before the splice (pyarrow's ParquetWriter, one row group
    per chunk, every table cast to the first one's schema)."""
    text = batch.PARQUET_TEXT
    writer = None
    for out in frames:
        table = pa.Table.from_pandas(out.astype({c: "str" for c in out.columns if c in text}),
                                     preserve_index=False)
        if writer is None:
            ids = [f.name for f in table.schema
                   if f.name not in ("name", "ip", "geoip_message", "geoip_place")
                   and (pa.types.is_string(f.type) or pa.types.is_large_string(f.type))]
            writer = pq.ParquetWriter(path, table.schema, compression="zstd", use_dictionary=ids)
        writer.write_table(table.cast(writer.schema))
    writer.close()


def _routed(n: int, chunk: int) -> list[pd.DataFrame]:
    cat = default_catalog()
    df = _clients(n)
    return [batch.route_chunk(cat, df.iloc[i:i + chunk].reset_index(drop=True), JOB)
            for i in range(0, n, chunk)]


def test_spliced_file_is_the_writers_file_byte_for_byte(tmp_path):
    frames = _routed(1000, 300)
    _old_writer(frames, tmp_path / "old.parquet")
    sink = batch.ParquetSink(tmp_path / "new.parquet")
    for out in frames:
        sink.write(out)
    sink.close()
    assert (tmp_path / "new.parquet").read_bytes() == (tmp_path / "old.parquet").read_bytes()


def test_parquet_table_is_from_pandas_of_the_str_columns():
    out = _routed(500, 500)[0]
    want = pa.Table.from_pandas(out.astype({c: "str" for c in batch.PARQUET_TEXT}),
                                preserve_index=False)
    got = batch.parquet_table(out)
    assert got.equals(want) and got.schema.equals(want.schema, check_metadata=True)
    # a copy of the frame (no route-table codes), missing ids and NaN km: still the same
    odd = out.copy()
    odd.loc[3, "pop_id"] = None
    odd.loc[4, "pop_km"] = np.nan
    want = pa.Table.from_pandas(odd.astype({c: "str" for c in batch.PARQUET_TEXT}),
                                preserve_index=False)
    got = batch.parquet_table(odd)
    assert got.equals(want) and got.schema.equals(want.schema, check_metadata=True)
    assert got["pop_id"].null_count == 1 and got["pop_km"].null_count == 1


def test_a_part_of_another_schema_is_cast_to_the_first(tmp_path):
    """As the writer cast every table to its first one's schema (a column pandas typed
    otherwise in a later chunk, e.g. IP addresses)."""
    a = pd.DataFrame({"ip": ["1.2.3.4", "5.6.7.8"], "x": [1.5, 2.5], "routed": [True, False]})
    b = pd.DataFrame({"ip": ["9.9.9.9"], "x": [3], "routed": [True]})  # int64 x
    _old_writer([a, b, a], tmp_path / "old.parquet")
    sink = batch.ParquetSink(tmp_path / "new.parquet")
    for out in (a, b, a):
        sink.write(out)
    sink.close()
    assert (tmp_path / "new.parquet").read_bytes() == (tmp_path / "old.parquet").read_bytes()
    assert pq.read_table(tmp_path / "new.parquet")["x"].to_pylist() == [1.5, 2.5, 3.0, 1.5, 2.5]


def test_processes_spool_parts_and_give_the_one_thread_file(tmp_path, monkeypatch):
    """Workers leave their parts in spool files; the command splices them (sendfile) into the
    same bytes as one thread, and the spool directory is gone afterwards."""
    made: list[str] = []
    real = engine._spool_dir
    monkeypatch.setattr(engine, "_spool_dir", lambda: made.append(real()) or made[-1])
    _clients(2500).to_parquet(tmp_path / "in.parquet")
    cat = default_catalog()
    one = batch.assign_file(cat, tmp_path / "in.parquet", tmp_path / "one.parquet", JOB,
                            rows=400, workers=1)
    many = batch.assign_file(cat, tmp_path / "in.parquet", tmp_path / "many.parquet", JOB,
                             rows=400, workers=2)
    assert (tmp_path / "one.parquet").read_bytes() == (tmp_path / "many.parquet").read_bytes()
    assert (one.clients, one.per_pop) == (many.clients, many.per_pop) and one.clients == 2500
    assert len(made) == 1 and not os.path.exists(made[0])
    assert pq.ParquetFile(tmp_path / "many.parquet").num_row_groups == 7


def test_a_spooled_part_without_sendfile_is_copied(tmp_path, monkeypatch):
    part = batch.ParquetSink("unused").encode(_routed(200, 200)[0])
    got = sinks._spool(part, str(tmp_path / "0.pq"))
    assert isinstance(got, sinks._Spooled)

    def no_sendfile(*args):
        raise OSError(22, "Invalid argument")  # EINVAL: this output takes no sendfile

    monkeypatch.setattr(os, "sendfile", no_sendfile)
    sink = batch.ParquetSink(tmp_path / "out.parquet")
    sink.put_spooled(got, [])
    sink.close()
    assert not (tmp_path / "0.pq").exists()
    assert pq.read_table(tmp_path / "out.parquet").equals(pq.read_table(io.BytesIO(part)))


def _assign(capsys, *argv):
    code = main(["assign", *argv])
    _, err = capsys.readouterr()
    return code, err


def test_parquet_output_has_the_csv_outputs_values(tmp_path, capsys):
    src = tmp_path / "in.csv"
    _clients(1200).to_csv(src, index=False)
    assert _assign(capsys, str(src), "-o", str(tmp_path / "out.csv"), "-q")[0] == 0
    pd.read_csv(src, dtype={"name": str}, keep_default_na=False).to_parquet(
        tmp_path / "in.parquet")
    code, err = _assign(capsys, str(tmp_path / "in.parquet"), "-o",
                        str(tmp_path / "out.parquet"), "--chunk-rows", "500", "-q")
    assert code == 0, err
    a = pd.read_csv(tmp_path / "out.csv", keep_default_na=False, na_values=[""],
                    dtype={"name": str})
    b = pd.read_parquet(tmp_path / "out.parquet")
    assert list(a.columns) == list(b.columns) and len(a) == len(b) == 1200
    for col in a.columns:
        if col == "name":  # the CSV's formula-like names are escaped for spreadsheets
            plain = ~b[col].str.startswith("=")
            assert a[col][plain].tolist() == b[col][plain].tolist()
            assert (a[col][~plain] == "'" + b[col][~plain]).all()
        elif pd.api.types.is_float_dtype(b[col].dtype) or pd.api.types.is_bool_dtype(b[col]):
            np.testing.assert_array_equal(a[col].to_numpy(), b[col].to_numpy(), err_msg=col)
        else:
            assert a[col].fillna("").astype(str).tolist() == b[col].tolist(), col


def test_one_huge_row_group_and_hostile_names(tmp_path, capsys):
    """A Parquet input of one row group (read in chunks all the same) whose names need
    cleaning (spaces, control characters, too long, missing): every row, names cleaned as in
    a CSV."""
    df = _clients(3000)
    names = df["name"].astype(object).to_numpy().copy()
    names[5], names[6], names[7] = "  two  spaces ", "tab\there", "x" * 200
    names[8], names[9] = None, "Zürich \u202eevil"
    df["name"] = pd.array(names, dtype="str")
    df.to_parquet(tmp_path / "in.parquet", row_group_size=10_000)
    assert pq.ParquetFile(tmp_path / "in.parquet").num_row_groups == 1
    code, err = _assign(capsys, str(tmp_path / "in.parquet"), "-o",
                        str(tmp_path / "out.parquet"), "--chunk-rows", "256", "-q")
    assert code == 0, err
    got = pd.read_parquet(tmp_path / "out.parquet")
    assert len(got) == 3000
    assert got["name"].tolist() == [cl.clean_name("" if v is None else v) for v in names]
    assert pq.ParquetFile(tmp_path / "out.parquet").num_row_groups == 12


def test_a_parquet_of_zero_rows_exits_2_and_writes_nothing(tmp_path, capsys):
    pd.DataFrame({"lat": pd.Series([], dtype=float), "lon": pd.Series([], dtype=float)}
                 ).to_parquet(tmp_path / "in.parquet")
    code, err = _assign(capsys, str(tmp_path / "in.parquet"), "-o",
                        str(tmp_path / "out.parquet"))
    assert code == 2 and "no client rows" in err
    assert not (tmp_path / "out.parquet").exists()


# --------------------------------------------------------------------------------------------
# the name check on bytes


@pytest.mark.parametrize("names", [
    ["a", "b c", "", "x" * 80],
    ["x" * 81], [" lead"], ["trail "], ["two  spaces"], ["ab", " "], ["a ", "b"],
    ["tab\tx"], ["\x7f"], ["é"], ["a", None], [""] * 3,
])
def test_plain_names_agrees_with_clean_name(names):
    s = pd.Series(pd.array(names, dtype="str"))
    plain = all(v is not None and cl.clean_name(v) == v and v.isascii() and v.isprintable()
                for v in names)
    assert readers._plain_names(s) == plain
    got = readers._parquet_values(s, "name", 0)
    assert list(got) == [cl.clean_name("" if v is None else v) for v in names]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(list(" ab~\t\x7fé")), max_size=90),
                min_size=1, max_size=20))
def test_plain_names_property(names):
    s = pd.Series(pd.array(names, dtype="str"))
    if readers._plain_names(s):
        assert all(cl.clean_name(v) == v for v in names)
    assert list(readers._parquet_values(s, "name", 0)) == [cl.clean_name(v) for v in names]


# --------------------------------------------------------------------------------------------
# the footer reader and the splice


def _file(table: pa.Table, **kw) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, **kw)
    return sink.getvalue()


def test_footers_read_and_written_back_byte_for_byte():
    t = pa.table({"a": [1, 2, None], "s": ["x", None, "zz"], "f": [1.5, None, 2.5],
                  "b": [True, False, None], "l": [[1, 2], [], None]})
    for kw in ({}, {"row_group_size": 1}, {"use_dictionary": False, "compression": "none"},
               {"write_page_index": True}, {"write_statistics": False}):
        footer = pp.part_of(_file(t, **kw)).footer
        assert pp.write_struct(pp.read_struct(footer)) == footer


def test_splice_shifts_offsets_and_renumbers_row_groups(tmp_path):
    t = pa.table({"a": np.arange(10), "s": [f"v{i % 3}" for i in range(10)]})
    parts = [_file(t.slice(i, 4), row_group_size=2, write_page_index=True)
             for i in (0, 4, 8)]
    sp = pp.Splicer()
    out = bytearray(pp.MAGIC)
    for data in parts:
        part = pp.part_of(data)
        sp.add(sp.parse(part.footer), len(out))
        out += data[4:part.body_end]
    out += sp.trailer()
    (tmp_path / "x.parquet").write_bytes(bytes(out))
    f = pq.ParquetFile(tmp_path / "x.parquet")
    assert f.read().equals(pa.concat_tables([t.slice(0, 4), t.slice(4, 4), t.slice(8, 4)]))
    assert f.metadata.num_rows == 10 and f.metadata.num_row_groups == 5
    assert [f.metadata.row_group(i).to_dict()["num_rows"] for i in range(5)] == [2, 2, 2, 2, 2]
    for i in range(5):  # each row group read on its own: its offsets are right
        assert f.read_row_group(i).num_rows == 2


@pytest.mark.parametrize("data", [
    b"", b"PAR1", b"PAR1xxxxPAR1", b"PAR1" + b"\x00" * 8 + struct.pack("<I", 100) + b"PAR1",
    b"XXXX" + b"\x00" * 20,
])
def test_not_a_part_raises_part_error(data):
    with pytest.raises(pp.PartError):
        pp.part_of(data)


@pytest.mark.parametrize("footer", [
    b"", b"\x15", b"\x19\xfc", b"\x18\xff\xff\xff\xff\x0f", b"\x1c" * 40, b"\x1e\x00",
    b"\x15\x02\x00\xaa",  # bytes after the struct
])
def test_malformed_footers_raise_part_error(footer):
    with pytest.raises(pp.PartError):
        pp.read_struct(footer)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_any_bytes_give_a_struct_or_part_error(data):
    try:
        fields = pp.read_struct(data)
    except pp.PartError:
        return
    assert pp.read_struct(pp.write_struct(fields)) == fields


def test_a_part_of_another_schema_is_refused_by_the_splicer():
    a = pp.part_of(_file(pa.table({"a": [1]})))
    b = pp.part_of(_file(pa.table({"a": [1.0]})))
    sp = pp.Splicer()
    sp.add(sp.parse(a.footer), 4)
    meta = sp.parse(b.footer)
    assert not sp.same_schema(meta)
    with pytest.raises(pp.PartError, match="another schema"):
        sp.add(meta, 100)


# --------------------------------------------------------------------------------------------
# chunk summaries (a histogram that grows to the chunk's largest bin)


def test_chunk_summaries_merge_to_the_whole_runs_summary():
    frames = _routed(900, 300)
    whole = batch.Summary()
    merged = batch.Summary()
    small = batch.Summary.chunk()  # merging into a small one grows it too
    for out in frames:
        whole.add(out)
        part = batch.Summary.chunk()
        part.add(out)
        assert len(part.hist) < 200_000  # the model's RTTs: < 2 s
        merged.merge(part.trimmed())
        small.merge(part)
    for got in (merged, small):
        assert (got.clients, got.routed, got.chunks, got.per_pop) == \
            (whole.clients, whole.routed, whole.chunks, whole.per_pop)
        assert got.percentiles() == whole.percentiles()
        assert (got.hist == whole.hist[:len(got.hist)]).all() and \
            whole.hist[len(got.hist):].sum() == 0
    copy = batch.Summary.chunk()
    copy.add(frames[0].copy(deep=True))  # no route-table codes: ids counted from the column
    first = batch.Summary.chunk()
    first.add(frames[0])
    assert copy.per_pop == first.per_pop
