"""The scenario: the URL <-> ``ids.SCENARIO`` store, and every widget that edits it.

One callback (:func:`scenario_event`) is the only writer of the scenario store, the URL query and
the notice. Input widgets (city search, coordinates, presets, CSV upload, table ✕, clear, and the
map-click script in ``assets/map_click.js``) each write one *edit* into ``ids.SCENARIO_EDIT``; the
scenario callback applies it. That keeps the callback graph acyclic (Dash rejects cycles across
callbacks) while the URL stays both an input (opening a shared link, back/forward) and an output.

Handlers are plain functions of plain values so tests call them without a browser.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import time
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from dash import ClientsideFunction, Dash, Input, Output, State, ctx, html, no_update
from dash.exceptions import PreventUpdate

from dashboard import ids
from dashboard.callbacks import edits_capacity, edits_model
from dashboard.catalog import ENDPOINT_TYPE_LABELS, Catalog
from dashboard.domain.clients import (MAX_CLIENTS, ClientCountError, check_client_count,
                                      client_room)
from dashboard.domain.scenario import Client, Scenario, clean_name
from dashboard.domain.scenario_url import bound_warnings, fit_query, from_query
from dashboard.gazetteer import (CLIENT_SET_SIZES, DEMAND_PREFIX, DEMAND_SETS, Gazetteer,
                                 load_gazetteer, preset_by_key)
from dashboard.latency import fitted_values
from dashboard.settings import Settings

from dashboard.domain.clients import ClientsError, parse_clients

Notice = tuple[str, str]  # (level: "info" | "warning" | "error", text)


# -- pure helpers ---------------------------------------------------------------------------------

def resolve_origin(scenario: Scenario, catalog: Catalog, settings: Settings) -> str:
    """The origin region in effect: the scenario's, else the configured default, else the first."""
    if scenario.origin in catalog.origin_ids:
        return scenario.origin  # type: ignore[return-value]
    if settings.default_origin in catalog.origin_ids:
        return settings.default_origin
    return catalog.origin_ids[0]


def edit(op: str, **fields: Any) -> dict:
    """An edit request for ``ids.SCENARIO_EDIT``; the nonce makes two identical edits distinct."""
    return {"op": op, "nonce": time.time_ns(), **fields}


#: Edits of access point / endpoint state (failover, issue 4). Each maps to one Scenario method;
#: a rule violation (ValueError) becomes an error notice and leaves the scenario unchanged.
FAILOVER_OPS = ("toggle_pop", "set_down", "endpoint_add", "endpoint_map", "endpoint_remove",
                "endpoint_default", "endpoint_down")


def apply_failover_edit(scenario: Scenario, request: dict, default_region: str,
                        pop_ids: tuple[str, ...] = ()) -> tuple[Scenario, list[Notice]]:
    """Apply one access point / endpoint edit (see :data:`FAILOVER_OPS`); never raises."""
    op = request.get("op")
    region = str(request.get("region") or "")
    for key in ("down", "pops"):
        if not isinstance(request.get(key) or [], list):
            return scenario, [("error", f"{key} must be a list of access point ids; "
                                        "nothing was changed")]
    try:
        if op == "toggle_pop":
            pid = str(request.get("pop") or "")
            if pop_ids and pid not in pop_ids:
                return scenario, [("error", f"unknown access point {pid!r}")]
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
            return new, [("info", f"Normal endpoint added in {region} for {', '.join(sorted(pops))}")]
        if op == "endpoint_map":
            new = scenario.map_pops(region, pops, default_region)
            return new, [("info", f"{region} now serves {', '.join(sorted(pops))}")]
        if op == "endpoint_remove":
            return (scenario.remove_endpoint(region, default_region),
                    [("info", f"endpoint in {region} dissociated; its access points now send "
                              "traffic to the Default endpoint")])
        if op == "endpoint_default":
            old = scenario.origin or default_region
            new = scenario.make_default(region, default_region)
            return new, [("info", f"{region} is now the Default endpoint"
                                  + (f" ({old} dissociated)" if old != region else ""))]
        if op == "endpoint_down":
            new = scenario.toggle_endpoint_down(region, default_region)
            return new, [("info", f"endpoint in {region} marked "
                                  f"{'down' if region in new.endpoints_down else 'back up'}")]
    except ValueError as exc:
        return scenario, [("error", f"Endpoints: {exc}. Nothing was changed.")]
    return scenario, [("error", f"unknown edit {op!r} ignored")]


