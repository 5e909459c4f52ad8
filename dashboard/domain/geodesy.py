"""Distances and nearest sites on the WGS84 ellipsoid, with ``geopy.distance.geodesic`` semantics.

Units: degrees in, kilometres out. Model: the WGS84 ellipsoid (a = 6378.137 km,
f = 1/298.257223563); distances are ellipsoidal geodesics, the quantity geopy computes with
Karney's algorithm (geographiclib). No spherical distance is ever *returned*: the sphere is only
used to rank candidates cheaply, with a proven error bound, before exact distances are computed.

How :func:`nearest` stays exact and fast
----------------------------------------
1. **Rank on the auxiliary sphere.** Map every point to its *reduced* (parametric) latitude
   ``beta`` (``tan beta = (1 - f) tan lat``) and keep its longitude; that is Bessel's auxiliary
   sphere, on which Vincenty's and Karney's methods work. As a unit vector a point is
   ``(cos beta cos lon, cos beta sin lon, sin beta)``, so the central angle ``sigma`` between a
   client and every site comes from one ``(n, 3) @ (3, m)`` matrix product: a larger dot product
   is a smaller ``sigma``; no per-pair trigonometry.
2. **Bound the sphere-vs-ellipsoid error.** With ``x = a cos beta cos lon``,
   ``y = a cos beta sin lon``, ``z = b sin beta`` the ellipsoid's line element is
   ``ds^2 = a^2 (1 - e^2 cos^2 beta) dbeta^2 + a^2 cos^2 beta dlon^2`` while the unit sphere's is
   ``dsigma^2 = dbeta^2 + cos^2 beta dlon^2``. Since ``b^2 <= a^2 (1 - e^2 cos^2 beta) <= a^2``,
   every curve is between ``b`` and ``a`` times as long on the ellipsoid as its image on the unit
   sphere. The geodesic ``s`` therefore satisfies ``b sigma <= s <= a sigma`` (lower bound: the
   image of the ellipsoidal geodesic is at least ``sigma`` long; upper bound: the image of the
   great circle is a path of ellipsoid length at most ``a sigma``). The ratio ``a / b =
   1 / (1 - f) ~ 1.00337`` is three times tighter than the ~1 % a sphere over *geodetic*
   latitudes allows. ``tests/unit/test_geodesy.py`` checks the bound against geographiclib.
3. **Candidates.** If ``sigma_k`` is the k-th smallest angle of a client, its k nearest sites all
   have ``s <= a sigma_k``, so any site with ``sigma > (a / b) sigma_k`` cannot be among them.
   Clients whose k best sites are the only ones within that angle (the vast majority) are
   settled; for the others every candidate within the bound is measured exactly and ranked.
4. **Exact distances** for every returned pair (and every candidate) with a vectorised
   Vincenty inverse (iterated to 1e-12 rad in longitude; agrees with geographiclib to well under
   a millimetre, see the tests). Pairs within ~3 degrees of antipodal on the auxiliary sphere, where
   Vincenty converges slowly or not at all, and any pair that does not converge, are computed by
   geographiclib itself, one call each.

Ties: sites whose exact distances differ by less than Vincenty's sub-millimetre error may come out
in either order (the lower site index first when equal to the last bit).
"""

from __future__ import annotations

import math
import operator
from typing import Callable, Iterator

import numpy as np
from geographiclib.geodesic import Geodesic

#: WGS84 semi-major axis and flattening (the ellipsoid geopy uses by default).
WGS84_A_KM = 6378.137
WGS84_F = 1 / 298.257223563
WGS84_B_KM = WGS84_A_KM * (1 - WGS84_F)
_E2 = WGS84_F * (2 - WGS84_F)
_EP2 = (WGS84_A_KM**2 - WGS84_B_KM**2) / WGS84_B_KM**2

