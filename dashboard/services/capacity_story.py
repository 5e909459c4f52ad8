"""The capacity story (issue 17): a headline of 1-3 plain sentences, the top risks, a prompt with a
one-click demand scale when every access point is ~0 % busy, and the PoP × N-1 utilisation matrix
for the heat map. One view-model (:class:`CapacityStory`), built from the capacity view's own
result (:func:`dashboard.services.capacity.capacity_view`) so the story never disagrees with the
table; rendered by :mod:`dashboard.layout.capacity_story` and
:func:`dashboard.figures.capacity_story.n1_heatmap_figure`.

Units: Gbps for load and capacity, % for utilisation (nominal load / capacity: the demand whose
first healthy access point this is, before throttling, as the N-1 table's "Its util. %"). Rules:
docs/capacity.md ("The capacity story").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dashboard.catalog import Catalog
from dashboard.domain import capacity_story as story_core
from dashboard.domain.scenario import MAX_GBPS, Scenario
from dashboard.services.capacity import (CapacityView, capacity_view, control_values,
                                         full_ranking, gbps_text)

#: Most risks listed under the headline.
MAX_RISKS = 5


@dataclass(frozen=True)
class Risk:
    """One risk line: ``level`` "bad" (over a limit now) or "warn" (near it, or over it once an
    access point is lost) and the sentence."""

    level: str
    text: str


@dataclass(frozen=True)
class DemandPrompt:
    """Why every access point is ~0 % busy, and the scale that fixes the picture: ``scale`` (the
    value the demand scale input takes: Mbps per unit of weight, or total Gbps for world
    population), ``button`` its label."""

    text: str
    scale: float
    button: str


@dataclass(frozen=True)
class CapacityStory:
    """The capacity story of one scenario. ``headline``: 1-3 sentences (empty: no demand, then
    ``hint`` says what to do); ``risks``: most severe first; ``prompt``: None unless the peak
    utilisation is below :data:`~dashboard.domain.capacity_story.LOW_PEAK`; ``lost`` × ``pops``:
    the N-1 heat map's rows (the PoP lost; healthy ones only) and columns (every PoP),
    ``util_pct`` its cells (utilisation %, NaN at the lost PoP itself and at down PoPs)."""

    headline: tuple[str, ...] = ()
    risks: tuple[Risk, ...] = ()
    prompt: DemandPrompt | None = None
    hint: str = ""
    lost: tuple[str, ...] = ()
    pops: tuple[str, ...] = ()
    util_pct: np.ndarray | None = None
    title: str = "Capacity story"


def pct_text(fraction: float) -> str:
    """``"92 %"``; one decimal below 10 % (``"0.3 %"``) so a tiny load is not "0 %"."""
    v = 100.0 * fraction
    return f"{v:,.1f} %" if v < 10 else f"{v:,.0f} %"


def _n1(catalog: Catalog, scenario: Scenario, view: CapacityView
        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(nominal load matrix in Gbps from :func:`~dashboard.domain.capacity_story.n1_nominal`,
    capacities in Gbps, down mask) with the view's ranking (cached: no second ranking)."""
    ranked = full_ranking(catalog, view.demand, scenario.policy, scenario.model)
    down = ~view.table["up"].to_numpy(bool)
    caps = view.table["capacity_gbps"].to_numpy(float)
    return story_core.n1_nominal(ranked, view.demand.gbps, down), caps, down


