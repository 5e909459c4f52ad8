"""API contract: status codes, JSON shapes, numbers equal to the service layer's, and an error
message naming the parameter for every kind of bad input. No input may produce a 5xx."""

from __future__ import annotations

import json
import math
import random

import numpy as np
import pytest

from dashboard.services import routing
from dashboard.domain import paths
from dashboard.latency import params_with

POP_KEYS = {"id", "name", "city", "country_code", "area", "lat", "lon", "region_id",
            "capacity_gbps", "source"}
ORIGIN_KEYS = {"id", "name", "city", "country_code", "lat", "lon", "endpoint_types", "source",
               "documented"}
RANK_KEYS = {"rank", "id", "name", "city", "up", "distance_km", "internet_ms", "backbone_ms",
             "anycast_ms"}
NEAREST_KEYS = {"client", "origin", "down", "routed", "pop", "runner_up", "direct", "saving_ms",
                "ranked", "policy", "network_pop", "bgp_gap_ms", "bgp_flag",  # + issue 14
                "access"}  # + issue 19
ASSIGN_ROW_KEYS = {"name", "lat", "lon", "weight", "routed", "pop", "pop_km", "runner_up",
                   "runner_up_km", "internet_ms", "backbone_ms", "anycast_ms", "direct_km",
                   "direct_ms", "saving_ms", "network_pop", "bgp_gap_ms", "bgp_flag"}


def error_of(resp) -> str:
    assert resp.mimetype == "application/json", resp.get_data(as_text=True)[:200]
    body = resp.get_json()
    assert set(body) == {"error"}
    assert isinstance(body["error"], str) and body["error"]
    return body["error"]


# ---------------------------------------------------------------------------- catalog endpoints

def test_pops_lists_the_catalog(client, catalog):
    resp = client.get("/api/v1/pops")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    body = resp.get_json()
    assert body["count"] == len(catalog.pops) == len(body["pops"])
    assert [p["id"] for p in body["pops"]] == list(catalog.pop_ids)
    for p in body["pops"]:
        assert set(p) == POP_KEYS
    fra = next(p for p in body["pops"] if p["id"] == "FRA")
    row = catalog.pops.iloc[catalog.pop_index("FRA")]
    assert (fra["lat"], fra["lon"]) == (row["lat"], row["lon"])
    assert fra["country_code"] == "DE" and fra["area"] == "Europe"


def test_one_pop_and_unknown_pop(client):
    assert client.get("/api/v1/pops/SIN").get_json()["city"] == "Singapore"
    assert client.get("/api/v1/pops/sin").get_json()["id"] == "SIN"
    resp = client.get("/api/v1/pops/XYZ")
    assert resp.status_code == 404
    assert "'XYZ'" in error_of(resp) and "HKG" in error_of(resp)


def test_origins_lists_the_catalog(client, catalog):
    body = client.get("/api/v1/origins").get_json()
    assert [o["id"] for o in body["origins"]] == list(catalog.origin_ids)
    assert body["count"] == len(catalog.origins)
    for o in body["origins"]:
        assert set(o) == ORIGIN_KEYS
        assert set(o["endpoint_types"]) <= {"CLB", "ENI"} and o["endpoint_types"]
    resp = client.get("/api/v1/origins/mars-north-1")
    assert resp.status_code == 404 and "'mars-north-1'" in error_of(resp)
    assert client.get("/api/v1/origins/eu-central-1").get_json()["city"] == "Frankfurt am Main"


# ---------------------------------------------------------------------------- nearest

