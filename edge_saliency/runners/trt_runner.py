"""TensorRT runner: a serialized engine (``build-engine``), checked against its sidecar before TensorRT sees
it, run with page-locked host buffers, device buffers and one CUDA stream:

    copy in (async) → execute_async_v3 (or a captured CUDA graph) → copy out (async) → synchronize

With the frame kernels built, "copy in" can be the uint8 frames' upload and the pre-processing kernel writing
the input binding instead (``infer_frames``, runners/frame_input.py).

The runner is created cheaply: given an ONNX file (:class:`EngineFromOnnx`, a lazy loader as in Polygraphy),
the engine is built — or found in the engine cache — when the runner activates, then deserialized there.

Shapes: a static engine runs as built; a dynamic one is set to the requested size / batch inside its
optimization profile, and buffers are sized for that maximum once. With ``cuda_graph=True`` the execution is
captured once into a CUDA graph and replayed (static shapes only; the batch is then static as well).

Everything TensorRT- and CUDA-specific is behind three seams — ``deserialize`` / ``describe_io`` (default:
:mod:`edge_saliency.engine.trt_builder`) and the :class:`~edge_saliency.runners.cuda.CudaApi` — so the
host-side logic (sidecar checks, shape planning, buffer sizing, call order, teardown) is tested with fakes on
machines without a GPU. The real calls are thin and follow the TensorRT >= 8.5 tensor API.
"""
import logging
import os
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..engine.cache import Target, check_artifact
from ..engine.trt_builder import dims_list
from ..errors import InputShapeError, UserError
from ..files.sidecar import read_sidecar
from ..plugins.registration import libraries_to_load
from ..vocabulary import ENGINE_DIR
from .base import Runner, numpy_dtype
from .cuda import CudaApi, CudaError, HostBuffer, load_cuda
from .frame_input import FrameUpload, launch_preprocess, resolve_kernels, takes_frames

if TYPE_CHECKING:  # mypy checks the engine / context calls against the tensorrt-stubs package
    import tensorrt

log = logging.getLogger("edge_saliency.runners")

Shape = Tuple[int, ...]


def plan_input_shape(engine_shape: Sequence[int], profile: Optional[Tuple[Shape, Shape, Shape]],
                     size: Optional[Sequence[int]] = None, batch: Optional[int] = None,
                     name: str = "engine") -> Shape:
    """The concrete input shape to run (and size the buffers for).

    Static dimensions stay; a requested ``size`` (h, w) or ``batch`` that contradicts them is an error.
    Dynamic dimensions take the request, else the profile's optimum, and must lie inside the profile.
    """
    shape = [int(d) for d in engine_shape]
    if len(shape) != 4:
        return tuple(d if d > 0 else (profile[1][i] if profile else 1) for i, d in enumerate(shape))
    wanted: Dict[int, Optional[int]] = {0: batch, 2: None if size is None else int(size[0]),
                                        3: None if size is None else int(size[1])}
    for axis, value in wanted.items():
        if shape[axis] > 0:
            if value is not None and value != shape[axis]:
                what = "batch" if axis == 0 else "input size"
                current = shape[0] if axis == 0 else "{}x{}".format(shape[2], shape[3])
                asked = batch if axis == 0 else "{}x{}".format(size[0], size[1])  # type: ignore[index]
                raise InputShapeError(
                    "{} was built for a static {} of {}, not {}: drop the option or rebuild the engine with "
                    "--shape / --min-shape/--max-shape".format(name, what, current, asked))
            continue
        if profile is None:
            raise UserError("{} has a dynamic dimension {} but no optimization profile".format(name, axis))
        low, opt, high = profile[0][axis], profile[1][axis], profile[2][axis]
        chosen = opt if value is None else value
        if not low <= chosen <= high:
            raise InputShapeError(
                "{} takes {} between {} and {} (its optimization profile), not {}: choose a size inside it or "
                "rebuild with --min-shape/--max-shape".format(
                    name, "a batch" if axis == 0 else ("heights" if axis == 2 else "widths"), low, high, chosen))
        shape[axis] = chosen
    if shape[1] < 0:
        shape[1] = profile[1][1] if profile else 3
    return tuple(shape)


