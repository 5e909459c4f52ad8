"""Fit the landing-probability model (:mod:`dashboard.domain.catchment`) on measured anycast
catchments and write ``data/catchment_model.json``.

Usage (from the repository root)::

    python -m calibration catchment ../shared/data/catchment/anycast-catchments-f-i-root-2015.csv \\
        ../shared/data/catchment/anycast-sites-f-i-root-2015.csv [--out data/catchment_model.json]
        [--dry-run]

Data: vantage points with a known location and the site of an anycast service (F-root, I-root,
2015) that answered them (iGreedy ground truth, see ``../shared/data/catchment/README.md``).
The candidate sites of a service are the sites observed in its data. The files are read where
they lie and never copied into the repository: only the fitted coefficients and the validation
figures are written.

Fit: maximum likelihood of a conditional logit (softmax over each client's candidate sites plus
a "rest" pseudo-site for the farther ones), by Newton's method with a backtracking line search
(the log-likelihood is concave; a tiny ridge keeps the Hessian invertible). numpy only, seconds.

Validation: a whole *service* held out (fit F, test I; fit I, test F): the model must transfer
to an anycast network it has not seen. Per fold and pooled: top-1 accuracy, top-3 coverage and
mean log-loss (natural log; a site beyond the candidates gets the rest mass shared equally),
against "always the geographic nearest" (log-loss of a smoothed version: the nearest gets the
training fold's top-1 rate, the others share the rest equally) and "probability by distance rank
only" (the same fit with rank indicators as the only features). Second check
(:func:`cross_validate_regions`): the clients of one continent-scale region held out, both
services. :data:`VARIANTS` lists every coordinate-only variant tried (``--variants`` prints
their held-out figures). Deterministic: no randomness.
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from dashboard.domain import catchment as C
from dashboard.settings import DATA_DIR

DEFAULT_OUT = DATA_DIR / "catchment_model.json"

#: The model: a handful of coordinate-only features (definitions in ``C.FEATURES``).
MODEL_FEATURES = ("nearest", "log_ratio", "extra_1000km", "other_region", "core_site_far_client",
                  "hub_site")
#: The model shipped before ``hub_site`` (kept as a variant so the table shows what it adds).
PREVIOUS_FEATURES = MODEL_FEATURES[:5]
#: The "probability by distance rank only" baseline.
RANK_FEATURES = ("nearest", "rank_1", "rank_2", "rank_3", "rank_4", "rank_5_9")
#: Candidates per client (the nearest C sites; the others form the "rest" pseudo-site). 64 is
#: more than either service has (44 and 41 sites): every site is a candidate, as it is for a
#: catalog of a few dozen PoPs where the model is used. (With 20 candidates + rest the held-out
#: log-loss is worse; docs/calibration.md.)
CANDIDATES = 64
#: Ridge on the coefficients (per row of data): only keeps Newton's Hessian invertible.
RIDGE = 1e-6

SOURCE = ("iGreedy ground truth (Cicalese, Joumblatt, Rossi, Buob, Auge, Friedman, "
          "'Latency-Based Anycast Geolocation: Algorithms, Software, and Data Sets', IEEE JSAC "
          "2016), fp7mplane/demo-infra commit fcb0688e, igreedy/igreedy-1.0.tar.gz, "
          "datasets/measurement+gt/{f,i}-{ripe,planetlab}; no licence stated: attribution to "
          "the authors; the data is not copied into this repository")


@dataclass(frozen=True)
class Design:
    """One service's rows in the model's terms (see :func:`design`)."""

    service: str
    X: np.ndarray  # (n, c, f) candidate features
    chosen: np.ndarray  # (n,) position of the observed site among the candidates, -1 = rest
    n_rest: np.ndarray  # (n,) sites beyond the candidates
    nearest_hit: np.ndarray  # (n,) bool: the observed site is the geographic nearest
    nearest3_hit: np.ndarray  # (n,) bool: ... among the 3 nearest
    n_sites: int
    platform: np.ndarray  # (n,) str


def read(catchments_csv: Path, sites_csv: Path) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    """``{service_key: (rows, candidate sites)}``; candidate sites are the observed ones.
    ``ValueError`` names a row whose site is not in the site table."""
    rows = pd.read_csv(catchments_csv)
    sites = pd.read_csv(sites_csv)
    need = {"service", "platform", "client_lat", "client_lon", "site_code"}
    if missing := need - set(rows.columns):
        raise ValueError(f"{catchments_csv}: missing columns {sorted(missing)}")
    if missing := {"service_key", "site_code", "site_lat", "site_lon", "observed_in_data"} \
            - set(sites.columns):
        raise ValueError(f"{sites_csv}: missing columns {sorted(missing)}")
    out = {}
    rows = rows.assign(key=rows["service"].str[0].str.lower(),
                       code=rows["site_code"].str.upper())
    for key, r in rows.groupby("key", sort=True):
        s = sites[(sites["service_key"] == key)
                  & sites["observed_in_data"].astype(str).str.lower().eq("true")]
        s = s.sort_values("site_code").reset_index(drop=True)
        unknown = sorted(set(r["code"]) - set(s["site_code"]))
        if unknown:
            raise ValueError(f"{catchments_csv}: service {key!r} sites {unknown} are not "
                             f"observed sites in {sites_csv}")
        out[str(key)] = (r.reset_index(drop=True), s)
    return out


def design(key: str, rows: pd.DataFrame, sites: pd.DataFrame, features: Sequence[str],
           candidates: int = CANDIDATES) -> Design:
    """Features of every row's candidate sites and the position of the observed one."""
    cla, clo = C.validate_coords(rows["client_lat"], rows["client_lon"], "client")
    sla, slo = C.validate_coords(sites["site_lat"], sites["site_lon"], "site")
    order, X, n_rest = C.candidate_features(cla, clo, sla, slo, tuple(features), candidates)
    code_ix = {c: i for i, c in enumerate(sites["site_code"])}
    obs = rows["code"].map(code_ix).to_numpy()
    hit = order == obs[:, None]
    chosen = np.where(hit.any(axis=1), hit.argmax(axis=1), -1)
    return Design(key, X, chosen, n_rest, chosen == 0, (chosen >= 0) & (chosen < 3), len(sites),
                  rows["platform"].to_numpy(dtype=str))


