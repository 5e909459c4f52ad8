"""``anycast-dashboard nearest --ip`` and ``assign`` of a file with an ``ip`` column, with the
database named by ``ANYCAST_GEOIP_MMDB`` (built in the test with mmdb-writer)."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from dashboard.cli import main
from tests.geoip_db import LONDON, OSLO_V6, UNKNOWN_IP, build_mmdb


@pytest.fixture()
def mmdb(tmp_path, monkeypatch):
    db = build_mmdb(tmp_path / "city.mmdb")
    monkeypatch.setenv("ANYCAST_GEOIP_MMDB", str(db))
    return db


def run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse errors
        code = int(exc.code)
    out, err = capsys.readouterr()
    return code, out, err


def test_nearest_by_ip_prints_the_located_client(capsys, mmdb):
    code, out, err = run(capsys, "nearest", "--ip", LONDON, "--k", "1")
    assert code == 0, err
    assert out.splitlines()[0] == (f"client {LONDON} · London, GB (±10 km)  [This product "
                                   "includes GeoLite2 data created by MaxMind "
                                   "(https://www.maxmind.com)]")
    assert "LHR" in out
    code, out, _ = run(capsys, "nearest", "--ip", OSLO_V6, "--json")
    doc = json.loads(out)
    assert doc["client"]["ip"] == OSLO_V6 and doc["client"]["lat"] == 59.9127


@pytest.mark.parametrize("ip, words", [("10.0.0.1", "private address"),
                                       (UNKNOWN_IP, "not in the GeoIP database"),
                                       ("1.2.3", "not an IPv4 or IPv6 address")])
def test_nearest_by_ip_errors(capsys, mmdb, ip, words):
    code, _, err = run(capsys, "nearest", "--ip", ip)
    assert code == 2 and words in err


def test_nearest_needs_coordinates_or_an_ip(capsys, mmdb):
    code, _, err = run(capsys, "nearest", "--ip", LONDON, "--lat", "1", "--lon", "2")
    assert code == 2 and "not both" in err
    code, _, err = run(capsys, "nearest", "--lat", "1")
    assert code == 2 and "--ip" in err


def test_without_a_database_the_cli_says_how_to_configure_it(capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("ANYCAST_GEOIP_MMDB", raising=False)
    code, _, err = run(capsys, "nearest", "--ip", LONDON)
    assert code == 2 and "ANYCAST_GEOIP_MMDB" in err
    src = tmp_path / "ips.csv"
    src.write_text(f"ip\n{LONDON}\n")
    code, out, err = run(capsys, "assign", str(src), "-q")
    assert code == 0 and "note:" in err and "ANYCAST_GEOIP_MMDB" in err
    assert "no_database" in out


def test_assign_an_ip_file_keeps_every_row(capsys, mmdb, tmp_path):
    src = tmp_path / "ips.csv"
    src.write_text(f"ip,name\n{LONDON},a\n10.0.0.1,b\n{OSLO_V6},c\n")
    out = tmp_path / "out.csv"
    code, _, err = run(capsys, "assign", str(src), "-o", str(out))
    assert code == 0, err
    df = pd.read_csv(out, keep_default_na=False)
    assert df["geoip_status"].tolist() == ["ok", "special", "ok"]
    assert df["pop_id"].tolist() == ["LHR", "", "FRA"]
    assert "IP addresses located: 2 of 3" in err and "without a route" not in err
    assert "IP locations: This product includes GeoLite2 data" in err


def test_assign_from_stdin_with_an_ip_column(capsys, mmdb, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(f"IP\n{LONDON}\n".encode())))
    code, out, err = run(capsys, "assign", "-", "-q")
    assert code == 0, err
    assert out.splitlines()[1].startswith(f"{LONDON},ok,,")
