"""The benchmark's run: plan the cells, prepare the video and the model files, run every cell in its own
process, then add the accuracy column (:func:`run_benchmark`)."""
import importlib.util
import logging
import os
import shutil
import sys
import tempfile
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .. import system
from ..devices import parse_device
from ..errors import UserError
from ..runners import capabilities
from .accounting import cpu_seconds, load_average, other_cpu, run_warnings
from .accuracy import add_accuracy
from .exports import ExportCache
from .options import BenchOptions
from .probes import plan_cells
from .schema import BenchResult, Cell
from .source_sizes import source_clips
from .source_sizes import summary as source_summary

log = logging.getLogger("edge_saliency")


def cell_spec(cell: Cell, options: BenchOptions, models: ExportCache, video: str, maps_path: str,
              clips: Sequence[Tuple[Tuple[int, int], str]] = ()) -> Dict[str, Any]:
    """What the cell's process needs (plain JSON-ready values: it is spawned); ``clips``: the video at each
    ``--frame-sizes`` source size, [((H, W), path)]."""
    return {
        "backend": cell.backend, "precision": cell.precision, "size": list(cell.size), "batch": cell.batch,
        "device": cell.device, "gpu": parse_device(options.device)[1], "threads": cell.threads,
        "model_file": cell.model_file, "source": models.source,
        "warmup": options.warmup, "iterations": options.iterations, "video": video,
        "accuracy_frames": options.accuracy_frames, "stage_frames": options.stage_frames,
        "pipeline_frames": options.pipeline_frames, "engine_dir": options.engine_dir,
        "plugins": list(options.plugins), "maps_path": maps_path,
        "frame_clips": [[size[0], size[1], path] for size, path in clips],
    }


def _resolve_video(options: BenchOptions, work: str) -> Tuple[str, str]:
    """(path, description) of the video every cell reads."""
    from . import frame_path

    if options.video:
        if not os.path.isfile(options.video):
            raise UserError("video not found: {}".format(options.video))
        return options.video, os.path.basename(options.video)
    found = frame_path.default_video()
    if found:
        return found, "vtest.avi (opencv-doc, 768x576)"
    if importlib.util.find_spec("skimage") is None:
        raise UserError("no video to benchmark on: pass --video CLIP (any video file), or install scikit-image "
                        "(pip install scikit-image) for a built-in sample clip")
    from ..outputs.sample_clip import write_sample_clip

    path = write_sample_clip(os.path.join(work, "sample-clip.mp4"), frames=120, size=(480, 640), fps=24.0)
    return path, "edge-saliency sample clip (scikit-image photos, 480x640, 120 frames)"


def _summary_line(cell: Cell) -> str:
    head = "{} {} {}x{} batch {}".format(cell.backend, cell.precision, cell.size[0], cell.size[1], cell.batch)
    if cell.status != "ok":
        return "{}: {}: {}".format(head, cell.status, cell.reason)
    lat = cell.latency_ms or {}
    line = "{} on {}: p50 {:.2f} ms, p90 {:.2f} ms, p99 {:.2f} ms ({} clock), {:.2f} frames/s".format(
        head, cell.device, lat.get("p50", 0.0), lat.get("p90", 0.0), lat.get("p99", 0.0), cell.clock,
        cell.throughput_fps or 0.0)
    if cell.pipeline:
        line += "; pipeline {:.2f} FPS".format(cell.pipeline["fps"])
    at_sizes = source_summary(cell.source_stages)
    if at_sizes:
        line += "; " + at_sizes
    if cell.other_cpu is not None:
        line += " [other CPU {:.2f}, stolen {:.2f}]".format(cell.other_cpu, cell.steal_cpu or 0.0)
    return line


def _plan(options: BenchOptions, models: ExportCache, caps: Dict[str, Any]) -> Tuple[List[Tuple[int, int]],
                                                                                     int, List[Cell]]:
    """(sizes, CPU threads, every cell with its device or skip reason)."""
    sizes = [tuple(s) for s in options.sizes] or ([models.default_size] if models.default_size else [])
    if not sizes:
        raise UserError("give the input size with --size HxW (the model records none)")
    threads = options.threads or os.cpu_count() or 1
    cells = plan_cells(options, sizes, caps)  # type: ignore[arg-type]
    for cell in cells:
        cell.threads = threads if cell.device == "cpu" else None
        if cell.status == "planned" and cell.backend == "torch" and models.source is None:
            cell.status, cell.reason = "skipped", "the PyTorch model of {} is unknown (no sidecar)".format(
                options.model)
    return sizes, threads, cells  # type: ignore[return-value]


