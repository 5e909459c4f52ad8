"""Baseline for P4: a bare Flask app whose one endpoint runs one vectorised nearest-PoP.

``GET /nearest?lat=..&lon=..`` parses two floats, runs a numpy haversine over the 19 PoPs, takes
the argmin and returns ``{"pop": id, "km": d}``. No validation, no latency model, no cache, no
Dash: the floor of what any answer served by this gunicorn configuration can cost.
"""

from __future__ import annotations

import numpy as np
from flask import Flask, jsonify, request

from dashboard.catalog import default_catalog

_catalog = default_catalog()
_ids = list(_catalog.pop_ids)
_lat = np.radians(_catalog.pop_lats)
_lon = np.radians(_catalog.pop_lons)
_R_KM = 6371.0088  # mean earth radius (sphere)

server = Flask(__name__)


@server.get("/nearest")
def nearest():
    lat = np.radians(float(request.args["lat"]))
    lon = np.radians(float(request.args["lon"]))
    h = (np.sin((_lat - lat) / 2) ** 2
         + np.cos(lat) * np.cos(_lat) * np.sin((_lon - lon) / 2) ** 2)
    km = 2 * _R_KM * np.arcsin(np.sqrt(h))
    i = int(np.argmin(km))
    return jsonify(pop=_ids[i], km=round(float(km[i]), 1))
