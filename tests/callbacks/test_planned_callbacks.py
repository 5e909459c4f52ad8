"""Planned PoPs through the services and the round trip, without a browser (docs/planning.md):
the effective catalog, routing in both policies, the gain card against a hand computation, the
views that must include a planned PoP (capacity, landing probabilities, N-1, explanations), the
widget requests and the scene outputs."""

from __future__ import annotations

import numpy as np
import pytest

from dashboard import ids
from dashboard.callbacks import scene
from dashboard.domain import paths
from dashboard.domain.planned import MAX_PLANNED, PlannedPop
from dashboard.domain.policy import GEOGRAPHIC, NETWORK
from dashboard.domain.scenario import Client, Scenario
from dashboard.figures import map as map_figures
from dashboard.gazetteer import demand_set, load_gazetteer
from dashboard.latency import params_with
from dashboard.services import capacity, events, landing, routing, support
from dashboard.services.planned import (effective_catalog, gain_card, gain_numbers,
                                        nearest_city, without_planned)
from dashboard.services.scenario import Loaded, load_scenario
from dashboard.settings import Settings

SETTINGS = Settings()
JNB = PlannedPop("JNB", -26.2041, 28.0473, "Johannesburg")
IST = PlannedPop("IST", 41.01, 28.98, "Istanbul")
AFRICA = (Client(-26.2, 28.05, "Johannesburg"), Client(-1.29, 36.82, "Nairobi"),
          Client(48.85, 2.35, "Paris"))


def out_of(out: tuple, component_id: str, prop: str | None = None):
    for o, v in zip(scene.OUTPUTS, out):
        if o.component_id == component_id and (prop is None or o.component_property == prop):
            return v
    raise KeyError(component_id)


# -- the effective catalog -------------------------------------------------------------------

def test_effective_catalog_is_memoised_and_marks_planned_rows(catalog):
    s = Scenario(planned=(JNB,))
    e = effective_catalog(catalog, s)
    assert e is effective_catalog(catalog, Scenario(planned=(JNB,)))  # one object, one fingerprint
    assert routing.catalog_fingerprint(e) != routing.catalog_fingerprint(catalog)
    assert e.pop_ids == catalog.pop_ids + ("JNB",)
    assert e.planned_ids == ("JNB",) and e.base_pop_ids == catalog.pop_ids
    row = e.pops.iloc[-1]
    assert (row["name"], row["country_code"], row["source"]) == ("Johannesburg (planned)", "",
                                                                 "planned")
    # the area is the nearest catalog PoP's (documented: the cost estimate bills per area)
    assert row["area"] in set(catalog.pops["area"])
    assert np.isnan(row["capacity_gbps"])  # the scenario's default capacity applies
    assert effective_catalog(catalog, Scenario()) is catalog


@pytest.mark.parametrize("policy", [GEOGRAPHIC, NETWORK])
def test_routing_takes_the_planned_pop_in_both_policies(catalog, policy):
    e = effective_catalog(catalog, Scenario(planned=(JNB,)))
    t = routing.route_table(e, ((-26.2, 28.05),), "eu-central-1", policy=policy)
    assert t["pop_id"].iloc[0] == "JNB"
    base = routing.route_table(catalog, ((-26.2, 28.05),), "eu-central-1", policy=policy)
    assert t["anycast_ms"].iloc[0] < base["anycast_ms"].iloc[0] - 50  # LHR (network) or BOM
    # marked down, it withdraws like any PoP
    down = routing.route_table(e, ((-26.2, 28.05),), "eu-central-1", frozenset({"JNB"}),
                               policy=policy)
    assert down["pop_id"].iloc[0] == base["pop_id"].iloc[0]
    ranked = routing.nearest_answer(e, -26.2, 28.05, "eu-central-1", frozenset(), 3,
                                    policy=policy)
    assert ranked["pop"]["id"] == "JNB"