def _augmented(d: Design) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidates + the rest pseudo-site as one conditional logit with offsets: ``Z`` (n, c+1,
    f+1) (last column = rest indicator; the rest row carries the farthest candidate's features), ``offset`` (n, c+1) (log of the sites it stands for;
    -inf when there are none), ``y`` (n,) position of the observed alternative."""
    n, c, f = d.X.shape
    Z = np.zeros((n, c + 1, f + 1))
    Z[:, :c, :f] = d.X
    Z[:, c, :f] = d.X[:, -1]  # the farther sites: the farthest candidate's features ...
    Z[:, c, f] = 1.0  # ... plus beta_rest
    offset = np.zeros((n, c + 1))
    offset[:, c] = np.where(d.n_rest > 0, np.log(np.maximum(d.n_rest, 1)), -np.inf)
    y = np.where(d.chosen >= 0, d.chosen, c)
    return Z, offset, y


def _loglik(theta: np.ndarray, parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
            ridge: float, grad: bool = True):
    ll, n_tot = 0.0, 0
    g = np.zeros_like(theta)
    H = np.zeros((len(theta), len(theta)))
    for Z, off, y in parts:
        u = Z @ theta + off
        u -= u.max(axis=1, keepdims=True)
        p = np.exp(u)
        p /= p.sum(axis=1, keepdims=True)
        rows = np.arange(len(y))
        ll += float(np.log(p[rows, y]).sum())
        n_tot += len(y)
        if grad:
            ez = np.einsum("nc,ncf->nf", p, Z)
            g += (Z[rows, y] - ez).sum(axis=0)
            H -= np.einsum("nc,ncf,nch->fh", p, Z, Z) - ez.T @ ez
    pen = ridge * n_tot
    ll -= 0.5 * pen * float(theta @ theta)
    if not grad:
        return ll
    return ll, g - pen * theta, H - pen * np.eye(len(theta))


def fit(designs: Sequence[Design], ridge: float = RIDGE, max_iter: int = 50) -> np.ndarray:
    """Maximum-likelihood coefficients ``(beta..., beta_rest)`` over the rows of ``designs``
    (Newton's method with step halving; converges in a few iterations on this concave
    problem). A design without any rest alternative leaves ``beta_rest`` at the ridge's 0."""
    parts = [_augmented(d) for d in designs]
    theta = np.zeros(parts[0][0].shape[2])
    ll, g, H = _loglik(theta, parts, ridge)
    for _ in range(max_iter):
        step = np.linalg.solve(H, -g)
        t = 1.0
        while t > 1e-6:
            new = theta + t * step
            new_ll = _loglik(new, parts, ridge, grad=False)
            if new_ll >= ll - 1e-12:
                break
            t /= 2
        theta = new
        done = abs(new_ll - ll) < 1e-9 * max(1.0, abs(ll))
        ll, g, H = _loglik(theta, parts, ridge)
        if done:
            break
    return theta


