"""Client sets by key, and the what-if Patch of the map outputs of the round trip."""

from __future__ import annotations

import json

import plotly
import pytest
from dash import Patch, no_update

from dashboard.callbacks import scene
from dashboard.domain.edits import EditContext, apply_edit
from dashboard.domain.scenario import Client, Scenario
from dashboard.domain.scenario_url import from_query, to_query
from dashboard.figures import map as map_figures
from dashboard.services.map import MAX_TABLE_ROWS
from dashboard.services.scenario import client_sets, load_scenario
from dashboard.settings import Settings

SETTINGS = Settings()
#: The reducer's limits for these tests: 50,000 clients, the app's client sets.
CTX = EditContext(max_clients=50_000, client_sets=client_sets())


def compute_view(current: dict, prev, base, catalog) -> tuple:
    """The map tab's outputs (:data:`scene.MAP_OUT`) for the store ``current``, the page
    showing routing state ``prev`` and a map whose compact layer has key ``base``."""
    return scene.map_outputs(load_scenario(current, catalog, SETTINGS),
                             scene.PageState(prev=prev, base=base), catalog)


def test_client_set_key_round_trips_through_the_url_and_the_store():
    s = Scenario(clients=(Client(1.0, 2.0, "a"),), client_set="cities25k", down=frozenset({"FRA"}))
    q = to_query(s)
    assert "clientset=cities25k" in q and len(q) < 100
    back, warnings = from_query(q, client_set_ids=("cities25k",))
    assert back == s and warnings == []
    assert Scenario.from_dict(s.to_dict()) == s
    bad, warnings = from_query("clientset=nope", client_set_ids=("cities25k",))
    assert bad.client_set is None and "unknown client set 'nope'" in warnings[0]
    with pytest.raises(ValueError):
        Scenario().with_client_set("bad key!")


def test_client_set_edit_and_clear():
    s, notes = apply_edit(Scenario(), {"op": "client_set", "key": "cities25k"}, CTX)
    assert s.client_set == "cities25k" and "25,000" in notes[0][1]
    same, notes = apply_edit(s, {"op": "client_set", "key": "nope"}, CTX)
    assert same.client_set == "cities25k" and notes[0][0] == "error"
    cleared, _ = apply_edit(s, {"op": "clear"}, CTX)
    assert cleared.client_set is None and cleared.clients == ()


def _size(obj) -> int:
    return len(json.dumps(obj, cls=plotly.utils.PlotlyJSONEncoder))


@pytest.mark.slow
def test_what_if_on_the_client_set_is_a_small_patch(catalog):
    first = compute_view(Scenario(client_set="cities25k").to_dict(), None, None, catalog)
    fig, rows, _summary, cdf, count, *_ = first
    base = first[8]  # ids.MAP_BASE (the table's key follows it)
    assert base and count == f"25,000 clients (table: first {MAX_TABLE_ROWS})"
    assert len(rows) == MAX_TABLE_ROWS and rows[0]["remove"] == ""
    clients = fig.data[map_figures.map_trace_index(map_figures.CLIENTS)]
    # aggregated (issue 17): one marker per grid cell, every client counted, largest city first
    assert 500 < len(clients.lat) < 3_000 and clients.text[0].startswith("Shanghai, CN and ")
    counts = clients.customdata[:, map_figures.BIN_CUSTOMDATA.index("clients")]
    assert counts.sum() == 25_000
    assert "FRA" in set(clients.hovertext)
    down = Scenario(client_set="cities25k", down=frozenset({"FRA"})).to_dict()
    patched = compute_view(down, None, base, catalog)
    assert isinstance(patched[0], Patch) and isinstance(patched[3], Patch)
    # same clients as the page shows: the key and the count stay as they are (not resent)
    assert patched[8] is no_update and patched[4] is no_update
    ops = patched[0].to_plotly_json()["operations"]
    ci = map_figures.map_trace_index(map_figures.CLIENTS)
    client_ops = {tuple(op["location"][2:]) for op in ops if op["location"][:2] == ["data", ci]}
    assert client_ops == {("customdata",), ("hovertext",), ("hovertemplate",), ("marker",)}
    hover = next(op for op in ops if op["location"] == ["data", ci, "hovertext"])
    assert "FRA" not in set(hover["params"]["value"])
    assert next(op for op in ops if op["location"] == ["data", ci, "customdata"]
                )["params"]["value"]["dtype"] == "f4"
    assert _size(patched[0]) + _size(patched[1]) + _size(patched[3]) < 1_000_000
    # The same what-if without a matching base (first load, other clients): a full figure.
    full = compute_view(down, None, "other", catalog)
    assert not isinstance(full[0], Patch)
    assert "FRA" not in set(full[0].data[ci].hovertext)
    down = full[0].data[map_figures.map_trace_index(map_figures.POPS_DOWN)]
    assert list(down.customdata) == ["FRA"]


def test_small_scenarios_never_patch(catalog):
    s = Scenario(clients=(Client(48.85, 2.35, "Paris"),)).to_dict()
    out = compute_view(s, None, None, catalog)
    assert out[8] is None
    again = compute_view(s, None, out[8], catalog)
    assert not isinstance(again[0], Patch)
