#!/usr/bin/env python3
"""Issue 20.2: ranking candidate PoP sites against the world demand, vectorised vs naive.

    python benchmarks/siting.py                          # 1,000 metros, both policies
    python benchmarks/siting.py --candidates 500 --sample 6 --policy network
    python benchmarks/siting.py --bias FRA:+20,LHR:-10        # a biased scenario

The demand is the capacity view's population demand: all 34,006 gazetteer cities weighted by
population; PoPs the catalog's, origin eu-central-1, end-user clients. Candidates: the
gazetteer's largest cities outside the Chinese mainland (``services.siting.metro_candidates``).

* **vectorised**: :func:`dashboard.domain.siting.rank_sites` -- every candidate ranked alone
  (gain, movers, p95 for the top 10) and the greedy best 3 -- from the current routing (its
  time, one ``paths.client_paths`` of the demand, is reported apart and included in "total").
* **naive baseline**: what the ranking replaces -- for each candidate, append it to the PoP
  arrays and route every demand point again through the normal routing
  (``paths.client_paths``), then take the weighted mean. Timed on ``--sample`` candidates
  spread over the list and extrapolated to all of them (linear: each candidate costs the same
  full routing). The sampled candidates' means are also compared with the vectorised ones.

``--bias`` (docs/bias.md): the current routing and the naive one-at-a-time routings both use
the announcement bias (bound to the PoP list, the candidate unbiased), as the page does.

Prints wall seconds and CPU seconds of this process (``time.process_time``: what the work
costs, whatever else the 2 shared cores run), the ratio naive / vectorised (one run, same
process, same load), the machine's load average and the peak resident memory.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from dashboard.catalog import default_catalog  # noqa: E402
from dashboard.domain import latency as lat_core  # noqa: E402
from dashboard.domain import paths, siting  # noqa: E402
from dashboard.domain import bias as bias_core  # noqa: E402
from dashboard.domain.policy import pop_bias  # noqa: E402
from dashboard.latency import params_with  # noqa: E402
from dashboard.services.capacity import population_demand  # noqa: E402
from dashboard.services.siting import metro_candidates  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--candidates", type=int, default=1000)
    ap.add_argument("--sample", type=int, default=4,
                    help="candidates the naive baseline routes (extrapolated)")
    ap.add_argument("--policy", choices=("geographic", "network", "both"), default="both")
    ap.add_argument("--bias", default="", help="announcement bias, e.g. FRA:+20,LHR:-10")
    args = ap.parse_args()
    cat = default_catalog()
    bias = bias_core.parse_text(args.bias, cat.pop_ids)
    demand = population_demand()
    cla, clo, w = demand.lats, demand.lons, demand.gbps
    o = cat.origin("eu-central-1")
    origin = (float(o["lat"]), float(o["lon"]))
    params = params_with((), "end-user")
    cands = metro_candidates(args.candidates)
    print(f"demand points: {len(cla):,}; candidates: {len(cands):,}; PoPs: "
          f"{len(cat.pop_ids)}; bias: {bias_core.describe(bias) or 'none'}; load average "
          f"before: {os.getloadavg()[0]:.2f}")
    pb = pop_bias(bias, cat.pop_ids, params)
    pb_new = pop_bias(bias, list(cat.pop_ids) + ["NEW"], params)
    policies = ("geographic", "network") if args.policy == "both" else (args.policy,)
    for policy in policies:
        t0, c0 = time.perf_counter(), time.process_time()
        table = paths.client_paths(cla, clo, cat.pop_ids, cat.pop_lats, cat.pop_lons, *origin,
                                   params=params, direct_origin=origin, policy=policy,
                                   bias=pb)
        current = siting.from_table(table, pb, cat.pop_ids)
        t_route = time.perf_counter() - t0
        t1 = time.perf_counter()
        terms = lat_core.locate(cla, clo, params)
        sites = siting.prepare_sites(cands.lats, cands.lons, *origin, params)
        r = siting.rank_sites(cla, clo, w, current, sites, params, policy, terms=terms,
                              top=10, greedy=3)
        t_rank = time.perf_counter() - t1
        total = t_route + t_rank
        cpu_total = time.process_time() - c0
        sample = np.linspace(0, len(cands) - 1, max(1, args.sample)).round().astype(int)
        t2, c2 = time.perf_counter(), time.process_time()
        worst = 0.0
        for c in sample:
            tab = paths.client_paths(cla, clo, list(cat.pop_ids) + ["NEW"],
                                     np.append(cat.pop_lats, cands.lats[c]),
                                     np.append(cat.pop_lons, cands.lons[c]), *origin,
                                     params=params, direct_origin=origin, policy=policy,
                                     bias=pb_new)
            ok = tab["served"].to_numpy()
            mean = float(np.average(tab["anycast_ms"][ok], weights=w[ok]))
            worst = max(worst, abs(mean - r.gains.mean_after_ms[c]))
        t_naive_each = (time.perf_counter() - t2) / len(sample)
        cpu_naive = (time.process_time() - c2) / len(sample) * len(cands)
        t_naive = t_naive_each * len(cands)
        best = [cands.names[int(c)] for c in r.order[:3]]
        print(f"\n[{policy}]")
        print(f"  current routing (client_paths):      {t_route:7.2f} s")
        print(f"  vectorised ranking + greedy 3:       {t_rank:7.2f} s   (total {total:.2f} s)")
        print(f"  naive, one routing per candidate:    {t_naive_each:7.2f} s each x "
              f"{len(cands):,} = {t_naive:,.0f} s (extrapolated from {len(sample)})")
        print(f"  ratio naive / vectorised total:      {t_naive / total:7.0f} x")
        print(f"  CPU seconds: vectorised total {cpu_total:.2f} s, naive {cpu_naive:,.0f} s "
              f"(ratio {cpu_naive / cpu_total:.0f} x)")
        print(f"  largest |mean difference| on sample: {worst:.2e} ms")
        print(f"  best 3: {', '.join(best)}; greedy: "
              f"{', '.join(cands.names[c] for c in r.greedy)} "
              f"(-{r.greedy_gain_ms[-1]:.2f} ms mean)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak resident memory: {peak:,.0f} MB; load average after: "
          f"{os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
