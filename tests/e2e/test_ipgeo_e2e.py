"""Issue 18: an IP address typed in the search box becomes a client with its city, in a real
headless Chromium; the app is configured to a GeoIP database built by the test (mmdb-writer),
and the link the page writes carries the located point, not the address."""

from __future__ import annotations

from urllib.parse import unquote

import pytest
from selenium.webdriver.support.ui import WebDriverWait

from dashboard import ids
from dashboard.app import create_app
from dashboard.settings import Settings
from tests.e2e.test_map_e2e import search_city, severe_logs, wait_land, wait_rows
from tests.geoip_db import LONDON, build_mmdb

pytestmark = pytest.mark.e2e


def pick(dash_duo, query: str, prefix: str) -> str:
    """Type ``query`` in the search box and click the option starting with ``prefix`` once the
    server's options are shown (as :func:`search_city`, without its " ·" suffix)."""
    dash_duo.find_element(f"#{ids.CITY_SEARCH}").click()
    dash_duo.wait_for_element(".dash-dropdown-search").send_keys(query)
    return WebDriverWait(dash_duo.driver, 15).until(lambda d: d.execute_script("""
        const o = Array.from(document.querySelectorAll('.dash-dropdown-option'))
            .find(e => e.innerText.trim().startsWith(arguments[0]));
        if (!o) { return false; }
        o.click();
        return o.innerText.trim();""", prefix))


def test_an_ip_typed_in_the_search_box_becomes_a_client_with_its_city(dash_duo, tmp_path):
    db = build_mmdb(tmp_path / "GeoLite2-City-test.mmdb")
    dash_duo.start_server(create_app(Settings(geoip_mmdb=db)))
    wait_land(dash_duo)
    note = dash_duo.find_element(f"#{ids.GEOIP_NOTE}").text
    assert "GeoLite2-City" in note and "MaxMind" in note

    search_city(dash_duo, LONDON, f"{LONDON}")
    rows = wait_rows(dash_duo, 1)
    assert rows[0][1] == f"{LONDON} · London, GB (±10 km)"
    assert rows[0][2].startswith("LHR")
    # the address bar (and so "Copy link") holds the city and the point, never the address
    WebDriverWait(dash_duo.driver, 10).until(
        lambda d: "IP · London" in unquote(d.current_url))
    assert LONDON not in unquote(dash_duo.driver.current_url)

    # a private address is offered with its reason and adds nothing when picked
    assert "RFC 1918" in pick(dash_duo, "192.168.1.20", "192.168.1.20: private address")
    WebDriverWait(dash_duo.driver, 10).until(
        lambda d: "private address" in d.find_element("id", ids.NOTICE).text)
    assert len(wait_rows(dash_duo, 1)) == 1
    assert severe_logs(dash_duo) == []
