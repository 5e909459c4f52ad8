"""The first map served in the layout to a page opened without a query (issue 16,
callbacks.scene.serve_initial_map; docs/performance.md, "Issue 16: the page against a bare Dash
page"): the same figure the first round trip draws, only for the default page, never for a link."""

from __future__ import annotations

import json

import pytest

from dashboard import ids
from dashboard.app import create_app
from dashboard.callbacks import scene
from dashboard.services import events
from dashboard.settings import Settings


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
