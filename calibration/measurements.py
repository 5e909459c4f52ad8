"""Reading a measurement CSV for a fit: one checker for every calibration input."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd


def read_measurements(path: Path, what: str, required: Sequence[str], numeric: Sequence[str],
                      positive: str) -> pd.DataFrame:
    """The CSV at ``path`` with its ``numeric`` columns as floats; ``ValueError`` names the file
    and the missing column, or the row (file line) and column of the first value that is not a
    finite number, or says that ``positive`` (an RTT) has a value <= 0."""
    try:
        df = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read {what}: {exc}") from None
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: missing column {missing[0]!r}")
    for col in numeric:
        vals = pd.to_numeric(df[col], errors="coerce")
        bad = ~np.isfinite(vals)
        if bad.any():
            raise ValueError(f"{path}: row {int(np.flatnonzero(bad)[0]) + 2}, column {col!r}: "
                             "not a number")
        df[col] = vals.astype(float)
    if (df[positive] <= 0).any():
        raise ValueError(f"{path}: {positive} must be > 0")
    return df
