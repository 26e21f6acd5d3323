"""The benchmark matrix: plan the cells, prepare the model files, run each cell, add the accuracy column.

``run_benchmark(BenchOptions(model="emlnet-lite", ...))`` → :class:`~.schema.BenchResult`.

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
import dataclasses
import importlib.util
import logging
import os
import shutil
import sys
import tempfile
import time
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from .. import system
from ..devices import check_device, parse_device
from ..errors import UserError
from ..sidecar import read_sidecar
from .schema import BenchResult, Cell

log = logging.getLogger("edge_saliency")

BACKENDS = ("onnxruntime", "tensorrt", "torch")
PRECISIONS = ("fp32", "fp16", "int8")
REFERENCE_ORDER = ("torch", "onnxruntime", "tensorrt")
SOURCE_KEYS = ("model", "weights_sha256", "pretrained", "backbone_weights", "seed")
OTHER_CPU_WARNING = 0.2  # cores other processes used during a cell, on average, above which timings are flagged


@dataclasses.dataclass
class BenchOptions:
    model: str
    backends: Sequence[str] = BACKENDS
    precisions: Sequence[str] = PRECISIONS
    sizes: Sequence[Tuple[int, int]] = ()  # () : the model's size
    batches: Sequence[int] = (1,)
    device: str = "auto"
    threads: Optional[int] = None  # None: every CPU core
    warmup: int = 10
    iterations: int = 100
    video: Optional[str] = None
    accuracy_frames: int = 8
    stage_frames: int = 30
    pipeline_frames: int = 60
    weights: Optional[str] = None
    pretrained: bool = False
    backbone_weights: Optional[Dict[str, str]] = None
    seed: int = 0
    calibration: Optional[str] = None
    work_dir: str = "bench-models"
    engine_dir: str = "engines"
    plugins: Sequence[str] = ()
    baseline: str = "torch:fp32"

    def validate(self) -> None:
        for name, values, allowed in (("--backend", self.backends, BACKENDS),
                                      ("--precision", self.precisions, PRECISIONS)):
            bad = [v for v in values if v not in allowed]
            if bad or not values:
                raise UserError("{} takes {}, got {}".format(name, ", ".join(allowed), ", ".join(bad) or "nothing"))
        self.device = check_device(self.device)
        for name, value, low in (("--iterations", self.iterations, 1), ("--warmup", self.warmup, 0),
                                 ("--accuracy-frames", self.accuracy_frames, 1),
                                 ("--stage-frames", self.stage_frames, 0),
                                 ("--pipeline-frames", self.pipeline_frames, 0)):
            if value < low:
                raise UserError("{} must be at least {}, got {}".format(name, low, value))
        if any(b < 1 for b in self.batches) or not self.batches:
            raise UserError("--batch takes sizes of 1 or more, got {}".format(list(self.batches)))
        if self.threads is not None and self.threads < 1:
            raise UserError("--threads must be at least 1, got {}".format(self.threads))
        from ..config import check_input_size

        for size in self.sizes:
            check_input_size(size, 32, hint=" (EML-Net input sizes are multiples of 32, e.g. 256x320 or 480x640)")
        baseline_backend, _, baseline_precision = self.baseline.partition(":")
        if baseline_backend not in BACKENDS or baseline_precision not in PRECISIONS:
            raise UserError("--baseline takes BACKEND:PRECISION (e.g. torch:fp32), got {!r}".format(self.baseline))


# -- what this machine can run -------------------------------------------------------------------------


def capabilities() -> Dict[str, Any]:
    """Which backends and devices this machine has (cheap probes; torch is imported when installed)."""
    caps: Dict[str, Any] = {"torch": importlib.util.find_spec("torch") is not None, "torch_cuda": False,
                            "tensorrt": system.tensorrt_version(), "gpu": system.gpu_info() is not None,
                            "ort_providers": []}
    if caps["torch"]:
        import torch

        caps["torch_cuda"] = bool(torch.cuda.is_available())
    try:
        import onnxruntime

        caps["ort_providers"] = list(onnxruntime.get_available_providers())
    except ImportError:
        caps["onnxruntime_missing"] = True
    return caps


def cell_device(backend: str, precision: str, device: str, caps: Mapping[str, Any]) -> Tuple[Optional[str], str]:
    """(the device a cell runs on, "cpu" or "cuda", and "") or (None, why it cannot run here). ``device``: auto,
    cpu, cuda or cuda:N (the GPU number travels to the cell beside the plan: :func:`cell_spec`)."""
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


# -- model files ---------------------------------------------------------------------------------------


def _onnx_input(path: str) -> Tuple[Optional[Dict[str, Any]], Optional[Dict[str, Any]]]:
    """(sidecar info, source record) of an exported ONNX file, or (None, None)."""
    sidecar = read_sidecar(path, required=False)
    if sidecar is None or sidecar.kind != "onnx":
        return None, None
    return sidecar.info, sidecar.info.get("source")


def _same_source(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return all(a.get(k) == b.get(k) for k in SOURCE_KEYS)


def _export_stem(options: BenchOptions) -> str:
    stem = os.path.splitext(os.path.basename(options.model))[0]
    if options.pretrained:
        stem += "-pretrained"
    if options.weights:
        stem += "-" + os.path.splitext(os.path.basename(options.weights))[0]
    if options.seed:
        stem += "-seed{}".format(options.seed)
    return stem


class Models:
    """The ONNX file of each (precision, size, batch) and the source record of the PyTorch model."""

    def __init__(self, options: BenchOptions) -> None:
        from ..models.source import ModelSource

        self.options = options
        o = options
        parsed = ModelSource.parse(o.model, o.weights, o.pretrained, o.backbone_weights, o.seed)
        if parsed.kind in ("engine", "onnxruntime"):
            raise UserError("{} is a {} built for one machine; bench exports and builds its own: give the model, "
                            "or the exported .onnx it was built from".format(o.model, parsed.kind))
        self.onnx_mode = parsed.kind == "onnx"
        self.files: Dict[Tuple[str, Tuple[int, int], bool], str] = {}
        self.source: Optional[Dict[str, Any]] = None
        self.weights_label = ""
        self.model_name = options.model
        self.default_size: Optional[Tuple[int, int]] = None
        if self.onnx_mode:
            self._describe_onnx()
        else:
            self._describe_export()

    def _describe_onnx(self) -> None:
        path = self.options.model
        info, source = _onnx_input(path)
        reference = (info or {}).get("reference") or {}
        if info is not None and info.get("precision") not in (None, "fp32") and reference.get("file"):
            path = os.path.join(os.path.dirname(path), info["reference"]["file"])  # the fp32 file it came from
            info, source = _onnx_input(path) if os.path.isfile(path) else (info, source)
        self.base = path
        self.info = info
        self.source = source
        if info is not None and info.get("input_size"):
            self.default_size = (int(info["input_size"][0]), int(info["input_size"][1]))
        self.model_name = os.path.basename(path)
        self.weights_label = _weights_label(source) if source else "as exported (no sidecar)"

    def _describe_export(self) -> None:
        from .._lazy import require

        require("torch", extra="export", purpose="exporting {} to ONNX for the benchmark (or pass an exported "
                                                   ".onnx file)".format(self.options.model))
        from ..export.api import build_source, config_without_weights

        o = self.options
        self.source = build_source(o.model, o.weights, o.pretrained, o.backbone_weights, o.seed)
        config = config_without_weights(o.model)
        if config is not None:
            self.default_size = (int(config.input_size[0]), int(config.input_size[1]))
            self.model_name = config.name
        self.weights_label = _weights_label(self.source)

    def onnx_file(self, precision: str, size: Tuple[int, int], batch: int) -> Tuple[Optional[str], str]:
        """(the ONNX file for a cell, "") or (None, why there is none)."""
        from ..export.naming import variant_path

        if not self.onnx_mode:
            return self.files.get((precision, size, batch > 1)), ""
        path = variant_path(self.base, precision)
        if not os.path.isfile(path):
            return None, "{} not found (export with --precision all)".format(os.path.basename(path))
        info, _ = _onnx_input(path)
        if info is not None and not info.get("dynamic"):
            exported = tuple(int(v) for v in info.get("input_size") or ())
            if exported and exported != tuple(size):
                return None, "{} is static at {}x{} (export it at {}x{}, or with --dynamic)".format(
                    os.path.basename(path), exported[0], exported[1], size[0], size[1])
            if batch > 1:
                return None, "{} has a static batch of 1 (export with --dynamic for batch {})".format(
                    os.path.basename(path), batch)
        return path, ""

    def export(self, cells: Sequence[Cell], progress: Callable[[str], None]) -> None:
        """Export (or reuse) the ONNX files the runnable ONNX Runtime / TensorRT cells need."""
        if self.onnx_mode:
            return
        from ..export.api import export_model
        from ..export.naming import variant_path

        wanted: Dict[Tuple[Tuple[int, int], bool], List[str]] = {}
        for cell in cells:
            if cell.status == "planned" and cell.backend != "torch":
                key = (cell.size, cell.batch > 1)
                wanted.setdefault(key, ["fp32"])
                if cell.precision not in wanted[key]:
                    wanted[key].append(cell.precision)
        for (size, dynamic), precisions in wanted.items():
            output = os.path.join(self.options.work_dir, "{}-{}x{}{}.onnx".format(
                _export_stem(self.options), size[0], size[1], "-dynamic" if dynamic else ""))
            if not self._reusable(output, precisions, size, dynamic):
                progress("exporting {} at {}x{}{} ({}) to {}".format(self.model_name, size[0], size[1],
                                                                   ", dynamic" if dynamic else "",
                                                                   ", ".join(precisions), output))
                o = self.options
                export_model(o.model, output, precisions=precisions, input_size=size, dynamic=dynamic,
                             weights=o.weights, pretrained=o.pretrained, backbone_weights=o.backbone_weights,
                             seed=o.seed, calibration=o.calibration)
            else:
                progress("reusing {} ({})".format(output, ", ".join(precisions)))
            for precision in precisions:
                self.files[(precision, size, dynamic)] = variant_path(output, precision)

    def _reusable(self, output: str, precisions: Sequence[str], size: Tuple[int, int], dynamic: bool) -> bool:
        from ..export.naming import variant_path

        for precision in precisions:
            path = variant_path(output, precision)
            info, source = _onnx_input(path) if os.path.isfile(path) else (None, None)
            if info is None or source is None or self.source is None or not _same_source(source, self.source):
                return False
            if list(info.get("input_size") or []) != [size[0], size[1]] or bool(info.get("dynamic")) != dynamic:
                return False
            if info.get("upsample") != "native" or info.get("precision") != precision:
                return False
        return True


def _weights_label(source: Mapping[str, Any]) -> str:
    if str(source.get("model", "")).endswith(".safetensors"):
        return "saved model {}".format(os.path.basename(source["model"]))
    if source.get("weights"):
        return "weights {}".format(os.path.basename(source["weights"]))
    if source.get("pretrained") or source.get("backbone_weights"):
        return "trained backbones (pretrained), random readouts and decoder (seed {})".format(source.get("seed", 0))
    return "random (seed {}); latency does not depend on the weights".format(source.get("seed", 0))


# -- running -------------------------------------------------------------------------------------------


def _load() -> List[float]:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return []


def _cpu_seconds() -> Optional[Tuple[float, float, float]]:
    """(busy CPU seconds of the whole machine since boot, seconds stolen by the hypervisor, CPU seconds of this
    process and its finished children), or None where /proc/stat is missing.
    Busy = user + nice + system + irq + softirq (steal apart)."""
    try:
        import resource

        with open("/proc/stat", encoding="ascii") as f:
            fields = [int(v) for v in f.readline().split()[1:9]]
        tick = float(os.sysconf("SC_CLK_TCK"))
        busy = (sum(fields[:3]) + fields[5] + fields[6]) / tick
        ours = 0.0
        for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
            usage = resource.getrusage(who)
            ours += usage.ru_utime + usage.ru_stime
        return busy, fields[7] / tick, ours
    except (OSError, ValueError, IndexError, ImportError, AttributeError):
        return None


def other_cpu(before: Optional[Tuple[float, float, float]], after: Optional[Tuple[float, float, float]],
              wall: float) -> Tuple[Optional[float], Optional[float]]:
    """(CPU cores other processes used, CPU cores the hypervisor stole), on average between two
    :func:`_cpu_seconds` readings ``wall`` seconds apart."""
    if before is None or after is None or wall <= 0:
        return None, None
    others = ((after[0] - before[0]) - (after[2] - before[2])) / wall
    return max(0.0, others), max(0.0, (after[1] - before[1]) / wall)


def cell_spec(cell: Cell, options: BenchOptions, models: Models, video: str, maps_path: str) -> Dict[str, Any]:
    return {
        "backend": cell.backend, "precision": cell.precision, "size": list(cell.size), "batch": cell.batch,
        "device": cell.device, "gpu": parse_device(options.device)[1], "threads": cell.threads,
        "model_file": cell.model_file, "source": models.source,
        "warmup": options.warmup, "iterations": options.iterations, "video": video,
        "accuracy_frames": options.accuracy_frames, "stage_frames": options.stage_frames,
        "pipeline_frames": options.pipeline_frames, "engine_dir": options.engine_dir,
        "plugins": list(options.plugins), "maps_path": maps_path,
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
    from ..runtime.sample_clip import write_sample_clip

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
    if cell.other_cpu is not None:
        line += " [other CPU {:.2f}, stolen {:.2f}]".format(cell.other_cpu, cell.steal_cpu or 0.0)
    return line


def run_benchmark(options: BenchOptions, progress: Optional[Callable[[str], None]] = None,
                  command: str = "") -> BenchResult:
    """Plan, prepare, run every cell in its own process, then add the accuracy column."""
    from .cell import run_isolated

    say = progress or (lambda text: print(text, file=sys.stderr, flush=True))
    options.validate()
    caps = capabilities()
    models = Models(options)
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
    env = system.environment(use_torch=bool(caps.get("torch")))
    env["load_before"] = _load()
    env["niceness"] = os.nice(0) if hasattr(os, "nice") else None
    work = tempfile.mkdtemp(prefix="edge-saliency-bench-")
    try:
        video, video_label = _resolve_video(options, work)
        models.export(cells, say)
        for cell in cells:
            if cell.status == "planned" and cell.backend != "torch":
                cell.model_file, reason = models.onnx_file(cell.precision, cell.size, cell.batch)
                if cell.model_file is None:
                    cell.status, cell.reason = "skipped", reason
            elif cell.backend == "torch" and models.source is not None:
                cell.model_file = "torch:{}".format(os.path.basename(str(models.source.get("model"))))
        maps: Dict[str, str] = {}
        total = len(cells)
        for index, cell in enumerate(cells, 1):
            if cell.status == "planned":
                maps_path = os.path.join(work, cell.id + ".npy")
                spec = cell_spec(cell, options, models, video, maps_path)
                before, cpu_before, started = _load()[:1], _cpu_seconds(), time.perf_counter()
                result = run_isolated(spec)  # returns once the cell's process has exited
                cell.other_cpu, cell.steal_cpu = other_cpu(cpu_before, _cpu_seconds(), time.perf_counter() - started)
                cell.load_1min = before + _load()[:1]
                if result.get("traceback"):
                    log.debug("%s failed:\n%s", cell.id, result["traceback"])
                for key, value in result.items():
                    if hasattr(cell, key):
                        setattr(cell, key, value)
                cell.warmup, cell.iterations = options.warmup, options.iterations
                cell.stage_frames = options.stage_frames if cell.ok else 0
                if cell.ok:
                    maps[cell.id] = maps_path
            say("[{}/{}] {}".format(index, total, _summary_line(cell)))
        add_accuracy(cells, {k: np.load(v) for k, v in maps.items()})
    finally:
        shutil.rmtree(work, ignore_errors=True)
    env["load_after"] = _load()
    settings = {
        "model": models.model_name, "model_argument": options.model, "weights": models.weights_label,
        "backends": list(options.backends), "precisions": list(options.precisions),
        "sizes": [list(s) for s in sizes], "batches": list(options.batches), "device": options.device,
        "threads": threads, "warmup": options.warmup, "iterations": options.iterations, "video": video_label,
        "accuracy_frames": options.accuracy_frames, "stage_frames": options.stage_frames,
        "pipeline_frames": options.pipeline_frames, "baseline": options.baseline,
        "isolation": "one spawned process per cell",
    }
    result = BenchResult(environment=env, settings=settings, cells=cells, command=command,
                         created=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    result.warnings = run_warnings(result)
    return result


def run_warnings(result: BenchResult) -> List[str]:
    """What a reader of the numbers must know: the environment's warnings, a busy machine, few samples."""
    env = result.environment
    warnings = system.performance_warnings(env)
    cores = env.get("cpu_count") or 1
    others = [(c.other_cpu, c.id) for c in result.cells if c.other_cpu is not None]
    stolen = [(c.steal_cpu, c.id) for c in result.cells if c.steal_cpu is not None]
    if others and max(others)[0] >= OTHER_CPU_WARNING:
        warnings.append("other processes used up to {:.2f} of the {} CPUs while a cell ran ({}): timings on the CPU "
                        "are noisy; see each cell's 'other CPU'".format(max(others)[0], cores, max(others)[1]))
    if stolen and max(stolen)[0] >= OTHER_CPU_WARNING:
        warnings.append("the hypervisor took up to {:.2f} of the {} virtual CPUs while a cell ran ({}; steal time): "
                        "the cells had less CPU than the machine shows; see each cell's 'other CPU'".format(
                            max(stolen)[0], cores, max(stolen)[1]))
    if not others and env.get("load_before") and env["load_before"][0] >= 0.5 * cores:
        warnings.append("the machine was busy when the run started: 1-min load {:.2f} on {} CPUs (CPU timings are "
                        "noisy)".format(env["load_before"][0], cores))
    iterations = result.settings.get("iterations", 0)
    if iterations and iterations < 100:
        warnings.append("{} timed iterations per cell: p99 is interpolated between the largest samples; use "
                        "--iterations 100 or more for tail latencies".format(iterations))
    return warnings


