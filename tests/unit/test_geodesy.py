"""The geodesy core against ``geopy.distance.geodesic`` (the semantics we promise).

Agreement means: for every client and rank, the site we return is at the same geopy distance as
geopy's own choice for that rank to within 1 m (so true ties may go either way), and the distance
we report is within 1 m of geopy's distance to the site we return.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from geographiclib.geodesic import Geodesic
from geopy.distance import geodesic as geopy_geodesic
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.domain import geodesy as public
from dashboard.domain import geodesy
from dashboard.domain.geodesy import geodesic_km, great_circle_path, nearest, validate_coords

TOL_KM = 1e-3  # the promise: 1 m
VINCENTY_TOL_KM = 1e-6  # what we actually deliver against geographiclib: 1 mm

lats = st.floats(min_value=-90, max_value=90, allow_nan=False)
lons = st.floats(min_value=-180, max_value=180, allow_nan=False)
points = st.tuples(lats, lons)


def geopy_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    return geopy_geodesic((lat1, lon1), (lat2, lon2)).km


def brute_force(clients: np.ndarray, sites: np.ndarray) -> np.ndarray:
    """(n, m) geopy distances, km."""
    return np.array([[geopy_km(c[0], c[1], s[0], s[1]) for s in sites] for c in clients])


def assert_agrees(idx: np.ndarray, km: np.ndarray, ref: np.ndarray, k: int) -> None:
    n = len(ref)
    assert idx.shape == km.shape == (n, k)
    assert idx.dtype == np.int64
    want = np.sort(ref, axis=1)[:, :k]
    got_ref = np.take_along_axis(ref, idx, axis=1)
    # Same choice at every rank, up to 1 m ties.
    np.testing.assert_allclose(got_ref, want, rtol=0, atol=TOL_KM)
    # Reported distance is the true distance of the returned site.
    np.testing.assert_allclose(km, got_ref, rtol=0, atol=TOL_KM)
    for row in idx:
        assert len(set(row.tolist())) == k
    assert (np.diff(km, axis=1) >= -TOL_KM).all()


def test_the_core_module_is_the_one_import_path():
    """``dashboard.geodesy`` (a 5-line re-export) is gone: callers import the core itself."""
    from pathlib import Path

    import dashboard

    assert not (Path(dashboard.__file__).parent / "geodesy.py").exists()
    assert public.nearest is nearest and public.geodesic_km is geodesic_km
    assert public.great_circle_path is great_circle_path
    assert public.validate_coords is validate_coords


# --- geodesic_km ------------------------------------------------------------------------------

@given(points, points)
@settings(max_examples=300, deadline=None)
def test_geodesic_km_matches_geopy(p, q):
    got = geodesic_km(p[0], p[1], q[0], q[1])
    assert got.shape == ()
    assert abs(float(got) - geopy_km(p[0], p[1], q[0], q[1])) < VINCENTY_TOL_KM


@given(points, st.floats(min_value=-3, max_value=3), st.floats(min_value=-3, max_value=3))
@settings(max_examples=300, deadline=None)
def test_geodesic_km_near_antipodal_pairs_match_geopy(p, dlat, dlon):
    """Vincenty's weak spot: our pairs within a few degrees of antipodal must still be exact."""
    q_lat = float(np.clip(-p[0] + dlat, -90, 90))
    q_lon = (p[1] + 180 + dlon + 180) % 360 - 180
    got = float(geodesic_km(p[0], p[1], q_lat, q_lon))
    assert abs(got - geopy_km(p[0], p[1], q_lat, q_lon)) < VINCENTY_TOL_KM


def test_geodesic_km_random_batch_matches_geographiclib():
    rng = np.random.default_rng(11)
    n = 5000
    a = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    c = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    b = rng.uniform(-180, 180, n)
    d = rng.uniform(-180, 180, n)
    got = geodesic_km(a, b, c, d)
    ref = np.array([Geodesic.WGS84.Inverse(*x, Geodesic.DISTANCE)["s12"] / 1000
                    for x in zip(a, b, c, d)])
    assert np.abs(got - ref).max() < 1e-6  # sub-millimetre


