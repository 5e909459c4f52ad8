"""``dashboard/settings.py`` is the only module of the package that reads the process
environment: every variable has one name, one default and one parser there, and a test that
sets a variable knows where it is read. Checked on the sources (AST), so a read in a function
that no test calls is caught too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGE = ROOT / "dashboard"
ALLOWED = {PACKAGE / "settings.py"}
#: Attributes of the ``os`` module that read (or expose) the environment.
READERS = {"environ", "environb", "getenv", "getenvb"}


def environment_reads(source: str) -> list[tuple[int, str]]:
    """``(line, what)`` for every read of the environment in ``source``: ``os.environ``,
    ``os.getenv`` (also through ``import os as x``) and ``from os import environ/getenv``.
    A name ``environ`` that is not bound to ``os.environ`` (a WSGI environ dict) is not one."""
    tree = ast.parse(source)
    os_names = {"os"}
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            os_names |= {a.asname or a.name for a in node.names if a.name == "os"}
        elif isinstance(node, ast.ImportFrom) and node.module in ("os", "posix", "nt"):
            found += [(node.lineno, f"from {node.module} import {a.name}")
                      for a in node.names if a.name in READERS or a.name == "*"]
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and node.attr in READERS
                and isinstance(node.value, ast.Name) and node.value.id in os_names):
            found.append((node.lineno, f"{node.value.id}.{node.attr}"))
    return sorted(found)


def test_only_settings_reads_the_environment():
    offenders = [f"{path.relative_to(ROOT)}:{line}: {what}"
                 for path in sorted(PACKAGE.rglob("*.py")) if path not in ALLOWED
                 for line, what in environment_reads(path.read_text())]
    assert offenders == [], ("read the environment in dashboard/settings.py (Settings.from_env "
                             "or a small reader there) and pass the value down")


@pytest.mark.parametrize("source, expected", [
    ("import os\nx = os.environ.get('A')", [(2, "os.environ")]),
    ("import os\nx = os.getenv('A')", [(2, "os.getenv")]),
    ("import os as o\nx = o.environ['A']", [(2, "o.environ")]),
    ("from os import environ\nx = environ.get('A')", [(1, "from os import environ")]),
    ("from os import getenv as g", [(1, "from os import getenv")]),
    ("def f(environ):\n    return environ.get('PATH_INFO')", []),  # a WSGI environ
    ("import os\nx = os.path.join('a', 'b')", []),
])
def test_the_scan_finds_reads_and_only_reads(source, expected):
    assert environment_reads(source) == expected


def test_the_scan_sees_the_settings_module_itself():
    """The one reader is really there (the scan would otherwise prove nothing)."""
    assert environment_reads((PACKAGE / "settings.py").read_text())


def test_latency_params_follow_the_environment_at_the_point_of_use(tmp_path, monkeypatch):
    from dashboard import settings

    monkeypatch.setenv("ANYCAST_LATENCY_PARAMS", str(tmp_path / "p.json"))
    assert settings.latency_params_path() == tmp_path / "p.json"
    assert settings.Settings.from_env().latency_params == tmp_path / "p.json"
    monkeypatch.delenv("ANYCAST_LATENCY_PARAMS")
    assert settings.latency_params_path() == settings.DEFAULT_LATENCY_PARAMS
    assert settings.latency_params_path({"ANYCAST_LATENCY_PARAMS": "x.json"}) == Path("x.json")


def test_debug_variables_are_read_in_settings():
    from dashboard.settings import debug_variables_set

    env = {"ANYCAST_DEBUG": "1", "DASH_DEBUG": "off", "FLASK_DEBUG": " Yes ", "OTHER": "1"}
    assert debug_variables_set(env) == {"ANYCAST_DEBUG": "1", "FLASK_DEBUG": " Yes "}
    assert debug_variables_set({}) == {}
