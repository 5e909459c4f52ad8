"""The scenario a user builds (clients, origin, down access points, ...) and its URL form.

A scenario is everything needed to reproduce a view, so a link can be shared:
``?clients=48.8566,2.3522;35.68,139.69&origin=eu-central-1&down=CDG``.

URL grammar (all keys optional; unknown keys are ignored with a warning, so older links keep
working when keys are added):

- ``clients``: ``;``-separated clients, each ``lat,lon[,name[,weight]]``. ``lat``/``lon`` are WGS84
  decimal degrees (rounded to :data:`COORD_DECIMALS` places, ~11 m, which is far below what the
  latency model resolves); ``name`` is percent-encoded UTF-8 (so it may contain ``,`` and ``;``);
  ``weight`` is a non-negative number (demand, e.g. requests/s), omitted when 1.
- ``origin``: the origin region id the Anycast EIP's endpoint is in (omitted: the app's default).
- ``endpoint``: the endpoint type, ``CLB`` or ``ENI`` (omitted: CLB).
- ``down``: ``,``-separated access point ids marked down.
- ``endpoints``: the *Normal* endpoints of the Anycast EIP and their mapped access points
  (``AssociationMode=Normal``, ``PopLocations``), ``;``-separated, each ``region:POP,POP``, e.g.
  ``endpoints=us-east-1:IAD,ORD,GRU;ap-southeast-1:SIN,KUL``. The *Default* endpoint is in
  ``origin``; access points without a mapping send traffic to it.
- ``endpoints_down``: ``,``-separated regions whose endpoint is down (no automatic failover
  between endpoints: clients of access points mapped to a down endpoint are unserved).
- ``observed``: ``,``-separated ``index:POP`` pairs: client ``index`` (0-based, in ``clients``
  order) was observed entering at access point ``POP`` (support override, e.g. from a traceroute).
- ``capacity``: ``,``-separated ``POP:gbps`` per-access-point capacities (Gbps); ``*:gbps`` sets
  the default for access points without a value (omitted: the catalog's ``capacity_gbps``,
  else :data:`DEFAULT_CAPACITY_GBPS`).
- ``demand``: ``source[:scale]``, the capacity view's demand: ``clients`` (the clients' weights;
  scale = Mbps per weight unit, default 1) or ``population`` (every gazetteer city weighted by
  population; scale = total demand in Gbps, default :data:`DEFAULT_POPULATION_GBPS`).
- ``clientset``: the key of a server-side client set (e.g. ``cities25k``: the 25,000 most
  populous cities weighted by population) whose clients come *after* the ``clients`` of the link.
  A large client set travels by name, so links, the page's stores and every callback payload stay
  small.
- ``model``: the user's overrides of the latency model's tunable scalars
  (:data:`dashboard.domain.latency.TUNABLE`), ``,``-separated ``name:value``, e.g.
  ``model=overhead_ms:5,inflation_scale:1.2`` (omitted: the fitted parameters). Values are kept
  to 6 significant digits and must lie in :data:`dashboard.domain.latency.OVERRIDE_RANGES`; an
  unknown name or a bad value is dropped with a warning, the other overrides are kept.

Parsing never raises: every malformed piece is dropped and described in the returned warnings.
The module is pure (no web framework import): the dashboard, the API and the tests share it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from typing import Iterable, Mapping, Sequence
from urllib.parse import quote, unquote

# The one client validator and its limits; COORD_DECIMALS, MAX_NAME_CHARS and clean_name are
# re-exported here for the modules (and tests) that read them from the scenario.
from dashboard.domain.clients import (COORD_DECIMALS, MAX_CLIENTS, MAX_NAME_CHARS,  # noqa: F401
                                      check_client_count, clean_coord, clean_name, clean_weight)
from dashboard.domain.endpoints import DEFAULT, NORMAL, Endpoint, Endpoints
from dashboard.domain.latency import canonical_overrides, check_override

#: Most clients a URL holds. A link is read from the request line of the page's GET, which
#: servers cap (see :data:`MAX_LINK_CHARS`); 500 clients without names already take ~8 kB.
#: :func:`fit_query` writes at most this many, :func:`Scenario.from_query` reads at most this many.
MAX_URL_CLIENTS = 500
#: Longest link query the app reads (characters); the rest of a longer one is ignored with a
#: notice. The one place this limit lives: the Procfile's gunicorn ``--limit-request-line`` must
#: be above it (plus the path and the method), so that an over-long link reaches the app and gets
#: this notice instead of the server's bare 414 page.
MAX_LINK_CHARS = 8000
#: Most ``&``-separated parameters read from a link (this version knows 11 keys; the rest leaves
#: room for tracking parameters that links pick up).
MAX_LINK_PARAMS = 32
#: Most warnings parsing one link returns; beyond that one "and N more" line. Bounds the notice
#: area whatever the link holds (100,000 unknown parameters once made a 16 MB answer).
MAX_LINK_WARNINGS = 8
#: Query length the app aims to stay under so that a shared link opens on any server.
DEFAULT_MAX_QUERY_CHARS = 4000
ENDPOINT_TYPES = ("CLB", "ENI")
DEFAULT_ENDPOINT_TYPE = "CLB"
#: Keys this version understands.
KNOWN_KEYS = ("clients", "origin", "endpoint", "down", "endpoints", "endpoints_down", "observed",
              "capacity", "demand", "clientset", "model")
#: Capacity planning defaults: the product's per-instance bandwidth is 1 Gbps by default (up to
#: 5 Gbps); demand weights are read as Mbps (times ``demand_scale`` for client weights).
DEFAULT_CAPACITY_GBPS = 1.0
DEMAND_SOURCES = ("clients", "population")
DEFAULT_POPULATION_GBPS = 10.0
#: Largest capacity or demand scale accepted (Gbps or Mbps per unit): a typo guard, not a limit
#: of the product.
MAX_GBPS = 1e6

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,31}$")
_MAX_WARNINGS = 5


def _clip(value: object, n: int = 40) -> str:
    """``repr(value)`` for a message, shortened (a JSON integer can have any number of digits)."""
    text = repr(value)
    return text if len(text) <= n else text[: n - 1] + "…"


def _norm_weight(value: float) -> float:
    return float(f"{float(value):.6g}")


def _as_number(value: object, what: str) -> object:
    """``value`` as a float when it is text (``Client("48.1", ...)``); numbers as they are, so
    :func:`clean_coord` / :func:`clean_weight` name anything else."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            raise ValueError(f"{what} {_clip(value)} is not a number") from None
    return value


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
        object.__setattr__(self, "lat", clean_coord(_as_number(self.lat, "latitude"), "lat"))
        object.__setattr__(self, "lon", clean_coord(_as_number(self.lon, "longitude"), "lon"))
        object.__setattr__(self, "weight",
                           _norm_weight(clean_weight(_as_number(self.weight, "weight"))))
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
    key each in :func:`to_query` / :func:`from_query`.

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
    #: Key of a server-side client set (see :data:`dashboard.gazetteer.DEMAND_SETS`), or None.
    client_set: str | None = None
    #: Overrides of the latency model's tunable scalars, ``((name, value), ...)`` sorted by name
    #: (see :func:`dashboard.domain.latency.canonical_overrides`); () = the fitted parameters.
    model: tuple[tuple[str, float], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "down", frozenset(self.down))
        object.__setattr__(self, "endpoints_down", frozenset(self.endpoints_down))
        object.__setattr__(self, "mappings", tuple(
            (str(region), tuple(sorted(set(pops)))) for region, pops in self.mappings))
        _normalise_capacity_fields(self)
        object.__setattr__(self, "model", canonical_overrides(self.model))

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
        if endpoint_type not in ENDPOINT_TYPES:
            raise ValueError(f"endpoint type {endpoint_type!r} is not one of "
                             f"{', '.join(ENDPOINT_TYPES)}")
        return replace(self, endpoint_type=endpoint_type)

    def with_down(self, down: Iterable[str]) -> "Scenario":
        return replace(self, down=frozenset(down))

    def toggle_pop(self, pop_id: str) -> "Scenario":
        """Mark an access point down, or back up if it is down."""
        return replace(self, down=self.down ^ {pop_id})

    # -- endpoints (one Anycast EIP: one Default + Normal endpoints, one per region) -------------
    def endpoint_set(self, default_region: str) -> Endpoints:
        """The endpoints as the domain sees them; ``default_region`` is used when ``origin`` is
        None. Raises ``ValueError`` naming the broken rule (see :class:`Endpoints`)."""
        region = self.origin or default_region
        items = (Endpoint(region, DEFAULT, (), self.endpoint_type),) + tuple(
            Endpoint(r, NORMAL, pops) for r, pops in self.mappings)
        return Endpoints(items, self.endpoints_down)

    def associated(self, default_region: str) -> tuple[str, ...]:
        """Regions with an endpoint, the default first."""
        return (self.origin or default_region,) + tuple(r for r, _ in self.mappings)

    def _checked(self, default_region: str, **changes: object) -> "Scenario":
        new = replace(self, **changes)
        new.endpoint_set(default_region)  # raises ValueError with the user-facing reason
        return new

    def add_endpoint(self, region: str, pops: Iterable[str], default_region: str) -> "Scenario":
        """Associate a Normal endpoint in ``region`` with access points ``pops``."""
        return self._checked(default_region, origin=self.origin or default_region,
                             mappings=self.mappings + ((region, tuple(pops)),))

    def map_pops(self, region: str, pops: Iterable[str], default_region: str) -> "Scenario":
        """Set the access points mapped to the Normal endpoint in ``region``."""
        if region not in dict(self.mappings):
            raise ValueError(f"there is no Normal endpoint in {region} to map access points to")
        return self._checked(default_region, origin=self.origin or default_region, mappings=tuple(
            (r, tuple(pops) if r == region else p) for r, p in self.mappings))

    def remove_endpoint(self, region: str, default_region: str) -> "Scenario":
        """Dissociate the Normal endpoint in ``region`` (its access points go to the default)."""
        if region == (self.origin or default_region):
            raise ValueError(f"{region} is the Default endpoint: make another endpoint the "
                             "default first (an Anycast EIP always has one Default endpoint)")
        if region not in dict(self.mappings):
            raise ValueError(f"there is no endpoint in {region}")
        return replace(self, mappings=tuple(m for m in self.mappings if m[0] != region),
                       endpoints_down=self.endpoints_down - {region})

    def make_default(self, region: str, default_region: str) -> "Scenario":
        """What-if remap: ``region`` becomes the Default endpoint.

        Its own mapping is dropped (the default serves every unmapped access point, so routing of
        its former access points is unchanged) and the previous Default endpoint is dissociated:
        a Normal endpoint needs access points, which the old default has none of.
        """
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
        pops, regions = set(pop_ids), set(origin_ids)
        named_regions = {r for r in (self.origin,) if r is not None} \
            | set(self.endpoints_down) | {r for r, _ in self.mappings}
        named_pops = set(self.down) | {p for _, ps in self.mappings for p in ps} \
            | {p for _, p in self.observed} | {p for p, _ in self.capacity}
        return ([f"access point {p[:40]}" for p in sorted(named_pops - pops)]
                + [f"region {r[:40]}" for r in sorted(named_regions - regions)])

    def known(self, pop_ids: Sequence[str], origin_ids: Sequence[str]) -> "Scenario":
        """This scenario without the access points and regions the catalog does not have (a
        store written before the catalog changed, or not by this app): an unknown origin falls
        back to the default, a Normal endpoint in an unknown region is dissociated."""
        if not self.unknown_ids(pop_ids, origin_ids):
            return self
        pops, regions = set(pop_ids), set(origin_ids)
        mappings = tuple((r, tuple(p for p in ps if p in pops)) for r, ps in self.mappings
                         if r in regions)
        return replace(self, origin=self.origin if self.origin in regions else None,
                       down=self.down & pops, endpoints_down=self.endpoints_down & regions,
                       mappings=tuple(m for m in mappings if m[1]),
                       observed=tuple((i, p) for i, p in self.observed if p in pops),
                       capacity=tuple((p, g) for p, g in self.capacity if p in pops))

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
            if not ok:
                warnings.append(f"Normal endpoint in {region} ignored: it needs at least one "
                                "access point")
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

    def with_client_set(self, key: str | None) -> "Scenario":
        if key is not None and not _ID_RE.match(str(key)):
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
                "model": dict(self.model)}

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
                                           and _ID_RE.match(client_set)):
            raise ValueError("scenario client_set must be a client set key")
        try:
            extra = _capacity_fields_from_dict(d)
        except (TypeError, KeyError, AttributeError):
            raise ValueError("scenario observed/capacity/demand fields are malformed") from None
        model = d.get("model") or {}
        if not isinstance(model, dict) or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in model.values()):
            raise ValueError("scenario model must be an object {latency parameter: number}")
        return cls(clients=tuple(Client.from_dict(c) for c in clients), origin=origin,
                   endpoint_type=endpoint_type, down=frozenset(down),
                   mappings=tuple((r, tuple(p)) for r, p in mappings),
                   endpoints_down=frozenset(endpoints_down), client_set=client_set,
                   model=tuple(model.items()), **extra)

    # -- URL ---------------------------------------------------------------------------------
    def to_query(self) -> str:
        """The query string (without ``?``); empty for the empty scenario. See module doc."""
        return _encode(self, self.clients, with_names=True)

    @classmethod
    def from_query(cls, query: str, *, pop_ids: Sequence[str] | None = None,
                   origin_ids: Sequence[str] | None = None,
                   max_clients: int = MAX_URL_CLIENTS,
                   client_set_ids: Sequence[str] | None = None,
                   client_set_sizes: Mapping[str, int] | None = None
                   ) -> tuple["Scenario", list[str]]:
        """Parse a query string (with or without ``?``); never raises.

        ``pop_ids`` / ``origin_ids``, when given, drop unknown ids with a warning. Returns the
        scenario and a list of human-readable warnings about what was ignored.

        Bounded work and output whatever the link: at most :data:`MAX_LINK_CHARS` characters
        and :data:`MAX_LINK_PARAMS` parameters are read, at most :data:`MAX_URL_CLIENTS` (and
        ``max_clients``, the app's cap, counting the ``client_set_sizes`` of a client set)
        clients are parsed, and at most :data:`MAX_LINK_WARNINGS` warnings returned.
        """
        scenario, warnings = _decode(query, pop_ids, origin_ids, max_clients, client_set_ids,
                                     client_set_sizes)
        return scenario, bound_warnings(warnings, MAX_LINK_WARNINGS, "in the link")


