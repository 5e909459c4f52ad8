#!/usr/bin/env python3
"""One legitimate user with a big scenario against the Procfile's server (issue 13 follow-up).

A single click on the page (here: an access-point pill, marking it down) fires a fixed fan-out
of ~10-15 callbacks, and each one that carries the scenario store has a body over
``dashboard.admission.HEAVY_BODY_BYTES`` once the scenario has more than ~900 clients. This
script checks that such a burst from *one* user is served, not refused as "server busy".

One run starts gunicorn with the Procfile's ``web:`` command (127.0.0.1, a free port, the
access log in a temporary file), opens the page in headless Chromium (every non-loopback host
unresolvable), uploads a CSV of ``--clients`` clients through the page's upload control, waits
until no callback is pending, then clicks the CDG pill and waits for the final state: the pill
is down, the failover summary names CDG, the browser's failover animation has ended and no
callback is pending. Measured:

* callback POSTs of the click and their status codes (gunicorn's access log),
* whether the busy notice (``assets/busy_notice.js``) appeared at any time,
* the time from the click to the final state (None: not reached within 60 s),
* the most callback requests pending in the page at once, and the most connections the browser
  held open to the server meanwhile (``ss``; Chrome opens at most 6 per host over HTTP/1.1, the
  other requests wait in the browser),
* a fingerprint of what the page shows (map traces, table, key numbers) afterwards; run once
  with ``--slots 64`` (nothing ever waits) to get the reference the default run must equal.

Bounded: one page, one upload, one click; every wait has a timeout (60 s).

    python benchmarks/single_user_burst.py --clients 2000
    python benchmarks/single_user_burst.py --clients 5000 --slots 64    # reference
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from dashboard import ids  # noqa: E402
from tests.e2e.conftest import CHROME_ARGS  # noqa: E402
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.servers import free_port, procfile_command  # noqa: E402

WAIT_S = 60
ACCESS = re.compile(r'"POST /_dash-update-component[^ "]* HTTP/1\.\d" (\d{3}) ')

BUSY_WATCH = """
window.__busySeen = window.__busySeen || [];
new MutationObserver(function () {
    var el = document.getElementById('server-busy-notice');
    if (el && window.__busySeen.indexOf(el.textContent) < 0) {
        window.__busySeen.push(el.textContent);
    }
}).observe(document.body, {childList: true, subtree: true, characterData: true});
"""
# Most callback requests of the page in flight at once (resource timing of its fetches).
IN_FLIGHT = """
var ev = [];
performance.getEntriesByType('resource').forEach(function (e) {
    if (e.name.indexOf('_dash-update-component') >= 0) {
        ev.push([e.startTime, 1]); ev.push([e.responseEnd, -1]);
    }
});
ev.sort(function (a, b) { return a[0] - b[0] || a[1] - b[1]; });
var n = 0, most = 0;
ev.forEach(function (x) { n += x[1]; most = Math.max(most, n); });
return most;
"""
# The failover animation (stepped in the browser) has ended: its "Moving ..." layers are empty.
ANIMATION_DONE = f"""
var gd = document.querySelector('#{ids.WORLD_MAP} .js-plotly-plot');
return !!(gd && gd._fullData) && gd._fullData.every(function (t) {{
    return String(t.name).indexOf('Moving') !== 0 || (t.lat || []).length === 0;
}});
"""
PENDING = """
var s = window.store && window.store.getState();
if (!s) { return -1; }
var c = Object.assign({}, s.callbacks); delete c.stored; delete c.completed;
return [].concat.apply([], Object.values(c)).length;
"""
FINGERPRINT = f"""
var gd = document.querySelector('#{ids.WORLD_MAP} .js-plotly-plot');
// the "Moving ..." layers hold the browser-side failover animation's current frame: left out
var traces = gd && gd._fullData ? gd._fullData.filter(function (t) {{
    return String(t.name).indexOf('Moving') !== 0;
}}).map(function (t) {{
    return [t.name, (t.lat || []).length, JSON.stringify(Array.from(t.lat || []).slice(0, 50))];
}}) : null;
var table = document.getElementById('{ids.ASSIGNMENT_TABLE}');
var notice = document.getElementById('server-busy-notice');
if (notice) {{ notice.remove(); }}
return JSON.stringify({{traces: traces, table: table ? table.innerText : null,
                        page: document.body.innerText,
                        summary: document.getElementById('{ids.FAILOVER_SUMMARY}').innerText,
                        url: location.search}});
