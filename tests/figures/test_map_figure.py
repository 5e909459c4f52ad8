"""Pure figure builders: named, fixed trace order and the arrays they draw."""

from __future__ import annotations

import numpy as np
import pytest

from dashboard.figures import cdf as cdf_figures
from dashboard.figures import map as map_figures
from dashboard.services import routing
from dashboard.catalog import AREAS
from dashboard.domain.geodesy import geodesic_km

PARIS = (48.8566, 2.3522)
AUCKLAND = (-36.8485, 174.7633)
TOKYO = (35.6895, 139.6917)


def trace(fig, name):
    return fig.data[map_figures.map_trace_index(name)]


def test_base_map_has_every_layer_in_fixed_order(catalog):
    fig = map_figures.map_figure(catalog.pops, catalog.origins, "eu-central-1")
    assert tuple(t.name for t in fig.data) == map_figures.MAP_TRACES
    assert all(t.type == "scattergeo" for t in fig.data)
    assert fig.layout.geo.projection.type == "natural earth"
    assert fig.layout.uirevision == map_figures.UIREVISION  # zoom/pan survive updates
    # every PoP is drawn once, in the trace of its area, with its id for click handling
    drawn = {}
    for area in AREAS:
        t = trace(fig, map_figures.pop_trace_name(area))
        assert t.marker.color == map_figures.AREA_COLORS[area]
        for pid, lat, lon in zip(t.customdata, t.lat, t.lon):
            drawn[pid] = (lat, lon)
    assert set(drawn) == set(catalog.pop_ids)
    cdg = catalog.pops[catalog.pops["id"] == "CDG"].iloc[0]
    assert drawn["CDG"] == (cdg["lat"], cdg["lon"])
    t = trace(fig, map_figures.pop_trace_name("Europe"))
    assert "France (Paris)" in t.hovertext[list(t.customdata).index("CDG")]
    assert "Europe" in t.hovertext[0] and "48.8534" in t.hovertext[list(t.customdata).index("CDG")]
    # selected origin and the others are distinct symbols
    sel, other = trace(fig, map_figures.ORIGIN_SELECTED), trace(fig, map_figures.ORIGINS_OTHER)
    assert list(sel.customdata) == ["eu-central-1"] and len(other.lat) == len(catalog.origins) - 1
    assert sel.marker.symbol != trace(fig, map_figures.pop_trace_name("Europe")).marker.symbol
    for name in (map_figures.LEG_INTERNET, map_figures.LEG_BACKBONE, map_figures.CLIENTS):
        assert len(trace(fig, name).lat) == 0


def test_paths_one_trace_per_leg_with_nan_separated_geodesics(catalog):
    clients = (PARIS, AUCKLAND, TOKYO)
    routes = routing.route_table(catalog, clients, "eu-central-1")
    fig = map_figures.map_figure(catalog.pops, catalog.origins, "eu-central-1", routes,
                             ["Paris", "Auckland", "Tokyo"])
    assert tuple(t.name for t in fig.data) == map_figures.MAP_TRACES
    net = trace(fig, map_figures.LEG_INTERNET)
    lat, lon = np.asarray(net.lat, float), np.asarray(net.lon, float)
    segments = np.split(np.arange(len(lat)), np.flatnonzero(np.isnan(lat)))
    assert np.isnan(lat).sum() == 2  # three client legs -> two separators
    pops = catalog.pops.set_index("id")
    starts = []
    for seg, pid, client in zip(segments, routes["pop_id"], clients):
        seg = seg[~np.isnan(lat[seg])]
        assert (lat[seg[0]], lon[seg[0]]) == pytest.approx(client)
        assert (lat[seg[-1]], lon[seg[-1]]) == pytest.approx((pops.loc[pid, "lat"],
                                                              pops.loc[pid, "lon"]))
        starts.append(lat[seg[0]])
    assert list(routes["pop_id"]) == ["CDG", "SYD", "NRT"]
    # Auckland -> Sydney is ~2 160 km: several waypoints along the geodesic
    bb = trace(fig, map_figures.LEG_BACKBONE)
    blat = np.asarray(bb.lat, float)
    # PoPs used: CDG, SYD, NRT; none is in Frankfurt -> three backbone segments
    assert np.isnan(blat).sum() == 2
    fra = pops.loc["FRA"]
    ends = [i - 1 for i in np.flatnonzero(np.isnan(blat))] + [len(blat) - 1]
    for i in ends:
        assert (blat[i], bb.lon[i]) == pytest.approx((fra["lat"], fra["lon"]))
    assert net.line.dash == "dot" and bb.line.dash is None  # visually distinct legs
    clients_t = trace(fig, map_figures.CLIENTS)
    assert list(clients_t.customdata) == [0, 1, 2]
    assert "Auckland" in clients_t.hovertext[1] and "SYD" in clients_t.hovertext[1]


