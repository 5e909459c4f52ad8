"""Failover as plain functions: edits, the planned transition, endpoint semantics.

The server side is called as the scene callback calls it (:func:`services.events.scenario_event`,
:func:`callbacks.scene.scene_outputs` / ``map_outputs``, the reducer
:func:`domain.edits.apply_edit`, the view services and the ``layout.map`` renderers). The widgets
that turn a click into an edit request run in the browser (``assets/edits.js``): the requests
they write are fed to the server here, and the translators themselves are run in Node
(:func:`edits_js`) where no browser test covers them.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest
from dash import no_update

from dashboard import ids
from dashboard.callbacks import scene
from dashboard.domain.edits import EditContext, apply_edit
from dashboard.domain.failover import DEFAULT_FRAMES, plan_frame
from dashboard.domain.scenario import Client, Scenario
from dashboard.figures import map as map_figures
from dashboard.layout import map as map_layout
from dashboard.services import endpoints, events
from dashboard.services.scenario import load_scenario
from dashboard.settings import ROOT, Settings

SETTINGS = Settings()
CITIES = (Client(48.8566, 2.3522, "Paris"), Client(45.76, 4.84, "Lyon"),
          Client(40.71, -74.0, "New York"), Client(35.68, 139.69, "Tokyo"),
          Client(-23.55, -46.63, "Sao Paulo"), Client(41.88, -87.63, "Chicago"))


def store(**kw) -> dict:
    return Scenario(clients=CITIES, origin="eu-central-1", **kw).to_dict()


def trace(fig, name):
    return fig.data[map_figures.map_trace_index(name)]


def view(current, prev):
    """The map tab's outputs for the store ``current`` after the page showed routing state
    ``prev`` (:data:`scene.MAP_OUT` without the map base key)."""
    loaded = load_scenario(current, catalog_(), SETTINGS)
    return scene.map_outputs(loaded, scene.PageState(prev=prev), catalog_())[:8]


def edit(s: Scenario, request: dict, catalog) -> tuple[Scenario, list]:
    """The reducer with the limits the page uses (100 clients, Default endpoint eu-central-1)."""
    return apply_edit(s, request, EditContext(max_clients=100, default_region="eu-central-1",
                                              pop_ids=tuple(catalog.pop_ids)))


def output(out: tuple, component_id: str):
    """The value of ``component_id``'s output in a :func:`scene.scene_outputs` tuple."""
    return out[[o.component_id for o in scene.OUTPUTS].index(component_id)]


def pills(catalog) -> list[str]:
    return list(catalog.pop_ids)


_CAT = {}


def catalog_():
    return _CAT["c"]


@pytest.fixture(autouse=True)
def _bind(catalog):
    _CAT["c"] = catalog


# -- the browser's widget translators (assets/edits.js), run in Node -------------------------------

NODE = shutil.which("node")
NO_UPDATE = "no_update"
_RUNNER = """
const fs = require('fs'), vm = require('vm');
const [src, fn, args, triggered] = JSON.parse(fs.readFileSync(0, 'utf8'));
const NU = {};
const win = {dash_clientside: {no_update: NU, callback_context: {triggered: triggered}}};
vm.runInContext(src, vm.createContext({window: win}));
const out = win.dash_clientside.anycastEdits[fn].apply(null, args);
process.stdout.write(JSON.stringify(out, (k, v) => v === NU ? 'no_update'
                                    : k === 'nonce' ? undefined : v));
"""


def edits_js(fn: str, *args, trigger: tuple | None = None):
    """``window.dash_clientside.anycastEdits[fn](*args)`` of ``assets/edits.js`` as Dash's
    renderer calls it, ``trigger`` = (component id, property, value) of the input that fired.
    ``no_update`` comes back as :data:`NO_UPDATE`; the request's random ``nonce`` is dropped."""
    triggered = []
    if trigger is not None:
        cid, prop, value = trigger
        if isinstance(cid, dict):
            cid = json.dumps(cid, sort_keys=True, separators=(",", ":"))
        triggered = [{"prop_id": f"{cid}.{prop}", "value": value}]
    src = (ROOT / "assets" / "edits.js").read_text()
    proc = subprocess.run([NODE, "-e", _RUNNER], input=json.dumps([src, fn, list(args),
                                                                    triggered]),
                          capture_output=True, text=True, timeout=30, check=True)
    return json.loads(proc.stdout)


