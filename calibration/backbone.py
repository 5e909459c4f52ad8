"""Fit the backbone leg (PoP -> origin) on published cloud inter-region RTTs.

Usage (from the repository root)::

    python -m calibration backbone ../shared/data/latency/azure-interregion-p50-2026-07.csv \\
        [--params data/latency_model.json] [--dry-run]

Data: Microsoft's "Azure network round-trip latency statistics" (monthly P50 between Azure
regions, 30 days ending 2026-07-30; CC BY 4.0, attribution: Microsoft), measured across
Microsoft's own backbone -- the same kind of leg as an access point to an origin region on the
provider's backbone. The file is read where it lies and never copied into the repository; only
the fitted terms and their validation figures are written to the parameter file.

Model (``dashboard.domain.latency``, module docstring)::

    rtt = max(route_factor * floor(d),
              c + s * exp(-d / 500 km) + stretch(R(a), R(b)) * floor(d) + share * internet(a, b))
    stretch = k + r[R(a)] + r[R(b)] + P[R(a), R(b)]          (P symmetric)
    internet(a, b) = the internet leg's distance term (S + m slopes x d), its location geography

Fit: least absolute *relative* error (the project's metric is the median absolute percentage
error), by iteratively re-weighted least squares, with a ridge penalty ``lambda`` on ``r`` and
``P`` (they shrink towards the global ``k``). ``lambda`` is chosen by cross-validation with whole
cloud regions held out (every pair touching the held-out region is predicted by a fit that never
saw it), and the same cross-validation is reported: MdAPE, median signed error, by distance band,
the worst pairs. Deterministic (no random splits).
"""

from __future__ import annotations

import datetime as _dt
import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from calibration.measurements import read_measurements
from dashboard.domain import latency as L
from dashboard.domain.geodesy import geodesic_km

REQUIRED = ("src_city", "src_lat", "src_lon", "dst_city", "dst_lat", "dst_lon", "rtt_ms",
            "src_region", "dst_region")
#: Ridge penalties tried, relative to the mean IRLS weight per row (dimensionless).
LAMBDAS = (0.01, 0.03, 0.1, 0.3)
SHORT_KM = 500.0
IRLS_ITERATIONS = 40
IRLS_FLOOR = 0.001
BANDS_KM = (0.0, 1000.0, 3000.0, 6000.0, 10000.0, math.inf)
SOURCE = ("Microsoft Azure network round-trip latency statistics, monthly P50 between regions, "
          "30 days ending 2026-07-30 (MicrosoftDocs/azure-docs, "
          "articles/networking/azure-network-latency.md; CC BY 4.0, attribution: Microsoft)")


def load_cloud_rtts(path: Path) -> pd.DataFrame:
    """Read and check the inter-region CSV; ``ValueError`` names the file, row and column.
    Adds ``km`` (WGS84 geodesic)."""
    df = read_measurements(path, "inter-region RTTs", REQUIRED,
                           ("src_lat", "src_lon", "dst_lat", "dst_lon", "rtt_ms"),
                           positive="rtt_ms")
    df["km"] = geodesic_km(df["src_lat"].to_numpy(), df["src_lon"].to_numpy(),
                           df["dst_lat"].to_numpy(), df["dst_lon"].to_numpy())
    return df.reset_index(drop=True)


def _terms(df: pd.DataFrame, params: L.LatencyParams) -> tuple[np.ndarray, np.ndarray,
                                                                np.ndarray]:
    """(region of each source, of each destination, the internet leg's distance term in ms)."""
    la, lb = L._locate_both(df["src_lat"].to_numpy(), df["src_lon"].to_numpy(),
                            df["dst_lat"].to_numpy(), df["dst_lon"].to_numpy(), params)
    rows = np.arange(len(df))
    slope = (params._arr["S"][la.region, lb.region] + la.slope_ms_per_1000km[rows, lb.region]
             + lb.slope_ms_per_1000km[rows, la.region])
    return la.region, lb.region, slope * df["km"].to_numpy() / 1000.0


#: Columns of :func:`design` that are not penalised: c, s, k, share.
FREE = 4


