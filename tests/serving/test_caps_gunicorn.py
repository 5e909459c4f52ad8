"""Caps that bind under the Procfile's gunicorn (issue 13, findings 4 and 6): a 310,000-client
store used to keep a sync worker busy past its 30 s timeout (gunicorn's bare HTML 500), and a
link of 100,000 unknown parameters answered 16 MB. Both are now small JSON answers, and the
server keeps answering /healthz."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from benchmarks.dash_requests import callback_body
from tests.serving.conftest import free_port, start_gunicorn
from tests.serving.test_gunicorn import local_command

pytestmark = pytest.mark.slow


def _post(url: str, body: dict) -> tuple[int, bytes, float]:
    data = json.dumps(body, separators=(",", ":")).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    t0 = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, resp.read(), time.monotonic() - t0
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), time.monotonic() - t0


def test_over_cap_store_and_parameter_flood_get_small_answers_from_gunicorn(tmp_path: Path):
    port = free_port()
    server = start_gunicorn(local_command(), {"PORT": str(port), "ANYCAST_DEBUG": "0"},
                            tmp_path / "gunicorn.log", port)
    try:
        with urllib.request.urlopen(server.base + "/_dash-dependencies", timeout=30) as resp:
            deps = json.loads(resp.read())
        store = {"clients": [{"lat": i % 80, "lon": i % 170} for i in range(310_000)]}
        url = server.base + "/_dash-update-component"
        limit = b"310,000 clients is more than the limit of 50,000"  # this checkout's code

        def scene(values: dict, changed: str) -> tuple[int, bytes, float]:
            """The one round trip (callbacks/scene.py) as the page sends it."""
            return _post(url, callback_body(deps, "scenario-store.data", values, changed))

        # An answer renders every view of the scenario (the refused store leaves an empty one):
        # ~41 kB, most of it the empty map and the model controls; 16 MB for the flood before.
        small = 100_000
        # the store alone (an edit that changes nothing): refused with a notice
        status, body, took = scene({"scenario-store.data": store,
                                    "scenario-edit.data": {"op": "notice", "nonce": 1}},
                                   "scenario-edit.data")
        assert status == 200, body[:300]
        assert limit in body
        assert len(body) < small and took < 25, (len(body), took)

        # a what-if on it (was the results callback: routing 310,000 clients): refused before
        # any client is built, the same small answer
        status, body, took = scene({"scenario-store.data": store,
                                    "scenario-edit.data": {"op": "toggle_pop", "pop": "CDG",
                                                           "nonce": 2}},
                                   "scenario-edit.data")
        assert status == 200 and limit in body, (status, body[:300])
        assert len(body) < small and took < 25, (len(body), took)

        flood = "?" + "&".join(f"p{i}=1" for i in range(100_000))
        status, body, took = scene({"url.search": flood}, "url.search")
        assert status == 200 and len(body) < small, (status, len(body))

        with urllib.request.urlopen(server.base + "/healthz", timeout=30) as resp:
            assert resp.status == 200
        assert b"WORKER TIMEOUT" not in server.log.read_bytes()
    finally:
        server.stop()
