"""Values of the wrong type or shape, as only a hand-crafted callback request sends them, given to
the plain functions behind the callbacks. Each case was a 500 (an exception in the callback)
found by the fuzz tests (``tests/fuzz``); each now gives a notice, no update (``no_update`` /
``PreventUpdate``) or nothing to do -- never an exception."""

from __future__ import annotations

import base64
import json

import pytest
from dash import no_update
from dash.exceptions import PreventUpdate

from dashboard import ids
from dashboard.figures import map as map_figures
from dashboard.callbacks import capacity as cap_cb
from dashboard.callbacks import failover as fo
from dashboard.callbacks import results
from dashboard.callbacks import scenario as sc
from dashboard.callbacks import support as sup
from dashboard.domain.scenario import Client, Scenario
from dashboard.gazetteer import load_gazetteer
from dashboard.settings import Settings

SETTINGS = Settings()
HUGE = 10**400  # a JSON integer: float() of it raises OverflowError, not ValueError
S = Scenario(clients=(Client(48.8566, 2.3522, "Paris"), Client(35.6895, 139.6917, "Tokyo")),
             origin="eu-central-1", down=frozenset({"CDG"}))
STORE = S.to_dict()
#: Stores the app never writes: each raises PreventUpdate wherever the scenario is read.
BAD_STORES = [[1], "x", {"clients": "x"}, {"clients": [{"lat": HUGE, "lon": 0}]},
              {**STORE, "observed": [{"client": float("inf"), "pop": "CDG"}]},
              {**STORE, "capacity_gbps": {"CDG": HUGE}}, {**STORE, "demand_scale": -HUGE}]
CONFUSED = [None, 0, 1.5, True, "x", [], [None], [[1]], {}, {"a": [1]}, HUGE, float("nan")]


def applied(catalog, request, scenario: Scenario = S) -> tuple[Scenario, list[str]]:
    store, _url, _origin, _endpoint, notices = sc.scenario_event(
        ids.SCENARIO_EDIT, "", request, None, None, scenario.to_dict(), catalog, SETTINGS)
    return Scenario.from_dict(store), [n.children for n in notices]


# -- the scenario store ----------------------------------------------------------------------

@pytest.mark.parametrize("store", BAD_STORES[3:], ids=["lat", "observed", "capacity", "scale"])
def test_numbers_a_float_cannot_hold_are_a_value_error_not_an_overflow_error(store):
    with pytest.raises(ValueError, match="is not a"):
        Scenario.from_dict(store)


@pytest.mark.parametrize("store", BAD_STORES, ids=range(len(BAD_STORES)))
def test_a_store_the_app_did_not_write_is_no_update_in_every_view(catalog, store):
    """capacity.py and support.py fell back to an *empty* scenario (the scenario export
    downloaded an empty file, the N-1 job analysed nothing); a number a float cannot hold was an
    OverflowError (500) everywhere."""
    calls = [
        lambda: cap_cb.compute_capacity(store, catalog, True),
        lambda: cap_cb.controls_for(store, "clients", 1, 1),
        lambda: cap_cb.control_edit(ids.DEMAND_SCALE, "clients", 2, 1, store),
        lambda: cap_cb.table_edit([{"id": "CDG", "capacity_gbps": 3}], store, catalog),
        lambda: cap_cb.run_n1(store, catalog, SETTINGS),
        lambda: sup.client_options(store),
        lambda: sup.explain_body(store, 0, catalog, SETTINGS),
        lambda: sup.observe_edit(["LHR"], [{"type": ids.OBSERVED_POP, "client": 0}], store),
        lambda: sup.assignment_download(store, catalog, SETTINGS),
        lambda: sup.scenario_download(store),
        lambda: fo.endpoint_rows(store, catalog, SETTINGS),
        lambda: fo.whatif_rows(store, catalog, SETTINGS),
        lambda: results.compute_view(store, None, None, catalog, SETTINGS),
    ]
    for call in calls:
        with pytest.raises(PreventUpdate):
            call()


