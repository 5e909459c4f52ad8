"""Admission control for heavy requests (issue 13, finding 3): a few big scenarios must not
starve everyone else.

Why: a results update for 50,000 clients plus the 25,000-city set costs 4-5 s of CPU on its own
(``benchmarks/hostile_load.py``); two clients looping such in-cap requests kept both cores busy
and pushed ``/healthz`` to a median of 7.1 s under the sync workers, and a light map update to
a p90 of ~1 s under threads. Here heavy requests pass through a small number of **slots** shared
by all workers of the server, so the rest of the machine keeps serving light requests.

What is heavy (measured, ``docs/reliability.md`` "Slow clients and heavy work"): the work of a
request grows with the clients it carries, and they are all in its body -- ~73 bytes per client
in a Dash callback body (the scenario store), ~25 per client in a CSV sent to the API. A
callback with 1,000 clients (73 kB) takes ~0.2 s, 5,000 (365 kB) ~0.4 s, 20,000 ~1.1 s, 50,000
4-5 s. So a **POST to** ``/_dash-update-component`` **or** ``/api/v1/assign`` **whose body is
over** :data:`HEAVY_BODY_BYTES` (64 KiB: ~900 callback or ~2,600 CSV clients), or whose length
is not announced (chunked), is heavy. Everything else -- the page, scripts, ``/healthz``, the
small API calls, callbacks of scenarios under ~900 clients, demand sets named by key (the
25,000-city set is ~0.2 s once its ranking is built) -- never waits here.

How: ``ANYCAST_HEAVY_SLOTS`` slots (default 1) are lock files in a directory made when the app
is created; ``flock`` on them is shared by every process that inherits the directory name --
with gunicorn's ``--preload`` (the Procfile) that is all workers of the server; without it each
worker has its own slots. The kernel releases a slot when its holder dies, so a killed worker
never leaks one. A heavy request waits up to :data:`WAIT_S` for a slot, in arrival order within
its process (one process holds or waits for at most :data:`MAX_HEAVY_PER_PROCESS` heavy requests,
its threads less :data:`LIGHT_RESERVE`, so threads stay free for light requests); then it gets a
JSON 503 with ``Retry-After`` that the page shows as a notice
(``assets/busy_notice.js``) and API clients can honour.

Time: a heavy request's own work is bounded by the caps on what it may carry
(``Settings.max_clients``, ``max_upload_bytes``) and by this gate (it never shares the CPU
with more than ``slots - 1`` other heavy requests); its wait is bounded by :data:`WAIT_S`. Under
the Procfile's threaded worker a long request cannot get its worker killed (the worker's event
loop sends the heartbeat, not the request): a request over gunicorn's ``timeout`` still answers.
"""

from __future__ import annotations

import atexit
import fcntl
import io
import json
import logging
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from dash import Dash
from flask import Response, g, request

from dashboard.settings import Settings

log = logging.getLogger(__name__)

#: Body size over which a callback or API request is heavy (bytes); see the module doc.
HEAVY_BODY_BYTES = 64 * 1024
#: Paths whose POST bodies carry client lists (the Dash callback endpoint and the bulk API).
HEAVY_PATHS = ("/_dash-update-component", "/api/v1/assign")
#: Paths heavy whatever their body: ``/api/v1/candidates`` ranks up to 2,000 candidate sites
#: against the 34,006-city demand (seconds of CPU per uncached query; docs/planning.md).
ALWAYS_HEAVY_PATHS = ("/api/v1/candidates",)
#: Longest a heavy request waits for a slot (seconds). One click on the page fires a fixed
#: fan-out of ~10-15 callbacks, and with more than ~900 clients every one that carries the
#: scenario is heavy: a browser sends them over its 6 connections (Chrome's limit per host), so a
#: request may queue behind 5 of the same user's and 2 of an attacker's, each up to ~2-4 s at
#: the client cap on a loaded 2-core machine. 5 s refused parts of a 2,000-client user's own
#: click (docs/reliability.md, "A single user's burst"); 30 s serves it and still ends a wait.
WAIT_S = 30.0
#: Threads of a worker kept for light requests: heavy requests of one process (holding a slot or
#: waiting for one) never take more than ``threads - LIGHT_RESERVE`` of its threads.
LIGHT_RESERVE = 2
#: Heavy requests one process may hold or wait for at once (the Procfile's workers have 8
#: threads: 8 - :data:`LIGHT_RESERVE`); :func:`set_worker_threads` derives it from the real
#: thread count. 6 is also a browser's connection limit per host, so one user's burst fits in
#: one process; more are refused at once (the rest of the threads stay free for light requests).
MAX_HEAVY_PER_PROCESS = 6
#: Retry-After sent with a refusal (seconds): about one heavy request's time.
RETRY_AFTER_S = 5
_POLL_S = 0.02
#: WSGI environ key set by :class:`BodyLimit` for a body over its limit (value: the limit).
TOO_LARGE = "anycast.body_too_large"


_held = 0  # heavy slots held by this process
_held_lock = threading.Lock()
_watchers: list[Callable[[int, int], None]] = []


