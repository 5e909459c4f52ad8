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


# -- 2. support verdicts ---------------------------------------------------------------------------

def explained(query: str, index: int = 0):
    from dashboard.services.support import explain_view
    ev = events.scenario_event(events.PAGE_LOAD, query, None, None, None, None, CATALOG, SETTINGS)
    return explain_view(ev.loaded, index, CATALOG)


def test_the_runner_up_margin_is_in_km_only_when_the_chosen_pop_is_next_door():
    view = explained("clients=-6.2,106.85&origin=eu-central-1")  # Jakarta: ~0 km from CGK
    assert view.chosen == "CGK" and view.runner_up == "SIN"
    assert view.margin.endswith(" km") and "%" not in view.margin  # was "891 km (22411590 %)"
    far = explained("clients=50.0,20.0&origin=eu-central-1")  # farther from every PoP
    assert "%" in far.margin


def test_the_explain_panel_states_one_plain_conclusion():
    from dashboard.layout.support import render_explain
    base = "clients=-6.2,106.85&origin=eu-central-1"
    faster = explained(base + "&observed=0:SIN")
    assert faster.conclusion.startswith("SIN is modelled ") and " ms faster than CGK to " \
        "eu-central-1: the entry PoP is not the cause." in faster.conclusion
    slower = explained(base + "&observed=0:GRU")
    assert "slower than CGK" in slower.conclusion and "likely cause" in slower.conclusion
    same = explained(base + "&observed=0:CGK")
    assert "as modelled" in same.conclusion and "not the cause" in same.conclusion
    choice = explained(base)
    assert choice.conclusion.startswith("Expect entry at CGK, modelled ")
    assert "SIN" in choice.conclusion
    assert faster.conclusion in str(render_explain(faster))


# -- 5. N-1 feedback -------------------------------------------------------------------------------

def test_download_csv_is_disabled_until_a_result_with_rows_exists():
    from dashboard.callbacks import capacity as cap_cb
    from dashboard.layout.capacity import capacity_panel
    button = _find(capacity_panel(None), ids.N1_EXPORT)
    assert button.disabled is True  # before any run (a click silently did nothing)
    assert cap_cb.n1_export_disabled(None) and cap_cb.n1_export_disabled({"rows": []})
    assert cap_cb.n1_export_disabled("junk")


def test_cancel_says_what_the_job_store_says():
    """Run / Cancel write the status line in the browser at once (the browser part:
    tests/e2e/test_ux_e2e.py::test_n1_status_resets_per_run_and_says_cancelled)."""
    from dashboard.callbacks import capacity as cap_cb
    from dashboard.jobs import MESSAGES
    assert cap_cb.CANCELLED == MESSAGES["cancelled"]


def _find(component, cid):
    if getattr(component, "id", None) == cid:
        return component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, (list, tuple)) else [children]:
        if child is not None and not isinstance(child, (str, int, float)):
            hit = _find(child, cid)
            if hit is not None:
                return hit
    return None


# -- 6. labels -------------------------------------------------------------------------------------

def test_the_faster_via_anycast_number_reads_as_a_share_of_clients_beside_the_saving():
    from dashboard.services.map import summary_kpis
    kpis = summary_kpis({"clients": 6, "pops_used": 3, "pops": 19, "p50_ms": 40.0,
                         "p95_ms": 90.0, "median_saving_ms": -87.0, "faster_share": 0.17},
                        "eu-central-1")
    labels = [k.label for k in kpis]
    i = labels.index("clients faster via anycast")
    assert kpis[i].value == "17%" and "share of clients" in kpis[i].hint
    assert labels[i - 1] == "median saving vs direct"  # next to the median saving


# -- 7. partial CSV import -------------------------------------------------------------------------

def _data_url(text: str) -> str:
    import base64
    return "data:text/csv;base64," + base64.b64encode(text.encode()).decode()


PARTIAL = ("lat,lon,name\n48.85,2.35,Paris\n91,0,North of the pole\n1.29,103.85,Singapore\n"
           "abc,2,Typo\n35.68,139.69,Tokyo\n")


def test_one_bad_line_no_longer_rejects_the_upload_the_good_rows_are_added():
    from dashboard.services.requests import parse_upload
    rows, notices = parse_upload(_data_url(PARTIAL), "offices.csv", SETTINGS, 100)
    assert [r["name"] for r in rows] == ["Paris", "Singapore", "Tokyo"]
    assert len(notices) == 1 and notices[0][0] == "warning"
    text = notices[0][1]
    assert text.startswith("offices.csv: 2 lines rejected, the 3 good rows added.")
    assert "line 3: lat: latitude 91 is outside" in text and "line 5: lat: 'abc'" in text


def test_the_rejected_lines_listed_are_capped():
    from dashboard.services.requests import MAX_REJECTED_SHOWN, parse_upload
    body = "lat,lon\n1,2\n" + "999,0\n" * 40
    rows, notices = parse_upload(_data_url(body), "many.csv", SETTINGS, 100)
    assert len(rows) == 1 and len(notices) == 1
    text = notices[0][1]
    assert text.count("line ") == MAX_REJECTED_SHOWN and "and 35 more" in text
    assert len(text) <= 500


def test_a_partial_upload_through_the_round_trip_adds_the_good_rows_and_says_what_was_left():
    store = events.scenario_event(events.PAGE_LOAD, "?clients=5,5", None, None, None, None,
                                  CATALOG, SETTINGS).store
    ev = events.scenario_event(events.EDIT, "?clients=5,5",
                               {"op": "upload", "contents": _data_url(PARTIAL),
                                "filename": "offices.csv"}, None, None, store, CATALOG, SETTINGS)
    assert ev.changed and len(ev.loaded.scenario.clients) == 4
    texts = [t for _level, t in ev.notices]
    assert any("2 lines rejected" in t for t in texts) and any("Added 3" in t for t in texts)


def test_the_api_and_cli_reader_stays_strict():
    import pytest
    from dashboard.domain.clients import ClientsError, parse_clients, parse_clients_lenient
    with pytest.raises(ClientsError, match="line 3"):
        parse_clients(PARTIAL)
    df, rejected = parse_clients_lenient(PARTIAL)
    assert len(df) == 3 and rejected.count == 2 and [e.line for e in rejected.errors] == [3, 5]
    # the whole file's problems still reject it
    with pytest.raises(ClientsError, match="header"):
        parse_clients_lenient("x,y\n1,2\n")
    with pytest.raises(ClientsError, match="line 2.*and 1 more bad line"):
        parse_clients_lenient("lat,lon\n91,0\n92,0\n")
