"""Observations (issue 18, part 3) below the browser: the service's view-models (a pasted trace's
evidence, measured vs modelled), "Use as observed PoP" resolved and applied by the one round trip
(``services.events.scenario_event``), the support tab's renderers and callbacks as functions, the
``observeTrace`` widget request (Node), the API (``POST /api/v1/traceroute``) and the CLI
(``anycast-dashboard traceroute FILE``). Samples: ``tests/data/traces`` (written for the tests)."""

from __future__ import annotations

import base64
import json

import pytest

from dashboard.app import create_app
from dashboard.callbacks import support as sup
from dashboard.cli import main
from dashboard.domain.observe import MAX_CSV_CHARS
from dashboard.domain.scenario import Client, Scenario
from dashboard.domain.traceroute import MAX_TRACE_CHARS
from dashboard.services import events, observe
from dashboard.services.requests import resolve_request
from dashboard.services.scenario import load_scenario
from dashboard.settings import Settings
from tests.callbacks.edits_js import NO_UPDATE, needs_node, run_edit
from tests.conftest import ROOT

SETTINGS = Settings()
TRACES = ROOT / "tests" / "data" / "traces"
MTR = (TRACES / "mtr_report.txt").read_text()
BERLIN, LYON = Client(52.52, 13.405, "Berlin"), Client(45.764, 4.8357, "Lyon")
S = Scenario(clients=(BERLIN, LYON))


def loaded(catalog, s: Scenario = S):
    return load_scenario(s.to_dict(), catalog, SETTINGS)


def apply(catalog, s: Scenario, request: dict) -> tuple[Scenario, list[str]]:
    ev = events.scenario_event(events.EDIT, "", request, None, None, s.to_dict(), catalog,
                               SETTINGS)
    if ev is None:
        return s, []
    return Scenario.from_dict(ev.store), [text for _level, text in ev.notices]


# -- the evidence view ---------------------------------------------------------------------------

def test_trace_view_shows_the_entry_point_its_evidence_and_measured_vs_modelled(catalog):
    v = observe.trace_view(MTR, 0, loaded(catalog), catalog)
    assert (v.pop, v.confidence, v.fmt, v.can_apply) == ("FRA", "high", "mtr", True)
    assert v.status.startswith("Entry point FRA (high confidence): hop 6 ae-1.r20.frnkge08")
    assert [(r["hop"], r["code"], r["metro"], r["pop"], r["verdict"]) for r in v.rows] == [
        (5, "FRNKGE", "Frankfurt", "FRA", "agrees"), (6, "FRNKGE", "Frankfurt", "FRA", "entry")]
    assert v.rtt.startswith("Measured 13.8 ms to the destination (best probe); modelled ")
    assert "via FRA (the model's choice" in v.rtt and v.client == "#1 Berlin"


def test_trace_view_without_an_own_client_cannot_apply(catalog):
    v = observe.trace_view(MTR, None, loaded(catalog), catalog)
    assert v.pop == "FRA" and not v.can_apply and not v.rtt
    assert any("Pick one of your own clients" in n for n in v.notes)


@pytest.mark.parametrize("text, fragment", [
    ("", "Nothing read: paste the output"), ("x" * (MAX_TRACE_CHARS + 1), "Nothing read"),
    ((TRACES / "mtr_no_codes.txt").read_text(), "No entry point inferred: no hop name"),
    ((TRACES / "mtr_ambiguous_ams.txt").read_text(), "Amsterdam"),
])
def test_trace_view_says_why_nothing_is_inferred(catalog, text, fragment):
    v = observe.trace_view(text, 0, loaded(catalog), catalog)
    assert v.pop is None and not v.can_apply and fragment in v.status


def test_renderers_and_the_analyse_callback(catalog):
    children = sup.trace_panel(MTR, 0, S.to_dict(), catalog, SETTINGS)
    text = json.dumps([c.to_plotly_json() for c in children], default=str)
    assert "Entry point FRA" in text and "frnkge08" in text and "reverse DNS" in text
    refused = sup.trace_panel(MTR, 0, {"clients": "nope"}, catalog, SETTINGS)
    assert "could not be read" in json.dumps(refused[0].to_plotly_json(), default=str)


# -- "Use as observed PoP": one request, the reducer -----------------------------------------

def test_use_as_observed_pop_records_the_inferred_entry_point(catalog):
    new, notices = apply(catalog, S, {"op": "observe_trace", "index": 0, "text": MTR})
    assert new.observed == ((0, "FRA"),)
    assert notices[0].startswith("Traceroute: client #1 observed entering at FRA (high "
                                 "confidence): hop 6")
    assert "Recorded: client #1 was observed entering at FRA" in notices
    again, notices = apply(catalog, new, {"op": "observe_trace", "index": 0, "text": MTR})
    assert again.observed == new.observed and "already recorded" in notices[0]


