#!/usr/bin/env python3
"""Judge a pip-audit JSON report; never call an audit that could not check a clean one.

    python tools/audit_check.py REPORT.json --status N [--allow-skip NAME ...]

pip-audit prints "No known vulnerabilities found" and exits 0 even when it could not look a
single package up (each one then carries a ``skip_reason`` in the JSON report: with the PyPI
service unreachable, all 84 packages of the venv were skipped that way). With the OSV service
unreachable it exits 1 with a traceback and writes no report. This script turns those into a
failure:

* exit 0 -- every package was checked and none has a known vulnerability;
* exit 1 -- at least one package has a known vulnerability (listed, with the fixed versions);
* exit 2 -- the audit could not check: no or unreadable report, no packages in it, a package
  skipped (other than the ``--allow-skip`` names, e.g. the project itself, which is not on
  PyPI), or pip-audit failed without reporting a vulnerability.

Standard library only (it must run where nothing else could be installed).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

OK, VULNERABLE, CANNOT_CHECK = 0, 1, 2


def _names(deps: list[dict[str, Any]]) -> str:
    return ", ".join(f"{d.get('name')} {d.get('version', '')}".strip() for d in deps)


def judge(report_text: str | None, status: int,
          allow_skip: frozenset[str] = frozenset()) -> tuple[int, list[str]]:
    """(exit code, lines to print) for a pip-audit JSON report and pip-audit's exit status."""
    if not report_text or not report_text.strip():
        return CANNOT_CHECK, [f"AUDIT FAILED: pip-audit wrote no report (exit status {status}); "
                              "its vulnerability service was probably unreachable. Nothing was "
                              "checked: this is not an all-clear."]
    try:
        report: Any = json.loads(report_text)
        deps = report["dependencies"]
        if not isinstance(deps, list):
            raise TypeError("dependencies is not a list")
    except (ValueError, KeyError, TypeError) as exc:
        return CANNOT_CHECK, [f"AUDIT FAILED: the pip-audit report is not readable ({exc}); "
                              "nothing was checked: this is not an all-clear."]
    skipped = [d for d in deps if isinstance(d, dict) and d.get("skip_reason")
               and str(d.get("name", "")).lower() not in allow_skip]
    checked = [d for d in deps if isinstance(d, dict) and not d.get("skip_reason")]
    vulnerable = [d for d in checked if d.get("vulns")]
    lines: list[str] = []
    for dep in vulnerable:
        for vuln in dep["vulns"]:
            fixes = ", ".join(vuln.get("fix_versions") or []) or "no fixed version yet"
            lines.append(f"VULNERABLE: {dep.get('name')} {dep.get('version')}: {vuln.get('id')} "
                         f"(fixed in: {fixes})")
    if skipped:
        reasons = sorted({str(d["skip_reason"]).split(":")[0] for d in skipped})
        lines.append(f"AUDIT INCOMPLETE: {len(skipped)} of {len(deps)} packages could not be "
                     f"checked ({'; '.join(reasons)}): {_names(skipped[:10])}"
                     f"{' ...' if len(skipped) > 10 else ''}. This is not an all-clear.")
    if vulnerable:
        return VULNERABLE, lines
    if skipped or not checked:
        if not checked and not skipped:
            lines.append("AUDIT FAILED: the report lists no checked packages; this is not an "
                         "all-clear.")
        return CANNOT_CHECK, lines
    if status != 0:
        return CANNOT_CHECK, [f"AUDIT FAILED: pip-audit exited with status {status} but reported "
                              "no vulnerability; treated as not checked."]
    return OK, [f"audit OK: all {len(checked)} packages checked, no known vulnerabilities."]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="pip-audit --format json output file")
    parser.add_argument("--status", type=int, required=True, help="pip-audit's exit status")
    parser.add_argument("--allow-skip", action="append", default=[],
                        help="a package that may be skipped (e.g. the project itself)")
    args = parser.parse_args(argv)
    try:
        text: str | None = args.report.read_text()
    except OSError:
        text = None
    code, lines = judge(text, args.status, frozenset(n.lower() for n in args.allow_skip))
    for line in lines:
        print(line, file=sys.stdout if code == OK else sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
