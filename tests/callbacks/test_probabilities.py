"""Landing probabilities where people decide (issue 14, part 3), as plain functions: the explain
panel, the map hover, the capacity view's expected load."""

from __future__ import annotations

import numpy as np
import pytest

from dashboard.callbacks import scene
from dashboard.domain.scenario import Client, Scenario
from dashboard.services import landing, support
from dashboard.services.scenario import load_scenario
from dashboard.settings import Settings

SETTINGS = Settings()
JNB = Client(-26.2041, 28.0473, "Johannesburg")
NBO = Client(-1.2864, 36.8172, "Nairobi")


def loaded(catalog, s: Scenario):
    return load_scenario(s.to_dict(), catalog, SETTINGS)


def test_healthy_probabilities_exclude_down_pops_and_sum_to_at_most_one(catalog):
    lats, lons = np.array([JNB.lat, NBO.lat, 48.85]), np.array([JNB.lon, NBO.lon, 2.35])
    m = landing.probability_matrix(catalog, lats, lons, {"LHR", "BOM"})
    col = {p: i for i, p in enumerate(catalog.pop_ids)}
    assert (m[:, col["LHR"]] == 0).all() and (m[:, col["BOM"]] == 0).all()
    assert (m.sum(axis=1) <= 1 + 1e-9).all() and m.sum(axis=1) == pytest.approx(1.0)
    assert landing.probability_matrix(catalog, lats, lons, catalog.pop_ids).sum() == 0


def test_large_sets_are_cached_and_read_only(catalog):
    rng = np.random.default_rng(1)
    lats, lons = rng.uniform(-50, 60, 1500), rng.uniform(-170, 170, 1500)
    a = landing.healthy_probabilities(catalog, lats, lons, {"FRA"})
    b = landing.healthy_probabilities(catalog, lats, lons, {"FRA"})
    assert a[0] is b[0] and not a[1].flags.writeable
    c = landing.healthy_probabilities(catalog, lats, lons, ())
    assert c[0] is not a[0] and c[0].shape[1] == a[0].shape[1] + 1


def test_explain_view_shows_probabilities_over_healthy_pops(catalog):
    s = Scenario(clients=(JNB,), origin="eu-central-1", down=frozenset({"LHR"}))
    v = support.explain_view(loaded(catalog, s), 0, catalog)
    assert v.landing.startswith("Where BGP likely hands this client: ") and "%" in v.landing
    assert "(the chosen BOM: " in v.landing
    assert "root-DNS" in v.landing_note and "not a promise" in v.landing_note
    assert "docs/calibration.md" in v.landing_note
    probs = dict(v.probabilities)
    assert "LHR" not in probs and 0 < sum(probs.values()) <= 1 + 1e-9
    rows = {r["pop_id"]: r for r in v.rows}
    assert rows["LHR"]["state"] == "down" and rows["LHR"]["probability_pct"] is None
    up = [r["probability_pct"] for r in v.rows if r["state"] == "up"]
    assert all(p is not None for p in up) and sum(up) <= 100.0 + 0.1 * len(up)
    # rendered: the line and the column are on the panel
    body = str(scene.support_outputs(loaded(catalog, s), 0, catalog)[0])
    assert "Where BGP likely hands this client" in body and "probability_pct" in body


def test_explain_view_with_every_pop_down_has_no_probabilities(catalog):
    s = Scenario(clients=(JNB,), down=frozenset(catalog.pop_ids))
    v = support.explain_view(loaded(catalog, s), 0, catalog)
    assert v.probabilities == () and "every access point is down" in v.landing
    assert all(r["probability_pct"] is None for r in v.rows)


def test_expected_load_sums_to_the_demand_and_spares_down_pops(catalog):
    from dashboard.services import capacity

    clients = (JNB, NBO, Client(48.8566, 2.3522, "Paris", 500), Client(35.68, 139.69, "Tokyo"))
    s = Scenario(clients=clients, down=frozenset({"LHR"}))
    base = capacity.capacity_view(catalog, Scenario(clients=clients, down=frozenset({"LHR"})))
    t = base.table.set_index("pop_id")
    assert t.loc["LHR", "expected_gbps"] == 0
    assert t["expected_gbps"].sum() == pytest.approx(base.totals["demand_gbps"], rel=1e-9)
    assert t["nominal_gbps"].sum() == pytest.approx(base.totals["demand_gbps"], rel=1e-9)
    # the deterministic numbers do not depend on the probabilities
    assert (t["nominal_gbps"] > 0).sum() <= 4
    page = capacity.capacity_page(loaded(catalog, s), catalog, False)
    assert any(k.label == "over capacity (expected)" for k in page.kpis)
    row = next(r for r in page.rows if r["id"] == "CDG")
    assert row["expected_gbps"] > 0 and row["expected_pct"] is not None
    assert next(r for r in page.rows if r["id"] == "LHR")["expected_pct"] is None
    kpis, _map, bars, rows = scene.capacity_outputs(loaded(catalog, s), False, catalog)[:4]
    names = [tr.name for tr in bars.data]
    assert "Expected (landing probability)" in names and names[0] == "Own demand served"
    exp = bars.data[names.index("Expected (landing probability)")]
    assert sum(exp.y) == pytest.approx(base.totals["demand_gbps"], rel=1e-6)
    assert "over capacity (expected)" in str(kpis)


def test_expected_load_with_no_healthy_pop_is_zero(catalog):
    from dashboard.services import capacity

    v = capacity.capacity_view(catalog, Scenario(clients=(JNB,), down=frozenset(catalog.pop_ids)))
    assert v.table["expected_gbps"].sum() == 0 and v.totals["expected_over_capacity"] == []


def test_map_hover_shows_probabilities_below_the_compact_threshold(catalog):
    from dashboard.figures import map as map_figures
    from dashboard.services import map as map_service

    s = Scenario(clients=(JNB, NBO), origin="eu-central-1", down=frozenset({"LHR"}))
    view = map_service.map_view(loaded(catalog, s), catalog)
    assert len(view.landing) == 2 and all("%" in t for t in view.landing)
    assert all("LHR" not in t for t in view.landing)
    fig = map_figures.map_figure(catalog.pops, catalog.origins, view.origin_id, view.routes,
                                 view.names, view.down, landing=view.landing)
    clients = fig.data[map_figures.map_trace_index(map_figures.CLIENTS)]
    assert all("<br>BGP likely: " in t and "%" in t for t in clients.hovertext)
    # the one round trip draws them too
    from dashboard.services import events
    ev = events.scenario_event(events.PAGE_LOAD, "?clients=-26.2041,28.0473,Johannesburg",
                               None, None, None, None, catalog, SETTINGS)
    out = scene.map_outputs(ev.loaded, scene.PageState(), catalog)
    assert "BGP likely: " in " ".join(out[0].data[map_figures.map_trace_index(
        map_figures.CLIENTS)].hovertext)


def test_compact_map_has_no_probabilities(catalog):
    from dashboard.services import map as map_service

    s = Scenario(client_set="cities25k")
    view = map_service.map_view(loaded(catalog, s), catalog)
    assert len(view.routes) >= map_service.HOVER_PROBABILITIES_BELOW and view.landing == []
