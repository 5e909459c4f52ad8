"""The scenario a user builds (clients, origin, down access points, ...) and its URL form.

A scenario is everything needed to reproduce a view, so a link can be shared:
``?clients=48.8566,2.3522;35.68,139.69&origin=eu-central-1&down=CDG``.

URL grammar (all keys optional; unknown keys are ignored with a warning, so older links keep
working when keys are added):

- ``clients``: ``;``-separated clients, each ``lat,lon[,name[,weight]]``. ``lat``/``lon`` are WGS84
  decimal degrees (rounded to :data:`COORD_DECIMALS` places, ~11 m, which is far below what the
  latency model resolves); ``name`` is percent-encoded UTF-8 (so it may contain ``,`` and ``;``);
  ``weight`` is a non-negative number (demand, e.g. requests/s), omitted when 1.
- ``origin``: the origin region id the Anycast EIP's endpoint is in (omitted: the app's default).
- ``endpoint``: the endpoint type, ``CLB`` or ``ENI`` (omitted: CLB).
- ``down``: ``,``-separated access point ids marked down.

Parsing never raises: every malformed piece is dropped and described in the returned warnings.
The module is pure (no web framework import): the dashboard, the API and the tests share it.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field, replace
from typing import Iterable, Sequence
from urllib.parse import quote, unquote

#: Decimal places kept for coordinates (1e-4 degree is ~11 m on the ground).
COORD_DECIMALS = 4
#: Longest client name kept, in characters.
MAX_NAME_CHARS = 80
#: Most clients a URL holds. Beyond that a link would be several kB long and some servers refuse
#: request lines over ~4 kB (gunicorn's default limit is 4094 bytes): see :func:`fit_query`.
MAX_URL_CLIENTS = 500
#: Query length the app aims to stay under so that a shared link opens on any server.
DEFAULT_MAX_QUERY_CHARS = 4000
ENDPOINT_TYPES = ("CLB", "ENI")
DEFAULT_ENDPOINT_TYPE = "CLB"
#: Keys this version understands (later versions add endpoints, mappings, overrides, params).
KNOWN_KEYS = ("clients", "origin", "endpoint", "down")

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,31}$")
_CTRL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_MAX_WARNINGS = 5


def clean_name(name: object) -> str:
    """A display name: NFC, control characters removed, whitespace collapsed, length-capped."""
    text = unicodedata.normalize("NFC", str(name or ""))
    text = " ".join(_CTRL_RE.sub(" ", text).split())
    return text[:MAX_NAME_CHARS].strip()


def _round_coord(value: float) -> float:
    out = round(float(value), COORD_DECIMALS)
    return 0.0 if out == 0 else out  # no "-0.0" in links


def _norm_weight(value: float) -> float:
    return float(f"{float(value):.6g}")


@dataclass(frozen=True)
class Client:
    """One client location: WGS84 degrees, an optional name and a demand weight (>= 0).

    Construction normalises (coordinates rounded to :data:`COORD_DECIMALS`, name cleaned, weight
    to 6 significant digits) so that a client equals itself after a trip through a URL; it raises
    ``ValueError`` naming the field when a value is out of range.
    """

    lat: float
    lon: float
    name: str = ""
    weight: float = 1.0

    def __post_init__(self) -> None:
        for fname, limit in (("lat", 90.0), ("lon", 180.0)):
            try:
                v = float(getattr(self, fname))
            except (TypeError, ValueError):
                raise ValueError(f"{fname} {getattr(self, fname)!r} is not a number") from None
            if not math.isfinite(v) or abs(v) > limit:
                word = "latitude" if fname == "lat" else "longitude"
                raise ValueError(f"{word} {v:g} is outside [-{limit:g}, {limit:g}] degrees")
            object.__setattr__(self, fname, _round_coord(v))
        try:
            w = float(self.weight)
        except (TypeError, ValueError):
            raise ValueError(f"weight {self.weight!r} is not a number") from None
        if not math.isfinite(w) or w < 0:
            raise ValueError(f"weight {w:g} must be a finite number >= 0")
        object.__setattr__(self, "weight", _norm_weight(w))
        object.__setattr__(self, "name", clean_name(self.name))

    def to_dict(self) -> dict:
        return {"lat": self.lat, "lon": self.lon, "name": self.name, "weight": self.weight}

    @classmethod
    def from_dict(cls, d: dict) -> "Client":
        """Inverse of :meth:`to_dict`; ``ValueError`` for anything not shaped like it (the dict
        comes from the browser, so it is untrusted)."""
        if not isinstance(d, dict) or "lat" not in d or "lon" not in d:
            raise ValueError("a client must be an object with lat and lon")
        for key in ("lat", "lon", "weight"):
            if key in d and (isinstance(d[key], bool) or not isinstance(d[key], (int, float))):
                raise ValueError(f"client {key} {str(d[key])[:20]!r} is not a number")
        name = d.get("name", "")
        if name is not None and not isinstance(name, str):
            raise ValueError("client name must be text")
        weight = d.get("weight", 1.0)
        return cls(lat=d["lat"], lon=d["lon"], name=name or "",
                   weight=1.0 if weight is None else weight)


@dataclass(frozen=True)
class Scenario:
    """Everything that defines a view. Immutable; edit with the ``with_*`` methods.

    ``origin`` None means "the app's default origin". ``down`` holds access point ids.
    Later features add fields here with defaults (down endpoints, endpoint mappings, observed-PoP
    overrides, model parameters) and a key each in :func:`to_query` / :func:`from_query`.
    """

    clients: tuple[Client, ...] = ()
    origin: str | None = None
    endpoint_type: str = DEFAULT_ENDPOINT_TYPE
    down: frozenset[str] = field(default_factory=frozenset)

    # -- edits (each returns a new scenario) ------------------------------------------------
    def with_clients(self, clients: Iterable[Client]) -> "Scenario":
        return replace(self, clients=tuple(clients))

    def add_clients(self, clients: Iterable[Client], max_clients: int | None = None
                    ) -> tuple["Scenario", int]:
        """Append clients, keeping at most ``max_clients``; returns (scenario, number dropped)."""
        new = tuple(clients)
        room = len(new) if max_clients is None else max(0, max_clients - len(self.clients))
        kept = new[:room]
        return replace(self, clients=self.clients + kept), len(new) - len(kept)

    def remove_client(self, index: int) -> "Scenario":
        """Without the client at ``index`` (an out-of-range index changes nothing)."""
        if not 0 <= index < len(self.clients):
            return self
        return replace(self, clients=self.clients[:index] + self.clients[index + 1:])

    def clear_clients(self) -> "Scenario":
        return replace(self, clients=())

    def with_origin(self, origin: str | None) -> "Scenario":
        return replace(self, origin=origin or None)

    def with_endpoint_type(self, endpoint_type: str) -> "Scenario":
        if endpoint_type not in ENDPOINT_TYPES:
            raise ValueError(f"endpoint type {endpoint_type!r} is not one of "
                             f"{', '.join(ENDPOINT_TYPES)}")
        return replace(self, endpoint_type=endpoint_type)

    def with_down(self, down: Iterable[str]) -> "Scenario":
        return replace(self, down=frozenset(down))

    # -- JSON-able form for dcc.Store ----------------------------------------------------------
    def to_dict(self) -> dict:
        return {"clients": [c.to_dict() for c in self.clients], "origin": self.origin,
                "endpoint_type": self.endpoint_type, "down": sorted(self.down)}

    @classmethod
    def from_dict(cls, d: dict | None) -> "Scenario":
        """Inverse of :meth:`to_dict`; ``None`` or ``{}`` gives the empty scenario.

        Raises ``ValueError`` for anything not shaped like :meth:`to_dict`'s output: the store
        lives in the browser, so a hand-crafted request can put anything in it.
        """
        if not d:
            return cls()
        if not isinstance(d, dict):
            raise ValueError("a scenario must be an object")
        clients = d.get("clients") or ()
        down = d.get("down") or ()
        origin = d.get("origin") or None
        endpoint_type = d.get("endpoint_type") or DEFAULT_ENDPOINT_TYPE
        if not isinstance(clients, (list, tuple)):
            raise ValueError("scenario clients must be a list")
        if not isinstance(down, (list, tuple)) or not all(isinstance(x, str) for x in down):
            raise ValueError("scenario down must be a list of access point ids")
        if origin is not None and not isinstance(origin, str):
            raise ValueError("scenario origin must be a region id")
        if endpoint_type not in ENDPOINT_TYPES:
            raise ValueError(f"endpoint type must be one of {', '.join(ENDPOINT_TYPES)}")
        return cls(clients=tuple(Client.from_dict(c) for c in clients), origin=origin,
                   endpoint_type=endpoint_type, down=frozenset(down))

    # -- URL ---------------------------------------------------------------------------------
    def to_query(self) -> str:
        """The query string (without ``?``); empty for the empty scenario. See module doc."""
        return _encode(self, self.clients, with_names=True)

    @classmethod
    def from_query(cls, query: str, *, pop_ids: Sequence[str] | None = None,
                   origin_ids: Sequence[str] | None = None,
                   max_clients: int = MAX_URL_CLIENTS) -> tuple["Scenario", list[str]]:
        """Parse a query string (with or without ``?``); never raises.

        ``pop_ids`` / ``origin_ids``, when given, drop unknown ids with a warning. Returns the
        scenario and a list of human-readable warnings about what was ignored.
        """
        return _decode(query, pop_ids, origin_ids, max_clients)


def _fmt_num(v: float) -> str:
    text = f"{v:.{COORD_DECIMALS}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _fmt_client(c: Client, with_names: bool) -> str:
    parts = [_fmt_num(c.lat), _fmt_num(c.lon)]
    name = quote(c.name, safe="") if with_names else ""
    if c.weight != 1.0:
        parts += [name, f"{c.weight:.6g}"]
    elif name:
        parts.append(name)
    return ",".join(parts)


def _encode(s: Scenario, clients: Sequence[Client], with_names: bool) -> str:
    parts = []
    if clients:
        parts.append("clients=" + ";".join(_fmt_client(c, with_names) for c in clients))
    if s.origin:
        parts.append("origin=" + quote(s.origin, safe=""))
    if s.endpoint_type != DEFAULT_ENDPOINT_TYPE:
        parts.append("endpoint=" + s.endpoint_type)
    if s.down:
        parts.append("down=" + ",".join(quote(d, safe="") for d in sorted(s.down)))
    return "&".join(parts)


@dataclass(frozen=True)
class FittedQuery:
    """Result of :func:`fit_query`: the query and what had to be left out to fit."""

    query: str
    clients_kept: int
    names_kept: bool

    def warnings(self, total_clients: int) -> list[str]:
        out = []
        if not self.names_kept and total_clients:
            out.append("client names were left out of the link to keep it short")
        if self.clients_kept < total_clients:
            out.append(f"the link holds the first {self.clients_kept} of {total_clients} "
                       "clients (links must stay under a few kB)")
        return out


def fit_query(s: Scenario, max_chars: int = DEFAULT_MAX_QUERY_CHARS,
              max_clients: int = MAX_URL_CLIENTS) -> FittedQuery:
    """The longest faithful query under ``max_chars``: first drop names, then trailing clients.

    Why: a link is only shareable if a server accepts it; common servers cap the request line at
    4-8 kB. The full scenario stays in the page; only the link is abbreviated (and the UI says so).
    """
    clients = s.clients[:max_clients]
    full = _encode(s, clients, with_names=True)
    if len(full) <= max_chars:
        return FittedQuery(full, len(clients), True)
    bare = _encode(s, clients, with_names=False)
    if len(bare) <= max_chars:
        return FittedQuery(bare, len(clients), False)
    lo, hi = 0, len(clients)  # binary search the largest prefix that fits, names dropped
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if len(_encode(s, clients[:mid], with_names=False)) <= max_chars:
            lo = mid
        else:
            hi = mid - 1
    return FittedQuery(_encode(s, clients[:lo], with_names=False), lo, False)


# -- parsing -----------------------------------------------------------------------------------

def _split_query(query: str) -> list[tuple[str, str]]:
    q = query[1:] if query.startswith("?") else query
    pairs = []
    for part in q.split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        pairs.append((unquote(key.replace("+", " ")).strip().lower(), value))
    return pairs


def _parse_number(text: str) -> float:
    v = float(text)
    if not math.isfinite(v):
        raise ValueError("not finite")
    return v


def _parse_clients(raw: str, max_clients: int, warnings: list[str]) -> list[Client]:
    # Tools that percent-encode a whole URL turn ',' into %2C; decode once if no separator is
    # left (names are then ambiguous, which is acceptable for such links).
    if "," not in raw and re.search(r"%2c", raw, re.I):
        raw = unquote(raw)
    out: list[Client] = []
    bad: list[str] = []
    items = [it for it in raw.split(";") if it.strip()]
    for n, item in enumerate(items, start=1):
        fields = item.split(",")
        try:
            if len(fields) < 2 or len(fields) > 4:
                raise ValueError("expected lat,lon[,name[,weight]]")
            lat = _parse_number(unquote(fields[0]).strip())
            lon = _parse_number(unquote(fields[1]).strip())
            name = unquote(fields[2].replace("+", " ")) if len(fields) > 2 else ""
            weight = _parse_number(unquote(fields[3]).strip()) if len(fields) > 3 else 1.0
            client = Client(lat, lon, name, weight)
        except (ValueError, OverflowError) as exc:
            bad.append(f"#{n} '{_short(item)}' ({_reason(exc)})")
            continue
        out.append(client)
    if bad:
        shown = "; ".join(bad[:_MAX_WARNINGS])
        more = f" and {len(bad) - _MAX_WARNINGS} more" if len(bad) > _MAX_WARNINGS else ""
        warnings.append(f"ignored {len(bad)} malformed client(s) in the link: {shown}{more}")
    if len(out) > max_clients:
        warnings.append(f"the link has {len(out)} clients; only the first {max_clients} were "
                        "loaded")
        out = out[:max_clients]
    return out


def _reason(exc: Exception) -> str:
    text = str(exc)
    if text.startswith("could not convert") or text == "not finite":
        return "not a number"
    return text


def _short(text: str, n: int = 40) -> str:
    text = _CTRL_RE.sub("", unquote(text))
    return text if len(text) <= n else text[: n - 1] + "…"


def _decode(query: str, pop_ids: Sequence[str] | None, origin_ids: Sequence[str] | None,
            max_clients: int) -> tuple[Scenario, list[str]]:
    warnings: list[str] = []
    if not isinstance(query, str):
        return Scenario(), (["the link's query is not text; ignored"] if query else [])
    clients: list[Client] = []
    origin: str | None = None
    endpoint = DEFAULT_ENDPOINT_TYPE
    down: set[str] = set()
    seen: set[str] = set()
    for key, value in _split_query(query):
        if key in seen and key in KNOWN_KEYS:
            warnings.append(f"'{_short(key)}' appears more than once in the link; the last one "
                            "was used")
        seen.add(key)
        if key == "clients":
            clients = _parse_clients(value, max_clients, warnings)
        elif key == "origin":
            text = unquote(value).strip()
            if not text:
                origin = None
            elif not _ID_RE.match(text) or (origin_ids is not None and text not in origin_ids):
                warnings.append(f"unknown origin '{_short(text)}' ignored"
                                + (f" (known: {', '.join(origin_ids)})" if origin_ids else ""))
                origin = None
            else:
                origin = text
        elif key == "endpoint":
            text = unquote(value).strip().upper()
            if text in ENDPOINT_TYPES:
                endpoint = text
            else:
                warnings.append(f"unknown endpoint type '{_short(text)}' ignored (use CLB or ENI)")
                endpoint = DEFAULT_ENDPOINT_TYPE
        elif key == "down":
            down = set()
            unknown = []
            for item in unquote(value).split(","):
                pid = item.strip().upper()
                if not pid:
                    continue
                if not _ID_RE.match(pid) or (pop_ids is not None and pid not in pop_ids):
                    unknown.append(_short(pid, 12))
                else:
                    down.add(pid)
            if unknown:
                warnings.append(f"unknown access point(s) {', '.join(unknown[:_MAX_WARNINGS])} "
                                "in 'down' ignored")
        else:
            warnings.append(f"unknown link parameter '{_short(key, 24)}' ignored")
    return Scenario(clients=tuple(clients), origin=origin, endpoint_type=endpoint,
                    down=frozenset(down)), warnings
