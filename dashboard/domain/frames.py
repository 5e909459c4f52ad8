"""Fast reads of one DataFrame column as an array (issue 16).

``frame[name].to_numpy(dtype)`` builds a Series first (~20-120 µs each on the 2-core box, item
cache gone with pandas 3 copy-on-write); a what-if read ~95 columns that way (~1.5 ms of its
~25 ms). :func:`colvals` gives the same array (same values, same dtype, read-only like pandas'
copy-on-write views) from the frame's block manager directly (~1 µs), and falls back to the
Series path for anything else (extension dtypes, a dtype conversion, duplicate column names).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def colvals(frame: pd.DataFrame, name: str, dtype: Any = None) -> Any:
    """``frame[name].to_numpy(dtype)``, without building the Series when the column is a plain
    numpy array already of ``dtype`` (then a read-only view of it, as pandas gives); KeyError
    for a missing column, as ``frame[name]``."""
    try:
        loc = frame.columns.get_loc(name)
        if isinstance(loc, (int, np.integer)):
            values = frame._mgr.iget_values(int(loc))
            if isinstance(values, np.ndarray) and values.ndim == 1 and (
                    dtype is None or np.dtype(dtype) == values.dtype):
                view = values.view()
                view.flags.writeable = False
                return view
    except (AttributeError, TypeError):  # a pandas without these internals
        pass
    return frame[name].to_numpy() if dtype is None else frame[name].to_numpy(dtype)


#: Column Indexes kept by :func:`columns_frame`, by the tuple of names (a few: the route table's).
_COLUMN_INDEXES: dict[tuple[str, ...], pd.Index] = {}
_COLUMN_INDEXES_KEPT = 32
_NUMPY_KINDS = frozenset("biufO")


def columns_frame(columns: dict[str, np.ndarray]) -> pd.DataFrame:
    """``pd.DataFrame(columns, copy=False)`` of 1-D numpy columns of one length, object columns
    kept as object (as ``pd.Series(a, dtype=object, copy=False)`` keeps them; the constructor
    would infer and convert text to Arrow strings, ~2 ms per 25,000 rows): the same frame --
    same columns (a ``str`` Index), a ``RangeIndex``, each column its array as is, no copy --
    made from the arrays directly. The public constructor validates and converts each column
    and infers the column names' Index again (~0.25-0.5 ms for a 19-column route table of
    25,000 rows, issue 16); here the names' Index is made once and copied (sharing its lookup
    table). Anything else (other dtypes, 2-D or unequal arrays, duplicate names, a pandas
    without these internals) takes the constructor."""
    names = tuple(columns)
    arrays = list(columns.values())
    n = len(arrays[0]) if arrays else 0
    fast = (arrays and len(set(names)) == len(names)
            and all(isinstance(k, str) for k in names)
            and all(type(a) is np.ndarray and a.ndim == 1 and len(a) == n
                    and a.dtype.kind in _NUMPY_KINDS for a in arrays))
    if fast:
        try:
            from pandas.core.internals.construction import arrays_to_mgr

            index = _COLUMN_INDEXES.get(names)
            if index is None:
                index = pd.Index(list(names))
                if len(_COLUMN_INDEXES) >= _COLUMN_INDEXES_KEPT:
                    _COLUMN_INDEXES.clear()
                _COLUMN_INDEXES[names] = index
            mgr = arrays_to_mgr(arrays, index.copy(), pd.RangeIndex(n),
                                verify_integrity=False, consolidate=False)
            return pd.DataFrame._from_mgr(mgr, axes=mgr.axes)
        except (ImportError, AttributeError, TypeError, ValueError):  # other pandas internals
            pass
    return pd.DataFrame({k: (pd.Series(a, dtype=object, copy=False)
                             if isinstance(a, np.ndarray) and a.dtype == object else a)
                         for k, a in columns.items()}, copy=False)
