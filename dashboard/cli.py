"""The ``anycast-dashboard`` console script.

Sub-commands: ``serve`` (the dashboard), ``nearest`` (ranked PoPs for one point) and ``assign``
(a CSV of clients -> their PoPs). Catalog files can be overridden on every command, because the
provider changes its access-point list without notice.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from dashboard.catalog import CatalogError, load_catalog
from dashboard.settings import Settings, SettingsError


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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except (CatalogError, SettingsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