class EngineFromOnnx:
    """A lazy loader: called (by :meth:`TensorRTRunner.activate`), it builds the TensorRT engine of an ONNX file
    into the engine cache, or finds the one built before, and returns its path."""

    def __init__(self, onnx_path: str, precision: Optional[str] = None, input_size: Optional[Sequence[int]] = None,
                 batch: Optional[int] = None, plugins: Sequence[str] = (), engine_dir: str = ENGINE_DIR) -> None:
        self.source = onnx_path
        self.precision, self.input_size, self.batch = precision, input_size, batch
        self.plugins, self.engine_dir = list(plugins), engine_dir

    def __call__(self) -> str:
        from ..engine.build import build_engine
        from ..engine.onnx_info import describe_onnx
        from ..engine.options import BuildOptions, ShapeRange

        description = describe_onnx(self.source)
        shapes = {}
        for tensor in description.inputs:
            if any(d < 0 for d in tensor["shape"]):
                size = self.input_size or (description.sidecar.model.input_size if description.sidecar and
                                           description.sidecar.model else None)
                if size is None:
                    raise UserError("{} has a dynamic input size: give --size HxW".format(self.source))
                shape = (self.batch or 1, 3, int(size[0]), int(size[1]))
                shapes[tensor["name"]] = ShapeRange(shape, shape, shape)
        options = BuildOptions(precision=self.precision or description.precision, shapes=shapes,
                               plugins=list(self.plugins))
        log.info("TensorRT engine for %s (built once, then reused from %s/)", self.source, self.engine_dir)
        return build_engine(self.source, options, backend="tensorrt", output_dir=self.engine_dir).path


class _Binding:
    """One I/O tensor: its dtype, its allocated (maximum) shape, page-locked host and device memory."""

    def __init__(self, name: str, dtype: Any, shape: Shape, host: HostBuffer, device: Any) -> None:
        self.name, self.dtype, self.shape, self.host, self.device = name, dtype, shape, host, device


