"""The announcement bias as plain functions (issue 20, part 3): the edit through the round trip
(link, store), the capacity tab (load moves, catchments redraw), the map animation, explain,
the exports, memo keys unchanged without a bias, the sliders' translators and the CLI."""

from __future__ import annotations

import json
import subprocess

from dashboard import cli, ids
from dashboard.callbacks import scene
from dashboard.domain import exports
from dashboard.domain.scenario import Client, Scenario
from dashboard.services import capacity, events, failover, routing, support
from dashboard.services import map as map_service
from dashboard.services.scenario import load_scenario
from dashboard.settings import Settings
from tests.callbacks.test_failover_callbacks import NODE, NO_UPDATE, needs_node
from tests.conftest import ROOT

SETTINGS = Settings()
GERMANY = (Client(50.1109, 8.6821, "Frankfurt"), Client(48.1351, 11.582, "Munich"),
           Client(52.52, 13.405, "Berlin"), Client(48.8566, 2.3522, "Paris"))


def store(**kw) -> dict:
    return Scenario(clients=GERMANY, origin="eu-central-1", **kw).to_dict()


def output(out: tuple, component_id: str):
    return out[[o.component_id for o in scene.OUTPUTS].index(component_id)]


def test_bias_edit_reroutes_and_writes_link_and_store(catalog):
    ev = events.scenario_event(events.EDIT, "", {"op": "bias", "set": {"FRA": 20}, "nonce": 1},
                               "eu-central-1", "CLB", store(), catalog, SETTINGS)
    assert ev.changed and ev.loaded.scenario.bias == (("FRA", 20.0),)
    assert "bias=FRA:20" in ev.url_search and ev.store["bias"] == {"FRA": 20.0}
    assert ev.notices[0][0] == "info" and "FRA +20 ms" in ev.notices[0][1]
    view = map_service.map_view(ev.loaded, catalog)
    assert "FRA" not in set(view.routes["pop_id"])


def test_unknown_pop_in_a_bias_edit_is_refused(catalog):
    ev = events.scenario_event(events.EDIT, "", {"op": "bias", "set": {"XYZ": 5}, "nonce": 1},
                               "eu-central-1", "CLB", store(), catalog, SETTINGS)
    assert ev is None or not ev.changed
    if ev is not None:
        assert ev.notices[0][0] == "error" and "XYZ" in ev.notices[0][1]


def test_link_with_a_bias_opens_with_it_and_drops_unknown_ids(catalog):
    ev = events.scenario_event(events.PAGE_LOAD, "?clients=50.11,8.68&bias=FRA:%2B15,QQQ:5",
                               None, None, None, None, catalog, SETTINGS)
    assert ev.loaded.scenario.bias == (("FRA", 15.0),)
    assert any("QQQ" in text for _level, text in ev.notices)


def test_capacity_tab_shows_load_moving_and_catchments_redraw(catalog):
    plain = load_scenario(store(), catalog, SETTINGS)
    biased = load_scenario(store(bias={"FRA": 20}), catalog, SETTINGS)
    rows = {r["id"]: r for r in capacity.capacity_page(biased, catalog, True).rows}
    assert rows["FRA"]["bias_ms"] == 20.0 and rows["FRA"]["clients"] == 0
    assert rows["FRA"]["unbiased_gbps"] > 0 and rows["FRA"]["bias_delta_gbps"] < 0
    gained = {p for p, r in rows.items() if (r["bias_delta_gbps"] or 0) > 0}
    assert gained and gained <= {"CDG", "LHR", "MAD"}
    assert sum(r["bias_delta_gbps"] or 0 for r in rows.values()) == 0
    plain_rows = {r["id"]: r for r in capacity.capacity_page(plain, catalog, False).rows}
    assert all(r["bias_delta_gbps"] is None and r["bias_ms"] is None
               and r["unbiased_gbps"] == r["nominal_gbps"] for r in plain_rows.values())
    assert rows["MAD"]["bias_ms"] is None
    fra = list(catalog.pop_ids).index("FRA")
    cells = [capacity.catchments(catalog, frozenset(), bias=b)[2] for b in ((), (("FRA", 10),))]
    assert (cells[1] == fra).sum() < (cells[0] == fra).sum()
    out = scene.capacity_outputs(biased, ["on"], catalog)
    table = out[3]
    assert next(r for r in table if r["id"] == "FRA")["bias_delta_gbps"] < 0
    bars = out[2]
    assert "Without the bias" in [t.name for t in bars.data]
    # N-1 follows the biased ranking, and its key says so (unchanged without a bias)
    assert capacity.n1_key(biased.scenario, "eu-central-1") != capacity.n1_key(
        plain.scenario, "eu-central-1")
    assert "bias" not in json.dumps(plain.scenario.to_dict())


