"""One benchmark cell (backend × precision × size × batch), measured in a process of its own.

Each cell runs in a fresh ``spawn``-ed process, so the peak resident memory is the cell's own, no thread
pool, allocator cache or CUDA context of another cell is shared, and a crash fails one cell, not the run.
In that process :func:`measure`:

1. creates the runner (:func:`edge_saliency.runners.create_runner`; PyTorch cells rebuild the exact
   model the ONNX files came from) and activates it (TensorRT engines are built or taken from the cache
   here: not timed);
2. runs ``warmup`` untimed batches, then ``iterations`` timed batches of real video frames, each on the
   runner's clock (CUDA events on the GPU, ``time.perf_counter`` on the CPU) and on the host clock;
3. reads the peak RSS (``VmHWM``) and the device memory taken;
4. saves the model's maps of ``accuracy_frames`` video frames (the accuracy column is computed by the caller
   against the reference cell's maps);
5. times the stages of the full frame path on the video and runs the streaming pipeline (:mod:`.frame_path`);
   times the stages again over the clip made at each ``--frame-sizes`` source size (:mod:`.source_sizes`).
"""
import logging
import os
import time
import traceback
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from ..errors import UserError
from .stats import latency_stats, stage_stats, throughput

log = logging.getLogger("edge_saliency")

MIB = float(1 << 20)


