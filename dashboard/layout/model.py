"""The sidebar's "Advanced: latency model" section: numeric inputs for the latency model's
tunable parameters, a reset button, and what the numbers are (modelled estimates, BGP).

Layout only; the callbacks are in :mod:`dashboard.callbacks.model`. Inputs show the value in
effect (the scenario's override, else the fitted one) rounded to the input's step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

from dash import dcc, html

from dashboard import ids
from dashboard.domain.latency import OVERRIDE_RANGES


@dataclass(frozen=True)
class ModelField:
    """One user-facing latency parameter: its :data:`TUNABLE` name, label, unit, input step and
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

MODEL_DISCLAIMER = (
    "These are modelled estimates from public measurements, not measurements of your network: "
    "the internet leg is fitted on WonderProxy's RTTs between ~250 servers in 241 cities "
    "(July 2020), the backbone leg on published cloud inter-region RTTs (see "
    "docs/calibration.md). Real anycast routing follows BGP, not pure geography: an ISP may "
    "hand traffic to a farther access point.")


def model_controls(model: Mapping[str, float], fitted: Mapping[str, float]) -> list:
    """One labelled numeric input per :data:`MODEL_FIELDS` entry, showing ``model``'s value
    (the scenario's overrides) or else the ``fitted`` one."""
    rows = []
    for f in MODEL_FIELDS:
        value = model.get(f.name, fitted[f.name])
        custom = f.name in model
        # The input sits inside its label (its id is a dict, so htmlFor cannot name it).
        rows.append(html.Div(className="model-param" + (" model-param-custom" if custom else ""),
                             title=f.help, children=[
            html.Label(className="model-param-label", children=[
                html.Span([f.label, html.Span(f" ({f.unit})", className="unit")],
                          className="field-label"),
                html.Span(className="inline-form", children=[
                    dcc.Input(id=ids.model_param(f.name), type="number", value=f.shown(value),
                              min=f.low, max=f.high, step=f.step, debounce=True,
                              placeholder=f"{f.shown(fitted[f.name]):g}",
                              className="text-input num-input"),
                    html.Span(f"fitted {f.text(fitted[f.name])}", className="model-fitted"),
                ]),
            ]),
            html.Div(f"{f.help} Range {f.low:g}–{f.high:g}.", className="hint model-help"),
        ]))
    return rows


def model_section(fitted: Mapping[str, float]) -> html.Section:
    """The collapsible sidebar section (closed by default: most users never need it)."""
    return html.Section(className="panel model-panel", children=[
        html.Details(id=ids.MODEL_SECTION, className="model-details", children=[
            html.Summary("Advanced: latency model"),
            html.P(MODEL_DISCLAIMER, className="hint model-disclaimer"),
            html.Div(id=ids.MODEL_CONTROLS, children=model_controls({}, fitted)),
            html.Button("Reset to fitted values", id=ids.MODEL_RESET, n_clicks=0,
                        className="btn btn-ghost btn-sm model-reset"),
        ]),
    ])
