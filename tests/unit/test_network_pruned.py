"""The pruned rankings (issue 16) give the same route tables to the bit as the exact paths they
replaced: for the network policy every client against every PoP (``policy.pop_matrix``), ranked
(``network_ranking``), first two healthy (``first_two``); for the geographic one
``routing.assign``.

``policy.best_pops`` bounds each PoP's internet leg from the auxiliary-sphere angle
(``geodesy.bounded_pairs``: ``b sigma <= s <= a sigma``) through the monotone latency model
(``policy.internet_bounds_ms``), each PoP's distance by the same angle, and measures exactly
only the PoPs that can be among the two best of either ranking.
Checked here: the two bounds each on their own (against geographiclib and against the model's
own pair function), then the answers on random, property-drawn and adversarial clients
(antipodes of PoPs, PoP sites themselves, poles, the antimeridian, near-ties on the geodesic
midpoint between two PoPs, duplicated PoP sites), for both access types and with PoPs down.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from geographiclib.geodesic import Geodesic
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard import latency
from dashboard.domain import geodesy, paths, policy
from dashboard.domain import latency as lat_mod
from dashboard.domain.routing import assign

DC = latency.params_with((), "datacenter")
EU = latency.params_with((), "end-user")

lat_st = st.floats(-90, 90, allow_nan=False)
lon_st = st.floats(-180, 180, allow_nan=False)
points = st.tuples(lat_st, lon_st)


def reference_top(cla, clo, pla, plo, terms, pop_terms, params, down, k=2):
    """The exact path the engine used before: every client-PoP leg, ranked, first k healthy."""
    n = len(cla)
    matrix = policy.pop_matrix(cla, clo, pla, plo, terms, pop_terms, params)
    ranked, ranked_km = policy.network_ranking(matrix)
    pop, pop_km, runner, runner_km = policy.first_two(ranked, ranked_km, down)
    top = np.column_stack([pop, runner])[:, :k]
    km = np.column_stack([pop_km, runner_km])[:, :k]
    ms = np.full((n, k), np.nan)
    for j in range(k):
        ok = top[:, j] != -1
        ms[ok, j] = matrix.internet_ms[np.flatnonzero(ok), top[ok, j]]
    return top, km, ms


def reference_best(cla, clo, pla, plo, terms, pop_terms, params, down, k=2, geographic=False,
                   net_k=None):
    """best_pops the old way: the full matrix for the network policy, routing.assign for the
    geographic one."""
    net_k = k if net_k is None else net_k
    net, net_km, net_ms = (x[:, :net_k] for x in reference_top(
        cla, clo, pla, plo, terms, pop_terms, params, down, max(k, net_k)))
    if not geographic:
        return policy.BestPops(net, net_km, net_ms)
    a = assign(cla, clo, pla, plo, down=down, alternatives=k)
    return policy.BestPops(net, net_km, net_ms, a.ranked, a.ranked_km)


def _differ(a, b):
    return np.flatnonzero(~((a == b) | (np.isnan(a) & np.isnan(b))).all(axis=1))[:5]


def assert_same_top(cla, clo, pla, plo, params, down):
    cla, clo = np.asarray(cla, dtype=float), np.asarray(clo, dtype=float)
    pla, plo = np.asarray(pla, dtype=float), np.asarray(plo, dtype=float)
    terms, pop_terms = lat_mod.locate(cla, clo, params), lat_mod.locate(pla, plo, params)
    new = policy.best_pops(cla, clo, pla, plo, terms, pop_terms, params, down, geographic=True)
    old = reference_best(cla, clo, pla, plo, terms, pop_terms, params, down, geographic=True)
    for what in ("net", "net_km", "net_ms", "geo", "geo_km"):
        a, b = getattr(new, what).astype(float), getattr(old, what).astype(float)
        # bit for bit: NaN where no PoP, otherwise the identical float
        assert np.array_equal(a, b, equal_nan=True), (what, _differ(a, b))
    net_only = policy.network_top(cla, clo, pla, plo, terms, pop_terms, params, down)
    for a, b in zip(net_only, (new.net, new.net_km, new.net_ms)):
        assert np.array_equal(a, b, equal_nan=True)
    # one network-best PoP (what the geographic route table asks for): fewer pairs, same first
    one = policy.best_pops(cla, clo, pla, plo, terms, pop_terms, params, down, geographic=True,
                           net_k=1)
    for what in ("net", "net_km", "net_ms", "geo", "geo_km"):
        a, b = getattr(one, what).astype(float), getattr(old, what).astype(float)
        assert np.array_equal(a, b[:, :a.shape[1]], equal_nan=True), (what, _differ(a, b))


def random_clients(n, seed):
    rng = np.random.default_rng(seed)
    return (np.round(np.degrees(np.arcsin(rng.uniform(-1, 1, n))), 4),
            np.round(rng.uniform(-180, 180, n), 4))


def antipode(lat, lon):
    return -np.asarray(lat), np.where(np.asarray(lon) > 0, np.asarray(lon) - 180.0,
                                      np.asarray(lon) + 180.0)


def adversarial_clients(pla, plo, seed=0):
    """PoP sites, their antipodes and points just off them (Vincenty's trouble zone and the
    geographiclib fallback), poles, equator/antimeridian, and near-ties: points on the geodesic
    midpoint of every PoP pair, and a few metres either side of it."""
    rng = np.random.default_rng(seed)
    la, lo = [list(pla)], [list(plo)]
    ala, alo = antipode(pla, plo)
    la.append(list(ala))
    lo.append(list(alo))
    for eps in (1e-4, 0.01, 0.3, 2.0, 3.0):
        la.append(list(np.clip(ala + rng.uniform(-eps, eps, len(ala)), -90, 90)))
        lo.append(list(((alo + rng.uniform(-eps, eps, len(alo)) + 180) % 360) - 180))
    la.append([90.0, -90.0, 0.0, 0.0, 0.0, 0.0, 89.9999, -89.9999])
    lo.append([0.0, 0.0, 180.0, -180.0, 0.0, 179.9999, 12.3, -170.0])
    geod = Geodesic.WGS84
    for i in range(len(pla)):
        for j in range(i + 1, len(pla)):
            line = geod.InverseLine(pla[i], plo[i], pla[j], plo[j])
            for off_m in (0.0, -5.0, 5.0, -0.001, 0.001):
                p = line.Position(line.s13 / 2 + off_m)
                la.append([p["lat2"]])
                lo.append([p["lon2"]])
    return np.concatenate([np.asarray(x, dtype=float) for x in la]), \
        np.concatenate([np.asarray(x, dtype=float) for x in lo])


# --- the two bounds ---------------------------------------------------------------------------

def test_bounded_pairs_bounds_hold_and_km_are_nearest_km(catalog):
    """Every pair's exact km lies in [km_lo, km_hi], and is the very value nearest(k=m) gives."""
    cla, clo = random_clients(40_000, 1)
    ala, alo = adversarial_clients(catalog.pop_lats, catalog.pop_lons)
    cla, clo = np.concatenate([cla, ala]), np.concatenate([clo, alo])
    pla, plo = catalog.pop_lats, catalog.pop_lons
    m = len(pla)
    seen = np.full((len(cla), m), np.nan)
    bounds: dict[int, tuple] = {}

    def choose(sl, km_lo, km_hi):
        assert km_lo.shape == (m, sl.stop - sl.start)
        bounds[sl.start] = (km_lo.copy(), km_hi.copy())
        return np.ones(km_lo.shape, dtype=bool)

    for sl, rows, cols, km in geodesy.bounded_pairs(cla, clo, pla, plo, choose):
        lo, hi = bounds[sl.start]
        assert (lo[cols, rows] <= km).all() and (km <= hi[cols, rows]).all()
        seen[sl.start + rows, cols] = km
    idx, km = geodesy.nearest(cla, clo, pla, plo, k=m)
    assert np.array_equal(policy.km_by_pop(idx, km), seen)


