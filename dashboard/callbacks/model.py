"""Advanced: the latency model's parameters in the sidebar (inputs -> ``model`` edits), the
reset button, and the sentence under the assignment table naming custom parameters.

The inputs are rebuilt from the scenario only when they show something else (a link was
opened, the reset button, an invalid entry), so typing is never interrupted by the round trip
of its own edit. Handlers are plain functions of plain values (tests call them without Dash);
every value from the browser is checked, a wrong type gives a notice or no update, never an
exception.
"""

from __future__ import annotations

import math
from typing import Any

from dash import ALL, Dash, Input, Output, State, ctx, html, no_update

from dashboard import ids
from dashboard.callbacks.edits_model import describe
from dashboard.callbacks.scenario import edit, load_store
from dashboard.catalog import Catalog
from dashboard.domain.scenario import Scenario
from dashboard.latency import fitted_values
from dashboard.layout.model import FIELDS_BY_NAME, MODEL_FIELDS, model_controls
from dashboard.settings import Settings


def _scenario(current: Any) -> Scenario | None:
    try:
        return load_store(current)  # the one store loader: client cap included
    except ValueError:
        return None


def _number(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float, str)):
        return None
    try:
        f = float(v)
    except (TypeError, ValueError, OverflowError):
        return None
    return f if math.isfinite(f) else None


def _pairs(values: Any, id_list: Any) -> list[tuple[str, Any]]:
    """(parameter name, input value) of the well-formed inputs among ``values``/``id_list``."""
    if not isinstance(values, list) or not isinstance(id_list, list):
        return []
    return [(i["name"], v) for v, i in zip(values, id_list)
            if isinstance(i, dict) and isinstance(i.get("name"), str)
            and i["name"] in FIELDS_BY_NAME]


def model_edit(values: Any, id_list: Any, trigger: Any, current: Any,
               fitted: dict[str, float]) -> Any:
    """A changed input -> a ``model`` edit (a value shown as the fitted one removes the
    override); an empty/out-of-range/non-numeric entry -> an error notice (the scenario keeps
    its value and the input is refilled); nothing changed -> no_update."""
    s = _scenario(current)
    if s is None:
        return no_update
    only = trigger.get("name") if isinstance(trigger, dict) else None
    effective = {**fitted, **dict(s.model)}
    changes: dict[str, float | None] = {}
    errors = []
    for name, raw in _pairs(values, id_list):
        if only is not None and name != only:
            continue
        f = FIELDS_BY_NAME[name]
        v = _number(raw)
        if v is None or not f.low <= v <= f.high:
            errors.append(f"{f.label}: type a number from {f.low:g} to {f.high:g} {f.unit} "
                          f"(step {f.step:g}); kept {f.text(effective[name])}")
            continue
        if f.shown(v) == f.shown(effective[name]):
            continue
        changes[name] = None if f.shown(v) == f.shown(fitted[name]) else float(v)
    if errors:
        return edit("notice", notices=[{"level": "error", "text": "Latency model: " + e}
                                       for e in errors[:3]])
    if not changes:
        return no_update
    return edit("model", set=changes)


def controls_for(current: Any, values: Any, id_list: Any, fitted: dict[str, float]) -> Any:
    """Rebuilt inputs when the scenario's values differ from what they show, else no_update."""
    s = _scenario(current)
    if s is None:
        return no_update
    model = dict(s.model)
    shown = dict(_pairs(values, id_list))
    same = all(_number(shown.get(f.name)) is not None
               and f.shown(_number(shown[f.name])) == f.shown(model.get(f.name, fitted[f.name]))
               for f in MODEL_FIELDS)
    return no_update if same else model_controls(model, fitted)


def model_note(current: Any, fitted: dict[str, float]) -> Any:
    """The sentence under the table when the model is not the fitted one, else ""."""
    s = _scenario(current)
    if s is None:
        return no_update
    if not s.model:
        return ""
    return html.Span(className="model-custom-note", children=[
        html.B("Custom latency parameters: "), describe(s.model, fitted),
        ". Set in the sidebar under Advanced: latency model (reset there)."])


def register(app: Dash, catalog: Catalog, settings: Settings) -> None:
    """Attach the latency model callbacks to ``app``."""
    fitted = fitted_values()
    param = ids.model_param(ALL)  # type: ignore[arg-type]

    @app.callback(Output(ids.SCENARIO_EDIT, "data", allow_duplicate=True),
                  Input(param, "value"), State(param, "id"), State(ids.SCENARIO, "data"),
                  prevent_initial_call=True)
    def _edit(values, id_list, current):
        return model_edit(values, id_list, ctx.triggered_id, current, fitted)

    @app.callback(Output(ids.SCENARIO_EDIT, "data", allow_duplicate=True),
                  Input(ids.MODEL_RESET, "n_clicks"), prevent_initial_call=True)
    def _reset(n):
        if not n:
            return no_update
        return edit("model", reset=True)

    @app.callback(Output(ids.MODEL_CONTROLS, "children"), Input(ids.SCENARIO, "data"),
                  State(param, "value"), State(param, "id"))
    def _controls(current, values, id_list):
        return controls_for(current, values, id_list, fitted)

    @app.callback(Output(ids.MODEL_CUSTOM, "children"), Input(ids.SCENARIO, "data"))
    def _note(current):
        return model_note(current, fitted)
