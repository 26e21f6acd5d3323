"""Registering plugin libraries with TensorRT: the one path that ``edge_saliency.plugins.load()``,
``build-engine --plugin``, ``inspect --layers`` and the TensorRT runner all take (design: docs/plugin.md).

- TensorRT >= 8.6: ``trt.get_plugin_registry().load_library(path)`` (IPluginRegistry.load_library, first in the
  8.6.1 bindings, pyPlugin.cpp:262). TensorRT dlopens the library, reads its entry points (getCreators /
  getPluginCreators), gives it a logger finder and registers its creators. Our plugin library never registers
  itself, so this is its only registration; ``load_library`` would refuse it otherwise.
- TensorRT 8.5 (its bindings have no ``load_library``): dlopen ``libedge_saliency_trt_autoregister.so``, built
  beside the plugin library, which registers the same creators through libnvinfer's ``getPluginRegistry()``.

Each library is registered once per process. When our creator is already registered (a host preloaded the
autoregister library, say), it is used as it is and not registered a second time. Plugins serialized into a
version-compatible engine are not loaded at all: TensorRT loads them from the engine (:func:`libraries_to_load`).

Python names used (the binding sources, ``python-bindings/<version>``, say which versions have them):
``tensorrt.get_plugin_registry`` (8.5 on), ``IPluginRegistry.load_library`` (8.6 on),
``IPluginRegistry.all_creators`` (10.0 on) or ``.plugin_creator_list`` (8.5 to 10.x, gone in 11.x), and the
creators' ``name`` / ``plugin_version`` / ``plugin_namespace``. Where a name is missing on some version the code
checks with ``hasattr`` first; ``tests/plugins/test_registration.py`` checks the names against the binding sources.
"""
import ctypes
import dataclasses
import logging
import os
import threading
from typing import Any, Dict, List, Optional

from ..errors import UserError
from .library import BUILD_COMMAND, LIBRARIES, find_library
from .upsample_op import OP_TYPE, PLUGIN_NAMESPACE, PLUGIN_VERSION

log = logging.getLogger("edge_saliency.plugins")

LOAD_LIBRARY = "load_library"  # TensorRT >= 8.6
AUTOREGISTER = "autoregister"  # TensorRT 8.5: dlopen libedge_saliency_trt_autoregister.so
DLOPEN = "dlopen"  # another project's library on 8.5, or one that load_library refused: it registers itself
ALREADY = "already registered"


@dataclasses.dataclass(frozen=True)
class Registration:
    """How a plugin library reached TensorRT's plugin registry in this process."""

    library: str  # the plugin library asked for
    how: str  # LOAD_LIBRARY, AUTOREGISTER, DLOPEN or ALREADY
    loaded: Optional[str] = None  # the file this process loaded for it (None: nothing was loaded)
    handle: Any = None  # load_library's handle (TensorRT >= 8.6)


_registrations: Dict[str, Registration] = {}
_lock = threading.Lock()
_keep: List[ctypes.CDLL] = []  # dlopen'ed libraries stay loaded for the life of the process


def find_creator(registry: Any) -> Any:
    """Our creator (``BilinearUpsample_TRT`` v1, namespace "") in a TensorRT plugin registry, or None.

    It walks the registry's creator list rather than asking ``get_creator`` / ``get_plugin_creator``, which make
    TensorRT log an error when the creator is missing (the normal case before the first registration).
    """
    if hasattr(registry, "all_creators"):  # 10.0+, V1 and V3 creators (pyPlugin.cpp:2568 in 10.0); 11.x has no other
        creators = registry.all_creators
    else:  # 8.5 / 8.6 (pyPlugin.cpp:243 in 8.5.3)
        creators = registry.plugin_creator_list
    for creator in creators or []:
        if (creator.name, creator.plugin_version, creator.plugin_namespace) == (
                OP_TYPE, PLUGIN_VERSION, PLUGIN_NAMESPACE):
            return creator
    return None


def _dlopen(path: str) -> None:
    try:
        _keep.append(ctypes.CDLL(path, mode=getattr(os, "RTLD_GLOBAL", 0) | getattr(os, "RTLD_NOW", 0)))
    except OSError as exc:
        raise UserError("cannot load {}: {} (was it built for this machine and TensorRT? rebuild with: {})".format(
            path, exc, BUILD_COMMAND)) from exc


