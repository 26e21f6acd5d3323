"""The Prometheus text exposition format (version 0.0.4), written by hand: a few counters, gauges and one
histogram family need no client library on the board (``prometheus_client`` parses it in the tests).

Format: ``# HELP`` and ``# TYPE`` lines, then one ``name{label="value"} number`` line per sample; a histogram
has cumulative ``_bucket`` samples with an ``le`` label ending at ``+Inf``, then ``_sum`` and ``_count``.
"""
import bisect
import math
from typing import Dict, List, Optional, Sequence, Tuple

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# seconds: from a fast TensorRT stage (1 ms) to a heavy model on a CPU (10 s)
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


def _labels(labels: Optional[Dict[str, str]]) -> str:
    if not labels:
        return ""
    escaped = ('{}="{}"'.format(k, str(v).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"'))
               for k, v in labels.items())
    return "{" + ",".join(escaped) + "}"


class Histogram:
    """Cumulative buckets of observed values (not thread-safe: the caller holds its lock)."""

    def __init__(self, buckets: Sequence[float] = LATENCY_BUCKETS) -> None:
        self.bounds = tuple(buckets)
        self.counts = [0] * (len(self.bounds) + 1)  # the last one: above every bound (+Inf)
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.sum += value
        self.count += 1

    def cumulative(self) -> List[Tuple[float, int]]:
        total, rows = 0, []
        for bound, count in zip(self.bounds + (math.inf,), self.counts):
            total += count
            rows.append((bound, total))
        return rows


class Exposition:
    """Metric families in order, rendered with :meth:`text`."""

    def __init__(self) -> None:
        self._lines: List[str] = []

    def _head(self, name: str, kind: str, help_text: str) -> None:
        self._lines += ["# HELP {} {}".format(name, help_text.replace("\\", "\\\\").replace("\n", "\\n")),
                        "# TYPE {} {}".format(name, kind)]

    def sample(self, name: str, kind: str, help_text: str, values: Sequence[Tuple[Optional[Dict[str, str]], float]]
               ) -> None:
        """A counter (``name`` ends in ``_total``) or a gauge, one value per label set."""
        self._head(name, kind, help_text)
        self._lines += ["{}{} {}".format(name, _labels(labels), _number(value)) for labels, value in values]

    def histogram(self, name: str, help_text: str, values: Sequence[Tuple[Dict[str, str], Histogram]]) -> None:
        self._head(name, "histogram", help_text)
        for labels, histogram in values:
            for bound, count in histogram.cumulative():
                self._lines.append("{}_bucket{} {}".format(name, _labels(dict(labels, le=_number(bound))), count))
            self._lines.append("{}_sum{} {}".format(name, _labels(labels), _number(histogram.sum)))
            self._lines.append("{}_count{} {}".format(name, _labels(labels), histogram.count))

    def text(self) -> str:
        return "\n".join(self._lines) + "\n"
