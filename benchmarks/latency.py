"""Cross-validated accuracy of the latency model against its baselines, in one run.

    python benchmarks/latency.py PATH/TO/wonderproxy-2020-07-train.csv [--folds 5] [--seed 20200719]

Prints (fitted on training folds only): median absolute % error of the internet leg with random
20 % of city pairs held out and with whole cities held out, p25-p75 band coverage, the same for
the median-regression line and the fibre floor, and the backbone leg against the reference cloud
inter-region RTTs (leave-one-out). Takes about a minute on two cores; writes nothing.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dashboard import calibrate as C  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("csv", type=Path)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=20200719)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    doc, d, pair_cv, city_cv = C.calibrate(args.csv, args.folds, args.seed, verbose=False)
    cv, bb = doc["meta"]["cv"], doc["meta"]["backbone"]
    width = np.median(pair_cv.p75 / pair_cv.p25)
    print(f"rows {doc['meta']['rows']}, cities {doc['meta']['cities']}, "
          f"{args.folds}-fold CV, seed {args.seed}")
    print("internet leg, median absolute % error (lower is better; goal <= 8 %):")
    print(f"  model, pairs held out          {cv['pair_mdape_pct']:6.2f} %"
          f"   (mean {cv['pair_mape_pct']:.2f} %, p90 {cv['pair_p90_ape_pct']:.2f} %)")
    print(f"  model, whole cities held out   {cv['city_mdape_pct']:6.2f} %"
          f"   (one end unseen {cv['city_mdape_one_end_unseen_pct']:.2f} %, both "
          f"{cv['city_mdape_both_ends_unseen_pct']:.2f} %)")
    print(f"  median-regression line         {cv['median_line_mdape_pct']:6.2f} %")
    print(f"  fibre floor 2d/204             {cv['floor_mdape_pct']:6.2f} %")
    print(f"  ratio line / model             {cv['median_line_mdape_pct'] / cv['pair_mdape_pct']:6.2f} x")
    print(f"p25-p75 band coverage, pairs held out: {cv['pair_band_coverage_pct']:.2f} % "
          f"(goal 45-60 %; below p25 {cv['pair_below_p25_pct']:.2f} %; median p75/p25 {width:.2f})")
    print("by distance (km):", ", ".join(f"{k} {v} %" for k, v in cv["by_distance_km"].items()))
    print(f"backbone leg vs {bb['n_pairs']} reference cloud RTTs: leave-one-out "
          f"{bb['loo_mdape_pct']:.2f} %, in-sample {bb['fit_mdape_pct']:.2f} %, "
          f"o + f x floor {bb['overhead_plus_factor_x_floor_mdape_pct']:.2f} %, "
          f"floor {bb['floor_only_mdape_pct']:.2f} %")
    print(f"({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