def test_nearest_shape_and_numbers_match_the_service(client, catalog):
    resp = client.get("/api/v1/nearest?lat=48.137&lon=11.575")
    assert resp.status_code == 200
    body = resp.get_json()
    assert set(body) == NEAREST_KEYS
    assert body["client"] == {"lat": 48.137, "lon": 11.575}
    assert body["origin"]["id"] == "eu-central-1" and body["down"] == [] and body["routed"]
    assert len(body["ranked"]) == len(catalog.pops)
    for row in body["ranked"]:
        assert set(row) == RANK_KEYS
    ranked = routing.rank_for_point(catalog, 48.137, 11.575, "eu-central-1")
    assert [r["id"] for r in body["ranked"]] == ranked["pop_id"].tolist()
    for col in ("distance_km", "internet_ms", "backbone_ms", "anycast_ms"):
        np.testing.assert_allclose([r[col] for r in body["ranked"]], ranked[col], atol=0.05)
    assert body["pop"] == body["ranked"][0] and body["pop"]["id"] == "FRA"
    assert body["runner_up"] == body["ranked"][1]
    # Direct leg and saving equal the route table's (the dashboard's table uses it).
    table = routing.route_table(catalog, ((48.137, 11.575),), "eu-central-1")
    assert body["direct"]["distance_km"] == pytest.approx(table["direct_km"][0], abs=0.05)
    assert body["direct"]["rtt_ms"] == pytest.approx(table["direct_ms"][0], abs=0.05)
    assert body["saving_ms"] == pytest.approx(table["saving_ms"][0], abs=0.1)
    assert body["pop"]["id"] == table["pop_id"][0]
    assert body["runner_up"]["id"] == table["runner_up_id"][0]


def test_nearest_down_origin_and_k(client):
    body = client.get("/api/v1/nearest?lat=48.137&lon=11.575&down=FRA,cdg&origin=us-east-1&k=3"
                      ).get_json()
    assert body["down"] == ["CDG", "FRA"]
    assert body["origin"]["id"] == "us-east-1"
    assert len(body["ranked"]) == 3
    assert body["pop"]["id"] not in {"FRA", "CDG"} and body["pop"]["rank"] == 1
    assert [r["rank"] for r in body["ranked"]] == [1, 2, 3]
    # Repeated down= parameters work like a comma list.
    again = client.get("/api/v1/nearest?lat=48.137&lon=11.575&down=FRA&down=CDG&origin=us-east-1"
                       "&k=3").get_json()
    assert again["ranked"] == body["ranked"]


def test_nearest_lists_down_pops_last_with_rank_zero(client, catalog):
    body = client.get("/api/v1/nearest?lat=48.137&lon=11.575&down=FRA").get_json()
    assert body["ranked"][-1]["id"] == "FRA" and body["ranked"][-1]["rank"] == 0
    assert body["ranked"][-1]["up"] is False


def test_nearest_with_every_pop_down_is_a_defined_answer(client, catalog):
    down = ",".join(catalog.pop_ids)
    resp = client.get(f"/api/v1/nearest?lat=1&lon=2&down={down}")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["routed"] is False and body["pop"] is None and body["runner_up"] is None
    assert body["saving_ms"] is None and body["direct"]["rtt_ms"] > 0
    assert all(r["rank"] == 0 and not r["up"] for r in body["ranked"])


@pytest.mark.parametrize("lat, lon", [(90, 180), (-90, -180), (0, 0), (-33.87, 151.21),
                                      (64.1, -21.9), ("1E1", "+2.5e1"), (".5", "-.5")])
def test_nearest_accepts_edge_and_written_forms(client, lat, lon):
    resp = client.get(f"/api/v1/nearest?lat={lat}&lon={lon}&k=1")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.get_json()["client"] == {"lat": float(lat), "lon": float(lon)}


def test_nearest_rounds_coordinates_like_every_client(client):
    """4 decimals (~11 m), domain.clients.COORD_DECIMALS: the rounding of /api/v1/assign and
    the page, so one point gets one answer everywhere."""
    body = client.get("/api/v1/nearest?lat=48.1234567&lon=11.7654321&k=1").get_json()
    assert body["client"] == {"lat": 48.1235, "lon": 11.7654}
    row = client.post("/api/v1/assign", json={"clients": [{"lat": 48.1234567, "lon": 11.7654321}]}
                      ).get_json()["assignments"][0]
    assert (row["lat"], row["lon"]) == (48.1235, 11.7654)
    assert row["pop_km"] == body["pop"]["distance_km"]


