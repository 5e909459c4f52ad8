"""What every stage of the batch engine (:mod:`dashboard.services.batch`) shares: its error,
the chunk size, the read size and the lazy ``pyarrow.parquet`` import."""

from __future__ import annotations

from typing import Any


def _pq() -> Any:
    """``pyarrow.parquet``, imported on first use: a CSV run never needs it (~5-9 ms of the
    command's serial start, with the GeoIP reader's ~8-15 ms: :func:`locate_chunk`)."""
    import pyarrow.parquet as pq

    return pq


#: Rows per chunk by default (the CLI's ``--chunk-rows``): ~1.5 kB of working memory per row of
#: a chunk in flight (the latency model's per-neighbour terms, the route table, the output
#: text). Measured on 2,000,000 rows, 2 worker processes: 50,000 -> 323 MB for the process
#: tree (summed PSS; 551 MB summed RSS, the shared pages counted per process), 75,000 -> 410
#: MB for ~5 % less CPU.
DEFAULT_CHUNK_ROWS = 50_000
#: Bytes read from the input at a time while cutting it into chunks of whole lines.
READ_BYTES = 1 << 22


class BatchError(ValueError):
    """An input the engine cannot use (not a known format, unreadable); the CLI's exit code 2."""
