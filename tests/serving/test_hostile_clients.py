"""Issue 13 with real processes: gunicorn from the Procfile (and its ``gunicorn.conf.py``), and
sockets opened by the test on 127.0.0.1.

* finding 2: idle and slow-header connections, more than the server has threads, do not stop
  ``/healthz``; the server closes a head that never completes;
* finding 3: two heavy in-cap requests in flight do not block ``/healthz`` or a light map
  update, and a request longer than gunicorn's ``timeout`` does not get its worker killed;
* finding 12: an over-long link gets the dashboard's own 414 page (and an 8 kB one opens), an
  oversize chunked or announced body gets a JSON 413.

The numbers for the goals (200 connections, two clients looping the heaviest request) come
from ``benchmarks/hostile_load.py`` (docs/reliability.md); bounds here are generous.
"""

from __future__ import annotations

import json
import random
import socket
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

from benchmarks.dash_requests import app_dependencies, callback_body
from dashboard.gunicorn_worker import HEAD_TIMEOUT_S
from tests.serving.conftest import Gunicorn, free_port, start_gunicorn
from tests.serving.test_gunicorn import local_command

pytestmark = [pytest.mark.slow, pytest.mark.serving]

#: gunicorn.conf.py's threads per worker times the Procfile's default of 2 workers.
THREADS_TOTAL = 2 * 8


def _request(base: str, path: str, body: bytes | None = None,
             timeout: float = 60) -> tuple[int, dict[str, str], bytes, float]:
    req = urllib.request.Request(base + path, data=body,
                                 headers={"Content-Type": "application/json"} if body else {})
    t0 = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, headers, data = resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        status, headers, data = exc.code, dict(exc.headers), exc.read()
    return status, {k.lower(): v for k, v in headers.items()}, data, time.monotonic() - t0


def _raw(port: int, data: bytes, timeout: float = 30) -> bytes:
    """Send ``data`` on a new connection and read the answer until the server closes. Sending
    runs in a thread: a server may answer (413) and close before it has read everything."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        def send() -> None:
            try:
                s.sendall(data)
            except OSError:
                pass  # the server stopped reading: its answer is what counts

        sender = threading.Thread(target=send)
        sender.start()
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                break
            if not chunk:
                break
            out += chunk
        sender.join()
    return out


@pytest.fixture(scope="module")
def procfile_server(tmp_path_factory) -> Iterator[Gunicorn]:
    port = free_port()
    log = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    server = start_gunicorn(local_command(), {"PORT": str(port)}, log, port)
    try:
        yield server
    finally:
        server.stop()


# -- finding 2: idle and slow-header clients ----------------------------------------------------

def test_idle_and_slow_header_connections_beyond_the_thread_count_do_not_stop_healthz(
        procfile_server):
    port = procfile_server.port
    n = THREADS_TOTAL + 8  # each half alone would take every thread of a thread-per-connection
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
    slow = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
    head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 100
    stop = threading.Event()

    def trickle() -> None:  # one more byte per client every 0.5 s, never the end of the head
        sent = 0
        while not stop.is_set() and sent < len(head):
            for s in slow:
                try:
                    s.send(head[sent:sent + 1])
                except OSError:
                    pass
            sent += 1
            stop.wait(0.5)

    sender = threading.Thread(target=trickle)
    sender.start()
    try:
        for _ in range(5):
            status, _, body, seconds = _request(procfile_server.base, "/healthz", timeout=20)
            assert status == 200 and json.loads(body)["status"] == "ok"
            assert seconds < 5, seconds  # ~10 ms measured; the sync server never answered
        # A head that never completes is closed after HEAD_TIMEOUT_S (not held forever).
        idle[0].settimeout(HEAD_TIMEOUT_S + 10)
        t0 = time.monotonic()
        assert idle[0].recv(100) == b""
        assert time.monotonic() - t0 <= HEAD_TIMEOUT_S + 2
    finally:
        stop.set()
        sender.join()
        for s in idle + slow:
            s.close()
    log = procfile_server.log.read_text()
    assert "WORKER TIMEOUT" not in log and "Traceback" not in log


def _workers_holding(server: Gunicorn, client_ports: set[int]) -> dict[int, int]:
    """How many of the connections from ``client_ports`` (loopback) each worker process holds:
    the server-side sockets' inodes from ``/proc/net/tcp``, owners from ``/proc/<pid>/fd``."""
    inodes: dict[int, int] = {}
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        f = line.split()
        local_port, remote_port = int(f[1].split(":")[1], 16), int(f[2].split(":")[1], 16)
        if local_port == server.port and remote_port in client_ports:
            inodes[int(f[9])] = remote_port
    held: dict[int, int] = {}
    for pid in _worker_pids(server):
        links = []
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                links.append(fd.readlink().name)
            except OSError:
                continue  # closed meanwhile
        held[pid] = sum(1 for link in links if link.startswith("socket:[")
                        and int(link[8:-1]) in inodes)
    return held