def demand_prompt(scenario: Scenario, view: CapacityView) -> DemandPrompt | None:
    """The prompt when the busiest healthy access point is below
    :data:`~dashboard.domain.capacity_story.LOW_PEAK` of its capacity, with the scale that loads
    it to ~:data:`~dashboard.domain.capacity_story.TARGET_PEAK`; None otherwise (or no demand)."""
    t = view.table[view.table["up"]]
    if not len(t) or view.totals["demand_gbps"] <= 0:
        return None
    util = t["utilisation"].to_numpy(float)
    k = int(np.nanargmax(util)) if np.isfinite(util).any() else -1
    if k < 0 or util[k] >= story_core.LOW_PEAK:
        return None
    source, scale, _default = control_values(scenario)
    new = story_core.fitted_scale(scale, float(util[k]))
    if new is None:
        return None
    new = min(new, MAX_GBPS)  # the largest scale a scenario holds (tiny weights: less than 65 %)
    if new <= scale:
        return None
    top = t.iloc[k]
    unit = "Gbps in total" if source == "population" else "Mbps per unit of weight"
    how = ("the world population demand is the total you set" if source == "population" else
           f"each client's weight is read as Mbps × the scale ({scale:g}), so 50 clients of "
           "weight 1 are 0.05 Gbps")
    text = (f"Every access point is under {pct_text(story_core.LOW_PEAK)} busy: the busiest, "
            f"{top['pop_id']}, carries {gbps_text(float(top['nominal_gbps']))} of its "
            f"{gbps_text(float(top['capacity_gbps']))} ({pct_text(float(util[k]))}). The demand "
            f"is {gbps_text(view.totals['demand_gbps'])} against "
            f"{gbps_text(view.totals['capacity_gbps'])} of healthy capacity: {how}. Scale the "
            f"demand to {new:g} {unit} (× {new / scale:,.3g}) and {top['pop_id']} runs at "
            f"~{pct_text(float(util[k]) * new / scale)}.")
    return DemandPrompt(text, new, f"Scale demand to {new:g} {unit}")


def fit_edit(catalog: Catalog, scenario: Scenario) -> dict:
    """The "Scale demand" button's edit: a ``capacity`` edit setting the offered scale
    (:func:`demand_prompt`), or an info notice when the demand already means something."""
    view = capacity_view(catalog, scenario)
    if not view.totals["points"] or view.totals["demand_gbps"] <= 0:
        return {"op": "notice", "notices": [{
            "level": "error", "text": "No demand to scale: add clients or a client set first."}]}
    prompt = demand_prompt(scenario, view)
    if prompt is None:
        util = view.table.loc[view.table["up"], "utilisation"].to_numpy(float)
        peak = float(np.nanmax(util)) if np.isfinite(util).any() else math.nan
        why = (f"the busiest access point is at {pct_text(peak)} (a scale is offered below "
               f"{pct_text(story_core.LOW_PEAK)})" if peak >= story_core.LOW_PEAK else
               f"the demand scale is at its largest ({MAX_GBPS:g}): raise the clients' weights"
               if math.isfinite(peak) else "every access point is down")
        return {"op": "notice", "notices": [{"level": "info", "text": f"Nothing to scale: {why}."}]}
    source, scale, _ = control_values(scenario)
    return {"op": "capacity", "demand_scale": prompt.scale, "notices": [{
        "level": "info", "text": f"Demand scaled × {prompt.scale / scale:,.3g} "
                                 f"(scale {prompt.scale:g})."}]}


def _headline(view: CapacityView) -> tuple[str, ...]:
    t, tot = view.table, view.totals
    up = t[t["up"]]
    out = []
    demand, cap = tot["demand_gbps"], tot["capacity_gbps"]
    first = (f"Demand of {gbps_text(demand)} against {gbps_text(cap)} of healthy access-point "
             f"capacity ({pct_text(demand / cap) if cap > 0 else 'no capacity'})")
    if len(up) and np.isfinite(up["utilisation"].to_numpy(float)).any():
        top = up.loc[up["utilisation"].idxmax()]
        first += (f"; the busiest access point is {top['pop_id']} at "
                  f"{pct_text(float(top['utilisation']))} of its "
                  f"{gbps_text(float(top['capacity_gbps']))}.")
    else:
        first += "; every access point is down."
    out.append(first)
    over = tot["over_capacity"]
    runs = f"{len(over)} access point{'s run' if len(over) > 1 else ' runs'} over capacity"
    if over and tot.get("spill_whatif"):
        out.append(f"{runs}: under the spill-over what-if {gbps_text(tot['spilled_gbps'])} "
                   f"moves on to other access points and {gbps_text(tot['unserved_gbps'])} "
                   "is unserved.")
    elif over:
        out.append(f"{runs} and {gbps_text(tot['throttled_gbps'])} "
                   f"({pct_text(tot['throttled_gbps'] / demand)} of the demand) is throttled.")
    elif len(up):
        out.append("Every healthy access point runs within its capacity.")
    inst = tot["instance_gbps"]
    if inst > 0:
        share = demand / inst
        out.append(f"The instance bandwidth of {inst * 1000:,.0f} Mbps is "
                   + (f"exceeded by {pct_text(share - 1)} ({gbps_text(demand - inst)} over)."
                      if share > 1 else f"{pct_text(share)} used."))
    return tuple(out)