def test_ids_the_catalog_does_not_have_are_left_out_when_reading_the_store(catalog):
    """A Normal endpoint in an unknown region was a KeyError in the results and the endpoint
    list (a store outlives a catalog change; the edit below could write one)."""
    odd = {**STORE, "origin": "mars-1", "mappings": [["mars-2", ["CDG"]], ["us-east-1", ["ZZZ"]]],
           "endpoints_down": ["mars-2"], "down": ["CDG", "ZZZ"],
           "observed": [{"client": 0, "pop": "ZZZ"}], "capacity_gbps": {"ZZZ": 2}}
    s = sc.scenario_from_store(odd, catalog)
    assert (s.origin, s.mappings, s.endpoints_down, s.down, s.observed, s.capacity) == \
        (None, (), frozenset(), frozenset({"CDG"}), (), ())
    assert Scenario.from_dict(odd).unknown_ids(catalog.pop_ids, catalog.origin_ids) == [
        "access point ZZZ", "region mars-1", "region mars-2"]
    assert len(results.compute_view(odd, None, None, catalog, SETTINGS)) == 9
    assert fo.endpoint_rows(odd, catalog, SETTINGS) and fo.whatif_rows(odd, catalog, SETTINGS)


@pytest.mark.parametrize("request_", [
    sc.edit("endpoint_add", region="mars-1", pops=["CDG"]),
    sc.edit("endpoint_add", region="us-east-1", pops=["ZZZ"]),
    sc.edit("observe", index=0, pop="ZZZ"),
    sc.edit("capacity", capacity={"ZZZ": 2}),
    sc.edit("replace", scenario={**STORE, "down": ["ZZZ"]}, source="x.json"),
], ids=["region", "mapped pop", "observed", "capacity", "replace"])
def test_an_edit_naming_ids_the_catalog_does_not_have_is_refused(catalog, request_):
    new, notices = applied(catalog, request_)
    assert new == S
    assert len(notices) == 1 and notices[0].startswith("Not applied:")
    assert "unknown to this dashboard" in notices[0]


@pytest.mark.parametrize("request_,message", [
    ({"op": "client_set", "key": ["cities25k"]}, "unknown client set"),
    ({"op": "set_down", "down": 5}, "down must be a list"),
    ({"op": "endpoint_add", "region": "us-east-1", "pops": 7}, "pops must be a list"),
    ({"op": "endpoint_map", "region": "us-east-1", "pops": "CDG"}, "pops must be a list"),
    ({"op": "observe", "index": float("inf"), "pop": "LHR"}, "is not a whole number"),
    ({"op": "observe", "index": True, "pop": "LHR"}, "is not a whole number"),
    ({"op": "capacity", "capacity": ["CDG", 2]}, "capacity must be an object"),
    ({"op": "capacity", "capacity": {"CDG": HUGE}}, "is not a number"),
    ({"op": "capacity", "default_gbps": HUGE}, "is not a number"),
    ({"op": "replace", "scenario": {"clients": [{"lat": HUGE, "lon": 0}]}}, "not a number"),
], ids=["set key list", "down int", "pops int", "pops str", "index inf", "index bool",
        "capacity list", "capacity huge", "default huge", "replace huge"])
def test_edits_of_the_wrong_shape_are_an_error_notice_and_change_nothing(catalog, request_,
                                                                        message):
    new, notices = applied(catalog, {"nonce": 1, **request_})
    assert new == S
    assert any(message in n for n in notices), notices


def test_a_preset_value_that_is_not_text_is_no_edit(catalog):
    gazetteer = load_gazetteer()
    for value in CONFUSED:  # key.startswith was an AttributeError (500) for a number
        if not isinstance(value, str):
            assert sc.preset_edit(gazetteer, catalog, value) is None
    assert sc.preset_edit(gazetteer, catalog, "demand:cities25k")["op"] == "client_set"
    unknown = sc.preset_edit(gazetteer, catalog, "x")
    assert unknown["notices"][0]["text"].startswith("unknown preset 'x'; known: capitals")


# -- capacity planning ---------------------------------------------------------------------

@pytest.mark.parametrize("rows", [{"id": "CDG"}, "601", 3, [None], [["CDG", 3]], ["1"],
                                  [{"id": ["CDG"], "capacity_gbps": 3}],
                                  [{"id": {"a": 1}, "capacity_gbps": 3}]])
def test_utilisation_table_data_of_another_shape_is_no_edit(catalog, rows):
    assert cap_cb.table_edit(rows, STORE, catalog) is no_update


def test_a_capacity_cell_too_large_for_a_float_is_a_notice(catalog):
    req = cap_cb.table_edit([{"id": "CDG", "capacity_gbps": HUGE}], STORE, catalog)
    assert req["op"] == "notice" and "CDG" in req["notices"][0]["text"]
    assert cap_cb.control_edit(ids.DEMAND_SCALE, None, HUGE, None, STORE)["op"] == "notice"
    assert cap_cb.controls_for(STORE, "clients", HUGE, [1]) is not no_update


