"""services/siting.py: candidates (metros outside the mainland, capped user lists), the PoP set
as explicit arrays (planned PoPs count when the scenario has them), the scenario's ranking and
the panel's view-model of a stored result (which lives in the browser: shape-checked)."""

from __future__ import annotations

import dataclasses
import math
from types import SimpleNamespace

import numpy as np
import pytest

from dashboard.catalog import POP_ID_RE, default_catalog, in_mainland_china
from dashboard.domain.planned import PlannedPop
from dashboard.domain.scenario import Client, Scenario
from dashboard.services import siting
from dashboard.services.scenario import clean
from dashboard.settings import Settings

SETTINGS = Settings()


def test_metros_are_the_largest_cities_outside_the_mainland():
    c = siting.metro_candidates(200)
    assert len(c) == 200 and "CN" not in c.countries
    assert not any(in_mainland_china(a, b) for a, b in zip(c.lats, c.lons))
    assert "Tokyo" in c.names and "Hong Kong" in c.names  # HK is not the mainland
    with pytest.raises(ValueError, match="outside"):
        siting.metro_candidates(siting.MAX_CANDIDATES + 1)


def test_user_sites_parse_with_clear_errors():
    c = siting.parse_sites("lat,lon,name\n# a comment\n-26.2 28.05 Jo'burg\n1.3;103.8\n")
    assert c.names == ("Jo'burg", "1.3000, 103.8000") and len(c) == 2
    for text, words in [("", "none given"), ("1", "line 1"), ("1,200", "line 1"),
                        ("1,1\nx,y", "line 2"), ("31.2,121.5", "Chinese mainland"),
                        ("1,1\n" * 3, "more than 2"), ("1" * 100_001, "longer than")]:
        with pytest.raises(ValueError, match=words):
            siting.parse_sites(text, limit=2)
    with pytest.raises(ValueError, match="expected text"):
        siting.parse_sites(None)  # type: ignore[arg-type]
    long = siting.parse_sites("1,1," + "x" * 500)
    assert len(long.names[0]) == siting.MAX_SITE_NAME


def test_suggested_ids_are_valid_and_free(catalog):
    ids = siting.suggest_ids(["Frankfurt", "Franca", "São Paulo", "東京", "a"],
                             catalog.pop_ids)
    assert ids[0] != "FRA" and ids[0].startswith("FRA")  # FRA is the catalog's
    assert len(set(ids)) == 5 and ids[2] == "SAO"
    assert all(POP_ID_RE.match(i) for i in ids) and ids[3] == "NEW"


def test_pop_set_counts_planned_pops(catalog):
    planned = [SimpleNamespace(id="JNB", lat=-26.2041, lon=28.0473, name="Johannesburg")]
    ps = siting.pop_set(catalog, "eu-central-1", frozenset({"FRA"}), planned=planned)
    assert ps.ids[-1] == "JNB" and len(ps.ids) == len(catalog.pop_ids) + 1
    assert ps.down[list(ps.ids).index("FRA")] and not ps.down[-1]
    assert ps.origin_lats[-1] == pytest.approx(50.1155, abs=0.1)
    down_ep = siting.pop_set(catalog, "eu-central-1", endpoints_down=frozenset({"eu-central-1"}),
                             planned=planned)
    assert math.isnan(down_ep.origin_lats[-1])


def _loaded(**kw):
    return clean(Scenario(**kw), default_catalog(), SETTINGS)


def test_a_planned_pop_changes_the_ranking(catalog):
    """The ranking routes against the scenario's PoP set: with a planned PoP in Johannesburg
    a candidate next door gains (almost) nothing."""
    clients = tuple(Client(lat, lon, f"c{i}", 1.0) for i, (lat, lon) in enumerate(
        [(-26.2, 28.0), (-25.7, 28.2), (-29.9, 31.0), (-33.9, 18.4), (50.1, 8.7)]))
    cands = siting.parse_sites("-26.1,28.1,Sandton\n48.85,2.35,Paris")
    loaded = _loaded(clients=clients)
    before = siting.for_scenario(loaded, catalog, cands, greedy=1)
    assert before["rows"][0]["name"] == "Sandton" and before["rows"][0]["gain_ms"] > 20
    with_jnb = dataclasses.replace(
        loaded, scenario=dataclasses.replace(
            loaded.scenario, planned=(PlannedPop(id="JNB", lat=-26.2041, lon=28.0473),)))
    after = siting.for_scenario(with_jnb, catalog, cands, greedy=1)
    sandton = next(r for r in after["rows"] if r["name"] == "Sandton")
    assert sandton["gain_ms"] < 1


def test_scenario_ranking_and_view(catalog):
    loaded = _loaded(demand_source="population")
    cands = siting.parse_sites("-26.2041,28.0473,Johannesburg\n-1.2864,36.8172,Nairobi\n"
                               "51.5,-0.12,London")
    seen = []
    result = siting.for_scenario(loaded, catalog, cands, progress=lambda f, t: seen.append(f))
    assert siting.is_result(result) and seen[-1] == 1.0
    assert result["rows"][0]["name"] == "Johannesburg" and result["points"] == 34_006
    v = siting.view(result, loaded)
    assert v is not None and not v.stale and len(v.rows) == 3
    assert v.rows[0]["edit"]["op"] == "add-planned"
    assert "Johannesburg (JOH)" in v.greedy_text and "34,006 demand points" in v.note
    assert v.marker_lats[0] == pytest.approx(-26.2041)
    other = _loaded(demand_source="population", down=frozenset({"FRA"}))
    assert siting.view(result, other).stale
    again = siting.for_scenario(loaded, catalog, cands)
    assert again["computed"] == result["computed"]  # cached