def _risks(view: CapacityView, overflows: list[story_core.N1Overflow]) -> tuple[Risk, ...]:
    t, tot = view.table, view.totals
    risks: list[Risk] = []
    inst, demand = tot["instance_gbps"], tot["demand_gbps"]
    if inst > 0 and demand > inst:
        risks.append(Risk("bad", f"Instance bandwidth {inst * 1000:,.0f} Mbps is exceeded by "
                                 f"{pct_text(demand / inst - 1)}: the documented limit is per "
                                 "instance, summed over every access point."))
    up = t[t["up"]].sort_values("utilisation", ascending=False)
    spill = bool(tot.get("spill_whatif"))
    over = [Risk("bad", f"{r.pop_id} runs at {pct_text(r.utilisation)} of its "
                        f"{gbps_text(r.capacity_gbps)}: "
                        + (f"{gbps_text(max(r.spilled_out_gbps, 0.0))} spilled on (what-if)."
                           if spill else f"{gbps_text(max(r.throttled_gbps, 0.0))} throttled."))
            for r in up.itertuples(index=False) if r.utilisation > 1 + 1e-12]
    n1 = [Risk("warn", f"If {o.lost} fails, {o.pop} overflows by "
                       f"{'a further ' if o.load - o.capacity > o.overflow + 1e-9 else ''}"
                       f"{gbps_text(o.overflow)} "
                       f"({pct_text(o.load / o.capacity)} of its {gbps_text(o.capacity)}).")
          for o in overflows]
    near = [Risk("warn", f"{r.pop_id} runs at {pct_text(r.utilisation)} of its "
                         f"{gbps_text(r.capacity_gbps)}: less than "
                         f"{pct_text(1 - story_core.NEAR)} headroom.")
            for r in up.itertuples(index=False) if story_core.NEAR <= r.utilisation <= 1 + 1e-12]
    # The two worst overloads and the two worst losses first, so one kind never hides the other.
    risks += over[:2] + n1[:2] + near[:1] + over[2:] + n1[2:] + near[1:]
    return tuple(risks[:MAX_RISKS])


def capacity_story(catalog: Catalog, scenario: Scenario, view: CapacityView | None = None
                   ) -> CapacityStory:
    """The capacity story of ``scenario`` (``view``: its capacity view when already computed)."""
    view = view if view is not None else capacity_view(catalog, scenario)
    if not view.totals["points"]:
        return CapacityStory(hint="No demand yet: add clients or a client set (sidebar), or "
                                  "choose World population as the demand.")
    nominal, caps, down = _n1(catalog, scenario, view)
    ids = tuple(view.table["pop_id"])
    base = view.table["nominal_gbps"].to_numpy(float)
    overflows = story_core.n1_overflows(nominal, base, caps, ids)
    rows = np.flatnonzero(~down)
    with np.errstate(divide="ignore", invalid="ignore"):
        util = np.where(caps > 0, nominal / caps, np.nan)[rows] * 100.0
    for k, i in enumerate(rows):
        util[k, i] = np.nan  # the lost PoP itself carries nothing
    util[:, down] = np.nan
    return CapacityStory(
        headline=_headline(view), risks=_risks(view, overflows),
        prompt=demand_prompt(scenario, view), lost=tuple(ids[i] for i in rows), pops=ids,
        util_pct=util,
        title=f"Capacity story: {view.totals['points']:,} demand points, "
              f"{gbps_text(view.totals['demand_gbps'])}")


def story_text(story: CapacityStory) -> str:
    """The headline and risks as plain text (the printable summary's and the PNG's words)."""
    if not story.headline:
        return story.hint
    lines = [story.title, "", *story.headline]
    if story.risks:
        lines += ["", "Top risks:", *(f"- {r.text}" for r in story.risks)]
    return "\n".join(lines)


__all__ = ["CapacityStory", "DemandPrompt", "Risk", "capacity_story", "demand_prompt",
           "fit_edit", "pct_text", "story_text"]
