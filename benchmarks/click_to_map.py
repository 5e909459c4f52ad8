#!/usr/bin/env python3
"""Click to map (issue 12): what one click on an access point pill costs, in headless Chromium.

    python benchmarks/click_to_map.py                        # 7 runs, 40 cities + cities25k
    python benchmarks/click_to_map.py --baseline eb52b9d     # also the code of eb52b9d, same run
    python benchmarks/click_to_map.py --url http://127.0.0.1:8050 --clients 40 --runs 3

The server is the Procfile's ``web:`` command (gunicorn, 2 workers, 127.0.0.1, a free port) of
this checkout and, with ``--baseline REV``, of a temporary ``git worktree`` of REV (removed on
exit); ``--url`` measures a server that is already running instead. The page is opened in
headless Chromium (``/usr/bin/chromium`` via ``/usr/bin/chromedriver``, the flags of
``tests/e2e/conftest.py``: every non-loopback host unresolvable) with a scenario link:

* ``--clients 40``: the 40 most populous cities of the gazetteer in ``clients=``;
* ``--clients cities25k``: the server-side client set (``clientset=cities25k``, 25,000 cities);

(``--clients 40,cities25k``, the default, measures both), origin ``eu-central-1``. The pill
clicked is ``--pop`` or the access point serving most of those clients (asked from the server's
own ``POST /api/v1/assign``), so marking it down moves the most clients.

The in-page probe (``benchmarks/click_probe.js``, shared with tests/e2e/test_round_trips_e2e.py)
is injected before the page's scripts. For each run the pill is clicked (selenium; time zero is
the click event's timestamp in the page) and the probe records, all in the page's clock:

* ``req``: callback requests (``POST /_dash-update-component``, fetch or XHR) started between the
  click and the first change of the map's moving layer (the traces the failover animation moves);
* ``change_ms``: click -> first change of the moving layer (frame 0 of the animation drawn);
* ``move_ms``: click -> the moving layer's next state (the map starts moving);
* ``frames``: distinct moving-layer states drawn until it is empty again (the animation's end),
  and ``req_anim``: requests started during the animation;
* ``end_ms``: click -> animation end; ``req_all``: every request the click caused (until no
  request for 0.5 s).

The second click brings the access point back up (measured as direction "up"); each run waits
until the page is idle again. One untimed down/up pair per page first (cold worker caches; its
numbers are printed as "cold"). With several servers, runs alternate between them. Medians of
``--runs`` runs are printed as a table and one JSON line; ratios current / baseline with
``--baseline``. The machine has 2 cores shared with other jobs: the load average is printed.

Goal (issue 12): req == 1, move_ms <= 400, frames >= 20, req_anim == 0.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

from benchmarks import click_probe, servers  # noqa: E402
from tests.e2e.conftest import CHROME_ARGS  # noqa: E402

CITIES = ROOT / "data" / "cities15000.csv.gz"
ORIGIN = "eu-central-1"
GOAL = {"req": 1, "move_ms": 400, "frames": 20, "req_anim": 0}
#: Client sets the server knows by key (dashboard.gazetteer.DEMAND_SETS): their size, the most
#: populous cities of the gazetteer.
CLIENT_SETS = {"cities25k": 25_000}
METRICS = ("req", "change_ms", "move_ms", "frames", "req_anim", "end_ms", "req_all")


@dataclass
class Target:
    """One server measured: its label, base URL and (if started here) process."""

    label: str
    url: str
    proc: subprocess.Popen | None = None
    drivers: dict[str, Any] = field(default_factory=dict)


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def largest_cities(n: int) -> list[tuple[float, float, str]]:
    """The ``n`` most populous cities of the committed gazetteer: (lat, lon, name)."""
    with gzip.open(CITIES, "rt", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    rows.sort(key=lambda r: -int(r["population"] or 0))
    return [(float(r["lat"]), float(r["lon"]), r["name"]) for r in rows[:n]]


def scenario_query(spec: str) -> str:
    """The link's query for a ``--clients`` item: a number of cities, or a client set key."""
    if spec.isdigit():
        clients = ";".join(f"{a:.4f},{o:.4f},{quote(name, safe='')}"
                           for a, o, name in largest_cities(int(spec)))
        return f"?clients={clients}&origin={ORIGIN}"
    return f"?clientset={spec}&origin={ORIGIN}"


