"""ctypes bindings of the frame kernels' C ABI (``plugins/include/edge_saliency/frame_api.h``): pre-processing of a
uint8 BGR frame into the model input, and the post-processing of the map (blur, range, colour map, resize and
blend onto the frame), in the host library (``es_host_*``: numpy arrays, the host twins) and the CUDA library
(``es_cuda_*``: device pointers and a stream, for the TensorRT / PyTorch-CUDA runners).

:class:`FrameLibrary` binds either by raw pointers; the module functions run the host twins on numpy arrays.
:func:`gaussian_taps` gives the taps of the runtime's blur (σ scaled to the map, OpenCV's kernel).
"""
import ctypes
from typing import Optional, Sequence, Tuple

import numpy as np

from ..errors import InputShapeError
from .kernels import DTYPES, KernelError
from .library import open_library

FRAME_ABI_VERSION = 1
MAX_TAPS = 129

_i = ctypes.c_int
_f = ctypes.c_float
_p = ctypes.c_void_p


class FrameLibrary:
    """The frame kernels of one library: ``kind`` "host" (numpy memory) or "cuda" (device memory, a stream)."""

    def __init__(self, kind: str = "host", path: Optional[str] = None) -> None:
        if kind not in ("host", "cuda"):
            raise ValueError("kind must be 'host' or 'cuda', got {!r}".format(kind))
        self.kind = kind
        self.lib = open_library(kind, path)
        prefix = "es_{}_".format(kind)
        stream = [_p] if kind == "cuda" else []
        try:
            version = getattr(self.lib, prefix + "frame_abi_version")()
        except AttributeError:
            raise KernelError("{} has no frame kernels (built before they existed); rebuild it with: edge-saliency "
                              "build-plugin".format(self.lib._name)) from None
        if version != FRAME_ABI_VERSION:
            raise KernelError("{} has frame ABI version {}, this package needs {}; rebuild it".format(
                self.lib._name, version, FRAME_ABI_VERSION))

        def bind(name: str, args: list) -> ctypes._CFuncPtr:  # type: ignore[name-defined]
            fn = getattr(self.lib, prefix + name)
            fn.argtypes = args + stream
            fn.restype = _i
            return fn

        self._pre = bind("preprocess_bgr8", [_p, _i, _i, _i, _p, _i, _i, _i, _i, _i, _i, _i, _f])
        self._blur = bind("blur_map", [_p, _i, _i, _i, _i, _p, _i, _p, _i, _p, _p])
        self._range = bind("map_range", [_p, _i, _i, _i, _p])
        self._overlay = bind("overlay_bgr8", [_p, _i, _i, _i, _p, _p, _p, _i, _i, _i, _p, _i, _f])
        self._status = getattr(self.lib, prefix + "frame_status_string")
        self._status.argtypes = [_i]
        self._status.restype = ctypes.c_char_p

    def _check(self, status: int, what: str) -> None:
        if status != 0:
            text = self._status(status)
            raise KernelError("{} {} failed: {} (status {})".format(
                self.kind, what, text.decode() if text else "CUDA error", status))

    def _extra(self, stream: Optional[int]) -> list:
        return [stream] if self.kind == "cuda" else []

    def preprocess_ptr(self, frame: int, height: int, width: int, stride: int, out: int, dtype: int,
                       size: Sequence[int], box: Optional[Sequence[int]] = None, pad: float = 0.5,
                       stream: Optional[int] = None) -> None:
        top, left, bh, bw = box if box is not None else (0, 0, int(size[0]), int(size[1]))
        self._check(self._pre(frame, height, width, stride, out, dtype, int(size[0]), int(size[1]), top, left, bh, bw,
                              pad, *self._extra(stream)), "pre-processing")

    def blur_ptr(self, src: int, dtype: int, height: int, width: int, stride: int, kx: np.ndarray, ky: np.ndarray,
                 workspace: int, out: int, stream: Optional[int] = None) -> None:
        """``kx`` / ``ky`` are host float32 arrays in both libraries (the CUDA one passes them by value)."""
        kx = np.ascontiguousarray(kx, dtype=np.float32)
        ky = np.ascontiguousarray(ky, dtype=np.float32)
        self._check(self._blur(src, dtype, height, width, stride, kx.ctypes.data, kx.size, ky.ctypes.data, ky.size,
                               workspace, out, *self._extra(stream)), "blur")

    def range_ptr(self, src: int, height: int, width: int, stride: int, out: int, stream: Optional[int] = None) -> None:
        self._check(self._range(src, height, width, stride, out, *self._extra(stream)), "map range")

    def overlay_ptr(self, src: int, map_hw: Sequence[int], map_stride: int, value_range: Optional[int], lut: int,
                    frame: int, height: int, width: int, stride: int, out: int, out_stride: int, alpha: float,
                    stream: Optional[int] = None) -> None:
        self._check(self._overlay(src, int(map_hw[0]), int(map_hw[1]), map_stride, value_range, lut, frame, height,
                                  width, stride, out, out_stride, alpha, *self._extra(stream)), "overlay")