@pytest.mark.parametrize("p, q", [
    ((0.0, 0.0), (0.0, 0.0)),                   # coincident
    ((90.0, 0.0), (90.0, 123.0)),               # the pole, any longitude
    ((-90.0, 10.0), (-90.0, -170.0)),
    ((90.0, 0.0), (-90.0, 0.0)),                # pole to pole (antipodal)
    ((0.0, 0.0), (0.0, 180.0)),                 # antipodal on the equator
    ((0.0, 0.0), (0.0, 179.5)),                 # equator, nearly antipodal
    ((10.0, 20.0), (-10.0, -160.0)),            # exactly antipodal
    ((0.0, 179.9999), (0.0, -179.9999)),        # across the antimeridian
    ((51.5, 180.0), (51.5, -180.0)),            # the same meridian written twice
    ((0.0, -10.0), (0.0, 10.0)),                # along the equator
    ((45.0, 45.0), (45.0000001, 45.0000001)),   # ~1 cm
])
def test_geodesic_km_special_pairs_match_geopy(p, q):
    assert abs(float(geodesic_km(*p, *q)) - geopy_km(*p, *q)) < VINCENTY_TOL_KM


def test_geodesic_km_broadcasts_and_passes_nan_through():
    out = geodesic_km(np.zeros((2, 1)), 0.0, np.array([0.0, np.nan, 1.0]), 1.0)
    assert out.shape == (2, 3)
    assert np.isnan(out[:, 1]).all()
    np.testing.assert_allclose(out[:, 0], geopy_km(0, 0, 0, 1), atol=VINCENTY_TOL_KM)
    assert geodesic_km([], [], [], []).shape == (0,)


def test_geodesic_km_wraps_longitudes_like_geopy():
    # geopy normalises 370 to 10 degrees; so do we (path waypoints may be unrolled past 180).
    assert abs(float(geodesic_km(0, 370, 0, 0)) - geopy_km(0, 10, 0, 0)) < VINCENTY_TOL_KM


