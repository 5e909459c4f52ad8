"""Who the clients are on the JSON API (issue 19): ``access=`` on /nearest and /assign, end users
by default, data-centre servers on request, 400 naming the choices otherwise."""

from __future__ import annotations

import pytest

from dashboard.latency import default_params

MUNICH = "lat=48.137&lon=11.575"
P = default_params()


def test_nearest_defaults_to_end_users_and_datacenter_is_the_server_model(client):
    eu = client.get(f"/api/v1/nearest?{MUNICH}").get_json()
    dc = client.get(f"/api/v1/nearest?{MUNICH}&access=datacenter").get_json()
    assert eu["access"] == "end-user" and dc["access"] == "datacenter"
    assert client.get(f"/api/v1/nearest?{MUNICH}&access=end-user").get_json() == eu
    # the same access points, in the same order: the access term never moves a client
    assert [r["id"] for r in eu["ranked"]] == [r["id"] for r in dc["ranked"]]
    for e, d in zip(eu["ranked"], dc["ranked"]):
        assert e["backbone_ms"] == d["backbone_ms"]                  # never on the backbone
        assert e["internet_ms"] >= d["internet_ms"] + P.access_ms - 0.1
        assert e["internet_ms"] == pytest.approx(P.access_ms + P.access_factor
                                                 * d["internet_ms"], abs=0.15)
    # the direct path carries the same term, so the saving compares like with like
    assert eu["direct"]["rtt_ms"] == pytest.approx(
        P.access_ms + P.access_factor * dc["direct"]["rtt_ms"], abs=0.15)


@pytest.mark.parametrize("path,method", [
    ("/api/v1/nearest?" + MUNICH + "&access=mobile", "get"),
    ("/api/v1/nearest?" + MUNICH + "&access=", "get"),
    ("/api/v1/assign?access=home", "post")])
def test_unknown_access_is_a_400_naming_the_choices(client, path, method):
    if method == "get":
        resp = client.get(path)
    else:
        resp = client.post(path, json={"clients": [{"lat": 1, "lon": 2}]})
    assert resp.status_code == 400
    err = resp.get_json()["error"]
    assert err.startswith("access:") and "end-user" in err and "datacenter" in err


def test_assign_access_in_query_or_body_once(client):
    clients = {"clients": [{"lat": 48.137, "lon": 11.575, "name": "Munich"},
                           {"lat": 1.29, "lon": 103.85, "name": "Singapore"}]}
    eu = client.post("/api/v1/assign", json=clients).get_json()
    dc_q = client.post("/api/v1/assign?access=datacenter", json=clients).get_json()
    dc_b = client.post("/api/v1/assign", json={**clients, "access": "datacenter"}).get_json()
    assert eu["access"] == "end-user" and dc_q["access"] == dc_b["access"] == "datacenter"
    assert dc_q["assignments"] == dc_b["assignments"]
    assert [r["pop"] for r in eu["assignments"]] == [r["pop"] for r in dc_q["assignments"]]
    for e, d in zip(eu["assignments"], dc_q["assignments"]):
        assert e["anycast_ms"] > d["anycast_ms"] and e["direct_ms"] > d["direct_ms"]
        assert e["backbone_ms"] == d["backbone_ms"]
    assert (eu["summary"]["weighted_mean_anycast_ms"]
            > dc_q["summary"]["weighted_mean_anycast_ms"])
    twice = client.post("/api/v1/assign?access=datacenter", json={**clients,
                                                                   "access": "datacenter"})
    assert twice.status_code == 400 and "once" in twice.get_json()["error"]
    bad = client.post("/api/v1/assign", json={**clients, "access": 3})
    assert bad.status_code == 400 and bad.get_json()["error"].startswith("access:")
