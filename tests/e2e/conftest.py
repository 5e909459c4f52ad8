"""Browser tests (dash.testing's ``dash_duo``, headless Chromium via /usr/bin/chromedriver).

Every non-loopback host is unresolvable inside the browser (``--host-resolver-rules``), so a
test passes only if the page needs nothing from the internet (plotly.js, the world topojson...).
Headless is forced when there is no display, so ``pytest tests/e2e`` works without ``--headless``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from selenium.webdriver.chrome.options import Options

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
VIEWPORT = (1280, 800)

CHROME_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--no-first-run",
    "--disable-extensions",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost",
    f"--window-size={VIEWPORT[0]},{VIEWPORT[1]}",
)


def pytest_setup_options():
    """dash.testing hook: the Chrome options of every ``dash_duo`` browser."""
    options = Options()
    for arg in CHROME_ARGS:
        options.add_argument(arg)
    if not os.environ.get("DISPLAY"):
        options.add_argument("--headless=new")
    if shutil.which("chromium") and not os.environ.get("DASH_TEST_CHROMEPATH"):
        options.binary_location = shutil.which("chromium")
    return options


@pytest.fixture
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