def test_views_include_the_planned_pop(catalog):
    s = Scenario(clients=AFRICA, planned=(PlannedPop("JNB", -26.2041, 28.0473, "Johannesburg",
                                                     capacity_gbps=7),))
    loaded = load_scenario(s.to_dict(), catalog, SETTINGS)
    e = effective_catalog(catalog, loaded.scenario)
    # landing probabilities: geometry only, so a planned site gets its share
    ld = landing.landing_for_point(e, -26.2, 28.05)
    assert ld.pops[0][0] == "JNB"
    # capacity: its planned capacity, its load
    caps, source = capacity.capacities_gbps(e, loaded.scenario)
    assert caps[-1] == 7 and source[-1] == "catalog"
    page = capacity.capacity_page(loaded, e, False)
    row = page.view.table[page.view.table["pop_id"] == "JNB"].iloc[0]
    assert row["clients"] == 2 if "clients" in page.view.table else row["demand_gbps"] > 0
    # the explanation of the Johannesburg client names it
    text = repr(support.explain_view(loaded, 0, e))
    assert "JNB" in text
    # N-1 fails the planned PoP too
    n1 = capacity.run_n1(loaded, e, lambda *_: None)
    assert "JNB" in repr(n1)


# -- the gain card ---------------------------------------------------------------------------

def _lower_weighted_quantile(values, weights, q):
    """By hand: sort, accumulate the weights, the first value whose cumulative weight reaches
    q x total (the definition docs/planning.md states)."""
    pairs = sorted(zip(values, weights))
    total = sum(w for _, w in pairs)
    acc = 0.0
    for v, w in pairs:
        acc += w
        if acc >= q * total:
            return v
    return pairs[-1][0]


def test_gain_numbers_match_a_hand_computation(catalog):
    clients = (Client(41.0, 29.0, "Istanbul", 3), Client(50.45, 30.52, "Kyiv"),
               Client(48.85, 2.35, "Paris"), Client(37.98, 23.73, "Athens", 2))
    s = Scenario(clients=clients, origin="eu-central-1", planned=(IST,))
    g = gain_numbers(Loaded(s, "eu-central-1"), catalog)
    # the RTTs by the domain's path model alone, with and without the planned site
    params = params_with((), "end-user")
    origin = catalog.origin("eu-central-1")
    lats = np.array([c.lat for c in clients])
    lons = np.array([c.lon for c in clients])
    w = [c.weight for c in clients]
    before = paths.client_paths(lats, lons, catalog.pop_ids, catalog.pop_lats, catalog.pop_lons,
                                float(origin["lat"]), float(origin["lon"]), params=params)
    after = paths.client_paths(lats, lons, catalog.pop_ids + ("IST",),
                               np.r_[catalog.pop_lats, IST.lat], np.r_[catalog.pop_lons, IST.lon],
                               float(origin["lat"]), float(origin["lon"]), params=params)
    moved = [i for i in range(len(clients)) if after["pop_id"][i] == "IST"]
    assert moved == [0, 3] or moved == [0, 1, 3] or moved  # Istanbul and Athens at least
    assert 0 in moved and 2 not in moved  # Paris stays at CDG
    assert g["moved"] == len(moved) and g["per_pop"] == {"IST": len(moved)}
    assert g["moved_weight"] == sum(w[i] for i in moved) and g["total_weight"] == sum(w)
    b, a = before["anycast_ms"].tolist(), after["anycast_ms"].tolist()
    for q, key in ((0.5, "p50"), (0.95, "p95")):
        assert g[f"moved_{key}_before"] == pytest.approx(
            _lower_weighted_quantile([b[i] for i in moved], [w[i] for i in moved], q))
        assert g[f"moved_{key}_after"] == pytest.approx(
            _lower_weighted_quantile([a[i] for i in moved], [w[i] for i in moved], q))
        assert g[f"{key}_before"] == pytest.approx(_lower_weighted_quantile(b, w, q))
        assert g[f"{key}_after"] == pytest.approx(_lower_weighted_quantile(a, w, q))
    # population within 50 / 100 ms: the 25,000 largest cities routed by the domain alone
    ds = demand_set(load_gazetteer(), "cities25k")
    for arrays, key in (((catalog.pop_ids, catalog.pop_lats, catalog.pop_lons), "before"),
                        ((catalog.pop_ids + ("IST",), np.r_[catalog.pop_lats, IST.lat],
                          np.r_[catalog.pop_lons, IST.lon]), "after")):
        ms = paths.client_paths(np.asarray(ds.lats), np.asarray(ds.lons), *arrays,
                                float(origin["lat"]), float(origin["lon"]),
                                params=params)["anycast_ms"].to_numpy(float)
        for t in (50.0, 100.0):
            want = float(np.asarray(ds.weights, float)[ms <= t].sum())
            assert g[f"population_{key}"][t] == pytest.approx(want, rel=1e-9)


