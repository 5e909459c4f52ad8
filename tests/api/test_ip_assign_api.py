"""``POST /api/v1/assign`` with IP addresses (issue 18; docs/api.md, docs/geoip.md): JSON
clients with ``"ip"`` and CSV bodies with an ``ip`` column, located with the configured GeoIP
database (built in the test with mmdb-writer, tests/geoip_db.py). Every row comes back in input
order: an address that cannot be located keeps its row, unrouted, with its status and message;
without a database the answer is a 422 saying how to configure ``ANYCAST_GEOIP_MMDB``."""

from __future__ import annotations

import pytest

from dashboard.app import create_app
from dashboard.settings import Settings
from tests.geoip_db import (COUNTRY_ONLY_IP, JAPAN_V6, LINKOPING, LONDON, UNKNOWN_IP,
                            build_mmdb)

GEOLITE_ATTRIBUTION = ("This product includes GeoLite2 data created by MaxMind "
                       "(https://www.maxmind.com)")


@pytest.fixture(scope="module")
def ip_app(tmp_path_factory, catalog):
    db = build_mmdb(tmp_path_factory.mktemp("geoip") / "geolite2.mmdb", "geolite2")
    return create_app(Settings(max_upload_bytes=64 * 1024, max_clients=20, geoip_mmdb=db),
                      catalog)


@pytest.fixture()
def ip_client(ip_app):
    return ip_app.server.test_client()


def _json(client, clients, query=""):
    return client.post("/api/v1/assign" + query, json={"clients": clients})


def _csv(client, text, query=""):
    return client.post("/api/v1/assign" + query, data=text, content_type="text/csv")


def test_json_ip_clients_are_located_and_every_row_is_kept_in_order(ip_client):
    r = _json(ip_client, [{"ip": LONDON, "name": "shop", "weight": 3},
                          {"ip": "10.0.0.1"},
                          {"lat": 1.29, "lon": 103.85, "name": "Singapore"},
                          {"ip": "1.2.3"},
                          {"ip": UNKNOWN_IP},
                          {"ip": COUNTRY_ONLY_IP},
                          {"ip": JAPAN_V6}])
    assert r.status_code == 200, r.get_json()
    doc = r.get_json()
    rows = doc["assignments"]
    assert doc["count"] == len(rows) == 7
    assert [row["routed"] for row in rows] == [True, False, True, False, False, False, True]
    assert doc["routed"] == 3 and doc["summary"]["unrouted"] == 4
    london = rows[0]
    assert (london["name"], london["weight"], london["pop"]) == ("shop", 3.0, "LHR")
    assert (london["lat"], london["lon"]) == (51.5142, -0.0931)
    assert london["geoip"] == {"ip": LONDON, "status": "ok", "message": None, "city": "London",
                               "country_code": "GB", "accuracy_radius_km": 10.0,
                               "label": f"{LONDON} · London, GB (±10 km)"}
    assert "geoip" not in rows[2] and rows[2]["pop"] == "SIN"  # a coordinate row is unchanged
    assert rows[6]["geoip"]["city"] is None and rows[6]["geoip"]["country_code"] == "JP"
    assert rows[6]["pop"] == "NRT"
    # the same messages as the page's upload and the batch engine (domain.ipgeo)
    reasons = {rows[i]["geoip"]["status"]: rows[i]["geoip"]["message"] for i in (1, 3, 4, 5)}
    assert reasons["special"].startswith("private address (RFC 1918, 10.0.0.0/8)")
    assert reasons["malformed"] == "'1.2.3' is not an IPv4 or IPv6 address"
    assert reasons["unknown"].startswith("not in the GeoIP database")
    assert reasons["no_location"].startswith("the GeoIP database has no coordinates")
    for i in (1, 3, 4, 5):
        assert rows[i]["pop"] is None and rows[i]["lat"] is None and rows[i]["anycast_ms"] is None
    assert doc["geoip"] == {"located": 2, "not_located": {"malformed": 1, "no_location": 1,
                                                          "special": 1, "unknown": 1},
                            "attribution": GEOLITE_ATTRIBUTION}
    assert doc["summary"]["by_pop"] == [{"id": "LHR", "clients": 1, "weight": 3.0},
                                        {"id": "NRT", "clients": 1, "weight": 1.0},
                                        {"id": "SIN", "clients": 1, "weight": 1.0}]


def test_a_located_row_answers_as_its_point_does(ip_client):
    by_ip = _json(ip_client, [{"ip": LINKOPING}]).get_json()["assignments"][0]
    by_point = _json(ip_client, [{"lat": 58.4167, "lon": 15.6167}]).get_json()["assignments"][0]
    assert {k: v for k, v in by_ip.items() if k != "geoip"} == by_point