def _worker_pids(server: Gunicorn) -> list[int]:
    return [int(c) for t in Path(f"/proc/{server.proc.pid}/task").iterdir()
            for c in (t / "children").read_text().split()]


def _listener_fd(server: Gunicorn) -> int:
    """The master's listening socket's descriptor number (the workers inherit it as is)."""
    inode = next(int(f[9]) for line in Path("/proc/net/tcp").read_text().splitlines()[1:]
                 if (f := line.split())[3] == "0A" and int(f[1].split(":")[1], 16) == server.port)
    for fd in Path(f"/proc/{server.proc.pid}/fd").iterdir():
        if fd.readlink().name == f"socket:[{inode}]":
            return int(fd.name)
    raise AssertionError("no listening socket")


def _accepting(pid: int, listener: int) -> bool:
    """Whether worker ``pid`` waits for new connections: the listener is in its epoll set
    (``/proc/<pid>/fdinfo``: one ``tfd:`` line per registered descriptor)."""
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            if not fd.readlink().name.endswith("[eventpoll]"):
                continue
            info = (Path(f"/proc/{pid}/fdinfo") / fd.name).read_text()
        except OSError:
            continue
        if any(line.split()[1] == str(listener) for line in info.splitlines()
               if line.startswith("tfd:")):
            return True
    return False


def test_a_burst_of_kept_alive_connections_is_shared_by_the_workers(procfile_server):
    """Connections opened at once (a proxy's pool, a load generator) used to all land on the
    worker that woke first and stay there, so one core served them while the other idled
    (``dashboard.gunicorn_worker.ACCEPT_YIELD_S``). Each connection here completes a request
    (so the server has accepted it) and stays open."""
    port, n = procfile_server.port, 48
    # The burst comes once both workers wait for connections (each warms up first).
    listener, deadline = _listener_fd(procfile_server), time.monotonic() + 60
    while not ((pids := _worker_pids(procfile_server)) and len(pids) == 2
               and all(_accepting(pid, listener) for pid in pids)):
        assert time.monotonic() < deadline, "the workers never started accepting"
        time.sleep(0.05)
    socks = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(n)]
    try:
        for s in socks:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        for s in socks:
            data = b""
            while b"\r\n\r\n" not in data:
                data += s.recv(65536)
            head, _, body = data.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200"), head
            length = int(next(line.split(b":", 1)[1] for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length:")))
            while len(body) < length:
                body += s.recv(65536)
            assert json.loads(body)["status"] == "ok"
        held = _workers_holding(procfile_server, {s.getsockname()[1] for s in socks})
        assert sum(held.values()) == n, held
        assert len(held) == 2 and min(held.values()) >= n // 3, held  # 23-25 each measured
    finally:
        for s in socks:
            s.close()


# -- finding 12: long links, oversize bodies -------------------------------------------------

def _link(n_chars: int) -> str:
    clients = []
    while len(";".join(clients)) < n_chars:
        clients.append(f"{random.uniform(-60, 60):.4f},{random.uniform(-170, 170):.4f}")
    return "/?clients=" + ";".join(clients)


def test_links_up_to_8kb_open_and_longer_ones_get_the_dashboards_own_414_page(procfile_server):
    status, headers, body, _ = _request(procfile_server.base, _link(7000))
    assert status == 200 and b"<title>Anycast EIP dashboard</title>" in body  # was gunicorn's 414
    answer = _raw(procfile_server.port, f"GET {_link(9000)} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 414 URI Too Long"
    assert b"This link is too long to open" in rest and b'<a href="/">' in rest
    assert b"Request Line is too large" not in answer  # not gunicorn's page


def _chunked(body: bytes, size: int = 65536) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + size]), body[i:i + size])
                    for i in range(0, len(body), size)) + b"0\r\n\r\n"


