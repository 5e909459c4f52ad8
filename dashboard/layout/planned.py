"""The planned PoPs controls (sidebar) and the gain card (map view): layout and the renderer of
:class:`dashboard.services.planned.GainCard`. No callbacks and no computation happen here;
every id comes from :mod:`dashboard.ids`. What a planned PoP means: docs/planning.md.
"""

from __future__ import annotations

from dash import dash_table, dcc, html

from dashboard import ids
from dashboard.domain.planned import MAX_PLANNED
from dashboard.layout.components import kpi, section, table_style
from dashboard.services.planned import GainCard

PLANNED_HELP = (
    "A planned access point is a what-if of the operator's network (\"what if the provider had "
    "a PoP here?\"), not something a customer can buy: the provider's access points are fixed. "
    f"Routing, failover, capacity and catchments include it. At most {MAX_PLANNED}; see "
    "docs/planning.md.")
#: Plan-mode button classes (assets/map_click.js tests for the "on" class).
PLAN_MODE_OFF = "btn plan-mode"
PLAN_MODE_ON = "btn plan-mode plan-mode--on"


def planned_controls() -> html.Section:
    """The sidebar section: plan mode, typed input (ID:lat,lon / lat, lon / a city name), a city
    picker and the table of planned PoPs (name and capacity editable, rows deletable)."""
    out = section("Planned PoPs (what-if)", *_children())
    out.id = ids.PLANNED_SECTION
    return out


def _children() -> list:
    return [
        html.Div(className="inline-form", children=[
            html.Button("Plan a PoP here", id=ids.PLAN_MODE, n_clicks=0, className=PLAN_MODE_OFF,
                        type="button", title="Then click the map: the click adds a planned "
                        "access point instead of a client (one click; click again to cancel)"),
        ]),
        html.Label("Coordinates or city", htmlFor=ids.PLANNED_INPUT, className="field-label"),
        html.Div(className="inline-form", children=[
            dcc.Input(id=ids.PLANNED_INPUT, type="text", debounce=True, n_submit=0,
                      placeholder="JNB:-26.2041,28.0473 · -26.2, 28.05 · Lagos",
                      className="text-input"),
            html.Button("Add", id=ids.PLANNED_ADD, n_clicks=0, className="btn", type="button"),
        ]),
        dcc.Dropdown(id=ids.PLANNED_CITY, options=[], placeholder="…or pick a city",
                     searchable=True, clearable=True, maxHeight=260, search_order="original",
                     className="city-search"),
        dash_table.DataTable(
            id=ids.PLANNED_TABLE, data=[], row_deletable=True, editable=True,
            columns=[{"id": "id", "name": "Id", "editable": False},
                     {"id": "name", "name": "Name"},
                     {"id": "capacity_gbps", "name": "Gbps", "type": "numeric"}],
            # the rows also carry lat and lon (not shown: the sidebar is narrow; the map and
            # the link show where each one is)
            tooltip_header={"capacity_gbps": "Capacity in Gbps (empty: the default capacity)",
                            "name": "Click to rename", "id": "Remove with ×"},
            style_table={"overflowX": "auto"}, **table_style()),
        html.P(PLANNED_HELP, className="hint"),
    ]


def gain_card() -> html.Div:
    """The gain card's container in the map view (empty and hidden without planned PoPs)."""
    return html.Div(id=ids.PLANNED_GAIN, className="card gain-card", children=[])


def render_gain_card(card: GainCard | None) -> list:
    """Children of the gain card ([] without planned PoPs: the CSS hides an empty card)."""
    if card is None:
        return []
    return [html.H2(card.title, className="gain-title"),
            html.Div(className="summary", children=[kpi(k.label, k.value, k.hint, k.level)
                                                    for k in card.kpis]),
            html.P(" · ".join(card.per_pop), className="hint gain-per-pop"),
            html.P(card.note, className="hint")]
