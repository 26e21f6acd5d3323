"""The benchmark matrix, the entry point of ``edge-saliency bench``:
``run_benchmark(BenchOptions(model="emlnet-lite", ...))`` → :class:`~.schema.BenchResult`.

One job per module: :mod:`.options` (what to measure), :mod:`.probes` (what this machine runs), :mod:`.exports`
(the ONNX export cache), :mod:`.loop` (the run), :mod:`.accounting` (load and CPU time of other processes),
:mod:`.accuracy` (the accuracy column); this module is their public face.

**Cells.** backend (``onnxruntime``, ``tensorrt``, ``torch``) × precision (``fp32``, ``fp16``, ``int8``) × input
size × batch. A cell this machine cannot run is ``skipped`` with the reason, before anything is loaded:
TensorRT without TensorRT or without a GPU; PyTorch fp16 without CUDA; PyTorch int8 (int8 runs as Q/DQ ONNX
on ONNX Runtime and TensorRT); ONNX Runtime on CUDA without its CUDA provider; a static ONNX file at another
size or batch. ``--device auto`` puts ONNX Runtime and PyTorch on CUDA where they can use it.

**Model files.** A preset, a config .json or a saved .safetensors ``model`` is exported once per size with
:func:`edge_saliency.export.export_model` (fp32 and the requested precisions, checked against PyTorch; a
dynamic export for batches above 1) into ``work_dir``, and reused while its sidecar records the same source
and size. An ``.onnx`` ``model`` is used as exported, with its ``-fp16`` / ``-int8`` siblings. PyTorch cells
rebuild the exact model the ONNX files came from (the ``source`` in their sidecar).

**Accuracy.** Every cell's maps of the same real video frames are compared with a reference cell at the
same size and batch: for fp16 / int8 the fp32 cell of the same backend (else the first fp32 cell that ran),
for fp32 the first fp32 cell in the order torch, onnxruntime, tensorrt (the PyTorch model when it ran).
"""
from .accounting import cpu_seconds, load_average, other_cpu, run_warnings
from .accuracy import REFERENCE_ORDER, add_accuracy, reference_for
from .exports import ExportCache
from .loop import cell_spec, run_benchmark
from .options import BACKENDS, PRECISIONS, BenchOptions
from .probes import capabilities, cell_device, plan_cells

__all__ = ["BACKENDS", "PRECISIONS", "REFERENCE_ORDER", "BenchOptions", "ExportCache", "add_accuracy",
           "capabilities", "cell_device", "cell_spec", "cpu_seconds", "load_average", "other_cpu", "plan_cells",
           "reference_for", "run_benchmark", "run_warnings"]
