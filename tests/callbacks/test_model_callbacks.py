"""Advanced latency model parameters: the ``model`` edit, the sidebar inputs' requests and the
panel the round trip renders, and the routing that every view shows under overrides.

The inputs write ``{"op": "model_input", "name", "values", "ids"}`` in the browser
(``assets/edits.js``: modelInput; tests/e2e/test_model_e2e.py types a value there and reloads
the link); the server turns it into a ``model`` edit (:func:`services.model.input_edit`, through
:func:`services.requests.resolve_request`) and renders the panel
(:func:`callbacks.scene.panel_outputs`).
"""

from __future__ import annotations

import numpy as np
import pytest
from dash import html, no_update

from dashboard import ids, latency
from dashboard.callbacks import scene
from dashboard.domain.edits import EditContext, apply_edit
from dashboard.domain.scenario import Client, Scenario
from dashboard.services import capacity as svc
from dashboard.services import events, routing
from dashboard.services import failover
from dashboard.services import support as support_svc
from dashboard.services.model import FIELDS_BY_NAME, MODEL_FIELDS, input_edit, model_panel
from dashboard.services.scenario import StoreRefused, load_scenario, load_store
from dashboard.settings import Settings

SETTINGS = Settings()
FITTED = latency.fitted_values()
#: The reducer's limits for these tests (100 clients; the fitted values name in notices).
CTX = EditContext(max_clients=100, fitted=FITTED)
CITIES = ((48.8566, 2.3522), (35.68, 139.69), (-33.87, 151.21), (40.71, -74.0), (-23.55, -46.63),
          (6.52, 3.38), (19.08, 72.88), (55.75, 37.62), (1.29, 103.85), (51.51, -0.13),
          (64.13, -21.9), (-1.29, 36.82), (37.77, -122.42), (25.2, 55.27))
#: The override of overhead_ms the tests use (kept to 6 significant digits like every override)
#: and the amount it adds to the fitted value.
NEW_OVERHEAD = float(f"{FITTED['overhead_ms'] + 7.5:.6g}")
X = NEW_OVERHEAD - FITTED["overhead_ms"]


def _ids(names=None):
    return [ids.model_param(n) for n in (names or [f.name for f in MODEL_FIELDS])]


def _values(model=None):
    eff = {**FITTED, **(model or {})}
    return [FIELDS_BY_NAME[i["name"]].shown(eff[i["name"]]) for i in _ids()]


def compute_view(current: dict, catalog) -> tuple:
    """The map tab's outputs (:data:`scene.MAP_OUT`) for the store ``current``."""
    return scene.map_outputs(load_scenario(current, catalog, SETTINGS), scene.PageState(),
                             catalog)


def panel(current, catalog, values=None, id_list=None) -> dict:
    """The side panels' outputs (:data:`scene.PANEL_OUT`) by component id, for the store
    ``current`` and the parameter inputs showing ``values`` (ids ``id_list``)."""
    out = scene.panel_outputs(load_scenario(current, catalog, SETTINGS),
                              scene.PageState(model_values=values, model_ids=id_list), catalog)
    return {o.component_id: v for o, v in zip(scene.PANEL_OUT, out)}


# -- the edit --------------------------------------------------------------------------------------

def test_model_edit_sets_removes_and_resets():
    s, notes = apply_edit(Scenario(), {"op": "model", "set": {"overhead_ms": 5}}, CTX)
    assert s.model == (("overhead_ms", 5.0),)
    assert notes[0][0] == "info" and "overhead_ms 5 (fitted" in notes[0][1]
    s, _ = apply_edit(s, {"op": "model", "set": {"inflation_scale": 1.2}}, CTX)
    assert dict(s.model) == {"overhead_ms": 5.0, "inflation_scale": 1.2}
    s2, _ = apply_edit(s, {"op": "model", "set": {"overhead_ms": None}}, CTX)
    assert s2.model == (("inflation_scale", 1.2),)
    s3, notes = apply_edit(s, {"op": "model", "reset": True}, CTX)
    assert s3.model == () and "fitted" in notes[0][1]