def evaluate(theta: np.ndarray, d: Design) -> dict[str, np.ndarray]:
    """Per-row hits and log-loss of the fitted model on ``d``."""
    p, p_rest = C.choice_probabilities(d.X, theta[:-1], d.n_rest, float(theta[-1]))
    rows = np.arange(len(d.chosen))
    inside = d.chosen >= 0
    p_obs = np.where(inside, p[rows, np.maximum(d.chosen, 0)],
                     p_rest / np.maximum(d.n_rest, 1))
    rank = np.argsort(-p, axis=1, kind="stable")
    top1 = rank[:, 0] == d.chosen
    top3 = (rank[:, :3] == d.chosen[:, None]).any(axis=1)
    return {"top1": top1, "top3": top3, "logloss": -np.log(np.maximum(p_obs, 1e-300))}


def evaluate_nearest(train: Sequence[Design], d: Design) -> dict[str, np.ndarray]:
    """"Always the geographic nearest": top-1 = nearest, top-3 = the 3 nearest; log-loss of the
    smoothed version (nearest gets the training rows' top-1 rate, the other sites share the rest
    equally)."""
    q = float(np.mean(np.concatenate([t.nearest_hit for t in train])))
    p_obs = np.where(d.nearest_hit, q, (1 - q) / (d.n_sites - 1))
    return {"top1": d.nearest_hit, "top3": d.nearest3_hit, "logloss": -np.log(p_obs)}


def _summary(r: dict[str, np.ndarray], mask: np.ndarray | None = None) -> dict[str, float]:
    m = slice(None) if mask is None else mask
    return {"rows": int(np.size(r["top1"][m])),
            "top1_pct": round(100 * float(np.mean(r["top1"][m])), 2),
            "top3_pct": round(100 * float(np.mean(r["top3"][m])), 2),
            "logloss": round(float(np.mean(r["logloss"][m])), 4)}


def _pool(results: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([r[k] for r in results]) for k in results[0]}


