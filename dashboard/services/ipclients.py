"""IP addresses as clients, for every entry point: the search box, uploads, the URL's ``ip=``,
``/api/v1/nearest?ip=``, ``anycast-dashboard nearest --ip`` and the batch engine's ``ip``
column.

Binds the pure rules (:mod:`dashboard.domain.ipgeo`) to the configured database
(:mod:`dashboard.geoip`, ``ANYCAST_GEOIP_MMDB``). Without a database every function answers
with :data:`dashboard.geoip.NO_DATABASE_HINT` and changes nothing else.

A located client is named ``'81.2.69.142 · London, GB (±10 km)'`` (address, city, the
database's accuracy radius). **Privacy** (docs/geoip.md): an address is personal data. It is
never logged; a link the page writes carries the located point and ``'IP · London, GB (±10 km)'``
instead of the address (:func:`dashboard.domain.ipgeo.redact_name`, applied by the URL codec);
a link *given* ``ip=`` is read, located, and rewritten the same way at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from dashboard.domain import ipgeo, scenario_url
from dashboard.geoip import NO_DATABASE_HINT, GeoIp, GeoIpError, reader_for
from dashboard.settings import Settings

#: Most addresses of a link (:data:`dashboard.domain.scenario_url.MAX_URL_IPS`).
MAX_URL_IPS = scenario_url.MAX_URL_IPS


@dataclass(frozen=True)
class Located:
    """An address located for the page or the API: the client (``lat``, ``lon``, ``name``,
    ``weight``) or None, and the result (status, message, location)."""

    result: ipgeo.IpResult
    client: dict | None


def database(settings: Settings) -> tuple[GeoIp | None, str]:
    """The configured reader and "" , or None and why not (not configured: the hint; an
    unusable file: the error naming it)."""
    try:
        reader = reader_for(settings)
    except GeoIpError as exc:
        return None, f"{exc} ({NO_DATABASE_HINT.split(': ', 1)[1]})"
    if reader is None:
        return None, NO_DATABASE_HINT
    return reader, ""


def locate(text: Any, settings: Settings) -> Located:
    """One address -> :class:`Located`. A malformed or special-purpose address is said so even
    without a database (no lookup needed)."""
    checked = ipgeo.check_ip(text)
    if isinstance(checked, ipgeo.IpResult):
        return Located(checked, None)
    reader, why = database(settings)
    if reader is None:
        return Located(ipgeo.IpResult(ip=str(checked), status=ipgeo.NO_DATABASE, message=why),
                       None)
    result = ipgeo.result_from_record(str(checked), reader.record(checked))
    return Located(result, _client(result))


def _client(result: ipgeo.IpResult, weight: float = 1.0) -> dict | None:
    if not result.ok:
        return None
    loc = result.location
    assert loc is not None
    return {"lat": round(loc.lat, 4), "lon": round(loc.lon, 4), "name": result.label[:80],
            "weight": weight}


def search_option(query: str, settings: Settings) -> dict:
    """The search box's option for a query that looks like an address: ``label`` says where it
    is (or why it cannot be used), ``value`` = ``'ip:<address>'`` (the request ``ip``)."""
    got = locate(query, settings)
    r = got.result
    if r.ok:
        label = r.label
    elif r.status == ipgeo.MALFORMED:
        label = f"IP address: {r.message}"
    else:
        label = f"{r.ip}: {r.message}"
    return {"label": label[:300], "value": f"ip:{r.ip or query.strip()[:ipgeo.MAX_IP_CHARS]}",
            "search": f"{query[:200]} {label[:200]}", "disabled": False}


def ip_edit(text: Any, settings: Settings, source: str = "IP address") -> dict:
    """The edit for the search box's ``ip`` request: add the located client, or a notice that
    says why not (malformed, special-purpose, unknown, no database)."""
    got = locate(text, settings)
    if got.client is None:
        r = got.result
        what = r.ip or "IP address"
        level = "warning" if r.status in (ipgeo.UNKNOWN, ipgeo.NO_LOCATION, ipgeo.SPECIAL) \
            else "error"
        return {"op": "notice", "notices": [{"level": level,
                                             "text": f"{what}: {r.message}. Nothing was added."}]}
    return {"op": "add", "source": source, "clients": [got.client]}


def locate_each(ips: Sequence[Any], settings: Settings) -> list[ipgeo.IpResult]:
    """One :class:`dashboard.domain.ipgeo.IpResult` per address, in order (every row accounted
    for: located, or its status and message; without a database the ones that need a lookup
    are ``no_database`` with the hint). Repeated addresses are looked up once (logs repeat)."""
    reader, why = database(settings)
    memo: dict[Any, ipgeo.IpResult] = {}
    out: list[ipgeo.IpResult] = []
    for text in ips:
        key = text if isinstance(text, str) else repr(text)
        r = memo.get(key)
        if r is None:
            checked = ipgeo.check_ip(text)
            if isinstance(checked, ipgeo.IpResult):
                r = checked
            elif reader is None:
                r = ipgeo.IpResult(ip=str(checked), status=ipgeo.NO_DATABASE, message=why)
            else:
                r = ipgeo.result_from_record(str(checked), reader.record(checked))
            memo[key] = r
        out.append(r)
    return out


def locate_rows(ips: Sequence[Any], settings: Settings, weights: Sequence[float] | None = None,
                names: Sequence[str] | None = None) -> tuple[list[dict], list[tuple[int, str]]]:
    """Many addresses (an upload's ``ip`` column, a link's ``ip=``): the located clients, and
    ``(index, reason)`` for each one that is not (every row accounted for). Repeated addresses
    are looked up once. A given ``name`` is kept before the location: ``'shop · 81.2.69.142 ·
    London, GB (±10 km)'`` is too long, so the name replaces the address instead."""
    results = locate_each(ips, settings)
    clients: list[dict] = []
    failed: list[tuple[int, str]] = []
    for i, r in enumerate(results):
        if not r.ok:
            failed.append((i, f"{r.ip}: {r.message}" if r.ip else r.message))
            continue
        c = _client(r, float(weights[i]) if weights is not None else 1.0)
        assert c is not None
        name = (names[i] if names is not None else "") or ""
        if name:
            c["name"] = f"{name} · {r.location.place} ({r.location.accuracy})"[:80]  # type: ignore[union-attr]
        clients.append(c)
    return clients, failed


