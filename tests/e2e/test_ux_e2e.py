"""Issue 17 in a real headless Chromium: the share link, no surprise navigation, keyboard tabs."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from selenium import webdriver
from selenium.webdriver.support.ui import WebDriverWait

from dashboard import ids
from tests.e2e.conftest import pytest_setup_options
from tests.e2e.test_map_e2e import search_city, severe_logs, start, wait_rows

pytestmark = pytest.mark.e2e


def read_clipboard(driver) -> str:
    """The clipboard's text, read by the page (the permission granted through DevTools)."""
    return driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        navigator.clipboard.readText().then(done, e => done('ERROR ' + e));""")


def pill_down(dash_duo, pop: str) -> None:
    dash_duo.find_element(f"#{ids.POP_STATUS} button[data-pop='{pop}']").click()
    WebDriverWait(dash_duo.driver, 20).until(lambda d: f"down={pop}" in d.current_url)


def test_copy_link_copies_the_current_scenario_and_view(dash_duo):
    start(dash_duo)
    d = dash_duo.driver
    origin = dash_duo.server_url
    d.execute_cdp_cmd("Browser.grantPermissions", {
        "origin": origin, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]})
    search_city(dash_duo, "paris", "Paris, FR")
    wait_rows(dash_duo, 1)
    pill_down(dash_duo, "CDG")

    button = dash_duo.find_element(f"#{ids.SHARE_LINK}")
    assert button.tag_name == "button"  # one focusable control: the icon and the words
    assert "Copy link" in button.text
    button.click()
    dash_duo.wait_for_text_to_equal(f"#{ids.SHARE_LABEL}", "Copied")
    link = WebDriverWait(d, 10).until(lambda dr: (t := read_clipboard(dr)).startswith("http") and t)
    query = parse_qs(urlsplit(link).query)
    assert query["down"] == ["CDG"], link
    assert "Paris" in query["clients"][0], link
    assert "view" not in query  # the map is the default view

    # switching the tab resets "Copied"; the link then names the tab
    dash_duo.find_element(f"#{ids.VIEW_TABS} .view-tab:nth-child(3)").click()
    dash_duo.wait_for_text_to_equal(f"#{ids.SHARE_LABEL}", "Copy link")
    button.click()
    dash_duo.wait_for_text_to_equal(f"#{ids.SHARE_LABEL}", "Copied")
    link = WebDriverWait(d, 10).until(
        lambda dr: "view=support" in (t := read_clipboard(dr)) and t)
    assert severe_logs(dash_duo) == []

    # a fresh browser (no state shared with the first) opens the same scenario on that tab
    fresh = webdriver.Chrome(options=pytest_setup_options())
    try:
        fresh.get(link)
        WebDriverWait(fresh, 30).until(lambda dr: dr.execute_script(f"""
            const t = document.querySelector('#{ids.VIEW_TABS} .view-tab--selected');
            const body = document.getElementById('{ids.EXPLAIN_BODY}');
            return t && t.innerText.trim() === 'Support' && body
                && !document.getElementById('{ids.PANEL_SUPPORT}').hidden
                && body.innerText.includes('Pick a client');"""))
        rows = WebDriverWait(fresh, 20).until(lambda dr: dr.execute_script(f"""
            return Array.from(document.querySelectorAll('#{ids.ASSIGNMENT_TABLE} tbody tr'))
                .map(tr => Array.from(tr.querySelectorAll('td')).map(td => td.innerText.trim()))
                .filter(r => r.length > 0);"""))
        assert len(rows) == 1 and rows[0][1].startswith("Paris")
        assert not rows[0][2].startswith("CDG")  # CDG is down in the link
        pills = fresh.execute_script(f"""return document.querySelector(
            '#{ids.POP_STATUS} button[data-pop="CDG"]').className""")
        assert "down" in pills
    finally:
        fresh.quit()


def tab_state(driver) -> list[list]:
    """[text, role, tabindex, aria-selected] of each view tab, and the bar's role last."""
    return driver.execute_script(f"""
        const bar = document.getElementById('{ids.VIEW_TABS}');
        return Array.from(bar.querySelectorAll('.view-tab')).map(t => [t.innerText.trim(),
            t.getAttribute('role'), t.tabIndex, t.getAttribute('aria-selected')])
            .concat([[bar.getAttribute('role')]]);""")