def apply_edit(scenario: Scenario, request: dict | None, max_clients: int,
               default_region: str = "", pop_ids: tuple[str, ...] = ()
               ) -> tuple[Scenario, list[Notice]]:
    """Apply one edit request; never raises (a malformed request becomes an error notice).

    ``default_region``: the Default endpoint's region in effect (for endpoint edits when the
    scenario leaves it to the app); ``pop_ids``: known access points (unknown ones refused).
    """
    if not isinstance(request, dict):
        return scenario, []
    op = request.get("op")
    notices = _request_notices(request.get("notices"))
    if op == "add":
        new: list[Client] = []
        bad = 0
        raw_clients = request.get("clients")
        raw_clients = raw_clients if isinstance(raw_clients, list) else []
        # The cap counts the client set too; count before building: what cannot fit is not parsed.
        room = client_room(max_clients, len(scenario.clients),
                           CLIENT_SET_SIZES.get(scenario.client_set or "", 0))
        for c in raw_clients[:room]:
            try:
                new.append(Client.from_dict(c))
            except (KeyError, TypeError, ValueError, OverflowError):
                bad += 1
        if bad:
            notices.append(("warning", f"{bad} malformed client(s) ignored"))
        scenario = scenario.add_clients(new)[0]
        added = len(new)
        dropped = max(0, len(raw_clients) - room)
        source = clean_name(request.get("source") or "")
        if added == 1:
            c = new[0]
            notices.append(("info", f"Added {client_label(c)}"
                                    + (f" ({source})" if source else "")))
        elif added:
            notices.append(("info", f"Added {added} clients" + (f" ({source})" if source else "")))
        if dropped:
            in_set = CLIENT_SET_SIZES.get(scenario.client_set or "", 0)
            notices.append(("warning", f"{dropped:,} client(s) not added: the limit is "
                                       f"{max_clients:,} clients per scenario"
                                       + (f", including the {in_set:,} of the client set"
                                          if in_set else "")))
    elif op == "remove":
        try:
            index = int(request.get("index"))  # type: ignore[arg-type]
        except (TypeError, ValueError, OverflowError):
            return scenario, [("error", "could not tell which client to remove")]
        if 0 <= index < len(scenario.clients):
            notices.append(("info", f"Removed {client_label(scenario.clients[index])}"))
        scenario = scenario.remove_client(index)
    elif op == "clear":
        if scenario.clients:
            notices.append(("info", f"Cleared {len(scenario.clients)} client(s)"))
        if scenario.client_set:
            notices.append(("info", "Removed the client set"))
        scenario = scenario.clear_clients().with_client_set(None)
    elif op == "client_set":
        key = request.get("key")
        if key is not None and (not isinstance(key, str) or key not in DEMAND_SETS):
            return scenario, notices + [("error", f"unknown client set {str(key)[:40]!r}")]
        try:
            check_client_count(len(scenario.clients), max_clients,
                               CLIENT_SET_SIZES.get(key, 0) if key else 0, key)
        except ClientCountError as exc:
            return scenario, notices + [("error", f"Not added: {exc}. Remove clients first.")]
        scenario = scenario.with_client_set(key)
        if key:
            notices.append(("info", f"Added {DEMAND_SETS[key][1]}"))
    elif op in FAILOVER_OPS:
        scenario, more = apply_failover_edit(scenario, request, default_region, pop_ids)
        notices += more
    elif op in edits_capacity.OPS:  # capacity planning and support views
        scenario, more = edits_capacity.apply(scenario, request, max_clients)
        notices += more
    elif op in edits_model.OPS:  # advanced: latency model parameters
        scenario, more = edits_model.apply(scenario, request, fitted_values())
        notices += more
    elif op != "notice":
        notices.append(("error", f"unknown edit {clean_name(repr(op))[:40]} ignored"))
    return scenario, notices