class TensorRTRunner(Runner):
    """A serialized TensorRT engine, its sidecar checked against this machine, run on a CUDA stream."""
    backend = "tensorrt"

    def __init__(self, path: Union[str, Callable[[], str]], allow_host_code: bool = False, cuda_api: str = "auto",
                 cuda_graph: bool = False,
                 input_size: Optional[Sequence[int]] = None, batch: Optional[int] = None,
                 plugins: Optional[List[str]] = None, device: int = 0,
                 cuda: Optional[CudaApi] = None, deserialize: Optional[Callable[..., Any]] = None,
                 describe_io: Optional[Callable[[Any], List[Dict[str, Any]]]] = None,
                 target: Optional[Target] = None, frame_kernels: Any = "auto") -> None:
        # a path, or a lazy loader returning one (EngineFromOnnx); until activate() calls it, ``path`` is its source
        self._loader = path if callable(path) else None
        self.path: str = str(getattr(path, "source", "engine")) if callable(path) else path
        super().__init__(os.path.basename(self.path))
        self.on_host = False  # device memory
        self.allow_host_code = allow_host_code
        self.cuda_api = cuda_api
        self.use_graph = cuda_graph
        self.requested_size = tuple(input_size) if input_size else None
        self.requested_batch = batch
        self.plugins = list(plugins or [])
        self.device = device
        self.cuda: Optional[CudaApi] = cuda
        self._deserialize = deserialize
        self._describe_io = describe_io
        self._target = target  # tests: the machine to check the sidecar against
        self.engine: tensorrt.ICudaEngine = None  # type: ignore[assignment]  # set by activate()
        self.context: tensorrt.IExecutionContext = None  # type: ignore[assignment]
        self.stream: Any = None
        self.graph: Any = None
        self.bindings: Dict[str, _Binding] = {}
        self.output_names: List[str] = []
        self.run_shape: Shape = ()
        self.engine_shape: Shape = ()
        self.dynamic_batch = False
        self._current_batch = 0
        self.frame_kernels = frame_kernels  # "auto", "off" or a FrameLibrary (runners/frame_input.py)
        self._frames: Any = None
        self._upload: Optional[FrameUpload] = None

    # -- activation -----------------------------------------------------------------------------------
    def _check_sidecar(self) -> List[str]:
        """Refuse an engine built for another TensorRT / GPU before deserializing; returns the plugin libraries to
        register (not those serialized into a version-compatible engine: TensorRT loads them from the engine)."""
        sidecar = read_sidecar(self.path, required=False)
        if sidecar is None:
            log.warning("%s has no sidecar (%s.json): cannot check that it was built for this TensorRT and GPU",
                        self.path, self.path)
            return []
        if sidecar.kind != "engine":
            raise UserError("{} is a {} file, not a TensorRT engine: run it with --backend onnxruntime".format(
                self.path, sidecar.kind))
        check_artifact(self.path, sidecar, allow_host_code=self.allow_host_code, target=self._target)
        self.precision = str(sidecar.info.get("precision") or "fp32")
        if sidecar.model is not None:
            self.preferred_size = tuple(sidecar.model.input_size)  # type: ignore[assignment]
            self.model_config = sidecar.model
            self.preprocess = sidecar.model.preprocess
        return libraries_to_load(sidecar.info)

    def _activate(self) -> None:
        if self._loader is not None:
            self.path = self._loader()
        if not os.path.isfile(self.path):
            raise UserError("engine file not found: {}".format(self.path))
        plugins = self._check_sidecar() + self.plugins
        if self._deserialize is None or self._describe_io is None:
            from ..engine import trt_builder
            from ..engine.trt_compat import load_tensorrt

            load_tensorrt()  # says which extra to install before any CUDA work
            self._deserialize = self._deserialize or trt_builder.deserialize_engine
            self._describe_io = self._describe_io or trt_builder.engine_io
        cuda = self.cuda or load_cuda(self.cuda_api, self.device)
        self.cuda = cuda
        cuda.open()
        try:
            with cuda.current():
                with open(self.path, "rb") as f:
                    data = f.read()
                self.engine = self._deserialize(data, plugins, self.allow_host_code)
                self._setup_io()
                self.stream = cuda.stream_create()
                self._frames = resolve_kernels(self.frame_kernels, "cuda")
                self._upload = FrameUpload(cuda)
                if self.use_graph:
                    self._capture_graph()
        except BaseException:
            self._release()
            raise

    def _setup_io(self) -> None:
        assert self._describe_io is not None and self.cuda is not None
        tensors = self._describe_io(self.engine)
        inputs = [t for t in tensors if t["mode"] == "input"]
        outputs = [t for t in tensors if t["mode"] == "output"]
        if len(inputs) != 1 or not outputs:
            raise InputShapeError("{} has inputs {} and outputs {}; edge-saliency runs engines with one input and at "
                                  "least one output".format(self.path, [t["name"] for t in inputs],
                                                            [t["name"] for t in outputs]))
        spec = inputs[0]
        self.input_name, self.output_name = spec["name"], outputs[0]["name"]
        self.output_names = [t["name"] for t in outputs]
        self.input_shape = tuple(int(d) for d in spec["shape"])
        self.input_dtype = numpy_dtype(spec["dtype"])
        profile = None
        if any(d < 0 for d in self.input_shape):
            profile = tuple(tuple(dims_list(s)) for s in self.engine.get_tensor_profile_shape(self.input_name, 0))
        self.run_shape = plan_input_shape(self.input_shape, profile, self.requested_size,  # type: ignore[arg-type]
                                          self.requested_batch, self.path)
        self.engine_shape = self.input_shape
        if len(self.input_shape) == 4:  # the buffers fix the spatial size: report it as the runner's input size
            self.input_shape = (self.input_shape[0],) + tuple(self.run_shape[1:])
        self.dynamic_batch = self.input_shape[0] < 0 and not self.use_graph
        self.max_batch = self.run_shape[0]
        self.static_batch = not self.dynamic_batch
        self.context = self.engine.create_execution_context()
        self._set_input_shape(self.run_shape)
        self.bindings = {}
        self._bind(self.input_name, self.input_dtype, self.run_shape)
        for tensor in outputs:
            shape: Shape = tuple(dims_list(self.context.get_tensor_shape(tensor["name"])))
            self._bind(tensor["name"], numpy_dtype(tensor["dtype"]), shape)
        self._current_batch = self.run_shape[0]

    def _set_input_shape(self, shape: Shape) -> None:
        if any(d < 0 for d in self.engine_shape) and not self.context.set_input_shape(self.input_name, shape):
            raise InputShapeError("TensorRT refused input shape {} for {}".format(list(shape), self.path))

    def _bind(self, name: str, dtype: Any, shape: Shape) -> None:
        assert self.cuda is not None
        if any(d < 0 for d in shape):
            raise InputShapeError("{}: output '{}' has an unresolved shape {}".format(self.path, name, list(shape)))
        host = self.cuda.host_empty(shape, dtype)
        self.bindings[name] = _Binding(name, dtype, shape, host, None)  # registered before allocating: freed on failure
        device = self.cuda.device_alloc(host.array.nbytes)
        self.bindings[name].device = device
        if not self.context.set_tensor_address(name, self.cuda.device_ptr(device)):
            raise CudaError("TensorRT refused the address of tensor '{}'".format(name))

    def _execute(self) -> None:
        assert self.cuda is not None
        if self.graph is not None:
            self.cuda.graph_launch(self.graph, self.stream)
        elif not self.context.execute_async_v3(self.cuda.stream_handle(self.stream)):
            raise CudaError("TensorRT execute_async_v3 failed for {}".format(self.path))

    def _capture_graph(self) -> None:
        """Warm up once (TensorRT must run before capture), then capture one execution into a CUDA graph."""
        assert self.cuda is not None
        if not self.cuda.supports_graphs:
            log.warning("CUDA graphs need cuda-python (%s has none): running without", self.cuda.name)
            return
        self._execute()
        self.cuda.synchronize(self.stream)
        self.cuda.graph_begin(self.stream)
        try:
            ok = self.context.execute_async_v3(self.cuda.stream_handle(self.stream))
        finally:
            graph = self.cuda.graph_end(self.stream)
        if not ok:
            self.cuda.graph_destroy(graph)
            log.warning("%s cannot be captured into a CUDA graph: running without", self.path)
            return
        self.graph = graph

    # -- inference ------------------------------------------------------------------------------------
    def _infer(self, x: np.ndarray) -> np.ndarray:
        return self._run(x, None)

    def _infer_timed(self, x: np.ndarray) -> Tuple[np.ndarray, Dict[str, Optional[float]]]:
        clock = self.stage_clock()
        assert self.cuda is not None
        with self.cuda.current():
            out = self._run(x, clock)
            times = clock.result()
        return out, {stage: times[stage] for stage in ("copy_in", "infer", "copy_out")}

    def stage_clock(self) -> Any:
        """CUDA events on the runner's stream (the copies and the execution are timed on the GPU)."""
        if self._stage_clock is None:
            from .clocks import CudaEventClock

            self._stage_clock = CudaEventClock(self.cuda, self.stream)
        return self._stage_clock

    def _run(self, x: np.ndarray, clock: Any) -> np.ndarray:
        """copy in → execute → copy out → synchronize; with a clock, a CUDA event before and after each."""
        assert self.cuda is not None
        n = x.shape[0]
        with self.cuda.current():
            if clock is not None:
                clock.begin()
            source = self.bindings[self.input_name]
            np.copyto(source.host.array[:n], x, casting="unsafe")  # to the engine's dtype (fp16 inputs)
            self.cuda.copy_htod_async(source.device, source.host.array[:n], self.stream)
            return self._execute_and_copy_out(n, clock)

    def _execute_and_copy_out(self, n: int, clock: Any) -> np.ndarray:
        """(a dynamic batch set to ``n``) execute → copy out → synchronize, after the input's copy-in."""
        assert self.cuda is not None
        if clock is not None:
            clock.mark("copy_in")
        if self.dynamic_batch and n != self._current_batch:
            self._set_input_shape((n,) + tuple(self.run_shape[1:]))
            self._current_batch = n
        self._execute()
        if clock is not None:
            clock.mark("infer")
        outputs = [self.bindings[name] for name in self.output_names]
        for binding in outputs:
            self.cuda.copy_dtoh_async(binding.host.array[:n], binding.device, self.stream)
        if clock is not None:
            clock.mark("copy_out")
        self.cuda.synchronize(self.stream)
        return np.array(outputs[0].host.array[:n], dtype=np.float32)  # a copy: the buffer is reused

    def frame_input(self, mode: str) -> bool:
        """True with the frame kernels, a float32 / float16 input of 3 channels and a mode the kernel computes."""
        return (self.is_active and takes_frames(self._frames, mode, self.input_dtype) and len(self.run_shape) == 4
                and self.run_shape[1] == 3)

    def _infer_frames(self, frames: List[np.ndarray], boxes: List[Any], size: Sequence[int], clock: Any) -> np.ndarray:
        """upload (one copy) → one pre-processing kernel per frame into its slot of the input → execute → copy out."""
        assert self.cuda is not None and self._upload is not None
        with self.cuda.current():
            self._upload.reserve(frames)
            if clock is not None:
                clock.begin()
            sources = self._upload.upload(frames, self.stream)
            binding = self.bindings[self.input_name]
            launch_preprocess(self._frames, frames, sources, self.cuda.device_ptr(binding.device), binding.dtype,
                              self.run_shape[2:], boxes, self.cuda.stream_handle(self.stream))
            return self._execute_and_copy_out(len(frames), clock)

    def _infer_frames_timed(self, frames: List[np.ndarray], boxes: List[Any],
                            size: Sequence[int]) -> Tuple[np.ndarray, Dict[str, Optional[float]]]:
        assert self.cuda is not None
        with self.cuda.current():  # the events are read in the device's context (PyCUDA pushes it)
            return super()._infer_frames_timed(frames, boxes, size)

    # -- teardown -------------------------------------------------------------------------------------
    def _release(self) -> None:
        cuda = self.cuda
        if cuda is None:
            return
        with cuda.current():
            if self.stream is not None:
                cuda.synchronize(self.stream)
            clock, self._stage_clock = self._stage_clock, None
            if clock is not None:
                clock.close()  # its events, before the stream goes
            if self.graph is not None:
                cuda.graph_destroy(self.graph)
                self.graph = None
            self.context = None  # type: ignore[assignment]
            self.engine = None  # type: ignore[assignment]
            for binding in self.bindings.values():
                if binding.device is not None:
                    cuda.device_free(binding.device)
                cuda.host_free(binding.host)
            self.bindings = {}
            if self._upload is not None:
                self._upload.free()
                self._upload = None
            if self.stream is not None:
                cuda.stream_destroy(self.stream)
                self.stream = None
        cuda.close()

    def _deactivate(self) -> None:
        self._release()

    def describe(self) -> str:
        """The runner's line, with the CUDA interface and whether a CUDA graph replays inference."""
        extras = [self.cuda.name if self.cuda else self.cuda_api]
        if self.graph is not None:
            extras.append("CUDA graph")
        return "{} via {}".format(super().describe(), ", ".join(extras))
