"""Readable main map (issue 17) in a real headless Chromium: 3-letter access point labels, the
legend outside the plot (and hidden by its button), a plain wheel scrolls the page instead of
zooming the map (Ctrl + wheel zooms), and the 25,000-city set drawn aggregated under the access
points."""

from __future__ import annotations

import pytest
from selenium.webdriver.support.ui import WebDriverWait

from dashboard import ids
from dashboard.catalog import default_catalog
from dashboard.figures import map as map_figures
from tests.e2e.test_map_e2e import severe_logs, start

pytestmark = pytest.mark.e2e

GD = f"document.querySelector('#{ids.WORLD_MAP} .js-plotly-plot')"
QUERY = "/?clients=48.85,2.35,Paris;40.71,-74.0,New%20York;1.29,103.85,Singapore"


def wait_paths(dash_duo, timeout: float = 30) -> None:
    WebDriverWait(dash_duo.driver, timeout).until(lambda d: d.execute_script(
        f"const gd = {GD}; const t = gd && gd._fullData && gd._fullData.find("
        f"t => t.name === '{map_figures.CLIENTS}'); return Boolean(t && t.lat && t.lat.length);"))


def scale(dash_duo) -> float:
    return dash_duo.driver.execute_script(
        f"return {GD}._fullLayout.geo._subplot.projection.scale();")


def wheel(dash_duo, modifiers: int) -> None:
    """A real wheel event (CDP) over the middle of the map; ``modifiers`` 2 = Ctrl."""
    x, y = dash_duo.driver.execute_script(f"""
        const r = {GD}.querySelector('.geo .bglayer, .geo').getBoundingClientRect();
        return [r.left + r.width / 2, r.top + r.height / 2];""")
    dash_duo.driver.execute_cdp_cmd("Input.dispatchMouseEvent", {
        "type": "mouseWheel", "x": x, "y": y, "deltaX": 0, "deltaY": 240,
        "modifiers": modifiers})


def test_labels_legend_outside_and_wheel(dash_duo):
    start(dash_duo, QUERY)
    wait_paths(dash_duo)
    d = dash_duo.driver
    # every access point is labelled with its id on the map
    labels = set(d.execute_script(f"""
        return Array.from({GD}.querySelectorAll('.geo g.trace.scattergeo text'))
            .map(t => t.textContent);"""))
    assert set(default_catalog().pops["id"]) <= labels
    # the legend sits under the geo subplot, not over it
    box = d.execute_script(f"""
        const gd = {GD}; const sub = gd._fullLayout.geo._subplot;
        const svg = gd.querySelector('.main-svg').getBoundingClientRect();
        const leg = gd.querySelector('.legend').getBoundingClientRect();
        return {{geoBottom: svg.top + sub.yaxis._offset + sub.yaxis._length,
                 legTop: leg.top, legHeight: leg.height}};""")
    assert box["legHeight"] > 0 and box["legTop"] >= box["geoBottom"] - 1, box
    # its button hides it and shows it again
    toggle = dash_duo.find_element(".map-legend-toggle")
    toggle.click()
    assert d.execute_script(f"return {GD}.querySelector('.legend').getBoundingClientRect()"
                            ".height") == 0
    assert toggle.get_attribute("aria-pressed") == "true"
    toggle.click()
    assert d.execute_script(f"return {GD}.querySelector('.legend').getBoundingClientRect()"
                            ".height") > 0
    # a plain wheel does not zoom the map (the page may scroll); Ctrl + wheel does
    before = scale(dash_duo)
    scrollable = d.execute_script("""
        window.__hint = false; window.__scrolled = false;
        const hint = document.querySelector('.map-wheel-hint');
        new MutationObserver(() => { if (hint.classList.contains('shown')) window.__hint = true; })
            .observe(hint, {attributes: true});
        window.addEventListener('scrollend', () => { window.__scrolled = true; }, {once: true});
        return document.documentElement.scrollHeight > window.innerHeight;""")
    wheel(dash_duo, 0)
    WebDriverWait(d, 15).until(lambda drv: drv.execute_script("return window.__hint"))
    if scrollable:  # the page scrolled instead: aim the next wheel where the map is now
        WebDriverWait(d, 15).until(lambda drv: drv.execute_script("return window.__scrolled"))
    assert scale(dash_duo) == before
    wheel(dash_duo, 2)
    WebDriverWait(d, 15).until(lambda drv: scale(dash_duo) != before)
    assert severe_logs(dash_duo) == []


