"""The vendored partial plotly.js bundle in a real headless Chromium (offline host rules of
conftest.py): it is the only plotly.js the page fetches, it draws the geo map and it draws the
capacity tab's bar charts (``go.Bar``, which the earlier geo-only bundle could not)."""

from __future__ import annotations

import pytest
from selenium.webdriver.support.ui import WebDriverWait

from dashboard import ids
from dashboard.serving import BUNDLE_TRACE_TYPES
from tests.e2e.test_map_e2e import LAND, severe_logs, start

pytestmark = pytest.mark.e2e

# Bars plotly.js has drawn into a graph (g.barlayer > g.trace.bars > g.point > path), with a
# real outline (plotly.js writes "M0,0Z" for a bar it cannot place).
DRAWN_BARS = """
return Array.from(document.querySelectorAll('#' + arguments[0] + ' .barlayer .point path'))
  .filter(p => (p.getAttribute('d') || '').length > 4 && p.getAttribute('d') !== 'M0,0Z').length;
"""


def drawn_bars(dash_duo, graph_id: str) -> int:
    return dash_duo.driver.execute_script(DRAWN_BARS, graph_id)


def test_capacity_bars_and_map_render_with_the_vendored_bundle(dash_duo, artifacts_dir):
    start(dash_duo, "/?demand=population")  # waits for land drawn from the offline topojson
    assert dash_duo.driver.execute_script(
        f"return document.querySelectorAll('{LAND}')[0].getAttribute('d').length") > 1000
    # the only plotly.js fetched is the vendored bundle, and it is what dcc.Graph uses
    plotly_js = dash_duo.driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
        ".filter(n => /plotly[^/]*\\.js/.test(n))")
    assert len(plotly_js) == 1 and "/assets/vendor/plotly-custom-" in plotly_js[0], plotly_js
    registered = dash_duo.driver.execute_script(
        "return Object.keys(window.Plotly.PlotSchema.get().traces).sort()")
    assert set(registered) == BUNDLE_TRACE_TYPES

    dash_duo.find_element(f"#{ids.VIEW_TABS} .view-tab:nth-child(2)").click()
    dash_duo.wait_for_contains_text(f"#{ids.CAPACITY_KPIS}", "Gbps", timeout=30)
    WebDriverWait(dash_duo.driver, 20).until(lambda d: drawn_bars(dash_duo, ids.LOAD_BARS) > 0)
    # the four stacked bar traces (own demand, throttled (issue 15), spill-over in and excess out
    # of the what-if) and the expected load by landing probability (issue 14) are all drawn
    traces = dash_duo.driver.execute_script(
        f"return document.querySelectorAll('#{ids.LOAD_BARS} .barlayer .trace.bars').length")
    assert traces == 5
    # one "own demand" bar per access point that is up, at least
    assert drawn_bars(dash_duo, ids.LOAD_BARS) >= 10
    dash_duo.driver.execute_script(
        "document.getElementById(arguments[0]).scrollIntoView({block: 'center'})", ids.LOAD_BARS)
    dash_duo.driver.save_screenshot(str(artifacts_dir / "capacity-bars.png"))
    assert severe_logs(dash_duo) == []