def busiest_pop(base: str, spec: str) -> str:
    """The access point serving most of the scenario's clients, by the server's own API (the
    client set ``cities25k`` is the 25,000 most populous cities)."""
    n = int(spec) if spec.isdigit() else CLIENT_SETS[spec]
    body = json.dumps({"clients": [{"lat": a, "lon": o} for a, o, _ in largest_cities(n)],
                       "origin": ORIGIN}).encode()
    req = urllib.request.Request(base + "/api/v1/assign", data=body,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as resp:
        answer = json.load(resp)
    return answer["summary"]["by_pop"][0]["id"]  # sorted by clients, most first


def new_driver() -> tuple[Any, str]:
    opts = Options()
    for a in CHROME_ARGS:
        opts.add_argument(a)
    opts.add_argument("--headless=new")
    opts.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    profile = tempfile.mkdtemp(prefix="clickbench-")
    opts.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")
                                              or "/usr/bin/chromedriver"), options=opts)
    driver.set_page_load_timeout(120)
    return driver, profile


def open_page(url: str) -> tuple[Any, str]:
    driver, profile = new_driver()
    click_probe.install(driver)
    driver.get(url)
    click_probe.wait_ready(driver, timeout=180, quiet_ms=1000)
    return driver, profile


def click(driver: Any, pop: str) -> dict[str, Any]:
    """Arm the probe, click the pill, wait for the animation's end and then idle; the numbers."""
    click_probe.arm(driver)
    driver.find_element(By.CSS_SELECTOR, f"#pop-status button[data-pop='{pop}']").click()
    click_probe.wait_done(driver, timeout=120)
    r = click_probe.wait_idle(driver, timeout=120)
    return {"req": r["reqBeforeChange"], "change_ms": r["firstChange"],
            "move_ms": r["firstMotion"], "frames": r["frames"], "req_anim": r["reqDuring"],
            "end_ms": r["end"], "req_all": r["reqTotal"], "req_move": r["reqBeforeMotion"],
            "pill_ms": r.get("pillChange"), "plots": len(r.get("plots") or [])}


def median(runs: list[dict], key: str) -> float | None:
    vals = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(vals) if vals else None


def fmt(v: float | None) -> str:
    return "-" if v is None else (f"{v:.0f}" if abs(v) >= 10 or v == int(v) else f"{v:.1f}")


def make_worktree(rev: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix="clickbench-baseline-"))
    path.rmdir()
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), rev],
                   check=True, stdout=subprocess.DEVNULL)
    return path


def remove_worktree(path: Path) -> None:
    subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)],
                   check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    shutil.rmtree(path, ignore_errors=True)


