"""Scenario JSON export/import (exact round trip, strict errors) and formula-safe CSV."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.domain.exports import (
    ScenarioImportError,
    safe_cell,
    safe_csv,
    scenario_from_json,
    scenario_to_json,
)
from dashboard.domain.scenario import Client, Scenario
from dashboard.domain.scenario_url import from_query, to_query

POPS = ("HKG", "SIN", "FRA", "CDG", "LHR", "SYD")
ORIGINS = ("eu-central-1", "us-east-1")

names = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
clients = st.builds(Client, st.floats(-90, 90), st.floats(-180, 180), names,
                    st.one_of(st.just(1.0), st.floats(0, 1e6)))
gbps = st.floats(1e-3, 1e5)


@st.composite
def scenarios(draw) -> Scenario:
    cs = tuple(draw(st.lists(clients, max_size=8)))
    observed = draw(st.lists(st.tuples(st.integers(0, max(len(cs) - 1, 0)),
                                       st.sampled_from(POPS)), max_size=len(cs))) if cs else []
    return Scenario(
        clients=cs, origin=draw(st.sampled_from((None,) + ORIGINS)),
        endpoint_type=draw(st.sampled_from(("CLB", "ENI"))),
        down=frozenset(draw(st.sets(st.sampled_from(POPS), max_size=3))),
        observed=tuple(observed),
        capacity=tuple(draw(st.dictionaries(st.sampled_from(POPS), gbps, max_size=3)).items()),
        default_capacity_gbps=draw(st.one_of(st.none(), gbps)),
        demand_source=draw(st.sampled_from(("clients", "population"))),
        demand_scale=draw(st.one_of(st.none(), gbps)))


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(scenarios())
def test_scenario_json_scenario_is_the_identity(s):
    text = scenario_to_json(s)
    assert scenario_from_json(text, POPS, ORIGINS) == s
    assert scenario_from_json(text.encode(), POPS, ORIGINS) == s  # bytes (uploads) too


@settings(max_examples=100, deadline=None)
@given(scenarios())
def test_scenario_url_scenario_keeps_the_new_fields(s):
    back, warnings = from_query(to_query(s), pop_ids=POPS, origin_ids=ORIGINS)
    assert warnings == []
    assert (back.observed, back.capacity, back.default_capacity_gbps, back.demand_source,
            back.demand_scale) == (s.observed, s.capacity, s.default_capacity_gbps,
                                   s.demand_source, s.demand_scale)


def _doc(**scenario) -> str:
    return json.dumps({"format": "anycast-eip-scenario", "version": 1,
                       "scenario": {"clients": [], **scenario}})


@pytest.mark.parametrize("text, where", [
    ("not json", "not valid JSON"),
    ("[]", "expected a JSON object"),
    (json.dumps({"format": "other", "version": 1, "scenario": {}}), "format"),
    (json.dumps({"format": "anycast-eip-scenario", "version": 9, "scenario": {}}), "version"),
    (_doc(clients=[{"lat": 91, "lon": 0}]), "scenario.clients[0]: latitude 91"),
    (_doc(clients=[{"lat": "x", "lon": 0}]), "scenario.clients[0].lat: expected a number"),
    (_doc(clients=[{"lat": 1}]), "scenario.clients[0]: missing 'lon'"),
    (_doc(clients=[{"lat": 1, "lon": 2, "weight": -1}]), "scenario.clients[0]: weight"),
    (_doc(clients=[{"lat": 1, "lon": 2, "colour": "red"}]), "unknown field(s) colour"),
    (_doc(down=["XXX"]), "scenario.down[0]: unknown access point 'XXX'"),
    (_doc(origin="mars-1"), "scenario.origin: unknown origin region"),
    (_doc(observed=[{"client": 0, "pop": "SIN"}]), "scenario.observed[0].client"),
    (_doc(capacity_gbps={"FRA": 0}), "capacity of FRA"),
    (_doc(capacity_gbps={"FRA": True}), "scenario.capacity_gbps.FRA: expected a number"),
    (_doc(demand_source="aliens"), "demand source 'aliens'"),
    (_doc(surprise=1), "unknown field(s) surprise"),
])
def test_bad_files_are_rejected_with_the_field_named(text, where):
    with pytest.raises(ScenarioImportError) as exc:
        scenario_from_json(text, POPS, ORIGINS)
    assert where in str(exc.value)


def test_import_enforces_the_client_limit_and_utf8():
    s = Scenario(clients=tuple(Client(i % 80, 0) for i in range(5)))
    with pytest.raises(ScenarioImportError, match="limit of 4"):
        scenario_from_json(scenario_to_json(s), POPS, ORIGINS, max_clients=4)
    with pytest.raises(ScenarioImportError, match="UTF-8"):
        scenario_from_json(b"\xff\xfe{", POPS, ORIGINS)


@pytest.mark.parametrize("cell", ["=1+1", "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx",
                                  "=HYPERLINK(\"http://x\")"])
def test_formula_cells_are_neutralised(cell):
    assert safe_cell(cell) == "'" + cell


def test_safe_csv_keeps_numbers_numeric_and_quotes_text():
    df = pd.DataFrame({"client": ["=cmd|' /C calc'!A0", "Paris"], "saving_ms": [-12.5, 3.0],
                       "=head": ["a", "b"]})
    text = safe_csv(df)
    lines = text.splitlines()
    assert lines[0] == "client,saving_ms,'=head"
    assert lines[1] == "'=cmd|' /C calc'!A0,-12.5,a"  # a negative number stays a number
    assert lines[2] == "Paris,3,b"


def test_endpoints_and_client_set_survive_export_and_import():
    s = Scenario(clients=(Client(48.85, 2.35, "Paris"),), origin="eu-central-1",
                 mappings=(("us-east-1", ("LHR", "FRA")),), endpoints_down=frozenset({"us-east-1"}),
                 client_set="cities25k", down=frozenset({"CDG"}))
    assert scenario_from_json(scenario_to_json(s), POPS, ORIGINS) == s
    bad = json.loads(scenario_to_json(s))
    bad["scenario"]["mappings"] = [["us-east-1", ["IAD"]]]
    with pytest.raises(ScenarioImportError, match=r"scenario.mappings\[0\]\[1\]\[0\]: unknown"):
        scenario_from_json(json.dumps(bad), POPS, ORIGINS)
    bad["scenario"]["mappings"] = [["mars-1", ["FRA"]]]
    with pytest.raises(ScenarioImportError, match=r"scenario.mappings\[0\]\[0\]: unknown origin"):
        scenario_from_json(json.dumps(bad), POPS, ORIGINS)


def test_an_unknown_client_set_is_refused_on_import():
    s = Scenario(clients=(Client(1.0, 2.0, "a"),), client_set="cities25k")
    assert scenario_from_json(scenario_to_json(s), POPS, ORIGINS,
                              client_set_ids=("cities25k",)) == s
    with pytest.raises(ScenarioImportError, match="scenario.client_set: unknown client set"):
        scenario_from_json(scenario_to_json(Scenario(client_set="cities99k")), POPS, ORIGINS,
                           client_set_ids=("cities25k",))
