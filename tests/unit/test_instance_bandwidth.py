"""Issue 15: the documented per-instance bandwidth and the spill-over what-if as scenario fields,
link keys and edits (the default: 1,000 Mbps, no spill; at most 5,000 Mbps)."""

from __future__ import annotations

import pytest

from dashboard.domain.edits import EditContext, apply_edit
from dashboard.domain.scenario import DEFAULT_INSTANCE_MBPS, MAX_INSTANCE_MBPS, Scenario
from dashboard.domain.scenario_url import from_query, to_query

CTX = EditContext(max_clients=1000)


def test_defaults_are_the_documented_ones_and_leave_stores_unchanged():
    s = Scenario()
    assert s.instance_mbps is None and s.spill_whatif is False
    assert DEFAULT_INSTANCE_MBPS == 1000 and MAX_INSTANCE_MBPS == 5000
    assert "instance_mbps" not in s.to_dict() and "spill_whatif" not in s.to_dict()
    assert to_query(s) == ""


def test_instance_and_spill_round_trip_through_store_and_link():
    s = Scenario(instance_mbps=2500, spill_whatif=True)
    assert Scenario.from_dict(s.to_dict()) == s
    q = to_query(s)
    assert "instance=2500" in q and "spill=on" in q
    back, warnings = from_query(q)
    assert back.instance_mbps == 2500 and back.spill_whatif and not warnings


@pytest.mark.parametrize("bad", [0, -1, 5001, float("nan"), "x"])
def test_instance_outside_the_documented_range_is_refused(bad):
    with pytest.raises(ValueError):
        Scenario(instance_mbps=bad)


def test_bad_link_values_warn_and_fall_back():
    s, warnings = from_query("instance=9000&spill=maybe")
    assert s.instance_mbps is None and not s.spill_whatif
    assert any("5,000 Mbps" in w for w in warnings) and any("spill" in w for w in warnings)


def test_capacity_edit_sets_and_resets_instance_and_spill():
    s, notes = apply_edit(Scenario(), {"op": "capacity", "instance_mbps": 3000}, CTX)
    assert s.instance_mbps == 3000 and not notes
    s, _ = apply_edit(s, {"op": "capacity", "spill": True}, CTX)
    assert s.spill_whatif and s.instance_mbps == 3000
    s, _ = apply_edit(s, {"op": "capacity", "instance_mbps": None, "spill": False}, CTX)
    assert s == Scenario()
    same, notes = apply_edit(s, {"op": "capacity", "instance_mbps": 6000}, CTX)
    assert same == s and notes[0][0] == "error" and "5,000" in notes[0][1]
    same, notes = apply_edit(s, {"op": "capacity", "spill": "yes"}, CTX)
    assert same == s and notes[0][0] == "error"
