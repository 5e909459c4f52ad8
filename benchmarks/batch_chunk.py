#!/usr/bin/env python3
"""Batch assignment (issue 16): CPU milliseconds per chunk of each stage of a worker, in-process.

    python benchmarks/batch_chunk.py                 # 50,000 rows, minimum of 11 repetitions
    python benchmarks/batch_chunk.py --rows 75000 --repeat 21
    python benchmarks/batch_chunk.py --parquet       # + the Parquet -> Parquet stages
    BATCH_ROOT=/path/to/other/checkout python benchmarks/batch_chunk.py --parquet  # its engine

The clients of ``benchmarks/batch_assign.py`` (its ``generate``, seed 0: uniform on the sphere,
integer weights, 1 % formula-like names); one block of ``--rows`` of them goes through what a
worker process does with it (``engine._work_process``: read, route, encode as CSV, count), then
each stage on the same rows: reading (``fast_block``), routing (``route_chunk``) and in it the
clients' ``latency.locate``, the rankings (``policy.best_pops``), the route table
(``paths.table_from_ranking``) and its direct legs, and the CSV text (``csv_text``).

With ``--parquet`` also what a Parquet -> Parquet run does with the chunk: the command's read
of one batch (``parquet_batches``), the worker's check (``parquet_frame``), encoding
(``ParquetSink.encode``) and counting (``Summary``), and the command's ``ParquetSink.put``.
``BATCH_ROOT``: import the engine from another checkout (e.g. main's) with this script.

CPU time of this process (``time.process_time``), the minimum of ``--repeat`` runs: steadier
than wall time on the shared 2-core machine, though other jobs still slow it (caches). To
compare two revisions run it in a checkout of each, alternately, in one window
(``docs/performance.md``, "Less CPU per client").
"""

from __future__ import annotations

import argparse
import inspect
import io
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, os.environ.get("BATCH_ROOT", str(ROOT)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=50_000)
    ap.add_argument("--repeat", type=int, default=11)
    ap.add_argument("--parquet", action="store_true", help="also the Parquet stages")
    args = ap.parse_args()

    from batch_assign import generate

    from dashboard import latency as public
    from dashboard.catalog import load_catalog
    from dashboard.domain import clients as cl
    from dashboard.domain import latency, paths
    from dashboard.domain import policy as pol
    from dashboard.services import batch
    from dashboard.services.routing import origin_spec

    # the worker protocol's private names: the package's engine module, or (BATCH_ROOT of an
    # older checkout) the single services/batch.py
    engine = getattr(batch, "engine", batch)

    work = Path(tempfile.mkdtemp(prefix="batch-chunk-"))
    src = work / "clients.csv"
    generate(src, args.rows)
    header, _, block = src.read_bytes().partition(b"\n")
    names = header.decode().split(",")
    catalog = load_catalog(ROOT / "data" / "pops.csv", ROOT / "data" / "origins.csv")
    job = batch.Job(origin="eu-central-1")
    batch.keep_freed_memory()
    batch.use_system_memory_pool()
    batch.warm(job)
    engine._WORKER["args"] = (catalog, job, batch.route_chunk,
                              batch.CsvSink(io.BytesIO()).encode)
    snap = (",", names, False)
    spool = str(work / "spool.csv")

    def state() -> cl.ParseState:
        return cl.ParseState(delimiter=",", header=names, seen_first=True, comments=False)

    df = batch.fast_block(block, state())
    lat, lon = df["lat"].to_numpy(float), df["lon"].to_numpy(float)
    params = public.params_with((), job.access)
    pla = np.asarray(catalog.pop_lats, float)
    plo = np.asarray(catalog.pop_lons, float)
    down = np.zeros(len(pla), bool)
    terms, pop_terms = latency.locate(lat, lon, params), latency.locate(pla, plo, params)
    kw = {"net_k": 1} if "net_k" in inspect.signature(pol.best_pops).parameters else {}
    best = pol.best_pops(lat, lon, pla, plo, terms, pop_terms, params, down, k=2,
                         geographic=True, **kw)
    olat, olon, oids, direct = origin_spec(catalog, job.origin)
    out = batch.route_chunk(catalog, df, job)

    def cpu_ms(fn) -> float:
        fn()
        runs = []
        for _ in range(args.repeat):
            t = time.process_time()
            fn()
            runs.append(time.process_time() - t)
        return min(runs) * 1e3

    stages = {
        "worker task (read, route, encode, count)":
            lambda: engine._work_process("block", block, snap, spool),
        "reading (fast_block)": lambda: batch.fast_block(block, state()),
        "routing (route_chunk)": lambda: batch.route_chunk(catalog, df, job),
        "  clients' latency.locate": lambda: latency.locate(lat, lon, params),
        "  rankings (policy.best_pops)": lambda: pol.best_pops(
            lat, lon, pla, plo, terms, pop_terms, params, down, k=2, geographic=True, **kw),
        "  route table (table_from_ranking)": lambda: paths.table_from_ranking(
            lat, lon, terms, catalog.pop_ids, pla, plo, pop_terms, best.geo[:, 0],
            best.geo_km[:, 0], best.geo[:, 1], best.geo_km[:, 1], olat, olon, oids,
            params=params, direct_origin=direct, network=(best.net[:, 0], best.net_ms[:, 0]),
            policy="geographic"),
        "    direct legs": lambda: paths.direct_legs(lat, lon, terms, direct, params),
        "CSV text (csv_text)": lambda: batch.csv_text(out, header=False),
    }
    if args.parquet:
        import pandas as pd

        pq_src = work / "clients.parquet"
        pd.read_csv(src, keep_default_na=False, dtype={"name": str}).to_parquet(pq_src)
        pbatch, canon, done = next(batch.parquet_batches(pq_src, args.rows))
        sink = batch.ParquetSink(work / "out.parquet")
        payload = sink.encode(out)
        new_summary = getattr(batch.Summary, "chunk", batch.Summary)

        def count() -> None:
            part = new_summary()
            part.add(out)
            part.trimmed()

        stages.update({
            "Parquet: command reads a batch": lambda: next(
                batch.parquet_batches(pq_src, args.rows)),
            "Parquet: worker checks it (parquet_frame)": lambda: batch.parquet_frame(
                pbatch, canon, done),
            "Parquet: worker encodes (ParquetSink.encode)": lambda: sink.encode(out),
            "worker counts (Summary)": count,
            "Parquet: command writes (ParquetSink.put)": lambda: sink.put(payload, out.columns),
        })
    print(f"{args.rows:,} rows, CPU ms (min of {args.repeat}), load {os.getloadavg()[0]:.1f}")
    for name, fn in stages.items():
        print(f"  {name:42s} {cpu_ms(fn):8.1f}")
    if args.parquet:
        sink.close()
    print(f"engine: {batch.__file__}")
    for f in work.iterdir():
        f.unlink()
    work.rmdir()


if __name__ == "__main__":
    main()
