#!/usr/bin/env python3
"""P4: /api/v1/nearest under load, against a bare-Flask baseline in the same run.

Both servers are started with the Procfile's gunicorn command line (bound to 127.0.0.1, 2 workers
unless WEB_CONCURRENCY says otherwise); only the WSGI app differs:

* baseline: ``benchmarks.api_baseline_app:server`` -- one numpy haversine nearest-PoP per request;
* API: ``dashboard.wsgi:server`` -- the real endpoint (validation, exact WGS84 ranking of every
  PoP, both latency legs, direct path, cache, JSON, security headers).

Load: Debian's ``wrk`` with a Lua script that requests random coordinates (uniform lat in
[-90, 90], lon in [-180, 180], 4 decimals) over 50 concurrent connections for a bounded time
(default 10 s each, after a 2 s warm-up). Errors = socket errors + non-2xx answers.

Goal (issue 7): >= 2,000 requests/s, p99 <= 30 ms, 0 errors.

Usage: python benchmarks/api_load.py [--duration 10] [--connections 50] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks import servers  # noqa: E402
from benchmarks.servers import free_port, procfile_command, stop, wait_healthy  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LUA = r"""
local seeded = false
request = function()
  if not seeded then
    math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
    seeded = true
  end
  local lat = math.random() * 180 - 90
  local lon = math.random() * 360 - 180
  return wrk.format("GET", string.format("%s?lat=%.4f&lon=%.4f", wrk.path, lat, lon))
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, ' ..
    '"status": %d, "timeout": %d, "p50_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


def start(app: str, port: int, log: Path) -> subprocess.Popen:
    return servers.start(procfile_command().replace("dashboard.wsgi:server", app), port, log)


def run_wrk(url: str, lua: Path, duration: int, connections: int, threads: int) -> dict:
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout", "5s",
           "-s", str(lua), url]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        raise SystemExit(f"wrk failed: {out.stdout}\n{out.stderr}")
    r = json.loads(line[len("RESULT "):])
    r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
    r["errors"] = r["connect"] + r["read"] + r["write"] + r["status"] + r["timeout"]
    return r


def measure(name: str, app: str, path: str, ready: str, args: argparse.Namespace,
            tmp: Path, lua: Path) -> dict:
    port = free_port()
    proc = start(app, port, tmp / f"{name}.log")
    try:
        base = f"http://127.0.0.1:{port}"
        wait_healthy(base + ready, proc, timeout=60)
        run_wrk(base + path, lua, 2, args.connections, args.threads)  # warm-up
        return run_wrk(base + path, lua, args.duration, args.connections, args.threads)
    finally:
        stop(proc)


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--duration", type=int, default=10, help="seconds of load per server")
    p.add_argument("--connections", type=int, default=50)
    p.add_argument("--threads", type=int, default=1, help="wrk threads")
    args = p.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        lua = tmp / "random_nearest.lua"
        lua.write_text(LUA)
        print(f"cores: {os.cpu_count()}, load average before: {loadavg()}")
        print(f"server: {procfile_command()}  (WEB_CONCURRENCY="
              f"{os.environ.get('WEB_CONCURRENCY', '2 (default)')})")
        print(f"load: wrk -t{args.threads} -c{args.connections} -d{args.duration}s, random "
              "coordinates")
        base = measure("baseline", "benchmarks.api_baseline_app:server", "/nearest",
                       "/nearest?lat=1&lon=2", args, tmp, lua)
        api = measure("api", "dashboard.wsgi:server", "/api/v1/nearest", "/healthz",
                      args, tmp, lua)
        print(f"load average after: {loadavg()}")
    print()
    print(f"{'':34s} {'req/s':>8s} {'p50 ms':>7s} {'p99 ms':>7s} {'errors':>7s} {'requests':>9s}")
    for name, r in (("baseline (bare Flask, 1 nearest)", base), ("/api/v1/nearest", api)):
        print(f"{name:34s} {r['rps']:8.0f} {r['p50_us'] / 1000:7.1f} {r['p99_us'] / 1000:7.1f} "
              f"{r['errors']:7d} {r['requests']:9d}")
    ratio = api["rps"] / base["rps"]
    print(f"\nthroughput ratio API / baseline: {ratio:.2f}; "
          f"p99 ratio: {api['p99_us'] / max(base['p99_us'], 1):.2f}")
    ok = api["rps"] >= 2000 and api["p99_us"] <= 30_000 and api["errors"] == 0
    print(f"goal (>= 2000 req/s, p99 <= 30 ms, 0 errors): {'MET' if ok else 'NOT MET'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
