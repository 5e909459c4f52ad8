"""Fit the end-user access-network term of the internet leg on RTTs measured from real access
networks, and validate it with whole services and whole countries held out.

Usage (from the repository root)::

    python -m calibration access ../shared/data/catchment/anycast-catchments-f-i-root-2015.csv \\
        [--params data/latency_model.json] [--dry-run]

Data: the ground truth shipped with iGreedy (Cicalese, Joumblatt, Rossi, Buob, Auge, Friedman,
"Latency-Based Anycast Geolocation: Algorithms, Software, and Data Sets", IEEE JSAC 2016; no
licence stated, attribution: the authors): for F-root and I-root, vantage points with known
locations, the anycast site each one reached and the minimum of 10 RTTs to it (2015). RIPE Atlas
probes sit in homes and offices (end-user access: the fit); PlanetLab nodes in university
networks (reported separately). The file is read where it lies, never copied into the
repository; only the fitted terms and their validation figures go into the parameter file.

Model (``dashboard.domain.latency``, module docstring): on top of today's data-centre internet
leg ``dc`` (fitted on WonderProxy server-to-server pings; unchanged here), for end users::

    rtt = access_ms + access_region_ms[R(client)] + access_factor * dc(client, site)

Candidate structures (:data:`STRUCTURES`) are fitted for the least absolute *log* error (the
median of measured / predicted is 1: the model is median-unbiased, which is what a median
absolute percentage error and a median signed error ask for); the additive one is then simply
the median of ``measured - dc``. The structure is chosen by the error on a **whole service
held out** (fit on F-root, test on I-root and the reverse: "services you do not have"); the
figures are also given with **whole countries held out** (5-fold, grouped by client country).
Baselines on the same splits: today's model (no access term) and a median-regression line on
distance. Deterministic; a few seconds. Further structures (fits on non-detour rows only, a
log-space power law, a tapering factor, per-region factors, detour distance) and upper bounds
on what this data allows: :mod:`calibration.access_explore` (none beat this one enough to ship;
docs/calibration.md, "Variants tried and what the data allows").
"""

from __future__ import annotations

import datetime as _dt
import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from calibration.measurements import read_measurements
from dashboard.domain import latency as L
from dashboard.domain.geodesy import geodesic_km

REQUIRED = ("service", "platform", "vp_id", "client_lat", "client_lon", "client_country",
            "site_lat", "site_lon", "rtt_ms")
END_USER, UNIVERSITY = "RIPE Atlas", "PlanetLab"
#: Distance bands of the report (km): the issue's short / regional / continental / long.
REPORT_BANDS_KM = (0.0, 500.0, 2000.0, 5000.0, math.inf)
FOLDS = 5
SEED = 2015
#: Shrinkage of per-region terms: a region with n rows gets n / (n + REGION_PRIOR_ROWS) of its
#: own median excess (the rest is the global one).
REGION_PRIOR_ROWS = 200
IRLS_ITERATIONS = 60
SOURCE = ("iGreedy ground truth (Cicalese, Joumblatt, Rossi, Buob, Auge, Friedman, IEEE JSAC "
          "2016), fp7mplane/demo-infra@fcb0688e igreedy/igreedy-1.0.tar.gz "
          "datasets/measurement+gt/{f,i}-{ripe,planetlab}; F-root and I-root, 2015; min of 10 "
          "pings; no licence stated, attribution: the authors")
COMMAND = ("python -m calibration access "
           "../shared/data/catchment/anycast-catchments-f-i-root-2015.csv")


# ---------------------------------------------------------------------------------- data


def load_rows(path: Path, base: L.LatencyParams) -> pd.DataFrame:
    """The measurement rows with ``km`` (WGS84 client -> site reached), ``dc`` (today's
    data-centre internet leg, ms), ``region`` (the client's model region) and ``country``
    (``"??"`` where unknown). ``ValueError`` names the file and column/row."""
    df = read_measurements(Path(path), "catchment measurements", REQUIRED,
                           ("client_lat", "client_lon", "site_lat", "site_lon", "rtt_ms"),
                           positive="rtt_ms")
    dc_params = L.with_access(base, "datacenter")
    cla, clo = df["client_lat"].to_numpy(), df["client_lon"].to_numpy()
    sla, slo = df["site_lat"].to_numpy(), df["site_lon"].to_numpy()
    df["km"] = geodesic_km(cla, clo, sla, slo)
    df["dc"] = L.internet_rtt_ms(cla, clo, sla, slo, dc_params)
    df["region"] = L.locate(cla, clo, dc_params).region
    df["country"] = df["client_country"].fillna("??").astype(str)
    df["svc"] = df["service"].astype(str).str.split().str[0]
    return df.reset_index(drop=True)