#: Most notices one edit may carry, and the longest notice text kept (characters).
MAX_NOTICES = 10
MAX_NOTICE_CHARS = 500


def _request_notices(raw: Any) -> list[Notice]:
    """The notices an edit carries (written by our own widgets and scripts, but the request is
    client data): only well-formed ones, as plain text, capped in number and length."""
    if not isinstance(raw, (list, tuple)):
        return []
    out: list[Notice] = []
    for m in raw[:MAX_NOTICES]:
        if isinstance(m, dict) and m.get("level") in ("info", "warning", "error") \
                and isinstance(m.get("text"), str):
            out.append((m["level"], m["text"][:MAX_NOTICE_CHARS]))
    return out


def load_store(current: Any, max_clients: int = MAX_CLIENTS) -> Scenario:
    """The scenario in the store ``current`` (``None``/``{}``: the empty one), with the client
    cap applied: own clients plus the client set's at most ``max_clients``, counted before any
    client is built. ``ValueError`` (:class:`ClientCountError` when over the cap) otherwise."""
    try:
        return Scenario.from_dict(current, max_clients=max_clients,
                                  client_set_sizes=CLIENT_SET_SIZES) if current else Scenario()
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(str(exc)) from None


def scenario_from_store(current: dict | None, catalog: Catalog | None = None,
                        max_clients: int = MAX_CLIENTS) -> Scenario:
    """The scenario in the store ``current``; a store not written by this app (a hand-crafted
    callback request: the store lives in the browser) raises ``PreventUpdate``, so what is
    shown stays as it is instead of a 500. That includes a store over the client cap
    (``max_clients``, default the ceiling :data:`MAX_CLIENTS` that ``ANYCAST_MAX_CLIENTS`` cannot
    exceed): it is refused before any client is built or routed, so a crafted 310,000-client
    store costs its JSON parse, not a worker timeout. (The scenario callback, the store's only
    writer, says so in the notice area and reloads the scenario from the link.)

    With ``catalog``, access points and regions it does not have are left out
    (:meth:`Scenario.known`), as links do: the scenario callback never writes them, but a store
    can outlive a catalog change, and routing needs known ids.
    """
    try:
        scenario = load_store(current, max_clients)
    except ValueError:
        raise PreventUpdate from None
    return scenario if catalog is None else scenario.known(catalog.pop_ids, catalog.origin_ids)


def json_number(v: Any, nd: int | None = None) -> float | None:
    """A number for a JSON payload (tables, stores): NaN, inf, non-numbers and integers too big
    for a float -> None (an empty cell); rounded to ``nd`` places when given."""
    try:
        f = float(v)
    except (TypeError, ValueError, OverflowError):  # JSON integers can exceed a float
        return None
    if not math.isfinite(f):
        return None
    return f if nd is None else round(f, nd)


def file_stamp() -> str:
    """UTC minute stamp for download file names (``20261129-1022``)."""
    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M")


def client_label(c: Client) -> str:
    """What the UI calls a client: its name, else its coordinates."""
    if c.name:
        return c.name
    return f"{abs(c.lat):.2f}°{'N' if c.lat >= 0 else 'S'} {abs(c.lon):.2f}°{'E' if c.lon >= 0 else 'W'}"


_NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)"
_COORD_RE = re.compile(rf"^\s*({_NUM})\s*°?\s*([NSns])?\s*[,;\s]\s*({_NUM})\s*°?\s*([EWew])?\s*$")


def parse_coordinates(text: str | None) -> tuple[float, float]:
    """``'48.8566, 2.3522'`` (or ``'48.8566 2.3522'``, ``'33.87 S, 151.21 E'``) -> (lat, lon).

    Decimal degrees, latitude first. Raises ``ValueError`` with a message for the user.
    """
    raw = text.strip() if isinstance(text, str) else ""
    if not raw:
        raise ValueError("type a latitude and a longitude, e.g. 48.8566, 2.3522")
    m = _COORD_RE.match(raw)
    if not m:
        raise ValueError(f"'{raw[:40]}' is not 'lat, lon' in decimal degrees (e.g. 48.8566, 2.3522)")
    lat, ns, lon, ew = float(m.group(1)), m.group(2), float(m.group(3)), m.group(4)
    if ns and ns.upper() == "S":
        lat = -abs(lat)
    if ew and ew.upper() == "W":
        lon = -abs(lon)
    if not -90 <= lat <= 90:
        raise ValueError(f"latitude {lat:g} is out of range: it must be between -90 and 90 degrees")
    if not -180 <= lon <= 180:
        raise ValueError(f"longitude {lon:g} is out of range: it must be between -180 and 180 "
                         "degrees")
    return lat, lon


