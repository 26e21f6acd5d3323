"""The TensorRT plugin built with the project's CMake against NVIDIA's real headers of every supported version
(8.5.3 and 8.6: IPluginV2DynamicExt; 10.0, 10.16 and 11.1: IPluginV3), linked with -Wl,--no-undefined against a
stub libnvinfer made from those headers, and driven by our C++ plugin test (plugins/tests/test_trt_plugin.cpp)
the way TensorRT drives it. Skipped where the reference headers are absent (a user's clone)."""
import os
import re
import subprocess

import pytest

from edge_saliency.plugins import upsample_op
from edge_saliency.plugins.build import run_ctest
from tests.plugins.nvinfer_stub import declared_functions, dynamic_symbols, needed_libraries
from tests.trt_reference import HEADER_VERSIONS

EXPORTS = {
    "8.5.3": ["getPluginCreators"],  # no ILoggerFinder before 8.6
    "8.6": ["getPluginCreators", "setLoggerFinder"],
    "10.0": ["getCreators", "setLoggerFinder"],
    "10.16": ["getCreators", "setLoggerFinder"],
    "11.1": ["getCreators", "setLoggerFinder"],
}


def _suffix(folder):
    return os.path.basename(folder)[len("tensorrt-"):].replace(".", "_")


def _files(folder):
    return (os.path.join(folder, "libedge_saliency_trt_plugin.so"),
            os.path.join(folder, "libedge_saliency_trt_autoregister.so"),
            os.path.join(folder, "es_trt_plugin_tests_" + _suffix(folder)))


def test_configure_reports_each_header_version(check_roots, request):
    if not check_roots:
        pytest.skip("no TensorRT reference headers")
    plugin_build = request.getfixturevalue("plugin_build")
    log = open(plugin_build.log_path).read()
    for version in check_roots:
        line = re.search(r"edge-saliency: TensorRT check ({}[.0-9]*): (.*)".format(re.escape(version)), log)
        assert line, version
        api = "IPluginV3" if int(version.split(".")[0]) >= 10 else "IPluginV2DynamicExt"
        assert line.group(2).startswith("building libedge_saliency_trt_plugin.so ({}, exports {})".format(
            api, ", ".join(EXPORTS[version])))


def _build_rules(build_dir, target):
    """Compile flags and link command of a target: CMake's Makefile files, or the Ninja file's block for it."""
    folder = os.path.join(build_dir, "CMakeFiles", target + ".dir")
    if os.path.isfile(os.path.join(folder, "flags.make")):
        return open(os.path.join(folder, "flags.make")).read(), open(os.path.join(folder, "link.txt")).read()
    ninja = open(os.path.join(build_dir, "build.ninja")).read()
    blocks = [b for b in ninja.split("\nbuild ") if "CMakeFiles/{}.dir".format(target) in b or target in b]
    text = "\n".join(blocks)
    return text, text


@pytest.mark.parametrize("version", HEADER_VERSIONS)
def test_compiled_strictly_with_system_headers(tensorrt_checks, check_roots, plugin_build, version):
    """-Wall -Wextra -Werror on our sources, TensorRT's include folder as a system include, --no-undefined."""
    suffix = _suffix(tensorrt_checks[version])
    for target in ("edge_saliency_trt_plugin", "edge_saliency_trt_autoregister", "es_trt_plugin_tests"):
        flags, link = _build_rules(plugin_build.build_dir, "{}_{}".format(target, suffix))
        assert "-Wall -Wextra -Werror" in flags, target
        assert "-isystem {}/include".format(check_roots[version]) in flags, target
        if target != "es_trt_plugin_tests":
            assert "--no-undefined" in link, target


@pytest.mark.parametrize("version", HEADER_VERSIONS)
def test_plugin_exports_only_its_entry_points_and_needs_no_libnvinfer(tensorrt_checks, check_roots, version):
    plugin, _, _ = _files(tensorrt_checks[version])
    exported = set(dynamic_symbols(plugin, undefined=False))
    assert exported == set(EXPORTS[version])  # no self-registration code path, no es_cuda_* / C++ symbols
    stub = set(declared_functions(os.path.join(check_roots[version], "include")))
    assert "getPluginRegistry" in stub
    assert not set(dynamic_symbols(plugin, undefined=True)) & stub
    assert not [n for n in needed_libraries(plugin) if n.startswith("libnvinfer")]


@pytest.mark.parametrize("version", HEADER_VERSIONS)
def test_autoregister_library_uses_only_get_plugin_registry(tensorrt_checks, check_roots, version):
    _, autoregister, _ = _files(tensorrt_checks[version])
    stub = set(declared_functions(os.path.join(check_roots[version], "include")))
    assert set(dynamic_symbols(autoregister, undefined=True)) & stub == {"getPluginRegistry"}
    needed = needed_libraries(autoregister)
    assert "libnvinfer.so.{}".format(version.split(".")[0]) in needed
    assert "libedge_saliency_trt_plugin.so" in needed


@pytest.mark.parametrize("version", HEADER_VERSIONS)
def test_cpp_plugin_test_passes(tensorrt_checks, plugin_build, version):
    """CTest tensorrt_plugin_<version>: loading, entry points, duplicate refusal, parser-typed fields, shapes for
    sizes and scales 2 / 0.5 / 16 on static and dynamic dimensions, formats, serialization, clone /
    attachToContext, enqueue errors to the logger, the autoregister library."""
    name = "tensorrt_plugin_" + _suffix(tensorrt_checks[version])
    result = subprocess.run(["ctest", "--output-on-failure", "-V", "-R", "^{}$".format(name)],
                            cwd=plugin_build.build_dir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert result.returncode == 0, result.stdout[-4000:]
    assert "1 tests passed" in result.stdout or "100% tests passed" in result.stdout
    summary = re.search(r"PASS: (\d+) checks, 0 failed", result.stdout)
    assert summary and int(summary.group(1)) > 1000, result.stdout[-2000:]
    # no GPU here: the failed launch was reported with CUDA's reason
    assert "enqueue reported 'BilinearUpsample_TRT: " in result.stdout or "GPU enqueue matches" in result.stdout


def test_all_header_checks_run_under_their_ctest_label(tensorrt_checks, plugin_build):
    out = run_ctest(plugin_build.build_dir, label="tensorrt_check")
    assert "{} tests passed".format(len(tensorrt_checks)) in out or "100% tests passed" in out
    assert out.count("tensorrt_plugin_") >= len(tensorrt_checks)


def test_cpp_test_builds_fields_from_the_node_contract(tensorrt_checks):
    """The node attributes the C++ test turns into PluginFields are the exporter's (upsample_op.py)."""
    _, _, program = _files(tensorrt_checks[HEADER_VERSIONS[-1]])
    out = subprocess.run([program, "--print-node-attributes"], stdout=subprocess.PIPE, text=True, check=True).stdout
    printed = dict(line.split() for line in out.splitlines())
    expected = {**{a: "INT" for a in upsample_op.INT_ATTRIBUTES}, **{a: "FLOAT" for a in upsample_op.FLOAT_ATTRIBUTES},
                **{a: "STRING" for a in upsample_op.STRING_ATTRIBUTES}}
    assert printed == expected
