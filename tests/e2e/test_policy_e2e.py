"""The routing policy in a real headless Chromium (issue 14): under ``policy=network``
Johannesburg and Nairobi enter in Europe; under the default (geographic) they enter at BOM and
carry the ⚑ flag; the policy radio switches, animates the move and writes the link. Every wait is
on a page state (table cells, the radio, the address bar), never on a fixed sleep."""

from __future__ import annotations

import pytest
from selenium.webdriver.support.ui import WebDriverWait

from dashboard import ids
from dashboard.app import create_app
from tests.e2e.conftest import VIEWPORT

pytestmark = pytest.mark.e2e

EUROPE = ("LHR", "FRA", "CDG", "AMS", "MAD")
QUERY = ("/?clients=-26.2041,28.0473,Johannesburg;-1.2864,36.8172,Nairobi;48.8566,2.3522,Paris"
         "&origin=eu-central-1")


def start(dash_duo, path: str) -> None:
    dash_duo.start_server(create_app())
    dash_duo.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": VIEWPORT[0], "height": VIEWPORT[1], "deviceScaleFactor": 1, "mobile": False})
    dash_duo.wait_for_page(url=dash_duo.server_url + path)


def cells(dash_duo, column: str) -> list[str]:
    return dash_duo.driver.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0])).map(td => td.innerText.trim())",
        f"#{ids.ASSIGNMENT_TABLE} tbody td[data-dash-column='{column}']")


def wait_pops(dash_duo, predicate, timeout: float = 30) -> list[str]:
    """The access point ids of the table's rows, once ``predicate(ids)`` holds."""
    def ready(_d):
        pops = [c.split(" ")[0] for c in cells(dash_duo, "pop")]
        return pops if len(pops) == 3 and predicate(pops) else False
    return WebDriverWait(dash_duo.driver, timeout).until(ready)


def checked_policy(dash_duo) -> str | None:
    return dash_duo.driver.execute_script(
        "const i = document.querySelector(arguments[0]); return i ? i.value : null;",
        f"#{ids.POLICY} input:checked")


def test_network_policy_link_enters_in_europe(dash_duo):
    start(dash_duo, QUERY + "&policy=network")
    pops = wait_pops(dash_duo, lambda p: p[0] in EUROPE and p[1] in EUROPE)
    assert pops[2] in EUROPE
    assert checked_policy(dash_duo) == "network"
    assert not any(cells(dash_duo, "bgp"))             # nothing flagged under network routing


def test_default_flags_bom_and_the_radio_switches_with_an_animation(dash_duo):
    start(dash_duo, QUERY)
    wait_pops(dash_duo, lambda p: p[:2] == ["BOM", "BOM"])
    flags = cells(dash_duo, "bgp")
    assert flags[0].startswith("⚑") and flags[1].startswith("⚑") and flags[2] == ""
    assert any(e in flags[0] for e in EUROPE)
    assert checked_policy(dash_duo) == "geographic"
    # switch: click the radio's "network" option
    dash_duo.driver.execute_script(
        "document.querySelector(arguments[0]).click()", f"#{ids.POLICY} input[value='network']")
    wait_pops(dash_duo, lambda p: p[0] in EUROPE and p[1] in EUROPE)
    WebDriverWait(dash_duo.driver, 20).until(
        lambda d: "policy=network" in d.execute_script("return window.location.search"))
    card = WebDriverWait(dash_duo.driver, 20).until(lambda d: d.execute_script(
        "const c = document.getElementById(arguments[0]); return c && c.innerText",
        ids.FAILOVER_SUMMARY))
    assert "geographic → network" in card
    # the two moved clients are highlighted as moved, with where they were before
    before = cells(dash_duo, "before")
    assert before[0].startswith("BOM") and before[1].startswith("BOM")
    assert not any(cells(dash_duo, "bgp"))


def test_explain_panel_shows_both_choices_and_the_probabilities(dash_duo):
    """Johannesburg's explain panel: the geographic choice (BOM), the flag naming the PoP BGP
    would likely pick (the network policy's choice) and the landing probabilities over the
    healthy access points, with the column in the ranked table."""
    start(dash_duo, QUERY + "&down=MAD")
    wait_pops(dash_duo, lambda p: p[:2] == ["BOM", "BOM"])
    dash_duo.driver.find_elements(
        "css selector", f"#{ids.ASSIGNMENT_TABLE} td[data-dash-column='pop']")[0].click()
    # the row selects the client; "Explain ›" opens the support tab (issue 17: no jump)
    dash_duo.wait_for_contains_text(f"#{ids.EXPLAIN_PICKED}", "#1 Johannesburg")
    dash_duo.find_element(f"#{ids.EXPLAIN_OPEN}").click()
    dash_duo.wait_for_contains_text(f"#{ids.EXPLAIN_LANDING}", "Where BGP likely hands")
    body = dash_duo.find_element(f"#{ids.EXPLAIN_BODY}").text
    assert "#1 Johannesburg" in body and "nearest healthy access point" in body
    assert "BGP would likely hand this client to" in body
    line = dash_duo.find_element(f"#{ids.EXPLAIN_LANDING}").text
    assert "%" in line and "(the chosen BOM:" in line and "root-DNS" in line
    assert "MAD" not in line.split("\n")[0]  # down: no probability
    probs = dash_duo.driver.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0])).map(td => td.innerText.trim())",
        f"#{ids.EXPLAIN_TABLE} tbody td[data-dash-column='probability_pct']")
    values = [float(p) for p in probs if p]
    assert len(values) == 18 and 99 <= sum(values) <= 101
