"""Security headers on every response of the Dash app's Flask server (page, assets, callbacks,
API, errors): a Content-Security-Policy Dash works with, no MIME sniffing, no framing by other
sites, same-origin referrers and opener; JSON answers (``/api/*``, ``/healthz``) are not stored
by caches unless the view said otherwise.

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


def security_headers(app: Dash) -> Callable[[Response], Response]:
    """The ``after_request`` hook that adds the headers. The CSP is computed at the first
    response, after every callback (and its inline scripts) is registered."""
    csp: list[str] = []

    def add_headers(response: Response) -> Response:
        if not csp:
            csp.append(content_security_policy(app))
        h = response.headers
        present = {k.lower() for k in h.keys()}
        for name, value in (("Content-Security-Policy", csp[0]),
                            ("X-Content-Type-Options", "nosniff"),
                            ("X-Frame-Options", "SAMEORIGIN"),
                            ("Referrer-Policy", "same-origin"),
                            ("Cross-Origin-Opener-Policy", "same-origin")):
            if name.lower() not in present:
                h[name] = value
        if "cache-control" not in present and is_json_path(request.path):
            h["Cache-Control"] = "no-store"
        return response

    return add_headers


def init_headers(app: Dash) -> None:
    """Add the security headers to every response of ``app.server`` (once per app)."""
    app.server.after_request(security_headers(app))
