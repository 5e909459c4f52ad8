"""The RTT distribution chart of the map view: the weighted empirical CDF over clients of the
modelled RTT, anycast path vs direct to the origin. Pure Plotly: data in, ``go.Figure`` out.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go

from dashboard.domain.stats import SortedSample, sorted_sample
from dashboard.figures.common import BACKBONE_COLOR, INTERNET_COLOR

#: Most points of each RTT CDF curve (a 220-px-high chart cannot show more steps).
MAX_CDF_POINTS = 600


def cdf_curve(values: Sequence[float], weights: Sequence[float] | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
    """The (x, y) float32 step points of one curve of :func:`rtt_cdf_figure`: the weighted
    empirical CDF of the finite ``values``, from 0 %, at most :data:`MAX_CDF_POINTS` + 1
    points (the last step of each of that many evenly spaced levels)."""
    v = np.asarray(values, dtype=float)
    return cdf_curve_sorted(sorted_sample(
        v, np.ones_like(v) if weights is None else np.asarray(weights, dtype=float)))


def cdf_curve_sorted(sample: SortedSample) -> tuple[np.ndarray, np.ndarray]:
    """:func:`cdf_curve` of a sample already sorted (:func:`~dashboard.domain.stats.sorted_sample`:
    the key numbers sorted the same RTTs for their percentiles)."""
    x = sample.values
    y = (np.cumsum(sample.weights) / sample.total if len(x) and sample.total > 0
         else np.empty(0))
    if len(x) > MAX_CDF_POINTS:
        keep = np.unique(np.searchsorted(y, np.linspace(0, 1, MAX_CDF_POINTS)[1:] * y[-1],
                                         side="left").clip(0, len(y) - 1))
        x, y = x[keep], y[keep]
    if len(x):  # start the step at 0 % so the curve reads as a distribution
        x, y = np.concatenate([[x[0]], x]), np.concatenate([[0.0], y])
    # float32: ~7 digits is far below a pixel; plotly sends typed arrays (half the bytes).
    return x.astype(np.float32), y.astype(np.float32)


def rtt_cdf_figure(anycast_ms: Sequence[float], direct_ms: Sequence[float],
                   weights: Sequence[float] | None = None) -> go.Figure:
    """Empirical CDF over clients of the modelled RTT, anycast path vs direct to the origin.

    Weighted by client weight (share of demand) when ``weights`` is given. NaN RTTs (clients
    with no route) are left out of the anycast curve. Traces: ``Anycast EIP``, ``Direct``.
    """
    fig = go.Figure()
    for name, values, color, dash in (("Anycast EIP", anycast_ms, BACKBONE_COLOR, "solid"),
                                      ("Direct to origin", direct_ms, INTERNET_COLOR, "dot")):
        x, y = cdf_curve(values, weights)
        fig.add_trace(go.Scatter(name=name, x=x, y=y, mode="lines", line_shape="hv",
                                 line=dict(color=color, width=2.5, dash=dash),
                                 hovertemplate="%{x:.0f} ms: %{y:.0%} of clients"
                                               f"<extra>{name}</extra>"))
    fig.update_layout(
        uirevision="cdf", margin=dict(l=48, r=12, t=8, b=40), height=220,
        paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="#FAFBFC",
        xaxis=dict(title="modelled RTT (ms)", rangemode="tozero", gridcolor="#E5E7EB"),
        yaxis=dict(title="share of clients", tickformat=".0%", range=[0, 1.02],
                   gridcolor="#E5E7EB"),
        legend=dict(orientation="h", y=1.0, x=0.0, yanchor="bottom", font=dict(size=11)),
        hovermode="x unified",
    )
    return fig
