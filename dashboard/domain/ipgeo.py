"""IP addresses as clients: parsing, special-purpose ranges, GeoIP records -> a located client.

Pure (no I/O, no database): :mod:`dashboard.geoip` opens the MaxMind-format database and hands
its records to :func:`location_from_record`; the services combine the two.

**Parsing** (:func:`parse_ip`): one IPv4 or IPv6 address in its usual text form (``203.0.113.7``,
``2001:db8::1``, an IPv4-mapped ``::ffff:81.2.69.142`` is read as its IPv4 address), surrounding
spaces and square brackets ignored, at most :data:`MAX_IP_CHARS` characters. No prefixes
(``/24``), ports or zone ids (``%eth0``): a client is one address.

**Special-purpose ranges** (:func:`special_range`): addresses that are not on the public
internet and so have no location -- the IANA special-purpose registries (RFC 6890, with
https://www.iana.org/assignments/iana-ipv4-special-registry and iana-ipv6-special-registry):
private (RFC 1918), shared/CGNAT (RFC 6598), loopback, link-local, documentation (RFC 5737,
RFC 3849), benchmarking (RFC 2544), multicast, reserved, unique-local (RFC 4193)... Each row gets
its reason ("private address (RFC 1918, 10.0.0.0/8)"), never a silent drop.

**Records** (:func:`location_from_record`): the three record layouts in use --

* MaxMind GeoLite2/GeoIP2 City: ``location.latitude``/``longitude``/``accuracy_radius`` (km),
  ``city.names.en``, ``country.iso_code`` (``registered_country`` as a fallback);
* DB-IP lite city (``dbip-city-lite-*.mmdb``): the same nesting, without ``accuracy_radius``;
* IPinfo-style flat records: ``lat``/``lng`` (numbers or, as IPinfo writes them, text),
  ``city``, ``country`` (an ISO code) -- also ``latitude``/``longitude``/``country_code``.

A record without coordinates (a country-only database) is "no location", not a guess.

Units: degrees (WGS84) and the accuracy radius in km as the database states it (MaxMind: the
radius around the point within which the address is, at ~67 % confidence; see docs/geoip.md).
"""

from __future__ import annotations

import csv
import ipaddress
import math
import re
from dataclasses import dataclass
from typing import Any, Mapping

from dashboard.domain.clients import (ClientsError, RejectedRows, _delimiter, clean_name,
                                      clean_weight)

#: Longest text read as an IP address (the longest IPv6 form, ``[`` ``]`` and spaces, is < 50).
MAX_IP_CHARS = 64

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: Outcome codes of locating one address (the batch column ``geoip_status``).
OK = "ok"
MALFORMED = "malformed"
SPECIAL = "special"
UNKNOWN = "unknown"
NO_LOCATION = "no_location"
NO_DATABASE = "no_database"
STATUSES = (OK, MALFORMED, SPECIAL, UNKNOWN, NO_LOCATION, NO_DATABASE)


class IpError(ValueError):
    """Text that is not one IP address; the message says why (for the user)."""


#: (network, what it is). IANA special-purpose registries (see the module docstring); the
#: order does not matter (ranges of one family do not overlap, except the all-zero
#: :: / ::1 singletons, which are tested first).
_SPECIAL_V4: tuple[tuple[str, str], ...] = (
    ("0.0.0.0/8", "'this network' address (RFC 791)"),
    ("10.0.0.0/8", "private address (RFC 1918, 10.0.0.0/8)"),
    ("100.64.0.0/10", "shared address space of carrier-grade NAT (RFC 6598, 100.64.0.0/10)"),
    ("127.0.0.0/8", "loopback address (127.0.0.0/8)"),
    ("169.254.0.0/16", "link-local address (RFC 3927, 169.254.0.0/16)"),
    ("172.16.0.0/12", "private address (RFC 1918, 172.16.0.0/12)"),
    ("192.0.0.0/24", "IETF protocol assignment (RFC 6890, 192.0.0.0/24)"),
    ("192.0.2.0/24", "documentation address (RFC 5737, 192.0.2.0/24)"),
    ("192.88.99.0/24", "deprecated 6to4 relay anycast address (RFC 7526)"),
    ("192.168.0.0/16", "private address (RFC 1918, 192.168.0.0/16)"),
    ("198.18.0.0/15", "benchmarking address (RFC 2544, 198.18.0.0/15)"),
    ("198.51.100.0/24", "documentation address (RFC 5737, 198.51.100.0/24)"),
    ("203.0.113.0/24", "documentation address (RFC 5737, 203.0.113.0/24)"),
    ("224.0.0.0/4", "multicast address (224.0.0.0/4)"),
    ("240.0.0.0/4", "reserved address (240.0.0.0/4, incl. broadcast)"),
)
_SPECIAL_V6: tuple[tuple[str, str], ...] = (
    ("::/128", "unspecified address (::)"),
    ("::1/128", "loopback address (::1)"),
    ("64:ff9b:1::/48", "local-use NAT64 address (RFC 8215)"),
    ("100::/64", "discard-only address (RFC 6666, 100::/64)"),
    ("2001::/23", "IETF protocol assignment (RFC 2928, 2001::/23, incl. Teredo)"),
    ("2001:db8::/32", "documentation address (RFC 3849, 2001:db8::/32)"),
    ("fc00::/7", "unique-local address (RFC 4193, fc00::/7)"),
    ("fe80::/10", "link-local address (fe80::/10)"),
    ("ff00::/8", "multicast address (ff00::/8)"),
)


