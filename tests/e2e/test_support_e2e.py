"""Support and capacity views in a real headless Chromium (offline host rules of conftest.py)."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from dashboard import ids
from dashboard.catalog import default_catalog
from dashboard.domain.exports import scenario_from_json
from dashboard.domain.scenario_url import from_query
from tests.e2e.test_bundle_e2e import drawn_bars
from tests.e2e.test_map_e2e import severe_logs, start, wait_rows

pytestmark = pytest.mark.e2e

LINK = ("/?clients=48.8566,2.3522,Paris;35.6895,139.6917,Tokyo,900;-33.8688,151.2093,Sydney;"
        "-1.2864,36.8172,Nairobi"
        "&origin=us-east-1&down=CDG&observed=1:ICN&capacity=*:0.5,NRT:2&demand=clients:0.5")


def click_lonlat(dash_duo, lon: float, lat: float) -> None:
    px = dash_duo.driver.execute_script(f"""
        const gd = document.querySelector('#{ids.WORLD_MAP} .js-plotly-plot');
        const p = gd._fullLayout.geo._subplot.projection([arguments[0], arguments[1]]);
        const box = gd.querySelector('.main-svg').getBoundingClientRect();
        const map = document.getElementById('{ids.WORLD_MAP}').getBoundingClientRect();
        return [p[0] + box.left - map.left, p[1] + box.top - map.top, map.width, map.height];""",
                                        lon, lat)
    el = dash_duo.find_element(f"#{ids.WORLD_MAP}")
    ActionChains(dash_duo.driver).move_to_element(el).move_by_offset(
        round(px[0] - px[2] / 2), round(px[1] - px[3] / 2)).pause(0.4).click().perform()


def visible(dash_duo, panel: str) -> bool:
    return dash_duo.driver.execute_script(
        "return !document.getElementById(arguments[0]).hidden", panel)


def selected_row(dash_duo) -> str:
    """The client cell of the assignment table's selected row ("" when none)."""
    return dash_duo.driver.execute_script(f"""
        const td = document.querySelector(
            '#{ids.ASSIGNMENT_TABLE} td.cell--selected[data-dash-column="client"]');
        return td ? td.innerText.trim() : '';""")