# ---------------------------------------------------------------------------------- fit


def _fit_additive(df: pd.DataFrame, nr: int) -> dict[str, Any]:
    """Least absolute log error of ``dc + a``: ``a`` = median of measured - dc (>= 0)."""
    a = max(float(np.median(df["rtt_ms"] - df["dc"])), 0.0)
    return {"access_ms": a, "access_factor": 1.0, "access_region_ms": ()}


def _fit_factor(df: pd.DataFrame, nr: int) -> dict[str, Any]:
    """Least absolute log error of ``a + k * dc`` by iteratively re-weighted Gauss-Newton;
    ``a >= 0``, ``k >= 1`` (if a bound binds, the other term is refitted alone)."""
    y, dc = df["rtt_ms"].to_numpy(), df["dc"].to_numpy()
    X = np.stack([np.ones_like(dc), dc], axis=1)
    beta = np.array([5.0, 1.0])
    ly = np.log(y)
    for _ in range(IRLS_ITERATIONS):
        p0 = np.maximum(X @ beta, 0.1)
        r = ly - np.log(p0)
        w = 1.0 / np.maximum(np.abs(r), 0.01)
        J = X / p0[:, None]
        beta = np.linalg.solve((J * w[:, None]).T @ J, (J * w[:, None]).T @ (r + J @ beta))
    a, k = float(beta[0]), float(beta[1])
    if k < 1:
        a, k = max(float(np.median(y - dc)), 0.0), 1.0
    elif a < 0:
        a, k = 0.0, max(float(np.median(y / dc)), 1.0)
    return {"access_ms": a, "access_factor": k, "access_region_ms": ()}


def _fit_region(df: pd.DataFrame, nr: int) -> dict[str, Any]:
    """``dc + a + a_R[R(client)]``: the global median excess plus each client region's own,
    shrunk towards it by ``n / (n + REGION_PRIOR_ROWS)``; ``a + a_R >= 0``."""
    excess = (df["rtt_ms"] - df["dc"]).to_numpy()
    a = max(float(np.median(excess)), 0.0)
    reg = df["region"].to_numpy()
    terms = np.zeros(nr)
    for r in range(nr):
        m = reg == r
        if m.any():
            terms[r] = m.sum() / (m.sum() + REGION_PRIOR_ROWS) * (np.median(excess[m]) - a)
    terms = np.maximum(terms, -a)
    return {"access_ms": a, "access_factor": 1.0, "access_region_ms": tuple(terms.round(3))}


#: Candidate structures of the end-user term: name -> fit on rows (see the module docstring).
STRUCTURES: dict[str, Callable[[pd.DataFrame, int], dict[str, Any]]] = {
    "additive": _fit_additive,
    "additive+factor": _fit_factor,
    "additive+region": _fit_region,
}


def predict(df: pd.DataFrame, terms: dict[str, Any], base: L.LatencyParams) -> np.ndarray:
    """End-user RTT (ms) of rows through the runtime formula (:func:`L.access_rtt_ms`)."""
    p = replace(base, access="end-user", **terms)
    return L.access_rtt_ms(df["dc"].to_numpy(), df["region"].to_numpy(), p)


def median_line(km: np.ndarray, rtt: np.ndarray, iters: int = 50) -> tuple[float, float]:
    """Least-absolute-deviation line ``rtt = a + b * km`` (IRLS): the median-regression
    baseline (ms, ms per km)."""
    X = np.stack([np.ones_like(km), km], axis=1)
    w = np.ones_like(km)
    beta = np.zeros(2)
    for _ in range(iters):
        beta = np.linalg.lstsq(X * np.sqrt(w)[:, None], rtt * np.sqrt(w), rcond=None)[0]
        w = 1.0 / np.maximum(np.abs(rtt - X @ beta), 1e-3)
    return float(beta[0]), float(beta[1])


# ---------------------------------------------------------------------------------- report


def _pct(x: float) -> float:
    return round(100.0 * float(x), 2)