def _table(rows: tuple[tuple[str, str], ...]) -> tuple[tuple[int, int, str], ...]:
    out = []
    for net, why in rows:
        n = ipaddress.ip_network(net)
        out.append((int(n.network_address), int(n.broadcast_address), why))
    # the most specific range first: 2001:db8::/32 says "documentation", not "IETF protocol"
    return tuple(sorted(out, key=lambda r: r[1] - r[0]))


_RANGES_V4 = _table(_SPECIAL_V4)
_RANGES_V6 = _table(_SPECIAL_V6)
#: IPv6 addresses outside 2000::/3 (global unicast) that are not in the table above: the rest of
#: the unassigned/reserved IPv6 space (IANA IPv6 address space registry).
_V6_GLOBAL_LO = int(ipaddress.IPv6Address("2000::"))
_V6_GLOBAL_HI = int(ipaddress.IPv6Address("3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"))


def parse_ip(text: Any) -> IPAddress:
    """One IP address from text (module docstring); an IPv4-mapped IPv6 address becomes its
    IPv4 address. Raises :class:`IpError` with a message for the user."""
    if not isinstance(text, str):
        raise IpError("not an IP address (expected text such as 81.2.69.142 or 2001:218::1)")
    raw = text.strip()
    if raw.startswith("[") and raw.endswith("]"):
        raw = raw[1:-1].strip()
    if not raw:
        raise IpError("empty; expected an IP address such as 81.2.69.142 or 2001:218::1")
    if len(raw) > MAX_IP_CHARS:
        raise IpError(f"{len(raw)} characters is too long for an IP address")
    shown = raw[:45]
    if "/" in raw:
        raise IpError(f"'{shown}' is a network, not one address; give one address")
    if "%" in raw:
        raise IpError(f"'{shown}' has a zone id (%...); give the address alone")
    try:
        addr = ipaddress.ip_address(raw)
    except ValueError:
        raise IpError(f"'{shown}' is not an IPv4 or IPv6 address") from None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
#: A canonical dotted quad (what ``str(IPv4Address)`` writes: no leading zeros or spaces).
DOTTED_QUAD = rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}"
_DOTTED = re.compile(DOTTED_QUAD)
#: First octets of the IPv4 special-purpose ranges (:data:`_SPECIAL_V4`): an address with
#: another first octet is public (tested against the table).
SPECIAL_FIRST_OCTETS = frozenset({0, 10, 100, 127, 169, 172, 192, 198, 203} | set(range(224, 256)))
_SPECIAL_FIRST_OCTETS = SPECIAL_FIRST_OCTETS


def plain_public_v4(text: str) -> int:
    """Fast path of the batch engine: the address as an integer when ``text`` is a canonical
    dotted quad (no spaces, leading zeros or other forms) whose first octet no special-purpose
    range starts with -- so :func:`check_ip` would return it as a public address unchanged --
    else -1, which means "use :func:`check_ip`", not "invalid"."""
    m = _DOTTED.fullmatch(text)
    if m is None:
        return -1
    a, b, c, d = m.groups()
    first = int(a)
    if first in _SPECIAL_FIRST_OCTETS:
        return -1
    return (first << 24) | (int(b) << 16) | (int(c) << 8) | int(d)


def looks_like_ip(text: Any) -> bool:
    """Whether a search box query is meant as an IP address (so the box offers the IP, not a
    city): digits and dots with three dots, or hex digits with two colons or more."""
    if not isinstance(text, str):
        return False
    raw = text.strip().strip("[]")
    if not raw or len(raw) > MAX_IP_CHARS:
        return False
    if raw.count(".") == 3 and all(c.isdigit() or c == "." for c in raw):
        return True
    return raw.count(":") >= 2 and all(c in "0123456789abcdefABCDEF:." for c in raw)


def special_range(addr: IPAddress) -> str | None:
    """Why ``addr`` has no location (a special-purpose range, module docstring), or None for
    a public address."""
    return special_range_int(int(addr), addr.version)


