"""The capacity story section of the capacity view (issue 17): headline sentences, the top risks,
the demand prompt with its one-click scale, the PoP × N-1 utilisation heat map, and the "Download
PNG" / "Print summary" buttons (``assets/capacity_story.js``). :func:`story_card` is the static
layout; :func:`render_story` draws the view-model
(:class:`dashboard.services.capacity_story.CapacityStory`).
"""

from __future__ import annotations

from dash import dcc, html

from dashboard import ids
from dashboard.services.capacity_story import CapacityStory

HEATMAP_NOTE = ("Each row: one access point lost (its demand moved to each point's next healthy "
                "access point); each cell: an access point's utilisation then (demand / "
                "capacity, %; red above 100 %). The N-1 table below adds RTTs and what moves "
                "where.")


def story_card() -> html.Div:
    """The capacity story card (filled by the round trip: :data:`ids.CAPACITY_STORY`,
    :data:`ids.N1_HEATMAP`)."""
    return html.Div(className="card story-card", children=[
        html.Div(className="card-head", children=[
            html.H2("Capacity story"),
            html.Div(className="inline-form no-print", children=[
                html.Button("Download PNG", id=ids.STORY_PNG, n_clicks=0,
                            className="btn btn-ghost",
                            title="One image of the whole capacity view: the story, the map, "
                                  "the load chart and the heat map"),
                html.Button("Print summary", id=ids.STORY_PRINT, n_clicks=0,
                            className="btn btn-ghost",
                            title="Print (or save as PDF) the capacity view laid out for slides"),
                html.Span(id=ids.STORY_STATUS, className="hint", role="status"),
            ]),
        ]),
        html.Div(className="story-grid", children=[
            html.Div(id=ids.CAPACITY_STORY, className="story-text"),
            html.Div(className="story-heatmap", children=[
                html.H3("N-1: utilisation of every access point once one is lost"),
                # blank until the tab is drawn (not the default figure's empty axes)
                dcc.Graph(id=ids.N1_HEATMAP, config={"displayModeBar": False},
                          figure={"data": [], "layout": {
                              "height": 120, "xaxis": {"visible": False},
                              "yaxis": {"visible": False}, "paper_bgcolor": "rgba(0,0,0,0)",
                              "plot_bgcolor": "rgba(0,0,0,0)"}}),
                html.P(HEATMAP_NOTE, className="hint"),
            ]),
        ]),
    ])


def render_story(story: CapacityStory) -> list:
    """The headline, the risks and the demand prompt (or the hint when there is no demand)."""
    if not story.headline:
        return [html.P(story.hint, className="hint")]
    out: list = [html.Div(className="story-headline",
                          children=[html.P(s) for s in story.headline])]
    if story.prompt is not None:
        out.append(html.Div(className="story-prompt", role="note", children=[
            html.P(story.prompt.text),
            html.Button(story.prompt.button, id=ids.demand_fit(), n_clicks=0,
                        className="btn no-print"),
        ]))
    if story.risks:
        out += [html.H3("Top risks"),
                html.Ul(className="story-risks",
                        children=[html.Li(r.text, className=f"risk-{r.level}")
                                  for r in story.risks])]
    return out
