"""Failover callbacks as plain functions: edits, the planned transition, endpoint semantics."""

from __future__ import annotations

import numpy as np
import pytest
from dash import no_update

from dashboard import ids
from dashboard.figures import map as map_figures
from dashboard.callbacks import failover as fo
from dashboard.callbacks import results
from dashboard.callbacks import scenario as sc
from dashboard.domain.failover import DEFAULT_FRAMES, plan_frame
from dashboard.domain.scenario import Client, Scenario
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
    return results.compute_view(current, prev, None, catalog_(), SETTINGS)[:8]  # without the map base key


_CAT = {}


def catalog_():
    return _CAT["c"]


@pytest.fixture(autouse=True)
def _bind(catalog):
    _CAT["c"] = catalog


def test_pill_and_marker_click_toggle_a_pop(catalog):
    s = Scenario.from_dict(store())
    new, notices = sc.apply_edit(s, fo.click_edit(
        {"points": [{"customdata": "CDG", "curveNumber": 6}]}, catalog.pop_ids), 100,
        "eu-central-1", catalog.pop_ids)
    assert new.down == {"CDG"} and "CDG marked down" in notices[0][1]
    back, _ = sc.apply_edit(new, sc.edit("toggle_pop", pop="CDG"), 100, "eu-central-1",
                            catalog.pop_ids)
    assert back.down == frozenset()
    # clicks on clients (int customdata) or origins are not PoP toggles
    assert fo.click_edit({"points": [{"customdata": 3}]}, catalog.pop_ids) is None
    assert fo.click_edit({"points": [{"customdata": "eu-central-1"}]}, catalog.pop_ids) is None
    assert fo.click_edit(None, catalog.pop_ids) is None
    bad, notices = sc.apply_edit(s, sc.edit("toggle_pop", pop="XXX"), 100, "eu-central-1",
                                 catalog.pop_ids)
    assert bad == s and notices[0][0] == "error"


def test_pill_looks_follow_the_scenario(catalog):
    classes, titles, count = fo.pop_pill_looks(store(down=frozenset({"CDG"})), catalog.pop_ids,
                                               {"CDG": "Paris"})
    i = list(catalog.pop_ids).index("CDG")
    assert "pop-down" in classes[i] and sum("pop-down" in c for c in classes) == 1
    assert "DOWN" in titles[i] and count == f"{len(catalog.pop_ids) - 1} of 19 up"
    assert fo.pop_pill_looks(store(down=frozenset(catalog.pop_ids)), catalog.pop_ids,
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
    # the figure starts at frame 0 in the moving layers ...
    mi = trace(fig, map_figures.MOVING_INTERNET)
    assert list(np.asarray(mi.lat, float)[:2]) == pytest.approx(
        [v for v in plan_frame(frames, 0)[0][0][:2]])
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
    text = str(fo.whatif_rows(store(**mapped, endpoints_down=frozenset({"us-east-1"})),
                              catalog, SETTINGS))
    assert "us-east-1's PoPs → default" in text and "6/6" in text and "3/6" in text


def test_default_endpoint_down_then_what_if_remap(catalog):
    s = Scenario.from_dict(store(endpoints_down=frozenset({"eu-central-1"})))
    _, rows, *_ = view(s.to_dict(), None)
    assert all(r["origin"] == "unserved (endpoint down)" for r in rows)
    remap, notices = sc.apply_edit(s, sc.edit("endpoint_default", region="us-east-1"), 100,
                                   "eu-central-1", catalog.pop_ids)
    assert remap.origin == "us-east-1" and remap.endpoints_down == frozenset()
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
    (dict(op="endpoint_add", region="us-west-1", pops=[]), "at least one access point"),
    (dict(op="endpoint_add", region="us-west-1", pops=["IAD"]), "mapped to both"),
    (dict(op="endpoint_map", region="us-east-1", pops=[]), "at least one access point"),
    (dict(op="endpoint_remove", region="eu-central-1"), "Default endpoint"),
    (dict(op="endpoint_down", region="us-west-1"), "no endpoint"),
])
def test_endpoint_rule_violations_keep_the_state_and_say_why(catalog, request_, message):
    s = Scenario.from_dict(store(mappings=(("us-east-1", ("IAD",)),)))
    new, notices = sc.apply_edit(s, sc.edit(**request_), 100, "eu-central-1", catalog.pop_ids)
    assert new == s
    assert notices[0][0] == "error" and message in notices[0][1]
    # repeated next to the endpoint controls
    shown = fo.endpoint_messages(sc.render_notices(notices))
    assert message in shown[0].children


