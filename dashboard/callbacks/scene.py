"""The one server round trip of a user action: event in, every changed output out.

Every user action on the scenario -- the page opened with a link, back/forward, an edit written
by a widget (``ids.SCENARIO_EDIT``: a click on an access point pill or marker, a city, a preset,
an upload, an endpoint button, a model parameter...), the origin or endpoint-type select --
reaches the server as ONE request to :func:`scene_outputs`' callback. It applies the action once
(:func:`dashboard.services.events.scenario_event`), asks each view's service for its view-model,
renders them and returns every output that changed: the map, its table and numbers, the failover
animation plan, the pills, the endpoints panel, the model panel, and the capacity or support tab
when it is the one shown. No other server callback listens to the scenario store, so nothing
chains after it; the animation and the tab switch run in the browser.

Switching tabs, the catchment toggle and the client picker of the support tab are the other
user actions (:func:`tab_outputs`): one request each, which renders the tab now shown.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from typing import Any, Sequence
from urllib.parse import urlsplit

from dash import ALL, ClientsideFunction, Dash, Input, Output, State, ctx, no_update
from dash._utils import to_json
from dash.exceptions import PreventUpdate
from flask import Response, request

from dashboard import ids
from dashboard.callbacks import patches
from dashboard.catalog import AREAS, Catalog
from dashboard.figures import capacity as capacity_figures
from dashboard.figures import capacity_story as story_figures
from dashboard.figures import cdf as cdf_figures
from dashboard.figures import map as map_figures
from dashboard.layout import capacity as capacity_layout
from dashboard.layout import capacity_story as story_layout
from dashboard.layout import map as map_layout
from dashboard.layout import model as model_layout
from dashboard.layout import planned as planned_layout
from dashboard.layout import support as support_layout
from dashboard.domain.scenario_url import view_from_query
from dashboard.latency import fitted_values
from dashboard.services import capacity, capacity_story, endpoints, events, model, support
from dashboard.services import map as map_service
from dashboard.services import planned as planned_service
from dashboard.services.scenario import Loaded, StoreRefused, load_scenario
from dashboard.settings import Settings

#: Component ids of the inputs -> trigger names of :func:`events.scenario_event`.
TRIGGERS = {ids.URL: events.URL, ids.SCENARIO_EDIT: events.EDIT, ids.ORIGIN: events.ORIGIN,
            ids.ENDPOINT_TYPE: events.ENDPOINT_TYPE}

SCENARIO_OUT = (Output(ids.SCENARIO, "data"), Output(ids.URL, "search"),
                Output(ids.ORIGIN, "value"), Output(ids.ENDPOINT_TYPE, "value"),
                Output(ids.NOTICE, "children"), Output(ids.ENDPOINT_MESSAGE, "children"),
                Output(ids.ENDPOINT_INFO, "children"), Output(ids.COORDS_INPUT, "value"),
                Output(ids.ENDPOINT_ADD_REGION, "value"), Output(ids.ENDPOINT_ADD_POPS, "value"))
MAP_OUT = (Output(ids.WORLD_MAP, "figure"), Output(ids.ASSIGNMENT_TABLE, "data"),
           Output(ids.SUMMARY, "children"), Output(ids.RTT_CDF, "figure"),
           Output(ids.CLIENT_COUNT, "children"), Output(ids.FAILOVER_FRAMES, "data"),
           Output(ids.FAILOVER_SUMMARY, "children"), Output(ids.FAILOVER_PREV, "data"),
           Output(ids.MAP_BASE, "data"), Output(ids.TABLE_BASE, "data"))
PILLS_OUT = (Output(ids.pop_toggle(ALL), "className"), Output(ids.pop_toggle(ALL), "title"),
             Output(ids.POP_STATUS_COUNT, "children"))
PANEL_OUT = (Output(ids.ENDPOINTS_LIST, "children"), Output(ids.ENDPOINT_WHATIF, "children"),
             Output(ids.MODEL_CONTROLS, "children"), Output(ids.MODEL_CUSTOM, "children"),
             Output(ids.CAPACITY_CONTROLS, "children"), Output(ids.N1_NOTE, "children"),
             Output(ids.EXPLAIN_CLIENT, "options"), Output(ids.WIDGET_VALUES, "data"))
CAPACITY_TAB_OUT = (Output(ids.CAPACITY_KPIS, "children"), Output(ids.CAPACITY_MAP, "figure"),
                    Output(ids.LOAD_BARS, "figure"), Output(ids.POP_TABLE, "data"),
                    Output(ids.COST_PANEL, "children"),
                    # the capacity story (issue 17): headline, risks, prompt; N-1 heat map
                    Output(ids.CAPACITY_STORY, "children"), Output(ids.N1_HEATMAP, "figure"))
SUPPORT_TAB_OUT = (Output(ids.EXPLAIN_BODY, "children"),)
#: The routing policy radio shows the scenario's policy (a link, back/forward, an edit).
POLICY_OUT = (Output(ids.POLICY, "value"),)
#: The clients radio shows who the scenario's clients are (a link, back/forward, an edit).
ACCESS_OUT = (Output(ids.ACCESS, "value"),)
#: A link naming a view (``view=support``, added by "Copy link") opens on that tab; the tab callback
#: then renders it from the store this same response writes.
VIEW_OUT = (Output(ids.VIEW_TABS, "value"),)
#: Planned PoPs (docs/planning.md): the gain card, the planned PoPs table, the typed input
#: (cleared after a planned PoP was added from it).
PLANNED_OUT = (Output(ids.PLANNED_GAIN, "children"), Output(ids.PLANNED_TABLE, "data"),
               Output(ids.PLANNED_INPUT, "value"))
OUTPUTS = (SCENARIO_OUT + MAP_OUT + PILLS_OUT + PANEL_OUT + CAPACITY_TAB_OUT + SUPPORT_TAB_OUT
           + POLICY_OUT + ACCESS_OUT + PLANNED_OUT + VIEW_OUT)
N_OUT = len(OUTPUTS)


@dataclass(frozen=True)
class PageState:
    """What the page shows that the round trip needs (component states, not triggers)."""

    prev: Any = None            # ids.FAILOVER_PREV: the routing state the map shows
    base: Any = None            # ids.MAP_BASE: the key of the map's compact clients layer
    tab: Any = "map"            # ids.VIEW_TABS
    catchments: Any = None      # ids.SHOW_CATCHMENTS
    explain_index: Any = None   # ids.EXPLAIN_CLIENT
    model_values: Any = None    # the latency model inputs' values and ids
    model_ids: Any = None
    demand_source: Any = None   # the capacity controls' values
    demand_scale: Any = None
    default_capacity: Any = None
    n1_result: Any = None       # ids.N1_RESULT
    table_base: Any = None      # ids.TABLE_BASE: the key of the table rows the page shows


# -- rendering one view-model per view ------------------------------------------------------------

def map_outputs(loaded: Loaded, page: PageState, catalog: Catalog) -> tuple:
    """The map tab's outputs (:data:`MAP_OUT`) for ``loaded``."""
    view = map_service.map_view(loaded, catalog, page.prev, page.base)
    kw = dict(endpoints=view.endpoints, endpoints_down=view.endpoints_down,
              moving=view.failover.moving, moving_start=view.failover.moving_start,
              landing=view.landing, observed=view.observed, mappings=view.mappings)
    if view.patch:
        fig = patches.figure_patch(
            map_figures.map_layers(catalog.pops, catalog.origins, view.origin_id, view.routes,
                                   view.names, view.down, for_patch=True,
                                   cells=patches.cells_kept(view.base_key, view.routes), **kw),
            view.failover.animation_id or "")
    else:
        fig = map_figures.map_figure(catalog.pops, catalog.origins, view.origin_id, view.routes,
                                     view.names, view.down,
                                     animation_id=view.failover.animation_id, **kw)
    frames = dict(view.failover.frames)
    if frames.get("clients"):  # which layers the browser steps (figure knowledge, added here)
        frames["traces"] = map_figures.animation_traces()
    if view.routes is None:
        cdf: Any = cdf_figures.rtt_cdf_figure([], [])
    else:
        cdf = (patches.cdf_patch(view.routes["anycast_ms"], view.routes["direct_ms"],
                                 view.weights, view.anycast) if view.patch else
               cdf_figures.rtt_cdf_figure(view.routes["anycast_ms"], view.routes["direct_ms"],
                                          view.weights))
    # The table: only the rows that changed when the server still has the rows the page shows.
    rows, rows_key = patches.table_update(view.rows, page.table_base)
    # A patched map has the clients the page shows (same base key): the count and the key
    # itself are what the page has already.
    return (fig, rows, map_layout.render_summary(view.kpis), cdf,
            no_update if view.patch else view.count, frames,
            map_layout.render_failover_card(view.card), view.failover.state,
            no_update if view.patch else view.base_key, rows_key)


