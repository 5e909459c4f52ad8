"""The support view: why a client lands on its access point (client picker, explanation filled by
a callback) and sharing/exporting the scenario (CSV, JSON, import), and the renderer of the
explanation's view-model (:func:`dashboard.services.support.explain_view`).
"""

from __future__ import annotations

from dash import dash_table, dcc, html

from dashboard import ids
from dashboard.figures.support import explain_figure
from dashboard.layout.components import table_style
from dashboard.services.support import ExplainView

#: Columns of the explanation table (built by the support callback): (id, header, type).
EXPLAIN_COLUMNS = (
    ("rank", "#", "numeric"), ("pop", "Access point", "text"), ("state", "State", "text"),
    ("distance_km", "km", "numeric"), ("internet_ms", "Internet ms", "numeric"),
    ("backbone_ms", "Backbone ms", "numeric"), ("anycast_ms", "Total ms", "numeric"),
    ("delta_ms", "vs chosen", "numeric"), ("probability_pct", "BGP likely %", "numeric"),
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


def render_explain(view: ExplainView) -> list:
    """Children of the explain panel (``dashboard.services.support.explain_view``)."""
    if view.hint:
        return [html.P(view.hint, className="hint")]
    summary = html.Div(className="explain-kpis", children=[
        html.Div([html.B(view.chosen), html.Span(" chosen")]),
        html.Div([html.B(view.runner_up), html.Span(f" runner-up, {view.margin} farther")]),
        html.Div([html.B(view.where), html.Span(f" weight {view.weight}")]),
    ])
    detour = ([html.Div(className="detour", children=[html.B(view.detour[0]), view.detour[1]])]
              if view.detour[0] else [])
    options = [{"label": "not recorded (the model's choice)", "value": ""}] + [
        {"label": label, "value": value} for value, label in view.pop_options]
    chosen = view.chosen if view.chosen != "no route" else "-"
    table = dash_table.DataTable(
        id=ids.EXPLAIN_TABLE, data=list(view.rows),
        columns=[{"id": cid, "name": n, "type": t,
                  **({"format": {"specifier": {"delta_ms": "+,.0f", "probability_pct": ".1f"}
                                 .get(cid, ",.0f")}}
                     if t == "numeric" else {})}
                 for cid, n, t in EXPLAIN_COLUMNS],
        sort_action="native", page_action="none", **table_style(),
        tooltip_header={"probability_pct": "Landing probability over the healthy access "
                                           "points, learned from root-DNS catchments "
                                           "(docs/calibration.md, Landing probabilities)"},
        style_table={"overflowX": "auto", "maxHeight": "360px", "overflowY": "auto"},
        style_cell_conditional=[{"if": {"column_id": k}, "textAlign": "left"}
                                for k in ("pop", "state")]
        + [{"if": {"column_id": "rank"}, "width": "28px", "minWidth": "28px"}]
        + [{"if": {"column_id": k}, "width": "66px", "maxWidth": "80px"}
           for k in ("distance_km", "internet_ms", "backbone_ms", "anycast_ms", "delta_ms",
                     "probability_pct")],
        style_data_conditional=[
            {"if": {"filter_query": f'{{pop_id}} = "{chosen}"'},
             "backgroundColor": "#FFF1E6", "fontWeight": "600"},
            {"if": {"filter_query": f'{{pop_id}} = "{view.observed or "-"}"'},
             "backgroundColor": "#EDE9FE"},
            {"if": {"filter_query": '{state} = "down"'}, "color": "#9CA3AF"},
        ])
    return [
        html.H3(view.title, className="explain-title"),
        html.P(view.conclusion, id=ids.EXPLAIN_VERDICT, className="explain-verdict"),
        summary,
        html.Ul([html.Li(t) for t in view.facts], className="explain-facts"),
        html.Div(className="landing", id=ids.EXPLAIN_LANDING, children=[
            html.B(view.landing), html.Br(),
            html.Span(view.landing_note, className="hint landing-note")]),
        *detour,
        html.Div(className="inline-form observed-row", children=[
            html.Label("Observed entry point (e.g. from a traceroute)",
                       htmlFor=ids.OBSERVED_POP, className="field-label"),
            dcc.Dropdown(id={"type": ids.OBSERVED_POP, "client": view.index},
                         options=options, value=view.observed or "", clearable=False,
                         searchable=True, className="observed-select"),
        ]) if view.observable else html.P(
            "A client of the client set: add it as your own client (e.g. by its coordinates) "
            "to record where it was observed entering.", className="hint"),
        html.P(view.bgp_note, className="bgp-note"),
        dcc.Graph(id=ids.EXPLAIN_CHART, config={"displayModeBar": False},
                  figure=explain_figure(view.ranking, view.chosen if view.chosen != "no route"
                                        else None, view.observed)),
        html.H4("Every access point, nearest healthy first", className="subhead"),
        table,
    ]
