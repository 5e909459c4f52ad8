"""The scenario as services and callbacks called as plain functions: URL <-> scenario, edit
requests, inputs, results.

A user action is one :func:`dashboard.services.events.scenario_event` (the request a widget
writes in the browser, ``assets/edits.js``, goes in as it is); the Dash outputs of the one round
trip come from :func:`dashboard.callbacks.scene.scene_outputs`, the map tab's from
:func:`dashboard.callbacks.scene.map_outputs`. What the browser scripts write is covered by the
browser tests named where it matters (tests/e2e).
"""

from __future__ import annotations

import base64
import re

import pytest
from dash import no_update

from dashboard import ids
from dashboard.app import create_app
from dashboard.callbacks import scene
from dashboard.callbacks.widgets import city_options
from dashboard.domain.scenario import Scenario
from dashboard.figures.map import MAP_TRACES
from dashboard.gazetteer import load_gazetteer
from dashboard.services import events
from dashboard.services.events import SceneEvent
from dashboard.services.requests import parse_coordinates, parse_upload, resolve_request
from dashboard.services.scenario import load_scenario
from dashboard.settings import ROOT, Settings

SETTINGS = Settings()


def run(catalog, trigger, search="", request=None, origin=None, endpoint=None, current=None,
        settings=SETTINGS) -> SceneEvent | None:
    """One user action (``trigger``: an ``events`` trigger name) on the page's store."""
    return events.scenario_event(trigger, search, request, origin, endpoint, current, catalog,
                                 settings)


def shown(ev: SceneEvent | None, catalog) -> dict:
    """The round trip's Dash outputs by ``"id.property"`` (``scene.OUTPUTS``)."""
    out = scene.scene_outputs(ev, scene.PageState(), list(catalog.pop_ids), catalog)
    return {str(o): v for o, v in zip(scene.OUTPUTS, out)}


def texts(ev: SceneEvent) -> list[str]:
    return [text for _level, text in ev.notices]


def url_after(ev: SceneEvent, search: str) -> str:
    """The address bar after ``ev`` (``url_search`` None: unchanged)."""
    return search if ev.url_search is None else ev.url_search


def test_page_load_reads_the_link_and_sets_widgets(catalog):
    ev = run(catalog, events.PAGE_LOAD,
             "?clients=48.8566,2.3522;35.68,139.69&origin=us-east-1&down=CDG")
    s = Scenario.from_dict(ev.store)
    assert [(c.lat, c.lon) for c in s.clients] == [(48.8566, 2.3522), (35.68, 139.69)]
    assert s.down == {"CDG"} and ev.set_widgets
    assert ev.url_search is None  # already canonical: no history entry
    assert ev.notices == []
    out = shown(ev, catalog)
    assert (out[f"{ids.ORIGIN}.value"], out[f"{ids.ENDPOINT_TYPE}.value"]) == ("us-east-1", "CLB")
    assert out[f"{ids.URL}.search"] is no_update and out[f"{ids.NOTICE}.children"] == []


def test_malformed_link_gives_a_notice_and_a_clean_url(catalog):
    ev = run(catalog, events.PAGE_LOAD, "?clients=1,2;oops&origin=mars&down=ZZZ")
    assert [(c.lat, c.lon) for c in Scenario.from_dict(ev.store).clients] == [(1, 2)]
    assert ev.loaded.origin_id == SETTINGS.default_origin
    assert ev.url_search == "?clients=1,2"
    msgs = " ".join(texts(ev))
    assert "oops" in msgs and "mars" in msgs and "ZZZ" in msgs
    out = shown(ev, catalog)
    assert out[f"{ids.ORIGIN}.value"] == SETTINGS.default_origin
    assert out[f"{ids.URL}.search"] == "?clients=1,2"
    notice = out[f"{ids.NOTICE}.children"]
    assert notice and all("notice-warning" in c.className for c in notice)