@given(st.lists(points, min_size=1, max_size=20), st.lists(points, min_size=1, max_size=6))
@settings(max_examples=200, deadline=None)
def test_bounded_pairs_bounds_hold_against_geographiclib(clients, sites):
    c, s = np.array(clients), np.array(sites)

    def choose(sl, km_lo, km_hi):
        choose.b = (km_lo, km_hi)
        return np.ones(km_lo.shape, dtype=bool)

    for sl, rows, cols, km in geodesy.bounded_pairs(c[:, 0], c[:, 1], s[:, 0], s[:, 1], choose):
        lo, hi = choose.b
        for r, col in zip(rows.tolist(), cols.tolist()):
            true = Geodesic.WGS84.Inverse(c[r, 0], c[r, 1], s[col, 0], s[col, 1],
                                          Geodesic.DISTANCE)["s12"] / 1000.0
            assert lo[col, r] <= true <= hi[col, r]


model_overrides = st.fixed_dictionaries({
    "inflation_scale": st.floats(0.2, 3.0),
    "overhead_ms": st.floats(0.0, 40.0),
    "min_rtt_ms": st.floats(0.1, 30.0),
    "fibre_km_per_ms": st.floats(100.0, 300.0),
})


@given(st.lists(points, min_size=1, max_size=30), model_overrides,
       st.sampled_from(["datacenter", "end-user"]),
       st.lists(st.floats(0.0, 1.0), min_size=2, max_size=2), st.integers(0, 2**32 - 1))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_internet_bounds_bracket_the_model(catalog, clients, over, access, fr, seed):
    """internet_bounds_ms is the model's leg at the distance bounds: for any km between them
    (and at them), lo <= internet_rtt_ms_km <= hi, for any parameters (it mirrors the formula:
    a change of the formula not made here fails this)."""
    params = replace(latency.params_with((), access), **over)
    c = np.array(clients)
    pla, plo = catalog.pop_lats, catalog.pop_lons
    terms, pop_terms = lat_mod.locate(c[:, 0], c[:, 1], params), lat_mod.locate(pla, plo, params)
    n, m = len(c), len(pla)
    rng = np.random.default_rng(seed)
    km_lo = rng.uniform(0, 20_000, (m, n)) * fr[0]
    km_hi = km_lo + rng.uniform(0, 500, (m, n)) * fr[1]
    lo, hi = policy.internet_bounds_ms(km_lo, km_hi, terms, pop_terms, params)
    for km in (km_lo, km_hi, (km_lo + km_hi) / 2):
        rows = np.repeat(np.arange(n), m)
        cols = np.tile(np.arange(m), n)
        exact = lat_mod.internet_rtt_ms_km(km.T.ravel(), lat_mod.take_location(terms, rows),
                                           lat_mod.take_location(pop_terms, cols),
                                           params).reshape(n, m).T
        assert (lo <= exact).all() and (exact <= hi).all()
    # and they are tight: a bound, not a guess
    assert np.allclose(lo, policy.internet_bounds_ms(km_lo, km_lo, terms, pop_terms, params)[1],
                       rtol=1e-8, atol=1e-8)


