"""The batch engine over many files with Dask distributed (issue 16, part 2).

``anycast-dashboard assign 'dir/*.parquet' --dask local|tcp://host:8786 -o outdir/`` runs
:func:`dashboard.services.batch.assign_file` once per input file (a partition) on the cluster's
workers, each writing ``outdir/<input stem>.<same extension>``; the per-partition summaries are
merged. Every partition is routed by the same code as a single-process run, so the outputs are
equal row for row (``tests/unit/test_batch_dask.py``).

Workers load the catalog themselves from the settings' file paths (the files must be readable
at the same paths on every worker: a shared volume, or the packaged defaults).
"""

from __future__ import annotations

import glob
from pathlib import Path
from typing import Any

from dashboard.catalog import load_catalog
from dashboard.services import batch
from dashboard.settings import Settings


class DaskInputError(ValueError):
    """No input files, or an output directory that cannot be made."""


def _one(pops_csv: str, origins_csv: str, source: str, target: str, job: batch.Job, rows: int,
         max_rows: int | None) -> batch.Summary:
    catalog = load_catalog(Path(pops_csv), Path(origins_csv))
    # one thread per task: the cluster's workers already use the cores
    return batch.assign_file(catalog, source, target, job, rows=rows, max_rows=max_rows,
                             workers=1)


def partitions(pattern: str) -> list[str]:
    """The input files of a glob (sorted), or ``DaskInputError``."""
    files = sorted(glob.glob(pattern))
    if not files:
        raise DaskInputError(f"{pattern}: no input files match")
    return files


def assign_partitions(settings: Settings, pattern: str, outdir: Path, job: batch.Job,
                      scheduler: str, rows: int = batch.DEFAULT_CHUNK_ROWS,
                      max_rows: int | None = None, n_workers: int = 2) -> batch.Summary:
    """Route every file of ``pattern`` on a Dask cluster (``scheduler``: ``"local"`` = a
    ``LocalCluster`` of ``n_workers`` processes, or a scheduler address), one output file per
    input in ``outdir``. Returns the merged :class:`~dashboard.services.batch.Summary`; a bad
    partition raises its ``ClientsError`` (naming the file)."""
    from dask.distributed import Client, LocalCluster

    files = partitions(pattern)
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DaskInputError(f"{outdir}: cannot create the output directory "
                             f"({exc.strerror})") from None
    cluster: Any = None
    if scheduler == "local":
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
    else:
        client = Client(scheduler)
    try:
        futures = [client.submit(_one, str(settings.pops_csv), str(settings.origins_csv), f,
                                 str(outdir / Path(f).name), job, rows, max_rows,
                                 key=f"assign-{i}-{Path(f).name}", pure=False)
                   for i, f in enumerate(files)]
        total = batch.Summary()
        for f, fut in zip(files, futures):
            try:
                total.merge(fut.result())
            except ValueError as exc:
                raise DaskInputError(f"{f}: {exc}") from None
        return total
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
