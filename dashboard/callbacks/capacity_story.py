"""The capacity story's buttons (issue 17), all clientside (``assets/capacity_story.js``): the
demand prompt's "Scale demand" writes one ``demand_fit`` edit request (one server round trip: the
scene callback resolves and applies it, :mod:`dashboard.callbacks.scene`), "Download PNG" and
"Print summary" run in the browser only (no request); "Summary (HTML)" is one server request
(:func:`summary_download`: a self-contained page built from the view-model)."""

from __future__ import annotations

from typing import Any

from dash import ALL, ClientsideFunction, Dash, Input, Output, State
from dash.exceptions import PreventUpdate

from dashboard import ids
from dashboard.catalog import Catalog
from dashboard.layout.capacity_story import summary_html
from dashboard.services import capacity, capacity_story
from dashboard.services.scenario import StoreRefused, file_stamp, load_scenario
from dashboard.settings import Settings


def summary_download(current: Any, catalog: Catalog, settings: Settings) -> dict:
    """``dcc.Download`` data of the capacity story as one self-contained HTML page (the store is
    checked like every entry point: a store this app did not write downloads nothing)."""
    try:
        loaded = load_scenario(current, catalog, settings)
    except StoreRefused:
        raise PreventUpdate from None
    view = capacity.capacity_view(catalog, loaded.scenario)
    story = capacity_story.capacity_story(catalog, loaded.scenario, view)
    stamp = file_stamp()
    page = summary_html(story, capacity.capacity_kpis(view), capacity.capacity_rows(view.table),
                        f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]} {stamp[9:11]}:{stamp[11:]} UTC")
    return {"content": page, "filename": f"anycast-eip-capacity-{stamp}.html",
            "type": "text/html"}


def _js(name: str) -> ClientsideFunction:
    return ClientsideFunction(namespace="anycastStory", function_name=name)


def register(app: Dash, catalog: Catalog, settings: Settings) -> None:
    """Attach the story's callbacks to ``app`` (three clientside, one server: the HTML)."""
    app.clientside_callback(_js("demandFit"),
                            Output(ids.SCENARIO_EDIT, "data", allow_duplicate=True),
                            Input(ids.demand_fit(ALL), "n_clicks"),  # type: ignore[arg-type]
                            prevent_initial_call=True)
    app.clientside_callback(_js("png"), Output(ids.STORY_STATUS, "children"),
                            Input(ids.STORY_PNG, "n_clicks"), prevent_initial_call=True)
    app.clientside_callback(_js("print"),
                            Output(ids.STORY_STATUS, "children", allow_duplicate=True),
                            Input(ids.STORY_PRINT, "n_clicks"), prevent_initial_call=True)

    @app.callback(Output(ids.STORY_DOWNLOAD, "data"), Input(ids.STORY_HTML, "n_clicks"),
                  State(ids.SCENARIO, "data"), prevent_initial_call=True)
    def _summary(_n, current):
        return summary_download(current, catalog, settings)
