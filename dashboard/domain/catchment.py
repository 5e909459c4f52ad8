"""Landing probabilities: how likely an anycast client is to land on each site.

Real anycast follows BGP, not geography: in measured catchments of root DNS services only about
a third of the vantage points reach their geographically nearest site. This module turns a
client's *geometry* (where it is, where the sites are) into a probability over the sites, with
a small conditional logit (a softmax over the candidate sites) whose handful of coefficients are
fitted on measured catchments (``python -m calibration catchment``; ``docs/calibration.md``,
"Landing probabilities"). It works for **any** list of sites: the features are computed from
coordinates only, so the model can be judged on anycast networks it was not fitted on.

Units and earth model: degrees in; distances are great-circle km on a sphere of radius
6371.0088 km (the mean earth radius). The <0.5 % error against the WGS84 ellipsoid is far below
what the features resolve (they compare distances of hundreds to thousands of km), and the sphere
costs one ``(n, 3) @ (3, m)`` product, so probabilities for 25,000 clients x 19 sites take
milliseconds.

Model (for one client; sites ranked by distance ``d_0 <= d_1 <= ...``, rank ``r`` from 0)::

    candidates = the C nearest sites (C = params.candidates; ties: lower site index first)
    u_j        = sum_f beta_f * x_f(client, site j)        for each candidate j
    u_rest     = u_(C-1) + beta_rest + log(m - C)           when m > C sites: one pseudo-site
                                                            for the farther ones, each as likely
                                                            as the farthest candidate times
                                                            exp(beta_rest)
    P(j)       = exp(u_j) / (sum_candidates exp(u) + exp(u_rest))

The features ``x_f`` are listed in :data:`FEATURES` with their meaning. Probability given to
"rest" is not assigned to any site (a row then sums to less than 1).

Announcement bias (:mod:`dashboard.domain.bias`): the model scores a candidate from its
distances, so a site's bias enters in those units: ``site_bias_km`` (the bias's equivalent km,
:func:`dashboard.domain.latency.km_per_rtt_ms`) is added to that site's distance from every
client, clamped at 0 km, *before* the candidates are chosen and the features computed. A
penalty makes the site look farther to the model (its score falls: fewer clients land there),
a bonus nearer; the region and hub features stay geographic.

Pure: numpy only, no I/O; the parameters come in explicitly (the public module
:mod:`dashboard.catchment` loads the shipped fitted file ``data/catchment_model.json``).
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from dashboard.domain.geodesy import validate_coords

#: Mean earth radius, km (sphere distances: see the module docstring).
EARTH_RADIUS_KM = 6371.0088
#: Softening of the distance ratio, km: below ~this distance, "twice as far" means little
#: (a site 10 km away vs 5 km away is the same metro for BGP).
RATIO_SOFTEN_KM = 100.0

#: Continent-scale regions computed from coordinates (crude boxes, see :func:`region_of`); they
#: stand for "across an ocean or a big connectivity gap", not for political borders.
REGIONS = ("NA", "SA", "EU", "AF", "AS", "OC")
#: Regions where most of the internet's transit and exchange capacity is (a site there is
#: reachable from far away more often than its distance says: African clients moving to
#: London and Amsterdam when an African site went dark).
CORE_REGIONS = ("NA", "EU")

#: Major interconnection metros: where the largest internet exchanges and carrier-neutral
#: colocation campuses are (DE-CIX Frankfurt, AMS-IX, LINX, France-IX, Equinix Ashburn, ...;
#: PeeringDB and TeleGeography list them among the biggest). A short curated list, fixed
#: *before* fitting (it is the list of the issue-14 follow-up brief, not tuned on the measured
#: catchments: Atlanta, Moscow or Brussels, where root DNS sites took much traffic, are absent).
#: (name, latitude, longitude, source of the point): GeoNames cities15000 city points, the
#: gazetteer the dashboard ships.
HUB_METROS: tuple[tuple[str, float, float, str], ...] = (
    ("Frankfurt", 50.11552, 8.68417, "GeoNames 2925533"),
    ("Amsterdam", 52.37403, 4.88969, "GeoNames 2759794"),
    ("London", 51.50853, -0.12574, "GeoNames 2643743"),
    ("Paris", 48.85341, 2.34880, "GeoNames 2988507"),
    ("Marseille", 43.29695, 5.38107, "GeoNames 2995469"),
    ("Stockholm", 59.32938, 18.06871, "GeoNames 2673730"),
    ("Ashburn", 39.04372, -77.48749, "GeoNames 4744870"),
    ("New York", 40.71427, -74.00597, "GeoNames 5128581"),
    ("Chicago", 41.85003, -87.65005, "GeoNames 4887398"),
    ("Dallas", 32.78306, -96.80667, "GeoNames 4684888"),
    ("Los Angeles", 34.05223, -118.24368, "GeoNames 5368361"),
    ("San Jose", 37.33939, -121.89496, "GeoNames 5392171"),
    ("Miami", 25.77427, -80.19366, "GeoNames 4164138"),
    ("Seattle", 47.60621, -122.33207, "GeoNames 5809844"),
    ("Toronto", 43.70643, -79.39864, "GeoNames 6167865"),
    ("Sao Paulo", -23.54750, -46.63611, "GeoNames 3448439"),
    ("Singapore", 1.28967, 103.85007, "GeoNames 1880252"),
    ("Hong Kong", 22.27832, 114.17469, "GeoNames 1819729"),
    ("Tokyo", 35.68950, 139.69171, "GeoNames 1850147"),
    ("Sydney", -33.86785, 151.20732, "GeoNames 2147714"),
    ("Mumbai", 19.07283, 72.88261, "GeoNames 1275339"),
    ("Johannesburg", -26.20227, 28.04363, "GeoNames 993800"),
)
#: A site within this great-circle distance of a hub metro's point is "at the hub", km: an
#: airport or a suburb campus (Ashburn for Washington, Palo Alto for San Jose) counts, the next
#: city does not. 50 and 200 km give the same held-out figures (docs/calibration.md).
HUB_RADIUS_KM = 100.0

#: Every feature the model knows, with its definition (units). A fitted parameter file names
#: the ones it uses, in order.
FEATURES: dict[str, str] = {
    "nearest": "1 for the geographically nearest site (rank 0), else 0",
    "log_rank": "log(1 + distance rank), rank 0 = nearest",
    "extra_1000km": "distance minus the nearest site's distance, in 1000 km",
    "log_ratio": f"log((d + {RATIO_SOFTEN_KM:g} km) / (d_nearest + {RATIO_SOFTEN_KM:g} km)): "
                 "how many times farther than the nearest site",
    "other_region": "1 when the site is in another continent-scale region than the client "
                    "(region_of: NA, SA, EU, AF, AS, OC boxes), else 0",
    "core_site_far_client": "1 when the site is in North America or Europe and the client is "
                            "not in the site's region, else 0",
    "hub_site": f"1 when the site is within {HUB_RADIUS_KM:g} km of a major interconnection "
                "metro (HUB_METROS: Frankfurt, Amsterdam, London, Ashburn, Singapore, ...), else 0",
    "rank_1": "1 for the second-nearest site", "rank_2": "1 for the third-nearest site",
    "rank_3": "1 for the fourth-nearest site", "rank_4": "1 for the fifth-nearest site",
    "rank_5_9": "1 for distance ranks 5 to 9", "rank_10_19": "1 for distance ranks 10 to 19",
}

#: Most candidates the model accepts (memory: n x C x features floats).
MAX_CANDIDATES = 256


@dataclass(frozen=True)
class CatchmentParams:
    """Fitted coefficients of the conditional logit (see the module docstring).

    ``features``: names from :data:`FEATURES`, in the order of ``coefficients``;
    ``candidates``: C, the nearest sites that get a probability each; ``rest_coefficient``:
    ``beta_rest`` (the farther sites as one pseudo-site; only used when there are more than C
    sites). Construction validates and raises ``ValueError`` naming the problem.
    """

    features: tuple[str, ...]
    coefficients: tuple[float, ...]
    candidates: int = 64
    rest_coefficient: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "features", tuple(str(f) for f in self.features))
        object.__setattr__(self, "coefficients", tuple(float(c) for c in self.coefficients))
        unknown = [f for f in self.features if f not in FEATURES]
        if unknown:
            raise ValueError(f"unknown catchment feature(s) {unknown}; known: {list(FEATURES)}")
        if len(set(self.features)) != len(self.features):
            raise ValueError(f"catchment features repeat: {list(self.features)}")
        if len(self.coefficients) != len(self.features):
            raise ValueError(f"{len(self.coefficients)} coefficients for "
                             f"{len(self.features)} features")
        if not all(math.isfinite(c) for c in self.coefficients):
            raise ValueError(f"catchment coefficients must be finite, got {self.coefficients}")
        if not math.isfinite(float(self.rest_coefficient)):
            raise ValueError("rest_coefficient must be finite")
        object.__setattr__(self, "rest_coefficient", float(self.rest_coefficient))
        c = operator.index(self.candidates)
        if not 1 <= c <= MAX_CANDIDATES:
            raise ValueError(f"candidates must be in [1, {MAX_CANDIDATES}], got {c}")
        object.__setattr__(self, "candidates", c)

    def to_dict(self) -> dict[str, Any]:
        return {"features": list(self.features), "coefficients": list(self.coefficients),
                "candidates": self.candidates, "rest_coefficient": self.rest_coefficient}


def params_from_dict(data: Mapping[str, Any]) -> CatchmentParams:
    """:class:`CatchmentParams` from the ``params`` object of ``data/catchment_model.json``;
    ``ValueError`` names a missing or bad field."""
    try:
        return CatchmentParams(features=tuple(data["features"]),
                               coefficients=tuple(data["coefficients"]),
                               candidates=int(data.get("candidates", 64)),
                               rest_coefficient=float(data.get("rest_coefficient", 0.0)))
    except KeyError as exc:
        raise ValueError(f"catchment parameters: missing field {exc.args[0]!r}") from None
    except TypeError as exc:
        raise ValueError(f"catchment parameters: {exc}") from None


def region_of(lats: object, lons: object) -> np.ndarray:
    """Continent-scale region index (into :data:`REGIONS`) of each point, degrees in.

    Crude boxes, good enough to tell "same side of an ocean" (a proxy for a cable crossing or a
    thin link): the Americas west of 30 W split at 7 N (Colombia/Venezuela north of the
    Panama line count as South America), Europe north of 35 N between 30 W and 45 E, the Middle
    East (north of 12 N, east of 34 E) with Asia, Africa the rest between 30 W and 52 E, Oceania
    south of 10 S east of 110 E and the Pacific beyond 150 E / 150 W.
    """
    la = np.asarray(lats, dtype=float)
    lo = np.asarray(lons, dtype=float)
    out = np.full(np.broadcast(la, lo).shape, REGIONS.index("AS"), dtype=np.int8)
    americas = (lo < -30.0) & (lo >= -150.0)
    south_am = americas & ((la < 7.0) | ((la < 12.5) & (lo > -79.0)))
    out[americas & ~south_am] = REGIONS.index("NA")
    out[south_am] = REGIONS.index("SA")
    afr_eur = (lo >= -30.0) & (lo < 52.0)
    europe = afr_eur & (la >= 35.0) & (lo < 45.0)
    middle_east = afr_eur & ~europe & (la >= 12.0) & (lo >= 34.0)
    africa = afr_eur & ~europe & ~middle_east
    out[europe] = REGIONS.index("EU")
    out[africa] = REGIONS.index("AF")
    oceania = ((la < -10.0) & (lo >= 110.0)) | (lo >= 150.0) | (lo < -150.0)
    out[oceania] = REGIONS.index("OC")
    return out


def hub_sites(site_lats: object, site_lons: object) -> np.ndarray:
    """``(m,)`` bool: the site is within :data:`HUB_RADIUS_KM` of a :data:`HUB_METROS` point
    (degrees in). A property of the site's coordinates only, so it transfers to any site list."""
    la = np.asarray(site_lats, dtype=float)
    lo = np.asarray(site_lons, dtype=float)
    if la.size == 0:
        return np.zeros(0, dtype=bool)
    hubs = np.array([(h[1], h[2]) for h in HUB_METROS])
    return sphere_km(la, lo, hubs[:, 0], hubs[:, 1]).min(axis=1) <= HUB_RADIUS_KM


