"""Security headers on every kind of response (page, assets, Dash's endpoints, errors) and no
dev tools in the app that production serves."""

from __future__ import annotations

import json
import re

import pytest

from dashboard import hardening
from dashboard.app import create_app
from dashboard.settings import Settings


@pytest.fixture(scope="module")
def app(catalog):
    return create_app(Settings(max_upload_bytes=1024), catalog)


@pytest.fixture()
def client(app):
    return app.server.test_client()


def component_suite_url(client) -> str:
    page = client.get("/").get_data(as_text=True)
    return "/" + re.findall(r'_dash-component-suites/[^"]+\.js', page)[0]


CASES = [
    ("GET", "/", 200),
    ("GET", "/?clients=1,2,%3Cscript%3E", 200),
    ("GET", "/assets/style.css", 200),
    ("GET", "/assets/upload_guard.js", 200),
    ("GET", "/assets/nope.js", 404),
    ("GET", "/_dash-layout", 200),
    ("GET", "/_dash-dependencies", 200),
    ("GET", "/_reload-hash", 200),
    ("GET", "/_favicon.ico", 200),
    ("GET", "/_dash-component-suites/nope/x.js", 404),
    ("POST", "/_dash-update-component", 400),
    ("GET", "/api/v1/nope", 404),
    ("POST", "/api/v1/pops", 405),
    ("GET", "/api/v1/nearest?lat=x", 400),
    ("GET", "/healthz", 200),
]


@pytest.mark.parametrize("method,url,status", CASES, ids=[f"{m} {u}" for m, u, _ in CASES])
def test_security_headers_on_pages_assets_and_errors(client, method, url, status):
    resp = client.open(url, method=method)
    assert resp.status_code == status
    h = resp.headers
    assert h["X-Content-Type-Options"] == "nosniff"
    assert h["X-Frame-Options"] == "SAMEORIGIN"
    assert h["Referrer-Policy"] == "same-origin"
    csp = h["Content-Security-Policy"]
    if url.startswith("/api/") or url == "/healthz":
        # a JSON answer loads nothing (OWASP REST cheat sheet): stricter than the page's
        assert csp == "default-src 'none'; frame-ancestors 'self'"
        return
    for directive in ("default-src 'self'", "object-src 'none'", "frame-ancestors 'self'",
                      "base-uri 'self'", "connect-src 'self'"):
        assert directive in csp
    script_src = csp.split("script-src")[1].split(";")[0]
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in csp


def test_component_suite_scripts_carry_the_headers(client):
    resp = client.get(component_suite_url(client))
    assert resp.status_code == 200 and "javascript" in resp.mimetype
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


def test_413_carries_the_headers(app, client):
    resp = client.post("/_dash-update-component",
                       data=b"x" * (app.server.config["MAX_CONTENT_LENGTH"] + 1),
                       content_type="application/json")
    assert resp.status_code == 413 and resp.headers["X-Content-Type-Options"] == "nosniff"


def test_production_app_has_no_dev_tools_and_no_debugger(app, client):
    page = client.get("/").get_data(as_text=True)
    config = json.loads(re.search(r'<script id="_dash-config" type="application/json">(.*?)'
                                  r"</script>", page, re.S).group(1))
    assert config["ui"] is False and config["props_check"] is False
    assert "hot_reload" not in config
    assert client.get("/_reload-hash").get_json()["reloadHash"] is None
    assert app.server.debug is False
    # Werkzeug's interactive debugger serves its script on this query when it is active.
    resp = client.get("/?__debugger__=yes&cmd=resource&f=debugger.js")
    assert "text/html" in resp.content_type and "Werkzeug" not in resp.get_data(as_text=True)


def test_production_guard_ignores_debug_variables(catalog, caplog):
    app = create_app(Settings(debug=True), catalog)
    app.server.debug = True
    ignored = hardening.production_guard(app, {"ANYCAST_DEBUG": "1", "DASH_DEBUG": "true",
                                               "FLASK_DEBUG": "0"})
    assert ignored == ["ANYCAST_DEBUG", "DASH_DEBUG"]
    assert app.server.debug is False
    assert "never enabled under a WSGI server" in caplog.text
    assert hardening.production_guard(app, {}) == []
