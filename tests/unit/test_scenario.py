"""The scenario <-> URL query string: exact round trips, tolerant parsing, capped links."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.domain.scenario import MAX_NAME_CHARS, Client, Scenario
from dashboard.domain.scenario_url import DEFAULT_MAX_QUERY_CHARS, fit_query, from_query, to_query

POPS = ("HKG", "SIN", "CDG", "SYD", "FRA")
ORIGINS = ("eu-central-1", "us-east-1", "cn-hongkong")


def test_issue_example_parses():
    s, warnings = from_query("?clients=48.8566,2.3522;35.68,139.69&origin=eu-central-1"
                             "&down=CDG", pop_ids=POPS, origin_ids=ORIGINS)
    assert warnings == []
    assert [(c.lat, c.lon) for c in s.clients] == [(48.8566, 2.3522), (35.68, 139.69)]
    assert s.origin == "eu-central-1" and s.down == frozenset({"CDG"})
    assert to_query(s) == "clients=48.8566,2.3522;35.68,139.69&origin=eu-central-1&down=CDG"


def test_names_weights_and_separators_in_names_round_trip():
    s = Scenario(clients=(Client(1.5, -2.25, "Paris, FR; 1er", 3.5), Client(-10, 20, "", 0),
                          Client(0, 0, "São Paulo"), Client(5, 6)),
                 origin="us-east-1", endpoint_type="ENI", down=frozenset({"SYD", "CDG"}))
    q = to_query(s)
    assert "Paris%2C%20FR%3B%201er" in q and "down=CDG,SYD" in q and "endpoint=ENI" in q
    back, warnings = from_query(q, pop_ids=POPS, origin_ids=ORIGINS)
    assert warnings == [] and back == s


def test_coordinates_are_rounded_to_4_decimals_and_no_negative_zero():
    c = Client(48.856613, -0.000001)
    assert (c.lat, c.lon) == (48.8566, 0.0)
    assert to_query(Scenario(clients=(c,))) == "clients=48.8566,0"


@pytest.mark.parametrize("query, fragment", [
    ("clients=91,0", "latitude 91"),
    ("clients=0,181", "longitude 181"),
    ("clients=abc,1", "not a number"),
    ("clients=1", "expected lat,lon"),
    ("clients=nan,1", "not a number"),
    ("clients=1,2,x,-5", "weight"),
    ("origin=mars-1", "unknown origin"),
    ("down=CDG,NOPE", "NOPE"),
    ("endpoint=XYZ", "endpoint type"),
    ("zoom=3", "unknown link parameter 'zoom'"),
])
def test_malformed_pieces_are_dropped_with_a_warning(query, fragment):
    s, warnings = from_query(query, pop_ids=POPS, origin_ids=ORIGINS)
    assert any(fragment in w for w in warnings), warnings
    assert s.clients == () or all(abs(c.lat) <= 90 for c in s.clients)


def test_good_clients_survive_next_to_bad_ones():
    s, warnings = from_query("clients=1,2;bad;3,4;95,0", pop_ids=POPS)
    assert [(c.lat, c.lon) for c in s.clients] == [(1, 2), (3, 4)]
    assert len(warnings) == 1 and "2 malformed" in warnings[0]


def test_fully_percent_encoded_link_is_understood():
    s, warnings = from_query("clients=48.85%2C2.35%3B1%2C2")
    assert warnings == [] and [(c.lat, c.lon) for c in s.clients] == [(48.85, 2.35), (1, 2)]


def test_link_client_cap():
    q = "clients=" + ";".join(f"{i % 80},{i % 170}" for i in range(30))
    s, warnings = from_query(q, max_clients=10)
    assert len(s.clients) == 10 and "only the first 10" in warnings[0]


def test_fit_query_drops_names_then_trailing_clients():
    clients = tuple(Client(-45.1234 + i / 7, 100.5678 - i / 3, f"City number {i}")
                    for i in range(400))
    s = Scenario(clients=clients, origin="us-east-1", down=frozenset({"CDG"}))
    fitted = fit_query(s, max_chars=DEFAULT_MAX_QUERY_CHARS)
    assert len(fitted.query) <= DEFAULT_MAX_QUERY_CHARS
    assert not fitted.names_kept and 0 < fitted.clients_kept < 400
    back, _ = from_query(fitted.query)
    assert back.origin == "us-east-1" and back.down == {"CDG"}
    assert [(c.lat, c.lon) for c in back.clients] == [(c.lat, c.lon) for c in
                                                      clients[:fitted.clients_kept]]
    assert any("first" in w for w in fitted.warnings(400))
    small = fit_query(Scenario(clients=clients[:3]))
    assert small.names_kept and small.clients_kept == 3 and small.warnings(3) == []


def test_edits_are_pure():
    s = Scenario(clients=(Client(1, 1), Client(2, 2), Client(3, 3)))
    assert [c.lat for c in s.remove_client(1).clients] == [1, 3]
    assert s.remove_client(7) == s and len(s.clients) == 3
    assert s.clear_clients().clients == ()
    added, dropped = s.add_clients([Client(4, 4), Client(5, 5)], max_clients=4)
    assert len(added.clients) == 4 and dropped == 1
    with pytest.raises(ValueError, match="endpoint type"):
        s.with_endpoint_type("GWLB")  # NLB is a documented type since issue 15
    assert Scenario.from_dict(s.to_dict()) == s and Scenario.from_dict(None) == Scenario()


def test_client_validation_names_the_field():
    with pytest.raises(ValueError, match="latitude"):
        Client(-90.5, 0)
    with pytest.raises(ValueError, match="weight"):
        Client(0, 0, weight=float("inf"))
    assert Client(0, 0, "  a\tb\x00c  ").name == "a b c"
    assert len(Client(0, 0, "x" * 500).name) == MAX_NAME_CHARS


# -- properties --------------------------------------------------------------------------------

coords = st.tuples(st.floats(-90, 90, allow_nan=False), st.floats(-180, 180, allow_nan=False))
clients = st.builds(
    lambda ll, name, w: Client(ll[0], ll[1], name, w), coords,
    st.text(max_size=30),
    st.one_of(st.just(1.0), st.floats(0, 1e9, allow_nan=False, allow_infinity=False)))
scenarios = st.builds(
    Scenario, clients=st.lists(clients, max_size=8).map(tuple),
    origin=st.one_of(st.none(), st.sampled_from(ORIGINS)),
    endpoint_type=st.sampled_from(("CLB", "ENI")),
    down=st.frozensets(st.sampled_from(POPS), max_size=3))


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(scenarios)
def test_every_scenario_round_trips_exactly_through_its_query(s):
    back, warnings = from_query(to_query(s), pop_ids=POPS, origin_ids=ORIGINS)
    assert warnings == []
    assert back == s


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_never_crashes(q):
    s, warnings = from_query(q, pop_ids=POPS, origin_ids=ORIGINS)
    assert isinstance(s, Scenario) and all(isinstance(w, str) for w in warnings)
    # whatever was accepted is valid and survives a second trip
    again, w2 = from_query(to_query(s), pop_ids=POPS, origin_ids=ORIGINS)
    assert again == s and w2 == []


query_chars = st.sampled_from(list("clients=origin&down;,.-+%2C0123456789eNnaSYDCG? \t"))


@settings(max_examples=500, deadline=None)
@given(st.lists(query_chars, max_size=120).map("".join))
def test_query_shaped_garbage_never_crashes(q):
    s, _ = from_query(q, pop_ids=POPS, origin_ids=ORIGINS)
    for c in s.clients:
        assert -90 <= c.lat <= 90 and -180 <= c.lon <= 180


# -- endpoints, mappings and outages (failover) -----------------------------------------------------

@st.composite
def endpoint_scenarios(draw):
    """Valid multi-endpoint scenarios: one Default (origin), Normal endpoints in other regions
    with disjoint non-empty PoP sets, down endpoints among the associated ones."""
    origin = draw(st.sampled_from(ORIGINS))
    regions = draw(st.lists(st.sampled_from([o for o in ORIGINS if o != origin]), unique=True,
                            max_size=2))
    pops = list(draw(st.permutations(POPS)))
    mappings = []
    for region in regions:
        k = draw(st.integers(1, 2))
        if len(pops) < k:
            break
        mappings.append((region, tuple(pops[:k])))
        pops = pops[k:]
    associated = [origin] + [r for r, _ in mappings]
    return Scenario(clients=tuple(draw(st.lists(clients, max_size=3))), origin=origin,
                    down=draw(st.frozensets(st.sampled_from(POPS), max_size=3)),
                    mappings=tuple(mappings),
                    endpoints_down=draw(st.frozensets(st.sampled_from(associated))))


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(endpoint_scenarios())
def test_endpoint_scenarios_round_trip_exactly(s):
    s.endpoint_set("unused")  # valid by construction
    back, warnings = from_query(to_query(s), pop_ids=POPS, origin_ids=ORIGINS)
    assert warnings == [] and back == s
    assert Scenario.from_dict(s.to_dict()) == s


endpoint_chars = st.sampled_from(list("endpoints_down=&:;,eu-central-1us-east-1HKGSINCDGX% "))


@settings(max_examples=400, deadline=None)
@given(st.lists(endpoint_chars, max_size=80).map("".join))
def test_endpoint_shaped_garbage_never_crashes_and_stays_valid(q):
    s, warnings = from_query("origin=eu-central-1&" + q, pop_ids=POPS,
                             origin_ids=ORIGINS)
    s.endpoint_set("eu-central-1")  # whatever was kept obeys the provider's rules
    again, w2 = from_query(to_query(s), pop_ids=POPS, origin_ids=ORIGINS)
    assert again == s and w2 == []


@pytest.mark.parametrize("query, fragment", [
    ("endpoints=us-east-1:SIN;us-east-1:HKG", "one endpoint per region"),
    ("endpoints=us-east-1:SIN;cn-hongkong:SIN,HKG", "mapped to both"),
    ("endpoints=us-east-1:SIN&endpoint=NLB", "one region only"),
    ("endpoints=eu-central-1:CDG", "it is the Default endpoint"),
    ("endpoints=mars-1:CDG", "mars-1"),
    ("endpoints=us-east-1", "expected region:POP"),
    ("endpoints=us-east-1:SIN,NOPE", "NOPE"),
    ("endpoints_down=cn-hongkong", "not associated"),
    ("endpoints_down=pluto-9", "pluto-9"),
])
def test_malformed_endpoints_are_dropped_with_a_warning(query, fragment):
    s, warnings = from_query("origin=eu-central-1&" + query, pop_ids=POPS,
                             origin_ids=ORIGINS)
    assert any(fragment in w for w in warnings), warnings
    s.endpoint_set("eu-central-1")


def test_endpoint_edits_validate_and_never_half_apply():
    s = Scenario(origin="eu-central-1")
    s2 = s.add_endpoint("us-east-1", ["SIN", "HKG"], "x")
    assert s2.mappings == (("us-east-1", ("HKG", "SIN")),)
    with pytest.raises(ValueError, match="mapped to both"):
        s2.add_endpoint("cn-hongkong", ["HKG"], "x")
    # Issue 15: nothing documents a minimum, a Normal endpoint may have no access point.
    assert s2.map_pops("us-east-1", [], "x").mappings == (("us-east-1", ()),)
    s3 = s2.toggle_endpoint_down("eu-central-1", "x").make_default("us-east-1", "x")
    # Issue 15: binding a new Default demotes the old one to Normal (no access point mapped;
    # it keeps its down flag). It used to be dissociated.
    assert s3.origin == "us-east-1" and s3.mappings == (("eu-central-1", ()),)
    assert s3.endpoints_down == frozenset({"eu-central-1"})
    # the origin picker moves the Default instead (the old one is dissociated)
    s4 = s2.toggle_endpoint_down("eu-central-1", "x").move_default("us-east-1", "x")
    assert s4.origin == "us-east-1" and s4.mappings == () and s4.endpoints_down == frozenset()
    assert s2.remove_endpoint("us-east-1", "x").mappings == ()
    assert s.toggle_pop("CDG").toggle_pop("CDG") == s
    # with no origin in the scenario, an endpoint edit pins the app's default region
    assert Scenario().add_endpoint("us-east-1", ["SIN"], "eu-central-1").origin == "eu-central-1"


def test_the_model_does_not_import_its_url_codec():
    """One-way arrow: scenario_url imports the scenario model, never the other way round."""
    import ast

    import dashboard.domain.scenario as model

    tree = ast.parse(open(model.__file__).read())
    names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    names += [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module]
    assert not [n for n in names if n.endswith("scenario_url")]