def _str_list(value: object) -> bool:
    """A list (or tuple) of strings: the shape of id lists in :meth:`Scenario.to_dict`."""
    return isinstance(value, (list, tuple)) and all(isinstance(x, str) for x in value)


def _fmt_num(v: float) -> str:
    text = f"{v:.{COORD_DECIMALS}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _fmt_client(c: Client, with_names: bool) -> str:
    parts = [_fmt_num(c.lat), _fmt_num(c.lon)]
    name = quote(c.name, safe="") if with_names else ""
    if c.weight != 1.0:
        parts += [name, f"{c.weight:.6g}"]
    elif name:
        parts.append(name)
    return ",".join(parts)


def _encode(s: Scenario, clients: Sequence[Client], with_names: bool) -> str:
    parts = []
    if clients:
        parts.append("clients=" + ";".join(_fmt_client(c, with_names) for c in clients))
    if s.origin:
        parts.append("origin=" + quote(s.origin, safe=""))
    if s.endpoint_type != DEFAULT_ENDPOINT_TYPE:
        parts.append("endpoint=" + s.endpoint_type)
    if s.down:
        parts.append("down=" + ",".join(quote(d, safe="") for d in sorted(s.down)))
    if s.mappings:
        parts.append("endpoints=" + ";".join(
            quote(r, safe="") + ":" + ",".join(quote(p, safe="") for p in pops)
            for r, pops in s.mappings))
    if s.endpoints_down:
        parts.append("endpoints_down=" + ",".join(quote(r, safe="")
                                                  for r in sorted(s.endpoints_down)))
    parts += _encode_capacity_keys(s, len(clients))
    if s.client_set:
        parts.append("clientset=" + quote(s.client_set, safe=""))
    if s.model:
        parts.append("model=" + ",".join(f"{k}:{v:.6g}" for k, v in s.model))
    return "&".join(parts)


