"""The chart of the support view: modelled RTT via each access point for one client (why it
lands where it does). Pure Plotly: data in, ``go.Figure`` out. Units: ms, km.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboard.figures.common import BACKBONE_COLOR, INTERNET_COLOR


def explain_figure(ranking: pd.DataFrame, chosen: str | None, observed: str | None = None,
                   top: int = 8) -> go.Figure:
    """Modelled RTT via each PoP (internet leg + backbone leg, ms), the nearest healthy ones
    first, plus the observed PoP if it is not among them. The chosen PoP is outlined."""
    r = ranking[ranking["up"]].head(top)
    if observed and observed not in set(r["pop_id"]):
        r = pd.concat([r, ranking[ranking["pop_id"] == observed]])
    labels = [f"{p} · {d:,.0f} km" + ("" if u else " (down)")
              for p, d, u in zip(r["pop_id"], r["distance_km"], r["up"])]
    backbone = r["anycast_ms"].to_numpy(float) - r["internet_ms"].to_numpy(float)
    fig = go.Figure()
    fig.add_trace(go.Bar(name="Internet leg", y=labels, x=r["internet_ms"].to_numpy(float),
                         orientation="h", marker_color=INTERNET_COLOR,
                         hovertemplate="%{y}: internet %{x:.0f} ms<extra></extra>"))
    fig.add_trace(go.Bar(name="Backbone leg (+ PoP)", y=labels, x=backbone, orientation="h",
                         marker_color=BACKBONE_COLOR,
                         hovertemplate="%{y}: backbone %{x:.0f} ms<extra></extra>"))
    line_w = [3 if p == chosen else (2 if p == observed else 0) for p in r["pop_id"]]
    line_c = ["#111827" if p == chosen else "#7C3AED" for p in r["pop_id"]]
    fig.update_traces(marker_line_width=line_w, marker_line_color=line_c)
    fig.update_layout(barmode="stack", height=40 + 26 * len(r), margin=dict(l=8, r=8, t=28, b=30),
                      paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="#FAFBFC",
                      legend=dict(orientation="h", y=1.0, yanchor="bottom", x=0,
                                  font=dict(size=11)),
                      xaxis=dict(title="modelled RTT (ms)", gridcolor="#E5E7EB"),
                      yaxis=dict(autorange="reversed", tickfont=dict(size=11)))
    return fig