def test_explain_panel_from_a_map_click_and_observed_override(dash_duo, artifacts_dir):
    start(dash_duo, LINK)
    wait_rows(dash_duo, 4)
    # a row of the assignment table selects the client, without leaving the map (issue 17);
    # "Explain ›" opens the explanation (Paris: CDG is down in the link)
    dash_duo.driver.find_elements(
        By.CSS_SELECTOR, f"#{ids.ASSIGNMENT_TABLE} td[data-dash-column='pop']")[0].click()
    dash_duo.wait_for_contains_text(f"#{ids.EXPLAIN_PICKED}", "#1 Paris")
    assert visible(dash_duo, ids.PANEL_MAP) and not visible(dash_duo, ids.PANEL_SUPPORT)
    assert selected_row(dash_duo).startswith("Paris")
    dash_duo.find_element(f"#{ids.EXPLAIN_OPEN}").click()
    WebDriverWait(dash_duo.driver, 15).until(lambda d: visible(dash_duo, ids.PANEL_SUPPORT))
    assert not visible(dash_duo, ids.PANEL_MAP)
    dash_duo.wait_for_contains_text(f"#{ids.EXPLAIN_BODY}", "Nearer but down")
    body = dash_duo.find_element(f"#{ids.EXPLAIN_BODY}").text
    assert "#1 Paris" in body and "LHR" in body and "BGP routes" in body
    assert "Runner-up" in body
    ranked = dash_duo.driver.execute_script(f"""
        return Array.from(document.querySelectorAll('#{ids.EXPLAIN_TABLE} tbody tr'))
          .map(tr => Array.from(tr.querySelectorAll('td')).map(td => td.innerText.trim()))
          .filter(r => r.length > 0);""")
    assert len(ranked) == 19 and ranked[0][1].startswith("LHR") and ranked[-1][2] == "down"
    # the explain chart's stacked bars (internet + backbone leg) are drawn
    WebDriverWait(dash_duo.driver, 10).until(lambda d: drawn_bars(dash_duo, ids.EXPLAIN_CHART) > 0)

    # a client marker on the map opens its explanation too (Nairobi: far from every PoP)
    dash_duo.find_element(f"#{ids.VIEW_TABS} .view-tab:nth-child(1)").click()
    WebDriverWait(dash_duo.driver, 10).until(lambda d: visible(dash_duo, ids.PANEL_MAP))
    time.sleep(0.5)
    click_lonlat(dash_duo, 36.8172, -1.2864)
    dash_duo.wait_for_contains_text(f"#{ids.EXPLAIN_PICKED}", "#4 Nairobi")
    WebDriverWait(dash_duo.driver, 10).until(
        lambda d: selected_row(dash_duo).startswith("Nairobi"))  # map -> table
    assert visible(dash_duo, ids.PANEL_MAP) and not visible(dash_duo, ids.PANEL_SUPPORT)
    dash_duo.find_element(f"#{ids.EXPLAIN_OPEN}").click()
    WebDriverWait(dash_duo.driver, 15).until(lambda d: visible(dash_duo, ids.PANEL_SUPPORT))
    dash_duo.wait_for_contains_text(f"#{ids.EXPLAIN_BODY}", "#4 Nairobi")
    assert len(wait_rows(dash_duo, 4)) == 4  # the click explained, it did not add a client

    # record "Nairobi actually enters at SIN"
    dash_duo.find_element(".observed-select").click()
    box = dash_duo.wait_for_element(".observed-select .dash-dropdown-search, .dash-dropdown-search")
    box.send_keys("SIN")
    WebDriverWait(dash_duo.driver, 10).until(lambda d: d.execute_script("""
        const o = Array.from(document.querySelectorAll('.dash-dropdown-option'))
            .find(e => e.innerText.trim().startsWith('SIN'));
        if (!o) { return false; } o.click(); return true;"""))
    dash_duo.wait_for_contains_text(f"#{ids.EXPLAIN_BODY}", "Observed detour via SIN")
    WebDriverWait(dash_duo.driver, 10).until(lambda d: "observed=1:ICN,3:SIN" in d.current_url)
    time.sleep(0.5)
    dash_duo.driver.save_screenshot(str(artifacts_dir / "support.png"))
    assert severe_logs(dash_duo) == []