@dataclass(frozen=True)
class FittedQuery:
    """Result of :func:`fit_query`: the query and what had to be left out to fit."""

    query: str
    clients_kept: int
    names_kept: bool

    def warnings(self, total_clients: int) -> list[str]:
        out = []
        if not self.names_kept and total_clients:
            out.append("client names were left out of the link to keep it short")
        if self.clients_kept < total_clients:
            out.append(f"the link holds the first {self.clients_kept} of {total_clients} "
                       "clients (links must stay under a few kB)")
        return out


def fit_query(s: Scenario, max_chars: int = DEFAULT_MAX_QUERY_CHARS,
              max_clients: int = MAX_URL_CLIENTS) -> FittedQuery:
    """The longest faithful query under ``max_chars``: first drop names, then trailing clients.

    Why: a link is only shareable if a server accepts it; common servers cap the request line at
    4-8 kB. The full scenario stays in the page; only the link is abbreviated (and the UI says so).
    """
    clients = s.clients[:max_clients]
    full = _encode(s, clients, with_names=True)
    if len(full) <= max_chars:
        return FittedQuery(full, len(clients), True)
    bare = _encode(s, clients, with_names=False)
    if len(bare) <= max_chars:
        return FittedQuery(bare, len(clients), False)
    lo, hi = 0, len(clients)  # binary search the largest prefix that fits, names dropped
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if len(_encode(s, clients[:mid], with_names=False)) <= max_chars:
            lo = mid
        else:
            hi = mid - 1
    return FittedQuery(_encode(s, clients[:lo], with_names=False), lo, False)


