"""Latency statistics: medians and nearest-rank percentiles, in milliseconds."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from benchmarks.report import Json


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile: the smallest sample with at least `fraction` of the samples at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


@dataclass(frozen=True)
class Latency:
    samples: int
    median_ms: float
    p99_ms: float

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Latency:
        if not seconds:
            raise ValueError("no samples")
        return cls(len(seconds), statistics.median(seconds) * 1000, percentile(seconds, 0.99) * 1000)

    def as_json(self) -> dict[str, Json]:
        return {"samples": self.samples, "median_ms": round(self.median_ms, 3), "p99_ms": round(self.p99_ms, 3)}


def ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else math.inf
