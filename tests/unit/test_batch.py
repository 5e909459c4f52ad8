"""The batch engine (issue 16): the cities' grid index equals the scan, chunked parsing equals
the whole-file parser (rows and error messages with their file lines), the vectorised CSV writer
equals ``safe_csv``, and ``assign`` end to end on CSV and Parquet."""

from __future__ import annotations

import io
import math
import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard import latency
from dashboard.cli import main
from dashboard.domain import latency as lat_mod
from dashboard.domain.clients import ClientsError, parse_clients
from dashboard.domain.exports import safe_cell, safe_cells, safe_csv
from dashboard.services import batch
from dashboard.services.batch import engine, sinks

PARAMS = latency.default_params()
EDGE_LATS = [90.0, -90.0, 89.9999, -89.9999, 0.0, 85.0, -85.0, 45.0]
EDGE_LONS = [180.0, -180.0, 179.9999, -179.9999, 0.0, 5.0, -5.0, 360.0 - 180.0]


def _same_location(lat: np.ndarray, lon: np.ndarray) -> None:
    a = lat_mod.locate(lat, lon, PARAMS)  # >= INDEX_MIN_POINTS: the grid
    b = lat_mod.locate(lat, lon, PARAMS, index=False)
    assert len(lat) >= lat_mod.INDEX_MIN_POINTS
    for f in ("region", "effect_ms", "slope_ms_per_1000km", "weight", "nearest_km"):
        assert np.array_equal(getattr(a, f), getattr(b, f)), f


def test_locate_index_equals_scan_on_random_points_poles_and_antimeridian():
    rng = np.random.default_rng(7)
    n = 40_000
    lat = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    lon = rng.uniform(-180, 180, n)
    e = np.array([(a, b) for a in EDGE_LATS for b in EDGE_LONS])
    lat[: len(e)], lon[: len(e)] = e[:, 0], e[:, 1]
    # cell edges (every 5 degrees) and the measured cities themselves
    lat[100:300] = rng.integers(-18, 19, 200) * 5.0
    lon[300:500] = rng.integers(-36, 37, 200) * 5.0
    c = len(PARAMS.city_lats)
    lat[1000:1000 + c], lon[1000:1000 + c] = PARAMS.city_lats, PARAMS.city_lons
    _same_location(lat, lon)


def test_locate_index_equals_scan_on_sparse_points_and_every_width_class():
    """Few points per cell (most groups get one point: the doubled product) and points in
    every cell, so every padded width class of ``SiteGrid.nearest_cos`` is used."""
    rng = np.random.default_rng(11)
    n = 300
    _same_location(np.degrees(np.arcsin(rng.uniform(-1, 1, n))), rng.uniform(-180, 180, n))
    grid = lat_mod._city_grid(PARAMS)
    i, j = np.divmod(np.arange(grid.n_lat * grid.n_lon), grid.n_lon)
    lat = np.minimum(-90.0 + (i + 0.5) * grid.step, 90.0)
    lon = -180.0 + (j + 0.5) * grid.step
    assert len(set(grid.group_class[grid.group_of_cell[grid.cells(lat, lon)]].tolist())) \
        == len(grid.widths)
    _same_location(np.r_[lat, lat[::7]], np.r_[lon, lon[::7]])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.one_of(st.sampled_from(EDGE_LATS),
                                    st.floats(-90, 90, allow_nan=False)),
                          st.one_of(st.sampled_from(EDGE_LONS),
                                    st.floats(-180, 180, allow_nan=False))),
                min_size=1, max_size=40))
