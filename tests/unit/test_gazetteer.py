"""The offline gazetteer: the committed GeoNames extract, search ranking and presets."""

from __future__ import annotations

import gzip

import pytest

from dashboard.gazetteer import CITIES_CSV, fold, load_gazetteer, preset_by_key, presets


@pytest.fixture(scope="module")
def gaz():
    return load_gazetteer()


def test_extract_is_compact_and_complete(gaz):
    assert CITIES_CSV.stat().st_size < 1_200_000
    header = gzip.open(CITIES_CSV, "rt", encoding="utf-8").readline().strip().split(",")
    assert header == ["geonameid", "name", "asciiname", "country_code", "country", "continent",
                      "admin1", "lat", "lon", "population", "capital"]
    assert len(gaz) > 30_000


def test_namibia_is_not_read_as_missing(gaz):
    windhoek = gaz.search("Windhoek", 1)[0]
    assert windhoek.country_code == "NA" and windhoek.capital


def test_paris_first_is_the_french_capital(gaz):
    top = gaz.search("Paris", 5)
    assert top[0].label == "Paris, FR" and top[0].population > 2_000_000
    assert abs(top[0].lat - 48.85) < 0.05 and abs(top[0].lon - 2.35) < 0.05
    assert any(c.label == "Paris, TX, US" for c in top)


@pytest.mark.parametrize("query, label", [
    ("sao paulo", "São Paulo, BR"),     # accent-insensitive
    ("SÃO PAULO", "São Paulo, BR"),
    ("auck", "Auckland, NZ"),            # prefix
    ("zurich", "Zürich, CH"),
    ("ho chi minh", "Ho Chi Minh City, VN"),
    ("paris, us", "Paris, TX, US"),      # country filter by code
    ("paris, united", "Paris, TX, US"),  # ... or by country name prefix
    ("portland", "Portland, OR, US"),    # ranked by population
])
def test_search(gaz, query, label):
    assert gaz.search(query, 3)[0].label == label


def test_word_prefix_matches_after_name_prefix(gaz):
    labels = [c.label for c in gaz.search("york", 30)]
    assert labels[0] == "York, GB"
    assert "New York City, NY, US" in labels


def test_empty_and_junk_queries(gaz):
    assert gaz.search("", 5) == [] and gaz.search("  ,  ", 5) == []
    assert gaz.search("qqqqzzzz", 5) == []
    assert gaz.search("paris", 0) == []


def test_by_id(gaz):
    paris = gaz.search("Paris", 1)[0]
    assert gaz.by_id(paris.geonameid) == paris
    with pytest.raises(KeyError, match="GeoNames id"):
        gaz.by_id(-1)


def test_fold():
    assert fold("Łódź") == "lodz" and fold("Saint-Étienne") == "saint etienne"


def test_presets(gaz, catalog):
    ps = {p.key: p for p in presets(gaz, catalog)}
    assert {"capitals", "largest", "area:Europe", "area:Asia Pacific", "area:North America",
            "area:South America", "area:Australia", "area:Africa"} <= set(ps)
    caps = {c.label for c in ps["capitals"].cities}
    assert {"Paris, FR", "Tokyo, JP", "Canberra, AU", "Brasília, BR"} <= caps
    assert 190 <= len(caps) <= 260
    largest = ps["largest"].cities
    assert len(largest) == 50
    assert [c.population for c in largest] == sorted((c.population for c in largest), reverse=True)
    assert all(c.country_code in {"AU", "NZ", "PG", "FJ", "NC"} or c.lat < 0
               for c in ps["area:Australia"].cities)
    assert {c.country_code for c in ps["area:Europe"].cities} >= {"GB", "FR", "DE"}
    with pytest.raises(KeyError, match="known"):
        preset_by_key(gaz, catalog, "moon")