"""


def wait_idle(driver, settle_s: float = 0.5) -> None:
    """No callback pending for ``settle_s`` in a row (the renderer's own queue)."""
    deadline = time.monotonic() + WAIT_S
    idle_since = None
    while time.monotonic() < deadline:
        if driver.execute_script(PENDING) == 0:
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since >= settle_s:
                return
        else:
            idle_since = None
        time.sleep(0.05)
    raise TimeoutError("callbacks still pending")


def statuses(log: Path, start: int) -> list[str]:
    return ACCESS.findall(log.read_bytes()[start:].decode(errors="replace"))


def run(n_clients: int, slots: int | None, workdir: Path) -> dict:
    port = free_port()
    log = workdir / "gunicorn.log"
    env = dict(os.environ, PORT=str(port), PYTHONPATH=str(ROOT))
    env.pop("REDIS_URL", None)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    if slots is not None:
        env["ANYCAST_HEAVY_SLOTS"] = str(slots)
    out = open(log, "wb")
    server = subprocess.Popen(["bash", "-c", "exec " + procfile_command()], cwd=ROOT, env=env,
                              stdout=out, stderr=subprocess.STDOUT)
    driver = None
    try:
        deadline = time.monotonic() + WAIT_S
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit(f"gunicorn did not start: {log.read_text()[-2000:]}")
                time.sleep(0.1)
        rng = random.Random(n_clients)
        csv = workdir / f"clients-{n_clients}.csv"
        csv.write_text("lat,lon,name\n" + "".join(
            f"{rng.uniform(36, 60):.4f},{rng.uniform(-10, 25):.4f},client {i}\n"
            for i in range(n_clients)))
        options = Options()
        for arg in CHROME_ARGS:
            options.add_argument(arg)
        options.add_argument("--headless=new")
        options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
        driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
        driver.get(f"http://127.0.0.1:{port}/?origin=eu-central-1")
        driver.execute_script("performance.setResourceTimingBufferSize(5000);")
        WebDriverWait(driver, WAIT_S).until(lambda d: d.execute_script(PENDING) >= 0)
        wait_idle(driver)
        driver.execute_script(BUSY_WATCH)
        t0 = time.monotonic()
        driver.find_element("css selector", f"#{ids.UPLOAD} input[type=file]").send_keys(str(csv))
        WebDriverWait(driver, WAIT_S).until(
            lambda d: f"{n_clients}" in d.find_element("id", ids.ASSIGNMENT_TABLE).text
            or d.execute_script("return window.__busySeen.length") > 0
            or d.execute_script(PENDING) > 0)
        wait_idle(driver)
        upload_s = time.monotonic() - t0
        time.sleep(1.0)  # let the access log flush the upload's lines
        mark = log.stat().st_size
        upload_codes = statuses(log, 0)
        pill = f"#{ids.POP_STATUS} button[data-pop='CDG']"
        conns: list[int] = []
        watching = threading.Event()

        def watch_connections() -> None:  # the browser's open connections to the server
            while not watching.is_set():
                out = subprocess.run(["ss", "-Htn", "state", "established",
                                      f"( sport = :{port} )"], capture_output=True, text=True)
                conns.append(len(out.stdout.splitlines()))
                time.sleep(0.05)

        watcher = threading.Thread(target=watch_connections)
        watcher.start()
        t0 = time.monotonic()
        driver.find_element("css selector", pill).click()
        try:  # the final state: the pill down, the summary naming CDG, nothing pending
            WebDriverWait(driver, WAIT_S).until(lambda d: d.execute_script(
                f"var p = document.querySelector(\"{pill}\");"
                f"var s = document.getElementById('{ids.FAILOVER_SUMMARY}');"
                "return p && p.className.indexOf('pop-down') >= 0 && s && "
                "s.innerText.indexOf('CDG') >= 0;") and d.execute_script(ANIMATION_DONE))
            wait_idle(driver)
            click_s: float | None = round(time.monotonic() - t0, 2)
        except TimeoutError:
            click_s = None
        except Exception:  # selenium's TimeoutException: the final state never came
            click_s = None
        if os.environ.get("BURST_SCREENSHOT"):
            driver.save_screenshot(os.environ["BURST_SCREENSHOT"])
        watching.set()
        watcher.join()
        time.sleep(1.0)
        codes = statuses(log, mark)
        fingerprint = driver.execute_script(FINGERPRINT)
        if os.environ.get("BURST_DUMP"):
            Path(os.environ["BURST_DUMP"]).write_text(fingerprint)
        return {
            "clients": n_clients, "slots": slots or "default",
            "upload_posts": {c: upload_codes.count(c) for c in sorted(set(upload_codes))},
            "upload_to_idle_s": round(upload_s, 2),
            "click_posts": {c: codes.count(c) for c in sorted(set(codes))},
            "click_to_final_s": click_s,  # None: not within 60 s
            # callbacks pending in the page at once (fetch called, answer not in), and the
            # browser's connections to the server (Chrome: at most 6 per host; the rest queue)
            "most_callbacks_pending": driver.execute_script(IN_FLIGHT),
            "most_connections_open": max(conns, default=0),
            "busy_notice_seen": bool(driver.execute_script("return window.__busySeen")),
            "summary_names_CDG": "CDG" in driver.find_element("id", ids.FAILOVER_SUMMARY).text,
            "fingerprint": hashlib.sha256(fingerprint.encode()).hexdigest()[:16],
            "refused_in_log": log.read_text(errors="replace").count("heavy request refused"),
        }
    finally:
        if driver is not None:
            driver.quit()
        if server.poll() is None:
            os.kill(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
        out.close()
        if os.environ.get("BURST_KEEP_LOG"):
            shutil.copy(log, os.environ["BURST_KEEP_LOG"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=2000)
    ap.add_argument("--slots", type=int, default=None, help="ANYCAST_HEAVY_SLOTS (default: unset)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="single-user-burst-") as tmp:
        print(json.dumps(run(args.clients, args.slots, Path(tmp))))


if __name__ == "__main__":
    main()
