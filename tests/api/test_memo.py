"""The memoizer and the service layer's cache keys (pitfall 8: keys from primitive args only)."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from dashboard import memo
from dashboard.services import routing
from dashboard.app import create_app
from dashboard.catalog import Catalog, load_catalog
from dashboard.settings import DATA_DIR, Settings
from tests.conftest import ROOT


def test_keys_ignore_frozenset_order_and_separate_arguments():
    a = memo.make_key("f", ("x", frozenset({"FRA", "CDG", "LHR"})))
    b = memo.make_key("f", ("x", frozenset({"LHR", "FRA", "CDG"})))
    assert a == b
    assert memo.make_key("f", (1.0, 2.0)) != memo.make_key("f", (2.0, 1.0))
    assert memo.make_key("f", ("ab", "c")) != memo.make_key("f", ("a", "bc"))
    assert memo.make_key("f", (1.0,)) != memo.make_key("g", (1.0,))


def test_long_coordinate_tuples_hash_by_value():
    clients = tuple((float(i) / 7, -float(i) / 3) for i in range(1000))
    assert memo.make_key("f", (clients,)) == memo.make_key("f", (tuple(clients),))
    moved = clients[:-1] + ((clients[-1][0] + 1e-9, clients[-1][1]),)
    assert memo.make_key("f", (clients,)) != memo.make_key("f", (moved,))


@pytest.mark.parametrize("bad", [[1, 2], {"a": 1}, pd.DataFrame(), object(), {1, 2}])
def test_non_primitive_arguments_are_refused(bad):
    with pytest.raises(TypeError, match="primitive"):
        memo.make_key("f", (bad,))


def test_services_work_without_an_app_and_do_not_cache(catalog, monkeypatch):
    calls = []
    original = routing.paths.rank_pops

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(routing.paths, "rank_pops", counting)
    routing.rank_for_point(catalog, 10.0, 20.0, "eu-central-1")
    routing.rank_for_point(catalog, 10.0, 20.0, "eu-central-1")
    assert len(calls) == 2


def test_services_cache_inside_an_app_and_return_independent_copies(catalog):
    app = create_app(Settings(), catalog)
    with app.server.app_context():
        first = routing.rank_for_point(catalog, 10.0, 20.0, "eu-central-1", frozenset({"FRA"}))
        first.loc[0, "pop_id"] = "MUTATED"
        second = routing.rank_for_point(catalog, 10.0, 20.0, "eu-central-1",
                                         frozenset({"FRA"}))
        stats = app.server.extensions[memo.STATS_EXT]
        assert (stats.hits, stats.misses) == (1, 1)
    assert second.loc[0, "pop_id"] != "MUTATED"
    pd.testing.assert_frame_equal(
        second, routing.rank_for_point(catalog, 10.0, 20.0, "eu-central-1", frozenset({"FRA"})))


def test_route_table_memoized_equals_uncached(catalog):
    clients = tuple((float(la), float(lo)) for la, lo in [(50, 8), (1.3, 103.8), (-33.9, 151.2)])
    app = create_app(Settings(), catalog)
    with app.server.app_context():
        cached = [routing.route_table(catalog, clients, "us-east-1", frozenset({"SIN"}))
                  for _ in range(2)]
    plain = routing.route_table(catalog, clients, "us-east-1", frozenset({"SIN"}))
    pd.testing.assert_frame_equal(cached[0], plain)
    pd.testing.assert_frame_equal(cached[1], plain)
    assert app.server.extensions[memo.STATS_EXT].hits == 1


def test_catalog_fingerprint_follows_contents_not_identity(catalog, tmp_path):
    again = load_catalog(DATA_DIR / "pops.csv", DATA_DIR / "origins.csv")
    assert again is not catalog
    assert routing.catalog_fingerprint(again) == routing.catalog_fingerprint(catalog)
    pops = catalog.pops.copy()
    pops.loc[pops["id"] == "FRA", "lat"] = 50.2
    moved = Catalog(pops=pops, origins=catalog.origins)
    assert routing.catalog_fingerprint(moved) != routing.catalog_fingerprint(catalog)
    # ... so an app with a moved PoP never gets the other catalog's cached answers.
    app = create_app(Settings(), catalog)
    with app.server.app_context():
        a = routing.rank_for_point(catalog, 50.0, 8.0, "eu-central-1")
        b = routing.rank_for_point(moved, 50.0, 8.0, "eu-central-1")
    assert a.loc[a["pop_id"] == "FRA", "distance_km"].item() != \
        b.loc[b["pop_id"] == "FRA", "distance_km"].item()


def test_importing_the_services_loads_no_web_module():
    code = ("import sys, dashboard.services, dashboard.memo\n"
            "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('dash', 'flask', 'flask_caching', 'werkzeug', 'plotly'))))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == ""