def test_url_change_equal_to_state_is_a_no_op(catalog):
    store = run(catalog, events.PAGE_LOAD, "?clients=1,2").store
    assert run(catalog, events.URL, "?clients=1,2", current=store) is None
    # ... and the round trip then updates nothing (one no_update per pill for the pills)
    n = len(catalog.pop_ids)
    assert all(v is no_update or v == [no_update] * n for v in shown(None, catalog).values())


def test_back_button_restores_an_older_scenario(catalog):
    store = run(catalog, events.PAGE_LOAD, "?clients=1,2;3,4").store
    ev = run(catalog, events.URL, "?clients=1,2", current=store)
    assert len(Scenario.from_dict(ev.store).clients) == 1 and ev.url_search is None


def test_edits_add_remove_clear_and_update_the_url(catalog):
    store = run(catalog, events.PAGE_LOAD, "").store
    req = {"op": "add", "source": "city search",
           "clients": [{"lat": 48.8534, "lon": 2.3488, "name": "Paris, FR"}]}
    ev = run(catalog, events.EDIT, "", req, current=store)
    url = ev.url_search
    assert url == "?clients=48.8534,2.3488,Paris%2C%20FR" and not ev.set_widgets
    assert shown(ev, catalog)[f"{ids.ORIGIN}.value"] is no_update
    assert texts(ev) == ["Added Paris, FR (city search)"]
    # typed coordinates: the request assets/edits.js `coords` writes, resolved on the server
    ev = run(catalog, events.EDIT, url, {"op": "coords", "text": "-36.85, 174.76"},
             current=ev.store)
    url = url_after(ev, url)
    assert url.endswith(";-36.85,174.76")
    assert shown(ev, catalog)[f"{ids.COORDS_INPUT}.value"] == ""  # the input is cleared
    ev = run(catalog, events.EDIT, url, {"op": "remove", "index": 0}, current=ev.store)
    url = url_after(ev, url)
    assert url == "?clients=-36.85,174.76" and "Removed Paris, FR" in texts(ev)[0]
    ev = run(catalog, events.EDIT, url, {"op": "clear"}, current=ev.store)
    assert url_after(ev, url) == "" and Scenario.from_dict(ev.store).clients == ()


def test_origin_and_endpoint_choice(catalog):
    store = run(catalog, events.PAGE_LOAD, "?clients=1,2").store
    ev = run(catalog, events.ORIGIN, "?clients=1,2", origin="cn-hongkong", current=store)
    url = ev.url_search
    assert url == "?clients=1,2&origin=cn-hongkong"
    ev = run(catalog, events.ENDPOINT_TYPE, url, endpoint="ENI", current=ev.store)
    url, store = url_after(ev, url), ev.store
    assert url.endswith("&endpoint=ENI")
    # the same value again (or junk) changes nothing
    assert run(catalog, events.ENDPOINT_TYPE, url, endpoint="ENI", current=store) is None
    assert run(catalog, events.ORIGIN, url, origin="mars-1", current=store) is None


def test_client_limit_is_enforced_with_a_notice(catalog):
    small = SETTINGS.with_(max_clients=2)
    store = run(catalog, events.PAGE_LOAD, "?clients=1,1", settings=small).store
    req = {"op": "add", "clients": [{"lat": 2, "lon": 2}, {"lat": 3, "lon": 3}]}
    ev = run(catalog, events.EDIT, "", req, current=store, settings=small)
    assert len(Scenario.from_dict(ev.store).clients) == 2
    assert any("limit is 2" in t for t in texts(ev))


@pytest.mark.parametrize("text, lat, lon", [
    ("48.8566, 2.3522", 48.8566, 2.3522), ("48.8566 2.3522", 48.8566, 2.3522),
    ("-33.87;151.21", -33.87, 151.21), ("33.87 S, 151.21 E", -33.87, 151.21),
    ("40.7°N 74.0°W", 40.7, -74.0), (" 0 , -180 ", 0, -180),
])
def test_parse_coordinates(text, lat, lon):
    assert parse_coordinates(text) == (lat, lon)


