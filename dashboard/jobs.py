"""Background jobs (Dash background callbacks) for heavy runs such as the N-1 analysis.

Default: Dash's :class:`~dash.DiskcacheManager`. A job runs in a child process of the worker that
received the request; its progress and result go to a ``diskcache`` directory on local disk
(:attr:`Settings.jobs_dir`, ``ANYCAST_JOBS_DIR``). Every gunicorn worker on the host opens the
same directory, so a poll that lands on another worker than the one that started the job still
finds the progress and the result, and Dash's signing secret for job handles is shared the same
way (``DiskcacheManager.get_or_create_signing_secret``).

Scale-out path (several hosts): Dash's ``CeleryManager`` with Redis as broker and result backend,
and Celery workers next to the web workers; see docs/capacity.md for the exact configuration. It
is not wired in by default because it needs a separately run worker process.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from dashboard.settings import Settings

#: Seconds a finished job's result stays on disk if nobody fetches it.
JOB_EXPIRE_S = 3600
#: Upper bound of the job directory's size (diskcache evicts least recently used entries).
JOB_CACHE_BYTES = 256 * 1024 * 1024


def default_jobs_dir() -> Path:
    """``$TMPDIR/anycast-eip-jobs-<uid>``: shared by the workers of one user on one host."""
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"anycast-eip-jobs-{uid}"


def background_manager(settings: Settings):  # -> dash.DiskcacheManager
    """The background callback manager of one app (imports Dash and diskcache lazily)."""
    import diskcache
    from dash import DiskcacheManager

    path = Path(settings.jobs_dir) if settings.jobs_dir else default_jobs_dir()
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    cache = diskcache.Cache(str(path), size_limit=JOB_CACHE_BYTES)
    return DiskcacheManager(cache, expire=JOB_EXPIRE_S)
