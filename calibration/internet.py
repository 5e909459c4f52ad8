"""Fit the internet leg of the latency model on the WonderProxy measurements and write
``data/latency_model.json``.

Usage (from the repository root)::

    python -m calibration internet PATH/TO/wonderproxy-2020-07-train.csv
        [--out data/latency_model.json] [--plots docs/img] [--folds 5] [--seed 20200719]

The backbone leg has its own data and fit (:mod:`calibration.backbone`): this one keeps the
backbone fields and report already in the output file.

Needs only numpy/pandas (plots need the optional ``calibration`` extra: matplotlib).
Deterministic: fixed seeds for the cross-validation splits; no randomness in the fit.

Fit: iteratively re-weighted least squares (IRLS) for the least absolute *relative* error (the
project's metric is the median absolute percentage error), with ridge penalties on the per-city
terms so cities with few rows stay near their region. Cross-validation (5 folds, fitted on the
training folds only): by unordered city pair (both directions of a pair held out together) and
with whole cities held out (their rows are predicted from the spatial interpolation of the other
cities, as for any client on the map). The measurement file is never copied into the repository.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from calibration.measurements import read_measurements
from dashboard.domain import latency as L
from dashboard.settings import DATA_DIR

#: Regions of the measured cities' countries. Every country in the file must be listed (an
#: unknown one stops the fit with its name); a point anywhere else takes its nearest city's region.
REGIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "NA": ("North America", ("United States", "Canada")),
    "CAM": ("Mexico, Central America, Caribbean",
            ("Mexico", "Guatemala", "Costa Rica", "Panama", "Puerto Rico")),
    "SAM": ("South America", ("Colombia", "Venezuela", "Ecuador", "Peru", "Brazil", "Argentina",
                              "Chile", "Uruguay", "Suriname")),
    "EUW": ("Western and Central Europe", (
        "United Kingdom", "Ireland", "Isle of Man", "Iceland", "France", "Belgium", "Netherlands",
        "Luxembourg", "Germany", "Switzerland", "Austria", "Italy", "Spain", "Portugal", "Malta",
        "Denmark", "Norway", "Sweden", "Finland", "Czech Republic", "Slovakia", "Slovenia",
        "Croatia", "Hungary", "Poland")),
    "EUE": ("Eastern Europe, Turkey, Russia, Caucasus, Central Asia", (
        "Estonia", "Latvia", "Lithuania", "Ukraine", "Moldova", "Romania", "Bulgaria", "Serbia",
        "Kosovo", "Albania", "Greece", "Turkey", "Russia", "Georgia", "Kazakhstan", "Cyprus")),
    "ME": ("Middle East and Egypt", ("Israel", "Lebanon", "Saudi Arabia", "United Arab Emirates",
                                     "Egypt")),
    "AF": ("Africa", ("Algeria", "Morocco", "Tunisia", "Ghana", "Nigeria", "Kenya", "Tanzania",
                      "Uganda", "South Africa")),
    "SAS": ("South Asia", ("India", "Pakistan", "Bangladesh")),
    "EAS": ("East Asia", ("China", "Hong Kong", "Taiwan", "Japan", "South Korea")),
    "SEA": ("Southeast Asia", ("Singapore", "Malaysia", "Thailand", "Vietnam", "Cambodia",
                               "Indonesia", "Philippines")),
    "OC": ("Oceania", ("Australia", "New Zealand")),
}

#: Ridge penalties (units: summed relative error per squared parameter unit), chosen by pair
#: cross-validation on the training file; larger = city terms pulled harder towards zero.
LAMBDA_EFFECT = 0.01      # e_i, per ms^2
LAMBDA_SLOPE = 0.03       # m_i[R], per (ms/1000 km)^2
IRLS_ITERATIONS = 15
IRLS_FLOOR = 0.005        # relative residual below which a row's L1 weight stops growing
BAND_EDGES_KM = (500.0, 1500.0, 4000.0, 8000.0, math.inf)
INTERP_RANGES_KM = (300.0, 1000.0, 3000.0, 10000.0)
REQUIRED = ("src_id", "dst_id", "src_city", "src_country", "dst_city", "dst_country", "src_lat",
            "src_lon", "dst_lat", "dst_lon", "geodesic_km", "rtt_ms_median")
DEFAULT_OUT = DATA_DIR / "latency_model.json"


# ---------------------------------------------------------------------------------- data


def load_measurements(path: Path) -> pd.DataFrame:
    """Read and check the measurement CSV; ``ValueError`` names the file and column/row."""
    return read_measurements(path, "measurements", REQUIRED,
                             ("src_lat", "src_lon", "dst_lat", "dst_lon", "geodesic_km",
                              "rtt_ms_median"), positive="rtt_ms_median")


@dataclass(frozen=True)
class Data:
    """Rows as index arrays into the city table."""

    cities: pd.DataFrame          # id, name, lat, lon, region (index into region codes)
    a: np.ndarray                 # src city row
    b: np.ndarray                 # dst city row
    km: np.ndarray
    rtt: np.ndarray
    pair: np.ndarray              # unordered pair key


def prepare(df: pd.DataFrame) -> Data:
    codes = list(REGIONS)
    region_of = {c: codes.index(r) for r, (_, cs) in REGIONS.items() for c in cs}
    src = df[["src_id", "src_city", "src_country", "src_lat", "src_lon"]].set_axis(
        ["id", "city", "country", "lat", "lon"], axis=1)
    dst = df[["dst_id", "dst_city", "dst_country", "dst_lat", "dst_lon"]].set_axis(
        ["id", "city", "country", "lat", "lon"], axis=1)
    cities = pd.concat([src, dst]).drop_duplicates("id").sort_values("id").reset_index(drop=True)
    unknown = sorted(set(cities["country"]) - set(region_of))
    if unknown:
        raise ValueError(f"country {unknown[0]!r} has no region in calibration.internet.REGIONS")
    cities["region"] = cities["country"].map(region_of).astype(int)
    cities["name"] = cities["city"] + ", " + cities["country"]
    row = {v: i for i, v in enumerate(cities["id"])}
    a = df["src_id"].map(row).to_numpy()
    b = df["dst_id"].map(row).to_numpy()
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    return Data(cities, a, b, df["geodesic_km"].to_numpy(), df["rtt_ms_median"].to_numpy(),
                lo * 100_000 + hi)


# ---------------------------------------------------------------------------------- fit


def _design(d: Data, rows: np.ndarray, n_cities: int, nr: int
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, slice]]:
    """Sparse design: per row, K column indices and values. Columns: overhead, region-pair slope
    (upper triangle), city effect e, city-to-region slope m."""
    a, b, km = d.a[rows], d.b[rows], d.km[rows] / 1000.0
    reg = d.cities["region"].to_numpy()
    ra, rb = reg[a], reg[b]
    iu, ju = np.triu_indices(nr)
    pair_col = np.full((nr, nr), -1)
    pair_col[iu, ju] = pair_col[ju, iu] = np.arange(len(iu))
    n_pair = len(iu)
    off_s, off_e = 1, 1 + n_pair
    off_m = off_e + n_cities
    p = off_m + n_cities * nr
    one = np.ones(len(rows))
    cols = np.stack([np.zeros(len(rows), int), off_s + pair_col[ra, rb], off_e + a, off_e + b,
                     off_m + a * nr + rb, off_m + b * nr + ra], axis=1)
    vals = np.stack([one, km, one, one, km, km], axis=1)
    pen = np.zeros(p)
    pen[off_e:off_m] = LAMBDA_EFFECT
    pen[off_m:] = LAMBDA_SLOPE
    blocks = {"o": slice(0, 1), "S": slice(off_s, off_e), "e": slice(off_e, off_m),
              "m": slice(off_m, p)}
    return cols, vals, pen, blocks


def fit_terms(d: Data, rows: np.ndarray) -> dict[str, np.ndarray]:
    """IRLS for min sum |rtt - pred| / rtt + ridge; returns overhead, S (R x R), e, m (N x R).

    Cities without training rows keep e = 0, m = 0 (the ridge makes the system solvable).
    """
    nr, nc = len(REGIONS), len(d.cities)
    cols, vals, pen, blocks = _design(d, rows, nc, nr)
    y = d.rtt[rows]
    p, k = len(pen), cols.shape[1]
    flat = (np.repeat(cols, k, axis=1) * p + np.tile(cols, (1, k))).ravel()
    outer = (vals[:, :, None] * vals[:, None, :]).reshape(len(y), -1)
    w = 1.0 / y ** 2
    ridge = np.diag(pen + 1e-9)
    for _ in range(IRLS_ITERATIONS):
        A = np.bincount(flat, weights=(w[:, None] * outer).ravel(), minlength=p * p).reshape(p, p)
        rhs = np.bincount(cols.ravel(), weights=(w[:, None] * vals * y[:, None]).ravel(),
                          minlength=p)
        beta = np.linalg.solve(A + ridge, rhs)
        rel = np.abs(y - (vals * beta[cols]).sum(axis=1)) / y
        w = 1.0 / (y * y * np.maximum(rel, IRLS_FLOOR))
    iu, ju = np.triu_indices(nr)
    S = np.zeros((nr, nr))
    S[iu, ju] = S[ju, iu] = beta[blocks["S"]]
    return {"overhead_ms": beta[0], "S": S, "e": beta[blocks["e"]],
            "m": beta[blocks["m"]].reshape(nc, nr)}


def make_params(d: Data, terms: dict[str, np.ndarray], keep: np.ndarray | None = None,
                **scalars: object) -> L.LatencyParams:
    """Parameters from fitted terms, restricted to the cities in ``keep`` (city-CV drops the
    held-out ones so they are predicted by interpolation, like any unmeasured point)."""
    c = d.cities
    keep = np.ones(len(c), bool) if keep is None else keep
    nb = len(BAND_EDGES_KM)
    base = dict(
        regions=tuple(REGIONS), region_slope_ms_per_1000km=terms["S"].ravel(),
        overhead_ms=float(terms["overhead_ms"]), city_names=tuple(c["name"][keep]),
        city_lats=c["lat"][keep], city_lons=c["lon"][keep], city_regions=c["region"][keep],
        city_effect_ms=terms["e"][keep], city_slope_ms_per_1000km=terms["m"][keep].ravel(),
        band_edges_km=BAND_EDGES_KM, band_p25_near=(0.9,) * nb, band_p75_near=(1.1,) * nb,
        band_p25_far=(0.85,) * nb, band_p75_far=(1.15,) * nb)
    base.update(scalars)
    return L.LatencyParams(**base)


def predict(d: Data, rows: np.ndarray, params: L.LatencyParams) -> tuple[np.ndarray, ...]:
    """(median, p25, p75) for rows, through the same code as the public functions (the distance
    comes from the file's WGS84 geodesic column, identical to ``geodesic_km``)."""
    c = d.cities
    la, lb = L._locate_both(c["lat"].to_numpy()[d.a[rows]], c["lon"].to_numpy()[d.a[rows]],
                            c["lat"].to_numpy()[d.b[rows]], c["lon"].to_numpy()[d.b[rows]], params)
    km = d.km[rows]
    mid = L._median(km, la, lb, params)
    p25, p75 = L._band(km, mid, la, lb, params)
    return mid, p25, p75


def _ratio_quartiles(km: np.ndarray, ratio: np.ndarray) -> tuple[tuple[float, ...], ...]:
    band = np.minimum(np.searchsorted(np.array(BAND_EDGES_KM), km, side="left"),
                      len(BAND_EDGES_KM) - 1)
    q25, q75 = [], []
    for i in range(len(BAND_EDGES_KM)):
        r = ratio[band == i]
        lo, hi = np.quantile(r, [0.25, 0.75]) if len(r) >= 20 else np.quantile(ratio, [0.25, 0.75])
        q25.append(float(min(lo, 1.0)))
        q75.append(float(max(hi, 1.0)))
    return tuple(q25), tuple(q75)


def folds_by_pair(d: Data, k: int, seed: int) -> np.ndarray:
    pairs = np.unique(d.pair)
    rng = np.random.default_rng(seed)
    fold_of = dict(zip(pairs, rng.permutation(len(pairs)) % k))
    return np.array([fold_of[p] for p in d.pair])


def folds_by_city(d: Data, k: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed + 1)
    return rng.permutation(len(d.cities)) % k


@dataclass
class CVResult:
    pred: np.ndarray
    p25: np.ndarray
    p75: np.ndarray
    test: np.ndarray              # rows evaluated

    def ape(self, rtt: np.ndarray) -> np.ndarray:
        return np.abs(self.pred - rtt[self.test]) / rtt[self.test]


def cv_by_pair(d: Data, k: int, seed: int, **scalars: object) -> tuple[CVResult, np.ndarray]:
    """Out-of-fold predictions with pairs held out. Band quartiles of fold f come from the
    out-of-fold ratios of the other folds (no row sets its own band)."""
    fold = folds_by_pair(d, k, seed)
    n = len(d.rtt)
    pred = np.empty(n)
    models = []
    for f in range(k):
        tr, te = np.flatnonzero(fold != f), np.flatnonzero(fold == f)
        params = make_params(d, fit_terms(d, tr), **scalars)
        pred[te] = predict(d, te, params)[0]
        models.append(params)
    ratio = d.rtt / pred
    p25, p75 = np.empty(n), np.empty(n)
    for f in range(k):
        te = np.flatnonzero(fold == f)
        q25, q75 = _ratio_quartiles(d.km[fold != f], ratio[fold != f])
        p = replace(models[f], band_p25_near=q25, band_p75_near=q75)
        _, p25[te], p75[te] = predict(d, te, p)
    return CVResult(pred, p25, p75, np.arange(n)), ratio


def cv_by_city(d: Data, k: int, seed: int, interp_ranges: Sequence[float] = (300.0,),
               **scalars: object) -> dict[float, CVResult]:
    """Whole cities held out: train on rows between training cities only; test on every row
    touching a held-out city, whose terms are interpolated from the training cities."""
    fold = folds_by_city(d, k, seed)
    out = {r: (np.empty(len(d.rtt)), []) for r in interp_ranges}
    tested = np.zeros(len(d.rtt), bool)
    for f in range(k):
        keep = fold != f
        tr = np.flatnonzero(keep[d.a] & keep[d.b])
        te = np.flatnonzero(~(keep[d.a] & keep[d.b]))
        tested[te] = True
        terms = fit_terms(d, tr)
        for r in interp_ranges:
            params = make_params(d, terms, keep, **{**scalars, "interp_range_km": r})
            out[r][0][te] = predict(d, te, params)[0]
    rows = np.flatnonzero(tested)
    return {r: CVResult(pred[rows], np.full(len(rows), np.nan), np.full(len(rows), np.nan), rows)
            for r, (pred, _) in out.items()}


# ---------------------------------------------------------------------------------- baselines


def median_line(km: np.ndarray, rtt: np.ndarray, iters: int = 50) -> tuple[float, float]:
    """Least-absolute-deviation line rtt = a + b * km (IRLS), the "median regression" baseline."""
    X = np.stack([np.ones_like(km), km], axis=1)
    w = np.ones_like(km)
    for _ in range(iters):
        beta = np.linalg.lstsq(X * np.sqrt(w)[:, None], rtt * np.sqrt(w), rcond=None)[0]
        w = 1.0 / np.maximum(np.abs(rtt - X @ beta), 1e-3)
    return float(beta[0]), float(beta[1])


def baselines(d: Data, k: int, seed: int) -> dict[str, float]:
    fold = folds_by_pair(d, k, seed)
    pred = np.empty(len(d.rtt))
    for f in range(k):
        a, b = median_line(d.km[fold != f], d.rtt[fold != f])
        pred[fold == f] = a + b * d.km[fold == f]
    floor = L.floor_rtt_ms(d.km)
    return {"median_line_mdape_pct": _pct(np.median(np.abs(pred - d.rtt) / d.rtt)),
            "floor_mdape_pct": _pct(np.median(np.abs(floor - d.rtt) / d.rtt))}


# ---------------------------------------------------------------------------------- report


def _pct(x: float) -> float:
    return round(100.0 * float(x), 2)


def breakdown(d: Data, cv: CVResult) -> dict[str, dict[str, float]]:
    """MdAPE by distance band and by region pair (pair CV)."""
    ape = cv.ape(d.rtt)
    km = d.km[cv.test]
    out: dict[str, dict[str, float]] = {"by_distance_km": {}, "by_region_pair": {}}
    lo = 0.0
    for hi in BAND_EDGES_KM:
        m = (km > lo) & (km <= hi)
        out["by_distance_km"][f"{lo:g}-{hi:g}"] = _pct(np.median(ape[m])) if m.any() else None
        lo = hi
    reg = d.cities["region"].to_numpy()
    codes = list(REGIONS)
    ra, rb = reg[d.a[cv.test]], reg[d.b[cv.test]]
    lo_r, hi_r = np.minimum(ra, rb), np.maximum(ra, rb)
    for i in range(len(codes)):
        for j in range(i, len(codes)):
            m = (lo_r == i) & (hi_r == j)
            if m.sum() >= 20:
                out["by_region_pair"][f"{codes[i]}-{codes[j]}"] = _pct(np.median(ape[m]))
    return out


def calibrate(csv: Path, k: int = 5, seed: int = 20200719, verbose: bool = True) -> tuple:
    """Run the whole calibration; returns (JSON document with parameters, provenance and CV;
    the prepared data; pair-CV and city-CV results for the plots)."""
    def log(msg: str) -> None:
        if verbose:
            print(msg, file=sys.stderr, flush=True)

    df = load_measurements(csv)
    d = prepare(df)
    log(f"{len(d.rtt)} rows, {len(d.cities)} cities")
    log("city cross-validation (chooses interp_range_km) ...")
    by_city = cv_by_city(d, k, seed, INTERP_RANGES_KM)
    city_mdape = {r: float(np.median(cv.ape(d.rtt))) for r, cv in by_city.items()}
    interp_range = min(city_mdape, key=lambda r: (city_mdape[r], r))
    city_cv = by_city[interp_range]
    city_ratio = d.rtt[city_cv.test] / city_cv.pred
    log("pair cross-validation ...")
    pair_cv, pair_ratio = cv_by_pair(d, k, seed, interp_range_km=interp_range)
    inside = (d.rtt >= pair_cv.p25) & (d.rtt <= pair_cv.p75)
    log("final fit on all rows ...")
    terms = fit_terms(d, np.arange(len(d.rtt)))
    q25n, q75n = _ratio_quartiles(d.km, pair_ratio)
    q25f, q75f = _ratio_quartiles(d.km[city_cv.test], city_ratio)
    params = make_params(d, terms, interp_range_km=interp_range,
                         band_p25_near=q25n, band_p75_near=q75n,
                         band_p25_far=q25f, band_p75_far=q75f)
    fit_ape = np.abs(predict(d, np.arange(len(d.rtt)), params)[0] - d.rtt) / d.rtt
    base = baselines(d, k, seed)
    ape_pair = pair_cv.ape(d.rtt)
    ape_city = city_cv.ape(d.rtt)
    one_side = ~((folds_by_city(d, k, seed)[d.a[city_cv.test]]
                  == folds_by_city(d, k, seed)[d.b[city_cv.test]]))
    meta = {
        "model": "dashboard.domain.latency (see docs/calibration.md)",
        "source": ("WonderProxy 'A day in the life of the Internet' pings, 19-20 July 2020, via "
                   "github.com/sm86/geo-latency-data commit 0ab28d0e (no licence stated; "
                   "attribution: WonderProxy)"),
        "fit_date": _dt.date.today().isoformat(),
        "rows": int(len(d.rtt)), "cities": int(len(d.cities)),
        "pairs": int(len(np.unique(d.pair))),
        "command": "python -m calibration internet PATH/TO/wonderproxy-2020-07-train.csv",
        "folds": k, "seed": seed,
        "lambda_effect": LAMBDA_EFFECT, "lambda_slope": LAMBDA_SLOPE,
        "cv": {
            "pair_mdape_pct": _pct(np.median(ape_pair)),
            "pair_mape_pct": _pct(np.mean(ape_pair)),
            "pair_p90_ape_pct": _pct(np.quantile(ape_pair, 0.9)),
            "pair_band_coverage_pct": _pct(np.mean(inside)),
            "pair_below_p25_pct": _pct(np.mean(d.rtt < pair_cv.p25)),
            "city_mdape_pct": _pct(np.median(ape_city)),
            "city_mdape_one_end_unseen_pct": _pct(np.median(ape_city[one_side])),
            "city_mdape_both_ends_unseen_pct": _pct(np.median(ape_city[~one_side])),
            "city_mdape_by_interp_range_km": {f"{r:g}": _pct(v) for r, v in city_mdape.items()},
            "in_sample_mdape_pct": _pct(np.median(fit_ape)),
            **base,
            **breakdown(d, pair_cv),
        },
    }
    return {"meta": meta, "params": params.to_dict()}, d, pair_cv, city_cv


def write_plots(d: Data, pair_cv: CVResult, city_cv: CVResult, doc: dict,
                folder: Path) -> list[Path]:
    """calibration_{predicted,distance,regions}.png (matplotlib: ``calibration`` extra)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    out = []
    y = d.rtt
    # 1. predicted vs measured (pair CV, out of fold)
    fig, ax = plt.subplots(figsize=(6, 6))
    ax.scatter(y, pair_cv.pred, s=1, alpha=0.15, color="tab:blue", rasterized=True)
    lim = [0, float(np.quantile(y, 0.999))]
    ax.plot(lim, lim, color="k", lw=0.8)
    ax.set(xlim=lim, ylim=lim, xlabel="measured RTT (ms)", ylabel="predicted RTT, held-out pairs (ms)",
           title=f"Internet leg, 5-fold CV by pair: MdAPE {doc['meta']['cv']['pair_mdape_pct']} %")
    out.append(folder / "calibration_predicted.png")
    fig.savefig(out[-1], dpi=110, bbox_inches="tight")
    plt.close(fig)
    # 2. error by distance (pair CV, city CV, baselines)
    edges = np.array([0, 250, 500, 1000, 1500, 2500, 4000, 6000, 8000, 11000, 20100])
    mids = (edges[1:] + edges[:-1]) / 2
    fold = folds_by_pair(d, doc["meta"]["folds"], doc["meta"]["seed"])
    line = np.empty(len(y))
    for f in range(doc["meta"]["folds"]):
        a, b = median_line(d.km[fold != f], y[fold != f])
        line[fold == f] = a + b * d.km[fold == f]
    series = {
        "model, pairs held out": (d.km, np.abs(pair_cv.pred - y) / y),
        "model, cities held out": (d.km[city_cv.test], city_cv.ape(y)),
        "median-regression line": (d.km, np.abs(line - y) / y),
        "fibre floor": (d.km, np.abs(L.floor_rtt_ms(d.km) - y) / y),
    }
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for name, (km, ape) in series.items():
        b = np.digitize(km, edges) - 1
        med = [100 * np.median(ape[b == i]) if (b == i).any() else np.nan for i in range(len(mids))]
        ax.plot(mids, med, marker="o", label=name)
    ax.set(xlabel="geodesic distance (km)", ylabel="median absolute % error", ylim=(0, 80),
           title="Internet leg error by distance (5-fold CV)")
    ax.legend()
    ax.grid(alpha=0.3)
    out.append(folder / "calibration_distance.png")
    fig.savefig(out[-1], dpi=110, bbox_inches="tight")
    plt.close(fig)
    # 3. error by region pair (pair CV) as a heat map
    codes = list(REGIONS)
    nr = len(codes)
    grid = np.full((nr, nr), np.nan)
    for key, v in doc["meta"]["cv"]["by_region_pair"].items():
        i, j = (codes.index(c) for c in key.split("-"))
        grid[i, j] = grid[j, i] = v
    fig, ax = plt.subplots(figsize=(7.5, 6.5))
    im = ax.imshow(grid, cmap="viridis_r", vmin=0, vmax=30)
    ax.set_xticks(range(nr), codes, rotation=45)
    ax.set_yticks(range(nr), codes)
    for i in range(nr):
        for j in range(nr):
            if np.isfinite(grid[i, j]):
                ax.text(j, i, f"{grid[i, j]:.0f}", ha="center", va="center", fontsize=7,
                        color="w" if grid[i, j] > 15 else "k")
    fig.colorbar(im, ax=ax, label="median absolute % error (pairs held out)")
    ax.set_title("Internet leg error by region pair (5-fold CV by pair)")
    out.append(folder / "calibration_regions.png")
    fig.savefig(out[-1], dpi=110, bbox_inches="tight")
    plt.close(fig)
    return out


def _json_params(p: dict) -> dict:
    return {k: (tuple(float("inf") if x == "inf" else x for x in v) if isinstance(v, list) else v)
            for k, v in p.items()}


def write_model(doc: dict, out: Path) -> None:
    """Write ``doc``, keeping the backbone and access fields and reports of an existing file at
    ``out`` (they come from :mod:`calibration.backbone` and :mod:`calibration.access`)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists():
        old = json.loads(out.read_text())
        for key, value in old.get("params", {}).items():
            if key.startswith(("backbone_", "access")):
                doc["params"][key] = value
        for key in ("backbone", "access"):
            if key in old.get("meta", {}):
                doc["meta"][key] = old["meta"][key]
    text = json.dumps(doc, indent=1, allow_nan=False)
    out.write_text(text + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m calibration internet", description=__doc__.split(
        "\n\n")[0])
    ap.add_argument("csv", type=Path, help="wonderproxy-2020-07-train.csv")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--plots", type=Path, default=None,
                    help="folder for calibration_*.png (needs matplotlib: the calibration extra)")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=20200719)
    args = ap.parse_args(argv)
    try:
        doc, d, pair_cv, city_cv = calibrate(args.csv, args.folds, args.seed)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    write_model(doc, args.out)
    print(json.dumps(doc["meta"]["cv"], indent=1))
    print(f"wrote {args.out}")
    if args.plots:
        for p in write_plots(d, pair_cv, city_cv, doc, args.plots):
            print(f"wrote {p}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
