"""Background jobs (Dash background callbacks) for heavy runs such as the N-1 analysis.

Who runs them is :attr:`Settings.jobs` (``ANYCAST_JOBS``):

``auto`` (default)
    Celery when ``REDIS_URL`` is set, Diskcache otherwise.
``diskcache``
    Dash's :class:`~dash.DiskcacheManager`. A job runs in a child process of the web worker that
    received the request; its progress and result go to a ``diskcache`` directory on local disk
    (:attr:`Settings.jobs_dir`, ``ANYCAST_JOBS_DIR``). Every gunicorn worker on the host opens the
    same directory, so a poll that lands on another worker than the one that started the job
    still finds the progress and the result, and Dash's signing secret for job handles is shared
    the same way (``DiskcacheManager.get_or_create_signing_secret``). Needs nothing else; one host.
``celery``
    :class:`CeleryJobs` (Dash's ``CeleryManager``): the web workers queue the job in Redis
    (``REDIS_URL`` is broker and result store), a separately run Celery worker
    (``celery -A dashboard.worker:celery_app worker``, Procfile ``worker:``) computes it and
    writes progress and result back to Redis, where any web worker on any host finds them.

Without a Celery worker a queued job cannot run. Dash would then poll forever with nothing on
screen; :class:`CeleryJobs` says so instead: with no worker running it gives up after
:data:`NOTICE_AFTER_S`, with busy workers the status line shows the job's place in the queue and
it gives up after :data:`QUEUE_TIMEOUT_S` (the Run button comes back, the message expires from
the queue so a worker started later does not run it; ``ANYCAST_JOBS_QUEUE_TIMEOUT``).

Both managers (:class:`DiskcacheJobs`, :class:`CeleryJobs`) bound the jobs at once
(``ANYCAST_JOBS_MAX``), give every click its own result key, sign job handles with one secret
read at each use (:func:`install`), and end every run that stops without a result -- busy,
cancelled, failed, lost, no worker, job store unreachable, handle not valid -- with a message in
the status line of its callback (:data:`NOTICE_TARGETS`) at the next poll, instead of Dash's
silent 204.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from dash import CeleryManager, DiskcacheManager
from dash.background_callback.managers.celery_manager import _make_job_fn

from dashboard import ids
from dashboard.settings import Settings, SettingsError

#: Seconds a finished job's result stays stored if nobody fetches it (diskcache and Redis).
JOB_EXPIRE_S = 3600
#: Upper bound of the job directory's size (diskcache evicts least recently used entries).
JOB_CACHE_BYTES = 256 * 1024 * 1024

#: Celery: a job still queued after this many seconds gets a "waiting for a worker" notice.
NOTICE_AFTER_S = 3.0
#: Celery: a job no worker has started after this many seconds is given up (and expires from
#: the queue); default of ``Settings.jobs_queue_timeout_s`` (``ANYCAST_JOBS_QUEUE_TIMEOUT``). The
#: heaviest N-1 (34,000 demand points x 19 scenarios) takes ~3 s, so this leaves room for a long
#: line of queued jobs behind busy workers.
QUEUE_TIMEOUT_S = 120.0
#: Celery: hard limit of one job in the worker (the pool child is killed, the job fails).
JOB_TIME_LIMIT_S = 600
#: Celery: seconds to connect to / wait for Redis (broker and result store) before failing.
REDIS_CONNECT_TIMEOUT_S = 2.0
REDIS_SOCKET_TIMEOUT_S = 5.0
#: Celery: queue (and control exchange) name, so that the jobs never mix with another Celery app
#: on the same Redis.
QUEUE = "anycast-eip-jobs"

#: Where the "waiting for a worker" notices go: the status line of the N-1 card by default...
NOTICE_TARGET = (ids.N1_STATUS, "children")
#: ... and, per background callback (its output, as Dash names it in every request and poll),
#: that callback's own status line: "Where to add a PoP" (issue 20.2) has its own.
NOTICE_TARGETS: dict[str, tuple[str, str]] = {
    f"{ids.N1_RESULT}.data": NOTICE_TARGET,
    f"{ids.SITING_RESULT}.data": (ids.SITING_STATUS, "children"),
}

_RUNNING_STATES = ("PENDING", "RECEIVED", "STARTED", "RETRY", "PROGRESS")


def default_jobs_dir() -> Path:
    """``$TMPDIR/anycast-eip-jobs-<uid>``: shared by the workers of one user on one host."""
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"anycast-eip-jobs-{uid}"


def jobs_kind(settings: Settings) -> str:
    """``"celery"`` or ``"diskcache"``: what :func:`background_manager` builds for ``settings``."""
    if settings.jobs == "auto":
        return "celery" if settings.redis_url else "diskcache"
    if settings.jobs == "celery" and not settings.redis_url:
        raise SettingsError("ANYCAST_JOBS=celery needs REDIS_URL (the Celery broker and result "
                            "store)")
    if settings.jobs not in ("celery", "diskcache"):
        raise SettingsError(f"ANYCAST_JOBS={settings.jobs!r} is not one of auto, diskcache, "
                            "celery")
    return settings.jobs


def background_manager(settings: Settings):  # -> DiskcacheManager | CeleryJobs
    """The background callback manager of one app (imports Dash, diskcache, Celery lazily)."""
    if jobs_kind(settings) == "celery":
        return CeleryJobs(make_celery(settings.redis_url), expire=JOB_EXPIRE_S,
                          queue_timeout_s=settings.jobs_queue_timeout_s,
                          max_jobs=settings.jobs_max, secret=settings.secret_key)
    path = Path(settings.jobs_dir) if settings.jobs_dir else default_jobs_dir()
    return DiskcacheJobs(open_jobs_cache(path), expire=JOB_EXPIRE_S,
                         max_jobs=settings.jobs_max, secret=settings.secret_key)


def jobs_dir_problem(path: Path) -> str | None:
    """Why background jobs cannot write to ``path`` (None: they can).

    Writes and removes a small probe file: a folder that exists but is read-only (a read-only
    mount, another owner) or full only shows when a job writes its progress, too late to
    tell anyone."""
    probe = path / f".probe-{os.getpid()}-{threading.get_ident()}"  # threads probe at once
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(probe, "wb") as fh:
            fh.write(b"x" * 4096)
            fh.flush()
            os.fsync(fh.fileno())
        probe.unlink()
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    return None


def open_jobs_cache(path: Path):  # -> diskcache.Cache
    """The jobs folder's ``diskcache`` (progress, results, job slots); a folder the jobs cannot
    write is a configuration error (one line at start-up, exit 4), not a traceback."""
    import sqlite3

    import diskcache

    where = f"the background jobs folder {path} (ANYCAST_JOBS_DIR)"
    problem = jobs_dir_problem(path)
    if problem is None:
        try:
            return diskcache.Cache(str(path), size_limit=JOB_CACHE_BYTES)
        except (OSError, sqlite3.Error) as exc:
            problem = str(exc) or type(exc).__name__
    raise SettingsError(f"{where} is not writable: {problem}; set ANYCAST_JOBS_DIR to a "
                        "writable folder")


def make_celery(redis_url: str):  # -> celery.Celery
    """The Celery app of one dashboard app: ``redis_url`` is broker and result backend."""
    from celery import Celery

    app = Celery("anycast_eip_jobs", broker=redis_url, backend=redis_url, set_as_current=False)
    app.conf.update(
        task_serializer="json", result_serializer="json", accept_content=["json"],
        # Own queue and control exchange (Cancel, revoke): no mixing with another Celery app
        # on the same Redis.
        task_default_queue=QUEUE, control_exchange=QUEUE,
        # Dash's progress/result keys and Celery's task states expire from Redis.
        result_expires=JOB_EXPIRE_S,
        # STARTED tells a queued job from a running one (the "waiting for a worker" notice).
        task_track_started=True,
        task_time_limit=JOB_TIME_LIMIT_S,
        # Jobs are long: a worker takes one at a time, the rest stay queued for a free worker.
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        redis_backend_health_check_interval=30,
        # A Redis that is down or hung costs a click or a poll a few seconds, not a web worker
        # (no timeouts by default, and the result store retries 20 times).
        redis_socket_connect_timeout=REDIS_CONNECT_TIMEOUT_S,
        redis_socket_timeout=REDIS_SOCKET_TIMEOUT_S,
        result_backend_transport_options={"retry_policy": {
            "max_retries": 3, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}},
        broker_transport_options={"socket_connect_timeout": REDIS_CONNECT_TIMEOUT_S,
                                  "socket_timeout": REDIS_SOCKET_TIMEOUT_S},
    )
    return app


def _no_result_subscription(producer, task_id) -> None:
    """Replaces ``RedisBackend.on_task_call`` in the web workers (see ``call_job_fn``)."""


class _PrivateTasks:
    """What Dash's ``_make_job_fn`` uses of a Celery app (``backend``, ``task``), with
    ``shared=False`` tasks."""

    def __init__(self, app):
        self.backend = app.backend
        self._app = app

    def task(self, *args, **kwargs):
        return self._app.task(*args, shared=False, **kwargs)


# -- what every job manager adds to Dash's ---------------------------------------------------------

#: Diskcache: one job per this many seconds at most holds a reserved slot before its process
#: has a pid (a web worker killed between reserving and starting frees it after this).
SLOT_RESERVE_S = 30.0
#: Celery: a running job writes its heartbeat every BEAT_S; a job whose heartbeat is older than
#: BEAT_LOST_S has lost its worker (killed, out of memory, host gone).
BEAT_S = 1.0
BEAT_LOST_S = 5.0
#: Celery: a worker announces itself every WORKER_BEAT_S (dashboard/worker.py); none seen for
#: WORKER_LOST_S means no worker is running.
WORKER_BEAT_S = 2.0
WORKER_LOST_S = 6.0
#: Celery: after Redis failed to give the signing secret, seconds before asking it again.
SECRET_RETRY_S = 1.0
#: Redis keys (Celery mode).
ACTIVE_KEY = "anycast-eip-jobs-active"  # sorted set: job id -> time queued
WORKERS_KEY = "anycast-eip-jobs-workers"  # sorted set: worker name -> last heartbeat
#: Diskcache key of the running jobs of this host (job id -> time started).
SLOTS_KEY = "anycast-eip-job-slots"
#: File of the jobs folder that holds the signing secret of job handles (Diskcache mode).
SECRET_FILE = "signing-secret"

#: Job ids that are not jobs: the click was answered with a reason instead of a job.
BUSY, OUTAGE = "busy-", "outage-"

MESSAGES = {
    "handle": ("This run's job handle is not valid on this server any more (the server was "
               "restarted or its job store was reset), so its result cannot be fetched: run it "
               "again."),
    "lost": ("The analysis stopped without a result (its process ended: killed, or out of "
             "memory): run it again."),
    "cancelled": "Cancelled: the analysis was stopped.",
    "outage": ("The background job store cannot be reached ({why}), so this run's progress "
               "and result are lost: run it again in a moment."),
}


def _job_state() -> dict:
    """What the hooks of one poll learnt about its job (Dash calls get_result, job_running,
    get_updated_props in this order within one request)."""
    from flask import g, has_request_context

    if not has_request_context():
        return {}
    if not hasattr(g, "anycast_job"):
        g.anycast_job = {}
    return g.anycast_job


def _request_job() -> str | None:
    """The job of the poll being answered (its signed ``job`` handle, verified), or None."""
    from flask import has_request_context

    if not has_request_context():
        return None
    from dash._callback import _read_request_handles

    try:
        return _read_request_handles()[1]
    except Exception:  # noqa: BLE001 - no valid handle: nothing to look up
        return None


def _poll_handle_unverified(key) -> bool:
    """A poll whose signed handles did not verify (Dash then reads nothing: a silent 204)."""
    from flask import has_request_context, request

    return key is None and has_request_context() and bool(request.args.get("cacheKey"))


def _page_of_request(secret: bytes) -> str | None:
    """The page load (Dash's signed ``endId``) a click comes from, or None (no request, or a
    token that does not verify)."""
    from flask import has_request_context

    if not has_request_context():
        return None
    from dash._callback import get_request_end_id

    try:
        return get_request_end_id(secret)
    except Exception:  # noqa: BLE001 - no page: no per-page rule
        return None


def _request_output() -> str | None:
    """The output of the callback a click or poll is for (``"n1-result.data"``), or None."""
    from flask import has_request_context, request

    if not has_request_context():
        return None
    try:
        body = request.get_json(silent=True, cache=True)
    except Exception:  # noqa: BLE001 - not JSON: no callback
        return None
    out = body.get("output") if isinstance(body, dict) else None
    return out if isinstance(out, str) else None


def _page_key(page: str, output: str | None = None) -> str:
    """Key of a page's running job, per background callback: a new click supersedes the page's
    previous job *of the same callback* (the N-1 job keeps its key of before)."""
    if output is None or NOTICE_TARGETS.get(output) == NOTICE_TARGET:
        return f"anycast-eip-job-page-{page}"
    return f"anycast-eip-job-page-{page}-{output}"


def _busy_message(ahead: int, max_jobs: int, where: str) -> str:
    return (f"Busy: {ahead} job{'s' if ahead != 1 else ''} ahead of yours ({where} runs at most "
            f"{max_jobs} at a time), so yours was not started: run it again in a few seconds.")


class _Outcomes:
    """Shared by both managers: a notice in the status line for every way a job ends without a
    result (Dash ends such a poll with a 204 and leaves "Runs in the background" on screen).

    The notice travels as a side update, and the renderer applies a poll's progress *after*
    its side updates: a progress line the job wrote just before it was cancelled or died, read
    by the final poll, would overwrite the notice ("Cancelled" flashed, then the last progress
    text stayed: seen 1 run in 3). So ``get_progress`` returns nothing for a job that ended
    without a result."""

    notice_target: tuple[str, str] = NOTICE_TARGET

    def build_cache_key(self, fn, args, cache_args_to_ignore, triggered) -> str:
        """A fresh key per click. Dash hashes the callback's source and arguments, so two
        clicks on the same scenario (two users, or one in two tabs) shared one result slot:
        the first poll to find the result deleted it and stopped the other's job, which then
        ended without a result. Results are never reused by key here (no ``cache_by``), and
        hashing a 50,000-client scenario's repr per click is work for nothing."""
        import secrets

        return secrets.token_hex(32)

    def _with_notice(self, props: dict, notice: str | None) -> dict:
        if notice is None:
            return props
        target = NOTICE_TARGETS.get(_request_output() or "")
        cid, prop = self.notice_target if target in (None, NOTICE_TARGET) else target
        return {**props, cid: {**props.get(cid, {}), prop: notice}}

    def _note_outage(self, exc: BaseException) -> None:
        _job_state()["outage"] = type(exc).__name__


