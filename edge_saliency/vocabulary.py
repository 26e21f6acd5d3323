"""The names a user chooses between, each defined once: precisions, backends, the engine folder, and how far
two implementations of a model may differ at each precision.

Runners, the exporter, the engine builder, the benchmark and the CLI's ``choices=`` all read these. Standard
library only: every layer may import it.
"""
import dataclasses
from typing import Dict, List, Optional, Sequence

AUTO = "auto"  # a choice that lets the package decide (backend, device, typing, ...)

PRECISIONS = ("fp32", "fp16", "int8")
TORCH_PRECISIONS = ("fp32", "fp16")  # int8 runs as Q/DQ ONNX on ONNX Runtime and TensorRT, not in PyTorch


def expand_precisions(chosen: Sequence[str]) -> List[str]:
    """The CLI's ``--precision`` list with ``all`` expanded, in the order given, without repeats."""
    return list(PRECISIONS) if "all" in chosen else list(dict.fromkeys(chosen))


# what runs a model: the runners' backends (``classic`` needs no model) ...
BACKENDS = ("onnxruntime", "tensorrt", "torch", "classic")
# ... those of them that run an EML-Net model (the benchmark's matrix) ...
MODEL_BACKENDS = ("onnxruntime", "tensorrt", "torch")
# ... and what ``build-engine`` makes: a TensorRT engine or an optimized ONNX Runtime artifact
BUILD_BACKENDS = ("tensorrt", "onnxruntime")

ENGINE_DIR = "engines"  # the engine cache folder: built engines, ONNX Runtime artifacts, TensorRT EP caches
ORT_ARTIFACT_EXTENSION = ".ort.onnx"  # what build-engine names an ONNX Runtime artifact


@dataclasses.dataclass(frozen=True)
class Tolerance:
    """How far two implementations of one model at one precision may differ (saliency maps in [0, 1]).

    ``atol`` / ``rtol``: element by element, |a − b| <= atol + rtol·|a| (numpy.allclose's rule), for two
    runners given the same input (:func:`edge_saliency.runners.compare_runners`).

    The exporter's gate against PyTorch (:mod:`edge_saliency.export.evaluate`) reads the same entry:
    ``min_cc``, the lowest Pearson CC of the two maps on a real frame (reduced precisions); for fp32,
    ``rounding_ratio`` / ``exact_atol``: the error against the float64 model may be at most ``rounding_ratio``
    times PyTorch float32's own error, plus ``exact_atol``.
    """

    atol: float
    rtol: float
    min_cc: Optional[float] = None
    rounding_ratio: Optional[float] = None
    exact_atol: Optional[float] = None

    def export_gate(self) -> Dict[str, float]:
        """The export gate's fields, as the ONNX sidecar records them."""
        if self.rounding_ratio is not None:
            return {"rounding_ratio": self.rounding_ratio, "atol": self.exact_atol or 0.0}
        if self.min_cc is None:
            raise ValueError("a Tolerance needs min_cc or rounding_ratio for the export gate")
        return {"min_cc": self.min_cc}


# fp32 implementations differ by summation order only (and the exported graph by BatchNorm folding); fp16
# keeps ~3 decimal digits through the network; int8 moves maps by a few percent of their range.
TOLERANCES: Dict[str, Tolerance] = {
    "fp32": Tolerance(atol=1e-4, rtol=1e-4, rounding_ratio=4.0, exact_atol=1e-6),
    "fp16": Tolerance(atol=2e-2, rtol=2e-2, min_cc=0.999),
    "int8": Tolerance(atol=8e-2, rtol=8e-2, min_cc=0.98),
}


def tolerance_for(*precisions: str) -> Tolerance:
    """The loosest tolerance of the precisions compared (fp32 when none is known)."""
    known = [TOLERANCES[p] for p in precisions if p in TOLERANCES] or [TOLERANCES["fp32"]]
    return max(known, key=lambda t: (t.atol, t.rtol))
