"""A direct WSGI route for the API's hottest request (issue 16):
``GET /api/v1/nearest?lat=..&lon=..`` and nothing else.

Why: one ``/api/v1/nearest`` answer costs ~0.1 ms of computation, but Flask's request machinery
on the Dash app's server (request and app contexts, URL matching, four ``before_request`` hooks,
three ``after_request`` hooks, werkzeug's ``Response`` and ``Headers``) cost ~0.15 ms more on
top of it, so the endpoint served ~0.4x the requests/s of a bare Flask endpoint under the same
gunicorn configuration (``benchmarks/api_load.py``, ``docs/performance.md`` "P4").

What it serves: exactly the requests whose answer is the plain one -- method ``GET``, path
``/api/v1/nearest``, a query string that is ``lat=<number>&lon=<number>`` (either order; plain
decimal text, no ``%``-escapes or ``+``) with both values valid, no request body, and no
``Accept-Encoding`` that would compress the answer. Everything else -- other parameters, any
invalid value, ``HEAD``, compression, a body -- goes to the Flask app unchanged, so every error
message, every 4xx, the 405/404 routing under ``/api/`` and compression stay where they are
(``dashboard.api``, ``dashboard.errors``, ``dashboard.serving``).

The answer is the one the Flask view gives, byte for byte: the same validation
(``api._coord_text``'s number syntax, finiteness and ranges), the same rounding of the client's
position (``domain.clients.round_coord``), the same service call and cache entry
(``services.routing.nearest_answer_via``: the memo key of ``nearest_answer``, with ``X-Cache``
HIT/MISS/BYPASS and the cache counters of ``/healthz``), the same JSON
(``errors.json_response``'s compact strict encoding) and the same headers in the same order
(``X-Cache``, ``Content-Type``, ``Content-Length``, ``Vary`` as flask-compress sets it, the
security headers of :class:`dashboard.headers.SecurityHeaders`, ``Cache-Control: no-store``).
``tests/api/test_fastpath.py`` compares both routes on random points. Admission control:
``admission.is_heavy`` says this request is light (it never waits for a slot); if that ever
changes the route switches itself off. Body size caps: a request with a body is not taken. An
unexpected exception is not answered here: the request is handed to Flask, whose last-resort
handler logs it and answers the JSON 500 (``dashboard.errors``).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Callable, Iterable

from dash import Dash

from dashboard import admission, headers, memo
from dashboard.domain.clients import round_coord
from dashboard.services import routing

#: The path served here.
PATH = "/api/v1/nearest"
#: ``lat=<a>&lon=<b>`` or ``lon=<b>&lat=<a>``; each value at most 40 characters of the
#: characters a plain decimal number has (``api._coord_text`` then checks the syntax itself).
_QUERY = re.compile(r"(lat|lon)=([0-9.eE-]{1,40})&(lat|lon)=([0-9.eE-]{1,40})")
#: ``api._NUMBER_RE`` without the leading ``+`` (which a query string decodes as a space).
_NUMBER = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
#: ``errors.json_response``'s encoding: ``json.dumps(obj, separators=(",", ":"),
#: allow_nan=False)`` builds this very encoder on every call.
_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False)
_X_CACHE = {memo.HIT: "HIT", memo.MISS: "MISS", memo.BYPASS: "BYPASS"}

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def plain_point(query: str) -> tuple[float, float] | None:
    """``(lat, lon)`` rounded like every client when ``query`` is a plain valid
    ``lat=..&lon=..`` that ``/api/v1/nearest`` answers; None for anything else (the Flask view
    then answers it, or names what is wrong)."""
    m = _QUERY.fullmatch(query)
    if m is None or m.group(1) == m.group(3):
        return None
    values = {m.group(1): m.group(2), m.group(3): m.group(4)}
    out = []
    for name, limit in (("lat", 90.0), ("lon", 180.0)):
        text = values[name]
        if not _NUMBER.fullmatch(text):
            return None
        v = float(text)
        if not (math.isfinite(v) and -limit <= v <= limit):
            return None
        out.append(round_coord(v))
    return out[0], out[1]


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
            fixed = self._headers.values()
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
        answer, status = routing.nearest_answer_via(memo.bound_cache(ext), st.catalog, lat, lon,
                                                    st.settings.default_origin)
        return _ENCODER.encode(answer).encode(), _X_CACHE[status]


def install(app: Dash) -> NearestFastPath:
    """Put :class:`NearestFastPath` in front of ``app.server``'s WSGI app (call once per app,
    after :func:`dashboard.headers.init_headers` and :func:`dashboard.api.init_api`)."""
    server = app.server
    route = NearestFastPath(server.wsgi_app, app)
    server.wsgi_app = route  # type: ignore[method-assign]
    return route