def capacity_outputs(loaded: Loaded, show_catchments: Any, catalog: Catalog) -> tuple:
    """The capacity tab's outputs (:data:`CAPACITY_TAB_OUT`)."""
    page = capacity.capacity_page(loaded, catalog, bool(show_catchments))
    fig = capacity_figures.capacity_map_figure(catalog.pops, page.view.table, page.view.flows,
                                               page.markers, page.catchments)
    story = capacity_story.capacity_story(catalog, loaded.scenario, page.view)
    return (capacity_layout.render_capacity_kpis(page.kpis), fig,
            capacity_figures.load_bar_figure(page.view.table), page.rows,
            capacity_layout.render_cost(page.cost), story_layout.render_story(story),
            story_figures.n1_heatmap_figure(story.lost, story.pops, story.util_pct))


def support_outputs(loaded: Loaded, index: Any, catalog: Catalog) -> tuple:
    """The support tab's outputs (:data:`SUPPORT_TAB_OUT`)."""
    return (support_layout.render_explain(support.explain_view(loaded, index, catalog)),)


def planned_outputs(loaded: Loaded, catalog: Catalog, clear_input: bool = False) -> tuple:
    """The planned PoPs' outputs (:data:`PLANNED_OUT`); ``catalog``: the app's own (the gain
    card compares with and without the planned PoPs)."""
    return (planned_layout.render_gain_card(planned_service.gain_card(loaded, catalog)),
            planned_service.planned_rows(loaded.scenario), "" if clear_input else no_update)


