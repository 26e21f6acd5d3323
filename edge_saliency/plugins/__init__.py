"""Our TensorRT plugin and its ONNX node: the contract (``upsample_op``) shared by the exporter, the ONNX
Runtime reference op and the CUDA plugin; the native libraries built from ``plugins/`` (``library``:
``find_library()``, ``open_library()``), their registration with TensorRT (``registration``: ``load()``), their
ctypes bindings (``kernels``) and the CMake driver (``build``)."""
from .library import BUILD_COMMAND, ENV_VAR, LIBRARIES, default_build_dir, find_library, open_library
from .registration import load

__all__ = ["BUILD_COMMAND", "ENV_VAR", "LIBRARIES", "default_build_dir", "find_library", "load", "open_library"]
