"""Widgets -> edit requests: clientside callbacks (``assets/edits.js``) that write one request
into ``ids.SCENARIO_EDIT`` per user action, so the action costs one server round trip (the scene
callback, :mod:`dashboard.callbacks.scene`) and nothing else. Plus the two widget callbacks that
are not scenario edits: the city search's options and the share link (clientside).
"""

from __future__ import annotations

from typing import Any

from dash import ALL, ClientsideFunction, Dash, Input, Output, State, no_update

from dashboard import ids
from dashboard.catalog import Catalog
from dashboard.gazetteer import Gazetteer, load_gazetteer
from dashboard.domain.ipgeo import looks_like_ip
from dashboard.services import ipclients
from dashboard.settings import Settings

EDIT = Output(ids.SCENARIO_EDIT, "data", allow_duplicate=True)


def city_options(gazetteer: Gazetteer, query: Any, limit: int = 12,
                 settings: Settings | None = None) -> list[dict]:
    """Dropdown options for a search; ``search`` repeats the query so that the dropdown's own
    client-side filter (token match on label/search) keeps every server-side match, including
    accent-insensitive ones ("sao paulo" -> "São Paulo"). A query that looks like an IP address
    gets one option: where the GeoIP database puts it, or why it cannot (value ``ip:<address>``,
    services.ipclients)."""
    if not isinstance(query, str) or not query.strip():
        return []
    if looks_like_ip(query):
        return [ipclients.search_option(query, settings or Settings())]
    out = []
    for c in gazetteer.search(query[:200], limit=limit):
        pop = (f"{c.population / 1e6:.1f} M" if c.population >= 1e6
               else f"{c.population / 1e3:.0f} k")
        out.append({"label": f"{c.label} · {pop}", "value": c.geonameid,
                    "search": f"{query[:200]} {c.label}"})
    return out


def city_points(gazetteer: Gazetteer, options: list[dict]) -> dict[str, list[float]]:
    """``{str(value): [lat, lon]}`` (degrees) of the city options: the browser draws a pending
    marker there the moment a city is picked, ~0.5-2 s before the round trip's map (issue 17:
    first visible change <= 0.3 s; assets/edits.js ``optimisticClient``). IP options (located
    on the server) get none."""
    out: dict[str, list[float]] = {}
    for o in options:
        v = o.get("value")
        if isinstance(v, int):
            try:
                c = gazetteer.by_id(v)
            except KeyError:
                continue
            out[str(v)] = [round(float(c.lat), 4), round(float(c.lon), 4)]
    return out


def _js(name: str) -> ClientsideFunction:
    return ClientsideFunction(namespace="anycastEdits", function_name=name)


