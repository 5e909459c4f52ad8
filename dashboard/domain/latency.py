"""Latency model calibrated on public measurements: internet leg, backbone leg, anycast and direct.

Units: degrees in, round-trip milliseconds out. Pair distances are WGS84 geodesic km
(:func:`dashboard.domain.geodesy.geodesic_km`); distances to the measured cities used for the
spatial interpolation are great-circle km on a sphere of radius 6371.0088 km (they only weight
neighbours, so the <0.5 % sphere error does not matter).

Pure: no I/O. Every function takes an explicit, frozen :class:`LatencyParams`; the public module
:mod:`dashboard.latency` loads the shipped fitted file (``data/latency_model.json``, written by
``python -m calibration``) and passes it for you. ``docs/calibration.md`` explains the fit.

Internet leg (median RTT between points ``a`` and ``b`` at geodesic distance ``d`` km)::

    slope = inflation_scale * (S[R(a), R(b)] + m_a[R(b)] + m_b[R(a)])      # ms per 1000 km
    rtt   = max(floor(d), overhead_ms + e_a + e_b + max(slope, floor_slope) * d / 1000)
    floor(d) = 2 * d / fibre_km_per_ms                                        # light in fibre

``R(x)`` is the region of a point (the region of its nearest measured city), ``S`` the symmetric
region-pair slope matrix, ``e_x`` (ms) the location's additive effect (access network, peering)
and ``m_x[R]`` (ms per 1000 km) how much more (or less) circuitous than its region's average the
location's routes towards region ``R`` are. Location terms are interpolated from the measured
cities (inverse-square distance weights over the ``interp_neighbours`` nearest, softened by
``interp_soften_km``) and shrunk towards the region mean with distance from the nearest measured
city: ``weight = exp(-d_nearest / interp_range_km)``. At a measured city the model uses that
city's own fitted terms.

The band ``(p25, p75)`` multiplies the median by quartiles of ``measured / predicted`` seen on
held-out pairs (cross-validation), per distance band; away from measured cities it blends towards
the wider quartiles seen with whole cities held out, with the same weight as above.

Access network (who the client is): ``params.access`` is ``"datacenter"`` (the formula above,
fitted on server-to-server pings in hosting data centres) or ``"end-user"`` (homes and offices:
a last mile and a consumer ISP in front of the same internet). For end users every internet leg
(client -> PoP and the direct path client -> origin; never the backbone) becomes::

    rtt_end_user = access_ms + access_region_ms[R(src)] + access_factor * rtt            (ms)

``src`` is the client (every caller passes the client first); ``access_region_ms`` empty = 0.
The band then uses the end users' own quartile ratios (``access_band_p25/p75``, per distance
band) when fitted. Fitted on RIPE Atlas probes' RTTs to the anycast sites they reached
(``python -m calibration access``, ``docs/calibration.md``); ``"datacenter"`` ignores every
``access_*`` field, so its numbers are exactly the data-centre model's.

Backbone leg (provider's private network, PoP -> origin)::

    stretch = backbone_stretch + r[R(p)] + r[R(o)] + P[R(p), R(o)]          # x the fibre floor
    cables  = backbone_share * (S[R(p), R(o)] + m_p[R(o)] + m_o[R(p)]) * d / 1000
    rtt = max(backbone_route_factor * floor(d),
              backbone_overhead_ms + backbone_short_ms * exp(-d / backbone_short_km)
              + backbone_scale * (stretch * floor(d) + cables))

A private backbone has its own geography: it skips the access networks and transit hand-offs
of the internet (a fixed overhead instead of the cities' additive effects); its length over the
fibre floor depends on which regions the two ends are in (``r``: per-region adjustment, ``P``:
symmetric region-pair term, e.g. South Africa <-> Brazil via Europe), and part of the location
geography the internet leg learned from 241 measured cities (``cables``: the internet's distance
slope between the two sites, without the additive effects and the internet what-if knob) tells
where cables run direct (e.g. the US East Coast to Europe) and where they detour. Regions ``R``
are those of the internet leg (nearest measured city). Fitted on published cloud inter-region
RTTs (Azure, P50, 2026-07; ``python -m calibration backbone``), validated with whole cloud regions
held out (``docs/calibration.md``). Empty ``r``/``P`` mean zeros. ``backbone_scale`` is the what-if
knob (1 = as fitted); the internet leg's knobs do not touch the backbone.

Anycast path = internet leg client -> PoP + ``pop_overhead_ms`` + backbone leg PoP -> origin
(:func:`anycast_rtt_ms`; the overhead is reported with the backbone leg, :func:`backbone_leg_ms`);
direct path = internet leg client -> origin.
"""

from __future__ import annotations

import math
from dataclasses import MISSING, dataclass, field, fields, replace
from typing import Any, Mapping

import numpy as np

from dashboard.domain.geodesy import geodesic_km
from dashboard.domain.spatial import SiteGrid

try:  # what np.einsum calls when not asked to optimize, without its ~0.6 us Python wrapper
    from numpy._core.multiarray import c_einsum as _einsum
except ImportError:  # pragma: no cover - another numpy layout: the public function
    _einsum = np.einsum

FIBRE_KM_PER_MS = 204.0
EARTH_RADIUS_KM = 6371.0088

#: Client access types (:attr:`LatencyParams.access`): hosts in data centres (the fitted
#: server-to-server model) or end users behind a home/office access network.
ACCESS_TYPES = ("datacenter", "end-user")

#: Parameters an advanced user may change (UI, settings file); the per-city table is fitted only.
TUNABLE = (
    "fibre_km_per_ms", "overhead_ms", "inflation_scale", "min_rtt_ms", "interp_range_km",
    "band_scale", "backbone_scale", "backbone_route_factor", "backbone_overhead_ms",
    "pop_overhead_ms",
)


def _tuple(x: Any) -> tuple:
    return tuple(float(v) for v in x)