def test_nearest_caches_the_points_asked_again(client):
    """A point's first request is only computed (most points are asked once: memo.Doorkeeper),
    its second is looked up and stored, the next ones are hits."""
    def x_cache(query: str) -> str:
        return client.get("/api/v1/nearest?lat=12.3456&lon=65.4321" + query).headers["X-Cache"]

    assert [x_cache("") for _ in range(3)] == ["MISS", "MISS", "HIT"]
    # The plain form caches its encoded answer under its own key (dashboard.fastpath, issue 16);
    # the other forms share one answer per point, which k only slices.
    assert [x_cache("&k=2"), x_cache("&k=5"), x_cache("&origin=eu-central-1"),
            x_cache("&k=1")] == ["MISS", "MISS", "HIT", "HIT"]
    assert x_cache("&down=SIN") == "MISS"


def test_points_asked_once_are_not_stored(app, client):
    """Random one-off points (the common case) leave the cache as it was, in both routes; the
    /healthz counters still count them as misses."""
    from dashboard import memo

    backend, _ = memo.bound_cache(app.server.extensions)
    before_entries = len(backend._cache)
    before = client.get("/healthz").get_json()["cache"]
    rng = random.Random(7)
    for i in range(120):
        query = f"lat={rng.uniform(-90, 90):.4f}&lon={rng.uniform(-180, 180):.4f}"
        resp = client.get("/api/v1/nearest?" + query + ("&k=3" if i % 2 else ""))
        assert resp.status_code == 200 and resp.headers["X-Cache"] == "MISS"
    assert len(backend._cache) == before_entries
    after = client.get("/healthz").get_json()["cache"]
    assert after["misses"] - before["misses"] == 120 and after["hits"] == before["hits"]


BAD_NEAREST = [
    ("", "lat: missing"),
    ("lon=1", "lat: missing"),
    ("lat=1", "lon: missing"),
    ("lat=&lon=1", "lat: empty"),
    ("lat=abc&lon=1", "lat: 'abc' is not a decimal number"),
    ("lat=NaN&lon=1", "lat: 'NaN' is not a decimal number"),
    ("lat=nan&lon=1", "lat: 'nan' is not a decimal number"),
    ("lat=inf&lon=1", "lat: 'inf' is not a decimal number"),
    ("lat=-Infinity&lon=1", "lat: '-Infinity' is not a decimal number"),
    ("lat=1&lon=1e309", "lon: 1e309 is not a finite number"),
    ("lat=-1e309&lon=1", "lat: -1e309 is not a finite number"),
    ("lat=90.0001&lon=1", "lat: 90.0001 is outside [-90, 90]"),
    ("lat=-91&lon=1", "lat: -91 is outside [-90, 90]"),
    ("lat=1&lon=180.5", "lon: 180.5 is outside [-180, 180]"),
    ("lat=1&lon=-360", "lon: -360 is outside [-180, 180]"),
    ("lat=1_0&lon=1", "lat: '1_0' is not a decimal number"),
    ("lat=0x10&lon=1", "lat: '0x10' is not a decimal number"),
    ("lat=1,5&lon=1", "lat: '1,5' is not a decimal number"),
    ("lat=1&lat=2&lon=1", "lat: given 2 times"),
    ("lat=" + "1" * 500 + "&lon=1", "is not a decimal number"),
    ("lat=1&lon=2&down=XYZ", "down: unknown access point id 'XYZ'"),
    ("lat=1&lon=2&down=FRA,,<script>", "down: unknown access point id '<script>'"),
    ("lat=1&lon=2&origin=mars-1", "origin: unknown origin region id 'mars-1'"),
    ("lat=1&lon=2&origin=", "origin: unknown origin region id ''"),
    ("lat=1&lon=2&k=0", "k: 0 is outside [1, 19]"),
    ("lat=1&lon=2&k=20", "k: 20 is outside [1, 19]"),
    ("lat=1&lon=2&k=-1", "k: '-1' is not a whole number"),
    ("lat=1&lon=2&k=1.5", "k: '1.5' is not a whole number"),
    ("lat=1&lon=2&k=99999999999", "k: '99999999999' is not a whole number"),
    ("lat=1&lon=2&latitude=3", "unknown parameter 'latitude'"),
]


@pytest.mark.parametrize("query, message", BAD_NEAREST)
def test_nearest_bad_input_is_a_400_naming_the_problem(client, query, message):
    resp = client.get("/api/v1/nearest?" + query)
    assert resp.status_code == 400
    assert message in error_of(resp)


