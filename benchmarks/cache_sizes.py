#!/usr/bin/env python3
"""Issue 13, finding 8 (and 1): what the caches hold, in bytes, and what their bounds allow.

1. The result cache's values: a pickled route table (``routing._route_table``, what
   ``/api/v1/assign`` and the page's panels cache) for 500 ... 50,000 clients (the client cap),
   with the time to compute it, and a pickled ``/api/v1/nearest`` answer.
2. The in-process result cache (``LRUSimpleCache`` with the app's settings) after 40 distinct
   50,000-client tables: entries and bytes kept (before issue 13 it kept up to 5,000 entries).
3. The compressed static-file cache (``StaticCompressionCache``): the page's scripts, then every
   file Dash can serve here, in all four encodings (zstd, br, gzip, deflate), without a bound.

Usage: python benchmarks/cache_sizes.py
"""

from __future__ import annotations

import logging
import re
import time

import numpy as np

from dashboard.services import routing
from dashboard.app import create_app
from dashboard.cache import (CACHE_MAX_ENTRY_BYTES, REDIS_BIG_ENTRY_BYTES,
                             SIMPLE_CACHE_MAX_BYTES, LRUSimpleCache, cache_config)
from dashboard.catalog import default_catalog
from dashboard.serving import STATIC_CACHE_MAX_BYTES
from dashboard.settings import Settings

ENCODINGS = ("zstd", "br", "gzip", "deflate")


def route_tables() -> object:
    catalog = default_catalog()
    fp = routing.catalog_fingerprint(catalog)
    serializer = LRUSimpleCache.serializer
    rng = np.random.default_rng(1)
    print("route table (pickled)          clients      bytes   compute ms")
    table = None
    for n in (500, 5_000, 10_000, 50_000):
        clients = tuple((float(a), float(b)) for a, b in zip(rng.uniform(-60, 70, n),
                                                             rng.uniform(-180, 180, n)))
        t0 = time.perf_counter()
        table = routing._route_table.uncached(fp, clients, "us-west-1", ())
        ms = (time.perf_counter() - t0) * 1000
        size = len(serializer.dumps(table))
        flag = (" (> per-entry limit)" if size > CACHE_MAX_ENTRY_BYTES else
                " (big: short-lived in Redis)" if size > REDIS_BIG_ENTRY_BYTES else "")
        print(f"{'':30s} {n:7d} {size:10,d} {ms:10.0f}{flag}")
    answer = routing.nearest_answer(catalog, 48.8566, 2.3522, "us-west-1", ())
    print(f"/api/v1/nearest answer (pickled): {len(serializer.dumps(answer)):,d} bytes")
    return table


def lru_flood(table: object) -> None:
    config = cache_config(Settings())
    cache = LRUSimpleCache(threshold=config["CACHE_THRESHOLD"], default_timeout=0)
    for i in range(40):
        cache.set(f"table{i}", table)
    print(f"LRUSimpleCache after 40 distinct 50,000-client tables: {len(cache._cache)} entries, "
          f"{cache.size_bytes / 2**20:.1f} MiB (bound {SIMPLE_CACHE_MAX_BYTES / 2**20:.0f} MiB; "
          f"entry threshold {config['CACHE_THRESHOLD']}: "
          f"{config['CACHE_THRESHOLD'] * cache.size_bytes / len(cache._cache) / 1e9:.0f} GB "
          "if only entries were counted)")


def static_cache() -> None:
    logging.getLogger("dashboard").setLevel(logging.CRITICAL)
    app = create_app()
    client = app.server.test_client()
    cache = app.server.extensions["anycast_compress"].cache
    cache.max_bytes = 10**12  # measure, do not bound
    page = client.get("/").data.decode()
    scripts = re.findall(r'src="([^"]+)"', page)
    for enc in ENCODINGS:
        for url in scripts:
            client.get(url, headers={"Accept-Encoding": enc})
    print(f"static cache, the page's {len(scripts)} scripts x {len(ENCODINGS)} encodings: "
          f"{len(cache)} entries, {cache.size_bytes / 1e6:.1f} MB")
    for package, paths in list(app.registered_paths.items()):
        for path in list(paths):
            for enc in ENCODINGS:
                client.get(f"/_dash-component-suites/{package}/{path}",
                           headers={"Accept-Encoding": enc})
    print(f"static cache, every file Dash can serve x {len(ENCODINGS)} encodings: {len(cache)} "
          f"entries, {cache.size_bytes / 1e6:.1f} MB (bound "
          f"{STATIC_CACHE_MAX_BYTES / 2**20:.0f} MiB)")


def main() -> None:
    table = route_tables()
    lru_flood(table)
    static_cache()


if __name__ == "__main__":
    main()
