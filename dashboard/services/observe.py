"""Observations service: a pasted traceroute/mtr read against the catalog and the latency model in
effect (the entry access point inferred, with its evidence, and the measured RTT beside the
modelled one), and a CSV of measured RTTs beside the route table's RTTs.

One view-model per use (:class:`TraceView`, :class:`MeasuredView`) for the support tab; the same
functions answer the API (``POST /api/v1/traceroute``) and the CLI (``anycast-dashboard
traceroute FILE``) through :func:`trace_report`, and the support tab's "Use as observed PoP"
request through :func:`observe_from_trace` (the inference is redone on the server: the page
sends the text, never the answer). Rules: :mod:`dashboard.domain.observe` (docs/observations.md).

Units: ms of round-trip time; km of WGS84 geodesic distance. No Dash, Flask or Plotly import.
"""

from __future__ import annotations

import base64
import binascii
import math
from dataclasses import dataclass
from typing import Any

from dashboard import latency
from dashboard.catalog import Catalog
from dashboard.domain.observe import (MAX_CSV_CHARS, MAX_METRO_KM, Comparison, Inference, compare,
                                      error_summary, infer_entry, parse_measurements)
from dashboard.domain.scenario import Client, Scenario
from dashboard.domain.traceroute import MAX_TRACE_CHARS, Trace, parse_trace

__all__ = ["CAVEAT", "MAX_CSV_CHARS", "MAX_TRACE_CHARS", "MeasuredView", "TraceView", "infer",
           "measured_view", "observe_from_trace", "trace_report", "trace_view",
           "upload_text"]
from dashboard.services.routing import rank_for_point
from dashboard.services.scenario import Loaded
from dashboard.services.text import json_number

#: What "Use as observed PoP" and the evidence panel say the observation rests on.
CAVEAT = ("Hostnames are the carrier's reverse DNS and can be stale or wrong; MPLS tunnels hide "
          "hops; the last named hop is not always where the anycast route enters. Check the "
          "evidence (docs/observations.md, Caveats).")


@dataclass(frozen=True)
class TraceView:
    """The evidence panel. ``status``: one sentence (what was inferred, or why nothing was);
    ``pop`` / ``confidence``: the answer (None / "none" when nothing); ``rows``: the evidence
    table (hop, host, code, metro, PoP, km, rtt_ms, floor_ms, verdict); ``notes``; ``rtt``: the
    measured destination RTT beside the modelled one ("" without a client or an answer);
    ``can_apply``: "Use as observed PoP" would change the scenario."""

    status: str
    pop: str | None = None
    confidence: str = "none"
    fmt: str = ""
    rows: tuple[dict, ...] = ()
    notes: tuple[str, ...] = ()
    rtt: str = ""
    can_apply: bool = False
    client: str = ""
    caveat: str = CAVEAT


def _fibre(scenario: Scenario | None) -> float:
    """The latency model's light speed in fibre (km per ms, one way) for ``scenario``'s
    overrides: the speed-of-light checks use the same constant as the model."""
    if scenario is None:
        return latency.default_params().fibre_km_per_ms
    return latency.params_with(scenario.model, scenario.access).fibre_km_per_ms


def infer(text: object, catalog: Catalog, client: tuple[float, float] | None = None,
          scenario: Scenario | None = None) -> tuple[Trace, Inference]:
    """Parse ``text`` and infer the entry access point (never raises)."""
    trace = parse_trace(text)
    return trace, infer_entry(trace, catalog.pop_ids, catalog.pop_lats, catalog.pop_lons,
                              client, _fibre(scenario), MAX_METRO_KM)


def _evidence_rows(inf: Inference) -> tuple[dict, ...]:
    return tuple({
        "hop": e.hop, "host": e.host, "code": e.code.upper(), "metro": e.metro,
        "pop": e.pop or "", "km": json_number(e.km, 0), "rtt_ms": json_number(e.rtt_ms, 1),
        "floor_ms": json_number(e.floor_ms, 1), "verdict": e.verdict,
    } for e in inf.evidence)


def _modelled(catalog: Catalog, loaded: Loaded, c: Client) -> tuple[str | None, dict[str, float]]:
    """The model's chosen PoP for ``c`` and every healthy PoP's modelled RTT (ms)."""
    s = loaded.scenario
    ranking = rank_for_point(catalog, c.lat, c.lon, loaded.origin_id,
                             frozenset(d for d in s.down if d in catalog.pop_ids), s.model,
                             s.mappings, s.endpoints_down, s.policy, s.access)
    up = ranking[ranking["up"]]
    ms = {str(p): float(v) for p, v in zip(up["pop_id"], up["anycast_ms"]) if math.isfinite(v)}
    return (str(up["pop_id"].iloc[0]) if len(up) else None), ms


