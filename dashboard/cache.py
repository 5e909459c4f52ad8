"""The cache backend of the Flask server: flask-caching, in-process or Redis.

Embedded default: ``SimpleCache`` (in-process; each gunicorn worker has its own). With
``REDIS_URL`` set: Redis, shared by every worker and every host, through
:class:`ResilientRedisCache`, which never lets a Redis fault fail a request. The memoizer that
uses the backend is :mod:`dashboard.memo` (kept free of web imports for the CLI).

Security note: cachelib pickles values, so whoever can write to the Redis can run code in the
workers; give the dashboard its own Redis (or database + password) on a private network.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from typing import Any, Callable

from flask import Flask
from flask_caching import Cache
from flask_caching.backends.rediscache import RedisCache
from flask_caching.backends.simplecache import SimpleCache

from dashboard.memo import BACKEND_EXT, KEY_PREFIX, STATS_EXT, CacheStats
from dashboard.settings import Settings

log = logging.getLogger(__name__)

#: Seconds to skip Redis after a failed call before trying again (circuit breaker): an outage
#: costs one fast failure per worker per interval instead of a timeout per request.
REDIS_RETRY_S = 2.0
#: Redis socket timeouts (s): a hung Redis must not hang requests.
REDIS_CONNECT_TIMEOUT_S = 0.25
REDIS_SOCKET_TIMEOUT_S = 0.5
#: Entries the in-process cache keeps per worker (flask-caching's default is 500).
SIMPLE_CACHE_THRESHOLD = 5000
#: Bytes of serialized values the in-process cache keeps per worker. The entry count alone let
#: a worker hold 5,000 route tables of 4.8 MB (50,000 clients): 24 GB (issue 13, finding 8).
#: 64 MiB holds 13 tables at the client cap, or the 5,000-entry threshold of /api/v1/nearest
#: answers (2.2 kB each: 11 MB) with room to spare.
SIMPLE_CACHE_MAX_BYTES = 64 * 1024 * 1024
#: No value larger than this is cached, in-process or in Redis. The largest value the app
#: caches is the route table, 96 bytes per client: 4.8 MB at the 50,000-client cap (measured,
#: docs/reliability.md "Memory and caches"); 8 MiB keeps that with headroom. Anything larger
#: (a raised ANYCAST_MAX_CLIENTS) is recomputed rather than allowed to crowd out everything else.
CACHE_MAX_ENTRY_BYTES = 8 * 1024 * 1024
#: In Redis, values larger than this (route tables of more than ~5,000 clients) are kept only
#: :data:`REDIS_BIG_ENTRY_TIMEOUT_S` seconds instead of ``ANYCAST_CACHE_TIMEOUT``.
REDIS_BIG_ENTRY_BYTES = 512 * 1024
#: Lifetime (s) of a big value in Redis. Why 60 s: a big table is reused when the panels of one
#: page (map, capacity, support) ask for the same scenario, often on different workers, within
#: seconds of each other; later edits change the key anyway. And a worker produces big values
#: at about 3 MB/s at most (a 4.8 MB table takes 1.6 s to compute here), so under a flood of
#: distinct big scenarios each worker can keep at most ~3 MB/s x 60 s = 180 MB of them in Redis,
#: instead of ~10 GB with the one-hour default. Give Redis a ``maxmemory`` with an LRU policy too
#: (docs/deploying.md): small values arrive at a similar byte rate.
REDIS_BIG_ENTRY_TIMEOUT_S = 60


class LRUSimpleCache(SimpleCache):
    """flask-caching's in-process ``SimpleCache`` with O(1) least-recently-used eviction, bounded
    by entries *and* by bytes.

    Why: once cachelib's ``SimpleCache`` holds ``threshold`` entries, *every* ``set`` scans all
    entries for expired ones and then sorts them all by expiry to drop one (~1-2 ms at 5,000
    entries). Under a stream of distinct keys (``/api/v1/nearest`` at random coordinates) that
    made each cache miss several times dearer than the computation it caches (measured in
    ``benchmarks/api_load.py``, ``docs/performance.md``). Here entries live in an ``OrderedDict``
    in recency order: a hit moves its key to the end, a ``set`` pops the oldest entries until
    there are at most ``threshold`` entries and ``max_bytes`` bytes of serialized (pickled)
    values. A value whose serialized form is larger than ``max_entry_bytes`` is not cached
    (``set`` returns False; counted in ``too_big``). Expiry is checked on read, as before.
    Selected with ``CACHE_TYPE = "dashboard.cache.LRUSimpleCache"``; same options as
    ``SimpleCache``, plus ``max_bytes`` and ``max_entry_bytes``.
    """

    def __init__(self, *args: Any, max_bytes: int | None = None,
                 max_entry_bytes: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._cache: "OrderedDict[str, Any]" = OrderedDict()
        self.max_bytes = SIMPLE_CACHE_MAX_BYTES if max_bytes is None else max_bytes
        self.max_entry_bytes = (CACHE_MAX_ENTRY_BYTES if max_entry_bytes is None
                                else max_entry_bytes)
        self._bytes = 0
        self.too_big = 0

    @property
    def size_bytes(self) -> int:
        """Bytes of serialized values held now."""
        return self._bytes

    def _drop(self, key: str) -> bool:  # under the lock
        item = self._cache.pop(key, None)
        if item is None:
            return False
        self._bytes -= len(item[1])
        return True

    def _store(self, key: str, expires: int, dump: bytes) -> bool:  # under the lock
        self._drop(key)  # re-inserted at the end: most recent
        if len(dump) > min(self.max_entry_bytes, self.max_bytes):
            self.too_big += 1
            return False
        self._cache[key] = (expires, dump)
        self._bytes += len(dump)
        while self._bytes > self.max_bytes or len(self._cache) > self._threshold > 0:
            _, (_, old) = self._cache.popitem(last=False)
            self._bytes -= len(old)
        return True

    def get(self, key: str) -> Any:
        with self._lock:
            item = self._cache.get(key)
            if item is None:
                return None
            expires, value = item
            if expires != 0 and expires <= time.time():
                self._drop(key)
                return None
            self._cache.move_to_end(key)
            return self.serializer.loads(value)

    def set(self, key: str, value: Any, timeout: Any = None) -> bool:
        dump = self.serializer.dumps(value)  # outside the lock: a big table takes a few ms
        with self._lock:
            return self._store(key, self._normalize_timeout(timeout), dump)

    def add(self, key: str, value: Any, timeout: Any = None) -> bool:
        dump = self.serializer.dumps(value)
        with self._lock:
            if self.has(key):
                return False
            return self._store(key, self._normalize_timeout(timeout), dump)

    def delete(self, key: str) -> bool:
        with self._lock:
            return self._drop(key)

    def clear(self) -> bool:
        with self._lock:
            self._cache.clear()
            self._bytes = 0
            return True


class ResilientRedisCache(RedisCache):
    """flask-caching's ``RedisCache`` that never raises on a Redis fault, and bounds what a value
    may cost: none larger than :data:`CACHE_MAX_ENTRY_BYTES` serialized is stored, and values
    larger than :data:`REDIS_BIG_ENTRY_BYTES` live at most :data:`REDIS_BIG_ENTRY_TIMEOUT_S`
    seconds (issue 13, finding 8).

    A failed call logs one warning per outage, returns the "not cached" answer (``None`` /
    ``False``) and opens a circuit for :data:`REDIS_RETRY_S` seconds during which Redis is not
    contacted; the first call after that tries again, and the first success logs the recovery.
    Selected with ``CACHE_TYPE = "dashboard.cache.ResilientRedisCache"``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Size limits (bytes) and the big-value lifetime (s); see the module constants.
        self.max_entry_bytes = CACHE_MAX_ENTRY_BYTES
        self.big_entry_bytes = REDIS_BIG_ENTRY_BYTES
        self.big_entry_timeout_s = REDIS_BIG_ENTRY_TIMEOUT_S
        self.too_big = 0
        self._skip_until = 0.0
        self._down = False
        self._state_lock = threading.Lock()

    @property
    def circuit_open(self) -> bool:
        """True while Redis is being skipped after a failure."""
        return time.monotonic() < self._skip_until

    def _failed(self, op: str, exc: BaseException) -> None:
        with self._state_lock:
            self._skip_until = time.monotonic() + REDIS_RETRY_S
            first, self._down = not self._down, True
        if first:
            log.warning("Redis cache unavailable (%s: %s: %s); computing without the shared "
                        "cache, retrying every %.0f s", op, type(exc).__name__, exc,
                        REDIS_RETRY_S)

    def _succeeded(self) -> None:
        if self._down:
            with self._state_lock:
                was_down, self._down = self._down, False
            if was_down:
                log.warning("Redis cache reachable again; shared caching resumed")

    def _guard(self, op: str, default: Any, fn: Callable[..., Any], *args: Any) -> Any:
        if self.circuit_open:
            return default
        try:
            result = fn(*args)
        except Exception as exc:  # redis-py raises RedisError subclasses (and OSError)
            self._failed(op, exc)
            return default
        self._succeeded()
        return result

    def get(self, key: str) -> Any:
        return self._guard("get", None, super().get, key)

    def get_many(self, *keys: str) -> list[Any]:
        return self._guard("get_many", [None] * len(keys), super().get_many, *keys)

    def _lifetime(self, size: int, timeout: int | None) -> int | None:
        """Redis ``ex`` (s, None: no expiry) of a value of ``size`` serialized bytes: the
        configured lifetime, at most :data:`REDIS_BIG_ENTRY_TIMEOUT_S` for a big value."""
        normalized = self._normalize_timeout(timeout)  # -1: never expires
        ex = None if normalized == -1 else normalized
        if size > self.big_entry_bytes:
            ex = self.big_entry_timeout_s if ex is None else min(ex, self.big_entry_timeout_s)
        return ex

    def _set_dump(self, key: str, dump: bytes, ex: int | None) -> Any:
        return self._write_client.set(name=f"{self._get_prefix()}{key}", value=dump, ex=ex)

    def _add_dump(self, key: str, dump: bytes, ex: int | None) -> Any:
        name = f"{self._get_prefix()}{key}"
        created = self._write_client.set(name=name, value=dump, ex=ex, nx=True)
        return bool(created)

    def _serialized(self, value: Any) -> bytes | None:
        """The bytes Redis would store, or ``None`` (counted in ``too_big``) when they are over
        the per-entry limit."""
        dump = self.serializer.dumps(value)
        if len(dump) > self.max_entry_bytes:
            self.too_big += 1
            return None
        return dump

    def _store(self, op: str, write: Any, key: str, value: Any, timeout: int | None) -> Any:
        dump = self._serialized(value)
        if dump is None:
            return False
        return self._guard(op, False, write, key, dump, self._lifetime(len(dump), timeout))

    def set(self, key: str, value: Any, timeout: int | None = None) -> Any:
        return self._store("set", self._set_dump, key, value, timeout)

    def add(self, key: str, value: Any, timeout: int | None = None) -> Any:
        return self._store("add", self._add_dump, key, value, timeout)

    def set_many(self, mapping: dict[str, Any], timeout: int | None = None) -> list[Any]:
        return [key for key, value in mapping.items() if self.set(key, value, timeout)]

    def delete(self, key: str) -> bool:
        return self._guard("delete", False, super().delete, key)

    def delete_many(self, *keys: str) -> list[Any]:
        return self._guard("delete_many", [], super().delete_many, *keys)

    def has(self, key: str) -> bool:
        return self._guard("has", False, super().has, key)

    def clear(self) -> bool:
        return self._guard("clear", False, super().clear)

    def ping(self) -> bool:
        """True when Redis answers now; ignores (and on success closes) the circuit."""
        try:
            ok = bool(self._read_client.ping())
        except Exception as exc:
            self._failed("ping", exc)
            return False
        with self._state_lock:
            self._skip_until = 0.0
        self._succeeded()
        return ok


