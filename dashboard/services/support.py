"""Support view service: why a client lands on its access point (:mod:`dashboard.domain.explain`).

Units: distances in WGS84 geodesic km, RTTs in modelled ms (the latency model in effect).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from dashboard.catalog import Catalog
from dashboard.domain.explain import BGP_NOTE, Explanation, conclusion, explain, margin_text
from dashboard.domain.scenario import Client, Scenario
from dashboard.services.landing import HONESTY_NOTE, landing_for_point, landing_text, percent_text
from dashboard.services.map import client_set_for
from dashboard.services.routing import bias_km, rank_for_point
from dashboard.services.scenario import Loaded
from dashboard.services.text import json_number


@dataclass(frozen=True)
class ClientExplanation:
    """The explain panel's data for one client."""

    index: int
    label: str
    ranking: pd.DataFrame
    explanation: Explanation


def explain_client(catalog: Catalog, scenario: Scenario, index: int,
                   origin_id: str, client: Client | None = None) -> ClientExplanation:
    """Every PoP ranked for client ``index`` (distance, both RTT legs, state) and why the
    chosen one won, with the recorded observed PoP's detour. ``client``: a client of the
    scenario's client set (row ``index`` of the table; no observed entry); else ``IndexError``
    for an index that is not one of the scenario's own clients."""
    if client is None and not 0 <= index < len(scenario.clients):
        raise IndexError(f"client #{index + 1} does not exist ({len(scenario.clients)} clients)")
    scenario, _ = scenario.sanitized(origin_id)  # the endpoint set the map routes with
    c = client if client is not None else scenario.clients[index]
    down = frozenset(d for d in scenario.down if d in catalog.pop_ids)
    ranking = rank_for_point(catalog, c.lat, c.lon, origin_id, down, scenario.model,
                             scenario.mappings, scenario.endpoints_down, scenario.policy,
                             scenario.access, scenario.bias)
    names = dict(zip(catalog.pop_ids, catalog.pops["name"]))
    observed = scenario.observed_for(index) if client is None else None
    if observed not in catalog.pop_ids:
        observed = None
    return ClientExplanation(index, c.label, ranking,
                             explain(ranking, observed, names, scenario.policy))


#: Most rows of a client set offered in the support tab's picker (its largest cities: the set is
#: sorted by population). 25,000 options would ship ~1 MB with every client edit; any other
#: row is picked on the map or in the assignment table.
MAX_SET_OPTIONS = 200


def client_options(scenario: Scenario) -> list[tuple[int, str]]:
    """(index, label) for the client picker: every client of the scenario's own, then the first
    :data:`MAX_SET_OPTIONS` rows of its client set (resolved as the map does,
    :func:`dashboard.services.map.client_set_for`; indexes continue after the own clients, as
    in the assignment table), so a scenario made of a client set has support clients too."""
    observed = dict(scenario.observed)
    out = [(i, f"#{i + 1} {c.label}" + (f"  · observed at {observed[i]}" if i in observed else ""))
           for i, c in enumerate(scenario.clients)]
    cset = client_set_for(scenario)
    if cset is not None:
        n = len(scenario.clients)
        out += [(n + j, f"#{n + j + 1} {name}  · client set")
                for j, name in enumerate(cset.names[:MAX_SET_OPTIONS])]
    return out


def explain_rows(ranking: pd.DataFrame, cities: dict[str, str],
                 probabilities: dict[str, float] | None = None) -> list[dict]:
    """One row per access point of ``ranking`` (km, ms; ``delta_ms``: anycast RTT minus the
    chosen one's, healthy ones only; ``probability_pct``: the landing probability in %, 0.1 %
    steps, healthy ones only, when ``probabilities`` (pop id -> [0, 1]) is given)."""
    up = ranking[ranking["up"]]
    chosen_ms = float(up["anycast_ms"].iloc[0]) if len(up) else math.nan
    rows = []
    for r in ranking.itertuples(index=False):
        rows.append({
            "rank": int(r.rank) if r.rank else None,
            "pop": f"{r.pop_id} · {cities.get(r.pop_id, '')}",
            "pop_id": r.pop_id,
            "state": "up" if r.up else "down",
            "distance_km": json_number(r.distance_km, 0),
            "internet_ms": json_number(r.internet_ms, 1),
            "backbone_ms": json_number(r.backbone_ms, 1),
            "anycast_ms": json_number(r.anycast_ms, 1),
            "delta_ms": json_number(r.anycast_ms - chosen_ms, 1) if r.up else None,
            "probability_pct": (json_number(100.0 * probabilities.get(r.pop_id, 0.0), 1)
                                if r.up and probabilities is not None else None),
        })
    return rows


