"""The one vocabulary for devices: ``auto``, ``cpu``, ``cuda`` and ``cuda:N``, for every command that takes
``--device`` (predict, eval, run, train, bench) and every backend that runs on one (PyTorch, ONNX Runtime).

``auto`` means a CUDA GPU where the backend can use one, else the CPU; ``cuda`` means the first GPU (the
process's ``LOCAL_RANK`` one under ``torchrun``); ``cuda:N`` GPU number N. Pure Python; torch is imported only
by :func:`torch_device`.
"""
import re
from typing import Any, Optional, Tuple

from .errors import UserError

DEVICES = ("auto", "cpu", "cuda", "cuda:N")
DEVICE_HELP = "auto (a CUDA GPU where the backend can use one, else the CPU), cpu, cuda or cuda:N"
_DEVICE = re.compile(r"^(auto|cpu|cuda)(?::(\d+))?$")


def parse_device(text: str) -> Tuple[str, Optional[int]]:
    """``"cuda:1"`` → ("cuda", 1); ``"cpu"`` → ("cpu", None); a one-line error naming the value otherwise."""
    match = _DEVICE.match(str(text).strip().lower())
    if not match or (match.group(2) is not None and match.group(1) != "cuda"):
        raise UserError("--device must be auto, cpu, cuda or cuda:N (N = GPU number), got {!r}".format(text))
    return match.group(1), int(match.group(2)) if match.group(2) is not None else None


def check_device(text: str) -> str:
    """The device text normalised (``"CUDA:0"`` → ``"cuda:0"``), checked; usable as an argparse ``type``."""
    kind, index = parse_device(text)
    return kind if index is None else "{}:{}".format(kind, index)


def device_index(text: str, default: int = 0) -> int:
    """The GPU number ``text`` names (``default`` for ``cuda`` / ``auto``)."""
    index = parse_device(text)[1]
    return default if index is None else index


def wants_cuda(text: str) -> bool:
    """``cuda`` or ``cuda:N`` (a GPU is required, not merely preferred)."""
    return parse_device(text)[0] == "cuda"


def torch_device(requested: str = "auto", local_rank: int = 0) -> Any:
    """The ``torch.device`` for ``requested``: ``auto`` → ``cuda:LOCAL_RANK`` when PyTorch sees a GPU, else the
    CPU; ``cuda`` → ``cuda:LOCAL_RANK``; a one-line error when a GPU is asked for and PyTorch has none."""
    from ._lazy import require

    torch = require("torch", purpose="PyTorch models")
    kind, index = parse_device(requested)
    if kind == "cpu" or (kind == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if kind == "cuda" and not torch.cuda.is_available():
        raise UserError("--device {}: this PyTorch sees no CUDA GPU (a CPU-only build, or no driver); use --device "
                        "cpu".format(requested))
    number = local_rank if index is None else index
    count = torch.cuda.device_count()
    if number >= count:
        raise UserError("--device {}: PyTorch sees {} CUDA GPU{} (cuda:0{})".format(
            requested, count, "" if count == 1 else "s", "" if count == 1 else " to cuda:{}".format(count - 1)))
    return torch.device("cuda", number)
