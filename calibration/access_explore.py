"""One-off exploration behind the variant table of docs/calibration.md ("End users vs data
centres", issue 19): end-user access-term structures the shipped fit does not use, the detour
split, and upper bounds on what any model of the client's place could reach on this data.

Usage (from the repository root; ~5 s; prints Markdown rows, writes nothing)::

    python -m calibration.access_explore \\
        ../shared/data/catchment/anycast-catchments-f-i-root-2015.csv \\
        ../shared/data/catchment/anycast-sites-f-i-root-2015.csv

Same rows (RIPE Atlas), same splits (a whole service held out: fit on F-root, test on I-root
and the reverse; whole client countries held out, 5 folds, seed 2015) and the same metrics
(:func:`calibration.access.errors`) as :mod:`calibration.access`. Every variant is fitted on
the training rows of a split only and judged on its held-out rows; the goal is judged on *all*
held-out rows (end-user measurements of a service not fitted on), "plausible" rows are reported
apart. A row is *plausible* when the site it reached is among the ``k`` sites of its service
nearest to the probe (candidate sites: those some probe reached); otherwise it is on a routing
detour of that service (BGP sent it past nearer sites). Upper bounds are in-sample (optimistic).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from calibration import access as A
from dashboard.domain import latency as L
from dashboard.domain.geodesy import geodesic_km
from dashboard.settings import DATA_DIR

PLAUSIBLE_K = 3
ITER = 80


def site_rank(eu: pd.DataFrame, sites: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Rank (1 = nearest) of the reached site among its service's observed sites by WGS84
    distance from the probe, and the distance (km) to the nearest such site."""
    rank, near = np.zeros(len(eu), int), np.zeros(len(eu))
    sites = sites[sites["observed_in_data"].astype(bool)]
    for svc in eu["svc"].unique():
        m = (eu["svc"] == svc).to_numpy()
        st = sites[sites["service_key"].str.lower() == svc[0].lower()]
        la, lo = eu["client_lat"].to_numpy()[m], eu["client_lon"].to_numpy()[m]
        d = np.stack([geodesic_km(la, lo, np.full(m.sum(), a), np.full(m.sum(), b))
                      for a, b in zip(st["site_lat"], st["site_lon"])], axis=1)
        rank[m] = (d < eu["km"].to_numpy()[m][:, None] - 1.0).sum(axis=1) + 1
        near[m] = d.min(axis=1)
    return rank, near


