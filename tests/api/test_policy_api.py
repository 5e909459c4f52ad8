"""The routing policy on the JSON API (issue 14): ``policy=`` on /nearest and /assign."""

from __future__ import annotations

import pytest

JNB = "lat=-26.2041&lon=28.0473"


def test_nearest_default_is_geographic_and_flags_johannesburg(client):
    body = client.get(f"/api/v1/nearest?{JNB}").get_json()
    assert body["policy"] == "geographic" and body["pop"]["id"] == "BOM"
    assert body["bgp_flag"] is True and body["network_pop"] in ("LHR", "FRA", "CDG", "AMS")
    assert body["bgp_gap_ms"] > 30
    assert [r["distance_km"] for r in body["ranked"]] == sorted(
        r["distance_km"] for r in body["ranked"])


def test_nearest_network_ranks_by_internet_leg(client):
    body = client.get(f"/api/v1/nearest?{JNB}&policy=network").get_json()
    geo = client.get(f"/api/v1/nearest?{JNB}").get_json()
    assert body["policy"] == "network" and body["pop"]["id"] == geo["network_pop"]
    ms = [r["internet_ms"] for r in body["ranked"]]
    assert ms == sorted(ms) and body["bgp_flag"] is False and body["bgp_gap_ms"] == 0


@pytest.mark.parametrize("path,method", [("/api/v1/nearest?" + JNB + "&policy=bgp", "get"),
                                         ("/api/v1/assign?policy=fastest", "post")])
def test_unknown_policy_is_a_400_naming_the_choices(client, path, method):
    if method == "get":
        resp = client.get(path)
    else:
        resp = client.post(path, json={"clients": [{"lat": 1, "lon": 2}]})
    assert resp.status_code == 400
    err = resp.get_json()["error"]
    assert "policy" in err and "geographic" in err and "network" in err


def test_assign_policy_in_query_or_body_and_flag_fields(client):
    clients = {"clients": [{"lat": -26.2041, "lon": 28.0473, "name": "Johannesburg"},
                           {"lat": 48.85, "lon": 2.35, "name": "Paris"}]}
    geo = client.post("/api/v1/assign", json=clients).get_json()
    assert geo["policy"] == "geographic" and geo["summary"]["flagged"] == 1
    jnb = geo["assignments"][0]
    assert jnb["pop"] == "BOM" and jnb["bgp_flag"] is True and jnb["network_pop"] != "BOM"
    net_q = client.post("/api/v1/assign?policy=network", json=clients).get_json()
    net_b = client.post("/api/v1/assign", json={**clients, "policy": "network"}).get_json()
    assert net_q["assignments"] == net_b["assignments"]
    assert net_q["assignments"][0]["pop"] == jnb["network_pop"]
    assert net_q["summary"]["flagged"] == 0
    twice = client.post("/api/v1/assign?policy=network", json={**clients, "policy": "network"})
    assert twice.status_code == 400 and "once" in twice.get_json()["error"]
