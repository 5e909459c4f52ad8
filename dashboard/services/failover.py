"""The failover service: what changed since the page's last routing state, who moved, the
animation plan, and the before/after card as plain data.

Flow of one change (e.g. CDG marked down by a click on its pill or its map marker): the edit is
applied (:mod:`dashboard.services.events` → :mod:`dashboard.domain.edits`); :func:`plan_view` compares the new routing state
with the one the page showed (``prev``, the page's ``failover-prev`` store). Both routing tables
come from the memoized route-table service; the domain computes the transition and the plan of
the moving paths (:func:`dashboard.domain.failover.animation_plan`: end points and 24 eased
fractions, ~70 bytes per moving client). The browser steps the frames itself (no server round
trip per frame).

Endpoint semantics follow the provider: no automatic failover between endpoints; clients of
access points mapped to a down endpoint are unserved until the endpoint recovers or the
operator remaps.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

from dashboard.domain.frames import colvals
from dashboard.catalog import Catalog
from dashboard.domain.failover import (DEFAULT_FRAMES, Transition, animation_plan,
                                       plan_frame_arrays, transition)
from dashboard.domain.scenario import Scenario
from dashboard.domain import bias as bias_core
from dashboard.domain.policy import DEFAULT_POLICY, POLICIES
from dashboard.services.routing import scenario_route_table
from dashboard.services.text import Kpi, ms_text, signed_ms

#: Most clients whose paths are animated (the first ones in client order: for a demand set, the
#: largest cities); beyond that the rest switch without a sweep. The plan costs ~70 bytes per
#: animated client, and each browser frame projects every animated path (~5 ms per 1,000).
MAX_ANIMATED = 1_000
#: Time budget of the sweep in the browser, ms, whatever the client count (issue 17: about
#: 1-1.5 s): frames that are late are dropped, never the budget stretched.
ANIMATION_MS = 1_200
#: Fewest distinct frames the browser draws, however late it is: frame 0 (the start state, drawn
#: with the figure) and at least 20 moving frames after it (issue 17: >= 20 frames).
MIN_FRAMES = 21
#: Moved clients listed one by one in the before/after card (the table has all of them).
MAX_LISTED = 8
#: Flows ("CDG ⇒ FRA ×12") listed in the card.
MAX_FLOWS = 6


# -- routing state ----------------------------------------------------------------------------------

def clients_key(scenario: Scenario) -> str:
    """Fingerprint of the client coordinates (and client set): a transition compares the same
    clients only."""
    text = ";".join(f"{c.lat},{c.lon}" for c in scenario.clients) + f"|{scenario.client_set}"
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def routing_state(scenario: Scenario, origin_id: str) -> dict:
    """The routing-relevant part of a scenario, JSON-able (the page's ``failover-prev`` store).
    The routing policy is part of it (``policy``, only when not the default): switching it moves
    clients like a PoP going down, so the map animates the change. So is the announcement bias
    (``bias``: {id: ms}, only when there is one; :mod:`dashboard.domain.bias`)."""
    state = {"clients": clients_key(scenario), "n": len(scenario.clients), "origin": origin_id,
             "down": sorted(scenario.down), "endpoints_down": sorted(scenario.endpoints_down),
             "mappings": [[r, list(p)] for r, p in scenario.mappings]}
    if scenario.policy != DEFAULT_POLICY:
        state["policy"] = scenario.policy
    if scenario.bias:
        state["bias"] = dict(scenario.bias)
    return state


def state_bias(state: dict) -> tuple[tuple[str, float], ...]:
    """The announcement bias of a routing state, canonical (absent or malformed: none)."""
    try:
        return bias_core.canonical(state.get("bias") or {})
    except ValueError:
        return ()


def state_policy(state: dict) -> str:
    """The routing policy of a routing state (absent: the default)."""
    return state.get("policy", DEFAULT_POLICY)


def is_routing_state(value: Any) -> bool:
    """Whether ``value`` is shaped like :func:`routing_state`'s output (the store comes back from
    the browser)."""
    def texts(v: Any) -> bool:
        return isinstance(v, list) and all(isinstance(x, str) for x in v)

    return (isinstance(value, dict) and isinstance(value.get("clients"), str)
            and isinstance(value.get("origin"), str) and texts(value.get("down"))
            and texts(value.get("endpoints_down")) and isinstance(value.get("mappings"), list)
            and all(isinstance(m, list) and len(m) == 2 and isinstance(m[0], str) and texts(m[1])
                    for m in value["mappings"])
            and value.get("policy", DEFAULT_POLICY) in POLICIES
            and isinstance(value.get("bias", {}), dict))


def healthy_state(state: dict) -> dict:
    """The same routing state with every access point and endpoint up (the baseline)."""
    return {**state, "down": [], "endpoints_down": []}


def state_routes(state: dict, scenario: Scenario, catalog: Catalog) -> pd.DataFrame:
    """Routing table of ``scenario``'s clients (own, then its client set's) under a routing
    ``state``, with the scenario's latency model and client access type (before and after use
    the same parameters: switching who the clients are changes RTTs, never an access point, so
    it is not part of the routing state)."""
    routes = scenario_route_table(
        catalog, tuple((c.lat, c.lon) for c in scenario.clients), scenario.client_set,
        state["origin"], frozenset(d for d in state["down"] if d in catalog.pop_ids),
        tuple((r, tuple(p)) for r, p in state["mappings"]), frozenset(state["endpoints_down"]),
        scenario.model, state_policy(state), scenario.access,
        tuple((p, b) for p, b in state_bias(state) if p in catalog.pop_ids))
    if routes is None:
        raise ValueError("no clients")
    return routes


def describe_change(before: dict, after: dict) -> str:
    """What changed between two routing states, in words ("CDG down, FRA back up")."""
    parts = []
    b_down, a_down = set(before["down"]), set(after["down"])
    if a_down - b_down:
        parts.append(f"{', '.join(sorted(a_down - b_down))} down")
    if b_down - a_down:
        parts.append(f"{', '.join(sorted(b_down - a_down))} back up")
    b_ep, a_ep = set(before["endpoints_down"]), set(after["endpoints_down"])
    if a_ep - b_ep:
        parts.append(f"endpoint {', '.join(sorted(a_ep - b_ep))} down")
    if b_ep - a_ep:
        parts.append(f"endpoint {', '.join(sorted(b_ep - a_ep))} back up")
    if before["origin"] != after["origin"]:
        parts.append(f"default endpoint {before['origin']} → {after['origin']}")
    if before["mappings"] != after["mappings"]:
        parts.append("endpoint mapping changed")
    if state_policy(before) != state_policy(after):
        parts.append(f"routing policy {state_policy(before)} → {state_policy(after)}")
    if state_bias(before) != state_bias(after):
        parts.append("announcement bias " + (bias_core.describe(state_bias(after)) or "reset"))
    return ", ".join(parts) or "no change"


# -- the plan ----------------------------------------------------------------------------------------

@dataclass
class FailoverView:
    """The transition to show: ``frames`` (the animation plan for the browser, ``{"id",
    "clients": []}`` when nothing animates), ``state`` (the routing state for next time),
    ``before`` (routes before, or None), ``tr`` (the transition, or None), the indices of the
    animated clients and their paths' end (``moving_start``: internet lats, lons, backbone
    lats, lons at the last frame, which the figure's hidden moving layers hold), the animation
    id and the card's title."""

    frames: dict
    state: dict
    before: pd.DataFrame | None = None
    tr: Transition | None = None
    moving: list[int] = field(default_factory=list)
    moving_start: list[np.ndarray] | None = None
    animation_id: str = ""
    title: str = ""


