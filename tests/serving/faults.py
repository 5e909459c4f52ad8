"""Fault injection against real processes: a Redis outage and a gunicorn worker SIGKILL, both
under concurrent load, counting failed requests.

Used by ``tests/serving/test_faults.py`` (short, bounded runs with assertions) and runnable to
record the figures in ``docs/reliability.md``::

    python -m tests.serving.faults [--threads 8] [--seconds 12]

Everything listens on 127.0.0.1 on free ports; redis-server and gunicorn are our own children,
stopped by pid.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from tests.conftest import ROOT
from tests.serving.conftest import REDIS_SERVER, Gunicorn, RedisServer, free_port, start_gunicorn

#: A small set of points, so that some requests hit the cache and others miss and write.
POINTS = [(round(random.Random(i).uniform(-60, 70), 2), round(random.Random(-i).uniform(-179, 179),
                                                               2)) for i in range(40)]
ORIGINS = ("eu-central-1", "us-east-1", "ap-southeast-1")


def procfile_command() -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith("web:"):
            return line[len("web:"):].strip().replace("0.0.0.0:", "127.0.0.1:")
    raise RuntimeError("Procfile has no web: process")


@dataclass
class LoadResult:
    """Requests made by the load threads, by outcome, and when the failures happened."""

    ok: int = 0
    failed: int = 0
    retried_ok: int = 0
    cache: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    ok_after: dict[str, int] = field(default_factory=dict)
    hits_after: dict[str, int] = field(default_factory=dict)
    #: requests and failures per client retry budget (threads may differ).
    requests_by_retries: dict[int, int] = field(default_factory=dict)
    failed_by_retries: dict[int, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, ok: bool, what: str = "", x_cache: str | None = None, retried: bool = False,
            marks: dict[str, float] | None = None, retries: int = 0) -> None:
        with self.lock:
            self.requests_by_retries[retries] = self.requests_by_retries.get(retries, 0) + 1
            if not ok:
                self.failed_by_retries[retries] = self.failed_by_retries.get(retries, 0) + 1
            if ok:
                self.ok += 1
                self.retried_ok += int(retried)
                if x_cache:
                    self.cache[x_cache] = self.cache.get(x_cache, 0) + 1
                now = time.monotonic()
                for name, t in (marks or {}).items():
                    if now > t:
                        self.ok_after[name] = self.ok_after.get(name, 0) + 1
                        if x_cache == "HIT":
                            self.hits_after[name] = self.hits_after.get(name, 0) + 1
            else:
                self.failed += 1
                self.failures.append(what)


def _get(port: int, path: str) -> tuple[int, str | None]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        return resp.status, resp.getheader("X-Cache")
    finally:
        conn.close()


def load(port: int, stop: threading.Event, result: LoadResult, seed: int, retries: int,
         marks: dict[str, float]) -> None:
    """One client thread: GET /api/v1/nearest in a loop until ``stop``; a new connection per
    request (gunicorn's sync workers close each one). ``retries``: extra attempts after a
    connection error (0 = measure raw failures; 1 = what a proxy's retry of idempotent GETs
    would give)."""
    rng = random.Random(seed)
    while not stop.is_set():
        lat, lon = rng.choice(POINTS)
        path = f"/api/v1/nearest?lat={lat}&lon={lon}&origin={rng.choice(ORIGINS)}"
        for attempt in range(retries + 1):
            try:
                status, x_cache = _get(port, path)
            except (OSError, http.client.HTTPException) as exc:
                if attempt < retries:
                    continue
                result.add(False, f"{type(exc).__name__}: {exc}", retries=retries)
                break
            result.add(status == 200, f"HTTP {status}", x_cache, retried=attempt > 0,
                       marks=marks, retries=retries)
            break


def run_load(port: int, threads: int, seconds: float, events: list[tuple[float, str,
             Callable[[], None]]], retries: int | list[int] = 0
             ) -> tuple[LoadResult, dict[str, float]]:
    """Run ``threads`` load threads for ``seconds``; at each (offset, name, action) of ``events``
    call ``action`` from the main thread. ``retries``: per thread (a list, cycled) or for all.
    Returns the result and the event times (monotonic)."""
    budgets = retries if isinstance(retries, list) else [retries]
    result = LoadResult()
    stop = threading.Event()
    marks: dict[str, float] = {}
    workers = [threading.Thread(target=load, args=(port, stop, result, i,
                                                   budgets[i % len(budgets)], marks),
                                daemon=True) for i in range(threads)]
    t0 = time.monotonic()
    for w in workers:
        w.start()
    for offset, name, action in sorted(events, key=lambda e: e[0]):
        time.sleep(max(0.0, t0 + offset - time.monotonic()))
        action()
        marks[name] = time.monotonic()
    time.sleep(max(0.0, t0 + seconds - time.monotonic()))
    stop.set()
    for w in workers:
        w.join(timeout=15)
    return result, marks


def worker_pids(master_pid: int) -> set[int]:
    """Child pids of gunicorn's master (Linux /proc)."""
    children: set[int] = set()
    task_dir = Path(f"/proc/{master_pid}/task")
    for task in task_dir.iterdir():
        text = (task / "children").read_text().split()
        children.update(int(p) for p in text)
    return children


def wait_for_workers(master_pid: int, n: int, timeout: float = 30.0,
                     exclude: set[int] = frozenset()) -> set[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = worker_pids(master_pid) - set(exclude)
        if len(pids) >= n:
            return pids
        time.sleep(0.1)
    raise TimeoutError(f"gunicorn did not have {n} workers after {timeout} s")


def wait_until_serving(port: int, master_pid: int, n: int = 2, timeout: float = 60.0) -> set[int]:
    """Until ``n`` distinct booted workers have answered /healthz (a worker process exists
    before it has imported the app; killing or timing one that is still booting measures
    nothing)."""
    import json

    seen: set[int] = set()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.request("GET", "/healthz")
            seen.add(json.loads(conn.getresponse().read())["pid"])
        except (OSError, ValueError, http.client.HTTPException):
            time.sleep(0.1)
        finally:
            conn.close()
        seen &= worker_pids(master_pid)
        if len(seen) >= n:
            return seen
    raise TimeoutError(f"{n} gunicorn workers did not answer within {timeout} s")


def redis_outage(workdir: Path, threads: int = 4, seconds: float = 7.0, down_at: float = 1.0,
                 up_at: float = 3.5) -> tuple[LoadResult, dict[str, float], str]:
    """gunicorn (Procfile command) with REDIS_URL under load; Redis stopped at ``down_at`` and
    restarted (same port, empty) at ``up_at``. Returns (load result, event times, gunicorn log)."""
    redis = RedisServer(port=free_port(), workdir=workdir)
    redis.start()
    port = free_port()
    server: Gunicorn | None = None
    try:
        server = start_gunicorn(procfile_command(), {"PORT": str(port), "REDIS_URL": redis.url},
                                workdir / "gunicorn-redis.log", port)
        wait_until_serving(port, server.proc.pid)
        result, marks = run_load(port, threads, seconds,
                                 [(down_at, "redis_down", redis.stop),
                                  (up_at, "redis_up", redis.start)])
    finally:
        if server is not None:
            server.stop()
        redis.stop()
    return result, marks, (workdir / "gunicorn-redis.log").read_text()


def worker_kill(workdir: Path, threads: int = 4, seconds: float = 5.0, kills: int = 2,
                env: dict[str, str] | None = None, retries: int | list[int] = 0,
                check: Callable[[int], None] | None = None
                ) -> tuple[LoadResult, dict[str, float], str, Gunicorn]:
    """gunicorn (Procfile command, 2 sync workers) under load; ``kills`` workers SIGKILLed one
    second apart, starting at t = 1 s. ``check(port)`` runs before the load starts."""
    port = free_port()
    log = workdir / "gunicorn-kill.log"
    server = start_gunicorn(procfile_command(), {"PORT": str(port), **(env or {})}, log, port)
    killed: list[int] = []

    def kill_one() -> None:
        # A booted worker (serving requests right now), not one still being respawned.
        victim = min(ready - set(killed))
        os.kill(victim, signal.SIGKILL)
        killed.append(victim)

    ready: set[int] = set()
    try:
        ready |= wait_until_serving(port, server.proc.pid)
        if check is not None:
            check(port)
        events = []
        for i in range(kills):
            # Kill, then (half a second later) note the booted replacement as the next victim.
            events.append((1.0 + i, f"kill{i + 1}", kill_one))
            events.append((1.5 + i, f"ready{i + 1}",
                           lambda: ready.update(wait_until_serving(port, server.proc.pid))))
        result, marks = run_load(port, threads, seconds, events, retries=retries)
        wait_for_workers(server.proc.pid, 2, exclude=set(killed))
    finally:
        server.stop()
    return result, marks, log.read_text(), server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Redis outage and worker kill under load")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--kills", type=int, default=5)
    args = parser.parse_args(argv)
    if REDIS_SERVER is None:
        print("redis-server is not installed", file=sys.stderr)
        return 2
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        result, marks, log = redis_outage(work, args.threads, args.seconds, 2.0,
                                          args.seconds / 2)
        print(f"redis outage: {result.ok + result.failed} requests, {result.failed} failed, "
              f"X-Cache {dict(sorted(result.cache.items()))}; "
              f"'unavailable' warnings: {log.count('Redis cache unavailable')}, "
              f"'reachable again': {log.count('reachable again')}")
        bad += result.failed
        # Half the client threads never retry (raw failures); half retry a connection error
        # once, as a proxy or client library retrying an idempotent GET would.
        result, marks, log, _ = worker_kill(work, args.threads, args.seconds, args.kills,
                                            retries=[0, 1])
        print(f"worker kill x{args.kills}, {log.count('Booting worker')} workers booted in all:")
        for retries in (0, 1):
            print(f"   clients with {retries} retr{'y' if retries == 1 else 'ies'}: "
                  f"{result.requests_by_retries.get(retries, 0)} requests, "
                  f"{result.failed_by_retries.get(retries, 0)} failed")
        print(f"   {result.retried_ok} succeeded on the retry; failures: {result.failures[:5]}")
        bad += result.failed_by_retries.get(1, 0)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
