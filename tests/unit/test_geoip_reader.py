"""The GeoIP reader (dashboard/geoip.py) against small databases built in the test with
mmdb-writer (tests/geoip_db.py), in the three record layouts; and the batch engine's locate
stage and ``ip`` column (services/batch/)."""

from __future__ import annotations

import io
from pathlib import Path

import maxminddb
import numpy as np
import pandas as pd
import pytest
from mmdb_writer import MMDBWriter
from netaddr import IPSet

from dashboard.domain import ipgeo
from dashboard.geoip import GeoIp, GeoIpError, open_geoip, reader_for
from dashboard.services import batch
from dashboard.settings import Settings
from tests.geoip_db import (COUNTRY_ONLY_IP, JAPAN_V6, LINKOPING, LONDON, OSLO_V6, UNKNOWN_IP,
                            build_mmdb)


@pytest.fixture(scope="module")
def dbs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("geoip")
    return {layout: build_mmdb(root / f"{layout}.mmdb", layout)
            for layout in ("geolite2", "dbip", "ipinfo")}


@pytest.mark.parametrize("layout", ["geolite2", "dbip", "ipinfo"])
def test_each_layout_locates_ipv4_and_ipv6(dbs, layout):
    g = GeoIp(dbs[layout])
    london = g.locate(LONDON)
    assert london.ok and london.location.city == "London" and london.location.country == "GB"
    assert (london.location.lat, london.location.lon) == (51.5142, -0.0931)
    assert london.location.radius_km == (10.0 if layout == "geolite2" else None)
    assert g.locate(LINKOPING).location.city == "Linköping"
    oslo = g.locate(OSLO_V6)
    assert oslo.ok and oslo.label.startswith("2a02:cf40::7 · Oslo, NO (")
    japan = g.locate(JAPAN_V6)
    assert japan.ok and japan.location.place == "JP"
    assert g.locate("::ffff:" + LONDON).location.city == "London"


def test_unknown_country_only_special_and_malformed_rows_say_why(dbs):
    g = GeoIp(dbs["geolite2"])
    assert g.locate(UNKNOWN_IP).status == ipgeo.UNKNOWN
    assert g.locate(COUNTRY_ONLY_IP).status == ipgeo.NO_LOCATION
    assert g.locate("192.168.1.1").status == ipgeo.SPECIAL
    assert g.locate("1.2.3").status == ipgeo.MALFORMED
    for r in g.locate_many([UNKNOWN_IP, COUNTRY_ONLY_IP, "192.168.1.1", "1.2.3"]):
        assert not r.ok and r.message


def test_attribution_and_metadata(dbs):
    assert "DB-IP" in GeoIp(dbs["dbip"]).info.attribution
    assert "CC BY 4.0" in GeoIp(dbs["dbip"]).info.attribution
    assert "GeoLite2" in GeoIp(dbs["geolite2"]).info.attribution
    info = GeoIp(dbs["geolite2"]).info
    assert info.database_type == "GeoLite2-City" and info.ip_version == 6 and info.built


def test_an_ipv4_only_database_does_not_cover_ipv6(tmp_path):
    w = MMDBWriter(ip_version=4, database_type="GeoLite2-City")
    w.insert_network(IPSet(["81.2.69.0/24"]), {"location": {"latitude": 1.0, "longitude": 2.0}})
    w.to_db_file(str(tmp_path / "v4.mmdb"))
    g = GeoIp(tmp_path / "v4.mmdb")
    assert g.locate(LONDON).ok
    assert g.locate(OSLO_V6).status == ipgeo.UNKNOWN


def test_opened_once_per_process_and_bad_files_name_the_setting(dbs, tmp_path):
    assert open_geoip(dbs["geolite2"]) is open_geoip(str(dbs["geolite2"]))
    assert reader_for(Settings()) is None
    with pytest.raises(GeoIpError, match="ANYCAST_GEOIP_MMDB: no file"):
        reader_for(Settings(geoip_mmdb=tmp_path / "missing.mmdb"))
    junk = tmp_path / "junk.mmdb"
    junk.write_bytes(b"not a database" * 10)
    with pytest.raises(GeoIpError, match="not a readable MaxMind DB"):
        open_geoip(junk)


@pytest.mark.parametrize("mode", [maxminddb.MODE_MMAP_EXT, maxminddb.MODE_MMAP,
                                  maxminddb.MODE_MEMORY])
def test_the_column_fast_path_gives_the_same_answers_as_one_by_one(dbs, mode):
    g = GeoIp(dbs["geolite2"], mode)
    texts = [LONDON, "81.2.69.1", "81.2.69.1", LINKOPING, OSLO_V6, JAPAN_V6, UNKNOWN_IP,
             COUNTRY_ONLY_IP, "10.0.0.1", "01.2.3.4", " 81.2.69.7", "", "x", None, "8.8.8.8",
             "\udc80", "８１.2.69.1", "81.2.69.1\x00"]
    col = g.locate_column(texts)
    for i, t in enumerate(texts):
        one = g.locate("" if t is None else t)
        assert col.status[i] == one.status and col.message[i] == one.message, t
        assert col.ip[i] == one.ip
        if one.ok:
            assert (col.lat[i], col.lon[i]) == (one.location.lat, one.location.lon)
            assert col.place[i] == one.location.place
        else:
            assert np.isnan(col.lat[i]) and col.place[i] == ""


