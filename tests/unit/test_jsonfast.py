"""The exact NaN check gives byte for byte plotly's strict JSON (dashboard/jsonfast.py)."""

from __future__ import annotations

import json
import math

import numpy as np
import plotly.graph_objects as go
import pytest
from _plotly_utils.utils import PlotlyJSONEncoder
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard import jsonfast
from dashboard.figures.common import typed_array

SAMPLES = [
    {"bdata": "AAANaNxxInfinityQQ==", "dtype": "f4"},              # chance letters in base64
    {"x": [1.0, math.nan, 2.0], "y": math.inf, "z": -math.inf},      # real values
    [math.nan],
    math.nan,
    -math.inf,
    {"title": "ratio: NaN", "v": [1, 2]},                            # text that looks like one
    {"a": {"b": [np.float32(1.5), np.nan]}},
    {"fig": go.Figure(go.Scattergeo(lat=np.array([1.0, np.nan]), lon=[2.0, 3.0]))},
    {"arr": typed_array(np.array([np.nan, 1.0, 2.0], dtype=np.float32))},
    "NaN",
    {"s": "Infinity and NaN", "n": None, "t": True},
]


def _both(obj, **kw):
    jsonfast.install()
    fast = json.dumps(obj, cls=PlotlyJSONEncoder, **kw)
    slow = json.dumps(obj, cls=type("Plain", (PlotlyJSONEncoder,),
                                    {"encode": jsonfast._original_encode}), **kw)
    return fast, slow


@pytest.mark.parametrize("obj", SAMPLES)
def test_same_text_as_plotly(obj):
    fast, slow = _both(obj)
    assert fast == slow
    json.loads(fast, parse_constant=lambda c: pytest.fail(f"non-strict token {c}"))


def test_same_text_with_indent():
    fast, slow = _both({"x": [math.nan, 1.0], "s": "NaN"}, indent=2)
    assert fast == slow


@settings(max_examples=60, deadline=None)
@given(st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers(-10**6, 10**6)
    | st.sampled_from(["NaN", "Infinity", ": NaN", "[NaN", "x,-Infinity", "plain"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner,
                                                                 max_size=4),
    max_leaves=12))
def test_same_text_for_any_json_value(obj):
    fast, slow = _both(obj)
    assert fast == slow


def test_installed_by_the_app():
    from dashboard.app import create_app
    create_app()
    assert jsonfast.installed()


def test_one_pass_when_no_value_is_nan(monkeypatch):
    """Text that looks like a token (a title, base64 letters) never costs plotly's two passes;
    a NaN value does."""
    jsonfast.install()
    calls = []
    original = jsonfast._original_encode
    monkeypatch.setattr(jsonfast, "_original_encode",
                        lambda self, o: calls.append(1) or original(self, o))
    json.dumps(SAMPLES[0], cls=PlotlyJSONEncoder)
    json.dumps({"title": "ratio: NaN", "x": [1.0, 2.0]}, cls=PlotlyJSONEncoder)
    assert calls == []
    assert json.dumps({"x": [1.0, math.nan]}, cls=PlotlyJSONEncoder) == '{"x": [1.0, null]}'
    assert calls == [1]


def test_a_caller_asking_for_the_refusal_gets_it():
    jsonfast.install()
    with pytest.raises(ValueError):
        json.dumps({"x": math.nan}, cls=PlotlyJSONEncoder, allow_nan=False)
    fast, slow = _both({"x": 1.0}, allow_nan=False)
    assert fast == slow
