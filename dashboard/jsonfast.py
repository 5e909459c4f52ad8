"""Strict JSON for Dash responses without plotly's second pass when nothing needs it.

Dash serialises every callback response with plotly's ``PlotlyJSONEncoder``. To turn NaN and
Infinity into ``null`` it encodes once, and if the text *contains* ``NaN`` or ``Infinity``
anywhere -- also inside a string -- decodes and encodes the whole response again. Our large
answers carry base64 typed arrays (plotly's ``bdata``), and in ~0.7 MB of base64 the letters
``NaN`` occur by chance almost every time: the 25,000-client what-if paid a decode and a second
encode of ~0.9 MB (~25 ms of ~95 ms, issue 16) to change nothing.

:func:`install` makes the check exact: a NaN or Infinity *value* can only follow ``:``, ``,``
or ``[`` (JSON's separators, with optional spaces and a minus sign) or be the whole text;
characters a base64 string never contains. When no such token exists the first encoding is
already strict JSON and is returned as is (byte for byte what the second pass would give:
same separators, key order and float text); otherwise plotly's own second pass runs. A title
such as "ratio: NaN" only costs the second pass, as before.
"""

from __future__ import annotations

import json
import re
from typing import Any

from _plotly_utils.utils import PlotlyJSONEncoder

#: A NaN / Infinity token where JSON puts a value (after a separator), not inside a string.
_VALUE_TOKEN = re.compile(r"[:,\[]\s*-?(?:NaN|Infinity)")
_BARE = ("NaN", "Infinity", "-Infinity")

_original_encode = PlotlyJSONEncoder.encode


def has_value_token(text: str) -> bool:
    """Whether ``_VALUE_TOKEN`` occurs in ``text`` (same answer), looking only around the
    occurrences of ``NaN`` and ``Infinity``: the regex tries every ``:``, ``,`` and ``[`` of a
    ~0.5 MB answer (~2.5 ms of a 25,000-client what-if, issue 16), a substring search ~0.1 ms."""
    for word in ("NaN", "Infinity"):
        i = text.find(word)
        while i != -1:
            j = i - 1
            if j >= 0 and text[j] == "-":
                j -= 1
            while j >= 0 and text[j].isspace():  # what \s matches in a str pattern
                j -= 1
            if j >= 0 and text[j] in ":,[":
                return True
            i = text.find(word, i + 1)
    return False


def _encode(self: PlotlyJSONEncoder, o: Any) -> str:
    """:meth:`PlotlyJSONEncoder.encode` with the exact check (module docstring)."""
    encoded = json.JSONEncoder.encode(self, o)
    if encoded.strip() in _BARE or has_value_token(encoded):
        return _original_encode(self, o)
    return encoded


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
