"""Landing probabilities (issue 14): the public function's guarantees for any list of sites,
the fitter on synthetic data with known coefficients, and the committed model file against what
the fitter reproduces from the measured catchments (when they are beside the repository, as in
this project's workspace and CI: ``../shared/data/catchment/``; never copied into the repo)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from calibration import catchment as fitter
from dashboard import catchment
from dashboard.domain import catchment as D
from dashboard.settings import DEFAULT_CATCHMENT_MODEL, Settings, catchment_model_path
from tests.conftest import ROOT

SHARED = ROOT.parent / "shared" / "data" / "catchment"
CATCHMENTS = SHARED / "anycast-catchments-f-i-root-2015.csv"
SITES = SHARED / "anycast-sites-f-i-root-2015.csv"

lat = st.floats(-89, 89, allow_nan=False)
lon = st.floats(-179.9, 179.9, allow_nan=False)
points = st.lists(st.tuples(lat, lon), min_size=1, max_size=12)


def _distinct(sites: list[tuple[float, float]]) -> bool:
    """Sites far enough apart that no client sees two at the same rounded distance."""
    a = np.array(sites)
    km = D.sphere_km(a[:, 0], a[:, 1], a[:, 0], a[:, 1])
    return bool((km[~np.eye(len(a), dtype=bool)] > 50).all())


@settings(max_examples=150, deadline=None)
@given(points, points, st.integers(1, 15))
def test_shapes_rows_and_ranking(clients, sites, k):
    c, s = np.array(clients), np.array(sites)
    idx, p = catchment.landing_probabilities(c[:, 0], c[:, 1], s[:, 0], s[:, 1], k=k)
    assert idx.shape == p.shape == (len(c), k) and idx.dtype == np.int64
    assert (p >= 0).all() and (p.sum(axis=1) <= 1 + 1e-9).all()
    assert (np.diff(p, axis=1) <= 1e-12).all()  # ranked by probability
    for row, prow in zip(idx, p):
        real = row[row >= 0]
        assert len(set(real)) == len(real) and (real < len(s)).all()
        assert (row[len(real):] == -1).all() and (prow[len(real):] == 0).all()
        assert len(real) == min(k, len(s))
    if k >= len(s):  # every site gets a share: the rows sum to 1
        assert np.allclose(p.sum(axis=1), 1.0)


@settings(max_examples=100, deadline=None)
@given(points, points, st.randoms(use_true_random=False))
def test_permuting_the_sites_permutes_the_indices(clients, sites, rnd):
    assume(len(sites) < 2 or _distinct(sites))
    c, s = np.array(clients), np.array(sites)
    perm = np.arange(len(s))
    rnd.shuffle(perm)
    i1, p1 = catchment.landing_probabilities(c[:, 0], c[:, 1], s[:, 0], s[:, 1], k=len(s))
    i2, p2 = catchment.landing_probabilities(c[:, 0], c[:, 1], s[perm, 0], s[perm, 1], k=len(s))
    assert np.allclose(p1, p2, atol=1e-12)
    # same site for every rank whose probability is not tied with a neighbour's
    clear = np.ones_like(p1, dtype=bool)
    gaps = np.abs(np.diff(p1, axis=1)) < 1e-9
    clear[:, 1:] &= ~gaps
    clear[:, :-1] &= ~gaps
    assert (perm[i2][clear] == i1[clear]).all()


@settings(max_examples=100, deadline=None)
@given(points)
def test_a_client_on_a_site_lands_there_most_likely(sites):
    assume(len(sites) < 2 or _distinct(sites))
    s = np.array(sites)
    idx, p = catchment.landing_probabilities(s[:, 0], s[:, 1], s[:, 0], s[:, 1], k=1)
    assert (idx[:, 0] == np.arange(len(s))).all()


def test_edge_cases_and_errors():
    idx, p = catchment.landing_probabilities([], [], [10.0], [20.0], k=3)
    assert idx.shape == p.shape == (0, 3)
    idx, p = catchment.landing_probabilities([0.0], [0.0], [1.0, 50.0], [1.0, 8.0], k=4)
    assert list(idx[0, 2:]) == [-1, -1] and list(p[0, 2:]) == [0.0, 0.0] and idx[0, 0] == 0
    with pytest.raises(ValueError, match="client 1: latitude nan"):
        catchment.landing_probabilities([0.0, np.nan], [0.0, 0.0], [1.0], [1.0])
    with pytest.raises(ValueError, match="site 0: longitude"):
        catchment.landing_probabilities([0.0], [0.0], [1.0], [200.0])
    with pytest.raises(ValueError, match="k must be >= 1"):
        catchment.landing_probabilities([0.0], [0.0], [1.0], [1.0], k=0)
    with pytest.raises(ValueError, match="no sites"):
        catchment.landing_probabilities([0.0], [0.0], [], [])


def test_more_sites_than_candidates_leave_the_rest_unassigned():
    params = D.CatchmentParams(("nearest", "log_ratio"), (1.0, -1.0), candidates=3)
    s_lat, s_lon = np.zeros(6), np.arange(6) * 10.0
    idx, p = D.landing_probabilities([0.0], [0.0], s_lat, s_lon, k=6, params=params)
    assert list(idx[0, :3]) == [0, 1, 2] and list(idx[0, 3:]) == [-1, -1, -1]
    assert 0 < p.sum() < 1


def test_params_validation_names_the_problem():
    with pytest.raises(ValueError, match="unknown catchment feature"):
        D.CatchmentParams(("bogus",), (1.0,))
    with pytest.raises(ValueError, match="2 coefficients for 1 features"):
        D.CatchmentParams(("nearest",), (1.0, 2.0))
    with pytest.raises(ValueError, match="missing field 'coefficients'"):
        D.params_from_dict({"features": ["nearest"]})


def test_regions_of_known_places():
    places = {"NA": (40.7, -74.0), "SA": (-23.5, -46.6), "EU": (52.5, 13.4), "AF": (-26.2, 28.0),
              "AS": (19.1, 72.9), "OC": (-33.9, 151.2)}
    for name, (a, b) in places.items():
        assert D.REGIONS[int(D.region_of(a, b))] == name
    assert D.REGIONS[int(D.region_of(24.7, 46.7))] == "AS"  # Riyadh: Middle East goes with Asia
    assert D.REGIONS[int(D.region_of(4.7, -74.1))] == "SA"  # Bogota
    assert D.REGIONS[int(D.region_of(30.0, 31.2))] == "AF"  # Cairo


def test_hub_sites_are_a_property_of_coordinates():
    # Frankfurt airport, Palo Alto (San Jose metro), Ashburn; Atlanta, Brussels, Nairobi are not
    lats = [50.03, 37.46, 39.04, 33.64, 50.46, -1.29]
    lons = [8.54, -122.12, -77.49, -84.43, 4.45, 36.82]
    assert D.hub_sites(lats, lons).tolist() == [True, True, True, False, False, False]
    assert D.hub_sites([], []).shape == (0,)
    # the feature follows the site, whatever the order of the site list
    order, X, _ = D.candidate_features(np.array([48.0]), np.array([9.0]), np.array(lats),
                                       np.array(lons), ("hub_site",), 64)
    assert X[0, :, 0].tolist() == D.hub_sites(lats, lons)[order[0]].tolist()


def test_the_fitter_recovers_known_coefficients():
    rng = np.random.default_rng(7)
    features = ("nearest", "log_ratio", "other_region")
    truth = np.array([0.8, -1.5, -0.7])
    s_lat, s_lon = rng.uniform(-50, 60, 30), rng.uniform(-180, 180, 30)
    c_lat, c_lon = rng.uniform(-50, 60, 4000), rng.uniform(-180, 180, 4000)
    order, X, n_rest = D.candidate_features(c_lat, c_lon, s_lat, s_lon, features, 64)
    p, _ = D.choice_probabilities(X, truth, n_rest, 0.0)
    chosen = (p.cumsum(axis=1) < rng.uniform(size=(len(p), 1))).sum(axis=1)
    d = fitter.Design("synthetic", X, chosen, n_rest, chosen == 0, chosen < 3, 30,
                      np.array(["x"] * len(chosen)))
    theta = fitter.fit([d])
    assert np.allclose(theta[:-1], truth, atol=0.15)
    assert abs(theta[-1]) < 1e-3  # no farther sites: the rest coefficient stays at 0


def test_settings_name_the_model_file(tmp_path):
    assert catchment_model_path({}) == DEFAULT_CATCHMENT_MODEL
    path = tmp_path / "m.json"
    assert Settings.from_env({"ANYCAST_CATCHMENT_MODEL": str(path)}).catchment_model == path
    with pytest.raises(ValueError, match="m.json"):
        catchment.load_params(path)


def test_the_shipped_model_file_is_valid_and_documented():
    doc = json.loads(DEFAULT_CATCHMENT_MODEL.read_text())
    params = catchment.load_params(DEFAULT_CATCHMENT_MODEL)
    assert set(doc["meta"]["feature_definitions"]) == set(params.features)
    assert "Cicalese" in doc["meta"]["source"]
    text = (ROOT / "docs" / "calibration.md").read_text()
    pooled = doc["meta"]["cv"]["pooled"]
    for name in ("model", "rank_only", "nearest"):
        assert f"{pooled[name]['logloss'] + 1e-9:.3f}" in text  # the docs quote the committed figures


@pytest.mark.skipif(not CATCHMENTS.exists(), reason="measured catchments not beside the repository")
def test_committed_metrics_are_what_the_fitter_reproduces():
    doc = json.loads(DEFAULT_CATCHMENT_MODEL.read_text())
    again = fitter.calibrate(CATCHMENTS, SITES)
    assert again["params"] == doc["params"]
    for key in ("cv", "cv_regions", "in_sample", "goals", "rows", "services"):
        assert again["meta"][key] == doc["meta"][key], key