def test_gain_card_view_model(catalog):
    loaded = load_scenario(Scenario(clients=AFRICA, planned=(JNB,)).to_dict(), catalog, SETTINGS)
    card = gain_card(loaded, catalog)
    labels = [k.label for k in card.kpis]
    assert labels[:2] == ["clients moving to planned PoPs", "their demand"]
    assert card.kpis[0].value == "2 of 3"
    assert "their median RTT" in labels and "overall p95 RTT" in labels
    assert "population within 50 ms" in labels and "population within 100 ms" in labels
    assert card.per_pop == ("JNB: 2 client(s)",)
    assert "not something a customer can buy" in card.note
    assert gain_card(load_scenario(Scenario(clients=AFRICA).to_dict(), catalog, SETTINGS),
                     catalog) is None
    assert without_planned(Scenario(planned=(JNB,), down=frozenset({"JNB", "CDG"}))) == \
        Scenario(down=frozenset({"CDG"}))


# -- widget requests and the round trip ---------------------------------------------------------

def ev(request, store=None, catalog=None):
    return events.scenario_event(events.EDIT, "", request, None, None,
                                 store if store is not None else {"clients": []}, catalog,
                                 SETTINGS)


def test_map_click_in_plan_mode_names_the_pop_after_the_nearest_city(catalog):
    assert nearest_city(-26.2, 28.05) == "Johannesburg"
    assert nearest_city(-40.0, -20.0) == ""  # South Atlantic
    e = ev({"op": "add-planned", "lat": -26.2, "lon": 28.05}, catalog=catalog)
    assert [p.id for p in e.loaded.scenario.planned] == ["JOH"]
    assert e.url_search == "?planned=JOH:-26.2,28.05,Johannesburg"
    e2 = ev({"op": "add-planned", "lat": -40.0, "lon": -20.0}, catalog=catalog)
    assert [p.id for p in e2.loaded.scenario.planned] == ["P1"]


@pytest.mark.parametrize("text, want", [
    ("JNB:-26.2041,28.0473", ("JNB", -26.2041, 28.0473)),
    ("JNB: -26.2041, 28.0473, Jozi", ("JNB", -26.2041, 28.0473)),
    ("-26.2, 28.05", ("JOH", -26.2, 28.05)),
    ("Lagos", ("LAG", None, None)),
])
def test_typed_input(catalog, text, want):
    e = ev({"op": "planned_input", "text": text}, catalog=catalog)
    p = e.loaded.scenario.planned[0]
    assert p.id == want[0] and (want[1] is None or (p.lat, p.lon) == want[1:])


