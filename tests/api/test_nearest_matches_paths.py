"""The API's one-point answer (numpy-only hot path) must equal the domain's ``paths.rank_pops``
and ``paths.client_paths`` -- the functions behind the dashboard's table and explain panel."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.services import routing
from dashboard.catalog import default_catalog
from dashboard.domain import paths
from dashboard.latency import params_with

CATALOG = default_catalog()
ORIGINS = CATALOG.origin_ids


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(lat=st.floats(-90, 90), lon=st.floats(-180, 180),
       origin=st.sampled_from(ORIGINS),
       down=st.frozensets(st.sampled_from(CATALOG.pop_ids), max_size=19),
       access=st.sampled_from(["end-user", "datacenter"]))
def test_nearest_answer_equals_rank_pops_and_client_paths(lat, lon, origin, down, access):
    # both client types (issue 19): the answer and the tables use the same access term
    answer = routing.nearest_answer(CATALOG, lat, lon, origin, down, access=access)
    assert answer["access"] == access
    o = CATALOG.origin(origin)
    mask = CATALOG.pop_mask(sorted(down))
    ranked = paths.rank_pops(lat, lon, CATALOG.pop_ids, CATALOG.pop_lats, CATALOG.pop_lons,
                             float(o["lat"]), float(o["lon"]), down=mask,
                             params=params_with((), access))
    assert [r["id"] for r in answer["ranked"]] == ranked["pop_id"].tolist()
    assert [r["rank"] for r in answer["ranked"]] == ranked["rank"].tolist()
    assert [r["up"] for r in answer["ranked"]] == ranked["up"].tolist()
    for col in ("distance_km", "internet_ms", "backbone_ms", "anycast_ms"):
        np.testing.assert_allclose([r[col] for r in answer["ranked"]], ranked[col], atol=0.051)
    table = paths.client_paths([lat], [lon], CATALOG.pop_ids, CATALOG.pop_lats, CATALOG.pop_lons,
                               float(o["lat"]), float(o["lon"]), down=mask,
                               params=params_with((), access))
    row = table.iloc[0]
    assert answer["routed"] == bool(row["routed"])
    assert (answer["pop"] or {}).get("id", "") == row["pop_id"]
    assert (answer["runner_up"] or {}).get("id", "") == row["runner_up_id"]
    np.testing.assert_allclose(answer["direct"]["distance_km"], row["direct_km"], atol=0.051)
    np.testing.assert_allclose(answer["direct"]["rtt_ms"], row["direct_ms"], atol=0.051)
    if answer["routed"]:
        np.testing.assert_allclose(answer["pop"]["anycast_ms"], row["anycast_ms"], atol=0.051)
        np.testing.assert_allclose(answer["saving_ms"], row["saving_ms"], atol=0.051)
    else:
        assert answer["saving_ms"] is None


@pytest.mark.parametrize("internet", [
    [30.0, 20.0, 25.0, 40.0],             # one lowest leg
    [30.0, 20.0, 20.0, 40.0],             # a tie: the nearer of the two (by km)
    [20.0, 30.0, 20.0, 40.0],
    [float("nan"), 20.0, 25.0, 40.0],     # NaN first
    [30.0, float("nan"), 25.0, 40.0],     # NaN later
    [float("nan")] * 4,
])
def test_network_pop_is_rank_orders_first(internet):
    """routing._network_pop's shortcut (the unique lowest internet leg) gives what
    paths.rank_order gives, ties and NaN included."""
    km = np.array([500.0, 900.0, 100.0, 50.0])
    up = np.ones(4, dtype=bool)
    legs = np.array(internet)
    assert routing._network_pop(km, up, legs, None, True) == int(
        paths.rank_order(km, up, legs, None)[0])
