"""What several figure modules share: the colours of the two legs of a path and of origins and
down access points (the same meaning on every chart), Plotly-safe label text and the typed-array
form of numpy arrays. Pure Plotly/numpy: no Dash import.
"""

from __future__ import annotations

import base64
import html

import numpy as np

#: Colours with one meaning on every chart: the public-internet leg (client -> PoP, or the
#: direct path), the provider backbone leg (PoP -> origin), origin regions and down PoPs.
INTERNET_COLOR = "#5B6472"
BACKBONE_COLOR = "#FF6A00"
ORIGIN_COLOR = "#1F2937"
DOWN_COLOR = "#9CA3AF"


def hover_text(value: object) -> str:
    """``value`` as literal text inside Plotly hover/label text.

    Plotly renders a subset of HTML in ``text``/``hovertext`` (``<b>``, ``<br>``, ``<a href>``,
    ``<span style>`` ...) and decodes ``&lt;``/``&gt;``/``&amp;``. Client names come from users
    (links, uploads, the API) and catalog names from operators' files, so every such label is
    escaped: ``<img src=x onerror=...>`` shows as those characters, never as markup.
    """
    return html.escape(str(value), quote=False)


def typed_array(values: object) -> dict:
    """plotly.js's typed-array form of a numeric numpy array (``{"dtype", "bdata", "shape"}``,
    base64 little-endian), as plotly.py >= 6 writes into figures -- for values sent in a
    ``dash.Patch``, which Dash would otherwise serialise as a JSON list of numbers."""
    a = np.ascontiguousarray(values)
    codes = {"float32": "f4", "float64": "f8", "int8": "i1", "uint8": "u1", "int16": "i2",
             "uint16": "u2", "int32": "i4", "uint32": "u4"}
    if a.dtype.name not in codes:
        raise TypeError(f"no plotly.js typed array for dtype {a.dtype}")
    spec = {"dtype": codes[a.dtype.name],
            "bdata": base64.b64encode(a.astype(a.dtype.newbyteorder("<")).tobytes()).decode()}
    if a.ndim > 1:
        spec["shape"] = ", ".join(str(d) for d in a.shape)
    return spec
