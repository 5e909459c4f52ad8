"""Callbacks called as plain functions: URL <-> scenario, edits, inputs, results."""

from __future__ import annotations

import base64
import re

import pytest
from dash import no_update

from dashboard import ids
from dashboard.app import create_app
from dashboard.callbacks import results
from dashboard.callbacks import scenario as sc
from dashboard.domain.scenario import Scenario
from dashboard.figures.map import MAP_TRACES
from dashboard.gazetteer import load_gazetteer
from dashboard.settings import ROOT, Settings

SETTINGS = Settings()


def run(catalog, trigger, search="", request=None, origin=None, endpoint=None, current=None,
        settings=SETTINGS):
    return sc.scenario_event(trigger, search, request, origin, endpoint, current, catalog,
                             settings)


def texts(children):
    return [c.children for c in children]


def test_page_load_reads_the_link_and_sets_widgets(catalog):
    store, url, origin, endpoint, notice = run(
        catalog, None, "?clients=48.8566,2.3522;35.68,139.69&origin=us-east-1&down=CDG")
    s = Scenario.from_dict(store)
    assert [(c.lat, c.lon) for c in s.clients] == [(48.8566, 2.3522), (35.68, 139.69)]
    assert (origin, endpoint, s.down) == ("us-east-1", "CLB", {"CDG"})
    assert url is no_update  # already canonical: no history entry
    assert notice == []


def test_malformed_link_gives_a_notice_and_a_clean_url(catalog):
    store, url, origin, _, notice = run(catalog, None, "?clients=1,2;oops&origin=mars&down=ZZZ")
    assert [(c.lat, c.lon) for c in Scenario.from_dict(store).clients] == [(1, 2)]
    assert origin == SETTINGS.default_origin
    assert url == "?clients=1,2"
    msgs = " ".join(texts(notice))
    assert "oops" in msgs and "mars" in msgs and "ZZZ" in msgs
    assert all("notice-warning" in c.className for c in notice)


def test_url_change_equal_to_state_is_a_no_op(catalog):
    store, *_ = run(catalog, None, "?clients=1,2")
    assert run(catalog, ids.URL, "?clients=1,2", current=store) == (no_update,) * 5


def test_back_button_restores_an_older_scenario(catalog):
    store, *_ = run(catalog, None, "?clients=1,2;3,4")
    new, url, *_ = run(catalog, ids.URL, "?clients=1,2", current=store)
    assert len(Scenario.from_dict(new).clients) == 1 and url is no_update


def test_edits_add_remove_clear_and_update_the_url(catalog):
    store, *_ = run(catalog, None, "")
    req = sc.edit("add", source="city search",
                  clients=[{"lat": 48.8534, "lon": 2.3488, "name": "Paris, FR"}])
    store, url, origin, _, notice = run(catalog, ids.SCENARIO_EDIT, "", req, current=store)
    assert url == "?clients=48.8534,2.3488,Paris%2C%20FR" and origin is no_update
    assert texts(notice) == ["Added Paris, FR (city search)"]
    store, url, *_ = run(catalog, ids.SCENARIO_EDIT, url, sc.coords_edit("-36.85, 174.76"),
                         current=store)
    assert url.endswith(";-36.85,174.76")
    store, url, *_ , notice = run(catalog, ids.SCENARIO_EDIT, url, sc.edit("remove", index=0),
                                  current=store)
    assert url == "?clients=-36.85,174.76" and "Removed Paris, FR" in texts(notice)[0]
    store, url, *_ = run(catalog, ids.SCENARIO_EDIT, url, sc.edit("clear"), current=store)
    assert url == "" and Scenario.from_dict(store).clients == ()


def test_origin_and_endpoint_choice(catalog):
    store, *_ = run(catalog, None, "?clients=1,2")
    store, url, *_ = run(catalog, ids.ORIGIN, "?clients=1,2", origin="cn-hongkong",
                         current=store)
    assert url == "?clients=1,2&origin=cn-hongkong"
    store, url, *_ = run(catalog, ids.ENDPOINT_TYPE, url, endpoint="ENI", current=store)
    assert url.endswith("&endpoint=ENI")
    # the same value again (or junk) changes nothing
    assert run(catalog, ids.ENDPOINT_TYPE, url, endpoint="ENI", current=store) == (no_update,) * 5
    assert run(catalog, ids.ORIGIN, url, origin="mars-1", current=store) == (no_update,) * 5


def test_client_limit_is_enforced_with_a_notice(catalog):
    small = SETTINGS.with_(max_clients=2)
    store, *_ = run(catalog, None, "?clients=1,1", settings=small)
    req = sc.edit("add", clients=[{"lat": 2, "lon": 2}, {"lat": 3, "lon": 3}])
    store, *_, notice = run(catalog, ids.SCENARIO_EDIT, "", req, current=store, settings=small)
    assert len(Scenario.from_dict(store).clients) == 2
    assert any("limit is 2" in t for t in texts(notice))


