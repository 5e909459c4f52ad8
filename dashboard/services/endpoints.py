"""The endpoints panel service: the Anycast EIP's endpoints (Default first, then Normal ones with
their mapped access points), the what-if remap table, and what the chosen origin and endpoint
type imply.

Endpoint semantics follow the provider (docs/failover.md cites each rule): the Default endpoint
serves every access point not mapped to a Normal endpoint; binding a new Default demotes the old
one to Normal; unbinding the Default promotes a *random* other endpoint, so the panel lists the
candidates and the what-if table gives each outcome; there is no automatic failover between
endpoints, so the what-if table computes the latency of each remap *before* the operator
applies it. Medians are of the
link's own clients (a client set is not re-routed 8 times per click), weighted by client weight.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dashboard.domain.frames import colvals
from dashboard.catalog import ENDPOINT_TYPE_LABELS, Catalog
from dashboard.domain.endpoints import SINGLE_REGION_TYPES
from dashboard.domain.stats import weighted_median
from dashboard.services.text import ms_text
from dashboard.services.routing import route_table
from dashboard.services.scenario import Loaded


@dataclass(frozen=True)
class EndpointRow:
    """One endpoint: its region and city, whether it is the Default one and down; ``pops``: the
    access points mapped to it (Normal endpoints); ``serves``: what the Default one serves."""

    region: str
    city: str
    is_default: bool
    is_down: bool
    pops: tuple[str, ...] = ()
    serves: str = ""
    #: Default row: the endpoints one of which the provider promotes, at random, if it is unbound
    promote: tuple[str, ...] = ()


@dataclass(frozen=True)
class WhatIfLine:
    """One what-if: ``label`` ("us-east-1" or "FRA's PoPs → default"), clients served ("18/20"),
    the median RTT as text, the action it would apply (``action``: "whatif" = make default,
    "unmap" = send the down endpoint's access points to the Default one, "promote" = unbind the
    Default endpoint with this one promoted) and its region;
    ``current``: this is what is in effect now (no button)."""

    label: str
    served: str
    median: str
    action: str
    region: str
    button: str
    current: bool = False


@dataclass(frozen=True)
class EndpointsView:
    """The endpoints panel: the endpoint list, the PoP choices for mapping, the what-if lines."""

    rows: tuple[EndpointRow, ...]
    pop_options: tuple[tuple[str, str], ...]  # (value, label)
    whatif: tuple[WhatIfLine, ...]
    whatif_title: str = "What-if remap (latency if applied; the link's own clients)"


def endpoints_view(loaded: Loaded, catalog: Catalog) -> EndpointsView:
    """The endpoints panel of ``loaded``."""
    scenario, default = loaded.scenario, loaded.origin_id
    cities = catalog.origin_map("city")
    mapped = {p for _, pops in scenario.mappings for p in pops}
    by_region = dict(scenario.mappings)
    rows = []
    candidates = scenario.promotion_candidates(default)
    for region in scenario.associated(default):
        is_default = region == default
        n = len(catalog.pop_ids) - len(mapped)
        pops = () if is_default else tuple(by_region.get(region, ()))
        rows.append(EndpointRow(
            region=region, city=str(cities.get(region, "")), is_default=is_default,
            is_down=region in scenario.endpoints_down, pops=pops,
            serves=(f"serves every unmapped access point ({n} of {len(catalog.pop_ids)})"
                    if is_default else "" if pops else
                    "no access point mapped: carries no traffic"),
            promote=candidates if is_default else ()))
    # from the columns: itertuples of the PoP table cost ~0.5 ms of every what-if (issue 16)
    options = tuple((str(i), f"{i} · {c}") for i, c in zip(catalog.pops["id"].tolist(),
                                                           catalog.pops["city"].tolist()))
    return EndpointsView(tuple(rows), options, whatif_lines(loaded, catalog),
                         whatif_title(len(scenario.clients)))


#: Most of the link's own clients routed per what-if line (about ten lines, each a route table):
#: beyond it an evenly spaced sample stands for them, so a 20,000-client upload costs what a
#: 2,000-client one does (the table's title says it is a sample).
MAX_WHATIF_CLIENTS = 2_000


def whatif_title(n_clients: int) -> str:
    """The what-if table's title: whose latency it shows."""
    if n_clients > MAX_WHATIF_CLIENTS:
        return (f"What-if remap (latency if applied; {MAX_WHATIF_CLIENTS:,} of the link's "
                f"{n_clients:,} own clients, evenly sampled)")
    return "What-if remap (latency if applied; the link's own clients)"


