"""Why a client lands on a PoP: the support engineer's explanation, as data and plain sentences.

Input is the ranking of :func:`dashboard.domain.paths.rank_pops` (every PoP, healthy ones ranked
by WGS84 geodesic km, down ones flagged). Units: km and ms.

With an announcement bias (a ``bias_ms`` column, :mod:`dashboard.domain.bias`) the ranking's own
order (its ``rank``) decides, and when the bias changed the answer a sentence says so: which
access point would have been chosen without it and the biases involved.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dashboard.domain.policy import GEOGRAPHIC, NETWORK, flag_phrase, flagged

#: Below this distance to the chosen access point (km) the runner-up's margin is given in km
#: only: a percentage of a near-zero distance is meaningless (a client 40 m from its PoP once
#: read "894 km (22411590 %) farther").
MARGIN_PCT_MIN_KM = 50.0
#: An observed entry point at most this much slower than the model's choice (modelled RTT, ms)
#: is not a likely cause of a latency complaint; above it, it is.
DETOUR_CAUSE_MS = 10.0

BGP_NOTE = ("Real anycast follows BGP routes, not geography: an ISP's routing policy or peering "
            "can make a user enter at a farther access point than the nearest one.")


@dataclass(frozen=True)
class Explanation:
    """The facts behind one client's assignment and the sentences that state them."""

    chosen: str | None
    chosen_km: float
    runner_up: str | None
    margin_km: float
    margin_pct: float
    skipped_down: tuple[str, ...]
    observed: str | None = None
    detour_km: float = float("nan")
    detour_ms: float = float("nan")
    sentences: tuple[str, ...] = field(default_factory=tuple)
    #: The sentences about the choice itself: ``sentences`` without the observed entry point's
    #: line and the BGP note (the support panel shows those apart).
    facts: tuple[str, ...] = field(default_factory=tuple)
    #: Modelled RTT via the chosen access point (ms; NaN when its endpoint is down).
    chosen_ms: float = float("nan")
    #: The runner-up is close enough that small routing differences can flip the choice.
    near_tie: bool = False


def margin_text(margin_km: float, chosen_km: float, margin_pct: float) -> str:
    """The runner-up's margin as shown: "894 km (12 %)", or "894 km" when the chosen access
    point is under :data:`MARGIN_PCT_MIN_KM` away (a percentage of ~0 km means nothing); "–"
    when there is no runner-up."""
    if not np.isfinite(margin_km):
        return "–"
    if not np.isfinite(chosen_km) or chosen_km < MARGIN_PCT_MIN_KM or not np.isfinite(margin_pct):
        return f"{margin_km:,.0f} km"
    return f"{margin_km:,.0f} km ({margin_pct:.0f} %)"


def conclusion(ex: Explanation, origins: dict[str, str] | None = None) -> str:
    """One plain sentence a support engineer can act on. With an observed entry point recorded:
    is the entry point the cause (its modelled RTT versus the model's choice, see
    :data:`DETOUR_CAUSE_MS`)? Without: where the client is expected to enter and how sure that
    is. ``origins``: access point id -> the region of the endpoint its traffic goes to."""
    origins = origins or {}

    def to(*pops: str) -> str:
        regions = {origins.get(p) for p in pops}
        return f" to {regions.pop()}" if len(regions) == 1 and None not in regions else ""

    chosen, observed = ex.chosen, ex.observed
    if chosen is None:
        return "Every access point is down: this client has no route, whatever BGP does."
    if observed is not None and observed == chosen:
        return (f"The client enters at {chosen}, as modelled: the entry PoP is not the cause; "
                "look at the client's access network or the origin.")
    if observed is not None:
        d = ex.detour_ms
        if not np.isfinite(d):
            return (f"No modelled RTT to compare {observed} with {chosen} (an endpoint or the "
                    "access point is down here): check the endpoints first.")
        if d < 0:
            return (f"{observed} is modelled {-d:.0f} ms faster than {chosen}{to(observed, chosen)}: "
                    "the entry PoP is not the cause.")
        if d <= DETOUR_CAUSE_MS:
            return (f"{observed} is modelled only {d:.0f} ms slower than {chosen}"
                    f"{to(observed, chosen)}: the entry PoP is not the cause.")
        return (f"{observed} is modelled {d:.0f} ms slower than {chosen}{to(observed, chosen)}: "
                "the entry PoP is a likely cause (BGP sends this client past a nearer access "
                "point; ask its ISP about the route).")
    if not np.isfinite(ex.chosen_ms):
        return (f"The client should enter at {chosen}, but that access point's endpoint is down: "
                "it is unserved (no failover between endpoints).")
    head = f"Expect entry at {chosen}, modelled {ex.chosen_ms:.0f} ms{to(chosen)}"
    if ex.runner_up is None:
        return head + "."
    if ex.near_tie:
        return head + f"; {ex.runner_up} is a near tie, so BGP may send it there instead."
    return head + f", with a clear margin over {ex.runner_up}."