def design(km: np.ndarray, ra: np.ndarray, rb: np.ndarray, nr: int,
           internet_term: np.ndarray) -> np.ndarray:
    """Columns: c, s (short-path), k, share (the internet distance term, ms), r[0..nr),
    P[i<=j] -- each stretch term a multiple of the row's floor."""
    n = len(km)
    floor = L.floor_rtt_ms(km)
    cols = [np.ones(n), np.exp(-km / SHORT_KM), floor, internet_term]
    reg = np.zeros((n, nr))
    np.add.at(reg, (np.arange(n), ra), floor)
    np.add.at(reg, (np.arange(n), rb), floor)
    pairs = [(i, j) for i in range(nr) for j in range(i, nr)]
    index = {p: k for k, p in enumerate(pairs)}
    lo, hi = np.minimum(ra, rb), np.maximum(ra, rb)
    pair = np.zeros((n, len(pairs)))
    pair[np.arange(n), [index[(int(a), int(b))] for a, b in zip(lo, hi)]] = floor
    return np.concatenate([np.stack(cols, 1), reg, pair], axis=1)


def fit(X: np.ndarray, y: np.ndarray, lam: float, n_free: int = FREE) -> np.ndarray:
    """IRLS for the least sum of |y - Xb| / y, with a ridge penalty on the region and pair
    stretch terms (columns ``n_free`` on) of ``lam`` x n x the mean IRLS weight (so ``lam`` does
    not depend on the number of rows or the RTT scale); the first ``n_free`` columns are free."""
    n, m = X.shape
    free = np.zeros(m)
    free[n_free:] = 1.0
    b = np.linalg.lstsq(X / y[:, None], np.ones(n), rcond=None)[0]
    for _ in range(IRLS_ITERATIONS):
        rel = np.abs(X @ b - y) / y
        w = 1.0 / (y * y * np.maximum(rel, IRLS_FLOOR))
        A = X.T @ (X * w[:, None]) + np.diag(free) * (lam * w.mean() * n)
        b_new = np.linalg.solve(A, X.T @ (w * y))
        done = np.max(np.abs(b_new - b)) < 1e-6
        b = b_new
        if done:
            break
    return b


def to_params(b: np.ndarray, params: L.LatencyParams) -> L.LatencyParams:
    """The fitted coefficients as the backbone fields of ``params``."""
    nr = len(params.regions)
    r = b[FREE:FREE + nr]
    P = np.zeros((nr, nr))
    k = FREE + nr
    for i in range(nr):
        for j in range(i, nr):
            P[i, j] = P[j, i] = b[k]
            k += 1
    return replace(params, backbone_overhead_ms=round(float(b[0]), 4),
                   backbone_short_ms=round(float(b[1]), 4), backbone_short_km=SHORT_KM,
                   backbone_stretch=round(float(b[2]), 5), backbone_share=round(float(b[3]), 5),
                   backbone_region_stretch=tuple(round(float(v), 5) for v in r),
                   backbone_pair_stretch=tuple(round(float(v), 5) for v in P.ravel()),
                   backbone_scale=1.0)


def cv_by_region(df: pd.DataFrame, X: np.ndarray, lam: float) -> np.ndarray:
    """Out-of-fold predictions with each cloud region held out in turn (a pair is predicted by
    the fits that held out either of its ends; the two predictions are averaged)."""
    y = df["rtt_ms"].to_numpy()
    total = np.zeros(len(y))
    count = np.zeros(len(y))
    for g in sorted(set(df["src_region"]) | set(df["dst_region"])):
        test = ((df["src_region"] == g) | (df["dst_region"] == g)).to_numpy()
        b = fit(X[~test], y[~test], lam)
        total[test] += X[test] @ b
        count[test] += 1
    return total / count


def _floor_guard(pred: np.ndarray, km: np.ndarray, params: L.LatencyParams) -> np.ndarray:
    return np.maximum(pred, params.backbone_route_factor * L.floor_rtt_ms(km))


