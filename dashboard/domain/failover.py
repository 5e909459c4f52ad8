"""Failover transitions: who moves where when access points or endpoints change state, and the
animation frames that show it.

Units: degrees for coordinates, ms for RTTs. Routing is the geodesic nearest healthy PoP
(:mod:`dashboard.domain.routing`); drawing positions are interpolated on the sphere, which is
indistinguishable from the ellipsoid on a world map and lets every frame be computed in one
vectorised step.

plotly.js does not tween scattergeo, so the browser is sent the end points of every moving path
(:func:`animation_plan`) and computes and steps the intermediate frames itself (no server round
trip per frame; :func:`animation_frames` is the same computation in numpy, for tests and tools).
Each frame holds only the paths of clients that move; unaffected paths stay in their own traces
and never flicker.
"""

from __future__ import annotations

import base64
import binascii
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dashboard.domain.frames import colvals
from dashboard.domain.paths import RowCodes, row_codes

#: Frames of a sweep: at least 20 are needed for a smooth 1-2 s sweep; the browser draws the one
#: due at each display refresh and drops the others when it is late (``assets/failover.js``), so
#: 36 frames over a 1.2 s budget (one per ~33 ms, every second 60 Hz refresh) leave room to drop a
#: third of them and still draw 20 or more.
DEFAULT_FRAMES = 36
#: Packed plan coordinates (:func:`pack_coords`): degrees times this, as little-endian int32.
#: The plan rounds degrees to 1e-5 (~1 m) anyway, so the integers carry exactly those values.
PACK_SCALE = 100_000
#: The int32 that stands for a gap (NaN: no route) in packed coordinates.
PACK_GAP = -(2 ** 31)
#: The plan's coordinate entries: clients, PoP ends before/after, origin ends before/after.
PLAN_COORDS = ("c", "p0", "p1", "o0", "o1")


def _unit(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    la, lo = np.radians(lat), np.radians(lon)
    return np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)], axis=-1)


def slerp(lat1: object, lon1: object, lat2: object, lon2: object,
          t: object) -> tuple[np.ndarray, np.ndarray]:
    """Point at fraction ``t`` (0..1) of the great circle from point 1 to point 2 (sphere).

    Vectorised over all arguments (broadcasting). Antipodal pairs have no unique great circle;
    they fall back to linear interpolation in (lat, lon), which is at least continuous.
    """
    a = _unit(np.asarray(lat1, float), np.asarray(lon1, float))
    b = _unit(np.asarray(lat2, float), np.asarray(lon2, float))
    a, b = np.broadcast_arrays(a, b)
    t = np.asarray(t, dtype=float)[..., None]
    dot = np.clip(np.sum(a * b, axis=-1, keepdims=True), -1.0, 1.0)
    omega = np.arccos(dot)
    sin_o = np.sin(omega)
    safe = sin_o > 1e-9
    w1 = np.where(safe, np.sin((1.0 - t) * omega) / np.where(safe, sin_o, 1.0), 1.0 - t)
    w2 = np.where(safe, np.sin(t * omega) / np.where(safe, sin_o, 1.0), t)
    p = w1 * a + w2 * b
    lat = np.degrees(np.arctan2(p[..., 2], np.hypot(p[..., 0], p[..., 1])))
    lon = np.degrees(np.arctan2(p[..., 1], p[..., 0]))
    antipodal = (~safe[..., 0]) & (dot[..., 0] < 0)
    if np.any(antipodal):
        lin_lat = (1 - t[..., 0]) * np.asarray(lat1, float) + t[..., 0] * np.asarray(lat2, float)
        lin_lon = (1 - t[..., 0]) * np.asarray(lon1, float) + t[..., 0] * np.asarray(lon2, float)
        lat = np.where(antipodal, lin_lat, lat)
        lon = np.where(antipodal, lin_lon, lon)
    return lat, lon


def ease_in_out(t: np.ndarray) -> np.ndarray:
    """Cubic ease-in-out: the sweep starts and lands gently instead of jerking."""
    t = np.asarray(t, dtype=float)
    return np.where(t < 0.5, 4 * t**3, 1 - (-2 * t + 2) ** 3 / 2)