def close_all(targets: list["Target"], profiles: list[str], worktree: Path | None) -> None:
    """Quit every browser, stop every server, remove the browser profiles and the baseline's
    worktree (a benchmark's ``finally``; also :mod:`benchmarks.failover_animation`'s)."""
    for t in targets:
        for d in t.drivers.values():
            d.quit()
        if t.proc is not None:
            servers.stop(t.proc)
    for prof in profiles:
        shutil.rmtree(prof, ignore_errors=True)
    if worktree is not None:
        remove_worktree(worktree)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=7, help="measured down/up click pairs per page")
    ap.add_argument("--url", help="measure this running server instead of starting one")
    ap.add_argument("--clients", default="40,cities25k",
                    help="comma-separated: a number of cities in the link, or a client set key")
    ap.add_argument("--pop", help="the pill to click (default: the busiest access point)")
    ap.add_argument("--baseline", metavar="REV",
                    help="also measure the code of REV (temporary git worktree), same run")
    args = ap.parse_args(argv)
    specs = [s.strip() for s in args.clients.split(",") if s.strip()]

    # SIGTERM (e.g. a timeout) unwinds like Ctrl-C, so servers and worktrees are cleaned up.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    targets: list[Target] = []
    worktree: Path | None = None
    profiles: list[str] = []
    results: dict[tuple[str, str, str], list[dict]] = {}
    cold: dict[tuple[str, str, str], dict] = {}
    pops: dict[str, str] = {}
    print(f"cores: {os.cpu_count()}, load average before: {loadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        try:
            if args.url:
                targets.append(Target("given", args.url.rstrip("/")))
            else:
                roots = [("current", ROOT)]
                if args.baseline:
                    worktree = make_worktree(args.baseline)
                    roots.append((f"baseline {args.baseline}", worktree))
                for label, root in roots:
                    port = servers.free_port()
                    proc = servers.start(servers.procfile_command(root), port,
                                         Path(tmp) / f"{len(targets)}.log", root=root)
                    targets.append(Target(label, f"http://127.0.0.1:{port}", proc))
                for t in targets:
                    servers.wait_healthy(t.url + "/healthz", t.proc)
                print(f"server: {servers.procfile_command()}")
            for spec in specs:
                pops[spec] = args.pop or busiest_pop(targets[0].url, spec)
                print(f"clients {spec}: clicking {pops[spec]}")
                for t in targets:
                    d, prof = open_page(t.url + "/" + scenario_query(spec))
                    t.drivers[spec] = d
                    profiles.append(prof)
                    for direction in ("down", "up"):  # untimed: cold caches, lazy imports
                        cold[(t.label, spec, direction)] = click(d, pops[spec])
                for i in range(args.runs):
                    for t in targets:
                        for direction in ("down", "up"):
                            r = click(t.drivers[spec], pops[spec])
                            results.setdefault((t.label, spec, direction), []).append(r)
                    print(f"  run {i + 1}/{args.runs} done", flush=True)
                for t in targets:
                    t.drivers.pop(spec).quit()
        finally:
            close_all(targets, profiles, worktree)
    print(f"load average after: {loadavg()}\n")

    print(f"medians of {args.runs} runs (ms after the click; req = callback requests started "
          "before the map's moving layer first changed)")
    head = f"{'server':22s} {'clients':9s} {'pop':4s} {'dir':4s} " + " ".join(
        f"{m:>9s}" for m in METRICS)
    print(head + "\n" + "-" * len(head))
    summary: dict[str, Any] = {"runs": args.runs, "load": loadavg(), "pops": pops,
                               "results": {}}
    for (label, spec, direction), runs in results.items():
        med = {m: median(runs, m) for m in METRICS}
        summary["results"][f"{label}|{spec}|{direction}"] = {
            "median": med, "runs": runs, "cold": cold.get((label, spec, direction))}
        print(f"{label:22s} {spec:9s} {pops[spec]:4s} {direction:4s} "
              + " ".join(f"{fmt(med[m]):>9s}" for m in METRICS))
    for (label, spec, direction), r in cold.items():
        print(f"{label + ' (cold)':22s} {spec:9s} {pops[spec]:4s} {direction:4s} "
              + " ".join(f"{fmt(r[m]):>9s}" for m in METRICS))
    if len(targets) == 2:
        print("\nratio current / baseline (medians)")
        ratios = {}
        for spec in specs:
            for direction in ("down", "up"):
                cur = summary["results"][f"{targets[0].label}|{spec}|{direction}"]["median"]
                base = summary["results"][f"{targets[1].label}|{spec}|{direction}"]["median"]
                ratio = {m: (cur[m] / base[m] if cur[m] is not None and base[m] else None)
                         for m in ("req", "change_ms", "move_ms", "end_ms", "req_all")}
                ratios[f"{spec}|{direction}"] = ratio
                print(f"  {spec:9s} {direction:4s} " + "  ".join(
                    f"{m} {'-' if v is None else f'{v:.2f}'}" for m, v in ratio.items()))
        summary["ratios"] = ratios
    print("\ngoal (issue 12): req == 1, move_ms <= 400, frames >= 20, req_anim == 0")
    for key, res in summary["results"].items():
        if key.endswith("|down"):
            m = res["median"]
            ok = (m["req"] == GOAL["req"] and m["move_ms"] is not None
                  and m["move_ms"] <= GOAL["move_ms"] and (m["frames"] or 0) >= GOAL["frames"]
                  and m["req_anim"] == GOAL["req_anim"])
            print(f"  {key}: {'MET' if ok else 'NOT MET'}")
    print(json.dumps(summary, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