# -- parsing -----------------------------------------------------------------------------------

def bound_warnings(warnings: list[str], limit: int, where: str = "") -> list[str]:
    """The first ``limit`` warnings, then one line saying how many more there were."""
    if len(warnings) <= limit:
        return warnings
    more = len(warnings) - limit
    return warnings[:limit] + [f"and {more:,} more problem(s){' ' + where if where else ''} "
                               "not listed"]


def _split_query(query: str, warnings: list[str]) -> list[tuple[str, str]]:
    """``(key, raw value)`` pairs of the first :data:`MAX_LINK_PARAMS` parameters of the first
    :data:`MAX_LINK_CHARS` characters (cut at a separator), with a warning for what was left."""
    q = query[1:] if query.startswith("?") else query
    if len(q) > MAX_LINK_CHARS:
        cut = max(q.rfind("&", 0, MAX_LINK_CHARS + 1), q.rfind(";", 0, MAX_LINK_CHARS + 1))
        warnings.append(f"the link is {len(q):,} characters long; only the first "
                        f"{MAX_LINK_CHARS:,} were read (the limit for links)")
        q = q[:cut] if cut > 0 else q[:MAX_LINK_CHARS]
    parts = [part for part in q.split("&") if part]  # <= MAX_LINK_CHARS / 2 of them
    if len(parts) > MAX_LINK_PARAMS:
        warnings.append(f"the link has {len(parts):,} parameters; only the first "
                        f"{MAX_LINK_PARAMS} were read (the limit)")
        parts = parts[:MAX_LINK_PARAMS]
    pairs = []
    for part in parts:
        key, _, value = part.partition("=")
        pairs.append((unquote(key[:200].replace("+", " ")).strip().lower(), value))
    return pairs