@pytest.mark.parametrize("source", [["clients"], {"a": 1}, "everyone", 1])
def test_a_demand_source_that_is_not_one_of_the_two_is_no_edit(source):
    assert cap_cb.control_edit(ids.DEMAND_SOURCE, source, None, None, STORE) is no_update


def _n1(catalog) -> dict:
    return cap_cb.run_n1(STORE, catalog, SETTINGS)


@pytest.mark.parametrize("change", [
    lambda r: [None], lambda r: "-2+3", lambda r: {**r, "rows": {"a": 1}},
    lambda r: {**r, "rows": [None]}, lambda r: {**r, "rows": [[1, 2]]},
    lambda r: {**r, "points": {}}, lambda r: {**r, "points": HUGE},
    lambda r: {**r, "computed": ["x"]},
    lambda r: {**r, "rows": [{k: v for k, v in r["rows"][0].items() if k != "demand_moved"}]},
    lambda r: {**r, "rows": [{**r["rows"][0], "p95_change_ms": "12"}]},
    lambda r: {**r, "rows": [{**r["rows"][0], "worst_utilisation": [1]}]},
    lambda r: {**r, "rows": [{**r["rows"][0], "pop_id": None}]},
], ids=["list", "text", "rows dict", "row None", "row list", "points dict", "points huge",
        "computed list", "column missing", "number as text", "number as list", "id None"])
def test_an_n1_result_of_another_shape_keeps_the_n1_panel(catalog, change):
    """n1-result.data is a browser store: a row without a column was a KeyError, text where a
    number goes a TypeError (500)."""
    bad = change(_n1(catalog))
    for call in (lambda: cap_cb.n1_outputs(bad, STORE, catalog, SETTINGS),
                 lambda: cap_cb.n1_download(bad), lambda: cap_cb.n1_rows(bad)):
        with pytest.raises(PreventUpdate):
            call()


def test_a_valid_n1_result_still_shows(catalog):
    rows, _fig, note = cap_cb.n1_outputs(_n1(catalog), STORE, catalog, SETTINGS)
    assert len(rows) == 18 and "Computed" in str(note)  # CDG is down: 18 healthy PoPs
    assert cap_cb.n1_outputs(None, STORE, catalog, SETTINGS)[0] == []


# -- support ---------------------------------------------------------------------------------

CLIENT_CURVE = map_figures.map_trace_index(map_figures.CLIENTS)


@pytest.mark.parametrize("click", [
    [1], "x", {"points": "abc"}, {"points": {"a": 1}}, {"points": [None, 3, "x"]},
    {"points": [{"curveNumber": CLIENT_CURVE, "customdata": float("inf")}]},
    {"points": [{"curveNumber": CLIENT_CURVE, "customdata": float("nan")}]},
    {"points": [{"curveNumber": CLIENT_CURVE, "customdata": 1.5}]},
    {"points": [{"curveNumber": CLIENT_CURVE, "customdata": -1}]},
    {"points": [{"curveNumber": CLIENT_CURVE, "customdata": True}]},
    {"points": [{"curveNumber": CLIENT_CURVE, "lat": [1], "lon": {}}]},
], ids=range(11))
def test_a_map_click_of_another_shape_selects_no_client(click):
    """clickData.get on a list, points of numbers, int(inf) were 500s."""
    assert sup.selected_client(ids.WORLD_MAP, click, None, STORE) is None


@pytest.mark.parametrize("cell", [[1], "x", {"row_id": float("inf")}, {"row_id": float("nan")},
                                  {"row_id": -3}, {"row_id": True}, {"row_id": [0]}])
def test_a_table_cell_of_another_shape_selects_no_client(cell):
    assert sup.selected_client(ids.ASSIGNMENT_TABLE, None, cell, STORE) is None


