"""The capacity view: demand and capacity inputs, key numbers, the capacity map, load per access
point, the utilisation table and the N-1 analysis. Layout only; the callbacks are in
:mod:`dashboard.callbacks.capacity`. Units: Gbps (demand, load, capacity), Mbps per unit of
client weight.
"""

from __future__ import annotations

from typing import Any, Sequence

from dash import dash_table, dcc, html

from dashboard import ids
from dashboard.domain.scenario import (DEFAULT_CAPACITY_GBPS, DEFAULT_INSTANCE_MBPS,
                                      DEFAULT_POPULATION_GBPS, MAX_INSTANCE_MBPS)
from dashboard.domain import bias as bias_core
from dashboard.domain.cost import AREA_KEYS, INSTANCE, TRANSFER, UTILISATION
from dashboard.services.capacity import INSTANCE_CAVEAT, PRICE_NOTE, CostPanel
from dashboard.layout.components import LazyPanel, geo_graph_config, kpis_or_hint, table_style
from dashboard.layout.siting import siting_card
from dashboard.layout.capacity_story import story_card
from dashboard.services.text import Kpi

THROTTLE_RULE = (
    "Rule: demand goes to its nearest healthy access point and stays there: BGP anycast does not "
    "re-route traffic because a point is loaded. When a point's demand exceeds its capacity, it "
    "serves up to its capacity and the excess is throttled (dropped or congested; the same "
    "fraction of every client's demand). Demand in = served + throttled + no route. To move "
    "load away, withdraw the point (mark it down) or remap endpoints, and compare."
)
SPILL_RULE = (
    "What-if (not documented product behaviour): the excess at a full access point moves on to "
    "each client's next-nearest healthy access point, which accepts it up to its headroom; this "
    "repeats down the ranking. Demand left when every access point is full is unserved."
)
CAPACITY_ASSUMPTIONS = (
    f"Bandwidth: the documented limit is per Anycast EIP instance ({DEFAULT_INSTANCE_MBPS:,.0f} "
    f"Mbps peak by default, up to {MAX_INSTANCE_MBPS:,.0f} Mbps, summed over all access points; "
    "a reference upper limit that may be lower during contention); it is compared with the "
    "total demand. Per-access-point capacity is a provider-side planning assumption (no per-PoP "
    "capacity is published): the value set in the table, else data/pops.csv's capacity_gbps, "
    f"else the default ({DEFAULT_CAPACITY_GBPS:g} Gbps unless you change it). Units: client "
    "weight × the scale = Mbps; load and capacity in Gbps (1 Gbps = 1000 Mbps)."
)
EXPECTED_NOTE = (
    "Expected load: every demand point's Gbps spread over the healthy access points by its "
    "landing probability (learned from measured root-DNS catchments; docs/calibration.md, "
    "Landing probabilities), before spill-over. An estimate of where BGP would likely bring "
    "the demand, not a promise; the deterministic columns follow the routing policy."
)
POPULATION_NOTE = (
    "Population demand: every city of ≥ 15 000 inhabitants in the offline gazetteer (GeoNames), "
    "demand proportional to population, scaled to the total you set. No per-country "
    "internet-user share is applied: no package available offline provides one."
)

