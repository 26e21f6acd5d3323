import json
import subprocess
import sys

import pytest

import edge_saliency
from edge_saliency._lazy import require
from edge_saliency.errors import MissingDependencyError


def test_import_is_light():
    # A fresh interpreter: importing the package, its config and registry must not pull heavy packages.
    code = (
        "import sys, json, edge_saliency, edge_saliency.config, edge_saliency.models.registry, edge_saliency.cli;"
        "edge_saliency.cli.build_parser();"
        "heavy = ('torch', 'timm', 'onnx', 'onnxruntime', 'cv2', 'tensorrt');"
        "print(json.dumps(sorted(m for m in heavy if m in sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == []


def test_version_is_exposed():
    assert edge_saliency.__version__.count(".") == 2


def test_missing_dependency_names_the_extra():
    with pytest.raises(MissingDependencyError) as err:
        require("torch_that_does_not_exist", extra="export", purpose="a test")
    message = str(err.value)
    assert 'pip install "edge-saliency[export]"' in message
    assert "torch_that_does_not_exist" in message
    assert isinstance(err.value, ImportError)


def test_known_module_maps_to_its_extra():
    with pytest.raises(MissingDependencyError, match=r"edge-saliency\[tensorrt\]"):
        require("tensorrt.definitely_missing_submodule")
