"""Public import path for the latency model (see :mod:`dashboard.domain.latency`)."""

from dashboard.domain.latency import (
    backbone_rtt_ms,
    floor_rtt_ms,
    internet_rtt_band_ms,
    internet_rtt_ms,
)

__all__ = ["backbone_rtt_ms", "floor_rtt_ms", "internet_rtt_band_ms", "internet_rtt_ms"]
