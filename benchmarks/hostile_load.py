#!/usr/bin/env python3
"""Issue 13, goals 2 and 3: the Procfile's server under slow clients and under heavy requests.

One run starts gunicorn with the Procfile's ``web:`` command (bound to 127.0.0.1, a free port)
and measures two phases, each bounded in time, from this process only:

1. **slow clients** -- ``--slow`` connections (default 200) held open for ``--duration`` s: half
   send nothing, half send a request head one byte every 2 s and never finish it. A connection
   the server closes is opened again at once (as a persistent attacker would). Meanwhile a probe
   GETs ``/healthz`` on a new connection every 0.25 s.
   Goal: ``/healthz`` p90 <= 200 ms, no worker killed.
2. **heavy requests** -- two clients loop the heaviest in-cap request for ``--duration`` s: the
   results callback (map, table, key numbers, CDF) for a scenario of 50,000 distinct clients
   (``Settings.max_clients``; the cap counts a client set's clients too, so no set), a new
   random set of clients each time (no cache hit). Meanwhile a probe alternates ``/healthz``
   and a *light map request* (the same callback for 10 new random clients).
   Goal: ``/healthz`` and the light map request p90 <= 500 ms.

"No worker killed" is read from gunicorn's log (``WORKER TIMEOUT`` / ``SIGKILL`` / more
``Booting worker`` lines than workers). A probe that gets no answer within 10 s counts as a
failure (and as 10 s in the percentiles).

    python benchmarks/hostile_load.py                       # both phases, ~2 minutes
    python benchmarks/hostile_load.py --phase slow --duration 20
    python benchmarks/hostile_load.py --command 'gunicorn dashboard.wsgi:server --preload \
        --bind 127.0.0.1:${PORT} --workers 2'               # another server line (e.g. before)
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import selectors
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks import servers  # noqa: E402
from benchmarks.servers import free_port, procfile_command, stop  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

PROBE_TIMEOUT_S = 10.0
CALLBACK = "/_dash-update-component"


def start_server(command: str, port: int, log: Path) -> subprocess.Popen:
    proc = servers.start(command, port, log)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {log.read_text()[-2000:]}")
        try:
            status, _ = request(port, "GET", "/healthz")
            if status == 200:
                return proc
        except OSError:
            pass
        time.sleep(0.2)
    stop(proc)
    raise SystemExit("server did not answer /healthz within 90 s")


def request(port: int, method: str, path: str, body: bytes | None = None,
            timeout: float = PROBE_TIMEOUT_S) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def timed(port: int, method: str, path: str, body: bytes | None = None) -> tuple[float, int]:
    """(seconds, status); a failure is (PROBE_TIMEOUT_S, 0)."""
    t0 = time.perf_counter()
    try:
        status, _ = request(port, method, path, body)
    except OSError:
        return PROBE_TIMEOUT_S, 0
    return time.perf_counter() - t0, status


def summary(samples: list[tuple[float, int]]) -> dict:
    if not samples:
        return {"n": 0}
    ms = sorted(1000 * s for s, _ in samples)
    q = statistics.quantiles(ms, n=10, method="inclusive") if len(ms) > 1 else [ms[0]] * 9
    statuses: dict[str, int] = {}
    for _, st in samples:
        statuses[str(st or "no answer")] = statuses.get(str(st or "no answer"), 0) + 1
    return {"n": len(ms), "p50_ms": round(statistics.median(ms), 1), "p90_ms": round(q[8], 1),
            "max_ms": round(ms[-1], 1), "status": statuses}


def worker_kills(log: Path, workers: int) -> dict:
    text = log.read_text(errors="replace")
    return {"worker_timeouts": text.count("WORKER TIMEOUT"), "sigkill": text.count("SIGKILL"),
            "extra_boots": max(0, text.count("Booting worker") - workers),
            "tracebacks": text.count("Traceback")}


# -- phase 1: slow clients ----------------------------------------------------------------------

SLOW_HEAD = (b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow\r\nX-Pad: "
             + b"a" * 4000)


def slow_phase(port: int, n: int, duration: float) -> dict:
    sel = selectors.DefaultSelector()
    conns: dict[int, dict] = {}
    stats = {"opened": 0, "closed_by_server": 0, "bytes_sent": 0}
    stop = time.monotonic() + duration

    def open_one(i: int) -> None:
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        # idle clients send nothing; slow ones one byte every 2 s, staggered over 2 s
        conns[i] = {"sock": s, "slow": i % 2 == 1, "sent": 0,
                    "next": time.monotonic() + (i % 20) * 0.1}
        sel.register(s, selectors.EVENT_READ, i)
        stats["opened"] += 1

    for i in range(n):
        open_one(i)

    probes: list[tuple[float, int]] = []

    def probe() -> None:
        while time.monotonic() < stop:
            t0 = time.monotonic()
            probes.append(timed(port, "GET", "/healthz"))
            time.sleep(max(0.0, 0.25 - (time.monotonic() - t0)))

    prober = threading.Thread(target=probe)
    prober.start()
    while time.monotonic() < stop:
        for key, _ in sel.select(timeout=0.1):
            i = key.data
            try:
                data = conns[i]["sock"].recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:  # closed by the server (or an answer then close): come back at once
                sel.unregister(conns[i]["sock"])
                conns[i]["sock"].close()
                stats["closed_by_server"] += 1
                open_one(i)
        now = time.monotonic()
        for i, c in conns.items():
            if c["slow"] and now >= c["next"] and c["sent"] < len(SLOW_HEAD):
                try:
                    c["sock"].send(SLOW_HEAD[c["sent"]:c["sent"] + 1])
                    c["sent"] += 1
                    stats["bytes_sent"] += 1
                except OSError:
                    pass
                c["next"] = now + 2.0
    prober.join()
    for c in conns.values():
        c["sock"].close()
    sel.close()
    return {"connections": n, "duration_s": duration, **stats, "healthz": summary(probes)}


# -- phase 2: heavy requests --------------------------------------------------------------------

def callback_bodies(n_clients: int, client_set: str | None, count: int, seed: int) -> list[bytes]:
    """``count`` what-if bodies (the scene callback with the edit "CDG down", as dash-renderer
    sends it), each for a store of ``n_clients`` new random clients: every client is routed and
    the map, table, key numbers and CDF are drawn for them."""
    from benchmarks.dash_requests import app_dependencies, callback_body
    from dashboard import ids
    from dashboard.app import create_app
    from dashboard.domain.scenario import Client, Scenario

    if "deps" not in _APP:  # the app's dependencies give the request's exact shape
        _APP["deps"] = app_dependencies(create_app())
    deps = _APP["deps"]
    rng = random.Random(seed)
    out = []
    for i in range(count):
        clients = tuple(Client(round(rng.uniform(-60, 70), 4), round(rng.uniform(-180, 180), 4),
                               f"c{j}", 1.0) for j in range(n_clients))
        store = Scenario(clients=clients, origin="eu-central-1", client_set=client_set).to_dict()
        values = {f"{ids.SCENARIO}.data": store, f"{ids.VIEW_TABS}.value": "map",
                  f"{ids.SCENARIO_EDIT}.data": {"op": "toggle_pop", "pop": "CDG", "nonce": i}}
        out.append(json.dumps(callback_body(deps, f"{ids.SCENARIO}.data", values,
                                            f"{ids.SCENARIO_EDIT}.data")).encode())
    return out


_APP: dict = {}


def heavy_phase(port: int, duration: float, max_clients: int) -> dict:
    # The client cap counts a client set's clients too (own + set <= max_clients), so 50,000 own
    # clients plus the 25,000-city set is refused (a 204 in ~0.1 s): the heaviest in-cap request
    # is max_clients own clients (3.4 MB, ~2 s in-process), measured heavier than 25,000 + set.
    heavy_bodies = [callback_bodies(max_clients, None, 6, seed) for seed in (1, 2)]
    light_bodies = callback_bodies(10, None, 400, 3)
    # check the request shape once (a 400 here would measure nothing)
    status, answer = request(port, "POST", CALLBACK, light_bodies[-1], timeout=30)
    if status != 200:
        raise SystemExit(f"light map request answered {status}: {answer[:300]!r}")
    # the light map request on a quiet server, for reference (5 s)
    quiet = [timed(port, "POST", CALLBACK, light_bodies[200 + i]) for i in range(10)]
    stop = time.monotonic() + duration
    heavy: list[tuple[float, int]] = []

    def attacker(bodies: list[bytes]) -> None:
        i = 0
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            try:
                st, _ = request(port, "POST", CALLBACK, bodies[i % len(bodies)], timeout=60)
            except OSError:
                st = 0
            heavy.append((time.perf_counter() - t0, st))
            i += 1
            if st == 503:
                time.sleep(0.05)  # a real client would honour Retry-After; this one hammers

    threads = [threading.Thread(target=attacker, args=(b,)) for b in heavy_bodies]
    for t in threads:
        t.start()
    time.sleep(1.0)  # both heavy requests in flight
    healthz: list[tuple[float, int]] = []
    light: list[tuple[float, int]] = []
    k = 0
    while time.monotonic() < stop:
        t0 = time.monotonic()
        healthz.append(timed(port, "GET", "/healthz"))
        light.append(timed(port, "POST", CALLBACK, light_bodies[k % len(light_bodies)]))
        k += 1
        time.sleep(max(0.0, 0.5 - (time.monotonic() - t0)))
    for t in threads:
        t.join()
    return {"duration_s": duration, "heavy_clients": 2, "heavy_request_clients": max_clients,
            "heavy_body_bytes": len(heavy_bodies[0][0]), "heavy": summary(heavy),
            "light_map_quiet": summary(quiet), "healthz": summary(healthz),
            "light_map": summary(light)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--command", default=None, help="server command line (default: Procfile web:)")
    ap.add_argument("--phase", choices=("slow", "heavy", "both"), default="both")
    ap.add_argument("--slow", type=int, default=200, help="slow/idle connections (max 1000)")
    ap.add_argument("--duration", type=float, default=30.0, help="seconds per phase (max 120)")
    ap.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2")))
    ap.add_argument("--keep-log", type=Path, default=None, help="copy gunicorn's log here")
    args = ap.parse_args()
    n, duration = min(args.slow, 1000), min(args.duration, 120.0)
    from dashboard.settings import Settings

    command = args.command or procfile_command()
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "gunicorn.log"
        proc = start_server(command, port, log)
        result: dict = {"command": command, "workers": args.workers}
        try:
            if args.phase in ("slow", "both"):
                result["slow_clients"] = slow_phase(port, n, duration)
                result["slow_clients"]["workers"] = worker_kills(log, args.workers)
            if args.phase in ("heavy", "both"):
                result["heavy_requests"] = heavy_phase(port, duration,
                                                       Settings.from_env().max_clients)
                result["heavy_requests"]["workers"] = worker_kills(log, args.workers)
        finally:
            stop(proc)
            if args.keep_log:
                args.keep_log.write_bytes(log.read_bytes())
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