def test_nearest_non_utf8_query_is_a_400(client):
    resp = client.get("/api/v1/nearest?lat=%ff%fe&lon=1")
    assert resp.status_code == 400
    assert "lat" in error_of(resp)


# ---------------------------------------------------------------------------- assign (JSON)

def post_json(client, doc, query=""):
    return client.post("/api/v1/assign" + query, data=json.dumps(doc),
                       content_type="application/json")


def test_assign_json_shape_and_numbers(client, catalog):
    clients = [{"lat": 48.137, "lon": 11.575, "name": "Munich", "weight": 3},
               {"lat": 1.29, "lon": 103.85, "name": "<img src=x onerror=alert(1)>"},
               {"lat": 40.71, "lon": -74.0, "weight": 0}]
    resp = post_json(client, {"clients": clients, "origin": "ap-southeast-1", "down": ["SIN"]})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    assert set(body) == {"origin", "down", "policy", "count", "routed", "summary", "assignments",
                         "access"}
    assert body["origin"]["id"] == "ap-southeast-1" and body["down"] == ["SIN"]
    assert body["count"] == 3 and body["routed"] == 3
    rows = body["assignments"]
    assert [set(r) for r in rows] == [ASSIGN_ROW_KEYS] * 3
    assert [r["name"] for r in rows] == ["Munich", "<img src=x onerror=alert(1)>", ""]
    assert [r["weight"] for r in rows] == [3.0, 1.0, 0.0]
    table = paths.client_paths([48.137, 1.29, 40.71], [11.575, 103.85, -74.0], catalog.pop_ids,
                               catalog.pop_lats, catalog.pop_lons,
                               *catalog.origin("ap-southeast-1")[["lat", "lon"]].astype(float),
                               down=catalog.pop_mask(["SIN"]),
                               params=params_with((), "end-user"))  # the API's default clients
    assert body["access"] == "end-user"
    assert [r["pop"] for r in rows] == table["pop_id"].tolist()
    assert "SIN" not in [r["pop"] for r in rows]
    assert [r["runner_up"] for r in rows] == table["runner_up_id"].tolist()
    for col in ("pop_km", "internet_ms", "backbone_ms", "anycast_ms", "direct_ms", "saving_ms"):
        np.testing.assert_allclose([r[col] for r in rows], table[col], atol=0.05)
    summary = body["summary"]
    assert sum(p["clients"] for p in summary["by_pop"]) == 3 and summary["unrouted"] == 0
    expected = np.average(table["anycast_ms"], weights=[3, 1, 0])
    assert summary["weighted_mean_anycast_ms"] == pytest.approx(expected, abs=0.05)


def test_assign_query_parameters_apply_to_json_bodies(client):
    body = post_json(client, {"clients": [{"lat": 50.1, "lon": 8.7}]},
                     "?origin=us-west-1&down=FRA").get_json()
    assert body["origin"]["id"] == "us-west-1" and body["assignments"][0]["pop"] != "FRA"


def test_assign_with_every_pop_down_reports_unrouted(client, catalog):
    body = post_json(client, {"clients": [{"lat": 50.1, "lon": 8.7}],
                              "down": list(catalog.pop_ids)}).get_json()
    row = body["assignments"][0]
    assert body["routed"] == 0 and body["summary"]["unrouted"] == 1
    assert row["routed"] is False and row["pop"] is None and row["anycast_ms"] is None
    assert body["summary"]["weighted_mean_anycast_ms"] is None


def test_assign_is_cached(client):
    doc = {"clients": [{"lat": 10.5, "lon": 20.5}, {"lat": -10.5, "lon": -20.5}]}
    assert post_json(client, doc).headers["X-Cache"] == "MISS"
    assert post_json(client, doc).headers["X-Cache"] == "HIT"


