"""Observations in a real headless Chromium: a pasted ``mtr --report`` sets the explained client's
observed entry point, and a pasted CSV of measured RTTs is compared with the model (issue 18,
part 3). Every wait is for text the user sees."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from dashboard import ids
from dashboard.figures import map as map_figures
from tests.conftest import ROOT
from tests.e2e.test_map_e2e import severe_logs, start, wait_rows

pytestmark = pytest.mark.e2e

MTR = (ROOT / "tests" / "data" / "traces" / "mtr_report.txt").read_text()


def visible(dash_duo, panel: str) -> bool:
    return dash_duo.driver.execute_script(
        "return !document.getElementById(arguments[0]).hidden", panel)


def test_a_pasted_mtr_sets_the_observed_pop(dash_duo, artifacts_dir):
    start(dash_duo, "/?clients=45.764,4.8357,Lyon")
    wait_rows(dash_duo, 1)
    dash_duo.driver.find_elements(
        By.CSS_SELECTOR, f"#{ids.ASSIGNMENT_TABLE} td[data-dash-column='pop']")[0].click()
    dash_duo.wait_for_contains_text(f"#{ids.EXPLAIN_PICKED}", "#1 Lyon")
    dash_duo.find_element(f"#{ids.EXPLAIN_OPEN}").click()
    WebDriverWait(dash_duo.driver, 15).until(lambda d: visible(dash_duo, ids.PANEL_SUPPORT))
    dash_duo.wait_for_contains_text(f"#{ids.EXPLAIN_BODY}", "#1 Lyon")

    box = dash_duo.find_element(f"#{ids.TRACE_TEXT}")
    box.send_keys(MTR)
    dash_duo.find_element(f"#{ids.TRACE_ANALYSE}").click()
    dash_duo.wait_for_contains_text(f"#{ids.TRACE_RESULT}", "Entry point FRA (high confidence)")
    result = dash_duo.find_element(f"#{ids.TRACE_RESULT}").text
    assert "ae-1.r20.frnkge08.de.bb.g" in result and "Measured 13.8 ms" in result
    assert "observed=" not in dash_duo.driver.current_url  # analysing changes nothing

    dash_duo.find_element(f"#{ids.TRACE_APPLY}").click()
    dash_duo.wait_for_contains_text(f"#{ids.NOTICE}", "observed entering at FRA")

    dash_duo.wait_for_contains_text(f"#{ids.EXPLAIN_BODY}", "Observed detour via FRA")
    WebDriverWait(dash_duo.driver, 10).until(lambda d: "observed=0:FRA" in d.current_url)
    assert "FRA" in dash_duo.find_element(".observed-select").text
    # the map draws the observed path (client -> FRA -> origin) beside the modelled one
    WebDriverWait(dash_duo.driver, 10).until(lambda d: d.execute_script(f"""
        const gd = document.querySelector('#{ids.WORLD_MAP} .js-plotly-plot');
        const t = gd && gd._fullData && gd._fullData.find(
            t => t.name === '{map_figures.OBSERVED}');
        return Boolean(t && t.lat && t.lat.length > 2);"""))
    dash_duo.driver.execute_script("arguments[0].scrollIntoView()",
                                   dash_duo.find_element(f"#{ids.TRACE_TEXT}"))
    dash_duo.driver.save_screenshot(str(artifacts_dir / "observations.png"))

    # a trace without metro codes says so and changes nothing
    box.clear()
    box.send_keys((ROOT / "tests" / "data" / "traces" / "mtr_no_codes.txt").read_text())
    dash_duo.find_element(f"#{ids.TRACE_APPLY}").click()
    dash_duo.wait_for_contains_text(f"#{ids.NOTICE}", "no entry point inferred")
    assert "observed=0:FRA" in dash_duo.driver.current_url

    # measured RTTs beside the model (nothing stored)
    dash_duo.find_element(f"#{ids.MEASURED_TEXT}").send_keys("index,rtt_ms,pop\n1,30,FRA\n")
    dash_duo.find_element(f"#{ids.MEASURED_COMPARE}").click()
    dash_duo.wait_for_contains_text(f"#{ids.MEASURED_RESULT}", "1 measurement compared")
    assert "#1 Lyon" in dash_duo.find_element(f"#{ids.MEASURED_RESULT}").text
    assert severe_logs(dash_duo) == []