def test_a_bias_change_animates_like_a_pop_down(catalog):
    loaded = load_scenario(store(), catalog, SETTINGS)
    prev = failover.routing_state(loaded.scenario, loaded.origin_id)
    assert "bias" not in prev
    biased = load_scenario(store(bias={"FRA": 20}), catalog, SETTINGS)
    view = map_service.map_view(biased, catalog, prev)
    assert view.failover.state["bias"] == {"FRA": 20.0}
    assert view.failover.tr is not None and view.failover.tr.moved.sum() == 3
    assert view.failover.frames["clients"] and "announcement bias FRA +20 ms" in \
        view.failover.title
    back = map_service.map_view(loaded, catalog, view.failover.state)
    assert "announcement bias reset" in back.failover.title
    assert failover.is_routing_state(view.failover.state)
    assert not failover.is_routing_state({**view.failover.state, "bias": [1]})


def test_explain_mentions_the_bias_only_when_it_changed_the_answer(catalog):
    s = Scenario.from_dict(store(bias={"FRA": 20}))
    for policy in ("geographic", "network"):
        e = support.explain_client(catalog, s.with_policy(policy), 1, "eu-central-1").explanation
        assert e.chosen != "FRA"
        assert any("announcement bias changed the answer" in x and "FRA +20 ms" in x
                   for x in e.facts)
    berlin_far = Scenario.from_dict(store(bias={"SIN": 20}))
    e = support.explain_client(catalog, berlin_far, 2, "eu-central-1").explanation
    assert not any("announcement bias" in x for x in e.facts)
    e = support.explain_client(catalog, Scenario.from_dict(store(bias={"FRA": 10})), 1,
                               "eu-central-1").explanation
    # Munich: CDG 689 km vs FRA 309 km + ~470 km: the margin the ranking saw, said so
    assert e.runner_up == "FRA" and 0 < e.margin_km < 200
    assert any("km farther counting the announcement bias" in x for x in e.facts)


def test_exports_carry_the_bias(catalog):
    s = Scenario.from_dict(store(bias={"FRA": 20, "LHR": -5}))
    text = exports.scenario_to_json(s)
    assert exports.scenario_from_json(text, catalog.pop_ids, catalog.origin_ids) == s
    doc = json.loads(text)
    doc["scenario"]["bias"] = {"FRA": 500}
    try:
        exports.scenario_from_json(json.dumps(doc), catalog.pop_ids, catalog.origin_ids)
        raise AssertionError("an out-of-range bias was imported")
    except exports.ScenarioImportError as exc:
        assert "scenario.bias.FRA" in str(exc) and "outside" in str(exc)
    doc["scenario"]["bias"] = {"XYZ": 5}
    try:
        exports.scenario_from_json(json.dumps(doc), catalog.pop_ids, catalog.origin_ids)
        raise AssertionError("an unknown access point was imported")
    except exports.ScenarioImportError as exc:
        assert "scenario.bias.XYZ" in str(exc)
    df = map_service.assignment_frame(load_scenario(s.to_dict(), catalog, SETTINGS), catalog)
    assert df["bias"].unique().tolist() == ["FRA:+20,LHR:-5"]