def n1_note(loaded: Loaded, result: Any) -> Any:
    """The line under the N-1 table for ``loaded`` and the stored result."""
    return capacity_layout.render_n1_note(capacity.n1_note(result, loaded))


def panel_outputs(loaded: Loaded, page: PageState, catalog: Catalog,
                  previous: Loaded | None = None) -> tuple:
    """The side panels' outputs (:data:`PANEL_OUT`). ``previous``: the scenario the page showed;
    the endpoint list and the client picker (up to one option per client) are sent only when
    what they show changed."""
    ep = endpoints.endpoints_view(loaded, catalog)
    panel = model.model_panel(loaded.scenario, fitted_values(), page.model_values, page.model_ids)
    scenario = loaded.scenario
    controls = (capacity_layout.capacity_controls(scenario.demand_source, scenario.demand_scale,
                                                  scenario.default_capacity_gbps)
                if capacity.controls_stale(scenario, page.demand_source, page.demand_scale,
                                           page.default_capacity) else no_update)
    before = previous.scenario if previous is not None else None
    same_clients = before is not None and (before.clients, before.observed, before.client_set) == (
        scenario.clients, scenario.observed, scenario.client_set)
    same_endpoints = previous is not None and (
        previous.origin_id, before.mappings, before.endpoints_down) == (
        loaded.origin_id, scenario.mappings, scenario.endpoints_down)
    options: Any = (no_update if same_clients else
                    [{"label": label, "value": i} for i, label in support.client_options(scenario)])
    source, scale, default = capacity.control_values(scenario)
    shown = {"model": panel.values,
             "capacity": {"source": source, "scale": scale, "default": default}}
    return (no_update if same_endpoints else map_layout.render_endpoints(ep),
            map_layout.render_whatif(ep.whatif, ep.whatif_title),
            model_layout.render_model_controls(panel) if panel.stale else no_update,
            model_layout.render_model_note(panel.note), controls,
            n1_note(loaded, page.n1_result), options, shown)