BAD_ASSIGN_JSON = [
    ('{"clients": [', 400, "body is not valid JSON"),
    ("", 400, "body is not valid JSON"),
    ("[1, 2]", 400, "body must be a JSON object"),
    ('"text"', 400, "body must be a JSON object"),
    ("{}", 400, "clients: missing"),
    ('{"clients": {}}', 400, "clients: must be a list"),
    ('{"clients": []}', 400, "clients: empty list"),
    ('{"clients": [1]}', 400, "clients[0]: must be an object"),
    ('{"clients": [{"lat": 1}]}', 400, "clients[0].lon: missing"),
    ('{"clients": [{"lat": 1, "lon": 2}, {"lon": 2}]}', 400, "clients[1].lat: missing"),
    ('{"clients": [{"lat": NaN, "lon": 2}]}', 400, "NaN is not allowed"),
    ('{"clients": [{"lat": Infinity, "lon": 2}]}', 400, "Infinity is not allowed"),
    ('{"clients": [{"lat": 1e400, "lon": 2}]}', 400, "clients[0].lat: inf is not a finite"),
    ('{"clients": [{"lat": 1' + "0" * 400 + ', "lon": 2}]}', 400, "clients[0].lat:"),
    ('{"clients": [{"lat": "48.1", "lon": 2}]}', 400, 'clients[0].lat: "48.1" is not a number'),
    ('{"clients": [{"lat": true, "lon": 2}]}', 400, "clients[0].lat: true is not a number"),
    ('{"clients": [{"lat": null, "lon": 2}]}', 400, "clients[0].lat: null is not a number"),
    ('{"clients": [{"lat": 95, "lon": 2}]}', 400, "clients[0].lat: 95.0 is outside [-90, 90]"),
    ('{"clients": [{"lat": 5, "lon": -181}]}', 400, "clients[0].lon: -181.0 is outside"),
    ('{"clients": [{"lat": 5, "lon": 2, "name": 7}]}', 400, "clients[0].name: must be a string"),
    ('{"clients": [{"lat": 5, "lon": 2, "name": "' + "x" * 10_001 + '"}]}', 400,
     "clients[0].name: 10001 characters"),
    ('{"clients": [{"lat": 5, "lon": 2, "weight": -1}]}', 400,
     "clients[0].weight: -1 must be a finite number >= 0"),
    ('{"clients": [{"lat": 5, "lon": 2, "weight": "heavy"}]}', 400,
     'clients[0].weight: "heavy" is not a number'),
    ('{"clients": [{"lat": 5, "lon": 2, "latitude": 1}]}', 400,
     "clients[0]: unknown field 'latitude'"),
    ('{"clients": [{"lat": 5, "lon": 2}], "origin": "xx-1"}', 400,
     "origin: unknown origin region id 'xx-1'"),
    ('{"clients": [{"lat": 5, "lon": 2}], "origin": 5}', 400, "origin: 5 is not an origin"),
    ('{"clients": [{"lat": 5, "lon": 2}], "down": "FRA"}', 400, "down: \"FRA\" is not a list"),
    ('{"clients": [{"lat": 5, "lon": 2}], "down": ["ZZZ"]}', 400,
     "down: unknown access point id 'ZZZ'"),
    ('{"clients": [{"lat": 5, "lon": 2}], "down": [1]}', 400, "down[0]: 1 is not an access point"),
    ('{"clients": [{"lat": 5, "lon": 2}], "extra": 1}', 400, "unknown field 'extra'"),
    ("[" * 20_000 + "]" * 20_000, 400, "nested too deeply"),
]


@pytest.mark.parametrize("body, status, message", BAD_ASSIGN_JSON)
def test_assign_bad_json_is_a_4xx_naming_the_problem(client, body, status, message):
    resp = client.post("/api/v1/assign", data=body, content_type="application/json")
    assert resp.status_code == status
    assert message in error_of(resp)


def test_assign_query_and_body_conflict(client):
    resp = post_json(client, {"clients": [{"lat": 5, "lon": 2}], "origin": "us-west-1"},
                     "?origin=us-east-1")
    assert resp.status_code == 400 and "origin: given both" in error_of(resp)


def test_assign_rejects_non_utf8_bodies(client):
    resp = client.post("/api/v1/assign", data=b'{"clients": "\xff\xfe"}',
                       content_type="application/json")
    assert resp.status_code == 400 and "not UTF-8" in error_of(resp)


