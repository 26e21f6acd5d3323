"""The one place that knows how TensorRT versions differ (8.5 / 8.6 on JetPack 5 and 6.0, 10.x, 11.x).

Features are detected with ``hasattr`` on the module and its classes, not from version strings: a flag or
property is used only where it exists. :func:`plan_build` turns (features, options, the ONNX file's own
precision) into a :class:`BuildPlan` — pure data, unit-tested with fake ``tensorrt`` namespaces — and
:func:`apply_plan` performs it on a builder config, so the calls made on every version are visible in tests.

Version facts, each from NVIDIA's headers and Python binding sources of that version (``docs/tensorrt.md``
lists them with their lines; ``tests/engine/tensorrt_api.json`` holds every Python name per version):

- ``NetworkDefinitionCreationFlag.EXPLICIT_BATCH``: needed before 10, ignored in 10.x, gone in 11.1;
  ``STRONGLY_TYPED`` from 10.0 (8.5.3 / 8.6.1 have only EXPLICIT_BATCH / EXPLICIT_PRECISION); in 11.1 it is
  deprecated, ignored and 0: every network is strongly typed (NvInfer.h:11469-11471 in 11.1);
- ``BuilderFlag.FP16`` / ``INT8`` (weak typing): up to 10.x, deprecated from 10.12 ("superseded by strong
  typing", NvInfer.h:10466-10472 in 10.16), gone in 11.1, where the precision lives in the ONNX file (fp16
  tensors, explicit Q/DQ);
- ``builder_optimization_level``, ``BuilderFlag.VERSION_COMPATIBLE``, ``IBuilderConfig.plugins_to_serialize``
  and ``Runtime.engine_host_code_allowed``: from 8.6 (pyCore.cpp in 8.6.1; none of them in 8.5.3);
- ``ParserError.node_name()`` / ``node_operator()``: from 10.0 (pyOnnx.cpp:188-189); 8.5 / 8.6 give the node's
  index in the ONNX graph only (``node()``), which :func:`parser_errors` turns into its name;
- the plugin registry: ``get_plugin_creator`` on 8.x and 10.x, ``get_creator`` from 10.0 (the only one in 11.1);
  ``load_library`` from 8.6.
"""
import dataclasses
import re
from typing import TYPE_CHECKING, Any, List, Optional, Sequence, Tuple

from .._lazy import install_hint
from ..errors import MissingDependencyError, UserError
from .options import BuildOptions

if TYPE_CHECKING:  # the tensorrt-stubs package types these for mypy; nothing is imported at run time
    import tensorrt


def load_tensorrt() -> Any:
    """The real ``tensorrt`` module, or :class:`MissingDependencyError` naming the extra.

    A stubs-only ``tensorrt`` namespace package (tensorrt-stubs, used by mypy) is not TensorRT.
    """
    try:
        import tensorrt as trt
    except ImportError as exc:
        raise MissingDependencyError(
            "TensorRT is not installed: {} (on Jetson use the JetPack system package python3-libnvinfer and a "
            "venv with --system-site-packages)".format(install_hint("tensorrt"))
        ) from exc
    if not hasattr(trt, "Builder") or not getattr(trt, "__version__", None):
        raise MissingDependencyError(
            "the importable 'tensorrt' package is not TensorRT (only type stubs?); {}".format(install_hint("tensorrt"))
        )
    return trt


def _version_tuple(version: str) -> tuple:
    return tuple(int(p) for p in re.findall(r"\d+", version)[:3])


