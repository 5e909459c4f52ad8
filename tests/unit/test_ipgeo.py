"""IP addresses as clients, the pure part (dashboard/domain/ipgeo.py): parsing, special-purpose
ranges, the three record layouts, labels and their redaction for links, address files."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.domain import ipgeo
from dashboard.domain.clients import ClientsError

#: No per-example deadline: these are microseconds each, but a loaded 2-core machine can stall
#: any one example past hypothesis' 200 ms default (the examples are the same on every run).
relaxed = settings(deadline=None)

v4 = st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address)
v6 = st.integers(0, 2**128 - 1).map(ipaddress.IPv6Address)


@relaxed
@given(v4)
def test_every_ipv4_address_parses_to_itself(addr):
    assert ipgeo.parse_ip(str(addr)) == addr
    assert ipgeo.parse_ip(f"  {addr} ") == addr
    assert ipgeo.looks_like_ip(str(addr))


@relaxed
@given(v6)
def test_every_ipv6_address_parses_to_itself_or_its_mapped_ipv4(addr):
    got = ipgeo.parse_ip(str(addr))
    assert got == (addr.ipv4_mapped or addr)
    assert ipgeo.parse_ip(f"[{addr.exploded}]") == got
    assert ipgeo.looks_like_ip(str(addr))


@relaxed
@given(st.text(max_size=80))
def test_any_text_parses_or_says_why(text):
    try:
        addr = ipgeo.parse_ip(text)
    except ipgeo.IpError as exc:
        assert str(exc)  # a message for the user, never another exception
    else:
        assert isinstance(addr, (ipaddress.IPv4Address, ipaddress.IPv6Address))
    r = ipgeo.check_ip(text)
    assert isinstance(r, (ipgeo.IpResult, ipaddress.IPv4Address, ipaddress.IPv6Address))


@relaxed
@given(st.one_of(v4, v6))
def test_what_python_calls_non_public_is_a_special_range_with_a_reason(addr):
    addr = ipgeo.parse_ip(str(addr))
    why = ipgeo.special_range(addr)
    non_public = (addr.is_private or addr.is_multicast or addr.is_loopback
                  or addr.is_link_local or addr.is_unspecified or addr.is_reserved)
    if non_public:
        assert why, addr
    if why is None:
        assert ipgeo.check_ip(str(addr)) == addr


@relaxed
@given(v4)
def test_the_batch_fast_path_agrees_with_check_ip(addr):
    text = str(addr)
    value = ipgeo.plain_public_v4(text)
    if value >= 0:
        assert value == int(addr) and ipgeo.check_ip(text) == addr


@pytest.mark.parametrize("text, why", [
    ("10.1.2.3", "private address (RFC 1918, 10.0.0.0/8)"),
    ("172.31.255.255", "RFC 1918, 172.16.0.0/12"), ("192.168.0.1", "192.168.0.0/16"),
    ("100.64.0.1", "carrier-grade NAT"), ("127.0.0.1", "loopback"),
    ("169.254.1.1", "link-local"), ("203.0.113.7", "documentation"),
    ("198.51.100.1", "documentation"), ("192.0.2.1", "documentation"),
    ("224.0.0.1", "multicast"), ("255.255.255.255", "reserved"), ("0.1.2.3", "this network"),
    ("::1", "loopback"), ("::", "unspecified"), ("fe80::1", "link-local"),
    ("fd00::1", "unique-local"), ("2001:db8::1", "documentation"), ("ff02::1", "multicast"),
    ("::ffff:10.0.0.1", "RFC 1918"), ("4000::1", "outside the global unicast range"),
])
def test_special_ranges_say_what_they_are(text, why):
    r = ipgeo.check_ip(text)
    assert isinstance(r, ipgeo.IpResult) and r.status == ipgeo.SPECIAL
    assert why in r.message and "no location" in r.message


@pytest.mark.parametrize("text", ["", "  ", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4",
                                  "1.2.3.0/24", "fe80::1%eth0", "::g", "x" * 500, "1.2.3.4:80"])
def test_malformed_addresses_are_refused_with_a_reason(text):
    r = ipgeo.check_ip(text)
    assert isinstance(r, ipgeo.IpResult) and r.status == ipgeo.MALFORMED and r.message


def test_public_addresses_pass():
    assert ipgeo.check_ip("81.2.69.142") == ipaddress.ip_address("81.2.69.142")
    assert ipgeo.check_ip("2a02:cf40::7") == ipaddress.ip_address("2a02:cf40::7")
    assert ipgeo.check_ip("::ffff:81.2.69.142") == ipaddress.ip_address("81.2.69.142")


GEOLITE = {"city": {"names": {"en": "Sydney", "de": "Sydney"}}, "country": {"iso_code": "AU"},
           "location": {"latitude": -33.8715, "longitude": 151.2006, "accuracy_radius": 50}}
DBIP = {"city": {"names": {"en": "Sydney"}}, "country": {"iso_code": "AU", "names": {}},
        "location": {"latitude": -33.8715, "longitude": 151.2006}}
IPINFO = {"city": "Sydney", "country": "AU", "lat": "-33.8715", "lng": "151.2006",
          "timezone": "Australia/Sydney"}


@pytest.mark.parametrize("record, radius", [(GEOLITE, 50.0), (DBIP, None), (IPINFO, None)])
def test_the_three_record_layouts(record, radius):
    loc = ipgeo.location_from_record(record)
    assert loc == ipgeo.IpLocation(-33.8715, 151.2006, radius, "Sydney", "AU")
    label = ipgeo.client_label("203.0.113.7", loc)
    assert label == ("203.0.113.7 · Sydney, AU (±50 km)" if radius else
                     "203.0.113.7 · Sydney, AU (accuracy unknown)")


def test_records_without_coordinates_or_city():
    assert ipgeo.location_from_record({"country": {"iso_code": "AU"}}) is None
    assert ipgeo.location_from_record({"lat": "x", "lng": "1"}) is None
    assert ipgeo.location_from_record({"location": {"latitude": 91, "longitude": 0}}) is None
    loc = ipgeo.location_from_record({"location": {"latitude": 35.7, "longitude": 139.7,
                                                   "accuracy_radius": 1000},
                                      "registered_country": {"iso_code": "jp"}})
    assert loc is not None and loc.place == "JP" and loc.accuracy == "±1,000 km"


records = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(
        st.sampled_from(["location", "latitude", "longitude", "lat", "lng", "city", "names",
                         "en", "country", "iso_code", "accuracy_radius"]), kids, max_size=4),
    max_leaves=12)


@relaxed
@given(records)
def test_any_record_gives_a_valid_location_or_none(record):
    loc = ipgeo.location_from_record(record)
    if loc is not None:
        assert -90 <= loc.lat <= 90 and -180 <= loc.lon <= 180
        assert loc.radius_km is None or loc.radius_km >= 0
        assert isinstance(loc.place, str) and isinstance(loc.accuracy, str)


@relaxed
@given(st.one_of(v4, v6), st.text(max_size=30))
def test_links_never_carry_the_address_of_an_ip_client(addr, city):
    loc = ipgeo.IpLocation(1.0, 2.0, 10.0, city, "GB")
    name = ipgeo.client_label(str(addr), loc)
    redacted = ipgeo.redact_name(name)
    assert str(addr) not in redacted.split(" · ", 1)[0]
    assert redacted.startswith("IP · ")


def test_other_names_are_not_redacted():
    for name in ("Paris, FR", "shop · London", "cafe · 1.2.3.4", "1.2.3 · x", ""):
        assert ipgeo.redact_name(name) == name


def test_address_files_keep_every_row_and_reject_bad_weights_by_line():
    rows, rejected = ipgeo.parse_ip_rows(
        "# export\nIP;name;weight;path\n81.2.69.142;shop;2;/a\nnot-an-ip;;1;/b\n"
        "10.0.0.1;;-1;/c\n\n2a02:cf40::7\n")
    assert [(r.line, r.ip, r.name, r.weight) for r in rows] == [
        (3, "81.2.69.142", "shop", 2.0), (4, "not-an-ip", "", 1.0), (7, "2a02:cf40::7", "", 1.0)]
    assert rejected.count == 1 and rejected.errors[0].line == 5
    assert rejected.errors[0].column == "weight"


def test_address_files_need_an_ip_header_and_respect_the_row_cap():
    assert ipgeo.is_ip_header("ip,name") and ipgeo.is_ip_header("Client_IP\tweight")
    assert not ipgeo.is_ip_header("lat,lon")
    with pytest.raises(ClientsError, match="ip"):
        ipgeo.parse_ip_rows("name,weight\na,1\n")
    with pytest.raises(ClientsError, match="more than 2"):
        ipgeo.parse_ip_rows("ip\n1.1.1.1\n1.1.1.2\n1.1.1.3\n", max_rows=2)


def test_the_fast_paths_first_octets_cover_every_ipv4_special_range():
    for net, _why in ipgeo._SPECIAL_V4:
        n = ipaddress.ip_network(net)
        firsts = range(int(n.network_address) >> 24, (int(n.broadcast_address) >> 24) + 1)
        assert set(firsts) <= ipgeo.SPECIAL_FIRST_OCTETS, net