# --- the answers --------------------------------------------------------------------------------

@pytest.mark.parametrize("params", [DC, EU], ids=["datacenter", "end-user"])
@pytest.mark.parametrize("down_ids", [(), ("FRA", "SIN", "IAD"), "all but one", "all"])
def test_network_top_identical_on_random_and_adversarial_clients(catalog, params, down_ids):
    pla, plo = catalog.pop_lats, catalog.pop_lons
    if down_ids == "all but one":
        down = np.ones(len(pla), dtype=bool)
        down[3] = False
    elif down_ids == "all":
        down = np.ones(len(pla), dtype=bool)
    else:
        down = catalog.pop_mask(list(down_ids))
    cla, clo = random_clients(30_000, 7)
    ala, alo = adversarial_clients(pla, plo)
    assert_same_top(np.concatenate([cla, ala]), np.concatenate([clo, alo]), pla, plo, params,
                    down)


def test_network_top_identical_with_duplicated_and_clustered_pops(catalog):
    """Exact ties (two PoPs on one site: equal km and leg, catalog order decides) and a cluster
    of PoPs a few metres apart (near-ties everywhere)."""
    pla = np.concatenate([catalog.pop_lats, catalog.pop_lats[:3], [48.0, 48.00001, 48.0]])
    plo = np.concatenate([catalog.pop_lons, catalog.pop_lons[:3], [11.0, 11.0, 11.00001]])
    cla, clo = random_clients(5_000, 3)
    ala, alo = adversarial_clients(pla, plo, seed=2)
    for params in (DC, EU):
        assert_same_top(np.concatenate([cla, ala]), np.concatenate([clo, alo]), pla, plo,
                        params, np.zeros(len(pla), dtype=bool))


