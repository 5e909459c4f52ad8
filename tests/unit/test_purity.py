"""The domain core and ``import dashboard`` must not pull in the web stack, so notebooks and batch
jobs can use them alone. Checked in a fresh interpreter, since this test process imports dash."""

from __future__ import annotations

import ast
import subprocess
import sys

from tests.conftest import ROOT

WEB = ("dash", "flask", "plotly", "flask_caching", "werkzeug")


def test_domain_sources_import_no_web_framework():
    offenders = []
    for path in sorted((ROOT / "dashboard" / "domain").rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in WEB]
    assert offenders == []


def test_domain_imports_nothing_else_of_the_package_even_lazily():
    """One-way arrows: the domain takes its parameters explicitly (a lazy import of
    ``dashboard.latency`` in a function, which reads the environment and a data file, was an
    upward arrow the check above did not see)."""
    offenders = []
    for path in sorted((ROOT / "dashboard" / "domain").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}:{node.lineno}: {n}" for n in names
                          if n.split(".")[0] == "dashboard" and not n.startswith("dashboard.domain")]
    assert offenders == []


def test_importing_the_core_loads_no_web_module():
    code = (
        "import sys, dashboard, dashboard.catalog, dashboard.settings\n"
        "import importlib, pkgutil, dashboard.domain\n"
        "for m in pkgutil.iter_modules(dashboard.domain.__path__):\n"
        "    importlib.import_module('dashboard.domain.' + m.name)\n"
        "for extra in ('dashboard.latency',):\n"
        "    try: importlib.import_module(extra)\n"
        "    except ModuleNotFoundError as e:\n"
        "        if e.name != extra: raise\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {WEB!r})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == ""


def test_figures_are_pure_plotly():
    """Figure builders take data and return Plotly figures: no Dash or Flask import, so they
    serve callbacks, the API and notebooks alike (and are tested without an app)."""
    offenders = []
    for path in sorted((ROOT / "dashboard" / "figures").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}:{node.lineno}: {n}" for n in names
                          if n.split(".")[0] in ("dash", "flask", "flask_caching", "werkzeug")
                          or n.startswith(("dashboard.layout", "dashboard.callbacks"))]
    assert offenders == []
