"""Small MaxMind-format databases for the tests, written with ``mmdb-writer`` into a tmp dir
(no binary database is committed). Three layouts, as the app reads them
(:mod:`dashboard.domain.ipgeo`): ``geolite2`` (nested, with ``accuracy_radius``), ``dbip``
(nested, no radius) and ``ipinfo`` (flat ``lat``/``lng`` as text, ``city``, ``country``).

The networks borrow MaxMind's own test-data addresses (GeoIP2 test databases), so the tests
read like the libraries' documentation.
"""

from __future__ import annotations

from pathlib import Path

from mmdb_writer import MMDBWriter, MmdbF64, MmdbU16, TreeWriter
from netaddr import IPSet

#: (network, city, ISO country, lat, lon, accuracy radius km); city "" = country-level.
NETWORKS = (
    ("81.2.69.0/24", "London", "GB", 51.5142, -0.0931, 10),
    ("89.160.20.0/24", "Linköping", "SE", 58.4167, 15.6167, 76),
    ("175.16.199.0/24", "Changchun", "CN", 43.88, 125.3228, 100),
    ("2001:218::/32", "", "JP", 35.68536, 139.75309, 100),
    ("2a02:cf40::/32", "Oslo", "NO", 59.9127, 10.7461, 20),
)
#: A network with a record but no coordinates (as in a country-only database).
COUNTRY_ONLY = ("1.128.0.0/11", "AU")

#: Addresses of the networks above, for the tests.
LONDON, LINKOPING, JAPAN_V6, OSLO_V6 = "81.2.69.142", "89.160.20.112", "2001:218::1", "2a02:cf40::7"
COUNTRY_ONLY_IP = "1.128.0.1"
#: A public address in none of the networks.
UNKNOWN_IP = "8.8.4.4"


def _record(layout: str, city: str, cc: str, lat: float, lon: float, radius: int) -> dict:
    if layout == "ipinfo":
        rec = {"lat": f"{lat}", "lng": f"{lon}", "country": cc, "timezone": "Etc/UTC"}
        if city:
            rec["city"] = city
        return rec
    loc = {"latitude": MmdbF64(lat), "longitude": MmdbF64(lon)}
    if layout == "geolite2":
        loc["accuracy_radius"] = MmdbU16(radius)
    rec = {"location": loc, "country": {"iso_code": cc, "names": {"en": cc}},
           "continent": {"code": "EU"}}
    if city:
        rec["city"] = {"names": {"en": city, "de": city + "-de"}}
    return rec


DB_TYPES = {"geolite2": "GeoLite2-City", "dbip": "DBIP-City-Lite", "ipinfo": "ipinfo location"}


class _SizedTreeWriter(TreeWriter):
    """mmdb-writer picks the smallest record size; real databases use 24, 28 and 32 bits."""

    record_bits = 24

    def _adjust_record_size(self) -> None:
        super()._adjust_record_size()
        self.record_size = max(self.record_size, self.record_bits)
        self.data_offset = self.record_size * 2 / 8 * self._node_counter


def build_mmdb(path: Path, layout: str = "geolite2", record_size: int = 24) -> Path:
    """Write the test database of ``layout`` to ``path`` (IPv6 tree, IPv4 mapped in; search
    tree records of ``record_size`` bits); return the path."""
    w = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type=DB_TYPES[layout],
                   languages=["en"], description=f"anycast dashboard test db ({layout})")
    for net, city, cc, lat, lon, radius in NETWORKS:
        w.insert_network(IPSet([net]), _record(layout, city, cc, lat, lon, radius))
    w.insert_network(IPSet([COUNTRY_ONLY[0]]),
                     {"country": COUNTRY_ONLY[1]} if layout == "ipinfo"
                     else {"country": {"iso_code": COUNTRY_ONLY[1]}})
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = type("Writer", (_SizedTreeWriter,), {"record_bits": record_size})
    writer(w.tree, w._build_meta(), w.int_type, w.float_type).write(str(path))
    return path
