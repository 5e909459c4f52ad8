"""The latency model panel service: which tunable parameters the UI offers (label, unit, step,
range), what the inputs must show for a scenario, and the edit a typed value makes.

Inputs show the value in effect (the scenario's override, else the fitted one) rounded to the
input's step; a value shown as the fitted one removes the override. Ranges are the domain's
:data:`~dashboard.domain.latency.OVERRIDE_RANGES` (the URL and the API check the same ones).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

from dashboard.domain.edits import describe_model
from dashboard.domain.latency import OVERRIDE_RANGES
from dashboard.domain.scenario import Scenario


@dataclass(frozen=True)
class ModelField:
    """One user-facing latency parameter: its ``TUNABLE`` name, label, unit, input step and
    what it means."""

    name: str
    label: str
    unit: str
    step: float
    help: str

    @property
    def decimals(self) -> int:
        return max(0, -int(math.floor(math.log10(self.step) + 1e-9)))

    @property
    def low(self) -> float:
        return OVERRIDE_RANGES[self.name][0]

    @property
    def high(self) -> float:
        return OVERRIDE_RANGES[self.name][1]

    def shown(self, value: float) -> float:
        """``value`` rounded to the input's step (what the input displays)."""
        out = round(float(value), self.decimals)
        return int(out) if self.decimals == 0 else out

    def text(self, value: float) -> str:
        return f"{self.shown(value):g}" + ("" if self.unit.startswith("×") else f" {self.unit}")


#: The parameters the UI offers, in display order (the URL and the API accept every TUNABLE).
MODEL_FIELDS: tuple[ModelField, ...] = (
    ModelField("overhead_ms", "Internet path overhead", "ms", 0.1,
               "Fixed cost of every public-internet path (hosts, routers, serialisation); "
               "added once to the internet leg and once to the direct path."),
    ModelField("inflation_scale", "Route inflation scale", "× fitted", 0.01,
               "Multiplies the fitted ms per 1000 km of the internet legs (client → access "
               "point, and the direct path; 1 = as measured; 1.2 = routes 20 % more "
               "circuitous)."),
    ModelField("fibre_km_per_ms", "Light in fibre", "km/ms", 1,
               "One-way signal speed; sets the physical floor 2 × distance / speed. 204 km/ms "
               "is light in glass (refractive index ≈ 1.47); nothing is faster."),
    ModelField("backbone_scale", "Backbone route stretch scale", "× fitted", 0.01,
               "Multiplies the backbone's fitted stretch over the fibre floor (fitted per "
               "region pair on published cloud inter-region RTTs; 1 = as fitted)."),
    ModelField("backbone_route_factor", "Backbone minimum detour", "× fibre floor", 0.01,
               "The backbone leg is never faster than this multiple of the fibre floor."),
    ModelField("backbone_overhead_ms", "Backbone overhead", "ms", 0.1,
               "Fixed cost of the backbone leg access point → origin region."),
    ModelField("pop_overhead_ms", "Access point overhead", "ms", 0.1,
               "Anycast gateway and hop onto the backbone inside the access point (an "
               "assumption, not fitted); shown inside the backbone leg."),
)
FIELDS_BY_NAME: dict[str, ModelField] = {f.name: f for f in MODEL_FIELDS}


def number(v: Any) -> float | None:
    """A finite number from a browser value (numbers or numeric text), else None."""
    if isinstance(v, bool) or not isinstance(v, (int, float, str)):
        return None
    try:
        f = float(v)
    except (TypeError, ValueError, OverflowError):
        return None
    return f if math.isfinite(f) else None


def input_pairs(values: Any, id_list: Any) -> list[tuple[str, Any]]:
    """(parameter name, input value) of the well-formed inputs among ``values`` / ``id_list``
    (the page's parameter inputs, as Dash sends them)."""
    if not isinstance(values, list) or not isinstance(id_list, list):
        return []
    return [(i["name"], v) for v, i in zip(values, id_list)
            if isinstance(i, dict) and isinstance(i.get("name"), str)
            and i["name"] in FIELDS_BY_NAME]


def input_edit(values: Any, id_list: Any, only: Any, scenario: Scenario,
               fitted: Mapping[str, float]) -> dict | None:
    """The edit for the parameter inputs: a ``model`` edit (a value shown as the fitted one
    removes the override), an error ``notice`` for an empty / out-of-range / non-numeric entry
    (the scenario keeps its value and the input is refilled), or None when nothing changed.
    ``only``: the name of the input that changed (None: look at all)."""
    effective = {**fitted, **dict(scenario.model)}
    changes: dict[str, float | None] = {}
    errors = []
    for name, raw in input_pairs(values, id_list):
        if isinstance(only, str) and name != only:
            continue
        f = FIELDS_BY_NAME[name]
        v = number(raw)
        if v is None or not f.low <= v <= f.high:
            errors.append(f"{f.label}: type a number from {f.low:g} to {f.high:g} {f.unit} "
                          f"(step {f.step:g}); kept {f.text(effective[name])}")
            continue
        if f.shown(v) == f.shown(effective[name]):
            continue
        changes[name] = None if f.shown(v) == f.shown(fitted[name]) else float(v)
    if errors:
        return {"op": "notice", "notices": [{"level": "error", "text": "Latency model: " + e}
                                            for e in errors[:3]]}
    return {"op": "model", "set": changes} if changes else None


@dataclass(frozen=True)
class ModelPanel:
    """The latency model panel: ``values`` (name -> what the input shows), which parameters are
    overridden, the fitted values, and ``note`` (the sentence under the table naming the custom
    parameters; "" for the fitted model). ``stale``: the inputs on the page show something else
    and must be rebuilt (False: leave them, so typing is never interrupted)."""

    values: dict[str, float]
    custom: frozenset[str]
    fitted: Mapping[str, float]
    note: str
    stale: bool


def model_panel(scenario: Scenario, fitted: Mapping[str, float], values: Any = None,
                id_list: Any = None) -> ModelPanel:
    """The panel for ``scenario``; ``values`` / ``id_list``: what the inputs show now."""
    model = dict(scenario.model)
    shown = dict(input_pairs(values, id_list))
    want = {f.name: f.shown(model.get(f.name, fitted[f.name])) for f in MODEL_FIELDS}
    same = all(number(shown.get(f.name)) is not None
               and f.shown(number(shown[f.name])) == want[f.name]  # type: ignore[arg-type]
               for f in MODEL_FIELDS)
    return ModelPanel(values=want, custom=frozenset(model), fitted=fitted,
                      note=describe_model(scenario.model, fitted) if scenario.model else "",
                      stale=not same)
