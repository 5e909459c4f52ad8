"""Issue 15: endpoint rules as documented (docs/failover.md cites each page).

ALB/NLB: one region only; a new Default demotes the old one to Normal; unbinding the Default
promotes a random other endpoint (the user picks which to see); Normal endpoints may have no
access point.
"""

from __future__ import annotations

import pytest

from dashboard.domain import endpoints as ep
from dashboard.domain.edits import EditContext, apply_edit
from dashboard.domain.scenario import ENDPOINT_TYPES, Scenario
from dashboard.domain.scenario_url import from_query, to_query

CTX = EditContext(max_clients=10, default_region="eu-central-1")
TWO = Scenario(origin="eu-central-1", mappings=(("us-east-1", ("IAD",)),
                                                 ("ap-southeast-1", ("SIN",))))


def test_the_documented_endpoint_types():
    assert ENDPOINT_TYPES == ("CLB", "ENI", "ALB", "NLB")
    assert ep.SINGLE_REGION_TYPES == ("ALB", "NLB")


@pytest.mark.parametrize("etype", ["ALB", "NLB"])
def test_alb_and_nlb_allow_one_region_only(etype):
    s = Scenario(origin="eu-central-1", endpoint_type=etype)
    with pytest.raises(ValueError, match="one region only"):
        s.add_endpoint("us-east-1", ["IAD"], "x")
    with pytest.raises(ValueError, match="one region only"):
        TWO.with_endpoint_type(etype)
    # choosing another region moves the single endpoint (nothing to demote to)
    moved = s.make_default("us-east-1", "x")
    assert moved.origin == "us-east-1" and moved.mappings == ()
    # a link naming Normal endpoints with an NLB keeps the Default only, and says why
    fixed, warnings = from_query(f"endpoint={etype}&endpoints=us-east-1:IAD")[0].sanitized("x")
    assert fixed.mappings == () and any("one region only" in w for w in warnings)


def test_normal_endpoint_without_access_points_is_allowed():
    s = Scenario(origin="eu-central-1").add_endpoint("us-east-1", [], "x")
    assert s.mappings == (("us-east-1", ()),)
    assert s.endpoint_set("x").region_for_pop("IAD") == "eu-central-1"  # carries no traffic
    back, warnings = from_query(to_query(s))
    assert back.sanitized("x")[0] == s and not warnings
    new, notes = apply_edit(Scenario(origin="eu-central-1"),
                            {"op": "endpoint_add", "region": "us-east-1", "pops": []}, CTX)
    assert new.mappings == (("us-east-1", ()),) and "no access point" in notes[0][1]


def test_a_new_default_demotes_the_old_one_to_normal():
    new, notes = apply_edit(TWO, {"op": "endpoint_default", "region": "us-east-1"}, CTX)
    assert new.origin == "us-east-1"
    assert dict(new.mappings) == {"eu-central-1": (), "ap-southeast-1": ("SIN",)}
    assert "demoted to Normal" in notes[0][1]


def test_unbinding_the_default_lists_the_random_candidates_and_applies_the_pick():
    assert TWO.promotion_candidates("x") == ("us-east-1", "ap-southeast-1")
    with pytest.raises(ValueError, match="us-east-1, ap-southeast-1 at random"):
        TWO.remove_endpoint("eu-central-1", "x")
    for pick in TWO.promotion_candidates("x"):
        new, notes = apply_edit(TWO, {"op": "endpoint_promote", "region": pick}, CTX)
        assert new.origin == pick and "eu-central-1" not in dict(new.mappings)
        assert pick not in dict(new.mappings) and len(new.mappings) == 1
        assert "at random" in notes[0][1]
    only = Scenario(origin="eu-central-1")
    with pytest.raises(ValueError, match="only endpoint"):
        only.remove_endpoint("eu-central-1", "x", promote="us-east-1")
    same, notes = apply_edit(TWO, {"op": "endpoint_promote", "region": "us-west-1"}, CTX)
    assert same == TWO and notes[0][0] == "error"


def test_the_endpoint_set_accepts_normal_endpoints_without_pops():
    items = (ep.Endpoint("eu-central-1"), ep.Endpoint("us-east-1", ep.NORMAL))
    assert ep.Endpoints(items).promotion_candidates() == ("us-east-1",)
