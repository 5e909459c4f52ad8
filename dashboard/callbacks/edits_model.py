"""Scenario edits of the latency model's parameters (applied by the scenario callback).

``model`` edit: ``{"op": "model", "set": {name: value | None}}`` sets (or, with None, removes)
overrides of :data:`dashboard.domain.latency.TUNABLE` scalars; ``{"op": "model", "reset": true}``
goes back to the fitted parameters. A bad name or value gives an error notice naming it and
leaves the scenario exactly as it was. Pure: no Dash import.
"""

from __future__ import annotations

from typing import Any

from dashboard.domain.scenario import Scenario

Notice = tuple[str, str]

OPS = ("model",)
#: Most parameters one edit may set (there are 10 tunables).
MAX_SET = 20


def describe(model: tuple[tuple[str, float], ...], fitted: dict[str, float]) -> str:
    """``"overhead_ms 5 (fitted 12.1), inflation_scale 1.2 (fitted 1)"``."""
    return ", ".join(f"{k} {v:g}" + (f" (fitted {fitted[k]:.3g})" if k in fitted else "")
                     for k, v in model)


def apply(scenario: Scenario, request: dict[str, Any], fitted: dict[str, float] | None = None
          ) -> tuple[Scenario, list[Notice]]:
    """Apply one ``model`` edit; never raises."""
    fitted = fitted or {}
    if request.get("reset") is True:
        if not scenario.model:
            return scenario, []
        return scenario.with_model(()), [("info", "Latency model: back to the fitted parameters")]
    changes = request.get("set")
    if not isinstance(changes, dict) or not changes or len(changes) > MAX_SET:
        return scenario, [("error", "Latency model: malformed edit ignored")]
    model = dict(scenario.model)
    for name, value in changes.items():
        if value is None:
            model.pop(name, None)
        else:
            model[name] = value
    try:
        new = scenario.with_model(model)
    except ValueError as exc:
        return scenario, [("error", f"Latency model: {str(exc)[:300]}. Nothing was changed.")]
    if not new.model:
        return new, [("info", "Latency model: back to the fitted parameters")]
    return new, [("info", "Latency model: custom parameters " + describe(new.model, fitted))]