def test_empty_demand_has_no_rows(catalog):
    result = siting.for_scenario(_loaded(), catalog, siting.parse_sites("1,1"))
    assert result["rows"] == [] and result["points"] == 0
    assert "No demand" in siting.view(result).greedy_text


@pytest.mark.parametrize("bad", [
    None, [], {"rows": "x", "greedy": []}, {"rows": [{"id": 1}], "greedy": []},
    {"rows": [], "greedy": [], "mean_before_ms": "1"},
    {"rows": [{"id": "A", "name": "n", "country": "", "lat": None, "lon": 1}], "greedy": []},
    {"rows": [{}] * 51, "greedy": []},
    {"rows": [], "greedy": [], "seconds": float("nan")},
])
def test_other_shapes_are_not_results(bad):
    assert not siting.is_result(bad) and siting.view(bad) is None


def test_candidates_digest_and_background_threshold():
    a = siting.parse_sites("1,1")
    b = siting.parse_sites("1,1.0001")
    assert a.key != b.key
    loaded = _loaded(demand_source="population")
    assert siting.pairs(loaded) > siting.BACKGROUND_PAIRS
    assert np.isfinite(siting.metro_candidates().lats).all()


def _europe(n=300, seed=4):
    rng = np.random.default_rng(seed)
    return tuple(Client(float(a), float(b), f"c{i}", float(w)) for i, (a, b, w) in enumerate(
        zip(rng.uniform(36, 60, n), rng.uniform(-10, 30, n), rng.uniform(0.5, 5, n))))


@pytest.mark.parametrize("policy", ["geographic", "network"])
def test_the_ranking_uses_the_scenario_bias(catalog, policy):
    """Issue 20: with FRA +20 ms, a candidate at FRA's own place (new, so unbiased) wins back
    FRA's unbiased catchment: the mean after adding it is the unbiased routing's mean. Without
    the bias it ties with FRA everywhere and moves nobody (docs/planning.md)."""
    fra = catalog.pop_ids.index("FRA")
    here = f"{catalog.pop_lats[fra]},{catalog.pop_lons[fra]},Frankfurt again\n48.2,16.37,Vienna"
    cands = siting.parse_sites(here)
    plain = _loaded(clients=_europe(), policy=policy)
    biased = dataclasses.replace(plain, scenario=dataclasses.replace(
        plain.scenario, bias=(("FRA", 20.0),)))
    r0 = siting.for_scenario(plain, catalog, cands, greedy=0)
    r1 = siting.for_scenario(biased, catalog, cands, greedy=0)
    by0 = {r["name"]: r for r in r0["rows"]}
    by1 = {r["name"]: r for r in r1["rows"]}
    assert by0["Frankfurt again"]["clients_moving"] == 0 and by0["Frankfurt again"]["gain_ms"] == 0
    assert by1["Frankfurt again"]["clients_moving"] > 20
    assert r1["mean_before_ms"] > r0["mean_before_ms"]  # the bias sends clients farther
    assert by1["Frankfurt again"]["mean_after_ms"] == r0["mean_before_ms"]
    assert r1["rows"][0]["name"] == "Frankfurt again"
    assert r1["bias"] == {"FRA": 20.0} and "bias" not in r0
    assert r1["key"] != r0["key"]
    v = siting.view(r1, biased)
    assert not v.stale and "announcement bias FRA +20 ms (selection only, docs/bias.md)" in v.note
    assert siting.view(r0, biased).stale


def test_a_bias_on_a_planned_pop_and_bad_biases(catalog):
    cands = siting.parse_sites("-26.1,28.1,Sandton")
    demand = siting.scenario_demand(_loaded(clients=_europe(40)).scenario)
    jnb = (PlannedPop(id="JNB", lat=-26.2041, lon=28.0473),)
    ok = siting.rank(catalog.with_planned(jnb), demand, "eu-central-1", cands,
                     bias={"JNB": 30}, greedy=0)
    assert ok["bias"] == {"JNB": 30.0}
    for bias, words in [({"XXX": 5}, "unknown access point XXX"),
                        ({"FRA": 500}, "outside"), ({"JNB": 5}, "unknown access point JNB")]:
        with pytest.raises(ValueError, match=words):
            siting.rank(catalog, demand, "eu-central-1", cands, bias=bias, greedy=0)


def test_the_cache_key_sees_planned_coordinates(catalog):
    """A planned id reused at another place (CLI --add-pop, API planned=) is another ranking."""
    cands = siting.parse_sites("-33.9,18.4,Cape Town")
    demand = siting.scenario_demand(_loaded(clients=_europe(40)).scenario)
    a = siting.rank(catalog.with_planned((PlannedPop(id="NEW", lat=-26.2, lon=28.0),)), demand,
                    "eu-central-1", cands, greedy=0)
    b = siting.rank(catalog.with_planned((PlannedPop(id="NEW", lat=30.0, lon=31.2),)), demand,
                    "eu-central-1", cands, greedy=0)
    assert a["key"] != b["key"]
