"""The Redis-backed cache with a real redis-server on 127.0.0.1: shared between app instances,
and a Redis outage degrades caching, never answers."""

from __future__ import annotations

import logging
import socket
import threading
import time

import pytest

from dashboard import cache as cache_mod
from dashboard.app import create_app
from dashboard.memo import KEY_PREFIX
from dashboard.settings import Settings

pytestmark = pytest.mark.redis

URL = "/api/v1/nearest?lat=35.6812&lon=139.7671&origin=us-west-1"


@pytest.fixture()
def fast_retry(monkeypatch):
    monkeypatch.setattr(cache_mod, "REDIS_RETRY_S", 0.2)


def make_app(catalog, redis_url: str):
    return create_app(Settings(redis_url=redis_url), catalog)


def test_two_app_instances_share_entries_through_redis(redis_server, catalog):
    """A nearest answer is stored by the instance that is asked for its point a second time
    (memo.Doorkeeper: most points are asked once); another instance then reads it from Redis
    from its own second request on, without ever computing it again."""
    first = make_app(catalog, redis_server.url).server.test_client()
    second = make_app(catalog, redis_server.url).server.test_client()
    r1 = first.get(URL)
    assert r1.status_code == 200 and r1.headers["X-Cache"] == "MISS"
    assert not redis_server.client().keys(KEY_PREFIX + "*")  # asked once: not stored
    assert first.get(URL).headers["X-Cache"] == "MISS"  # asked again: looked up, stored
    keys = [k.decode() for k in redis_server.client().keys(KEY_PREFIX + "*")]
    assert any("services.routing._nearest:" in k for k in keys), keys
    assert second.get(URL).headers["X-Cache"] == "MISS"  # its first: computed, no lookup
    r2 = second.get(URL)
    assert r2.status_code == 200 and r2.headers["X-Cache"] == "HIT"
    assert r2.get_json() == r1.get_json()
    health = second.get("/healthz").get_json()
    assert health["cache"]["backend"] == "redis" and health["cache"]["reachable"] is True
    assert health["cache"]["hits"] == 1 and health["cache"]["misses"] == 1


def test_route_table_is_shared_too(redis_server, catalog):
    doc = {"clients": [{"lat": 50.0, "lon": 8.0}, {"lat": 40.7, "lon": -74.0}]}
    a = make_app(catalog, redis_server.url).server.test_client()
    b = make_app(catalog, redis_server.url).server.test_client()
    assert a.post("/api/v1/assign", json=doc).headers["X-Cache"] == "MISS"
    resp = b.post("/api/v1/assign", json=doc)
    assert resp.headers["X-Cache"] == "HIT"
    assert resp.get_json()["assignments"][1]["pop"] == "IAD"


def test_the_plain_forms_encoded_answers_are_shared_through_redis(redis_server, catalog):
    """The API's direct route (plain ?lat=..&lon=..) caches the encoded answer under its own
    key (services.routing.nearest_json_via): the second instance serves the same bytes."""
    url = "/api/v1/nearest?lat=35.6812&lon=139.7671"
    first = make_app(catalog, redis_server.url).server.test_client()
    second = make_app(catalog, redis_server.url).server.test_client()
    # each instance: its first request computed only, then looked up (memo.Doorkeeper)
    r1 = [first.get(url) for _ in range(2)][0]
    r2 = [second.get(url) for _ in range(2)]
    assert (r1.status_code, r1.headers["X-Cache"]) == (200, "MISS")
    assert [r.headers["X-Cache"] for r in r2] == ["MISS", "HIT"] and r2[1].data == r1.data
    keys = [k.decode() for k in redis_server.client().keys(KEY_PREFIX + "*")]
    assert any("services.routing.nearest_json:" in k for k in keys), keys


def test_redis_stopped_midway_degrades_then_recovers(redis_server, catalog, fast_retry, caplog):
    caplog.set_level(logging.WARNING, logger="dashboard.cache")
    client = make_app(catalog, redis_server.url).server.test_client()
    assert [client.get(URL).headers["X-Cache"] for _ in range(3)] == ["MISS", "MISS", "HIT"]

    redis_server.stop()
    statuses, caches = [], []
    deadline = time.monotonic() + 1.0  # several circuit-breaker retry intervals
    while time.monotonic() < deadline:
        resp = client.get(URL)
        statuses.append(resp.status_code)
        caches.append(resp.headers["X-Cache"])
        time.sleep(0.02)
    assert set(statuses) == {200} and set(caches) == {"MISS"}
    assert len(statuses) > 10
    outage = [r for r in caplog.records if "unavailable" in r.getMessage()]
    assert len(outage) == 1, [r.getMessage() for r in caplog.records]
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.get_json()["status"] == "degraded"
    assert health.get_json()["cache"]["reachable"] is False

    redis_server.start()  # same port, empty
    time.sleep(0.3)  # past the retry interval
    assert client.get(URL).headers["X-Cache"] == "MISS"  # Redis restarted empty
    assert client.get(URL).headers["X-Cache"] == "HIT"
    assert any("reachable again" in r.getMessage() for r in caplog.records)
    assert client.get("/healthz").get_json()["status"] == "ok"