def _parse_number(text: str) -> float:
    v = float(text)
    if not math.isfinite(v):
        raise ValueError("not finite")
    return v


def _parse_clients(raw: str, max_clients: int, warnings: list[str]) -> list[Client]:
    # Tools that percent-encode a whole URL turn ',' into %2C; decode once if no separator is
    # left (names are then ambiguous, which is acceptable for such links).
    if "," not in raw and re.search(r"%2c", raw, re.I):
        raw = unquote(raw)
    out: list[Client] = []
    bad: list[str] = []
    items = [it for it in raw.split(";") if it.strip()]  # raw is at most MAX_LINK_CHARS long
    truncated = False
    for n, item in enumerate(items, start=1):
        if len(out) >= max_clients:  # nothing beyond the cap is parsed
            truncated = True
            break
        fields = item.split(",")
        try:
            if len(fields) < 2 or len(fields) > 4:
                raise ValueError("expected lat,lon[,name[,weight]]")
            lat = _parse_number(unquote(fields[0]).strip())
            lon = _parse_number(unquote(fields[1]).strip())
            name = unquote(fields[2].replace("+", " ")) if len(fields) > 2 else ""
            weight = _parse_number(unquote(fields[3]).strip()) if len(fields) > 3 else 1.0
            client = Client(lat, lon, name, weight)
        except (ValueError, OverflowError) as exc:
            bad.append(f"#{n} '{_short(item)}' ({_reason(exc)})")
            continue
        out.append(client)
    if bad:
        shown = "; ".join(bad[:_MAX_WARNINGS])
        more = f" and {len(bad) - _MAX_WARNINGS} more" if len(bad) > _MAX_WARNINGS else ""
        warnings.append(f"ignored {len(bad)} malformed client(s) in the link: {shown}{more}")
    if truncated:
        warnings.append(f"the link has {len(items):,} clients; only the first {max_clients:,} were "
                        "loaded (the limit for links)")
    return out


def _reason(exc: Exception) -> str:
    text = str(exc)
    if text.startswith("could not convert") or text == "not finite":
        return "not a number"
    return text


def _short(text: str, n: int = 40) -> str:
    """A piece of the link for a warning: decoded, cleaned like a name, at most ``n`` chars."""
    text = clean_name(unquote(text[: 8 * n]), max_chars=n + 1)
    return text if len(text) <= n else text[: n - 1] + "…"


