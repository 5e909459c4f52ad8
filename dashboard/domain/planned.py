"""Planned (hypothetical) access points: "what if the operator had a PoP here?".

A planned PoP is **not** something a customer can buy: the provider's access-point set is fixed
(docs/planning.md, "What a planned PoP means"). It models a network-planning what-if: a site
with an id, WGS84 coordinates, an optional name and a capacity (Gbps; None = the scenario's
default capacity, :data:`dashboard.domain.scenario.DEFAULT_CAPACITY_GBPS` unless set). The
service layer appends the planned PoPs of a scenario to the catalog
(:meth:`dashboard.catalog.Catalog.with_planned`), so routing (both policies), latency, failover,
capacity, catchments, N-1 and explanations treat them like catalog PoPs.

Rules (the same at every entry point: the URL key ``planned``, the store, the JSON import, the
API's ``planned=``, the CLI's ``--add-pop``, the edits):

- the id has the shape of a catalog id (:data:`PLANNED_ID_RE`, the catalog's ``POP_ID_RE``:
  2-8 upper-case letters or digits) and must not clash with a catalog id nor another planned PoP;
- coordinates go through the one client coordinate validator
  (:func:`dashboard.domain.clients.clean_coord`, rounded to ``COORD_DECIMALS``);
- at most :data:`MAX_PLANNED` per scenario (a what-if, not a second catalog; also bounds links
  and the routing cost).

Pure: no I/O, no import from the rest of the dashboard but the domain.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from dashboard.domain.clients import as_number, clean_coord, clean_name

__all__ = ["MAX_PLANNED", "MAX_PLANNED_GBPS", "PLANNED_ID_RE", "PlannedPop", "auto_id",
           "check_planned", "check_planned_id", "planned_count_message"]

#: Most planned PoPs in one scenario (docs/planning.md, "Limits").
MAX_PLANNED = 10
#: The catalog's id rule (``dashboard.catalog.POP_ID_RE``; a unit test keeps them equal): ids
#: travel in URLs (``down=JNB``) and API calls.
PLANNED_ID_RE = re.compile(r"^[A-Z0-9]{2,8}$")
#: Largest capacity accepted (Gbps): a typo guard, the same as the scenario's ``MAX_GBPS``.
MAX_PLANNED_GBPS = 1e6


def planned_count_message(n: int, limit: int = MAX_PLANNED) -> str:
    """The one message for too many planned PoPs (shown by every entry point)."""
    return (f"{n} planned access points: at most {limit} per scenario "
            "(docs/planning.md, \"Limits\")")


def check_planned_id(value: object) -> str:
    """``value`` as a planned PoP id (trimmed, upper case); ``ValueError`` with the rule."""
    text = str(value if value is not None else "").strip().upper()
    if not PLANNED_ID_RE.match(text):
        raise ValueError(f"planned access point id {str(value)[:24]!r} must be 2-8 letters or "
                         "digits (e.g. JNB)")
    return text


def _check_capacity(value: object) -> float | None:
    """None, or a capacity in Gbps: a number > 0 and <= :data:`MAX_PLANNED_GBPS`, 6 significant
    digits."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"planned capacity {value!r} is not a number")
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"planned capacity {str(value)[:24]!r} is not a number") from None
    if not math.isfinite(v) or v <= 0 or v > MAX_PLANNED_GBPS:
        raise ValueError(f"planned capacity {v:g} Gbps must be > 0 and <= {MAX_PLANNED_GBPS:g}")
    return float(f"{v:.6g}")


@dataclass(frozen=True)
class PlannedPop:
    """One planned access point. Construction validates and normalises (``ValueError`` names
    the field): ``id`` upper case, ``lat``/``lon`` degrees rounded like a client's, ``name``
    cleaned like a client name, ``capacity_gbps`` None (the default capacity) or Gbps."""

    id: str
    lat: float
    lon: float
    name: str = ""
    capacity_gbps: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "id", check_planned_id(self.id))
        object.__setattr__(self, "lat", clean_coord(as_number(self.lat, "latitude"), "lat"))
        object.__setattr__(self, "lon", clean_coord(as_number(self.lon, "longitude"), "lon"))
        object.__setattr__(self, "name", clean_name(self.name))
        object.__setattr__(self, "capacity_gbps", _check_capacity(self.capacity_gbps))

    @property
    def label(self) -> str:
        """``"JNB (Johannesburg, planned)"`` or ``"JNB (planned)"``."""
        return f"{self.id} ({self.name + ', ' if self.name else ''}planned)"

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"id": self.id, "lat": self.lat, "lon": self.lon}
        if self.name:
            out["name"] = self.name
        if self.capacity_gbps is not None:
            out["capacity_gbps"] = self.capacity_gbps
        return out

    @classmethod
    def from_dict(cls, d: object) -> "PlannedPop":
        """Inverse of :meth:`to_dict`; ``ValueError`` for anything not shaped like it (store and
        imports come from the browser: untrusted)."""
        if not isinstance(d, dict) or not {"id", "lat", "lon"} <= set(d):
            raise ValueError("a planned access point must be an object with id, lat and lon")
        for key in ("lat", "lon"):
            if isinstance(d[key], bool) or not isinstance(d[key], (int, float)):
                raise ValueError(f"planned access point {key} {str(d[key])[:20]!r} is not a "
                                 "number")
        name = d.get("name") or ""
        if not isinstance(name, str):
            raise ValueError("planned access point name must be text")
        return cls(id=d["id"] if isinstance(d["id"], str) else str(d["id"])[:24],
                   lat=d["lat"], lon=d["lon"], name=name, capacity_gbps=d.get("capacity_gbps"))


def check_planned(items: Iterable[object], limit: int = MAX_PLANNED) -> tuple[PlannedPop, ...]:
    """Planned PoPs (instances or their dicts) checked together: at most ``limit`` (counted
    before any is built), ids unique. ``ValueError`` with the message for the user."""
    raw = list(items) if not isinstance(items, (list, tuple)) else items
    if len(raw) > limit:
        raise ValueError(planned_count_message(len(raw), limit))
    out = tuple(p if isinstance(p, PlannedPop) else PlannedPop.from_dict(p) for p in raw)
    seen: set[str] = set()
    for p in out:
        if p.id in seen:
            raise ValueError(f"planned access point id {p.id} is used twice")
        seen.add(p.id)
    return out


def _letters(text: str) -> str:
    """The ASCII letters of ``text`` (accents folded: "São Paulo" -> "SaoPaulo")."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded if ch.isalpha())


def auto_id(name: str, taken: Sequence[str] | set[str]) -> str:
    """An id for a planned PoP that has none: the first three letters of ``name`` (the nearest
    city's name: "Johannesburg" -> "JOH"; IATA-like, not the airport code, which the gazetteer
    does not hold), then with a digit if taken ("JOH2"); "P1", "P2"... without a usable name."""
    taken_set = {t.upper() for t in taken}
    stem = _letters(name).upper()[:3]
    if len(stem) >= 2:
        if stem not in taken_set:
            return stem
        for n in range(2, 100):
            if f"{stem}{n}" not in taken_set:
                return f"{stem}{n}"
    n = 1
    while f"P{n}" in taken_set:
        n += 1
    return f"P{n}"
