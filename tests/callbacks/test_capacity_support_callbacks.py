"""Capacity and support callbacks called as plain functions (no browser)."""

from __future__ import annotations

import base64
import json

import numpy as np
import pandas as pd
import pytest
from dash import no_update

from dashboard import ids
from dashboard.figures import capacity as capacity_figures
from dashboard.figures import map as map_figures
from dashboard.services import capacity as svc
from dashboard.services import support as support_svc
from dashboard.callbacks import capacity as cap_cb
from dashboard.callbacks import scenario as sc
from dashboard.callbacks import support as sup
from dashboard.domain.exports import scenario_from_json
from dashboard.domain.scenario import Client, Scenario
from dashboard.domain.scenario_url import from_query, to_query
from dashboard.settings import Settings
from dashboard.latency import default_params

SETTINGS = Settings()
PARIS, TOKYO, SYDNEY = Client(48.8566, 2.3522, "Paris", 40), Client(35.6895, 139.6917, "Tokyo",
                                                                   900), Client(-33.87, 151.21, "=Sydney")


def scenario(**kw) -> Scenario:
    return Scenario(clients=(PARIS, TOKYO, SYDNEY), **kw)


def apply(catalog, s: Scenario, request: dict) -> tuple[Scenario, list]:
    store, _url, origin, _endpoint, notices = sc.scenario_event(
        ids.SCENARIO_EDIT, "", request, None, None, s.to_dict(), catalog, SETTINGS)
    return Scenario.from_dict(store), [n.children for n in notices]


# -- capacity ----------------------------------------------------------------------------------

def test_capacity_view_of_client_weights_in_mbps(catalog):
    s = scenario(default_capacity_gbps=0.5)
    kpis, fig, bars, rows = cap_cb.compute_capacity(s.to_dict(), catalog, show_catchments=True)
    by = {r["id"]: r for r in rows}
    # weights are Mbps: Tokyo's 900 Mbps lands on NRT with 0.5 Gbps capacity -> 180 %
    assert by["NRT"]["nominal_gbps"] == pytest.approx(0.9)
    assert by["NRT"]["utilisation_pct"] == pytest.approx(180.0)
    assert by["NRT"]["served_gbps"] == pytest.approx(0.5)
    assert by["NRT"]["spilled_out_gbps"] == pytest.approx(0.4)
    assert sum(r["served_gbps"] for r in rows) == pytest.approx(0.941)  # nothing unserved
    assert by["CDG"]["capacity_source"] == "default"
    names = [t.name for t in fig.data]
    assert names == list(capacity_figures.CAPACITY_TRACES)
    catch = fig.data[capacity_figures.capacity_trace_index(capacity_figures.CATCHMENTS)]
    assert len(catch.lat) == 90 * 180  # 2-degree grid, every cell routed
    spill = fig.data[capacity_figures.capacity_trace_index(capacity_figures.SPILL)]
    assert len(spill.lat) >= 1 and "NRT →" in spill.hovertext[0]
    assert [t.name for t in bars.data][-1] == "Capacity"


def test_catchments_follow_down_pops_and_can_be_hidden(catalog):
    s = scenario(down=frozenset({"SYD"}))
    _, fig, _, rows = cap_cb.compute_capacity(s.to_dict(), catalog, show_catchments=False)
    assert len(fig.data[0].lat) == 0
    assert {r["id"]: r for r in rows}["SYD"]["utilisation_pct"] is None
    lat, lon, pop = svc.catchments(catalog, frozenset({"SYD"}))
    assert catalog.pop_index("SYD") not in set(pop)


@pytest.mark.slow
def test_population_demand_sums_to_the_total_and_is_aggregated_on_the_map(catalog):
    s = Scenario().with_demand("population", 12.0)
    view = svc.capacity_view(catalog, s)
    assert view.demand.total_gbps == pytest.approx(12.0)
    assert len(view.demand.lats) > 30_000
    assert view.totals["served_gbps"] + view.totals["unserved_gbps"] == pytest.approx(12.0)
    marks = svc.demand_markers(view.demand, view.spill.served_at)
    assert len(marks) < 5000 and marks["gbps"].sum() == pytest.approx(12.0)