def scene_outputs(ev: events.SceneEvent | None, page: PageState, pill_ids: Sequence[str],
                  catalog: Catalog, view: str | None = None) -> tuple:
    """Every output of the round trip (:data:`OUTPUTS`) for one event: ``no_update`` where
    nothing changed (``ev`` None: nothing at all; only notices when the scenario is unchanged).
    ``view``: the tab a link opened with names (:func:`~dashboard.domain.scenario_url.view_from_query`;
    None: the tab stays)."""
    out = _scene_outputs(ev, page, pill_ids, catalog)
    if view is None or view == page.tab:
        return out
    return out[:-1] + (view,)


def _scene_outputs(ev: events.SceneEvent | None, page: PageState, pill_ids: Sequence[str],
                   catalog: Catalog) -> tuple:
    if ev is None:
        return _unchanged((), len(pill_ids))
    scenario = ev.loaded.scenario
    base = catalog
    # Every view reads the effective catalog: the catalog's PoPs plus the planned ones.
    catalog = planned_service.effective_catalog(catalog, scenario)
    done = ev.changed and not any(level == "error" for level, _ in ev.notices)
    head = (
        ev.store if ev.changed else no_update,
        ev.url_search if ev.url_search is not None else no_update,
        ev.loaded.origin_id if ev.set_widgets else no_update,
        scenario.endpoint_type if ev.set_widgets else no_update,
        map_layout.render_notices(ev.notices),
        map_layout.render_endpoint_messages(ev.notices),
        map_layout.render_endpoint_info(endpoints.endpoint_info(
            catalog, ev.loaded.origin_id, scenario.endpoint_type)) if ev.changed else no_update,
        "" if done and ev.request_op == "coords" else no_update,
        None if done and ev.request_op == "endpoint_add" else no_update,
        [] if done and ev.request_op == "endpoint_add" else no_update,
    )
    if not ev.changed:
        out = list(_unchanged(head, len(pill_ids)))
        if any(level == "error" for level, _ in ev.notices):
            # A refused edit: the widget that sent it shows the refused value (a -5 typed in a
            # model input, an emptied endpoint mapping, "abc" in a capacity cell). Its panel is
            # drawn again from the scenario, which kept its value.
            first = len(SCENARIO_OUT) + len(MAP_OUT) + len(PILLS_OUT)
            out[first:first + len(PANEL_OUT)] = panel_outputs(ev.loaded, page, catalog)
            if page.tab == "capacity":
                first += len(PANEL_OUT)
                out[first:first + len(CAPACITY_TAB_OUT)] = capacity_outputs(
                    ev.loaded, page.catchments, catalog)
            out[OUTPUTS.index(POLICY_OUT[0])] = scenario.policy
            out[OUTPUTS.index(ACCESS_OUT[0])] = scenario.access
            # the planned PoPs table shows the scenario's values again (a refused cell edit)
            out[OUTPUTS.index(PLANNED_OUT[1])] = planned_service.planned_rows(scenario)
        return tuple(out)
    cities = catalog.pop_map("city")
    pills = map_layout.pill_looks(scenario.down, pill_ids, cities)
    tab = (capacity_outputs(ev.loaded, page.catchments, catalog) if page.tab == "capacity"
           else (no_update,) * len(CAPACITY_TAB_OUT))
    explain = (support_outputs(ev.loaded, page.explain_index, catalog)
               if page.tab == "support" else (no_update,))
    return (head + map_outputs(ev.loaded, page, catalog) + pills
            + panel_outputs(ev.loaded, page, catalog, ev.previous) + tab + explain
            + (scenario.policy, scenario.access)
            + planned_outputs(ev.loaded, base, done and ev.request_op == "planned_input")
            + (no_update,))


def _unchanged(head: tuple, n_pills: int) -> tuple:
    """``head`` followed by ``no_update`` for every other output (a list of them for each
    pattern-matching output: Dash wants one value per matched pill)."""
    out = list(head) + [no_update] * (N_OUT - len(head))
    first = len(SCENARIO_OUT) + len(MAP_OUT)
    out[first] = out[first + 1] = [no_update] * n_pills
    return tuple(out)


