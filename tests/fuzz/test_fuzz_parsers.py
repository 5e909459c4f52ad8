"""Property tests for every parser of typed or uploaded input: each either returns a valid value
or reports a clear problem; none raises anything else, and a rejected input never changes the
user's scenario. (``tests/unit/test_clients.py`` and ``test_scenario.py`` cover the CSV and URL
grammars themselves; these add the UI entry points around them.)"""

from __future__ import annotations

import base64
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.callbacks.widgets import city_options
from dashboard.domain.edits import EditContext, apply_edit
from dashboard.domain.scenario import Client, Scenario
from dashboard.gazetteer import load_gazetteer
from dashboard.services import events
from dashboard.services.requests import parse_coordinates, parse_upload, resolve_request
from dashboard.settings import Settings
from tests.fuzz.strategies import (csv_bodies, good_csv_bodies, hostile_text, json_values,
                                   url_queries)

MANY = settings(max_examples=400, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])
SETTINGS = Settings(max_upload_bytes=4096, max_clients=50)
START = Scenario(clients=(Client(48.8566, 2.3522, "Paris"), Client(1.29, 103.85, "Singapore")),
                 origin="us-west-1", down=frozenset({"CDG"}))


@MANY
@given(st.one_of(hostile_text, json_values))
def test_typed_coordinates_parse_or_explain(catalog, text):
    try:
        lat, lon = parse_coordinates(text)
    except ValueError as exc:
        assert str(exc)  # a message for the user
        request = resolve_request({"op": "coords", "text": text}, START, catalog, SETTINGS)
        assert request["op"] == "notice"
        assert request["notices"][0]["text"].startswith("Coordinates: ")
        return
    assert math.isfinite(lat) and math.isfinite(lon)
    assert -90 <= lat <= 90 and -180 <= lon <= 180


@pytest.mark.parametrize("text", ["1e309, 2", "nan, 3", "91, 0", "0, 181",
                                  "<script>alert(1)</script>", "=cmd|' /C calc'!A0", "", None,
                                  ["48", "2"], {"lat": 1}, 12])
def test_typed_coordinates_examples_are_rejected_with_a_message(text):
    with pytest.raises(ValueError, match=r"\w"):
        parse_coordinates(text)


@pytest.fixture(scope="module")
def gazetteer():
    return load_gazetteer()


@MANY
@given(st.one_of(hostile_text, json_values))
def test_city_search_never_fails(gazetteer, query):
    options = city_options(gazetteer, query)
    assert isinstance(options, list) and len(options) <= 12
    for o in options:
        assert isinstance(o["label"], str) and isinstance(o["value"], int)


@MANY
@given(st.one_of(csv_bodies, good_csv_bodies), st.one_of(hostile_text, st.none()))
def test_upload_parses_or_gives_an_error_notice(data, filename):
    contents = "data:text/csv;base64," + base64.b64encode(data).decode()
    rows, notices = parse_upload(contents, filename, SETTINGS, room=10)
    if not rows:
        assert notices and notices[0][0] == "error"
        return
    # some good rows: added, with at most one warning listing the rejected lines
    assert notices == [] or (len(notices) == 1 and notices[0][0] == "warning"
                             and "rejected" in notices[0][1] and len(notices[0][1]) <= 500)
    assert 1 <= len(rows) <= 10
    for r in rows:
        assert -90 <= r["lat"] <= 90 and -180 <= r["lon"] <= 180 and r["weight"] >= 0
        assert isinstance(r["name"], str)


@MANY
@given(st.one_of(json_values, hostile_text), st.one_of(json_values, hostile_text))
def test_upload_with_garbage_contents_or_filename_never_raises(contents, filename):
    rows, notices = parse_upload(contents, filename, SETTINGS, room=10)
    assert rows or notices


@MANY
@given(json_values)
def test_edits_from_the_browser_never_raise_and_bad_ones_keep_the_scenario(request):
    scenario, notices = apply_edit(START, request, EditContext(max_clients=50))
    assert isinstance(scenario, Scenario)
    if not isinstance(request, dict) or request.get("op") not in ("add", "remove", "clear"):
        assert scenario == START
    for level, text in notices:
        assert level in ("info", "warning", "error") and isinstance(text, str)


@MANY
@given(url_queries)
def test_url_state_never_raises_and_yields_a_valid_scenario(catalog, query):
    ev = events.scenario_event(events.PAGE_LOAD, query, None, None, None, None, catalog,
                               SETTINGS)
    scenario = Scenario.from_dict(ev.store)
    assert len(scenario.clients) <= SETTINGS.max_clients
    assert scenario.down <= set(catalog.pop_ids)
    assert scenario.origin is None or scenario.origin in catalog.origin_ids
    assert ev.loaded.origin_id in catalog.origin_ids


@MANY
@given(json_values)
def test_a_store_not_written_by_us_is_replaced_from_the_url(catalog, current):
    ev = events.scenario_event(events.EDIT, "?clients=1,2", {"op": "clear", "nonce": 1}, None,
                               None, current, catalog, SETTINGS)
    Scenario.from_dict(ev.store)  # always a valid scenario (ev is None only for no request)


@MANY
@given(json_values)
def test_scenario_from_dict_is_a_scenario_or_a_value_error(d):
    try:
        s = Scenario.from_dict(d)
    except ValueError:
        return
    assert Scenario.from_dict(s.to_dict()) == s
