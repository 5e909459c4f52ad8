"""The batch engine's CSV writer (issue 16) writes what pandas' ``to_csv`` through
``safe_csv`` wrote, byte for byte: floats as Python's ``repr`` (its fast path for values of at
most 4 decimals is exact, not approximate), text cells formula-safe and quoted."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.domain.exports import safe_cell, safe_csv
from dashboard.services import batch
from dashboard.services.batch import csv_format

#: Decimals of 0..4 places (the fast path), the edges of its range, and everything else.
decimals = st.builds(lambda i, d: i / 10 ** d, st.integers(-10**15, 10**15),
                     st.integers(0, 4))
edge_floats = st.sampled_from([0.0, -0.0, 1e-4, -1e-4, 5e-5, 1e-5, 0.1 + 0.2, 1e11, 1e15 / 1e4,
                               99999999999.9999, 1e16, 1e22, 123456789012.5, 2.0**53,
                               float("nan"), float("inf"), float("-inf"), 1e-320, 5e-324])
floats = st.one_of(decimals, edge_floats, st.floats(allow_nan=True, allow_infinity=True),
                   decimals.map(lambda x: round(x, 3)), decimals.map(lambda x: -x))


def _repr_cell(v: float) -> str:
    return "" if math.isnan(v) else repr(float(v))


@given(st.lists(floats, min_size=1, max_size=40))
@settings(max_examples=400, deadline=None)
def test_float_cells_are_python_repr(values):
    got = batch.format_floats(np.array(values, dtype=float)).to_pylist()
    assert got == [_repr_cell(v) for v in values]


def test_float_cells_on_rounded_model_outputs():
    """What the engine writes: km/ms rounded to 3 decimals (numpy's round), coordinates to 4."""
    rng = np.random.default_rng(4)
    v = np.concatenate([np.round(rng.uniform(-20_000, 20_000, 50_000), 3),
                        np.round(rng.uniform(-180, 180, 50_000), 4),
                        np.round(rng.uniform(-1e-3, 1e-3, 1_000), 3),  # -0.0 among them
                        rng.integers(0, 10**12, 1_000).astype(float)])
    assert batch.format_floats(v).to_pylist() == [_repr_cell(x) for x in v.tolist()]



small = st.builds(lambda i, d: i / 10 ** d, st.integers(-10**9 + 1, 10**9 - 1), st.integers(0, 4))


@given(st.lists(st.one_of(small, small.map(lambda x: round(x, 3)),
                          st.sampled_from([0.0, -0.0, -1e-4, 99999.9999, -99999.9999,
                                           float("nan"), float("inf"), 0.1 + 0.2, 1e-5])),
                min_size=1, max_size=40))
@settings(max_examples=300, deadline=None)
def test_float_cells_whole_table(values):
    """Every whole part below 100,000 (the engine's columns): sign and whole part come from
    one table; the same cells as ``repr``, -0.0 and the slow path included."""
    got = batch.format_floats(np.array(values, dtype=float)).to_pylist()
    assert got == [_repr_cell(v) for v in values]


names = st.text(max_size=14) | st.sampled_from(["=1+1", "-1.5", "+33", "@x", "a,b", 'q"q',
                                                "\tx", "-", "", "FRA", "'=a"])


@given(st.lists(names, min_size=1, max_size=30), st.booleans())
@settings(max_examples=300, deadline=None)
def test_text_cells_are_safe_and_quoted_like_safe_csv(texts, repeat):
    """Formula-safe like safe_cell, quoted like the csv module; also for long columns of few
    values (the factorised path)."""
    values = texts * (200 if repeat else 1)
    got = csv_format._text_cells(pd.Series(values, dtype=object)).to_pylist()
    want = []
    for t in values:
        c = safe_cell(t)
        want.append('"' + c.replace('"', '""') + '"' if ("," in c or '"' in c) else c)
    assert got == want


@given(st.lists(st.tuples(names, floats, st.booleans(), st.sampled_from(["CDG", "", "=X"])),
                min_size=1, max_size=30))
@settings(max_examples=200, deadline=None)
def test_csv_text_equals_safe_csv_property(rows):
    df = pd.DataFrame(rows, columns=["name", "ms", "routed", "pop_id"])
    df["name"] = df["name"].str.replace("\r", " ").str.replace("\n", " ")  # clean names
    assert batch.csv_text(df, header=True).decode() == safe_csv(df, float_format=None)


def test_long_object_columns_with_missing_and_non_text_values():
    """Long object columns of few values (factorised) with missing cells (written empty), and
    ones holding non-text objects (written as pandas writes them): the bytes of safe_csv."""
    ids = pd.Series((["FRA", None, "=X", "a,b", float("nan"), 'q"q'] * 400), dtype=object)
    mixed = pd.Series([1, "CDG", 2.5, "-1"] * 600, dtype=object)
    names = pd.Series([f"client-{i}" if i % 7 else f"@{i}" for i in range(2400)], dtype="str")
    df = pd.DataFrame({"pop_id": ids, "other": mixed, "name": names})
    assert batch.csv_text(df, header=True).decode() == safe_csv(df, float_format=None)


@settings(max_examples=40, deadline=None)
@given(st.text(max_size=12), st.integers(0, 300))
def test_constant_text_equals_the_object_column(value, n):
    """The policy/access columns built from Arrow buffers equal the object-array way."""
    ref = pd.Series(np.full(n, value, dtype=object), dtype="str")
    got = batch.constant_text(value, n)
    pd.testing.assert_series_equal(got, ref)
    assert batch.csv_text(pd.DataFrame({"a": got}), True) \
        == batch.csv_text(pd.DataFrame({"a": ref}), True)


def test_whole_part_table_is_str_of_each_integer():
    table = csv_format._wholes().to_pylist()
    n = csv_format._WHOLE_TABLE
    assert table == ([str(i) for i in range(n)] + ["-" + str(i) for i in range(n)]
                     + csv_format._FRACTIONS.to_pylist())
    assert csv_format._wholes().type == pa.string()


def test_two_piece_cells_equal_an_elementwise_join_with_nulls():
    """csv_format._pieces_cells (one take of both pieces, every other offset) is the join of
    the two takes, nulls where asked, a valid Arrow array."""
    rng = np.random.default_rng(7)
    for n in (0, 1, 2, 1000):
        first = rng.integers(0, 2 * csv_format._WHOLE_TABLE, n)
        second = rng.integers(2 * csv_format._WHOLE_TABLE, len(csv_format._wholes()), n)
        valid = rng.random(n) > 0.3
        got = csv_format._pieces_cells(first, second, valid)
        got.validate(full=True)
        table = csv_format._wholes().to_pylist()
        assert got.to_pylist() == [table[a] + table[b] if ok else None
                                   for a, b, ok in zip(first, second, valid)]
        assert csv_format._pieces_cells(first, second, None).null_count == 0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=64),
                          st.sampled_from([0.0, -0.0, 1.0, 12.345, float("nan"), 1e16])),
                min_size=1, max_size=6),
       st.integers(1025, 3000), st.integers(0, 2**32 - 1))