@pytest.mark.parametrize("request_, fragment", [
    ({"op": "planned_input", "text": ""}, "type ID:lat,lon"),
    ({"op": "planned_input", "text": "Xyzzyqwv"}, "neither coordinates nor a city"),
    ({"op": "planned_input", "text": "CDG:1,2"}, "catalog"),
    ({"op": "planned_input", "text": "95, 10"}, "latitude"),
    ({"op": "planned_input", "text": "BJS:39.9,116.4"}, "Chinese mainland"),
    ({"op": "planned_city", "id": -5}, "unknown city"),
    ({"op": "add-planned", "lat": 39.9, "lon": 116.4}, "Chinese mainland"),
])
def test_bad_input_gets_a_clear_notice(catalog, request_, fragment):
    e = ev(request_, catalog=catalog)
    assert e.loaded.scenario.planned == ()
    assert any(fragment in text for _l, text in e.notices), e.notices


def test_city_picker_and_table_edits(catalog):
    city = load_gazetteer().search("Nairobi", limit=1)[0]
    e = ev({"op": "planned_city", "id": city.geonameid}, catalog=catalog)
    assert e.loaded.scenario.planned[0].id == "NAI"
    rows = [{"id": "NAI", "name": "Nairobi hub", "capacity_gbps": 4, "lat": 0, "lon": 0}]
    e2 = ev({"op": "planned_table", "rows": rows}, e.store, catalog)
    assert e2.loaded.scenario.planned[0].name == "Nairobi hub"
    assert e2.loaded.scenario.planned[0].capacity_gbps == 4
    e3 = ev({"op": "planned_table", "rows": []}, e2.store, catalog)
    assert e3.loaded.scenario.planned == ()
    # a refused cell (not a number) changes nothing and says why
    rows[0]["capacity_gbps"] = "fast"
    e4 = ev({"op": "planned_table", "rows": rows}, e2.store, catalog)
    assert e4.loaded.scenario == e2.loaded.scenario and e4.notices[0][0] == "error"


def test_the_cap_at_the_widgets(catalog):
    store = Scenario(planned=tuple(PlannedPop(f"P{i}", 0, i) for i in range(MAX_PLANNED))
                     ).to_dict()
    e = ev({"op": "planned_input", "text": "Lagos"}, store, catalog)
    assert len(e.loaded.scenario.planned) == MAX_PLANNED
    assert "at most 10" in e.notices[0][1]


def test_a_link_with_a_bad_planned_pop_keeps_the_rest(catalog):
    e = events.scenario_event(events.URL, "?planned=BJS:39.9,116.4;JNB:-26.2041,28.0473"
                              "&down=JNB", None, None, None, None, catalog, SETTINGS)
    assert e.loaded.scenario.planned_ids == ("JNB",) and e.loaded.scenario.down == {"JNB"}
    assert any("Chinese mainland" in t for _l, t in e.notices)


def test_scene_outputs_draw_the_planned_pop_and_the_gain_card(catalog):
    e = events.scenario_event(
        events.URL, "?clients=-26.2,28.05,Johannesburg;-1.29,36.82,Nairobi;48.85,2.35,Paris"
        "&planned=JNB:-26.2041,28.0473,Johannesburg", None, None, None, None, catalog, SETTINGS)
    out = scene.scene_outputs(e, scene.PageState(), list(catalog.pop_ids), catalog)
    assert len(out) == len(scene.OUTPUTS)
    fig = out_of(out, ids.WORLD_MAP)
    planned = fig.data[map_figures.map_trace_index(map_figures.PLANNED)]
    assert planned.customdata.tolist() == ["JNB"] and "planned" in planned.hovertext[0]
    assert planned.showlegend and planned.marker.symbol == "circle-open-dot"
    for area_trace in fig.data:  # not also drawn as a catalog PoP
        if area_trace.name.startswith("Access points ·"):
            assert "JNB" not in list(area_trace.customdata)
    rows = out_of(out, ids.ASSIGNMENT_TABLE)
    assert [r["pop"].split(" ")[0] for r in rows] == ["JNB", "JNB", "CDG"]
    assert "planned" in rows[0]["pop"]
    card = repr(out_of(out, ids.PLANNED_GAIN))
    assert "Gain of the planned PoPs" in card and "2 of 3" in card
    assert out_of(out, ids.PLANNED_TABLE)[0]["id"] == "JNB"
    # without planned PoPs the card is empty (the CSS hides it)
    e2 = events.scenario_event(events.URL, "?clients=1,2", None, None, None, None, catalog,
                               SETTINGS)
    out2 = scene.scene_outputs(e2, scene.PageState(), list(catalog.pop_ids), catalog)
    assert out_of(out2, ids.PLANNED_GAIN) == [] and out_of(out2, ids.PLANNED_TABLE) == []


