"""``python -m calibration {internet,backbone,catchment,access} ...``: see :mod:`calibration`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

from dashboard.settings import DATA_DIR

DEFAULT_PARAMS = DATA_DIR / "latency_model.json"


def _backbone(argv: Sequence[str]) -> int:
    from calibration import backbone
    from dashboard.domain.latency import params_from_dict

    ap = argparse.ArgumentParser(prog="python -m calibration backbone",
                                 description=backbone.__doc__.split("\n\n")[0])
    ap.add_argument("csv", type=Path, help="azure-interregion-p50-2026-07.csv")
    ap.add_argument("--params", type=Path, default=DEFAULT_PARAMS,
                    help="parameter file to update (its internet-leg fit is kept)")
    ap.add_argument("--dry-run", action="store_true", help="print the report, write nothing")
    ap.add_argument("--plots", type=Path, default=None,
                    help="folder for calibration_backbone.png (matplotlib: the calibration extra)")
    args = ap.parse_args(argv)
    try:
        doc = json.loads(args.params.read_text())
        body = {k: (tuple(float("inf") if x == "inf" else x for x in v) if isinstance(v, list)
                    else v)
                for k, v in doc["params"].items()}
        params = params_from_dict(body)
        fitted, report = backbone.calibrate_backbone(args.csv, params)
    except (OSError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=1))
    if not args.dry_run:
        backbone.update_params_file(args.params, fitted, report)
        print(f"wrote {args.params}")
    if args.plots:
        print(f"wrote {backbone.write_plot(args.csv, params, report, args.plots)}")
    return 0


def _catchment(argv: Sequence[str]) -> int:
    from calibration import catchment

    ap = argparse.ArgumentParser(prog="python -m calibration catchment",
                                 description=catchment.__doc__.split("\n\n")[0])
    ap.add_argument("catchments", type=Path, help="anycast-catchments-f-i-root-2015.csv")
    ap.add_argument("sites", type=Path, help="anycast-sites-f-i-root-2015.csv")
    ap.add_argument("--out", type=Path, default=catchment.DEFAULT_OUT,
                    help="model file to write (default data/catchment_model.json)")
    ap.add_argument("--dry-run", action="store_true", help="print the report, write nothing")
    ap.add_argument("--variants", action="store_true",
                    help="print the held-out figures of every variant tried "
                         "(calibration.catchment.VARIANTS) and write nothing")
    args = ap.parse_args(argv)
    if args.variants:
        try:
            table = catchment.variant_table(catchment.read(args.catchments, args.sites))
        except (OSError, ValueError, KeyError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(json.dumps(table, indent=1))
        return 0
    try:
        doc = catchment.calibrate(args.catchments, args.sites)
    except (OSError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({"params": doc["params"], "in_sample": doc["meta"]["in_sample"],
                      "cv": doc["meta"]["cv"], "goals": doc["meta"]["goals"]}, indent=1))
    if not args.dry_run:
        catchment.write(doc, args.out)
        print(f"wrote {args.out}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in ("internet", "backbone", "catchment", "access"):
        print(__import__("calibration").__doc__, file=sys.stderr)
        return 2
    if argv[0] == "internet":
        from calibration import internet
        return internet.main(argv[1:])
    if argv[0] == "catchment":
        return _catchment(argv[1:])
    if argv[0] == "access":
        from calibration import access
        return access.main(argv[1:])
    return _backbone(argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