def _register_ours(trt: Any, registry: Any, path: str) -> Registration:
    version = getattr(trt, "__version__", "?")
    if find_creator(registry) is not None:
        log.info("%s v%s is already registered with TensorRT: %s is not loaded again", OP_TYPE, PLUGIN_VERSION, path)
        return Registration(path, ALREADY)
    if hasattr(registry, "load_library"):
        handle = registry.load_library(path)
        if handle is None:
            raise UserError(
                "TensorRT {} refused the plugin library {} (IPluginRegistry.load_library returned None): it was built "
                "to register itself when loaded (an old build) or exports no creators; rebuild it with: {}".format(
                    version, path, BUILD_COMMAND))
        registration = Registration(path, LOAD_LIBRARY, path, handle)
    else:
        # the one built beside this plugin library: it loads that very library (RUNPATH $ORIGIN)
        autoregister = os.path.join(os.path.dirname(os.path.abspath(path)), LIBRARIES["autoregister"])
        if not os.path.isfile(autoregister):
            raise UserError(
                "TensorRT {} has no IPluginRegistry.load_library: it loads the plugin through {}, which is not beside "
                "{}; build both with: {} (the autoregister library needs libnvinfer)".format(
                    version, LIBRARIES["autoregister"], path, BUILD_COMMAND))
        _dlopen(autoregister)
        registration = Registration(path, AUTOREGISTER, autoregister)
    if find_creator(registry) is None:
        raise UserError(
            "{} registered no {} v{} creator with TensorRT {} (built against another TensorRT? rebuild it with: "
            "{})".format(registration.loaded, OP_TYPE, PLUGIN_VERSION, version, BUILD_COMMAND))
    return registration


def _register_other(registry: Any, path: str) -> Registration:
    """Another project's plugin library: through its entry points where TensorRT can, else by dlopen."""
    if hasattr(registry, "load_library"):
        handle = registry.load_library(path)
        if handle is not None:
            return Registration(path, LOAD_LIBRARY, path, handle)
        log.warning("TensorRT's load_library refused %s (no getCreators / getPluginCreators, or a creator of it is "
                    "already registered): loading it with dlopen, for libraries that register themselves", path)
    _dlopen(path)
    return Registration(path, DLOPEN, path)


def register_library(path: str, trt: Any = None) -> Registration:
    """Register the plugin library at ``path`` with TensorRT's plugin registry, once per process.

    ``trt`` is the ``tensorrt`` module (imported when None).
    """
    if not os.path.isfile(path):
        raise UserError("TensorRT plugin library not found: {} (build ours with: {})".format(path, BUILD_COMMAND))
    if trt is None:
        from ..engine.trt_compat import load_tensorrt

        trt = load_tensorrt()
    key = os.path.realpath(path)
    with _lock:
        if key not in _registrations:
            registry = trt.get_plugin_registry()
            ours = os.path.basename(path) == LIBRARIES["tensorrt"]
            _registrations[key] = _register_ours(trt, registry, path) if ours else _register_other(registry, path)
        return _registrations[key]


def libraries_to_load(engine_info: Dict[str, Any]) -> List[str]:
    """The plugin libraries to register before deserializing an engine, from its sidecar ``info``: those it was
    built with, except the ones serialized into it (``plan.plugins_to_serialize``, version-compatible engines),
    which TensorRT loads from the engine itself."""
    plan = engine_info.get("plan") if isinstance(engine_info.get("plan"), dict) else {}
    embedded = {os.path.abspath(p) for p in (plan or {}).get("plugins_to_serialize") or []}
    paths = [p["path"] for p in engine_info.get("plugins") or [] if isinstance(p, dict) and "path" in p]
    return [p for p in paths if os.path.abspath(p) not in embedded]


def load(path: Optional[str] = None) -> Registration:
    """Register our TensorRT plugin ``BilinearUpsample_TRT`` with TensorRT's plugin registry (once per process).

    Call it before parsing an ONNX file with the node and before deserializing an engine that uses it. TensorRT
    >= 8.6 loads the library through its entry points (IPluginRegistry.load_library); 8.5 through the autoregister
    library beside it. ``path``: the plugin library, else ``$EDGE_SALIENCY_PLUGIN``, else the build folder.
    """
    return register_library(find_library("tensorrt", path))
