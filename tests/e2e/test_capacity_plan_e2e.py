"""Issue 15: the capacity view's new planning inputs in a real headless Chromium: the instance
bandwidth, the spill-over what-if and a cost input write their edits (assets/capacity_plan.js)
and are filled back from a link."""

from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from dashboard import ids
from tests.e2e.test_map_e2e import severe_logs, start


def test_instance_spill_and_cost_inputs_round_trip_through_the_link(dash_duo):
    start(dash_duo, "/?clients=35.68,139.69,Tokyo,900&instance=2000&cost=eu:0.05")
    dash_duo.find_element(f"#{ids.VIEW_TABS} .view-tab:nth-child(2)").click()
    dash_duo.wait_for_contains_text(f"#{ids.CAPACITY_KPIS}", "of 2,000 Mbps", timeout=30)
    driver = dash_duo.driver
    inst = dash_duo.find_element(f"#{ids.INSTANCE_MBPS}")
    eu = driver.find_element(By.XPATH, "//input[contains(@id, '%s') and contains(@id, '\"eu\"')]"
                             % ids.COST_INPUT)
    WebDriverWait(driver, 10).until(lambda d: inst.get_attribute("value") == "2000"
                                    and eu.get_attribute("value") == "0.05")
    inst.send_keys(Keys.CONTROL, "a")
    inst.send_keys("3000", Keys.ENTER)
    dash_duo.wait_for_contains_text(f"#{ids.CAPACITY_KPIS}", "of 3,000 Mbps", timeout=20)
    dash_duo.find_element(f"#{ids.SPILL_WHATIF} input").click()
    WebDriverWait(driver, 20).until(lambda d: "spill=on" in d.current_url
                                    and "instance=3000" in d.current_url)
    dash_duo.wait_for_contains_text(f"#{ids.CAPACITY_KPIS}", "spilled over (what-if)")
    eu.send_keys(Keys.CONTROL, "a")
    eu.send_keys("0.07", Keys.ENTER)
    WebDriverWait(driver, 20).until(lambda d: "eu%3A0.07" in d.current_url
                                    or "eu:0.07" in d.current_url)
    dash_duo.wait_for_contains_text(f"#{ids.COST_PANEL}", "incomplete")
    assert severe_logs(dash_duo) == []