def test_export_then_import_round_trip_is_identical(dash_duo):
    catalog = default_catalog()
    original, warnings = from_query(LINK[1:], pop_ids=catalog.pop_ids,
                                    origin_ids=catalog.origin_ids)
    assert warnings == [] and original.observed == ((1, "ICN"),)
    start(dash_duo, LINK)
    wait_rows(dash_duo, 4)
    dash_duo.find_element(f"#{ids.VIEW_TABS} .view-tab:nth-child(3)").click()
    dash_duo.find_element(f"#{ids.EXPORT_JSON}").click()
    folder = Path(dash_duo.download_path)
    WebDriverWait(dash_duo.driver, 15).until(lambda d: list(folder.glob("anycast-eip-scenario-*.json")))
    exported = next(folder.glob("anycast-eip-scenario-*.json"))
    assert scenario_from_json(exported.read_bytes(), catalog.pop_ids, catalog.origin_ids) == original

    # change the scenario, then import the file back
    dash_duo.find_element(f"#{ids.CLEAR_CLIENTS}").click()
    WebDriverWait(dash_duo.driver, 10).until(lambda d: "clients=" not in d.current_url)
    upload = dash_duo.driver.find_element(By.CSS_SELECTOR, f"#{ids.IMPORT_UPLOAD} input[type=file]")
    upload.send_keys(str(exported))
    dash_duo.wait_for_contains_text(f"#{ids.NOTICE}", "Imported the scenario")
    WebDriverWait(dash_duo.driver, 10).until(lambda d: "clients=" in d.current_url)
    back, warnings = from_query(urlsplit(dash_duo.driver.current_url).query,
                                pop_ids=catalog.pop_ids, origin_ids=catalog.origin_ids)
    assert warnings == [] and back == original
    assert "Virginia" in dash_duo.find_element(f"#{ids.ORIGIN}").text

    # a broken file is refused with the field named, and nothing changes
    bad = folder / "broken.json"
    bad.write_text(exported.read_text().replace('"lat": 48.8566', '"lat": 148.8566'))
    upload = dash_duo.driver.find_element(By.CSS_SELECTOR, f"#{ids.IMPORT_UPLOAD} input[type=file]")
    upload.send_keys(str(bad))
    dash_duo.wait_for_contains_text(f"#{ids.NOTICE}", "clients[0]")
    assert "Nothing was changed" in dash_duo.find_element(f"#{ids.NOTICE}").text
    again, _ = from_query(urlsplit(dash_duo.driver.current_url).query,
                          pop_ids=catalog.pop_ids, origin_ids=catalog.origin_ids)
    assert again == original
    assert severe_logs(dash_duo) == []


def test_n1_runs_in_the_background_with_progress(dash_duo, artifacts_dir):
    start(dash_duo, "/?demand=population")
    dash_duo.find_element(f"#{ids.VIEW_TABS} .view-tab:nth-child(2)").click()
    dash_duo.wait_for_contains_text(f"#{ids.CAPACITY_KPIS}", "Gbps", timeout=30)
    # Every text the status line shows, with the number of N-1 table cells on the page at that
    # moment (a MutationObserver runs right after the DOM change that wrote the text).
    dash_duo.driver.execute_script(f"""
        window.n1Seen = [];
        const status = document.getElementById('{ids.N1_STATUS}');
        new MutationObserver(() => window.n1Seen.push([status.innerText,
            document.querySelectorAll('#{ids.N1_TABLE} tbody tr td').length]))
          .observe(status, {{childList: true, characterData: true, subtree: true}});""")
    dash_duo.find_element(f"#{ids.N1_RUN}").click()
    # while it runs the button is disabled and the page still answers (switch views)
    WebDriverWait(dash_duo.driver, 10).until(
        lambda d: d.find_element(By.ID, ids.N1_RUN).get_attribute("disabled"))
    # what the user waits for: the rows, then the status line saying it is done
    WebDriverWait(dash_duo.driver, 90).until(lambda d: d.execute_script(
        f"return document.querySelectorAll('#{ids.N1_TABLE} tbody tr td').length") > 0)
    dash_duo.wait_for_contains_text(f"#{ids.N1_STATUS}", "Done", timeout=30)
    assert "access points analysed in" in dash_duo.find_element(f"#{ids.N1_STATUS}").text
    seen = dash_duo.driver.execute_script("return window.n1Seen")
    # the page never said "Done" over an empty table (it did before the status moved to the
    # callback that draws the table: one run in three)
    assert [n for text, n in seen if "Done" in text and n == 0] == [], seen
    assert dash_duo.find_element(f"#{ids.N1_PROGRESS}").get_attribute("value") == "100"
    # the N-1 chart draws its bars (three bar subplots)
    WebDriverWait(dash_duo.driver, 10).until(lambda d: drawn_bars(dash_duo, ids.N1_CHART) > 0)
    assert dash_duo.driver.execute_script(
        f"return document.querySelectorAll('#{ids.N1_CHART} .barlayer .trace.bars').length") == 3
    dash_duo.driver.save_screenshot(str(artifacts_dir / "capacity.png"))
    assert severe_logs(dash_duo) == []
