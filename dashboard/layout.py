"""Component factories. Layout only: no callbacks and no computation happen here."""

from __future__ import annotations

from dash import dcc, html

from dashboard import ids
from dashboard.catalog import Catalog


def build_layout(catalog: Catalog) -> html.Div:
    """The page shell; the map issue fills the main area."""
    return html.Div(
        className="app",
        children=[
            dcc.Location(id=ids.URL, refresh=False),
            html.Header(
                id=ids.HEADER,
                className="app-header",
                children=[
                    html.H1("Anycast EIP dashboard"),
                    html.P(
                        f"{len(catalog.pops)} access points, "
                        f"{len(catalog.origins)} origin regions"
                    ),
                ],
            ),
            html.Div(id=ids.NOTICE, className="notice", role="status"),
        ],
    )
