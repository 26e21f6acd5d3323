"""The runner interface (after Polygraphy's ``backend/base/runner.py``).

A runner is created cheaply, then ``activate()`` loads the model (or use it as a context manager),
``infer(x)`` maps an N×C×H×W float32 array to the model's output as float32 numpy, and ``deactivate()``
frees everything. The base class does what every backend shares: state checks, input validation against
the model's input shape, and splitting / padding a batch to what the model takes (a static batch, or a
maximum batch). Backends with the GPU pre-processing kernels also take uint8 frames (``frame_input``,
``infer_frames``; runners/frame_input.py).
 The comparator of runners' outputs is
:mod:`.compare`.
"""
import atexit
import dataclasses
import logging
import warnings
import weakref
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..engine.onnx_info import saliency_input_problem, saliency_output_problem
from ..errors import InputShapeError, UserError
from .frame_input import check_frames, pad_batch

log = logging.getLogger("edge_saliency.runners")

__all__ = ["Runner", "RunnerLeftActiveWarning", "TensorMetadata", "check_saliency_model", "numpy_dtype",
           "saliency_maps"]


@dataclasses.dataclass(frozen=True)
class TensorMetadata:
    """One model tensor as the runner feeds or reads it: ``name``, ``shape`` (-1 for a dynamic dimension) and
    numpy ``dtype``; checked when made, so a backend cannot report a malformed one."""

    name: str
    shape: Tuple[int, ...]
    dtype: Any = np.float32

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError("a tensor needs a name, got {!r}".format(self.name))
        try:
            shape = tuple(int(d) for d in self.shape)
        except (TypeError, ValueError):
            raise ValueError("tensor '{}': shape {!r} is not a sequence of integers".format(
                self.name, self.shape)) from None
        if any(d == 0 or d < -1 for d in shape):
            raise ValueError("tensor '{}': dimensions are positive or -1 (dynamic), got {}".format(
                self.name, list(shape)))
        object.__setattr__(self, "shape", shape)
        object.__setattr__(self, "dtype", np.dtype(self.dtype))


class RunnerLeftActiveWarning(UserWarning):
    """A runner was activated and never deactivated: its model, sessions and device memory were not freed."""


_ACTIVE: "weakref.WeakSet[Runner]" = weakref.WeakSet()


@atexit.register
def _warn_left_active() -> None:
    for runner in list(_ACTIVE):
        runner._warn_left_active("at exit")


