"""Vincenty's sweep and length written into buffers (issue 16) equal the textbook expressions
evaluated the plain numpy way, bit for bit; the wrapped longitude difference equals numpy's
modulo, bit for bit (signed zeros included)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.domain import geodesy as g

F = g.WGS84_F


def _sweep_reference(lam, Lx, ss12, cc12, cs12, sc12, c2):
    f = F
    sinl = np.sin(lam)
    cosl = np.cos(lam)
    t1 = c2 * sinl
    t2 = cs12 - sc12 * cosl
    ss = np.sqrt(t1 * t1 + t2 * t2)
    cs = ss12 + cc12 * cosl
    sg = np.arctan2(ss, cs)
    sa = np.minimum(np.maximum(cc12 * sinl / np.maximum(ss, 1e-300), -1.0), 1.0)
    c2a = 1.0 - sa * sa
    c2sm = np.minimum(np.maximum(cs - 2.0 * ss12 / np.maximum(c2a, 1e-300), -1.0), 1.0)
    C = f / 16.0 * c2a * (4.0 + f * (4.0 - 3.0 * c2a))
    new = Lx + (1.0 - C) * f * sa * (sg + C * ss * (c2sm + C * cs * (2.0 * c2sm * c2sm - 1.0)))
    return new, ss, cs, sg, c2a, c2sm


def _length_reference(cos2a, cos2sm, sin_s, cos_s, sig):
    u2 = cos2a * g._EP2
    A = 1.0 + u2 / 16384.0 * (4096.0 + u2 * (-768.0 + u2 * (320.0 - 175.0 * u2)))
    B = u2 / 1024.0 * (256.0 + u2 * (-128.0 + u2 * (74.0 - 47.0 * u2)))
    m2 = cos2sm * cos2sm
    dsig = B * sin_s * (cos2sm + B / 4.0 * (cos_s * (2.0 * m2 - 1.0)
                                            - B / 6.0 * cos2sm * (4.0 * sin_s * sin_s - 3.0)
                                            * (4.0 * m2 - 3.0)))
    return g.WGS84_B_KM * A * (sig - dsig)


def _bits(a):
    return np.asarray(a, dtype=float).view(np.int64)


def _pairs(rng, n):
    la1 = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    la2 = np.where(rng.random(n) < 0.5, np.clip(la1 + rng.normal(0, 5, n), -90, 90),
                   np.degrees(np.arcsin(rng.uniform(-1, 1, n))))
    edge = np.array([0.0, -0.0, 90.0, -90.0, 1e-300, -1e-300, 45.0, 89.9999])
    k = n // 4
    la1[:k] = rng.choice(edge, k)
    la2[:k] = rng.choice(edge, k)
    L = np.radians(rng.uniform(-180, 180, n))
    L[:k] = rng.choice([0.0, -0.0, np.pi, -np.pi, 1e-12, 3.0], k)
    return la1, la2, L


def test_sweep_and_length_equal_the_textbook_expressions():
    rng = np.random.default_rng(5)
    la1, la2, L = _pairs(rng, 40_000)
    su1, cu1 = g._reduced(la1)
    su2, cu2 = g._reduced(la2)
    ss12, cc12, cs12, sc12 = su1 * su2, cu1 * cu2, cu1 * su2, su1 * cu2
    with np.errstate(all="ignore"):
        lam = L
        for _ in range(5):  # also lambdas after a few sweeps, as the iteration sees them
            ref = _sweep_reference(lam, L, ss12, cc12, cs12, sc12, cu2)
            got = g._vincenty_sweep(lam, L, ss12, 2.0 * ss12, cc12, cs12, sc12, cu2)
            for a, b in zip(ref, got):
                assert np.array_equal(_bits(a), _bits(b))
            new, ss, cs, sg, c2a, c2sm = ref
            assert np.array_equal(_bits(_length_reference(c2a, c2sm, ss, cs, sg)),
                                  _bits(g._vincenty_length(c2a, c2sm, ss, cs, sg)))
            lam = new


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.floats(-180, 180), st.floats(-180, 180)), min_size=1,
                max_size=30),
       st.lists(st.floats(allow_nan=True, allow_infinity=False, width=64), max_size=3))
def test_wrapped_difference_is_numpys_modulo(pairs, wild):
    a = np.array([p[0] for p in pairs] + wild)
    b = np.array([p[1] for p in pairs] + wild[::-1])
    ref = (b - a + 180.0) % 360.0 - 180.0
    got = g._wrapped_difference(a, b)
    assert np.array_equal(np.isnan(ref), np.isnan(got))
    ok = ~np.isnan(ref)
    assert np.array_equal(_bits(ref[ok]), _bits(got[ok]))


def test_wrapped_difference_on_the_edges():
    e = np.array([-180.0, 180.0, 0.0, -0.0, 179.9999, -179.9999, 1e-300, -5e-324, 90.0,
                  np.nextafter(180.0, 0.0), np.nextafter(-180.0, 0.0), 8.68417, -171.31583])
    a, b = np.repeat(e, len(e)), np.tile(e, len(e))
    assert np.array_equal(_bits((b - a + 180.0) % 360.0 - 180.0),
                          _bits(g._wrapped_difference(a, b)))


def test_geodesic_km_to_one_point_equals_the_per_pair_way():
    """A scalar second point (its reduced latitude computed once) gives the bits of the same
    point repeated per pair, antipodal fallbacks and NaN included."""
    rng = np.random.default_rng(9)
    n = 40_000
    lat = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    lon = rng.uniform(-180, 180, n)
    lat[:50], lon[:50] = -50.11552, -171.31583  # antipodes of the origin: geographiclib
    lat[50] = np.nan
    for o in ((50.11552, 8.68417), (90.0, 0.0), (0.0, 180.0), (-33.9, 151.2)):
        one = g.geodesic_km(lat, lon, *o)
        per_pair = g.geodesic_km(lat, lon, np.full(n, o[0]), np.full(n, o[1]))
        assert np.array_equal(_bits(one), _bits(per_pair))