@dataclass(frozen=True)
class LatencyParams:
    """Named parameters of the latency model (see the module docstring for the formula).

    Frozen and hashable, so it can key caches; change it with :func:`dataclasses.replace` or
    :func:`with_overrides`. Construction validates every field and raises ``ValueError`` naming it.
    """

    #: Region codes (``R``), e.g. ``("NA", "EUW", ...)``; names are for humans only.
    regions: tuple[str, ...]
    #: ``S``: symmetric region-pair slope, ms per 1000 km, row-major ``len(regions)**2`` values.
    region_slope_ms_per_1000km: tuple[float, ...]
    #: Fixed overhead of every internet path, ms (serialisation, routers, hosts).
    overhead_ms: float
    #: Measured cities: names (``"City, Country"``), coordinates (degrees), region index.
    city_names: tuple[str, ...]
    city_lats: tuple[float, ...]
    city_lons: tuple[float, ...]
    city_regions: tuple[int, ...]
    #: ``e``: additive effect per city, ms.
    city_effect_ms: tuple[float, ...]
    #: ``m``: per-city slope adjustment towards each region, ms per 1000 km, row-major
    #: ``len(cities) * len(regions)``.
    city_slope_ms_per_1000km: tuple[float, ...]
    #: Band: distance band upper edges (km, increasing, last = inf) and quartile ratios
    #: measured/predicted per band, near measured cities and far from them.
    band_edges_km: tuple[float, ...]
    band_p25_near: tuple[float, ...]
    band_p75_near: tuple[float, ...]
    band_p25_far: tuple[float, ...]
    band_p75_far: tuple[float, ...]
    #: Spatial interpolation of the city terms.
    interp_neighbours: int = 4
    interp_soften_km: float = 1.0
    interp_range_km: float = 300.0
    #: Light in fibre, km per ms one way (refractive index ~1.47).
    fibre_km_per_ms: float = FIBRE_KM_PER_MS
    #: Multiplies the fitted distance slope (1 = as fitted); a what-if knob for the UI.
    inflation_scale: float = 1.0
    #: Multiplies the half-widths of the band around the median (1 = as fitted).
    band_scale: float = 1.0
    #: Smallest internet RTT reported, ms (two hosts in one building still take ~this).
    min_rtt_ms: float = 0.5
    #: Backbone leg (see the module docstring): fixed overhead (ms); global stretch over the
    #: fibre floor; per-region stretch adjustments (one per region, or empty = 0); symmetric
    #: region-pair stretch terms (row-major ``len(regions)**2``, or empty = 0); the share of the
    #: internet's distance term; short-path term (ms, decaying over ``backbone_short_km``); the
    #: what-if multiplier; and the minimum multiple of the fibre floor.
    backbone_overhead_ms: float = 6.0
    backbone_stretch: float = 1.6
    backbone_share: float = 0.0
    backbone_region_stretch: tuple[float, ...] = ()
    backbone_pair_stretch: tuple[float, ...] = ()
    backbone_short_ms: float = 0.0
    backbone_short_km: float = 500.0
    backbone_scale: float = 1.0
    backbone_route_factor: float = 1.0
    #: Extra time at the access point (anycast gateway + hop onto the backbone), ms.
    pop_overhead_ms: float = 1.0
    #: Who the clients are (:data:`ACCESS_TYPES`): ``"datacenter"`` = the fitted
    #: server-to-server model as is; ``"end-user"`` adds the access-network term below to every
    #: internet leg (module docstring). Travels with the parameters so that every caller that
    #: passes ``params`` (route tables, what-if, capacity, API) gets the same legs.
    access: str = "datacenter"
    #: End-user access term: additive delay (ms, >= 0) of a home/office access network and
    #: consumer ISP; multiplier (>= 1) of the data-centre median; per-region additive
    #: adjustment by the client's region (one per region, or empty = 0; sum with
    #: ``access_ms`` >= 0); quartile ratios measured/predicted per distance band
    #: (``band_edges_km``; or empty = the data-centre band). Unused for ``"datacenter"``.
    access_ms: float = 0.0
    access_factor: float = 1.0
    access_region_ms: tuple[float, ...] = ()
    access_band_p25: tuple[float, ...] = ()
    access_band_p75: tuple[float, ...] = ()

    # Derived numpy views, built once per instance (not part of equality or hashing).
    _arr: dict = field(default_factory=dict, init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        conv: dict[str, Any] = {
            "regions": tuple(str(r) for r in self.regions),
            "city_names": tuple(str(n) for n in self.city_names),
            "city_regions": tuple(int(r) for r in self.city_regions),
            "interp_neighbours": int(self.interp_neighbours),
        }
        if not isinstance(self.access, str) or self.access not in ACCESS_TYPES:
            raise ValueError(f"latency parameter 'access': {str(self.access)[:40]!r} is not one "
                             f"of {', '.join(repr(a) for a in ACCESS_TYPES)}")
        conv["access"] = self.access
        for f in fields(self):
            if f.name in conv or f.name == "_arr":
                continue
            v = getattr(self, f.name)
            try:
                conv[f.name] = float(v) if np.ndim(v) == 0 else _tuple(np.asarray(v).ravel())
            except (TypeError, ValueError):
                raise ValueError(f"latency parameter {f.name!r}: {v!r} is not numeric") from None
        for k, v in conv.items():
            object.__setattr__(self, k, v)
        self._validate()
        nr, nc = len(self.regions), len(self.city_names)
        a = self._arr
        a["S"] = np.array(self.region_slope_ms_per_1000km).reshape(nr, nr)
        a["lat"] = np.array(self.city_lats)
        a["lon"] = np.array(self.city_lons)
        a["xyz"] = _unit_vectors(a["lat"], a["lon"])
        a["reg"] = np.array(self.city_regions, dtype=np.int64)
        a["e"] = np.array(self.city_effect_ms)
        a["m"] = np.array(self.city_slope_ms_per_1000km).reshape(nc, nr)
        # Region means of the city terms: what a point far from every measured city gets.
        a["e_reg"] = np.array([a["e"][a["reg"] == r].mean() for r in range(nr)])
        a["m_reg"] = np.array([a["m"][a["reg"] == r].mean(axis=0) for r in range(nr)])
        a["e_reg_list"] = tuple(a["e_reg"].tolist())  # (locate_point: no numpy call per read)
        a["bb_r"] = (np.array(self.backbone_region_stretch) if self.backbone_region_stretch
                     else np.zeros(nr))
        a["bb_P"] = (np.array(self.backbone_pair_stretch).reshape(nr, nr)
                     if self.backbone_pair_stretch else np.zeros((nr, nr)))
        a["edges"] = np.array(self.band_edges_km)
        for k in ("band_p25_near", "band_p75_near", "band_p25_far", "band_p75_far",
                  "access_band_p25", "access_band_p75"):
            a[k] = np.array(getattr(self, k))
        a["acc_reg"] = (np.array(self.access_region_ms) if self.access_region_ms
                        else np.zeros(nr))

    def _validate(self) -> None:
        def bad(name: str, why: str) -> ValueError:
            return ValueError(f"latency parameter {name!r}: {why}")

        nr, nc = len(self.regions), len(self.city_names)
        if nr == 0:
            raise bad("regions", "needs at least one region")
        if len(set(self.regions)) != nr:
            raise bad("regions", "region codes must be unique")
        if len(self.region_slope_ms_per_1000km) != nr * nr:
            raise bad("region_slope_ms_per_1000km", f"needs {nr}x{nr}={nr * nr} values, "
                      f"got {len(self.region_slope_ms_per_1000km)}")
        s = np.array(self.region_slope_ms_per_1000km).reshape(nr, nr)
        if not np.allclose(s, s.T):
            raise bad("region_slope_ms_per_1000km", "must be symmetric")
        if len(self.backbone_region_stretch) not in (0, nr):
            raise bad("backbone_region_stretch", f"needs one value per region ({nr}) or none, "
                      f"got {len(self.backbone_region_stretch)}")
        if len(self.backbone_pair_stretch) not in (0, nr * nr):
            raise bad("backbone_pair_stretch", f"needs {nr}x{nr}={nr * nr} values or none, "
                      f"got {len(self.backbone_pair_stretch)}")
        if self.backbone_pair_stretch:
            bp = np.array(self.backbone_pair_stretch).reshape(nr, nr)
            if not np.allclose(bp, bp.T):
                raise bad("backbone_pair_stretch", "must be symmetric")
        if nc == 0:
            raise bad("city_names", "needs at least one measured city")
        for name in ("city_lats", "city_lons", "city_regions", "city_effect_ms"):
            if len(getattr(self, name)) != nc:
                raise bad(name, f"needs one value per city ({nc}), got {len(getattr(self, name))}")
        if len(self.city_slope_ms_per_1000km) != nc * nr:
            raise bad("city_slope_ms_per_1000km", f"needs cities x regions = {nc * nr} values, "
                      f"got {len(self.city_slope_ms_per_1000km)}")
        if any(abs(v) > 90 for v in self.city_lats):
            raise bad("city_lats", "latitudes must be within [-90, 90] degrees")
        if any(abs(v) > 180 for v in self.city_lons):
            raise bad("city_lons", "longitudes must be within [-180, 180] degrees")
        if any(r < 0 or r >= nr for r in self.city_regions):
            raise bad("city_regions", f"region indices must be in [0, {nr - 1}]")
        missing = sorted(set(range(nr)) - set(self.city_regions))
        if missing:
            raise bad("city_regions", f"region {self.regions[missing[0]]!r} has no measured city")
        for f in fields(self):
            v = getattr(self, f.name)
            vals = v if isinstance(v, tuple) else (v,)
            if f.name in ("regions", "city_names", "_arr") or (vals and isinstance(vals[0], str)):
                continue
            if f.name == "band_edges_km":
                vals = vals[:-1]
            if not all(math.isfinite(x) for x in vals):
                raise bad(f.name, "values must be finite numbers")
        nb = len(self.band_edges_km)
        if nb == 0 or not math.isinf(self.band_edges_km[-1]) or \
                any(b <= a for a, b in zip(self.band_edges_km, self.band_edges_km[1:])):
            raise bad("band_edges_km", "must increase and end with Infinity")
        for name in ("band_p25_near", "band_p75_near", "band_p25_far", "band_p75_far",
                     "access_band_p25", "access_band_p75"):
            vals = getattr(self, name)
            if name.startswith("access_") and len(vals) == 0:
                continue
            if len(vals) != nb:
                raise bad(name, f"needs one ratio per distance band ({nb}), got {len(vals)}")
            lo_hi = (0.0, 1.0) if "p25" in name else (1.0, 10.0)
            if not all(lo_hi[0] < x <= lo_hi[1] if "p25" in name else lo_hi[0] <= x < lo_hi[1]
                       for x in vals):
                raise bad(name, f"ratios must be in {'(0, 1]' if 'p25' in name else '[1, 10)'} "
                          "so that p25 <= median <= p75")
        positive = ("fibre_km_per_ms", "inflation_scale", "interp_range_km", "interp_soften_km",
                    "backbone_route_factor", "backbone_scale", "backbone_short_km",
                    "backbone_stretch")
        for name in positive:
            if getattr(self, name) <= 0:
                raise bad(name, f"must be > 0, got {getattr(self, name)}")
        for name in ("band_scale", "min_rtt_ms", "backbone_overhead_ms", "pop_overhead_ms"):
            if getattr(self, name) < 0:
                raise bad(name, f"must be >= 0, got {getattr(self, name)}")
        if self.access_ms < 0:
            raise bad("access_ms", f"must be >= 0, got {self.access_ms}")
        if self.access_factor < 1:
            raise bad("access_factor", f"must be >= 1 (end users are never faster than data "
                      f"centres), got {self.access_factor}")
        if len(self.access_region_ms) not in (0, nr):
            raise bad("access_region_ms", f"needs one value per region ({nr}) or none, "
                      f"got {len(self.access_region_ms)}")
        if any(self.access_ms + v < 0 for v in self.access_region_ms):
            raise bad("access_region_ms", "access_ms + a region's term must be >= 0")
        if len(self.access_band_p25) != len(self.access_band_p75):
            raise bad("access_band_p75", "needs as many values as access_band_p25")
        if self.backbone_route_factor < 1:
            raise bad("backbone_route_factor", "must be >= 1 (no path beats the fibre floor)")
        if not 1 <= self.interp_neighbours <= nc:
            raise bad("interp_neighbours", f"must be in [1, {nc}], got {self.interp_neighbours}")

    @property
    def n_cities(self) -> int:
        return len(self.city_names)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (inverse of :func:`params_from_dict`); ``inf`` becomes ``"inf"``."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name == "_arr":
                continue
            v = getattr(self, f.name)
            out[f.name] = [("inf" if isinstance(x, float) and math.isinf(x) else x) for x in v] \
                if isinstance(v, tuple) else v
        return out


def params_from_dict(data: Mapping[str, Any]) -> LatencyParams:
    """Build parameters from a plain mapping (a parsed JSON file); unknown or missing keys and bad
    values raise ``ValueError`` naming the field."""
    if not isinstance(data, Mapping):
        raise ValueError(f"latency parameters must be a JSON object, got {type(data).__name__}")
    names = {f.name for f in fields(LatencyParams) if f.init}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValueError(f"unknown latency parameter {unknown[0]!r}")
    required = {f.name for f in fields(LatencyParams)
                if f.init and f.default is MISSING and f.default_factory is MISSING}
    missing = sorted(required - set(data))
    if missing:
        raise ValueError(f"latency parameter {missing[0]!r} is missing")
    kwargs = {}
    for k, v in data.items():
        if isinstance(v, list):
            v = tuple(float("inf") if x in ("inf", "Infinity") else x for x in v)
        kwargs[k] = v
    try:
        return LatencyParams(**kwargs)
    except TypeError as exc:  # e.g. a list where a number belongs
        raise ValueError(f"latency parameters: {exc}") from None



#: Accepted range ``(low, high)`` of each :data:`TUNABLE` override, inclusive. Tighter than what
#: :class:`LatencyParams` itself accepts where a value would make the model meaningless: no
#: negative overheads, no signal faster than light in fibre (~204 km/ms), no backbone path
#: shorter than the fibre floor; the upper limits are typo guards.
OVERRIDE_RANGES: dict[str, tuple[float, float]] = {
    "fibre_km_per_ms": (100.0, FIBRE_KM_PER_MS),
    "overhead_ms": (0.0, 500.0),
    "inflation_scale": (0.25, 4.0),
    "min_rtt_ms": (0.0, 100.0),
    "interp_range_km": (1.0, 40_000.0),
    "band_scale": (0.0, 5.0),
    "backbone_scale": (0.25, 4.0),
    "backbone_route_factor": (1.0, 4.0),
    "backbone_overhead_ms": (0.0, 500.0),
    "pop_overhead_ms": (0.0, 500.0),
}
#: The fields :func:`locate` reads: location terms computed with parameters that agree on these
#: can be reused (the other tunables only enter the formula afterwards).
LOCATE_FIELDS = ("interp_neighbours", "interp_soften_km", "interp_range_km")


def check_override(name: object, value: object) -> float:
    """``value`` as the float an override of tunable ``name`` may take (6 significant digits,
    so that it equals itself after a trip through a link), or ``ValueError`` saying why not."""
    if not isinstance(name, str) or name not in TUNABLE:
        raise ValueError(f"latency parameter {str(name)[:40]!r} cannot be overridden; "
                         f"tunable: {', '.join(TUNABLE)}")
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"latency parameter {name!r}: {str(value)[:20]!r} is not a number")
    try:
        v = float(value)
    except (ValueError, OverflowError):
        raise ValueError(f"latency parameter {name!r}: {str(value)[:20]!r} is not a number") \
            from None
    lo, hi = OVERRIDE_RANGES[name]
    if not math.isfinite(v) or not lo <= v <= hi:
        raise ValueError(f"latency parameter {name!r}: {v:g} is outside [{lo:g}, {hi:g}]")
    return float(f"{v:.6g}")


