"""The routing policy as plain functions (issue 14): the edit, the link, the round trip's
outputs (the radio, the table's flag column, the KPI, the animation), the services that follow
the policy (explain, capacity, N-1 key), the exports and the CLI."""

from __future__ import annotations


from dashboard import cli, ids
from dashboard.callbacks import scene
from dashboard.domain import scenario_url
from dashboard.domain.scenario import Client, Scenario
from dashboard.services import capacity, events, failover, support
from dashboard.services import map as map_service
from dashboard.services.scenario import load_scenario
from dashboard.settings import Settings
from tests.callbacks.test_failover_callbacks import NO_UPDATE, edits_js, needs_node

SETTINGS = Settings()
AFRICA = (Client(-26.2041, 28.0473, "Johannesburg"), Client(-1.2864, 36.8172, "Nairobi"),
          Client(48.8566, 2.3522, "Paris"))
EUROPE = ("LHR", "FRA", "CDG", "AMS", "MAD")


def store(**kw) -> dict:
    return Scenario(clients=AFRICA, origin="eu-central-1", **kw).to_dict()


def output(out: tuple, component_id: str):
    return out[[o.component_id for o in scene.OUTPUTS].index(component_id)]


def test_policy_edit_reroutes_and_writes_the_link(catalog):
    ev = events.scenario_event(events.EDIT, "", {"op": "policy", "policy": "network", "nonce": 1},
                               "eu-central-1", "CLB", store(), catalog, SETTINGS)
    assert ev.changed and ev.loaded.scenario.policy == "network"
    assert "policy=network" in ev.url_search and ev.store["policy"] == "network"
    assert ev.notices[0][0] == "info" and "network" in ev.notices[0][1]
    view = map_service.map_view(ev.loaded, catalog)
    assert [r.split(" ")[0] for r in view.routes["pop_id"][:2]] != ["BOM", "BOM"]
    assert set(view.routes["pop_id"][:2]) <= set(EUROPE)
    assert not view.routes["bgp_flag"].any()


def test_unknown_policy_edit_is_an_error_and_changes_nothing(catalog):
    ev = events.scenario_event(events.EDIT, "", {"op": "policy", "policy": "bgp", "nonce": 1},
                               "eu-central-1", "CLB", store(), catalog, SETTINGS)
    assert ev is None or not ev.changed
    if ev is not None:
        assert ev.notices[0][0] == "error" and "geographic or network" in ev.notices[0][1]


def test_link_round_trip_and_unknown_value_warning():
    s = Scenario(clients=AFRICA, policy="network")
    q = scenario_url.to_query(s)
    assert q.endswith("policy=network")
    back, warnings = scenario_url.from_query(q)
    assert back.policy == "network" and not warnings
    assert "policy" not in scenario_url.to_query(Scenario(clients=AFRICA))  # default: omitted
    assert "policy" not in Scenario(clients=AFRICA).to_dict()
    bad, warnings = scenario_url.from_query("policy=fastest")
    assert bad.policy == "geographic" and "routing policy 'fastest'" in warnings[0]
    assert Scenario.from_dict(s.to_dict()) == s


def test_geographic_round_trip_flags_johannesburg_and_nairobi(catalog):
    ev = events.scenario_event(events.PAGE_LOAD, "?" + scenario_url.to_query(
        Scenario(clients=AFRICA, origin="eu-central-1")), None, None, None, None, catalog,
        SETTINGS)
    out = scene.scene_outputs(ev, scene.PageState(), list(catalog.pop_ids), catalog)
    rows = output(out, ids.ASSIGNMENT_TABLE)
    assert [r["pop"][:3] for r in rows] == ["BOM", "BOM", "CDG"]
    assert [r["flagged"] for r in rows] == [1, 1, 0]
    assert rows[0]["bgp"].startswith("⚑ ") and rows[0]["bgp"].endswith(" ms")
    assert output(out, ids.POLICY) == "geographic"
    summary = str(output(out, ids.SUMMARY))
    assert "BGP would likely differ" in summary
    fig = output(out, ids.WORLD_MAP)
    hover = " ".join(t for tr in fig.data for t in (tr.hovertext or ()) if isinstance(t, str))
    assert "BGP would likely hand this client to" in hover