class DiskcacheJobs(_Outcomes, DiskcacheManager):
    """Dash's ``DiskcacheManager`` with bounded jobs and every outcome shown.

    * At most ``max_jobs`` job processes per host (``ANYCAST_JOBS_MAX``): a slot table in the
      shared jobs folder, pruned of dead pids; a click beyond it is answered "Busy: N jobs
      ahead of yours" instead of forking another ~400 MB process.
    * A job process that ended without a result (killed, out of memory), a jobs folder that
      cannot be written (full disk) and a handle that does not verify each end the run with
      a message in the status line, at the next poll (0.5 s).
    * The handle-signing secret is a file of the jobs folder (or ``ANYCAST_SECRET_KEY``), read
      at each use: a diskcache entry can be evicted, and a cached copy outlives a reset.
    """

    def __init__(self, cache, expire: int | None = None, *, max_jobs: int = 2,
                 secret: str | None = None):
        super().__init__(cache, expire=expire)
        self.max_jobs = max_jobs
        self._secret = secret.encode() if secret else None
        self._last_secret: bytes | None = None
        self._probe_lock = threading.Lock()
        self._probe: str | None = None
        self._probed_at = float("-inf")

    # -- the signing secret ---------------------------------------------------------------
    def signing_secret(self) -> bytes:
        if self._secret:
            return self._secret
        path = Path(self.handle.directory) / SECRET_FILE
        try:
            try:
                secret = path.read_bytes()
            except FileNotFoundError:
                import secrets

                tmp = path.with_name(f".{SECRET_FILE}-{os.getpid()}")
                tmp.write_bytes(secrets.token_hex(32).encode())
                os.chmod(tmp, 0o600)
                try:
                    os.link(tmp, path)  # atomic: the first writer wins, the others read it
                except FileExistsError:
                    pass
                finally:
                    tmp.unlink()
                secret = path.read_bytes()
        except OSError:
            secret = b""
        if len(secret) >= 32:
            self._last_secret = secret
            return secret
        if self._last_secret is None:  # unreadable folder: nothing can be signed for long
            import secrets

            self._last_secret = secrets.token_hex(32).encode()
        return self._last_secret

    def get_or_create_signing_secret(self, generate):
        return self.signing_secret()

    # -- slots ----------------------------------------------------------------------------
    def _live_slots(self, slots: dict) -> dict:
        import psutil

        now = time.time()
        live = {}
        for job, t in slots.items():
            if job.startswith("r-"):
                if now - t < SLOT_RESERVE_S:
                    live[job] = t
            else:
                try:
                    if psutil.Process(int(job)).status() != psutil.STATUS_ZOMBIE:
                        live[job] = t
                except (psutil.Error, ValueError):  # ended (or not a pid): the slot is free
                    pass
        return live

    def running_jobs(self) -> int:
        """Job processes running on this host now."""
        return len(self._live_slots(self.handle.get(SLOTS_KEY, {}) or {}))

    def call_job_fn(self, key, job_fn, args, context):
        import sqlite3
        import uuid

        token = f"r-{uuid.uuid4().hex}"
        page = _page_of_request(self.signing_secret())
        try:
            # One job per page: a new click supersedes the page's previous job even when the
            # request does not name it (Dash's oldJob; a hand-made request need not).
            old = self.handle.get(_page_key(page, _request_output())) if page else None
            if old is not None:
                self.terminate_job(old)
            with self.handle.transact():
                slots = self._live_slots(self.handle.get(SLOTS_KEY, {}) or {})
                if len(slots) >= self.max_jobs:
                    return f"{BUSY}{len(slots)}"
                slots[token] = time.time()
                self.handle.set(SLOTS_KEY, slots)
            problem = jobs_dir_problem(Path(self.handle.directory))
            if problem is not None:
                raise OSError(problem)
            pid = super().call_job_fn(key, job_fn, args, context)
            with self.handle.transact():
                slots = self.handle.get(SLOTS_KEY, {}) or {}
                slots.pop(token, None)
                slots[str(pid)] = time.time()
                self.handle.set(SLOTS_KEY, slots)
            if page:
                self.handle.set(_page_key(page, _request_output()), str(pid),
                                expire=JOB_EXPIRE_S)
        except (OSError, sqlite3.Error) as exc:
            reason = (exc.strerror if isinstance(exc, OSError) and exc.strerror
                      else str(exc) or type(exc).__name__)
            return f"{OUTAGE}{reason}"[:120]
        return pid

    # -- Dash's hooks ---------------------------------------------------------------------
    def terminate_job(self, job):
        if job is None or not str(job).isdigit():
            return
        try:  # a job stopped without a result was cancelled (Cancel, or a new click)
            self.handle.set(f"anycast-eip-job-cancelled-{job}", 1, expire=JOB_EXPIRE_S)
        except Exception:  # noqa: BLE001 - then it reads as lost
            pass
        super().terminate_job(job)

    def get_progress(self, key):
        import sqlite3

        try:
            job = _request_job()
            if (job is not None and job.isdigit() and not self.result_ready(key)
                    and (self.handle.get(f"anycast-eip-job-cancelled-{job}") is not None
                         or not DiskcacheManager.job_running(self, job))):
                return None  # ended without a result: its notice must not be overwritten
            return super().get_progress(key)
        except (OSError, sqlite3.Error) as exc:
            self._note_outage(exc)
            return None

    def get_result(self, key, job):
        import sqlite3

        state = _job_state()
        state["key"] = key
        try:
            result = super().get_result(key, job)
        except (OSError, sqlite3.Error) as exc:
            self._note_outage(exc)
            return self.UNDEFINED
        state["result"] = result is not self.UNDEFINED
        return result

    def job_running(self, job):
        state = _job_state()
        state["job"] = job = str(job) if job is not None else None
        if not job or not job.isdigit() or state.get("outage"):
            return False
        running = super().job_running(job)
        if not running and not state.get("result") and state.get("key"):
            # Finished between get_result and now: poll once more for its result.
            try:
                running = self.result_ready(state["key"])
            except Exception:  # noqa: BLE001 - the notice below says the store failed
                running = False
        state["running"] = running
        return running

    def get_updated_props(self, key):
        import sqlite3

        if _poll_handle_unverified(key):
            return self._with_notice({}, MESSAGES["handle"])
        try:
            props = super().get_updated_props(key) if key is not None else {}
        except (OSError, sqlite3.Error) as exc:
            self._note_outage(exc)
            props = {}
        return self._with_notice(props, self._notice())

    def _notice(self) -> str | None:
        state = _job_state()
        job = state.get("job") or ""
        if job.startswith(BUSY):
            return _busy_message(int(job[len(BUSY):]), self.max_jobs, "this server")
        if job.startswith(OUTAGE) or state.get("outage"):
            why = job[len(OUTAGE):] if job.startswith(OUTAGE) else state["outage"]
            return MESSAGES["outage"].format(why=f"jobs folder: {why}")
        if job.isdigit() and not state.get("running") and not state.get("result"):
            if self.handle.get(f"anycast-eip-job-cancelled-{job}") is not None:
                return MESSAGES["cancelled"]
            return MESSAGES["lost"]
        return None

    #: Seconds a ``/healthz`` probe of the jobs folder is reused: a probe writes and fsyncs a
    #: file, and ``/healthz`` is polled often (load balancers, monitors, anyone).
    HEALTH_PROBE_S = 5.0

    def _folder_problem(self) -> str | None:
        now = time.monotonic()
        with self._probe_lock:
            if now - self._probed_at > self.HEALTH_PROBE_S:
                self._probe = jobs_dir_problem(Path(self.handle.directory))
                self._probed_at = now
            return self._probe

    def health(self) -> dict:
        """``/healthz``: can jobs write their folder (probed at most every
        :attr:`HEALTH_PROBE_S` s per process), and how many run now."""
        problem = self._folder_problem()
        out = {"backend": "diskcache", "ok": problem is None, "max_jobs": self.max_jobs}
        if problem is not None:
            out["problem"] = f"jobs folder not writable: {problem}"
        else:
            out["running"] = self.running_jobs()
        return out

    def make_job_fn(self, fn, progress, key=None):
        return super().make_job_fn(_releasing_slot(fn, self.handle), progress, key)