def attribution(settings: Settings) -> str:
    """The attribution the configured database's licence asks for ("" when none or no
    database): shown by the page and the API when it is used."""
    reader, _ = database(settings)
    return reader.info.attribution if reader is not None else ""


def link_clients(search: Any, settings: Settings, room: int) -> tuple[list[dict], list[str]]:
    """The clients of a link's ``ip=`` keys (at most ``room`` of them) and a warning per address
    that could not be located (the link's other clients load as usual)."""
    ips, warnings = scenario_url.ips_from_query(search)
    if not ips:
        return [], warnings
    reader, why = database(settings)
    if reader is None:
        return [], warnings + [f"{len(ips)} IP address(es) not added: {why}"]
    clients, failed = locate_rows(ips, settings)
    warnings += [f"IP {reason}" for _, reason in failed]
    if len(clients) > room:
        warnings.append(f"only {max(room, 0):,} of the link's {len(clients):,} IP clients fit "
                        "under the client limit")
        clients = clients[:max(room, 0)]
    return clients, warnings


def status_note(settings: Settings) -> str:
    """One line for the page under the search box: which database locates addresses and the
    attribution its licence asks for; why it cannot be used when the configured file is
    unusable; "" when none is configured (the page is then unchanged: typing an address says
    how to configure one)."""
    reader, why = database(settings)
    if reader is None:
        if settings.geoip_mmdb is None:
            return ""
        return f"IP addresses cannot be located: {why.split(' (', 1)[0]}."
    info = reader.info
    note = (f"IP addresses are located with {info.database_type} (built {info.built}); "
            "city-level, see the accuracy radius.")
    return note + (f" {info.attribution}." if info.attribution else "")