@dataclass(frozen=True)
class Transition:
    """What changes between two routing states of the same clients (client order kept).

    ``moved`` marks clients whose PoP or origin changed (including gaining or losing a route).
    Coordinates are NaN where a client has no PoP / no serving origin in that state.
    """

    before: pd.DataFrame
    after: pd.DataFrame
    moved: np.ndarray

    @property
    def moved_index(self) -> np.ndarray:
        return np.flatnonzero(self.moved)

    def summary(self) -> dict[str, object]:
        """Counts and RTT change statistics for the before/after panel (ms).

        ``flows``: one record per (from PoP, from origin, to PoP, to origin) with its number of
        clients, most clients first; PoP "no route" = every PoP down, origin "" = unserved. RTT statistics
        (``median_change_ms``, ``worst_change_ms`` = largest increase, ``worst_client`` = its row)
        cover the moved clients served both before and after; losing or regaining service is
        counted separately (``lost_route`` / ``regained_route``; ``no_route_after`` = no healthy
        PoP at all, ``unserved_after`` = a PoP but its endpoint is down).
        """
        m = self.moved
        idx = np.flatnonzero(m)  # gathers of the moved rows: the values a mask selects
        b = colvals(self.before, "anycast_ms", float)[idx]
        a = colvals(self.after, "anycast_ms", float)[idx]
        delta = a - b
        finite = np.isfinite(delta)
        bc, ac = row_codes(self.before), row_codes(self.after)
        if bc is not None and ac is not None and len(bc.pop) == len(m) == len(ac.pop):
            flows = _flows_by_code(bc, ac, idx)
        else:
            flows = _flows(colvals(self.before, "pop_id", object)[idx],
                           colvals(self.before, "origin_id", object)[idx],
                           colvals(self.after, "pop_id", object)[idx],
                           colvals(self.after, "origin_id", object)[idx])
        b_served = colvals(self.before, "served", bool)[idx]
        a_served = colvals(self.after, "served", bool)[idx]
        a_routed = colvals(self.after, "routed", bool)[idx]
        worst = int(idx[finite][np.argmax(delta[finite])]) if finite.any() else None
        return {
            "clients": int(len(self.moved)),
            "moved": int(m.sum()),
            "lost_route": int((b_served & ~a_served).sum()),
            "regained_route": int((~b_served & a_served).sum()),
            "no_route_after": int((~a_routed).sum()),
            "unserved_after": int((a_routed & ~a_served).sum()),
            "median_change_ms": float(np.median(delta[finite])) if finite.any() else None,
            "worst_change_ms": float(np.max(delta[finite])) if finite.any() else None,
            "worst_client": worst,
            "flows": flows,
        }


def _flows(from_pop: np.ndarray, from_origin: np.ndarray, to_pop: np.ndarray,
           to_origin: np.ndarray) -> list[dict[str, object]]:
    """One record per distinct (from PoP, from origin, to PoP, to origin) of the moved clients
    with its number of ``clients``, most clients first, then by from and to PoP (then first
    seen); PoP "" becomes "no route". A counter over tuples: a few hundred flows at most, and
    no DataFrame of text columns to build (~1 ms instead of ~10 ms for 2,000 moved clients)."""
    counts = Counter(zip(from_pop.tolist(), from_origin.tolist(), to_pop.tolist(),
                         to_origin.tolist()))
    records = [{"from": f or "no route", "from_origin": fo, "to": t or "no route",
                "to_origin": to, "clients": int(c)}
               for (f, fo, t, to), c in counts.items()]
    records.sort(key=lambda r: (-r["clients"], r["from"], r["to"]))  # stable: first seen
    return records


def _flows_by_code(before: RowCodes, after: RowCodes, idx: np.ndarray
                   ) -> list[dict[str, object]]:
    """:func:`_flows` of rows ``idx`` from the two tables' codes (the same records in the same
    order: one code per distinct id in each table, so distinct code tuples are distinct id
    tuples, counted in order of first occurrence as the counter does): a few thousand moved
    clients cost ~0.1 ms instead of ~0.7 ms of tuples of strings (issue 16)."""
    sizes = (len(before.pop_ids), len(before.origin_ids), len(after.pop_ids),
             len(after.origin_ids))
    key = np.zeros(len(idx), dtype=np.int64)
    for codes, size in zip((before.pop[idx], before.origin[idx], after.pop[idx],
                            after.origin[idx]), sizes):
        key = key * size + codes
    uniq, first, counts = np.unique(key, return_index=True, return_counts=True)
    order = np.argsort(first)
    names = (before.pop_ids, before.origin_ids, after.pop_ids, after.origin_ids)
    records = []
    for k, c in zip(uniq[order].tolist(), counts[order].tolist()):
        parts = []
        for size in reversed(sizes):
            k, r = divmod(k, size)
            parts.append(r)
        f, fo, t, to = (str(n[r]) for n, r in zip(names, reversed(parts)))
        records.append({"from": f or "no route", "from_origin": fo, "to": t or "no route",
                        "to_origin": to, "clients": int(c)})
    records.sort(key=lambda r: (-r["clients"], r["from"], r["to"]))  # stable: first seen
    return records