def test_add_form_is_kept_when_rejected_and_cleared_when_accepted(catalog):
    cur = store(mappings=(("us-east-1", ("IAD",)),))
    req, region, pops = fo.endpoint_edit(ids.ENDPOINT_ADD, 1, cur, "us-west-1", ["IAD"],
                                         catalog, SETTINGS)
    assert req["op"] == "notice" and "mapped to both" in req["notices"][0]["text"]
    assert region is no_update and pops is no_update
    req, region, pops = fo.endpoint_edit(ids.ENDPOINT_ADD, 2, cur, "us-west-1", ["SJC"],
                                         catalog, SETTINGS)
    assert req["op"] == "endpoint_add" and (region, pops) == (None, [])
    # a re-rendered dropdown equal to the stored mapping is not an edit
    assert fo.endpoint_edit(ids.endpoint_control("pops", "us-east-1"), ["IAD"], cur, None, None,
                            catalog, SETTINGS)[0] is no_update
    assert fo.endpoint_edit(ids.endpoint_control("down", "us-east-1"), 0, cur, None, None,
                            catalog, SETTINGS)[0] is no_update
    assert fo.endpoint_edit(ids.endpoint_control("down", "us-east-1"), 1, cur, None, None,
                            catalog, SETTINGS)[0]["op"] == "endpoint_down"


def test_origin_dropdown_makes_a_normal_endpoint_the_default(catalog):
    cur = store(mappings=(("us-east-1", ("IAD",)), ("ap-southeast-1", ("SIN",))),
                endpoints_down=frozenset({"eu-central-1"}))
    out = sc.scenario_event(ids.ORIGIN, "", None, "us-east-1", "CLB", cur, catalog, SETTINGS)
    s = Scenario.from_dict(out[0])
    assert s.origin == "us-east-1" and s.mappings == (("ap-southeast-1", ("SIN",)),)
    assert s.endpoints_down == frozenset()
    assert "endpoints=ap-southeast-1:SIN" in out[1]


def test_link_with_endpoints_round_trips_and_sanitizes(catalog):
    q = ("?clients=1,2&origin=eu-central-1&endpoints=us-east-1:IAD,ORD;us-west-1:IAD,SJC;"
         "eu-central-1:FRA;mars-1:XYZ&endpoints_down=us-east-1,cn-hongkong")
    store_, url, *_, notice = sc.scenario_event(None, q, None, None, None, None, catalog,
                                                SETTINGS)
    s = Scenario.from_dict(store_)
    assert s.mappings == (("us-east-1", ("IAD", "ORD")), ("us-west-1", ("SJC",)))
    assert s.endpoints_down == {"us-east-1"}
    text = " ".join(c.children for c in notice)
    for fragment in ("mapped to both", "one endpoint per region", "mars-1", "cn-hongkong"):
        assert fragment in text
    assert url == ("?clients=1,2&origin=eu-central-1&endpoints=us-east-1:IAD,ORD;us-west-1:SJC"
                   "&endpoints_down=us-east-1")


def test_endpoint_rows_and_assets_use_our_ids(catalog):
    rows = fo.endpoint_rows(store(mappings=(("us-east-1", ("IAD",)),),
                                  endpoints_down=frozenset({"us-east-1"})), catalog, SETTINGS)
    assert len(rows) == 2 and "Default" in str(rows[0]) and "DOWN" in str(rows[1])
    assert "is-down" in rows[1].className
    js = (ROOT / "assets" / "failover.js").read_text()
    assert f"MAP_ID = '{ids.WORLD_MAP}'" in js and f"STATUS_ID = '{ids.FAILOVER_STATUS}'" in js
    assert "anycastFailover" in js and "requestAnimationFrame" in js
