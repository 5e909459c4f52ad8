#!/usr/bin/env python3
"""Issue 14: what the routing policy and the flags cost on the 25,000-client what-if.

    python benchmarks/policy_whatif.py --baseline 0a49e91      # this checkout vs that commit

The server work of one what-if through the one round trip, in-process, for the
``clientset=cities25k`` preset (origin eu-central-1): ``services.events.scenario_event`` with a
``toggle_pop`` edit (a PoP marked down) followed by ``callbacks.scene.scene_outputs`` (route
tables, the failover transition and animation plan, the map Patch, table, key numbers, CDF,
panels) and the JSON encoding of every output, as Dash does it. The page's previous routing
state and map base are those of the preset's first load, so each what-if animates and patches.
Each code version runs in its own subprocess (``git archive`` of ``--baseline`` into a
temporary directory), alternating, ``--rounds`` times; ``--pops`` what-ifs per round. The median
per code version and the ratio this / baseline are printed (load average too: 2 shared cores).

``benchmarks/whatif.py`` (issue 7) drives the pre-scene callbacks and no longer runs on this
architecture; this script measures the same what-if through the current round trip.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POPS = ("FRA", "HKG", "IAD", "SIN", "LHR", "NRT", "SJC", "GRU", "SYD", "BOM")

SCRIPT = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
import plotly
from dashboard import ids
from dashboard.callbacks import scene
from dashboard.catalog import default_catalog
from dashboard.services import events
from dashboard.settings import Settings

pops = sys.argv[2].split(",")
policy = sys.argv[3] if len(sys.argv) > 3 else ""
cat = default_catalog()
settings = Settings()
pill_ids = list(cat.pop_ids)


def encode(out):
    return json.dumps(out, cls=plotly.utils.PlotlyJSONEncoder,
                      default=lambda o: o.to_plotly_json() if hasattr(o, "to_plotly_json")
                      else None)


def pick(out, cid, prop):
    return out[[(o.component_id, o.component_property) for o in scene.OUTPUTS].index((cid, prop))]


query = "?clientset=cities25k&origin=eu-central-1" + (f"&policy={policy}" if policy else "")
t0 = time.perf_counter()
ev = events.scenario_event(events.PAGE_LOAD, query, None, None, None, None, cat, settings)
out = scene.scene_outputs(ev, scene.PageState(), pill_ids, cat)
encode(out)
first = time.perf_counter() - t0
store = ev.store
prev = pick(out, ids.FAILOVER_PREV, "data")
base = pick(out, ids.MAP_BASE, "data")
times, sizes = [], []
for i, pid in enumerate(pops):
    t0 = time.perf_counter()
    ev = events.scenario_event(events.EDIT, query, {"op": "toggle_pop", "pop": pid, "nonce": i},
                               "eu-central-1", "CLB", store, cat, settings)
    out = scene.scene_outputs(ev, scene.PageState(prev=prev, base=base), pill_ids, cat)
    body = encode(out)
    times.append(1000 * (time.perf_counter() - t0))
    sizes.append(len(body))
print("RESULT " + json.dumps({"first_ms": 1000 * first, "ms": times, "bytes": sizes}))
"""


def run(code_dir: Path, pops: list[str], policy: str = "") -> dict:
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(code_dir), ",".join(pops), policy],
                         capture_output=True, text=True, timeout=900, cwd=code_dir,
                         env={**os.environ, "PYTHONPATH": str(code_dir)})
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        raise SystemExit(f"run in {code_dir} failed:\n{out.stdout}\n{out.stderr[-3000:]}")
    return json.loads(line[len("RESULT "):])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--baseline", required=True, help="git revision to compare with")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--pops", type=int, default=len(POPS))
    args = ap.parse_args(argv)
    pops = list(POPS[: args.pops])
    print(f"cores: {os.cpu_count()}, load average before: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", "archive", args.baseline, "dashboard", "assets", "data"],
                                 cwd=ROOT, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        res: dict[str, list[dict]] = {"baseline": [], "this": [], "this, network": []}
        for _ in range(args.rounds):
            res["baseline"].append(run(Path(tmp), pops))
            res["this"].append(run(ROOT, pops))
            res["this, network"].append(run(ROOT, pops, "network"))
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    med = {}
    for name, runs in res.items():
        ms = [t for r in runs for t in r["ms"]]
        med[name] = statistics.median(ms)
        first = statistics.median(r["first_ms"] for r in runs)
        size = statistics.median(b for r in runs for b in r["bytes"])
        print(f"{name:>14}: what-if median {med[name]:7.1f} ms over {len(ms)} "
              f"(min {min(ms):6.1f}); first load {first:7.0f} ms; response {size / 1e6:.3f} MB")
    ratio = med["this"] / med["baseline"]
    print(f"ratio this / baseline = {ratio:.3f} (geographic, flags included); "
          f"network / baseline = {med['this, network'] / med['baseline']:.3f}")
    print(f"goal (< 1.20): {'MET' if ratio < 1.2 else 'NOT MET'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