@pytest.mark.parametrize("record_size", [24, 28, 32])
def test_the_vectorised_tree_walk_reads_every_record_size(tmp_path, record_size):
    db = build_mmdb(tmp_path / f"r{record_size}.mmdb", "geolite2", record_size)
    g = GeoIp(db)
    assert g._reader.metadata().record_size == record_size
    texts = [LONDON, "81.2.69.200", LINKOPING, OSLO_V6, "2a02:cf40:ffff::1", JAPAN_V6,
             UNKNOWN_IP, COUNTRY_ONLY_IP, "1.159.255.255", "1.160.0.0", "::ffff:89.160.20.1",
             "255.1.1.1", "2c0f::1"]
    col = g.locate_column(texts)
    assert col.status.tolist() == [g.locate(t).status for t in texts]
    assert col.place.tolist()[:6] == ["London, GB", "London, GB", "Linköping, SE", "Oslo, NO",
                                      "Oslo, NO", "JP"]


def test_the_tree_walk_agrees_with_the_c_reader_on_random_addresses(dbs):
    rng = np.random.default_rng(7)
    g = GeoIp(dbs["ipinfo"])
    near = [f"81.2.{rng.integers(60, 80)}.{rng.integers(0, 256)}" for _ in range(300)]
    rand4 = [".".join(str(x) for x in rng.integers(0, 256, 4)) for _ in range(300)]
    rand6 = [f"2a02:cf{rng.integers(30, 50):02x}::{rng.integers(0, 65535):x}" for _ in range(200)]
    texts = near + rand4 + rand6
    col = g.locate_column(texts)
    for i, t in enumerate(texts):
        one = g.locate(t)
        assert (col.status[i], col.place[i] or "") == (one.status, one.location.place
                                                       if one.ok else ""), t


# -- the batch engine ---------------------------------------------------------------------------

IP_CSV = (f"# log export\nip,name,weight,path\n{LONDON},shop,2,/a\n{LONDON},,,/b\n"
          f"10.0.0.1,,1,/c\n{UNKNOWN_IP},,1,/d\nnot-an-ip,,1,/e\n{OSLO_V6},oslo,x,/f\n"
          f"{JAPAN_V6},,3,/g\n")


def assign(catalog, source, job, target="-", **kw) -> tuple[batch.Summary, bytes]:
    out = io.BytesIO()
    if isinstance(source, str):
        summary = batch.assign_file(catalog, "-", target, job, stdin=io.BytesIO(
            source.encode()), stdout=out, **kw)
    else:
        summary = batch.assign_file(catalog, source, target, job, stdout=out, **kw)
    return summary, out.getvalue()


def test_batch_ip_column_keeps_every_row_with_its_status(catalog, dbs):
    job = batch.Job("eu-central-1", geoip_mmdb=str(dbs["geolite2"]))
    summary, body = assign(catalog, IP_CSV, job, rows=3, workers=2)
    df = pd.read_csv(io.BytesIO(body), keep_default_na=False)
    assert list(df.columns[:5]) == batch.IP_COLUMNS
    assert df["ip"].tolist() == [LONDON, LONDON, "10.0.0.1", UNKNOWN_IP, "not-an-ip", OSLO_V6,
                                 JAPAN_V6]
    assert df["geoip_status"].tolist() == ["ok", "ok", "special", "unknown", "malformed",
                                           "malformed", "ok"]
    assert df["pop_id"].tolist() == ["LHR", "LHR", "", "", "", "", "NRT"]
    assert df["routed"].tolist() == [True, True, False, False, False, False, True]
    assert df["name"].tolist()[:2] == ["shop", ""] and df["weight"].tolist()[:2] == [2.0, 1.0]
    assert "RFC 1918" in df["geoip_message"][2] and "weight" in df["geoip_message"][5]
    assert df["geoip_place"][0] == "London, GB" and float(df["geoip_radius_km"][0]) == 10.0
    assert summary.clients == 7 and summary.routed == 3
    assert summary.geoip == {"ok": 3, "special": 1, "unknown": 1, "malformed": 2}
    assert "IP addresses located: 3 of 7" in summary.text()


def test_batch_without_a_database_keeps_the_rows_and_says_how_to_configure(catalog):
    summary, body = assign(catalog, IP_CSV, batch.Job("eu-central-1"))
    df = pd.read_csv(io.BytesIO(body), keep_default_na=False)
    assert len(df) == 7 and summary.routed == 0
    assert set(df["geoip_status"]) == {"no_database", "malformed"}
    assert df["geoip_message"].str.contains("ANYCAST_GEOIP_MMDB").sum() == 6


