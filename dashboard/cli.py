"""The ``anycast-dashboard`` console script.

Sub-commands: ``serve`` (the dashboard), ``nearest`` (ranked PoPs for one point) and ``assign``
(a CSV of clients -> their PoPs). Catalog files can be overridden on every command, because the
provider changes its access-point list without notice.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from dashboard.catalog import Catalog, CatalogError, load_catalog
from dashboard.settings import Settings, SettingsError

#: Printed under every result: the tool models geography, the internet follows BGP.
MODEL_NOTE = ("distance: WGS84 geodesic; nearest = geographically nearest healthy access point "
              "(real anycast follows BGP); RTTs are modelled round trips")


class CliError(Exception):
    """A user error the CLI reports on stderr as ``error: ...`` with exit code 2."""


def _add_catalog_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--pops", type=Path, default=None,
                   help="access points CSV (default: $ANYCAST_POPS_CSV or data/pops.csv)")
    p.add_argument("--origins", type=Path, default=None,
                   help="origin regions CSV (default: $ANYCAST_ORIGINS_CSV or data/origins.csv)")


def _settings(args: argparse.Namespace) -> Settings:
    s = Settings.from_env()
    if getattr(args, "pops", None):
        s = s.with_(pops_csv=args.pops)
    if getattr(args, "origins", None):
        s = s.with_(origins_csv=args.origins)
    return s


def _catalog(args: argparse.Namespace) -> tuple[Catalog, Settings]:
    settings = _settings(args)
    return load_catalog(settings.pops_csv, settings.origins_csv), settings


def _down_ids(catalog: Catalog, raw: Sequence[str] | None) -> frozenset[str]:
    """``--down CDG,LHR`` (repeatable, case-insensitive) -> known ids, or an error naming the id."""
    ids = {part.strip().upper() for value in (raw or ()) for part in value.split(",")} - {""}
    unknown = sorted(ids - set(catalog.pop_ids))
    if unknown:
        raise CliError(f"unknown access point id(s) in --down: {', '.join(unknown)}; "
                       f"known: {', '.join(catalog.pop_ids)}")
    return frozenset(ids)


def _origin_id(catalog: Catalog, settings: Settings, raw: str | None) -> str:
    origin = raw or settings.default_origin
    if origin not in catalog.origin_ids:
        raise CliError(f"unknown origin region {origin!r}; known: {', '.join(catalog.origin_ids)}")
    return origin


def _json_value(v: Any) -> Any:
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return None if math.isnan(v) else round(float(v), 3)
    return v


def _json_row(row: dict[str, Any]) -> dict[str, Any]:
    """One ranked PoP as JSON: km/ms rounded to 1 m / 1 us, ``rank`` null when it is down."""
    out = {k: _json_value(v) for k, v in row.items()}
    out["rank"] = int(row["rank"]) if row["up"] else None
    return out


def cmd_nearest(args: argparse.Namespace) -> int:
    from dashboard.services import routing

    catalog, settings = _catalog(args)
    down = _down_ids(catalog, args.down)
    origin = _origin_id(catalog, settings, args.origin)
    if args.k is not None and args.k < 1:
        raise CliError(f"--k must be >= 1, got {args.k}")
    try:
        table = routing.rank_for_point(catalog, args.lat, args.lon, origin, down,
                                       policy=args.policy, access=args.access)
    except ValueError as exc:  # the core names what is wrong with the coordinates
        raise CliError(str(exc).replace("client 0: ", "")) from None
    names = dict(zip(catalog.pops["id"], catalog.pops["name"]))
    table.insert(2, "name", table["pop_id"].map(names))
    up = table[table["up"]]
    if args.k is not None:
        up = up.head(args.k)
    # Down PoPs are shown when they would have ranked among the rows shown ("X is down").
    limit = up["distance_km"].max() if len(up) else math.inf
    shown_down = table[~table["up"] & (table["distance_km"] <= limit)]
    shown = pd.concat([up, shown_down])
    if args.json:
        doc = {
            "client": {"lat": args.lat, "lon": args.lon},
            "origin": origin,
            "down": sorted(down),
            "policy": args.policy,
            "access": args.access,
            "routed": bool(len(up)),
            "pops": [_json_row(row) for row in shown.to_dict("records")],
            "model": MODEL_NOTE,
        }
        print(json.dumps(doc, indent=2, ensure_ascii=False))
        return 0
    origin_row = catalog.origin(origin)
    print(f"client {args.lat:g}, {args.lon:g} -> origin {origin} ({origin_row['city']})"
          + (f"; down: {', '.join(sorted(down))}" if down else "")
          + (f"; policy: {args.policy}" if args.policy != "geographic" else "")
          + f"; clients: {args.access}")
    if not len(up):
        print("no route: every access point is down")
    header = (f"{'rank':>4}  {'pop':<5} {'name':<26} {'distance_km':>12} {'internet_ms':>12} "
              f"{'backbone_ms':>12} {'anycast_ms':>11}")
    print(header)
    for row in shown.to_dict("records"):
        rank = f"{int(row['rank']):>4}" if row["up"] else "down"
        print(f"{rank}  {row['pop_id']:<5} {str(row['name'])[:26]:<26} "
              f"{row['distance_km']:>12.1f} {row['internet_ms']:>12.1f} "
              f"{row['backbone_ms']:>12.1f} {row['anycast_ms']:>11.1f}")
    print(f"({MODEL_NOTE})")
    return 0


def cmd_assign(args: argparse.Namespace) -> int:
    """``assign``: clients (CSV or Parquet, by extension) -> their paths (CSV or Parquet), in
    chunks through the batch engine (``services/batch.py``); ``--dask`` maps it over files."""
    from dashboard.domain.clients import ClientsError
    from dashboard.services import batch

    catalog, settings = _catalog(args)
    down = _down_ids(catalog, args.down)
    origin = _origin_id(catalog, settings, args.origin)
    job = batch.Job(origin, down, args.policy, args.access)
    if getattr(args, "dask", None):
        return _assign_dask(args, job)
    source = "<stdin>" if str(args.clients) == "-" else str(args.clients)
    if source != "<stdin>" and not Path(args.clients).is_file():
        raise CliError(f"{source}: file not found")
    target = None if args.output in (None, "-") else Path(args.output)
    # The same validator as the page and the API (one set of rules for a row). The web caps
    # (ANYCAST_MAX_CLIENTS, ..._UPLOAD_BYTES) protect a shared server from its users; this is a
    # batch tool an operator runs on their own file (access logs of millions of rows), so its
    # bound is --max-clients, stated in the message when a file exceeds it. Memory is bounded
    # by --chunk-rows, not by the file.
    try:
        summary = batch.assign_file(
            catalog, args.clients, target, job, rows=args.chunk_rows, max_rows=args.max_clients,
            stdin=sys.stdin.buffer, stdout=sys.stdout.buffer, progress=_progress(args))
    except (ClientsError, batch.BatchError) as exc:
        _remove_partial(target)
        hint = " (raise --max-clients, or split the file)" if "(the limit)" in str(exc) else ""
        raise CliError(f"{source}: {exc}{hint}") from None
    except OSError as exc:
        _remove_partial(target)
        print(f"error: cannot write {target}: {exc.strerror}", file=sys.stderr)
        return 1
    routed = summary.routed
    print(f"assigned {summary.clients} {args.access} clients to {origin} via the "
          + ("nearest healthy PoP" if args.policy == "geographic"
             else "healthy PoP with the shortest modelled internet leg")
          + (f" ({summary.clients - routed} without a route: every PoP down)"
             if routed < summary.clients else "")
          + (f" -> {target}" if target else ""), file=sys.stderr)
    if not args.quiet:
        print(summary.text(), file=sys.stderr)
    return 0


def _remove_partial(target: Path | None) -> None:
    """A failed run leaves no half-written output behind."""
    if target is not None:
        try:
            target.unlink()
        except OSError:
            pass


def _progress(args: argparse.Namespace) -> Any:
    """Progress on stderr for long runs: a line every 5 s (never for short runs or --quiet)."""
    if args.quiet:
        return None
    last = [0.0]

    def report(summary: Any, seconds: float) -> None:
        if seconds - last[0] >= 5.0:
            last[0] = seconds
            print(f"  {summary.clients:,} clients in {seconds:.0f} s "
                  f"({summary.clients / max(seconds, 1e-9):,.0f}/s)", file=sys.stderr)
    return report


def _assign_dask(args: argparse.Namespace, job: Any) -> int:
    from dashboard.services import batch_dask

    if args.output in (None, "-"):
        raise CliError("--dask writes one file per input partition: give -o DIRECTORY")
    try:
        summary = batch_dask.assign_partitions(
            _settings(args), args.clients, Path(args.output), job, args.dask,
            rows=args.chunk_rows, max_rows=args.max_clients)
    except batch_dask.DaskInputError as exc:
        raise CliError(str(exc)) from None
    print(f"assigned {summary.clients} clients in {summary.chunks} chunks to {job.origin} "
          f"-> {args.output}", file=sys.stderr)
    if not args.quiet:
        print(summary.text(), file=sys.stderr)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    settings = _settings(args)
    settings = settings.with_(host=args.host or settings.host, port=args.port or settings.port,
                              debug=args.debug or settings.debug)
    from dashboard.app import create_app  # the web stack only for this command

    app = create_app(settings)
    app.run(host=settings.host, port=settings.port, debug=settings.debug)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="anycast-dashboard",
                                     description="Anycast EIP dashboard and tools")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the dashboard (development server)")
    _add_catalog_args(serve)
    serve.add_argument("--host", default=None, help="bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (default 8050)")
    serve.add_argument("--debug", action="store_true", help="Dash dev tools and reloader")
    serve.set_defaults(func=cmd_serve)

    near = sub.add_parser("nearest", help="rank the access points for one client location",
                          description="Rank the access points for one client by WGS84 geodesic "
                                      "distance, with the modelled RTT of each path.")
    _add_catalog_args(near)
    near.add_argument("--lat", type=float, required=True, help="client latitude, degrees")
    near.add_argument("--lon", type=float, required=True, help="client longitude, degrees")
    _add_routing_args(near)
    near.add_argument("--k", type=int, default=None,
                      help="show only the N nearest healthy access points (default: all)")
    near.add_argument("--json", action="store_true", help="print JSON instead of a table")
    near.set_defaults(func=cmd_nearest)

    asg = sub.add_parser("assign", help="assign a CSV of clients to their access points",
                         description="Assign every client of a CSV (lat,lon[,weight][,name] or a "
                                     "header naming lat, lon, name, weight) to its nearest "
                                     "healthy access point, with the modelled path to the "
                                     "origin.")
    _add_catalog_args(asg)
    asg.add_argument("clients", help="clients CSV or Parquet file ('-' = standard input, CSV); "
                                     "with --dask a glob of Parquet/CSV files")
    asg.add_argument("-o", "--output", default=None,
                     help="output CSV or Parquet file, by extension ('-' or omitted = standard "
                          "output, CSV); with --dask a directory")
    asg.add_argument("--max-clients", type=_positive_int, default=CLI_MAX_CLIENTS, metavar="N",
                     help=f"refuse a file of more than N clients (default {CLI_MAX_CLIENTS:,})")
    _add_batch_args(asg)
    _add_routing_args(asg)
    asg.set_defaults(func=cmd_assign)
    return parser


#: ``assign``'s default bound on clients per file. Memory no longer grows with the file (it is
#: read in chunks); the bound stays a guard against feeding it the wrong file.
CLI_MAX_CLIENTS = 100_000_000


def _add_batch_args(p: argparse.ArgumentParser) -> None:
    # the default is services.batch.DEFAULT_CHUNK_ROWS (not imported here: a light startup)
    p.add_argument("--chunk-rows", type=_positive_int, default=50_000, metavar="N",
                   help="clients per chunk (memory ~1.5 kB per client per chunk in flight, "
                        "about three chunks in flight; default 50,000: ~350 MB in all)")
    p.add_argument("--dask", default=None, metavar="SCHEDULER",
                   help="map the engine over the input files with Dask distributed: 'local' "
                        "(a cluster on this machine) or tcp://host:8786")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no progress lines or summary on stderr")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def _add_routing_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--down", action="append", metavar="IDS",
                   help="access points that are down, comma-separated ids (e.g. CDG,LHR)")
    p.add_argument("--origin", default=None,
                   help="origin region id (default: $ANYCAST_DEFAULT_ORIGIN or eu-central-1)")
    from dashboard.domain.policy import DEFAULT_POLICY, DESCRIPTIONS, POLICIES

    p.add_argument("--policy", choices=POLICIES, default=DEFAULT_POLICY,
                   help="routing policy: " + "; ".join(f"{k} = {v}" for k, v in
                                                       DESCRIPTIONS.items())
                   + f" (default {DEFAULT_POLICY})")
    from dashboard.domain.access import ACCESS_CHOICES, DEFAULT_ACCESS
    from dashboard.domain.access import DESCRIPTIONS as ACCESS_TEXT

    p.add_argument("--access", choices=ACCESS_CHOICES, default=DEFAULT_ACCESS,
                   help="who the clients are: " + "; ".join(f"{k} = {v}" for k, v in
                                                           ACCESS_TEXT.items())
                   + f" (default {DEFAULT_ACCESS})")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 output failure, 2 bad input or usage)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # usage errors and --help: argparse has printed the message
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    try:
        return int(args.func(args))
    except (CatalogError, SettingsError, CliError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