def cross_validate(data: dict[str, tuple[pd.DataFrame, pd.DataFrame]],
                   features: Sequence[str] = MODEL_FEATURES,
                   candidates: int = CANDIDATES) -> dict:
    """Hold out each service in turn; per fold and pooled metrics of the model and both
    baselines, and per platform (RIPE Atlas / PlanetLab) of the pooled held-out rows."""
    keys = sorted(data)
    model_d = {k: design(k, *data[k], features, candidates) for k in keys}
    rank_d = {k: design(k, *data[k], RANK_FEATURES, candidates) for k in keys}
    folds, pooled = {}, {"model": [], "rank_only": [], "nearest": []}
    for test in keys:
        train = [k for k in keys if k != test]
        theta = fit([model_d[k] for k in train])
        theta_r = fit([rank_d[k] for k in train])
        res = {"model": evaluate(theta, model_d[test]),
               "rank_only": evaluate(theta_r, rank_d[test]),
               "nearest": evaluate_nearest([model_d[k] for k in train], model_d[test])}
        folds[f"fit {'+'.join(train)}, test {test}"] = {
            name: _summary(r) for name, r in res.items()}
        for name, r in res.items():
            pooled[name].append(r)
    platform = np.concatenate([model_d[k].platform for k in keys])
    pooled_r = {name: _pool(rs) for name, rs in pooled.items()}
    return {
        "folds": folds,
        "pooled": {name: _summary(r) for name, r in pooled_r.items()},
        "by_platform": {p: {name: _summary(r, platform == p) for name, r in pooled_r.items()}
                        for p in sorted(set(platform))},
    }


#: Every coordinate-only variant tried for issue 14's model goal, in the order tried (the table
#: in docs/calibration.md is this list's output: the choice is made on these held-out numbers,
#: pooled over both folds, not on one split).
VARIANTS: dict[str, tuple[str, ...]] = {
    "previous (5 features)": PREVIOUS_FEATURES,
    "previous + hub_site (shipped)": MODEL_FEATURES,
    "previous + hub_site - extra_1000km": ("nearest", "log_ratio", "other_region",
                                            "core_site_far_client", "hub_site"),
    "previous + hub_site + rank indicators": MODEL_FEATURES + RANK_FEATURES[1:],
    "previous + rank indicators": PREVIOUS_FEATURES + RANK_FEATURES[1:],
    "nearest + log_ratio + hub_site": ("nearest", "log_ratio", "hub_site"),
    "nearest + log_rank + other_region + hub_site": ("nearest", "log_rank", "other_region",
                                                     "hub_site"),
}


def _designs(data: dict[str, tuple[pd.DataFrame, pd.DataFrame]], features: Sequence[str],
             candidates: int) -> dict[str, Design]:
    return {k: design(k, *data[k], features, candidates) for k in sorted(data)}


def variant_table(data: dict[str, tuple[pd.DataFrame, pd.DataFrame]],
                  variants: dict[str, tuple[str, ...]] | None = None,
                  candidates: int = CANDIDATES) -> dict[str, dict[str, dict[str, float]]]:
    """Service-held-out figures of every variant: ``{variant: {held-out service | "pooled":
    summary}}`` (the baselines are in :func:`cross_validate`)."""
    out = {}
    for name, feats in (VARIANTS if variants is None else variants).items():
        d = _designs(data, feats, candidates)
        res = {}
        for test in d:
            theta = fit([d[k] for k in d if k != test])
            res[test] = evaluate(theta, d[test])
        out[name] = {**{k: _summary(r) for k, r in res.items()},
                     "pooled": _summary(_pool(list(res.values())))}
    return out


def _subset(d: Design, mask: np.ndarray) -> Design:
    return Design(d.service, d.X[mask], d.chosen[mask], d.n_rest[mask], d.nearest_hit[mask],
                  d.nearest3_hit[mask], d.n_sites, d.platform[mask])


