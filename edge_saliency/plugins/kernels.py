"""ctypes bindings of the resize libraries' C ABI (``plugins/include/edge_saliency/upsample_api.h``).

:class:`ResizeLibrary` binds either library by raw pointers (the host one: ``es_host_*``; the CUDA one:
``es_cuda_*``, with a ``cudaStream_t`` as an int). :func:`resize` / :func:`resize_concat` run the host library on
numpy arrays; ``benchmarks/gpu_kernels.py`` runs the CUDA one on torch tensors.
"""
import ctypes
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import InputShapeError
from .library import open_library

ABI_VERSION = 1
MAX_FUSED_MAPS = 32
DTYPES = {np.dtype(np.float32): 0, np.dtype(np.float16): 1}

_c_int = ctypes.c_int
_c_double = ctypes.c_double
_c_void_p = ctypes.c_void_p
_c_int_p = ctypes.POINTER(ctypes.c_int)


class KernelError(RuntimeError):
    """A status other than ES_OK from the library."""


class ResizeLibrary:
    """The bilinear resize of one library: ``kind`` "host" (CPU) or "cuda" (GPU, pointers are device pointers)."""

    def __init__(self, kind: str = "host", path: Optional[str] = None) -> None:
        if kind not in ("host", "cuda"):
            raise ValueError("kind must be 'host' or 'cuda', got {!r}".format(kind))
        self.kind = kind
        self.lib = open_library(kind, path)
        prefix = "es_{}_".format(kind)
        stream = [_c_void_p] if kind == "cuda" else []
        self._resize = getattr(self.lib, prefix + "bilinear_resize")
        self._resize.argtypes = [_c_void_p, _c_void_p] + [_c_int] * 8 + [_c_double, _c_double] + stream
        self._resize.restype = _c_int
        self._concat = getattr(self.lib, prefix + "bilinear_resize_concat")
        self._concat.argtypes = [_c_void_p, _c_int_p, _c_int_p, _c_int, _c_int, _c_void_p] + [_c_int] * 4 + stream
        self._concat.restype = _c_int
        self._status = getattr(self.lib, prefix + "status_string")
        self._status.argtypes = [_c_int]
        self._status.restype = ctypes.c_char_p
        version = getattr(self.lib, prefix + "abi_version")()
        if version != ABI_VERSION:
            raise KernelError("{} has C ABI version {}, this package needs {}; rebuild it".format(
                self.lib._name, version, ABI_VERSION))

    def output_size(self, input_hw: Sequence[int], output_hw: Sequence[int] = (0, 0),
                    scales: Sequence[float] = (0.0, 0.0)) -> Tuple[int, int]:
        """(H', W') by the C library's output-size rule (host library only)."""
        fn = self.lib.es_host_output_size
        fn.argtypes = [ctypes.c_longlong] * 4 + [_c_double] * 2 + [ctypes.POINTER(ctypes.c_longlong)] * 2
        fn.restype = _c_int
        h, w = ctypes.c_longlong(), ctypes.c_longlong()
        self._check(fn(int(input_hw[0]), int(input_hw[1]), int(output_hw[0]), int(output_hw[1]), float(scales[0]),
                       float(scales[1]), ctypes.byref(h), ctypes.byref(w)))
        return int(h.value), int(w.value)

    def _check(self, status: int) -> None:
        if status != 0:
            raise KernelError("{} resize failed: {} (status {})".format(
                self.kind, self._status(status).decode(), status))

    def resize_ptr(self, src: int, dst: int, dtype: int, shape: Sequence[int], size: Sequence[int],
                   align_corners: bool = False, scales: Optional[Sequence[float]] = None,
                   stream: Optional[int] = None) -> None:
        """Resize the N×C×H×W tensor at ``src`` into the N×C×size tensor at ``dst`` (``dtype`` 0 float32, 1 float16;
        ``scales`` = (scale_h, scale_w) for the scale-factor form)."""
        n, c, h, w = (int(v) for v in shape)
        sh, sw = (float(scales[0]), float(scales[1])) if scales else (0.0, 0.0)
        args: List[Any] = [src, dst, dtype, n, c, h, w, int(size[0]), int(size[1]), int(bool(align_corners)), sh, sw]
        if self.kind == "cuda":
            args.append(stream)
        self._check(self._resize(*args))

    def resize_concat_ptr(self, srcs: Sequence[int], map_sizes: Sequence[Tuple[int, int]], batch: int, dst: int,
                          dtype: int, size: Sequence[int], align_corners: bool = False,
                          stream: Optional[int] = None) -> None:
        """Resize maps i (batch×1×h_i×w_i at ``srcs[i]``) and write batch×len(srcs)×size at ``dst``, map i in
        channel i (at most 32 maps)."""
        count = len(srcs)
        pointers = (_c_void_p * count)(*srcs)
        heights = (_c_int * count)(*(int(s[0]) for s in map_sizes))
        widths = (_c_int * count)(*(int(s[1]) for s in map_sizes))
        args = [ctypes.cast(pointers, _c_void_p), heights, widths, count, int(batch), dst, dtype, int(size[0]),
                int(size[1]), int(bool(align_corners))]
        if self.kind == "cuda":
            args.append(stream)
        self._check(self._concat(*args))


def _host_input(x: np.ndarray, what: str) -> np.ndarray:
    if x.ndim != 4:
        raise InputShapeError("{} must be N×C×H×W, got shape {}".format(what, x.shape))
    if x.dtype not in DTYPES:
        raise InputShapeError("{} must be float32 or float16, got {}".format(what, x.dtype))
    return np.ascontiguousarray(x)


def resize(x: np.ndarray, size: Sequence[int], align_corners: bool = False,
           scales: Optional[Sequence[float]] = None, library: Optional[ResizeLibrary] = None) -> np.ndarray:
    """Bilinear resize of an N×C×H×W float32 / float16 array on the CPU through the host library."""
    library = library or ResizeLibrary("host")
    x = _host_input(x, "the input")
    out = np.empty(x.shape[:2] + (int(size[0]), int(size[1])), dtype=x.dtype)
    library.resize_ptr(x.ctypes.data, out.ctypes.data, DTYPES[x.dtype], x.shape, size, align_corners, scales)
    return out


def resize_concat(maps: Sequence[np.ndarray], size: Sequence[int], align_corners: bool = False,
                  library: Optional[ResizeLibrary] = None) -> np.ndarray:
    """The fused resize-and-concatenate on the CPU: maps of N×1×h_i×w_i (one dtype) -> N×len(maps)×size."""
    library = library or ResizeLibrary("host")
    arrays = [_host_input(m, "map {}".format(i)) for i, m in enumerate(maps)]
    if not arrays or len(arrays) > MAX_FUSED_MAPS:
        raise InputShapeError("resize_concat takes 1 to {} maps, got {}".format(MAX_FUSED_MAPS, len(arrays)))
    batch, dtype = arrays[0].shape[0], arrays[0].dtype
    for i, m in enumerate(arrays):
        if m.shape[0] != batch or m.shape[1] != 1 or m.dtype != dtype:
            raise InputShapeError("map {} must be {}×1×H×W {}, got {} {}".format(i, batch, dtype, m.shape, m.dtype))
    out = np.empty((batch, len(arrays), int(size[0]), int(size[1])), dtype=dtype)
    library.resize_concat_ptr([m.ctypes.data for m in arrays], [m.shape[2:] for m in arrays], batch,
                              out.ctypes.data, DTYPES[dtype], size, align_corners)
    return out