def test_assign_rejects_binary_junk(client):
    junk = bytes(range(256)) * 10
    resp = client.post("/api/v1/assign", data=junk, content_type="application/json")
    assert resp.status_code == 400


@pytest.mark.parametrize("content_type", [None, "application/x-www-form-urlencoded",
                                          "text/html", "multipart/form-data; boundary=x",
                                          "application/xml"])
def test_assign_wrong_content_type_is_415(client, content_type):
    kwargs = {"content_type": content_type} if content_type else {}
    resp = client.post("/api/v1/assign", data='{"clients": [{"lat": 1, "lon": 2}]}', **kwargs)
    assert resp.status_code == 415
    assert "application/json" in error_of(resp) and "text/csv" in error_of(resp)


def test_assign_body_over_the_byte_cap_is_413(client, settings):
    big = json.dumps({"clients": [{"lat": 1.0, "lon": 2.0, "name": "x" * 150}] * 2000})
    assert len(big) > settings.max_upload_bytes
    resp = client.post("/api/v1/assign", data=big, content_type="application/json")
    assert resp.status_code == 413
    assert str(settings.max_upload_bytes) in error_of(resp)


def test_assign_chunked_body_over_the_cap_is_413(client, settings):
    # No Content-Length (as with a chunked upload through gunicorn): the cap still applies.
    from werkzeug.test import EnvironBuilder, run_wsgi_app

    env = EnvironBuilder(path="/api/v1/assign", method="POST", data=b"x" * 200_000,
                         content_type="application/json").get_environ()
    del env["CONTENT_LENGTH"]
    env["wsgi.input_terminated"] = True
    app_iter, status, headers = run_wsgi_app(client.application, env)
    body = b"".join(app_iter)
    assert status.startswith("413")
    assert b"larger than the limit" in body


def test_assign_too_many_clients_is_413(client, settings):
    doc = {"clients": [{"lat": 1, "lon": 2}] * (settings.max_clients + 1)}
    resp = post_json(client, doc)
    assert resp.status_code == 413
    assert f"more than the limit of {settings.max_clients}" in error_of(resp)


def test_assign_at_the_client_cap_succeeds(client, settings):
    rng = np.random.default_rng(7)
    doc = {"clients": [{"lat": float(a), "lon": float(b)} for a, b in
                       zip(rng.uniform(-60, 70, settings.max_clients),
                           rng.uniform(-180, 180, settings.max_clients))]}
    resp = post_json(client, doc)
    assert resp.status_code == 200 and resp.get_json()["count"] == settings.max_clients


def test_app_wide_body_cap_leaves_room_for_base64_uploads(app, settings):
    assert app.server.config["MAX_CONTENT_LENGTH"] > settings.max_upload_bytes * 4 // 3


# ---------------------------------------------------------------------------- errors, methods

@pytest.mark.parametrize("method, url, allowed", [
    ("post", "/api/v1/pops", "GET"), ("delete", "/api/v1/nearest", "GET"),
    ("get", "/api/v1/assign", "POST"), ("put", "/api/v1/assign", "POST"),
    ("post", "/healthz", "GET"),
])
def test_wrong_method_is_a_json_405(client, method, url, allowed):
    resp = getattr(client, method)(url)
    assert resp.status_code == 405
    assert f"method {method.upper()} is not allowed" in error_of(resp)
    assert allowed in resp.headers["Allow"]


@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_unknown_api_path_is_a_json_404(client, method):
    resp = getattr(client, method)("/api/v1/nope")
    assert resp.status_code == 404
    assert "no API endpoint /api/v1/nope" in error_of(resp)


def test_pages_outside_the_api_still_served_by_dash(client):
    resp = client.get("/some/dashboard/path")
    assert resp.status_code == 200 and resp.mimetype == "text/html"


def test_unexpected_exception_becomes_a_logged_json_500(settings, catalog, caplog):
    from dashboard.app import create_app

    app = create_app(settings, catalog)

    def boom():
        raise RuntimeError("secret detail")

    app.server.add_url_rule("/api/v1/_boom", endpoint="api._boom", view_func=boom)

    resp = app.server.test_client().get("/api/v1/_boom")
    assert resp.status_code == 500
    assert error_of(resp) == "internal server error (logged)"
    assert "secret detail" not in resp.get_data(as_text=True)
    assert any("unhandled error" in r.message for r in caplog.records)


