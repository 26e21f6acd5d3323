"""``edge-saliency build-engine``: ONNX -> TensorRT engine (or an ONNX Runtime artifact without TensorRT)."""
import argparse
import logging
from typing import Any

from ..engine.options import BACKENDS, PRECISIONS, TYPING_MODES, BuildOptions, shape_ranges  # standard library only
from ..vocabulary import ENGINE_DIR
from .common import add_plugin_argument, add_profile_arguments, add_subcommand

log = logging.getLogger("edge_saliency")


def register(subparsers: Any) -> None:
    parser = add_subcommand(
        subparsers, "build-engine", run, help="build a TensorRT engine (or ONNX Runtime artifact) from an ONNX file",
        description="Build a TensorRT engine from an ONNX file exported by `edge-saliency export`, into the engine "
                    "cache ({}/) with a JSON sidecar. Without TensorRT, --backend auto builds an optimized "
                    "ONNX Runtime artifact instead.".format(ENGINE_DIR))
    parser.add_argument("onnx", help="ONNX file (fp32, fp16 or int8 Q/DQ, as exported)")
    add_build_arguments(parser)
    parser.add_argument("--backend", choices=BACKENDS, default="auto",
                        help="auto: TensorRT when installed, else ONNX Runtime (default)")
    parser.add_argument("--provider", default=None,
                        help="ONNX Runtime execution provider for the fallback (default CPUExecutionProvider)")
    parser.add_argument("--output", "-o",
                        help="engine path (default: {}/<name>-<precision>-<key>.engine)".format(ENGINE_DIR))
    parser.add_argument("--output-dir", default=ENGINE_DIR, help="engine cache folder (default %(default)s)")
    parser.add_argument("--force", action="store_true", help="rebuild even if the cache holds an up-to-date engine")


def add_build_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of :class:`~edge_saliency.engine.options.BuildOptions` (read back by :func:`build_options`)."""
    parser.add_argument("--precision", choices=PRECISIONS, default="",
                        help="default: the ONNX file's own (an fp16 / int8 export builds fp16 / int8); with "
                             "TensorRT <= 10.x, fp16 also builds from an fp32 file")
    add_profile_arguments(parser)
    add_plugin_argument(parser)
    parser.add_argument("--workspace", type=int, metavar="MIB", help="builder workspace limit in MiB")
    parser.add_argument("--opt-level", type=int, metavar="0-5", help="builder optimization level (TensorRT >= 8.6)")
    parser.add_argument("--timing-cache", metavar="PATH", help="timing cache file, read and updated")
    parser.add_argument("--dla-core", type=int, metavar="N", help="run on DLA core N (Jetson Xavier / Orin)")
    parser.add_argument("--no-gpu-fallback", action="store_true", help="with --dla-core: fail instead of GPU fallback")
    parser.add_argument("--no-tf32", action="store_true", help="disable TF32 for fp32 layers")
    parser.add_argument("--typing", choices=TYPING_MODES, default="auto",
                        help="auto: builder precision flags on 8.5 / 8.6 / 10.0-10.11; strong typing on 11.x, and on "
                             "10.12+ whenever the ONNX file carries the precision (fp16 from an fp32 file: the "
                             "deprecated FP16 flag, with a warning)")
    parser.add_argument("--version-compatible", action="store_true",
                        help="engine that later TensorRT releases of the same major can load (embeds host code)")


def build_options(args: argparse.Namespace) -> BuildOptions:
    """The :class:`~edge_saliency.engine.options.BuildOptions` the arguments of :func:`add_build_arguments` ask
    for (``build_engine`` validates them once the ONNX file has given the default precision)."""
    return BuildOptions(
        precision=args.precision,
        shapes=shape_ranges(args.shape, args.min_shape, args.opt_shape, args.max_shape),
        workspace_mib=args.workspace,
        optimization_level=args.opt_level,
        dla_core=args.dla_core,
        gpu_fallback=not args.no_gpu_fallback,
        tf32=not args.no_tf32,
        typing=args.typing,
        version_compatible=args.version_compatible,
        plugins=list(args.plugin),
        timing_cache=args.timing_cache,
    )


def run(args: argparse.Namespace) -> int:
    from ..engine.build import build_engine

    result = build_engine(args.onnx, build_options(args), backend=args.backend, output=args.output,
                          output_dir=args.output_dir, force=args.force, provider=args.provider,
                          verbose=args.verbose > 0)
    if result.fallback:
        log.warning("TensorRT is not installed: built an ONNX Runtime artifact instead (%s). Install TensorRT "
                    '(pip install "edge-saliency[tensorrt]"; JetPack on Jetson) for a TensorRT engine.',
                    result.sidecar.info.get("provider"))
    if result.skipped:
        print("up to date: {} (same key; --force rebuilds)".format(result.path))
    else:
        print("built {} in {:.1f} s: {}".format(result.backend, result.sidecar.info["build_seconds"], result.path))
    return 0
