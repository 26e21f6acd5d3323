"""``build_engine``: ONNX file -> TensorRT engine, or an optimized ONNX Runtime artifact where there is no
TensorRT, each with its sidecar, in the engine cache."""
import dataclasses
import logging
import os
import time
from typing import Any, List, Optional, Tuple

from .. import system
from .._lazy import require
from ..errors import MissingDependencyError, UserError
from ..files.atomic import check_writable, write_blocked, write_temp
from ..files.checks import Output, check_outputs
from ..files.output_group import OutputGroup
from ..files.sidecar import Sidecar, read_sidecar, sidecar_path
from ..files.temps import remove_stale
from ..vocabulary import ENGINE_DIR
from .cache import artifact_path, cache_key, current_target, file_sha256, is_up_to_date, rebuild_command
from .onnx_info import OnnxDescription, check_saliency_io, describe_onnx
from .options import BACKENDS, BuildOptions
from .trt_compat import load_tensorrt

log = logging.getLogger("edge_saliency.engine")


@dataclasses.dataclass
class BuildResult:
    path: str
    sidecar: Sidecar
    backend: str
    skipped: bool  # an up-to-date artifact was already in the cache
    fallback: bool  # --backend auto fell back to ONNX Runtime


def resolve_backend(backend: str) -> str:
    """'auto' -> 'tensorrt' when TensorRT imports, else 'onnxruntime'; 'tensorrt' without it is an error."""
    if backend not in BACKENDS:
        raise UserError("--backend must be one of {}, got {!r}".format(", ".join(BACKENDS), backend))
    if backend == "onnxruntime":
        return backend
    try:
        load_tensorrt()
    except MissingDependencyError:
        if backend == "tensorrt":
            raise
        return "onnxruntime"
    return "tensorrt"


def _plugins_needed(description: OnnxDescription, options: BuildOptions) -> None:
    """An ONNX with BilinearUpsample_TRT nodes needs our plugin library for TensorRT: find it if not given."""
    if description.plugin_nodes and not options.plugins:
        from ..plugins import find_library  # raises with the build command when it is not built

        options.plugins = [find_library("tensorrt")]


def build_engine(
    onnx_path: str,
    options: BuildOptions,
    backend: str = "auto",
    output: Optional[str] = None,
    output_dir: str = ENGINE_DIR,
    force: bool = False,
    provider: Optional[str] = None,
    verbose: bool = False,
) -> BuildResult:
    """Build (or find in the cache) the artifact for ``onnx_path`` and ``options``.

    ``output`` overrides the cache path. The artifact and its sidecar are written together (both or neither):
    an interrupted or failed build leaves no file and keeps a previous entry. A cache entry that cannot be read
    counts as absent and is rebuilt; ``force`` always rebuilds.
    """
    description = describe_onnx(onnx_path)
    check_saliency_io(description)  # what run would refuse is not built
    if not options.precision:
        options.precision = description.precision
    options.validate()
    chosen = resolve_backend(backend)
    fallback = backend == "auto" and chosen == "onnxruntime"
    if chosen == "tensorrt":
        _plugins_needed(description, options)
    target = current_target(chosen, provider)
    plugin_hashes = [file_sha256(p) for p in options.plugins if os.path.isfile(p)]
    key = cache_key(file_sha256(onnx_path), options, target, plugin_hashes)
    path = output or artifact_path(onnx_path, options.precision, chosen, key, output_dir)
    check_outputs([Output(path, "engine"), Output(sidecar_path(path), "engine sidecar")] +
                  ([Output(options.timing_cache, "timing cache")] if options.timing_cache else []),
                  [onnx_path, sidecar_path(onnx_path)] + list(options.plugins))
    existing = None if force else _cached(path)
    if existing is not None and is_up_to_date(path, existing, key):
        for done in (path, sidecar_path(path)):  # a killed build of this entry may have left its temp files
            remove_stale(done)
        return BuildResult(path, existing, chosen, skipped=True, fallback=fallback)
    check_writable(path, "engine")

    rules = _check_tensorrt_rules(onnx_path, backend, chosen)
    with OutputGroup() as group:
        tmp = group.add(path, what="engine")
        started = time.perf_counter()
        if chosen == "tensorrt":
            info = _build_tensorrt(onnx_path, description, options, tmp, verbose, group.output(tmp))
        else:
            info = _build_onnxruntime(onnx_path, description, options, tmp, target.provider or "", group.output(tmp))
        sidecar = _sidecar(info, onnx_path, description, options, chosen, key, target, plugin_hashes, tmp, started,
                           rules)
        sidecar_tmp = group.add(sidecar_path(path), what="engine sidecar")
        write_temp(sidecar_tmp, sidecar.text().encode("utf-8"), group.output(sidecar_tmp))
    return BuildResult(path, sidecar, chosen, skipped=False, fallback=fallback)


def _cached(path: str) -> Optional[Sidecar]:
    """The sidecar of a cache entry; None when there is no entry, or it cannot be read (then it is rebuilt)."""
    if not os.path.isfile(path):
        return None
    try:
        return read_sidecar(path, required=False)
    except UserError as exc:
        log.warning("the cached %s cannot be used (%s): rebuilding it", path, exc)
        return None


