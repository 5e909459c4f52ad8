"""Client CSV parsing: both column orders, headers, encodings, and errors naming line + column."""

from __future__ import annotations

import csv
import io
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from dashboard.domain.clients import CLIENT_COLUMNS, ClientsError, clean_name, parse_clients
from tests.conftest import TEST_DATA


def rows(df: pd.DataFrame) -> list[tuple]:
    return list(df[list(CLIENT_COLUMNS)].itertuples(index=False, name=None))


def test_header_in_any_order_with_aliases_quotes_blank_lines_and_comments():
    df = parse_clients((TEST_DATA / "clients_header.csv").read_bytes())
    assert list(df.columns) == list(CLIENT_COLUMNS)
    assert rows(df) == [(48.86, 2.35, "Paris, France", 3.0), (35.68, 139.69, "Tokyo", 1.0),
                        (-23.55, -46.63, "Sao Paulo", 1.0)]
    assert df["lat"].dtype == np.float64 and df["weight"].dtype == np.float64


def test_no_header_understands_both_documented_column_orders():
    df = parse_clients((TEST_DATA / "clients_noheader.csv").read_bytes())
    assert rows(df) == [(48.86, 2.35, "Paris", 2.0), (35.68, 139.69, "Tokyo", 1.0),
                        (-33.87, 151.21, "", 1.0)]


@pytest.mark.parametrize("line, expect", [
    ("1,2", (1.0, 2.0, "", 1.0)),
    ("1,2,5", (1.0, 2.0, "", 5.0)),             # numeric third field: the weight
    ("1,2,Lyon", (1.0, 2.0, "Lyon", 1.0)),      # text third field: the name
    ("1,2,5,Lyon", (1.0, 2.0, "Lyon", 5.0)),    # issue 2: lat,lon,weight,name
    ("1,2,Lyon,5", (1.0, 2.0, "Lyon", 5.0)),    # issue 3: lat,lon,name,weight
    ("1,2,5,7", (1.0, 2.0, "7", 5.0)),          # both numeric: the first is the weight
    ("1,2,,Lyon", (1.0, 2.0, "Lyon", 1.0)),
    ("1,2,Lyon,", (1.0, 2.0, "Lyon", 1.0)),
    ("1,2,0", (1.0, 2.0, "", 0.0)),             # zero demand is allowed
    (" -33.5 , +151.25 , 1e2 ", (-33.5, 151.25, "", 100.0)),
    ("90,-180", (90.0, -180.0, "", 1.0)),
    ('1,2,"=cmd|x, <b>"', (1.0, 2.0, "=cmd|x, <b>", 1.0)),  # plain text, never interpreted
])
def test_positional_rows(line, expect):
    assert rows(parse_clients(line)) == [expect]


def test_tab_and_semicolon_separated_files():
    tsv = "lat\tlon\tname\n1.5\t2\tSan José\n"
    assert rows(parse_clients(tsv)) == [(1.5, 2.0, "San José", 1.0)]
    assert rows(parse_clients("1.5;2;Lyon;3\n")) == [(1.5, 2.0, "Lyon", 3.0)]


def test_utf8_bom_and_text_input():
    df = parse_clients((TEST_DATA / "clients_bom.csv").read_bytes())
    assert rows(df) == [(51.5, -0.13, "London", 1.0)]
    assert rows(parse_clients("\ufefflat,lon\n1,2\n")) == [(1.0, 2.0, "", 1.0)]


def test_crlf_and_a_multiline_quoted_name_keep_line_numbers():
    text = 'lat,lon,name\r\n1,2,"two\r\n# lines"\r\n95,0,bad\r\n'
    with pytest.raises(ClientsError) as err:
        parse_clients(text)
    assert err.value.line == 4 and err.value.column == "lat"


def test_hash_names_are_data_when_names_come_first():
    df = parse_clients("# a comment\nname,lat,lon\n#1 store,1,2\n# 2 store,3,4\n")
    assert df["name"].tolist() == ["#1 store", "# 2 store"]
    df = parse_clients("lat,lon,name\n1,2,#1 store\n# a comment\n")
    assert df["name"].tolist() == ["#1 store"]


