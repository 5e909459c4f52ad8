"""The support view: why a client lands on its access point (client picker, explanation filled by
a callback) and sharing/exporting the scenario (CSV, JSON, import). Layout only; the callbacks are
in :mod:`dashboard.callbacks.support`.
"""

from __future__ import annotations

from dash import dcc, html

from dashboard import ids

#: Columns of the explanation table (built by the support callback): (id, header, type).
EXPLAIN_COLUMNS = (
    ("rank", "#", "numeric"), ("pop", "Access point", "text"), ("state", "State", "text"),
    ("distance_km", "km", "numeric"), ("internet_ms", "Internet ms", "numeric"),
    ("backbone_ms", "Backbone ms", "numeric"), ("anycast_ms", "Total ms", "numeric"),
    ("delta_ms", "vs chosen", "numeric"),
)


def support_panel() -> html.Div:
    """The support view's panel (hidden until its tab is chosen): the explanation card (filled
    by :mod:`dashboard.callbacks.support`) and the share/export card."""
    return html.Div(id=ids.PANEL_SUPPORT, hidden=True, className="view-panel", children=[
        html.Div(className="support-grid", children=[
            html.Div(className="card", children=[
                html.H2("Why does this client land there?"),
                html.Label("Client (or click a client on the map, or a row of the table)",
                           htmlFor=ids.EXPLAIN_CLIENT, className="field-label"),
                dcc.Dropdown(id=ids.EXPLAIN_CLIENT, options=[], placeholder="Pick a client…",
                             clearable=False, className="explain-client"),
                html.Div(id=ids.EXPLAIN_BODY, className="explain-body"),
            ]),
            html.Div(className="card exports-card", children=[
                html.H2("Share and export"),
                html.P("The link (Copy link, top right) holds the whole scenario: clients, "
                       "weights, down access points, observed entry points, capacities and "
                       "demand settings.", className="hint"),
                html.Div(className="button-col", children=[
                    html.Button("Assignment table (CSV)", id=ids.EXPORT_TABLE, n_clicks=0,
                                className="btn btn-ghost"),
                    html.Button("Scenario (JSON)", id=ids.EXPORT_JSON, n_clicks=0,
                                className="btn btn-ghost"),
                ]),
                dcc.Download(id=ids.TABLE_DOWNLOAD),
                dcc.Download(id=ids.JSON_DOWNLOAD),
                dcc.Upload(id=ids.IMPORT_UPLOAD, multiple=False, accept=".json,application/json",
                           className="upload", children=html.Div([
                               "Drop or ", html.A("choose a scenario JSON"),
                               html.Span(" replaces the current scenario", className="mono")])),
                html.P("The map downloads as PNG from its camera button (top right of the map).",
                       className="hint"),
            ]),
        ]),
    ])
