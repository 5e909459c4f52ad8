"""The first map served in the layout to a page opened without a query (issue 16,
callbacks.scene.serve_initial_map; docs/performance.md, "Issue 16: the page against a bare Dash
page"): the same figure the first round trip draws -- and, since page16g, every other value of its
answer, so that round trip changes nothing -- only for the default page, never for a link."""

from __future__ import annotations

import copy
import json

import pytest
from dash import no_update
from dash._utils import to_json

from dashboard import ids
from dashboard.catalog import AREAS
from dashboard.domain.scenario_url import view_from_query
from dashboard.app import create_app
from dashboard.callbacks import scene
from dashboard.services import events
from dashboard.settings import ASSETS_DIR, Settings


@pytest.fixture(scope="module")
def app():
    return create_app()


def _world_map(layout: dict) -> dict | None:
    stack = [layout]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            props = node.get("props")
            if isinstance(props, dict) and props.get("id") == ids.WORLD_MAP:
                return props
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return None


@pytest.mark.parametrize("referrer, expected", [
    ("http://127.0.0.1:8050/", True),
    ("https://eip.example.com", True),
    ("http://127.0.0.1:8050/?origin=eu-west-1", False),
    ("http://127.0.0.1:8050/?view=support", False),
    ("http://127.0.0.1:8050/?", True),  # an empty query is no query
    ("http://127.0.0.1:8050/other", False),
    (None, False),
    ("", False),
])
def test_only_the_page_opened_without_a_query_counts(referrer, expected):
    assert scene.opened_without_query(referrer) is expected


def test_the_default_page_gets_the_first_rounds_figure_in_its_layout(app):
    client = app.server.test_client()
    with_map = client.get("/_dash-layout", headers={"Referer": "http://localhost/"})
    assert with_map.status_code == 200 and with_map.mimetype == "application/json"
    fig = _world_map(with_map.get_json())["figure"]
    names = [t.get("name", "") for t in fig["data"]]
    assert any(n.startswith("Access points ·") for n in names)
    # exactly what the page's first round trip draws for the page without a query
    ev = events.scenario_event(events.PAGE_LOAD, "", None, None, None, None,
                               app.server.config["ANYCAST_CATALOG"], Settings.from_env())
    out = scene.scene_outputs(ev, scene.PageState(), [], app.server.config["ANYCAST_CATALOG"])
    expected = out[scene.OUTPUTS.index(scene.MAP_OUT[0])]
    assert json.loads(json.dumps(fig)) == json.loads(expected.to_json())


@pytest.mark.parametrize("headers", [{}, {"Referer": "http://localhost/?clients=1,2"},
                                     {"Referer": "http://localhost/?view=capacity"}])
def test_links_and_unknown_pages_get_the_layout_without_a_figure(app, headers):
    layout = app.server.test_client().get("/_dash-layout", headers=headers).get_json()
    assert "figure" not in _world_map(layout)


def test_the_app_layout_itself_is_unchanged(app):
    # tests and the validation layout walk app.layout: it keeps no figure
    assert getattr(app.layout[ids.WORLD_MAP], "figure", None) is None


@pytest.mark.parametrize("headers", [{"Referer": "http://localhost/"},
                                     {"Referer": "http://localhost/?down=LHR"}, {}])
def test_both_layouts_say_they_vary_by_referer_and_carry_no_validator(app, headers):
    # two bodies under one URL: no ETag/Last-Modified to revalidate one against the other,
    # Vary: Referer for any HTTP cache, and no-store
    r = app.server.test_client().get("/_dash-layout",
                                     headers={**headers, "Accept-Encoding": "gzip"})
    assert "referer" in r.headers["Vary"].lower() and "accept-encoding" in r.headers["Vary"].lower()
    assert "ETag" not in r.headers and "Last-Modified" not in r.headers
    assert r.headers["Cache-Control"] == "no-store"


# -- the whole first answer in the layout (page16g): the first round trip then changes nothing ---

def _props(layout: dict, cid) -> dict | None:
    stack = [layout]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            props = node.get("props")
            if isinstance(props, dict) and props.get("id") == cid:
                return props
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return None


def _pills(catalog) -> list[str]:
    return [p for area in AREAS for p in catalog.pops.loc[catalog.pops["area"] == area, "id"]]


def _plain(value):
    return json.loads(to_json(value))


