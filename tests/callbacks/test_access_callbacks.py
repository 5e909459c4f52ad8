"""Who the clients are, as plain functions (issue 19): end users by default; the edit, the link,
the round trip's outputs (the radio, the clients KPI and the RTT hints), the services that follow
the access type (route tables, explain, N-1, failover, endpoint what-ifs), the exports and the
CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dashboard import cli, ids
from dashboard.callbacks import scene
from dashboard.domain import access as acc
from dashboard.domain import exports, scenario_url
from dashboard.domain.edits import OPS
from dashboard.domain.scenario import Client, Scenario
from dashboard.latency import default_params
from dashboard.services import capacity, endpoints, events, failover, routing, support
from dashboard.services import map as map_service
from dashboard.services.scenario import load_scenario
from dashboard.settings import Settings
from tests.callbacks.test_failover_callbacks import NO_UPDATE, edits_js, needs_node

SETTINGS = Settings()
P = default_params()
CITIES = (Client(48.8566, 2.3522, "Paris"), Client(1.29, 103.85, "Singapore"),
          Client(40.71, -74.0, "New York"), Client(-33.87, 151.21, "Sydney"))
ORIGIN = "eu-central-1"


def store(**kw) -> dict:
    return Scenario(clients=CITIES, origin=ORIGIN, **kw).to_dict()


def output(out: tuple, component_id: str):
    return out[[o.component_id for o in scene.OUTPUTS].index(component_id)]


def routes_of(s: Scenario, catalog):
    return map_service.scenario_routes(load_scenario(s.to_dict(), catalog, SETTINGS), catalog)[0]


def test_the_default_is_end_users_everywhere():
    assert acc.DEFAULT_ACCESS == "end-user" and Scenario().access == "end-user"
    assert "access" in OPS
    assert "access" not in Scenario(clients=CITIES).to_dict()        # default: not stored
    assert Scenario.from_dict({"clients": []}).access == "end-user"   # old stores: end users
    with pytest.raises(ValueError, match="end-user or datacenter"):
        Scenario(access="mobile")
    assert acc.check_access(" DataCenter ") == "datacenter"


def test_route_tables_end_users_never_faster_same_pops_same_backbone(catalog):
    eu = routes_of(Scenario(clients=CITIES, origin=ORIGIN), catalog)
    dc = routes_of(Scenario(clients=CITIES, origin=ORIGIN, access="datacenter"), catalog)
    assert eu["pop_id"].tolist() == dc["pop_id"].tolist()
    assert eu["runner_up_id"].tolist() == dc["runner_up_id"].tolist()
    np.testing.assert_array_equal(eu["backbone_ms"], dc["backbone_ms"])
    for col in ("internet_ms", "direct_ms"):   # both internet legs carry the term
        assert (eu[col] >= dc[col] + P.access_ms - 1e-9).all()
        np.testing.assert_allclose(eu[col], P.access_ms + P.access_factor * dc[col])
    assert (eu["anycast_ms"] > dc["anycast_ms"]).all()
    # the route table service's default is end users, its memo keys tell the two apart
    coords = tuple((c.lat, c.lon) for c in CITIES)
    np.testing.assert_array_equal(routing.route_table(catalog, coords, ORIGIN)["anycast_ms"],
                                  eu["anycast_ms"])
    np.testing.assert_array_equal(routing.route_table(catalog, coords, ORIGIN,
                                                      access="datacenter")["anycast_ms"],
                                  dc["anycast_ms"])


def test_client_set_follows_the_access_type_too(catalog):
    eu = routing.demand_route_table(catalog, "cities25k", ORIGIN).iloc[:300]
    dc = routing.demand_route_table(catalog, "cities25k", ORIGIN, access="datacenter").iloc[:300]
    assert eu["pop_id"].tolist() == dc["pop_id"].tolist()
    np.testing.assert_allclose(eu["internet_ms"], P.access_ms + P.access_factor * dc["internet_ms"])
    np.testing.assert_allclose(eu["direct_ms"], P.access_ms + P.access_factor * dc["direct_ms"])
    # the internet-leg gap behind the BGP flags is an end-user gap: scaled by the factor
    np.testing.assert_allclose(eu["bgp_gap_ms"], P.access_factor * dc["bgp_gap_ms"], atol=1e-9)
    # the cached set path equals the coordinate path, for both types
    coords = tuple(zip(dc["lat"], dc["lon"]))
    for a, table in (("end-user", eu), ("datacenter", dc)):
        slow = routing.route_table(catalog, coords, ORIGIN, access=a)
        np.testing.assert_allclose(table["anycast_ms"].to_numpy(float),
                                   slow["anycast_ms"].to_numpy(float), rtol=1e-12, atol=1e-9)


def test_access_edit_changes_rtts_and_writes_the_link(catalog):
    ev = events.scenario_event(events.EDIT, "", {"op": "access", "access": "datacenter",
                                                 "nonce": 1}, ORIGIN, "CLB", store(), catalog,
                               SETTINGS)
    assert ev.changed and ev.loaded.scenario.access == "datacenter"
    assert "access=datacenter" in ev.url_search and ev.store["access"] == "datacenter"
    assert ev.notices[0][0] == "info" and "data-centre servers" in ev.notices[0][1]
    back = events.scenario_event(events.EDIT, "", {"op": "access", "access": "end-user",
                                                   "nonce": 2}, ORIGIN, "CLB", ev.store,
                                 catalog, SETTINGS)
    assert back.changed and "access" not in back.url_search and "access" not in back.store
    assert "end users" in back.notices[0][1]


@pytest.mark.parametrize("bad", ["mobile", None, 3, ["datacenter"]])
def test_unknown_access_edit_is_an_error_and_changes_nothing(catalog, bad):
    ev = events.scenario_event(events.EDIT, "", {"op": "access", "access": bad, "nonce": 1},
                               ORIGIN, "CLB", store(), catalog, SETTINGS)
    assert ev is None or not ev.changed
    if ev is not None:
        assert ev.notices[0][0] == "error" and "end-user or datacenter" in ev.notices[0][1]


def test_link_round_trip_and_unknown_value_warning():
    s = Scenario(clients=CITIES, access="datacenter")
    q = scenario_url.to_query(s)
    assert q.endswith("access=datacenter")
    back, warnings = scenario_url.from_query(q)
    assert back.access == "datacenter" and not warnings and back == s
    assert "access" not in scenario_url.to_query(Scenario(clients=CITIES))   # default: omitted
    assert scenario_url.from_query("access=end-user")[0].access == "end-user"
    assert scenario_url.from_query("access=DATACENTER")[0].access == "datacenter"
    bad, warnings = scenario_url.from_query("clients=1,2&access=home")
    assert bad.access == "end-user" and "client access type 'home'" in warnings[0]
    assert Scenario.from_dict(s.to_dict()) == s


def test_a_link_with_access_sets_the_radio_and_says_which_rtts_are_shown(catalog):
    outs = {}
    for a in ("end-user", "datacenter"):
        ev = events.scenario_event(events.PAGE_LOAD, "?" + scenario_url.to_query(
            Scenario(clients=CITIES, origin=ORIGIN, access=a)), None, None, None, None, catalog,
            SETTINGS)
        outs[a] = out = scene.scene_outputs(ev, scene.PageState(), list(catalog.pop_ids),
                                            catalog)
        assert output(out, ids.ACCESS) == a
    eu, dc = (str(output(outs[a], ids.SUMMARY)) for a in ("end-user", "datacenter"))
    assert "end-user clients" in eu and "RTTs for end-user clients (access network included)" in eu
    assert "data-centre clients" in dc and "no access network" in dc
    rows_eu = output(outs["end-user"], ids.ASSIGNMENT_TABLE)
    rows_dc = output(outs["datacenter"], ids.ASSIGNMENT_TABLE)
    assert [r["pop"] for r in rows_eu] == [r["pop"] for r in rows_dc]
    assert all(e["anycast_ms"] > d["anycast_ms"] for e, d in zip(rows_eu, rows_dc))


def test_switching_access_does_not_animate_or_move_anyone(catalog):
    loaded = load_scenario(store(), catalog, SETTINGS)
    prev = failover.routing_state(loaded.scenario, loaded.origin_id)
    dc = load_scenario(store(access="datacenter"), catalog, SETTINGS)
    view = map_service.map_view(dc, catalog, prev)
    assert "access" not in view.failover.state
    assert view.failover.tr is None and not view.failover.frames["clients"]
    # a PoP down: before and after both use the scenario's access type
    down = load_scenario(store(access="datacenter", down=["CDG"]), catalog, SETTINGS)
    v = map_service.map_view(down, catalog, failover.routing_state(dc.scenario, dc.origin_id))
    paris = v.failover.before.iloc[0]
    dc_routes = routes_of(Scenario(clients=CITIES, origin=ORIGIN, access="datacenter"), catalog)
    assert paris["anycast_ms"] == dc_routes.iloc[0]["anycast_ms"]


def test_explain_n1_and_endpoint_whatifs_follow_the_access_type(catalog):
    eu = Scenario.from_dict(store())
    dc = eu.with_access("datacenter")
    e_eu = support.explain_client(catalog, eu, 1, ORIGIN).ranking
    e_dc = support.explain_client(catalog, dc, 1, ORIGIN).ranking
    assert e_eu["pop_id"].tolist() == e_dc["pop_id"].tolist()
    assert (e_eu["internet_ms"] > e_dc["internet_ms"]).all()
    np.testing.assert_array_equal(e_eu["backbone_ms"], e_dc["backbone_ms"])
    # N-1: the key tells the two apart, and the RTTs follow the type
    assert capacity.n1_key(eu, ORIGIN) != capacity.n1_key(dc, ORIGIN)
    n1_eu = capacity.n_minus_one_analysis(catalog, eu, ORIGIN)
    n1_dc = capacity.n_minus_one_analysis(catalog, dc, ORIGIN)
    assert n1_eu["pop_id"].tolist() == n1_dc["pop_id"].tolist()
    assert (n1_eu["p50_before_ms"] > n1_dc["p50_before_ms"]).all()
    lines_eu = endpoints.whatif_lines(load_scenario(eu.to_dict(), catalog, SETTINGS), catalog)
    lines_dc = endpoints.whatif_lines(load_scenario(dc.to_dict(), catalog, SETTINGS), catalog)
    assert [x.label for x in lines_eu] == [x.label for x in lines_dc]
    assert lines_eu != lines_dc


def test_assignment_export_and_scenario_json_carry_the_access_type(catalog):
    for a in ("end-user", "datacenter"):
        s = Scenario(clients=CITIES, origin=ORIGIN, access=a)
        df = map_service.assignment_frame(load_scenario(s.to_dict(), catalog, SETTINGS), catalog)
        assert df["access"].unique().tolist() == [a]
        doc = json.loads(exports.scenario_to_json(s))
        assert doc["scenario"]["access"] == a         # named in the file, the default too
        assert exports.scenario_from_json(exports.scenario_to_json(s)) == s
    old = json.loads(exports.scenario_to_json(Scenario(clients=CITIES)))
    del old["scenario"]["access"]                       # an export written before issue 19
    assert exports.scenario_from_json(json.dumps(old)).access == "end-user"
    bad = json.loads(exports.scenario_to_json(Scenario(clients=CITIES)))
    bad["scenario"]["access"] = "mobile"
    with pytest.raises(exports.ScenarioImportError, match="end-user or datacenter"):
        exports.scenario_from_json(json.dumps(bad))


def test_cli_access(capsys, tmp_path):
    args = ["nearest", "--lat", "48.137", "--lon", "11.575", "--k", "1", "--json"]
    assert cli.main(args) == 0
    eu = json.loads(capsys.readouterr().out)
    assert cli.main(args + ["--access", "datacenter"]) == 0
    dc = json.loads(capsys.readouterr().out)
    assert eu["access"] == "end-user" and dc["access"] == "datacenter"
    assert eu["pops"][0]["pop_id"] == dc["pops"][0]["pop_id"]
    assert eu["pops"][0]["internet_ms"] > dc["pops"][0]["internet_ms"]
    assert cli.main(["nearest", "--lat", "1", "--lon", "2", "--access", "mobile"]) == 2
    assert "invalid choice" in capsys.readouterr().err
    src = tmp_path / "c.csv"
    src.write_text("lat,lon,name\n48.137,11.575,Munich\n")
    assert cli.main(["assign", str(src), "--access", "datacenter"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].endswith(",access") and out.splitlines()[1].endswith(",datacenter")


@needs_node
def test_the_radio_writes_an_access_edit_only_for_a_real_change():
    fired = (ids.ACCESS, "value", "datacenter")
    got = edits_js("access", "datacenter", {"access": None}, trigger=fired)
    assert got == {"op": "access", "access": "datacenter"}
    assert edits_js("access", "datacenter", {"access": "datacenter"}, trigger=fired) == NO_UPDATE
    assert edits_js("access", "end-user", {}, trigger=(ids.ACCESS, "value",
                                                       "end-user")) == NO_UPDATE
    assert edits_js("access", "end-user", {"access": "datacenter"},
                    trigger=(ids.ACCESS, "value", "end-user")) == {"op": "access",
                                                                    "access": "end-user"}
