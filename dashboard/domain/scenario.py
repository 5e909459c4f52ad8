"""The scenario a user builds (clients, origin, down access points, endpoints, capacities,
latency model overrides...): an immutable value with its edit rules and its store form.

A scenario is everything needed to reproduce a view. Its forms: the store (:meth:`Scenario.to_dict`
/ :meth:`Scenario.from_dict`, what the page keeps), the shareable link
(:mod:`dashboard.domain.scenario_url`: the URL grammar, ``to_query``/``from_query``/``fit_query``
and the link limits; that module imports this one, never the other way round) and the JSON
export (:mod:`dashboard.domain.exports`).

Clients are WGS84 decimal degrees rounded to :data:`COORD_DECIMALS` places (~11 m, far below
what the latency model resolves), a cleaned name and a non-negative weight (demand), through the
one client validator (:mod:`dashboard.domain.clients`). Capacities are Gbps; the demand scale is
Mbps per weight unit (``clients``) or total Gbps (``population``).

The module is pure (no web framework import): the dashboard, the API and the tests share it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from typing import Iterable, Mapping, Sequence

# The one client validator and its limits; COORD_DECIMALS, MAX_NAME_CHARS and clean_name are
# re-exported here for the modules (and tests) that read them from the scenario.
from dashboard.domain.clients import (COORD_DECIMALS, MAX_CLIENTS, MAX_NAME_CHARS, as_number,
                                      check_client_count, clean_coord, clean_name,
                                      clean_weight)
from dashboard.domain.endpoints import (DEFAULT, ENDPOINT_TYPES, NORMAL, SINGLE_REGION_TYPES,
                                        Endpoint, Endpoints)
from dashboard.domain.cost import check_cost_value
from dashboard.domain.latency import canonical_overrides
from dashboard.domain.access import DEFAULT_ACCESS, check_access
from dashboard.domain import bias as bias_core
from dashboard.domain.policy import DEFAULT_POLICY, check_policy
from dashboard.domain.planned import (MAX_PLANNED, PlannedPop, check_planned,
                                      planned_count_message)

__all__ = [
    "COORD_DECIMALS", "DEFAULT_CAPACITY_GBPS", "DEFAULT_ENDPOINT_TYPE", "DEFAULT_INSTANCE_MBPS",
    "MAX_INSTANCE_MBPS", "DEFAULT_POPULATION_GBPS",
    "DEMAND_SOURCES", "ENDPOINT_TYPES", "ID_RE", "MAX_CLIENTS", "MAX_GBPS", "MAX_NAME_CHARS",
    "Client", "Scenario", "check_gbps", "check_instance_mbps", "check_pop_id", "clean_name",
]

DEFAULT_ENDPOINT_TYPE = "CLB"
#: Capacity planning defaults. Per access point: a *provider-side planning assumption* (Alibaba
#: publishes no per-PoP capacity), 1 Gbps unless the catalog or the user says otherwise. Demand
#: weights are read as Mbps (times ``demand_scale`` for client weights).
DEFAULT_CAPACITY_GBPS = 1.0
#: The documented bandwidth of one Anycast EIP *instance* (summed over all PoPs, Mbps): peak
#: 1,000 Mbps by default, raisable to 5,000 Mbps; "a reference upper limit", possibly lower
#: during contention (Alibaba Cloud Anycast EIP documentation, "Limits"; docs/capacity.md).
DEFAULT_INSTANCE_MBPS = 1000.0
MAX_INSTANCE_MBPS = 5000.0
DEMAND_SOURCES = ("clients", "population")
DEFAULT_POPULATION_GBPS = 10.0
#: Largest capacity or demand scale accepted (Gbps or Mbps per unit): a typo guard, not a limit
#: of the product.
MAX_GBPS = 1e6

#: Shape of an id (access point, region, client set): what the store and links accept.
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,31}$")


def _clip(value: object, n: int = 40) -> str:
    """``repr(value)`` for a message, shortened (a JSON integer can have any number of digits)."""
    text = repr(value)
    return text if len(text) <= n else text[: n - 1] + "…"


def _norm_weight(value: float) -> float:
    return float(f"{float(value):.6g}")


@dataclass(frozen=True)
class Client:
    """One client location: WGS84 degrees, an optional name and a demand weight (>= 0).

    Construction normalises (coordinates rounded to :data:`COORD_DECIMALS`, name cleaned, weight
    to 6 significant digits) so that a client equals itself after a trip through a URL; it raises
    ``ValueError`` naming the field when a value is out of range.
    """

    lat: float
    lon: float
    name: str = ""
    weight: float = 1.0

    def __post_init__(self) -> None:
        # The one client validator (dashboard.domain.clients): same limits at every entry point.
        object.__setattr__(self, "lat", clean_coord(as_number(self.lat, "latitude"), "lat"))
        object.__setattr__(self, "lon", clean_coord(as_number(self.lon, "longitude"), "lon"))
        object.__setattr__(self, "weight",
                           _norm_weight(clean_weight(as_number(self.weight, "weight"))))
        object.__setattr__(self, "name", clean_name(self.name))

    def to_dict(self) -> dict:
        return {"lat": self.lat, "lon": self.lon, "name": self.name, "weight": self.weight}

    @classmethod
    def from_dict(cls, d: dict) -> "Client":
        """Inverse of :meth:`to_dict`; ``ValueError`` for anything not shaped like it (the dict
        comes from the browser, so it is untrusted)."""
        if not isinstance(d, dict) or "lat" not in d or "lon" not in d:
            raise ValueError("a client must be an object with lat and lon")
        for key in ("lat", "lon", "weight"):
            if key in d and (isinstance(d[key], bool) or not isinstance(d[key], (int, float))):
                raise ValueError(f"client {key} {str(d[key])[:20]!r} is not a number")
        name = d.get("name", "")
        if name is not None and not isinstance(name, str):
            raise ValueError("client name must be text")
        weight = d.get("weight", 1.0)
        return cls(lat=d["lat"], lon=d["lon"], name=name or "",
                   weight=1.0 if weight is None else weight)

    @property
    def label(self) -> str:
        """The display name: the name, else the coordinates ("48.86°N 2.35°E", 2 decimals)."""
        if self.name:
            return self.name
        return (f"{abs(self.lat):.2f}°{'N' if self.lat >= 0 else 'S'} "
                f"{abs(self.lon):.2f}°{'E' if self.lon >= 0 else 'W'}")


@dataclass(frozen=True)
class Scenario:
    """Everything that defines a view. Immutable; edit with the ``with_*`` methods.

    ``origin`` None means "the app's default origin"; it is the region of the *Default*
    endpoint. ``down`` holds access point ids. ``mappings`` are the *Normal* endpoints, one
    ``(region, (pop ids...))`` each (PoP ids kept sorted, endpoints in the order added);
    ``endpoints_down`` the regions whose endpoint is down.
    Later features add fields here with defaults (observed-PoP overrides, model parameters) and a
    key each in the URL codec (:mod:`dashboard.domain.scenario_url`).

    Endpoint edits (:meth:`add_endpoint`, :meth:`map_pops`, ...) validate with the provider's
    rules and raise ``ValueError`` with a message for the user, leaving the scenario unchanged.
    """

    clients: tuple[Client, ...] = ()
    origin: str | None = None
    endpoint_type: str = DEFAULT_ENDPOINT_TYPE
    down: frozenset[str] = field(default_factory=frozenset)
    mappings: tuple[tuple[str, tuple[str, ...]], ...] = ()
    endpoints_down: frozenset[str] = field(default_factory=frozenset)
    #: Support overrides: (client index, observed access point id), sorted by index.
    observed: tuple[tuple[int, str], ...] = ()
    #: Capacity planning: per-access-point capacity (id, Gbps) sorted by id, the default for the
    #: others (None = catalog value, else DEFAULT_CAPACITY_GBPS), the demand source and its scale
    #: (None = the source's default; see the module docstring).
    capacity: tuple[tuple[str, float], ...] = ()
    default_capacity_gbps: float | None = None
    demand_source: str = "clients"
    demand_scale: float | None = None
    #: The Anycast EIP instance's bandwidth, Mbps (None = DEFAULT_INSTANCE_MBPS; at most
    #: MAX_INSTANCE_MBPS), compared with the total demand over all PoPs.
    instance_mbps: float | None = None
    #: The what-if "the provider re-routes a full PoP's excess to the next-nearest PoP" (False,
    #: the default, is what BGP anycast does: the excess at a full PoP is throttled/congested).
    spill_whatif: bool = False
    #: Cost estimate inputs (:mod:`dashboard.domain.cost`): ``((key, value), ...)`` sorted by
    #: key; prices in the user's currency (none shipped), ``util`` the average utilisation.
    cost: tuple[tuple[str, float], ...] = ()
    #: Key of a server-side client set (see :data:`dashboard.gazetteer.DEMAND_SETS`), or None.
    client_set: str | None = None
    #: Overrides of the latency model's tunable scalars, ``((name, value), ...)`` sorted by name
    #: (see :func:`dashboard.domain.latency.canonical_overrides`); () = the fitted parameters.
    model: tuple[tuple[str, float], ...] = ()
    #: Routing policy (:mod:`dashboard.domain.policy`): "geographic" (default) or "network".
    policy: str = DEFAULT_POLICY
    #: Who the clients are (:mod:`dashboard.domain.access`): "end-user" (default: the access
    #: network is part of every internet leg) or "datacenter" (servers, no access network).
    access: str = DEFAULT_ACCESS
    #: Announcement what-if (:mod:`dashboard.domain.bias`): ``((pop id, ms), ...)`` sorted by
    #: id, no zeros; + = a prepend-like penalty, - = a bonus, for route selection only.
    bias: tuple[tuple[str, float], ...] = ()
    #: Planned (hypothetical) access points (:mod:`dashboard.domain.planned`), in the order
    #: added, at most :data:`~dashboard.domain.planned.MAX_PLANNED`; docs/planning.md.
    planned: tuple[PlannedPop, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "down", frozenset(self.down))
        object.__setattr__(self, "endpoints_down", frozenset(self.endpoints_down))
        object.__setattr__(self, "mappings", tuple(
            (str(region), tuple(sorted(set(pops)))) for region, pops in self.mappings))
        _normalise_capacity_fields(self)
        object.__setattr__(self, "model", canonical_overrides(self.model))
        object.__setattr__(self, "policy", check_policy(self.policy))
        object.__setattr__(self, "access", check_access(self.access))
        object.__setattr__(self, "bias", bias_core.canonical(self.bias))
        object.__setattr__(self, "planned", check_planned(self.planned))

    # -- edits (each returns a new scenario) ------------------------------------------------
    def with_clients(self, clients: Iterable[Client]) -> "Scenario":
        new = tuple(clients)
        return replace(self, clients=new,
                       observed=tuple((i, p) for i, p in self.observed if i < len(new)))

    def add_clients(self, clients: Iterable[Client], max_clients: int | None = None
                    ) -> tuple["Scenario", int]:
        """Append clients, keeping at most ``max_clients``; returns (scenario, number dropped)."""
        new = tuple(clients)
        room = len(new) if max_clients is None else max(0, max_clients - len(self.clients))
        kept = new[:room]
        return replace(self, clients=self.clients + kept), len(new) - len(kept)

    def remove_client(self, index: int) -> "Scenario":
        """Without the client at ``index`` (an out-of-range index changes nothing)."""
        if not 0 <= index < len(self.clients):
            return self
        observed = tuple((i - (i > index), p) for i, p in self.observed if i != index)
        return replace(self, clients=self.clients[:index] + self.clients[index + 1:],
                       observed=observed)

    def clear_clients(self) -> "Scenario":
        return replace(self, clients=(), observed=())

    def with_observed(self, index: int, pop_id: str | None) -> "Scenario":
        """Record (or, with ``pop_id`` None, forget) where client ``index`` was seen entering."""
        if not 0 <= index < len(self.clients):
            raise ValueError(f"client #{index + 1} does not exist ({len(self.clients)} clients)")
        rest = tuple((i, p) for i, p in self.observed if i != index)
        return replace(self, observed=rest + (((index, pop_id),) if pop_id else ()))

    def observed_for(self, index: int) -> str | None:
        return dict(self.observed).get(index)

    def with_instance(self, mbps: float | None = None, spill_whatif: bool | None = None
                      ) -> "Scenario":
        """The instance bandwidth (Mbps, None = default) and/or the spill what-if changed
        (``spill_whatif`` None = unchanged)."""
        return replace(self, instance_mbps=mbps,
                       spill_whatif=self.spill_whatif if spill_whatif is None else spill_whatif)

    def with_cost(self, changes: Mapping[str, float | None]) -> "Scenario":
        """Cost inputs set (a value) or cleared (None); the others kept."""
        cost = dict(self.cost)
        for key, value in changes.items():
            if value is None:
                cost.pop(str(key), None)
            else:
                cost[str(key)] = value  # checked by __post_init__
        return replace(self, cost=tuple(cost.items()))

    def with_capacity(self, capacity: dict[str, float] | Iterable[tuple[str, float]],
                      default_gbps: float | None = None) -> "Scenario":
        """Per-access-point capacities (Gbps) and the default for the others."""
        items = capacity.items() if isinstance(capacity, dict) else capacity
        return replace(self, capacity=tuple(items), default_capacity_gbps=default_gbps)

    def with_demand(self, source: str, scale: float | None = None) -> "Scenario":
        return replace(self, demand_source=source, demand_scale=scale)

    def with_origin(self, origin: str | None) -> "Scenario":
        return replace(self, origin=origin or None)

    def with_endpoint_type(self, endpoint_type: str) -> "Scenario":
        """Another endpoint type; ALB and NLB allow one region only, so ``ValueError`` while
        Normal endpoints in other regions are associated."""
        if endpoint_type in SINGLE_REGION_TYPES and self.mappings:
            raise ValueError(f"an Anycast EIP bound to an {endpoint_type} can be associated with "
                             "one region only: dissociate the Normal endpoints first")
        if endpoint_type not in ENDPOINT_TYPES:
            raise ValueError(f"endpoint type {endpoint_type!r} is not one of "
                             f"{', '.join(ENDPOINT_TYPES)}")
        return replace(self, endpoint_type=endpoint_type)

    def with_down(self, down: Iterable[str]) -> "Scenario":
        return replace(self, down=frozenset(down))

    def toggle_pop(self, pop_id: str) -> "Scenario":
        """Mark an access point down, or back up if it is down."""
        return replace(self, down=self.down ^ {pop_id})

    # -- planned access points (docs/planning.md) ---------------------------------------------
    @property
    def planned_ids(self) -> tuple[str, ...]:
        return tuple(p.id for p in self.planned)

    def planned_pop(self, pop_id: str) -> PlannedPop | None:
        return next((p for p in self.planned if p.id == pop_id), None)

    def add_planned(self, pop: PlannedPop, catalog_ids: Sequence[str] = ()) -> "Scenario":
        """With ``pop`` appended; ``ValueError`` (message for the user) when the cap is reached
        or its id is a catalog id (``catalog_ids``) or another planned PoP's."""
        if len(self.planned) >= MAX_PLANNED:
            raise ValueError(planned_count_message(len(self.planned) + 1))
        if pop.id in set(catalog_ids):
            raise ValueError(f"{pop.id} is an access point of the catalog: choose another id "
                             "for the planned one")
        if pop.id in self.planned_ids:
            raise ValueError(f"a planned access point {pop.id} already exists")
        return replace(self, planned=self.planned + (pop,))

    def remove_planned(self, pop_id: str) -> "Scenario":
        """Without planned PoP ``pop_id`` and every mention of it (down, endpoint mappings,
        observed entries, capacity); unknown id: unchanged."""
        if pop_id not in self.planned_ids:
            return self
        return replace(
            self, planned=tuple(p for p in self.planned if p.id != pop_id),
            down=self.down - {pop_id},
            mappings=tuple((r, tuple(p for p in ps if p != pop_id)) for r, ps in self.mappings),
            observed=tuple((i, p) for i, p in self.observed if p != pop_id),
            capacity=tuple((p, g) for p, g in self.capacity if p != pop_id),
            bias=tuple((p, ms) for p, ms in self.bias if p != pop_id))

    def update_planned(self, pop_id: str, **changes: object) -> "Scenario":
        """Planned PoP ``pop_id`` with ``changes`` (``name``, ``capacity_gbps``, ``lat``,
        ``lon``) applied; ``ValueError`` for an unknown id or a bad value."""
        old = self.planned_pop(pop_id)
        if old is None:
            raise ValueError(f"no planned access point {str(pop_id)[:24]}")
        new = replace(old, **changes)  # type: ignore[arg-type]
        return replace(self, planned=tuple(new if p.id == pop_id else p for p in self.planned))

    def planned_clashes(self, catalog_ids: Sequence[str]) -> tuple[str, ...]:
        """Planned ids that are also catalog ids (refused by edits, dropped by :meth:`known`)."""
        ids = set(catalog_ids)
        return tuple(p.id for p in self.planned if p.id in ids)

    # -- endpoints (one Anycast EIP: one Default + Normal endpoints, one per region) -------------
    def endpoint_set(self, default_region: str) -> Endpoints:
        """The endpoints as the domain sees them; ``default_region`` is used when ``origin`` is
        None. Raises ``ValueError`` naming the broken rule (see :class:`Endpoints`)."""
        region = self.origin or default_region
        items = (Endpoint(region, DEFAULT, (), self.endpoint_type),) + tuple(
            Endpoint(r, NORMAL, pops, self.endpoint_type) for r, pops in self.mappings)
        return Endpoints(items, self.endpoints_down)

    def associated(self, default_region: str) -> tuple[str, ...]:
        """Regions with an endpoint, the default first."""
        return (self.origin or default_region,) + tuple(r for r, _ in self.mappings)

    def _checked(self, default_region: str, **changes: object) -> "Scenario":
        new = replace(self, **changes)
        new.endpoint_set(default_region)  # raises ValueError with the user-facing reason
        return new

    def add_endpoint(self, region: str, pops: Iterable[str], default_region: str) -> "Scenario":
        """Associate a Normal endpoint in ``region`` with access points ``pops`` (possibly none:
        nothing documents a minimum; it then carries no traffic)."""
        return self._checked(default_region, origin=self.origin or default_region,
                             mappings=self.mappings + ((region, tuple(pops)),))

    def map_pops(self, region: str, pops: Iterable[str], default_region: str) -> "Scenario":
        """Set the access points mapped to the Normal endpoint in ``region``."""
        if region not in dict(self.mappings):
            raise ValueError(f"there is no Normal endpoint in {region} to map access points to")
        return self._checked(default_region, origin=self.origin or default_region, mappings=tuple(
            (r, tuple(pops) if r == region else p) for r, p in self.mappings))

    def remove_endpoint(self, region: str, default_region: str,
                        promote: str | None = None) -> "Scenario":
        """Dissociate the endpoint in ``region``.

        A Normal endpoint: its access points go to the default. The Default endpoint: the
        provider promotes a *random* other endpoint to Default, so the caller says which one
        (``promote``, one of :meth:`promotion_candidates`) to see that outcome; ``ValueError``
        names the candidates when it does not, and when the Default is the only endpoint (the
        dashboard needs one endpoint to route anything)."""
        old = self.origin or default_region
        if region == old:
            candidates = self.promotion_candidates(default_region)
            if not candidates:
                raise ValueError(f"{region} is the only endpoint: the dashboard keeps at least one")
            if promote not in candidates:
                raise ValueError(f"unbinding the Default endpoint {region} promotes one of "
                                 f"{', '.join(candidates)} at random: pick which to see")
            return self._checked(default_region, origin=promote,
                                 mappings=tuple(m for m in self.mappings if m[0] != promote),
                                 endpoints_down=self.endpoints_down - {old})
        if region not in dict(self.mappings):
            raise ValueError(f"there is no endpoint in {region}")
        return replace(self, mappings=tuple(m for m in self.mappings if m[0] != region),
                       endpoints_down=self.endpoints_down - {region})

    def promotion_candidates(self, default_region: str) -> tuple[str, ...]:
        """The Normal endpoints' regions: one of them becomes the Default, at random, when the
        Default endpoint is unbound (Manage endpoints)."""
        return tuple(r for r, _ in self.mappings if r != (self.origin or default_region))

    def make_default(self, region: str, default_region: str) -> "Scenario":
        """``region`` becomes the Default endpoint; the previous Default is **demoted to
        Normal** (it stays associated, with no access point mapped, and keeps its up/down
        state), as the provider does when a new Default is bound.

        ``region``'s own mapping is dropped (the default serves every unmapped access point, so
        routing of its former access points is unchanged). A region without an endpoint is
        bound as the new Default.
        """
        old = self.origin or default_region
        if region == old:
            return self
        if self.endpoint_type in SINGLE_REGION_TYPES:  # one region only: it moves
            return self.move_default(region, default_region)
        rest = tuple(m for m in self.mappings if m[0] != region)
        return self._checked(default_region, origin=region, mappings=((old, ()),) + rest)

    def move_default(self, region: str, default_region: str) -> "Scenario":
        """The Default endpoint moves to ``region``: the previous one is dissociated (the origin
        picker: "my endpoint is in this region", not a second binding). ``region``'s own
        Normal mapping, if any, is absorbed."""
        old = self.origin or default_region
        if region == old:
            return self
        return self._checked(default_region, origin=region,
                             mappings=tuple(m for m in self.mappings if m[0] != region),
                             endpoints_down=self.endpoints_down - {old})

    def toggle_endpoint_down(self, region: str, default_region: str) -> "Scenario":
        """Mark the endpoint in ``region`` down, or back up."""
        if region not in self.associated(default_region):
            raise ValueError(f"no endpoint is associated in {region}")
        return replace(self, endpoints_down=self.endpoints_down ^ {region})

    def unknown_ids(self, pop_ids: Sequence[str], origin_ids: Sequence[str]) -> list[str]:
        """Access points and regions this scenario names that are not in ``pop_ids`` /
        ``origin_ids`` (the running catalog), described ("access point XYZ", "region ab-1")."""
        pops, regions = set(pop_ids) | set(self.planned_ids), set(origin_ids)
        named_regions = {r for r in (self.origin,) if r is not None} \
            | set(self.endpoints_down) | {r for r, _ in self.mappings}
        named_pops = set(self.down) | {p for _, ps in self.mappings for p in ps} \
            | {p for _, p in self.observed} | {p for p, _ in self.capacity} \
            | {p for p, _ in self.bias}
        return ([f"access point {p[:40]}" for p in sorted(named_pops - pops)]
                + [f"region {r[:40]}" for r in sorted(named_regions - regions)])

    def known(self, pop_ids: Sequence[str], origin_ids: Sequence[str]) -> "Scenario":
        """This scenario without the access points and regions the catalog does not have (a
        store written before the catalog changed, or not by this app): an unknown origin falls
        back to the default, a Normal endpoint in an unknown region is dissociated; a planned
        access point whose id the catalog now has is dropped (docs/planning.md)."""
        clash = set(self.planned_clashes(pop_ids))
        if clash:  # a catalog id wins over a planned one (a catalog that gained that id)
            return replace(self, planned=tuple(p for p in self.planned if p.id not in clash)
                           ).known(pop_ids, origin_ids)
        if not self.unknown_ids(pop_ids, origin_ids):
            return self
        pops, regions = set(pop_ids) | set(self.planned_ids), set(origin_ids)
        mappings = tuple((r, tuple(p for p in ps if p in pops)) for r, ps in self.mappings
                         if r in regions)
        return replace(self, origin=self.origin if self.origin in regions else None,
                       down=self.down & pops, endpoints_down=self.endpoints_down & regions,
                       mappings=tuple(m for m in mappings if m[1]),
                       observed=tuple((i, p) for i, p in self.observed if p in pops),
                       capacity=tuple((p, g) for p, g in self.capacity if p in pops),
                       bias=tuple((p, b) for p, b in self.bias if p in pops))

    def sanitized(self, default_region: str) -> tuple["Scenario", list[str]]:
        """The largest valid endpoint set from this scenario, and what was dropped and why.

        Used for links, which may have been edited by hand or made on a server with another
        default origin; never raises.
        """
        region0 = self.origin or default_region
        warnings: list[str] = []
        kept: list[tuple[str, tuple[str, ...]]] = []
        seen = {region0}
        mapped: dict[str, str] = {}
        for region, pops in self.mappings:
            if region in seen:
                warnings.append(f"second endpoint in region {region} ignored: one endpoint per "
                                "region" + (" (it is the Default endpoint)" if region == region0
                                            else ""))
                continue
            ok = []
            for p in pops:
                if p in mapped:
                    warnings.append(f"access point {p} is mapped to both {mapped[p]} and "
                                    f"{region}; kept {mapped[p]}")
                else:
                    ok.append(p)
            if self.endpoint_type in SINGLE_REGION_TYPES:
                warnings.append(f"Normal endpoint in {region} ignored: an Anycast EIP bound to "
                                f"an {self.endpoint_type} has one region only")
                continue
            seen.add(region)
            mapped.update({p: region for p in ok})
            kept.append((region, tuple(ok)))
        down = self.endpoints_down & seen
        if self.endpoints_down - seen:
            warnings.append("endpoint(s) marked down but not associated ignored: "
                            + ", ".join(sorted(self.endpoints_down - seen)))
        return replace(self, mappings=tuple(kept), endpoints_down=frozenset(down)), warnings

    def with_model(self, overrides: dict[str, float] | Iterable[tuple[str, float]]
                   ) -> "Scenario":
        """The latency model overrides replaced by ``overrides`` (``ValueError`` names a bad
        one; see :func:`dashboard.domain.latency.check_override`)."""
        return replace(self, model=canonical_overrides(overrides))

    def with_policy(self, policy: object) -> "Scenario":
        """The routing policy replaced (``ValueError`` naming the choices for an unknown one)."""
        return replace(self, policy=check_policy(policy))

    def with_access(self, access: object) -> "Scenario":
        """Who the clients are replaced (``ValueError`` naming the choices for an unknown
        type; :mod:`dashboard.domain.access`)."""
        return replace(self, access=check_access(access))

    def with_bias(self, changes: Mapping[str, object]) -> "Scenario":
        """Per-PoP biases set (ms; 0 or None clears one), the others kept; ``ValueError`` names
        a bad id or a value outside the bounds (:func:`dashboard.domain.bias.canonical`)."""
        if not isinstance(changes, Mapping):
            raise ValueError("bias must be an object of access point: ms")
        out = dict(self.bias)
        for pid, ms in changes.items():
            key = bias_core.check_id(pid)
            out[key] = 0.0 if ms is None else bias_core.check_ms(ms, key)
        return replace(self, bias=tuple(out.items()))

    def with_client_set(self, key: str | None) -> "Scenario":
        if key is not None and not ID_RE.match(str(key)):
            raise ValueError(f"client set key {key!r} is not an id (letters, digits, '-')")
        return replace(self, client_set=key or None)

    # -- JSON-able form for dcc.Store ----------------------------------------------------------
    def to_dict(self) -> dict:
        return {"clients": [c.to_dict() for c in self.clients], "origin": self.origin,
                "endpoint_type": self.endpoint_type, "down": sorted(self.down),
                "mappings": [[r, list(p)] for r, p in self.mappings],
                "endpoints_down": sorted(self.endpoints_down),
                "client_set": self.client_set,
                **_capacity_fields_to_dict(self),
                "model": dict(self.model),
                # Only when not the default, so existing stores and digests stay as they were.
                **({"policy": self.policy} if self.policy != DEFAULT_POLICY else {}),
                **({"access": self.access} if self.access != DEFAULT_ACCESS else {}),
                **({"bias": dict(self.bias)} if self.bias else {}),
                **({"planned": [p.to_dict() for p in self.planned]} if self.planned else {})}

    @classmethod
    def from_dict(cls, d: dict | None, max_clients: int = MAX_CLIENTS,
                  client_set_sizes: Mapping[str, int] | None = None) -> "Scenario":
        """Inverse of :meth:`to_dict`; ``None`` or ``{}`` gives the empty scenario.

        Raises ``ValueError`` for anything not shaped like :meth:`to_dict`'s output: the store
        lives in the browser, so a hand-crafted request can put anything in it. Raises
        :class:`~dashboard.domain.clients.ClientCountError` (a ``ValueError``) when the clients,
        plus the ``client_set_sizes[client_set]`` of its client set, exceed ``max_clients``
        (default: the ceiling :data:`~dashboard.domain.clients.MAX_CLIENTS`); they are counted
        before any client is built, so an over-cap store costs no more than its JSON.
        """
        if not d:
            return cls()
        if not isinstance(d, dict):
            raise ValueError("a scenario must be an object")
        clients = d.get("clients") or ()
        if isinstance(clients, (list, tuple)):
            set_key = d.get("client_set")
            set_size = (client_set_sizes or {}).get(set_key, 0) if isinstance(set_key, str) else 0
            check_client_count(len(clients), max_clients, set_size, set_key)
        down = d.get("down") or ()
        origin = d.get("origin") or None
        endpoint_type = d.get("endpoint_type") or DEFAULT_ENDPOINT_TYPE
        mappings = d.get("mappings") or ()
        endpoints_down = d.get("endpoints_down") or ()
        client_set = d.get("client_set") or None
        if not isinstance(clients, (list, tuple)):
            raise ValueError("scenario clients must be a list")
        if not _str_list(down):
            raise ValueError("scenario down must be a list of access point ids")
        if origin is not None and not isinstance(origin, str):
            raise ValueError("scenario origin must be a region id")
        if endpoint_type not in ENDPOINT_TYPES:
            raise ValueError(f"endpoint type must be one of {', '.join(ENDPOINT_TYPES)}")
        if not isinstance(mappings, (list, tuple)) or not all(
                isinstance(m, (list, tuple)) and len(m) == 2 and isinstance(m[0], str)
                and _str_list(m[1]) for m in mappings):
            raise ValueError("scenario mappings must be a list of [region, [access point ids]]")
        if not _str_list(endpoints_down):
            raise ValueError("scenario endpoints_down must be a list of region ids")
        if client_set is not None and not (isinstance(client_set, str)
                                           and ID_RE.match(client_set)):
            raise ValueError("scenario client_set must be a client set key")
        try:
            extra = _capacity_fields_from_dict(d)
        except (TypeError, KeyError, AttributeError):
            raise ValueError("scenario observed/capacity/demand fields are malformed") from None
        model = d.get("model") or {}
        if not isinstance(model, dict) or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in model.values()):
            raise ValueError("scenario model must be an object {latency parameter: number}")
        policy = check_policy(d.get("policy") or DEFAULT_POLICY)
        access = check_access(d.get("access") or DEFAULT_ACCESS)
        bias = d.get("bias") or {}
        if not isinstance(bias, dict):
            raise ValueError("scenario bias must be an object {access point: ms}")
        planned = d.get("planned") or ()
        if not isinstance(planned, (list, tuple)):
            raise ValueError("scenario planned must be a list of planned access points")
        planned = check_planned(planned)  # counted before any is built
        return cls(clients=tuple(Client.from_dict(c) for c in clients), origin=origin,
                   planned=planned, endpoint_type=endpoint_type, down=frozenset(down),
                   mappings=tuple((r, tuple(p)) for r, p in mappings),
                   endpoints_down=frozenset(endpoints_down), client_set=client_set,
                   model=tuple(model.items()), policy=policy, access=access,
                   bias=bias_core.canonical(bias), **extra)