def test_float_column_of_few_values_equals_float_cells(values, n, seed):
    """The factorised path (few distinct values) writes what _float_cells writes."""
    rng = np.random.default_rng(seed)
    v = np.array(values)[rng.integers(0, len(values), n)]
    got = csv_format._float_column(v)
    assert got.equals(csv_format._float_cells(v))


def test_route_table_ids_from_their_codes_write_the_same_bytes():
    """csv_text writes a route table's pop_id/origin_id (paths.row_codes) and runner_up_id/
    network_pop_id (paths.id_column_codes) from the codes the table was built from; a deep copy (no codes: every id hashed) writes the same bytes, also
    with down PoPs (empty ids) and a down origin endpoint."""
    from dashboard.catalog import load_catalog

    cat = load_catalog("data/pops.csv", "data/origins.csv")
    rng = np.random.default_rng(3)
    n = 3000
    df = pd.DataFrame({"lat": np.degrees(np.arcsin(rng.uniform(-1, 1, n))),
                       "lon": rng.uniform(-180, 180, n), "weight": np.ones(n),
                       "name": pd.Series([f"c{i}" for i in range(n)], dtype="str")})
    for down in (frozenset(), frozenset(list(cat.pop_ids)[:5]), frozenset(cat.pop_ids)):
        out = batch.route_chunk(cat, df, batch.Job(origin="eu-central-1", down=down))
        assert batch.csv_text(out, True) == batch.csv_text(out.copy(deep=True), True)


@settings(max_examples=60, deadline=None)
@given(names, st.integers(1025, 3000), st.sampled_from([None, "last", "middle", "swap"]))
def test_constant_text_columns_and_almost_constant_ones(value, n, change):
    """A long str column of one value (csv_format._constant: the policy/access columns) is written
    as safe_csv writes it; one that differs in a single cell (also by the same length) too."""
    value = value.replace("\r", " ").replace("\n", " ")  # clean names hold no line breaks
    values = [value] * n
    if change == "last":
        values[-1] = value + "x"
    elif change == "middle":
        values[n // 2] = "=" + value[1:] if value[:1] != "=" else "+" + value[1:]
    elif change == "swap" and len(value) > 1:
        values[700] = value[::-1] if value[::-1] != value else value[1:] + "z"
    df = pd.DataFrame({"policy": pd.Series(values, dtype="str"),
                       "access": batch.constant_text(value, n)})
    assert batch.csv_text(df, header=True).decode() == safe_csv(df, float_format=None)
