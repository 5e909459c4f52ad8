"""Scenario export/import as JSON, and spreadsheet-safe CSV of result tables.

Pure (no web framework): the dashboard's download/upload callbacks, the CLI and the tests share it.

JSON envelope (``SCENARIO_FORMAT`` version ``SCENARIO_VERSION``)::

    {"format": "anycast-eip-scenario", "version": 1, "exported_at": "...Z",
     "scenario": <Scenario.to_dict()>}

The file always names who the clients are (``scenario.access``: ``end-user`` or ``datacenter``,
:mod:`dashboard.domain.access`), the default too, so a reader of the file need not know the
dashboard's default; a file without it (older exports) is read as the default, end users.

Import is strict where the URL parser is lenient: a link is typed or truncated by humans and
tools, so the URL parser keeps what it can; an imported file claims to be an exact scenario, so
any bad value rejects the whole file with a message naming the field (``clients[3].lat: ...``) and
the current scenario stays untouched. ``import(export(s)) == s`` for every scenario (a property
test checks it).

CSV cells that a spreadsheet would evaluate as a formula (text starting with ``=``, ``+``, ``-``,
``@``, tab or carriage return) get a leading single quote (OWASP "CSV injection"); numbers are
written as numbers, so negative values stay numeric, and so is text that is a plain decimal
number (``"-33.87"``): it cannot hold a formula.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from datetime import datetime, timezone
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from dashboard.domain.clients import ClientCountError, check_client_count
from dashboard.domain import bias as bias_core
from dashboard.domain.planned import check_planned
from dashboard.domain.scenario import ENDPOINT_TYPES, Client, Scenario

SCENARIO_FORMAT = "anycast-eip-scenario"
SCENARIO_VERSION = 1
#: First characters that make a spreadsheet cell a formula (OWASP "CSV injection").
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)


class ScenarioImportError(ValueError):
    """The file is not an exported scenario; the message says where and why."""


def scenario_to_json(s: Scenario, exported_at: datetime | None = None) -> str:
    """The whole scenario as an indented JSON document (see the module docstring)."""
    when = (exported_at or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")
    doc = {"format": SCENARIO_FORMAT, "version": SCENARIO_VERSION, "exported_at": when,
           "scenario": {**s.to_dict(), "access": s.access}}
    return json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False)


def _fail(path: str, message: str) -> None:
    raise ScenarioImportError(f"{path}: {message}" if path else message)


def _expect(value: Any, kind: type | tuple[type, ...], path: str, what: str) -> Any:
    if isinstance(value, bool) and kind is not bool and bool not in (
            kind if isinstance(kind, tuple) else (kind,)):
        _fail(path, f"expected {what}, got a boolean")
    if not isinstance(value, kind):
        _fail(path, f"expected {what}, got {type(value).__name__ if value is not None else 'null'}")
    return value


def _number(value: Any, path: str) -> float:
    _expect(value, (int, float), path, "a number")
    try:
        number = float(value)
    except OverflowError:  # a JSON integer with more digits than a float holds
        number = math.inf
    if not math.isfinite(number):
        _fail(path, "must be a finite number")
    return number


def scenario_from_json(text: str | bytes, pop_ids: Sequence[str] | None = None,
                       origin_ids: Sequence[str] | None = None,
                       max_clients: int | None = None,
                       client_set_ids: Sequence[str] | None = None,
                       client_set_sizes: Mapping[str, int] | None = None) -> Scenario:
    """Parse an exported scenario. Raises :class:`ScenarioImportError` naming the bad field.

    ``pop_ids`` / ``origin_ids`` (the running catalog) reject ids this deployment does not know;
    ``max_clients`` rejects files larger than the app accepts, counting the clients of a client
    set (``client_set_sizes``) like every entry point, before any client is validated;
    ``client_set_ids`` (the server's client sets) rejects a client set this deployment does not
    have.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError:
            _fail("", "the file is not UTF-8 text")
    try:
        doc = json.loads(text)  # type: ignore[arg-type]
    except json.JSONDecodeError as exc:
        _fail("", f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})")
    _expect(doc, dict, "", "a JSON object")
    if doc.get("format") != SCENARIO_FORMAT:
        _fail("format", f"expected {SCENARIO_FORMAT!r} (a file exported by this dashboard), got "
                        f"{str(doc.get('format'))[:40]!r}")
    version = doc.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        _fail("version", f"expected a positive integer, got {version!r}")
    if version > SCENARIO_VERSION:
        _fail("version", f"the file is version {version}; this dashboard reads up to "
                         f"{SCENARIO_VERSION}")
    d = _expect(doc.get("scenario"), dict, "scenario", "an object")
    # policy / access: the store form writes them only when not default
    known = set(Scenario().to_dict()) | {"policy", "access", "bias", "planned"}
    unknown = sorted(set(d) - known)
    if unknown:
        _fail("scenario", f"unknown field(s) {', '.join(unknown[:5])} (this dashboard knows "
                          f"{', '.join(sorted(known))})")
    clients = _expect(d.get("clients", []), list, "scenario.clients", "a list")
    if max_clients is not None:
        key = d.get("client_set")
        try:
            check_client_count(len(clients), max_clients,
                               (client_set_sizes or {}).get(key, 0) if isinstance(key, str)
                               else 0, key if isinstance(key, str) else None)
        except ClientCountError as exc:
            _fail("scenario.clients", str(exc))
    parsed: list[Client] = []
    for i, c in enumerate(clients):
        path = f"scenario.clients[{i}]"
        _expect(c, dict, path, "an object")
        extra = sorted(set(c) - {"lat", "lon", "name", "weight"})
        if extra:
            _fail(path, f"unknown field(s) {', '.join(extra)}")
        for k in ("lat", "lon"):
            if k not in c:
                _fail(path, f"missing '{k}'")
        lat, lon = _number(c["lat"], path + ".lat"), _number(c["lon"], path + ".lon")
        weight = _number(c.get("weight", 1.0), path + ".weight")
        name = _expect(c.get("name", ""), str, path + ".name", "a string")
        try:
            parsed.append(Client(lat, lon, name, weight))
        except ValueError as exc:
            _fail(path, str(exc))
    planned_raw = _expect(d.get("planned", []), list, "scenario.planned",
                          "a list of planned access points")
    try:
        planned = check_planned(planned_raw)  # the cap is checked before any is built
    except ValueError as exc:
        _fail("scenario.planned", str(exc))
    for j, p in enumerate(planned):
        if pop_ids is not None and p.id in pop_ids:
            _fail(f"scenario.planned[{j}].id", f"{p.id} is an access point of the catalog; a "
                                               "planned access point needs another id")
    if pop_ids is not None and planned:  # planned ids are known access points for the rest
        pop_ids = tuple(pop_ids) + tuple(p.id for p in planned)
    origin = d.get("origin")
    if origin is not None:
        _expect(origin, str, "scenario.origin", "a string or null")
        if origin_ids is not None and origin not in origin_ids:
            _fail("scenario.origin", f"unknown origin region {origin[:40]!r} (known: "
                                     f"{', '.join(origin_ids)})")
    endpoint = d.get("endpoint_type", "CLB")
    if endpoint not in ENDPOINT_TYPES:
        _fail("scenario.endpoint_type", f"expected one of {', '.join(ENDPOINT_TYPES)}, got "
                                        f"{str(endpoint)[:20]!r}")

    def pop_list(key: str) -> None:
        value = _expect(d.get(key, []), list, f"scenario.{key}", "a list of access point ids")
        for j, pid in enumerate(value):
            _check_pop(pid, f"scenario.{key}[{j}]", pop_ids)

    pop_list("down")
    mappings = _expect(d.get("mappings", []), list, "scenario.mappings",
                       "a list of [region, [access point ids]]")
    for j, m in enumerate(mappings):
        path = f"scenario.mappings[{j}]"
        if not (isinstance(m, list) and len(m) == 2 and isinstance(m[1], list)):
            _fail(path, "expected [region, [access point ids]]")
        _check_region(m[0], path + "[0]", origin_ids)
        for k, pid in enumerate(m[1]):
            _check_pop(pid, f"{path}[1][{k}]", pop_ids)
    for j, region in enumerate(_expect(d.get("endpoints_down", []), list,
                                       "scenario.endpoints_down", "a list of region ids")):
        _check_region(region, f"scenario.endpoints_down[{j}]", origin_ids)
    if d.get("client_set") is not None:
        _expect(d["client_set"], str, "scenario.client_set", "a client set key or null")
        if client_set_ids is not None and d["client_set"] not in client_set_ids:
            _fail("scenario.client_set", f"unknown client set {d['client_set'][:40]!r} (known: "
                                         f"{', '.join(client_set_ids)})")
    for j, o in enumerate(_expect(d.get("observed", []), list, "scenario.observed", "a list")):
        path = f"scenario.observed[{j}]"
        _expect(o, dict, path, "an object {client, pop}")
        idx = o.get("client")
        if not isinstance(idx, int) or isinstance(idx, bool) or not 0 <= idx < len(parsed):
            _fail(path + ".client", f"expected the index of one of the {len(parsed)} clients, "
                                    f"got {repr(idx)[:24]}")
        _check_pop(o.get("pop"), path + ".pop", pop_ids)
    caps = _expect(d.get("capacity_gbps", {}), dict, "scenario.capacity_gbps",
                   "an object {access point: Gbps}")
    for pid, gbps in caps.items():
        _check_pop(pid, f"scenario.capacity_gbps.{pid}", pop_ids)
        _number(gbps, f"scenario.capacity_gbps.{pid}")
    for key in ("default_capacity_gbps", "demand_scale"):
        if d.get(key) is not None:
            _number(d[key], f"scenario.{key}")
    bias = _expect(d.get("bias", {}), dict, "scenario.bias", "an object {access point: ms}")
    for pid, ms in bias.items():
        _check_pop(pid, f"scenario.bias.{pid}", pop_ids)
        try:
            bias_core.check_ms(_number(ms, f"scenario.bias.{pid}"), pid)
        except ValueError as exc:
            _fail(f"scenario.bias.{pid}", str(exc))
    try:
        return Scenario.from_dict({**d, "clients": [c.to_dict() for c in parsed]})
    except (KeyError, TypeError, ValueError) as exc:
        _fail("scenario", str(exc).strip("'\""))
    raise AssertionError("unreachable")  # pragma: no cover