def tab_outputs(tab: Any, show_catchments: Any, index: Any, current: Any, catalog: Catalog,
                settings: Settings, search: Any = None) -> tuple:
    """The tab now shown, rendered (:data:`CAPACITY_TAB_OUT` + :data:`SUPPORT_TAB_OUT`); the
    others ``no_update``. A store this app did not write keeps what is shown.

    ``current`` None: the page's first round trip has not stored the scenario yet, so the tab
    is drawn from the link (``search``), as that round trip does. Dash sends a callback without
    waiting for a pending callback that writes one of its *States*: a tab clicked while a slow
    first load was in flight was drawn from the empty store ("No demand yet") and, the round
    trip having rendered the map tab it was sent from, stayed so."""
    if tab not in ("capacity", "support"):
        return (no_update,) * (len(CAPACITY_TAB_OUT) + len(SUPPORT_TAB_OUT))
    try:
        if current is None:
            ev = events.scenario_event(events.PAGE_LOAD, search, None, None, None, None,
                                       catalog, settings)
            loaded = ev.loaded if ev is not None else load_scenario(None, catalog, settings)
        else:
            loaded = load_scenario(current, catalog, settings)
    except StoreRefused:
        raise PreventUpdate from None
    catalog = planned_service.effective_catalog(catalog, loaded.scenario)
    if tab == "capacity":
        return capacity_outputs(loaded, show_catchments, catalog) + (no_update,)
    return (no_update,) * len(CAPACITY_TAB_OUT) + support_outputs(loaded, index, catalog)


def pill_order(outputs_list: Any, default: Sequence[str]) -> list[str]:
    """The access point ids of the pills the page has, in the order Dash lists them; ``default``
    when Dash gives none. The pills' ``className`` and ``title`` are the round trip's only
    pattern-matching outputs (the list-valued groups of ``outputs_list``). Ids that are not text,
    or the two groups listing different pills (only a hand-crafted request sends them; Dash
    would answer the one list of values with a 500 for the other) raise ``PreventUpdate``."""
    orders = []
    for group in outputs_list or ():
        if isinstance(group, list):
            order = [o["id"].get("pop") if isinstance(o, dict) and isinstance(o.get("id"), dict)
                     else None for o in group]
            if not all(isinstance(p, str) for p in order):
                raise PreventUpdate
            orders.append(order)
    if any(order != orders[0] for order in orders[1:]):
        raise PreventUpdate
    return orders[0] if orders else list(default)


def initial_map(catalog: Catalog, settings: Settings) -> Any:
    """The map figure the round trip draws for the page opened without a query (the access
    points and origins, nothing down, the default origin), or None when that load would not
    draw one (:func:`first_answer`'s world map)."""
    answer = first_answer(catalog, settings, ())
    return None if answer is None else answer.get((ids.WORLD_MAP, "figure"))


def first_answer(catalog: Catalog, settings: Settings, pill_ids: Sequence[str]
                 ) -> dict[tuple[Any, str], Any] | None:
    """Every value the first round trip of the page opened without a query writes, by
    ``(component id, property)`` (``pill_ids``: the access point pills, in the layout's order),
    plus what the browser-side callbacks chained on that answer would write
    (:data:`ids.FAILOVER_STATUS`: ``assets/failover.js`` answers an animation plan without
    clients with ``{id, state: "idle"}``); None when that load would not answer with plain
    values (no scenario, a patch, clients in the scenario: the default page has none).

    Served in the layout (:func:`serve_initial_map`, issue 16), so the page is drawn in the
    layout's first render with what the round trip would have sent, and that round trip,
    finding in the scenario store the scenario its link gives, answers ``no_update`` for every
    output (HTTP 204: nothing for React to render again)."""
    ev = events.scenario_event(events.PAGE_LOAD, "", None, None, None, None, catalog, settings)
    if ev is None or not ev.changed:
        return None
    out = scene_outputs(ev, PageState(), pill_ids, catalog)
    values: dict[tuple[Any, str], Any] = {}
    for output, value in zip(OUTPUTS, out):
        cid, prop = output.component_id, output.component_property
        if isinstance(cid, dict):  # the pills (ALL): one value per pill, in pill_ids' order
            if not isinstance(value, list) or len(value) != len(pill_ids):
                return None
            for pop, one in zip(pill_ids, value):
                if one is not no_update:
                    values[(_id_key({**cid, "pop": pop}), prop)] = one
        elif value is not no_update:
            values[(cid, prop)] = value
    frames = values.get((ids.FAILOVER_FRAMES, "data"))
    rows = values.get((ids.ASSIGNMENT_TABLE, "data"))
    if (not isinstance(frames, dict) or frames.get("clients") or rows != []
            or any(isinstance(v, dict) and "__dash_patch_update" in v for v in values.values())
            or any(hasattr(v, "to_plotly_json") and type(v).__name__ == "Patch"
                   for v in values.values())):
        return None
    values[(ids.FAILOVER_STATUS, "data")] = {"id": frames.get("id"), "state": "idle"}
    return values


