"""P3: page load to a world map with land and every access-point marker drawn, headless Chromium.

    python benchmarks/page_load.py              # 15 cold + 15 warm loads per page, ~2-3 minutes
    python benchmarks/page_load.py --runs 7

Two servers, both started from the Procfile's own command line (gunicorn, 2 workers, bound to
127.0.0.1), are measured alternately in the same run:

* **baseline**: ``benchmarks/page_baseline_app.py``, a bare Dash page holding one 19-point
  scattergeo with Dash's defaults (full 4.8 MB plotly.js, no compression) and the same offline
  topojson;
* **dashboard**: ``dashboard.wsgi:server``, the real page.

Each *cold* load uses a new Chromium (``/usr/bin/chromium`` via ``/usr/bin/chromedriver``,
selenium) with a fresh profile, so its HTTP cache is empty; the *warm* load then opens the same
URL again in that browser (cache primed, as for a returning user). Every other host is
unresolvable (``--host-resolver-rules``): the page must work offline. Time = the page's own
``performance.now()`` (ms since navigation start) at the first poll (every ~10 ms) that finds
the geo layer's land drawn and all 19 PoP markers rendered as SVG points.

Goals: issue 7, median cold load <= 1.5 s; issue 16, <= 0.8x the baseline's median cold load
in the same run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api_load import loadavg  # noqa: E402
from servers import ROOT, free_port, procfile_command, stop, wait_healthy  # noqa: E402
import servers  # noqa: E402


def start(app: str, port: int, log: Path, root: Path = ROOT):
    """The Procfile's web command serving ``app`` from the checkout at ``root``."""
    return servers.start(procfile_command(root).replace("dashboard.wsgi:server", app), port, log,
                         root=root)


def export_ref(ref: str, into: Path) -> Path:
    """The tree of git ``ref`` of this repository, extracted into ``into`` (for ``--ref``)."""
    import subprocess
    archive = subprocess.run(["git", "archive", ref], cwd=ROOT, capture_output=True,
                             check=True).stdout
    into.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into

CHROME_ARGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--disable-background-networking", "--no-first-run", "--window-size=1400,900",
               "--disable-extensions",
               "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost")

# Returns performance.now() once land and >= `need` PoP points are drawn, else null.
READY_JS = """
const need = arguments[0], prefix = arguments[1];
const gd = document.querySelector('#world-map .js-plotly-plot');
if (!gd || !gd._fullLayout) return null;
const land = gd.querySelector('.geo .layer.land path');
if (!land || (land.getAttribute('d') || '').length < 1000) return null;
let n = 0;
gd.querySelectorAll('g.trace.scattergeo').forEach(function (g) {
  const d = g.__data__, name = d && d[0] && d[0].trace && d[0].trace.name;
  if (!prefix || (name && name.indexOf(prefix) === 0)) { n += g.querySelectorAll('path.point').length; }
});
return n >= need ? performance.now() : null;
"""


def start_pages(pages: dict, roots: dict, logs: Path, procs: dict) -> dict[str, str]:
    """Start every page's server (``pages``: name -> (app, ready path, _); ``roots``: name ->
    the source tree of a git ref or None), record each process in ``procs`` (to stop them even
    if a later one fails) and wait until each is healthy; their URLs by name."""
    urls = {}
    for name, (app, ready, _prefix) in pages.items():
        port = free_port()
        procs[name] = start(app, port, logs / f"{name.replace(' ', '_')}.log",
                            *([roots[name]] if roots[name] else []))
        wait_healthy(f"http://127.0.0.1:{port}{ready}", procs[name])
        urls[name] = f"http://127.0.0.1:{port}/"
    return urls


