"""Pieces every view builds with: a sidebar section, a key number (``kpi``), the one table look
and the config of a world-map graph. Layout only: no callbacks, no computation.

The CSS classes named here are styled in ``assets/style.css`` and ``assets/views.css``.
"""

from __future__ import annotations

from typing import Sequence

from dash import html

from dashboard.services.text import Kpi

#: ``kpi`` levels and the class each adds to ``kpi``: ``alert`` (a red card: clients without a
#: route or unserved), ``warn`` (amber value: some demand spilled over), ``bad`` (red value:
#: unserved demand, access points over capacity).
KPI_LEVELS: tuple[str, ...] = ("", "alert", "warn", "bad")

#: Font of every table (the page's system font stack, so tables match the text around them).
FONT_STACK = "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif"
#: Header and cell styles of every ``DataTable``: bold grey header, compact right-aligned cells
#: (numbers line up; text columns set ``textAlign: left`` in ``style_cell_conditional``).
TABLE_HEADER_STYLE: dict[str, str] = {"fontWeight": "600", "backgroundColor": "#F3F4F6",
                                      "whiteSpace": "normal", "height": "auto"}
TABLE_CELL_STYLE: dict[str, str] = {"fontFamily": FONT_STACK, "fontSize": "13px",
                                    "padding": "4px 6px", "textAlign": "right",
                                    "minWidth": "44px"}


def kpi(label: str, value: str, hint: str = "", level: str = "") -> html.Div:
    """One key number: ``value`` (large) over ``label``; ``hint`` is the tooltip.

    ``level`` (one of :data:`KPI_LEVELS`) adds the class ``kpi-<level>``: ``"alert"`` gives
    ``className="kpi kpi-alert"``, ``""`` plain ``"kpi"``. ``ValueError`` for another level (a
    typo would otherwise silently drop the colour).
    """
    if level not in KPI_LEVELS:
        raise ValueError(f"kpi level {level!r} is not one of {KPI_LEVELS}")
    return html.Div(className="kpi" + (f" kpi-{level}" if level else ""), title=hint,
                    children=[html.Div(value, className="kpi-value"),
                              html.Div(label, className="kpi-label")])


def kpis_or_hint(kpis: Sequence[Kpi], hint: str) -> list:
    """A row of key numbers (:class:`~dashboard.services.text.Kpi` view-models), or ``hint``
    (how to get some) when there are none."""
    if not kpis:
        return [html.Div(hint, className="empty-hint")]
    return [kpi(k.label, k.value, k.hint, k.level) for k in kpis]


def table_style() -> dict[str, object]:
    """Keyword arguments of ``dash_table.DataTable`` for the shared look (list view, header and
    cell styles). Fresh dicts each call, so a table may extend them."""
    return {"style_as_list_view": True, "style_header": dict(TABLE_HEADER_STYLE),
            "style_cell": dict(TABLE_CELL_STYLE)}


def section(title: str, *children: object, class_name: str = "") -> html.Section:
    """A titled sidebar panel (``<section class="panel ...">`` with an ``<h2>``)."""
    return html.Section(className=f"panel {class_name}".strip(),
                        children=[html.H2(title), *children])


def geo_graph_config(topojson_url: str | None, filename: str) -> dict:
    """plotly.js config of a world-map graph. ``topojsonURL`` points at our own assets: plotly.js
    otherwise fetches the world outline from a CDN at run time (blocked by the CSP, and absent
    offline), and it caches the outline, so *every* geo graph must name it, not only the first
    drawn. ``filename``: the PNG the camera button saves (2x scale)."""
    return {
        **({"topojsonURL": topojson_url} if topojson_url else {}),
        "scrollZoom": True,
        "displaylogo": False,
        "modeBarButtonsToRemove": ["select2d", "lasso2d"],
        "toImageButtonOptions": {"format": "png", "filename": filename, "scale": 2},
    }


class LazyPanel(html.Div):
    """A view panel whose content is mounted the first time it is shown (issue 16).

    The same props as ``html.Div``, and the same DOM (one ``<div>`` with its ``id``, class and
    ``hidden`` attribute), but drawn by ``assets/lazy_panel.js``: while the panel has never
    been shown, the browser renders the empty ``<div>`` and none of its children; once its
    ``hidden`` prop is false it renders them and keeps them mounted from then on (hidden, not
    removed, as before: zoom, scroll and the inputs' state survive a tab switch).

    Why: the capacity and support views are 222 of the page's 447 components and five of its
    seven graphs; rendering and plotting them at load, hidden, delayed the world map
    (docs/performance.md, "Issue 16: the page against a bare Dash page"). The children stay in
    Dash's layout, so every callback reading or writing them works as before: dash-renderer
    keeps their props in its store whether or not they are mounted, and a callback does not wait
    for the code of a lazily loaded component (``dcc.Graph``, ``DataTable``) that is not in the
    page (``isAppReady``); the component gets the props in the store when it mounts.
    """

    _namespace = "anycast_panels"
    _type = "LazyPanel"
    _children_props: list[str] = []