def test_a_quote_in_a_comment_does_not_swallow_rows():
    df = parse_clients('# "unbalanced quote, in a comment\n1,2\n3,4\n')
    assert len(df) == 2


@pytest.mark.parametrize("data, line, column, message", [
    (TEST_DATA / "clients_bad_lat.csv", 3, "lat", "latitude 95.5 is outside [-90, 90] degrees"),
    (TEST_DATA / "clients_latin1.csv", 2, None, "not UTF-8 text (byte 0xfc"),
    (TEST_DATA / "clients_binary.csv", 1, None, "not UTF-8 text"),
    (TEST_DATA / "clients_extra_field.csv", 2, None, "4 fields, but the header has 3"),
    (TEST_DATA / "clients_header_only.csv", None, None, "a header but no client rows"),
    (b"1,2\n3,4\x00\n", 2, None, "binary data (a NUL byte)"),
    ("", None, None, "no client rows"),
    ("\n# nothing\n  \n", None, None, "no client rows"),
    ("1,2\n1,x", 2, "lon", "'x' is not a number"),
    ("1,2\n1,1_000", 2, "lon", "'1_000' is not a number"),
    ("nan,2", 1, "lat", "'nan' is not a finite number"),
    ("1,-inf", 1, "lon", "'-inf' is not a finite number"),
    ("1,180.5", 1, "lon", "longitude 180.5 is outside [-180, 180] degrees"),
    (",2", 1, "lat", "empty value"),
    ("48.86°,2.35", 1, "lat", "'48.86°' is not a number"),
    ("1,2,-3", 1, "weight", "weight -3 must be a finite number >= 0"),
    ("1,2,inf", 1, "weight", "weight inf must be a finite number >= 0"),
    ("lat,lon,weight\n1,2,heavy", 2, "weight", "'heavy' is not a number"),
    ("1,2,Lyon,Paris", 1, "weight", "neither 'Lyon' nor 'Paris' is a number"),
    ("1", 1, None, "1 field; expected lat,lon[,weight][,name]"),
    ("1,2,3,4,5", 1, None, "5 fields"),
    ("1,2\n3,4,5,6,7", 2, None, "5 fields"),
    ("lat,lon,city\n1,2,x", 1, None, "'city' is not a known column name"),
    ("lat,lon,\n1,2,", 1, None, "an empty column name"),
    ("lat,name\n1,x", 1, "lon", "the header has no 'lon' column"),
    ("lat,Latitude,lon\n1,1,2", 1, "lat", "column 'lat' appears twice"),
    ('1,2\n3,4,"open quote\n', 2, None, "malformed CSV (unexpected end of data)"),
])
def test_errors_name_the_line_and_column(data, line, column, message):
    if hasattr(data, "read_bytes"):
        data = data.read_bytes()
    with pytest.raises(ClientsError) as err:
        parse_clients(data)
    e = err.value
    assert isinstance(e, ValueError)
    assert message in str(e)
    assert (e.line, e.column) == (line, column)
    if line is not None:
        assert str(e).startswith(f"line {line}")
    if column is not None:
        assert f"column '{column}'" in str(e)


def test_row_and_byte_limits():
    text = "".join(f"{i % 90},{i % 180}\n" for i in range(10))
    assert len(parse_clients(text, max_rows=10)) == 10
    with pytest.raises(ClientsError, match=r"line 5: more than 3 clients \(the limit\)"):
        parse_clients("# header comment\n" + text, max_rows=3)
    size = len(text.encode())
    assert len(parse_clients(text.encode(), max_bytes=size)) == 10
    with pytest.raises(ClientsError, match=f"the file is {size} bytes, more than the limit of "
                                           f"{size - 1} bytes"):
        parse_clients(text.encode(), max_bytes=size - 1)
    with pytest.raises(ClientsError, match="more than the limit"):
        parse_clients("1,2,Zürich\n", max_bytes=10)  # str input is measured in UTF-8 bytes


