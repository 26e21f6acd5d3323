"""Parity checks and the accuracy report: every exported file against the PyTorch model.

Inputs: held-out real photos (scikit-image, never calibration frames; or a folder/video the user gives),
pre-processed exactly as the runtime does (:mod:`edge_saliency.maths.preprocess`, the model's own mode), plus
uniform random input; dynamic exports also at a second size and batch 2.

Parity (per input, over every pixel of every batch item):
``max_abs`` = max |onnx − torch|, ``mean_abs`` = mean |onnx − torch|, ``cc`` = Pearson correlation of the
2-D maps (:func:`edge_saliency.maths.metrics.cc`; the smallest over the batch). Gates (:data:`TOLERANCES`):

- fp32: against the same PyTorch model run in **float64** (``exact``), which is the model's arithmetic
  without rounding, on the first real frame and every random input (the second size's too for dynamic
  exports; an export error is in the graph and shows on any input, and a float64 forward costs 4–10
  float32 ones on a CPU); the other frames are reported against float32. PyTorch's own float32 output
  is one float32 implementation of the model; its error, ``rounding`` = max |torch − exact|, is what
  float32 rounding costs on this input (it grows with the depth of the network and the range of its
  activations). The ONNX file is another float32 implementation —
  different summation orders and kernels, BatchNorm folded into the convolution weights — so its error
  ``error`` = max |onnx − exact| is of the same order. The gate is
  ``error <= rounding_ratio × rounding + atol`` (``rounding_ratio`` 4: room for one implementation being
  a few times less accurate than the other, measured over every preset in docs/design.md;
  ``atol`` 1e-6, ≈ 16 float32 steps at 1.0, for inputs where PyTorch happens to round very little). An
  export bug moves the map by far more: a resize of the wrong mode or swapped decoder inputs by 0.3 to 1,
  thousands of times the limit (both are tested).
- fp16: ``cc`` ≥ 0.999 on every real photo;
- int8: ``cc`` ≥ 0.98 on every real photo. Random input is far from the calibration statistics; it is
  reported for int8 and fp16, not gated.

The fp32 gate holds for any correct export, whatever the weights. The fp16 / int8 gates are enforced for
models with trained weights; with random weights a failure is a warning (``enforced: false``): random
readouts give unrealistic maps — the random official ResNet-50 model outputs 0.47…0.52 with a std of 0.002,
four fp16 steps — so reduced-precision errors there say nothing about a trained model.

Accuracy report (real frames only; ``reference`` = the fp32 PyTorch map, ``map`` = the variant's):
CC = ``metrics.cc(map, reference)``; KLD = ``metrics.kld(map, reference)`` (reference as the density,
MIT convention, 0 = identical); SIM = ``metrics.sim(map, reference)`` (MIT, 1 = identical); and

**NSS agreement** = NSS(map; F) / NSS(reference; F), where the pseudo-fixations F are the
:data:`PSEUDO_FIXATION_FRACTION` (1 %) highest-valued pixels of the reference map (ties by pixel index) and
NSS is :func:`edge_saliency.maths.metrics.nss` (MIT convention). The reference's own NSS on its top pixels is the
best any map can do with them; 1.0 = the variant ranks the reference's most salient pixels exactly as
highly (in z-score units) as the reference does, 0.95 = 5 % lower. A score the MIT convention leaves
undefined (NaN: a constant map, docs/metrics.md) is ``None`` and left out of the means; a parity CC of
NaN fails the gate. Each metric is averaged over the frames; the minimum CC is reported too.
"""
import logging
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import UserError
from ..maths import metrics
from ..maths.preprocess import preprocess
from ..vocabulary import TOLERANCES as _TOLERANCES
from .frames import NamedImage, photos
from .progress import Step

log = logging.getLogger("edge_saliency")

# the export gate of each precision, derived from the package's one tolerance table (edge_saliency.vocabulary)
TOLERANCES: Dict[str, Dict[str, float]] = {p: t.export_gate() for p, t in _TOLERANCES.items()}
PSEUDO_FIXATION_FRACTION = 0.01
RANDOM_SEED = 0


class ParityError(UserError):
    """An exported model does not match PyTorch within the tolerance of its precision."""


class EvalInput:
    """One model input: a name, an N×3×H×W float32 array, whether it is a real frame, and whether the fp32
    gate compares it with the float64 model (``exact``)."""

    def __init__(self, name: str, x: np.ndarray, real: bool, exact: bool = False) -> None:
        self.name, self.x, self.real, self.exact = name, x, real, exact

    @property
    def shape(self) -> List[int]:
        return [int(v) for v in self.x.shape]


def second_size(size: Sequence[int]) -> Tuple[int, int]:
    """Another valid size for dynamic exports: 32 rows and 64 columns more."""
    return int(size[0]) + 32, int(size[1]) + 64