@pytest.mark.parametrize("request_, fragment", [
    ({"op": "observe_trace", "index": 0, "text": (TRACES / "mtr_no_codes.txt").read_text()},
     "no entry point inferred"),
    ({"op": "observe_trace", "index": 0, "text": (TRACES / "tracert.txt").read_text()},
     "impossible at its RTT"),  # Singapore hops at 3 ms from Berlin
    ({"op": "observe_trace", "index": 5, "text": MTR}, "pick one of your own clients"),
    ({"op": "observe_trace", "index": "0", "text": MTR}, "pick one of your own clients"),
    ({"op": "observe_trace", "index": 0, "text": ["not", "text"]}, "no entry point inferred"),
    ({"op": "observe_trace", "index": 0, "text": "x" * (MAX_TRACE_CHARS + 1)}, "limit"),
])
def test_nothing_inferred_changes_nothing_and_says_why(catalog, request_, fragment):
    new, notices = apply(catalog, S, request_)
    assert new == S and len(notices) == 1 and fragment in notices[0]


def test_the_request_resolves_to_an_observe_edit(catalog):
    edit = resolve_request({"op": "observe_trace", "index": 1, "text":
                            (TRACES / "traceroute_linux.txt").read_text()}, S, catalog, SETTINGS)
    assert (edit["op"], edit["index"], edit["pop"]) == ("observe", 1, "LHR")


@needs_node
def test_the_widget_writes_one_observe_trace_request():
    assert run_edit("observeTrace", 1, MTR, 0) == {"op": "observe_trace", "index": 0,
                                                     "text": MTR}
    assert run_edit("observeTrace", 0, MTR, 0) == NO_UPDATE
    assert run_edit("observeTrace", 2, None, None) == {"op": "observe_trace", "index": None,
                                                         "text": ""}


# -- measured vs modelled ------------------------------------------------------------------------

def test_measured_vs_modelled_rows_and_median_error(catalog):
    L = loaded(catalog)
    v = observe.measured_view("index,rtt_ms,pop\n1,21.5,FRA\n2,48,\n3,10,\n", L, catalog)
    assert [(r["client"], r["pop"], r["basis"], r["measured_ms"]) for r in v.rows] == [
        ("#1 Berlin", "FRA", "observed = model", 21.5), ("#2 Lyon", "CDG", "model's choice", 48.0)]
    for r in v.rows:
        assert r["error_ms"] == pytest.approx(r["measured_ms"] - r["modelled_ms"], abs=0.11)
    assert v.summary.startswith("2 measurements compared: median error ")
    assert v.problems == ("line 4: there is no client #3 (2 clients)",)
    by_name = observe.measured_view("client,rtt_ms\nlyon,40\nParis,30\n", L, catalog)
    assert [r["client"] for r in by_name.rows] == ["#2 Lyon"]
    assert by_name.problems == ("line 3: no client is named 'Paris'",)
    point = observe.measured_view("lat,lon,rtt_ms,pop\n48.85,2.35,12,XYZ\n", L, catalog)
    assert point.rows[0]["pop"] == "CDG" and "XYZ is not a healthy access point" in point.problems[0]


def test_measured_upload_is_capped_before_decoding(catalog):
    good = "data:text/csv;base64," + base64.b64encode(b"index,rtt_ms\n1,20\n").decode()
    panel = sup.measured_panel(None, good, True, S.to_dict(), catalog, SETTINGS)
    assert "1 measurement compared" in json.dumps(panel[0].to_plotly_json(), default=str)
    big = "data:text/csv;base64," + "A" * (MAX_CSV_CHARS * 2)
    panel = sup.measured_panel(None, big, True, S.to_dict(), catalog, SETTINGS)
    assert "larger than the 131,072-byte limit" in json.dumps(panel[0].to_plotly_json())
    bad = sup.measured_panel(None, "data:text/csv;base64,!!!", True, S.to_dict(), catalog,
                             SETTINGS)
    assert "not readable" in json.dumps(bad[0].to_plotly_json())


# -- API and CLI ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def api(catalog):
    return create_app(Settings(max_upload_bytes=64 * 1024, max_clients=500),
                      catalog).server.test_client()


