"""Strict JSON for Dash responses without plotly's second pass when nothing needs it.

Dash serialises every callback response with plotly's ``PlotlyJSONEncoder``. To turn NaN and
Infinity into ``null`` it encodes once, and if the text *contains* ``NaN`` or ``Infinity``
anywhere -- also inside a string -- decodes and encodes the whole response again. Our large
answers carry base64 typed arrays (plotly's ``bdata``), and in ~0.7 MB of base64 the letters
``NaN`` occur by chance almost every time: the 25,000-client what-if paid a decode and a second
encode of ~0.9 MB (~25 ms of ~95 ms, issue 16) to change nothing.

:func:`install` makes the check exact: the first pass runs with ``allow_nan`` off, so the
encoder itself refuses any NaN or infinite float -- the only way such a value token gets into
the text. When it completes, the text is already strict JSON and is returned as is (byte for
byte what the second pass would give: same separators, key order and float text); when it
refuses, plotly's own two passes run. Text such as "ratio: NaN" or base64 letters never cost
a second pass. (Before: a scan of the text for the tokens after a separator, ~0.35 ms of a
0.36 MB answer, issue 16.)
"""

from __future__ import annotations

import json
from typing import Any

from _plotly_utils.utils import PlotlyJSONEncoder

_original_encode = PlotlyJSONEncoder.encode


def _encode(self: PlotlyJSONEncoder, o: Any) -> str:
    """:meth:`PlotlyJSONEncoder.encode` with the exact check (module docstring), made by the
    encoder itself: the first pass refuses NaN and infinite floats (``allow_nan`` off), the
    only way a NaN or Infinity value gets into the text, so a text it completes has none and
    is returned as is; plotly's own two passes run when it refuses (or fails otherwise: the
    same error then comes from them). Scanning ~0.36 MB of answer for the tokens cost ~0.35 ms
    of every what-if (issue 16)."""
    if not self.allow_nan:  # the caller asked for the refusal itself
        return _original_encode(self, o)
    self.allow_nan = False
    try:
        return json.JSONEncoder.encode(self, o)
    except ValueError:
        pass
    finally:
        self.allow_nan = True
    return _original_encode(self, o)


def install() -> None:
    """Use :func:`_encode` for every plotly/Dash JSON response in this process (idempotent).

    Also pins plotly's JSON engine to ``"json"`` (its default ``"auto"`` switches to its own
    orjson engine as soon as ``orjson`` is importable): Dash's responses stay what they are,
    through ``PlotlyJSONEncoder`` and this module's check, whether or not orjson is installed
    (the API's direct route, ``dashboard.fastpath``, uses it for its own answers)."""
    PlotlyJSONEncoder.encode = _encode  # type: ignore[method-assign]
    import plotly.io as pio

    pio.json.config.default_engine = "json"


def installed() -> bool:
    """Whether :func:`install` has run."""
    return PlotlyJSONEncoder.encode is _encode
