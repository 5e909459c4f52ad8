"""The capacity and support panels are mounted by the browser only when first shown (issue 16,
docs/performance.md "Issue 16: the page against a bare Dash page").

``LazyPanel`` is a Python component drawn by ``assets/lazy_panel.js``: the page would fail to
render (dash-renderer: "anycast_panels was not found") if the script's namespace or type drifted
from the Python class, so both are checked here; the browser behaviour (nothing mounted at load,
mounted on the first open, a link opening a tab directly) is checked by the e2e tests of the
capacity and support views.
"""

from __future__ import annotations

from dash import html

from dashboard import ids
from dashboard.layout.capacity import capacity_panel
from dashboard.layout.components import LazyPanel
from dashboard.layout.shell import with_views
from dashboard.layout.support import support_panel
from tests.conftest import ROOT


def test_the_hidden_views_are_lazy_panels_and_the_map_is_not():
    panels = with_views(html.Div(), [], "/assets/topojson/", ["FRA"])
    by_id = {getattr(p, "id", None): p for p in panels}
    assert type(by_id[ids.PANEL_MAP]) is html.Div  # the map stays mounted from the start
    for panel in (by_id[ids.PANEL_CAPACITY], by_id[ids.PANEL_SUPPORT]):
        assert isinstance(panel, LazyPanel)
        assert panel.hidden is True  # shown by the tab callback (callbacks/capacity.py)
        assert panel.children  # the content is in Dash's layout: callbacks keep working


def test_the_panel_serialises_under_the_namespace_the_script_registers():
    data = capacity_panel("/assets/topojson/", ["FRA"]).to_plotly_json()
    assert (data["namespace"], data["type"]) == ("anycast_panels", "LazyPanel")
    assert support_panel().to_plotly_json()["namespace"] == "anycast_panels"
    src = (ROOT / "assets" / "lazy_panel.js").read_text(encoding="utf-8")
    assert f"window.{LazyPanel._namespace} = " in src
    assert f"{{{LazyPanel._type}: {LazyPanel._type}}}" in src