@given(st.lists(points, min_size=1, max_size=40), st.lists(points, min_size=1, max_size=8),
       st.sampled_from([DC, EU]), st.integers(0, 255))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_network_top_identical_property(clients, sites, params, down_bits):
    """Any clients against any small set of sites (random PoP catalogs), any down mask."""
    c, s = np.array(clients), np.array(sites)
    down = np.array([(down_bits >> i) & 1 for i in range(len(s))], dtype=bool)
    # antipodes of the sites and points on their midpoints: the hard cases, every draw
    ala, alo = antipode(s[:, 0], s[:, 1])
    assert_same_top(np.concatenate([c[:, 0], ala]), np.concatenate([c[:, 1], alo]), s[:, 0],
                    s[:, 1], params, down)


@given(st.lists(points, min_size=1, max_size=25), st.sampled_from([DC, EU]),
       st.sets(st.integers(0, 18), max_size=19), st.sampled_from(["geographic", "network"]))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_client_paths_identical_to_the_full_matrix_path(catalog, monkeypatch_session, clients,
                                                        params, down_idx, pol):
    """The whole route table (every column, both policies) against client_paths with the full
    matrix swapped back in."""
    c = np.array(clients)
    down = np.zeros(len(catalog.pop_lats), dtype=bool)
    down[sorted(down_idx)] = True
    args = (c[:, 0], c[:, 1], catalog.pop_ids, catalog.pop_lats, catalog.pop_lons, 50.11, 8.68)
    new = paths.client_paths(*args, down=down, params=params, policy=pol)
    with monkeypatch_session.context() as mp:
        mp.setattr(policy, "best_pops", reference_best)
        old = paths.client_paths(*args, down=down, params=params, policy=pol)
    pd.testing.assert_frame_equal(new, old, check_exact=True)


@pytest.fixture(scope="module")
def monkeypatch_session():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


@pytest.mark.slow
def test_client_paths_identical_on_100k_random_clients(catalog, monkeypatch_session):
    cla, clo = random_clients(100_000, 11)
    args = (cla, clo, catalog.pop_ids, catalog.pop_lats, catalog.pop_lons, 50.11, 8.68)
    for pol in ("geographic", "network"):
        new = paths.client_paths(*args, params=EU, policy=pol)
        with monkeypatch_session.context() as mp:
            mp.setattr(policy, "best_pops", reference_best)
            old = paths.client_paths(*args, params=EU, policy=pol)
        pd.testing.assert_frame_equal(new, old, check_exact=True)


def test_few_candidates_are_measured(catalog):
    """The point of it: about 2 exact distances per client instead of 19."""
    cla, clo = random_clients(20_000, 5)
    pla, plo = catalog.pop_lats, catalog.pop_lons
    terms, pop_terms = lat_mod.locate(cla, clo, EU), lat_mod.locate(pla, plo, EU)
    measured = 0
    orig = geodesy._exact_km

    def counting(*a, **k):
        nonlocal measured
        measured += len(a[0])
        return orig(*a, **k)

    geodesy._exact_km = counting
    try:
        policy.network_top(cla, clo, pla, plo, terms, pop_terms, EU,
                           np.zeros(len(pla), dtype=bool))
    finally:
        geodesy._exact_km = orig
    assert measured / len(cla) < 3.0
    assert math.isfinite(measured)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 6), st.integers(1, 2), st.integers(0, 2**32 - 1), st.booleans())
def test_segment_best_equals_lexsort_with_ties(n, kk, seed, two_keys):
    """policy._segment_best (the per-client best pairs without a sort of every pair) picks what
    np.lexsort((*keys, rows)) puts first, ties on every key resolved by pair order."""
    from dashboard.domain.policy import _segment_best

    rng = np.random.default_rng(seed)
    per = rng.integers(kk, kk + 4, n)
    rows = np.repeat(np.arange(n), per)
    rng.shuffle(rows)  # pairs in any order (bounded_pairs gives them PoP by PoP)
    keys = tuple(rng.integers(0, 3, len(rows)).astype(float) for _ in range(2 if two_keys else 1))
    order = np.lexsort((*keys, rows))
    first = np.searchsorted(rows[order], np.arange(n))
    got = _segment_best(rows, keys, n, kk)
    for j in range(kk):
        assert np.array_equal(got[j], order[first + j])