def _decode(query: str, pop_ids: Sequence[str] | None, origin_ids: Sequence[str] | None,
            max_clients: int, client_set_ids: Sequence[str] | None = None,
            client_set_sizes: Mapping[str, int] | None = None
            ) -> tuple[Scenario, list[str]]:
    warnings: list[str] = []
    unknown_keys: list[str] = []
    if not isinstance(query, str):
        return Scenario(), (["the link's query is not text; ignored"] if query else [])
    clients: list[Client] = []
    origin: str | None = None
    endpoint = DEFAULT_ENDPOINT_TYPE
    down: set[str] = set()
    mappings: list[tuple[str, tuple[str, ...]]] = []
    endpoints_down: set[str] = set()
    client_set: str | None = None
    model: tuple[tuple[str, float], ...] = ()
    seen: set[str] = set()
    extra: dict = {}
    for key, value in _split_query(query, warnings):
        if key in seen and key in KNOWN_KEYS:
            warnings.append(f"'{_short(key)}' appears more than once in the link; the last one "
                            "was used")
        seen.add(key)
        if key == "clients":
            clients = _parse_clients(value, min(max_clients, MAX_URL_CLIENTS), warnings)
        elif key == "origin":
            text = unquote(value).strip()
            if not text:
                origin = None
            elif not _ID_RE.match(text) or (origin_ids is not None and text not in origin_ids):
                warnings.append(f"unknown origin '{_short(text)}' ignored"
                                + (f" (known: {', '.join(origin_ids)})" if origin_ids else ""))
                origin = None
            else:
                origin = text
        elif key == "endpoint":
            text = unquote(value).strip().upper()
            if text in ENDPOINT_TYPES:
                endpoint = text
            else:
                warnings.append(f"unknown endpoint type '{_short(text)}' ignored (use CLB or ENI)")
                endpoint = DEFAULT_ENDPOINT_TYPE
        elif key == "down":
            found, unknown = _pop_ids(unquote(value), pop_ids)
            down = set(found)
            if unknown:
                warnings.append(f"unknown access point(s) {', '.join(unknown[:_MAX_WARNINGS])} "
                                "in 'down' ignored")
        elif key == "endpoints":
            mappings = _parse_mappings(value, pop_ids, origin_ids, warnings)
        elif key == "endpoints_down":
            endpoints_down = set()
            unknown = []
            for item in unquote(value).split(","):
                region = item.strip()
                if not region:
                    continue
                if not _ID_RE.match(region) or (origin_ids is not None
                                                and region not in origin_ids):
                    unknown.append(_short(region, 24))
                else:
                    endpoints_down.add(region)
            if unknown:
                warnings.append(f"unknown region(s) {', '.join(unknown[:_MAX_WARNINGS])} in "
                                "'endpoints_down' ignored")
        elif key == "clientset":
            text = unquote(value).strip().lower()
            if not text:
                client_set = None
            elif not _ID_RE.match(text) or (client_set_ids is not None
                                            and text not in client_set_ids):
                warnings.append(f"unknown client set '{_short(text, 24)}' ignored")
            else:
                client_set = text
        elif key == "model":
            model = _parse_model(value, warnings)
        elif key in _CAPACITY_KEYS:
            _decode_capacity_key(key, value, extra, warnings, pop_ids)
        else:
            unknown_keys.append(f"'{_short(key, 24)}'")
    if unknown_keys:  # one warning, however many there are
        shown = ", ".join(unknown_keys[:_MAX_WARNINGS])
        more = (f" and {len(unknown_keys) - _MAX_WARNINGS} more" if len(unknown_keys)
                > _MAX_WARNINGS else "")
        warnings.append(f"unknown link parameter{'s' if len(unknown_keys) > 1 else ''} "
                        f"{shown}{more} ignored")
    set_size = (client_set_sizes or {}).get(client_set, 0) if client_set else 0
    if clients and len(clients) + set_size > max_clients:
        keep = max(0, max_clients - set_size)
        warnings.append(f"the link's {len(clients):,} clients plus the {set_size:,} of the client "
                        f"set {client_set} are more than the limit of {max_clients:,} clients; "
                        f"only the first {keep:,} of the link's were loaded")
        clients = clients[:keep]
    extra = _finish_capacity_keys(extra, len(clients), warnings)
    scenario = Scenario(clients=tuple(clients), origin=origin, endpoint_type=endpoint,
                        down=frozenset(down), mappings=tuple(mappings),
                        endpoints_down=frozenset(endpoints_down), client_set=client_set,
                        model=model, **extra)
    if origin is not None and (mappings or endpoints_down):
        # The Default region is known: apply the provider's rules now. (With no origin in the
        # link, the app's default decides; the dashboard sanitizes again once it is resolved.)
        scenario, more = scenario.sanitized(origin)
        warnings += more
    return scenario, warnings