def test_capacity_edits_go_through_the_scenario(catalog):
    s = scenario()
    req = cap_cb.control_edit(ids.DEMAND_SOURCE, "population", 1, 1, s.to_dict())
    s2, _ = apply(catalog, s, req)
    assert (s2.demand_source, s2.demand_scale) == ("population", None)
    req = cap_cb.control_edit(ids.DEFAULT_CAPACITY, "population", None, 2.5, s2.to_dict())
    s3, _ = apply(catalog, s2, req)
    assert s3.default_capacity_gbps == 2.5
    assert "capacity=*:2.5" in to_query(s3) and "demand=population" in to_query(s3)
    # unchanged value: no edit (the controls re-render without looping)
    assert cap_cb.control_edit(ids.DEFAULT_CAPACITY, "population", None, 2.5,
                               s3.to_dict()) is no_update
    bad = cap_cb.control_edit(ids.DEMAND_SCALE, "population", -1, 2.5, s3.to_dict())
    assert bad["op"] == "notice" and "> 0" in bad["notices"][0]["text"]
    assert cap_cb.controls_for(s3.to_dict(), "population", 10.0, 2.5) is no_update
    assert cap_cb.controls_for(s3.to_dict(), "clients", 1, 1) is not no_update


def test_editing_a_capacity_cell_records_only_that_pop(catalog):
    s = scenario()
    _, _, _, rows = cap_cb.compute_capacity(s.to_dict(), catalog, False)
    for r in rows:
        if r["id"] == "NRT":
            r["capacity_gbps"] = 5
    req = cap_cb.table_edit(rows, s.to_dict(), catalog)
    s2, _ = apply(catalog, s, req)
    assert s2.capacity == (("NRT", 5.0),)
    for r in rows:
        if r["id"] == "FRA":
            r["capacity_gbps"] = "lots"
    bad = cap_cb.table_edit(rows, s2.to_dict(), catalog)
    assert bad["op"] == "notice" and "FRA" in bad["notices"][0]["text"]


def test_n1_run_reports_progress_and_flags_a_stale_result(catalog):
    s = scenario()
    seen = []
    result = cap_cb.run_n1(s.to_dict(), catalog, SETTINGS, lambda f, t: seen.append((f, t)))
    assert len(result["rows"]) == 19 and seen[-1][0] == pytest.approx(1.0)
    assert all(a[0] <= b[0] for a, b in zip(seen, seen[1:]))  # monotone
    json.dumps(result)  # JSON-able for dcc.Store (NaN became null)
    rows, fig, note = cap_cb.n1_outputs(result, s.to_dict(), catalog, SETTINGS)
    nrt = next(r for r in rows if r["pop_id"] == "NRT")
    assert nrt["clients_moved"] == 1 and nrt["demand_moved"] == pytest.approx(0.9)
    assert "Computed" in str(note)
    _, _, stale = cap_cb.n1_outputs(result, s.with_down(["FRA"]).to_dict(), catalog, SETTINGS)
    assert "run it again" in str(stale)
    dl = cap_cb.n1_download(result)
    assert dl["filename"].startswith("anycast-eip-n-minus-1-") and dl["type"] == "text/csv"
    table = pd.read_csv(pd.io.common.StringIO(dl["content"]))
    assert len(table) == 19 and "p95_change_ms" in table.columns
    assert cap_cb.n1_download(None) is no_update
    # "Done" comes with the table (the callback that draws it), not with the job's last poll
    assert cap_cb.n1_done_status(result) == (
        f"Done: 19 access points analysed in {result['seconds']} s.")
    assert cap_cb.n1_done_status(None) is no_update


def test_rtt_matrix_matches_the_path_model(catalog):
    from dashboard.domain.paths import client_paths

    lats, lons = np.array([48.8566, -33.87]), np.array([2.3522, 151.21])
    o = catalog.origin("eu-central-1")
    m = svc.rtt_matrix_ms(catalog, lats, lons, float(o["lat"]), float(o["lon"]))
    paths = client_paths(lats, lons, catalog.pop_ids, catalog.pop_lats, catalog.pop_lons,
                         float(o["lat"]), float(o["lon"]), params=default_params())
    for k, pid in enumerate(paths["pop_id"]):
        assert m[k, catalog.pop_index(pid)] == pytest.approx(paths["anycast_ms"][k])


def test_n1_follows_the_endpoint_mappings_like_the_map(catalog):
    """With Normal endpoints, each PoP's backbone leg goes to its own endpoint's region: the
    N-1 'before' median equals the weighted median of the routing table's anycast RTTs."""
    from dashboard.services import routing
    from dashboard.domain.stats import weighted_quantile

    s = Scenario(clients=tuple(Client(lat, lon, n, 1.0) for lat, lon, n in (
        (35.68, 139.69, "Tokyo"), (1.35, 103.82, "Singapore"), (48.85, 2.35, "Paris"),
        (40.71, -74.0, "New York"))), origin="eu-central-1",
        mappings=(("ap-southeast-1", ("NRT", "SIN")),))
    table = svc.n_minus_one_analysis(catalog, s, "eu-central-1")
    routes = routing.route_table(catalog, tuple((c.lat, c.lon) for c in s.clients),
                                  "eu-central-1", frozenset(), s.mappings)
    assert set(routes["origin_id"]) == {"ap-southeast-1", "eu-central-1"}
    want = weighted_quantile(routes["anycast_ms"].to_numpy(float), np.ones(4), 0.5)
    assert table["p50_before_ms"].iloc[0] == pytest.approx(want)
    plain = svc.n_minus_one_analysis(catalog, Scenario(clients=s.clients, origin="eu-central-1"),
                                     "eu-central-1")
    assert plain["p50_before_ms"].iloc[0] != pytest.approx(want)
    # the N-1 result is stale once the mappings change
    assert cap_cb.n1_key(s, "eu-central-1") != cap_cb.n1_key(
        Scenario(clients=s.clients, origin="eu-central-1"), "eu-central-1")