@pytest.mark.parametrize("path,ctype", [("/_dash-update-component", "application/json"),
                                        ("/api/v1/assign", "text/csv")])
def test_oversize_chunked_body_is_a_json_413(procfile_server, path, ctype):
    body = b"1,2\n" * (9 * 1024 * 1024 // 4)  # over both limits (5 MiB API, ~7.7 MiB callbacks)
    answer = _raw(procfile_server.port,
                  f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {ctype}\r\n"
                  "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n".encode()
                  + _chunked(body))
    head, _, payload = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), head[:200]  # the callback endpoint said 400
    assert b"application/json" in head
    assert "larger than the limit of" in json.loads(payload)["error"]


def test_announced_oversize_body_is_refused_with_a_json_413_before_it_is_sent(procfile_server):
    with socket.create_connection(("127.0.0.1", procfile_server.port), timeout=30) as s:
        s.sendall(b"POST /_dash-update-component HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Type: application/json\r\nContent-Length: 50000000\r\n\r\n{")
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = s.recv(65536)
            if not chunk:
                break
            answer += chunk
    head, _, payload = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413") and b"application/json" in head
    assert "larger than the limit of" in json.loads(payload)["error"]


def test_a_chunked_body_under_the_limit_is_served(procfile_server):
    answer = _raw(procfile_server.port,
                  b"POST /api/v1/assign HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
                  b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                  + _chunked(b"lat,lon\n48.1,11.6\n-33.9,151.2\n", size=7))
    head, _, payload = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), answer[:300]
    assert [c["pop"] for c in json.loads(payload)["assignments"]] == ["FRA", "SYD"]


# -- finding 3: heavy requests ------------------------------------------------------------------

def _scene_body(deps: list[dict], n_clients: int, seed: int,
                client_set: str | None = None) -> bytes:
    """A what-if on a scenario of ``n_clients`` random clients, as dash-renderer sends it: the
    scene callback (callbacks/scene.py) with the edit "CDG down" and the scenario as its store.
    Every client is routed and the map, table, key numbers and CDF are drawn for them: with
    ``max_clients`` clients this is the heaviest in-cap request, with 10 a light one."""
    from dashboard import ids
    from dashboard.domain.scenario import Client, Scenario

    rng = random.Random(seed)
    store = Scenario(clients=tuple(Client(round(rng.uniform(-60, 70), 4),
                                          round(rng.uniform(-180, 180), 4), f"c{i}", 1.0)
                                   for i in range(n_clients)),
                     origin="eu-central-1", client_set=client_set).to_dict()
    values = {f"{ids.SCENARIO}.data": store, f"{ids.VIEW_TABS}.value": "map",
              f"{ids.SCENARIO_EDIT}.data": {"op": "toggle_pop", "pop": "CDG", "nonce": seed}}
    return json.dumps(callback_body(deps, f"{ids.SCENARIO}.data", values,
                                    f"{ids.SCENARIO_EDIT}.data")).encode()


def test_two_heavy_requests_do_not_block_light_ones_or_get_a_worker_killed(tmp_path: Path):
    from dashboard.app import create_app
    from dashboard.settings import Settings

    deps = app_dependencies(create_app())
    max_clients = Settings().max_clients
    # the heaviest in-cap request: the cap counts a client set's clients too, so max_clients of
    # the scenario's own (with the 25,000-city set on top it is refused, a 204 in ~0.1 s)
    heavy = [_scene_body(deps, max_clients, seed) for seed in (1, 2)]
    light = [_scene_body(deps, 10, seed) for seed in range(3, 8)]
    port = free_port()
    # gunicorn's timeout far under a heavy request's 4-5 s: under the sync worker the worker
    # was killed (a bare HTML 500 or a dropped connection); threads keep the heartbeat going.
    server = start_gunicorn(local_command() + " --timeout 2", {"PORT": str(port)},
                            tmp_path / "gunicorn.log", port)
    answers: list[tuple[int, dict[str, str], bytes, float]] = []
    try:
        threads = [threading.Thread(target=lambda b=b: answers.append(
            _request(server.base, "/_dash-update-component", b, timeout=120))) for b in heavy]
        for t in threads:
            t.start()
        probes = []
        while any(t.is_alive() for t in threads):  # while the heavy requests are in flight
            probes.append(_request(server.base, "/healthz", timeout=60))
            probes.append(_request(server.base, "/_dash-update-component",
                                   light[len(probes) % len(light)], timeout=60))
        for t in threads:
            t.join()
    finally:
        server.stop()
    log = server.log.read_text()
    assert "WORKER TIMEOUT" not in log and "SIGKILL" not in log and "Traceback" not in log
    assert probes and all(p[0] == 200 for p in probes), [p[:1] for p in probes]
    worst = max(p[3] for p in probes)
    assert worst < 3, worst  # p90 ~0.5 s measured on a loaded 2-core machine; sync: 5-10 s
    assert len(answers) == 2
    for status, headers, body, _ in answers:
        assert status in (200, 503), (status, body[:300])
        if status == 503:  # the second heavy one waited too long for the slot: a clear notice
            assert headers["retry-after"] and "busy" in json.loads(body)["error"]
        else:
            assert "response" in json.loads(body)
    assert any(a[0] == 200 for a in answers)