def eval_inputs(size: Sequence[int], mode: str, dynamic: bool = False,
                frames: Optional[List[NamedImage]] = None) -> List[EvalInput]:
    """Real frames (default: the held-out photos), pre-processed with the model's ``mode``, and random input
    at ``size``; for dynamic exports also a real frame at :func:`second_size` and a random batch of 2 there.
    The fp32 gate's inputs (``exact``): the first real frame and every random input (module docstring)."""
    frames = frames if frames is not None else photos()
    rng = np.random.default_rng(RANDOM_SEED)
    h, w = int(size[0]), int(size[1])
    inputs = [EvalInput(name, preprocess(frame, size, mode), True, exact=i == 0) for i, (name, frame) in
              enumerate(frames)]
    inputs.append(EvalInput("random", rng.random((1, 3, h, w), dtype=np.float32), False, exact=True))
    if dynamic:
        h2, w2 = second_size(size)
        name, frame = frames[0]
        inputs.append(EvalInput("{}@{}x{}".format(name, h2, w2), preprocess(frame, (h2, w2), mode), True, exact=True))
        inputs.append(EvalInput("random@2x{}x{}".format(h2, w2), rng.random((2, 3, h2, w2), dtype=np.float32), False,
                                exact=True))
    return inputs


def torch_outputs(model: Any, inputs: Sequence[EvalInput], exact: bool = False) -> Any:
    """The PyTorch model's outputs (float32 numpy) for each input; with ``exact``, also ``(float32 outputs,
    float64 outputs)``: the same model run in float64 on the inputs marked ``exact`` (the fp32 gate's
    reference), None for the others."""
    import torch

    outputs = []
    with Step("running PyTorch on {} inputs".format(len(inputs))) as step, torch.no_grad():
        for i, item in enumerate(inputs):
            step.update(i, len(inputs))
            outputs.append(model(torch.from_numpy(item.x)).numpy().astype(np.float32))
    if not exact:
        return outputs
    exact_outputs: List[Optional[np.ndarray]] = [None] * len(inputs)
    chosen = [i for i, item in enumerate(inputs) if item.exact]
    # float32 -> float64 -> float32 is exact: the model comes back unchanged
    with Step("running PyTorch in float64 on {} inputs".format(len(chosen))) as step, torch.no_grad():
        try:
            model.double()
            for n, i in enumerate(chosen):
                step.update(n, len(chosen))
                exact_outputs[i] = model(torch.from_numpy(inputs[i].x).double()).numpy()
        finally:
            model.float()
    return outputs, exact_outputs


def session_outputs(session: Any, inputs: Sequence[EvalInput]) -> List[np.ndarray]:
    name = session.get_inputs()[0].name
    return [np.asarray(session.run(None, {name: item.x})[0], dtype=np.float32) for item in inputs]


def compare(reference: np.ndarray, output: np.ndarray) -> Dict[str, float]:
    """max_abs, mean_abs over all values; cc = the smallest per-item CC of the 2-D maps."""
    if reference.shape != output.shape:
        raise ParityError("output shape {} differs from PyTorch's {}".format(output.shape, reference.shape))
    diff = np.abs(output.astype(np.float64) - reference.astype(np.float64))
    ccs = [metrics.cc(o[0], r[0]) for o, r in zip(output, reference)]
    # a constant map has no CC (NaN, as in the MIT code); np.min keeps the NaN so the gate fails
    return {"max_abs": float(diff.max()), "mean_abs": float(diff.mean()), "cc": float(np.min(ccs))}


def parity(precision: str, inputs: Sequence[EvalInput], references: Sequence[np.ndarray],
           outputs: Sequence[np.ndarray], tolerance: Optional[Dict[str, float]] = None,
           exact: Optional[Sequence[Optional[np.ndarray]]] = None) -> Dict[str, Any]:
    """Compare and gate; the result (``passed`` and the failures) goes into the sidecar.

    ``references``: PyTorch's float32 outputs; ``exact``: its float64 outputs, None for inputs without one
    (the fp32 gate needs at least one; the inputs that have one also record ``error``, ``rounding`` and
    ``limit``; module docstring)."""
    tolerance = dict(tolerance if tolerance is not None else TOLERANCES[precision])
    if "rounding_ratio" in tolerance and not any(e is not None for e in (exact or [])):
        raise ValueError("the {} gate compares with the float64 model: pass exact=".format(precision))
    results: List[Dict[str, Any]] = []
    failures: List[str] = []
    for index, (item, ref, out) in enumerate(zip(inputs, references, outputs)):
        stats = compare(ref, out)
        truth = exact[index] if exact is not None else None
        if truth is not None:
            truth = np.asarray(truth, dtype=np.float64)
            stats["error"] = float(np.abs(out.astype(np.float64) - truth).max())
            stats["rounding"] = float(np.abs(ref.astype(np.float64) - truth).max())
        if "rounding_ratio" in tolerance and truth is not None:
            stats["limit"] = tolerance["rounding_ratio"] * stats["rounding"] + tolerance["atol"]
            if stats["error"] > stats["limit"]:
                failures.append("{}: max abs error {:.3g} vs the float64 model > {:g} x PyTorch float32's {:.3g} "
                                "+ {:g}".format(item.name, stats["error"], tolerance["rounding_ratio"],
                                                stats["rounding"], tolerance["atol"]))
        results.append(dict({"input": item.name, "shape": item.shape, "real": item.real}, **stats))
        if "min_cc" in tolerance and item.real and not stats["cc"] >= tolerance["min_cc"]:  # NaN fails
            failures.append("{}: CC {:.5f} < {:g}".format(item.name, stats["cc"], tolerance["min_cc"]))
    worst = {
        "max_abs": max(r["max_abs"] for r in results),
        "mean_abs": max(r["mean_abs"] for r in results),
        "cc": float(np.min([r["cc"] for r in results])),  # NaN (a constant map) stays NaN
    }
    gated = [r for r in results if "error" in r]
    if gated:
        worst.update(error=max(r["error"] for r in gated), rounding=max(r["rounding"] for r in gated))
    return {
        "against": "pytorch fp32" + (" and float64" if gated else ""), "tolerance": tolerance,
        "passed": not failures, "failures": failures, "results": results, "worst": worst,
    }