def whatif_lines(loaded: Loaded, catalog: Catalog) -> tuple[WhatIfLine, ...]:
    """What-if remap: the latency if each origin region were the Default endpoint.

    Keeps the other Normal endpoints and the outages as they are (a region that is down stays
    down), so the numbers answer "what would remapping the default give us now". Empty when the
    scenario has no clients of its own.
    """
    scenario, default = loaded.scenario, loaded.origin_id
    if not scenario.clients:
        return ()
    clients = scenario.clients
    if len(clients) > MAX_WHATIF_CLIENTS:
        pick = np.unique(np.linspace(0, len(clients) - 1, MAX_WHATIF_CLIENTS).astype(int))
        clients = tuple(clients[i] for i in pick)
    coords = tuple((c.lat, c.lon) for c in clients)
    weights = np.array([c.weight for c in clients], dtype=float)
    lines = []
    for region in sorted(set(scenario.endpoints_down) & set(dict(scenario.mappings))):
        # the other remap: send the down endpoint's access points to the Default endpoint
        r = route_table(catalog, coords, default, loaded.down,
                        tuple(m for m in scenario.mappings if m[0] != region),
                        scenario.endpoints_down - {region}, scenario.model, scenario.policy,
                        scenario.access, scenario.bias)
        lines.append(_line(f"{region}'s PoPs → default", r, weights, "unmap", region, "Remap"))
    for region in scenario.promotion_candidates(default):
        # unbinding the Default: the provider promotes one of the others at random
        try:
            s = scenario.remove_endpoint(default, default, promote=region)
            r = route_table(catalog, coords, region, frozenset(s.down), s.mappings,
                            s.endpoints_down, s.model, s.policy, s.access, s.bias)
        except (KeyError, ValueError):
            continue
        lines.append(_line(f"unbind {default} → {region} promoted (random)", r, weights,
                           "promote", region, "Unbind"))
    for region in catalog.origin_ids:
        try:
            s = scenario.make_default(region, default)
            r = route_table(catalog, coords, region, frozenset(s.down), s.mappings,
                            s.endpoints_down, s.model, s.policy, s.access, s.bias)
        except (KeyError, ValueError):
            continue
        lines.append(_line(region, r, weights, "whatif", region, "Make default",
                           current=region == default))
    return tuple(lines)


def _line(label: str, routes, weights: np.ndarray, action: str, region: str, button: str,
          current: bool = False) -> WhatIfLine:
    ms = colvals(routes, "anycast_ms", float)
    median = weighted_median(ms, weights)
    return WhatIfLine(label=label if not current else f"{label} (now)",
                      served=f"{int(routes['served'].sum())}/{len(routes)}",
                      median=ms_text(median), action=action, region=region, button=button,
                      current=current)


@dataclass(frozen=True)
class EndpointInfo:
    """What the chosen origin and endpoint type imply (the provider's constraints)."""

    type_label: str
    origin_name: str
    warning: str
    constraints: str


def endpoint_info(catalog: Catalog, origin_id: object, endpoint_type: object
                  ) -> EndpointInfo | None:
    """The info line for ``origin_id`` / ``endpoint_type`` (None for an unknown origin)."""
    if not isinstance(origin_id, str) or origin_id not in catalog.origin_ids:
        return None
    origin = catalog.origin_record(origin_id)
    etype = (endpoint_type if isinstance(endpoint_type, str)
             and endpoint_type in ENDPOINT_TYPE_LABELS else "CLB")
    if etype in origin["endpoint_types"]:
        warning = ""
    elif etype in SINGLE_REGION_TYPES:
        warning = (f"data/origins.csv does not list {etype} for {origin['id']}: whether {etype} "
                   "instances can be bound here could not be verified offline.")
    else:
        warning = f"{etype} endpoints are not offered in {origin['id']}."
    common = "one endpoint per region; no endpoints in the Chinese mainland."
    constraints = {
        "CLB": "Constraints: the CLB must be internal-facing, in a VPC; " + common,
        "ENI": "Constraints: the ENI must be in a VPC of this region (optionally bind a "
               "secondary private IP of it); " + common,
    }.get(etype, f"Constraints: an Anycast EIP bound to an {etype} can be associated with one "
                 f"region only (no Normal endpoints); bind it from the {etype} console; "
                 "no endpoints in the Chinese mainland.")
    return EndpointInfo(ENDPOINT_TYPE_LABELS.get(etype, etype), str(origin["name"]), warning,
                        constraints)