#: ``s / sigma`` lies in ``[b, a]`` (see the module docstring), so candidates are the sites within
#: this factor of the k-th smallest auxiliary-sphere angle.
SPHERE_BOUND_RATIO = WGS84_A_KM / WGS84_B_KM
# Rounding slack on the candidate test: the dot products carry errors ~1e-15, i.e. up to ~5e-8 rad
# in sigma near 0 or pi. Both slacks only add candidates (costing time), never drop one.
_SIGMA_SLACK = 1e-7
_DOT_SLACK = 1e-14
#: The widening of :func:`bounded_pairs`' angle bounds (rad): the most ``arccos`` can move for a
#: dot product ``_DOT_SLACK`` off (its Hoelder bound ``|acos x - acos y| <= acos(1 - |x - y|)``,
#: with 1 % to spare for the rounding of acos itself), plus ``_SIGMA_SLACK``.
_BOUND_WIDEN = 1.01 * math.acos(1.0 - _DOT_SLACK) + _SIGMA_SLACK
#: Pairs whose auxiliary-sphere angle (at the starting longitude difference) exceeds
#: ``pi - _ANTIPODAL_MARGIN`` go straight to geographiclib: Vincenty's iteration degrades there
#: (its trouble zone is about ``f * pi ~ 0.01`` rad wide; we keep a 5x margin).
_ANTIPODAL_MARGIN = 0.05
_COS_ANTIPODAL = -math.cos(_ANTIPODAL_MARGIN)
_VINCENTY_TOL = 1e-12  # radians of longitude on the auxiliary sphere (~6 micrometres)
_VINCENTY_FIRST = 4  # sweeps over every pair (3 plain + Aitken, then a check)
_VINCENTY_MAX = 60
#: Clients per block: keeps numpy temporaries cache-sized and memory flat for any n.
_CHUNK = 16384
#: Clients per sub-block of :func:`bounded_pairs` (after the block's dot products): its
#: (sites, clients) arrays then fit the 2 MB per-core L2 cache.
_SUB_BLOCK = 4096

_WGS84 = Geodesic.WGS84
#: Up to this many pairs, :func:`geodesic_km` uses PROJ's C implementation of Karney's algorithm
#: (pyproj) when it is installed: for a handful of pairs the ~180 numpy calls of the vectorised
#: Vincenty cost ~120 us whatever the size (one client x 19 PoPs + origin, the API's hot path),
#: PROJ ~17 us. Beyond ~100 pairs the vectorised code is faster per pair.
_SMALL_N = 64
_PROJ_GEOD: list = []  # [pyproj.Geod | None], filled on first use


def _proj_geod():
    if not _PROJ_GEOD:
        try:
            from pyproj import Geod
        except ImportError:  # optional accelerator: the numpy path is exact too
            _PROJ_GEOD.append(None)
        else:
            _PROJ_GEOD.append(Geod(a=WGS84_A_KM * 1000.0, f=WGS84_F))
    return _PROJ_GEOD[0]


def validate_coords(lats: object, lons: object, what: str = "point") -> tuple[np.ndarray, np.ndarray]:
    """Float arrays of equal 1-D shape, finite, lat in [-90, 90], lon in [-180, 180] degrees.

    geopy silently wraps longitudes beyond +-180 and raises an opaque error on |lat| > 90, so we
    check ourselves and raise ``ValueError`` naming the first bad index and value.
    """
    try:
        la = np.atleast_1d(np.asarray(lats, dtype=float))
        lo = np.atleast_1d(np.asarray(lons, dtype=float))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} coordinates must be numbers in degrees: {exc}") from None
    if la.ndim != 1 or lo.ndim != 1 or la.shape != lo.shape:
        raise ValueError(f"{what} latitudes and longitudes must be 1-D arrays of one length, "
                         f"got shapes {la.shape} and {lo.shape}")
    for name, arr, limit in (("latitude", la, 90.0), ("longitude", lo, 180.0)):
        bad = ~(np.abs(arr) <= limit)  # also True for NaN and +-inf
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"{what} {i}: {name} {float(arr[i])!r} is not a number in "
                             f"[-{limit:g}, {limit:g}] degrees")
    return la, lo