#: The flask-caching extension object; :func:`init_cache` binds one backend per Flask app
#: (tests build many apps in one process, each with its own backend).
cache = Cache()


def cache_config(settings: Settings) -> dict[str, Any]:
    """flask-caching configuration for ``settings`` (Redis when ``redis_url`` is set)."""
    config: dict[str, Any] = {
        "CACHE_DEFAULT_TIMEOUT": settings.cache_timeout_s,
        "CACHE_KEY_PREFIX": KEY_PREFIX,
    }
    if settings.redis_url:
        config.update({
            "CACHE_TYPE": "dashboard.cache.ResilientRedisCache",
            "CACHE_REDIS_URL": settings.redis_url,
            "CACHE_OPTIONS": {
                "socket_connect_timeout": REDIS_CONNECT_TIMEOUT_S,
                "socket_timeout": REDIS_SOCKET_TIMEOUT_S,
            },
        })
    else:
        config.update({"CACHE_TYPE": "dashboard.cache.LRUSimpleCache",
                       "CACHE_THRESHOLD": SIMPLE_CACHE_THRESHOLD})
    return config


def init_cache(server: Flask, settings: Settings) -> None:
    """Bind the backend chosen by ``settings`` to ``server``. Never contacts Redis: a Redis
    that is down at start-up only means computing until it answers."""
    cache.init_app(server, config=cache_config(settings))
    server.extensions[BACKEND_EXT] = server.extensions["cache"][cache]
    server.extensions[STATS_EXT] = CacheStats()
    server.extensions["anycast_cache_kind"] = "redis" if settings.redis_url else "simple"


def health(server: Flask) -> dict[str, Any]:
    """``{"backend": "simple"|"redis"|"none", "reachable": bool, "hits", "misses", "errors"}``;
    pings Redis."""
    backend = server.extensions.get(BACKEND_EXT)
    if backend is None:
        return {"backend": "none", "reachable": False}
    if isinstance(backend, ResilientRedisCache):
        reachable = backend.ping()
    else:
        reachable = True
    stats = server.extensions.get(STATS_EXT)
    return {"backend": server.extensions.get("anycast_cache_kind", "simple"),
            "reachable": reachable, **(stats.as_dict() if stats else {})}
