"""How the page's bytes are served: compression and HTTP cache headers (issue 7, goal P3).

A cold page load is dominated by shipping and parsing JavaScript (measured in
``benchmarks/page_load.py``, ``docs/performance.md``). Three levers, all local (no CDN):

1. **A partial plotly.js bundle.** ``assets/vendor/plotly-custom-<version>.min.js`` is plotly.js
   of the version that the installed plotly.py ships (MIT, licence next to it), built from npm by
   ``tools/build_plotly_bundle.sh`` with only the trace types in :data:`BUNDLE_TRACE_TYPES`:
   1.29 MB instead of 4.8 MB. Dash loads every ``assets/*.js`` before rendering, and
   ``dcc.Graph`` uses ``window.Plotly`` when it is defined, so the full bundle is never fetched.
   (The npm ``plotly.js-geo-dist-min`` bundle used before lacks ``bar``, which the capacity and
   support charts need; no published partial bundle has exactly geo + bar.) Every trace type the
   figure builders use must be in :data:`BUNDLE_TRACE_TYPES` (a test greps ``dashboard/`` for
   ``go.<Trace>(``); a figure with another type needs the bundle rebuilt with it (see the
   script), or the full bundle back (delete the vendor file). Node is needed only to rebuild.
2. **Compression** (flask-compress: zstd / brotli / gzip, whichever the browser accepts) of
   HTML, JS, CSS and JSON, including callback responses. Fingerprinted static files are
   compressed once per process and kept (:class:`StaticCompressionCache`); dynamic responses
   (callbacks, API) are compressed per response and never cached.
3. **Long cache lifetimes for fingerprinted assets.** Dash links assets as ``/assets/x.js?m=<mtime>``
   (the URL changes when the file does) but serves them with ``no-cache``; with ``m`` present we
   send ``max-age`` of a year and ``immutable``, as Dash already does for its component suites.
"""

from __future__ import annotations

import threading
from typing import Any

from dash import Dash
from flask import Flask, Request, Response, request
from flask_compress import Compress

#: Trace types in the vendored plotly.js bundle (``tools/plotly-bundle/index.js``; ``scatter``
#: comes with plotly.js's core).
BUNDLE_TRACE_TYPES = frozenset({"scatter", "scattergeo", "choropleth", "bar"})
#: What is compressed (flask-compress also needs a minimum size: 500 bytes).
COMPRESS_MIMETYPES = ["text/html", "text/css", "text/javascript", "application/javascript",
                      "application/json", "image/svg+xml"]
#: Cache-Control of fingerprinted static files (a year; the URL changes with the content).
IMMUTABLE = "public, max-age=31536000, immutable"
_STATIC_PREFIXES = ("/_dash-component-suites/", "/assets/")
_NO_CACHE = "nocache:"


def _is_fingerprinted_static(req: Request) -> bool:
    """A GET of a static file whose URL changes when its content does."""
    if req.method != "GET" or not req.path.startswith(_STATIC_PREFIXES):
        return False
    return req.path.startswith("/_dash-component-suites/") or "m" in req.args


def compression_cache_key(req: Request) -> str:
    """flask-compress cache key: the URL of a fingerprinted static file; anything else is marked
    not to be cached (callback responses differ for one URL)."""
    if _is_fingerprinted_static(req):
        return req.full_path
    return _NO_CACHE + req.path


class StaticCompressionCache:
    """flask-compress cache backend that keeps compressed fingerprinted static files (a few MB
    per worker, bounded by the files that exist) and ignores everything else."""

    def __init__(self) -> None:
        self._data: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        return self._data.get(key)

    def set(self, key: str, value: bytes) -> None:
        if _NO_CACHE in key:
            return
        with self._lock:
            self._data[key] = value


def _prepare_static(response: Response) -> Response:
    """Long cache lifetime for fingerprinted assets; fingerprinted static files read into memory
    so that flask-compress takes its cached, non-streaming path (for a streamed file it would
    recompress on every request, and never with gzip)."""
    if response.status_code == 200 and _is_fingerprinted_static(request):
        if request.path.startswith("/assets/"):
            response.headers["Cache-Control"] = IMMUTABLE
        if response.is_streamed:
            response.direct_passthrough = False
            response.set_data(response.get_data())
    return response


def init_serving(app: Dash) -> None:
    """Install compression and cache headers on ``app.server`` (call once per app)."""
    server: Flask = app.server
    server.config.setdefault("COMPRESS_MIMETYPES", COMPRESS_MIMETYPES)
    server.config.setdefault("COMPRESS_CACHE_BACKEND", StaticCompressionCache)
    server.config.setdefault("COMPRESS_CACHE_KEY", compression_cache_key)
    # Levels: fast enough to compress a 0.7 MB callback response in a few ms.
    server.config.setdefault("COMPRESS_BR_LEVEL", 4)
    server.config.setdefault("COMPRESS_LEVEL", 6)
    server.config.setdefault("COMPRESS_ZSTD_LEVEL", 3)
    Compress(server)
    # Flask runs after_request hooks in reverse order of registration: this one runs before
    # flask-compress's.
    server.after_request(_prepare_static)


def bundle_info() -> dict[str, Any]:
    """Which plotly.js the page uses (for /healthz-style diagnostics and tests)."""
    from dashboard.settings import ASSETS_DIR

    files = sorted((ASSETS_DIR / "vendor").glob("plotly-custom-*.min.js"))
    return {"bundle": files[0].name if files else None, "trace_types": sorted(BUNDLE_TRACE_TYPES)}