def _reduced(lat_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(sin beta, cos beta)`` of the reduced latitude, without tan() blowing up at the poles.

    ``(cos beta, sin beta)`` is ``(cos lat, (1 - f) sin lat)`` normalised; its norm is
    ``sqrt(1 - e^2 sin^2 lat)``.
    """
    phi = np.radians(lat_deg)
    s = np.sin(phi)
    c = np.cos(phi)
    inv = 1.0 / np.sqrt(1.0 - _E2 * s * s)
    return (1.0 - WGS84_F) * s * inv, c * inv


def _vincenty_sweep(lam: np.ndarray, Lx: np.ndarray, ss12: np.ndarray, ss12x2: np.ndarray,
                    cc12: np.ndarray, cs12: np.ndarray, sc12: np.ndarray, c2: np.ndarray
                    ) -> tuple[np.ndarray, ...]:
    """One sweep of Vincenty's fixed-point iteration on ``lam`` (radians): ``(new lambda,
    sin sigma, cos sigma, sigma, cos^2 alpha, cos 2 sigma_m)``. ``ss12x2`` is ``2 * ss12``.

    The arithmetic of the textbook expressions, operation for operation in Python's order (so
    the same bits; only commutative swaps such as ``ss12 + x`` -> ``x + ss12``), written into
    a few buffers instead of ~40 fresh temporaries: ~30 % faster per pair (issue 16)::

        t1 = c2 sin(lam); t2 = cs12 - sc12 cos(lam); ss = sqrt(t1^2 + t2^2)
        cs = ss12 + cc12 cos(lam); sg = atan2(ss, cs)
        sa = clip(cc12 sin(lam) / max(ss, 1e-300)); c2a = 1 - sa^2
        c2sm = clip(cs - 2 ss12 / max(c2a, 1e-300))
        C = f / 16 c2a (4 + f (4 - 3 c2a))
        new = Lx + (1 - C) f sa (sg + C ss (c2sm + C cs (2 c2sm c2sm - 1)))

    ss == 0 forces cc12 * sinl == 0 (coincident points, or a pole) and c2a == 0 forces ss12 ==
    0 (both on the equator): the floors turn 0/0 into 0 without a branch. Rounding can break
    those identities for points within ~1e-150 of the equator or of each other; both quantities
    are a sine and a cosine, so clipping restores them (their weights C and B vanish with c2a
    there anyway). (np.minimum/np.maximum rather than np.clip: same result, a fraction of the
    call overhead, which dominates for the few-pair calls of the API and the explain panel.)
    """
    f = WGS84_F
    sinl = np.sin(lam)
    cosl = np.cos(lam)
    t1 = np.multiply(c2, sinl)
    t1 *= t1
    t2 = np.multiply(sc12, cosl)
    np.subtract(cs12, t2, out=t2)
    t2 *= t2
    t1 += t2
    ss = np.sqrt(t1, out=t1)
    cs = np.multiply(cc12, cosl, out=cosl)
    cs += ss12
    sg = np.arctan2(ss, cs)
    sa = np.multiply(cc12, sinl, out=sinl)
    sa /= np.maximum(ss, 1e-300, out=t2)
    np.maximum(sa, -1.0, out=sa)
    np.minimum(sa, 1.0, out=sa)
    c2a = np.multiply(sa, sa)
    np.subtract(1.0, c2a, out=c2a)
    c2sm = np.divide(ss12x2, np.maximum(c2a, 1e-300, out=t2))
    np.subtract(cs, c2sm, out=c2sm)
    np.maximum(c2sm, -1.0, out=c2sm)
    np.minimum(c2sm, 1.0, out=c2sm)
    u = np.multiply(c2a, 3.0, out=t2)
    np.subtract(4.0, u, out=u)
    u *= f
    u += 4.0
    C = np.multiply(c2a, f / 16.0)
    C *= u
    w = np.multiply(c2sm, 2.0, out=u)
    w *= c2sm
    w -= 1.0
    v = np.multiply(C, cs)
    v *= w
    v += c2sm
    z = np.multiply(C, ss, out=w)
    z *= v
    z += sg
    new = np.subtract(1.0, C, out=C)
    new *= f
    new *= sa
    new *= z
    new += Lx
    return new, ss, cs, sg, c2a, c2sm


def _vincenty_km(su1: np.ndarray, cu1: np.ndarray, su2: np.ndarray, cu2: np.ndarray,
                 L: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vincenty's inverse on WGS84, vectorised: ``(distance_km, ok)``.

    Inputs are the reduced-latitude sines/cosines of both points and the longitude difference in
    radians, in [-pi, pi]. ``ok`` is False where the iteration did not converge to
    ``_VINCENTY_TOL`` or ended with |lambda| > pi (no valid solution: nearly antipodal); the
    caller recomputes those pairs with geographiclib.

    Speed: the fixed-point iteration on lambda converges linearly with a ratio of order f (about
    0.003), so after three plain sweeps an Aitken delta-squared step lands within ~1e-13 rad for
    typical pairs and the fourth sweep confirms convergence; pairs that still move are iterated on
    their own (plain sweeps) up to ``_VINCENTY_MAX``.
    """
    n = len(L)
    sin_s, cos_s, sig, cos2a, cos2sm = (np.zeros(n) for _ in range(5))
    ok = np.zeros(n, dtype=bool)
    active: np.ndarray | None = None  # None = every pair (the first sweeps need no gathers)
    Lx, ss12, cc12, cs12, sc12, c2 = L, su1 * su2, cu1 * cu2, cu1 * su2, su1 * cu2, cu2
    ss12x2 = 2.0 * ss12
    lam = L
    history: list[np.ndarray] = []
    for it in range(_VINCENTY_MAX):
        new, ss, cs, sg, c2a, c2sm = _vincenty_sweep(lam, Lx, ss12, ss12x2, cc12, cs12, sc12, c2)
        if it < _VINCENTY_FIRST - 1:
            history.append(new)
            if len(history) == 3:  # Aitken on lambda_1..3 (lambda_0 = L is not yet "linear")
                l1, l2, l3 = history
                d1 = l2 - l1
                d2 = l3 - l2
                den = d2 - d1
                with np.errstate(divide="ignore", invalid="ignore"):
                    acc = l3 - d2 * d2 / den
                good = np.abs(d2) < 0.5 * np.abs(d1)  # genuinely contracting: safe to jump
                new = np.where(good & np.isfinite(acc), acc, l3)
            lam = new
            continue
        done = np.abs(new - lam) <= _VINCENTY_TOL
        if active is None and done.all():  # the common case: no scatter needed
            sin_s, cos_s, sig, cos2a, cos2sm = ss, cs, sg, c2a, c2sm
            ok = np.abs(new) <= math.pi
            break
        idx = np.arange(n) if active is None else active
        d = idx[done]
        sin_s[d], cos_s[d], sig[d] = ss[done], cs[done], sg[done]
        cos2a[d], cos2sm[d] = c2a[done], c2sm[done]
        ok[d] = np.abs(new[done]) <= math.pi
        if done.all():
            break
        keep = ~done
        active = idx[keep]
        Lx, ss12, ss12x2, cc12, cs12, sc12, c2 = (x[keep] for x in (Lx, ss12, ss12x2, cc12,
                                                                    cs12, sc12, c2))
        lam = new[keep]
    return _vincenty_length(cos2a, cos2sm, sin_s, cos_s, sig), ok