def explain(ranking: pd.DataFrame, observed: str | None = None,
            names: dict[str, str] | None = None, policy: str = "geographic") -> Explanation:
    """Explain the choice in ``ranking``; ``observed`` is the PoP the user was seen entering at
    (e.g. from a traceroute), whose extra distance and modelled RTT versus the nearest is reported.
    ``policy`` (:mod:`dashboard.domain.policy`): ``network`` explains the choice by the lowest
    modelled internet leg instead of the distance; under ``geographic`` a flagged client (its
    network-nearest PoP's internet leg > 30 ms shorter) gets a sentence naming that PoP.
    """
    names = names or {}

    def label(pid: str) -> str:
        return f"{names[pid]} ({pid})" if pid in names else pid

    plain_up = ranking[ranking["up"]].sort_values("distance_km", kind="stable")
    has_bias = "bias_ms" in ranking.columns and bool((ranking["bias_ms"] != 0).any())
    up = ranking[ranking["up"]].sort_values("rank", kind="stable") if has_bias else plain_up
    down_rows = ranking[~ranking["up"]]
    if observed is not None and observed not in set(ranking["pop_id"]):
        raise KeyError(f"unknown access point id {observed!r}")
    sentences: list[str] = []
    if up.empty:
        sentences.append("Every access point is down: this client has no route to the Anycast EIP.")
        return Explanation(None, float("nan"), None, float("nan"), float("nan"),
                           tuple(down_rows["pop_id"]), observed, sentences=tuple(sentences),
                           facts=tuple(sentences))
    first = up.iloc[0]
    chosen, chosen_km = str(first["pop_id"]), float(first["distance_km"])
    nearer_down = tuple(down_rows[down_rows["distance_km"] < chosen_km]["pop_id"])
    plain_net = plain_up.sort_values(["internet_ms", "distance_km"], kind="stable")
    by_net = up if has_bias else plain_net
    if policy == NETWORK:
        return _explain_network(by_net, down_rows, observed, label,
                                _bias_sentence(by_net, plain_net, label) if has_bias else "")
    net = by_net.iloc[0]
    what = "nearest" if not has_bias else "preferred (distance + bias)"
    sentences.append(f"{label(chosen)} is the {what} healthy access point, {chosen_km:,.0f} km "
                     f"away (modelled RTT {first['anycast_ms']:.0f} ms to the origin)."
                     if np.isfinite(first["anycast_ms"]) else
                     f"{label(chosen)} is the {what} healthy access point, {chosen_km:,.0f} km "
                     "away, but its endpoint is down: traffic is not rerouted to another endpoint.")
    if has_bias and (text := _bias_sentence(up, plain_up, label)):
        sentences.append(text)
    if nearer_down:
        sentences.append("Nearer but down: " + ", ".join(label(p) for p in nearer_down) + ".")
    gap = float(first["internet_ms"] - net["internet_ms"])
    if has_bias:  # BGP sees the bias too: the gap in preference ms (policy.network_ranking)
        gap = float(first["internet_ms"] + first["bias_ms"] - net["internet_ms"]
                    - net["bias_ms"])
    if bool(flagged(GEOGRAPHIC, gap)):
        sentences.append(f"{flag_phrase(label(str(net['pop_id'])))}: its "
                         f"modelled internet leg is {gap:.0f} ms shorter "
                         f"({net['internet_ms']:.0f} vs {first['internet_ms']:.0f} ms; the "
                         "Network routing policy sends it there).")
    runner, margin_km, margin_pct, near_tie = None, float("nan"), float("nan"), False
    if len(up) > 1:
        second = up.iloc[1]
        runner = str(second["pop_id"])
        margin_km = float(second["distance_km"]) - chosen_km
        with_bias = ""
        if has_bias and "bias_km" in up.columns:  # the margin the ranking saw: km + bias km
            extra = float(second["bias_km"]) - float(first["bias_km"])
            if extra:
                margin_km += extra
                with_bias = " counting the announcement bias"
        margin_pct = 100.0 * margin_km / chosen_km if chosen_km > 0 else float("inf")
        near_tie = bool(margin_km < 100 or margin_pct < 10)
        closeness = ("a near tie: small routing differences can flip it"
                     if near_tie else "a clear margin")
        sentences.append(f"Runner-up: {label(runner)}, {margin_km:,.0f} km farther{with_bias} "
                         f"({closeness}).")
    facts = tuple(sentences)
    detour_km, detour_ms = _observed_detour(
        ranking[ranking["pop_id"] == observed].iloc[0] if observed not in (None, chosen) else None,
        observed, chosen, chosen_km, first, label, sentences)
    return Explanation(chosen, chosen_km, runner, margin_km, margin_pct, nearer_down, observed,
                       detour_km, detour_ms, tuple(sentences), facts,
                       float(first["anycast_ms"]), near_tie)


