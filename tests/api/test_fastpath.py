"""The direct route of the plain ``GET /api/v1/nearest?lat=..&lon=..`` (dashboard.fastpath, issue
16) answers exactly what the Flask view answers -- status, every header in order, the body byte
for byte, the cache's HIT/MISS -- and hands every other request to Flask."""

from __future__ import annotations

import dataclasses
import json
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard import fastpath, memo
from dashboard.app import create_app
from dashboard.services import routing
from tests.fuzz.strategies import _numbers_text, nearest_requests, send

TAKEN = ["lat=1&lon=2", "lon=2&lat=1", "lat=-0&lon=-0.0", "lat=1E1&lon=.5", "lat=90&lon=-180",
         "lat=-90&lon=180", "lat=48.1234567&lon=11.7654321", "lat=1.&lon=2", "lat=0.00004&lon=0",
         "lat=-0.00004&lon=1e-9", "lat=1&lon=2"]  # the last one again: a cache hit
NOT_TAKEN = ["lat=1&lon=2&k=3", "lat=1&lon=2&origin=us-east-1", "lat=+1&lon=2", "lat=%31&lon=2",
             "lat=1&lat=2", "lat=1", "lon=1", "", "lat=91&lon=1", "lat=1&lon=-180.5",
             "lat=1e999&lon=1", "lat=nan&lon=1", "lat=1.2.3&lon=1", "lat=-&lon=1", "lat=e5&lon=1",
             "lat=1&lon=2&", "LAT=1&lon=2", "lat=1;lon=2", "lat=" + "1" * 41 + "&lon=1",
             "lat=1&lon=2&ip=81.2.69.142", "lat=1&lon=2&down=FRA", "lat=1&lon=2&latitude=3",
             "lat=1e+1&lon=2", "lat=1E-1 &lon=2", "lat=1&lon=2&lat=1", "lat=١&lon=2"]


@pytest.fixture()
def pair(settings, catalog):
    """(an app with the direct route, an app answering everything through Flask): two apps, so
    each has its own cache and both see the same sequence of hits and misses."""
    fast = create_app(settings, catalog)
    slow = create_app(settings, catalog)
    slow.server.wsgi_app.enabled = False
    return fast, slow


def taken_by(app, monkeypatch) -> list[str]:
    """Query strings the direct route answered itself (not handed to Flask)."""
    route = app.server.wsgi_app
    inner = route.wsgi_app
    handed: list[str] = []

    def flask(environ, start_response):
        handed.append(environ.get("QUERY_STRING", ""))
        return inner(environ, start_response)

    monkeypatch.setattr(route, "wsgi_app", flask)
    return handed


def same_answers(fast, slow, requests) -> None:
    cf, cs = fast.server.test_client(), slow.server.test_client()
    for method, url, kwargs in requests:
        a = cf.open(url, method=method, **kwargs)
        b = cs.open(url, method=method, **kwargs)
        assert (a.status, list(a.headers.items()), a.data) == \
            (b.status, list(b.headers.items()), b.data), url


def test_plain_requests_are_answered_directly_and_identically(pair, monkeypatch):
    fast, slow = pair
    handed = taken_by(fast, monkeypatch)
    rng = random.Random(16)
    queries = TAKEN + [f"lat={rng.uniform(-90, 90):.{rng.randint(0, 6)}f}"
                       f"&lon={rng.uniform(-180, 180):.{rng.randint(0, 6)}f}" for _ in range(150)]
    same_answers(fast, slow, [("GET", "/api/v1/nearest?" + q, {}) for q in queries])
    assert handed == []
    h = fast.server.test_client().get("/api/v1/nearest?lat=1&lon=2").headers
    assert h["X-Cache"] == "HIT" and h["Cache-Control"] == "no-store"
    assert h["X-Content-Type-Options"] == "nosniff" and "frame-ancestors" in h[
        "Content-Security-Policy"]


