"""The streaming runtime behind ``edge-saliency run``: runners (ONNX Runtime, TensorRT, PyTorch, classic),
sources and sinks by URI, and the threaded capture → pre-process → infer → post-process → sinks pipeline.

Importing this package is light: OpenCV, ONNX Runtime, torch, TensorRT and CUDA load inside the modules and
functions that use them. Everything here runs on Python 3.8 (JetPack 5).

- :mod:`.runners` — ``create_runner(model, backend="auto", ...)``: activate / infer / deactivate runners
  and ``compare_runners`` (Polygraphy-style).
- :mod:`.sources` / :mod:`.sinks` — ``open_source(uri)``; video, window, maps and JSON-lines sinks.
- :mod:`.pipeline` — :class:`~.pipeline.Pipeline` with bounded queues, the latest-frame policy for live
  sources, batching and per-stage timing; its parts: :mod:`.options` (``PipelineOptions``), :mod:`.packet`
  (one frame on its way), :mod:`.feeds` (the queues), :mod:`.stages` (pre-process, infer, post-process) and
  :mod:`.summary` (timing samples, the end-of-run summary).
- :mod:`.frames` — frame ↔ tensor geometry (stretch / letterbox) and the map post-processing.
"""
