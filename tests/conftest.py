"""Markers `slow`, `gpu` and `tensorrt` become skips when the option, hardware or package is missing."""
import importlib.util

import pytest

from tests.stream_fixtures import clip, host_kernels, lite_files, tiny_onnx  # noqa: F401 (fixtures of every folder)


def pytest_addoption(parser):
    parser.addoption("--run-slow", action="store_true", help="also run tests marked slow")


def _has_cuda() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def _has_tensorrt() -> bool:
    spec = importlib.util.find_spec("tensorrt")
    # the tensorrt-stubs wheel installs a bare namespace package: that is not TensorRT
    return spec is not None and spec.origin not in (None, "namespace")


def pytest_collection_modifyitems(config, items):
    run_slow = config.getoption("--run-slow") or "slow" in (config.getoption("-m") or "")
    skips = {
        "slow": None if run_slow else "slow test; run with --run-slow",
        "gpu": None if _has_cuda() else "needs a CUDA GPU",
        "tensorrt": None if _has_tensorrt() else "needs TensorRT (pip install \"edge-saliency[tensorrt]\")",
    }
    for item in items:
        for marker, reason in skips.items():
            if reason and marker in item.keywords:
                item.add_marker(pytest.mark.skip(reason=reason))