def _pop_ids(text: str, pop_ids: Sequence[str] | None) -> tuple[list[str], list[str]]:
    """``,``-separated access point ids (case-insensitive) -> (known ids, shortened unknown ones)."""
    found, unknown = [], []
    for item in text.split(","):
        pid = item.strip().upper()
        if not pid:
            continue
        if not _ID_RE.match(pid) or (pop_ids is not None and pid not in pop_ids):
            unknown.append(_short(pid, 12))
        else:
            found.append(pid)
    return found, unknown


def _parse_model(raw: str, warnings: list[str]) -> tuple[tuple[str, float], ...]:
    """``name:value,name:value`` -> canonical latency overrides; unknown names and bad values
    are dropped with one warning each (the link's other overrides are kept)."""
    out: dict[str, float] = {}
    for item in unquote(raw).split(","):
        if not item.strip():
            continue
        name, sep, value = item.partition(":")
        name = name.strip().lower()
        try:
            if not sep:
                raise ValueError("expected name:value")
            v = check_override(name, value.strip())
        except ValueError as exc:
            if len(warnings) < 50:
                warnings.append(f"latency model parameter '{_short(item, 40)}' ignored "
                                f"({_short(str(exc), 160).removeprefix('latency parameter ')})")
            continue
        if name in out:
            warnings.append(f"latency model parameter '{name}' appears more than once in the "
                            "link; the last one was used")
        out[name] = v
    return tuple(sorted(out.items()))


def _parse_mappings(raw: str, pop_ids: Sequence[str] | None, origin_ids: Sequence[str] | None,
                    warnings: list[str]) -> list[tuple[str, tuple[str, ...]]]:
    """``region:POP,POP;region:POP`` -> [(region, (pops...))]; bad pieces dropped with warnings.

    Rule violations between endpoints (two in one region, a PoP mapped twice, a Normal endpoint
    without access points) are left to :meth:`Scenario.sanitized`, which names them.
    """
    out: list[tuple[str, tuple[str, ...]]] = []
    for item in unquote(raw).split(";"):
        if not item.strip():
            continue
        region, sep, pops_text = item.partition(":")
        region = region.strip()
        if not sep or not _ID_RE.match(region) or (origin_ids is not None
                                                   and region not in origin_ids):
            warnings.append(f"endpoint '{_short(item)}' ignored (expected region:POP,POP with a "
                            "known region)")
            continue
        pops, unknown = _pop_ids(pops_text, pop_ids)
        if unknown:
            warnings.append(f"unknown access point(s) {', '.join(unknown[:_MAX_WARNINGS])} in the "
                            f"mapping of {region} ignored")
        out.append((region, tuple(pops)))
    return out


# -- capacity planning and support fields (observed PoPs, capacities, demand) ---------------------

_CAPACITY_KEYS = ("observed", "capacity", "demand")


def _gbps(value: object, what: str) -> float:
    """A positive finite number (Gbps or Mbps per unit) normalised to 6 significant digits."""
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{what} {_clip(value)} is not a number") from None
    if not math.isfinite(v) or v <= 0 or v > MAX_GBPS:
        raise ValueError(f"{what} {v:g} must be a number > 0 and <= {MAX_GBPS:g}")
    return _norm_weight(v)


def _pop_id(value: object, what: str) -> str:
    text = str(value).strip().upper()
    if not _ID_RE.match(text):
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
        observed[index] = _pop_id(pop, "observed access point")
    object.__setattr__(s, "observed", tuple(sorted(observed.items())))
    caps: dict[str, float] = {}
    for item in s.capacity:
        try:
            pid, gbps = item
        except (TypeError, ValueError):
            raise ValueError(f"capacity: {item!r} is not an (access point, Gbps) pair") from None
        pid = _pop_id(pid, "capacity access point")
        caps[pid] = _gbps(gbps, f"capacity of {pid} (Gbps)")
    object.__setattr__(s, "capacity", tuple(sorted(caps.items())))
    if s.default_capacity_gbps is not None:
        object.__setattr__(s, "default_capacity_gbps",
                           _gbps(s.default_capacity_gbps, "default capacity (Gbps)"))
    if s.demand_source not in DEMAND_SOURCES:
        raise ValueError(f"demand source {s.demand_source!r} is not one of "
                         f"{', '.join(DEMAND_SOURCES)}")
    if s.demand_scale is not None:
        object.__setattr__(s, "demand_scale", _gbps(s.demand_scale, "demand scale"))


