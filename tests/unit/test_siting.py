"""Where to add a PoP (domain/siting.py): the vectorised ranking equals appending each candidate
to the PoP arrays and routing every client again through the normal routing, both policies,
both access types, with PoPs and endpoints down; adding a candidate never lengthens anyone's
deciding quantity; the greedy set; chunking changes nothing. With an announcement bias
(docs/bias.md) the same agreement holds against the normal routing with the same bias (the
candidate unbiased), and the sieve still finds every move."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard import latency
from dashboard.domain import latency as lat_core
from dashboard.domain import paths, siting
from dashboard.domain import policy as pol
from dashboard.domain.geodesy import geodesic_km
from dashboard.domain.stats import weighted_quantile

END_USER = latency.params_with((), "end-user")
DATACENTER = latency.params_with((), "datacenter")
ORIGIN = (50.1155, 8.6842)  # eu-central-1 (Frankfurt)


def _points(n, seed):
    rng = np.random.default_rng(seed)
    return np.degrees(np.arcsin(rng.uniform(-1, 1, n))), rng.uniform(-180, 180, n)


def _route(cla, clo, pla, plo, params, policy, down=None, olat=ORIGIN[0], olon=ORIGIN[1],
           bias=()):
    ids = [f"P{i}" for i in range(len(pla))]
    return paths.client_paths(cla, clo, ids, pla, plo, olat, olon, down=down, params=params,
                              direct_origin=ORIGIN, policy=policy,
                              bias=pol.pop_bias(bias, ids, params))


def _current(tab, m, params, bias=()):
    """:func:`siting.from_table` of a table routed by :func:`_route` over ``m`` PoPs."""
    ids = [f"P{i}" for i in range(m)]
    return siting.from_table(tab, pol.pop_bias(bias, ids, params), ids)


def _one_at_a_time(cla, clo, w, catalog, down, olat, olon, cand, params, policy, bias=()):
    """Mean RTT (served, weighted), movers and the after-RTTs with candidate ``cand`` appended
    (routed with the same ``bias``: the candidate, new, has none)."""
    m = len(catalog.pop_ids)
    pla = np.append(catalog.pop_lats, cand[0])
    plo = np.append(catalog.pop_lons, cand[1])
    d = None if down is None else np.append(down, False)
    ol = olat if np.ndim(olat) == 0 else np.append(olat, ORIGIN[0])
    oo = olon if np.ndim(olon) == 0 else np.append(olon, ORIGIN[1])
    tab = _route(cla, clo, pla, plo, params, policy, d, ol, oo, bias)
    ok = tab["served"].to_numpy()
    moved = tab["pop_id"].to_numpy() == f"P{m}"
    return np.average(tab["anycast_ms"][ok], weights=w[ok]), moved, tab["anycast_ms"].to_numpy()


@pytest.fixture(scope="module")
def clients():
    cla, clo = _points(2500, 11)
    w = np.random.default_rng(3).uniform(0.1, 10.0, len(cla))
    return cla, clo, w


@pytest.mark.parametrize("policy", ["geographic", "network"])
@pytest.mark.parametrize("params", [END_USER, DATACENTER], ids=["end-user", "datacenter"])
def test_agrees_with_one_at_a_time_routing(catalog, clients, policy, params):
    cla, clo, w = clients
    tab = _route(cla, clo, catalog.pop_lats, catalog.pop_lons, params, policy)
    cur = siting.from_table(tab)
    clat, clon = _points(60, 5)
    sites = siting.prepare_sites(clat, clon, *ORIGIN, params)
    r = siting.rank_sites(cla, clo, w, cur, sites, params, policy, top=3, greedy=0)
    g = r.gains
    assert g.mean_before_ms == pytest.approx(
        np.average(tab["anycast_ms"], weights=w), rel=1e-12)
    sample = list(r.order[:3]) + list(range(0, 60, 7))
    for c in sample:
        mean, moved, after = _one_at_a_time(cla, clo, w, catalog, None, *ORIGIN,
                                            (clat[c], clon[c]), params, policy)
        assert g.mean_after_ms[c] == pytest.approx(mean, rel=1e-11), c
        assert g.clients_moving[c] == moved.sum()
        assert g.demand_moving[c] == pytest.approx(w[moved].sum(), rel=1e-12)
        if c in r.order[:3]:
            i = list(r.order[:3]).index(c)
            assert r.p95_after_ms[i] == pytest.approx(weighted_quantile(after, w, 0.95))


def test_agrees_with_pops_and_an_endpoint_down(catalog, clients):
    """Down PoPs, per-PoP origins with one endpoint down (its PoPs' clients unserved) and a
    region left with no healthy PoP: movers, served demand and the mean still agree."""
    cla, clo, w = clients
    m = len(catalog.pop_ids)
    down = np.zeros(m, dtype=bool)
    down[[0, 3, 7]] = True
    olat, olon = np.full(m, ORIGIN[0]), np.full(m, ORIGIN[1])
    olat[[1, 2]] = olon[[1, 2]] = np.nan
    for policy in ("geographic", "network"):
        tab = _route(cla, clo, catalog.pop_lats, catalog.pop_lons, END_USER, policy, down,
                     olat, olon)
        cur = siting.from_table(tab)
        clat, clon = _points(25, 9)
        sites = siting.prepare_sites(clat, clon, *ORIGIN, END_USER)
        r = siting.rank_sites(cla, clo, w, cur, sites, END_USER, policy, top=0, greedy=0)
        served0 = w[tab["served"].to_numpy()].sum()
        for c in range(0, 25, 4):
            mean, moved, after = _one_at_a_time(cla, clo, w, catalog, down, olat, olon,
                                                (clat[c], clon[c]), END_USER, policy)
            assert r.gains.mean_after_ms[c] == pytest.approx(mean, rel=1e-11)
            assert r.gains.clients_moving[c] == moved.sum()
            assert r.gains.served_change[c] == pytest.approx(
                w[np.isfinite(after)].sum() - served0, abs=1e-9)


def test_every_pop_down_every_client_moves(catalog, clients):
    cla, clo, w = clients
    down = np.ones(len(catalog.pop_ids), dtype=bool)
    tab = _route(cla, clo, catalog.pop_lats, catalog.pop_lons, END_USER, "network", down)
    cur = siting.from_table(tab)
    sites = siting.prepare_sites([48.85, -33.9], [2.35, 18.4], *ORIGIN, END_USER)
    r = siting.rank_sites(cla, clo, w, cur, sites, END_USER, "network", top=1, greedy=2)
    assert (r.gains.clients_moving == len(cla)).all()
    assert r.gains.served_change == pytest.approx([w.sum(), w.sum()])
    assert np.isnan(r.gains.mean_before_ms)
    assert r.greedy[0] == 0  # Paris: nearer Frankfurt, lower mean RTT


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), policy=st.sampled_from(["geographic", "network"]),
       k=st.integers(1, 6))
def test_adding_a_site_never_lengthens_the_deciding_quantity(catalog, seed, policy, k):
    """Geographic: no client's PoP gets farther; network: no client's chosen internet leg gets
    longer (what BGP is modelled to minimise). The total RTT may grow under the network
    policy (a longer backbone behind a shorter internet leg): that is why gains can be < 0."""
    cla, clo = _points(400, seed)
    tab = _route(cla, clo, catalog.pop_lats, catalog.pop_lons, END_USER, policy)
    cur = siting.from_table(tab)
    clat, clon = _points(k, seed + 1)
    sites = siting.prepare_sites(clat, clon, *ORIGIN, END_USER)
    mv = siting.moves(cla, clo, cur, sites, END_USER, policy)
    for c in range(k):
        after = siting.apply_moves(cur, mv, c)
        if policy == "network":  # (the km may grow: a farther PoP with a shorter leg)
            assert (after.internet_ms <= cur.internet_ms).all()
        else:
            assert (after.pop_km <= cur.pop_km).all()
    if policy == "geographic":  # moves only go to strictly nearer sites
        assert (mv.km < cur.pop_km[mv.client]).all()


def test_internet_pairs_equal_the_latency_module(clients):
    cla, clo, _w = clients
    sites = siting.prepare_sites(*_points(7, 1), *ORIGIN, END_USER)
    terms = lat_core.locate(cla, clo, END_USER)
    ni = np.repeat(np.arange(len(cla)), 7)
    ci = np.tile(np.arange(7), len(cla))
    km = geodesic_km(cla[ni], clo[ni], sites.lats[ci], sites.lons[ci])
    want = lat_core.internet_rtt_ms_km(km, lat_core.take_location(terms, ni),
                                       lat_core.take_location(sites.terms, ci), END_USER)
    got = siting._internet(km, ni, ci, terms, sites, END_USER)
    assert np.array_equal(got, want)


def test_chunking_changes_nothing(catalog, clients):
    cla, clo, w = clients
    tab = _route(cla, clo, catalog.pop_lats, catalog.pop_lons, END_USER, "network")
    cur = siting.from_table(tab)
    sites = siting.prepare_sites(*_points(40, 2), *ORIGIN, END_USER)
    a = siting.rank_sites(cla, clo, w, cur, sites, END_USER, "network", greedy=2)
    seen = []
    b = siting.rank_sites(cla, clo, w, cur, sites, END_USER, "network", greedy=2,
                          chunk_elements=len(cla) * 3, progress=lambda f, t: seen.append(f))
    np.testing.assert_array_equal(a.gains.gain_ms, b.gains.gain_ms)
    assert a.greedy == b.greedy and a.order.tolist() == b.order.tolist()
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) > 10


def test_greedy_matches_adding_the_picks_together(catalog, clients):
    cla, clo, w = clients
    for policy in ("geographic", "network"):
        tab = _route(cla, clo, catalog.pop_lats, catalog.pop_lons, END_USER, policy)
        cur = siting.from_table(tab)
        clat, clon = _points(30, 4)
        sites = siting.prepare_sites(clat, clon, *ORIGIN, END_USER)
        r = siting.rank_sites(cla, clo, w, cur, sites, END_USER, policy, greedy=3)
        assert r.greedy[0] == r.order[0]
        assert len(set(r.greedy)) == len(r.greedy) == 3
        assert list(r.greedy_gain_ms) == sorted(r.greedy_gain_ms)
        pick = list(r.greedy)
        tab3 = _route(cla, clo, np.append(catalog.pop_lats, clat[pick]),
                      np.append(catalog.pop_lons, clon[pick]), END_USER, policy)
        assert r.greedy_mean_ms[-1] == pytest.approx(
            np.average(tab3["anycast_ms"], weights=w), rel=1e-11)


def test_no_candidates_and_no_clients(catalog):
    cur = siting.Current(np.empty(0), np.empty(0), np.empty(0))
    sites = siting.prepare_sites([10.0], [10.0], *ORIGIN, END_USER)
    r = siting.rank_sites([], [], [], cur, sites, END_USER, "network")
    assert r.gains.clients_moving.tolist() == [0] and r.greedy == ()
    cla, clo = _points(5, 1)
    tab = _route(cla, clo, catalog.pop_lats, catalog.pop_lons, END_USER, "geographic")
    none = siting.prepare_sites([], [], *ORIGIN, END_USER)
    r = siting.rank_sites(cla, clo, np.ones(5), siting.from_table(tab), none, END_USER)
    assert len(r.order) == 0 and r.greedy == ()
    with pytest.raises(ValueError, match="candidate 0: latitude"):
        siting.prepare_sites([91.0], [0.0], *ORIGIN, END_USER)


@pytest.mark.parametrize("policy", ["geographic", "network"])
def test_remeasured_moves_equal_fresh_ones(catalog, clients, policy):
    """The greedy steps re-measure only the clients the pick took: the moves equal those of a
    fresh :func:`siting.moves` against the routing with the pick added (as a set of pairs)."""
    cla, clo, _w = clients
    tab = _route(cla, clo, catalog.pop_lats, catalog.pop_lons, END_USER, policy)
    cur = siting.from_table(tab)
    sites = siting.prepare_sites(*_points(50, 8), *ORIGIN, END_USER)
    terms = lat_core.locate(cla, clo, END_USER)
    mv = siting.moves(cla, clo, cur, sites, END_USER, policy, terms=terms)
    pick = int(np.bincount(mv.candidate).argmax())
    after = siting.apply_moves(cur, mv, pick)
    got = siting._remeasure(cla, clo, after, mv, pick, sites, END_USER, policy, terms,
                            siting.CHUNK_ELEMENTS)
    want = siting.moves(cla, clo, after, sites, END_USER, policy, terms=terms)

    def pairs(m):
        return sorted(zip(m.client.tolist(), m.candidate.tolist(), m.rtt_ms.tolist()))

    assert pairs(got) == pairs(want)


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 10_000), policy=st.sampled_from(["geographic", "network"]),
       access=st.sampled_from(["end-user", "datacenter"]),
       inflation=st.sampled_from([0.25, 1.0, 4.0]), overhead=st.sampled_from([0.0, 12.0, 80.0]))
def test_the_sieve_never_drops_a_move(catalog, seed, policy, access, inflation, overhead):
    """:func:`siting.moves` (sphere bounds, region-wise limits, second sieve) finds exactly the
    pairs a brute force finds: every client against every candidate, exact km and legs."""
    params = latency.params_with((("inflation_scale", inflation), ("overhead_ms", overhead)),
                                 access)
    cla, clo = _points(300, seed)
    tab = _route(cla, clo, catalog.pop_lats, catalog.pop_lons, params, policy)
    cur = siting.from_table(tab)
    clat, clon = _points(40, seed + 7)
    sites = siting.prepare_sites(clat, clon, *ORIGIN, params)
    terms = lat_core.locate(cla, clo, params)
    got = siting.moves(cla, clo, cur, sites, params, policy, terms=terms,
                       chunk_elements=300 * 7)
    ni = np.repeat(np.arange(300), 40)
    ci = np.tile(np.arange(40), 300)
    km = geodesic_km(cla[ni], clo[ni], clat[ci], clon[ci])
    if policy == "network":
        inet = lat_core.internet_rtt_ms_km(km, lat_core.take_location(terms, ni),
                                           lat_core.take_location(sites.terms, ci), params)
        cur_i, cur_km = cur.internet_ms[ni], cur.pop_km[ni]
        win = (inet < cur_i) | ((inet == cur_i) & (km < cur_km))
    else:
        win = km < cur.pop_km[ni]
    want = set(zip(ni[win].tolist(), ci[win].tolist()))
    assert set(zip(got.client.tolist(), got.candidate.tolist())) == want


#: A planner's bias on the catalog's PoPs as ids of :func:`_route` (P15 = FRA, P14 = LHR,
#: P11 = IAD, P1 = SIN): penalties and bonuses, up to the bounds.
BIAS = (("P1", -30.0), ("P11", 45.0), ("P14", -12.5), ("P15", 20.0))


@pytest.mark.parametrize("policy", ["geographic", "network"])
@pytest.mark.parametrize("params", [END_USER, DATACENTER], ids=["end-user", "datacenter"])
def test_biased_ranking_agrees_with_one_at_a_time_biased_routing(catalog, clients, policy,
                                                                  params):
    """Issue 20: the ranking starts from the biased routing, and adding candidate i through
    the normal routing with the same bias gives the same movers, mean and p95."""
    cla, clo, w = clients
    m = len(catalog.pop_ids)
    tab = _route(cla, clo, catalog.pop_lats, catalog.pop_lons, params, policy, bias=BIAS)
    plain = _route(cla, clo, catalog.pop_lats, catalog.pop_lons, params, policy)
    assert (tab["pop_id"] != plain["pop_id"]).sum() > 50  # the bias moves clients
    cur = _current(tab, m, params, BIAS)
    clat, clon = _points(60, 5)
    sites = siting.prepare_sites(clat, clon, *ORIGIN, params)
    r = siting.rank_sites(cla, clo, w, cur, sites, params, policy, top=3, greedy=0)
    unbiased = siting.rank_sites(cla, clo, w, siting.from_table(tab), sites, params, policy,
                                 top=0, greedy=0)
    g = r.gains
    assert g.mean_before_ms == pytest.approx(
        np.average(tab["anycast_ms"], weights=w), rel=1e-12)
    assert not np.array_equal(g.clients_moving, unbiased.gains.clients_moving)
    sample = list(r.order[:3]) + list(range(0, 60, 7))
    for c in sample:
        mean, moved, after = _one_at_a_time(cla, clo, w, catalog, None, *ORIGIN,
                                            (clat[c], clon[c]), params, policy, BIAS)
        assert g.mean_after_ms[c] == pytest.approx(mean, rel=1e-11), c
        assert g.clients_moving[c] == moved.sum()
        assert g.demand_moving[c] == pytest.approx(w[moved].sum(), rel=1e-12)
        if c in r.order[:3]:
            i = list(r.order[:3]).index(c)
            assert r.p95_after_ms[i] == pytest.approx(weighted_quantile(after, w, 0.95))


@pytest.mark.parametrize("policy", ["geographic", "network"])
def test_biased_greedy_matches_adding_the_picks_together(catalog, clients, policy):
    """The greedy steps under a bias: adding the picks together through the biased routing
    gives the greedy means (a mover sits at an unbiased candidate afterwards)."""
    cla, clo, w = clients
    m = len(catalog.pop_ids)
    tab = _route(cla, clo, catalog.pop_lats, catalog.pop_lons, END_USER, policy, bias=BIAS)
    clat, clon = _points(40, 21)
    sites = siting.prepare_sites(clat, clon, *ORIGIN, END_USER)
    r = siting.rank_sites(cla, clo, w, _current(tab, m, END_USER, BIAS), sites, END_USER,
                          policy, top=0, greedy=3)
    assert len(r.greedy) == 3
    for k in range(1, 4):
        picks = list(r.greedy[:k])
        after = _route(cla, clo, np.append(catalog.pop_lats, clat[picks]),
                       np.append(catalog.pop_lons, clon[picks]), END_USER, policy, bias=BIAS)
        ok = after["served"].to_numpy()
        assert r.greedy_mean_ms[k - 1] == pytest.approx(
            np.average(after["anycast_ms"][ok], weights=w[ok]), rel=1e-11)


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 10_000), policy=st.sampled_from(["geographic", "network"]),
       access=st.sampled_from(["end-user", "datacenter"]),
       bias=st.lists(st.tuples(st.integers(0, 18), st.sampled_from(
           [-100.0, -40.0, -7.5, 3.0, 25.0, 100.0])), min_size=1, max_size=6,
           unique_by=lambda t: t[0]))
def test_the_biased_sieve_never_drops_a_move(catalog, seed, policy, access, bias):
    """Under any bias (bonuses that make the selection metric negative included), the moves
    are exactly the brute force's: every client against every candidate, the candidate's bare
    metric against the current PoP's biased one, ties nearer then the current PoP."""
    params = latency.params_with((), access)
    bias = tuple((f"P{i}", ms) for i, ms in bias)
    m = len(catalog.pop_ids)
    cla, clo = _points(300, seed)
    tab = _route(cla, clo, catalog.pop_lats, catalog.pop_lons, params, policy, bias=bias)
    cur = _current(tab, m, params, bias)
    clat, clon = _points(40, seed + 7)
    sites = siting.prepare_sites(clat, clon, *ORIGIN, params)
    terms = lat_core.locate(cla, clo, params)
    got = siting.moves(cla, clo, cur, sites, params, policy, terms=terms,
                       chunk_elements=300 * 7)
    ni = np.repeat(np.arange(300), 40)
    ci = np.tile(np.arange(40), 300)
    km = geodesic_km(cla[ni], clo[ni], clat[ci], clon[ci])
    pb = pol.pop_bias(bias, [f"P{i}" for i in range(m)], params)
    idx = np.array([int(p[1:]) for p in tab["pop_id"]])[ni]
    cur_km = cur.pop_km[ni]
    if policy == "network":
        inet = lat_core.internet_rtt_ms_km(km, lat_core.take_location(terms, ni),
                                           lat_core.take_location(sites.terms, ci), params)
        sel = cur.internet_ms[ni] + pb.leg_ms[idx]
        win = (inet < sel) | ((inet == sel) & (km < cur_km))
    else:
        sel = cur_km + pb.km[idx]
        win = (km < sel) | ((km == sel) & (km < cur_km))
    want = set(zip(ni[win].tolist(), ci[win].tolist()))
    assert set(zip(got.client.tolist(), got.candidate.tolist())) == want


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), policy=st.sampled_from(["geographic", "network"]),
       k=st.integers(1, 5))
def test_adding_a_site_never_worsens_the_biased_selection_metric(catalog, seed, policy, k):
    """What the biased routing minimises -- internet leg + bias ms (network), km + bias km
    (geographic) -- never grows for any client when a candidate is added."""
    cla, clo = _points(300, seed)
    m = len(catalog.pop_ids)
    tab = _route(cla, clo, catalog.pop_lats, catalog.pop_lons, END_USER, policy, bias=BIAS)
    cur = _current(tab, m, END_USER, BIAS)
    sites = siting.prepare_sites(*_points(k, seed + 1), *ORIGIN, END_USER)
    mv = siting.moves(cla, clo, cur, sites, END_USER, policy)
    for c in range(k):
        after = siting.apply_moves(cur, mv, c)
        if policy == "network":
            assert (after.select_ms() <= cur.select_ms()).all()
        else:
            assert (after.select_km() <= cur.select_km()).all()
