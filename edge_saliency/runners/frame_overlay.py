"""The runners' side of the GPU post-processing: the overlay view made on the device by the frame kernels
(``es_cuda_overlay_bgr8``, :mod:`edge_saliency.plugins.frame_kernels`) instead of the host's colour map, resize and
blend at frame size (:func:`edge_saliency.maths.postprocess.overlay_small`).

A runner with the frame kernels answers :meth:`~.base.Runner.frame_overlay` with a :class:`DeviceOverlay`; the
pipeline's Postprocessor calls it for the overlay view. The map stays a host array at the model's resolution (the
blur, min-max, smoothing and statistics run there on the host, as before); per frame, ONE upload carries the uint8
frame and that float32 map, the kernel writes the overlay over the frame's device copy (the ABI allows ``out`` =
``frame``), and one download brings it back (through the page-locked staging buffer with a CudaApi) into the
caller's pooled buffer. The colour map's table goes up once per
colour map. The kernel is given no range: the map is already in [0, 1], and the kernel clips, ×255 and rounds it in
float32 as :func:`~edge_saliency.maths.postprocess.to_uint8` does, so it colours the same levels as the host path.

The overlay runs on the postprocess thread while the runner's inference runs on another: it has its own staging
and device buffers (grown when a larger frame comes, never made per frame) and, through a
:class:`~edge_saliency.runners.cuda.CudaApi`, its own stream; with PyTorch, the thread's current stream.
"""
import contextlib
from typing import Any, Dict, Optional, Tuple

import numpy as np

from .._lazy import require
from ..errors import InputShapeError
from ..plugins.frame_kernels import FrameLibrary

ALIGN = 256  # the map's offset after the frame in the upload buffer: float32 reads need an aligned address


