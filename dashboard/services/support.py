"""Support view service: why a client lands on its access point (:mod:`dashboard.domain.explain`).

Units: distances in WGS84 geodesic km, RTTs in modelled ms (the latency model in effect).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from dashboard.catalog import Catalog
from dashboard.domain.explain import Explanation, explain
from dashboard.domain.scenario import Scenario
from dashboard.services.capacity import client_label
from dashboard.services.routing import rank_for_point

@dataclass(frozen=True)
class ClientExplanation:
    """The explain panel's data for one client."""

    index: int
    label: str
    ranking: pd.DataFrame
    explanation: Explanation


def explain_client(catalog: Catalog, scenario: Scenario, index: int,
                   origin_id: str) -> ClientExplanation:
    """Every PoP ranked for client ``index`` (distance, both RTT legs, state) and why the
    chosen one won, with the recorded observed PoP's detour. ``IndexError`` for a bad index."""
    if not 0 <= index < len(scenario.clients):
        raise IndexError(f"client #{index + 1} does not exist ({len(scenario.clients)} clients)")
    scenario, _ = scenario.sanitized(origin_id)  # the endpoint set the map routes with
    c = scenario.clients[index]
    down = frozenset(d for d in scenario.down if d in catalog.pop_ids)
    ranking = rank_for_point(catalog, c.lat, c.lon, origin_id, down, scenario.model,
                             scenario.mappings, scenario.endpoints_down)
    names = dict(zip(catalog.pop_ids, catalog.pops["name"]))
    observed = scenario.observed_for(index)
    if observed not in catalog.pop_ids:
        observed = None
    return ClientExplanation(index, client_label(c), ranking,
                             explain(ranking, observed, names))
