"""The announcement bias on the JSON API (issue 20, part 3): ``bias=`` on /nearest and /assign."""

from __future__ import annotations

import pytest

MUNICH = "lat=48.1&lon=11.6"


def test_nearest_without_bias_has_no_bias_fields(client):
    body = client.get(f"/api/v1/nearest?{MUNICH}").get_json()
    assert body["pop"]["id"] == "FRA" and "bias" not in body
    assert all("bias_ms" not in r for r in body["ranked"])


@pytest.mark.parametrize("policy", ["geographic", "network"])
def test_penalty_on_fra_moves_munich_and_keeps_real_rtts(client, policy):
    plain = client.get(f"/api/v1/nearest?{MUNICH}&policy={policy}").get_json()
    # "+" in a query string is a space to a form decoder: both spellings are accepted
    for text in ("FRA:%2B20", "FRA:+20", "fra:20"):
        body = client.get(f"/api/v1/nearest?{MUNICH}&policy={policy}&bias={text}").get_json()
        assert body["bias"] == {"FRA": 20.0}
        assert body["pop"]["id"] != "FRA"
        fra = next(r for r in body["ranked"] if r["id"] == "FRA")
        fra0 = next(r for r in plain["ranked"] if r["id"] == "FRA")
        # selection only: FRA's modelled RTT is the real one
        assert fra["anycast_ms"] == fra0["anycast_ms"] and fra["bias_ms"] == 20.0


def test_bonus_pulls_far_client_and_zero_is_no_bias(client):
    body = client.get(f"/api/v1/nearest?{MUNICH}&bias=CDG:-50").get_json()
    assert body["pop"]["id"] == "CDG"
    zero = client.get(f"/api/v1/nearest?{MUNICH}&bias=CDG:0").get_json()
    plain = client.get(f"/api/v1/nearest?{MUNICH}").get_json()
    assert zero == plain


@pytest.mark.parametrize("text,needle", [("XYZ:10", "unknown access point XYZ"),
                                         ("FRA:500", "outside"),
                                         ("FRA:abc", "not a number"),
                                         ("FRA", "POP:ms"),
                                         ("FRA:10,FRA:5", "twice")])
def test_bad_bias_is_a_400_naming_it(client, text, needle):
    resp = client.get(f"/api/v1/nearest?{MUNICH}&bias={text}")
    assert resp.status_code == 400
    assert needle in resp.get_json()["error"] and "bias" in resp.get_json()["error"]


def test_assign_bias_in_query_or_body(client):
    clients = {"clients": [{"lat": 48.1, "lon": 11.6, "name": "Munich"},
                           {"lat": 50.1, "lon": 8.7, "name": "Frankfurt"}]}
    plain = client.post("/api/v1/assign", json=clients).get_json()
    assert [a["pop"] for a in plain["assignments"]] == ["FRA", "FRA"] and "bias" not in plain
    q = client.post("/api/v1/assign?bias=FRA:30", json=clients).get_json()
    b = client.post("/api/v1/assign", json={**clients, "bias": {"FRA": 30}}).get_json()
    t = client.post("/api/v1/assign", json={**clients, "bias": "FRA:+30"}).get_json()
    assert q["assignments"] == b["assignments"] == t["assignments"]
    assert q["bias"] == {"FRA": 30.0}
    assert all(a["pop"] != "FRA" for a in q["assignments"])
    twice = client.post("/api/v1/assign?bias=FRA:30", json={**clients, "bias": {"FRA": 30}})
    assert twice.status_code == 400 and "once" in twice.get_json()["error"]
    bad = client.post("/api/v1/assign", json={**clients, "bias": [1, 2]})
    assert bad.status_code == 400 and "bias" in bad.get_json()["error"]


def test_probabilities_shift_with_the_bias(client):
    def p_fra(extra: str) -> float:
        body = client.get(f"/api/v1/nearest?{MUNICH}&probabilities=1{extra}").get_json()
        return dict((r["id"], r["probability"]) for r in body["probabilities"]).get("FRA", 0.0)

    assert p_fra("&bias=FRA:30") < p_fra("") < p_fra("&bias=FRA:-30")
