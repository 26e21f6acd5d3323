"""The full frame path, timed: each stage alone over the same video frames, and the streaming pipeline.

:func:`time_stages` runs the stages of ``edge-saliency run`` one after the other over ``frames`` frames of a
video — decode (OpenCV), pre-process (:class:`~edge_saliency.pipeline.pipeline.Preprocessor`), inference through
the runner's :meth:`~edge_saliency.runners.Runner.infer_timed` (copy-in, infer, copy-out on the
runner's clock, and the whole call on the host), post-process
(:class:`~edge_saliency.pipeline.pipeline.Postprocessor`: blur, min-max, statistics, the map at frame size and
the views the sinks need), and output (the sinks) — and returns the seconds of every frame (inference: of
every batch). :func:`pipeline_rate` runs :class:`~edge_saliency.pipeline.pipeline.Pipeline` over the same video.

Used by ``edge-saliency bench`` and ``benchmarks/pipeline_efficiency.py``. numpy + OpenCV; Python 3.8.
"""
import os
import time
from typing import Any, Callable, Dict, List, Optional, Sequence

from ..errors import UserError

# stage name -> per-call seconds; None: the backend does not expose that part separately
StageTimes = Dict[str, Optional[List[float]]]
# 768x576, 795 frames: docs/design.md, "Real data available offline"
VTEST = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"


def default_video() -> Optional[str]:
    """OpenCV's vtest.avi when the opencv-doc package is installed, else None."""
    return VTEST if os.path.isfile(VTEST) else None


def time_stages(video: str, runner: Any, frames: int, options: Any = None, sinks: Sequence[Any] = (),
                batch: int = 1) -> StageTimes:
    """Seconds per frame of decode, preprocess, postprocess and output (when ``sinks``), and per batch of
    ``batch`` frames of copy_in, infer, copy_out (the runner's clock) and inference (the whole call, host
    clock). ``runner`` is active; ``options`` are :class:`~edge_saliency.pipeline.pipeline.PipelineOptions`."""
    from ..capture.sources import open_source
    from ..outputs.sink import needed_views
    from ..pipeline.options import PipelineOptions
    from ..pipeline.packet import Packet
    from ..pipeline.pipeline import Pipeline
    from ..pipeline.stages import Inferencer, Postprocessor, Preprocessor

    options = options or PipelineOptions()
    sinks = list(sinks)
    times: Dict[str, List[Any]] = {name: [] for name in ("decode", "preprocess", "copy_in", "infer", "copy_out",
                                                         "inference", "postprocess", "output")}
    with open_source(video) as source:
        layout = Pipeline([source], runner, sinks, options)  # the size / batch decisions of a real run
        packets = []
        for _ in range(frames):
            started = time.perf_counter()
            frame = source.read()
            done = time.perf_counter()
            if frame is None:
                break
            times["decode"].append(done - started)
            packets.append(Packet(0, frame.index, frame.timestamp, frame.name, frame.image, done, time.time()))
        infos = layout.stream_infos()
    if not packets:
        raise UserError("no frames could be decoded from {}".format(video))
    preprocess = Preprocessor(layout.size, options.letterbox, layout.preprocess, layout.frames_to_runner)
    for packet in packets:
        started = time.perf_counter()
        preprocess(packet)
        times["preprocess"].append(time.perf_counter() - started)
    inferencer = Inferencer(runner, timed=True)  # the pipeline's own step
    for start in range(0, len(packets), batch):
        group = packets[start:start + batch]
        inferencer(group)
        times["inference"].append(group[0].timings["infer"])
        for name in ("copy_in", "infer", "copy_out"):
            times[name].append(inferencer.parts.get(name))
    views = needed_views(sinks)
    def postprocessor() -> Postprocessor:
        return Postprocessor(options, views, any(s.needs_float_map for s in sinks),
                             any(getattr(s, "needs_map_u8", True) for s in sinks),
                             runner.frame_overlay() if "overlay" in views else None)  # as a run blends (GPU or host)

    # post-processing alone, frame by frame: a frame's images are let go once made, so the buffers are reused as
    # in a run (holding every frame's views would time fresh memory), and no encoder works meanwhile
    raws = [packet.raw for packet in packets]
    post = postprocessor()
    for packet in packets:
        started = time.perf_counter()
        post(packet)
        times["postprocess"].append(time.perf_counter() - started)
        packet.views.clear()
        packet.map_u8 = packet.map_float = None
    if sinks:  # output: the views made again (untimed), each written by the sinks and let go
        post = postprocessor()
        for sink in sinks:
            sink.open(infos)
        try:
            for packet, raw in zip(packets, raws):
                packet.raw = raw
                post(packet)
                packet.timings["total"] = 0.0
                started = time.perf_counter()
                for sink in sinks:
                    sink.write(packet)
                times["output"].append(time.perf_counter() - started)
                packet.views.clear()
                packet.map_u8 = packet.map_float = None
        finally:
            for sink in sinks:
                sink.close()
    result: StageTimes = {}
    for name, values in times.items():
        if name == "output" and not sinks:
            continue
        result[name] = None if any(v is None for v in values) else [float(v) for v in values]
    return result


def pipeline_rate(video: str, runner: Any, frames: int, options: Any = None,
                  sinks: Optional[Callable[[], Sequence[Any]]] = None) -> Dict[str, Any]:
    """The streaming pipeline over the first ``frames`` frames of ``video``: frames per second end to end,
    the wall time, the end-to-end latency percentiles, how busy each stage's thread was, and how many cores
    the process used (CPU time / wall time). ``sinks()`` makes fresh sinks (default: none)."""
    import dataclasses

    from ..capture.sources import open_source
    from ..pipeline.options import PipelineOptions
    from ..pipeline.pipeline import Pipeline

    options = dataclasses.replace(options or PipelineOptions(), max_frames=frames)
    with open_source(video) as source:
        pipeline = Pipeline([source], runner, list(sinks() if sinks else []), options)
        cpu = time.process_time()
        summary = pipeline.run()
        cpu = time.process_time() - cpu
    return {"fps": summary.fps, "frames": summary.frames, "wall_s": summary.wall_s,
            "latency_ms": {"p50": summary.latency["p50_ms"], "p90": summary.latency["p90_ms"]},
            "busy": summary.busy, "cores_used": cpu / summary.wall_s if summary.wall_s > 0 else None,
            "batch": pipeline.batch}