def _bias_sentence(up: pd.DataFrame, plain: pd.DataFrame, label: Any) -> str:
    """The sentence saying the announcement bias changed the answer ("" when it did not):
    ``up`` the healthy PoPs in the biased order, ``plain`` in the order without a bias."""
    chosen, would = str(up.iloc[0]["pop_id"]), str(plain.iloc[0]["pop_id"])
    if chosen == would:
        return ""
    ms = dict(zip(up["pop_id"], up["bias_ms"]))
    parts = [f"{p} {ms[p]:+g} ms" for p in (would, chosen) if ms.get(p, 0)]
    return (f"The announcement bias changed the answer ({', '.join(parts)}): without it the "
            f"client would enter at {label(would)}. A bias changes route selection only; the "
            "RTTs shown are the real ones (docs/bias.md).")


def _explain_network(up: pd.DataFrame, down_rows: pd.DataFrame, observed: str | None,
                     label, bias_text: str = "") -> Explanation:
    """:func:`explain` under the network policy: ``up`` holds the healthy PoPs by internet leg
    (with a bias: by internet leg + bias; ``bias_text`` says whether it changed the answer)."""
    first = up.iloc[0]
    chosen, chosen_km = str(first["pop_id"]), float(first["distance_km"])
    chosen_ms = float(first["internet_ms"])
    faster_down = tuple(down_rows[down_rows["internet_ms"] < chosen_ms]["pop_id"])
    lowest = ("lowest modelled internet RTT" if not bias_text
              else "lowest modelled internet RTT + announcement bias")
    sentences = [f"{label(chosen)} has the {lowest} of the healthy access "
                 f"points, {chosen_ms:.0f} ms ({chosen_km:,.0f} km away; Network routing policy)"
                 + (f"; modelled RTT {first['anycast_ms']:.0f} ms to the origin."
                    if np.isfinite(first["anycast_ms"]) else
                    ", but its endpoint is down: traffic is not rerouted to another endpoint.")]
    if bias_text:
        sentences.append(bias_text)
    if faster_down:
        sentences.append("Faster but down: " + ", ".join(label(p) for p in faster_down) + ".")
    runner, margin_km, margin_pct, near_tie = None, float("nan"), float("nan"), False
    if len(up) > 1:
        second = up.iloc[1]
        runner = str(second["pop_id"])
        margin_km = float(second["distance_km"]) - chosen_km
        margin_pct = 100.0 * margin_km / chosen_km if chosen_km > 0 else float("inf")
        margin_ms = float(second["internet_ms"]) - chosen_ms
        if "bias_ms" in up.columns:  # the margin the ranking saw (preference ms)
            margin_ms += float(second["bias_ms"]) - float(first["bias_ms"])
        near_tie = bool(margin_ms < 5)
        closeness = ("a near tie: small routing differences can flip it" if near_tie
                     else "a clear margin")
        sentences.append(f"Runner-up: {label(runner)}, {margin_ms:.0f} ms slower on the internet "
                         f"leg ({closeness}).")
    facts = tuple(sentences)
    obs = None
    if observed is not None and observed != chosen:
        obs = down_rows[down_rows["pop_id"] == observed]
        obs = obs.iloc[0] if len(obs) else up[up["pop_id"] == observed].iloc[0]
    detour_km, detour_ms = _observed_detour(obs, observed, chosen, chosen_km, first, label,
                                            sentences)
    return Explanation(chosen, chosen_km, runner, margin_km, margin_pct, (), observed,
                       detour_km, detour_ms, tuple(sentences), facts,
                       float(first["anycast_ms"]), near_tie)


def _observed_detour(obs: pd.Series | None, observed: str | None, chosen: str,
                     chosen_km: float, first: pd.Series, label: Any,
                     sentences: list[str]) -> tuple[float, float]:
    """(extra km, extra modelled ms) of the observed entry point ``obs`` (its ranking row; None
    when nothing was observed or it is the chosen one) over the chosen one, in km and ms; the
    sentence saying so (or that it matches the model) and the BGP note go to ``sentences``."""
    detour_km = detour_ms = float("nan")
    if obs is not None:
        detour_km = float(obs["distance_km"]) - chosen_km
        detour_ms = float(obs["anycast_ms"] - first["anycast_ms"])
        state = "" if bool(obs["up"]) else " (marked down here)"
        sentences.append(f"Observed entry at {label(observed)}{state}: {detour_km:,.0f} km farther "
                         f"than {chosen}, costing about {detour_ms:+.0f} ms of modelled RTT.")
    elif observed is not None and observed == chosen:
        sentences.append(f"The observed entry point {label(observed)} matches the model.")
    sentences.append(BGP_NOTE)
    return detour_km, detour_ms
