"""The what-if's kept-column shortcuts give exactly the plain computations (issue 16).

``whatif.first_two`` on a read-only ranking reads its kept first three columns (one PoP down:
a closed form from them; several: the union of the rows by a mask, then the search), and
``whatif.legs_at`` reads the kept legs of each row's first-ranked PoP and gathers only the
other rows. Both must give the values of ``policy.first_two`` and of a plain gather from the
matrix, bit for bit, whatever the ranking, the PoPs down and the picks.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.domain import policy, whatif
from dashboard.domain.routing import NO_ROUTE


def _ro(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.flags.writeable = False
    return a


@st.composite
def rankings(draw):
    """(ranked, ranked_km, legs): a full ranking of ``m`` PoPs for ``n`` clients (ties in km
    included: km drawn from a few values), read-only as the cached ones are, and a client x PoP
    matrix of legs (ms)."""
    n = draw(st.integers(0, 40))
    m = draw(st.integers(1, 7))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    km = rng.choice([10.0, 250.5, 250.5, 900.0, 4000.25, 12000.0], size=(n, m))
    km = km + rng.integers(0, 3, size=(n, m))
    ranked = np.argsort(km, axis=1, kind="stable").astype(np.int16)
    ranked_km = np.take_along_axis(km, ranked.astype(np.int64), axis=1)
    legs = rng.uniform(1.0, 300.0, size=(n, m))
    return _ro(ranked), _ro(ranked_km), _ro(legs)


def _same(got: tuple, want: tuple) -> None:
    for g, w in zip(got, want):
        assert g.dtype == w.dtype
        np.testing.assert_array_equal(g, w)  # NaN where NaN, exact values


@settings(max_examples=300, deadline=None)
@given(r=rankings(), data=st.data())
def test_first_two_from_the_kept_columns_is_the_plain_search(r, data):
    ranked, ranked_km, _ = r
    m = ranked.shape[1]
    down = np.array(data.draw(st.lists(st.booleans(), min_size=m, max_size=m)), dtype=bool)
    want = policy.first_two(np.array(ranked), np.array(ranked_km), down)
    _same(whatif.first_two(ranked, ranked_km, down), want)          # kept columns
    _same(whatif.first_two(ranked, ranked_km, down), want)          # kept, second call
    _same(whatif.first_two(ranked, ranked_km, down, keep=False), want)
    _same(whatif.first_two(np.array(ranked), np.array(ranked_km), down), want)  # writeable


@settings(max_examples=60, deadline=None)
@given(r=rankings(), pop=st.integers(0, 6))
def test_one_pop_down_of_every_pop(r, pop):
    """The one-PoP-down closed form, for each PoP of the ranking in turn (first, second or
    third of some rows; also with two PoPs, where no row has a runner-up then)."""
    ranked, ranked_km, _ = r
    m = ranked.shape[1]
    down = np.zeros(m, dtype=bool)
    down[pop % m] = True
    _same(whatif.first_two(ranked, ranked_km, down),
          policy.first_two(np.array(ranked), np.array(ranked_km), down))


@settings(max_examples=200, deadline=None)
@given(r=rankings(), data=st.data())
def test_legs_at_is_the_plain_gather(r, data):
    ranked, ranked_km, legs = r
    n, m = ranked.shape
    down = np.array(data.draw(st.lists(st.booleans(), min_size=m, max_size=m)), dtype=bool)
    picks = [whatif.first_two(ranked, ranked_km, down)[0],
             np.array(data.draw(st.lists(st.integers(NO_ROUTE, m - 1), min_size=n,
                                         max_size=n)), dtype=np.int64)]
    for pop in picks:
        want = np.full(n, np.nan)
        r_ = np.flatnonzero(pop != NO_ROUTE)
        want[r_] = np.asarray(legs)[r_, pop[r_]]
        for mat in (legs, np.array(legs)):  # read-only (kept) and writeable (plain gather)
            got = whatif.legs_at(mat, ranked, ranked_km, pop)
            assert got.dtype == np.float64 and got.flags.writeable
            np.testing.assert_array_equal(got, want)
        got = whatif.legs_at(legs, ranked, ranked_km, pop)
        got[:] = 0.0  # a fresh array each call: the kept one is never handed out
        np.testing.assert_array_equal(whatif.legs_at(legs, ranked, ranked_km, pop), want)


def test_heads_keep_the_third_column():
    ranked = _ro(np.array([[2, 0, 1], [1, 2, 0]], dtype=np.int16))
    km = _ro(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))
    heads = whatif._heads(ranked, km)
    assert heads[5].tolist() == [1, 0] and heads[6].tolist() == [3.0, 6.0]
    two = _ro(np.array([[1, 0]], dtype=np.int16))
    heads = whatif._heads(two, _ro(np.array([[1.0, 2.0]])))
    assert heads[5].tolist() == [NO_ROUTE] and np.isnan(heads[6]).all()