CAPACITY_COLUMNS = (
    ("pop_id", "PoP", "text", False), ("city", "City", "text", False),
    ("capacity_gbps", "Capacity Gbps ✎", "numeric", True),
    ("capacity_source", "set by", "text", False),
    ("nominal_gbps", "Demand Gbps", "numeric", False),
    ("utilisation_pct", "Util. %", "numeric", False),
    ("served_gbps", "Served Gbps", "numeric", False),
    ("throttled_gbps", "Throttled Gbps", "numeric", False),
    ("spilled_out_gbps", "Out Gbps", "numeric", False),
    ("spilled_in_gbps", "In Gbps", "numeric", False),
    ("expected_gbps", "Expected Gbps", "numeric", False),
    ("expected_pct", "Exp. util. %", "numeric", False),
    ("clients", "Points", "numeric", False),
    ("bias_ms", "Bias ms", "numeric", False),
    ("unbiased_gbps", "Without bias Gbps", "numeric", False),
    ("bias_delta_gbps", "Δ bias Gbps", "numeric", False),
)
BIAS_NOTE = (
    "Announcement what-if (docs/bias.md): a bias makes an access point look worse (+ ms, like "
    "AS-path prepending) or better (− ms) to route selection, so its catchment shrinks or "
    "grows; the RTTs stay the real modelled ones via the access point reached. Network policy: "
    "added to the modelled internet RTT; geographic policy: converted to distance with the "
    "latency model's own slope (~47 km per ms); landing probabilities shift the same way. "
    "This is traffic engineering the operator performs on its announcements (prepending, "
    "selective announcement, communities): a customer cannot set it, and real prepending moves "
    "traffic in steps, network by network, not smoothly. Withdrawing = marking a PoP down."
)
N1_COLUMNS = (
    ("pop_id", "Lost PoP", "text"), ("clients_moved", "Points moved", "numeric"),
    ("demand_moved", "Gbps moved", "numeric"), ("moved_to", "Moved to (Gbps)", "text"),
    ("p50_change_ms", "Δ p50 ms", "numeric"), ("p95_change_ms", "Δ p95 ms", "numeric"),
    ("p95_after_ms", "p95 after ms", "numeric"),
    ("worst_pop", "Worst elsewhere", "text"), ("worst_utilisation_pct", "Its util. %", "numeric"),
    ("unserved", "Unserved Gbps", "numeric"),
)
def _fmt(ctype: str, specifier: str = ",.2f") -> dict:
    return {"specifier": specifier} if ctype == "numeric" else {}


def capacity_controls(source: str = "clients", scale: float | None = None,
                      default_gbps: float | None = None) -> list:
    """The demand and capacity inputs, filled from the scenario (re-rendered when it changes)."""
    population = source == "population"
    return [
        html.Div(className="control", children=[
            html.Label("Demand", className="field-label"),
            dcc.RadioItems(id=ids.DEMAND_SOURCE, value=source, className="radio-col", options=[
                {"label": "Scenario clients (weight × scale = Mbps)", "value": "clients"},
                {"label": "World population (34 000 cities)", "value": "population"}]),
        ]),
        html.Div(className="control", children=[
            html.Label("Total demand, Gbps" if population else "Mbps per unit of weight",
                       htmlFor=ids.DEMAND_SCALE, className="field-label"),
            dcc.Input(id=ids.DEMAND_SCALE, type="number", min=0.000001, step="any",
                      debounce=True, value=scale if scale is not None else (
                          DEFAULT_POPULATION_GBPS if population else 1.0),
                      className="text-input num-input"),
        ]),
        html.Div(className="control", children=[
            html.Label("PoP capacity (planning assumption), Gbps", htmlFor=ids.DEFAULT_CAPACITY,
                       className="field-label"),
            dcc.Input(id=ids.DEFAULT_CAPACITY, type="number", min=0.000001, step="any",
                      debounce=True, value=default_gbps if default_gbps is not None
                      else DEFAULT_CAPACITY_GBPS, className="text-input num-input"),
        ]),
    ]


def bias_card(pop_ids: Sequence[str] = ()) -> html.Div:
    """The announcement what-if: one slider per access point (ms, :data:`bias.SLIDER_MIN_MS`..
    :data:`bias.SLIDER_MAX_MS`), a reset, and the note on what a bias means. The sliders write
    ``bias`` edits and show the scenario's values (``assets/capacity_plan.js``)."""
    marks = {v: f"{v:+d}" if v else "0" for v in (bias_core.SLIDER_MIN_MS, 0,
                                                   bias_core.SLIDER_MAX_MS)}
    sliders = [html.Div(className="bias-row", children=[
        html.Span(pid, className="bias-label", title=f"Bias of {pid}, ms"),
        dcc.Slider(id=ids.bias_slider(pid), min=bias_core.SLIDER_MIN_MS,
                   max=bias_core.SLIDER_MAX_MS, step=bias_core.SLIDER_STEP_MS, value=0,
                   marks=marks, included=False, updatemode="mouseup",
                   tooltip={"placement": "bottom", "always_visible": False}),
    ]) for pid in pop_ids]
    return html.Div(id=ids.BIAS_CARD, className="card bias-card", children=[
        html.Div(className="card-head", children=[
            html.H2("Announcement what-if: bias per access point (ms of preference)"),
            html.Button("Reset bias", id=ids.BIAS_RESET, n_clicks=0,
                        className="btn btn-ghost"),
        ]),
        html.P(BIAS_NOTE, className="hint"),
        html.Div(sliders, className="bias-grid"),
    ])


