"""``edge-saliency bench``: latency, memory, frame-path stages, pipeline rate and accuracy over backend ×
precision × input size × batch, written as schema-versioned JSON, CSV, markdown and a PNG plot.

- :mod:`.matrix` — :class:`~.matrix.BenchOptions`, :func:`~.matrix.run_benchmark` (plan, export, run, accuracy);
- :mod:`.cell` — one cell in its own process (warm-up, timed iterations, memory, maps, stages, pipeline);
- :mod:`.frame_path` — the stages of the frame path alone, and the streaming pipeline's rate;
- :mod:`.stats` — latency statistics; :mod:`.schema` — the result document; :mod:`.report` — the files and
  ``--compare``.

numpy + OpenCV + ONNX Runtime (the base install): exporting a preset needs the ``[export]`` extra, the plot
matplotlib (``[bench]``). Python 3.8.
"""
