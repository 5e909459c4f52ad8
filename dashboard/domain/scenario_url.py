"""The URL form of a scenario (:mod:`dashboard.domain.scenario`): the link grammar, its codec and
the link limits.

A scenario is everything needed to reproduce a view, so a link can be shared:
``?clients=48.8566,2.3522;35.68,139.69&origin=eu-central-1&down=CDG``.

URL grammar (all keys optional; unknown keys are ignored with a warning, so older links keep
working when keys are added):

- ``clients``: ``;``-separated clients, each ``lat,lon[,name[,weight]]``. ``lat``/``lon`` are WGS84
  decimal degrees (rounded to :data:`COORD_DECIMALS` places, ~11 m, which is far below what the
  latency model resolves); ``name`` is percent-encoded UTF-8 (so it may contain ``,`` and ``;``);
  ``weight`` is a non-negative number (demand, e.g. requests/s), omitted when 1. A client
  located from an IP address is written with its located point and the name without the
  address (``IP · London, GB (±10 km)``: :func:`dashboard.domain.ipgeo.redact_name`; an
  address is personal data, docs/geoip.md).
- ``ip``: IP addresses to locate as clients (``,``-separated, at most 50), read by the page
  (:mod:`dashboard.services.ipclients`) with the configured GeoIP database and rewritten at once
  as ``clients`` (located point and city, no address).
- ``origin``: the origin region id the Anycast EIP's endpoint is in (omitted: the app's default).
- ``endpoint``: the endpoint type, ``CLB``, ``ENI``, ``ALB`` or ``NLB`` (omitted: CLB; ALB and
  NLB allow one region only, so no ``endpoints``).
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
- ``instance``: the Anycast EIP instance's bandwidth in Mbps, summed over all access points
  (omitted: the documented default, 1,000 Mbps; at most 5,000 Mbps).
- ``spill``: ``on`` for the what-if "the provider re-routes a full access point's excess to the
  next-nearest one" (omitted: what BGP anycast does, the excess is throttled/congested).
- ``cost``: the cost estimate's inputs, ``,``-separated ``key:value`` (keys: ``instance`` fee
  per month, ``transfer`` price per GB to the origin, ``util`` average utilisation in (0, 1],
  and a price per GB per access area ``ap``, ``na``, ``sa``, ``eu``, ``au``; no price is
  shipped, omitted = not entered).
- ``clientset``: the key of a server-side client set (e.g. ``cities25k``: the 25,000 most
  populous cities weighted by population) whose clients come *after* the ``clients`` of the link.
  A large client set travels by name, so links, the page's stores and every callback payload stay
  small.
- ``model``: the user's overrides of the latency model's tunable scalars
  (:data:`dashboard.domain.latency.TUNABLE`), ``,``-separated ``name:value``, e.g.
  ``model=overhead_ms:5,inflation_scale:1.2`` (omitted: the fitted parameters). Values are kept
  to 6 significant digits and must lie in :data:`dashboard.domain.latency.OVERRIDE_RANGES`; an
  unknown name or a bad value is dropped with a warning, the other overrides are kept.
- ``policy``: the routing policy, ``geographic`` (omitted: the default) or ``network``
  (:mod:`dashboard.domain.policy`); an unknown value is dropped with a warning.
- ``access``: who the clients are, ``end-user`` (omitted: the default) or ``datacenter``
  (:mod:`dashboard.domain.access`); an unknown value is dropped with a warning (end users).
- ``bias``: the announcement what-if (:mod:`dashboard.domain.bias`), ``,``-separated
  ``POP:ms``, e.g. ``bias=FRA:+20,LHR:-10`` (+ = a prepend-like penalty, - = a bonus, for route
  selection only; each in -100..+100 ms, 0.1 ms kept; omitted: none). A bad piece or an unknown
  access point is dropped with a warning, the others are kept.
- ``planned``: planned (hypothetical) access points (:mod:`dashboard.domain.planned`,
  docs/planning.md), ``;``-separated, each ``ID:lat,lon[,name[,gbps]]``, e.g.
  ``planned=JNB:-26.2041,28.0473,Johannesburg;LOS:6.45,3.39``. ``ID`` follows the catalog's id
  rule and must not be a catalog id; ``lat``/``lon`` as for clients; ``name`` percent-encoded;
  ``gbps`` the capacity (omitted: the default capacity). At most
  :data:`~dashboard.domain.planned.MAX_PLANNED`; the others are dropped with a warning. The
  planned ids count as known access points for the link's other keys (``down=JNB``).
- ``view``: the tab a shared link opens, ``map`` (omitted: the default), ``capacity`` or
  ``support`` (:data:`VIEWS`). Not part of the scenario: the page's "Copy link" adds it and the
  page reads it with :func:`view_from_query`; an unknown value is dropped with a warning.

Parsing never raises: every malformed piece is dropped and described in the returned warnings.
:func:`to_query` writes a scenario, :func:`from_query` reads a link, :func:`fit_query` writes the
longest faithful link under a length. This module imports the scenario model; the model never
imports it. Pure (no web framework import): the dashboard, the API and the tests share it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Mapping, Sequence
from urllib.parse import quote, unquote

from dashboard.domain.clients import COORD_DECIMALS, clean_name
from dashboard.domain.cost import check_cost_value
from dashboard.domain.ipgeo import redact_name
from dashboard.domain.latency import check_override
from dashboard.domain.access import ACCESS_CHOICES, DEFAULT_ACCESS
from dashboard.domain import bias as bias_core
from dashboard.domain.policy import DEFAULT_POLICY, POLICIES
from dashboard.domain.planned import MAX_PLANNED, PlannedPop, planned_count_message
from dashboard.domain.scenario import (DEFAULT_ENDPOINT_TYPE, DEMAND_SOURCES, ENDPOINT_TYPES, ID_RE,
                                       Client, Scenario, check_gbps,
                                       check_instance_mbps, check_pop_id)

#: Most clients a URL holds. A link is read from the request line of the page's GET, which
#: servers cap (see :data:`MAX_LINK_CHARS`); 500 clients without names already take ~8 kB.
#: :func:`fit_query` writes at most this many, :func:`from_query` reads at most this many.
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
#: Keys this version understands.
KNOWN_KEYS = ("clients", "origin", "endpoint", "down", "endpoints", "endpoints_down", "observed",
              "capacity", "demand", "clientset", "model", "policy", "access", "instance", "spill",
              "cost", "bias", "view", "planned")
#: The views a link may open (the page's tabs, in tab order); ``map`` is the default.
VIEWS = ("map", "capacity", "support")
_MAX_WARNINGS = 5


def view_from_query(query: object) -> str | None:
    """The view (:data:`VIEWS`) a link's ``view`` parameter names, or None (absent, unknown, or
    not text). The last ``view`` wins, as for the scenario's keys; bounded like
    :func:`from_query` (the same first parameters are read)."""
    if not isinstance(query, str):
        return None
    found = None
    for key, value in _split_query(query, []):
        if key == "view":
            text = unquote(value).strip().lower()
            found = text if text in VIEWS else None
    return found


def to_query(s: Scenario) -> str:
    """The query string (without ``?``) of ``s``; empty for the empty scenario. See the module
    docstring for the grammar."""
    return _encode(s, s.clients, with_names=True)


def from_query(query: str, *, pop_ids: Sequence[str] | None = None,
               origin_ids: Sequence[str] | None = None,
               max_clients: int = MAX_URL_CLIENTS,
               client_set_ids: Sequence[str] | None = None,
               client_set_sizes: Mapping[str, int] | None = None
               ) -> tuple[Scenario, list[str]]:
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


#: Most ``ip=`` addresses read from a link (a link is not a log file; uploads take many).
MAX_URL_IPS = 50


def ips_from_query(query: object) -> tuple[list[str], list[str]]:
    """The raw addresses of a link's ``ip`` keys (``,``-separated; repeated keys add up), at
    most :data:`MAX_URL_IPS`, and warnings (too many). Not checked here: the page locates them
    (:mod:`dashboard.services.ipclients`), which says what is wrong with each."""
    if not isinstance(query, str) or "ip=" not in query:
        return [], []
    warnings: list[str] = []
    out: list[str] = []
    for key, value in _split_query(query, []):
        if key != "ip":
            continue
        out += [v.strip() for v in unquote(value[:4000]).split(",") if v.strip()]
    if len(out) > MAX_URL_IPS:
        warnings.append(f"the link has {len(out):,} IP addresses; only the first {MAX_URL_IPS} "
                        "were read (the limit for links; upload a CSV with an 'ip' column for "
                        "more)")
        out = out[:MAX_URL_IPS]
    return out, warnings


def _fmt_num(v: float) -> str:
    text = f"{v:.{COORD_DECIMALS}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _fmt_client(c: Client, with_names: bool) -> str:
    parts = [_fmt_num(c.lat), _fmt_num(c.lon)]
    # an IP client's address stays out of links (privacy): its located point and city travel
    name = quote(redact_name(c.name), safe="") if with_names else ""
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
    if s.policy != DEFAULT_POLICY:
        parts.append("policy=" + s.policy)
    if s.access != DEFAULT_ACCESS:
        parts.append("access=" + s.access)
    if s.bias:
        # "FRA:20,LHR:-10": no "+" (a form decoder reads it as a space); the parser takes both
        parts.append("bias=" + ",".join(f"{quote(p, safe='')}:{ms:g}" for p, ms in s.bias))
    if s.planned:
        parts.append("planned=" + ";".join(_fmt_planned(p, with_names) for p in s.planned))
    return "&".join(parts)


def _fmt_planned(p: PlannedPop, with_names: bool = True) -> str:
    """``ID:lat,lon[,name[,gbps]]`` (the name percent-encoded, so it may hold ``,`` and ``;``;
    left out with ``with_names`` False, like client names, when a link must be shortened)."""
    parts = [_fmt_num(p.lat), _fmt_num(p.lon)]
    name = quote(p.name, safe="") if with_names else ""
    if p.capacity_gbps is not None:
        parts += [name, f"{p.capacity_gbps:.6g}"]
    elif name:
        parts.append(name)
    return p.id + ":" + ",".join(parts)


def parse_planned(raw: str, catalog_ids: Sequence[str] | None, warnings: list[str]
                  ) -> list[PlannedPop]:
    """``ID:lat,lon[,name[,gbps]];...`` -> planned PoPs; a malformed one, one whose id is a
    catalog id (``catalog_ids``) or repeats an earlier one, and those beyond
    :data:`MAX_PLANNED` are dropped with one warning each kind. Never raises. Also the parser
    of the API's ``planned=`` and the CLI's ``--add-pop`` (which refuse instead of dropping)."""
    if ":" not in raw and re.search(r"%3a", raw, re.I):  # a link percent-encoded as a whole
        raw = unquote(raw)
    out: list[PlannedPop] = []
    bad: list[str] = []
    items = [it for it in raw.split(";") if it.strip()]
    for item in items:
        pid, sep, rest = item.partition(":")
        fields = rest.split(",")
        try:
            if not sep or len(fields) < 2 or len(fields) > 4:
                raise ValueError("expected ID:lat,lon[,name[,gbps]]")
            pop = PlannedPop(
                id=unquote(pid), lat=_parse_number(unquote(fields[0]).strip()),
                lon=_parse_number(unquote(fields[1]).strip()),
                name=unquote(fields[2].replace("+", " ")) if len(fields) > 2 else "",
                capacity_gbps=(_parse_number(unquote(fields[3]).strip())
                               if len(fields) > 3 and fields[3].strip() else None))
            if catalog_ids is not None and pop.id in catalog_ids:
                raise ValueError(f"{pop.id} is a catalog access point id")
            if any(p.id == pop.id for p in out):
                raise ValueError(f"{pop.id} appears twice")
        except (ValueError, OverflowError) as exc:
            bad.append(f"'{_short(item)}' ({_reason(exc)})")
            continue
        out.append(pop)
        if len(out) > MAX_PLANNED:
            break
    if bad:
        warnings.append(f"ignored {len(bad)} planned access point(s): "
                        + "; ".join(bad[:_MAX_WARNINGS]))
    if len(out) > MAX_PLANNED:
        warnings.append(planned_count_message(len(items)) + f"; the first {MAX_PLANNED} were "
                        "kept")
        out = out[:MAX_PLANNED]
    return out


@dataclass(frozen=True)
class FittedQuery:
    """Result of :func:`fit_query`: the query and what had to be left out to fit."""

    query: str
    clients_kept: int
    names_kept: bool
    #: Names of planned PoPs were left out too (they had some).
    planned_names_dropped: bool = False

    def warnings(self, total_clients: int) -> list[str]:
        out = []
        if not self.names_kept and total_clients:
            out.append("client names were left out of the link to keep it short")
        if self.planned_names_dropped:
            out.append("planned access point names were left out of the link to keep it short")
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
    dropped = any(p.name for p in s.planned)
    bare = _encode(s, clients, with_names=False)
    if len(bare) <= max_chars:
        return FittedQuery(bare, len(clients), False, dropped)
    lo, hi = 0, len(clients)  # binary search the largest prefix that fits, names dropped
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if len(_encode(s, clients[:mid], with_names=False)) <= max_chars:
            lo = mid
        else:
            hi = mid - 1
    return FittedQuery(_encode(s, clients[:lo], with_names=False), lo, False, dropped)


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
    policy = DEFAULT_POLICY
    access = DEFAULT_ACCESS
    bias: tuple[tuple[str, float], ...] = ()
    seen: set[str] = set()
    extra: dict = {}
    pairs = _split_query(query, warnings)
    # Planned PoPs first: their ids are known access points for the other keys (down=JNB).
    planned: list[PlannedPop] = []
    for key, value in pairs:
        if key == "planned":
            planned = parse_planned(value, pop_ids, warnings)
    if pop_ids is not None and planned:
        pop_ids = tuple(pop_ids) + tuple(p.id for p in planned)
    for key, value in pairs:
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
            elif not ID_RE.match(text) or (origin_ids is not None and text not in origin_ids):
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
                warnings.append(f"unknown endpoint type '{_short(text)}' ignored (use "
                                f"{', '.join(ENDPOINT_TYPES)})")
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
                if not ID_RE.match(region) or (origin_ids is not None
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
            elif not ID_RE.match(text) or (client_set_ids is not None
                                            and text not in client_set_ids):
                warnings.append(f"unknown client set '{_short(text, 24)}' ignored")
            else:
                client_set = text
        elif key == "model":
            model = _parse_model(value, warnings)
        elif key == "policy":
            policy = _choice(value, POLICIES, DEFAULT_POLICY, "routing policy", "", warnings)
        elif key == "access":
            access = _choice(value, ACCESS_CHOICES, DEFAULT_ACCESS, "client access type",
                             "; end users are assumed", warnings)
        elif key == "bias":
            bias = _parse_bias(value, pop_ids, warnings)
        elif key in _CAPACITY_KEYS:
            _decode_capacity_key(key, value, extra, warnings, pop_ids)
        elif key == "ip":  # located by the page (services.ipclients): it needs the database
            pass
        elif key == "planned":
            pass  # read above
        elif key == "view":  # the tab the link opens: the page's business, not the scenario's
            text = unquote(value).strip().lower()
            if text not in VIEWS:
                warnings.append(f"unknown view '{_short(text, 24)}' ignored (use "
                                + ", ".join(VIEWS) + ")")
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
                        model=model, policy=policy, access=access, bias=bias,
                        planned=tuple(planned), **extra)
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
        if not ID_RE.match(pid) or (pop_ids is not None and pid not in pop_ids):
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


def _parse_bias(raw: str, pop_ids: Sequence[str] | None, warnings: list[str]
                ) -> tuple[tuple[str, float], ...]:
    """``POP:ms,POP:ms`` -> the canonical bias; a bad piece (not POP:ms, a value outside the
    bounds, an access point the catalog lacks) is dropped with one warning naming them; at
    most :data:`dashboard.domain.bias.MAX_ENTRIES` pieces are read. The last value of a PoP
    named twice wins."""
    out: dict[str, float] = {}
    bad: list[str] = []
    pieces = [p for p in unquote(raw).split(",") if p.strip()]
    for piece in pieces[:bias_core.MAX_ENTRIES]:
        try:
            ((pid, ms),) = bias_core.parse_text(piece, pop_ids) or ((piece.partition(":")[0]
                                                                   .strip().upper(), 0.0),)
        except ValueError as exc:
            bad.append(f"'{_short(piece, 24)}' ({_short(str(exc), 80)})")
            continue
        out[pid] = ms
    if bad:
        warnings.append(f"ignored bias value(s) {'; '.join(bad[:_MAX_WARNINGS])} (use POP:ms "
                        f"with a known access point, ms in {bias_core.MIN_MS:+.0f}.."
                        f"{bias_core.MAX_MS:+.0f})")
    if len(pieces) > bias_core.MAX_ENTRIES:
        warnings.append(f"the link's bias names {len(pieces):,} access points; only the first "
                        f"{bias_core.MAX_ENTRIES} were read")
    return bias_core.canonical(out)


def _parse_mappings(raw: str, pop_ids: Sequence[str] | None, origin_ids: Sequence[str] | None,
                    warnings: list[str]) -> list[tuple[str, tuple[str, ...]]]:
    """``region:POP,POP;region:POP`` -> [(region, (pops...))]; bad pieces dropped with warnings.

    Rule violations between endpoints (two in one region, a PoP mapped twice, Normal endpoints
    with an ALB/NLB) are left to :meth:`Scenario.sanitized`, which names them. A Normal endpoint
    without access points (``region:``) is valid.
    """
    out: list[tuple[str, tuple[str, ...]]] = []
    for item in unquote(raw).split(";"):
        if not item.strip():
            continue
        region, sep, pops_text = item.partition(":")
        region = region.strip()
        if not sep or not ID_RE.match(region) or (origin_ids is not None
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


# -- capacity planning and support keys (observed PoPs, capacities, demand) -----------------------

_CAPACITY_KEYS = ("observed", "capacity", "demand", "instance", "spill", "cost")


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
    if s.instance_mbps is not None:
        parts.append(f"instance={s.instance_mbps:.6g}")
    if s.spill_whatif:
        parts.append("spill=on")
    if s.cost:
        parts.append("cost=" + ",".join(f"{k}:{v:.6g}" for k, v in s.cost))
    return parts


def _known_pop(text: str, pop_ids: Sequence[str] | None) -> str:
    """An access point id (case-insensitive) the catalog has; ``ValueError`` otherwise."""
    pid = check_pop_id(text, "access point")
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
                g = check_gbps(gbps.strip(), "capacity")
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
    elif key == "instance":
        try:
            extra["instance_mbps"] = check_instance_mbps(unquote(value).strip())
        except ValueError as exc:
            warnings.append(f"instance: {exc}; the default of 1,000 Mbps was used")
    elif key == "cost":
        items = []
        for item in unquote(value).split(","):
            if not item.strip():
                continue
            k, _, v = item.partition(":")
            try:
                items.append((k.strip().lower(), check_cost_value(k.strip().lower(), v.strip())))
            except ValueError:
                bad.append(_short(item, 16))
        extra["cost"] = items
        if bad:
            warnings.append(f"ignored malformed cost input(s) {', '.join(bad[:5])} (use "
                            "key:value, e.g. instance:10,eu:0.05,util:0.4)")
    elif key == "spill":
        text = unquote(value).strip().lower()
        if text in ("on", "1", "true"):
            extra["spill_whatif"] = True
        elif text not in ("off", "0", "false", ""):
            warnings.append(f"spill '{_short(text, 8)}' ignored (use on or off)")
    elif key == "demand":
        source, _, scale = unquote(value).strip().lower().partition(":")
        if source not in DEMAND_SOURCES:
            warnings.append(f"unknown demand source '{_short(source, 16)}' ignored (use "
                            f"{' or '.join(DEMAND_SOURCES)})")
            return
        extra["demand_source"], extra["demand_scale"] = source, None
        if scale.strip():
            try:
                extra["demand_scale"] = check_gbps(scale.strip(), "demand scale")
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


def _choice(value: str, choices: Sequence[str], default: str, what: str, assumed: str,
            warnings: list[str]) -> str:
    """A link value from a closed set (case-insensitive); an unknown one is ``default`` and a
    warning naming the choices."""
    text = unquote(value).strip().lower()
    if text in choices:
        return text
    warnings.append(f"unknown {what} '{_short(text, 24)}' ignored (use " + " or ".join(choices)
                    + f"{assumed})")
    return default