def _id_key(cid: Any) -> Any:
    """A component id usable as a dict key (a pattern-matching id: its sorted items)."""
    return tuple(sorted(cid.items())) if isinstance(cid, dict) else cid


def with_first_answer(layout: Any, answer: dict[tuple[Any, str], Any]) -> bool:
    """Write ``answer`` (:func:`first_answer`) into the components of ``layout`` (a copy: the
    app's own layout keeps no figure) in place; False, leaving the values written so far, when
    a component it names is missing (the caller then serves the plain layout)."""
    found = {}
    for component in [layout, *layout._traverse()]:
        cid = getattr(component, "id", None)
        if cid is not None:
            found[_id_key(cid)] = component
    if any(key not in found for key, _ in answer):
        return False
    for (key, prop), value in answer.items():
        setattr(found[key], prop, value)
    return True


def opened_without_query(referrer: str | None, pathname: str = "/") -> bool:
    """Whether the page that asks for its layout (the ``Referer`` of ``/_dash-layout``: the page's
    own URL, sent in full to the same origin under our ``Referrer-Policy: same-origin``) is the
    app's page opened without a query, i.e. the default scenario. No referrer, another path or
    any query (a link, ``?view=...``) is False: those pages get the layout without a map
    figure, as before, and draw their own on the first round trip (no default map first)."""
    if not referrer:
        return False
    parts = urlsplit(referrer)
    return not parts.query and (parts.path or "/") == pathname


def serve_initial_map(app: Dash, catalog: Catalog, settings: Settings,
                      pill_ids: Sequence[str] = ()) -> None:
    """Serve the first round trip's answer (:func:`first_answer`: the map, the panels, the
    scenario store...) in the layout of a page opened without a query (issue 16). The map is
    then drawn in the layout's first render, while the first round trip is out, instead of with
    its answer (this needs ``dcc.Graph`` mounted in that render, which ``assets/lazy_warm.js``
    and ``serving.FIRST_RENDER_CHUNKS`` do -- without them React mounted the graph only with the
    answer: docs/performance.md, P3); and that round trip, finding the scenario of the link
    already in the store, answers nothing (204), so React renders nothing again: the answer used
    to re-render the map and every panel (~90-230 ms of main thread) right when the map was
    being drawn. ``pill_ids``: the access point pills in the layout's order.
    Other pages, and ``app.layout`` itself, are unchanged. The layout with the answer is built
    and serialized once per process (``dashboard.wsgi``: before gunicorn forks; ~40 KB more JSON)."""
    endpoint = app.config.routes_pathname_prefix + "_dash-layout"
    plain = app.server.view_functions.get(endpoint)
    if plain is None:
        return
    cached: list[bytes | None] = []

    def body() -> bytes | None:
        """The layout JSON with the first answer (None: serve the plain layout), built once."""
        if not cached:
            data = None
            try:
                layout = copy.deepcopy(app.get_layout())
                answer = first_answer(catalog, settings, pill_ids)
                # only over a layout that does not hold a scenario or a figure already
                if (answer is not None and getattr(layout[ids.SCENARIO], "data", None) is None
                        and getattr(layout[ids.WORLD_MAP], "figure", None) is None
                        and with_first_answer(layout, answer)):
                    data = to_json(layout).encode()
            except Exception:  # noqa: BLE001 -- an optimisation: the page works without it
                logging.getLogger(__name__).warning(
                    "the first map is not served in the layout", exc_info=True)
            cached.append(data)
        return cached[0]

    def serve_layout() -> Response:
        """The layout for the page asking (two bodies under one URL, chosen by ``Referer``).
        Dash sets no ``ETag`` or ``Last-Modified`` on the layout, so no browser revalidates one
        body against the other; ``Vary: Referer`` keeps any HTTP cache from doing so, and
        ``no-store`` keeps a cache from serving either body at all."""
        response: Response | None = None
        if opened_without_query(request.referrer, app.config.routes_pathname_prefix):
            data = body()
            if data is not None:
                response = Response(data, mimetype="application/json")
        if response is None:
            response = app.server.make_response(plain())
        response.vary.add("Referer")
        response.headers["Cache-Control"] = "no-store"
        return response

    # dashboard.wsgi builds it before gunicorn forks (--preload): no first visitor waits ~0.5 s
    app.server.extensions["anycast_initial_layout"] = body
    app.server.view_functions[endpoint] = serve_layout


