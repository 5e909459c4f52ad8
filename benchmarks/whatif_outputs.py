"""Issue 16: a digest of what-if answers, to check that a faster tree answers byte for byte the
same as another (the benchmarks time; this compares).

Posts, as ``benchmarks/whatif.py`` does (Flask test client, Dash's own request bodies), the
what-if of each of the benchmark's ten PoPs on the 25,000-city preset, two with other PoPs
already down, and three page links (another origin, the network policy, a bias); blanks the
random parts of each answer (16-hex-digit animation ids and table keys) and prints one digest
per answer and one for all.

    python benchmarks/whatif_outputs.py                    # in each tree, then compare
    python benchmarks/whatif_outputs.py --save answers.json  # the normalised answers too

Same digests: the same answers. Runs on trees that have the table key store
(``ids.TABLE_BASE``, issue 16); ~10 s.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys

sys.path.insert(0, os.getcwd())

from benchmarks import whatif as W  # noqa: E402
from benchmarks.dash_requests import (app_dependencies, callback_body,  # noqa: E402
                                      response_value)
from dashboard import ids  # noqa: E402
from dashboard.app import create_app  # noqa: E402

#: Page links answered after the what-ifs (each a full answer).
LINKS = ("?clientset=cities25k&origin=us-east-1&down=IAD",
         "?clientset=cities25k&policy=network&down=FRA",
         "?clientset=cities25k&down=LHR,MAD&bias=CDG:-20")
#: What-ifs on a store with other PoPs already down: (PoP toggled, PoPs down before).
SEVERAL = (("FRA", ("CDG",)), ("SYD", ("SIN", "HKG")))


def normalise(raw: bytes) -> str:
    """The answer's text with its random ids blanked (animation ids, table keys: 16 hex)."""
    return re.sub(r"[0-9a-f]{16}", "ID", raw.decode())


def answers() -> dict[str, str]:
    app = create_app()
    client = app.server.test_client()
    deps = app_dependencies(app)
    page = {f"{ids.ORIGIN}.value": "eu-central-1", f"{ids.ENDPOINT_TYPE}.value": "CLB",
            f"{ids.VIEW_TABS}.value": "map"}
    pattern_ids: dict = {}

    def post(values: dict, changed: str) -> bytes:
        return W.post(client, callback_body(deps, f"{ids.SCENARIO}.data", {**page, **values},
                                            changed, pattern_ids))[1]

    link = {f"{ids.URL}.search": "?clientset=cities25k"}
    raw = post(link, f"{ids.URL}.search")
    store = response_value(raw, f"{ids.SCENARIO}.data")
    state = {f"{ids.MAP_BASE}.data": response_value(raw, f"{ids.MAP_BASE}.data"),
             f"{ids.FAILOVER_PREV}.data": response_value(raw, f"{ids.FAILOVER_PREV}.data"),
             f"{ids.TABLE_BASE}.data": response_value(raw, f"{ids.TABLE_BASE}.data")}
    states, params = W.shown_states(raw)
    page.update(states)
    pattern_ids[ids.MODEL_PARAM] = params
    out: dict[str, str] = {}
    cases = [(p, ()) for p in W.DOWN_SEQUENCE] + list(SEVERAL)
    for nonce, (pid, before) in enumerate(cases, start=1):
        st = {**store, "down": list(before)} if before else store
        raw = post({f"{ids.SCENARIO_EDIT}.data": {"op": "toggle_pop", "pop": pid,
                                                  "nonce": nonce},
                    f"{ids.SCENARIO}.data": st, **state}, f"{ids.SCENARIO_EDIT}.data")
        out[",".join((pid, *before))] = normalise(raw)
    for q in LINKS:
        out[q] = normalise(post({f"{ids.URL}.search": q}, f"{ids.URL}.search"))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--save", help="write the normalised answers to this JSON file")
    args = ap.parse_args(argv)
    got = answers()
    for k, v in got.items():
        print(f"{hashlib.sha256(v.encode()).hexdigest()[:12]}  {len(v):8,d} B  {k}")
    every = hashlib.sha256(json.dumps(got, sort_keys=True).encode()).hexdigest()[:16]
    print(f"all {len(got)} answers: {every}")
    if args.save:
        with open(args.save, "w") as fh:
            json.dump(got, fh)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