def plan_view(scenario: Scenario, origin_id: str, routes: pd.DataFrame | None,
              prev: Any, catalog: Catalog) -> FailoverView:
    """The transition to show for ``scenario`` (routing table ``routes``), given the previous
    routing state ``prev``.

    Same clients and a different routing state: an animated transition from ``prev``. Otherwise
    (page load, clients added or removed) no animation; if anything is down, the card compares
    with the all-up baseline instead, so a shared link still shows who was moved.
    """
    state = routing_state(scenario, origin_id)
    anim_id = f"{time.time_ns():x}"
    view = FailoverView(frames={"id": anim_id, "clients": []}, state=state)
    if routes is None or not len(routes):
        return view
    if not is_routing_state(prev):  # none yet, or a store this app did not write: no "before"
        prev = None
    same_clients = bool(prev) and prev.get("clients") == state["clients"]
    if same_clients and _routing_differs(prev, state):
        before_state, view.title = prev, "Last change: " + describe_change(prev, state)
    elif state["down"] or state["endpoints_down"]:
        before_state = healthy_state(state)
        view.title = "Compared with everything up: " + describe_change(before_state, state)
    else:
        return view
    try:
        view.before = state_routes(before_state, scenario, catalog)
    except (KeyError, ValueError):  # a stale previous state: nothing to compare with
        return view
    view.tr = transition(view.before, routes)
    if before_state is prev and view.tr.moved.any():
        view.frames, view.moving, view.moving_start = _frames(view.tr, catalog, anim_id)
        view.animation_id = anim_id if view.moving else ""
    return view