needs_node = pytest.mark.skipif(NODE is None, reason="Node.js runs assets/edits.js")


def test_pill_and_marker_click_toggle_a_pop(catalog):
    # A click on a pill or on an access point's marker writes {"op": "toggle_pop", "pop": ...}
    # in the browser (assets/edits.js: pill, mapClick; tests/e2e/test_failover_e2e.py clicks
    # the CDG pill, then its marker); the one round trip applies it.
    ev = events.scenario_event(events.EDIT, "", {"op": "toggle_pop", "pop": "CDG", "nonce": 1},
                               "eu-central-1", "CLB", store(), catalog, SETTINGS)
    assert ev.changed and ev.loaded.scenario.down == {"CDG"}
    assert "CDG marked down" in ev.notices[0][1] and "down=CDG" in ev.url_search
    s = Scenario.from_dict(store())
    new, _ = edit(s, {"op": "toggle_pop", "pop": "CDG"}, catalog)
    back, _ = edit(new, {"op": "toggle_pop", "pop": "CDG"}, catalog)
    assert new.down == {"CDG"} and back.down == frozenset()
    bad, notices = edit(s, {"op": "toggle_pop", "pop": "XXX"}, catalog)
    assert bad == s and notices[0][0] == "error"


@needs_node
def test_only_clicks_on_an_access_point_are_pop_toggles(catalog):
    layers = {"clients": map_figures.map_trace_index(map_figures.CLIENTS)}
    pill_ids = [ids.pop_toggle(p) for p in catalog.pop_ids]
    marker = {"points": [{"customdata": "CDG", "curveNumber": 6}]}
    assert edits_js("mapClick", marker, store(), layers, pill_ids) == [
        {"op": "toggle_pop", "pop": "CDG"}, NO_UPDATE, NO_UPDATE, NO_UPDATE]
    # clicks on clients (int customdata: selected for the support tab) or origins are not
    # PoP toggles; nor is no click at all
    client = {"points": [{"customdata": 3, "curveNumber": layers["clients"]}]}
    assert edits_js("mapClick", client, store(), layers, pill_ids) == [
        NO_UPDATE, 3, NO_UPDATE, NO_UPDATE]
    origin = {"points": [{"customdata": "eu-central-1", "curveNumber": 1}]}
    assert edits_js("mapClick", origin, store(), layers, pill_ids) == [NO_UPDATE] * 4
    assert edits_js("mapClick", None, store(), layers, pill_ids) == [NO_UPDATE] * 4
    # a pill: its id names the access point; a freshly rendered pill (n_clicks 0) is no click
    assert edits_js("pill", trigger=(ids.pop_toggle("CDG"), "n_clicks", 1)) == {
        "op": "toggle_pop", "pop": "CDG"}
    assert edits_js("pill", trigger=(ids.pop_toggle("CDG"), "n_clicks", 0)) == NO_UPDATE


def test_pill_looks_follow_the_scenario(catalog):
    # what the round trip sends to the pills, in the order Dash lists them
    ev = events.scenario_event(events.PAGE_LOAD, "?clients=1,2&down=CDG", None, None, None,
                               None, catalog, SETTINGS)
    out = scene.scene_outputs(ev, scene.PageState(), pills(catalog), catalog)
    first = len(scene.SCENARIO_OUT) + len(scene.MAP_OUT)
    classes, titles, count = out[first:first + 3]
    i = list(catalog.pop_ids).index("CDG")
    assert "pop-down" in classes[i] and sum("pop-down" in c for c in classes) == 1
    assert "DOWN" in titles[i] and count == f"{len(catalog.pop_ids) - 1} of 19 up"
    assert map_layout.pill_looks(frozenset(catalog.pop_ids), catalog.pop_ids,
                                 {})[2] == "all 19 down: no route"