def capacity_panel(topojson_url: str | None = None, pop_ids: Sequence[str] = ()) -> html.Div:
    """The capacity view's panel (a ``LazyPanel``: mounted when its tab is first chosen);
    ``topojson_url``: where its map loads the world outline; ``pop_ids``: the access points that
    get a bias slider."""
    cap_cols = [{"id": c, "name": n, "type": t, "editable": e,
                 "format": _fmt(t, ",.0f" if c in ("clients", "utilisation_pct", "expected_pct")
                                else ("+,.3~f" if c == "bias_delta_gbps"
                                      else ("+,.1~f" if c == "bias_ms" else ",.3~f")))}
                for c, n, t, e in CAPACITY_COLUMNS]
    n1_cols = [{"id": c, "name": n, "type": t,
                "format": _fmt(t, ",.0f" if c in ("clients_moved", "worst_utilisation_pct")
                               else ("+,.1f" if "change" in c else ",.3~f"))}
               for c, n, t in N1_COLUMNS]
    return LazyPanel(id=ids.PANEL_CAPACITY, hidden=True, className="view-panel", children=[
        html.Div(className="card capacity-controls", children=[
            html.Div(className="controls-row", children=[
                html.Div(id=ids.CAPACITY_CONTROLS, className="controls-row",
                         children=capacity_controls()),
                html.Div(className="control", children=[
                    html.Label("Instance bandwidth, Mbps", htmlFor=ids.INSTANCE_MBPS,
                               className="field-label", title=INSTANCE_CAVEAT),
                    dcc.Input(id=ids.INSTANCE_MBPS, type="number", min=1,
                              max=MAX_INSTANCE_MBPS, step="any", debounce=True,
                              value=DEFAULT_INSTANCE_MBPS, className="text-input num-input"),
                ]),
                html.Div(className="control", children=[
                    html.Label("What-if", className="field-label"),
                    dcc.Checklist(id=ids.SPILL_WHATIF, value=[], className="check-row",
                                  options=[{"label": "Provider re-routes overload to the next "
                                                     "PoP (not documented)", "value": "on"}]),
                ]),
                html.Div(className="control", children=[
                    html.Label("Map", className="field-label"),
                    dcc.Checklist(id=ids.SHOW_CATCHMENTS, value=["on"], className="check-row",
                                  options=[{"label": "Catchments (2° cells)", "value": "on"}]),
                ]),
            ]),
            html.P(INSTANCE_CAVEAT, className="hint"),
            html.Details(className="assumptions", children=[
                html.Summary("Assumptions and units"),
                html.P(CAPACITY_ASSUMPTIONS, className="hint"),
                html.P(POPULATION_NOTE, className="hint"),
                html.P(EXPECTED_NOTE, className="hint"),
            ]),
        ]),
        html.Div(id=ids.CAPACITY_KPIS, className="summary capacity-kpis"),
        story_card(),
        html.Div(className="card map-card", children=dcc.Loading(
            type="dot", delay_show=300, children=dcc.Graph(
                id=ids.CAPACITY_MAP, className="capacity-map", responsive=True,
                style={"height": "100%"},
                config=geo_graph_config(topojson_url, "anycast-eip-capacity-map")))),
        html.P(THROTTLE_RULE, className="rule-note"),
        html.P(SPILL_RULE, className="hint"),
        html.Div(className="capacity-grid", children=[
            html.Div(className="card", children=[
                html.H2("Load per access point"),
                dcc.Graph(id=ids.LOAD_BARS, config={"displayModeBar": False}),
            ]),
            html.Div(className="card", children=[
                html.H2("Utilisation (edit a capacity to plan)"),
                dash_table.DataTable(
                    id=ids.POP_TABLE, columns=cap_cols, data=[], editable=False,
                    sort_action="native", page_action="none",
                    style_table={"overflowX": "auto", "maxHeight": "292px", "overflowY": "auto"},
                    **table_style(),
                    style_cell_conditional=[
                        {"if": {"column_id": c}, "textAlign": "left"}
                        for c in ("pop_id", "city", "capacity_source")] + [
                        {"if": {"column_id": "capacity_gbps"}, "backgroundColor": "#FFF7ED",
                         "fontWeight": "600"}],
                    style_data_conditional=[
                        {"if": {"filter_query": "{utilisation_pct} > 100",
                                "column_id": "utilisation_pct"},
                         "backgroundColor": "#FEE2E2", "color": "#991B1B", "fontWeight": "600"},
                        {"if": {"filter_query": "{utilisation_pct} > 70 && {utilisation_pct} <= 100",
                                "column_id": "utilisation_pct"},
                         "backgroundColor": "#FEF3C7", "color": "#92400E"},
                        {"if": {"filter_query": "{expected_pct} > 100",
                                "column_id": "expected_pct"},
                         "backgroundColor": "#FEF3C7", "color": "#92400E", "fontWeight": "600"},
                        {"if": {"filter_query": "{bias_delta_gbps} < 0",
                                "column_id": "bias_delta_gbps"}, "color": "#166534",
                         "fontWeight": "600"},
                        {"if": {"filter_query": "{bias_delta_gbps} > 0",
                                "column_id": "bias_delta_gbps"}, "color": "#B34700",
                         "fontWeight": "600"},
                        {"if": {"filter_query": "{up} = false"}, "color": "#9CA3AF"},
                    ],
                    tooltip_header={"capacity_gbps": "Click to edit (Gbps, > 0)",
                                    "capacity_source": "scenario (edited here), catalog "
                                                       "(data/pops.csv) or default",
                                    "throttled_gbps": "Demand above this PoP's capacity: "
                                                      "dropped or congested (BGP does not "
                                                      "move it elsewhere)",
                                    "spilled_out_gbps": "What-if only: excess sent on to "
                                                        "other PoPs",
                                    "spilled_in_gbps": "What-if only: spill-over accepted "
                                                       "from other PoPs",
                                    "clients": "Demand points whose nearest healthy PoP "
                                               "this is",
                                    "nominal_gbps": "Demand whose nearest healthy PoP this is",
                                    "served_gbps": "Demand accepted (up to the capacity)",
                                    "utilisation_pct": "Demand / capacity",
                                    "expected_gbps": EXPECTED_NOTE,
                                    "expected_pct": "Expected load / capacity",
                                    "bias_ms": "Announcement bias of this PoP (+ = penalty, "
                                               "- = bonus; route selection only)",
                                    "unbiased_gbps": "Demand whose PoP this would be without "
                                                     "any announcement bias",
                                    "bias_delta_gbps": "Demand the announcement bias moved "
                                                       "here (+) or away (-)"}),
            ]),
        ]),
        bias_card(pop_ids),
        cost_card(),
        html.Div(className="card n1-card", children=[
            html.Div(className="card-head", children=[
                html.H2("N-1: what losing each access point does"),
                html.Div(className="inline-form", children=[
                    html.Button("Run N-1 analysis", id=ids.N1_RUN, n_clicks=0, className="btn"),
                    html.Button("Cancel", id=ids.N1_CANCEL, n_clicks=0, disabled=True,
                                className="btn btn-ghost"),
                    html.Button("Download CSV", id=ids.N1_EXPORT, n_clicks=0, disabled=True,
                                className="btn btn-ghost", title="Run the analysis first"),
                    dcc.Download(id=ids.N1_DOWNLOAD),
                ]),
            ]),
            html.Div(className="progress-row", children=[
                html.Progress(id=ids.N1_PROGRESS, value="0", max="100", className="progress"),
                html.Span(id=ids.N1_STATUS, className="hint",
                          children="Runs in the background: the page stays usable."),
            ]),
            html.Div(id=ids.N1_NOTE, className="hint"),
            dcc.Store(id=ids.N1_RESULT),
            html.Div(className="n1-grid", children=[
                dash_table.DataTable(
                    id=ids.N1_TABLE, columns=n1_cols, data=[], sort_action="native",
                    page_size=19, style_table={"overflowX": "auto"},
                    **table_style(),
                    style_cell_conditional=[{"if": {"column_id": c}, "textAlign": "left"}
                                            for c in ("pop_id", "moved_to", "worst_pop")]
                    + [{"if": {"column_id": "moved_to"}, "minWidth": "170px"}],
                    style_data_conditional=[
                        {"if": {"filter_query": "{worst_utilisation_pct} > 100",
                                "column_id": "worst_utilisation_pct"},
                         "backgroundColor": "#FEE2E2", "color": "#991B1B"},
                        {"if": {"filter_query": "{p95_change_ms} > 10",
                                "column_id": "p95_change_ms"}, "color": "#B34700",
                         "fontWeight": "600"},
                        {"if": {"filter_query": "{unserved} > 0", "column_id": "unserved"},
                         "color": "#991B1B", "fontWeight": "600"},
                    ],
                    tooltip_header={
                        "p95_change_ms": "Change of the demand-weighted 95th percentile of "
                                         "modelled RTT (nearest healthy PoP; can be negative: "
                                         "the next PoP may be nearer the origin)",
                        "worst_pop": "Access point with the highest demand / capacity once "
                                     "the lost one's demand has moved to the next-nearest",
                        "unserved": "Demand not served once the point is lost: throttled at "
                                    "full access points plus no route (under the spill-over "
                                    "what-if: after spill-over)"}),
                dcc.Graph(id=ids.N1_CHART, config={"displayModeBar": False}),
            ]),
        ]),
        siting_card(topojson_url),
    ])


