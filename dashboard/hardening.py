"""Request hygiene for Dash's own endpoints (the API validates its input in ``dashboard.api``).

Dash's callback endpoint ``POST /_dash-update-component`` trusts its body: a request that is not
shaped like the renderer's (not an object, no ``output``, an output no callback has, inputs that
are not a list of ``{"id", "property", "value"}``, ``outputs`` that are not the callback's own,
a pattern-matching id in ``changedPropIds`` that is not JSON) reaches ``dict`` look-ups and
consistency checks deep in Dash and ends as a 500. Anyone can send such a request, so
:func:`validate_callback_request` checks the shape against the app's registered callbacks first
and answers a JSON 400 naming what is wrong. That includes the app's *clientside* callbacks:
they are in ``app.callback_map`` like the others (the renderer needs their inputs and outputs) but
have no server function (no ``"callback"`` entry), so a request naming one reached Dash's
``cb["callback"]`` look-up and ended as a 500 with a logged traceback (issue 13, finding 10:
1,027 such requests in 5 s wrote 1.3 MB of log).
It checks *structure* only (which callback, which inputs and states, in which order); the
*values* are the callbacks' business, and each callback treats them as untrusted (wrong types
become a notice or no update, never an exception; the fuzz tests send type-confused values to
every callback).

Dash's ``/_dash-component-suites/`` route answers 404 for files that are not registered, but some
registered files are not installed (source maps that the dash wheel does not ship, e.g.
``dcc/async-mathjax.js.map``): :func:`init_hardening` answers those 404 too instead of letting
``pkgutil.get_data`` raise ``FileNotFoundError`` (a 500).

Production start-up (``dashboard.wsgi``) also goes through :func:`production_guard`: debug and dev
tools are never enabled under a WSGI server, whatever ``ANYCAST_DEBUG``, ``DASH_DEBUG`` or
``FLASK_DEBUG`` say (a warning says they were ignored).
"""

from __future__ import annotations

import functools
import importlib.resources
import json
import logging
from typing import Any, Mapping

from dash import ALL, ALLSMALLER, Dash, Output
from dash.exceptions import DependencyException
from dash.fingerprint import check_fingerprint
from flask import Response, request

# The debug variables (settings.DEBUG_ENV_VARS) are defined, and read, in dashboard.settings.
from dashboard.settings import debug_variables_set

log = logging.getLogger(__name__)


class BadCallbackRequest(ValueError):
    """A ``/_dash-update-component`` body not shaped like the Dash renderer's."""


def _ident(value: Any) -> str:
    """Dash's string form of a component id (pattern-matching ids are dicts)."""
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    return str(value)


def _check_items(what: str, items: Any, declared: list[dict[str, Any]]) -> None:
    if items is None:
        items = []
    if not isinstance(items, list):
        raise BadCallbackRequest(f"{what}: must be a list")
    if len(items) != len(declared):
        raise BadCallbackRequest(f"{what}: {len(items)} given, the callback has {len(declared)}")
    for i, (item, want) in enumerate(zip(items, declared)):
        pattern = str(want.get("id", "")).startswith("{")
        if pattern:
            # ALL/ALLSMALLER give a list of matches; MATCH a single item.
            entries = item if isinstance(item, list) else [item]
        else:
            entries = [item]
        for entry in entries:
            if not isinstance(entry, dict) or "id" not in entry or "property" not in entry:
                raise BadCallbackRequest(f"{what}[{i}]: must be an object with id and property")
            if not isinstance(entry["property"], str) or not isinstance(entry["id"], (str, dict)):
                raise BadCallbackRequest(f"{what}[{i}]: id and property have the wrong type")
            if not pattern and (_ident(entry["id"]) != str(want["id"])
                                or entry["property"] != want["property"]):
                raise BadCallbackRequest(
                    f"{what}[{i}]: {_ident(entry['id'])[:60]}.{entry['property'][:40]} is not "
                    f"this callback's {want['id']}.{want['property']}")


def _wildcard_all(dep: Any) -> bool:
    """Whether an output's pattern-matching id has an ALL or ALLSMALLER wildcard (the renderer
    then sends a list of the matched outputs; MATCH sends one)."""
    cid = getattr(dep, "component_id", None)
    return isinstance(cid, dict) and any(v in (ALL, ALLSMALLER) for v in cid.values())


def _check_outputs(outputs: Any, declared: Any) -> None:
    """``outputs`` must name the callback's declared outputs, in order, as Dash's renderer sends
    them (Dash compares them itself and raises -- a 500 -- when they differ)."""
    if outputs is None:
        raise BadCallbackRequest("outputs: missing")
    multi = isinstance(declared, (list, tuple))
    wanted = list(declared) if multi else [declared]
    if multi:
        if not isinstance(outputs, list) or len(outputs) != len(wanted):
            raise BadCallbackRequest(f"outputs: must be a list of {len(wanted)} outputs")
        specs = outputs
    else:
        specs = [outputs]
    for i, (spec, want) in enumerate(zip(specs, wanted)):
        if _wildcard_all(want):
            if not isinstance(spec, list):
                raise BadCallbackRequest(f"outputs[{i}]: must be a list (pattern-matching output)")
            entries = spec
        else:
            entries = [spec]
        for entry in entries:
            if (not isinstance(entry, dict) or not isinstance(entry.get("id"), (str, dict))
                    or not isinstance(entry.get("property"), str)):
                raise BadCallbackRequest(f"outputs[{i}]: each output must be an object with id "
                                         "and property")
            # Dash's own comparison (wildcards match any value); "@<hash>" marks allow_duplicate.
            if Output(entry["id"], entry["property"].split("@")[0]) != want:
                raise BadCallbackRequest(
                    f"outputs[{i}]: {_ident(entry['id'])[:60]}.{entry['property'][:40]} is not "
                    f"this callback's {want}")


