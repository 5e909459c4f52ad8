"""Caps that bind in the services and callbacks (issue 13, findings 4 and 6): every reader of the
scenario store, every edit that adds clients, uploads, imports and links, called as plain
functions.

Every reader of the store now goes through one loader (``services.scenario.load_store`` /
``load_scenario``, which raise ``StoreRefused``); the callbacks that read the store turn that
into ``PreventUpdate`` (the tab callback, the downloads, the N-1 job) or, for the one round trip,
into a notice and the scenario of the link (``services.events.scenario_event``). The panels of
the round trip (endpoints, what-if, client picker, explanation, capacity tab) only ever read the
scenario that event loaded.
"""

from __future__ import annotations

import base64
import json
import time

import pytest
from dash import Output, no_update
from dash.exceptions import PreventUpdate

from dashboard import ids
from dashboard.app import create_app
from dashboard.callbacks import scene
from dashboard.callbacks import support as support_cb
from dashboard.domain import edits
from dashboard.domain.clients import ClientCountError
from dashboard.domain.edits import EditContext, apply_edit
from dashboard.domain.exports import scenario_to_json
from dashboard.domain.scenario import Client, Scenario
from dashboard.services import events
from dashboard.services.requests import import_request, resolve_request
from dashboard.services.scenario import (StoreRefused, client_sets, edit_context, load_scenario,
                                         load_store)
from dashboard.settings import Settings

SETTINGS = Settings()  # the default cap: 50,000 clients
SMALL = Settings(max_clients=30)
#: 50,001 well-formed clients: the app used to build and route them all (finding 4).
OVER = {"clients": [{"lat": i % 80, "lon": i % 170} for i in range(50_001)]}


def _texts(ev: events.SceneEvent) -> list[str]:
    return [text for _level, text in ev.notices]


def _n1_bodies(app) -> tuple:
    """The functions of the N-1 job and of its view callback, as registered (they read the
    store; Dash keeps the undecorated function as ``__wrapped__``)."""
    job = app.callback_map["n1-result.data"]["callback"].__wrapped__
    view = next(cb["callback"].__wrapped__ for out, cb in app.callback_map.items()
                if out.startswith("..n1-table.data..."))
    return job, view


@pytest.fixture(scope="module")
def apps(tmp_path_factory, catalog) -> dict:
    return {s.max_clients: create_app(s.with_(jobs_dir=tmp_path_factory.mktemp("jobs")), catalog)
            for s in (SETTINGS, SMALL)}


def test_an_over_cap_store_is_refused_by_every_reader_before_any_routing(catalog, apps):
    n1_job, n1_view = _n1_bodies(apps[SETTINGS.max_clients])
    calls = [
        lambda: scene.tab_outputs("capacity", True, None, OVER, catalog, SETTINGS),
        lambda: scene.tab_outputs("support", None, 0, OVER, catalog, SETTINGS),
        lambda: n1_job(lambda progress: None, 1, OVER),  # the background job
        lambda: support_cb.assignment_download(OVER, catalog, SETTINGS),
        lambda: support_cb.scenario_download(OVER, SETTINGS),
    ]
    t0 = time.perf_counter()
    with pytest.raises(StoreRefused) as refused:
        load_scenario(OVER, catalog, SETTINGS)  # the one loader of every view
    assert isinstance(refused.value.__cause__, ClientCountError)
    for call in calls:
        with pytest.raises(PreventUpdate):
            call()
    assert n1_view(None, OVER)[-2] is no_update  # the N-1 note keeps what is shown
    # the round trip (map, table, endpoints, what-if, client picker, explanation): the store is
    # refused and the scenario of the link is shown instead
    ev = events.scenario_event(events.EDIT, "", {"op": "notice"}, None, None, OVER, catalog,
                               SETTINGS)
    assert ev.loaded.scenario.clients == () and ev.notices[0][0] == "error"
    out = scene.scene_outputs(ev, scene.PageState(tab="support"), list(catalog.pop_ids),
                              catalog)
    assert out[scene.OUTPUTS.index(Output(ids.EXPLAIN_CLIENT, "options"))] == []  # no client
    # generous: routing 50,001 clients once took seconds; refusing them is a count
    assert time.perf_counter() - t0 < 20


def test_readers_with_settings_apply_the_configured_cap(catalog, apps):
    store = {"clients": [{"lat": 1, "lon": 2}] * 31}
    with pytest.raises(StoreRefused):
        load_scenario(store, catalog, SMALL)  # the map tab's reader (map_outputs reads it)
    with pytest.raises(StoreRefused):
        load_store(store, SMALL.max_clients)
    # the routing readers of the capacity view and the N-1 job too (they used the 50,000
    # ceiling whatever ANYCAST_MAX_CLIENTS said)
    n1_job, _ = _n1_bodies(apps[SMALL.max_clients])
    for call in (lambda: scene.tab_outputs("capacity", True, None, store, catalog, SMALL),
                 lambda: n1_job(lambda progress: None, 1, store)):
        with pytest.raises(PreventUpdate):
            call()
    ev = events.scenario_event(events.EDIT, "", {"op": "notice"}, None, None, store, catalog,
                               SMALL)
    assert ev.loaded.scenario.clients == () and "limit of 30" in _texts(ev)[0]
    assert len(load_store(store).clients) == 31  # the ceiling


def test_a_store_over_the_cap_with_the_client_set_is_refused(catalog):
    store = {"clients": [{"lat": 1, "lon": 2}] * 25_001, "client_set": "cities25k"}
    with pytest.raises(StoreRefused) as refused:
        load_store(store)
    assert isinstance(refused.value.__cause__, ClientCountError)
    with pytest.raises(StoreRefused):
        load_scenario(store, catalog, SETTINGS)


