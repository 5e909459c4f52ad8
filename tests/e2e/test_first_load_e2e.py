"""The page opened without a query, in a real headless Chromium (issue 16, page16g): its layout
holds the first round trip's whole answer, so the map, the pills and the side panels are drawn
from the layout and that round trip changes nothing; Dash's polyfill is not loaded, the
regenerator runtime its lazy components need is. Every user action still works after it."""

from __future__ import annotations

import json

import pytest
from selenium.webdriver.support.ui import WebDriverWait

from dashboard import ids
from dashboard.app import create_app
from tests.e2e.test_map_e2e import severe_logs, wait_land

pytestmark = pytest.mark.e2e

#: Records each scene round trip's answer (the request naming the scenario store as an output).
ANSWERS_HOOK = """
window.__sceneAnswers = [];
const fetch0 = window.fetch.bind(window);
window.fetch = function (url, opts) {
  const p = fetch0(url, opts);
  const body = String((opts && opts.body) || '');
  if (String(url).indexOf('_dash-update-component') >= 0 && body.indexOf('scenario-store.data') >= 0) {
    p.then(r => r.clone().text().then(t => window.__sceneAnswers.push([r.status, t])));
  }
  return p;
};
"""


def _markers(dash_duo) -> int:
    return dash_duo.driver.execute_script(f"""
        let n = 0;
        document.querySelectorAll('#{ids.WORLD_MAP} g.trace.scattergeo').forEach(g => {{
          const d = g.__data__, name = d && d[0] && d[0].trace && d[0].trace.name;
          if (name && name.indexOf('Access points ·') === 0) {{
            n += g.querySelectorAll('path.point').length; }}
        }});
        return n;""")


def test_default_page_draws_from_its_layout_and_the_first_answer_changes_nothing(dash_duo):
    app = create_app()
    n_pops = len(app.server.config["ANYCAST_CATALOG"].pops)
    dash_duo.start_server(app)
    dash_duo.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument",
                                    {"source": ANSWERS_HOOK})
    dash_duo.wait_for_page(url=dash_duo.server_url + "/")
    wait_land(dash_duo)
    WebDriverWait(dash_duo.driver, 20).until(lambda d: _markers(dash_duo) == n_pops)
    # the first round trip is answered, with nothing to apply
    answers = WebDriverWait(dash_duo.driver, 20).until(
        lambda d: d.execute_script("return window.__sceneAnswers.length && window.__sceneAnswers"))
    status, text = answers[0]
    assert status == 204 or json.loads(text).get("response") == {}
    # what that answer used to bring is on the page: pills, numbers, panels, widget values
    pills = dash_duo.driver.execute_script(
        "return Array.from(document.querySelectorAll('.pop-pill')).map(e => e.className)")
    assert len(pills) == n_pops and all("pop-up" in c for c in pills)
    dash_duo.wait_for_text_to_equal(f"#{ids.POP_STATUS_COUNT}", f"{n_pops} of {n_pops} up")
    dash_duo.wait_for_contains_text(f"#{ids.SUMMARY}", "Add clients")
    dash_duo.wait_for_contains_text(f"#{ids.ENDPOINTS_LIST}", "eu-central-1")
    assert dash_duo.driver.execute_script(
        f"return document.querySelectorAll('#{ids.MODEL_CONTROLS} input').length") > 0
    # no polyfill; the regenerator runtime Dash's lazy components call is there
    assert dash_duo.driver.execute_script("""
        return !Array.from(document.scripts).some(s => s.src.indexOf('/deps/polyfill@') >= 0)
            && typeof regeneratorRuntime.mark === 'function';""")
    # the world outline was put in plotly.js's cache by assets/geo_prefetch.js (or by plotly.js)
    assert dash_duo.driver.execute_script(
        "return !!(window.PlotlyGeoAssets && window.PlotlyGeoAssets.topojson.world_110m)")
    # a user action after it: a pill marks its access point down, through the round trip
    dash_duo.find_element(".pop-pill").click()
    dash_duo.wait_for_text_to_equal(f"#{ids.POP_STATUS_COUNT}", f"{n_pops - 1} of {n_pops} up")
    # a panel whose lazy components were not on the page yet (capacity: graphs, table)
    dash_duo.find_element(f"#{ids.VIEW_TABS} .view-tab:nth-child(2)").click()
    dash_duo.wait_for_contains_text(f"#{ids.CAPACITY_KPIS}", "No demand yet", timeout=30)
    WebDriverWait(dash_duo.driver, 20).until(lambda d: d.execute_script(
        f"return document.querySelectorAll('#{ids.LOAD_BARS} .main-svg').length > 0"))
    assert severe_logs(dash_duo) == []


def test_a_link_still_draws_its_scenario_with_the_first_answer(dash_duo):
    app = create_app()
    dash_duo.start_server(app)
    dash_duo.wait_for_page(url=dash_duo.server_url + "/?down=LHR")
    wait_land(dash_duo)
    n_pops = len(app.server.config["ANYCAST_CATALOG"].pops)
    dash_duo.wait_for_text_to_equal(f"#{ids.POP_STATUS_COUNT}", f"{n_pops - 1} of {n_pops} up")
    assert severe_logs(dash_duo) == []
