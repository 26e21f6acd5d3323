"""The Python names of each TensorRT version (tensorrt_api.json, derived from NVIDIA's binding sources), the fakes
built from them, and every ``trt.<name>`` the product touches checked against every supported version."""
import ast
import os
import re

import pytest

from . import tensorrt_api
from .fake_tensorrt import HEADER_FOLDERS, RELEASES, FakeModule, Unmodelled, class_attrs, make_class, surface

ROOT = tensorrt_api.ROOT
# what the product reads from the module object `trt` (the TensorRT layer, the runner, the system probe)
PRODUCT = ["edge_saliency/engine/trt_compat.py", "edge_saliency/engine/trt_builder.py", "edge_saliency/engine/cache.py",
           "edge_saliency/engine/build.py", "edge_saliency/engine/inspect.py", "edge_saliency/prediction/selftest.py",
           "edge_saliency/runners/trt_runner.py", "edge_saliency/system.py", "edge_saliency/plugins/library.py"]


def test_snapshot_is_the_derivation_of_the_binding_sources():
    shared = tensorrt_api.shared_tensorrt()
    if shared is None:
        pytest.skip("../shared/tensorrt is not here (a user's clone): the committed snapshot is used as is")
    fresh = tensorrt_api.encode(tensorrt_api.derive(shared))
    with open(tensorrt_api.SNAPSHOT, encoding="utf-8") as f:
        assert f.read() == tensorrt_api.dumps(fresh), "re-run: python tests/engine/tensorrt_api.py"


def test_snapshot_is_small_and_decodes_per_version():
    assert os.path.getsize(tensorrt_api.SNAPSHOT) < 100_000
    for version in tensorrt_api.VERSIONS:
        names = surface(version)
        assert {"Builder", "Runtime", "OnnxParser", "__version__"} <= set(names["module"])
        assert "WORKSPACE" in names["enums"]["MemoryPoolType"]


@pytest.mark.parametrize("version, cls, name, present", [
    # the facts of issue 11, as the derivation reads them from the sources
    ("8.5.3", "Runtime", "engine_host_code_allowed", False),
    ("8.6.1", "Runtime", "engine_host_code_allowed", True),
    ("8.5.3", "IBuilderConfig", "plugins_to_serialize", False),
    ("8.6.1", "IBuilderConfig", "plugins_to_serialize", True),
    ("8.6.1", "ParserError", "node_name", False),
    ("10.0", "ParserError", "node_name", True),
    ("8.6.1", "IPluginRegistry", "get_creator", False),
    ("8.6.1", "IPluginRegistry", "get_plugin_creator", True),
    ("10.16", "IPluginRegistry", "get_creator", True),
    ("11.1", "IPluginRegistry", "get_plugin_creator", False),
    ("8.5.3", "IPluginRegistry", "load_library", False),
    ("8.6.1", "IPluginRegistry", "load_library", True),
    ("10.0", "IBuilderConfig", "max_workspace_size", False),
    ("10.0", "IConvolutionLayer", "name", True),  # inherited from ILayer
])
def test_known_facts(version, cls, name, present):
    assert (name in class_attrs(version, cls)) == present


def test_enum_members_per_version():
    def members(version, enum):
        return surface(version)["enums"][enum]

    assert "STRONGLY_TYPED" not in members("8.6.1", "NetworkDefinitionCreationFlag")
    assert "EXPLICIT_BATCH" in members("10.16", "NetworkDefinitionCreationFlag")
    assert "EXPLICIT_BATCH" not in members("11.1", "NetworkDefinitionCreationFlag")
    assert {"FP16", "INT8"} <= set(members("10.16", "BuilderFlag"))
    assert not {"FP16", "INT8"} & set(members("11.1", "BuilderFlag"))


