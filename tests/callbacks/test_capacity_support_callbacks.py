"""Capacity and support callbacks called as plain functions (no browser): the one round trip's
view functions (``callbacks.scene``), the edit requests the widgets write (``assets/edits.js``)
resolved and applied by ``services.events.scenario_event``, the N-1 view and the downloads."""

from __future__ import annotations

import base64
import json

import numpy as np
import pandas as pd
import pytest
from dash import no_update

from dashboard import ids
from dashboard.callbacks import capacity as cap_cb
from dashboard.callbacks import scene
from dashboard.callbacks import support as sup
from dashboard.domain.exports import scenario_from_json
from dashboard.domain.scenario import Client, Scenario
from dashboard.domain.scenario_url import from_query, to_query
from dashboard.figures import capacity as capacity_figures
from dashboard.figures import map as map_figures
from dashboard.latency import default_params
from dashboard.services import capacity as svc
from dashboard.services import events
from dashboard.services import map as map_service
from dashboard.services import support as support_svc
from dashboard.services.requests import import_request, resolve_request
from dashboard.services.scenario import load_scenario
from dashboard.settings import Settings
from tests.callbacks.edits_js import NO_UPDATE, needs_node, run_edit, run_edits

SETTINGS = Settings()
PARIS, TOKYO, SYDNEY = Client(48.8566, 2.3522, "Paris", 40), Client(35.6895, 139.6917, "Tokyo",
                                                                   900), Client(-33.87, 151.21, "=Sydney")


def scenario(**kw) -> Scenario:
    return Scenario(clients=(PARIS, TOKYO, SYDNEY), **kw)


def event(catalog, s: Scenario, request: dict) -> events.SceneEvent | None:
    """The scene callback's event for an edit request written into ``ids.SCENARIO_EDIT``."""
    return events.scenario_event(events.EDIT, "", request, None, None, s.to_dict(), catalog,
                                 SETTINGS)


def apply(catalog, s: Scenario, request: dict) -> tuple[Scenario, list[str]]:
    """(the scenario after ``request``, the notice texts); no event: unchanged, no notice."""
    ev = event(catalog, s, request)
    if ev is None:
        return s, []
    return Scenario.from_dict(ev.store), [text for _level, text in ev.notices]


def loaded(catalog, s: Scenario):
    return load_scenario(s.to_dict(), catalog, SETTINGS)


def capacity_tab(catalog, s: Scenario, show_catchments: bool) -> tuple:
    """(kpis, capacity map, load bars, table rows) as the round trip renders them (the cost
    panel, the fifth output, is tested in tests/callbacks/test_cost_panel.py)."""
    return scene.capacity_outputs(loaded(catalog, s), show_catchments, catalog)[:4]


def capacity_input(changed: str, source, scale, default) -> dict:
    """What ``anycastEdits.capacityInput`` writes when one capacity control changes."""
    return {"op": "capacity_input", "changed": changed, "source": source, "scale": scale,
            "default": default, "nonce": 1}


def n1_panel(catalog, result, s: Scenario) -> tuple:
    """(N-1 rows, chart, note) as the page shows them: ``callbacks.capacity.n1_view`` draws the
    table, ``scene.n1_note`` the line under it."""
    rows, fig, _status = cap_cb.n1_view(result)
    return rows, fig, scene.n1_note(loaded(catalog, s), result)


# -- capacity ----------------------------------------------------------------------------------

def test_capacity_view_throttles_at_a_full_pop_by_default(catalog):
    """Issue 15: BGP anycast does not move load, so NRT's excess is throttled, not spilled."""
    s = scenario(default_capacity_gbps=0.5)
    kpis, fig, _bars, rows = capacity_tab(catalog, s, show_catchments=False)
    by = {r["id"]: r for r in rows}
    assert by["NRT"]["served_gbps"] == pytest.approx(0.5)
    assert by["NRT"]["throttled_gbps"] == pytest.approx(0.4)
    assert by["NRT"]["spilled_out_gbps"] == pytest.approx(0.0)
    assert sum(r["spilled_in_gbps"] for r in rows) == pytest.approx(0.0)
    assert sum(r["served_gbps"] for r in rows) == pytest.approx(0.541)
    spill = fig.data[capacity_figures.capacity_trace_index(capacity_figures.SPILL)]
    assert len(spill.lat) == 0  # no flow drawn: nothing moves
    view = svc.capacity_view(catalog, s)
    assert view.totals["throttled_gbps"] == pytest.approx(0.4)
    assert view.totals["unserved_gbps"] == pytest.approx(0.4)
    assert view.totals["instance_gbps"] == pytest.approx(1.0)  # the documented default
    labels = [k.label for k in svc.capacity_kpis(view)]
    assert "throttled / congested" in labels and "spilled over (what-if)" not in labels


