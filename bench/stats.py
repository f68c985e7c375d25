"""Percentiles of one run and the median/spread of a figure over repeats."""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), linear between closest ranks."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def latency_ms(latencies_s: Sequence[float]) -> dict[str, float]:
    return {f"p{q}_ms": percentile(latencies_s, q) * 1000 for q in (50, 95, 99)}


def summarize(samples: Sequence[float]) -> dict[str, object]:
    """Median, min, max and spread ((max - min) / median, in %) of one figure's repeats."""
    values = [float(v) for v in samples]
    median = statistics.median(values)
    spread = (max(values) - min(values)) / abs(median) * 100 if median else 0.0
    return {
        "median": median,
        "min": min(values),
        "max": max(values),
        "spread_pct": spread,
        "n": len(values),
        "samples": values,
    }


def ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")
