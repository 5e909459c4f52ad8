"""Values of the wrong type or shape, as only a hand-crafted callback request sends them, given to
the plain functions behind the callbacks. Each case was a 500 (an exception in the callback)
found by the fuzz tests (``tests/fuzz``); each now gives a notice, no update (``no_update`` /
``PreventUpdate``) or nothing to do -- never an exception."""

from __future__ import annotations

import base64
import json

import pytest
from dash import no_update
from dash.exceptions import PreventUpdate

from dashboard import figures, ids
from dashboard.callbacks import capacity as cap_cb
from dashboard.callbacks import edits_capacity
from dashboard.callbacks import failover as fo
from dashboard.callbacks import results
from dashboard.callbacks import scenario as sc
from dashboard.callbacks import support as sup
from dashboard.domain.scenario import Client, Scenario
from dashboard.gazetteer import load_gazetteer
from dashboard.settings import Settings

SETTINGS = Settings()
HUGE = 10**400  # a JSON integer: float() of it raises OverflowError, not ValueError
S = Scenario(clients=(Client(48.8566, 2.3522, "Paris"), Client(35.6895, 139.6917, "Tokyo")),
             origin="eu-central-1", down=frozenset({"CDG"}))
STORE = S.to_dict()
#: Stores the app never writes: each raises PreventUpdate wherever the scenario is read.
BAD_STORES = [[1], "x", {"clients": "x"}, {"clients": [{"lat": HUGE, "lon": 0}]},
              {**STORE, "observed": [{"client": float("inf"), "pop": "CDG"}]},
              {**STORE, "capacity_gbps": {"CDG": HUGE}}, {**STORE, "demand_scale": -HUGE}]
CONFUSED = [None, 0, 1.5, True, "x", [], [None], [[1]], {}, {"a": [1]}, HUGE, float("nan")]


# -- the scenario store ----------------------------------------------------------------------

@pytest.mark.parametrize("store", BAD_STORES[3:], ids=["lat", "observed", "capacity", "scale"])
def test_numbers_a_float_cannot_hold_are_a_value_error_not_an_overflow_error(store):
    with pytest.raises(ValueError, match="is not a"):
        Scenario.from_dict(store)


# -- support ---------------------------------------------------------------------------------

CLIENT_CURVE = figures.map_trace_index(figures.CLIENTS)


def _file(scenario: dict) -> str:
    doc = {"format": "anycast-eip-scenario", "version": 1, "scenario": scenario}
    return "data:application/json;base64," + base64.b64encode(json.dumps(doc).encode()).decode()


@pytest.mark.parametrize("scenario,message", [
    ({"clients": [{"lat": HUGE, "lon": 0}]}, "scenario.clients[0].lat: must be a finite number"),
    ({"capacity_gbps": {"CDG": HUGE}}, "scenario.capacity_gbps.CDG: must be a finite number"),
    ({"demand_scale": HUGE}, "scenario.demand_scale: must be a finite number"),
    ({"mappings": [["mars-1", ["CDG"]]]}, "scenario.mappings[0][0]: unknown origin region"),
    ({"mappings": [["us-east-1", ["ZZZ"]]]}, "scenario.mappings[0][1][0]: unknown access point"),
    ({"mappings": [["us-east-1"]]}, "scenario.mappings[0]: expected [region, [access point"),
    ({"endpoints_down": ["mars-1"]}, "scenario.endpoints_down[0]: unknown origin region"),
], ids=["lat huge", "capacity huge", "scale huge", "region", "mapped pop", "mapping shape",
        "endpoint down"])
def test_an_imported_file_with_numbers_or_ids_we_cannot_use_is_a_notice(catalog, scenario,
                                                                        message):
    """An OverflowError (500) for the numbers; unknown regions reached the store (KeyError in
    the results)."""
    req = sup.import_edit(_file(scenario), "x.json", catalog, SETTINGS)
    assert req["op"] == "notice" and message in req["notices"][0]["text"], req