def watch_heavy(callback: Callable[[int, int], None]) -> None:
    """Call ``callback(held, slots)`` (from the request's thread) whenever this process takes or
    frees a heavy slot. The gunicorn worker uses it to leave new connections to the other
    workers while it computes a heavy request (``dashboard.gunicorn_worker``)."""
    _watchers.append(callback)


def _held_changed(delta: int, slots: int) -> None:
    global _held
    with _held_lock:
        _held += delta
        held = _held
    for callback in list(_watchers):
        try:
            callback(held, slots)
        except Exception:  # a watcher must never fail a request
            log.exception("heavy-slot watcher failed")


def is_heavy(method: str, path: str, content_length: int | None) -> bool:
    """Whether a request is heavy (see the module doc): a POST to a client-carrying endpoint with
    a body over :data:`HEAVY_BODY_BYTES`, or of unannounced length; and any request to an
    :data:`ALWAYS_HEAVY_PATHS` endpoint."""
    if path.endswith(ALWAYS_HEAVY_PATHS) and method in ("GET", "POST"):
        return True
    if method != "POST" or not path.endswith(HEAVY_PATHS):
        return False
    return content_length is None or content_length > HEAVY_BODY_BYTES


#: Slot descriptors this process holds now. A process forked while a request holds one -- the
#: N-1 analysis runs in a forked child (Dash's Diskcache manager) -- inherits the descriptor, and
#: an ``flock`` lasts until *every* descriptor of the open file is closed: the job would keep the
#: slot for its whole run (seen: sequential heavy requests refused "busy" during a job). Children
#: close their copies at once (:func:`_close_inherited_slots`).
_held_fds: set[int] = set()


def _close_inherited_slots() -> None:
    for fd in list(_held_fds):
        try:
            os.close(fd)
        except OSError:
            pass
    _held_fds.clear()


os.register_at_fork(after_in_child=_close_inherited_slots)


@dataclass
class Slots:
    """``count`` slots as lock files in ``directory`` (``flock``: per open file, so two threads
    of one process exclude each other too; released by the kernel if the holder dies; a forked
    child's copy is closed at the fork)."""

    directory: Path
    count: int

    def try_acquire(self) -> int | None:
        """An open, locked slot file descriptor, or None when every slot is taken."""
        for i in range(self.count):
            fd = os.open(self.directory / f"slot-{i}", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC,
                         0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            _held_fds.add(fd)
            return fd
        return None

    @staticmethod
    def release(fd: int) -> None:
        _held_fds.discard(fd)
        os.close(fd)  # closing the last descriptor of the open file drops its flock


_per_process = MAX_HEAVY_PER_PROCESS


def set_worker_threads(threads: int) -> None:
    """Size this process's heavy budget from its thread count (called by ``gunicorn.conf.py``'s
    ``post_fork``): ``threads - LIGHT_RESERVE`` heavy requests at most, at least 1."""
    global _per_process
    _per_process = max(1, threads - LIGHT_RESERVE)


class Admission:
    """The gate of one app (one per :func:`init_admission` call).

    Heavy requests of one process wait in arrival order (first come, first served): only the
    oldest waiter polls the slots, so a burst of one user's callbacks is served in the order the
    page sent them and no request of a burst starves while later ones pass. Between processes
    the slot goes to whichever process's oldest waiter polls first.
    """

    def __init__(self, slots: Slots, wait_s: float = WAIT_S, max_heavy: int | None = None):
        self.slots = slots
        self.wait_s = wait_s
        self._max_heavy = max_heavy  # None: this process's budget (set_worker_threads)
        self._in_process = 0  # heavy requests of this process holding or waiting for a slot
        self._queue: list[object] = []  # waiting requests, oldest first
        self._cond = threading.Condition()

    @property
    def max_heavy(self) -> int:
        return self._max_heavy if self._max_heavy is not None else _per_process

    def acquire(self) -> int | None:
        """A slot within ``wait_s``, or None (busy: the wait ran out, or this process already
        has ``max_heavy`` heavy requests). Call :meth:`release` with the slot when done."""
        ticket = object()
        with self._cond:
            if self._in_process >= self.max_heavy:
                return None
            self._in_process += 1
            self._queue.append(ticket)
        deadline = time.monotonic() + self.wait_s
        fd: int | None = None
        try:
            while True:
                with self._cond:
                    head = self._queue[0] is ticket
                if head:
                    fd = self.slots.try_acquire()
                    if fd is not None:
                        return fd
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                with self._cond:  # woken when the head leaves; polls for other processes
                    self._cond.wait(min(_POLL_S, remaining))
        finally:
            with self._cond:
                self._queue.remove(ticket)
                if fd is None:  # refused (or failed): it no longer counts against the budget
                    self._in_process -= 1
                self._cond.notify_all()

    def release(self, fd: int) -> None:
        """Give back a slot from :meth:`acquire`."""
        Slots.release(fd)
        with self._cond:
            self._in_process -= 1
            self._cond.notify_all()


def busy_response(slots: int) -> Response:
    """The JSON 503 of a refused heavy request (the page shows ``error`` as a notice)."""
    message = (f"The server is busy with other large scenarios (it works on {slots} at a time); "
               f"this update was not applied. Try again in {RETRY_AFTER_S} s.")
    return Response(json.dumps({"error": message, "retry_after_s": RETRY_AFTER_S}), status=503,
                    mimetype="application/json",
                    headers={"Retry-After": str(RETRY_AFTER_S), "Cache-Control": "no-store",
                             "X-Anycast-Busy": "heavy"})


class BodyLimit:
    """WSGI middleware: request bodies over their limit become a JSON 413 (issue 13, finding 12).

    Werkzeug enforces ``MAX_CONTENT_LENGTH`` only when a body is read, and a *chunked* body
    (no ``Content-Length``) over it surfaced as Dash's "body is not JSON" 400, or as Werkzeug's
    HTML 413 on the page's endpoints. Here, before any app code runs:

    * a ``Content-Length`` over the limit is refused without reading the body;
    * a chunked body is read up to the limit (+1 byte) and either refused or handed on as a
      plain body of known length (so the heavy-request check below sees its real size).

    The refusal itself is a JSON 413 made by :func:`init_admission`'s first request hook (the
    app's security headers then apply to it). ``limit_for(path)`` gives the limit in bytes.
    """

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]],
                 limit_for: Callable[[str], int]) -> None:
        self.wsgi_app = wsgi_app
        self.limit_for = limit_for

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        length = environ.get("CONTENT_LENGTH") or ""
        chunked = "chunked" in (environ.get("HTTP_TRANSFER_ENCODING") or "").lower()
        if length or chunked:
            limit = self.limit_for(environ.get("PATH_INFO") or "/")
            if length:
                try:
                    too_large = int(length) > limit
                except ValueError:
                    too_large = False  # Werkzeug treats a malformed length as no body
            else:
                data = _read_at_most(environ["wsgi.input"], limit + 1)
                too_large = len(data) > limit
                if not too_large:
                    environ["wsgi.input"] = io.BytesIO(data)
                    environ["CONTENT_LENGTH"] = str(len(data))
                    environ.pop("HTTP_TRANSFER_ENCODING", None)
                    environ["wsgi.input_terminated"] = False
            if too_large:
                environ[TOO_LARGE] = limit
                environ["wsgi.input"] = io.BytesIO(b"")
                environ["CONTENT_LENGTH"] = "0"
                environ.pop("HTTP_TRANSFER_ENCODING", None)
        return self.wsgi_app(environ, start_response)


