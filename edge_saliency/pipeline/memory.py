"""Memory a run needs, and allocation failures as one line.

Before a run starts, :func:`check_memory` compares a *lower bound* of the memory one batch needs at the model
input size with what the machine can give (``MemAvailable``, the cgroup limit, ``ulimit -v``) and refuses a size
that cannot fit (``--size 100000x100000``: hundreds of GB) before any frame is read. The bound counts what
certainly exists at once: the resized frame, the float input tensor and the output map the pipeline holds per
frame, and, for an EML-Net model running in host memory, the model's input, its largest tap tensor (channels /
stride² per input pixel, from the encoder registry) and its output. Real use is higher (every layer's
activations), so a size that passes can still fail: :func:`explain` turns the allocation error of OpenCV, numpy,
ONNX Runtime or PyTorch into the same one-line error with the fix. Python 3.8; no heavy imports.
"""
import os
import re
from typing import Any, Optional, Sequence

from ..errors import UserError

# per model-input pixel and batch item, held by the pipeline: the resized BGR frame (uint8), the float32 RGB
# input, the float32 output map and the post-processing's float32 working copy
PIPELINE_BYTES_PER_PIXEL = 3 + 3 * 4 + 4 + 4
_ALLOCATION = re.compile(r"insufficient memory|failed to allocate|bad_alloc|out of memory|can'?not allocate memory|"
                         r"can't allocate memory|memoryerror", re.I)


class OutOfMemoryError(UserError):
    """The model input size (or batch) needs more memory than this machine can give."""


def model_bytes_per_pixel(config: Any) -> float:
    """A lower bound of the host memory an EML-Net forward pass holds at once, per input pixel and batch item:
    its float32 input, its largest tap tensor, its output."""
    from ..models.registry import get_encoder_spec

    largest = 0.0
    for encoder in getattr(config, "encoders", ()) or ():
        spec = get_encoder_spec(encoder.encoder)
        largest = max([largest] + [c / float(s * s) for c, s in zip(spec.channels, spec.strides)])
    return 4.0 * (3 + largest + 1)


def _meminfo_available() -> Optional[int]:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _cgroup_available() -> Optional[int]:
    """What a cgroup v2 memory limit leaves (containers); None without one."""
    try:
        with open("/sys/fs/cgroup/memory.max") as f:
            limit = f.read().strip()
        if limit == "max":
            return None
        with open("/sys/fs/cgroup/memory.current") as f:
            return max(0, int(limit) - int(f.read().strip()))
    except (OSError, ValueError):
        return None


def _address_space_available() -> Optional[int]:
    """What ``ulimit -v`` (RLIMIT_AS) leaves this process; None without a limit."""
    try:
        import resource

        limit = resource.getrlimit(resource.RLIMIT_AS)[0]
        if limit == resource.RLIM_INFINITY:
            return None
        with open("/proc/self/statm") as f:
            used = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        return max(0, limit - used)
    except (ImportError, OSError, ValueError, AttributeError):
        return None


def available_bytes() -> Optional[int]:
    """The memory this process can still get: the smallest of MemAvailable, the cgroup's and ulimit -v's room;
    None where none of them can be read (then nothing is refused in advance)."""
    known = [v for v in (_meminfo_available(), _cgroup_available(), _address_space_available()) if v is not None]
    return min(known) if known else None


def needed_bytes(size: Sequence[int], batch: int, model_per_pixel: float = 0.0) -> int:
    """The lower bound for one batch at model input ``size`` (h, w)."""
    return int(int(size[0]) * int(size[1]) * max(1, batch) * (PIPELINE_BYTES_PER_PIXEL + model_per_pixel))


def _gib(count: float) -> str:
    if count >= 1 << 28:
        return "{:.1f} GiB".format(count / float(1 << 30))
    return "{:.0f} MiB".format(count / float(1 << 20))


def _fix(model: str, made_for: Optional[Sequence[int]]) -> str:
    made = " ({} was made for {}x{})".format(model, made_for[0], made_for[1]) if made_for else ""
    return "use a smaller --size{} or --batch".format(made)


def check_memory(size: Sequence[int], batch: int, model: str, model_per_pixel: float = 0.0,
                 made_for: Optional[Sequence[int]] = None, available: Optional[int] = None) -> None:
    """Raise :class:`OutOfMemoryError` when even the lower bound cannot fit."""
    need = needed_bytes(size, batch, model_per_pixel)
    room = available if available is not None else available_bytes()
    if room is not None and need > room:
        raise OutOfMemoryError("input {}x{} (batch {}) needs at least {} for {}, and this process can get {} (free "
                               "memory, cgroup and ulimit -v); {}".format(size[0], size[1], batch, _gib(need), model,
                                                                          _gib(room), _fix(model, made_for)))


def is_allocation_error(exc: BaseException) -> bool:
    """An allocation failure of numpy (MemoryError), OpenCV (cv2.error: Insufficient memory), ONNX Runtime
    (Failed to allocate memory / bad_alloc) or PyTorch (OutOfMemoryError, can't allocate memory)."""
    if isinstance(exc, MemoryError) or "OutOfMemory" in type(exc).__name__:
        return not isinstance(exc, UserError)
    return not isinstance(exc, UserError) and bool(_ALLOCATION.search(str(exc)))


def explain(exc: BaseException, size: Sequence[int], batch: int, model: str,
            made_for: Optional[Sequence[int]] = None) -> BaseException:
    """``exc`` as an :class:`OutOfMemoryError` when it is an allocation failure, else ``exc`` itself."""
    if not is_allocation_error(exc):
        return exc
    text = str(exc)
    match = _ALLOCATION.search(text)
    if match:  # the allocation sentence, not the backend's preamble (ONNX Runtime: node names, source paths)
        detail = text[match.start():].strip().splitlines()[0][:120]
    else:
        detail = type(exc).__name__
    return OutOfMemoryError("not enough memory to run {} at {}x{} (batch {}): {}; {}".format(
        model, size[0], size[1], batch, detail, _fix(model, made_for)))
