"""Where a cold page load's time goes: one DevTools timeline per page, for the pages that
``benchmarks/page_load.py`` compares (the bare Dash baseline and the dashboard).

    python benchmarks/page_timeline.py                      # 3 cold loads per page, alternating
    python benchmarks/page_timeline.py --runs 5 --ref HEAD~1 --json out.json

Same servers (the Procfile's gunicorn command), same Chromium flags and the same "map drawn"
condition as ``page_load.py``; in addition each load records Chromium's performance log
(``goog:loggingPrefs``: Network events and a trace with the ``devtools.timeline`` and
``v8.execute`` categories). Per page, medians over the loads, in ms since navigation start:

* when the map was drawn: ``page_load.py``'s poll (it runs only between the page's tasks) and
  the first animation frame in which the map is there (``painted``: what reached the screen);
* each request: transfer size (bytes on the wire), decoded size, start, first byte and end;
* the ``_dash-layout`` and ``_dash-dependencies`` sizes, and the ``_dash-update-component``
  requests (count, first start, last end);
* main-thread time by trace event until the map was painted: script evaluation
  (``EvaluateScript``, compile included), later JS (``FunctionCall``, ``TimerFire``, microtasks:
  React, dash-renderer, plotly.js), style/layout/paint, HTML parsing, GC; ``RunTask`` is the
  wall time the main thread was busy and ``RunTask cpu`` its thread CPU time (what a loaded
  machine inflates least: compare pages on it when the load average is high);
* the long main-thread tasks (> 15 ms) of the last load and what ran in them.

``--ref REV`` also loads the dashboard of a git ref (extracted with ``git archive``), as
``page_load.py --ref`` does. Findings: docs/performance.md, "Issue 16: the page against a bare
Dash page".
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api_load import loadavg  # noqa: E402
from page_load import READY_JS, export_ref, start_pages  # noqa: E402
from page_load import new_driver as page_new_driver  # noqa: E402
from servers import stop  # noqa: E402

#: Checks READY_JS's condition in every animation frame (just before the frame is painted) and
#: keeps the first frame's time in ``window.__mapPainted``: when the map reached the screen,
#: whether or not the main thread then stays busy (the poll of ``page_load.py`` runs only
#: between tasks, so it also counts the wait for the tasks after the draw).
PAINT_HOOK = """
(function () {
  window.__mapPainted = null;
  function check() {
    const gd = document.querySelector('#world-map .js-plotly-plot');
    const land = gd && gd._fullLayout && gd.querySelector('.geo .layer.land path');
    if (land && (land.getAttribute('d') || '').length >= 1000) {
      let n = 0;
      gd.querySelectorAll('g.trace.scattergeo').forEach(function (g) {
        const d = g.__data__, name = d && d[0] && d[0].trace && d[0].trace.name;
        if (!window.__prefix || (name && name.indexOf(window.__prefix) === 0)) {
          n += g.querySelectorAll('path.point').length;
        }
      });
      if (n >= 19) { window.__mapPainted = performance.now(); return; }
    }
    requestAnimationFrame(check);
  }
  requestAnimationFrame(check);
})();
"""

TRACE_CATEGORIES = "devtools.timeline,v8.execute,disabled-by-default-devtools.timeline,v8"


def new_driver():
    """Chromium as in ``page_load.py``, with the performance log on."""
    return page_new_driver("pagetl-", {"enableNetwork": True, "enablePage": True,
                                       "traceCategories": TRACE_CATEGORIES})


def short(url: str) -> str:
    """The part of a URL that names the file (no host, no query, no fingerprint)."""
    path = url.split("//", 1)[-1].split("/", 1)[-1].split("?")[0]
    return "/" + path


def one_load(url: str, prefix: str) -> dict:
    """One cold load of ``url`` in a new Chromium: the timeline (see the module docstring)."""
    d, prof = new_driver()
    try:
        d.get("about:blank")
        d.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {
            "source": f"window.__prefix = {json.dumps(prefix)};" + PAINT_HOOK})
        d.get(url)
        deadline = time.monotonic() + 30
        ready = None
        while time.monotonic() < deadline:
            ready = d.execute_script(READY_JS, 19, prefix)
            if ready is not None:
                break
            time.sleep(0.01)
        nav = d.execute_script("const n = performance.getEntriesByType('navigation')[0];"
                               "return [n.domContentLoadedEventEnd, n.loadEventEnd,"
                               " performance.timeOrigin];")
        painted = d.execute_script("return window.__mapPainted;")
        fcp = d.execute_script("const p = performance.getEntriesByName('first-contentful-paint');"
                               "return p.length ? p[0].startTime : null;")
        res = d.execute_script(
            "return performance.getEntriesByType('resource').map(r => [r.name, r.startTime,"
            " r.responseEnd, r.transferSize, r.decodedBodySize, r.responseStart]);")
        ndom = d.execute_script("return document.getElementsByTagName('*').length;")
        time.sleep(0.3)  # let the trace buffer flush
        logs = d.get_log("performance")
    finally:
        d.quit()
        shutil.rmtree(prof, ignore_errors=True)
    origin_ms = nav[2]
    events = []
    for e in logs:
        m = json.loads(e["message"])["message"]
        if m["method"] == "Tracing.dataCollected":
            events.append(m["params"])
    return {"ready": ready, "painted": painted, "dcl": nav[0], "load": nav[1], "fcp": fcp,
            "dom": ndom,
            "resources": [{"url": short(r[0]), "start": r[1], "end": r[2], "wire": r[3],
                           "decoded": r[4], "ttfb": r[5]} for r in res],
            "trace": main_thread(events, url, painted or ready or 0.0),
            "long_tasks": long_tasks(events, url, ready or 0.0), "origin_ms": origin_ms}


#: Main-thread trace events summed (ms). EvaluateScript = running a script file's top level
#: (compile included); FunctionCall = JS called later (events, timers, XHR callbacks, React,
#: plotly); the rest is the browser's own work (style, layout, paint, HTML parsing, GC).
TRACE_NAMES = ("EvaluateScript", "v8.compile", "FunctionCall", "TimerFire", "FireAnimationFrame",
               "XHRLoad", "XHRReadyStateChange", "EventDispatch", "RunMicrotasks",
               "UpdateLayoutTree", "Layout", "Paint", "PrePaint", "ParseHTML",
               "ParseAuthorStyleSheet", "MajorGC", "MinorGC", "RunTask")


def anchor(events: list[dict], url: str) -> tuple[float | None, tuple | None]:
    """(trace time in us when the document of ``url`` was requested ~ navigation start, the
    (pid, tid) of the renderer main thread that ran its scripts)."""
    t0 = main = None
    for ev in events:
        data = ev.get("args", {}).get("data", {}) or {}
        if ev.get("name") == "ResourceSendRequest" and data.get("resourceType") == "Document" \
                and data.get("url") == url and t0 is None:
            t0 = ev["ts"]
        if ev.get("name") == "EvaluateScript" and (data.get("url") or "").startswith(url) \
                and main is None:
            main = (ev["pid"], ev["tid"])
    return t0, main


def main_thread(events: list[dict], url: str, ready_ms: float) -> dict[str, float]:
    """Milliseconds of the page's main thread per event name (top-level occurrences only: an
    event nested in another of the same name counts once) from navigation start until the map
    was drawn; plus ``busy`` (sum of top-level RunTask) and ``script`` (EvaluateScript +
    FunctionCall + microtasks at top level of a task)."""
    t0, main = anchor(events, url)
    if t0 is None:
        return {}
    t1 = t0 + ready_ms * 1000
    out: dict[str, float] = defaultdict(float)
    open_until: dict[str, float] = {}
    for ev in sorted((e for e in events if e.get("ph") == "X" and "dur" in e
                      and (e["pid"], e["tid"]) == main and t0 <= e["ts"] <= t1),
                     key=lambda e: e["ts"]):
        name = ev["name"]
        if name not in TRACE_NAMES or ev["ts"] < open_until.get(name, -1):
            continue
        open_until[name] = ev["ts"] + ev["dur"]
        out[name] += min(ev["dur"], t1 - ev["ts"]) / 1000
        if name == "RunTask" and "tdur" in ev:  # thread CPU time: what load on the machine
            out["RunTask cpu"] += ev["tdur"] / 1000  # inflates least
    return dict(out)


def long_tasks(events: list[dict], url: str, ready_ms: float, min_ms: float = 15.0) -> list:
    """The page's main-thread tasks longer than ``min_ms`` until the map was drawn:
    ``[start ms, duration ms, what]`` where *what* names the script evaluated or the function
    called (its file and function name) inside the task."""
    t0, main = anchor(events, url)
    if t0 is None:
        return []
    t1 = t0 + ready_ms * 1000
    mine = sorted((e for e in events if e.get("ph") == "X" and "dur" in e
                   and (e["pid"], e["tid"]) == main and t0 <= e["ts"] <= t1),
                  key=lambda e: e["ts"])
    out = []
    for ev in mine:
        if ev["name"] != "RunTask" or ev["dur"] < min_ms * 1000:
            continue
        what = []
        for sub in mine:
            if ev["ts"] <= sub["ts"] <= ev["ts"] + ev["dur"] and sub["name"] in (
                    "EvaluateScript", "FunctionCall", "XHRReadyStateChange", "TimerFire",
                    "FireAnimationFrame", "ParseHTML", "Layout", "UpdateLayoutTree",
                    "MajorGC") and sub["dur"] >= 3000:
                data = sub.get("args", {}).get("data", {})
                label = short(data.get("url", "")) if data.get("url") else ""
                fn = data.get("functionName", "")
                what.append(f"{sub['name']}({label.rsplit('/', 1)[-1][:40]}"
                            f"{':' + fn if fn else ''}) {sub['dur'] / 1000:.0f}")
        out.append([(ev["ts"] - t0) / 1000, ev["dur"] / 1000, "; ".join(what[:4])])
    return out


def summary(loads: list[dict]) -> dict:
    """Medians over loads of the same page."""
    med = statistics.median
    out: dict = {k: med([x[k] for x in loads if x[k] is not None] or [0])
                 for k in ("ready", "painted", "dcl", "load", "fcp", "dom")}
    by_url: dict[str, list] = defaultdict(list)
    upd = []
    for x in loads:
        u = [r for r in x["resources"] if "_dash-update-component" in r["url"]]
        upd.append((len(u), min((r["start"] for r in u), default=0),
                    max((r["end"] for r in u), default=0),
                    sum(r["decoded"] for r in u)))
        seen = defaultdict(int)
        for r in x["resources"]:
            if "_dash-update-component" in r["url"]:
                continue
            seen[r["url"]] += 1
            by_url[r["url"] + ("" if seen[r["url"]] == 1 else f" #{seen[r['url']]}")].append(r)
    out["callbacks"] = {"count": med([u[0] for u in upd]), "first_start": med([u[1] for u in upd]),
                        "last_end": med([u[2] for u in upd]),
                        "decoded_bytes": med([u[3] for u in upd])}
    out["resources"] = {
        u: {k: med([r[k] for r in rs]) for k in ("start", "ttfb", "end", "wire", "decoded")}
        for u, rs in by_url.items()}
    keys = set().union(*(x["trace"] for x in loads))
    out["trace"] = {k: med([x["trace"].get(k, 0.0) for x in loads]) for k in sorted(keys)}
    return out


def show(name: str, s: dict) -> None:
    print(f"\n== {name}: map drawn at {s['ready']:.0f} ms (first poll that finds it; painted "
          f"in the frame at {s['painted']:.0f} ms; DOMContentLoaded {s['dcl']:.0f}, "
          f"load {s['load']:.0f}, first contentful paint {s['fcp']:.0f}); {s['dom']:.0f} "
          "DOM elements")
    print(f"{'request':62s} {'start':>6s} {'ttfb':>6s} {'end':>6s} {'wire B':>9s} "
          f"{'decoded B':>10s}")
    tot_w = tot_d = 0
    for u, r in sorted(s["resources"].items(), key=lambda kv: kv[1]["start"]):
        print(f"{u[:62]:62s} {r['start']:6.0f} {r['ttfb']:6.0f} {r['end']:6.0f} "
              f"{r['wire']:9.0f} {r['decoded']:10.0f}")
        tot_w += r["wire"]
        tot_d += r["decoded"]
    c = s["callbacks"]
    print(f"{'_dash-update-component x' + str(int(c['count'])):62s} {c['first_start']:6.0f} "
          f"{'':6s} {c['last_end']:6.0f} {'':9s} {c['decoded_bytes']:10.0f}")
    print(f"total (w/o callbacks): {tot_w / 1e6:.2f} MB on the wire, {tot_d / 1e6:.2f} MB decoded")
    print("main thread (ms, until the map was painted): " +
          ", ".join(f"{k} {v:.0f}" for k, v in s["trace"].items()))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3, help="cold loads per page")
    ap.add_argument("--json", type=Path, default=None, help="write the summaries here")
    ap.add_argument("--ref", default=None, help="also load the dashboard of this git ref")
    args = ap.parse_args(argv)
    pages = {"baseline": ("benchmarks.page_baseline_app:server", "/", ""),
             "dashboard": ("dashboard.wsgi:server", "/healthz", "Access points ·")}
    roots = {name: None for name in pages}
    keep = tempfile.TemporaryDirectory()
    if args.ref:
        pages[f"ref {args.ref}"] = pages["dashboard"]
        roots[f"ref {args.ref}"] = export_ref(args.ref, Path(keep.name) / "ref")
    print(f"load average before: {loadavg()}")
    loads: dict[str, list[dict]] = {k: [] for k in pages}
    procs = {}
    with tempfile.TemporaryDirectory() as tmp:
        try:
            urls = start_pages(pages, roots, Path(tmp), procs)
            for name in pages:  # untimed: lazy imports, OS cache
                one_load(urls[name], pages[name][2])
            for _ in range(args.runs):
                for name in pages:
                    loads[name].append(one_load(urls[name], pages[name][2]))
        finally:
            for p in procs.values():
                stop(p)
    print(f"load average after: {loadavg()}")
    keep.cleanup()
    sums = {name: summary(x) for name, x in loads.items()}
    for name, s in sums.items():
        show(name, s)
        print("long main-thread tasks of the last load (start ms, ms, what):")
        for t in loads[name][-1]["long_tasks"]:
            print(f"  {t[0]:6.0f} {t[1]:5.0f}  {t[2][:150]}")
    if args.json:
        args.json.write_text(json.dumps({"summaries": sums, "loads": loads}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
