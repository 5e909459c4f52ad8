#!/usr/bin/env bash
# Dependency audit of the project's venv that fails when it cannot check (`make audit`).
#
# Installs (or upgrades) pip-audit into the venv from PyPI, audits every installed package
# against pip-audit's vulnerability service, and lets tools/audit_check.py judge the JSON report:
#   exit 0  every package checked, no known vulnerability
#   exit 1  known vulnerabilities (listed with the fixed versions)
#   exit 2  could not check: pip-audit not installable, service unreachable, packages skipped
# pip-audit alone says "No known vulnerabilities found" (exit 0) even when it skipped every
# package because its service was unreachable; this script never does.
#
# Environment: VENV (default .venv), AUDIT_SERVICE (pypi or osv; default pypi),
# AUDIT_ARGS (extra pip-audit arguments, e.g. --ignore-vuln ID), AUDIT_REPORT (keep pip-audit's
# JSON report in this file).
set -uo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PY="$VENV/bin/python"
SERVICE=${AUDIT_SERVICE:-pypi}

if [ ! -x "$PY" ]; then
  echo "AUDIT FAILED: no virtualenv at $VENV (run 'make install' first)" >&2
  exit 2
fi
if ! "$PY" -m pip install --quiet --upgrade "pip-audit>=2.7" >&2; then
  echo "AUDIT FAILED: could not install pip-audit into $VENV from PyPI; nothing was checked" >&2
  exit 2
fi

if [ -n "${AUDIT_REPORT:-}" ]; then
  report=$AUDIT_REPORT
  rm -f "$report"
else
  report=$(mktemp)
  trap 'rm -f "$report"' EXIT
fi
# --skip-editable: the project itself (an editable install, not on PyPI) is not audited.
# shellcheck disable=SC2086
"$PY" -m pip_audit --local --skip-editable --vulnerability-service "$SERVICE" \
  --format json --progress-spinner off --output "$report" ${AUDIT_ARGS:-} >&2
status=$?
"$PY" tools/audit_check.py "$report" --status "$status" --allow-skip anycast-eip-dashboard
