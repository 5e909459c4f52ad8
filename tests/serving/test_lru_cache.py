"""The in-process cache backend evicts least-recently-used entries in O(1)."""

from __future__ import annotations

import time

from dashboard.cache import LRUSimpleCache, cache_config
from dashboard.settings import Settings


def test_evicts_least_recently_used_and_keeps_the_threshold():
    c = LRUSimpleCache(threshold=3, default_timeout=0)
    for k in "abc":
        c.set(k, k.upper())
    assert c.get("a") == "A"          # a is now the most recent
    c.set("d", "D")                   # evicts b, the least recently used
    assert c.get("b") is None
    assert [c.get(k) for k in "acd"] == ["A", "C", "D"]
    assert len(c._cache) == 3
    c.set("c", "C2")                  # overwrite: still 3 entries, c most recent
    c.set("e", "E")                   # evicts a (order now: d, c, e ... a was touched before d)
    assert len(c._cache) == 3 and c.get("e") == "E" and c.get("c") == "C2"


def test_values_are_copies_and_expiry_is_honoured():
    c = LRUSimpleCache(threshold=10, default_timeout=1)
    value = {"x": [1, 2]}
    c.set("k", value)
    value["x"].append(3)
    assert c.get("k") == {"x": [1, 2]}          # pickled, like SimpleCache
    c._cache["k"] = (time.time() - 1, c._cache["k"][1])
    assert c.get("k") is None and "k" not in c._cache
    assert c.add("n", 1) and not c.add("n", 2) and c.get("n") == 1


def test_full_cache_evicts_one_entry_per_set_without_scanning(monkeypatch):
    c = LRUSimpleCache(threshold=500, default_timeout=0)
    for i in range(500):
        c.set(f"warm{i}", i)
    # cachelib's SimpleCache scans and sorts every entry on each set once full; ours must not.
    monkeypatch.setattr(c, "_remove_expired", lambda now: (_ for _ in ()).throw(AssertionError))
    monkeypatch.setattr(c, "_remove_older", lambda: (_ for _ in ()).throw(AssertionError))
    for i in range(2000):
        c.set(f"k{i}", i)
    assert len(c._cache) == 500 and c.get("k1999") == 1999 and c.get("warm0") is None
    assert c.get("k1500") == 1500 and c.get("k1499") is None


def test_default_backend_is_the_lru_cache():
    assert cache_config(Settings())["CACHE_TYPE"] == "dashboard.cache.LRUSimpleCache"


# Issue 13, finding 8: bounded by bytes, not only by entries.

TABLE_BYTES = 4_802_060  # a pickled route table of 50,000 clients (measured)


def test_is_bounded_by_the_bytes_of_its_serialized_values():
    c = LRUSimpleCache(threshold=5000, default_timeout=0, max_bytes=10_000)
    for i in range(100):
        assert c.set(f"k{i}", b"x" * 1000)
    assert c.size_bytes <= 10_000 and len(c._cache) == 9   # ~1,030 bytes pickled each
    assert c.get("k99") == b"x" * 1000 and c.get("k90") is None
    assert c.size_bytes == sum(len(dump) for _, dump in c._cache.values())


def test_size_follows_overwrites_deletes_expiry_and_clear():
    c = LRUSimpleCache(threshold=10, default_timeout=0, max_bytes=100_000)
    c.set("a", b"1" * 5000)
    c.set("a", b"1" * 100)              # overwrite: the old bytes are released
    c.set("b", b"2" * 100, timeout=1)
    total = c.size_bytes
    assert 200 < total < 400
    c._cache["b"] = (time.time() - 1, c._cache["b"][1])
    assert c.get("b") is None and c.size_bytes < total       # expired on read
    assert c.delete("a") and c.size_bytes == 0
    c.set("x", 1)
    assert c.clear() and c.size_bytes == 0 and c.get("x") is None


def test_a_value_over_the_per_entry_limit_is_not_cached():
    c = LRUSimpleCache(threshold=10, default_timeout=0, max_entry_bytes=1000)
    c.set("k", b"small")
    assert c.set("k", b"y" * 2000) is False   # skipped, and the stale value is gone too
    assert c.get("k") is None and c.size_bytes == 0 and c.too_big == 1
    assert c.add("n", b"y" * 2000) is False and c.get("n") is None


def test_default_bounds_hold_a_flood_of_route_tables_at_the_client_cap():
    """5,000 entries of 4.8 MB were allowed before: ~24 GB per worker."""
    from dashboard.cache import CACHE_MAX_ENTRY_BYTES, SIMPLE_CACHE_MAX_BYTES

    c = LRUSimpleCache(threshold=cache_config(Settings())["CACHE_THRESHOLD"], default_timeout=0)
    assert TABLE_BYTES < CACHE_MAX_ENTRY_BYTES < SIMPLE_CACHE_MAX_BYTES
    for i in range(40):
        assert c.set(f"table{i}", bytes(TABLE_BYTES))
    assert c.size_bytes <= SIMPLE_CACHE_MAX_BYTES
    assert len(c._cache) == 13  # 64 MiB // 4.8 MB
    assert c.get("table39") is not None and c.get("table0") is None
    assert not c.set("huge", bytes(CACHE_MAX_ENTRY_BYTES + 1))


def test_the_app_binds_the_byte_bounded_cache(catalog):
    from dashboard.app import create_app
    from dashboard.cache import SIMPLE_CACHE_MAX_BYTES
    from dashboard.memo import BACKEND_EXT

    backend = create_app(Settings(), catalog).server.extensions[BACKEND_EXT]
    assert isinstance(backend, LRUSimpleCache) and backend.max_bytes == SIMPLE_CACHE_MAX_BYTES
