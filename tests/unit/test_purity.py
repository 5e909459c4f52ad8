"""The domain core and ``import dashboard`` must not pull in the web stack, so notebooks and batch
jobs can use them alone. Checked in a fresh interpreter, since this test process imports dash."""

from __future__ import annotations

import ast
import subprocess
import sys

from tests.conftest import ROOT

WEB = ("dash", "flask", "plotly", "flask_caching", "werkzeug")


def _imports(folder: str) -> list[tuple[str, int, str]]:
    """(file, line, module) of every import in ``dashboard/<folder>`` (lazy ones included)."""
    out = []
    for path in sorted((ROOT / "dashboard" / folder).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                out += [(path.name, node.lineno, a.name) for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                out.append((path.name, node.lineno, node.module))
    return out


def test_domain_sources_import_no_web_framework():
    offenders = [f"{f}:{line}: {m}" for f, line, m in _imports("domain")
                 if m.split(".")[0] in WEB]
    assert offenders == []


def test_domain_imports_nothing_else_of_the_package_even_lazily():
    """One-way arrows: the domain takes its parameters explicitly (a lazy import of
    ``dashboard.latency`` in a function, which reads the environment and a data file, was an
    upward arrow the check above did not see)."""
    offenders = [f"{f}:{line}: {m}" for f, line, m in _imports("domain")
                 if m.split(".")[0] == "dashboard" and not m.startswith("dashboard.domain")]
    assert offenders == []


def _web_modules_after(imports: str) -> str:
    """The web modules a fresh interpreter has loaded after running ``imports`` (Python code),
    comma-separated ("" when none)."""
    code = imports + (f"import sys\nbad = sorted(m for m in sys.modules "
                      f"if m.split('.')[0] in {WEB!r})\nprint(','.join(bad))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True)
    return out.stdout.strip()


def test_importing_the_core_loads_no_web_module():
    assert _web_modules_after(
        "import sys, dashboard, dashboard.catalog, dashboard.settings\n"
        "import importlib, pkgutil, dashboard.domain\n"
        "for m in pkgutil.iter_modules(dashboard.domain.__path__):\n"
        "    importlib.import_module('dashboard.domain.' + m.name)\n"
        "for extra in ('dashboard.latency',):\n"
        "    try: importlib.import_module(extra)\n"
        "    except ModuleNotFoundError as e:\n"
        "        if e.name != extra: raise\n") == ""


def test_figures_are_pure_plotly():
    """Figure builders take data and return Plotly figures: no Dash or Flask import, so they
    serve callbacks, the API and notebooks alike (and are tested without an app)."""
    offenders = [f"{f}:{line}: {m}" for f, line, m in _imports("figures")
                 if m.split(".")[0] in ("dash", "flask", "flask_caching", "werkzeug")
                 or m.startswith(("dashboard.layout", "dashboard.callbacks"))]
    assert offenders == []


def test_services_know_nothing_of_the_web():
    """The service layer binds domain + catalog + settings and returns plain view-models: no
    Dash, Flask or Plotly import, and no import from the layers above it (layout, figures,
    callbacks, the API), so the API and the CLI call exactly what the page shows."""
    above = ("dashboard.layout", "dashboard.figures", "dashboard.callbacks", "dashboard.api",
             "dashboard.app", "dashboard.cli", "dashboard.jobs", "dashboard.serving")
    offenders = [f"{f}:{line}: {m}" for f, line, m in _imports("services")
                 if m.split(".")[0] in WEB or m.startswith(above)]
    assert offenders == []


def test_importing_the_services_loads_no_web_module():
    assert _web_modules_after(
        "import importlib, pkgutil, dashboard.services\n"
        "for m in pkgutil.iter_modules(dashboard.services.__path__):\n"
        "    importlib.import_module('dashboard.services.' + m.name)\n") == ""


def test_layout_and_figures_do_not_reach_up_into_callbacks():
    """Layout renders view-models and figures draw data; neither imports the callbacks."""
    offenders = [f"{f}:{line}: {m}" for folder in ("layout", "figures")
                 for f, line, m in _imports(folder) if m.startswith("dashboard.callbacks")]
    assert offenders == []
