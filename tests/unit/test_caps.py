"""Caps that bind (issue 13, findings 4, 6 and 12): one client validator with one set of limits,
client counts checked before any client is built, bounded link parsing."""

from __future__ import annotations

import json
import math

import pytest

from dashboard.domain.clients import (MAX_CLIENTS, MAX_NAME_CHARS, MAX_WEIGHT, ClientCountError,
                                      ClientsError, check_client_count, clean_coord, clean_name,
                                      clean_weight, client_room, parse_clients)
from dashboard.domain.exports import ScenarioImportError, scenario_from_json, scenario_to_json
from dashboard.domain.scenario import Client, Scenario
from dashboard.domain.scenario_url import (MAX_LINK_CHARS, MAX_LINK_PARAMS, MAX_LINK_WARNINGS,
                                           MAX_URL_CLIENTS, from_query, to_query)

SIZES = {"cities25k": 25_000}


def _positive_zero(x: float) -> bool:
    return x == 0 and math.copysign(1.0, x) == 1.0


# -- finding 4: the client cap binds, counted before any client is built --------------------------

def test_store_over_the_cap_is_refused_before_any_client_is_built():
    # junk items: building even one would raise "a client must be an object"; the count comes first
    store = {"clients": [None] * 310_000}
    with pytest.raises(ClientCountError, match="310,000 clients is more than the limit of 50,000"):
        Scenario.from_dict(store)
    with pytest.raises(ClientCountError, match="limit of 1,000"):
        Scenario.from_dict({"clients": [None] * 1001}, max_clients=1000)


def test_store_at_the_cap_loads():
    store = {"clients": [{"lat": 1, "lon": 2}] * 100}
    assert len(Scenario.from_dict(store, max_clients=100).clients) == 100


def test_the_cap_counts_the_client_set():
    store = {"clients": [{"lat": 1, "lon": 2}] * 25_001, "client_set": "cities25k"}
    with pytest.raises(ClientCountError, match="plus the 25,000 of the client set cities25k"):
        Scenario.from_dict(store, client_set_sizes=SIZES)
    store["clients"] = store["clients"][:25_000]
    assert len(Scenario.from_dict(store, client_set_sizes=SIZES).clients) == 25_000


def test_client_room_and_count_check():
    assert client_room(50_000, 24_000, 25_000) == 1_000
    assert client_room(100, 200) == 0
    check_client_count(50_000, MAX_CLIENTS)
    with pytest.raises(ClientCountError):
        check_client_count(25_001, MAX_CLIENTS, 25_000, "cities25k")


def test_scenario_file_over_the_cap_with_its_client_set_is_refused():
    s = Scenario(clients=(Client(1, 2),) * 30, client_set="cities25k")
    text = scenario_to_json(s)
    assert scenario_from_json(text, max_clients=25_030, client_set_sizes=SIZES) == s
    with pytest.raises(ScenarioImportError, match="limit of 25,029 clients"):
        scenario_from_json(text, max_clients=25_029, client_set_sizes=SIZES)


def test_csv_over_the_cap_names_the_limit():
    with pytest.raises(ClientsError, match="more than 3 clients"):
        parse_clients("1,2\n" * 4, max_rows=3)


# -- finding 6: bounded link parsing ---------------------------------------------------------------

def test_a_flood_of_unknown_parameters_gives_a_few_short_warnings():
    query = "?" + "&".join(f"p{i}=1" for i in range(100_000))
    s, warnings = from_query(query)
    assert s == Scenario()
    assert len(warnings) <= MAX_LINK_WARNINGS + 1
    assert sum(len(w) for w in warnings) < 2_000
    assert any(f"{len(query) - 1:,} characters long" in w for w in warnings)
    assert any(f"only the first {MAX_LINK_PARAMS} were read" in w for w in warnings)
    assert any("unknown link parameters 'p0'" in w and "more ignored" in w for w in warnings)


def test_unknown_parameters_are_one_warning():
    _, warnings = from_query("a=1&b=2&c=3&clients=1,2")
    assert warnings == ["unknown link parameters 'a', 'b', 'c' ignored"]


def test_many_bad_pieces_are_bounded_with_and_n_more():
    bad = "&".join(f"endpoints=x{i}:CDG;y{i}:FRA" for i in range(20))
    _, warnings = from_query(bad + "&" + "&".join(f"origin=no{i}" for i in range(10)))
    assert len(warnings) == MAX_LINK_WARNINGS + 1
    assert warnings[-1].startswith("and ") and "not listed" in warnings[-1]


