"""Memoization of the pure service computations in the current app's cache backend.

This module imports no web framework (``dashboard.services`` uses it, and the CLI, notebooks and
batch jobs import the services without Flask): it looks for a Flask app only if Flask is already
loaded, and otherwise just computes. The backends themselves (in-process ``SimpleCache`` or a
Redis shared by every worker and host) are set up by :mod:`dashboard.cache`.

Why not flask-caching's ``Cache.memoize``:

* it keys on ``repr()`` of the arguments (pitfall 8: a ``Catalog`` or a DataFrame gives a new key
  per object, or a huge one); :func:`memoize` accepts only primitive, hashable arguments
  (``str``/``int``/``float``/``bool``/``None`` and tuples/frozensets of them) and raises
  ``TypeError`` otherwise, so a bad key is a bug caught by tests, not a silent 0 % hit rate;
* it needs an application context (the CLI has none) and makes two extra round trips per call for
  its per-function version keys; here a hit is one ``get``, a miss one ``get`` plus one ``set``;
* with the backend down it logs a stack trace on every call; here the Redis backend logs one
  warning per outage (see ``dashboard.cache.ResilientRedisCache``) and the value is computed.

Keys carry :data:`CODE_VERSION`, a hash of the domain, catalog and service source, so hosts running
different versions behind one Redis never exchange answers computed by a different model.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, TypeVar

import numpy as np

from dashboard.settings import latency_params_path

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

#: ``app.extensions`` slots written by ``dashboard.cache.init_cache``.
BACKEND_EXT = "anycast_cache"
STATS_EXT = "anycast_cache_stats"


def _code_version() -> str:
    """Hash of the code and model parameters that produce cached values (domain, catalog,
    services, and the latency parameter file in effect: ``ANYCAST_LATENCY_PARAMS`` or the shipped
    one), so hosts running a different model never exchange answers."""
    pkg = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    params_file = latency_params_path()
    files = (sorted((pkg / "domain").glob("*.py")) + sorted((pkg / "services").glob("*.py"))
             + [pkg / "catalog.py", pkg / "latency.py", params_file])
    for path in files:
        if path.is_file():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


CODE_VERSION = _code_version()
#: Prefix of every key we write (flask-caching's ``CACHE_KEY_PREFIX``).
KEY_PREFIX = f"anycast:{CODE_VERSION}:"


class Doorkeeper:
    """Which cache keys were asked for before, recently: the "one-hit wonder" filter in front of
    a cache (the doorkeeper of TinyLFU, Einziger & Friedman 2017), per process.

    Why (issue 16): ``/api/v1/nearest`` is asked at points that are mostly never asked again
    (clients' own coordinates to 4 decimals, ~11 m). Storing each answer (~3.7 KB) on its first
    request made every such request pay for a ``set`` that nothing read back, and churned the
    cache: under 50 connections at random points the server's throughput was 0.834x the bare
    Flask baseline's storing every answer, 0.905x storing none, 0.862x with this filter (one
    run of ``benchmarks/api_variants.py``; ``docs/performance.md`` "P4"); stored one-off
    answers also evict the ones asked again, and with Redis each costs a round trip. A key is
    now looked up and stored only from its second request; a point asked again is then served
    from the cache.

    How: one byte per slot of a ``slots``-byte table, at ``hash(key) % slots``. A key whose slot
    is clear is marked and reported new; a marked slot reports "seen". After ``reset_after`` new
    marks the table is cleared (the "recently": the window is the last ~``reset_after`` distinct
    keys), which also bounds false positives (a new key reported "seen" because another key
    shares its slot: then it is simply looked up and stored, as before) below
    ``reset_after / slots`` (3.1 % with the defaults, ~1.6 % on average). Memory: ``slots``
    bytes (256 KiB). Threads: races between two requests can only mark a slot twice or count
    one mark too many (a reset a little early); neither gives a wrong answer, only a lookup
    more or less.
    """

    def __init__(self, slots: int = 1 << 18, reset_after: int = 1 << 13) -> None:
        if slots < 1 or not 1 <= reset_after <= slots:
            raise ValueError(f"need slots >= 1 and 1 <= reset_after <= slots; got {slots}, "
                             f"{reset_after}")
        self.slots = slots
        self.reset_after = reset_after
        self._table = bytearray(slots)
        self._marked = 0
        #: Times the table was cleared (for tests and ``/healthz``-style reporting).
        self.resets = 0

    def seen_before(self, key: str) -> bool:
        """Whether ``key`` (or a key sharing its slot) was asked since the last reset; marks it
        either way."""
        i = hash(key) % self.slots
        table = self._table
        if table[i]:
            return True
        table[i] = 1
        self._marked += 1
        if self._marked >= self.reset_after:
            self._table = bytearray(self.slots)
            self._marked = 0
            self.resets += 1
        return False


@dataclass
class CacheStats:
    """Counters of one app's memoizer (one per gunicorn worker); reported by ``/healthz``. Also
    the app's :class:`Doorkeeper` (``lookup_key(..., admit_repeats_only=True)``), per app like
    the counters so that apps built in one process (tests) do not share it."""

    hits: int = 0
    misses: int = 0
    errors: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    doorkeeper: Doorkeeper = field(default_factory=Doorkeeper, repr=False, compare=False)

    def count(self, what: str) -> None:
        with self.lock:
            setattr(self, what, getattr(self, what) + 1)

    def as_dict(self) -> dict[str, int]:
        return {"hits": self.hits, "misses": self.misses, "errors": self.errors}


_SCALARS = (str, int, float, bool, type(None))


def _canonical(value: Any) -> Any:
    """A deterministic, primitive form of ``value``; ``TypeError`` for anything else."""
    if isinstance(value, _SCALARS):
        if isinstance(value, float) and math.isnan(value):
            return "nan"
        return value
    if isinstance(value, frozenset):
        return ("frozenset",) + tuple(sorted((_canonical(v) for v in value), key=repr))
    if isinstance(value, tuple):
        return tuple(_canonical(v) for v in value)
    raise TypeError(f"memoized arguments must be primitive and hashable (str, int, float, bool, "
                    f"None, tuples/frozensets of them); got {type(value).__name__}")


_PLAIN = (str, int, bool, type(None))


def _hash_arg(value: Any, digest: Any) -> None:
    if type(value) in _PLAIN or (type(value) is float and value == value):
        digest.update(repr(value).encode() + b"\x00")  # _canonical(value) is value itself
        return
    # Fast path for long tuples of coordinate pairs: hashing the float64 bytes is ~5x faster than
    # repr() for 25k clients (2.5 ms vs 14 ms here), and keeps the exact values.
    if isinstance(value, tuple) and len(value) > 64 and isinstance(value[0], tuple):
        try:
            arr = np.array(value)
        except (ValueError, TypeError):
            arr = None
        if arr is not None and arr.ndim == 2 and arr.dtype.kind in "fiu":
            digest.update(b"arr%d,%d:" % arr.shape)
            digest.update(np.ascontiguousarray(arr, dtype=np.float64).tobytes())
            return
    digest.update(repr(_canonical(value)).encode())
    digest.update(b"\x00")


def make_key(name: str, args: tuple[Any, ...]) -> str:
    """Cache key of ``name(*args)``: the name plus a SHA-256 of the canonical arguments."""
    digest = hashlib.sha256()
    for arg in args:
        _hash_arg(arg, digest)
    return f"{name}:{digest.hexdigest()[:32]}"


Bound = tuple[Any, CacheStats]


def bound_cache(extensions: dict[str, Any]) -> Bound | None:
    """(backend, stats) of an app from its ``extensions``, or ``None`` (no cache bound)."""
    backend, stats = extensions.get(BACKEND_EXT), extensions.get(STATS_EXT)
    if backend is None or stats is None:
        return None
    return backend, stats


def _current() -> Bound | None:
    """(backend, stats) of the Flask app in context, or ``None`` (no Flask, no app, no cache)."""
    flask = sys.modules.get("flask")
    if flask is None or not flask.has_app_context():
        return None
    return bound_cache(flask.current_app.extensions)


def _record(status: str) -> None:
    flask = sys.modules.get("flask")
    if flask is not None and flask.has_request_context():
        # One miss anywhere makes the request a miss.
        if getattr(flask.g, "anycast_cache", None) != "miss":
            flask.g.anycast_cache = status


#: What :func:`lookup` says about a call: served from the cache, computed and stored, or
#: computed with no cache bound.
HIT, MISS, BYPASS = "hit", "miss", "bypass"


def lookup(name: str, fn: Callable[..., Any], bound: Bound | None,
           args: tuple[Any, ...], admit_repeats_only: bool = False) -> tuple[Any, str]:
    """``fn(*args)`` through the cache ``bound`` (:func:`bound_cache`; None: just compute):
    ``(value, HIT | MISS | BYPASS)``. A hit is one ``get``, a miss one ``get`` plus one ``set``;
    backend errors are counted and never propagate (the value is computed).
    ``admit_repeats_only``: see :func:`lookup_key`."""
    if bound is None:
        return fn(*args), BYPASS
    return lookup_key(make_key(name, args), fn, bound, args, admit_repeats_only)


def lookup_key(key: str, fn: Callable[..., Any], bound: Bound,
               args: tuple[Any, ...], admit_repeats_only: bool = False) -> tuple[Any, str]:
    """:func:`lookup` under a key the caller built (``(value, HIT | MISS)``): for a caller that
    has a cheaper injective key than :func:`make_key`'s hash of canonical arguments (the API's
    direct route, ``services.routing.nearest_json_via``). Same counters, same error handling.

    ``admit_repeats_only``: a key the app's :class:`Doorkeeper` has not seen recently is
    neither looked up nor stored, only computed (a MISS); from its second request on it is
    looked up and, if absent, stored. For values that are cheap to compute and mostly asked
    once (one point's nearest answer), where storing each one costs more than it saves."""
    backend, stats = bound
    if admit_repeats_only and not stats.doorkeeper.seen_before(key):
        stats.count("misses")
        return fn(*args), MISS
    try:
        value = backend.get(key)
    except Exception as exc:  # any backend fault: compute instead
        stats.count("errors")
        log.debug("cache get failed: %s", exc)
        value = None
    if value is not None:
        stats.count("hits")
        return value, HIT
    stats.count("misses")
    value = fn(*args)
    try:
        backend.set(key, value)
    except Exception as exc:
        stats.count("errors")
        log.debug("cache set failed: %s", exc)
    return value, MISS


def memoize(fn: F | None = None, *, admit_repeats_only: bool = False) -> Any:
    """Memoize ``fn`` (positional, primitive arguments only) in the current app's cache; as
    ``@memoize`` or ``@memoize(admit_repeats_only=True)`` (only arguments asked again are
    cached: :func:`lookup_key`).

    Outside an app context, or with no cache bound, ``fn`` simply runs. Backend errors never
    propagate: the value is computed. ``fn`` must not return ``None`` (it means "not cached").
    Inside a request, ``flask.g.anycast_cache`` records "hit"/"miss" (the API's ``X-Cache``).
    ``wrapper.lookup(bound, *args)``: the same through an explicit cache (:func:`lookup`), for
    callers outside a Flask request (the API's direct route uses :func:`lookup_key` with its
    own key instead: ``services.routing.nearest_json_via``).
    """
    if fn is None:
        return functools.partial(memoize, admit_repeats_only=admit_repeats_only)
    name = f"{fn.__module__}.{fn.__qualname__}"

    @functools.wraps(fn)
    def wrapper(*args: Any) -> Any:
        value, status = lookup(name, fn, _current(), args, admit_repeats_only)
        if status != BYPASS:
            _record(status)
        return value

    wrapper.uncached = fn  # type: ignore[attr-defined]
    wrapper.cache_name = name  # type: ignore[attr-defined]
    wrapper.lookup = lambda bound, *args: lookup(  # type: ignore[attr-defined]
        name, fn, bound, args, admit_repeats_only)
    return wrapper
