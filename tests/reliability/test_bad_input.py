"""Named bad inputs from the issue, end to end through the UI's handlers and the servers' caps:
each gets a clear message, the user's scenario is kept, nothing answers 5xx."""

from __future__ import annotations

import base64
import json
import time
import urllib.parse
from collections.abc import Callable

import pytest

from benchmarks.dash_requests import callback_body, pill_ids
from dashboard import ids
from dashboard.app import create_app
from dashboard.callbacks import scene
from dashboard.domain.scenario import Client, Scenario
from dashboard.domain.scenario_url import to_query
from dashboard.services import events
from dashboard.settings import Settings

SETTINGS = Settings()  # the shipped caps: 5 MiB uploads, 50,000 clients
START = Scenario(clients=(Client(48.8566, 2.3522, "Paris"), Client(35.68, 139.69, "Tokyo")),
                 origin="us-west-1", down=frozenset({"NRT"}))
UTF8_ROWS = "lat,lon,name\n48.86,2.35,Zürich office\n"


def data_url(data: bytes) -> str:
    return "data:text/csv;base64," + base64.b64encode(data).decode()


def upload_through_the_ui(catalog, data: bytes, filename: str) -> tuple[Scenario, list[str]]:
    """The request the browser writes for a file under the size cap (``assets/upload_guard.js``:
    ``{"op": "upload", contents, filename}``), through the one round trip's scenario event on
    START. (Files over the cap never leave the browser: tests/e2e/test_user_text_e2e.py.)"""
    request = {"op": "upload", "nonce": 1, "contents": data_url(data), "filename": filename}
    ev = events.scenario_event(events.EDIT, "?" + to_query(START), request, None, None,
                               START.to_dict(), catalog, SETTINGS)
    return Scenario.from_dict(ev.store), [text for _level, text in ev.notices]


BAD_UPLOADS = [
    ("latin-1", UTF8_ROWS.encode("latin-1"), "offices.csv", "not UTF-8 text (byte 0xfc"),
    ("UTF-16", UTF8_ROWS.encode("utf-16"), "offices.csv", "save the file as UTF-8 CSV"),
    ("NaN", b"lat,lon\nnan,2.3\n", "x.csv", "line 2, column 'lat': 'nan' is not a finite"),
    ("inf", b"48.8,inf\n", "x.csv", "line 1, column 'lon': 'inf' is not a finite number"),
    ("lat out of range", b"91,0\n", "x.csv", "latitude 91 is outside [-90, 90] degrees"),
    ("lon out of range", b"0,-180.5\n", "x.csv", "longitude -180.5 is outside [-180, 180]"),
    ("wrong columns", b"x,y\n1,2\n", "x.csv", "'x' is not a known column name"),
    ("missing column", b"lat,name\n1,a\n", "x.csv", "the header has no 'lon' column"),
    ("binary junk", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "map.png", "not UTF-8 text"),
    ("NUL bytes", b"48.8,2.3\n\x00\x00\x00\n", "x.csv", "binary data (a NUL byte)"),
    ("a million rows", b"0,0\n" * 1_000_000, "big.csv", "more than 49998 clients (the limit)"),
    ("50 MB", b"1" * (50 * 1024 * 1024), "huge.csv", "larger than the 5,242,880-byte upload"),
    ("empty", b"", "empty.csv", "no client rows (expected lines like: 48.86,2.35"),
]


@pytest.mark.parametrize("case,data,filename,message", BAD_UPLOADS,
                         ids=[c[0] for c in BAD_UPLOADS])
def test_bad_upload_names_the_problem_and_keeps_the_scenario(catalog, case, data, filename,
                                                             message):
    scenario, texts = upload_through_the_ui(catalog, data, filename)
    assert scenario == START
    assert len(texts) == 1 and message in texts[0], texts
    assert texts[0].startswith(filename)
    assert "unchanged" in texts[0] or "nothing was added" in texts[0]


def test_formula_injection_and_markup_names_are_kept_as_plain_text(catalog):
    data = ("lat,lon,name\n1.29,103.85,=cmd|' /C calc'!A0\n"
            "48.86,2.35,<img src=x onerror=alert(1)>\n").encode()
    scenario, texts = upload_through_the_ui(catalog, data, "clients.csv")
    assert [c.name for c in scenario.clients[2:]] == ["=cmd|' /C calc'!A0",
                                                       "<img src=x onerror=alert(1)>"]
    # the app's upload handler names the file (the old test built its "add" without a source)
    assert scenario.clients[:2] == START.clients and texts == ["Added 2 clients (clients.csv)"]


