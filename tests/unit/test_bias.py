"""Announcement bias (issue 20, part 3): the one validator, the km conversion, and the rule every
ranking follows -- a penalty never grows a PoP's catchment, a bonus never shrinks it, 0 is no
bias, and the RTTs reported are the real ones via the PoP reached."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard import latency
from dashboard.domain import bias as bias_core
from dashboard.domain import capacity as cap_core
from dashboard.domain import catchment, paths, policy, whatif
from dashboard.domain import latency as lat_core
from dashboard.domain.edits import EditContext, apply_edit
from dashboard.domain.scenario import Client, Scenario
from dashboard.domain.scenario_url import from_query, to_query

PARAMS = latency.default_params()
END_USER = latency.params_with((), "end-user")
POLICIES = ("geographic", "network")


# -- the validator ------------------------------------------------------------------------------

def test_canonical_sorts_drops_zero_and_rounds():
    assert bias_core.canonical({"lhr": -10, "FRA": "+20.04", "CDG": 0}) == (
        ("FRA", 20.0), ("LHR", -10.0))
    assert bias_core.canonical(None) == bias_core.canonical({}) == ()


@pytest.mark.parametrize("items,needle", [
    ({"FRA": 100.1}, "outside -100..+100"), ({"FRA": float("nan")}, "outside"),
    ({"FRA": True}, "not a number"), ({"FRA": "x"}, "not a number"),
    ({"F RA": 1}, "not an access point id"), ([("FRA", 1), ("fra", 2)], "named twice"),
    ([1, 2], "not an (access point, ms) pair"),
    ({f"P{i}": 1 for i in range(bias_core.MAX_ENTRIES + 1)}, "at most"),
])
def test_canonical_names_the_problem(items, needle):
    with pytest.raises(ValueError, match=needle.replace("(", r"\(").replace(")", r"\)")
                       .replace("+", r"\+").replace(".", r"\.")):
        bias_core.canonical(items)


def test_unknown_id_refused_when_the_ids_are_known():
    with pytest.raises(ValueError, match="unknown access point XYZ"):
        bias_core.canonical({"XYZ": 5}, ("FRA", "LHR"))
    assert bias_core.parse_text("FRA:+20, lhr:-10", ("FRA", "LHR")) == (
        ("FRA", 20.0), ("LHR", -10.0))
    with pytest.raises(ValueError, match="POP:ms"):
        bias_core.parse_text("FRA20")


@given(st.dictionaries(st.sampled_from(["FRA", "LHR", "CDG", "SIN", "IAD"]),
                       st.floats(-100, 100, allow_nan=False), max_size=5))
def test_text_and_link_round_trip(d):
    b = bias_core.canonical(d)
    assert bias_core.parse_text(bias_core.format_text(b)) == b
    s = Scenario(bias=b)
    back, warnings = from_query(to_query(s))
    assert back == s and not warnings
    assert Scenario.from_dict(s.to_dict()) == s


def test_scenario_link_store_and_known_ids():
    s = Scenario(bias={"FRA": 20, "LHR": -10}.items())
    assert to_query(s) == "bias=FRA:20,LHR:-10"
    assert s.to_dict()["bias"] == {"FRA": 20.0, "LHR": -10.0}
    assert "bias" not in Scenario().to_dict() and to_query(Scenario()) == ""
    assert s.unknown_ids(["FRA"], []) == ["access point LHR"]
    assert s.known(["FRA"], []).bias == (("FRA", 20.0),)
    with pytest.raises(ValueError, match="outside"):
        Scenario(bias=(("FRA", 101),))
    with pytest.raises(ValueError, match="bias must be an object"):
        Scenario.from_dict({"bias": [["FRA", 1]]})
    # the link drops a bad piece with a warning, keeps the others
    got, warnings = from_query("bias=FRA:%2B20,XYZ:5,LHR:300", pop_ids=("FRA", "LHR"))
    assert got.bias == (("FRA", 20.0),)
    assert "XYZ" in warnings[0] and "LHR:300" in warnings[0]


def test_edit_op_bias():
    ctx = EditContext(100, pop_ids=("FRA", "LHR"))
    s, notes = apply_edit(Scenario(), {"op": "bias", "set": {"FRA": 20}}, ctx)
    assert s.bias == (("FRA", 20.0),) and notes[0][0] == "info" and "FRA +20 ms" in notes[0][1]
    same, notes = apply_edit(s, {"op": "bias", "set": {"FRA": 20}}, ctx)
    assert same is s and notes == []
    cleared, _ = apply_edit(s, {"op": "bias", "set": {"FRA": 0}}, ctx)
    assert cleared.bias == ()
    for bad in ({"op": "bias", "set": {"XYZ": 1}}, {"op": "bias", "set": {"FRA": 1e9}},
                {"op": "bias", "set": [1]}, {"op": "bias"}):
        new, notes = apply_edit(s, bad, ctx)
        assert new is s and notes[0][0] == "error" and "Nothing was changed" in notes[0][1]
    reset, notes = apply_edit(Scenario(bias=(("FRA", 5), ("LHR", 5))),
                              {"op": "bias", "reset": True}, ctx)
    assert reset.bias == () and "reset" in notes[0][1]


# -- the conversion -------------------------------------------------------------------------------

def test_km_per_ms_is_the_models_median_slope():
    s = PARAMS._arr["S"]
    median = np.median(s[np.triu_indices(len(s))])
    assert lat_core.km_per_rtt_ms(PARAMS) == pytest.approx(1000 / median)
    assert 30 < lat_core.km_per_rtt_ms(PARAMS) < 70          # ~47 km per ms with the fit
    slower = latency.params_with((("inflation_scale", 2.0),))
    assert lat_core.km_per_rtt_ms(slower) == pytest.approx(lat_core.km_per_rtt_ms(PARAMS) / 2)
    assert lat_core.km_per_rtt_ms(END_USER) == lat_core.km_per_rtt_ms(PARAMS)
    assert lat_core.leg_factor(PARAMS) == 1.0
    assert lat_core.leg_factor(END_USER) == END_USER.access_factor


# -- the ranking rule (property-based) ------------------------------------------------------------

coords = st.tuples(st.floats(-60, 70), st.floats(-179.9, 179.9))


def _table(cat_pops, clients, pol, b=None, down=None, params=END_USER):
    lats = np.array([c[0] for c in clients])
    lons = np.array([c[1] for c in clients])
    ids, pla, plo = cat_pops
    return paths.client_paths(lats, lons, ids, pla, plo, 50.11, 8.68, down=down, params=params,
                              policy=pol, bias=b)


def _pops(catalog):
    return catalog.pop_ids, catalog.pop_lats, catalog.pop_lons


def _bound(catalog, d, params=END_USER):
    return policy.pop_bias(bias_core.canonical(d), catalog.pop_ids, params)


@settings(max_examples=40, deadline=None)
@given(clients=st.lists(coords, min_size=1, max_size=30), pol=st.sampled_from(POLICIES),
       pop=st.integers(0, 18), ms=st.floats(0.1, 100), other=st.floats(-100, 100))
def test_penalty_never_grows_and_bonus_never_shrinks_a_catchment(catalog, clients, pol, pop,
                                                                  ms, other):
    pid = catalog.pop_ids[pop]
    neighbour = catalog.pop_ids[(pop + 1) % len(catalog.pop_ids)]
    base = {neighbour: other}                       # whatever else is biased stays fixed
    at = _table(_pops(catalog), clients, pol, _bound(catalog, base))["pop_id"] == pid
    worse = _table(_pops(catalog), clients, pol,
                   _bound(catalog, {**base, pid: ms}))["pop_id"] == pid
    better = _table(_pops(catalog), clients, pol,
                    _bound(catalog, {**base, pid: -ms}))["pop_id"] == pid
    assert not (worse & ~at).any()                  # a penalty: subset of the catchment
    assert not (at & ~better).any()                 # a bonus: superset


@settings(max_examples=25, deadline=None)
@given(clients=st.lists(coords, min_size=1, max_size=25), pol=st.sampled_from(POLICIES),
       d=st.dictionaries(st.sampled_from(["FRA", "LHR", "SIN", "IAD", "GRU", "BOM"]),
                         st.floats(-100, 100), min_size=1, max_size=4))
def test_selection_only_rtts_are_the_real_ones_and_whatif_agrees(catalog, clients, pol, d):
    b = _bound(catalog, d)
    t = _table(_pops(catalog), clients, pol, b)
    plain = _table(_pops(catalog), clients, pol)
    same = (t["pop_id"] == plain["pop_id"]).to_numpy()
    for col in ("internet_ms", "backbone_ms", "anycast_ms", "direct_ms"):
        np.testing.assert_array_equal(t[col].to_numpy()[same], plain[col].to_numpy()[same])
    # a moved client gets the real modelled RTT of the PoP it lands on (that PoP alone up)
    for i in np.flatnonzero(~same):
        alone = np.array([p != t["pop_id"][i] for p in catalog.pop_ids])
        solo = _table(_pops(catalog), [clients[i]], pol, down=alone)
        assert solo["anycast_ms"][0] == pytest.approx(t["anycast_ms"][i], abs=1e-9)
    # the cached what-if path gives the same table
    lats = np.array([c[0] for c in clients])
    lons = np.array([c[1] for c in clients])
    rc = whatif.rank_clients(lats, lons, catalog.pop_lats, catalog.pop_lons, END_USER)
    w = whatif.paths_for(rc, catalog.pop_ids, 50.11, 8.68, params=END_USER, policy=pol, bias=b)
    assert w["pop_id"].tolist() == t["pop_id"].tolist()
    assert w["runner_up_id"].tolist() == t["runner_up_id"].tolist()
    assert (t["bgp_gap_ms"].dropna() >= -1e-9).all()          # in preference ms: never < 0
    # the capacity view's full ranking agrees (data-centre ms: the access type never reorders)
    ranked = policy.rank_all(lats, lons, catalog.pop_lats, catalog.pop_lons, pol, PARAMS,
                             _bound(catalog, d, PARAMS))
    first = cap_core.first_healthy(ranked, np.zeros(len(catalog.pop_ids), bool))
    assert [catalog.pop_ids[i] for i in first] == t["pop_id"].tolist()


def test_zero_bias_is_no_bias(catalog):
    assert policy.pop_bias((), catalog.pop_ids, PARAMS) is None
    assert bias_core.bind((("FRA", 0.0),), catalog.pop_ids, 47.0) is None
    assert Scenario(bias=(("FRA", 0),)) == Scenario()


@settings(max_examples=30, deadline=None)
@given(clients=st.lists(coords, min_size=1, max_size=20), pop=st.integers(0, 18),
       ms=st.floats(1, 100))
def test_landing_probability_falls_with_a_penalty_and_rises_with_a_bonus(catalog, clients,
                                                                        pop, ms):
    lats = np.array([c[0] for c in clients])
    lons = np.array([c[1] for c in clients])
    km = np.zeros(len(catalog.pop_ids))
    prm = catchment.CatchmentParams(("nearest", "log_ratio", "extra_1000km", "other_region",
                                     "core_site_far_client"),
                                    (0.8686, -1.0028, -0.0558, -0.8955, 2.6069), 64)

    def p(offset: float) -> np.ndarray:
        km[:] = 0
        km[pop] = offset * lat_core.km_per_rtt_ms(PARAMS)
        idx, prob = catchment.landing_probabilities(lats, lons, catalog.pop_lats,
                                                    catalog.pop_lons, k=len(km), params=prm,
                                                    site_bias_km=km)
        return np.where(idx == pop, prob, 0).sum(axis=1)

    base, worse, better = p(0), p(ms), p(-ms)
    assert (worse <= base + 1e-12).all() and (better >= base - 1e-12).all()


def test_fra_penalty_shrinks_its_catchment_and_moves_load_to_neighbours(catalog):
    """Done-when of issue 20: a bias on FRA shrinks its catchment (the catchment grid) and
    moves its demand to its neighbours (European demand points)."""
    rng = np.random.default_rng(7)
    lats, lons = rng.uniform(42, 56, 400), rng.uniform(-5, 20, 400)
    w = np.ones(400)
    fra = catalog.pop_ids.index("FRA")
    for pol in POLICIES:
        grid = [cap_core.catchment_grid(2.0, catalog.pop_lats, catalog.pop_lons, None, pol,
                                        PARAMS, _bound(catalog, b, PARAMS))[2]
                for b in ({}, {"FRA": 10})]
        assert (grid[1] == fra).sum() < (grid[0] == fra).sum()
        loads = [cap_core.load_per_pop(cap_core.first_healthy(
            policy.rank_all(lats, lons, catalog.pop_lats, catalog.pop_lons, pol, PARAMS,
                            _bound(catalog, b, PARAMS)), np.zeros(len(catalog.pop_ids), bool)),
            w, len(catalog.pop_ids)) for b in ({}, {"FRA": 10})]
        delta = dict(zip(catalog.pop_ids, loads[1] - loads[0]))
        assert delta["FRA"] < 0 and delta["FRA"] == pytest.approx(
            -sum(v for k, v in delta.items() if k != "FRA"))
        assert {k for k, v in delta.items() if v > 0} <= {"CDG", "LHR", "MAD"}


def test_rank_pops_and_rank_order_follow_the_bias(catalog):
    munich = (48.1, 11.6)
    for pol in POLICIES:
        r = paths.rank_pops(*munich, catalog.pop_ids, catalog.pop_lats, catalog.pop_lons,
                            50.11, 8.68, params=END_USER, policy=pol,
                            bias=_bound(catalog, {"FRA": 20}))
        assert r["pop_id"][0] != "FRA" and "bias_ms" in r
        assert float(r.loc[r["pop_id"] == "FRA", "bias_ms"].iloc[0]) == 20.0
        plain = paths.rank_pops(*munich, catalog.pop_ids, catalog.pop_lats, catalog.pop_lons,
                                50.11, 8.68, params=END_USER, policy=pol)
        assert plain["pop_id"][0] == "FRA" and "bias_ms" not in plain