def test_csv_with_an_ip_column_like_an_access_log(ip_client):
    text = ("# exported access log\n"
            "time,Client_IP,bytes,name,weight\n"
            f"12:00,{LONDON},512,shop,2\n"
            "12:01,192.168.1.1,10,office,\n"
            "12:02,2a02:cf40::7,1,,\n")
    r = _csv(ip_client, text, "?probabilities=1")
    assert r.status_code == 200, r.get_json()
    rows = r.get_json()["assignments"]
    assert [(row["name"], row["routed"], row["geoip"]["status"]) for row in rows] == [
        ("shop", True, "ok"), ("office", False, "special"), ("", True, "ok")]
    assert rows[0]["weight"] == 2.0 and rows[2]["geoip"]["city"] == "Oslo"
    assert rows[1]["probabilities"] == [] and len(rows[0]["probabilities"]) == 5


def test_only_unlocated_rows_is_an_answer_not_an_error(ip_client):
    r = _json(ip_client, [{"ip": "10.0.0.1"}, {"ip": UNKNOWN_IP}])
    assert r.status_code == 200
    doc = r.get_json()
    assert doc["count"] == 2 and doc["routed"] == 0 and doc["summary"]["by_pop"] == []
    assert doc["summary"]["weighted_mean_anycast_ms"] is None


@pytest.mark.parametrize("clients, words", [
    ([{"ip": LONDON, "lat": 1, "lon": 2}], "clients[0]: give either ip or lat and lon, not both"),
    ([{"ip": 81}], "clients[0].ip: 81 is not text"),
    ([{"ip": None}], "clients[0].ip: null is not text"),
    ([{"ip": "1" * 20_000}], "clients[0].ip: 20000 characters is too long"),
    ([{"name": "x"}], "clients[0].lat: missing; required (or give ip instead)"),
    ([{"ip": LONDON, "port": 443}], "clients[0]: unknown field 'port'"),
    ([{"ip": LONDON, "weight": -1}], "clients[0].weight"),
])
def test_json_ip_errors_name_the_field(ip_client, clients, words):
    r = _json(ip_client, clients)
    assert r.status_code == 400 and words in r.get_json()["error"]


def test_caps_are_those_of_the_other_inputs(ip_client):
    r = _json(ip_client, [{"ip": LONDON}] * 21)  # max_clients=20, counted first
    assert r.status_code == 413 and "more than the limit of 20" in r.get_json()["error"]
    r = _csv(ip_client, "ip\n" + f"{LONDON}\n" * 21)
    assert r.status_code == 400 and "more than 20 clients" in r.get_json()["error"]
    r = _csv(ip_client, "ip\n" + "x" * (70 * 1024))  # over max_upload_bytes
    assert r.status_code == 413
    r = _csv(ip_client, f"ip,weight\n{LONDON},1\n{LONDON},heavy\n")
    assert r.status_code == 400
    assert r.get_json()["error"].startswith("CSV body: line 3, column 'weight'")
    r = _csv(ip_client, "ip\n" + "9" * 500 + "\n")  # a long value is one row's reason
    assert r.status_code == 200
    assert "too long" in r.get_json()["assignments"][0]["geoip"]["message"]


def test_without_a_database_ip_rows_are_a_422_saying_how_to_configure_one(client):
    r = _json(client, [{"lat": 1, "lon": 2}, {"ip": LONDON}])
    assert r.status_code == 422
    err = r.get_json()["error"]
    assert err.startswith("ip: 1 client(s) are IP addresses") and "ANYCAST_GEOIP_MMDB" in err
    r = _csv(client, f"ip\n{LONDON}\n")
    assert r.status_code == 422 and "ANYCAST_GEOIP_MMDB" in r.get_json()["error"]
    ok = _json(client, [{"lat": 1, "lon": 2}])  # nothing else changes
    assert ok.status_code == 200 and "geoip" not in ok.get_json()


def test_an_unusable_database_file_is_a_422_naming_it(tmp_path, catalog):
    bad = tmp_path / "not-a-db.mmdb"
    bad.write_bytes(b"not a maxmind database")
    app = create_app(Settings(max_upload_bytes=64 * 1024, max_clients=20, geoip_mmdb=bad),
                     catalog)
    r = _json(app.server.test_client(), [{"ip": LONDON}])
    assert r.status_code == 422
    assert "not-a-db.mmdb" in r.get_json()["error"] and LONDON not in r.get_json()["error"]