def new_driver(prefix: str = "pageload-", perf_log: dict | None = None):
    """Headless Chromium with a fresh profile directory (returned, to delete); ``perf_log``:
    the ``perfLoggingPrefs`` of a performance log (``page_timeline.py``), none by default."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    opts = Options()
    for a in CHROME_ARGS:
        opts.add_argument(a)
    opts.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    profile = tempfile.mkdtemp(prefix=prefix)
    opts.add_argument(f"--user-data-dir={profile}")
    if perf_log is not None:
        opts.set_capability("goog:loggingPrefs", {"performance": "ALL"})
        opts.add_experimental_option("perfLoggingPrefs", perf_log)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")
                                              or "/usr/bin/chromedriver"), options=opts)
    driver.set_page_load_timeout(60)
    return driver, profile


def load(driver, url: str, need: int, prefix: str, timeout: float = 30.0) -> float:
    driver.get("about:blank")
    driver.get(url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        t = driver.execute_script(READY_JS, need, prefix)
        if t is not None:
            return float(t)
        time.sleep(0.01)
    raise SystemExit(f"{url}: map not drawn within {timeout} s")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=15, help="cold (and warm) loads per page")
    ap.add_argument("--ref", default=None,
                    help="also load the dashboard of this git ref (e.g. the commit before a "
                         "change), alternating with the others in the same run")
    args = ap.parse_args(argv)
    pages = {
        "baseline": ("benchmarks.page_baseline_app:server", "/", ""),
        "dashboard": ("dashboard.wsgi:server", "/healthz", "Access points ·"),
    }
    roots = {name: ROOT for name in pages}
    keep = tempfile.TemporaryDirectory()
    if args.ref:
        name = f"ref {args.ref}"
        pages[name] = pages["dashboard"]
        roots[name] = export_ref(args.ref, Path(keep.name) / "ref")
    print(f"cores: {os.cpu_count()}, load average before: {loadavg()}")
    print(f"server: {procfile_command()}; {args.runs} cold + {args.runs} warm loads each, "
          "alternating")
    results: dict[str, dict[str, list[float]]] = {k: {"cold": [], "warm": []} for k in pages}
    procs = {}
    with tempfile.TemporaryDirectory() as tmp:
        try:
            urls = start_pages(pages, roots, Path(tmp), procs)
            for name in pages:  # one untimed load each: workers import lazily, warm the OS cache
                d, prof = new_driver()
                try:
                    load(d, urls[name], 19, pages[name][2])
                finally:
                    d.quit()
                    shutil.rmtree(prof, ignore_errors=True)
            for _ in range(args.runs):
                for name in pages:
                    d, prof = new_driver()
                    try:
                        results[name]["cold"].append(load(d, urls[name], 19, pages[name][2]))
                        results[name]["warm"].append(load(d, urls[name], 19, pages[name][2]))
                    finally:
                        d.quit()
                        shutil.rmtree(prof, ignore_errors=True)
        finally:
            for p in procs.values():
                stop(p)
    print(f"load average after: {loadavg()}\n")
    keep.cleanup()
    print(f"{'':10s} {'cold median':>12s} {'cold p90':>9s} {'warm median':>12s} {'warm p90':>9s}"
          "   (ms)")
    med = {}
    for name, r in results.items():
        c, w = sorted(r["cold"]), sorted(r["warm"])
        med[name] = (statistics.median(c), statistics.median(w))
        print(f"{name:10s} {med[name][0]:12.0f} {c[int(0.9 * (len(c) - 1))]:9.0f} "
              f"{med[name][1]:12.0f} {w[int(0.9 * (len(w) - 1))]:9.0f}")
    for name in pages:
        if name != "baseline":
            print(f"\nratio {name} / baseline: cold {med[name][0] / med['baseline'][0]:.2f}, "
                  f"warm {med[name][1] / med['baseline'][1]:.2f}")
    ok = med["dashboard"][0] <= 1500
    print(f"goal of issue 7 (median cold load <= 1.5 s): {'MET' if ok else 'NOT MET'} "
          f"({med['dashboard'][0] / 1000:.2f} s)")
    ratio = med["dashboard"][0] / med["baseline"][0]
    print(f"goal of issue 16 (median cold load <= 0.8x the baseline's, same run): "
          f"{'MET' if ratio <= 0.8 else 'NOT MET'} ({ratio:.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