def test_capacity_tab_with_a_planned_pop(catalog):
    store = Scenario(clients=AFRICA, planned=(JNB,)).to_dict()
    kpis, fig, bars, rows, cost, *_rest = scene.tab_outputs("capacity", False, None, store,
                                                               catalog, SETTINGS)
    assert any(r["pop_id"] == "JNB" for r in rows)


# -- the browser's translators (assets/edits.js), run in Node -------------------------------------

from tests.callbacks.test_failover_callbacks import NO_UPDATE, edits_js, needs_node  # noqa: E402


@needs_node
def test_plan_mode_and_planned_widgets_in_the_browser():
    assert edits_js("planMode", 1, "btn plan-mode", trigger=(ids.PLAN_MODE, "n_clicks", 1)) == \
        ["btn plan-mode plan-mode--on", "Click the map… (cancel)"]
    assert edits_js("planMode", 2, "btn plan-mode plan-mode--on",
                    trigger=(ids.PLAN_MODE, "n_clicks", 2)) == ["btn plan-mode", "Plan a PoP here"]
    assert edits_js("planMode", 0, "btn plan-mode") == [NO_UPDATE, NO_UPDATE]
    assert edits_js("plannedInput", 1, 0, "Lagos", trigger=(ids.PLANNED_ADD, "n_clicks", 1)) == \
        {"op": "planned_input", "text": "Lagos"}
    assert edits_js("plannedInput", 0, 0, "x") == NO_UPDATE
    assert edits_js("plannedCity", 2332459) == [{"op": "planned_city", "id": 2332459}, None]
    assert edits_js("plannedCity", None) == [NO_UPDATE, NO_UPDATE]
    assert edits_js("plannedTable", 5, [{"id": "JNB"}]) == {"op": "planned_table",
                                                            "rows": [{"id": "JNB"}]}
    # a click on a planned PoP's marker (planned layer, or the down layer once it is down)
    # toggles it like a catalog PoP's
    store = {"planned": [{"id": "JNB", "lat": -26.2, "lon": 28.0}]}
    layers = {"clients": 8, "planned": 14}
    for curve in (14, 6):
        click = {"points": [{"curveNumber": curve, "customdata": "JNB"}]}
        out = edits_js("mapClick", click, store, layers, [{"pop": "CDG"}], [], 12, [])
        assert out[0] == {"op": "toggle_pop", "pop": "JNB"}, curve


def test_the_capacity_table_edits_a_planned_pops_capacity(catalog):
    store = Scenario(clients=AFRICA, planned=(JNB,)).to_dict()
    rows = [{"id": "JNB", "capacity_gbps": 9}]
    e = ev({"op": "capacity_table", "rows": rows}, store, catalog)
    assert dict(e.loaded.scenario.capacity) == {"JNB": 9}
    caps, source = capacity.capacities_gbps(effective_catalog(catalog, e.loaded.scenario),
                                            e.loaded.scenario)
    assert caps[-1] == 9 and source[-1] == "scenario"


def test_cleaning_against_an_effective_catalog_keeps_the_planned_pops(catalog):
    s = Scenario(clients=AFRICA, planned=(JNB,), down=frozenset({"JNB"}))
    e = effective_catalog(catalog, s)
    assert load_scenario(s.to_dict(), e, SETTINGS).scenario == s
    assert load_scenario(s.to_dict(), catalog, SETTINGS).scenario == s