def test_batch_parquet_ip_column_in_and_out(catalog, dbs, tmp_path):
    src = tmp_path / "ips.parquet"
    pd.DataFrame({"IP": [LONDON, "bad", OSLO_V6], "weight": [1.0, 2.0, np.nan]}).to_parquet(src)
    job = batch.Job("eu-central-1", geoip_mmdb=str(dbs["dbip"]))
    summary, _ = assign(catalog, src, job, target=tmp_path / "out.parquet")
    out = pd.read_parquet(tmp_path / "out.parquet")
    assert out["geoip_status"].tolist() == ["ok", "malformed", "ok"]
    assert out["pop_id"].tolist()[0] == "LHR" and np.isnan(out["geoip_radius_km"][0])
    assert out["weight"].tolist() == [1.0, 2.0, 1.0] and summary.routed == 2


def test_coordinate_files_are_unchanged_by_the_ip_stage(catalog):
    _, body = assign(catalog, "lat,lon\n48.86,2.35\n", batch.Job("eu-central-1"))
    assert body.decode().splitlines()[0].startswith("name,lat,lon,weight,pop_id")


def test_a_ragged_ip_csv_stops_with_its_reason(catalog, dbs):
    job = batch.Job("eu-central-1", geoip_mmdb=str(dbs["geolite2"]))
    with pytest.raises(Exception, match="not a readable CSV of IP addresses|Expected"):
        assign(catalog, "ip,name\n81.2.69.142,a\n81.2.69.1,b,c,d\n", job)


def test_the_ipv6_fast_path_reads_only_what_python_would_read_the_same_way(dbs):
    import ipaddress

    from hypothesis import given, settings as hsettings
    from hypothesis import strategies as st

    from dashboard.geoip import _canonical_v6

    @hsettings(max_examples=300, deadline=None)
    @given(st.integers(0, 2**128 - 1))
    def check(value):
        addr = ipaddress.IPv6Address(value)
        for text in (str(addr), addr.exploded, str(addr).upper()):
            packed = _canonical_v6(text)
            if packed is not None:
                assert text == str(addr) and packed == addr.packed

    check()
    g = GeoIp(dbs["geolite2"])
    odd = ["2A02:CF40::7", "2a02:cf40:0:0::7", "2a02:cf40::0.0.0.7", "::ffff:81.2.69.142",
           "2a02:cf40::7%eth0", "2a02:cf40::7/64", "::", "2001:db8::1", "fe80::1"]
    col = g.locate_column(odd)
    for i, t in enumerate(odd):
        one = g.locate(t)
        assert (col.status[i], col.ip[i], col.place[i]) == (
            one.status, one.ip, one.location.place if one.ok else ""), t


class _Pipe(io.RawIOBase):
    """A stream that cannot seek (standard input from a pipe)."""

    def __init__(self, data: bytes) -> None:
        self.data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, b) -> int:
        chunk = self.data.read(min(len(b), 7))  # short reads, as from a pipe
        b[:len(chunk)] = chunk
        return len(chunk)


@pytest.mark.parametrize("text, first", [
    (IP_CSV, "ip,geoip_status"), ("lat,lon,name\n48.86,2.35,Paris\n" * 1, "name,lat,lon")])
def test_standard_input_that_cannot_seek_is_read_whole(catalog, dbs, text, first):
    job = batch.Job("eu-central-1", geoip_mmdb=str(dbs["geolite2"]))
    out = io.BytesIO()
    batch.assign_file(catalog, "-", "-", job, stdin=_Pipe(text.encode()), stdout=out)
    lines = out.getvalue().decode().splitlines()
    assert lines[0].startswith(first) and len(lines) == text.count("\n") - text.count("#")


@pytest.mark.parametrize("text, want", [
    ("\ufeffip;weight\r\n81.2.69.142;2\r\n10.0.0.1;1\r\n", ["ok", "special"]),
    ("ip\t name\n81.2.69.142\tx\n", ["ok"]),
    ('"IP","name"\n"81.2.69.142","a, b"\n', ["ok"]),
])
def test_ip_csv_dialects(catalog, dbs, text, want):
    job = batch.Job("eu-central-1", geoip_mmdb=str(dbs["geolite2"]))
    _, body = assign(catalog, text, job)
    df = pd.read_csv(io.BytesIO(body), keep_default_na=False)
    assert df["geoip_status"].tolist() == want and df["pop_id"][0] == "LHR"


def test_an_ip_csv_without_rows_says_so(catalog, dbs):
    job = batch.Job("eu-central-1", geoip_mmdb=str(dbs["geolite2"]))
    with pytest.raises(Exception, match="no client rows"):
        assign(catalog, "ip\n", job)
