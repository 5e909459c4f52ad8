"""Patches of figures the page already shows (:class:`dash.Patch`): a what-if on a large client
set changes a few arrays, not the 25,000 positions the browser already holds."""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from typing import Any

import numpy as np

from dash import Patch, no_update

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


#: Curves kept by :func:`cdf_curve_kept`, with the inputs they were drawn from (~0.4 MB each
#: for 25,000 clients: a few).
CURVES_KEPT = 4
_curves: "OrderedDict[tuple, tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]]" = (
    OrderedDict())
_curves_lock = threading.Lock()


def _bits(a: np.ndarray) -> np.ndarray:
    """The float64 values of ``a`` as their bit patterns (compared exactly, NaN included)."""
    return a.view(np.int64)


def cdf_curve_kept(values: Any, weights: Any) -> tuple[np.ndarray, np.ndarray]:
    """:func:`dashboard.figures.cdf.cdf_curve`, kept for the last :data:`CURVES_KEPT` inputs: a
    PoP going down never changes the direct curve, so a what-if sorts 25,000 RTTs once, not
    twice. Found by a sample of the inputs, then checked bit for bit against the kept copies
    (~0.05 ms; a digest of the 400 kB cost ~0.4 ms, issue 16)."""
    v = np.ascontiguousarray(values, dtype=float)
    w = None if weights is None else np.ascontiguousarray(weights, dtype=float)
    step = max(1, len(v) // 256)
    key = (len(v), _bits(v[::step]).tobytes(),
           None if w is None else (len(w), _bits(w[::step]).tobytes()))
    with _curves_lock:
        hit = _curves.get(key)
        if hit is not None:
            _curves.move_to_end(key)
    if hit is not None:
        kv, kw, curve = hit
        if np.array_equal(_bits(kv), _bits(v)) and (
                (w is None and kw is None) or (w is not None and kw is not None
                                               and np.array_equal(_bits(kw), _bits(w)))):
            return curve
    curve = cdf_figures.cdf_curve(v, w)
    for a in curve:  # shared between answers: never written
        a.flags.writeable = False
    with _curves_lock:
        _curves[key] = (v.copy(), None if w is None else w.copy(), curve)
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


#: Assignment table rows kept by :func:`table_update`, by key (300 rows each, ~0.5 MB of
#: Python objects): the rows the pages of this process were last sent.
ROWS_KEPT = 16
_rows_kept: "OrderedDict[str, list[dict]]" = OrderedDict()
_rows_lock = threading.Lock()


def table_update(rows: list[dict], shown: Any) -> tuple[Any, Any]:
    """``(data, key)`` for the assignment table and the store :data:`dashboard.ids.TABLE_BASE`.

    ``shown``: the key of the rows the page shows. When this process still has those rows
    (:data:`ROWS_KEPT` kept) and as many rows come now, only the rows that differ are sent (a
    :class:`dash.Patch` assigning them by index: after a what-if on a large client set most of
    the 300 rows are unchanged; their ~140 kB of JSON cost ~1.5 ms to encode, issue 16), or
    ``no_update`` for both when none differ. Otherwise (first answer, another process, a key
    this app did not write, a different number of rows, more than half changed) the rows
    themselves and a new key."""
    old = None
    if isinstance(shown, str) and len(shown) <= 64:
        with _rows_lock:
            old = _rows_kept.get(shown)
            if old is not None:
                _rows_kept.move_to_end(shown)
    if old is not None and len(old) == len(rows):
        changed = [i for i, (a, b) in enumerate(zip(old, rows)) if a != b]
        if not changed:
            return no_update, no_update
        if 2 * len(changed) <= len(rows):
            patch = Patch()
            for i in changed:
                patch[i] = rows[i]
            return patch, _keep(rows)
    return rows, _keep(rows)


def _keep(rows: list[dict]) -> str:
    """Keep ``rows`` under a new random key (the rows are never modified after this)."""
    key = secrets.token_hex(8)
    with _rows_lock:
        _rows_kept[key] = rows
        while len(_rows_kept) > ROWS_KEPT:
            _rows_kept.popitem(last=False)
    return key
