"""A what-if's map Patch gives the browser exactly the figure a full redraw would (issue 16).

The patch path builds only the layers a what-if changes, as plain dicts (no plotly validation),
and leaves the aggregated unrouted/unserved layers and the clients' positions and names in the
browser. Applied to the map the page showed, it must give the same traces as the full figure of
the new scenario, value for value (typed arrays decoded)."""

from __future__ import annotations

import base64
import copy
import json
import math

import numpy as np
import pytest
from dash import Patch, no_update
from plotly.utils import PlotlyJSONEncoder

from dashboard.callbacks import scene
from dashboard.domain.scenario import Client, Scenario
from dashboard.figures import map as map_figures
from dashboard.services.scenario import load_scenario
from dashboard.settings import Settings

SETTINGS = Settings()
DTYPES = {"f4": "<f4", "f8": "<f8", "i1": "i1", "u1": "u1", "i2": "<i2", "u2": "<u2",
          "i4": "<i4", "u4": "<u4"}


def _outputs(scenario: Scenario, prev, base, catalog, table=None) -> tuple:
    return scene.map_outputs(load_scenario(scenario.to_dict(), catalog, SETTINGS),
                             scene.PageState(prev=prev, base=base, table_base=table), catalog)


def _rows(shown: list, update) -> list:
    """The table rows the page shows after ``update`` (rows, a Patch of rows, or no_update)."""
    if update is no_update:
        return shown
    if not isinstance(update, Patch):
        return _json(update)
    out = copy.deepcopy(shown)
    for op in _json(update)["operations"]:
        assert op["operation"] == "Assign" and len(op["location"]) == 1, op
        out[op["location"][0]] = op["params"]["value"]
    return out


def _json(obj):
    return json.loads(json.dumps(obj, cls=PlotlyJSONEncoder))


def _norm(v):
    """Typed arrays decoded, numbers as floats (NaN as None), tuples as lists."""
    if isinstance(v, dict):
        if set(v) >= {"dtype", "bdata"}:
            a = np.frombuffer(base64.b64decode(v["bdata"]), dtype=DTYPES[v["dtype"]])
            if "shape" in v:
                a = a.reshape([int(d) for d in str(v["shape"]).split(",")])
            return _norm(a.tolist())
        return {k: _norm(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_norm(x) for x in v]
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, (int, float)):
        return None if math.isnan(float(v)) else float(v)
    return v


def _apply(figure: dict, patch: Patch) -> dict:
    out = copy.deepcopy(figure)
    for op in _json(patch)["operations"]:
        assert op["operation"] == "Assign", op
        *path, last = op["location"]
        node = out
        for key in path:
            node = node.setdefault(key, {}) if isinstance(key, str) else node[key]
        node[last] = op["params"]["value"]
    return out


def _same_figure(patched: dict, full: dict) -> None:
    assert len(patched["data"]) == len(full["data"]) == len(map_figures.MAP_TRACES)
    for name, a, b in zip(map_figures.MAP_TRACES, patched["data"], full["data"]):
        assert _norm(a) == _norm(b), name
    # the animation id is new for every answer: both name theirs, or neither
    assert bool(patched["layout"]["meta"]["failover"]) == bool(full["layout"]["meta"]["failover"])


def _check(before: Scenario, after: Scenario, catalog, patched_expected: bool = True) -> None:
    first = _outputs(before, None, None, catalog)
    fig0, prev, base = _json(first[0]), first[7], first[8]
    patch = _outputs(after, prev, base, catalog, first[9])
    full = _outputs(after, prev, "another map", catalog)
    assert isinstance(patch[0], Patch) is patched_expected
    assert not isinstance(full[0], Patch)
    if patched_expected:
        _same_figure(_apply(fig0, patch[0]), _json(full[0]))
        # the rest of the answer is the same too (the failover plan but its id, the table)
        frames, frames_full = _json(patch[5]), _json(full[5])
        assert frames.pop("id", None) == _json(patch[0])["operations"][-1]["params"]["value"][
            "failover"] or not frames.get("clients")
        frames_full.pop("id", None)
        # the table: only the changed rows sent (issue 16), applied to the rows shown
        assert isinstance(patch[1], Patch) or patch[1] is no_update or isinstance(patch[1], list)
        assert frames == frames_full and _rows(_json(first[1]), patch[1]) == _json(full[1])
        # the RTT CDF patched (its anycast curve from the key numbers' sort) = the full chart
        cdf = _apply(_json(first[3]), patch[3])
        assert [_norm(t) for t in cdf["data"]] == [_norm(t) for t in _json(full[3])["data"]]
        assert _json(patch[2]) == _json(full[2])  # the key numbers


@pytest.mark.slow
@pytest.mark.parametrize("down", [("FRA",), ("HKG", "SIN"), ("IAD",)])
def test_aggregated_what_if_patch_equals_the_full_figure(catalog, down):
    _check(Scenario(client_set="cities25k"),
           Scenario(client_set="cities25k", down=frozenset(down)), catalog)


@pytest.mark.slow
def test_aggregated_patch_with_normal_endpoints_equals_the_full_figure(catalog):
    mapped = dict(client_set="cities25k", mappings=(("us-east-1", ("IAD", "ORD", "GRU")),))
    _check(Scenario(**mapped), Scenario(**mapped, down=frozenset({"IAD"})), catalog)
    # a PoP back up, with another one already down
    _check(Scenario(**mapped, down=frozenset({"IAD", "FRA"})),
           Scenario(**mapped, down=frozenset({"FRA"})), catalog)


def test_compact_what_if_patch_equals_the_full_figure(catalog):
    rng = np.random.default_rng(16)
    clients = tuple(Client(float(a), float(b), f"c<{i}>", 1.0) for i, (a, b) in enumerate(
        zip(rng.uniform(-50, 65, 1_500), rng.uniform(-170, 170, 1_500))))
    _check(Scenario(clients=clients), Scenario(clients=clients, down=frozenset({"FRA"})),
           catalog)


def test_table_rows_are_patched_only_where_they_changed():
    """The assignment table's update (callbacks/patches.table_update): the rows, a Patch of the
    rows that changed, or nothing, and a key; a key this process does not have (another
    process, a hostile store value) gets the rows themselves."""
    from dashboard.callbacks.patches import table_update

    rows = [{"id": i, "pop": "FRA", "anycast_ms": float(i)} for i in range(10)]
    data, key = table_update(rows, None)
    assert data is rows and isinstance(key, str)
    assert table_update([dict(r) for r in rows], key) == (no_update, no_update)
    new = [dict(r) for r in rows]
    new[3]["pop"], new[7]["anycast_ms"] = "LHR", None
    patch, key2 = table_update(new, key)
    assert isinstance(patch, Patch) and key2 != key
    assert [op["location"] for op in _json(patch)["operations"]] == [[3], [7]]
    assert _rows(_json(rows), patch) == _json(new)
    # more than half changed, another length, unknown or hostile keys: the rows themselves
    most = [{**r, "pop": "CDG"} for r in rows]
    assert table_update(most, key2)[0] is most
    assert table_update(new[:5], key2)[0] == new[:5]
    for hostile in ("nope", 5, {"a": 1}, ["x"], "k" * 10_000, None):
        data, k = table_update(new, hostile)
        assert data is new and isinstance(k, str)
