"""Endpoints of one Anycast EIP and which origin region each access point sends traffic to.

The provider lets one Anycast EIP be associated with one endpoint per region: exactly one
*Default* endpoint, and *Normal* endpoints to which chosen access points are mapped (API fields
``AssociationMode`` = Default/Normal and ``PopLocations``). An access point without a mapping
sends its traffic to the default endpoint. The documented rules (docs/failover.md cites each
page): endpoint types CLB (internal-facing, in a VPC), ENI (optionally a secondary private IP),
ALB and NLB -- an Anycast EIP bound to an ALB or NLB has **one region only** (Limits); the first
endpoint bound becomes the Default; a Normal endpoint may have no access point mapped (nothing
documents a minimum: it then carries no traffic); unbinding the Default promotes a *random* other
endpoint (Manage endpoints).

Endpoint outages follow the provider's documented semantics: automatic failover between endpoints
is *not* supported, so traffic of an access point whose endpoint is down is not rerouted -- its
clients are unserved until the operator remaps (a what-if the dashboard offers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np

DEFAULT = "Default"
NORMAL = "Normal"
MODES = (DEFAULT, NORMAL)
#: Endpoint types an Anycast EIP can be bound to (Manage endpoints; FAQ).
ENDPOINT_TYPES = ("CLB", "ENI", "ALB", "NLB")
#: Types with which the Anycast EIP can be associated with one region only (Limits).
SINGLE_REGION_TYPES = ("ALB", "NLB")
#: Index used where an access point has no endpoint to send traffic to.
NO_ENDPOINT = -1


@dataclass(frozen=True)
class Endpoint:
    """One association of the Anycast EIP: an endpoint in ``region`` (an origin id)."""

    region: str
    mode: str = DEFAULT
    pop_locations: tuple[str, ...] = ()
    endpoint_type: str = "CLB"


@dataclass(frozen=True)
class Endpoints:
    """The associations of one Anycast EIP, validated on construction."""

    items: tuple[Endpoint, ...]
    down: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        defaults = [e for e in self.items if e.mode == DEFAULT]
        if len(defaults) != 1:
            raise ValueError(f"exactly one Default endpoint is required, got {len(defaults)}")
        seen_regions: set[str] = set()
        mapped: dict[str, str] = {}
        for e in self.items:
            if e.mode not in MODES:
                raise ValueError(f"endpoint in {e.region}: mode {e.mode!r} is not Default or Normal")
            if e.region in seen_regions:
                raise ValueError(f"two endpoints in region {e.region}: one endpoint per region")
            seen_regions.add(e.region)
            if e.mode == DEFAULT and e.pop_locations:
                raise ValueError(f"the Default endpoint in {e.region} takes no access point list: "
                                 "it serves every unmapped access point")
            for pop in e.pop_locations:
                if pop in mapped:
                    raise ValueError(f"access point {pop} is mapped to both {mapped[pop]} "
                                     f"and {e.region}")
                mapped[pop] = e.region
        single = [e for e in self.items if e.endpoint_type in SINGLE_REGION_TYPES]
        if single and len(self.items) > 1:
            raise ValueError(f"an Anycast EIP bound to an {single[0].endpoint_type} can be "
                             "associated with one region only")
        unknown_down = set(self.down) - seen_regions
        if unknown_down:
            raise ValueError(f"endpoint(s) marked down but not associated: "
                             f"{', '.join(sorted(unknown_down))}")

    @classmethod
    def single(cls, region: str, endpoint_type: str = "CLB",
               down: Iterable[str] = ()) -> "Endpoints":
        """The common case: one default endpoint in ``region``."""
        return cls((Endpoint(region, DEFAULT, (), endpoint_type),), frozenset(down))

    def promotion_candidates(self) -> tuple[str, ...]:
        """Regions the provider may promote (at random) if the Default endpoint is unbound."""
        return tuple(e.region for e in self.items if e.mode == NORMAL)

    @property
    def default(self) -> Endpoint:
        return next(e for e in self.items if e.mode == DEFAULT)

    def region_for_pop(self, pop_id: str) -> str:
        """The origin region an access point sends traffic to (ignoring outages)."""
        for e in self.items:
            if pop_id in e.pop_locations:
                return e.region
        return self.default.region


def pop_origins(endpoints: Endpoints, pop_ids: Sequence[str],
                origin_ids: Sequence[str]) -> np.ndarray:
    """Origin row index each PoP sends traffic to; ``NO_ENDPOINT`` where that endpoint is down.

    Raises ``KeyError`` naming an unknown region or PoP id, so a stale mapping in a shared link is
    reported rather than silently ignored.
    """
    origin_index = {oid: i for i, oid in enumerate(origin_ids)}
    known_pops = set(pop_ids)
    for e in endpoints.items:
        if e.region not in origin_index:
            raise KeyError(f"unknown origin region {e.region!r}; known: {', '.join(origin_ids)}")
        for p in e.pop_locations:
            if p not in known_pops:
                raise KeyError(f"endpoint {e.region} maps unknown access point {p!r}")
    out = np.empty(len(pop_ids), dtype=np.int64)
    for i, pid in enumerate(pop_ids):
        region = endpoints.region_for_pop(pid)
        out[i] = NO_ENDPOINT if region in endpoints.down else origin_index[region]
    return out