def _check_region(region: Any, path: str, origin_ids: Sequence[str] | None) -> None:
    _expect(region, str, path, "a region id")
    if origin_ids is not None and region not in origin_ids:
        _fail(path, f"unknown origin region {region[:40]!r} (known: {', '.join(origin_ids)})")


def _check_pop(pid: Any, path: str, pop_ids: Sequence[str] | None) -> None:
    _expect(pid, str, path, "an access point id")
    if pop_ids is not None and pid not in pop_ids:
        _fail(path, f"unknown access point {pid[:24]!r}")


def safe_cell(value: Any) -> Any:
    """``value`` made inert for a spreadsheet: text starting with a formula character gets a
    leading ``'``; numbers, ``None``/NaN and plain numeric text (``"-33.87"``, which cannot hold a
    formula and must stay a number) are returned unchanged."""
    if not isinstance(value, str):
        return value
    if value.startswith(FORMULA_PREFIXES) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def safe_cells(texts: pd.Series) -> pd.Series:
    """:func:`safe_cell` of a whole column of text at once (the batch engine's millions of
    names): the same rule, as vectorised string operations."""
    s = texts if isinstance(texts.dtype, pd.StringDtype) else texts.astype("str")
    risky = np.array(s.str.startswith(FORMULA_PREFIXES).to_numpy(dtype=bool, na_value=False))
    if not risky.any():
        return s
    risky &= ~s.str.fullmatch(_PLAIN_NUMBER.pattern).to_numpy(dtype=bool, na_value=False)
    return s.where(~risky, "'" + s)


def safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` with every text cell (and text column name) passed through
    :func:`safe_cell`; numeric columns are kept as they are."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col].dtype):
            out[col] = out[col].map(safe_cell).astype(object)
    out.columns = [safe_cell(c) if isinstance(c, str) else c for c in out.columns]
    return out


def safe_csv(df: pd.DataFrame, float_format: str | None = "%.6g", *, index: bool = False) -> str:
    """``df`` as CSV text (UTF-8 ``str``, ``\\n`` line ends, RFC 4180 quoting) with every text
    cell and header neutralised (see the module docstring). Every CSV the dashboard, the API or
    the CLI offers for download goes through here: client names come from users."""
    buf = io.StringIO()
    safe_frame(df).to_csv(buf, index=index, float_format=float_format, lineterminator="\n",
                          quoting=csv.QUOTE_MINIMAL)
    return buf.getvalue()
