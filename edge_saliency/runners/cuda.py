"""One small CUDA interface for the TensorRT runner, over cuda-python (default) or PyCUDA.

NVIDIA's samples moved from PyCUDA to cuda-python (``cuda.bindings.runtime``; ``cuda.cudart`` before
cuda-python 12.6); many Jetson users still have PyCUDA. The runner uses only :class:`CudaApi`: page-locked
host buffers, device buffers, one stream, async copies, synchronize, and (cuda-python) CUDA graph capture.

Threads: TensorRT and these calls need the device's context current on the calling thread. With the
runtime API (cuda-python) that is the device's primary context, selected per thread by ``cudaSetDevice``;
PyCUDA retains the same primary context and pushes / pops it around each use (``current()``), so the
runner may be activated on one thread and run on another (the pipeline's inference thread).

No GPU on the machines this is developed on: the calls here follow the documented signatures and are
unit-tested against recording fakes of ``cudart`` and ``pycuda.driver``.
"""
import contextlib
import ctypes
import dataclasses
import importlib
import threading
from typing import Any, Iterator, Sequence, Tuple

import numpy as np

from .._lazy import install_hint
from ..errors import MissingDependencyError, UserError

CUDA_APIS = ("auto", "cuda-python", "pycuda")


class CudaError(UserError):
    """A CUDA call failed (no GPU, driver too old, out of memory...)."""


@dataclasses.dataclass
class HostBuffer:
    """Page-locked host memory seen as a numpy array; ``handle`` is what frees it."""

    array: np.ndarray
    handle: Any


