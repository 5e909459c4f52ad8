"""Announcement what-ifs (issue 20, part 3): a per-access-point *bias*, in ms of preference.

What it models: the traffic engineering an anycast **operator** performs on its announcements --
AS-path prepending, announcing a prefix from fewer PoPs (selective announcement), BGP
communities that lower the local preference of a route at some peers. A customer of Anycast EIP
cannot set any of this (docs/bias.md); the what-if asks "if the provider made FRA's route less
(or more) attractive, where would its clients go?".

Semantics (one rule for every view; docs/bias.md):

* A **positive** bias is a prepend-like penalty: to *route selection*, the PoP looks that many
  ms worse. A **negative** bias is a bonus. 0 is exactly no bias (the canonical form drops it).
* It changes **selection only**. The RTT a client then gets is the real modelled RTT via the
  PoP it lands on; the bias is never added to a reported RTT.
* ``network`` policy (ranks by modelled internet RTT): the bias is added to the ranking matrix,
  in ms of the data-centre internet leg -- an end-user leg is ``a + f x`` the data-centre one
  (:func:`dashboard.domain.latency.access_rtt_ms`), so the bias counts ``f x bias`` there and
  the access type still never reorders a client's PoPs (:mod:`dashboard.domain.access`).
* ``geographic`` policy (ranks by distance): the bias becomes an equivalent distance with the
  latency model's own slope, :func:`dashboard.domain.latency.km_per_rtt_ms` (~47 km per ms with
  the fitted model), added to that PoP's distance in the ranking.
* Landing probabilities (:mod:`dashboard.domain.catchment`, learned from measured catchments,
  score candidates from their distances): the same equivalent distance is added to that PoP's
  distance before the model's features are computed (clamped at 0 km), so a penalty lowers its
  score in the model's own units and a bonus raises it.
* Withdrawing a PoP's route is marking it down, as before; a bias never withdraws it.

Bounds: :data:`MIN_MS` .. :data:`MAX_MS` per PoP (a typo guard: beyond ~100 ms a penalty has
moved every client it can), at most :data:`MAX_ENTRIES` entries, ms kept to 0.1 ms. Ids must be
access points the catalog has (checked where the catalog is known: the scenario's
``unknown_ids``, the link parser, the API and the CLI).

Pure: numpy only, no I/O.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np

#: Bounds of one PoP's bias, ms (entry points refuse values outside with a message).
MIN_MS = -100.0
MAX_MS = 100.0
#: The capacity view's sliders: range and step, ms (the link, the API and the CLI accept the
#: full :data:`MIN_MS`..:data:`MAX_MS`; the slider then shows its end).
SLIDER_MIN_MS = -50
SLIDER_MAX_MS = 50
SLIDER_STEP_MS = 5
#: Most PoPs a bias may name (a catalog has a few dozen; bounds the work of a hostile input).
MAX_ENTRIES = 64
#: Where the semantics are documented (cited by every view that mentions a bias).
DOC_REF = "docs/bias.md"

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,31}$")

Bias = tuple[tuple[str, float], ...]


def _clip(value: object, n: int = 24) -> str:
    text = repr(value)
    return text if len(text) <= n else text[: n - 1] + "…"


def check_ms(value: object, pop: str = "") -> float:
    """One bias value in ms: a finite number in [:data:`MIN_MS`, :data:`MAX_MS`], rounded to
    0.1 ms (text such as ``"+20"`` accepted); ``ValueError`` naming the PoP and the bounds."""
    what = f"bias of {pop}" if pop else "bias"
    if isinstance(value, bool):
        raise ValueError(f"{what} {_clip(value)} is not a number of ms")
    try:
        v = float(value.strip() if isinstance(value, str) else value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{what} {_clip(value)} is not a number of ms") from None
    if not math.isfinite(v) or not MIN_MS <= v <= MAX_MS:
        raise ValueError(f"{what} {_clip(value)} ms is outside {MIN_MS:+.0f}..{MAX_MS:+.0f} ms")
    v = round(v, 1)
    return 0.0 if v == 0 else v


def check_id(value: object) -> str:
    """An access point id (upper case); ``ValueError`` otherwise."""
    text = str(value).strip().upper() if isinstance(value, str) else ""
    if not _ID_RE.match(text):
        raise ValueError(f"bias: {_clip(value)} is not an access point id")
    return text


def canonical(items: Mapping[str, object] | Iterable[object] | None,
              pop_ids: Sequence[str] | None = None) -> Bias:
    """The one validator: ``((pop id, ms), ...)`` sorted by id, zeros dropped (bias 0 == no
    bias), from a mapping or ``(id, ms)`` pairs. ``pop_ids`` given: an id not in it is refused.
    ``ValueError`` names the first problem (bad id, unknown id, value out of bounds, a PoP named
    twice, too many entries)."""
    if items is None:
        return ()
    pairs = list(items.items()) if isinstance(items, Mapping) else list(items)
    if len(pairs) > MAX_ENTRIES:
        raise ValueError(f"bias names {len(pairs):,} access points; at most {MAX_ENTRIES}")
    out: dict[str, float] = {}
    for item in pairs:
        try:
            pid, ms = item  # type: ignore[misc]
        except (TypeError, ValueError):
            raise ValueError(f"bias: {_clip(item)} is not an (access point, ms) pair") from None
        pid = check_id(pid)
        if pop_ids is not None and pid not in pop_ids:
            raise ValueError(f"bias: unknown access point {pid}")
        if pid in out:
            raise ValueError(f"bias: access point {pid} is named twice")
        out[pid] = check_ms(ms, pid)
    return tuple(sorted((p, v) for p, v in out.items() if v != 0))


def parse_text(text: object, pop_ids: Sequence[str] | None = None) -> Bias:
    """``"FRA:+20,LHR:-10"`` (the link's, the API's and the CLI's form) -> :func:`canonical`;
    ``ValueError`` names the first bad piece. Empty text is no bias."""
    if not isinstance(text, str):
        raise ValueError("bias must be text like FRA:+20,LHR:-10")
    if len(text) > MAX_ENTRIES * 16:
        raise ValueError(f"bias is {len(text):,} characters long; at most {MAX_ENTRIES * 16}")
    pairs = []
    for piece in text.split(","):
        if not piece.strip():
            continue
        pid, sep, ms = piece.partition(":")
        if not sep:
            raise ValueError(f"bias {_clip(piece.strip())} is not POP:ms (e.g. FRA:+20)")
        pairs.append((pid, ms))
    return canonical(pairs, pop_ids)


def format_text(bias: Bias) -> str:
    """``"FRA:+20,LHR:-10"``: the inverse of :func:`parse_text` (0.1 ms kept)."""
    return ",".join(f"{p}:{ms:+g}" for p, ms in bias)


def describe(bias: Bias) -> str:
    """``"FRA +20 ms, LHR −10 ms"`` for notices and the explain panel ("" for none)."""
    return ", ".join(f"{p} {ms:+g} ms".replace("-", "−") for p, ms in bias)


def unknown(bias: Bias, pop_ids: Sequence[str]) -> list[str]:
    """Ids ``bias`` names that ``pop_ids`` lacks."""
    have = set(pop_ids)
    return [p for p, _ in bias if p not in have]


@dataclass(frozen=True)
class PopBias:
    """A bias bound to a PoP list and a latency model: what the ranking code reads.

    ``ms`` (m,): bias per PoP in catalog order (ms, 0 where none); ``km_per_ms``: the model's
    slope (:func:`dashboard.domain.latency.km_per_rtt_ms`); ``leg_factor``: how many ms of the
    scenario's internet leg one ms of data-centre leg is (the end-user ``access_factor``, else 1;
    module docstring)."""

    ms: np.ndarray
    km_per_ms: float
    leg_factor: float = 1.0

    @property
    def km(self) -> np.ndarray:
        """Equivalent distance per PoP, km (geographic policy, landing model)."""
        return self.ms * self.km_per_ms

    @property
    def leg_ms(self) -> np.ndarray:
        """Preference offset per PoP in ms of the scenario's internet leg (network policy)."""
        return self.ms * self.leg_factor


def bind(bias: Bias, pop_ids: Sequence[str], km_per_ms: float,
         leg_factor: float = 1.0) -> PopBias | None:
    """:class:`PopBias` of ``bias`` over ``pop_ids`` (ids not in it ignored: the callers check
    them first), or None when no PoP of the list has a bias -- the callers then take exactly
    the code path they take without one."""
    index = {p: i for i, p in enumerate(pop_ids)}
    ms = np.zeros(len(pop_ids))
    for pid, v in bias:
        if pid in index:
            ms[index[pid]] = float(v)
    if not ms.any():
        return None
    if not (math.isfinite(km_per_ms) and km_per_ms > 0):
        raise ValueError(f"km per ms must be a positive number, got {km_per_ms!r}")
    ms.flags.writeable = False
    return PopBias(ms, float(km_per_ms), float(leg_factor))
