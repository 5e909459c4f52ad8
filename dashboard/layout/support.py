"""The support view: why a client lands on its access point (client picker, explanation filled by
a callback) and sharing/exporting the scenario (CSV, JSON, import), and the renderer of the
explanation's view-model (:func:`dashboard.services.support.explain_view`).
"""

from __future__ import annotations

from dash import dash_table, dcc, html

from dashboard import ids
from dashboard.figures.support import explain_figure
from dashboard.layout.components import LazyPanel, table_style
from dashboard.services.observe import MeasuredView, TraceView
from dashboard.services.support import ExplainView

#: Columns of the explanation table (built by the support callback): (id, header, type).
EXPLAIN_COLUMNS = (
    ("rank", "#", "numeric"), ("pop", "Access point", "text"), ("state", "State", "text"),
    ("distance_km", "km", "numeric"), ("internet_ms", "Internet ms", "numeric"),
    ("backbone_ms", "Backbone ms", "numeric"), ("anycast_ms", "Total ms", "numeric"),
    ("delta_ms", "vs chosen", "numeric"), ("probability_pct", "BGP likely %", "numeric"),
)


def support_panel() -> html.Div:
    """The support view's panel (a ``LazyPanel``: mounted when its tab is first chosen): the
    explanation card (filled by :mod:`dashboard.callbacks.support`) and the share/export card."""
    return LazyPanel(id=ids.PANEL_SUPPORT, hidden=True, className="view-panel", children=[
        html.Div(className="support-grid", children=[
            html.Div(className="support-main", children=[html.Div(className="card", children=[
                html.H2("Why does this client land there?"),
                html.Label("Client (or click a client on the map, or a row of the table)",
                           htmlFor=ids.EXPLAIN_CLIENT, className="field-label"),
                dcc.Dropdown(id=ids.EXPLAIN_CLIENT, options=[], placeholder="Pick a client…",
                             clearable=False, className="explain-client"),
                html.Div(id=ids.EXPLAIN_BODY, className="explain-body"),
            ]), observations_card()]),
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


#: Columns of the traceroute evidence table: (id, header, type).
EVIDENCE_COLUMNS = (
    ("hop", "Hop", "numeric"), ("host", "Hostname", "text"), ("code", "Code", "text"),
    ("metro", "Metro", "text"), ("pop", "PoP", "text"), ("km", "km to PoP", "numeric"),
    ("rtt_ms", "Best ms", "numeric"), ("floor_ms", "Light floor ms", "numeric"),
    ("verdict", "Verdict", "text"),
)
#: Columns of the measured-vs-modelled table.
MEASURED_COLUMNS = (
    ("client", "Client", "text"), ("pop", "PoP", "text"), ("basis", "PoP from", "text"),
    ("measured_ms", "Measured ms", "numeric"), ("modelled_ms", "Modelled ms", "numeric"),
    ("error_ms", "Error ms", "numeric"), ("error_pct", "Error %", "numeric"),
)


def observations_card() -> html.Div:
    """The observations card: a pasted traceroute/mtr for the explained client (evidence of
    its entry point, "Use as observed PoP") and a CSV of measured RTTs beside the model
    (docs/observations.md)."""
    return html.Div(className="card observations-card", children=[
        html.H2("Observations"),
        html.Label("Paste traceroute / mtr output (for the client picked above)",
                   htmlFor=ids.TRACE_TEXT, className="field-label"),
        dcc.Textarea(id=ids.TRACE_TEXT, className="trace-text mono", value="", wrap="off",
                     spellCheck="false",
                     placeholder="traceroute, traceroute -n, tracert, mtr --report(-wide), "
                                 "mtr --json or mtr --csv output",
                     style={"width": "100%", "height": "140px"}),
        html.Div(className="button-row", children=[
            html.Button("Analyse", id=ids.TRACE_ANALYSE, n_clicks=0, className="btn btn-ghost"),
            html.Button("Use as observed PoP", id=ids.TRACE_APPLY, n_clicks=0,
                        className="btn btn-primary",
                        title="Infer the entry access point from the hop names and record it "
                              "as the picked client's observed entry point"),
        ]),
        html.Div(id=ids.TRACE_RESULT, className="trace-result", **{"aria-live": "polite"}),
        html.H4("Measured RTTs (CSV)", className="subhead"),
        html.P("Columns: index (client number), client (name) or lat and lon; rtt_ms; "
               "optional pop (the entry point seen).", className="hint"),
        dcc.Textarea(id=ids.MEASURED_TEXT, className="measured-text mono", value="", wrap="off",
                     spellCheck="false",
                     placeholder="index,rtt_ms,pop\n1,21.5,FRA",
                     style={"width": "100%", "height": "90px"}),
        html.Div(className="button-row", children=[
            html.Button("Compare with the model", id=ids.MEASURED_COMPARE, n_clicks=0,
                        className="btn btn-ghost"),
            dcc.Upload(id=ids.MEASURED_UPLOAD, multiple=False, accept=".csv,text/csv,text/plain",
                       className="upload upload-inline",
                       children=html.Div(["or ", html.A("upload a CSV")])),
        ]),
        html.Div(id=ids.MEASURED_RESULT, className="measured-result", **{"aria-live": "polite"}),
    ])


def _table(table_id: str, rows: tuple[dict, ...], columns: tuple, left: tuple[str, ...]
           ) -> dash_table.DataTable:
    return dash_table.DataTable(
        id=table_id, data=list(rows),
        columns=[{"id": cid, "name": n, "type": t,
                  **({"format": {"specifier": ",.1f" if cid.endswith("_ms") else ",.0f"}}
                     if t == "numeric" else {})} for cid, n, t in columns],
        sort_action="native", page_action="none", **table_style(),
        style_table={"overflowX": "auto", "maxHeight": "320px", "overflowY": "auto"},
        style_cell_conditional=[{"if": {"column_id": k}, "textAlign": "left"} for k in left])


def render_trace(view: TraceView) -> list:
    """Children of the traceroute evidence panel
    (:func:`dashboard.services.observe.trace_view`)."""
    level = "trace-found" if view.pop else "trace-none"
    out: list = [html.P(view.status, className=f"trace-status {level}")]
    if view.client:
        out.append(html.P(f"Client {view.client}" + (f" · read as {view.fmt}" if view.fmt else ""),
                          className="hint"))
    if view.rtt:
        out.append(html.P(view.rtt, className="trace-rtt"))
    if view.rows:
        out.append(_table(ids.TRACE_EVIDENCE, view.rows, EVIDENCE_COLUMNS,
                          ("host", "code", "metro", "pop", "verdict")))
    out += [html.P(n, className="hint") for n in view.notes]
    out.append(html.P(view.caveat, className="hint caveat"))
    return out


def render_measured(view: MeasuredView) -> list:
    """Children of the measured-vs-modelled panel
    (:func:`dashboard.services.observe.measured_view`)."""
    out: list = [html.P(view.summary, className="measured-summary")]
    if view.rows:
        out.append(_table(ids.MEASURED_TABLE, view.rows, MEASURED_COLUMNS,
                          ("client", "pop", "basis")))
    if view.problems:
        out.append(html.Ul([html.Li(p) for p in view.problems], className="hint"))
    return out