def test_instance_bandwidth_against_total_demand(catalog):
    """The documented limit is per instance, summed over all PoPs: 0.941 Gbps of demand is
    94 % of the default 1,000 Mbps, 188 % of 500 Mbps (with the contention caveat)."""
    kpi = {k.label: k for k in svc.capacity_kpis(svc.capacity_view(catalog, scenario()))}
    assert kpi["instance bandwidth"].value == "94% of 1,000 Mbps"
    assert "contention" in kpi["instance bandwidth"].hint
    assert kpi["instance bandwidth"].level == "warn"
    small = scenario().with_instance(500.0)
    kpi = {k.label: k for k in svc.capacity_kpis(svc.capacity_view(catalog, small))}
    assert kpi["instance bandwidth"].value == "188% of 500 Mbps"
    assert kpi["instance bandwidth"].level == "bad"
    assert "exceeds it by 0.44 Gbps" in kpi["instance bandwidth"].hint


def test_capacity_view_of_client_weights_in_mbps(catalog):
    # The spill-over what-if (the user's explicit choice; issue 15 made throttling the default).
    s = scenario(default_capacity_gbps=0.5, spill_whatif=True)
    kpis, fig, bars, rows = capacity_tab(catalog, s, show_catchments=True)
    by = {r["id"]: r for r in rows}
    # weights are Mbps: Tokyo's 900 Mbps lands on NRT with 0.5 Gbps capacity -> 180 %
    assert by["NRT"]["nominal_gbps"] == pytest.approx(0.9)
    assert by["NRT"]["utilisation_pct"] == pytest.approx(180.0)
    assert by["NRT"]["served_gbps"] == pytest.approx(0.5)
    assert by["NRT"]["spilled_out_gbps"] == pytest.approx(0.4)
    assert by["NRT"]["throttled_gbps"] == pytest.approx(0.0)
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
    _, fig, _, rows = capacity_tab(catalog, s, show_catchments=False)
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
    # the capacity controls write a ``capacity_input`` request (assets/edits.js capacityInput;
    # the browser part: tests/e2e/test_bundle_e2e.py drives the capacity tab)
    s2, _ = apply(catalog, s, capacity_input("source", "population", 1, 1))
    assert (s2.demand_source, s2.demand_scale) == ("population", None)
    s3, _ = apply(catalog, s2, capacity_input("default", "population", None, 2.5))
    assert s3.default_capacity_gbps == 2.5
    assert "capacity=*:2.5" in to_query(s3) and "demand=population" in to_query(s3)
    # unchanged value: no edit (the controls re-render without looping) and no round trip output
    assert svc.control_edit("default", "population", None, 2.5, s3) is None
    assert event(catalog, s3, capacity_input("default", "population", None, 2.5)) is None
    bad = resolve_request(capacity_input("scale", "population", -1, 2.5), s3, catalog, SETTINGS)
    assert bad["op"] == "notice" and "> 0" in bad["notices"][0]["text"]
    s4, notes = apply(catalog, s3, capacity_input("scale", "population", -1, 2.5))
    assert s4 == s3 and any("> 0" in n for n in notes)
    # the controls are rebuilt only when they show other values than the scenario's
    assert not svc.controls_stale(s3, "population", 10.0, 2.5)
    assert svc.controls_stale(s3, "clients", 1, 1)
    page = scene.PageState(demand_source="population", demand_scale=10.0, default_capacity=2.5)
    assert scene.panel_outputs(loaded(catalog, s3), page, catalog)[4] is no_update
    assert scene.panel_outputs(loaded(catalog, s3), scene.PageState(demand_source="clients",
                               demand_scale=1, default_capacity=1), catalog)[4] is not no_update


