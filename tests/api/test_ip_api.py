"""``/api/v1/nearest?ip=``: an IP address as the client, located with the configured GeoIP
database (built in the test with mmdb-writer); errors are 4xx naming the parameter; without a
database the answer says how to configure one."""

from __future__ import annotations

import pytest

from dashboard.app import create_app
from dashboard.settings import Settings
from tests.geoip_db import JAPAN_V6, LONDON, UNKNOWN_IP, build_mmdb


@pytest.fixture(scope="module")
def ip_app(tmp_path_factory, catalog):
    db = build_mmdb(tmp_path_factory.mktemp("geoip") / "dbip.mmdb", "dbip")
    return create_app(Settings(max_upload_bytes=64 * 1024, max_clients=500, geoip_mmdb=db),
                      catalog)


@pytest.fixture()
def ip_client(ip_app):
    return ip_app.server.test_client()


def test_nearest_by_ip_answers_for_the_located_point(ip_client, client):
    r = ip_client.get(f"/api/v1/nearest?ip={LONDON}&k=2")
    assert r.status_code == 200, r.get_json()
    doc = r.get_json()
    assert doc["geoip"] == {"ip": LONDON, "city": "London", "country_code": "GB",
                            "lat": 51.5142, "lon": -0.0931, "accuracy_radius_km": None,
                            "label": f"{LONDON} · London, GB (accuracy unknown)",
                            "attribution": "IP geolocation by DB-IP (https://db-ip.com), "
                                           "CC BY 4.0"}
    by_point = client.get("/api/v1/nearest?lat=51.5142&lon=-0.0931&k=2").get_json()
    assert doc["pop"] == by_point["pop"] and doc["ranked"] == by_point["ranked"]
    v6 = ip_client.get("/api/v1/nearest", query_string={"ip": JAPAN_V6}).get_json()
    assert v6["pop"]["id"] == "NRT" and v6["geoip"]["country_code"] == "JP"


@pytest.mark.parametrize("query, status, words", [
    ("ip=10.0.0.1", 422, "private address"),
    (f"ip={UNKNOWN_IP}", 422, "not in the GeoIP database"),
    ("ip=1.2.3", 400, "not an IPv4 or IPv6 address"),
    ("ip=", 400, "empty"),
    (f"ip={LONDON}&lat=1&lon=2", 400, "either ip or lat and lon"),
    (f"ip={LONDON}&ip={LONDON}", 400, "given 2 times"),
    ("ip=" + "1" * 5000, 400, "too long"),
])
def test_nearest_by_ip_errors_name_the_parameter(ip_client, query, status, words):
    r = ip_client.get("/api/v1/nearest?" + query)
    assert r.status_code == status and r.is_json
    assert r.get_json()["error"].startswith("ip") and words in r.get_json()["error"]


def test_without_a_database_the_api_says_how_to_configure_it(client):
    r = client.get(f"/api/v1/nearest?ip={LONDON}")
    assert r.status_code == 422 and "ANYCAST_GEOIP_MMDB" in r.get_json()["error"]
    assert client.get("/api/v1/nearest?lat=1&lon=2").status_code == 200  # nothing else changes
