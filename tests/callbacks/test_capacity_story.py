"""Issue 17, the capacity story, as functions (no browser): the 25,000-city client set counts as
demand and as support clients; numbers checked against a hand computation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dashboard.callbacks import scene
from dashboard.domain.scenario import DEFAULT_POPULATION_GBPS, Client, Scenario
from dashboard.gazetteer import demand_set, load_gazetteer
from dashboard.services import capacity as svc
from dashboard.services import support as support_svc
from dashboard.services.scenario import load_scenario
from dashboard.settings import Settings

SET = "cities25k"
PARIS = Client(48.8566, 2.3522, "Paris", 40)


def _set_gbps(scale: float = 1.0) -> float:
    """By hand: the set's inhabitants at the world population demand's default rate
    (10 Gbps over every gazetteer inhabitant), times the scale."""
    g = load_gazetteer()
    return (float(demand_set(g, SET).weights.sum()) / float(g._df["population"].sum())
            * DEFAULT_POPULATION_GBPS * scale)


def test_client_set_counts_as_demand(catalog):
    view = svc.capacity_view(catalog, Scenario(client_set=SET))
    assert view.totals["points"] == 25_000
    assert view.totals["demand_gbps"] == pytest.approx(_set_gbps(), rel=1e-9)
    assert 9.0 < view.totals["demand_gbps"] < 10.0  # 96 % of the world's 10 Gbps
    assert int(view.table["clients"].sum()) == 25_000
    assert view.table["nominal_gbps"].sum() == pytest.approx(_set_gbps(), rel=1e-9)
    kpis = {k.label: k.value for k in svc.capacity_kpis(view)}
    assert kpis["demand"] == f"{_set_gbps():,.2f} Gbps"


def test_own_clients_and_the_set_add_up_and_scale(catalog):
    s = Scenario(clients=(PARIS,), client_set=SET, demand_scale=2.0)
    d = svc.scenario_demand(s)
    assert len(d.lats) == 25_001 and d.labels[0] == "Paris"
    assert d.gbps[0] == pytest.approx(40 * 2.0 / 1000)  # 40 Mbps × 2
    assert d.total_gbps == pytest.approx(0.08 + _set_gbps(2.0), rel=1e-9)
    assert "client set" in d.note


def test_population_source_ignores_the_set(catalog):
    a = svc.scenario_demand(Scenario(client_set=SET, demand_source="population"))
    assert a.total_gbps == pytest.approx(DEFAULT_POPULATION_GBPS)


def test_n1_key_names_the_client_set():
    assert svc.n1_key(Scenario(client_set=SET), "eu-central-1") != \
        svc.n1_key(Scenario(), "eu-central-1")


def test_capacity_tab_renders_the_set_as_demand(catalog):
    loaded = load_scenario(Scenario(client_set=SET).to_dict(), catalog, Settings())
    kpis = scene.capacity_outputs(loaded, False, catalog)[0]
    assert "No demand yet" not in str(kpis)
    assert "9.58 Gbps" in str(kpis)


def test_client_set_rows_are_support_clients(catalog):
    s = Scenario(clients=(PARIS,), client_set=SET)
    options = support_svc.client_options(s)
    assert options[0][0] == 0 and "Paris" in options[0][1]
    assert len(options) == 1 + support_svc.MAX_SET_OPTIONS
    first = demand_set(load_gazetteer(), SET).names[0]
    assert options[1] == (1, f"#2 {first}  · client set")
    loaded = load_scenario(s.to_dict(), catalog, Settings())
    view = support_svc.explain_view(loaded, 1, catalog)
    assert view.title == f"#2 {first}" and not view.hint


def test_round_trip_sends_the_picker_when_only_the_set_changes(catalog):
    before = load_scenario(Scenario().to_dict(), catalog, Settings())
    after = load_scenario(Scenario(client_set=SET).to_dict(), catalog, Settings())
    out = scene.panel_outputs(after, scene.PageState(), catalog, before)
    options = out[6]
    assert isinstance(options, list) and len(options) == support_svc.MAX_SET_OPTIONS