#: The cost inputs: (key, label, unit) in the order shown.
COST_INPUTS = ((INSTANCE, "Instance fee", "per month"),
               (TRANSFER, "Data transfer to the origin", "per GB"),
               *[(key, f"Internet traffic, {area}", "per GB") for area, key in AREA_KEYS.items()],
               (UTILISATION, "Average utilisation", "% of the demand"))


def cost_card() -> html.Div:
    """The cost estimate panel: price inputs (filled from the scenario by
    ``assets/capacity_plan.js``) and the estimate (:data:`ids.COST_PANEL`, drawn by the round
    trip)."""
    inputs = [html.Div(className="control", children=[
        html.Label(f"{label}, {unit}", className="field-label"),
        dcc.Input(id=ids.cost_input(key), type="number", min=0,
                  max=100 if key == UTILISATION else None, step="any", debounce=True,
                  placeholder="100" if key == UTILISATION else "not entered",
                  className="text-input num-input")]) for key, label, unit in COST_INPUTS]
    return html.Div(className="card cost-card", children=[
        html.H2("Cost estimate (pay-by-data-transfer, per month)"),
        html.P(PRICE_NOTE, className="hint"),
        html.Div(inputs, className="controls-row"),
        html.Div(id=ids.COST_PANEL),
    ])


