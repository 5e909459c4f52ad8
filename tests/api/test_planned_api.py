"""Planned PoPs in the JSON API (``planned=``) and the CLI (``--add-pop``): the same parser and
checks as the page, a 400 JSON / exit 2 with a clear message for bad input (docs/planning.md,
docs/api.md)."""

from __future__ import annotations

import json

import pytest

from dashboard.cli import main

NEAREST_JNB = "/api/v1/nearest?lat=-26.2&lon=28.05&planned=JNB:-26.2041,28.0473"


def test_nearest_answers_the_planned_pop(client):
    r = client.get(NEAREST_JNB)
    assert r.status_code == 200
    body = r.get_json()
    assert body["pop"]["id"] == "JNB"
    assert body["planned"] == [{"id": "JNB", "lat": -26.2041, "lon": 28.0473}]
    assert body["ranked"][0]["id"] == "JNB"


@pytest.mark.parametrize("policy", ["geographic", "network"])
def test_both_policies_and_down(client, policy):
    body = client.get(NEAREST_JNB + f"&policy={policy}").get_json()
    assert body["pop"]["id"] == "JNB"
    down = client.get(NEAREST_JNB + f"&policy={policy}&down=JNB").get_json()
    assert down["pop"]["id"] != "JNB" and down["down"] == ["JNB"]


def test_without_planned_the_answer_is_unchanged(client):
    body = client.get("/api/v1/nearest?lat=-26.2&lon=28.05").get_json()
    assert body["pop"]["id"] != "JNB" and "planned" not in body


def test_several_planned_pops_named_and_with_capacity(client):
    r = client.get("/api/v1/nearest?lat=6.5&lon=3.4&planned=JNB:-26.2041,28.0473,Johannesburg"
                   "&planned=LOS:6.45,3.39,Lagos%20hub,5")
    body = r.get_json()
    assert r.status_code == 200 and body["pop"]["id"] == "LOS"
    assert body["planned"][1] == {"id": "LOS", "lat": 6.45, "lon": 3.39, "name": "Lagos hub",
                                  "capacity_gbps": 5.0}


@pytest.mark.parametrize("value, fragment", [
    ("CDG:1,2", "catalog access point id"),
    ("JNB:-126,28", "latitude -126"),
    ("JNB", "expected ID:lat,lon"),
    ("J!:1,2", "2-8 letters"),
    ("JNB:1,2;JNB:3,4", "appears twice"),
    ("BJS:39.9,116.4", "Chinese mainland"),
    (";".join(f"P{i}:1,{i}" for i in range(11)), "at most 10"),
    ("JNB:1," + "9" * 2100, "longer than 2000"),
])
def test_bad_planned_is_a_400_naming_it(client, value, fragment):
    r = client.get(f"/api/v1/nearest?lat=1&lon=2&planned={value}")
    assert r.status_code == 400 and r.is_json
    error = r.get_json()["error"]
    assert error.startswith("planned: ") and fragment in error, error


def test_assign_counts_the_planned_pop(client):
    r = client.post("/api/v1/assign?planned=JNB:-26.2041,28.0473",
                    json={"clients": [{"lat": -26.2, "lon": 28.05}, {"lat": -1.29, "lon": 36.82},
                                      {"lat": 48.85, "lon": 2.35}]})
    body = r.get_json()
    assert r.status_code == 200
    assert [a["pop"] for a in body["assignments"]] == ["JNB", "JNB", "CDG"]
    assert body["summary"]["by_pop"][0] == {"id": "JNB", "clients": 2, "weight": 2.0}
    assert body["planned"][0]["id"] == "JNB"
    csv = client.post("/api/v1/assign?planned=JNB:-26.2041,28.0473&down=JNB",
                      data="-26.2,28.05\n", content_type="text/csv").get_json()
    assert csv["assignments"][0]["pop"] != "JNB"
    bad = client.post("/api/v1/assign?planned=CDG:1,2", json={"clients": []})
    assert bad.status_code == 400 and "planned:" in bad.get_json()["error"]


# -- CLI -----------------------------------------------------------------------------------------

def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_nearest_with_add_pop(capsys):
    code, out, err = run(capsys, "nearest", "--lat", "-26.2", "--lon", "28.05", "--add-pop",
                         "JNB:-26.2041,28.0473", "--k", "2", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["pops"][0]["pop_id"] == "JNB" and doc["planned"] == ["JNB"]
    code, out, err = run(capsys, "nearest", "--lat", "-26.2", "--lon", "28.05", "--add-pop",
                         "JNB:-26.2041,28.0473", "--add-pop", "NBO:-1.29,36.82",
                         "--down", "JNB", "--policy", "network", "--k", "1")
    assert code == 0, err
    assert "NBO" in out.splitlines()[2] and "down  JNB" in out


@pytest.mark.parametrize("value, fragment", [
    ("CDG:1,2", "catalog access point id"),
    ("JNB:95,2", "latitude 95"),
    ("nonsense", "expected ID:lat,lon"),
    ("BJS:39.9,116.4", "Chinese mainland"),
])
def test_cli_bad_add_pop_is_a_clear_error(capsys, value, fragment):
    code, out, err = run(capsys, "nearest", "--lat", "1", "--lon", "2", "--add-pop", value)
    assert code == 2 and err.startswith("error: --add-pop: ") and fragment in err, err


def test_cli_add_pop_cap(capsys):
    args = [a for i in range(11) for a in ("--add-pop", f"P{i}:1,{i}")]
    code, _out, err = run(capsys, "nearest", "--lat", "1", "--lon", "2", *args)
    assert code == 2 and "at most 10" in err


def test_cli_assign_with_add_pop(capsys, tmp_path):
    src = tmp_path / "c.csv"
    src.write_text("lat,lon,name\n-26.2,28.05,Johannesburg\n48.85,2.35,Paris\n")
    target = tmp_path / "out.csv"
    code, _out, err = run(capsys, "assign", str(src), "-o", str(target), "--add-pop",
                          "JNB:-26.2041,28.0473", "-q")
    assert code == 0, err
    text = target.read_text()
    assert "JNB" in text and "CDG" in text
    code, _out, err = run(capsys, "assign", str(src), "-o", str(tmp_path / "d"), "--add-pop",
                          "JNB:-26.2041,28.0473", "--dask", "synchronous")
    assert code == 2 and "--dask" in err