@pytest.mark.parametrize("request_", [
    {"op": "model", "set": {"overhead_ms": -1}},
    {"op": "model", "set": {"fibre_km_per_ms": 300}},
    {"op": "model", "set": {"nope": 1}},
    {"op": "model", "set": {"overhead_ms": "x"}},
    {"op": "model", "set": {"overhead_ms": [1]}},
    {"op": "model", "set": {"overhead_ms": {"a": 1}}},
    {"op": "model", "set": "overhead_ms:5"},
    {"op": "model", "set": [1, 2]},
    {"op": "model", "set": {}},
    {"op": "model", "set": None},
    {"op": "model", "reset": "yes"},
])
def test_bad_model_edits_keep_the_scenario_and_say_why(request_):
    s0 = Scenario(model=(("overhead_ms", 4.0),))
    s, notes = apply_edit(s0, request_, CTX)
    assert s == s0
    assert notes and notes[0][0] == "error"


def test_scenario_event_puts_the_model_in_the_url(catalog):
    current = Scenario(clients=(Client(48.85, 2.35),)).to_dict()
    ev = events.scenario_event(events.EDIT, "?clients=48.85,2.35",
                               {"op": "model", "set": {"overhead_ms": 5}}, None, None, current,
                               catalog, SETTINGS)
    assert ev.store["model"] == {"overhead_ms": 5.0}
    assert "model=overhead_ms:5" in ev.url_search
    # opening that link restores it
    ev2 = events.scenario_event(events.PAGE_LOAD, ev.url_search, None, None, None, None,
                                catalog, SETTINGS)
    assert ev2.store["model"] == {"overhead_ms": 5.0}


# -- the inputs ------------------------------------------------------------------------------------

def test_changed_input_becomes_an_edit_and_the_fitted_value_removes_the_override(catalog):
    vals = _values({"overhead_ms": 5.0})
    req = input_edit(vals, _ids(), "overhead_ms", Scenario(), FITTED)
    assert req["op"] == "model" and req["set"] == {"overhead_ms": 5.0}
    # back to the value shown as fitted: the override goes
    current = Scenario(model=(("overhead_ms", 5.0),))
    req = input_edit(_values(), _ids(), "overhead_ms", current, FITTED)
    assert req["set"] == {"overhead_ms": None}
    # a re-render showing what the scenario says: no edit
    assert input_edit(_values({"overhead_ms": 5.0}), _ids(), "overhead_ms", current,
                      FITTED) is None
    # the whole server path of the request the inputs write in the browser
    request = {"op": "model_input", "name": "overhead_ms", "values": vals, "ids": _ids()}
    ev = events.scenario_event(events.EDIT, "", request, None, None, Scenario().to_dict(),
                               catalog, SETTINGS)
    assert ev.store["model"] == {"overhead_ms": 5.0} and "model=overhead_ms:5" in ev.url_search
    assert events.scenario_event(events.EDIT, "", request, None, None, ev.store, catalog,
                                 SETTINGS) is None


@pytest.mark.parametrize("bad", [None, "", "abc", -3, 1e9, True, [5], {"v": 5}, float("nan")])
def test_bad_input_is_a_notice_and_no_change(bad):
    current = Scenario(model=(("overhead_ms", 5.0),))
    vals = _values({"overhead_ms": 5.0})
    vals[[f.name for f in MODEL_FIELDS].index("pop_overhead_ms")] = bad
    req = input_edit(vals, _ids(), "pop_overhead_ms", current, FITTED)
    assert req["op"] == "notice"
    text = req["notices"][0]["text"]
    assert req["notices"][0]["level"] == "error" and "Access point overhead" in text
    assert "kept 1 ms" in text and "0 to 500" in text


@pytest.mark.parametrize("values, id_list, current", [
    (None, None, None), ("x", [], {}), ([1], "x", {}), ([1, 2], [None, 3], {}),
    ([5], [{"type": "model-param", "name": "nope"}], {}), ([5], [{"name": 3}], {}),
    ([5], _ids(["overhead_ms"]), {"clients": "bad"}), ([5], _ids(["overhead_ms"]), [1]),
])
def test_type_confused_callback_values_never_raise(catalog, values, id_list, current):
    request = {"op": "model_input", "name": ["x"], "values": values, "ids": id_list}
    ev = events.scenario_event(events.EDIT, "", request, None, None, current, catalog, SETTINGS)
    assert ev is None or all(level in ("info", "error", "warning") for level, _ in ev.notices)
    try:
        scenario = load_store(current, SETTINGS.max_clients)
    except StoreRefused:  # the round trip reloads the page's link instead
        scenario = Scenario()
    out = input_edit(values, id_list, ["x"], scenario, FITTED)
    assert out is None or out["op"] in ("notice", "model")
    panel(scenario.to_dict(), catalog, values, id_list)