def test_editing_a_capacity_cell_records_only_that_pop(catalog):
    s = scenario()
    _, _, _, rows = capacity_tab(catalog, s, False)
    for r in rows:
        if r["id"] == "NRT":
            r["capacity_gbps"] = 5
    # the table writes a ``capacity_table`` request (assets/edits.js capacityTable)
    s2, _ = apply(catalog, s, {"op": "capacity_table", "rows": rows, "nonce": 1})
    assert s2.capacity == (("NRT", 5.0),)
    for r in rows:
        if r["id"] == "FRA":
            r["capacity_gbps"] = "lots"
    bad = svc.table_edit(rows, s2, catalog)
    assert bad["op"] == "notice" and "FRA" in bad["notices"][0]["text"]
    s3, notes = apply(catalog, s2, {"op": "capacity_table", "rows": rows, "nonce": 2})
    assert s3 == s2 and any("FRA" in n for n in notes)


def test_n1_run_reports_progress_and_flags_a_stale_result(catalog):
    s = scenario()
    seen = []
    result = svc.run_n1(loaded(catalog, s), catalog, lambda f, t: seen.append((f, t)))
    assert len(result["rows"]) == 19 and seen[-1][0] == pytest.approx(1.0)
    assert all(a[0] <= b[0] for a, b in zip(seen, seen[1:]))  # monotone
    json.dumps(result)  # JSON-able for dcc.Store (NaN became null)
    rows, fig, note = n1_panel(catalog, result, s)
    nrt = next(r for r in rows if r["pop_id"] == "NRT")
    assert nrt["clients_moved"] == 1 and nrt["demand_moved"] == pytest.approx(0.9)
    assert "Computed" in str(note)
    _, _, stale = n1_panel(catalog, result, s.with_down(["FRA"]))
    assert "run it again" in str(stale)
    dl = cap_cb.n1_download(result)
    assert dl["filename"].startswith("anycast-eip-n-minus-1-") and dl["type"] == "text/csv"
    table = pd.read_csv(pd.io.common.StringIO(dl["content"]))
    assert len(table) == 19 and "p95_change_ms" in table.columns
    assert cap_cb.n1_download(None) is no_update
    # "Done" comes with the table (the callback that draws it), not with the job's last poll
    assert cap_cb.n1_view(result)[2] == (
        f"Done: 19 access points analysed in {result['seconds']} s.")
    assert cap_cb.n1_view(None)[2] is no_update


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
    assert svc.n1_key(s, "eu-central-1") != svc.n1_key(
        Scenario(clients=s.clients, origin="eu-central-1"), "eu-central-1")


# -- support -------------------------------------------------------------------------------------

def map_click(click, store=None, layers=None, pills=("FRA", "CDG"), row_ids=None):
    """[edit, selected client, table active cell, table page] written by
    ``anycastEdits.mapClick`` for a map click."""
    layers = {"clients": map_figures.map_trace_index(map_figures.CLIENTS)} if layers is None \
        else layers
    return run_edit("mapClick", click, store, layers,
                    [{"type": ids.POP_TOGGLE, "pop": p} for p in pills], row_ids, 12,
                    [{"id": "remove"}, {"id": "client"}, {"id": "pop"}])


