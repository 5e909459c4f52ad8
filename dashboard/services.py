"""Service functions: what callbacks, the API and the CLI call. They bind the catalog to the pure
domain and take primitive, hashable arguments (tuples of rounded coordinates, frozensets of ids)
so that they can be memoized by flask-caching, which keys on ``repr()`` of the arguments.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd

from dashboard.catalog import Catalog
from dashboard.domain import paths


def down_mask(catalog: Catalog, down: Iterable[str]) -> np.ndarray:
    """Boolean mask over PoPs from ids (``KeyError`` naming an unknown id)."""
    return catalog.pop_mask(sorted(set(down)))


def route_table(catalog: Catalog, clients: tuple[tuple[float, float], ...], origin_id: str,
                down: frozenset[str] = frozenset()) -> pd.DataFrame:
    """Path of every client (lat, lon in degrees) to ``origin_id``; see ``paths.client_paths``."""
    origin = catalog.origin(origin_id)
    lats = np.array([c[0] for c in clients], dtype=float)
    lons = np.array([c[1] for c in clients], dtype=float)
    return paths.client_paths(lats, lons, catalog.pop_ids, catalog.pop_lats, catalog.pop_lons,
                              float(origin["lat"]), float(origin["lon"]),
                              down=down_mask(catalog, down))


def rank_for_point(catalog: Catalog, lat: float, lon: float, origin_id: str,
                   down: frozenset[str] = frozenset()) -> pd.DataFrame:
    """Every PoP ranked for one client; see ``paths.rank_pops``."""
    origin = catalog.origin(origin_id)
    return paths.rank_pops(lat, lon, catalog.pop_ids, catalog.pop_lats, catalog.pop_lons,
                           float(origin["lat"]), float(origin["lon"]),
                           down=down_mask(catalog, down))
