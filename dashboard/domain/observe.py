"""Observations: the entry access point inferred from a traceroute's hop names, and measured RTTs
compared with the model.

**Entry point.** Carriers often name routers after their metro (:mod:`dashboard.domain.metros`).
The hops just before the anycast address are where the client's traffic reached the provider's
edge, so the *last* hop before the destination whose name carries a metro code that lies within
:data:`MAX_METRO_KM` of a catalog access point names the likely entry point. Every coded hop is
kept as evidence (hop number, hostname, code, metro, best RTT) with a verdict, and the answer
carries a confidence. It is deliberately conservative (docs/observations.md, "Caveats"):

- a hop whose best RTT is below the fibre floor of the distance from the client to its metro
  (``2 * d / fibre_km_per_ms`` minus :data:`RTT_SLACK_MS`: light in fibre, the latency model's own
  constant) cannot be there: the name is stale or wrong, and the hop is rejected;
- the destination's own best RTT must clear the floor via the inferred access point, or the
  inference is rejected;
- when the last coded hop names a metro with no access point nearby, or one hostname names two
  metros, or the last two coded hops name different access points next to each other, the answer
  is "ambiguous" and no access point is proposed: nothing changes.

Confidence: ``high`` when the coded hop is at most :data:`NEAR_HOPS` hops before the destination
and a second coded hop or the client's speed-of-light check agrees; ``medium`` when one of those
holds; ``low`` otherwise (several unnamed hops after it: an MPLS tunnel or the provider's backbone
may carry the traffic elsewhere).

**Measured RTTs.** A CSV of measured RTTs per client (columns below) is read into
:class:`Measurement` rows; :func:`compare` puts them beside the modelled RTTs (the route table's
figure for that client) with the error in ms and %, and :func:`error_summary` gives the median
absolute error. Bounded: :data:`MAX_CSV_CHARS`, :data:`MAX_MEASUREMENTS` rows.

Pure: no I/O; the access points and the client come in as arguments.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass, replace
from typing import Callable, Sequence

import numpy as np

from dashboard.domain.geodesy import geodesic_km
from dashboard.domain.latency import FIBRE_KM_PER_MS
from dashboard.domain.metros import Metro, metro_for_token
from dashboard.domain.traceroute import Hop, Trace

__all__ = ["MAX_CSV_CHARS", "MAX_MEASUREMENTS", "MAX_METRO_KM", "Comparison", "Evidence",
           "Inference", "Measurement", "compare", "error_summary", "hostname_metros",
           "infer_entry", "parse_measurements"]

#: A metro maps to its nearest access point only within this distance (km): a metro code names
#: where the router is, and an access point in the same metro area is within tens of km; 250 km
#: keeps the Bay Area and Washington DC codes on SJC and IAD while Amsterdam (360 km from LHR) or
#: Osaka (400 km from NRT) stay "no access point nearby".
MAX_METRO_KM = 250.0
#: Tolerance of the speed-of-light check (ms): tracert rounds to whole ms ("<1 ms").
RTT_SLACK_MS = 1.0
#: A coded hop at most this many hops before the destination counts as "next to" it.
NEAR_HOPS = 3

CONFIDENCES = ("high", "medium", "low", "none")


@dataclass(frozen=True)
class Evidence:
    """One hop whose hostname carries a metro code, and what was made of it. ``km``: distance
    from the metro to ``pop`` (NaN when no access point is within :data:`MAX_METRO_KM`);
    ``floor_ms``: the fibre-floor RTT from the client to the metro (NaN without a client);
    ``verdict``: ``entry`` (the hop the answer rests on), ``agrees``, ``earlier`` (an earlier hop
    elsewhere on the path), ``no access point nearby``, ``ambiguous name``, ``faster than light``."""

    hop: int
    host: str
    code: str
    metro: str
    rtt_ms: float
    pop: str | None
    km: float
    floor_ms: float
    verdict: str


@dataclass(frozen=True)
class Inference:
    """The answer: ``pop`` (None when nothing can be inferred), ``confidence`` (one of
    :data:`CONFIDENCES`), ``reason`` (one sentence), the ``evidence`` rows (hop order), the
    destination's best RTT (``measured_ms``, NaN when it did not answer) and ``notes``."""

    pop: str | None
    confidence: str
    reason: str
    evidence: tuple[Evidence, ...] = ()
    measured_ms: float = math.nan
    destination_hop: int | None = None
    notes: tuple[str, ...] = ()