def parse_upload(contents: str | None, filename: str | None, settings: Settings,
                 room: int) -> tuple[list[dict], list[Notice]]:
    """Decode a ``dcc.Upload`` data URL and parse the CSV; errors become notices (nothing raised).

    ``room``: how many more clients the scenario can take. Size is checked before decoding.
    """
    name = clean_name(filename) if isinstance(filename, str) and filename else "upload"
    if not isinstance(contents, str) or "," not in contents:
        return [], [("error", f"{name}: empty upload")]
    b64 = contents.split(",", 1)[1]
    if len(b64) * 3 // 4 > settings.max_upload_bytes + 3:
        return [], [("error", f"{name} is larger than the {settings.max_upload_bytes:,}-byte "
                              "upload limit; nothing was added")]
    try:
        data = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        return [], [("error", f"{name}: the upload could not be decoded")]
    max_rows = max(1, min(room, settings.max_clients))
    if room <= 0:
        return [], [("error", f"the scenario already has the maximum of {settings.max_clients:,} "
                              "clients (counting a client set); nothing was added")]
    try:
        df = parse_clients(data, max_rows=max_rows, max_bytes=settings.max_upload_bytes)
    except ClientsError as exc:
        return [], [("error", f"{name}: {exc}. Nothing was added; your clients are unchanged.")]
    rows = [{"lat": float(r.lat), "lon": float(r.lon), "name": str(r.name or ""),
             "weight": float(r.weight)} for r in df.itertuples()]
    return rows, []


def upload_edit(accepted: Any, current: Any, settings: Settings) -> Any:
    """The edit for an upload the browser accepted (``{contents, filename}``): ``add`` with its
    clients, or a notice. The room left counts the store's clients *and* its client set's, so
    the cap binds as it does for every other way clients enter."""
    if not isinstance(accepted, dict) or accepted.get("contents") is None:
        return no_update
    contents, filename = accepted.get("contents"), accepted.get("filename")
    clients = current.get("clients") if isinstance(current, dict) else None
    have = len(clients) if isinstance(clients, list) else 0
    cset = current.get("client_set") if isinstance(current, dict) else None
    room = client_room(settings.max_clients, have,
                       CLIENT_SET_SIZES.get(cset, 0) if isinstance(cset, str) else 0)
    rows, notices = parse_upload(contents, filename, settings, room)
    if notices:
        return edit("notice", notices=[{"level": l, "text": t} for l, t in notices])
    return edit("add", source=clean_name(filename) if isinstance(filename, str) else "upload",
                clients=rows)


def endpoint_info(catalog: Catalog, origin_id: str | None, endpoint_type: str | None) -> list:
    """What the chosen origin and endpoint type imply (the provider's constraints)."""
    if not isinstance(origin_id, str) or origin_id not in catalog.origin_ids:
        return []
    origin = catalog.origin(origin_id)
    etype = (endpoint_type if isinstance(endpoint_type, str)
             and endpoint_type in ENDPOINT_TYPE_LABELS else "CLB")
    lines: list[Any] = [html.Div([html.B(ENDPOINT_TYPE_LABELS.get(etype, etype)),
                                  f" in {origin['name']}"])]
    if etype not in origin["endpoint_types"]:
        lines.append(html.Div(f"{etype} endpoints are not offered in {origin['id']}.",
                              className="hint-warning"))
    lines.append(html.Div("Constraints: the CLB must be in a VPC; one endpoint per region; "
                          "no endpoints in the Chinese mainland." if etype == "CLB" else
                          "Constraints: the ENI must be in a VPC of this region; one endpoint "
                          "per region; no endpoints in the Chinese mainland."))
    return lines


