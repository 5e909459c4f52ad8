"""Dash's @babel/polyfill left out of the page, the regenerator runtime it carries served as an
asset (dashboard.serving.drop_polyfill; issue 16, docs/performance.md "Issue 16: the page
against a bare Dash page")."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import dash
import pytest

from dashboard import serving
from dashboard.app import create_app
from dashboard.settings import ASSETS_DIR

POLYFILL = Path(dash.__file__).parent / "deps" / "polyfill@7.12.1.min.js"


def test_the_asset_is_the_regenerator_module_of_the_installed_dash_polyfill():
    asset = (ASSETS_DIR / serving.REGENERATOR_ASSET).read_text()
    assert asset == serving.regenerator_source(POLYFILL.read_text())
    assert 7_000 < len(asset.encode()) < 8_000  # vs 99 KB for the whole polyfill


def test_a_bundle_without_the_module_is_refused():
    with pytest.raises(ValueError):
        serving.regenerator_source("!function(){}({1:[function(t,n,r){t(2)},{}]})")


@pytest.mark.skipif(not Path("/usr/bin/node").exists(), reason="no node")
def test_the_asset_defines_regenerator_runtime():  # pragma: no cover - needs node
    js = (ASSETS_DIR / serving.REGENERATOR_ASSET).read_text()
    out = subprocess.run(["/usr/bin/node", "-e", js + ";console.log(typeof regeneratorRuntime.mark,"
                          " typeof regeneratorRuntime.wrap)"], capture_output=True, text=True)
    assert out.stdout.split() == ["function", "function"]


def test_the_page_has_no_polyfill_and_the_runtime_before_dash_bundles():
    html = create_app().server.test_client().get("/").get_data(as_text=True)
    srcs = re.findall(r'<script src="([^"]+)"', html)
    assert not any("/deps/polyfill@" in s for s in srcs)
    runtime = next(i for i, s in enumerate(srcs) if "regenerator-runtime" in s)
    first_dash = next(i for i, s in enumerate(srcs)
                      if "dash_renderer" in s or "dash_core_components" in s or "async-" in s)
    react = next(i for i, s in enumerate(srcs) if "/deps/react@" in s)
    assert react < runtime < next(i for i, s in enumerate(srcs) if "dash_renderer" in s)
    assert first_dash >= 0


def test_nothing_is_dropped_without_the_asset(monkeypatch, tmp_path):
    monkeypatch.setattr(serving, "REGENERATOR_ASSET", "vendor/missing.js")
    html = create_app().server.test_client().get("/").get_data(as_text=True)
    assert "/deps/polyfill@" in html


def test_the_prefetched_outline_is_the_one_the_map_draws():
    # assets/geo_prefetch.js fills plotly.js's cache under the name plotly.js looks up for the
    # map's geo (scope world, resolution 110: "world_110m"), from the file next to it
    js = (ASSETS_DIR / "geo_prefetch.js").read_text()
    assert "var NAME = 'world_110m';" in js
    assert (ASSETS_DIR / "topojson" / "world_110m.json").is_file()
    from dashboard.figures import map as map_figures
    assert "resolution=110" in Path(map_figures.__file__).read_text()