def test_pop_down_plans_an_animation_that_lands_on_the_new_state(catalog):
    before = store()
    fig0, rows0, *_, frames0, card0, prev = view(before, None)
    assert frames0["clients"] == [] and fig0.layout.meta["failover"] == ""
    after = store(down=frozenset({"CDG"}))
    fig, rows, _, _, _, frames, card, state = view(after, prev)
    # Paris and Lyon used CDG: only they move (rows 0 and 1)
    assert frames["clients"] == [0, 1] and frames["n"] == DEFAULT_FRAMES >= 20
    assert fig.layout.meta["failover"] == frames["id"]
    t = frames["traces"]
    assert t["moving_internet"] == map_figures.map_trace_index(map_figures.MOVING_INTERNET)
    # the figure brings the final state: the moving layers hold the LAST frame, hidden until
    # the browser has swept the frames on its overlay (one full map redraw per click) ...
    mi = trace(fig, map_figures.MOVING_INTERNET)
    assert list(np.asarray(mi.lat, float)[:2]) == pytest.approx(
        [v for v in plan_frame(frames, frames["n"] - 1)[0][0][:2]])
    assert mi.opacity == 0 and trace(fig0, map_figures.MOVING_INTERNET).opacity > 0.5
    # ... and the static internet layer no longer holds the movers' paths (4 others remain)
    static = np.asarray(trace(fig, map_figures.LEG_INTERNET).lat, float)
    assert np.isnan(static).sum() == 3
    # the last frame ends each mover exactly at its freshly computed PoP
    pops = catalog.pops.set_index("id")
    last = plan_frame(frames, -1)[0]
    for k, row in enumerate(frames["clients"]):
        pid = rows[row]["pop"].split(" ")[0]
        assert (last[0][3 * k + 1], last[1][3 * k + 1]) == pytest.approx(
            (pops.loc[pid, "lat"], pops.loc[pid, "lon"]), abs=1e-5)
    assert rows[0]["moved"] == 1 and rows[0]["before"].startswith("CDG") and \
        rows[2]["moved"] == 0 and rows[2]["before"] == ""
    assert "Last change: CDG down" in str(card)
    # bringing CDG back animates the return to the original PoP
    _, rows2, _, _, _, frames2, _, _ = view(before, state)
    assert frames2["clients"] == [0, 1]
    cdg = (pops.loc["CDG", "lat"], pops.loc["CDG", "lon"])
    back = plan_frame(frames2, -1)[0]
    assert (back[0][1], back[1][1]) == pytest.approx(cdg)
    assert [r["pop"] for r in rows2] == [r["pop"] for r in rows0]


def test_adding_a_client_is_not_a_failover(catalog):
    *_, prev = view(store(), None)
    s = Scenario.from_dict(store()).add_clients([Client(1, 1)])[0]
    out = view(s.to_dict(), prev)
    assert out[5]["clients"] == [] and "mark an access point down" in str(out[6])


def test_all_pops_down_every_client_shows_no_route(catalog):
    *_, prev = view(store(), None)
    fig, rows, summary, _, _, frames, card, _ = view(store(down=frozenset(catalog.pop_ids)), prev)
    assert all(r["pop"] == "no route (all down)" and r["cut_off"] == 1 for r in rows)
    assert len(trace(fig, map_figures.UNROUTED).lat) == len(CITIES)
    assert "every access point is down" in str(card) and "without route" in str(summary)
    # the paths retract to the clients: internet legs collapse onto the client
    last = plan_frame(frames, -1)[0]
    assert last[0][0::3] == last[0][1::3]


