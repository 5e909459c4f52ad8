"""/api/v1/candidates (where to add an access point) and the CLI's ``candidates``: the same
ranking as the service, the scenario parameters of the other endpoints, caps with clear
400s."""

from __future__ import annotations

import json

import pytest

from dashboard import cli
from dashboard.admission import is_heavy
from dashboard.services import siting
from dashboard.services.capacity import population_demand

SITES = "-26.2041,28.0473,Johannesburg;-1.2864,36.8172,Nairobi;6.5244,3.3792,Lagos"


def test_user_sites_ranked_like_the_service(client, catalog):
    r = client.get(f"/api/v1/candidates?sites={SITES}&greedy=2&top=3")
    assert r.status_code == 200, r.get_data(as_text=True)
    body = r.get_json()
    want = siting.rank(catalog, population_demand(), "eu-central-1",
                       siting.parse_sites(SITES.replace(";", "\n")), top=3, greedy=2)
    assert [row["name"] for row in body["rows"]] == [row["name"] for row in want["rows"]]
    assert body["rows"][0]["gain_ms"] == want["rows"][0]["gain_ms"] > 0
    assert body["points"] == 34_006 and body["candidates"] == 3
    first = body["rows"][0]
    assert first["edit"] == {"op": "add-planned", "id": first["id"], "lat": first["lat"],
                             "lon": first["lon"], "name": first["name"]}
    assert {"Johannesburg", "Nairobi", "Lagos"} == {row["name"] for row in body["rows"]}


def test_scenario_parameters_change_the_answer(client):
    base = client.get(f"/api/v1/candidates?sites={SITES}&greedy=0").get_json()
    net = client.get(f"/api/v1/candidates?sites={SITES}&greedy=0&policy=network"
                     "&access=datacenter&down=FRA&origin=ap-southeast-1").get_json()
    assert net["policy"] == "network" and net["access"] == "datacenter"
    assert net["origin"] == "ap-southeast-1" and net["down"] == ["FRA"]
    assert net["mean_before_ms"] != base["mean_before_ms"]


@pytest.mark.slow
def test_metros_default_outside_the_mainland(client):
    body = client.get("/api/v1/candidates?metros=60&top=10&greedy=1").get_json()
    assert body["candidates"] == 60 and len(body["rows"]) == 10
    assert all(row["country"] != "CN" for row in body["rows"])
    assert len(body["greedy"]) == 1 and body["greedy_gain_ms"] > 0


@pytest.mark.parametrize("query, words", [
    ("metros=0", "metros: 0 is outside [1, 2000]"),
    ("metros=2001", "outside [1, 2000]"),
    ("metros=ten", "not a whole number"),
    ("top=51&sites=1,1", "top: 51 is outside [1, 50]"),
    ("greedy=4&sites=1,1", "greedy: 4 is outside [0, 3]"),
    ("sites=91,0", "line 1"),
    ("sites=39.9,116.4", "Chinese mainland"),
    ("sites=abc", "is not 'lat,lon[,name]'"),
    ("sites=" + "1,1;" * 1100, "longer than 4000 characters"),
    ("sites=1,1&metros=5", "metros or sites, not both"),
    ("policy=bgp&sites=1,1", "policy"),
    ("down=XXX&sites=1,1", "unknown access point id"),
    ("foo=1", "foo"),
    ("bias=XXX:+20&sites=1,1", "bias: unknown access point XXX"),
    ("bias=FRA:%2B500&sites=1,1", "bias: bias of FRA '+500' ms is outside -100..+100 ms"),
    ("bias=FRA&sites=1,1", "is not POP:ms"),
    ("bias=JNB:+5&sites=1,1", "unknown access point JNB"),
    ("planned=FRA:1,1&sites=1,1", "planned:"),
    ("planned=JNB:99,1&sites=1,1", "planned:"),
])
def test_bad_queries_are_400s_naming_the_parameter(client, query, words):
    r = client.get(f"/api/v1/candidates?{query}")
    assert r.status_code == 400
    assert words in r.get_json()["error"]


def test_the_endpoint_is_heavy():
    assert is_heavy("GET", "/api/v1/candidates", None)
    assert not is_heavy("GET", "/api/v1/nearest", None)


