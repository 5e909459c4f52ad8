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

from dashboard import ids
from dashboard.callbacks import capacity as cap_cb
from dashboard.callbacks import failover as fo
from dashboard.callbacks import results
from dashboard.callbacks.scenario import resolve_origin, scenario_event
from dashboard.domain.scenario import Scenario
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
    out = results.compute_view(store, confuse(data, prev), None, catalog, SETTINGS)
    assert len(out) == 9


@SOME
@given(store=scenarios, data=st.data())
def test_n1_views_show_or_keep_a_result_of_any_shape(catalog, store, data):
    result = cap_cb.run_n1(store, catalog, SETTINGS)
    bad = confuse(data, result)
    try:
        rows, _fig, _note = cap_cb.n1_outputs(bad, store, catalog, SETTINGS)
        assert isinstance(rows, list)
        download = cap_cb.n1_download(bad)
        assert download is no_update or download["content"]
    except PreventUpdate:
        pass


@SOME
@given(store=scenarios, data=st.data())
def test_utilisation_table_edits_of_any_shape_become_an_edit_or_nothing(catalog, store, data):
    rows = cap_cb.compute_capacity(store, catalog, show_catchments=False)[3]
    request = cap_cb.table_edit(confuse(data, rows), store, catalog)
    if request is no_update:
        return
    assert request["op"] in ("capacity", "notice")
    # ... which the scenario callback applies or refuses with a notice
    new_store, *_rest, notices = scenario_event(ids.SCENARIO_EDIT, "", request, None, None,
                                                store, catalog, SETTINGS)
    Scenario.from_dict(new_store)