def test_endpoint_outage_leaves_clients_unserved_no_failover(catalog):
    mapped = dict(mappings=(("us-east-1", ("IAD", "ORD", "GRU")),))
    *_, prev = view(store(**mapped), None)
    fig, rows, summary, _, _, frames, card, _ = view(
        store(**mapped, endpoints_down=frozenset({"us-east-1"})), prev)
    by = {r["client"]: r for r in rows}
    for name in ("New York", "Chicago", "Sao Paulo"):  # same PoP, no reroute, unserved
        assert by[name]["origin"] == "unserved (endpoint down)" and by[name]["cut_off"] == 1
        assert by[name]["anycast_ms"] is None and by[name]["moved"] == 1
    assert by["New York"]["pop"].startswith("IAD")
    assert by["Paris"]["origin"] == "eu-central-1" and by["Paris"]["moved"] == 0
    assert len(trace(fig, map_figures.UNSERVED).lat) == 3
    assert list(trace(fig, map_figures.ENDPOINTS_DOWN).customdata) == ["us-east-1"]
    assert "unserved (endpoint down)" in str(summary) and "does not fail over" in str(card)
    # the backbone legs of the movers retract onto their PoP (no other endpoint takes over)
    last = plan_frame(frames, -1)[1]
    assert last[0][0::3] == last[0][1::3]
    # what-if: the remap choices with their latency
    loaded = load_scenario(store(**mapped, endpoints_down=frozenset({"us-east-1"})), catalog,
                           SETTINGS)
    text = str(map_layout.render_whatif(endpoints.whatif_lines(loaded, catalog)))
    assert "us-east-1's PoPs → default" in text and "6/6" in text and "3/6" in text


def test_default_endpoint_down_then_what_if_remap(catalog):
    s = Scenario.from_dict(store(endpoints_down=frozenset({"eu-central-1"})))
    _, rows, *_ = view(s.to_dict(), None)
    assert all(r["origin"] == "unserved (endpoint down)" for r in rows)
    remap, notices = edit(s, {"op": "endpoint_default", "region": "us-east-1"}, catalog)
    # Issue 15: the old Default is demoted to Normal (no access point: no traffic), still down.
    assert remap.origin == "us-east-1" and remap.endpoints_down == frozenset({"eu-central-1"})
    assert ("eu-central-1", ()) in remap.mappings
    _, rows, *_ = view(remap.to_dict(), None)
    assert all(r["origin"] == "us-east-1" and r["anycast_ms"] for r in rows)


def test_mapping_moves_the_backbone_leg(catalog):
    *_, prev = view(store(), None)
    fig, rows, *_, frames, _, _ = view(
        store(mappings=(("ap-southeast-1", ("NRT",)),)), prev)
    tokyo = next(r for r in rows if r["client"] == "Tokyo")
    assert tokyo["origin"] == "ap-southeast-1" and tokyo["moved"] == 1
    sg = catalog.origins.set_index("id").loc["ap-southeast-1"]
    last = plan_frame(frames, -1)[1]
    assert (last[0][1], last[1][1]) == pytest.approx((sg["lat"], sg["lon"]))
    assert "ap-southeast-1" in list(trace(fig, map_figures.ORIGIN_SELECTED).customdata)


@pytest.mark.parametrize("request_, message", [
    (dict(op="endpoint_add", region="eu-central-1", pops=["SIN"]), "one endpoint per region"),
    (dict(op="endpoint_promote", region="ap-southeast-1"), "pick which"),
    (dict(op="endpoint_add", region="us-west-1", pops=["IAD"]), "mapped to both"),
    (dict(op="endpoint_map", region="nowhere-1", pops=[]), "no Normal endpoint"),
    (dict(op="endpoint_remove", region="eu-central-1"), "at random: pick which"),
    (dict(op="endpoint_down", region="us-west-1"), "no endpoint"),
])
def test_endpoint_rule_violations_keep_the_state_and_say_why(catalog, request_, message):
    s = Scenario.from_dict(store(mappings=(("us-east-1", ("IAD",)),)))
    new, notices = edit(s, request_, catalog)
    assert new == s
    assert notices[0][0] == "error" and message in notices[0][1]
    # repeated next to the endpoint controls
    shown = map_layout.render_endpoint_messages(notices)
    assert message in shown[0].children


