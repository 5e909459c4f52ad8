"""Public latency API: the model of :mod:`dashboard.domain.latency` with parameters defaulting to
the shipped fitted file.

Units: degrees in, round-trip ms out; WGS84 geodesic distances. Every function takes an optional
``params``; ``None`` means :func:`default_params` -- the file named by the ``ANYCAST_LATENCY_PARAMS``
environment variable if set, else ``data/latency_model.json`` (written by
``python -m calibration``), read once and cached. Override single knobs for "what if"
views with :func:`with_overrides` (e.g. ``with_overrides(default_params(), {"pop_overhead_ms": 2})``).

Client access type: the internet-leg functions take ``access`` (``"end-user"`` or
``"datacenter"``, :data:`ACCESS_TYPES`). The default is ``"end-user"`` (issue 19: the dashboard's
clients are end users; the access network is part of every internet leg); ``access=None`` means
the type the parameters in use carry (``params.access``; the shipped file says ``"datacenter"``,
the calibration's base). Pass ``access="datacenter"`` for the server-to-server numbers. Route
tables and services carry the type inside ``params`` (:func:`params_with`, :func:`with_access`);
the backbone leg never has an access term.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from dashboard.domain import latency as _d
from dashboard.domain.latency import (
    ACCESS_TYPES,
    FIBRE_KM_PER_MS,
    OVERRIDE_RANGES,
    TUNABLE,
    LatencyParams,
    canonical_overrides,
    floor_rtt_ms,
    params_from_dict,
    with_access,
    with_overrides,
)
from dashboard.settings import DEFAULT_LATENCY_PARAMS, latency_params_path

DEFAULT_PARAMS_FILE = DEFAULT_LATENCY_PARAMS
ENV_VAR = "ANYCAST_LATENCY_PARAMS"  # read by dashboard.settings.latency_params_path

__all__ = [
    "ACCESS_TYPES", "FIBRE_KM_PER_MS", "OVERRIDE_RANGES", "TUNABLE", "LatencyParams", "anycast_rtt_ms",
    "backbone_rtt_ms", "canonical_overrides", "default_params", "direct_rtt_ms", "fitted_values",
    "floor_rtt_ms", "internet_rtt_band_ms", "internet_rtt_ms", "load_metadata", "load_params",
    "params_from_dict", "params_with", "with_access", "with_overrides",
]


def _read(path: Path) -> dict:
    try:
        doc = json.loads(Path(path).read_text())
    except OSError as exc:
        raise ValueError(f"{path}: cannot read latency parameters: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a JSON file: {exc}") from None
    if not isinstance(doc, dict):
        raise ValueError(f"{path}: expected a JSON object")
    return doc


def load_params(path: str | Path) -> LatencyParams:
    """Validated parameters from a JSON file: either the calibration output (``{"meta": ...,
    "params": {...}}``) or a bare parameter object. A bad file raises ``ValueError`` naming the
    file and the field."""
    path = Path(path)
    doc = _read(path)
    body = doc.get("params", doc) if "params" in doc else doc
    try:
        return params_from_dict(body)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def load_metadata(path: str | Path = DEFAULT_PARAMS_FILE) -> dict:
    """Provenance and cross-validation figures stored next to the parameters (``meta``)."""
    return dict(_read(Path(path)).get("meta", {}))


@lru_cache(maxsize=4)
def _cached(path: str) -> LatencyParams:
    return load_params(path)


def default_params() -> LatencyParams:
    """The parameters in use: ``$ANYCAST_LATENCY_PARAMS`` or the shipped fitted file (cached)."""
    return _cached(str(latency_params_path()))


@lru_cache(maxsize=32)
def _with(base: LatencyParams, overrides: tuple[tuple[str, float], ...]) -> LatencyParams:
    return with_overrides(base, dict(overrides))


def params_with(overrides: tuple[tuple[str, float], ...] = (),
                access: str | None = None) -> LatencyParams:
    """:func:`default_params` with ``overrides`` (canonical ``((name, value), ...)``, see
    :func:`canonical_overrides`) applied, for clients of type ``access`` (None: as the
    parameters say, ``"datacenter"`` in the shipped file); no overrides and no other type gives
    :func:`default_params` itself. Cached, so equal arguments give the same object (and share
    its derived arrays). ``ValueError`` names a bad override or access type.

    The services call it with the scenario's access type (``Scenario.access``, end users by
    default): that is how the dashboard, the API and the CLI apply the access term."""
    base = default_params() if not overrides else _with(default_params(), tuple(overrides))
    return _p(base, access)


def fitted_values() -> dict[str, float]:
    """Every :data:`TUNABLE` scalar of :func:`default_params` (the fitted, or configured, model)
    by name: what the UI shows as "fitted" next to an override."""
    p = default_params()
    return {k: float(getattr(p, k)) for k in TUNABLE}


@lru_cache(maxsize=32)
def _access(base: LatencyParams, access: str) -> LatencyParams:
    return with_access(base, access)


def _p(params: LatencyParams | None, access: str | None = None) -> LatencyParams:
    """The parameters to use: ``params`` or :func:`default_params`, for clients of type
    ``access`` (None = as the parameters say). ``ValueError`` names a bad ``access``."""
    p = default_params() if params is None else params
    if access is None or access == p.access:
        return p
    if not isinstance(access, str) or access not in ACCESS_TYPES:
        raise ValueError(f"access {str(access)[:40]!r} is not one of "
                         f"{', '.join(repr(a) for a in ACCESS_TYPES)}")
    return _access(p, access)


def internet_rtt_ms(src_lat: object, src_lon: object, dst_lat: object, dst_lon: object,
                    params: LatencyParams | None = None, *,
                    access: str | None = "end-user") -> np.ndarray:
    """Median RTT (ms) over the public internet between two points (degrees); broadcasting.

    ``access``: who the client (``src``) is -- ``"end-user"`` (the default: a home/office
    access network) or ``"datacenter"`` (the server-to-server fit); None = ``params.access``
    (the shipped parameters: ``"datacenter"``).
    """
    return _d.internet_rtt_ms(src_lat, src_lon, dst_lat, dst_lon, _p(params, access))


def internet_rtt_band_ms(src_lat: object, src_lon: object, dst_lat: object, dst_lon: object,
                         params: LatencyParams | None = None, *,
                         access: str | None = "end-user") -> tuple[np.ndarray, np.ndarray]:
    """``(p25, p75)`` RTT band (ms) around :func:`internet_rtt_ms` (same ``access``)."""
    return _d.internet_rtt_band_ms(src_lat, src_lon, dst_lat, dst_lon, _p(params, access))


def backbone_rtt_ms(pop_lat: object, pop_lon: object, origin_lat: object, origin_lon: object,
                    params: LatencyParams | None = None) -> np.ndarray:
    """RTT (ms) over the provider backbone from an access point to an origin region."""
    return _d.backbone_rtt_ms(pop_lat, pop_lon, origin_lat, origin_lon, _p(params))


def anycast_rtt_ms(client_lat: object, client_lon: object, pop_lat: object, pop_lon: object,
                   origin_lat: object, origin_lon: object,
                   params: LatencyParams | None = None, *,
                   access: str | None = "end-user") -> np.ndarray:
    """Anycast path RTT (ms): internet leg to the PoP (with the client's ``access`` term, end
    users by default) + PoP overhead + backbone leg (never an access term)."""
    return _d.anycast_rtt_ms(client_lat, client_lon, pop_lat, pop_lon, origin_lat, origin_lon,
                             _p(params, access))


def direct_rtt_ms(client_lat: object, client_lon: object, origin_lat: object, origin_lon: object,
                  params: LatencyParams | None = None, *,
                  access: str | None = "end-user") -> np.ndarray:
    """Direct path RTT (ms): the internet leg straight from the client to the origin, with the
    same ``access`` term as the anycast path (end users by default; so the saving compares like
    with like)."""
    return _d.direct_rtt_ms(client_lat, client_lon, origin_lat, origin_lon, _p(params, access))