@dataclasses.dataclass(frozen=True)
class TrtFeatures:
    version: str
    explicit_batch_flag: bool  # create_network needs 1 << EXPLICIT_BATCH (TensorRT < 10)
    strongly_typed_flag: bool  # NetworkDefinitionCreationFlag.STRONGLY_TYPED exists (10.0+)
    precision_flags: bool  # BuilderFlag.FP16 / INT8 exist (weak typing; gone in 11.1)
    tf32_flag: bool
    gpu_fallback_flag: bool
    version_compatible_flag: bool  # 8.6+
    memory_pool_api: bool  # config.set_memory_pool_limit (8.4+); else config.max_workspace_size (gone in 10)
    optimization_level: bool  # config.builder_optimization_level (8.6+)
    plugins_to_serialize: bool  # config.plugins_to_serialize (8.6+)
    host_code_switch: bool  # runtime.engine_host_code_allowed (8.6+; 8.5.3 has none)
    parser_node_names: bool  # ParserError.node_name() / node_operator() (10.0+)
    engine_inspector: bool  # ICudaEngine.create_engine_inspector (8.2+)

    @property
    def major(self) -> int:
        return _version_tuple(self.version)[0]

    @property
    def precision_flags_deprecated(self) -> bool:
        """FP16 / INT8 builder flags exist but are deprecated in favour of strong typing (10.12+)."""
        return self.precision_flags and _version_tuple(self.version)[:2] >= (10, 12)

    @property
    def always_strongly_typed(self) -> bool:
        """11.x: every network is strongly typed; the STRONGLY_TYPED flag is deprecated and ignored."""
        return self.major >= 11

    @classmethod
    def detect(cls, trt: Any) -> "TrtFeatures":
        creation = getattr(trt, "NetworkDefinitionCreationFlag", None)
        builder_flag = getattr(trt, "BuilderFlag", None)
        config_cls = getattr(trt, "IBuilderConfig", None)
        version = str(getattr(trt, "__version__", "0"))
        # EXPLICIT_BATCH still exists (deprecated, ignored) in 10.x: only needed before 10
        explicit = hasattr(creation, "EXPLICIT_BATCH") and _version_tuple(version)[0] < 10
        return cls(
            version=version,
            explicit_batch_flag=explicit,
            strongly_typed_flag=hasattr(creation, "STRONGLY_TYPED"),
            precision_flags=all(hasattr(builder_flag, f) for f in ("FP16", "INT8")),
            tf32_flag=hasattr(builder_flag, "TF32"),
            gpu_fallback_flag=hasattr(builder_flag, "GPU_FALLBACK"),
            version_compatible_flag=hasattr(builder_flag, "VERSION_COMPATIBLE"),
            memory_pool_api=hasattr(trt, "MemoryPoolType") and hasattr(config_cls, "set_memory_pool_limit"),
            optimization_level=hasattr(config_cls, "builder_optimization_level"),
            plugins_to_serialize=hasattr(config_cls, "plugins_to_serialize"),
            host_code_switch=hasattr(getattr(trt, "Runtime", None), "engine_host_code_allowed"),
            parser_node_names=hasattr(getattr(trt, "ParserError", None), "node_name"),
            engine_inspector=hasattr(getattr(trt, "ICudaEngine", None), "create_engine_inspector"),
        )


@dataclasses.dataclass
class BuildPlan:
    """What the builder will be told, by TensorRT enum member names."""

    network_flags: List[str]
    strongly_typed: bool
    set_flags: List[str]
    clear_flags: List[str]
    workspace_bytes: Optional[int]
    workspace_api: Optional[str]  # "memory_pool" | "max_workspace_size" | None
    optimization_level: Optional[int]
    dla_core: Optional[int]
    plugins_to_serialize: List[str]
    notes: List[str]
    warnings: List[str] = dataclasses.field(default_factory=list)  # one line each, logged by the builder

    @property
    def host_code(self) -> bool:
        """Version-compatible engines embed the lean runtime (host code): loading them needs an opt-in."""
        return "VERSION_COMPATIBLE" in self.set_flags


def export_command(precision: str) -> str:
    hint = {"fp16": "--precision fp16", "int8": "--precision int8 --calibration FRAMES"}.get(precision, "")
    return "edge-saliency export MODEL {}".format(hint).strip()


def plan_build(features: TrtFeatures, options: BuildOptions, onnx_precision: str) -> BuildPlan:
    """Decide every builder setting for ``options`` on this TensorRT; raise UserError for what cannot work."""
    options.validate()
    precision = options.precision
    notes: List[str] = []
    warnings: List[str] = []
    if precision == "int8" and onnx_precision != "int8":
        raise UserError(
            "--precision int8 needs the Q/DQ ONNX made by calibration (this file is {}): {}".format(
                onnx_precision, export_command("int8")
            )
        )
    typing = _choose_typing(features, options.typing, precision, onnx_precision)
    if typing == "weak" and not features.precision_flags and precision != "fp32":
        raise UserError(
            "TensorRT {} has no {} builder flag (weak typing was removed in 11): build the {} ONNX and use "
            "--typing strong ({})".format(features.version, precision.upper(), precision, export_command(precision))
        )
    if typing == "strong" and not (features.strongly_typed_flag or features.always_strongly_typed):
        raise UserError(
            "TensorRT {} has no strongly typed networks (they exist from 10.0); use --typing weak".format(
                features.version)
        )
    strong = typing == "strong"
    network_flags = ["EXPLICIT_BATCH"] if features.explicit_batch_flag else []
    set_flags: List[str] = []
    clear_flags: List[str] = []

    if strong:
        if features.strongly_typed_flag and not features.always_strongly_typed:
            network_flags.append("STRONGLY_TYPED")
        if onnx_precision != precision:
            raise UserError(
                "a strongly typed build takes its precision from the ONNX file, which is {}; for {} pass the {} "
                "ONNX ({})".format(onnx_precision, precision, precision, export_command(precision))
            )
        notes.append("strongly typed network: precision {} comes from the ONNX tensors".format(precision))
    else:
        if precision == "fp32" and onnx_precision != "fp32":
            raise UserError("--precision fp32 with a {} ONNX file; pass the fp32 ONNX".format(onnx_precision))
        if precision in ("fp16", "int8"):
            set_flags.append("FP16")  # int8: layers without Q/DQ may still run in fp16
        if precision == "int8":
            set_flags.append("INT8")
        notes.append("weak typing with builder flags {}".format("/".join(set_flags) or "(none: fp32)"))
        if set_flags and features.precision_flags_deprecated:
            warnings.append(
                "TensorRT {} deprecates the {} builder flag{} (10.12+, superseded by strong typing): export the {} "
                "ONNX for a strongly typed build ({})".format(
                    features.version, "/".join(set_flags), "s" if len(set_flags) > 1 else "", precision,
                    export_command(precision)))

    if not options.tf32:
        if features.tf32_flag:
            clear_flags.append("TF32")
        else:
            notes.append("--no-tf32 ignored: this TensorRT has no TF32 flag")

    workspace_bytes = options.workspace_mib * (1 << 20) if options.workspace_mib else None
    workspace_api = None
    if workspace_bytes is not None:
        workspace_api = "memory_pool" if features.memory_pool_api else "max_workspace_size"

    level = options.optimization_level
    if level is not None and not features.optimization_level:
        notes.append("--opt-level ignored: TensorRT {} has no builder optimization level".format(features.version))
        level = None

    if options.dla_core is not None:
        if options.gpu_fallback and features.gpu_fallback_flag:
            set_flags.append("GPU_FALLBACK")
        notes.append("DLA core {}{}; plugin layers always run on the GPU".format(
            options.dla_core, " with GPU fallback" if options.gpu_fallback else ""))

    plugins: List[str] = []
    if options.version_compatible:
        if not features.version_compatible_flag:
            raise UserError("--version-compatible needs TensorRT >= 8.6 (this is {})".format(features.version))
        set_flags.append("VERSION_COMPATIBLE")
        if options.plugins:
            if not features.plugins_to_serialize:
                raise UserError(
                    "a version-compatible engine with plugins needs IBuilderConfig.plugins_to_serialize "
                    "(TensorRT >= 8.6; this is {})".format(features.version)
                )
            plugins = list(options.plugins)

    return BuildPlan(
        network_flags=network_flags, strongly_typed=strong, set_flags=set_flags, clear_flags=clear_flags,
        workspace_bytes=workspace_bytes, workspace_api=workspace_api, optimization_level=level,
        dla_core=options.dla_core, plugins_to_serialize=plugins, notes=notes, warnings=warnings,
    )