def errors(pred: np.ndarray, df: pd.DataFrame) -> dict[str, Any]:
    """MdAPE, median signed error, by distance band, share off by more than 2x, worst pairs."""
    y = df["rtt_ms"].to_numpy()
    km = df["km"].to_numpy()
    e = (pred - y) / y
    ratio = np.maximum(pred / y, y / pred)
    out: dict[str, Any] = {
        "mdape_pct": _pct(np.median(np.abs(e))), "median_signed_pct": _pct(np.median(e)),
        "p90_ape_pct": _pct(np.quantile(np.abs(e), 0.9)),
        "pairs_off_over_2x": int((ratio > 2).sum()), "max_ratio": round(float(ratio.max()), 2),
        "by_distance_km": {},
    }
    for lo, hi in zip(BANDS_KM, BANDS_KM[1:]):
        m = (km > lo) & (km <= hi)
        if m.any():
            out["by_distance_km"][f"{lo:g}-{hi:g}"] = {
                "rows": int(m.sum()), "mdape_pct": _pct(np.median(np.abs(e[m]))),
                "median_signed_pct": _pct(np.median(e[m]))}
    worst = np.argsort(-ratio)[:10:2]  # both directions of a pair are adjacent: every other
    out["worst_pairs"] = [
        {"pair": f"{df['src_region'][i]} - {df['dst_region'][i]}", "km": round(float(km[i])),
         "measured_ms": float(y[i]), "model_ms": round(float(pred[i]), 1)} for i in worst]
    return out


#: The backbone of the previous release (fitted on 27 RTTs written down from memory):
#: ``2.5 + max(0.87 x the internet leg's distance slope x d, floor(d))``.
PREVIOUS = {"backbone_overhead_ms": 2.5, "backbone_share": 0.87, "backbone_route_factor": 1.0}


def previous_backbone_ms(df: pd.DataFrame, params: L.LatencyParams) -> np.ndarray:
    """The previous release's backbone formula on these rows, for the report."""
    km = df["km"].to_numpy()
    la, lb = L._locate_both(df["src_lat"].to_numpy(), df["src_lon"].to_numpy(),
                            df["dst_lat"].to_numpy(), df["dst_lon"].to_numpy(), params)
    rows = np.arange(len(km))
    slope = (params._arr["S"][la.region, lb.region] + la.slope_ms_per_1000km[rows, lb.region]
             + lb.slope_ms_per_1000km[rows, la.region])
    floor = L.floor_rtt_ms(km)
    return PREVIOUS["backbone_overhead_ms"] + np.maximum(
        PREVIOUS["backbone_share"] * slope * km / 1000.0,
        PREVIOUS["backbone_route_factor"] * floor)


def _pct(x: float) -> float:
    return round(100.0 * float(x), 2)


def calibrate_backbone(csv: Path, params: L.LatencyParams) -> tuple[L.LatencyParams, dict]:
    """Choose ``lambda`` by region-held-out CV, fit on all rows; returns the new parameters and
    the report that goes to ``meta.backbone`` of the parameter file."""
    df = load_cloud_rtts(csv)
    y = df["rtt_ms"].to_numpy()
    km = df["km"].to_numpy()
    ra, rb, internet_term = _terms(df, params)
    nr = len(params.regions)
    X = design(km, ra, rb, nr, internet_term)
    cv = {lam: _floor_guard(cv_by_region(df, X, lam), km, params) for lam in LAMBDAS}
    score = {lam: float(np.median(np.abs(p - y) / y)) for lam, p in cv.items()}
    lam = min(score, key=lambda v: (round(score[v], 5), -v))  # ties: the smoother fit
    fitted = to_params(fit(X, y, lam), params)
    in_sample = L._backbone(km, *L._locate_both(df["src_lat"].to_numpy(), df["src_lon"].to_numpy(),
                                                df["dst_lat"].to_numpy(), df["dst_lon"].to_numpy(),
                                                fitted), fitted)
    # The simplest alternative, fitted the same way and held out the same way: c + k x floor.
    simple = X[:, [0, 2]]
    simple_cv = np.zeros(len(y))
    count = np.zeros(len(y))
    for g in sorted(set(df["src_region"]) | set(df["dst_region"])):
        test = ((df["src_region"] == g) | (df["dst_region"] == g)).to_numpy()
        simple_cv[test] += simple[test] @ fit(simple[~test], y[~test], 0.0, n_free=2)
        count[test] += 1
    simple_cv = _floor_guard(simple_cv / count, km, params)
    previous = previous_backbone_ms(df, params)
    report = {
        "source": SOURCE,
        "command": "python -m calibration backbone PATH/TO/azure-interregion-p50-2026-07.csv",
        "fit_date": _dt.date.today().isoformat(),
        "rows": int(len(y)), "cloud_regions": int(len(set(df["src_region"]) | set(df["dst_region"]))),
        "lambda": lam, "lambda_cv_mdape_pct": {f"{v:g}": _pct(s) for v, s in score.items()},
        "held_out_region": errors(cv[lam], df),
        "in_sample": errors(in_sample, df),
        "baselines_held_out_region": {
            "overhead_plus_k_x_floor": errors(simple_cv, df),
            "fibre_floor": errors(L.floor_rtt_ms(km), df),
        },
        "previous_model": errors(previous, df),
    }
    return fitted, report


