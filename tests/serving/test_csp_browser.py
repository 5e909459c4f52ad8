"""The Content-Security-Policy must not break the page: in headless Chromium the dashboard renders
and the console shows no CSP violation."""

from __future__ import annotations

import pytest

from dashboard import ids
from dashboard.app import create_app
from dashboard.settings import Settings

pytestmark = pytest.mark.e2e


def test_page_renders_under_the_csp(dash_duo, catalog):
    app = create_app(Settings(), catalog)
    dash_duo.start_server(app)
    dash_duo.wait_for_element(f"#{ids.HEADER}", timeout=10)
    assert "access points" in dash_duo.find_element(f"#{ids.HEADER}").text
    logs = dash_duo.get_logs() or []
    violations = [e for e in logs if "Content Security Policy" in str(e.get("message", ""))]
    assert violations == []
