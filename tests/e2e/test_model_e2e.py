"""Advanced latency model in a real browser: change a parameter in the sidebar, the table's RTT
and the link follow; opening that link shows the same values in the inputs."""

from __future__ import annotations

import json

import pytest
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from dashboard import ids
from tests.e2e.test_map_e2e import severe_logs, start, wait_land

pytestmark = pytest.mark.e2e


def _dom_id(name: str) -> str:
    # Dash renders a dict id as its JSON with sorted keys
    return json.dumps(ids.model_param(name), sort_keys=True, separators=(",", ":"))


def input_box(dash_duo, name: str):
    return dash_duo.driver.execute_script("return document.getElementById(arguments[0]);",
                                          _dom_id(name))


def input_value(dash_duo, name: str):
    return dash_duo.driver.execute_script(
        "const e = document.getElementById(arguments[0]); return e ? e.value : null;",
        _dom_id(name))


def total_ms(dash_duo):
    return dash_duo.driver.execute_script(
        f"const c = document.querySelector(\"#{ids.ASSIGNMENT_TABLE} "
        "td[data-dash-column='anycast_ms']\"); return c ? c.innerText : null;")


def test_change_a_parameter_then_reload_the_link(dash_duo):
    start(dash_duo, "/?clients=40.71,-74.0,New%20York")
    WebDriverWait(dash_duo.driver, 30).until(lambda d: total_ms(dash_duo))
    before = total_ms(dash_duo)
    assert "model=" not in dash_duo.driver.current_url
    dash_duo.find_element(f"#{ids.MODEL_SECTION} summary").click()
    box = input_box(dash_duo, "overhead_ms")
    assert box.is_displayed()
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(Keys.DELETE)
    box.send_keys("40", Keys.ENTER)
    WebDriverWait(dash_duo.driver, 30).until(lambda d: total_ms(dash_duo) != before)
    WebDriverWait(dash_duo.driver, 10).until(lambda d: "model=overhead_ms:40" in d.current_url)
    after = total_ms(dash_duo)
    assert float(after.replace(",", "")) > float(before.replace(",", ""))
    dash_duo.wait_for_contains_text(f"#{ids.MODEL_CUSTOM}", "overhead_ms 40 (fitted")
    # the shared link restores the value in the inputs (and the same result)
    url = dash_duo.driver.current_url
    dash_duo.driver.get(url)
    wait_land(dash_duo)
    WebDriverWait(dash_duo.driver, 30).until(lambda d: total_ms(dash_duo) == after)
    assert input_value(dash_duo, "overhead_ms") == "40"
    # an out-of-range entry is refused with a notice; the scenario keeps 40
    dash_duo.find_element(f"#{ids.MODEL_SECTION} summary").click()
    box = input_box(dash_duo, "pop_overhead_ms")
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(Keys.DELETE)
    box.send_keys("-5", Keys.ENTER)
    dash_duo.wait_for_contains_text(f"#{ids.NOTICE}", "Access point overhead")
    assert "model=overhead_ms:40" in dash_duo.driver.current_url
    assert "pop_overhead_ms" not in dash_duo.driver.current_url
    # reset
    dash_duo.find_element(f"#{ids.MODEL_RESET}").click()
    WebDriverWait(dash_duo.driver, 30).until(lambda d: total_ms(dash_duo) == before)
    assert "model=" not in dash_duo.driver.current_url
    WebDriverWait(dash_duo.driver, 10).until(
        lambda d: input_value(dash_duo, "overhead_ms") != "40")
    assert severe_logs(dash_duo) == []
