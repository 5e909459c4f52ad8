"""The JSON API (``/api/v1/*``, ``/healthz``) on the Dash app's Flask server, and its routing
under ``/api/`` (an unknown path is a JSON 404, not the dashboard's page). The app-wide JSON error
handlers are :mod:`dashboard.errors`, the security headers :mod:`dashboard.headers`.

Each view parses and validates its input, makes one service call and returns JSON; the numbers
come from :mod:`dashboard.services`, so they are the ones the dashboard shows. Shapes and curl
examples: ``docs/api.md``.

Errors are ``{"error": "<what is wrong>"}`` with a 4xx status that names the parameter, the JSON
path (``clients[3].lat``) or the CSV line; no input can produce a 5xx (the contract tests and the
fuzz tests check this). The last-resort handler still turns an unexpected exception into a logged
JSON 500 rather than an HTML traceback.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass
from typing import Any, Iterable, NoReturn, Sequence

import numpy as np
from dash import Dash
from flask import Blueprint, Flask, Response, current_app, g, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from dashboard import __version__, cache
from dashboard.domain import ipgeo
from dashboard.services import ipclients, landing, observe, routing
from dashboard.services.planned import parse_planned_strict
from dashboard.catalog import Catalog
from dashboard.domain.clients import (MAX_FIELD_CHARS, MAX_NAME_CHARS, ClientCountError,
                                      ClientsError, check_client_count, clean_name, clean_weight,
                                      parse_clients, round_coord)
from dashboard.domain.latency import OVERRIDE_RANGES, canonical_overrides
from dashboard.domain.access import ACCESS_CHOICES, DEFAULT_ACCESS, check_access
from dashboard.domain import bias as bias_core
from dashboard.domain.policy import DEFAULT_POLICY, POLICIES, check_policy
from dashboard.errors import API_PREFIX, json_response
from dashboard.jobs import jobs_health
from dashboard.memo import CODE_VERSION
from dashboard.settings import Settings

bp = Blueprint("api", __name__)

_NUMBER_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_INT_RE = re.compile(r"\+?\d{1,9}")
#: Landing probabilities per client in /api/v1/assign?probabilities=1 (the most likely ones;
#: /api/v1/nearest lists every healthy PoP).
ASSIGN_PROBABILITIES_K = 5


class ApiError(Exception):
    """A client error: ``status`` and a message naming what is wrong."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _fail(status: int, message: str) -> NoReturn:
    raise ApiError(status, message)


@dataclass(frozen=True)
class ApiState:
    """What the views need, computed once per app."""

    catalog: Catalog
    settings: Settings
    pops_body: bytes
    origins_body: bytes
    pop_records: dict[str, dict[str, Any]]
    origin_records: dict[str, dict[str, Any]]


def _state() -> ApiState:
    return current_app.extensions["anycast_api"]


# --------------------------------------------------------------------------------------------
# JSON helpers (the response shape itself: dashboard.errors.json_response)



def _num(x: Any, nd: int) -> float | None:
    x = float(x)
    return round(x, nd) if math.isfinite(x) else None


def _col(values: np.ndarray, nd: int) -> list[float | None]:
    """Rounded column for JSON: NaN -> None."""
    out = np.round(np.asarray(values, dtype=float), nd).tolist()
    return [None if v != v else v for v in out]


def _pop_record(row: dict[str, Any]) -> dict[str, Any]:
    cap = row.get("capacity_gbps")
    return {
        "id": row["id"], "name": row["name"], "city": row["city"],
        "country_code": row["country_code"], "area": row["area"],
        "lat": float(row["lat"]), "lon": float(row["lon"]),
        "region_id": row.get("region_id") or None,
        "capacity_gbps": (float(cap) if cap is not None and math.isfinite(float(cap)) else None),
        "source": row.get("source") or None,
    }


def _origin_record(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"], "name": row["name"], "city": row["city"],
        "country_code": row["country_code"], "lat": float(row["lat"]), "lon": float(row["lon"]),
        "endpoint_types": list(row["endpoint_types"]), "source": row.get("source") or None,
        "documented": row.get("documented") or None,
    }


# --------------------------------------------------------------------------------------------
# Input parsing (every message names the parameter)


def _one(name: str, required: bool = False) -> str | None:
    values = request.args.getlist(name)
    if len(values) > 1:
        _fail(400, f"{name}: given {len(values)} times; give it once")
    if not values:
        if required:
            _fail(400, f"{name}: missing; required")
        return None
    return values[0]


def _check_params(allowed: Iterable[str]) -> None:
    allowed = tuple(allowed)
    unknown = [k for k in request.args.keys() if k not in allowed]
    if unknown:
        _fail(400, f"unknown parameter {unknown[0][:40]!r}; allowed: {', '.join(allowed)}")


def _coord_text(name: str, raw: str, limit: float) -> float:
    s = raw.strip()
    if s == "":
        _fail(400, f"{name}: empty; expected a number of degrees in [-{limit:g}, {limit:g}]")
    if len(s) > 40 or not _NUMBER_RE.fullmatch(s):
        _fail(400, f"{name}: {s[:40]!r} is not a decimal number of degrees "
                   f"(expected a value in [-{limit:g}, {limit:g}])")
    return _coord_value(name, float(s), limit, s)


