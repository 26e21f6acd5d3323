"""Finding and loading the native libraries built from ``plugins/`` (``edge-saliency build-plugin``).

Four shared libraries, all in one build folder:

- ``libedge_saliency_upsample_host.so`` — the bilinear resize on the CPU (reference path, C ABI ``es_host_*``);
- ``libedge_saliency_upsample_cuda.so`` — the CUDA kernels (C ABI ``es_cuda_*``, launched on a given stream);
- ``libedge_saliency_trt_plugin.so`` — the TensorRT plugin ``BilinearUpsample_TRT`` (IPluginV3 on TensorRT >= 10,
  IPluginV2DynamicExt on 8.5 / 8.6). It does not register itself when loaded: TensorRT registers it through its
  entry points (:mod:`.registration`, docs/plugin.md);
- ``libedge_saliency_trt_autoregister.so`` — registers that plugin when dlopen'ed: for TensorRT 8.5 and for hosts
  that only dlopen (Triton, DeepStream).

They are looked up in: the path given, then ``$EDGE_SALIENCY_PLUGIN`` (the plugin file itself, or the folder of
the libraries), then the default build folder: ``<repository>/build/plugins`` in an editable checkout, else
``~/.cache/edge-saliency/plugins`` (``$XDG_CACHE_HOME``).
"""
import ctypes
import os
from typing import Dict, List, Optional

from ..errors import UserError

ENV_VAR = "EDGE_SALIENCY_PLUGIN"
BUILD_COMMAND = "edge-saliency build-plugin"
LIBRARIES: Dict[str, str] = {
    "host": "libedge_saliency_upsample_host.so",
    "cuda": "libedge_saliency_upsample_cuda.so",
    "tensorrt": "libedge_saliency_trt_plugin.so",
    "autoregister": "libedge_saliency_trt_autoregister.so",
}
DESCRIPTIONS: Dict[str, str] = {
    "host": "host (CPU) resize library",
    "cuda": "CUDA kernel library",
    "tensorrt": "TensorRT plugin library",
    "autoregister": "TensorRT plugin autoregister library (TensorRT 8.5 and hosts that only dlopen load the plugin "
                    "through it)",
}

_loaded: Dict[str, ctypes.CDLL] = {}


def source_dir() -> Optional[str]:
    """The repository root holding ``CMakeLists.txt`` and ``plugins/`` (an editable install or a clone), or None."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if os.path.isfile(os.path.join(root, "CMakeLists.txt")) and os.path.isdir(os.path.join(root, "plugins")):
        return root
    return None


def user_build_dir() -> str:
    """The user's own build folder: ``$XDG_CACHE_HOME/edge-saliency/plugins`` (``~/.cache/edge-saliency/plugins``)."""
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "edge-saliency", "plugins")


def default_build_dir() -> str:
    """``<repository>/build/plugins`` (git-ignored) for an editable checkout; otherwise the user's folder
    (:func:`user_build_dir`): an installed package's folder is not the place to build into."""
    root = source_dir()
    return os.path.join(root, "build", "plugins") if root is not None else user_build_dir()


def _check_kind(kind: str) -> None:
    if kind not in LIBRARIES:
        raise UserError("unknown library kind '{}'; use one of: {}".format(kind, ", ".join(LIBRARIES)))


def _candidates(kind: str, path: Optional[str]) -> List[str]:
    name = LIBRARIES[kind]
    found: List[str] = []
    for where in (path, os.environ.get(ENV_VAR) or None, default_build_dir()):
        if not where:
            continue
        if os.path.isdir(where):
            found.append(os.path.join(where, name))
        elif kind == "tensorrt" or os.path.basename(where) == name:
            found.append(where)
        else:  # the env var names the plugin file: the kernel libraries sit beside it
            found.append(os.path.join(os.path.dirname(where), name))
    return found


def find_library(kind: str = "tensorrt", path: Optional[str] = None) -> str:
    """Path of a built library (``kind``: "host", "cuda" or "tensorrt"); a :class:`UserError` that names the build
    command when it is missing."""
    _check_kind(kind)
    candidates = _candidates(kind, path)
    for candidate in candidates:
        if os.path.isfile(candidate):
            return os.path.abspath(candidate)
    raise UserError(
        "the {} {} was not found (looked for {}); build it with: {} (or point ${} at it)".format(
            DESCRIPTIONS[kind], LIBRARIES[kind], ", ".join(candidates), BUILD_COMMAND, ENV_VAR
        )
    )


def open_library(kind: str, path: Optional[str] = None) -> ctypes.CDLL:
    """Load the resize library ``kind`` ("host" or "cuda") once per process, for its C ABI (ctypes)."""
    if kind not in ("host", "cuda"):
        raise UserError("open_library loads the resize libraries (host, cuda), not '{}'; register the TensorRT "
                        "plugin with edge_saliency.plugins.load()".format(kind))
    library = find_library(kind, path)
    if library not in _loaded:
        try:
            _loaded[library] = ctypes.CDLL(library)
        except OSError as exc:
            raise UserError(
                "cannot load the {} {}: {} (was it built for this machine? rebuild with: {})".format(
                    DESCRIPTIONS[kind], library, exc, BUILD_COMMAND
                )
            ) from exc
    return _loaded[library]

