"""Latency statistics from timed samples.

Percentiles use linear interpolation between the two nearest ranks (numpy's default, also
``statistics.quantiles(method="inclusive")``): for n sorted samples x[0..n-1], the q-th percentile is at rank
h = (n − 1)·q/100, i.e. x[⌊h⌋] + (h − ⌊h⌋)·(x[⌊h⌋+1] − x[⌊h⌋]). With few samples the high percentiles sit
between the largest ones (p99 of 10 samples is 0.91 of the way from the 9th to the 10th): the result records
the sample count beside them. ``std`` is the sample standard deviation (n − 1), 0 for one sample.
"""
from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np

from ..errors import UserError

PERCENTILES = (50, 90, 99)
STAT_KEYS = ("mean", "p50", "p90", "p99", "min", "max", "std")


def latency_stats(samples_ms: Sequence[float]) -> Dict[str, float]:
    """mean, p50, p90, p99, min, max, std (ms) and ``n`` of the samples (milliseconds)."""
    values = np.asarray(list(samples_ms), dtype=np.float64)
    if values.size == 0:
        raise UserError("no timing samples: give --iterations 1 or more")
    if not np.all(np.isfinite(values)) or values.min() < 0:
        raise UserError("timing samples must be finite and non-negative")
    p50, p90, p99 = np.percentile(values, PERCENTILES)
    return {
        "mean": float(values.mean()), "p50": float(p50), "p90": float(p90), "p99": float(p99),
        "min": float(values.min()), "max": float(values.max()),
        "std": float(values.std(ddof=1)) if values.size > 1 else 0.0, "n": int(values.size),
    }


def throughput(frames: int, seconds: float) -> Optional[float]:
    """Frames per second: ``frames`` processed in ``seconds`` of wall time (None for no time)."""
    return frames / seconds if seconds > 0 else None


def stage_stats(times: Mapping[str, Optional[List[float]]],
                names: Sequence[str]) -> Dict[str, Optional[Dict[str, float]]]:
    """:func:`latency_stats` in ms of each stage ``names`` lists, from its samples in seconds (None for a stage
    without samples: not timed, or not exposed separately by the backend)."""
    out: Dict[str, Optional[Dict[str, float]]] = {}
    for name in names:
        values = times.get(name)
        out[name] = latency_stats([v * 1000.0 for v in values]) if values else None
    return out
