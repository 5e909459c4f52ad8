"""Latency model overrides: validation, canonical form, and the ``model=`` URL key."""

from __future__ import annotations

import math

import pytest

from dashboard import latency
from dashboard.domain.latency import (
    OVERRIDE_RANGES,
    TUNABLE,
    canonical_overrides,
    check_override,
    with_overrides,
)
from dashboard.domain.scenario import Client, Scenario
from dashboard.domain.scenario_url import KNOWN_KEYS, from_query, to_query


def test_every_tunable_has_a_range_and_its_ends_are_valid_models():
    assert set(OVERRIDE_RANGES) == set(TUNABLE)
    base = latency.default_params()
    for name, (lo, hi) in OVERRIDE_RANGES.items():
        assert lo < hi
        for v in (lo, hi):  # the model's own validation accepts the whole range
            assert getattr(with_overrides(base, {name: v}), name) == pytest.approx(v)


@pytest.mark.parametrize("name, value, why", [
    ("overhead_ms", -1, "outside"),
    ("pop_overhead_ms", -0.1, "outside"),
    ("backbone_overhead_ms", -5, "outside"),
    ("fibre_km_per_ms", 250, "outside"),          # faster than light in fibre
    ("backbone_route_factor", 0.9, "outside"),    # below the fibre floor
    ("inflation_scale", 0, "outside"),
    ("overhead_ms", math.nan, "outside"),
    ("overhead_ms", math.inf, "outside"),
    ("overhead_ms", "abc", "not a number"),
    ("overhead_ms", True, "not a number"),
    ("overhead_ms", [1], "not a number"),
    ("overhead_ms", None, "not a number"),
    ("city_effect_ms", 1, "cannot be overridden"),
    ("regions", 1, "cannot be overridden"),
    (3, 1, "cannot be overridden"),
])
def test_bad_overrides_raise_naming_the_parameter(name, value, why):
    with pytest.raises(ValueError, match=why):
        check_override(name, value)
    with pytest.raises(ValueError):
        with_overrides(latency.default_params(), {name: value})


def test_canonical_form_is_sorted_rounded_and_deduplicated():
    a = canonical_overrides({"overhead_ms": 5, "inflation_scale": 1.2000000001})
    b = canonical_overrides([("inflation_scale", "1.2"), ("overhead_ms", 5.0)])
    assert a == b == (("inflation_scale", 1.2), ("overhead_ms", 5.0))
    assert canonical_overrides({}) == ()
    assert canonical_overrides([("overhead_ms", 4), ("overhead_ms", 5)]) == (("overhead_ms", 5.0),)
    with pytest.raises(ValueError, match="pair"):
        canonical_overrides([("overhead_ms",)])


def test_params_with_is_the_default_object_without_overrides_and_cached_with():
    assert latency.params_with(()) is latency.default_params()
    p = latency.params_with((("overhead_ms", 5.0),))
    assert p.overhead_ms == 5.0 and p is latency.params_with((("overhead_ms", 5.0),))
    assert p.inflation_scale == latency.default_params().inflation_scale
    assert latency.fitted_values()["overhead_ms"] == latency.default_params().overhead_ms


def test_model_key_is_known_and_documented():
    assert "model" in KNOWN_KEYS
    import dashboard.domain.scenario_url as mod
    assert "``model``" in mod.__doc__ and "overhead_ms:5,inflation_scale:1.2" in mod.__doc__


def test_model_round_trips_through_url_and_store():
    s = Scenario(clients=(Client(48.85, 2.35, "Paris"),),
                 model={"overhead_ms": 5, "inflation_scale": 1.2}.items())
    assert s.model == (("inflation_scale", 1.2), ("overhead_ms", 5.0))
    q = to_query(s)
    assert "model=inflation_scale:1.2,overhead_ms:5" in q
    back, warnings = from_query(q)
    assert back == s and warnings == []
    assert Scenario.from_dict(s.to_dict()) == s
    assert s.to_dict()["model"] == {"inflation_scale": 1.2, "overhead_ms": 5.0}
    # the fitted model: no key in the link, an empty object in the store
    assert "model" not in to_query(Scenario()) and Scenario().to_dict()["model"] == {}
    assert Scenario.from_dict({"clients": []}).model == ()


def test_url_order_does_not_matter():
    a, _ = from_query("model=overhead_ms:5,inflation_scale:1.2")
    b, _ = from_query("model=inflation_scale:1.20,overhead_ms:5.0")
    assert a == b and to_query(a) == to_query(b) == "model=inflation_scale:1.2,overhead_ms:5"


def test_bad_url_pieces_are_dropped_with_a_warning_each_and_the_rest_kept():
    s, warnings = from_query(
        "model=overhead_ms:5,nope:1,fibre_km_per_ms:300,pop_overhead_ms:-1,backbone_scale:abc,"
        "inflation_scale,band_scale:nan&origin=eu-central-1")
    assert s.model == (("overhead_ms", 5.0),) and s.origin == "eu-central-1"
    text = " | ".join(warnings)
    assert len(warnings) == 6
    for piece in ("'nope'", "fibre_km_per_ms", "[100, 204]", "pop_overhead_ms", "backbone_scale",
                  "not a number", "inflation_scale", "name:value", "band_scale"):
        assert piece in text
    assert all(w.startswith("latency model parameter") for w in warnings)


def test_url_key_repeated_or_percent_encoded():
    s, warnings = from_query("model=overhead_ms:5&model=overhead_ms:6")
    assert s.model == (("overhead_ms", 6.0),) and "more than once" in warnings[0]
    s, warnings = from_query("model=overhead_ms%3A7%2Cinflation_scale%3A2")
    assert s.model == (("inflation_scale", 2.0), ("overhead_ms", 7.0)) and warnings == []
    s, warnings = from_query("model=")
    assert s.model == () and warnings == []


@pytest.mark.parametrize("model", [
    [1, 2], "overhead_ms:5", {"overhead_ms": "5"}, {"overhead_ms": True}, {"overhead_ms": None},
    {"overhead_ms": -3}, {"nope": 1}, {"overhead_ms": [5]},
])
def test_from_dict_rejects_malformed_models(model):
    with pytest.raises(ValueError):
        Scenario.from_dict({"clients": [], "model": model})


def test_with_model_validates_and_replaces():
    s = Scenario().with_model({"overhead_ms": 5})
    assert s.model == (("overhead_ms", 5.0),)
    assert s.with_model(()).model == ()
    with pytest.raises(ValueError, match="overhead_ms"):
        s.with_model({"overhead_ms": -5})


def test_docs_list_every_tunable_with_its_range():
    from tests.conftest import ROOT

    api = (ROOT / "docs" / "api.md").read_text()
    calib = (ROOT / "docs" / "calibration.md").read_text()
    assert "## Changing the parameters" in calib
    for name, (lo, hi) in OVERRIDE_RANGES.items():
        assert f"| `{name}` |" in api and f"| {lo:g} – {hi:g} |" in api, name
        assert f"`{name}`" in calib