def cross_validate_regions(data: dict[str, tuple[pd.DataFrame, pd.DataFrame]],
                           features: Sequence[str] = MODEL_FEATURES,
                           candidates: int = CANDIDATES) -> dict:
    """Second check: hold out the *clients* of one continent-scale region (``C.region_of``
    boxes; both services' rows), fit on the other regions' clients, test on the held-out ones.
    Per region and pooled, for the model, the previous model, rank only and nearest."""
    keys = sorted(data)
    reg = {k: C.region_of(data[k][0]["client_lat"].to_numpy(float),
                          data[k][0]["client_lon"].to_numpy(float)) for k in keys}
    ds = {"model": _designs(data, features, candidates),
          "previous": _designs(data, PREVIOUS_FEATURES, candidates),
          "rank_only": _designs(data, RANK_FEATURES, candidates)}
    per, pooled = {}, {name: [] for name in (*ds, "nearest")}
    for ri, region in enumerate(C.REGIONS):
        if not any((reg[k] == ri).any() for k in keys):
            continue
        res = {}
        for name, d in ds.items():
            theta = fit([_subset(d[k], reg[k] != ri) for k in keys])
            res[name] = _pool([evaluate(theta, _subset(d[k], reg[k] == ri)) for k in keys
                               if (reg[k] == ri).any()])
        m = ds["model"]
        res["nearest"] = _pool([evaluate_nearest([_subset(m[k], reg[k] != ri) for k in keys],
                                                 _subset(m[k], reg[k] == ri))
                                for k in keys if (reg[k] == ri).any()])
        per[region] = {name: _summary(r) for name, r in res.items()}
        for name, r in res.items():
            pooled[name].append(r)
    return {"regions": per,
            "pooled": {name: _summary(_pool(rs)) for name, rs in pooled.items()}}


def goals(cv: dict) -> dict[str, bool]:
    """The issue's goals on the pooled held-out figures."""
    p = cv["pooled"]
    return {"top1_at_least_nearest": p["model"]["top1_pct"] >= p["nearest"]["top1_pct"],
            "top3_at_least_60pct": p["model"]["top3_pct"] >= 60.0,
            "logloss_below_rank_only": p["model"]["logloss"] < p["rank_only"]["logloss"]}


def calibrate(catchments_csv: Path, sites_csv: Path,
              features: Sequence[str] = MODEL_FEATURES,
              candidates: int = CANDIDATES) -> dict:
    """The document written to ``data/catchment_model.json``: the fit on all rows, its
    in-sample figures, and the cross-validated ones (see the module docstring)."""
    data = read(catchments_csv, sites_csv)
    keys = sorted(data)
    cv = cross_validate(data, features, candidates)
    cv_regions = cross_validate_regions(data, features, candidates)
    designs = [design(k, *data[k], features, candidates) for k in keys]
    theta = fit(designs)
    params = C.CatchmentParams(tuple(features), tuple(round(float(x), 4) for x in theta[:-1]),
                               candidates, round(float(theta[-1]), 4))
    in_sample = _summary(_pool([evaluate(np.array(params.coefficients
                                                  + (params.rest_coefficient,)), d)
                                for d in designs]))
    rows = sum(len(data[k][0]) for k in keys)
    return {
        "meta": {
            "model": "dashboard.domain.catchment: conditional logit over the nearest "
                     f"{candidates} sites + rest (see docs/calibration.md, 'Landing "
                     "probabilities')",
            "command": "python -m calibration catchment "
                       "../shared/data/catchment/anycast-catchments-f-i-root-2015.csv "
                       "../shared/data/catchment/anycast-sites-f-i-root-2015.csv",
            "source": SOURCE,
            "campaign": "on or before 2015-07-29 (RIPE Atlas probes and PlanetLab nodes)",
            "fit_date": _dt.date.today().isoformat(),
            "rows": rows,
            "services": {k: {"name": str(data[k][0]["service"].iloc[0]),
                             "rows": len(data[k][0]), "candidate_sites": len(data[k][1])}
                         for k in keys},
            "distances": "great-circle km on a sphere of radius 6371.0088 km",
            "feature_definitions": {f: C.FEATURES[f] for f in features},
            "rest": "sites beyond the candidates: one pseudo-site, utility = the farthest "
                    "candidate's + rest_coefficient + log(m - candidates); its probability is "
                    "not assigned to any site (not identifiable on this data when every site "
                    "is a candidate: then 0)",
            "in_sample": in_sample,
            "cv": cv,
            "goals": goals(cv),
            "cv_regions": cv_regions,
        },
        "params": params.to_dict(),
    }


def write(doc: dict, out: Path) -> None:
    out.write_text(json.dumps(doc, indent=1) + "\n")
