"""P2: what-if recompute for a 25,000-client preset -- mark an access point down, get the new
routing and the figure update the browser receives -- through the real Dash callbacks.

    python benchmarks/whatif.py                 # ~1 minute on 2 cores
    python benchmarks/whatif.py --repeat 3 --baseline-ref f0d85db

Everything is measured in one run, in-process, by POSTing Dash's own request bodies to
``/_dash-update-component`` with Flask's test client (no sockets: server time only):

* **this code**: the "World demand: 25,000 largest cities" preset (``Scenario.client_set``). A what-if
  is ONE request, the one the browser sends when an access point pill is clicked: the scene
  callback (``callbacks/scene.py``) with the edit ``{"op": "toggle_pop", "pop": <PoP>}`` in
  ``scenario-edit.data`` and the current scenario store, failover state and map key as states;
  it answers the new store, the map ``Patch``, the table (a ``Patch`` of the changed rows: the
  page's table key ``table-base`` is sent back as the browser does), key numbers, CDF, failover
  plan, pills and panels. Each repetition marks a different PoP down (from the opened preset), so nothing is
  served from a cache. Time = that request; payload = its response body (raw JSON, and gzip -6
  for reference). Bodies from ``benchmarks/dash_requests.py``.
* **baseline A -- the pre-optimisation path**: the results callback of ``--baseline-ref``
  (default ``f0d85db``, the last commit before issue 7's work; exported with ``git archive``
  into a temporary directory and run in a subprocess) for the same 25,000 cities embedded in the scenario store (the only way to hold
  them before demand sets), with the same PoP down.
* **baseline B -- bare routing**: ``routing.assign`` (nearest healthy PoP + runner-up) for the
  same 25,000 clients with the PoP down: the floor of any implementation.

Goals: issue 7, <= 100 ms server time and <= 1 MB payload for the what-if; issue 16, <= 1.3x
baseline B (the bare ``routing.assign``, same run) and <= 1 MB.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DOWN_SEQUENCE = ("FRA", "HKG", "IAD", "SIN", "LHR", "NRT", "SJC", "GRU", "SYD", "BOM")


def post(client, payload: dict) -> tuple[float, bytes]:
    data = json.dumps(payload)
    t0 = time.perf_counter()
    resp = client.post("/_dash-update-component", data=data, content_type="application/json")
    elapsed = time.perf_counter() - t0
    if resp.status_code != 200:
        raise SystemExit(f"callback answered {resp.status_code}: {resp.data[:300]!r}")
    return elapsed, resp.data


def shown_states(raw: bytes) -> tuple[dict, list[dict]]:
    """The states a page sends back after the scene answer ``raw``: the values of the model and
    capacity controls it rendered (``{"<id>.<prop>": value}``), and the model parameters' ids
    (the pattern-matching ``ids.MODEL_PARAM`` inputs)."""
    from benchmarks.dash_requests import component_values, response_value
    from dashboard import ids

    shown = {json.dumps(cid, sort_keys=True) if isinstance(cid, dict) else cid: value
             for out in (ids.MODEL_CONTROLS, ids.CAPACITY_CONTROLS)
             for cid, value in component_values(response_value(raw, f"{out}.children"))}
    params = [json.loads(k) for k in shown if k.startswith("{")]
    return ({"model-param.id": params,
             "model-param.value": [shown[json.dumps(p, sort_keys=True)] for p in params],
             **{f"{i}.value": shown.get(i) for i in (ids.DEMAND_SOURCE, ids.DEMAND_SCALE,
                                                     ids.DEFAULT_CAPACITY)}}, params)


def measure_this(repeat: int) -> dict:
    from benchmarks.dash_requests import app_dependencies, callback_body, response_value
    from dashboard import ids
    from dashboard.app import create_app

    app = create_app()
    client = app.server.test_client()
    deps = app_dependencies(app)
    page = {f"{ids.ORIGIN}.value": "eu-central-1", f"{ids.ENDPOINT_TYPE}.value": "CLB",
            f"{ids.VIEW_TABS}.value": "map"}

    pattern_ids: dict[str, list[dict]] = {}

    def scene(values: dict, changed: str) -> tuple[float, bytes]:
        return post(client, callback_body(deps, f"{ids.SCENARIO}.data", {**page, **values},
                                          changed, pattern_ids))

    def open_link(search: str) -> tuple[float, bytes]:  # the page opened with a link
        return scene({f"{ids.URL}.search": search}, f"{ids.URL}.search")

    # Page opened on the preset (first use in the process builds the ranking: reported apart).
    t_o, raw_o = open_link("?clientset=cities25k")
    store = response_value(raw_o, f"{ids.SCENARIO}.data")
    base = response_value(raw_o, f"{ids.MAP_BASE}.data")
    # The key of the table rows the page shows (the browser sends it back as a state).
    table = response_value(raw_o, f"{ids.TABLE_BASE}.data")
    # The routing state the browser keeps for the failover animation (the "before").
    prev = response_value(raw_o, f"{ids.FAILOVER_PREV}.data")
    first = {"ms": 1000 * t_o, "bytes": len(raw_o)}
    # What the page's inputs then hold, sent back as states like the browser does (else the
    # model and capacity controls would be re-rendered in every answer).
    states, params = shown_states(raw_o)
    page.update(states)
    pattern_ids = {ids.MODEL_PARAM: params}
    # A second full load (ranking cached): what reopening the preset costs.
    t_o2, raw_o2 = open_link("?clientset=cities25k")
    full = {"ms": 1000 * t_o2, "bytes": len(raw_o2), "gzip": len(gzip.compress(raw_o2, 6))}
    runs = []
    for nonce, pid in enumerate(DOWN_SEQUENCE[:repeat], start=1):
        t, raw = scene({f"{ids.SCENARIO_EDIT}.data": {"op": "toggle_pop", "pop": pid,
                                                      "nonce": nonce},
                        f"{ids.SCENARIO}.data": store, f"{ids.MAP_BASE}.data": base,
                        f"{ids.TABLE_BASE}.data": table,
                        f"{ids.FAILOVER_PREV}.data": prev}, f"{ids.SCENARIO_EDIT}.data")
        resp = json.loads(raw)["response"]
        st = resp[ids.SCENARIO]["data"]
        assert st["down"] == [pid], st
        frames = resp[ids.FAILOVER_FRAMES]["data"]
        fig = resp[ids.WORLD_MAP]["figure"]
        patched = isinstance(fig, dict) and "__dash_patch_update" in fig
        runs.append({"pop": pid, "ms": 1000 * t, "bytes": len(raw),
                     "gzip": len(gzip.compress(raw, 6)),
                     "patch": patched, "animated": len(frames.get("clients") or [])})
    return {"first": first, "full": full, "runs": runs}


BASELINE_SCRIPT = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
from dashboard.app import create_app
from dashboard.gazetteer import load_gazetteer
down = sys.argv[2].split(",")
app = create_app()
client = app.server.test_client()
key = next((k for k in app.callback_map if k.strip(".").startswith("world-map.figure")), None)
if key is None:
    sys.exit("this ref has no results callback (world-map.figure first): pick an older ref")
cb = app.callback_map[key]
df = load_gazetteer()._df.iloc[:25000]
clients = [{"lat": round(float(a), 4), "lon": round(float(b), 4), "name": str(n),
            "weight": float(w)} for a, b, n, w in zip(df.lat, df.lon, df.name + ", " +
                                                      df.country_code, df.population)]
out = []
for pid in down:
    store = {"clients": clients, "origin": "eu-central-1", "endpoint_type": "CLB", "down": [pid]}
    payload = {"output": key,
               "outputs": [{"id": p.rsplit(".", 1)[0], "property": p.rsplit(".", 1)[1]}
                           for p in key.strip(".").split("...")],
               "inputs": [{"id": d["id"], "property": d["property"], "value": store}
                          for d in cb["inputs"]],
               "state": [{"id": d["id"], "property": d["property"], "value": None}
                         for d in cb["state"]],
               "changedPropIds": ["scenario-store.data"]}
    data = json.dumps(payload)
    t0 = time.perf_counter()
    r = client.post("/_dash-update-component", data=data, content_type="application/json")
    el = time.perf_counter() - t0
    assert r.status_code == 200, r.data[:300]
    out.append({"pop": pid, "ms": 1000 * el, "bytes": len(r.data), "request_bytes": len(data)})
print("RESULT " + json.dumps(out))
"""