def test_cli_candidates(tmp_path, capsys):
    f = tmp_path / "sites.csv"
    f.write_text("lat,lon,name\n-26.2041,28.0473,Johannesburg\n-1.2864,36.8172,Nairobi\n")
    assert cli.main(["candidates", "--sites", str(f), "--greedy", "1", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["rows"][0]["name"] == "Johannesburg" and doc["greedy"][0]["id"] == "JOH"
    assert cli.main(["candidates", "--sites", str(f), "--greedy", "0"]) == 0
    out = capsys.readouterr().out
    assert "JOH" in out and "Johannesburg" in out and "gain_ms" in out
    assert cli.main(["candidates", "--sites", str(tmp_path / "none.csv")]) == 2
    assert "none.csv" in capsys.readouterr().err
    assert cli.main(["candidates", "--top", "60"]) == 2
    assert cli.main(["candidates", "--sites", str(f), "--metros", "5"]) == 2


FRA_SITES = "50.1109,8.6821,Frankfurt again;48.2082,16.3738,Vienna"


def test_bias_and_planned_enter_the_ranking(client, catalog):
    """bias= (the /nearest validator) and planned= (issue 20): the answer is the service's
    ranking under the same bias and planned PoPs, both echoed; a bias may name a planned PoP."""
    from dashboard.domain.planned import PlannedPop

    base = client.get(f"/api/v1/candidates?sites={FRA_SITES}&greedy=0").get_json()
    r = client.get(f"/api/v1/candidates?sites={FRA_SITES}&greedy=0&bias=FRA:%2B20")
    assert r.status_code == 200, r.get_data(as_text=True)
    body = r.get_json()
    assert body["bias"] == {"FRA": 20.0} and "bias" not in base
    assert body["mean_before_ms"] > base["mean_before_ms"]
    want = siting.rank(catalog, population_demand(), "eu-central-1",
                       siting.parse_sites(FRA_SITES.replace(";", "\n")), bias={"FRA": 20},
                       greedy=0)
    assert body["rows"] == want["rows"]
    gain = {row["name"]: row["gain_ms"] for row in body["rows"]}
    gain0 = {row["name"]: row["gain_ms"] for row in base["rows"]}
    assert gain["Frankfurt again"] > gain0["Frankfurt again"] + 1

    q = f"sites={FRA_SITES}&greedy=0&planned=JNB:-26.2041,28.0473&bias=JNB:-10,FRA:%2B5"
    r = client.get(f"/api/v1/candidates?{q}&down=JNB")
    assert r.status_code == 200, r.get_data(as_text=True)
    body = r.get_json()
    assert body["planned"][0]["id"] == "JNB" and body["down"] == ["JNB"]
    assert body["bias"] == {"FRA": 5.0, "JNB": -10.0}
    jnb = (PlannedPop(id="JNB", lat=-26.2041, lon=28.0473),)
    want = siting.rank(catalog.with_planned(jnb), population_demand(), "eu-central-1",
                       siting.parse_sites(FRA_SITES.replace(";", "\n")),
                       bias={"JNB": -10, "FRA": 5}, down=frozenset({"JNB"}), greedy=0)
    assert body["rows"] == want["rows"]


def test_cli_candidates_bias_and_add_pop(tmp_path, capsys):
    f = tmp_path / "sites.csv"
    f.write_text(FRA_SITES.replace(";", "\n"))
    assert cli.main(["candidates", "--sites", str(f), "--greedy", "0", "--json"]) == 0
    base = json.loads(capsys.readouterr().out)
    assert cli.main(["candidates", "--sites", str(f), "--greedy", "0", "--json",
                     "--bias", "FRA:+20", "--add-pop", "JNB:-26.2041,28.0473",
                     "--bias", "JNB:-10"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["bias"] == {"FRA": 20.0, "JNB": -10.0}
    assert doc["mean_before_ms"] != base["mean_before_ms"]
    assert cli.main(["candidates", "--sites", str(f), "--greedy", "0", "--bias", "FRA:+20",
                     "--add-pop", "JNB:-26.2041,28.0473"]) == 0
    out = capsys.readouterr().out
    assert "bias: FRA +20 ms (selection only)" in out and "planned: JNB" in out
    for args, words in [(["--bias", "XXX:+1"], "--bias: unknown access point XXX"),
                        (["--bias", "FRA:+101"], "outside"),
                        (["--add-pop", "FRA:1,1"], "--add-pop")]:
        assert cli.main(["candidates", "--sites", str(f), "--greedy", "0", *args]) == 2
        assert words in capsys.readouterr().err
