"""Baseline of benchmarks/page_load.py: a bare Dash page holding one 19-point scattergeo (the
catalog's PoPs) with Dash's defaults -- the full plotly.js bundle, no compression, Dash's own
cache headers -- and the same offline world outline (our topojson assets), so that both pages
draw land with the network closed.

    gunicorn benchmarks.page_baseline_app:server
"""

from __future__ import annotations

import plotly.graph_objects as go
from dash import Dash, dcc, html

from dashboard.catalog import default_catalog
from dashboard.settings import ASSETS_DIR

cat = default_catalog()
# Only the topojson of our assets folder: no CSS, no scripts, no vendored plotly.js.
app = Dash(__name__, assets_folder=str(ASSETS_DIR), assets_ignore=r".*\.(js|css)$",
           serve_locally=True, update_title=None)
fig = go.Figure(go.Scattergeo(lat=cat.pops["lat"], lon=cat.pops["lon"], mode="markers",
                              text=cat.pops["id"], marker=dict(size=10)))
fig.update_layout(margin=dict(l=0, r=0, t=0, b=0),
                  geo=dict(showland=True, landcolor="#E9ECEF", projection_type="natural earth"))
app.layout = html.Div([dcc.Graph(id="world-map", figure=fig,
                                 config={"topojsonURL": app.get_asset_url("topojson/")},
                                 style={"height": "90vh"})])
server = app.server
