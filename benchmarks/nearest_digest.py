#!/usr/bin/env python3
"""SHA-256 digests of many ``/api/v1/nearest`` answers, to show that a speed-up changed no byte.

For ``N`` points (poles, the antimeridian, every PoP's own coordinates, then random points: 90 %
with 4 decimals as clients send them, 10 % at full precision) it computes
``routing.nearest_answer`` in each of nine configurations -- the plain answer (N points; its
direct-route encoding is also checked against the standard encoder) and, for N/5 points each,
another origin, random down sets, the network policy, datacenter clients, a bias, two sets of
latency-model overrides and a mix -- encodes each answer as ``errors.json_response`` does
(``json.dumps(answer, separators=(",", ":"), allow_nan=False)``) and prints one digest per
configuration and one over all of them.

``--checkout PATH`` (repeatable) runs the same in another checkout (e.g. a ``git worktree`` of
``main``), in its own process with its own code on ``PYTHONPATH``: equal digests mean equal
bytes, answer for answer.

Usage: python benchmarks/nearest_digest.py [--points 20000] [--seed 1] [--checkout ../main]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def digests(n: int, seed: int) -> list[tuple[str, str]]:
    """(configuration, digest) of this process's checkout (found from the cwd)."""
    sys.path.insert(0, str(Path.cwd()))
    from dashboard import fastpath  # noqa: PLC0415
    from dashboard.catalog import default_catalog  # noqa: PLC0415
    from dashboard.services import routing  # noqa: PLC0415

    cat = default_catalog()
    rng = random.Random(seed)
    pops, origins = list(cat.pop_ids), list(cat.origin_ids)
    edges = [(90.0, 0.0), (-90.0, 180.0), (0.0, 0.0), (0.0, 180.0), (0.0, -180.0), (-0.0, -0.0),
             (89.9999, -0.0001), (-33.8688, 151.2093), (50.1155, 8.6842),
             *zip(cat.pop_lats.tolist(), cat.pop_lons.tolist())]

    def point(i: int) -> tuple[float, float]:
        if i < len(edges):
            return edges[i]
        if rng.random() < 0.1:
            return rng.uniform(-90, 90), rng.uniform(-180, 180)
        return round(rng.uniform(-90, 90), 4), round(rng.uniform(-180, 180), 4)

    configs = {
        "plain": lambda: {},
        "origin": lambda: {"origin_id": rng.choice(origins)},
        "down": lambda: {"down": frozenset(rng.sample(pops, rng.randint(1, len(pops))))},
        "network": lambda: {"policy": "network"},
        "datacenter": lambda: {"access": "datacenter"},
        "bias": lambda: {"bias": tuple(sorted((p, round(rng.uniform(-20, 20), 1))
                                              for p in rng.sample(pops, 3)))},
        "model": lambda: {"model": (("interp_range_km", 300.0), ("overhead_ms", 3.0))},
        "model2": lambda: {"model": (("fibre_km_per_ms", 150.0), ("inflation_scale", 1.3),
                                     ("min_rtt_ms", 40.0))},
        "mix": lambda: {"origin_id": rng.choice(origins),
                        "down": frozenset(rng.sample(pops, rng.randint(0, 3))),
                        "policy": rng.choice(["network", "geographic"]),
                        "access": rng.choice(["end-user", "datacenter"])},
    }
    plain_ok = fastpath.plain_numbers(cat)
    out, total = [], hashlib.sha256()
    for name, make in configs.items():
        digest = hashlib.sha256()
        for i in range(n if name == "plain" else n // 5):
            lat, lon = point(i)
            kw = {"origin_id": "eu-central-1", **make()}
            answer = routing.nearest_answer(cat, lat, lon, kw.pop("origin_id"), **kw)
            body = json.dumps(answer, separators=(",", ":"), allow_nan=False).encode()
            if name == "plain" and fastpath.encode_answer(answer, plain_ok) != body:
                raise SystemExit(f"direct-route encoding differs at {(lat, lon)}")
            digest.update(body)
        out.append((name, digest.hexdigest()[:16]))
        total.update(digest.digest())
    out.append(("all", total.hexdigest()[:16]))
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--points", type=int, default=20000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--checkout", action="append", default=[], type=Path)
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        for name, d in digests(args.points, args.seed):
            print(name, d)
        return 0
    results = {}
    for checkout in [ROOT, *(c.resolve() for c in args.checkout)]:
        env = {**os.environ, "PYTHONPATH": str(checkout)}
        out = subprocess.run([sys.executable, __file__, "--child", "--points", str(args.points),
                              "--seed", str(args.seed)], cwd=checkout, env=env,
                             capture_output=True, text=True, check=True).stdout
        results[checkout] = dict(line.split() for line in out.splitlines() if line.strip())
    names = list(next(iter(results.values())))
    print(f"{'configuration':14}" + "".join(f" {str(c)[-24:]:>24}" for c in results))
    for name in names:
        print(f"{name:14}" + "".join(f" {r[name]:>24}" for r in results.values()))
    same = len({tuple(r.items()) for r in results.values()}) == 1
    print("identical" if same else "DIFFERENT")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
