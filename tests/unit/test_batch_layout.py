"""The batch engine's package (``dashboard/services/batch/``, docs/architecture.md): its modules
import one way, and what worker processes and Dask get by qualified name still resolves."""

from __future__ import annotations

import ast
import pickle

from dashboard.services import batch
from dashboard.services.batch import engine, readers, route, sinks, summary
from tests.conftest import ROOT

#: The package's modules, each importing only modules after it (never ``engine`` from below).
ORDER = ("engine", "sinks", "csv_format", "route", "readers", "summary", "base")


def _package_imports(module: str) -> set[str]:
    """The package modules ``module`` imports (lazy imports included)."""
    tree = ast.parse((ROOT / "dashboard" / "services" / "batch" / f"{module}.py").read_text())
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith("dashboard.services.batch."):
                out.add(node.module.rsplit(".", 1)[1])
            elif node.module == "dashboard.services.batch":
                out |= {a.name for a in node.names}
    return out


def test_modules_import_one_way():
    for i, module in enumerate(ORDER):
        assert _package_imports(module) <= set(ORDER[i + 1:]), module


def test_what_workers_get_by_name_resolves():
    """Fork pools pickle the task function and a ``"call"`` task's reader by qualified name;
    results come back as pickles of ``_Spooled`` and ``Summary``; Dask ships ``Job``."""
    for obj in (engine._work_process, readers.parquet_frame, route.route_chunk,
                route.route_ip_chunk):
        assert pickle.loads(pickle.dumps(obj)) is obj
    for obj in (sinks._Spooled("p", 3), route.Job("eu-central-1"),
                engine._Task("frame", None)):
        assert pickle.loads(pickle.dumps(obj)) == obj
    assert pickle.loads(pickle.dumps(summary.Summary())).clients == 0


def test_package_reexports_are_the_owning_modules_objects():
    for name in batch.__all__:
        obj = getattr(batch, name)
        assert obj is not None
    assert batch.assign_file is engine.assign_file and batch.Job is route.Job
