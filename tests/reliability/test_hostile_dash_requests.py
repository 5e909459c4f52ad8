"""Well-formed requests to Dash's own endpoints that used to end as a 500 with a traceback in the
log (issue 13, finding 10): requests naming a clientside callback, registered component-suite
files that are not installed, forged background-callback handles."""

from __future__ import annotations

import json
import logging

import pytest

from dashboard.app import create_app
from dashboard.settings import Settings


@pytest.fixture(scope="module")
def app(tmp_path_factory, catalog):
    return create_app(Settings(jobs_dir=tmp_path_factory.mktemp("jobs")), catalog)


@pytest.fixture()
def client(app):
    return app.server.test_client()


@pytest.fixture()
def error_log(caplog):
    """Every record at WARNING or above, from any logger (a 500 logs its traceback)."""
    caplog.set_level(logging.WARNING)
    return caplog


def _renderer_body(dep: dict, value=None) -> dict:
    """A request shaped exactly as dash-renderer sends it for dependency ``dep``."""
    def output(part: str) -> dict:
        cid, prop = part.rsplit(".", 1)
        return {"id": cid, "property": prop}

    out = dep["output"]
    outputs = ([output(p) for p in out.strip(".").split("...") if p] if out.startswith("..")
               else output(out))
    inputs = [{"id": d["id"], "property": d["property"], "value": value} for d in dep["inputs"]]
    state = [{"id": d["id"], "property": d["property"], "value": None} for d in dep["state"]]
    return {"output": out, "outputs": outputs, "inputs": inputs, "state": state,
            "changedPropIds": [f"{d['id']}.{d['property']}" for d in dep["inputs"]]}


def _dependencies(client) -> list[dict]:
    return client.get("/_dash-dependencies").get_json()


def test_the_app_has_clientside_callbacks_to_check(client):
    # 17 widget -> edit request translators (assets/edits.js; + the routing policy and the
    # clients' access type), the upload size check, the failover animation, the view switch,
    # the capacity planning inputs (assets/capacity_plan.js: fill, instance bandwidth, spill
    # what-if, cost fill, cost input) and issue 17's "Copy link", the selected client's line and
    # "Explain ›", N-1 Run/Cancel status, issue 18's "Use as observed PoP" (a traceroute) and
    # the Provider panel's "Load into scenario", the announcement bias sliders (fill, a slider,
    # the reset; issue 20), "Where to add a PoP" Run/Cancel status, its "add it" buttons and
    # its "scenario changed" line (issue 20.2), the planned PoPs' plan mode, typed input, city
    # picker and table (issue 20), the assignment table's optional columns, issue 17's
    # capacity story (Scale demand, Download PNG, Print summary): every one is checked below.
    assert len([d for d in _dependencies(client) if d.get("clientside_function")]) == 47


def test_requests_naming_a_clientside_callback_are_a_json_400_without_a_traceback(client,
                                                                                  error_log):
    clientside = [d for d in _dependencies(client) if d.get("clientside_function")]
    for dep in clientside:
        for value in (None, 1, "x", {"a": [1]}):
            resp = client.post("/_dash-update-component", json=_renderer_body(dep, value))
            assert resp.status_code == 400, (dep["output"], resp.get_data()[:200])
            assert resp.mimetype == "application/json"
            assert "computed in the browser (a clientside callback)" in resp.get_json()["error"]
    # 500 answers logged a traceback each (1.3 MB of log for 1,027 requests); none now.
    assert [r.getMessage() for r in error_log.records] == []


def test_server_callbacks_are_still_answered(client):
    dep = next(d for d in _dependencies(client) if "city-search.options" in d["output"])
    resp = client.post("/_dash-update-component", json=_renderer_body(dep, "Par"))
    assert resp.status_code == 200, resp.get_data()[:200]


def test_registered_component_suite_files_that_are_not_installed_are_a_404(app, client,
                                                                          error_log):
    client.get("/")  # Dash registers the component-suite paths when it renders the index
    assert "dcc/async-mathjax.js.map" in app.registered_paths["dash"]
    for url in ("/_dash-component-suites/dash/dcc/async-mathjax.js.map",
                "/_dash-component-suites/dash/dcc/async-mathjax.v9_9_9m123.js.map",
                "/_dash-component-suites/dash/dash-renderer/build/dash_renderer.min.js.map"):
        for method in ("GET", "HEAD"):
            assert client.open(url, method=method).status_code == 404, (method, url)
    # Installed files are served as before.
    assert client.get("/_dash-component-suites/dash/dcc/async-mathjax.js").status_code == 200
    assert [r.getMessage() for r in error_log.records] == []


@pytest.mark.parametrize("query", [
    "cacheKey=abc&job=1", "cacheKey=abc~def&job=1~2", "cacheKey=" + "a" * 4000 + "&job=",
    "cacheKey=%ff~%00&job=%ff", "cacheKey=x&job=1&oldJob=1~x&cancelJob=2", "cacheKey=~&job=~",
])
def test_forged_background_callback_handles_are_never_a_500(client, error_log, query):
    """Polling a background callback with handles this server did not sign: Dash ignores them
    (no job is read, killed or started); never a 500 or a logged traceback."""
    dep = next(d for d in _dependencies(client) if d.get("background"))
    resp = client.post("/_dash-update-component?" + query, json=_renderer_body(dep, 1))
    assert resp.status_code < 500, resp.get_data()[:200]
    if resp.status_code >= 400:
        assert "error" in json.loads(resp.get_data())
    assert [r.getMessage() for r in error_log.records if r.levelno >= logging.ERROR] == []