@needs_node
def test_a_client_is_picked_on_the_map_or_in_the_table(catalog):
    """Picking a client is browser work (assets/edits.js mapClick / tableCell select the row and
    write the explain-client value, without switching tabs: issue 17; "Explain ›" switches; the
    browser journey is tests/e2e/test_ux_e2e.py); the server renders the support tab for the
    picked index (scene.tab_outputs)."""
    client_curve = map_figures.map_trace_index(map_figures.CLIENTS)
    click = {"points": [{"curveNumber": client_curve, "customdata": 2}]}
    assert map_click(click) == [NO_UPDATE, 2, NO_UPDATE, NO_UPDATE]  # no table rows known
    # the row of client 2 is the 15th shown (sorted): page 2, row 3, made active
    rows = list(range(20, 33)) + [5, 2, 7]
    assert map_click(click, row_ids=rows) == [
        NO_UPDATE, 2, {"row": 2, "column": 1, "row_id": 2, "column_id": "client"}, 1]
    pop_click = {"points": [{"curveNumber": client_curve + 20, "customdata": "FRA"}]}
    assert map_click(pop_click) == [{"op": "toggle_pop", "pop": "FRA"}, NO_UPDATE, NO_UPDATE,
                                    NO_UPDATE]
    # what Dash really sends for a typed-array customdata: no customdata, the coordinates
    real = {"points": [{"curveNumber": client_curve, "pointNumber": 0, "lat": -33.87,
                        "lon": 151.21}]}
    assert map_click(real, scenario().to_dict()) == [NO_UPDATE, 2, NO_UPDATE, NO_UPDATE]
    columns = [{"id": "remove"}, {"id": "client"}, {"id": "pop"}]
    cells = run_edits([("tableCell", [{"row": 4, "row_id": 1, "column_id": "pop"}, columns],
                        None),
                       ("tableCell", [{"row_id": 1, "column_id": "remove"}, columns], None)])
    # a cell selects its whole row (not the ✕) and the client; no tab switch
    assert cells[0] == [NO_UPDATE, NO_UPDATE,
                        [{"row": 4, "column": 1, "row_id": 1, "column_id": "client"},
                         {"row": 4, "column": 2, "row_id": 1, "column_id": "pop"}], 1]
    assert cells[1] == [{"op": "remove", "index": 1}, None, [], NO_UPDATE]
    assert run_edits([("explainOpen", [1], None), ("explainOpen", [0], None),
                      ("explainPicked", [1, [{"label": "#2 Sydney", "value": 1}]], None),
                      ("explainPicked", [None, []], None)]) == [
        "support", NO_UPDATE, [False, "Selected: #2 Sydney"],
        [True, "Click a row or a client (◆) to select it"]]
    # the server side: the support tab explains the picked client
    out = scene.tab_outputs("support", None, 2, scenario().to_dict(), catalog, SETTINGS)
    assert out[:len(scene.CAPACITY_TAB_OUT)] == (no_update,) * len(scene.CAPACITY_TAB_OUT)
    assert "#3 =Sydney" in str(out[-1])


def test_explain_panel_ranks_every_pop_and_states_the_bgp_note(catalog):
    s = scenario(down=frozenset({"CDG"}), observed=((0, "MAD"),))
    body = scene.support_outputs(loaded(catalog, s), 0, catalog)[0]
    text = str(body)
    assert "LHR" in text and "Nearer but down" in text and "BGP" in text
    assert "Observed detour via MAD" in text
    table = next(c for c in body if getattr(c, "id", None) == ids.EXPLAIN_TABLE)
    assert len(table.data) == 19 and table.data[0]["pop_id"] == "LHR"
    assert table.data[-1]["state"] == "down" and table.data[-1]["pop_id"] == "CDG"
    assert table.data[0]["delta_ms"] == 0 and isinstance(table.data[1]["delta_ms"], float)
    assert "Pick a client" in str(scene.support_outputs(loaded(catalog, s), None, catalog)[0])


def test_observed_pop_is_recorded_in_the_scenario_and_the_url(catalog):
    s = scenario()
    # the picker writes an ``observe_input`` request (assets/edits.js observe; the browser
    # part: tests/e2e/test_support_e2e.py::test_explain_panel_from_a_map_click_and_observed_override)
    def observe_input(value) -> dict:
        return {"op": "observe_input", "index": 1, "value": value, "nonce": 1}

    s2, notes = apply(catalog, s, observe_input("ICN"))
    assert s2.observed == ((1, "ICN"),) and "observed=1:ICN" in to_query(s2)
    assert support_svc.observe_edit("ICN", 1, s2) is None  # re-render: no edit
    assert event(catalog, s2, observe_input("ICN")) is None
    s3, _ = apply(catalog, s2, observe_input(""))
    assert s3.observed == ()
    # removing an earlier client keeps the override on the same client
    s4, _ = apply(catalog, s2, {"op": "remove", "index": 0})
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
    dl = sup.scenario_download(s.to_dict(), SETTINGS)
    assert dl["filename"].endswith(".json") and dl["type"] == "application/json"
    assert scenario_from_json(dl["content"], catalog.pop_ids, catalog.origin_ids) == s
    upload = "data:application/json;base64," + base64.b64encode(dl["content"].encode()).decode()
    # the import widget writes an ``import`` request (assets/edits.js importFile; the browser
    # part: tests/e2e/test_support_e2e.py::test_export_then_import_round_trip_is_identical)
    ev = event(catalog, Scenario(), {"op": "import", "contents": upload, "filename": "x.json"})
    assert Scenario.from_dict(ev.store) == s
    assert ev.set_widgets and ev.loaded.origin_id == "us-east-1"  # the widgets follow it
    assert from_query(ev.url_search, pop_ids=catalog.pop_ids)[0] == s
    out = scene.scene_outputs(ev, scene.PageState(), list(catalog.pop_ids), catalog)
    assert out[2:4] == ("us-east-1", s.endpoint_type)  # origin-select, endpoint-type


