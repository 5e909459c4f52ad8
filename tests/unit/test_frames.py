"""domain.frames.colvals gives what ``frame[name].to_numpy(dtype)`` gives, and columns_frame the
frame the constructor builds (issue 16)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.domain.frames import colvals, columns_frame
from dashboard.domain.paths import PATH_COLUMNS


def _frame() -> pd.DataFrame:
    n = 50
    return pd.DataFrame({
        "f": np.linspace(0, 1, n), "b": np.arange(n) % 3 == 0, "i": np.arange(n),
        "o": pd.Series(np.array([f"P{k % 4}" for k in range(n)], dtype=object), dtype=object),
        "s": [f"x{k}" for k in range(n)],  # pandas' default string dtype (Arrow or python)
        "f32": np.arange(n, dtype=np.float32),
    })


@pytest.mark.parametrize("name, dtype", [
    ("f", None), ("f", float), ("b", bool), ("b", None), ("i", None), ("i", float),
    ("o", object), ("o", None), ("s", None), ("s", object), ("f32", float), ("f32", None)])
def test_same_array_as_to_numpy(name: str, dtype: object) -> None:
    for df in (_frame(), _frame().iloc[5:20], _frame().reset_index(drop=True).copy(deep=False)):
        want = df[name].to_numpy() if dtype is None else df[name].to_numpy(dtype)
        got = colvals(df, name, dtype)
        assert type(got) is type(want) and got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


def test_read_only_and_no_write_through() -> None:
    df = _frame()
    a = colvals(df, "f", float)
    assert not a.flags.writeable
    with pytest.raises(ValueError):
        a[0] = 99.0
    df["f"] = 5.0  # replacing a column does not change the array read before
    assert a[1] != 5.0


def test_missing_and_duplicate_columns() -> None:
    with pytest.raises(KeyError):
        colvals(_frame(), "nope")
    dup = pd.DataFrame(np.zeros((3, 2)), columns=["a", "a"])
    # two columns of that name: the 2-D answer of frame["a"].to_numpy(), as pandas gives it
    assert colvals(dup, "a").shape == dup["a"].to_numpy().shape


def _public(columns: dict) -> pd.DataFrame:
    """What table_from_ranking built before columns_frame."""
    return pd.DataFrame({k: (pd.Series(a, dtype=object, copy=False)
                             if isinstance(a, np.ndarray) and a.dtype == object else a)
                         for k, a in columns.items()}, copy=False)


_KINDS = {
    "f": lambda rng, n: rng.normal(size=n),
    "nan": lambda rng, n: np.where(rng.random(n) < 0.3, np.nan, rng.normal(size=n)),
    "b": lambda rng, n: rng.random(n) < 0.5,
    "i": lambda rng, n: rng.integers(-5, 5, n),
    "i16": lambda rng, n: rng.integers(-5, 5, n).astype(np.int16),
    "o": lambda rng, n: np.array(["", "FRA", "eu-central-1", "LHR"], dtype=object)[
        rng.integers(0, 4, n)],
    "u": lambda rng, n: np.array(["a", "bc"])[rng.integers(0, 2, n)],  # not numpy-native here
}


@settings(max_examples=150, deadline=None)
@given(kinds=st.lists(st.sampled_from(sorted(_KINDS)), min_size=1, max_size=8),
       n=st.integers(0, 30), seed=st.integers(0, 2 ** 16),
       names=st.sampled_from(["distinct", "route", "dup"]))
def test_columns_frame_is_the_constructor_without_copies(kinds, n, seed, names):
    """The same frame as the public constructor (values, dtypes, columns, index), holding the
    given arrays themselves (views of them), whichever path builds it (issue 16)."""
    rng = np.random.default_rng(seed)
    keys = ([f"c{i}" for i in range(len(kinds))] if names != "route"
            else list(PATH_COLUMNS[:len(kinds)]))
    if names == "dup" and len(keys) > 1:
        keys[-1] = keys[0]  # a dict keeps one: the constructor's answer either way
    columns = {k: _KINDS[kind](rng, n) for k, kind in zip(keys, kinds)}
    got, want = columns_frame(dict(columns)), _public(dict(columns))
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert got.columns.dtype == want.columns.dtype and list(got.columns) == list(want.columns)
    assert type(got.index) is type(want.index) and got.index.equals(want.index)
    assert list(got.dtypes) == list(want.dtypes)
    for k, a in columns.items():
        if a.dtype.kind != "U" and n:
            assert np.shares_memory(colvals(got, k), a)


def test_columns_frame_columns_are_not_shared_between_frames():
    a = columns_frame({"x": np.zeros(3), "y": np.array(["a", "b", "c"], dtype=object)})
    b = columns_frame({"x": np.ones(3), "y": np.array(["d", "e", "f"], dtype=object)})
    a.columns.name = "renamed"
    assert b.columns.name is None and a.columns is not b.columns
    assert b["y"].dtype == object and b["y"].tolist() == ["d", "e", "f"]
