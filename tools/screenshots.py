"""Refresh the README and docs screenshots from the running app (headless Chromium, offline).

    python tools/screenshots.py            # writes docs/img/{screenshot,failover,capacity,support,
                                           #   capacity_story}.png
    python tools/screenshots.py capacity_story   # only the ones named

Starts the app in-process on a free 127.0.0.1 port, opens each view from a link (the link is the
scenario: the pictures are reproducible), waits until the map has drawn, and saves a 1280x800
PNG. Needs Debian's chromium and chromium-driver (`make install-test` installs them).
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dashboard import ids  # noqa: E402
from dashboard.app import create_app  # noqa: E402

OUT = ROOT / "docs" / "img"
SIZE = (1280, 800)
CITIES = ("48.8566,2.3522,Paris;51.5072,-0.1276,London;52.52,13.405,Berlin;40.4168,-3.7038,Madrid;"
          "41.9028,12.4964,Rome;59.3293,18.0686,Stockholm;40.7128,-74.006,New%20York;"
          "41.8781,-87.6298,Chicago;37.7749,-122.4194,San%20Francisco;-23.5505,-46.6333,"
          "S%C3%A3o%20Paulo;35.6762,139.6503,Tokyo;37.5665,126.978,Seoul;1.3521,103.8198,"
          "Singapore;19.076,72.8777,Mumbai;-33.8688,151.2093,Sydney;-26.2041,28.0473,Johannesburg")
SHOTS = {
    # name: (link query, tab to open or None, what to wait for)
    "screenshot": (f"?clients={CITIES}&origin=eu-central-1", None, ids.WORLD_MAP),
    "failover": (f"?clients={CITIES}&origin=eu-central-1&down=LHR,SIN"
                 "&endpoints=ap-southeast-1:KUL,CGK,BKK", None, ids.WORLD_MAP),
    "capacity": (f"?clients={CITIES}&origin=eu-central-1&demand=population", "capacity",
                 ids.CAPACITY_MAP),
    "support": (f"?clients={CITIES}&origin=eu-central-1", "support", ids.EXPLAIN_BODY),
    # issue 17: the capacity story of the 25,000-city client set (headline, risks, heat map)
    "capacity_story": ("?clientset=cities25k&origin=eu-central-1", "capacity",
                       ids.CAPACITY_STORY),
}
#: Shots taken scrolled to an element (its top at the top of the window).
SCROLL_TO = {"capacity_story": ids.CAPACITY_STORY}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def browser() -> webdriver.Chrome:
    options = Options()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--no-first-run", "--hide-scrollbars",
                f"--window-size={SIZE[0]},{SIZE[1]}",
                "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    # the window size includes the (invisible) browser chrome: set the page's own viewport
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": SIZE[0], "height": SIZE[1], "deviceScaleFactor": 1, "mobile": False})
    return driver


def drawn(driver: webdriver.Chrome, graph_id: str) -> bool:
    """The graph (or panel) exists and plotly has drawn into it."""
    return bool(driver.execute_script(
        "const host = document.getElementById(arguments[0]);"
        "if (!host) return false;"
        "const gd = host.classList.contains('js-plotly-plot') ? host"
        "  : host.querySelector('.js-plotly-plot');"
        "return gd ? Boolean(gd._fullLayout && gd.querySelector('.main-svg'))"
        "  : host.textContent.trim().length > 40;", graph_id))


def main(names: list[str] | None = None) -> int:
    """Take the shots ``names`` (all of :data:`SHOTS` when empty)."""
    unknown = [n for n in names or () if n not in SHOTS]
    if unknown:
        print(f"unknown shot(s) {', '.join(unknown)}; known: {', '.join(SHOTS)}", file=sys.stderr)
        return 2
    app = create_app()
    port = free_port()
    threading.Thread(target=lambda: app.run(host="127.0.0.1", port=port, debug=False),
                     daemon=True).start()
    time.sleep(1.5)  # the server binds; the page load below waits for what it shows
    driver = browser()
    try:
        for name, (query, tab, wait_for) in SHOTS.items():
            if names and name not in names:
                continue
            driver.get(f"http://127.0.0.1:{port}/{query}")
            WebDriverWait(driver, 60).until(lambda d: drawn(d, ids.WORLD_MAP))
            if tab:
                index = {"capacity": 2, "support": 3}[tab]
                driver.find_element(By.CSS_SELECTOR,
                                    f"#{ids.VIEW_TABS} .view-tab:nth-child({index})").click()
                if tab == "support":
                    WebDriverWait(driver, 30).until(
                        lambda d: d.find_elements(By.CSS_SELECTOR, f"#{ids.EXPLAIN_CLIENT}"))
                    driver.execute_script("window.dash_clientside.set_props(arguments[0], "
                                          "{value: 15})", ids.EXPLAIN_CLIENT)
            WebDriverWait(driver, 60).until(lambda d: drawn(d, wait_for))
            if name in SCROLL_TO:
                driver.execute_script("document.getElementById(arguments[0])"
                                      ".closest('.card').scrollIntoView()", SCROLL_TO[name])
            time.sleep(1.0)  # let plotly finish its last transition before the picture
            path = OUT / f"{name}.png"
            driver.save_screenshot(str(path))
            print(f"wrote {path.relative_to(ROOT)}")
    finally:
        driver.quit()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
