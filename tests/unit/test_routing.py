"""Routing: nearest *healthy* PoP with ranked alternatives; all down is "no route"."""

from __future__ import annotations

import numpy as np
import pytest
from geopy.distance import geodesic as geopy_geodesic
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.domain.routing import NO_ROUTE, Assignment, assign

PARIS = (48.86, 2.35)
TOKYO = (35.68, 139.69)
SAO_PAULO = (-23.55, -46.63)


def _brute(clients, pop_lats, pop_lons, down):
    """Healthy PoP indices by geopy distance, and those distances (km)."""
    out = []
    for lat, lon in clients:
        d = [(geopy_geodesic((lat, lon), (a, b)).km, i)
             for i, (a, b) in enumerate(zip(pop_lats, pop_lons)) if not down[i]]
        out.append(sorted(d))
    return out


def test_nearest_healthy_and_runner_up(catalog):
    lats, lons = zip(PARIS, TOKYO, SAO_PAULO)
    a = assign(lats, lons, catalog.pop_lats, catalog.pop_lons)
    ids = np.array(catalog.pop_ids)
    assert ids[a.pop].tolist() == ["CDG", "NRT", "GRU"]
    assert ids[a.runner_up].tolist()[0] in {"LHR", "FRA"}
    assert a.routed.all()
    assert (a.pop_km < a.runner_up_km).all()
    assert a.pop_km[0] == pytest.approx(geopy_geodesic(PARIS, (48.85341, 2.3488)).km, abs=1e-3)


def test_down_pop_is_skipped_and_the_next_healthy_one_ranked(catalog):
    down = catalog.pop_mask(["CDG", "LHR"])
    a = assign([PARIS[0]], [PARIS[1]], catalog.pop_lats, catalog.pop_lons, down=down,
               alternatives=3)
    ids = np.array(catalog.pop_ids)
    ranked = ids[a.ranked[0]].tolist()
    assert "CDG" not in ranked and "LHR" not in ranked
    assert ranked[0] == "FRA"
    brute = _brute([PARIS], catalog.pop_lats, catalog.pop_lons, down)[0]
    assert a.ranked[0].tolist() == [i for _, i in brute[:3]]
    np.testing.assert_allclose(a.ranked_km[0], [d for d, _ in brute[:3]], atol=1e-3)


def test_all_down_is_no_route_not_an_exception(catalog):
    down = np.ones(len(catalog.pop_ids), dtype=bool)
    a = assign([PARIS[0], TOKYO[0]], [PARIS[1], TOKYO[1]], catalog.pop_lats, catalog.pop_lons,
               down=down)
    assert (a.ranked == NO_ROUTE).all()
    assert np.isnan(a.ranked_km).all()
    assert not a.routed.any()
    assert (a.pop == NO_ROUTE).all() and (a.runner_up == NO_ROUTE).all()


def test_more_alternatives_than_healthy_pops_are_padded(catalog):
    down = ~catalog.pop_mask(["SYD", "SIN"])  # only two healthy
    a = assign([TOKYO[0]], [TOKYO[1]], catalog.pop_lats, catalog.pop_lons, down=down,
               alternatives=5)
    ids = np.array(catalog.pop_ids)
    assert a.ranked.shape == (1, 5)
    assert ids[a.ranked[0, :2]].tolist() == ["SIN", "SYD"]
    assert (a.ranked[0, 2:] == NO_ROUTE).all() and np.isnan(a.ranked_km[0, 2:]).all()


def test_single_alternative_has_no_runner_up(catalog):
    a = assign([PARIS[0]], [PARIS[1]], catalog.pop_lats, catalog.pop_lons, alternatives=1)
    assert a.ranked.shape == (1, 1)
    assert a.runner_up.tolist() == [NO_ROUTE] and np.isnan(a.runner_up_km).all()


def test_no_clients(catalog):
    a = assign([], [], catalog.pop_lats, catalog.pop_lons, alternatives=2)
    assert a.ranked.shape == (0, 2) and a.pop.shape == (0,) and a.routed.shape == (0,)


@pytest.mark.parametrize("kwargs, message", [
    (dict(down=[True, False]), "down mask has shape (2,), expected (19,)"),
    (dict(alternatives=0), "alternatives must be >= 1, got 0"),
    (dict(client_lats=[95.0]), "client 0: latitude 95.0"),
])
def test_bad_input_is_a_clear_value_error(catalog, kwargs, message):
    args = dict(client_lats=[0.0], client_lons=[0.0], pop_lats=catalog.pop_lats,
                pop_lons=catalog.pop_lons)
    args.update(kwargs)
    with pytest.raises(ValueError) as err:
        assign(**args)
    assert message in str(err.value)


def test_assignment_is_immutable(catalog):
    a = assign([0.0], [0.0], catalog.pop_lats, catalog.pop_lons)
    assert isinstance(a, Assignment)
    with pytest.raises(AttributeError):
        a.ranked = None  # type: ignore[misc]


@given(st.lists(st.tuples(st.floats(-90, 90), st.floats(-180, 180)), min_size=1, max_size=8),
       st.lists(st.booleans(), min_size=19, max_size=19), st.integers(1, 4))
@settings(max_examples=40, deadline=None)
def test_matches_geopy_for_any_down_set(catalog, clients, down, alternatives):
    down = np.array(down)
    lats = [c[0] for c in clients]
    lons = [c[1] for c in clients]
    a = assign(lats, lons, catalog.pop_lats, catalog.pop_lons, down=down,
               alternatives=alternatives)
    brute = _brute(clients, catalog.pop_lats, catalog.pop_lons, down)
    for row, ranked, km in zip(brute, a.ranked, a.ranked_km):
        want = [d for d, _ in row[:alternatives]]
        got = [i for i in ranked if i != NO_ROUTE]
        assert len(got) == len(want)
        assert not down[got].any()
        by_index = {j: d for d, j in row}
        got_true = [by_index[i] for i in got]
        np.testing.assert_allclose(got_true, want, atol=1e-3)  # same choice, ties within 1 m
        np.testing.assert_allclose(km[:len(got)], got_true, atol=1e-3)
