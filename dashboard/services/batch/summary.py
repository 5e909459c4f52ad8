"""What a batch run did: :class:`Summary` (clients per PoP, anycast RTT percentiles from a 0.01 ms
histogram, mergeable across chunks, worker processes and Dask partitions)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dashboard.domain import paths


#: Histogram of anycast RTTs for the percentiles: 0.01 ms bins up to 10 s (the model's paths
#: are < 1 s; longer ones land in the last bin).
HIST_STEP_MS = 0.01
HIST_BINS = 1_000_000
PERCENTILES = (50, 90, 95, 99)


@dataclass
class Summary:
    """What a run did: clients, routed ones, clients per PoP and a histogram of anycast RTTs
    (ms) for the percentiles. ``merge`` adds another (a Dask partition's)."""

    clients: int = 0
    routed: int = 0
    chunks: int = 0
    per_pop: dict[str, int] = field(default_factory=dict)
    hist: np.ndarray = field(default_factory=lambda: np.zeros(HIST_BINS + 1, dtype=np.int64))
    #: Files of IP addresses: rows per ``geoip_status`` (``ok``, ``unknown``, ``special``...).
    geoip: dict[str, int] = field(default_factory=dict)

    def add(self, out: pd.DataFrame) -> None:
        if "geoip_status" in out.columns:
            st, cnt = np.unique(out["geoip_status"].to_numpy(dtype=object).astype(str),
                                return_counts=True)
            for k, v in zip(st.tolist(), cnt.tolist()):
                self.geoip[k] = self.geoip.get(k, 0) + int(v)
        self.clients += len(out)
        self.chunks += 1
        routed = out["routed"].to_numpy(dtype=bool)
        self.routed += int(routed.sum())
        codes = paths.row_codes(out)
        if codes is not None:  # a route table's own codes: a count of small integers
            by_code = np.bincount(codes.pop[routed], minlength=len(codes.pop_ids))
            counts: Any = {str(codes.pop_ids[i]): by_code[i]
                           for i in np.flatnonzero(by_code).tolist()}.items()
        else:  # a hash count of the few distinct ids (pandas), not a sort of every id string
            counts = pd.Series(out["pop_id"].to_numpy(dtype=object)[routed]).value_counts(
                sort=False).items()
        for i, c in counts:
            self.per_pop[str(i)] = self.per_pop.get(str(i), 0) + int(c)
        ms = out["anycast_ms"].to_numpy(dtype=float)
        ms = ms[np.isfinite(ms)]
        b = np.minimum((ms / HIST_STEP_MS).astype(np.int64), HIST_BINS)
        if len(b):
            part = np.bincount(b)  # up to the largest bin only: a chunk's count stays small
            self._add_hist(part)

    @classmethod
    def chunk(cls) -> "Summary":
        """An empty summary for one chunk: its histogram starts empty and grows to the chunk's
        largest bin (~0.1 MB), instead of 8 MB allocated, zeroed and scanned by
        :meth:`trimmed` per chunk (~3 % of a worker's time in a 2M-row run)."""
        return cls(hist=np.zeros(0, dtype=np.int64))

    def _add_hist(self, part: np.ndarray) -> None:
        if len(part) > len(self.hist):
            grown = np.zeros(len(part), dtype=np.int64)
            grown[:len(self.hist)] = self.hist
            self.hist = grown
        self.hist[:len(part)] += part

    def merge(self, other: "Summary") -> "Summary":
        self.clients += other.clients
        self.routed += other.routed
        self.chunks += other.chunks
        for k, v in other.per_pop.items():
            self.per_pop[k] = self.per_pop.get(k, 0) + v
        self._add_hist(other.hist)  # a worker's may be trimmed (trimmed(), chunk())
        for k, v in other.geoip.items():
            self.geoip[k] = self.geoip.get(k, 0) + v
        return self

    def trimmed(self) -> "Summary":
        """This summary with the histogram cut after its last non-empty bin (the model's RTTs
        are < 1 s: ~0.4 MB instead of 8 MB to send from a worker process)."""
        nz = np.flatnonzero(self.hist)
        self.hist = self.hist[:int(nz[-1]) + 1 if len(nz) else 0].copy()
        return self

    def percentiles(self) -> dict[int, float]:
        """Anycast RTT percentiles (ms, upper edge of the 0.01 ms bin; NaN with no route)."""
        total = int(self.hist.sum())
        if total == 0:
            return {p: float("nan") for p in PERCENTILES}
        cum = np.cumsum(self.hist)
        return {p: round(float(np.searchsorted(cum, p / 100 * total) + 1) * HIST_STEP_MS, 2)
                for p in PERCENTILES}

    def text(self) -> str:
        """The summary for stderr: clients per PoP (most first) and the percentiles."""
        lines = []
        if self.geoip:
            bad = {k: v for k, v in self.geoip.items() if k != "ok"}
            lines.append(f"IP addresses located: {self.geoip.get('ok', 0):,} of {self.clients:,}"
                         + (" (not located: " + ", ".join(f"{k} {v:,}" for k, v in
                                                          sorted(bad.items())) + "; see the "
                            "geoip_status and geoip_message columns)" if bad else ""))
        lines.append(f"clients per access point ({self.routed:,} routed of {self.clients:,}):")
        for pid, c in sorted(self.per_pop.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"  {pid:<6} {c:>12,}  {100 * c / max(self.clients, 1):5.1f} %")
        pct = self.percentiles()
        lines.append("anycast RTT (modelled, ms): " + ", ".join(
            f"p{p} {v:.2f}" for p, v in pct.items()))
        return "\n".join(lines)
