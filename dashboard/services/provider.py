"""The Provider panel's view-model: the operator's Anycast EIPs, read live with the SDK
(:mod:`dashboard.provider`, behind ``ANYCAST_PROVIDER_API``) or from an uploaded file of saved
responses, mapped by :mod:`dashboard.domain.provider` to a load into the scenario and a catalog
report. No Dash, Flask or Plotly import.

What the user may do next is in the view: choose an Anycast EIP (``options``), load it
(``load_edit``: the ``provider_load`` edit the "Load into scenario" button writes; the reducer
checks it again), read what did not map (``notes``) and how the provider's lists compare with
the catalog (``diff``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from dashboard.catalog import Catalog
from dashboard.domain.clients import clean_name
from dashboard.domain.edits import apply_edit
from dashboard.domain.scenario import Scenario
from dashboard.domain.scenario_url import fit_query
from dashboard.domain.provider import (CatalogDiff, CatalogIds, EipConfig, EipSummary,
                                       ProviderDataError, catalog_diff, catalog_ids,
                                       describe_for, map_eip, merge_pages, parse_list_page,
                                       parse_saved)
from dashboard.provider import ProviderClient, ProviderConfig, ProviderError
from dashboard.services.requests import _data_url_bytes
from dashboard.services.scenario import edit_context
from dashboard.settings import Settings

#: Largest saved-responses file read (bytes; at most the app's upload cap): a real account's
#: four responses are a few KB.
MAX_FILE_BYTES = 1024 * 1024

OFF_TEXT = ("Live reading is off (ANYCAST_PROVIDER_API is not on): upload a saved JSON of the "
            "API's responses, or see docs/provider.md to enable it.")


@dataclass(frozen=True)
class ProviderView:
    """What the panel shows. ``source``: "api", "file" or "" (nothing read yet);
    ``messages``: (level, text); ``options``: the Anycast EIPs ({label, value});
    ``chosen``: the one previewed; ``endpoints``: preview lines of its load;
    ``load_edit``: the edit of "Load into scenario" (None: nothing loadable);
    ``diff``: the catalog report (None: the lists were not read)."""

    source: str = ""
    messages: tuple[tuple[str, str], ...] = ()
    options: tuple[dict, ...] = ()
    chosen: str | None = None
    endpoints: tuple[str, ...] = ()
    notes: tuple[tuple[str, str], ...] = ()
    load_edit: dict | None = None
    diff: CatalogDiff | None = None
    diff_rows: tuple[dict, ...] = field(default=())
    #: The catalog report in words (what matched, what is new, what the provider lacks).
    diff_notes: tuple[tuple[str, str], ...] = ()

    @property
    def diff_title(self) -> str:
        """``"Catalog report: 1 new access point, 5 catalog ids not listed"``."""
        if self.diff is None:
            return ""
        new = len(self.diff.pops_new) + len(self.diff.regions_new)
        gone = len(self.diff.pops_missing) + len(self.diff.regions_missing)
        return (f"Catalog report: {new} new id(s) from the provider, {gone} catalog id(s) it "
                "does not list" if new or gone else "Catalog report: the catalog matches")


def ids_of(catalog: Catalog) -> CatalogIds:
    """The catalog's ids the mapping needs (``region_id`` may be absent or empty)."""
    regions = (catalog.pops["region_id"].fillna("").astype(str).tolist()
               if "region_id" in catalog.pops.columns else [""] * len(catalog.pops))
    return catalog_ids(catalog.pop_ids, regions, catalog.origin_ids)


def provider_config(settings: Settings) -> ProviderConfig:
    return ProviderConfig(region_id=settings.provider_region,
                          endpoint=settings.provider_endpoint,
                          protocol=settings.provider_protocol,
                          read_timeout_ms=settings.provider_timeout_ms,
                          connect_timeout_ms=min(3000, settings.provider_timeout_ms))


_CLIENTS: dict[ProviderConfig, ProviderClient] = {}
_CLIENTS_LOCK = threading.Lock()


def client_for(settings: Settings) -> ProviderClient:
    """One client per configuration per process (its lock serialises the calls, its cache
    keeps answers a minute)."""
    cfg = provider_config(settings)
    with _CLIENTS_LOCK:
        if cfg not in _CLIENTS:
            _CLIENTS[cfg] = ProviderClient(cfg)
        return _CLIENTS[cfg]


def _preview(config: EipConfig) -> tuple[str, ...]:
    if not config.loadable:
        return ()
    lines = [f"Default endpoint: {config.origin} ({config.endpoint_type})"]
    for region, pops in config.mappings:
        lines.append(f"Normal endpoint: {region} ← {', '.join(pops) if pops else 'no access point'}")
    return tuple(lines)


def _diff_rows(diff: CatalogDiff | None) -> tuple[dict, ...]:
    if diff is None:
        return ()
    rows = []
    for kind, items, missing in (("access point", diff.pops, diff.pops_missing),
                                 ("origin region", diff.regions, diff.regions_missing)):
        for api_id, name, cat in items or ():
            rows.append({"kind": kind, "api_id": api_id, "name": name,
                         "catalog": cat or "new: not in the catalog"})
        for cat in missing if items is not None else ():
            rows.append({"kind": kind, "api_id": "", "name": "",
                         "catalog": f"{cat}: not listed by the provider"})
    return tuple(rows)