def special_range_int(value: int, version: int) -> str | None:
    """:func:`special_range` of an address given as an integer and its IP version (4 or 6)."""
    if version == 4:
        for lo, hi, why in _RANGES_V4:
            if lo <= value <= hi:
                return why
        return None
    for lo, hi, why in _RANGES_V6:
        if lo <= value <= hi:
            return why
    if not _V6_GLOBAL_LO <= value <= _V6_GLOBAL_HI:
        return "reserved IPv6 address (outside the global unicast range 2000::/3)"
    return None


@dataclass(frozen=True)
class IpLocation:
    """Where a GeoIP database puts an address: degrees, the accuracy radius (km; None when the
    database gives none, e.g. DB-IP lite), the city ("" when only the country is known) and the
    country's ISO code ("" when unknown)."""

    lat: float
    lon: float
    radius_km: float | None
    city: str
    country: str

    @property
    def place(self) -> str:
        """``'Sydney, AU'``, ``'AU'`` or ``'unknown place'``."""
        return ", ".join(p for p in (self.city, self.country) if p) or "unknown place"

    @property
    def accuracy(self) -> str:
        """``'±50 km'``, or ``'accuracy unknown'`` without a radius."""
        if self.radius_km is None:
            return "accuracy unknown"
        return f"±{self.radius_km:,.0f} km"