def test_locate_index_equals_scan_property(points):
    pts = np.array(points * (lat_mod.INDEX_MIN_POINTS // len(points) + 1))
    _same_location(pts[:, 0], pts[:, 1])


# --------------------------------------------------------------------------------------------
# chunked parsing == whole-file parsing


def _chunked(data: bytes, rows: int, max_rows: int | None = None) -> pd.DataFrame:
    return pd.concat(list(batch.read_csv_chunks(io.BytesIO(data), rows, max_rows)),
                     ignore_index=True)


def _outcome(fn):
    try:
        df = fn()
    except ClientsError as exc:
        return ("error", str(exc))
    return ("ok", df[["lat", "lon", "name", "weight"]].astype(
        {"name": object}).to_dict("list"))


GOOD = ["48.86,2.35", "51.5,-0.12,London", "40.7,-74.0,3", "-33.87,151.2,2.5,Sydney",
        "1,2,Paris,4", "0,0,,", "1e1,2", "-0,-0.0,x", "5,6,  two  spaces ,1",
        "10,20,Zoë", "3,4,=cmd,1", "  7 , 8 ", ""]
BAD = ["91,0", "abc,1", "1,2,3,4,5", "1,nan", "1,2,-1", "1,2,a,b", "1", "1,2,1e13"]
TRICKY = ['1,2,"quoted, name",1', "# a comment", "\t", "1,2,x\r", "1,2,\u00a0y"]


@settings(max_examples=120, deadline=None)
@given(st.lists(st.sampled_from(GOOD + BAD + TRICKY), min_size=1, max_size=30),
       st.integers(1, 7), st.booleans(), st.sampled_from([None, 5, 12]))
def test_chunked_parse_equals_whole_file(lines, rows, header, max_rows):
    text = ("lat,lon,x,y\n" if False else "") + "\n".join(lines) + "\n"
    if header:
        text = "lat,lon,name,weight\n" + "\n".join(
            line if line.count(",") == 3 else line for line in lines) + "\n"
    data = text.encode()
    assert _outcome(lambda: _chunked(data, rows, max_rows)) == \
        _outcome(lambda: parse_clients(data, max_rows=max_rows))


def test_bad_line_in_a_later_chunk_is_named_with_its_file_line_and_column():
    body = "lat,lon,name\n" + "".join(f"{i % 80}.5,{i % 170}.25,c{i}\n" for i in range(999))
    body += "\n# comment\n12.5,200,far\n"  # file line 1 + 999 + 1 blank + 1 comment + 1
    with pytest.raises(ClientsError) as exc:
        _chunked(body.encode(), 100)
    assert str(exc.value) == str(pytest.raises(ClientsError, parse_clients, body).value)
    assert exc.value.line == 1003 and exc.value.column == "lon"


def test_fast_path_accepts_plain_blocks_and_agrees_with_rows():
    rng = np.random.default_rng(1)
    lat = np.round(rng.uniform(-90, 90, 3000), 4)
    lon = np.round(rng.uniform(-180, 180, 3000), 4)
    text = "".join(f"{a},{b},{i % 7},n{i}\n" for i, (a, b) in enumerate(zip(lat, lon)))
    got = _chunked(text.encode(), 500)
    want = parse_clients(text)
    pd.testing.assert_frame_equal(got.astype({"name": object}), want)


# --------------------------------------------------------------------------------------------
# writing


@given(st.lists(st.text(max_size=12), min_size=1, max_size=20))
def test_safe_cells_equals_safe_cell(texts):
    got = safe_cells(pd.Series(texts, dtype="str")).tolist()
    assert got == [safe_cell(t) for t in texts]


@given(st.lists(st.floats(allow_nan=True, allow_infinity=False), min_size=1, max_size=30))
def test_format_floats_equals_python_repr(values):
    got = batch.format_floats(np.array(values)).to_pylist()
    assert got == ["" if math.isnan(v) else repr(float(v)) for v in values]


def test_csv_text_equals_safe_csv():
    df = pd.DataFrame({"name": ["a", "=b", "c,d", 'e"f', "-1.5", "@x"],
                       "lat": [1.0, -0.0, 1e-5, 12.345, 1e12, 3.0],
                       "routed": [True, False, True, True, False, True],
                       "pop_id": ["CDG", "", "LHR", "FRA", "", "SIN"],
                       "ms": [1.5, float("nan"), 2.0, 3.25, 1e16, 0.001]})
    assert batch.csv_text(df, header=True).decode() == safe_csv(df, float_format=None)


# --------------------------------------------------------------------------------------------
# the CLI end to end


def _assign(capsys, *argv):
    code = main(["assign", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_assign_csv_and_parquet_give_the_same_rows(tmp_path, capsys):
    src = tmp_path / "in.csv"
    rng = np.random.default_rng(2)
    src.write_text("lat,lon,weight,name\n" + "".join(
        f"{a:.4f},{b:.4f},{i % 5},n{i}\n" for i, (a, b) in
        enumerate(zip(rng.uniform(-80, 80, 500), rng.uniform(-180, 180, 500)))))
    code, _, err = _assign(capsys, str(src), "-o", str(tmp_path / "out.csv"), "--chunk-rows",
                           "64")
    assert code == 0, err
    assert "clients per access point" in err and "p99" in err
    pd.read_csv(src).to_parquet(tmp_path / "in.parquet")
    code, _, err = _assign(capsys, str(tmp_path / "in.parquet"), "-o",
                           str(tmp_path / "out.parquet"), "--chunk-rows", "100", "-q")
    assert code == 0, err
    a = pd.read_csv(tmp_path / "out.csv", keep_default_na=False, na_values=[""])
    b = pd.read_parquet(tmp_path / "out.parquet")
    assert len(a) == len(b) == 500
    for col in ("pop_id", "runner_up_id", "network_pop_id"):
        assert a[col].fillna("").tolist() == b[col].tolist()
    np.testing.assert_array_equal(a["anycast_ms"].to_numpy(), b["anycast_ms"].to_numpy())


def test_assign_policy_down_origin_still_apply(tmp_path, capsys):
    src = tmp_path / "in.csv"
    src.write_text("48.86,2.35,Paris\n51.5,-0.12,London\n")
    code, out, err = _assign(capsys, str(src), "--down", "CDG", "--origin", "us-east-1",
                             "--policy", "network", "-q")
    assert code == 0, err
    df = pd.read_csv(io.StringIO(out))
    assert "CDG" not in set(df["pop_id"]) and set(df["policy"]) == {"network"}
    assert set(df["origin_id"]) == {"us-east-1"}


@pytest.mark.parametrize("text,where", [
    ("lat,lon\n1,2\n3,4\n5,500\n", "line 4, column 'lon'"),
    ("1,2\n\n#c\n1,x\n", "line 4, column 'lon'"),
])
def test_assign_bad_csv_exits_2_naming_the_line(tmp_path, capsys, text, where):
    src = tmp_path / "in.csv"
    src.write_text(text)
    out = tmp_path / "out.csv"
    code, _, err = _assign(capsys, str(src), "-o", str(out), "--chunk-rows", "1")
    assert code == 2 and where in err, err
    assert not out.exists()  # no half-written output


def test_assign_bad_parquet_exits_2_naming_the_row(tmp_path, capsys):
    pd.DataFrame({"latitude": [1.0, 2.0, 95.0], "lon": [1.0, 2.0, 3.0]}).to_parquet(
        tmp_path / "in.parquet")
    code, _, err = _assign(capsys, str(tmp_path / "in.parquet"), "-o",
                           str(tmp_path / "o.parquet"))
    assert code == 2 and "row 3, column 'lat'" in err and "outside" in err, err
    code, _, err = _assign(capsys, str(tmp_path / "missing.parquet"))
    assert code == 2 and "file not found" in err


# --------------------------------------------------------------------------------------------
# worker processes: the same rows, messages and row limit as the sequential reader


class _Frames:
    """A sink keeping the chunks (encode = the frame itself)."""

    def __init__(self) -> None:
        self.parts: list[pd.DataFrame] = []

    def encode(self, out: pd.DataFrame) -> pd.DataFrame:
        return out

    def put(self, payload: pd.DataFrame, columns) -> None:
        self.parts.append(payload)

    def close(self) -> None:
        pass


def _echo(catalog, clients: pd.DataFrame, job) -> pd.DataFrame:
    out = clients.copy()
    out["routed"], out["pop_id"], out["anycast_ms"] = True, "X", 1.0
    return out


def _via_processes(data: bytes, rows: int, max_rows: int | None, pool=None) -> pd.DataFrame:
    feed = engine._CsvFeed(io.BytesIO(data), rows, max_rows)
    sink = _Frames()
    batch.run_processes(None, feed.tasks(), sink, batch.Job("eu-central-1"), 2, feed,
                        route=_echo, pool_factory=pool)
    return pd.concat(sink.parts, ignore_index=True)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(GOOD + BAD + TRICKY + ["#x", "lat,lon", '3,4,"two\nlines",1',
                                                       '5,6,"open\n#x\n7,8"']), min_size=1,
                max_size=30),
       st.integers(1, 7), st.booleans(), st.sampled_from([None, 5, 12]))
def test_process_feed_equals_whole_file(lines, rows, header, max_rows):
    """Blocks read in the workers, blocks with quotes or comments read ahead here, the row
    limit checked in order: the rows and the first error of parse_clients (InlinePool: every
    task runs when its turn comes, after the ones after it were read)."""
    text = ("lat,lon,name,weight\n" if header else "") + "\n".join(lines) + "\n"
    data = text.encode()
    assert _outcome(lambda: _via_processes(data, rows, max_rows, lambda n: batch.InlinePool())) \
        == _outcome(lambda: parse_clients(data, max_rows=max_rows))


def test_process_feed_on_forked_workers_names_a_late_bad_line():
    body = "lat,lon,name\n" + "".join(f"{i % 80}.5,{i % 170}.25,c{i}\n" for i in range(999))
    good = _via_processes(body.encode(), 100, None)
    pd.testing.assert_frame_equal(good[["lat", "lon", "name", "weight"]].astype({"name": object}),
                                  parse_clients(body))
    bad = body + '\n# comment\n1,2,"quoted, ok"\n12.5,200,far\n'
    with pytest.raises(ClientsError) as exc:
        _via_processes(bad.encode(), 100, None)
    assert str(exc.value) == str(pytest.raises(ClientsError, parse_clients, bad).value)
    with pytest.raises(ClientsError) as exc:
        _via_processes(body.encode(), 100, 950)
    assert str(exc.value) == str(pytest.raises(ClientsError, parse_clients, body,
                                               max_rows=950).value)


def test_assign_on_processes_equals_one_thread(tmp_path):
    rng = np.random.default_rng(5)
    src = tmp_path / "in.csv"
    src.write_text("lat,lon,weight,name\n" + "".join(
        f"{a:.4f},{b:.4f},{i % 5},{'=x' if i % 50 == 0 else 'n'}{i}\n" if i != 1234 else
        f'{a:.4f},{b:.4f},1,"a, ""quoted"" name"\n' for i, (a, b) in
        enumerate(zip(rng.uniform(-80, 80, 3000), rng.uniform(-180, 180, 3000)))))
    from dashboard.catalog import default_catalog

    cat = default_catalog()
    job = batch.Job("eu-central-1")
    one, many = tmp_path / "one.csv", tmp_path / "many.csv"
    a = batch.assign_file(cat, src, one, job, rows=400, workers=1)
    b = batch.assign_file(cat, src, many, job, rows=400, workers=2)
    assert one.read_bytes() == many.read_bytes()
    assert b'"a, ""quoted"" name"' in many.read_bytes()
    assert (a.clients, a.routed, a.per_pop, a.percentiles()) == \
        (b.clients, b.routed, b.per_pop, b.percentiles())


def _die(catalog, clients, job):
    import os

    os._exit(3)  # a worker killed mid-chunk (the OOM killer, kill -9)


def test_a_worker_that_dies_ends_the_run_with_a_message_not_a_hang():
    body = "".join(f"{i % 80}.5,{i % 170}.25\n" for i in range(300)).encode()
    feed = engine._CsvFeed(io.BytesIO(body), 100, None)
    with pytest.raises(batch.BatchError, match="worker process died"):
        batch.run_processes(None, feed.tasks(), _Frames(), batch.Job("eu-central-1"), 2, feed,
                            route=_die)


def _spool_dirs(monkeypatch) -> list[str]:
    made: list[str] = []
    real = engine._spool_dir

    def record() -> str:
        made.append(real())
        return made[-1]

    monkeypatch.setattr(engine, "_spool_dir", record)
    return made


def test_spooled_chunks_reach_every_kind_of_output(tmp_path, monkeypatch):
    """Workers leave CSV text in spool files the command splices into the output: a file
    (sendfile), an in-memory stream and an append-mode file (no sendfile: copied) get the
    bytes of one thread, and the spool directory is gone afterwards."""
    rng = np.random.default_rng(6)
    src = tmp_path / "in.csv"
    src.write_text("lat,lon\n" + "".join(f"{a:.4f},{b:.4f}\n" for a, b in
                                         zip(rng.uniform(-80, 80, 1500),
                                             rng.uniform(-180, 180, 1500))))
    from dashboard.catalog import default_catalog

    cat, job = default_catalog(), batch.Job("eu-central-1")
    made = _spool_dirs(monkeypatch)
    batch.assign_file(cat, src, tmp_path / "one.csv", job, rows=300, workers=1)
    want = (tmp_path / "one.csv").read_bytes()
    batch.assign_file(cat, src, tmp_path / "many.csv", job, rows=300, workers=2)
    assert (tmp_path / "many.csv").read_bytes() == want
    mem = io.BytesIO()
    batch.assign_file(cat, src, None, job, rows=300, workers=2, stdout=mem)
    assert mem.getvalue() == want
    appended = tmp_path / "appended.csv"
    appended.write_bytes(b"x\n")
    with open(appended, "ab") as fh:
        batch.assign_file(cat, src, "-", job, rows=300, workers=2, stdout=fh)
    assert appended.read_bytes() == b"x\n" + want
    assert len(made) == 3 and not any(os.path.exists(d) for d in made)


def test_a_dying_worker_leaves_no_spool_files(monkeypatch):
    made = _spool_dirs(monkeypatch)
    body = "".join(f"{i % 80}.5,{i % 170}.25\n" for i in range(300)).encode()
    feed = engine._CsvFeed(io.BytesIO(body), 100, None)
    with pytest.raises(batch.BatchError, match="worker process died"):
        batch.run_processes(None, feed.tasks(), batch.CsvSink(io.BytesIO()),
                            batch.Job("eu-central-1"), 2, feed, route=_die)
    assert len(made) == 1 and not os.path.exists(made[0])


def test_a_spool_that_cannot_be_written_goes_through_the_pipe(tmp_path):
    assert sinks._spool(b"abc", str(tmp_path / "missing" / "0.csv")) == b"abc"
    got = sinks._spool(b"abc", str(tmp_path / "0.csv"))
    assert got == sinks._Spooled(str(tmp_path / "0.csv"), 3)
    out = io.BytesIO()
    batch.CsvSink(out).put_spooled(got, ["a"])
    assert out.getvalue() == b"a\nabc" and not (tmp_path / "0.csv").exists()


def test_chunk_rows_is_capped_with_a_clear_message(tmp_path, capsys):
    src = tmp_path / "in.csv"
    src.write_text("1,2\n")
    try:
        code = main(["assign", str(src), "--chunk-rows", "5000000000"])
    except SystemExit as exc:
        code = exc.code
    assert code == 2
    assert "more than 1,000,000 clients per chunk" in capsys.readouterr().err
