"""The support explanation states the facts of the ranking, including overrides and outages."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dashboard.domain.explain import BGP_NOTE, explain
from dashboard.domain.paths import rank_pops
from dashboard.latency import default_params


def ranking(catalog, lat, lon, down=(), origin="eu-central-1", origin_down=False):
    o = catalog.origin(origin)
    olat = np.nan if origin_down else o["lat"]
    return rank_pops(lat, lon, catalog.pop_ids, catalog.pop_lats, catalog.pop_lons, olat,
                     o["lon"], down=catalog.pop_mask(list(down)), params=default_params())


def test_paris_lands_on_cdg_with_london_runner_up(catalog):
    e = explain(ranking(catalog, 48.8566, 2.3522), names={"CDG": "France (Paris)"})
    assert e.chosen == "CDG" and e.runner_up == "LHR"
    assert e.chosen_km < 1 and 340 < e.margin_km < 345
    assert e.sentences[0].startswith("France (Paris) (CDG) is the nearest healthy access point")
    assert "clear margin" in e.sentences[1]
    assert e.sentences[-1] == BGP_NOTE


def test_down_pops_nearer_than_the_choice_are_named(catalog):
    e = explain(ranking(catalog, 48.8566, 2.3522, down=["CDG", "LHR"]))
    assert e.chosen == "FRA" and e.skipped_down == ("CDG", "LHR")
    assert any(s.startswith("Nearer but down: CDG, LHR") for s in e.sentences)


def test_near_tie_is_flagged(catalog):
    # A point on the bisector of Madrid and Paris is a near tie.
    e = explain(ranking(catalog, 44.7, -0.9))
    assert {e.chosen, e.runner_up} == {"CDG", "MAD"}
    assert e.margin_km < 100 and "near tie" in e.sentences[1]


def test_observed_override_costs_a_detour(catalog):
    e = explain(ranking(catalog, 48.8566, 2.3522), observed="FRA")
    assert e.observed == "FRA" and e.detour_km == pytest.approx(479.9 - 0.4, abs=1)
    assert math.isfinite(e.detour_ms)
    assert any("Observed entry at FRA" in s for s in e.sentences)
    same = explain(ranking(catalog, 48.8566, 2.3522), observed="CDG")
    assert math.isnan(same.detour_km) and any("matches the model" in s for s in same.sentences)
    with pytest.raises(KeyError, match="XYZ"):
        explain(ranking(catalog, 0, 0), observed="XYZ")


def test_all_down_and_endpoint_down(catalog):
    e = explain(ranking(catalog, 10, 10, down=catalog.pop_ids))
    assert e.chosen is None and "no route" in e.sentences[0] and len(e.skipped_down) == 19
    e2 = explain(ranking(catalog, 48.8566, 2.3522, origin_down=True))
    assert e2.chosen == "CDG" and "endpoint is down" in e2.sentences[0]


def test_margin_text_drops_the_percentage_of_a_near_zero_distance():
    from dashboard.domain.explain import margin_text
    assert margin_text(894.0, 0.004, 22411590.0) == "894 km"
    assert margin_text(894.0, float("nan"), float("nan")) == "894 km"
    assert margin_text(200.0, 400.0, 50.0) == "200 km (50 %)"
    assert margin_text(float("nan"), 10.0, float("nan")) == "–"