def _coord_value(name: str, value: Any, limit: float, shown: str | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        _fail(400, f"{name}: {json.dumps(value)[:40]} is not a number; expected degrees in "
                   f"[-{limit:g}, {limit:g}]")
    try:
        v = float(value)
    except OverflowError:  # a huge JSON integer
        _fail(400, f"{name}: {str(value)[:40]} is outside [-{limit:g}, {limit:g}] degrees")
    if not math.isfinite(v):
        _fail(400, f"{name}: {shown or value!s} is not a finite number; expected degrees in "
                   f"[-{limit:g}, {limit:g}]")
    if not -limit <= v <= limit:
        _fail(400, f"{name}: {shown or repr(v)} is outside [-{limit:g}, {limit:g}] degrees")
    return round_coord(v)  # the one rounding of a client's position (never -0.0)


#: Longest ``planned`` value accepted (characters, all values together): 10 planned PoPs with
#: names fit in ~1,000.
MAX_PLANNED_CHARS = 2000


def _planned() -> tuple[Any, ...]:
    """The ``planned`` query parameter(s): planned PoPs ``ID:LAT,LON[,name[,gbps]]``, several
    ``;``-separated or the parameter repeated (docs/planning.md); () when absent. A 400 names the
    problem (a bad id or coordinate, a catalog id, the cap, a site in the Chinese mainland)."""
    values = request.args.getlist("planned")
    if not values:
        return ()
    if sum(len(v) for v in values) > MAX_PLANNED_CHARS:
        _fail(400, f"planned: longer than {MAX_PLANNED_CHARS} characters")
    try:
        return parse_planned_strict(values, _state().catalog)
    except ValueError as exc:
        _fail(400, f"planned: {str(exc)[:300]}")


def _planned_echo(planned: tuple[Any, ...]) -> dict[str, Any]:
    """The ``planned`` member of an answer computed with planned PoPs (absent without)."""
    return {"planned": [p.to_dict() for p in planned]} if planned else {}


def _down_ids(values: Iterable[Any], name: str = "down",
              planned: tuple[Any, ...] = ()) -> frozenset[str]:
    st = _state()
    known = {**st.pop_records, **{p.id: {} for p in planned}}
    out = set()
    for i, value in enumerate(values):
        if not isinstance(value, str):
            _fail(400, f"{name}[{i}]: {json.dumps(value)[:40]} is not an access point id")
        for part in value.split(","):
            pid = part.strip().upper()
            if not pid:
                continue
            if pid not in known:
                _fail(400, f"{name}: unknown access point id {part.strip()[:20]!r}; known: "
                           f"{', '.join(known)}")
            out.add(pid)
    return frozenset(out)


def _origin_id(value: Any, name: str = "origin") -> str:
    st = _state()
    if value is None:
        return st.settings.default_origin
    if not isinstance(value, str):
        _fail(400, f"{name}: {json.dumps(value)[:40]} is not an origin region id")
    oid = value.strip().lower()
    if oid not in st.origin_records:
        _fail(400, f"{name}: unknown origin region id {value.strip()[:40]!r}; known: "
                   f"{', '.join(st.origin_records)}")
    return oid


#: Longest ``model`` value accepted (characters); 10 tunables fit in ~250.
MAX_MODEL_CHARS = 1000


def _choice(name: str, value: Any, check: Any, default: str, what: str, choices: Sequence[str],
            hint: str) -> str:
    """One of a closed set of values (a query or body field), ``default`` when absent; the
    domain's ``check`` says what is valid, and a 400 names the field, the choices and ``hint``."""
    if value is None:
        return default
    try:
        return check(value)
    except ValueError:
        shown = value[:30] if isinstance(value, str) else json.dumps(value)[:30]
        _fail(400, f"{name}: {shown!r} is not {what}; use " + " or ".join(choices)
                   + f" ({hint})")
    raise AssertionError("unreachable")  # pragma: no cover


def _policy(value: Any) -> str:
    """The routing policy (``geographic``, the default, or ``network``); 400 names the choices."""
    return _choice("policy", value, check_policy, DEFAULT_POLICY, "a routing policy", POLICIES,
                   "default geographic: the nearest access point")


def _bias(value: Any, pop_ids: tuple[str, ...] | None = None) -> tuple[tuple[str, float], ...]:
    """The announcement bias (:mod:`dashboard.domain.bias`): text ``FRA:+20,LHR:-10`` (query
    or body) or a body object ``{"FRA": 20}``; none when absent. A 400 names a bad piece, an
    access point ``pop_ids`` lacks (default: the catalog's; with planned PoPs, theirs too) or a
    value outside -100..+100 ms."""
    if value is None:
        return ()
    ids = _state().catalog.pop_ids if pop_ids is None else pop_ids
    try:
        if isinstance(value, str):
            return bias_core.parse_text(value, ids)
        if isinstance(value, dict):
            return bias_core.canonical(value, ids)
        raise ValueError("expected text like FRA:+20,LHR:-10 or an object {\"FRA\": 20}")
    except ValueError as exc:
        _fail(400, f"bias: {str(exc).removeprefix('bias: ')} (POP:ms, ms in "
                   f"{bias_core.MIN_MS:+.0f}..{bias_core.MAX_MS:+.0f}; docs/api.md)")
    raise AssertionError("unreachable")  # pragma: no cover


def _switch(name: str) -> bool:
    """An on/off query parameter (``1``/``true`` or ``0``/``false``, any case; absent = off);
    400 names the accepted values."""
    raw = _one(name)
    if raw is None:
        return False
    value = raw.strip().lower()
    if value not in ("0", "1", "true", "false"):
        _fail(400, f"{name}: {raw[:20]!r} is not 0 or 1 (or false/true)")
    return value in ("1", "true")


def _probability_records(idx: Any, prob: Any, pop_ids: tuple[str, ...]) -> list[dict[str, Any]]:
    """``[{id, probability}]`` of one client, most likely first, zeros dropped (4 decimals)."""
    return [{"id": pop_ids[int(i)], "probability": round(float(p), 4)}
            for i, p in zip(idx, prob) if i >= 0 and p > 0]


def _access(value: Any) -> str:
    """Who the clients are (``end-user``, the default, or ``datacenter``); 400 names the
    choices."""
    return _choice("access", value, check_access, DEFAULT_ACCESS, "a client access type",
                   ACCESS_CHOICES, "default end-user: homes, offices, mobile; datacenter: "
                   "servers, no access network")


def _model(value: Any, name: str = "model") -> tuple[tuple[str, float], ...]:
    """Latency model overrides: ``"overhead_ms:5,inflation_scale:1.2"`` (query string or JSON
    string) or a JSON object ``{"overhead_ms": 5}``; None = the fitted model. 400 names the bad
    parameter and its accepted range."""
    if value is None:
        return ()
    if isinstance(value, str):
        if len(value) > MAX_MODEL_CHARS:
            _fail(400, f"{name}: longer than {MAX_MODEL_CHARS} characters")
        pairs = []
        for item in value.split(","):
            if not item.strip():
                continue
            key, sep, raw = item.partition(":")
            if not sep:
                _fail(400, f"{name}: {item.strip()[:40]!r} is not name:value (e.g. "
                           "overhead_ms:5,inflation_scale:1.2)")
            pairs.append((key.strip(), raw.strip()))
    elif isinstance(value, dict):
        pairs = list(value.items())
        for key, raw in pairs:
            if isinstance(raw, bool) or not isinstance(raw, (int, float)):
                _fail(400, f"{name}.{str(key)[:40]}: {json.dumps(raw)[:40]} is not a number")
    else:
        _fail(400, f"{name}: {json.dumps(value)[:40]} is not 'name:value,...' or an object "
                   "{name: number}")
    if len(pairs) > len(OVERRIDE_RANGES):
        _fail(400, f"{name}: {len(pairs)} parameters; there are {len(OVERRIDE_RANGES)} tunable "
                   "ones")
    try:
        return canonical_overrides(pairs)
    except (ValueError, OverflowError) as exc:
        _fail(400, f"{name}: {str(exc)[:300]}")


def _model_echo(model: tuple[tuple[str, float], ...]) -> dict[str, Any]:
    """The ``model`` member of an answer computed with overrides (absent for the fitted one)."""
    return {"model": dict(model)} if model else {}


def _read_body(limit: int) -> bytes:
    """The request body, refusing more than ``limit`` bytes with 413."""
    length = request.content_length
    if length is not None and length > limit:
        _fail(413, f"request body of {length} bytes is larger than the limit of {limit} bytes")
    data = request.stream.read(limit + 1)
    if len(data) > limit:
        _fail(413, f"request body is larger than the limit of {limit} bytes")
    return data


def _reject_constant(token: str) -> NoReturn:
    raise ValueError(f"{token} is not allowed in JSON (use finite numbers)")


# --------------------------------------------------------------------------------------------
# Views


@bp.get("/healthz")
def healthz() -> Response:
    """Liveness + readiness: the catalog is loaded; the cache backend is reported (a Redis
    outage degrades caching, not answers, so it is reported with status 200 "degraded")."""
    st = _state()
    cache_health = cache.health(current_app._get_current_object())  # type: ignore[attr-defined]
    jobs = jobs_health(current_app.config.get("ANYCAST_DASH_APP"))
    ok = len(st.pop_records) > 0 and len(st.origin_records) > 0
    status = ("ok" if ok and cache_health["reachable"] and jobs["ok"]
              else ("degraded" if ok else "failing"))
    return json_response({
        "status": status,
        "version": __version__,
        "code_version": CODE_VERSION,
        "pid": os.getpid(),
        "catalog": {"pops": len(st.pop_records), "origins": len(st.origin_records),
                    "fingerprint": routing.catalog_fingerprint(st.catalog)},
        "cache": cache_health,
        "jobs": jobs,
    }, status=200 if ok else 503)


def _catalog_record(records: dict[str, dict[str, Any]], key: str, what: str) -> Response:
    """One record of the catalog by id (``key`` already case-folded), or a 404 naming the known
    ids."""
    _check_params(())
    record = records.get(key)
    if record is None:
        _fail(404, f"unknown {what} id {key[:40]!r}; known: {', '.join(records)}")
    return json_response(record)


@bp.get("/api/v1/pops")
def pops() -> Response:
    _check_params(())
    return Response(_state().pops_body, mimetype="application/json")


@bp.get("/api/v1/pops/<pop_id>")
def pop(pop_id: str) -> Response:
    return _catalog_record(_state().pop_records, pop_id.upper(), "access point")


@bp.get("/api/v1/origins")
def origins() -> Response:
    _check_params(())
    return Response(_state().origins_body, mimetype="application/json")


@bp.get("/api/v1/origins/<origin_id>")
def origin(origin_id: str) -> Response:
    return _catalog_record(_state().origin_records, origin_id.lower(), "origin region")


@bp.get("/api/v1/nearest")
def nearest() -> Response:
    """Ranked PoPs for one client; see ``routing.nearest_answer`` and ``docs/api.md``."""
    _check_params(("lat", "lon", "ip", "down", "origin", "k", "model", "policy", "access",
                   "probabilities", "bias", "planned"))
    st = _state()
    ip_raw = _one("ip")
    geoip: dict[str, Any] | None = None
    if ip_raw is not None:
        if request.args.getlist("lat") or request.args.getlist("lon"):
            _fail(400, "ip: give either ip or lat and lon, not both")
        lat, lon, geoip = _ip_location(ip_raw, st.settings)
    else:
        lat = _coord_text("lat", _one("lat", required=True) or "", 90.0)
        lon = _coord_text("lon", _one("lon", required=True) or "", 180.0)
    planned = _planned()
    catalog = st.catalog.with_planned(planned)  # the catalog's PoPs + the planned ones
    down = _down_ids(request.args.getlist("down"), planned=planned)
    origin_id = _origin_id(_one("origin"))
    n = len(catalog.pop_ids)
    k_raw = _one("k")
    k = n
    if k_raw is not None:
        if not _INT_RE.fullmatch(k_raw.strip()):
            _fail(400, f"k: {k_raw[:20]!r} is not a whole number in [1, {n}]")
        k = int(k_raw)
        if not 1 <= k <= n:
            _fail(400, f"k: {k} is outside [1, {n}] (the number of access points)")
    model = _model(_one("model"))
    policy = _policy(_one("policy"))
    access = _access(_one("access"))
    bias = _bias(_one("bias"), catalog.pop_ids)
    # lat/lon are rounded like every client (domain.clients.COORD_DECIMALS): repeated queries
    # share cache entries, and /nearest answers for the point /assign uses.
    want_probabilities = _switch("probabilities")
    answer = routing.nearest_answer(catalog, lat, lon, origin_id, down, k, model, policy,
                                    access, bias)
    if want_probabilities:  # every healthy PoP with a probability (services.landing)
        ld = landing.landing_for_point(catalog, answer["client"]["lat"],
                                       answer["client"]["lon"], down,
                                       routing.bias_km(catalog, bias, model, access))
        answer = {**answer, "probabilities": [{"id": p, "probability": round(q, 4)}
                                              for p, q in ld.pops if round(q, 4) > 0]}
    if geoip is not None:
        answer = {**answer, "geoip": geoip}
    return json_response({**answer, **_model_echo(model), **_planned_echo(planned)},
                          headers={"X-Cache": _cache_status()})


def _ip_location(raw: str, settings: Settings) -> tuple[float, float, dict[str, Any]]:
    """``?ip=``: the address located with the configured GeoIP database (services.ipclients):
    (lat, lon, the ``geoip`` member of the answer). 400 for text that is not an address, 422
    for one that has no location (private/reserved, not in the database) or when no database
    is configured (the message says how to configure one). The address is never logged."""
    got = ipclients.locate(raw[:200], settings)
    r = got.result
    if r.status == ipgeo.MALFORMED:
        _fail(400, f"ip: {r.message}")
    if not r.ok or r.location is None:
        _fail(422, f"ip: {r.ip}: {r.message}")
    loc = r.location
    return (_coord_value("ip", loc.lat, 90.0), _coord_value("ip", loc.lon, 180.0),
            {"ip": r.ip, "city": loc.city or None, "country_code": loc.country or None,
             "lat": loc.lat, "lon": loc.lon, "accuracy_radius_km": loc.radius_km,
             "label": r.label, "attribution": ipclients.attribution(settings) or None})


@bp.post("/api/v1/assign")
def assign() -> Response:
    """Many clients -> their PoPs; JSON or CSV body; see ``docs/api.md``."""
    _check_params(("origin", "down", "model", "policy", "access", "probabilities", "bias",
                   "planned"))
    st = _state()
    limits = st.settings
    planned = _planned()
    catalog = st.catalog.with_planned(planned)  # the catalog's PoPs + the planned ones
    mimetype = request.mimetype
    if mimetype not in ("application/json", "text/csv"):
        _fail(415, f"Content-Type {mimetype or 'missing'!r} is not supported; send "
                   "'application/json' ({\"clients\": [...]}) or 'text/csv' (lat,lon[,name]"
                   "[,weight]), e.g. curl -H 'Content-Type: text/csv' --data-binary @clients.csv")
    body = _read_body(limits.max_upload_bytes)
    origin_q = _one("origin")
    down_q = request.args.getlist("down")
    model_q = _one("model")
    policy_q = _one("policy")
    access_q = _one("access")
    bias_q = _one("bias")
    if mimetype == "application/json":
        (lats, lons, names, weights, ips, origin_b, down_b, model_b, policy_b,
         access_b, bias_b) = _clients_from_json(body, limits.max_clients)
    else:
        lats, lons, names, weights, ips = _clients_from_csv(body, limits.max_clients,
                                                            limits.max_upload_bytes)
        origin_b, down_b, model_b, policy_b, access_b, bias_b = (None,) * 6
    if bias_q is not None and bias_b is not None:
        _fail(400, "bias: given both in the query string and in the body; give it once")
    bias = _bias(bias_b if bias_b is not None else bias_q, catalog.pop_ids)
    if access_q is not None and access_b is not None:
        _fail(400, "access: given both in the query string and in the body; give it once")
    access = _access(access_b if access_b is not None else access_q)
    if policy_q is not None and policy_b is not None:
        _fail(400, "policy: given both in the query string and in the body; give it once")
    policy = _policy(policy_b if policy_b is not None else policy_q)
    if model_q is not None and model_b is not None:
        _fail(400, "model: given both in the query string and in the body; give it once")
    model = _model(model_b if model_b is not None else model_q)
    if origin_q is not None and origin_b is not None:
        _fail(400, "origin: given both in the query string and in the body; give it once")
    if down_q and down_b is not None:
        _fail(400, "down: given both in the query string and in the body; give it once")
    origin_id = _origin_id(origin_b if origin_b is not None else origin_q)
    if down_b is not None:
        if not isinstance(down_b, list):
            _fail(400, f"down: {json.dumps(down_b)[:40]} is not a list of access point ids")
        down = _down_ids(down_b, planned=planned)
    else:
        down = _down_ids(down_q, planned=planned)
    want_probabilities = _switch("probabilities")
    # Rows given as IP addresses are located first; only located rows are routed, the others
    # keep their place in the answer with their status and message (docs/geoip.md).
    located = _locate_rows(ips, lats, lons, st.settings)
    keep = [i for i in range(len(lats)) if located is None or located[i] is None
            or located[i].ok]
    table = routing.route_table(catalog, tuple((lats[i], lons[i]) for i in keep), origin_id,
                                 down, model=model, policy=policy, access=access, bias=bias)
    answer = {**_assign_answer(st, table, [names[i] for i in keep],
                               [weights[i] for i in keep], origin_id, down, policy,
                               catalog.pop_ids),
              "access": access, **({"bias": dict(bias)} if bias else {})}
    if want_probabilities:  # the 5 most likely healthy PoPs of each client (services.landing)
        idx, prob = landing.healthy_probabilities(catalog, table["lat"].to_numpy(float),
                                                  table["lon"].to_numpy(float), down,
                                                  k=ASSIGN_PROBABILITIES_K,
                                                  bias_km=routing.bias_km(catalog, bias,
                                                                          model, access))
        for row, i_row, p_row in zip(answer["assignments"], idx.tolist(), prob.tolist()):
            row["probabilities"] = _probability_records(i_row, p_row, catalog.pop_ids)
    if located is not None:
        answer = _with_ip_rows(answer, located, keep, names, weights, want_probabilities,
                               st.settings)
    return json_response({**answer, **_model_echo(model), **_planned_echo(planned)},
                         headers={"X-Cache": _cache_status()})


def _locate_rows(ips: list[str | None], lats: list[float], lons: list[float],
                 settings: Settings) -> list[ipgeo.IpResult | None] | None:
    """Locate the rows given as IP addresses (``ips[i]`` not None) with the configured GeoIP
    database (services.ipclients, the page's and the batch engine's rules) and write their
    point into ``lats``/``lons``. Per row: its :class:`~dashboard.domain.ipgeo.IpResult`, None
    for a row given as coordinates; None when no row has an address. No usable database: 422
    saying how to configure ``ANYCAST_GEOIP_MMDB`` (nothing is half-answered)."""
    rows = [i for i, ip in enumerate(ips) if ip is not None]
    if not rows:
        return None
    _, why = ipclients.database(settings)
    if why:
        _fail(422, f"ip: {len(rows):,} client(s) are IP addresses: {why}")
    results = ipclients.locate_each([ips[i] for i in rows], settings)
    out: list[ipgeo.IpResult | None] = [None] * len(ips)
    for i, r in zip(rows, results):
        out[i] = r
        if r.ok and r.location is not None:
            lats[i] = round_coord(r.location.lat)  # 4 decimals, as every client in the app
            lons[i] = round_coord(r.location.lon)
    return out


def _geoip_record(r: ipgeo.IpResult) -> dict[str, Any]:
    """The ``geoip`` member of an assignment row given as an address (the shape of
    /nearest's, plus ``status`` and ``message``)."""
    loc = r.location if r.ok else None
    return {"ip": r.ip or None, "status": r.status, "message": r.message or None,
            "city": (loc.city or None) if loc else None,
            "country_code": (loc.country or None) if loc else None,
            "accuracy_radius_km": loc.radius_km if loc else None,
            "label": r.label if loc else None}


def _with_ip_rows(answer: dict[str, Any], located: list[ipgeo.IpResult | None], keep: list[int],
                  names: list[str], weights: list[float], probabilities: bool,
                  settings: Settings) -> dict[str, Any]:
    """The answer with every input row in input order: routed rows get their ``geoip``; a row
    whose address could not be located comes back unrouted (``routed: false``, null PoP and
    coordinates) with its status and message -- never dropped. Adds the top-level ``geoip``
    summary (counts per status and the attribution the database's licence asks for)."""
    by_row = dict(zip(keep, answer["assignments"]))
    rows: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    for i, r in enumerate(located):
        row = by_row.get(i)
        if row is None:  # an address with no location: kept, unrouted, with its reason
            row = {"name": names[i], "lat": None, "lon": None, "weight": weights[i],
                   "routed": False, "pop": None, "pop_km": None, "runner_up": None,
                   "runner_up_km": None, "internet_ms": None, "backbone_ms": None,
                   "anycast_ms": None, "direct_km": None, "direct_ms": None,
                   "saving_ms": None, "network_pop": None, "bgp_gap_ms": None,
                   "bgp_flag": False, **({"probabilities": []} if probabilities else {})}
        if r is not None:
            row = {**row, "geoip": _geoip_record(r)}
            counts[r.status] = counts.get(r.status, 0) + 1
        rows.append(row)
    missing = len(located) - len(keep)
    summary = {**answer["summary"], "unrouted": answer["summary"]["unrouted"] + missing}
    return {**answer, "count": len(rows), "summary": summary, "assignments": rows,
            "geoip": {"located": counts.get(ipgeo.OK, 0),
                      "not_located": {k: v for k, v in sorted(counts.items()) if k != ipgeo.OK},
                      "attribution": ipclients.attribution(settings) or None}}


#: Longest ``sites`` value of /api/v1/candidates (characters): ~200 "lat,lon" pairs.
MAX_SITES_QUERY_CHARS = 4000


def _whole(name: str, low: int, high: int, default: int) -> int:
    """A whole-number query parameter in [low, high] (``default`` when absent); 400 says so."""
    raw = _one(name)
    if raw is None:
        return default
    if not _INT_RE.fullmatch(raw.strip()):
        _fail(400, f"{name}: {raw[:20]!r} is not a whole number in [{low}, {high}]")
    value = int(raw)
    if not low <= value <= high:
        _fail(400, f"{name}: {value} is outside [{low}, {high}]")
    return value


@bp.get("/api/v1/candidates")
def candidates() -> Response:
    """Where to add an access point: candidate sites ranked by the demand-weighted mean RTT
    gain of adding each one (``services.siting.rank``; ``docs/api.md``, ``docs/planning.md``)."""
    from dashboard.services import siting
    from dashboard.services.capacity import population_demand

    _check_params(("origin", "down", "model", "policy", "access", "metros", "sites", "top",
                   "greedy", "bias", "planned"))
    st = _state()
    planned = _planned()
    catalog = st.catalog.with_planned(planned)  # the catalog's PoPs + the planned ones
    down = _down_ids(request.args.getlist("down"), planned=planned)
    origin_id = _origin_id(_one("origin"))
    model = _model(_one("model"))
    policy = _policy(_one("policy"))
    access = _access(_one("access"))
    bias = _bias(_one("bias"), catalog.pop_ids)  # the /nearest validator (planned ids too)
    top = _whole("top", 1, siting.MAX_TOP, siting.DEFAULT_TOP)
    greedy = _whole("greedy", 0, 3, siting.DEFAULT_GREEDY)
    sites_q = _one("sites")
    if sites_q is not None and _one("metros") is not None:
        _fail(400, "sites: give metros or sites, not both")
    if sites_q is not None:
        if len(sites_q) > MAX_SITES_QUERY_CHARS:
            _fail(400, f"sites: longer than {MAX_SITES_QUERY_CHARS} characters; for longer "
                       "lists use the CLI (anycast-dashboard candidates --sites FILE)")
        # "lat,lon;lat,lon" (a semicolon or a newline between sites)
        text = "\n".join(part for part in sites_q.replace(";", "\n").splitlines())
        try:
            cands = siting.parse_sites(text)
        except ValueError as exc:
            _fail(400, f"sites: {str(exc).removeprefix('candidate sites').lstrip(':, ')}")
    else:
        n = _whole("metros", 1, siting.MAX_CANDIDATES, siting.DEFAULT_METROS)
        cands = siting.metro_candidates(n)
    # The ranking routes with the bias (a candidate, new, has none; docs/planning.md).
    result = siting.rank(catalog, population_demand(), origin_id, cands, down=down,
                         model=model, policy=policy, access=access, bias=bias, top=top,
                         greedy=greedy)
    return json_response({**result, "down": sorted(down), **_model_echo(model),
                          **_planned_echo(planned)})


def _clients_from_json(body: bytes, max_clients: int) -> tuple[
        list[float], list[float], list[str], list[float], Any, Any, Any, Any, Any, Any]:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        _fail(400, f"body is not UTF-8 text (invalid byte at position {exc.start})")
    try:
        doc = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        _fail(400, f"body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")
    except ValueError as exc:
        _fail(400, f"body is not valid JSON: {exc}")
    except RecursionError:
        _fail(400, "body is not acceptable JSON: nested too deeply")
    if not isinstance(doc, dict):
        _fail(400, 'body must be a JSON object like {"clients": [{"lat": 48.1, "lon": 11.6}]}')
    allowed = ("clients", "origin", "down", "model", "policy", "access", "bias")
    unknown = [k for k in doc if k not in allowed]
    if unknown:
        _fail(400, f"unknown field {unknown[0][:40]!r}; allowed: {', '.join(allowed)}")
    clients = doc.get("clients")
    if clients is None:
        _fail(400, 'clients: missing; expected a list like [{"lat": 48.1, "lon": 11.6}]')
    if not isinstance(clients, list):
        _fail(400, "clients: must be a list of objects with lat, lon[, name][, weight]")
    if not clients:
        _fail(400, "clients: empty list; give at least one client")
    try:  # counted before any client is read (the body is already capped in bytes)
        check_client_count(len(clients), max_clients)
    except ClientCountError:
        _fail(413, f"clients: {len(clients)} clients is more than the limit of {max_clients}")
    lats: list[float] = []
    lons: list[float] = []
    names: list[str] = []
    weights: list[float] = []
    ips: list[str | None] = []
    fields = ("lat", "lon", "ip", "name", "weight")
    for i, c in enumerate(clients):
        where = f"clients[{i}]"
        if not isinstance(c, dict):
            _fail(400, f"{where}: must be an object with lat, lon (or ip)[, name][, weight]")
        extra = [k for k in c if k not in fields]
        if extra:
            _fail(400, f"{where}: unknown field {extra[0][:40]!r}; allowed: {', '.join(fields)}")
        if "ip" in c:  # located later (all addresses at once); the text is checked there
            if "lat" in c or "lon" in c:
                _fail(400, f"{where}: give either ip or lat and lon, not both")
            ip = c["ip"]
            if not isinstance(ip, str):
                _fail(400, f"{where}.ip: {json.dumps(ip)[:40]} is not text; give an address "
                           "such as \"81.2.69.142\" or \"2001:218::1\"")
            if len(ip) > MAX_FIELD_CHARS:
                _fail(400, f"{where}.ip: {len(ip)} characters is too long for an IP address")
            ips.append(ip)
            lats.append(math.nan)
            lons.append(math.nan)
        else:
            for key in ("lat", "lon"):
                if key not in c:
                    _fail(400, f"{where}.{key}: missing; required (or give ip instead)")
            ips.append(None)
            lats.append(_coord_value(f"{where}.lat", c["lat"], 90.0))
            lons.append(_coord_value(f"{where}.lon", c["lon"], 180.0))
        name = c.get("name")
        if name is None:
            name = ""
        if not isinstance(name, str):
            _fail(400, f"{where}.name: must be a string")
        if len(name) > MAX_FIELD_CHARS:
            _fail(400, f"{where}.name: {len(name)} characters; a name has at most "
                       f"{MAX_FIELD_CHARS} characters (and is cut to {MAX_NAME_CHARS})")
        names.append(clean_name(name))  # the one name cleaner: same text as in the page
        weight = c.get("weight", 1.0)
        if isinstance(weight, bool) or not isinstance(weight, (int, float, type(None))):
            _fail(400, f"{where}.weight: {json.dumps(weight)[:40]} is not a number")
        try:
            weights.append(clean_weight(weight))  # <= MAX_WEIGHT: sums and means stay finite
        except ValueError as exc:
            _fail(400, f"{where}.weight: {str(exc).removeprefix('weight ')}")
    return (lats, lons, names, weights, ips, doc.get("origin"), doc.get("down"),
            doc.get("model"), doc.get("policy"), doc.get("access"), doc.get("bias"))


def _clients_from_csv(body: bytes, max_clients: int, max_bytes: int) -> tuple[
        list[float], list[float], list[str], list[float], list[str | None]]:
    """A CSV body: coordinates (``lat,lon[,name][,weight]``), or IP addresses when the header
    has an ``ip`` column (``ip[,name][,weight]``, other columns ignored: an access-log export
    works as it is; domain.ipgeo, the page's upload parser). ``ips`` per row (None: coordinates).
    A file-level problem or a bad weight is a 400 naming the line; an address is checked when
    it is located (its row is kept with its reason)."""
    if _is_ip_csv(body):
        return _ip_clients_from_csv(body, max_clients)
    try:
        df = parse_clients(body, max_rows=max_clients, max_bytes=max_bytes)
    except ClientsError as exc:
        _fail(400, f"CSV body: {exc}")
    n = len(df)
    return (df["lat"].astype(float).tolist(), df["lon"].astype(float).tolist(),
            ["" if (isinstance(n, float) and math.isnan(n)) else str(n) for n in df["name"]],
            df["weight"].astype(float).tolist(), [None] * n)


def _is_ip_csv(body: bytes) -> bool:
    """Whether a CSV body's first record line is a header with an ``ip`` column."""
    head = body[:4096].decode("utf-8-sig", "replace")
    for line in head.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            return ipgeo.is_ip_header(line)
    return False


def _ip_clients_from_csv(body: bytes, max_clients: int) -> tuple[
        list[float], list[float], list[str], list[float], list[str | None]]:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        _fail(400, f"CSV body: not UTF-8 text (invalid byte at position {exc.start})")
    try:
        rows, rejected = ipgeo.parse_ip_rows(text, max_rows=max_clients, max_errors=1)
    except ClientsError as exc:
        _fail(400, f"CSV body: {exc}")
    if rejected.count:  # a ragged row or a bad weight: strict, like a coordinate CSV body
        _fail(400, f"CSV body: {rejected.errors[0]}")
    n = len(rows)
    return ([math.nan] * n, [math.nan] * n, [r.name for r in rows], [r.weight for r in rows],
            [r.ip for r in rows])


def _assign_answer(st: ApiState, table: Any, names: list[str], weights: list[float],
                   origin_id: str, down: frozenset[str],
                   policy: str = DEFAULT_POLICY,
                   catalog_ids: Sequence[str] | None = None) -> dict[str, Any]:
    """The answer of /api/v1/assign; ``catalog_ids``: the access points counted in ``by_pop``
    (the catalog's plus any planned ones; default the catalog's)."""
    n = len(table)
    w = np.asarray(weights, dtype=float)
    routed = table["routed"].to_numpy(dtype=bool)
    cols = {
        "pop_km": _col(table["pop_km"], 1), "runner_up_km": _col(table["runner_up_km"], 1),
        "internet_ms": _col(table["internet_ms"], 1), "backbone_ms": _col(table["backbone_ms"], 1),
        "anycast_ms": _col(table["anycast_ms"], 1), "direct_km": _col(table["direct_km"], 1),
        "direct_ms": _col(table["direct_ms"], 1), "saving_ms": _col(table["saving_ms"], 1),
        "bgp_gap_ms": _col(table["bgp_gap_ms"], 1),
    }
    net = table["network_pop_id"].tolist()
    flag = table["bgp_flag"].to_numpy(dtype=bool)
    pop_ids = table["pop_id"].tolist()
    runner = table["runner_up_id"].tolist()
    lats, lons = table["lat"].tolist(), table["lon"].tolist()
    rows = []
    for i in range(n):
        rows.append({
            "name": names[i], "lat": lats[i], "lon": lons[i], "weight": weights[i],
            "routed": bool(routed[i]), "pop": pop_ids[i] or None, "pop_km": cols["pop_km"][i],
            "runner_up": runner[i] or None, "runner_up_km": cols["runner_up_km"][i],
            "internet_ms": cols["internet_ms"][i], "backbone_ms": cols["backbone_ms"][i],
            "anycast_ms": cols["anycast_ms"][i], "direct_km": cols["direct_km"][i],
            "direct_ms": cols["direct_ms"][i], "saving_ms": cols["saving_ms"][i],
            "network_pop": net[i] or None, "bgp_gap_ms": cols["bgp_gap_ms"][i],
            "bgp_flag": bool(flag[i]),
        })
    by_pop = []
    for pid in (catalog_ids if catalog_ids is not None else st.pop_records):
        mask = routed & (table["pop_id"].to_numpy() == pid)
        if mask.any():
            by_pop.append({"id": pid, "clients": int(mask.sum()), "weight": _num(w[mask].sum(), 3)})
    total_w = float(w[routed].sum())

    def wmean(col: str) -> float | None:
        if total_w <= 0:
            return None
        return _num(float(np.sum(table[col].to_numpy()[routed] * w[routed]) / total_w), 1)

    return {
        "origin": {k: st.origin_records[origin_id][k] for k in ("id", "name", "city")},
        "down": sorted(down),
        "policy": policy,
        "count": n,
        "routed": int(routed.sum()),
        "summary": {
            "by_pop": sorted(by_pop, key=lambda r: (-r["clients"], r["id"])),
            "unrouted": int(n - routed.sum()),
            "weighted_mean_anycast_ms": wmean("anycast_ms"),
            "weighted_mean_direct_ms": wmean("direct_ms"),
            "weighted_mean_saving_ms": wmean("saving_ms"),
            "flagged": int(flag.sum()),
        },
        "assignments": rows,
    }


#: Largest POST /api/v1/traceroute body (bytes): the paste cap in characters, 4 bytes each at
#: most in UTF-8, plus room for a JSON wrapper.
TRACE_BODY_BYTES = observe.MAX_TRACE_CHARS * 4 + 1024


@bp.post("/api/v1/traceroute")
def traceroute() -> Response:
    """A traceroute/mtr output -> the inferred entry access point and its evidence
    (``services.observe.trace_report``); ``lat``/``lon`` (query, or JSON body fields) place the
    client for the speed-of-light checks. See docs/api.md and docs/observations.md."""
    _check_params(("lat", "lon"))
    st = _state()
    mimetype = request.mimetype
    if mimetype not in ("text/plain", "application/json"):
        _fail(415, f"Content-Type {mimetype or 'missing'!r} is not supported; send 'text/plain' "
                   "(the output as printed) or 'application/json' ({\"text\": ..., \"lat\": "
                   "..., \"lon\": ...}), e.g. curl -H 'Content-Type: text/plain' "
                   "--data-binary @mtr.txt")
    body = _read_body(TRACE_BODY_BYTES)
    try:
        raw = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        _fail(400, "body: not UTF-8 text")
    lat_q, lon_q = _one("lat"), _one("lon")
    lat_b = lon_b = None
    if mimetype == "application/json":
        try:
            data = json.loads(raw, parse_constant=_reject_constant)
        except (ValueError, RecursionError) as exc:
            _fail(400, f"body: not valid JSON ({str(exc)[:80]})")
        if not isinstance(data, dict) or not isinstance(data.get("text"), str):
            _fail(400, "body: expected an object with a \"text\" string (the traceroute/mtr "
                       "output)")
        unknown = sorted(set(data) - {"text", "lat", "lon"})
        if unknown:
            _fail(400, f"body: unknown field {unknown[0][:40]!r}; known: text, lat, lon")
        raw, lat_b, lon_b = data["text"], data.get("lat"), data.get("lon")
        if (lat_b is not None or lon_b is not None) and (lat_q is not None or lon_q is not None):
            _fail(400, "lat/lon: given both in the query string and in the body; give them once")
    if len(raw) > observe.MAX_TRACE_CHARS:
        _fail(413, f"text: {len(raw):,} characters, over the {observe.MAX_TRACE_CHARS:,}-"
                   "character limit of one trace")
    client = None
    if lat_b is not None or lon_b is not None:
        if lat_b is None or lon_b is None:
            _fail(400, "lat/lon: give both or neither")
        client = (_coord_value("lat", lat_b, 90), _coord_value("lon", lon_b, 180))
    elif lat_q is not None or lon_q is not None:
        if lat_q is None or lon_q is None:
            _fail(400, "lat/lon: give both or neither")
        client = (_coord_text("lat", lat_q, 90), _coord_text("lon", lon_q, 180))
    report = observe.trace_report(raw, st.catalog, client)
    if not report["hops"]:
        _fail(422, f"text: {report['reason']}")
    return json_response({**report, "client": ({"lat": client[0], "lon": client[1]}
                                               if client else None)})
@bp.post("/api/v1/provider")
def provider_import() -> Response:
    """A saved JSON of the Anycast EIP API's responses (docs/provider.md) -> the Anycast EIPs it
    describes, the chosen one's endpoints as the dashboard loads them (``?eip=`` picks one), the
    catalog report and a dashboard link. Files only: the API never reads the operator's account
    on behalf of an HTTP client (the page's live read is behind ``ANYCAST_PROVIDER_API``)."""
    from dashboard.services import provider

    _check_params(("eip",))
    st = _state()
    if request.mimetype != "application/json":
        _fail(415, f"Content-Type {request.mimetype or 'missing'!r} is not supported; send "
                   "'application/json' (the saved responses, docs/provider.md)")
    limit = min(provider.MAX_FILE_BYTES, st.settings.max_upload_bytes)
    view = provider.saved_view(_read_body(limit), "the request body", st.settings, st.catalog,
                               _one("eip"))
    errors = [t for level, t in view.messages if level == "error"]
    if errors and not view.options:
        _fail(400, errors[0])
    return json_response({
        "eips": list(view.options), "chosen": view.chosen, "load": view.load_edit,
        "endpoints": list(view.endpoints),
        "messages": [{"level": lv, "text": t} for lv, t in view.notes + view.messages],
        "catalog_report": [{"level": lv, "text": t} for lv, t in view.diff_notes],
        "catalog": list(view.diff_rows),
        "link": provider.load_link(view, st.catalog, st.settings)})


def _cache_status() -> str:
    return {"hit": "HIT", "miss": "MISS"}.get(getattr(g, "anycast_cache", ""), "BYPASS")


def _api_error(exc: ApiError) -> Response:
    return json_response({"error": exc.message}, status=exc.status)


# --------------------------------------------------------------------------------------------
# Routing under /api/ (app-wide error answers and security headers: dashboard.errors, .headers)


def _api_methods(path: str) -> set[str]:
    """Methods for which an API endpoint serves ``path`` (only computed on error paths)."""
    adapter = current_app.url_map.bind("localhost")
    methods: set[str] = set()
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        try:
            endpoint, _ = adapter.match(path, method=method)
        except HTTPException:
            continue
        if str(endpoint).startswith("api."):
            methods.add(method)
    if "GET" in methods:
        methods |= {"HEAD", "OPTIONS"}
    return methods


def _route_api_paths() -> None:
    """Dash serves its index for every GET path; under /api/ an unknown path is a JSON 404 and
    a known path with the wrong method a JSON 405, not the dashboard's page."""
    if not request.path.startswith(API_PREFIX):
        return
    rule = request.url_rule
    if rule is not None and rule.endpoint.startswith("api."):
        return
    methods = _api_methods(request.path)
    if not methods:
        raise NotFound(f"no API endpoint {request.path[:80]}; see /api/v1/pops, /api/v1/origins, "
                       "/api/v1/nearest, /api/v1/assign, /api/v1/candidates, "
                       "/api/v1/traceroute, /api/v1/provider")
    if request.method not in methods:
        raise MethodNotAllowed(valid_methods=sorted(methods))


def init_api(app: Dash, settings: Settings, catalog: Catalog) -> None:
    """Register the API blueprint, its routing under ``/api/``, its client-error answers and the
    request size cap on ``app.server``. Call once per app. The app-wide JSON error handlers and
    security headers are :func:`dashboard.errors.init_errors` and
    :func:`dashboard.headers.init_headers`."""
    server: Flask = app.server
    server.config["ANYCAST_DASH_APP"] = app  # /healthz reports its background jobs backend
    pop_records = {r["id"]: _pop_record(r) for r in catalog.pops.to_dict("records")}
    origin_records = {r["id"]: _origin_record(r) for r in catalog.origins.to_dict("records")}
    server.extensions["anycast_api"] = ApiState(
        catalog=catalog, settings=settings,
        pops_body=json.dumps({"count": len(pop_records), "pops": list(pop_records.values())},
                             separators=(",", ":"), allow_nan=False).encode(),
        origins_body=json.dumps({"count": len(origin_records),
                                 "origins": list(origin_records.values())},
                                separators=(",", ":"), allow_nan=False).encode(),
        pop_records=pop_records, origin_records=origin_records,
    )
    # Dash callbacks carry uploads base64-encoded (4/3 of the file) plus the scenario state; the
    # API enforces max_upload_bytes exactly itself (_read_body).
    server.config["MAX_CONTENT_LENGTH"] = settings.max_upload_bytes * 4 // 3 + (1 << 20)
    server.register_blueprint(bp)
    server.before_request(_route_api_paths)
    server.register_error_handler(ApiError, _api_error)