def _vincenty_length(cos2a: np.ndarray, cos2sm: np.ndarray, sin_s: np.ndarray,
                     cos_s: np.ndarray, sig: np.ndarray) -> np.ndarray:
    """The geodesic length (km) from Vincenty's converged terms::

        u2 = cos2a e'^2
        A = 1 + u2 / 16384 (4096 + u2 (-768 + u2 (320 - 175 u2)))
        B = u2 / 1024 (256 + u2 (-128 + u2 (74 - 47 u2)))
        m2 = cos2sm^2
        dsig = B sin_s (cos2sm + B / 4 (cos_s (2 m2 - 1)
                                        - B / 6 cos2sm (4 sin_s^2 - 3) (4 m2 - 3)))
        s = b A (sig - dsig)

    operation for operation in Python's order of those expressions (only commutative swaps),
    into a few buffers: the same bits, fewer temporaries (as :func:`_vincenty_sweep`)."""
    u2 = cos2a * _EP2
    p = np.multiply(u2, 175.0)
    np.subtract(320.0, p, out=p)
    p *= u2
    p += -768.0
    p *= u2
    p += 4096.0
    A = np.divide(u2, 16384.0)
    A *= p
    A += 1.0
    p = np.multiply(u2, 47.0, out=p)
    np.subtract(74.0, p, out=p)
    p *= u2
    p += -128.0
    p *= u2
    p += 256.0
    B = np.divide(u2, 1024.0, out=u2)
    B *= p
    m2 = cos2sm * cos2sm
    r1 = np.multiply(m2, 2.0, out=p)
    r1 -= 1.0
    r1 *= cos_s
    r2 = np.divide(B, 6.0)
    r2 *= cos2sm
    t = np.multiply(sin_s, 4.0)
    t *= sin_s
    t -= 3.0
    r2 *= t
    np.multiply(m2, 4.0, out=m2)
    m2 -= 3.0
    r2 *= m2
    r1 -= r2
    r3 = np.divide(B, 4.0, out=r2)
    r3 *= r1
    r3 += cos2sm
    dsig = np.multiply(B, sin_s, out=t)
    dsig *= r3
    np.subtract(sig, dsig, out=dsig)
    A *= WGS84_B_KM
    A *= dsig
    return A