def _internet_ms(catalog: Catalog, loaded: Loaded, c: Client, pop: str) -> float:
    """The modelled client -> ``pop`` leg alone (ms): what a reply from the access point itself
    would take (the anycast address may answer at the edge or at the endpoint)."""
    s = loaded.scenario
    ranking = rank_for_point(catalog, c.lat, c.lon, loaded.origin_id,
                             frozenset(d for d in s.down if d in catalog.pop_ids), s.model,
                             s.mappings, s.endpoints_down, s.policy, s.access)
    row = ranking[ranking["pop_id"] == pop]
    return float(row["internet_ms"].iloc[0]) if len(row) else math.nan


def _own_client(scenario: Scenario, index: object) -> int | None:
    if isinstance(index, int) and not isinstance(index, bool) \
            and 0 <= index < len(scenario.clients):
        return index
    return None


def trace_view(text: object, index: object, loaded: Loaded, catalog: Catalog) -> TraceView:
    """The evidence panel for ``text`` pasted for client ``index`` of ``loaded`` (any index
    that is not one of the scenario's own clients: inferred without the client's checks, and
    nothing can be applied)."""
    s = loaded.scenario
    i = _own_client(s, index)
    c = s.clients[i] if i is not None else None
    trace, inf = infer(text, catalog, (c.lat, c.lon) if c else None, s)
    label = f"#{i + 1} {c.label}" if c else ""
    if trace.problem:
        return TraceView(status=f"Nothing read: {trace.problem}.", client=label)
    head = (f"Entry point {inf.pop} ({inf.confidence} confidence): {inf.reason}."
            if inf.pop else f"No entry point inferred: {inf.reason}.")
    rtt = ""
    if c is not None and math.isfinite(inf.measured_ms):
        chosen, ms = _modelled(catalog, loaded, c)
        parts = [f"Measured {inf.measured_ms:.1f} ms to the destination (best probe)"]
        if chosen and chosen in ms:
            err = compare(label, chosen, inf.measured_ms, ms[chosen])
            leg = _internet_ms(catalog, loaded, c, chosen)
            parts.append(f"modelled {ms[chosen]:.1f} ms via {chosen} (the model's choice; "
                         f"the client to {chosen} leg alone {leg:.1f} ms): "
                         f"{err.error_ms:+.1f} ms ({err.error_pct:+.0f} %)")
        if inf.pop and inf.pop != chosen and inf.pop in ms:
            parts.append(f"modelled {ms[inf.pop]:.1f} ms via {inf.pop} (inferred)")
        rtt = "; ".join(parts) + "."
    notes = tuple(trace.warnings) + inf.notes
    if c is None:
        notes += ("Pick one of your own clients to check the hops against the speed of light "
                  "and to record the entry point.",)
    return TraceView(status=head, pop=inf.pop, confidence=inf.confidence, fmt=trace.fmt,
                     rows=_evidence_rows(inf), notes=notes, rtt=rtt, client=label,
                     can_apply=bool(inf.pop and c is not None and s.observed_for(i) != inf.pop))


def observe_from_trace(text: object, index: object, scenario: Scenario, catalog: Catalog
                       ) -> dict:
    """The ``observe_trace`` request ("Use as observed PoP") -> an ``observe`` edit of client
    ``index`` with the inferred access point and a notice of the evidence, or a notice saying
    why nothing changes (no client, nothing inferred)."""
    i = _own_client(scenario, index)
    if i is None:
        return _notice("warning", "Traceroute: pick one of your own clients first; nothing "
                                  "was changed.")
    c = scenario.clients[i]
    _trace, inf = infer(text, catalog, (c.lat, c.lon), scenario)
    if not inf.pop:
        return _notice("warning", f"Traceroute: no entry point inferred ({inf.reason}); "
                                  "nothing was changed.")
    if scenario.observed_for(i) == inf.pop:
        return _notice("info", f"Traceroute: #{i + 1} is already recorded entering at "
                               f"{inf.pop}.")
    return {"op": "observe", "index": i, "pop": inf.pop, "notices": [{
        "level": "info", "text": f"Traceroute: client #{i + 1} observed entering at {inf.pop} "
                                 f"({inf.confidence} confidence): {inf.reason}."[:480]}]}


def _notice(level: str, text: str) -> dict:
    return {"op": "notice", "notices": [{"level": level, "text": text[:480]}]}


