"""Drive the in-page click probe (``benchmarks/click_probe.js``, the one copy of the JS) from
selenium: install it before the page loads, arm it, wait for the animation's end or for idle,
read what one click cost. Used by ``benchmarks/click_to_map.py`` and
``tests/e2e/test_round_trips_e2e.py``.

Every wait polls a page state and has a timeout (seconds); none sleeps on a guess.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from selenium.webdriver.support.ui import WebDriverWait

PROBE_JS = (Path(__file__).resolve().parent / "click_probe.js").read_text()

#: What the probe looks at. The trace names are ``dashboard.figures.MOVING_*`` and
#: ``LEG_*``/``BACKBONE`` layers as of issue 12's baseline; spelled out (not imported) so the
#: benchmark can measure an older checkout with the same probe.
CONFIG: dict[str, Any] = {
    "mapId": "world-map",
    "movingNames": ["Moving internet legs", "Moving backbone legs"],
    "staticNames": ["Internet leg (client → PoP)"],
    "urlPart": "_dash-update-component",
}


def install(driver: Any, config: dict[str, Any] | None = None) -> None:
    """Run the probe in every document this (Chromium) driver opens from now on, before the
    page's own scripts, so every callback request is seen. Call before ``driver.get``."""
    source = f"({PROBE_JS})({json.dumps({**CONFIG, **(config or {})})});"
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": source})


def wait_ready(driver: Any, timeout: float = 90, quiet_ms: float = 500) -> None:
    """Until the map shows paths at rest and no callback request has been in flight for
    ``quiet_ms`` (the page finished its start-up callbacks)."""
    WebDriverWait(driver, timeout, poll_frequency=0.05).until(lambda d: d.execute_script(
        "const p = window.__clickProbe; return !!p && p.mapReady() && p.idle(arguments[0]);",
        quiet_ms))


def arm(driver: Any) -> None:
    """Forget earlier records; the next click in the page is time zero."""
    driver.execute_script("window.__clickProbe.arm();")


def result(driver: Any) -> dict[str, Any]:
    """The probe's numbers for the armed click (see the header of ``click_probe.js``)."""
    return driver.execute_script("return window.__clickProbe.result();")


def wait_done(driver: Any, timeout: float = 60) -> dict[str, Any]:
    """Until the animation of the armed click has ended (the moving layer is empty again);
    returns :func:`result`. ``TimeoutException`` if it never ends."""
    WebDriverWait(driver, timeout, poll_frequency=0.05).until(
        lambda d: d.execute_script("const r = window.__clickProbe.result(); return r.done;"))
    return result(driver)


def wait_idle(driver: Any, timeout: float = 60, quiet_ms: float = 500) -> dict[str, Any]:
    """Until no callback request has been in flight for ``quiet_ms``; returns :func:`result`
    (its ``reqTotal`` is then every request the click caused)."""
    WebDriverWait(driver, timeout, poll_frequency=0.05).until(
        lambda d: d.execute_script("return window.__clickProbe.idle(arguments[0]);", quiet_ms))
    return result(driver)
