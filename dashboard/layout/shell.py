"""The app shell: header, stores, the sidebar, the view tabs and the three view panels.

The page is a CSS grid (``assets/style.css``): a control sidebar on the left (the same for every
view), the main area on the right with a tab bar ("Map" | "Capacity planning" | "Support") and
three panels toggled by their ``hidden`` prop (hidden, not removed), so the map keeps its zoom
and the stores keep their state when the user switches views. The capacity and support panels
are :class:`~dashboard.layout.components.LazyPanel`: their children are in Dash's layout from
the start (callbacks read and write them as before) but mounted only the first time their tab
is shown, then kept mounted (issue 16: the page draws the map sooner). Layout only: no
callbacks and no computation happen here; every id comes from :mod:`dashboard.ids`.
"""

from __future__ import annotations

from typing import Sequence

from dash import dcc, html

from dashboard import ids
from dashboard.catalog import Catalog
from dashboard.latency import fitted_values
from dashboard.figures.map import CLIENTS, PLANNED, map_trace_index
from dashboard.layout.capacity import capacity_panel
from dashboard.layout.components import geo_graph_config
from dashboard.layout.map import (MODEL_NOTE_TEXT, client_controls, endpoint_controls, map_panel,
                                  origin_controls, pop_status_controls)
from dashboard.layout.model import model_section
from dashboard.layout.provider import provider_section
from dashboard.layout.planned import planned_controls
from dashboard.layout.support import support_panel
from dashboard.settings import Settings

#: The views: (tab value, tab label), in tab order.
VIEWS = (("map", "Map"), ("capacity", "Capacity planning"), ("support", "Support"))


def view_tabs() -> dcc.Tabs:
    """The view switcher (tab headers only; the panels are siblings toggled by a callback)."""
    return dcc.Tabs(id=ids.VIEW_TABS, value="map", className="view-tabs",
                    parent_className="view-tabs-parent",
                    children=[dcc.Tab(label=label, value=value, className="view-tab",
                                      selected_className="view-tab--selected")
                              for value, label in VIEWS])


def share_button() -> html.Button:
    """"Copy link": one focusable button (the icon and the words). The link is built in the
    browser from the query the round trip last wrote and the tab shown (``assets/edits.js``
    ``share``); the label says "Copied" until the scenario or the tab changes."""
    return html.Button(
        id=ids.SHARE_LINK, className="share", type="button", n_clicks=0,
        title="Copy a link to this scenario and view",
        children=[html.Span(className="share-icon", **{"aria-hidden": "true"}),
                  html.Span("Copy link", id=ids.SHARE_LABEL, role="status",
                            **{"aria-live": "polite"})])


def with_views(notice: object, map_children: list, topojson_url: str | None = None,
               pop_ids: Sequence[str] = ()) -> list:
    """The main area: notices, the tab bar, and the three view panels (``map_children`` in the
    map panel; ``topojson_url`` for the capacity map's world outline; ``pop_ids``: the access
    points of the capacity view's bias sliders)."""
    return [notice, view_tabs(),
            html.Div(id=ids.PANEL_MAP, className="view-panel", children=map_children),
            capacity_panel(topojson_url, pop_ids), support_panel()]


def map_config(topojson_url: str) -> dict:
    """plotly.js config of the world map (see :func:`~dashboard.layout.components.geo_graph_config`:
    the outline comes from our own assets, not a CDN)."""
    return geo_graph_config(topojson_url, "anycast-map")


def build_layout(catalog: Catalog, topojson_url: str = "/assets/topojson/",
                 preset_options: list[dict] | None = None,
                 max_upload_bytes: int = Settings.max_upload_bytes,
                 provider_api: bool = False, geoip_note: str = "") -> html.Div:
    """The whole page. State lives in the URL and in :data:`ids.SCENARIO` (never in globals).

    ``topojson_url``: where plotly.js loads ``world_110m.json`` (``app.get_asset_url``).
    ``preset_options``: dropdown options ``{"label", "value"}`` of the preset client sets.
    ``provider_api``: live reading of the operator's Anycast EIPs is on (docs/provider.md).
    ``max_upload_bytes``: the upload cap, checked in the browser before a file is sent
    (``assets/upload_guard.js``) so an oversize file gets a notice instead of a refused request.
    ``geoip_note``: the line under the search box about IP addresses (its database and the
    attribution its licence asks for, or how to configure one: services.ipclients.status_note).
    """
    return html.Div(
        className="app",
        children=[
            dcc.Location(id=ids.URL, refresh=False),
            dcc.Store(id=ids.SCENARIO, data=None),
            dcc.Store(id=ids.SCENARIO_EDIT, data=None),
            dcc.Store(id=ids.FAILOVER_FRAMES, data=None),
            dcc.Store(id=ids.FAILOVER_PREV, data=None),
            dcc.Store(id=ids.FAILOVER_STATUS, data=None),
            dcc.Store(id=ids.MAP_BASE, data=None),
            dcc.Store(id=ids.TABLE_BASE, data=None),
            dcc.Store(id=ids.UPLOAD_LIMIT, data=max_upload_bytes),
            dcc.Store(id=ids.WIDGET_VALUES, data={}),
            dcc.Store(id=ids.MAP_LAYERS, data={"clients": map_trace_index(CLIENTS),
                                                  "planned": map_trace_index(PLANNED)}),
            html.Header(
                id=ids.HEADER,
                className="app-header",
                children=[
                    html.Div(className="brand", children=[
                        html.H1("Anycast EIP dashboard"),
                        html.P(f"{len(catalog.pops)} access points · "
                               f"{len(catalog.origins)} origin regions · one anycast IP",
                               className="subtitle"),
                    ]),
                    html.Div(className="header-actions", children=[
                        html.Span("modelled estimates", className="badge",
                                  title=MODEL_NOTE_TEXT),
                        share_button(),
                    ]),
                ],
            ),
            html.Aside(className="sidebar", children=[
                origin_controls(catalog), client_controls(preset_options or [], geoip_note),
                pop_status_controls(catalog), planned_controls(), endpoint_controls(catalog),
                provider_section(provider_api),
                model_section(fitted_values())]),
            html.Main(className="main", children=with_views(
                html.Div(id=ids.NOTICE, className="notice", role="status",
                         **{"aria-live": "polite"}),
                map_panel(map_config(topojson_url)), topojson_url, catalog.pop_ids)),
        ],
    )
