"""The runners' side of the GPU pre-processing: uint8 BGR frames go to the device as they are, and the frame
kernels (``es_cuda_preprocess_bgr8``, :mod:`edge_saliency.plugins.frame_kernels`) write the model input there,
instead of the host resizing, converting and uploading a float tensor four (float32) times the frame's size.

A runner that can do this answers :meth:`~.base.Runner.frame_input` with True; the pipeline then hands it the
frames its pre-processing mode resizes with ``INTER_LINEAR`` (:func:`edge_saliency.maths.preprocess.linear_resize`),
the one resize the kernel computes. Here: finding the library (once per process; without it the runners keep the
host path, said once under ``-v``), checking frames, packing a batch into one staging buffer (one upload), and
one kernel launch per frame into its batch slot. The library kind is a parameter: ``"cuda"`` (device pointers, a
stream) in use, ``"host"`` (the host twins on numpy memory) in the tests of machines without a GPU.
"""
import logging
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import InputShapeError, UserError
from ..maths.preprocess import AREA, LINEAR, PAD_VALUE, content_box
from ..plugins.frame_kernels import FrameLibrary
from ..plugins.kernels import DTYPES, KernelError

log = logging.getLogger("edge_saliency.runners")

FRAME_MODES = (AREA, LINEAR)  # the modes that resize (some) frames with INTER_LINEAR; pillow-bilinear never does
Box = Tuple[int, int, int, int]

_opened: Dict[str, Optional[FrameLibrary]] = {}


def open_frame_kernels(kind: str = "cuda") -> Optional[FrameLibrary]:
    """The frame kernels of the ``kind`` library, or None when it is not built or cannot be loaded (logged once at
    INFO, ``-v``: the runners then pre-process on the host)."""
    if kind not in _opened:
        try:
            _opened[kind] = FrameLibrary(kind)
        except (UserError, KernelError) as exc:
            log.info("pre-processing on the host: the frame kernels are not available (%s)", exc)
            _opened[kind] = None
    return _opened[kind]


def resolve_kernels(choice: Any, kind: str) -> Optional[FrameLibrary]:
    """A runner's ``frame_kernels`` argument: "auto" (the ``kind`` library when it is built), None / "off" (never),
    or a :class:`FrameLibrary` given as it is (its pointers must address the runner's memory: the host twins run on
    host memory, the CUDA kernels on device memory)."""
    if choice is None or choice == "off":
        return None
    if choice == "auto":
        return open_frame_kernels(kind)
    if not isinstance(choice, FrameLibrary):
        raise UserError("frame_kernels is 'auto', 'off' or a FrameLibrary, got {!r}".format(choice))
    return choice


def takes_frames(library: Optional[FrameLibrary], mode: str, dtype: Any) -> bool:
    """Whether a runner with ``library`` pre-processes frames for ``mode`` into an input of ``dtype``."""
    return library is not None and mode in FRAME_MODES and np.dtype(dtype) in DTYPES


def check_frames(runner: Any, frames: Sequence[np.ndarray], size: Sequence[int],
                 boxes: Optional[Sequence[Sequence[int]]]) -> Tuple[List[np.ndarray], List[Box]]:
    """For :meth:`~.base.Runner.infer_frames`: the frames as H×W×3 uint8 arrays with contiguous rows, and one box
    per frame inside the model input of ``size`` (None: every frame stretched over the whole input); an error when
    the runner cannot take frames (the caller matched the mode: the kernel computes INTER_LINEAR) or its input is
    another size, InputShapeError naming a bad frame or box."""
    runner._require_active("infer_frames()")
    if not runner.frame_input(LINEAR):
        raise UserError("{} does not pre-process frames itself: give it float inputs (infer)".format(runner.name))
    h, w = int(size[0]), int(size[1])
    fixed = runner.fixed_size
    if fixed is not None and (h, w) != fixed:
        raise InputShapeError("{} takes {}x{} inputs, not {}x{}".format(runner.name, fixed[0], fixed[1], h, w))
    if not frames:
        raise InputShapeError("no frames to pre-process")
    checked: List[np.ndarray] = []
    for i, frame in enumerate(frames):
        frame = np.asarray(frame)
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8 or min(frame.shape[:2]) < 1:
            raise InputShapeError("frame {}: the frame path takes H×W×3 uint8 BGR frames, got {} {}".format(
                i, tuple(frame.shape), frame.dtype))
        checked.append(np.ascontiguousarray(frame))
    if boxes is None:
        boxes = [content_box(f.shape[:2], (h, w)) for f in checked]
    if len(boxes) != len(checked):
        raise InputShapeError("{} boxes for {} frames".format(len(boxes), len(checked)))
    out: List[Box] = []
    for box in boxes:
        top, left, bh, bw = (int(v) for v in box)
        if top < 0 or left < 0 or bh < 1 or bw < 1 or top + bh > h or left + bw > w:
            raise InputShapeError("box {} does not lie inside the {}x{} model input".format(tuple(box), h, w))
        out.append((top, left, bh, bw))
    return checked, out