@pytest.mark.parametrize("args, message", [
    ((91, 0, 0, 0), "lat1[0] = 91.0 is not a latitude"),
    ((0, 0, [0, -90.5], 0), "lat2[1] = -90.5 is not a latitude"),
    ((0, math.inf, 0, 0), "lon1[0] = inf is not a finite longitude"),
])
def test_geodesic_km_rejects_impossible_coordinates(args, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        geodesic_km(*args)


@given(points, points)
@settings(max_examples=300, deadline=None)
def test_auxiliary_sphere_bound(p, q):
    """The proof in the module docstring: b * sigma <= s <= a * sigma on the auxiliary sphere."""
    su, cu = geodesy._reduced(np.array([p[0], q[0]]))
    lam = np.radians([p[1], q[1]])
    u, v = np.column_stack([cu * np.cos(lam), cu * np.sin(lam), su])
    sigma = math.atan2(float(np.linalg.norm(np.cross(u, v))), float(u @ v))
    s = geopy_km(p[0], p[1], q[0], q[1])
    slack = 1e-9  # rounding (km)
    assert geodesy.WGS84_B_KM * sigma - slack <= s <= geodesy.WGS84_A_KM * sigma + slack


# --- nearest ----------------------------------------------------------------------------------

@pytest.mark.slow
@given(st.lists(points, min_size=1, max_size=12), st.lists(points, min_size=1, max_size=8),
       st.integers(min_value=1, max_value=10))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_nearest_matches_geopy_brute_force(clients, sites, k):
    c = np.array(clients)
    s = np.array(sites)
    idx, km = nearest(c[:, 0], c[:, 1], s[:, 0], s[:, 1], k=k)
    assert_agrees(idx, km, brute_force(c, s), min(k, len(s)))


@pytest.mark.slow
@given(st.lists(points, min_size=1, max_size=20), st.integers(min_value=1, max_value=4))
@settings(max_examples=60, deadline=None)
def test_nearest_catalog_pops_match_geopy(catalog, clients, k):
    c = np.array(clients)
    s = np.column_stack([catalog.pop_lats, catalog.pop_lons])
    idx, km = nearest(c[:, 0], c[:, 1], s[:, 0], s[:, 1], k=k)
    assert_agrees(idx, km, brute_force(c, s), k)


@pytest.mark.slow
@given(st.lists(points, min_size=2, max_size=6, unique=True),
       st.floats(min_value=0, max_value=1), st.floats(min_value=-1, max_value=1))
@settings(max_examples=80, deadline=None)
def test_nearest_clients_near_the_antipodes_of_sites(sites, t, jitter):
    """Clients near the antipode of a site: the far end of the ranking takes the slow path."""
    s = np.array(sites)
    c_lat = np.clip(-s[:, 0] + jitter, -90, 90)
    c_lon = (s[:, 1] + 180 + jitter * t + 180) % 360 - 180
    c = np.column_stack([c_lat, c_lon])
    k = len(s)
    idx, km = nearest(c[:, 0], c[:, 1], s[:, 0], s[:, 1], k=k)
    assert_agrees(idx, km, brute_force(c, s), k)


@pytest.mark.slow
def test_nearest_large_random_batch(catalog):
    """20,000 clients uniform on the sphere x the 19 PoPs: every client checked with pyproj
    (Karney's algorithm in PROJ, the same geodesic as geopy, fast), a sample with geopy itself."""
    pyproj = pytest.importorskip("pyproj")
    rng = np.random.default_rng(20)
    n = 20_000
    la = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    lo = rng.uniform(-180, 180, n)
    sla, slo = catalog.pop_lats, catalog.pop_lons
    m = len(sla)
    for k in (1, 3):
        idx, km = nearest(la, lo, sla, slo, k=k)
        _, _, metres = pyproj.Geod(ellps="WGS84").inv(
            np.repeat(lo, m), np.repeat(la, m), np.tile(slo, n), np.tile(sla, n))
        ref = metres.reshape(n, m) / 1000.0
        assert_agrees(idx, km, ref, k)
    sample = rng.choice(n, 300, replace=False)
    ref = brute_force(np.column_stack([la[sample], lo[sample]]), np.column_stack([sla, slo]))
    assert_agrees(idx[sample], km[sample], ref, 3)


def test_nearest_picks_ellipsoid_winner_where_the_sphere_gets_it_wrong():
    """A client almost equidistant on the sphere from two sites along different azimuths: the
    ellipsoid (meridian degrees are shorter at the equator) decides, and so must we."""
    # Sites 10 degrees north and 10 degrees east of the client; on a sphere they tie, on the
    # ellipsoid the northern one is closer (a meridian degree near the equator ~110.6 km,
    # an equatorial degree ~111.3 km).
    idx, km = nearest([0.0], [0.0], [10.0, 0.0], [0.0, 10.0], k=2)
    assert idx.tolist() == [[0, 1]]
    assert abs(km[0, 0] - geopy_km(0, 0, 10, 0)) < TOL_KM
    assert abs(km[0, 1] - geopy_km(0, 0, 0, 10)) < TOL_KM

    def haversine_km(lat1, lon1, lat2, lon2):
        p1, p2, dl = math.radians(lat1), math.radians(lat2), math.radians(lon2 - lon1)
        h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
        return 2 * 6371.0088 * math.asin(math.sqrt(h))

    assert haversine_km(0, 0, 10, 0) == pytest.approx(haversine_km(0, 0, 0, 10), abs=1e-9)


def test_nearest_across_the_antimeridian():
    sla = np.array([0.0, 0.0, 0.0])
    slo = np.array([179.9, -179.85, 170.0])
    idx, km = nearest([0.0, 0.0, 0.0], [180.0, -180.0, -179.95], sla, slo, k=3)
    assert idx[:, 0].tolist() == [0, 0, 1]
    assert_agrees(idx, km, brute_force(np.array([[0, 180], [0, -180], [0, -179.95]]),
                                       np.column_stack([sla, slo])), 3)


def test_nearest_at_the_poles():
    clients = np.array([[90.0, 0.0], [90.0, 135.0], [-90.0, -45.0], [89.9999, 180.0]])
    sites = np.array([[80.0, 0.0], [81.0, 90.0], [-85.0, 10.0], [90.0, 50.0]])
    idx, km = nearest(clients[:, 0], clients[:, 1], sites[:, 0], sites[:, 1], k=4)
    assert idx[0, 0] == 3 and idx[1, 0] == 3  # the pole is one point, whatever its longitude
    assert km[0, 0] < 1e-9 and km[1, 0] < 1e-9
    assert idx[2, 0] == 2
    assert_agrees(idx, km, brute_force(clients, sites), 4)


def test_client_exactly_at_a_pop_gets_it_at_zero_km(catalog):
    idx, km = nearest(catalog.pop_lats, catalog.pop_lons, catalog.pop_lats, catalog.pop_lons, k=2)
    assert idx[:, 0].tolist() == list(range(len(catalog.pop_ids)))
    assert (km[:, 0] == 0.0).all()
    assert (km[:, 1] > 0).all()


def test_coincident_sites_tie_to_the_lower_index():
    idx, km = nearest([1.0, 1.0], [2.0, 2.0], [5.0, 5.0, 3.0], [5.0, 5.0, 3.0], k=3)
    assert idx.tolist() == [[2, 0, 1], [2, 0, 1]]
    assert km[0, 1] == km[0, 2]


@pytest.mark.parametrize("lat", [0.0, 30.0, -60.0, 89.0])
def test_equidistant_sites_either_choice_within_a_metre(lat):
    """A client on the bisector of two sites (mirror images across its meridian)."""
    idx, km = nearest([lat], [0.0], [lat + 1.0, lat + 1.0], [-3.0, 3.0], k=2)
    assert sorted(idx[0].tolist()) == [0, 1]
    expect = geopy_km(lat, 0.0, lat + 1.0, 3.0)
    np.testing.assert_allclose(km[0], [expect, expect], atol=TOL_KM)


def test_k_is_clipped_and_ordered():
    idx, km = nearest([0.0], [0.0], [0.0, 0.0, 0.0], [3.0, 1.0, 2.0], k=10)
    assert idx.tolist() == [[1, 2, 0]]
    assert (np.diff(km[0]) > 0).all()


def test_empty_clients_give_empty_results():
    idx, km = nearest([], [], [1.0, 2.0], [3.0, 4.0], k=5)
    assert idx.shape == (0, 2) and km.shape == (0, 2) and idx.dtype == np.int64
    idx, km = nearest(np.empty(0), np.empty(0), [1.0], [3.0])
    assert idx.shape == (0, 1)


@pytest.mark.parametrize("kwargs, message", [
    (dict(client_lats=[0.0, float("nan")], client_lons=[0.0, 0.0]),
     "client 1: latitude nan is not a number in [-90, 90] degrees"),
    (dict(client_lats=[0.0], client_lons=[180.5]),
     "client 0: longitude 180.5 is not a number in [-180, 180] degrees"),
    (dict(client_lats=[-91.0], client_lons=[0.0]), "client 0: latitude -91.0"),
    (dict(client_lats=[0.0], client_lons=[float("-inf")]), "client 0: longitude -inf"),
    (dict(site_lats=[0.0, 100.0]), "site 1: latitude 100.0"),
    (dict(client_lats=[0.0, 1.0], client_lons=[0.0]), "must be 1-D arrays of one length"),
    (dict(client_lats=["north"], client_lons=[0.0]), "must be numbers in degrees"),
    (dict(site_lats=[], site_lons=[]), "no sites to choose from"),
    (dict(k=0), "k must be >= 1, got 0"),
])
def test_nearest_rejects_bad_input_with_a_clear_message(kwargs, message):
    args = dict(client_lats=[0.0], client_lons=[0.0], site_lats=[1.0, 2.0], site_lons=[1.0, 2.0])
    args.update(kwargs)
    if "site_lats" in kwargs and "site_lons" not in kwargs:
        args["site_lons"] = [0.0] * len(kwargs["site_lats"])
    with pytest.raises(ValueError) as err:
        nearest(**args)
    assert message in str(err.value)


def test_nearest_accepts_scalars_lists_and_numpy_ints():
    idx, km = nearest(0.0, 0.0, [0.0, 1.0], [0.0, 1.0], k=np.int64(1))
    assert idx.tolist() == [[0]] and km.tolist() == [[0.0]]


def test_nearest_handles_more_clients_than_one_block():
    rng = np.random.default_rng(3)
    n = geodesy._CHUNK * 2 + 17
    la = rng.uniform(-90, 90, n)
    lo = rng.uniform(-180, 180, n)
    sla = np.array([10.0, -20.0, 50.0])
    slo = np.array([0.0, 100.0, -100.0])
    idx, km = nearest(la, lo, sla, slo, k=2)
    ref = geodesic_km(la[:, None], lo[:, None], sla[None, :], slo[None, :])
    assert_agrees(idx, km, ref, 2)


# --- great_circle_path -----------------------------------------------------------------------

def test_great_circle_path_ends_and_spacing():
    lats, lons = great_circle_path(48.85, 2.35, 35.69, 139.69, n=20)
    assert len(lats) == len(lons) == 20
    assert (lats[0], lons[0]) == pytest.approx((48.85, 2.35))
    assert (lats[-1], lons[-1]) == pytest.approx((35.69, 139.69))
    steps = geodesic_km(lats[:-1], lons[:-1], lats[1:], lons[1:])
    np.testing.assert_allclose(steps, steps.mean(), atol=1e-6)
    assert abs(steps.sum() - geopy_km(48.85, 2.35, 35.69, 139.69)) < TOL_KM


def test_great_circle_path_is_continuous_across_the_antimeridian():
    lats, lons = great_circle_path(35.0, 170.0, 37.0, -122.0, n=50)
    assert np.abs(np.diff(lons)).max() < 10  # no +-360 jump
    assert lons[-1] == pytest.approx(238.0)  # unrolled: -122 + 360


def test_great_circle_path_rejects_bad_end_points():
    with pytest.raises(ValueError, match="latitude 95.0"):
        great_circle_path(95.0, 0.0, 0.0, 0.0)
