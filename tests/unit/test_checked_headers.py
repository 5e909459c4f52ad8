"""The worker's remembered response-header check (``gunicorn_worker.CheckedHeadersResponse``):
whatever the app answers, the same headers, response length, upgrade flag and refusals as
gunicorn's own ``Response``, on a first sighting and on every later one. The real server
(headers on the wire, a refused header): ``tests/serving/test_gunicorn.py``."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from gunicorn.http import wsgi as gunicorn_wsgi
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard import gunicorn_worker as gw

# Names and values as apps send them, and some gunicorn refuses (a space or ':' in a name,
# a control character in a value), state-setting ones (Content-Length, hop-by-hop), blanks to
# strip, non-str values, list pairs and wrong-length pairs.
NAMES = st.sampled_from(["X-Cache", "Content-Type", "Content-Length", "content-length", "Vary",
                         "Connection", "Upgrade", "Keep-Alive", "Transfer-Encoding",
                         "Cache-Control", "Bad Name", "Bad:Name", "", "X-\u00e9"])
VALUES = st.one_of(
    st.sampled_from(["MISS", "HIT", "application/json", " padded\t", "12", "close", "upgrade",
                     "websocket", "no-store", "", "bad\r\nvalue", "caf\u00e9", "x\x00y"]),
    st.text(max_size=8),
    st.integers(0, 99))
PAIR = st.one_of(st.tuples(NAMES, VALUES), st.lists(st.one_of(NAMES, VALUES), min_size=1,
                                                    max_size=3))


def response(cls: type) -> Any:
    """A response of ``cls`` on no socket: the state ``process_headers`` reads and writes."""
    return cls(SimpleNamespace(method="GET"), None, SimpleNamespace())


def outcome(cls: type, headers: list) -> tuple:
    r = response(cls)
    try:
        r.process_headers(headers)
    except Exception as exc:  # noqa: BLE001 - the refusal itself is compared
        return ("raised", type(exc), str(exc), r.headers, r.response_length, r.upgrade)
    return ("ok", r.headers, r.response_length, r.upgrade)


@pytest.fixture(autouse=True)
def empty_memory():
    gw._CHECKED.clear()
    yield
    gw._CHECKED.clear()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(PAIR, max_size=6), min_size=1, max_size=4))
def test_same_outcome_as_gunicorns_check_first_time_and_after(responses):
    for headers in responses * 2:  # every list twice: the second time from the memory
        assert outcome(gw.CheckedHeadersResponse, headers) == outcome(gunicorn_wsgi.Response,
                                                                      headers)


def test_plain_headers_are_remembered_and_state_setting_ones_never():
    headers = [("X-Cache", "MISS"), ("Content-Length", "3650"), ("Connection", "close"),
               ("Vary", " Accept-Encoding ")]
    r = response(gw.CheckedHeadersResponse)
    r.process_headers(headers)
    assert r.headers == [("X-Cache", "MISS"), ("Content-Length", "3650"),
                         ("Vary", "Accept-Encoding")]
    assert r.response_length == 3650
    assert gw._CHECKED == {("X-Cache", "MISS"): ("X-Cache", "MISS"),
                           ("Vary", " Accept-Encoding "): ("Vary", "Accept-Encoding")}
    r2 = response(gw.CheckedHeadersResponse)
    r2.process_headers([("Content-Length", "12"), ("Vary", " Accept-Encoding ")])
    assert r2.response_length == 12 and r2.headers[-1] == ("Vary", "Accept-Encoding")


def test_a_refused_header_is_refused_every_time_and_never_remembered():
    for _ in range(3):
        with pytest.raises(gunicorn_wsgi.InvalidResponseHeader):
            response(gw.CheckedHeadersResponse).process_headers([("X-Ok", "1"),
                                                                 ("X-Bad", "a\r\nb")])
    assert list(gw._CHECKED) == [("X-Ok", "1")]


def test_the_memory_is_bounded(monkeypatch):
    monkeypatch.setattr(gw, "CHECKED_HEADERS_CAP", 8)
    r = response(gw.CheckedHeadersResponse)
    r.process_headers([("X-Id", str(i)) for i in range(50)])
    assert len(r.headers) == 50 and [v for _, v in r.headers] == [str(i) for i in range(50)]
    assert 1 <= len(gw._CHECKED) <= 8
    long_value = "x" * (gw.CHECKED_VALUE_MAX - len("X-Long") + 1)
    r = response(gw.CheckedHeadersResponse)
    r.process_headers([("X-Long", long_value), ("X-Short", "y")])
    assert r.headers == [("X-Long", long_value), ("X-Short", "y")]
    assert ("X-Long", long_value) not in gw._CHECKED and ("X-Short", "y") in gw._CHECKED


def test_the_worker_makes_gunicorn_build_it(monkeypatch):
    monkeypatch.setattr(gunicorn_wsgi, "Response", gunicorn_wsgi.Response)
    gw.use_checked_headers_response()
    req = SimpleNamespace(method="GET")
    resp = gunicorn_wsgi.create.__globals__["Response"](req, None, SimpleNamespace())
    assert type(resp) is gw.CheckedHeadersResponse