def test_the_fakes_report_the_version_their_headers_state():
    """Each fake's __version__ is the one NvInferVersion.h of its source snapshot states, no invented release."""
    shared = tensorrt_api.shared_tensorrt()
    if not shared:
        pytest.skip("../shared/tensorrt is not here (a user's clone)")
    assert set(HEADER_FOLDERS) == set(RELEASES)
    for version, folder in HEADER_FOLDERS.items():
        text = open(os.path.join(shared, "headers", folder, "include", "NvInferVersion.h"), encoding="utf-8").read()
        parts = []
        for part in ("MAJOR", "MINOR", "PATCH", "BUILD"):
            value = re.search(r"#define NV_TENSORRT_{} (\w+)".format(part), text).group(1)
            if not value.isdigit():  # 10.x / 11.x: NV_TENSORRT_MAJOR TRT_MAJOR_ENTERPRISE
                value = re.search(r"#define {} (\d+)".format(value), text).group(1)
            parts.append(value)
        assert RELEASES[version] == ".".join(parts), version


def test_the_fake_has_exactly_the_versions_names():
    trt = FakeModule("8.5.3", "8.5.3.1", {}, {})
    assert isinstance(trt.get_plugin_registry, Unmodelled)  # exists, not modelled
    with pytest.raises(NotImplementedError, match="exists there but the test fake does not model it"):
        trt.get_plugin_registry()
    with pytest.raises(AttributeError, match="TensorRT 8.5.3 has no tensorrt.NoSuchThing"):
        trt.NoSuchThing  # noqa: B018
    assert str(trt.DataType.FLOAT) == "DataType.FLOAT" and int(trt.ILogger.ERROR) == 1

    class Behaviour:
        def load_library(self, path):  # 8.6+ only
            return path

        def get_plugin_creator(self, name, version, namespace=""):
            return name

    registry85 = make_class("8.5.3", "IPluginRegistry", Behaviour)()
    assert registry85.get_plugin_creator("X", "1") == "X"
    with pytest.raises(AttributeError, match="TensorRT 8.5.3 has no IPluginRegistry.load_library"):
        registry85.load_library("libx.so")
    assert make_class("8.6.1", "IPluginRegistry", Behaviour)().load_library("libx.so") == "libx.so"


def _module_accesses(path):
    """Every ``trt.A`` / ``trt.A.B`` the file reads, and the names it feature-checks with hasattr(...)."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    accesses, guarded = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "trt":
            accesses.add((node.attr, None))
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) and \
                isinstance(node.value.value, ast.Name) and node.value.value.id == "trt":
            accesses.add((node.value.attr, node.attr))
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "hasattr" and len(node.args) == 2 \
                and isinstance(node.args[1], ast.Constant):
            guarded.add(node.args[1].value)
    return accesses, guarded


def unguarded_names(root, paths):
    """``path: trt.A[.B] (TensorRT v)`` for each name a file reads that version v lacks, unless it hasattr-checks it."""
    missing = []
    for path in paths:
        accesses, guarded = _module_accesses(os.path.join(root, path))
        for first, second in sorted(accesses, key=str):
            if first.startswith("__") and first != "__version__":
                continue
            for version in tensorrt_api.VERSIONS:
                names = surface(version)
                if first not in names["module"]:
                    if first not in guarded:
                        missing.append("{}: trt.{} (TensorRT {})".format(path, first, version))
                    continue
                if second is None or second.startswith("__"):
                    continue
                members = names["enums"].get(first) or (
                    class_attrs(version, first) if first in names["classes"] else set())
                if second not in members and second not in guarded:
                    missing.append("{}: trt.{}.{} (TensorRT {})".format(path, first, second, version))
    return missing


def test_every_trt_name_the_product_reads_exists_in_every_version_or_is_feature_checked():
    assert unguarded_names(ROOT, PRODUCT) == []


def test_the_static_check_sees_an_unguarded_name(tmp_path):
    """The check above can fail: a module reading names gone in 11.1 is reported for 11.1."""
    (tmp_path / "calib.py").write_text("def make(trt):\n    return trt.IInt8EntropyCalibrator2, trt.BuilderFlag.INT8\n")
    assert unguarded_names(str(tmp_path), ["calib.py"]) == [
        "calib.py: trt.BuilderFlag.INT8 (TensorRT 11.1)", "calib.py: trt.IInt8EntropyCalibrator2 (TensorRT 11.1)"]
    (tmp_path / "guarded.py").write_text("def make(trt):\n    if hasattr(trt, 'IInt8EntropyCalibrator2'):\n"
                                         "        return trt.IInt8EntropyCalibrator2\n")
    assert unguarded_names(str(tmp_path), ["guarded.py"]) == []
