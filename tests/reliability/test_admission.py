"""Heavy-request admission and body limits (dashboard/admission.py), in process: which requests
are heavy, the shared slots, the JSON 503 the page shows, the JSON 413 for oversize bodies.
The same with real gunicorn processes: tests/serving/test_hostile_clients.py."""

from __future__ import annotations

import io
import json
import threading
import time
from pathlib import Path

import pytest

from dashboard import admission
from dashboard.admission import HEAVY_BODY_BYTES, Admission, Slots, is_heavy
from dashboard.app import create_app
from dashboard.gunicorn_worker import link_too_long_page
from dashboard.settings import ROOT, Settings


#: What gunicorn passes for a chunked body: no length, a stream that ends with the body.
CHUNKED = {"CONTENT_LENGTH": "", "wsgi.input_terminated": True}


@pytest.fixture()
def app(catalog, tmp_path):
    return create_app(Settings(jobs_dir=tmp_path), catalog)


def test_heavy_is_a_big_or_unannounced_body_on_a_client_carrying_endpoint():
    big = HEAVY_BODY_BYTES + 1
    assert is_heavy("POST", "/_dash-update-component", big)
    assert is_heavy("POST", "/api/v1/assign", big)
    assert is_heavy("POST", "/_dash-update-component", None)  # chunked: size unknown
    assert not is_heavy("POST", "/_dash-update-component", HEAVY_BODY_BYTES)
    assert not is_heavy("GET", "/healthz", None)
    assert not is_heavy("GET", "/api/v1/nearest", None)
    assert not is_heavy("POST", "/api/v1/nearest", big)  # not an endpoint that takes clients


def test_slots_exclude_threads_of_one_process_and_free_on_release(tmp_path: Path):
    slots = Slots(tmp_path, 2)
    a, b = slots.try_acquire(), slots.try_acquire()
    assert a is not None and b is not None
    got: list[int | None] = []
    t = threading.Thread(target=lambda: got.append(slots.try_acquire()))
    t.start()
    t.join()
    assert got == [None]
    Slots.release(a)
    c = slots.try_acquire()
    assert c is not None
    Slots.release(b)
    Slots.release(c)


def test_a_forked_child_does_not_keep_the_slot_of_the_request_that_forked_it(tmp_path: Path):
    """The N-1 analysis runs in a process forked by the request that started it (Dash's
    Diskcache manager); it inherited the slot's descriptor and kept the flock for its whole run,
    so sequential heavy requests were refused "busy" meanwhile (seen in the 10,000-request run
    over HTTP)."""
    import os
    import time

    slots = Slots(tmp_path, 1)
    fd = slots.try_acquire()
    assert fd is not None
    child = os.fork()
    if child == 0:  # the "job": runs for a while, holding whatever it inherited
        time.sleep(3)
        os._exit(0)
    try:
        Slots.release(fd)
        deadline = time.monotonic() + 2
        got = None
        while got is None and time.monotonic() < deadline:
            got = slots.try_acquire()
            time.sleep(0.02)
        assert got is not None, "the forked child still holds the slot"
        Slots.release(got)
    finally:
        os.kill(child, 9)
        os.waitpid(child, 0)


def test_a_waiting_request_gets_the_slot_when_it_frees(tmp_path: Path):
    gate = Admission(Slots(tmp_path, 1), wait_s=30)
    held = gate.slots.try_acquire()
    got: list[int | None] = []
    waiter = threading.Thread(target=lambda: got.append(gate.acquire()))
    waiter.start()
    Slots.release(held)
    waiter.join()
    assert got and got[0] is not None
    Slots.release(got[0])


def test_waiters_beyond_the_bound_are_refused_at_once(tmp_path: Path):
    gate = Admission(Slots(tmp_path, 1), wait_s=30, max_heavy=0)
    held = gate.slots.try_acquire()
    assert gate.acquire() is None  # no wait allowed: refused without sleeping 30 s
    Slots.release(held)


def _wait_until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met"
        time.sleep(0.005)


def test_waiters_of_one_process_get_the_slot_in_arrival_order(tmp_path: Path):
    """A burst of one user's callbacks is served in the order sent: no waiter is overtaken."""
    gate = Admission(Slots(tmp_path, 1), wait_s=30, max_heavy=8)
    first = gate.acquire()
    assert first is not None
    order: list[int] = []

    def waiter(i: int) -> None:
        fd = gate.acquire()
        assert fd is not None
        order.append(i)
        gate.release(fd)

    threads = []
    for i in range(5):
        threads.append(threading.Thread(target=waiter, args=(i,)))
        threads[-1].start()
        _wait_until(lambda: len(gate._queue) == i + 1)
    gate.release(first)
    for t in threads:
        t.join()
    assert order == [0, 1, 2, 3, 4]