def errors(y: np.ndarray, pred: np.ndarray, km: np.ndarray) -> dict[str, Any]:
    """MdAPE and median signed error (%, + = model slower than measured), overall and by
    :data:`REPORT_BANDS_KM`."""
    e = (pred - y) / y
    out: dict[str, Any] = {"rows": int(len(y)), "mdape_pct": _pct(np.median(np.abs(e))),
                           "median_signed_pct": _pct(np.median(e)), "by_distance_km": {}}
    for lo, hi in zip(REPORT_BANDS_KM, REPORT_BANDS_KM[1:]):
        m = (km > lo) & (km <= hi) if lo > 0 else km <= hi
        out["by_distance_km"][f"{lo:g}-{hi:g}"] = (
            {"rows": int(m.sum()), "mdape_pct": _pct(np.median(np.abs(e[m]))),
             "median_signed_pct": _pct(np.median(e[m]))} if m.any() else None)
    return out


def country_folds(df: pd.DataFrame, k: int = FOLDS, seed: int = SEED) -> np.ndarray:
    """Fold of each row: whole client countries, shuffled with a fixed seed."""
    countries = np.array(sorted(df["country"].unique()))
    fold_of = dict(zip(countries, np.random.default_rng(seed).permutation(len(countries)) % k))
    return df["country"].map(fold_of).to_numpy()


def held_out(df: pd.DataFrame, splits: list[tuple[np.ndarray, np.ndarray]],
             base: L.LatencyParams) -> dict[str, np.ndarray]:
    """Out-of-split predictions (ms) of every structure and of the median line."""
    nr = len(base.regions)
    out = {name: np.full(len(df), np.nan) for name in (*STRUCTURES, "median_line")}
    for tr, te in splits:
        for name, fit in STRUCTURES.items():
            out[name][te] = predict(df.iloc[te], fit(df.iloc[tr], nr), base)
        a, b = median_line(df["km"].to_numpy()[tr], df["rtt_ms"].to_numpy()[tr])
        out["median_line"][te] = a + b * df["km"].to_numpy()[te]
    return out


def _quartiles(km: np.ndarray, ratio: np.ndarray, edges: tuple[float, ...]
               ) -> tuple[tuple[float, ...], tuple[float, ...]]:
    band = np.minimum(np.searchsorted(np.array(edges), km, side="left"), len(edges) - 1)
    q25, q75 = [], []
    for i in range(len(edges)):
        r = ratio[band == i]
        lo, hi = np.quantile(r if len(r) >= 20 else ratio, [0.25, 0.75])
        q25.append(round(float(min(lo, 1.0)), 4))
        q75.append(round(float(min(max(hi, 1.0), 9.99)), 4))
    return tuple(q25), tuple(q75)


