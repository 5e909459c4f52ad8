"""The ``anycast-dashboard`` console script.

Sub-commands: ``serve`` (the dashboard), ``nearest`` (ranked PoPs for one point), ``assign``
(a CSV of clients -> their PoPs), ``traceroute`` (the entry point of a saved trace),
``provider`` (the operator's live Anycast EIP configuration, read with the SDK or from a saved
JSON; docs/provider.md) and ``candidates`` (where to add a PoP, docs/planning.md). Catalog
files can be overridden on every command, because the
provider changes its access-point list without notice.
"""

from __future__ import annotations

import argparse
import atexit
import json
import math
import multiprocessing
import os
import sys
import threading
from pathlib import Path
from typing import Any, NoReturn, Sequence

import numpy as np
import pandas as pd

from dashboard.catalog import Catalog, CatalogError, load_catalog
from dashboard.domain import bias as bias_core
from dashboard.settings import Settings, SettingsError

#: Printed under every result: the tool models geography, the internet follows BGP.
MODEL_NOTE = ("distance: WGS84 geodesic; nearest = geographically nearest healthy access point "
              "(real anycast follows BGP); RTTs are modelled round trips")


#: Set by a plain ``assign`` (not ``--dask``) that has finished: its output is closed, its
#: worker processes joined and its spool files removed, so :func:`entry` may end the process
#: without the interpreter's teardown (:func:`_exit_now`).
_FINISHED_ASSIGN = [False]


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
    """The catalog (plus the ``--add-pop`` planned PoPs, docs/planning.md) and the settings."""
    settings = _settings(args)
    catalog = load_catalog(settings.pops_csv, settings.origins_csv)
    return catalog.with_planned(_planned(catalog, getattr(args, "add_pop", None))), settings


def _planned(catalog: Catalog, raw: Sequence[str] | None) -> tuple[Any, ...]:
    """``--add-pop ID:LAT,LON[,name[,gbps]]`` (repeatable) -> planned PoPs, checked like the
    page's and the API's (id rule, no catalog id, coordinates, at most 10, not in the Chinese
    mainland); a ``CliError`` names the problem."""
    if not raw:
        return ()
    from dashboard.services.planned import parse_planned_strict

    try:
        return parse_planned_strict(list(raw), catalog)
    except ValueError as exc:
        raise CliError(f"--add-pop: {exc}") from None


def _down_ids(catalog: Catalog, raw: Sequence[str] | None) -> frozenset[str]:
    """``--down CDG,LHR`` (repeatable, case-insensitive) -> known ids, or an error naming the id."""
    ids = {part.strip().upper() for value in (raw or ()) for part in value.split(",")} - {""}
    unknown = sorted(ids - set(catalog.pop_ids))
    if unknown:
        raise CliError(f"unknown access point id(s) in --down: {', '.join(unknown)}; "
                       f"known: {', '.join(catalog.pop_ids)}")
    return frozenset(ids)