def trace_report(text: object, catalog: Catalog, client: tuple[float, float] | None = None,
                 scenario: Scenario | None = None) -> dict[str, Any]:
    """The API/CLI answer: the format read, the inferred PoP and confidence, the reason, the
    evidence rows, the notes and the measured destination RTT (JSON-ready: NaN -> null)."""
    trace, inf = infer(text, catalog, client, scenario)
    return {
        "format": trace.fmt or None, "target": trace.target or None,
        "hops": len(trace.hops), "pop": inf.pop, "confidence": inf.confidence,
        "reason": inf.reason, "evidence": list(_evidence_rows(inf)),
        "measured_ms": json_number(inf.measured_ms, 1), "destination_hop": inf.destination_hop,
        "notes": list(trace.warnings) + list(inf.notes), "caveat": CAVEAT,
        "limits": {"max_chars": MAX_TRACE_CHARS, "max_metro_km": MAX_METRO_KM},
    }


# -- measured RTTs -------------------------------------------------------------------------------

@dataclass(frozen=True)
class MeasuredView:
    """Measured vs modelled: ``rows`` (client, pop, basis, measured_ms, modelled_ms, error_ms,
    error_pct), ``summary`` (one sentence: rows compared and the median error) and
    ``problems`` (lines not used and why)."""

    summary: str
    rows: tuple[dict, ...] = ()
    problems: tuple[str, ...] = ()


def measured_view(text: object, loaded: Loaded, catalog: Catalog) -> MeasuredView:
    """A measured-RTT CSV (``dashboard.domain.observe.parse_measurements``) beside the model:
    each row's client (own client by 1-based index or name, or a lat/lon point), the access
    point the model uses for it (the row's ``pop`` when given and known, else the model's
    choice) and that PoP's modelled RTT."""
    s = loaded.scenario
    rows, problems = parse_measurements(text)
    if not rows:
        return MeasuredView(summary="No measurements read.", problems=tuple(problems))
    by_name = {}
    for k, c in enumerate(s.clients):
        by_name.setdefault(c.label.lower(), k)
    out: list[Comparison] = []
    basis: list[str] = []
    for m in rows:
        if m.index is not None:
            if m.index >= len(s.clients):
                problems.append(f"line {m.line}: there is no client #{m.index + 1} "
                                f"({len(s.clients)} clients)")
                continue
            c, label = s.clients[m.index], f"#{m.index + 1} {s.clients[m.index].label}"
        elif math.isfinite(m.lat):
            c = Client(m.lat, m.lon, m.name)
            label = c.label
        else:
            k = by_name.get(m.name.lower())
            if k is None:
                problems.append(f"line {m.line}: no client is named {m.name[:40]!r}")
                continue
            c, label = s.clients[k], f"#{k + 1} {s.clients[k].label}"
        chosen, ms = _modelled(catalog, loaded, c)
        if m.pop and m.pop in ms:
            pop, why = m.pop, "observed" if m.pop != chosen else "observed = model"
        else:
            if m.pop:
                problems.append(f"line {m.line}: {m.pop} is not a healthy access point; the "
                                "model's choice is used")
            pop, why = chosen or "", "model's choice"
        out.append(compare(label, pop, m.rtt_ms, ms.get(pop, math.nan)))
        basis.append(why)
    summ = error_summary(out)
    if summ["n"]:
        summary = (f"{summ['n']} measurement{'s' if summ['n'] != 1 else ''} compared: median "
                   f"error {summ['median_abs_ms']:.1f} ms ({summ['median_abs_pct']:.0f} %) in "
                   f"absolute value; median measured minus modelled "
                   f"{summ['median_ms']:+.1f} ms (positive: slower than the model).")
    else:
        summary = "No measurement could be compared."
    return MeasuredView(summary=summary, problems=tuple(problems[:12]), rows=tuple({
        "client": r.label, "pop": r.pop, "basis": b,
        "measured_ms": json_number(r.measured_ms, 1), "modelled_ms": json_number(r.modelled_ms, 1),
        "error_ms": json_number(r.error_ms, 1), "error_pct": json_number(r.error_pct, 0),
    } for r, b in zip(out, basis)))


def upload_text(contents: object) -> str:
    """The text of a ``dcc.Upload`` data URL of a measured-RTT CSV; ``ValueError`` with the
    reason for an empty, oversize (checked before decoding: over :data:`MAX_CSV_CHARS` bytes) or
    undecodable upload."""
    if not isinstance(contents, str) or "," not in contents:
        raise ValueError("empty")
    b64 = contents.split(",", 1)[1]
    if len(b64) * 3 // 4 > MAX_CSV_CHARS + 3:
        raise ValueError(f"larger than the {MAX_CSV_CHARS:,}-byte limit")
    try:
        return base64.b64decode(b64, validate=True).decode("utf-8", errors="replace")
    except (binascii.Error, ValueError):
        raise ValueError("not readable (not base64 text)") from None