def test_a_link_holds_at_most_500_clients_whatever_the_app_cap():
    clients = ";".join(f"{i % 80},{i % 170}" for i in range(600))
    s, warnings = from_query("clients=" + clients, max_clients=50_000)
    assert len(s.clients) == MAX_URL_CLIENTS == 500
    assert "the link has 600 clients; only the first 500 were loaded" in " ".join(warnings)
    assert len("clients=" + clients) < MAX_LINK_CHARS  # the client cap, not the length, cut it


def test_link_clients_plus_the_client_set_stay_under_the_cap():
    s, warnings = from_query("clients=" + ";".join(["1,2"] * 20) + "&clientset=cities25k",
                             max_clients=25_010, client_set_ids=("cities25k",),
                             client_set_sizes=SIZES)
    assert len(s.clients) == 10 and s.client_set == "cities25k"
    assert "limit of 25,010 clients; only the first 10 of the link's were loaded" in warnings[0]


# -- finding 12: names, negative zero, weights ---------------------------------------------------

@pytest.mark.parametrize("raw, clean", [
    ("abc\u202etxt.exe", "abctxt.exe"),        # right-to-left override
    ("Pa\u200bris", "Paris"),                  # zero-width space
    ("a\u200db\u200cc\u2060d\ufeffe", "abcde"),  # joiners, word joiner, BOM
    ("\u2066Lyon\u2069", "Lyon"),              # bidi isolates
    ("soft\u00adhyphen", "softhyphen"),
    ("a\u2028b\u2029c\u00a0d\te\x85f", "a b c d e f"),  # separators, NBSP, tab, NEL -> spaces
    ("x\ud800y", "xy"),                        # a lone surrogate cannot be written as UTF-8
    ("Cafe\u0301", "Café"),                    # NFC
    ("  many    spaces  ", "many spaces"),
    (None, ""),
])
def test_clean_name_strips_format_and_control_characters(raw, clean):
    assert clean_name(raw) == clean


def test_clean_name_is_bounded_work_and_length():
    assert len(clean_name("\u200b" * 1_000_000 + "x" * 1000)) <= MAX_NAME_CHARS
    assert clean_name("x" * 500) == "x" * MAX_NAME_CHARS


def test_names_are_cleaned_at_every_entry():
    hostile = "Pa\u200bris\u202e"
    assert Client(1, 2, hostile).name == "Paris"
    assert parse_clients(f"1,2,{hostile}\n")["name"].tolist() == ["Paris"]
    s, _ = from_query("clients=1,2," + "Pa%E2%80%8Bris%E2%80%AE")
    assert s.clients[0].name == "Paris"
    assert Scenario.from_dict({"clients": [{"lat": 1, "lon": 2, "name": hostile}]}
                              ).clients[0].name == "Paris"


def test_negative_zero_is_never_echoed():
    c = Client(-0.0, -0.0)
    assert _positive_zero(c.lat) and _positive_zero(c.lon)
    assert _positive_zero(Client(-0.00001, 1).lat)  # rounds to -0.0 first
    assert _positive_zero(clean_coord(-0.0, "lat"))
    df = parse_clients("-0,-0.0\n")
    assert _positive_zero(df["lat"][0]) and _positive_zero(df["lon"][0])
    assert "-0" not in to_query(Scenario(clients=(c,)))
    assert "-0" not in json.dumps(Scenario(clients=(c,)).to_dict())


@pytest.mark.parametrize("weight", [1e308, MAX_WEIGHT * 1.01, 10**400])
def test_weights_above_the_maximum_are_refused_everywhere(weight):
    with pytest.raises(ValueError, match="maximum"):
        clean_weight(weight)
    with pytest.raises(ValueError, match="maximum"):
        Client(1, 2, "", weight)
    if isinstance(weight, float):
        with pytest.raises(ClientsError, match="maximum of 1e\\+12"):
            parse_clients(f"1,2,{weight!r}\n")
        s, warnings = from_query(f"clients=1,2,,{weight!r};3,4")
        assert len(s.clients) == 1 and "maximum" in warnings[0]


def test_the_maximum_weight_keeps_sums_finite():
    assert clean_weight(MAX_WEIGHT) == MAX_WEIGHT
    assert math.isfinite(MAX_WEIGHT * MAX_CLIENTS * 1e4)  # weight x clients x ms
