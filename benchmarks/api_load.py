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

Both servers stay up for the whole run and the measured runs alternate (ABBA over ``--rounds``
rounds): the machine is shared, and a ratio taken from two runs far apart in time mostly
measures the change in load between them.

Each run also reports the servers' CPU time per request (master + workers, from /proc): under
the load of other processes a run's req/s moves with its share of the 2 cores, its CPU per
request much less, so the ratio of the two servers' CPU per request is a steadier (and, since
wrk's own CPU is left out, conservative) estimate of the throughput ratio on an idle machine.
It also reports the least busy worker's share of the workers' CPU: wrk opens its connections
at once, and before the worker shared them (``dashboard.gunicorn_worker``, 2026-12-01) they all
landed on one worker in about half the runs, halving that run's throughput (the "bimodal
baseline" of earlier runs).
The JSON encoder of the API's direct route is printed: orjson when installed (``pyproject.toml``),
else the standard library (a ``PYTHONPATH`` given to this script reaches the servers too).

Goals: issue 16: throughput >= 0.85x the baseline's and p99 <= 1.2x its p99 (medians of the
per-round ratios), 0 errors. Issue 7: >= 2,000 requests/s, p99 <= 30 ms, 0 errors.

Usage: python benchmarks/api_load.py [--duration 10] [--connections 50] [--threads 1]
       [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
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


def cpu_seconds(master: int) -> float:
    """CPU time (user + system, s) used so far by a server: its master and every worker
    (children of the master) -- what a request costs the server whatever else runs on the
    machine (the shared machine's load changes the req/s of a run, much less its CPU per
    request)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(stat.parent.name), int(fields[1])
        if pid == master or ppid == master:
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


def worker_cpu(master: int) -> dict[int, float]:
    """CPU seconds used so far by each worker (child) of a server's master: how evenly a run's
    work was shared (all of it on one worker = one core idle; docs/performance.md "P4")."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master:
            out[int(stat.parent.name)] = (int(fields[11]) + int(fields[12])) / tick
    return out


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--duration", type=int, default=10, help="seconds of load per run")
    p.add_argument("--connections", type=int, default=50)
    p.add_argument("--threads", type=int, default=1, help="wrk threads")
    p.add_argument("--rounds", type=int, default=3,
                   help="rounds of one baseline run and one API run each, alternating which "
                        "goes first (ABBA); ratios are per round, then their median")
    args = p.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    servers_ = {"baseline": ("benchmarks.api_baseline_app:server", "/nearest",
                             "/nearest?lat=1&lon=2"),
                "api": ("dashboard.wsgi:server", "/api/v1/nearest", "/healthz")}
    results: dict[str, list[dict]] = {"baseline": [], "api": []}
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        lua = tmp / "random_nearest.lua"
        lua.write_text(LUA)
        print(f"cores: {os.cpu_count()}, load average before: {loadavg()}")
        print(f"server: {procfile_command()}  (WEB_CONCURRENCY="
              f"{os.environ.get('WEB_CONCURRENCY', '2 (default)')})")
        try:
            import orjson
            encoder = f"orjson {orjson.__version__}"
        except ImportError:
            encoder = "the standard json module (orjson not installed)"
        print(f"JSON of the direct route (dashboard.fastpath.encode_answer): {encoder}")
        print(f"load: wrk -t{args.threads} -c{args.connections} -d{args.duration}s, random "
              f"coordinates; {args.rounds} round(s), both servers up, runs alternating")
        # Both servers start with the Procfile's command line (worker class, threads, workers,
        # access log, preload: gunicorn.conf.py) and stay up; only the WSGI app differs.
        procs, bases = {}, {}
        try:
            for name, (app, path, ready) in servers_.items():
                port = free_port()
                procs[name] = start(app, port, tmp / f"{name}.log")
                bases[name] = f"http://127.0.0.1:{port}"
            for name, (app, path, ready) in servers_.items():
                wait_healthy(bases[name] + ready, procs[name], timeout=60)
                run_wrk(bases[name] + path, lua, 2, args.connections, args.threads)  # warm-up
            for i in range(args.rounds):
                order = ("baseline", "api") if i % 2 == 0 else ("api", "baseline")
                for name in order:
                    cpu0, w0 = cpu_seconds(procs[name].pid), worker_cpu(procs[name].pid)
                    r = run_wrk(bases[name] + servers_[name][1], lua, args.duration,
                                args.connections, args.threads)
                    r["cpu_ms"] = (cpu_seconds(procs[name].pid) - cpu0) * 1000 / max(
                        r["requests"], 1)
                    w1 = worker_cpu(procs[name].pid)
                    used = [w1[pid] - w0.get(pid, 0.0) for pid in sorted(w1)]
                    r["worker_share"] = min(used) / max(sum(used), 1e-9) if len(used) > 1 else 1.0
                    r["load"] = loadavg()
                    results[name].append(r)
        finally:
            for proc in procs.values():
                stop(proc)
        print(f"load average after: {loadavg()}")
    print()
    print(f"{'round':>5s} {'server':34s} {'req/s':>8s} {'p50 ms':>7s} {'p99 ms':>7s} "
          f"{'errors':>7s} {'requests':>9s} {'CPU ms/req':>10s} {'least-busy':>10s}"
          f"  load avg after")
    labels = {"baseline": "baseline (bare Flask, 1 nearest)", "api": "/api/v1/nearest"}
    for i in range(args.rounds):
        for name in ("baseline", "api"):
            r = results[name][i]
            print(f"{i + 1:5d} {labels[name]:34s} {r['rps']:8.0f} {r['p50_us'] / 1000:7.1f} "
                  f"{r['p99_us'] / 1000:7.1f} {r['errors']:7d} {r['requests']:9d} "
                  f"{r['cpu_ms']:10.3f} {r['worker_share']:10.0%}  {r['load']}")
    print("least-busy: the least busy worker's share of the servers' worker CPU in that run "
          "(50 % = evenly shared by 2 workers; ~0 % = every connection on one worker)")
    rps = [a["rps"] / b["rps"] for a, b in zip(results["api"], results["baseline"])]
    p99 = [a["p99_us"] / max(b["p99_us"], 1) for a, b in zip(results["api"], results["baseline"])]
    print("\nper round: throughput ratio API / baseline "
          + ", ".join(f"{x:.2f}" for x in rps) + "; p99 ratio " + ", ".join(f"{x:.2f}" for x in p99))
    cpu = [b["cpu_ms"] / max(a["cpu_ms"], 1e-9)
           for a, b in zip(results["api"], results["baseline"])]
    print("server CPU per request, baseline / API (what the throughput ratio tends to on an "
          "idle machine): " + ", ".join(f"{x:.2f}" for x in cpu))
    rps_m, p99_m = statistics.median(rps), statistics.median(p99)
    print(f"median: throughput ratio {rps_m:.2f}, p99 ratio {p99_m:.2f}")
    api = results["api"]
    errors = sum(r["errors"] for r in api)
    ok16 = rps_m >= 0.85 and p99_m <= 1.2 and errors == 0
    print(f"goal issue 16 (throughput >= 0.85x baseline, p99 <= 1.2x baseline, 0 errors; "
          f"medians): {'MET' if ok16 else 'NOT MET'}")
    best = statistics.median(r["rps"] for r in api)
    worst_p99 = statistics.median(r["p99_us"] for r in api)
    ok7 = best >= 2000 and worst_p99 <= 30_000 and errors == 0
    print(f"goal issue 7 (>= 2000 req/s, p99 <= 30 ms, 0 errors; API medians): "
          f"{'MET' if ok7 else 'NOT MET'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
