"""Background callbacks (N-1 analysis) under gunicorn with several workers: the job runs in a
child process of one worker, and the progress/result polls (spread over the workers) find it in
the shared jobs folder."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from dashboard import ids
from tests.conftest import ROOT
from tests.serving.conftest import VENV_BIN, free_port, start_gunicorn
from tests.serving.test_gunicorn import local_command


@pytest.mark.e2e
def test_n1_background_job_under_gunicorn(dash_br, tmp_path: Path):
    port = free_port()
    jobs = tmp_path / "jobs"
    server = start_gunicorn(local_command(), {
        "PORT": str(port), "WEB_CONCURRENCY": "2", "ANYCAST_JOBS_DIR": str(jobs)},
        tmp_path / "gunicorn.log", port)
    try:
        d = dash_br.driver
        d.get(f"http://127.0.0.1:{port}/?clients=48.8566,2.3522,Paris,300;35.6895,139.6917,"
              "Tokyo,900;-33.87,151.21,Sydney,50&capacity=*:0.5")
        WebDriverWait(d, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".view-tab"))
        d.find_element(By.CSS_SELECTOR, f"#{ids.VIEW_TABS} .view-tab:nth-child(2)").click()
        WebDriverWait(d, 30).until(
            lambda d: "Gbps" in d.find_element(By.ID, ids.CAPACITY_KPIS).text)
        d.find_element(By.ID, ids.N1_RUN).click()
        WebDriverWait(d, 60).until(lambda d: "Done" in d.find_element(By.ID, ids.N1_STATUS).text)
        script = (f"return Array.from(document.querySelectorAll("
                  f"'#{ids.N1_TABLE} td[data-dash-column=\"pop_id\"]'))"
                  ".map(td => td.innerText.trim())")
        WebDriverWait(d, 20).until(lambda d: len(d.execute_script(script)) == 19)
        cells = d.execute_script(script)
        assert set(cells) >= {"NRT", "CDG", "SYD"}
        assert "Computed" in d.find_element(By.ID, ids.N1_NOTE).text
        assert any(jobs.iterdir())  # the diskcache folder the workers share
    finally:
        server.stop()
    log = server.log.read_text()
    assert "Traceback" not in log and "Booting worker" in log


@pytest.mark.slow
def test_a_read_only_jobs_folder_stops_start_up_with_one_line(tmp_path: Path):
    """Issue 13 finding 11: was a sqlite3 traceback and exit 1. The folder is made read-only
    for real: a read-only bind mount in a private mount namespace when we are root (root
    ignores permission bits), permission bits otherwise."""
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    command = "exec " + local_command()
    if os.geteuid() == 0:
        if shutil.which("unshare") is None:
            pytest.skip("root without unshare(1): cannot make a folder read-only")
        command = (f"mount --bind {jobs} {jobs} && mount -o remount,bind,ro {jobs} && "
                   + command)
        argv = ["unshare", "--mount", "bash", "-c", command]
    else:
        jobs.chmod(0o555)
        argv = ["bash", "-c", command]
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update(PORT=str(free_port()), ANYCAST_JOBS_DIR=str(jobs),
               PATH=f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=90)
    log = proc.stdout + proc.stderr
    if "mount" in log.split(":", 1)[0]:  # pragma: no cover - no mount namespaces here
        pytest.skip(f"cannot mount read-only: {log[:200]}")
    assert proc.returncode == 4, log[-2000:]
    line = (f"anycast-dashboard: cannot start: the background jobs folder {jobs} "
            "(ANYCAST_JOBS_DIR) is not writable: Read-only file system; set ANYCAST_JOBS_DIR to "
            "a writable folder")
    if os.geteuid() != 0:
        line = line.replace("Read-only file system", "Permission denied")
    assert log.count(line) == 1, log[-2000:]
    assert "Traceback" not in log and "Booting worker" not in log
