"""``edge-saliency bench``: latency, memory, frame-path stages, pipeline rate and accuracy over backend ×
precision × input size × batch, written as schema-versioned JSON, CSV, markdown and a PNG plot.

- :mod:`.matrix` — :class:`~.options.BenchOptions`, :func:`~.loop.run_benchmark`: the entry point, over
  :mod:`.options`, :mod:`.probes` (what runs here), :mod:`.exports` (the ONNX export cache), :mod:`.loop` (the
  run), :mod:`.accounting` (other processes' CPU time) and :mod:`.accuracy` (the accuracy column);
- :mod:`.cell` — one cell in its own process (warm-up, timed iterations, memory, maps, stages, pipeline);
- :mod:`.frame_path` — the stages of the frame path alone, and the streaming pipeline's rate;
- :mod:`.source_sizes` — the same stages at each camera resolution (``--frame-sizes``), as ratios to inference;
- :mod:`.stats` — latency statistics; :mod:`.schema` — the result document; :mod:`.report` — the files and
  ``--compare``.

numpy + OpenCV + ONNX Runtime (the base install): exporting a preset needs the ``[export]`` extra, the plot
matplotlib (``[bench]``). Python 3.8.
"""
