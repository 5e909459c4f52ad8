"""Failover: access points and endpoints down/up, the animated transition, before/after.

Flow of one change (e.g. CDG marked down by a click on its pill or its map marker):

1. the click writes one edit into ``ids.SCENARIO_EDIT``; the scenario callback applies it;
2. the results callback (:mod:`dashboard.callbacks.results`) calls :func:`plan_view` with the
   new scenario and the routing state of the previous one (``ids.FAILOVER_PREV``). Both routing
   tables come from the memoized ``routing.route_table``; the domain computes the transition and
   the plan of the moving paths (:func:`dashboard.domain.failover.animation_plan`: end points and
   24 eased fractions, ~70 bytes per moving client);
3. the map figure is sent in the animation's *start* state: the moving clients' paths are left
   out of the static path layers and drawn, at frame 0, in the two "moving" layers;
4. ``assets/failover.js`` (a clientside callback on ``ids.FAILOVER_FRAMES``) computes each frame
   from the plan (great-circle interpolation, as ``domain.failover.plan_frame``) and steps them
   with ``Plotly.restyle`` on the moving layers only -- no server round trip per frame, and the
   other layers are not touched, so nothing else flickers -- and at the end folds the final
   paths into the static layers: the figure then equals the freshly computed routing state.

Endpoint semantics follow the provider: no automatic failover between endpoints; clients of
access points mapped to a down endpoint are unserved (shown in red) until the endpoint recovers
or the operator remaps (the what-if panel computes the latency of each remap before applying it).

Handlers are plain functions of plain values so tests call them without a browser.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd
from dash import ALL, ClientsideFunction, Dash, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from dashboard import ids
from dashboard.figures import map as map_figures
from dashboard.services import routing
from dashboard.callbacks.scenario import edit, resolve_origin, scenario_from_store
from dashboard.catalog import AREAS, Catalog
from dashboard.domain.failover import (DEFAULT_FRAMES, Transition, animation_plan, plan_frame,
                                       transition)
from dashboard.domain.scenario import Scenario
from dashboard.settings import Settings

#: Most clients whose paths are animated; beyond that the rest switch without a sweep (the frame
#: payload grows with 24 frames x clients; 1 000 clients is ~1 MB of JSON).
MAX_ANIMATED = 1_000
#: Duration of the sweep in the browser, ms (24 frames: one every ~58 ms).
ANIMATION_MS = 1_400
#: Moved clients listed one by one in the before/after panel (the table has all of them).
MAX_LISTED = 8


# -- routing state ----------------------------------------------------------------------------------

def clients_key(scenario: Scenario) -> str:
    """Fingerprint of the client coordinates (and client set): a transition compares the same
    clients only."""
    text = ";".join(f"{c.lat},{c.lon}" for c in scenario.clients) + f"|{scenario.client_set}"
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def routing_state(scenario: Scenario, origin_id: str) -> dict:
    """The routing-relevant part of a scenario, JSON-able (the ``ids.FAILOVER_PREV`` store)."""
    return {"clients": clients_key(scenario), "n": len(scenario.clients), "origin": origin_id,
            "down": sorted(scenario.down), "endpoints_down": sorted(scenario.endpoints_down),
            "mappings": [[r, list(p)] for r, p in scenario.mappings]}


def state_routes(state: dict, scenario: Scenario, catalog: Catalog) -> pd.DataFrame:
    """Routing table of ``scenario``'s clients (own, then its client set's) under a routing
    ``state``, with the scenario's latency model (before and after use the same parameters)."""
    routes = routing.scenario_route_table(
        catalog, tuple((c.lat, c.lon) for c in scenario.clients), scenario.client_set,
        state["origin"], frozenset(d for d in state["down"] if d in catalog.pop_ids),
        tuple((r, tuple(p)) for r, p in state["mappings"]), frozenset(state["endpoints_down"]),
        scenario.model)
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
    return ", ".join(parts) or "no change"


# -- the plan the results callback uses ---------------------------------------------------------------