@pytest.mark.parametrize("text, message", [
    ("91, 0", "latitude 91 is out of range"), ("0, 180.5", "longitude 180.5 is out of range"),
    ("", "type a latitude"), ("Paris", "is not 'lat, lon'"), ("1,2,3", "is not 'lat, lon'"),
])
def test_bad_coordinates_are_rejected_with_a_message(catalog, text, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_coordinates(text)
    req = resolve_request({"op": "coords", "text": text}, Scenario(), catalog, SETTINGS)
    assert req["op"] == "notice" and message in req["notices"][0]["text"]


def _data_url(text: str) -> str:
    return "data:text/csv;base64," + base64.b64encode(text.encode()).decode()


def test_upload_adds_clients_with_names_and_weights():
    rows, notices = parse_upload(_data_url("lat,lon,name,weight\n48.85,2.35,Paris,10\n"
                                           "1.29,103.85,Singapore,2.5\n"), "c.csv", SETTINGS, 100)
    assert notices == []
    assert [(r["lat"], r["lon"], r["name"], r["weight"]) for r in rows] == [
        (48.85, 2.35, "Paris", 10.0), (1.29, 103.85, "Singapore", 2.5)]


def test_bad_upload_names_the_line_and_keeps_existing_clients(catalog):
    rows, notices = parse_upload(_data_url("lat,lon\n1,200\n3,400\n"), "bad.csv", SETTINGS, 100)
    assert rows == [] and notices[0][0] == "error"
    # no good row: nothing is added; the first bad line is named, the others counted
    assert "bad.csv" in notices[0][1] and "line 2" in notices[0][1]
    assert "1 more bad line" in notices[0][1]
    store = run(catalog, events.PAGE_LOAD, "?clients=5,5").store
    before = Scenario.from_dict(store).clients
    req = {"op": "notice", "notices": [{"level": level, "text": t} for level, t in notices]}
    ev = run(catalog, events.EDIT, "?clients=5,5", req, current=store)
    assert not ev.changed and Scenario.from_dict(ev.store).clients == before
    assert ev.url_search is None and "line 2" in texts(ev)[0]
    out = shown(ev, catalog)
    assert out[f"{ids.SCENARIO}.data"] is no_update and out[f"{ids.URL}.search"] is no_update
    # the same file as the request assets/upload_guard.js writes (``upload``): same answer
    ev = run(catalog, events.EDIT, "?clients=5,5",
             {"op": "upload", "contents": _data_url("lat,lon\n1,200\n3,400\n"),
              "filename": "bad.csv"}, current=store)
    assert not ev.changed and "line 2" in texts(ev)[0] and "bad.csv" in texts(ev)[0]


def test_upload_size_cap():
    tiny = SETTINGS.with_(max_upload_bytes=10)
    rows, notices = parse_upload(_data_url("lat,lon\n1,2\n3,4\n5,6\n"), "big.csv", tiny, 100)
    assert rows == [] and "upload limit" in notices[0][1]
    rows, notices = parse_upload(_data_url("1,2\n"), "x.csv", SETTINGS, 0)
    assert rows == [] and "maximum" in notices[0][1]
    rows, notices = parse_upload("data:text/csv;base64,@@@", "x.csv", SETTINGS, 10)
    assert rows == [] and "decoded" in notices[0][1]


def test_city_search_options_and_pick(catalog):
    gaz = load_gazetteer()
    opts = city_options(gaz, "sao paulo")
    assert opts[0]["label"].startswith("São Paulo, BR")
    assert all("sao paulo" in o["search"] for o in opts)  # survives the dropdown's own filter
    # the pick is the request assets/edits.js `city` writes (the e2e test
    # tests/e2e/test_map_e2e.py::test_offline_map_city_search_and_table picks in the browser)
    req = resolve_request({"op": "city", "id": opts[0]["value"]}, Scenario(), catalog, SETTINGS)
    assert req["op"] == "add" and req["clients"][0]["name"] == "São Paulo, BR"
    assert city_options(gaz, "  ") == []
    assert resolve_request({"op": "city", "id": "nope"}, Scenario(), catalog,
                           SETTINGS)["op"] == "notice"


def map_tab(store, catalog, settings=SETTINGS) -> tuple:
    """(map figure, table rows, summary children, CDF figure, client count text)."""
    return scene.map_outputs(load_scenario(store, catalog, settings), scene.PageState(),
                             catalog)[:5]


def test_results_table_shows_nearest_pop_per_client(catalog):
    store = run(catalog, events.PAGE_LOAD,
                "?clients=48.8566,2.3522,Paris;-36.8485,174.7633,Auckland").store
    fig, rows, summary, cdf, count = map_tab(store, catalog)
    assert [r["pop"].split(" ")[0] for r in rows] == ["CDG", "SYD"]
    assert [r["client"] for r in rows] == ["Paris", "Auckland"] and count == "2 clients"
    paris = rows[0]
    assert paris["pop_km"] < 10 and paris["runner_up"].startswith("LHR")
    assert paris["anycast_ms"] == pytest.approx(paris["internet_ms"] + paris["backbone_ms"])
    assert paris["saving_ms"] == pytest.approx(paris["direct_ms"] - paris["anycast_ms"])
    assert rows[1]["origin"] == "eu-central-1" and rows[1]["id"] == 1
    assert len(fig.data) == len(MAP_TRACES)
    assert len(cdf.data[0].x) == 3
    assert any("median RTT" in str(k.children) for k in summary)


def test_results_without_clients_draw_the_base_map(catalog):
    fig, rows, summary, cdf, count = map_tab(None, catalog)
    assert rows == [] and count == "No clients yet" and "Add clients" in summary[0].children
    assert sum(len(t.lat) for t in fig.data) == len(catalog.pops) + len(catalog.origins)


def test_unrouted_clients_are_explicit(catalog):
    down = ",".join(catalog.pop_ids)
    store = run(catalog, events.PAGE_LOAD, f"?clients=1,2&down={down}").store
    _, rows, summary, _, _ = map_tab(store, catalog)
    assert rows[0]["pop"] == "no route (all down)" and rows[0]["anycast_ms"] is None
    assert any("without route" in str(k.children) for k in summary)


def test_app_registers_callbacks_and_serves_topojson_locally():
    app = create_app()
    graph = app.layout
    found = {}

    def walk(node):
        if isinstance(getattr(node, "id", None), str):  # pattern-matching (dict) ids skipped
            found[node.id] = node
        for child in getattr(node, "children", None) or []:
            if hasattr(child, "to_plotly_json"):
                walk(child)
        ch = getattr(node, "children", None)
        if hasattr(ch, "to_plotly_json"):
            walk(ch)

    walk(graph)
    assert found[ids.WORLD_MAP].config["topojsonURL"] == "/assets/topojson/"
    assert (ROOT / "assets" / "topojson" / "world_110m.json").is_file()
    assert (ROOT / "assets" / "topojson" / "LICENSE").is_file()
    outputs = " ".join(app.callback_map)
    for cid in (ids.SCENARIO, ids.WORLD_MAP, ids.ASSIGNMENT_TABLE, ids.NOTICE, ids.SCENARIO_EDIT):
        assert cid in outputs
    assert len(create_app().callback_map) == len(app.callback_map)  # per-app registration


def test_clientside_script_uses_our_ids():
    js = (ROOT / "assets" / "map_click.js").read_text()
    assert f"MAP_ID = '{ids.WORLD_MAP}'" in js
    assert f"EDIT_STORE_ID = '{ids.SCENARIO_EDIT}'" in js
