"""The Provider panel: reading the account (button) or a saved responses file (upload), and
choosing an Anycast EIP, render the panel and keep the chosen EIP's ``provider_load`` edit in a
store; "Load into scenario" copies it into the scenario edit store in the browser
(:mod:`dashboard.callbacks.widgets`), so the load itself is the usual one round trip of the
scene callback. This callback never touches the scenario.

The SDK calls run here, on the server, one at a time per process and cached a minute
(:mod:`dashboard.provider`).
"""

from __future__ import annotations

from typing import Any

from dash import Dash, Input, Output, State, ctx, no_update

from dashboard import ids
from dashboard.catalog import Catalog
from dashboard.layout.provider import render_provider
from dashboard.services import provider
from dashboard.settings import Settings


def provider_outputs(trigger: str | None, chosen: Any, contents: Any, filename: Any,
                     source: Any, catalog: Catalog, settings: Settings) -> tuple:
    """(panel children, EIP options, chosen EIP, load edit, load disabled, source) for the
    trigger: :data:`ids.PROVIDER_REFRESH`, :data:`ids.PROVIDER_UPLOAD` or :data:`ids.PROVIDER_EIP`
    (re-read from the same source)."""
    if trigger == ids.PROVIDER_UPLOAD or (trigger == ids.PROVIDER_EIP and source == "file"):
        if contents is None:
            return (no_update,) * 6
        view = provider.file_view(contents, filename, settings, catalog,
                                  chosen if trigger == ids.PROVIDER_EIP else None)
    elif trigger in (ids.PROVIDER_REFRESH, ids.PROVIDER_EIP):
        view = provider.live_view(settings, catalog,
                                  chosen if trigger == ids.PROVIDER_EIP else None)
    else:
        return (no_update,) * 6
    return (render_provider(view), list(view.options), view.chosen, view.load_edit,
            view.load_edit is None, view.source or None)


def register(app: Dash, catalog: Catalog, settings: Settings) -> None:
    """Attach the Provider panel's callback to ``app``."""

    @app.callback(Output(ids.PROVIDER_BODY, "children"), Output(ids.PROVIDER_EIP, "options"),
                  Output(ids.PROVIDER_EIP, "value"), Output(ids.PROVIDER_LOAD_EDIT, "data"),
                  Output(ids.PROVIDER_LOAD, "disabled"), Output(ids.PROVIDER_SOURCE, "data"),
                  Input(ids.PROVIDER_REFRESH, "n_clicks"), Input(ids.PROVIDER_UPLOAD, "contents"),
                  Input(ids.PROVIDER_EIP, "value"), State(ids.PROVIDER_UPLOAD, "filename"),
                  State(ids.PROVIDER_SOURCE, "data"), prevent_initial_call=True)
    def _provider(_n, contents, chosen, filename, source):
        return provider_outputs(ctx.triggered_id, chosen, contents, filename, source, catalog,
                                settings)
