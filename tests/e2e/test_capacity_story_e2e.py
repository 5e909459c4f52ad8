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


def heat_cells(dash_duo) -> int:
    """Bar segments drawn in the N-1 heat map."""
    return dash_duo.driver.execute_script(
        f"return document.querySelectorAll('#{ids.N1_HEATMAP} g.trace.bars path').length")


def test_prompt_scales_demand_heat_map_png_and_print(dash_duo, artifacts_dir):
    from pathlib import Path

    start(dash_duo, "/?clients=48.8566,2.3522,Paris;35.6895,139.6917,Tokyo;-33.87,151.21,Sydney")
    dash_duo.find_element(f"#{ids.VIEW_TABS} .view-tab:nth-child(2)").click()
    dash_duo.wait_for_contains_text(f"#{ids.CAPACITY_STORY}", "under 10 % busy", timeout=60)
    WebDriverWait(dash_duo.driver, 20).until(lambda d: heat_cells(dash_duo) >= 19 * 19 - 19)
    # one click: the demand scale that loads the busiest access point to ~65 %
    dash_duo.find_element(f"#{ids.CAPACITY_STORY} button").click()
    dash_duo.wait_for_contains_text(f"#{ids.CAPACITY_STORY}", "at 65 % of its 1.00 Gbps",
                                    timeout=30)
    assert "demand=clients%3A650" in dash_duo.driver.current_url or \
        "demand=clients:650" in dash_duo.driver.current_url
    assert "under 10 % busy" not in dash_duo.find_element(f"#{ids.CAPACITY_STORY}").text
    # one PNG of the whole view, saved by the browser
    dash_duo.find_element(f"#{ids.STORY_PNG}").click()
    dash_duo.wait_for_contains_text(f"#{ids.STORY_STATUS}", "PNG saved", timeout=30)
    folder = Path(dash_duo.download_path)
    WebDriverWait(dash_duo.driver, 15).until(
        lambda d: list(folder.glob("anycast-eip-capacity-*.png")))
    png = next(folder.glob("anycast-eip-capacity-*.png")).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 50_000
    (artifacts_dir / "capacity_story_export.png").write_bytes(png)
    # one self-contained HTML summary (one server request)
    dash_duo.find_element(f"#{ids.STORY_HTML}").click()
    WebDriverWait(dash_duo.driver, 20).until(
        lambda d: list(folder.glob("anycast-eip-capacity-*.html")))
    page = next(folder.glob("anycast-eip-capacity-*.html")).read_text()
    assert "NRT at 65 % of its 1.00 Gbps" in page and "<script" not in page
    # "Print summary" opens the print dialog (stubbed: headless Chromium has none)
    dash_duo.driver.execute_script("window.print = function () { window.__printed = true; };")
    dash_duo.find_element(f"#{ids.STORY_PRINT}").click()
    dash_duo.wait_for_contains_text(f"#{ids.STORY_STATUS}", "Print dialog opened")
    WebDriverWait(dash_duo.driver, 5).until(lambda d: d.execute_script("return window.__printed"))
    # the print layout: sidebar and inputs hidden, the story and the heat map kept
    dash_duo.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    shown = dash_duo.driver.execute_script("""
        const vis = s => { const e = document.querySelector(s);
                           return !!e && getComputedStyle(e).display !== 'none'; };
        return {sidebar: vis('.sidebar'), controls: vis('.capacity-controls'),
                story: vis('#capacity-story'), heat: vis('#n1-heatmap')};""")
    assert shown == {"sidebar": False, "controls": False, "story": True, "heat": True}
    dash_duo.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    dash_duo.driver.save_screenshot(str(artifacts_dir / "capacity_story.png"))
    assert severe_logs(dash_duo) == []