@dataclass(frozen=True)
class ExplainView:
    """The support panel for one client, or a ``hint`` (no client picked / no clients).

    ``title``; ``chosen`` / ``runner_up`` / ``margin`` / ``where`` / ``weight``: the summary
    line; ``facts``: the sentences about the choice; ``detour``: the observed entry point's
    extra distance and RTT (""); ``observed``: the recorded entry point (None);
    ``pop_options``: (id, label) for the observed-entry picker; ``rows``: every access point;
    ``ranking``: the same as data for the chart; ``landing``: where BGP likely hands the client
    ("LHR 55 %, FRA 20 %, BOM 10 %…", healthy PoPs only), ``probabilities``: the same as
    (pop id, probability in [0, 1]) most likely first, ``landing_note``: where they come from
    and how far to trust them (:data:`dashboard.services.landing.HONESTY_NOTE`)."""

    hint: str = ""
    index: int = -1
    title: str = ""
    chosen: str = ""
    runner_up: str = ""
    margin: str = ""
    where: str = ""
    weight: str = ""
    facts: tuple[str, ...] = ()
    detour: tuple[str, str] = ("", "")
    observed: str | None = None
    pop_options: tuple[tuple[str, str], ...] = ()
    rows: tuple[dict, ...] = ()
    ranking: pd.DataFrame | None = None
    bgp_note: str = BGP_NOTE
    #: One of the scenario's own clients (an observed entry can be recorded for it); a row of
    #: the client set is explained without the picker.
    observable: bool = True
    landing: str = ""
    probabilities: tuple[tuple[str, float], ...] = ()
    landing_note: str = HONESTY_NOTE
    #: One plain sentence: is the entry point the cause (an observed entry recorded), else where
    #: the client is expected to enter and how sure that is (:func:`explain.conclusion`).
    conclusion: str = ""


def explain_view(loaded: Loaded, index: object, catalog: Catalog) -> ExplainView:
    """The support panel for client ``index`` of ``loaded`` (a hint when there is none)."""
    s = loaded.scenario
    cset = client_set_for(s)
    n_set = len(cset.lats) if cset is not None else 0
    if not s.clients and not n_set:
        return ExplainView(hint="Add clients (sidebar) to explain where they land.")
    if not isinstance(index, int) or isinstance(index, bool) \
            or not 0 <= index < len(s.clients) + n_set:
        return ExplainView(hint="Pick a client above, click a client (◆) on the map, or click "
                                "a row of the assignment table.")
    own = index < len(s.clients)
    if own:
        c = s.clients[index]
    else:  # a row of the client set (table or map): explained the same way, nothing to record
        j = index - len(s.clients)
        c = Client(float(cset.lats[j]), float(cset.lons[j]), str(cset.names[j]),
                   float(cset.weights[j]))
    ce = explain_client(catalog, s, index, loaded.origin_id, None if own else c)
    ex = ce.explanation
    names = dict(zip(catalog.pop_ids, catalog.pops["name"]))
    cities = dict(zip(catalog.pop_ids, catalog.pops["city"]))
    margin = margin_text(ex.margin_km, ex.chosen_km, ex.margin_pct) if ex.runner_up else "–"
    # where each access point's traffic goes: its Normal endpoint's region, else the Default's
    origins = {p: loaded.origin_id for p in catalog.pop_ids}
    for region, pops in loaded.scenario.mappings:
        origins.update({p: region for p in pops})
    detour = ("", "")
    if ex.observed and ex.observed != ex.chosen and math.isfinite(ex.detour_km):
        detour = (f"Observed detour via {ex.observed}: ",
                  f"{ex.detour_km:+,.0f} km and {ex.detour_ms:+.0f} ms of modelled RTT versus "
                  f"{ex.chosen}." if math.isfinite(ex.detour_ms) else
                  f"{ex.detour_km:+,.0f} km versus {ex.chosen} (its endpoint is down: no RTT).")
    # Over the healthy access points only (a down one withdrew its route): services.landing.
    ld = landing_for_point(catalog, c.lat, c.lon,
                           frozenset(d for d in s.down if d in catalog.pop_ids),
                           bias_km(catalog, s.bias, s.model, s.access))
    landing = (f"Where BGP likely hands this client: {landing_text(ld)}" if ld.pops else
               "Where BGP likely hands this client: nowhere, every access point is down.")
    if ex.chosen and ld.pops:
        chosen_p = dict(ld.pops).get(ex.chosen, 0.0)
        landing += f" (the chosen {ex.chosen}: {percent_text(chosen_p)})."
    return ExplainView(
        index=index, title=f"#{index + 1} {ce.label}", chosen=ex.chosen or "no route",
        runner_up=ex.runner_up or "–", margin=margin, where=f"{c.lat:.4f}, {c.lon:.4f}",
        weight=f"{c.weight:g}", facts=ex.facts, detour=detour,
        observed=s.observed_for(index) if own else None, observable=own,
        pop_options=tuple((p, f"{p} · {names[p]}") for p in catalog.pop_ids),
        rows=tuple(explain_rows(ce.ranking, cities, dict(ld.pops))), ranking=ce.ranking,
        landing=landing, probabilities=ld.pops, conclusion=conclusion(ex, origins))


def observe_edit(value: object, index: object, scenario: Scenario) -> dict | None:
    """The observed-entry picker of client ``index`` changed to ``value`` -> an ``observe`` edit,
    None when it already matches the scenario (the panel was re-rendered) or the values are not
    what the picker sends (only a hand-crafted request sends them)."""
    value = value or None
    if not isinstance(index, int) or isinstance(index, bool) or \
            not (value is None or isinstance(value, str)):
        return None
    if not 0 <= index < len(scenario.clients) or value == scenario.observed_for(index):
        return None
    return {"op": "observe", "index": index, "pop": value}
