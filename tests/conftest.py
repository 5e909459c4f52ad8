"""Shared fixtures. Browser tests live in tests/e2e and are marked ``e2e``."""

from __future__ import annotations

from pathlib import Path

import pytest

from dashboard.catalog import Catalog, default_catalog

ROOT = Path(__file__).resolve().parent.parent
TEST_DATA = ROOT / "tests" / "data"


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return default_catalog()
