"""Long fuzz run against the whole server (API, Dash callbacks, pages): counts 5xx answers.

    python -m tests.fuzz.fuzz_api --examples 10000 [--seed 1] [--show 5] [--url http://127.0.0.1:PORT]

Each example is one generated hostile request (``tests/fuzz/strategies.py``) sent through
Flask's test client to a fresh ``create_app()`` with small caps (64 KiB bodies, 25,500 clients:
the 25,000-city client set plus 500 of one's own, since the cap counts the set), in
four families with equal shares: ``/api/v1/nearest`` query strings, ``/api/v1/assign`` bodies
(JSON, CSV in UTF-8/UTF-16/latin-1, binary junk, wrong content types), arbitrary paths and
methods, and ``/_dash-update-component`` requests for every registered callback with
type-confused values (URL state, including parameter floods and over-long links; uploads, typed
coordinates, city search, every edit op, the scenario store, including stores over the client
cap; map clicks, failover and endpoint controls, capacity controls and table, the N-1 result,
observed-PoP dropdowns, scenario files; pattern-matching inputs and outputs as the renderer
sends them), raw ``NaN``/``Infinity`` tokens, and structurally broken or deeply nested
bodies. One callback request in ten names a clientside (browser-only) callback (counted as
"clientside"); the API family includes static files with forged fingerprints and query
strings and registered component-suite files that are not installed (counted as "static").
With ``--url`` the same requests go over HTTP to a running server (the Procfile's gunicorn with
its real caps: what a worker timeout or gunicorn's own limits answer is seen there). Prints a
table of status codes per family and the first few 5xx cases; exit status 1 if any request got a
5xx (or, over HTTP, no answer). The figures in ``docs/reliability.md`` come from this command.
"""

from __future__ import annotations

import argparse
import collections
import json
import logging
import sys
import time
from typing import Any

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from dashboard.app import create_app
from dashboard.settings import Settings
from tests.fuzz.strategies import api_requests, callback_requests, send  # noqa: E402

FAMILIES = ("nearest", "assign", "paths", "static", "callbacks", "clientside")
_STATIC = ("/_dash-component-suites/", "/assets/")


def family(req: dict[str, Any], clientside: frozenset[str] = frozenset()) -> str:
    if req["path"] == "/_dash-update-component":
        try:
            output = json.loads(req["body"]).get("output")
        except (ValueError, RecursionError, AttributeError):
            output = None
        return "clientside" if output in clientside else "callbacks"
    if req["method"] in ("GET", "HEAD") and req["path"].startswith(_STATIC) and (
            req["query"] or req["path"].endswith((".js", ".map"))):
        return "static"
    if req["path"] == "/api/v1/nearest":
        return "nearest"
    if req["path"] == "/api/v1/assign":
        return "assign"
    return "paths"


class _Answer:
    def __init__(self, status_code: int) -> None:
        self.status_code = status_code


class HttpClient:
    """The generated requests over real HTTP to a running server (``--url``), e.g. the
    Procfile's gunicorn: what a worker timeout, a proxy or the server's own limits answer shows up
    here, not in the in-process run. A request the server does not answer within ``timeout_s``
    (or whose connection it drops) counts as status 599."""

    def __init__(self, base: str, timeout_s: float = 60.0) -> None:
        from urllib.parse import urlsplit

        u = urlsplit(base)
        if u.scheme != "http" or u.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise SystemExit("--url must be http://127.0.0.1:PORT (loopback only)")
        self.host, self.port, self.timeout_s = u.hostname, u.port or 80, timeout_s
        self.unanswered: list[str] = []

    def open(self, url: str, method: str = "GET", data: Any = None,
             headers: Any = None) -> _Answer:
        import http.client

        body = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout_s)
        try:
            conn.request(method, url, body=body or None, headers=dict(headers or {}))
            resp = conn.getresponse()
            resp.read()
            return _Answer(resp.status)
        except (ValueError, UnicodeError, http.client.InvalidURL):
            # http.client itself refuses it (control characters in a header, say): never sent.
            return _Answer(0)
        except (OSError, http.client.HTTPException) as exc:
            self.unanswered.append(f"{method} {url[:80]}: {type(exc).__name__}")
            return _Answer(599)
        finally:
            conn.close()

    def get(self, url: str) -> Any:
        import http.client

        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout_s)
        conn.request("GET", url)
        resp = conn.getresponse()
        payload = json.loads(resp.read())
        conn.close()

        class _Json:
            def get_json(self) -> Any:
                return payload

        return _Json()


class _LastError(logging.Handler):
    """Keeps the exception the last-resort handler logged, to show where a 500 came from."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.last = ""

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            tb = record.exc_info[2]
            while tb is not None and tb.tb_next is not None:
                tb = tb.tb_next
            where = (f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}" if tb is not None
                     else "?")
            self.last = f"{type(exc).__name__}: {str(exc)[:160]} at {where}"


def run(examples: int, seed_value: int, show: int, url: str | None = None) -> int:
    # The last-resort handler logs each 500 with a traceback; keep only the summary.
    last_error = _LastError()
    api_log = logging.getLogger("dashboard.errors")
    api_log.addHandler(last_error)
    api_log.propagate = False
    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
    if url:
        client: Any = HttpClient(url)
    else:
        app = create_app(Settings(max_upload_bytes=64 * 1024, max_clients=25_500))
        client = app.server.test_client()
    deps = client.get("/_dash-dependencies").get_json()
    clientside = frozenset(d["output"] for d in deps if d.get("clientside_function"))
    counts: dict[str, collections.Counter] = {f: collections.Counter() for f in FAMILIES}
    failures: list[tuple[dict[str, Any], int, str]] = []
    strategy = st.one_of(api_requests(), callback_requests(deps), callback_requests(deps))

    @seed(seed_value)
    @settings(max_examples=examples, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def one(req: dict[str, Any]) -> None:
        last_error.last = ""
        resp = send(client, req)
        counts[family(req, clientside)][resp.status_code] += 1
        if resp.status_code >= 500:
            failures.append((req, resp.status_code, last_error.last))

    t0 = time.monotonic()
    one()
    elapsed = time.monotonic() - t0
    total = sum(sum(c.values()) for c in counts.values())
    five = sum(n for c in counts.values() for code, n in c.items() if code >= 500)
    where = url or "in-process test client"
    print(f"{total} generated requests to {where} in {elapsed:.0f} s (seed {seed_value}); "
          f"5xx: {five}" + ("" if not url else "; 0 = refused by http.client, not sent; "
                            f"599 = no answer ({len(client.unanswered)})"))
    for fam in FAMILIES:
        c = counts[fam]
        print(f"  {fam:<10} {sum(c.values()):>6}  " +
              "  ".join(f"{code}:{n}" for code, n in sorted(c.items())))
    for req, status, error in failures[:show]:
        print(f"--- {status} {req['method']} {req['path']}?{req['query'][:200]}\n"
              f"    headers={req['headers']} body={req['body'][:600]!r}\n    -> {error}")
    return 1 if five else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--examples", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--show", type=int, default=5, help="5xx cases to print")
    parser.add_argument("--url", default=None,
                        help="send to a running server instead (http://127.0.0.1:PORT)")
    args = parser.parse_args(argv)
    return run(args.examples, args.seed, args.show, args.url)


if __name__ == "__main__":
    sys.exit(main())
