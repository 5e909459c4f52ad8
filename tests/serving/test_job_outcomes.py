"""Every way an N-1 job ends reaches the page (issue 13, findings 5, 7, 9): the real Dash request
path (Flask test client: the click, then the renderer's polls with the signed handles), with the
job in a real forked process of the Diskcache manager, killed by its own pid where a test needs
a dead job.

Before these fixes a handle that did not verify, a killed job process and an exception in the job
all ended the poll chain with a 204 (or a 500) and nothing on screen but "Runs in the background".
"""

from __future__ import annotations

import json
import os
import re
import signal
import time

import psutil
import pytest

from dashboard import ids
from dashboard.app import create_app
from dashboard.jobs import SECRET_FILE, DiskcacheJobs
from dashboard.settings import Settings

pytestmark = pytest.mark.slow

SMALL = {"clients": [{"lat": 48.85, "lon": 2.35, "name": "Paris", "weight": 300},
                     {"lat": 35.69, "lon": 139.69, "name": "Tokyo", "weight": 900}]}
HEAVY = {"demand_source": "population"}  # 34,006 demand points: ~3-5 s of work


class Page:
    """One page load against ``app``: its signed endId, then clicks and polls as the renderer
    sends them (``/_dash-update-component`` with cacheKey/job/endId in the query string)."""

    def __init__(self, app):
        self.client = app.server.test_client()
        html = self.client.get("/").get_data(as_text=True)
        config = re.search(r'<script id="_dash-config" type="application/json">(.*?)</script>',
                           html, re.S)
        self.end_id = json.loads(config.group(1))["end_id"]
        self.handles: dict | None = None

    def _post(self, store: dict, **args):
        body = {"output": "n1-result.data", "outputs": {"id": ids.N1_RESULT, "property": "data"},
                "inputs": [{"id": ids.N1_RUN, "property": "n_clicks", "value": 1}],
                "state": [{"id": ids.SCENARIO, "property": "data", "value": store}],
                "changedPropIds": [f"{ids.N1_RUN}.n_clicks"]}
        return self.client.post("/_dash-update-component", json=body,
                                query_string={"endId": self.end_id, **args})

    def click(self, store: dict) -> dict:
        resp = self._post(store)
        assert resp.status_code == 200, resp.get_data()[:300]
        self.store = store
        self.handles = resp.get_json()
        return self.handles

    @property
    def job(self) -> str:
        return self.handles["job"].rpartition("~")[0]

    def poll(self, **override):
        return self._post(self.store, cacheKey=override.get("cacheKey", self.handles["cacheKey"]),
                          job=override.get("job", self.handles["job"]))

    def poll_until_final(self, timeout: float = 60.0) -> tuple[int, dict]:
        """Poll every 0.1 s until the server ends the chain (a response with ``response``, or
        anything but 200), as the renderer does; returns (status, body) of the last poll."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            resp = self.poll()
            body = resp.get_json(silent=True) or {}
            if resp.status_code != 200 or "response" in body:
                return resp.status_code, body
            time.sleep(0.1)
        raise AssertionError("the poll chain never ended")


def status_of(body: dict) -> str | None:
    return (body.get("sideUpdate") or {}).get(ids.N1_STATUS, {}).get("children")


@pytest.fixture()
def make_app(catalog, tmp_path):
    def make(**settings):
        return create_app(Settings(jobs_dir=tmp_path / "jobs", **settings), catalog)
    return make


def test_a_job_result_arrives(make_app):
    page = Page(make_app())
    page.click(SMALL)
    code, body = page.poll_until_final()
    assert code == 200 and len(body["response"][ids.N1_RESULT]["data"]["rows"]) == 19


def test_a_handle_that_does_not_verify_is_a_message_not_a_silent_204(make_app, tmp_path):
    app = make_app()
    page = Page(app)
    page.click(SMALL)
    # handles signed with another secret: what a poll carries after the secret changed under
    # it (before: a worker's own random secret after a Redis outage, or a reset jobs folder)
    import hashlib
    import hmac

    def resign(handle: str) -> str:
        value = handle.rpartition("~")[0]
        return f"{value}~{hmac.new(b'another secret', value.encode(), hashlib.sha256).hexdigest()}"

    resp = page.poll(cacheKey=resign(page.handles["cacheKey"]), job=resign(page.handles["job"]))
    assert resp.status_code == 200  # was: 204, and the page kept "Runs in the background"
    body = resp.get_json()
    assert "response" in body  # the poll chain ends, the Run button comes back
    assert "job handle is not valid on this server" in status_of(body)


def test_workers_share_one_signing_secret_and_a_configured_one_wins(make_app, tmp_path):
    a, b = make_app(), make_app()  # two web workers of one host
    assert a._get_signing_secret() == b._get_signing_secret()
    assert (tmp_path / "jobs" / SECRET_FILE).stat().st_mode & 0o077 == 0
    # a handle signed by one worker verifies on the other
    page_a = Page(a)
    page_a.click(SMALL)
    page_b = Page(b)
    page_b.end_id, page_b.handles, page_b.store = page_a.end_id, page_a.handles, SMALL
    code, body = page_b.poll_until_final()
    assert code == 200 and body["response"][ids.N1_RESULT]["data"]["rows"]
    c = make_app(secret_key="configured-secret-for-all-hosts")
    assert c._get_signing_secret() == b"configured-secret-for-all-hosts"
    assert "configured" not in repr(c.server.config["ANYCAST_SETTINGS"])


def test_a_killed_job_process_is_reported_within_a_second(make_app):
    page = Page(make_app())
    page.click(HEAVY)
    pid = int(page.job)
    assert psutil.pid_exists(pid)
    os.kill(pid, signal.SIGKILL)
    t0 = time.monotonic()
    code, body = page.poll_until_final(timeout=10)
    assert time.monotonic() - t0 < 2
    assert code == 200  # was: 204 and nothing on screen
    assert "stopped without a result" in status_of(body)


def test_cancel_is_said_as_such(make_app):
    app = make_app()
    page = Page(app)
    page.click(HEAVY)
    app._background_manager.terminate_job(page.job)  # what Dash's cancel callback does
    code, body = page.poll_until_final(timeout=10)
    assert code == 200 and status_of(body) == "Cancelled: the analysis was stopped."


def test_an_exception_in_the_job_is_reported(make_app, monkeypatch):
    from dashboard.services import capacity

    def boom(*args, **kwargs):
        raise RuntimeError("the disk ate the latency table")

    # the job is a fork of this process: it runs the patched analysis (the callback's
    # services.capacity.run_n1 calls it)
    monkeypatch.setattr(capacity, "n_minus_one_analysis", boom)
    page = Page(make_app())
    page.click(SMALL)
    code, body = page.poll_until_final(timeout=20)
    assert code == 200  # was: a 500 (BackgroundCallbackError) and nothing on screen
    assert status_of(body).startswith("The analysis failed: the disk ate the latency table")


def test_jobs_beyond_the_cap_are_told_busy_and_start_nothing(make_app):
    app = make_app(jobs_max=1)
    first, second = Page(app), Page(app)
    first.click(HEAVY)
    before = len(psutil.Process().children())
    second.click(SMALL)
    assert len(psutil.Process().children()) == before  # no second job process
    code, body = second.poll_until_final(timeout=5)
    assert code == 200
    assert status_of(body).startswith("Busy: 1 job ahead of yours (this server runs at most 1")
    code, body = first.poll_until_final(timeout=60)  # the running one is not disturbed
    assert body["response"][ids.N1_RESULT]["data"]["rows"]
    second.click(SMALL)  # its slot is free again
    code, body = second.poll_until_final()
    assert body["response"][ids.N1_RESULT]["data"]["rows"]


def test_healthz_reports_an_unwritable_jobs_folder(make_app, tmp_path):
    app = make_app()
    client = app.server.test_client()
    health = client.get("/healthz").get_json()
    assert health["status"] == "ok" and health["jobs"] == {
        "backend": "diskcache", "ok": True, "max_jobs": 2, "running": 0}
    # the folder can no longer take a file (here: it is gone and a file took its name; a full
    # disk or a read-only mount fail the same probe write)
    jobs = tmp_path / "jobs"
    for p in jobs.iterdir():
        p.unlink()
    jobs.rmdir()
    jobs.write_text("not a folder")
    # the folder is probed at most every HEALTH_PROBE_S seconds per process (a probe writes and
    # fsyncs a file; /healthz is polled often): wait for the next probe, as a monitor would
    deadline = time.monotonic() + DiskcacheJobs.HEALTH_PROBE_S + 5
    health = client.get("/healthz").get_json()
    while health["status"] != "degraded" and time.monotonic() < deadline:
        time.sleep(0.2)
        health = client.get("/healthz").get_json()
    assert health["status"] == "degraded" and not health["jobs"]["ok"]
    assert "jobs folder not writable" in health["jobs"]["problem"]
    # and a click says so in the page instead of starting a job that cannot report
    page = Page(app)
    page.click(SMALL)
    code, body = page.poll_until_final(timeout=5)
    assert code == 200 and "background job store cannot be reached" in status_of(body)


def test_two_clicks_on_the_same_scenario_each_get_their_result(make_app):
    # Dash keyed a job's result by a hash of the callback and its arguments: the first poll to
    # find it deleted it and stopped the other job, which then ended without a result (4 of 8
    # identical clicks in tests/serving/jobs_load.py before the fix).
    app = make_app()
    a, b = Page(app), Page(app)
    a.click(SMALL)
    b.click(SMALL)
    assert a.handles["cacheKey"] != b.handles["cacheKey"]
    for page in (a, b):
        code, body = page.poll_until_final()
        assert code == 200 and body["response"][ids.N1_RESULT]["data"]["rows"], body


def test_a_new_click_from_the_same_page_supersedes_its_running_job(make_app):
    # A hand-made request need not name the page's old job (the renderer's oldJob): the server
    # stops it anyway, so one page holds one job slot at most.
    app = make_app(jobs_max=1)
    page = Page(app)
    page.click(HEAVY)
    first = int(page.job)
    first_handles = dict(page.handles)
    page.click(HEAVY)  # the same page again, without oldJob
    second = int(page.job)
    assert second != first  # not "Busy": its own previous job made room
    assert not psutil.pid_exists(first) or psutil.Process(first).status() == psutil.STATUS_ZOMBIE
    code, body = page.poll_until_final()
    assert body["response"][ids.N1_RESULT]["data"]["rows"]
    page.handles = first_handles
    code, body = page.poll_until_final(timeout=5)
    assert status_of(body) == "Cancelled: the analysis was stopped."


def test_concurrent_healthz_probes_never_report_a_healthy_folder_as_unwritable(make_app):
    """Under the threaded worker several /healthz run at once in one process; their probe files
    had one name per process, so one thread's unlink made another's fail ("No such file or
    directory": a false "degraded"). And a probe (a written, fsynced file) runs at most every
    HEALTH_PROBE_S seconds per process, however often /healthz is asked."""
    import threading

    from dashboard import jobs

    app = make_app()
    manager = app._background_manager
    calls = []
    real = jobs.jobs_dir_problem

    def counting(path):
        calls.append(1)
        return real(path)

    jobs.jobs_dir_problem = counting
    try:
        client_results = []

        def ask() -> None:
            with app.server.test_client() as c:
                for _ in range(20):
                    client_results.append(c.get("/healthz").get_json()["status"])

        threads = [threading.Thread(target=ask) for _ in range(8)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    finally:
        jobs.jobs_dir_problem = real
    assert set(client_results) == {"ok"}, sorted(set(client_results))
    assert len(calls) <= 2  # 160 answers, one probe (two if the run crossed the 5 s mark)
    # and probing itself is safe from many threads at once (distinct probe files)
    problems = []
    threads = [threading.Thread(target=lambda: problems.append(
        real(__import__("pathlib").Path(manager.handle.directory)))) for _ in range(16)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert problems == [None] * 16
