"""Issue 20, part 3 in a real headless Chromium: a bias on FRA (typed into its slider's box in
the capacity view) visibly shrinks FRA's catchment and moves its load to its neighbours -- the
utilisation table's numbers the user reads -- writes ``bias=`` into the link, and the reset
brings everything back."""

from __future__ import annotations

import json

from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from dashboard import ids
from tests.e2e.test_map_e2e import severe_logs, start

#: Frankfurt, Munich and Berlin enter at FRA, Paris at CDG (100 Mbps each).
LINK = ("/?clients=50.1109,8.6821,Frankfurt,100;48.1351,11.582,Munich,100;"
        "52.52,13.405,Berlin,100;48.8566,2.3522,Paris,100&origin=eu-central-1")

_TABLE = """
var out = {};
document.querySelectorAll('#%s tbody tr').forEach(function (tr) {
    var row = {};
    tr.querySelectorAll('td').forEach(function (td) {
        row[td.getAttribute('data-dash-column')] = td.innerText.trim();
    });
    if (row.pop_id) { out[row.pop_id] = row; }
});
return out;
""" % ids.POP_TABLE


def table(driver) -> dict:
    """The utilisation table as the user sees it: PoP -> column -> text."""
    return driver.execute_script(_TABLE)


def wait_rows(driver, check, timeout: float = 30) -> dict:
    """Wait until ``check(rows)`` holds for the table's text (never a sleep)."""
    WebDriverWait(driver, timeout).until(lambda d: check(table(d)))
    return table(driver)


def test_bias_on_fra_shrinks_its_catchment_and_moves_load(dash_duo):
    start(dash_duo, LINK)
    driver = dash_duo.driver
    dash_duo.find_element(f"#{ids.VIEW_TABS} .view-tab:nth-child(2)").click()
    rows = wait_rows(driver, lambda r: r.get("FRA", {}).get("clients") == "3")
    assert rows["CDG"]["clients"] == "1" and rows["FRA"]["bias_delta_gbps"] == ""
    assert rows["FRA"]["unbiased_gbps"] == rows["FRA"]["nominal_gbps"] == "0.3"
    box = driver.execute_script(  # the number box of FRA's slider (Dash pattern id as JSON)
        "return document.getElementById(arguments[0]).querySelector('input')",
        json.dumps(ids.bias_slider("FRA"), sort_keys=True, separators=(",", ":")))
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", box)
    WebDriverWait(driver, 10).until(lambda d: box.is_displayed() and box.is_enabled())
    box.click()
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys("10", Keys.TAB)          # the box commits its value when it loses focus
    # +10 ms ~ 470 km of preference: Munich and Berlin now enter at CDG, Frankfurt stays
    rows = wait_rows(driver, lambda r: r.get("FRA", {}).get("clients") == "1")
    assert rows["FRA"]["bias_ms"] == "+10"
    assert rows["FRA"]["unbiased_gbps"] == "0.3" and rows["FRA"]["nominal_gbps"] == "0.1"
    assert rows["FRA"]["bias_delta_gbps"] in ("−0.2", "-0.2")   # d3's minus sign
    assert rows["CDG"]["clients"] == "3" and rows["CDG"]["bias_delta_gbps"] == "+0.2"
    WebDriverWait(driver, 20).until(lambda d: "bias=FRA:10" in d.current_url)
    dash_duo.find_element(f"#{ids.BIAS_RESET}").click()
    rows = wait_rows(driver, lambda r: r.get("FRA", {}).get("clients") == "3")
    assert rows["CDG"]["clients"] == "1"
    WebDriverWait(driver, 20).until(lambda d: "bias=" not in d.current_url)
    WebDriverWait(driver, 10).until(lambda d: box.get_attribute("value") == "0")
    assert severe_logs(dash_duo) == []
