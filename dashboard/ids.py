"""Every Dash component id, in one place: layout, callbacks and browser tests import these."""

from __future__ import annotations

URL = "url"
HEADER = "app-header"
WORLD_MAP = "world-map"
ASSIGNMENT_TABLE = "assignment-table"
NOTICE = "notice"
