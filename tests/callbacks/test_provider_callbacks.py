"""The Provider panel as functions: the saved-responses upload, choosing an Anycast EIP, the
load edit written by the button (assets/edits.js, in Node) and applied by the scene round trip,
hostile files, the layout with live reading off and on, and the CLI's ``provider`` command."""

from __future__ import annotations

import base64
import json

from dash import no_update
from plotly.utils import PlotlyJSONEncoder

from dashboard import ids
from dashboard.app import create_app
from dashboard.callbacks.provider import provider_outputs
from dashboard.cli import main
from dashboard.services import events, provider as service
from dashboard.settings import Settings
from tests.callbacks.edits_js import NO_UPDATE, needs_node, run_edit
from tests.conftest import TEST_DATA

FIXTURE = TEST_DATA / "provider_saved.json"


def data_url(data: bytes) -> str:
    return "data:application/json;base64," + base64.b64encode(data).decode()


def _text(children) -> str:
    """All text of rendered components (a layout tree, as JSON)."""
    return json.dumps(children, cls=PlotlyJSONEncoder)


def test_upload_then_choose_then_load(catalog):
    settings = Settings()
    contents = data_url(FIXTURE.read_bytes())
    body, options, chosen, load, disabled, source = provider_outputs(
        ids.PROVIDER_UPLOAD, None, contents, "saved.json", None, catalog, settings)
    assert source == "file" and chosen == "aeip-web0001" and not disabled
    assert [o["value"] for o in options] == ["aeip-web0001", "aeip-api0002", "aeip-lab0003"]
    text = _text(body)
    assert "Normal endpoint: us-west-1" in text and "me-central-1-pop" in text
    assert "Catalog report: 2 new id(s)" in text and "new: not in the catalog" in text
    # another EIP from the same file (the upload's contents are the callback's state)
    _b, _o, chosen, load2, disabled, _s = provider_outputs(
        ids.PROVIDER_EIP, "aeip-api0002", contents, "saved.json", "file", catalog, settings)
    assert chosen == "aeip-api0002" and load2["origin"] == "us-east-1"
    assert load2["endpoint_type"] == "ENI" and load2["mappings"] == []
    # one listed but not described: nothing to load, and the panel says why
    body, _o, chosen, load3, disabled, _s = provider_outputs(
        ids.PROVIDER_EIP, "aeip-lab0003", contents, "saved.json", "file", catalog, settings)
    assert load3 is None and disabled and "no DescribeAnycastEipAddress" in _text(body)
    # "Load into scenario" -> the scene round trip
    start = events.scenario_event(events.PAGE_LOAD, "", None, None, None, None, catalog,
                                  settings)
    event = events.scenario_event(events.EDIT, "", dict(load, nonce=2), None, None,
                                  start.store, catalog, settings)
    assert event.loaded.scenario.origin == "eu-central-1"
    assert dict(event.loaded.scenario.mappings)["us-west-1"] == ("IAD", "SJC")
    # the notes of the load travel with it (the unknown access point is said again)
    assert any("me-central-1-pop" in t for _l, t in event.notices)


def test_hostile_files_get_a_message_and_nothing_to_load(catalog):
    settings = Settings(max_upload_bytes=2000)
    for contents, words in [
            (data_url(b"x" * 5000), "larger than the 2,000-byte upload limit"),
            ("not a data url", "empty upload"),
            ("data:application/json;base64,!!!", "could not be decoded"),
            (data_url(b"{]"), "not JSON"),
            (data_url(b'{"x": 1}'), "none of ListAnycastEipAddresses")]:
        body, options, chosen, load, disabled, source = provider_outputs(
            ids.PROVIDER_UPLOAD, None, contents, "<b>evil</b>.json", None, catalog, settings)
        text = _text(body)
        assert words in text and "Nothing was read" in text, (words, text)
        assert load is None and disabled and options == [] and chosen is None


