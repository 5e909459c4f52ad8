"""The operator's live Anycast EIP configuration, as the provider's API describes it, mapped to
this dashboard's scenario and catalog. Pure: API response bodies (plain dicts, the JSON the API
returns, i.e. the SDK's ``body.to_map()``) in, dataclasses and edit requests out; no I/O.

The four read-only calls and the fields read (Alibaba Cloud, Anycast EIP API 2020-03-09):

- ``ListAnycastEipAddresses`` -- ``AnycastList[]``: ``AnycastId``, ``IpAddress``, ``Name``,
  ``Status``, ``Bandwidth`` (Mbit/s), ``AnycastEipBindInfoList[]`` (``BindInstanceRegionId``,
  ``BindInstanceType``); paging by ``NextToken``/``MaxResults`` (20 to 100, default 50).
  https://www.alibabacloud.com/help/en/anycast-eip/developer-reference/api-eipanycast-2020-03-09-listanycasteipaddresses
- ``DescribeAnycastEipAddress`` -- ``AnycastEipBindInfoList[]``: ``AssociationMode``
  (``Default``: the default origin; ``Normal``: a standard origin), ``BindInstanceRegionId``,
  ``BindInstanceType`` (``SlbInstance``: a CLB instance in a VPC; ``NetworkInterface``: an ENI),
  ``Status`` (BINDING, BINDED, UNBINDING, DELETED, MODIFYING) and ``PopLocations[].PopLocation``
  (the access points mapped to the endpoint; "if this is your first time associating an Anycast
  EIP with an endpoint, the system returns information about access points in all access
  areas", so a Default endpoint's list is not a mapping and is ignored).
  https://www.alibabacloud.com/help/en/anycast-eip/developer-reference/api-eipanycast-2020-03-09-describeanycasteipaddress
- ``DescribeAnycastPopLocations`` -- ``AnycastPopLocationList[]``: ``RegionId`` and
  ``RegionName`` of each access point, e.g. ``us-west-1-pop``.
  https://www.alibabacloud.com/help/en/anycast-eip/developer-reference/api-eipanycast-2020-03-09-describeanycastpoplocations
- ``DescribeAnycastServerRegions`` -- ``AnycastServerRegionList[]``: ``RegionId`` (e.g.
  ``eu-west-1``) and ``RegionName`` of the regions where an endpoint can be associated.
  https://www.alibabacloud.com/help/en/anycast-eip/developer-reference/api-eipanycast-2020-03-09-describeanycastserverregions

Mapping to the catalog: an access point id of the API is ``<region id>-pop``; the catalog row
whose ``region_id`` is that region is the match (``us-west-1-pop`` -> ``SJC``); a catalog id
itself (``SJC``) is accepted too. An id that matches no row is *reported*, never dropped
silently: the load's notices and the catalog diff name it.

Every input may come from an uploaded file, so each list is capped and every value checked;
:class:`ProviderDataError` names what is wrong.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from dashboard.domain.clients import clean_name
from dashboard.domain.endpoints import DEFAULT, NORMAL, SINGLE_REGION_TYPES

#: Documentation pages, cited in notices and docs/provider.md.
DOCS = {
    "ListAnycastEipAddresses": "https://www.alibabacloud.com/help/en/anycast-eip/"
                               "developer-reference/api-eipanycast-2020-03-09-listanycasteipaddresses",
    "DescribeAnycastEipAddress": "https://www.alibabacloud.com/help/en/anycast-eip/"
                                 "developer-reference/api-eipanycast-2020-03-09-"
                                 "describeanycasteipaddress",
    "DescribeAnycastPopLocations": "https://www.alibabacloud.com/help/en/anycast-eip/"
                                   "developer-reference/api-eipanycast-2020-03-09-"
                                   "describeanycastpoplocations",
    "DescribeAnycastServerRegions": "https://www.alibabacloud.com/help/en/anycast-eip/"
                                    "developer-reference/api-eipanycast-2020-03-09-"
                                    "describeanycastserverregions",
    "RAM": "https://www.alibabacloud.com/help/en/anycast-eip/developer-reference/"
           "api-eipanycast-2020-03-09-ram",
}

#: ``BindInstanceType`` -> the dashboard's endpoint type (DescribeAnycastEipAddress page). ALB
#: and NLB ids are not listed by API 2020-03-09; an unknown type is reported, CLB assumed.
API_ENDPOINT_TYPES = {"SlbInstance": "CLB", "NetworkInterface": "ENI",
                      "AlbInstance": "ALB", "NlbInstance": "NLB"}
#: Endpoint states that no longer carry traffic (skipped with a note).
GONE_STATES = ("UNBINDING", "DELETED")

#: Caps on what one response (or one imported file) may hold: far above any real account
#: (an Anycast EIP has one endpoint per region; there are ~20 access points), far below what
#: would make a request slow.
MAX_EIPS = 500
MAX_ENDPOINTS = 50
MAX_POPS = 300
MAX_TEXT = 128
#: The provider's page size bounds (ListAnycastEipAddresses: MaxResults 20 to 100).
PAGE_SIZE = 100
#: Pages read before the list stops with a note (500 Anycast EIPs).
MAX_PAGES = MAX_EIPS // PAGE_SIZE

_API_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class ProviderDataError(ValueError):
    """A response (or an imported file) is not shaped like the API's; the text says where."""


