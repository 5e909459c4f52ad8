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
