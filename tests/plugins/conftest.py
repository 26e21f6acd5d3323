"""One CMake build of plugins/ per test session (host library, CUDA library for one architecture, the TensorRT
plugin when TensorRT is installed), into a temporary folder.

With NVIDIA's reference headers at hand (tests/trt_reference.py) the same configure also sets up the plugin
against each TensorRT header version (ES_TENSORRT_CHECK_ROOTS, stub libnvinfer per version); those targets are
built only by the ``tensorrt_checks`` fixture, so that a header problem fails its tests and no others.
"""
import os
import shutil
import subprocess
import time

import pytest

from edge_saliency.plugins.build import build_plugins
from tests import trt_reference
from tests.plugins.nvinfer_stub import make_root


@pytest.fixture(scope="session")
def check_roots(tmp_path_factory):
    """TensorRT version -> a root (real headers + stub libnvinfer) for each reference header version, or {}."""
    if trt_reference.reference_dir() is None or shutil.which("cc") is None:
        return {}
    base = tmp_path_factory.mktemp("tensorrt-roots")
    roots = {}
    for version in trt_reference.HEADER_VERSIONS:
        include = os.path.join(trt_reference.reference_dir(), "headers", version, "include")
        if os.path.isdir(include):
            root = str(base / version)
            make_root(include, root)
            roots[version] = root
    return roots


@pytest.fixture(scope="session")
def plugin_build(tmp_path_factory, check_roots):
    if shutil.which("cmake") is None:
        pytest.skip("cmake is not installed: the native libraries cannot be built here")
    args = ["-DES_TENSORRT_CHECK_ROOTS=" + ";".join(check_roots.values())] if check_roots else []
    # one architecture keeps the CUDA compile short (compile only: no GPU is needed)
    return build_plugins(build_dir=str(tmp_path_factory.mktemp("plugins-build")), cuda_archs="75", tests=True,
                         cmake_args=args)


@pytest.fixture(scope="session")
def tensorrt_checks(plugin_build, check_roots):
    """Build the plugin, the autoregister library and the C++ plugin test against every reference header version
    (strict warnings, --no-undefined); version -> its output folder."""
    if not check_roots:
        trt_reference.require("headers")  # skips with the reason
        pytest.skip("no C compiler (cc) to build the stub libnvinfer")
    if "cuda" not in plugin_build.built:
        pytest.skip("CUDA library: skipped ({}): the plugin needs it".format(plugin_build.skipped.get("cuda")))
    started = time.perf_counter()
    result = subprocess.run(["cmake", "--build", plugin_build.build_dir, "--target", "es_tensorrt_checks",
                             "--parallel", str(os.cpu_count() or 1)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert result.returncode == 0, result.stdout[-6000:]
    print("TensorRT header checks built in {:.1f} s".format(time.perf_counter() - started))
    built = [d[len("tensorrt-"):] for d in os.listdir(plugin_build.build_dir) if d.startswith("tensorrt-")]
    folders = {}
    for version in check_roots:  # "8.6" -> tensorrt-8.6.1 (the version NvInferVersion.h states)
        full = [v for v in built if v == version or v.startswith(version + ".")]
        assert len(full) == 1, (version, built)
        folders[version] = os.path.join(plugin_build.build_dir, "tensorrt-" + full[0])
    return folders


@pytest.fixture(scope="session")
def host_library(plugin_build):
    from edge_saliency.plugins.kernels import ResizeLibrary

    return ResizeLibrary("host", path=plugin_build.built["host"])