def _wrapped_difference(lon1: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """``(lon2 - lon1 + 180) % 360 - 180`` (degrees), numpy's (Python's) modulo, bit for bit.

    For longitudes in [-180, 180] -- every validated point -- ``x = lon2 - lon1 + 180`` lies in
    [-180, 540], where numpy's remainder (``fmod``, exact, then ``+ 360`` when the signs
    differ) is ``x + 360`` below 0, ``x - 360`` from 360 (exact: Sterbenz) and ``x`` between
    (``-0.0`` gives ``+0.0`` there; either minus 180 is -180). Those two masked operations
    cost ~3 ns per pair instead of the remainder's ~14 (issue 16). Anything else (longitudes
    beyond +-180, NaN) takes the remainder itself.
    """
    x = lon2 - lon1
    x += 180.0
    if len(x) and -180.0 <= x.min() and x.max() <= 540.0:
        np.add(x, 360.0, out=x, where=x < 0.0)
        np.subtract(x, 360.0, out=x, where=x >= 360.0)
    else:
        x %= 360.0
    x -= 180.0
    return x


def _exact_km(su1: np.ndarray, cu1: np.ndarray, lat1: np.ndarray, lon1: np.ndarray,
              su2: np.ndarray, cu2: np.ndarray, lat2: np.ndarray, lon2: np.ndarray,
              cos_s0: np.ndarray | None = None) -> np.ndarray:
    """WGS84 geodesic km of each pair: Vincenty where safe, geographiclib elsewhere.

    Takes the reduced-latitude sines/cosines (already computed by the callers), the degrees (for
    the longitude difference and the geographiclib fallback) and optionally ``cos_s0``, the
    auxiliary-sphere dot product of the pair (``nearest`` has it already).
    """
    L = np.radians(_wrapped_difference(lon1, lon2))  # any longitudes -> [-pi, pi)
    out = np.empty(len(L))
    if cos_s0 is None:  # cos(sigma) at lambda = L: the angle Vincenty starts from
        cos_s0 = su1 * su2 + cu1 * cu2 * np.cos(L)
    safe = cos_s0 > _COS_ANTIPODAL
    if safe.all():
        km, ok = _vincenty_km(su1, cu1, su2, cu2, L)
        out[:] = km
        slow = np.flatnonzero(~ok)
    else:
        s_idx = np.flatnonzero(safe)
        km, ok = _vincenty_km(su1[s_idx], cu1[s_idx], su2[s_idx], cu2[s_idx], L[s_idx])
        out[s_idx] = km
        slow = np.concatenate([np.flatnonzero(~safe), s_idx[~ok]])
    for i in slow.tolist():
        out[i] = _WGS84.Inverse(float(lat1[i]), float(lon1[i]), float(lat2[i]), float(lon2[i]),
                                Geodesic.DISTANCE)["s12"] / 1000.0
    return out


def geodesic_km(lat1: object, lon1: object, lat2: object, lon2: object) -> np.ndarray:
    """Element-wise WGS84 geodesic distance in km (broadcasting like numpy), as geopy computes it.

    Degrees in. Returns an array of the broadcast shape (0-d for scalars). NaN in any coordinate
    gives NaN for that element; longitudes are taken modulo 360 (like geopy); a latitude beyond
    +-90 or an infinite value raises ``ValueError``.
    """
    a, b, c, d = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (lat1, lon1, lat2, lon2)))
    shape = a.shape
    a, b, c, d = (np.ravel(x) for x in (a, b, c, d))
    if not (np.abs(a) <= 90.0).all() or not (np.abs(c) <= 90.0).all() \
            or np.isinf(b).any() or np.isinf(d).any():  # slow path only to name the culprit
        for name, arr in (("lat1", a), ("lat2", c)):
            bad = np.abs(arr) > 90.0  # NaN compares False: it passes through as NaN
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise ValueError(f"{name}[{i}] = {float(arr[i])!r} is not a latitude in "
                                 "[-90, 90] degrees")
        for name, arr in (("lon1", b), ("lon2", d)):
            bad = np.isinf(arr)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise ValueError(f"{name}[{i}] = {float(arr[i])!r} is not a finite longitude "
                                 "in degrees")
    good = ~np.isnan(a + b + c + d)  # (infinities are rejected above)
    if not good.all():
        idx = np.flatnonzero(good)
        a, b, c, d = a[idx], b[idx], c[idx], d[idx]
    else:
        idx = None
    # Longitudes may be any finite value (geopy wraps them too): _exact_km works on their
    # difference modulo 360, and geographiclib, the fallback, normalises them itself.
    res = np.empty(len(a))
    geod = _proj_geod() if len(a) <= _SMALL_N else None
    if geod is not None:
        # Karney's algorithm in C (PROJ's geodesic.c, the algorithm geographiclib implements):
        # same answer to ~1e-9 m, a fraction of the fixed cost for a few pairs.
        _, _, metres = geod.inv(b, a, d, c, return_back_azimuth=False)
        res[:] = np.asarray(metres, dtype=float) / 1000.0
    # One second point for every pair (the direct legs: every client to one origin): its
    # reduced latitude once, not once per pair (numpy's sin/cos/sqrt are element-wise, so
    # the same bits; ~1 ms per 50,000 pairs).
    one = np.ndim(lat2) == 0 and len(c) > 0
    if one and geod is None:
        su2_1, cu2_1 = _reduced(c[:1])
    for s in range(0, len(a) if geod is None else 0, _CHUNK):
        e = slice(s, s + _CHUNK)
        su1, cu1 = _reduced(a[e])
        if one:
            su2, cu2 = np.broadcast_to(su2_1, len(su1)), np.broadcast_to(cu2_1, len(su1))
        else:
            su2, cu2 = _reduced(c[e])
        res[e] = _exact_km(su1, cu1, a[e], b[e], su2, cu2, c[e], d[e])
    if idx is None:
        return res.reshape(shape)
    out = np.full(good.shape, np.nan)
    out[idx] = res
    return out.reshape(shape)


