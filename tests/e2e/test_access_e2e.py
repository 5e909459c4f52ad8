"""Who the clients are, in a real headless Chromium (issue 19): a page opens with end users (the
radio and the clients KPI say so); switching the radio to data-centre servers lowers the median
RTT key number, keeps every access point and writes ``access=datacenter`` into the link. Every
wait is on a page state (the KPI, the radio, the address bar), never on a fixed sleep."""

from __future__ import annotations

import pytest
from selenium.webdriver.support.ui import WebDriverWait

from dashboard import ids
from tests.e2e.test_policy_e2e import cells, start

pytestmark = pytest.mark.e2e

QUERY = ("/?clients=48.8566,2.3522,Paris;1.29,103.85,Singapore;40.71,-74.0,New+York"
         "&origin=eu-central-1")


def kpis(dash_duo) -> dict[str, str]:
    """label -> value of the key numbers above the map."""
    return dash_duo.driver.execute_script(
        "const out = {}; document.querySelectorAll(arguments[0]).forEach(k => {"
        "  const l = k.querySelector('.kpi-label'), v = k.querySelector('.kpi-value');"
        "  if (l && v) { out[l.innerText.trim()] = v.innerText.trim(); } }); return out;",
        f"#{ids.SUMMARY} .kpi")


def median_ms(values: dict[str, str]) -> float:
    return float(values["median RTT"].replace("ms", "").strip())


def checked_access(dash_duo) -> str | None:
    return dash_duo.driver.execute_script(
        "const i = document.querySelector(arguments[0]); return i ? i.value : null;",
        f"#{ids.ACCESS} input:checked")


def test_switching_to_datacenter_lowers_the_median_and_writes_the_link(dash_duo):
    start(dash_duo, QUERY)
    end_user = WebDriverWait(dash_duo.driver, 30).until(
        lambda _d: (lambda k: k if "end-user clients" in k and "median RTT" in k else False)(
            kpis(dash_duo)))
    assert end_user["end-user clients"] == "3"
    assert checked_access(dash_duo) == "end-user"
    assert "access=" not in dash_duo.driver.execute_script("return window.location.search")
    pops = cells(dash_duo, "pop")
    dash_duo.driver.execute_script(
        "document.querySelector(arguments[0]).click()", f"#{ids.ACCESS} input[value='datacenter']")
    dc = WebDriverWait(dash_duo.driver, 30).until(
        lambda _d: (lambda k: k if "data-centre clients" in k and "median RTT" in k else False)(
            kpis(dash_duo)))
    assert median_ms(dc) < median_ms(end_user)
    WebDriverWait(dash_duo.driver, 20).until(
        lambda d: "access=datacenter" in d.execute_script("return window.location.search"))
    assert checked_access(dash_duo) == "datacenter"
    assert cells(dash_duo, "pop") == pops                 # RTTs change, access points do not
