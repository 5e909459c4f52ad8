"""The backbone leg: its formula's guarantees, and the fitted file against the cloud RTTs it was
fitted on (when the measurement file is beside the repository, as in this project's workspace
and CI: ``../shared/data/latency/``; it is never copied into the repository)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard import latency
from dashboard.domain import latency as D
from tests.conftest import ROOT

P = latency.default_params()
AZURE = ROOT.parent / "shared" / "data" / "latency" / "azure-interregion-p50-2026-07.csv"
lat = st.floats(-85, 85)
lon = st.floats(-180, 180)


@settings(max_examples=200, deadline=None)
@given(lat, lon, lat, lon)
def test_never_below_the_fibre_floor_and_symmetric(a, b, c, d):
    ab = float(latency.backbone_rtt_ms(a, b, c, d))
    ba = float(latency.backbone_rtt_ms(c, d, a, b))
    km = float(D.geodesic_km(a, b, c, d))
    assert ab >= P.backbone_route_factor * float(D.floor_rtt_ms(km)) - 1e-9
    assert ab == pytest.approx(ba, rel=1e-9)


def test_scale_multiplies_the_distance_terms_only():
    km = np.array([50.0, 2000.0, 9000.0])
    stretch, slope = np.array([1.7, 1.7, 1.7]), np.array([20.0, 20.0, 20.0])
    base = D.backbone_formula_ms(km, stretch, slope, P)
    double = D.backbone_formula_ms(km, stretch, slope, replace(P, backbone_scale=2.0))
    fixed = P.backbone_overhead_ms + P.backbone_short_ms * np.exp(-km / P.backbone_short_km)
    assert np.allclose(double - fixed, 2 * (base - fixed))


def test_region_and_pair_terms_are_validated():
    nr = len(P.regions)
    with pytest.raises(ValueError, match="backbone_region_stretch"):
        replace(P, backbone_region_stretch=(0.1,) * (nr + 1))
    asym = np.zeros((nr, nr))
    asym[0, 1] = 0.5
    with pytest.raises(ValueError, match="symmetric"):
        replace(P, backbone_pair_stretch=tuple(asym.ravel()))
    plain = replace(P, backbone_region_stretch=(), backbone_pair_stretch=())
    assert float(D.backbone_stretch(0, 1, plain)) == pytest.approx(P.backbone_stretch)


@pytest.mark.skipif(not AZURE.exists(), reason=f"measurement file not here: {AZURE}")
def test_the_shipped_fit_reproduces_its_recorded_errors_on_the_cloud_rtts():
    """The figures in data/latency_model.json (and docs/calibration.md) come from this data."""
    from calibration.backbone import errors, load_cloud_rtts

    meta = latency.load_metadata()["backbone"]
    df = load_cloud_rtts(AZURE)
    pred = latency.backbone_rtt_ms(df["src_lat"], df["src_lon"], df["dst_lat"], df["dst_lon"])
    got = errors(np.asarray(pred, dtype=float), df)
    assert meta["rows"] == len(df)
    assert got["mdape_pct"] == pytest.approx(meta["in_sample"]["mdape_pct"], abs=0.01)
    assert got["median_signed_pct"] == pytest.approx(meta["in_sample"]["median_signed_pct"],
                                                     abs=0.01)
    # the held-out figures are what the docs promise
    held = meta["held_out_region"]
    assert held["mdape_pct"] <= 7.0 and abs(held["median_signed_pct"]) <= 3.0
