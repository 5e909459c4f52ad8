"""Landing probabilities on the JSON API (issue 14): ``probabilities=1`` on /nearest and
/assign; over the healthy access points only; 400 on a bad value."""

from __future__ import annotations

import pytest

JNB = "lat=-26.2041&lon=28.0473"


def test_nearest_without_the_switch_has_no_probabilities(client):
    for q in ("", "&probabilities=0", "&probabilities=false"):
        body = client.get(f"/api/v1/nearest?{JNB}{q}").get_json()
        assert "probabilities" not in body


def test_nearest_probabilities_shape_and_healthy_only(client, catalog):
    body = client.get(f"/api/v1/nearest?{JNB}&probabilities=1").get_json()
    probs = body["probabilities"]
    assert probs and all(set(p) == {"id", "probability"} for p in probs)
    assert {p["id"] for p in probs} <= set(catalog.pop_ids)
    values = [p["probability"] for p in probs]
    assert values == sorted(values, reverse=True) and all(0 < v <= 1 for v in values)
    assert sum(values) == pytest.approx(1.0, abs=0.01)  # 19 PoPs: every one is a candidate
    top = probs[0]["id"]
    down = client.get(f"/api/v1/nearest?{JNB}&probabilities=TRUE&down={top}").get_json()
    assert top not in {p["id"] for p in down["probabilities"]}
    assert sum(p["probability"] for p in down["probabilities"]) <= 1.0 + 1e-3
    # the deterministic answer is unchanged by the switch
    plain = client.get(f"/api/v1/nearest?{JNB}").get_json()
    assert {k: v for k, v in body.items() if k != "probabilities"} == plain


@pytest.mark.parametrize("value", ["yes", "2", "", "on"])
def test_bad_probabilities_value_is_a_400(client, value):
    resp = client.get(f"/api/v1/nearest?{JNB}&probabilities={value}")
    assert resp.status_code == 400
    assert "probabilities" in resp.get_json()["error"]
    resp = client.post(f"/api/v1/assign?probabilities={value}",
                       json={"clients": [{"lat": 1, "lon": 2}]})
    assert resp.status_code == 400 and "probabilities" in resp.get_json()["error"]


def test_assign_probabilities_top5_per_client(client):
    clients = {"clients": [{"lat": -26.2041, "lon": 28.0473, "name": "Johannesburg"},
                           {"lat": 51.5072, "lon": -0.1276, "name": "London"}]}
    body = client.post("/api/v1/assign?probabilities=1&down=LHR", json=clients).get_json()
    for row in body["assignments"]:
        probs = row["probabilities"]
        assert 1 <= len(probs) <= 5 and "LHR" not in {p["id"] for p in probs}
        assert sum(p["probability"] for p in probs) <= 1.0 + 1e-3
    plain = client.post("/api/v1/assign", json=clients).get_json()
    assert "probabilities" not in plain["assignments"][0]