def _releasing_slot(fn, cache):
    """``fn`` that frees its Diskcache slot when it ends (the slot table prunes dead pids too,
    this only makes the slot free at once)."""
    import functools

    @functools.wraps(fn)
    def job(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        finally:
            try:
                with cache.transact():
                    slots = cache.get(SLOTS_KEY, {}) or {}
                    if slots.pop(str(os.getpid()), None) is not None:
                        cache.set(SLOTS_KEY, slots)
            except Exception:  # noqa: BLE001 - pruned by pid later
                pass
    return job


def _beating(fn, celery_app):
    """``fn`` that writes a heartbeat for its Celery task while it runs, and leaves the active
    set when it ends, so that a poll tells a job whose worker died within BEAT_LOST_S."""
    import functools
    import threading

    @functools.wraps(fn)
    def job(*args, **kwargs):
        from celery import current_task

        task_id = current_task.request.id if current_task else None
        client = celery_app.backend.client
        stop = threading.Event()

        def beat():
            while True:
                try:
                    client.set(CeleryJobs._key("beat", task_id), "1", px=int(BEAT_LOST_S * 1000))
                except Exception:  # noqa: BLE001 - Redis down: the poll reports the outage
                    pass
                if stop.wait(BEAT_S):
                    return

        if task_id and client.exists(CeleryJobs._key("given_up", task_id)):
            # The page stopped waiting for this job (no worker took it in time, or none was
            # running) and said so; a worker that turns up before the message expires must not
            # run it anyway: nobody reads its result, and it would hold the worker's slot. (Dash's
            # task wrapper around this function records the empty result; nobody polls it.)
            logging.getLogger(__name__).warning(
                "Discarding given-up job %s: the page stopped waiting for it", task_id)
            return None
        if task_id:
            # The first beat before the "ran" mark: a poll between the two must not read a
            # job that ran and stopped beating.
            client.set(CeleryJobs._key("beat", task_id), "1", px=int(BEAT_LOST_S * 1000))
            client.set(CeleryJobs._key("ran", task_id), "1", ex=JOB_EXPIRE_S)
            threading.Thread(target=beat, daemon=True, name="anycast-job-beat").start()
        try:
            return fn(*args, **kwargs)
        finally:
            stop.set()
            if task_id:
                try:
                    client.zrem(ACTIVE_KEY, task_id)
                except Exception:  # noqa: BLE001 - pruned by age
                    pass
    return job


class CeleryJobs(_Outcomes, CeleryManager):
    """Dash's ``CeleryManager`` plus what an operator needs when no worker takes the job.

    * At most ``max_jobs`` jobs queued or running in all (``ANYCAST_JOBS_MAX``), in the order
      of the clicks: a click beyond it is answered "Busy: N jobs ahead of yours" at once, and a
      queued job shows how many are ahead of it.
    * No worker running (none announced itself within WORKER_LOST_S; dashboard/worker.py):
      the page says so after :data:`NOTICE_AFTER_S` and gives up; workers that are alive but
      busy get :data:`QUEUE_TIMEOUT_S` (the queued message expires at the same time, so a
      worker started later does not run it).
    * A running job writes a heartbeat: a worker killed during the job is reported within
      :data:`BEAT_LOST_S`; a job that failed in the worker says so; a Redis that cannot be
      reached during a poll ends the run with that message.
    * The signing secret of job handles is ``ANYCAST_SECRET_KEY`` or a Redis key without
      expiry, read at each use (a copy cached in a process outlived a Redis restart and
      made the workers disagree: handles then failed silently with a 204).
    """

    def __init__(self, celery_app, expire: int | None = None, *,
                 notice_after_s: float = NOTICE_AFTER_S,
                 queue_timeout_s: float = QUEUE_TIMEOUT_S,
                 notice_target: tuple[str, str] = NOTICE_TARGET,
                 max_jobs: int = 2, secret: str | None = None):
        self._backlog = True  # see register()
        super().__init__(celery_app, expire=expire)
        self._backlog = False
        self.notice_after_s = notice_after_s
        self.queue_timeout_s = queue_timeout_s
        self.notice_target = notice_target
        self.max_jobs = max_jobs
        self._secret = secret.encode() if secret else None
        self._last_secret: bytes | None = None
        self._secret_retry_at = 0.0

    def register(self, key, fn, progress):
        """Dash hands every manager every background callback of the process, including those
        of apps built before it (tests build many apps). A Celery task name is registered once
        and the first callable wins, so a second app's manager would run the first app's
        function (its catalog and settings). Register only what is defined after this manager,
        i.e. this app's callbacks, each once."""
        if self._backlog or key in self.func_registry:
            return
        super().register(key, fn, progress)

    def make_job_fn(self, fn, progress, key=None):
        # Dash's task factory, with tasks private to this Celery app: Celery "shares" decorated
        # tasks with every Celery app of the process by default, which again lets an earlier
        # app's function shadow this one's.
        return _make_job_fn(_beating(fn, self.handle), _PrivateTasks(self.handle), progress, key)

    # -- keys -------------------------------------------------------------------------------
    @property
    def _redis(self):
        return self.handle.backend.client

    @staticmethod
    def _key(fact: str, ident: str) -> str:
        """Redis key of one fact about a job: ``queued`` (time queued), ``of`` (Dash cache key
        -> job id), ``beat`` (heartbeat), ``cancelled``, ``ran`` (it beat at least once),
        ``given_up`` (the page stopped waiting: a worker that takes it later skips it)."""
        return f"anycast-eip-job-{fact}-{ident}"

    # -- the signing secret ---------------------------------------------------------------
    def signing_secret(self) -> bytes:
        if self._secret:
            return self._secret
        from redis.exceptions import RedisError

        secret = None
        if time.monotonic() >= self._secret_retry_at:
            try:
                self._redis.set(self.SIGNING_SECRET_KEY, self._new_secret(), nx=True)  # no expiry
                secret = self._redis.get(self.SIGNING_SECRET_KEY)
            except (RedisError, OSError) as exc:
                # Every page load signs with it: during an outage, ask Redis again only after
                # SECRET_RETRY_S (a hung Redis must not cost each page its socket timeout).
                self._secret_retry_at = time.monotonic() + SECRET_RETRY_S
                self._note_outage(exc)
        else:
            self._note_outage(ConnectionError("Redis unreachable (retrying)"))
        if secret:
            self._last_secret = secret
            return secret
        if self._last_secret is None:  # never reached Redis: jobs cannot run anyway
            self._last_secret = self._new_secret()
        return self._last_secret

    @staticmethod
    def _new_secret() -> bytes:
        import secrets

        return secrets.token_hex(32).encode()

    def get_or_create_signing_secret(self, generate):
        return self.signing_secret()

    # -- queueing ---------------------------------------------------------------------------
    def live_workers(self) -> int:
        """Celery workers that announced themselves within WORKER_LOST_S."""
        return int(self._redis.zcount(WORKERS_KEY, time.time() - WORKER_LOST_S, "+inf"))

    def _prune_active(self) -> None:
        self._redis.zremrangebyscore(
            ACTIVE_KEY, "-inf", time.time() - (self.queue_timeout_s + JOB_TIME_LIMIT_S + 30))

    def call_job_fn(self, key, job_fn, args, context):
        # Celery subscribes the sender to the task's result channel (Redis pub/sub) so that it
        # can wait for the result; Dash never waits, it polls the result store. Skipping it
        # saves a pub/sub connection per web worker, and with Redis down a click fails in
        # under a second instead of blocking the web worker through ~20 s of reconnects.
        self.handle.backend.on_task_call = _no_result_subscription
        import uuid

        from kombu.exceptions import OperationalError
        from redis.exceptions import RedisError

        job = str(uuid.uuid4())
        page = _page_of_request(self.signing_secret())
        try:
            # One job per page: a new click supersedes the page's previous job (see Diskcache).
            old = self._redis.get(_page_key(page, _request_output())) if page else None
            if old is not None:
                self.terminate_job(old.decode() if isinstance(old, bytes) else str(old))
            self._prune_active()
            self._redis.zadd(ACTIVE_KEY, {job: time.time()})
            ahead = self._redis.zrank(ACTIVE_KEY, job)
            if ahead is not None and ahead >= self.max_jobs:
                self._redis.zrem(ACTIVE_KEY, job)
                return f"{BUSY}{ahead}"
            job_fn.apply_async((key, self._make_progress_key(key), args, context),
                               task_id=job, expires=self.queue_timeout_s)
            ttl = int(self.queue_timeout_s + JOB_TIME_LIMIT_S + JOB_EXPIRE_S)
            self._redis.set(self._key("queued", job), repr(time.time()), ex=ttl)
            self._redis.set(self._key("of", key), job, ex=ttl)
            if page:
                self._redis.set(_page_key(page, _request_output()), job, ex=ttl)
        except (OperationalError, RedisError, OSError) as exc:
            # An outage of the job queue, not a bug: the first poll says so in the page (the
            # page keeps its state and the Run button comes back).
            return f"{OUTAGE}{type(exc).__name__}"
        return job

    def _queued_at(self, job: str) -> float | None:
        raw = self._redis.get(self._key("queued", job))
        try:
            return float(raw) if raw is not None else None
        except ValueError:
            return None

    def _state(self, job: str) -> tuple[str, float | None]:
        """(Celery state, seconds since queued or None if we did not queue it)."""
        state = self.get_task(job).state
        t = self._queued_at(job)
        return state, (None if t is None else max(0.0, time.time() - t))

    def _stalled(self, job: str, state: str, age: float | None) -> str | None:
        """``"noworker"``: queued and no worker is running; ``"queue"``: no worker took the job
        in time; ``"lost"``: started, but its heartbeat stopped (its worker died without
        recording a failure); None: neither."""
        if age is None:
            return None
        if state == "PENDING":
            if age > self.queue_timeout_s:
                return "queue"
            if age >= self.notice_after_s and self.live_workers() == 0:
                return "noworker"
            return None
        if state in _RUNNING_STATES:
            # One MGET: both keys as they were at one instant. Two reads (beat, then ran) raced
            # with a job starting in the worker (it writes beat, then ran): beat read before the
            # worker wrote it, ran read just after, and a job that had just started was
            # reported lost at its first poll ("stopped during the job" at 0.0 s: a fast
            # worker starts the job within the click's first poll).
            beat, ran = self._redis.mget(self._key("beat", job), self._key("ran", job))
            if beat is None:
                if ran is not None:
                    return "lost"  # it beat, then stopped
                if age > self.queue_timeout_s + JOB_TIME_LIMIT_S + 30:
                    return "lost"  # died before its first beat
        return None

    # -- Dash's hooks -----------------------------------------------------------------------
    def terminate_job(self, job):
        if job is None or str(job).startswith((BUSY, OUTAGE)):
            return
        try:
            self._redis.set(self._key("cancelled", job), "1", ex=JOB_EXPIRE_S)
            super().terminate_job(job)
            self._redis.zrem(ACTIVE_KEY, job)
        except Exception as exc:  # noqa: BLE001 - broker gone: the expiry still applies
            self._note_outage(exc)

    def get_progress(self, key):
        from redis.exceptions import RedisError

        if _job_state().get("outage"):
            return None
        try:
            raw = self._redis.get(self._key("of", key)) if key else None
            job = raw.decode() if isinstance(raw, bytes) else raw
            if (job and not self.result_ready(key)
                    and (self._redis.exists(self._key("cancelled", job))
                         or self.get_task(job).state in ("REVOKED", "FAILURE"))):
                return None  # ended without a result: its notice must not be overwritten
            return super().get_progress(key)
        except (RedisError, OSError) as exc:
            self._note_outage(exc)
            return None

    def job_running(self, job):
        state = _job_state()
        state["job"] = job = str(job) if job else None
        if not job or job.startswith((BUSY, OUTAGE)) or state.get("outage"):
            return False
        from redis.exceptions import RedisError

        try:
            cstate, age = self._state(job)
            stalled = self._stalled(job, cstate, age)
            state["stalled"] = stalled
            if stalled:
                self._redis.zrem(ACTIVE_KEY, job)
                # A worker that starts before the message expires skips it (_beating).
                self._redis.set(self._key("given_up", job), "1", ex=JOB_EXPIRE_S)
                # Only live workers hear a revoke; the message's own expiry covers the others.
                try:
                    self.handle.control.revoke(job)
                except Exception:  # pragma: no cover - broker gone: the expiry still applies
                    pass
                return False
            if cstate in _RUNNING_STATES:
                return True
            # Finished between get_result and now (Celery records SUCCESS after the job wrote
            # its result): poll once more for the result instead of ending with a silent 204.
            return bool(state.get("key")) and not state.get("result") and \
                self.result_ready(state["key"])
        except (RedisError, OSError) as exc:
            self._note_outage(exc)
            return False

    def get_updated_props(self, key):
        from redis.exceptions import RedisError

        if _poll_handle_unverified(key):
            state = _job_state()
            if state.get("outage"):
                return self._with_notice({}, MESSAGES["outage"].format(
                    why=f"Redis: {state['outage']}"))
            return self._with_notice({}, MESSAGES["handle"])
        props, notice = {}, None
        try:
            if not _job_state().get("outage"):
                props = super().get_updated_props(key)
                notice = self._notice(key)
        except (RedisError, OSError) as exc:
            self._note_outage(exc)
        state = _job_state()
        job = state.get("job") or ""
        if job.startswith(BUSY):
            notice = _busy_message(int(job[len(BUSY):]), self.max_jobs,
                                   "the background workers' queue")
        elif job.startswith(OUTAGE) or state.get("outage"):
            why = job[len(OUTAGE):] if job.startswith(OUTAGE) else state["outage"]
            notice = MESSAGES["outage"].format(why=f"Redis: {why}")
        return self._with_notice(props, notice)

    def _notice(self, key: str) -> str | None:
        raw = self._redis.get(self._key("of", key))
        if raw is None:
            return None
        job = raw.decode() if isinstance(raw, bytes) else str(raw)
        state, age = self._state(job)
        if age is None:
            return None
        if self._redis.exists(self._key("cancelled", job)):
            return None if self.result_ready(key) else MESSAGES["cancelled"]
        # What job_running decided in this poll, if it looked at this job: deciding again could
        # differ (a beat or a state written in between) and end the poll with no message.
        polled = _job_state()
        stalled = (polled["stalled"] if polled.get("job") == job and "stalled" in polled
                   else self._stalled(job, state, age))
        if stalled == "noworker":
            return ("Not run: no background worker is running. The server queues jobs for "
                    "Celery workers (REDIS_URL is set): start one (Procfile 'worker:'), or "
                    "set ANYCAST_JOBS=diskcache to run jobs in the web server.")
        if stalled == "queue":
            return (f"Not run: no background worker took the job within "
                    f"{self.queue_timeout_s:.0f} s. The server queues jobs for Celery "
                    "workers (REDIS_URL is set): start one (Procfile 'worker:'), or set "
                    "ANYCAST_JOBS=diskcache to run jobs in the web server.")
        if stalled == "lost":
            return (f"The background worker stopped during the job (no heartbeat for "
                    f"{BEAT_LOST_S:.0f} s): see the Celery worker's log, then run it again.")
        if state == "PENDING":
            ahead = self._redis.zrank(ACTIVE_KEY, job) or 0
            if ahead or age >= self.notice_after_s:
                return (f"Queued {age:.0f} s: {ahead} job{'s' if ahead != 1 else ''} ahead of "
                        f"yours, {self.live_workers()} background worker(s) running "
                        f"(gives up after {self.queue_timeout_s:.0f} s).")
        if state in ("FAILURE", "REVOKED") and not self.result_ready(key):
            return (f"The background job stopped in the worker ({state.lower()}): "
                    "see the Celery worker's log.")
        return None

    def get_result(self, key, job):
        from redis.exceptions import RedisError

        state = _job_state()
        state["key"] = key
        if state.get("outage"):
            return self.UNDEFINED
        try:
            result = super().get_result(key, job)
            state["result"] = result is not self.UNDEFINED
            if result is not self.UNDEFINED:
                self._redis.delete(self._key("of", key))
                if job:
                    self._redis.delete(self._key("queued", job))
                    self._redis.zrem(ACTIVE_KEY, job)
        except (RedisError, OSError) as exc:
            self._note_outage(exc)
            return self.UNDEFINED
        return result

    def health(self) -> dict:
        """``/healthz``: Redis reachable (``ok``), workers alive, jobs queued or running."""
        from redis.exceptions import RedisError

        try:
            workers = self.live_workers()
            active = int(self._redis.zcard(ACTIVE_KEY))
        except (RedisError, OSError) as exc:
            return {"backend": "celery", "ok": False,
                    "problem": f"Redis unreachable: {type(exc).__name__}"}
        # "ok" is about this web process's side (Redis); the workers are separate processes
        # (Procfile worker:) watched on their own, so none running is reported, not "degraded".
        out = {"backend": "celery", "ok": True, "workers": workers, "active": active,
               "max_jobs": self.max_jobs}
        if not workers:
            out["problem"] = "no Celery worker is running"
        return out


def install(dash_app) -> None:
    """Make ``dash_app`` sign job handles with its manager's shared secret, read at each use.

    Dash 4.4 resolves the secret once per process and keeps it (``Dash._get_signing_secret``):
    a worker that started while Redis was down kept a random one of its own, and one started
    after a Redis restart a new one: the handles each signed failed on the others, silently.
    """
    manager = getattr(dash_app, "_background_manager", None)
    if hasattr(manager, "signing_secret"):
        dash_app._get_signing_secret = manager.signing_secret


def jobs_health(dash_app) -> dict:
    """The jobs backend's state for ``/healthz`` (``{"ok": True, ...}`` when jobs can run)."""
    manager = getattr(dash_app, "_background_manager", None)
    if not hasattr(manager, "health"):
        return {"backend": None, "ok": True}
    try:
        return manager.health()
    except Exception as exc:  # noqa: BLE001 - a health check reports, it does not fail
        return {"backend": type(manager).__name__, "ok": False, "problem": type(exc).__name__}


def celery_app_of(dash_app) -> Any:
    """The Celery app behind ``dash_app``'s background callbacks (for the worker), or a
    :class:`SettingsError` explaining why there is none."""
    manager = getattr(dash_app, "_background_manager", None)
    handle = getattr(manager, "handle", None)
    try:
        from celery import Celery
    except ImportError:  # pragma: no cover - celery is a dependency
        raise SettingsError("the Celery worker needs celery[redis] installed") from None
    if not isinstance(handle, Celery):
        raise SettingsError("background jobs are not configured for Celery: the worker needs "
                            "REDIS_URL (and ANYCAST_JOBS unset, auto or celery)")
    return handle