def pad_batch(runner: Any, frames: List[np.ndarray], boxes: List[Box]) -> Tuple[List[np.ndarray], List[Box]]:
    """A static batch: the last frame repeated up to the runner's batch (its outputs are dropped)."""
    missing = max((runner.max_batch or 0) - len(frames), 0) if runner.static_batch else 0
    return frames + frames[-1:] * missing, boxes + boxes[-1:] * missing


def pack_frames(frames: Sequence[np.ndarray], staging: np.ndarray) -> List[int]:
    """Copy the frames one after another into the uint8 ``staging`` buffer (pinned where the runner has it, so
    that one upload moves them all); their byte offsets."""
    offsets, at = [], 0
    for frame in frames:
        staging[at:at + frame.nbytes] = frame.reshape(-1)
        offsets.append(at)
        at += frame.nbytes
    return offsets


class FrameUpload:
    """The frames' way to the device through a :class:`~edge_saliency.runners.cuda.CudaApi`: a page-locked staging
    buffer and a device buffer, kept from batch to batch and grown when a larger batch comes (never allocated per
    frame); each batch is packed into the staging buffer and uploaded with one asynchronous copy."""

    def __init__(self, cuda: Any) -> None:
        self.cuda = cuda
        self.host: Any = None  # HostBuffer
        self.device: Any = None

    def reserve(self, frames: Sequence[np.ndarray]) -> None:
        """Room for ``frames``; the old buffers are freed when they are too small (the caller's previous run has
        synchronized its stream, so nothing still reads them)."""
        nbytes = sum(frame.nbytes for frame in frames)
        if self.host is not None and self.host.array.nbytes >= nbytes:
            return
        self.free()
        self.host = self.cuda.host_empty((nbytes,), np.uint8)
        self.device = self.cuda.device_alloc(nbytes)

    def upload(self, frames: Sequence[np.ndarray], stream: Any) -> List[int]:
        """Enqueue the upload of ``frames`` (after :meth:`reserve`) on ``stream``; the device address of each."""
        offsets = pack_frames(frames, self.host.array)
        total = sum(frame.nbytes for frame in frames)
        self.cuda.copy_htod_async(self.device, self.host.array[:total], stream)
        base = self.cuda.device_ptr(self.device)
        return [base + offset for offset in offsets]

    def free(self) -> None:
        """Release both buffers."""
        if self.device is not None:
            self.cuda.device_free(self.device)
            self.device = None
        if self.host is not None:
            self.cuda.host_free(self.host)
            self.host = None


def launch_preprocess(library: FrameLibrary, frames: Sequence[np.ndarray], sources: Sequence[int], output: int,
                      dtype: Any, size: Sequence[int], boxes: Sequence[Box], stream: Optional[int]) -> None:
    """One kernel launch per frame: frame i (its pixels at address ``sources[i]``, rows contiguous) into batch
    slot i of the N×3×h×w ``output`` (address) of ``dtype``, stretched into its box, ``PAD_VALUE`` around it."""
    h, w = int(size[0]), int(size[1])
    slot = 3 * h * w * np.dtype(dtype).itemsize
    code = DTYPES[np.dtype(dtype)]
    for i, (frame, source, box) in enumerate(zip(frames, sources, boxes)):
        fh, fw = frame.shape[:2]
        library.preprocess_ptr(source, fh, fw, fw * 3, output + i * slot, code, (h, w), box, PAD_VALUE, stream)
