#!/usr/bin/env python3
"""Batch assignment (issue 16): ``anycast-dashboard assign`` on millions of clients.

    python benchmarks/batch_assign.py --rows 2000000 --baseline c8d4dd1   # old vs new, same run
    python benchmarks/batch_assign.py --rows 2000000 --baseline c8d4dd1 --baseline 3b583e4
    python benchmarks/batch_assign.py --rows 2000000 --parquet --dask 4   # + Parquet, Dask
    python benchmarks/batch_assign.py --rows 10000000                     # memory at 10M
    python benchmarks/batch_assign.py --parquet --baseline main --baseline-parquet  # both paths

Generates ``--rows`` random clients (uniform on the sphere, 4 decimals, integer weights, names
``client-N`` with 1 % formula-like ``=xN``) as CSV in ``--workdir``, then times each command in
a child process under ``/usr/bin/time -v`` (wall seconds and peak RSS of the child):

* ``baseline``: ``python -m dashboard.cli assign in.csv -o out.csv`` of a temporary ``git
  worktree`` of ``--baseline REV`` (removed on exit) -- today's code path; repeat
  ``--baseline`` to time several revisions (e.g. the issue's baseline and the previous engine);
* ``csv``: the same command of this checkout (the batch engine); outputs compared byte for byte
  with the baseline's when both ran;
* ``parquet``: Parquet -> Parquet of the same clients (with ``--baseline-parquet``, each
  ``--baseline`` revision's Parquet -> Parquet too, its file compared byte for byte and with
  ``pandas.read_parquet(...).equals``);
* ``dask``: ``--dask local`` over N Parquet partitions of ``--rows`` each (2-worker
  LocalCluster), outputs compared row for row with single-process runs of the same partitions
  (pass ``--dask 0`` to skip);
* ``pairs``: the latency model's client-PoP pairs per second in-process
  (:func:`dashboard.domain.policy.internet_matrix_ms` on located clients, every PoP).

Memory: ``peak_rss_mb`` is ``time -v``'s (the largest single process); the engine routes on
worker processes, so ``tree_pss_mb`` (the process tree's summed PSS, sampled every 0.1 s) is
the run's physical memory and ``tree_rss_mb`` (summed RSS, shared pages counted per process)
an upper bound. The load average is recorded at the start (``load``) and the end.

Prints one line per step and a JSON document. The machine has 2 cores shared with other jobs:
run it once, not in a loop.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def generate(path: Path, n: int, seed: int = 0) -> None:
    """``n`` random clients as CSV ``lat,lon,weight,name`` (written in 1M-row slices)."""
    rng = np.random.default_rng(seed)
    with open(path, "w") as f:
        f.write("lat,lon,weight,name\n")
        for s in range(0, n, 1_000_000):
            m = min(1_000_000, n - s)
            lat = np.round(np.degrees(np.arcsin(rng.uniform(-1, 1, m))), 4)
            lon = np.round(rng.uniform(-180, 180, m), 4)
            w = rng.integers(1, 1000, m)
            odd = rng.random(m) < 0.01
            names = np.where(odd, "=x", "client-").astype(object) + np.arange(s, s + m).astype(str)
            f.write("".join(f"{a},{b},{c},{d}\n" for a, b, c, d in
                            zip(lat.tolist(), lon.tolist(), w.tolist(), names.tolist())))


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (Linux /proc)."""
    out = [pid]
    try:
        for t in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{t}/children") as f:
                for c in f.read().split():
                    out += _tree(int(c))
    except OSError:
        pass
    return out


def _rss_pss_kb(pid: int) -> tuple[int, int]:
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


