"""Issue 15: the cost estimate's arithmetic (no price shipped; every price an input)."""

from __future__ import annotations

import pytest

from dashboard.domain import cost
from dashboard.domain.edits import EditContext, apply_edit
from dashboard.domain.scenario import Scenario
from dashboard.domain.scenario_url import from_query, to_query


def test_one_gbps_for_a_30_day_month_is_324000_gb():
    assert cost.gb_per_month(1.0) == pytest.approx(0.125 * 30 * 86_400) == 324_000
    assert cost.gb_per_month(2.0, 0.25) == pytest.approx(162_000)


def test_estimate_by_hand():
    prices = {"instance": 10.0, "transfer": 0.01, "eu": 0.05, "ap": 0.1, "util": 0.5}
    est = cost.estimate({"Europe": 1.0, "Asia Pacific": 0.5, "Australia": 0.0}, prices)
    by = {ln.label: ln for ln in est.lines}
    assert by["Internet traffic, Europe"].gb == pytest.approx(162_000)
    assert by["Internet traffic, Europe"].cost == pytest.approx(8_100)
    assert by["Internet traffic, Asia Pacific"].cost == pytest.approx(81_000 * 0.1)
    assert "Internet traffic, Australia" not in by  # no demand: no price needed
    assert by["Data transfer to the origin"].gb == pytest.approx(243_000)
    assert by["Data transfer to the origin"].cost == pytest.approx(2_430)
    assert est.total == pytest.approx(8_100 + 8_100 + 2_430 + 10) and est.complete


def test_missing_prices_leave_the_total_incomplete_and_named():
    est = cost.estimate({"Europe": 1.0}, {"eu": 0.05})
    assert not est.complete
    assert set(est.missing) == {"data transfer price to the origin", "instance fee"}
    assert est.total == pytest.approx(324_000 * 0.05)
    assert cost.estimate({}, {}).missing == ("instance fee",)


@pytest.mark.parametrize("key, value", [("util", 0), ("util", 1.5), ("eu", -1),
                                        ("eu", float("inf")), ("xx", 1), ("eu", "abc")])
def test_bad_inputs_are_refused(key, value):
    with pytest.raises(ValueError):
        cost.check_cost_value(key, value)


def test_cost_inputs_travel_in_store_link_and_edits():
    s, notes = apply_edit(Scenario(), {"op": "capacity", "cost": {"eu": 0.05, "util": 0.4}},
                          EditContext(max_clients=10))
    assert dict(s.cost) == {"eu": 0.05, "util": 0.4} and not notes
    assert Scenario.from_dict(s.to_dict()) == s
    assert from_query(to_query(s))[0] == s and "cost=eu:0.05,util:0.4" in to_query(s)
    cleared, _ = apply_edit(s, {"op": "capacity", "cost": {"eu": None}},
                            EditContext(max_clients=10))
    assert dict(cleared.cost) == {"util": 0.4}
    same, notes = apply_edit(s, {"op": "capacity", "cost": {"util": 2}},
                             EditContext(max_clients=10))
    assert same == s and notes[0][0] == "error"
    assert "cost" not in Scenario().to_dict()  # stores and digests unchanged without it
    _, warnings = from_query("cost=eu:x,util:0.5")
    assert any("cost input" in w for w in warnings)
