"""Scenario edits of the capacity and support views (applied by the scenario callback).

Kept apart from :mod:`dashboard.callbacks.scenario` so that module only delegates one line to
:func:`apply`. Every op returns the (possibly unchanged) scenario and notices; a bad value gives
an error notice and leaves the scenario as it was.
"""

from __future__ import annotations

from typing import Any

from dashboard.domain.scenario import Scenario
from dashboard.gazetteer import CLIENT_SET_SIZES

Notice = tuple[str, str]

#: ``observe``: {index, pop|None}; ``capacity``: any of {capacity: {id: gbps}, default_gbps,
#: demand_source, demand_scale}; ``replace``: {scenario: Scenario.to_dict(), source}.
OPS = ("observe", "capacity", "replace")


def apply(scenario: Scenario, request: dict[str, Any], max_clients: int
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
            return new, []
        if op == "replace":
            # counted before any client is built (ClientCountError names the cap)
            new = Scenario.from_dict(request.get("scenario") or {}, max_clients=max_clients,
                                     client_set_sizes=CLIENT_SET_SIZES)
            src = str(request.get("source") or "file")
            return new, [("info", f"Imported the scenario from {src}: {len(new.clients):,} "
                                  f"client(s), {len(new.down)} access point(s) down")]
    except (TypeError, ValueError, KeyError) as exc:
        return scenario, [("error", f"{op}: {exc}")]
    return scenario, [("error", f"unknown edit {op!r} ignored")]