def test_switching_policy_animates_like_a_pop_down(catalog):
    loaded = load_scenario(store(), catalog, SETTINGS)
    prev = failover.routing_state(loaded.scenario, loaded.origin_id)
    assert "policy" not in prev                                  # default: the state is unchanged
    net = load_scenario(store(policy="network"), catalog, SETTINGS)
    view = map_service.map_view(net, catalog, prev)
    assert view.failover.state["policy"] == "network"
    assert view.failover.tr is not None and view.failover.tr.moved.sum() == 2   # JNB, Nairobi
    assert view.failover.frames["clients"] and view.failover.animation_id
    assert "routing policy geographic → network" in view.failover.title


def test_explain_capacity_and_n1_follow_the_policy(catalog):
    geo = Scenario.from_dict(store())
    net = geo.with_policy("network")
    e_geo = support.explain_client(catalog, geo, 0, "eu-central-1")
    e_net = support.explain_client(catalog, net, 0, "eu-central-1")
    assert e_geo.ranking["pop_id"][0] == "BOM" and e_net.ranking["pop_id"][0] in EUROPE
    assert capacity.n1_key(geo, "eu-central-1") != capacity.n1_key(net, "eu-central-1")
    v_geo = capacity.capacity_view(catalog, geo)
    v_net = capacity.capacity_view(catalog, net)
    bom = list(catalog.pop_ids).index("BOM")
    assert v_geo.table["clients"][bom] == 2 and v_net.table["clients"][bom] == 0
    cells = capacity.catchments(catalog, frozenset(), policy="network")
    assert len(cells[0]) == len(capacity.catchments(catalog, frozenset())[0])


def test_assignment_export_carries_policy_and_flags(catalog):
    df = map_service.assignment_frame(load_scenario(store(), catalog, SETTINGS), catalog)
    assert df["policy"].unique().tolist() == ["geographic"]
    assert df["bgp_flag"].tolist() == [True, True, False]
    assert set(df["network_pop_id"][:2]) <= set(EUROPE)


def test_cli_policy(capsys):
    assert cli.main(["nearest", "--lat", "-26.2041", "--lon", "28.0473", "--policy", "network",
                     "--k", "1"]) == 0
    out = capsys.readouterr().out
    assert "policy: network" in out and "BOM" not in out.split("\n", 2)[2]


@needs_node
def test_the_radio_writes_a_policy_edit_only_for_a_real_change():
    fired = (ids.POLICY, "value", "network")
    got = edits_js("policy", "network", {"policy": None}, trigger=fired)
    assert got == {"op": "policy", "policy": "network"}
    assert edits_js("policy", "network", {"policy": "network"}, trigger=fired) == NO_UPDATE
    assert edits_js("policy", "geographic", {}, trigger=(ids.POLICY, "value",
                                                         "geographic")) == NO_UPDATE


def test_explain_sentences_name_the_nearest_and_the_network_nearest(catalog):
    geo = Scenario.from_dict(store())
    e = support.explain_client(catalog, geo, 0, "eu-central-1").explanation
    assert e.chosen == "BOM" and "nearest healthy access point" in e.sentences[0]
    assert any(s.startswith("⚑ BGP would likely hand this client to") for s in e.sentences)
    n = support.explain_client(catalog, geo.with_policy("network"), 0, "eu-central-1").explanation
    assert n.chosen in EUROPE and "lowest modelled internet RTT" in n.sentences[0]
    assert not any(s.startswith("⚑") for s in n.sentences)


def test_scenario_json_export_carries_the_policy():
    from dashboard.domain import exports
    s = Scenario(clients=AFRICA, policy="network")
    back = exports.scenario_from_json(exports.scenario_to_json(s))
    assert back.policy == "network" and back == s
    assert exports.scenario_from_json(exports.scenario_to_json(
        Scenario(clients=AFRICA))).policy == "geographic"