def _routing_differs(a: dict, b: dict) -> bool:
    keys = ("origin", "down", "endpoints_down", "mappings")
    return (any(a.get(k) != b.get(k) for k in keys) or state_policy(a) != state_policy(b)
            or state_bias(a) != state_bias(b))


def _frames(tr: Transition, catalog: Catalog, anim_id: str
            ) -> tuple[dict, list[int], list[np.ndarray]]:
    pops, origins = catalog.positions("pops"), catalog.positions("origins")
    moved = tr.moved.copy()
    animated = np.flatnonzero(moved)[:MAX_ANIMATED]
    if len(animated) < np.count_nonzero(moved):  # (a bool mask: counted, not summed)
        moved[:] = False
        moved[animated] = True
    sub = Transition(before=tr.before, after=tr.after, moved=moved)
    # packed coordinates (int32 base64): ~53 kB and ~0.1 ms instead of ~96 kB of JSON floats
    # and ~2 ms to encode them for 1,000 moving clients (issue 16; assets/failover.js unpacks)
    fr = animation_plan(sub, pops, origins, n_frames=DEFAULT_FRAMES, packed=True)
    fr.update({"id": anim_id, "duration_ms": ANIMATION_MS, "min_frames": MIN_FRAMES})
    # The figure's moving layers hold the LAST frame, hidden (figures/map.py): the browser sweeps
    # frames 0..n-1 on its overlay and then only reveals them, so a click costs one full redraw
    # of the geo map (the response's), not two (issue 17, assets/failover.js).
    internet, backbone = plan_frame_arrays(fr, fr["n"] - 1)  # arrays: the figure's float32
    end = [internet[0], internet[1], backbone[0], backbone[1]]
    return fr, fr["clients"], end


# -- the before/after card -----------------------------------------------------------------------------

@dataclass(frozen=True)
class MovedRow:
    """One moved client in the card: name, where it entered before / after, RTTs, change."""

    client: str
    before: str
    after: str
    rtt_before: str
    rtt_after: str
    change: str
    worse: bool


@dataclass(frozen=True)
class FailoverCard:
    """The before/after card. ``empty``: nothing to compare (the card shows how to start);
    ``banners``: (level, text); ``flows``: (from, to, clients); ``more``: how many moved clients
    are not listed."""

    empty: bool
    title: str = ""
    banners: tuple[tuple[str, str], ...] = ()
    no_change: bool = False
    kpis: tuple[Kpi, ...] = ()
    flows: tuple[tuple[str, str, int], ...] = ()
    more_flows: int = 0
    rows: tuple[MovedRow, ...] = ()
    more: int = 0


