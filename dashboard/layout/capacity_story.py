"""The capacity story section of the capacity view (issue 17): headline sentences, the top risks,
the demand prompt with its one-click scale, the PoP × N-1 utilisation heat map, and the "Download
PNG" / "Print summary" buttons (``assets/capacity_story.js``). :func:`story_card` is the static
layout; :func:`render_story` draws the view-model
(:class:`dashboard.services.capacity_story.CapacityStory`).
"""

from __future__ import annotations

import html as html_text
from typing import Sequence

from dash import dcc, html

from dashboard import ids
from dashboard.figures.capacity_story import util_color
from dashboard.services.capacity_story import CapacityStory
from dashboard.services.text import Kpi

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
                html.Button("Summary (HTML)", id=ids.STORY_HTML, n_clicks=0,
                            className="btn btn-ghost",
                            title="One self-contained HTML page: the story, the risks, the key "
                                  "numbers, the heat map and the utilisation table"),
                dcc.Download(id=ids.STORY_DOWNLOAD),
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


#: The standalone summary's own styles (no external file, font or script: it opens offline).
SUMMARY_CSS = """
body { font: 14px/1.45 system-ui, sans-serif; color: #111827; margin: 24px; max-width: 1200px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 18px 0 6px; }
.muted { color: #6B7280; font-size: 12px; } .bad { color: #991B1B; } .warn { color: #92400E; }
.kpis { display: flex; flex-wrap: wrap; gap: 8px; margin: 10px 0; }
.kpi { border: 1px solid #E5E7EB; border-radius: 6px; padding: 6px 10px; }
.kpi b { display: block; font-size: 16px; }
table { border-collapse: collapse; font-size: 12px; }
td, th { border: 1px solid #E5E7EB; padding: 2px 6px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.heat td { width: 28px; text-align: center; font-size: 10px; border: 1px solid #FFF; }
@media print { body { margin: 0; } @page { size: A4 landscape; margin: 12mm; } }
"""


def summary_html(story: CapacityStory, kpis: Sequence[Kpi], rows: Sequence[dict],
                 stamp: str) -> str:
    """The capacity story as ONE self-contained HTML page for slides and mail (no script, no
    external style, font or image: it opens offline): the headline, the risks, the demand prompt's
    reason, the key numbers, the PoP × N-1 heat map as a coloured table and the utilisation
    table. Every text is escaped. ``rows``: :func:`dashboard.services.capacity.capacity_rows`;
    ``stamp``: when (shown in the title line)."""
    e = html_text.escape
    out = ["<!doctype html><html lang='en'><head><meta charset='utf-8'>",
           f"<title>{e(story.title)}</title><style>{SUMMARY_CSS}</style></head><body>",
           f"<h1>{e(story.title)}</h1>",
           f"<p class='muted'>Anycast EIP dashboard, {e(stamp)}. Modelled estimates; per-PoP "
           "capacity is a planning assumption (docs/capacity.md).</p>"]
    if not story.headline:
        out.append(f"<p>{e(story.hint)}</p></body></html>")
        return "".join(out)
    out += [f"<p><b>{e(story.headline[0])}</b></p>"]
    out += [f"<p>{e(s)}</p>" for s in story.headline[1:]]
    if story.prompt is not None:
        out.append(f"<p class='warn'>{e(story.prompt.text)}</p>")
    if story.risks:
        out.append("<h2>Top risks</h2><ul>")
        out += [f"<li class='{e(r.level)}'>{e(r.text)}</li>" for r in story.risks]
        out.append("</ul>")
    if kpis:
        out.append("<div class='kpis'>")
        out += [f"<div class='kpi'><b class='{e(k.level)}'>{e(k.value)}</b>{e(k.label)}</div>"
                for k in kpis]
        out.append("</div>")
    if story.util_pct is not None and len(story.lost):
        out.append("<h2>N-1: utilisation (%) of every access point (columns) once one is lost "
                   "(rows)</h2><table class='heat'><tr><th></th>")
        out += [f"<th>{e(p)}</th>" for p in story.pops]
        out.append("</tr>")
        for lost, row in zip(story.lost, story.util_pct):
            out.append(f"<tr><th>{e(lost)}</th>")
            for v in row:
                text = "" if v != v or v < 0.5 else f"{v:.0f}"  # NaN != NaN: blank cell
                ink = "#FFF" if v == v and v >= 100 else "#111827"
                out.append(f"<td style='background:{util_color(v)};color:{ink}'>{text}</td>")
            out.append("</tr>")
        out.append("</table>")
    if rows:
        cols = (("pop_id", "PoP"), ("city", "City"), ("capacity_gbps", "Capacity Gbps"),
                ("nominal_gbps", "Demand Gbps"), ("utilisation_pct", "Util. %"),
                ("served_gbps", "Served Gbps"), ("throttled_gbps", "Throttled Gbps"),
                ("expected_pct", "Exp. util. %"))
        out.append("<h2>Utilisation per access point</h2><table><tr>")
        out += [f"<th>{e(n)}</th>" for _c, n in cols]
        out.append("</tr>")
        for r in rows:
            out.append("<tr>" + "".join(
                f"<td>{e('' if r.get(c) is None else str(r.get(c)))}</td>" for c, _n in cols)
                + "</tr>")
        out.append("</table>")
    out.append("</body></html>")
    return "".join(out)
