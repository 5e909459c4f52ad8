"""The sidebar's "Provider" section: the operator's Anycast EIPs (read with the SDK or from a
saved responses file), one chosen, its endpoints previewed, "Load into scenario", and the report
of the provider's access point / region lists against the catalog. The view-model comes from
:mod:`dashboard.services.provider`; docs/provider.md describes the feature.
"""

from __future__ import annotations

from dash import dash_table, dcc, html

from dashboard import ids
from dashboard.layout.components import section
from dashboard.layout.map import render_notices
from dashboard.services.provider import OFF_TEXT, ProviderView


def provider_section(live: bool) -> html.Section:
    """The static part; ``live``: ``ANYCAST_PROVIDER_API`` is on (the "Read my account" button
    is offered)."""
    return section(
        "Provider",
        dcc.Store(id=ids.PROVIDER_LOAD_EDIT, data=None),
        dcc.Store(id=ids.PROVIDER_SOURCE, data=None),
        html.P("Load your live Anycast EIP's endpoints and PoP mappings (read-only).",
               className="hint"),
        html.Div(className="provider-actions", children=[
            html.Button("Read my account", id=ids.PROVIDER_REFRESH, n_clicks=0,
                        className="btn btn-sm", disabled=not live,
                        title="Lists the account's Anycast EIPs with Alibaba Cloud's SDK"
                        if live else OFF_TEXT),
            dcc.Upload(id=ids.PROVIDER_UPLOAD, multiple=False,
                       accept=".json,application/json", className="upload",
                       children=html.Div(["or drop / ", html.A("choose saved responses (JSON)")])),
        ]),
        dcc.Dropdown(id=ids.PROVIDER_EIP, options=[], value=None, clearable=False,
                     searchable=False, placeholder="Anycast EIP…"),
        html.Div(id=ids.PROVIDER_BODY, className="provider-body",
                 children=[] if live else render_notices([("info", OFF_TEXT)])),
        html.Button("Load into scenario", id=ids.PROVIDER_LOAD, n_clicks=0,
                    className="btn btn-sm", disabled=True),
    )


def render_provider(view: ProviderView) -> list:
    """Children of :data:`ids.PROVIDER_BODY`: messages, the chosen EIP's endpoints as they will
    load, what did not map, and the catalog report (a small table)."""
    out: list = []
    if view.endpoints:
        out.append(html.Ul(className="provider-endpoints",
                           children=[html.Li(line) for line in view.endpoints]))
    out += render_notices(view.notes)
    out += render_notices(view.messages)
    if view.diff_rows:
        out.append(html.Details(className="provider-diff", children=[
            html.Summary(view.diff_title),
            *render_notices(view.diff_notes),
            dash_table.DataTable(
                columns=[{"id": "kind", "name": "kind"}, {"id": "api_id", "name": "API id"},
                         {"id": "catalog", "name": "catalog"}],
                data=[{k: r[k] for k in ("kind", "api_id", "catalog")} for r in view.diff_rows],
                page_size=30, style_table={"overflowX": "auto"},
                style_cell={"fontSize": "12px", "textAlign": "left"}),
        ]))
    return out