def test_heavy_requests_of_a_process_beyond_its_budget_are_refused_and_slots_counted_back(
        tmp_path: Path):
    gate = Admission(Slots(tmp_path, 1), wait_s=30, max_heavy=2)
    held = gate.acquire()
    got: list[int | None] = []
    waiter = threading.Thread(target=lambda: got.append(gate.acquire()))
    waiter.start()
    _wait_until(lambda: len(gate._queue) == 1)
    assert gate.acquire() is None  # holding 1 + waiting 1 = the budget of 2: refused at once
    gate.release(held)
    waiter.join()
    assert got[0] is not None
    gate.release(got[0])
    again = gate.acquire()  # the budget is free again
    assert again is not None
    gate.release(again)


def test_the_budget_is_the_worker_threads_less_the_light_reserve(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(admission, "_per_process", admission.MAX_HEAVY_PER_PROCESS)
    gate = Admission(Slots(tmp_path, 1))
    assert gate.max_heavy == 6  # the Procfile's 8 threads less 2
    admission.set_worker_threads(16)
    assert gate.max_heavy == 16 - admission.LIGHT_RESERVE
    admission.set_worker_threads(1)
    assert gate.max_heavy == 1


def _heavy_body() -> bytes:
    return json.dumps({"output": "x", "pad": "a" * (HEAVY_BODY_BYTES + 10)}).encode()


def test_a_heavy_callback_with_every_slot_busy_gets_a_json_503_the_page_can_show(app,
                                                                                monkeypatch):
    gate = app.server.extensions["anycast_admission"]
    monkeypatch.setattr(gate, "wait_s", 0.1)
    held = gate.slots.try_acquire()
    client = app.server.test_client()
    try:
        resp = client.post("/_dash-update-component", data=_heavy_body(),
                           content_type="application/json")
        assert resp.status_code == 503
        assert resp.headers["Retry-After"] == str(admission.RETRY_AFTER_S)
        assert resp.headers["X-Anycast-Busy"] == "heavy"
        assert "busy" in resp.get_json()["error"]
        assert resp.headers["Content-Security-Policy"]  # the app's headers apply
        # light requests never wait for a slot
        assert client.get("/healthz").status_code == 200
        light = client.post("/_dash-update-component", data=b'{"output": 1}',
                            content_type="application/json")
        assert light.status_code == 400  # hardening's answer, not the gate's
    finally:
        Slots.release(held)
    resp = client.post("/_dash-update-component", data=_heavy_body(),
                       content_type="application/json")
    assert resp.status_code == 400  # admitted (then refused as a malformed callback)


def test_the_slot_is_released_after_the_request_even_when_it_fails(app):
    gate = app.server.extensions["anycast_admission"]
    client = app.server.test_client()
    for _ in range(3):
        client.post("/_dash-update-component", data=_heavy_body(),
                    content_type="application/json")
    fd = gate.slots.try_acquire()
    assert fd is not None
    Slots.release(fd)


def test_the_page_script_shows_the_503_message(app):
    js = (ROOT / "assets" / "busy_notice.js").read_text()
    assert "X-Anycast-Busy" in js and "body.error" in js and "_dash-update-component" in js
    page = app.server.test_client().get("/").get_data(as_text=True)
    assert "/assets/busy_notice.js" in page


@pytest.mark.parametrize("path,limit", [("/_dash-update-component", None),
                                        ("/api/v1/assign", "api")])
def test_an_oversize_chunked_body_is_a_json_413(app, path, limit):
    settings: Settings = app.server.config["ANYCAST_SETTINGS"]
    cap = settings.max_upload_bytes if limit == "api" else app.server.config["MAX_CONTENT_LENGTH"]
    resp = app.server.test_client().post(
        path, input_stream=io.BytesIO(b"x" * (cap + 1)),
        headers={"Transfer-Encoding": "chunked", "Content-Type": "application/json"},
        environ_overrides=CHUNKED)
    assert resp.status_code == 413
    assert resp.get_json() == {"error": f"request body larger than the limit of {cap} bytes"}


def test_an_announced_oversize_body_is_a_json_413_on_the_page_endpoints_too(app):
    cap = app.server.config["MAX_CONTENT_LENGTH"]
    resp = app.server.test_client().post("/_dash-update-component", data=b"x" * (cap + 1),
                                         content_type="application/json")
    assert resp.status_code == 413 and "limit" in resp.get_json()["error"]


def test_a_chunked_body_under_the_limit_reaches_the_api(app):
    resp = app.server.test_client().post(
        "/api/v1/assign", input_stream=io.BytesIO(b"lat,lon\n48.1,11.6\n"),
        headers={"Transfer-Encoding": "chunked", "Content-Type": "text/csv"},
        environ_overrides=CHUNKED)
    assert resp.status_code == 200
    assert resp.get_json()["assignments"][0]["pop"] == "FRA"


def test_link_too_long_page_is_a_complete_414_with_a_way_back():
    raw = link_too_long_page(9000, 8190)
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 414 URI Too Long\r\n")
    assert f"Content-Length: {len(body)}".encode() in head
    assert b"9,000 bytes" in body and b"8,190 bytes" in body and b'href="/"' in body
