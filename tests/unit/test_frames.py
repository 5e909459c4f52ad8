"""domain.frames.colvals gives what ``frame[name].to_numpy(dtype)`` gives (issue 16)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dashboard.domain.frames import colvals


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