@pytest.mark.parametrize("values,id_list", [
    (["LHR"], [["x"]]), (["LHR"], ["x"]), (["LHR"], {"a": 1}), (["LHR"], [None]),
    ([None], {"0": 1}), ("LHR", [{"client": 0}]), (["LHR"], []), (["LHR", "MAD"], [{"client": 0}]),
    (["LHR"], [{"client": True}]), (["LHR"], [{"client": 0.0}]), (["LHR"], [{"client": HUGE}]),
    (["LHR"], [{"client": "0"}]), ([["LHR"]], [{"client": 0}]), ([{"a": 1}], [{"client": 0}]),
], ids=range(14))
def test_observed_pop_values_or_ids_of_another_shape_are_no_edit(values, id_list):
    """``id_list[0].get`` on a list, ``id_list[0]`` of a dict (KeyError 0) were 500s."""
    assert sup.observe_edit(values, id_list, STORE) is no_update


def test_observed_pop_edit_still_works():
    req = sup.observe_edit(["LHR"], [{"type": ids.OBSERVED_POP, "client": 1}], STORE)
    assert (req["op"], req["index"], req["pop"]) == ("observe", 1, "LHR")


def test_the_explain_panel_takes_no_boolean_or_text_as_a_client(catalog):
    for index in (True, "0", 0.0, [0], HUGE):
        assert "Pick a client" in str(sup.explain_body(STORE, index, catalog, SETTINGS))


@pytest.mark.parametrize("contents", [["data:,", "x"], {"a": ","}, 5, b"data:,e30="])
def test_an_import_that_is_not_a_data_url_is_a_notice(catalog, contents):
    req = sup.import_edit(contents, ["x.json"], catalog, SETTINGS)
    assert req["op"] == "notice" and "Import of the file: empty upload" in \
        req["notices"][0]["text"]


def _file(scenario: dict) -> str:
    doc = {"format": "anycast-eip-scenario", "version": 1, "scenario": scenario}
    return "data:application/json;base64," + base64.b64encode(json.dumps(doc).encode()).decode()


@pytest.mark.parametrize("scenario,message", [
    ({"clients": [{"lat": HUGE, "lon": 0}]}, "scenario.clients[0].lat: must be a finite number"),
    ({"capacity_gbps": {"CDG": HUGE}}, "scenario.capacity_gbps.CDG: must be a finite number"),
    ({"demand_scale": HUGE}, "scenario.demand_scale: must be a finite number"),
    ({"mappings": [["mars-1", ["CDG"]]]}, "scenario.mappings[0][0]: unknown origin region"),
    ({"mappings": [["us-east-1", ["ZZZ"]]]}, "scenario.mappings[0][1][0]: unknown access point"),
    ({"mappings": [["us-east-1"]]}, "scenario.mappings[0]: expected [region, [access point"),
    ({"endpoints_down": ["mars-1"]}, "scenario.endpoints_down[0]: unknown origin region"),
], ids=["lat huge", "capacity huge", "scale huge", "region", "mapped pop", "mapping shape",
        "endpoint down"])
def test_an_imported_file_with_numbers_or_ids_we_cannot_use_is_a_notice(catalog, scenario,
                                                                        message):
    """An OverflowError (500) for the numbers; unknown regions reached the store (KeyError in
    the results)."""
    req = sup.import_edit(_file(scenario), "x.json", catalog, SETTINGS)
    assert req["op"] == "notice" and message in req["notices"][0]["text"], req


# -- failover --------------------------------------------------------------------------------

@pytest.mark.parametrize("store", [[1], "x", 5, {"down": "CDG"}, {"down": [["CDG"]]},
                                   {"down": {"CDG": 1}}])
def test_pill_looks_of_a_store_the_app_did_not_write_are_no_update(catalog, store):
    with pytest.raises(PreventUpdate):
        fo.pop_pill_looks(store, catalog.pop_ids, {})


def test_pills_listed_differently_for_class_and_title_are_no_update():
    def outputs(pops):
        return [{"id": {"type": "pop-toggle", "pop": p}, "property": "className"} for p in pops]
    with pytest.raises(PreventUpdate):  # Dash: "Invalid number of output values" (500)
        fo.pill_order([outputs(["CDG", "FRA"]), outputs(["CDG"]), {}], ())
    with pytest.raises(PreventUpdate):  # unhashable ids
        fo.pill_order([outputs([["CDG"]]), outputs([["CDG"]]), {}], ())
    assert fo.pill_order([outputs(["CDG", "FRA"]), outputs(["CDG", "FRA"]), {}], ()) == \
        ["CDG", "FRA"]
    assert fo.pill_order([], ("LHR",)) == ["LHR"]


