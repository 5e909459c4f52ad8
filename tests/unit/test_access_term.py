"""The end-user access-network term of the internet leg (issue 19): data-centre numbers are
exactly the fitted server-to-server model's, end users are never faster, the term is monotone
in distance and keeps the band ordered, a bad access type is refused by name, and the figures
recorded in data/latency_model.json (meta.access) are reproduced by the fitter when the
measurement file is beside the repository (``../shared/data/catchment/``; never copied in)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard import latency
from dashboard.domain import latency as D
from dashboard.domain.paths import client_paths
from tests.conftest import ROOT

P = latency.default_params()
EU = D.with_access(P, "end-user")
# The data-centre model with every access field at its neutral default: what the model was
# before the access term existed.
FROZEN = replace(P, access_ms=0.0, access_factor=1.0, access_region_ms=(), access_band_p25=(),
                 access_band_p75=())
CATCHMENT = ROOT.parent / "shared" / "data" / "catchment" / "anycast-catchments-f-i-root-2015.csv"
lat = st.floats(-85, 85, allow_nan=False)
lon = st.floats(-180, 180, allow_nan=False)
RNG = np.random.default_rng(19)
A = RNG.uniform(-60, 70, 200), RNG.uniform(-180, 180, 200)
B = RNG.uniform(-60, 70, 200), RNG.uniform(-180, 180, 200)


def test_shipped_file_is_datacenter_with_a_fitted_end_user_term():
    assert P.access == "datacenter"
    assert P.access_ms > 0 and P.access_factor >= 1
    assert len(P.access_band_p25) == len(P.access_band_p75) == len(P.band_edges_km)


def test_datacenter_is_bit_identical_to_the_model_without_the_term():
    for f in (D.internet_rtt_ms, D.internet_rtt_band_ms):
        got, frozen = f(*A, *B, P), f(*A, *B, FROZEN)
        assert np.array_equal(np.asarray(got), np.asarray(frozen))
    la, lb = D.locate(*A, P), D.locate(*B, P)
    km = D.geodesic_km(*A, *B)
    assert np.array_equal(D.internet_rtt_ms_km(km, la, lb, P), D.internet_rtt_ms_km(km, la, lb,
                                                                                     FROZEN))
    # access=None (as the shipped parameters say) and an explicit "datacenter" are the
    # data-centre model's numbers
    assert np.array_equal(latency.internet_rtt_ms(*A, *B, access=None),
                          D.internet_rtt_ms(*A, *B, FROZEN))
    assert np.array_equal(latency.internet_rtt_ms(*A, *B, access="datacenter"),
                          D.internet_rtt_ms(*A, *B, FROZEN))


def test_public_access_keyword_matches_params_carrying_it():
    eu = latency.internet_rtt_ms(*A, *B, access="end-user")
    assert np.array_equal(eu, D.internet_rtt_ms(*A, *B, EU))
    assert np.array_equal(latency.internet_rtt_ms(*A, *B, EU, access=None), eu)  # params carry it
    assert np.array_equal(latency.internet_rtt_ms(*A, *B, EU, access="datacenter"),
                          latency.internet_rtt_ms(*A, *B, access=None))
    p25, p75 = latency.internet_rtt_band_ms(*A, *B, access="end-user")
    assert (p25 <= eu + 1e-9).all() and (eu <= p75 + 1e-9).all()


@settings(max_examples=150, deadline=None)
@given(lat, lon, lat, lon)
def test_end_user_never_faster_than_datacenter_and_band_ordered(a, b, c, d):
    dc = float(latency.internet_rtt_ms(a, b, c, d, access="datacenter"))
    eu = float(latency.internet_rtt_ms(a, b, c, d, access="end-user"))
    assert eu >= dc + P.access_ms - 1e-9
    p25, p75 = (float(x) for x in latency.internet_rtt_band_ms(a, b, c, d, access="end-user"))
    floor = float(latency.floor_rtt_ms(D.geodesic_km(a, b, c, d)))
    assert floor - 1e-9 <= p25 <= eu + 1e-9 <= p75 + 2e-9


def test_end_user_term_is_monotone_in_distance():
    km = np.linspace(0, 20_000, 401)
    for ra, rb in [(0, 0), (3, 3), (2, 8), (6, 10)]:
        dc = D.rtt_formula_ms(km, ra, rb, 0.0, 0.0, 0.0, 0.0, P)
        eu = D.access_rtt_ms(dc, np.full(len(km), ra), EU)
        assert (np.diff(eu) >= 0).all() and (eu >= dc).all()
    lats = np.linspace(-20, -30, 11)   # moving away from Frankfurt along a meridian
    rtt = latency.internet_rtt_ms(50.1167, 8.6833, lats, -20.0, access="end-user")
    assert (np.diff(rtt) > 0).all()


def test_public_functions_default_to_end_users():
    """Issue 19: the public latency functions' clients are end users unless told otherwise."""
    eu = latency.internet_rtt_ms(*A, *B, access="end-user")
    assert np.array_equal(latency.internet_rtt_ms(*A, *B), eu)
    assert np.array_equal(latency.internet_rtt_ms(*A, *B, P), eu)    # over the params' own type
    assert np.array_equal(np.asarray(latency.internet_rtt_band_ms(*A, *B)),
                          np.asarray(latency.internet_rtt_band_ms(*A, *B, access="end-user")))
    any_eu = latency.anycast_rtt_ms(35.0, 135.0, 22.3, 114.2, 50.11, 8.68)
    any_dc = latency.anycast_rtt_ms(35.0, 135.0, 22.3, 114.2, 50.11, 8.68, access="datacenter")
    assert float(any_eu) > float(any_dc)
    assert float(latency.direct_rtt_ms(35.0, 135.0, 50.11, 8.68)) > float(
        latency.direct_rtt_ms(35.0, 135.0, 50.11, 8.68, access="datacenter"))
    # params_with: the shipped type by default, the asked one otherwise (cached: same object)
    assert latency.params_with() is P and latency.params_with((), "end-user").access == "end-user"
    assert latency.params_with((), "end-user") is latency.params_with((), "end-user")
    assert latency.params_with((("overhead_ms", 5.0),), "end-user").overhead_ms == 5.0


