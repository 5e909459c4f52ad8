"""The SDK path end to end: the official SDK classes (``alibabacloud_eipanycast20200309`` on
``alibabacloud_tea_openapi``) send their real, V3-signed requests to a local stub server
(tests/provider/stub.py) through the endpoint override; the stub checks the signature and
answers with the documented bodies or errors. Then the view-model, and the load through the
scene's one round trip (``scenario_event``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from alibabacloud_credentials.client import Client as CredentialClient
from alibabacloud_credentials.models import Config as CredentialConfig

from dashboard.provider import ProviderClient, ProviderConfig, ProviderError
from dashboard.services import events, provider as service
from dashboard.settings import Settings
from tests.conftest import ROOT, TEST_DATA
from tests.provider.stub import ACCESS_KEY_ID, ACCESS_KEY_SECRET, Stub

SAVED = json.loads((TEST_DATA / "provider_saved.json").read_text())


def responses(pages: list[dict] | None = None) -> dict:
    """The stub's answers: the fixture's bodies (describe picked by AnycastId in the test)."""
    web, api = SAVED["DescribeAnycastEipAddress"]
    return {"ListAnycastEipAddresses": pages or [SAVED["ListAnycastEipAddresses"]],
            "DescribeAnycastEipAddress": web,
            "DescribeAnycastPopLocations": SAVED["DescribeAnycastPopLocations"],
            "DescribeAnycastServerRegions": SAVED["DescribeAnycastServerRegions"]}


def credential(secret: str = ACCESS_KEY_SECRET, key_id: str = ACCESS_KEY_ID) -> CredentialClient:
    return CredentialClient(CredentialConfig(type="access_key", access_key_id=key_id,
                                             access_key_secret=secret))


def client(stub_or_endpoint, cred=None, **kw) -> ProviderClient:
    endpoint = stub_or_endpoint if isinstance(stub_or_endpoint, str) else stub_or_endpoint.endpoint
    cfg = ProviderConfig(endpoint=endpoint, protocol="http", backoff_s=0.0,
                         **{"connect_timeout_ms": 1000, "read_timeout_ms": 2000, **kw})
    return ProviderClient(cfg, credential=cred or credential(), sleep=lambda s: None)


@pytest.fixture()
def settings() -> Settings:
    return Settings(provider_api=True)


def test_live_view_reads_the_account_with_the_real_sdk(catalog, settings):
    with Stub(responses()) as stub:
        view = service.live_view(settings, catalog, client=client(stub))
    assert [o["value"] for o in view.options] == ["aeip-web0001", "aeip-api0002", "aeip-lab0003"]
    assert view.chosen == "aeip-web0001"
    assert view.endpoints == ("Default endpoint: eu-central-1 (CLB)",
                              "Normal endpoint: us-west-1 ← IAD, SJC",
                              "Normal endpoint: ap-southeast-1 ← HKG, NRT, SIN")
    text = " ".join(t for _l, t in view.notes + view.messages + view.diff_notes)
    assert "me-central-1-pop" in text and "ap-southeast-5" in text  # reported, not dropped
    # the SDK's real requests: the documented parameters, signed (the stub checked it)
    listed = stub.calls("ListAnycastEipAddresses")[0]
    assert listed["ServiceLocation"] == "international" and listed["MaxResults"] == "100"
    assert stub.calls("DescribeAnycastEipAddress")[0]["AnycastId"] == "aeip-web0001"
    assert all(ACCESS_KEY_SECRET not in r["_auth"] for r in stub.requests)
    assert ACCESS_KEY_SECRET not in repr(view)


def test_the_load_goes_through_the_scene_round_trip(catalog, settings):
    with Stub(responses()) as stub:
        view = service.live_view(settings, catalog, client=client(stub))
    start = events.scenario_event(events.PAGE_LOAD, "?lat=48.85,2.35", None, None, None, None,
                                  catalog, settings)
    event = events.scenario_event(events.EDIT, "", dict(view.load_edit, nonce=1), None, None,
                                  start.store, catalog, settings)
    s = event.loaded.scenario
    assert s.origin == "eu-central-1" and dict(s.mappings) == {
        "us-west-1": ("IAD", "SJC"), "ap-southeast-1": ("HKG", "NRT", "SIN")}
    assert len(s.clients) == len(start.loaded.scenario.clients)
    assert "endpoints=" in (event.url_search or "") and event.set_widgets
    levels = [lv for lv, _t in event.notices]
    assert "error" not in levels and any("Loaded the endpoints" in t for _l, t in event.notices)


def test_pages_follow_next_token_and_stop_at_the_cap():
    page = lambda i, tok, nxt: {"_token": tok, "NextToken": nxt, "AnycastList": [
        {"AnycastId": f"aeip-{i}-{j}"} for j in range(2)]}
    pages = [page(0, "", "t1"), page(1, "t1", "t2"), page(2, "t2", "")]
    with Stub(responses(pages)) as stub:
        got, more = client(stub).list_pages()
        assert len(got) == 3 and not more
        assert [c.get("NextToken", "") for c in stub.calls("ListAnycastEipAddresses")] == \
            ["", "t1", "t2"]
        got, more = client(stub).list_pages(max_pages=2)
        assert len(got) == 2 and more


def test_a_token_that_repeats_ends_the_listing():
    pages = [{"_token": "", "NextToken": "same", "AnycastList": []},
             {"_token": "same", "NextToken": "same", "AnycastList": []}]
    with Stub(responses(pages)) as stub:
        got, more = client(stub).list_pages(max_pages=5)
    assert len(got) == 2 and not more


def test_answers_are_cached_briefly_and_calls_serialised():
    with Stub(responses()) as stub:
        c = client(stub, cache_s=60.0)
        assert c.pop_locations() == c.pop_locations()
        assert len(stub.calls("DescribeAnycastPopLocations")) == 1
        c2 = client(stub, cache_s=0.0)
        c2.pop_locations(), c2.pop_locations()
        assert len(stub.calls("DescribeAnycastPopLocations")) == 3


def test_throttling_is_retried_once_then_reported():
    with Stub(responses()) as stub:
        stub.fail("DescribeAnycastServerRegions", 400, "Throttling.User")
        assert "AnycastServerRegionList" in client(stub).server_regions()  # 2nd try succeeds
        stub.fail("DescribeAnycastPopLocations", 400, "Throttling.User", times=5)
        with pytest.raises(ProviderError) as err:
            client(stub).pop_locations()
        assert err.value.kind == "throttled" and "Throttling.User" in str(err.value)
        assert len(stub.calls("DescribeAnycastPopLocations")) == 2  # bounded: max_attempts


@pytest.mark.parametrize("make,kind,code", [
    (lambda: credential(key_id="LTAIwrongwrong"), "auth", "InvalidAccessKeyId.NotFound"),
    (lambda: credential(secret="wrong-secret"), "auth", "SignatureDoesNotMatch"),
])
def test_auth_errors_have_clear_messages_and_are_not_retried(make, kind, code):
    with Stub(responses()) as stub:
        with pytest.raises(ProviderError) as err:
            client(stub, make()).pop_locations()
    assert err.value.kind == kind and err.value.code == code
    assert "check the AccessKey ID and secret" in str(err.value)
    assert len(stub.requests) == 1
    assert "wrong-secret" not in str(err.value)


def test_forbidden_and_other_api_errors():
    with Stub(responses()) as stub:
        stub.fail("DescribeAnycastPopLocations", 403, "Forbidden.RAM")
        with pytest.raises(ProviderError) as err:
            client(stub).pop_locations()
        assert err.value.kind == "forbidden" and "docs/provider.md" in str(err.value)
        stub.fail("DescribeAnycastPopLocations", 500, "InternalError")
        with pytest.raises(ProviderError) as err:
            client(stub).pop_locations()
        assert err.value.kind == "api" and "InternalError" in str(err.value)


def test_connection_refused_is_a_network_error(catalog, settings):
    with Stub({}) as stub:
        endpoint = stub.endpoint  # a port that was just ours: nothing listens after the stop
    with pytest.raises(ProviderError) as err:
        client(endpoint, max_attempts=2).pop_locations()
    assert err.value.kind == "network" and "Could not reach" in str(err.value)
    view = service.live_view(settings, catalog, client=client(endpoint))
    assert view.messages[0][0] == "error" and "Could not reach" in view.messages[0][1]
    assert view.load_edit is None and view.options == ()


def test_a_silent_server_times_out_within_the_read_timeout():
    with Stub(responses()) as stub:
        stub.hang("DescribeAnycastPopLocations", 10)
        t0 = time.monotonic()
        with pytest.raises(ProviderError) as err:
            client(stub, read_timeout_ms=300, max_attempts=2).pop_locations()
        took = time.monotonic() - t0
    assert err.value.kind == "timeout" and "did not answer in time" in str(err.value)
    assert took < 5  # two bounded attempts of 0.3 s, not the stub's 10 s


def test_a_failing_describe_keeps_the_list_and_says_which(catalog, settings):
    with Stub(responses()) as stub:
        stub.fail("DescribeAnycastEipAddress", 400, "Throttling.User", times=2)
        view = service.live_view(settings, catalog, client=client(stub))
    assert len(view.options) == 3 and view.load_edit is None
    assert any(lv == "error" and t.startswith("aeip-web0001: ") for lv, t in view.messages)


def test_off_by_default_no_call_is_made(catalog):
    view = service.live_view(Settings(), catalog)
    assert view.messages == (("info", service.OFF_TEXT),)


# -- the SDK's default credential chain (environment read at import: a fresh interpreter) --------

_CHAIN = """
import json, sys
from dashboard.catalog import default_catalog
from dashboard.services import provider
from dashboard.settings import Settings
view = provider.live_view(Settings.from_env(), default_catalog())
print(json.dumps({"messages": view.messages, "options": view.options}))
"""


def _run_chain(tmp_path, endpoint: str, extra: dict[str, str]) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALIBABA_CLOUD_")}
    env.update(HOME=str(tmp_path), ALIBABA_CLOUD_ECS_METADATA_DISABLED="true",
               ANYCAST_PROVIDER_API="on", ANYCAST_PROVIDER_ENDPOINT=endpoint,
               ANYCAST_PROVIDER_PROTOCOL="http", ANYCAST_PROVIDER_TIMEOUT_MS="2000", **extra)
    out = subprocess.run([sys.executable, "-c", _CHAIN], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_without_credentials_the_panel_says_how_to_provide_them(tmp_path):
    with Stub(responses()) as stub:
        got = _run_chain(tmp_path, stub.endpoint, {})
    assert stub.requests == []  # nothing was sent
    (level, text), = got["messages"]
    assert level == "warning" and "ALIBABA_CLOUD_ACCESS_KEY_ID" in text and got["options"] == []


def test_environment_credentials_through_the_default_chain(tmp_path):
    with Stub(responses()) as stub:
        got = _run_chain(tmp_path, stub.endpoint,
                         {"ALIBABA_CLOUD_ACCESS_KEY_ID": ACCESS_KEY_ID,
                          "ALIBABA_CLOUD_ACCESS_KEY_SECRET": ACCESS_KEY_SECRET})
    assert [o["value"] for o in got["options"]][:1] == ["aeip-web0001"]
    assert ACCESS_KEY_SECRET not in json.dumps(got)
