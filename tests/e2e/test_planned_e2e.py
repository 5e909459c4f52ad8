"""Planned PoPs in a real headless Chromium (issue 20, part 1; docs/planning.md): plan a PoP in
Johannesburg by clicking the map in plan mode, see the Johannesburg and Nairobi clients move to
it and the gain card, copy the link and restore it in a fresh browser. Every wait is for what
the user waits for (text in the page), never a sleep."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from selenium import webdriver
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from dashboard import ids
from dashboard.figures.map import PLANNED
from tests.e2e.conftest import pytest_setup_options
from tests.e2e.test_map_e2e import severe_logs, start, table_rows, wait_rows
from tests.e2e.test_ux_e2e import read_clipboard

pytestmark = pytest.mark.e2e

CLIENTS = ("/?clients=-26.2041,28.0473,Johannesburg;-1.2864,36.8172,Nairobi;"
           "48.8566,2.3522,Paris")


def click_map_at(dash_duo, lat: float, lon: float) -> None:
    """A user's click on the map at (lat, lon) under the current view."""
    px = dash_duo.driver.execute_script(f"""
        const gd = document.querySelector('#{ids.WORLD_MAP} .js-plotly-plot');
        const p = gd._fullLayout.geo._subplot.projection([arguments[1], arguments[0]]);
        const box = gd.querySelector('.main-svg').getBoundingClientRect();
        const map = document.getElementById('{ids.WORLD_MAP}').getBoundingClientRect();
        return [p[0] + box.left - map.left, p[1] + box.top - map.top, map.width, map.height];""",
        lat, lon)
    el = dash_duo.find_element(f"#{ids.WORLD_MAP}")
    ActionChains(dash_duo.driver).move_to_element(el).move_by_offset(
        round(px[0] - px[2] / 2), round(px[1] - px[3] / 2)).click().perform()


def pops_by_client(rows: list[list[str]]) -> dict[str, str]:
    return {r[1]: r[2].split(" ")[0] for r in rows}


def test_plan_a_pop_by_clicking_see_the_gain_share_and_restore(dash_duo):
    start(dash_duo, CLIENTS)
    d = dash_duo.driver
    before = pops_by_client(wait_rows(dash_duo, 3))
    assert before["Paris"] == "CDG" and before["Johannesburg"] not in ("JOH", "JNB")
    assert dash_duo.find_element(f"#{ids.PLANNED_GAIN}").text == ""

    # plan mode: armed, Escape disarms it, armed again; the next click plans a PoP instead of
    # adding a client
    dash_duo.find_element(f"#{ids.PLAN_MODE}").click()
    dash_duo.wait_for_contains_text(f"#{ids.PLAN_MODE}", "Click the map")
    ActionChains(d).send_keys(Keys.ESCAPE).perform()
    dash_duo.wait_for_contains_text(f"#{ids.PLAN_MODE}", "Plan a PoP here")
    dash_duo.find_element(f"#{ids.PLAN_MODE}").click()
    dash_duo.wait_for_contains_text(f"#{ids.PLAN_MODE}", "Click the map")
    click_map_at(dash_duo, -26.3, 28.2)  # just beside the Johannesburg client

    dash_duo.wait_for_contains_text(f"#{ids.PLANNED_GAIN}", "clients moving to planned PoPs",
                                    timeout=30)
    WebDriverWait(d, 20).until(
        lambda _d: pops_by_client(table_rows(dash_duo)).get("Nairobi") == "JOH")
    after = pops_by_client(table_rows(dash_duo))
    assert len(table_rows(dash_duo)) == 3  # the click added no client
    assert after == {"Johannesburg": "JOH", "Nairobi": "JOH", "Paris": "CDG"}
    card = dash_duo.find_element(f"#{ids.PLANNED_GAIN}").text
    assert "2 of 3" in card and "clients moving to planned PoPs" in card
    assert "population within 100 ms" in card and "not something a customer can buy" in card
    dash_duo.wait_for_contains_text(f"#{ids.PLAN_MODE}", "Plan a PoP here")  # one click only
    assert "planned=JOH:" in d.current_url
    # drawn apart: the planned layer is in the legend, the table lists it
    dash_duo.wait_for_contains_text(f"#{ids.WORLD_MAP} .legend", PLANNED.split(" (")[0])
    dash_duo.wait_for_contains_text(f"#{ids.PLANNED_TABLE}", "Johannesburg")

    # copy the link; a fresh browser restores the planned PoP, the routes and the card
    d.execute_cdp_cmd("Browser.grantPermissions", {
        "origin": dash_duo.server_url,
        "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]})
    dash_duo.find_element(f"#{ids.SHARE_LINK}").click()
    dash_duo.wait_for_text_to_equal(f"#{ids.SHARE_LABEL}", "Copied")
    link = WebDriverWait(d, 10).until(lambda dr: "planned=" in (t := read_clipboard(dr)) and t)
    assert parse_qs(urlsplit(link).query)["planned"][0].startswith("JOH:")
    assert severe_logs(dash_duo) == []

    fresh = webdriver.Chrome(options=pytest_setup_options())
    try:
        fresh.get(link)
        WebDriverWait(fresh, 30).until(lambda dr: "2 of 3" in dr.execute_script(
            f"return (document.getElementById('{ids.PLANNED_GAIN}') || {{}}).innerText || ''"))
        rows = fresh.execute_script(f"""
            return Array.from(document.querySelectorAll('#{ids.ASSIGNMENT_TABLE} tbody tr'))
                .map(tr => Array.from(tr.querySelectorAll('td')).map(td => td.innerText.trim()))
                .filter(r => r.length > 0);""")
        assert pops_by_client(rows) == after
    finally:
        fresh.quit()


def test_typed_planned_pop_then_removed_from_the_table(dash_duo):
    start(dash_duo, CLIENTS)
    wait_rows(dash_duo, 3)
    box = dash_duo.find_element(f"#{ids.PLANNED_INPUT}")
    box.send_keys("JNB:-26.2041,28.0473")
    dash_duo.find_element(f"#{ids.PLANNED_ADD}").click()
    WebDriverWait(dash_duo.driver, 20).until(
        lambda _d: pops_by_client(table_rows(dash_duo)).get("Johannesburg") == "JNB")
    # the row's delete control in the planned PoPs table removes it: the clients move back
    dash_duo.find_element(f"#{ids.PLANNED_TABLE} .dash-delete-cell").click()
    WebDriverWait(dash_duo.driver, 20).until(
        lambda _d: pops_by_client(table_rows(dash_duo)).get("Johannesburg") not in ("JNB", None))
    dash_duo.wait_for_contains_text(f"#{ids.NOTICE}", "Planned access point JNB removed")
    assert "planned=" not in dash_duo.driver.current_url
    assert severe_logs(dash_duo) == []
