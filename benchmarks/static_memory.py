#!/usr/bin/env python3
"""Issue 13, finding 1: worker memory under GETs of static files with distinct query strings.

The server is the Procfile's gunicorn command line (bound to 127.0.0.1; its worker class and
count, ``WEB_CONCURRENCY`` unless set, 2), importing this checkout's ``dashboard``. After a warm-up
(every URL below in every encoding, 8 times, so each worker has compressed and cached what it
legitimately keeps), it sends ``--requests`` GETs, each with a query string or fingerprint never
used before, rotating over:

* ``/_dash-component-suites/plotly/package_data/plotly.min.js?x=N`` (the full 4.8 MB plotly.js
  that Dash registers; the finding's case),
* ``/assets/vendor/plotly-custom-<v>.min.js?m=<real>&x=N`` and ``?m=N`` (the page's bundle),
* ``/_dash-component-suites/dash/dcc/dash_core_components.v4_4_1m<N>.js`` (Dash strips any
  fingerprint and serves the same file),

and the encodings zstd, br, gzip in turn, over ``--concurrency`` connections. Worker memory is
the resident set size (``VmRSS`` in ``/proc/<pid>/status``) of each gunicorn worker (the
master's children) before and after.

Goal (issue 13): 1,000 such GETs grow no worker's RSS by more than 30 MB.

Usage: python benchmarks/static_memory.py [--requests 1000] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks import servers  # noqa: E402
from benchmarks.servers import free_port, procfile_command, stop, wait_healthy  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
GOAL_MB = 30.0
ENCODINGS = ("zstd", "br", "gzip")


def start_server(port: int, log: Path) -> subprocess.Popen:
    """The Procfile's web command on ``port`` (see :mod:`benchmarks.servers`)."""
    return servers.start(procfile_command(), port, log)


def wait_ready(base: str, proc: subprocess.Popen, timeout: float = 90) -> None:
    wait_healthy(base + "/healthz", proc, timeout)


def stop_server(proc: subprocess.Popen) -> None:
    stop(proc, timeout=30)


def worker_pids(master: int) -> list[int]:
    """gunicorn's workers: the master's child processes."""
    children: list[int] = []
    for task in Path(f"/proc/{master}/task").iterdir():
        children += [int(p) for p in (task / "children").read_text().split()]
    return sorted(children)


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.M).group(1)) / 1024


def get(url: str, encoding: str) -> tuple[int, int]:
    """(status, bytes received) of one GET; the body is read and dropped."""
    req = urllib.request.Request(url, headers={"Accept-Encoding": encoding})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, len(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, len(exc.read())


def static_urls(base: str) -> dict[str, str]:
    """The page's vendored bundle (with its real fingerprint) and two component-suite files."""
    with urllib.request.urlopen(base + "/", timeout=30) as resp:
        page = resp.read().decode()
    bundle = re.search(r'src="(/assets/vendor/plotly-custom-[^"?]+\?m=[^"]+)"', page).group(1)
    dcc = re.search(r'src="(/_dash-component-suites/dash/dcc/dash_core_components\.v[^"]+)"',
                    page).group(1)
    return {"plotly_full": base + "/_dash-component-suites/plotly/package_data/plotly.min.js",
            "bundle": base + bundle, "dcc": base + dcc}


def hostile_url(urls: dict[str, str], i: int) -> str:
    """The i-th URL of the run: a query string or fingerprint never used before."""
    kind = i % 4
    if kind == 0:
        return f"{urls['plotly_full']}?x={i}"
    if kind == 1:
        return f"{urls['bundle']}&x={i}"
    if kind == 2:
        return f"{urls['bundle'].split('?')[0]}?m={i}"
    return re.sub(r"\.v[^/]*?m\d+\.js$", f".v4_4_1m{10**9 + i}.js", urls["dcc"])


def measure(base: str, master: int, requests: int, concurrency: int) -> dict:
    """Warm up, then send ``requests`` hostile GETs; RSS of each worker before and after."""
    urls = static_urls(base)
    warm = [u for u in (urls["plotly_full"], urls["bundle"], urls["dcc"])
            for _ in range(8)]
    with ThreadPoolExecutor(concurrency) as pool:
        for enc in ENCODINGS:
            list(pool.map(lambda u: get(u, enc), warm))
    pids = worker_pids(master)
    before = {pid: rss_mb(pid) for pid in pids}
    statuses: dict[int, int] = {}
    received = 0
    t0 = time.monotonic()
    with ThreadPoolExecutor(concurrency) as pool:
        for status, n in pool.map(lambda i: get(hostile_url(urls, i), ENCODINGS[i % 3]),
                                  range(requests)):
            statuses[status] = statuses.get(status, 0) + 1
            received += n
    elapsed = time.monotonic() - t0
    after = {pid: rss_mb(pid) for pid in worker_pids(master)}
    growth = {pid: after[pid] - before[pid] for pid in pids if pid in after}
    return {"pids": pids, "before": before, "after": after, "growth": growth,
            "restarted": sorted(set(pids) ^ set(after)), "statuses": statuses,
            "elapsed_s": elapsed, "received_mb": received / 2**20, "requests": requests}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=1000)
    p.add_argument("--concurrency", type=int, default=4)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        proc = start_server(port, Path(tmp) / "gunicorn.log")
        try:
            base = f"http://127.0.0.1:{port}"
            wait_ready(base, proc)
            print(f"server: {procfile_command()}  (pid {proc.pid}, WEB_CONCURRENCY="
                  f"{os.environ.get('WEB_CONCURRENCY', '2 (default)')})")
            r = measure(base, proc.pid, args.requests, args.concurrency)
        finally:
            stop_server(proc)
    print(f"{r['requests']} GETs with distinct query strings/fingerprints in "
          f"{r['elapsed_s']:.1f} s ({r['received_mb']:.0f} MB received), statuses "
          f"{dict(sorted(r['statuses'].items()))}")
    for pid in r["pids"]:
        if pid in r["after"]:
            print(f"  worker {pid}: RSS {r['before'][pid]:.0f} MB -> {r['after'][pid]:.0f} MB "
                  f"({r['growth'][pid]:+.1f} MB)")
    if r["restarted"]:
        print(f"  workers replaced during the run: {r['restarted']}")
    worst = max(r["growth"].values())
    ok = worst <= GOAL_MB and not r["restarted"] and set(r["statuses"]) == {200}
    print(f"goal (every worker grows <= {GOAL_MB:.0f} MB, all 200): "
          f"{'MET' if ok else 'NOT MET'} (largest growth {worst:+.1f} MB)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
