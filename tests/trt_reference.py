"""NVIDIA's public TensorRT reference material that CI checks against: the C++ headers per version, the Python
binding sources per version and the ONNX parser's operator tables.

Found at ``$EDGE_SALIENCY_TRT_REFERENCE``, else ``<repository>/../shared/tensorrt`` (or beside the folder of the
repository's git worktrees); a user's clone has none, and every test that needs it skips with one line saying so.
"""
import os
from typing import Optional

import pytest

ENV_VAR = "EDGE_SALIENCY_TRT_REFERENCE"
REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEADER_VERSIONS = ("8.5.3", "8.6", "10.0", "10.16", "11.1")
BINDING_VERSIONS = ("8.5.3", "8.6.1", "10.0", "10.16", "11.1")


def reference_dir() -> Optional[str]:
    """The reference folder (holding headers/, python-bindings/, onnx-parser/), or None when there is none."""
    if os.environ.get(ENV_VAR):
        candidates = [os.environ[ENV_VAR]]
    else:
        parent = os.path.dirname(REPOSITORY)
        candidates = [os.path.join(parent, "shared", "tensorrt"),
                      os.path.join(os.path.dirname(parent), "shared", "tensorrt")]
    for where in candidates:
        if os.path.isdir(os.path.join(where, "headers")):
            return where
    return None


def require(*parts: str) -> str:
    """A path inside the reference folder, or a skip of the calling test when it is absent."""
    root = reference_dir()
    if root is None:
        pytest.skip("no TensorRT reference material (../shared/tensorrt next to the repository, or ${})".format(
            ENV_VAR))
    path = os.path.join(root, *parts)
    if not os.path.exists(path):
        pytest.skip("the TensorRT reference material has no {}".format(os.path.join(*parts)))
    return path


def include_dir(version: str) -> str:
    return require("headers", version, "include")


def bindings_dir(version: str) -> str:
    return require("python-bindings", version)
