"""Caps that bind (issue 13, findings 4 and 6): time and answer size of hostile callback requests.

    python -m benchmarks.caps [--params 100000] [--clients 310000]

Sends, through Flask's test client to ``create_app()`` with the default settings (50,000
clients, 5 MiB uploads), the requests of the issue's findings and prints one line each:

* ``link-flood``: the scene callback (``callbacks/scene.py``, the one round trip) opening a link
  of ``--params`` unknown parameters (``?p0=1&p1=1&...``; finding 6: one notice per parameter,
  16 MB in 7.7 s before);
* ``scene-store-<n>``: the scene callback given a store of ``--clients`` clients and an edit
  that changes nothing, then a what-if on it (``toggle_pop`` CDG: before the renovation the
  results callback routed the store; finding 4: ``Scenario.from_dict`` did not count them);
* ``whatif-store-40k+set``: a what-if on a store of 40,000 clients plus the 25,000-city client
  set (in the cap before: the cap now counts the set).

Bodies from ``benchmarks/dash_requests.py``.

In-process timings by default (no gunicorn, so no worker timeout): wall time of one request,
status, bytes of the answer. Run it with ``PYTHONPATH`` pointing at a checkout to measure that
checkout. ``--url http://127.0.0.1:PORT`` sends the same requests to a running server instead
(e.g. the Procfile's gunicorn: 2 sync workers, 30 s timeout).
"""

from __future__ import annotations

import argparse
import json
import logging
import time
import urllib.error
import urllib.request
from typing import Any

from benchmarks.dash_requests import callback_body
from dashboard.app import create_app
from dashboard.settings import Settings


def _store(n: int, client_set: str | None = None) -> dict:
    # small integer coordinates: the most clients per byte (the 7.8 MB for 310,000)
    return {"clients": [{"lat": i % 80, "lon": i % 170} for i in range(n)],
            "client_set": client_set}


class _Remote:
    """The test client's ``get``/``post`` over HTTP, for ``--url``."""

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")

    def _do(self, req: urllib.request.Request) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(req, timeout=120) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def deps(self) -> list[dict]:
        return json.loads(self._do(urllib.request.Request(self.base + "/_dash-dependencies"))[1])

    def post(self, data: bytes) -> tuple[int, bytes]:
        return self._do(urllib.request.Request(self.base + "/_dash-update-component", data=data,
                                               headers={"Content-Type": "application/json"}))


def _send(client: Any, name: str, body: dict) -> None:
    data = json.dumps(body, separators=(",", ":")).encode()
    t0 = time.perf_counter()
    if isinstance(client, _Remote):
        status, answer = client.post(data)
    else:
        resp = client.post("/_dash-update-component", data=data,
                           content_type="application/json")
        status, answer = resp.status_code, resp.get_data()
    dt = time.perf_counter() - t0
    print(f"{name:<22} request {len(data) / 1e6:6.2f} MB  status {status}  "
          f"answer {len(answer) / 1e3:9.1f} kB  {dt:7.2f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=310_000)
    parser.add_argument("--url", default=None, help="a running server instead of in-process")
    args = parser.parse_args()
    client: Any
    if args.url:
        client = _Remote(args.url)
        deps = client.deps()
    else:
        logging.getLogger("dashboard.api").setLevel(logging.CRITICAL)
        client = create_app(Settings()).server.test_client()
        deps = client.get("/_dash-dependencies").get_json()
    flood = "?" + "&".join(f"p{i}=1" for i in range(args.params))

    def scene(values: dict[str, Any], changed: str) -> dict:
        return callback_body(deps, "scenario-store.data", values, changed)

    def whatif(store: dict) -> dict:
        return scene({"scenario-store.data": store, "view-tabs.value": "map",
                      "scenario-edit.data": {"op": "toggle_pop", "pop": "CDG", "nonce": 2}},
                     "scenario-edit.data")

    _send(client, f"link-flood-{args.params}", scene({"url.search": flood}, "url.search"))
    store = _store(args.clients)
    _send(client, f"scene-store-{args.clients}", scene(
        {"scenario-store.data": store, "scenario-edit.data": {"op": "notice", "nonce": 1}},
        "scenario-edit.data"))
    _send(client, f"whatif-store-{args.clients}", whatif(store))
    _send(client, "whatif-store-40k+set", whatif(_store(40_000, "cities25k")))

if __name__ == "__main__":
    main()
