"""Finding / loading the built libraries, and the build-plugin command."""
import logging
import os

import pytest

from edge_saliency.cli import main
from edge_saliency.errors import UserError
from edge_saliency.plugins import library
from edge_saliency.plugins.library import ENV_VAR, find_library, open_library
from edge_saliency.plugins.registration import load


@pytest.fixture
def no_default_build(monkeypatch, tmp_path):
    monkeypatch.setattr(library, "default_build_dir", lambda: str(tmp_path / "no-build"))
    monkeypatch.delenv(ENV_VAR, raising=False)


def test_missing_plugin_error_names_the_build_command(no_default_build):
    with pytest.raises(UserError) as err:
        load()
    message = str(err.value)
    assert "edge-saliency build-plugin" in message
    assert "libedge_saliency_trt_plugin.so" in message and ENV_VAR in message


def test_env_var_pointing_nowhere_is_reported(no_default_build, monkeypatch, tmp_path):
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "missing" / "libedge_saliency_trt_plugin.so"))
    with pytest.raises(UserError, match="missing"):
        find_library("tensorrt")


def test_env_var_folder_or_file_finds_the_libraries(no_default_build, monkeypatch, plugin_build):
    monkeypatch.setenv(ENV_VAR, plugin_build.build_dir)
    assert find_library("host") == plugin_build.built["host"]
    # the env var may name the plugin file: the kernel libraries are looked up beside it
    monkeypatch.setenv(ENV_VAR, os.path.join(plugin_build.build_dir, "libedge_saliency_trt_plugin.so"))
    assert find_library("host") == plugin_build.built["host"]
    assert open_library("host").es_host_abi_version() == 1


def test_open_library_is_for_the_resize_libraries_only():
    with pytest.raises(UserError, match=r"edge_saliency.plugins.load\(\)"):
        open_library("tensorrt")


def test_unknown_kind_is_a_user_error():
    with pytest.raises(UserError, match="host, cuda, tensorrt, autoregister"):
        find_library("opencl")


def test_build_plugin_command_reports_built_and_skipped(tmp_path, capsys):
    if not __import__("shutil").which("cmake"):
        pytest.skip("cmake is not installed")
    assert main(["build-plugin", "--build-dir", str(tmp_path / "b"), "--no-cuda", "--jobs", "2"]) == 0
    out = capsys.readouterr().out
    assert "host library" in out and str(tmp_path / "b" / "libedge_saliency_upsample_host.so") in out
    assert "skipped:" in out and "ES_BUILD_CUDA=OFF" in out
    assert os.path.isfile(tmp_path / "b" / "libedge_saliency_upsample_host.so")


def test_build_plugin_bad_option_is_one_line(tmp_path, capsys):
    assert main(["build-plugin", "--build-dir", str(tmp_path), "--trt-include", str(tmp_path / "nope")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("edge-saliency: error: TRT_INCLUDE") and "\n" not in err


def test_build_plugin_prints_progress_and_says_where_it_builds(tmp_path, caplog, monkeypatch):
    if not __import__("shutil").which("cmake"):
        pytest.skip("cmake is not installed")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(library, "source_dir", lambda: None)  # as an installed (not editable) package
    source = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with caplog.at_level(logging.INFO, logger="edge_saliency"):
        assert main(["build-plugin", "--source", source, "--no-cuda", "--jobs", "2"]) == 0
    folder = str(tmp_path / "cache" / "edge-saliency" / "plugins")
    assert "building into {} (the package is not an editable checkout".format(folder) in caplog.text
    assert "build-plugin: configuring with CMake" in caplog.text
    assert "build-plugin: [100%]" in caplog.text  # CMake's progress lines, as they come
    assert os.path.isfile(os.path.join(folder, "libedge_saliency_upsample_host.so"))
    assert find_library("host") == os.path.join(folder, "libedge_saliency_upsample_host.so")


def test_default_build_folder_is_the_checkout_or_the_users(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert library.default_build_dir() == os.path.join(library.source_dir(), "build", "plugins")
    monkeypatch.setattr(library, "source_dir", lambda: None)
    assert library.default_build_dir() == str(tmp_path / "edge-saliency" / "plugins")


def test_the_cuda_architectures_built_and_those_nvcc_lacks_are_reported():
    """CMake's configure lines (CMakeLists.txt) as nvcc 13 gives them: sm_72 (Xavier) is not built and said so."""
    from edge_saliency.plugins.build import BuildReport

    report = BuildReport("/b")
    report.read_configure(
        "-- edge-saliency: host library: building libedge_saliency_upsample_host.so\n"
        "-- edge-saliency: CUDA architectures: this nvcc lacks: 72\n"
        "-- edge-saliency: CUDA library: building libedge_saliency_upsample_cuda.so with nvcc 13.0.88 for "
        "75-real;87-real;110-real;120\n")
    text = report.architectures()
    assert text.startswith("sm_75 sm_87 sm_110 sm_120 (+ PTX compute_120")
    assert "not built: sm_72 (Jetson Xavier) (nvcc 13.0.88 cannot compile for it: CUDA 13 dropped sm_72" in text
    assert "CUDA architectures: sm_75" in report.summary()
    report = BuildReport("/b")
    report.read_configure("-- edge-saliency: CUDA library: building libedge_saliency_upsample_cuda.so with nvcc "
                          "12.6 for 87\n")  # an explicit --cuda-archs: nothing lacking
    assert report.architectures() == "sm_87 (+ PTX compute_87, which newer GPUs compile at load time)"


def test_cmake_names_the_architectures_this_nvcc_lacks(tmp_path):
    """The real configure step with the nvcc installed here (compile only): its lines parse as above."""
    import shutil
    import subprocess

    nvcc = shutil.which("nvcc") or ("/usr/local/cuda/bin/nvcc" if os.path.isfile("/usr/local/cuda/bin/nvcc") else None)
    if not shutil.which("cmake") or nvcc is None:
        pytest.skip("cmake or nvcc is not installed")
    from edge_saliency.plugins.build import BuildReport

    source = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    result = subprocess.run(["cmake", "-S", source, "-B", str(tmp_path), "-DCMAKE_CUDA_COMPILER=" + nvcc,
                             "-DES_BUILD_TENSORRT=OFF", "-DES_BUILD_TESTS=OFF"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    report = BuildReport(str(tmp_path))
    report.read_configure(result.stdout)
    listed = subprocess.run([nvcc, "--list-gpu-arch"], capture_output=True, text=True).stdout
    assert report.cuda_archs and report.nvcc
    for arch in report.archs_lacking:  # what CMake says nvcc lacks, nvcc indeed does not list
        assert "compute_{}\n".format(arch) not in listed + "\n"
    for arch in report.cuda_archs:
        assert "compute_{}".format(arch.split("-")[0]) in listed
