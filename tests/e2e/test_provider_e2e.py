"""The Provider panel in a real headless Chromium: the dashboard reads the account through the
official SDK from a local stub of the API (tests/provider/stub.py, credentials from the SDK's
default chain: the environment provider), the user loads the chosen Anycast EIP, and the
endpoints list and the link show its Default and Normal endpoints. Every wait is on a page
state, never a fixed sleep."""

from __future__ import annotations

import pytest
from alibabacloud_credentials.utils import auth_util
from selenium.webdriver.support.ui import WebDriverWait

from dashboard import ids
from dashboard.app import create_app
from dashboard.settings import Settings
from tests.provider.stub import ACCESS_KEY_ID, ACCESS_KEY_SECRET, Stub
from tests.provider.test_sdk_stub import responses

pytestmark = pytest.mark.e2e


def text_of(dash_duo, css: str) -> str:
    return dash_duo.driver.execute_script(
        "const e = document.querySelector(arguments[0]); return e ? e.innerText : '';", css)


def test_load_a_live_anycast_eip_from_the_stub(dash_duo, monkeypatch, artifacts_dir):
    # the SDK's environment credentials provider reads these (set from the environment at import)
    monkeypatch.setattr(auth_util, "environment_access_key_id", ACCESS_KEY_ID)
    monkeypatch.setattr(auth_util, "environment_access_key_secret", ACCESS_KEY_SECRET)
    with Stub(responses()) as stub:
        settings = Settings(provider_api=True, provider_endpoint=stub.endpoint,
                            provider_protocol="http", provider_timeout_ms=5000)
        dash_duo.start_server(create_app(settings))
        dash_duo.wait_for_page(url=dash_duo.server_url + "/?clients=48.8566,2.3522,Paris")
        dash_duo.wait_for_text_to_equal(f"#{ids.PROVIDER_REFRESH}", "Read my account")
        dash_duo.find_element(f"#{ids.PROVIDER_REFRESH}").click()
        WebDriverWait(dash_duo.driver, 30).until(
            lambda d: "Normal endpoint: us-west-1" in text_of(dash_duo, f"#{ids.PROVIDER_BODY}"))
        body = text_of(dash_duo, f"#{ids.PROVIDER_BODY}")
        assert "me-central-1-pop" in body  # the unknown access point is reported
        assert "aeip-web0001" in text_of(dash_duo, f"#{ids.PROVIDER_EIP}")
        dash_duo.find_element(f"#{ids.PROVIDER_LOAD}").click()
        WebDriverWait(dash_duo.driver, 30).until(
            lambda d: "ap-southeast-1" in text_of(dash_duo, f"#{ids.ENDPOINTS_LIST}")
            and "us-west-1" in text_of(dash_duo, f"#{ids.ENDPOINTS_LIST}"))
        WebDriverWait(dash_duo.driver, 10).until(
            lambda d: "endpoints=" in d.current_url and "origin=eu-central-1" in d.current_url)
        assert "Loaded the endpoints of aeip-web0001" in text_of(dash_duo, f"#{ids.NOTICE}")
        assert ACCESS_KEY_SECRET not in dash_duo.driver.page_source
        dash_duo.driver.execute_script("document.getElementById(arguments[0])"
                                       ".scrollIntoView()", ids.PROVIDER_BODY)
        dash_duo.driver.save_screenshot(str(artifacts_dir / "provider_loaded.png"))
    assert stub.calls("DescribeAnycastEipAddress")


def test_without_credentials_the_panel_says_how_and_nothing_else_changes(dash_duo, monkeypatch,
                                                                         tmp_path):
    # the SDK's default chain finds nothing: no environment keys, no profile files (HOME is
    # empty), no ECS metadata service
    monkeypatch.setattr(auth_util, "environment_access_key_id", None)
    monkeypatch.setattr(auth_util, "environment_access_key_secret", None)
    monkeypatch.setattr(auth_util, "environment_ecs_metadata_disabled", "true")
    monkeypatch.setattr(auth_util, "enable_oidc_credential", False)
    monkeypatch.setattr(auth_util, "environment_credentials_uri", None)
    monkeypatch.setenv("HOME", str(tmp_path))
    with Stub(responses()) as stub:
        settings = Settings(provider_api=True, provider_endpoint=stub.endpoint,
                            provider_protocol="http")
        dash_duo.start_server(create_app(settings))
        path = "/?clients=48.8566,2.3522,Paris&origin=us-east-1"
        dash_duo.wait_for_page(url=dash_duo.server_url + path)
        WebDriverWait(dash_duo.driver, 30).until(
            lambda d: "us-east-1" in text_of(dash_duo, f"#{ids.ENDPOINTS_LIST}"))
        before_url = dash_duo.driver.current_url
        before_endpoints = text_of(dash_duo, f"#{ids.ENDPOINTS_LIST}")
        dash_duo.find_element(f"#{ids.PROVIDER_REFRESH}").click()
        WebDriverWait(dash_duo.driver, 30).until(
            lambda d: "ALIBABA_CLOUD_ACCESS_KEY_ID" in text_of(dash_duo, f"#{ids.PROVIDER_BODY}"))
        assert dash_duo.find_element(f"#{ids.PROVIDER_LOAD}").get_attribute("disabled")
        assert dash_duo.driver.current_url == before_url
        assert text_of(dash_duo, f"#{ids.ENDPOINTS_LIST}") == before_endpoints
    assert stub.requests == []  # nothing was sent without credentials