def transition(before: pd.DataFrame, after: pd.DataFrame) -> Transition:
    """Compare two :func:`dashboard.domain.paths.client_paths` tables of the same clients."""
    if len(before) != len(after):
        raise ValueError(f"before has {len(before)} clients, after has {len(after)}")
    if len(before) and not (np.array_equal(colvals(before, "lat"), colvals(after, "lat"))
                            and np.array_equal(colvals(before, "lon"), colvals(after, "lon"))):
        raise ValueError("before and after must describe the same clients in the same order")
    moved = (_differs(before, after)
             | (colvals(before, "served") != colvals(after, "served")))
    return Transition(before=before.reset_index(drop=True), after=after.reset_index(drop=True),
                      moved=np.asarray(moved, dtype=bool))


def _differs(before: pd.DataFrame, after: pd.DataFrame) -> np.ndarray:
    """Per row, whether the PoP or the origin id differs: by the tables' integer codes when
    both have them (:func:`dashboard.domain.paths.row_codes`; ~0.05 ms instead of ~0.6 ms of
    string comparisons for 25,000 rows, issue 16), else by the id columns."""
    b, a = row_codes(before), row_codes(after)
    if b is not None and a is not None and len(b.pop) == len(a.pop):
        # codes -> one numbering per column (a few ids): equal ids, equal codes
        out = np.zeros(len(a.pop), dtype=bool)
        for bc, bi, ac, ai in ((b.pop, b.pop_ids, a.pop, a.pop_ids),
                               (b.origin, b.origin_ids, a.origin, a.origin_ids)):
            if not np.array_equal(bi, ai):
                index = {v: i for i, v in enumerate(bi.tolist())}
                ai_in_b = np.array([index.get(v, -1) for v in ai.tolist()], dtype=np.int64)
                ac = ai_in_b[ac]
            out |= bc != ac
        return out
    return ((colvals(before, "pop_id") != colvals(after, "pop_id"))
            | (colvals(before, "origin_id") != colvals(after, "origin_id")))


def _ends(df: pd.DataFrame, idx: np.ndarray, pop_pos: dict[str, tuple[float, float]],
          origin_pos: dict[str, tuple[float, float]]) -> tuple[np.ndarray, ...]:
    """PoP and origin positions of the selected clients, collapsed where missing.

    A missing PoP (no route) collapses onto the client and a missing origin (endpoint down) onto
    the PoP, so a lost path retracts toward its source and a regained one grows out of it.
    """
    clat = colvals(df, "lat")[idx]
    clon = colvals(df, "lon")[idx]
    codes = row_codes(df)
    if codes is not None:  # one lookup per distinct id instead of one per client (issue 16)
        plat, plon = _positions_by_code(codes.pop[idx], codes.pop_ids, pop_pos)
    else:
        plat, plon = _positions_of(colvals(df, "pop_id")[idx], pop_pos)
    plat = np.where(np.isfinite(plat), plat, clat)
    plon = np.where(np.isfinite(plon), plon, clon)
    if codes is not None:
        olat, olon = _positions_by_code(codes.origin[idx], codes.origin_ids, origin_pos)
    else:
        olat, olon = _positions_of(colvals(df, "origin_id")[idx], origin_pos)
    olat = np.where(np.isfinite(olat), olat, plat)
    olon = np.where(np.isfinite(olon), olon, plon)
    return clat, clon, plat, plon, olat, olon


