"""The km-taking latency variant (hot path of /api/v1/nearest) equals the coordinate one."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard import latency
from dashboard.domain import geodesy
from dashboard.domain import latency as D

lat_s = st.floats(-90, 90, allow_nan=False)
lon_s = st.floats(-180, 180, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(lat_s, lon_s, st.lists(st.tuples(lat_s, lon_s), min_size=1, max_size=25))
def test_km_variant_equals_internet_rtt_ms(lat, lon, sites):
    p = latency.default_params()
    sla = np.array([s[0] for s in sites])
    slo = np.array([s[1] for s in sites])
    km = geodesy.geodesic_km(lat, lon, sla, slo)
    one = D.locate(np.array([lat]), np.array([lon]), p)   # one client, broadcast to every site
    many = D.locate(sla, slo, p)
    got = D.internet_rtt_ms_km(km, one, many, p)
    want = D.internet_rtt_ms(lat, lon, sla, slo, p)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)
    # Symmetric roles: many sources, one destination.
    np.testing.assert_allclose(D.internet_rtt_ms_km(km, many, one, p),
                               D.internet_rtt_ms(sla, slo, lat, lon, p), rtol=0, atol=1e-9)


def test_km_variant_rejects_mismatched_lengths():
    p = latency.default_params()
    two = D.locate(np.array([1.0, 2.0]), np.array([3.0, 4.0]), p)
    three = D.locate(np.array([1.0, 2.0, 5.0]), np.array([3.0, 4.0, 6.0]), p)
    with pytest.raises(ValueError, match="dst: 3 locations for 2 distances"):
        D.internet_rtt_ms_km([100.0, 200.0], two, three, p)


def test_take_location_selects_rows():
    p = latency.default_params()
    loc = D.locate(np.array([1.0, 48.1, -33.9]), np.array([103.8, 11.6, 151.2]), p)
    sub = D.take_location(loc, [2, 0])
    assert sub.region.tolist() == [loc.region[2], loc.region[0]]
    np.testing.assert_array_equal(sub.slope_ms_per_1000km, loc.slope_ms_per_1000km[[2, 0]])


def test_internet_rtt_ms_at_equals_the_gathered_terms():
    """internet_rtt_ms_at (issue 16: no full gather of every term) is internet_rtt_ms_km on
    take_location of the same indices, to the bit, for both client types, with index arrays,
    a slice and one point for every pair."""
    rng = np.random.default_rng(4)
    n, m = 3000, 19
    cla, clo = np.degrees(np.arcsin(rng.uniform(-1, 1, n))), rng.uniform(-180, 180, n)
    pla, plo = np.degrees(np.arcsin(rng.uniform(-1, 1, m))), rng.uniform(-180, 180, m)
    for access in ("end-user", "datacenter"):
        params = latency.params_with((), access)
        src, dst = D.locate(cla, clo, params), D.locate(pla, plo, params)
        km = rng.uniform(0, 20000, n)
        si, di = rng.integers(0, n, n), rng.integers(0, m, n)
        ref = D.internet_rtt_ms_km(km, D.take_location(src, si), D.take_location(dst, di),
                                     params)
        got = D.internet_rtt_ms_at(km, src, si, dst, di, params)
        assert np.array_equal(ref.view(np.int64), got.view(np.int64))
        ref = D.internet_rtt_ms_km(km, src, D.take_location(dst, np.zeros(n, dtype=int)),
                                     params)
        got = D.internet_rtt_ms_at(km, src, slice(None), dst, 0, params)
        assert np.array_equal(ref.view(np.int64), got.view(np.int64))
