"""N concurrent heavy N-1 clicks against gunicorn from the Procfile (Diskcache jobs), with the
memory of gunicorn's process tree (master, workers, job processes) sampled every 0.2 s: how many
jobs ran at once, how many clicks were told "Busy", the peak memory. Bounded: 127.0.0.1 only,
stops by itself (a poll chain gives up after --timeout seconds).

    python -m tests.serving.jobs_load --clicks 8            # this checkout
    python -m tests.serving.jobs_load --clicks 8 --root /path/to/other/checkout

The numbers are in docs/reliability.md ("Background jobs (issue 13)").
"""

from __future__ import annotations

import argparse
import json
import os
import re
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import psutil

from tests.conftest import ROOT
from tests.serving.conftest import VENV_BIN, free_port, wait_for_port
from tests.serving.test_gunicorn import local_command

HEAVY = {"demand_source": "population"}  # 34,006 demand points


def post(base: str, body: dict, args: dict) -> tuple[int, dict]:
    query = "&".join(f"{k}={urllib.request.quote(v)}" for k, v in args.items())
    req = urllib.request.Request(f"{base}/_dash-update-component?{query}",
                                 data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        raw = resp.read()
        return resp.status, (json.loads(raw) if raw else {})


def one_page(base: str, timeout: float, out: list, store: dict = HEAVY) -> None:
    """Load the page (its endId), click Run N-1 with ``store`` as the scenario, poll every
    0.5 s until the server ends the chain; appends {seconds, code, done, status} to ``out``."""
    html = urllib.request.urlopen(base + "/", timeout=30).read().decode()
    end_id = json.loads(re.search(r'<script id="_dash-config" type="application/json">(.*?)'
                                  r'</script>', html, re.S).group(1))["end_id"]
    body = {"output": "n1-result.data", "outputs": {"id": "n1-result", "property": "data"},
            "inputs": [{"id": "n1-run", "property": "n_clicks", "value": 1}],
            "state": [{"id": "scenario-store", "property": "data", "value": store}],
            "changedPropIds": ["n1-run.n_clicks"]}
    t0 = time.monotonic()
    _, handles = post(base, body, {"endId": end_id})
    status_text = None
    while time.monotonic() - t0 < timeout:
        code, data = post(base, body, {"endId": end_id, "cacheKey": handles["cacheKey"],
                                       "job": handles["job"]})
        status_text = ((data.get("sideUpdate") or {}).get("n1-status") or {}).get("children")
        if code != 200 or "response" in data:
            rows = ((data.get("response") or {}).get("n1-result") or {}).get("data")
            out.append({"seconds": round(time.monotonic() - t0, 1), "code": code,
                        "done": bool(rows), "status": status_text})
            return
        time.sleep(0.5)
    out.append({"seconds": timeout, "code": None, "done": False, "status": "gave up"})


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clicks", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--root", type=Path, default=ROOT)
    args = ap.parse_args(argv)
    port = free_port()
    tmp = Path(tempfile.mkdtemp(prefix="jobs-load-"))
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update(PORT=str(port), WEB_CONCURRENCY=str(args.workers), ANYCAST_JOBS_DIR=str(tmp / "j"),
               PATH=f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}", PYTHONPATH=str(args.root))
    import subprocess

    log = open(tmp / "gunicorn.log", "wb")
    proc = subprocess.Popen(["bash", "-c", "exec " + local_command()], cwd=args.root, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, timeout=60, proc=proc)
        base = f"http://127.0.0.1:{port}"
        urllib.request.urlopen(base + "/", timeout=30).read()
        master = psutil.Process(proc.pid)
        workers = {p.pid for p in master.children()}
        peak = {"rss_mb": 0.0, "jobs": 0}
        stop = threading.Event()

        def sample():
            while not stop.is_set():
                try:
                    tree = [master, *master.children(recursive=True)]
                    rss = sum(p.memory_info().rss for p in tree if p.is_running())
                    jobs = sum(1 for p in tree if p.pid != master.pid and p.pid not in workers)
                    peak["rss_mb"] = max(peak["rss_mb"], rss / 2**20)
                    peak["jobs"] = max(peak["jobs"], jobs)
                except psutil.Error:
                    pass
                stop.wait(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        out: list = []
        threads = [threading.Thread(target=one_page, args=(base, args.timeout, out))
                   for _ in range(args.clicks)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        stop.set()
        sampler.join()
        busy = sum(1 for o in out if (o["status"] or "").startswith("Busy"))
        print(json.dumps({"root": str(args.root), "clicks": args.clicks,
                          "done": sum(o["done"] for o in out), "busy": busy,
                          "silent": sum(1 for o in out if not o["done"] and not o["status"]),
                          "peak_jobs_at_once": peak["jobs"],
                          "peak_tree_rss_mb": round(peak["rss_mb"]),
                          "wall_s": round(time.monotonic() - t0, 1),
                          "results": sorted(out, key=lambda o: o["seconds"])}, indent=1))
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
