"""Compressed static files are cached per file content, bounded by bytes: query strings and
fingerprints chosen by a client never add entries (issue 13, finding 1: 674 GETs of
``plotly…js?x=N`` took the workers from 190 to 552 MB)."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest

from benchmarks.static_memory import (GOAL_MB, measure, procfile_command, start_server,
                                      stop_server, wait_ready)
from dashboard.app import create_app
from dashboard.serving import STATIC_CACHE_MAX_BYTES, StaticCompressionCache
from tests.serving.conftest import free_port

PLOTLY_FULL = "/_dash-component-suites/plotly/package_data/plotly.min.js"


@pytest.fixture(scope="module")
def app():
    return create_app()


def _cache(app) -> StaticCompressionCache:
    return app.server.extensions["anycast_compress"].cache


def _bundle_url(client) -> str:
    page = client.get("/").data.decode()
    return re.search(r'src="(/assets/vendor/plotly-custom-[^"]+)"', page).group(1)


def test_distinct_query_strings_and_fingerprints_add_no_entries(app):
    client = app.server.test_client()
    bundle = _bundle_url(client)
    path = bundle.split("?")[0]
    dcc = "/_dash-component-suites/dash/dcc/dash_core_components.v4_4_1m{}.js"
    gz = {"Accept-Encoding": "gzip"}
    first = {u: client.get(u, headers=gz).data for u in (bundle, PLOTLY_FULL, dcc.format(1))}
    entries, size = len(_cache(app)), _cache(app).size_bytes
    for i in range(60):
        for url, same_as in ((f"{PLOTLY_FULL}?x={i}", PLOTLY_FULL), (f"{bundle}&x={i}", bundle),
                             (f"{path}?m={i}", bundle), (dcc.format(10**9 + i), dcc.format(1))):
            resp = client.get(url, headers=gz)
            assert resp.status_code == 200 and resp.headers["Content-Encoding"] == "gzip"
            assert resp.data == first[same_as], url
    assert (len(_cache(app)), _cache(app).size_bytes) == (entries, size)
    assert entries == 3
    # What is cached is what the file holds, compressed.
    assert gzip.decompress(first[PLOTLY_FULL]).startswith(b"/**\n* plotly.js v")


def test_a_partial_answer_is_never_cached_for_the_whole_file(app):
    client = app.server.test_client()
    bundle = _bundle_url(client)
    part = client.get(bundle, headers={"Accept-Encoding": "br", "Range": "bytes=0-99"})
    assert part.status_code == 206
    full = client.get(bundle, headers={"Accept-Encoding": "br"})
    assert full.status_code == 200 and len(full.data) > 100_000


def test_the_cache_is_bounded_by_bytes_least_recently_used_out_first():
    cache = StaticCompressionCache(max_bytes=1000)
    for key in "abc":
        cache.set(f"gzip;static:{key}", key.encode() * 300)
    assert cache.get("gzip;static:a") == b"a" * 300     # a is now the most recent
    cache.set("gzip;static:d", b"d" * 300)                # 1,200 bytes: b goes
    assert cache.get("gzip;static:b") is None
    assert [cache.get(f"gzip;static:{k}") is not None for k in "acd"] == [True] * 3
    assert cache.size_bytes == 900 and len(cache) == 3
    cache.set("gzip;static:a", b"A" * 100)                # overwrite: the size follows
    assert cache.size_bytes == 700
    cache.set("gzip;static:big", b"x" * 1001)             # larger than the whole cache: skipped
    assert cache.get("gzip;static:big") is None and cache.size_bytes == 700
    # Keys that are not a static file's content key are never stored.
    cache.set("gzip;nocache:/api/v1/nearest", b"y")
    cache.set("gzip;/assets/x.js?m=1", b"y")
    assert len(cache) == 3


def test_every_static_file_in_every_encoding_fits_the_bound():
    """The bound keeps all that can legitimately be cached (no thrashing for real users)."""
    app = create_app()
    client = app.server.test_client()
    client.get("/")
    cache = _cache(app)
    cache.max_bytes = 10**12  # measure what all of it takes
    for package, paths in list(app.registered_paths.items()):
        for path in list(paths):
            for enc in ("zstd", "br", "gzip", "deflate"):
                client.get(f"/_dash-component-suites/{package}/{path}",
                           headers={"Accept-Encoding": enc})
    assert 0 < cache.size_bytes <= STATIC_CACHE_MAX_BYTES < GOAL_MB * 1e6


@pytest.mark.slow
def test_gunicorn_workers_do_not_grow_under_1000_gets_with_distinct_query_strings(tmp_path: Path):
    """The Procfile's gunicorn, real sockets, real worker processes: RSS per worker."""
    assert "127.0.0.1:" in procfile_command()
    port = free_port()
    proc = start_server(port, tmp_path / "gunicorn.log")
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(base, proc)
        result = measure(base, proc.pid, requests=1000, concurrency=4)
    finally:
        stop_server(proc)
    assert result["statuses"] == {200: 1000}
    assert result["restarted"] == []
    assert max(result["growth"].values()) <= GOAL_MB, result


def test_get_and_head_with_any_query_string_compress_each_file_once(app, monkeypatch):
    """HEAD used to compress the whole file on every request (0.35 s of CPU for plotly.min.js)."""
    import flask_compress.flask_compress as fc

    calls: list[int] = []
    real = fc._compress_data
    monkeypatch.setattr(fc, "_compress_data", lambda a, data, algo: calls.append(len(data))
                        or real(a, data, algo))
    client = app.server.test_client()
    url = "/_dash-component-suites/dash/deps/react-dom@18.v4_4_1m{}.3.1.min.js"
    for i in range(20):
        for method in ("GET", "HEAD"):
            resp = client.open(url.format(i) + f"?x={i}", method=method,
                               headers={"Accept-Encoding": "zstd"})
            assert resp.status_code == 200 and resp.headers["Content-Encoding"] == "zstd"
    assert len(calls) <= 1
