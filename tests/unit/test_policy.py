"""Routing policies (issue 14): the network policy picks the healthy PoP with the lowest modelled
internet leg, the geographic one is unchanged, and the flags name where they disagree."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard import latency
from dashboard.domain import paths, policy, whatif
from dashboard.domain.routing import assign

PARAMS = latency.default_params()
JOHANNESBURG, NAIROBI = (-26.2041, 28.0473), (-1.2864, 36.8172)


def _table(catalog, lats, lons, pol, down=None):
    return paths.client_paths(lats, lons, catalog.pop_ids, catalog.pop_lats, catalog.pop_lons,
                              50.11, 8.68, down=down, params=PARAMS, policy=pol)


def _all_internet(catalog, lat, lon):
    # PARAMS (the shipped, data-centre parameters) are what the tables here are built with
    return latency.internet_rtt_ms(lat, lon, catalog.pop_lats, catalog.pop_lons, PARAMS,
                                   access=None)


def test_check_policy_names_the_choices():
    assert policy.check_policy(" Network ") == "network"
    with pytest.raises(ValueError, match="geographic or network"):
        policy.check_policy("bgp")
    with pytest.raises(ValueError):
        policy.check_policy(None)


def test_network_policy_picks_the_lowest_internet_leg(catalog):
    lats, lons = np.array([JOHANNESBURG[0], NAIROBI[0]]), np.array([JOHANNESBURG[1], NAIROBI[1]])
    geo = _table(catalog, lats, lons, "geographic")
    net = _table(catalog, lats, lons, "network")
    assert geo["pop_id"].tolist() == ["BOM", "BOM"]            # the nearest, as documented
    for i in range(2):
        rtt = _all_internet(catalog, lats[i], lons[i])
        best = catalog.pop_ids[int(np.argmin(rtt))]
        assert net["pop_id"][i] == best == geo["network_pop_id"][i]
        assert net["internet_ms"][i] == pytest.approx(rtt.min(), abs=1e-6)
        assert best in ("LHR", "FRA", "CDG", "AMS", "MAD")       # Europe
    # the geographic table flags both (> 30 ms shorter internet leg elsewhere), network none
    assert geo["bgp_flag"].tolist() == [True, True]
    assert (geo["bgp_gap_ms"] > policy.FLAG_GAP_MS).all()
    np.testing.assert_allclose(geo["bgp_gap_ms"], geo["internet_ms"] - net["internet_ms"])
    assert not net["bgp_flag"].any() and (net["bgp_gap_ms"] == 0).all()


def test_network_runner_up_and_down_pops(catalog):
    lats, lons = np.array([JOHANNESBURG[0]]), np.array([JOHANNESBURG[1]])
    first = _table(catalog, lats, lons, "network")["pop_id"][0]
    down = catalog.pop_mask([first])
    t = _table(catalog, lats, lons, "network", down=down)
    rtt = np.where(down, np.inf, _all_internet(catalog, *JOHANNESBURG))
    order = np.argsort(rtt)
    assert t["pop_id"][0] == catalog.pop_ids[order[0]] != first
    assert t["runner_up_id"][0] == catalog.pop_ids[order[1]]
    everything = _table(catalog, lats, lons, "network", down=np.ones(len(down), bool))
    assert not everything["routed"][0] and everything["network_pop_id"][0] == ""


def test_geographic_policy_keeps_the_nearest(catalog):
    rng = np.random.default_rng(3)
    lats, lons = np.degrees(np.arcsin(rng.uniform(-1, 1, 200))), rng.uniform(-180, 180, 200)
    t = _table(catalog, lats, lons, "geographic")
    a = assign(lats, lons, catalog.pop_lats, catalog.pop_lons)
    assert t["pop_id"].tolist() == [catalog.pop_ids[i] for i in a.pop]
    assert t["pop_km"].tolist() == a.pop_km.tolist()            # bit-identical


@settings(max_examples=30, deadline=None)
@given(lat=st.floats(-85, 85), lon=st.floats(-180, 180),
       down=st.sets(st.integers(0, 18), max_size=17))
def test_network_choice_is_never_slower_on_the_internet_leg(catalog, lat, lon, down):
    mask = np.zeros(len(catalog.pop_ids), bool)
    mask[list(down)] = True
    geo = _table(catalog, [lat], [lon], "geographic", down=mask)
    net = _table(catalog, [lat], [lon], "network", down=mask)
    assert net["internet_ms"][0] <= geo["internet_ms"][0] + 1e-9
    assert geo["bgp_gap_ms"][0] >= -1e-9
    assert geo["bgp_flag"][0] == (geo["bgp_gap_ms"][0] > policy.FLAG_GAP_MS)


def test_cached_what_if_path_matches_under_both_policies(catalog):
    rng = np.random.default_rng(11)
    lats, lons = np.degrees(np.arcsin(rng.uniform(-1, 1, 500))), rng.uniform(-180, 180, 500)
    rc = whatif.rank_clients(lats, lons, catalog.pop_lats, catalog.pop_lons, PARAMS)
    for pol in policy.POLICIES:
        for down in (None, catalog.pop_mask(["LHR", "BOM"])):
            want = _table(catalog, lats, lons, pol, down=down)
            got = whatif.paths_for(rc, catalog.pop_ids, 50.11, 8.68, down=down, params=PARAMS,
                                   policy=pol)
            assert got["pop_id"].tolist() == want["pop_id"].tolist()
            assert got["network_pop_id"].tolist() == want["network_pop_id"].tolist()
            assert got["bgp_flag"].tolist() == want["bgp_flag"].tolist()
            np.testing.assert_allclose(got["anycast_ms"], want["anycast_ms"], atol=1e-6)


def test_rank_pops_orders_by_the_policy(catalog):
    r = paths.rank_pops(*JOHANNESBURG, catalog.pop_ids, catalog.pop_lats, catalog.pop_lons,
                        50.11, 8.68, params=PARAMS, policy="network")
    assert r["internet_ms"].is_monotonic_increasing
    g = paths.rank_pops(*JOHANNESBURG, catalog.pop_ids, catalog.pop_lats, catalog.pop_lons,
                        50.11, 8.68, params=PARAMS)
    assert g["distance_km"].is_monotonic_increasing and g["pop_id"][0] == "BOM"


def test_network_catchments_and_capacity_ranking(catalog):
    from dashboard.domain import capacity
    lats, lons, pop = capacity.catchment_grid(10, catalog.pop_lats, catalog.pop_lons,
                                              policy="network", params=PARAMS)
    geo = capacity.catchment_grid(10, catalog.pop_lats, catalog.pop_lons)[2]
    assert len(pop) == len(geo) and (pop != geo).any()
    with pytest.raises(ValueError):
        capacity.catchment_grid(10, catalog.pop_lats, catalog.pop_lons, policy="network")
