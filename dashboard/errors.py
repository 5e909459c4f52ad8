"""App-wide error answers on the Dash app's Flask server.

Under the JSON paths (``/api/*`` and ``/healthz``) an HTTP error is ``{"error": "<what is
wrong>"}`` with its status (a 405 names the allowed methods, a 413 the size limit); elsewhere
(the page, assets, Dash's own routes) werkzeug's answer stands. Any exception nothing else
handled becomes a logged JSON 500 rather than an HTML traceback, whatever the path.

Registered by :func:`init_errors` from :func:`dashboard.app.create_app`; the API's own client
errors (``dashboard.api.ApiError``) are answered by the API, in the same JSON shape.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from dash import Dash
from flask import Response, request
from werkzeug.exceptions import HTTPException

from dashboard.settings import Settings

log = logging.getLogger(__name__)

#: Paths answered in JSON (errors included): the API and the health check.
API_PREFIX = "/api/"
JSON_PATHS = ("/healthz",)


def is_json_path(path: str) -> bool:
    """Whether ``path`` is answered in JSON (errors too) rather than HTML."""
    return path.startswith(API_PREFIX) or path in JSON_PATHS


def json_response(obj: Any, status: int = 200, headers: dict[str, str] | None = None
                  ) -> Response:
    """``obj`` as compact strict JSON (NaN refused: callers send None)."""
    body = json.dumps(obj, separators=(",", ":"), allow_nan=False)
    return Response(body, status=status, mimetype="application/json", headers=headers)


def _http_error(max_upload_bytes: int) -> Any:
    def handle(exc: HTTPException) -> Any:
        if not is_json_path(request.path):
            return exc
        if exc.code == 405:
            allowed = exc.valid_methods if hasattr(exc, "valid_methods") else None
            message = f"method {request.method} is not allowed on {request.path[:80]}"
            if allowed:
                message += f"; allowed: {', '.join(sorted(allowed))}"
        elif exc.code == 413:
            message = f"request body larger than the limit of {max_upload_bytes} bytes"
        else:
            message = exc.description or exc.name
        headers = {k: v for k, v in exc.get_headers() if k.lower() == "allow"}
        return json_response({"error": message}, status=exc.code or 500, headers=headers)

    return handle


def _internal_error(exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.path[:200])
    return json_response({"error": "internal server error (logged)"}, status=500)


def init_errors(app: Dash, settings: Settings) -> None:
    """Register the HTTP-error and last-resort handlers on ``app.server`` (once per app).
    ``settings.max_upload_bytes`` is the limit a 413 names."""
    server = app.server
    server.register_error_handler(HTTPException, _http_error(settings.max_upload_bytes))
    server.register_error_handler(Exception, _internal_error)
