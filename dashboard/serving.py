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
   (callbacks, API) are compressed per response and never cached. The cache is keyed on the
   *content* served (a digest of the uncompressed bytes), never on the URL: Dash serves one file
   under any fingerprint (``dash_core_components.v1_2_3m<anything>.js``) and ignores query
   strings, so a URL key let every ``plotly.min.js?x=N`` store another copy (issue 13, finding
   1: 674 requests took the workers from 190 to 552 MB). It is also bounded by bytes
   (:data:`STATIC_CACHE_MAX_BYTES`, least recently used out first).
3. **Long cache lifetimes for fingerprinted assets.** Dash links assets as ``/assets/x.js?m=<mtime>``
   (the URL changes when the file does) but serves them with ``no-cache``; with ``m`` present we
   send ``max-age`` of a year and ``immutable``, as Dash already does for its component suites.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from typing import Any

from dash import Dash
from flask import Flask, Request, Response, g, has_request_context, request
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
#: Bytes of compressed static files one worker keeps. Every JS/CSS/JSON file Dash can serve here
#: (the page's 13 files and every lazily loaded component chunk, plotly.min.js included), in all
#: four encodings flask-compress offers (zstd, br, gzip, deflate), is 160 entries and 21.5 MB
#: (the page's own files: 52 entries, 2.9 MB; measured in docs/reliability.md, "Memory and
#: caches"). 24 MiB keeps them all and is the most a worker ever holds, whatever is requested:
#: under the 30 MB growth goal of issue 13.
STATIC_CACHE_MAX_BYTES = 24 * 1024 * 1024
#: ``flask.g`` slot where :func:`_prepare_static` leaves the content key of the response.
_G_KEY = "anycast_static_key"


def _is_fingerprinted_static(req: Request) -> bool:
    """A GET (or HEAD) of a static file whose URL changes when its content does. HEAD counts:
    its body is dropped, but flask-compress compresses it all the same (~0.35 s of CPU for
    the 4.8 MB plotly.min.js when not cached)."""
    if req.method not in ("GET", "HEAD") or not req.path.startswith(_STATIC_PREFIXES):
        return False
    return req.path.startswith("/_dash-component-suites/") or "m" in req.args


def content_key(data: bytes) -> str:
    """What identifies a static response's content: a 128-bit BLAKE2b digest of its bytes
    (~1 ms per MB; a fraction of what compressing them costs)."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def compression_cache_key(req: Request) -> str:
    """flask-compress cache key: the content key :func:`_prepare_static` computed for a
    fingerprinted static file (the URL plays no part: any number of URLs name one file);
    anything else is marked not to be cached (callback responses differ for one URL)."""
    key = g.get(_G_KEY) if has_request_context() else None
    if key:
        return "static:" + key
    return _NO_CACHE + req.path


class StaticCompressionCache:
    """flask-compress cache backend for compressed fingerprinted static files: at most
    ``max_bytes`` of values per worker, least recently used out first; keys not made by
    :func:`compression_cache_key` for a static file are ignored.

    Keys are ``"<encoding>;static:<content digest>"``: one entry per file *content* and
    encoding, so the number of entries is bounded by the files that exist, and the byte bound
    holds even if that changes."""

    def __init__(self, max_bytes: int = STATIC_CACHE_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._data: "OrderedDict[str, bytes]" = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @property
    def size_bytes(self) -> int:
        """Bytes of values held now."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._data)

    def get(self, key: str) -> bytes | None:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def set(self, key: str, value: bytes) -> None:
        if _NO_CACHE in key or ";static:" not in key or len(value) > self.max_bytes:
            return
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self._bytes -= len(old)
            self._data[key] = value
            self._bytes += len(value)
            while self._bytes > self.max_bytes:
                _, dropped = self._data.popitem(last=False)
                self._bytes -= len(dropped)


def _prepare_static(response: Response) -> Response:
    """Long cache lifetime for fingerprinted assets; fingerprinted static files read into memory
    so that flask-compress takes its cached, non-streaming path (for a streamed file it would
    recompress on every request, and never with gzip), with their content key for its cache."""
    if response.status_code == 200 and _is_fingerprinted_static(request):
        if request.path.startswith("/assets/"):
            response.headers["Cache-Control"] = IMMUTABLE
        if response.is_streamed:
            response.direct_passthrough = False
            response.set_data(response.get_data())
        setattr(g, _G_KEY, content_key(response.get_data()))
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
    # Kept where tests and diagnostics can reach the compressed-file cache (``.cache``).
    server.extensions["anycast_compress"] = Compress(server)
    # Flask runs after_request hooks in reverse order of registration: this one runs before
    # flask-compress's.
    server.after_request(_prepare_static)


