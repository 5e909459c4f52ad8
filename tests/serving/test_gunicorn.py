"""gunicorn started from the Procfile's own command line serves the API and the page, and with
``REDIS_URL`` its workers share one cache (proved across worker processes)."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.serving.conftest import free_port, start_gunicorn

pytestmark = pytest.mark.slow


def procfile_web_command() -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith("web:"):
            return line[len("web:"):].strip()
    raise AssertionError("Procfile has no web: process")


def local_command() -> str:
    """The Procfile's command, bound to loopback instead of every interface (tests use 127.0.0.1
    only); everything else, including ${PORT} and ${WEB_CONCURRENCY}, is left to the shell."""
    command = procfile_web_command()
    assert "0.0.0.0:${PORT" in command, command
    return command.replace("0.0.0.0:", "127.0.0.1:")


def get(url: str, json_body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    """GET ``url`` (or POST ``json_body`` to it): (status, lower-case headers, body)."""
    req = urllib.request.Request(url, data=json_body,
                                 headers={"Content-Type": "application/json"} if json_body else {})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


def test_procfile_never_runs_debug_or_reload():
    command = procfile_web_command()
    assert command.startswith("gunicorn dashboard.wsgi:server")
    assert not re.search(r"--reload|--debug|ANYCAST_DEBUG", command)


def test_gunicorn_from_the_procfile_serves_healthz_api_and_page(tmp_path: Path):
    port = free_port()
    server = start_gunicorn(local_command(), {"PORT": str(port), "ANYCAST_DEBUG": "0"},
                            tmp_path / "gunicorn.log", port)
    try:
        status, headers, body = get(server.base + "/healthz")
        assert status == 200, body
        health = json.loads(body)
        assert health["status"] == "ok" and health["catalog"]["pops"] == 19
        assert health["cache"]["backend"] == "simple"

        status, headers, body = get(server.base + "/")
        assert status == 200 and headers["content-type"].startswith("text/html")
        page = body.decode()
        assert "<title>Anycast EIP dashboard</title>" in page
        config = json.loads(re.search(r'<script id="_dash-config" type="application/json">'
                                      r"(.*?)</script>", page, re.S).group(1))
        assert config["ui"] is False  # no dev tools in production
        assert "script-src 'self' 'sha256-" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"

        status, _, body = get(server.base + "/_dash-layout")
        assert status == 200 and b"app-header" in body

        status, headers, body = get(server.base + "/api/v1/nearest?lat=-33.87&lon=151.21")
        assert status == 200 and json.loads(body)["pop"]["id"] == "SYD"
        # Every answer carries every header, whether the worker checked it now or remembered
        # it from an earlier answer (gunicorn_worker.CheckedHeadersResponse).
        varying = {"date", "content-length", "x-cache"}
        first = {k: v for k, v in headers.items() if k not in varying}
        assert {"content-security-policy", "x-content-type-options", "x-frame-options",
                "referrer-policy", "vary", "cache-control", "content-type"} <= set(first)
        for i in range(8):
            status, again, body = get(server.base + f"/api/v1/nearest?lat={i}.5&lon=100.25")
            assert status == 200 and json.loads(body)["client"]["lat"] == i + 0.5
            assert {k: v for k, v in again.items() if k not in varying} == first
            assert int(again["content-length"]) == len(body)
        status, _, body = get(server.base + "/api/v1/nearest?lat=-33.87&lon=1e309")
        assert status == 400 and "lon" in json.loads(body)["error"]
    finally:
        server.stop()
    assert server.proc.returncode == 0
    log = server.log.read_text()
    assert "Booting worker" in log and log.count("Booting worker") >= 2  # WEB_CONCURRENCY default
    assert "Traceback" not in log


@pytest.mark.redis
def test_gunicorn_workers_share_the_redis_cache(tmp_path: Path, redis_server):
    """Each worker serves exactly one request and is replaced (``--max-requests 1``), so no
    answer can come from a worker's own memory: after the first request every answer is a hit
    served by a different process, which only the shared Redis can explain. Sync workers here
    (the Procfile's are threaded): a threaded worker may accept the next connection while its
    one allowed request is being served, and then serves it too before it stops."""
    port = free_port()
    command = (local_command() + " --max-requests 1 --worker-class sync --threads 1"
               " --access-logformat '%(p)s %(U)s %({x-cache}o)s'")
    server = start_gunicorn(command, {"PORT": str(port), "REDIS_URL": redis_server.url},
                            tmp_path / "gunicorn.log", port)
    # A route table (cached from its first request; nearest answers are cached from a
    # worker's second request for the point, memo.Doorkeeper, and each worker here serves one).
    url = server.base + "/api/v1/assign"
    doc = json.dumps({"clients": [{"lat": 1.3521, "lon": 103.8198}, {"lat": 50.0, "lon": 8.0}],
                      "origin": "eu-central-1"}).encode()
    try:
        answers = []
        for _ in range(4):
            status, headers, body = get(url, doc)
            assert status == 200
            answers.append((headers["x-cache"], json.loads(body)))
    finally:
        server.stop()
    assert [a[0] for a in answers] == ["MISS", "HIT", "HIT", "HIT"]
    assert all(a[1] == answers[0][1] for a in answers)
    lines = [ln.split() for ln in server.log.read_text().splitlines()
             if "/api/v1/assign" in ln]
    assert len(lines) == 4
    pids = [ln[0] for ln in lines]
    assert len(set(pids)) == 4, lines  # four different worker processes
    assert [ln[2] for ln in lines] == ["MISS", "HIT", "HIT", "HIT"]
    keys = redis_server.client().keys("anycast:*services.routing._route_table:*")
    assert len(keys) == 1
