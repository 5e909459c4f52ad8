"""The kept RTT CDF curves (``patches.cdf_curve_kept``, issue 16: found by a sample of the
inputs, checked bit for bit) are always the curve of the inputs given."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.callbacks import patches
from dashboard.figures import cdf


def _same(a, b) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(a, b))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 3_000), at=st.integers(0, 10**6),
       weighted=st.booleans())
def test_kept_curve_is_the_curve_of_these_inputs(seed, n, at, weighted):
    rng = np.random.default_rng(seed)
    v = rng.uniform(0, 300, n)
    v[rng.random(n) < 0.05] = np.nan
    w = rng.uniform(0, 10, n) if weighted else None
    assert _same(patches.cdf_curve_kept(v, w), cdf.cdf_curve(v, w))
    assert _same(patches.cdf_curve_kept(v.copy(), w), cdf.cdf_curve(v, w))
    if n:  # one value changed (most often outside the sample the lookup starts from)
        v2 = v.copy()
        v2[at % n] = 0.5 if np.isnan(v2[at % n]) else np.nan
        assert _same(patches.cdf_curve_kept(v2, w), cdf.cdf_curve(v2, w))
        assert _same(patches.cdf_curve_kept(v, w), cdf.cdf_curve(v, w))
        if weighted:
            w2 = w.copy()
            w2[at % n] += 1.0
            assert _same(patches.cdf_curve_kept(v, w2), cdf.cdf_curve(v, w2))
    assert _same(patches.cdf_curve_kept(v, None), cdf.cdf_curve(v, None))
