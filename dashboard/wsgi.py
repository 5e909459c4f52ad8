"""WSGI entry point for gunicorn (``gunicorn dashboard.wsgi:server``): the only module-level app.

Production rules enforced here (see ``docs/security.md``):

* never debug: ``ANYCAST_DEBUG`` / ``DASH_DEBUG`` / ``FLASK_DEBUG`` are ignored with a warning
  (``dashboard.hardening.production_guard``); dev tools only come with ``serve --debug``;
* a configuration that cannot work (a missing or invalid catalog file, a bad setting or latency
  parameter file) stops start-up with one line naming the file and the problem, on stderr, and
  exit status 4. The Procfile runs gunicorn with ``--preload``, so this happens once, in the
  master, before any worker is forked (without it each worker fails on its own and gunicorn's
  halt races between them: seen exiting 1 with a HaltServer traceback). Under a server without
  preload, 4 is still gunicorn's "App failed to load" status, which halts the master instead of
  respawning workers that print the same error forever.
"""

from __future__ import annotations

import logging
import sys

from dashboard.app import create_app
from dashboard.catalog import CatalogError
from dashboard.hardening import production_guard
from dashboard.settings import SettingsError

#: gunicorn's ``Arbiter.APP_LOAD_ERROR``: the master stops instead of respawning the worker.
EXIT_APP_LOAD_ERROR = 4

try:
    app = create_app()
except (CatalogError, SettingsError, ValueError, OSError) as exc:
    print(f"anycast-dashboard: cannot start: {exc}", file=sys.stderr, flush=True)
    raise SystemExit(EXIT_APP_LOAD_ERROR) from None

if not logging.getLogger().handlers:  # under gunicorn: warnings reach its error log (stderr)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
production_guard(app)
server = app.server
# The layout with the first map (callbacks.scene.serve_initial_map), built once in the master.
server.extensions["anycast_initial_layout"]()