def geodesic_km_from(lat: float, lon: float, site_lats: np.ndarray, site_lons: np.ndarray,
                     out: np.ndarray | None = None) -> np.ndarray:
    """:func:`geodesic_km` from one point (degrees) to every site (finite 1-D arrays of one
    length): the same numbers -- PROJ's Karney for up to :data:`_SMALL_N` sites, called on one
    buffer instead of through ``Geod.inv``'s argument copies and :func:`geodesic_km`'s
    broadcasting and checks (~15 us instead of ~40 us for 20 sites, the API's one-point answer).
    Anything else (no pyproj, more sites, a point :func:`geodesic_km` would refuse or give NaN
    for) is :func:`geodesic_km` itself. ``out``: a float64 array of the sites' length to write
    the distances into (and return), instead of a new one."""
    n = len(site_lats)
    geod = _proj_geod() if n <= _SMALL_N else None
    inv = getattr(geod, "_inv", None)  # pyproj's Cython core of Geod.inv (in place)
    if inv is None or not (-90.0 <= lat <= 90.0 and math.isfinite(lon)):
        km = np.asarray(geodesic_km(lat, lon, site_lats, site_lons), dtype=float)
        if out is None:
            return km
        out[...] = km
        return out
    buf = np.empty((4, n))
    buf[0] = lon
    buf[1] = lat
    buf[2] = site_lons
    buf[3] = site_lats
    inv(buf[0], buf[1], buf[2], buf[3], radians=False, return_back_azimuth=False)
    return np.divide(buf[2], 1000.0, out=out)  # metres, written over the second longitudes


def _unit_vectors_t(su: np.ndarray, cu: np.ndarray, lon_deg: np.ndarray) -> np.ndarray:
    """``(3, n)`` unit vectors on the auxiliary sphere (rows x, y, z: contiguous, cache-friendly).
    """
    lam = np.radians(lon_deg)
    v = np.empty((3, len(su)))
    np.multiply(cu, np.cos(lam), out=v[0])
    np.multiply(cu, np.sin(lam), out=v[1])
    v[2] = su
    return v