def test_25k_cities_are_aggregated_under_the_access_points(dash_duo):
    start(dash_duo, "/?clientset=cities25k")
    wait_paths(dash_duo, timeout=90)
    d = dash_duo.driver
    layers = d.execute_script(f"""
        const gd = {GD};
        const names = gd._fullData.map(t => t.name);
        const clients = gd._fullData.find(t => t.name === '{map_figures.CLIENTS}');
        const counts = Array.from(clients.customdata).map(r => r[1]);
        return {{names: names, n: clients.lat.length,
                 total: counts.reduce((a, b) => a + b, 0),
                 nodes: gd.querySelectorAll('g.trace.scattergeo path.point').length}};""")
    assert 500 < layers["n"] < 3_000 and layers["total"] == 25_000
    assert layers["nodes"] < 4_000  # not 10,000 diamonds
    # the clients layer is drawn before (under) every access point layer
    names = layers["names"]
    pops = [i for i, n in enumerate(names) if n.startswith("Access points")]
    assert names.index(map_figures.CLIENTS) < min(pops)
    assert severe_logs(dash_duo) == []


def test_pill_shows_its_new_state_before_the_round_trip_answers(dash_duo):
    """Optimistic state (issue 17): the clicked pill changes in the click's own turn, not when
    the server's answer arrives (it was 1.3-1.7 s later); the answer then confirms it."""
    start(dash_duo, QUERY)
    wait_paths(dash_duo)
    d = dash_duo.driver
    d.execute_script(f"""
        window.__pill = null;
        const el = document.querySelector('#{ids.POP_STATUS} button[data-pop="CDG"]');
        new MutationObserver(() => {{
            if (window.__pill === null && el.classList.contains('pop-down')) {{
                window.__pill = performance.now();
            }}
        }}).observe(el, {{attributes: true}});
        window.__t0 = performance.now();""")
    pill = dash_duo.find_element(f"#{ids.POP_STATUS} button[data-pop='CDG']")
    pill.click()
    WebDriverWait(d, 20).until(lambda drv: "down=CDG" in drv.current_url)
    WebDriverWait(d, 20).until(lambda drv: "pop-pending" not in pill.get_attribute("class"))
    assert "pop-down" in pill.get_attribute("class")
    pill_t, answer_t = d.execute_script("""
        const r = performance.getEntriesByType('resource').filter(
            e => e.name.includes('_dash-update-component') && e.startTime >= window.__t0);
        return [window.__pill, r.length ? r[0].responseEnd : null];""")
    assert pill_t is not None and answer_t is not None and pill_t < answer_t


def test_assignment_table_fits_at_1440_px(dash_duo):
    """Issue 17: the "Change ms" column was hidden behind a sideways scroll at 1440 px. The
    before/after columns show only after a failover change (and "BGP likely" only for flagged
    clients); the rest fits."""
    start(dash_duo, QUERY)
    d = dash_duo.driver
    d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": 1440, "height": 900, "deviceScaleFactor": 1, "mobile": False})
    wait_paths(dash_duo)

    def table():
        return d.execute_script(f"""
            const c = document.querySelector('#{ids.ASSIGNMENT_TABLE}')
                .closest('.dash-table-container').querySelector('.dash-spreadsheet-container');
            const heads = Array.from(document.querySelectorAll('#{ids.ASSIGNMENT_TABLE} th'))
                .map(th => th.innerText.trim());
            return [c.scrollWidth, c.clientWidth, heads];""")

    WebDriverWait(d, 20).until(lambda drv: len(table()[2]) > 5)
    width, shown, heads = table()
    assert width <= shown + 1, (width, shown)
    assert "Change ms" not in heads and "Before last change" not in heads
    dash_duo.find_element(f"#{ids.POP_STATUS} button[data-pop='CDG']").click()
    WebDriverWait(d, 20).until(lambda drv: "Change ms" in table()[2])