# -- support -------------------------------------------------------------------------------------

def test_a_client_is_picked_on_the_map_or_in_the_table():
    client_curve = map_figures.map_trace_index(map_figures.CLIENTS)
    click = {"points": [{"curveNumber": client_curve, "customdata": 2}]}
    assert sup.selected_client(ids.WORLD_MAP, click, None) == 2
    pop_click = {"points": [{"curveNumber": client_curve + 20, "customdata": "FRA"}]}
    assert sup.selected_client(ids.WORLD_MAP, pop_click, None) is None
    # what Dash really sends for a typed-array customdata: no customdata, the coordinates
    real = {"points": [{"curveNumber": client_curve, "pointNumber": 0, "lat": -33.87,
                        "lon": 151.21}]}
    assert sup.selected_client(ids.WORLD_MAP, real, None, scenario().to_dict()) == 2
    assert sup.selected_client(ids.ASSIGNMENT_TABLE, None, {"row_id": 1, "column_id": "pop"}) == 1
    assert sup.selected_client(ids.ASSIGNMENT_TABLE, None,
                               {"row_id": 1, "column_id": "remove"}) is None


def test_explain_panel_ranks_every_pop_and_states_the_bgp_note(catalog):
    s = scenario(down=frozenset({"CDG"}), observed=((0, "MAD"),))
    body = sup.explain_body(s.to_dict(), 0, catalog, SETTINGS)
    text = str(body)
    assert "LHR" in text and "Nearer but down" in text and "BGP" in text
    assert "Observed detour via MAD" in text
    table = next(c for c in body if getattr(c, "id", None) == ids.EXPLAIN_TABLE)
    assert len(table.data) == 19 and table.data[0]["pop_id"] == "LHR"
    assert table.data[-1]["state"] == "down" and table.data[-1]["pop_id"] == "CDG"
    assert table.data[0]["delta_ms"] == 0 and isinstance(table.data[1]["delta_ms"], float)
    assert "Pick a client" in str(sup.explain_body(s.to_dict(), None, catalog, SETTINGS))


def test_observed_pop_is_recorded_in_the_scenario_and_the_url(catalog):
    s = scenario()
    ids_ = [{"type": ids.OBSERVED_POP, "client": 1}]
    req = sup.observe_edit(["ICN"], ids_, s.to_dict())
    s2, notes = apply(catalog, s, req)
    assert s2.observed == ((1, "ICN"),) and "observed=1:ICN" in to_query(s2)
    assert sup.observe_edit(["ICN"], ids_, s2.to_dict()) is no_update  # re-render: no edit
    s3, _ = apply(catalog, s2, sup.observe_edit([""], ids_, s2.to_dict()))
    assert s3.observed == ()
    # removing an earlier client keeps the override on the same client
    s4, _ = apply(catalog, s2, sc.edit("remove", index=0))
    assert s4.observed == ((0, "ICN"),) and s4.clients[0].name == "Tokyo"


def test_assignment_csv_is_formula_safe(catalog):
    s = scenario(observed=((2, "NRT"),))
    dl = sup.assignment_download(s.to_dict(), catalog, SETTINGS)
    assert dl["filename"].startswith("anycast-eip-assignment-") and dl["filename"].endswith(".csv")
    df = pd.read_csv(pd.io.common.StringIO(dl["content"]))
    assert list(df["client"]) == ["Paris", "Tokyo", "'=Sydney"]
    assert list(df["pop_id"]) == ["CDG", "NRT", "SYD"] and df["observed_pop"][2] == "NRT"
    assert sup.assignment_download(Scenario().to_dict(), catalog, SETTINGS) is no_update