@dataclass
class FailoverView:
    """What :func:`plan_view` hands to the results callback."""

    frames: dict
    state: dict
    before: pd.DataFrame | None = None
    tr: Transition | None = None
    moving: list[int] = field(default_factory=list)
    moving_start: list[list[float | None]] | None = None
    animation_id: str = ""
    title: str = ""


def is_routing_state(value: Any) -> bool:
    """Whether ``value`` is shaped like :func:`routing_state`'s output (the ``ids.FAILOVER_PREV``
    store comes back from the browser)."""
    def texts(v: Any) -> bool:
        return isinstance(v, list) and all(isinstance(x, str) for x in v)

    return (isinstance(value, dict) and isinstance(value.get("clients"), str)
            and isinstance(value.get("origin"), str) and texts(value.get("down"))
            and texts(value.get("endpoints_down")) and isinstance(value.get("mappings"), list)
            and all(isinstance(m, list) and len(m) == 2 and isinstance(m[0], str) and texts(m[1])
                    for m in value["mappings"]))


def healthy_state(state: dict) -> dict:
    """The same routing state with every access point and endpoint up (the baseline)."""
    return {**state, "down": [], "endpoints_down": []}


def plan_view(scenario: Scenario, origin_id: str, routes: pd.DataFrame | None,
              prev: dict | None, catalog: Catalog) -> FailoverView:
    """The transition to show for ``scenario`` (routing table ``routes``), given the previous
    routing state ``prev``.

    Same clients and a different routing state: an animated transition from ``prev``. Otherwise
    (page load, clients added or removed) no animation; if anything is down, the panel compares
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
    return any(a.get(k) != b.get(k) for k in keys)


def _frames(tr: Transition, catalog: Catalog, anim_id: str
            ) -> tuple[dict, list[int], list[list[float | None]]]:
    pops = {r.id: (float(r.lat), float(r.lon)) for r in catalog.pops.itertuples()}
    origins = {r.id: (float(r.lat), float(r.lon)) for r in catalog.origins.itertuples()}
    moved = tr.moved.copy()
    animated = np.flatnonzero(moved)[:MAX_ANIMATED]
    if len(animated) < moved.sum():
        moved[:] = False
        moved[animated] = True
    sub = Transition(before=tr.before, after=tr.after, moved=moved)
    fr = animation_plan(sub, pops, origins, n_frames=DEFAULT_FRAMES)
    fr.update({
        "id": anim_id,
        "duration_ms": ANIMATION_MS,
        "traces": {name: map_figures.map_trace_index(trace) for name, trace in (
            ("internet", map_figures.LEG_INTERNET), ("backbone", map_figures.LEG_BACKBONE),
            ("moving_internet", map_figures.MOVING_INTERNET),
            ("moving_backbone", map_figures.MOVING_BACKBONE))},
    })
    internet, backbone = plan_frame(fr, 0)
    start = [internet[0], internet[1], backbone[0], backbone[1]]
    return fr, fr["clients"], start


# -- presentation ------------------------------------------------------------------------------------

def _ms(v: Any) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError, OverflowError):
        return "–"
    return "–" if not np.isfinite(f) else f"{f:.0f} ms"


def _signed(v: float | None) -> str:
    return "–" if v is None or not np.isfinite(v) else f"{v:+.0f} ms"


def _where(pop: str, origin: str) -> str:
    if pop in ("", "no route"):
        return "no route"
    return f"{pop} → {origin}" if origin else f"{pop} (unserved)"


def render_failover(view: FailoverView, names: Sequence[str], n_pops: int) -> list:
    """Children of the before/after card."""
    if view.tr is None:
        return [html.Div(className="failover-empty", children=[
            html.B("Failover"), " · mark an access point down (click it on the map or in "
            "Access points) or an endpoint down, and watch its clients move."])]
    s = view.tr.summary()
    after = view.tr.after
    head = [html.H2(view.title, className="failover-title")]
    banners = []
    if len(after) and not after["routed"].any():
        banners.append(html.Div(
            f"No route: every access point is down, so none of the {len(after):,} clients can "
            "reach the Anycast EIP.", className="failover-banner banner-error"))
    elif s["unserved_after"] or (~after["served"].to_numpy(bool) & after["routed"].to_numpy(bool)).any():
        n_uns = int((~after["served"].to_numpy(bool) & after["routed"].to_numpy(bool)).sum())
        banners.append(html.Div(
            f"{n_uns:,} client(s) unserved: they enter at access points mapped to an endpoint "
            "that is down, and Anycast EIP does not fail over between endpoints. Remap in "
            "Endpoints (what-if) or bring the endpoint back.",
            className="failover-banner banner-warning"))
    if not s["moved"]:
        return head + banners + [html.P("No client was affected by this change.",
                                        className="hint")]

    def kpi(label: str, value: str, hint: str = "") -> html.Div:
        return html.Div(className="kpi", title=hint, children=[
            html.Div(value, className="kpi-value"), html.Div(label, className="kpi-label")])

    worst_name = names[s["worst_client"]] if s["worst_client"] is not None and \
        s["worst_client"] < len(names) else ""
    kpis = [
        kpi("clients moved", f"{s['moved']:,} of {s['clients']:,}"),
        kpi("median RTT change", _signed(s["median_change_ms"]),
            "after − before, over moved clients served before and after"),
        kpi("worst RTT change", _signed(s["worst_change_ms"]), worst_name),
    ]
    if s["lost_route"]:
        kpis.append(kpi("lost service", f"{s['lost_route']:,}",
                        f"{s['no_route_after']} with no route, {s['unserved_after']} unserved"))
    if s["regained_route"]:
        kpis.append(kpi("service restored", f"{s['regained_route']:,}"))
    def flow_ends(f: dict) -> tuple[str, str]:
        if f["from_origin"] and f["from_origin"] == f["to_origin"]:  # same origin: PoPs say it
            return f["from"], f["to"]
        return _where(f["from"], f["from_origin"]), _where(f["to"], f["to_origin"])

    flows = [html.Span(className="flow", children=[
        flow_ends(f)[0], html.Span(" ⇒ ", className="flow-arrow"), flow_ends(f)[1],
        html.B(f" ×{f['clients']}")]) for f in s["flows"][:6]]
    if len(s["flows"]) > 6:
        flows.append(html.Span(f"+{len(s['flows']) - 6} more", className="flow"))
    # per moved client: lost service first, then the largest increase
    idx = view.tr.moved_index
    b = view.tr.before["anycast_ms"].to_numpy(float)[idx]
    a = after["anycast_ms"].to_numpy(float)[idx]
    delta = a - b
    order = np.lexsort((-np.nan_to_num(delta, nan=-1e9), np.isfinite(delta)))
    rows = []
    for j in order[:MAX_LISTED]:
        i = int(idx[j])
        ends = flow_ends({"from": view.tr.before["pop_id"].iloc[i],
                          "from_origin": view.tr.before["origin_id"].iloc[i],
                          "to": after["pop_id"].iloc[i], "to_origin": after["origin_id"].iloc[i]})
        rows.append(html.Tr([
            html.Td(names[i] if i < len(names) else f"client {i + 1}"),
            html.Td(ends[0] or "no route"),
            html.Td(ends[1] or "no route"),
            html.Td(_ms(b[j])), html.Td(_ms(a[j])),
            html.Td(_signed(delta[j]) if np.isfinite(delta[j]) else
                    ("lost" if np.isfinite(b[j]) else "restored" if np.isfinite(a[j]) else "–"),
                    className="delta-up" if not np.isfinite(a[j]) or delta[j] > 0 else
                    "delta-down"),
        ]))
    table = html.Table(className="moved-table", children=[
        html.Thead(html.Tr([html.Th(h) for h in ("Client", "From", "To", "RTT before",
                                                 "RTT after", "Change")])),
        html.Tbody(rows)])
    more = (html.P(f"{len(idx) - MAX_LISTED:,} more moved client(s) are highlighted in the "
                   "table below.", className="hint") if len(idx) > MAX_LISTED else None)
    return head + banners + [
        html.Div(className="failover-body", children=[
            html.Div(className="failover-left", children=[
                html.Div(kpis, className="summary failover-kpis"),
                html.Div(flows, className="flows")]),
            html.Div(className="failover-right", children=[table, more]),
        ])]


def pop_pill_looks(current: dict | None, pop_ids: Sequence[str], cities: dict[str, str]
                   ) -> tuple[list[str], list[str], str]:
    """(className per pill, title per pill, count text) in ``pop_ids`` order.

    Reads only ``down`` of the store (the pills follow every edit; parsing every client is not
    needed); a store not shaped like ``Scenario.to_dict()`` there raises ``PreventUpdate``.
    """
    if current and not isinstance(current, dict):
        raise PreventUpdate
    raw = (current or {}).get("down")
    if not isinstance(raw, (list, type(None))) or not all(isinstance(p, str) for p in raw or ()):
        raise PreventUpdate
    down = set(raw or ())
    classes = [f"pop-pill {'pop-down' if p in down else 'pop-up'}" for p in pop_ids]
    titles = [f"{p} · {cities.get(p, '')}: {'DOWN, click to bring back up' if p in down else 'up, click to mark down'}"
              for p in pop_ids]
    n_up = sum(p not in down for p in pop_ids)
    count = (f"{n_up} of {len(pop_ids)} up" if n_up else f"all {len(pop_ids)} down: no route")
    return classes, titles, count


def pill_order(outputs_list: Any, default: Sequence[str]) -> list[str]:
    """The access point ids of the pills the page has, in the order Dash lists them (the
    ``className`` and ``title`` outputs of :func:`register`'s ``_pills``); ``default`` when Dash
    gives none. Ids that are not text, or two lists that differ (only a hand-crafted request
    sends them), raise ``PreventUpdate``."""
    if not outputs_list:
        return list(default)
    classes, titles = outputs_list[0], outputs_list[1]
    order = [o["id"].get("pop") for o in classes]
    if not all(isinstance(p, str) for p in order) or \
            order != [o["id"].get("pop") for o in titles]:
        raise PreventUpdate
    return order


def pill_edit(trigger: Any, clicked: bool, pop_ids: Sequence[str]) -> dict | None:
    """A ``toggle_pop`` edit when the pill ``trigger`` (its id, ``{"type", "pop"}``) was clicked,
    else None (also for an id naming no access point: only a hand-crafted request sends one)."""
    pid = trigger.get("pop") if isinstance(trigger, dict) else None
    if not clicked or not isinstance(pid, str) or pid not in pop_ids:
        return None
    return edit("toggle_pop", pop=pid)


def click_edit(click: dict | None, pop_ids: Sequence[str]) -> dict | None:
    """A ``toggle_pop`` edit when a map click landed on an access point marker, else None."""
    try:
        point = (click or {})["points"][0]
    except (KeyError, IndexError, TypeError):
        return None
    if not isinstance(point, dict):
        return None
    pid = point.get("customdata")
    if isinstance(pid, list):  # plotly sends customdata arrays for some traces
        pid = pid[0] if pid else None
    if isinstance(pid, str) and pid in pop_ids:
        return edit("toggle_pop", pop=pid)
    return None


def endpoint_rows(current: dict | None, catalog: Catalog, settings: Settings) -> list:
    """The endpoint list: Default first, then Normal ones with their mapped access points."""
    scenario = scenario_from_store(current, catalog, settings.max_clients)
    default = resolve_origin(scenario, catalog, settings)
    scenario, _ = scenario.sanitized(default)
    names = dict(zip(catalog.origins["id"], catalog.origins["city"]))
    mapped = {p for _, pops in scenario.mappings for p in pops}
    pop_options = [{"label": f"{r.id} · {r.city}", "value": r.id} for r in catalog.pops.itertuples()]
    rows = []
    for region in scenario.associated(default):
        is_default = region == default
        is_down = region in scenario.endpoints_down
        head = [html.B(region), html.Span(f" {names.get(region, '')}", className="muted"),
                html.Span("Default" if is_default else "Normal",
                          className=f"ep-badge {'ep-default' if is_default else 'ep-normal'}")]
        if is_down:
            head.append(html.Span("DOWN", className="ep-badge ep-down"))
        buttons = [html.Button("Bring up" if is_down else "Mark down",
                               id=ids.endpoint_control("down", region), n_clicks=0,
                               className="btn btn-ghost btn-sm")]
        if not is_default:
            buttons += [
                html.Button("Make default", id=ids.endpoint_control("default", region),
                            n_clicks=0, className="btn btn-ghost btn-sm",
                            title="What-if: this endpoint becomes the Default one; the current "
                                  "Default endpoint is dissociated"),
                html.Button("✕", id=ids.endpoint_control("remove", region), n_clicks=0,
                            className="btn btn-ghost btn-sm", title="Dissociate this endpoint")]
        body: Any
        if is_default:
            n = len(catalog.pop_ids) - len(mapped)
            body = html.Div(f"serves every unmapped access point ({n} of "
                            f"{len(catalog.pop_ids)})", className="hint")
        else:
            body = dcc.Dropdown(id=ids.endpoint_control("pops", region), options=pop_options,
                                value=list(dict(scenario.mappings)[region]), multi=True,
                                clearable=False, placeholder="Map access points…",
                                className="ep-pops")
        rows.append(html.Div(className=f"endpoint-row{' is-down' if is_down else ''}", children=[
            html.Div(head, className="endpoint-head"), body,
            html.Div(buttons, className="endpoint-buttons")]))
    return rows


def endpoint_edit(trigger: Any, value: Any, current: dict | None, add_region: str | None,
                  add_pops: list | None, catalog: Catalog, settings: Settings
                  ) -> tuple[dict | Any, Any, Any]:
    """(edit request, add-form region, add-form PoPs) for a click/change in the endpoints panel.

    The add form is pre-checked with the provider's rules: a rejected endpoint leaves the form
    as typed (never lose the user's input) and says why; an accepted one clears it. Values the
    widgets cannot send (a region that is not text, access points that are not a list of ids;
    only a hand-crafted request sends them) are no edit.
    """
    if trigger is None:
        return no_update, no_update, no_update
    scenario = scenario_from_store(current, catalog, settings.max_clients)
    default = resolve_origin(scenario, catalog, settings)
    if trigger == ids.ENDPOINT_ADD:
        if not value or not (add_region is None or isinstance(add_region, str)) \
                or not _str_list(add_pops):
            return no_update, no_update, no_update
        try:
            if not add_region:
                raise ValueError("choose a region for the new endpoint")
            scenario.add_endpoint(add_region, add_pops or (), default)
        except ValueError as exc:
            return (edit("notice", notices=[{"level": "error",
                                             "text": f"Endpoints: {exc}. Nothing was changed."}]),
                    no_update, no_update)
        return edit("endpoint_add", region=add_region, pops=list(add_pops or ())), None, []
    if not isinstance(trigger, dict):
        return no_update, no_update, no_update
    kind = str(trigger.get("type", "")).removeprefix("endpoint-")
    region = trigger.get("region")
    if not isinstance(region, str):
        return no_update, no_update, no_update
    if kind == "pops":
        if not _str_list(value):
            return no_update, no_update, no_update
        if sorted(value or ()) == sorted(dict(scenario.mappings).get(region, ())):
            return no_update, no_update, no_update  # a re-render, not a user change
        return edit("endpoint_map", region=region, pops=list(value or ())), no_update, no_update
    if not value:  # a freshly rendered button (n_clicks 0), not a click
        return no_update, no_update, no_update
    op = {"down": "endpoint_down", "default": "endpoint_default", "whatif": "endpoint_default",
          "remove": "endpoint_remove", "unmap": "endpoint_remove"}.get(kind)
    if op is None:
        return no_update, no_update, no_update
    return edit(op, region=region), no_update, no_update


def _str_list(value: Any) -> bool:
    """None or a list of text (what a multi-select dropdown sends)."""
    return value is None or (isinstance(value, list) and all(isinstance(v, str) for v in value))


def whatif_rows(current: dict | None, catalog: Catalog, settings: Settings) -> list:
    """What-if remap: the latency if each origin region were the Default endpoint.

    Keeps the other Normal endpoints and the outages as they are (a region that is down stays
    down), so the numbers answer "what would remapping the default give us now".
    """
    scenario = scenario_from_store(current, catalog, settings.max_clients)
    if not scenario.clients:
        return []
    default = resolve_origin(scenario, catalog, settings)
    scenario, _ = scenario.sanitized(default)
    coords = tuple((c.lat, c.lon) for c in scenario.clients)
    weights = np.array([c.weight for c in scenario.clients], dtype=float)
    lines = []
    for region in sorted(set(scenario.endpoints_down) & set(dict(scenario.mappings))):
        # the other remap: send the down endpoint's access points to the Default endpoint
        r = routing.route_table(catalog, coords, default, frozenset(scenario.down),
                                 tuple(m for m in scenario.mappings if m[0] != region),
                                 scenario.endpoints_down - {region}, scenario.model)
        lines.append(_whatif_line(f"{region}'s PoPs → default", r, weights,
                                  ids.endpoint_control("unmap", region), "Remap"))
    for region in catalog.origin_ids:
        try:
            s = scenario.make_default(region, default)
            r = routing.route_table(catalog, coords, region, frozenset(s.down), s.mappings,
                                     s.endpoints_down, s.model)
        except (KeyError, ValueError):
            continue
        lines.append(_whatif_line(region, r, weights, ids.endpoint_control("whatif", region),
                                  "Make default", current=region == default))
    return [html.Div("What-if remap (latency if applied; the link's own clients)",
                     className="field-label"),
            html.Table(className="whatif-table", children=[
                html.Thead(html.Tr([html.Th(h) for h in ("Default in / remap", "Served",
                                                         "Median", "")])),
                html.Tbody(lines)])]


def _whatif_line(label: str, routes: pd.DataFrame, weights: np.ndarray, button_id: dict,
                 button_text: str, current: bool = False) -> html.Tr:
    ms = routes["anycast_ms"].to_numpy(float)
    ok = np.isfinite(ms) & (weights > 0)
    median = _weighted_median(ms[ok], weights[ok]) if ok.any() else None
    return html.Tr(className="is-current" if current else "", children=[
        html.Td(label if not current else f"{label} (now)", className="whatif-label"),
        html.Td(f"{int(routes['served'].sum())}/{len(routes)}"),
        html.Td(_ms(median)),
        html.Td("" if current else html.Button(button_text, id=button_id, n_clicks=0,
                                               className="btn btn-ghost btn-sm")),
    ])


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(weights[order])
    return float(values[order][min(int(np.searchsorted(cum, 0.5 * cum[-1])), len(values) - 1)])


def endpoint_messages(notice_children: list | None) -> list:
    """Endpoint rule violations from the notice area, repeated next to the endpoint controls.

    ``notice_children`` comes back from the browser as JSON (``{"props": {"children": ...}}``
    per line); lines of another shape are skipped."""
    out = []
    for child in notice_children if isinstance(notice_children, list) else ():
        props = child.get("props") if isinstance(child, dict) else None
        text = props.get("children") if isinstance(props, dict) else \
            getattr(child, "children", None)
        if isinstance(text, str) and text.startswith("Endpoints:"):
            out.append(html.Div(text.removeprefix("Endpoints: "), className="hint-error"))
    return out


# -- registration -------------------------------------------------------------------------------------

def register(app: Dash, catalog: Catalog, settings: Settings) -> None:
    """Attach the failover callbacks (the transition itself is part of the results callback)."""
    pop_ids = tuple(catalog.pop_ids)
    cities = dict(zip(catalog.pops["id"], catalog.pops["city"]))
    # the pills are laid out by area (see layout.pop_status_controls): ALL matches that order
    pills_by_area = [p for area in AREAS
                     for p in catalog.pops.loc[catalog.pops["area"] == area, "id"]]

    @app.callback(Output(ids.SCENARIO_EDIT, "data", allow_duplicate=True),
                  Input(ids.pop_toggle(ALL), "n_clicks"), prevent_initial_call=True)
    def _pill(_clicks):
        clicked = bool(ctx.triggered and ctx.triggered[0]["value"])
        return pill_edit(ctx.triggered_id, clicked, pop_ids) or no_update

    @app.callback(Output(ids.SCENARIO_EDIT, "data", allow_duplicate=True),
                  Input(ids.POPS_ALL_UP, "n_clicks"), Input(ids.POPS_ALL_DOWN, "n_clicks"),
                  prevent_initial_call=True)
    def _all(_up, _down):
        return edit("set_down", down=list(pop_ids) if ctx.triggered_id == ids.POPS_ALL_DOWN else [])

    @app.callback(Output(ids.SCENARIO_EDIT, "data", allow_duplicate=True),
                  Input(ids.WORLD_MAP, "clickData"), prevent_initial_call=True)
    def _map_click(click):
        return click_edit(click, pop_ids) or no_update

    @app.callback(Output(ids.pop_toggle(ALL), "className"), Output(ids.pop_toggle(ALL), "title"),
                  Output(ids.POP_STATUS_COUNT, "children"), Input(ids.SCENARIO, "data"))
    def _pills(current):
        order = pill_order(ctx.outputs_list, pills_by_area)
        classes, titles, count = pop_pill_looks(current, order, cities)
        return classes, titles, count

    @app.callback(Output(ids.ENDPOINTS_LIST, "children"), Input(ids.SCENARIO, "data"))
    def _endpoints(current):
        return endpoint_rows(current, catalog, settings)

    @app.callback(Output(ids.ENDPOINT_WHATIF, "children"), Input(ids.SCENARIO, "data"))
    def _whatif(current):
        return whatif_rows(current, catalog, settings)

    @app.callback(Output(ids.ENDPOINT_MESSAGE, "children"), Input(ids.NOTICE, "children"))
    def _messages(children):
        return endpoint_messages(children)

    @app.callback(
        Output(ids.SCENARIO_EDIT, "data", allow_duplicate=True),
        Output(ids.ENDPOINT_ADD_REGION, "value"), Output(ids.ENDPOINT_ADD_POPS, "value"),
        Input(ids.ENDPOINT_ADD, "n_clicks"),
        Input(ids.endpoint_control("pops", ALL), "value"),
        Input(ids.endpoint_control("down", ALL), "n_clicks"),
        Input(ids.endpoint_control("default", ALL), "n_clicks"),
        Input(ids.endpoint_control("remove", ALL), "n_clicks"),
        Input(ids.endpoint_control("whatif", ALL), "n_clicks"),
        Input(ids.endpoint_control("unmap", ALL), "n_clicks"),
        State(ids.SCENARIO, "data"), State(ids.ENDPOINT_ADD_REGION, "value"),
        State(ids.ENDPOINT_ADD_POPS, "value"), prevent_initial_call=True)
    def _endpoint(*args):
        current, add_region, add_pops = args[-3:]
        value = ctx.triggered[0]["value"] if ctx.triggered else None
        return endpoint_edit(ctx.triggered_id, value, current, add_region, add_pops, catalog,
                             settings)

    # The animation runs in the browser: one clientside call per change (not per frame).
    app.clientside_callback(
        ClientsideFunction(namespace="anycastFailover", function_name="animate"),
        Output(ids.FAILOVER_STATUS, "data"), Input(ids.FAILOVER_FRAMES, "data"),
        prevent_initial_call=True)
