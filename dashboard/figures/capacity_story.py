"""The capacity story's chart: the PoP × N-1 utilisation heat map. Pure Plotly: data in,
``go.Figure`` out; offline.

The app ships a partial plotly.js bundle (bar, scatter, scattergeo, choropleth: docs/performance.md)
without the heatmap trace, so the heat map is a stack of horizontal bars: one bar trace per column
(access point), each row (the access point lost) made of equal-width segments coloured by their
utilisation. The colours come from the capacity map's scale
(:data:`dashboard.figures.capacity.UTIL_SCALE`, 0-150 %), computed here; a marker-only scatter
carries the colour bar. Units: utilisation in %.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.colors import hex_to_rgb

from dashboard.figures.capacity import UTIL_MAX, UTIL_SCALE

#: Cells with no value (the lost PoP itself, PoPs already down).
EMPTY_COLOR = "#F3F4F6"
ROW_PX = 20


def util_color(pct: float) -> str:
    """The colour of ``pct`` % on :data:`UTIL_SCALE` (0 to :data:`UTIL_MAX` × 100 %), as
    ``rgb(r,g,b)``; :data:`EMPTY_COLOR` for NaN."""
    if not np.isfinite(pct):
        return EMPTY_COLOR
    x = min(max(pct / (100.0 * UTIL_MAX), 0.0), 1.0)
    for (x0, c0), (x1, c1) in zip(UTIL_SCALE, UTIL_SCALE[1:]):
        if x <= x1:
            f = 0.0 if x1 == x0 else (x - x0) / (x1 - x0)
            a, b = hex_to_rgb(c0), hex_to_rgb(c1)
            return "rgb({},{},{})".format(*(round(p + f * (q - p)) for p, q in zip(a, b)))
    return "rgb({},{},{})".format(*hex_to_rgb(UTIL_SCALE[-1][1]))


def n1_heatmap_figure(lost: Sequence[str], pops: Sequence[str],
                      util_pct: np.ndarray | None) -> go.Figure:
    """Rows = the access point lost, columns = every access point, cells = its utilisation (%)
    once the row's point is lost (nominal load / capacity). Empty figure with a note when there
    is no demand."""
    fig = go.Figure()
    if util_pct is None or not len(lost):
        fig.add_annotation(text="No demand yet: the heat map shows each access point's "
                                "utilisation once another is lost.", xref="paper",
                           yref="paper", x=0.5, y=0.5, showarrow=False,
                           font=dict(size=12, color="#6B7280"))
        fig.update_xaxes(visible=False)
        fig.update_yaxes(visible=False)
        fig.update_layout(height=120, margin=dict(l=8, r=8, t=8, b=8),
                          paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)")
        return fig
    z = np.asarray(util_pct, dtype=float)
    rows = list(lost)
    for j, col in enumerate(pops):
        v = z[:, j]
        fig.add_trace(go.Bar(
            orientation="h", y=rows, x=np.ones(len(rows)), name=col, showlegend=False,
            marker=dict(color=[util_color(c) for c in v], line=dict(color="#FFFFFF", width=1)),
            # 0 % cells stay blank: the loaded ones stand out
            text=["" if not np.isfinite(c) or c < 0.5 else f"{c:.0f}" for c in v],
            textposition="inside", insidetextanchor="middle", textangle=0,
            textfont=dict(size=8, color=["#FFFFFF" if np.isfinite(c) and c >= 100 else "#111827"
                                         for c in v]),
            customdata=np.c_[np.array(lost, dtype=object), np.full(len(rows), col, dtype=object),
                             np.where(np.isfinite(v), np.round(v, 1), -1)],
            hovertemplate="if %{customdata[0]} fails: %{customdata[1]} at %{customdata[2]} %"
                          "<extra></extra>"))
    # the colour bar (the bars carry explicit colours)
    fig.add_trace(go.Scatter(
        x=[None], y=[None], mode="markers", showlegend=False, hoverinfo="skip",
        marker=dict(color=[0], cmin=0, cmax=100 * UTIL_MAX, colorscale=UTIL_SCALE, showscale=True,
                    colorbar=dict(title=dict(text="util. %", side="right"), thickness=10,
                                  len=0.9, ticksuffix=" %"))))
    fig.update_xaxes(range=[0, len(pops)], tickmode="array",
                     tickvals=np.arange(len(pops)) + 0.5, ticktext=list(pops), side="top",
                     tickfont=dict(size=9), tickangle=-90, showgrid=False, zeroline=False,
                     title=dict(text="utilisation at (access point)", font=dict(size=10)))
    fig.update_yaxes(autorange="reversed", tickfont=dict(size=9), showgrid=False,
                     title=dict(text="access point lost", font=dict(size=10)))
    fig.update_layout(barmode="stack", bargap=0, height=90 + ROW_PX * len(rows),
                      margin=dict(l=60, r=8, t=64, b=8), paper_bgcolor="rgba(0,0,0,0)",
                      plot_bgcolor="rgba(0,0,0,0)")
    return fig