def render_cost(panel: CostPanel | None) -> list:
    """The estimate: one row per line, the total (with what is missing)."""
    if panel is None:
        return []
    head = html.Tr([html.Th(h) for h in ("", "GB / month", "Price", "Cost")])
    body = [html.Tr([html.Td(r["item"]), html.Td(r["gb"]), html.Td(r["price"]),
                     html.Td(r["cost"])]) for r in panel.rows]
    return [html.Table(className="whatif-table cost-table",
                       children=[html.Thead(head), html.Tbody(body)]),
            html.P(html.B(f"Total: {panel.total}"),
                   className="" if panel.complete else "hint-warning")]


def render_capacity_kpis(kpis: Sequence[Kpi]) -> list:
    """The capacity tab's key numbers, or how to get demand."""
    return kpis_or_hint(kpis, "No demand yet: add clients (their weight × scale = Mbps) in the "
                              "sidebar, or choose World population as the demand.")


def render_n1_note(note: tuple[str, bool] | None) -> Any:
    """The line under the N-1 table (:func:`dashboard.services.capacity.n1_note`): when and how
    it was computed; a warning when stale; "" without a result."""
    if note is None:
        return ""
    note, stale = note
    if not stale:
        return note
    return html.Span(["The scenario changed since this analysis: ", html.B("run it again"),
                      f" to update it. ({note})"], className="hint-warning")