def pseudo_fixations(reference: np.ndarray, fraction: float = PSEUDO_FIXATION_FRACTION) -> np.ndarray:
    """A binary map of the ``fraction`` highest-valued pixels of ``reference`` (at least one; ties broken by
    pixel index, so the result is deterministic)."""
    flat = np.asarray(reference, dtype=np.float64).ravel()
    k = max(1, int(round(fraction * flat.size)))
    order = np.lexsort((np.arange(flat.size), -flat))[:k]
    fixations = np.zeros(flat.size, dtype=np.uint8)
    fixations[order] = 1
    return fixations.reshape(np.asarray(reference).shape)


def nss_agreement(saliency_map: np.ndarray, reference: np.ndarray) -> Optional[float]:
    """NSS(map; F) / NSS(reference; F) with F = :func:`pseudo_fixations` of the reference (module docstring)."""
    fixations = pseudo_fixations(reference)
    own = metrics.nss(reference, fixations)
    if not own > 0:  # NaN: a constant reference
        return None
    return _defined(metrics.nss(saliency_map, fixations) / own)


def _defined(value: float) -> Optional[float]:
    """None for a score the metric leaves undefined (NaN: a constant map)."""
    return float(value) if np.isfinite(value) else None


def accuracy(inputs: Sequence[EvalInput], references: Sequence[np.ndarray],
             outputs: Sequence[np.ndarray]) -> Dict[str, Any]:
    """CC, KLD, SIM and NSS agreement of a variant vs the fp32 reference, averaged over the real frames."""
    rows: List[Dict[str, Any]] = []
    for item, ref, out in zip(inputs, references, outputs):
        if not item.real:
            continue
        for b in range(ref.shape[0]):
            r, o = ref[b, 0].astype(np.float64), out[b, 0].astype(np.float64)
            rows.append({
                "frame": item.name if ref.shape[0] == 1 else "{}[{}]".format(item.name, b),
                "cc": _defined(metrics.cc(o, r)), "kld": _defined(metrics.kld(o, r)),
                "sim": _defined(metrics.sim(o, r)),
                "nss_agreement": nss_agreement(o, r), "max_abs": float(np.abs(o - r).max()),
            })
    if not rows:
        raise UserError("the accuracy report needs at least one real frame")

    def mean(key: str) -> Optional[float]:
        values = [row[key] for row in rows if row[key] is not None]
        return float(np.mean(values)) if values else None

    def _min(key: str) -> Optional[float]:
        values = [row[key] for row in rows if row[key] is not None]
        return float(min(values)) if values else None

    return {
        "frames": len(rows), "cc": mean("cc"), "cc_min": _min("cc"), "kld": mean("kld"),
        "sim": mean("sim"), "nss_agreement": mean("nss_agreement"),
        "max_abs": float(max(row["max_abs"] for row in rows)),
        "per_frame": rows,
    }


def _fmt(value: Optional[float], digits: int = 4) -> str:
    return "n/a" if value is None else "{:.{}f}".format(round(value, digits) + 0.0, digits)  # no "-0.0000"


def markdown_table(report: Dict[str, Dict[str, Any]]) -> str:
    """``report`` maps a variant name (fp32 / fp16 / int8) to :func:`accuracy`'s result plus ``file``,
    ``size_mb``."""
    lines = [
        "| precision | file | MB | CC (mean / min) | KLD | SIM | NSS agreement | max abs diff |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, row in report.items():
        lines.append("| {} | {} | {:.1f} | {} / {} | {} | {} | {} | {} |".format(
            name, row.get("file", ""), row.get("size_mb", 0.0), _fmt(row["cc"]), _fmt(row["cc_min"]),
            _fmt(row["kld"]), _fmt(row["sim"]), _fmt(row["nss_agreement"], 3), "{:.2g}".format(row["max_abs"]),
        ))
    frames = next(iter(report.values()))["frames"] if report else 0
    lines.append("")
    lines.append("vs the fp32 PyTorch model on {} held-out real frames; KLD/SIM: MIT convention with the fp32 map "
                 "as the density; NSS agreement: NSS on the fp32 map's top 1 % pixels relative to fp32's "
                 "own.".format(frames))
    return "\n".join(lines)