def _where(pop: str, origin: str) -> str:
    if pop in ("", "no route"):
        return "no route"
    return f"{pop} → {origin}" if origin else f"{pop} (unserved)"


def _flow_ends(f: dict) -> tuple[str, str]:
    if f["from_origin"] and f["from_origin"] == f["to_origin"]:  # same origin: PoPs say it
        return f["from"], f["to"]
    return _where(f["from"], f["from_origin"]), _where(f["to"], f["to_origin"])


def failover_card(view: FailoverView, names: Sequence[str]) -> FailoverCard:
    """The card's content for ``view`` (``names``: client names in route-table order)."""
    if view.tr is None:
        return FailoverCard(empty=True)
    s = view.tr.summary()
    after = view.tr.after
    routed = colvals(after, "routed", bool)
    banners = []
    if len(after) and not routed.any():
        banners.append(("error", f"No route: every access point is down, so none of the "
                                 f"{len(after):,} clients can reach the Anycast EIP."))
    else:
        n_uns = int(np.count_nonzero(~colvals(after, "served", bool) & routed))
        if s["unserved_after"] or n_uns:
            banners.append(("warning", f"{n_uns:,} client(s) unserved: they enter at access "
                                       "points mapped to an endpoint that is down, and Anycast "
                                       "EIP does not fail over between endpoints. Remap in "
                                       "Endpoints (what-if) or bring the endpoint back."))
    if not s["moved"]:
        return FailoverCard(empty=False, title=view.title, banners=tuple(banners),
                            no_change=True)
    worst = s["worst_client"]
    worst_name = names[worst] if worst is not None and worst < len(names) else ""
    kpis = [Kpi("clients moved", f"{s['moved']:,} of {s['clients']:,}"),
            Kpi("median RTT change", signed_ms(s["median_change_ms"]),
                "after − before, over moved clients served before and after"),
            Kpi("worst RTT change", signed_ms(s["worst_change_ms"]), worst_name)]
    if s["lost_route"]:
        kpis.append(Kpi("lost service", f"{s['lost_route']:,}",
                        f"{s['no_route_after']} with no route, {s['unserved_after']} unserved"))
    if s["regained_route"]:
        kpis.append(Kpi("service restored", f"{s['regained_route']:,}"))
    flows = tuple((*_flow_ends(f), int(f["clients"])) for f in s["flows"][:MAX_FLOWS])
    # per moved client: lost service first, then the largest increase
    idx = view.tr.moved_index
    b = colvals(view.tr.before, "anycast_ms", float)[idx]
    a = colvals(after, "anycast_ms", float)[idx]
    delta = a - b
    order = np.lexsort((-np.nan_to_num(delta, nan=-1e9), np.isfinite(delta)))
    rows = []
    b_pop, b_origin = (colvals(view.tr.before, c, object) for c in ("pop_id", "origin_id"))
    a_pop, a_origin = (colvals(after, c, object) for c in ("pop_id", "origin_id"))
    for j in order[:MAX_LISTED]:
        i = int(idx[j])
        ends = _flow_ends({"from": b_pop[i], "from_origin": b_origin[i],
                           "to": a_pop[i], "to_origin": a_origin[i]})
        change = (signed_ms(delta[j]) if np.isfinite(delta[j]) else
                  "lost" if np.isfinite(b[j]) else "restored" if np.isfinite(a[j]) else "–")
        rows.append(MovedRow(names[i] if i < len(names) else f"client {i + 1}",
                             ends[0] or "no route", ends[1] or "no route", ms_text(b[j]),
                             ms_text(a[j]), change,
                             bool(not np.isfinite(a[j]) or delta[j] > 0)))
    return FailoverCard(empty=False, title=view.title, banners=tuple(banners), kpis=tuple(kpis),
                        flows=flows, more_flows=max(0, len(s["flows"]) - MAX_FLOWS),
                        rows=tuple(rows), more=max(0, len(idx) - MAX_LISTED))
