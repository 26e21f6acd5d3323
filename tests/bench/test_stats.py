"""Latency statistics against an independent reference: the standard library's statistics module."""
import random
import statistics

import pytest

from edge_saliency.bench.stats import latency_stats, throughput
from edge_saliency.errors import UserError


def reference(samples):
    """mean, p50, p90, p99, min, max, std with statistics.quantiles' "inclusive" method (linear between ranks)."""
    cuts = statistics.quantiles(samples, n=100, method="inclusive")  # cuts[k-1] is the k-th percentile
    return {"mean": statistics.fmean(samples), "p50": cuts[49], "p90": cuts[89], "p99": cuts[98],
            "min": min(samples), "max": max(samples), "std": statistics.stdev(samples)}


def test_one_to_ten_by_hand():
    stats = latency_stats(range(1, 11))
    # ranks h = 9q: p50 at 4.5 -> 5.5, p90 at 8.1 -> 9.1, p99 at 8.91 -> 9.91
    assert stats["p50"] == pytest.approx(5.5)
    assert stats["p90"] == pytest.approx(9.1)
    assert stats["p99"] == pytest.approx(9.91)
    assert (stats["min"], stats["max"], stats["mean"], stats["n"]) == (1.0, 10.0, 5.5, 10)
    assert stats["std"] == pytest.approx(3.0276503540974917)


@pytest.mark.parametrize("seed,n", [(0, 7), (1, 100), (2, 1000), (3, 2)])
def test_matches_the_standard_library_on_skewed_samples(seed, n):
    rng = random.Random(seed)
    samples = [20.0 + rng.lognormvariate(0.0, 1.0) * 5.0 for _ in range(n)]  # a long tail, like latencies
    got = latency_stats(samples)
    for key, value in reference(samples).items():
        assert got[key] == pytest.approx(value, rel=1e-12, abs=1e-12), key


def test_order_does_not_matter_and_one_sample_has_no_spread():
    assert latency_stats([3.0, 1.0, 2.0]) == latency_stats([1.0, 2.0, 3.0])
    one = latency_stats([4.2])
    assert one["p50"] == one["p99"] == one["min"] == one["max"] == 4.2 and one["std"] == 0.0


@pytest.mark.parametrize("bad", [[], [1.0, float("nan")], [-1.0, 2.0]])
def test_bad_samples_are_one_clear_error(bad):
    with pytest.raises(UserError):
        latency_stats(bad)


def test_throughput():
    assert throughput(40, 2.0) == 20.0
    assert throughput(10, 0.0) is None