def test_api_text_body_and_json_body(api):
    resp = api.post("/api/v1/traceroute?lat=52.52&lon=13.405", data=MTR,
                    content_type="text/plain")
    body = resp.get_json()
    assert resp.status_code == 200, body
    assert (body["pop"], body["confidence"], body["format"]) == ("FRA", "high", "mtr")
    assert body["client"] == {"lat": 52.52, "lon": 13.405}
    assert body["evidence"][-1]["verdict"] == "entry" and body["evidence"][-1]["floor_ms"] > 0
    j = api.post("/api/v1/traceroute", json={"text": (TRACES / "tracert.txt").read_text(),
                                             "lat": 52.52, "lon": 13.405}).get_json()
    assert j["pop"] is None and "impossible" in j["reason"]
    same = api.post("/api/v1/traceroute", data=MTR, content_type="text/plain").get_json()
    assert same["pop"] == "FRA" and same["client"] is None


@pytest.mark.parametrize("kw, status, fragment", [
    ({"data": "hello", "content_type": "text/plain"}, 422, "no traceroute"),
    ({"data": MTR, "content_type": "text/csv"}, 415, "text/plain"),
    ({"data": "x" * (MAX_TRACE_CHARS + 1), "content_type": "text/plain"}, 413, "limit"),
    ({"data": "x" * (MAX_TRACE_CHARS * 4 + 2000), "content_type": "text/plain"}, 413, "limit"),
    ({"data": "{", "content_type": "application/json"}, 400, "not valid JSON"),
    ({"json": {"text": MTR, "lat": 1}}, 400, "both or neither"),
    ({"json": {"text": MTR, "x": 1}}, 400, "unknown field 'x'"),
    ({"json": {"text": 5}}, 400, "\"text\" string"),
    ({"json": {"text": MTR, "lat": 91, "lon": 0}}, 400, "lat"),
])
def test_api_refusals_name_the_problem(api, kw, status, fragment):
    resp = api.post("/api/v1/traceroute", **kw)
    assert resp.status_code == status and resp.mimetype == "application/json"
    assert fragment in resp.get_json()["error"]


def test_api_query_coordinates_are_checked(api):
    resp = api.post("/api/v1/traceroute?lat=abc&lon=1", data=MTR, content_type="text/plain")
    assert resp.status_code == 400 and "lat" in resp.get_json()["error"]
    resp = api.post("/api/v1/traceroute?nope=1", data=MTR, content_type="text/plain")
    assert resp.status_code == 400


def test_cli_text_and_json(capsys, tmp_path):
    code = main(["traceroute", str(TRACES / "traceroute_linux.txt"), "--lat", "45.76",
                 "--lon", "4.84"])
    out = capsys.readouterr().out
    assert code == 0 and "entry point: LHR (high confidence)" in out and "lon13" in out
    code = main(["traceroute", str(TRACES / "mtr.json"), "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and doc["pop"] == "SJC" and doc["format"] == "mtr-json"
    code = main(["traceroute", str(TRACES / "mtr_no_codes.txt")])
    assert code == 0 and "entry point: not inferred" in capsys.readouterr().out


@pytest.mark.parametrize("make, argv, fragment", [
    (lambda p: p.write_text("hello"), [], "no traceroute"),
    (lambda p: p.write_bytes(b"x" * (MAX_TRACE_CHARS * 4 + 1)), [], "larger than"),
    (lambda p: p.write_text(MTR), ["--lat", "1"], "go together"),
    (lambda p: None, [], "No such file"),
])
def test_cli_refusals_exit_2(capsys, tmp_path, make, argv, fragment):
    path = tmp_path / "trace.txt"
    make(path)
    code = main(["traceroute", str(path), *argv])
    assert code == 2 and fragment in capsys.readouterr().err


def test_an_observed_entry_is_drawn_on_the_map(catalog):
    """"Use as observed PoP" (or the support tab's picker) -> the map tab draws that client's
    observed path, client -> observed PoP -> origin, beside the modelled one (issue 17)."""
    from dashboard.callbacks import scene
    from dashboard.figures import map as map_figures
    s = S.with_observed(0, "FRA").with_observed(1, "CDG")
    fig = scene.map_outputs(loaded(catalog, s), scene.PageState(), catalog)[0]
    obs = fig.data[map_figures.map_trace_index(map_figures.OBSERVED)]
    assert sum(1 for t in obs.hovertext if "Berlin" in t) > 0
    assert any("observed entry at FRA" in t for t in obs.hovertext)
    assert any("observed entry at CDG" in t for t in obs.hovertext)
    plain = scene.map_outputs(loaded(catalog, S), scene.PageState(), catalog)[0]
    assert len(plain.data[map_figures.map_trace_index(map_figures.OBSERVED)].lat) == 0
