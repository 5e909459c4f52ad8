"""Property tests against the whole server through Flask's test client: no generated request,
however hostile, gets a 5xx; API errors are JSON naming the problem; malformed Dash callback
requests are a JSON 400. (The 10,000-request run is ``python -m tests.fuzz.fuzz_api``.)"""

from __future__ import annotations

import json
import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.app import create_app
from dashboard.settings import Settings
from tests.fuzz.strategies import api_requests, callback_requests, send

FUZZ = settings(max_examples=350, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                       HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def app(catalog):
    # 25,500: the 25,000-city client set plus 500 own clients (the cap counts the set)
    return create_app(Settings(max_upload_bytes=64 * 1024, max_clients=25_500), catalog)


@pytest.fixture(scope="module")
def client(app):
    return app.server.test_client()


@pytest.fixture(scope="module")
def dependencies(client):
    return client.get("/_dash-dependencies").get_json()


@pytest.fixture(autouse=True)
def no_internal_errors(caplog):
    """The last-resort handler logs every 500: none may be logged during these tests."""
    caplog.set_level(logging.ERROR, logger="dashboard.errors")
    yield
    assert [r.getMessage() for r in caplog.records if r.name == "dashboard.errors"] == []


@FUZZ
@given(req=api_requests())
def test_api_answers_every_generated_request_without_5xx(client, req):
    resp = send(client, req)
    assert resp.status_code < 500, (req, resp.get_data()[:300])
    if req["path"].startswith("/api/") and resp.status_code >= 400 and req["method"] != "HEAD":
        assert resp.mimetype == "application/json"
        error = json.loads(resp.get_data())["error"]
        assert isinstance(error, str) and error


@given(data=st.data())
@FUZZ
def test_dash_callbacks_survive_type_confused_and_malformed_requests(client, dependencies, data):
    req = data.draw(callback_requests(dependencies))
    resp = send(client, req)
    limit = client.application.config.get("MAX_CONTENT_LENGTH")
    if resp.status_code == 413:  # a generated body over the request cap: a JSON 413 saying so
        body = req["body"]
        size = len(body.encode() if isinstance(body, str) else body or b"")
        assert limit is not None and size > limit, size
        assert "larger than the limit" in json.loads(resp.get_data())["error"]
        return
    assert resp.status_code in (200, 204, 400), (req["body"][:600], resp.get_data()[:300])
    if resp.status_code == 400:
        assert "error" in json.loads(resp.get_data())