def test_the_button_with_live_reading_off_says_how_to_turn_it_on(catalog):
    body, options, chosen, load, disabled, source = provider_outputs(
        ids.PROVIDER_REFRESH, None, None, None, None, catalog, Settings())
    assert "ANYCAST_PROVIDER_API" in _text(body) and load is None and disabled
    assert provider_outputs(None, None, None, None, None, catalog, Settings()) == (no_update,) * 6


@needs_node
def test_the_load_button_writes_the_prepared_edit():
    edit = {"op": "provider_load", "origin": "us-east-1", "endpoint_type": "CLB",
            "mappings": [], "source": "aeip-1"}
    assert run_edit("providerLoad", 1, edit) == edit
    assert run_edit("providerLoad", 0, edit) == NO_UPDATE
    assert run_edit("providerLoad", 1, None) == NO_UPDATE


def test_the_page_has_the_panel_and_still_runs_without_an_account():
    off = create_app(Settings())
    layout = _text(off.layout)
    assert f'"{ids.PROVIDER_LOAD}"' in layout and "Read my account" in layout and "ANYCAST_PROVIDER_API is not on" in layout
    on = create_app(Settings(provider_api=True))
    assert "ANYCAST_PROVIDER_API is not on" not in _text(on.layout)


def test_cli_provider_from_a_saved_file(capsys):
    assert main(["provider", "--file", str(FIXTURE), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["chosen"] == "aeip-web0001"
    assert out["link"] == "?origin=eu-central-1&endpoints=us-west-1:IAD,SJC;" \
                          "ap-southeast-1:HKG,NRT,SIN"
    assert main(["provider", "--file", str(FIXTURE), "--eip", "aeip-api0002"]) == 0
    assert "Default endpoint: us-east-1 (ENI)" in capsys.readouterr().out


def test_cli_provider_errors(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("ANYCAST_PROVIDER_API", raising=False)
    assert main(["provider"]) == 2
    assert "ANYCAST_PROVIDER_API=on" in capsys.readouterr().err
    assert main(["provider", "--file", str(tmp_path / "missing.json")]) == 2
    assert "cannot read" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text("[1]")
    assert main(["provider", "--file", str(bad)]) == 2
    assert "must be a JSON object" in capsys.readouterr().out
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (service.MAX_FILE_BYTES + 1))
    assert main(["provider", "--file", str(big)]) == 2
    assert "larger than" in capsys.readouterr().err


def test_api_provider_reads_a_saved_file():
    client = create_app(Settings()).server.test_client()
    resp = client.post("/api/v1/provider?eip=aeip-api0002", data=FIXTURE.read_bytes(),
                       content_type="application/json")
    assert resp.status_code == 200, resp.get_data()[:300]
    body = resp.get_json()
    assert body["chosen"] == "aeip-api0002" and body["load"]["origin"] == "us-east-1"
    assert body["link"].startswith("?origin=us-east-1")
    assert any("ap-southeast-5" in m["text"] for m in body["catalog_report"])
    for data, ctype, status, words in [
            (b"{]", "application/json", 400, "not JSON"),
            (b'{"x": 1}', "application/json", 400, "none of"),
            (b"x" * (service.MAX_FILE_BYTES + 1), "application/json", 413, "larger than"),
            (b"{}", "text/plain", 415, "not supported")]:
        resp = client.post("/api/v1/provider", data=data, content_type=ctype)
        assert resp.status_code == status and words in resp.get_json()["error"], resp.get_json()
    resp = client.post("/api/v1/provider?foo=1", data=b"{}", content_type="application/json")
    assert resp.status_code == 400 and "unknown parameter" in resp.get_json()["error"]


def test_api_deeply_nested_body_is_a_json_400(catalog):
    """POST /api/v1/provider with JSON nested beyond the parser's stack: a 400 naming it."""
    from dashboard.app import create_app
    client = create_app().server.test_client()
    r = client.post("/api/v1/provider", data="[" * 50_000 + "]" * 50_000,
                    content_type="application/json")
    assert r.status_code == 400 and r.is_json
    assert "nested too deeply" in r.get_json()["error"]
