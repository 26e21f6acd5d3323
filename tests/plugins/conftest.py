"""One CMake build of plugins/ per test session (host library, CUDA library for one architecture, the TensorRT
plugin when TensorRT is installed), into a temporary folder."""
import shutil

import pytest

from edge_saliency.plugins.build import build_plugins


@pytest.fixture(scope="session")
def plugin_build(tmp_path_factory):
    if shutil.which("cmake") is None:
        pytest.skip("cmake is not installed: the native libraries cannot be built here")
    # one architecture keeps the CUDA compile short (compile only: no GPU is needed)
    return build_plugins(build_dir=str(tmp_path_factory.mktemp("plugins-build")), cuda_archs="75", tests=True)


@pytest.fixture(scope="session")
def host_library(plugin_build):
    from edge_saliency.plugins.kernels import ResizeLibrary

    return ResizeLibrary("host", path=plugin_build.built["host"])