_SPLIT = re.compile(r"[.\-_]+")
_SECOND_LEVEL = {"co", "com", "net", "org", "ne", "or", "ac", "gov", "edu"}


def hostname_metros(host: str) -> list[tuple[str, Metro]]:
    """The (token, metro) pairs a hostname names, in order, one per metro: labels split on
    ``.``, ``-`` and ``_``, each piece read without its trailing digits (``lon13`` -> ``lon``,
    ``frnkge08`` -> ``frnkge``). The registered domain (``ntt.net``, ``example.co.uk``) is
    skipped: a carrier's own name is not a place."""
    labels = [lb for lb in host.lower().split(".") if lb]
    drop = 2 if len(labels) > 2 else 1 if len(labels) == 2 else 0
    if len(labels) >= 3 and labels[-2] in _SECOND_LEVEL and len(labels[-1]) == 2:
        drop = 3
    out: list[tuple[str, Metro]] = []
    seen: set[str] = set()
    for label in labels[:len(labels) - drop]:
        for piece in _SPLIT.split(label):
            token = piece.rstrip("0123456789")
            if not token.isalpha() or not token.isascii():
                continue
            metro = metro_for_token(token)
            if metro is not None and metro.name not in seen:
                seen.add(metro.name)
                out.append((token, metro))
    return out


def _nearest_pop(metro: Metro, pop_ids: Sequence[str], pop_lats: np.ndarray,
                 pop_lons: np.ndarray, max_km: float) -> tuple[str | None, float]:
    if not len(pop_ids):
        return None, math.nan
    d = geodesic_km(metro.lat, metro.lon, pop_lats, pop_lons)
    i = int(np.argmin(d))
    return (pop_ids[i], float(d[i])) if float(d[i]) <= max_km else (None, float(d[i]))


def _floor_ms(client: tuple[float, float] | None, lat: float, lon: float,
              fibre_km_per_ms: float) -> float:
    if client is None:
        return math.nan
    return 2.0 * float(geodesic_km(client[0], client[1], lat, lon)) / fibre_km_per_ms


def _destination(trace: Trace) -> tuple[Hop | None, list[str]]:
    """The hop that is the anycast address, and notes on how it was found."""
    answered = [h for h in trace.hops if h.answered]
    if not answered:
        return None, ["no hop answered"]
    last = answered[-1]
    if trace.target_ip:
        if trace.target_ip in last.ips:
            return last, []
        return None, [f"the trace did not reach {trace.target_ip}: every named hop is read as "
                      "on the way"]
    return last, [f"the last answering hop (#{last.number}) is taken as the destination"]


