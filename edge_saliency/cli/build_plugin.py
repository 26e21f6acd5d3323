"""``edge-saliency build-plugin``: build the bilinear-resize libraries and the TensorRT plugin with CMake."""
import argparse
from typing import Any

from .common import add_subcommand

JETPACK_HINT = ("Jetson: TensorRT is found in /usr/include/aarch64-linux-gnu and /usr/lib/aarch64-linux-gnu; "
                "desktop pip wheels have no headers: pass --tensorrt-root or --trt-include/--trt-lib")


def register(subparsers: Any) -> None:
    parser = add_subcommand(
        subparsers, "build-plugin", run,
        help="build the CUDA resize kernels and the BilinearUpsample_TRT TensorRT plugin (CMake)",
        description="Configure and build plugins/ with CMake. Each part is built when its toolchain is found "
                    "and reported as skipped otherwise: the host library (C++ compiler), the CUDA library "
                    "(nvcc), the TensorRT plugin (nvcc + TensorRT >= 8.5). " + JETPACK_HINT + ".",
    )
    where = parser.add_argument_group("where")
    where.add_argument("--build-dir", help="build folder (default: <repository>/build/plugins in an editable checkout, "
                                           "else ~/.cache/edge-saliency/plugins, $XDG_CACHE_HOME respected)")
    where.add_argument("--source", help="folder with CMakeLists.txt (default: the repository of this package)")
    trt = parser.add_argument_group("TensorRT")
    trt.add_argument("--tensorrt-root", help="TensorRT install folder with include/ and lib/ (CMake TensorRT_ROOT)")
    trt.add_argument("--trt-include", help="folder of NvInferRuntime.h (CMake TRT_INCLUDE)")
    trt.add_argument("--trt-lib", help="folder of libnvinfer.so or libnvinfer.so.N, e.g. a pip tensorrt_libs "
                                       "folder (CMake TRT_LIB)")
    trt.add_argument("--no-tensorrt", action="store_true", help="do not build the TensorRT plugin")
    trt.add_argument("--require-tensorrt", action="store_true",
                     help="fail (exit 1) instead of skipping the plugin when TensorRT is not found")
    build = parser.add_argument_group("build")
    build.add_argument("--cuda-archs", help='CMAKE_CUDA_ARCHITECTURES, e.g. "87" (Orin), "72;87", "native" '
                                            "(default: 72 87 110 + 75 80 86 89 90 100 120, those nvcc supports)")
    build.add_argument("--no-cuda", action="store_true", help="host library only")
    build.add_argument("--build-type", default="Release", help="CMAKE_BUILD_TYPE (default: Release)")
    build.add_argument("--jobs", "-j", type=int, help="parallel compile jobs (default: all cores)")
    build.add_argument("--test", action="store_true",
                       help="run the tests (CTest) after building: the host library's and, when the plugin was "
                            "built, the plugin driven as TensorRT drives it")


def run(args: argparse.Namespace) -> int:
    import logging

    from ..plugins.build import build_plugins, run_ctest
    from ..plugins.library import ENV_VAR, default_build_dir, source_dir

    log = logging.getLogger("edge_saliency")
    if not args.build_dir:
        folder = default_build_dir()
        why = "this checkout's build folder" if source_dir() else \
            "the package is not an editable checkout, so the libraries go to your user folder"
        log.info("building into %s (%s; --build-dir to choose another)", folder, why)
    report = build_plugins(
        build_dir=args.build_dir, source=args.source, tensorrt_root=args.tensorrt_root,
        trt_include=args.trt_include, trt_lib=args.trt_lib, cuda_archs=args.cuda_archs,
        build_type=args.build_type, cuda=not args.no_cuda, tensorrt=not args.no_tensorrt,
        require_tensorrt=args.require_tensorrt, tests=True, jobs=args.jobs,
        progress=lambda line: log.info("build-plugin: %s", line),
    )
    print(report.summary())
    if args.test:
        run_ctest(report.build_dir)
        print("tests (CTest): passed")
    if "tensorrt" in report.built:
        print("register the plugin with edge_saliency.plugins.load() (or export {}={}); trtexec: "
              "--dynamicPlugins={} (TensorRT >= 8.6); see docs/plugin.md".format(
                  ENV_VAR, report.built["tensorrt"], report.built["tensorrt"]))
    print("full log: {}".format(report.log_path))
    return 0
