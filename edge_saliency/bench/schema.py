"""The benchmark result: one JSON document (schema ``edge-saliency-bench``, version :data:`SCHEMA_VERSION`).

Top level:

====================  ===============================================================================
key                   value
====================  ===============================================================================
``schema``            ``"edge-saliency-bench"``
``schema_version``    int; a reader refuses a newer version (a field changed meaning)
``created``           local time, ``YYYY-MM-DDTHH:MM:SS±hhmm``
``edge_saliency``     the package version that measured
``command``           the command line
``environment``       :func:`edge_saliency.system.environment` (CPU, cores, governor, GPU, driver, CUDA,
                      TensorRT, ONNX Runtime, torch, Jetson L4T / JetPack / power mode / clocks) plus
                      ``load_before`` / ``load_after`` (1, 5, 15 min load averages) and ``niceness``
``warnings``          strings: unlocked Jetson clocks, a scaling CPU governor, a busy machine, ...
``settings``          ``model``, ``weights``, ``backends``, ``precisions``, ``sizes``, ``batches``,
                      ``device``, ``threads``, ``warmup``, ``iterations``, ``video``, ``accuracy_frames``,
                      ``stage_frames``, ``frame_sizes`` ([H, W] source sizes, ``[]``: none), ``pipeline_frames``,
                      ``baseline``, ``isolation``
``cells``             one :class:`Cell` per backend × precision × size × batch, in the order run
====================  ===============================================================================

A cell (``status``: ``ok``, ``skipped`` — not attempted, ``reason`` says why — or ``failed`` — attempted,
``reason`` is the error):

- ``backend``, ``precision``, ``size`` [H, W], ``batch``; ``id`` = ``backend-precision-HxW-bN``;
- ``model_file`` (the ONNX file, or ``torch:<model>``), ``runner`` (what ran: provider / device / engine),
  ``device`` (``cpu`` / ``cuda``), ``threads``;
- ``clock``: ``perf_counter`` (host) or ``cuda-event`` (GPU work between CUDA events on the runner's stream);
  ``warmup`` and ``iterations``; ``samples_ms``: every timed iteration on that clock (one batch each);
- ``latency_ms``: :func:`~edge_saliency.bench.stats.latency_stats` of the samples (mean, p50, p90, p99,
  min, max, std, n); ``wall_ms``: the same on the host clock (equal to ``latency_ms`` on the CPU);
- ``throughput_fps``: batch × iterations / wall seconds of the timed loop;
- ``peak_rss_mib``: the peak resident memory of the process that ran the cell (model loaded, warmed up,
  timed); ``device_memory_mib``: device memory the cell took (None without a GPU; ``device_memory_note``
  says how it was measured);
- ``stages_ms``: per stage of the full frame path — ``decode``, ``preprocess``, ``copy_in``, ``infer``,
  ``copy_out``, ``postprocess`` — the latency stats over ``stage_frames`` frames of the video at its own size,
  without an output (None for a part the backend does not expose separately);
- ``source_stages``: the frame path at each ``--frame-sizes`` source size (None when not measured): a list of
  ``{"source": [H, W], "frames": n, "encoder": the overlay video's encoder, "stages_ms": {stage: latency stats
  or None}, "vs_inference": {stage: p50 per frame / inference p50 per frame or None}}`` over the stages
  ``decode``, ``preprocess``, ``copy_in``, ``infer``, ``copy_out``, ``inference`` (the runner's whole call,
  host clock), ``postprocess`` (with the overlay view) and ``output`` (the overlay video), each timed alone over
  the same clip of real frames scaled to that size (:mod:`edge_saliency.bench.source_sizes`);
- ``pipeline``: the streaming pipeline on the video (``fps`` end to end, ``frames``, ``wall_s``,
  ``latency_ms`` p50/p90, ``busy`` share per stage);
- ``accuracy``: against the cell named in ``reference`` on ``frames`` real video frames: ``cc``, ``cc_min``,
  ``kld``, ``sim``, ``nss_agreement``, ``max_abs`` (conventions: :mod:`edge_saliency.export.evaluate`); for
  the reference cell itself ``{"reference": "self"}``;
- ``other_cpu``: CPU cores that other processes used, on average, while the cell ran (Linux: the machine's
  busy time from /proc/stat minus this benchmark's own CPU time; 0 on an otherwise idle machine; None
  elsewhere); ``steal_cpu``: CPU cores the hypervisor took from this virtual machine meanwhile (steal time;
  0 on bare metal); ``load_1min`` [before, after] the cell (it includes the benchmark's own threads); ``seconds`` the
  cell took (loading included).

A field added later (``source_stages``, ``frame_sizes``) is absent from older results and read as None / absent:
the version changes only when a field changes meaning.
"""
import dataclasses
import json
from typing import Any, Dict, List, Optional, Tuple