def test_memo_keys_unchanged_without_a_bias(catalog, monkeypatch):
    calls = []

    def spy(*args):
        calls.append(args)
        return "x"

    monkeypatch.setattr(routing, "_route_table", spy)
    monkeypatch.setattr(routing, "_nearest", spy)
    monkeypatch.setattr(routing, "_rank_for_point", spy)
    pts = ((50.1, 8.7),)
    routing.route_table(catalog, pts, "eu-central-1")
    routing.route_table(catalog, pts, "eu-central-1", bias=())
    routing.route_table(catalog, pts, "eu-central-1", bias=(("FRA", 0.0),))
    assert calls[0] == calls[1] == calls[2] and len(calls[0]) == 6
    routing.route_table(catalog, pts, "eu-central-1", bias=(("FRA", 5.0),))
    assert calls[3][-1] == (("FRA", 5.0),) and calls[3][:6] == calls[0]
    calls.clear()
    routing.nearest_answer(catalog, 50.1, 8.7, "eu-central-1")
    routing.nearest_answer(catalog, 50.1, 8.7, "eu-central-1", bias=())
    routing.rank_for_point(catalog, 50.1, 8.7, "eu-central-1")
    routing.rank_for_point(catalog, 50.1, 8.7, "eu-central-1", bias=())
    assert calls[0] == calls[1] and calls[2] == calls[3]


def test_cli_bias(capsys):
    assert cli.main(["nearest", "--lat", "48.1", "--lon", "11.6", "--bias", "FRA:+20",
                     "--k", "1"]) == 0
    out = capsys.readouterr().out
    assert "bias: FRA +20 ms" in out and "FRA" not in out.split("\n", 2)[2].split("\n")[0]
    assert cli.main(["nearest", "--lat", "48.1", "--lon", "11.6", "--bias", "XYZ:5"]) == 2
    assert "unknown access point XYZ" in capsys.readouterr().err
    assert cli.main(["nearest", "--lat", "48.1", "--lon", "11.6", "--bias", "FRA:+20",
                     "--bias", "CDG:-5", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["bias"] == {"CDG": -5.0, "FRA": 20.0}


_PLAN = """
const fs = require('fs'), vm = require('vm');
const [src, fn, args, triggered] = JSON.parse(fs.readFileSync(0, 'utf8'));
const NU = {};
const win = {dash_clientside: {no_update: NU, callback_context: {triggered: triggered}}};
vm.runInContext(src, vm.createContext({window: win, Object: Object}));
const out = win.dash_clientside.anycastPlan[fn].apply(null, args);
process.stdout.write(JSON.stringify(out, (k, v) => v === NU ? 'no_update'
                                    : k === 'nonce' ? undefined : v));
"""


def plan_js(fn: str, *args, trigger: tuple | None = None):
    """``anycastPlan[fn](*args)`` of ``assets/capacity_plan.js`` in Node."""
    triggered = []
    if trigger is not None:
        cid, prop, value = trigger
        cid = json.dumps(cid, sort_keys=True, separators=(",", ":"))
        triggered = [{"prop_id": f"{cid}.{prop}", "value": value}]
    src = (ROOT / "assets" / "capacity_plan.js").read_text()
    proc = subprocess.run([NODE, "-e", _PLAN], input=json.dumps([src, fn, list(args),
                                                                 triggered]),
                          capture_output=True, text=True, timeout=30, check=True)
    return json.loads(proc.stdout)


@needs_node
def test_sliders_write_a_bias_edit_only_for_a_real_change():
    fra = ids.bias_slider("FRA")
    got = plan_js("bias", [20, 0], [fra, ids.bias_slider("LHR")], {}, trigger=(fra, "value", 20))
    assert got == {"op": "bias", "set": {"FRA": 20}}
    assert plan_js("bias", [20], [fra], {"bias": {"FRA": 20}},
                   trigger=(fra, "value", 20)) == NO_UPDATE
    # a link's +80 ms shows at the slider's end (+50): that is not a user change
    assert plan_js("bias", [50], [fra], {"bias": {"FRA": 80}},
                   trigger=(fra, "value", 50)) == NO_UPDATE
    assert plan_js("biasReset", 1) == {"op": "bias", "reset": True}
    assert plan_js("biasReset", 0) == NO_UPDATE
    shown = plan_js("biasShow", {"bias": {"FRA": 80, "LHR": -10}}, [0, -10, 5],
                    [fra, ids.bias_slider("LHR"), ids.bias_slider("CDG")])
    assert shown == [50, NO_UPDATE, 0]
    assert plan_js("biasShow", {}, [0], [fra]) == NO_UPDATE