def update_params_file(path: Path, params: L.LatencyParams, report: dict) -> None:
    """Write the backbone fields and ``meta.backbone`` into the parameter file at ``path``,
    keeping everything else (the internet leg's fit and its report)."""
    doc = json.loads(path.read_text())
    for key, value in params.to_dict().items():
        if key.startswith("backbone_"):
            doc["params"][key] = value
    doc.setdefault("meta", {})["backbone"] = report
    path.write_text(json.dumps(doc, indent=1, allow_nan=False) + "\n")


def write_plot(csv: Path, params: L.LatencyParams, report: dict, folder: Path) -> Path:
    """``calibration_backbone.png``: measured vs modelled (whole regions held out, this model
    and the previous release), and the error by distance band (matplotlib: ``calibration``
    extra). Re-runs the region-held-out fits at the chosen ``lambda``."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    df = load_cloud_rtts(csv)
    y = df["rtt_ms"].to_numpy()
    km = df["km"].to_numpy()
    ra, rb, internet_term = _terms(df, params)
    X = design(km, ra, rb, len(params.regions), internet_term)
    held_out = _floor_guard(cv_by_region(df, X, report["lambda"]), km, params)
    previous = previous_backbone_ms(df, params)
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(12, 5.5))
    ax.scatter(y, previous, s=4, alpha=0.35, color="tab:gray", label="previous release")
    ax.scatter(y, held_out, s=4, alpha=0.5, color="tab:orange",
               label="this model, region held out")
    lim = [0, 1.05 * float(max(y.max(), held_out.max()))]
    ax.plot(lim, lim, color="k", lw=0.8)
    ax.set(xlim=lim, ylim=lim, xlabel="Azure inter-region RTT, P50 (ms)",
           ylabel="backbone model (ms)",
           title=f"Backbone leg, whole cloud regions held out: MdAPE "
                 f"{report['held_out_region']['mdape_pct']} %")
    ax.legend(loc="upper left")
    edges = np.array([0, 500, 1000, 2000, 3000, 4500, 6000, 8000, 10000, 13000, 20100])
    mids = (edges[1:] + edges[:-1]) / 2
    band = np.digitize(km, edges) - 1
    for name, pred, colour in (("this model, region held out", held_out, "tab:orange"),
                               ("previous release", previous, "tab:gray")):
        e = (pred - y) / y
        med = [100 * np.median(np.abs(e[band == i])) if (band == i).any() else np.nan
               for i in range(len(mids))]
        sgn = [100 * np.median(e[band == i]) if (band == i).any() else np.nan
               for i in range(len(mids))]
        bx.plot(mids, med, marker="o", color=colour, label=f"{name}: median abs % error")
        bx.plot(mids, sgn, marker="x", ls="--", color=colour, label=f"{name}: median signed %")
    bx.axhline(0, color="k", lw=0.6)
    bx.set(xlabel="geodesic distance (km)", ylabel="%", title="Backbone error by distance")
    bx.grid(alpha=0.3)
    bx.legend(fontsize=8)
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / "calibration_backbone.png"
    fig.savefig(out, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return out