def test_geodesic_polyline_waypoints_lie_on_the_geodesic():
    lat, lon = map_figures.geodesic_polyline([AUCKLAND[0]], [AUCKLAND[1]], [51.5], [-0.12])
    assert len(lat) > 40 and not np.isnan(lat).any()
    steps = geodesic_km(lat[:-1], lon[:-1], lat[1:], lon[1:])
    total = geodesic_km(AUCKLAND[0], AUCKLAND[1], 51.5, -0.12)
    assert steps.sum() == pytest.approx(float(total), rel=1e-6)
    assert steps.max() <= max(map_figures.WAYPOINT_KM,
                              total / (map_figures.MAX_WAYPOINTS - 1)) * 1.01
    assert np.ptp(steps) < 1e-6  # evenly spaced along the geodesic


def test_down_pops_are_grey_crossed_and_unused(catalog):
    routes = routing.route_table(catalog, (PARIS,), "eu-central-1", frozenset({"CDG"}))
    fig = map_figures.map_figure(catalog.pops, catalog.origins, "eu-central-1", routes, ["Paris"],
                             down={"CDG"})
    dn = trace(fig, map_figures.POPS_DOWN)
    assert list(dn.customdata) == ["CDG"] and dn.showlegend
    assert "CDG" not in list(trace(fig, map_figures.pop_trace_name("Europe")).customdata)
    assert routes["pop_id"].iloc[0] != "CDG"


def test_all_down_clients_show_as_unrouted(catalog):
    routes = routing.route_table(catalog, (PARIS, TOKYO), "eu-central-1",
                                  frozenset(catalog.pop_ids))
    fig = map_figures.map_figure(catalog.pops, catalog.origins, "eu-central-1", routes, ["a", "b"],
                             down=catalog.pop_ids)
    assert len(trace(fig, map_figures.UNROUTED).lat) == 2
    assert len(trace(fig, map_figures.CLIENTS).lat) == 0
    assert len(trace(fig, map_figures.LEG_INTERNET).lat) == 0


def test_rtt_cdf_is_weighted_and_monotone():
    fig = cdf_figures.rtt_cdf_figure([30, 10, 20, np.nan], [50, 40, 60, 70], weights=[1, 1, 2, 1])
    anycast, direct = fig.data
    assert (anycast.name, direct.name) == ("Anycast EIP", "Direct to origin")
    assert list(anycast.x) == [10, 10, 20, 30]
    assert list(anycast.y) == pytest.approx([0, 0.25, 0.75, 1.0])
    assert list(direct.y) == pytest.approx([0, 0.2, 0.4, 0.8, 1.0])
    empty = cdf_figures.rtt_cdf_figure([], [])
    assert [len(t.x) for t in empty.data] == [0, 0]


def test_client_hover_shows_landing_probabilities_when_given(catalog):
    routes = routing.route_table(catalog, ((-26.2041, 28.0473), (48.85, 2.35)), "eu-central-1")
    fig = map_figures.map_figure(catalog.pops, catalog.origins, "eu-central-1", routes,
                                 ["Johannesburg", "<Paris>"],
                                 landing=["MAD 18%, FRA 16%, CDG 16%", "CDG <1%"])
    text = trace(fig, map_figures.CLIENTS).hovertext
    assert "BGP likely: MAD 18%, FRA 16%, CDG 16%" in text[0] and "%" in text[1]
    assert "&lt;1%" in text[1]  # escaped like every hover label
    plain = map_figures.map_figure(catalog.pops, catalog.origins, "eu-central-1", routes)
    assert all("BGP likely" not in t for t in trace(plain, map_figures.CLIENTS).hovertext)


def test_client_bins_count_every_point_in_order_of_first_member():
    lat = np.array([10.1, 50.0, 10.2, -33.9, 11.9, 50.5])
    lon = np.array([20.1, 8.0, 20.9, 151.2, 20.5, 8.4])
    cell, first = map_figures.client_bins(lat, lon, cell_deg=3.0)
    assert list(first) == [0, 1, 3]            # cells numbered by their first member
    assert list(cell) == [0, 1, 0, 2, 0, 1]
    assert np.bincount(cell).sum() == len(lat)
    assert map_figures.bin_marker_size(np.array([1, 300, 10_000])).tolist() == \
        pytest.approx([5.15, 23.92, 24.0], abs=0.01)


