"""The "Where to add a PoP" map: the scenario's access points and the best candidate sites
(numbered stars; the greedy picks filled gold). Pure Plotly: data in, ``go.Figure`` out.
Degrees for coordinates; the hover says each site's gain in ms."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go

POPS_NOW = "Access points now"
CANDIDATES = "Best sites to add (numbered, by gain)"
GREEDY = "Greedy best 1–3 added together"
SITING_TRACES = (POPS_NOW, CANDIDATES, GREEDY)
CANDIDATE_COLOR = "#7C3AED"
GREEDY_COLOR = "#F59E0B"


def siting_map_figure(pop_ids: Sequence[str], pop_lats: Sequence[float],
                      pop_lons: Sequence[float], rows: Sequence[dict],
                      greedy: Sequence[dict] = ()) -> go.Figure:
    """The map: PoPs (grey dots), the ``rows`` (dicts with rank, name, id, lat, lon, gain_ms)
    as numbered purple stars, the ``greedy`` picks (same keys) as gold stars."""
    def hover(r: dict) -> str:
        return (f"<b>#{r.get('rank', '')} {r['name']}</b> ({r['id']})<br>"
                f"mean RTT −{r.get('gain_ms')} ms if added alone")

    traces = [
        go.Scattergeo(name=POPS_NOW, lat=np.asarray(pop_lats, float),
                      lon=np.asarray(pop_lons, float), mode="markers", text=list(pop_ids),
                      hoverinfo="text", marker=dict(size=7, color="#6B7280")),
        go.Scattergeo(name=CANDIDATES, lat=[r["lat"] for r in rows],
                      lon=[r["lon"] for r in rows], mode="markers+text",
                      text=[str(r.get("rank", "")) for r in rows], textposition="top center",
                      hovertext=[hover(r) for r in rows], hoverinfo="text",
                      marker=dict(symbol="star", size=15, color=CANDIDATE_COLOR,
                                  line=dict(width=1, color="white"))),
        go.Scattergeo(name=GREEDY, lat=[r["lat"] for r in greedy],
                      lon=[r["lon"] for r in greedy], mode="markers",
                      hovertext=[f"<b>greedy pick {i + 1}: {r['name']}</b> ({r['id']})<br>"
                                 f"together −{r.get('gain_ms')} ms mean"
                                 for i, r in enumerate(greedy)], hoverinfo="text",
                      marker=dict(symbol="star-open", size=22, color=GREEDY_COLOR,
                                  line=dict(width=3))),
    ]
    fig = go.Figure(data=traces)
    fig.update_layout(
        uirevision="siting-map", margin=dict(l=0, r=0, t=0, b=0), height=360,
        paper_bgcolor="rgba(0,0,0,0)", hovermode="closest", showlegend=True,
        legend=dict(orientation="h", yanchor="bottom", y=0.0, xanchor="left", x=0.0,
                    bgcolor="rgba(255,255,255,0.85)", font=dict(size=10.5)),
        geo=dict(projection=dict(type="natural earth"), resolution=110, showland=True,
                 landcolor="#F1F3F5", showocean=True, oceancolor="#E3EEF8",
                 showcountries=True, countrycolor="#C2C8D0", countrywidth=0.5,
                 showframe=False, bgcolor="rgba(0,0,0,0)", lataxis=dict(range=[-58, 90])))
    return fig