class DeviceOverlay:
    """``overlay(frame, saliency, alpha, colormap, out)``: the overlay view of a uint8 BGR frame and a [0, 1]
    float map at any (the model's) resolution, equal to ``overlay_small(frame, to_uint8(saliency), ...)`` within one
    grey level (tests/runners/test_frame_overlay.py). Subclasses hold the memory: :class:`CudaApiOverlay`,
    :class:`TorchOverlay`."""

    def __init__(self, library: FrameLibrary) -> None:
        self.library = library
        self.colormap: Optional[str] = None  # the colour map whose table is on the device
        self.lut_uploads = 0

    def __call__(self, frame: np.ndarray, saliency: np.ndarray, alpha: float, colormap: str,
                 out: Optional[np.ndarray] = None) -> np.ndarray:
        from ..maths.postprocess import colormap_lut

        frame, saliency = np.asarray(frame), np.asarray(saliency)
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise InputShapeError("the overlay takes H×W×3 uint8 BGR frames, got {} {}".format(frame.shape,
                                                                                               frame.dtype))
        if saliency.ndim != 2:
            raise InputShapeError("the overlay takes a 2-D map, got shape {}".format(saliency.shape))
        if out is None:
            out = np.empty_like(frame)
        if out.shape != frame.shape or out.dtype != np.uint8 or not out.flags.c_contiguous:
            raise InputShapeError("the overlay writes a contiguous {} uint8 buffer, got {} {}".format(
                frame.shape, out.shape, out.dtype))
        fh, fw = frame.shape[:2]
        h, w = saliency.shape
        at = -(-frame.nbytes // ALIGN) * ALIGN  # the map after the frame: [frame | pad | map]
        total = at + 4 * h * w
        with self._current():
            if self.colormap != colormap:
                table = colormap_lut(colormap)
                host, _ = self._room("lut", table.nbytes)
                host[:table.nbytes] = table.reshape(-1)
                self._upload("lut", table.nbytes)
                self.colormap, self.lut_uploads = colormap, self.lut_uploads + 1
            lut = self._room("lut", 768)[1]
            host, device = self._room("in", total)
            host[:frame.nbytes].reshape(frame.shape)[...] = frame  # any strides; the pinned copy is uploaded
            host[at:total].view(np.float32).reshape(h, w)[...] = saliency
            self._upload("in", total)
            self.library.overlay_ptr(device + at, (h, w), w, None, lut, device, fh, fw, 3 * fw, device, 3 * fw,
                                     float(alpha), self._stream())
            self._download("in", out)
        return out

    # -- the memory: named buffers (a host staging array, a device address), grown on demand ------------------
    def _current(self) -> Any:
        return contextlib.nullcontext()

    def _room(self, name: str, nbytes: int) -> Tuple[np.ndarray, int]:
        """(host uint8 staging array, device address) of buffer ``name`` with at least ``nbytes``."""
        raise NotImplementedError

    def _upload(self, name: str, nbytes: int) -> None:
        raise NotImplementedError

    def _download(self, name: str, out: np.ndarray) -> None:
        """The first ``out.nbytes`` of device buffer ``name`` into ``out``, complete when it returns."""
        raise NotImplementedError

    def _stream(self) -> Optional[int]:
        raise NotImplementedError

    def _synchronize(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Free the buffers (and the stream); the next call makes them again."""


class CudaApiOverlay(DeviceOverlay):
    """The overlay through the TensorRT runner's :class:`~edge_saliency.runners.cuda.CudaApi`: page-locked staging
    buffers, device buffers and a stream of its own (made on first use, in the calling thread's context)."""

    def __init__(self, library: FrameLibrary, cuda: Any) -> None:
        super().__init__(library)
        self.cuda = cuda
        self.stream: Any = None
        self.buffers: Dict[str, Tuple[Any, Any]] = {}  # name -> (HostBuffer, device allocation)

    def _current(self) -> Any:
        return self.cuda.current()

    def _room(self, name: str, nbytes: int) -> Tuple[np.ndarray, int]:
        held = self.buffers.get(name)
        if held is None or held[0].array.nbytes < nbytes:
            if held is not None and self.stream is not None:
                self.cuda.synchronize(self.stream)  # nothing may still read the old buffers
            self._free(name)
            host = self.cuda.host_empty((nbytes,), np.uint8)
            self.buffers[name] = (host, None)  # registered first: freed by close() if the device allocation fails
            self.buffers[name] = held = (host, self.cuda.device_alloc(nbytes))
        return held[0].array, self.cuda.device_ptr(held[1])

    def _upload(self, name: str, nbytes: int) -> None:
        host, device = self.buffers[name]
        self.cuda.copy_htod_async(device, host.array[:nbytes], self._stream_object())

    def _download(self, name: str, out: np.ndarray) -> None:
        # into the page-locked staging buffer (asynchronous copies need page-locked memory: PyCUDA, older CUDA),
        # then into the caller's buffer
        host, device = self.buffers[name]
        staged = host.array[:out.nbytes]
        self.cuda.copy_dtoh_async(staged, device, self._stream_object())
        self._synchronize()
        out.reshape(-1)[...] = staged

    def _stream_object(self) -> Any:
        if self.stream is None:
            self.stream = self.cuda.stream_create()
        return self.stream

    def _stream(self) -> Optional[int]:
        return self.cuda.stream_handle(self._stream_object())

    def _synchronize(self) -> None:
        self.cuda.synchronize(self._stream_object())

    def _free(self, name: str) -> None:
        held = self.buffers.pop(name, None)
        if held is not None:
            if held[1] is not None:
                self.cuda.device_free(held[1])
            self.cuda.host_free(held[0])

    def close(self) -> None:
        """Synchronize, free the buffers and destroy the stream (in the device's context)."""
        with self.cuda.current():
            if self.stream is not None:
                self.cuda.synchronize(self.stream)
            for name in list(self.buffers):
                self._free(name)
            if self.stream is not None:
                self.cuda.stream_destroy(self.stream)
                self.stream = None
        self.colormap = None


class TorchOverlay(DeviceOverlay):
    """The overlay with PyTorch's memory on the runner's device: pinned staging tensors and device tensors from
    PyTorch's allocator, the kernel on the calling thread's current stream. On the CPU (tests, with the host twins)
    the staging tensor is the "device" buffer."""

    def __init__(self, library: FrameLibrary, torch: Any, device: Any) -> None:
        super().__init__(library)
        self.torch, self.device = torch, device
        self.on_cuda = device.type == "cuda"
        self.buffers: Dict[str, Tuple[Any, Any]] = {}  # name -> (staging tensor, device tensor)

    def _current(self) -> Any:
        return self.torch.cuda.device(self.device) if self.on_cuda else contextlib.nullcontext()

    def _room(self, name: str, nbytes: int) -> Tuple[np.ndarray, int]:
        torch = self.torch
        held = self.buffers.get(name)
        if held is None or held[0].numel() < nbytes:
            if held is not None:
                self._synchronize()
            staging = torch.empty(nbytes, dtype=torch.uint8, pin_memory=self.on_cuda)
            device = torch.empty(nbytes, dtype=torch.uint8, device=self.device) if self.on_cuda else staging
            self.buffers[name] = held = (staging, device)
        return held[0].numpy(), held[1].data_ptr()

    def _upload(self, name: str, nbytes: int) -> None:
        staging, device = self.buffers[name]
        if self.on_cuda:
            device[:nbytes].copy_(staging[:nbytes], non_blocking=True)

    def _download(self, name: str, out: np.ndarray) -> None:
        target = self.torch.from_numpy(out.reshape(-1))  # a blocking copy (PyTorch stages pageable memory itself)
        target.copy_(self.buffers[name][1][:target.numel()])

    def _stream(self) -> Optional[int]:
        return self.torch.cuda.current_stream(self.device).cuda_stream if self.on_cuda else None

    def _synchronize(self) -> None:
        if self.on_cuda:
            self.torch.cuda.current_stream(self.device).synchronize()

    def close(self) -> None:
        """Let PyTorch's allocator have the buffers back."""
        self.buffers = {}
        self.colormap = None



def overlay_for(runner: Any) -> DeviceOverlay:
    """The overlay of an active runner with frame kernels: through the TensorRT runner's CudaApi, else with PyTorch's
    memory on the PyTorch runner's device."""
    if runner.backend == "tensorrt":
        return CudaApiOverlay(runner._frames, runner.cuda)
    return TorchOverlay(runner._frames, require("torch"), runner.device)