def test_rejects_other_input_types():
    with pytest.raises(TypeError):
        parse_clients(12)  # type: ignore[arg-type]


# --- properties ---------------------------------------------------------------------------

def _check_frame(df: pd.DataFrame) -> None:
    assert list(df.columns) == list(CLIENT_COLUMNS)
    assert len(df) >= 1
    assert df["lat"].between(-90, 90).all() and df["lon"].between(-180, 180).all()
    assert np.isfinite(df["weight"]).all() and (df["weight"] >= 0).all()
    assert all(isinstance(n, str) for n in df["name"])


csv_alphabet = st.sampled_from(list('0123456789.,-+eE;\t\n\r "#abcnatifx\ufeff°\x00'))


@given(st.text())
@example("lat,lon\n")
@example("\ufeff")
@example('1,2,"')
@settings(max_examples=400, deadline=None)
def test_arbitrary_text_either_parses_or_raises_clients_error(text):
    try:
        df = parse_clients(text, max_rows=1000)
    except ClientsError as e:
        assert str(e)
        assert e.line is None or e.line >= 1
    else:
        _check_frame(df)


@given(st.text(alphabet=csv_alphabet, max_size=80))
@settings(max_examples=600, deadline=None)
def test_csv_like_text_either_parses_or_raises_clients_error(text):
    try:
        df = parse_clients(text)
    except ClientsError:
        pass
    else:
        _check_frame(df)


@given(st.binary(max_size=200))
@example(b"\xef\xbb\xbf1,2")
@example(b"\xff\xfe1\x002\x00")  # UTF-16
@settings(max_examples=400, deadline=None)
def test_arbitrary_bytes_either_parse_or_raise_clients_error(data):
    try:
        df = parse_clients(data, max_bytes=150)
    except ClientsError:
        pass
    else:
        _check_frame(df)


names = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                max_size=20)
client_rows = st.lists(st.tuples(st.floats(-90, 90), st.floats(-180, 180), names,
                                 st.floats(0, 1e9)), min_size=1, max_size=20)


@pytest.mark.slow
@given(client_rows, st.permutations(["lat", "lon", "name", "weight"]))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_round_trip_through_a_csv_writer(clients, order):
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([c.upper() if i % 2 else c for i, c in enumerate(order)])
    for lat, lon, name, weight in clients:
        values = {"lat": repr(lat), "lon": repr(lon), "name": name, "weight": repr(weight)}
        w.writerow([values[c] for c in order])
    df = parse_clients(buf.getvalue().encode("utf-8"))
    assert df["lat"].tolist() == [c[0] for c in clients]
    assert df["lon"].tolist() == [c[1] for c in clients]
    assert df["weight"].tolist() == [c[3] for c in clients]
    # names are cleaned on the way in, as at every entry point (controls, bidi/zero-width out)
    assert df["name"].tolist() == [clean_name(c[2]) for c in clients]


def test_weights_are_plain_floats_not_rounded():
    df = parse_clients("1,2,0.1\n3,4,1e-300\n")
    assert df["weight"].tolist() == [0.1, 1e-300]
    assert not math.isnan(df["weight"].sum())


_NUMBER_TEXT = st.from_regex(r"\A[+-]?(?:[0-9]{1,25}(?:\.[0-9]{0,25})?|\.[0-9]{1,25})"
                             r"(?:[eE][+-]?[0-9]{1,3})?\Z")


@settings(max_examples=300, deadline=None)
@given(st.lists(_NUMBER_TEXT, min_size=1, max_size=20))
@example(["+5", "5.", ".5", "-0", "1E+05", "-.5e-3", "0005", "9007199254740993", "4.9e-324",
          "2.2250738585072011e-308", "1e400",
          "1.00000000000000011102230246251565404236316680908203125"])
def test_column_number_parse_equals_python_float(texts):
    """The batch reader's number column (Arrow's cast) gives float()'s bits on every spelling
    the number rule accepts."""
    from dashboard.domain.clients import _to_float

    got = _to_float(pd.Series(texts, dtype="str"))
    want = np.array([float(t) for t in texts])
    assert got.tobytes() == want.tobytes()