def render_notices(notices: list[Notice]) -> list:
    """Notice area children: one line per message, the worst level first."""
    order = {"error": 0, "warning": 1, "info": 2}
    out = []
    for level, text in sorted(notices, key=lambda n: order.get(n[0], 3)):
        out.append(html.Div(text, className=f"notice-item notice-{level}"))
    return out


# -- the scenario callback ------------------------------------------------------------------------

def scenario_event(trigger: str | None, search: str | None, request: dict | None,
                   origin_value: str | None, endpoint_value: str | None, current: dict | None,
                   catalog: Catalog, settings: Settings) -> tuple:
    """Returns (store, url search, origin value, endpoint value, notice children).

    ``trigger`` is the id of the input that fired (None on the initial call = page load).
    """
    notices: list[Notice] = []
    try:
        scenario = load_store(current, settings.max_clients) if current else None
    except ClientCountError as exc:  # only a hand-crafted request writes such a store
        scenario = None
        notices.append(("error", f"The page's scenario was refused: {exc}. It was reloaded "
                                 "from the link."))
    except ValueError:
        scenario = None
    set_widgets = False
    if trigger in (None, ids.URL) or scenario is None:
        parsed, warnings = from_query(search if isinstance(search, str) else "",
                                      pop_ids=catalog.pop_ids,
                                      origin_ids=catalog.origin_ids,
                                      max_clients=settings.max_clients,
                                      client_set_ids=tuple(DEMAND_SETS),
                                      client_set_sizes=CLIENT_SET_SIZES)
        parsed, more = parsed.sanitized(resolve_origin(parsed, catalog, settings))
        warnings = bound_warnings(warnings + more, MAX_NOTICES, "in the link")
        if scenario is not None and parsed == scenario:
            return (no_update,) * 5
        scenario = parsed
        notices += [("warning", f"Link: {w}") for w in warnings]
        set_widgets = True
    elif trigger == ids.ORIGIN:
        current_origin = resolve_origin(scenario, catalog, settings)
        if origin_value in catalog.origin_ids and origin_value != current_origin:
            # The origin is the Default endpoint's region: choosing another one is "make it
            # the default" (a Normal endpoint there is absorbed; the old default dissociated).
            try:
                scenario = scenario.make_default(origin_value, current_origin)
            except ValueError as exc:  # cannot happen with valid state; never crash on it
                return (no_update,) * 4 + (render_notices([("error", f"Endpoints: {exc}")]),)
            scenario = replace(scenario, endpoints_down=scenario.endpoints_down
                               & set(scenario.associated(origin_value)))
        else:
            return (no_update,) * 5
    elif trigger == ids.ENDPOINT_TYPE:
        if endpoint_value in ("CLB", "ENI") and endpoint_value != scenario.endpoint_type:
            scenario = scenario.with_endpoint_type(endpoint_value)
        else:
            return (no_update,) * 5
    elif trigger == ids.SCENARIO_EDIT:
        before = scenario
        scenario, notices = apply_edit(scenario, request, settings.max_clients,
                                       resolve_origin(scenario, catalog, settings),
                                       tuple(catalog.pop_ids))
        # Edits come from the browser: one naming ids the catalog does not have (an endpoint in
        # an unknown region, an imported or observed access point we do not run) is refused.
        unknown = [u for u in scenario.unknown_ids(catalog.pop_ids, catalog.origin_ids)
                   if u not in before.unknown_ids(catalog.pop_ids, catalog.origin_ids)]
        if unknown:
            scenario, notices = before, [("error", f"Not applied: {', '.join(unknown[:5])} "
                                                   "unknown to this dashboard. Nothing was "
                                                   "changed.")]
        # A JSON import replaces everything; an endpoint edit can change the Default region.
        set_widgets = ((scenario.origin is not None and scenario.origin != origin_value)
                       or (isinstance(request, dict) and request.get("op") == "replace"))
    fitted = fit_query(scenario)
    notices += [("warning", w) for w in fitted.warnings(len(scenario.clients))]
    new_search = "?" + fitted.query if fitted.query else ""
    url_out = new_search if new_search != (search or "") else no_update
    origin_out = resolve_origin(scenario, catalog, settings) if set_widgets else no_update
    endpoint_out = scenario.endpoint_type if set_widgets else no_update
    return (scenario.to_dict(), url_out, origin_out, endpoint_out,
            render_notices(bounded_notices(notices)))