#: Lazily loaded component chunks (``React.lazy`` in dash-core-components and dash-table) that the
#: page's first render mounts: the map view's graphs, dropdowns, upload and the assignment table
#: (the capacity and support panels are not rendered until opened: ``LazyPanel``). Served as
#: ordinary ``<script>`` tags, so their lazy loaders resolve without a fetch: dash-renderer sends
#: the scene round trip as soon as they are ready, and ``assets/lazy_warm.js`` can resolve
#: ``dcc.Graph`` before the layout renders, so the map is mounted (and drawn from the layout) in
#: the first render instead of with the round trip's answer (issue 16). Alone, without
#: ``lazy_warm.js``, they made no measured difference (React still suspends on first render).
#: Dash's own ``eager_loading=True`` serves *every* lazy chunk, plotly.min.js (4.8 MB, replacing
#: the partial bundle) and MathJax (2.1 MB) included: measured at 1.73x the bare page's load
#: (docs/performance.md, P3). 0.71 MB of JavaScript, 0.17 MB gzip. Paths relative to the
#: ``dash`` package.
FIRST_RENDER_CHUNKS = ("dcc/async-graph.js", "dcc/async-dropdown.js", "dcc/async-upload.js",
                       "dash_table/async-table.js", "dash_table/async-highlight.js")


def preload_first_render_chunks(app: Dash) -> None:
    """Serve :data:`FIRST_RENDER_CHUNKS` as script tags of the page (fingerprinted, so cached
    for a year and compressed once like Dash's other component files). Webpack registers a
    chunk whose script ran before its bundle's runtime (Dash writes the app's scripts first)
    and then never fetches it; every other chunk stays lazy."""
    for path in FIRST_RENDER_CHUNKS:
        app.scripts.append_script({"relative_package_path": path, "namespace": "dash"})


#: Dash's ``@babel/polyfill`` 7.12.1 (core-js 2 + regenerator-runtime, 99 KB), the first script
#: of every Dash page. Every browser the page supports (React 18, plotly.js 2: evergreen ones)
#: has natively all the core-js 2 features it adds; what Dash's bundles do need is
#: ``window.regeneratorRuntime`` (babel's generator helper, called when a lazy component loads).
#: Evaluating the polyfill took 100-190 ms of main thread at the start of a cold load, before
#: the layout is fetched (issue 16; docs/performance.md): the page gets the regenerator runtime
#: alone instead (``assets/vendor/regenerator-runtime-0.13.min.js``, 7 KB, module 305 of that
#: same file, byte for byte, wrapped: ``tests/unit/test_serving_polyfill.py`` checks it against
#: the installed Dash).
POLYFILL_SCRIPT = re.compile(r'<script src="[^"]*/_dash-component-suites/dash/deps/polyfill@[^"]*"'
                             r'></script>\s*')
REGENERATOR_ASSET = "vendor/regenerator-runtime-0.13.min.js"


#: The header of :data:`REGENERATOR_ASSET` (what it is, where from, its licence).
REGENERATOR_HEADER = ("/* regenerator-runtime 0.13 (MIT licence, Copyright (c) 2014-present, "
                      "Facebook, Inc.): module 305 of Dash's\n"
                      " * dash/deps/polyfill@7.12.1.min.js (@babel/polyfill 7.12.1), byte for "
                      "byte, run as that bundle runs it:\n"
                      " * it defines window.regeneratorRuntime. Written by "
                      "dashboard.serving.regenerator_source; see drop_polyfill. */\n")


def regenerator_source(polyfill: str) -> str:
    """The text of :data:`REGENERATOR_ASSET` from the text of Dash's polyfill bundle: the one
    browserify module that assigns ``regeneratorRuntime`` (it requires no other module), called
    with a fresh ``module`` object as the bundle calls it. ValueError when the bundle has no
    such module (another Dash: regenerate, or drop nothing)."""
    end = polyfill.find("regeneratorRuntime=e}catch")
    starts = list(re.finditer(r"[,{](\d+):\[function\(t,n,r\)\{", polyfill[:max(end, 0)]))
    close = polyfill.find("},{}]", end)
    if end < 0 or not starts or close < 0:
        raise ValueError("no regenerator-runtime module in this polyfill bundle")
    body = polyfill[starts[-1].end():close]
    return (REGENERATOR_HEADER + "(function(){var m={exports:{}};(function(t,n,r){" + body
            + "})(null,m,m.exports);}());\n")


def drop_polyfill(app: Dash) -> None:
    """Leave Dash's ``@babel/polyfill`` out of the page's scripts (:data:`POLYFILL_SCRIPT`); the
    regenerator runtime it carries comes from :data:`REGENERATOR_ASSET` (an asset: Dash writes
    it before its own bundles). Nothing is dropped when that asset is missing."""
    from dashboard.settings import ASSETS_DIR

    if not (ASSETS_DIR / REGENERATOR_ASSET).is_file():
        return
    interpolate = app.interpolate_index

    def interpolate_index(**kwargs: Any) -> str:
        kwargs["scripts"] = POLYFILL_SCRIPT.sub("", kwargs.get("scripts", ""), count=1)
        return interpolate(**kwargs)

    app.interpolate_index = interpolate_index  # type: ignore[method-assign]


def bundle_info() -> dict[str, Any]:
    """Which plotly.js the page uses (for /healthz-style diagnostics and tests)."""
    from dashboard.settings import ASSETS_DIR

    files = sorted((ASSETS_DIR / "vendor").glob("plotly-custom-*.min.js"))
    return {"bundle": files[0].name if files else None, "trace_types": sorted(BUNDLE_TRACE_TYPES)}
