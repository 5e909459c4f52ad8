"""The one round trip's outputs after the review of the renovation: a refused edit redraws the
widget that sent it; what did not change is not sent again; client-set rows are explained."""

from __future__ import annotations

from dash import Output, no_update

from dashboard import ids
from dashboard.callbacks import scene
from dashboard.catalog import default_catalog
from dashboard.services import events
from dashboard.services.scenario import load_scenario
from dashboard.services.support import explain_view
from dashboard.settings import Settings

SETTINGS = Settings()
CATALOG = default_catalog()
PILLS = list(CATALOG.pop_ids)
STORE = {"clients": [{"lat": 48.86, "lon": 2.35, "name": "Paris", "weight": 1.0},
                     {"lat": 40.71, "lon": -74.0, "name": "New York", "weight": 1.0}],
         "mappings": [["us-east-1", ["IAD"]]]}


def at(out: tuple, component: str, prop: str):
    return out[scene.OUTPUTS.index(Output(component, prop))]


def round_trip(request, page: scene.PageState = scene.PageState()) -> tuple:
    ev = events.scenario_event(events.EDIT, "", request, "eu-central-1", "CLB", STORE, CATALOG,
                               SETTINGS)
    return scene.scene_outputs(ev, page, PILLS, CATALOG)


def test_a_refused_model_entry_redraws_the_inputs_from_the_scenario():
    ids_ = [{"type": "model-param", "name": "overhead_ms"}]
    out = round_trip({"op": "model_input", "name": "overhead_ms", "values": [-5], "ids": ids_},
                     scene.PageState(model_values=[-5], model_ids=ids_))
    assert "Latency model" in str(at(out, ids.NOTICE, "children"))
    assert at(out, ids.SCENARIO, "data") is no_update  # the scenario kept its value
    controls = at(out, ids.MODEL_CONTROLS, "children")
    assert controls is not no_update and "-5" not in str(controls)  # the input shows it again


def test_a_refused_endpoint_mapping_redraws_the_endpoint_list():
    # (an empty mapping is valid since issue 15; a region without a Normal endpoint is not)
    out = round_trip({"op": "endpoint_map", "region": "ap-southeast-1", "pops": ["SIN"]})
    assert "Endpoints" in str(at(out, ids.NOTICE, "children"))
    rows = at(out, ids.ENDPOINTS_LIST, "children")
    assert rows is not no_update and "'IAD'" in str(rows)  # the mapping the scenario kept


def test_a_pill_click_does_not_resend_the_client_picker_or_the_endpoint_list():
    out = round_trip({"op": "toggle_pop", "pop": "CDG"})
    assert at(out, ids.SCENARIO, "data")["down"] == ["CDG"]
    assert at(out, ids.EXPLAIN_CLIENT, "options") is no_update
    assert at(out, ids.ENDPOINTS_LIST, "children") is no_update
    # ... but a new client is listed, and an endpoint change redraws the list
    out = round_trip({"op": "add", "clients": [{"lat": 1.29, "lon": 103.85, "name": "SG"}]})
    assert len(at(out, ids.EXPLAIN_CLIENT, "options")) == 3
    out = round_trip({"op": "endpoint_down", "region": "us-east-1"})
    assert "DOWN" in str(at(out, ids.ENDPOINTS_LIST, "children"))


def test_a_row_of_the_client_set_is_explained_without_the_observed_picker():
    loaded = load_scenario({**STORE, "client_set": "cities25k"}, CATALOG, SETTINGS)
    view = explain_view(loaded, 2, CATALOG)  # the first city of the set, after 2 own clients
    assert not view.hint and view.chosen and not view.observable and view.observed is None
    assert explain_view(loaded, 0, CATALOG).observable
    assert explain_view(loaded, 2 + 25_000, CATALOG).hint  # past the end of the set


def test_the_what_if_table_samples_a_large_upload_and_says_so():
    from dashboard.services import endpoints
    clients = [{"lat": -60 + 120 * i / 4999, "lon": -170 + 340 * ((7 * i) % 5000) / 4999,
                "name": "", "weight": 1.0} for i in range(5000)]
    loaded = load_scenario({"clients": clients}, CATALOG, SETTINGS)
    view = endpoints.endpoints_view(loaded, CATALOG)
    assert "2,000 of the link's 5,000 own clients, evenly sampled" in view.whatif_title
    assert view.whatif and all(line.served.endswith("/2000") for line in view.whatif)