def _sidecar(info: dict, onnx_path: str, description: OnnxDescription, options: BuildOptions, chosen: str,
             key: str, target: Any, plugin_hashes: List[str], built: str, started: float,
             rules: Optional[dict]) -> Sidecar:
    """The artifact's sidecar: the build facts ``info`` plus key, target, inputs, the TensorRT rules check and the
    rebuild command."""
    onnx_sidecar = description.sidecar
    info.update({
        "backend": chosen,
        "key": key,
        "target": dataclasses.asdict(target),
        "precision": options.precision,
        "options": options.to_dict(),
        "onnx": {"path": os.path.abspath(onnx_path), "sha256": file_sha256(onnx_path),
                 "precision": description.precision, "plugin_nodes": description.plugin_nodes,
                 "export": onnx_sidecar.info if onnx_sidecar else None},
        "plugins": [{"path": os.path.abspath(p), "sha256": h} for p, h in zip(options.plugins, plugin_hashes)],
        "artifact_sha256": file_sha256(built),
        "build_seconds": round(time.perf_counter() - started, 2),
        "environment": system.environment(),
        "tensorrt_rules": rules,
        "rebuild_command": rebuild_command(onnx_path, options, chosen),
    })
    return Sidecar(
        kind="engine" if chosen == "tensorrt" else "onnxruntime",
        model=onnx_sidecar.model if onnx_sidecar else None,
        info=info,
    )


def _check_tensorrt_rules(onnx_path: str, backend: str, chosen: str) -> Optional[dict]:
    """The TensorRT rules check before any TensorRT call: for the installed TensorRT, or — when ``auto`` falls
    back to ONNX Runtime on a machine without it — for every supported version, so that a file a Jetson would
    reject is refused here too. An explicit ``--backend onnxruntime`` build is not checked."""
    from . import trt_rules

    versions: Tuple[str, ...]
    if chosen == "tensorrt":
        versions = (trt_rules.line_of(system.tensorrt_version() or "unknown"),)
        hint = ""
    elif backend == "auto":
        versions = trt_rules.LINES
        hint = " (no TensorRT here: checked for every version; --backend onnxruntime builds it for ONNX Runtime)"
    else:
        return None
    report = trt_rules.check_file(onnx_path, versions)
    if not report.passes():
        raise trt_rules.refusal(onnx_path, report, hint=hint)
    for finding in report.of("warning"):
        log.warning("TensorRT: %s", finding.line())
    return report.summary()


def _build_tensorrt(onnx_path: str, description: OnnxDescription, options: BuildOptions, tmp: str,
                    verbose: bool, output: Any) -> dict:
    from .trt_builder import build_serialized_engine

    data, report = build_serialized_engine(onnx_path, options, description.precision, verbose=verbose)
    write_temp(tmp, data, output)
    return {
        "tensorrt_version": report.tensorrt_version,
        "inputs": report.inputs,
        "outputs": report.outputs,
        "plan": dataclasses.asdict(report.plan),
        "host_code": report.plan.host_code,
        "log": {"counts": report.log_counts, "tail": report.log_tail},
    }


def _build_onnxruntime(onnx_path: str, description: OnnxDescription, options: BuildOptions, tmp: str,
                       provider: str, output: Any) -> dict:
    """ONNX Runtime's offline optimization of the graph, saved for ``provider`` (the runtime then loads it
    with graph optimizations off, so start-up skips the work)."""
    from ..plugins.ort_op import check_plugin_inputs_float32, create_session

    if options.precision != description.precision:
        raise UserError(
            "ONNX Runtime runs the precision of the ONNX file ({}); for {} pass the {} ONNX".format(
                description.precision, options.precision, options.precision)
        )
    onnxruntime = require("onnxruntime")
    if provider not in onnxruntime.get_available_providers():
        raise UserError("ONNX Runtime has no {} here; available: {}".format(
            provider, ", ".join(onnxruntime.get_available_providers())))
    if description.plugin_nodes:
        check_plugin_inputs_float32(require("onnx").load(onnx_path, load_external_data=False))
    settings = {
        "log_severity_level": 3,  # its "hardware specific optimizations" warning is why the key names the CPU
        "graph_optimization_level": onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL,
        "optimized_model_filepath": tmp,
    }
    try:
        create_session(onnx_path, [provider], plugin=description.plugin_nodes > 0, settings=settings)
    except UserError as exc:  # ONNX Runtime's own exception types (the cause) do not say why a write failed
        if exc.__cause__ is None:
            raise
        first = (str(exc.__cause__).strip().splitlines() or [type(exc.__cause__).__name__])[0]
        blocked = write_blocked(tmp) if os.path.exists(tmp) else None
        if blocked is not None:
            raise output.error(os.strerror(blocked), blocked) from None
        if os.path.exists(tmp):
            raise output.error("ONNX Runtime could not write it ({})".format(first)) from None
        raise UserError("ONNX Runtime cannot load {}: {}".format(onnx_path, first)) from None
    if not os.path.isfile(tmp):
        raise UserError("ONNX Runtime did not write the optimized model for {}".format(onnx_path))
    from .onnx_info import load_graph, weights_precision

    return {
        "onnxruntime_version": onnxruntime.__version__,
        "provider": provider,
        # what the optimised weights are (the CPU provider stores an fp16 file's weights as fp32): the runner and
        # inspect report this, not "precision" (the ONNX file it was built from)
        "weights_precision": weights_precision(load_graph(tmp)),
        "graph_optimization_level": "ORT_ENABLE_ALL",
        "custom_ops": description.plugin_nodes > 0,
        "inputs": description.inputs,
        "outputs": description.outputs,
        "host_code": False,
    }