def test_add_form_is_kept_when_rejected_and_cleared_when_accepted(catalog):
    cur = store(mappings=(("us-east-1", ("IAD",)),))
    page = scene.PageState()

    def submit(region, pops):
        # the request the add button writes (assets/edits.js: endpoint), then the round trip
        ev = events.scenario_event(events.EDIT, "", {"op": "endpoint_add", "region": region,
                                                     "pops": pops}, "eu-central-1", "CLB", cur,
                                   catalog, SETTINGS)
        return scene.scene_outputs(ev, page, pills(catalog), catalog)

    out = submit("us-west-1", ["IAD"])
    assert output(out, ids.SCENARIO) is no_update
    assert "mapped to both" in str(output(out, ids.NOTICE))
    assert "mapped to both" in str(output(out, ids.ENDPOINT_MESSAGE))
    assert output(out, ids.ENDPOINT_ADD_REGION) is no_update
    assert output(out, ids.ENDPOINT_ADD_POPS) is no_update
    out = submit("us-west-1", ["SJC"])
    assert Scenario.from_dict(output(out, ids.SCENARIO)).mappings == (
        ("us-east-1", ("IAD",)), ("us-west-1", ("SJC",)))
    assert (output(out, ids.ENDPOINT_ADD_REGION), output(out, ids.ENDPOINT_ADD_POPS)) == (None, [])


@needs_node
def test_endpoint_controls_write_an_edit_only_for_a_user_action(catalog):
    cur = store(mappings=(("us-east-1", ("IAD",)),))

    def endpoint(trigger, region=None, pops=None):
        # endpoint(add clicks, 6 pattern inputs, store, add region, add pops), as registered
        # in dashboard/callbacks/widgets.py
        return edits_js("endpoint", 1, [], [], [], [], [], [], cur, region, pops,
                        trigger=trigger)

    assert endpoint((ids.ENDPOINT_ADD, "n_clicks", 2), "us-west-1", ["SJC"]) == {
        "op": "endpoint_add", "region": "us-west-1", "pops": ["SJC"]}
    assert endpoint((ids.ENDPOINT_ADD, "n_clicks", 0), "us-west-1", ["SJC"]) == NO_UPDATE
    # a re-rendered dropdown equal to the stored mapping is not an edit; a changed one is
    pops = ids.endpoint_control("pops", "us-east-1")
    assert endpoint((pops, "value", ["IAD"])) == NO_UPDATE
    assert endpoint((pops, "value", ["IAD", "ORD"])) == {
        "op": "endpoint_map", "region": "us-east-1", "pops": ["IAD", "ORD"]}
    # a freshly rendered button (n_clicks 0) is not a click
    down = ids.endpoint_control("down", "us-east-1")
    assert endpoint((down, "n_clicks", 0)) == NO_UPDATE
    assert endpoint((down, "n_clicks", 1)) == {"op": "endpoint_down", "region": "us-east-1"}
    assert endpoint((ids.endpoint_control("whatif", "us-west-1"), "n_clicks", 1)) == {
        "op": "endpoint_default", "region": "us-west-1"}
    assert endpoint((ids.endpoint_control("unmap", "us-east-1"), "n_clicks", 1)) == {
        "op": "endpoint_remove", "region": "us-east-1"}


def test_origin_dropdown_makes_a_normal_endpoint_the_default(catalog):
    cur = store(mappings=(("us-east-1", ("IAD",)), ("ap-southeast-1", ("SIN",))),
                endpoints_down=frozenset({"eu-central-1"}))
    ev = events.scenario_event(events.ORIGIN, "", None, "us-east-1", "CLB", cur, catalog,
                               SETTINGS)
    s = Scenario.from_dict(ev.store)
    assert s.origin == "us-east-1" and s.mappings == (("ap-southeast-1", ("SIN",)),)
    assert s.endpoints_down == frozenset()
    assert "endpoints=ap-southeast-1:SIN" in ev.url_search
    # the endpoint list follows in the same round trip (the select already shows the choice)
    out = scene.scene_outputs(ev, scene.PageState(), pills(catalog), catalog)
    assert output(out, ids.ORIGIN) is no_update
    first = str(output(out, ids.ENDPOINTS_LIST)[0])
    assert "us-east-1" in first and "Default" in first