# -- small checked readers ------------------------------------------------------------------------

def _obj(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ProviderDataError(f"{where} must be a JSON object")
    return value


def _list(value: Any, where: str, cap: int) -> list:
    if value is None:
        return []
    if isinstance(value, Mapping) and len(value) == 1:
        # the XML-flavoured JSON of older tools wraps a list: {"PopLocations": {"PopLocation": []}}
        value = next(iter(value.values()))
    if not isinstance(value, list):
        raise ProviderDataError(f"{where} must be a list")
    if len(value) > cap:
        raise ProviderDataError(f"{where} has {len(value):,} entries; at most {cap:,} are read")
    return value


def _text(value: Any, where: str, required: bool = False) -> str:
    if value is None or value == "":
        if required:
            raise ProviderDataError(f"{where} is missing")
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ProviderDataError(f"{where} must be text")
    return clean_name(value, MAX_TEXT)


def _api_id(value: Any, where: str) -> str:
    text = _text(value, where, required=True)
    if not _API_ID_RE.match(text):
        raise ProviderDataError(f"{where} {text[:40]!r} is not an id")
    return text


def _number(value: Any, where: str) -> float | None:
    if value is None or value == "":
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ProviderDataError(f"{where} {str(value)[:20]!r} is not a number") from None
    if not 0 <= v < 1e9:
        raise ProviderDataError(f"{where} {v:g} is out of range")
    return v


def unwrap(response: Any, where: str = "the response") -> Mapping[str, Any]:
    """The body of a response: the SDK's ``to_map()`` is ``{"headers", "statusCode", "body"}``;
    the CLI (``aliyun eipanycast ...``) prints the body itself."""
    obj = _obj(response, where)
    if "body" in obj and isinstance(obj.get("body"), Mapping):
        return obj["body"]
    return obj


# -- catalog matching -----------------------------------------------------------------------------

@dataclass(frozen=True)
class CatalogIds:
    """What of the catalog the mapping needs: access point ids with the region each stands for
    (the ``region_id`` column, "" when none) and the origin region ids."""

    pop_regions: Mapping[str, str]
    origin_ids: tuple[str, ...]

    def pop_for(self, api_id: str) -> str | None:
        """The catalog access point an API access point id stands for, or None."""
        if api_id.upper() in self.pop_regions:
            return api_id.upper()
        region = api_id[:-4] if api_id.lower().endswith("-pop") else ""
        if not region:
            return None
        for pid, r in self.pop_regions.items():
            if r and r == region:
                return pid
        return None


# -- ListAnycastEipAddresses ----------------------------------------------------------------------

@dataclass(frozen=True)
class EipSummary:
    """One Anycast EIP of the account, as listed (no mapping details: those need Describe)."""

    anycast_id: str
    ip_address: str = ""
    name: str = ""
    status: str = ""
    bandwidth_mbps: float | None = None
    regions: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """``"aeip-xxx · 203.0.113.7 · web (Associated)"``."""
        parts = [self.anycast_id] + [p for p in (self.ip_address, self.name) if p]
        return " · ".join(parts) + (f" ({self.status})" if self.status else "")

    def to_dict(self) -> dict:
        return {"anycast_id": self.anycast_id, "ip_address": self.ip_address, "name": self.name,
                "status": self.status, "bandwidth_mbps": self.bandwidth_mbps,
                "regions": list(self.regions)}


def parse_list_page(body: Any) -> tuple[list[EipSummary], str]:
    """One ``ListAnycastEipAddresses`` page: its Anycast EIPs and the ``NextToken`` ("" = last
    page)."""
    body = unwrap(body, "ListAnycastEipAddresses")
    out = []
    for i, item in enumerate(_list(body.get("AnycastList"), "AnycastList", MAX_EIPS)):
        where = f"AnycastList[{i}]"
        item = _obj(item, where)
        binds = _list(item.get("AnycastEipBindInfoList"), f"{where}.AnycastEipBindInfoList",
                      MAX_ENDPOINTS)
        regions = []
        for j, b in enumerate(binds):
            r = _text(_obj(b, f"{where}.AnycastEipBindInfoList[{j}]").get(
                "BindInstanceRegionId"), f"{where} endpoint {j + 1} region")
            if r and r not in regions:
                regions.append(r)
        out.append(EipSummary(
            anycast_id=_api_id(item.get("AnycastId"), f"{where}.AnycastId"),
            ip_address=_text(item.get("IpAddress"), f"{where}.IpAddress"),
            name=_text(item.get("Name"), f"{where}.Name"),
            status=_text(item.get("Status"), f"{where}.Status"),
            bandwidth_mbps=_number(item.get("Bandwidth"), f"{where}.Bandwidth"),
            regions=tuple(regions)))
    token = body.get("NextToken")
    return out, (token if isinstance(token, str) else "")


def merge_pages(pages: Iterable[list[EipSummary]], cap: int = MAX_EIPS
                ) -> tuple[list[EipSummary], bool]:
    """The pages' Anycast EIPs in order, each id once, at most ``cap``; True when some were cut."""
    seen: set[str] = set()
    out: list[EipSummary] = []
    cut = False
    for page in pages:
        for e in page:
            if e.anycast_id in seen:
                continue
            if len(out) >= cap:
                cut = True
                break
            seen.add(e.anycast_id)
            out.append(e)
    return out, cut


# -- DescribeAnycastEipAddress -> a scenario edit --------------------------------------------------

@dataclass(frozen=True)
class ApiEndpoint:
    """One association as the API reports it (ids as the API spells them)."""

    region: str
    mode: str
    api_type: str
    status: str = ""
    pop_locations: tuple[str, ...] = ()
    instance_id: str = ""


@dataclass(frozen=True)
class EipConfig:
    """An Anycast EIP's endpoints mapped to the catalog: what a load into the scenario sets.

    ``origin``: the Default endpoint's region (None: the API named none we know);
    ``endpoint_type``: the Default endpoint's type; ``mappings``: the Normal endpoints
    ``(region, (catalog access point ids...))``; ``notes``: what could not be mapped and why
    (level, text), shown with the load.
    """

    anycast_id: str
    ip_address: str = ""
    name: str = ""
    origin: str | None = None
    endpoint_type: str = "CLB"
    mappings: tuple[tuple[str, tuple[str, ...]], ...] = ()
    notes: tuple[tuple[str, str], ...] = ()
    endpoints: tuple[ApiEndpoint, ...] = field(default=(), repr=False)

    @property
    def loadable(self) -> bool:
        return self.origin is not None

    @property
    def label(self) -> str:
        return " · ".join(p for p in (self.anycast_id, self.ip_address, self.name) if p)

    def load_edit(self) -> dict:
        """The ``provider_load`` edit request (``dashboard.domain.edits``)."""
        return {"op": "provider_load", "origin": self.origin, "endpoint_type": self.endpoint_type,
                "mappings": [[r, list(p)] for r, p in self.mappings], "source": self.label,
                "notices": [{"level": lvl, "text": t} for lvl, t in self.notes]}


def parse_describe(body: Any) -> tuple[str, str, str, tuple[ApiEndpoint, ...]]:
    """A ``DescribeAnycastEipAddress`` body -> (anycast id, ip, name, endpoints)."""
    body = unwrap(body, "DescribeAnycastEipAddress")
    anycast_id = _api_id(body.get("AnycastId"), "AnycastId")
    endpoints = []
    for i, b in enumerate(_list(body.get("AnycastEipBindInfoList"), "AnycastEipBindInfoList",
                                MAX_ENDPOINTS)):
        where = f"endpoint {i + 1}"
        b = _obj(b, where)
        pops = []
        for j, p in enumerate(_list(b.get("PopLocations"), f"{where} PopLocations", MAX_POPS)):
            if isinstance(p, Mapping):
                p = p.get("PopLocation")
            pops.append(_api_id(p, f"{where} PopLocations[{j}]"))
        mode = _text(b.get("AssociationMode"), f"{where} AssociationMode") or DEFAULT
        endpoints.append(ApiEndpoint(
            region=_api_id(b.get("BindInstanceRegionId"), f"{where} BindInstanceRegionId"),
            mode=mode, api_type=_text(b.get("BindInstanceType"), f"{where} BindInstanceType"),
            status=_text(b.get("Status"), f"{where} Status").upper(),
            pop_locations=tuple(dict.fromkeys(pops)),
            instance_id=_text(b.get("BindInstanceId"), f"{where} BindInstanceId")))
    return (anycast_id, _text(body.get("IpAddress"), "IpAddress"),
            _text(body.get("Name"), "Name"), tuple(endpoints))


def endpoint_type_of(api_type: str) -> str | None:
    """The dashboard's endpoint type of a ``BindInstanceType`` (None: unknown)."""
    return API_ENDPOINT_TYPES.get(api_type)


def map_eip(body: Any, ids: CatalogIds) -> EipConfig:
    """A ``DescribeAnycastEipAddress`` body mapped to the catalog (module docstring): the load
    into the scenario and a note for everything left out. Raises :class:`ProviderDataError`
    only for a malformed body; an endpoint or access point we cannot map is a note."""
    anycast_id, ip, name, endpoints = parse_describe(body)
    notes: list[tuple[str, str]] = []
    live = []
    for e in endpoints:
        if e.status in GONE_STATES:
            notes.append(("info", f"endpoint in {e.region} is {e.status}: not loaded"))
        elif e.mode not in (DEFAULT, NORMAL):
            notes.append(("warning", f"endpoint in {e.region}: association mode {e.mode!r} is "
                                     "neither Default nor Normal; not loaded"))
        else:
            live.append(e)
    defaults = [e for e in live if e.mode == DEFAULT]
    if not live:
        return EipConfig(anycast_id, ip, name, None, notes=tuple(notes + [
            ("error", f"{anycast_id} has no endpoint associated: nothing to load")]),
            endpoints=endpoints)
    if len(defaults) != 1:
        # The provider keeps exactly one Default; if a response says otherwise, take the first
        # listed endpoint (the first bound is the Default, Manage endpoints) and say so.
        chosen = defaults[0] if defaults else live[0]
        notes.append(("warning", f"the API lists {len(defaults)} Default endpoints; "
                                 f"{chosen.region} taken as the Default"))
        defaults = [chosen]
    default = defaults[0]
    if default.region not in ids.origin_ids:
        return EipConfig(anycast_id, ip, name, None, notes=tuple(notes + [
            ("error", f"the Default endpoint's region {default.region} is not in this "
                      "dashboard's origin list (see the catalog report): nothing loaded")]),
            endpoints=endpoints)
    etype = endpoint_type_of(default.api_type)
    if etype is None:
        notes.append(("warning", f"endpoint type {default.api_type or '(none)'!r} is not one "
                                 "the dashboard models; CLB assumed"))
        etype = "CLB"
    mappings: list[tuple[str, tuple[str, ...]]] = []
    mapped: dict[str, str] = {}
    for e in live:
        if e is default:
            continue
        if e.mode == DEFAULT:
            notes.append(("warning", f"second Default endpoint in {e.region} not loaded"))
            continue
        if e.region not in ids.origin_ids:
            notes.append(("warning", f"Normal endpoint in {e.region}: region not in this "
                                     "dashboard's origin list; not loaded (its access points "
                                     "are shown going to the Default endpoint)"))
            continue
        if e.region == default.region or e.region in dict(mappings):
            notes.append(("warning", f"second endpoint in {e.region} not loaded: one endpoint "
                                     "per region"))
            continue
        other = endpoint_type_of(e.api_type) or e.api_type
        if other != etype:
            notes.append(("warning", f"endpoint in {e.region} is {other}, the Default is "
                                     f"{etype}: the dashboard models one type, {etype}"))
        pops: list[str] = []
        unknown: list[str] = []
        for p in e.pop_locations:
            pid = ids.pop_for(p)
            if pid is None:
                unknown.append(p)
            elif pid in mapped:
                notes.append(("warning", f"access point {p} is mapped to both {mapped[pid]} "
                                         f"and {e.region}; kept {mapped[pid]}"))
            else:
                mapped[pid] = e.region
                pops.append(pid)
        if unknown:
            notes.append(("warning", f"Normal endpoint in {e.region}: access point(s) "
                                     f"{', '.join(unknown[:8])}"
                                     + (f" and {len(unknown) - 8} more" if len(unknown) > 8
                                        else "")
                                     + " not in this dashboard's catalog; left out"))
        mappings.append((e.region, tuple(sorted(pops))))
    if etype in SINGLE_REGION_TYPES and mappings:
        notes.append(("warning", f"an Anycast EIP bound to an {etype} has one region only; "
                                 "the Normal endpoints were not loaded"))
        mappings = []
    if default.pop_locations:
        notes.append(("info", f"the Default endpoint's {len(default.pop_locations)} listed "
                              "access point(s) are not a mapping: the Default serves every "
                              "access point not mapped to a Normal endpoint"))
    return EipConfig(anycast_id, ip, name, default.region, etype, tuple(mappings), tuple(notes),
                     endpoints)


# -- DescribeAnycastPopLocations / DescribeAnycastServerRegions -> catalog diff -----------------

@dataclass(frozen=True)
class CatalogDiff:
    """The provider's lists against the catalog.

    ``pops``: ``(api id, api name, catalog id or "")`` per access point the API lists;
    ``pops_missing``: catalog access points the API does not list; same for regions.
    None: that list was not read.
    """

    pops: tuple[tuple[str, str, str], ...] | None = None
    pops_missing: tuple[str, ...] = ()
    regions: tuple[tuple[str, str, str], ...] | None = None
    regions_missing: tuple[str, ...] = ()

    @property
    def pops_new(self) -> tuple[str, ...]:
        return tuple(a for a, _n, c in self.pops or () if not c)

    @property
    def regions_new(self) -> tuple[str, ...]:
        return tuple(a for a, _n, c in self.regions or () if not c)

    def summary(self) -> list[tuple[str, str]]:
        """Notices: what matched, what is new (not in the catalog), what the API lacks."""
        out: list[tuple[str, str]] = []
        for what, rows, new, missing in (
                ("access point", self.pops, self.pops_new, self.pops_missing),
                ("origin region", self.regions, self.regions_new, self.regions_missing)):
            if rows is None:
                continue
            out.append(("info", f"{len(rows) - len(new)} of the provider's {len(rows)} "
                                f"{what}s match the catalog"))
            if new:
                out.append(("warning", f"new {what}(s) not in the catalog: "
                                       f"{', '.join(new[:10])}"
                                       + (f" and {len(new) - 10} more" if len(new) > 10 else "")
                                       + " (add them to the catalog file to model them)"))
            if missing:
                out.append(("warning", f"catalog {what}(s) the provider does not list: "
                                       f"{', '.join(missing[:10])}"
                                       + (f" and {len(missing) - 10} more"
                                          if len(missing) > 10 else "")))
        return out


def _locations(body: Any, key: str, call: str) -> list[tuple[str, str]]:
    body = unwrap(body, call)
    out = []
    for i, item in enumerate(_list(body.get(key), key, MAX_POPS)):
        item = _obj(item, f"{key}[{i}]")
        out.append((_api_id(item.get("RegionId"), f"{key}[{i}].RegionId"),
                    _text(item.get("RegionName"), f"{key}[{i}].RegionName")))
    return list(dict.fromkeys(out))


def catalog_diff(ids: CatalogIds, pop_body: Any = None, region_body: Any = None) -> CatalogDiff:
    """Compare ``DescribeAnycastPopLocations`` / ``DescribeAnycastServerRegions`` bodies (either
    may be None: not read) with the catalog."""
    pops = regions = None
    pops_missing: tuple[str, ...] = ()
    regions_missing: tuple[str, ...] = ()
    if pop_body is not None:
        rows = [(a, n, ids.pop_for(a) or "") for a, n in
                _locations(pop_body, "AnycastPopLocationList", "DescribeAnycastPopLocations")]
        pops = tuple(rows)
        matched = {c for _a, _n, c in rows if c}
        pops_missing = tuple(p for p in ids.pop_regions if p not in matched)
    if region_body is not None:
        rows = [(a, n, a if a in ids.origin_ids else "") for a, n in
                _locations(region_body, "AnycastServerRegionList",
                           "DescribeAnycastServerRegions")]
        regions = tuple(rows)
        matched = {c for _a, _n, c in rows if c}
        regions_missing = tuple(r for r in ids.origin_ids if r not in matched)
    return CatalogDiff(pops, pops_missing, regions, regions_missing)


# -- a saved file of responses --------------------------------------------------------------------

#: Keys of a saved responses file (docs/provider.md): each the call's response body (or the
#: SDK's ``to_map()``); ``DescribeAnycastEipAddress`` may be one body or a list of them.
FILE_KEYS = ("ListAnycastEipAddresses", "DescribeAnycastEipAddress",
             "DescribeAnycastPopLocations", "DescribeAnycastServerRegions")


@dataclass(frozen=True)
class SavedResponses:
    """What a saved file holds (each None or empty when absent)."""

    eips: tuple[EipSummary, ...] = ()
    describes: tuple[Mapping[str, Any], ...] = ()
    pop_locations: Mapping[str, Any] | None = None
    server_regions: Mapping[str, Any] | None = None


def parse_saved(data: bytes | str, max_bytes: int) -> SavedResponses:
    """A saved responses file (docs/provider.md) -> its parts; :class:`ProviderDataError` names
    the problem. Accepted: an object with any of :data:`FILE_KEYS`, or one bare
    ``DescribeAnycastEipAddress`` body (what ``aliyun eipanycast DescribeAnycastEipAddress``
    prints)."""
    if len(data) > max_bytes:
        raise ProviderDataError(f"the file is larger than the {max_bytes:,}-byte limit")
    try:
        raw = json.loads(data)
    except RecursionError:  # hostile nesting ([[[[...): the parser's stack, not a crash
        raise ProviderDataError("not acceptable JSON: nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProviderDataError(f"not JSON ({str(exc)[:80]})") from None
    obj = _obj(raw, "the file")
    body = unwrap(obj, "the file")
    if "AnycastEipBindInfoList" in body and "AnycastId" in body:
        obj = {"DescribeAnycastEipAddress": body}
    elif "AnycastList" in body:
        obj = {"ListAnycastEipAddresses": body}
    if not any(k in obj for k in FILE_KEYS):
        raise ProviderDataError("none of " + ", ".join(FILE_KEYS) + " found (see "
                                "docs/provider.md for the file's shape)")
    eips: list[EipSummary] = []
    if obj.get("ListAnycastEipAddresses") is not None:
        pages = obj["ListAnycastEipAddresses"]
        pages = pages if isinstance(pages, list) else [pages]
        eips, cut = merge_pages([parse_list_page(p)[0] for p in
                                 _list(pages, "ListAnycastEipAddresses", MAX_PAGES)])
        if cut:
            raise ProviderDataError(f"ListAnycastEipAddresses lists more than {MAX_EIPS} "
                                    "Anycast EIPs; at most that many are read")
    describes_raw = obj.get("DescribeAnycastEipAddress")
    describes_raw = describes_raw if isinstance(describes_raw, list) else (
        [] if describes_raw is None else [describes_raw])
    describes = tuple(unwrap(d, "DescribeAnycastEipAddress")
                      for d in _list(describes_raw, "DescribeAnycastEipAddress", MAX_EIPS))
    for d in describes:
        parse_describe(d)  # checked now: a bad file fails on upload, not on "Load"
    have = {e.anycast_id for e in eips}
    for d in describes:  # an EIP described but not listed is listed from its description
        aid, ip, name, eps = parse_describe(d)
        if aid not in have:
            have.add(aid)
            eips.append(EipSummary(aid, ip, name, _text(d.get("Status"), "Status"),
                                   _number(d.get("Bandwidth"), "Bandwidth"),
                                   tuple(dict.fromkeys(e.region for e in eps))))
    pops = obj.get("DescribeAnycastPopLocations")
    regions = obj.get("DescribeAnycastServerRegions")
    return SavedResponses(tuple(eips[:MAX_EIPS]), describes,
                          unwrap(pops, "DescribeAnycastPopLocations") if pops is not None
                          else None,
                          unwrap(regions, "DescribeAnycastServerRegions")
                          if regions is not None else None)


def describe_for(saved: SavedResponses, anycast_id: str) -> Mapping[str, Any] | None:
    """The saved ``DescribeAnycastEipAddress`` body of ``anycast_id``, or None."""
    for d in saved.describes:
        if d.get("AnycastId") == anycast_id:
            return d
    return None


def catalog_ids(pop_ids: Sequence[str], pop_region_ids: Sequence[str],
                origin_ids: Sequence[str]) -> CatalogIds:
    """:class:`CatalogIds` from the catalog's columns."""
    return CatalogIds({p: (r or "") for p, r in zip(pop_ids, pop_region_ids)}, tuple(origin_ids))
