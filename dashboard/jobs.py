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
screen; :class:`CeleryJobs` says so instead: after :data:`NOTICE_AFTER_S` the status line shows
that the job waits for a worker, and after :data:`QUEUE_TIMEOUT_S` it gives up (the Run button
comes back, the message expires from the queue so a worker started later does not run it;
``ANYCAST_JOBS_QUEUE_TIMEOUT``).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

from dash import CeleryManager
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

#: Where the "waiting for a worker" notices go: the status line of the N-1 card (the app's only
#: background callback).
NOTICE_TARGET = (ids.N1_STATUS, "children")

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
                          queue_timeout_s=settings.jobs_queue_timeout_s)
    import diskcache
    from dash import DiskcacheManager

    path = Path(settings.jobs_dir) if settings.jobs_dir else default_jobs_dir()
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    cache = diskcache.Cache(str(path), size_limit=JOB_CACHE_BYTES)
    return DiskcacheManager(cache, expire=JOB_EXPIRE_S)


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


class CeleryJobs(CeleryManager):
    """Dash's ``CeleryManager`` plus what an operator needs when no worker takes the job.

    * A queued job shows "waiting for a background worker" in the N-1 status line after
      :data:`NOTICE_AFTER_S`, and is given up after :data:`QUEUE_TIMEOUT_S`: the page stops
      polling, says why, and the queued message expires so a worker started later skips it.
    * A job that failed in the worker (time limit, worker lost) says so instead of silently
      leaving the old status.
    * Dash's signing secret for job handles is stored without expiry: Dash's own store would
      give it the results' expiry, and a web worker started after it expired would sign
      with a new secret that the others reject.
    """

    def __init__(self, celery_app, expire: int | None = None, *,
                 notice_after_s: float = NOTICE_AFTER_S,
                 queue_timeout_s: float = QUEUE_TIMEOUT_S,
                 notice_target: tuple[str, str] = NOTICE_TARGET):
        self._backlog = True  # see register()
        super().__init__(celery_app, expire=expire)
        self._backlog = False
        self.notice_after_s = notice_after_s
        self.queue_timeout_s = queue_timeout_s
        self.notice_target = notice_target

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
        return _make_job_fn(fn, _PrivateTasks(self.handle), progress, key)

    # -- queueing ---------------------------------------------------------------------------
    @property
    def _redis(self):
        return self.handle.backend.client

    @staticmethod
    def _queued_key(job: str) -> str:
        return f"anycast-eip-job-queued-{job}"

    @staticmethod
    def _job_of_key(key: str) -> str:
        return f"anycast-eip-job-of-{key}"

    def call_job_fn(self, key, job_fn, args, context):
        # Celery subscribes the sender to the task's result channel (Redis pub/sub) so that it
        # can wait for the result; Dash never waits, it polls the result store. Skipping it
        # saves a pub/sub connection per web worker, and with Redis down a click fails in
        # under a second instead of blocking the web worker through ~20 s of reconnects.
        self.handle.backend.on_task_call = _no_result_subscription
        from kombu.exceptions import OperationalError
        from redis.exceptions import RedisError
        from werkzeug.exceptions import ServiceUnavailable

        try:
            task = job_fn.apply_async((key, self._make_progress_key(key), args, context),
                                      expires=self.queue_timeout_s)
            job = task.task_id
            ttl = int(self.queue_timeout_s + JOB_TIME_LIMIT_S + JOB_EXPIRE_S)
            self._redis.set(self._queued_key(job), repr(time.time()), ex=ttl)
            self._redis.set(self._job_of_key(key), job, ex=ttl)
        except (OperationalError, RedisError, OSError) as exc:
            # An outage of the job queue, not a bug: a JSON 503 naming it (the page keeps its
            # state and the Run button comes back), not a logged 500.
            raise ServiceUnavailable("background jobs are unavailable: the Redis job queue "
                                     f"cannot be reached ({type(exc).__name__}); try again "
                                     "later") from None
        return job

    def _queued_at(self, job: str) -> float | None:
        raw = self._redis.get(self._queued_key(job))
        try:
            return float(raw) if raw is not None else None
        except ValueError:
            return None

    def _state(self, job: str) -> tuple[str, float | None]:
        """(Celery state, seconds since queued or None if we did not queue it)."""
        state = self.get_task(job).state
        t = self._queued_at(job)
        return state, (None if t is None else max(0.0, time.time() - t))

    def _stalled(self, state: str, age: float | None) -> str | None:
        """``"queue"``: no worker took the job in time; ``"lost"``: started, but older than any
        job can be (its worker died without recording a failure); None: neither."""
        if age is None:
            return None
        if state == "PENDING" and age > self.queue_timeout_s:
            return "queue"
        if state in _RUNNING_STATES and age > self.queue_timeout_s + JOB_TIME_LIMIT_S + 30:
            return "lost"
        return None

    # -- Dash's hooks -----------------------------------------------------------------------
    def job_running(self, job):
        if not job:
            return False
        state, age = self._state(job)
        if self._stalled(state, age):
            # Only live workers hear a revoke; the message's own expiry covers the others.
            try:
                self.handle.control.revoke(job)
            except Exception:  # pragma: no cover - broker gone: the expiry still applies
                pass
            return False
        return state in _RUNNING_STATES

    def get_updated_props(self, key):
        props = super().get_updated_props(key)
        notice = self._notice(key)
        if notice is not None:
            cid, prop = self.notice_target
            props = {**props, cid: {**props.get(cid, {}), prop: notice}}
        return props

    def _notice(self, key: str) -> str | None:
        raw = self._redis.get(self._job_of_key(key))
        if raw is None:
            return None
        job = raw.decode() if isinstance(raw, bytes) else str(raw)
        state, age = self._state(job)
        if age is None:
            return None
        stalled = self._stalled(state, age)
        if stalled == "queue":
            return (f"Not run: no background worker took the job within "
                    f"{self.queue_timeout_s:.0f} s. The server queues jobs for Celery "
                    "workers (REDIS_URL is set): start one (Procfile 'worker:'), or set "
                    "ANYCAST_JOBS=diskcache to run jobs in the web server.")
        if stalled == "lost":
            return ("The background worker stopped answering during the job: see the Celery "
                    "worker's log, then run it again.")
        if state == "PENDING" and age >= self.notice_after_s:
            return (f"Queued {age:.0f} s: waiting for a background worker (Celery). "
                    "Busy workers take it when free; if none is running, it is not run "
                    f"(gives up after {self.queue_timeout_s:.0f} s).")
        if state in ("FAILURE", "REVOKED") and not self.result_ready(key):
            return (f"The background job stopped in the worker ({state.lower()}): "
                    "see the Celery worker's log.")
        return None

    def get_result(self, key, job):
        result = super().get_result(key, job)
        if result is not self.UNDEFINED:
            self._redis.delete(self._job_of_key(key))
            if job:
                self._redis.delete(self._queued_key(job))
        return result

    def get_or_create_signing_secret(self, generate):
        client = self._redis
        client.set(self.SIGNING_SECRET_KEY, generate(), nx=True)  # no expiry
        return client.get(self.SIGNING_SECRET_KEY)


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