def test_the_default_layout_holds_every_value_of_the_first_answer(app):
    catalog = app.server.config["ANYCAST_CATALOG"]
    layout = app.server.test_client().get(
        "/_dash-layout", headers={"Referer": "http://localhost/"}).get_json()
    answer = scene.first_answer(catalog, Settings.from_env(), _pills(catalog))
    assert answer is not None
    written = [(cid if isinstance(cid, str) else dict(cid), prop) for cid, prop in answer]
    # the store, the map and its numbers, every pill, the side panels, the widgets' values
    for cid in (ids.SCENARIO, ids.WORLD_MAP, ids.RTT_CDF, ids.SUMMARY, ids.ENDPOINTS_LIST,
                ids.MODEL_CONTROLS, ids.CAPACITY_CONTROLS, ids.WIDGET_VALUES, ids.FAILOVER_PREV):
        assert any(c == cid for c, _ in written), cid
    assert sum(1 for c, _ in written if isinstance(c, dict)) == 2 * len(catalog.pops)
    for (cid, prop), value in answer.items():
        props = _props(layout, cid if isinstance(cid, str) else dict(cid))
        assert props is not None, cid
        got, want = _plain(props.get(prop)), _plain(value)
        if cid == ids.TABLE_BASE:  # a fresh random key per answer (patches.table_update)
            assert isinstance(got, str) and got
            continue
        if cid in (ids.FAILOVER_FRAMES, ids.FAILOVER_STATUS):  # a fresh animation id per answer
            got.pop("id"), want.pop("id")
        assert got == want, (cid, prop)


def test_the_failover_status_is_what_the_browser_answers_a_plan_without_clients(app):
    # assets/failover.js animate(): no clients -> {id, state: "idle"}; the layout says so, as
    # the first round trip's plan is no longer sent to the browser
    layout = app.server.test_client().get(
        "/_dash-layout", headers={"Referer": "http://localhost/"}).get_json()
    frames = _props(layout, ids.FAILOVER_FRAMES)["data"]
    assert frames["clients"] == []
    assert _props(layout, ids.FAILOVER_STATUS)["data"] == {"id": frames["id"], "state": "idle"}
    assert "state: 'idle'" in (ASSETS_DIR / "failover.js").read_text()


@pytest.mark.parametrize("trigger", [events.PAGE_LOAD, events.URL, events.ORIGIN,
                                     events.ENDPOINT_TYPE, events.EDIT])
def test_the_first_round_trip_over_that_layout_changes_nothing(app, trigger):
    # Dash names no trigger (or any input) on the first call; with the layout's store and
    # widget values every one of them is "nothing changed": no_update for every output
    catalog = app.server.config["ANYCAST_CATALOG"]
    layout = app.server.test_client().get(
        "/_dash-layout", headers={"Referer": "http://localhost/"}).get_json()
    store = _props(layout, ids.SCENARIO)["data"]
    ev = events.scenario_event(trigger, "", None, _props(layout, ids.ORIGIN)["value"],
                               _props(layout, ids.ENDPOINT_TYPE)["value"], store, catalog,
                               Settings.from_env())
    assert ev is None
    out = scene.scene_outputs(ev, scene.PageState(), _pills(catalog), catalog,
                              view_from_query(""))
    flat = [v for o in out for v in (o if isinstance(o, list) else [o])]
    assert all(v is no_update for v in flat)


def test_a_link_still_gets_an_empty_store(app):
    layout = app.server.test_client().get(
        "/_dash-layout", headers={"Referer": "http://localhost/?down=LHR"}).get_json()
    assert _props(layout, ids.SCENARIO)["data"] is None
    assert getattr(app.layout[ids.SCENARIO], "data", None) is None


def test_without_a_first_answer_the_default_page_gets_the_plain_layout(monkeypatch):
    monkeypatch.setattr(scene, "first_answer", lambda *a, **k: None)
    layout = create_app().server.test_client().get(
        "/_dash-layout", headers={"Referer": "http://localhost/"}).get_json()
    assert "figure" not in _world_map(layout)
    assert _props(layout, ids.SCENARIO)["data"] is None


def test_an_answer_naming_a_missing_component_is_not_written(app):
    layout = copy.deepcopy(app.get_layout())
    assert scene.with_first_answer(layout, {("no-such-id", "children"): "x"}) is False
    assert scene.with_first_answer(layout, {(ids.SUMMARY, "children"): "x"}) is True
    assert layout[ids.SUMMARY].children == "x"
