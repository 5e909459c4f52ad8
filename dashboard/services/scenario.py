"""The scenario service: load and clean a scenario store once, for every view.

:func:`load_scenario` turns the page's store into a :class:`Loaded` scenario (the client cap
checked before any client is built; ids the catalog does not have dropped; the endpoint set
sanitized; the Default endpoint's region resolved), and every view service reads that one
cleaned scenario. What an edit is checked against (:func:`edit_context`) is built here too.

No Dash, Flask or Plotly import.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping

from dashboard.catalog import Catalog
from dashboard.domain.clients import MAX_CLIENTS, ClientCountError
from dashboard.domain.edits import EditContext
from dashboard.domain.scenario import Scenario
from dashboard.gazetteer import CLIENT_SET_SIZES, DEMAND_SETS
from dashboard.latency import fitted_values
from dashboard.settings import Settings

class StoreRefused(ValueError):
    """A scenario store this app did not write (malformed, or over the client cap): only a
    hand-crafted callback request sends one. Callers keep what is shown as it is."""


@functools.lru_cache(maxsize=1)
def client_sets() -> Mapping[str, tuple[int, str]]:
    """key -> (number of clients, label) of the server-side client sets."""
    return {key: (CLIENT_SET_SIZES[key], label) for key, (_n, label) in DEMAND_SETS.items()}


def load_store(current: Any, max_clients: int = MAX_CLIENTS) -> Scenario:
    """The scenario in the store ``current`` (``None``/``{}``: the empty one), with the client
    cap applied: own clients plus the client set's at most ``max_clients``, counted before any
    client is built. :class:`StoreRefused` otherwise (``__cause__``: a
    :class:`ClientCountError` when the cap is the reason)."""
    try:
        return Scenario.from_dict(current, max_clients=max_clients,
                                  client_set_sizes=CLIENT_SET_SIZES) if current else Scenario()
    except ClientCountError as exc:
        raise StoreRefused(str(exc)) from exc
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise StoreRefused(str(exc)) from None


def resolve_origin(scenario: Scenario, catalog: Catalog, settings: Settings) -> str:
    """The origin region in effect: the scenario's, else the configured default, else the first."""
    if scenario.origin in catalog.origin_ids:
        return scenario.origin  # type: ignore[return-value]
    if settings.default_origin in catalog.origin_ids:
        return settings.default_origin
    return catalog.origin_ids[0]


@dataclass(frozen=True)
class Loaded:
    """A scenario as every view reads it: ids the catalog lacks dropped, endpoint set sanitized.

    ``origin_id``: the Default endpoint's region in effect; ``down``: the access points down.
    """

    scenario: Scenario
    origin_id: str

    @property
    def down(self) -> frozenset[str]:
        return frozenset(self.scenario.down)


def clean(scenario: Scenario, catalog: Catalog, settings: Settings) -> Loaded:
    """The :class:`Loaded` form of ``scenario`` (the one clean-up every view shares)."""
    # the catalog's own ids (an effective catalog's planned rows are the scenario's business)
    known = scenario.known(catalog.base_pop_ids, catalog.origin_ids)
    origin_id = resolve_origin(known, catalog, settings)
    return Loaded(known.sanitized(origin_id)[0], origin_id)


def load_scenario(current: Any, catalog: Catalog, settings: Settings) -> Loaded:
    """Load and clean a store once (:func:`load_store` then :func:`clean`)."""
    return clean(load_store(current, settings.max_clients), catalog, settings)


def edit_context(scenario: Scenario, catalog: Catalog, settings: Settings) -> EditContext:
    """What an edit of ``scenario`` is checked against (its planned PoPs count as access points
    that exist: they can be marked down, mapped, given a capacity)."""
    return EditContext(max_clients=settings.max_clients,
                       default_region=resolve_origin(scenario, catalog, settings),
                       pop_ids=tuple(catalog.base_pop_ids) + tuple(
                           p for p in scenario.planned_ids if p not in catalog.base_pop_ids),
                       client_sets=client_sets(),
                       fitted=fitted_values())


# -- small shared helpers -------------------------------------------------------------------------

def file_stamp() -> str:
    """UTC minute stamp for download file names (``20261129-1022``)."""
    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M")