def canonical_overrides(overrides: Mapping[str, Any] | Any) -> tuple[tuple[str, float], ...]:
    """Validated overrides (a mapping or ``(name, value)`` pairs) as a sorted tuple of
    ``(name, float)``: the hashable form services and caches key on. ``ValueError`` names the
    first bad one."""
    items = overrides.items() if isinstance(overrides, Mapping) else overrides
    out: dict[str, float] = {}
    for item in items:
        try:
            name, value = item
        except (TypeError, ValueError):
            raise ValueError(f"latency override {str(item)[:40]!r} is not a (name, value) "
                             "pair") from None
        out[str(name) if isinstance(name, str) else name] = check_override(name, value)
    return tuple(sorted(out.items()))


def with_overrides(params: LatencyParams, overrides: Mapping[str, Any]) -> LatencyParams:
    """A copy with some of the :data:`TUNABLE` scalars changed (UI "advanced" controls, links,
    the API). Each value must lie in :data:`OVERRIDE_RANGES`.

    Raises ``ValueError`` naming an unknown/non-tunable field or a bad value.
    """
    checked = dict(canonical_overrides(overrides))
    return replace(params, **checked)


# --------------------------------------------------------------------------------------------
# geometry helpers


def _unit_vectors(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    la, lo = np.radians(lat), np.radians(lon)
    cla = np.cos(la)  # once (the same values twice before)
    return np.stack([cla * np.cos(lo), cla * np.sin(lo), np.sin(la)], axis=-1)


def floor_rtt_ms(distance_km: object, fibre_km_per_ms: float = FIBRE_KM_PER_MS) -> np.ndarray:
    """Physical lower bound of a round trip over fibre, ms: ``2 * d / fibre_km_per_ms``."""
    return 2.0 * np.asarray(distance_km, dtype=float) / fibre_km_per_ms


@dataclass(frozen=True)
class Location:
    """Model terms of arbitrary points (arrays of one length): region index, additive effect ``e``
    (ms), slope adjustments ``m`` towards every region (n, R) in ms/1000 km, the weight (0..1) of
    the local measured cities versus the region mean, and the distance (km) to the nearest
    measured city."""

    region: np.ndarray
    effect_ms: np.ndarray
    slope_ms_per_1000km: np.ndarray
    weight: np.ndarray
    nearest_km: np.ndarray


#: Points from which :func:`locate` uses the cities' grid index (:mod:`.spatial`) instead of a
#: scan of every city; below it the scan's few calls are cheaper than the per-cell products.
INDEX_MIN_POINTS = 256
#: Points per chunk with the index (its memory is a few candidates per point, not 241 cities).
INDEX_CHUNK = 1 << 20
#: Points per sub-block of :func:`locate`'s interpolation (cache-sized temporaries).
_TERMS_BLOCK = 4096


def _city_grid(params: LatencyParams) -> SiteGrid | None:
    """The measured cities' grid index for ``interp_neighbours`` neighbours, built once per
    parameters object (~0.2 s); None when every city is a neighbour (nothing to prune)."""
    a = params._arr
    if "grid" not in a:  # a benign race: two threads may both build it, the last one wins
        k, m = params.interp_neighbours, len(params.city_names)
        a["grid"] = SiteGrid(a["xyz"], k) if k < m else None
    return a["grid"]


def locate(lat: object, lon: object, params: LatencyParams, chunk: int = 65536,
           index: bool = True) -> Location:
    """Region and interpolated location terms of points (degrees; 1-D arrays of one length).

    The region is that of the nearest measured city (no web service needed); terms are the
    inverse-square-distance average over the ``interp_neighbours`` nearest cities, shrunk towards
    the region mean by ``exp(-d_nearest / interp_range_km)``.

    The nearest cities come from a grid index (:class:`~dashboard.domain.spatial.SiteGrid`)
    for :data:`INDEX_MIN_POINTS` points or more, from a scan of every city otherwise or with
    ``index=False``; both give the same numbers to the bit (``tests/unit/test_spatial.py``).
    """
    la = np.asarray(lat, dtype=float).ravel()
    lo = np.asarray(lon, dtype=float).ravel()
    a = params._arr
    n, k = len(la), params.interp_neighbours
    nr = len(params.regions)
    region = np.empty(n, dtype=np.int64)
    eff = np.empty(n)
    slope = np.empty((n, nr))
    weight = np.empty(n)
    nearest = np.empty(n)
    xyz = a["xyz"]
    grid = _city_grid(params) if (index and n >= INDEX_MIN_POINTS) else None
    if grid is not None:  # no (n, cities) matrix: bigger chunks, fewer per-cell products
        chunk = max(chunk, INDEX_CHUNK)
    for s in range(0, n, chunk):
        p = _unit_vectors(la[s:s + chunk], lo[s:s + chunk])
        if grid is not None:
            idx_c, cos_k = grid.nearest_cos(la[s:s + chunk], lo[s:s + chunk], p)
            km_c = EARTH_RADIUS_KM * np.arccos(cos_k)
        else:
            cos = np.clip(p @ xyz.T, -1.0, 1.0)                      # (m, cities)
            if k < xyz.shape[0]:  # stable: equal distances lower city index first, as the index
                idx_c = np.argsort(-cos, axis=1, kind="stable")[:, :k]
            else:
                idx_c = np.broadcast_to(np.arange(xyz.shape[0]), (len(p), k))
            km_c = EARTH_RADIUS_KM * np.arccos(np.take_along_axis(cos, idx_c, axis=1))
        # The terms per sub-block of _TERMS_BLOCK points: the (points, k, regions) gather of
        # the neighbours' slopes stays in the core's cache (~1.4 MB instead of ~18 MB for a
        # 50,000-point batch chunk). Every step is per point (einsum's sum over k included:
        # tests/unit/test_batch.py compares with the scan), so the sub-blocks change no bit.
        for t in range(0, len(p), _TERMS_BLOCK):
            idx, km = idx_c[t:t + _TERMS_BLOCK], km_c[t:t + _TERMS_BLOCK]
            if not (km[:, 1:] >= km[:, :-1]).all():  # already in order: the stable sort is
                order = np.argsort(km, axis=1, kind="stable")  # the identity, skipped
                idx = np.take_along_axis(idx, order, axis=1)
                km = np.take_along_axis(km, order, axis=1)
            w = 1.0 / (km + params.interp_soften_km) ** 2
            w /= w.sum(axis=1, keepdims=True)
            reg = a["reg"][idx[:, 0]]
            shrink = np.exp(-km[:, 0] / params.interp_range_km)
            e_loc = (w * a["e"][idx]).sum(axis=1)
            m_loc = np.einsum("ik,ikr->ir", w, a["m"][idx])
            sl = slice(s + t, s + t + len(idx))
            region[sl] = reg
            eff[sl] = shrink * e_loc + (1 - shrink) * a["e_reg"][reg]
            slope[sl] = shrink[:, None] * m_loc + (1 - shrink[:, None]) * a["m_reg"][reg]
            weight[sl] = shrink
            nearest[sl] = km[:, 0]
    return Location(region, eff, slope, weight, nearest)


#: Up to this many neighbours :func:`locate_point` picks them by repeated argmax, beyond by a sort.
_POINT_ARGMAX_K = 8
#: numpy sums fewer values than this one after the other, from 0.0 (its pairwise summation's
#: smallest block); :func:`locate_point` repeats that order in Python floats below it.
_SEQUENTIAL_SUM = 8


def _first_maxima(values: np.ndarray, k: int) -> list[int]:
    """Indices of the ``k`` largest of ``values``, largest first, equal ones lower index first
    (a stable argsort of ``-values``, first ``k``), by repeated argmax (first maximum)."""
    rest, picked = values.copy(), []
    for _ in range(k):
        i = int(rest.argmax())
        picked.append(i)
        rest[i] = -np.inf
    return picked


def locate_point(lat: float, lon: float, params: LatencyParams
                 ) -> tuple[int, float, np.ndarray]:
    """:func:`locate` of one point (degrees): ``(region, effect_ms, slope_ms_per_1000km)``, the
    last of shape (R,) -- the same operations on the same values, so the same bits
    (``tests/unit/test_one_point.py`` compares them on random points).

    Why: the API's one-point answer (``/api/v1/nearest``) locates one client per request, and
    for one point :func:`locate`'s chunking, (n, ...) buffers and the sort of an already sorted
    row cost more than the arithmetic (~60 us of ~0.25 ms per answer); this is ~3x cheaper.
    """
    a = params._arr
    r = np.radians(np.array([lat, lon], dtype=float))
    (cla, clo), (sla, slo) = np.cos(r).tolist(), np.sin(r).tolist()
    p = np.array([[cla * clo, cla * slo, sla]])  # _unit_vectors' products (IEEE: same bits)
    xyz = a["xyz"]
    k = params.interp_neighbours
    raw = (p @ xyz.T)[0]
    if k < xyz.shape[0] and k <= _POINT_ARGMAX_K:
        # locate's stable argsort of -cos, first k: the largest cos first, equal ones lower
        # city index first -- which is what repeated argmax (first maximum) gives, ~4x cheaper
        # than sorting 241 cities for 4 of them. Picked from the unclipped cosines: when the
        # largest is <= 1 and the k-th > -1, np.clip changes none of the k nor their order
        # (nothing above them is lowered into a tie, nothing below raised above the k-th), so
        # the two passes of np.clip over every city are skipped (~1 us); otherwise (a point
        # within rounding of a city) they are picked from the clipped values, as locate does.
        idx = _first_maxima(raw, k)
        near = raw.take(idx)  # (ndarray.take: a fancy index's values, ~0.5 us cheaper)
        top = near.tolist()
        if not (top[0] <= 1.0 and top[-1] > -1.0):
            cos = np.minimum(np.maximum(raw, -1.0), 1.0)           # np.clip's values
            idx = _first_maxima(cos, k)
            near = cos.take(idx)
    elif k < xyz.shape[0]:
        cos = np.minimum(np.maximum(raw, -1.0), 1.0)
        idx = np.argsort(-cos, kind="stable")[:k].tolist()
        near = cos.take(idx)
    else:
        idx = list(range(xyz.shape[0]))
        near = np.minimum(np.maximum(raw, -1.0), 1.0)
    # (idx: a list of city indices; the city's region and effect read from the parameters'
    # own tuples, the values of a["reg"] and a["e"], without a numpy call each)
    km = EARTH_RADIUS_KM * np.arccos(near)
    kms = km.tolist()
    if sorted(kms) != kms:  # locate's stable re-sort by distance (never NaN: arccos of [-1, 1])
        order = np.argsort(km, kind="stable")
        idx, km = [idx[i] for i in order.tolist()], km.take(order)
        kms = km.tolist()
    reg = params.city_regions[idx[0]]
    # numpy's exp of the nearest distance; the scalar arithmetic below is IEEE's either way
    shrink = np.exp(np.array([-kms[0] / params.interp_range_km])).item()
    if len(kms) < _SEQUENTIAL_SUM:
        # The weights and the local effect in Python floats, the operations numpy does in its
        # order (~1.5 us less): ``x ** 2`` of an array is numpy's square, x * x; a sum of
        # fewer than 8 values is 0.0 + each in turn (numpy's pairwise sum below its block);
        # + - * / are IEEE either way.
        soften = params.interp_soften_km
        wl = [1.0 / ((d + soften) * (d + soften)) for d in kms]
        total = 0.0
        for x in wl:
            total += x
        wl = [x / total for x in wl]
        e_loc = 0.0
        effects = params.city_effect_ms
        for x, i in zip(wl, idx):
            e_loc += x * effects[i]
        w = np.array(wl)
    else:
        w = 1.0 / (km + params.interp_soften_km) ** 2
        w /= w.sum()
        e_loc = float((w * a["e"][idx]).sum())
    m_loc = _einsum("k,kr->r", w, a["m"].take(idx, axis=0))
    eff = shrink * e_loc + (1 - shrink) * a["e_reg_list"][reg]
    slope = shrink * m_loc + (1 - shrink) * a["m_reg"][reg]
    return reg, eff, slope


def rtt_formula_ms(distance_km: object, region_a: object, region_b: object, effect_a: object,
                   effect_b: object, slope_a_to_b: object, slope_b_to_a: object,
                   params: LatencyParams) -> np.ndarray:
    """The internet-leg formula on explicit terms (see the module docstring); broadcasting.

    Monotone non-decreasing in ``distance_km`` for fixed terms (the slope is clamped at the fibre
    floor's slope) and never below the floor.
    """
    d = np.asarray(distance_km, dtype=float)
    s = params._arr["S"][np.asarray(region_a), np.asarray(region_b)]
    slope = params.inflation_scale * (s + np.asarray(slope_a_to_b) + np.asarray(slope_b_to_a))
    floor_slope = 2000.0 / params.fibre_km_per_ms
    body = params.overhead_ms + np.asarray(effect_a) + np.asarray(effect_b) \
        + np.maximum(slope, floor_slope) * d / 1000.0
    return np.maximum(np.maximum(body, params.min_rtt_ms), floor_rtt_ms(d, params.fibre_km_per_ms))


def _pair_terms(src_lat: object, src_lon: object, dst_lat: object, dst_lon: object,
                params: LatencyParams) -> tuple[np.ndarray, np.ndarray, Location, Location, tuple]:
    a, b, c, d = np.broadcast_arrays(*(np.asarray(x, dtype=float)
                                       for x in (src_lat, src_lon, dst_lat, dst_lon)))
    shape = a.shape
    km = geodesic_km(a, b, c, d).ravel()
    return km, *_locate_both(a.ravel(), b.ravel(), c.ravel(), d.ravel(), params), shape


def _locate_both(a, b, c, d, params):
    # Points repeat a lot (every client -> one origin); locate unique points only.
    pts = np.concatenate([np.stack([a, b], 1), np.stack([c, d], 1)])
    uniq, inv = np.unique(pts, axis=0, return_inverse=True)
    loc = locate(uniq[:, 0], uniq[:, 1], params)
    inv = inv.ravel()
    n = len(a)

    def pick(ix: np.ndarray) -> Location:
        return Location(loc.region[ix], loc.effect_ms[ix], loc.slope_ms_per_1000km[ix],
                        loc.weight[ix], loc.nearest_km[ix])

    return pick(inv[:n]), pick(inv[n:])


def _median(km: np.ndarray, la: Location, lb: Location, params: LatencyParams) -> np.ndarray:
    rows = np.arange(len(km))
    mid = rtt_formula_ms(km, la.region, lb.region, la.effect_ms, lb.effect_ms,
                         la.slope_ms_per_1000km[rows, lb.region],
                         lb.slope_ms_per_1000km[rows, la.region], params)
    if params.access == "datacenter":
        return mid
    return access_rtt_ms(mid, la.region, params)


def access_rtt_ms(datacenter_ms: object, client_region: object,
                  params: LatencyParams) -> np.ndarray:
    """The end-user internet leg (ms) from the data-centre one: ``access_ms +
    access_region_ms[client_region] + access_factor * datacenter_ms`` (module docstring).

    Why a term on top of the data-centre model rather than a second fit: the data-centre model
    carries the geography (241 measured cities, region-pair slopes); what end users add is
    their access network and consumer ISP, which the end-user data measures. Never below
    ``datacenter_ms`` (``access_ms`` + region term >= 0, ``access_factor`` >= 1), and monotone
    in it. Broadcasting; ``client_region`` is a region index (:attr:`Location.region`).
    """
    dc = np.asarray(datacenter_ms, dtype=float)
    add = params.access_ms + params._arr["acc_reg"][np.asarray(client_region, dtype=np.int64)]
    return add + params.access_factor * dc


def km_per_rtt_ms(params: LatencyParams) -> float:
    """The model's own distance per ms of internet RTT (km/ms), for converting an announcement
    bias (ms, :mod:`dashboard.domain.bias`) into an equivalent distance::

        km_per_ms = 1000 / max(inflation_scale * median(S), 2000 / fibre_km_per_ms)

    ``S`` is the fitted region-pair slope matrix (ms of RTT per 1000 km, its distinct pairs:
    the upper triangle with the diagonal), so this is the typical marginal cost of distance on
    the data-centre internet leg; the fibre floor's slope caps it (never faster than light).
    ~47 km per ms with the shipped fit (median 21.2 ms per 1000 km). One number for every pair:
    a region pair's own slope differs by x0.7..x3 (docs/bias.md says so)."""
    s = params._arr["S"]
    median = float(np.median(s[np.triu_indices(len(s))]))
    slope = max(params.inflation_scale * median, 2000.0 / params.fibre_km_per_ms)
    return 1000.0 / slope


def leg_factor(params: LatencyParams) -> float:
    """How many ms of this client type's internet leg one ms of the data-centre leg is: the
    end-user ``access_factor`` (>= 1; :func:`access_rtt_ms`), else 1."""
    return 1.0 if params.access == "datacenter" else float(params.access_factor)


def with_access(params: LatencyParams, access: str) -> LatencyParams:
    """``params`` for clients of type ``access`` (:data:`ACCESS_TYPES`); the same object when
    it already is. ``ValueError`` names a bad value."""
    if access == params.access:
        return params
    return replace(params, access=access)


def internet_rtt_ms(src_lat: object, src_lon: object, dst_lat: object, dst_lon: object,
                    params: LatencyParams) -> np.ndarray:
    """Median RTT (ms) expected over the public internet between two points (degrees).

    Arguments broadcast like numpy; the result has the broadcast shape (a 0-d array for scalars).
    """
    km, la, lb, shape = _pair_terms(src_lat, src_lon, dst_lat, dst_lon, params)
    return _median(km, la, lb, params).reshape(shape)


def take_location(loc: Location, index: object) -> Location:
    """The terms of the points at ``index`` (any integer index array) of ``loc``."""
    ix = np.asarray(index, dtype=np.int64)
    return Location(loc.region[ix], loc.effect_ms[ix], loc.slope_ms_per_1000km[ix],
                    loc.weight[ix], loc.nearest_km[ix])


def internet_rtt_ms_km(distance_km: object, src: Location, dst: Location,
                       params: LatencyParams) -> np.ndarray:
    """:func:`internet_rtt_ms` for pairs whose WGS84 geodesic distance (km) and location terms
    (:func:`locate`) are already known -- the same formula, without a second geodesic pass or a
    second nearest-city search.

    Why: a hot path that has just measured the distances (``/api/v1/nearest``: one client against
    every PoP) and can keep the PoPs' terms between calls pays for geodesy and ``locate`` once.
    ``src`` and ``dst`` hold either one point (used for every pair) or one point per distance.
    Returns ms with the shape of ``distance_km`` (flattened to 1-D).
    """
    km = np.asarray(distance_km, dtype=float).ravel()
    n = len(km)
    sides = []
    for what, loc in (("src", src), ("dst", dst)):
        m = len(loc.region)
        if m == 1 and n != 1:
            loc = take_location(loc, np.zeros(n, dtype=np.int64))
        elif m != n:
            raise ValueError(f"{what}: {m} locations for {n} distances (give 1 or {n})")
        sides.append(loc)
    return _median(km, sides[0], sides[1], params)


def internet_rtt_ms_at(distance_km: np.ndarray, src: Location, src_index: object,
                       dst: Location, dst_index: object, params: LatencyParams) -> np.ndarray:
    """:func:`internet_rtt_ms_km` of the pairs ``(src[src_index[i]], dst[dst_index[i]])``
    ``distance_km[i]`` apart: ``internet_rtt_ms_km(km, take_location(src, si),
    take_location(dst, di), params)`` to the bit (the same values gathered, the same formula),
    without gathering every term of every pair first: only each pair's two slope entries
    (not two rows of one per region) and no weights or distances. An index may be an integer
    (one point for every pair). ~2x cheaper for the route table's and the rankings' legs
    (issue 16)."""
    km = np.asarray(distance_km, dtype=float).ravel()
    ra = np.asarray(src.region)[src_index]
    rb = np.asarray(dst.region)[dst_index]
    mid = rtt_formula_ms(km, ra, rb, np.asarray(src.effect_ms)[src_index],
                         np.asarray(dst.effect_ms)[dst_index],
                         np.asarray(src.slope_ms_per_1000km)[src_index, rb],
                         np.asarray(dst.slope_ms_per_1000km)[dst_index, ra], params)
    if params.access == "datacenter":
        return mid
    return access_rtt_ms(mid, ra, params)


@dataclass(frozen=True)
class PointSites:
    """The site side of :func:`internet_rtt_ms_km` for one client against fixed sites (e.g.
    every PoP and an origin), laid out for :func:`internet_rtt_ms_point`: what depends only on
    the sites is computed once (:func:`point_sites`), what depends on the client's region is a
    row lookup."""

    region: np.ndarray
    effect_ms: np.ndarray
    #: ``S[r, region]`` for every client region r: (R, m).
    s_by_region: np.ndarray
    #: The sites' slope adjustments towards client region r: (R, m).
    slope_by_region: np.ndarray


def point_sites(terms: Location, params: LatencyParams) -> PointSites:
    """:class:`PointSites` of sites whose terms are ``terms`` (:func:`locate`)."""
    region = np.asarray(terms.region, dtype=np.int64)
    out = PointSites(region=region, effect_ms=np.asarray(terms.effect_ms, dtype=float),
                     s_by_region=np.ascontiguousarray(params._arr["S"][:, region]),
                     slope_by_region=np.ascontiguousarray(terms.slope_ms_per_1000km.T))
    for arr in (out.region, out.effect_ms, out.s_by_region, out.slope_by_region):
        arr.flags.writeable = False
    return out


def internet_rtt_ms_point(distance_km: np.ndarray, client: tuple[int, float, np.ndarray],
                          sites: PointSites, params: LatencyParams,
                          out: np.ndarray | None = None) -> np.ndarray:
    """:func:`internet_rtt_ms_km` of one client (``client``: :func:`locate_point`) to every
    site of ``sites``, ``distance_km`` (m,) apart: the same operations in the same order on the
    same values (bit-identical; ``tests/unit/test_one_point.py``), ~2x cheaper. ``out``: a
    float64 (m,) array to write the RTTs into (and return), instead of a new one."""
    region, effect, slope_c = client
    d = distance_km
    # rtt_formula_ms with region_a = the client's, region_b = the sites'. Two operations fewer
    # than written there, each exactly the same value: 1.0 * x is x (the default scale), and
    # 2.0 * d / f is d / (f / 2.0) (doubling and halving are exact, so both are d * 2 / f
    # rounded once).
    slope = sites.s_by_region[region] + slope_c.take(sites.region) + sites.slope_by_region[region]
    if params.inflation_scale != 1.0:
        slope = params.inflation_scale * slope
    floor_slope = 2000.0 / params.fibre_km_per_ms
    body = params.overhead_ms + effect + sites.effect_ms + np.maximum(slope, floor_slope) * d / 1000.0
    floor = d / (params.fibre_km_per_ms / 2.0)  # floor_rtt_ms: 2.0 * d / fibre_km_per_ms
    if params.access == "datacenter":
        return np.maximum(np.maximum(body, params.min_rtt_ms), floor, out=out)
    mid = np.maximum(np.maximum(body, params.min_rtt_ms), floor)
    return np.add(params.access_ms + params._arr["acc_reg"][region], params.access_factor * mid,
                  out=out)


def internet_rtt_band_ms(src_lat: object, src_lon: object, dst_lat: object, dst_lon: object,
                         params: LatencyParams) -> tuple[np.ndarray, np.ndarray]:
    """``(p25, p75)`` RTT band in ms: half of real pairs like this one fall inside it.

    Quartile ratios come from cross-validation per distance band; between and away from measured
    cities they blend towards the (wider) quartiles seen for cities left out of the fit. Never
    below the fibre floor; ``p25 <= internet_rtt_ms <= p75``.
    """
    km, la, lb, shape = _pair_terms(src_lat, src_lon, dst_lat, dst_lon, params)
    p25, p75 = _band(km, _median(km, la, lb, params), la, lb, params)
    return p25.reshape(shape), p75.reshape(shape)


def _band(km: np.ndarray, mid: np.ndarray, la: Location, lb: Location,
          params: LatencyParams) -> tuple[np.ndarray, np.ndarray]:
    a = params._arr
    band = np.minimum(np.searchsorted(a["edges"], km, side="left"), len(a["edges"]) - 1)
    if params.access == "end-user" and len(a["access_band_p25"]):
        # End users: their own spread (the access network dominates it), held-out quartiles.
        q25, q75 = a["access_band_p25"][band], a["access_band_p75"][band]
    else:
        w = np.minimum(la.weight, lb.weight)  # the less-known end decides
        q25 = w * a["band_p25_near"][band] + (1 - w) * a["band_p25_far"][band]
        q75 = w * a["band_p75_near"][band] + (1 - w) * a["band_p75_far"][band]
    q25 = np.clip(1 - params.band_scale * (1 - q25), 0.0, 1.0)
    q75 = 1 + params.band_scale * (q75 - 1)
    floor = floor_rtt_ms(km, params.fibre_km_per_ms)
    p25 = np.maximum(mid * q25, floor)
    p75 = np.maximum(mid * q75, p25)
    return p25, p75


def backbone_rtt_ms(pop_lat: object, pop_lon: object, origin_lat: object, origin_lon: object,
                    params: LatencyParams) -> np.ndarray:
    """RTT (ms) over the provider's private backbone from an access point to an origin region.

    Formula in the module docstring (region-pair stretch over the fibre floor plus overheads,
    never below ``backbone_route_factor`` x the fibre floor). d = WGS84 km; broadcasting.
    """
    a, b, c, d = np.broadcast_arrays(*(np.asarray(x, dtype=float)
                                       for x in (pop_lat, pop_lon, origin_lat, origin_lon)))
    km = geodesic_km(a, b, c, d).ravel()
    la, lb = _locate_both(a.ravel(), b.ravel(), c.ravel(), d.ravel(), params)
    return _backbone(km, la, lb, params).reshape(a.shape)


def backbone_stretch(region_a: object, region_b: object, params: LatencyParams) -> np.ndarray:
    """The fitted stretch over the fibre floor (before ``backbone_scale``) between points in
    regions ``region_a`` and ``region_b`` (region indices; broadcasting)."""
    ra, rb = np.asarray(region_a), np.asarray(region_b)
    arr = params._arr
    return params.backbone_stretch + arr["bb_r"][ra] + arr["bb_r"][rb] + arr["bb_P"][ra, rb]


def backbone_formula_ms(distance_km: object, stretch: object, slope_ms_per_1000km: object,
                        params: LatencyParams) -> np.ndarray:
    """The backbone formula on explicit terms, ms: ``stretch`` (see :func:`backbone_stretch`)
    and the internet's distance slope between the two sites (ms per 1000 km, without the
    internet what-if knob); never below ``backbone_route_factor`` x the fibre floor.
    Broadcasting."""
    km = np.asarray(distance_km, dtype=float)
    floor = floor_rtt_ms(km, params.fibre_km_per_ms)
    body = (params.backbone_overhead_ms
            + params.backbone_short_ms * np.exp(-km / params.backbone_short_km)
            + params.backbone_scale * (np.asarray(stretch) * floor
                                       + params.backbone_share
                                       * np.asarray(slope_ms_per_1000km) * km / 1000.0))
    return np.maximum(body, params.backbone_route_factor * floor)


def _backbone(km: np.ndarray, la: Location, lb: Location, params: LatencyParams) -> np.ndarray:
    rows = np.arange(len(km))
    slope = (params._arr["S"][la.region, lb.region] + la.slope_ms_per_1000km[rows, lb.region]
             + lb.slope_ms_per_1000km[rows, la.region])
    return backbone_formula_ms(km, backbone_stretch(la.region, lb.region, params), slope, params)


def backbone_leg_ms(pop_lat: object, pop_lon: object, origin_lat: object, origin_lon: object,
                    params: LatencyParams) -> np.ndarray:
    """The backbone leg as reported (ms): the PoP's ingress overhead ``pop_overhead_ms`` plus
    :func:`backbone_rtt_ms` PoP -> origin. Broadcasting like numpy.

    The one place the overhead joins the backbone: every table, the API and the capacity matrix
    show the legs ``internet_ms`` and ``backbone_ms`` (this) and a total that is their sum
    (:func:`anycast_rtt_ms`), so the two legs shown always add up to the total.
    """
    return (np.asarray(backbone_rtt_ms(pop_lat, pop_lon, origin_lat, origin_lon, params),
                       dtype=float)
            + params.pop_overhead_ms)


def anycast_rtt_ms(client_lat: object, client_lon: object, pop_lat: object, pop_lon: object,
                   origin_lat: object, origin_lon: object, params: LatencyParams) -> np.ndarray:
    """RTT (ms) of the anycast path: internet leg client -> PoP + ``pop_overhead_ms`` + backbone
    leg PoP -> origin, i.e. :func:`internet_rtt_ms` + :func:`backbone_leg_ms`. Broadcasting
    like numpy. Callers that already hold the internet leg (a cached ranking, per-PoP legs) add
    :func:`backbone_leg_ms` to it the same way."""
    return (internet_rtt_ms(client_lat, client_lon, pop_lat, pop_lon, params)
            + backbone_leg_ms(pop_lat, pop_lon, origin_lat, origin_lon, params))


def direct_rtt_ms(client_lat: object, client_lon: object, origin_lat: object, origin_lon: object,
                  params: LatencyParams) -> np.ndarray:
    """RTT (ms) of the direct path: the internet leg straight from the client to the origin."""
    return internet_rtt_ms(client_lat, client_lon, origin_lat, origin_lon, params)