@pytest.mark.parametrize("trigger", [{"type": "pop-toggle"}, {"type": "pop-toggle", "pop": ["CDG"]},
                                     {"type": "pop-toggle", "pop": "ZZZ"}, "pop-toggle", None])
def test_a_pill_id_naming_no_access_point_is_no_edit(catalog, trigger):
    """``trig["pop"]`` was a KeyError for an id without ``pop``."""
    assert fo.pill_edit(trigger, True, catalog.pop_ids) is None
    assert fo.pill_edit({"type": "pop-toggle", "pop": "CDG"}, True, catalog.pop_ids)["pop"] == "CDG"


@pytest.mark.parametrize("click", [{"points": [3.5]}, {"points": ["CDG"]}, {"points": [[1]]}])
def test_a_map_click_point_that_is_not_an_object_toggles_nothing(catalog, click):
    assert fo.click_edit(click, catalog.pop_ids) is None


@pytest.mark.parametrize("trigger,value,region,pops", [
    (ids.ENDPOINT_ADD, 1, ["us-east-1"], ["CDG"]),
    (ids.ENDPOINT_ADD, 1, {"r": 1}, ["CDG"]),
    (ids.ENDPOINT_ADD, 1, "us-east-1", "CDG"),
    (ids.ENDPOINT_ADD, 1, "us-east-1", [["CDG"]]),
    (ids.endpoint_control("pops", "us-east-1"), 5, None, None),
    (ids.endpoint_control("pops", "us-east-1"), ["CDG", 3], None, None),
    (ids.endpoint_control("pops", "us-east-1"), {"CDG": 1}, None, None),
    ({"type": "endpoint-pops", "region": ["us-east-1"]}, ["CDG"], None, None),
    ({"type": "endpoint-down", "region": {"a": 1}}, 1, None, None),
    ({"type": "endpoint-down"}, 1, None, None),
], ids=range(10))
def test_endpoint_controls_of_another_shape_are_no_edit(catalog, trigger, value, region, pops):
    """sorted() of an int, a list region as a dict key were 500s."""
    store = S.add_endpoint("us-east-1", ["IAD"], "eu-central-1").to_dict()
    assert fo.endpoint_edit(trigger, value, store, region, pops, catalog, SETTINGS) == \
        (no_update, no_update, no_update)


@pytest.mark.parametrize("children", [5, "Endpoints: x", {"props": 1}, [{"props": [1]}],
                                      [{"props": {"children": ["Endpoints: x"]}}], [None, 3]])
def test_notice_children_of_another_shape_repeat_nothing(children):
    assert fo.endpoint_messages(children) == []


def test_endpoint_messages_still_repeat_endpoint_notices():
    shown = fo.endpoint_messages([{"props": {"children": "Endpoints: no region"}}])
    assert [d.children for d in shown] == ["no region"]


@pytest.mark.parametrize("prev", [[1], "x", 5, {"clients": "k"}, {"down": "CDG"},
                                  "routing state with down not a list",
                                  "routing state with an unhashable down",
                                  "routing state with mappings of ints"])
def test_a_failover_before_state_of_another_shape_is_ignored(catalog, prev):
    """``prev.get`` on a list, ``prev["down"]`` missing, unhashable PoPs were 500s in the
    results callback; a state the app did not write is now no "before" (no animation)."""
    state = fo.routing_state(S, "eu-central-1")
    prev = {"routing state with down not a list": {**state, "down": 3},
            "routing state with an unhashable down": {**state, "down": [["x"]]},
            "routing state with mappings of ints": {**state, "down": [], "mappings": [[1, 2]]},
            }.get(prev, prev) if isinstance(prev, str) else prev
    assert not fo.is_routing_state(prev)
    out = results.compute_view(STORE, prev, None, catalog, SETTINGS)
    view_frames = out[5]
    assert view_frames["clients"] == []  # nothing animated
    assert fo.is_routing_state(out[7])


def test_n1_note_with_a_null_point_count(catalog):
    """Found by the store fuzz on a fresh clone: a result whose 'points' is null."""
    from dashboard.callbacks import capacity as cap_cb
    from dashboard.domain.scenario import Client, Scenario
    from dashboard.settings import Settings

    store = Scenario(clients=(Client(48.85, 2.35, "Paris", 2.0),)).to_dict()
    result = cap_cb.run_n1(store, catalog, Settings())
    rows, _fig, note = cap_cb.n1_outputs({**result, "points": None}, store, catalog, Settings())
    assert rows and "? demand points" in str(note)