def peak_rss_mib() -> Optional[float]:
    """Peak resident set size of this process (Linux ``VmHWM``; ``ru_maxrss`` elsewhere)."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024 / MIB
    except OSError:
        pass
    try:
        import resource
        import sys

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / MIB if sys.platform == "darwin" else peak * 1024 / MIB
    except (ImportError, OSError):
        return None


class DeviceMemory:
    """Device memory a cell takes: PyTorch's peak reserved memory for PyTorch on CUDA; otherwise free device
    memory (cudaMemGetInfo) before the model was loaded minus the lowest free memory seen while it ran."""

    def __init__(self, backend: str, device: str) -> None:
        self.backend, self.device = backend, device
        self.note = "no GPU used" if device != "cuda" else ""
        self._torch: Any = None
        self._cuda: Any = None
        self._free0: Optional[int] = None
        self._lowest: Optional[int] = None

    def start(self) -> None:
        if self.device != "cuda":
            return
        if self.backend == "torch":
            import torch

            self._torch = torch
            torch.cuda.init()
            torch.cuda.reset_peak_memory_stats()
            self.note = "PyTorch's peak reserved memory (caching allocator; the CUDA context not included)"
            return
        try:
            from ..runners.cuda import load_cuda

            self._cuda = load_cuda("auto")
            self._cuda.open()  # the primary context, which TensorRT and ONNX Runtime share
            self._free0 = self._lowest = self._cuda.mem_get_info()[0]
            self.note = ("cudaMemGetInfo: free device memory before loading minus the lowest free seen (engine, "
                         "buffers, workspace; the CUDA context and other processes' changes are not separated; "
                         "on Jetson the memory is shared with the CPU)")
        except Exception as exc:  # no cuda-python / PyCUDA: say so, measure the rest
            self._cuda = None
            self.note = "not measured: {}".format(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)

    def sample(self) -> None:
        if self._cuda is not None:
            free = self._cuda.mem_get_info()[0]
            self._lowest = free if self._lowest is None else min(self._lowest, free)

    def mib(self) -> Optional[float]:
        if self._torch is not None:
            return self._torch.cuda.max_memory_reserved() / MIB
        if self._cuda is not None and self._free0 is not None and self._lowest is not None:
            return max(0, self._free0 - self._lowest) / MIB
        return None


def _runner(spec: Dict[str, Any]) -> Any:
    from ..runners import create_runner

    backend = spec["backend"]
    device = spec["device"]
    if device == "cuda" and spec.get("gpu") is not None:
        device = "cuda:{}".format(spec["gpu"])
    if backend == "torch":
        from ..export.origin import rebuild_model

        model: Any = rebuild_model(spec["source"])
        return create_runner(model, "torch", device=device, precision=spec["precision"], threads=spec["threads"])
    return create_runner(spec["model_file"], backend, device=device, precision=spec["precision"],
                         input_size=spec["size"], batch=spec["batch"], threads=spec["threads"],
                         engine_dir=spec["engine_dir"], plugins=spec.get("plugins") or None)


def _device_of(runner: Any) -> str:
    if runner.backend == "tensorrt":
        return "cuda"
    if runner.backend == "onnxruntime":
        return "cuda" if runner.providers and runner.providers[0] != "CPUExecutionProvider" else "cpu"
    device = getattr(runner, "device", None)
    return "cuda" if device is not None and getattr(device, "type", str(device)) == "cuda" else "cpu"


def _batches(frames: np.ndarray, batch: int) -> List[np.ndarray]:
    return [frames[i:i + batch] for i in range(0, len(frames), batch)]


def _timed_loop(runner: Any, x: np.ndarray, warmup: int, iterations: int,
                events: bool) -> Tuple[List[float], List[float], float]:
    """(latency samples on the runner's clock, host samples, wall seconds of the loop), in seconds."""
    for _ in range(warmup):
        runner.infer_timed(x) if events else runner.infer(x)
    latency: List[float] = []
    host: List[float] = []
    loop_start = time.perf_counter()
    for _ in range(iterations):
        started = time.perf_counter()
        if events:
            _, parts = runner.infer_timed(x)
            latency.append(sum(v for v in parts.values() if v is not None))
        else:
            runner.infer(x)
        host.append(time.perf_counter() - started)
        if not events:
            latency.append(host[-1])
    return latency, host, time.perf_counter() - loop_start


def measure(spec: Dict[str, Any]) -> Dict[str, Any]:
    """Measure one cell (see the module docstring); returns the cell's fields as a dict."""
    from ..export.frames import video_frames
    from ..maths.preprocess import DEFAULT_MODE, preprocess
    from ..pipeline.options import PipelineOptions
    from ..runners import check_saliency_model
    from . import frame_path
    from .schema import STAGES
    from .source_sizes import measure_source_sizes

    started = time.perf_counter()
    size, batch = tuple(spec["size"]), int(spec["batch"])
    frames = video_frames(spec["video"], max(spec["accuracy_frames"], batch))

    memory = DeviceMemory(spec["backend"], spec["device"])
    memory.start()  # before the model is loaded: its weights count
    runner = _runner(spec)
    with runner:
        check_saliency_model(runner)
        # the model's own pre-processing (its sidecar), as `edge-saliency run` feeds it
        mode = runner.preprocess or DEFAULT_MODE
        inputs = np.concatenate([preprocess(frame, size, mode) for _, frame in frames], axis=0)
        x = inputs[:batch]
        if x.shape[0] < batch:
            x = np.concatenate([x, np.repeat(x[-1:], batch - x.shape[0], axis=0)], axis=0)
        device = _device_of(runner)
        if device != spec["device"]:
            raise UserError("{} runs on {}, not on {} as planned".format(runner.describe(), device, spec["device"]))
        if runner.max_batch is not None and runner.max_batch < batch:
            raise UserError("{} takes batches of at most {}: export with --dynamic for batch {}".format(
                runner.name, runner.max_batch, batch))
        clock = runner.stage_clock().name
        events = clock == "cuda-event"
        latency, host, loop_s = _timed_loop(runner, x, int(spec["warmup"]), int(spec["iterations"]), events)
        memory.sample()
        rss = peak_rss_mib()
        outputs = [runner.infer(chunk) for chunk in _batches(inputs[:spec["accuracy_frames"]], batch)]
        np.save(spec["maps_path"], np.concatenate(outputs, axis=0).astype(np.float32))
        options = PipelineOptions(size=size, batch=batch)
        stages: Dict[str, Optional[Dict[str, float]]] = {}
        if spec["stage_frames"] > 0:
            stages = stage_stats(frame_path.time_stages(spec["video"], runner, spec["stage_frames"], options,
                                                        batch=batch), STAGES)
        source_stages = None
        if spec["stage_frames"] > 0 and spec.get("frame_clips"):
            clips = [((int(h), int(w)), path) for h, w, path in spec["frame_clips"]]
            source_stages = measure_source_sizes(clips, runner, spec["stage_frames"], options, batch,
                                                 os.path.dirname(os.path.abspath(spec["maps_path"])))
        pipeline = None
        if spec["pipeline_frames"] > 0:
            pipeline = frame_path.pipeline_rate(spec["video"], runner, spec["pipeline_frames"], options)
        memory.sample()
        description = runner.describe()
    return {
        "status": "ok", "runner": description, "device": device, "clock": clock,
        "samples_ms": [round(v * 1000.0, 4) for v in latency],
        "latency_ms": latency_stats([v * 1000.0 for v in latency]),
        "wall_ms": latency_stats([v * 1000.0 for v in host]),
        "throughput_fps": throughput(batch * len(host), loop_s),
        "peak_rss_mib": rss, "device_memory_mib": memory.mib(), "device_memory_note": memory.note,
        "stages_ms": stages, "source_stages": source_stages, "pipeline": pipeline,
        "seconds": time.perf_counter() - started,
    }


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    line = text.splitlines()[0] if text else ""
    return line if isinstance(exc, UserError) else "{}: {}".format(type(exc).__name__, line)


def _exit_with_parent(parent: int) -> None:
    """Stop this cell's process when the benchmark that started it is gone (killed without cleaning up)."""
    import threading

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()


def child(spec: Dict[str, Any], results: Any, parent: int = 0) -> None:
    """Entry point of the cell's process: measure, then put the result (or the error) on ``results``."""
    if parent:
        _exit_with_parent(parent)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    try:
        result = measure(spec)
    except BaseException as exc:  # noqa: B902 (report anything, including KeyboardInterrupt)
        result = {"status": "failed", "reason": _first_line(exc)}
        if not isinstance(exc, UserError):
            result["traceback"] = traceback.format_exc()
    results.put(result)


def run_isolated(spec: Dict[str, Any], poll: float = 0.5) -> Dict[str, Any]:
    """Run :func:`child` in a fresh spawned process and return its result (a failed result if it died)."""
    import multiprocessing
    import queue

    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    process = context.Process(target=child, args=(spec, results, os.getpid()), daemon=True)
    process.start()
    try:
        while True:
            try:
                return dict(results.get(timeout=poll))
            except queue.Empty:
                if not process.is_alive():
                    try:
                        return dict(results.get(timeout=poll))
                    except queue.Empty:
                        code = process.exitcode
                        why = " (killed: out of memory?)" if code == -9 else ""
                        return {"status": "failed",
                                "reason": "the cell's process exited with code {}{}".format(code, why)}
    finally:
        if process.is_alive():
            process.terminate()
        process.join(timeout=10)