def test_identity_encoding_is_answered_directly(pair, monkeypatch):
    fast, slow = pair
    handed = taken_by(fast, monkeypatch)
    same_answers(fast, slow, [("GET", "/api/v1/nearest?lat=5&lon=6",
                               {"headers": {"Accept-Encoding": enc}})
                              for enc in ("identity", "")])
    assert handed == []


@pytest.mark.parametrize("query", NOT_TAKEN)
def test_anything_else_goes_to_flask_unchanged(pair, monkeypatch, query):
    fast, slow = pair
    assert fastpath.plain_point(query) is None
    handed = taken_by(fast, monkeypatch)
    same_answers(fast, slow, [("GET", "/api/v1/nearest?" + query, {})])
    assert len(handed) == 1  # (the test client percent-encodes non-ASCII text)


@pytest.mark.parametrize("method, kwargs", [
    ("HEAD", {}), ("POST", {}), ("DELETE", {}),
    ("GET", {"headers": {"Accept-Encoding": "gzip, deflate, br"}}),  # compressed by Flask
    ("GET", {"data": b"x" * 10}),  # a body: the size caps are Flask's
])
def test_other_methods_bodies_and_compression_go_to_flask(pair, monkeypatch, method, kwargs):
    fast, slow = pair
    handed = taken_by(fast, monkeypatch)
    same_answers(fast, slow, [(method, "/api/v1/nearest?lat=1&lon=2", kwargs)])
    assert handed == ["lat=1&lon=2"]


def test_other_paths_go_to_flask(pair, monkeypatch):
    fast, slow = pair
    handed = taken_by(fast, monkeypatch)
    same_answers(fast, slow, [("GET", p + "?lat=1&lon=2", {}) for p in
                              ("/api/v1/nearest/", "/api/v1/Nearest", "/api/v1/pops")])
    assert len(handed) == 3


def test_an_unexpected_error_is_answered_by_flask(pair, monkeypatch):
    """The direct route never answers a 500 itself: Flask computes the request again (and, if
    it fails there too, logs it and answers the JSON 500 of dashboard.errors)."""
    fast, slow = pair

    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(routing, "nearest_json_via", boom)
    handed = taken_by(fast, monkeypatch)
    same_answers(fast, slow, [("GET", "/api/v1/nearest?lat=3&lon=4", {})])
    assert handed == ["lat=3&lon=4"]


def test_the_direct_route_caches_its_own_entries_and_counts_them(app, client):
    """The direct route caches the encoded answer under its own key
    (routing.nearest_json_via), not the Flask view's dict: each route misses twice for a point
    (computed only, then looked up and stored: memo.Doorkeeper), then hits; /healthz counts
    all of it."""
    before = client.get("/healthz").get_json()["cache"]
    url = "/api/v1/nearest?lat=7.5&lon=8.5"
    assert [client.get(url).headers["X-Cache"] for _ in range(3)] == ["MISS", "MISS", "HIT"]
    # Flask: its own entry
    assert [client.get(url + f"&k={k}").headers["X-Cache"] for k in (2, 3, 4)] == [
        "MISS", "MISS", "HIT"]
    assert client.get(url).headers["X-Cache"] == "HIT"  # direct
    after = client.get("/healthz").get_json()["cache"]
    assert (after["misses"] - before["misses"], after["hits"] - before["hits"]) == (4, 3)


def test_a_cache_fault_is_counted_and_the_answer_still_served(pair):
    """A backend that fails on get and set (e.g. Redis down): the direct route computes the
    answer (X-Cache MISS, the same bytes as Flask's) and /healthz counts the errors."""
    fast, slow = pair

    class Broken:
        def get(self, key):
            raise ConnectionError("down")

        def set(self, key, value):
            raise ConnectionError("down")

    fast.server.extensions[memo.BACKEND_EXT] = Broken()
    cf, cs = fast.server.test_client(), slow.server.test_client()
    url = "/api/v1/nearest?lat=1.5&lon=2.5"
    for _ in range(2):  # the second request is the one looked up and stored (memo.Doorkeeper)
        a, b = cf.get(url), cs.get(url)
        assert a.status_code == 200 and a.headers["X-Cache"] == "MISS" and a.data == b.data
    assert fast.server.extensions[memo.STATS_EXT].errors == 2


