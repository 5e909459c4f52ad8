"""Fixtures of the API contract tests: one app per test module, no Redis (in-process cache)."""

from __future__ import annotations

import pytest

from dashboard.app import create_app
from dashboard.settings import Settings


@pytest.fixture(scope="module")
def settings() -> Settings:
    # Explicit settings: the developer's REDIS_URL or limits must not leak into these tests.
    return Settings(max_upload_bytes=64 * 1024, max_clients=500)


@pytest.fixture(scope="module")
def app(settings, catalog):
    return create_app(settings, catalog)


@pytest.fixture()
def client(app):
    return app.server.test_client()
