"""The batch engine's run: chunks read, routed, encoded and written in input order.

With ``workers`` > 1 (the CLI: the CPUs, at most 4) chunks are read, routed and encoded on
forked worker processes (:func:`run_processes`; the parent cuts the input and writes the chunks
in input order); with one, in this process (:func:`run`, also the Dask path's). The command's
entry point is :func:`assign_file` (``anycast-dashboard assign``, and once per partition on the
Dask path, :mod:`dashboard.services.batch_dask`).

Worker protocol: a :class:`_Task` per chunk (``kind`` ``"block"``, ``"frame"``, ``"call"``,
``"error"``) goes to :func:`_work_process` by reference (module-level names: forked workers
find them by qualified name); the module global :data:`_WORKER` carries what the workers route
with, inherited at fork."""

from __future__ import annotations

import concurrent.futures as cf
import itertools
import os
import shutil
import tempfile
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Callable, Iterator

import numpy as np
import pandas as pd
import pyarrow as pa

from dashboard import latency
from dashboard.catalog import Catalog
from dashboard.domain import clients as cl
from dashboard.domain.access import check_access
from dashboard.services.batch.base import DEFAULT_CHUNK_ROWS, READ_BYTES, BatchError
from dashboard.services.batch.csv_format import _wholes
from dashboard.services.batch.readers import (
    _fast_ok, _line_ends, count_lines, fast_block, parquet_batches, parquet_frame,
    parquet_ip_column, read_block, read_csv_chunks, read_ip_csv_chunks, read_ip_parquet_chunks,
    read_parquet_chunks, sniff_ip_csv)
from dashboard.services.batch.route import Job, route_chunk, route_ip_chunk
from dashboard.services.batch.sinks import CsvSink, ParquetSink, _spool, _Spooled
from dashboard.services.batch.summary import Summary


def kind_of(path: str | Path | None) -> str:
    """``"parquet"`` for ``*.parquet``/``*.pq``, else ``"csv"``."""
    return "parquet" if path is not None and str(path).lower().endswith((".parquet", ".pq")) \
        else "csv"