def infer_entry(trace: Trace, pop_ids: Sequence[str], pop_lats: Sequence[float],
                pop_lons: Sequence[float], client: tuple[float, float] | None = None,
                fibre_km_per_ms: float = FIBRE_KM_PER_MS,
                max_km: float = MAX_METRO_KM) -> Inference:
    """The access point ``trace`` most likely entered at (module docstring). ``pop_*``: the
    catalog's access points (ids, degrees); ``client``: where the trace was run from (degrees),
    enabling the speed-of-light checks; ``fibre_km_per_ms``: the latency model's light speed in
    fibre (one way). Never raises."""
    if trace.problem:
        return Inference(None, "none", trace.problem)
    lats, lons = np.asarray(pop_lats, dtype=float), np.asarray(pop_lons, dtype=float)
    dest, notes = _destination(trace)
    measured = dest.rtt_ms if dest is not None else math.nan
    end = dest.number if dest is not None else math.inf
    evidence: list[Evidence] = []
    for hop in trace.hops:
        if hop.number >= end or not hop.hosts:
            continue
        for host in hop.hosts:
            found = hostname_metros(host)
            if not found:
                continue
            if len(found) > 1:
                names = " and ".join(m.name for _, m in found)
                evidence.append(Evidence(hop.number, host, "/".join(t for t, _ in found), names,
                                         hop.rtt_ms, None, math.nan, math.nan, "ambiguous name"))
                continue
            token, metro = found[0]
            pop, km = _nearest_pop(metro, pop_ids, lats, lons, max_km)
            floor = _floor_ms(client, metro.lat, metro.lon, fibre_km_per_ms)
            if math.isfinite(floor) and math.isfinite(hop.rtt_ms) \
                    and hop.rtt_ms + RTT_SLACK_MS < floor:
                verdict = "faster than light"
            elif pop is None:
                verdict = "no access point nearby"
            else:
                verdict = "earlier"
            evidence.append(Evidence(hop.number, host, token, metro.name, hop.rtt_ms, pop,
                                     km if pop else math.nan, floor, verdict))
    if not evidence:
        named = any(h.hosts for h in trace.hops)
        reason = ("no hop name carries a metro code this dashboard knows: nothing inferred"
                  if named else "the trace has no hostnames (run it without -n, or the "
                                "carrier publishes no reverse DNS): nothing inferred")
        return Inference(None, "none", reason, (), measured,
                         dest.number if dest else None, tuple(notes))
    usable = [e for e in evidence if e.verdict != "faster than light"]
    rejected = len(evidence) - len(usable)
    if rejected:
        notes.append(f"{rejected} named hop{'s' if rejected > 1 else ''} rejected: the RTT is "
                     "below the speed of light in fibre from the client to that metro")
    if not usable:
        return _done(None, "none", "every metro named in the trace is impossible at its RTT "
                     "(stale or wrong names): nothing inferred", evidence, measured, dest, notes)
    last = usable[-1]
    last_hop = [e for e in usable if e.hop == last.hop]
    if last.verdict == "ambiguous name" or len({e.pop for e in last_hop}) > 1:
        return _done(None, "none", f"hop {last.hop} ({last.host}) names more than one metro: "
                     "ambiguous, nothing inferred", evidence, measured, dest, notes)
    if last.pop is None:
        return _done(None, "none", f"the last named hop ({last.hop}, {last.host}) is in "
                     f"{last.metro}, which has no access point within {max_km:,.0f} km: the "
                     "entry is not clear, nothing inferred", evidence, measured, dest, notes)
    before = [e for e in usable if e.hop < last.hop]
    prev = before[-1] if before else None
    if prev is not None and prev.pop != last.pop and prev.pop is not None \
            and last.hop - prev.hop <= 1 and math.isfinite(last.rtt_ms) \
            and math.isfinite(prev.rtt_ms) and abs(last.rtt_ms - prev.rtt_ms) < 2.0:
        return _done(None, "none", f"hops {prev.hop} and {last.hop} name {prev.metro} and "
                     f"{last.metro} at the same RTT: ambiguous (one of the names is wrong), "
                     "nothing inferred", evidence, measured, dest, notes)
    pop = last.pop
    agree = [e for e in usable if e.pop == pop]
    floor_pop = _floor_ms(client, *_pop_point(pop, pop_ids, lats, lons), fibre_km_per_ms)
    if math.isfinite(measured) and math.isfinite(floor_pop) \
            and measured + RTT_SLACK_MS < floor_pop:
        return _done(None, "none", f"the destination answered in {measured:.1f} ms, faster "
                     f"than light can go to {pop} and back from the client "
                     f"({floor_pop:.1f} ms): the names are wrong, nothing inferred",
                     evidence, measured, dest, notes)
    gap = (dest.number - last.hop) if dest is not None else math.inf
    near = gap <= NEAR_HOPS
    light_ok = math.isfinite(last.floor_ms) and math.isfinite(last.rtt_ms)
    support = len(agree) >= 2 or light_ok
    confidence = "high" if near and support else "medium" if near or support else "low"
    where = (f"{gap} hop{'s' if gap != 1 else ''} before the destination" if math.isfinite(gap)
             else "the trace did not reach the destination")
    reason = (f"hop {last.hop} {last.host} ({last.code.upper()} = {last.metro}, "
              f"{last.km:,.0f} km from {pop}) is the last named hop, {where}"
              + (f"; {len(agree)} named hops agree" if len(agree) >= 2 else "")
              + (f"; its {last.rtt_ms:.1f} ms clears the {last.floor_ms:.1f} ms speed-of-light "
                 "floor from the client" if light_ok else ""))
    if not near:
        notes.append("unnamed hops follow the last named one (an MPLS tunnel or the provider's "
                     "backbone may carry the traffic to another access point)")
    marked = [e if e.pop != pop or e.verdict != "earlier" else
              replace(e, verdict="entry" if e is last else "agrees") for e in evidence]
    return _done(pop, confidence, reason, list(marked), measured, dest, notes)