def test_controls_are_rebuilt_only_when_they_show_something_else(catalog):
    current = Scenario(model=(("overhead_ms", 5.0),)).to_dict()
    controls = ids.MODEL_CONTROLS
    assert panel(current, catalog, _values({"overhead_ms": 5.0}), _ids())[controls] is no_update
    rows = panel(current, catalog, _values(), _ids())[controls]
    assert isinstance(rows, list) and len(rows) == len(MODEL_FIELDS)
    assert "overhead_ms" in repr(rows) and "'value': 5.0" in repr(rows) or "value=5.0" in repr(rows)
    assert panel(Scenario().to_dict(), catalog, _values(), _ids())[controls] is no_update


def test_model_note_names_custom_parameters_and_their_fitted_values(catalog):
    assert panel(Scenario().to_dict(), catalog)[ids.MODEL_CUSTOM] == ""
    assert model_panel(Scenario(), FITTED).note == ""
    note = panel(Scenario(model=(("overhead_ms", 5.0),)).to_dict(), catalog)[ids.MODEL_CUSTOM]
    assert isinstance(note, html.Span)
    text = repr(note)
    assert "Custom latency parameters" in text
    assert f"overhead_ms 5 (fitted {FITTED['overhead_ms']:.3g})" in text


# -- routing under overrides -----------------------------------------------------------------------

def _expected_shift(old: np.ndarray, km: np.ndarray, x: float) -> tuple[np.ndarray, np.ndarray]:
    """From the formula rtt = max(floor(d), min_rtt, overhead + e_a + e_b + slope*d/1000):
    raising overhead by x raises an unclamped RTT by exactly x; a clamped one (old equal to
    max(floor, min_rtt)) by between 0 and x. Returns (unclamped mask, clamp value)."""
    p = latency.default_params()
    clamp = np.maximum(2 * km / p.fibre_km_per_ms, p.min_rtt_ms)
    return old > clamp + 1e-9, clamp


def _check_overhead_shift(before, after):
    assert (before["pop_id"] == after["pop_id"]).all()  # routing is geography, not RTT
    for col, km_col in (("internet_ms", "pop_km"), ("direct_ms", "direct_km")):
        old, new = before[col].to_numpy(float), after[col].to_numpy(float)
        free, clamp = _expected_shift(old, before[km_col].to_numpy(float), X)
        assert free.mean() > 0.5
        np.testing.assert_allclose(new[free], old[free] + X, rtol=0, atol=1e-9)
        assert (new[~free] >= old[~free] - 1e-9).all() and (new[~free] <= old[~free] + X + 1e-9).all()
    # anycast = internet + backbone (the backbone does not depend on overhead_ms)
    np.testing.assert_allclose(after["backbone_ms"], before["backbone_ms"], atol=1e-9)
    np.testing.assert_allclose(after["anycast_ms"] - before["anycast_ms"],
                               after["internet_ms"] - before["internet_ms"], atol=1e-9)


def test_overhead_raises_every_routed_clients_rtts_by_the_formulas_amount(catalog):
    # The formula above is the data-centre model's (the fitted base, no access term).
    m = (("overhead_ms", NEW_OVERHEAD),)
    before = routing.route_table(catalog, CITIES, "eu-central-1", access="datacenter")
    after = routing.route_table(catalog, CITIES, "eu-central-1", model=m, access="datacenter")
    _check_overhead_shift(before, after)
    free, _ = _expected_shift(before["anycast_ms"].to_numpy() - before["backbone_ms"].to_numpy(),
                              before["pop_km"].to_numpy(float), X)
    np.testing.assert_allclose(after["anycast_ms"].to_numpy()[free],
                               before["anycast_ms"].to_numpy()[free] + X, atol=1e-9)
    # End users (the default): the access term scales the data-centre leg, so the same
    # override raises their unclamped internet legs by access_factor * X.
    eu_before = routing.route_table(catalog, CITIES, "eu-central-1")
    eu_after = routing.route_table(catalog, CITIES, "eu-central-1", model=m)
    f = latency.default_params().access_factor
    np.testing.assert_allclose(eu_after["internet_ms"].to_numpy()[free],
                               eu_before["internet_ms"].to_numpy()[free] + f * X, atol=1e-9)


def test_client_set_path_uses_the_overrides_too(catalog):
    m = (("overhead_ms", NEW_OVERHEAD),)
    before = routing.demand_route_table(catalog, "cities25k", "eu-central-1", access="datacenter")
    after = routing.demand_route_table(catalog, "cities25k", "eu-central-1", model=m,
                                        access="datacenter")
    _check_overhead_shift(before, after)


