"""The "Where to add a PoP" callbacks as functions (no browser): the job's work, the outputs
drawn from a stored result (shape-checked: the store lives in the browser), a bad user list
said in the status line, and the jobs' notices going to this card's status line."""

from __future__ import annotations

import pytest
from dash.exceptions import PreventUpdate
from flask import Flask

from dashboard import ids, jobs
from dashboard.callbacks import siting as cb
from dashboard.settings import Settings

SETTINGS = Settings()
STORE = {"clients": [{"lat": -26.2041, "lon": 28.0473, "name": "Johannesburg", "weight": 10},
                     {"lat": -1.2864, "lon": 36.8172, "name": "Nairobi", "weight": 5}]}


def test_run_and_outputs(catalog):
    seen = []
    result = cb.run(STORE, "", catalog, SETTINGS, lambda f, t: seen.append((f, t)))
    assert result["candidates"] == 1000 and len(result["rows"]) == 10
    assert seen and seen[-1][0] == 1.0
    assert result["store_parts"]["clients"] == STORE["clients"]  # for the "changed" line
    assert "STALE" not in cb.STALE_JS and "scenario changed" in cb.STALE_JS
    table, greedy, note, fig, status = cb.outputs(result, STORE, catalog, SETTINGS)
    assert status.startswith("Done: 10 best of 1,000 sites")
    assert "greedy" in greedy and "2 demand points" in note
    assert len(fig.data[1].lat) == 10 and len(fig.data[0].lat) == len(catalog.pop_ids)
    buttons = [c for c in str(table).split("'type': 'siting-add'")][1:]
    assert len(buttons) == 10


def test_own_sites_and_a_bad_list(catalog):
    result = cb.run(STORE, "-26.1,28.1,Sandton\n48.85,2.35,Paris", catalog, SETTINGS)
    assert [r["name"] for r in result["rows"]] == ["Sandton", "Paris"]
    bad = cb.run(STORE, "31.2,121.5,Shanghai", catalog, SETTINGS)
    out = cb.outputs(bad, STORE, catalog, SETTINGS)
    assert out[-1].startswith("Not ranked: candidate sites, line 1") and "mainland" in out[-1]


@pytest.mark.parametrize("stored", [None, {"rows": "x"}, [1, 2], "text"])
def test_a_foreign_store_draws_nothing(catalog, stored):
    with pytest.raises(PreventUpdate):
        cb.outputs(stored, STORE, catalog, SETTINGS)


def test_add_it_sends_the_add_planned_request():
    assert "add-planned" in cb.ADD_IT_JS and "nonce" in cb.ADD_IT_JS


def test_job_notices_and_page_slots_are_per_callback():
    app = Flask(__name__)

    class Manager(jobs._Outcomes):
        pass

    m = Manager()
    for output, target in ((f"{ids.SITING_RESULT}.data", ids.SITING_STATUS),
                           (f"{ids.N1_RESULT}.data", ids.N1_STATUS), ("other.data", ids.N1_STATUS)):
        with app.test_request_context("/_dash-update-component", method="POST",
                                      json={"output": output}):
            assert jobs._request_output() == output
            assert m._with_notice({}, "busy") == {target: {"children": "busy"}}
    assert jobs._page_key("p") == jobs._page_key("p", f"{ids.N1_RESULT}.data")
    assert jobs._page_key("p", f"{ids.SITING_RESULT}.data") != jobs._page_key("p")
    with app.test_request_context("/", method="POST", data="not json"):
        assert jobs._request_output() is None
