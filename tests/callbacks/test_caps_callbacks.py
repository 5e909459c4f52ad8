"""Caps that bind in the callbacks (issue 13, findings 4 and 6): every reader of the scenario
store, every edit that adds clients, uploads, imports and links, called as plain functions."""

from __future__ import annotations

import base64
import json
import time

import pytest
from dash.exceptions import PreventUpdate

from dashboard import ids
from dashboard.callbacks import capacity as cap_cb
from dashboard.callbacks import failover as fo
from dashboard.callbacks import results
from dashboard.callbacks import scenario as sc
from dashboard.callbacks import support as sup
from dashboard.domain.exports import scenario_to_json
from dashboard.domain.scenario import Client, Scenario
from dashboard.settings import Settings

SETTINGS = Settings()  # the default cap: 50,000 clients
SMALL = Settings(max_clients=30)
#: 50,001 well-formed clients: the app used to build and route them all (finding 4).
OVER = {"clients": [{"lat": i % 80, "lon": i % 170} for i in range(50_001)]}


def _texts(notices) -> list[str]:
    return [n.children for n in notices]


def test_an_over_cap_store_is_refused_by_every_reader_before_any_routing(catalog):
    calls = [
        lambda: cap_cb.compute_capacity(OVER, catalog, True),
        lambda: cap_cb.run_n1(OVER, catalog, SETTINGS),  # the background job
        lambda: sup.client_options(OVER),
        lambda: sup.explain_body(OVER, 0, catalog, SETTINGS),
        lambda: sup.assignment_download(OVER, catalog, SETTINGS),
        lambda: sup.scenario_download(OVER),
        lambda: fo.endpoint_rows(OVER, catalog, SETTINGS),
        lambda: fo.whatif_rows(OVER, catalog, SETTINGS),
        lambda: results.compute_view(OVER, None, None, catalog, SETTINGS),
    ]
    t0 = time.perf_counter()
    for call in calls:
        with pytest.raises(PreventUpdate):
            call()
    # generous: routing 50,001 clients once took seconds; refusing them is a count
    assert time.perf_counter() - t0 < 20


def test_readers_with_settings_apply_the_configured_cap(catalog):
    store = {"clients": [{"lat": 1, "lon": 2}] * 31}
    with pytest.raises(PreventUpdate):
        results.compute_view(store, None, None, catalog, SMALL)
    with pytest.raises(PreventUpdate):
        sc.scenario_from_store(store, catalog, SMALL.max_clients)
    # the routing readers of the capacity view and the N-1 job too (they used the 50,000
    # ceiling whatever ANYCAST_MAX_CLIENTS said)
    for call in (lambda: cap_cb.compute_capacity(store, catalog, True, SMALL.max_clients),
                 lambda: cap_cb.run_n1(store, catalog, SMALL)):
        with pytest.raises(PreventUpdate):
            call()
    assert len(sc.scenario_from_store(store, catalog).clients) == 31  # the ceiling


def test_a_store_over_the_cap_with_the_client_set_is_refused(catalog):
    store = {"clients": [{"lat": 1, "lon": 2}] * 25_001, "client_set": "cities25k"}
    with pytest.raises(PreventUpdate):
        sc.scenario_from_store(store, catalog)


def test_the_scenario_callback_names_the_cap_and_reloads_the_link(catalog):
    store = {"clients": [{"lat": i % 80, "lon": i % 170} for i in range(310_000)]}
    t0 = time.perf_counter()
    out = sc.scenario_event(ids.SCENARIO_EDIT, "?clients=1,2", {"op": "notice", "nonce": 1},
                            None, None, store, catalog, SETTINGS)
    assert time.perf_counter() - t0 < 10  # generous; it is a count, then a 1-client link
    new_store, _url, _origin, _endpoint, notices = out
    assert len(new_store["clients"]) == 1
    assert any("310,000 clients is more than the limit of 50,000" in t and "reloaded from the link"
               in t for t in _texts(notices))


def test_a_parameter_flood_gives_a_bounded_notice_area(catalog):
    flood = "?" + "&".join(f"p{i}=1" for i in range(100_000))
    out = sc.scenario_event(ids.URL, flood, None, None, None, None, catalog, SETTINGS)
    texts = _texts(out[4])
    assert len(texts) <= sc.MAX_NOTICES + 1
    assert sum(len(t) for t in texts) < 5_000


