"""Issue 18, IP addresses through the page's other entry points, in a real headless Chromium
(docs/geoip.md): a CSV upload with an ``ip`` column (the located rows become clients with their
city; the others are listed by file line in the notice, never dropped silently) and a link with
``ip=`` (rewritten at once to the located points and labels: no address left in the URL). The
app reads a GeoIP database the test builds with mmdb-writer (tests/geoip_db.py). Every wait is
for what the user sees (DOM text, the address bar), never a sleep."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

import pytest
from selenium.webdriver.support.ui import WebDriverWait

from dashboard import ids
from dashboard.app import create_app
from dashboard.settings import Settings
from tests.e2e.test_map_e2e import severe_logs, wait_land, wait_rows
from tests.geoip_db import LINKOPING, LONDON, OSLO_V6, UNKNOWN_IP, build_mmdb

pytestmark = pytest.mark.e2e


def start(dash_duo, tmp_path: Path, path: str = "/") -> None:
    """The app configured with a test GeoLite2-style database, opened at ``path``."""
    db = build_mmdb(tmp_path / "GeoLite2-City-test.mmdb")
    dash_duo.start_server(create_app(Settings(geoip_mmdb=db)))
    if path != "/":
        dash_duo.wait_for_page(url=dash_duo.server_url + path)
    wait_land(dash_duo)


def notice_with(dash_duo, words: str, timeout: float = 20) -> str:
    """The notice's text once it contains ``words``."""
    return WebDriverWait(dash_duo.driver, timeout).until(
        lambda d: words in d.find_element("id", ids.NOTICE).text
        and d.find_element("id", ids.NOTICE).text)


def test_a_csv_upload_with_an_ip_column(dash_duo, tmp_path):
    start(dash_duo, tmp_path)
    log = tmp_path / "access-log.csv"
    log.write_text("time,client_ip,bytes,name\n"           # line 1: an access-log export
                   f"12:00:01,{LONDON},512,shop\n"           # line 2: located
                   "12:00:02,192.168.1.20,80,\n"             # line 3: private (RFC 1918)
                   f"12:00:03,{LINKOPING},1024,\n"           # line 4: located
                   f"12:00:04,{UNKNOWN_IP},64,\n"            # line 5: not in the database
                   f"12:00:05,{OSLO_V6},2048,\n")            # line 6: located (IPv6)
    dash_duo.find_element(f"#{ids.UPLOAD} input[type=file]").send_keys(str(log))
    notice = notice_with(dash_duo, "2 lines rejected")
    assert notice.startswith("access-log.csv: 2 lines rejected, the 3 good rows added.")
    assert "line 3: 192.168.1.20: private address (RFC 1918" in notice
    assert f"line 5: {UNKNOWN_IP}: not in the GeoIP database" in notice
    rows = wait_rows(dash_duo, 3)
    by_name = {r[1]: r[2] for r in rows}
    assert set(by_name) == {"shop · London, GB (±10 km)",
                            f"{LINKOPING} · Linköping, SE (±76 km)",
                            f"{OSLO_V6} · Oslo, NO (±20 km)"}
    assert by_name["shop · London, GB (±10 km)"].startswith("LHR")
    # the address bar carries the located points, not the addresses
    WebDriverWait(dash_duo.driver, 10).until(lambda d: "Linköping" in unquote(d.current_url))
    url = unquote(dash_duo.driver.current_url)
    assert LINKOPING not in url and OSLO_V6 not in url
    assert severe_logs(dash_duo) == []


def test_a_link_with_ip_is_rewritten_to_points_and_labels(dash_duo, tmp_path):
    start(dash_duo, tmp_path, f"/?ip={LONDON},{OSLO_V6},{UNKNOWN_IP}")
    rows = wait_rows(dash_duo, 2)
    assert {r[1] for r in rows} == {f"{LONDON} · London, GB (±10 km)",
                                    f"{OSLO_V6} · Oslo, NO (±20 km)"}
    notice = notice_with(dash_duo, UNKNOWN_IP)
    assert f"IP {UNKNOWN_IP}: not in the GeoIP database" in notice
    # rewritten at once: the located points and "IP · city" labels, no address, no ip= key
    WebDriverWait(dash_duo.driver, 10).until(
        lambda d: "IP · London, GB" in unquote(d.current_url)
        and "IP · Oslo, NO" in unquote(d.current_url))
    url = unquote(dash_duo.driver.current_url)
    assert "ip=" not in url and "clients=" in url and "51.5142" in url
    for address in (LONDON, OSLO_V6, UNKNOWN_IP):
        assert address not in url
    assert severe_logs(dash_duo) == []