#: A browser's connections per host (Chrome, HTTP/1.1): one page's callbacks share them.
BROWSER_CONNECTIONS = 6


def test_one_users_burst_of_heavy_callbacks_is_served_not_refused_as_busy(tmp_path: Path):
    """A user's own burst of heavy callbacks must queue for the heavy slot, not be refused.
    Before the one-round-trip renovation one click fired ~10-15 callbacks, each carrying the
    scenario (``benchmarks/single_user_burst.py``: with 2,000 clients, 6 of 32 upload and 6 of
    15 click POSTs were refused as "busy"); a click is one request to the scene callback now,
    but a user clicking several pills in a row, or the tab callback next to it, still sends
    heavy bodies over the browser's 6 connections. Here 12 what-ifs on 20,000 clients each
    (~1 s apiece, so the last of 6 in flight waits ~5 s or more) over 6 kept-alive
    connections, all 200."""
    import http.client
    import queue

    from dashboard.app import create_app

    deps = app_dependencies(create_app())
    bodies: queue.Queue[bytes] = queue.Queue()
    for seed in range(12):  # distinct scenarios: no cache hit
        bodies.put(_scene_body(deps, 20_000, 100 + seed))
    port = free_port()
    server = start_gunicorn(local_command(), {"PORT": str(port)}, tmp_path / "gunicorn.log",
                            port)
    answers: list[tuple[int, bytes]] = []

    def connection() -> None:  # one of the browser's connections, reused for the next callback
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        try:
            while True:
                try:
                    body = bodies.get_nowait()
                except queue.Empty:
                    return
                try:
                    conn.request("POST", "/_dash-update-component", body=body,
                                 headers={"Content-Type": "application/json"})
                    resp = conn.getresponse()
                    answers.append((resp.status, resp.read()))
                except OSError as exc:  # e.g. a refusal sent before the body was read
                    answers.append((0, repr(exc).encode()))
                    conn.close()
        finally:
            conn.close()

    try:
        threads = [threading.Thread(target=connection) for _ in range(BROWSER_CONNECTIONS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        server.stop()
    assert sorted(status for status, _ in answers) == [200] * 12, [
        (status, body[:200]) for status, body in answers if status != 200]
    assert all("response" in json.loads(body) for _, body in answers)
    assert "heavy request refused" not in server.log.read_text()


def test_a_fresh_threaded_worker_serves_every_page_script_to_concurrent_requests(tmp_path: Path):
    """Dash sets up its script registry on a process's first request after marking it done; a
    concurrent request for react-dom in another thread got a 404 (the page never rendered in the
    browser tests). The worker now sends one request through the app before accepting."""
    import re
    from concurrent.futures import ThreadPoolExecutor

    port = free_port()
    server = start_gunicorn(local_command(), {"PORT": str(port)}, tmp_path / "gunicorn.log",
                            port)
    try:
        status, _, page, _ = _request(server.base, "/")
        assert status == 200
        scripts = re.findall(rb'<script src="(/_dash-component-suites/[^"]+)"', page)
        assert len(scripts) >= 5
        with ThreadPoolExecutor(16) as pool:
            statuses = list(pool.map(lambda p: _request(server.base, p.decode())[0],
                                     scripts * 4))
    finally:
        server.stop()
    assert statuses == [200] * len(statuses)