def validate_callback_request(body: Any, callback_map: Mapping[str, Any]) -> None:
    """Raise :class:`BadCallbackRequest` unless ``body`` addresses a registered callback with its
    declared inputs and states, in order (values are not checked here)."""
    if not isinstance(body, dict):
        raise BadCallbackRequest("body must be a JSON object")
    output = body.get("output")
    if not isinstance(output, str):
        raise BadCallbackRequest("output: missing or not a string")
    cb = callback_map.get(output)
    if cb is None:
        raise BadCallbackRequest(f"output: no callback produces {output[:80]!r}")
    if "callback" not in cb:
        # Registered by app.clientside_callback: the browser runs it, the server has nothing to
        # call (Dash would raise KeyError: a 500 and a traceback per request).
        raise BadCallbackRequest(f"output: {output[:80]!r} is computed in the browser "
                                 "(a clientside callback); the server has no function for it")
    _check_items("inputs", body.get("inputs"), cb.get("inputs", []))
    _check_items("state", body.get("state"), cb.get("state", []))
    changed = body.get("changedPropIds", [])
    if not isinstance(changed, list) or not all(isinstance(c, str) for c in changed):
        raise BadCallbackRequest("changedPropIds: must be a list of strings")
    for prop_id in changed:
        # Dash parses a pattern-matching id ('{"type":...}.value') with json.loads.
        component = prop_id.rpartition(".")[0]
        if component.startswith("{"):
            try:
                parsed = json.loads(component)
            except (ValueError, RecursionError):
                parsed = None
            if not isinstance(parsed, dict):
                raise BadCallbackRequest(f"changedPropIds: {prop_id[:60]!r} is not an id and a "
                                         "property")
    if not cb.get("no_output"):
        _check_outputs(body.get("outputs"), cb.get("output"))


def _json_error(status: int, message: str) -> Response:
    return Response(json.dumps({"error": message}), status=status, mimetype="application/json",
                    headers={"Cache-Control": "no-store"})


def init_hardening(app: Dash) -> None:
    """Validate Dash callback requests on ``app.server`` (call after the callbacks are
    registered; :func:`validate_callback_request` reads ``app.callback_map`` at request time, so
    callbacks added later are covered too)."""
    path = app.config.routes_pathname_prefix + "_dash-update-component"
    suites = app.config.routes_pathname_prefix + "_dash-component-suites/"

    def check() -> Response | None:
        if request.path.startswith(suites):
            return _missing_suite_file(app, request.path[len(suites):])
        if request.path != path or request.method != "POST":
            return None
        try:
            body = request.get_json(silent=True)  # silent: ValueError only
        except RecursionError:
            return _json_error(400, "body is not acceptable JSON: nested too deeply")
        if body is None:
            return _json_error(400, "body is not JSON (expected a Dash callback request)")
        try:
            validate_callback_request(body, app.callback_map)
        except BadCallbackRequest as exc:
            return _json_error(400, f"not a valid callback request: {exc}")
        return None

    app.server.before_request(check)

    def unknown_dependency(exc: DependencyException) -> Response:
        # /_dash-component-suites/<anything>: Dash raises for an unknown library or file.
        return Response("not found", status=404, mimetype="text/plain")

    app.server.register_error_handler(DependencyException, unknown_dependency)


@functools.lru_cache(maxsize=512)
def _installed(package: str, path_in_pkg: str) -> bool:
    """Whether ``package`` ships ``path_in_pkg`` (only asked about registered paths: bounded)."""
    try:
        return importlib.resources.files(package).joinpath(path_in_pkg).is_file()
    except (ImportError, OSError, TypeError, ValueError):
        return False


def _missing_suite_file(app: Dash, rest: str) -> Response | None:
    """A 404 for ``/_dash-component-suites/<package>/<file>`` when ``<file>`` is registered with
    Dash but not installed (Dash itself answers 404 for unregistered files)."""
    package, _, fingerprinted = rest.partition("/")
    path_in_pkg, _ = check_fingerprint(fingerprinted)
    if path_in_pkg in app.registered_paths.get(package, ()) and not _installed(package,
                                                                               path_in_pkg):
        return Response("not found", status=404, mimetype="text/plain")
    return None


def production_guard(app: Dash, env: Mapping[str, str] | None = None) -> list[str]:
    """Make sure ``app`` serves in production mode; returns the debug variables that were set
    (and ignored). Called by ``dashboard.wsgi`` (gunicorn): debug mode there would expose Dash's
    dev tools (component tree, callback graph, tracebacks in the browser)."""
    found = debug_variables_set(env)
    ignored = list(found)
    if ignored:
        log.warning("%s set, but debug mode and dev tools are never enabled under a WSGI server "
                    "(use `anycast-dashboard serve --debug` on a workstation); ignored",
                    ", ".join(f"{n}={v}" for n, v in found.items()))
    app.server.debug = False
    app.server.config["DEBUG"] = False
    app.server.config["PROPAGATE_EXCEPTIONS"] = False
    return ignored
