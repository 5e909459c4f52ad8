"""Caps that bind in the API, the CLI and the settings (issue 13, findings 4 and 12): the same
client validator and limits as the page."""

from __future__ import annotations

import json

import pytest

from dashboard.cli import main
from dashboard.domain.clients import MAX_CLIENTS, MAX_NAME_CHARS
from dashboard.settings import Settings, SettingsError


def _assign(client, clients: list[dict]):
    return client.post("/api/v1/assign", json={"clients": clients})


def test_assign_refuses_weights_above_the_maximum_so_means_stay_finite(client):
    resp = _assign(client, [{"lat": 1, "lon": 2, "weight": 1e308}])
    assert resp.status_code == 400
    assert resp.get_json()["error"] == ("clients[0].weight: 1e+308 is more than the maximum of "
                                        "1e+12")
    ok = _assign(client, [{"lat": 1, "lon": 2, "weight": 1e12}, {"lat": 3, "lon": 4,
                                                                  "weight": 1e12}])
    summary = ok.get_json()["summary"]
    assert summary["weighted_mean_anycast_ms"] is not None  # was null with 1e308 weights
    csv = client.post("/api/v1/assign", data=b"lat,lon,weight\n1,2,1e308\n",
                      content_type="text/csv")
    assert csv.status_code == 400 and "maximum of 1e+12" in csv.get_json()["error"]


def test_assign_cleans_names_like_the_page(client):
    name = "abc\u202etxt.exe \u200bx" + "y" * 300
    rows = _assign(client, [{"lat": 1, "lon": 2, "name": name}]).get_json()["assignments"]
    assert rows[0]["name"] == ("abctxt.exe x" + "y" * 300)[:MAX_NAME_CHARS]
    csv = client.post("/api/v1/assign", data="1,2,Pa\u200bris\u202e\n".encode(),
                      content_type="text/csv").get_json()
    assert csv["assignments"][0]["name"] == "Paris"


def test_negative_zero_is_not_echoed(client):
    body = client.get("/api/v1/nearest?lat=-0.0&lon=-0&k=1").get_data(as_text=True)
    assert json.loads(body)["client"] == {"lat": 0.0, "lon": 0.0} and "-0" not in body
    text = _assign(client, [{"lat": -0.0, "lon": -0.0}]).get_data(as_text=True)
    assert '"lat":0.0' in text and '"lat":-0' not in text
    text = client.post("/api/v1/assign", data=b"-0,-0.0\n",
                       content_type="text/csv").get_data(as_text=True)
    assert '"lat":0.0,"lon":0.0' in text


def test_assign_counts_clients_before_reading_them(client, settings):
    resp = _assign(client, [None] * (settings.max_clients + 1))  # junk: counted first
    assert resp.status_code == 413
    assert f"more than the limit of {settings.max_clients}" in resp.get_json()["error"]


def test_the_cli_has_its_own_stated_client_bound_with_exit_2(tmp_path, monkeypatch, capsys):
    """A batch tool on the operator's own file: not the shared server's caps (a 60,000-client
    file is assigned although the page takes 50,000), but a bound it states."""
    path = tmp_path / "c.csv"
    path.write_text("1,2\n" * 4)
    assert main(["assign", str(path), "--max-clients", "3"]) == 2
    err = capsys.readouterr().err
    assert "more than 3 clients (the limit) (raise --max-clients" in err
    monkeypatch.setenv("ANYCAST_MAX_CLIENTS", "3")  # the web cap does not apply here
    assert main(["assign", str(path), "-o", str(tmp_path / "out.csv")]) == 0
    assert main(["assign", str(path), "--max-clients", "0"]) == 2
    big = tmp_path / "big.csv"
    big.write_text("1,2\n" * 60_000)
    assert main(["assign", str(big), "-o", str(tmp_path / "big_out.csv")]) == 0
    assert sum(1 for _ in open(tmp_path / "big_out.csv")) == 60_001


def test_the_client_cap_cannot_be_raised_above_the_ceiling():
    assert Settings().max_clients == MAX_CLIENTS == 50_000
    assert Settings.from_env({"ANYCAST_MAX_CLIENTS": "50000"}).max_clients == 50_000
    with pytest.raises(SettingsError, match="ANYCAST_MAX_CLIENTS=50001 is more than 50000"):
        Settings.from_env({"ANYCAST_MAX_CLIENTS": "50001"})
