"""Issue 17, the capacity story, in a real headless Chromium: the 25,000-city client set counts
as demand on the Capacity tab and as support clients on the Support tab."""

from __future__ import annotations

from selenium.webdriver.support.ui import WebDriverWait

from dashboard import ids
from tests.e2e.test_map_e2e import severe_logs, start


def test_client_set_is_demand_and_support_clients(dash_duo):
    start(dash_duo, "/?clientset=cities25k")
    dash_duo.wait_for_contains_text(f"#{ids.CLIENT_COUNT}", "25,000 clients", timeout=60)
    dash_duo.find_element(f"#{ids.VIEW_TABS} .view-tab:nth-child(2)").click()
    dash_duo.wait_for_contains_text(f"#{ids.CAPACITY_KPIS}", "9.58 Gbps", timeout=60)
    assert "No demand yet" not in dash_duo.find_element(f"#{ids.CAPACITY_KPIS}").text
    dash_duo.find_element(f"#{ids.VIEW_TABS} .view-tab:nth-child(3)").click()
    dash_duo.wait_for_contains_text(f"#{ids.EXPLAIN_BODY}", "Pick a client", timeout=30)
    assert "Add clients" not in dash_duo.find_element(f"#{ids.EXPLAIN_BODY}").text
    # the picker offers the set's largest cities; picking one explains it
    dash_duo.find_element(f"#{ids.EXPLAIN_CLIENT}").click()
    WebDriverWait(dash_duo.driver, 15).until(lambda d: d.execute_script("""
        const o = Array.from(document.querySelectorAll('.dash-dropdown-option'))
            .find(e => e.innerText.includes('#1 Shanghai, CN'));
        if (!o) { return false; } o.click(); return true;"""))
    dash_duo.wait_for_contains_text(f"#{ids.EXPLAIN_BODY}", "#1 Shanghai, CN", timeout=30)
    assert severe_logs(dash_duo) == []
