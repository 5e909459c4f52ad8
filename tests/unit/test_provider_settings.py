"""The Provider settings (dashboard.settings): off by default, the endpoint override's shape,
plain http only towards a loopback stub, the region id and the timeout checked."""

from __future__ import annotations

import pytest

from dashboard.settings import Settings, SettingsError


def test_off_by_default_and_on_with_a_switch():
    s = Settings.from_env({})
    assert not s.provider_api and s.provider_protocol == "https" and s.provider_endpoint is None
    s = Settings.from_env({"ANYCAST_PROVIDER_API": "on", "ANYCAST_PROVIDER_REGION": "ap-southeast-1",
                           "ANYCAST_PROVIDER_ENDPOINT": "127.0.0.1:8089",
                           "ANYCAST_PROVIDER_PROTOCOL": "http",
                           "ANYCAST_PROVIDER_TIMEOUT_MS": "2500"})
    assert s.provider_api and s.provider_endpoint == "127.0.0.1:8089"
    assert (s.provider_region, s.provider_protocol, s.provider_timeout_ms) == (
        "ap-southeast-1", "http", 2500)


@pytest.mark.parametrize("env,words", [
    ({"ANYCAST_PROVIDER_API": "maybe"}, "ANYCAST_PROVIDER_API"),
    ({"ANYCAST_PROVIDER_ENDPOINT": "https://eipanycast.aliyuncs.com/"}, "host[:port]"),
    ({"ANYCAST_PROVIDER_ENDPOINT": "AKID:secret@host"}, "host[:port]"),
    ({"ANYCAST_PROVIDER_PROTOCOL": "http"}, "only for a local stub"),
    ({"ANYCAST_PROVIDER_PROTOCOL": "http", "ANYCAST_PROVIDER_ENDPOINT": "example.com:80"},
     "only for a local stub"),
    ({"ANYCAST_PROVIDER_PROTOCOL": "ftp"}, "not https or http"),
    ({"ANYCAST_PROVIDER_REGION": "../etc"}, "not a region id"),
    ({"ANYCAST_PROVIDER_TIMEOUT_MS": "10"}, "must be >= 100"),
])
def test_bad_values_name_the_variable(env, words):
    with pytest.raises(SettingsError, match=words.replace("[", r"\[").replace("]", r"\]")):
        Settings.from_env(env)