def default_workers() -> int:
    """Routing workers (processes; threads where none can be forked): the CPUs this process
    may use, at most 4."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        n = os.cpu_count() or 1
    return max(1, min(4, n))


def run(catalog: Catalog, chunks: Iterator[pd.DataFrame], sink: CsvSink | ParquetSink, job: Job,
        workers: int = 1, progress: Callable[[Summary, float], None] | None = None,
        route: Callable[[Catalog, pd.DataFrame, Job], pd.DataFrame] | None = None) -> Summary:
    """Route every chunk (on ``workers`` threads, at most ``workers + 1`` chunks in memory),
    write them in order, return the :class:`Summary`. ``progress(summary, seconds)`` after each
    chunk written. ``route``: :func:`route_chunk` (clients with coordinates, the default) or
    :func:`route_ip_chunk` (IP addresses: located first).

    Each thread routes a chunk, encodes it for the sink (CSV text, an Arrow table) and counts
    it (a chunk's :class:`Summary`); the calling thread reads the input, writes the encoded
    chunks in input order and merges the counts. Numpy and Arrow release the GIL in their loops,
    so routing and encoding of two chunks overlap on two cores -- but only ~1.6x: the Python
    between the numpy calls holds the GIL. :func:`assign_file` therefore uses
    :func:`run_processes` where it can fork, and this with one worker (the Dask path) or where
    it cannot. Each chunk's route table is dropped as soon as it is encoded (memory)."""
    route_fn = route or route_chunk
    summary = Summary()
    t0 = time.perf_counter()

    def work(c: pd.DataFrame) -> tuple[object, list[str], Summary]:
        out = route_fn(catalog, c, job)
        del c
        part = Summary.chunk()
        part.add(out)
        return sink.encode(out), list(out.columns), part

    def emit(done: tuple[object, list[str], Summary]) -> None:
        payload, columns, part = done
        sink.put(payload, columns)
        summary.merge(part)
        if progress is not None:
            progress(summary, time.perf_counter() - t0)

    try:
        if workers <= 1:
            for c in chunks:
                emit(work(c))
        else:
            with cf.ThreadPoolExecutor(workers) as pool:
                pending: deque[cf.Future] = deque()
                for c in chunks:
                    pending.append(pool.submit(work, c))
                    del c
                    while len(pending) >= workers:
                        emit(pending.popleft().result())
                while pending:
                    emit(pending.popleft().result())
    finally:
        sink.close()
    return summary


#: What the worker processes route with: set in the parent just before the pool forks them, so
#: they inherit it (catalog, job, route function, the sink's encoder and the latency model's
#: cities grid, built once) without pickling; cleared when the run ends.
_WORKER: dict[str, Any] = {}


def _spool_dir() -> str:
    """A private directory (mode 0700) for the workers' spool files: in ``/dev/shm`` (memory,
    no disk write) where it is writable, else the temporary directory. Holds at most
    ``workers + 1`` chunks (~9 MB per 50,000 rows) at once."""
    base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    try:
        return tempfile.mkdtemp(prefix="anycast-assign-", dir=base)
    except OSError:
        return tempfile.mkdtemp(prefix="anycast-assign-")


@dataclass
class _Task:
    """A chunk of work in input order. ``kind`` ``"block"``: CSV bytes the worker reads with
    the column-wise reader (``snap`` = delimiter, header, comments of the parse state);
    ``"frame"``: clients already read (``counted``: their rows are in the parse state's count;
    otherwise read ahead of order without the row limit, checked when their turn comes);
    ``error``: the read-ahead failed with it (raised, or the row limit's error, in order)."""

    kind: str
    data: Any
    offset: int = 0
    lines: int = 0
    counted: bool = True
    snap: tuple | None = None
    #: The CSV bytes of a task read ahead of order, kept for the in-order re-read.
    block: bytes | None = None
    error: Exception | None = None


def _work_process(kind: str, data: Any, snap: tuple | None, spool: str | None = None
                  ) -> tuple[object, list[str], Summary, int] | None:
    """In a worker process: read (a ``"block"``), route, encode and count one chunk; None when
    the column-wise reader cannot take the block (the parent reads it row by row, in order).
    ``spool``: a path to leave CSV text in (:func:`_spool`) instead of returning it."""
    catalog, job, route_fn, encode = _WORKER["args"]
    if kind == "block":
        assert snap is not None
        state = cl.ParseState(delimiter=snap[0], header=snap[1], seen_first=True,
                              comments=snap[2])
        clients = fast_block(data, state)
        if clients is None:
            return None
    elif kind == "call":  # read here: fn(*args) -> clients (a Parquet batch checked)
        fn, args = data
        clients = fn(*args)
    else:
        clients = data
    del data
    n = len(clients)
    out = route_fn(catalog, clients, job)
    del clients
    part = Summary.chunk()
    part.add(out)
    payload = encode(out)
    if spool is not None and isinstance(payload, bytes):
        payload = _spool(payload, spool)
    return payload, list(out.columns), part.trimmed(), n


class InlinePool:
    """The executor interface :func:`run_processes` uses, in this process: each task runs when
    its result is asked for (in order, after the tasks after it were submitted: the same
    read-ahead as with processes). For one-chunk inputs and tests."""

    class _Later:
        def __init__(self, fn: Callable[..., Any], args: tuple) -> None:
            self.fn, self.args = fn, args

        def result(self) -> Any:
            return self.fn(*self.args)

    def submit(self, fn: Callable[..., Any], *args: Any) -> "InlinePool._Later":
        return InlinePool._Later(fn, args)

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        pass


def _worker_init() -> None:
    """A worker ignores Ctrl-C: the parent gets it, stops submitting and waits for the chunks
    in progress (no traceback from every worker)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


class _CsvFeed:
    """A CSV stream as :class:`_Task` s for the worker processes, and the in-order checks that
    keep the rows, line numbers, messages and row limit of :func:`read_csv_chunks`.

    The parent reads every block where the header is not settled yet (the first, and any while
    the file has shown only blank and comment lines) itself, exactly as :func:`read_csv_chunks`
    (:func:`read_block`). After that a block's reading depends only on the header, delimiter
    and comment rule (fixed from then on) and on the lines and rows before it: lines are counted
    here as blocks are cut (:func:`count_lines`), rows when results come back in order. A
    block the column-wise reader may take goes to a worker as bytes; one it may not (quotes,
    comments, CRs) is read row by row here ahead of order, without the row limit. In order,
    :meth:`resolve` adds the rows; when the limit is passed, or a block failed or fell back, the
    block is read again row by row with the true state, which raises the very error the
    sequential reader raises (or gives its rows)."""

    def __init__(self, stream: IO[bytes], rows: int, max_rows: int | None) -> None:
        self.stream, self.rows, self.max_rows = stream, rows, max_rows
        self.state = cl.ParseState()

    def blocks(self) -> Iterator[tuple[bytes, int, int]]:
        """``(block, offset, newlines)``: the stream in blocks of whole lines cut outside
        quotes, as :func:`csv_blocks` but with fewer passes over the bytes (the parent cuts
        every block while two workers route: its time is the run's floor). The first block
        has ``rows`` lines; later ones are cut at the line end after ~98 % of ``rows`` times
        the bytes per line so far, then counted once (numpy) and cut at the ``rows``-th line
        end if they have more: never more than ``rows`` lines (but for a quoted field's lines),
        the same bound on memory."""
        rows, stream = self.rows, self.stream
        buf = b""
        offset = 0
        eof = False
        per_line = 0.0  # bytes per line of the blocks so far; 0: none yet

        def more() -> bool:
            nonlocal buf, eof
            got = stream.read(READ_BYTES) if not eof else b""
            if not got:
                eof = True
                return False
            buf += got
            return True

        while True:
            if per_line:
                want = max(1, int(rows * per_line * 0.98))
                while len(buf) < want and more():
                    pass
                if not buf:
                    return
                end = buf.find(b"\n", want - 1)
                while end < 0 and more():
                    end = buf.find(b"\n", want - 1)
                cut = end + 1 if end >= 0 else len(buf)
                nl = np.frombuffer(buf, dtype=np.uint8, count=cut) == 10
                n = int(np.count_nonzero(nl))
                if n > rows:
                    cut, n = int(np.flatnonzero(nl)[rows - 1]) + 1, rows
            else:
                while buf.count(b"\n") < rows and more():
                    pass
                if not buf:
                    return
                ends = _line_ends(buf)
                cut = int(ends[rows - 1]) + 1 if len(ends) >= rows else len(buf)
                n = min(rows, len(ends))
            if buf.find(b'"', 0, cut) >= 0:  # a quoted field may span lines (csv_blocks)
                odd = buf.count(b'"', 0, cut) % 2
                while odd:  # extend to a line end with an even number of quotes before it
                    nxt = buf.find(b"\n", cut)
                    if nxt >= 0:
                        odd ^= buf.count(b'"', cut, nxt + 1) % 2
                        cut = nxt + 1
                    elif not more():
                        cut = len(buf)
                        break
                n = buf.count(b"\n", 0, cut)
            yield buf[:cut], offset, n
            per_line = cut / max(n, 1)
            offset += cut
            buf = buf[cut:]

    def tasks(self) -> Iterator[_Task]:
        state = self.state
        lines = 0  # physical lines before the next block
        first = True
        for block, offset, newlines in self.blocks():
            if first or not state.seen_first:
                # in order: every task before this one was read here too (counted)
                yield _Task("frame", read_block(block, offset, state, self.max_rows, first))
                first = False
                lines = state.lines
                continue
            snap = (state.delimiter, state.header, state.comments)
            task = _Task("block", block, offset, lines, counted=False, snap=snap, block=block)
            if not _fast_ok(block, state):  # row by row, here, ahead of order
                try:
                    task.kind, task.data = "frame", self._parse(block, offset, lines, 0, None)
                except cl.ClientsError as exc:
                    task.kind, task.data, task.error = "error", None, exc
            yield task
            lines += (newlines + (not block.endswith(b"\n")) if b"\r" not in block
                      else count_lines(block))

    def _parse(self, block: bytes, offset: int, lines: int, rows: int,
               max_rows: int | None) -> pd.DataFrame:
        s = self.state
        st = cl.ParseState(delimiter=s.delimiter, header=s.header, seen_first=s.seen_first,
                           comments=s.comments, lines=lines, rows=rows)
        return cl.parse_block(cl.decode_block(block, st, offset), st, max_rows)

    def reread(self, task: _Task) -> pd.DataFrame:
        """The task's block read row by row with the true state and the row limit, in order
        (raises the sequential reader's error); its rows are counted."""
        assert task.block is not None
        df = self._parse(task.block, task.offset, task.lines, self.state.rows, self.max_rows)
        self.state.rows += len(df)
        return df

    def check(self, task: _Task, n: int) -> None:
        """In order: count the ``n`` rows of a task read ahead; re-read (and raise) when they
        pass the row limit or the read-ahead failed."""
        if task.error is not None:
            self.reread(task)  # raises the sequential reader's error
            raise task.error   # pragma: no cover - the re-read raises first
        if task.counted:
            return
        if self.max_rows is not None and self.state.rows + n > self.max_rows:
            self.reread(task)
            raise AssertionError("row limit passed without an error")  # pragma: no cover
        self.state.rows += n

    def finish(self) -> None:
        cl.check_not_empty(self.state)


def _frame_tasks(chunks: Iterator[pd.DataFrame]) -> Iterator[_Task]:
    for c in chunks:
        yield _Task("frame", c)


def can_fork() -> bool:
    """Whether worker processes can be forked here (Linux and other POSIX systems)."""
    import multiprocessing as mp

    return "fork" in mp.get_all_start_methods()


def warm(job: Job) -> None:
    """Build what every chunk's routing builds once per process (the latency model's cities
    grid, ~0.15 s) before the workers fork, so they share it instead of each building it."""
    params = latency.params_with((), check_access(job.access))
    from dashboard.domain import latency as lat_mod

    lat_mod._city_grid(params)
    _wholes()


def run_processes(catalog: Catalog, tasks: Iterator[_Task], sink: CsvSink | ParquetSink,
                  job: Job, workers: int, feed: _CsvFeed | None = None,
                  progress: Callable[[Summary, float], None] | None = None,
                  route: Callable[[Catalog, pd.DataFrame, Job], pd.DataFrame] | None = None,
                  pool_factory: Callable[[int], Any] | None = None) -> Summary:
    """:func:`run` on ``workers`` forked processes: each reads (CSV blocks), routes, encodes
    and counts a chunk; this process cuts the input, writes the chunks in input order (CSV
    text handed over in spool files, :func:`_spool`, spliced by ``os.sendfile``) and merges
    the counts. At most ``workers + 1`` chunks are in flight (memory).
    ``pool_factory(workers)``: the pool (tests pass :class:`InlinePool`); default a fork pool.

    Why processes: the routing holds the GIL between numpy calls (the cities grid's per-cell
    loop, pandas), so two threads overlapped only ~1.6x on 2 cores; processes overlap fully.
    The pool forks once the first two chunks are read (a one-chunk input starts none), with
    the latency model's cities grid built (:func:`warm`): the workers share it and inherit
    catalog, job and route function without pickling; they exit with ``os._exit``
    (multiprocessing), never flushing the inherited output. A worker that dies (killed, out of
    memory) ends the run with :class:`BatchError`, never a hang."""
    import multiprocessing as mp
    from concurrent.futures.process import BrokenProcessPool

    route_fn = route or route_chunk
    summary = Summary()
    t0 = time.perf_counter()
    _WORKER["args"] = (catalog, job, route_fn, sink.encode)
    tasks = iter(tasks)
    head = [t for t in (next(tasks, None), next(tasks, None)) if t is not None]
    if len(head) < 2 or workers < 2:  # one chunk (or one worker): no processes to start
        pool: Any = InlinePool()
    elif pool_factory is not None:
        pool = pool_factory(workers)
    else:
        warm(job)
        pool = cf.ProcessPoolExecutor(workers, mp_context=mp.get_context("fork"),
                                      initializer=_worker_init)
    # CSV text and Parquet parts from worker processes go through spool files, not the pipe
    spool_dir = (_spool_dir() if hasattr(sink, "put_spooled")
                 and not isinstance(pool, InlinePool) else None)
    serial = itertools.count()
    try:
        pending: deque[tuple[_Task, Any]] = deque()

        def submit(task: _Task) -> Any:
            if task.kind == "error":
                return None
            spool = (os.path.join(spool_dir, f"{next(serial)}.csv") if spool_dir is not None
                     else None)
            return pool.submit(_work_process, task.kind, task.data,
                               task.snap if task.kind == "block" else None, spool)

        def step() -> None:
            task, res = pending.popleft()
            got = res.result() if res is not None else None
            if feed is not None and task.kind == "block" and got is None:
                # the column-wise reader could not take it: row by row, in order, here
                df = feed.reread(task)
                pending.appendleft((_Task("frame", df), submit(_Task("frame", df))))
                return
            if feed is not None:
                feed.check(task, got[3] if got is not None else 0)
            payload, columns, part, _ = got
            if isinstance(payload, _Spooled):
                sink.put_spooled(payload, columns)
            else:
                sink.put(payload, columns)
            summary.merge(part)
            if progress is not None:
                progress(summary, time.perf_counter() - t0)

        for task in itertools.chain(head, tasks):
            pending.append((task, submit(task)))
            while len(pending) > workers:
                step()
        while pending:
            step()
        if feed is not None:
            feed.finish()
    except BrokenProcessPool:
        raise BatchError("a worker process died (killed, or out of memory: lower "
                         "--chunk-rows)") from None
    finally:
        _WORKER.clear()
        pool.shutdown(wait=True, cancel_futures=True)
        if spool_dir is not None:  # what a dead or cancelled worker left
            shutil.rmtree(spool_dir, ignore_errors=True)
        sink.close()
    return summary


def use_system_memory_pool() -> None:
    """Arrow's buffers from the C library's allocator instead of mimalloc, for this process.

    Why: mimalloc keeps the pages of freed chunk buffers (the CSV text, the Arrow tables) for
    reuse, so a run's peak RSS grew by ~60 MB over the system allocator for the same work
    (2 threads, 50,000-row chunks: 365 vs 308 MB); the batch engine allocates and frees the
    same sizes chunk after chunk and gains nothing from keeping them. Process-wide: the CLI and
    the Dask workers are batch processes."""
    if pa.default_memory_pool().backend_name != "system":
        pa.set_memory_pool(pa.system_memory_pool())


#: ``mallopt`` parameters (glibc's malloc.h) and the values :func:`keep_freed_memory` sets.
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
_KEEP_MALLOC = ((_M_MMAP_THRESHOLD, 32 << 20), (_M_TRIM_THRESHOLD, 256 << 20),
                (_M_TOP_PAD, 64 << 20))


def keep_freed_memory() -> bool:
    """glibc's malloc told to keep freed memory for reuse in this process (and the workers it
    forks): blocks up to 32 MiB (its largest setting) from the heap instead of their own
    ``mmap``, the heap's top given back only past 256 MiB free, grown 64 MiB at a time. False
    where it does not apply (not glibc).

    Why: every chunk allocates and frees the same sizes (numpy columns of 50,000 values,
    ~0.4 MB; Arrow buffers; the ~9 MB of CSV text), and by default glibc maps the large ones
    fresh and gives them back each time, so each is zero-filled by the kernel again: 343,000
    page faults per 2M-row run. Kept, 89,000-93,000: ~0.5 CPU s less (4 %); the run's
    memory did not grow (tree PSS 299 MB with the spool files; docs/performance.md)."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return [mallopt(param, value) for param, value in _KEEP_MALLOC] == [1, 1, 1]


def assign_file(catalog: Catalog, source: str | Path, target: str | Path | None, job: Job,
                rows: int = DEFAULT_CHUNK_ROWS, max_rows: int | None = None,
                workers: int | None = None, stdin: IO[bytes] | None = None,
                stdout: IO[bytes] | None = None,
                progress: Callable[[Summary, float], None] | None = None) -> Summary:
    """``source`` (CSV or Parquet by extension; ``"-"`` = ``stdin``, CSV) -> ``target`` (by
    extension; None or ``"-"`` = ``stdout``, CSV). Raises ``ClientsError`` (bad rows; the
    output written so far is left as is: the caller removes it), ``BatchError`` and
    ``OSError``."""
    workers = default_workers() if workers is None else workers
    use_system_memory_pool()
    keep_freed_memory()
    src_kind = "csv" if str(source) == "-" else kind_of(source)
    route = None
    pq_tasks: Iterator[_Task] | None = None
    if src_kind == "parquet":
        ip_col = parquet_ip_column(source)
        if ip_col is not None:  # a file of IP addresses: located first (issue 18)
            chunks, route = read_ip_parquet_chunks(source, ip_col, rows, max_rows), route_ip_chunk
        else:
            chunks = read_parquet_chunks(source, rows, max_rows)
            pq_tasks = (_Task("call", (parquet_frame, args))
                        for args in parquet_batches(source, rows, max_rows))
        fh = None
    else:
        fh = stdin if str(source) == "-" else open(source, "rb")
        fh, ip_header = sniff_ip_csv(fh)
        if ip_header is not None:
            chunks, route = read_ip_csv_chunks(fh, ip_header, rows, max_rows), route_ip_chunk
        else:
            chunks = read_csv_chunks(fh, rows, max_rows)
    try:
        if target is None or str(target) == "-":
            sink: CsvSink | ParquetSink = CsvSink(stdout)
        elif kind_of(target) == "parquet":
            sink = ParquetSink(target)
        else:
            out_fh = open(target, "wb")
            sink = CsvSink(out_fh)
            sink.close = lambda: (out_fh.flush(), out_fh.close())  # type: ignore[method-assign]
        if workers > 1 and can_fork():
            feed = _CsvFeed(fh, rows, max_rows) if src_kind == "csv" and route is None else None
            tasks = (feed.tasks() if feed is not None else pq_tasks if pq_tasks is not None
                     else _frame_tasks(chunks))
            return run_processes(catalog, tasks, sink, job, workers, feed, progress, route)
        return run(catalog, chunks, sink, job, workers, progress, route)
    finally:
        if fh is not None and fh is not stdin:
            fh.close()