def test_route_tables_carry_the_term_on_internet_legs_only():
    pops = np.array([50.11, 40.71, 1.35]), np.array([8.68, -74.0, 103.8])
    clients = np.array([48.85, 35.68, -33.87]), np.array([2.35, 139.69, 151.2])
    args = (*clients, ["fra", "nyc", "sin"], *pops, 39.04, -77.49)
    dc = client_paths(*args, params=P)
    eu = client_paths(*args, params=EU)
    assert np.array_equal(dc["backbone_ms"], eu["backbone_ms"])
    assert (eu["internet_ms"] > dc["internet_ms"]).all() and (eu["direct_ms"] > dc["direct_ms"]).all()
    np.testing.assert_allclose(eu["internet_ms"], P.access_ms + P.access_factor * dc["internet_ms"])
    np.testing.assert_allclose(eu["direct_ms"], P.access_ms + P.access_factor * dc["direct_ms"])


@pytest.mark.parametrize("bad", ["mobile", "End-User", "", None, 3])
def test_invalid_access_is_refused_naming_it(bad):
    with pytest.raises(ValueError, match="access"):
        replace(P, access=bad)
    if bad is not None:   # None in the public functions = as the parameters say
        with pytest.raises(ValueError, match="access"):
            latency.internet_rtt_ms(0, 0, 10, 10, access=bad)


@pytest.mark.parametrize("field, value", [("access_ms", -1.0), ("access_factor", 0.9),
                                          ("access_region_ms", (1.0, 2.0)),
                                          ("access_band_p25", (0.9,))])
def test_bad_access_fields_are_refused_naming_them(field, value):
    with pytest.raises(ValueError, match=field):
        replace(P, **{field: value})


def test_parameter_file_round_trip_keeps_the_access_fields():
    back = D.params_from_dict(EU.to_dict())
    assert back == EU and back.access == "end-user"


@pytest.mark.skipif(not CATCHMENT.exists(), reason=f"measurement file not here: {CATCHMENT}")
def test_recorded_held_out_figures_are_reproduced_by_the_fitter():
    from calibration.access import calibrate_access

    meta = latency.load_metadata()["access"]
    fields, report = calibrate_access(CATCHMENT, P)
    for key in ("access_ms", "access_factor", "access_band_p25", "access_band_p75"):
        assert getattr(P, key) == pytest.approx(fields[key]), key
    for key in ("structure", "held_out_service", "held_out_country", "university_planetlab",
                "band_coverage_held_out_country_pct", "rows_end_user"):
        assert report[key] == meta[key], key
