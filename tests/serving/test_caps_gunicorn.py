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


def _callback(deps: list[dict], start: str, values: dict, changed: str) -> dict:
    dep = next(d for d in deps if d["output"].startswith(start))
    outs = [o.rsplit(".", 1) for o in dep["output"].strip(".").split("...")]
    outputs = [{"id": i, "property": p.split("@")[0]} for i, p in outs]

    def item(x: dict) -> dict:
        return {"id": x["id"], "property": x["property"],
                "value": values.get(f"{x['id']}.{x['property']}")}

    return {"output": dep["output"], "outputs": outputs if len(outputs) > 1 else outputs[0],
            "inputs": [item(x) for x in dep["inputs"]],
            "state": [item(x) for x in dep.get("state", [])], "changedPropIds": [changed]}


def test_over_cap_store_and_parameter_flood_get_small_answers_from_gunicorn(tmp_path: Path):
    port = free_port()
    server = start_gunicorn(local_command(), {"PORT": str(port), "ANYCAST_DEBUG": "0"},
                            tmp_path / "gunicorn.log", port)
    try:
        with urllib.request.urlopen(server.base + "/_dash-dependencies", timeout=30) as resp:
            deps = json.loads(resp.read())
        store = {"clients": [{"lat": i % 80, "lon": i % 170} for i in range(310_000)]}
        url = server.base + "/_dash-update-component"

        status, body, took = _post(url, _callback(
            deps, "..scenario-store.data", {"scenario-store.data": store,
                                            "scenario-edit.data": {"op": "notice", "nonce": 1}},
            "scenario-edit.data"))
        assert status == 200, body[:300]
        assert b"310,000 clients is more than the limit of 50,000" in body  # this checkout's code
        assert len(body) < 10_000 and took < 25, (len(body), took)

        status, body, took = _post(url, _callback(
            deps, "..world-map.figure", {"scenario-store.data": store}, "scenario-store.data"))
        assert status == 204 and took < 25, (status, body[:300], took)  # refused, not routed

        flood = "?" + "&".join(f"p{i}=1" for i in range(100_000))
        status, body, took = _post(url, _callback(
            deps, "..scenario-store.data", {"url.search": flood}, "url.search"))
        assert status == 200 and len(body) < 10_000, (status, len(body))

        with urllib.request.urlopen(server.base + "/healthz", timeout=30) as resp:
            assert resp.status == 200
        assert b"WORKER TIMEOUT" not in server.log.read_bytes()
    finally:
        server.stop()