def _pop_point(pop: str, pop_ids: Sequence[str], lats: np.ndarray, lons: np.ndarray
               ) -> tuple[float, float]:
    i = list(pop_ids).index(pop)
    return float(lats[i]), float(lons[i])


def _done(pop: str | None, confidence: str, reason: str, evidence: list[Evidence],
          measured: float, dest: Hop | None, notes: list[str]) -> Inference:
    return Inference(pop, confidence, reason, tuple(evidence), measured,
                     dest.number if dest is not None else None, tuple(notes))


# -- measured RTTs -------------------------------------------------------------------------------

#: Largest measured-RTT CSV read (characters) and most rows.
MAX_CSV_CHARS = 128 * 1024
MAX_MEASUREMENTS = 1000
#: Largest RTT accepted (ms): a typo guard (a geostationary hop is ~600 ms).
MAX_RTT_MS = 10_000.0

_COLUMNS = {
    "client": "name", "name": "name", "city": "name",
    "index": "index", "#": "index", "client_index": "index",
    "lat": "lat", "latitude": "lat", "lon": "lon", "lng": "lon", "longitude": "lon",
    "rtt_ms": "rtt", "rtt": "rtt", "ms": "rtt", "latency_ms": "rtt", "measured_ms": "rtt",
    "pop": "pop", "entry": "pop", "observed_pop": "pop",
}


@dataclass(frozen=True)
class Measurement:
    """One measured RTT (ms) and which client it is: ``index`` (0-based, from a 1-based
    ``index`` column), or ``name``, or ``lat``/``lon``; ``pop`` the entry point seen (or "")."""

    line: int
    rtt_ms: float
    index: int | None = None
    name: str = ""
    lat: float = math.nan
    lon: float = math.nan
    pop: str = ""


def parse_measurements(text: object, max_rows: int = MAX_MEASUREMENTS
                       ) -> tuple[list[Measurement], list[str]]:
    """A CSV of measured RTTs -> (rows, problems). Columns (header row, case-insensitive):
    one of ``index`` (1-based, as the dashboard numbers clients), ``client``/``name``, or
    ``lat`` + ``lon``; ``rtt_ms`` (required); ``pop`` (optional). A bad line is a problem naming
    its line number, the good ones are kept; over-cap input is a problem. Never raises."""
    if not isinstance(text, str) or not text.strip():
        return [], ["paste or upload a CSV with a header: client (or index, or lat,lon), rtt_ms"]
    if len(text) > MAX_CSV_CHARS:
        return [], [f"the CSV is {len(text):,} characters, over the {MAX_CSV_CHARS:,}-character "
                    "limit"]
    text = text.replace("\x00", "")
    sample = text[:2000]
    delim = ";" if sample.count(";") > sample.count(",") else \
        "\t" if sample.count("\t") > sample.count(",") else ","
    try:
        reader = csv.reader(io.StringIO(text), delimiter=delim)
        header = next(reader, None)
    except csv.Error as exc:
        return [], [f"the CSV cannot be read: {str(exc)[:80]}"]
    if not header:
        return [], ["the CSV has no header row"]
    cols: dict[str, int] = {}
    for i, h in enumerate(header):
        key = _COLUMNS.get(h.strip().lower().lstrip("\ufeff"))
        if key and key not in cols:
            cols[key] = i
    if "rtt" not in cols:
        return [], ["the CSV needs an rtt_ms column (measured round-trip time, ms)"]
    if not ({"index", "name"} & cols.keys() or {"lat", "lon"} <= cols.keys()):
        return [], ["the CSV needs a client column (client name, index, or lat and lon)"]
    rows: list[Measurement] = []
    problems: list[str] = []
    try:
        for n, fields in enumerate(reader, start=2):
            if not any(f.strip() for f in fields):
                continue
            if len(rows) >= max_rows:
                problems.append(f"only the first {max_rows:,} rows were read")
                break

            def get(key: str) -> str:
                i = cols.get(key)
                return fields[i].strip() if i is not None and i < len(fields) else ""
            try:
                rows.append(_measurement(n, get))
            except ValueError as exc:
                if len(problems) < 10:
                    problems.append(f"line {n}: {exc}")
    except csv.Error as exc:
        problems.append(f"the CSV stops being readable: {str(exc)[:80]}")
    return rows, problems