def test_a_bad_import_changes_nothing_and_says_why(catalog):
    s = scenario()
    bad = json.dumps({"format": "anycast-eip-scenario", "version": 1,
                      "scenario": {"clients": [{"lat": 1, "lon": 500}]}})
    upload = "data:application/json;base64," + base64.b64encode(bad.encode()).decode()
    s2, notes = apply(catalog, s, {"op": "import", "contents": upload, "filename": "bad.json"})
    assert s2 == s
    assert "bad.json" in notes[0] and "clients[0]" in notes[0] and "Nothing was changed" in notes[0]
    # (was "the upload is not readable": the import and the CSV upload now share one decoder)
    assert "could not be decoded" in str(import_request("data:x;base64,@@@", "y", catalog,
                                                        SETTINGS))


def test_explain_and_csv_follow_endpoint_mappings_and_outages(catalog):
    """The explain panel and the CSV export route like the map and the table: each PoP's
    backbone leg to its endpoint's region, unserved where that endpoint is down."""
    s = Scenario(clients=(Client(40.71, -74.0, "New York"), Client(1.35, 103.82, "Singapore")),
                 origin="eu-central-1", mappings=(("us-east-1", ("IAD",)),
                                                  ("ap-southeast-1", ("SIN",))),
                 endpoints_down=frozenset({"ap-southeast-1"}))
    rows = scene.map_outputs(loaded(catalog, s), scene.PageState(), catalog)[1]
    csv = map_service.assignment_frame(loaded(catalog, s), catalog)
    assert list(csv["origin_id"]) == ["us-east-1", ""] and list(csv["served"]) == [True, False]
    assert csv["anycast_ms"][0] == pytest.approx(rows[0]["anycast_ms"], abs=0.05)
    assert np.isnan(csv["anycast_ms"][1]) and rows[1]["origin"] == "unserved (endpoint down)"
    ny = support_svc.explain_client(catalog, s, 0, "eu-central-1").ranking.set_index("pop_id")
    assert ny.loc["IAD", "anycast_ms"] == pytest.approx(rows[0]["anycast_ms"], abs=0.05)
    sg = support_svc.explain_client(catalog, s, 1, "eu-central-1").ranking.set_index("pop_id")
    assert np.isnan(sg.loc["SIN", "anycast_ms"])


@needs_node
def test_a_client_marker_click_in_compact_mode_finds_the_client():
    """From 1,000 clients plotly reports float32 positions: still the right client
    (assets/edits.js mapClick picks the nearest client within 1e-4 degrees)."""
    clients = tuple(Client(-60 + i * 0.1, -170 + i * 0.25, f"c{i}") for i in range(1_200))
    store = Scenario(clients=clients).to_dict()
    ci = map_figures.map_trace_index(map_figures.CLIENTS)
    layers = {"clients": ci}
    calls = []
    for i in (0, 17, 599, 1_199):
        lat, lon = (float(np.float32(clients[i].lat)), float(np.float32(clients[i].lon)))
        click = {"points": [{"curveNumber": ci, "lat": lat, "lon": lon}]}
        calls.append(("mapClick", [click, store, layers, []], None))
    assert [r[1] for r in run_edits(calls)] == [0, 17, 599, 1_199]


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


def test_a_tab_shown_before_the_first_round_trip_stored_the_scenario_is_drawn_from_the_link(
        catalog):
    """The tab callback can run while the page's first round trip is in flight (the store still
    empty): it draws the linked scenario, as that round trip does, not "No demand yet"."""
    link = "?clients=48.8566,2.3522,Paris,300;35.6895,139.6917,Tokyo,900&capacity=*:0.5"
    ev = events.scenario_event(events.PAGE_LOAD, link, None, None, None, None, catalog,
                               SETTINGS)
    early = scene.tab_outputs("capacity", None, None, None, catalog, SETTINGS, link)
    later = scene.tab_outputs("capacity", None, None, ev.store, catalog, SETTINGS, link)
    assert str(early[0]) == str(later[0]) and "Gbps" in str(early[0])
    assert early[3] == later[3]  # the same access point rows
    support = scene.tab_outputs("support", None, 0, None, catalog, SETTINGS, link)
    assert str(support[-1]) == str(
        scene.tab_outputs("support", None, 0, ev.store, catalog, SETTINGS, link)[-1])
