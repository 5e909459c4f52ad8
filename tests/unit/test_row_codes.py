"""Route tables' integer PoP/origin codes (``paths.row_codes``, issue 16): the views that use
them (failover transition, PoPs in use, the map's path and clients layers) give exactly what
they give from the id columns, and a table whose columns were sliced or replaced has none."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.domain import endpoints as ep
from dashboard.domain.failover import animation_plan, transition
from dashboard.domain import paths
from dashboard.domain.paths import client_paths, row_codes
from dashboard.figures import map as map_figures
from dashboard.latency import default_params
from dashboard.services.map import summary_numbers

RNG = np.random.default_rng(16)
N = 1_500  # compact (>= 1,000) path layers
LATS = np.degrees(np.arcsin(RNG.uniform(-1, 1, N)))
LONS = RNG.uniform(-180, 180, N)


def _table(catalog, down, mapped, default_down, normal_down):
    regions = list(catalog.origin_ids)
    default = "eu-central-1"
    normal = next(r for r in regions if r != default)
    endpoints = ep.Endpoints.single(default)
    if mapped:
        endpoints = ep.Endpoints(
            (ep.Endpoint(default), ep.Endpoint(normal, ep.NORMAL, tuple(mapped))),
            frozenset(([default] if default_down else []) + ([normal] if normal_down else [])))
    idx = ep.pop_origins(endpoints, catalog.pop_ids, catalog.origin_ids)
    olat = np.where(idx >= 0, catalog.origins["lat"].to_numpy()[np.maximum(idx, 0)], np.nan)
    olon = np.where(idx >= 0, catalog.origins["lon"].to_numpy()[np.maximum(idx, 0)], np.nan)
    oids = [catalog.origin_ids[i] if i >= 0 else "" for i in idx]
    return client_paths(LATS, LONS, catalog.pop_ids, catalog.pop_lats, catalog.pop_lons, olat,
                        olon, down=catalog.pop_mask(list(down)), pop_origin_ids=oids,
                        params=default_params())


def _without_codes(routes: pd.DataFrame) -> pd.DataFrame:
    out = routes.copy(deep=False)
    out["pop_id"] = out["pop_id"].to_numpy(object).copy()
    out["origin_id"] = out["origin_id"].to_numpy(object).copy()
    assert row_codes(out) is None
    return out


def test_codes_are_the_columns_and_only_for_whole_unchanged_columns(catalog):
    routes = _table(catalog, ["FRA"], (), False, False)
    codes = row_codes(routes)
    assert codes is not None
    assert (codes.pop_ids[codes.pop] == routes["pop_id"].to_numpy(object)).all()
    assert (codes.origin_ids[codes.origin] == routes["origin_id"].to_numpy(object)).all()
    assert len(set(codes.origin_ids.tolist())) == len(codes.origin_ids)
    assert row_codes(routes.copy(deep=False)) is codes
    assert row_codes(routes.reset_index(drop=True)) is codes
    assert row_codes(routes.iloc[:300]) is None
    assert row_codes(pd.concat([routes, routes], ignore_index=True)) is None
    replaced = routes.copy(deep=False)
    replaced["origin_id"] = replaced["origin_id"].to_numpy(object).copy()
    assert row_codes(replaced) is None
    assert not codes.pop.flags.writeable


def test_runner_up_and_network_ids_as_codes_only_for_the_columns_built(catalog):
    """paths.id_column_codes: the runner-up and network-best PoP id columns as codes into the
    PoP ids, for a table (or shallow copy) holding the columns table_from_ranking built; None
    for a slice, a replaced column or a table without codes."""
    routes = _table(catalog, ["FRA", "CDG"], (), False, False)
    for name in ("runner_up_id", "network_pop_id"):
        got = paths.id_column_codes(routes, name)
        assert got is not None
        codes, ids = got
        assert (ids[codes] == routes[name].to_numpy(object)).all()
        assert not codes.flags.writeable
        assert paths.id_column_codes(routes.copy(deep=False), name) is not None
        assert paths.id_column_codes(routes.iloc[:300], name) is None
        replaced = routes.copy(deep=False)
        replaced[name] = replaced[name].to_numpy(object).copy()
        assert paths.id_column_codes(replaced, name) is None
        assert paths.id_column_codes(_without_codes(routes), name) is None
    assert (routes["runner_up_id"] == "").sum() < len(routes)  # real runner-ups were coded
    assert paths.id_column_codes(routes, "name") is None


def test_codes_of_tables_that_are_gone_are_dropped(catalog):
    """A table per chunk (the batch workers) leaves no dead entries behind."""
    for _ in range(5):
        _table(catalog, [], (), False, False)
    alive = _table(catalog, [], (), False, False)
    with paths._codes_lock:
        assert sum(hit[0]() is None for hit in paths._codes.values()) <= 1
    assert row_codes(alive) is not None


pop_sets = st.lists(st.sampled_from(["FRA", "CDG", "LHR", "IAD", "SIN", "NRT", "GRU", "SYD",
                                     "BOM", "HKG"]), max_size=4)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(down_a=pop_sets, down_b=pop_sets, mapped_a=pop_sets, mapped_b=pop_sets,
       flags=st.tuples(st.booleans(), st.booleans(), st.booleans(), st.booleans()),
       all_down=st.booleans())
def test_views_from_codes_equal_views_from_ids(catalog, down_a, down_b, mapped_a, mapped_b,
                                               flags, all_down):
    a = _table(catalog, down_a, tuple(sorted(set(mapped_a))), flags[0], flags[1])
    b = _table(catalog, list(catalog.pop_ids) if all_down else down_b,
               tuple(sorted(set(mapped_b))), flags[2], flags[3])
    pa, pb = _without_codes(a), _without_codes(b)
    for x, y in ((a, b), (b, a)):
        moved = transition(x, y).moved
        np.testing.assert_array_equal(moved, transition(_without_codes(x), _without_codes(y)).moved)
        np.testing.assert_array_equal(moved, transition(x, _without_codes(y)).moved)
        assert (transition(x, y).summary()
                == transition(_without_codes(x), _without_codes(y)).summary())
        pops = dict(zip(catalog.pops["id"], zip(catalog.pops["lat"], catalog.pops["lon"])))
        origins = dict(zip(catalog.origins["id"], zip(catalog.origins["lat"],
                                                      catalog.origins["lon"])))
        assert (animation_plan(transition(x, y), pops, origins, packed=True)
                == animation_plan(transition(_without_codes(x), _without_codes(y)), pops,
                                  origins, packed=True))
    w = RNG.uniform(0.5, 2, N)
    assert summary_numbers(b, w, 19) == summary_numbers(pb, w, 19)
    names = [f"client {i}" for i in range(N)]
    for routes, plain in ((a, pa), (b, pb)):
        for exclude in ((), range(0, N, 7)):
            got = map_figures.leg_arrays(routes, catalog.pops, catalog.origins, "eu-central-1",
                                         exclude, True, map_figures.route_codes(routes,
                                                                                "eu-central-1"))
            want = map_figures.leg_arrays(plain, catalog.pops, catalog.origins, "eu-central-1",
                                          exclude, True)
            for g, v in zip(got, want):
                np.testing.assert_array_equal(g, v)
        for patch in (True, False):
            got = map_figures._binned_clients(routes, catalog.pops, "eu-central-1", names,
                                              patch)
            want = map_figures._binned_clients(plain, catalog.pops, "eu-central-1", names,
                                               patch)
            assert repr(got) == repr(want)