def measure_baseline(ref: str, pops: list[str]) -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", "archive", ref, "dashboard", "assets", "data"],
                                 cwd=ROOT, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        out = subprocess.run([sys.executable, "-c", BASELINE_SCRIPT, tmp, ",".join(pops)],
                             capture_output=True, text=True, timeout=900, cwd=tmp,
                             env={**os.environ, "PYTHONPATH": tmp})
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        raise SystemExit(f"baseline failed:\n{out.stdout}\n{out.stderr[-3000:]}")
    return json.loads(line[len("RESULT "):])


def measure_assign(pops: list[str]) -> list[float]:
    import numpy as np

    from dashboard.catalog import default_catalog
    from dashboard.domain.routing import assign
    from dashboard.gazetteer import demand_set, load_gazetteer

    cat = default_catalog()
    ds = demand_set(load_gazetteer(), "cities25k")
    times = []
    for pid in pops:
        mask = cat.pop_mask([pid])
        t0 = time.perf_counter()
        assign(ds.lats, ds.lons, np.asarray(cat.pop_lats), np.asarray(cat.pop_lons), down=mask)
        times.append(1000 * (time.perf_counter() - t0))
    return times


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5, help="what-ifs (different PoPs down)")
    ap.add_argument("--baseline-ref", default="f0d85db",
                    help="git ref of the pre-optimisation code (its results callback is measured)")
    ap.add_argument("--baseline-repeat", type=int, default=2,
                    help="what-ifs of baseline A (0: skip it, ~30 s saved)")
    args = ap.parse_args(argv)
    pops = list(DOWN_SEQUENCE[: max(1, min(args.repeat, len(DOWN_SEQUENCE)))])
    print(f"cores: {os.cpu_count()}, load average before: {os.getloadavg()[0]:.2f} "
          f"{os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    this = measure_this(len(pops))
    base_a = (measure_baseline(args.baseline_ref, pops[: args.baseline_repeat])
              if args.baseline_repeat > 0 else [])
    base_b = measure_assign(pops)
    print(f"load average after: {os.getloadavg()[0]:.2f}\n")

    def mb(b: float) -> str:
        return f"{b / 1e6:.3f} MB"

    print("this code, 25,000-city demand preset (server time in-process, payload = response "
          "bodies):")
    f = this["first"]
    print(f"  open the preset, first use in the process (builds the ranking): {f['ms']:7.1f} ms"
          f"  {mb(f['bytes'])}")
    f = this["full"]
    print(f"  full redraw (the preset's link again, ranking cached):      {f['ms']:7.1f} ms"
          f"  {mb(f['bytes'])} (gzip {mb(f['gzip'])})")
    print("  what-if = one request to the scene callback (edit toggle_pop; map as a Patch, "
          "failover plan of the moved clients included):")
    for r in this["runs"]:
        print(f"    {r['pop']} down: {r['ms']:6.1f} ms  {mb(r['bytes'])} (gzip {mb(r['gzip'])})"
              f"  {r['animated']:,} clients animated"
              f"{'' if r['patch'] else '  [NOT a patch]'}")
    med = statistics.median(r["ms"] for r in this["runs"])
    size = max(r["bytes"] for r in this["runs"])
    print(f"  median {med:.1f} ms, largest payload {mb(size)}\n")
    if base_a:
        print(f"baseline A ({args.baseline_ref}'s results callback, 25,000 clients in the "
              "store):")
        for r in base_a:
            print(f"    {r['pop']} down: {r['ms']:7.1f} ms  {mb(r['bytes'])} "
                  f"(request {mb(r['request_bytes'])})")
    med_b = statistics.median(base_b)
    print(f"baseline B (routing.assign alone, 25,000 clients): "
          f"{' '.join(f'{t:.1f}' for t in base_b)} ms, median {med_b:.1f} ms\n")
    if base_a:
        med_a = statistics.median(r["ms"] for r in base_a)
        size_a = statistics.median(r["bytes"] for r in base_a)
        print(f"ratios: time this / A = {med / med_a:.3f} ({med_a / med:.0f}x faster); "
              f"payload this / A = {size / size_a:.3f}")
    ratio = med / med_b
    print(f"ratio: time this / bare assign = {ratio:.2f}")
    ok = med <= 100 and size <= 1_000_000
    print(f"goal of issue 7 (<= 100 ms server time, <= 1 MB payload): "
          f"{'MET' if ok else 'NOT MET'}")
    ok16 = ratio <= 1.3 and size <= 1_000_000
    print(f"goal of issue 16 (<= 1.3x the bare assign in the same run, <= 1 MB payload): "
          f"{'MET' if ok16 else 'NOT MET'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