def _positions_of(keys: np.ndarray, pos: dict[str, tuple[float, float]]
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(lats, lons) of ``keys`` in ``pos`` (degrees), NaN for "" / None (no PoP, no origin);
    ``KeyError`` for any other key not in ``pos``. One lookup per key, then two gathers (two
    lookups and a tuple index per key before)."""
    names = list(pos)
    lat = np.array([pos[k][0] for k in names] + [np.nan], dtype=float)
    lon = np.array([pos[k][1] for k in names] + [np.nan], dtype=float)
    index = {k: i for i, k in enumerate(names)}
    keys = np.asarray(keys, dtype=object)
    ix = np.fromiter((index.get(k, -1) for k in keys.tolist()), dtype=np.int64,
                     count=len(keys))
    missing = ix < 0
    if missing.any():
        unknown = [k for k in keys[missing] if k]
        if unknown:
            raise KeyError(unknown[0])
        ix = np.where(missing, len(names), ix)
    return lat[ix], lon[ix]


def _positions_by_code(codes: np.ndarray, ids: np.ndarray,
                       pos: dict[str, tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_positions_of` of ``ids[codes]`` (the same values; a ``KeyError`` naming an
    unknown id): each distinct id looked up once."""
    used = np.unique(codes)
    lat = np.full(len(ids), np.nan)
    lon = np.full(len(ids), np.nan)
    for c in used.tolist():
        k = ids[c]
        if k:
            lat[c], lon[c] = pos[k]  # KeyError for an unknown id, as _positions_of
    return lat[codes], lon[codes]


def _segments(lat_a: np.ndarray, lon_a: np.ndarray, lat_b: np.ndarray,
              lon_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Interleave segments a->b with NaN gaps: one trace draws them all.

    Two points per segment suffice: plotly geo draws lines as great-circle arcs (d3-geo).
    """
    n = len(lat_a)
    lat = np.empty(3 * n)
    lon = np.empty(3 * n)
    lat[0::3], lat[1::3], lat[2::3] = lat_a, lat_b, np.nan
    lon[0::3], lon[1::3], lon[2::3] = lon_a, lon_b, np.nan
    return lat, lon


def animation_plan(tr: Transition, pop_pos: dict[str, tuple[float, float]],
                   origin_pos: dict[str, tuple[float, float]],
                   n_frames: int = DEFAULT_FRAMES, packed: bool = False) -> dict[str, object]:
    """What the browser needs to draw every frame of the moving paths, and nothing more.

    ``{"n": n_frames, "clients": [moved client rows], "t": [eased fraction per frame],
    "c": [lats, lons] of the moved clients, "p0"/"p1": their PoP ends before/after,
    "o0"/"o1": their origin ends before/after}`` (degrees rounded to ~1 m, plain lists;
    ``packed``: each of those five as :func:`pack_coords` instead, the same values). Frame
    ``k`` is :func:`plan_frame`: each PoP end moves along the great circle from p0 to p1 by
    ``t[k]``, the origin end from o0 to o1, and the internet and backbone legs are drawn between
    them. ``assets/failover.js`` computes the same frames in the browser (its ``slerp`` mirrors
    :func:`slerp`), so the payload is 10 numbers per moved client instead of 12 per client per
    frame: 1,000 moving clients cost ~96 kB as JSON lists (~53 kB packed) instead of ~2 MB and
    no server time per frame.
    """
    if n_frames < 2:
        raise ValueError(f"n_frames must be >= 2, got {n_frames}")
    idx = tr.moved_index
    _, _, p0lat, p0lon, o0lat, o0lon = _ends(tr.before, idx, pop_pos, origin_pos)
    clat, clon, p1lat, p1lon, o1lat, o1lon = _ends(tr.after, idx, pop_pos, origin_pos)
    ts = ease_in_out(np.linspace(0.0, 1.0, n_frames))
    enc = pack_coords if packed else (lambda a, b: [_json_floats(a), _json_floats(b)])
    return {"n": int(n_frames), "clients": idx.tolist(),
            "t": [float(v) for v in np.round(ts, 9)],
            "c": enc(clat, clon), "p0": enc(p0lat, p0lon), "p1": enc(p1lat, p1lon),
            "o0": enc(o0lat, o0lon), "o1": enc(o1lat, o1lon)}


def pack_coords(lat: object, lon: object) -> dict[str, object]:
    """``{"i4": base64, "div": PACK_SCALE}``: the lats then the lons (degrees, as many of each),
    each rounded to 1e-5 degree as the plan's lists are (``round(x * PACK_SCALE)``, NaN as
    :data:`PACK_GAP`), little-endian int32. Why: as JSON lists 1,000 moving clients' 10,000
    coordinates cost ~96 kB and ~2 ms to encode (issue 16); packed ~53 kB and ~0.05 ms.
    Exact: ``k / PACK_SCALE`` (one IEEE division, what :func:`unpack_coords` and
    ``assets/failover.js`` compute) is the float ``np.round(x, 5)`` gives, which is what the
    list form's JSON text parses back to."""
    a = np.concatenate([np.asarray(lat, dtype=float).ravel(),
                        np.asarray(lon, dtype=float).ravel()])
    k = np.rint(a * PACK_SCALE)
    k[~np.isfinite(k)] = PACK_GAP
    return {"i4": base64.b64encode(k.astype("<i4").tobytes()).decode("ascii"),
            "div": PACK_SCALE}


def unpack_coords(v: object) -> tuple[np.ndarray, np.ndarray]:
    """``(lats, lons)`` (float, NaN for a gap) of a plan entry, packed (:func:`pack_coords`) or
    plain ``[lats, lons]`` lists (None for a gap). ``ValueError`` for anything else."""
    if isinstance(v, dict):
        try:
            raw = base64.b64decode(str(v.get("i4", "")), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError(f"packed coordinates are not base64: {exc}") from None
        div = v.get("div")
        if not isinstance(div, int) or isinstance(div, bool) or div <= 0 or len(raw) % 8:
            raise ValueError("packed coordinates need a positive integer div and pairs of int32")
        k = np.frombuffer(raw, dtype="<i4")
        a = np.where(k == PACK_GAP, np.nan, k / div)
        return a[: len(a) // 2], a[len(a) // 2:]
    try:
        lat, lon = v  # type: ignore[misc]
    except (TypeError, ValueError):
        raise ValueError("plan coordinates must be [lats, lons] or packed") from None
    # None (JSON's gap) becomes NaN: numpy converts it for a float dtype, without a loop
    return np.array(lat, dtype=float), np.array(lon, dtype=float)


def plan_frame(plan: dict, k: int) -> tuple[list[list[float | None]], list[list[float | None]]]:
    """Frame ``k`` of an :func:`animation_plan` (packed or not): ([internet lats, lons],
    [backbone lats, lons]), segments ``a, b, None`` per moved client. The last frame lands
    exactly on p1/o1."""
    (ilat, ilon), (blat, blon) = plan_frame_arrays(plan, k)
    return [_json_floats(ilat), _json_floats(ilon)], [_json_floats(blat), _json_floats(blon)]


def plan_frame_arrays(plan: dict, k: int) -> tuple[tuple[np.ndarray, np.ndarray],
                                                   tuple[np.ndarray, np.ndarray]]:
    """:func:`plan_frame` as float arrays (the same values, rounded to 1e-5 degree; NaN for the
    gaps): for callers that hand them to numpy again (the map's moving layers), without a list
    of 3,000 Python floats and back per leg."""
    def arr(key: str) -> tuple[np.ndarray, np.ndarray]:
        return unpack_coords(plan[key])

    t = float(plan["t"][k])
    (clat, clon), (p1a, p1o), (o1a, o1o) = arr("c"), arr("p1"), arr("o1")
    if k == plan["n"] - 1 or t == 1.0:
        # the last frame lands on p1/o1: the "before" ends are not decoded (what the map's
        # moving layers ask for on every what-if: ~0.1 ms less, issue 16)
        plat, plon, olat, olon = p1a, p1o, o1a, o1o
    else:
        (p0a, p0o), (o0a, o0o) = arr("p0"), arr("o0")
        plat, plon = slerp(p0a, p0o, p1a, p1o, t)
        olat, olon = slerp(o0a, o0o, o1a, o1o, t)
    ilat, ilon = _segments(clat, clon, plat, plon)
    blat, blon = _segments(plat, plon, olat, olon)
    r = lambda a: np.round(a, 5) + 0.0  # noqa: E731  (as _json_floats rounds; -0.0 as 0.0)
    return (r(ilat), r(ilon)), (r(blat), r(blon))


def animation_frames(tr: Transition, pop_pos: dict[str, tuple[float, float]],
                     origin_pos: dict[str, tuple[float, float]],
                     n_frames: int = DEFAULT_FRAMES) -> dict[str, object]:
    """Every frame of the moving paths, expanded (what the browser draws from the plan).

    Returns ``{"n": n_frames, "clients": [...moved client rows...], "internet": [[lats, lons], ...],
    "backbone": [[lats, lons], ...]}`` with one entry per frame for each leg. Frame 0 is the
    before state and the last frame is exactly the after state. In each frame the PoP end of a
    moving client sweeps along the great circle from its old PoP to its new one (eased), and the
    backbone leg follows it to the (possibly changing) origin.
    """
    plan = animation_plan(tr, pop_pos, origin_pos, n_frames)
    internet, backbone = [], []
    for k in range(n_frames):
        i, b = plan_frame(plan, k)
        internet.append(i)
        backbone.append(b)
    return {"n": int(n_frames), "clients": plan["clients"], "internet": internet,
            "backbone": backbone}


def _json_floats(a: np.ndarray) -> list[float | None]:
    """Rounded to ~1 m and NaN as None, which JSON and plotly read as a line gap; -0.0 as 0.0
    (the same point; :func:`pack_coords` has no signed zero either, so both forms agree bit for
    bit)."""
    r = np.round(np.asarray(a, dtype=float), 5) + 0.0
    out: list[float | None] = r.tolist()
    for i in np.flatnonzero(~np.isfinite(r)):
        out[i] = None
    return out
