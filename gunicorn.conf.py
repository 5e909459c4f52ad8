"""gunicorn settings of the Procfile's ``web:`` process (``gunicorn -c gunicorn.conf.py``).

Bind address and worker count stay on the Procfile line (``PORT``, ``WEB_CONCURRENCY``); anything
here can be overridden per deployment with ``GUNICORN_CMD_ARGS`` (e.g. ``"--threads 16"``).
Why each value: docs/deploying.md ("Slow clients, heavy requests") and docs/reliability.md
("Slow clients and heavy work (issue 13)").
"""

# Idle and slow-header clients (issue 13, finding 2): gunicorn's gthread worker, changed so that
# a connection gets a thread only once its whole request head is in (dashboard/gunicorn_worker.py).
# The sync worker gave each connection a whole process: two idle sockets stopped the server.
worker_class = "dashboard.gunicorn_worker.HeadFirstWorker"
# Threads per worker: requests served at once by one process. Heavy ones (big scenarios) are
# bounded separately by dashboard/admission.py, so the rest keep threads for light requests.
threads = 8
# Open connections per worker (reading a head, being served, or kept alive); beyond that the
# worker stops accepting until some close.
worker_connections = 1000
# Seconds a kept-alive connection may wait for its next request. The page fetches ~30 scripts
# and then posts callbacks; 5 s covers a page load and a few clicks without a new TCP handshake,
# and a parked connection costs a socket, not a thread.
keepalive = 5
# Heartbeat timeout: with threads, the worker's event loop reports, not the request, so a long
# request does not get its worker killed; 30 s catches a worker that is truly stuck.
timeout = 30
graceful_timeout = 30
# Request line: gunicorn's largest (default 4094). Links made by the dashboard stay under
# 4,000 query characters (dashboard.domain.scenario_url.DEFAULT_MAX_QUERY_CHARS); 8190 also opens
# hand-edited links twice that long. Longer ones get the dashboard's own 414 page
# (dashboard.gunicorn_worker.link_too_long_page), not gunicorn's.
limit_request_line = 8190
# Headers: gunicorn's defaults, written down (100 fields of up to 8190 bytes each); the whole
# head is also capped at 32 kB (dashboard.gunicorn_worker.MAX_HEAD_BYTES).
limit_request_fields = 100
limit_request_field_size = 8190


def post_fork(server, worker):  # noqa: ARG001 (gunicorn's hook signature)
    """Per-worker settings. A thread waiting for the GIL gets it after 1 ms instead of Python's
    5 ms: a light request sharing a worker with a heavy one (pandas/numpy holding the GIL in long
    stretches) is then not slowed to a crawl (measured in docs/reliability.md, issue 13)."""
    import sys

    from dashboard import admission

    sys.setswitchinterval(0.001)
    # Heavy requests of this worker (waiting for or holding a slot) leave LIGHT_RESERVE of its
    # threads to light requests, whatever --threads / GUNICORN_CMD_ARGS say.
    admission.set_worker_threads(worker.cfg.threads)
