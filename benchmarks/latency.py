"""Cross-validated accuracy of the latency model against its baselines, in one run.

    python benchmarks/latency.py PATH/TO/wonderproxy-2020-07-train.csv [--folds 5] [--seed 20200719]
        [--backbone PATH/TO/azure-interregion-p50-2026-07.csv]

Prints (fitted on training folds only): median absolute % error of the internet leg with random
20 % of city pairs held out and with whole cities held out, p25-p75 band coverage, the same for
the median-regression line and the fibre floor; with ``--backbone``, the backbone leg against
cloud inter-region RTTs with whole cloud regions held out, beside ``c + k x floor``, the fibre
floor and the previous release's backbone. A few minutes on two cores; writes nothing.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from calibration import internet as C  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("csv", type=Path)
    ap.add_argument("--backbone", type=Path, default=None,
                    help="azure-interregion-p50-2026-07.csv: also cross-validate the backbone")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=20200719)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    doc, d, pair_cv, city_cv = C.calibrate(args.csv, args.folds, args.seed, verbose=False)
    cv = doc["meta"]["cv"]
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
    if args.backbone:
        from calibration import backbone as B
        from dashboard.latency import default_params

        _, bb = B.calibrate_backbone(args.backbone, default_params())
        ho, simple = bb["held_out_region"], bb["baselines_held_out_region"]
        print(f"backbone leg vs {bb['rows']} cloud inter-region RTTs ({bb['cloud_regions']} "
              f"regions), whole regions held out: MdAPE {ho['mdape_pct']:.2f} % (goal <= 7 %), "
              f"median signed {ho['median_signed_pct']:+.2f} % (goal within 3 %), "
              f"{ho['pairs_off_over_2x']} rows off by more than 2x; c + k x floor "
              f"{simple['overhead_plus_k_x_floor']['mdape_pct']:.2f} %, fibre floor "
              f"{simple['fibre_floor']['mdape_pct']:.2f} %, previous release "
              f"{bb['previous_model']['mdape_pct']:.2f} % "
              f"({bb['previous_model']['median_signed_pct']:+.2f} %)")
    print(f"({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
