"""Widget requests that need server data, turned into domain edits (``dashboard.domain.edits``).

The page's widgets write *requests* into the edit store; most are domain edits already (a click
on an access point: ``toggle_pop``). The ones below need the server's data or rules first, and
:func:`resolve_request` turns each into an edit (or a ``notice``, or None: nothing to do) in the
same round trip as the edit itself:

- ``city`` [id]: a gazetteer city; ``ip`` [ip]: an IP address typed in the search box
  (located with the GeoIP database, :mod:`dashboard.services.ipclients`); ``preset`` [key]: a preset or a client set;
  ``coords`` [text]: typed coordinates; ``upload`` [contents, filename]: a CSV data URL;
  ``import`` [contents, filename]: a scenario JSON data URL;
- ``model_input`` [name, values, ids]: the latency model inputs;
- ``capacity_input`` [changed, source, scale, default]: the capacity controls;
  ``capacity_table`` [rows]: the utilisation table's capacity cells;
  ``demand_fit``: the capacity story's "Scale demand" (the scale that loads the busiest access
  point to ~65 %, :func:`dashboard.services.capacity_story.fit_edit`);
- ``observe_input`` [index, value]: the support panel's observed-entry picker;
  ``observe_trace`` [index, text]: "Use as observed PoP" of a pasted traceroute/mtr (the entry
  point is inferred again here, :func:`dashboard.services.observe.observe_from_trace`).

- the planned PoPs panel's requests (``planned_input``, ``planned_city``, ``planned_table``;
  ``add-planned`` named after the nearest city):
  :func:`dashboard.services.planned.resolve_planned_request`.

No Dash, Flask or Plotly import.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from dashboard.catalog import Catalog
from dashboard.domain.clients import (ClientsError, RejectedRows, client_room,
                                      parse_clients_lenient)
from dashboard.domain.edits import Notice
from dashboard.domain.exports import ScenarioImportError, scenario_from_json
from dashboard.domain.scenario import Scenario, clean_name
from dashboard.gazetteer import (CLIENT_SET_SIZES, DEMAND_PREFIX, DEMAND_SETS, load_gazetteer,
                                 preset_by_key)
from dashboard.latency import fitted_values
from dashboard.domain.ipgeo import is_ip_header, parse_ip_rows
from dashboard.services import capacity, capacity_story, ipclients, model, observe, support
from dashboard.services.planned import (PLANNED_REQUESTS, effective_catalog,
                                        resolve_planned_request)
from dashboard.settings import Settings


def notice_edit(level: str, text: str) -> dict:
    """An edit that changes nothing and says ``text``."""
    return {"op": "notice", "notices": [{"level": level, "text": text}]}


_NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)"
_COORD_RE = re.compile(rf"^\s*({_NUM})\s*°?\s*([NSns])?\s*[,;\s]\s*({_NUM})\s*°?\s*([EWew])?\s*$")


def parse_coordinates(text: Any) -> tuple[float, float]:
    """``'48.8566, 2.3522'`` (or ``'48.8566 2.3522'``, ``'33.87 S, 151.21 E'``) -> (lat, lon).

    Decimal degrees, latitude first. Raises ``ValueError`` with a message for the user.
    """
    raw = text.strip() if isinstance(text, str) else ""
    if not raw:
        raise ValueError("type a latitude and a longitude, e.g. 48.8566, 2.3522")
    m = _COORD_RE.match(raw[:200])
    if not m:
        raise ValueError(f"'{raw[:40]}' is not 'lat, lon' in decimal degrees (e.g. 48.8566, 2.3522)")
    lat, ns, lon, ew = float(m.group(1)), m.group(2), float(m.group(3)), m.group(4)
    if ns and ns.upper() == "S":
        lat = -abs(lat)
    if ew and ew.upper() == "W":
        lon = -abs(lon)
    if not -90 <= lat <= 90:
        raise ValueError(f"latitude {lat:g} is out of range: it must be between -90 and 90 degrees")
    if not -180 <= lon <= 180:
        raise ValueError(f"longitude {lon:g} is out of range: it must be between -180 and 180 "
                         "degrees")
    return lat, lon


def _data_url_bytes(contents: Any, limit: int) -> bytes:
    """The bytes of a ``dcc.Upload`` data URL; ``ValueError`` for an empty, oversize (checked
    before decoding) or undecodable one."""
    if not isinstance(contents, str) or "," not in contents:
        raise ValueError("empty upload")
    b64 = contents.split(",", 1)[1]
    if len(b64) * 3 // 4 > limit + 3:
        raise ValueError(f"larger than the {limit:,}-byte upload limit")
    try:
        return base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the upload could not be decoded") from None


def parse_upload(contents: Any, filename: Any, settings: Settings, room: int
                 ) -> tuple[list[dict], list[Notice]]:
    """Decode a ``dcc.Upload`` data URL and parse the CSV; errors become notices (nothing raised).

    ``room``: how many more clients the scenario can take. Size is checked before decoding.
    """
    name = clean_name(filename) if isinstance(filename, str) and filename else "upload"
    try:
        data = _data_url_bytes(contents, settings.max_upload_bytes)
    except ValueError as exc:
        text = str(exc)
        if text.startswith("larger"):
            return [], [("error", f"{name} is {text}; nothing was added")]
        return [], [("error", f"{name}: {text}")]
    if room <= 0:
        return [], [("error", f"the scenario already has the maximum of {settings.max_clients:,} "
                              "clients (counting a client set); nothing was added")]
    if _is_ip_file(data):
        return _parse_ip_upload(data, name, settings, room)
    try:
        df, rejected = parse_clients_lenient(
            data, max_rows=max(1, min(room, settings.max_clients)),
            max_bytes=settings.max_upload_bytes, max_errors=MAX_REJECTED_SHOWN)
    except ClientsError as exc:
        return [], [("error", f"{name}: {exc}. Nothing was added; your clients are unchanged.")]
    rows = [{"lat": float(r.lat), "lon": float(r.lon), "name": str(r.name or ""),
             "weight": float(r.weight)} for r in df.itertuples()]
    return rows, rejected_notices(name, len(rows), rejected)


def _is_ip_file(data: bytes) -> bool:
    """Whether an upload is a file of IP addresses: its first record line is a header with an
    ``ip`` column (domain.ipgeo.IP_HEADERS)."""
    head = data[:4096].decode("utf-8-sig", "replace")
    for line in head.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            return is_ip_header(line)
    return False


def _parse_ip_upload(data: bytes, name: str, settings: Settings, room: int
                     ) -> tuple[list[dict], list[Notice]]:
    """An upload of IP addresses: each row located (services.ipclients); a row that cannot be
    (malformed, private or reserved, not in the database, a bad weight) is listed in the same
    partial-import warning as a bad coordinate row, never dropped silently."""
    reader, why = ipclients.database(settings)
    if reader is None:
        return [], [("error", f"{name}: a file of IP addresses. {why}. Nothing was added.")]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], [("error", f"{name}: not UTF-8 text; save the file as UTF-8 CSV. Nothing "
                              "was added; your clients are unchanged.")]
    try:
        rows, rejected = parse_ip_rows(text, max_rows=max(1, min(room, settings.max_clients)),
                                       max_errors=MAX_REJECTED_SHOWN)
    except ClientsError as exc:
        return [], [("error", f"{name}: {exc}. Nothing was added; your clients are unchanged.")]
    clients, failed = ipclients.locate_rows([r.ip for r in rows], settings,
                                            weights=[r.weight for r in rows],
                                            names=[r.name for r in rows])
    errors = sorted(rejected.errors + [ClientsError(reason, line=rows[i].line)
                                       for i, reason in failed[:MAX_REJECTED_SHOWN]],
                    key=lambda e: e.line or 0)  # the notice lists lines in file order
    rejected = RejectedRows(limit=MAX_REJECTED_SHOWN, errors=errors[:MAX_REJECTED_SHOWN],
                            count=rejected.count + len(failed))
    if not clients:
        first = rejected.errors[0] if rejected.errors else None
        detail = f" (line {first.line}: {first.reason[:_REASON_CHARS]})" if first else ""
        return [], [("error", f"{name}: none of the {rejected.count:,} rows could be located"
                              f"{detail}. Nothing was added; your clients are unchanged.")]
    return clients, rejected_notices(name, len(clients), rejected)


#: Rejected lines of an upload listed in the notice (line number and reason); the rest counted.
MAX_REJECTED_SHOWN = 5
#: Longest reason shown per rejected line (characters): the notice stays under the 500-character
#: cap of a notice (``domain.edits.MAX_NOTICE_CHARS``) with every listed line readable.
_REASON_CHARS = 70


def rejected_notices(name: str, added: int, rejected: RejectedRows) -> list[Notice]:
    """The warning of a partial upload: how many lines were rejected, the first
    :data:`MAX_REJECTED_SHOWN` with their line number and reason, "and N more"; [] when none."""
    if not rejected.count:
        return []
    shown = []
    for err in rejected.errors[:MAX_REJECTED_SHOWN]:
        reason = err.reason if err.column is None else f"{err.column}: {err.reason}"
        if len(reason) > _REASON_CHARS:
            reason = reason[:_REASON_CHARS - 1] + "…"
        shown.append(f"line {err.line}: {reason}" if err.line is not None else reason)
    more = rejected.count - len(shown)
    lines = "line" if rejected.count == 1 else "lines"
    return [("warning", f"{name}: {rejected.count:,} {lines} rejected, the {added:,} good "
                        f"row{'s' if added != 1 else ''} added. " + "; ".join(shown)
                        + (f"; and {more:,} more" if more > 0 else "") + ".")]


def import_request(contents: Any, filename: Any, catalog: Catalog, settings: Settings) -> dict:
    """An uploaded scenario JSON -> a ``replace`` edit, or an error notice naming the problem
    (the current scenario is then left exactly as it was)."""
    name = clean_name(filename) if isinstance(filename, str) and filename else "the file"

    def error(text: str) -> dict:
        return notice_edit("error", f"Import of {name}: {text}. Nothing was changed.")

    try:
        data = _data_url_bytes(contents, settings.max_upload_bytes)
    except ValueError as exc:
        return error(str(exc))
    try:
        s = scenario_from_json(data, pop_ids=catalog.pop_ids, origin_ids=catalog.origin_ids,
                               client_set_ids=tuple(DEMAND_SETS),
                               max_clients=settings.max_clients,
                               client_set_sizes=CLIENT_SET_SIZES)
    except ScenarioImportError as exc:
        return error(str(exc))
    return {"op": "replace", "scenario": s.to_dict(), "source": name}


def resolve_request(request: Any, scenario: Scenario, catalog: Catalog, settings: Settings
                    ) -> Any:
    """The domain edit for a widget request that needs server data (module docstring); None
    when the request changes nothing; any other request is returned as it is (the reducer
    checks it)."""
    if not isinstance(request, dict):
        return request
    op = request.get("op")
    if op == "city":
        try:
            c = load_gazetteer().by_id(int(request.get("id")))  # type: ignore[arg-type]
        except (KeyError, TypeError, ValueError, OverflowError):
            return notice_edit("error", "unknown city; search again")
        return {"op": "add", "source": "city search",
                "clients": [{"lat": c.lat, "lon": c.lon, "name": c.label, "weight": 1.0}]}
    if op == "preset":
        key = request.get("key")
        if not isinstance(key, str) or not key:
            return notice_edit("error", "unknown preset")
        if key.startswith(DEMAND_PREFIX):  # a large set travels by name (Scenario.client_set)
            return {"op": "client_set", "key": key[len(DEMAND_PREFIX):]}
        try:
            p = preset_by_key(load_gazetteer(), catalog, key)
        except KeyError as exc:
            return notice_edit("error", str(exc.args[0])[:200])
        return {"op": "add", "source": p.label, "clients": [
            {"lat": c.lat, "lon": c.lon, "name": c.label, "weight": 1.0} for c in p.cities]}
    if op == "ip":  # the search box: an IP address located with the GeoIP database
        return ipclients.ip_edit(request.get("ip"), settings)
    if op == "coords":
        try:
            lat, lon = parse_coordinates(request.get("text"))
        except ValueError as exc:
            return notice_edit("error", f"Coordinates: {exc}")
        return {"op": "add", "source": "coordinates",
                "clients": [{"lat": lat, "lon": lon, "name": "", "weight": 1.0}]}
    if op == "upload":
        filename = request.get("filename")
        room = client_room(settings.max_clients, len(scenario.clients),
                           CLIENT_SET_SIZES.get(scenario.client_set or "", 0))
        rows, notices = parse_upload(request.get("contents"), filename, settings, room)
        if not rows:
            return {"op": "notice", "notices": [{"level": l, "text": t} for l, t in notices]}
        # a partial upload: the good rows are added, the rejected lines listed in a warning
        return {"op": "add", "clients": rows,
                "source": clean_name(filename) if isinstance(filename, str) else "upload",
                "notices": [{"level": l, "text": t} for l, t in notices]}
    if op == "import":
        return import_request(request.get("contents"), request.get("filename"), catalog,
                              settings)
    if op == "model_input":
        return model.input_edit(request.get("values"), request.get("ids"), request.get("name"),
                                scenario, fitted_values())
    if op == "capacity_input":
        return capacity.control_edit(request.get("changed"), request.get("source"),
                                     request.get("scale"), request.get("default"), scenario)
    if op == "demand_fit":  # the capacity story's "Scale demand" button (issue 17)
        return capacity_story.fit_edit(catalog, scenario)
    if op == "capacity_table":
        # the utilisation table lists planned PoPs too (docs/planning.md)
        return capacity.table_edit(request.get("rows"), scenario,
                                   effective_catalog(catalog, scenario))
    if op == "observe_input":
        return support.observe_edit(request.get("value"), request.get("index"), scenario)
    if op == "observe_trace":
        return observe.observe_from_trace(request.get("text"), request.get("index"), scenario,
                                          catalog)
    if op in PLANNED_REQUESTS:
        return resolve_planned_request(request, scenario)
    return request
