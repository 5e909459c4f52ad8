"""Plain view-model pieces every view shares: a key number (:class:`Kpi`) and how numbers are
written for people and for JSON payloads. No Dash import: the layer above renders these.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

@dataclass(frozen=True)
class Kpi:
    """One key number: what it is, its value as text, a hover hint, and a level ("" or
    "alert", "warn", "bad") that the page colours."""

    label: str
    value: str
    hint: str = ""
    level: str = ""


def ms_text(v: Any) -> str:
    """``"32 ms"``, or "–" for a missing/infinite value."""
    try:
        f = float(v)
    except (TypeError, ValueError, OverflowError):
        return "–"
    return "–" if not math.isfinite(f) else f"{f:.0f} ms"


def signed_ms(v: float | None) -> str:
    """``"+12 ms"`` / ``"-3 ms"``, or "–"."""
    return "–" if v is None or not math.isfinite(v) else f"{v:+.0f} ms"


def json_number(v: Any, nd: int | None = None) -> float | None:
    """A number for a JSON payload (tables, stores): NaN, inf, non-numbers and integers too big
    for a float -> None (an empty cell); rounded to ``nd`` places when given."""
    try:
        f = float(v)
    except (TypeError, ValueError, OverflowError):  # JSON integers can exceed a float
        return None
    if not math.isfinite(f):
        return None
    return f if nd is None else round(f, nd)