def test_redis_down_at_start_up_still_serves(redis_server, catalog):
    url = redis_server.url
    redis_server.stop()
    client = make_app(catalog, url).server.test_client()
    for _ in range(3):
        resp = client.get(URL)
        assert resp.status_code == 200 and resp.get_json()["pop"]["id"] == "NRT"
    assert client.get("/healthz").get_json()["cache"]["reachable"] is False


def test_a_hung_redis_costs_one_timeout_not_one_per_request(catalog, fast_retry):
    """A Redis that accepts connections but never answers (e.g. stopped with SIGSTOP)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    port = listener.getsockname()[1]
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        client = make_app(catalog, f"redis://127.0.0.1:{port}/0").server.test_client()
        t0 = time.monotonic()
        # the point's first request does not touch the cache (memo.Doorkeeper), its second
        # does: together they cost one timeout at most
        first = [client.get(URL) for _ in range(2)]
        first_s = time.monotonic() - t0
        assert [r.status_code for r in first] == [200, 200]
        assert first_s < cache_mod.REDIS_SOCKET_TIMEOUT_S + 1.0
        t0 = time.monotonic()
        for _ in range(20):
            assert client.get(URL).status_code == 200
        assert time.monotonic() - t0 < 1.0  # circuit open: no timeouts
    finally:
        stop.set()
        thread.join(timeout=2)
        for s in held:
            s.close()
        listener.close()


# Issue 13, finding 8: what a value may cost in Redis.

def _backend(catalog, url: str):
    from dashboard.memo import BACKEND_EXT

    return make_app(catalog, url).server.extensions[BACKEND_EXT]


def test_big_values_are_kept_briefly_and_oversized_ones_not_at_all(redis_server, catalog):
    backend = _backend(catalog, redis_server.url)
    r = redis_server.client()
    assert backend.set("small", b"s" * 1000)
    assert backend.set("big", b"b" * (cache_mod.REDIS_BIG_ENTRY_BYTES + 1))
    assert backend.add("big-add", b"b" * (cache_mod.REDIS_BIG_ENTRY_BYTES + 1))
    assert not backend.add("big-add", b"again")
    assert backend.set("forever-big", b"b" * (cache_mod.REDIS_BIG_ENTRY_BYTES + 1), timeout=0)
    assert backend.set("forever-small", b"s", timeout=0)
    assert backend.set("huge", b"h" * (cache_mod.CACHE_MAX_ENTRY_BYTES + 1)) is False
    assert backend.too_big == 1
    ttl = {k: r.ttl(KEY_PREFIX + k) for k in ("small", "big", "big-add", "forever-big",
                                              "forever-small", "huge")}
    assert 3500 < ttl["small"] <= 3600                       # ANYCAST_CACHE_TIMEOUT
    for k in ("big", "big-add", "forever-big"):
        assert 0 < ttl[k] <= cache_mod.REDIS_BIG_ENTRY_TIMEOUT_S, (k, ttl)
    assert ttl["forever-small"] == -1                         # no expiry, as asked
    assert ttl["huge"] == -2                                  # never stored
    assert backend.get("big") == b"b" * (cache_mod.REDIS_BIG_ENTRY_BYTES + 1)
    assert backend.set_many({"m1": 1, "m2": b"h" * (cache_mod.CACHE_MAX_ENTRY_BYTES + 1)}) == ["m1"]


def test_a_big_route_table_from_the_api_lives_a_minute_in_redis(redis_server, catalog):
    """10,000 clients: a ~1 MB table (over the big-value size) expires after 60 s, not 1 h."""
    client = make_app(catalog, redis_server.url).server.test_client()
    doc = {"clients": [{"lat": -60 + (i % 130), "lon": -180 + (i * 0.036)}
                       for i in range(10_000)]}
    assert client.post("/api/v1/assign", json=doc).headers["X-Cache"] == "MISS"
    r = redis_server.client()
    tables = [k for k in r.keys(KEY_PREFIX + "*") if b"_route_table:" in k]
    assert len(tables) == 1
    assert r.strlen(tables[0]) > cache_mod.REDIS_BIG_ENTRY_BYTES
    assert 0 < r.ttl(tables[0]) <= cache_mod.REDIS_BIG_ENTRY_TIMEOUT_S
    assert client.post("/api/v1/assign", json=doc).headers["X-Cache"] == "HIT"