def bounded_notices(notices: list[Notice], limit: int = MAX_NOTICES) -> list[Notice]:
    """At most ``limit`` notices (the worst first), each at most :data:`MAX_NOTICE_CHARS`
    characters, then one "and N more" line: the notice area stays small whatever the input."""
    order = {"error": 0, "warning": 1, "info": 2}
    ranked = sorted(notices, key=lambda n: order.get(n[0], 3))
    out = [(level, text if len(text) <= MAX_NOTICE_CHARS else text[:MAX_NOTICE_CHARS - 1] + "…")
           for level, text in ranked[:limit]]
    if len(ranked) > limit:
        out.append(("warning", f"and {len(ranked) - limit:,} more message(s) not shown"))
    return out


# -- input widgets ----------------------------------------------------------------------------------

def city_options(gazetteer: Gazetteer, query: str | None, limit: int = 12) -> list[dict]:
    """Dropdown options for a search; ``search`` repeats the query so that the dropdown's own
    client-side filter (token match on label/search) keeps every server-side match, including
    accent-insensitive ones ("sao paulo" -> "São Paulo")."""
    if not isinstance(query, str) or not query.strip():
        return []
    out = []
    for c in gazetteer.search(query, limit=limit):
        pop = (f"{c.population / 1e6:.1f} M" if c.population >= 1e6
               else f"{c.population / 1e3:.0f} k")
        out.append({"label": f"{c.label} · {pop}", "value": c.geonameid,
                    "search": f"{query} {c.label}"})
    return out


def city_edit(gazetteer: Gazetteer, geonameid: Any) -> dict:
    try:
        c = gazetteer.by_id(int(geonameid))
    except (KeyError, TypeError, ValueError, OverflowError):
        return edit("notice", notices=[{"level": "error", "text": "unknown city; search again"}])
    return edit("add", source="city search",
                clients=[{"lat": c.lat, "lon": c.lon, "name": c.label, "weight": 1.0}])


def preset_edit(gazetteer: Gazetteer, catalog: Catalog, key: Any) -> dict | None:
    """The edit for a preset picked in the dropdown (None: nothing picked). Its values are
    text; anything else (only a hand-crafted request sends it) is no edit either."""
    if not key or not isinstance(key, str):
        return None
    if key.startswith(DEMAND_PREFIX):  # a large set travels by name (Scenario.client_set)
        return edit("client_set", key=key[len(DEMAND_PREFIX):])
    try:
        p = preset_by_key(gazetteer, catalog, key)
    except KeyError as exc:
        return edit("notice", notices=[{"level": "error", "text": str(exc.args[0])}])
    return edit("add", source=p.label, clients=[
        {"lat": c.lat, "lon": c.lon, "name": c.label, "weight": 1.0} for c in p.cities])


def coords_edit(text: str | None) -> dict:
    try:
        lat, lon = parse_coordinates(text)
    except ValueError as exc:
        return edit("notice", notices=[{"level": "error", "text": f"Coordinates: {exc}"}])
    return edit("add", source="coordinates",
                clients=[{"lat": lat, "lon": lon, "name": "", "weight": 1.0}])


