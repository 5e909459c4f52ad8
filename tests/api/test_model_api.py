"""Latency model overrides on the JSON API (``model``): accepted on /nearest and /assign, the
numbers are the service layer's under the same overrides, bad ones are a 400 naming them."""

from __future__ import annotations

import pytest

from dashboard import latency
from dashboard.services import routing

FITTED = latency.fitted_values()


def _error(resp) -> str:
    assert resp.status_code == 400, resp.get_data(as_text=True)[:300]
    body = resp.get_json()
    assert set(body) == {"error"}
    return body["error"]


def test_nearest_accepts_model_and_echoes_it(client, catalog):
    base = client.get("/api/v1/nearest?lat=40.71&lon=-74.0&origin=eu-central-1").get_json()
    resp = client.get("/api/v1/nearest?lat=40.71&lon=-74.0&origin=eu-central-1"
                      "&model=pop_overhead_ms:6,backbone_overhead_ms:4")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["model"] == {"backbone_overhead_ms": 4.0, "pop_overhead_ms": 6.0}
    assert "model" not in base
    want = routing.nearest_answer(catalog, 40.71, -74.0, "eu-central-1",
                                   model=(("backbone_overhead_ms", 4.0), ("pop_overhead_ms", 6.0)))
    assert body["pop"] == want["pop"] and body["direct"] == want["direct"]
    shift = (6.0 - FITTED["pop_overhead_ms"]) + (4.0 - FITTED["backbone_overhead_ms"])
    assert body["pop"]["backbone_ms"] == pytest.approx(base["pop"]["backbone_ms"] + shift, abs=0.11)
    assert body["direct"] == base["direct"]  # the direct path has no backbone


@pytest.mark.parametrize("how", ["query", "string", "object"])
def test_assign_accepts_model_in_the_query_or_the_body(client, catalog, how):
    clients = [{"lat": 48.86, "lon": 2.35}, {"lat": 35.68, "lon": 139.69}]
    url, doc = "/api/v1/assign", {"clients": clients}
    if how == "query":
        url += "?model=inflation_scale:1.3"
    elif how == "string":
        doc["model"] = "inflation_scale:1.3"
    else:
        doc["model"] = {"inflation_scale": 1.3}
    resp = client.post(url, json=doc)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["model"] == {"inflation_scale": 1.3}
    want = routing.route_table(catalog, ((48.86, 2.35), (35.68, 139.69)), "eu-central-1",
                                model=(("inflation_scale", 1.3),))
    got = [r["anycast_ms"] for r in body["assignments"]]
    assert got == [round(v, 1) for v in want["anycast_ms"]]
    plain = client.post("/api/v1/assign", json={"clients": clients}).get_json()
    assert "model" not in plain
    assert all(b > a for a, b in zip([r["direct_ms"] for r in plain["assignments"]],
                                     [r["direct_ms"] for r in body["assignments"]]))


@pytest.mark.parametrize("query, words", [
    ("model=nope:1", ["model", "'nope'", "cannot be overridden"]),
    ("model=overhead_ms:-1", ["model", "overhead_ms", "[0, 500]"]),
    ("model=fibre_km_per_ms:300", ["model", "fibre_km_per_ms", "[100, 204]"]),
    ("model=overhead_ms", ["model", "name:value"]),
    ("model=overhead_ms:abc", ["model", "not a number"]),
    ("model=overhead_ms:nan", ["model", "overhead_ms"]),
    ("model=overhead_ms:1&model=overhead_ms:2", ["model", "given 2 times"]),
    ("model=" + "a" * 2000, ["model", "longer than"]),
])
def test_bad_model_on_nearest_is_a_400_naming_it(client, query, words):
    text = _error(client.get("/api/v1/nearest?lat=1&lon=2&" + query))
    for w in words:
        assert w in text


@pytest.mark.parametrize("model, words", [
    ([1], ["model", "is not 'name:value"]),
    (5, ["model"]),
    (True, ["model"]),
    ({"overhead_ms": "5"}, ["model.overhead_ms", "not a number"]),
    ({"overhead_ms": None}, ["model.overhead_ms", "not a number"]),
    ({"x": 1}, ["model", "'x'"]),
    ({"backbone_route_factor": 0.5}, ["model", "backbone_route_factor"]),
    ("overhead_ms:5,,pop_overhead_ms:-2", ["model", "pop_overhead_ms"]),
])
def test_bad_model_on_assign_is_a_400_naming_it(client, model, words):
    text = _error(client.post("/api/v1/assign", json={"clients": [{"lat": 1, "lon": 2}],
                                                      "model": model}))
    for w in words:
        assert w in text


def test_model_given_twice_on_assign_is_a_400(client):
    text = _error(client.post("/api/v1/assign?model=overhead_ms:5",
                              json={"clients": [{"lat": 1, "lon": 2}], "model": "overhead_ms:6"}))
    assert "model" in text and "give it once" in text


def test_csv_assign_takes_model_from_the_query(client):
    resp = client.post("/api/v1/assign?model=overhead_ms:30", data=b"48.86,2.35\n",
                       content_type="text/csv")
    assert resp.status_code == 200 and resp.get_json()["model"] == {"overhead_ms": 30.0}