def test_the_scenario_callback_names_the_cap_and_reloads_the_link(catalog):
    store = {"clients": [{"lat": i % 80, "lon": i % 170} for i in range(310_000)]}
    t0 = time.perf_counter()
    ev = events.scenario_event(events.EDIT, "?clients=1,2", {"op": "notice", "nonce": 1},
                               None, None, store, catalog, SETTINGS)
    assert time.perf_counter() - t0 < 10  # generous; it is a count, then a 1-client link
    assert len(ev.store["clients"]) == 1 and ev.changed
    assert any("310,000 clients is more than the limit of 50,000" in t and "reloaded from the link"
               in t for t in _texts(ev))


def test_a_parameter_flood_gives_a_bounded_notice_area(catalog):
    flood = "?" + "&".join(f"p{i}=1" for i in range(100_000))
    ev = events.scenario_event(events.URL, flood, None, None, None, None, catalog, SETTINGS)
    texts = _texts(ev)
    assert len(texts) <= edits.MAX_NOTICES + 1
    assert sum(len(t) for t in texts) < 5_000


def test_bounded_notices_keep_the_worst_first_and_say_how_many_more():
    notices = [("info", "i")] * 20 + [("error", "e" * 2000)]
    out = edits.bounded_notices(notices, 5)
    assert out[0][0] == "error" and len(out[0][1]) == edits.MAX_NOTICE_CHARS
    assert len(out) == 6 and out[-1][1] == "and 16 more message(s) not shown"


def test_a_link_loads_at_most_500_clients_even_when_the_app_takes_50000(catalog):
    link = "?clients=" + ";".join(f"{i % 80},{i % 170}" for i in range(600))
    ev = events.scenario_event(events.PAGE_LOAD, link, None, None, None, None, catalog,
                               SETTINGS)
    assert len(ev.store["clients"]) == 500


def test_adding_clients_counts_the_client_set(catalog):
    s = Scenario(clients=(Client(1, 2),) * 5, client_set="cities25k")
    request = {"op": "add", "clients": [{"lat": 3, "lon": 4}] * 10}
    new, notices = apply_edit(s, request, edit_context(s, catalog, Settings(max_clients=25_010)))
    assert len(new.clients) == 10
    assert any("5 client(s) not added: the limit is 25,010 clients per scenario, including the "
               "25,000 of the client set" in t for _level, t in notices)


def test_adding_more_clients_than_the_room_builds_only_what_fits():
    request = {"op": "add", "clients": [{"lat": 1, "lon": 2}] * 3 + [None] * 300_000}
    new, notices = apply_edit(Scenario(), request, EditContext(max_clients=3))
    assert len(new.clients) == 3 and not any("malformed" in t for _l, t in notices)


def test_the_client_set_is_refused_when_it_would_pass_the_cap(catalog):
    s = Scenario(clients=(Client(1, 2),) * 30)
    request = {"op": "client_set", "key": "cities25k"}
    new, notices = apply_edit(s, request, edit_context(s, catalog, Settings(max_clients=25_029)))
    assert new.client_set is None
    assert notices[-1][0] == "error" and "limit of 25,029 clients" in notices[-1][1]
    new, _ = apply_edit(s, request, edit_context(s, catalog, Settings(max_clients=25_030)))
    assert new.client_set == "cities25k"


def _data_url(data: bytes) -> str:
    return "data:text/csv;base64," + base64.b64encode(data).decode()


def test_an_upload_has_the_room_left_by_the_store_and_its_client_set(catalog):
    current = {"clients": [{"lat": 1, "lon": 2}] * 5, "client_set": "cities25k"}
    settings = Settings(max_clients=25_008)
    scenario = load_store(current, settings.max_clients)
    # the request assets/upload_guard.js writes for a file under the size cap
    accepted = {"op": "upload", "contents": _data_url(b"1,2\n" * 4), "filename": "c.csv"}
    request = resolve_request(accepted, scenario, catalog, settings)
    assert request["op"] == "notice"
    assert "more than 3 clients (the limit)" in request["notices"][0]["text"]
    ok = resolve_request({**accepted, "contents": _data_url(b"1,2\n" * 3)}, scenario, catalog,
                         settings)
    assert ok["op"] == "add" and len(ok["clients"]) == 3


def test_a_scenario_import_over_the_cap_with_its_client_set_is_an_error(catalog):
    s = Scenario(clients=(Client(1, 2),) * 31, client_set="cities25k")
    contents = "data:application/json;base64," + base64.b64encode(
        scenario_to_json(s).encode()).decode()
    request = import_request(contents, "s.json", catalog, Settings(max_clients=25_030))
    assert request["op"] == "notice"
    assert "limit of 25,030 clients" in request["notices"][0]["text"]


def test_a_replace_edit_over_the_cap_is_counted_before_it_is_built():
    request = {"op": "replace", "nonce": 1, "scenario": {"clients": [None] * 310_000}}
    new, notices = apply_edit(Scenario(), request,
                              EditContext(max_clients=50_000, client_sets=client_sets()))
    assert new == Scenario()
    assert "310,000 clients is more than the limit of 50,000" in notices[-1][1]


def test_a_store_round_trip_keeps_clean_names(catalog):
    store = {"clients": [{"lat": -0.0, "lon": 2, "name": "Pa\u200bris\u202e"}]}
    ev = events.scenario_event(events.EDIT, "", {"op": "notice", "nonce": 1}, None, None,
                               store, catalog, SETTINGS)
    assert ev.store["clients"][0]["name"] == "Paris"
    assert ev.loaded.scenario.clients[0].name == "Paris"  # what every view reads
    assert "-0" not in json.dumps(ev.store) and "-0" not in str(ev.url_search)
