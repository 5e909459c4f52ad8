"""A direct WSGI route for the API's hottest request (issue 16):
``GET /api/v1/nearest?lat=..&lon=..`` and nothing else.

Why: through Flask's request machinery on the Dash app's server (request and app contexts, URL
matching, four ``before_request`` hooks, three ``after_request`` hooks, werkzeug's ``Response``
and ``Headers``) the request cost ~0.47 ms of CPU in-process, of which the answer itself is
~0.1 ms; here it costs ~0.087 ms (0.115 before the encoded answer was cached and the one-point
model trimmed), against ~0.078 ms for a bare Flask endpoint with one numpy haversine
(``benchmarks/api_load.py``, ``docs/performance.md`` "P4", issue 16).

What it serves: exactly the requests whose answer is the plain one -- method ``GET``, path
``/api/v1/nearest``, a query string that is ``lat=<number>&lon=<number>`` (either order; plain
decimal text, no ``%``-escapes or ``+``) with both values valid, no request body, and no
``Accept-Encoding`` that would compress the answer. Everything else -- other parameters, any
invalid value, ``HEAD``, compression, a body -- goes to the Flask app unchanged, so every error
message, every 4xx, the 405/404 routing under ``/api/`` and compression stay where they are
(``dashboard.api``, ``dashboard.errors``, ``dashboard.serving``).

The answer is the one the Flask view gives, byte for byte: the same validation
(``api._coord_text``'s number syntax, finiteness and ranges), the same rounding of the client's
position (``domain.clients.round_coord``), the same service computation
(``services.routing.nearest_json_via``: ``nearest_answer``'s ``_nearest``), the same JSON bytes
(``errors.json_response``'s compact strict encoding; written by orjson when it is installed:
:func:`encode_answer`) and the same headers in the same order
(``X-Cache``, ``Content-Type``, ``Content-Length``, ``Vary`` as flask-compress sets it, the
security headers of :class:`dashboard.headers.SecurityHeaders`, ``Cache-Control: no-store``).
``tests/api/test_fastpath.py`` compares both routes on random points. The cache: the route
keeps the *encoded* answer under its own cheap key (``nearest_json_via``), so a hit is served
without unpickling or encoding and a miss costs no pickled dict nor SHA-256 key (~15 us less per
request); ``X-Cache`` HIT/MISS/BYPASS and the ``/healthz`` counters work as for every cached
call, but these entries are not the Flask view's: a point asked plainly and in another form
(``k=``, ``origin=``, compressed) is computed for each (MISSes in each; issue 16,
``docs/api.md``). As in the Flask view, only points asked again are cached: a point's first
request in a worker is computed without a lookup or a store (``memo.Doorkeeper``). Admission
control:
``admission.is_heavy`` says this request is light (it never waits for a slot); if that ever
changes the route switches itself off. Body size caps: a request with a body is not taken. An
unexpected exception is not answered here: the request is handed to Flask, whose last-resort
handler logs it and answers the JSON 500 (``dashboard.errors``).
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable, Iterable

import numpy as np
from dash import Dash

from dashboard import admission, headers, memo
from dashboard.catalog import Catalog
from dashboard.domain.clients import round_coord
from dashboard.services import routing

#: The path served here.
PATH = "/api/v1/nearest"
#: A value as ``api._coord_text`` accepts it (``api._NUMBER_RE``) less any ``+`` (which a
#: query string decodes as a space): plain decimal text, at most 40 characters.
_NUM = r"(-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE]-?[0-9]+)?)"
#: ``lat=<a>&lon=<b>`` and ``lon=<b>&lat=<a>``: the whole query string.
_LAT_LON = re.compile(f"lat={_NUM}&lon={_NUM}")
_LON_LAT = re.compile(f"lon={_NUM}&lat={_NUM}")
#: ``errors.json_response``'s encoding: ``json.dumps(obj, separators=(",", ":"),
#: allow_nan=False)`` builds this very encoder on every call.
_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False)
try:  # optional: ~4 us instead of ~42 us for an answer of 19 ranked rows (issue 16)
    import orjson as _orjson
except ImportError:  # pragma: no cover - the standard encoder gives the same bytes
    _orjson = None
_X_CACHE = {memo.HIT: "HIT", memo.MISS: "MISS", memo.BYPASS: "BYPASS"}

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def plain_point(query: str) -> tuple[float, float] | None:
    """``(lat, lon)`` rounded like every client when ``query`` is a plain valid
    ``lat=..&lon=..`` that ``/api/v1/nearest`` answers; None for anything else (the Flask view
    then answers it, or names what is wrong)."""
    if len(query) > 92:  # "lat=" + 40 + "&lon=" + 40 characters at most
        return None
    m = _LAT_LON.fullmatch(query)
    if m is not None:
        lat_text, lon_text = m.groups()
    else:
        m = _LON_LAT.fullmatch(query)
        if m is None:
            return None
        lon_text, lat_text = m.groups()
    if len(lat_text) > 40 or len(lon_text) > 40:
        return None
    lat, lon = float(lat_text), float(lon_text)
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):  # also False for inf
        return None
    return round_coord(lat), round_coord(lon)


class NearestFastPath:
    """WSGI middleware in front of the Flask app: serves the plain ``/api/v1/nearest`` request
    (module docstring) itself and hands every other request to ``wsgi_app``."""

    def __init__(self, wsgi_app: WSGIApp, app: Dash) -> None:
        self.wsgi_app = wsgi_app
        server = app.server
        self._extensions = server.extensions
        self._headers: headers.SecurityHeaders = server.extensions[headers.EXT]
        # Light by admission's own rule; if it ever is not, Flask's gate must see it.
        self.enabled = not admission.is_heavy("GET", PATH, None)
        self._orjson_ok = plain_numbers(server.extensions["anycast_api"].catalog)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        if (not self.enabled or environ.get("PATH_INFO") != PATH
                or environ.get("REQUEST_METHOD") != "GET"
                or environ.get("CONTENT_LENGTH", "0") not in ("", "0")
                or environ.get("HTTP_TRANSFER_ENCODING")
                or environ.get("HTTP_ACCEPT_ENCODING", "identity") not in ("", "identity")):
            return self.wsgi_app(environ, start_response)
        point = plain_point(environ.get("QUERY_STRING", ""))
        if point is None:
            return self.wsgi_app(environ, start_response)
        try:
            body, x_cache = self._answer(*point)
            fixed = self._headers.values(json=True)
        except Exception:  # Flask's last-resort handler logs it and answers the JSON 500
            return self.wsgi_app(environ, start_response)
        start_response("200 OK", [("X-Cache", x_cache), ("Content-Type", "application/json"),
                                  ("Content-Length", str(len(body))),
                                  ("Vary", "Accept-Encoding"), *fixed,
                                  ("Cache-Control", "no-store")])
        return [body]

    def _answer(self, lat: float, lon: float) -> tuple[bytes, str]:
        """The JSON body and ``X-Cache`` value of the plain answer for (lat, lon)."""
        ext = self._extensions
        st = ext["anycast_api"]
        body, status = routing.nearest_json_via(memo.bound_cache(ext), st.catalog, lat, lon,
                                                st.settings.default_origin, self._encode)
        return body, _X_CACHE[status]

    def _encode(self, answer: dict[str, Any]) -> bytes:
        """The body of ``answer`` (:func:`encode_answer`; cached as it is by the service)."""
        return encode_answer(answer, self._orjson_ok)


def plain_numbers(catalog: Catalog) -> bool:
    """Whether orjson writes every plain answer of ``catalog`` as the standard encoder does.

    orjson's text is the standard encoder's -- compact, keys in order, ``float.__repr__``'s
    shortest round-trip digits -- but for: non-ASCII text (the standard encoder escapes it;
    checked per answer, :func:`encode_answer`), integers beyond 64 bits (orjson raises; none in
    an answer), NaN and infinities (orjson writes ``null``, the standard encoder refuses them;
    an answer holds ``None`` instead: ``services.routing``), and non-zero numbers below 1e-4,
    which orjson writes ``0.00005`` or ``1e-6`` where ``float.__repr__`` writes ``5e-05`` or
    ``1e-06``. A plain answer's numbers are rounded by the service (legs to 0.1, the client's
    position to 1e-4) or are the catalog's coordinates, so that last case can only come from
    a catalog coordinate: checked here, once (a catalog with one is answered by the standard
    encoder)."""
    coords = np.concatenate([catalog.pop_lats, catalog.pop_lons,
                             catalog.origins["lat"].to_numpy(dtype=float),
                             catalog.origins["lon"].to_numpy(dtype=float)])
    size = np.abs(coords)
    return bool(((size == 0) | ((size >= 1e-4) & (size < 1e16))).all())


def encode_answer(answer: dict[str, Any], use_orjson: bool = True) -> bytes:
    """``errors.json_response``'s body for a plain nearest answer (``json.dumps(answer,
    separators=(",", ":"), allow_nan=False)``), byte for byte: by orjson (~4 us instead of
    ~42 us for 19 ranked rows) when it is installed and ``use_orjson`` (:func:`plain_numbers`
    of the catalog) and the text is ASCII; by the standard encoder otherwise."""
    if use_orjson and _orjson is not None:
        try:
            body = _orjson.dumps(answer)
        except TypeError:  # pragma: no cover - e.g. an integer beyond 64 bits
            body = b""
        if body and body.isascii():
            return body
    return _ENCODER.encode(answer).encode()


def install(app: Dash) -> NearestFastPath:
    """Put :class:`NearestFastPath` in front of ``app.server``'s WSGI app (call once per app,
    after :func:`dashboard.headers.init_headers` and :func:`dashboard.api.init_api`)."""
    server = app.server
    route = NearestFastPath(server.wsgi_app, app)
    server.wsgi_app = route  # type: ignore[method-assign]
    return route
