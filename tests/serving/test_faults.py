"""Faults under load with real processes (gunicorn from the Procfile, redis-server), all on
127.0.0.1 and bounded in time: a Redis outage fails no request; killing gunicorn workers loses at
most the request each killed worker was serving (and none for a client that retries once); a
broken catalog stops start-up with one line naming the file. Longer runs that record the figures
in docs/reliability.md: ``python -m tests.serving.faults``."""

from __future__ import annotations

import json
import re
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT, TEST_DATA
from tests.serving.conftest import REDIS_SERVER, VENV_BIN, free_port
from tests.serving.faults import procfile_command, redis_outage, worker_kill

pytestmark = pytest.mark.slow


@pytest.mark.redis
def test_redis_stopped_under_load_fails_no_request_and_recovers(tmp_path: Path):
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed (make test installs it)")
    result, marks, log = redis_outage(tmp_path, threads=4, seconds=6.5, down_at=1.0, up_at=3.0)
    print(f"\nredis outage: {result.ok + result.failed} requests, {result.failed} failed, "
          f"{result.cache}")
    assert result.failed == 0, result.failures[:5]
    during = result.ok_after["redis_down"] - result.ok_after.get("redis_up", 0)
    assert during > 20  # requests kept being answered while Redis was down
    assert result.hits_after.get("redis_up", 0) > 0  # shared caching resumed afterwards
    # One warning per worker per outage (2 workers), not one per request; and the recovery.
    assert 1 <= log.count("Redis cache unavailable") <= 2
    assert log.count("reachable again") >= 1
    assert "Traceback" not in log


def _get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=20) as resp:
            return resp.status, resp.headers.get("Content-Type", ""), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read()


def _production_checks(port: int) -> None:
    """Under gunicorn with every debug variable set: still no dev tools, no debugger, and a
    malformed callback request is a JSON 400 (no traceback page)."""
    base = f"http://127.0.0.1:{port}"
    status, _, page = _get(base + "/")
    config = json.loads(re.search(rb'<script id="_dash-config" type="application/json">(.*?)'
                                  rb"</script>", page, re.S).group(1))
    assert status == 200 and config["ui"] is False and "hot_reload" not in config
    status, _, body = _get(base + "/?__debugger__=yes&cmd=resource&f=debugger.js")
    assert b"Werkzeug" not in body
    req = urllib.request.Request(base + "/_dash-update-component", data=b'{"output": 1}',
                                 headers={"Content-Type": "application/json"})
    try:
        urllib.request.urlopen(req, timeout=20)
        raise AssertionError("expected a 400")
    except urllib.error.HTTPError as exc:
        assert exc.code == 400 and "error" in json.loads(exc.read())


def test_worker_killed_under_load_service_keeps_answering(tmp_path: Path):
    debug_env = {"ANYCAST_DEBUG": "1", "DASH_DEBUG": "true", "FLASK_DEBUG": "1"}
    result, marks, log, server = worker_kill(tmp_path, threads=4, seconds=5.0, kills=2,
                                             env=debug_env, retries=[0, 1],
                                             check=_production_checks)
    raw = result.failed_by_retries.get(0, 0)
    print(f"\nworker kill x2: {result.requests_by_retries} requests by retry budget, "
          f"failed {result.failed_by_retries}, {result.retried_ok} succeeded on the retry")
    # A SIGKILLed worker loses the requests it was serving: one under sync workers; under the
    # Procfile's threaded workers one per client connection it held, so at most the 2 no-retry
    # client threads per kill. Nothing else fails.
    assert raw <= 2 * 2, result.failures
    assert result.failed_by_retries.get(1, 0) == 0, result.failures
    assert result.ok_after.get("kill2", 0) > 20  # answering after both kills
    assert log.count("Booting worker") >= 4  # the master replaced both
    assert "debug mode and dev tools are never enabled" in log
    assert server.proc.returncode == 0


@pytest.mark.parametrize("env,fragment", [
    ({"ANYCAST_POPS_CSV": str(TEST_DATA / "pops_bad_area.csv")},
     f"{TEST_DATA / 'pops_bad_area.csv'}, line 2, column 'area': area 'Antarctica' is not one"),
    ({"ANYCAST_ORIGINS_CSV": "/nonexistent/origins.csv"},
     "/nonexistent/origins.csv: file not found"),
], ids=["corrupt pops.csv", "missing origins.csv"])
def test_gunicorn_refuses_to_start_naming_the_catalog_file(tmp_path: Path, env, fragment):
    import os

    port = free_port()
    full_env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    full_env.update(env, PORT=str(port), PATH=f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.run(["bash", "-c", "exec " + procfile_command()], cwd=ROOT, env=full_env,
                          capture_output=True, text=True, timeout=90)
    log = proc.stdout + proc.stderr
    # --preload: the master loads the app once, before forking; no worker is started
    assert proc.returncode == 4, log[-2000:]
    assert log.count(f"anycast-dashboard: cannot start: {fragment}") == 1, log[-2000:]
    assert "Traceback" not in log and "Booting worker" not in log


def test_cli_serve_refuses_a_broken_catalog(capsys):
    from dashboard.cli import main

    bad = TEST_DATA / "pops_bad_area.csv"
    assert main(["serve", "--pops", str(bad), "--port", str(free_port())]) == 2
    err = capsys.readouterr().err
    assert f"error: {bad}, line 2, column 'area'" in err


def test_create_app_names_the_file(tmp_path: Path):
    from dashboard.app import create_app
    from dashboard.catalog import CatalogError
    from dashboard.settings import Settings

    broken = tmp_path / "pops.csv"
    broken.write_bytes(b"\xff\xfe garbage")
    with pytest.raises(CatalogError, match=re.escape(str(broken)) + ": not UTF-8"):
        create_app(Settings(pops_csv=broken))
