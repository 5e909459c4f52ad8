"""The sidebar's "Advanced: latency model" section: numeric inputs for the latency model's
tunable parameters, a reset button, and what the numbers are (modelled estimates, BGP).

The fields (labels, units, ranges) are :data:`dashboard.services.model.MODEL_FIELDS`. Inputs show the value in
effect (the scenario's override, else the fitted one) rounded to the input's step.
"""

from __future__ import annotations

from typing import Any, Mapping

from dash import dcc, html

from dashboard import ids
from dashboard.services.model import MODEL_FIELDS, ModelPanel


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


def render_model_controls(panel: ModelPanel) -> list:
    """The inputs for :func:`dashboard.services.model.model_panel`'s view-model."""
    return model_controls({k: v for k, v in panel.values.items() if k in panel.custom},
                          panel.fitted)


def render_model_note(note: str) -> Any:
    """The sentence under the assignment table when the model is not the fitted one."""
    if not note:
        return ""
    return html.Span(className="model-custom-note", children=[
        html.B("Custom latency parameters: "), note,
        ". Set in the sidebar under Advanced: latency model (reset there)."])
