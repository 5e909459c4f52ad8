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
from dashboard.callbacks import capacity as cap_cb
from dashboard.callbacks import scene
from dashboard.callbacks import support as sup
from dashboard.domain.scenario import Client, Scenario
from dashboard.figures import map as map_figures
from dashboard.layout import map as map_layout
from dashboard.services import capacity as svc
from dashboard.services import endpoints, events
from dashboard.services import failover as fo
from dashboard.services import support as support_svc
from dashboard.services.requests import import_request, resolve_request
from dashboard.services.scenario import StoreRefused, load_scenario, load_store
from dashboard.settings import Settings
from tests.callbacks.edits_js import NO_UPDATE, needs_node, run_edits

SETTINGS = Settings()
HUGE = 10**400  # a JSON integer: float() of it raises OverflowError, not ValueError
S = Scenario(clients=(Client(48.8566, 2.3522, "Paris"), Client(35.6895, 139.6917, "Tokyo")),
             origin="eu-central-1", down=frozenset({"CDG"}))
STORE = S.to_dict()
#: Stores the app never writes: each is refused wherever the scenario is read.
BAD_STORES = [[1], "x", {"clients": "x"}, {"clients": [{"lat": HUGE, "lon": 0}]},
              {**STORE, "observed": [{"client": float("inf"), "pop": "CDG"}]},
              {**STORE, "capacity_gbps": {"CDG": HUGE}}, {**STORE, "demand_scale": -HUGE},
              5, {"down": "CDG"}, {"down": [["CDG"]]}, {"down": {"CDG": 1}}]
CONFUSED = [None, 0, 1.5, True, "x", [], [None], [[1]], {}, {"a": [1]}, HUGE, float("nan")]
TRIGGERS = [events.PAGE_LOAD, events.URL, events.EDIT, events.ORIGIN, events.ENDPOINT_TYPE]
PILLS = ["CDG", "FRA", "LHR"]


def event(catalog, request, scenario: Scenario = S) -> events.SceneEvent | None:
    return events.scenario_event(events.EDIT, "", request, None, None, scenario.to_dict(),
                                 catalog, SETTINGS)


def applied(catalog, request, scenario: Scenario = S) -> tuple[Scenario, list[str]]:
    """(the scenario after the edit request, the notice texts); no event: unchanged."""
    ev = event(catalog, request, scenario)
    if ev is None:
        return scenario, []
    return Scenario.from_dict(ev.store), [text for _level, text in ev.notices]


def rendered(catalog, ev, page: scene.PageState = scene.PageState()) -> tuple:
    """Every output of the round trip for ``ev`` (raises what the callback would raise)."""
    out = scene.scene_outputs(ev, page, PILLS, catalog)
    assert len(out) == scene.N_OUT
    return out


# -- the scenario store ----------------------------------------------------------------------

@pytest.mark.parametrize("store", BAD_STORES[3:7], ids=["lat", "observed", "capacity", "scale"])
def test_numbers_a_float_cannot_hold_are_a_value_error_not_an_overflow_error(store):
    with pytest.raises(ValueError, match="is not a"):
        Scenario.from_dict(store)


#: Edit requests the widgets write (assets/edits.js), each reading the scenario store.
STORE_READERS = [
    {"op": "capacity_input", "changed": "scale", "source": "clients", "scale": 2, "default": 1},
    {"op": "capacity_table", "rows": [{"id": "CDG", "capacity_gbps": 3}]},
    {"op": "observe_input", "index": 0, "value": "LHR"},
    {"op": "toggle_pop", "pop": "LHR"}, {"op": "clear"},
]