def test_bounded_notices_keep_the_worst_first_and_say_how_many_more():
    notices = [("info", "i")] * 20 + [("error", "e" * 2000)]
    out = sc.bounded_notices(notices, 5)
    assert out[0][0] == "error" and len(out[0][1]) == sc.MAX_NOTICE_CHARS
    assert len(out) == 6 and out[-1][1] == "and 16 more message(s) not shown"


def test_a_link_loads_at_most_500_clients_even_when_the_app_takes_50000(catalog):
    link = "?clients=" + ";".join(f"{i % 80},{i % 170}" for i in range(600))
    store = sc.scenario_event(None, link, None, None, None, None, catalog, SETTINGS)[0]
    assert len(store["clients"]) == 500


def test_adding_clients_counts_the_client_set():
    s = Scenario(clients=(Client(1, 2),) * 5, client_set="cities25k")
    request = sc.edit("add", clients=[{"lat": 3, "lon": 4}] * 10)
    new, notices = sc.apply_edit(s, request, 25_010)
    assert len(new.clients) == 10
    assert any("5 client(s) not added: the limit is 25,010 clients per scenario, including the "
               "25,000 of the client set" in t for _level, t in notices)


def test_adding_more_clients_than_the_room_builds_only_what_fits():
    request = sc.edit("add", clients=[{"lat": 1, "lon": 2}] * 3 + [None] * 300_000)
    new, notices = sc.apply_edit(Scenario(), request, 3)
    assert len(new.clients) == 3 and not any("malformed" in t for _l, t in notices)


def test_the_client_set_is_refused_when_it_would_pass_the_cap():
    s = Scenario(clients=(Client(1, 2),) * 30)
    new, notices = sc.apply_edit(s, sc.edit("client_set", key="cities25k"), 25_029)
    assert new.client_set is None
    assert notices[-1][0] == "error" and "limit of 25,029 clients" in notices[-1][1]
    new, _ = sc.apply_edit(s, sc.edit("client_set", key="cities25k"), 25_030)
    assert new.client_set == "cities25k"


def _data_url(data: bytes) -> str:
    return "data:text/csv;base64," + base64.b64encode(data).decode()


def test_an_upload_has_the_room_left_by_the_store_and_its_client_set():
    current = {"clients": [{"lat": 1, "lon": 2}] * 5, "client_set": "cities25k"}
    settings = Settings(max_clients=25_008)
    accepted = {"contents": _data_url(b"1,2\n" * 4), "filename": "c.csv"}
    request = sc.upload_edit(accepted, current, settings)
    assert request["op"] == "notice"
    assert "more than 3 clients (the limit)" in request["notices"][0]["text"]
    ok = sc.upload_edit({**accepted, "contents": _data_url(b"1,2\n" * 3)}, current, settings)
    assert ok["op"] == "add" and len(ok["clients"]) == 3


def test_a_scenario_import_over_the_cap_with_its_client_set_is_an_error(catalog):
    s = Scenario(clients=(Client(1, 2),) * 31, client_set="cities25k")
    contents = "data:application/json;base64," + base64.b64encode(
        scenario_to_json(s).encode()).decode()
    request = sup.import_edit(contents, "s.json", catalog, Settings(max_clients=25_030))
    assert request["op"] == "notice"
    assert "limit of 25,030 clients" in request["notices"][0]["text"]


def test_a_replace_edit_over_the_cap_is_counted_before_it_is_built(catalog):
    request = {"op": "replace", "nonce": 1, "scenario": {"clients": [None] * 310_000}}
    new, notices = sc.apply_edit(Scenario(), request, 50_000)
    assert new == Scenario()
    assert "310,000 clients is more than the limit of 50,000" in notices[-1][1]


def test_a_store_round_trip_keeps_clean_names(catalog):
    store = {"clients": [{"lat": -0.0, "lon": 2, "name": "Pa\u200bris\u202e"}]}
    out = sc.scenario_event(ids.SCENARIO_EDIT, "", {"op": "notice", "nonce": 1}, None, None,
                            store, catalog, SETTINGS)
    assert out[0]["clients"][0]["name"] == "Paris"
    assert "-0" not in json.dumps(out[0]) and "-0" not in str(out[1])
