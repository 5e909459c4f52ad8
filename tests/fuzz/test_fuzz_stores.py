"""Stores and tables that come back from the browser *next to* the scenario: the failover
"before" state, the N-1 result, the utilisation table. The server fuzz draws them independently
of the scenario, so it seldom reaches the code that compares them with it; these properties start
from what the app itself wrote for a valid scenario and type-confuse one field. The handlers must
answer or raise ``PreventUpdate`` -- never anything else (a 500 in the browser)."""

from __future__ import annotations

import copy
from typing import Any

from dash import no_update
from dash.exceptions import PreventUpdate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.callbacks import capacity as cap_cb
from dashboard.callbacks import scene
from dashboard.domain.scenario import Scenario
from dashboard.services import capacity as svc
from dashboard.services import events
from dashboard.services import failover as fo
from dashboard.services.scenario import load_scenario, resolve_origin
from dashboard.settings import Settings
from tests.fuzz.strategies import json_values, valid_scenario_dicts

SOME = settings(max_examples=60, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
SETTINGS = Settings(max_clients=500)
#: Scenarios with clients of their own (the client set and the population demand are slow to
#: rank for each example and add no other code path here).
scenarios = valid_scenario_dicts.map(
    lambda d: {k: v for k, v in d.items() if k != "client_set"}).filter(lambda d: d["clients"])


def confuse(data: st.DataObject, doc: Any) -> Any:
    """``doc`` with one value somewhere inside replaced by any JSON value."""
    doc = copy.deepcopy(doc)
    holder, key = None, None
    node = doc
    while isinstance(node, (dict, list)) and node and data.draw(st.booleans()):
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        holder, key = node, data.draw(st.sampled_from(keys))
        node = node[key]
    if holder is None:
        return data.draw(json_values)
    holder[key] = data.draw(json_values)
    return doc


@SOME
@given(store=scenarios, data=st.data())
def test_results_ignore_a_failover_before_state_of_any_shape(catalog, store, data):
    s = Scenario.from_dict(store)
    origin = resolve_origin(s, catalog, SETTINGS)
    prev = fo.routing_state(s.with_down(set(s.down) ^ {"CDG"}), origin)
    out = scene.map_outputs(load_scenario(store, catalog, SETTINGS),
                            scene.PageState(prev=confuse(data, prev)), catalog)
    assert len(out) == len(scene.MAP_OUT)


@SOME
@given(store=scenarios, data=st.data())
def test_n1_views_show_or_keep_a_result_of_any_shape(catalog, store, data):
    loaded = load_scenario(store, catalog, SETTINGS)
    bad = confuse(data, svc.run_n1(loaded, catalog))
    scene.n1_note(loaded, bad)  # the line under the table: text, "" or a component
    download = cap_cb.n1_download(bad)
    assert download is no_update or download["content"]
    try:
        rows, _fig, _status = cap_cb.n1_view(bad)
        assert isinstance(rows, list)
    except PreventUpdate:
        pass


@SOME
@given(store=scenarios, data=st.data())
def test_utilisation_table_edits_of_any_shape_become_an_edit_or_nothing(catalog, store, data):
    loaded = load_scenario(store, catalog, SETTINGS)
    rows = scene.capacity_outputs(loaded, False, catalog)[3]
    bad = confuse(data, rows)
    request = svc.table_edit(bad, loaded.scenario, catalog)
    # ... and what the table writes (assets/edits.js capacityTable), resolved and applied by the
    # round trip, which applies it or refuses it with a notice
    ev = events.scenario_event(events.EDIT, "", {"op": "capacity_table", "rows": bad}, None,
                               None, store, catalog, SETTINGS)
    if request is None:
        assert ev is None
        return
    assert request["op"] in ("capacity", "notice")
    Scenario.from_dict(ev.store)
