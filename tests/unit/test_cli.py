"""The ``anycast-dashboard`` console script: ``nearest`` and ``assign`` (``serve`` is exercised by
the app tests). Tests call ``main([...])`` and read stdout/stderr; one runs the real entry point
in a subprocess."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pandas as pd
import pytest
from geopy.distance import geodesic as geopy_geodesic

from dashboard.cli import main
from tests.conftest import ROOT, TEST_DATA

PARIS = ["--lat", "48.86", "--lon", "2.35"]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_nearest_table_ranks_healthy_pops_and_flags_nearer_down_ones(capsys):
    code, out, err = run(capsys, "nearest", *PARIS, "--down", "CDG,lhr", "--k", "3")
    assert code == 0, err
    lines = out.splitlines()
    assert "down: CDG, LHR" in lines[0] and "eu-central-1" in lines[0]
    body = [line.split() for line in lines[2:-1]]
    assert [row[:2] for row in body] == [["1", "FRA"], ["2", "MAD"], ["3", "IAD"],
                                         ["down", "CDG"], ["down", "LHR"]]
    assert "WGS84 geodesic" in lines[-1]


def test_nearest_json_distances_are_geopy_exact_and_rtt_legs_add_up(capsys):
    code, out, _ = run(capsys, "nearest", *PARIS, "--json", "--origin", "us-east-1")
    assert code == 0
    doc = json.loads(out)
    assert doc["origin"] == "us-east-1" and doc["routed"] is True and doc["down"] == []
    pops = doc["pops"]
    assert len(pops) == 19 and [p["rank"] for p in pops] == list(range(1, 20))
    assert pops[0]["pop_id"] == "CDG" and pops[0]["name"] == "France (Paris)"
    assert [p["distance_km"] for p in pops] == sorted(p["distance_km"] for p in pops)
    assert pops[0]["distance_km"] == pytest.approx(
        geopy_geodesic((48.86, 2.35), (48.85341, 2.3488)).km, abs=1e-3)
    for p in pops:
        assert p["anycast_ms"] == pytest.approx(p["internet_ms"] + p["backbone_ms"], abs=2e-3)


def test_nearest_json_k_and_down(capsys):
    code, out, _ = run(capsys, "nearest", *PARIS, "--json", "--k", "1", "--down", "CDG",
                       "--down", "FRA")
    doc = json.loads(out)
    assert code == 0 and doc["down"] == ["CDG", "FRA"]
    assert [(p["pop_id"], p["rank"], p["up"]) for p in doc["pops"]] == [
        ("LHR", 1, True), ("CDG", None, False)]


def test_all_down_is_no_route_not_an_error(capsys, catalog):
    every = ",".join(catalog.pop_ids)
    code, out, _ = run(capsys, "nearest", *PARIS, "--down", every)
    assert code == 0 and "no route: every access point is down" in out
    code, out, _ = run(capsys, "nearest", *PARIS, "--down", every, "--json")
    doc = json.loads(out)
    assert doc["routed"] is False and all(p["rank"] is None for p in doc["pops"])


@pytest.mark.parametrize("argv, message", [
    (["nearest", *PARIS, "--down", "CDG,XYZ"], "unknown access point id(s) in --down: XYZ"),
    (["nearest", *PARIS, "--origin", "mars-1"], "unknown origin region 'mars-1'"),
    (["nearest", "--lat", "95", "--lon", "2"], "latitude 95.0 is not a number in [-90, 90]"),
    (["nearest", "--lat", "nan", "--lon", "2"], "latitude nan"),
    (["nearest", *PARIS, "--k", "0"], "--k must be >= 1"),
    (["assign", str(TEST_DATA / "clients_bad_lat.csv")],
     "clients_bad_lat.csv: line 3, column 'lat': latitude 95.5 is outside [-90, 90] degrees"),
    (["assign", str(TEST_DATA / "clients_latin1.csv")], "line 2: not UTF-8 text"),
    (["assign", str(TEST_DATA / "clients_binary.csv")], "not UTF-8 text"),
    (["assign", str(TEST_DATA / "no_such_file.csv")], "no_such_file.csv: file not found"),
    (["assign", str(TEST_DATA / "clients_header.csv"), "--down", "ZZZ"], "ZZZ"),
    (["nearest", *PARIS, "--pops", str(TEST_DATA / "pops_nan_lat.csv")], "pops_nan_lat.csv"),
])
def test_bad_input_exits_2_with_a_message_naming_the_problem(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert err.startswith("error: ") and message in err


def test_usage_errors_exit_2_and_help_exits_0(capsys):
    code, _, err = run(capsys, "nearest", "--lat", "1")
    assert code == 2 and "--lon" in err
    code, _, err = run(capsys, "nearest", "--lat", "north", "--lon", "1")
    assert code == 2 and "invalid float value" in err
    code, out, _ = run(capsys, "assign", "--help")
    assert code == 0 and "clients CSV" in out


def test_assign_writes_route_table_columns_plus_name_and_weight(capsys, tmp_path):
    target = tmp_path / "out.csv"
    code, out, err = run(capsys, "assign", str(TEST_DATA / "clients_header.csv"), "-o",
                         str(target), "--down", "NRT", "--origin", "cn-hongkong")
    assert code == 0 and out == ""
    assert "assigned 3 end-user clients" in err and str(target) in err
    df = pd.read_csv(target, keep_default_na=False)
    assert list(df.columns[:4]) == ["name", "lat", "lon", "weight"]
    assert {"pop_id", "pop_km", "runner_up_id", "anycast_ms", "direct_ms", "saving_ms",
            "routed"} <= set(df.columns)
    assert df["name"].tolist() == ["Paris, France", "Tokyo", "Sao Paulo"]
    assert df["weight"].tolist() == [3.0, 1.0, 1.0]
    assert set(df["access"]) == {"end-user"} and set(df["policy"]) == {"geographic"}
    assert df["pop_id"].tolist() == ["CDG", "ICN", "GRU"]  # NRT is down: Tokyo goes to Seoul
    assert df["pop_km"][0] == pytest.approx(
        geopy_geodesic((48.86, 2.35), (48.85341, 2.3488)).km, abs=1e-3)


@pytest.mark.parametrize("dash_o", [[], ["-o", "-"]])
def test_assign_to_stdout(capsys, dash_o):
    code, out, _ = run(capsys, "assign", str(TEST_DATA / "clients_noheader.csv"), *dash_o)
    assert code == 0
    df = pd.read_csv(io.StringIO(out), keep_default_na=False)
    assert df["name"].tolist() == ["Paris", "Tokyo", ""]
    assert df["pop_id"].tolist() == ["CDG", "NRT", "SYD"]


def test_assign_from_stdin(capsys, monkeypatch):
    class Stdin:
        buffer = io.BytesIO(b"lat,lon,name\n1.29,103.85,Singapore\n")

    monkeypatch.setattr(sys, "stdin", Stdin())
    code, out, _ = run(capsys, "assign", "-")
    assert code == 0
    assert pd.read_csv(io.StringIO(out))["pop_id"].tolist() == ["SIN"]


def test_assign_with_every_pop_down_reports_no_route(capsys, catalog):
    code, out, err = run(capsys, "assign", str(TEST_DATA / "clients_noheader.csv"), "--down",
                         ",".join(catalog.pop_ids))
    assert code == 0 and "3 without a route" in err
    df = pd.read_csv(io.StringIO(out), keep_default_na=False)
    assert df["routed"].tolist() == [False] * 3 and df["pop_id"].tolist() == [""] * 3


def test_catalog_overrides_apply_to_every_command(capsys, tmp_path):
    pops = tmp_path / "pops.csv"
    pops.write_text("id,name,city,country_code,area,lat,lon\n"
                    "AAA,Alpha,Reykjavik,IS,Europe,64.1,-21.9\n"
                    "BBB,Beta,Lisbon,PT,Europe,38.7,-9.1\n")
    code, out, _ = run(capsys, "nearest", *PARIS, "--json", "--pops", str(pops))
    assert code == 0
    assert [p["pop_id"] for p in json.loads(out)["pops"]] == ["BBB", "AAA"]
    code, out, _ = run(capsys, "assign", str(TEST_DATA / "clients_noheader.csv"),
                       "--pops", str(pops), "--origins", str(ROOT / "data" / "origins.csv"))
    assert code == 0
    assert set(pd.read_csv(io.StringIO(out))["pop_id"]) <= {"AAA", "BBB"}


@pytest.mark.slow
def test_real_console_entry_point():
    proc = subprocess.run([sys.executable, "-m", "dashboard", "nearest", *PARIS, "--json",
                           "--down", "CDG"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["pops"][0]["pop_id"] == "LHR"
    proc = subprocess.run([sys.executable, "-m", "dashboard", "assign",
                           str(TEST_DATA / "clients_bad_lat.csv")], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2 and "line 3, column 'lat'" in proc.stderr


def test_assign_output_is_formula_safe(capsys, monkeypatch):
    class Stdin:
        buffer = io.BytesIO(b"lat,lon,name\n1.29,103.85,=HYPERLINK(\"http://x\")\n"
                            b"-33.87,151.21,Sydney\n")

    monkeypatch.setattr(sys, "stdin", Stdin())
    code, out, _ = run(capsys, "assign", "-")
    assert code == 0
    df = pd.read_csv(io.StringIO(out))
    assert df["name"].tolist() == ["'=HYPERLINK(\"http://x\")", "Sydney"]
    assert df["lat"].tolist() == [1.29, -33.87]  # negative numbers stay numbers


@pytest.mark.slow
def test_assign_entry_point_exits_fast_with_the_same_output_and_status(tmp_path, capsys):
    """``python -m dashboard.cli assign`` ends with os._exit after a plain assign (no teardown):
    the file and stdout are complete and the status is main()'s; errors still exit 2."""
    src = tmp_path / "clients.csv"
    src.write_text("name,lat,lon,weight\n" + "".join(
        f"c{i},{(i * 7) % 180 - 89.5},{(i * 13) % 360 - 179.5},{i % 5}\n" for i in range(3000)))
    assert main(["assign", str(src), "-o", str(tmp_path / "ref.csv"), "-q",
                 "--chunk-rows", "1000"]) == 0
    for mod in ("dashboard.cli", "dashboard"):
        proc = subprocess.run([sys.executable, "-m", mod, "assign", str(src), "-o",
                               str(tmp_path / "out.csv"), "--chunk-rows", "1000"], cwd=ROOT,
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        assert "assigned 3000" in proc.stderr
        assert (tmp_path / "out.csv").read_bytes() == (tmp_path / "ref.csv").read_bytes()
        proc = subprocess.run([sys.executable, "-m", mod, "assign", str(src), "-q",
                               "--chunk-rows", "1000"], cwd=ROOT, capture_output=True,
                              timeout=60)
        assert proc.returncode == 0 and proc.stdout == (tmp_path / "ref.csv").read_bytes()
    proc = subprocess.run([sys.executable, "-m", "dashboard.cli", "assign",
                           str(tmp_path / "missing.csv")], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2 and "file not found" in proc.stderr


def test_exit_now_only_after_a_finished_plain_assign(monkeypatch):
    """main() as a function never exits; _exit_now refuses unless an assign finished and no
    other thread is alive."""
    import threading

    from dashboard import cli

    monkeypatch.setattr(cli, "_FINISHED_ASSIGN", [False])
    assert cli._exit_now(0) is False
    monkeypatch.setattr(cli, "_FINISHED_ASSIGN", [True])
    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    try:
        assert cli._exit_now(0) is False
    finally:
        stop.set()
        t.join()
