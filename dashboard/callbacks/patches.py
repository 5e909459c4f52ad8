"""Patches of figures the page already shows (:class:`dash.Patch`): a what-if on a large client
set changes a few arrays, not the 25,000 positions the browser already holds."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any, Sequence

import numpy as np

import plotly.graph_objects as go
from dash import Patch

from dashboard.figures import cdf as cdf_figures
from dashboard.figures import map as map_figures
from dashboard.figures.common import typed_array


def figure_patch(traces: Sequence[go.Scattergeo], animation_id: str = "") -> Patch:
    """A :class:`dash.Patch` turning the map the browser shows (same base key, see
    :func:`dashboard.services.map.map_base_key`) into one with ``traces``: every layer except
    the clients' is replaced whole (they are small), the clients layer gets only what a what-if
    changes -- its numbers, PoP ids, colours and hover template -- and keeps its positions and
    names in the browser; of the layout only the failover animation id changes."""
    patch = Patch()
    ci = map_figures.map_trace_index(map_figures.CLIENTS)
    for i, trace in enumerate(traces):
        if i != ci:
            patch["data"][i] = map_figures.plain(trace.to_plotly_json())
    clients = traces[ci]
    for key in ("customdata", "hovertext", "hovertemplate"):
        patch["data"][ci][key] = map_figures.plain(clients[key])
    patch["data"][ci]["marker"] = map_figures.plain(clients.marker.to_plotly_json())
    patch["layout"]["meta"] = {"failover": animation_id}
    return patch


#: Curves kept by :func:`cdf_curve_kept` (a few KB each).
CURVES_KEPT = 8
_curves: "OrderedDict[bytes, tuple[np.ndarray, np.ndarray]]" = OrderedDict()
_curves_lock = threading.Lock()


def cdf_curve_kept(values: Any, weights: Any) -> tuple[np.ndarray, np.ndarray]:
    """:func:`dashboard.figures.cdf.cdf_curve`, kept for the last :data:`CURVES_KEPT` inputs
    (keyed by a digest of the values and weights): a PoP going down never changes the direct
    curve, so a what-if sorts 25,000 RTTs once, not twice."""
    v = np.ascontiguousarray(values, dtype=float)
    w = None if weights is None else np.ascontiguousarray(weights, dtype=float)
    digest = hashlib.blake2b(v.tobytes(), digest_size=16)
    digest.update(b"|" if w is None else w.tobytes())
    key = digest.digest()
    with _curves_lock:
        hit = _curves.get(key)
        if hit is not None:
            _curves.move_to_end(key)
            return hit
    curve = cdf_figures.cdf_curve(v, w)
    for a in curve:  # shared between answers: never written
        a.flags.writeable = False
    with _curves_lock:
        _curves[key] = curve
        while len(_curves) > CURVES_KEPT:
            _curves.popitem(last=False)
    return curve


def cdf_patch(anycast_ms: Any, direct_ms: Any, weights: Any) -> Patch:
    """The RTT CDF's new curves as a Patch of the two traces' x and y (its layout is static)."""
    patch = Patch()
    for i, values in enumerate((anycast_ms, direct_ms)):
        x, y = cdf_curve_kept(values, weights)
        patch["data"][i]["x"] = typed_array(x)
        patch["data"][i]["y"] = typed_array(y)
    return patch
