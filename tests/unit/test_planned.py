"""Planned (hypothetical) access points in the domain: the value, the scenario's edits, the URL
codec (round trip, property-based), the store and the JSON export/import, the reducer's ops
(docs/planning.md)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.catalog import POP_ID_RE
from dashboard.domain.edits import EditContext, apply_edit
from dashboard.domain.exports import ScenarioImportError, scenario_from_json, scenario_to_json
from dashboard.domain.planned import (MAX_PLANNED, PLANNED_ID_RE, PlannedPop, auto_id,
                                      check_planned)
from dashboard.domain.scenario import Client, Scenario
from dashboard.domain.scenario_url import from_query, parse_planned, to_query

POPS = ("HKG", "SIN", "CDG", "FRA", "LHR", "BOM")
ORIGINS = ("eu-central-1", "us-east-1")
JNB = PlannedPop("JNB", -26.2041, 28.0473, "Johannesburg")


def test_the_id_rule_is_the_catalogs():
    assert PLANNED_ID_RE.pattern == POP_ID_RE.pattern


def test_a_planned_pop_is_cleaned_like_a_client():
    p = PlannedPop(" jnb ", "-26.20414", 28.04731, "  Jo\u200bburg ", "2.5")
    assert (p.id, p.lat, p.lon, p.name, p.capacity_gbps) == ("JNB", -26.2041, 28.0473,
                                                             "Joburg", 2.5)
    assert p.label == "JNB (Joburg, planned)"
    assert PlannedPop.from_dict(p.to_dict()) == p


@pytest.mark.parametrize("kw, fragment", [
    (dict(id="J", lat=0, lon=0), "2-8 letters"),
    (dict(id="JNB!", lat=0, lon=0), "2-8 letters"),
    (dict(id="ABCDEFGHI", lat=0, lon=0), "2-8 letters"),
    (dict(id="JNB", lat=91, lon=0), "latitude 91"),
    (dict(id="JNB", lat=0, lon=181), "longitude 181"),
    (dict(id="JNB", lat=float("nan"), lon=0), "latitude"),
    (dict(id="JNB", lat=True, lon=0), "latitude"),
    (dict(id="JNB", lat=0, lon=0, capacity_gbps=0), "capacity"),
    (dict(id="JNB", lat=0, lon=0, capacity_gbps=float("inf")), "capacity"),
    (dict(id="JNB", lat=0, lon=0, capacity_gbps="x"), "capacity"),
])
def test_bad_values_are_refused_naming_the_field(kw, fragment):
    with pytest.raises(ValueError, match=fragment):
        PlannedPop(**kw)


def test_the_cap_and_unique_ids():
    many = [PlannedPop(f"P{i}", 0, i) for i in range(MAX_PLANNED + 1)]
    with pytest.raises(ValueError, match=f"at most {MAX_PLANNED}"):
        check_planned(many)
    with pytest.raises(ValueError, match="used twice"):
        check_planned([JNB, JNB])
    with pytest.raises(ValueError, match=f"at most {MAX_PLANNED}"):
        Scenario(planned=tuple(many))
    s = Scenario(planned=tuple(many[:MAX_PLANNED]))
    with pytest.raises(ValueError, match=f"at most {MAX_PLANNED}"):
        s.add_planned(JNB)


def test_auto_id():
    assert auto_id("Johannesburg", set()) == "JOH"
    assert auto_id("Johannesburg", {"JOH"}) == "JOH2"
    assert auto_id("São Paulo", set()) == "SAO"
    assert auto_id("", set()) == "P1"
    assert auto_id("", {"P1", "P2"}) == "P3"
    assert auto_id("北京", set()) == "P1"  # no ASCII letters


def test_scenario_edits_and_mentions():
    s = Scenario(clients=(Client(1, 2),)).add_planned(JNB, POPS)
    with pytest.raises(ValueError, match="catalog"):
        s.add_planned(PlannedPop("CDG", 1, 2), POPS)
    with pytest.raises(ValueError, match="already exists"):
        s.add_planned(JNB, POPS)
    # the planned id is a known access point for the rest of the scenario
    s = s.toggle_pop("JNB").with_capacity({"JNB": 3}).with_observed(0, "JNB")
    assert s.unknown_ids(POPS, ORIGINS) == []
    assert s.known(POPS, ORIGINS) == s
    gone = s.remove_planned("JNB")
    assert gone.planned == () and gone.down == frozenset() and gone.capacity == () \
        and gone.observed == ()
    assert s.update_planned("JNB", capacity_gbps=5, name="Jozi").planned[0] == PlannedPop(
        "JNB", -26.2041, 28.0473, "Jozi", 5)
    # a planned id that is (now) a catalog id: the catalog wins
    assert Scenario(planned=(PlannedPop("CDG", 1, 2),)).known(POPS, ORIGINS).planned == ()


def test_store_round_trip_and_digest_stability():
    s = Scenario(planned=(JNB, PlannedPop("LOS", 6.45, 3.39, capacity_gbps=4)))
    assert Scenario.from_dict(s.to_dict()) == s
    assert "planned" not in Scenario().to_dict()  # older stores and digests unchanged
    with pytest.raises(ValueError, match="at most"):
        Scenario.from_dict({"planned": [{"id": f"P{i}", "lat": 0, "lon": 0}
                                        for i in range(MAX_PLANNED + 1)]})
    with pytest.raises(ValueError, match="list"):
        Scenario.from_dict({"planned": "JNB"})


# -- the URL key -----------------------------------------------------------------------------

def test_link_grammar():
    s, w = from_query("planned=JNB:-26.2041,28.0473,Johannesburg%2C%20ZA;LOS:6.45,3.39,,4"
                      "&down=JNB,CDG", pop_ids=POPS, origin_ids=ORIGINS)
    assert w == []
    assert s.planned == (PlannedPop("JNB", -26.2041, 28.0473, "Johannesburg, ZA"),
                         PlannedPop("LOS", 6.45, 3.39, "", 4))
    assert s.down == {"JNB", "CDG"}  # down= names a planned PoP given later in the link
    assert to_query(s) == ("down=CDG,JNB&planned=JNB:-26.2041,28.0473,Johannesburg%2C%20ZA;"
                           "LOS:6.45,3.39,,4")


@pytest.mark.parametrize("value, fragment", [
    ("CDG:1,2", "catalog access point id"),
    ("JNB:1", "expected ID:lat,lon"),
    ("JNB", "expected ID:lat,lon"),
    ("J:1,2", "2-8 letters"),
    ("JNB:91,2", "latitude 91"),
    ("JNB:1,2;JNB:3,4", "appears twice"),
    ("JNB:1,2,x,-1", "capacity"),
    (";".join(f"P{i}:1,{i}" for i in range(MAX_PLANNED + 3)), f"at most {MAX_PLANNED}"),
])
def test_bad_planned_pieces_are_dropped_with_a_warning(value, fragment):
    s, w = from_query("planned=" + value, pop_ids=POPS, origin_ids=ORIGINS)
    assert any(fragment in x for x in w), w
    assert len(s.planned) <= MAX_PLANNED


names = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
planned_pops = st.builds(
    PlannedPop, st.from_regex(r"[A-Z0-9]{2,8}", fullmatch=True).filter(lambda i: i not in POPS),
    st.floats(-90, 90), st.floats(-180, 180), names,
    st.one_of(st.none(), st.floats(1e-3, 1e5)))
planned_lists = st.lists(planned_pops, max_size=MAX_PLANNED, unique_by=lambda p: p.id)


@settings(max_examples=150, deadline=None)
@given(planned_lists, st.frozensets(st.sampled_from(POPS), max_size=2))
def test_link_round_trip(planned, down):
    s = Scenario(planned=tuple(planned), down=down | {p.id for p in planned[:1]})
    back, warnings = from_query(to_query(s), pop_ids=POPS, origin_ids=ORIGINS)
    assert warnings == [] and back == s


@settings(max_examples=100, deadline=None)
@given(planned_lists)
def test_json_and_store_round_trip(planned):
    s = Scenario(planned=tuple(planned))
    assert scenario_from_json(scenario_to_json(s), POPS, ORIGINS) == s
    assert Scenario.from_dict(s.to_dict()) == s


@settings(max_examples=200, deadline=None)
@given(st.text(st.sampled_from(list("JNBP0123:;,.-%2C ")), max_size=60))
def test_planned_shaped_garbage_never_crashes(text):
    warnings: list[str] = []
    out = parse_planned(text, POPS, warnings)
    assert len(out) <= MAX_PLANNED and not {p.id for p in out} & set(POPS)


def test_import_refuses_a_catalog_id_and_the_cap():
    doc = scenario_to_json(Scenario(planned=(PlannedPop("CDG", 1, 2),)))
    with pytest.raises(ScenarioImportError, match=r"scenario.planned\[0\].id"):
        scenario_from_json(doc, POPS, ORIGINS)
    many = scenario_to_json(Scenario(planned=tuple(PlannedPop(f"P{i}", 0, i)
                                                   for i in range(MAX_PLANNED))))
    assert len(scenario_from_json(many, POPS, ORIGINS).planned) == MAX_PLANNED
    over = many.replace('"planned": [', '"planned": [{"id": "P99", "lat": 0, "lon": 0}, ')
    with pytest.raises(ScenarioImportError, match="at most"):
        scenario_from_json(over, POPS, ORIGINS)
    # a planned PoP named by another field of the file is known
    ok = scenario_to_json(Scenario(planned=(JNB,), down=frozenset({"JNB"})))
    assert scenario_from_json(ok, POPS, ORIGINS).down == {"JNB"}


# -- the reducer -------------------------------------------------------------------------------

CTX = EditContext(max_clients=100, default_region="eu-central-1", pop_ids=POPS)


def test_add_planned_op():
    s, n = apply_edit(Scenario(), {"op": "add-planned", "lat": -26.2041, "lon": 28.0473,
                                   "name": "Johannesburg"}, CTX)
    assert s.planned == (PlannedPop("JOH", -26.2041, 28.0473, "Johannesburg"),)
    assert n[0][0] == "info" and "JOH" in n[0][1]
    s2, _ = apply_edit(s, {"op": "add-planned", "id": "jnb", "lat": 1, "lon": 2,
                           "capacity_gbps": 3}, CTX)
    assert s2.planned[1] == PlannedPop("JNB", 1, 2, capacity_gbps=3)
    s3, _ = apply_edit(Scenario(), {"op": "add-planned", "lat": 1, "lon": 2}, CTX)
    assert s3.planned[0].id == "P1"


@pytest.mark.parametrize("request_, fragment", [
    ({"op": "add-planned", "lat": 1}, "needs lon"),
    ({"op": "add-planned", "lat": 100, "lon": 0}, "latitude 100"),
    ({"op": "add-planned", "lat": "x", "lon": 0}, "not a number"),
    ({"op": "add-planned", "id": "CDG", "lat": 1, "lon": 2}, "catalog"),
    ({"op": "add-planned", "id": "JNB", "lat": 1, "lon": 2}, "already exists"),
    ({"op": "add-planned", "id": "??", "lat": 1, "lon": 2}, "2-8 letters"),
    ({"op": "add-planned", "lat": 1, "lon": 2, "capacity_gbps": -1}, "capacity"),
    ({"op": "remove-planned", "id": "NOPE"}, "no planned access point"),
    ({"op": "update-planned", "id": "JNB", "capacity_gbps": "fast"}, "capacity"),
])
def test_bad_planned_edits_change_nothing(request_, fragment):
    s = Scenario(planned=(JNB,))
    new, notices = apply_edit(s, request_, CTX)
    assert new == s and notices[0][0] == "error" and fragment in notices[0][1], notices


def test_the_cap_is_an_error_notice():
    full = Scenario(planned=tuple(PlannedPop(f"P{i}", 0, i) for i in range(MAX_PLANNED)))
    new, notices = apply_edit(full, {"op": "add-planned", "lat": 1, "lon": 2}, CTX)
    assert new == full and "at most 10" in notices[0][1] and "remove one" in notices[0][1]


def test_remove_and_update_ops():
    s = Scenario(planned=(JNB,), down=frozenset({"JNB"}))
    s2, _ = apply_edit(s, {"op": "update-planned", "id": "jnb", "name": "Jozi",
                           "capacity_gbps": 2}, CTX)
    assert s2.planned[0].name == "Jozi" and s2.planned[0].capacity_gbps == 2
    s3, _ = apply_edit(s2, {"op": "update-planned", "id": "JNB", "capacity_gbps": None}, CTX)
    assert s3.planned[0].capacity_gbps is None
    s4, n = apply_edit(s3, {"op": "remove-planned", "id": "JNB"}, CTX)
    assert s4 == Scenario() and "removed" in n[0][1]
    # a planned PoP can be marked down like any other once the context knows it
    ctx = EditContext(max_clients=100, pop_ids=POPS + ("JNB",))
    s5, _ = apply_edit(Scenario(planned=(JNB,)), {"op": "toggle_pop", "pop": "JNB"}, ctx)
    assert s5.down == {"JNB"}


def test_a_link_that_must_be_shortened_drops_planned_names_and_says_so():
    from dashboard.domain.scenario_url import fit_query

    long_name = "東京" * 40  # 80 characters, 9 link characters each once percent-encoded
    s = Scenario(planned=tuple(PlannedPop(f"P{i}", 10, i, long_name) for i in range(MAX_PLANNED)))
    fitted = fit_query(s)
    assert len(fitted.query) <= 4000 and fitted.planned_names_dropped
    assert "planned access point names were left out" in " ".join(fitted.warnings(0))
    back, w = from_query(fitted.query, pop_ids=POPS, origin_ids=ORIGINS)
    assert w == [] and back.planned_ids == s.planned_ids
    assert fit_query(Scenario(planned=(JNB,))).query == "planned=JNB:-26.2041,28.0473,Johannesburg"