def gaussian_taps(sigma: float) -> np.ndarray:
    """OpenCV's float32 Gaussian kernel for ``sigma`` (radius round(4σ), as
    :func:`edge_saliency.maths.postprocess.blur`);
    ``[1]`` for σ <= 0."""
    from ..maths.postprocess import _cv2, kernel_size

    if sigma <= 0:
        return np.ones(1, np.float32)
    size = kernel_size(sigma)
    if size > MAX_TAPS:
        raise InputShapeError("blur σ {:.1f} px needs {} taps; the kernels take at most {}".format(
            sigma, size, MAX_TAPS))
    return _cv2().getGaussianKernel(size, sigma, ktype=5).ravel().astype(np.float32)  # 5: CV_32F


def map_taps(map_hw: Sequence[int], sigma: float,
             reference: Sequence[int] = (480, 640)) -> Tuple[np.ndarray, np.ndarray]:
    """(taps across, taps down) of the runtime blur of a map of ``map_hw``: σ at 480×640 scaled to the map."""
    return (gaussian_taps(sigma * int(map_hw[1]) / reference[1]),
            gaussian_taps(sigma * int(map_hw[0]) / reference[0]))


def _frame(frame: np.ndarray) -> np.ndarray:
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise InputShapeError("a frame must be H×W×3 uint8 BGR, got {} {}".format(frame.shape, frame.dtype))
    if frame.strides[1:] != (3, 1):
        frame = np.ascontiguousarray(frame)
    return frame


def preprocess(frame: np.ndarray, size: Sequence[int], dtype: type = np.float32,
               box: Optional[Sequence[int]] = None, pad: float = 0.5,
               library: Optional[FrameLibrary] = None) -> np.ndarray:
    """The host twin of the GPU pre-processing: a uint8 BGR frame -> 1×3×size RGB in [0, 1] (float32 / float16)."""
    library = library or FrameLibrary("host")
    frame = _frame(frame)
    out: np.ndarray = np.empty((1, 3, int(size[0]), int(size[1])), dtype=dtype)
    library.preprocess_ptr(frame.ctypes.data, frame.shape[0], frame.shape[1], frame.strides[0], out.ctypes.data,
                           DTYPES[np.dtype(dtype)], size, box, pad)
    return out


def blur(saliency: np.ndarray, sigma: float, library: Optional[FrameLibrary] = None) -> np.ndarray:
    """The host twin of the GPU blur: a 2-D float32 / float16 map (a row-strided view is fine) -> float32."""
    library = library or FrameLibrary("host")
    if saliency.ndim != 2 or saliency.dtype not in DTYPES or saliency.strides[1] != saliency.itemsize:
        saliency = np.ascontiguousarray(saliency, dtype=np.float32)
    h, w = saliency.shape
    kx, ky = map_taps((h, w), sigma)
    work = np.empty((h, w), np.float32)
    out = np.empty((h, w), np.float32)
    library.blur_ptr(saliency.ctypes.data, DTYPES[saliency.dtype], h, w, saliency.strides[0] // saliency.itemsize, kx,
                     ky, work.ctypes.data, out.ctypes.data)
    return out


def value_range(saliency: np.ndarray, library: Optional[FrameLibrary] = None) -> Tuple[float, float]:
    library = library or FrameLibrary("host")
    saliency = np.ascontiguousarray(saliency, dtype=np.float32)
    out = np.empty(2, np.float32)
    library.range_ptr(saliency.ctypes.data, saliency.shape[0], saliency.shape[1], saliency.shape[1], out.ctypes.data)
    return float(out[0]), float(out[1])


def overlay(frame: np.ndarray, saliency: np.ndarray, alpha: float = 0.5, colormap: str = "jet", normalize: bool = True,
            library: Optional[FrameLibrary] = None) -> np.ndarray:
    """The host twin of the GPU overlay: a float32 map at any resolution (min-max scaled when ``normalize``) over a
    uint8 BGR frame."""
    from ..maths.postprocess import colormap_lut

    library = library or FrameLibrary("host")
    frame = _frame(frame)
    saliency = np.ascontiguousarray(saliency, dtype=np.float32)
    lut = colormap_lut(colormap)
    rng = np.empty(2, np.float32)
    if normalize:
        library.range_ptr(saliency.ctypes.data, saliency.shape[0], saliency.shape[1], saliency.shape[1],
                          rng.ctypes.data)
    out = np.empty_like(frame)
    library.overlay_ptr(saliency.ctypes.data, saliency.shape, saliency.shape[1], rng.ctypes.data if normalize else None,
                        lut.ctypes.data, frame.ctypes.data, frame.shape[0], frame.shape[1], frame.strides[0],
                        out.ctypes.data, out.strides[0], float(alpha))
    return out