def _read_at_most(stream: Any, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = stream.read(min(n - len(buf), 1 << 20))
        if not chunk:
            break
        buf += chunk
    return bytes(buf)


def too_large_response(limit: int) -> Response:
    return Response(json.dumps({"error": f"request body larger than the limit of {limit} bytes"}),
                    status=413, mimetype="application/json",
                    headers={"Cache-Control": "no-store"})


def _slot_directory() -> Path:
    """A fresh directory for the lock files, removed at exit by the process that made it (the
    gunicorn master under ``--preload``; forked workers inherit the handler and skip it)."""
    directory = Path(tempfile.mkdtemp(prefix="anycast-eip-heavy-"))
    owner = os.getpid()

    def remove() -> None:
        if os.getpid() == owner:
            shutil.rmtree(directory, ignore_errors=True)

    atexit.register(remove)
    return directory


def init_admission(app: Dash, settings: Settings) -> Admission:
    """Gate heavy requests of ``app.server`` and refuse oversize bodies with a JSON 413 (call
    once per app; the hook is put first, so that a refused request costs nothing else)."""
    gate = Admission(Slots(_slot_directory(), settings.heavy_slots))
    server = app.server

    def admit() -> Response | None:
        limit = request.environ.get(TOO_LARGE)
        if limit is not None:
            return too_large_response(limit)
        if not is_heavy(request.method, request.path, request.content_length):
            return None
        fd = gate.acquire()
        if fd is None:
            log.warning("heavy request refused (all %d slots busy): %s %s, %s bytes",
                        settings.heavy_slots, request.method, request.path,
                        request.content_length)
            return busy_response(settings.heavy_slots)
        g.anycast_heavy_slot = fd
        _held_changed(+1, settings.heavy_slots)
        return None

    def release(_exc: BaseException | None) -> None:
        fd = g.pop("anycast_heavy_slot", None)
        if fd is not None:
            gate.release(fd)
            _held_changed(-1, settings.heavy_slots)

    def body_limit(path: str) -> int:
        # The API's bodies are the upload itself; a callback carries it base64-encoded plus the
        # scenario (dashboard.api sets MAX_CONTENT_LENGTH, read here at request time).
        if path.startswith("/api/"):
            return settings.max_upload_bytes
        return server.config.get("MAX_CONTENT_LENGTH") or settings.max_upload_bytes

    server.wsgi_app = BodyLimit(server.wsgi_app, body_limit)  # type: ignore[method-assign]
    server.before_request_funcs.setdefault(None, []).insert(0, admit)
    server.teardown_request(release)
    server.extensions["anycast_admission"] = gate
    return gate