def test_large_client_sets_are_drawn_aggregated_under_the_access_points(catalog):
    rng = np.random.default_rng(17)
    n = map_figures.AGGREGATE_FROM + 10
    centres = rng.uniform([-40, -170], [60, 170], size=(40, 2))   # 40 metropolitan areas
    near = centres[rng.integers(0, 40, n)] + rng.normal(0, 0.8, size=(n, 2))
    pts = tuple(map(tuple, near))
    routes = routing.route_table(catalog, pts, "eu-central-1", frozenset())
    names = ["<b>evil</b>"] + [f"c{i}" for i in range(1, n)]
    fig = map_figures.map_figure(catalog.pops, catalog.origins, "eu-central-1", routes, names)
    clients = trace(fig, map_figures.CLIENTS)
    counts = clients.customdata[:, map_figures.BIN_CUSTOMDATA.index("clients")]
    assert counts.sum() == n and len(clients.lat) < n / 10
    assert "<b>evil</b>" not in clients.text[0] and "evil" in clients.text[0]  # escaped
    order = [t.name for t in fig.data]
    assert order.index(map_figures.CLIENTS) < min(
        order.index(map_figures.pop_trace_name(a)) for a in AREAS)
    # every PoP is labelled with its id
    labels = {t for a in AREAS for t in trace(fig, map_figures.pop_trace_name(a)).text}
    assert labels == set(catalog.pops["id"])


def test_observed_entry_is_drawn_client_to_observed_pop_to_its_origin(catalog):
    """Support (issue 17): a client seen entering at another PoP than the model's gets its
    observed path on the map, client -> observed PoP -> that PoP's origin (its Normal endpoint's
    region when mapped), dashed, with a hover naming both PoPs; none without an observation."""
    clients = (PARIS, TOKYO)
    routes = routing.route_table(catalog, clients, "eu-central-1")
    assert routes["pop_id"].iat[0] == "CDG"
    plain = map_figures.map_figure(catalog.pops, catalog.origins, "eu-central-1", routes,
                                   ["Paris", "Tokyo"])
    assert len(trace(plain, map_figures.OBSERVED).lat) == 0
    assert trace(plain, map_figures.OBSERVED).showlegend is False
    fig = map_figures.map_figure(catalog.pops, catalog.origins, "eu-central-1", routes,
                                 ["Paris", "Tokyo"], observed=[(0, "LHR"), (5, "FRA"),
                                                               (1, "NOPE")],
                                 mappings=[("us-east-1", ("LHR",))])
    obs = trace(fig, map_figures.OBSERVED)
    lat, lon = np.asarray(obs.lat, float), np.asarray(obs.lon, float)
    pieces = [p for p in np.split(np.arange(len(lat)), np.flatnonzero(np.isnan(lat)))]
    pieces = [p[~np.isnan(lat[p])] for p in pieces]
    pieces = [p for p in pieces if len(p)]
    assert len(pieces) == 2  # only client 0 (row 5 and the unknown PoP are skipped)
    pops = catalog.pops.set_index("id")
    us_east = catalog.origins.set_index("id").loc["us-east-1"]
    first, second = pieces
    assert (lat[first[0]], lon[first[0]]) == pytest.approx(PARIS)
    assert (lat[first[-1]], lon[first[-1]]) == pytest.approx(
        (pops.loc["LHR", "lat"], pops.loc["LHR", "lon"]))
    assert (lat[second[-1]], lon[second[-1]]) == pytest.approx(
        (us_east["lat"], us_east["lon"]))  # LHR's mapped origin, not the default
    assert obs.line.dash == "dash" and obs.showlegend is True
    assert len(obs.hovertext) == len(lat)
    assert "observed entry at LHR" in obs.hovertext[0] and "expects CDG" in obs.hovertext[0]


def test_excluded_rows_read_at_once_are_the_int_of_each():
    """``_int_rows``: lists and arrays numpy reads as integers at once, anything else value by
    value with ``int`` (the same array either way)."""
    for values in ([], [3, 0, 7], (5, 2), np.array([4, 1], dtype=np.int32),
                   np.array([9], dtype=np.uint8), [True, 2], [1.9, 2.2], ["3", 4],
                   (i for i in (8, 6)), range(3)):
        want = np.fromiter((int(i) for i in (list(values) if not isinstance(values, range)
                                             else values)), dtype=np.int64)
        if not hasattr(values, "__len__"):
            values = (i for i in (8, 6))  # the generator above was consumed
        got = map_figures._int_rows(values)
        assert got.dtype == np.int64 and got.tolist() == want.tolist()
