"""Real servers on 127.0.0.1 for the serving tests: redis-server and gunicorn.

Each process is started with its own pidfile / Popen handle in a temporary directory and stopped
by that pid, never by name. redis-server is installed by ``make test`` (Debian package); the
tests skip with a clear reason only when it is truly absent.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from tests.conftest import ROOT

REDIS_SERVER = shutil.which("redis-server")
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 20.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout} s")


@dataclass
class RedisServer:
    """A redis-server we own (a child process, pidfile in a temp dir), stopped by its pid and
    restartable on the same port."""

    port: int
    workdir: Path
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def start(self) -> None:
        assert REDIS_SERVER
        # Foreground child (not --daemonize) so that we reap it ourselves when it exits.
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--daemonize", "no",
             "--pidfile", str(self.workdir / "redis.pid"), "--dir", str(self.workdir),
             "--save", "", "--appendonly", "no", "--logfile", str(self.workdir / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port, timeout=10, proc=self.proc)

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:  # pragma: no cover
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        self.proc = None

    def client(self):
        import redis

        return redis.Redis.from_url(self.url, socket_timeout=2)


@pytest.fixture()
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed (make test installs it: apt-get install "
                    "redis-server)")
    server = RedisServer(port=free_port(), workdir=tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Gunicorn:
    proc: subprocess.Popen
    port: int
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:  # pragma: no cover
                self.proc.kill()
                self.proc.wait(timeout=5)


def start_gunicorn(command: str, env: dict[str, str], log: Path, port: int) -> Gunicorn:
    """Run a gunicorn command line through the shell (as a Procfile runner does), with the venv's
    bin first on PATH; ``exec`` makes the Popen pid gunicorn's master."""
    full_env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}  # only if asked for
    full_env.update(env)
    full_env["PATH"] = f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    out = open(log, "wb")
    proc = subprocess.Popen(["bash", "-c", "exec " + command], cwd=ROOT, env=full_env,
                            stdout=out, stderr=subprocess.STDOUT)
    g = Gunicorn(proc=proc, port=port, log=log)
    try:
        wait_for_port(port, timeout=60, proc=proc)
    except Exception:
        g.stop()
        raise RuntimeError(f"gunicorn did not start: {log.read_text()[-2000:]}") from None
    return g