class Runner:
    """Base class: subclasses implement ``_activate``, ``_infer`` and ``_deactivate`` and set the I/O facts.

    As in Polygraphy, construction is cheap (it records what to load: a path, or a lazy loader called in
    ``activate``), ``activate()`` loads the model (activating an active runner is an error), and a runner left
    active when it is garbage-collected or the interpreter exits warns (:class:`RunnerLeftActiveWarning`).

    I/O facts, checked when set (after activation; :meth:`get_input_metadata` gives the input's):
    ``input_name``, ``input_shape`` (-1 for a dynamic dimension), ``input_dtype``, ``output_name``,
    ``precision``; optional ``preferred_size`` (h, w) for models whose size is dynamic;
    ``preprocess``: the model's pre-processing mode (its config's, see :mod:`edge_saliency.maths.preprocess`;
    None when unknown);
    ``max_batch`` (None: any batch) and ``static_batch`` (True: every call must have exactly ``max_batch``);
    ``model_config`` (the EML-Net ``ModelConfig`` when the model file records it: its input size must then be a
    multiple of 32) and ``on_host`` (the model's tensors live in host memory, for the memory estimate).
    """

    backend = "base"

    def __init__(self, name: str) -> None:
        self.name = name
        self.is_active = False
        self._input = TensorMetadata("input", (-1, -1, -1, -1), np.float32)
        self._output_name = "output"
        self.precision = "fp32"
        self.preferred_size: Optional[Tuple[int, int]] = None
        self.model_config: Any = None
        self.on_host = True
        self.preprocess: Optional[str] = None
        self._max_batch: Optional[int] = None
        self.static_batch = False
        self._stage_clock: Any = None  # made by stage_clock(), closed by deactivate()
        self._frames: Any = None  # the frame kernels (a FrameLibrary) of backends that have them
        self._overlay: Any = None  # made by frame_overlay(), closed by deactivate()

    # -- I/O metadata ---------------------------------------------------------------------------------
    def get_input_metadata(self) -> TensorMetadata:
        """The model input's name, shape (-1: dynamic) and dtype; only while the runner is active."""
        self._require_active("get_input_metadata()")
        return self._input

    @property
    def input_name(self) -> str:
        """The model input's name."""
        return self._input.name

    @input_name.setter
    def input_name(self, value: str) -> None:
        self._input = dataclasses.replace(self._input, name=value)

    @property
    def input_shape(self) -> Tuple[int, ...]:
        """The model input's shape; -1 where a dimension is dynamic."""
        return self._input.shape

    @input_shape.setter
    def input_shape(self, value: Sequence[int]) -> None:
        self._input = dataclasses.replace(self._input, shape=tuple(value))

    @property
    def input_dtype(self) -> Any:
        """The numpy dtype the model input takes."""
        return self._input.dtype

    @input_dtype.setter
    def input_dtype(self, value: Any) -> None:
        self._input = dataclasses.replace(self._input, dtype=value)

    @property
    def output_name(self) -> str:
        """The saliency output's name."""
        return self._output_name

    @output_name.setter
    def output_name(self, value: str) -> None:
        if not isinstance(value, str) or not value:
            raise ValueError("an output needs a name, got {!r}".format(value))
        self._output_name = value

    @property
    def max_batch(self) -> Optional[int]:
        """The largest batch the model takes (None: no limit known)."""
        return self._max_batch

    @max_batch.setter
    def max_batch(self, value: Optional[int]) -> None:
        if value is not None and (int(value) != value or value < 1):
            raise ValueError("max_batch is a positive integer or None, got {!r}".format(value))
        self._max_batch = None if value is None else int(value)

    # -- lifecycle ------------------------------------------------------------------------------------
    def activate(self) -> "Runner":
        """Load the model; an error when the runner is already active (deactivate it first)."""
        if self.is_active:
            raise UserError("runner {} is already active: deactivate() it before activating it again (or use one "
                            "with block)".format(self.name))
        self._activate()
        self.is_active = True
        _ACTIVE.add(self)
        log.debug("activated %s", self.describe())
        return self

    def deactivate(self) -> None:
        """Release the model and its buffers; the runner can be activated again."""
        if self.is_active:
            self.is_active = False
            _ACTIVE.discard(self)
            overlay, self._overlay = self._overlay, None
            if overlay is not None:
                overlay.close()  # its buffers and stream, while the backend's CUDA context is still open
            self._deactivate()
        clock, self._stage_clock = self._stage_clock, None
        if clock is not None:
            clock.close()

    def __enter__(self) -> "Runner":
        return self.activate()

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.deactivate()

    def _require_active(self, what: str) -> None:
        if not self.is_active:
            raise UserError("runner {} is not active: call activate() (or use it in a with block) before {}".format(
                self.name, what))

    def _warn_left_active(self, when: str) -> None:
        if getattr(self, "_warned_left_active", False):
            return
        self._warned_left_active = True
        warnings.warn("runner {} was activated but never deactivated ({}): call deactivate() or use it in a with "
                      "block, so its model and memory are freed".format(self.name, when), RunnerLeftActiveWarning,
                      stacklevel=2)

    def __del__(self) -> None:
        if getattr(self, "is_active", False):  # __del__ may not run at all; when it does, say so
            self._warn_left_active("garbage-collected")

    def describe(self) -> str:
        """One line: backend, model, precision, input name and shape."""
        shape = "x".join("?" if d < 0 else str(d) for d in self.input_shape)
        # the tensor's name quoted: "input 'input' ?x3x?x?" reads as well as "input 'image' 1x3x96x128"
        return "{} ({}, {}, input '{}' {})".format(self.backend, self.name, self.precision, self.input_name, shape)

    # -- shapes ---------------------------------------------------------------------------------------
    @property
    def fixed_size(self) -> Optional[Tuple[int, int]]:
        """(h, w) when the model's spatial size is static, else None."""
        if len(self.input_shape) == 4 and self.input_shape[2] > 0 and self.input_shape[3] > 0:
            return int(self.input_shape[2]), int(self.input_shape[3])
        return None

    def check_input(self, x: np.ndarray) -> np.ndarray:
        """``x`` as an array of the runner's input rank and fixed dimensions; InputShapeError otherwise."""
        self._require_active("infer()")
        x = np.asarray(x)
        if x.ndim != len(self.input_shape):
            raise InputShapeError("{} takes a rank-{} input {}, got shape {}".format(
                self.name, len(self.input_shape), list(self.input_shape), tuple(x.shape)))
        for axis, (want, got) in enumerate(zip(self.input_shape, x.shape)):
            if axis > 0 and want > 0 and want != got:
                raise InputShapeError("{} takes input '{}' of shape {}, got {}".format(
                    self.name, self.input_name, list(self.input_shape), list(x.shape)))
        return np.ascontiguousarray(x, dtype=np.float32)

    def batches(self, n: int) -> List[Tuple[int, int]]:
        """[start, stop) slices of a batch of ``n`` that the model takes in one call."""
        step = self.max_batch or n
        return [(start, min(start + step, n)) for start in range(0, n, step)]

    # -- inference ------------------------------------------------------------------------------------
    def infer(self, x: np.ndarray) -> np.ndarray:
        """Model output(s) for ``x`` (N×C×H×W float32); the output keeps the batch order."""
        x = self.check_input(x)
        outputs = []
        for start, stop in self.batches(x.shape[0]):
            chunk = x[start:stop]
            count = stop - start
            if self.static_batch and self.max_batch and count < self.max_batch:
                pad = np.repeat(chunk[-1:], self.max_batch - count, axis=0)  # a static batch: pad, then drop
                chunk = np.concatenate([chunk, pad], axis=0)
            out = np.asarray(self._infer(chunk))
            outputs.append(out[:count].astype(np.float32, copy=False))
        return outputs[0] if len(outputs) == 1 else np.concatenate(outputs, axis=0)

    def infer_timed(self, x: np.ndarray) -> Tuple[np.ndarray, Dict[str, Optional[float]]]:
        """``infer(x)`` for one batch the model takes in one call, with the seconds of each part on
        :meth:`stage_clock`'s clock: ``copy_in`` (the input to where the model reads it), ``infer``,
        ``copy_out`` (the output back in host memory as float32); None for a part the backend does not expose."""
        x = self.check_input(x)
        count = x.shape[0]
        if self.max_batch and count > self.max_batch:
            raise InputShapeError("{} takes batches of at most {}, got {}".format(self.name, self.max_batch, count))
        if self.static_batch and self.max_batch and count < self.max_batch:
            x = np.concatenate([x, np.repeat(x[-1:], self.max_batch - count, axis=0)], axis=0)
        out, times = self._infer_timed(x)
        return np.asarray(out)[:count].astype(np.float32, copy=False), times

    # -- uint8 frames pre-processed by the runner (the GPU pre-processing kernels, runners/frame_input.py) --------
    def frame_input(self, mode: str) -> bool:
        """True when the runner pre-processes uint8 BGR frames itself (:meth:`infer_frames`) for the model's
        pre-processing ``mode``; the pipeline then hands it the frames that mode resizes with ``INTER_LINEAR``
        (:func:`edge_saliency.maths.preprocess.linear_resize`) instead of float tensors. Off unless a backend has
        the frame kernels (TensorRT, PyTorch on CUDA, with the CUDA library built); only while active."""
        return False

    def infer_frames(self, frames: Sequence[np.ndarray], size: Sequence[int],
                     boxes: Optional[Sequence[Sequence[int]]] = None) -> np.ndarray:
        """Model output(s) for uint8 BGR frames (H×W×3, any sizes): each stretched with ``INTER_LINEAR``'s sample
        positions into its box (top, left, h, w) of a model input of ``size`` (h, w), ``PAD_VALUE`` around it (None:
        the whole input), as RGB in [0, 1]: :func:`~edge_saliency.maths.preprocess.preprocess`'s input computed in float
        (docs/performance.md). Only where :meth:`frame_input` said yes; the output keeps the frames' order."""
        frames, boxes = check_frames(self, frames, size, boxes)
        outputs = []
        for start, stop in self.batches(len(frames)):
            chunk, chunk_boxes = pad_batch(self, frames[start:stop], boxes[start:stop])
            out = np.asarray(self._infer_frames(chunk, chunk_boxes, size, None))
            outputs.append(out[:stop - start].astype(np.float32, copy=False))
        return outputs[0] if len(outputs) == 1 else np.concatenate(outputs, axis=0)

    def infer_frames_timed(self, frames: Sequence[np.ndarray], size: Sequence[int],
                           boxes: Optional[Sequence[Sequence[int]]] = None
                           ) -> Tuple[np.ndarray, Dict[str, Optional[float]]]:
        """:meth:`infer_frames` for one batch the model takes in one call, timed as :meth:`infer_timed` (``copy_in``:
        the frames' upload and their pre-processing on the device)."""
        frames, boxes = check_frames(self, frames, size, boxes)
        if self.max_batch and len(frames) > self.max_batch:
            raise InputShapeError("{} takes batches of at most {}, got {}".format(self.name, self.max_batch,
                                                                                  len(frames)))
        out, times = self._infer_frames_timed(*pad_batch(self, frames, boxes), size)
        return np.asarray(out)[:len(frames)].astype(np.float32, copy=False), times

    def frame_overlay(self) -> Any:
        """The overlay view made on the device (:class:`~.frame_overlay.DeviceOverlay`, its own buffers and stream,
        kept by the runner and freed when it deactivates), or None: the pipeline then blends on the host. Only
        backends with the frame kernels (TensorRT, PyTorch on CUDA) have one; only while active."""
        if not self.is_active or self._frames is None:
            return None
        if self._overlay is None:
            from .frame_overlay import overlay_for

            self._overlay = overlay_for(self)
        return self._overlay

    def stage_clock(self) -> Any:
        """The clock :meth:`infer_timed` uses (``.name``: ``perf_counter`` or ``cuda-event``); one per runner."""
        if self._stage_clock is None:
            from .clocks import PerfCounterClock

            self._stage_clock = PerfCounterClock()
        return self._stage_clock

    # -- subclass hooks -------------------------------------------------------------------------------
    def _infer_timed(self, x: np.ndarray) -> Tuple[np.ndarray, Dict[str, Optional[float]]]:
        """Default: the whole call is ``infer``; backends that separate their copies override this."""
        clock = self.stage_clock()
        clock.begin()
        out = self._infer(x)
        clock.mark("infer")
        return out, {"copy_in": None, "infer": clock.result()["infer"], "copy_out": None}

    def _infer_frames(self, frames: List[np.ndarray], boxes: List[Any], size: Sequence[int], clock: Any) -> np.ndarray:
        """Backends with :meth:`frame_input`: one batch of checked frames through the model; with a ``clock``, its
        ``copy_in`` / ``infer`` / ``copy_out`` marks."""
        raise NotImplementedError

    def _infer_frames_timed(self, frames: List[np.ndarray], boxes: List[Any],
                            size: Sequence[int]) -> Tuple[np.ndarray, Dict[str, Optional[float]]]:
        clock = self.stage_clock()
        out = self._infer_frames(frames, boxes, size, clock)
        times = clock.result()
        return out, {stage: times.get(stage) for stage in ("copy_in", "infer", "copy_out")}

    def _activate(self) -> None:
        raise NotImplementedError

    def _infer(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _deactivate(self) -> None:
        raise NotImplementedError


def check_saliency_model(runner: Runner) -> None:
    """The runtime feeds N×3×H×W RGB frames: refuse a model whose input cannot take them."""
    problem = saliency_input_problem(runner.name, runner.input_name, runner.input_shape)
    if problem:
        raise InputShapeError(problem)


def saliency_maps(output: np.ndarray) -> np.ndarray:
    """A model output (N×1×h×w or N×h×w) → N×h×w float32 maps."""
    output = np.asarray(output, dtype=np.float32)
    problem = saliency_output_problem(output.shape)
    if problem:
        raise InputShapeError(problem)
    return output[:, 0] if output.ndim == 4 else output


# -- comparator ----------------------------------------------------------------------------------------


def numpy_dtype(type_name: str) -> Any:
    """numpy dtype of an ONNX / TensorRT tensor type name ('tensor(float16)', 'half', 'float', ...)."""
    name = type_name.lower().replace("tensor(", "").rstrip(")")
    table = {"float": np.float32, "float32": np.float32, "half": np.float16, "float16": np.float16,
             "double": np.float64, "int8": np.int8, "int32": np.int32, "int64": np.int64, "bool": np.bool_,
             "uint8": np.uint8}
    if name not in table:
        raise UserError("unsupported tensor type {!r}".format(type_name))
    return table[name]
