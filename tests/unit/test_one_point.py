"""The one-point forms of the domain functions behind /api/v1/nearest (issue 16) give the same
numbers, to the bit, as the general forms they stand in for: geodesy.geodesic_km_from,
latency.locate_point, latency.internet_rtt_ms_point, policy.flagged on one float."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from dashboard import latency
from dashboard.catalog import default_catalog
from dashboard.domain import geodesy, policy
from dashboard.domain import latency as L

CATALOG = default_catalog()
EDGES = [(90.0, 0.0), (-90.0, 180.0), (0.0, 0.0), (0.0, 180.0), (0.0, -180.0), (89.9999, -0.0001),
         (-33.8688, 151.2093), (50.1155, 8.6842)]  # poles, antimeridian, on a PoP


def points(n: int = 3000, seed: int = 16) -> list[tuple[float, float]]:
    rng = np.random.default_rng(seed)
    lat = np.round(rng.uniform(-90, 90, n), 4).tolist()
    lon = np.round(rng.uniform(-180, 180, n), 4).tolist()
    return EDGES + list(zip(lat, lon))


def sites() -> tuple[np.ndarray, np.ndarray]:
    o = CATALOG.origin("eu-central-1")
    return (np.append(CATALOG.pop_lats, float(o["lat"])),
            np.append(CATALOG.pop_lons, float(o["lon"])))


def test_geodesic_km_from_equals_geodesic_km():
    lats, lons = sites()
    for lat, lon in points():
        assert np.array_equal(geodesy.geodesic_km_from(lat, lon, lats, lons),
                              geodesy.geodesic_km(lat, lon, lats, lons)), (lat, lon)


def test_geodesic_km_from_refuses_like_geodesic_km():
    lats, lons = sites()
    with pytest.raises(ValueError, match="latitude"):
        geodesy.geodesic_km_from(91.0, 0.0, lats, lons)
    assert np.isnan(geodesy.geodesic_km_from(math.nan, 0.0, lats, lons)).all()


@pytest.mark.parametrize("access", ["end-user", "datacenter"])
def test_locate_point_and_internet_rtt_ms_point_equal_the_general_forms(access):
    params = latency.params_with((), access)
    lats, lons = sites()
    terms = L.locate(lats, lons, params)
    ps = L.point_sites(terms, params)
    for lat, lon in points(1500, seed=7 if access == "end-user" else 8):
        loc = L.locate(np.array([lat]), np.array([lon]), params)
        region, effect, slope = L.locate_point(lat, lon, params)
        assert region == loc.region[0] and effect == loc.effect_ms[0]
        assert np.array_equal(slope, loc.slope_ms_per_1000km[0])
        km = geodesy.geodesic_km(lat, lon, lats, lons)
        assert np.array_equal(L.internet_rtt_ms_point(km, (region, effect, slope), ps, params),
                              L.internet_rtt_ms_km(km, loc, terms, params)), (lat, lon)


@pytest.mark.parametrize("overrides", [
    (("inflation_scale", 1.3), ("fibre_km_per_ms", 150.0)),
    (("inflation_scale", 0.7), ("fibre_km_per_ms", 123.456), ("min_rtt_ms", 40.0)),
])
@pytest.mark.parametrize("access", ["end-user", "datacenter"])
def test_internet_rtt_ms_point_with_other_parameters(overrides, access):
    """The one-point form skips 1.0 * x and writes 2 * d / f as d / (f / 2): the same values
    under any scale and fibre speed (here not 1.0, not the default)."""
    params = latency.params_with(overrides, access)
    lats, lons = sites()
    terms = L.locate(lats, lons, params)
    ps = L.point_sites(terms, params)
    for lat, lon in points(400, seed=10):
        loc = L.locate(np.array([lat]), np.array([lon]), params)
        km = geodesy.geodesic_km(lat, lon, lats, lons)
        assert np.array_equal(
            L.internet_rtt_ms_point(km, L.locate_point(lat, lon, params), ps, params),
            L.internet_rtt_ms_km(km, loc, terms, params)), (lat, lon)


@pytest.mark.parametrize("make", ["overrides", "every city a neighbour"])
def test_locate_point_with_other_parameters(make):
    if make == "overrides":
        params = latency.params_with((("interp_range_km", 300.0), ("overhead_ms", 3.0),
                                      ("inflation_scale", 1.3)), "end-user")
    else:  # locate's branch without the nearest-city sort
        base = latency.params_with((), "end-user")
        params = dataclasses.replace(base, interp_neighbours=len(base.city_names))
    for lat, lon in points(200, seed=9):
        loc = L.locate(np.array([lat]), np.array([lon]), params)
        region, effect, slope = L.locate_point(lat, lon, params)
        assert (region, effect) == (loc.region[0], loc.effect_ms[0])
        assert np.array_equal(slope, loc.slope_ms_per_1000km[0])


@pytest.mark.parametrize("access", ["end-user", "datacenter"])
def test_locate_point_on_the_cities_themselves(access):
    """On a measured city (and a hair off it) the unclipped cosine can exceed 1 (24 of the 241
    cities here): locate_point then picks from np.clip's values, as locate does."""
    params = latency.params_with((), access)
    xyz = params._arr["xyz"]
    over = 0
    for la0, lo0 in zip(params.city_lats, params.city_lons):
        for lat, lon in ((la0, lo0), (la0 + 1e-9, lo0), (la0, math.nextafter(lo0, 0.0))):
            lat = min(max(lat, -90.0), 90.0)
            r = np.radians(np.array([lat, lon]))
            (cla, clo), (sla, slo) = np.cos(r).tolist(), np.sin(r).tolist()
            over += (np.array([[cla * clo, cla * slo, sla]]) @ xyz.T).max() > 1.0
            loc = L.locate(np.array([lat]), np.array([lon]), params)
            region, effect, slope = L.locate_point(lat, lon, params)
            assert (region, effect) == (loc.region[0], loc.effect_ms[0]), (lat, lon)
            assert np.array_equal(slope, loc.slope_ms_per_1000km[0]), (lat, lon)
    assert over > 0  # the clipped branch was taken


@pytest.mark.parametrize("gap", [0.0, 30.0, 30.000001, -5.0, math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("policy_name", [policy.GEOGRAPHIC, policy.NETWORK])
def test_flagged_on_one_float_equals_the_array_form(policy_name, gap):
    assert bool(policy.flagged(policy_name, gap)) == bool(policy.flagged(policy_name,
                                                                         np.array([gap]))[0])