def test_client_set_under_a_locate_override_matches_the_coordinate_path(catalog):
    m = (("interp_range_km", 50.0), ("pop_overhead_ms", 3.0))
    fast = routing.demand_route_table(catalog, "cities25k", "us-east-1", frozenset({"FRA"}),
                                       model=m).iloc[:400]
    coords = tuple(zip(fast["lat"], fast["lon"]))
    slow = routing.route_table(catalog, coords, "us-east-1", frozenset({"FRA"}), model=m)
    for col in ("internet_ms", "backbone_ms", "anycast_ms", "direct_ms"):
        np.testing.assert_allclose(fast[col].to_numpy(float), slow[col].to_numpy(float),
                                   rtol=1e-12, atol=1e-9)
    default = routing.demand_route_table(catalog, "cities25k", "us-east-1",
                                          frozenset({"FRA"})).iloc[:400]
    assert not np.allclose(default["internet_ms"], fast["internet_ms"])


def test_no_overrides_make_exactly_the_calls_and_keys_of_before(catalog, monkeypatch):
    calls = []
    real = routing._route_table

    def spy(*args):
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(routing, "_route_table", spy)
    routing.route_table(catalog, CITIES[:2], "eu-central-1")
    routing.route_table(catalog, CITIES[:2], "eu-central-1", model=())
    routing.route_table(catalog, CITIES[:2], "eu-central-1", model=(("overhead_ms", 5.0),))
    assert len(calls[0]) == len(calls[1]) == 6 and calls[0] == calls[1]
    assert len(calls[2]) == 7 and calls[2][-1] == (("overhead_ms", 5.0),)
    from dashboard.memo import make_key
    assert make_key("f", calls[0]) != make_key("f", calls[2])


def test_results_explain_failover_and_n1_follow_the_scenario_model(catalog):
    s0 = Scenario(clients=tuple(Client(a, b) for a, b in CITIES[:6]), down=frozenset({"FRA"}))
    s1 = s0.with_model({"overhead_ms": NEW_OVERHEAD})
    v0 = compute_view(s0.to_dict(), catalog)
    v1 = compute_view(s1.to_dict(), catalog)
    d0 = [r["direct_ms"] for r in v0[1]]
    d1 = [r["direct_ms"] for r in v1[1]]
    assert all(b > a for a, b in zip(d0, d1))
    assert repr(v0[2]) != repr(v1[2])  # key numbers
    # failover "before" (all up) uses the same model as "after"
    state = failover.routing_state(s1, "eu-central-1")
    before = failover.state_routes(failover.healthy_state(state), s1, catalog)
    healthy = routing.route_table(catalog, CITIES[:6], "eu-central-1", model=s1.model)
    np.testing.assert_allclose(before["anycast_ms"], healthy["anycast_ms"])
    # explain panel
    e0 = support_svc.explain_client(catalog, s0, 0, "eu-central-1").ranking
    e1 = support_svc.explain_client(catalog, s1, 0, "eu-central-1").ranking
    assert (e1["internet_ms"].to_numpy() >= e0["internet_ms"].to_numpy() - 1e-9).all()
    assert (e1["internet_ms"].to_numpy() > e0["internet_ms"].to_numpy()).any()
    # N-1 RTTs and its staleness key
    n0 = svc.n_minus_one_analysis(catalog, s0, "eu-central-1")
    n1 = svc.n_minus_one_analysis(catalog, s1, "eu-central-1")
    assert not np.allclose(n0["p50_before_ms"], n1["p50_before_ms"])
    assert svc.n1_key(s0, "x") != svc.n1_key(s1, "x")
    assert svc.n1_key(s0, "x") == svc.n1_key(Scenario(
        clients=s0.clients, down=s0.down), "x")


def test_nearest_answer_under_overrides_matches_rank_pops(catalog):
    m = (("fibre_km_per_ms", 150.0), ("backbone_overhead_ms", 10.0))
    a = routing.nearest_answer(catalog, 48.85, 2.35, "us-east-1", model=m)
    r = routing.rank_for_point(catalog, 48.85, 2.35, "us-east-1", model=m)
    assert [row["id"] for row in a["ranked"]] == list(r["pop_id"])
    np.testing.assert_allclose([row["anycast_ms"] for row in a["ranked"]],
                               r["anycast_ms"].round(1), atol=0.051)
    d = routing.nearest_answer(catalog, 48.85, 2.35, "us-east-1")
    assert a["pop"]["backbone_ms"] > d["pop"]["backbone_ms"]
