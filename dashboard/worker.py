"""Celery worker entry point for background jobs (N-1 analysis) when ``REDIS_URL`` is set:

    celery -A dashboard.worker:celery_app worker --loglevel=INFO --concurrency 1

(the Procfile's ``worker:`` process). Dash names a background callback's Celery task after a hash
of the callback's outputs and source code, so the worker must build the very app the web workers
serve: this module imports :mod:`dashboard.wsgi` (same settings from the environment, same
catalog files, same start-up checks: a broken catalog stops the worker with the same one-line
message and exit status 4) and exposes the Celery app behind its background callbacks. Run it
with the same code and environment as gunicorn, or the tasks arrive under names the worker does
not know ("Received unregistered task") and the page reports that no worker took the job.

A running worker announces itself in Redis every :data:`dashboard.jobs.WORKER_BEAT_S` seconds
(sorted set :data:`dashboard.jobs.WORKERS_KEY`), so that the web side can tell "no worker is
running" within seconds instead of waiting for the queue timeout.
"""

from __future__ import annotations

import sys
import threading
import time

from celery import signals

from dashboard.jobs import WORKER_BEAT_S, WORKER_LOST_S, WORKERS_KEY, celery_app_of
from dashboard.settings import SettingsError
from dashboard.wsgi import EXIT_APP_LOAD_ERROR, app

try:
    celery_app = celery_app_of(app)
except SettingsError as exc:
    print(f"anycast-dashboard worker: cannot start: {exc}", file=sys.stderr, flush=True)
    raise SystemExit(EXIT_APP_LOAD_ERROR) from None

_stop = threading.Event()


def _announce(name: str) -> None:
    """Every WORKER_BEAT_S: this worker is alive (entries older than WORKER_LOST_S are
    dropped by the next announcer)."""
    client = celery_app.backend.client
    while True:
        try:
            now = time.time()
            client.zadd(WORKERS_KEY, {name: now})
            client.zremrangebyscore(WORKERS_KEY, "-inf", now - 10 * WORKER_LOST_S)
        except Exception:  # noqa: BLE001 - Redis down: the web side reports that itself
            pass
        if _stop.wait(WORKER_BEAT_S):
            return


@signals.worker_ready.connect
def _start_announcing(sender=None, **_kwargs) -> None:
    name = getattr(sender, "hostname", None) or "worker"
    threading.Thread(target=_announce, args=(name,), daemon=True,
                     name="anycast-worker-beat").start()


@signals.worker_shutdown.connect
def _stop_announcing(sender=None, **_kwargs) -> None:
    _stop.set()
    try:
        celery_app.backend.client.zrem(WORKERS_KEY, getattr(sender, "hostname", None) or "worker")
    except Exception:  # noqa: BLE001 - expires by age
        pass