def _measurement(line: int, get: Callable[[str], str]) -> Measurement:
    try:
        rtt = float(get("rtt"))
    except ValueError:
        raise ValueError(f"rtt_ms {get('rtt')[:20]!r} is not a number") from None
    if not (math.isfinite(rtt) and 0 < rtt <= MAX_RTT_MS):
        raise ValueError(f"rtt_ms {rtt:g} is not in (0, {MAX_RTT_MS:,.0f}] ms")
    pop = get("pop")[:8].upper()
    if get("index"):
        raw = get("index").lstrip("#")
        if not raw.isdigit() or not 1 <= int(raw[:7]) <= 10**6:
            raise ValueError(f"index {get('index')[:20]!r} is not a client number (1, 2, ...)")
        return Measurement(line, rtt, index=int(raw) - 1, pop=pop)
    if get("lat") or get("lon"):
        try:
            lat, lon = float(get("lat")), float(get("lon"))
        except ValueError:
            raise ValueError("lat/lon are not numbers") from None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ValueError(f"lat/lon {lat:g}, {lon:g} are out of range")
        return Measurement(line, rtt, lat=lat, lon=lon, name=get("name")[:80], pop=pop)
    if get("name"):
        return Measurement(line, rtt, name=get("name")[:80], pop=pop)
    raise ValueError("no client (index, name or lat/lon)")


@dataclass(frozen=True)
class Comparison:
    """One measured RTT beside the model: ``error_ms`` = measured - modelled (positive: slower
    than the model says), ``error_pct`` = that over the modelled RTT, in %."""

    label: str
    pop: str
    measured_ms: float
    modelled_ms: float
    error_ms: float
    error_pct: float


def compare(label: str, pop: str, measured_ms: float, modelled_ms: float) -> Comparison:
    err = measured_ms - modelled_ms
    pct = 100.0 * err / modelled_ms if math.isfinite(modelled_ms) and modelled_ms > 0 else math.nan
    return Comparison(label, pop, measured_ms, modelled_ms, err, pct)


def error_summary(rows: Sequence[Comparison]) -> dict[str, float]:
    """Median absolute error (ms, %), median signed error (ms: the model's bias; positive = the
    model is optimistic) and the number of rows with a modelled RTT."""
    errs = np.array([r.error_ms for r in rows if math.isfinite(r.error_ms)], dtype=float)
    pcts = np.array([r.error_pct for r in rows if math.isfinite(r.error_pct)], dtype=float)
    if not len(errs):
        return {"n": 0, "median_abs_ms": math.nan, "median_ms": math.nan,
                "median_abs_pct": math.nan}
    return {"n": int(len(errs)), "median_abs_ms": float(np.median(np.abs(errs))),
            "median_ms": float(np.median(errs)),
            "median_abs_pct": float(np.median(np.abs(pcts))) if len(pcts) else math.nan}
