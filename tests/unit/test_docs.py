"""The docs describe the code: every setting is documented and the quick start is what CI runs."""

from __future__ import annotations

from dashboard.settings import ENV_VARS, Settings
from tests.conftest import ROOT


def test_every_setting_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    missing = [v for v in ENV_VARS if f"`{v}`" not in readme]
    assert missing == []


def test_quick_start_is_make_run_and_make_test_and_ci_runs_make_test():
    readme = (ROOT / "README.md").read_text()
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = [line.split("#")[0].strip() for line in quick.split("```bash", 1)[1].split("```")[0]
                .strip().splitlines()]
    assert commands == ["make run", "make test"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert [line for line in ci.splitlines() if line and not line.startswith(("#", "set ", "cd "))] \
        == ["make test"]


def test_settings_from_env_reads_every_documented_variable(tmp_path):
    env = {
        "ANYCAST_POPS_CSV": str(tmp_path / "p.csv"), "ANYCAST_ORIGINS_CSV": str(tmp_path / "o.csv"),
        "ANYCAST_DEFAULT_ORIGIN": "us-east-1", "REDIS_URL": "redis://127.0.0.1:1/0",
        "ANYCAST_CACHE_TIMEOUT": "5", "ANYCAST_MAX_UPLOAD_BYTES": "10",
        "ANYCAST_MAX_CLIENTS": "3", "ANYCAST_DEBUG": "true", "HOST": "0.0.0.0", "PORT": "9000",
    }
    s = Settings.from_env(env)
    assert (s.pops_csv.name, s.origins_csv.name, s.default_origin, s.redis_url) == \
        ("p.csv", "o.csv", "us-east-1", "redis://127.0.0.1:1/0")
    assert (s.cache_timeout_s, s.max_upload_bytes, s.max_clients, s.debug, s.host, s.port) == \
        (5, 10, 3, True, "0.0.0.0", 9000)
    assert set(env) <= set(ENV_VARS)


def test_bad_settings_name_the_variable():
    import pytest

    from dashboard.settings import SettingsError

    for env, name in [({"PORT": "http"}, "PORT"), ({"ANYCAST_MAX_CLIENTS": "0"}, "ANYCAST_MAX_CLIENTS"),
                      ({"ANYCAST_DEBUG": "maybe"}, "ANYCAST_DEBUG")]:
        with pytest.raises(SettingsError, match=name):
            Settings.from_env(env)
    assert Settings.from_env({}) == Settings()
