"""``edge-saliency bench``: latency, memory, frame-path stages, pipeline rate and accuracy over backend ×
precision × input size × batch, written as schema-versioned JSON, CSV, markdown and a PNG plot.

- :mod:`.loop` — :func:`~.loop.run_benchmark` (``run_benchmark(BenchOptions(model="emlnet-lite", ...))`` →
  :class:`~.schema.BenchResult`), the entry point, over :mod:`.options` (:class:`~.options.BenchOptions`),
  :mod:`.probes` (what runs here), :mod:`.exports` (the ONNX export cache), :mod:`.accounting` (other processes'
  CPU time) and :mod:`.accuracy` (the accuracy column);
- :mod:`.cell` — one cell in its own process (warm-up, timed iterations, memory, maps, stages, pipeline);
- :mod:`.frame_path` — the stages of the frame path alone, and the streaming pipeline's rate;
- :mod:`.source_sizes` — the same stages at each camera resolution (``--frame-sizes``), as ratios to inference;
- :mod:`.stats` — latency statistics; :mod:`.schema` — the result document; :mod:`.report` — the files and
  ``--compare``.

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

numpy + OpenCV + ONNX Runtime (the base install): exporting a preset needs the ``[export]`` extra, the plot
matplotlib (``[bench]``). Python 3.8.
"""