def _str_list(value: object) -> bool:
    """A list (or tuple) of strings: the shape of id lists in :meth:`Scenario.to_dict`."""
    return isinstance(value, (list, tuple)) and all(isinstance(x, str) for x in value)


# -- capacity planning and support fields (observed PoPs, capacities, demand) ---------------------

def check_gbps(value: object, what: str) -> float:
    """A positive finite number (Gbps or Mbps per unit) normalised to 6 significant digits;
    ``ValueError`` naming ``what`` otherwise (the model and its URL codec share it)."""
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{what} {_clip(value)} is not a number") from None
    if not math.isfinite(v) or v <= 0 or v > MAX_GBPS:
        raise ValueError(f"{what} {v:g} must be a number > 0 and <= {MAX_GBPS:g}")
    return _norm_weight(v)


def check_pop_id(value: object, what: str) -> str:
    """``value`` as an access point id (upper case); ``ValueError`` naming ``what`` otherwise."""
    text = str(value).strip().upper()
    if not ID_RE.match(text):
        raise ValueError(f"{what} {str(value)[:24]!r} is not an access point id")
    return text


def _normalise_capacity_fields(s: Scenario) -> None:
    """Validate and canonicalise (sort, dedupe, round) the capacity/support fields in place, so
    that equal scenarios compare equal whatever order their parts came in. ``ValueError`` names
    the field."""
    observed: dict[int, str] = {}
    for item in s.observed:
        try:
            index, pop = item
            index = int(index)
        except (TypeError, ValueError, OverflowError):
            raise ValueError(f"observed: {_clip(item)} is not a (client index, access point) "
                             "pair") from None
        if not 0 <= index < len(s.clients):
            raise ValueError(f"observed: client #{index + 1} does not exist "
                             f"({len(s.clients)} clients)")
        observed[index] = check_pop_id(pop, "observed access point")
    object.__setattr__(s, "observed", tuple(sorted(observed.items())))
    caps: dict[str, float] = {}
    for item in s.capacity:
        try:
            pid, gbps = item
        except (TypeError, ValueError):
            raise ValueError(f"capacity: {item!r} is not an (access point, Gbps) pair") from None
        pid = check_pop_id(pid, "capacity access point")
        caps[pid] = check_gbps(gbps, f"capacity of {pid} (Gbps)")
    object.__setattr__(s, "capacity", tuple(sorted(caps.items())))
    if s.default_capacity_gbps is not None:
        object.__setattr__(s, "default_capacity_gbps",
                           check_gbps(s.default_capacity_gbps, "default capacity (Gbps)"))
    if s.demand_source not in DEMAND_SOURCES:
        raise ValueError(f"demand source {s.demand_source!r} is not one of "
                         f"{', '.join(DEMAND_SOURCES)}")
    if s.demand_scale is not None:
        object.__setattr__(s, "demand_scale", check_gbps(s.demand_scale, "demand scale"))
    if s.instance_mbps is not None:
        object.__setattr__(s, "instance_mbps", check_instance_mbps(s.instance_mbps))
    cost: dict[str, float] = {}
    for item in s.cost:
        try:
            key, value = item
        except (TypeError, ValueError):
            raise ValueError(f"cost: {_clip(item)} is not a (input, value) pair") from None
        cost[str(key)] = check_cost_value(str(key), value)
    object.__setattr__(s, "cost", tuple(sorted(cost.items())))
    if not isinstance(s.spill_whatif, bool):
        raise ValueError(f"spill what-if {_clip(s.spill_whatif)} must be true or false")


