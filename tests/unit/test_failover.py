"""Failover transitions and endpoint semantics (issue 4), checked against the routing they plan."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.domain import endpoints as ep
from dashboard.domain.failover import (
    DEFAULT_FRAMES,
    PACK_GAP,
    PLAN_COORDS,
    _json_floats,
    animation_frames,
    animation_plan,
    ease_in_out,
    pack_coords,
    plan_frame,
    slerp,
    transition,
    unpack_coords,
)
from dashboard.domain.geodesy import geodesic_km
from dashboard.domain.paths import client_paths
from dashboard.latency import default_params

RNG = np.random.default_rng(7)
# Random points on the sphere plus a few cities, so that every PoP has clients (Paris, Lyon,
# Brussels and Nantes land on CDG; Sao Paulo area on GRU; New York on IAD).
CITIES = np.array([[48.86, 2.35], [45.76, 4.84], [50.85, 4.35], [47.22, -1.55], [-22.9, -43.2],
                   [40.71, -74.0], [-36.85, 174.76], [1.35, 103.82]])
N = 400
LATS = np.concatenate([CITIES[:, 0], np.degrees(np.arcsin(RNG.uniform(-1, 1, N - len(CITIES))))])
LONS = np.concatenate([CITIES[:, 1], RNG.uniform(-180, 180, N - len(CITIES))])


def paths(catalog, down=(), endpoints=None, lats=LATS, lons=LONS):
    endpoints = endpoints or ep.Endpoints.single("eu-central-1")
    idx = ep.pop_origins(endpoints, catalog.pop_ids, catalog.origin_ids)
    olat = np.where(idx >= 0, catalog.origins["lat"].to_numpy()[np.maximum(idx, 0)], np.nan)
    olon = np.where(idx >= 0, catalog.origins["lon"].to_numpy()[np.maximum(idx, 0)], np.nan)
    oids = [catalog.origin_ids[i] if i >= 0 else "" for i in idx]
    return client_paths(lats, lons, catalog.pop_ids, catalog.pop_lats, catalog.pop_lons,
                        olat, olon, down=catalog.pop_mask(list(down)), pop_origin_ids=oids,
                        params=default_params())


def positions(catalog):
    pops = {r.id: (r.lat, r.lon) for r in catalog.pops.itertuples()}
    origins = {r.id: (r.lat, r.lon) for r in catalog.origins.itertuples()}
    return pops, origins


def test_only_clients_of_the_downed_pop_move_to_their_next_nearest(catalog):
    before = paths(catalog)
    after = paths(catalog, down=["CDG"])
    tr = transition(before, after)
    was_cdg = before["pop_id"].to_numpy() == "CDG"
    assert was_cdg.any()
    np.testing.assert_array_equal(tr.moved, was_cdg)
    # each moves to what was its runner-up (the next-nearest healthy PoP)
    np.testing.assert_array_equal(after["pop_id"].to_numpy()[was_cdg],
                                  before["runner_up_id"].to_numpy()[was_cdg])
    # and that is truly the nearest of the remaining PoPs, by brute force
    healthy = [i for i, p in enumerate(catalog.pop_ids) if p != "CDG"]
    for i in np.flatnonzero(was_cdg):
        km = geodesic_km(LATS[i], LONS[i], catalog.pop_lats[healthy], catalog.pop_lons[healthy])
        assert catalog.pop_ids[healthy[int(np.argmin(km))]] == after["pop_id"][i]
    s = tr.summary()
    assert s["moved"] == was_cdg.sum() and s["lost_route"] == 0
    assert sum(f["clients"] for f in s["flows"]) == s["moved"]
    assert all(f["from"] == "CDG" for f in s["flows"])
    assert s["worst_change_ms"] >= s["median_change_ms"]


def test_down_then_up_returns_the_original_state(catalog):
    base = paths(catalog)
    down = paths(catalog, down=["FRA", "LHR"])
    back = paths(catalog)
    assert transition(base, down).moved.any()
    assert not transition(base, back).moved.any()
    up = transition(down, back)
    np.testing.assert_array_equal(up.moved, transition(base, down).moved)


def test_all_down_is_no_route_for_everyone(catalog):
    before = paths(catalog)
    after = paths(catalog, down=catalog.pop_ids)
    assert not after["routed"].any() and not after["served"].any()
    assert after["anycast_ms"].isna().all()
    tr = transition(before, after)
    assert tr.moved.all()
    s = tr.summary()
    assert s["lost_route"] == N and s["median_change_ms"] is None
    assert {f["to"] for f in s["flows"]} == {"no route"}


def test_endpoint_down_leaves_its_clients_unserved_without_rerouting(catalog):
    eps = ep.Endpoints((ep.Endpoint("eu-central-1"),
                        ep.Endpoint("us-east-1", ep.NORMAL, ("IAD", "ORD", "GRU"))))
    before = paths(catalog, endpoints=eps)
    after = paths(catalog, endpoints=ep.Endpoints(eps.items, frozenset({"us-east-1"})))
    mapped = np.isin(before["pop_id"].to_numpy(), ["IAD", "ORD", "GRU"])
    assert mapped.any() and (~mapped).any()
    # same PoPs (no failover to another endpoint), but unserved
    np.testing.assert_array_equal(before["pop_id"], after["pop_id"])
    assert not after["served"].to_numpy()[mapped].any()
    assert after["served"].to_numpy()[~mapped].all()
    assert (before["origin_id"].to_numpy()[mapped] == "us-east-1").all()
    assert (before["origin_id"].to_numpy()[~mapped] == "eu-central-1").all()
    np.testing.assert_array_equal(transition(before, after).moved, mapped)


def test_default_endpoint_down_and_remap_what_if(catalog):
    eps = ep.Endpoints.single("eu-central-1", down=["eu-central-1"])
    out = paths(catalog, endpoints=eps)
    assert out["routed"].all() and not out["served"].any()
    remap = paths(catalog, endpoints=ep.Endpoints.single("us-east-1"))
    assert remap["served"].all() and (remap["origin_id"] == "us-east-1").all()


def test_mapping_changes_the_backbone_leg(catalog):
    one = paths(catalog)
    two = paths(catalog, endpoints=ep.Endpoints((
        ep.Endpoint("eu-central-1"), ep.Endpoint("ap-southeast-1", ep.NORMAL, ("SIN", "KUL")))))
    moved = np.isin(one["pop_id"].to_numpy(), ["SIN", "KUL"])
    assert (two["backbone_ms"].to_numpy()[moved] < one["backbone_ms"].to_numpy()[moved]).all()
    np.testing.assert_allclose(two["backbone_ms"].to_numpy()[~moved],
                               one["backbone_ms"].to_numpy()[~moved])


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ((), "exactly one Default"),
        ((ep.Endpoint("a-b-1"), ep.Endpoint("c-d-1")), "exactly one Default"),
        ((ep.Endpoint("eu-central-1"), ep.Endpoint("eu-central-1", ep.NORMAL, ("CDG",))),
         "one endpoint per region"),
        ((ep.Endpoint("eu-central-1", endpoint_type="ALB"),
          ep.Endpoint("us-east-1", ep.NORMAL, ("IAD",))), "one region only"),
        ((ep.Endpoint("eu-central-1", ep.DEFAULT, ("CDG",)),), "takes no access point"),
        ((ep.Endpoint("eu-central-1"), ep.Endpoint("us-east-1", ep.NORMAL, ("IAD",)),
          ep.Endpoint("us-west-1", ep.NORMAL, ("IAD",))), "mapped to both"),
        ((ep.Endpoint("eu-central-1", "Primary"),), "exactly one Default"),
    ],
)
def test_endpoint_validation(items, message):
    with pytest.raises(ValueError, match=message):
        ep.Endpoints(items)


def test_unknown_ids_in_mappings_are_named(catalog):
    with pytest.raises(KeyError, match="xx-nowhere-1"):
        ep.pop_origins(ep.Endpoints.single("xx-nowhere-1"), catalog.pop_ids, catalog.origin_ids)
    with pytest.raises(KeyError, match="ZZZ"):
        ep.pop_origins(ep.Endpoints((ep.Endpoint("eu-central-1"),
                                     ep.Endpoint("us-east-1", ep.NORMAL, ("ZZZ",)))),
                       catalog.pop_ids, catalog.origin_ids)
    with pytest.raises(ValueError, match="not associated"):
        ep.Endpoints.single("eu-central-1", down=["us-east-1"])


def test_frames_sweep_from_old_pop_to_new_pop(catalog):
    pops, origins = positions(catalog)
    before = paths(catalog)
    after = paths(catalog, down=["CDG"])
    tr = transition(before, after)
    fr = animation_frames(tr, pops, origins)
    assert fr["n"] == DEFAULT_FRAMES >= 20
    assert fr["clients"] == tr.moved_index.tolist()
    assert len(fr["internet"]) == len(fr["backbone"]) == DEFAULT_FRAMES
    ends = [(round(f[0][1], 3), round(f[1][1], 3)) for f in fr["internet"]]  # first client's PoP end
    assert len(set(ends)) == DEFAULT_FRAMES  # every frame is a distinct intermediate state
    first, last = fr["internet"][0], fr["internet"][-1]
    i = fr["clients"][0]
    assert (first[0][1], first[1][1]) == pytest.approx(pops["CDG"], abs=1e-4)
    assert (last[0][1], last[1][1]) == pytest.approx(pops[after["pop_id"][i]], abs=1e-4)
    # gaps separate the clients' segments: [client, pop, None] * moved
    assert len(last[0]) == 3 * len(fr["clients"]) and last[0][2] is None
    # backbone starts where the internet leg ends, in every frame
    for inet, bb in zip(fr["internet"], fr["backbone"]):
        assert inet[0][1::3] == bb[0][0::3] and inet[1][1::3] == bb[1][0::3]


def test_frames_for_lost_route_retract_to_the_client(catalog):
    pops, origins = positions(catalog)
    tr = transition(paths(catalog), paths(catalog, down=catalog.pop_ids))
    last = animation_frames(tr, pops, origins, n_frames=20)["internet"][-1]
    assert last[0][0::3] == last[0][1::3] and last[1][0::3] == last[1][1::3]


def test_no_move_gives_empty_frames(catalog):
    pops, origins = positions(catalog)
    fr = animation_frames(transition(paths(catalog), paths(catalog)), pops, origins)
    assert fr["clients"] == [] and all(f == [[], []] for f in fr["internet"])
    with pytest.raises(ValueError):
        animation_frames(transition(paths(catalog), paths(catalog)), pops, origins, n_frames=1)


def test_packed_plan_is_the_plan_bit_for_bit(catalog):
    """Issue 16: the plan's coordinates sent packed (int32 base64) give the very floats the JSON
    lists did, so every frame is the same (gaps as gaps); and the packed answer is smaller."""
    import json

    pops, origins = positions(catalog)
    tr = transition(paths(catalog), paths(catalog, down=["CDG", "FRA", "GRU"]))
    plain = json.loads(json.dumps(animation_plan(tr, pops, origins)))
    packed = json.loads(json.dumps(animation_plan(tr, pops, origins, packed=True)))
    assert len(json.dumps(packed)) < len(json.dumps(plain))
    for key in PLAN_COORDS:
        for a, b in zip(unpack_coords(packed[key]), unpack_coords(plain[key])):
            assert a.tobytes() == b.tobytes() or np.array_equal(a, b, equal_nan=True)
            assert np.nan_to_num(a).tobytes() == np.nan_to_num(b).tobytes()
    for k in (0, 7, DEFAULT_FRAMES - 1):
        assert plan_frame(packed, k) == plan_frame(plain, k)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.floats(-180, 180), st.just(float("nan"))), max_size=50))
def test_pack_coords_round_trips_the_rounded_values(values):
    a = np.asarray(values, dtype=float)
    lat, lon = unpack_coords(pack_coords(a, a[::-1]))
    want = np.array(_json_floats(a), dtype=float)
    assert np.nan_to_num(lat).tobytes() == np.nan_to_num(want).tobytes()
    assert (np.isnan(lat) == np.isnan(want)).all() and len(lon) == len(a)


@pytest.mark.parametrize("bad", [{"i4": "not base64!", "div": 100000}, {"i4": "AAAA", "div": 0},
                                 {"i4": "AAAA", "div": 100000}, 5, "x"])
def test_unpack_coords_refuses_what_it_cannot_read(bad):
    with pytest.raises(ValueError):
        unpack_coords(bad)
    assert PACK_GAP == -(2 ** 31)


def test_transition_rejects_different_clients(catalog):
    with pytest.raises(ValueError, match="same clients"):
        transition(paths(catalog), paths(catalog, lats=LATS[::-1].copy()))


@settings(max_examples=200, deadline=None)
@given(st.floats(-89, 89), st.floats(-180, 180), st.floats(-89, 89), st.floats(-180, 180),
       st.floats(0, 1))
def test_slerp_stays_on_the_great_circle(lat1, lon1, lat2, lon2, t):
    d = geodesic_km(lat1, lon1, lat2, lon2)
    if d > 19_000:  # near-antipodal: no unique great circle
        return
    la, lo = slerp(lat1, lon1, lat2, lon2, t)
    d1 = geodesic_km(lat1, lon1, la, lo)
    d2 = geodesic_km(la, lo, lat2, lon2)
    # on the arc: the two parts add up to the whole (sphere vs ellipsoid: < 0.7 %)
    assert d1 + d2 == pytest.approx(d, rel=7e-3, abs=0.05)
    assert d1 == pytest.approx(t * d, rel=7e-3, abs=0.5)


def test_slerp_endpoints_and_easing():
    la, lo = slerp(48.85, 2.35, -33.87, 151.21, np.array([0.0, 1.0]))
    np.testing.assert_allclose(la, [48.85, -33.87], atol=1e-9)
    np.testing.assert_allclose(lo, [2.35, 151.21], atol=1e-9)
    e = ease_in_out(np.linspace(0, 1, 11))
    assert e[0] == 0 and e[-1] == 1 and np.all(np.diff(e) > 0)


@pytest.mark.slow
@settings(max_examples=25, deadline=None)
@given(st.lists(st.sets(st.sampled_from(["CDG", "FRA", "LHR", "IAD", "GRU", "SIN", "NRT", "SYD",
                                         "HKG", "MAD"]), max_size=5), min_size=1, max_size=4))
def test_any_sequence_of_outages_moves_only_affected_clients_and_returns(catalog, steps):
    base = paths(catalog)
    prev, prev_down = base, set()
    for down in steps:
        cur = paths(catalog, down=sorted(down))
        tr = transition(prev, cur)
        # a client moves iff its PoP went down, or a nearer PoP came back up
        lost = np.isin(prev["pop_id"].to_numpy(), sorted(down - prev_down))
        came_back = sorted(prev_down - down)
        assert lost[~tr.moved].sum() == 0
        if not came_back:
            np.testing.assert_array_equal(tr.moved, lost)
        # everyone is on the nearest healthy PoP (the base ranking, skipping the down ones)
        healthy = [i for i, p in enumerate(catalog.pop_ids) if p not in down]
        km = geodesic_km(LATS[:, None], LONS[:, None], catalog.pop_lats[healthy][None, :],
                         catalog.pop_lons[healthy][None, :])
        expect = np.asarray(catalog.pop_ids)[healthy][np.argmin(km, axis=1)]
        np.testing.assert_array_equal(cur["pop_id"].to_numpy(), expect)
        prev, prev_down = cur, down
    back = transition(prev, base)
    assert not transition(base, paths(catalog)).moved.any()
    np.testing.assert_array_equal(back.after["pop_id"], base["pop_id"])