def lad_relative(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Coefficients of ``X b`` minimising the absolute *log* error sum |log y - log(X b)|
    (iteratively re-weighted Gauss-Newton, as :func:`calibration.access._fit_factor`): the
    median of measured/predicted is ~1, which MdAPE and the median signed error ask for
    (least absolute *relative* error would not be: it favours predicting low)."""
    beta = np.linalg.lstsq(X, y, rcond=None)[0]
    ly = np.log(y)
    for _ in range(ITER):
        p0 = np.maximum(X @ beta, 0.1)
        r = ly - np.log(p0)
        w = 1.0 / np.maximum(np.abs(r), 0.01)
        J = X / p0[:, None]
        beta = np.linalg.solve((J * w[:, None]).T @ J, (J * w[:, None]).T @ (r + J @ beta))
    return beta


def lad_log(X: np.ndarray, ly: np.ndarray) -> np.ndarray:
    """Median regression in log space: minimises sum |ly - X b| (IRLS), for the power law
    ``rtt = exp(a) * dc ** b``."""
    beta = np.linalg.lstsq(X, ly, rcond=None)[0]
    for _ in range(ITER):
        w = 1.0 / np.maximum(np.abs(ly - X @ beta), 1e-3)
        sw = np.sqrt(w)
        beta = np.linalg.lstsq(X * sw[:, None], ly * sw, rcond=None)[0]
    return beta


Fit = Callable[[pd.DataFrame, pd.DataFrame], np.ndarray]


def _lin(cols: Callable[[pd.DataFrame], list[np.ndarray]],
         mask: Callable[[pd.DataFrame], np.ndarray] | None = None) -> Fit:
    """``X b`` with the columns ``cols`` (least absolute log error), fitted on the training
    rows ``mask`` selects (all if None)."""
    def fit(tr: pd.DataFrame, te: pd.DataFrame) -> np.ndarray:
        t = tr[mask(tr)] if mask is not None else tr
        b = lad_relative(np.stack(cols(t), 1), t["rtt_ms"].to_numpy())
        return np.stack(cols(te), 1) @ b
    return fit


def _power(tr: pd.DataFrame, te: pd.DataFrame) -> np.ndarray:
    """rtt = exp(a) * dc ** b, median regression of log rtt on log dc."""
    X = lambda d: np.stack([np.ones(len(d)), np.log(d["dc"].to_numpy())], 1)  # noqa: E731
    b = lad_log(X(tr), np.log(tr["rtt_ms"].to_numpy()))
    return np.exp(X(te) @ b)


def _region(additive: bool) -> Fit:
    """``a + k dc`` corrected per client region: by the region's median log residual, shrunk
    by n / (n + 200), as a factor (``additive`` False), or by its median excess (ms), shrunk
    alike, added (``additive`` True). Transferable: the region comes from the client's
    coordinates (:func:`dashboard.domain.latency.locate`); unseen regions get no correction."""
    def fit(tr: pd.DataFrame, te: pd.DataFrame) -> np.ndarray:
        y = tr["rtt_ms"].to_numpy()
        X = lambda d: np.stack([np.ones(len(d)), d["dc"].to_numpy()], 1)  # noqa: E731
        b = lad_relative(X(tr), y)
        res = np.log(y / (X(tr) @ b))
        pred = X(te) @ b
        adj = np.zeros(len(te))
        for r in np.unique(tr["region"]):
            m = (tr["region"] == r).to_numpy()
            shrink = m.sum() / (m.sum() + A.REGION_PRIOR_ROWS)
            if additive:
                # additive per region: median excess over the global fit
                adj[(te["region"] == r).to_numpy()] = shrink * np.median(y[m] - X(tr)[m] @ b)
            else:
                adj[(te["region"] == r).to_numpy()] = shrink * np.median(res[m])
        return pred + adj if additive else pred * np.exp(adj)
    return fit


def _region_joint(prior: float) -> Fit:
    """``a + a_R + k dc`` fitted jointly (least absolute log error, one additive term per client
    region), each ``a_R`` then shrunk by n / (n + prior) and clamped so ``a + a_R >= 0``: the
    structure the runtime formula already has (``access_region_ms``)."""
    def fit(tr: pd.DataFrame, te: pd.DataFrame) -> np.ndarray:
        regs = np.unique(tr["region"])
        X = lambda d: np.stack([np.ones(len(d)), d["dc"].to_numpy()]  # noqa: E731
                               + [(d["region"] == r).to_numpy() * 1.0 for r in regs[1:]], 1)
        b = lad_relative(X(tr), tr["rtt_ms"].to_numpy())
        # re-centre: a = the row-weighted mean intercept, a_R = offsets from it
        n = np.array([(tr["region"] == r).sum() for r in regs])
        off = np.concatenate([[0.0], b[2:]])
        a = b[0] + float(np.sum(n * off) / n.sum())
        terms = {r: max(n[i] / (n[i] + prior) * (b[0] + off[i] - a), -a)
                 for i, r in enumerate(regs)}
        add = np.array([terms.get(r, 0.0) for r in te["region"]])
        return a + add + b[1] * te["dc"].to_numpy()
    return fit


def _nonneg(f: Fit) -> Fit:
    """Never below the data-centre leg (end users are never faster than data centres)."""
    return lambda tr, te: np.maximum(f(tr, te), te["dc"].to_numpy())


def variants() -> dict[str, Fit]:
    """Every structure of the variant table, by its row name: fit(train rows, test rows) ->
    predicted RTT (ms) of the test rows."""
    one = lambda d: np.ones(len(d))  # noqa: E731
    dc = lambda d: d["dc"].to_numpy()  # noqa: E731
    logdc = lambda d: np.log(d["dc"].to_numpy())  # noqa: E731
    plaus = lambda d: (d["rank"] <= PLAUSIBLE_K).to_numpy()  # noqa: E731
    det = lambda d: (d["km"] - d["near_km"]).to_numpy() / 1000.0  # noqa: E731
    return {
        "a + k*dc (shipped structure)": _lin(lambda d: [one(d), dc(d)]),
        f"a + k*dc fitted on plausible rows (reached site among {PLAUSIBLE_K} nearest)":
            _lin(lambda d: [one(d), dc(d)], plaus),
        "a + k*dc fitted on nearest-site rows only": _lin(lambda d: [one(d), dc(d)],
                                                           lambda d: (d["rank"] == 1).to_numpy()),
        "exp(a) * dc^b (median regression in log space)": _power,
        "a + b*dc + c*log(dc) (tapering factor)": _nonneg(_lin(lambda d: [one(d), dc(d),
                                                                           logdc(d)])),
        "a + k*dc, per-region factor (shrunk)": _region(False),
        "a + k*dc, per-region additive (shrunk)": _region(True),
        "a + a_R + k*dc jointly, a_R shrunk (n/(n+200))": _region_joint(200.0),
        "a + a_R + k*dc jointly, a_R shrunk (n/(n+1000))": _region_joint(1000.0),
        "a + a_R + k*dc jointly, a_R unshrunk": _region_joint(0.0),
        "a + k*dc + d*detour_km (needs the site list)": _lin(lambda d: [one(d), dc(d), det(d)]),
    }


def table_rows(name: str, y: np.ndarray, pred: np.ndarray, km: np.ndarray,
               masks: dict[str, np.ndarray]) -> list[str]:
    """Markdown rows: MdAPE / median signed error (%) overall and MdAPE by distance band, one
    row per mask."""
    out = []
    for lab, m in masks.items():
        e = A.errors(y[m], pred[m], km[m])
        b = e["by_distance_km"]
        cells = [f"{e['mdape_pct']:.1f} / {e['median_signed_pct']:+.1f}"]
        for k in ("0-500", "500-2000", "2000-5000", "5000-inf"):
            cells.append("-" if b[k] is None else f"{b[k]['mdape_pct']:.1f}")
        out.append(f"| {name} | {lab} | " + " | ".join(cells) + " |")
    return out


def upper_bounds(eu: pd.DataFrame, pred: np.ndarray) -> list[str]:
    """Bounds on what a model of the client's place could reach on this data.

    In-sample (optimistic): ``pred`` (the shipped structure fitted on all rows) corrected by
    each country's / each (country, distance band)'s own median of measured/predicted.
    Noise floor: each probe predicted by the median RTT of the *other* probes of the same
    service that reached the same site from the same 0.5-degree cell (leave-one-out, cells with
    >= 3 other probes): the spread between probes at the same place and distance, which no
    model of place can remove. Across services: each probe predicted by ``pred`` times the
    median measured/``pred`` of the *other* service's probes in the same 0.5-degree cell (>= 3 of
    them): the most a place-based term learned on one service can say about another."""
    y, km = eu["rtt_ms"].to_numpy(), eu["km"].to_numpy()
    out = []
    band = np.searchsorted(np.array(A.REPORT_BANDS_KM[1:-1]), km)
    lr = pd.Series(np.log(y / pred))
    for lab, keys in (("bound: per-country median (in-sample)", [eu["country"]]),
                      ("bound: per-(country, band) median (in-sample)", [eu["country"], band])):
        corr = lr.groupby(keys).transform("median").to_numpy()
        out += table_rows(lab, y, pred * np.exp(corr), km, {"all": np.ones(len(y), bool)})
    place = ((eu["client_lat"] // 0.5).astype(int).astype(str) + ":"
             + (eu["client_lon"] // 0.5).astype(int).astype(str)).to_numpy()
    cell = eu["svc"].to_numpy() + ":" + eu["site_code"].astype(str).to_numpy() + ":" + place
    loo = np.full(len(y), np.nan)
    for _, ix in pd.Series(np.arange(len(y))).groupby(cell):
        ix = ix.to_numpy()
        if len(ix) >= 4:
            for j in range(len(ix)):
                loo[ix[j]] = np.median(np.delete(y[ix], j))
    m = np.isfinite(loo)
    out += table_rows("floor: same place & site, other probes' median (leave-one-out)", y,
                      np.where(m, loo, 1.0), km, {f"{int(m.sum())} rows": m})
    cross = np.full(len(y), np.nan)
    svc = eu["svc"].to_numpy()
    ratio = pd.Series(y / pred)
    for s in np.unique(svc):
        other = ratio[svc != s].groupby(place[svc != s])
        med, cnt = other.median(), other.size()
        mine = np.flatnonzero(svc == s)
        ok = cnt.reindex(place[mine]).fillna(0).to_numpy() >= 3
        cross[mine[ok]] = pred[mine[ok]] * med.reindex(place[mine[ok]]).to_numpy()
    m = np.isfinite(cross)
    out += table_rows("bound: shipped structure x the other service's same-place median ratio", y,
                      np.where(m, cross, 1.0), km, {f"{int(m.sum())} rows": m})
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print(__doc__)
        return 2
    doc = json.loads((DATA_DIR / "latency_model.json").read_text())
    base = L.params_from_dict(doc["params"])
    rows = A.load_rows(Path(argv[0]), base)
    eu = rows[rows["platform"] == A.END_USER].reset_index(drop=True)
    eu["rank"], eu["near_km"] = site_rank(eu, pd.read_csv(argv[1]))
    y, km = eu["rtt_ms"].to_numpy(), eu["km"].to_numpy()
    services = sorted(eu["svc"].unique())
    fold = A.country_folds(eu)
    splits = {f"{s} held out": [(np.flatnonzero(eu["svc"] != s), np.flatnonzero(eu["svc"] == s))]
              for s in services}
    splits["countries held out"] = [(np.flatnonzero(fold != f), np.flatnonzero(fold == f))
                                    for f in range(A.FOLDS)]
    plaus = (eu["rank"] <= PLAUSIBLE_K).to_numpy()
    print(f"rows {len(eu)}; plausible (site among {PLAUSIBLE_K} nearest) {plaus.sum()}; "
          f"nearest {(eu['rank'] == 1).sum()}")
    for svc in services:
        for lab, m in (("plausible", plaus), ("detour", ~plaus)):
            mm = m & (eu["svc"] == svc).to_numpy()
            print(f"  {svc} {lab}: {mm.sum()} rows, median measured/dc "
                  f"{np.median(y[mm] / eu['dc'].to_numpy()[mm]):.2f}, median excess "
                  f"{np.median(y[mm] - eu['dc'].to_numpy()[mm]):.1f} ms")
    for svc in services:  # the two terms per service and row kind: access (ms) vs factor
        for lab, m in (("all", np.ones(len(eu), bool)), ("plausible", plaus),
                       ("detour", ~plaus)):
            t = eu[m & (eu["svc"] == svc).to_numpy()]
            a, k = lad_relative(np.stack([np.ones(len(t)), t["dc"].to_numpy()], 1),
                                t["rtt_ms"].to_numpy())
            print(f"  {svc} {lab}: fit alone {a:.2f} ms + {k:.3f} x dc")
    fits = variants()
    detail = ["| variant | split: rows | all: MdAPE / signed | < 500 | 500-2,000 | 2,000-5,000 "
              "| > 5,000 |", "|---|---|---|---|---|---|---|"]
    summary = ["| variant | F-root held out | I-root held out | countries held out | < 500 km "
               "(F / I / countries) | plausible rows (F / I / countries) |",
               "|---|---|---|---|---|---|"]
    for name, fit in fits.items():
        cells: dict[str, list[str]] = {"all": [], "short": [], "plaus": []}
        for sp, parts in splits.items():
            pred = np.full(len(eu), np.nan)
            for tr, te in parts:
                pred[te] = fit(eu.iloc[tr], eu.iloc[te])
            m = np.isfinite(pred)
            mp = m & plaus
            detail += table_rows(name, y, pred, km, {f"{sp}: all": m, f"{sp}: plausible": mp})
            e, ep = A.errors(y[m], pred[m], km[m]), A.errors(y[mp], pred[mp], km[mp])
            cells["all"].append(f"{e['mdape_pct']:.1f} / {e['median_signed_pct']:+.1f}")
            cells["short"].append(f"{e['by_distance_km']['0-500']['mdape_pct']:.1f}")
            cells["plaus"].append(f"{ep['mdape_pct']:.1f}")
        summary.append(f"| {name} | " + " | ".join(cells["all"]) + " | "
                       + " / ".join(cells["short"]) + " | " + " / ".join(cells["plaus"]) + " |")
    print("\n".join(summary))
    print()
    print("\n".join(detail))
    full = fits["a + k*dc (shipped structure)"](eu, eu)
    print("\n".join(upper_bounds(eu, full)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