def check_instance_mbps(value: object) -> float:
    """The instance bandwidth in Mbps: a number > 0 and <= :data:`MAX_INSTANCE_MBPS` (the
    documented ceiling), 6 significant digits; ``ValueError`` otherwise."""
    v = check_gbps(value, "instance bandwidth (Mbps)")
    if v > MAX_INSTANCE_MBPS:
        raise ValueError(f"instance bandwidth {v:g} Mbps is above the documented maximum of "
                         f"{MAX_INSTANCE_MBPS:,.0f} Mbps")
    return v


def _capacity_fields_to_dict(s: Scenario) -> dict:
    return {"observed": [{"client": i, "pop": p} for i, p in s.observed],
            "capacity_gbps": dict(s.capacity),
            "default_capacity_gbps": s.default_capacity_gbps,
            "demand_source": s.demand_source,
            "demand_scale": s.demand_scale,
            # Only when not the default, so existing stores and digests stay as they were.
            **({"instance_mbps": s.instance_mbps} if s.instance_mbps is not None else {}),
            **({"spill_whatif": True} if s.spill_whatif else {}),
            **({"cost": dict(s.cost)} if s.cost else {})}


def _capacity_fields_from_dict(d: dict) -> dict:
    return {"observed": tuple((o["client"], o["pop"]) for o in d.get("observed") or ()),
            "capacity": tuple((d.get("capacity_gbps") or {}).items()),
            "default_capacity_gbps": d.get("default_capacity_gbps"),
            "demand_source": d.get("demand_source") or "clients",
            "demand_scale": d.get("demand_scale"),
            "instance_mbps": d.get("instance_mbps"),
            "spill_whatif": d.get("spill_whatif") or False,
            "cost": tuple((d.get("cost") or {}).items())}