def _unit(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    phi, lam = np.radians(lat), np.radians(lon)
    c = np.cos(phi)
    return np.stack([c * np.cos(lam), c * np.sin(lam), np.sin(phi)], axis=-1)


def sphere_km(client_lats: np.ndarray, client_lons: np.ndarray, site_lats: np.ndarray,
              site_lons: np.ndarray) -> np.ndarray:
    """``(n, m)`` great-circle km between every client and every site (sphere, degrees in).

    From the chord length (``2 R asin(|u - v| / 2)``), accurate to metres at any distance.
    """
    u = _unit(client_lats, client_lons)
    v = _unit(site_lats, site_lons)
    cos = np.clip(u @ v.T, -1.0, 1.0)
    chord = np.sqrt(np.maximum(2.0 - 2.0 * cos, 0.0))
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.minimum(chord / 2.0, 1.0))


def candidate_features(client_lats: np.ndarray, client_lons: np.ndarray, site_lats: np.ndarray,
                       site_lons: np.ndarray, features: tuple[str, ...],
                       candidates: int, site_bias_km: np.ndarray | None = None
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The design of the model for validated coordinates (degrees).

    Returns ``(order, X, n_rest)``: ``order`` (n, c) site indices of the ``c = min(candidates,
    m)`` nearest sites, nearest first (ties: lower index first); ``X`` (n, c, len(features))
    feature values (definitions in :data:`FEATURES`); ``n_rest`` the number of farther sites
    (``m - c``, the same for every client). ``site_bias_km`` (m,): added to each site's
    distances, clamped at 0 (module docstring); None = none.
    """
    n, m = len(client_lats), len(site_lats)
    c = min(candidates, m)
    km = sphere_km(client_lats, client_lons, site_lats, site_lons)
    if site_bias_km is not None:
        km = np.maximum(km + np.asarray(site_bias_km, dtype=float)[None, :], 0.0)
    order = np.argsort(km, axis=1, kind="stable")[:, :c]
    d = np.take_along_axis(km, order, axis=1)
    rank = np.broadcast_to(np.arange(c, dtype=float), (n, c))
    need_regions = any(f in ("other_region", "core_site_far_client") for f in features)
    if need_regions:
        creg = region_of(client_lats, client_lons)[:, None]
        sreg = region_of(site_lats, site_lons)[order]
        other = (sreg != creg)
    X = np.empty((n, c, len(features)))
    for i, f in enumerate(features):
        if f == "nearest":
            X[:, :, i] = rank == 0
        elif f == "log_rank":
            X[:, :, i] = np.log1p(rank)
        elif f == "extra_1000km":
            X[:, :, i] = (d - d[:, :1]) / 1000.0
        elif f == "log_ratio":
            X[:, :, i] = np.log((d + RATIO_SOFTEN_KM) / (d[:, :1] + RATIO_SOFTEN_KM))
        elif f == "other_region":
            X[:, :, i] = other
        elif f == "core_site_far_client":
            core = np.isin(sreg, [REGIONS.index(r) for r in CORE_REGIONS])
            X[:, :, i] = core & other
        elif f == "hub_site":
            X[:, :, i] = hub_sites(site_lats, site_lons)[order]
        elif f.startswith("rank_"):
            lo, hi = (int(x) for x in (f[5:].split("_") * 2)[:2])
            X[:, :, i] = (rank >= lo) & (rank <= hi)
        else:  # pragma: no cover - CatchmentParams validates names
            raise ValueError(f"unknown feature {f!r}")
    return order, X, np.full(n, m - c)


def choice_probabilities(X: np.ndarray, coefficients: np.ndarray, n_rest: np.ndarray,
                         rest_coefficient: float) -> tuple[np.ndarray, np.ndarray]:
    """Softmax over candidates (+ the "rest" pseudo-site where ``n_rest > 0``: the farther
    sites, each with the farthest candidate's utility plus ``rest_coefficient``).

    ``X`` (n, c, f), ``coefficients`` (f,). Returns ``(P, P_rest)``: ``P`` (n, c) and ``P_rest``
    (n,), summing to 1 per row; computed with the max subtracted, so no overflow.
    """
    u = X @ np.asarray(coefficients, dtype=float)
    has_rest = n_rest > 0
    u_rest = np.where(has_rest, u[:, -1] + rest_coefficient + np.log(np.maximum(n_rest, 1)),
                      -np.inf)
    top = np.maximum(u.max(axis=1, initial=-np.inf), u_rest)
    e = np.exp(u - top[:, None])
    e_rest = np.exp(u_rest - top)
    z = e.sum(axis=1) + e_rest
    return e / z[:, None], e_rest / z


def landing_probabilities(client_lats: object, client_lons: object, site_lats: object,
                          site_lons: object, k: int = 5, *, params: CatchmentParams,
                          site_bias_km: object = None) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` most likely landing sites of every client and their probabilities.

    Degrees in (sphere distances, see the module docstring). Returns ``(indices,
    probabilities)``, both of shape ``(n, k)``: indices (int64) are rows of the site arrays,
    ranked by probability (ties: nearer site first); probabilities are in [0, 1] and each row
    sums to at most 1 -- the remainder is the probability of the sites beyond ``k`` (and beyond
    the model's ``params.candidates`` nearest). When ``k`` exceeds the sites that get a
    probability, the row is padded with index ``-1`` and probability ``0``. ``n = 0`` gives
    ``(0, k)`` arrays. Invalid coordinates (NaN, out of range, mismatched lengths), no sites or
    ``k < 1`` raise ``ValueError`` naming the problem. ``site_bias_km``: one km offset per
    site (the announcement bias, module docstring), None = none.
    """
    cla, clo = validate_coords(client_lats, client_lons, "client")
    sla, slo = validate_coords(site_lats, site_lons, "site")
    k = operator.index(k)
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if len(sla) == 0:
        raise ValueError("no sites to choose from")
    sbias = None
    if site_bias_km is not None:
        sbias = np.asarray(site_bias_km, dtype=float)
        if sbias.shape != sla.shape or not np.isfinite(sbias).all():
            raise ValueError(f"site_bias_km needs one finite km per site ({len(sla)}), got "
                             f"shape {sbias.shape}")
    n = len(cla)
    idx = np.full((n, k), -1, dtype=np.int64)
    prob = np.zeros((n, k))
    if n == 0:
        return idx, prob
    coef = np.asarray(params.coefficients)
    step = max(1, 2_000_000 // (min(params.candidates, len(sla)) * max(1, len(coef)) + len(sla)))
    for s in range(0, n, step):
        e = slice(s, min(s + step, n))
        order, X, n_rest = candidate_features(cla[e], clo[e], sla, slo, params.features,
                                              params.candidates, sbias)
        p, _ = choice_probabilities(X, coef, n_rest, params.rest_coefficient)
        # Rank by probability; candidates are nearest first, so a stable sort keeps nearer first
        # among equal probabilities.
        by_p = np.argsort(-p, axis=1, kind="stable")[:, :k]
        kk = by_p.shape[1]
        idx[e, :kk] = np.take_along_axis(order, by_p, axis=1)
        prob[e, :kk] = np.take_along_axis(p, by_p, axis=1)
    return idx, prob
