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


class LRUSimpleCache(SimpleCache):
    """flask-caching's in-process ``SimpleCache`` with O(1) least-recently-used eviction.

    Why: once cachelib's ``SimpleCache`` holds ``threshold`` entries, *every* ``set`` scans all
    entries for expired ones and then sorts them all by expiry to drop one (~1-2 ms at 5,000
    entries). Under a stream of distinct keys (``/api/v1/nearest`` at random coordinates) that
    made each cache miss several times dearer than the computation it caches (measured in
    ``benchmarks/api_load.py``, ``docs/performance.md``). Here entries live in an ``OrderedDict``
    in recency order: a hit moves its key to the end, a ``set`` over the threshold pops the
    oldest one. Expiry is checked on read, as before. Selected with
    ``CACHE_TYPE = "dashboard.cache.LRUSimpleCache"``; same options as ``SimpleCache``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._cache: "OrderedDict[str, Any]" = OrderedDict()

    def _prune(self) -> None:  # called (under the lock) before every set/add
        while len(self._cache) >= self._threshold > 0:
            self._cache.popitem(last=False)

    def get(self, key: str) -> Any:
        with self._lock:
            item = self._cache.get(key)
            if item is None:
                return None
            expires, value = item
            if expires != 0 and expires <= time.time():
                del self._cache[key]
                return None
            self._cache.move_to_end(key)
            return self.serializer.loads(value)

    def set(self, key: str, value: Any, timeout: Any = None) -> bool:
        with self._lock:
            self._cache.pop(key, None)  # re-inserted at the end: most recent
            return bool(super().set(key, value, timeout))


class ResilientRedisCache(RedisCache):
    """flask-caching's ``RedisCache`` that never raises on a Redis fault.

    A failed call logs one warning per outage, returns the "not cached" answer (``None`` /
    ``False``) and opens a circuit for :data:`REDIS_RETRY_S` seconds during which Redis is not
    contacted; the first call after that tries again, and the first success logs the recovery.
    Selected with ``CACHE_TYPE = "dashboard.cache.ResilientRedisCache"``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
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

    def set(self, key: str, value: Any, timeout: int | None = None) -> Any:
        return self._guard("set", False, super().set, key, value, timeout)

    def add(self, key: str, value: Any, timeout: int | None = None) -> Any:
        return self._guard("add", False, super().add, key, value, timeout)

    def set_many(self, mapping: dict[str, Any], timeout: int | None = None) -> list[Any]:
        return self._guard("set_many", [], super().set_many, mapping, timeout)

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