def _assign_model_files(cells: Sequence[Cell], models: ExportCache) -> None:
    """Each runnable cell's model file (an ONNX file, or ``torch:NAME``), or its skip reason."""
    for cell in cells:
        if cell.status == "planned" and cell.backend != "torch":
            cell.model_file, reason = models.onnx_file(cell.precision, cell.size, cell.batch)
            if cell.model_file is None:
                cell.status, cell.reason = "skipped", reason
        elif cell.backend == "torch" and models.source is not None:
            cell.model_file = "torch:{}".format(os.path.basename(str(models.source.get("model"))))


def _run_cell(cell: Cell, spec: Dict[str, Any], options: BenchOptions) -> None:
    """One cell in its own process, with what else ran on the machine meanwhile."""
    from .cell import run_isolated

    before, cpu_before, started = load_average()[:1], cpu_seconds(), time.perf_counter()
    result = run_isolated(spec)  # returns once the cell's process has exited
    cell.other_cpu, cell.steal_cpu = other_cpu(cpu_before, cpu_seconds(), time.perf_counter() - started)
    cell.load_1min = before + load_average()[:1]
    if result.get("traceback"):
        log.debug("%s failed:\n%s", cell.id, result["traceback"])
    for key, value in result.items():
        if hasattr(cell, key):
            setattr(cell, key, value)
    cell.warmup, cell.iterations = options.warmup, options.iterations
    cell.stage_frames = options.stage_frames if cell.ok else 0


def _run_cells(cells: Sequence[Cell], options: BenchOptions, models: ExportCache, video: str, work: str,
               say: Callable[[str], None]) -> Dict[str, str]:
    """Run every planned cell; returns the file of each successful cell's maps."""
    maps: Dict[str, str] = {}
    clips: List[Tuple[Tuple[int, int], str]] = []
    if options.stage_frames > 0 and options.frame_sizes and any(c.status == "planned" for c in cells):
        say("clips of the video at {} for the frame-path stages".format(
            ", ".join("{}x{}".format(*s) for s in options.frame_sizes)))
        clips = source_clips(video, options.frame_sizes, options.stage_frames, work)  # type: ignore[arg-type]
    for index, cell in enumerate(cells, 1):
        if cell.status == "planned":
            maps_path = os.path.join(work, cell.id + ".npy")
            _run_cell(cell, cell_spec(cell, options, models, video, maps_path, clips), options)
            if cell.ok:
                maps[cell.id] = maps_path
        say("[{}/{}] {}".format(index, len(cells), _summary_line(cell)))
    return maps


def _settings(options: BenchOptions, models: ExportCache, sizes: Sequence[Tuple[int, int]], threads: int,
              video_label: str) -> Dict[str, Any]:
    return {
        "model": models.model_name, "model_argument": options.model, "weights": models.weights_label,
        "backends": list(options.backends), "precisions": list(options.precisions),
        "sizes": [list(s) for s in sizes], "batches": list(options.batches), "device": options.device,
        "threads": threads, "warmup": options.warmup, "iterations": options.iterations, "video": video_label,
        "accuracy_frames": options.accuracy_frames, "stage_frames": options.stage_frames,
        "frame_sizes": [list(s) for s in options.frame_sizes] if options.stage_frames > 0 else [],
        "pipeline_frames": options.pipeline_frames, "baseline": options.baseline,
        "isolation": "one spawned process per cell",
    }


def run_benchmark(options: BenchOptions, progress: Optional[Callable[[str], None]] = None,
                  command: str = "") -> BenchResult:
    """Plan, prepare, run every cell in its own process, then add the accuracy column."""
    say = progress or (lambda text: print(text, file=sys.stderr, flush=True))
    options.validate()
    caps = capabilities()
    models = ExportCache(options)
    sizes, threads, cells = _plan(options, models, caps)
    env = system.environment(use_torch=bool(caps.get("torch")))
    env["load_before"] = load_average()
    env["niceness"] = os.nice(0) if hasattr(os, "nice") else None
    work = tempfile.mkdtemp(prefix="edge-saliency-bench-")
    try:
        video, video_label = _resolve_video(options, work)
        models.export(cells, say)
        _assign_model_files(cells, models)
        maps = _run_cells(cells, options, models, video, work, say)
        add_accuracy(cells, {k: np.load(v) for k, v in maps.items()})
    finally:
        shutil.rmtree(work, ignore_errors=True)
    env["load_after"] = load_average()
    result = BenchResult(environment=env, settings=_settings(options, models, sizes, threads, video_label),
                         cells=cells, command=command, created=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    result.warnings = run_warnings(result)
    return result
