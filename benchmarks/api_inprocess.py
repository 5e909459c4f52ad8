#!/usr/bin/env python3
"""P4 in-process: CPU time per request of the API's direct route against the bare-Flask baseline.

No server, no network, no wrk: each app's WSGI callable is called in a loop with a minimal
environ (``GET /api/v1/nearest?lat=..&lon=..`` for the API, ``GET /nearest?..`` for
``benchmarks/api_baseline_app.py``), at uniformly random points with 4 decimals after a warm-up of
3,000, so every API request is a cache miss (as under ``benchmarks/api_load.py``'s wrk script).
CPU time (``time.process_time``) of 7 batches of 1,500 requests per app, alternating; best and
median per request, in microseconds. Each answer goes through gunicorn's response writer, as in
the server (its check of the status and headers, the head it formats, the body written to a
socket that discards it; ``gunicorn_worker.CheckedHeadersResponse`` when the checkout has it):
that part grows with the number of headers, which the API has five times as many of (issue 16).

Why: under load the server's CPU per request moves with the other processes on the machine,
in-process CPU time much less; what a change saves in-process, the server saves ~2.5-3x over
(``docs/performance.md`` "P4").

``--checkout PATH`` (repeatable) also measures another checkout (e.g. a ``git worktree`` of
``main``): every checkout runs in its own fresh process with its own code on ``PYTHONPATH``, in
turn, ``--alternations`` times, so the numbers of one run compare.

Usage: python benchmarks/api_inprocess.py [--checkout ../main] [--alternations 2]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BATCHES, PER_BATCH, WARM_UP = 7, 1500, 3000


def measure(seed: int) -> str:
    """One process: (API best, median, baseline best, median) us per request, as text."""
    sys.path.insert(0, str(Path.cwd()))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from dashboard.wsgi import server  # noqa: PLC0415 - the checkout's, found from the cwd

    import api_baseline_app  # noqa: PLC0415

    from gunicorn.http import wsgi as gunicorn_wsgi  # noqa: PLC0415

    try:  # as each worker of the checkout does at start
        from dashboard.gunicorn_worker import use_checked_headers_response  # noqa: PLC0415
    except ImportError:  # an older checkout: gunicorn's own Response
        pass
    else:
        use_checked_headers_response()

    class Discard:  # the client's socket
        def sendall(self, data: bytes) -> None:
            pass

    class Req:  # what gunicorn's Response reads of the request
        method, version = "GET", (1, 1)

        def should_close(self) -> bool:
            return False

    sock, req, cfg = Discard(), Req(), type("Cfg", (), {"protocol": "http"})()

    def serve(app, env) -> None:
        """``app``'s answer written as a gthread worker writes it (gunicorn's ``create``)."""
        resp = gunicorn_wsgi.Response(req, sock, cfg)
        for item in app(env, resp.start_response):
            resp.write(item)
        resp.close()

    def environ(path: str, query: str) -> dict:
        return {"PATH_INFO": path, "REQUEST_METHOD": "GET", "QUERY_STRING": query,
                "CONTENT_LENGTH": "", "SERVER_NAME": "bench", "SERVER_PORT": "80",
                "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http", "wsgi.input": None,
                "wsgi.errors": sys.stderr}

    apps = {"api": (server.wsgi_app, "/api/v1/nearest"),
            "baseline": (api_baseline_app.server.wsgi_app, "/nearest")}
    rng = random.Random(seed)
    queries = iter([f"lat={rng.uniform(-90, 90):.4f}&lon={rng.uniform(-180, 180):.4f}"
                    for _ in range(WARM_UP + 2 * BATCHES * PER_BATCH)])
    for _ in range(WARM_UP):
        q = next(queries)
        for app, path in apps.values():
            serve(app, environ(path, q))
    per: dict[str, list[float]] = {name: [] for name in apps}
    for _ in range(BATCHES):
        for name, (app, path) in apps.items():
            batch = [environ(path, next(queries)) for _ in range(PER_BATCH)]
            t = time.process_time()
            for env in batch:
                serve(app, env)
            per[name].append((time.process_time() - t) / PER_BATCH * 1e6)
    return " ".join(f"{min(v):.1f} {statistics.median(v):.1f}" for v in per.values())


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkout", action="append", default=[], type=Path,
                   help="another checkout to measure in the same run (repeatable)")
    p.add_argument("--alternations", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(measure(args.seed))
        return 0
    checkouts = [ROOT, *(c.resolve() for c in args.checkout)]
    print(f"load average before: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    print(f"{'checkout':40} {'API best':>9} {'median':>7} {'baseline best':>14} {'median':>7}"
          f" {'ratio (best)':>13}")
    for i in range(args.alternations):
        for checkout in checkouts:
            env = {**os.environ, "PYTHONPATH": os.pathsep.join(
                [str(checkout)] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH")
                                   else []))}
            out = subprocess.run([sys.executable, __file__, "--child", "--seed",
                                  str(args.seed + i)], cwd=checkout, env=env,
                                 capture_output=True, text=True, check=True).stdout.split()
            a, am, b, bm = map(float, out[-4:])
            print(f"{str(checkout):40} {a:9.1f} {am:7.1f} {b:14.1f} {bm:7.1f} {a / b:13.2f}")
    print(f"load average after: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
