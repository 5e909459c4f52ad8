"""One-off exploration behind the "†" rows of docs/calibration.md ("Landing probabilities"):
landing-model variants with features the shipped model does not have, and upper bounds.

Usage (from the repository root; minutes on 2 shared cores; prints Markdown rows, writes
nothing)::

    python -m calibration.catchment_explore \\
        ../shared/data/catchment/anycast-catchments-f-i-root-2015.csv \\
        ../shared/data/catchment/anycast-sites-f-i-root-2015.csv

Why it is separate from :mod:`calibration.catchment`: some features here need the GeoNames
gazetteer (``data/cities15000.csv.gz``: population near a site, the country of a client or a
site as the country of its nearest city), which the pure landing model does not read at run
time. Same folds, same fitter (:func:`calibration.catchment.fit`) and the same metrics as the
shipped model's cross-validation. Upper bounds (in-sample, optimistic): a free constant per
site on top of the previous five features; the site most of the 25 nearest other vantage points
of the same service reached (leave-one-out).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from calibration import catchment as K
from dashboard.domain import catchment as C
from dashboard.settings import DATA_DIR

PREV = K.PREVIOUS_FEATURES
BASE = PREV + K.RANK_FEATURES[1:] + ("hub_site",)


def _nearest_city(lats: np.ndarray, lons: np.ndarray, g: pd.DataFrame) -> np.ndarray:
    """Row of the nearest gazetteer city of every point (chunks of 1,000 points: memory)."""
    out = [C.sphere_km(lats[s:s + 1000], lons[s:s + 1000], g["lat"].to_numpy(),
                       g["lon"].to_numpy()).argmin(axis=1) for s in range(0, len(lats), 1000)]
    return np.concatenate(out) if out else np.zeros(0, dtype=int)


def features(data: dict, g: pd.DataFrame) -> dict[str, tuple[K.Design, dict[str, np.ndarray]]]:
    """Per service: the design of :data:`BASE` and every exploratory feature (n, c) by name."""
    hubs = np.array([(h[1], h[2]) for h in C.HUB_METROS])
    out = {}
    for key in sorted(data):
        rows, sites = data[key]
        d = K.design(key, rows, sites, BASE)
        cla = rows["client_lat"].to_numpy(float)
        clo = rows["client_lon"].to_numpy(float)
        sla = sites["site_lat"].to_numpy(float)
        slo = sites["site_lon"].to_numpy(float)
        order, _, _ = C.candidate_features(cla, clo, sla, slo, ("nearest",), K.CANDIDATES)
        F = {f: d.X[:, :, i] for i, f in enumerate(BASE)}
        hub_km = C.sphere_km(sla, slo, hubs[:, 0], hubs[:, 1]).min(axis=1)
        for r in (50, 200, 300):
            F[f"hub{r}"] = (hub_km <= r)[order].astype(float)
        F["hub_log_ratio"] = F["hub_site"] * F["log_ratio"]
        F["hub_other_region"] = F["hub_site"] * F["other_region"]
        F["log_hub_dist"] = np.log1p(hub_km / 100.0)[order]
        city_km = C.sphere_km(sla, slo, g["lat"].to_numpy(), g["lon"].to_numpy())
        pop100 = (g["population"].to_numpy()[None, :] * (city_km < 100)).sum(axis=1)
        F["log_pop100"] = np.log10(np.maximum(pop100, 1e5) / 1e6)[order]
        cc = g["country_code"].to_numpy()
        ccc, scc = cc[_nearest_city(cla, clo, g)], cc[_nearest_city(sla, slo, g)]
        F["same_country"] = (scc[order] == ccc[:, None]).astype(float)
        F["site"] = order.astype(float)
        out[key] = (d, F)
    return out


def _design(B: dict, key: str, feats: tuple[str, ...]) -> K.Design:
    d, F = B[key]
    X = np.stack([F[f] for f in feats], axis=-1)
    return K.Design(d.service, X, d.chosen, d.n_rest, d.nearest_hit, d.nearest3_hit, d.n_sites,
                    d.platform)


def service_cv(B: dict, feats: tuple[str, ...], ridge: float = K.RIDGE) -> dict[str, dict]:
    """Service held out, per fold and pooled (as :func:`calibration.catchment.variant_table`)."""
    res = {}
    for test in B:
        theta = K.fit([_design(B, k, feats) for k in B if k != test], ridge=ridge)
        res[test] = K.evaluate(theta, _design(B, test, feats))
    return {**{k: K._summary(r) for k, r in res.items()},
            "pooled": K._summary(K._pool(list(res.values())))}


EXPLORED: dict[str, tuple[tuple[str, ...], float]] = {
    "previous + hub within 50 km": (PREV + ("hub50",), K.RIDGE),
    "previous + hub within 200 km": (PREV + ("hub200",), K.RIDGE),
    "previous + hub within 300 km": (PREV + ("hub300",), K.RIDGE),
    "previous + hub_site, ridge 1e-3": (PREV + ("hub_site",), 1e-3),
    "previous + hub_site + hub x log_ratio": (PREV + ("hub_site", "hub_log_ratio"), K.RIDGE),
    "previous - core_site_far_client + hub_site + hub x other region":
        (("nearest", "log_ratio", "extra_1000km", "other_region", "hub_site",
          "hub_other_region"), K.RIDGE),
    "previous + log distance to the nearest hub": (PREV + ("log_hub_dist",), K.RIDGE),
    "previous + log population within 100 km": (PREV + ("log_pop100",), K.RIDGE),
    "previous + same country": (PREV + ("same_country",), K.RIDGE),
    "previous + hub_site + same country": (PREV + ("hub_site", "same_country"), K.RIDGE),
    "previous + hub_site + hub x log_ratio + same country":
        (PREV + ("hub_site", "hub_log_ratio", "same_country"), K.RIDGE),
    "previous + rank indicators + hub_site + same country":
        (PREV + K.RANK_FEATURES[1:] + ("hub_site", "same_country"), K.RIDGE),
}


def region_cv(data: dict, B: dict, feats: tuple[str, ...]) -> dict[str, dict]:
    """Clients of one ``region_of`` box held out (as
    :func:`calibration.catchment.cross_validate_regions`), per region and pooled."""
    reg = {k: C.region_of(data[k][0]["client_lat"].to_numpy(float),
                          data[k][0]["client_lon"].to_numpy(float)) for k in B}
    out, pooled = {}, []
    for ri, region in enumerate(C.REGIONS):
        test = [k for k in B if (reg[k] == ri).any()]
        if not test:
            continue
        theta = K.fit([K._subset(_design(B, k, feats), reg[k] != ri) for k in B])
        r = K._pool([K.evaluate(theta, K._subset(_design(B, k, feats), reg[k] == ri))
                     for k in test])
        out[region] = K._summary(r)
        pooled.append(r)
    out["pooled"] = K._summary(K._pool(pooled))
    return out


def upper_bounds(data: dict, B: dict) -> dict[str, dict[str, float]]:
    """In-sample top-3 with a free constant per site, and the 25-nearest-neighbour vote."""
    out = {}
    for key, (d, F) in B.items():
        site = F["site"]
        X = np.stack([F[f] for f in PREV] + [(site == j).astype(float)
                                            for j in range(1, d.n_sites)], axis=-1)
        fe = K.Design(d.service, X, d.chosen, d.n_rest, d.nearest_hit, d.nearest3_hit,
                      d.n_sites, d.platform)
        site_fe = K._summary(K.evaluate(K.fit([fe], ridge=1e-4), fe))
        rows = data[key][0]
        la, lo = rows["client_lat"].to_numpy(float), rows["client_lon"].to_numpy(float)
        km = C.sphere_km(la, lo, la, lo)
        np.fill_diagonal(km, np.inf)
        codes = {c: i for i, c in enumerate(sorted(set(rows["code"])))}
        y = rows["code"].map(codes).to_numpy()
        nn = np.argsort(km, axis=1)[:, :25]
        votes = np.zeros((len(y), len(codes)))
        for j in range(nn.shape[1]):
            np.add.at(votes, (np.arange(len(y)), y[nn[:, j]]), 1)
        top = np.argsort(-votes, axis=1, kind="stable")[:, :3]
        out[key] = {"site_constants_top3_pct": site_fe["top3_pct"],
                    "knn25_top1_pct": round(100 * float((top[:, 0] == y).mean()), 2),
                    "knn25_top3_pct": round(100 * float((top == y[:, None]).any(axis=1).mean()),
                                            2)}
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    data = K.read(Path(argv[0]), Path(argv[1]))
    g = pd.read_csv(DATA_DIR / "cities15000.csv.gz")
    B = features(data, g)
    for name, (feats, ridge) in EXPLORED.items():
        r = service_cv(B, feats, ridge)
        print(f"| {name} † | " + " | ".join(
            f"{r[k]['top1_pct']:.1f} / {r[k]['top3_pct']:.1f} / {r[k]['logloss']:.3f}"
            for k in (*sorted(B), "pooled")) + " |", flush=True)
    for region, r in region_cv(data, B, PREV + ("hub_site", "same_country")).items():
        print(f"| {region} (previous + hub_site + same country, clients held out) | "
              f"{r['top1_pct']:.1f} / {r['top3_pct']:.1f} / {r['logloss']:.3f} |", flush=True)
    print(upper_bounds(data, B))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