# -- accuracy ------------------------------------------------------------------------------------------


def reference_for(cell: Cell, cells: Sequence[Cell]) -> Optional[Cell]:
    """The cell whose maps ``cell`` is compared with (module docstring); ``cell`` itself when it is the
    reference; None when no fp32 cell ran at its size and batch."""
    ran = [c for c in cells if c.ok and c.precision == "fp32" and c.size == cell.size and c.batch == cell.batch]
    if not ran:
        return None
    ordered = sorted(ran, key=lambda c: REFERENCE_ORDER.index(c.backend))
    if cell.precision != "fp32":
        same = [c for c in ordered if c.backend == cell.backend]
        return same[0] if same else ordered[0]
    return ordered[0]


def add_accuracy(cells: Sequence[Cell], maps: Mapping[str, np.ndarray]) -> None:
    """Fill ``cell.accuracy`` of every cell that ran: CC / KLD / SIM / NSS agreement vs its reference."""
    from ..export.evaluate import EvalInput, accuracy

    for cell in cells:
        if not cell.ok or cell.id not in maps:
            continue
        reference = reference_for(cell, cells)
        if reference is None or reference.id not in maps:
            cell.accuracy = {"reference": None, "note": "no fp32 cell ran at this size and batch"}
            continue
        if reference is cell:
            cell.accuracy = {"reference": "self", "frames": int(maps[cell.id].shape[0])}
            continue
        ref, out = maps[reference.id], maps[cell.id]
        inputs = [EvalInput("frame{}".format(i), np.empty(0), True) for i in range(ref.shape[0])]
        result = accuracy(inputs, [r[None] for r in ref], [o[None] for o in out])
        result.pop("per_frame", None)
        cell.accuracy = dict(result, reference=reference.id)
