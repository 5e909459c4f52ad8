"""Charts of the capacity view: the capacity map, load per access point and the N-1 chart. Pure
Plotly: data in, ``go.Figure`` out.

Like the world map (:mod:`dashboard.figures.map`), the capacity map has a named, fixed trace order
(:data:`CAPACITY_TRACES`) so that callbacks and tests address layers by name. Units: Gbps for
demand/load/capacity, ms for RTT, degrees for coordinates. Arrays are numpy (typed arrays in the
browser): the catchment layer of 16 200 cells costs ~250 kB of JSON (measured), not MBs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from dashboard.figures.common import BACKBONE_COLOR, DOWN_COLOR, ORIGIN_COLOR

CATCHMENTS = "Catchments (nearest healthy access point)"
DEMAND = "Demand"
SPILL_LINES = "Spill-over paths"
SPILL = "Spill-over (access point → access point)"
POPS = "Access points (size = demand, colour = utilisation)"
POPS_DOWN = "Access points down"
CAPACITY_TRACES: tuple[str, ...] = (CATCHMENTS, DEMAND, SPILL_LINES, SPILL, POPS, POPS_DOWN)

#: 21 distinct light hues for catchments (PoP i gets colour i mod 21): pastel, so that demand,
#: flows and access points stay readable on top.
PALETTE = tuple(qualitative.Set3) + tuple(qualitative.Pastel1)
#: Utilisation colour scale: green below 70 %, amber to 100 %, red above.
UTIL_SCALE = [[0.0, "#16A34A"], [0.45, "#84CC16"], [0.6, "#FACC15"], [0.667, "#F59E0B"],
              [0.7, "#EF4444"], [1.0, "#7F1D1D"]]
UTIL_MAX = 1.5
OVER_COLOR = "#DC2626"
OK_COLOR = "#2563EB"
SPILL_COLOR = "#7C3AED"
#: Outline of a planned PoP's marker (the world map's planned colour).
PLANNED_RING = "#0F766E"


def capacity_trace_index(name: str) -> int:
    return CAPACITY_TRACES.index(name)


def pop_color(i: int) -> str:
    return PALETTE[int(i) % len(PALETTE)]


def _discrete_scale(n: int) -> list:
    scale = []
    for i in range(n):
        c = pop_color(i)
        scale += [[i / n, c], [(i + 1) / n, c]]
    return scale


#: Most spill-over flows drawn (the largest; issue 17: dozens of arcs became a tangle). The PoP
#: table lists every PoP's spilled-out and spilled-in Gbps.
MAX_FLOWS_DRAWN = 12


def largest_flows(flows: pd.DataFrame, limit: int = MAX_FLOWS_DRAWN) -> pd.DataFrame:
    """The ``limit`` largest positive flows (Gbps), largest first."""
    if not len(flows):
        return flows
    return flows[flows["gbps"] > 0].nlargest(limit, "gbps")


def catchment_hover(pops: pd.DataFrame, cpop: np.ndarray) -> dict:
    """Hover of the catchment cells (issue 17: they had none): "Catchment of FRA", the PoP id
    per cell as ``text`` (~6 bytes of JSON a cell: ~100 kB for the 16,200 cells) and one
    template."""
    ids = pops["id"].to_numpy(object)
    idx = np.asarray(cpop, dtype=int)
    return dict(text=ids[idx] if len(idx) else [],
                hovertemplate="Catchment of <b>%{text}</b><br>nearest healthy access point"
                              "<extra></extra>")


def capacity_map_figure(pops: pd.DataFrame, table: pd.DataFrame, flows: pd.DataFrame,
                        demand: pd.DataFrame,
                        catchment: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
                        step_deg: float = 2.0) -> go.Figure:
    """Capacity map: catchment cells, demand markers, spill-over flows, PoPs by load.

    ``pops``: catalog table (id, name, lat, lon). ``table``: per-PoP view (pop_id, up,
    capacity_gbps, nominal_gbps, served_gbps, utilisation, spilled_out/in_gbps). ``flows``:
    (from_pop, to_pop, gbps). ``demand``: (lat, lon, gbps, label). ``catchment``: cell centres
    and PoP index (None = layer hidden).
    """
    n = len(pops)
    pos = {r.id: (float(r.lat), float(r.lon)) for r in pops.itertuples()}
    traces: dict[str, go.Scattergeo] = {}
    if catchment is not None and len(catchment[0]):
        clat, clon, cpop = catchment
        traces[CATCHMENTS] = go.Scattergeo(
            name=CATCHMENTS, lat=np.asarray(clat, float), lon=np.asarray(clon, float),
            mode="markers", showlegend=True, **catchment_hover(pops, cpop),
            marker=dict(symbol="square", size=6.5, color=np.asarray(cpop, float) + 0.5,
                        colorscale=_discrete_scale(n), cmin=0, cmax=n, opacity=0.55,
                        line=dict(width=0)))
    else:
        traces[CATCHMENTS] = go.Scattergeo(name=CATCHMENTS, lat=np.empty(0), lon=np.empty(0),
                                           mode="markers", visible="legendonly")
    g = demand["gbps"].to_numpy(float) if len(demand) else np.empty(0)
    gmax = float(g.max()) if len(g) and g.max() > 0 else 1.0
    traces[DEMAND] = go.Scattergeo(
        name=DEMAND, lat=demand["lat"].to_numpy(float) if len(demand) else np.empty(0),
        lon=demand["lon"].to_numpy(float) if len(demand) else np.empty(0), mode="markers",
        hovertext=[f"<b>{lab}</b><br>{v * 1000:,.1f} Mbps" for lab, v in
                   zip(demand.get("label", []), g)],
        hoverinfo="text",
        marker=dict(size=2 + 20 * np.sqrt(g / gmax), color="#1E3A8A", opacity=0.38,
                    line=dict(width=0), sizemode="diameter"))
    # Spill-over: one great-circle segment per flow (NaN-separated) and a marker at the target.
    fl = largest_flows(flows)
    la, lo, tl, to, tt, ts = [], [], [], [], [], []
    fmax = float(fl["gbps"].max()) if len(fl) else 1.0
    for r in fl.itertuples():
        (a1, o1), (a2, o2) = pos[r.from_pop], pos[r.to_pop]
        la += [a1, a2, np.nan]
        lo += [o1, o2, np.nan]
        tl.append(a1 + 0.6 * (a2 - a1))
        to.append(o1 + 0.6 * (o2 - o1))
        tt.append(f"<b>{r.from_pop} → {r.to_pop}</b><br>{r.gbps:,.3g} Gbps spilled over")
        ts.append(5 + 10 * np.sqrt(r.gbps / fmax))
    traces[SPILL_LINES] = go.Scattergeo(
        name=SPILL_LINES, lat=np.array(la, float), lon=np.array(lo, float), mode="lines",
        hoverinfo="skip", showlegend=False, line=dict(color=SPILL_COLOR, width=2.2),
        opacity=0.8)
    traces[SPILL] = go.Scattergeo(
        name=SPILL, lat=np.array(tl, float), lon=np.array(to, float), mode="markers",
        hovertext=tt, hoverinfo="text", showlegend=bool(len(fl)),
        marker=dict(symbol="triangle-right", size=np.array(ts, float), color=SPILL_COLOR,
                    line=dict(width=1, color="white")))
    t = table.set_index("pop_id")
    up = [p for p in pops["id"] if bool(t.loc[p, "up"])]
    dn = [p for p in pops["id"] if not bool(t.loc[p, "up"])]
    nominal = t.loc[up, "nominal_gbps"].to_numpy(float) if up else np.empty(0)
    nmax = float(nominal.max()) if len(nominal) and nominal.max() > 0 else 1.0
    util = t.loc[up, "utilisation"].to_numpy(float) if up else np.empty(0)
    # planned (hypothetical) PoPs (docs/planning.md): labelled and ringed, loaded like the others
    planned = set(pops.loc[pops["planned"].astype(bool), "id"]) if "planned" in pops else set()
    traces[POPS] = go.Scattergeo(
        name=POPS, lat=np.array([pos[p][0] for p in up]), lon=np.array([pos[p][1] for p in up]),
        mode="markers+text", text=[f"{p} (planned)" if p in planned else p for p in up],
        textposition="top center",
        textfont=dict(size=10, color=ORIGIN_COLOR), customdata=np.array(up, dtype=object),
        hovertext=[f"<b>{t.loc[p, 'name']}</b> · {p}<br>demand {t.loc[p, 'nominal_gbps']:,.2f} "
                   f"Gbps / capacity {t.loc[p, 'capacity_gbps']:,.2f} Gbps "
                   f"({t.loc[p, 'utilisation']:.0%})<br>served {t.loc[p, 'served_gbps']:,.2f} "
                   f"Gbps · throttled {_throttled(t, p):,.2f}"
                   + (f" · spilled out {t.loc[p, 'spilled_out_gbps']:,.2f} · in "
                      f"{t.loc[p, 'spilled_in_gbps']:,.2f} (what-if)"
                      if t.loc[p, 'spilled_out_gbps'] > 0 or t.loc[p, 'spilled_in_gbps'] > 0
                      else "") for p in up],
        hoverinfo="text",
        marker=dict(size=10 + 26 * np.sqrt(nominal / nmax), color=np.minimum(util, UTIL_MAX),
                    colorscale=UTIL_SCALE, cmin=0, cmax=UTIL_MAX,
                    line=dict(color=[PLANNED_RING if p in planned else "white" for p in up],
                              width=[3.5 if p in planned else 1.5 for p in up]),
                    opacity=0.95,
                    colorbar=dict(title=dict(text="utilisation", side="right"),
                                  tickformat=".0%", thickness=10, len=0.55, x=1.0, y=0.5,
                                  tickvals=[0, 0.5, 1.0, 1.5],
                                  ticktext=["0 %", "50 %", "100 %", "≥150 %"])))
    traces[POPS_DOWN] = go.Scattergeo(
        name=POPS_DOWN, lat=np.array([pos[p][0] for p in dn]),
        lon=np.array([pos[p][1] for p in dn]), mode="markers", showlegend=bool(dn),
        hovertext=[f"<b>{p}</b> down: its demand moves on" for p in dn], hoverinfo="text",
        marker=dict(symbol="x-thin-open", size=13, color=DOWN_COLOR, line=dict(width=3)))
    fig = go.Figure(data=[traces[k] for k in CAPACITY_TRACES])
    fig.update_layout(
        uirevision="capacity-map", margin=dict(l=0, r=0, t=0, b=0),
        paper_bgcolor="rgba(0,0,0,0)", hovermode="closest",
        hoverlabel=dict(bgcolor="white", font=dict(size=12)),
        legend=dict(orientation="v", yanchor="bottom", y=0.01, xanchor="left", x=0.005,
                    bgcolor="rgba(255,255,255,0.85)", bordercolor="#E5E7EB", borderwidth=1,
                    font=dict(size=10.5), itemsizing="constant"),
        geo=dict(projection=dict(type="natural earth"), resolution=110, showland=True,
                 landcolor="#F1F3F5", showocean=True, oceancolor="#E3EEF8",
                 showcountries=True, countrycolor="#C2C8D0", countrywidth=0.5,
                 showcoastlines=True, coastlinecolor="#9CA3AF", coastlinewidth=0.6,
                 showframe=False, bgcolor="rgba(0,0,0,0)", lataxis=dict(range=[-58, 90])),
    )
    return fig


#: Colour of the expected-load bars (landing probabilities): a neutral hue apart from the
#: deterministic stack's.
EXPECTED_COLOR = "#94A3B8"


def _throttled(t: pd.DataFrame, p: str) -> float:
    """Throttled Gbps of PoP ``p`` (0 for a table from before the column existed)."""
    return float(t.loc[p, "throttled_gbps"]) if "throttled_gbps" in t else 0.0


def load_bar_figure(table: pd.DataFrame) -> go.Figure:
    """Load per PoP (Gbps), sorted by demand: own demand served, throttled excess (the default
    rule: congestion at a full PoP), and under the spill-over what-if spill-over received and
    excess spilled out (stacked), with the capacity as a tick. Hover gives utilisation. When the table
    has ``expected_gbps`` (demand spread by landing probability), it is a second bar beside
    each stack (the deterministic stack is drawn as before: bars of one offset group stacked
    by explicit bases, so the two groups can sit side by side)."""
    t = table[table["up"]].sort_values("nominal_gbps", ascending=False, kind="stable")
    x = t["pop_id"].to_numpy(object)
    throttled = (np.clip(t["throttled_gbps"], 0, None).to_numpy(float)
                 if "throttled_gbps" in t else np.zeros(len(t)))
    own = np.clip(t["nominal_gbps"] - t["spilled_out_gbps"] - throttled, 0, None).to_numpy(float)
    expected = "expected_gbps" in t
    fig = go.Figure()
    base = np.zeros(len(t))
    for name, y, color, pattern in (
            ("Own demand served", own, OK_COLOR, ""),
            ("Throttled (congested)", throttled, OVER_COLOR, "x"),
            ("Spill-over received", np.clip(t["spilled_in_gbps"], 0, None).to_numpy(float),
             SPILL_COLOR, ""),
            ("Excess spilled out", np.clip(t["spilled_out_gbps"], 0, None).to_numpy(float),
             OVER_COLOR, "/")):
        fig.add_trace(go.Bar(name=name, x=x, y=y, marker=dict(color=color,
                                                               pattern=dict(shape=pattern)),
                             **(dict(base=base.copy(), offsetgroup="nearest")
                                if expected else {}),
                             hovertemplate="%{x}: %{y:,.3f} Gbps<extra>" + name + "</extra>"))
        base = base + y
    if expected:
        fig.add_trace(go.Bar(
            name="Expected (landing probability)", x=x, y=t["expected_gbps"].to_numpy(float),
            offsetgroup="expected", marker=dict(color=EXPECTED_COLOR),
            customdata=t["expected_utilisation"].to_numpy(float),
            hovertemplate="%{x}: %{y:,.3f} Gbps expected (%{customdata:.0%} of capacity): "
                          "demand spread by landing probability, learned from root-DNS "
                          "catchments<extra></extra>"))
    if "unbiased_gbps" in t and bool((t["bias_delta_gbps"].abs() > 1e-12).any()):
        # the announcement bias moved load: where each PoP's demand was without it
        fig.add_trace(go.Scatter(
            name="Without the bias", x=x, y=t["unbiased_gbps"].to_numpy(float),
            mode="markers", marker=dict(symbol="diamond-open", size=10,
                                        line=dict(width=2, color="#6B21A8")),
            customdata=t["bias_delta_gbps"].to_numpy(float),
            hovertemplate="%{x}: %{y:,.3f} Gbps without the announcement bias "
                          "(%{customdata:+,.3f} Gbps with it)<extra></extra>"))
    fig.add_trace(go.Scatter(
        name="Capacity", x=x, y=t["capacity_gbps"].to_numpy(float), mode="markers",
        marker=dict(symbol="line-ew", size=26, line=dict(width=3, color=ORIGIN_COLOR)),
        customdata=t["utilisation"].to_numpy(float),
        hovertemplate="%{x}: capacity %{y:,.2f} Gbps, demand at %{customdata:.0%}"
                      "<extra></extra>"))
    fig.update_layout(
        barmode="group" if expected else "stack", height=280,
        margin=dict(l=48, r=8, t=40, b=36),
        paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="#FAFBFC", uirevision="load",
        legend=dict(orientation="h", y=1.0, yanchor="bottom", x=0, font=dict(size=11)),
        yaxis=dict(title="Gbps", gridcolor="#E5E7EB", rangemode="tozero"),
        xaxis=dict(tickfont=dict(size=10)), bargap=0.25, bargroupgap=0.05)
    return fig


def n1_figure(table: pd.DataFrame) -> go.Figure:
    """N-1 chart: per lost PoP, demand moved (Gbps), change of p95 RTT (ms) and the worst
    utilisation it causes elsewhere (nominal demand / capacity)."""
    fig = make_subplots(rows=1, cols=3, horizontal_spacing=0.06,
                        subplot_titles=("demand moved (Gbps)", "p95 RTT change (ms)",
                                        "worst utilisation elsewhere"))
    fig.update_annotations(font=dict(size=11, color="#6B7280"))
    if len(table):
        t = table.sort_values("demand_moved", ascending=False, kind="stable")
        x = t["pop_id"].to_numpy(object)
        fig.add_trace(go.Bar(x=x, y=t["demand_moved"].to_numpy(float), marker_color=OK_COLOR,
                             name="demand moved",
                             hovertemplate="without %{x}: %{y:,.3f} Gbps move<extra></extra>"),
                      row=1, col=1)
        d95 = t["p95_change_ms"].to_numpy(float)
        fig.add_trace(go.Bar(x=x, y=d95, name="Δ p95",
                             marker_color=np.where(d95 > 0, BACKBONE_COLOR, "#10B981"),
                             hovertemplate="without %{x}: p95 %{y:+.1f} ms<extra></extra>"),
                      row=1, col=2)
        wu = t["worst_utilisation"].to_numpy(float)
        fig.add_trace(go.Bar(x=x, y=wu, name="worst utilisation",
                             marker_color=np.where(wu > 1, OVER_COLOR, "#9CA3AF"),
                             customdata=t["worst_pop"].to_numpy(object),
                             hovertemplate="without %{x}: %{customdata} at %{y:.0%}"
                                           "<extra></extra>"), row=1, col=3)
        fig.add_hline(y=1.0, line=dict(color=OVER_COLOR, dash="dot", width=1), row=1, col=3)
    else:
        fig.add_annotation(text="Run the analysis to see, for each access point lost, the demand "
                                "that moves, the RTT change and the worst overload elsewhere.",
                           xref="paper", yref="paper", x=0.5, y=0.5, showarrow=False,
                           font=dict(size=12, color="#6B7280"), width=260)
        fig.update_xaxes(visible=False)
        fig.update_yaxes(visible=False)
    if len(table):
        fig.update_yaxes(gridcolor="#E5E7EB", zerolinecolor="#9CA3AF")
        fig.update_yaxes(tickformat=".0%", row=1, col=3)
        fig.update_xaxes(tickfont=dict(size=9), tickangle=-90)
    fig.update_layout(height=250, showlegend=False, margin=dict(l=40, r=8, t=24, b=40),
                      paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="#FAFBFC", bargap=0.25)
    return fig
