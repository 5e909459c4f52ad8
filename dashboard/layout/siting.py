"""The "Where to add a PoP" card of the capacity view (issue 20.2): run the ranking (a
background job with progress and cancel), an optional list of your own sites, the table of the
best sites with an "add it" button each (an ``add-planned`` edit), the greedy best 1-3, and a
map of the sites. Layout and renderers only; the callbacks are in
:mod:`dashboard.callbacks.siting`, the numbers in :mod:`dashboard.services.siting`."""

from __future__ import annotations

from typing import Any

from dash import dcc, html

from dashboard import ids
from dashboard.layout.components import geo_graph_config
from dashboard.services.siting import MAX_CANDIDATES, SitingView

#: What the card says the ranking is (and is not); docs/planning.md, "Where to add a PoP".
SITING_NOTE = (
    "Ranks candidate sites by how much lower the demand-weighted mean RTT of the capacity "
    "view's demand would be with one more access point there, through the same routing policy "
    "and latency model as the map. Candidates: the 1,000 largest cities outside the Chinese "
    "mainland (the product has no access point there), or your own list. Latency only: "
    "capacity, cost and whether the provider can open an access point there are not ranked; "
    "a planned access point is not something a customer can buy (docs/planning.md).")
IDLE = "Runs in the background: the page stays usable."
COLUMNS = (("rank", "#"), ("name", "Site"), ("country", "Country"), ("gain_ms", "Gain ms"),
           ("mean_after_ms", "Mean after ms"), ("p95_after_ms", "p95 after ms"),
           ("demand_moving_pct", "Demand moving %"), ("clients_moving", "Points moving"))


def siting_card(topojson_url: str | None = None) -> html.Div:
    """The card (inside the capacity panel)."""
    return html.Div(className="card siting-card", children=[
        html.Div(className="card-head", children=[
            html.H2("Where to add a PoP"),
            html.Div(className="inline-form", children=[
                html.Button("Where to add a PoP", id=ids.SITING_RUN, n_clicks=0,
                            className="btn"),
                html.Button("Cancel", id=ids.SITING_CANCEL, n_clicks=0, disabled=True,
                            className="btn btn-ghost"),
            ]),
        ]),
        html.P(SITING_NOTE, className="hint"),
        html.Details(className="assumptions", children=[
            html.Summary("Your own candidate sites (optional)"),
            dcc.Textarea(id=ids.SITING_SITES, value="", maxLength=100_000,
                         placeholder="one per line: lat,lon[,name]  e.g. -26.2041,28.0473,"
                                     "Johannesburg", className="text-input siting-sites",
                         style={"width": "100%", "height": "5em"}),
            html.P(f"Empty: the largest cities. At most {MAX_CANDIDATES:,} sites.",
                   className="hint"),
        ]),
        html.Div(className="progress-row", children=[
            html.Progress(id=ids.SITING_PROGRESS, value="0", max="100", className="progress"),
            html.Span(id=ids.SITING_STATUS, className="hint", children=IDLE),
        ]),
        dcc.Store(id=ids.SITING_RESULT),
        html.Div(id=ids.SITING_NOTE, className="hint"),
        html.Div(id=ids.SITING_STALE, className="hint-warning"),
        html.Div(id=ids.SITING_GREEDY, className="siting-greedy"),
        html.Div(id=ids.SITING_TABLE, className="siting-table"),
        dcc.Graph(id=ids.SITING_MAP, className="siting-map", style={"height": "360px"},
                  config=geo_graph_config(topojson_url, "anycast-eip-where-to-add")),
    ])


def _cell(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:,.2f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def render_table(view: SitingView | None) -> Any:
    """The table of the best sites, an "add it" button per row (:func:`ids.siting_add`)."""
    if view is None or not view.rows:
        return ""
    head = html.Tr([html.Th(n) for _c, n in COLUMNS] + [html.Th("")])
    body = []
    for i, r in enumerate(view.rows):
        name = f"{r['name']} ({r['id']})"
        cells = [html.Td(name if c == "name" else _cell(r.get(c))) for c, _n in COLUMNS]
        cells.append(html.Td(html.Button(
            "add it", id=ids.siting_add(i), n_clicks=0, className="btn btn-small",
            title=f"Add a planned access point {r['id']} at {r['lat']}, {r['lon']}")))
        body.append(html.Tr(cells, className="siting-row"))
    return html.Table(className="whatif-table siting-rows",
                      children=[html.Thead(head), html.Tbody(body)])


def render_note(view: SitingView | None) -> Any:
    """The line under the button: what was ranked (a warning when the scenario changed)."""
    if view is None:
        return ""
    if not view.stale:
        return view.note
    return html.Span(["The scenario changed since this ranking: ", html.B("run it again"),
                      f" to update it. ({view.note})"], className="hint-warning")
