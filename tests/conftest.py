"""Shared fixtures. Browser tests live in tests/e2e and are marked ``e2e``."""

from __future__ import annotations

import os
from pathlib import Path

# Tests reach only 127.0.0.1: the Alibaba Cloud SDK's default credential chain would otherwise
# end with the ECS RAM-role provider, which polls the instance metadata service
# (100.100.100.200) from a background APScheduler thread started per credential client. Read
# by alibabacloud_credentials when it is imported, so set before anything imports it; tests of
# the chain itself (tests/provider/test_sdk_stub.py) set their own environment.
os.environ.setdefault("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")

import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

from dashboard.catalog import Catalog, default_catalog  # noqa: E402

# Property and fuzz tests draw the same examples on every run ("repeatable", the default), so
# `make test` and CI pass or fail on the code, not on the luck of a draw. Exploration is a
# separate, deliberate step: HYPOTHESIS_PROFILE=explore pytest tests/fuzz (fresh random examples
# each run), or `python -m tests.fuzz.fuzz_api --examples 10000 --seed N` with new seeds.
settings.register_profile("repeatable", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

ROOT = Path(__file__).resolve().parent.parent
TEST_DATA = ROOT / "tests" / "data"


#: Folders whose every test gets a marker, so that `make test-unit` (the fast lane: no browser,
#: no gunicorn, Redis or Celery, no long property runs) can deselect them by marker.
FOLDER_MARKERS = {
    "e2e": "e2e",          # headless Chromium
    "serving": "serving",  # real gunicorn / redis-server / Celery processes on 127.0.0.1
    "fuzz": "slow",        # thousands of generated hostile inputs
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        try:
            folder = Path(str(item.path)).resolve().relative_to(ROOT / "tests").parts[0]
        except ValueError:
            continue
        marker = FOLDER_MARKERS.get(folder)
        if marker:
            item.add_marker(getattr(pytest.mark, marker))


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return default_catalog()
