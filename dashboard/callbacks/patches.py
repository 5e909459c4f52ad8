"""Patches of figures the page already shows (:class:`dash.Patch`): a what-if on a large client
set changes a few arrays, not the 25,000 positions the browser already holds."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any

import numpy as np

from dash import Patch

from dashboard.domain.stats import SortedSample
from dashboard.figures import cdf as cdf_figures
from dashboard.figures import map as map_figures
from dashboard.figures.common import typed_array


def figure_patch(layers: dict[str, dict], animation_id: str = "") -> Patch:
    """A :class:`dash.Patch` turning the map the browser shows (same base key, see
    :func:`dashboard.services.map.map_base_key`) into one with ``layers``
    (:func:`dashboard.figures.map.map_layers` with ``for_patch``): every layer given except the
    clients' is replaced whole (they are small; the aggregated unrouted and unserved layers are
    not given: the same base draws the same), the clients layer gets only what a what-if changes
    -- its numbers, PoP ids, colours and hover template -- and keeps its positions and names in
    the browser; of the layout only the failover animation id changes."""
    patch = Patch()
    for i, name in enumerate(map_figures.MAP_TRACES):
        layer = layers.get(name)
        if layer is None:
            continue
        if name == map_figures.CLIENTS:
            for key in ("customdata", "hovertext", "hovertemplate", "marker"):
                patch["data"][i][key] = map_figures.plain(layer[key])
        else:
            patch["data"][i] = {"type": "scattergeo", **map_figures.plain(layer)}
    patch["layout"]["meta"] = {"failover": animation_id}
    return patch


#: Grid cells kept by :func:`cells_kept` (~0.4 MB each for 25,000 clients).
CELLS_KEPT = 4
_cells: "OrderedDict[str, map_figures.ClientCells]" = OrderedDict()
_cells_lock = threading.Lock()


def cells_kept(base_key: str | None, routes: Any) -> map_figures.ClientCells | None:
    """:func:`dashboard.figures.map.client_cells` of ``routes``, kept for the last
    :data:`CELLS_KEPT` map bases (``base_key``: :func:`dashboard.services.map.map_base_key`,
    which digests everything the cells depend on: the clients, which are routed and served).
    Every what-if on one base has the same cells: ~2 ms saved per what-if on 25,000 clients.
    None below :data:`~dashboard.figures.map.AGGREGATE_FROM` clients (no cells drawn)."""
    if base_key is None or routes is None or len(routes) < map_figures.AGGREGATE_FROM:
        return None
    with _cells_lock:
        hit = _cells.get(base_key)
        if hit is not None:
            _cells.move_to_end(base_key)
            return hit
    cells = map_figures.client_cells(routes)
    for a in cells:  # shared between answers: never written
        a.flags.writeable = False
    with _cells_lock:
        _cells[base_key] = cells
        while len(_cells) > CELLS_KEPT:
            _cells.popitem(last=False)
    return cells


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


def cdf_patch(anycast_ms: Any, direct_ms: Any, weights: Any,
              anycast_sorted: SortedSample | None = None) -> Patch:
    """The RTT CDF's new curves as a Patch of the two traces' x and y (its layout is static).
    ``anycast_sorted``: the anycast RTTs already sorted with their weights (the map view's,
    :attr:`dashboard.services.map.MapView.anycast`): that curve then costs no sort."""
    patch = Patch()
    for i, values in enumerate((anycast_ms, direct_ms)):
        if i == 0 and anycast_sorted is not None:
            x, y = cdf_figures.cdf_curve_sorted(anycast_sorted)
        else:
            x, y = cdf_curve_kept(values, weights)
        patch["data"][i]["x"] = typed_array(x)
        patch["data"][i]["y"] = typed_array(y)
    return patch
