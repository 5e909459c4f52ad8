"""Issue 16, load-robust form of ``benchmarks/whatif.py``'s ratio: the what-if on 25,000 clients
(one scene-callback request, as the benchmark posts it) against the bare ``routing.assign`` of
the same clients, interleaved PoP by PoP over ``CYC`` cycles of the benchmark's ten down PoPs,
each taken at its per-PoP *minimum* (what the code costs when the other jobs of a shared
machine leave it alone). The benchmark's one-pass medians swing by +-30 % at a load of 3-8 on
2 cores; these minima by a few %.

    python benchmarks/whatif_minima.py          # CYC=7 by default, ~10 s
    cd <git archive of another ref> && python /path/to/benchmarks/whatif_minima.py

Runs on older trees too (a tree without the table key store sends none). Server time only
(Flask test client, in-process). Prints the ratio of the per-PoP minima's medians and sums.
"""

from __future__ import annotations

import os
import statistics
import sys
import time

sys.path.insert(0, os.getcwd())

import numpy as np  # noqa: E402

from benchmarks import whatif as W  # noqa: E402
from benchmarks.dash_requests import (app_dependencies, callback_body,  # noqa: E402
                                      response_value)
from dashboard import ids  # noqa: E402
from dashboard.app import create_app  # noqa: E402
from dashboard.catalog import default_catalog  # noqa: E402
from dashboard.domain.routing import assign  # noqa: E402
from dashboard.gazetteer import demand_set, load_gazetteer  # noqa: E402


def main() -> int:
    cycles = int(os.environ.get("CYC", 7))
    app = create_app()
    client = app.server.test_client()
    deps = app_dependencies(app)
    page = {f"{ids.ORIGIN}.value": "eu-central-1", f"{ids.ENDPOINT_TYPE}.value": "CLB",
            f"{ids.VIEW_TABS}.value": "map"}
    pattern_ids: dict = {}
    table_base = getattr(ids, "TABLE_BASE", None)

    def body(values: dict, changed: str) -> dict:
        return callback_body(deps, f"{ids.SCENARIO}.data", {**page, **values}, changed,
                             pattern_ids)

    def post(payload: dict) -> tuple[float, bytes]:  # whatif.py's, on this app's client
        return W.post(client, payload)

    link = {f"{ids.URL}.search": "?clientset=cities25k"}
    _, raw = post(body(link, f"{ids.URL}.search"))
    store = response_value(raw, f"{ids.SCENARIO}.data")
    base = response_value(raw, f"{ids.MAP_BASE}.data")
    prev = response_value(raw, f"{ids.FAILOVER_PREV}.data")
    table = response_value(raw, f"{table_base}.data") if table_base else None
    states, params = W.shown_states(raw)
    page.update(states)
    pattern_ids[ids.MODEL_PARAM] = params
    post(body(link, f"{ids.URL}.search"))
    cat = default_catalog()
    ds = demand_set(load_gazetteer(), "cities25k")
    pop_lats, pop_lons = np.asarray(cat.pop_lats), np.asarray(cat.pop_lons)
    whatif: dict[str, list[float]] = {p: [] for p in W.DOWN_SEQUENCE}
    bare: dict[str, list[float]] = {p: [] for p in W.DOWN_SEQUENCE}
    nonce = 0
    for _ in range(cycles):
        for pid in W.DOWN_SEQUENCE:
            nonce += 1
            states = {f"{ids.SCENARIO_EDIT}.data": {"op": "toggle_pop", "pop": pid,
                                                    "nonce": nonce},
                      f"{ids.SCENARIO}.data": store, f"{ids.MAP_BASE}.data": base,
                      f"{ids.FAILOVER_PREV}.data": prev}
            if table_base:
                states[f"{table_base}.data"] = table
            t, _ = post(body(states, f"{ids.SCENARIO_EDIT}.data"))
            whatif[pid].append(1000 * t)
            mask = cat.pop_mask([pid])
            t0 = time.perf_counter()
            assign(ds.lats, ds.lons, pop_lats, pop_lons, down=mask)
            bare[pid].append(1000 * (time.perf_counter() - t0))
    mw = [min(v) for v in whatif.values()]
    mb = [min(v) for v in bare.values()]
    print(f"per-PoP minima over {cycles} cycles: what-if median {statistics.median(mw):.1f} ms "
          f"(sum {sum(mw):.0f}), bare assign median {statistics.median(mb):.1f} ms "
          f"(sum {sum(mb):.0f}); ratio of medians "
          f"{statistics.median(mw) / statistics.median(mb):.2f}, of sums {sum(mw) / sum(mb):.2f};"
          f" load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