def register(app: Dash, catalog: Catalog, settings: Settings) -> None:
    """Attach the round trip and the tab callback to ``app``, and serve the first map in the
    layout (:func:`serve_initial_map`)."""
    # the pills are laid out by area (see layout.map.pop_status_controls): ALL matches that order
    pills_by_area = [p for area in AREAS
                     for p in catalog.pops.loc[catalog.pops["area"] == area, "id"]]
    serve_initial_map(app, catalog, settings, pills_by_area)
    param = ids.model_param(ALL)  # type: ignore[arg-type]

    @app.callback(
        *OUTPUTS,
        Input(ids.URL, "search"), Input(ids.SCENARIO_EDIT, "data"),
        Input(ids.ORIGIN, "value"), Input(ids.ENDPOINT_TYPE, "value"),
        State(ids.SCENARIO, "data"), State(ids.FAILOVER_PREV, "data"),
        State(ids.MAP_BASE, "data"), State(ids.VIEW_TABS, "value"),
        State(ids.SHOW_CATCHMENTS, "value"), State(ids.EXPLAIN_CLIENT, "value"),
        State(param, "value"), State(param, "id"), State(ids.DEMAND_SOURCE, "value"),
        State(ids.DEMAND_SCALE, "value"), State(ids.DEFAULT_CAPACITY, "value"),
        State(ids.N1_RESULT, "data"), State(ids.TABLE_BASE, "data"),
    )
    def _scene(search, request, origin_value, endpoint_value, current, *states):
        trigger = TRIGGERS.get(ctx.triggered_id) if ctx.triggered_id else events.PAGE_LOAD
        ev = events.scenario_event(trigger, search, request, origin_value, endpoint_value,
                                   current, catalog, settings)
        # Only a page load (an empty store: Dash may name any input as the trigger of the first
        # call) or back/forward to the first entry reads the link's view: the queries the round
        # trip writes never name one, so later events leave the tab alone.
        opened = not current or trigger in (events.PAGE_LOAD, events.URL)
        view = view_from_query(search) if opened else None
        return scene_outputs(ev, PageState(*states), pill_order(ctx.outputs_list, pills_by_area),
                             catalog, view)

    # The failover animation runs in the browser: one clientside call per change, not per frame.
    app.clientside_callback(
        ClientsideFunction(namespace="anycastFailover", function_name="animate"),
        Output(ids.FAILOVER_STATUS, "data"), Input(ids.FAILOVER_FRAMES, "data"),
        prevent_initial_call=True)

    @app.callback(
        *[Output(o.component_id, o.component_property, allow_duplicate=True)
          for o in CAPACITY_TAB_OUT + SUPPORT_TAB_OUT],
        Input(ids.VIEW_TABS, "value"), Input(ids.SHOW_CATCHMENTS, "value"),
        Input(ids.EXPLAIN_CLIENT, "value"), State(ids.SCENARIO, "data"),
        State(ids.URL, "search"), prevent_initial_call=True)
    def _tab(tab, show_catchments, index, current, search):
        return tab_outputs(tab, show_catchments, index, current, catalog, settings, search)
