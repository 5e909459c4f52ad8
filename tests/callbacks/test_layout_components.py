"""The shared layout pieces: one ``kpi`` that renders exactly what the three per-view copies in
the callbacks render (same classes, tooltip and children), one table style, one geo config."""

from __future__ import annotations

import json

import pytest
from dash import html
from plotly.utils import PlotlyJSONEncoder

from dashboard.layout.components import (TABLE_CELL_STYLE, TABLE_HEADER_STYLE, geo_graph_config,
                                         kpi, section, table_style)


# The three copies as they were written in callbacks/results.py, failover.py and capacity.py.
def results_kpi(label: str, value: str, hint: str = "", alert: bool = False) -> html.Div:
    return html.Div(className="kpi kpi-alert" if alert else "kpi", title=hint,
                    children=[html.Div(value, className="kpi-value"),
                              html.Div(label, className="kpi-label")])


def failover_kpi(label: str, value: str, hint: str = "") -> html.Div:
    return html.Div(className="kpi", title=hint, children=[
        html.Div(value, className="kpi-value"), html.Div(label, className="kpi-label")])


def capacity_kpi(label: str, value: str, hint: str = "", level: str = "") -> html.Div:
    return html.Div(className=f"kpi {level}".strip(), title=hint,
                    children=[html.Div(value, className="kpi-value"),
                              html.Div(label, className="kpi-label")])


def as_json(component: html.Div) -> str:
    """The component as the browser receives it (children included)."""
    return json.dumps(component, cls=PlotlyJSONEncoder, sort_keys=True)


@pytest.mark.parametrize("old,new", [
    (results_kpi("clients", "1,234"), kpi("clients", "1,234")),
    (results_kpi("median RTT", "42 ms", "modelled"), kpi("median RTT", "42 ms", "modelled")),
    (results_kpi("without route", "3", "every access point is down", alert=True),
     kpi("without route", "3", "every access point is down", level="alert")),
    (failover_kpi("clients moved", "2 of 5"), kpi("clients moved", "2 of 5")),
    (failover_kpi("worst RTT change", "+12 ms", "Paris"),
     kpi("worst RTT change", "+12 ms", "Paris")),
    (capacity_kpi("served", "1.00 Gbps", "after spill-over"),
     kpi("served", "1.00 Gbps", "after spill-over")),
    (capacity_kpi("spilled over", "0.20 Gbps", "h", "kpi-warn"),
     kpi("spilled over", "0.20 Gbps", "h", "warn")),
    (capacity_kpi("unserved", "0.10 Gbps", "h", "kpi-bad"),
     kpi("unserved", "0.10 Gbps", "h", "bad")),
])
def test_one_kpi_renders_what_each_copy_rendered(old, new):
    assert as_json(new) == as_json(old)


def test_an_unknown_kpi_level_is_an_error_not_a_missing_colour():
    with pytest.raises(ValueError, match="kpi level"):
        kpi("x", "1", level="kpi-warn")


def test_table_style_is_one_look_in_fresh_dicts():
    a, b = table_style(), table_style()
    assert a == b and a["style_as_list_view"] is True
    assert a["style_header"] == TABLE_HEADER_STYLE and a["style_cell"] == TABLE_CELL_STYLE
    a["style_cell"]["padding"] = "0"
    assert table_style()["style_cell"]["padding"] == TABLE_CELL_STYLE["padding"] != "0"


def test_section_is_a_titled_panel():
    s = section("Origin", html.Div("x"), class_name="extra")
    assert s.className == "panel extra"
    assert isinstance(s.children[0], html.H2) and s.children[0].children == "Origin"


def test_geo_graph_config_names_our_outline_and_the_png_name():
    cfg = geo_graph_config("/assets/topojson/", "anycast-map")
    assert cfg["topojsonURL"] == "/assets/topojson/"
    assert cfg["toImageButtonOptions"] == {"format": "png", "filename": "anycast-map", "scale": 2}
    assert "topojsonURL" not in geo_graph_config(None, "x")