from .._version import __version__
from ..errors import UserError

SCHEMA = "edge-saliency-bench"
SCHEMA_VERSION = 1
STAGES = ("decode", "preprocess", "copy_in", "infer", "copy_out", "postprocess")
STATUSES = ("ok", "skipped", "failed")


@dataclasses.dataclass
class Cell:
    backend: str
    precision: str
    size: Tuple[int, int]
    batch: int
    status: str = "planned"
    reason: Optional[str] = None
    model_file: Optional[str] = None
    runner: Optional[str] = None
    device: Optional[str] = None
    threads: Optional[int] = None
    clock: Optional[str] = None
    warmup: int = 0
    iterations: int = 0
    samples_ms: List[float] = dataclasses.field(default_factory=list)
    latency_ms: Optional[Dict[str, float]] = None
    wall_ms: Optional[Dict[str, float]] = None
    throughput_fps: Optional[float] = None
    peak_rss_mib: Optional[float] = None
    device_memory_mib: Optional[float] = None
    device_memory_note: Optional[str] = None
    stages_ms: Optional[Dict[str, Optional[Dict[str, float]]]] = None
    stage_frames: int = 0
    source_stages: Optional[List[Dict[str, Any]]] = None
    pipeline: Optional[Dict[str, Any]] = None
    accuracy: Optional[Dict[str, Any]] = None
    load_1min: List[float] = dataclasses.field(default_factory=list)
    other_cpu: Optional[float] = None
    steal_cpu: Optional[float] = None
    seconds: Optional[float] = None

    @property
    def id(self) -> str:
        return "{}-{}-{}x{}-b{}".format(self.backend, self.precision, self.size[0], self.size[1], self.batch)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> Dict[str, Any]:
        data = dataclasses.asdict(self)
        data["size"] = [int(self.size[0]), int(self.size[1])]
        return dict({"id": self.id}, **data)

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "Cell":
        known = {f.name for f in dataclasses.fields(cls)}
        missing = {"backend", "precision", "size", "batch", "status"} - set(data)
        if missing:
            raise UserError("a benchmark cell lacks {}".format(", ".join(sorted(missing))))
        values = {k: v for k, v in data.items() if k in known}
        values["size"] = (int(data["size"][0]), int(data["size"][1]))
        cell = cls(**values)
        if cell.status not in STATUSES:
            raise UserError("benchmark cell {} has status {!r}; expected one of {}".format(
                cell.id, cell.status, ", ".join(STATUSES)))
        return cell


@dataclasses.dataclass
class BenchResult:
    environment: Dict[str, Any]
    settings: Dict[str, Any]
    cells: List[Cell]
    warnings: List[str] = dataclasses.field(default_factory=list)
    command: str = ""
    created: str = ""
    edge_saliency: str = __version__
    schema: str = SCHEMA
    schema_version: int = SCHEMA_VERSION

    def cell(self, cell_id: str) -> Optional[Cell]:
        return next((c for c in self.cells if c.id == cell_id), None)

    def to_dict(self) -> Dict[str, Any]:
        return {
            "schema": self.schema, "schema_version": self.schema_version, "created": self.created,
            "edge_saliency": self.edge_saliency, "command": self.command, "environment": self.environment,
            "warnings": list(self.warnings), "settings": self.settings, "cells": [c.to_dict() for c in self.cells],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    @classmethod
    def from_dict(cls, data: Dict[str, Any], source: str = "benchmark result") -> "BenchResult":
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            raise UserError("{} is not an edge-saliency benchmark result (no \"schema\": \"{}\")".format(
                source, SCHEMA))
        version = data.get("schema_version")
        if not isinstance(version, int) or version > SCHEMA_VERSION:
            raise UserError("{} has benchmark schema version {}; this edge-saliency reads up to {}: upgrade "
                            "edge-saliency".format(source, version, SCHEMA_VERSION))
        return cls(environment=dict(data.get("environment") or {}), settings=dict(data.get("settings") or {}),
                   cells=[Cell.from_dict(c) for c in data.get("cells") or []],
                   warnings=list(data.get("warnings") or []), command=str(data.get("command", "")),
                   created=str(data.get("created", "")), edge_saliency=str(data.get("edge_saliency", "")),
                   schema_version=version)


def load_result(path: str) -> BenchResult:
    """Read a result JSON written by ``edge-saliency bench`` (refuses other files with one line)."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise UserError("benchmark result not found: {}".format(path)) from None
    except (OSError, ValueError) as exc:
        raise UserError("cannot read benchmark result {}: {}".format(path, exc)) from None
    return BenchResult.from_dict(data, source=path)