@pytest.mark.parametrize("store", BAD_STORES, ids=range(len(BAD_STORES)))
def test_a_store_the_app_did_not_write_is_no_update_in_every_view(catalog, store):
    """capacity.py and support.py fell back to an *empty* scenario (the scenario export
    downloaded an empty file, the N-1 job analysed nothing); a number a float cannot hold was an
    OverflowError (500) everywhere. The views read the store through load_store/load_scenario
    (StoreRefused: the callbacks keep what is shown, PreventUpdate)."""
    for call in (lambda: load_store(store, SETTINGS.max_clients),
                 lambda: load_scenario(store, catalog, SETTINGS)):  # the N-1 job's first step
        with pytest.raises(StoreRefused):
            call()
    calls = [
        lambda: scene.tab_outputs("capacity", True, None, store, catalog, SETTINGS),
        lambda: scene.tab_outputs("support", None, 0, store, catalog, SETTINGS),
        lambda: sup.assignment_download(store, catalog, SETTINGS),
        lambda: sup.scenario_download(store, SETTINGS),
    ]
    for call in calls:
        with pytest.raises(PreventUpdate):
            call()


@pytest.mark.parametrize("store", BAD_STORES, ids=range(len(BAD_STORES)))
@pytest.mark.parametrize("trigger", TRIGGERS, ids=["load", "url", "edit", "origin", "endpoint"])
def test_the_round_trip_replaces_a_store_the_app_did_not_write_from_the_link(catalog, store,
                                                                             trigger):
    """The one round trip (map, results, endpoints, what-if, pills, panels: what the old
    results/failover callbacks answered with PreventUpdate) reloads the scenario from the link
    instead, whatever the trigger or the edit request; the edit is not applied to it."""
    events_seen = []
    for request in STORE_READERS + [None]:
        ev = events.scenario_event(trigger, "?clients=1,2&down=FRA", request, "us-east-1", "ENI",
                                   store, catalog, SETTINGS)
        assert ev is not None and ev.changed and ev.set_widgets
        assert Scenario.from_dict(ev.store) == Scenario(clients=(Client(1, 2),),
                                                        down=frozenset({"FRA"}))
        events_seen.append(ev)
    # every event above is the same reloaded scenario: rendering the first and the last covers
    # both ends (each render routes, draws and builds every panel: ~60 ms)
    for ev in (events_seen[0], events_seen[-1]):
        out = rendered(catalog, ev, scene.PageState(tab="capacity"))
        assert out[len(scene.SCENARIO_OUT) + len(scene.MAP_OUT)] == \
            ["pop-pill pop-up", "pop-pill pop-down", "pop-pill pop-up"]


def test_ids_the_catalog_does_not_have_are_left_out_when_reading_the_store(catalog):
    """A Normal endpoint in an unknown region was a KeyError in the results and the endpoint
    list (a store outlives a catalog change; the edit below could write one)."""
    odd = {**STORE, "origin": "mars-1", "mappings": [["mars-2", ["CDG"]], ["us-east-1", ["ZZZ"]]],
           "endpoints_down": ["mars-2"], "down": ["CDG", "ZZZ"],
           "observed": [{"client": 0, "pop": "ZZZ"}], "capacity_gbps": {"ZZZ": 2}}
    loaded = load_scenario(odd, catalog, SETTINGS)
    s = loaded.scenario
    assert (s.origin, s.mappings, s.endpoints_down, s.down, s.observed, s.capacity) == \
        (None, (), frozenset(), frozenset({"CDG"}), (), ())
    assert Scenario.from_dict(odd).unknown_ids(catalog.pop_ids, catalog.origin_ids) == [
        "access point ZZZ", "region mars-1", "region mars-2"]
    assert len(scene.map_outputs(loaded, scene.PageState(), catalog)) == len(scene.MAP_OUT) == 10
    assert map_layout.render_endpoints(endpoints.endpoints_view(loaded, catalog))
    assert endpoints.whatif_lines(loaded, catalog)
    # the round trip on that store (e.g. an unrelated edit) renders every view
    ev = events.scenario_event(events.EDIT, "", {"op": "toggle_pop", "pop": "LHR"}, None, None,
                               odd, catalog, SETTINGS)
    assert "LHR" in Scenario.from_dict(ev.store).down
    rendered(catalog, ev, scene.PageState(tab="support", explain_index=0))