def timed(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> dict[str, float]:
    """Run ``cmd`` under /usr/bin/time -v: wall seconds, CPU seconds and peak RSS (MB) of the
    child, and the peak memory of its whole process tree sampled every 0.1 s.

    Why the tree: the engine routes on worker processes, and ``time -v``'s maximum RSS is that
    of the largest single process. ``tree_pss_mb`` (the sum of the processes' proportional set
    sizes: pages shared after the fork counted once) is the physical memory of the run;
    ``tree_rss_mb`` (the sum of RSS) counts the shared pages once per process, an upper bound."""
    t0 = time.perf_counter()
    p = subprocess.Popen(["/usr/bin/time", "-v", *cmd], cwd=cwd, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak_rss = peak_pss = 0
    while p.poll() is None:
        got = [_rss_pss_kb(q) for q in _tree(p.pid)[1:]]  # not /usr/bin/time itself
        peak_rss = max(peak_rss, sum(g[0] for g in got))
        peak_pss = max(peak_pss, sum(g[1] for g in got))
        time.sleep(0.1)
    _, err = p.communicate()
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"failed ({p.returncode}): {' '.join(cmd)}\n{err[-2000:]}")
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", err)
    cpu = [float(x) for x in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", err)]
    # CPU seconds (user + system, the workers' included) as well: on a shared machine the wall
    # time depends on the other jobs, the CPU time much less
    return {"seconds": round(wall, 2), "cpu_seconds": round(sum(cpu), 2),
            "peak_rss_mb": round(int(rss.group(1)) / 1024, 1) if rss else float("nan"),
            "tree_rss_mb": round(peak_rss / 1024, 1), "tree_pss_mb": round(peak_pss / 1024, 1)}


def pairs_per_second(n: int = 200_000) -> float:
    sys.path.insert(0, str(ROOT))
    from dashboard import latency
    from dashboard.catalog import default_catalog
    from dashboard.domain import latency as lat_mod
    from dashboard.domain import policy
    from dashboard.domain.geodesy import nearest

    cat = default_catalog()
    params = latency.default_params()
    rng = np.random.default_rng(3)
    la = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    lo = rng.uniform(-180, 180, n)
    pla, plo = cat.pop_lats, cat.pop_lons
    idx, km = nearest(la, lo, pla, plo, k=len(pla))
    by_pop = policy.km_by_pop(idx, km)
    pop_terms = lat_mod.locate(pla, plo, params)
    t0 = time.perf_counter()
    terms = lat_mod.locate(la, lo, params)
    policy.internet_matrix_ms(by_pop, terms, pop_terms, params)
    return n * len(pla) / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--baseline", action="append", metavar="REV",
                    help="a revision to time in the same run (repeatable; the first one gives "
                         "'ratio')")
    ap.add_argument("--parquet", action="store_true")
    ap.add_argument("--dask", type=int, default=0, metavar="PARTITIONS")
    ap.add_argument("--baseline-parquet", action="store_true",
                    help="with --parquet: time each --baseline's Parquet -> Parquet too")
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--chunk-rows", type=int, default=None,
                    help="passed to assign (default: assign's own default)")
    args = ap.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="batch-assign-"))
    work.mkdir(parents=True, exist_ok=True)
    py = sys.executable
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    src = work / f"clients_{args.rows}.csv"
    if not src.exists():
        t = time.perf_counter()
        generate(src, args.rows)
        print(f"generated {src} ({src.stat().st_size / 1e6:.0f} MB) in "
              f"{time.perf_counter() - t:.0f} s", flush=True)
    res: dict[str, object] = {"rows": args.rows, "load": os.getloadavg()[0]}
    chunk = ["--chunk-rows", str(args.chunk_rows)] if args.chunk_rows else []
    new = timed([py, "-m", "dashboard.cli", "assign", str(src), "-o", str(work / "new.csv"),
                 "-q", *chunk], ROOT, env)
    res["csv"] = new
    print("new csv->csv", new, flush=True)
    pq_src = work / f"clients_{args.rows}.parquet"
    if (args.parquet or args.dask) and not pq_src.exists():
        import pandas as pd

        pd.read_csv(src, keep_default_na=False, dtype={"name": str}).to_parquet(pq_src)
    base_pq: dict[str, dict] = {}
    for i, rev in enumerate(args.baseline or []):
        key = "baseline" if i == 0 else f"baseline_{rev}"
        base_dir = Path(tempfile.mkdtemp(prefix="batch-base-")) / "tree"
        subprocess.run(["git", "worktree", "add", "--detach", str(base_dir), rev],
                       cwd=ROOT, check=True, capture_output=True)
        try:
            old = timed([py, "-m", "dashboard.cli", "assign", str(src), "-o",
                         str(work / "old.csv"), "--max-clients", str(args.rows)], base_dir,
                        {**os.environ, "PYTHONPATH": str(base_dir)})
            if args.parquet and args.baseline_parquet:
                base_pq[rev] = timed([py, "-m", "dashboard.cli", "assign", str(pq_src), "-o",
                                      str(work / f"old_{rev}.parquet"), "-q"], base_dir,
                                     {**os.environ, "PYTHONPATH": str(base_dir)})
                print(f"{rev} parquet->parquet", base_pq[rev], flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base_dir)], cwd=ROOT,
                           capture_output=True)
        old["rev"] = rev
        old["ratio"] = round(old["seconds"] / new["seconds"], 2)
        old["cpu_ratio"] = round(old["cpu_seconds"] / new["cpu_seconds"], 2)
        old["identical_output"] = subprocess.run(
            ["cmp", "-s", str(work / "old.csv"), str(work / "new.csv")]).returncode == 0
        res[key] = old
        if i == 0:
            res["ratio"], res["identical_output"] = old["ratio"], old["identical_output"]
        print(f"{rev} csv->csv", old, flush=True)
    if args.parquet or args.dask:
        import pandas as pd

        if args.parquet:
            res["parquet"] = timed([py, "-m", "dashboard.cli", "assign", str(pq_src), "-o",
                                    str(work / "new.parquet"), "-q"], ROOT, env)
            print("new parquet->parquet", res["parquet"], flush=True)
            # the goal: Parquet -> Parquet faster than CSV -> CSV in the same run
            res["parquet_vs_csv"] = round(res["parquet"]["seconds"] / new["seconds"], 3)
            res["parquet_vs_csv_cpu"] = round(res["parquet"]["cpu_seconds"]
                                              / new["cpu_seconds"], 3)
            print(f"parquet/csv: wall {res['parquet_vs_csv']}, CPU {res['parquet_vs_csv_cpu']}",
                  flush=True)
            for rev, got in base_pq.items():
                old_file = work / f"old_{rev}.parquet"
                got["identical_file"] = subprocess.run(
                    ["cmp", "-s", str(old_file), str(work / "new.parquet")]).returncode == 0
                got["equal_frame"] = bool(pd.read_parquet(old_file).equals(
                    pd.read_parquet(work / "new.parquet")))
                got["rev"] = rev
                res[f"baseline_parquet_{rev}"] = got
                print(f"{rev} parquet: identical file {got['identical_file']}, equal frame "
                      f"{got['equal_frame']}", flush=True)
        if args.dask:
            parts = work / "parts"
            parts.mkdir(exist_ok=True)
            for i in range(args.dask):
                if not (parts / f"p{i}.parquet").exists():
                    shutil.copy(pq_src, parts / f"p{i}.parquet")
            out = work / "dask_out"
            shutil.rmtree(out, ignore_errors=True)
            res["dask"] = timed([py, "-m", "dashboard.cli", "assign", str(parts / "*.parquet"),
                                 "--dask", "local", "-o", str(out), "-q"], ROOT, env)
            res["dask"]["partitions"] = args.dask
            if args.parquet:
                ref = pd.read_parquet(work / "new.parquet")
                res["dask_equal"] = all(pd.read_parquet(out / f"p{i}.parquet").equals(ref)
                                        for i in range(args.dask))
            print("dask", res["dask"], "equal", res.get("dask_equal"), flush=True)
    res["pairs_per_s"] = round(pairs_per_second())
    print(f"latency-model evaluation: {res['pairs_per_s']:,} client-PoP pairs per second "
          f"(goal >= 2 million: {'met' if res['pairs_per_s'] >= 2e6 else 'NOT met'})")
    res["load_end"] = os.getloadavg()[0]
    print(json.dumps(res))


if __name__ == "__main__":
    main()