def test_link_with_endpoints_round_trips_and_sanitizes(catalog):
    q = ("?clients=1,2&origin=eu-central-1&endpoints=us-east-1:IAD,ORD;us-west-1:IAD,SJC;"
         "eu-central-1:FRA;mars-1:XYZ&endpoints_down=us-east-1,cn-hongkong")
    ev = events.scenario_event(events.PAGE_LOAD, q, None, None, None, None, catalog, SETTINGS)
    out = scene.scene_outputs(ev, scene.PageState(), pills(catalog), catalog)
    url, notice = output(out, ids.URL), output(out, ids.NOTICE)
    s = Scenario.from_dict(output(out, ids.SCENARIO))
    assert s.mappings == (("us-east-1", ("IAD", "ORD")), ("us-west-1", ("SJC",)))
    assert s.endpoints_down == {"us-east-1"}
    text = " ".join(c.children for c in notice)
    for fragment in ("mapped to both", "one endpoint per region", "mars-1", "cn-hongkong"):
        assert fragment in text
    assert url == ("?clients=1,2&origin=eu-central-1&endpoints=us-east-1:IAD,ORD;us-west-1:SJC"
                   "&endpoints_down=us-east-1")


def test_endpoint_rows_and_assets_use_our_ids(catalog):
    loaded = load_scenario(store(mappings=(("us-east-1", ("IAD",)),),
                                 endpoints_down=frozenset({"us-east-1"})), catalog, SETTINGS)
    rows = map_layout.render_endpoints(endpoints.endpoints_view(loaded, catalog))
    assert len(rows) == 2 and "Default" in str(rows[0]) and "DOWN" in str(rows[1])
    assert "is-down" in rows[1].className
    js = (ROOT / "assets" / "failover.js").read_text()
    assert f"MAP_ID = '{ids.WORLD_MAP}'" in js and f"STATUS_ID = '{ids.FAILOVER_STATUS}'" in js
    assert "anycastFailover" in js and "requestAnimationFrame" in js


# -- issue 15: endpoint rules as documented ---------------------------------------------------------

def test_the_default_row_lists_who_could_be_promoted_and_the_whatif_gives_each_outcome(catalog):
    s = Scenario(clients=CITIES, origin="eu-central-1",
                 mappings=(("us-east-1", ("IAD", "ORD")), ("ap-southeast-1", ())))
    view_ = endpoints.endpoints_view(load_scenario(s.to_dict(), catalog, SETTINGS), catalog)
    default = view_.rows[0]
    assert default.is_default and default.promote == ("us-east-1", "ap-southeast-1")
    empty = next(r for r in view_.rows if r.region == "ap-southeast-1")
    assert empty.pops == () and "no traffic" in empty.serves
    promote = [ln for ln in view_.whatif if ln.action == "promote"]
    assert [ln.region for ln in promote] == ["us-east-1", "ap-southeast-1"]
    assert all("(random)" in ln.label and ln.button == "Unbind" for ln in promote)
    assert all(ln.served == f"{len(CITIES)}/{len(CITIES)}" for ln in promote)
    # each outcome differs: Paris's median RTT grows when Singapore becomes the Default
    assert promote[0].median != promote[1].median
    rows = map_layout.render_endpoints(view_)
    assert "Unbind → us-east-1" in str(rows) and "endpoint-unbind" in str(rows)


@pytest.mark.parametrize("etype, note", [("CLB", "internal-facing"),
                                         ("ENI", "secondary private IP"),
                                         ("ALB", "one region only"), ("NLB", "one region only")])
def test_endpoint_info_states_each_documented_type_rule(catalog, etype, note):
    info = endpoints.endpoint_info(catalog, "eu-central-1", etype)
    assert note in info.constraints + info.type_label
    if etype in ("ALB", "NLB"):  # not listed in data/origins.csv: say it was not verified
        assert "could not be verified" in info.warning


def test_choosing_alb_with_normal_endpoints_is_refused_and_resets_the_radio(catalog):
    current = store(mappings=(("us-east-1", ("IAD",)),))
    ev = events.scenario_event(events.ENDPOINT_TYPE, None, None, "eu-central-1", "ALB", current,
                               catalog, SETTINGS)
    assert ev.loaded.scenario.endpoint_type == "CLB" and ev.set_widgets
    assert "one region only" in ev.notices[0][1]