def _bias(catalog: Catalog, raw: Sequence[str] | None) -> tuple[tuple[str, float], ...]:
    """``--bias FRA:+20`` (repeatable, or comma-separated) -> the canonical bias; the one
    validator (:func:`dashboard.domain.bias.parse_text`) names a bad piece or unknown id."""
    if not raw:
        return ()
    try:
        return bias_core.parse_text(",".join(raw), catalog.pop_ids)
    except ValueError as exc:
        raise CliError(f"--bias: {str(exc).removeprefix('bias: ')} (POP:ms, ms in "
                       f"{bias_core.MIN_MS:+.0f}..{bias_core.MAX_MS:+.0f})") from None


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
    from dashboard.services import ipclients

    located = None
    if args.ip is not None:
        if args.lat is not None or args.lon is not None:
            raise CliError("give either --ip or --lat and --lon, not both")
        located = ipclients.locate(args.ip, settings).result
        if not located.ok:  # the message names the reason (or how to configure a database)
            raise CliError(f"--ip {located.ip or args.ip[:45]}: {located.message}")
        args.lat, args.lon = located.location.lat, located.location.lon
    elif args.lat is None or args.lon is None:
        raise CliError("give --lat and --lon (degrees), or --ip")
    try:
        table = routing.rank_for_point(catalog, args.lat, args.lon, origin, down,
                                       policy=args.policy, access=args.access,
                                       bias=_bias(catalog, args.bias))
    except ValueError as exc:  # the core names what is wrong with the coordinates
        raise CliError(str(exc).replace("client 0: ", "")) from None
    names = catalog.pop_map("name")
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
            "client": {"lat": args.lat, "lon": args.lon,
                       **({"ip": located.ip, "label": located.label,
                           "accuracy_radius_km": located.location.radius_km,
                           "attribution": ipclients.attribution(settings) or None}
                          if located else {})},
            "origin": origin,
            "down": sorted(down),
            "policy": args.policy,
            "access": args.access,
            **({"bias": dict(_bias(catalog, args.bias))} if args.bias else {}),
            "routed": bool(len(up)),
            **({"planned": list(catalog.planned_ids)} if catalog.planned_ids else {}),
            "pops": [_json_row(row) for row in shown.to_dict("records")],
            "model": MODEL_NOTE,
        }
        print(json.dumps(doc, indent=2, ensure_ascii=False))
        return 0
    origin_row = catalog.origin(origin)
    if located is not None:
        credit = ipclients.attribution(settings)
        print(f"client {located.label}" + (f"  [{credit}]" if credit else ""))
    print(f"client {args.lat:g}, {args.lon:g} -> origin {origin} ({origin_row['city']})"
          + (f"; down: {', '.join(sorted(down))}" if down else "")
          + (f"; policy: {args.policy}" if args.policy != "geographic" else "")
          + f"; clients: {args.access}"
          + (f"; bias: {bias_core.describe(_bias(catalog, args.bias))} (selection only)"
             if args.bias else ""))
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
    chunks through the batch engine (``services/batch/``); ``--dask`` maps it over files."""
    from dashboard.domain.clients import ClientsError
    from dashboard.services import batch

    catalog, settings = _catalog(args)
    down = _down_ids(catalog, args.down)
    origin = _origin_id(catalog, settings, args.origin)
    job = batch.Job(origin, down, args.policy, args.access, _bias(catalog, args.bias),
                    geoip_mmdb=str(settings.geoip_mmdb) if settings.geoip_mmdb else None)
    if getattr(args, "dask", None):
        if catalog.planned_ids:  # the workers load the catalog from the files, not from argv
            raise CliError("--add-pop cannot be combined with --dask (the workers read the "
                           "catalog files); add the access point to a copy of pops.csv instead")
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
    # rows of IP addresses that were not located are not routed either (their geoip_message)
    unlocated = sum(v for k, v in summary.geoip.items() if k != "ok")
    print(f"assigned {summary.clients} {args.access} clients to {origin} via the "
          + ("nearest healthy PoP" if args.policy == "geographic"
             else "healthy PoP with the shortest modelled internet leg")
          + (f" ({summary.clients - unlocated - routed} without a route: every PoP down)"
             if routed < summary.clients - unlocated else "")
          + (f" -> {target}" if target else ""), file=sys.stderr)
    if not args.quiet:
        print(summary.text(), file=sys.stderr)
    if summary.geoip.get("no_database"):
        from dashboard.geoip import NO_DATABASE_HINT

        print(f"note: {NO_DATABASE_HINT}", file=sys.stderr)
    elif summary.geoip.get("ok"):
        from dashboard.services import ipclients

        credit = ipclients.attribution(settings)
        if credit:
            print(f"IP locations: {credit}", file=sys.stderr)
    _FINISHED_ASSIGN[0] = True
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


def cmd_traceroute(args: argparse.Namespace) -> int:
    """Infer the entry access point of a saved traceroute/mtr output (the service the support
    tab and ``POST /api/v1/traceroute`` use). Exit 0 when the trace was read (an access point
    inferred or not: the output says why), 2 when nothing could be read."""
    from dashboard.services import observe

    catalog, _settings = _catalog(args)
    if (args.lat is None) != (args.lon is None):
        raise CliError("--lat and --lon go together (the client's position for the "
                       "speed-of-light checks)")
    client = None
    if args.lat is not None:
        if not (-90 <= args.lat <= 90 and -180 <= args.lon <= 180):
            raise CliError(f"--lat/--lon {args.lat:g}, {args.lon:g} are out of range")
        client = (args.lat, args.lon)
    limit = observe.MAX_TRACE_CHARS * 4
    try:
        if args.file == "-":
            raw = sys.stdin.buffer.read(limit + 1)
        else:
            with open(args.file, "rb") as fh:
                raw = fh.read(limit + 1)
    except OSError as exc:
        raise CliError(f"{args.file}: {exc.strerror or exc}") from None
    if len(raw) > limit:
        raise CliError(f"{args.file}: larger than {limit:,} bytes; one trace is at most "
                       f"{observe.MAX_TRACE_CHARS:,} characters")
    report = observe.trace_report(raw.decode("utf-8-sig", errors="replace"), catalog, client)
    if not report["hops"]:
        raise CliError(f"{args.file}: {report['reason']}")
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return 0
    print(f"read as {report['format']}, {report['hops']} hops"
          + (f", to {report['target']}" if report["target"] else ""))
    print(f"entry point: {report['pop']} ({report['confidence']} confidence)" if report["pop"]
          else "entry point: not inferred")
    print(f"why: {report['reason']}")
    if report["evidence"]:
        print(f"{'hop':>3}  {'hostname':<44} {'code':<8} {'metro':<16} {'pop':<4} "
              f"{'best_ms':>8} {'floor_ms':>8}  verdict")
        for e in report["evidence"]:
            rtt = "" if e["rtt_ms"] is None else f"{e['rtt_ms']:.1f}"
            floor = "" if e["floor_ms"] is None else f"{e['floor_ms']:.1f}"
            print(f"{e['hop']:>3}  {e['host'][:44]:<44} {e['code'][:8]:<8} "
                  f"{e['metro'][:16]:<16} {e['pop']:<4} {rtt:>8} {floor:>8}  {e['verdict']}")
    if report["measured_ms"] is not None:
        print(f"destination: hop {report['destination_hop']}, best {report['measured_ms']} ms")
    for note in report["notes"]:
        print(f"note: {note}")
    print(f"({report['caveat']})")
    return 0
def cmd_provider(args: argparse.Namespace) -> int:
    """List the Anycast EIPs (live or from ``--file``), the chosen one's endpoints as the
    dashboard would load them, what did not map, the catalog report, and a dashboard link."""
    from dashboard.services import provider

    catalog, settings = _catalog(args)
    if args.file:
        path = Path(args.file)
        limit = min(provider.MAX_FILE_BYTES, settings.max_upload_bytes)
        try:
            if path.stat().st_size > limit:
                raise CliError(f"{path} is larger than the {limit:,}-byte limit")
            data = path.read_bytes()
        except OSError as exc:
            raise CliError(f"cannot read {path}: {exc.strerror}") from None
        view = provider.saved_view(data, path.name, settings, catalog, args.eip)
    elif not settings.provider_api:
        raise CliError("live reading is off: set ANYCAST_PROVIDER_API=on (credentials from the "
                       "SDK's standard chain, docs/provider.md) or pass --file SAVED.json")
    else:
        view = provider.live_view(settings, catalog, args.eip)
    link = provider.load_link(view, catalog, settings)
    if args.json:
        print(json.dumps({"source": view.source, "eips": list(view.options),
                          "chosen": view.chosen, "load": view.load_edit,
                          "endpoints": list(view.endpoints),
                          "messages": [{"level": lv, "text": t}
                                       for lv, t in view.notes + view.messages],
                          "catalog_report": [{"level": lv, "text": t}
                                             for lv, t in view.diff_notes],
                          "catalog": list(view.diff_rows), "link": link}, indent=2))
    else:
        for o in view.options:
            print(("* " if o["value"] == view.chosen else "  ") + o["label"])
        for line in view.endpoints:
            print(line)
        for level, text in view.notes + view.messages + view.diff_notes:
            print(f"{level}: {text}")
        for r in view.diff_rows:
            print(f"  {r['kind']:<13} {r['api_id']:<24} -> {r['catalog']}")
        if link:
            print(f"link: {link}")
    errors = [t for lv, t in view.messages if lv == "error"]
    return 2 if errors and view.load_edit is None else 0


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
    near.add_argument("--lat", type=float, default=None, help="client latitude, degrees")
    near.add_argument("--lon", type=float, default=None, help="client longitude, degrees")
    near.add_argument("--ip", default=None,
                      help="client IP address (IPv4 or IPv6) instead of --lat/--lon, located "
                           "with the GeoIP database of $ANYCAST_GEOIP_MMDB")
    _add_routing_args(near)
    near.add_argument("--k", type=int, default=None,
                      help="show only the N nearest healthy access points (default: all)")
    near.add_argument("--json", action="store_true", help="print JSON instead of a table")
    near.set_defaults(func=cmd_nearest)

    asg = sub.add_parser("assign", help="assign a CSV of clients to their access points",
                         description="Assign every client of a CSV (lat,lon[,weight][,name] or a "
                                     "header naming lat, lon, name, weight; or a header with an "
                                     "'ip' column, located with $ANYCAST_GEOIP_MMDB) to its "
                                     "nearest healthy access point, with the modelled path to "
                                     "the origin.")
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

    tr = sub.add_parser("traceroute", help="infer the entry access point from a traceroute/mtr",
                        description="Read a saved traceroute, tracert or mtr output (--report, "
                                    "--report-wide, --json, --csv) and infer the access point "
                                    "the trace entered at from the metro codes in its hop "
                                    "names, with the evidence (docs/observations.md).")
    _add_catalog_args(tr)
    tr.add_argument("file", help="the output as printed ('-' = standard input)")
    tr.add_argument("--lat", type=float, default=None,
                    help="where the trace was run from, degrees (enables the speed-of-light "
                         "checks)")
    tr.add_argument("--lon", type=float, default=None, help="longitude of --lat, degrees")
    tr.add_argument("--json", action="store_true", help="print JSON instead of text")
    tr.set_defaults(func=cmd_traceroute)
    prov = sub.add_parser("provider", help="the operator's Anycast EIPs and their endpoints "
                                           "(read-only; docs/provider.md)",
                          description="List the account's Anycast EIPs with Alibaba Cloud's SDK "
                                      "(ANYCAST_PROVIDER_API=on, credentials from the SDK's "
                                      "standard chain) or from a saved JSON of the API's "
                                      "responses, and show the chosen one's endpoints as the "
                                      "dashboard loads them.")
    _add_catalog_args(prov)
    prov.add_argument("--file", default=None, help="saved responses JSON (docs/provider.md)")
    prov.add_argument("--eip", default=None, help="Anycast EIP id (default: the first listed)")
    prov.add_argument("--json", action="store_true", help="print JSON")
    prov.set_defaults(func=cmd_provider)
    cand = sub.add_parser(
        "candidates", help="rank candidate sites for a new access point by RTT gain",
        description="Where to add an access point: rank candidate sites (the largest cities "
                    "outside the Chinese mainland, or your own list) by the demand-weighted "
                    "mean RTT gain of adding each one, against the world population demand "
                    "(34,006 cities), and pick the best 1-3 added together (docs/planning.md).")
    _add_catalog_args(cand)
    _add_routing_args(cand)
    cand.add_argument("--metros", type=_positive_int, default=None, metavar="N",
                      help="rank the N largest cities outside the Chinese mainland "
                           "(default 1,000; at most 2,000)")
    cand.add_argument("--sites", default=None, metavar="FILE",
                      help="rank your own sites instead: a file of 'lat,lon[,name]' lines "
                           "('-' = standard input; at most 2,000)")
    cand.add_argument("--top", type=_positive_int, default=10, metavar="N",
                      help="rows to show (default 10, at most 50)")
    cand.add_argument("--greedy", type=int, choices=(0, 1, 2, 3), default=3,
                      help="candidates to add together greedily (default 3)")
    cand.add_argument("--json", action="store_true", help="print JSON instead of a table")
    cand.set_defaults(func=cmd_candidates)
    return parser


def cmd_candidates(args: argparse.Namespace) -> int:
    """``candidates``: the ranking of :func:`dashboard.services.siting.rank` as a table/JSON."""
    from dashboard.services import siting
    from dashboard.services.capacity import population_demand

    catalog, settings = _catalog(args)
    down = _down_ids(catalog, args.down)
    origin = _origin_id(catalog, settings, args.origin)
    bias = _bias(catalog, args.bias)  # the catalog here includes the --add-pop PoPs
    if args.top > siting.MAX_TOP:
        raise CliError(f"--top {args.top} is more than {siting.MAX_TOP}")
    if args.sites is not None and args.metros is not None:
        raise CliError("give --metros or --sites, not both")
    try:
        if args.sites is not None:
            if args.sites == "-":
                text = sys.stdin.read(siting.MAX_SITES_CHARS + 1)
            else:
                try:
                    with open(args.sites, encoding="utf-8-sig") as fh:
                        text = fh.read(siting.MAX_SITES_CHARS + 1)
                except OSError as exc:
                    raise CliError(f"--sites {args.sites}: {exc.strerror or exc}") from None
                except UnicodeDecodeError:
                    raise CliError(f"--sites {args.sites}: not UTF-8 text") from None
            cands = siting.parse_sites(text)
        else:
            cands = siting.metro_candidates(args.metros or siting.DEFAULT_METROS)
        # --bias: the ranking routes with it (a candidate, new, has none; docs/planning.md)
        result = siting.rank(catalog, population_demand(), origin, cands, down=down,
                             policy=args.policy, access=args.access, bias=bias,
                             top=args.top, greedy=args.greedy)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return 0
    print(f"{result['candidates']:,} candidate sites ({result['source']}) against "
          f"{result['points']:,} demand points; origin {origin}; policy {args.policy}; "
          f"clients {args.access}" + (f"; down: {', '.join(sorted(down))}" if down else "")
          + (f"; bias: {bias_core.describe(bias)} (selection only)" if bias else "")
          + (f"; planned: {', '.join(catalog.planned_ids)}" if catalog.planned_ids else ""))
    print(f"mean RTT now {result['mean_before_ms']} ms, p95 {result['p95_before_ms']} ms")
    print(f"{'rank':>4}  {'id':<6} {'name':<24} {'cc':<3} {'lat':>9} {'lon':>10} "
          f"{'gain_ms':>8} {'p95_after':>9} {'demand_%':>8} {'clients':>7}")
    for r in result["rows"]:
        print(f"{r['rank']:>4}  {r['id']:<6} {r['name'][:24]:<24} {r['country']:<3} "
              f"{r['lat']:>9.4f} {r['lon']:>10.4f} {_fmt(r['gain_ms']):>8} "
              f"{_fmt(r['p95_after_ms']):>9} {_fmt(r['demand_moving_pct']):>8} "
              f"{r['clients_moving']:>7}")
    if result["greedy"]:
        print("greedy best " + str(len(result["greedy"])) + ": " + " + ".join(
            f"{s['name']} ({s['id']}, -{s['gain_ms']} ms)" for s in result["greedy"]))
    print("(latency only: capacity, cost and whether a PoP can open there are not ranked; "
          f"{MODEL_NOTE})")
    return 0


def _fmt(v: Any) -> str:
    return "—" if v is None else f"{v:g}"


#: ``assign``'s default bound on clients per file. Memory no longer grows with the file (it is
#: read in chunks); the bound stays a guard against feeding it the wrong file.
CLI_MAX_CLIENTS = 100_000_000


def _add_batch_args(p: argparse.ArgumentParser) -> None:
    # the default is services.batch.DEFAULT_CHUNK_ROWS (not imported here: a light startup)
    p.add_argument("--chunk-rows", type=_chunk_rows, default=50_000, metavar="N",
                   help="clients per chunk (memory ~1.5 kB per client per chunk in flight; "
                        "one chunk per worker process, the CPUs up to 4; default 50,000: "
                        "~330 MB in all on 2 cores)")
    p.add_argument("--dask", default=None, metavar="SCHEDULER",
                   help="map the engine over the input files with Dask distributed: 'local' "
                        "(a cluster on this machine) or tcp://host:8786")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no progress lines or summary on stderr")


#: The most ``--chunk-rows`` takes: ~1.5 kB per row per chunk in flight and one chunk per
#: worker process (up to 4), so 1,000,000 is already ~6 GB; a typo of a few zeros more would
#: read the whole file into memory instead of a clear message.
MAX_CHUNK_ROWS = 1_000_000


def _chunk_rows(text: str) -> int:
    value = _positive_int(text)
    if value > MAX_CHUNK_ROWS:
        raise argparse.ArgumentTypeError(
            f"{value:,} is more than {MAX_CHUNK_ROWS:,} clients per chunk (memory: ~1.5 kB "
            "per client per chunk, one chunk per worker process)")
    return value


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
    p.add_argument("--add-pop", action="append", metavar="ID:LAT,LON",
                   help="a planned (hypothetical) access point, ID:LAT,LON[,name[,gbps]], e.g. "
                   "JNB:-26.2041,28.0473; repeatable, at most 10; a what-if of the operator's "
                   "network, not a product offer (docs/planning.md)")
    p.add_argument("--origin", default=None,
                   help="origin region id (default: $ANYCAST_DEFAULT_ORIGIN or eu-central-1)")
    from dashboard.domain.policy import DEFAULT_POLICY, DESCRIPTIONS, POLICIES

    p.add_argument("--policy", choices=POLICIES, default=DEFAULT_POLICY,
                   help="routing policy: " + "; ".join(f"{k} = {v}" for k, v in
                                                       DESCRIPTIONS.items())
                   + f" (default {DEFAULT_POLICY})")
    from dashboard.domain.access import ACCESS_CHOICES, DEFAULT_ACCESS
    from dashboard.domain.access import DESCRIPTIONS as ACCESS_TEXT

    p.add_argument("--bias", action="append", metavar="POP:MS",
                   help="announcement what-if: make an access point look MS worse (+, like "
                        "AS-path prepending) or better (-) to route selection, e.g. --bias "
                        "FRA:+20 --bias LHR:-10; -100..+100 ms; RTTs stay the real ones "
                        "(docs/bias.md)")
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


def _exit_now(status: int) -> bool:
    """End the process with ``status`` now, skipping the interpreter's teardown (freeing every
    module and object: 0.10-0.15 s after an ``assign`` of millions of rows), when that is
    provably safe, else return False. Safe means: a plain ``assign`` finished (output closed,
    workers joined, spool files removed: :data:`_FINISHED_ASSIGN`), no other thread or child
    process is alive, and stdout/stderr are flushed. The ``atexit`` handlers still run, as at
    a normal exit (they flush logging, run ``weakref.finalize`` callbacks, ...)."""
    run_exitfuncs = getattr(atexit, "_run_exitfuncs", None)  # CPython's; else a normal exit
    if not _FINISHED_ASSIGN[0] or run_exitfuncs is None or threading.active_count() != 1 \
            or multiprocessing.active_children():
        return False
    try:
        run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed or broken stream: the normal exit reports it
        return False
    os._exit(status)


def entry() -> NoReturn:
    """The ``anycast-dashboard`` console script and ``python -m dashboard.cli``: :func:`main`,
    then :func:`_exit_now` after a plain ``assign``. Tests call :func:`main`, which returns."""
    status = main()
    _exit_now(status)
    sys.exit(status)


if __name__ == "__main__":  # pragma: no cover
    entry()