@pytest.mark.parametrize("request_", [
    {"op": "endpoint_add", "region": "mars-1", "pops": ["CDG"]},
    {"op": "endpoint_add", "region": "us-east-1", "pops": ["ZZZ"]},
    {"op": "observe", "index": 0, "pop": "ZZZ"},
    {"op": "capacity", "capacity": {"ZZZ": 2}},
    {"op": "replace", "scenario": {**STORE, "down": ["ZZZ"]}, "source": "x.json"},
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
    """key.startswith was an AttributeError (500) for a number. assets/edits.js writes a
    ``preset`` request for a truthy key only; another value is now an "unknown preset" notice
    that changes nothing (was: no edit at all)."""
    for value in CONFUSED:
        if not isinstance(value, str):
            req = resolve_request({"op": "preset", "key": value}, S, catalog, SETTINGS)
            assert req["op"] == "notice" and req["notices"][0]["text"] == "unknown preset"
            assert applied(catalog, {"op": "preset", "key": value}) == (S, ["unknown preset"])
    assert resolve_request({"op": "preset", "key": "demand:cities25k"}, S, catalog,
                           SETTINGS)["op"] == "client_set"
    unknown = resolve_request({"op": "preset", "key": "x"}, S, catalog, SETTINGS)
    assert unknown["notices"][0]["text"].startswith("unknown preset 'x'; known: capitals")


#: Fields of each request op that needs server data (services.requests.resolve_request).
REQUEST_FIELDS = {"city": ("id",), "preset": ("key",), "coords": ("text",),
                  "upload": ("contents", "filename"), "import": ("contents", "filename"),
                  "model_input": ("name", "values", "ids"),
                  "capacity_input": ("changed", "source", "scale", "default"),
                  "capacity_table": ("rows",), "observe_input": ("index", "value"),
                  "observe_trace": ("index", "text")}


@pytest.mark.parametrize("op", sorted(REQUEST_FIELDS))
def test_every_request_op_with_fields_of_any_type_is_an_edit_a_notice_or_nothing(catalog, op):
    """Each field of each request set to each type-confused value (and left out): the
    resolver answers with an edit dict, a notice or None, and the round trip applies it or
    says why -- never an exception."""
    requests = [{"op": op}] + [{"op": op, field: value} for field in REQUEST_FIELDS[op]
                               for value in CONFUSED]
    for request in requests:
        resolved = resolve_request(request, S, catalog, SETTINGS)
        assert resolved is None or (isinstance(resolved, dict) and isinstance(resolved["op"], str))
        ev = event(catalog, request)
        if ev is not None:
            Scenario.from_dict(ev.store)
            assert all(level in ("info", "warning", "error") for level, _ in ev.notices)
            rendered(catalog, ev)


@pytest.mark.parametrize("trigger", TRIGGERS, ids=["load", "url", "edit", "origin", "endpoint"])
def test_every_trigger_with_values_of_any_type_answers(catalog, trigger):
    """The round trip's inputs (URL search, the edit store, the two selects) as only a
    hand-crafted request sends them: an event or None, and every output renders."""
    for value in CONFUSED:
        for args in ((value, None, None, None), ("", value, None, None),
                     ("", None, value, None), ("", None, None, value)):
            ev = events.scenario_event(trigger, *args, STORE, catalog, SETTINGS)
            rendered(catalog, ev, scene.PageState(prev=value, base=value, tab="support",
                                                  explain_index=value, model_values=value,
                                                  model_ids=value, demand_source=value,
                                                  demand_scale=value, default_capacity=value,
                                                  n1_result=value))


def test_tab_outputs_take_values_of_any_type(catalog):
    for value in CONFUSED:
        for tab in (value, "map", "capacity", "support"):
            out = scene.tab_outputs(tab, value, value, STORE, catalog, SETTINGS)
            assert len(out) == len(scene.CAPACITY_TAB_OUT) + len(scene.SUPPORT_TAB_OUT)


# -- capacity planning ---------------------------------------------------------------------

@pytest.mark.parametrize("rows", [{"id": "CDG"}, "601", 3, [None], [["CDG", 3]], ["1"],
                                  [{"id": ["CDG"], "capacity_gbps": 3}],
                                  [{"id": {"a": 1}, "capacity_gbps": 3}]])
def test_utilisation_table_data_of_another_shape_is_no_edit(catalog, rows):
    assert svc.table_edit(rows, S, catalog) is None
    assert event(catalog, {"op": "capacity_table", "rows": rows}) is None


def test_a_capacity_cell_too_large_for_a_float_is_a_notice(catalog):
    req = svc.table_edit([{"id": "CDG", "capacity_gbps": HUGE}], S, catalog)
    assert req["op"] == "notice" and "CDG" in req["notices"][0]["text"]
    assert svc.control_edit("scale", None, HUGE, None, S)["op"] == "notice"
    new, notices = applied(catalog, {"op": "capacity_input", "changed": "scale", "source": None,
                                     "scale": HUGE, "default": None})
    assert new == S and len(notices) == 1
    assert svc.controls_stale(S, "clients", HUGE, [1])


@pytest.mark.parametrize("source", [["clients"], {"a": 1}, "everyone", 1])
def test_a_demand_source_that_is_not_one_of_the_two_is_no_edit(catalog, source):
    assert svc.control_edit("source", source, None, None, S) is None
    assert event(catalog, {"op": "capacity_input", "changed": "source", "source": source}) is None


def _n1(catalog) -> dict:
    return svc.run_n1(load_scenario(STORE, catalog, SETTINGS), catalog)


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
    number goes a TypeError (500). The table keeps what it shows (PreventUpdate), the note
    under it and the CSV export say nothing."""
    bad = change(_n1(catalog))
    assert not svc.is_n1_result(bad)
    with pytest.raises(PreventUpdate):
        cap_cb.n1_view(bad)
    assert cap_cb.n1_download(bad) is no_update
    assert scene.n1_note(load_scenario(STORE, catalog, SETTINGS), bad) == ""
    rendered(catalog, event(catalog, {"op": "toggle_pop", "pop": "LHR"}),
             scene.PageState(n1_result=bad))


def test_a_valid_n1_result_still_shows(catalog):
    result = _n1(catalog)
    rows, _fig, status = cap_cb.n1_view(result)
    assert len(rows) == 18 and status.startswith("Done")  # CDG is down: 18 healthy PoPs
    assert "Computed" in str(scene.n1_note(load_scenario(STORE, catalog, SETTINGS), result))
    assert cap_cb.n1_view(None)[0] == []


# -- support ---------------------------------------------------------------------------------

CLIENT_CURVE = map_figures.map_trace_index(map_figures.CLIENTS)
LAYERS = {"clients": CLIENT_CURVE}
PILL_IDS = [{"type": ids.POP_TOGGLE, "pop": p} for p in PILLS]
CLICKS = [
    [1], "x", {"points": "abc"}, {"points": {"a": 1}}, {"points": [None, 3, "x"]},
    {"points": [{"curveNumber": CLIENT_CURVE, "customdata": 1.5}]},
    {"points": [{"curveNumber": CLIENT_CURVE, "customdata": -1}]},
    {"points": [{"curveNumber": CLIENT_CURVE, "customdata": True}]},
    {"points": [{"curveNumber": CLIENT_CURVE, "lat": [1], "lon": {}}]},
    # not an object: toggles nothing (was click_edit)
    {"points": [3.5]}, {"points": ["CDG"]}, {"points": [[1]]},
]
#: What a hand-crafted request can put in explain-client.value (the map click and the table
#: cell write it in the browser): each shows the "pick a client" hint.
BAD_INDICES = [float("inf"), float("nan"), 1.5, -1, True, "0", 0.0, [0], {"row_id": 0}, HUGE, 7]


@needs_node
def test_a_map_click_of_another_shape_selects_no_client():
    """clickData.get on a list, points of numbers, int(inf) were 500s (selected_client and
    click_edit, now assets/edits.js mapClick; the browser part:
    tests/e2e/test_support_e2e.py and tests/e2e/test_failover_e2e.py click markers). JSON
    cannot carry inf/nan from the browser: those reach the server only as an explain index
    (test_a_client_index_of_another_shape_shows_the_hint)."""
    results = run_edits([("mapClick", [click, STORE, LAYERS, PILL_IDS], None)
                         for click in CLICKS])
    assert results == [[NO_UPDATE] * 4] * len(CLICKS)


@needs_node
@pytest.mark.parametrize("cell", [[1], "x", {"row_id": "1"}, {"row_id": None}, {"row_id": [0]},
                                  {"row_id": {"a": 1}}, {}])
def test_a_table_cell_of_another_shape_selects_no_client(cell):
    assert run_edits([("tableCell", [cell], None)])[0] == [NO_UPDATE] * 4


@pytest.mark.parametrize("index", BAD_INDICES, ids=range(len(BAD_INDICES)))
def test_a_client_index_of_another_shape_shows_the_hint(catalog, index):
    out = scene.tab_outputs("support", None, index, STORE, catalog, SETTINGS)
    assert "Pick a client" in str(out[-1])
    ev = event(catalog, {"op": "toggle_pop", "pop": "LHR"})
    out = rendered(catalog, ev, scene.PageState(tab="support", explain_index=index))
    assert "Pick a client" in str(out[scene.OUTPUTS.index(scene.SUPPORT_TAB_OUT[0])])


@pytest.mark.parametrize("value,index", [
    ("LHR", ["x"]), ("LHR", "x"), ("LHR", {"a": 1}), ("LHR", None), (None, {"0": 1}),
    ("LHR", True), ("LHR", 0.0), ("LHR", HUGE), ("LHR", "0"), ("LHR", -1), ("LHR", 2),
    (["LHR"], 0), ({"a": 1}, 0), (5, 0),
], ids=range(14))
def test_observed_pop_values_or_ids_of_another_shape_are_no_edit(catalog, value, index):
    """``id_list[0].get`` on a list, ``id_list[0]`` of a dict (KeyError 0) were 500s
    (observe_edit; assets/edits.js observe now sends the first picker's value and client)."""
    assert support_svc.observe_edit(value, index, S) is None
    assert event(catalog, {"op": "observe_input", "index": index, "value": value}) is None


def test_observed_pop_edit_still_works(catalog):
    req = resolve_request({"op": "observe_input", "index": 1, "value": "LHR"}, S, catalog,
                          SETTINGS)
    assert (req["op"], req["index"], req["pop"]) == ("observe", 1, "LHR")


def test_the_explain_panel_takes_no_boolean_or_text_as_a_client(catalog):
    loaded = load_scenario(STORE, catalog, SETTINGS)
    for index in (True, "0", 0.0, [0], HUGE):
        assert "Pick a client" in str(scene.support_outputs(loaded, index, catalog)[0])


@pytest.mark.parametrize("contents", [["data:,", "x"], {"a": ","}, 5, b"data:,e30="])
def test_an_import_that_is_not_a_data_url_is_a_notice(catalog, contents):
    req = import_request(contents, ["x.json"], catalog, SETTINGS)
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
    req = import_request(_file(scenario), "x.json", catalog, SETTINGS)
    assert req["op"] == "notice" and message in req["notices"][0]["text"], req
    new, notices = applied(catalog, {"op": "import", "contents": _file(scenario),
                                     "filename": "x.json"})
    assert new == S and any(message in n for n in notices)


# -- failover --------------------------------------------------------------------------------

def test_pills_listed_differently_for_class_and_title_are_no_update():
    def outputs(pops):
        return [{"id": {"type": "pop-toggle", "pop": p}, "property": "className"} for p in pops]
    with pytest.raises(PreventUpdate):  # Dash: "Invalid number of output values" (500)
        scene.pill_order([outputs(["CDG", "FRA"]), outputs(["CDG"]), {}], ())
    with pytest.raises(PreventUpdate):  # no class outputs, pills for the titles
        scene.pill_order([[], outputs(["CDG"]), {}], ())
    with pytest.raises(PreventUpdate):  # unhashable ids
        scene.pill_order([outputs([["CDG"]]), outputs([["CDG"]]), {}], ())
    with pytest.raises(PreventUpdate):  # items that are not outputs
        scene.pill_order([[3], [3], {}], ())
    assert scene.pill_order([[], [], {}], ("LHR",)) == []  # no pill: no value
    with pytest.raises(PreventUpdate):  # unhashable ids
        scene.pill_order([outputs([["CDG"]]), outputs([["CDG"]]), {}], ())
    assert scene.pill_order([outputs(["CDG", "FRA"]), outputs(["CDG", "FRA"]), {}], ()) == \
        ["CDG", "FRA"]
    assert scene.pill_order([], ("LHR",)) == ["LHR"]


@needs_node
@pytest.mark.parametrize("pop", [None, ["CDG"], "ZZZ", 5, {"a": 1}])
def test_a_pill_id_naming_no_access_point_is_no_edit(catalog, pop):
    """``trig["pop"]`` was a KeyError for an id without ``pop`` (pill_edit, now
    assets/edits.js pill; the browser part: tests/e2e/test_round_trips_e2e.py clicks a pill):
    the request it writes changes nothing on the server."""
    pill = {"type": "pop-toggle"} if pop is None else {"type": "pop-toggle", "pop": pop}
    prop = json.dumps(pill, sort_keys=True, separators=(",", ":")) + ".n_clicks"
    req = run_edits([("pill", [], [{"prop_id": prop, "value": 1}])])[0]
    assert req["op"] == "toggle_pop"
    new, notices = applied(catalog, req)
    assert new == S and all(level == "error" for level, _ in event(catalog, req).notices)
    good = '{"pop":"CDG","type":"pop-toggle"}.n_clicks'
    assert run_edits([("pill", [], [{"prop_id": good, "value": 1}])])[0] == \
        {"op": "toggle_pop", "pop": "CDG"}


@pytest.mark.parametrize("request_", [
    {"op": "endpoint_add", "region": ["us-east-1"], "pops": ["CDG"]},
    {"op": "endpoint_add", "region": {"r": 1}, "pops": ["CDG"]},
    {"op": "endpoint_add", "region": "us-east-1", "pops": "CDG"},
    {"op": "endpoint_add", "region": "us-east-1", "pops": [["CDG"]]},
    {"op": "endpoint_map", "region": "us-east-1", "pops": 5},
    {"op": "endpoint_map", "region": "us-east-1", "pops": ["CDG", 3]},
    {"op": "endpoint_map", "region": "us-east-1", "pops": {"CDG": 1}},
    {"op": "endpoint_map", "region": ["us-east-1"], "pops": ["CDG"]},
    {"op": "endpoint_down", "region": {"a": 1}},
    {"op": "endpoint_down"},
    {"op": "endpoint_default", "region": [1]},
    {"op": "endpoint_remove", "region": None},
], ids=range(12))
def test_endpoint_controls_of_another_shape_are_no_edit(catalog, request_):
    """sorted() of an int, a list region as a dict key were 500s (endpoint_edit, now
    assets/edits.js endpoint, which passes the values on; the server refuses them)."""
    start = S.add_endpoint("us-east-1", ["IAD"], "eu-central-1")
    new, notices = applied(catalog, request_, start)
    assert new == start and notices


def test_endpoint_messages_still_repeat_endpoint_notices():
    """(The notice area's children no longer come back from the browser: the round trip
    renders the endpoint messages from the event's notices, so the old hostile-children cases
    have no input left to test.)"""
    shown = map_layout.render_endpoint_messages([("error", "Endpoints: no region"),
                                                 ("warning", "Endpoints: x"), ("error", "y")])
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
    out = scene.map_outputs(load_scenario(STORE, catalog, SETTINGS), scene.PageState(prev=prev),
                            catalog)
    view_frames = out[5]
    assert view_frames["clients"] == []  # nothing animated
    assert fo.is_routing_state(out[7])


def test_n1_note_with_a_null_point_count(catalog):
    """Found by the store fuzz on a fresh clone: a result whose 'points' is null."""
    loaded = load_scenario(Scenario(clients=(Client(48.85, 2.35, "Paris", 2.0),)).to_dict(),
                           catalog, SETTINGS)
    result = svc.run_n1(loaded, catalog)
    rows, _fig, _status = cap_cb.n1_view({**result, "points": None})
    assert rows and "? demand points" in str(scene.n1_note(loaded, {**result, "points": None}))