def test_the_view_tabs_are_reachable_and_operable_by_keyboard(dash_duo):
    from selenium.webdriver.common.keys import Keys
    start(dash_duo, "/?clients=48.85,2.35,Paris")
    d = dash_duo.driver
    state = tab_state(d)
    assert state[-1] == ["tablist"]
    assert [s[:3] for s in state[:-1]] == [["Map", "tab", 0], ["Capacity planning", "tab", 0],
                                           ["Support", "tab", 0]]
    assert [s[3] for s in state[:-1]] == ["true", "false", "false"]
    # a tab takes focus, and Tab moves to the next one: every tab is in the tab order
    d.execute_script(f"document.querySelector('#{ids.VIEW_TABS} .view-tab').focus()")
    assert d.execute_script("return document.activeElement.innerText.trim()") == "Map"
    d.switch_to.active_element.send_keys(Keys.TAB)
    assert d.execute_script("return document.activeElement.innerText.trim()") == \
        "Capacity planning"
    # arrows move along the bar, Enter selects
    d.switch_to.active_element.send_keys(Keys.ARROW_RIGHT)
    assert d.execute_script("return document.activeElement.innerText.trim()") == "Support"
    d.switch_to.active_element.send_keys(Keys.ENTER)
    WebDriverWait(d, 15).until(lambda dr: dr.execute_script(
        f"return !document.getElementById('{ids.PANEL_SUPPORT}').hidden"))
    WebDriverWait(d, 5).until(lambda dr: [s[3] for s in tab_state(dr)[:-1]]
                              == ["false", "false", "true"])
    d.switch_to.active_element.send_keys(Keys.HOME)
    d.switch_to.active_element.send_keys(" ")
    WebDriverWait(d, 15).until(lambda dr: dr.execute_script(
        f"return !document.getElementById('{ids.PANEL_MAP}').hidden"))
    assert severe_logs(dash_duo) == []


def n1_state(driver) -> list:
    return driver.execute_script(f"""
        return [document.getElementById('{ids.N1_STATUS}').innerText.trim(),
                document.getElementById('{ids.N1_PROGRESS}').getAttribute('value'),
                document.getElementById('{ids.N1_RUN}').disabled,
                document.getElementById('{ids.N1_EXPORT}').disabled];""")


def test_n1_status_resets_per_run_and_says_cancelled(dash_duo):
    from dashboard.callbacks.capacity import CANCELLED, STARTING
    start(dash_duo, "/?demand=population")
    d = dash_duo.driver
    dash_duo.find_element(f"#{ids.VIEW_TABS} .view-tab:nth-child(2)").click()
    dash_duo.wait_for_contains_text(f"#{ids.CAPACITY_KPIS}", "Gbps", timeout=30)
    assert n1_state(d)[3] is True  # Download CSV: nothing to download yet
    dash_duo.find_element(f"#{ids.N1_RUN}").click()
    dash_duo.wait_for_contains_text(f"#{ids.N1_STATUS}", "Done", timeout=90)
    WebDriverWait(d, 10).until(lambda dr: n1_state(dr)[3] is False)  # a result: downloadable
    # every (status, bar) the page shows from the rerun's click on
    d.execute_script(f"""
        window.n1Seen = [];
        const status = document.getElementById('{ids.N1_STATUS}');
        const bar = document.getElementById('{ids.N1_PROGRESS}');
        const note = () => window.n1Seen.push([status.innerText.trim(), bar.getAttribute('value')]);
        new MutationObserver(note).observe(status, {{childList: true, characterData: true,
                                                     subtree: true}});
        new MutationObserver(note).observe(bar, {{attributes: true}});""")
    before = n1_state(d)[:2]
    dash_duo.find_element(f"#{ids.N1_RUN}").click()
    WebDriverWait(d, 90).until(lambda dr: n1_state(dr)[2] is False)  # the rerun ended
    seen = d.execute_script("return window.n1Seen")
    changes = [s for s in seen if s != before]  # re-renders of the old line are no change
    # the first thing the rerun shows is an empty bar and "Starting", not the old "Done" with a
    # full bar until the job's first poll
    assert changes and changes[0] == [STARTING, "0"], seen
    # Cancel says so (and the bar empties)
    dash_duo.find_element(f"#{ids.N1_RUN}").click()
    WebDriverWait(d, 30, poll_frequency=0.05).until(lambda dr: n1_state(dr)[2] is True)
    dash_duo.find_element(f"#{ids.N1_CANCEL}").click()
    WebDriverWait(d, 10).until(lambda dr: n1_state(dr)[:3] == [CANCELLED, "0", False])
    assert severe_logs(dash_duo) == []