def calibrate_access(csv: Path, base: L.LatencyParams) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fit and validate; returns (the ``access_*`` parameter fields, the report for
    ``meta.access``). ``base``: the fitted data-centre model (its access fields are ignored)."""
    rows = load_rows(csv, base)
    eu = rows[rows["platform"] == END_USER].reset_index(drop=True)
    uni = rows[rows["platform"] == UNIVERSITY].reset_index(drop=True)
    if eu.empty:
        raise ValueError(f"{csv}: no {END_USER!r} rows to fit")
    y, km, dc = eu["rtt_ms"].to_numpy(), eu["km"].to_numpy(), eu["dc"].to_numpy()
    nr = len(base.regions)

    # 1. whole service held out
    services = sorted(eu["svc"].unique())
    svc_splits = [(np.flatnonzero(eu["svc"] != s), np.flatnonzero(eu["svc"] == s))
                  for s in services]
    by_svc = held_out(eu, svc_splits, base)
    # 2. whole countries held out
    fold = country_folds(eu)
    ctry_splits = [(np.flatnonzero(fold != f), np.flatnonzero(fold == f)) for f in range(FOLDS)]
    by_ctry = held_out(eu, ctry_splits, base)

    def table(preds: dict[str, np.ndarray], mask: np.ndarray | None = None) -> dict[str, Any]:
        m = np.ones(len(y), bool) if mask is None else mask
        out = {"today (datacenter)": errors(y[m], dc[m], km[m])}
        out.update({name: errors(y[m], p[m], km[m]) for name, p in preds.items()})
        return out

    svc_tables = {f"{s} held out": table(by_svc, (eu["svc"] == s).to_numpy()) for s in services}
    # Structure: the lowest MdAPE on a service it never saw, averaged over held-out services.
    score = {name: float(np.mean([t[name]["mdape_pct"] for t in svc_tables.values()]))
             for name in STRUCTURES}
    structure = min(score, key=lambda n: (score[n], list(STRUCTURES).index(n)))
    terms = STRUCTURES[structure](eu, nr)
    terms = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in terms.items()}

    # Band: quartiles of measured / predicted with countries held out; fold f's own band comes
    # from the other folds' ratios (no row sets its own band), for the coverage figure.
    edges = base.band_edges_km
    ratio = y / by_ctry[structure]
    inside = np.zeros(len(y), bool)
    for tr, te in ctry_splits:
        q25, q75 = _quartiles(km[tr], ratio[tr], edges)
        band = np.minimum(np.searchsorted(np.array(edges), km[te], side="left"), len(edges) - 1)
        pred = by_ctry[structure][te]
        inside[te] = (y[te] >= pred * np.array(q25)[band]) & (y[te] <= pred * np.array(q75)[band])
    q25, q75 = _quartiles(km, ratio, edges)
    fields = {**terms, "access_band_p25": q25, "access_band_p75": q75}

    final = replace(base, access="end-user", **fields)
    a, b = median_line(km, y)
    uni_pred = L.access_rtt_ms(uni["dc"].to_numpy(), uni["region"].to_numpy(), final)
    uy, ukm = uni["rtt_ms"].to_numpy(), uni["km"].to_numpy()
    report = {
        "source": SOURCE,
        "command": COMMAND,
        "fit_date": _dt.date.today().isoformat(),
        "base": "the data-centre internet leg in this file (meta.cv), unchanged",
        "rows_end_user": int(len(eu)), "rows_university": int(len(uni)),
        "countries": int(eu["country"].nunique()), "services": services,
        "structure": structure,
        "structure_choice": ("lowest MdAPE on a whole service held out (mean over held-out "
                             "services)"),
        "structure_score_mdape_pct": {k: round(v, 2) for k, v in score.items()},
        "fitted": {k: v for k, v in terms.items()},
        "median_line_all_rows": {"intercept_ms": round(a, 2), "ms_per_1000km": round(b * 1e3, 2)},
        "held_out_service": svc_tables,
        "held_out_service_pooled": table(by_svc),
        "held_out_country": table(by_ctry),
        "held_out_country_folds": FOLDS, "seed": SEED,
        "band_coverage_held_out_country_pct": _pct(np.mean(inside)),
        "university_planetlab": {
            "today (datacenter)": errors(uy, uni["dc"].to_numpy(), ukm),
            "end-user model": errors(uy, uni_pred, ukm),
            "median_line": errors(uy, a + b * ukm, ukm),
        },
        "datacenter_check": ("access='datacenter' is the WonderProxy fit unchanged (a test pins "
                             "it bit for bit): meta.cv pair_mdape_pct (unseen pairs) and "
                             "city_mdape_pct (unseen cities) still apply"),
    }
    return fields, report


def update_params_file(path: Path, fields: dict[str, Any], report: dict[str, Any]) -> None:
    """Write the ``access_*`` fields and ``meta.access`` into the parameter file at ``path``,
    keeping everything else (``access`` itself stays as the file says: ``"datacenter"``)."""
    doc = json.loads(Path(path).read_text())
    for key, value in fields.items():
        doc["params"][key] = list(value) if isinstance(value, tuple) else value
    doc["params"].setdefault("access", "datacenter")
    doc.setdefault("meta", {})["access"] = report
    Path(path).write_text(json.dumps(doc, indent=1, allow_nan=False) + "\n")


def main(argv: list[str] | None = None) -> int:
    import argparse
    import sys

    from dashboard.settings import DATA_DIR

    ap = argparse.ArgumentParser(prog="python -m calibration access",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("csv", type=Path, help="anycast-catchments-f-i-root-2015.csv")
    ap.add_argument("--params", type=Path, default=DATA_DIR / "latency_model.json",
                    help="parameter file to update (its data-centre and backbone fits are kept)")
    ap.add_argument("--dry-run", action="store_true", help="print the report, write nothing")
    args = ap.parse_args(argv)
    try:
        doc = json.loads(args.params.read_text())
        base = L.params_from_dict(doc["params"])
        fields, report = calibrate_access(args.csv, base)
    except (OSError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=1))
    if not args.dry_run:
        update_params_file(args.params, fields, report)
        print(f"wrote {args.params}")
    return 0
