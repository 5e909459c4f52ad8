"""Compression, cache headers and the vendored partial plotly.js bundle (goal P3)."""

from __future__ import annotations

import gzip
import json
import re

from dashboard.app import create_app
from dashboard.serving import BUNDLE_TRACE_TYPES, IMMUTABLE
from dashboard.settings import ASSETS_DIR
from tests.conftest import ROOT


def _page_scripts(client) -> list[str]:
    return re.findall(r'src="([^"]+)"', client.get("/").data.decode())


HEADER = re.compile(rb"/\*\*\n\* plotly\.js \(custom: ([a-z, ]+) - minified\) v(\d+\.\d+\.\d+)\n")


def test_page_loads_the_vendored_bundle_with_long_cache_and_compression():
    client = create_app().server.test_client()
    scripts = _page_scripts(client)
    bundle = [s for s in scripts if "/assets/vendor/plotly-custom-" in s]
    assert len(bundle) == 1 and "?m=" in bundle[0]
    resp = client.get(bundle[0], headers={"Accept-Encoding": "gzip"})
    assert resp.status_code == 200 and resp.headers["Content-Encoding"] == "gzip"
    assert resp.headers["Cache-Control"] == IMMUTABLE
    body = gzip.decompress(resp.data)
    assert HEADER.match(body)
    assert len(resp.data) < len(body) / 2
    # The same bytes again from the per-process compressed cache.
    again = client.get(bundle[0], headers={"Accept-Encoding": "gzip"})
    assert again.data == resp.data
    # Nothing else on the page is a plotly.js bundle (dcc.Graph uses window.Plotly).
    assert not [s for s in scripts if "plotly.min.js" in s]


def test_bundle_version_matches_the_plotly_py_bundle():
    from importlib.resources import files

    full = (files("plotly") / "package_data" / "plotly.min.js").open("rb").read(200).decode()
    version = re.search(r"plotly\.js v(\d+\.\d+\.\d+)", full).group(1)
    # Dash loads every assets/*.js: exactly one plotly.js there, of plotly.py's version.
    scripts = sorted(p.name for p in (ASSETS_DIR / "vendor").glob("*.js"))
    vendored = sorted((ASSETS_DIR / "vendor").glob("plotly*.js"))
    assert [p.name for p in vendored] == [f"plotly-custom-{version}.min.js"]
    # the only other vendored script: the regenerator runtime that replaces Dash's polyfill
    # (dashboard.serving.drop_polyfill, tests/unit/test_serving_polyfill.py)
    assert scripts == sorted([vendored[0].name, "regenerator-runtime-0.13.min.js"])
    assert HEADER.match(vendored[0].read_bytes()[:300]).group(2).decode() == version
    assert (ASSETS_DIR / "vendor" / "plotly.js-LICENSE.txt").read_text().startswith(
        "MIT License")
    # ...and the build recipe pins the same version (tools/build_plotly_bundle.sh).
    recipe = ROOT / "tools" / "plotly-bundle"
    assert json.loads((recipe / "package.json").read_text())["dependencies"] == {
        "plotly.js": version}
    lock = json.loads((recipe / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/plotly.js"]["version"] == version


def test_bundle_holds_exactly_the_declared_trace_types():
    """The committed file, its build entry point and BUNDLE_TRACE_TYPES agree."""
    bundle = next((ASSETS_DIR / "vendor").glob("plotly-custom-*.min.js"))
    in_header = set(HEADER.match(bundle.read_bytes()[:300]).group(1).decode().split(", "))
    entry = (ROOT / "tools" / "plotly-bundle" / "index.js").read_text()
    registered = set(re.findall(r"require\('plotly\.js/lib/(\w+)'\)", entry)) - {"core"}
    assert in_header == registered | {"scatter"} == BUNDLE_TRACE_TYPES


def test_every_trace_type_the_app_builds_is_in_the_bundle():
    used = set()
    for path in (ROOT / "dashboard").rglob("*.py"):
        used |= {m.lower() for m in re.findall(r"\bgo\.(\w+)\(", path.read_text())
                 if m not in ("Figure", "Layout")}
    assert used, "no trace constructors found"
    assert used <= BUNDLE_TRACE_TYPES, (
        f"trace types {sorted(used - BUNDLE_TRACE_TYPES)} are not in the vendored plotly.js "
        "bundle; see dashboard/serving.py and tools/build_plotly_bundle.sh")


def test_dynamic_responses_are_compressed_but_never_cached():
    app = create_app()
    client = app.server.test_client()
    a = client.get("/api/v1/nearest?lat=48.1&lon=11.6", headers={"Accept-Encoding": "gzip"})
    b = client.get("/api/v1/nearest?lat=1.3&lon=103.8", headers={"Accept-Encoding": "gzip"})
    assert a.headers["Content-Encoding"] == "gzip" and a.headers["Cache-Control"] == "no-store"
    assert gzip.decompress(a.data) != gzip.decompress(b.data)
    plain = client.get("/api/v1/nearest?lat=48.1&lon=11.6")
    assert "Content-Encoding" not in plain.headers and plain.json["pop"]["id"] == "FRA"
    # Assets without the fingerprint keep Dash's revalidation.
    topo = client.get("/assets/topojson/world_110m.json")
    assert topo.status_code == 200 and "immutable" not in topo.headers.get("Cache-Control", "")


def test_first_render_chunks_are_page_scripts_and_nothing_else_lazy_is():
    """The lazy component chunks the first render mounts are plain script tags of the page,
    fingerprinted, cached for a year (Dash's header) and compressed (issue 16: React then commits the map's
    graph without waiting); the rest (MathJax, Markdown, sliders, plotly.min.js) stay lazy."""
    from dashboard.serving import FIRST_RENDER_CHUNKS

    client = create_app().server.test_client()
    scripts = _page_scripts(client)
    for path in FIRST_RENDER_CHUNKS:
        stem = path.rsplit(".", 1)[0]
        tags = [s for s in scripts if f"/_dash-component-suites/dash/{stem}.v" in s]
        assert len(tags) == 1, (path, scripts)
        resp = client.get(tags[0], headers={"Accept-Encoding": "gzip"})
        assert resp.status_code == 200 and resp.headers["Content-Encoding"] == "gzip"
        assert "max-age=31536000" in resp.headers["Cache-Control"]
        assert b"webpackChunk" in gzip.decompress(resp.data)[:200]
    # each chunk's script runs before its bundle's (webpack's runtime takes the early chunks in)
    order = [next(i for i, s in enumerate(scripts) if key in s)
             for key in ("async-table", "dash_table/bundle", "async-graph",
                         "dash_core_components.v")]
    assert order[0] < order[1] and order[2] < order[3]
    # assets/lazy_warm.js resolves dcc.Graph's loader before the layout renders (map mounted at once)
    assert [s for s in scripts if "/assets/lazy_warm.js" in s]
    lazy = ("mathjax", "markdown", "slider", "datepicker", "async-export", "plotly.min")
    assert not [s for s in scripts if any(k in s for k in lazy)]
