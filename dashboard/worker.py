"""Celery worker entry point for background jobs (N-1 analysis) when ``REDIS_URL`` is set:

    celery -A dashboard.worker:celery_app worker --loglevel=INFO --concurrency 1

(the Procfile's ``worker:`` process). Dash names a background callback's Celery task after a hash
of the callback's outputs and source code, so the worker must build the very app the web workers
serve: this module imports :mod:`dashboard.wsgi` (same settings from the environment, same
catalog files, same start-up checks: a broken catalog stops the worker with the same one-line
message and exit status 4) and exposes the Celery app behind its background callbacks. Run it
with the same code and environment as gunicorn, or the tasks arrive under names the worker does
not know ("Received unregistered task") and the page reports that no worker took the job.
"""

from __future__ import annotations

import sys

from dashboard.jobs import celery_app_of
from dashboard.settings import SettingsError
from dashboard.wsgi import EXIT_APP_LOAD_ERROR, app

try:
    celery_app = celery_app_of(app)
except SettingsError as exc:
    print(f"anycast-dashboard worker: cannot start: {exc}", file=sys.stderr, flush=True)
    raise SystemExit(EXIT_APP_LOAD_ERROR) from None