def nearest(client_lats: object, client_lons: object, site_lats: object, site_lons: object,
            k: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest sites of every client, nearest first, by WGS84 geodesic distance.

    Degrees in. Returns ``(indices, distances_km)``, both of shape ``(n_clients, k)``; indices are
    rows of the site arrays (int64), distances are WGS84 geodesic km, exact to well under a metre
    (the same choice and distance as a brute force over ``geopy.distance.geodesic``; sites whose
    distances tie to within a millimetre may come out in either order, equal ones lower index
    first). ``k`` is clipped to the number of sites; ``k < 1``, no sites, or invalid coordinates
    raise ``ValueError``. The method (sphere ranking with a proven bound, then exact distances
    for the returned pairs and near-ties only) is in the module docstring.
    """
    cla, clo = validate_coords(client_lats, client_lons, "client")
    sla, slo = validate_coords(site_lats, site_lons, "site")
    if len(sla) == 0:
        raise ValueError("no sites to choose from")
    k = operator.index(k)
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    m = len(sla)
    k = min(k, m)
    n = len(cla)
    out_idx = np.empty((n, k), dtype=np.int64)
    out_km = np.empty((n, k))
    ssu, scu = _reduced(sla)
    sites = np.ascontiguousarray(_unit_vectors_t(ssu, scu, slo).T)  # (m, 3)
    for s in range(0, n, _CHUNK):
        e = slice(s, min(s + _CHUNK, n))
        out_idx[e], out_km[e] = _nearest_block(cla[e], clo[e], sla, slo, ssu, scu, sites, k)
    return out_idx, out_km


def _nearest_block(cla: np.ndarray, clo: np.ndarray, sla: np.ndarray, slo: np.ndarray,
                   ssu: np.ndarray, scu: np.ndarray, sites: np.ndarray,
                   k: int) -> tuple[np.ndarray, np.ndarray]:
    """``nearest`` for one block of clients (see the module docstring for the method)."""
    n = len(cla)
    m = len(sla)
    su, cu = _reduced(cla)
    # (m, n): cos(sigma) on the auxiliary sphere, site-major so the reductions below run over
    # contiguous rows of length n instead of n tiny rows of length m. einsum, not matmul: a
    # 3-deep product gains nothing from BLAS, and OpenBLAS's worker threads keep spinning after
    # each call, stealing the CPU from the numpy work that follows (3x slower overall on 2 cores).
    dots = np.einsum("mk,kn->mn", sites, _unit_vectors_t(su, cu, clo))
    if k == 1:
        dot_k = dots.max(axis=0)
        top = np.zeros(n, dtype=np.int64)
        for j in range(m - 1, 0, -1):  # lowest index wins exact ties
            np.putmask(top, dots[j] == dot_k, j)
        top = top[:, None]
        dot_top = dot_k[:, None]
    else:
        top = np.sort(np.argpartition(dots, m - k, axis=0)[m - k:].T, axis=1)  # (n, k) set
        dot_top = np.take_along_axis(dots.T, top, axis=1)
        dot_k = dot_top.min(axis=1)
    sigma_lim = np.arccos(np.clip(dot_k, -1.0, 1.0)) * SPHERE_BOUND_RATIO + _SIGMA_SLACK
    threshold = np.cos(np.minimum(sigma_lim, math.pi)) - _DOT_SLACK
    candidates = dots >= threshold
    ambiguous = np.flatnonzero(np.count_nonzero(candidates, axis=0) > k)

    # Exact distances of the k best of every client (a few of them are redone just below).
    if k == 1:
        t = top[:, 0]
        km = _exact_km(su, cu, cla, clo, ssu[t], scu[t], sla[t], slo[t], dot_k)[:, None]
        idx = top.copy()
    else:
        r = np.repeat(np.arange(n), k)
        t = top.ravel()
        km = _exact_km(su[r], cu[r], cla[r], clo[r], ssu[t], scu[t], sla[t], slo[t],
                       dot_top.ravel()).reshape(n, k)
        order = np.argsort(km, axis=1, kind="stable")  # columns are in site order: stable ties
        idx = np.take_along_axis(top, order, axis=1)
        km = np.take_along_axis(km, order, axis=1)
    # Near-ties: every candidate within the bound, measured exactly and ranked.
    if len(ambiguous):
        ac, ar = np.nonzero(candidates[:, ambiguous])
        rows = ambiguous[ar]
        full = np.full((len(ambiguous), m), np.inf)
        full[ar, ac] = _exact_km(su[rows], cu[rows], cla[rows], clo[rows], ssu[ac], scu[ac],
                                 sla[ac], slo[ac], dots[ac, rows])
        order = np.argsort(full, axis=1, kind="stable")[:, :k]
        idx[ambiguous] = order
        km[ambiguous] = np.take_along_axis(full, order, axis=1)
    return idx, km


def bounded_pairs(client_lats: np.ndarray, client_lons: np.ndarray, site_lats: np.ndarray,
                  site_lons: np.ndarray,
                  choose: Callable[[slice, np.ndarray, np.ndarray], np.ndarray],
                  ) -> Iterator[tuple[slice, np.ndarray, np.ndarray, np.ndarray]]:
    """Exact WGS84 km of the client-site pairs a caller picks from proven distance bounds.

    For each block of clients ``sl`` (validated degrees; :data:`_SUB_BLOCK` clients at a time),
    ``choose(sl, km_lo, km_hi)`` gets site-major ``(m, n_b)`` arrays with ``km_lo <= s <=
    km_hi`` for the geodesic ``s`` of every pair *as this module computes it* (``b sigma`` and
    ``a sigma`` on the auxiliary sphere, see the module docstring, widened by the rounding slack
    of :func:`nearest` and far more than the sub-millimetre error of the exact methods) and
    returns a boolean ``(m, n_b)`` mask of the pairs it needs exactly. Yields ``(sl, rows,
    cols, km)``: block-relative client rows, site columns and their exact km, ordered by site
    then client.

    Why: a ranking by a quantity that is monotone in distance (the latency model's internet leg)
    needs exact distances only for the sites whose bounds overlap the best ones -- about 2 of
    19 for random clients -- instead of all of them.

    Identity: the km of a pair is the very value :func:`nearest` with ``k = m`` returns for it
    (the same blocks of clients, the same auxiliary-sphere dot product deciding between Vincenty
    and geographiclib, the same element-wise arithmetic), so rankings built on it are identical
    to the bit to rankings built on the full matrix (``tests/unit/test_network_pruned.py``).
    """
    cla, clo = client_lats, client_lons
    sla, slo = site_lats, site_lons
    n, m = len(cla), len(sla)
    if n == 0 or m == 0:
        return
    ssu, scu = _reduced(sla)
    sites = np.ascontiguousarray(_unit_vectors_t(ssu, scu, slo).T)  # (m, 3), as in nearest
    for s in range(0, n, _CHUNK):
        sl = slice(s, min(s + _CHUNK, n))
        su, cu = _reduced(cla[sl])
        dots = np.einsum("mk,kn->mn", sites, _unit_vectors_t(su, cu, clo[sl]))  # (m, n_b)
        # The rest per sub-block of _SUB_BLOCK clients: the (m, clients) bounds, masks and the
        # exact pairs' Vincenty buffers then stay in the core's cache (a 16,384-client block's
        # are ~2.5 MB each; ~2x faster per pair, issue 16). Everything below is element-wise
        # per pair, so the sub-blocks change no bit; the dot products stay nearest()'s blocks.
        for t in range(0, sl.stop - s, _SUB_BLOCK):
            sub = slice(s + t, min(s + t + _SUB_BLOCK, sl.stop))
            d = dots[:, t:sub.stop - s]
            # sigma with the rounding slack of nearest() on both sides (dot products ~1e-15
            # off, i.e. up to ~5e-8 rad near 0 or pi), then b sigma <= s <= a sigma. One
            # arccos: a dot product off by at most _DOT_SLACK moves arccos by at most
            # acos(1 - _DOT_SLACK) (~1.4e-7 rad: arccos is steepest at +-1), so sigma +-
            # _BOUND_WIDEN contains what arccos(dot -+ _DOT_SLACK) +- _SIGMA_SLACK gave (~1 m
            # looser, a few more pairs).
            km_hi = np.clip(d, -1.0, 1.0)
            np.arccos(km_hi, out=km_hi)
            km_lo = km_hi - _BOUND_WIDEN
            np.maximum(km_lo, 0.0, out=km_lo)
            km_lo *= WGS84_B_KM
            km_hi += _BOUND_WIDEN
            km_hi *= WGS84_A_KM
            pick = np.asarray(choose(sub, km_lo, km_hi), dtype=bool)
            del km_lo, km_hi
            cols, rows = np.nonzero(pick)
            r = t + rows  # rows of the block
            g = sub.start + rows
            km = _exact_km(su[r], cu[r], cla[g], clo[g], ssu[cols], scu[cols], sla[cols],
                           slo[cols], d[cols, rows])
            yield sub, rows, cols, km


def great_circle_path(lat1: float, lon1: float, lat2: float, lon2: float,
                      n: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points along the WGS84 geodesic from point 1 to point 2 (inclusive), degrees.

    Used to draw paths and to interpolate animation frames (plotly does not tween scattergeo).
    Longitudes are kept continuous across the antimeridian (they may leave [-180, 180]) so the
    line does not jump; plotly geo draws such longitudes correctly. A few dozen geographiclib
    calls per path: cheap at drawing scale, so it is not vectorised.
    """
    validate_coords([lat1, lat2], [lon1, lon2], "path end point")
    line = _WGS84.InverseLine(lat1, lon1, lat2, lon2)
    s = np.linspace(0.0, line.s13, max(int(n), 2))
    lats = np.empty_like(s)
    lons = np.empty_like(s)
    for i, si in enumerate(s):
        p = line.Position(si, Geodesic.LATITUDE | Geodesic.LONGITUDE | Geodesic.LONG_UNROLL)
        lats[i] = p["lat2"]
        lons[i] = p["lon2"]
    return lats, lons