def _get(d: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(d, dict):
            return None
        d = d.get(key)
    return d


def _number(value: Any) -> float | None:
    """A finite number from a record field (IPinfo stores coordinates as text)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip()[:40])
        except ValueError:
            return None
    if isinstance(value, (int, float)) and math.isfinite(float(value)):
        return float(value)
    return None


def _text(value: Any, n: int = 60) -> str:
    """A plain label from a record field: a string or a ``names`` map (English, else any);
    control characters dropped, cut to ``n`` characters."""
    if isinstance(value, dict):
        names = value.get("names") if "names" in value else value
        if isinstance(names, dict):
            value = names.get("en") or next((v for v in names.values() if isinstance(v, str)), "")
        else:
            value = ""
    if not isinstance(value, str):
        return ""
    if value.isprintable():  # the usual case, checked in C
        return value.strip()[:n]
    return "".join(c for c in value if c.isprintable()).strip()[:n]


def location_from_record(record: Any) -> IpLocation | None:
    """The location in a database record (any layout of the module docstring), or None when
    the record has no usable coordinates (a country-only database, a damaged record)."""
    if not isinstance(record, dict):
        return None
    loc = record.get("location")
    if isinstance(loc, dict):  # MaxMind GeoLite2/GeoIP2, DB-IP
        lat, lon = _number(loc.get("latitude")), _number(loc.get("longitude"))
        radius = _number(loc.get("accuracy_radius"))
        city = _text(_get(record, "city", "names"))
        country = record.get("country") or record.get("registered_country")
        cc = _text(_get(country, "iso_code"), 3)
    else:  # flat (IPinfo and the like)
        lat = _number(record.get("lat", record.get("latitude")))
        lon = _number(record.get("lng", record.get("lon", record.get("longitude"))))
        radius = _number(record.get("accuracy_radius", record.get("radius")))
        city = _text(record.get("city"))
        cc_raw = record.get("country_code", record.get("country"))
        cc = _text(cc_raw if isinstance(cc_raw, str) else _get(cc_raw, "iso_code"), 3)
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    if radius is not None and radius < 0:
        radius = None
    return IpLocation(lat=lat, lon=lon, radius_km=radius, city=city, country=cc.upper())


def client_label(ip: str, location: IpLocation) -> str:
    """The client's name: ``'81.2.69.142 · London, GB (±50 km)'``."""
    return f"{ip} · {location.place} ({location.accuracy})"


#: A client name that starts with an address and " · " (:func:`client_label`).
_LABELLED = re.compile(r"^\s*\[?([0-9A-Fa-f:.]{2,45})\]? · ")


def redact_name(name: str) -> str:
    """A client name without the address it starts with, for links (privacy, docs/geoip.md):
    ``'81.2.69.142 · London, GB (±10 km)'`` -> ``'IP · London, GB (±10 km)'``; any other name
    unchanged."""
    m = _LABELLED.match(name)
    if m is None:
        return name
    try:
        ipaddress.ip_address(m.group(1))
    except ValueError:
        return name
    return "IP · " + name[m.end():]


@dataclass(frozen=True)
class IpResult:
    """One address located (or not): ``status`` one of :data:`STATUSES`, ``message`` for the
    user ("" when located), ``ip`` the canonical text ("" when malformed)."""

    ip: str
    status: str
    message: str = ""
    location: IpLocation | None = None

    @property
    def ok(self) -> bool:
        return self.status == OK and self.location is not None

    @property
    def label(self) -> str:
        """The client name when located, else the address and the reason."""
        if self.ok:
            return client_label(self.ip, self.location)  # type: ignore[arg-type]
        return f"{self.ip or 'IP'}: {self.message}"


def check_ip(text: Any) -> IpResult | IPAddress:
    """The parsed public address, or the :class:`IpResult` that says why it has no location
    (malformed, special-purpose range): the part of locating that needs no database."""
    try:
        addr = parse_ip(text)
    except IpError as exc:
        return IpResult(ip="", status=MALFORMED, message=str(exc))
    why = special_range(addr)
    if why is not None:
        return IpResult(ip=str(addr), status=SPECIAL,
                        message=f"{why}: not on the public internet, so it has no location")
    return addr




def result_from_record(ip: str, record: Any) -> IpResult:
    """An address's :class:`IpResult` from its database record (None: not in the database)."""
    if record is None:
        return IpResult(ip=ip, status=UNKNOWN,
                        message="not in the GeoIP database (an address it does not cover)")
    loc = location_from_record(record)
    if loc is None:
        return IpResult(ip=ip, status=NO_LOCATION,
                        message="the GeoIP database has no coordinates for it (a country-only "
                                "database?)")
    return IpResult(ip=ip, status=OK, location=loc)


# --------------------------------------------------------------------------------------------
# Files of addresses (the page's upload; the batch engine reads large ones with Arrow)

#: Header names (lower-cased) of the address column of a client file.
IP_HEADERS = ("ip", "ip_address", "ipaddress", "client_ip")


def ip_column(header: list[str]) -> int | None:
    """Index of the address column of a header row (:data:`IP_HEADERS`), or None."""
    for i, name in enumerate(header):
        if name.strip().lower() in IP_HEADERS:
            return i
    return None


def is_ip_header(first_line: str) -> bool:
    """Whether a client file's first record line is a header with an address column: then the
    file is read as addresses (``ip[,name][,weight]``, other columns ignored)."""
    for delim in (",", "\t", ";"):
        if delim in first_line or delim == ",":
            fields = [f.strip().strip('"') for f in first_line.split(delim)]
            if ip_column(fields) is not None:
                return True
    return False


@dataclass(frozen=True)
class IpRow:
    """One data row of an address file: its file line, the address text, name and weight."""

    line: int
    ip: str
    name: str
    weight: float


def parse_ip_rows(text: str, max_rows: int | None = None, max_errors: int = 20
                  ) -> tuple[list[IpRow], RejectedRows]:
    """An address file (header with an ``ip`` column, :data:`IP_HEADERS`; optional ``name`` and
    ``weight``; other columns ignored; ``,``, tab or ``;`` separated; blank and ``#`` lines
    skipped) -> its rows and the rejected ones (a bad weight, a ragged row). The addresses are
    not checked here: each row is located, or gets its reason, later (never dropped).
    Raises :class:`ClientsError` for a file it cannot read as a whole (no header, more than
    ``max_rows`` rows)."""
    rejected = RejectedRows(limit=max_errors)
    delim = _delimiter(text)
    reader = csv.reader(text.splitlines(), delimiter=delim)
    header: list[str] | None = None
    rows: list[IpRow] = []
    col_ip = col_name = col_weight = None
    try:
        numbered = list(enumerate(reader, start=1))
    except csv.Error as exc:
        raise ClientsError(f"not a readable CSV file ({str(exc)[:80]})") from None
    for line_no, fields in numbered:
        if not fields or all(not f.strip() for f in fields) or fields[0].lstrip().startswith("#"):
            continue
        if header is None:
            header = [f.strip().lower() for f in fields]
            col_ip = ip_column(header)
            if col_ip is None:
                raise ClientsError("no 'ip' column in the header", line=line_no)
            col_name = header.index("name") if "name" in header else None
            col_weight = header.index("weight") if "weight" in header else None
            continue
        if max_rows is not None and len(rows) >= max_rows:
            raise ClientsError(f"more than {max_rows:,} clients (the limit)", line=line_no)
        if len(fields) <= col_ip:  # type: ignore[operator]
            rejected.add(ClientsError(f"{len(fields)} field(s); the 'ip' column is missing",
                                      line=line_no, column="ip"))
            continue
        weight = 1.0
        if col_weight is not None and col_weight < len(fields) and fields[col_weight].strip():
            try:
                weight = clean_weight(float(fields[col_weight].strip()))
            except (ValueError, OverflowError):
                rejected.add(ClientsError(f"{fields[col_weight].strip()[:20]!r} is not a "
                                          "weight >= 0", line=line_no, column="weight"))
                continue
        name = clean_name(fields[col_name]) if col_name is not None and col_name < len(fields) \
            else ""
        rows.append(IpRow(line=line_no, ip=fields[col_ip].strip()[:MAX_IP_CHARS + 2], name=name,
                          weight=weight))
    if header is None:
        raise ClientsError("no client rows")
    if not rows and not rejected.count:
        raise ClientsError("no client rows")
    return rows, rejected