def _capacity_fields_to_dict(s: Scenario) -> dict:
    return {"observed": [{"client": i, "pop": p} for i, p in s.observed],
            "capacity_gbps": dict(s.capacity),
            "default_capacity_gbps": s.default_capacity_gbps,
            "demand_source": s.demand_source,
            "demand_scale": s.demand_scale}


def _capacity_fields_from_dict(d: dict) -> dict:
    return {"observed": tuple((o["client"], o["pop"]) for o in d.get("observed") or ()),
            "capacity": tuple((d.get("capacity_gbps") or {}).items()),
            "default_capacity_gbps": d.get("default_capacity_gbps"),
            "demand_source": d.get("demand_source") or "clients",
            "demand_scale": d.get("demand_scale")}


def _encode_capacity_keys(s: Scenario, n_clients: int) -> list[str]:
    parts = []
    observed = [(i, p) for i, p in s.observed if i < n_clients]
    if observed:
        parts.append("observed=" + ",".join(f"{i}:{quote(p, safe='')}" for i, p in observed))
    caps = ([f"*:{s.default_capacity_gbps:.6g}"] if s.default_capacity_gbps is not None else []) \
        + [f"{quote(p, safe='')}:{g:.6g}" for p, g in s.capacity]
    if caps:
        parts.append("capacity=" + ",".join(caps))
    if s.demand_source != "clients" or s.demand_scale is not None:
        parts.append("demand=" + s.demand_source
                     + (f":{s.demand_scale:.6g}" if s.demand_scale is not None else ""))
    return parts


def _known_pop(text: str, pop_ids: Sequence[str] | None) -> str:
    """An access point id (case-insensitive) the catalog has; ``ValueError`` otherwise."""
    pid = _pop_id(text, "access point")
    if pop_ids is not None and pid not in pop_ids:
        raise ValueError(f"unknown access point {pid}")
    return pid


def _decode_capacity_key(key: str, value: str, extra: dict, warnings: list[str],
                         pop_ids: Sequence[str] | None) -> None:
    """Parse one of :data:`_CAPACITY_KEYS` into ``extra`` (Scenario keyword arguments)."""
    bad: list[str] = []
    if key == "observed":
        out = []
        for item in unquote(value).split(","):
            if not item.strip():
                continue
            index, _, pop = item.partition(":")
            try:
                i = int(index.strip())
                if i < 0:
                    raise ValueError
                pid = _known_pop(pop, pop_ids)
            except ValueError:
                bad.append(_short(item, 16))
                continue
            out.append((i, pid))
        extra["observed"] = out
        if bad:
            warnings.append(f"ignored malformed observed entry point(s) {', '.join(bad[:5])} "
                            "(use client-index:ACCESS-POINT)")
    elif key == "capacity":
        caps, default = [], None
        for item in unquote(value).split(","):
            if not item.strip():
                continue
            pop, _, gbps = item.partition(":")
            try:
                g = _gbps(gbps.strip(), "capacity")
                if pop.strip() == "*":
                    default = g
                    continue
                pid = _known_pop(pop, pop_ids)
            except ValueError:
                bad.append(_short(item, 16))
                continue
            caps.append((pid, g))
        extra["capacity"], extra["default_capacity_gbps"] = caps, default
        if bad:
            warnings.append(f"ignored malformed capacity value(s) {', '.join(bad[:5])} "
                            "(use ACCESS-POINT:gbps, or *:gbps for the default)")
    elif key == "demand":
        source, _, scale = unquote(value).strip().lower().partition(":")
        if source not in DEMAND_SOURCES:
            warnings.append(f"unknown demand source '{_short(source, 16)}' ignored (use "
                            f"{' or '.join(DEMAND_SOURCES)})")
            return
        extra["demand_source"], extra["demand_scale"] = source, None
        if scale.strip():
            try:
                extra["demand_scale"] = _gbps(scale.strip(), "demand scale")
            except ValueError as exc:
                warnings.append(f"demand: {exc}; the default scale was used")


def _finish_capacity_keys(extra: dict, n_clients: int, warnings: list[str]) -> dict:
    """Drop observed entries of clients the link does not hold (with a warning)."""
    observed = extra.get("observed")
    if observed:
        kept = [(i, p) for i, p in observed if i < n_clients]
        if len(kept) < len(observed):
            warnings.append(f"{len(observed) - len(kept)} observed entry point(s) refer to "
                            "clients the link does not hold; ignored")
        extra["observed"] = kept
    return {k: tuple(v) if isinstance(v, list) else v for k, v in extra.items()}
