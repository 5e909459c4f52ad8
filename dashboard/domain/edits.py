"""The scenario edit reducer: one edit request in, the new scenario and what to tell the user out.

Every widget of the dashboard (and a test, or a hand-crafted request) expresses a change as an
*edit*: a JSON object ``{"op": ..., ...}``. :func:`apply_edit` is the only place that turns one into
a new :class:`~dashboard.domain.scenario.Scenario`. It never raises: a malformed request, a value
out of range or a rule of the provider that the change would break becomes an error notice and
leaves the scenario exactly as it was (the request comes from the browser: it is untrusted).

Ops (fields in brackets):

- clients: ``add`` [clients: list of {lat, lon, name, weight}, source], ``remove`` [index],
  ``clear``, ``client_set`` [key or None], ``notice`` [notices] (no change; carries messages);
- failover: ``toggle_pop`` [pop], ``set_down`` [down], ``endpoint_add`` / ``endpoint_map``
  [region, pops], ``endpoint_remove`` / ``endpoint_default`` / ``endpoint_down`` [region],
  ``endpoint_promote`` [region: the endpoint promoted when the Default is unbound];
- capacity and support: ``observe`` [index, pop], ``capacity`` [capacity: {pop: Gbps},
  default_gbps, demand_source, demand_scale, instance_mbps (null = default), spill (bool: the
  re-routing what-if), cost: {input: value or null}], ``replace`` [scenario: ``Scenario.to_dict()``];
- latency model: ``model`` [set: {name: value | None}] or [reset: true];
- routing policy: ``policy`` [policy: "geographic" | "network"] (:mod:`dashboard.domain.policy`);
- who the clients are: ``access`` [access: "end-user" | "datacenter"]
  (:mod:`dashboard.domain.access`);
- announcement what-if: ``bias`` [set: {pop: ms | null}] or [reset: true]
  (:mod:`dashboard.domain.bias`; ids the catalog lacks and values outside the bounds are refused).
- the operator's live configuration: ``provider_load`` [origin, endpoint_type, mappings:
  [[region, [pops]]], source] (:mod:`dashboard.domain.provider`): the endpoints replaced.
- planned access points (:mod:`dashboard.domain.planned`, docs/planning.md): ``add-planned``
  [lat, lon, id?, name?, capacity_gbps?] (no id: one is made from the name, else "P1"...),
  ``remove-planned`` [id], ``update-planned`` [id, name?, capacity_gbps? (null = default)].

Pure: no I/O, no web import. What the reducer needs to know of the world is passed in an
:class:`EditContext` (the access points and regions that exist, the client sets and their sizes,
the fitted latency parameters) by the service layer.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Mapping

from dashboard.domain.clients import ClientCountError, check_client_count, client_room
from dashboard.domain.access import DESCRIPTIONS as ACCESS_TEXT
from dashboard.domain import bias as bias_core
from dashboard.domain.policy import DESCRIPTIONS as POLICY_TEXT
from dashboard.domain.planned import MAX_PLANNED, PlannedPop, auto_id, planned_count_message
from dashboard.domain.scenario import Client, Scenario, clean_name

Notice = tuple[str, str]  # (level: "info" | "warning" | "error", text)

#: Most notices one edit may carry, and the longest notice text kept (characters).
MAX_NOTICES = 10
MAX_NOTICE_CHARS = 500
#: Most latency parameters one ``model`` edit may set (there are about ten tunables).
MAX_MODEL_SET = 20
#: Order in which notices are shown: the worst first.
LEVEL_ORDER = {"error": 0, "warning": 1, "info": 2}


@dataclass(frozen=True)
class EditContext:
    """What an edit is checked against (all plain data, built once by the service layer).

    ``max_clients``: the cap on a scenario's clients, a client set's counted in;
    ``default_region``: the Default endpoint's region in effect (the scenario's, else the app's);
    ``pop_ids``: the access points that exist (edits naming others are refused);
    ``client_sets``: key -> (number of clients, label) of the server-side client sets;
    ``fitted``: the fitted latency parameters (named in the notice of a ``model`` edit).
    """

    max_clients: int
    default_region: str = ""
    pop_ids: tuple[str, ...] = ()
    client_sets: Mapping[str, tuple[int, str]] = field(default_factory=dict)
    fitted: Mapping[str, float] = field(default_factory=dict)

    def set_size(self, key: str | None) -> int:
        """Number of clients of client set ``key`` (0 for none or an unknown key)."""
        return self.client_sets.get(key, (0, ""))[0] if key else 0


#: Edits of access point / endpoint state. Each maps to one Scenario method.
FAILOVER_OPS = ("toggle_pop", "set_down", "endpoint_add", "endpoint_map", "endpoint_remove",
                "endpoint_default", "endpoint_down", "endpoint_promote")
CAPACITY_OPS = ("observe", "capacity", "replace")
MODEL_OPS = ("model",)
POLICY_OPS = ("policy",)
ACCESS_OPS = ("access",)
BIAS_OPS = ("bias",)
PROVIDER_OPS = ("provider_load",)
PLANNED_OPS = ("add-planned", "remove-planned", "update-planned")
CLIENT_OPS = ("add", "remove", "clear", "client_set", "notice")
OPS = (CLIENT_OPS + FAILOVER_OPS + CAPACITY_OPS + MODEL_OPS + POLICY_OPS + ACCESS_OPS
       + BIAS_OPS + PROVIDER_OPS + PLANNED_OPS)


def apply_edit(scenario: Scenario, request: Any, ctx: EditContext
               ) -> tuple[Scenario, list[Notice]]:
    """Apply one edit request (see the module docstring); never raises."""
    if not isinstance(request, dict):
        return scenario, []
    op = request.get("op")
    notices = request_notices(request.get("notices"))
    if op in CLIENT_OPS:
        new, more = _client_edit(scenario, request, ctx)
    elif op in FAILOVER_OPS:
        new, more = _failover_edit(scenario, request, ctx)
    elif op in CAPACITY_OPS:
        new, more = _capacity_edit(scenario, request, ctx)
    elif op in MODEL_OPS:
        new, more = _model_edit(scenario, request, ctx.fitted)
    elif op in POLICY_OPS:
        new, more = _policy_edit(scenario, request)
    elif op in ACCESS_OPS:
        new, more = _access_edit(scenario, request)
    elif op in BIAS_OPS:
        new, more = _bias_edit(scenario, request, ctx)
    elif op in PROVIDER_OPS:
        new, more = _provider_edit(scenario, request, ctx)
    elif op in PLANNED_OPS:
        new, more = _planned_edit(scenario, request, ctx)
    else:
        new, more = scenario, [("error", f"unknown edit {clean_name(repr(op))[:40]} ignored")]
    return new, notices + more


def request_notices(raw: Any) -> list[Notice]:
    """The notices an edit carries (written by our own widgets and scripts, but the request is
    client data): only well-formed ones, as plain text, capped in number and length."""
    if not isinstance(raw, (list, tuple)):
        return []
    out: list[Notice] = []
    for m in raw[:MAX_NOTICES]:
        if isinstance(m, dict) and m.get("level") in LEVEL_ORDER \
                and isinstance(m.get("text"), str):
            out.append((m["level"], m["text"][:MAX_NOTICE_CHARS]))
    return out


def bounded_notices(notices: list[Notice], limit: int = MAX_NOTICES) -> list[Notice]:
    """At most ``limit`` notices (the worst first), each at most :data:`MAX_NOTICE_CHARS`
    characters, then one "and N more" line: the notice area stays small whatever the input."""
    ranked = sorted(notices, key=lambda n: LEVEL_ORDER.get(n[0], 3))
    out = [(level, text if len(text) <= MAX_NOTICE_CHARS else text[:MAX_NOTICE_CHARS - 1] + "…")
           for level, text in ranked[:limit]]
    if len(ranked) > limit:
        out.append(("warning", f"and {len(ranked) - limit:,} more message(s) not shown"))
    return out


# -- clients --------------------------------------------------------------------------------------

def _client_edit(scenario: Scenario, request: dict, ctx: EditContext
                 ) -> tuple[Scenario, list[Notice]]:
    op = request["op"]
    notices: list[Notice] = []
    if op == "add":
        new: list[Client] = []
        bad = 0
        raw_clients = request.get("clients")
        raw_clients = raw_clients if isinstance(raw_clients, list) else []
        # The cap counts the client set too; count before building: what cannot fit is not parsed.
        room = client_room(ctx.max_clients, len(scenario.clients),
                           ctx.set_size(scenario.client_set))
        for c in raw_clients[:room]:
            try:
                new.append(Client.from_dict(c))
            except (KeyError, TypeError, ValueError, OverflowError):
                bad += 1
        if bad:
            notices.append(("warning", f"{bad} malformed client(s) ignored"))
        scenario = scenario.add_clients(new)[0]
        dropped = max(0, len(raw_clients) - room)
        source = clean_name(request.get("source") or "")
        if len(new) == 1:
            notices.append(("info", f"Added {new[0].label}" + (f" ({source})" if source else "")))
        elif new:
            notices.append(("info", f"Added {len(new)} clients"
                                    + (f" ({source})" if source else "")))
        if dropped:
            in_set = ctx.set_size(scenario.client_set)
            notices.append(("warning", f"{dropped:,} client(s) not added: the limit is "
                                       f"{ctx.max_clients:,} clients per scenario"
                                       + (f", including the {in_set:,} of the client set"
                                          if in_set else "")))
    elif op == "remove":
        try:
            index = int(request.get("index"))  # type: ignore[arg-type]
        except (TypeError, ValueError, OverflowError):
            return scenario, [("error", "could not tell which client to remove")]
        if 0 <= index < len(scenario.clients):
            notices.append(("info", f"Removed {scenario.clients[index].label}"))
        scenario = scenario.remove_client(index)
    elif op == "clear":
        if scenario.clients:
            notices.append(("info", f"Cleared {len(scenario.clients)} client(s)"))
        if scenario.client_set:
            notices.append(("info", "Removed the client set"))
        scenario = scenario.clear_clients().with_client_set(None)
    elif op == "client_set":
        key = request.get("key")
        if key is not None and (not isinstance(key, str) or key not in ctx.client_sets):
            return scenario, [("error", f"unknown client set {str(key)[:40]!r}")]
        try:
            check_client_count(len(scenario.clients), ctx.max_clients, ctx.set_size(key), key)
        except ClientCountError as exc:
            return scenario, [("error", f"Not added: {exc}. Remove clients first.")]
        scenario = scenario.with_client_set(key)
        if key:
            notices.append(("info", f"Added {ctx.client_sets[key][1]}"))
    return scenario, notices


# -- access points and endpoints ----------------------------------------------------------------

def _failover_edit(scenario: Scenario, request: dict, ctx: EditContext
                   ) -> tuple[Scenario, list[Notice]]:
    """Apply one access point / endpoint edit (see :data:`FAILOVER_OPS`); a rule violation
    (``ValueError`` from the Scenario) becomes an error notice."""
    op = request.get("op")
    region = str(request.get("region") or "")
    pop_ids, default_region = ctx.pop_ids, ctx.default_region
    for key in ("down", "pops"):
        if not isinstance(request.get(key) or [], list):
            return scenario, [("error", f"{key} must be a list of access point ids; "
                                        "nothing was changed")]
    try:
        if op == "toggle_pop":
            pid = str(request.get("pop") or "")
            if pop_ids and pid not in pop_ids:
                return scenario, [("error", f"unknown access point {pid[:40]!r}")]
            new = scenario.toggle_pop(pid)
            return new, [("info", f"{pid} marked {'down' if pid in new.down else 'back up'}")]
        if op == "set_down":
            down = [str(p) for p in request.get("down") or () if not pop_ids or p in pop_ids]
            new = scenario.with_down(down)
            text = ("every access point marked down" if pop_ids and len(new.down) == len(pop_ids)
                    else "every access point back up" if not new.down
                    else f"{len(new.down)} access point(s) down")
            return new, [("info", text.capitalize())]
        pops = tuple(str(p) for p in request.get("pops") or ())
        if op == "endpoint_add":
            if not region:
                raise ValueError("choose a region for the new endpoint")
            new = scenario.add_endpoint(region, pops, default_region)
            return new, [("info", f"Normal endpoint added in {region} for "
                                  f"{', '.join(sorted(pops))}" if pops else
                                  f"Normal endpoint added in {region}, no access point mapped "
                                  "yet (it carries no traffic until you map some)")]
        if op == "endpoint_map":
            new = scenario.map_pops(region, pops, default_region)
            return new, [("info", f"{region} now serves {', '.join(sorted(pops))}" if pops else
                                  f"{region} has no access point mapped (no traffic)")]
        if op == "endpoint_remove":
            return (scenario.remove_endpoint(region, default_region),
                    [("info", f"endpoint in {region} dissociated; its access points now send "
                              "traffic to the Default endpoint")])
        if op == "endpoint_default":
            old = scenario.origin or default_region
            new = scenario.make_default(region, default_region)
            demoted = old in dict(new.mappings)
            return new, [("info", f"{region} is now the Default endpoint"
                                  + ((f" ({old} demoted to Normal, no access point mapped)"
                                      if demoted else f" ({old} dissociated)")
                                     if old != region else ""))]
        if op == "endpoint_promote":
            old = scenario.origin or default_region
            new = scenario.remove_endpoint(old, default_region, promote=region)
            others = [r for r in scenario.promotion_candidates(default_region) if r != region]
            return new, [("info", f"Default endpoint {old} unbound; {region} promoted to Default"
                                  + (f" (the provider picks at random: it could also have been "
                                     f"{', '.join(others)})" if others else ""))]
        if op == "endpoint_down":
            new = scenario.toggle_endpoint_down(region, default_region)
            return new, [("info", f"endpoint in {region} marked "
                                  f"{'down' if region in new.endpoints_down else 'back up'}")]
    except ValueError as exc:
        return scenario, [("error", f"Endpoints: {exc}. Nothing was changed.")]
    return scenario, [("error", f"unknown edit {op!r} ignored")]  # pragma: no cover


def _policy_edit(scenario: Scenario, request: dict) -> tuple[Scenario, list[Notice]]:
    """Switch the routing policy; an unknown value is an error notice, nothing changes."""
    try:
        new = scenario.with_policy(request.get("policy"))
    except ValueError as exc:
        return scenario, [("error", f"Routing: {exc}. Nothing was changed.")]
    if new.policy == scenario.policy:
        return scenario, []
    return new, [("info", f"Routing policy: {new.policy}: {POLICY_TEXT[new.policy]}")]


def _access_edit(scenario: Scenario, request: dict) -> tuple[Scenario, list[Notice]]:
    """Switch who the clients are (RTTs change, access points do not); an unknown value is an
    error notice, nothing changes."""
    try:
        new = scenario.with_access(request.get("access"))
    except ValueError as exc:
        return scenario, [("error", f"Clients: {exc}. Nothing was changed.")]
    if new.access == scenario.access:
        return scenario, []
    return new, [("info", f"Clients are {ACCESS_TEXT[new.access]}.")]


def _bias_edit(scenario: Scenario, request: dict, ctx: EditContext
               ) -> tuple[Scenario, list[Notice]]:
    """Set per-PoP announcement biases (ms; null or 0 clears one) or reset them all; a bad id,
    an access point the catalog lacks or a value outside the bounds is an error notice and
    nothing changes (:mod:`dashboard.domain.bias`)."""
    if request.get("reset") is True:
        if not scenario.bias:
            return scenario, []
        return replace_bias(scenario, ()), [("info", "Announcement bias reset: every access "
                                                     "point is preferred as announced.")]
    changes = request.get("set")
    try:
        if not isinstance(changes, dict) or len(changes) > bias_core.MAX_ENTRIES:
            raise ValueError("set must be an object of access point: ms (at most "
                             f"{bias_core.MAX_ENTRIES})")
        new = scenario.with_bias(changes)
        missing = bias_core.unknown(new.bias, ctx.pop_ids) if ctx.pop_ids else []
        if missing:
            raise ValueError(f"unknown access point {', '.join(missing[:5])}")
    except (TypeError, ValueError) as exc:
        return scenario, [("error", f"Bias: {clean_name(str(exc))[:200]}. Nothing was changed.")]
    if new.bias == scenario.bias:
        return scenario, []
    text = bias_core.describe(new.bias) or "none"
    return new, [("info", f"Announcement bias: {text} (route selection only: the RTTs are the "
                          f"real ones via the access point reached; {bias_core.DOC_REF}).")]


def replace_bias(scenario: Scenario, bias: tuple[tuple[str, float], ...]) -> Scenario:
    """``scenario`` with exactly ``bias`` (canonicalised by the scenario)."""
    return replace(scenario, bias=bias)
def _provider_edit(scenario: Scenario, request: dict, ctx: EditContext
                   ) -> tuple[Scenario, list[Notice]]:
    """Replace the endpoints (Default region, type, Normal endpoints and their access points)
    with an Anycast EIP's live configuration; clients and everything else are kept, endpoint
    outages cleared. Checked with the provider's rules (``Endpoints``): a violation is an error
    notice and nothing changes."""
    origin, etype, raw = request.get("origin"), request.get("endpoint_type"), \
        request.get("mappings")
    if not isinstance(origin, str) or not origin or not isinstance(etype, str):
        return scenario, [("error", "Provider: the load names no Default endpoint region; "
                                    "nothing was changed")]
    if not isinstance(raw, list) or len(raw) > 50 or not all(
            isinstance(m, (list, tuple)) and len(m) == 2 and isinstance(m[0], str)
            and isinstance(m[1], list) and all(isinstance(p, str) for p in m[1]) for m in raw):
        return scenario, [("error", "Provider: mappings must be [[region, [access point ids]]]; "
                                    "nothing was changed")]
    if ctx.pop_ids:
        unknown = sorted({p for _r, ps in raw for p in ps} - set(ctx.pop_ids))
        if unknown:
            return scenario, [("error", f"Provider: unknown access point(s) "
                                        f"{', '.join(u[:40] for u in unknown[:5])}; nothing "
                                        "was changed")]
    try:
        new = replace(scenario, origin=origin, mappings=tuple((r, tuple(ps)) for r, ps in raw),
                      endpoints_down=frozenset())
        new = new.with_endpoint_type(etype) if etype != new.endpoint_type else new
        new.endpoint_set(origin)
    except ValueError as exc:
        return scenario, [("error", f"Provider: {exc}. Nothing was changed.")]
    source = clean_name(str(request.get("source") or "the provider"))
    return new, [("info", f"Loaded the endpoints of {source}: Default in {origin} ({etype})"
                          + (f", {len(new.mappings)} Normal endpoint(s)" if new.mappings
                             else ""))]


# -- planned access points -----------------------------------------------------------------------

def _planned_edit(scenario: Scenario, request: dict, ctx: EditContext
                  ) -> tuple[Scenario, list[Notice]]:
    """Add, remove or change a planned access point (docs/planning.md); a bad value, a clash
    with a catalog id or the cap becomes an error notice and nothing changes."""
    op = request.get("op")
    catalog_ids = [p for p in ctx.pop_ids if p not in scenario.planned_ids]
    try:
        if op == "add-planned":
            if len(scenario.planned) >= MAX_PLANNED:
                raise ValueError(planned_count_message(len(scenario.planned) + 1)
                                 + ": remove one first")
            name = clean_name(request.get("name") or "")
            pid = request.get("id")
            if pid in (None, ""):
                pid = auto_id(name, set(ctx.pop_ids) | set(scenario.planned_ids))
            for key in ("lat", "lon"):
                if key not in request:
                    raise ValueError(f"a planned access point needs {key}")
            pop = PlannedPop(id=pid, lat=request["lat"], lon=request["lon"],  # type: ignore
                             name=name, capacity_gbps=request.get("capacity_gbps"))
            new = scenario.add_planned(pop, catalog_ids)
            return new, [("info", f"Planned access point {pop.label} added at {pop.lat:g}, "
                                  f"{pop.lon:g} (a what-if of the operator's network)")]
        pid = str(request.get("id") or "")[:24].strip().upper()
        if pid not in scenario.planned_ids:
            raise ValueError(f"no planned access point {pid!r}")
        if op == "remove-planned":
            return scenario.remove_planned(pid), [("info", f"Planned access point {pid} "
                                                           "removed")]
        changes: dict[str, Any] = {}
        if "name" in request:
            changes["name"] = clean_name(request.get("name") or "")
        if "capacity_gbps" in request:
            cap = request.get("capacity_gbps")
            changes["capacity_gbps"] = None if cap in (None, "") else cap
        if not changes:
            return scenario, []
        new = scenario.update_planned(pid, **changes)
        if new == scenario:
            return scenario, []
        pop = new.planned_pop(pid)
        cap_text = ("default capacity" if pop.capacity_gbps is None  # type: ignore[union-attr]
                    else f"{pop.capacity_gbps:g} Gbps")  # type: ignore[union-attr]
        return new, [("info", f"Planned access point {pop.label}: {cap_text}")]  # type: ignore
    except (TypeError, ValueError, OverflowError) as exc:
        return scenario, [("error", f"Planned access point: {str(exc)[:300]}. Nothing was "
                                    "changed.")]


# -- capacity and support -----------------------------------------------------------------------

def _capacity_edit(scenario: Scenario, request: dict, ctx: EditContext
                   ) -> tuple[Scenario, list[Notice]]:
    op = request.get("op")
    try:
        if op == "observe":
            index = request.get("index")
            if not isinstance(index, int) or isinstance(index, bool):
                raise ValueError(f"client index {str(index)[:20]!r} is not a whole number")
            pop = request.get("pop") or None
            new = scenario.with_observed(index, pop)
            label = f"client #{index + 1}"
            return new, [("info", f"Recorded: {label} was observed entering at {pop}" if pop
                          else f"Cleared the observed entry point of {label}")]
        if op == "capacity":
            new = scenario
            if "capacity" in request:
                caps = request["capacity"] or {}
                if not isinstance(caps, dict):
                    raise ValueError("capacity must be an object of access point: Gbps")
                # values are checked (finite, > 0, <= MAX_GBPS) by the Scenario
                new = new.with_capacity({str(k): v for k, v in caps.items()},
                                        new.default_capacity_gbps)
            if "default_gbps" in request:
                new = new.with_capacity(dict(new.capacity), request["default_gbps"])
            if "demand_source" in request or "demand_scale" in request:
                new = new.with_demand(request.get("demand_source", new.demand_source),
                                      request.get("demand_scale", new.demand_scale))
            if "instance_mbps" in request:
                new = new.with_instance(request["instance_mbps"])
            if "cost" in request:
                changes = request["cost"]
                if not isinstance(changes, dict):
                    raise ValueError("cost must be an object of input: value (or null)")
                new = new.with_cost({str(k): v for k, v in changes.items()})
            if "spill" in request:
                if not isinstance(request["spill"], bool):
                    raise ValueError("spill must be true or false")
                new = new.with_instance(new.instance_mbps, request["spill"])
            return new, []
        if op == "replace":
            # counted before any client is built (ClientCountError names the cap)
            new = Scenario.from_dict(request.get("scenario") or {}, max_clients=ctx.max_clients,
                                     client_set_sizes={k: n for k, (n, _l)
                                                       in ctx.client_sets.items()})
            src = clean_name(str(request.get("source") or "file"))
            return new, [("info", f"Imported the scenario from {src}: {len(new.clients):,} "
                                  f"client(s), {len(new.down)} access point(s) down")]
    except (TypeError, ValueError, KeyError) as exc:
        return scenario, [("error", f"{op}: {exc}")]
    return scenario, [("error", f"unknown edit {op!r} ignored")]  # pragma: no cover


# -- latency model ------------------------------------------------------------------------------

def describe_model(model: tuple[tuple[str, float], ...], fitted: Mapping[str, float]) -> str:
    """``"overhead_ms 5 (fitted 12.1), inflation_scale 1.2 (fitted 1)"``."""
    return ", ".join(f"{k} {v:g}" + (f" (fitted {fitted[k]:.3g})" if k in fitted else "")
                     for k, v in model)


def _model_edit(scenario: Scenario, request: dict, fitted: Mapping[str, float]
                ) -> tuple[Scenario, list[Notice]]:
    """``{"set": {name: value | None}}`` sets (None: removes) overrides of the tunable latency
    parameters; ``{"reset": true}`` goes back to the fitted ones. A bad name or value gives an
    error notice naming it and leaves the scenario exactly as it was."""
    if request.get("reset") is True:
        if not scenario.model:
            return scenario, []
        return scenario.with_model(()), [("info", "Latency model: back to the fitted parameters")]
    changes = request.get("set")
    if not isinstance(changes, dict) or not changes or len(changes) > MAX_MODEL_SET:
        return scenario, [("error", "Latency model: malformed edit ignored")]
    model = dict(scenario.model)
    for name, value in changes.items():
        if value is None:
            model.pop(name, None)
        else:
            model[name] = value
    try:
        new = scenario.with_model(model)
    except ValueError as exc:
        return scenario, [("error", f"Latency model: {str(exc)[:300]}. Nothing was changed.")]
    if not new.model:
        return new, [("info", "Latency model: back to the fitted parameters")]
    return new, [("info", "Latency model: custom parameters " + describe_model(new.model, fitted))]