def register(app: Dash, catalog: Catalog, settings: Settings) -> None:
    """Attach the widget callbacks to ``app``."""
    gazetteer = load_gazetteer()
    pills = ids.pop_toggle(ALL)  # type: ignore[arg-type]
    param = ids.model_param(ALL)  # type: ignore[arg-type]
    observed = {"type": ids.OBSERVED_POP, "client": ALL}

    def clientside(name: str, *args: Any) -> None:
        app.clientside_callback(_js(name), *args, prevent_initial_call=True)

    clientside("pill", EDIT, Input(pills, "n_clicks"))
    clientside("allPops", EDIT, Input(ids.POPS_ALL_UP, "n_clicks"),
               Input(ids.POPS_ALL_DOWN, "n_clicks"), State(pills, "id"))
    clientside("clear", EDIT, Input(ids.CLEAR_CLIENTS, "n_clicks"))
    clientside("providerLoad", EDIT, Input(ids.PROVIDER_LOAD, "n_clicks"),
               State(ids.PROVIDER_LOAD_EDIT, "data"))
    # A row or a client marker selects the client (the row highlighted, the explain picker set);
    # "Explain ›" switches to the Support tab. No click navigates by itself.
    clientside("tableCell", EDIT, Output(ids.ASSIGNMENT_TABLE, "active_cell"),
               Output(ids.ASSIGNMENT_TABLE, "selected_cells"),
               Output(ids.EXPLAIN_CLIENT, "value", allow_duplicate=True),
               Input(ids.ASSIGNMENT_TABLE, "active_cell"), State(ids.ASSIGNMENT_TABLE, "columns"))
    clientside("mapClick", EDIT, Output(ids.EXPLAIN_CLIENT, "value", allow_duplicate=True),
               Output(ids.ASSIGNMENT_TABLE, "active_cell", allow_duplicate=True),
               Output(ids.ASSIGNMENT_TABLE, "page_current"),
               Input(ids.WORLD_MAP, "clickData"), State(ids.SCENARIO, "data"),
               State(ids.MAP_LAYERS, "data"), State(pills, "id"),
               State(ids.ASSIGNMENT_TABLE, "derived_virtual_row_ids"),
               State(ids.ASSIGNMENT_TABLE, "page_size"), State(ids.ASSIGNMENT_TABLE, "columns"))
    clientside("tableColumns", Output(ids.ASSIGNMENT_TABLE, "hidden_columns"),
               Input(ids.ASSIGNMENT_TABLE, "data"))
    clientside("explainPicked", Output(ids.EXPLAIN_OPEN, "disabled"),
               Output(ids.EXPLAIN_PICKED, "children"), Input(ids.EXPLAIN_CLIENT, "value"),
               State(ids.EXPLAIN_CLIENT, "options"))
    clientside("explainOpen", Output(ids.VIEW_TABS, "value", allow_duplicate=True),
               Input(ids.EXPLAIN_OPEN, "n_clicks"))
    clientside("city", EDIT, Output(ids.CITY_SEARCH, "value"), Input(ids.CITY_SEARCH, "value"),
               State(ids.CITY_SEARCH_POINTS, "data"))
    clientside("preset", EDIT, Output(ids.PRESET, "value"), Input(ids.PRESET, "value"))
    clientside("coords", EDIT, Input(ids.COORDS_ADD, "n_clicks"),
               Input(ids.COORDS_INPUT, "n_submit"), State(ids.COORDS_INPUT, "value"))
    clientside("importFile", EDIT, Output(ids.IMPORT_UPLOAD, "contents"),
               Input(ids.IMPORT_UPLOAD, "contents"), State(ids.IMPORT_UPLOAD, "filename"))
    clientside("endpoint", EDIT, Input(ids.ENDPOINT_ADD, "n_clicks"),
               *[Input(ids.endpoint_control(kind, ALL),  # type: ignore[arg-type]
                       "value" if kind == "pops" else "n_clicks")
                 for kind in ("pops", "down", "default", "remove", "whatif", "unmap",
                              "unbind", "promote")],
               State(ids.SCENARIO, "data"), State(ids.ENDPOINT_ADD_REGION, "value"),
               State(ids.ENDPOINT_ADD_POPS, "value"))
    clientside("modelInput", EDIT, Input(param, "value"), State(param, "id"),
               State(ids.WIDGET_VALUES, "data"))
    clientside("modelReset", EDIT, Input(ids.MODEL_RESET, "n_clicks"))
    clientside("policy", EDIT, Input(ids.POLICY, "value"), State(ids.SCENARIO, "data"))
    clientside("access", EDIT, Input(ids.ACCESS, "value"), State(ids.SCENARIO, "data"))
    clientside("capacityInput", EDIT, Input(ids.DEMAND_SOURCE, "value"),
               Input(ids.DEMAND_SCALE, "value"), Input(ids.DEFAULT_CAPACITY, "value"),
               State(ids.WIDGET_VALUES, "data"))
    clientside("capacityTable", EDIT, Input(ids.POP_TABLE, "data_timestamp"),
               State(ids.POP_TABLE, "data"))
    # Planned PoPs (docs/planning.md): plan mode arms the next map click (assets/map_click.js
    # reads the button's class and writes the add-planned edit itself); the typed input, the
    # city picker and the table write requests resolved by services/planned.py.
    clientside("planMode", Output(ids.PLAN_MODE, "className"),
               Output(ids.PLAN_MODE, "children"), Input(ids.PLAN_MODE, "n_clicks"),
               State(ids.PLAN_MODE, "className"))
    clientside("plannedInput", EDIT, Input(ids.PLANNED_ADD, "n_clicks"),
               Input(ids.PLANNED_INPUT, "n_submit"), State(ids.PLANNED_INPUT, "value"))
    clientside("plannedCity", EDIT, Output(ids.PLANNED_CITY, "value"),
               Input(ids.PLANNED_CITY, "value"))
    clientside("plannedTable", EDIT, Input(ids.PLANNED_TABLE, "data_timestamp"),
               State(ids.PLANNED_TABLE, "data"))
    clientside("observe", EDIT, Input(observed, "value"), State(observed, "id"),
               State(ids.SCENARIO, "data"))
    clientside("observeTrace", EDIT, Input(ids.TRACE_APPLY, "n_clicks"),
               State(ids.TRACE_TEXT, "value"), State(ids.EXPLAIN_CLIENT, "value"))
    # The browser checks an upload's size first (assets/upload_guard.js): a file over the cap
    # becomes a notice there and is never sent (it would exceed the server's request cap and fail
    # with a 413 the page cannot show); a file under the cap becomes an ``upload`` request.
    app.clientside_callback(
        ClientsideFunction(namespace="anycast_upload", function_name="check"),
        EDIT, Output(ids.UPLOAD, "contents"),
        Input(ids.UPLOAD, "contents"), State(ids.UPLOAD, "filename"),
        State(ids.UPLOAD_LIMIT, "data"), prevent_initial_call=True)

    @app.callback(Output(ids.CITY_SEARCH, "options"), Output(ids.CITY_SEARCH_POINTS, "data"),
                  Input(ids.CITY_SEARCH, "search_value"), prevent_initial_call=True)
    def _city_options(query):
        if not query:
            return no_update, no_update
        options = city_options(gazetteer, query, settings=settings)
        return options, city_points(gazetteer, options)

    @app.callback(Output(ids.PLANNED_CITY, "options"), Input(ids.PLANNED_CITY, "search_value"),
                  prevent_initial_call=True)
    def _planned_city_options(query):
        if not query:
            return no_update
        return city_options(gazetteer, query)

    # "Copy link": built in the browser from the query the round trip last wrote (``URL.search``;
    # the ``href`` prop is never updated when a callback writes ``search``) and the tab shown;
    # "Copied" until the scenario or the tab changes.
    app.clientside_callback(_js("share"), Output(ids.SHARE_LABEL, "children"),
                            Output(ids.SHARE_LINK, "className"), Output(ids.SHARE_LINK, "title"),
                            Input(ids.SHARE_LINK, "n_clicks"), Input(ids.URL, "search"),
                            Input(ids.VIEW_TABS, "value"), prevent_initial_call=True)