def _choose_typing(features: TrtFeatures, typing: str, precision: str, onnx_precision: str) -> str:
    """``--typing auto``: strong where weak typing is gone (11.x) or deprecated (10.12+) and the ONNX file carries
    the precision asked for; weak (builder flags) on 8.5 / 8.6 / 10.0-10.11, and on 10.12+ only for an fp16
    build from an fp32 file (the one thing only the deprecated flag does)."""
    if typing != "auto":
        return typing
    if not features.precision_flags:
        return "strong"
    if features.precision_flags_deprecated and features.strongly_typed_flag and onnx_precision == precision:
        return "strong"
    return "weak"


def network_creation_flags(trt: Any, plan: BuildPlan) -> int:
    flags = 0
    for name in plan.network_flags:
        flags |= 1 << int(getattr(trt.NetworkDefinitionCreationFlag, name))
    return flags


def apply_plan(trt: Any, config: "tensorrt.IBuilderConfig", plan: BuildPlan) -> None:
    """Perform ``plan`` on a builder config (real TensorRT, or a recording fake in tests)."""
    for name in plan.set_flags:
        config.set_flag(getattr(trt.BuilderFlag, name))
    for name in plan.clear_flags:
        config.clear_flag(getattr(trt.BuilderFlag, name))
    if plan.workspace_bytes is not None and plan.workspace_api == "memory_pool":
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, plan.workspace_bytes)
    elif plan.workspace_bytes is not None:  # TensorRT < 8.4
        setattr(config, "max_workspace_size", plan.workspace_bytes)  # noqa: B010 (gone from 10.x stubs)
    if plan.optimization_level is not None:
        config.builder_optimization_level = plan.optimization_level
    if plan.dla_core is not None:
        config.default_device_type = trt.DeviceType.DLA
        config.DLA_core = plan.dla_core
    if plan.plugins_to_serialize:
        config.plugins_to_serialize = plan.plugins_to_serialize


def parser_errors(parser: "tensorrt.OnnxParser", nodes: Optional[Sequence[Tuple[str, str]]] = None) -> List[str]:
    """One line per ONNX parser error, naming the node and its operator.

    TensorRT >= 10.0 says which (``node_name()`` / ``node_operator()``); 8.5 / 8.6 give only ``node()``, the
    node's index in the ONNX graph (-1: none), so ``nodes`` — (name, op type) of every graph node in order,
    see :func:`edge_saliency.engine.onnx_info.graph_nodes` — supplies the name there.
    """
    lines = []
    for index in range(parser.num_errors):
        error = parser.get_error(index)
        node = int(error.node())
        name, op = "", ""
        if hasattr(error, "node_name"):  # 10.0+
            name, op = error.node_name(), error.node_operator()
        if not (name or op) and nodes is not None and 0 <= node < len(nodes):
            name, op = nodes[node]
        if name or op:
            where = "node {} '{}' ({})".format(node, name, op)
        else:
            where = "node {}".format(node) if node >= 0 else "model"
        lines.append("{}: {}".format(where, error.desc()))
    return lines
