"""The API server with one part of ``/api/v1/nearest``'s direct route changed, for
``benchmarks/api_variants.py``: what each part costs *under load*, which in-process timings do
not show (issue 16, docs/performance.md "P4").

``ANYCAST_BENCH_VARIANT`` (read once, at import in the gunicorn master) chooses:

* ``shipped`` -- the app as it is;
* ``store-all`` -- every answer looked up and stored from its first request (the cache before
  ``memo.Doorkeeper``);
* ``no-cache`` -- the direct route never looks up nor stores;
* ``small-body`` -- the answer computed as shipped but only its first 40 bytes sent (the cost of
  sending ~3.7 KB instead of a baseline-sized body);
* ``gil-geodesic`` -- the geodesic distances replaced by ~18 us of numpy work that keeps the GIL
  (wrong numbers, the same in-process cost as PROJ's Karney, which releases the GIL: the cost of
  that release when 8 threads share a worker);
* ``constant`` -- one precomputed answer for every point (everything but the answer);
* ``header-check`` -- gunicorn checks every response header of every answer again (its own
  ``Response``, not the worker's :class:`dashboard.gunicorn_worker.CheckedHeadersResponse`).

Never used by the app: the benchmark starts ``benchmarks.api_variant_app:server``.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from dashboard import fastpath, gunicorn_worker, memo
from dashboard.domain import geodesy
from dashboard.services import routing
from dashboard.wsgi import server

VARIANTS = ("shipped", "store-all", "no-cache", "small-body", "gil-geodesic", "constant",
            "header-check")
VARIANT = os.environ.get("ANYCAST_BENCH_VARIANT", "shipped")
if VARIANT not in VARIANTS:
    raise SystemExit(f"ANYCAST_BENCH_VARIANT must be one of {VARIANTS}, got {VARIANT!r}")

_answer = fastpath.NearestFastPath._answer

if VARIANT == "store-all":
    def _store_all(key: str, fn: Any, bound: Any, args: tuple, admit_repeats_only: bool = False
                   ) -> tuple[Any, str]:
        return memo.lookup_key(key, fn, bound, args)

    routing.lookup_key = _store_all  # type: ignore[assignment]
elif VARIANT == "no-cache":
    def _no_cache(self: fastpath.NearestFastPath, lat: float, lon: float) -> tuple[bytes, str]:
        st = self._extensions["anycast_api"]
        body, _ = routing.nearest_json_via(None, st.catalog, lat, lon,
                                           st.settings.default_origin, self._encode)
        return body, "BYPASS"

    fastpath.NearestFastPath._answer = _no_cache  # type: ignore[method-assign]
elif VARIANT == "small-body":
    def _small(self: fastpath.NearestFastPath, lat: float, lon: float) -> tuple[bytes, str]:
        body, x_cache = _answer(self, lat, lon)
        return body[:40], x_cache

    fastpath.NearestFastPath._answer = _small  # type: ignore[method-assign]
elif VARIANT == "gil-geodesic":
    def _busy_km(lat: float, lon: float, site_lats: np.ndarray, site_lons: np.ndarray,
                 out: np.ndarray | None = None) -> np.ndarray:
        x = np.radians(site_lats)
        for _ in range(12):
            x = np.sin(x) + np.cos(x) * 0.5
        km = np.abs(x) * 1000.0 + abs(lat) + abs(lon)
        if out is None:
            return km
        out[...] = km
        return out

    geodesy.geodesic_km_from = _busy_km  # type: ignore[assignment]
elif VARIANT == "constant":
    _one: dict[str, tuple[bytes, str]] = {}

    def _constant(self: fastpath.NearestFastPath, lat: float, lon: float) -> tuple[bytes, str]:
        if "answer" not in _one:
            _one["answer"] = _answer(self, 1.0, 2.0)
        return _one["answer"]

    fastpath.NearestFastPath._answer = _constant  # type: ignore[method-assign]
elif VARIANT == "header-check":
    # The workers fork from this master after this import: they keep gunicorn's Response.
    gunicorn_worker.use_checked_headers_response = lambda: None  # type: ignore[assignment]

__all__ = ["server", "VARIANT"]
