"""Issue 15: the cost panel's view-model and its rendering in the capacity tab."""

from __future__ import annotations

import pytest

from dashboard.callbacks import scene
from dashboard.domain.scenario import Client, Scenario
from dashboard.services import capacity as svc
from dashboard.services.scenario import load_scenario
from dashboard.settings import Settings

# Weights are Mbps: 900 Mbps in Tokyo (Asia Pacific), 500 Mbps in Paris (Europe).
S = Scenario(clients=(Client(35.68, 139.69, "Tokyo", 900.0), Client(48.86, 2.35, "Paris", 500.0)),
             origin="eu-central-1", default_capacity_gbps=10.0)


def test_cost_panel_without_prices_says_none_are_shipped(catalog):
    page = svc.capacity_page(load_scenario(S.to_dict(), catalog, Settings()), catalog, False)
    panel = page.cost
    assert not panel.complete and "No public price table" in panel.note
    assert [r["item"] for r in panel.rows] == [
        "Internet traffic, Asia Pacific", "Internet traffic, Europe",
        "Data transfer to the origin", "Instance fee (per month)"]
    assert all(r["price"] == "not entered" for r in panel.rows)
    assert panel.rows[0]["gb"] == f"{0.9 * 324_000:,.0f}"
    assert "incomplete" in panel.total


def test_cost_panel_with_prices_adds_up(catalog):
    s = S.with_cost({"instance": 5, "transfer": 0.01, "ap": 0.1, "eu": 0.05, "util": 0.5})
    view = svc.capacity_view(catalog, s)
    panel = svc.cost_panel(catalog, s, view)
    ap, eu = 0.9 * 162_000, 0.5 * 162_000
    want = ap * 0.1 + eu * 0.05 + (ap + eu) * 0.01 + 5
    assert panel.complete and panel.total == f"{want:,.2f} per month"
    assert panel.inputs["util"] == 0.5 and panel.inputs["na"] is None


def test_cost_follows_served_demand_not_throttled(catalog):
    """Traffic throttled at a full PoP is not transferred: it is not billed either."""
    s = S.with_capacity({}, 0.5).with_cost({"ap": 1.0})
    panel = svc.cost_panel(catalog, s, svc.capacity_view(catalog, s))
    assert panel.rows[0]["gb"] == f"{0.5 * 324_000:,.0f}"  # NRT serves 0.5 of 0.9 Gbps


def test_the_capacity_tab_renders_the_cost_panel(catalog):
    out = scene.capacity_outputs(load_scenario(S.to_dict(), catalog, Settings()), False, catalog)
    assert len(out) == len(scene.CAPACITY_TAB_OUT) == 7
    assert "Data transfer to the origin" in str(out[4]) and "Total" in str(out[4])


@pytest.mark.parametrize("util", [0.25, 1.0])
def test_volume_scales_with_utilisation(catalog, util):
    s = S.with_cost({"util": util})
    panel = svc.cost_panel(catalog, s, svc.capacity_view(catalog, s))
    assert panel.rows[1]["gb"] == f"{0.5 * 324_000 * util:,.0f}"