def test_export_then_import_gives_the_identical_scenario(catalog):
    s = scenario(origin="us-east-1", down=frozenset({"CDG"}), observed=((0, "LHR"),),
                 capacity=(("NRT", 2.0),), default_capacity_gbps=1.5,
                 demand_source="clients", demand_scale=0.25)
    dl = sup.scenario_download(s.to_dict())
    assert dl["filename"].endswith(".json") and dl["type"] == "application/json"
    assert scenario_from_json(dl["content"], catalog.pop_ids, catalog.origin_ids) == s
    upload = "data:application/json;base64," + base64.b64encode(dl["content"].encode()).decode()
    req = sup.import_edit(upload, "x.json", catalog, SETTINGS)
    store, url, origin, endpoint, notices = sc.scenario_event(
        ids.SCENARIO_EDIT, "", req, None, None, Scenario().to_dict(), catalog, SETTINGS)
    assert Scenario.from_dict(store) == s
    assert origin == "us-east-1"  # the widgets follow an imported scenario
    assert from_query(url, pop_ids=catalog.pop_ids)[0] == s


def test_a_bad_import_changes_nothing_and_says_why(catalog):
    s = scenario()
    bad = json.dumps({"format": "anycast-eip-scenario", "version": 1,
                      "scenario": {"clients": [{"lat": 1, "lon": 500}]}})
    upload = "data:application/json;base64," + base64.b64encode(bad.encode()).decode()
    req = sup.import_edit(upload, "bad.json", catalog, SETTINGS)
    s2, notes = apply(catalog, s, req)
    assert s2 == s
    assert "bad.json" in notes[0] and "clients[0]" in notes[0] and "Nothing was changed" in notes[0]
    assert "not readable" in str(sup.import_edit("data:x;base64,@@@", "y", catalog, SETTINGS))


def test_explain_and_csv_follow_endpoint_mappings_and_outages(catalog):
    """The explain panel and the CSV export route like the map and the table: each PoP's
    backbone leg to its endpoint's region, unserved where that endpoint is down."""
    from dashboard.callbacks import results

    s = Scenario(clients=(Client(40.71, -74.0, "New York"), Client(1.35, 103.82, "Singapore")),
                 origin="eu-central-1", mappings=(("us-east-1", ("IAD",)),
                                                  ("ap-southeast-1", ("SIN",))),
                 endpoints_down=frozenset({"ap-southeast-1"}))
    rows = results.compute_results(s.to_dict(), catalog, SETTINGS)[1]
    csv = sup.assignment_frame(s.to_dict(), catalog, SETTINGS)
    assert list(csv["origin_id"]) == ["us-east-1", ""] and list(csv["served"]) == [True, False]
    assert csv["anycast_ms"][0] == pytest.approx(rows[0]["anycast_ms"], abs=0.05)
    assert np.isnan(csv["anycast_ms"][1]) and rows[1]["origin"] == "unserved (endpoint down)"
    ny = support_svc.explain_client(catalog, s, 0, "eu-central-1").ranking.set_index("pop_id")
    assert ny.loc["IAD", "anycast_ms"] == pytest.approx(rows[0]["anycast_ms"], abs=0.05)
    sg = support_svc.explain_client(catalog, s, 1, "eu-central-1").ranking.set_index("pop_id")
    assert np.isnan(sg.loc["SIN", "anycast_ms"])


def test_a_client_marker_click_in_compact_mode_finds_the_client():
    """From 1,000 clients plotly reports float32 positions: still the right client."""
    clients = tuple(Client(-60 + i * 0.1, -170 + i * 0.25, f"c{i}") for i in range(1_200))
    store = Scenario(clients=clients).to_dict()
    ci = map_figures.map_trace_index(map_figures.CLIENTS)
    for i in (0, 17, 599, 1_199):
        lat, lon = (float(np.float32(clients[i].lat)), float(np.float32(clients[i].lon)))
        click = {"points": [{"curveNumber": ci, "lat": lat, "lon": lon}]}
        assert sup.selected_client(ids.WORLD_MAP, click, None, store) == i


def test_every_geo_graph_loads_the_world_outline_from_our_assets(catalog):
    """plotly.js caches the outline, so the capacity map only worked because the main map drew
    first; each geo graph must say where the outline is, or it fetches it from a CDN."""
    from dash import dcc

    from dashboard.app import create_app

    app = create_app()
    graphs = {}

    def walk(node):
        if isinstance(node, dcc.Graph):
            graphs[node.id] = node
        kids = getattr(node, "children", None)
        for kid in kids if isinstance(kids, (list, tuple)) else [kids]:
            if kid is not None and not isinstance(kid, (str, int, float)):
                walk(kid)

    walk(app.layout)
    for gid in (ids.WORLD_MAP, ids.CAPACITY_MAP):
        assert graphs[gid].config["topojsonURL"] == app.get_asset_url("topojson/"), gid
