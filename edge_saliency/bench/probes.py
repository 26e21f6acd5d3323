"""What this machine can run: each cell's device, or why it is skipped, decided before anything is loaded.

The backends are probed once, by :func:`edge_saliency.runners.capabilities`.
"""
from typing import Any, List, Mapping, Optional, Sequence, Tuple

from ..devices import parse_device
from .options import BenchOptions
from .schema import Cell

__all__ = ["cell_device", "plan_cells"]


def cell_device(backend: str, precision: str, device: str, caps: Mapping[str, Any]) -> Tuple[Optional[str], str]:
    """(the device a cell runs on, "cpu" or "cuda", and "") or (None, why it cannot run here). ``device``: auto,
    cpu, cuda or cuda:N (the GPU number travels to the cell beside the plan: :func:`~.loop.cell_spec`)."""
    device = parse_device(device)[0]
    if backend == "tensorrt":
        if device == "cpu":
            return None, "TensorRT runs on NVIDIA GPUs only (--device cpu)"
        if not caps.get("tensorrt"):
            return None, ("TensorRT is not installed (pip install \"edge-saliency[tensorrt]\"; on Jetson it comes "
                          "with JetPack)")
        if not caps.get("gpu"):
            return None, "no NVIDIA GPU found for TensorRT"
        return "cuda", ""
    if backend == "torch":
        if not caps.get("torch"):
            return None, "PyTorch is not installed (pip install \"edge-saliency[export]\")"
        if precision == "int8":
            return None, "the PyTorch backend has no int8 (int8 runs as Q/DQ ONNX on ONNX Runtime and TensorRT)"
        cuda = caps.get("torch_cuda")
        if device == "cuda" and not cuda:
            return None, "PyTorch sees no CUDA GPU (--device cuda)"
        chosen = "cuda" if (cuda and device != "cpu") else "cpu"
        if precision == "fp16" and chosen == "cpu":
            return None, "PyTorch fp16 needs a CUDA GPU" + ("" if cuda else " (this PyTorch sees none)")
        return chosen, ""
    if caps.get("onnxruntime_missing"):
        return None, "ONNX Runtime is not installed (pip install onnxruntime)"
    has_cuda = "CUDAExecutionProvider" in caps.get("ort_providers", [])
    if device == "cuda" and not has_cuda:
        return None, ("this ONNX Runtime has no CUDA execution provider (pip install onnxruntime-gpu; "
                      "--device cpu)")
    return ("cuda" if has_cuda and device != "cpu" else "cpu"), ""


def plan_cells(options: BenchOptions, sizes: Sequence[Tuple[int, int]], caps: Mapping[str, Any]) -> List[Cell]:
    """Every cell in run order (size, batch, backend, precision), with its device or its skip reason."""
    cells = []
    for size in sizes:
        for batch in options.batches:
            for backend in options.backends:
                for precision in options.precisions:
                    cell = Cell(backend, precision, (int(size[0]), int(size[1])), int(batch))
                    device, reason = cell_device(backend, precision, options.device, caps)
                    cell.device = device
                    if device is None:
                        cell.status, cell.reason = "skipped", reason
                    cells.append(cell)
    return cells
