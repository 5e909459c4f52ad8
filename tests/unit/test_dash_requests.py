"""The shared request builder (benchmarks/dash_requests.py) lists the pills as the page does."""

from __future__ import annotations

from benchmarks.dash_requests import pill_ids
from dashboard import ids
from dashboard.catalog import default_catalog
from dashboard.layout.map import pop_status_controls


def _ids(node) -> list:
    out = []
    cid = getattr(node, "id", None)
    if isinstance(cid, dict) and cid.get("type") == ids.POP_TOGGLE:
        out.append(cid)
    children = getattr(node, "children", None)
    for child in children if isinstance(children, list) else [children]:
        if child is not None and not isinstance(child, str):
            out.extend(_ids(child))
    return out


def test_pill_ids_are_the_pages_pills_in_the_pages_order():
    assert pill_ids() == _ids(pop_status_controls(default_catalog()))
