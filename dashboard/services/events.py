"""One user action on the scenario: the page was opened (or back/forward) with a URL query, a
widget wrote an edit request, or the origin / endpoint type selects changed.

:func:`scenario_event` turns the action and the scenario the page holds into a
:class:`SceneEvent`: the new scenario, cleaned once (:class:`~dashboard.services.scenario.Loaded`),
its store and URL query, and the notices. Every view service then reads that one scenario: one
server round trip per user action.

No Dash, Flask or Plotly import: the Dash layer maps component ids to the trigger names here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from dashboard.catalog import Catalog
from dashboard.domain import edits
from dashboard.domain.clients import ClientCountError, client_room
from dashboard.domain.edits import Notice
from dashboard.domain.scenario import ENDPOINT_TYPES, Client, Scenario
from dashboard.domain.scenario_url import bound_warnings, fit_query, from_query
from dashboard.gazetteer import CLIENT_SET_SIZES, DEMAND_SETS
from dashboard.services import ipclients
from dashboard.services.planned import drop_bad_planned, planned_problems
from dashboard.services.requests import resolve_request
from dashboard.services.scenario import (Loaded, StoreRefused, clean, edit_context, load_store,
                                         resolve_origin)
from dashboard.settings import Settings

#: Trigger names of :func:`scenario_event` (the Dash layer maps its component ids to these).
PAGE_LOAD, URL, EDIT, ORIGIN, ENDPOINT_TYPE = None, "url", "edit", "origin", "endpoint_type"


@dataclass(frozen=True)
class SceneEvent:
    """The outcome of one user action on the scenario.

    ``changed``: the scenario differs from the one the page held (views must be recomputed);
    ``loaded``: the new scenario, cleaned once; ``store``: its JSON form for the page;
    ``url_search``: the new ``?query`` (None: the address bar is already right);
    ``set_widgets``: the origin and endpoint-type selects must be set from the scenario
    (a link was opened, a scenario imported, the Default endpoint moved);
    ``notices``: what to tell the user (bounded, worst first);
    ``request_op``: the op of the widget request that caused the event (e.g. "coords"), if any.
    """

    changed: bool
    loaded: Loaded
    store: dict
    url_search: str | None
    set_widgets: bool
    notices: list[Notice]
    request_op: str | None = None
    #: The scenario the page showed before the event, cleaned (None on a page load or when the
    #: page's store was refused): views whose inputs did not change need not be sent again.
    previous: Loaded | None = None


def _link_ips(parsed: Scenario, search: Any, settings: Settings) -> tuple[Scenario, list[str]]:
    """The link's ``ip=`` addresses located and appended as clients (services.ipclients); the
    rewritten link then carries their located points, not the addresses."""
    if not isinstance(search, str) or "ip=" not in search:
        return parsed, []
    room = client_room(settings.max_clients, len(parsed.clients),
                       CLIENT_SET_SIZES.get(parsed.client_set or "", 0))
    rows, warnings = ipclients.link_clients(search, settings, room)
    if rows:
        parsed, _ = parsed.add_clients(Client(**r) for r in rows)
    return parsed, warnings


def scenario_event(trigger: str | None, search: Any, request: Any, origin_value: Any,
                   endpoint_value: Any, current: Any, catalog: Catalog, settings: Settings
                   ) -> SceneEvent | None:
    """Apply one event (module docstring) to the scenario the page holds (``current``, the
    store). ``trigger``: :data:`PAGE_LOAD`, :data:`URL`, :data:`EDIT`, :data:`ORIGIN` or
    :data:`ENDPOINT_TYPE`. None when nothing changes and there is nothing to say (e.g. the
    select changed to what the scenario already has)."""
    notices: list[Notice] = []
    scenario: Scenario | None
    try:
        scenario = load_store(current, settings.max_clients) if current else None
    except StoreRefused as exc:
        scenario = None
        if isinstance(exc.__cause__, ClientCountError):  # only a hand-crafted request
            notices.append(("error", f"The page's scenario was refused: {exc}. It was reloaded "
                                     "from the link."))
    before = scenario
    set_widgets = False
    op = request.get("op") if isinstance(request, dict) else None
    if trigger in (PAGE_LOAD, URL) or scenario is None:
        parsed, warnings = from_query(search if isinstance(search, str) else "",
                                      pop_ids=catalog.base_pop_ids, origin_ids=catalog.origin_ids,
                                      max_clients=settings.max_clients,
                                      client_set_ids=tuple(DEMAND_SETS),
                                      client_set_sizes=CLIENT_SET_SIZES)
        parsed, ip_warnings = _link_ips(parsed, search, settings)
        parsed, more = parsed.sanitized(resolve_origin(parsed, catalog, settings))
        parsed, refused = drop_bad_planned(parsed, catalog)
        warnings = bound_warnings(warnings + ip_warnings + more + refused, edits.MAX_NOTICES,
                                  "in the link")
        if scenario is not None and parsed == scenario:
            return None
        scenario = parsed
        notices += [("warning", f"Link: {w}") for w in warnings]
        set_widgets = True
    elif trigger == ORIGIN:
        current_origin = resolve_origin(scenario, catalog, settings)
        if not (origin_value in catalog.origin_ids and origin_value != current_origin):
            return None
        # The origin is the Default endpoint's region: choosing another one is "make it the
        # default" (a Normal endpoint there is absorbed; the old default dissociated: the
        # picker says where the endpoint is, it does not bind a second one).
        try:
            scenario = scenario.move_default(origin_value, current_origin)
        except ValueError as exc:  # cannot happen with valid state; never crash on it
            notices.append(("error", f"Endpoints: {exc}"))
        else:
            scenario = replace(scenario, endpoints_down=scenario.endpoints_down
                               & set(scenario.associated(origin_value)))
    elif trigger == ENDPOINT_TYPE:
        if not (endpoint_value in ENDPOINT_TYPES and endpoint_value != scenario.endpoint_type):
            return None
        try:
            scenario = scenario.with_endpoint_type(endpoint_value)
        except ValueError as exc:  # ALB/NLB with Normal endpoints in other regions
            notices.append(("error", f"Endpoints: {exc}. Nothing was changed."))
            set_widgets = True  # the radio goes back to the scenario's type
    elif trigger == EDIT:
        request = resolve_request(request, scenario, catalog, settings)
        if request is None:  # a widget re-rendered or set to what the scenario has
            return None
        edit_op = request.get("op") if isinstance(request, dict) else None
        prior = scenario
        scenario, notices = edits.apply_edit(scenario, request,
                                             edit_context(scenario, catalog, settings))
        # Edits come from the browser: one naming ids the catalog does not have (an endpoint in
        # an unknown region, an imported or observed access point we do not run) is refused.
        ids = catalog.base_pop_ids  # planned ids are known through the scenario itself
        unknown = [u for u in scenario.unknown_ids(ids, catalog.origin_ids)
                   if u not in prior.unknown_ids(ids, catalog.origin_ids)]
        # A planned PoP the domain cannot judge (a catalog id, a site in the Chinese mainland)
        # is refused the same way, whichever edit brought it (add, import).
        new_planned = [p for p in scenario.planned if p not in prior.planned]
        refused = planned_problems(new_planned, catalog)
        if unknown:
            scenario, notices = prior, [("error", f"Not applied: {', '.join(unknown[:5])} "
                                                  "unknown to this dashboard. Nothing was "
                                                  "changed.")]
        elif refused:
            scenario, notices = prior, [("error", f"Not applied: {refused[0]}. Nothing was "
                                                  "changed.")]
        # A JSON import replaces everything; an endpoint edit can change the Default region.
        set_widgets = ((scenario.origin is not None and scenario.origin != origin_value)
                       or edit_op == "replace")
    else:
        return None
    fitted = fit_query(scenario)
    notices += [("warning", w) for w in fitted.warnings(len(scenario.clients))]
    new_search = "?" + fitted.query if fitted.query else ""
    return SceneEvent(
        changed=before is None or scenario != before,
        loaded=clean(scenario, catalog, settings),
        store=scenario.to_dict(),
        url_search=new_search if new_search != (search or "") else None,
        set_widgets=set_widgets,
        notices=edits.bounded_notices(notices),
        request_op=op if isinstance(op, str) else None,
        previous=clean(before, catalog, settings) if before is not None else None)