def register(app: Dash, catalog: Catalog, settings: Settings) -> None:
    """Attach the scenario callbacks to ``app``."""
    gazetteer = load_gazetteer()

    @app.callback(
        Output(ids.SCENARIO, "data"),
        Output(ids.URL, "search"),
        Output(ids.ORIGIN, "value"),
        Output(ids.ENDPOINT_TYPE, "value"),
        Output(ids.NOTICE, "children"),
        Input(ids.URL, "search"),
        Input(ids.SCENARIO_EDIT, "data"),
        Input(ids.ORIGIN, "value"),
        Input(ids.ENDPOINT_TYPE, "value"),
        State(ids.SCENARIO, "data"),
    )
    def _scenario(search, request, origin_value, endpoint_value, current):
        return scenario_event(ctx.triggered_id, search, request, origin_value, endpoint_value,
                              current, catalog, settings)

    @app.callback(Output(ids.CITY_SEARCH, "options"), Input(ids.CITY_SEARCH, "search_value"),
                  prevent_initial_call=True)
    def _city_options(query):
        if not query:
            return no_update
        return city_options(gazetteer, query)

    @app.callback(Output(ids.SCENARIO_EDIT, "data", allow_duplicate=True),
                  Output(ids.CITY_SEARCH, "value"),
                  Input(ids.CITY_SEARCH, "value"), prevent_initial_call=True)
    def _city_pick(value):
        if value is None:
            return no_update, no_update
        return city_edit(gazetteer, value), None

    @app.callback(Output(ids.SCENARIO_EDIT, "data", allow_duplicate=True),
                  Output(ids.COORDS_INPUT, "value"),
                  Input(ids.COORDS_ADD, "n_clicks"), Input(ids.COORDS_INPUT, "n_submit"),
                  State(ids.COORDS_INPUT, "value"), prevent_initial_call=True)
    def _coords(_clicks, _submits, text):
        request = coords_edit(text)
        return request, ("" if request["op"] == "add" else no_update)

    @app.callback(Output(ids.SCENARIO_EDIT, "data", allow_duplicate=True),
                  Output(ids.PRESET, "value"),
                  Input(ids.PRESET, "value"), prevent_initial_call=True)
    def _preset(key):
        request = preset_edit(gazetteer, catalog, key)
        return (no_update, no_update) if request is None else (request, None)

    # The browser checks the size first (assets/upload_guard.js): a file over the cap becomes a
    # notice there and is never sent (it would exceed the server's request cap and fail with a
    # 413 the page cannot show); files under the cap move to UPLOAD_ACCEPTED.
    app.clientside_callback(
        ClientsideFunction(namespace="anycast_upload", function_name="check"),
        Output(ids.UPLOAD_ACCEPTED, "data"),
        Output(ids.SCENARIO_EDIT, "data", allow_duplicate=True),
        Output(ids.UPLOAD, "contents"),
        Input(ids.UPLOAD, "contents"), State(ids.UPLOAD, "filename"),
        State(ids.UPLOAD_LIMIT, "data"), prevent_initial_call=True)

    @app.callback(Output(ids.SCENARIO_EDIT, "data", allow_duplicate=True),
                  Input(ids.UPLOAD_ACCEPTED, "data"),
                  State(ids.SCENARIO, "data"), prevent_initial_call=True)
    def _upload(accepted, current):
        return upload_edit(accepted, current, settings)

    @app.callback(Output(ids.SCENARIO_EDIT, "data", allow_duplicate=True),
                  Output(ids.ASSIGNMENT_TABLE, "active_cell"),
                  Input(ids.ASSIGNMENT_TABLE, "active_cell"), prevent_initial_call=True)
    def _remove(cell):
        if (not isinstance(cell, dict) or cell.get("column_id") != "remove"
                or cell.get("row_id") is None):
            return no_update, no_update
        return edit("remove", index=cell["row_id"]), None

    @app.callback(Output(ids.SCENARIO_EDIT, "data", allow_duplicate=True),
                  Input(ids.CLEAR_CLIENTS, "n_clicks"), prevent_initial_call=True)
    def _clear(_n):
        return edit("clear")

    @app.callback(Output(ids.ENDPOINT_INFO, "children"),
                  Input(ids.ORIGIN, "value"), Input(ids.ENDPOINT_TYPE, "value"))
    def _endpoint_info(origin_value, endpoint_value):
        return endpoint_info(catalog, origin_value, endpoint_value)

    @app.callback(Output(ids.SHARE_LINK, "content"), Input(ids.SHARE_LINK, "n_clicks"),
                  State(ids.URL, "href"), prevent_initial_call=True)
    def _share(_n, href):
        return href if isinstance(href, str) else ""