class CudaApi:
    """What the TensorRT runner needs from CUDA. Device buffers are opaque; ``device_ptr`` gives the address."""

    name = "cuda"
    supports_graphs = False

    def __init__(self, device: int = 0) -> None:
        self.device = device

    def open(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def current(self) -> Any:
        """Context manager: the device's context is current on this thread inside it."""
        raise NotImplementedError

    def host_empty(self, shape: Sequence[int], dtype: Any) -> HostBuffer:
        raise NotImplementedError

    def host_free(self, buffer: HostBuffer) -> None:
        raise NotImplementedError

    def device_alloc(self, nbytes: int) -> Any:
        raise NotImplementedError

    def device_free(self, allocation: Any) -> None:
        raise NotImplementedError

    def device_ptr(self, allocation: Any) -> int:
        return int(allocation)

    def stream_create(self) -> Any:
        raise NotImplementedError

    def stream_handle(self, stream: Any) -> int:
        raise NotImplementedError

    def stream_destroy(self, stream: Any) -> None:
        raise NotImplementedError

    def copy_htod_async(self, allocation: Any, host: np.ndarray, stream: Any) -> None:
        raise NotImplementedError

    def copy_dtoh_async(self, host: np.ndarray, allocation: Any, stream: Any) -> None:
        raise NotImplementedError

    def synchronize(self, stream: Any) -> None:
        raise NotImplementedError

    def graph_begin(self, stream: Any) -> None:
        raise CudaError("CUDA graphs are not available through {}".format(self.name))

    def graph_end(self, stream: Any) -> Any:
        raise CudaError("CUDA graphs are not available through {}".format(self.name))

    def graph_launch(self, graph: Any, stream: Any) -> None:
        raise CudaError("CUDA graphs are not available through {}".format(self.name))

    def graph_destroy(self, graph: Any) -> None:
        pass

    # events (timing) and memory: for benchmarks
    def event_create(self) -> Any:
        raise NotImplementedError

    def event_record(self, event: Any, stream: Any) -> None:
        raise NotImplementedError

    def event_synchronize(self, event: Any) -> None:
        raise NotImplementedError

    def event_elapsed_ms(self, start: Any, end: Any) -> float:
        raise NotImplementedError

    def event_destroy(self, event: Any) -> None:
        pass

    def mem_get_info(self) -> Tuple[int, int]:
        """(free, total) bytes of device memory."""
        raise NotImplementedError


def _nbytes(shape: Sequence[int], dtype: Any) -> int:
    return int(np.prod([int(d) for d in shape], dtype=np.int64)) * np.dtype(dtype).itemsize


# -- cuda-python ---------------------------------------------------------------------------------------


def import_cudart() -> Any:
    """``cuda.bindings.runtime`` (cuda-python >= 12.6), else ``cuda.cudart`` (older releases)."""
    for module in ("cuda.bindings.runtime", "cuda.cudart"):
        try:
            return importlib.import_module(module)
        except ImportError:
            continue
    raise MissingDependencyError("the TensorRT backend needs cuda-python (or PyCUDA): {}".format(install_hint("cuda")))


class CudaPythonApi(CudaApi):
    """The CUDA runtime API through cuda-python: every call returns ``(error, *values)``."""

    name = "cuda-python"
    supports_graphs = True

    def __init__(self, device: int = 0, cudart: Any = None) -> None:
        super().__init__(device)
        self.rt = cudart if cudart is not None else import_cudart()
        self._thread = threading.local()

    def _call(self, what: str, result: Any) -> Any:
        err, values = (result[0], result[1:]) if isinstance(result, tuple) else (result, ())
        if int(err) != 0:
            text = ""
            try:
                text = self.rt.cudaGetErrorString(err)[1]
                text = text.decode() if isinstance(text, bytes) else str(text)
            except Exception:  # the message is a courtesy; the error code is the fact
                pass
            raise CudaError("CUDA {} failed: {} ({})".format(what, text or "error", getattr(err, "name", int(err))))
        if not values:
            return None
        return values[0] if len(values) == 1 else values

    def open(self) -> None:
        self._call("cudaSetDevice", self.rt.cudaSetDevice(self.device))
        self._call("cudaFree(0)", self.rt.cudaFree(0))  # creates the primary context now, not mid-stream
        self._thread.ready = True

    def close(self) -> None:
        pass  # the primary context belongs to the CUDA runtime

    @contextlib.contextmanager
    def current(self) -> Iterator[None]:
        if not getattr(self._thread, "ready", False):  # the current device is per thread
            self._call("cudaSetDevice", self.rt.cudaSetDevice(self.device))
            self._thread.ready = True
        yield

    def host_empty(self, shape: Sequence[int], dtype: Any) -> HostBuffer:
        nbytes = max(_nbytes(shape, dtype), 1)
        pointer = int(self._call("cudaMallocHost", self.rt.cudaMallocHost(nbytes)))
        raw = (ctypes.c_byte * nbytes).from_address(pointer)
        count = _nbytes(shape, dtype) // np.dtype(dtype).itemsize
        array = np.frombuffer(memoryview(raw), dtype=dtype, count=count).reshape(tuple(int(d) for d in shape))
        return HostBuffer(array, pointer)

    def host_free(self, buffer: HostBuffer) -> None:
        self._call("cudaFreeHost", self.rt.cudaFreeHost(buffer.handle))

    def device_alloc(self, nbytes: int) -> Any:
        return int(self._call("cudaMalloc", self.rt.cudaMalloc(max(int(nbytes), 1))))

    def device_free(self, allocation: Any) -> None:
        self._call("cudaFree", self.rt.cudaFree(allocation))

    def stream_create(self) -> Any:
        return self._call("cudaStreamCreate", self.rt.cudaStreamCreate())

    def stream_handle(self, stream: Any) -> int:
        return int(stream)

    def stream_destroy(self, stream: Any) -> None:
        self._call("cudaStreamDestroy", self.rt.cudaStreamDestroy(stream))

    def copy_htod_async(self, allocation: Any, host: np.ndarray, stream: Any) -> None:
        kind = self.rt.cudaMemcpyKind.cudaMemcpyHostToDevice
        self._call("cudaMemcpyAsync (host to device)",
                   self.rt.cudaMemcpyAsync(int(allocation), host.ctypes.data, host.nbytes, kind, stream))

    def copy_dtoh_async(self, host: np.ndarray, allocation: Any, stream: Any) -> None:
        kind = self.rt.cudaMemcpyKind.cudaMemcpyDeviceToHost
        self._call("cudaMemcpyAsync (device to host)",
                   self.rt.cudaMemcpyAsync(host.ctypes.data, int(allocation), host.nbytes, kind, stream))

    def synchronize(self, stream: Any) -> None:
        self._call("cudaStreamSynchronize", self.rt.cudaStreamSynchronize(stream))

    def graph_begin(self, stream: Any) -> None:
        mode = self.rt.cudaStreamCaptureMode.cudaStreamCaptureModeGlobal
        self._call("cudaStreamBeginCapture", self.rt.cudaStreamBeginCapture(stream, mode))

    def graph_end(self, stream: Any) -> Any:
        graph = self._call("cudaStreamEndCapture", self.rt.cudaStreamEndCapture(stream))
        try:
            # cudaGraphInstantiateWithFlags(graph, flags) has the same signature in cuda-python 11.4+ and 12/13;
            # cudaGraphInstantiate's changed between CUDA 11 and 12
            executable = self._call("cudaGraphInstantiateWithFlags", self.rt.cudaGraphInstantiateWithFlags(graph, 0))
        except CudaError:
            self._call("cudaGraphDestroy", self.rt.cudaGraphDestroy(graph))
            raise
        return (graph, executable)

    def graph_launch(self, graph: Any, stream: Any) -> None:
        self._call("cudaGraphLaunch", self.rt.cudaGraphLaunch(graph[1], stream))

    def graph_destroy(self, graph: Any) -> None:
        self._call("cudaGraphExecDestroy", self.rt.cudaGraphExecDestroy(graph[1]))
        self._call("cudaGraphDestroy", self.rt.cudaGraphDestroy(graph[0]))

    def event_create(self) -> Any:
        return self._call("cudaEventCreate", self.rt.cudaEventCreate())

    def event_record(self, event: Any, stream: Any) -> None:
        self._call("cudaEventRecord", self.rt.cudaEventRecord(event, stream))

    def event_synchronize(self, event: Any) -> None:
        self._call("cudaEventSynchronize", self.rt.cudaEventSynchronize(event))

    def event_elapsed_ms(self, start: Any, end: Any) -> float:
        return float(self._call("cudaEventElapsedTime", self.rt.cudaEventElapsedTime(start, end)))

    def event_destroy(self, event: Any) -> None:
        self._call("cudaEventDestroy", self.rt.cudaEventDestroy(event))

    def mem_get_info(self) -> Tuple[int, int]:
        free, total = self._call("cudaMemGetInfo", self.rt.cudaMemGetInfo())
        return int(free), int(total)


# -- PyCUDA --------------------------------------------------------------------------------------------


class PyCudaApi(CudaApi):
    """PyCUDA on the device's primary context (shared with the runtime API that TensorRT uses), pushed on
    the calling thread for the duration of each ``current()`` block and popped after."""

    name = "pycuda"
    supports_graphs = False  # stream capture is not part of PyCUDA's long-standing API; use cuda-python

    def __init__(self, device: int = 0, driver: Any = None) -> None:
        super().__init__(device)
        if driver is None:
            try:
                driver = importlib.import_module("pycuda.driver")
            except ImportError as exc:
                raise MissingDependencyError("PyCUDA is not installed (pip install pycuda; it builds from source), or "
                                             "use cuda-python: {}".format(install_hint("cuda"))) from exc
        self.drv = driver
        self.context: Any = None
        self._thread = threading.local()

    def open(self) -> None:
        try:
            self.drv.init()
            self.context = self.drv.Device(self.device).retain_primary_context()
        except Exception as exc:  # pycuda.driver.Error subclasses
            raise CudaError("PyCUDA cannot open CUDA device {}: {}".format(self.device, exc)) from exc

    def close(self) -> None:
        if self.context is not None:
            self.context.detach()  # releases our retain of the primary context
            self.context = None

    @contextlib.contextmanager
    def current(self) -> Iterator[None]:
        depth = getattr(self._thread, "depth", 0)
        if depth == 0:
            self.context.push()
        self._thread.depth = depth + 1
        try:
            yield
        finally:
            self._thread.depth = depth
            if depth == 0:
                self.context.pop()

    def host_empty(self, shape: Sequence[int], dtype: Any) -> HostBuffer:
        array = self.drv.pagelocked_empty(tuple(int(d) for d in shape), dtype)
        return HostBuffer(array, array.base)

    def host_free(self, buffer: HostBuffer) -> None:
        if buffer.handle is not None and hasattr(buffer.handle, "free"):
            buffer.handle.free()

    def device_alloc(self, nbytes: int) -> Any:
        return self.drv.mem_alloc(max(int(nbytes), 1))

    def device_free(self, allocation: Any) -> None:
        allocation.free()

    def stream_create(self) -> Any:
        return self.drv.Stream()

    def stream_handle(self, stream: Any) -> int:
        return int(stream.handle)

    def stream_destroy(self, stream: Any) -> None:
        pass  # freed with the Python object

    def copy_htod_async(self, allocation: Any, host: np.ndarray, stream: Any) -> None:
        self.drv.memcpy_htod_async(allocation, host, stream)

    def copy_dtoh_async(self, host: np.ndarray, allocation: Any, stream: Any) -> None:
        self.drv.memcpy_dtoh_async(host, allocation, stream)

    def synchronize(self, stream: Any) -> None:
        stream.synchronize()

    def event_create(self) -> Any:
        return self.drv.Event()

    def event_record(self, event: Any, stream: Any) -> None:
        event.record(stream)

    def event_synchronize(self, event: Any) -> None:
        event.synchronize()

    def event_elapsed_ms(self, start: Any, end: Any) -> float:
        return float(end.time_since(start))

    def mem_get_info(self) -> Tuple[int, int]:
        free, total = self.drv.mem_get_info()
        return int(free), int(total)


def load_cuda(api: str = "auto", device: int = 0) -> CudaApi:
    """The CUDA interface by name; ``auto``: cuda-python when importable, else PyCUDA."""
    if api not in CUDA_APIS:
        raise UserError("--cuda-api must be one of {}, got {!r}".format(", ".join(CUDA_APIS), api))
    if api == "cuda-python":
        return CudaPythonApi(device)
    if api == "pycuda":
        return PyCudaApi(device)
    try:
        return CudaPythonApi(device)
    except MissingDependencyError:
        pass
    try:
        return PyCudaApi(device)
    except MissingDependencyError:
        raise MissingDependencyError(
            "the TensorRT backend needs cuda-python or PyCUDA: {}".format(install_hint("cuda"))) from None
