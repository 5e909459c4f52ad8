"""The one weighted quantile (``dashboard.domain.stats``): the inverse of the weighted empirical
CDF, checked against its definition and the properties every view relies on."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from dashboard.domain import stats
from dashboard.domain.stats import weighted_median, weighted_quantile

VALUES = st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=60)
QS = st.floats(0.0, 1.0)


@st.composite
def int_weighted(draw, min_weight: int = 1):
    """Values and integer-valued float weights (their sums are exact, so the definition can be
    checked with ``==`` and ``<``)."""
    v = draw(VALUES)
    w = draw(st.lists(st.integers(min_weight, 1000), min_size=len(v), max_size=len(v)))
    return np.array(v), np.array(w, dtype=float)


@settings(max_examples=100, deadline=None)
@given(vw=int_weighted(), q=QS)
def test_the_answer_is_the_smallest_value_whose_weight_reaches_q(vw, q):
    v, w = vw
    r = weighted_quantile(v, w, q)
    target = q * w.sum()
    assert r in v
    assert w[v <= r].sum() >= target
    assert w[v < r].sum() < target or (q == 0.0 and r == v.min())


@settings(max_examples=100, deadline=None)
@given(vw=int_weighted(), q=QS)
def test_integer_weights_count_like_repeated_clients(vw, q):
    v, w = vw
    assert weighted_quantile(v, w, q) == weighted_quantile(np.repeat(v, w.astype(int)),
                                                           np.ones(int(w.sum())), q)


@settings(max_examples=100, deadline=None)
@given(v=VALUES, q=QS)
def test_equal_weights_match_numpy_inverted_cdf(v, q):
    arr = np.array(v)
    want = float(np.quantile(arr, q, method="inverted_cdf"))
    assert weighted_quantile(arr, np.full(len(arr), 2.5), q) == want


@settings(max_examples=100, deadline=None)
@given(vw=int_weighted(), q=QS, seed=st.integers(0, 2**32 - 1),
       scale=st.sampled_from([0.25, 1.0, 8.0, 1024.0]))
def test_order_of_clients_and_unit_of_weights_do_not_matter(vw, q, seed, scale):
    v, w = vw
    perm = np.random.default_rng(seed).permutation(len(v))
    assert weighted_quantile(v[perm], scale * w[perm], q) == weighted_quantile(v, w, q)


@settings(max_examples=100, deadline=None)
@given(vw=int_weighted(), q1=QS, q2=QS)
def test_monotone_in_q_and_bounded_by_the_values(vw, q1, q2):
    v, w = vw
    lo, hi = sorted((q1, q2))
    a, b = weighted_quantile(v, w, lo), weighted_quantile(v, w, hi)
    assert v.min() <= a <= b <= v.max()
    assert weighted_quantile(v, w, 0.0) == v.min()
    assert weighted_quantile(v, w, 1.0) == v.max()


@settings(max_examples=100, deadline=None)
@given(vw=int_weighted(), q=QS,
       junk=st.lists(st.tuples(st.sampled_from([math.nan, math.inf, -math.inf, 1.0, 7.0]),
                               st.sampled_from([0.0, -1.0, math.nan, 3.0])), max_size=8))
def test_unroutable_clients_and_non_positive_weights_are_left_out(vw, q, junk):
    v, w = vw
    # Junk pairs: a non-finite value, or a weight that is not > 0.
    junk = [(x, y) for x, y in junk if not (math.isfinite(x) and y > 0)]
    assume(junk)
    jv, jw = (np.array(c, dtype=float) for c in zip(*junk))
    got = weighted_quantile(np.concatenate([v, jv]), np.concatenate([w, jw]), q)
    assert got == weighted_quantile(v, w, q)


@settings(max_examples=100, deadline=None)
@given(vw=int_weighted())
def test_median_is_the_half_quantile(vw):
    v, w = vw
    assert weighted_median(v, w) == weighted_quantile(v, w, 0.5)


def test_small_cases():
    assert weighted_quantile([1.0, 2.0, 3.0], [1, 1, 1], 0.5) == 2.0
    assert weighted_quantile([1.0, 2.0, 3.0], [1, 1, 10], 0.5) == 3.0
    assert weighted_median([10.0, 20.0], [1, 1]) == 10.0  # inverted CDF: no averaging
    assert math.isnan(weighted_quantile([math.nan], [1.0], 0.5))
    assert math.isnan(weighted_quantile([1.0, 2.0], [0.0, 0.0], 0.5))
    assert math.isnan(weighted_median([], []))


@pytest.mark.parametrize("q", [-0.01, 1.01, math.nan])
def test_q_outside_zero_one_is_refused(q):
    with pytest.raises(ValueError, match="quantile"):
        weighted_quantile([1.0], [1.0], q)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([0.0, -0.0, 1.5, 2.0, -3.25, 1e300, -math.inf, math.inf])
                | st.floats(allow_nan=True), max_size=60))
def test_stable_argsort_is_numpys_stable_argsort(values):
    v = np.array(values, dtype=float)
    assert np.array_equal(stats.stable_argsort(v), np.argsort(v, kind="stable"))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([0.0, -0.0, 1.5, 2.0, math.nan, math.inf])
                          | st.floats(-1e6, 1e6),
                          st.sampled_from([0.0, 1.0, 2.5, -1.0, math.nan]) | st.floats(0, 1e9)),
                max_size=60))
def test_sorted_sample_is_the_kept_values_stably_sorted(pairs):
    """All kept (no copy made) or some left out: the same arrays and total (issue 16)."""
    v = np.array([p[0] for p in pairs], dtype=float)
    w = np.array([p[1] for p in pairs], dtype=float)
    ok = np.isfinite(v) & (w > 0)
    order = np.argsort(v[ok], kind="stable")
    got = stats.sorted_sample(v, w)
    assert np.array_equal(got.values, v[ok][order]) and np.array_equal(got.weights, w[ok][order])
    assert got.total == (float(w[ok].sum()) if ok.any() else 0.0)
    assert np.signbit(got.values).tolist() == np.signbit(v[ok][order]).tolist()
