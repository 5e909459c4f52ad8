"""Servers the benchmarks start: the Procfile's ``web:`` command (or another gunicorn command
line) on a free loopback port, with this checkout's code, and stopped by its own pid."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def procfile_command(root: Path = ROOT) -> str:
    """The Procfile's web command (of the checkout at ``root``), bound to 127.0.0.1 instead of
    every interface."""
    for line in (root / "Procfile").read_text().splitlines():
        if line.startswith("web:"):
            return line[len("web:"):].strip().replace("0.0.0.0:", "127.0.0.1:")
    raise SystemExit("Procfile has no web: process")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(command: str, port: int, log: Path, env: dict[str, str] | None = None,
          root: Path = ROOT) -> subprocess.Popen:
    """``command`` (a shell command line, e.g. :func:`procfile_command`) with ``PORT=port``, the
    checkout at ``root`` (default: this one; another, e.g. a baseline worktree, to measure its
    code) as working directory and first on ``PYTHONPATH``, the venv's scripts on ``PATH`` and no
    ``REDIS_URL``; output to ``log``. A ``PYTHONPATH`` of the caller's follows the checkout.
    Returns at once: see :func:`wait_healthy`."""
    inherited = os.environ.get("PYTHONPATH")  # kept after the checkout (e.g. an extra package)
    full = {**{k: v for k, v in os.environ.items() if k != "REDIS_URL"}, **(env or {}),
            "PORT": str(port),
            "PYTHONPATH": str(root) + (os.pathsep + inherited if inherited else ""),
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.Popen(["bash", "-c", "exec " + command], cwd=root, env=full,
                            stdout=open(log, "wb"), stderr=subprocess.STDOUT)


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 90) -> None:
    """Until ``url`` (e.g. ``.../healthz``) answers 200; ``SystemExit`` if the server exits or
    does not answer within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{url} not ready after {timeout} s")


def stop(proc: subprocess.Popen, timeout: float = 40) -> None:
    """SIGTERM (gunicorn's graceful stop), then SIGKILL after ``timeout`` seconds."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
