"""The dependency audit (``make audit``, ``tools/audit.sh``) fails when it cannot check: no false
all-clear (issue 13). Network-free: pip-audit's JSON reports are fed in, and the shell script
runs against a stand-in venv whose ``python`` fakes pip and pip-audit."""

from __future__ import annotations

import importlib.util
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, TEST_DATA

_spec = importlib.util.spec_from_file_location("audit_check", ROOT / "tools" / "audit_check.py")
audit_check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(audit_check)
judge = audit_check.judge
PROJECT = frozenset({"anycast-eip-dashboard"})
#: What pip-audit 2.10.1 wrote on this machine (PyPI's JSON API unreachable), while printing
#: "No known vulnerabilities found" and exiting 0.
UNREACHABLE = (TEST_DATA / "pip_audit_service_unreachable.json").read_text()


def report(*deps: dict) -> str:
    return json.dumps({"dependencies": list(deps), "fixes": []})


CLEAN = [{"name": "flask", "version": "3.1.0", "vulns": []},
         {"name": "dash", "version": "4.4.1", "vulns": []}]


def test_every_package_skipped_is_a_failure_not_an_all_clear():
    code, lines = judge(UNREACHABLE, 0, PROJECT)
    assert code == audit_check.CANNOT_CHECK
    assert "81 of 82 packages could not be checked" in lines[-1]
    assert "not an all-clear" in lines[-1]


@pytest.mark.parametrize("text", [None, "", "   ", "Traceback (most recent call last):",
                                  "{}", '{"dependencies": 3}', "[]"])
def test_no_or_unreadable_report_is_a_failure(text):
    assert judge(text, 1)[0] == audit_check.CANNOT_CHECK


def test_a_report_listing_no_packages_is_a_failure():
    assert judge(report(), 0)[0] == audit_check.CANNOT_CHECK


def test_one_skipped_package_among_checked_ones_is_a_failure():
    skipped = {"name": "brotli", "skip_reason": "Dependency not found on PyPI"}
    code, lines = judge(report(*CLEAN, skipped), 0, PROJECT)
    assert code == audit_check.CANNOT_CHECK and "1 of 3 packages" in lines[-1]


def test_the_project_itself_may_be_skipped_and_everything_else_clean_passes():
    editable = {"name": "anycast-eip-dashboard", "skip_reason": "distribution marked as editable"}
    code, lines = judge(report(*CLEAN, editable), 0, PROJECT)
    assert code == audit_check.OK and lines == [
        "audit OK: all 2 packages checked, no known vulnerabilities."]


def test_known_vulnerabilities_fail_and_name_the_fix():
    vuln = {"name": "setuptools", "version": "65.5.0", "vulns": [
        {"id": "PYSEC-2022-43012", "fix_versions": ["65.5.1"], "aliases": ["CVE-2022-40897"]},
        {"id": "GHSA-5rjg-fvgr-3xxf", "fix_versions": ["78.1.1"]}]}
    code, lines = judge(report(*CLEAN, vuln), 1, PROJECT)
    assert code == audit_check.VULNERABLE
    assert lines == ["VULNERABLE: setuptools 65.5.0: PYSEC-2022-43012 (fixed in: 65.5.1)",
                     "VULNERABLE: setuptools 65.5.0: GHSA-5rjg-fvgr-3xxf (fixed in: 78.1.1)"]


def test_pip_audit_failing_without_a_vulnerability_is_not_a_pass():
    assert judge(report(*CLEAN), 1, PROJECT)[0] == audit_check.CANNOT_CHECK


def _fake_venv(tmp_path: Path, audit_output: str | None, audit_status: int,
               pip_status: int = 0) -> Path:
    """A venv whose python fakes ``-m pip install`` and ``-m pip_audit --output FILE`` and runs
    anything else (tools/audit_check.py) with the real interpreter."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    canned = tmp_path / "canned.json"
    if audit_output is not None:
        canned.write_text(audit_output)
    script = f"""#!/usr/bin/env bash
if [ "$1 $2" = "-m pip" ]; then exit {pip_status}; fi
if [ "$1 $2" = "-m pip_audit" ]; then
  while [ $# -gt 0 ]; do
    if [ "$1" = "--output" ]; then out=$2; fi
    shift
  done
  if [ -f {canned} ]; then cp {canned} "$out"; fi
  echo "No known vulnerabilities found" >&2
  exit {audit_status}
fi
exec {sys.executable} "$@"
"""
    python = venv / "bin" / "python"
    python.write_text(script)
    python.chmod(python.stat().st_mode | stat.S_IEXEC)
    return venv


def _audit(venv: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "VENV": str(venv)}
    env.pop("AUDIT_REPORT", None)
    return subprocess.run(["bash", str(ROOT / "tools" / "audit.sh")], env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("output,status,pip_status,code,message", [
    (UNREACHABLE, 0, 0, 2, "81 of 82 packages could not be checked"),
    (None, 1, 0, 2, "pip-audit wrote no report (exit status 1)"),
    (None, 0, 1, 2, "could not install pip-audit"),
    (report(*CLEAN), 0, 0, 0, "audit OK: all 2 packages checked"),
    (report({"name": "setuptools", "version": "65.5.0",
             "vulns": [{"id": "PYSEC-2022-43012", "fix_versions": ["65.5.1"]}]}), 1, 0, 1,
     "VULNERABLE: setuptools 65.5.0"),
])
def test_audit_script_exit_status_follows_the_report(tmp_path, output, status, pip_status, code,
                                                     message):
    result = _audit(_fake_venv(tmp_path, output, status, pip_status))
    assert result.returncode == code, (result.stdout, result.stderr)
    assert message in result.stdout + result.stderr


def test_audit_script_without_a_venv_fails(tmp_path):
    result = _audit(tmp_path / "nowhere")
    assert result.returncode == 2 and "no virtualenv" in result.stderr


def test_make_audit_runs_the_script_and_new_venvs_get_current_build_tools():
    makefile = (ROOT / "Makefile").read_text()
    assert "tools/audit.sh" in makefile.split("\naudit:", 1)[1].split("\n\n", 1)[0]
    assert "pip install --quiet --upgrade pip setuptools wheel" in makefile