def test_no_contract_test_reached_the_last_resort_handler(client, monkeypatch):
    """The 500 handler exists for bugs; a sweep of every bad input above must not reach it."""
    from dashboard import errors

    calls = []
    monkeypatch.setattr(errors.log, "exception", lambda *a, **k: calls.append(a))
    for query, _ in BAD_NEAREST:
        assert client.get("/api/v1/nearest?" + query).status_code == 400
    for body, status, _ in BAD_ASSIGN_JSON:
        resp = client.post("/api/v1/assign", data=body, content_type="application/json")
        assert resp.status_code == status
    assert calls == []


# ---------------------------------------------------------------------------- healthz, headers

def test_healthz_reports_catalog_and_cache(client, catalog):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["status"] == "ok"
    assert body["catalog"]["pops"] == len(catalog.pops)
    assert body["catalog"]["origins"] == len(catalog.origins)
    assert body["catalog"]["fingerprint"] == routing.catalog_fingerprint(catalog)
    assert body["cache"]["backend"] == "simple" and body["cache"]["reachable"] is True
    assert {"hits", "misses", "errors"} <= set(body["cache"])


@pytest.mark.parametrize("url", ["/", "/healthz", "/api/v1/pops", "/api/v1/nearest?lat=x",
                                 "/_dash-layout", "/api/v1/nope"])
def test_security_headers_on_every_response(client, url):
    h = client.get(url).headers
    assert h["X-Content-Type-Options"] == "nosniff"
    assert h["X-Frame-Options"] == "SAMEORIGIN"
    assert h["Referrer-Policy"] == "same-origin"
    csp = h["Content-Security-Policy"]
    if url.startswith("/api/") or url == "/healthz":  # JSON answers load nothing
        assert csp == "default-src 'none'; frame-ancestors 'self'"
        return
    assert "frame-ancestors 'self'" in csp and "object-src 'none'" in csp
    assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    assert "'unsafe-eval'" not in csp


def test_csp_allows_exactly_the_inline_scripts_of_the_page(app, client):
    import base64
    import hashlib
    import re

    html = re.sub(r"<!--.*?-->", "", client.get("/").get_data(as_text=True), flags=re.S)
    csp = client.get("/").headers["Content-Security-Policy"]
    inline = [s for attrs, s in re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
              if "src=" not in attrs and "application/json" not in attrs and s.strip()]
    assert inline, "Dash's page bootstrap should be an inline script"
    for script in inline:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp


def test_json_errors_are_not_cacheable(client):
    assert client.get("/api/v1/nearest?lat=x&lon=1").headers["Cache-Control"] == "no-store"


def test_nan_never_leaks_into_json(client, catalog):
    down = ",".join(catalog.pop_ids)
    text = client.get(f"/api/v1/nearest?lat=1&lon=2&down={down}").get_data(as_text=True)
    assert "NaN" not in text and "Infinity" not in text
    json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in JSON"))
    assert not any(isinstance(v, float) and math.isnan(v) for v in json.loads(text).values())


# ---------------------------------------------------------------------------- assign (CSV)

def test_assign_csv_body(client):
    pytest.importorskip("dashboard.domain.clients",
                        reason="CSV parser (dashboard/domain/clients.py) not merged yet")
    csv = "lat,lon,name,weight\n48.137,11.575,Munich,3\n1.29,103.85,Singapore,1\n"
    resp = client.post("/api/v1/assign?origin=us-east-1&down=SIN", data=csv,
                       content_type="text/csv")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["origin"]["id"] == "us-east-1" and body["count"] == 2
    assert [r["name"] for r in body["assignments"]] == ["Munich", "Singapore"]
    assert body["assignments"][1]["pop"] != "SIN"
    bad = client.post("/api/v1/assign", data="lat,lon\n48.1,abc\n", content_type="text/csv")
    assert bad.status_code == 400 and "CSV body" in error_of(bad)