def _view(source: str, eips: list[EipSummary], chosen: str | None, describe: Any,
          diff: CatalogDiff | None, ids: CatalogIds, messages: list[tuple[str, str]]
          ) -> ProviderView:
    options = tuple({"label": e.label, "value": e.anycast_id} for e in eips)
    config = None
    if describe is not None:
        try:
            config = map_eip(describe, ids)
        except ProviderDataError as exc:
            messages.append(("error", f"The description of {chosen} is malformed: {exc}"))
    if not eips:
        messages.append(("info", "No Anycast EIP found in the account (access area "
                                 "international)." if source == "api" else
                                 "The file describes no Anycast EIP."))
    return ProviderView(source=source, messages=tuple(messages), options=options, chosen=chosen,
                        endpoints=_preview(config) if config else (),
                        notes=config.notes if config else (),
                        load_edit=config.load_edit() if config and config.loadable else None,
                        diff=diff, diff_rows=_diff_rows(diff),
                        diff_notes=tuple(diff.summary()) if diff is not None else ())


def off_view() -> ProviderView:
    """The panel when live reading is off and nothing was uploaded."""
    return ProviderView(messages=(("info", OFF_TEXT),))


def live_view(settings: Settings, catalog: Catalog, chosen: Any = None,
              client: ProviderClient | None = None) -> ProviderView:
    """Read the account: the Anycast EIPs (all pages, capped), the provider's access point and
    region lists, and the description of ``chosen`` (default: the first listed). A failure is
    a message (credentials missing: how to provide them); nothing raises."""
    if not settings.provider_api and client is None:
        return off_view()
    client = client or client_for(settings)
    ids = ids_of(catalog)
    messages: list[tuple[str, str]] = []
    try:
        pages, more = client.list_pages()
        eips, cut = merge_pages([parse_list_page(p)[0] for p in pages])
    except ProviderError as exc:
        return ProviderView(source="api", messages=((
            "warning" if exc.kind == "credentials" else "error", str(exc)),))
    except ProviderDataError as exc:
        return ProviderView(source="api", messages=(("error", f"The provider's answer to "
                                                              f"ListAnycastEipAddresses is "
                                                              f"malformed: {exc}"),))
    if more or cut:
        messages.append(("warning", f"Only the first {len(eips)} Anycast EIPs are listed."))
    chosen = chosen if isinstance(chosen, str) and any(e.anycast_id == chosen for e in eips) \
        else (eips[0].anycast_id if eips else None)
    describe = None
    unreachable = False
    if chosen:
        try:
            describe = client.describe(chosen)
        except ProviderError as exc:
            messages.append(("error", f"{chosen}: {exc}"))
            # an API that just timed out is not asked twice more in the same click: the
            # click's wait stays bounded (one list, one describe)
            unreachable = exc.kind in ("timeout", "network")
    diff = None
    try:
        if not unreachable:
            diff = catalog_diff(ids, client.pop_locations(), client.server_regions())
    except ProviderError as exc:
        messages.append(("warning", f"The catalog report is not available: {exc}"))
    except ProviderDataError as exc:
        messages.append(("warning", f"The provider's access point or region list is "
                                    f"malformed: {exc}"))
    return _view("api", eips, chosen, describe, diff, ids, messages)


def file_view(contents: Any, filename: Any, settings: Settings, catalog: Catalog,
              chosen: Any = None) -> ProviderView:
    """An uploaded file of saved responses (a ``dcc.Upload`` data URL; docs/provider.md) ->
    the view; any problem is a message naming the file, nothing raises."""
    name = clean_name(filename) if isinstance(filename, str) and filename else "the file"
    try:
        data = _data_url_bytes(contents, min(MAX_FILE_BYTES, settings.max_upload_bytes))
    except ValueError as exc:
        return ProviderView(source="file", messages=(("error", f"{name}: {exc}. Nothing was "
                                                               "read."),))
    return saved_view(data, name, settings, catalog, chosen)


def saved_view(data: bytes, name: str, settings: Settings, catalog: Catalog,
               chosen: Any = None) -> ProviderView:
    """The bytes of a saved responses file -> the view (the page's upload and the CLI's
    ``--file``); any problem is a message naming the file, nothing raises."""
    limit = min(MAX_FILE_BYTES, settings.max_upload_bytes)
    try:
        saved = parse_saved(data, limit)
    except ProviderDataError as exc:
        return ProviderView(source="file", messages=(("error", f"{name}: {exc}. Nothing was "
                                                               "read."),))
    ids = ids_of(catalog)
    eips = list(saved.eips)
    described = [e for e in eips if describe_for(saved, e.anycast_id) is not None]
    chosen = chosen if isinstance(chosen, str) and any(e.anycast_id == chosen for e in eips) \
        else ((described or eips)[0].anycast_id if eips else None)
    messages: list[tuple[str, str]] = [("info", f"Read {name}: {len(eips)} Anycast EIP(s), "
                                                f"{len(saved.describes)} described.")]
    describe = describe_for(saved, chosen) if chosen else None
    if chosen and describe is None:
        messages.append(("warning", f"{chosen} is listed but the file has no "
                                    "DescribeAnycastEipAddress response for it: nothing to "
                                    "load"))
    try:
        diff = catalog_diff(ids, saved.pop_locations, saved.server_regions) \
            if saved.pop_locations is not None or saved.server_regions is not None else None
    except ProviderDataError as exc:
        diff = None
        messages.append(("error", f"{name}: {exc}"))
    return _view("file", eips, chosen, describe, diff, ids, messages)


def load_link(view: ProviderView, catalog: Catalog, settings: Settings) -> str | None:
    """The dashboard's ``?query`` of a new scenario with the chosen Anycast EIP's endpoints
    (the CLI prints it), or None when nothing is loadable or the reducer refuses the load."""
    if view.load_edit is None:
        return None
    base = Scenario()
    new, notices = apply_edit(base, view.load_edit, edit_context(base, catalog, settings))
    if new == base or any(level == "error" for level, _t in notices):
        return None
    return "?" + fit_query(new).query
