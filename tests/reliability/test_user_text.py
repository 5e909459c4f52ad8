"""User text is text: names with markup never become markup (map hover, table, API JSON), and CSV
exports neutralise spreadsheet formulas."""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd
import pytest

from dashboard.app import create_app
from dashboard.callbacks.scene import PageState, map_outputs
from dashboard.domain.exports import safe_cell, safe_csv
from dashboard.domain.scenario import Client, Scenario
from dashboard.figures import map as map_figures
from dashboard.services.scenario import load_scenario
from dashboard.settings import Settings

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
LINK = '<a href="javascript:alert(1)">click</a>'
FORMULA = "=cmd|' /C calc'!A0"
NAMES = (SCRIPT, IMG, LINK, FORMULA, "Fish & Chips <Ltd>")


def hostile_scenario() -> Scenario:
    coords = [(48.86, 2.35), (35.68, 139.69), (-33.87, 151.21), (40.71, -74.0), (51.5, -0.12)]
    return Scenario(clients=tuple(Client(a, b, n) for (a, b), n in zip(coords, NAMES)))


def compute_results(current, catalog, settings: Settings) -> tuple:
    """(map figure, table rows, summary, CDF figure, count text): the map tab of the round trip."""
    return map_outputs(load_scenario(current, catalog, settings), PageState(), catalog)[:5]


def test_map_hover_text_shows_names_literally(catalog):
    fig, rows, *_ = compute_results(hostile_scenario().to_dict(), catalog, Settings())
    clients = fig.data[map_figures.map_trace_index(map_figures.CLIENTS)]
    hover = list(clients.hovertext)
    assert len(hover) == len(NAMES)
    joined = "\n".join(hover)
    for raw in ("<script", "<img", "<a ", "<Ltd>"):
        assert raw not in joined  # no markup from the names reaches plotly
    assert "<b>&lt;script&gt;alert(1)&lt;/script&gt;</b>" in hover[0]
    assert "&lt;img src=x onerror=alert(1)&gt;" in hover[1]
    assert "Fish &amp; Chips &lt;Ltd&gt;" in hover[4]
    assert "<br>" in hover[0]  # our own formatting is still markup


def test_unrouted_hover_and_catalog_labels_are_escaped_too(catalog):
    pops = catalog.pops.copy()
    pops.loc[0, "name"] = IMG
    routes = pd.DataFrame({"lat": [1.0], "lon": [2.0], "routed": [False], "pop_id": [""],
                           "pop_km": [np.nan], "internet_ms": [np.nan], "backbone_km": [np.nan],
                           "backbone_ms": [np.nan], "anycast_ms": [np.nan]})
    fig = map_figures.map_figure(pops, catalog.origins, "eu-central-1", routes, [SCRIPT],
                             down=[pops.loc[0, "id"]])
    unrouted = fig.data[map_figures.map_trace_index(map_figures.UNROUTED)].hovertext
    assert unrouted[0].startswith("<b>&lt;script&gt;") and "<script" not in unrouted[0]
    down = fig.data[map_figures.map_trace_index(map_figures.POPS_DOWN)].hovertext
    assert "&lt;img" in down[0] and "<img" not in down[0]


def test_table_cells_are_plain_strings_and_the_table_renders_no_markdown(catalog):
    from dashboard.layout.map import assignment_table

    _, rows, *_ = compute_results(hostile_scenario().to_dict(), catalog, Settings())
    assert [r["client"] for r in rows] == list(NAMES)  # DataTable shows text as text
    for col in assignment_table().columns:
        assert col.get("presentation") != "markdown"


def test_api_returns_names_verbatim_as_json_with_nosniff(catalog):
    client = create_app(Settings(), catalog).server.test_client()
    body = {"clients": [{"lat": 48.86, "lon": 2.35, "name": n} for n in NAMES]}
    resp = client.post("/api/v1/assign", json=body)
    assert resp.status_code == 200
    assert resp.mimetype == "application/json"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert [a["name"] for a in resp.get_json()["assignments"]] == list(NAMES)
    text = client.post("/api/v1/assign?x=<script>", json=body)
    assert text.status_code == 400 and text.mimetype == "application/json"


@pytest.mark.parametrize("value,expected", [
    (FORMULA, "'" + FORMULA),
    ("=1+2", "'=1+2"),
    ("+1+1", "'+1+1"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"),
    ("-33.87", "-33.87"),  # a plain negative number stays a number
    ("+1.5e3", "+1.5e3"),
    ("Paris", "Paris"),
    ("", ""),
    (-33.87, -33.87),
    (None, None),
])
def test_safe_cell(value, expected):
    assert safe_cell(value) == expected


def test_safe_csv_neutralises_text_and_keeps_numbers():
    df = pd.DataFrame({"name": list(NAMES) + ["-12.5"],
                       "lat": [-33.87, 1.0, 2.0, 3.0, 4.0, -5.0],
                       "pop": ["SYD", "=HYPERLINK(\"http://x\")", "SIN", "NRT", "LHR", "-"]})
    text = safe_csv(df, float_format="%.2f")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["name", "lat", "pop"]
    assert rows[4] == ["'" + FORMULA, "3.00", "NRT"]
    assert rows[6] == ["-12.5", "-5.00", "'-"]
    assert rows[1][1] == "-33.87" and rows[2][2].startswith("'=HYPERLINK")
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "@", "\t", "\r")) or cell == "-12.5"
    assert df["name"].iloc[3] == FORMULA  # the input frame is not modified


def test_safe_csv_neutralises_formula_column_names():
    assert safe_csv(pd.DataFrame({"=1+1": [1]})).splitlines()[0] == "'=1+1"
