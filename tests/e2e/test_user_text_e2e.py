"""In a real browser: hostile names from a shared link render as text (table, map hover) and
never run; an oversize upload gets a clear notice and leaves the scenario alone."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest
from selenium.webdriver.support.ui import WebDriverWait

from dashboard import ids
from dashboard.figures import map as map_figures
from dashboard.app import create_app
from dashboard.settings import Settings

pytestmark = pytest.mark.e2e

NAMES = ("<script>window.__pwned='script'</script>",
         "<img src=x onerror=\"window.__pwned='img';alert(1)\">",
         "<svg onload=alert(2)>",
         "=cmd|' /C calc'!A0")
COORDS = ((48.86, 2.35), (35.68, 139.69), (-33.87, 151.21), (40.71, -74.0))

# Installed before any page script: records alert/confirm/prompt instead of opening dialogs.
TRAP = """
window.__dialogs = [];
['alert', 'confirm', 'prompt'].forEach(function (f) {
    window[f] = function (m) { window.__dialogs.push(f + ':' + m); };
});
"""


def open_app(dash_duo, settings: Settings, path: str) -> None:
    dash_duo.start_server(create_app(settings))
    dash_duo.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": TRAP})
    dash_duo.wait_for_page(url=dash_duo.server_url + path)


def rows(dash_duo) -> list[list[str]]:
    return dash_duo.driver.execute_script(f"""
        return Array.from(document.querySelectorAll('#{ids.ASSIGNMENT_TABLE} tbody tr'))
            .map(tr => Array.from(tr.querySelectorAll('td')).map(td => td.innerText.trim()))
            .filter(r => r.length > 0);""")


def wait_rows(dash_duo, n: int, timeout: float = 25) -> list[list[str]]:
    WebDriverWait(dash_duo.driver, timeout).until(lambda d: len(rows(dash_duo)) == n)
    return rows(dash_duo)


def test_hostile_names_from_a_link_render_as_text_and_never_run(dash_duo):
    clients = ";".join(f"{a},{b},{quote(n, safe='')}" for (a, b), n in zip(COORDS, NAMES))
    open_app(dash_duo, Settings(), "/?clients=" + clients)
    table = wait_rows(dash_duo, len(NAMES))
    shown = sorted(r[1] for r in table)
    assert shown == sorted(NAMES)  # the table shows the names literally

    d = dash_duo.driver
    clients_trace = map_figures.map_trace_index(map_figures.CLIENTS)
    # Hover the first client marker: plotly renders the label (it accepts some HTML).
    label = d.execute_script(f"""
        var gd = document.querySelector('#{ids.WORLD_MAP} .js-plotly-plot');
        Plotly.Fx.hover(gd, [{{curveNumber: {clients_trace}, pointNumber: 1}}], 'geo');
        var t = gd.querySelector('.hoverlayer .hovertext');
        return t ? t.textContent : null;""")
    assert label is not None and NAMES[1] in label  # literal text, not an element

    injected = d.execute_script("""
        return {
            pwned: window.__pwned || null,
            dialogs: window.__dialogs,
            imgs: document.querySelectorAll('img[src="x"]').length,
            svgOnload: document.querySelectorAll('svg[onload]').length,
            scripts: Array.from(document.scripts).filter(
                s => s.textContent.indexOf('__pwned') >= 0).length,
            hoverImgs: document.querySelectorAll('.hoverlayer img, .hoverlayer a').length
        };""")
    assert injected == {"pwned": None, "dialogs": [], "imgs": 0, "svgOnload": 0, "scripts": 0,
                        "hoverImgs": 0}


def test_oversize_upload_gets_a_notice_and_keeps_the_clients(dash_duo, tmp_path: Path):
    open_app(dash_duo, Settings(max_upload_bytes=2048), "/?clients=48.86,2.35,Paris")
    wait_rows(dash_duo, 1)
    big = tmp_path / "big.csv"
    big.write_text("lat,lon,name\n" + "1.29,103.85,Singapore office\n" * 400)  # ~12 KB
    upload = dash_duo.find_element(f"#{ids.UPLOAD} input[type=file]")
    upload.send_keys(str(big))
    notice = WebDriverWait(dash_duo.driver, 20).until(
        lambda d: "larger than the" in d.find_element("id", ids.NOTICE).text
        and d.find_element("id", ids.NOTICE).text)
    assert notice.startswith("big.csv is 11 KB, larger than the 2 KB upload limit; nothing was "
                              "added and your clients are unchanged")
    assert [r[1] for r in rows(dash_duo)] == ["Paris"]

    small = tmp_path / "ok.csv"
    small.write_text("lat,lon,name\n1.29,103.85,=cmd|' /C calc'!A0\n")
    dash_duo.find_element(f"#{ids.UPLOAD} input[type=file]").send_keys(str(small))
    table = wait_rows(dash_duo, 2)
    assert sorted(r[1] for r in table) == sorted(["Paris", "=cmd|' /C calc'!A0"])
