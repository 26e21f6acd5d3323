"""Finding / loading the built libraries, and the build-plugin command."""
import os

import pytest

from edge_saliency.cli import main
from edge_saliency.errors import UserError
from edge_saliency.plugins import library
from edge_saliency.plugins.library import ENV_VAR, find_library, load, open_library


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
