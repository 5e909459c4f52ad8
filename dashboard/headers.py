"""Security headers on every response of the Dash app's Flask server (page, assets, callbacks,
API, errors): a Content-Security-Policy Dash works with, no MIME sniffing, no framing by other
sites, same-origin referrers and opener; JSON answers (``/api/*``, ``/healthz``) are not stored
by caches unless the view said otherwise, and their CSP is :data:`JSON_CSP` (they load nothing).

Registered by :func:`init_headers` from :func:`dashboard.app.create_app`; a header a view or a
later hook already set is left alone.
"""

from __future__ import annotations

from typing import Callable

from dash import Dash
from flask import Response, request

from dashboard.errors import is_json_path


def content_security_policy(app: Dash) -> str:
    """A CSP that Dash works with: scripts only from this server plus the hashes of Dash's own
    inline scripts (the renderer bootstrap and any clientside callbacks); inline *styles* are
    allowed because Dash components and plotly.js set style attributes."""
    hashes = " ".join(app.csp_hashes())
    return ("default-src 'self'; "
            f"script-src 'self' {hashes}; "
            "style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data: blob:; "
            "font-src 'self' data:; "
            "connect-src 'self'; "
            "worker-src 'self' blob:; "
            "object-src 'none'; "
            "base-uri 'self'; "
            "form-action 'self'; "
            "frame-ancestors 'self'")


#: The CSP of a JSON answer (``/api/*``, ``/healthz``): a document that loads nothing and may
#: only be framed by this site, as OWASP's REST Security Cheat Sheet ("Security Headers")
#: advises for APIs (https://cheatsheetseries.owasp.org/cheatsheets/REST_Security_Cheat_Sheet.html).
#: Stricter than the page's policy for such answers (``default-src 'none'`` covers scripts,
#: objects, styles, connections), and 50 bytes where the page's is ~680: 630 bytes less per API
#: answer, and gunicorn, which checks every response header value with a regular expression,
#: spends ~27 % less on the API answer's headers (``process_headers`` of its 10 headers: 9.6 ->
#: 7.0 us, best of 5 x 5,000 on a loaded machine; docs/performance.md "P4").
JSON_CSP = "default-src 'none'; frame-ancestors 'self'"


class SecurityHeaders:
    """The security headers of one app. The CSP is computed at first use (the first response),
    after every callback (and its inline scripts) is registered; :meth:`values` is what both the
    ``after_request`` hook and the API's direct route (:mod:`dashboard.fastpath`) send."""

    def __init__(self, app: Dash) -> None:
        self._app = app
        self._values: tuple[tuple[str, str], ...] | None = None

    #: The headers besides the CSP, on every response.
    COMMON = (("X-Content-Type-Options", "nosniff"),
              ("X-Frame-Options", "SAMEORIGIN"),
              ("Referrer-Policy", "same-origin"),
              ("Cross-Origin-Opener-Policy", "same-origin"))
    #: What a JSON answer gets (:data:`JSON_CSP`).
    JSON = (("Content-Security-Policy", JSON_CSP), *COMMON)

    def values(self, json: bool = False) -> tuple[tuple[str, str], ...]:
        """``(name, value)`` of every header each response gets -- a JSON answer's when
        ``json`` (a benign race at the first responses: two threads may both compute the same
        tuple)."""
        if json:
            return self.JSON
        if self._values is None:
            self._values = (("Content-Security-Policy", content_security_policy(self._app)),
                            *self.COMMON)
        return self._values

    def add_headers(self, response: Response) -> Response:
        """The ``after_request`` hook: each header the response lacks; ``Cache-Control:
        no-store`` on a JSON answer (``/api/*``, ``/healthz``) that did not set one."""
        h = response.headers
        present = {k.lower() for k in h.keys()}
        json = is_json_path(request.path)
        for name, value in self.values(json):
            if name.lower() not in present:
                h[name] = value
        if "cache-control" not in present and json:
            h["Cache-Control"] = "no-store"
        return response


def security_headers(app: Dash) -> Callable[[Response], Response]:
    """The ``after_request`` hook that adds the headers (:meth:`SecurityHeaders.add_headers`)."""
    return SecurityHeaders(app).add_headers


#: ``app.server.extensions`` slot of the app's :class:`SecurityHeaders`.
EXT = "anycast_headers"


def init_headers(app: Dash) -> SecurityHeaders:
    """Add the security headers to every response of ``app.server`` (once per app)."""
    headers = SecurityHeaders(app)
    app.server.extensions[EXT] = headers
    app.server.after_request(headers.add_headers)
    return headers