def test_admission_control_sees_the_request_as_light(app):
    """A heavy request must pass Flask's admission gate, so the route only exists for a light
    one (admission.is_heavy decides)."""
    assert app.server.wsgi_app.enabled is True


def test_encoded_answers_are_the_standard_encoders_bytes(catalog):
    """orjson (when installed) or not, an answer's body is json.dumps's, byte for byte."""
    assert fastpath.plain_numbers(catalog)
    rng = random.Random(7)
    for i in range(400):
        origin = catalog.origin_ids[i % len(catalog.origin_ids)]
        lat, lon = fastpath.plain_point(f"lat={rng.uniform(-90, 90):.4f}"
                                        f"&lon={rng.uniform(-180, 180):.4f}")
        answer = routing.nearest_answer(catalog, lat, lon, origin)
        expected = json.dumps(answer, separators=(",", ":"), allow_nan=False).encode()
        assert fastpath.encode_answer(answer) == expected
        assert fastpath.encode_answer(answer, use_orjson=False) == expected


@pytest.mark.parametrize("obj", [{"city": "Zürich", "lat": 47.3769}, {"x": 5e-05, "y": 1e-06},
                                 {"n": 2 ** 70}, {"big": 1.5e16, "neg": -0.0, "i": 3}])
def test_what_orjson_would_write_differently_is_left_to_the_standard_encoder(obj):
    expected = json.dumps(obj, separators=(",", ":"), allow_nan=False).encode()
    if "x" in obj:  # tiny numbers: never in a plain answer (plain_numbers checks the catalog)
        assert fastpath.encode_answer(obj, use_orjson=False) == expected
    else:
        assert fastpath.encode_answer(obj) == expected


def test_a_catalog_with_a_tiny_coordinate_is_encoded_by_the_standard_encoder(catalog):
    pops = catalog.pops.copy()
    pops.loc[0, "lon"] = 0.00005
    moved = dataclasses.replace(catalog, pops=pops)
    assert not fastpath.plain_numbers(moved)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(req=st.one_of(nearest_requests, st.builds(
    lambda a, b, lat_first: {"method": "GET", "path": "/api/v1/nearest", "headers": {},
                             "body": b"", "query": f"lat={a}&lon={b}" if lat_first
                             else f"lon={b}&lat={a}"},
    _numbers_text, _numbers_text, st.booleans())))
def test_generated_requests_get_the_same_answer_either_way(settings, catalog, req):
    """The fuzz lane's hostile /api/v1/nearest query strings and plain ones with generated
    number text (NaN, 1e999, -0, '1.', '.5e-3', ...): the same response from both apps.
    Each example starts from empty caches: the plain form caches under its own key
    (routing.nearest_json_via), so after *another* form of the same point the two apps'
    X-Cache differ by design (test_the_direct_route_caches_its_own_entries_and_counts_them)."""
    fast, slow = _pair_once(settings, catalog)
    for app in (fast, slow):
        app.server.extensions[memo.BACKEND_EXT].clear()
    a, b = send(fast.server.test_client(), req), send(slow.server.test_client(), req)
    assert (a.status, list(a.headers.items()), a.data) == \
        (b.status, list(b.headers.items()), b.data)


_PAIRS: dict[int, tuple] = {}


def _pair_once(settings, catalog):
    """One pair of apps for every example of a property test (building apps takes ~1 s)."""
    key = id(catalog)
    if key not in _PAIRS:
        fast, slow = create_app(settings, catalog), create_app(settings, catalog)
        slow.server.wsgi_app.enabled = False
        _PAIRS[key] = (fast, slow)
    return _PAIRS[key]
