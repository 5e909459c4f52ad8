"""Run the edit-request functions of ``assets/edits.js`` in Node (no browser), for the tests that
used to call their Python predecessors (``selected_client``, ``click_edit``, ``pill_edit``...).

The browser part (Dash calling them with real component values) is covered by the e2e tests;
this checks what each function writes for a given input, including hostile shapes, in ~50 ms
per batch. Skipped where ``node`` is not installed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any, Sequence

import pytest

EDITS_JS = Path(__file__).resolve().parents[2] / "assets" / "edits.js"
NODE = shutil.which("node")
#: What a function returns for Dash's ``no_update`` (the stub's sentinel, mapped back here).
NO_UPDATE = "<no_update>"

needs_node = pytest.mark.skipif(NODE is None, reason="node is not installed")

_RUNNER = r"""
const fs = require('fs');
global.window = {dash_clientside: {no_update: {__no_update__: true},
                                   callback_context: {triggered: []}}};
eval(fs.readFileSync(process.argv[1], 'utf8'));
const fns = window.dash_clientside.anycastEdits;
const calls = JSON.parse(fs.readFileSync(0, 'utf8'));
function plain(v) {
    if (v && typeof v === 'object' && v.__no_update__) { return '<no_update>'; }
    if (Array.isArray(v)) { return v.map(plain); }
    if (v && typeof v === 'object') {
        const out = {};
        for (const k of Object.keys(v)) { if (k !== 'nonce') { out[k] = plain(v[k]); } }
        return out;
    }
    return v === undefined ? null : v;
}
const out = calls.map(function (c) {
    window.dash_clientside.callback_context.triggered = c.triggered;
    try { return {ok: plain(fns[c.fn].apply(null, c.args))}; }
    catch (e) { return {error: String(e)}; }
});
process.stdout.write(JSON.stringify(out));
"""


def run_edits(calls: Sequence[tuple[str, Sequence[Any], Any]]) -> list[Any]:
    """Call ``anycastEdits[fn](*args)`` for each ``(fn, args, triggered)``; ``triggered`` is
    Dash's ``callback_context.triggered`` (a list of ``{"prop_id", "value"}``, or None for []).
    Returns each result with nonces dropped and ``no_update`` as :data:`NO_UPDATE`; a JS
    exception fails the test (in the browser it is a console error and no edit)."""
    payload = [{"fn": fn, "args": list(args), "triggered": triggered or []}
               for fn, args, triggered in calls]
    proc = subprocess.run([NODE or "node", "-e", _RUNNER, str(EDITS_JS)],
                          input=json.dumps(payload), capture_output=True, text=True, timeout=30,
                          check=True)
    results = json.loads(proc.stdout)
    errors = [(c, r["error"]) for c, r in zip(calls, results) if "error" in r]
    assert not errors, errors
    return [r["ok"] for r in results]


def run_edit(fn: str, *args: Any, triggered: Any = None) -> Any:
    """One call of :func:`run_edits`."""
    return run_edits([(fn, args, triggered)])[0]
