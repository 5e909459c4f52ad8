"""The batch engine: millions of clients from a file to their access points, streaming.

``anycast-dashboard assign`` (and its Dask path, :mod:`dashboard.services.batch_dask`) read
clients in chunks of ``chunk_rows`` rows, route each chunk with the same domain functions as the
page and the API (:func:`dashboard.domain.paths.client_paths`), write it out and drop it, so
memory is bounded by the chunk size, not the input size (issue 16).

Input: CSV (the rules of :func:`dashboard.domain.clients.parse_clients`: a block of plainly
valid rows is accepted column by column by :func:`~dashboard.domain.clients.accept_fields`, any
other block is read row by row by :func:`~dashboard.domain.clients.parse_block`, which names the
file line and column of an error exactly as before) or Parquet (columns named like a CSV
header: ``lat``/``latitude``, ``lon``/``lng``/``long``/``longitude``, optional ``name``,
``weight``; numbers or text; the same checks, errors name the row).

Output: CSV byte for byte as the old ``assign`` wrote it (formula-safe cells:
:func:`dashboard.domain.exports.safe_cells`; floats as Python writes them) or Parquet (typed
columns, names as cleaned; no spreadsheet escaping: Parquet is not opened as a formula sheet).

With ``workers`` > 1 (the CLI: the CPUs, at most 4) chunks are read, routed and encoded on
forked worker processes (:func:`run_processes`; the parent cuts the input and writes the chunks
in input order); with one, in this process (:func:`~dashboard.services.batch.engine.run`, also
the Dask path's). A :class:`Summary` (clients per PoP, anycast RTT percentiles from a 0.01 ms
histogram, mergeable across partitions) comes back at the end; progress goes to a callback.

Units: degrees in; km and round-trip ms out, rounded to 0.001 like the old ``assign``.

The modules, by concern (imports go one way, down this list; none imports Dash, Flask or
Plotly):

* ``engine``: the run -- :func:`assign_file` (the command), :func:`run`,
  :func:`run_processes` and the worker protocol (``_Task``, ``_work_process``, ``_CsvFeed``,
  the spool directory), the allocator settings;
* ``sinks``: :class:`CsvSink`, :class:`ParquetSink` (parts spliced by
  :mod:`dashboard.services.parquet_parts`) and the workers' spool files;
* ``csv_format``: :func:`csv_text`, a chunk as CSV bytes built column-wise in Arrow;
* ``route``: :class:`Job`, :func:`route_chunk`, and the locate stage of IP address files;
* ``readers``: CSV, Parquet and IP address chunk readers and their checks;
* ``summary``: :class:`Summary`;
* ``base``: :class:`BatchError`, the chunk and read sizes.

This package re-exports the names the CLI, the Dask path, the tests and the benchmarks use;
private names are imported from their module (and patched there in tests).
"""

from __future__ import annotations

from dashboard.services.batch.base import DEFAULT_CHUNK_ROWS, BatchError
from dashboard.services.batch.csv_format import csv_text, format_floats
from dashboard.services.batch.engine import (
    InlinePool,
    assign_file,
    keep_freed_memory,
    run_processes,
    use_system_memory_pool,
    warm,
)
from dashboard.services.batch.readers import (
    fast_block,
    parquet_batches,
    parquet_frame,
    read_csv_chunks,
)
from dashboard.services.batch.route import (
    IP_COLUMNS,
    Job,
    constant_text,
    locate_chunk,
    route_chunk,
)
from dashboard.services.batch.sinks import PARQUET_TEXT, CsvSink, ParquetSink, parquet_table
from dashboard.services.batch.summary import Summary

__all__ = [
    "DEFAULT_CHUNK_ROWS", "IP_COLUMNS", "PARQUET_TEXT", "BatchError", "CsvSink", "InlinePool",
    "Job", "ParquetSink", "Summary", "assign_file", "constant_text", "csv_text", "fast_block",
    "format_floats", "keep_freed_memory", "locate_chunk", "parquet_batches", "parquet_frame",
    "parquet_table", "read_csv_chunks", "route_chunk", "run_processes", "use_system_memory_pool",
    "warm",
]
