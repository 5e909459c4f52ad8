"""Issue 17 without a browser: the link's view, the support verdict, the labels, partial CSV
imports (the browser-only parts are in tests/e2e/test_ux_e2e.py)."""

from __future__ import annotations

from dash import Output, no_update

from dashboard import ids
from dashboard.callbacks import scene
from dashboard.catalog import default_catalog
from dashboard.domain.scenario_url import VIEWS, from_query, view_from_query
from dashboard.services import events
from dashboard.settings import Settings

SETTINGS = Settings()
CATALOG = default_catalog()
PILLS = list(CATALOG.pop_ids)


def at(out: tuple, component: str, prop: str):
    return out[scene.OUTPUTS.index(Output(component, prop))]


# -- 1. sharing: a link names the view it opens ---------------------------------------------------

def test_a_link_names_its_view_and_the_scenario_ignores_it_quietly():
    query = "?clients=48.85,2.35,Paris&down=CDG&view=support"
    assert view_from_query(query) == "support"
    scenario, warnings = from_query(query, pop_ids=CATALOG.pop_ids)
    assert warnings == []  # not an "unknown link parameter"
    assert scenario.down == frozenset({"CDG"}) and len(scenario.clients) == 1
    assert view_from_query("clients=1,2") is None
    assert view_from_query("view=SUPPORT&view=capacity") == "capacity"  # the last one
    assert view_from_query("view=bogus") is None and view_from_query(None) is None
    assert any("view" in w for w in from_query("view=bogus")[1])
    assert VIEWS == ("map", "capacity", "support")


def test_opening_a_link_with_a_view_shows_that_tab():
    query = "?clients=48.85,2.35,Paris&view=capacity"
    ev = events.scenario_event(events.PAGE_LOAD, query, None, None, None, None, CATALOG, SETTINGS)
    view = view_from_query(query)
    out = scene.scene_outputs(ev, scene.PageState(), PILLS, CATALOG, view)
    assert at(out, ids.VIEW_TABS, "value") == "capacity"
    # the address bar keeps the scenario; the view is the page's, not the scenario's
    assert "view" not in (at(out, ids.URL, "search") or "")
    # an edit afterwards leaves the tab alone
    out = scene.scene_outputs(ev, scene.PageState(), PILLS, CATALOG)
    assert at(out, ids.VIEW_TABS, "value") is no_update