@pytest.mark.parametrize("text, lat, lon", [
    ("48.8566, 2.3522", 48.8566, 2.3522), ("48.8566 2.3522", 48.8566, 2.3522),
    ("-33.87;151.21", -33.87, 151.21), ("33.87 S, 151.21 E", -33.87, 151.21),
    ("40.7°N 74.0°W", 40.7, -74.0), (" 0 , -180 ", 0, -180),
])
def test_parse_coordinates(text, lat, lon):
    assert sc.parse_coordinates(text) == (lat, lon)


@pytest.mark.parametrize("text, message", [
    ("91, 0", "latitude 91 is out of range"), ("0, 180.5", "longitude 180.5 is out of range"),
    ("", "type a latitude"), ("Paris", "is not 'lat, lon'"), ("1,2,3", "is not 'lat, lon'"),
])
def test_bad_coordinates_are_rejected_with_a_message(text, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        sc.parse_coordinates(text)
    req = sc.coords_edit(text)
    assert req["op"] == "notice" and message in req["notices"][0]["text"]


def _data_url(text: str) -> str:
    return "data:text/csv;base64," + base64.b64encode(text.encode()).decode()


def test_upload_adds_clients_with_names_and_weights():
    rows, notices = sc.parse_upload(_data_url("lat,lon,name,weight\n48.85,2.35,Paris,10\n"
                                              "1.29,103.85,Singapore,2.5\n"), "c.csv", SETTINGS, 100)
    assert notices == []
    assert [(r["lat"], r["lon"], r["name"], r["weight"]) for r in rows] == [
        (48.85, 2.35, "Paris", 10.0), (1.29, 103.85, "Singapore", 2.5)]


def test_bad_upload_names_the_line_and_keeps_existing_clients(catalog):
    rows, notices = sc.parse_upload(_data_url("lat,lon\n1,2\n3,400\n"), "bad.csv", SETTINGS, 100)
    assert rows == [] and notices[0][0] == "error"
    assert "bad.csv" in notices[0][1] and "line 3" in notices[0][1]
    store, *_ = run(catalog, None, "?clients=5,5")
    req = sc.edit("notice", notices=[{"level": level, "text": t} for level, t in notices])
    new, url, *_, notice = run(catalog, ids.SCENARIO_EDIT, "?clients=5,5", req, current=store)
    assert Scenario.from_dict(new).clients == Scenario.from_dict(store).clients
    assert url is no_update and "line 3" in texts(notice)[0]


def test_upload_size_cap():
    tiny = SETTINGS.with_(max_upload_bytes=10)
    rows, notices = sc.parse_upload(_data_url("lat,lon\n1,2\n3,4\n5,6\n"), "big.csv", tiny, 100)
    assert rows == [] and "upload limit" in notices[0][1]
    rows, notices = sc.parse_upload(_data_url("1,2\n"), "x.csv", SETTINGS, 0)
    assert rows == [] and "maximum" in notices[0][1]
    rows, notices = sc.parse_upload("data:text/csv;base64,@@@", "x.csv", SETTINGS, 10)
    assert rows == [] and "decoded" in notices[0][1]


def test_city_search_options_and_pick():
    gaz = load_gazetteer()
    opts = sc.city_options(gaz, "sao paulo")
    assert opts[0]["label"].startswith("São Paulo, BR")
    assert all("sao paulo" in o["search"] for o in opts)  # survives the dropdown's own filter
    req = sc.city_edit(gaz, opts[0]["value"])
    assert req["op"] == "add" and req["clients"][0]["name"] == "São Paulo, BR"
    assert sc.city_options(gaz, "  ") == []
    assert sc.city_edit(gaz, "nope")["op"] == "notice"


def test_results_table_shows_nearest_pop_per_client(catalog):
    store, *_ = run(catalog, None, "?clients=48.8566,2.3522,Paris;-36.8485,174.7633,Auckland")
    fig, rows, summary, cdf, count = results.compute_results(store, catalog, SETTINGS)
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
    fig, rows, summary, cdf, count = results.compute_results(None, catalog, SETTINGS)
    assert rows == [] and count == "No clients yet" and "Add clients" in summary[0].children
    assert sum(len(t.lat) for t in fig.data) == len(catalog.pops) + len(catalog.origins)


def test_unrouted_clients_are_explicit(catalog):
    down = ",".join(catalog.pop_ids)
    store, *_ = run(catalog, None, f"?clients=1,2&down={down}")
    _, rows, summary, _, _ = results.compute_results(store, catalog, SETTINGS)
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