@pytest.fixture(scope="module")
def app(catalog):
    return create_app(Settings(), catalog)


@pytest.fixture()
def client(app):
    return app.server.test_client()


def test_api_body_of_50_mb_is_a_json_413(client):
    resp = client.post("/api/v1/assign", data=b"0,0\n" * (50 * 1024 * 1024 // 4),
                       content_type="text/csv")
    assert resp.status_code == 413 and "limit" in resp.get_json()["error"]


def test_api_csv_of_a_million_rows_is_refused_with_the_limit(client):
    resp = client.post("/api/v1/assign", data=b"0,0\n" * 1_000_000, content_type="text/csv")
    assert resp.status_code == 400
    assert "more than 50000 clients (the limit)" in resp.get_json()["error"]


def test_dash_callback_post_over_the_request_cap_is_a_413_not_a_500(app, client):
    cap = app.server.config["MAX_CONTENT_LENGTH"]
    body = b'{"output":"x","inputs":[{"value":"' + b"A" * cap + b'"}]}'
    resp = client.post("/_dash-update-component", data=body, content_type="application/json")
    assert resp.status_code == 413


# The city search's options callback (it also writes the options' positions, issue 17)
SEARCH_OUT = "..city-search.options...city-search-points.data.."


@pytest.mark.parametrize("body,message", [
    (b"not json", "body is not JSON"),
    (b"[1,2]", "body must be a JSON object"),
    (b"{}", "output: missing"),
    (b'{"output": "world-map.figure"}', "no callback produces"),
    (json.dumps({"output": SEARCH_OUT, "inputs": [{"id": "url", "property": "search",
                                                     "value": 1}]}).encode(),
     "is not this callback's city-search.search_value"),
    (json.dumps({"output": SEARCH_OUT, "inputs": "x"}).encode(), "must be a list"),
    (json.dumps({"output": SEARCH_OUT, "inputs": [], "state": []}).encode(),
     "0 given, the callback has 1"),
    (json.dumps({"output": SEARCH_OUT, "changedPropIds": [1],
                 "inputs": [{"id": "city-search", "property": "search_value", "value": "x"}]}
                ).encode(), "changedPropIds"),
])
def test_malformed_dash_callback_requests_are_a_json_400(client, body, message):
    resp = client.post("/_dash-update-component", data=body, content_type="application/json")
    assert resp.status_code == 400, resp.get_data()[:200]
    assert message in resp.get_json()["error"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


#: The pills' outputs of the one round trip (scene.OUTPUTS): className per pill, title per pill.
PILL_CLASSES = scene.OUTPUTS.index(scene.PILLS_OUT[0])
PILL_OUT = '{"pop":["ALL"],"type":"pop-toggle"}'


def _scene_request(client, search="?down=CDG", pills=("CDG", "FRA")) -> dict:
    """The one round trip's request as dash-renderer sends it when the page opens ``search``
    (pattern-matching outputs and states as lists of the matched components)."""
    return callback_body(client.get("/_dash-dependencies").get_json(), f"{ids.SCENARIO}.data",
                         {f"{ids.URL}.search": search}, f"{ids.URL}.search",
                         {"pop-toggle": pill_ids(pills)})


def _without_outputs(body: dict) -> dict:
    return {k: v for k, v in body.items() if k != "outputs"}


def _output_replaced(i: int, value) -> Callable[[dict], dict]:
    def change(body: dict) -> dict:
        outputs = list(body["outputs"])
        outputs[i] = value
        return {**body, "outputs": outputs}
    return change


@pytest.mark.parametrize("change,message", [
    # Dash compares `outputs` with the callback's own and raised (500) when they differ
    (_without_outputs, "outputs: missing"),
    (_output_replaced(scene.OUTPUTS.index(scene.SCENARIO_OUT[6]),
                      {"id": "notice", "property": "children"}),
     "notice.children is not this callback's endpoint-info.children"),
    (_output_replaced(PILL_CLASSES, {"id": PILL_OUT, "property": "className"}),
     f"outputs[{PILL_CLASSES}]: must be a list (pattern-matching output)"),
    (_output_replaced(PILL_CLASSES, [{"id": PILL_OUT, "property": "className"}]),
     "is not this callback's"),
    (lambda body: {**body, "outputs": [[], []]},
     f"outputs: must be a list of {scene.N_OUT} outputs"),
    # Dash json.loads a pattern-matching id of a changed prop (JSONDecodeError: 500)
    (lambda body: {**body, "changedPropIds": ['{"pop": .n_clicks']},
     "changedPropIds: '{\"pop\": .n_clicks' is not an id and a property"),
], ids=["no outputs", "another output", "pattern output not a list", "wildcard id as text",
        "too few outputs", "changed id not JSON"])
def test_callback_requests_whose_outputs_are_not_the_callbacks_are_a_json_400(client, change,
                                                                              message):
    resp = client.post("/_dash-update-component", json=change(_scene_request(client)))
    assert resp.status_code == 400, resp.get_data()[:200]
    assert message in resp.get_json()["error"]


def test_pattern_matching_outputs_as_the_renderer_sends_them_are_accepted(client):
    resp = client.post("/_dash-update-component", json=_scene_request(client))
    assert resp.status_code == 200, resp.get_data()[:300]
    answer = resp.get_json()["response"]
    pills = [v for k, v in answer.items() if k.startswith("{") and "pop-toggle" in k]
    assert [v["className"] for v in pills if "className" in v] == \
        ["pop-pill pop-down", "pop-pill pop-up"]


@pytest.mark.parametrize("body", [b"[" * 5000 + b"]" * 5000, b'{"a":' * 3000 + b"1" + b"}" * 3000])
def test_callback_body_nested_deeper_than_the_json_parser_recurses_is_a_json_400(client, body):
    # Flask's get_json(silent=True) silences ValueError only: RecursionError was a 500
    resp = client.post("/_dash-update-component", data=body, content_type="application/json")
    assert resp.status_code == 400
    assert resp.get_json()["error"] == "body is not acceptable JSON: nested too deeply"


def _n1_request(store) -> dict:
    return {"output": "n1-result.data", "outputs": {"id": "n1-result", "property": "data"},
            "inputs": [{"id": "n1-run", "property": "n_clicks", "value": 1}],
            "state": [{"id": "scenario-store", "property": "data", "value": store}],
            "changedPropIds": ["n1-run.n_clicks"]}


def _n1_job(client, store, timeout_s: float = 30.0):
    """Start the N-1 background job and poll it as dash-renderer does; the last answer."""
    first = client.post("/_dash-update-component", json=_n1_request(store))
    assert first.status_code == 200, first.get_data()[:200]
    handle = first.get_json()
    query = urllib.parse.urlencode({"cacheKey": handle["cacheKey"], "job": handle["job"]})
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        resp = client.post("/_dash-update-component?" + query, json=_n1_request(store))
        if resp.status_code != 200 or b'"response"' in resp.get_data():
            return resp
        time.sleep(0.1)
    raise AssertionError("the N-1 job did not finish")


def test_n1_job_with_a_store_the_app_did_not_write_ends_with_no_update(tmp_path, catalog):
    """The job used to analyse an *empty* scenario instead (capacity.py had its own fallback);
    a number a float cannot hold made the job fail, and the poll answer with a 500."""
    client = create_app(Settings(jobs_dir=tmp_path), catalog).server.test_client()
    for store in ({"clients": "x"}, {"clients": [{"lat": 10**400, "lon": 0}]}):
        assert _n1_job(client, store).status_code == 204
    done = _n1_job(client, START.to_dict())
    assert done.status_code == 200
    assert len(done.get_json()["response"]["n1-result"]["data"]["rows"]) == 18  # NRT is down


def test_well_formed_callback_with_hostile_values_answers_normally(client):
    body = {"output": SEARCH_OUT, "outputs": [{"id": "city-search", "property": "options"},
                                              {"id": "city-search-points", "property": "data"}],
            "inputs": [{"id": "city-search", "property": "search_value",
                        "value": {"<script>": [1, 2]}}],
            "changedPropIds": ["city-search.search_value"]}
    resp = client.post("/_dash-update-component", json=body)
    assert resp.status_code == 200
    assert resp.get_json()["response"]["city-search"]["options"] == []


def test_unknown_component_suite_file_is_a_404_not_a_500(client):
    assert client.get("/_dash-component-suites/%3Cscript%3E/x.js").status_code == 404
    assert client.get("/_dash-component-suites/dash/nope.js").status_code == 404
