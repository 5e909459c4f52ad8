"""Capacity planning core: conservation, the throttle rule (default) and the spill-over
what-if, catchments and N-1."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from dashboard.domain.capacity import (
    catchment_grid,
    first_healthy,
    load_per_pop,
    n_minus_one,
    spill_over,
    throttle,
)
from dashboard.domain.stats import weighted_quantile
from dashboard.domain.geodesy import geodesic_km
from dashboard.domain.routing import NO_ROUTE, assign

# Three PoPs on the equator at 0, 10 and 20 degrees east; clients ranked by hand.
RANKED = np.array([[0, 1, 2], [0, 1, 2], [1, 0, 2], [2, 1, 0]])
W = np.array([6.0, 4.0, 3.0, 1.0])


def test_first_healthy_and_load():
    down = np.array([True, False, False])
    np.testing.assert_array_equal(first_healthy(RANKED, down), [1, 1, 1, 2])
    np.testing.assert_array_equal(first_healthy(RANKED, np.ones(3, bool)), [NO_ROUTE] * 4)
    np.testing.assert_allclose(load_per_pop(first_healthy(RANKED, np.zeros(3, bool)), W, 3),
                               [10, 3, 1])
    np.testing.assert_allclose(load_per_pop(np.array([NO_ROUTE, 1]), np.array([5.0, 2.0]), 3),
                               [0, 2, 0])


def test_spill_over_by_hand():
    # PoP 0 (capacity 5) gets 10: accepts half of each client's demand; the other half goes to
    # PoP 1 (capacity 6, already 3 from client 2): 3 of the 5 fit, the last 2 go on to PoP 2.
    r = spill_over(RANKED, W, np.array([5.0, 6.0, 100.0]))
    np.testing.assert_allclose(r.nominal, [10, 3, 1])
    np.testing.assert_allclose(r.load, [5, 6, 3])
    assert r.total_unserved == pytest.approx(0)
    np.testing.assert_allclose(r.spilled, [3, 2, 0, 0])


def test_spill_over_unlimited_equals_nearest_and_unserved_when_full():
    r = spill_over(RANKED, W, np.full(3, np.inf))
    np.testing.assert_allclose(r.load, r.nominal)
    assert r.spilled.sum() == 0
    full = spill_over(RANKED, W, np.array([1.0, 1.0, 1.0]))
    np.testing.assert_allclose(full.load, [1, 1, 1])
    assert full.total_unserved == pytest.approx(W.sum() - 3)


def test_spill_over_respects_down_pops():
    r = spill_over(RANKED, W, np.full(3, np.inf), down=np.array([False, True, False]))
    np.testing.assert_allclose(r.load, [13, 0, 1])  # client 2 falls back to PoP 0
    none = spill_over(RANKED, W, np.full(3, np.inf), down=np.ones(3, bool))
    assert none.total_unserved == pytest.approx(W.sum()) and none.load.sum() == 0


def test_spill_over_rejects_bad_numbers():
    with pytest.raises(ValueError, match="weights"):
        spill_over(RANKED, -W, np.ones(3))
    with pytest.raises(ValueError, match="capacities"):
        spill_over(RANKED, W, np.array([1.0, np.nan, 1.0]))


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(st.integers(1, 40), st.integers(1, 6), st.data())
def test_conservation_demand_in_equals_served_plus_unserved(n, m, data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    ranked = np.array([rng.permutation(m) for _ in range(n)])
    w = data.draw(arrays(float, n, elements=st.floats(0, 1e6)))
    cap = data.draw(arrays(float, m, elements=st.one_of(st.floats(0, 1e6), st.just(np.inf))))
    down = data.draw(arrays(bool, m))
    r = spill_over(ranked, w, cap, down)
    total = w.sum()
    assert r.load.sum() + r.unserved.sum() == pytest.approx(total, rel=1e-9, abs=1e-6)
    assert np.all(r.load <= cap * (1 + 1e-12) + 1e-9)
    assert np.all(r.load[down] == 0)
    assert np.all(r.unserved >= -1e-9) and np.all(r.spilled >= -1e-9)
    assert np.all(r.spilled <= w * (1 + 1e-12) + 1e-9)


def test_weighted_quantile():
    assert weighted_quantile(np.array([1.0, 2.0, 3.0]), np.ones(3), 0.5) == 2.0
    assert weighted_quantile(np.array([1.0, 2.0, 3.0]), np.array([1.0, 1.0, 10.0]), 0.5) == 3.0
    assert weighted_quantile(np.array([np.nan, 5.0]), np.ones(2), 0.95) == 5.0
    assert np.isnan(weighted_quantile(np.array([np.nan]), np.ones(1), 0.5))


def test_catchment_grid_matches_nearest(catalog):
    lats, lons, pop = catchment_grid(10.0, catalog.pop_lats, catalog.pop_lons)
    assert len(lats) == 18 * 36 and set(pop) <= set(range(19))
    i = int(np.argmin(np.abs(lats - 45) + np.abs(lons - 5)))
    km = geodesic_km(lats[i], lons[i], catalog.pop_lats, catalog.pop_lons)
    assert pop[i] == int(np.argmin(km))
    down = catalog.pop_mask(["SYD"])
    _, _, pop2 = catchment_grid(10.0, catalog.pop_lats, catalog.pop_lons, down)
    syd = catalog.pop_index("SYD")
    assert (pop == syd).any() and not (pop2 == syd).any()
    assert np.array_equal(pop2[pop != syd], pop[pop != syd])
    with pytest.raises(ValueError, match="grid step"):
        catchment_grid(0.01, catalog.pop_lats, catalog.pop_lons)


def _scenario(catalog, n=300, seed=3):
    rng = np.random.default_rng(seed)
    lats = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    lons = rng.uniform(-180, 180, n)
    a = assign(lats, lons, catalog.pop_lats, catalog.pop_lons, alternatives=19)
    w = rng.uniform(0.5, 2.0, n)
    rtt = geodesic_km(lats[:, None], lons[:, None], catalog.pop_lats[None, :],
                      catalog.pop_lons[None, :]) / 100.0  # 1 ms per 100 km: monotone in distance
    return a.ranked, w, rtt


def test_n_minus_one(catalog):
    ranked, w, rtt = _scenario(catalog)
    cap = np.full(19, np.inf)
    table = n_minus_one(ranked, w, rtt, cap, catalog.pop_ids)
    assert list(table["pop_id"]) == list(catalog.pop_ids)
    base = first_healthy(ranked, np.zeros(19, bool))
    for row in table.itertuples():
        i = catalog.pop_index(row.pop_id)
        assert row.clients_moved == (base == i).sum()
        assert row.demand_moved == pytest.approx(w[base == i].sum())
        if row.clients_moved == 0:
            # losing a PoP with no clients changes nothing
            assert row.p50_change_ms == 0 and row.p95_change_ms == 0 and row.moved_to == ""
        else:
            assert row.p95_change_ms >= 0  # losing the nearest can only make paths longer
            assert row.moved_to
        assert row.unserved == 0  # unlimited capacity
        if row.clients_moved:
            assert row.worst_utilisation == 0 and row.worst_pop not in ("", row.pop_id)
        else:
            assert row.worst_pop == "" and np.isnan(row.worst_utilisation)
    # with a PoP already down it is left out, and the rest still sums up
    t2 = n_minus_one(ranked, w, rtt, cap, catalog.pop_ids, down=catalog.pop_mask(["CDG"]))
    assert "CDG" not in set(t2["pop_id"]) and len(t2) == 18


def test_n_minus_one_reports_the_worst_overload(catalog):
    # Paris and Lyon land on CDG; without it Paris goes to London (344 km) and Lyon to Frankfurt.
    lats, lons = np.array([48.86, 45.76, 51.5]), np.array([2.35, 4.84, -0.12])
    ranked = assign(lats, lons, catalog.pop_lats, catalog.pop_lons, alternatives=19).ranked
    w = np.array([10.0, 5.0, 1.0])
    rtt = geodesic_km(lats[:, None], lons[:, None], catalog.pop_lats[None, :],
                      catalog.pop_lons[None, :]) / 100.0
    cap = np.full(19, 100.0)
    cap[catalog.pop_index("LHR")] = 4.0
    table = n_minus_one(ranked, w, rtt, cap, catalog.pop_ids).set_index("pop_id")
    row = table.loc["CDG"]
    assert row["clients_moved"] == 2 and row["demand_moved"] == 15
    assert row["moved_to"] == "LHR (10), FRA (5)"
    assert row["worst_pop"] == "LHR" and row["worst_utilisation"] == pytest.approx(11 / 4)
    # Default rule (issue 15): BGP does not move LHR's excess (11 Gbps for 4), it is throttled.
    assert row["unserved"] == pytest.approx(7.0)
    spilled = n_minus_one(ranked, w, rtt, cap, catalog.pop_ids, spill=True)
    # The what-if: LHR's excess spills on to the next PoPs with headroom.
    assert spilled.set_index("pop_id").loc["CDG", "unserved"] == 0
    assert row["p50_after_ms"] > row["p50_before_ms"]


def test_spill_flows_account_for_every_unit_served():
    r = spill_over(RANKED, W, np.array([5.0, 6.0, 100.0]))
    np.testing.assert_allclose(r.flows.sum(axis=0), r.load)  # served where it ended up
    np.testing.assert_allclose(r.flows.sum(axis=1) + np.bincount(
        RANKED[:, 0], weights=r.unserved, minlength=3), r.nominal)  # left from where it arrived
    # by hand: PoP 0's excess 5 -> PoP 1 takes 3, PoP 2 the last 2; client 2 stays on PoP 1
    np.testing.assert_allclose(r.flows, [[5, 3, 2], [0, 3, 0], [0, 0, 1]])
    np.testing.assert_array_equal(r.served_at, [0, 0, 1, 2])


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 30), st.integers(1, 6), st.data())
def test_flows_conserve_demand(n, m, data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    ranked = np.array([rng.permutation(m) for _ in range(n)])
    w = data.draw(arrays(float, n, elements=st.floats(0, 1e4)))
    cap = data.draw(arrays(float, m, elements=st.floats(0, 1e4)))
    down = data.draw(arrays(bool, m))
    r = spill_over(ranked, w, cap, down)
    assert r.flows.sum() + r.unserved.sum() == pytest.approx(w.sum(), rel=1e-9, abs=1e-6)
    np.testing.assert_allclose(r.flows.sum(axis=0), r.load, atol=1e-6)
    assert np.all(r.flows[:, down] == 0) and np.all(r.flows[down, :] == 0)


def test_losing_a_pop_with_no_clients_changes_nothing(catalog):
    # Clients only in Europe: losing SYD (no client) leaves every number as it was.
    lats, lons = np.array([48.86, 52.52, 40.42, 51.5]), np.array([2.35, 13.4, -3.7, -0.12])
    ranked = assign(lats, lons, catalog.pop_lats, catalog.pop_lons, alternatives=19).ranked
    w = np.array([3.0, 2.0, 1.0, 4.0])
    rtt = geodesic_km(lats[:, None], lons[:, None], catalog.pop_lats[None, :],
                      catalog.pop_lons[None, :]) / 100.0
    calls = []
    table = n_minus_one(ranked, w, rtt, np.full(19, 2.5), catalog.pop_ids,
                        progress=lambda done, total: calls.append((done, total)))
    row = table.set_index("pop_id").loc["SYD"]
    assert row["clients_moved"] == 0 and row["demand_moved"] == 0 and row["moved_to"] == ""
    assert row["p50_change_ms"] == 0 and row["p95_change_ms"] == 0
    assert row["worst_pop"] == "" and np.isnan(row["worst_utilisation"])
    base = throttle(ranked, w, np.full(19, 2.5))  # the default rule (issue 15)
    assert row["unserved"] == pytest.approx(base.total_unserved)
    assert calls == [(i, 19) for i in range(1, 20)]


def test_throttle_by_hand():
    """Issue 15: a full PoP throttles its excess (proportionally), nothing moves elsewhere."""
    r = throttle(RANKED, W, np.array([5.0, 6.0, 100.0]))
    assert r.nominal.tolist() == [10.0, 3.0, 1.0]
    assert r.load.tolist() == [5.0, 3.0, 1.0]
    assert r.throttled.tolist() == [5.0, 0.0, 0.0]
    assert r.unserved.tolist() == [3.0, 2.0, 0.0, 0.0]  # half of each PoP-0 client
    assert r.spilled.sum() == 0 and np.count_nonzero(r.flows - np.diag(np.diag(r.flows))) == 0
    assert r.load.sum() + r.total_unserved == pytest.approx(W.sum())


def test_throttle_no_route_is_unserved_but_not_throttled():
    r = throttle(RANKED, W, np.full(3, np.inf), down=np.ones(3, bool))
    assert r.total_unserved == W.sum() and r.total_throttled == 0
    assert (r.served_at == NO_ROUTE).all()


@settings(max_examples=60, deadline=None)
@given(arrays(float, 4, elements=st.floats(0, 50)), arrays(float, 3, elements=st.floats(0, 20)),
       arrays(bool, 3))
def test_throttle_conserves_demand(w, cap, down):
    r = throttle(RANKED, w, cap, down)
    assert r.load.sum() + r.total_unserved == pytest.approx(w.sum(), abs=1e-9)
    assert (r.load <= cap + 1e-9).all() and (r.throttled >= -1e-12).all()
