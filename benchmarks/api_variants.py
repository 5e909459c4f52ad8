#!/usr/bin/env python3
"""P4 decomposed: what each part of ``/api/v1/nearest``'s direct route costs under load.

Starts the bare-Flask baseline and one server per variant of ``benchmarks/api_variant_app.py``
(the shipped app; every answer stored, the cache before ``memo.Doorkeeper``; no cache; a
40-byte body; a GIL-holding stand-in for the geodesic; one constant answer; gunicorn checking
every response header every time), all from the Procfile's gunicorn command line, and loads
them in turn with ``benchmarks/api_load.py``'s wrk script (random points, 50 connections),
alternating the order every round. Prints per variant the
median req/s, the servers' CPU per request and both as ratios to the baseline of the same rounds.

Why: in-process the direct route costs less than the bare Flask endpoint (~82 us against ~90 us
per request here) while under load it costs ~20 % more CPU per request; the difference is in
what only load shows (memory traffic, GIL hand-offs, kernel copies). Variants measured in one
run, like the goal's ratio, say which part that is (docs/performance.md "P4").

Usage: python benchmarks/api_variants.py [--rounds 4] [--duration 8]
       [--variants shipped,store-all,...]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks import api_load, servers  # noqa: E402
from benchmarks.api_variant_app import VARIANTS  # noqa: E402
from benchmarks.servers import free_port, procfile_command, stop, wait_healthy  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--duration", type=int, default=8, help="seconds of load per run")
    p.add_argument("--connections", type=int, default=50)
    p.add_argument("--variants", default=",".join(VARIANTS),
                   help=f"comma-separated, of {', '.join(VARIANTS)}")
    args = p.parse_args()
    chosen = [v for v in args.variants.split(",") if v]
    unknown = sorted(set(chosen) - set(VARIANTS))
    if unknown:
        raise SystemExit(f"unknown variant(s) {unknown}; choose from {VARIANTS}")
    names = ["baseline", *chosen]
    command = procfile_command()
    procs, bases, paths = {}, {}, {}
    results: dict[str, list[dict]] = {n: [] for n in names}
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        lua = tmp / "random_nearest.lua"
        lua.write_text(api_load.LUA)
        print(f"load average before: {api_load.loadavg()}; wrk -c{args.connections} "
              f"-d{args.duration}s x {args.rounds} rounds per server, order alternating")
        try:
            for n in names:
                port = free_port()
                if n == "baseline":
                    app, paths[n], env = "benchmarks.api_baseline_app:server", "/nearest", {}
                else:
                    app, paths[n] = "benchmarks.api_variant_app:server", "/api/v1/nearest"
                    env = {"ANYCAST_BENCH_VARIANT": n}
                procs[n] = servers.start(command.replace("dashboard.wsgi:server", app), port,
                                         tmp / f"{n}.log", env=env)
                bases[n] = f"http://127.0.0.1:{port}"
            for n in names:
                wait_healthy(bases[n] + paths[n] + "?lat=1&lon=2", procs[n], timeout=90)
                api_load.run_wrk(bases[n] + paths[n], lua, 2, args.connections, 1)  # warm-up
            for i in range(args.rounds):
                for n in (names if i % 2 == 0 else names[::-1]):
                    cpu0 = api_load.cpu_seconds(procs[n].pid)
                    r = api_load.run_wrk(bases[n] + paths[n], lua, args.duration,
                                         args.connections, 1)
                    r["cpu_us"] = (api_load.cpu_seconds(procs[n].pid) - cpu0) * 1e6 / max(
                        r["requests"], 1)
                    results[n].append(r)
        finally:
            for proc in procs.values():
                stop(proc)
        print(f"load average after: {api_load.loadavg()}\n")
    base = results["baseline"]
    print(f"{'server':14s} {'req/s':>7s} {'CPU us/req':>10s} {'x baseline req/s':>17s} "
          f"{'baseline CPU / its CPU':>23s} {'p99 ms':>7s} {'errors':>6s}")
    for n in names:
        rs = results[n]
        rps = statistics.median(r["rps"] for r in rs)
        cpu = statistics.median(r["cpu_us"] for r in rs)
        ratio = statistics.median(a["rps"] / b["rps"] for a, b in zip(rs, base))
        cpu_ratio = statistics.median(b["cpu_us"] / a["cpu_us"] for a, b in zip(rs, base))
        p99 = statistics.median(r["p99_us"] for r in rs) / 1000
        print(f"{n:14s} {rps:7.0f} {cpu:10.1f} {ratio:17.3f} {cpu_ratio:23.3f} {p99:7.1f} "
              f"{sum(r['errors'] for r in rs):6d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
