"""Monthly cost estimate of one Anycast EIP on pay-by-data-transfer (issue 15).

Billing as documented: an **instance fee** plus **per-GB fees on the dominant direction** of the
traffic: an internet-traffic fee that varies by **access area** (where the traffic enters or
leaves Alibaba's network: the area of the PoP) and a data-transfer fee to the origin. No public
price table could be found offline, so this module ships **no price**: every price is an input
(any currency, the same for all of them), and a price left empty leaves the total incomplete.

Units: demand in Gbps (decimal: 1 Gbps = 0.125 GB/s); volume in GB (10^9 bytes) per month of
:data:`DAYS_PER_MONTH` days; prices per GB and per month. The demand is read as the **peak** (or
planning) rate on the dominant direction; ``utilisation`` (0-1] is the average rate over the
month divided by it, so GB/month = Gbps x utilisation x 0.125 x seconds per month.

Pure: no I/O, no import from the rest of dashboard.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

DAYS_PER_MONTH = 30
SECONDS_PER_MONTH = DAYS_PER_MONTH * 86_400
GB_PER_GBIT = 0.125
#: Access areas (the catalog's ``area`` of a PoP) and the short keys links and inputs use.
AREA_KEYS = {"Asia Pacific": "ap", "North America": "na", "South America": "sa",
             "Europe": "eu", "Australia": "au"}
#: Non-area inputs: the instance fee per month, the data-transfer fee to the origin per GB and
#: the average utilisation (0-1].
INSTANCE, TRANSFER, UTILISATION = "instance", "transfer", "util"
COST_KEYS = (INSTANCE, TRANSFER, UTILISATION) + tuple(AREA_KEYS.values())
#: Largest price accepted (a typo guard, not a limit of any price list).
MAX_PRICE = 1e9


def check_cost_value(key: str, value: object) -> float:
    """A cost input: a finite number >= 0 (``util``: in (0, 1]); ``ValueError`` otherwise."""
    if key not in COST_KEYS:
        raise ValueError(f"unknown cost input {str(key)[:24]!r} (use {', '.join(COST_KEYS)})")
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"cost input {key}: {str(value)[:24]!r} is not a number") from None
    if key == UTILISATION:
        if not (math.isfinite(v) and 0 < v <= 1):
            raise ValueError(f"average utilisation {v:g} must be > 0 and <= 1 (100 %)")
    elif not (math.isfinite(v) and 0 <= v <= MAX_PRICE):
        raise ValueError(f"price {key} {v:g} must be a number >= 0")
    return float(f"{v:.6g}")


def gb_per_month(gbps: float, utilisation: float = 1.0) -> float:
    """Volume (GB) of ``gbps`` at an average of ``utilisation`` of it over a month."""
    return float(gbps) * utilisation * GB_PER_GBIT * SECONDS_PER_MONTH


@dataclass(frozen=True)
class CostLine:
    """One line of the estimate: what, GB/month (None for the instance fee), unit price (None:
    not entered), cost (None: price not entered)."""

    label: str
    gb: float | None
    price: float | None
    cost: float | None


@dataclass(frozen=True)
class CostEstimate:
    """The estimate's lines, its total over the lines that have a price, whether every price
    needed was entered, and the utilisation used."""

    lines: tuple[CostLine, ...]
    total: float
    complete: bool
    utilisation: float
    missing: tuple[str, ...]


def estimate(gbps_by_area: Mapping[str, float], prices: Mapping[str, float]) -> CostEstimate:
    """Monthly cost of ``gbps_by_area`` (access area name -> Gbps on the dominant direction,
    served demand) under ``prices`` (keys of :data:`COST_KEYS`; missing = not entered).

    Internet traffic: one line per access area with demand, GB x that area's price. Data
    transfer to the origin: the total GB x the transfer price. Instance fee: as entered. Areas
    without demand need no price."""
    util = float(prices.get(UTILISATION, 1.0))
    lines: list[CostLine] = []
    missing: list[str] = []
    total_gb = 0.0
    for area, key in AREA_KEYS.items():
        gbps = float(gbps_by_area.get(area, 0.0))
        if gbps <= 0:
            continue
        gb = gb_per_month(gbps, util)
        total_gb += gb
        price = prices.get(key)
        if price is None:
            missing.append(f"internet traffic price for {area}")
        lines.append(CostLine(f"Internet traffic, {area}", gb, price,
                              None if price is None else gb * price))
    transfer = prices.get(TRANSFER)
    if total_gb > 0:
        if transfer is None:
            missing.append("data transfer price to the origin")
        lines.append(CostLine("Data transfer to the origin", total_gb, transfer,
                              None if transfer is None else total_gb * transfer))
    fee = prices.get(INSTANCE)
    if fee is None:
        missing.append("instance fee")
    lines.append(CostLine("Instance fee (per month)", None, fee, fee))
    total = sum(ln.cost for ln in lines if ln.cost is not None)
    return CostEstimate(tuple(lines), total, not missing, util, tuple(missing))
