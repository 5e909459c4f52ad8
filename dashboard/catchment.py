"""Public landing-probability API: :func:`dashboard.domain.catchment.landing_probabilities` with
the shipped fitted model.

Units: degrees in; great-circle km on a sphere inside (see :mod:`dashboard.domain.catchment`).
The model file is ``$ANYCAST_CATCHMENT_MODEL`` if set, else ``data/catchment_model.json``
(written by ``python -m calibration catchment``; fitted on measured root DNS catchments, see
``docs/calibration.md``, "Landing probabilities"), read once per path and cached.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from dashboard.domain import catchment as _d
from dashboard.domain.catchment import FEATURES, CatchmentParams, params_from_dict
from dashboard.settings import DEFAULT_CATCHMENT_MODEL, catchment_model_path

__all__ = ["FEATURES", "CatchmentParams", "DEFAULT_CATCHMENT_MODEL", "default_params",
           "landing_probabilities", "load_metadata", "load_params"]


def _read(path: Path) -> dict:
    try:
        doc = json.loads(Path(path).read_text())
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the catchment model: {exc.strerror or exc}") \
            from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a JSON file: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("params"), dict):
        raise ValueError(f"{path}: expected a JSON object with a 'params' object")
    return doc


def load_params(path: str | Path) -> CatchmentParams:
    """Validated model parameters from a file shaped like ``data/catchment_model.json``;
    ``ValueError`` names the file and the problem."""
    try:
        return params_from_dict(_read(Path(path))["params"])
    except ValueError as exc:
        msg = str(exc)
        raise ValueError(msg if msg.startswith(str(path)) else f"{path}: {msg}") from None


def load_metadata(path: str | Path | None = None) -> dict:
    """Provenance and cross-validated figures stored with the model (``meta``)."""
    return dict(_read(Path(path or catchment_model_path())).get("meta", {}))


@lru_cache(maxsize=4)
def _cached(path: str) -> CatchmentParams:
    return load_params(path)


def default_params() -> CatchmentParams:
    """The model in use: ``$ANYCAST_CATCHMENT_MODEL`` or the shipped fitted file (cached)."""
    return _cached(str(catchment_model_path()))


def landing_probabilities(client_lats: object, client_lons: object, site_lats: object,
                          site_lons: object, k: int = 5,
                          params: CatchmentParams | None = None, site_bias_km: object = None
                          ) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` most likely landing sites of every client, and how likely each is.

    Degrees in. Returns ``(indices, probabilities)``, both of shape ``(n, k)``: site indices
    (rows of ``site_lats``/``site_lons``, int64) ranked by probability, and their probabilities;
    each row sums to at most 1 (the rest is beyond ``k``). Works for any list of sites (the
    features are computed from coordinates only). ``k`` beyond the number of sites pads with
    index -1 and probability 0; invalid coordinates raise ``ValueError`` naming the problem.
    ``params`` defaults to :func:`default_params`. ``site_bias_km``: the announcement bias as
    km per site (:mod:`dashboard.domain.catchment`), None = none.
    """
    return _d.landing_probabilities(client_lats, client_lons, site_lats, site_lons, k,
                                    params=default_params() if params is None else params,
                                    site_bias_km=site_bias_km)
