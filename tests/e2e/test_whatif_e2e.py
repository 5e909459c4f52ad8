"""The 25,000-city demand preset in a real browser: the what-if arrives as a Patch that
plotly.js applies (typed arrays included), names and positions (of the aggregated client
markers) stay in the browser."""

from __future__ import annotations

import pytest
from selenium.webdriver.support.ui import WebDriverWait

from dashboard import ids
from dashboard.figures import map as map_figures
from tests.e2e.test_map_e2e import severe_logs, start

pytestmark = pytest.mark.e2e

CLIENTS_JS = f"""
const gd = document.querySelector('#{ids.WORLD_MAP} .js-plotly-plot');
if (!gd || !gd._fullData) return null;
// _fullData: plotly.js has decoded the typed-array specs ({{dtype, bdata}}) into arrays.
const t = gd._fullData.find(d => d.name === '{map_figures.CLIENTS}');
const dn = gd._fullData.find(d => d.name === '{map_figures.POPS_DOWN}');
const cd = t.customdata || [];
return {{n: t.lat ? t.lat.length : 0, text0: t.text ? t.text[0] : null,
         pops: Array.from(new Set(Array.from(t.hovertext || []))),
         rows: cd.length, cols: cd.length ? cd[0].length : 0,
         nan: Array.from(cd).slice(0, 200).filter(r => !r || isNaN(r[0])).length,
         down: dn.customdata ? Array.from(dn.customdata) : [],
         points: gd.querySelectorAll('g.trace.scattergeo path.point').length}};
"""


def clients(dash_duo):
    return dash_duo.driver.execute_script(CLIENTS_JS)


def test_demand_preset_and_what_if_patch(dash_duo):
    start(dash_duo, "/?clientset=cities25k")
    # aggregated (issue 17): one marker per grid cell, the largest city's cell first
    WebDriverWait(dash_duo.driver, 60).until(
        lambda d: (clients(dash_duo) or {}).get("n", 0) > 500)
    before = clients(dash_duo)
    assert before["text0"].startswith("Shanghai, CN and ") and "FRA" in before["pops"]
    dash_duo.wait_for_contains_text(f"#{ids.CLIENT_COUNT}", "25,000 clients")
    # Mark Frankfurt down through the URL (what a shared link or back/forward does).
    dash_duo.driver.execute_script(
        "window.history.pushState({}, '', '/?clientset=cities25k&down=FRA');"
        "window.dispatchEvent(new CustomEvent('_dashprivate_pushstate'));")
    WebDriverWait(dash_duo.driver, 30).until(lambda d: clients(dash_duo)["down"] == ["FRA"])
    after = clients(dash_duo)
    assert "FRA" not in after["pops"] and after["n"] == before["n"]
    assert after["text0"] == before["text0"]        # kept in the browser, not resent
    assert after["rows"] == before["rows"] == after["n"] and after["nan"] == 0  # decoded
    assert after["cols"] == len(map_figures.BIN_CUSTOMDATA)
    assert after["points"] >= after["n"]
    assert severe_logs(dash_duo) == []
