"""Comparing runners: the same inputs through several runners, each output against the first within a tolerance."""
import dataclasses
from typing import List, Optional, Sequence, Tuple

import numpy as np

from ..errors import InputShapeError, UserError
from ..vocabulary import Tolerance, tolerance_for
from .base import Runner


@dataclasses.dataclass
class Comparison:
    reference: str
    other: str
    max_abs: float
    mean_abs: float
    tolerance: Tolerance
    worst_excess: float  # max over elements of |a − b| − (atol + rtol·|a|); <= 0 when within tolerance

    @property
    def ok(self) -> bool:
        """True when every output was within the tolerance."""
        return self.worst_excess <= 0.0

    def __str__(self) -> str:
        return "{} vs {}: max |diff| {:.2e}, mean {:.2e} (atol {:.0e}, rtol {:.0e}) {}".format(
            self.reference, self.other, self.max_abs, self.mean_abs, self.tolerance.atol, self.tolerance.rtol,
            "ok" if self.ok else "MISMATCH")


def compare_outputs(reference: np.ndarray, other: np.ndarray, tolerance: Tolerance,
                    names: Tuple[str, str] = ("reference", "other")) -> Comparison:
    """Compare two outputs elementwise within ``atol + rtol * |reference|``; InputShapeError if their shapes differ."""
    a = np.asarray(reference, dtype=np.float64)
    b = np.asarray(other, dtype=np.float64)
    if a.shape != b.shape:
        raise InputShapeError("{} output shape {} differs from {} output shape {}".format(
            names[0], a.shape, names[1], b.shape))
    diff = np.abs(a - b)
    excess = diff - (tolerance.atol + tolerance.rtol * np.abs(a))
    return Comparison(names[0], names[1], float(diff.max()), float(diff.mean()), tolerance, float(excess.max()))


def compare_runners(runners: Sequence[Runner], inputs: Sequence[np.ndarray],
                    tolerance: Optional[Tolerance] = None) -> List[Comparison]:
    """Run every input through every runner (activating those that are not) and compare each runner with
    the first, input by input, within ``tolerance`` or the per-precision default of the pair."""
    if len(runners) < 2:
        raise UserError("compare_runners needs at least two runners")
    results: List[Comparison] = []
    activated = []
    try:
        for runner in runners:
            if not runner.is_active:
                runner.activate()
                activated.append(runner)
        reference = runners[0]
        for x in inputs:
            expected = reference.infer(x)
            for runner in runners[1:]:
                tol = tolerance or tolerance_for(reference.precision, runner.precision)
                results.append(compare_outputs(expected, runner.infer(x), tol, (reference.name, runner.name)))
    finally:
        for runner in activated:
            runner.deactivate()
    return results
