"""The cached-ranking what-if path gives exactly the client_paths table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard import latency
from dashboard.domain import paths, whatif

PARAMS = latency.default_params()


def _clients(n, seed):
    rng = np.random.default_rng(seed)
    return np.degrees(np.arcsin(rng.uniform(-1, 1, n))), rng.uniform(-180, 180, n)


@pytest.fixture(scope="module")
def ranked(catalog):
    lats, lons = _clients(3000, 7)
    return whatif.rank_clients(lats, lons, catalog.pop_lats, catalog.pop_lons, PARAMS)


def _compare(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(got.columns) == list(want.columns) == list(paths.PATH_COLUMNS)
    for col in want.columns:
        if want[col].dtype.kind == "f":
            np.testing.assert_allclose(got[col].to_numpy(float), want[col].to_numpy(float),
                                       rtol=1e-12, atol=1e-6, err_msg=col)  # 1 mm; 1 us
        else:
            assert got[col].tolist() == want[col].tolist(), col


@pytest.mark.slow
@settings(max_examples=12, deadline=None)
@given(down=st.sets(st.integers(0, 18), max_size=19), origin=st.integers(0, 4))
def test_paths_for_equals_client_paths(catalog, ranked, down, origin):
    mask = np.zeros(len(catalog.pop_ids), dtype=bool)
    mask[list(down)] = True
    o = catalog.origins.iloc[origin]
    got = whatif.paths_for(ranked, catalog.pop_ids, o["lat"], o["lon"], down=mask,
                           pop_origin_ids=o["id"], params=PARAMS)
    want = paths.client_paths(ranked.lats, ranked.lons, catalog.pop_ids, catalog.pop_lats,
                              catalog.pop_lons, o["lat"], o["lon"], down=mask,
                              pop_origin_ids=o["id"], params=PARAMS)
    _compare(got, want)


def test_per_pop_origins_with_a_down_endpoint(catalog, ranked):
    m = len(catalog.pop_ids)
    olat = np.full(m, 50.1155)
    olon = np.full(m, 8.6842)
    olat[:5], olon[:5] = np.nan, np.nan            # these PoPs' endpoint is down
    oids = ["eu-central-1"] * m
    mask = np.zeros(m, dtype=bool)
    mask[[6, 14]] = True
    got = whatif.paths_for(ranked, catalog.pop_ids, olat, olon, down=mask, pop_origin_ids=oids,
                           params=PARAMS)
    want = paths.client_paths(ranked.lats, ranked.lons, catalog.pop_ids, catalog.pop_lats,
                              catalog.pop_lons, olat, olon, down=mask, pop_origin_ids=oids,
                              params=PARAMS)
    _compare(got, want)
    assert (~got["served"]).any() and got["routed"].all()


def test_first_healthy_handles_all_down_and_one_up(catalog, ranked):
    m = len(catalog.pop_ids)
    pop, km, runner, rkm = whatif.first_healthy(ranked, np.ones(m, dtype=bool))
    assert (pop == -1).all() and np.isnan(km).all() and (runner == -1).all()
    only = np.ones(m, dtype=bool)
    only[3] = False
    pop, km, runner, rkm = whatif.first_healthy(ranked, only)
    assert (pop == 3).all() and (runner == -1).all() and np.isnan(rkm).all()
    with pytest.raises(ValueError, match="down mask"):
        whatif.first_healthy(ranked, np.zeros(3, dtype=bool))


def test_empty_client_set(catalog):
    rc = whatif.rank_clients([], [], catalog.pop_lats, catalog.pop_lons, PARAMS)
    df = whatif.paths_for(rc, catalog.pop_ids, 50.0, 8.0, params=PARAMS)
    assert len(df) == 0 and list(df.columns) == list(paths.PATH_COLUMNS)
